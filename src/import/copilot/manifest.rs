//! Reading a Copilot workload manifest: its YAML, its `type`, the `environments.<NAME>`
//! overrides merged over the base, where each setting stands in the file, and Copilot's
//! durations.
//!
//! Format: the Worker Service manifest reference
//! (<https://aws.github.io/copilot-cli/docs/manifest/worker-service/>) and the code that reads it,
//! `internal/pkg/manifest/worker_svc.go` and `workload.go` in
//! <https://github.com/aws/copilot-cli> (commit 4c858e71, 2024-03-25).

use crate::config::{Locations, SourceFile, byte_offset};
use crate::error::{InputError, Result};
use serde_yaml_ng::{Mapping, Value};
use std::path::Path;

/// The one workload type this importer reads (`manifestinfo.WorkerServiceType`).
const WORKER_SERVICE: &str = "Worker Service";

/// A Worker Service manifest, with one environment's overrides applied when asked.
#[derive(Debug)]
pub(in crate::import) struct Manifest {
    pub(super) source: SourceFile,
    /// The merged manifest, without `environments`.
    pub(super) doc: Mapping,
    /// The service's `name`.
    pub(in crate::import) name: String,
    /// The environment whose overrides were applied (`--env`).
    pub(super) environment: Option<String>,
    /// Every environment the manifest overrides settings for, in file order.
    pub(super) environments: Vec<String>,
    /// Every `${NAME}` substituted, in file order.
    pub(super) resolved: Vec<Resolved>,
    /// Every `${NAME}` that could not be (a predefined variable without its flag, or a
    /// variable the shell does not define), located: the import is refused with them.
    pub(super) unresolved: Vec<InputError>,
    locations: Locations,
}

/// What `${NAME}` in a manifest resolves to ("Environment Variables in the Manifest",
/// <https://aws.github.io/copilot-cli/docs/developing/manifest-env-var/>): Copilot's predefined
/// variables, `COPILOT_APPLICATION_NAME` and `COPILOT_ENVIRONMENT_NAME`, are the application
/// and environment deployed to (here `--app` and `--env`); any other name is read from the
/// shell's environment, as Copilot read it when it deployed.
#[derive(Debug, Clone, Copy, Default)]
pub(in crate::import) struct Variables<'a> {
    pub(super) app: Option<&'a str>,
    pub(super) env: Option<&'a str>,
    /// Looks a name up in the shell's environment; `None`: no shell variable is defined.
    pub(super) shell: Option<fn(&str) -> Option<String>>,
}

/// Copilot's predefined variable for the application's name.
const APP_VARIABLE: &str = "COPILOT_APPLICATION_NAME";
/// Copilot's predefined variable for the environment's name.
const ENV_VARIABLE: &str = "COPILOT_ENVIRONMENT_NAME";

/// One `${NAME}` substituted.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Resolved {
    /// The dotted path of the value it is in.
    pub(super) path: String,
    pub(super) line: Option<usize>,
    pub(super) variable: String,
    pub(super) value: String,
    /// Where the value came from: `--app`, `--env` or the shell's environment.
    pub(super) from: &'static str,
}

