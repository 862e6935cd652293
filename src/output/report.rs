//! A command's result as the user gets it. Each feature returns a typed result implementing
//! [`Report`]: a [`Document`] for `--output json` (the last line of `--output ndjson`) and a
//! text rendering for people; [`Output::print`](super::Output::print) chooses between them once,
//! so that no command decides how to print.

use super::Output;
use crate::error::{ErrorReport, Result};
use serde::Serialize;

/// What a command produced, printed by [`Output::print`](super::Output::print).
pub(crate) trait Report {
    /// The run's exit code ([`super::envelope::combined_exit_code`] of its environments').
    fn exit_code(&self) -> crate::error::Exit;
    /// The JSON document: the environments and the command's own top-level keys. Its
    /// `command` is filled in by the output, which knows which command runs.
    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_>;
    /// The text: the result on stdout, notes and errors on stderr ([`Output::line`],
    /// [`Output::note`]). It may end the run with an error (a `--shell` with nothing to print).
    fn text(&self, out: &Output) -> Result<()>;
    /// Notes on stderr that go with the result in every format (warnings a pipeline's log
    /// should show whether it reads text or JSON); none by default.
    fn notes(&self, _out: &Output) {}
}

/// The one JSON document of a command that ran (see [`super::envelope`]): generic over the
/// environments' bodies (`E`) and the command's own top-level keys (`O`, an object or `()`).
#[derive(Debug, Serialize)]
pub(crate) struct Document<E, O> {
    /// The command's own top-level keys (`drifted`, `changes_pending`, …), beside the shared
    /// ones below.
    #[serde(flatten)]
    own: O,
    pub(super) command: &'static str,
    ok: bool,
    exit_code: crate::error::Exit,
    environments: Vec<E>,
    /// `null` for a run whose environments ran (a cause they all share is moved here when the
    /// document is printed: [`super::once::shorten_document`]).
    pub(super) error: Option<ErrorReport>,
}

impl<E: Serialize> Document<E, ()> {
    /// A document with no top-level keys of the command's own.
    pub(crate) fn new(exit_code: crate::error::Exit, environments: Vec<E>) -> Self {
        Document::with_own(exit_code, environments, ())
    }
}

impl<E: Serialize, O: Serialize> Document<E, O> {
    /// The document with the run's error: a cause of its exit code that is no one
    /// environment's (a search that could not be made).
    pub(crate) fn with_error(mut self, error: Option<ErrorReport>) -> Self {
        if error.is_some() {
            self.error = error;
        }
        self
    }

    /// A document with the command's own top-level keys `own` (a struct or map).
    pub(crate) fn with_own(exit_code: crate::error::Exit, environments: Vec<E>, own: O) -> Self {
        Document {
            own,
            command: "",
            ok: exit_code == crate::error::Exit::Ok,
            exit_code,
            environments,
            error: None,
        }
    }
}

/// One environment's object: the feature's body (a struct or map) with the keys every
/// environment has. The shared keys come last, so that they replace any of the body's of
/// the same name.
#[derive(Debug, Serialize)]
pub(crate) struct Environment<B> {
    #[serde(flatten)]
    body: B,
    environment: String,
    ok: bool,
    exit_code: crate::error::Exit,
    error: Option<ErrorReport>,
}

impl<B: Serialize> Environment<B> {
    pub(crate) fn new(
        name: &str,
        exit_code: crate::error::Exit,
        error: Option<ErrorReport>,
        body: B,
    ) -> Self {
        Environment {
            body,
            environment: name.to_string(),
            ok: exit_code == crate::error::Exit::Ok,
            exit_code,
            error,
        }
    }

    /// An environment that succeeded.
    pub(crate) fn ok(name: &str, body: B) -> Self {
        Environment::new(name, crate::error::Exit::Ok, None, body)
    }

    /// An environment that failed with `err`, its body `body` (the command's keys, null).
    pub(crate) fn failed(name: &str, err: &crate::error::Error, body: B) -> Self {
        Environment::new(name, err.exit_code(), Some(err.report()), body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_shared_keys_replace_a_bodys_and_ok_follows_the_exit_code() {
        let e = Environment::new(
            "lab",
            crate::error::Exit::Differences,
            None,
            json!({ "drifted": true, "error": "old string" }),
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["environment"], "lab");
        assert_eq!(v["ok"], false);
        assert_eq!(v["exit_code"], 3);
        assert!(v["error"].is_null());
        assert_eq!(v["drifted"], true);
    }

    #[test]
    fn a_document_has_the_shared_keys_and_its_own() {
        #[derive(Serialize)]
        struct Own {
            drifted: bool,
        }
        let d = Document::with_own(
            crate::error::Exit::Ok,
            vec![Environment::ok("lab", ())],
            Own { drifted: false },
        );
        let v = serde_json::to_value(&d).unwrap();
        let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "command",
                "drifted",
                "environments",
                "error",
                "exit_code",
                "ok"
            ]
        );
        assert_eq!(v["environments"][0]["environment"], "lab");
        assert_eq!(v["ok"], true);
    }
}
