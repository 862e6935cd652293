//! One `qfleet dlq` action on an environment's dead-letter queue (a pipeline's: one stage's,
//! or for `list` and `show` every stage's), as one result: its lines of text (the redrive's
//! progress notes as it goes), or the document.

use super::{Letter, Listing};
use crate::aws::Clients;
use crate::aws::MoveTask;
use crate::config::Environment;
use crate::error::{Error, Result};
use crate::output::{Document, Environment as EnvDoc, Output, Report};
use crate::placement::StackNames;
use serde::Serialize;

/// What to do with the dead-letter queue.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    /// Peek at up to `max` messages.
    List { max: usize },
    /// One message in full.
    Show { id: String },
    /// Move the messages back to the job queue, at most `rate` a second; or only the dead
    /// letter of the job `job`.
    Redrive {
        rate: Option<i32>,
        job: Option<String>,
    },
    /// Delete them, `confirm` naming how many the queue holds.
    Purge { confirm: Option<u64> },
}

impl Action {
    /// The action's name, as the document's `action` says it.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Action::List { .. } => "list",
            Action::Show { .. } => "show",
            Action::Redrive { .. } => "redrive",
            Action::Purge { .. } => "purge",
        }
    }
}

/// What one stage's (or a one-stage environment's) dead-letter queue did.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub(super) enum Done {
    Listed(Listing),
    Shown { message: Letter, body: String },
    Redriven { task: MoveTask, resumed: bool },
    JobRedriven(super::JobRedrive),
    Purged { purged: u64 },
}

/// A stage's result, with the stage's name where the document says it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct StageDone {
    #[serde(skip_serializing_if = "Option::is_none")]
    stage: Option<String>,
    #[serde(flatten)]
    done: Done,
    /// How text names the queue's owner: the environment, or a pipeline's stage of it.
    #[serde(skip)]
    who: String,
}

/// The action's result on one environment: the stages it acted on, in order, and the error
/// that stopped it (after the stages before it).
pub(crate) struct Dlq {
    pub environment: String,
    pub action: &'static str,
    /// `list` on several stages: the document lists them under `stages`.
    pub several: bool,
    pub stages: Vec<StageDone>,
    pub error: Option<Error>,
}

/// Acts on `env`'s dead-letter queue, or on the stage `stage` names; `out` hears a redrive's
/// progress.
pub(crate) async fn act(
    clients: &Clients,
    env: &Environment,
    at: crate::error::Result<StackNames>,
    action: &Action,
    stage: Option<&str>,
    out: Output,
) -> Dlq {
    let mut result = Dlq {
        environment: env.name.clone(),
        action: action.name(),
        several: false,
        stages: Vec::new(),
        error: None,
    };
    let acted = match at {
        Ok(at) => act_on_stages(clients, env, &at, action, stage, out, &mut result).await,
        Err(e) => Err(e),
    };
    if let Err(e) = acted {
        result.error = Some(e);
    }
    result
}

async fn act_on_stages(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
    action: &Action,
    stage: Option<&str>,
    out: Output,
    result: &mut Dlq,
) -> Result<()> {
    let stages = crate::session::chosen_stages(env, stage)?;
    let named = |s: &Environment| s.stage.as_ref().map(|s| s.name.clone());
    match (action, stages.as_slice()) {
        (_, [one]) => {
            let done = act_on(clients, one, at, action, out).await?;
            let stage = named(one).filter(|_| env.is_pipeline());
            result.stages.push(done_by(one, stage, done));
        }
        (Action::List { .. }, several) => {
            result.several = true;
            for s in several {
                let done = act_on(clients, s, at, action, out).await?;
                result.stages.push(done_by(s, named(s), done));
            }
        }
        (Action::Show { id }, several) => {
            for s in several {
                if let Some((message, body)) = super::show(clients, s, at, id).await? {
                    let done = Done::Shown { message, body };
                    result.stages.push(done_by(s, named(s), done));
                    return Ok(());
                }
            }
            return Err(crate::dlq::errors::Usage::NoMessageInAnyStage {
                env: env.name.clone(),
                id: id.to_string(),
            }
            .into());
        }
        (Action::Redrive { .. } | Action::Purge { .. }, several) => {
            let names: Vec<String> = several.iter().filter_map(|s| named(s)).collect();
            return Err(crate::dlq::errors::Usage::StageNeeded {
                action: action.name(),
                env: env.name.clone(),
                stages: names,
            }
            .into());
        }
    }
    Ok(())
}

