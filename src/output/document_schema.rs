//! The JSON Schema of a command's document (`schemas/output/COMMAND.json`), generated from
//! the types that print it: the environment's body and the command's own top-level keys,
//! with their doc comments as descriptions, inside the envelope every command shares
//! (`schemas/output/common.json`: `ran`, `failure`, `environment`). A test keeps the
//! committed files equal to what this generates (`QFLEET_WRITE_SCHEMA=1` rewrites them).

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

/// How many environments a command's document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Environments {
    /// One per environment named.
    Each,
    /// At most one: the command takes one environment.
    One,
}

/// The schema of `command`'s document: environments of body `B`, top-level keys `O` (a struct,
/// or `()` for none). The document's description is `B`'s doc comment.
pub(crate) fn document<B: JsonSchema, O: JsonSchema>(
    command: &str,
    title: &str,
    environments: Environments,
) -> Value {
    let mut defs = Map::new();
    let body = root::<B>(&mut defs);
    assemble::<O>(command, title, environments, body, defs)
}

/// The schema of a command whose environments have one of two bodies (`simulate`: a run, or
/// `--tune`'s settings); the description is `B`'s doc comment.
#[cfg(test)]
pub(crate) fn document_either<B: JsonSchema, C: JsonSchema, O: JsonSchema>(
    command: &str,
    title: &str,
    environments: Environments,
) -> Value {
    let mut defs = Map::new();
    let mut first = object(root::<B>(&mut defs));
    let description = first.remove("description").unwrap_or(Value::Null);
    let second = root::<C>(&mut defs);
    let body = json!({ "description": description, "anyOf": [first, second] });
    assemble::<O>(command, title, environments, body, defs)
}

fn assemble<O: JsonSchema>(
    command: &str,
    title: &str,
    environments: Environments,
    body: Value,
    mut defs: Map<String, Value>,
) -> Value {
    let mut body = object(body);
    let description = body.remove("description").unwrap_or(Value::Null);
    match body.get_mut("anyOf") {
        Some(Value::Array(branches)) => branches.iter_mut().for_each(leave_out_envelope_keys),
        _ => {
            let mut whole = Value::Object(std::mem::take(&mut body));
            leave_out_envelope_keys(&mut whole);
            body = object(whole);
        }
    }
    let own = object(root::<O>(&mut defs));
    let mut env = Map::new();
    env.insert(
        "allOf".into(),
        json!([{ "$ref": "common.json#/$defs/environment" }]),
    );
    env.extend(body);
    env.insert("unevaluatedProperties".into(), false.into());
    let mut items = json!({ "type": "array", "items": { "$ref": "#/$defs/environment" } });
    if environments == Environments::One {
        items["maxItems"] = 1.into();
    }
    let mut properties = Map::new();
    properties.insert("command".into(), json!({ "const": command }));
    properties.insert("environments".into(), items);
    if let Some(Value::Object(p)) = own.get("properties") {
        properties.extend(p.clone());
    }
    let mut doc = Map::new();
    doc.insert(
        "allOf".into(),
        json!([{ "$ref": "common.json#/$defs/ran" }]),
    );
    doc.insert(
        "required".into(),
        own.get("required").cloned().unwrap_or(json!([])),
    );
    doc.insert("properties".into(), Value::Object(properties));
    doc.insert("unevaluatedProperties".into(), false.into());
    let mut all_defs = Map::new();
    all_defs.insert("document".into(), Value::Object(doc));
    all_defs.insert("environment".into(), Value::Object(env));
    all_defs.extend(defs);
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "description": description,
        "type": "object",
        "properties": { "command": { "const": command } },
        "oneOf": [
            { "$ref": "common.json#/$defs/failure" },
            { "$ref": "#/$defs/document" }
        ],
        "$defs": all_defs,
    });
    unwrap_lines(&mut schema);
    prune(&mut schema);
    schema
}

/// Definitions that `common.json` shares with every command's schema, generated from the
/// types: `name` is a closed `anyOf` of each type's schema (added with [`Shared::add`]), beside
/// the definitions those refer to, by their type names. (Only the tests write and check
/// `common.json`.)
#[cfg(test)]
#[derive(Default)]
pub(crate) struct Shared {
    defs: Map<String, Value>,
    branches: Vec<Value>,
}

