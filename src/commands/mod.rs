//! One module per subcommand. Each parses its flags, calls the modules that do the work and
//! prints the result; none holds logic of its own.

pub(crate) mod completions;
pub(crate) mod deploy;
pub(crate) mod dev;
pub(crate) mod dlq;
pub(crate) mod drift;
pub(crate) mod env;
pub(crate) mod environments;
mod global;
pub(crate) mod iam_policy;
pub(crate) mod import;
pub(crate) mod jobs;
pub(crate) mod logs;
pub(crate) mod outputs;
pub(crate) mod render;
#[cfg(test)]
pub mod schemas;
pub(crate) mod send;
pub(crate) mod simulate;
pub(crate) mod status;
pub(crate) mod submit;
pub(crate) mod teardown;
pub(crate) mod validate;

use crate::config::Environment;
use crate::error::Result;
pub use crate::session::Session;
pub use global::Global;

/// The environments named on the command line (names, paths, copies, globs), every invalid
/// stack file reported before anything touches AWS, and `--region`/`--role-arn` refused for
/// a target that names its own.
fn load_environments(words: &[String], g: &Global) -> Result<Vec<Environment>> {
    load_environments_from(words, g, &crate::config::StackFiles::default())
}

/// [`load_environments`], each stack file read once in `files`.
fn load_environments_from(
    words: &[String],
    g: &Global,
    files: &crate::config::StackFiles,
) -> Result<Vec<Environment>> {
    let envs = crate::environments::load_from(words, &g.stacks_dir, files)?;
    // Offline commands too: a flag a target ignores would be written into what they print.
    crate::session::check_target_flags(&envs, &g.aws_settings())?;
    // The hints this run prints name these environments: they carry what finds them again.
    crate::output::hint::set(crate::output::hint::flags(&crate::output::hint::Context {
        stack_dirs: envs
            .iter()
            .map(|e| e.source.path.parent().unwrap_or(std::path::Path::new("")))
            .collect(),
        bare_stacks_dir: std::env::var_os("QFLEET_STACKS_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| crate::config::DEFAULT_STACKS_DIR.into()),
        region: g.region.as_deref(),
        profile: g
            .profile
            .as_deref()
            .filter(|p| std::env::var("AWS_PROFILE").ok().as_deref() != Some(*p)),
        role_arn: g.role_arn.as_deref(),
    }));
    Ok(envs)
}

/// The AWS commands' session on the environments named on the command line (pipelines
/// included, and the targets of a file deployed through StackSets): clients per region, at
/// most `--concurrency` at a time. One account of a whole unit (`ENV-TARGET@ACCOUNT`) is
/// refused: `deploy` and `plan` take the unit whole ([`session_of_accounts`] is the others').
fn session(words: &[String], g: &Global) -> Result<Session> {
    if let Some((t, base)) = words
        .iter()
        .find_map(|t| Some((t, crate::placement::account_pick(t)?.0)))
    {
        return Err(crate::placement::errors::Usage::AccountDeployedAlone {
            name: t.clone(),
            base: base.to_string(),
        }
        .into());
    }
    preflight(Session::open(
        load_environments(words, g)?,
        g.aws_settings(),
        g.concurrency.into(),
    )?)
}

/// The session of a command that reads or tears down each account of an environment
/// (`status`, `outputs`, `drift`, `dlq`, `send`, `jobs`, `logs`, `teardown`): a target that
/// stands for a whole AWS Organizations unit is each account of it
/// ([`crate::placement::of_accounts`]), and `ENV-TARGET@ACCOUNT` picks one.
fn session_of_accounts(words: &[String], g: &Global) -> Result<Session> {
    session_reading(words, g, crate::config::Reading::All)
}

/// [`session_of_accounts`] for a command that neither builds nor renders (`dlq`, `jobs`,
/// `logs`, `outputs`, `send`, `submit`, `teardown`): a build's context, which may be large, is
/// never read.
fn session_without_build_contexts(words: &[String], g: &Global) -> Result<Session> {
    session_reading(words, g, crate::config::Reading::NoBuildContexts)
}

/// [`session_of_accounts`], the stack files loaded reading what `reading` says beside them.
fn session_reading(
    words: &[String],
    g: &Global,
    reading: crate::config::Reading,
) -> Result<Session> {
    let files = crate::config::StackFiles::reading(reading);
    let load = |t: &[String]| load_environments_from(t, g, &files);
    let open = |t: &[String]| {
        crate::placement::of_accounts(t, load, g.aws_settings(), g.concurrency.into())
    };
    let placed = words
        .iter()
        .any(|t| crate::environments::Place::pick(t).is_some());
    if placed {
        refuse_place_flags(g)?;
    }
    if !placed {
        match open(words) {
            Err(e) if crate::environments::errors::Usage::not_in_file(&e) => {}
            other => return unambiguous(preflight(other?)?, words, g, &files),
        }
    }
    let elsewhere = Elsewhere::sort(words, load);
    let mut session = match elsewhere.named.is_empty() {
        true => Session::open(Vec::new(), g.aws_settings(), g.concurrency.into())?,
        false => open(&elsewhere.named)?,
    };
    let named = elsewhere.named.clone();
    elsewhere.add_to(&mut session, &files, g)?;
    let mut names: Vec<&str> = session.envs.iter().map(|e| e.name.as_str()).collect();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(crate::error::Usage::NamedTwice {
            env: w[0].to_string(),
        }
        .into());
    }
    unambiguous(preflight(session)?, &named, g, &files)
}

