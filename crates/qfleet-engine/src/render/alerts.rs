//! `alerts` as the templates render it: the addresses subscribed to the alarm topic, the
//! team's topic, the chat channels of Amazon Q Developer in chat applications, and what each
//! alert tells the team to run next.

use crate::config::Environment;
use serde::Serialize;

/// The alarm topic's name when alerts are configured: the workers publish their failure
/// notices there, so their role and their environment name it
/// (`qfleet-ENV-alerts`; a topic name takes up to 256 characters).
pub fn topic_name(env_name: &str) -> String {
    format!("qfleet-{env_name}-alerts")
}

#[derive(Serialize)]
pub(super) struct Alerts {
    /// Every address subscribed to the alarm topic: `alerts.email`, then `alarms.email`
    /// (still honoured, with a warning), each once.
    emails: Vec<String>,
    /// The team's own topic: every alarm and notice is published there too.
    topic: Option<String>,
    /// The account of the team's topic (its ARN's fifth field): the rolled-back deploys' rule
    /// reaches a topic of another account through a role of its own.
    topic_account: Option<String>,
    slack: Option<Slack>,
    teams: Option<Teams>,
    /// The chat configurations' name (`qfleet-ENV`; CloudFormation's ConfigurationName is 1
    /// to 128 of `[A-Za-z0-9-_]`).
    chat_name: String,
    /// What an alert about the queues tells the team to run next.
    next: Next,
    /// The rolled-back deploy's notice: the rule's input template.
    rollback_template: String,
}

/// What the data stack's alerts cover of the whole environment (every stage), where the
/// data template is otherwise rendered in its first stage's terms.
#[derive(Serialize)]
pub(super) struct Scope {
    /// The starts of this environment's stack names, as their ARNs name them after
    /// `stack/`: the rolled-back deploys' rule matches a stack id that begins with one.
    rollback_stacks: Vec<String>,
    /// The stages whose jobs could wait with no worker (a parked stage's do, on purpose).
    stranded: Vec<Stranded>,
}

impl Scope {
    pub(super) fn of(env: &Environment) -> Scope {
        Scope {
            rollback_stacks: rollback_stacks(env),
            stranded: stranded(env),
        }
    }
}

/// A stage's backlog-with-no-worker alarm: its logical id's start, its queue's logical id,
/// and its workers' names.
#[derive(Serialize)]
struct Stranded {
    id: String,
    stage: Option<String>,
    queue: String,
    kind: &'static str,
    names: super::ResourceNames,
}

#[derive(Serialize)]
struct Slack {
    workspace: String,
    channel: String,
}

#[derive(Serialize)]
struct Teams {
    tenant: String,
    team: String,
    /// The channel id as CloudFormation takes it (URL-encoded).
    channel: String,
}

/// The commands an alert names that read the whole environment (docs/commands.md); those that
/// name a stage (`logs`, `dlq`) the template writes with the alarm's stage.
#[derive(Serialize)]
struct Next {
    status: String,
    /// `qfleet jobs ENV --failed`, with `jobs:` only.
    jobs: Option<String>,
}

impl Alerts {
    pub(super) fn of(env: &Environment) -> Option<Alerts> {
        let spec = &env.spec;
        let alerts = spec.alerts.as_ref()?;
        let mut emails: Vec<String> = Vec::new();
        for e in alerts
            .emails()
            .into_iter()
            .chain(spec.alarms.email.as_deref())
        {
            if !emails.iter().any(|x| x.eq_ignore_ascii_case(e)) {
                emails.push(e.to_string());
            }
        }
        let name = env.resource_name();
        Some(Alerts {
            emails,
            topic: alerts.topic.clone(),
            topic_account: alerts
                .topic
                .as_deref()
                .and_then(|t| t.split(':').nth(4))
                .map(str::to_string),
            slack: alerts.slack.as_ref().map(|s| Slack {
                workspace: s.workspace.clone(),
                channel: s.channel.clone(),
            }),
            teams: alerts.teams.as_ref().map(|t| Teams {
                tenant: t.tenant.to_ascii_lowercase(),
                team: t.team.to_ascii_lowercase(),
                channel: crate::config::teams_channel_for_cloudformation(&t.channel),
            }),
            // Chat configurations are the account's, in every region: the region keeps two
            // environments of one name apart.
            chat_name: format!("qfleet-{name}-{}", spec.region),
            rollback_template: rollback_template(name),
            next: Next {
                status: format!("qfleet status {name}"),
                jobs: spec
                    .jobs
                    .as_ref()
                    .map(|_| format!("qfleet jobs {name} --failed")),
            },
        })
    }
}

/// The stack names' starts: `qfleet-ENV-data/` and each stage's fleet stack, whole names
/// (the `/` ends them: `qfleet-shop-data/` is not `qfleet-shop-eu-data/`); through StackSets
/// the instance's stack is `StackSet-SET-ID`.
fn rollback_stacks(env: &Environment) -> Vec<String> {
    if env.through_stack_sets() {
        env.stack_set_names()
            .into_iter()
            .map(|(_, set)| format!("StackSet-{set}-"))
            .collect()
    } else {
        env.stack_names()
            .into_iter()
            .map(|n| format!("{n}/"))
            .collect()
    }
}

/// The chat service's custom notification for a rolled-back deploy, with the event's
/// `<stack>`, `<status>` and `<reason>` (an input transformer's placeholders, inside JSON
/// strings: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html)
/// in the format of https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html.
fn rollback_template(name: &str) -> String {
    serde_json::json!({
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": format!(":rewind: qfleet {name}: a deploy was rolled back"),
            "description": "<stack> ended in <status>: <reason>",
            "nextSteps": [
                format!("`qfleet status {name} --details` shows the stacks and the workers"),
                format!("`qfleet logs {name} --since 1h` shows what the workers said"),
                "Fix the cause, then deploy again"
            ]
        },
        "metadata": {
            "summary": format!("qfleet {name}: a deploy was rolled back"),
            "eventType": "qfleet.DeployRolledBack",
            "relatedResources": ["<stack>"]
        }
    })
    .to_string()
}

fn stranded(env: &Environment) -> Vec<Stranded> {
    env.stages()
        .into_iter()
        .filter(|s| !s.parked())
        .map(|s| {
            let later = s.stage.as_ref().filter(|st| st.index > 0);
            let id = later.map_or(String::new(), |st| super::stage_id(&st.name));
            Stranded {
                queue: format!(
                    "{id}{}",
                    if id.is_empty() {
                        super::ids::QUEUE
                    } else {
                        "Queue"
                    }
                ),
                id,
                stage: later.map(|st| st.name.clone()),
                kind: s.spec.workers.kind.as_str(),
                names: super::ResourceNames::of(s),
            }
        })
        .collect()
}
