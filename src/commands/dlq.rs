//! `qfleet dlq ENV list|show|redrive|purge`: the environment's dead-letter queue.

use super::{Global, Session};
use crate::config::Environment;
use crate::dlq;
use crate::error::{Error, Result};
use crate::output::{Output, envelope};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct DlqArgs {
    /// One environment: its name (a file in the stacks directory, or one copy), or a path.
    pub env: String,
    /// For a pipeline, the stage whose dead-letter queue to act on (`list` and `show` default to
    /// every stage's; `redrive` and `purge` need one named).
    #[arg(long, global = true)]
    pub stage: Option<String>,
    #[command(subcommand)]
    pub action: DlqAction,
}

#[derive(Debug, Subcommand)]
pub enum DlqAction {
    /// The dead-lettered messages (the uploads they name, receive count, age), peeked without
    /// consuming them.
    List {
        /// The most messages to show.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=1000))]
        max: u16,
    },
    /// One message in full, by its id (from `list`).
    Show { id: String },
    /// Sends every dead-lettered message back to the job queue (SQS's message-move task);
    /// follows a redrive already running; Ctrl-C cancels it.
    Redrive {
        /// The most messages moved a second (1 to 500; default: as fast as SQS goes).
        #[arg(long, value_parser = clap::value_parser!(i32).range(1..=500))]
        rate: Option<i32>,
    },
    /// Deletes every dead-lettered message, only with `--confirm` naming how many it holds.
    Purge {
        /// The number of messages the dead-letter queue holds now (`list` says it).
        #[arg(long)]
        confirm: Option<u64>,
    },
}

impl DlqAction {
    fn name(&self) -> &'static str {
        match self {
            DlqAction::List { .. } => "list",
            DlqAction::Show { .. } => "show",
            DlqAction::Redrive { .. } => "redrive",
            DlqAction::Purge { .. } => "purge",
        }
    }
}

pub fn run(args: DlqArgs, g: &Global, out: Output) -> Result<i32> {
    let session = Session::open_with_pipelines(std::slice::from_ref(&args.env), g)?;
    if session.envs.len() != 1 {
        return Err(Error::usage(format!(
            "dlq takes one environment; `{}` names {}",
            args.env,
            session.envs.len()
        )));
    }
    let action = args.action.name();
    let results = session.each(|clients, env| {
        let (action, stage) = (&args.action, args.stage.as_deref());
        async move {
            let stages = super::chosen_stages(env, stage)?;
            let named = |s: &Environment| s.stage.as_ref().map(|s| s.name.clone());
            match (action, stages.as_slice()) {
                (_, [one]) => {
                    let mut body = act(&clients, one, action, out).await?;
                    if let (Some(stage), Some(map)) = (named(one).filter(|_| env.is_pipeline()), body.as_object_mut()) {
                        map.insert("stage".into(), stage.into());
                    }
                    Ok(body)
                }
                (DlqAction::List { .. }, several) => {
                    let mut listed = Vec::new();
                    for s in several {
                        let mut body = act(&clients, s, action, out).await?;
                        if let (Some(stage), Some(map)) = (named(s), body.as_object_mut()) {
                            map.insert("stage".into(), stage.into());
                        }
                        listed.push(body);
                    }
                    Ok(serde_json::json!({ "stages": listed }))
                }
                (DlqAction::Show { id }, several) => {
                    for s in several {
                        if let Some((letter, body)) = dlq::show(&clients, s, id).await? {
                            shown(out, &letter, &body);
                            return Ok(serde_json::json!({ "stage": named(s), "message": letter, "body": body }));
                        }
                    }
                    Err(Error::usage(format!(
                        "{}: no message {id} in any stage's dead-letter queue (`qfleet dlq {} list` shows the ids)",
                        env.name, env.name
                    )))
                }
                (DlqAction::Redrive { .. } | DlqAction::Purge { .. }, several) => {
                    Err(Error::usage(format!(
                        "dlq {}: {} is a pipeline with a dead-letter queue per stage; name the one to {} with --stage ({})",
                        action.name(),
                        env.name,
                        action.name(),
                        several
                            .iter()
                            .filter_map(|s| named(s))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )))
                }
            }
        }
    });
    let mut code = 0;
    let mut environments = Vec::new();
    for (env, r) in session.envs.iter().zip(results) {
        match r {
            Ok(body) => environments.push(envelope::environment(&env.name, 0, None, body)),
            Err(e) => {
                code = code.max(e.exit_code());
                if !out.is_json() {
                    out.note(format!("error: {e}"));
                }
                environments.push(envelope::environment(
                    &env.name,
                    e.exit_code(),
                    Some(e.report()),
                    serde_json::json!({}),
                ));
            }
        }
    }
    if out.is_json() {
        let own = serde_json::Map::from_iter([("action".to_string(), action.into())]);
        out.document(envelope::document("dlq", code, environments, own));
    }
    Ok(code)
}

