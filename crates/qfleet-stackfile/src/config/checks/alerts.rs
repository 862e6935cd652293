//! `alerts`: the e-mail addresses, the team's topic, and the Slack and Microsoft Teams channels
//! of Amazon Q Developer in chat applications, each checked for its form at its own key.

use super::{Checker, regions};
use crate::config::Environment;

/// Most addresses `alerts.email` takes: each is a subscription to confirm, and a list this long
/// is a mailing list's job.
pub(crate) const MAX_EMAILS: usize = 10;

/// An e-mail address as SNS takes it for the `email` protocol: a user, `@`, and a domain with
/// a dot, no spaces.
pub(super) fn is_email(email: &str) -> bool {
    email.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !email.contains(char::is_whitespace)
    })
}

/// A Slack id: its letter, then 8 to 12 capital letters and digits (`T0123ABCD`, `C0123ABCD`).
/// Slack's ids are of that form; CloudFormation takes `SlackWorkspaceId` and `SlackChannelId`
/// as 1 to 256 characters of `[0-9A-Z]` (AWS::Chatbot::SlackChannelConfiguration,
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-chatbot-slackchannelconfiguration.html).
fn is_slack_id(id: &str, first: &[char]) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| first.contains(&c))
        && (9..=13).contains(&id.len())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// A GUID: 8-4-4-4-12 hexadecimal digits, as Microsoft Teams' tenant and team ids are
