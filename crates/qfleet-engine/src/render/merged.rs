//! The templates of a stack file's stack sets (`rollout.mode: stack_sets`): one template per
//! stack for every target, made from the targets' own rendered templates.
//!
//! A stack set has one template for all its instances
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-concepts.html>).
//! qfleet renders each target as the environment it is (`orders-eu1`), then merges the
//! targets' templates: what is the same everywhere stays as it is; a value that differs
//! between targets becomes a `Fn::FindInMap` into a mapping keyed by the instance's region and
//! account (`!Ref AWS::Region`, `!Ref AWS::AccountId`: the two references `Fn::FindInMap`
//! takes,
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-findinmap.html>);
//! a `Fn::Sub` that differs only by the environment's name gets it as a variable from such a
//! mapping. Not parameter overrides: StackSets applies one call's overrides to every account
//! and region the call names
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackInstances.html>),
//! so targets with values of their own would need an operation each, one after the other,
//! and the operation preferences (accounts at once, failure tolerance, region order) would
//! have nothing to order. An instance in an account and region the file does not name finds
//! no value in the mappings and fails to create.
//!
//! Targets whose templates differ in shape (a resource, a key or the length of a list of
//! objects that only some have) cannot share a template: refused, naming where. Every merged
//! template is checked: read back for each target's region and account it gives that target's
//! own template, value for value.

use super::RenderedStack;
use crate::config::stack_set_name;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The name of the mapping that holds each target's environment name.
const ENVIRONMENT_MAP: &str = "QfleetEnvironment";
/// The prefix of the mappings of other values that differ between targets.
const VALUE_MAP: &str = "QfleetValue";
/// CloudFormation's limits: the largest template body a call takes, the most mappings
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html>).
const MAX_TEMPLATE_BODY: usize = 51_200;
const MAX_MAPPINGS: usize = 200;

/// One target as a stack set sees it: where its instance is, and its environment's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub environment: String,
    pub account: String,
    pub region: String,
    /// The AWS Organizations unit of the account (service-managed permissions).
    pub unit: Option<String>,
}

impl Place {
    /// Where a target environment's instances are: its account (validation gives every
    /// target of a StackSets file one), region and unit.
    pub fn of(env: &crate::config::Environment) -> Place {
        let target = env.target.as_ref();
        Place {
            environment: env.name.clone(),
            account: target.and_then(|t| t.account.clone()).unwrap_or_default(),
            region: env.spec.region.clone(),
            unit: target.and_then(|t| t.organizational_unit.clone()),
        }
    }
}

/// The second key of the mappings of a file whose targets each stand for a whole AWS
/// Organizations unit (`rollout.auto_deployment`): their accounts are not known when the
/// template is rendered, and an account that joins the unit later must find its values, so
/// the values are keyed by region alone (`Fn::FindInMap` takes a literal key as well as a
/// reference).
const EVERY_ACCOUNT: &str = "EveryAccount";

impl Place {
    /// Whether it stands for every account of its AWS Organizations unit
    /// (`rollout.auto_deployment`: it names no account).
    pub fn whole_unit(&self) -> bool {
        self.account.is_empty()
    }

    /// The second key of its values in the stack sets' mappings: its account, or
    /// [`EVERY_ACCOUNT`] for a target that stands for a whole unit.
    pub fn key(&self) -> &str {
        match self.whole_unit() {
            true => EVERY_ACCOUNT,
            false => &self.account,
        }
    }

    /// Whether a stack set's instance, as ListStackInstances lists it (its account, region
    /// and the unit it was named in), is this target's: in its account and region, or for a
    /// whole unit in its region and named in its unit (another instance there is no target's
    /// of this file, and is not touched).
    pub fn holds(&self, account: &str, region: &str, unit: Option<&str>) -> bool {
        region == self.region
            && match self.whole_unit() {
                true => unit.is_some() && unit == self.unit.as_deref(),
                false => account == self.account,
            }
    }

    /// How messages name it: `111122223333 eu-west-1`, or `every account of ou-… in
    /// eu-west-1`.
    pub fn label(&self) -> String {
        match self.whole_unit() {
            true => format!(
                "every account of {} in {}",
                self.unit.as_deref().unwrap_or("its unit"),
                self.region
            ),
            false => format!("{} {}", self.account, self.region),
        }
    }
}

