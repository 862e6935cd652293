//! What each environment's run has done, is doing and has left, so that an interrupted
//! multi-environment run can say where it left each one.

use crate::error::Stopped;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
struct Entry {
    done: Vec<String>,
    /// The step under way; CloudFormation carries on with it after qfleet stops.
    doing: Option<String>,
    left: Vec<String>,
    /// The account the run found the environment in (the credentials' account, or its
    /// stacks' ARN).
    account: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Ledger(Arc<Mutex<BTreeMap<String, Entry>>>);

impl Ledger {
    fn with(&self, env: &str, f: impl FnOnce(&mut Entry)) {
        if let Ok(mut m) = self.0.lock() {
            f(m.entry(env.to_string()).or_default());
        }
    }

    /// The steps an environment's run is about to take.
    pub(crate) fn plan(&self, env: &str, steps: Vec<String>) {
        self.with(env, |e| e.left = steps);
    }

    /// The account the run found `env` in: the credentials' account of the run that changes
    /// it, or the account its stacks' ARNs name.
    pub(crate) fn account(&self, env: &str, account: &str) {
        self.with(env, |e| e.account = Some(account.to_string()));
    }

    /// A step starts (and leaves the plan).
    pub(crate) fn start(&self, env: &str, step: &str) {
        self.with(env, |e| {
            e.left.retain(|s| s != step);
            e.doing = Some(step.to_string());
        });
    }

    /// The step ended (or turned out to need nothing) as `what`.
    pub(crate) fn finish(&self, env: &str, step: &str, what: String) {
        self.with(env, |e| {
            e.left.retain(|s| s != step);
            if e.doing.as_deref() == Some(step) {
                e.doing = None;
            }
            e.done.push(what);
        });
    }

    fn entry(&self, env: &str) -> Entry {
        self.0
            .lock()
            .ok()
            .and_then(|m| m.get(env).cloned())
            .unwrap_or_default()
    }

    /// Where the run left environment `env` (in `region`, `account`: the one its file names,
    /// else the one the run found it in): what is done, under way and not started; the caller
    /// adds what is left behind.
    pub(crate) fn stopped(&self, env: &str, region: &str, account: Option<&str>) -> Stopped {
        let e = self.entry(env);
        Stopped {
            environment: env.to_string(),
            region: region.to_string(),
            account: account.map(str::to_string).or(e.account),
            done: e.done,
            under_way: e.doing.into_iter().collect(),
            not_started: e.left,
            left_behind: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_the_run_stopped_says_what_is_done_under_way_and_left_per_environment() {
        let l = Ledger::default();
        l.plan(
            "a",
            vec![
                "delete qfleet-a-fleet".into(),
                "delete qfleet-a-data".into(),
            ],
        );
        l.start("a", "delete qfleet-a-fleet");
        l.finish(
            "a",
            "delete qfleet-a-fleet",
            "deleted qfleet-a-fleet".into(),
        );
        l.start("a", "delete qfleet-a-data");
        let a = l.stopped("a", "eu-west-1", Some("123456789012"));
        assert_eq!(a.done, ["deleted qfleet-a-fleet"]);
        assert_eq!(a.under_way, ["delete qfleet-a-data"]);
        assert!(a.not_started.is_empty());
        assert_eq!(
            (a.region.as_str(), a.account.as_deref()),
            ("eu-west-1", Some("123456789012"))
        );
        let b = l.stopped("b", "us-east-1", None);
        assert_eq!(b.environment, "b");
        assert!(b.done.is_empty() && b.under_way.is_empty() && b.not_started.is_empty());
        assert_eq!(b.account, None, "unknown: null, never a guess");
        // The account the run found it in, where its file names none.
        l.account("b", "210987654321");
        let b = l.stopped("b", "us-east-1", None);
        assert_eq!(b.account.as_deref(), Some("210987654321"));
        // The file's, where it names one (the run acts only there: the account guard).
        let b = l.stopped("b", "us-east-1", Some("123456789012"));
        assert_eq!(b.account.as_deref(), Some("123456789012"));
    }
}