/// `--region` or `--role-arn` with an environment named with its place: refused, since the
/// address says where it is and the flag would send the command elsewhere.
fn refuse_place_flags(g: &Global) -> Result<()> {
    let flag = match (&g.region, &g.role_arn) {
        (Some(_), _) => "--region",
        (None, Some(_)) => "--role-arn",
        (None, None) => return Ok(()),
    };
    Err(crate::environments::errors::Usage::PlaceWithFlag {
        flag: flag.to_string(),
    }
    .into())
}

/// The names of a command line sorted by how they are found: by their stack files (`named`),
/// by their marks as environments their files no longer make (`retired`: a copy above
/// `copies`, a target taken out of `targets`), or by their place (`orders-us1@us-east-1`).
struct Elsewhere {
    named: Vec<String>,
    retired: Vec<(String, std::path::PathBuf, Vec<String>)>,
    at_places: Vec<(String, crate::environments::Place)>,
}

impl Elsewhere {
    fn sort(words: &[String], load: impl Fn(&[String]) -> Result<Vec<Environment>>) -> Self {
        let mut e = Elsewhere {
            named: Vec::new(),
            retired: Vec::new(),
            at_places: Vec::new(),
        };
        for t in words {
            if let Some((name, place)) = crate::environments::Place::pick(t) {
                e.at_places.push((name.to_string(), place));
                continue;
            }
            let loaded = load(std::slice::from_ref(t));
            match loaded.as_ref().err().and_then(|e| e.of()) {
                Some(crate::environments::errors::Usage::NotInFile { name, file, known }) => {
                    e.retired.push((name.clone(), file.clone(), known.clone()))
                }
                _ => e.named.push(t.clone()),
            }
        }
        e
    }

    /// Each retired or placed environment, found in AWS by its marks and added to `session`:
    /// read and torn down by its name, with every rule of any other.
    fn add_to(
        self,
        session: &mut Session,
        files: &crate::config::StackFiles,
        g: &Global,
    ) -> Result<()> {
        for (name, file, known) in self.retired {
            let of = files.load(&file)?;
            // The credentials are checked before the search, as preflight does for the others.
            let region = session.aws.region_for(&of.base.spec.region);
            session.block_on(session.aws.check_credentials(&region))?;
            let found = crate::environments::named(&session.aws, &of, &name, None);
            match session.block_on(found)? {
                Some(env) => session.envs.push(env),
                None => {
                    return Err(crate::environments::errors::Usage::NotInFile {
                        name,
                        file,
                        known,
                    }
                    .into());
                }
            }
        }
        for (name, place) in self.at_places {
            session.block_on(session.aws.check_credentials(&place.region))?;
            let aws = &session.aws;
            let found = crate::environments::at_place(aws, files, &g.stacks_dir, &name, &place);
            let env = session.block_on(found)?;
            session.envs.push(env);
        }
        Ok(())
    }
}

