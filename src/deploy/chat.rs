//! `alerts.slack` and `alerts.teams`: the one-time console authorisation of the workspace (or
//! the team) that Amazon Q Developer in chat applications needs before a channel can be
//! configured (AWS::Chatbot::SlackChannelConfiguration's `SlackWorkspaceId` "must perform the
//! initial authorization flow with Slack in the console",
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-chatbot-slackchannelconfiguration.html;
//! Teams likewise). Checked before any change set, failing closed:
//! - read, and authorised: a note;
//! - read, and not there (or disabled by an organization's policy): refused, saying how to
//!   authorise it (the deploy would fail on the channel);
//! - not read (no permission, another partition, an error): a warning that it is unchecked.

use crate::aws::Clients;
use crate::aws::{self, ConfiguredTeam, SlackWorkspace};
use crate::config::Environment;
use crate::error::Result;

/// Where a workspace or a team is authorised (the console's "Configure new client").
pub(crate) const CONSOLE: &str = "https://console.aws.amazon.com/chatbot/home#/chat-clients";

pub(super) async fn check(clients: &Clients, env: &Environment) -> Result<Vec<String>> {
    let Some(alerts) = env.spec.alerts.as_ref().filter(|a| a.chat()) else {
        return Ok(Vec::new());
    };
    let mut notes = Vec::new();
    let mut refused = Vec::new();
    let other_partition = aws::chat_api_region(&env.spec.region).is_none();
    if let Some(slack) = &alerts.slack {
        let read = match other_partition {
            true => {
                Err("Amazon Q Developer in chat applications has no API in this partition".into())
            }
            false => aws::slack_workspaces(&clients.chatbot)
                .await
                .map_err(|e| e.to_string()),
        };
        match slack_verdict(&slack.workspace, read) {
            Verdict::Authorised(why) => notes.push(format!("{}: alerts.slack: {why}", env.name)),
            Verdict::Unchecked(why) => notes.push(format!("WARNING: {}: alerts.slack unchecked: {why}; the workspace must be authorised once in the console ({CONSOLE}), or the deploy fails on the channel", env.name)),
            Verdict::Refused(why) => refused.push(why),
        }
    }
    if let Some(teams) = &alerts.teams {
        let read = match other_partition {
            true => {
                Err("Amazon Q Developer in chat applications has no API in this partition".into())
            }
            false => aws::chat_teams(&clients.chatbot)
                .await
                .map_err(|e| e.to_string()),
        };
        match teams_verdict(&teams.tenant, &teams.team, read) {
            Verdict::Authorised(why) => notes.push(format!("{}: alerts.teams: {why}", env.name)),
            Verdict::Unchecked(why) => notes.push(format!("WARNING: {}: alerts.teams unchecked: {why}; the team must be authorised once in the console ({CONSOLE}), or the deploy fails on the channel", env.name)),
            Verdict::Refused(why) => refused.push(why),
        }
    }
    if refused.is_empty() {
        return Ok(notes);
    }
    Err(crate::deploy::errors::Refusal::ChatNotAuthorised {
        env: env.name.clone(),
        why: refused,
    }
    .into())
}

#[derive(Debug, PartialEq)]
enum Verdict {
    Authorised(String),
    Unchecked(String),
    Refused(String),
}

fn enabled(state: &Option<String>, reason: &Option<String>) -> std::result::Result<(), String> {
    match state.as_deref() {
        Some("DISABLED") => Err(format!(
            "disabled ({})",
            reason
                .as_deref()
                .unwrap_or("by the organization's chat applications policy")
        )),
        _ => Ok(()),
    }
}

fn slack_verdict(
    workspace: &str,
    read: std::result::Result<Vec<SlackWorkspace>, String>,
) -> Verdict {
    let all = match read {
        Ok(all) => all,
        Err(why) => {
            return Verdict::Unchecked(format!(
                "the authorised Slack workspaces could not be read: {why}"
            ));
        }
    };
    match all.iter().find(|w| w.slack_team_id == workspace) {
        None => Verdict::Refused(format!(
            "alerts.slack.workspace {workspace} is not authorised in this account ({} other workspace{} are); authorise it once in the Amazon Q Developer in chat applications console ({CONSOLE}: Configure new client, Slack), then plan again",
            all.len(),
            if all.len() == 1 { " is" } else { "s" }
        ).replace(" is are", " is")),
        Some(w) => match enabled(&w.state, &w.state_reason) {
            Err(why) => Verdict::Refused(format!("alerts.slack.workspace {workspace} is {why}")),
            Ok(()) => Verdict::Authorised(format!(
                "workspace {workspace}{} is authorised",
                w.slack_team_name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
            )),
        },
    }
}

