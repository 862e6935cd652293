//! The end of a deploy or plan: a line per environment, for several one row each with each
//! warning told once, the Markdown preview, or the one JSON document.

use super::event::Event;
use crate::deploy::EnvOutcome;
use crate::error::Result;
use crate::output::words::{self, count};
use crate::output::{Document, Environment as EnvDoc, Output, Report, envelope, events_of};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use std::time::Instant;

/// What the run collected besides the outcomes: the events, and each environment's stacks.
pub(super) struct Collected {
    pub(super) events: Vec<Event>,
    /// Per environment (in the outcomes' order), the names of its stacks.
    pub(super) stacks: Vec<Vec<String>>,
}

/// How the end of a deploy or plan is told.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Printing {
    /// Every environment's line (the default for one) rather than a row each.
    pub(crate) details: bool,
    /// `plan --detailed-exitcode`: an environment with pending changes exits 3.
    pub(crate) detailed_exitcode: bool,
    /// `plan --format markdown`: the preview as Markdown on stdout.
    pub(crate) markdown: bool,
}

/// A deploy's or plan's end: each environment's outcome, as the run reports it.
pub(crate) struct Finished {
    /// Each with its exit code as the run reports it ([`with_run_codes`]).
    outcomes: Vec<EnvOutcome>,
    collected: Collected,
    printing: Printing,
    /// The environments the stack files made and no longer make.
    pub(super) found: crate::environments::Found,
    /// What `owner` protects against, for a plan of files without it (said once).
    pub(super) owner_note: Option<String>,
    /// When the run's end began to be told (its duration counts up to the document).
    started: Instant,
}

impl Finished {
    pub(super) fn new(
        outcomes: Vec<EnvOutcome>,
        collected: Collected,
        printing: Printing,
        started: Instant,
    ) -> Finished {
        Finished {
            outcomes: with_run_codes(&outcomes, printing.detailed_exitcode),
            collected,
            printing,
            found: crate::environments::Found::default(),
            owner_note: None,
            started,
        }
    }
}

/// The outcomes with each environment's exit code as the run reports it: 3 for one whose
/// stacks have pending changes under --detailed-exitcode and that did not fail. `o.ok` stays
/// "did not fail" (the previews' own sense); the JSON's `ok` follows the exit code.
fn with_run_codes(outcomes: &[EnvOutcome], detailed: bool) -> Vec<EnvOutcome> {
    outcomes
        .iter()
        .cloned()
        .map(|mut o| {
            let pending = detailed && o.stacks.iter().any(|s| s.action.pending());
            o.exit_code = envelope::environment_exit_code(o.exit_code, pending);
            o
        })
        .collect()
}

/// What the deploy did to each environment's stacks, or the preview of each one's change sets
/// (a plan; with --detailed-exitcode exit 3, ok false, when changes are pending).
#[derive(Serialize, JsonSchema)]
struct Body<'a> {
    #[serde(flatten)]
    outcome: &'a EnvOutcome,
    /// A stack is not what its stack file says (a plan's changes, or a deploy's declined).
    changes_pending: bool,
    /// The warnings of the environment's events, as text.
    warnings: Vec<String>,
    /// The events reported about the environment and its stacks (but the per-resource ones).
    #[schemars(with = "Vec<Value>", extend("items" = { "$ref": "common.json#/$defs/event" }))]
    events: Vec<Event>,
}

/// The document's own keys.
#[derive(Serialize, JsonSchema)]
struct Own<'a> {
    /// Any environment's changes are pending.
    changes_pending: bool,
    /// Why the run exits as it does, each cause counted (`exit 3: 1 environment no longer
    /// made by its stack file still runs: …`); null for exit 0.
    exit_reason: Option<String>,
    /// How long the run took.
    duration_ms: u128,
    #[serde(flatten)]
    found: &'a crate::environments::Found,
}

/// The schema of `qfleet deploy`'s or `qfleet plan`'s document.
#[cfg(test)]
pub(crate) fn schema(command: &str) -> Value {
    use crate::output::document_schema::{self as schema, Environments};
    let title = format!("qfleet {command} --output json");
    schema::document::<Body<'static>, Own<'static>>(command, &title, Environments::Each)
}

impl Report for Finished {
    /// [`envelope::combined_exit_code`] of the environments', each 3 for pending changes
    /// with --detailed-exitcode; with it, an environment the stack files no longer make is a
    /// difference too, and a search for them that could not be made an error.
    fn exit_code(&self) -> crate::error::Exit {
        let found = self
            .printing
            .detailed_exitcode
            .then(|| self.found.exit_code());
        envelope::combined_exit_code(self.outcomes.iter().map(|o| o.exit_code).chain(found))
    }