#[cfg(test)]
impl Shared {
    /// `T`'s schema as one branch.
    pub(crate) fn add<T: JsonSchema>(mut self) -> Shared {
        let branch = root::<T>(&mut self.defs);
        self.branches.push(branch);
        self
    }

    /// The definitions: `name` first, then the ones the branches refer to.
    pub(crate) fn definitions(self, name: &str, description: &str) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert(
            name.into(),
            json!({
                "description": description,
                "anyOf": self.branches,
                "unevaluatedProperties": false,
            }),
        );
        out.extend(self.defs);
        let mut all = Value::Object(out);
        unwrap_lines(&mut all);
        object(all)
    }
}

/// Leaves out the definitions nothing refers to any more (a type only an envelope key had).
fn prune(schema: &mut Value) {
    loop {
        let text = schema.to_string();
        let Some(Value::Object(defs)) = schema.get_mut("$defs") else {
            return;
        };
        let before = defs.len();
        defs.retain(|name, _| {
            matches!(name.as_str(), "document" | "environment")
                || text.contains(&format!("\"#/$defs/{name}\""))
        });
        if defs.len() == before {
            return;
        }
    }
}

/// Leaves the envelope's keys out of a body's schema: they replace a body's of the same name
/// (report::Environment).
fn leave_out_envelope_keys(body: &mut Value) {
    let shared = ["environment", "ok", "exit_code", "error"];
    if let Some(Value::Object(p)) = body.get_mut("properties") {
        p.retain(|k, _| !shared.contains(&k.as_str()));
    }
    if let Some(Value::Array(r)) = body.get_mut("required") {
        r.retain(|k| !k.as_str().is_some_and(|k| shared.contains(&k)));
    }
}

/// Descriptions as doc comments wrap them, joined back into lines (paragraphs kept apart).
fn unwrap_lines(schema: &mut Value) {
    match schema {
        Value::Object(m) => {
            if let Some(Value::String(d)) = m.get_mut("description") {
                let paragraphs: Vec<String> =
                    d.split("\n\n").map(|p| p.replace('\n', " ")).collect();
                *d = paragraphs.join("\n\n");
            }
            m.values_mut().for_each(unwrap_lines);
        }
        Value::Array(a) => a.iter_mut().for_each(unwrap_lines),
        _ => {}
    }
}

/// `T`'s schema, its definitions moved into `defs`, every object in it closed to the keys it
/// lists ([`close`]); the root's own keys are closed by `unevaluatedProperties` beside the
/// envelope's.
fn root<T: JsonSchema>(defs: &mut Map<String, Value>) -> Value {
    // A generator of its own: one keeps every definition it made before.
    let generator = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut value = generator.into_root_schema_for::<T>().to_value();
    let mut own = match value.as_object_mut().and_then(|m| m.remove("$defs")) {
        Some(Value::Object(d)) => d,
        _ => Map::new(),
    };
    if let Value::Object(m) = &mut value {
        m.remove("$schema");
        m.remove("title");
    }
    // Every object is closed where it is used (a key's value, an item), so that a definition
    // used both there and for another schema's instance (an untagged enum's branch, a
    // flattened struct) is closed exactly once, by whichever level holds all its keys.
    close(&mut value, false);
    for def in own.values_mut() {
        close(def, false);
    }
    defs.append(&mut own);
    value
}

/// Closes the object `schema` describes when `here` (it is a key's value or an item) to the
/// keys it has: with `additionalProperties` when it lists them itself, with
/// `unevaluatedProperties` when a reference or the branches of `anyOf`, `oneOf` or `allOf`
/// add them; and every object nested in it likewise. A reference or a branch describes the
/// same instance as its level, which closes it.
fn close(schema: &mut Value, here: bool) {
    let Value::Object(m) = schema else { return };
    let combined = ["anyOf", "oneOf", "allOf", "$ref"]
        .iter()
        .any(|k| m.contains_key(*k));
    let open = !m.contains_key("additionalProperties") && !m.contains_key("unevaluatedProperties");
    // A schema of another file (common.json's event) says for itself which keys it has.
    let elsewhere = m
        .get("$ref")
        .and_then(Value::as_str)
        .is_some_and(|r| !r.starts_with("#/"));
    let object = (m.contains_key("properties") || combined) && !elsewhere;
    if here && open && object {
        let key = if combined {
            "unevaluatedProperties"
        } else {
            "additionalProperties"
        };
        m.insert(key.into(), false.into());
    }
    for k in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(branches)) = m.get_mut(k) {
            branches.iter_mut().for_each(|b| close(b, false));
        }
    }
    if let Some(Value::Object(props)) = m.get_mut("properties") {
        props.values_mut().for_each(|v| close(v, true));
    }
    if let Some(items) = m.get_mut("items") {
        close(items, true);
    }
    if let Some(extra @ Value::Object(_)) = m.get_mut("additionalProperties") {
        close(extra, true);
    }
}

