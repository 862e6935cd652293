//! The environments named on the command line: names, paths, copies and globs.

use crate::config::{self, Environment, StackFiles};
use crate::error::{Error, Result, Usage};
use std::path::Path;

/// The most copies a stack file may have (`copies: 100` names `NAME-001` … `NAME-100`).
const MAX_COPIES: usize = 100;

/// Loads every environment named on the command line, reporting every invalid stack file
/// before anything touches AWS. Each of the ENV words is a path to a stack file, an environment
/// name in the stacks directory (a file with `copies` stands for all its copies), one copy
/// (`lab-07`), or a glob over the environment names (`'lab-*'`), which reads only the stack
/// files whose names it can match.
#[cfg(test)]
fn load(words: &[String], stacks_dir: &Path) -> Result<Vec<Environment>> {
    load_from(words, stacks_dir, &StackFiles::default())
}

/// [`load`], each stack file read and parsed once in `files` (which a command may load from
/// again).
pub(crate) fn load_from(
    words: &[String],
    stacks_dir: &Path,
    files: &StackFiles,
) -> Result<Vec<Environment>> {
    let mut envs = Vec::new();
    let mut problems = Vec::new();
    for t in words {
        match resolve(t, stacks_dir, files) {
            Ok(found) => envs.extend(found),
            Err(Error::Input(list)) => problems.extend(list),
            Err(other) => return Err(other),
        }
    }
    if !problems.is_empty() {
        config::sort(&mut problems);
        return Err(Error::Input(problems));
    }
    let mut names: Vec<&str> = envs.iter().map(|e| e.name.as_str()).collect();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(Usage::NamedTwice {
            env: w[0].to_string(),
        }
        .into());
    }
    Ok(envs)
}

fn resolve(target: &str, stacks_dir: &Path, files: &StackFiles) -> Result<Vec<Environment>> {
    if target.contains(['*', '?', '[']) {
        return resolve_glob(target, stacks_dir, files);
    }
    match by_file_name(target, stacks_dir, files)? {
        Ok((path, envs)) => {
            // Another file declaring the same name would make the same environments: which one
            // is meant is asked, never guessed.
            let others: Vec<std::path::PathBuf> = declared_by(target, stacks_dir, files)?
                .into_iter()
                .filter(|(p, _)| !same_file(p, &path))
                .map(|(p, _)| p)
                .collect();
            if !others.is_empty() {
                return Err(crate::environments::errors::Usage::FileAndDeclared {
                    name: target.to_string(),
                    file: path,
                    declared_by: others,
                }
                .into());
            }
            // `orders-eu1.yaml` beside `orders.yaml` whose target (or copy) is `orders-eu1`:
            // the same stacks from two files; which one is meant is asked, never guessed.
            if let Some((base, _)) = target.rsplit_once('-')
                && let Ok(base_path) = config::locate(base, stacks_dir)
                && !same_file(&base_path, &path)
                // A base file that does not load is another command's business, not this one's.
                && files
                    .load(&base_path)
                    .is_ok_and(|base| base.expand().iter().any(|e| e.name == target))
            {
                return Err(crate::environments::errors::Usage::FileAndMember {
                    name: target.to_string(),
                    file: path,
                    of: base_path,
                }
                .into());
            }
            Ok(envs)
        }
        // The environment's own name (`class-07` of `classroom.yaml` with `environment:
        // class`), as every command prints it in its hints.
        Err(not_found) => match by_declared_name(target, stacks_dir, files)? {
            Some(envs) => Ok(envs),
            None => Err(not_found),
        },
    }
}

