//! `render`'s result: the environments' templates as one YAML stream on stdout, or written one
//! file per stack (`--out DIR`, `DIR/ENV/` for each of several environments) and listed; and
//! the document, with each template or the file it was written to.

use super::{RenderedStack, StackRole};
use crate::config::Environment;
use crate::error::{Result, Usage};
use crate::output::Output;
use crate::output::report::{Document, Environment as EnvDoc, Report};
use schemars::JsonSchema;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One environment's rendered stacks, and the files they were written to (none without `--out`).
pub struct Rendered {
    pub environment: String,
    pub stack_file: String,
    pub stacks: Vec<RenderedStack>,
    pub written: Vec<PathBuf>,
}

/// Every environment's templates.
pub struct Renders(pub Vec<Rendered>);

/// Renders every environment, writing each one's templates under `out` when given.
pub fn render_all(envs: &[Environment], out: Option<&Path>) -> Result<Renders> {
    let several = envs.len() > 1;
    let mut all = Vec::new();
    for env in envs {
        let stacks = super::render(env)?;
        let written = match out {
            // Copies each get a directory of their own.
            Some(base) if several => write(&base.join(&env.name), &stacks)?,
            Some(base) => write(base, &stacks)?,
            None => Vec::new(),
        };
        all.push(Rendered {
            environment: env.name.clone(),
            stack_file: env.source.display(),
            stacks,
            written,
        });
    }
    if let Some(base) = out {
        for file in stack_set_files(envs)? {
            let dir = base.join("stack-sets");
            write(&dir, &super::stack_sets_of(&file)?)?;
        }
    }
    Ok(Renders(all))
}

/// The stack files (each loaded whole, with all its targets) of the environments that are
/// targets deployed by StackSets (`rollout.mode: stack_sets`), each once.
pub fn stack_set_files(envs: &[Environment]) -> Result<Vec<Environment>> {
    let mut paths: Vec<&Path> = Vec::new();
    for env in envs {
        if env.target.is_some()
            && env.spec.rollout.mode == crate::config::schema::RolloutMode::StackSets
            && !paths.contains(&env.source.path.as_path())
        {
            paths.push(&env.source.path);
        }
    }
    paths.into_iter().map(crate::config::load).collect()
}

/// Writes one file per stack into `dir` (created), returning their paths.
fn write(dir: &Path, stacks: &[RenderedStack]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|source| Usage::OutDirUncreatable {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for s in stacks {
        let p = dir.join(&s.file_name);
        std::fs::write(&p, &s.template).map_err(|source| Usage::OutFileUnwritable {
            dir: dir.to_path_buf(),
            path: p.clone(),
            source,
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

/// The schema of `qfleet render`'s document.
#[cfg(test)]
pub fn schema() -> serde_json::Value {
    use crate::output::schema::{self, Environments};
    schema::document::<Body<'static>, ()>(
        "render",
        "qfleet render --output json",
        Environments::Each,
    )
}

/// One stack's template.
#[derive(Serialize, JsonSchema)]
struct Stack<'a> {
    role: StackRole,
    stack_name: &'a str,
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
            .0
            .iter()
            .map(|r| {
                let stacks = r
                    .stacks
                    .iter()
                    .enumerate()
                    .map(|(i, s)| Stack {
                        role: s.role,
                        stack_name: &s.stack_name,
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
        Document::new(crate::error::Exit::Ok, environments)
    }

    fn text(&self, out: &Output) -> Result<()> {
        let mut stream = String::new();
        for r in &self.0 {
            if r.written.is_empty() {
                stream.push_str(&super::to_stream(&r.stacks));
            } else {
                for (s, p) in r.stacks.iter().zip(&r.written) {
                    stream.push_str(&format!("{:<28} {}\n", s.stack_name, p.display()));
                }
            }
        }
        out.line(stream.trim_end());
        Ok(())
    }
}
