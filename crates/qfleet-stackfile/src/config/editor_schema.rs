//! The JSON Schema of stack files (`schemas/stack-file.json`), for editors through
//! yaml-language-server: generated from the key table (`keys.rs`, read from the types of
//! `schema.rs`) with each setting's help (`allowed.rs`) as its description and qfleet's
//! defaults. A test keeps the file current.

use super::keys::{EXPLICIT_NETWORK, IMAGE_FROM_SOURCE, Key, Kind, STACK_FILE};
use super::positions::join;
use super::schema::StackFile;
use serde_json::{Map, Value, json};

/// Where the schema is kept, relative to the repository root.
pub(super) const PATH: &str = "schemas/stack-file.json";

/// A duration as `duration::parse` reads it: whole seconds, or a number with s, m, h or d.
pub(super) const DURATION_PATTERN: &str = r"^\s*\+?[0-9]+\s*[smhd]?\s*$";

/// The schema, as a JSON value.
pub(super) fn generate() -> Value {
    let mut out = Map::new();
    out.insert(
        "$schema".into(),
        json!("http://json-schema.org/draft-07/schema#"),
    );
    out.insert("title".into(), json!("qfleet stack file"));
    out.extend(settings("", STACK_FILE, &defaults()));
    // The top level itself must be a mapping; only nested settings may be left empty.
    out.insert("type".into(), json!("object"));
    out.insert(
        "description".into(),
        json!("One qfleet environment (stacks/ENV.yaml); see the Stack file reference in qfleet's docs (docs/stack-file.md)."),
    );
    Value::Object(out)
}

/// The schema as the file holds it: pretty-printed, with a final newline.
pub(super) fn text() -> String {
    let mut s = serde_json::to_string_pretty(&generate()).unwrap_or_default();
    s.push('\n');
    s
}

/// Every default, as a minimal stack file reads (`region` aside, which has none).
fn defaults() -> Value {
    serde_yaml_ng::from_str::<StackFile>("region: eu-west-1")
        .ok()
        .and_then(|spec| serde_json::to_value(spec).ok())
        .unwrap_or(Value::Null)
}

fn settings(path: &str, table: &[Key], defaults: &Value) -> Map<String, Value> {
    let mut properties = Map::new();
    for key in table {
        let field = join(path, key.name);
        properties.insert(key.name.into(), described(&field, key.kind, defaults));
    }
    let required: Vec<&str> = table
        .iter()
        .filter(|k| k.required)
        .map(|k| k.name)
        .collect();
    let mut obj = Map::new();
    obj.insert("type".into(), json!(["object", "null"]));
    if let Some(help) = super::allowed::allowed(path) {
        obj.insert("description".into(), json!(help));
    }
    obj.insert("properties".into(), Value::Object(properties));
    obj.insert("additionalProperties".into(), json!(false));
    if !required.is_empty() {
        obj.insert("required".into(), json!(required));
    }
    obj
}

/// The schema of one setting with its description and default.
fn described(field: &str, kind: Kind, defaults: &Value) -> Value {
    let mut schema = of(field, kind, defaults);
    let Some(obj) = schema.as_object_mut() else {
        return schema;
    };
    if let Some(help) = super::allowed::allowed(field) {
        obj.entry("description").or_insert(json!(help));
    }
    let default = field
        .split('.')
        .try_fold(defaults, |v, seg| v.get(seg))
        .cloned()
        .unwrap_or(Value::Null);
    let default = match (kind, default) {
        // The minimal file the defaults are read from sets it.
        _ if field == "region" => Value::Null,
        (Kind::Duration, Value::Number(n)) => n
            .as_u64()
            .map(|s| json!(super::duration::Seconds(s).to_string()))
            .unwrap_or(Value::Null),
        (Kind::Network, _) => json!("default"),
        (Kind::Settings(_) | Kind::Names | Kind::Counts, _) => Value::Null,
        (_, v) => v,
    };
    if !default.is_null() {
        obj.insert("default".into(), default);
    }
    schema
}

const TEXT_TYPES: [&str; 4] = ["string", "number", "boolean", "null"];

fn of(field: &str, kind: Kind, defaults: &Value) -> Value {
    match kind {
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Int => json!({"type": "integer"}),
        Kind::UInt => json!({"type": "integer", "minimum": 0, "maximum": u32::MAX}),
        Kind::Float => json!({"type": "number"}),
        Kind::Duration => json!({"anyOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": DURATION_PATTERN},
        ]}),
        // serde_yaml reads any single value as text (`cost-center: 4711`).
        Kind::Text => json!({"type": TEXT_TYPES}),
        Kind::Choice(words) => json!({"enum": words}),
        Kind::Optional(inner) => nullable(of(field, *inner, defaults)),
        Kind::Settings(table) => Value::Object(settings(field, table, defaults)),
        Kind::Names => json!({
            "type": ["object", "null"],
            "additionalProperties": {"type": TEXT_TYPES},
        }),
        Kind::Counts => json!({
            "type": ["object", "null"],
            "additionalProperties": {"type": "integer", "minimum": 0, "maximum": u32::MAX},
        }),
        Kind::Network => {
            let mut explicit = settings(field, EXPLICIT_NETWORK, defaults);
            explicit.insert("type".into(), json!("object"));
            explicit.remove("description");
            json!({"anyOf": [{"const": "default"}, explicit]})
        }
        Kind::Image => {
            let mut source = settings(field, IMAGE_FROM_SOURCE, defaults);
            source.insert("type".into(), json!("object"));
            source.remove("description");
            json!({"anyOf": [{"type": "string"}, source]})
        }
        Kind::List(inner) => json!({"type": "array", "items": of(field, *inner, defaults)}),
        Kind::Any => json!({}),
        Kind::TextOrList => json!({"anyOf": [
            {"type": TEXT_TYPES},
            {"type": "array", "items": {"type": TEXT_TYPES}},
        ]}),
    }
}

/// `schema`, or nothing (`key:` or `key: ~`).
fn nullable(mut schema: Value) -> Value {
    let Some(obj) = schema.as_object_mut() else {
        return schema;
    };
    match obj.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            obj.insert("type".into(), json!([t, "null"]));
            schema
        }
        Some(Value::Array(types)) => {
            if !types.contains(&json!("null")) {
                types.push(json!("null"));
            }
            schema
        }
        _ => json!({"anyOf": [schema, {"type": "null"}]}),
    }
}