/// The stack file named `target` (all its copies), or the copy `target` (`lab-07`) of the
/// file named by what precedes its last `-`; the inner error when neither exists.
fn by_file_name(
    target: &str,
    stacks_dir: &Path,
    files: &StackFiles,
) -> Result<std::result::Result<(std::path::PathBuf, Vec<Environment>), Error>> {
    match config::locate(target, stacks_dir) {
        Ok(path) => {
            let envs = files.load(&path)?.expand();
            Ok(Ok((path, envs)))
        }
        Err(not_found) => {
            if let Some((base, _)) = target.rsplit_once('-')
                && let Ok(path) = config::locate(base, stacks_dir)
            {
                let all = files.load(&path)?.expand();
                let names: Vec<String> = all.iter().map(|e| e.name.clone()).collect();
                if let Some(copy) = all.into_iter().find(|e| e.name == target) {
                    return Ok(Ok((path, vec![copy])));
                }
                // A file of targets or copies named like it, without this one: say its own.
                if names.len() > 1 || names.first().is_some_and(|n| n != base) {
                    return Ok(Err(crate::environments::errors::Usage::NotInFile {
                        name: target.to_string(),
                        file: path,
                        known: names,
                    }
                    .into()));
                }
            }
            Ok(Err(not_found.into()))
        }
    }
}

/// The stack files whose target or copy the bare name `name` would be: `orders.yaml` of
/// `orders-us1`, and each file that declares `environment: orders`. Empty for a path, a glob,
/// or a name without such a file.
pub(crate) fn base_files(name: &str, stacks_dir: &Path) -> Vec<std::path::PathBuf> {
    if !bare(name) {
        return Vec::new();
    }
    let Some((base, _)) = name.rsplit_once('-') else {
        return Vec::new();
    };
    let mut found: Vec<std::path::PathBuf> = config::locate(base, stacks_dir).into_iter().collect();
    let files = StackFiles::default();
    for stem in config::environment_names(stacks_dir) {
        let Ok(path) = config::locate(&stem, stacks_dir) else {
            continue;
        };
        if declared_environment(&files, &path).as_deref() == Some(base)
            && !found.iter().any(|f| same_file(f, &path))
        {
            found.push(path);
        }
    }
    found
}

/// The stack file a bare name is the file name of (`class` of `class.yaml`): `None` for a path,
/// a glob, or a name without such a file.
pub(crate) fn file_named(name: &str, stacks_dir: &Path) -> Option<std::path::PathBuf> {
    bare(name).then(|| config::locate(name, stacks_dir).ok())?
}

/// A name that is neither a path, nor a glob, nor names a place.
pub(super) fn bare(name: &str) -> bool {
    !(name.contains(['/', '\\', '*', '?', '[', '@'])
        || name.ends_with(".yaml")
        || name.ends_with(".yml"))
}

/// Whether two paths are one file (compared as the file system resolves them).
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The environment, or one copy, whose name the stack file declares (`environment:`) rather
/// than takes from its file name; `None` when no file declares it. Two files declaring it are
/// an error, never a guess.
fn by_declared_name(
    target: &str,
    stacks_dir: &Path,
    files: &StackFiles,
) -> Result<Option<Vec<Environment>>> {
    let mut found = declared_by(target, stacks_dir, files)?;
    match found.len() {
        0 => match declared_without(target, stacks_dir, files)? {
            // `class-99` of a file that declares `class` with copies class-01 … class-24.
            Some((file, known)) => Err(crate::environments::errors::Usage::NotInFile {
                name: target.to_string(),
                file,
                known,
            }
            .into()),
            None => Ok(None),
        },
        1 => Ok(found.pop().map(|(_, envs)| envs)),
        _ => Err(crate::environments::errors::Usage::DeclaredTwice {
            name: target.to_string(),
            files: found.into_iter().map(|(p, _)| p).collect(),
        }
        .into()),
    }
}