impl Manifest {
    /// Reads `text` (the manifest at `path`) and applies `environments.<env>` when `env` is
    /// given. Bad YAML, another workload type, no `name`, or an unknown environment is an input
    /// error located in the file.
    /// `${NAME}` references in string values are substituted first, as Copilot does before it
    /// reads the manifest (see [`Variables`]).
    pub(in crate::import) fn read(path: &Path, text: &str, vars: &Variables) -> Result<Manifest> {
        let env = vars.env;
        let source = SourceFile::new(path.to_path_buf(), text.to_string());
        let value: Value = match serde_yaml_ng::from_str(text) {
            Ok(v) => v,
            Err(e) => return Err(yaml_error(&source, &e).into()),
        };
        let Value::Mapping(mut doc) = value else {
            return Err(located(
                &source,
                "",
                "is not a Copilot manifest: expected a mapping with name and type",
            )
            .into());
        };
        let locations = Locations::index(text);
        let mut subst = Substitution {
            vars,
            source: &source,
            locations: &locations,
            resolved: Vec::new(),
            unresolved: Vec::new(),
        };
        for (k, v) in doc.iter_mut() {
            subst.value(&text_of(k), v);
        }
        let Substitution {
            resolved,
            unresolved,
            ..
        } = subst;
        match doc.get("type") {
            Some(Value::String(t)) if t == WORKER_SERVICE => {}
            Some(Value::String(t)) => {
                return Err(located(
                    &source,
                        "type",
                        format!(
                            "`{t}` is not a Worker Service: qfleet import copilot reads Worker Service manifests only (a queue and the workers that consume it); a {t} has no queue to carry over"
                        ),
                    )
                    .into());
            }
            _ => {
                return Err(located(
                    &source,
                        "type",
                        "has no `type: Worker Service`: qfleet import copilot reads Copilot Worker Service manifests only",
                    )
                    .into());
            }
        }
        let name = match doc.get("name") {
            Some(Value::String(n)) if !n.trim().is_empty() => n.clone(),
            _ => {
                return Err(located(
                    &source,
                    "name",
                    "has no `name`: every Copilot manifest names its service",
                )
                .into());
            }
        };
        let overrides = match doc.remove("environments") {
            Some(Value::Mapping(m)) => m,
            Some(Value::Null) | None => Mapping::new(),
            Some(_) => {
                return Err(located(
                    &source,
                    "environments",
                    "is not a mapping of environment names to overrides",
                )
                .into());
            }
        };
        let environments: Vec<String> = overrides.keys().map(text_of).collect();
        // An environment without overrides deploys the base manifest, as Copilot does; the
        // report says that none applied.
        if let Some(Value::Mapping(over)) = env.and_then(|e| overrides.get(e)) {
            merge(&mut doc, over);
        }
        Ok(Manifest {
            source,
            doc,
            name,
            environment: env.map(str::to_string),
            environments,
            resolved,
            unresolved,
            locations,
        })
    }

    /// Whether the manifest has `environments.<env>` overrides for the applied environment.
    pub(super) fn overrides_applied(&self) -> bool {
        self.environment
            .as_ref()
            .is_some_and(|e| self.environments.contains(e))
    }

    /// The value at a dotted path (`count.range.min`) of the merged manifest.
    pub(super) fn get(&self, path: &str) -> Option<&Value> {
        let mut v: Option<&Value> = None;
        for (i, seg) in path.split('.').enumerate() {
            v = if i == 0 {
                self.doc.get(seg)
            } else {
                match v? {
                    Value::Mapping(m) => m.get(seg),
                    Value::Sequence(s) => s.get(seg.parse::<usize>().ok()?),
                    _ => None,
                }
            };
        }
        v
    }

    /// The line the setting at `path` is written on: in the applied environment's overrides
    /// when it sets it there, else in the base.
    pub(super) fn line(&self, path: &str) -> Option<usize> {
        let over = self
            .environment
            .as_ref()
            .and_then(|e| self.locations.key(&format!("environments.{e}.{path}")));
        over.or_else(|| self.locations.key(path)).map(|p| p.line)
    }

    /// The unquoted scalar at `path` as written (`True`, `0x10`, `1.50`), where the YAML parser
    /// reads a boolean or a number: Copilot hands variables to the container as the text it
    /// read (a `map[string]string`), so that is what the worker got.
    pub(super) fn as_written(&self, path: &str) -> Option<String> {
        let over = self.environment.as_ref().and_then(|e| {
            self.locations
                .plain_text(&format!("environments.{e}.{path}"))
        });
        over.or_else(|| self.locations.plain_text(path))
            .map(str::to_string)
    }

    /// The environments whose overrides set `path` (to say which `--env` would give it).
    pub(super) fn environments_setting(&self, path: &str) -> Vec<String> {
        self.environments
            .iter()
            .filter(|e| {
                self.locations
                    .key(&format!("environments.{e}.{path}"))
                    .is_some()
            })
            .cloned()
            .collect()
    }

