//! `qfleet environments`' result: every environment qfleet made in an account and region (or
//! in every Region enabled for the account), with the stack file of the stacks directory that
//! makes it (none: its file no longer does, or it is not in this directory).

use super::Made;
use crate::error::Result;
use crate::output::{Document, Environment, Output, Report};
use schemars::JsonSchema;
use serde::Serialize;

/// Every environment found, with its Region and the file that makes it.
pub(crate) struct Listing {
    /// The Regions listed: one, or every one enabled for the account (`--all-regions`).
    pub regions: Vec<String>,
    /// `--all-regions`.
    pub all: bool,
    pub environments: Vec<Listed>,
    /// The Regions whose environments could not be read, each with why.
    pub unchecked: Vec<UncheckedRegion>,
}

/// One environment found: where, and the stack file of the stacks directory that makes it.
pub(crate) struct Listed {
    pub region: String,
    pub made: Made,
    /// The stack file of the stacks directory that makes it, there (by its name, account and
    /// Region, [`super::identity`]).
    pub file: Option<String>,
    /// Whether its marks name that very file (`false`: they name the file that made it
    /// before; its next deploy takes the stacks over).
    pub marks_current: bool,
    /// The address that reaches it alone.
    pub address: String,
}

/// A Region whose environments could not be read: none is never said of it.
#[derive(Serialize, JsonSchema, Clone)]
pub(crate) struct UncheckedRegion {
    pub region: String,
    pub why: String,
}

/// One environment qfleet made there, as its stacks' tags say.
#[derive(Serialize, JsonSchema)]
struct Body<'a> {
    /// The Region its stacks are in.
    region: &'a str,
    /// The account its stacks are in, from its data stack's ARN.
    account: Option<&'a str>,
    /// The stack file's own environment it was made from (`null`: deployed before qfleet
    /// said).
    file_environment: Option<&'a str>,
    /// The stack file of the stacks directory that makes it now, in this account and Region
    /// (`null`: none does; its file no longer makes it, or is elsewhere).
    stack_file: Option<&'a str>,
    /// The stack file its stacks' marks say made it, by its file name (`null`: deployed
    /// before qfleet said).
    made_by_file: Option<&'a str>,
    /// Whether the file that makes it now is the one its marks name (`false`: its next deploy
    /// takes the stacks over and marks them anew; `null`: no file here makes it).
    marks_current: Option<bool>,
    /// The command that retires it, where no stack file here makes it: it runs as printed.
    retire: Option<String>,
    owner: Option<&'a str>,
    /// The kinds of its workers (`ec2`, `lambda`, `fargate`, `+` between a pipeline's).
    kind: Option<&'a str>,
    /// Which copy or target of its file it is.
    copy: Option<&'a str>,
    target: Option<&'a str>,
    /// Its stacks, the data stack first.
    stacks: &'a [String],
}

/// The document's own keys.
#[derive(Serialize, JsonSchema)]
struct Own<'a> {
    /// The Region listed (`null` with `--all-regions`).
    region: Option<&'a str>,
    /// The Regions listed: the one, or every one enabled for the account.
    regions: &'a [String],
    /// The Regions whose environments could not be read (exit 1): what they hold is not
    /// known.
    unchecked: &'a [UncheckedRegion],
}

/// The environments qfleet made in each of `regions` (`all`: every Region enabled for the
/// account), a few Regions at a time, each with the stack file of `stacks_dir` that makes it.
/// A Region that cannot be read is listed as unchecked, never as empty.
pub(crate) async fn listing(
    aws: &crate::aws::Aws,
    regions: Vec<String>,
    all: bool,
    stacks_dir: &std::path::Path,
) -> Listing {
    use futures::StreamExt;
    /// Regions read at once: a few, so that a whole account's listing stays within
    /// CloudFormation's request rate.
    const AT_ONCE: usize = 4;
    let read: Vec<(String, Result<Vec<Made>>)> = futures::stream::iter(regions.clone())
        .map(|region| async move {
            let clients = aws.clients(&region).await;
            let found = super::every(&clients).await;
            (region, found)
        })
        .buffered(AT_ONCE)
        .collect()
        .await;
    let files = crate::config::StackFiles::default();
    let directory = super::Directory::read(&[stacks_dir], &files);
    let mut listing = Listing {
        regions,
        all,
        environments: Vec::new(),
        unchecked: Vec::new(),
    };
    for (region, found) in read {
        match found {
            Ok(made) => {
                // Who makes each: the file of the directory that makes that name in that
                // account and Region, never one that makes the name elsewhere.
                let place = super::Place {
                    account: None,
                    region: region.clone(),
                };
                let world = directory.world(made.iter().map(|m| (m.clone(), place.clone())));
                listing.environments.extend(made.into_iter().map(|m| {
                    let key = super::identity::Key {
                        name: m.environment.clone(),
                        account: m.account.clone(),
                        region: region.clone(),
                    };
                    let maker = world.maker(&key);
                    let marks_current = maker.is_some_and(|x| {
                        m.file.as_deref() == Some(x.file_environment.as_str())
                            && m.stack_file.as_deref()
                                == x.file.file_name().and_then(|n| n.to_str())
                    });
                    Listed {
                        region: region.clone(),
                        file: maker.map(|x| x.file.display().to_string()),
                        marks_current,
                        address: world.address(&key),
                        made: m,
                    }
                }))
            }
            Err(e) => listing.unchecked.push(UncheckedRegion {
                region,
                why: e.to_string(),
            }),
        }
    }
    listing
}

