//! What each environment's run has done, is doing and has left, so that an interrupted
//! multi-environment run can say where it left each one.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
struct Entry {
    done: Vec<String>,
    /// The step under way; CloudFormation carries on with it after qfleet stops.
    doing: Option<String>,
    left: Vec<String>,
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

    /// One line per environment: what is done, under way and left.
    pub(crate) fn report(&self, envs: &[String]) -> Vec<String> {
        envs.iter()
            .map(|env| {
                let e = self.entry(env);
                let mut parts = Vec::new();
                parts.push(if e.done.is_empty() {
                    "nothing done".to_string()
                } else {
                    format!("done: {}", e.done.join(", "))
                });
                if let Some(d) = &e.doing {
                    parts.push(format!("under way: {d} (CloudFormation carries on; run the command again to follow it)"));
                }
                if !e.left.is_empty() {
                    parts.push(format!("not started: {}", e.left.join(", ")));
                }
                format!("{env}: {}", parts.join("; "))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_says_what_is_done_under_way_and_left_per_environment() {
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
        let r = l.report(&["a".into(), "b".into()]);
        assert_eq!(
            r[0],
            "a: done: deleted qfleet-a-fleet; under way: delete qfleet-a-data (CloudFormation carries on; run the command again to follow it)"
        );
        assert_eq!(r[1], "b: nothing done");
    }
}
