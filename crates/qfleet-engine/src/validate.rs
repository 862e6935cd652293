//! The offline half of `qfleet validate`: an environment's templates rendered and checked, the
//! advice on its settings, and the size of the template each of its stacks is deployed with.
//! The root's `validate` prints them; `deploy` and `plan` check the same templates.

use crate::config::{Environment, LoadedFile};
use crate::render::{self, RenderedStack, check};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// The rendered stacks, checked: a problem in a template is invalid input.
pub fn check(env: &Environment) -> Result<Vec<RenderedStack>> {
    let stacks = render::render(env)?;
    let problems: Vec<String> = stacks.iter().flat_map(check::check).collect();
    if !problems.is_empty() {
        return Err(Error::TemplateProblems {
            env: env.name.clone(),
            problems,
        });
    }
    Ok(stacks)
}

/// The advice on every stage's settings, each said once; a pipeline's name their stage.
pub fn warnings(env: &Environment) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for stage in env.stages() {
        let label = stage
            .stage
            .as_ref()
            .filter(|_| env.is_pipeline())
            .map(|s| format!("stage {}: ", s.name));
        for w in crate::config::warnings(stage)
            .into_iter()
            .chain(crate::sim::peak_warning(stage))
        {
            let about_stage = ["workers", "queue", "scaling", "sources"]
                .iter()
                .any(|k| w.starts_with(&format!("{k}.")));
            let w = match &label {
                Some(l) if about_stage => format!("{l}{w}"),
                _ => w,
            };
            // Advice on the environment's own settings (the bucket) is the same for each stage.
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out.extend(limit_warnings(env));
    out.extend(crate::sim::budget::warning(env));
    out
}

/// A limit whose stages may run more workers than it has slots: the others wait, busy, and
/// backlog scaling adds them (docs/workers.md, "Limits shared across stages").
fn limit_warnings(env: &Environment) -> Vec<String> {
    env.spec
        .limits
        .iter()
        .filter_map(|(name, n)| {
            let most: i64 = env
                .stages()
                .iter()
                .filter(|s| s.spec.workers.limits.contains(name))
                .map(|s| s.spec.workers.max)
                .sum();
            (most > i64::from(*n)).then(|| {
                format!(
                    "limits.{name}: the workers that name it may run {most} at once, and {n} jobs hold it: the others wait, counted busy, and backlog scaling adds more of them; lower their workers.max or raise the limit"
                )
            })
        })
        .collect()
}

/// The stack files (each loaded whole, with all its targets) of the environments that are
/// targets deployed by StackSets (`rollout.mode: stack_sets`), each once.
pub fn stack_set_files(envs: &[Environment]) -> Result<Vec<LoadedFile>> {
    let mut paths: Vec<&Path> = Vec::new();
    for env in envs {
        if env.through_stack_sets() && !paths.contains(&env.source.path.as_path()) {
            paths.push(&env.source.path);
        }
    }
    paths
        .into_iter()
        .map(|path| Ok(crate::config::load(path)?))
        .collect()
}

/// For each environment of `envs`, in order, the size of the template each stack is deployed
/// with where it is not the stack's own rendered one (a StackSets target's stacks get their
/// stack sets' templates, [`render::stack_sets_of`]), by the stack's name.
pub fn deployed_sizes(envs: &[Environment]) -> Result<Vec<BTreeMap<String, usize>>> {
    let mut sizes = vec![BTreeMap::new(); envs.len()];
    for file in stack_set_files(envs)? {
        let of_set: BTreeMap<String, usize> = render::stack_sets_of(&file)?
            .into_iter()
            .map(|s| (s.stack_name, s.template.len()))
            .collect();
        let targets = envs
            .iter()
            .zip(sizes.iter_mut())
            .filter(|(e, _)| !e.deployed_directly() && e.source.path == file.base.source.path);
        for (env, mine) in targets {
            for stack in env.stack_names() {
                if let Some(bytes) = env.stack_set_of(&stack).and_then(|set| of_set.get(&set)) {
                    mine.insert(stack, *bytes);
                }
            }
        }
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests;
