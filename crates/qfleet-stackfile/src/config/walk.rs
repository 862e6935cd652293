//! The first pass over a parsed stack file: every unknown key and every value of the wrong
//! kind, all at once, in the file's order, in words (never a Rust type name).

use super::keys::{self, EXPLICIT_NETWORK, IMAGE_FROM_SOURCE, Key, Kind, STACK_FILE};
use super::positions::{Locations, join};
use serde_yaml_ng::{Mapping, Value};

/// One problem found by the walk.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Problem {
    /// Dotted path of the setting (`workers.mni`).
    pub(super) field: String,
    /// Point at the key (an unknown key) rather than the value.
    pub(super) at_key: bool,
    pub(super) message: String,
    /// Help that replaces the setting's own (the keys allowed where an unknown key stands).
    pub(super) help: Option<String>,
}

/// Every unknown key, missing key and value of the wrong kind in `doc`, whose text
/// `locations` indexes (it tells an empty value from `~`, which serde_yaml reads apart).
pub(super) fn walk(doc: &Value, locations: &Locations) -> Vec<Problem> {
    let mut w = Walker {
        problems: Vec::new(),
        locations,
    };
    match untag(doc) {
        Value::Mapping(m) => w.settings("", m, STACK_FILE),
        other => w.wrong("", "a mapping of settings (region: eu-west-1, …)", other),
    }
    w.problems
}

struct Walker<'a> {
    problems: Vec<Problem>,
    locations: &'a Locations,
}

impl Walker<'_> {
    fn push(&mut self, field: String, at_key: bool, message: String, help: Option<String>) {
        self.problems.push(Problem {
            field,
            at_key,
            message,
            help,
        });
    }

    fn settings(&mut self, path: &str, map: &Mapping, table: &'static [Key]) {
        // A required key that an unknown key is a typo of is not reported missing as well.
        let mut suggested = Vec::new();
        for (k, v) in map {
            let name = key_text(k);
            match table.iter().find(|key| key.name == name) {
                Some(key) => self.value(&join(path, &name), v, key.kind),
                None => suggested.extend(self.unknown(path, &name, table)),
            }
        }
        for key in table.iter().filter(|k| k.required) {
            if !map.contains_key(key.name) && !suggested.contains(&key.name) {
                let at = if path.is_empty() {
                    String::new()
                } else {
                    format!(" in {path}")
                };
                self.push(
                    join(path, key.name),
                    false,
                    format!("missing field `{}`{at}", key.name),
                    None,
                );
            }
        }
    }

    /// Reports an unknown key; returns the key it is probably a typo of.
    fn unknown(&mut self, path: &str, name: &str, table: &'static [Key]) -> Option<&'static str> {
        let mut message = format!("unknown field `{name}`");
        let near = suggest(name, &keys::names(table));
        if let Some(near) = near {
            message.push_str(&format!("; did you mean `{near}`?"));
        } else if let Some(elsewhere) = elsewhere(path, name) {
            let (parent, key) = elsewhere.rsplit_once('.').unwrap_or(("", &elsewhere));
            // The file's own setting under a mapping that cannot set it (a target's `queue`,
            // its `workers.user_data`): no indentation would make it one.
            if !path.is_empty() && (parent.is_empty() || path.ends_with(&format!(".{parent}"))) {
                message.push_str(&format!(
                    "; `{elsewhere}` is a setting of the whole file, which {path} cannot set"
                ));
            } else {
                message.push_str(&format!(
                    "; did you mean `{elsewhere}` ({key} indented under {parent}:)?"
                ));
            }
        }
        let place = if path.is_empty() {
            "top-level settings".to_string()
        } else {
            format!("settings of {path}")
        };
        let help = format!("the {place}: {}", keys::names(table).join(", "));
        self.push(join(path, name), true, message, Some(help));
        near
    }

    fn value(&mut self, field: &str, v: &Value, kind: Kind) {
        let v = untag(v);
        match kind {
            Kind::Optional(inner) => {
                if !v.is_null() {
                    self.value(field, v, *inner);
                }
            }
            // An empty value means the defaults; `~` is not a mapping.
            Kind::Settings(_) | Kind::Names | Kind::Counts
                if v.is_null() && self.locations.explicit_null(field) =>
            {
                let message = format!(
                    "expected {}, found `~`; leave the value empty (or remove the key) for the defaults",
                    expected(kind)
                );
                self.push(field.to_string(), false, message, None);
            }
            Kind::Settings(table) => match v {
                Value::Null => {}
                Value::Mapping(m) => self.settings(field, m, table),
                // `seconds_per_message 2` on the next line: a key without its `:`.
                Value::String(s)
                    if s.split_once(' ')
                        .is_some_and(|(k, _)| table.iter().any(|key| key.name == k)) =>
                {
                    let (k, rest) = s.split_once(' ').unwrap_or_default();
                    let message = format!(
                        "expected a mapping of settings, found `{s}`; did you mean `{k}: {rest}` (a `:` after the key)?"
                    );
                    self.push(field.to_string(), false, message, None);
                }
                other => self.wrong(field, &expected(kind), other),
            },
            Kind::Names => match v {
                Value::Null => {}
                Value::Mapping(m) => {
                    for (k, item) in m {
                        let item = untag(item);
                        if !is_scalar(untag(k)) {
                            let message = format!("expected a name, found {}", describe(k));
                            self.push(field.to_string(), false, message, None);
                        } else if !is_scalar(item) {
                            self.wrong(&join(field, &key_text(k)), "a text value", item);
                        }
                    }
                }
                other => self.wrong(field, &expected(kind), other),
            },
            Kind::Counts => match v {
                Value::Null => {}
                Value::Mapping(m) => {
                    for (k, item) in m {
                        if is_scalar(untag(k)) {
                            self.value(&join(field, &key_text(k)), item, Kind::UInt);
                        } else {
                            let message = format!("expected a name, found {}", describe(k));
                            self.push(field.to_string(), false, message, None);
                        }
                    }
                }
                other => self.wrong(field, &expected(kind), other),
            },
            Kind::Network => match v {
                Value::String(s) if s == "default" => {}
                Value::Mapping(m) => self.settings(field, m, EXPLICIT_NETWORK),
                other => self.wrong(field, &expected(kind), other),
            },
            Kind::Image => match v {
                Value::String(_) => {}
                Value::Mapping(m) => self.settings(field, m, IMAGE_FROM_SOURCE),
                other => self.wrong(field, &expected(kind), other),
            },
            Kind::List(Kind::Settings(table)) => match v {
                Value::Sequence(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let at = join(field, &i.to_string());
                        match untag(item) {
                            Value::Mapping(m) => self.settings(&at, m, table),
                            other => self.wrong(&at, "a mapping of settings", other),
                        }
                    }
                }
                other => self.wrong(field, &expected(kind), other),
            },
            Kind::Any => {}
            Kind::TextOrList => match v {
                Value::Sequence(_) => self.value(field, v, Kind::List(&Kind::Text)),
                Value::Mapping(_) => self.wrong(field, &expected(kind), v),
                _ => self.value(field, v, Kind::Text),
            },
            Kind::List(inner) => match v {
                Value::Sequence(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(why) = scalar_problem(*inner, untag(item), None) {
                            let message = format!("item {}: {why}", i + 1);
                            self.push(field.to_string(), false, message, None);
                        }
                    }
                }
                other => self.wrong(field, &expected(kind), other),
            },
            _ => {
                if let Some(why) = scalar_problem(kind, v, self.locations.plain_text(field)) {
                    self.push(field.to_string(), false, why, None);
                }
            }
        }
    }

    fn wrong(&mut self, field: &str, expected: &str, found: &Value) {
        let message = format!("expected {expected}, found {}", describe(found));
        self.push(field.to_string(), false, message, None);
    }
}

