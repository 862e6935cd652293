//! What every environment of a run shares is told once: a credentials failure (missing,
//! expired or rejected AWS credentials) meets every AWS call of the run, since a run has one
//! credential chain, and would otherwise repeat its long advice on every line that names a
//! call. Every text qfleet prints passes through [`shorten_text`] (each mention becomes
//! `describing stack qfleet-lab-data: no credentials (see below)`), and the run ends with the
//! whole message once ([`finish`]: `error: no AWS credentials found. Set AWS_PROFILE …`). In
//! JSON the document's strings are shortened the same way ("see the document's error") and
//! the document's top-level `error` tells it ([`shorten_document`]).

use crate::text::credentials::{CREDENTIALS_WORDS, CredentialsWords};
use serde_json::{Value, json};
use std::sync::Mutex;

/// How a shortened mention points at the whole message in text: it is told at the run's end.
const SEE_BELOW: &str = "see below";
/// How a shortened mention points at the whole message in a JSON document.
const SEE_TOP: &str = "see the document's error";

/// The whole messages mentioned in text and not told yet, in the order first met.
static UNTOLD: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// `text` with every whole credentials message replaced by its short form and `pointer`,
/// and the whole messages it held (each once, in order).
fn shorten(text: &str, pointer: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut found: Vec<String> = Vec::new();
    let mut rest = text;
    loop {
        // The first whole message left in `rest`, of any of the words.
        let next = CREDENTIALS_WORDS
            .iter()
            .filter_map(|w| find(rest, w).map(|(start, end, detail)| (start, end, detail, w)))
            .min_by_key(|(start, ..)| *start);
        let Some((start, end, detail, words)) = next else {
            out.push_str(rest);
            return (out, found);
        };
        let whole = format!("{}{detail}{}", words.head, words.advice);
        if !found.contains(&whole) {
            found.push(whole);
        }
        out.push_str(&rest[..start]);
        let detail = detail.trim().trim_start_matches('(').trim_end_matches(')');
        if detail.is_empty() {
            out.push_str(&format!("{} ({pointer})", words.short));
        } else {
            out.push_str(&format!("{} ({detail}; {pointer})", words.short));
        }
        rest = &rest[end..];
    }
}

/// Where the first whole message of `words` is in `text`: its start, its end and the detail
/// between head and advice (on one line and at most [`MAX_DETAIL`] long, else it is not one of
/// ours).
fn find<'t>(text: &'t str, words: &CredentialsWords) -> Option<(usize, usize, &'t str)> {
    let mut from = 0;
    while let Some(at) = text[from..].find(words.head) {
        let start = from + at;
        let after = start + words.head.len();
        if let Some(gap) = text[after..].find(words.advice) {
            let detail = &text[after..after + gap];
            if detail.len() <= MAX_DETAIL && !detail.contains('\n') {
                return Some((start, after + gap + words.advice.len(), detail));
            }
        }
        from = after;
    }
    None
}

/// The longest detail between a message's head and advice: a source of the credential chain
/// and its own first words ([`crate::text::credentials::SOURCE_FAILED`]).
const MAX_DETAIL: usize = 400;

/// `text` to print: shortened, its whole messages kept to be told once by [`finish`].
pub(super) fn shorten_text(text: &str) -> String {
    // Every hint runs as printed (the same pass every text takes).
    let text = super::hint::apply(text);
    let (short, found) = shorten(&text, SEE_BELOW);
    if !found.is_empty() {
        let mut untold = UNTOLD.lock().unwrap_or_else(|e| e.into_inner());
        for f in found {
            if !untold.contains(&f) {
                untold.push(f);
            }
        }
    }
    short
}

/// A JSON document (or event) to print: every string shortened but the top-level `error` of a
/// run that ended as a whole (whose hints still get the run's flags). When the document's environments mentioned a whole message, it is
/// the document's `error` (kind `aws`) unless that already holds one.
pub(super) fn shorten_document(doc: &mut Value) {
    let mut found = Vec::new();
    match &mut *doc {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if key == "error" {
                    with_hints(value);
                } else {
                    shorten_value(value, &mut found);
                }
            }
        }
        other => shorten_value(other, &mut found),
    }
    if found.is_empty() {
        return;
    }
    if let Value::Object(map) = doc
        && map.get("error").is_some_and(Value::is_null)
        && map.contains_key("environments")
    {
        map.insert(
            "error".into(),
            json!({ "kind": "aws", "message": found.join("; "), "problems": [] }),
        );
    }
}

