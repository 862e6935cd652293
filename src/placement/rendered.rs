//! `render`'s result: the environments' templates as one YAML stream on stdout, or written one
//! file per stack (`--out DIR`, `DIR/ENV/` for each of several environments) and listed; and
//! the document, with each template or the file it was written to.

use crate::config::Environment;
use crate::error::Result;
use crate::output::{Document, Environment as EnvDoc, Output, Report};
use qfleet_engine::render::{RenderedStack, StackRole};
use schemars::JsonSchema;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One environment's rendered stacks, and the files they were written to (none without `--out`).
struct Rendered {
    environment: String,
    stack_file: String,
    stacks: Vec<RenderedStack>,
    written: Vec<PathBuf>,
    /// For a target deployed through StackSets, the stack set of each of `stacks`: the stack
    /// is that stack set's instance in the target's account and region (its name is
    /// CloudFormation's), and the template it gets is the stack set's.
    stack_sets: Vec<Option<String>>,
}

/// The stack sets of one stack file deployed through StackSets (`rollout.mode: stack_sets`):
/// their templates, each target's values merged in, and the files they were written to.
struct RenderedSets {
    stack_file: String,
    sets: Vec<RenderedStack>,
    written: Vec<PathBuf>,
}

/// Every environment's templates, and the stack sets of the StackSets files among them.
pub(crate) struct Renders {
    environments: Vec<Rendered>,
    stack_sets: Vec<RenderedSets>,
}

/// Renders every environment, writing each one's templates under `out` when given (and the
/// stack sets' templates under `out/stack-sets/`).
pub(crate) fn render_all(envs: &[Environment], out: Option<&Path>) -> Result<Renders> {
    // Everything is rendered, and the stack sets merged, before anything is written: a file
    // whose targets cannot share a template leaves no files behind.
    let rendered: Vec<Vec<RenderedStack>> = envs
        .iter()
        .map(crate::render::render)
        .collect::<Result<_, _>>()?;
    let mut stack_sets = Vec::new();
    for file in qfleet_engine::validate::stack_set_files(envs)? {
        stack_sets.push(RenderedSets {
            stack_file: file.base.source.display(),
            sets: crate::render::stack_sets_of(&file)?,
            written: Vec::new(),
        });
    }
    let environments = envs
        .iter()
        .zip(rendered)
        .map(|(env, stacks)| Rendered {
            environment: env.name.clone(),
            stack_file: env.source.display(),
            stack_sets: stacks
                .iter()
                .map(|s| env.stack_set_of(&s.stack_name))
                .collect(),
            stacks,
            written: Vec::new(),
        })
        .collect();
    let mut renders = Renders {
        environments,
        stack_sets,
    };
    if let Some(base) = out {
        renders.write(base)?;
    }
    Ok(renders)
}

/// The folder of `--out DIR` that holds the stack sets' templates.
const STACK_SETS_DIR: &str = "stack-sets";

impl Renders {
    /// The folder under `--out DIR` of environment `i`'s templates: DIR itself for one
    /// environment; with several (copies, targets), each its own, by its name.
    fn folder(&self, i: usize) -> Option<&str> {
        (self.environments.len() > 1).then(|| self.environments[i].environment.as_str())
    }

    /// Every template as `render --out DIR` writes it: its path under DIR and its text.
    pub(crate) fn files(&self) -> Vec<(PathBuf, &str)> {
        let mut files = Vec::new();
        for (i, e) in self.environments.iter().enumerate() {
            let dir = self.folder(i).map(PathBuf::from).unwrap_or_default();
            for s in &e.stacks {
                files.push((dir.join(&s.file_name), s.template.as_str()));
            }
        }
        for f in &self.stack_sets {
            for s in &f.sets {
                files.push((
                    Path::new(STACK_SETS_DIR).join(&s.file_name),
                    s.template.as_str(),
                ));
            }
        }
        files
    }

