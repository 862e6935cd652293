//! The JSON Schema of a command's document (`schemas/output/COMMAND.json`), generated from
//! the types that print it: the environment's body and the command's own top-level keys,
//! with their doc comments as descriptions, inside the envelope every command shares
//! (`schemas/output/common.json`: `ran`, `failure`, `environment`). A test keeps the
//! committed files equal to what this generates (`QFLEET_WRITE_SCHEMA=1` rewrites them).

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

/// How many environments a command's document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environments {
    /// One per environment named.
    Each,
    /// At most one: the command takes one environment.
    One,
}

/// The schema of `command`'s document: environments of body `B`, top-level keys `O` (a struct,
/// or `()` for none). The document's description is `B`'s doc comment.
pub fn document<B: JsonSchema, O: JsonSchema>(
    command: &str,
    title: &str,
    environments: Environments,
) -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut defs = Map::new();
    let mut body = object(root::<B>(&mut generator, &mut defs));
    let description = body.remove("description").unwrap_or(Value::Null);
    let own = object(root::<O>(&mut generator, &mut defs));
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
    schema
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

/// `T`'s schema, its definitions moved into `defs` (every object among them closed: a key
/// the type does not have breaks the contract).
fn root<T: JsonSchema>(generator: &mut SchemaGenerator, defs: &mut Map<String, Value>) -> Value {
    let schema = generator.root_schema_for::<T>();
    let mut value = schema.to_value();
    if let Some(Value::Object(d)) = value.as_object_mut().and_then(|m| m.remove("$defs")) {
        for (name, mut def) in d {
            close(&mut def);
            defs.insert(name, def);
        }
    }
    if let Value::Object(m) = &mut value {
        m.remove("$schema");
        m.remove("title");
        // The root's own keys are closed by `unevaluatedProperties` beside the envelope's;
        // the objects inside it by `additionalProperties`.
        if let Some(Value::Object(props)) = m.get_mut("properties") {
            props.values_mut().for_each(close);
        }
    }
    value
}

/// Closes every object schema within `schema` to the keys it lists.
fn close(schema: &mut Value) {
    match schema {
        Value::Object(m) => {
            if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                m.insert("additionalProperties".into(), false.into());
            }
            m.values_mut().for_each(close);
        }
        Value::Array(a) => a.iter_mut().for_each(close),
        _ => {}
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
        assert_eq!(s["$defs"]["Inner"]["additionalProperties"], false);
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
}