    fn notes(&self, out: &Output) {
        for n in self.found.notes(self.printing.detailed_exitcode) {
            out.note(n);
        }
        if let Some(note) = &self.owner_note {
            out.note(note.clone());
        }
    }

    /// Each environment's outcome with its events (all but the per-resource ones) and warnings.
    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let c = &self.collected;
        let environments = self
            .outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let stacks = c.stacks.get(i).cloned().unwrap_or_default();
                let events = events_of(&c.events, &o.environment, &stacks);
                let error = o.error.clone();
                let body = Body {
                    outcome: o,
                    changes_pending: o.stacks.iter().any(|s| s.action.pending()),
                    warnings: warnings(&events),
                    events,
                };
                EnvDoc::new(&o.environment, o.exit_code, error, body)
            })
            .collect();
        let own = Own {
            exit_reason: self.exit_reason(),
            changes_pending: self
                .outcomes
                .iter()
                .flat_map(|o| &o.stacks)
                .any(|s| s.action.pending()),
            duration_ms: self
                .outcomes
                .iter()
                .map(|o| o.duration_ms)
                .max()
                .unwrap_or(0)
                + self.started.elapsed().as_millis(),
            found: &self.found,
        };
        let error = self
            .printing
            .detailed_exitcode
            .then(|| self.found.error())
            .flatten();
        Document::with_own(self.exit_code(), environments, own).with_error(error)
    }

    /// One line per environment, or one row each without `details`, or the Markdown preview.
    fn text(&self, out: &Output) -> Result<()> {
        // Why a plan exits 3 (its failures are said as errors).
        let differences = (self.exit_code() == crate::error::Exit::Differences)
            .then(|| self.exit_reason())
            .flatten();
        if self.printing.markdown {
            let md = super::markdown::render(&self.outcomes, &self.found, differences.as_deref());
            crate::output::stdout_write(&md);
            self.errors(out);
        } else if !self.printing.details {
            let (rows, notes) = rows(&self.collected, &self.outcomes);
            out.line(rows);
            for n in notes {
                out.note(n);
            }
            self.errors(out);
        } else {
            for o in &self.outcomes {
                line(o, out);
            }
        }
        if let Some(reason) = differences {
            out.note(reason);
        }
        Ok(())
    }
}

impl Finished {
    /// Why the run exits as it does: `exit N: ` and each cause counted, failures first;
    /// `None` for 0.
    pub(super) fn exit_reason(&self) -> Option<String> {
        use crate::error::Exit;
        let code = self.exit_code();
        if code == Exit::Ok {
            return None;
        }
        let names = |of: &[&EnvOutcome]| {
            let names: Vec<String> = of.iter().map(|o| o.environment.clone()).collect();
            words::and_list(&names)
        };
        let mut causes = Vec::new();
        let refused: Vec<&EnvOutcome> = (self.outcomes.iter())
            .filter(|o| o.exit_code == Exit::Refused)
            .collect();
        let failed: Vec<&EnvOutcome> = (self.outcomes.iter())
            .filter(|o| o.exit_code.failed() && o.exit_code != Exit::Refused)
            .collect();
        let pending: Vec<&EnvOutcome> = (self.outcomes.iter())
            .filter(|o| o.exit_code == Exit::Differences)
            .collect();
        if !failed.is_empty() {
            causes.push(format!(
                "{} failed ({})",
                count(failed.len() as u64, "environment", "environments"),
                names(&failed)
            ));
        }
        if !refused.is_empty() {
            causes.push(format!(
                "{} refused ({}), nothing changed there",
                count(refused.len() as u64, "environment", "environments"),
                names(&refused)
            ));
        }
        if !pending.is_empty() {
            causes.push(format!(
                "{} with changes pending ({})",
                count(pending.len() as u64, "environment", "environments"),
                names(&pending)
            ));
        }
        if self.printing.detailed_exitcode {
            causes.extend(self.found.reasons());
        }
        Some(format!("exit {}: {}", code.code(), causes.join("; ")))
    }

    /// Each environment's error, on stderr: an error several environments share once, naming
    /// them (the later waves' targets of a stopped rollout).
    fn errors(&self, out: &Output) {
        for line in error_lines(&self.outcomes) {
            out.note(line);
        }
    }
}

/// `error: ENV: …` per error, the environments with the same one on one line.
fn error_lines(outcomes: &[EnvOutcome]) -> Vec<String> {
    let per_env = outcomes.iter().filter_map(|o| {
        let e = o.error.as_ref()?;
        let said = e.to_string();
        let said = words::without_env(&o.environment, &said)
            .unwrap_or(&said)
            .to_string();
        Some((o.environment.as_str(), vec![said]))
    });
    words::group_notes(per_env)
        .into_iter()
        .map(|(e, envs)| format!("error: {}: {e}", envs.join(", ")))
        .collect()
}

