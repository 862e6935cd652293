//! What each stack-file setting accepts: the help shown under an error about it. The texts are
//! the keys' own, declared with the types of `schema.rs`; this module finds a setting's key by
//! its dotted path and fills in the names and words the text refers to (`{keys}`,
//! `{keys and}`, `{settings}`, `{choices}`).

use super::keys::{self, Key, Kind, STACK_FILE};
use super::schema::{StackFile, StageSpec};

/// What each setting accepts, shown under its errors.
pub fn allowed(field: &str) -> Option<String> {
    // A stage's settings (`stages.1.workers.min`) allow what the top-level ones do.
    for stages in STACK_FILE
        .iter()
        .filter(|k| k.kind.list_of() == Some(StageSpec::KEYS))
    {
        let Some(rest) = field
            .strip_prefix(stages.name)
            .and_then(|rest| rest.strip_prefix('.'))
        else {
            continue;
        };
        let (index, setting) = rest.split_once('.').unwrap_or((rest, ""));
        if index.parse::<usize>().is_ok() || index == "*" {
            if setting.is_empty() {
                return stages.each.map(|text| fill(text, stages));
            }
            return match keys::find(StageSpec::KEYS, setting) {
                Some(
                    key @ Key {
                        help: Some(text), ..
                    },
                ) => Some(fill(text, key)),
                _ => allowed(setting),
            };
        }
        // `stages.name` names no stage (no index): nothing to say.
        return None;
    }
    if field.is_empty() {
        return Some(StackFile::HELP.to_string());
    }
    lookup(STACK_FILE, field)
}

/// The help of the setting at the dotted `path` below the mapping `table`.
fn lookup(table: &'static [Key], path: &str) -> Option<String> {
    let (name, rest) = match path.split_once('.') {
        Some((name, rest)) => (name, Some(rest)),
        None => (path, None),
    };
    let key = keys::find(table, name)?;
    let Some(rest) = rest else {
        return key.help.map(|text| fill(text, key));
    };
    match key.kind {
        // Tags, variables and subnets are keyed by the user's own names.
        Kind::Names | Kind::Optional(&Kind::Names) | Kind::Counts => {
            key.each.map(|text| fill(text, key))
        }
        Kind::Network => lookup(keys::EXPLICIT_NETWORK, rest),
        Kind::Image | Kind::Optional(&Kind::Image) => lookup(keys::IMAGE_FROM_SOURCE, rest),
        Kind::Settings(inner) | Kind::Optional(&Kind::Settings(inner)) => lookup(inner, rest),
        _ => match key.kind.list_of() {
            Some(item) => in_list(key, item, rest),
            None => None,
        },
    }
}

/// The help of `rest` below a list of settings (`workers.statements.0.Action` in an error,
/// `workers.statements.Action` in the schema): that of the item's key its last part names, or
/// the item's own.
fn in_list(list: &'static Key, item: &'static [Key], rest: &str) -> Option<String> {
    let last = rest.rsplit('.').next().unwrap_or_default();
    // IAM's negated elements are refused with the help of the ones they negate.
    let name = match last {
        "NotAction" => "Action",
        "NotResource" => "Resource",
        other => other,
    };
    match keys::find(item, name) {
        Some(key) => key.help.map(|text| fill(text, key)),
        None => list.each.map(|text| fill(text, list)),
    }
}

/// `text` with the names and words it refers to filled in from `key`.
fn fill(text: &str, key: &Key) -> String {
    let table = key.kind.table().unwrap_or_default();
    let mut out = text.to_string();
    if out.contains("{keys}") {
        out = out.replace("{keys}", &keys::names(table).join(", "));
    }
    if out.contains("{keys and}") {
        out = out.replace("{keys and}", &and(&keys::names(table)));
    }
    if out.contains("{settings}") {
        let settings: Vec<String> = table
            .iter()
            .map(|k| {
                if k.required {
                    format!("{} (required)", k.name)
                } else {
                    k.name.to_string()
                }
            })
            .collect();
        out = out.replace("{settings}", &settings.join(", "));
    }
    if out.contains("{choices}") {
        let words: Vec<String> = key
            .choices
            .iter()
            .map(|c| match c.help {
                Some(help) => format!("{} ({help})", c.word),
                None => c.word.to_string(),
            })
            .collect();
        out = out.replace("{choices}", &listed(&words, "or"));
    }
    out
}

/// `a, b and c`.
fn and(names: &[&str]) -> String {
    listed(names, "and")
}

/// `a, b` and the last one after `word`.
fn listed<T: AsRef<str>>(items: &[T], word: &str) -> String {
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            let rest: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} {word} {}", rest.join(", "), last.as_ref())
        }
        Some((last, _)) => last.as_ref().to_string(),
        None => String::new(),
    }
}
