//! `alerts`: each destination's form checked at its own key, and the warnings beside it.

use super::*;

#[test]
fn a_bad_address_is_an_error_at_its_item() {
    let e = error(
        "region: eu-west-1\nalerts:\n  email:\n    - ops@example.com\n    - not-an-address\n",
        "alerts.email.1",
        5,
    );
    assert!(
        e.message
            .contains("`not-an-address` is not an e-mail address"),
        "{e}"
    );
    let e = error(
        "region: eu-west-1\nalerts:\n  email: ops@\n",
        "alerts.email",
        3,
    );
    assert!(e.message.contains("not an e-mail address"), "{e}");
    let list: Vec<String> = (0..11).map(|i| format!("a{i}@example.com")).collect();
    let e = error(
        &format!(
            "region: eu-west-1\nalerts:\n  email: [{}]\n",
            list.join(", ")
        ),
        "alerts.email",
        3,
    );
    assert!(e.message.contains("give 1 to 10"), "{e}");
}

#[test]
fn a_topic_elsewhere_or_fifo_is_an_error_at_the_topic() {
    let e = error(
        "region: eu-west-1\nalerts:\n  topic: arn:aws:sns:us-east-1:111122223333:oncall\n",
        "alerts.topic",
        3,
    );
    assert!(e.message.contains("region us-east-1"), "{e}");
    let e = error(
        "region: eu-west-1\nalerts:\n  topic: arn:aws:sns:eu-west-1:111122223333:oncall.fifo\n",
        "alerts.topic",
        3,
    );
    assert!(e.message.contains("FIFO"), "{e}");
}

#[test]
fn slack_and_teams_ids_are_checked_at_their_keys() {
    let e = error(
        "region: eu-west-1\nalerts:\n  slack:\n    workspace: my-workspace\n    channel: C0123ABCD\n",
        "alerts.slack.workspace",
        4,
    );
    assert!(
        e.message.contains("not a Slack workspace id") && e.message.contains("authorised"),
        "{e}"
    );
    let e = error(
        "region: eu-west-1\nalerts:\n  slack:\n    workspace: T0123ABCD\n    channel: '#alerts'\n",
        "alerts.slack.channel",
        5,
    );
    assert!(e.message.contains("not a Slack channel id"), "{e}");
    // A missing id is the same error, at the mapping's key.
    let list = errors("region: eu-west-1\nalerts:\n  slack:\n    workspace: T0123ABCD\n");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].field, "alerts.slack.channel");
    let e = error(
        "region: eu-west-1\nalerts:\n  teams:\n    tenant: contoso\n    team: 0a1b2c3d-4e5f-1a2b-3c4d-0a1b2c3d4e5f\n    channel: \"19:abc@thread.tacv2\"\n",
        "alerts.teams.tenant",
        4,
    );
    assert!(e.message.contains("a GUID"), "{e}");
    let e = error(
        "region: eu-west-1\nalerts:\n  teams:\n    tenant: 1a2b3c4d-5e6f-1a2b-3c4d-1a2b3c4d5e6f\n    team: 0a1b2c3d-4e5f-1a2b-3c4d-0a1b2c3d4e5f\n    channel: general\n",
        "alerts.teams.channel",
        6,
    );
    assert!(e.message.contains("19:"), "{e}");
}

#[test]
fn alarms_email_still_works_with_a_warning_pointing_to_alerts_email() {
    let env = parse_str("region: eu-west-1\nalarms: {email: ops@example.com}\n")
        .unwrap()
        .into_only();
    let w = warnings::warnings(&env);
    assert!(
        w.iter()
            .any(|w| w.starts_with("alarms.email:") && w.contains("alerts.email")),
        "{w:?}"
    );
}

#[test]
fn a_fleet_whose_notices_could_outrun_a_chat_channel_is_warned_of() {
    let chat = "alerts: {slack: {workspace: T0123ABCD, channel: C0123ABCD}}\n";
    let small = parse_str(&format!("region: eu-west-1\n{chat}workers: {{max: 20}}\n"))
        .unwrap()
        .into_only();
    assert!(
        !warnings::warnings(&small)
            .iter()
            .any(|w| w.contains("failure notices"))
    );
    let big = parse_str(&format!("region: eu-west-1\n{chat}workers: {{max: 21}}\n"))
        .unwrap()
        .into_only();
    let w = warnings::warnings(&big);
    let w = w
        .iter()
        .find(|w| w.contains("failure notices"))
        .expect("warned");
    assert!(
        w.contains("up to 63 failure notices in a minute and 210 an hour"),
        "{w}"
    );
}