/// One environment's line: its stacks' actions and how long it took, or that it failed.
fn line(o: &EnvOutcome, out: &Output) {
    let secs = o.duration_ms as f64 / 1000.0;
    if let Some(err) = &o.error
        && o.stacks.is_empty()
        && o.exit_code == crate::error::Exit::Refused
    {
        // A target a stopped rollout did not reach: nothing was tried.
        out.line(format!("{}: not deployed", o.environment));
        out.note(format!(
            "error: {}",
            words::of_env(&o.environment, &err.to_string())
        ));
    } else if let Some(err) = &o.error {
        let ended = match o.exit_code {
            crate::error::Exit::Refused => "refused, nothing changed,",
            _ => "FAILED",
        };
        out.line(format!("{}: {ended} after {secs:.1} s", o.environment));
        out.note(format!(
            "error: {}",
            words::of_env(&o.environment, &err.to_string())
        ));
        for s in &o.stacks {
            out.line(format!("  {} {}", s.stack, s.said()));
        }
    } else if o.cancelled {
        out.line(format!(
            "{} ({secs:.1} s)",
            crate::output::cancelled(&o.environment)
        ));
    } else {
        let stacks: Vec<String> = o
            .stacks
            .iter()
            .map(|s| format!("{} {}", s.stack, s.said()))
            .collect();
        out.line(format!(
            "{}: {} ({secs:.1} s)",
            o.environment,
            stacks.join(", ")
        ));
    }
}

/// The warnings of one environment's events, as text (`STACK: what the change does`, or what
/// the warning says about the environment as a whole).
fn warnings(events: &[Event]) -> Vec<String> {
    events.iter().filter_map(Event::warning).collect()
}

/// `data` or `fleet`: the role of the stack an event names (`qfleet-ENV-data`).
fn role_of(event: &Event) -> &str {
    let stack = crate::output::Event::stack(event).unwrap_or_default();
    if stack.ends_with("-data") {
        "data stack"
    } else if stack.ends_with("-fleet") {
        "fleet stack"
    } else {
        "stack"
    }
}