/// (CloudFormation's pattern for `TeamId` and `TeamsTenantId`:
/// `^[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$`,
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-chatbot-microsoftteamschannelconfiguration.html).
pub(crate) fn is_guid(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A Teams channel id as Teams copies it: `19:…@thread.tacv2` (or `@thread.skype`), or the
/// same URL-encoded (`19%3a…%40thread.tacv2`), as CloudFormation's `TeamsChannelId` takes it
/// (1 to 256 characters of `^([a-zA-Z0-9-_=+/.,])*%3[aA]([a-zA-Z0-9-_=+/.,])*%40([a-zA-Z0-9-_=+/.,])*$`, same page).
fn is_teams_channel(id: &str) -> bool {
    let decoded = id
        .replace("%3a", ":")
        .replace("%3A", ":")
        .replace("%40", "@");
    let Some(rest) = decoded.strip_prefix("19:") else {
        return false;
    };
    let Some((name, thread)) = rest.split_once('@') else {
        return false;
    };
    id.len() <= 256
        && !name.is_empty()
        && thread.starts_with("thread.")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=+/.,".contains(c))
}

/// The channel id CloudFormation takes: Teams' id URL-encoded (`19%3a…%40thread.tacv2`).
pub fn teams_channel_for_cloudformation(id: &str) -> String {
    id.replacen("19:", "19%3a", 1).replacen('@', "%40", 1)
}

/// An SNS topic ARN of the environment's partition and region, not FIFO (CloudWatch alarm
/// actions and Amazon Q Developer publish to standard topics), or why not.
fn check_topic(arn: &str, region: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let form = "is not an SNS topic ARN (arn:PARTITION:sns:REGION:ACCOUNT:NAME)";
    let [arn_word, partition, service, topic_region, account, name] = parts[..] else {
        return Err(form.into());
    };
    let account_ok = account.len() == 12 && account.chars().all(|c| c.is_ascii_digit());
    let name_ok = (1..=256).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if arn_word != "arn" || service != "sns" || !account_ok || !name_ok {
        return Err(form.into());
    }
    if let Some(own) = regions::partition(region)
        && own != partition
    {
        return Err(format!(
            "is in partition {partition}, the environment in {own}: alarms publish within a partition"
        ));
    }
    // An alarm's actions name topics of its own Region ("The SNS topic must be in the same
    // Region as the alarm", PutMetricAlarm AlarmActions,
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
    if topic_region != region {
        return Err(format!(
            "is in region {topic_region}, the environment in {region}: an alarm publishes to topics of its own region; give a topic of {region}"
        ));
    }
    if name.ends_with(".fifo") {
        return Err("is a FIFO topic: alarms and Amazon Q Developer in chat applications use standard topics".into());
    }
    Ok(())
}

pub(super) fn check(c: &mut Checker, env: &Environment) {
    if let Some(email) = &env.spec.alarms.email
        && !is_email(email)
    {
        c.fail(
            "alarms.email",
            format!("`{email}` is not an e-mail address"),
        );
    }
    let Some(alerts) = &env.spec.alerts else {
        return;
    };
    if let Some(emails) = &alerts.email {
        let items = alerts.emails();
        if items.is_empty() || items.len() > MAX_EMAILS {
            c.fail(
                "alerts.email",
                format!("lists {} addresses: give 1 to {MAX_EMAILS}", items.len()),
            );
        }
        for (i, email) in items.iter().enumerate() {
            if !is_email(email) {
                let field = match emails {
                    crate::config::schema::Emails::One(_) => "alerts.email".to_string(),
                    crate::config::schema::Emails::Many(_) => format!("alerts.email.{i}"),
                };
                c.fail(&field, format!("`{email}` is not an e-mail address"));
            }
        }
    }
    if let Some(topic) = &alerts.topic
        && let Err(why) = check_topic(topic, &env.spec.region)
    {
        c.fail("alerts.topic", format!("`{topic}` {why}"));
    }
    if let Some(slack) = &alerts.slack {
        if !is_slack_id(&slack.workspace, &['T', 'E']) {
            c.fail(
                "alerts.slack.workspace",
                format!("`{}` is not a Slack workspace id: T followed by 8 to 12 capital letters and digits (such as T0123ABCD), as the Amazon Q Developer in chat applications console shows it once the workspace is authorised", slack.workspace),
            );
        }
        if !is_slack_id(&slack.channel, &['C', 'G']) {
            c.fail(
                "alerts.slack.channel",
                format!("`{}` is not a Slack channel id: C (or G for a private channel) followed by 8 to 12 capital letters and digits (such as C0123ABCD); Slack shows it at the bottom of the channel's details", slack.channel),
            );
        }
    }
    if let Some(teams) = &alerts.teams {
        for (field, value, what) in [
            ("alerts.teams.tenant", &teams.tenant, "tenant"),
            ("alerts.teams.team", &teams.team, "team"),
        ] {
            if !is_guid(value) {
                c.fail(
                    field,
                    format!("`{value}` is not a Microsoft Teams {what} id: a GUID such as 1a2b3c4d-5e6f-1a2b-3c4d-1a2b3c4d5e6f, as the Amazon Q Developer in chat applications console shows it once the team is authorised"),
                );
            }
        }
        if !is_teams_channel(&teams.channel) {
            c.fail(
                "alerts.teams.channel",
                format!("`{}` is not a Microsoft Teams channel id: 19:…@thread.tacv2 (or 19%3a…%40thread.tacv2, as the channel's link has it); in Teams, Copy link on the channel and take the part after /channel/", teams.channel),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_slack_and_teams_are_told_apart_from_typos() {
        assert!(is_slack_id("T0123ABCD", &['T']));
        assert!(!is_slack_id("t0123abcd", &['T']));
        assert!(!is_slack_id("C0123ABCD", &['T']));
        assert!(!is_slack_id("T012", &['T']));
        assert!(is_guid("1a2b3c4d-5e6f-1a2b-3c4d-1a2b3c4d5e6f"));
        assert!(!is_guid("1a2b3c4d-5e6f-1a2b-3c4d-1a2b3c4d5e6"));
        assert!(!is_guid("my-team"));
        assert!(is_teams_channel(
            "19%3ab6ef35dc342d56ba5654e6fc6d25a071%40thread.tacv2"
        ));
        assert!(is_teams_channel(
            "19:b6ef35dc342d56ba5654e6fc6d25a071@thread.tacv2"
        ));
        assert!(!is_teams_channel("general"));
        assert_eq!(
            teams_channel_for_cloudformation("19:abc@thread.tacv2"),
            "19%3aabc%40thread.tacv2"
        );
        assert_eq!(
            teams_channel_for_cloudformation("19%3aabc%40thread.tacv2"),
            "19%3aabc%40thread.tacv2"
        );
    }

    #[test]
    fn the_teams_topic_is_a_standard_topic_of_the_region() {
        let ok = |arn| check_topic(arn, "eu-west-1");
        assert!(ok("arn:aws:sns:eu-west-1:444455556666:oncall").is_ok());
        assert!(
            ok("arn:aws:sns:us-east-1:444455556666:oncall")
                .unwrap_err()
                .contains("region")
        );
        assert!(
            ok("arn:aws:sns:eu-west-1:444455556666:oncall.fifo")
                .unwrap_err()
                .contains("FIFO")
        );
        assert!(ok("arn:aws:sqs:eu-west-1:444455556666:oncall").is_err());
        assert!(
            ok("arn:aws-cn:sns:eu-west-1:444455556666:oncall")
                .unwrap_err()
                .contains("partition")
        );
    }
}