    /// An input error about the setting at `path`, located in the manifest: in the applied
    /// environment's overrides when they set it, else in the base. The field named is `path`.
    pub(super) fn error(&self, path: &str, message: impl Into<String>) -> InputError {
        let over = self
            .environment
            .as_ref()
            .map(|e| format!("environments.{e}.{path}"))
            .filter(|p| self.locations.key(p).is_some());
        let mut e = self.source.error(over.as_deref().unwrap_or(path), message);
        e.field = path.to_string();
        e.allowed = None;
        e
    }
}

/// The substitution of `${NAME}` in every string value (not in keys), as Copilot's
/// interpolator does it (`internal/pkg/manifest/interpolate.go`, read at commit 4c858e71): a
/// name is a letter or `_` then letters, digits or `_`; `\${NAME}` is kept as `${NAME}`; a
/// string that becomes a JSON list of strings becomes that list (`SECURITY_GROUPS=["sg-1"]`).
struct Substitution<'a> {
    vars: &'a Variables<'a>,
    source: &'a SourceFile,
    locations: &'a Locations,
    resolved: Vec<Resolved>,
    unresolved: Vec<InputError>,
}

impl Substitution<'_> {
    fn value(&mut self, path: &str, v: &mut Value) {
        match v {
            Value::Mapping(m) => {
                for (k, child) in m.iter_mut() {
                    self.value(&format!("{path}.{}", text_of(k)), child);
                }
            }
            Value::Sequence(items) => {
                for (i, child) in items.iter_mut().enumerate() {
                    self.value(&format!("{path}.{i}"), child);
                }
            }
            Value::String(s) if s.contains("${") => {
                let out = self.string(path, s);
                match serde_json::from_str::<Vec<String>>(&out) {
                    Ok(list) if !list.is_empty() && out != *s => {
                        *v = Value::Sequence(list.into_iter().map(Value::String).collect());
                    }
                    _ => *s = out,
                }
            }
            _ => {}
        }
    }

    /// The line of `path`, or of its nearest parent the index knows.
    fn line(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(pos) = self.locations.key(p) {
                return Some(pos.line);
            }
            p = &p[..p.rfind('.')?];
        }
    }

    fn string(&mut self, path: &str, s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            let (before, after) = rest.split_at(i);
            let name_end = after[2..]
                .find('}')
                .filter(|&n| is_variable_name(&after[2..2 + n]));
            let Some(n) = name_end else {
                out.push_str(before);
                out.push_str("${");
                rest = &after[2..];
                continue;
            };
            let name = &after[2..2 + n];
            if let Some(kept) = before.strip_suffix('\\') {
                out.push_str(kept);
                out.push_str(&after[..3 + n]);
                rest = &after[3 + n..];
                continue;
            }
            out.push_str(before);
            rest = &after[3 + n..];
            let (value, from, flag) = match name {
                APP_VARIABLE => (
                    self.vars.app.map(str::to_string),
                    "--app",
                    Some("--app NAME"),
                ),
                ENV_VARIABLE => (
                    self.vars.env.map(str::to_string),
                    "--env",
                    Some("--env NAME"),
                ),
                _ => (
                    self.vars.shell.and_then(|look| look(name)),
                    "the shell's environment",
                    None,
                ),
            };
            match value {
                Some(value) => {
                    out.push_str(&value);
                    self.resolved.push(Resolved {
                        path: path.to_string(),
                        line: self.line(path),
                        variable: name.to_string(),
                        value,
                        from,
                    });
                }
                None => {
                    out.push_str(&after[..3 + n]);
                    let why = match flag {
                        Some(flag) => format!(
                            "`${{{name}}}`: Copilot resolved it to the {} it deployed to; give it with {flag} (Copilot's \"Environment Variables in the Manifest\")",
                            if name == APP_VARIABLE {
                                "application"
                            } else {
                                "environment"
                            }
                        ),
                        None => format!(
                            "`${{{name}}}`: Copilot read it from the shell's environment when it deployed, and refused the manifest when it was not defined: define {name} in the shell that runs qfleet import, or write the value in the manifest"
                        ),
                    };
                    let mut e = self.source.error(path, why);
                    e.allowed = None;
                    self.unresolved.push(e);
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// A shell variable's name as Copilot's interpolator matches it: `[_a-zA-Z][_a-zA-Z0-9]*`.
fn is_variable_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Copilot's merge of an environment's overrides (mergo with override): mappings merged key by
/// key, anything else (a list, a scalar, a mapping over a scalar) replaced; an empty
/// override changes nothing.
fn merge(base: &mut Mapping, over: &Mapping) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (_, Value::Null) => {}
            (Some(Value::Mapping(b)), Value::Mapping(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// A YAML scalar as text (keys and values alike).
pub(super) fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => serde_yaml_ng::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// An input error at `path` of the manifest, without the stack-file help `SourceFile::error`
/// would add for a key of the same name.
pub(super) fn located(source: &SourceFile, path: &str, message: impl Into<String>) -> InputError {
    let mut e = source.error(path, message);
    e.allowed = None;
    e
}

/// A YAML syntax error, located at the parser's line and column.
pub(super) fn yaml_error(source: &SourceFile, e: &serde_yaml_ng::Error) -> InputError {
    let full = e.to_string();
    let message = match full.find(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full.clone(),
    };
    let message = format!("is not valid YAML: {message}");
    match e.location() {
        Some(loc) => {
            let offset = byte_offset(&source.text, loc.line(), loc.column().saturating_sub(1));
            let mut err = source.error_at_line("-", loc.line(), loc.column(), offset, message);
            err.allowed = None;
            err
        }
        None => located(source, "", message),
    }
}

/// Parses a Go duration as Copilot reads it (`time.ParseDuration` through yaml.v3): decimal
/// numbers each with a unit of `ns`, `us` (or `µs`), `ms`, `s`, `m` or `h`, joined (`1h30m`,
/// `1.5s`, `250ms`); `0` alone needs no unit. Returns seconds.
/// (<https://pkg.go.dev/time#ParseDuration>)
pub(in crate::import) fn go_duration(text: &str) -> std::result::Result<f64, String> {
    let t = text.trim();
    let bad = |why: &str| Err(format!("`{text}` is not a duration: {why}"));
    let (negative, mut rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if rest == "0" {
        return Ok(0.0);
    }
    if rest.is_empty() {
        return bad("it is empty");
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..end];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return bad("expected a number before each unit");
        }
        let Ok(value) = number.parse::<f64>() else {
            return bad("expected a number before each unit");
        };
        rest = &rest[end..];
        let end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3_600.0,
            "" => return bad("a number without a unit (Go durations need one: 30s, 15m, 2h)"),
            other => {
                return bad(&format!(
                    "unknown unit `{other}` (Go durations take ns, us, ms, s, m, h)"
                ));
            }
        };
        total += value * factor;
        rest = &rest[end..];
    }
    if negative && total != 0.0 {
        return bad("it is negative");
    }
    Ok(total)
}

/// A duration setting read kindly: what Copilot accepts, plus whole days (`5d`), which Copilot
/// would have rejected (the second value says so). A bare number other than 0 is refused, as
/// yaml.v3 refuses it ("This used to work in v2, but it's very unfriendly").
pub(in crate::import) fn duration(v: &Value) -> std::result::Result<(f64, Option<String>), String> {
    match v {
        Value::Number(n) if n.as_f64() == Some(0.0) => Ok((0.0, None)),
        Value::Number(n) => Err(format!(
            "`{n}` is a bare number; Copilot takes a duration with a unit (30s, 15m, 2h), so it would have refused this"
        )),
        Value::String(s) => match go_duration(s) {
            Ok(secs) => Ok((secs, None)),
            Err(why) => {
                let days = s
                    .trim()
                    .strip_suffix('d')
                    .and_then(|d| d.parse::<u64>().ok());
                match days {
                    Some(d) => Ok((
                        (d * 86_400) as f64,
                        Some(format!(
                            "`{s}` read as {d} day{}; Copilot reads its durations with Go's time.ParseDuration, which has no d unit, so Copilot likely refused it: write {}h there",
                            if d == 1 { "" } else { "s" },
                            d * 24
                        )),
                    )),
                    None => Err(why),
                }
            }
        },
        other => Err(format!("`{}` is not a duration", text_of(other))),
    }
}