    /// Writes every template under `base` ([`Renders::files`]' places), keeping the paths.
    fn write(&mut self, base: &Path) -> Result<()> {
        for i in 0..self.environments.len() {
            let dir = match self.folder(i) {
                Some(name) => base.join(name),
                None => base.to_path_buf(),
            };
            let e = &mut self.environments[i];
            e.written = write(&dir, &e.stacks)?;
        }
        for f in &mut self.stack_sets {
            f.written = write(&base.join(STACK_SETS_DIR), &f.sets)?;
        }
        Ok(())
    }
}

/// Writes one file per stack into `dir` (created), returning their paths.
fn write(dir: &Path, stacks: &[RenderedStack]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|source| {
        crate::render::errors::Usage::OutDirUncreatable {
            dir: dir.to_path_buf(),
            source,
        }
    })?;
    let mut written = Vec::new();
    for s in stacks {
        let p = dir.join(&s.file_name);
        std::fs::write(&p, &s.template).map_err(|source| {
            crate::render::errors::Usage::OutFileUnwritable {
                dir: dir.to_path_buf(),
                path: p.clone(),
                source,
            }
        })?;
        written.push(p);
    }
    Ok(written)
}

/// The rendered templates of each environment.
#[derive(Serialize, JsonSchema)]
struct Body<'a> {
    /// The stack file's path.
    stack_file: String,
    stacks: Vec<Stack<'a>>,
}

/// `render`'s own top-level key.
#[derive(Serialize, JsonSchema)]
struct Own<'a> {
    /// The stack sets of the stack files deployed through StackSets (`rollout.mode:
    /// stack_sets`) whose targets were rendered, each file's once: what CloudFormation
    /// deploys to their targets (empty without such a file).
    stack_sets: Vec<StackSet<'a>>,
}

/// One stack set's template.
#[derive(Serialize, JsonSchema)]
struct StackSet<'a> {
    /// The stack file's path.
    stack_file: &'a str,
    stack_set: &'a str,
    /// The file it was written to (`--out`), else null.
    file: Option<String>,
    /// The template (JSON), when it was not written to a file.
    template: Option<&'a str>,
}

/// The schema of `qfleet render`'s document.
#[cfg(test)]
pub(crate) fn schema() -> serde_json::Value {
    use crate::output::document_schema::{self as schema, Environments};
    schema::document::<Body<'static>, Own<'static>>(
        "render",
        "qfleet render --output json",
        Environments::Each,
    )
}

/// One stack's template.
#[derive(Serialize, JsonSchema)]
struct Stack<'a> {
    role: StackRole,
    /// The stack's name; for a target deployed through StackSets, the name qfleet knows it
    /// by (CloudFormation names the instance's stack `StackSet-…`).
    stack_name: &'a str,
    /// For a target deployed through StackSets: the stack set whose instance this stack is
    /// (its template, in `stack_sets`, is what the instance gets); else null.
    stack_set: Option<&'a str>,
    /// The file it was written to (`--out`), else null.
    file: Option<String>,
    /// The template, when it was not written to a file.
    template: Option<&'a str>,
}

impl Report for Renders {
    fn exit_code(&self) -> crate::error::Exit {
        crate::error::Exit::Ok
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let environments = self
            .environments
            .iter()
            .map(|r| {
                let stacks = r
                    .stacks
                    .iter()
                    .enumerate()
                    .map(|(i, s)| Stack {
                        role: s.role,
                        stack_name: &s.stack_name,
                        stack_set: r.stack_sets.get(i).and_then(|x| x.as_deref()),
                        file: r.written.get(i).map(|p| p.display().to_string()),
                        template: r.written.is_empty().then_some(s.template.as_str()),
                    })
                    .collect();
                let body = Body {
                    stack_file: r.stack_file.clone(),
                    stacks,
                };
                EnvDoc::ok(&r.environment, body)
            })
            .collect();
        let stack_sets = self
            .stack_sets
            .iter()
            .flat_map(|f| {
                f.sets.iter().enumerate().map(|(i, s)| StackSet {
                    stack_file: &f.stack_file,
                    stack_set: &s.stack_name,
                    file: f.written.get(i).map(|p| p.display().to_string()),
                    template: f.written.is_empty().then_some(s.template.as_str()),
                })
            })
            .collect();
        Document::with_own(crate::error::Exit::Ok, environments, Own { stack_sets })
    }