/// The one stack file that declares the name `target` would be a copy or target of (`class`
/// of `class-99`), with the environments it makes, when `target` is none of them.
fn declared_without(
    target: &str,
    stacks_dir: &Path,
    files: &StackFiles,
) -> Result<Option<(std::path::PathBuf, Vec<String>)>> {
    let Some((base, _)) = target.rsplit_once('-') else {
        return Ok(None);
    };
    let mut found = Vec::new();
    for stem in config::environment_names(stacks_dir) {
        let Ok(path) = config::locate(&stem, stacks_dir) else {
            continue;
        };
        if declared_environment(files, &path).as_deref() != Some(base) {
            continue;
        }
        let names: Vec<String> = files
            .load(&path)?
            .expand()
            .into_iter()
            .map(|e| e.name)
            .collect();
        if names.len() > 1 || names.first().is_some_and(|n| n != base) {
            found.push((path, names));
        }
    }
    Ok(match found.len() {
        1 => found.pop(),
        _ => None,
    })
}

/// Each stack file that declares `target` (`environment: target`, or the name `target` is a
/// copy of), with the environments of it `target` names.
fn declared_by(
    target: &str,
    stacks_dir: &Path,
    files: &StackFiles,
) -> Result<Vec<(std::path::PathBuf, Vec<Environment>)>> {
    let base = target.rsplit_once('-').map(|(b, _)| b);
    let mut found = Vec::new();
    for stem in config::environment_names(stacks_dir) {
        let Ok(path) = config::locate(&stem, stacks_dir) else {
            continue;
        };
        let Some(declared) = declared_environment(files, &path) else {
            continue;
        };
        if declared != target && Some(declared.as_str()) != base {
            continue;
        }
        let envs: Vec<Environment> = files
            .load(&path)?
            .expand()
            .into_iter()
            .filter(|e| {
                e.name == target
                    || (declared == target && (e.spec.copies.is_some() || e.target.is_some()))
            })
            .collect();
        if !envs.is_empty() {
            found.push((path, envs));
        }
    }
    Ok(found)
}

/// The environments of the stacks directory whose names match `target`. Only the stack files
/// that can hold a matching name are read: one whose file name (or `environment:`), alone or
/// followed by a copy's `-NN`, matches. A broken file that cannot match is none of its business.
fn resolve_glob(target: &str, stacks_dir: &Path, files: &StackFiles) -> Result<Vec<Environment>> {
    let pattern = glob::Pattern::new(target).map_err(|source| {
        crate::environments::errors::Usage::BadPattern {
            pattern: target.to_string(),
            source,
        }
    })?;
    let mut matched = Vec::new();
    let mut problems = Vec::new();
    for stem in config::environment_names(stacks_dir) {
        let path = config::locate(&stem, stacks_dir)?;
        let mut names = vec![stem];
        names.extend(declared_environment(files, &path));
        let suffixes = declared_targets(files, &path);
        if !names.iter().any(|n| could_match(&pattern, n, &suffixes)) {
            continue;
        }
        match files.load(&path) {
            Ok(env) => matched.extend(
                env.expand()
                    .into_iter()
                    .filter(|e| pattern.matches(&e.name)),
            ),
            Err(config::Error::Input(list)) => problems.extend(list),
            Err(other) => return Err(other.into()),
        }
    }
    if !problems.is_empty() {
        config::sort(&mut problems);
        return Err(Error::Input(problems));
    }
    if matched.is_empty() {
        return Err(crate::environments::errors::Usage::NoMatch {
            pattern: target.to_string(),
            stacks_dir: stacks_dir.to_path_buf(),
        }
        .into());
    }
    Ok(matched)
}

/// Whether `pattern` matches the environment `name`, one of its copies' names, or one of its
/// targets' (`name-TARGET` for each of `targets`).
fn could_match(pattern: &glob::Pattern, name: &str, targets: &[String]) -> bool {
    pattern.matches(name)
        || targets
            .iter()
            .any(|t| pattern.matches(&format!("{name}-{t}")))
        || (1..=MAX_COPIES).any(|i| {
            pattern.matches(&format!("{name}-{i:02}")) || pattern.matches(&format!("{name}-{i:03}"))
        })
}