/// Why the targets' templates cannot be one stack set's.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Unmergeable(pub String);

impl std::fmt::Display for Unmergeable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The stack sets of a file whose environment is `file_env`, from its targets' rendered
/// stacks (`targets[i]` rendered as `stacks[i]`, in the same order of stacks): each a stack's
/// template (JSON) named as its stack set (the stack's name with the file's environment
/// name), written by `render --out` as `NAME.json`.
pub(super) fn stack_sets(
    file_env: &str,
    targets: &[Place],
    stacks: &[Vec<RenderedStack>],
) -> Result<Vec<RenderedStack>, Unmergeable> {
    let Some(first) = stacks.first() else {
        return Ok(Vec::new());
    };
    if stacks.iter().any(|s| s.len() != first.len()) {
        return Err(Unmergeable(
            "the targets do not have the same stacks (a stage or a kind that only some have)"
                .into(),
        ));
    }
    let mut out = Vec::new();
    for (n, one) in first.iter().enumerate() {
        let name = stack_set_name(file_env, &targets[0].environment, &one.stack_name);
        let mut docs = Vec::new();
        for (t, rendered) in targets.iter().zip(stacks) {
            let stack = &rendered[n];
            if stack_set_name(file_env, &t.environment, &stack.stack_name) != name {
                return Err(Unmergeable(format!(
                    "target {}'s stack {} is not the others' {}",
                    t.environment, stack.stack_name, one.stack_name
                )));
            }
            let doc = long_form(&stack.template)
                .map_err(|e| Unmergeable(format!("{}: {e}", stack.stack_name)))?;
            docs.push(normalized(doc, file_env, &t.environment));
        }
        let template = merge_template(targets, &docs, &name)?;
        let body = serde_json::to_string(&template).unwrap_or_default();
        if body.len() > MAX_TEMPLATE_BODY {
            return Err(Unmergeable(format!(
                "stack set {name}'s template is {} bytes with its targets' values, over the {MAX_TEMPLATE_BODY} CloudFormation takes in a call",
                body.len()
            )));
        }
        out.push(RenderedStack {
            role: one.role,
            file_name: format!("{name}.json"),
            stack_name: name,
            template: body,
        });
    }
    Ok(out)
}

/// Merges the targets' documents of one stack and checks the result against each.
fn merge_template(targets: &[Place], docs: &[Value], name: &str) -> Result<Value, Unmergeable> {
    let mut maps = Maps::new(targets);
    let refs: Vec<&Value> = docs.iter().collect();
    let mut merged = merge(&refs, &mut maps, "", Position::Fixed)?;
    if maps.tables.len() > MAX_MAPPINGS {
        return Err(Unmergeable(format!(
            "stack set {name} would need {} mappings of its targets' values, over CloudFormation's {MAX_MAPPINGS}",
            maps.tables.len()
        )));
    }
    if !maps.tables.is_empty() {
        let Some(obj) = merged.as_object_mut() else {
            return Err(Unmergeable(format!(
                "stack set {name}'s template is not a mapping"
            )));
        };
        let mut mappings = obj
            .remove("Mappings")
            .and_then(|m| m.as_object().cloned())
            .unwrap_or_default();
        for (map_name, table) in &maps.tables {
            mappings.insert(map_name.clone(), table.clone());
        }
        obj.insert("Mappings".into(), Value::Object(mappings));
    }
    for (t, doc) in targets.iter().zip(docs) {
        let back = instantiate(&merged, &t.region, &t.account);
        if !same(&back, doc) {
            return Err(Unmergeable(format!(
                "stack set {name}'s template does not give target {}'s own template back; nothing was deployed",
                t.environment
            )));
        }
    }
    Ok(merged)
}

/// A template (YAML with CloudFormation's short forms, or JSON) in its long form, as JSON.
pub fn long_form(text: &str) -> Result<Value, String> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    to_json(doc)
}