/// Why `v` is not a value of the scalar `kind`, or `None` when it is one. `plain` is the text
/// of an unquoted value: serde_yaml reads it by its own rules (`007` is 7 where a number goes,
/// `0x10` a whole number but not a number), so it is read here the same way.
fn scalar_problem(kind: Kind, v: &Value, plain: Option<&str>) -> Option<String> {
    let ok = match plain {
        Some(text) if !matches!(v, Value::Tagged(_)) => reads_as(kind, text),
        _ => match (kind, v) {
            // Quoted, or not indexed: the parsed value decides.
            (Kind::Bool, Value::Bool(_)) => true,
            (Kind::Int, Value::Number(n)) => n.as_i64().is_some(),
            (Kind::UInt, Value::Number(n)) => n.as_u64().is_some_and(|n| n <= u64::from(u32::MAX)),
            (Kind::Float, Value::Number(_)) => true,
            (Kind::Duration, Value::Number(n)) => n.as_u64().is_some(),
            (Kind::Duration, Value::String(s)) => super::duration::parse(s).is_some(),
            (Kind::Text, v) => is_scalar(v),
            (Kind::Choice(words), Value::String(s)) => words.contains(&s.as_str()),
            _ => false,
        },
    };
    if ok {
        return None;
    }
    let mut message = format!("expected {}, found {}", expected(kind), describe(v));
    match (kind, v) {
        (Kind::UInt, Value::Number(n)) if n.as_i64().is_some_and(|n| n < 0) => {
            message = format!("expected a whole number of 0 or more, found `{n}`");
        }
        (Kind::UInt, Value::Number(n)) if n.as_u64().is_some() => {
            message = format!("`{n}` is too large (at most {})", u32::MAX);
        }
        (Kind::Duration, Value::Number(n)) if n.as_i64().is_some_and(|n| n < 0) => {
            message = format!("expected a duration of 0s or more, found `{n}`");
        }
        (Kind::Float, Value::Number(_)) => {
            let text = plain.unwrap_or_default();
            message = format!("expected a number, found `{text}`; write it in decimal");
        }
        (Kind::Bool | Kind::Int | Kind::UInt | Kind::Float, Value::String(s))
            if plain.is_none() && reads_as(kind, s) =>
        {
            message.push_str("; write it without quotes");
        }
        _ => {}
    }
    Some(message)
}

