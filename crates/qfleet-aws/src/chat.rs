//! Amazon Q Developer in chat applications (formerly AWS Chatbot): the Slack workspaces and the
//! Microsoft Teams teams authorised in the account. A workspace or a team exists there only
//! after a one-time authorisation in the console, which no API makes; a channel configuration
//! of one that is not authorised fails its deploy.
//!
//! As AWS documents it:
//! - the API is in US East (Ohio), US West (Oregon), Europe (Ireland) and Asia Pacific
//!   (Singapore), and the configurations are stored "in each of the relevant available
//!   Regions" (https://docs.aws.amazon.com/chatbot/latest/APIReference/Welcome.html,
//!   https://docs.aws.amazon.com/general/latest/gr/chatbot.html): an environment elsewhere is
//!   checked in US East (Ohio); another partition has no such API, so nothing is checked;
//! - DescribeSlackWorkspaces lists the authorised workspaces (`SlackTeamId`, `State`),
//!   ListMicrosoftTeamsConfiguredTeams the authorised teams (`TenantId`, `TeamId`, `State`),
//!   each up to 100 a page with `NextToken`
//!   (https://docs.aws.amazon.com/chatbot/latest/APIReference/API_DescribeSlackWorkspaces.html,
//!   https://docs.aws.amazon.com/chatbot/latest/APIReference/API_ListMicrosoftTeamsConfiguredTeams.html).

use super::Result;
use super::json_api::RestJson;
use serde::Deserialize;

/// The Regions of the API.
const API_REGIONS: [&str; 4] = ["us-east-2", "us-west-2", "eu-west-1", "ap-southeast-1"];

/// Where to call the API from an environment in `region`: its own Region when the API is
/// there, else US East (Ohio); `None` outside the `aws` partition.
pub fn api_region(region: &str) -> Option<&'static str> {
    let other = ["cn-", "us-gov-", "us-iso", "eusc-"];
    if other.iter().any(|p| region.starts_with(p)) {
        return None;
    }
    Some(
        API_REGIONS
            .iter()
            .find(|r| **r == region)
            .copied()
            .unwrap_or("us-east-2"),
    )
}

/// An authorised Slack workspace.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SlackWorkspace {
    pub slack_team_id: String,
    #[serde(default)]
    pub slack_team_name: Option<String>,
    /// `ENABLED` or `DISABLED` (an organization's chat applications policy can disable it).
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub state_reason: Option<String>,
}

/// An authorised Microsoft Teams team.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfiguredTeam {
    pub tenant_id: String,
    pub team_id: String,
    #[serde(default)]
    pub team_name: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub state_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SlackPage {
    #[serde(default)]
    slack_workspaces: Vec<SlackWorkspace>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TeamsPage {
    #[serde(default)]
    configured_teams: Vec<ConfiguredTeam>,
    #[serde(default)]
    next_token: Option<String>,
}

/// Most pages read: 100 a page, more workspaces than an account has.
const MAX_PAGES: usize = 20;

fn input(token: &Option<String>) -> serde_json::Value {
    match token {
        Some(t) => serde_json::json!({"MaxResults": 100, "NextToken": t}),
        None => serde_json::json!({"MaxResults": 100}),
    }
}

/// Every authorised Slack workspace of the account.
pub async fn slack_workspaces(api: &RestJson) -> Result<Vec<SlackWorkspace>> {
    let mut out = Vec::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let page: SlackPage = api
            .call(
                "reading the authorised Slack workspaces",
                "DescribeSlackWorkspaces",
                "/describe-slack-workspaces",
                &input(&token),
            )
            .await?;
        out.extend(page.slack_workspaces);
        token = page.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}

/// Every authorised Microsoft Teams team of the account.
pub async fn teams(api: &RestJson) -> Result<Vec<ConfiguredTeam>> {
    let mut out = Vec::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let page: TeamsPage = api
            .call(
                "reading the authorised Microsoft Teams teams",
                "ListMicrosoftTeamsConfiguredTeams",
                "/list-ms-teams-configured-teams",
                &input(&token),
            )
            .await?;
        out.extend(page.configured_teams);
        token = page.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_api::{CHATBOT, RestJson};
    use crate::signed::fake::Fake;

    #[test]
    fn the_api_is_called_in_its_own_regions() {
        assert_eq!(api_region("eu-west-1"), Some("eu-west-1"));
        assert_eq!(api_region("eu-central-1"), Some("us-east-2"));
        assert_eq!(api_region("cn-north-1"), None);
        assert_eq!(api_region("us-gov-west-1"), None);
    }

    #[tokio::test]
    async fn workspaces_are_read_page_by_page_at_their_paths() {
        let fake = Fake::new(|req| {
            assert!(
                req.uri.ends_with("/describe-slack-workspaces"),
                "{}",
                req.uri
            );
            assert_eq!(req.json()["MaxResults"], 100);
            if req.json().get("NextToken").is_some() {
                (
                    200,
                    r#"{"SlackWorkspaces":[{"SlackTeamId":"T2222BBBB","State":"DISABLED"}]}"#
                        .into(),
                )
            } else {
                (200, r#"{"SlackWorkspaces":[{"SlackTeamId":"T0123ABCD","SlackTeamName":"acme"}],"NextToken":"next1"}"#.into())
            }
        });
        let api = RestJson::with_http_client(CHATBOT, fake.client());
        let all = slack_workspaces(&api).await.unwrap();
        let ids: Vec<&str> = all.iter().map(|w| w.slack_team_id.as_str()).collect();
        assert_eq!(ids, ["T0123ABCD", "T2222BBBB"]);
        assert_eq!(all[1].state.as_deref(), Some("DISABLED"));
    }

    #[tokio::test]
    async fn a_refusal_is_an_error_not_an_empty_list() {
        let fake = Fake::new(|_| {
            (403, r#"{"__type":"AccessDeniedException","message":"not authorized to perform: chatbot:ListMicrosoftTeamsConfiguredTeams"}"#.into())
        });
        let api = RestJson::with_http_client(CHATBOT, fake.client());
        let err = teams(&api).await.unwrap_err().to_string();
        assert!(
            err.contains("reading the authorised Microsoft Teams teams")
                && err.contains("access denied"),
            "{err}"
        );
    }
}