fn to_json(v: serde_yaml_ng::Value) -> Result<Value, String> {
    use serde_yaml_ng::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).map_err(|e| e.to_string())?,
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    other => serde_yaml_ng::to_string(&other)
                        .map_err(|e| e.to_string())?
                        .trim()
                        .to_string(),
                };
                out.insert(key, to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = to_json(t.value)?;
            match name {
                "Ref" => json!({ "Ref": value }),
                "Condition" => json!({ "Condition": value }),
                "GetAtt" => match value {
                    Value::String(s) => {
                        let (res, attr) = s
                            .split_once('.')
                            .ok_or_else(|| format!("!GetAtt {s} names no attribute"))?;
                        json!({ "Fn::GetAtt": [res, attr] })
                    }
                    other => json!({ "Fn::GetAtt": other }),
                },
                "Base64" | "Cidr" | "FindInMap" | "GetAZs" | "ImportValue" | "Join" | "Select"
                | "Split" | "Sub" | "Transform" | "If" | "Equals" | "Not" | "And" | "Or"
                | "Length" | "ToJsonString" => {
                    let mut m = Map::new();
                    m.insert(format!("Fn::{name}"), value);
                    Value::Object(m)
                }
                other => return Err(format!("the tag !{other} is not a CloudFormation function")),
            }
        }
    })
}

/// A target's document as the stack set has it: its description and qfleet's metadata name
/// the file's environment (they take no functions, and a stack set has one of each).
fn normalized(mut doc: Value, file_env: &str, env: &str) -> Value {
    if let Some(Value::String(d)) = doc.get_mut("Description") {
        *d = d.replacen(env, &format!("{file_env} (stack set)"), 1);
    }
    if let Some(Value::Object(q)) = doc.pointer_mut("/Metadata/qfleet") {
        q.insert("environment".into(), Value::String(file_env.to_string()));
    }
    doc
}

/// Where in a template a value is: whether it may become a function of the instance.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Position {
    /// Template sections and resource attributes that take literal values only.
    Fixed,
    /// A resource's properties or metadata, an output's value or export.
    Free,
}

/// The mappings made so far: each differing value's table, by the targets' values.
struct Maps<'a> {
    targets: &'a [Place],
    tables: BTreeMap<String, Value>,
    by_values: BTreeMap<String, String>,
}

impl<'a> Maps<'a> {
    fn new(targets: &'a [Place]) -> Self {
        Maps {
            targets,
            tables: BTreeMap::new(),
            by_values: BTreeMap::new(),
        }
    }

    /// The mapping holding these values (one per target), made on first use.
    fn lookup(&mut self, values: Vec<Value>, preferred: Option<&str>) -> Value {
        let key = serde_json::to_string(&values).unwrap_or_default();
        let name = match self.by_values.get(&key) {
            Some(n) => n.clone(),
            None => {
                let name = match preferred {
                    Some(p) if !self.tables.contains_key(p) => p.to_string(),
                    _ => format!("{VALUE_MAP}{}", self.by_values.len() + 1),
                };
                let mut table = Map::new();
                for (t, v) in self.targets.iter().zip(values) {
                    let region = table
                        .entry(t.region.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(r) = region {
                        r.insert(t.key().to_string(), v);
                    }
                }
                self.tables.insert(name.clone(), Value::Object(table));
                self.by_values.insert(key, name.clone());
                name
            }
        };
        let by_region = self
            .targets
            .first()
            .is_some_and(|t| t.key() == EVERY_ACCOUNT);
        find_in_map(&name, by_region)
    }
}

/// The lookup of mapping `name`: by the instance's region and account, or by its region
/// alone ([`EVERY_ACCOUNT`]).
fn find_in_map(name: &str, by_region: bool) -> Value {
    let second = match by_region {
        true => json!(EVERY_ACCOUNT),
        false => json!({ "Ref": "AWS::AccountId" }),
    };
    json!({ "Fn::FindInMap": [name, { "Ref": "AWS::Region" }, second] })
}

/// A mapping's value: a string, or a list of strings.
fn map_value(v: &Value) -> Option<Value> {
    match v {
        Value::String(_) => Some(v.clone()),
        Value::Number(n) => Some(Value::String(n.to_string())),
        Value::Bool(b) => Some(Value::String(b.to_string())),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Array(_) => None,
                other => map_value(other),
            })
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        _ => None,
    }
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The position of `key` under `path`: free below a resource's Properties or Metadata and an
/// output's Value or Export.
fn position_of(path: &str, key: &str, at: Position) -> Position {
    if at == Position::Free {
        return at;
    }
    let parts: Vec<&str> = path.split('.').filter(|p| !p.is_empty()).collect();
    match (parts.as_slice(), key) {
        (["Resources", _], "Properties" | "Metadata") => Position::Free,
        (["Outputs", _], "Value" | "Export") => Position::Free,
        _ => Position::Fixed,
    }
}

