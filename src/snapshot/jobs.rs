//! The job table and the response queue (`jobs:`), as a snapshot reads them: what each command
//! decides on, read only when its scope asks (drift: the settings; teardown: whether the table
//! holds records, and the response queue's messages; status: the jobs that changed lately).

use super::fact::Fact;
use super::{Located, StackSnapshot};
use crate::aws::Clients;
use crate::config::Environment;
use crate::jobs::table::{self, Job, Settings};
use crate::render::ids;
use std::time::{Duration, SystemTime};

/// What a scope reads of the job table.
#[derive(Debug, Clone, Copy, Default)]
pub struct JobsScope {
    /// Its settings (drift).
    pub settings: bool,
    /// Whether it holds any record (teardown).
    pub records: bool,
    /// The jobs changed in the last this long (status).
    pub recent: Option<Duration>,
}

impl JobsScope {
    fn any(self) -> bool {
        self.settings || self.records || self.recent.is_some()
    }
}

/// The job table as read: its name and what the scope asked for (`None`: not asked).
#[derive(Debug, Clone)]
pub struct JobTable {
    pub name: String,
    pub settings: Option<Fact<Settings>>,
    pub holds_records: Option<Fact<bool>>,
    pub recent: Option<Fact<Vec<Job>>>,
}

/// The job table of an environment with `jobs:` (`None`: it has none, or the scope reads
/// nothing of it). Found by the data stack's listing, or by its fixed name when the stack does
/// not list it; absent only on AWS's word.
pub(super) async fn read_table(
    clients: &Clients,
    env: &Environment,
    data: &StackSnapshot,
    scope: JobsScope,
) -> Option<Fact<JobTable>> {
    // The environment's table, read with its first stage (a later stage's snapshot leaves it).
    let later_stage = env.stage.as_ref().is_some_and(|s| s.index > 0);
    if !scope.any() || later_stage {
        return None;
    }
    // Declared by the stack file, or listed by the deployed data stack (a file that dropped
    // `jobs:` still has its table until a deploy removes it): never left unread. Its name is
    // CloudFormation's, so it exists only as the data stack's resource: a complete stack that
    // does not list it has none.
    let declared = env.spec.jobs.is_some();
    let name = match data.locate(ids::JOB_TABLE) {
        Located::Physical(name) => name,
        Located::NotListed | Located::Absent => return declared.then_some(Fact::Absent),
        Located::Unknown(why) => return declared.then_some(Fact::Unknown(why)),
    };
    let db = &clients.dynamodb;
    let now = SystemTime::now();
    let (settings, records, recent) = tokio::join!(
        async {
            match scope.settings {
                true => Some(table::settings(db, &name).await),
                false => None,
            }
        },
        async {
            match scope.records {
                true => Some(table::holds_records(db, &name).await),
                false => None,
            }
        },
        async {
            match scope.recent {
                Some(span) => Some(recent_jobs(db, &name, now - span, now).await),
                None => None,
            }
        },
    );
    // AWS said there is no such table: the whole table is absent.
    let said_absent = matches!(settings, Some(Ok(None)))
        || matches!(records, Some(Ok(None)))
        || matches!(&recent, Some(Err(e)) if e.is_not_found());
    if said_absent {
        return Some(Fact::Absent);
    }
    Some(Fact::Known(JobTable {
        name,
        settings: settings.map(Fact::from),
        holds_records: records.map(Fact::from),
        recent: recent.map(|r| match r {
            Ok(jobs) => Fact::Known(
                jobs.into_iter()
                    .filter(|j| !table::expired(j, now))
                    .collect(),
            ),
            Err(e) => Fact::Unknown(e.into()),
        }),
    }))
}

/// The jobs changed since `since`, newest first, from the index; the done ones without an
/// upload time (sent as messages) get their `queued_at` from their items, the most recent
/// [`SLOWEST_READS`] of them: how long a job took counts from there.
async fn recent_jobs(
    db: &crate::aws::JsonApi,
    table: &str,
    since: SystemTime,
    now: SystemTime,
) -> crate::aws::Result<Vec<Job>> {
    let mut jobs = table::changed_since(db, table, since, now).await?;
    let timeless = |j: &Job| j.state == "done" && j.uploaded_at.is_none();
    table::fill(db, table, &mut jobs, timeless, SLOWEST_READS).await?;
    Ok(jobs)
}

/// At most this many jobs' items are read for `status`'s slowest (ten calls): beyond, the
/// slowest is the slowest of the most recent ones.
const SLOWEST_READS: usize = 1_000;

/// Whether the response queue is to be read: the stack file declares it, or the deployed data
/// stack lists it.
pub(super) fn response_queue_wanted(env: &Environment, data: &StackSnapshot) -> bool {
    let later_stage = env.stage.as_ref().is_some_and(|s| s.index > 0);
    let declared = env.spec.jobs.is_some_and(|j| j.response_queue);
    !later_stage && (declared || matches!(data.locate(ids::RESPONSE_QUEUE), Located::Physical(_)))
}