/// One row per environment (the stacks' actions, how many changes, warnings), then each
/// warning and note once for the environments it concerns: a plan of many environments at a
/// glance.
fn rows(c: &Collected, outcomes: &[EnvOutcome]) -> (String, Vec<String>) {
    let mut per_env = Vec::new();
    let table = crate::output::table(
        &["environment", "data", "fleet", "changes", "warnings"],
        outcomes.iter().enumerate().map(|(i, o)| {
            let stacks = c.stacks.get(i).cloned().unwrap_or_default();
            let events = events_of(&c.events, &o.environment, &stacks);
            // Told without the stack's name, so that every copy's warning reads the same.
            let notes: Vec<String> = events
                .iter()
                .filter_map(|e| match e {
                    Event::Warning { message, .. } => {
                        Some(format!("WARNING: {role}: {message}", role = role_of(e)))
                    }
                    Event::Switch { message, .. } => {
                        Some(format!("note: {role}: {message}", role = role_of(e)))
                    }
                    _ => None,
                })
                .collect();
            let n_warnings = notes.iter().filter(|n| n.starts_with("WARNING")).count();
            per_env.push((o.environment.as_str(), notes));
            let action = |role: &str| {
                o.stacks
                    .iter()
                    .find(|s| s.role.as_str() == role)
                    .map(|s| s.said().to_string())
                    .unwrap_or_else(|| {
                        match (&o.error, o.exit_code) {
                            // Refused before anything was tried (a stopped rollout's later
                            // waves, an account guard): not a failure of the stack.
                            (Some(_), crate::error::Exit::Refused) => "refused",
                            (Some(_), _) => "FAILED",
                            (None, _) => "-",
                        }
                        .to_string()
                    })
            };
            // A failed stack's previewed changes were not made (or not all): not counted; an
            // environment that failed before any stack was read has no count at all.
            let changes: usize = o
                .stacks
                .iter()
                .filter(|s| !s.failed())
                .map(|s| s.changes.len())
                .sum();
            let changes = match o.error.is_some() && o.stacks.is_empty() {
                true => "-".to_string(),
                false => count(changes as u64, "change", "changes"),
            };
            vec![
                o.environment.clone(),
                action("data"),
                action("fleet"),
                changes,
                n_warnings.to_string(),
            ]
        }),
    );
    let notes = words::group_notes(per_env)
        .into_iter()
        .map(|(note, envs)| words::noted_for(&note, &envs, outcomes.len()))
        .collect();
    (table, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::{Action, StackOutcome};
    use crate::render::StackRole;

    /// A StackSets target whose instance failed after its preview keeps its previewed changes
    /// in the JSON; the text says FAILED for its stack and counts none of them as made.
    #[test]
    fn a_failed_instance_reads_failed_and_its_previewed_changes_are_not_counted() {
        let change = crate::aws::ResourceChange {
            action: aws_sdk_cloudformation::types::ChangeAction::Modify,
            logical_id: "Queue".into(),
            resource_type: "AWS::SQS::Queue".into(),
            replacement: None,
            details: None,
            drift: None,
        };
        let stack = |status: Option<&str>| StackOutcome {
            stack: "qfleet-orders-data".into(),
            role: StackRole::Data,
            action: Action::NoChanges,
            status: status.map(str::to_string),
            duration_ms: 0,
            changes: vec![change.clone()],
            notes: vec![],
            outputs: Default::default(),
            worker_version: None,
        };
        let env = |name: &str, status: Option<&str>| EnvOutcome {
            environment: name.into(),
            region: "eu-west-1".into(),
            ok: status.is_none(),
            cancelled: false,
            stacks: vec![stack(status)],
            error: None,
            exit_code: crate::error::Exit::Ok,
            duration_ms: 0,
        };
        let outcomes = [env("orders-eu1", Some("FAILED")), env("orders-eu2", None)];
        let collected = Collected {
            events: vec![],
            stacks: vec![],
        };
        let (table, _) = rows(&collected, &outcomes);
        let row = |name: &str| {
            table
                .lines()
                .find(|l| l.contains(name))
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(row("orders-eu1").contains("FAILED - 0 changes"), "{table}");
        assert!(
            row("orders-eu2").contains("no changes - 1 change"),
            "{table}"
        );
    }

    /// Targets a stopped rollout did not reach: no count of changes, and their one error
    /// said once, naming them.
    #[test]
    fn targets_never_reached_have_no_count_and_their_shared_error_is_said_once() {
        let not_deployed = |name: &str, why: &str| EnvOutcome {
            environment: name.into(),
            region: "eu-west-1".into(),
            ok: false,
            cancelled: false,
            stacks: vec![],
            error: Some(crate::error::Error::aws(why).report()),
            exit_code: crate::error::Exit::Aws,
            duration_ms: 0,
        };
        let mut refused = not_deployed("orders-a4", "not deployed: the rollout stopped at wave 1");
        refused.exit_code = crate::error::Exit::Refused;
        let outcomes = [
            not_deployed("orders-a1", "credentials"),
            not_deployed("orders-a2", "not deployed: the rollout stopped at wave 1"),
            not_deployed("orders-a3", "not deployed: the rollout stopped at wave 1"),
            refused,
        ];
        let collected = Collected {
            events: vec![],
            stacks: vec![],
        };
        let (table, _) = rows(&collected, &outcomes);
        let a2: Vec<&str> = table
            .lines()
            .find(|l| l.contains("orders-a2"))
            .unwrap_or_default()
            .split_whitespace()
            .filter(|w| *w != "|")
            .collect();
        assert_eq!(a2, ["orders-a2", "FAILED", "FAILED", "-", "0"], "{table}");
        assert!(
            table
                .lines()
                .any(|l| l.contains("orders-a4") && l.contains("refused   refused   -")),
            "{table}"
        );
        assert_eq!(
            error_lines(&outcomes),
            [
                "error: orders-a1: credentials",
                "error: orders-a2, orders-a3, orders-a4: not deployed: the rollout stopped at wave 1",
            ]
        );
        // An error that names its environment itself is not prefixed twice (issue 57:
        // `class-05: class-05: …`), and is still grouped with the same error of another.
        let same = [
            not_deployed(
                "class-05",
                "class-05: stack qfleet-class-05-data: access denied",
            ),
            not_deployed(
                "class-06",
                "class-06: stack qfleet-class-06-data: access denied",
            ),
            not_deployed("class-07", "queue busy"),
        ];
        assert_eq!(
            error_lines(&same),
            [
                "error: class-05: stack qfleet-class-05-data: access denied",
                "error: class-06: stack qfleet-class-06-data: access denied",
                "error: class-07: queue busy",
            ]
        );
        assert_eq!(
            words::of_env("class-05", "class-05: DELETE_FAILED"),
            "class-05: DELETE_FAILED"
        );
        assert_eq!(
            words::of_env("class-05", "access denied"),
            "class-05: access denied"
        );
        assert_eq!(
            words::of_env("class-0", "class-05: x"),
            "class-0: class-05: x",
            "another environment's name is no prefix"
        );
    }
}