fn done_by(env: &Environment, stage: Option<String>, done: Done) -> StageDone {
    StageDone {
        stage,
        done,
        who: owner(env),
    }
}

/// How text output names the queue's owner: the environment, or a pipeline's stage of it.
fn owner(env: &Environment) -> String {
    match env.pipeline_stage() {
        Some(s) => format!("{} stage {}", env.name, s.name),
        None => env.name.clone(),
    }
}

/// The action on one stage's (or a one-stage environment's) dead-letter queue.
async fn act_on(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
    action: &Action,
    out: Output,
) -> Result<Done> {
    let who = owner(env);
    Ok(match action {
        Action::List { max } => Done::Listed(super::list(clients, env, at, *max).await?),
        Action::Show { id } => match super::show(clients, env, at, id).await? {
            Some((message, body)) => Done::Shown { message, body },
            None => {
                return Err(crate::dlq::errors::Usage::NoMessage {
                    who,
                    env: env.name.clone(),
                    id: id.to_string(),
                }
                .into());
            }
        },
        Action::Redrive { job: Some(id), .. } => {
            match super::redrive_job(clients, env, at, id).await? {
                Some(moved) => Done::JobRedriven(moved),
                None => {
                    return Err(crate::dlq::errors::Usage::NoDeadLetterOfJob {
                        who,
                        env: env.name.clone(),
                        job: id.to_string(),
                        job_arg: crate::output::hint::last_argument(id),
                    }
                    .into());
                }
            }
        }
        Action::Redrive { rate, job: None } => {
            let (task, resumed) = super::redrive(clients, env, at, *rate, |t| {
                out.note(format!(
                    "{who}: redrive {}: {} of {} moved",
                    t.status,
                    t.moved,
                    t.to_move.map_or("?".into(), |n| n.to_string())
                ))
            })
            .await?;
            Done::Redriven { task, resumed }
        }
        Action::Purge { confirm } => Done::Purged {
            purged: super::purge(clients, env, at, *confirm).await?,
        },
    })
}

/// The dead-letter queue of one environment: list (messages peeked without consuming them), show
/// (one message and its body), redrive (the message-move task as it ended), purge (how many
/// messages were deleted). For a pipeline, stage names the stage acted on (--stage, or the one
/// whose queue holds the message shown); list without --stage gives every stage's listing under
/// stages; redrive and purge need --stage.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(untagged)]
enum Body<'a> {
    One(&'a StageDone),
    Several { stages: &'a [StageDone] },
    Failed {},
}

/// The document's own keys.
#[derive(Serialize, schemars::JsonSchema)]
struct Own {
    /// The action run.
    #[schemars(extend("enum" = ["list", "show", "redrive", "purge"]))]
    action: &'static str,
}

/// The schema of `qfleet dlq`'s document.
#[cfg(test)]
pub(crate) fn schema() -> serde_json::Value {
    use crate::output::document_schema::{self as schema, Environments};
    schema::document::<Body<'static>, Own>(
        "dlq",
        "qfleet dlq ENV ACTION --output json",
        Environments::One,
    )
}

impl Report for Dlq {
    fn exit_code(&self) -> crate::error::Exit {
        self.error
            .as_ref()
            .map_or(crate::error::Exit::Ok, Error::exit_code)
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let env = match (&self.error, self.stages.as_slice()) {
            (Some(e), _) => EnvDoc::failed(&self.environment, e, Body::Failed {}),
            (None, [one]) if !self.several => EnvDoc::ok(&self.environment, Body::One(one)),
            (None, stages) => EnvDoc::ok(&self.environment, Body::Several { stages }),
        };
        let own = Own {
            action: self.action,
        };
        Document::with_own(self.exit_code(), vec![env], own)
    }

    fn text(&self, out: &Output) -> Result<()> {
        for s in &self.stages {
            text(&s.who, &s.done, out);
        }
        if let Some(e) = &self.error {
            out.note(format!("error: {e}"));
        }
        Ok(())
    }
}

/// What a dead letter carries, in words: the S3 keys of an upload's event, or the id of a job
/// sent as a message.
fn what_it_carries(m: &Letter) -> String {
    match (&m.job_id, m.keys.as_slice()) {
        (Some(id), _) => format!("job {id} (sent as a message)"),
        (None, []) => "(no S3 key)".to_string(),
        (None, keys) => format!("keys: {}", keys.join(", ")),
    }
}

