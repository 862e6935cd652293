//! The one JSON contract: with `--output json` every command prints exactly one document,
//! whose top-level keys do not depend on how many environments were named:
//!
//! ```json
//! {"command": "status", "ok": true, "exit_code": 0, "error": null,
//!  "environments": [{"environment": "lab", "ok": true, "exit_code": 0, "error": null, ...}]}
//! ```
//!
//! `ok` is `exit_code == 0`, at the top and in each environment. `error` is `null` or one
//! shape for every command ([`crate::error::ErrorReport`]): at the top for what ended the whole run (an
//! invalid stack file, a bad flag, Ctrl-C; `environments` is then empty and the command's own
//! keys are left out), in an environment for what ended that environment. A command adds its
//! own top-level keys (`changes_pending`, `drifted`, …) beside these, always the same ones.
//! The types are [`super::report::Document`] and [`super::report::Environment`]; the schemas are
//! in `schemas/output/`.

use super::report::Document;
use crate::error::{Error, Exit};
use serde_json::{Value, json};

/// The document of a run that ended as a whole: no environment, the error at the top.
pub(crate) fn failure(command: &'static str, err: &Error) -> Value {
    let mut doc: Document<(), ()> = Document::new(err.exit_code(), Vec::new());
    doc.command = command;
    doc.error = Some(err.report());
    serde_json::to_value(&doc)
        .unwrap_or_else(|e| json!({ "command": command, "error": e.to_string() }))
}

/// The exit code of a run of several environments (or of a pipeline's stages), the one rule
/// every command follows: a failure is never hidden behind differences.
///
/// - any failure wins: 1 (AWS), 2 (input), 4 (refused), 5 (a tool failed), 129, 130 or 143
///   (interrupted), and of several the highest code (143, 130, 129, then 5, 4, 2, 1);
/// - else 3 (differences: drift, pending changes under `--detailed-exitcode`, a missed goal)
///   when at least one environment has them;
/// - else 0.
pub(crate) fn combined_exit_code(codes: impl IntoIterator<Item = Exit>) -> Exit {
    let mut differences = false;
    let mut failure: Option<Exit> = None;
    for c in codes {
        match c {
            Exit::Ok => {}
            Exit::Differences => differences = true,
            c => failure = Some(failure.map_or(c, |f| f.max(c))),
        }
    }
    match failure {
        Some(f) => f,
        None if differences => Exit::Differences,
        None => Exit::Ok,
    }
}

/// One environment's exit code: its own when it failed, else 3 when it has differences the
/// command reports by its exit code (pending changes under `--detailed-exitcode`), else 0.
pub(crate) fn environment_exit_code(own: Exit, differences: bool) -> Exit {
    if own == Exit::Ok && differences {
        Exit::Differences
    } else {
        own
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_carries_the_located_problems() {
        let err = Error::from(crate::error::Usage::Arguments("bad flag".into()));
        let v = failure("plan", &err);
        assert_eq!(v["error"]["kind"], "usage");
        assert_eq!(v["exit_code"], 2);
        assert_eq!(v["environments"], json!([]));
        assert_eq!(v["error"]["problems"], json!([]));
        assert_eq!(v["command"], "plan");
        assert_eq!(v["ok"], false);
        let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["command", "environments", "error", "exit_code", "ok"]
        );
    }

    /// The exit a shell's code stands for.
    fn exit(code: i32) -> Exit {
        Exit::ALL.into_iter().find(|e| *e == code).unwrap()
    }

    #[test]
    fn a_failure_is_never_hidden_behind_differences() {
        // Every pair of codes, and the run's code: failures first (the highest), then 3, then 0.
        let cases = [
            ([0, 0], 0),
            ([0, 3], 3),
            ([3, 3], 3),
            ([3, 1], 1),
            ([1, 3], 1),
            ([3, 2], 2),
            ([2, 3], 2),
            ([3, 4], 4),
            ([3, 130], 130),
            ([1, 2], 2),
            ([2, 1], 2),
            ([1, 4], 4),
            ([4, 2], 4),
            ([4, 130], 130),
            ([130, 1], 130),
            ([0, 1], 1),
            ([5, 4], 5),
            ([2, 5], 5),
            ([3, 5], 5),
            ([5, 143], 143),
            ([4, 129], 129),
        ];
        for (codes, want) in cases {
            assert_eq!(combined_exit_code(codes.map(exit)), want, "{codes:?}");
        }
        assert_eq!(combined_exit_code([0, 3, 0, 2, 3].map(exit)), 2);
        assert_eq!(combined_exit_code([0, 3, 0].map(exit)), 3);
        assert_eq!(combined_exit_code([]), 0);
    }

    #[test]
    fn an_environment_with_differences_exits_3_only_when_it_did_not_fail() {
        assert_eq!(environment_exit_code(exit(0), true), 3);
        assert_eq!(environment_exit_code(exit(0), false), 0);
        assert_eq!(environment_exit_code(exit(1), true), 1);
        assert_eq!(environment_exit_code(exit(2), false), 2);
    }
}