/// Every hint in `value` with the run's flags ([`super::hint::apply`]), nothing shortened.
fn with_hints(value: &mut Value) {
    match value {
        Value::String(s) => *s = super::hint::apply(s),
        Value::Array(items) => items.iter_mut().for_each(with_hints),
        Value::Object(map) => map.values_mut().for_each(with_hints),
        _ => {}
    }
}

fn shorten_value(value: &mut Value, found: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            *s = super::hint::apply(s);
            let (short, more) = shorten(s, SEE_TOP);
            if !more.is_empty() {
                *s = short;
                for m in more {
                    if !found.contains(&m) {
                        found.push(m);
                    }
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| shorten_value(v, found)),
        Value::Object(map) => map.values_mut().for_each(|v| shorten_value(v, found)),
        _ => {}
    }
}

/// `text` printed whole (the error that ended the run, printed last): its whole messages count
/// as told, so that [`finish`] does not tell them again.
pub(super) fn tell(text: &str) -> &str {
    let (_, found) = shorten(text, SEE_BELOW);
    if !found.is_empty() {
        UNTOLD
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|u| !found.contains(u));
    }
    text
}

/// The whole messages that text mentioned and did not tell yet, told once each on stderr
/// (`error: …`): called when the run ends, whatever its outcome.
pub(super) fn finish() {
    let untold = std::mem::take(&mut *UNTOLD.lock().unwrap_or_else(|e| e.into_inner()));
    for whole in untold {
        super::stderr_line_raw(&format!("error: {whole}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::credentials::{MISSING_CREDENTIALS, REJECTED_CREDENTIALS};

    #[test]
    fn every_mention_is_short_and_the_whole_message_is_returned_once() {
        let a = MISSING_CREDENTIALS.message("describing stack qfleet-a-data", "");
        let b = MISSING_CREDENTIALS.message("reading the alarms", "");
        let (short, found) = shorten(&format!("x: {a}\ny: {b}\n"), SEE_BELOW);
        assert_eq!(
            short,
            "x: describing stack qfleet-a-data: no credentials (see below)\ny: reading the alarms: no credentials (see below)\n"
        );
        assert_eq!(
            found,
            [
                "no AWS credentials found. Set AWS_PROFILE (or pass --profile), run `aws sso login`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ]
        );
    }

    #[test]
    fn a_rejected_credentials_message_keeps_its_code_in_the_short_form() {
        let m = REJECTED_CREDENTIALS.message("listing stacks", " (InvalidClientTokenId)");
        let (short, found) = shorten(&m, SEE_TOP);
        assert_eq!(
            short,
            "listing stacks: credentials rejected (InvalidClientTokenId; see the document's error)"
        );
        assert_eq!(
            found,
            [
                "AWS rejected the credentials (InvalidClientTokenId). Check AWS_PROFILE / --profile and the access keys"
            ]
        );
    }

    #[test]
    fn text_without_a_credentials_message_is_left_alone() {
        for t in [
            "",
            "no AWS credentials found",
            "stack qfleet-lab-data: access denied",
        ] {
            assert_eq!(shorten(t, SEE_BELOW), (t.to_string(), vec![]));
        }
    }

    #[test]
    fn a_document_tells_the_shared_cause_once_at_the_top() {
        let m = MISSING_CREDENTIALS.message("describing stack qfleet-a-data", "");
        let mut doc = json!({
            "command": "status", "ok": false, "exit_code": 1, "error": null,
            "environments": [
                {"environment": "a", "error": {"kind": "aws", "message": m, "problems": []},
                 "unavailable": {"queue": m}},
                {"environment": "b", "error": {"kind": "aws", "message": m, "problems": []}}
            ]
        });
        shorten_document(&mut doc);
        let text = doc.to_string();
        assert_eq!(
            text.matches("no AWS credentials found").count(),
            1,
            "{text}"
        );
        assert_eq!(
            doc["error"]["message"],
            "no AWS credentials found. Set AWS_PROFILE (or pass --profile), run `aws sso login`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        );
        assert_eq!(
            doc["environments"][1]["error"]["message"],
            "describing stack qfleet-a-data: no credentials (see the document's error)"
        );
    }

    #[test]
    fn a_run_that_ended_as_a_whole_keeps_its_error_whole() {
        let m = MISSING_CREDENTIALS.message("describing stack qfleet-a-data", "");
        let mut doc = json!({"command": "outputs", "ok": false, "exit_code": 1, "environments": [],
            "error": {"kind": "aws", "message": m, "problems": []}});
        let before = doc.clone();
        shorten_document(&mut doc);
        assert_eq!(doc, before);
    }
}
