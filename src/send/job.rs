//! `send` through the job table (`jobs:`): the record the workers keep of the send's upload,
//! read by its key and version after every look; its history says which stage finished when,
//! and a job failed ends the send at once with its error. The record is the send's own: once
//! the send has followed it to its end it is deleted with the test object (`--keep` leaves it).

use super::Step;
use crate::aws::Clients;
use crate::config::Environment;
use crate::jobs::table::Job;

/// The send's job, when the environment keeps a job table and the upload has a version.
pub(super) struct Follow {
    pub(super) table: String,
    key: String,
    upload: String,
}

impl Follow {
    /// The send's job, when `env` keeps a job table (its name read from the data stack, named
    /// `data_stack` there) and the upload has a version.
    pub(super) async fn of(
        clients: &Clients,
        env: &Environment,
        data_stack: &str,
        key: &str,
        version: Option<&str>,
    ) -> crate::error::Result<Option<Follow>> {
        let Some(upload) = version else {
            return Ok(None);
        };
        if crate::jobs::has_table(env).is_err() {
            return Ok(None);
        }
        Ok(Some(Follow {
            table: crate::jobs::table_name(clients, env, data_stack).await?,
            key: key.to_string(),
            upload: upload.to_string(),
        }))
    }

    /// The record as it stands (`None`: no worker has written it yet).
    pub(super) async fn read(&self, clients: &Clients) -> crate::aws::Result<Option<Job>> {
        crate::jobs::table::job(&clients.dynamodb, &self.table, &self.key, &self.upload).await
    }

    /// Deletes the record (the send's own), on the condition that it is still this upload's.
    pub(super) async fn remove(&self, clients: &Clients) -> Result<String, String> {
        crate::jobs::table::delete(&clients.dynamodb, &self.table, &self.key, &self.upload)
            .await
            .map(|()| format!("its job's record in {}", self.table))
            .map_err(|e| e.to_string())
    }
}

/// Whether the job's history says `stage` (`None`: the one stage) is done.
pub(super) fn stage_done(job: &Job, stage: Option<&str>) -> bool {
    job.history
        .iter()
        .any(|c| c.state == "done" && c.stage.as_deref().filter(|s| !s.is_empty()) == stage)
}

/// The step the job's record adds: where it stands.
pub(super) fn step(job: &Job, after_ms: u128) -> Step {
    let mut how = format!("job {}: {}", job.upload, job.state);
    if let Some(e) = &job.error {
        how.push_str(&format!(" ({e})"));
    }
    Step {
        step: "job",
        stage: None,
        after_ms: Some(after_ms),
        how,
    }
}