    fn text(&self, out: &Output) -> Result<()> {
        out.line(text(self).trim_end());
        Ok(())
    }
}

/// The templates as one YAML stream, each headed by its stack's name (JSON is YAML: the stack
/// sets' templates are in it too); or, written to files, a line per file naming its stack.
fn text(r: &Renders) -> String {
    let label = |name: &str, set: Option<&str>, env: &str| match set {
        Some(set) => format!("{env}'s instance of stack set {set}"),
        None => name.to_string(),
    };
    let mut stream = String::new();
    let mut rows: Vec<(String, String)> = Vec::new();
    for e in &r.environments {
        if e.written.is_empty() {
            for (s, set) in e.stacks.iter().zip(&e.stack_sets) {
                stream.push_str(&format!(
                    "# {} ({})\n---\n",
                    label(&s.stack_name, set.as_deref(), &e.environment),
                    s.file_name
                ));
                stream.push_str(&terminated(&s.template));
            }
        } else {
            for ((s, p), set) in e.stacks.iter().zip(&e.written).zip(&e.stack_sets) {
                let name = match set {
                    Some(set) => format!("{set} in {}", e.environment),
                    None => s.stack_name.clone(),
                };
                rows.push((name, p.display().to_string()));
            }
        }
    }
    for f in &r.stack_sets {
        if f.written.is_empty() {
            for s in &f.sets {
                stream.push_str(&format!(
                    "# stack set {} of {} ({})\n---\n",
                    s.stack_name, f.stack_file, s.file_name
                ));
                // Indented to be read: the template is one line of JSON (what CloudFormation
                // gets, and what --out writes), tens of kilobytes long.
                let readable = serde_json::from_str::<serde_json::Value>(&s.template)
                    .and_then(|v| serde_json::to_string_pretty(&v))
                    .unwrap_or_else(|_| s.template.clone());
                stream.push_str(&terminated(&readable));
            }
        } else {
            for (s, p) in f.sets.iter().zip(&f.written) {
                rows.push((
                    format!("stack set {}", s.stack_name),
                    p.display().to_string(),
                ));
            }
        }
    }
    let width = rows
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    for (name, path) in rows {
        stream.push_str(&format!("{name:<width$}  {path}\n"));
    }
    stream
}

/// `text` ending in a newline (a template of the YAML stream `render` prints).
fn terminated(text: &str) -> String {
    match text.ends_with('\n') {
        true => text.to_string(),
        false => format!("{text}\n"),
    }
}

#[cfg(test)]
mod tests {
    use crate::output::Report;

