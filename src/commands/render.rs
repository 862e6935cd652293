//! `qfleet render ENV... [--out DIR]`: the environments' CloudFormation templates.

use super::Global;
use crate::error::{Error, Result};
use crate::output::Output;
use crate::output::envelope;
use crate::render;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Environment names (files in the stacks directory, copies, globs) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// Write one file per stack (data.yaml, fleet.yaml) into this directory instead of stdout
    /// (into DIR/ENV/ for each of several environments).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: RenderArgs, g: &Global, out: Output) -> Result<i32> {
    let envs = super::load_environments(&args.envs, g)?;
    let several = envs.len() > 1;
    let mut results = Vec::new();
    let mut stream = String::new();
    for env in &envs {
        let stacks = render::render(env)?;
        let mut written = Vec::new();
        if let Some(base) = &args.out {
            // Copies each get a directory of their own.
            let dir = if several {
                base.join(&env.name)
            } else {
                base.clone()
            };
            std::fs::create_dir_all(&dir).map_err(|e| {
                Error::usage(format!("--out {}: cannot create it: {e}", dir.display()))
            })?;
            for s in &stacks {
                let p = dir.join(&s.file_name);
                std::fs::write(&p, &s.template).map_err(|e| {
                    Error::usage(format!(
                        "--out {}: cannot write {}: {e}",
                        dir.display(),
                        p.display()
                    ))
                })?;
                written.push(p);
            }
        }
        if out.is_json() {
            let stacks_json: Vec<_> = stacks
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    serde_json::json!({
                        "role": s.role,
                        "stack_name": s.stack_name,
                        "file": written.get(i).map(|p| p.display().to_string()),
                        "template": if written.is_empty() { Some(&s.template) } else { None },
                    })
                })
                .collect();
            results.push(envelope::environment(
                &env.name,
                0,
                None,
                serde_json::json!({
                    "stack_file": env.source.display().to_string(),
                    "stacks": stacks_json,
                }),
            ));
        } else if written.is_empty() {
            stream.push_str(&render::to_stream(&stacks));
        } else {
            for (s, p) in stacks.iter().zip(&written) {
                stream.push_str(&format!("{:<28} {}\n", s.stack_name, p.display()));
            }
        }
    }
    if out.is_json() {
        out.document(envelope::document("render", 0, results, Default::default()));
    } else {
        out.line(stream.trim_end());
    }
    Ok(0)
}
