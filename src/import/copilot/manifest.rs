//! Reading a Copilot workload manifest: its YAML, its `type`, the `environments.<NAME>`
//! overrides merged over the base, where each setting stands in the file, and Copilot's
//! durations.
//!
//! Format: the Worker Service manifest reference
//! (<https://aws.github.io/copilot-cli/docs/manifest/worker-service/>) and the code that reads it,
//! `internal/pkg/manifest/worker_svc.go` and `workload.go` in
//! <https://github.com/aws/copilot-cli> (commit 4c858e71, 2024-03-25).

use crate::config::SourceFile;
use crate::config::positions::{Locations, byte_offset};
use crate::error::{Error, InputError, Result};
use serde_yaml_ng::{Mapping, Value};
use std::path::Path;

/// The one workload type this importer reads (`manifestinfo.WorkerServiceType`).
pub const WORKER_SERVICE: &str = "Worker Service";

/// A Worker Service manifest, with one environment's overrides applied when asked.
#[derive(Debug)]
pub struct Manifest {
    pub source: SourceFile,
    /// The merged manifest, without `environments`.
    pub doc: Mapping,
    /// The service's `name`.
    pub name: String,
    /// The environment whose overrides were applied (`--env`).
    pub environment: Option<String>,
    /// Every environment the manifest overrides settings for, in file order.
    pub environments: Vec<String>,
    locations: Locations,
}

impl Manifest {
    /// Reads `text` (the manifest at `path`) and applies `environments.<env>` when `env` is
    /// given. Bad YAML, another workload type, no `name`, or an unknown environment is an input
    /// error located in the file.
    pub fn read(path: &Path, text: &str, env: Option<&str>) -> Result<Manifest> {
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
        if let Some(env) = env {
            let Some(over) = overrides.get(env) else {
                let known = if environments.is_empty() {
                    "the manifest overrides no environment; leave --env out".to_string()
                } else {
                    format!("its environments are {}", environments.join(", "))
                };
                return Err(Error::usage(format!(
                    "--env {env}: {} has no `environments.{env}`; {known}",
                    source.display()
                )));
            };
            if let Value::Mapping(over) = over {
                merge(&mut doc, over);
            }
        }
        Ok(Manifest {
            source,
            doc,
            name,
            environment: env.map(str::to_string),
            environments,
            locations,
        })
    }

    /// The value at a dotted path (`count.range.min`) of the merged manifest.
    pub fn get(&self, path: &str) -> Option<&Value> {
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
    pub fn line(&self, path: &str) -> Option<usize> {
        let over = self
            .environment
            .as_ref()
            .and_then(|e| self.locations.key(&format!("environments.{e}.{path}")));
        over.or_else(|| self.locations.key(path)).map(|p| p.line)
    }

    /// Whether the applied environment's overrides set `path`.
    pub fn overridden(&self, path: &str) -> bool {
        self.environment.as_ref().is_some_and(|e| {
            self.locations
                .key(&format!("environments.{e}.{path}"))
                .is_some()
        })
    }

    /// The environments whose overrides set `path` (to say which `--env` would give it).
    pub fn environments_setting(&self, path: &str) -> Vec<String> {
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

    /// An input error about the setting at `path`, located in the manifest.
    pub fn error(&self, path: &str, message: impl Into<String>) -> InputError {
        let mut e = self.source.error(path, message);
        e.allowed = None;
        e
    }
}

/// Copilot's merge of an environment's overrides (mergo with override): mappings merged key by
/// key, anything else (a list, a scalar, a mapping over a scalar) replaced; an empty
/// override changes nothing.
pub fn merge(base: &mut Mapping, over: &Mapping) {
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
pub fn text_of(v: &Value) -> String {
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
fn located(source: &SourceFile, path: &str, message: impl Into<String>) -> InputError {
    let mut e = source.error(path, message);
    e.allowed = None;
    e
}

/// A YAML syntax error, located at the parser's line and column.
fn yaml_error(source: &SourceFile, e: &serde_yaml_ng::Error) -> InputError {
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
pub fn go_duration(text: &str) -> std::result::Result<f64, String> {
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
pub fn duration(v: &Value) -> std::result::Result<(f64, Option<String>), String> {
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
                            "`{s}` read as {d} day{}; Copilot would have rejected it (Go durations have no d unit: write {}h)",
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