    fn example(name: &str) -> Vec<crate::config::Environment> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name);
        crate::config::load(&path).unwrap().expand()
    }

    fn document(r: &super::Renders) -> serde_json::Value {
        serde_json::to_value(r.document()).unwrap()
    }

    #[test]
    fn a_stack_sets_file_renders_its_stack_sets_and_names_each_targets_stack_by_its_stack_set() {
        let envs = example("stack-sets.yaml");
        let file = envs[0].source.display();
        let r = super::render_all(&envs, None).unwrap();
        let stream = super::text(&r);
        let headers: Vec<&str> = stream.lines().filter(|l| l.starts_with("# ")).collect();
        assert_eq!(
            headers,
            [
                "# fleetsets-eu1's instance of stack set qfleet-fleetsets-data (data.yaml)",
                "# fleetsets-eu1's instance of stack set qfleet-fleetsets-fleet (fleet.yaml)",
                "# fleetsets-us1's instance of stack set qfleet-fleetsets-data (data.yaml)",
                "# fleetsets-us1's instance of stack set qfleet-fleetsets-fleet (fleet.yaml)",
                "# fleetsets-eu2's instance of stack set qfleet-fleetsets-data (data.yaml)",
                "# fleetsets-eu2's instance of stack set qfleet-fleetsets-fleet (fleet.yaml)",
                &format!(
                    "# stack set qfleet-fleetsets-data of {file} (qfleet-fleetsets-data.json)"
                ),
                &format!(
                    "# stack set qfleet-fleetsets-fleet of {file} (qfleet-fleetsets-fleet.json)"
                ),
            ]
        );
        // One YAML stream: the stack sets' JSON templates are documents of it.
        let docs: Vec<serde_yaml_ng::Value> = serde_yaml_ng::Deserializer::from_str(&stream)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .collect();
        assert_eq!(docs.len(), 8);
        assert!(
            docs[7]["Mappings"].is_mapping(),
            "the merged fleet template"
        );
        // Indented to be read, and the same template as the one line CloudFormation gets.
        let fleet = &r.stack_sets[0].sets[1].template;
        assert!(!fleet.contains('\n'));
        assert!(stream.contains("\n  \"Mappings\": {\n"), "{stream}");
        let same: serde_yaml_ng::Value = serde_yaml_ng::from_str(fleet).unwrap();
        assert_eq!(docs[7], same);

        let v = document(&r);
        assert_eq!(
            v["environments"][2]["stacks"][0]["stack_set"],
            "qfleet-fleetsets-data"
        );
        let sets = v["stack_sets"].as_array().unwrap();
        assert_eq!(sets.len(), 2);
        assert_eq!(sets[1]["stack_set"], "qfleet-fleetsets-fleet");
        assert_eq!(sets[1]["stack_file"], file.as_str());
        assert!(sets[1]["template"].as_str().unwrap().starts_with('{'));

        let dir = tempfile::tempdir().unwrap();
        let r = super::render_all(&envs, Some(dir.path())).unwrap();
        let listed = super::text(&r);
        let set_file = dir.path().join("stack-sets/qfleet-fleetsets-fleet.json");
        assert!(set_file.is_file());
        assert!(
            listed
                .lines()
                .any(|l| l.starts_with("stack set qfleet-fleetsets-fleet ")
                    && l.ends_with(&set_file.display().to_string())),
            "{listed}"
        );
        let target_file = dir.path().join("fleetsets-eu2/data.yaml");
        assert!(
            listed
                .lines()
                .any(|l| l.starts_with("qfleet-fleetsets-data in fleetsets-eu2 ")
                    && l.ends_with(&target_file.display().to_string())),
            "{listed}"
        );
        assert!(!listed.contains("qfleet-fleetsets-eu2-data"), "{listed}");
        let v = document(&r);
        assert_eq!(v["stack_sets"][1]["file"], set_file.display().to_string());
        assert!(v["stack_sets"][1]["template"].is_null());
    }

    /// A StackSets file whose targets cannot share a template is refused before anything is
    /// written.
    #[test]
    fn an_unmergeable_stack_sets_file_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = crate::config::unmergeable_stack_sets(dir.path());
        let envs = crate::config::load(&path).unwrap().expand();
        let out = dir.path().join("out");
        let Err(err) = super::render_all(&envs, Some(&out)) else {
            panic!("rendered")
        };
        assert_eq!(err.exit_code(), crate::error::Exit::Input);
        assert!(!out.exists(), "{}", out.display());
    }

    #[test]
    fn a_file_deployed_under_its_own_names_has_no_stack_sets() {
        let envs = example("batch.yaml");
        let r = super::render_all(&envs, None).unwrap();
        let stream = super::text(&r);
        assert!(
            stream.starts_with("# qfleet-batch-data (data.yaml)\n---\n"),
            "{stream}"
        );
        let v = document(&r);
        assert_eq!(v["stack_sets"], serde_json::json!([]));
        assert!(v["environments"][0]["stacks"][0]["stack_set"].is_null());
    }
}