/// A dead letter's job and where its record stands, its error as people read it.
fn job_line(j: &super::LetterJob) -> String {
    let came = match j.upload.as_str() {
        crate::jobs::MESSAGE_UPLOAD => "sent as a message".to_string(),
        upload => format!("upload {upload}"),
    };
    format!(
        "job {} ({came}): {}{}",
        j.key,
        j.state.as_deref().unwrap_or("no record"),
        j.error
            .as_deref()
            .map(|e| format!(", {}", crate::jobs::plain_error(e)))
            .unwrap_or_default()
    )
}

/// One stage's result in lines of text.
fn text(who: &str, done: &Done, out: &Output) {
    match done {
        Done::Listed(l) => {
            out.line(format!(
                "{who}: {} holds {} message(s) ({} visible, {} in flight, {} delayed)",
                l.dead_letter_queue,
                l.depth.total(),
                l.depth.visible,
                l.depth.in_flight,
                l.depth.delayed
            ));
            for m in &l.messages {
                out.line(format!(
                    "  {}  {}  received {}x  age {}",
                    m.id,
                    what_it_carries(m),
                    m.receive_count.map_or("?".into(), |n| n.to_string()),
                    m.age_seconds.map_or("?".into(), |s| format!("{s} s")),
                ));
                for j in &m.jobs {
                    out.line(format!("    {}", job_line(j)));
                }
            }
            out.note(&l.note);
        }
        Done::Shown { message, body } => {
            out.line(format!(
                "{}  {}  received {}x  sent {}",
                message.id,
                what_it_carries(message),
                message.receive_count.map_or("?".into(), |n| n.to_string()),
                message.sent.as_deref().unwrap_or("?")
            ));
            for j in &message.jobs {
                out.line(format!("  {}", job_line(j)));
            }
            out.line(body);
        }
        Done::Redriven { task, resumed } => out.line(format!(
            "{who}: {} {} message(s) back to the job queue",
            if *resumed {
                "followed a redrive that moved"
            } else {
                "moved"
            },
            task.moved
        )),
        Done::JobRedriven(r) => {
            out.line(format!(
                "{who}: moved job {}'s dead letter {} back to {} (now message {})",
                r.job, r.moved, r.queue, r.sent
            ));
            for j in &r.jobs {
                out.line(format!(
                    "  job {} ({}): {}",
                    j.key,
                    j.upload,
                    j.state.as_deref().unwrap_or("no record")
                ));
            }
            out.note(&r.note);
        }
        Done::Purged { purged } => out.line(format!(
            "{who}: purged {purged} message(s) from the dead-letter queue"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::Peeked;

    fn peeked(body: &str, job_id: Option<&str>) -> Peeked {
        Peeked {
            id: "m-1".into(),
            body: body.into(),
            receive_count: Some(6),
            sent_ms: None,
            first_receive_ms: None,
            job_id: job_id.map(str::to_string),
        }
    }

    /// Issue 85: a dead letter of a job sent as a message names its job (never an empty
    /// `keys:`), in the text of `list` and `show` and in the JSON; an upload's names its keys.
    #[test]
    fn a_dead_letter_says_the_job_it_carries() {
        let now = std::time::SystemTime::now();
        let sent = Letter::of(&peeked(r#"{"photo": 7}"#, Some("order 7 (rush)")), now);
        assert_eq!(sent.job_id.as_deref(), Some("order 7 (rush)"));
        assert_eq!(
            what_it_carries(&sent),
            "job order 7 (rush) (sent as a message)"
        );
        let json = serde_json::to_value(&sent).unwrap();
        assert_eq!(json["job_id"], "order 7 (rush)", "{json}");
        let unnamed = Letter::of(&peeked("plain text", None), now);
        assert_eq!(what_it_carries(&unnamed), "job sqs:m-1 (sent as a message)");
        let upload = Letter::of(
            &peeked(
                r#"{"Records":[{"s3":{"object":{"key":"uploads/a+b.jpg","versionId":"v"}}}]}"#,
                None,
            ),
            now,
        );
        assert_eq!(upload.job_id, None);
        assert_eq!(what_it_carries(&upload), "keys: uploads/a b.jpg");
        let test_event = Letter::of(&peeked(r#"{"Event":"s3:TestEvent"}"#, None), now);
        assert_eq!(what_it_carries(&test_event), "(no S3 key)");
        let line = job_line(&super::super::LetterJob {
            key: "order 7 (rush)".into(),
            upload: crate::jobs::MESSAGE_UPLOAD.into(),
            state: Some("failed".into()),
            error: Some("Exception('no such photo')".into()),
        });
        assert_eq!(
            line,
            "job order 7 (rush) (sent as a message): failed, no such photo"
        );
    }
}