/// The schema of `qfleet environments`' document.
#[cfg(test)]
pub(crate) fn schema() -> serde_json::Value {
    use crate::output::document_schema::{self as schema, Environments};
    schema::document::<Body<'static>, Own<'static>>(
        "environments",
        "qfleet environments --output json",
        Environments::Each,
    )
}

impl Report for Listing {
    /// 1 when a Region could not be read: its environments are not known, never "none".
    fn exit_code(&self) -> crate::error::Exit {
        match self.unchecked.is_empty() {
            true => crate::error::Exit::Ok,
            false => crate::error::Exit::Aws,
        }
    }

    /// A Region that could not be read is an error on stderr in every format.
    fn notes(&self, out: &Output) {
        for u in &self.unchecked {
            out.note(format!(
                "error: could not list the environments in {}: {}",
                u.region, u.why
            ));
        }
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let environments = self
            .environments
            .iter()
            .map(|l| {
                let m = &l.made;
                let body = Body {
                    region: &l.region,
                    account: m.account.as_deref(),
                    file_environment: m.file.as_deref(),
                    stack_file: l.file.as_deref(),
                    made_by_file: m.stack_file.as_deref(),
                    marks_current: l.file.as_ref().map(|_| l.marks_current),
                    retire: l
                        .file
                        .is_none()
                        .then(|| format!("qfleet teardown {}", l.address)),
                    owner: m.owner.as_deref(),
                    kind: m.kind.as_deref(),
                    copy: m.copy.as_deref(),
                    target: m.target.as_deref(),
                    stacks: &m.stacks,
                };
                Environment::ok(&m.environment, body)
            })
            .collect();
        let error = (!self.unchecked.is_empty()).then(|| {
            let each: Vec<String> = self
                .unchecked
                .iter()
                .map(|u| format!("{}: {}", u.region, u.why))
                .collect();
            crate::error::Error::aws(format!(
                "could not list the environments in {}",
                each.join("; ")
            ))
            .report()
        });
        Document::with_own(
            self.exit_code(),
            environments,
            Own {
                region: match self.all {
                    true => None,
                    false => self.regions.first().map(String::as_str),
                },
                regions: &self.regions,
                unchecked: &self.unchecked,
            },
        )
        .with_error(error)
    }

    fn text(&self, out: &Output) -> Result<()> {
        if self.environments.is_empty() {
            let said = match self.all {
                true => format!(
                    "no environment of qfleet's in the {} enabled Region{} read",
                    self.regions.len() - self.unchecked.len(),
                    if self.regions.len() - self.unchecked.len() == 1 {
                        ""
                    } else {
                        "s"
                    }
                ),
                false => format!("no environment of qfleet's in {}", self.regions.join(", ")),
            };
            out.note(said);
            return Ok(());
        }
        let rows = self.environments.iter().map(|l| {
            let m = &l.made;
            vec![
                m.environment.clone(),
                l.region.clone(),
                m.kind.clone().unwrap_or_else(|| "?".into()),
                m.owner.clone().unwrap_or_else(|| "-".into()),
                m.stacks.len().to_string(),
                made_by(l),
            ]
        });
        out.line(crate::output::table(
            &[
                "ENVIRONMENT",
                "REGION",
                "KIND",
                "OWNER",
                "STACKS",
                "MADE BY",
            ],
            rows,
        ));
        for l in self.environments.iter().filter(|l| l.file.is_none()) {
            out.note(format!(
                "{} is made by no stack file here{}: it keeps running until `qfleet teardown {}` retires it",
                l.address,
                match (&l.made.stack_file, &l.made.file) {
                    (Some(f), _) => format!(" (its stacks name {f} as their file)"),
                    (None, Some(e)) => format!(" (its stacks name a file of {e})"),
                    (None, None) => String::new(),
                },
                crate::output::hint::quote(&l.address)
            ));
        }
        for l in self
            .environments
            .iter()
            .filter(|l| l.file.is_some() && !l.marks_current)
        {
            out.note(format!(
                "{} is made by {} now; its stacks still name {}: its next deploy marks them anew",
                l.address,
                l.file.as_deref().unwrap_or_default(),
                l.made
                    .stack_file
                    .clone()
                    .or_else(|| l.made.file.as_ref().map(|e| format!("a file of {e}")))
                    .unwrap_or_else(|| "no file".into())
            ));
        }
        Ok(())
    }
}

/// Who made it: the stack file here that makes it, else the file its stacks name (`none
/// here; made by walkb1.yaml`, or by a file of `class` for stacks deployed before qfleet named
/// the file).
fn made_by(l: &Listed) -> String {
    match (&l.file, &l.made.stack_file, &l.made.file) {
        (Some(f), _, _) => f.clone(),
        (None, Some(s), _) => format!("none here; made by {s}"),
        (None, None, Some(of)) => format!("none here; made by a file of {of}"),
        (None, None, None) => "none here".into(),
    }
}
