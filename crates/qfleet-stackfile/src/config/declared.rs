//! What a stack file makes, and where, read from its text alone: each environment's name,
//! Region and account, the file's own environment (what its stacks' marks will say) and its
//! owner. Nothing the file names is read (scripts, code, build contexts) and nothing else is
//! checked, so every stack file of a directory can be read this way by any command that must
//! know which file makes an environment. The names and places are the ones
//! [`super::LoadedFile::expand`] gives the same file (a test compares the two over every
//! shipped file and generated ones). A file whose text does not say them is an error, never
//! "makes nothing".

use super::schema::RolloutMode;
use std::path::Path;

/// One environment a stack file makes, deployed by qfleet itself under qfleet's names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Declared {
    /// Its name (`orders-us1`, `class-07`).
    pub name: String,
    pub region: String,
    /// The account its file names for it (a target's `account`, or the file's one
    /// `accounts`); `None`: the credentials' own.
    pub account: Option<String>,
    /// The file's own environment (`orders` of `orders-us1`), as its marks say.
    pub file_environment: String,
    pub owner: Option<String>,
}

/// A stack file as [`declared`] reads it: its own environment, owner and targets, and the
/// environments it makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMakes {
    /// Its own environment: `environment:`, else its file name's stem.
    pub file_environment: String,
    pub owner: Option<String>,
    /// Its targets' names.
    pub targets: Vec<String>,
    /// The environments it makes that qfleet deploys itself (none for a file deployed
    /// through StackSets: that service names its stack sets' instances).
    pub environments: Vec<Declared>,
}