/// The functions whose arguments name something of the template (a resource, a condition, a
/// mapping): never a value of the instance.
fn names_only(key: &str) -> bool {
    matches!(key, "Ref" | "Fn::GetAtt" | "Condition" | "Fn::FindInMap")
}

/// One value from the targets' values at `path`.
fn merge(
    values: &[&Value],
    maps: &mut Maps,
    path: &str,
    at: Position,
) -> Result<Value, Unmergeable> {
    let first = values[0];
    if values.iter().all(|v| *v == first) {
        return Ok(first.clone());
    }
    let here = if path.is_empty() {
        "the template"
    } else {
        path
    };
    let differs = |what: &str| {
        Unmergeable(format!(
            "{here} {what} between targets ({}), and a stack set has one template{}",
            by_value(maps.targets, values),
            setting_of(path)
        ))
    };
    // A Fn::Sub that differs: by the environment's name only, it takes it as a variable.
    if at == Position::Free && values.iter().all(|v| sub_of(v).is_some()) {
        return merge_sub(values, maps, path);
    }
    let objects: Option<Vec<&Map<String, Value>>> = values.iter().map(|v| v.as_object()).collect();
    if let Some(objects) = objects {
        let keys: Vec<&String> = objects[0].keys().collect();
        if objects.iter().any(|o| o.keys().collect::<Vec<_>>() != keys) {
            return Err(Unmergeable(format!(
                "{here} has different keys between targets ({}), and a stack set has one template{}",
                lacking(maps.targets, &objects),
                setting_of(path)
            )));
        }
        let function = (keys.len() == 1).then(|| keys[0].as_str());
        if function.is_some_and(names_only) {
            return Err(differs("names a different resource, condition or mapping"));
        }
        let mut out = Map::new();
        for key in keys {
            let next = child(path, key);
            let pos = position_of(path, key, at);
            let these: Vec<&Value> = objects.iter().map(|o| &o[key.as_str()]).collect();
            // Fn::If's first argument is a condition's name.
            if function == Some("Fn::If") {
                out.insert(key.clone(), merge_if(&these, maps, &next)?);
                continue;
            }
            out.insert(key.clone(), merge(&these, maps, &next, pos)?);
        }
        return Ok(Value::Object(out));
    }
    if at == Position::Fixed {
        return Err(differs("differs where CloudFormation takes no function"));
    }
    let arrays: Option<Vec<&Vec<Value>>> = values.iter().map(|v| v.as_array()).collect();
    if let Some(arrays) = arrays
        && arrays.iter().all(|a| a.len() == arrays[0].len())
    {
        let mut out = Vec::new();
        for i in 0..arrays[0].len() {
            let these: Vec<&Value> = arrays.iter().map(|a| &a[i]).collect();
            out.push(merge(&these, maps, &child(path, &i.to_string()), at)?);
        }
        return Ok(Value::Array(out));
    }
    match values
        .iter()
        .map(|v| map_value(v))
        .collect::<Option<Vec<_>>>()
    {
        Some(mapped) => Ok(maps.lookup(mapped, None)),
        None => Err(differs("differs in shape")),
    }
}

/// The targets grouped by their value at one place of the template, each group with the
/// value (shortened): `orders-us1 has 2; orders-eu1, orders-eu2 have 1`.
fn by_value(targets: &[Place], values: &[&Value]) -> String {
    grouped(
        targets,
        values.iter().map(|v| Some(v.to_string())),
        ("has", "have"),
    )
}

