//! `qfleet render ENV [--out DIR]`: the environment's CloudFormation templates.

use crate::cli::Global;
use crate::config;
use crate::error::{Error, Result};
use crate::output::Output;
use crate::render;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Environment name (a file in the stacks directory) or path to a stack file.
    pub env: String,
    /// Write one file per stack (data.yaml, fleet.yaml) into this directory instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: RenderArgs, g: &Global, out: Output) -> Result<i32> {
    let path = config::locate(&args.env, &g.stacks_dir)?;
    let env = config::load(&path)?;
    let stacks = render::render(&env)?;

    let mut written = Vec::new();
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::usage(format!("--out {}: cannot create it: {e}", dir.display())))?;
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
        out.json(&serde_json::json!({
            "ok": true,
            "environment": env.name,
            "stack_file": env.source.display(),
            "stacks": stacks_json,
        }));
    } else if written.is_empty() {
        out.line(render::to_stream(&stacks).trim_end());
    } else {
        for (s, p) in stacks.iter().zip(&written) {
            out.line(format!("{:<28} {}", s.stack_name, p.display()));
        }
    }
    Ok(0)
}
