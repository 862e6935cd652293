//! Express mode: whether an environment's change sets end each operation once the
//! configuration is applied, and what to say when they do.

use super::Options;
use crate::config::Environment;

/// Whether an environment deploys in express mode, and the warning to print when it does on
/// a protected environment (only `--express` asks for that: the stack file cannot).
pub(super) fn express(env: &Environment, opts: &Options) -> (bool, Option<String>) {
    // Drift-aware change sets roll resources back to their actual state on failure; they run
    // in the standard mode (`--express` with `--revert-drift` is refused on the command line).
    if opts.revert_drift {
        let said = (env.express() && opts.express.is_none()).then(|| {
            format!(
                "{}: --revert-drift deploys in the standard mode, not the stack file's express mode",
                env.name
            )
        });
        return (false, said);
    }
    // A rollout's bake watches the wave's alarms from the end of its deploy: the wave must be
    // stable, its workers in service, by then. Express mode ends an operation before that.
    if opts.rollout {
        return match opts.express {
            None if env.express() => (
                false,
                Some(format!(
                    "{}: a rollout in waves deploys in the standard mode, not the stack file's express mode: a wave is baked once its resources are stable and its workers in service",
                    env.name
                )),
            ),
            Some(true) => (
                true,
                Some(format!(
                    "WARNING: {}: express mode in a rollout in waves (--express): the bake begins before the wave's resources are stable and its workers in service",
                    env.name
                )),
            ),
            _ => (false, None),
        };
    }
    match opts.express {
        Some(true) if env.termination_protection() => (
            true,
            Some(format!(
                "WARNING: {}: express mode on a protected environment (--express): CloudFormation ends each operation once the configuration is applied, without waiting for resources to stabilise or for the workers to report in",
                env.name
            )),
        ),
        Some(on) => (on, None),
        None => (env.express(), None),
    }
}

/// What to say after an express deploy that changed something.
pub(super) fn express_done(env: &str) -> String {
    format!(
        "{env}: deployed in express mode: resources may still be stabilising (workers starting, not yet reporting in); `qfleet status {env}` shows when they are in service"
    )
}