/// The keys some targets' objects lack at one place of the template, by target:
/// `orders-us1 lacks CreationPolicy`.
fn lacking(targets: &[Place], objects: &[&Map<String, Value>]) -> String {
    let all: std::collections::BTreeSet<&String> = objects.iter().flat_map(|o| o.keys()).collect();
    let texts = objects.iter().map(|o| {
        let missing: Vec<&str> = all
            .iter()
            .filter(|k| !o.contains_key(k.as_str()))
            .map(|k| k.as_str())
            .collect();
        (!missing.is_empty()).then(|| missing.join(", "))
    });
    grouped(targets, texts, ("lacks", "lack"))
}

/// The targets grouped by a text of each (`None`: said of none), in the order the texts first
/// appear, with the verb for one target or several: `a, b have 1; c has 2`. Grouped by the
/// whole text, shown shortened to 100 characters.
fn grouped(
    targets: &[Place],
    texts: impl Iterator<Item = Option<String>>,
    (one, several): (&str, &str),
) -> String {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for (t, text) in targets.iter().zip(texts) {
        let Some(text) = text else { continue };
        match groups.iter_mut().find(|(g, _)| *g == text) {
            Some((_, names)) => names.push(&t.environment),
            None => groups.push((text, vec![&t.environment])),
        }
    }
    groups
        .iter()
        .map(|(text, names)| {
            let verb = if names.len() == 1 { one } else { several };
            let shown = match text.char_indices().nth(100) {
                Some((at, _)) => format!("{}…", &text[..at]),
                None => text.clone(),
            };
            format!("{} {verb} {shown}", names.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The stack file's setting behind a place of the template where targets may not differ,
/// when it is known: resource attributes take no function, nor do parameters' defaults.
fn setting_of(path: &str) -> &'static str {
    if path == "Resources.WorkerGroup" || path.starts_with("Resources.WorkerGroup.CreationPolicy") {
        ": the Auto Scaling group's creation policy waits for workers.min signals (none with min 0), and every target must then have the same workers.min"
    } else if path.starts_with("Resources.WorkerGroup.UpdatePolicy") {
        ": the Auto Scaling group's update policy keeps workers.min instances in service (at most workers.max - 1), and every target must then have the same"
    } else if path == "Parameters" || path.starts_with("Parameters.ImageId") {
        ": workers.ami as an SSM parameter path is one for every target (AMI ids, ami-…, may differ by target; but not an SSM path for some and an AMI id for others)"
    } else if path.starts_with("Resources.") && path.matches('.').count() == 1 {
        ": a setting only some targets have (kms_key, a kind, a stage) changes which properties a resource has"
    } else {
        ""
    }
}

fn merge_if(values: &[&Value], maps: &mut Maps, path: &str) -> Result<Value, Unmergeable> {
    let arrays: Option<Vec<&Vec<Value>>> = values.iter().map(|v| v.as_array()).collect();
    let Some(arrays) = arrays.filter(|a| a.iter().all(|x| x.len() == 3)) else {
        return Err(Unmergeable(format!(
            "{path} is not a Fn::If of three arguments"
        )));
    };
    if arrays.iter().any(|a| a[0] != arrays[0][0]) {
        return Err(Unmergeable(format!(
            "{path} names a different condition between targets"
        )));
    }
    let mut out = vec![arrays[0][0].clone()];
    for i in 1..3 {
        let these: Vec<&Value> = arrays.iter().map(|a| &a[i]).collect();
        out.push(merge(
            &these,
            maps,
            &child(path, &i.to_string()),
            Position::Free,
        )?);
    }
    Ok(Value::Array(out))
}

/// A Fn::Sub's template and variables.
fn sub_of(v: &Value) -> Option<(&str, Option<&Map<String, Value>>)> {
    let o = v.as_object().filter(|o| o.len() == 1)?;
    match o.get("Fn::Sub")? {
        Value::String(s) => Some((s, None)),
        Value::Array(a) if a.len() == 2 => Some((a[0].as_str()?, Some(a[1].as_object()?))),
        _ => None,
    }
}

/// The variable the environment's name becomes in a merged Fn::Sub.
const ENV_VARIABLE: &str = "QfleetEnvironment";

fn merge_sub(values: &[&Value], maps: &mut Maps, path: &str) -> Result<Value, Unmergeable> {
    let subs: Vec<(&str, Option<&Map<String, Value>>)> =
        values.iter().filter_map(|v| sub_of(v)).collect();
    let placeholder = format!("${{{ENV_VARIABLE}}}");
    let templates: Vec<String> = subs
        .iter()
        .zip(maps.targets)
        .map(|((s, _), t)| s.replace(&t.environment, &placeholder))
        .collect();
    if templates.iter().any(|t| t != &templates[0])
        || subs.iter().any(|(s, _)| s.contains(&placeholder))
    {
        return Err(Unmergeable(format!(
            "{path} is a Fn::Sub that differs between targets by more than the environment's name"
        )));
    }
    let empty = Map::new();
    let vars: Vec<&Map<String, Value>> = subs.iter().map(|(_, v)| v.unwrap_or(&empty)).collect();
    let mut merged_vars = if vars.iter().all(|v| v.is_empty()) {
        Map::new()
    } else {
        let these: Vec<Value> = vars.iter().map(|v| Value::Object((*v).clone())).collect();
        let refs: Vec<&Value> = these.iter().collect();
        match merge(&refs, maps, &child(path, "Fn::Sub.1"), Position::Free)? {
            Value::Object(m) => m,
            _ => return Err(Unmergeable(format!("{path}'s variables differ in shape"))),
        }
    };
    if templates[0].contains(&placeholder) {
        let names: Vec<Value> = maps
            .targets
            .iter()
            .map(|t| Value::String(t.environment.clone()))
            .collect();
        let lookup = maps.lookup(names, Some(ENVIRONMENT_MAP));
        merged_vars.insert(ENV_VARIABLE.into(), lookup);
    }
    Ok(json!({ "Fn::Sub": [templates[0].clone(), Value::Object(merged_vars)] }))
}

/// The merged template as one instance reads it: its mappings looked up for `region` and
/// `account`, and the environment's name put back into each Fn::Sub.
pub fn instantiate(merged: &Value, region: &str, account: &str) -> Value {
    let mappings = merged.get("Mappings").cloned().unwrap_or(Value::Null);
    let mut out = resolve(merged, &mappings, region, account);
    // The mappings qfleet added are not the targets' own.
    if let Some(Value::Object(m)) = out.get_mut("Mappings") {
        m.retain(|k, _| k != ENVIRONMENT_MAP && !k.starts_with(VALUE_MAP));
        if m.is_empty() {
            out.as_object_mut().map(|o| o.remove("Mappings"));
        }
    }
    out
}

fn ours(name: &str) -> bool {
    name == ENVIRONMENT_MAP || name.starts_with(VALUE_MAP)
}

fn resolve(v: &Value, mappings: &Value, region: &str, account: &str) -> Value {
    match v {
        Value::Object(o) => {
            if let Some(Value::Array(args)) = o.get("Fn::FindInMap")
                && o.len() == 1
                && let Some(name) = args.first().and_then(Value::as_str)
                && ours(name)
            {
                // A literal second key stands for every account ([`EVERY_ACCOUNT`]).
                let key = args.get(2).and_then(Value::as_str).unwrap_or(account);
                return mappings
                    .pointer(&format!("/{name}/{region}/{key}"))
                    .cloned()
                    .unwrap_or(Value::Null);
            }
            if let Some(Value::Array(a)) = o.get("Fn::Sub")
                && o.len() == 1
                && a.len() == 2
                && let (Some(t), Some(vars)) = (a[0].as_str(), a[1].as_object())
            {
                let mut vars = vars.clone();
                let env = vars.remove(ENV_VARIABLE);
                let text = match env.map(|e| resolve(&e, mappings, region, account)) {
                    Some(Value::String(name)) => t.replace(&format!("${{{ENV_VARIABLE}}}"), &name),
                    _ => t.to_string(),
                };
                let vars = resolve(&Value::Object(vars), mappings, region, account);
                return if vars.as_object().is_some_and(Map::is_empty) {
                    json!({ "Fn::Sub": text })
                } else {
                    json!({ "Fn::Sub": [text, vars] })
                };
            }
            Value::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), resolve(v, mappings, region, account)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| resolve(v, mappings, region, account))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Two documents alike, a mapping's string standing for a number or a boolean.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s)) => {
            *s == n.to_string()
        }
        (Value::String(s), Value::Bool(x)) | (Value::Bool(x), Value::String(s)) => {
            *s == x.to_string()
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests;