fn teams_verdict(
    tenant: &str,
    team: &str,
    read: std::result::Result<Vec<ConfiguredTeam>, String>,
) -> Verdict {
    let all = match read {
        Ok(all) => all,
        Err(why) => {
            return Verdict::Unchecked(format!(
                "the authorised Microsoft Teams teams could not be read: {why}"
            ));
        }
    };
    let found = all
        .iter()
        .find(|t| t.team_id.eq_ignore_ascii_case(team) && t.tenant_id.eq_ignore_ascii_case(tenant));
    match found {
        None => Verdict::Refused(format!(
            "alerts.teams: team {team} of tenant {tenant} is not authorised in this account; authorise it once in the Amazon Q Developer in chat applications console ({CONSOLE}: Configure new client, Microsoft Teams), then plan again"
        )),
        Some(t) => match enabled(&t.state, &t.state_reason) {
            Err(why) => Verdict::Refused(format!("alerts.teams: team {team} is {why}")),
            Ok(()) => Verdict::Authorised(format!(
                "team {team}{} is authorised",
                t.team_name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::fake::Fake;
    use crate::aws::mock::Rules;

    fn env(alerts: &str) -> Environment {
        crate::config::parse(
            std::path::PathBuf::from("stacks/shop.yaml"),
            format!("region: eu-west-1\nalerts:\n{alerts}"),
        )
        .unwrap()
        .into_only()
    }

    const SLACK: &str = "  slack: {workspace: T0123ABCD, channel: C0123ABCD}\n";
    const TEAMS: &str = "  teams: {tenant: 1a2b3c4d-5e6f-1a2b-3c4d-1a2b3c4d5e6f, team: 0a1b2c3d-4e5f-1a2b-3c4d-0a1b2c3d4e5f, channel: \"19:abc@thread.tacv2\"}\n";

    fn clients(answer: impl Fn(&str) -> (u16, String) + Send + Sync + 'static) -> Clients {
        Rules {
            chatbot: Some(Fake::new(move |r| answer(&r.uri))),
            ..Default::default()
        }
        .clients()
    }

    #[tokio::test]
    async fn an_authorised_workspace_and_team_are_said_so_with_a_mock() {
        let c = clients(|uri| {
            match uri.ends_with("/describe-slack-workspaces") {
            true => (200, r#"{"SlackWorkspaces":[{"SlackTeamId":"T0123ABCD","SlackTeamName":"acme"}]}"#.into()),
            false => (200, r#"{"ConfiguredTeams":[{"TenantId":"1A2B3C4D-5E6F-1A2B-3C4D-1A2B3C4D5E6F","TeamId":"0a1b2c3d-4e5f-1a2b-3c4d-0a1b2c3d4e5f","TeamName":"ops"}]}"#.into()),
        }
        });
        let notes = check(&c, &env(&format!("{SLACK}{TEAMS}"))).await.unwrap();
        assert_eq!(notes.len(), 2);
        assert!(
            notes[0].contains("workspace T0123ABCD (acme) is authorised"),
            "{notes:?}"
        );
        assert!(notes[1].contains("(ops) is authorised"), "{notes:?}");
    }

    #[tokio::test]
    async fn a_workspace_not_authorised_is_refused_with_the_console_step_with_a_mock() {
        let c = clients(|_| {
            (
                200,
                r#"{"SlackWorkspaces":[{"SlackTeamId":"T9999ZZZZ"}]}"#.into(),
            )
        });
        let err = check(&c, &env(SLACK)).await.unwrap_err().to_string();
        assert!(err.contains("T0123ABCD is not authorised"), "{err}");
        assert!(
            err.contains(CONSOLE) && err.contains("Configure new client"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_disabled_team_is_refused_with_a_mock() {
        let c = clients(|_| {
            (200, r#"{"ConfiguredTeams":[{"TenantId":"1a2b3c4d-5e6f-1a2b-3c4d-1a2b3c4d5e6f","TeamId":"0a1b2c3d-4e5f-1a2b-3c4d-0a1b2c3d4e5f","State":"DISABLED","StateReason":"denied by policy"}]}"#.into())
        });
        let err = check(&c, &env(TEAMS)).await.unwrap_err().to_string();
        assert!(err.contains("disabled (denied by policy)"), "{err}");
    }

    #[tokio::test]
    async fn what_cannot_be_read_is_unchecked_never_fine_with_a_mock() {
        let c = clients(|_| {
            (403, r#"{"__type":"AccessDeniedException","message":"User is not authorized to perform: chatbot:DescribeSlackWorkspaces"}"#.into())
        });
        let notes = check(&c, &env(SLACK)).await.unwrap();
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].starts_with("WARNING: ") && notes[0].contains("unchecked"),
            "{notes:?}"
        );
        assert!(
            notes[0].contains("not authorized") && notes[0].contains(CONSOLE),
            "{notes:?}"
        );
    }

    #[tokio::test]
    async fn without_chat_channels_nothing_is_called() {
        let c = clients(|_| panic!("no call"));
        assert!(
            check(&c, &env("  email: ops@example.com\n"))
                .await
                .unwrap()
                .is_empty()
        );
    }
}
