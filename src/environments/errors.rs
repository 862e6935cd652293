//! The errors of finding an environment by its name, in their own words.
//! [`crate::error`] keeps the exit codes: through [`crate::error::Of`], a `Usage` exits 2.

use crate::error::Error;
use std::path::PathBuf;

crate::error::classes!(usage: Usage);

/// A flag, a name or a file this feature cannot act on (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Usage {
    /// `qfleet environments` with no region to list.
    #[error(
        "qfleet environments lists one region: give --region (or set AWS_REGION, or a region in the profile), or --all-regions for every Region enabled for the account"
    )]
    EnvironmentsRegion,
    /// `qfleet environments --all-regions` with `--region`.
    #[error(
        "--all-regions lists every Region enabled for the account; --region names one: give one of them"
    )]
    EnvironmentsRegions,
    /// An environment name that several stack files declare.
    #[error(
        "`{name}` is declared by several stack files ({}); name the file instead",
        paths(.files)
    )]
    DeclaredTwice { name: String, files: Vec<PathBuf> },
    /// A name that is one stack file's and a target's or copy's of another (`orders-eu1.yaml`
    /// beside `orders.yaml` with target `eu1`): both would be the same stacks.
    #[error(
        "`{name}` is the stack file {} and also an environment of {} (a target or copy); both would be the same stacks: rename or remove one",
        .file.display(),
        .of.display()
    )]
    FileAndMember {
        name: String,
        file: PathBuf,
        of: PathBuf,
    },
    /// A name that more than one environment has (a live one and one its file no longer
    /// makes, after a split or a move): which one is meant is asked, never guessed.
    #[error(
        "`{name}` names more than one environment: {}; name one with its place (NAME@REGION, or NAME@ACCOUNT/REGION)",
        .candidates.join(", ")
    )]
    Ambiguous {
        name: String,
        candidates: Vec<String>,
    },
    /// `--region` or `--role-arn` with an environment named with its place: the address says
    /// where it is, and a flag would send the command elsewhere.
    #[error(
        "{flag} does not go with NAME@REGION: the address says where the environment is; leave {flag} out"
    )]
    PlaceWithFlag { flag: String },
    /// An environment named with its place (`orders-us1@us-east-1`) that no stack file here
    /// makes or made there.
    #[error(
        "no environment `{name}` in {place} that a stack file in {} makes or made: {}",
        .stacks_dir.display(),
        .why
    )]
    NotAtPlace {
        name: String,
        place: String,
        stacks_dir: PathBuf,
        why: String,
    },
    /// A name whose base is a stack file of targets or copies, none of them this one.
    #[error(
        "no environment `{name}`: {} makes {}{}",
        .file.display(),
        names_of(.known),
        account_pick_hint(.name)
    )]
    NotInFile {
        name: String,
        file: PathBuf,
        known: Vec<String>,
    },
    /// A name that is one stack file's and that other files declare (`environment:`): both
    /// would make the same environments.
    #[error(
        "`{name}` is the stack file {} and is also declared (`environment:`) by {}; name the file instead",
        .file.display(),
        paths(.declared_by)
    )]
    FileAndDeclared {
        name: String,
        file: PathBuf,
        declared_by: Vec<PathBuf>,
    },
    #[error("`{pattern}` is not a valid pattern: {source}")]
    BadPattern {
        pattern: String,
        source: glob::PatternError,
    },
    /// A pattern that matches no environment.
    #[error("no environment in {} matches `{pattern}`", .stacks_dir.display())]
    NoMatch {
        pattern: String,
        stacks_dir: PathBuf,
    },
}

impl Usage {
    /// `e` names an environment whose file makes others, not it (a target or copy the file
    /// no longer has): one to look for in AWS by its marks.
    pub(crate) fn not_in_file(e: &Error) -> bool {
        matches!(e.of(), Some(Usage::NotInFile { .. }))
    }

    /// The stack file that `e` says makes or declares a name (the first of several), `None`
    /// inside when no file makes it; `None` for another error.
    pub(crate) fn file_naming(e: &Error) -> Option<Option<PathBuf>> {
        match e.of()? {
            Usage::NotInFile { .. } => Some(None),
            Usage::DeclaredTwice { files, .. } => Some(files.first().cloned()),
            Usage::FileAndDeclared { file, .. } | Usage::FileAndMember { file, .. } => {
                Some(Some(file.clone()))
            }
            _ => None,
        }
    }
}

fn paths(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Environments' names, each said, or the first two and the last of a long list (a file's
/// copies): `class-01, class-02, …, class-24 (24 environments)`.
fn names_of(names: &[String]) -> String {
    match names {
        [first, second, .., last] if names.len() > 6 => {
            format!(
                "{first}, {second}, …, {last} ({} environments)",
                names.len()
            )
        }
        _ => names.join(", "),
    }
}

/// For a name with `@`: how an account of a whole-unit target is named.
fn account_pick_hint(name: &str) -> &'static str {
    match name.contains('@') {
        true => {
            "; ENV-TARGET@ACCOUNT names one account (its 12 digits) of a target that stands for a whole AWS Organizations unit (rollout.auto_deployment), in status, outputs, drift, dlq, send, jobs, logs and teardown"
        }
        false => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The callers that decide on a name's error (a retired target or copy looked for in AWS,
    /// `import`'s check of a name taken) read it through `Error::of`: each variant they
    /// decide on is told apart, and any other error is none of them.
    #[test]
    fn a_names_error_is_told_apart_through_the_shared_error() {
        let file = PathBuf::from("stacks/orders.yaml");
        let not_in: Error = Usage::NotInFile {
            name: "orders-eu9".into(),
            file: file.clone(),
            known: vec!["orders-eu1".into()],
        }
        .into();
        assert!(Usage::not_in_file(&not_in));
        assert_eq!(Usage::file_naming(&not_in), Some(None));
        let twice: Error = Usage::DeclaredTwice {
            name: "orders".into(),
            files: vec![file.clone(), PathBuf::from("stacks/b.yaml")],
        }
        .into();
        assert!(!Usage::not_in_file(&twice));
        assert_eq!(Usage::file_naming(&twice), Some(Some(file.clone())));
        for e in [
            Usage::FileAndDeclared {
                name: "orders".into(),
                file: file.clone(),
                declared_by: vec![PathBuf::from("stacks/b.yaml")],
            },
            Usage::FileAndMember {
                name: "orders".into(),
                file: file.clone(),
                of: PathBuf::from("stacks/b.yaml"),
            },
        ] {
            assert_eq!(Usage::file_naming(&e.into()), Some(Some(file.clone())));
        }
        // Another feature's error, or a shared one, is none of these.
        let other: Error = crate::error::Usage::NamedTwice {
            env: "orders".into(),
        }
        .into();
        assert!(!Usage::not_in_file(&other));
        assert_eq!(Usage::file_naming(&other), None);
        let ambiguous: Error = Usage::Ambiguous {
            name: "orders".into(),
            candidates: vec![],
        }
        .into();
        assert_eq!(Usage::file_naming(&ambiguous), None);
        assert_eq!(ambiguous.exit_code(), crate::error::Exit::Input);
    }
}