/// The `environment:` a stack file declares at its top level, read without parsing the file
/// (which may be broken).
fn declared_environment(files: &StackFiles, path: &Path) -> Option<String> {
    let text = files.text(path).ok()?;
    text.lines().find_map(|l| {
        let value = l
            .trim_start_matches('\u{feff}')
            .strip_prefix("environment:")?;
        let value = value.split(" #").next()?.trim();
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        (!value.is_empty()).then(|| value.to_string())
    })
}

/// The names of a stack file's `targets`, read without checking the file (which may be broken:
/// then it is read, and reported, if its other names can match).
fn declared_targets(files: &StackFiles, path: &Path) -> Vec<String> {
    let Ok(text) = files.text(path) else {
        return Vec::new();
    };
    let Ok(doc) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text.as_str()) else {
        return Vec::new();
    };
    doc.get("targets")
        .and_then(|t| t.as_sequence())
        .map(|list| {
            list.iter()
                .filter_map(|t| t.get("name")?.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    const LAB: &str = "region: eu-west-1\nlab: true\n";

    #[test]
    fn locating_stack_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("lab.yaml"), "region: eu-west-1\n").unwrap();
        std::fs::write(dir.path().join("prod.yml"), "region: eu-west-1\n").unwrap();
        assert_eq!(
            config::locate("lab", dir.path()).unwrap(),
            dir.path().join("lab.yaml")
        );
        assert_eq!(
            config::locate("prod", dir.path()).unwrap(),
            dir.path().join("prod.yml")
        );
        let err: Error = config::locate("stage", dir.path()).unwrap_err().into();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("lab, prod"),
            "lists what exists: {err}"
        );
        let err: Error = config::locate("nope/x.yaml", dir.path())
            .unwrap_err()
            .into();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }

    #[test]
    fn a_glob_reads_only_the_files_it_can_match() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "lab.yaml", &format!("{LAB}copies: 3\n"));
        write(dir.path(), "labx.yaml", LAB);
        write(
            dir.path(),
            "prod.yaml",
            "region: [not, a, region\n  broken: {",
        );
        let envs = resolve_glob("lab-*", dir.path(), &StackFiles::default()).unwrap();
        let names: Vec<&str> = envs.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["lab-01", "lab-02", "lab-03"]);
        let envs = resolve_glob("lab*", dir.path(), &StackFiles::default()).unwrap();
        assert_eq!(envs.len(), 4, "the copies and labx");
    }

    #[test]
    fn a_broken_file_the_glob_matches_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "lab.yaml", LAB);
        write(
            dir.path(),
            "lab2.yaml",
            "region: eu-west-1\nworkers:\n  min: 4\n  max: 2\n",
        );
        let err = resolve_glob("lab*", dir.path(), &StackFiles::default()).unwrap_err();
        assert!(matches!(err, Error::Input(_)), "{err}");
        assert!(err.to_string().contains("workers.min"), "{err}");
    }

    #[test]
    fn a_declared_environment_name_is_matched_too() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "one.yaml",
            &format!("environment: staging # the name\n{LAB}"),
        );
        write(dir.path(), "two.yaml", "nothing: [");
        let envs = resolve_glob("stag*", dir.path(), &StackFiles::default()).unwrap();
        assert_eq!(envs[0].name, "staging");
        let err = resolve_glob("zz*", dir.path(), &StackFiles::default()).unwrap_err();
        assert!(err.to_string().contains("no environment"), "{err}");
    }

    /// Issue 36: `examples/classroom.yaml` declares `environment: class`; `class-07`, the
    /// name deploy prints in its hints, addresses that one copy, and `class` all of them.
    #[test]
    fn a_copy_is_addressed_by_its_environments_own_name() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "classroom.yaml",
            &format!("environment: class\n{LAB}copies: 12\n"),
        );
        let one = load(&["class-07".to_string()], dir.path()).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].name, "class-07");
        let all = load(&["class".to_string()], dir.path()).unwrap();
        assert_eq!(all.len(), 12);
        assert!(load(&["class-13".to_string()], dir.path()).is_err());
        // Two files declaring the same name: an error naming both, not a guess.
        write(
            dir.path(),
            "again.yaml",
            &format!("environment: class\n{LAB}copies: 12\n"),
        );
        let e = load(&["class-07".to_string()], dir.path()).unwrap_err();
        assert!(e.to_string().contains("several stack files"), "{e}");
    }

    #[test]
    fn a_file_name_another_file_declares_is_asked_not_guessed() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "classroom.yaml",
            &format!("environment: class\n{LAB}copies: 12\n"),
        );
        // A file that declares its own name is that name once.
        write(
            dir.path(),
            "solo.yaml",
            &format!("environment: solo\n{LAB}"),
        );
        assert_eq!(load(&["solo".to_string()], dir.path()).unwrap().len(), 1);
        // `class.yaml` would make the same environments as `classroom.yaml` declares.
        write(dir.path(), "class.yaml", &format!("{LAB}copies: 12\n"));
        for target in ["class", "class-07"] {
            let e = load(&[target.to_string()], dir.path()).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains("class.yaml") && msg.contains("classroom.yaml"),
                "{msg}"
            );
        }
        // Named by its file, each is found.
        let path = dir.path().join("classroom.yaml");
        let by_path = load(&[path.display().to_string()], dir.path()).unwrap();
        assert_eq!(by_path.len(), 12);
    }

    #[test]
    fn copies_match_with_three_digits_too() {
        let p = glob::Pattern::new("lab-1??").unwrap();
        assert!(could_match(&p, "lab", &[]));
        assert!(!could_match(
            &glob::Pattern::new("prod*").unwrap(),
            "lab",
            &[]
        ));
    }

    /// Issue 38: a target is addressed by `ENV-TARGET` (by the file's name or the one it
    /// declares), the file stands for all its targets, and a glob over target names reads it.
    #[test]
    fn a_target_is_addressed_by_its_environment_s_name() {
        let dir = tempfile::tempdir().unwrap();
        let targets = "targets:\n  - name: eu\n  - name: us\n    region: us-east-1\n";
        write(dir.path(), "orders.yaml", &format!("{LAB}{targets}"));
        write(
            dir.path(),
            "shop-file.yaml",
            &format!("environment: shop\n{LAB}{targets}"),
        );
        let names = |list: &[&str]| -> Vec<String> {
            let args: Vec<String> = list.iter().map(|s| s.to_string()).collect();
            load(&args, dir.path())
                .unwrap()
                .into_iter()
                .map(|e| e.name)
                .collect()
        };
        assert_eq!(names(&["orders"]), ["orders-eu", "orders-us"]);
        assert_eq!(names(&["orders-us"]), ["orders-us"]);
        assert_eq!(names(&["shop"]), ["shop-eu", "shop-us"]);
        assert_eq!(names(&["shop-eu"]), ["shop-eu"]);
        assert_eq!(names(&["*-u?"]), ["orders-us", "shop-us"]);
        // An unknown target: the file's own environments are listed, not the directory's files.
        let e = load(&["orders-ap".to_string()], dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("orders.yaml makes orders-eu, orders-us"), "{e}");
        // The same by the name the file declares (shop-file.yaml is `shop`).
        let e = load(&["shop-ap".to_string()], dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("shop-file.yaml makes shop-eu, shop-us"), "{e}");
        // A file of many copies by its declared name: the first two and the last.
        write(
            dir.path(),
            "classroom.yaml",
            &format!(
                "environment: class
copies: 24
{LAB}"
            ),
        );
        let e = load(&["class-99".to_string()], dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("classroom.yaml makes class-01, class-02, …, class-24 (24 environments)"),
            "{e}"
        );

        // A file named like a target beside it would be the same stacks: asked, never guessed.
        write(dir.path(), "orders-eu.yaml", LAB);
        let e = load(&["orders-eu".to_string()], dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("is the stack file") && e.contains("also an environment of"),
            "{e}"
        );
    }
}
