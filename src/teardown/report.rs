//! The teardown of the environments a command line names, run together (each asks its own
//! question on a terminal) and reported as one result: a line per environment (a note for
//! what was kept or refused), or the document with each one's events.

use super::event::{Event, Reporter};
use super::{Options, TeardownOutcome};
use crate::error::{Error, Interruption, Result};
use crate::output::{Document, Environment, Output, Report, events_of};
use crate::session::Session;
use schemars::JsonSchema;
use serde::Serialize;

/// Every environment's outcome, with the events the run reported.
pub(crate) struct TornDown {
    outcomes: Vec<TeardownOutcome>,
    /// Each environment's stacks (data first, then every stage's fleet, then a stack-set
    /// target's instances' stacks), in the outcomes' order.
    stacks: Vec<Vec<String>>,
    /// Where each one is, in the outcomes' order: so that a saved document shows which
    /// environment of a name went.
    places: Vec<Place>,
    events: Vec<Event>,
}

/// Where an environment torn down is.
#[derive(Serialize, JsonSchema)]
struct Place {
    /// Its Region.
    region: String,
    /// Its account: the one its file names, else the credentials' (null where it could not be
    /// read).
    account: Option<String>,
}

/// Ctrl-C (or SIGTERM, SIGHUP) stopped the teardown: where it left each environment is said
/// at once, in the run's one document, then its locks are released within the time the
/// signal leaves; the error ends the run (its document is out already).
fn stopped(session: &Session, reporter: &Reporter, out: Output) -> Error {
    let environments = crate::environments::stopped(session, reporter);
    let err = Error::from(Interruption::Teardown { environments });
    reporter.end_progress();
    out.error(&err);
    let _ = session.block_on(async {
        tokio::time::timeout(
            crate::error::time_left(),
            crate::lock::release_all(&|line| out.note(line)),
        )
        .await
    });
    err
}

/// Tears down every environment of `session`, all at once (`opts.schedule` bounds their
/// calls); Ctrl-C stops waiting and says what each had done.
pub(crate) fn all(session: &Session, opts: &Options, out: Output) -> Result<TornDown> {
    let reporter = Reporter::new(out);
    reporter.several_environments(session.envs.len() > 1);
    let (outcomes, places): (Vec<TeardownOutcome>, Vec<Place>) = session
        .each_until_interrupted(|clients, env| {
            let (opts, reporter) = (opts.clone(), &reporter);
            let stacks = crate::placement::stacks_of(&session.aws, env);
            let at = crate::environments::place_of(&session.aws, env);
            async move {
                let account = match at.account {
                    Some(a) => Some(a),
                    None => crate::aws::account_id(&clients.sts).await.ok(),
                };
                let place = Place {
                    region: at.region,
                    account,
                };
                let outcome = super::environment_at(&clients, env, stacks, &opts, reporter).await;
                (outcome, place)
            }
        })
        .map(|v| v.into_iter().unzip())
        .ok_or_else(|| stopped(session, &reporter, out))?;
    let stacks = session
        .envs
        .iter()
        .zip(&outcomes)
        .map(|(env, o)| {
            let mut stacks = env.stack_names();
            stacks.extend(o.instance_stacks.iter().cloned());
            stacks
        })
        .collect();
    Ok(TornDown {
        outcomes,
        stacks,
        places,
        events: reporter.events(),
    })
}

/// What each environment's teardown deleted, kept or refused (exit 4, with refusals).
#[derive(Serialize, JsonSchema)]
struct Body<'a> {
    #[serde(flatten)]
    outcome: &'a TeardownOutcome,
    #[serde(flatten)]
    place: &'a Place,
    /// The events the teardown reported about this environment's stacks.
    #[schemars(with = "Vec<serde_json::Value>", extend("items" = { "$ref": "common.json#/$defs/event" }))]
    events: Vec<Event>,
}

/// The schema of `qfleet teardown`'s document.
#[cfg(test)]
pub(crate) fn schema() -> serde_json::Value {
    use crate::output::document_schema::{self as schema, Environments};
    schema::document::<Body<'static>, ()>(
        "teardown",
        "qfleet teardown --output json",
        Environments::Each,
    )
}

impl Report for TornDown {
    fn exit_code(&self) -> crate::error::Exit {
        self.outcomes
            .iter()
            .map(|o| o.exit_code)
            .max()
            .unwrap_or(crate::error::Exit::Ok)
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let environments = self
            .outcomes
            .iter()
            .zip(&self.stacks)
            .zip(&self.places)
            .map(|((o, stacks), place)| {
                let body = Body {
                    outcome: o,
                    place,
                    events: events_of(&self.events, &o.environment, stacks),
                };
                let error = o.error.clone();
                Environment::new(&o.environment, o.exit_code, error, body)
            })
            .collect();
        Document::new(self.exit_code(), environments)
    }

    fn text(&self, out: &Output) -> Result<()> {
        for (o, place) in self.outcomes.iter().zip(&self.places) {
            let (line, note) = super::text::outcome(o);
            // Where it was, so that a saved log shows which environment of a name went.
            let line = match &place.account {
                Some(a) => format!("{line} [{}, account {a}]", place.region),
                None => format!("{line} [{}]", place.region),
            };
            out.line(line);
            if let Some(note) = note {
                out.note(note);
            }
        }
        Ok(())
    }
}