/// The session, once each bare name of `words` (the ENV words) is known to name one environment only:
/// never a live one where the name also stands for one its file no longer makes
/// ([`crate::environments::check_unambiguous`]).
fn unambiguous(
    session: Session,
    words: &[String],
    g: &Global,
    files: &crate::config::StackFiles,
) -> Result<Session> {
    for t in words {
        let own = crate::environments::file_named(t, &g.stacks_dir);
        let envs: Vec<&Environment> = session
            .envs
            .iter()
            .filter(|e| {
                e.name == *t
                    || own
                        .as_ref()
                        .is_some_and(|p| crate::environments::same_file(p, &e.source.path))
            })
            .collect();
        let check =
            crate::environments::check_unambiguous(&session.aws, files, &g.stacks_dir, t, &envs);
        session.block_on(check)?;
    }
    Ok(session)
}

/// A session's first steps on AWS, before anything is shown: the credentials qfleet runs with
/// are loaded once, so that a run without them says so in one line (which source failed, or
/// that none gave any) instead of once per call; and in a run of several Regions, a Region
/// whose calls reject the token while another's accept it is checked against its opt-in
/// status ([`crate::aws::Aws::check_regions`]).
fn preflight(session: Session) -> Result<Session> {
    let Some(first) = session.envs.first() else {
        return Ok(session);
    };
    let aws = &session.aws;
    session.block_on(aws.check_credentials(&aws.region_for(&first.spec.region)))?;
    let places: Vec<(String, Option<String>)> = session
        .envs
        .iter()
        .map(|e| {
            (
                aws.region_for(&e.spec.region),
                e.target.as_ref().and_then(|t| t.role_arn.clone()),
            )
        })
        .collect();
    session.block_on(aws.check_regions(&places));
    Ok(session)
}

#[cfg(test)]
mod tests {
    use crate::session::chosen_stages;
    use std::path::PathBuf;

    fn parse(text: &str) -> crate::config::Environment {
        crate::config::parse(PathBuf::from("stacks/p.yaml"), text.into())
            .unwrap()
            .into_only()
    }

    #[test]
    fn a_stage_is_chosen_by_name_every_stage_without_one_and_an_unknown_name_lists_them() {
        let env = parse(
            "region: eu-west-1\nlab: true\nstages:\n  - name: parse\n  - name: thumbs\n    prefix: parsed/\n",
        );
        let names = |s: Vec<&crate::config::Environment>| -> Vec<String> {
            s.iter()
                .map(|e| e.stage.as_ref().unwrap().name.clone())
                .collect()
        };
        assert_eq!(
            names(chosen_stages(&env, None).unwrap()),
            ["parse", "thumbs"]
        );
        assert_eq!(
            names(chosen_stages(&env, Some("thumbs")).unwrap()),
            ["thumbs"]
        );
        let e = chosen_stages(&env, Some("index")).unwrap_err().to_string();
        assert!(
            e.contains("no such stage; its stages are parse, thumbs"),
            "{e}"
        );

        let one = parse("region: eu-west-1\nlab: true\n");
        assert_eq!(chosen_stages(&one, None).unwrap().len(), 1);
        let e = chosen_stages(&one, Some("parse")).unwrap_err().to_string();
        assert!(e.contains("declares no stages"), "{e}");
    }

    #[test]
    fn region_and_role_flags_are_refused_for_any_target_that_names_its_own() {
        use crate::aws::Settings;
        use crate::session::check_target_flags;
        // A plain environment first, then a target without a role, then one with a role.
        let mut envs = vec![parse("region: eu-west-1\nlab: true\n")];
        envs.extend(
            crate::config::parse(
                PathBuf::from("stacks/p.yaml"),
                "region: eu-west-1\nlab: true\ntargets:\n  - name: a\n  - name: b\n    role: arn:aws:iam::111122223333:role/deployer\n    account: '111122223333'\n".into(),
            )
            .unwrap()
            .expand(),
        );
        let role = Settings {
            role_arn: Some("arn:aws:iam::111122223333:role/other".into()),
            ..Default::default()
        };
        let e = check_target_flags(&envs, &role).unwrap_err().to_string();
        assert!(
            e.starts_with("--role-arn does not go with p-b, a target of stacks/p.yaml:"),
            "{e}"
        );
        // Without the target that has a role, --role-arn is the way to reach the others.
        assert!(check_target_flags(&envs[..2], &role).is_ok());
        let region = Settings {
            region: Some("us-east-1".into()),
            ..Default::default()
        };
        let e = check_target_flags(&envs, &region).unwrap_err().to_string();
        assert!(
            e == "--region does not go with p-a, a target of stacks/p.yaml: the target names its own region; name the file's targets in a run without --region",
            "{e}"
        );
        assert!(check_target_flags(&envs[..1], &region).is_ok());
    }
}