/// How text output names the queue's owner: the environment, or a pipeline's stage of it.
fn owner(env: &Environment) -> String {
    match env.pipeline_stage() {
        Some(s) => format!("{} stage {}", env.name, s.name),
        None => env.name.clone(),
    }
}

fn shown(out: Output, letter: &dlq::Letter, body: &str) {
    if !out.is_json() {
        out.line(format!(
            "{}  keys: {}  received {}x  sent {}",
            letter.id,
            letter.keys.join(", "),
            letter.receive_count.map_or("?".into(), |n| n.to_string()),
            letter.sent.as_deref().unwrap_or("?")
        ));
        out.line(body);
    }
}

/// The action on one stage's (or a one-stage environment's) dead-letter queue.
async fn act(
    clients: &crate::aws::Clients,
    env: &Environment,
    action: &DlqAction,
    out: Output,
) -> Result<serde_json::Value> {
    let who = owner(env);
    match action {
        DlqAction::List { max } => {
            let l = dlq::list(clients, env, *max as usize).await?;
            if !out.is_json() {
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
                        if m.keys.is_empty() {
                            "(no S3 key)".to_string()
                        } else {
                            m.keys.join(", ")
                        },
                        m.receive_count.map_or("?".into(), |n| n.to_string()),
                        m.age_seconds.map_or("?".into(), |s| format!("{s} s")),
                    ));
                }
                out.note(&l.note);
            }
            Ok(serde_json::to_value(&l).unwrap_or_default())
        }
        DlqAction::Show { id } => match dlq::show(clients, env, id).await? {
            Some((letter, body)) => {
                shown(out, &letter, &body);
                Ok(serde_json::json!({ "message": letter, "body": body }))
            }
            None => Err(Error::usage(format!(
                "{who}: no message {id} in the dead-letter queue (`qfleet dlq {} list` shows the ids)",
                env.name
            ))),
        },
        DlqAction::Redrive { rate } => {
            let (task, resumed) = dlq::redrive(clients, env, *rate, |t| {
                out.note(format!(
                    "{who}: redrive {}: {} of {} moved",
                    t.status,
                    t.moved,
                    t.to_move.map_or("?".into(), |n| n.to_string())
                ))
            })
            .await?;
            if !out.is_json() {
                out.line(format!(
                    "{who}: {} {} message(s) back to the job queue",
                    if resumed {
                        "followed a redrive that moved"
                    } else {
                        "moved"
                    },
                    task.moved
                ));
            }
            Ok(serde_json::json!({ "task": task, "resumed": resumed }))
        }
        DlqAction::Purge { confirm } => {
            let purged = dlq::purge(clients, env, *confirm).await?;
            if !out.is_json() {
                out.line(format!(
                    "{who}: purged {purged} message(s) from the dead-letter queue"
                ));
            }
            Ok(serde_json::json!({ "purged": purged }))
        }
    }
}
