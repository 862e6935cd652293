//! Whether a deployed stack holds what the stack file renders now: its fingerprint parameter
//! (every deploy sets it to the template's) against the fingerprint of the template the file
//! renders (`drift`'s undeployed changes; `status`, before it reads a schedule's next run
//! from the file).

use super::{Fact, StackSnapshot};
use crate::config::Environment;
use crate::error::{Error, Result};
use crate::render::{FINGERPRINT_PARAMETER, fingerprint};
use crate::rollout::StackNames;

/// Each stack of `env` by the name it has there, with the template the file renders for it. A
/// StackSets target's stacks get their stack sets' templates (what its instances get).
pub(crate) fn wanted_templates(
    env: &Environment,
    at: &StackNames,
) -> Result<Vec<(String, String)>> {
    // Each stack by the name it has there, with the template it should have.
    Ok(match &at.stack_set {
        None => crate::render::render(env)?
            .into_iter()
            .map(|r| (r.stack_name, r.template))
            .collect(),
        Some(t) => {
            // The file the target came from, loaded with it.
            let Some(file) = env.target.as_ref().map(|t| &t.file) else {
                return Err(Error::aws(format!(
                    "{}: its stacks are stack set instances, and it is no target of a file",
                    env.name
                )));
            };
            let sets = crate::render::stack_sets_for(&file.base, file.targets())?;
            let mut wanted = Vec::new();
            for (own, (set, _)) in &t.instances {
                let Some(name) = at.name(own) else { continue };
                // Every stack there has its stack set in the file, or nothing can be said.
                let template = sets
                    .iter()
                    .find(|s| &s.stack_name == set)
                    .ok_or_else(|| {
                        Error::aws(format!(
                            "{}: stack {name} is stack set {set}'s instance, and {} renders no such stack set: cannot say whether it is up to date",
                            env.name,
                            env.source.path.display()
                        ))
                    })?
                    .template
                    .clone();
                wanted.push((name, template));
            }
            wanted
        }
    })
}

/// Whether `stack` holds `template`: `None` when the stack is absent or could not be read; a
/// stack without the fingerprint (deployed otherwise) does not.
pub(crate) fn holds(stack: &StackSnapshot, template: &str) -> Option<bool> {
    match &stack.state {
        Fact::Known(state) => {
            Some(state.parameters.get(FINGERPRINT_PARAMETER) == Some(&fingerprint(template)))
        }
        _ => None,
    }
}