/// A schema as an object (a `true` schema, as for `()`, is the empty object).
fn object(schema: Value) -> Map<String, Value> {
    match schema {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document's body.
    #[derive(JsonSchema, serde::Serialize)]
    struct Body {
        /// Always there, null or not.
        maybe: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        sometimes: Option<Inner>,
    }

    #[derive(JsonSchema, serde::Serialize)]
    struct Inner {
        n: u32,
    }

    #[test]
    fn a_generated_schema_requires_what_is_always_printed_and_closes_every_object() {
        let s = document::<Body, ()>("logs", "qfleet logs --output json", Environments::One);
        assert_eq!(s["description"], "A document's body.");
        assert_eq!(s["properties"]["command"]["const"], "logs");
        let env = &s["$defs"]["environment"];
        assert_eq!(env["required"], json!(["maybe"]));
        assert_eq!(env["unevaluatedProperties"], false);
        assert_eq!(
            s["$defs"]["document"]["properties"]["environments"]["maxItems"],
            1
        );
        assert_eq!(s["$defs"]["document"]["required"], json!([]));
        // What the schema says is what the type prints.
        let printed = serde_json::to_value(Body {
            maybe: None,
            sometimes: Some(Inner { n: 1 }),
        })
        .unwrap();
        assert_eq!(printed, json!({ "maybe": null, "sometimes": { "n": 1 } }));
    }

    /// The environment's schema alone (without the envelope's keys), as a validator.
    fn environment_validator(s: &Value) -> jsonschema::Validator {
        let mut defs = s["$defs"].clone();
        defs["environment"].as_object_mut().unwrap().remove("allOf");
        defs.as_object_mut().unwrap().remove("document");
        let schema = json!({ "$defs": defs, "$ref": "#/$defs/environment" });
        jsonschema::validator_for(&schema).unwrap()
    }

    /// An untagged enum of bodies, one of them a struct with a flattened untagged enum: the
    /// shapes dlq's document has.
    #[derive(JsonSchema, serde::Serialize)]
    #[serde(untagged)]
    enum Either {
        One(Tagged),
        Many { all: Vec<Tagged> },
    }

    #[derive(JsonSchema, serde::Serialize)]
    struct Tagged {
        #[serde(skip_serializing_if = "Option::is_none")]
        stage: Option<String>,
        #[serde(flatten)]
        what: What,
    }

    #[derive(JsonSchema, serde::Serialize)]
    #[serde(untagged)]
    enum What {
        Listed(Inner),
        Purged { purged: u64 },
    }

    #[test]
    fn a_key_no_type_has_is_refused_at_every_level_and_every_shape_is_accepted() {
        let v = environment_validator(&document::<Body, ()>("x", "x", Environments::Each));
        assert!(v.is_valid(&json!({ "maybe": null, "sometimes": { "n": 1 } })));
        assert!(!v.is_valid(&json!({ "maybe": null, "junk": 1 })));
        assert!(!v.is_valid(&json!({ "maybe": null, "sometimes": { "n": 1, "junk": 1 } })));

        let v = environment_validator(&document::<Either, ()>("x", "x", Environments::Each));
        let one = serde_json::to_value(Either::One(Tagged {
            stage: Some("a".into()),
            what: What::Listed(Inner { n: 1 }),
        }))
        .unwrap();
        let many = serde_json::to_value(Either::Many {
            all: vec![Tagged {
                stage: None,
                what: What::Purged { purged: 2 },
            }],
        })
        .unwrap();
        assert!(v.is_valid(&one), "{one}");
        assert!(v.is_valid(&many), "{many}");
        assert!(!v.is_valid(&json!({ "stage": "a", "n": 1, "junk": 1 })));
        assert!(!v.is_valid(&json!({ "all": [{ "purged": 2, "junk": 1 }] })));
    }
}