/// Whether serde_yaml reads the unquoted `text` as a value of the scalar `kind`.
fn reads_as(kind: Kind, text: &str) -> bool {
    use serde_yaml_ng::from_str;
    match kind {
        Kind::Bool => from_str::<bool>(text).is_ok(),
        Kind::Int => from_str::<i64>(text).is_ok(),
        Kind::UInt => from_str::<u32>(text).is_ok(),
        Kind::Float => from_str::<f64>(text).is_ok(),
        Kind::Duration => from_str::<super::duration::Seconds>(text).is_ok(),
        Kind::Text => true,
        Kind::Choice(words) => words.contains(&text),
        _ => false,
    }
}

/// The kind of value a key takes, in words.
fn expected(kind: Kind) -> String {
    match kind {
        Kind::Bool => "true or false".into(),
        Kind::Int | Kind::UInt => "a whole number".into(),
        Kind::Float => "a number".into(),
        Kind::Duration => "a duration such as 90 (seconds), 90s, 5m, 2h or 4d".into(),
        Kind::Text => "a text value".into(),
        Kind::Choice(words) => match words.split_last() {
            Some((last, [])) => (*last).to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => "nothing".into(),
        },
        Kind::Optional(inner) => expected(*inner),
        Kind::Settings(_) => "a mapping of settings".into(),
        Kind::Names => "a mapping of names to values".into(),
        Kind::Counts => "a mapping of names to whole numbers".into(),
        Kind::Network => "`default` or a mapping with vpc and subnets".into(),
        Kind::Image => "an image reference or a mapping with build".into(),
        Kind::List(inner) => format!("a list, each item {}", expected(*inner)),
        Kind::Any => "a value".into(),
        Kind::TextOrList => "a text value or a list of them".into(),
    }
}

/// A value as the user wrote it, for "found …".
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing (the value is empty)".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("`{n}`"),
        Value::String(s) => {
            let first = s.lines().next().unwrap_or_default();
            let mut shown: String = first.chars().take(60).collect();
            if shown.len() < s.len() {
                shown.push('…');
            }
            match serde_yaml_ng::from_str::<Value>(s) {
                Ok(Value::String(_)) | Err(_) => format!("`{shown}`"),
                Ok(_) => format!("the quoted text \"{shown}\""),
            }
        }
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(t) => format!("a value tagged {}", t.tag),
    }
}

fn is_scalar(v: &Value) -> bool {
    matches!(
        v,
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_)
    )
}

/// A value without its `!tag` (the types read through core tags such as `!!int`).
fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        other => other,
    }
}

/// A mapping key as serde reads a field name: the text of a scalar.
fn key_text(k: &Value) -> String {
    match untag(k) {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => "~".into(),
        Value::Sequence(_) => "[…]".into(),
        Value::Mapping(_) => "{…}".into(),
        Value::Tagged(_) => "!…".into(),
    }
}

/// `instance-type`, `Instance_Type` → `instance_type`.
fn normalize(name: &str) -> String {
    name.trim().to_lowercase().replace(['-', ' '], "_")
}

/// The allowed key closest to `name`, when one is close: the same after normalizing, a typo
/// or two (Damerau–Levenshtein, about one edit per three letters), or `name` is its beginning.
fn suggest<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let n = normalize(name);
    if n.is_empty() {
        return None;
    }
    let mut best: Option<(usize, &str)> = None;
    for &k in allowed {
        let d = strsim::damerau_levenshtein(&n, k);
        let limit = (n.chars().count().max(k.len()) / 3).max(1);
        let close = d <= limit || (n.len() >= 3 && k.starts_with(&n));
        if close && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

/// The dotted path of a key of the same name (or one typo away) in another mapping: a key
/// written at the wrong indentation.
fn elsewhere(path: &str, name: &str) -> Option<String> {
    let n = normalize(name);
    keys::mappings()
        .into_iter()
        .filter(|(p, _)| p != path)
        .find_map(|(p, table)| {
            table
                .iter()
                .find(|k| strsim::damerau_levenshtein(&n, k.name) <= usize::from(n.len() > 4))
                .map(|k| join(&p, k.name))
        })
}
