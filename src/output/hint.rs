//! The commands qfleet prints as hints (`` `qfleet status class-14` shows when they are in
//! service ``) run as printed, from the same directory in the same shell: every hint is written
//! as `` `qfleet COMMAND ENV …` `` and every text and document qfleet prints passes through
//! [`apply`], which adds the flags the run's environments need to be found and reached again
//! the same way: `--stacks-dir DIR` when their stack files are in a directory a bare `qfleet`
//! would not look in (not the `--stacks-dir` it would get from `QFLEET_STACKS_DIR` or its
//! default `stacks`), and `--region`, `--profile` and `--role-arn` when given on the command
//! line rather than by the environment. Environment names resolve in the directory of their
//! stack file (by file name, copy, or the name it declares), so `--stacks-dir` with that
//! directory always finds them.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The flags every hint of this run carries (` --stacks-dir examples`), set once.
static FLAGS: OnceLock<String> = OnceLock::new();

/// Where the environments came from and the flags the run was given.
pub(crate) struct Context<'a> {
    /// The directory of each environment's stack file.
    pub(crate) stack_dirs: Vec<&'a Path>,
    /// The stacks directory a bare `qfleet` in this shell would use.
    pub(crate) bare_stacks_dir: PathBuf,
    pub(crate) region: Option<&'a str>,
    /// `--profile` when given on the command line (not from `AWS_PROFILE`).
    pub(crate) profile: Option<&'a str>,
    pub(crate) role_arn: Option<&'a str>,
}

/// The flags a hint needs to run as printed, each with its value, shell-quoted.
pub(crate) fn flags(c: &Context) -> String {
    let mut out = String::new();
    let mut dirs: Vec<PathBuf> = c.stack_dirs.iter().map(|d| normal(d)).collect();
    dirs.sort();
    dirs.dedup();
    // Environments of several directories cannot be named with one flag: left as they are.
    if let [dir] = dirs.as_slice()
        && *dir != normal(&c.bare_stacks_dir)
    {
        out.push_str(&format!(
            " --stacks-dir {}",
            quote(&dir.display().to_string())
        ));
    }
    for (flag, value) in [
        ("--region", c.region),
        ("--profile", c.profile),
        ("--role-arn", c.role_arn),
    ] {
        if let Some(v) = value {
            out.push_str(&format!(" {flag} {}", quote(v)));
        }
    }
    out
}

/// Sets the run's hint flags (the first call wins: one run, one set of environments).
pub(crate) fn set(flags: String) {
    let _ = FLAGS.set(flags);
}

/// `text` with the run's flags after every `` `qfleet `` that starts a hint.
pub(super) fn apply(text: &str) -> String {
    match FLAGS.get() {
        Some(f) if !f.is_empty() => with_flags(text, f),
        _ => text.to_string(),
    }
}

fn with_flags(text: &str, flags: &str) -> String {
    text.replace("`qfleet ", &format!("`qfleet{flags} "))
}

/// A directory compared as the shell would reach it: `examples/` is `examples`, `./stacks` is
/// `stacks`, and a path that exists is compared by its canonical form.
fn normal(dir: &Path) -> PathBuf {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    match (dir.canonicalize(), std::env::current_dir()) {
        (Ok(abs), Ok(cwd)) => abs
            .strip_prefix(cwd.canonicalize().unwrap_or(cwd))
            .map(|rel| {
                if rel.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    rel.to_path_buf()
                }
            })
            .unwrap_or(abs),
        _ => dir.components().collect(),
    }
}

/// `FLAG VALUE` as a shell and the CLI read it back: the value quoted ([`quote`]), joined with
/// `=` when it starts with `-` so that the parser never takes it for a flag of its own
/// (`--job=-7`).
pub(crate) fn option(flag: &str, value: &str) -> String {
    match value.starts_with('-') {
        true => format!("{flag}={}", quote(value)),
        false => format!("{flag} {}", quote(value)),
    }
}

/// The last positional argument of a command as a shell and the CLI read it back: quoted
/// ([`quote`]), after `--` when it starts with `-` (nothing may follow it then).
pub(crate) fn last_argument(value: &str) -> String {
    match value.starts_with('-') {
        true => format!("-- {}", quote(value)),
        false => quote(value),
    }
}

/// A word as a POSIX shell reads it back: as is when it is plain, else in single quotes.
pub(crate) fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+,".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context<'a>(dirs: &[&'a Path]) -> Context<'a> {
        Context {
            stack_dirs: dirs.to_vec(),
            bare_stacks_dir: PathBuf::from("stacks"),
            region: None,
            profile: None,
            role_arn: None,
        }
    }

    #[test]
    fn the_stacks_dir_is_added_only_when_a_bare_qfleet_would_not_look_there() {
        assert_eq!(flags(&context(&[Path::new("stacks")])), "");
        assert_eq!(flags(&context(&[Path::new("./stacks/")])), "");
        assert_eq!(
            flags(&context(&[Path::new("examples"), Path::new("examples/")])),
            " --stacks-dir examples"
        );
        assert_eq!(
            flags(&context(&[Path::new("examples"), Path::new("stacks")])),
            ""
        );
        assert_eq!(
            flags(&context(&[Path::new("my stacks")])),
            " --stacks-dir 'my stacks'"
        );
    }

    #[test]
    fn region_profile_and_role_given_on_the_command_line_are_carried() {
        let mut c = context(&[Path::new("stacks")]);
        c.region = Some("eu-west-3");
        c.profile = Some("trainer");
        assert_eq!(flags(&c), " --region eu-west-3 --profile trainer");
    }

    #[test]
    fn an_option_or_a_last_argument_that_starts_with_a_dash_is_never_a_flag() {
        assert_eq!(option("--job", "order 7 (rush)"), "--job 'order 7 (rush)'");
        assert_eq!(option("--job", "-7"), "--job=-7");
        assert_eq!(option("--job", "-it's"), r"--job='-it'\''s'");
        assert_eq!(last_argument("photo-42"), "photo-42");
        assert_eq!(last_argument("-x y"), "-- '-x y'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn every_hint_gets_the_flags_and_nothing_else_changes() {
        let text = "class-14: `qfleet status class-14` shows it; qfleet import copilot reads";
        assert_eq!(
            with_flags(text, " --stacks-dir examples"),
            "class-14: `qfleet --stacks-dir examples status class-14` shows it; qfleet import copilot reads"
        );
    }
}