/// What the stack file at `path` with `text` makes ([`FileMakes`]). An error says what could
/// not be read.
pub fn declared(path: &Path, text: &str) -> Result<FileMakes, String> {
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let string = |v: &serde_yaml_ng::Value, key: &str| -> Result<Option<String>, String> {
        match v.get(key) {
            None | Some(serde_yaml_ng::Value::Null) => Ok(None),
            Some(serde_yaml_ng::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => match other.as_u64() {
                // An account id written as a number.
                Some(n) => Ok(Some(n.to_string())),
                None => Err(format!("`{key}` is not a string")),
            },
        }
    };
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| "the file's name is not UTF-8".to_string())?;
    let base = string(&doc, "environment")?.unwrap_or_else(|| stem.to_string());
    let region = string(&doc, "region")?.ok_or_else(|| "no `region`".to_string())?;
    let owner = string(&doc, "owner")?;
    let accounts: Vec<String> = match doc.get("accounts") {
        None | Some(serde_yaml_ng::Value::Null) => Vec::new(),
        Some(serde_yaml_ng::Value::Sequence(list)) => {
            list.iter()
                .map(|a| match a {
                    serde_yaml_ng::Value::String(s) => Ok(s.clone()),
                    other => other.as_u64().map(|n| n.to_string()).ok_or_else(|| {
                        "`accounts` holds a value that is not an account".to_string()
                    }),
                })
                .collect::<Result<_, _>>()?
        }
        Some(_) => return Err("`accounts` is not a list".into()),
    };
    let file_account = match accounts.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    };
    let mut out = FileMakes {
        file_environment: base.clone(),
        owner: owner.clone(),
        targets: Vec::new(),
        environments: Vec::new(),
    };
    let make = |name: String, region: String, account: Option<String>| Declared {
        name,
        region,
        account,
        file_environment: base.clone(),
        owner: owner.clone(),
    };
    if let Some(targets) = doc.get("targets").filter(|t| !t.is_null()) {
        let list = targets
            .as_sequence()
            .ok_or_else(|| "`targets` is not a list".to_string())?;
        if !list.is_empty() {
            let mode = doc
                .get("rollout")
                .map(|r| string(r, "mode"))
                .transpose()?
                .flatten();
            let directly = mode.as_deref() != Some(RolloutMode::StackSets.as_str());
            for (i, t) in list.iter().enumerate() {
                let name =
                    string(t, "name")?.ok_or_else(|| format!("`targets.{i}` has no `name`"))?;
                let at = string(t, "region")?.unwrap_or_else(|| region.clone());
                let account = string(t, "account")?.or_else(|| file_account.clone());
                if directly {
                    out.environments
                        .push(make(format!("{base}-{name}"), at, account));
                }
                out.targets.push(name);
            }
            return Ok(out);
        }
    }
    out.environments = match doc.get("copies").filter(|c| !c.is_null()) {
        None => vec![make(base.clone(), region, file_account.clone())],
        Some(n) => {
            let n = n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| "`copies` is not a whole number".to_string())?;
            super::copy_names(&base, n)
                .into_iter()
                .map(|name| make(name, region.clone(), file_account.clone()))
                .collect()
        }
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`super::super::LoadedFile::expand`] makes of a file, as [`Declared`]s.
    fn expanded(path: &Path) -> Vec<Declared> {
        let file = super::super::load(path).unwrap();
        let mut out: Vec<Declared> = file
            .expand()
            .into_iter()
            .filter(|e| e.deployed_directly())
            .map(|e| Declared {
                name: e.name.clone(),
                region: e.spec.region.clone(),
                account: e
                    .target
                    .as_ref()
                    .and_then(|t| t.account.clone())
                    .or_else(|| match e.spec.accounts.as_deref() {
                        Some([one]) => Some(one.clone()),
                        _ => None,
                    }),
                file_environment: e.file_environment().to_string(),
                owner: e.spec.owner.clone(),
            })
            .collect();
        out.sort();
        out
    }

    fn read(path: &Path) -> Vec<Declared> {
        let mut out = declared(path, &std::fs::read_to_string(path).unwrap())
            .unwrap()
            .environments;
        out.sort();
        out
    }

    /// Every stack file the project ships: the light reading names what the full one makes.
    #[test]
    fn every_shipped_file_is_read_as_its_expansion_makes_it() {
        let root = super::super::workspace_root();
        let mut checked = 0;
        let mut dirs = vec![root.join("examples"), root.join("stacks")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    dirs.push(p);
                    continue;
                }
                if !matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                    continue;
                }
                // Only stack files (the examples' folders hold CI pipelines and manifests).
                let Ok(file) = super::super::load(&p) else {
                    continue;
                };
                drop(file);
                assert_eq!(read(&p), expanded(&p), "{}", p.display());
                checked += 1;
            }
        }
        assert!(checked > 20, "{checked} files");
    }

    #[test]
    fn a_file_that_does_not_say_where_is_an_error_never_nothing() {
        let p = Path::new("stacks/x.yaml");
        assert!(declared(p, "lab: true\n").unwrap_err().contains("region"));
        assert!(declared(p, "region: [").unwrap_err().contains("YAML"));
        assert!(
            declared(p, "region: eu-west-1\ncopies: many\n")
                .unwrap_err()
                .contains("copies")
        );
        assert!(
            declared(p, "region: eu-west-1\ntargets:\n  - region: us-east-1\n")
                .unwrap_err()
                .contains("name")
        );
    }

    mod generated {
        use super::*;
        use proptest::prelude::*;

        fn file() -> impl Strategy<Value = String> {
            let target = (
                "[a-z][a-z0-9]{0,3}",
                prop::option::of(0..3usize),
                any::<bool>(),
            );
            (
                prop::option::of("[a-z]{1,6}"),
                0..3usize,
                prop::option::of("[a-z]{1,5}"),
                prop::option::of(1..13u32),
                prop::collection::vec(target, 0..4),
                any::<bool>(),
            )
                .prop_map(
                    |(environment, region, owner, copies, targets, one_account)| {
                        const REGIONS: [&str; 3] = ["eu-west-1", "us-east-1", "us-west-2"];
                        let mut t = format!("region: {}\nlab: true\n", REGIONS[region]);
                        if let Some(e) = environment {
                            t.push_str(&format!("environment: {e}\n"));
                        }
                        if let Some(o) = owner {
                            t.push_str(&format!("owner: {o}\n"));
                        }
                        if one_account {
                            t.push_str("accounts: ['111111111111']\n");
                        }
                        let mut names: Vec<String> = Vec::new();
                        let targets: Vec<_> = targets
                            .into_iter()
                            .filter(|(n, ..)| {
                                let new = !names.contains(n);
                                names.push(n.clone());
                                new
                            })
                            .collect();
                        if targets.is_empty() {
                            if let Some(c) = copies {
                                t.push_str(&format!("copies: {c}\n"));
                            }
                        } else {
                            t.push_str("targets:\n");
                            for (name, region, account) in targets {
                                t.push_str(&format!("  - name: {name}\n"));
                                if let Some(r) = region {
                                    t.push_str(&format!("    region: {}\n", REGIONS[r]));
                                }
                                if account {
                                    t.push_str("    account: '111111111111'\n");
                                }
                            }
                        }
                        t
                    },
                )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            /// Generated files of copies, targets, accounts, owners and declared names: read
            /// alone, each makes what its expansion makes.
            #[test]
            fn a_generated_file_is_read_as_its_expansion_makes_it(text in file(), stem in "[a-z]{1,6}") {
                let dir = tempfile::tempdir().unwrap();
                let p = dir.path().join(format!("{stem}.yaml"));
                std::fs::write(&p, &text).unwrap();
                prop_assume!(super::super::super::load(&p).is_ok());
                prop_assert_eq!(read(&p), expanded(&p), "{}", text);
            }
        }
    }
}
