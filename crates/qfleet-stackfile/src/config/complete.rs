//! The environment names a shell completes ENV to: every stack file in the stacks directory,
//! the copies of a file with `copies` (`lab-01` … `lab-12`) and the targets of a file with
//! `targets` (`orders-eu`). Read leniently: a file that
//! does not parse still offers its name, and nothing here fails.

use serde_yaml_ng::Value;
use std::path::Path;

/// One name to offer, with a short description for shells that show one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    pub help: String,
}

/// Every environment name of `stacks_dir` that starts with `prefix`, sorted.
pub fn candidates(stacks_dir: &Path, prefix: &str) -> Vec<Candidate> {
    let mut names = super::environment_names(stacks_dir);
    names.dedup();
    let mut out = Vec::new();
    for stem in names {
        let doc = super::locate(&stem, stacks_dir)
            .ok()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|text| serde_yaml_ng::from_str::<Value>(&text).ok())
            .unwrap_or(Value::Null);
        let region = doc.get("region").and_then(Value::as_str).unwrap_or("");
        let copies = doc
            .get("copies")
            .and_then(Value::as_u64)
            .filter(|n| (1..=100).contains(n));
        // A copy is found by its file's name (`lab-07` → lab.yaml), so copies are offered only
        // when the environment keeps that name.
        let named_so = doc
            .get("environment")
            .and_then(Value::as_str)
            .is_none_or(|n| n == stem);
        let help = match copies {
            Some(n) => format!("{region}, {n} copies")
                .trim_start_matches(", ")
                .to_string(),
            None => region.to_string(),
        };
        out.push(Candidate {
            name: stem.clone(),
            help,
        });
        // A target is found by the environment's name and its own (`orders-eu`).
        let base = doc
            .get("environment")
            .and_then(Value::as_str)
            .unwrap_or(&stem);
        if let Some(targets) = doc.get("targets").and_then(Value::as_sequence) {
            out.extend(targets.iter().filter_map(|t| {
                let name = t.get("name")?.as_str()?;
                let at = t.get("region").and_then(Value::as_str).unwrap_or(region);
                let account = t.get("account").and_then(Value::as_str);
                Some(Candidate {
                    name: format!("{base}-{name}"),
                    help: match account {
                        Some(a) => format!("target {name} of {stem}: {a}, {at}"),
                        None => format!("target {name} of {stem}: {at}"),
                    },
                })
            }));
        }
        if let (Some(n), true) = (copies, named_so) {
            let width = n.to_string().len().max(2);
            out.extend((1..=n).map(|i| Candidate {
                name: format!("{stem}-{i:0width$}"),
                help: format!("copy {i} of {stem}"),
            }));
        }
    }
    out.retain(|c| c.name.starts_with(prefix));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path, prefix: &str) -> Vec<String> {
        candidates(dir, prefix)
            .into_iter()
            .map(|c| c.name)
            .collect()
    }

    #[test]
    fn names_and_copies_of_the_stacks_directory() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("lab.yaml"), "region: eu-west-1\ncopies: 12\n").unwrap();
        std::fs::write(d.join("prod.yml"), "region: us-east-1\n").unwrap();
        std::fs::write(d.join("broken.yaml"), "region: [\n").unwrap();
        std::fs::write(d.join("notes.txt"), "not a stack file").unwrap();
        let all = names(d, "");
        assert_eq!(all.len(), 1 + 1 + 12 + 1, "{all:?}");
        assert_eq!(&all[..3], ["broken", "lab", "lab-01"]);
        assert_eq!(all[13], "lab-12");
        assert_eq!(all[14], "prod");
        assert_eq!(names(d, "lab-1"), ["lab-10", "lab-11", "lab-12"]);
        assert_eq!(names(d, "p"), ["prod"]);
        assert!(names(d, "x").is_empty());
        let lab = &candidates(d, "lab")[0];
        assert_eq!(lab.help, "eu-west-1, 12 copies");
    }

    #[test]
    fn copies_follow_the_width_of_their_count_and_the_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("c.yaml"), "region: eu-west-1\ncopies: 100\n").unwrap();
        // Copies of a file whose environment is renamed cannot be named by their copy name.
        std::fs::write(
            d.join("other.yaml"),
            "environment: renamed\nregion: eu-west-1\ncopies: 3\n",
        )
        .unwrap();
        let all = names(d, "");
        assert_eq!(all[1], "c-001");
        assert_eq!(all[100], "c-100");
        assert_eq!(names(d, "o"), ["other"]);
    }

    #[test]
    fn targets_are_offered_by_their_environment_s_name() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("orders.yaml"),
            "region: eu-west-1\ntargets:\n  - name: eu\n  - name: us\n    account: '222222222222'\n    region: us-east-1\n",
        )
        .unwrap();
        std::fs::write(
            d.join("file.yaml"),
            "environment: shop\nregion: eu-west-1\ntargets:\n  - name: eu\n",
        )
        .unwrap();
        assert_eq!(names(d, "orders-"), ["orders-eu", "orders-us"]);
        assert_eq!(names(d, "shop"), ["shop-eu"]);
        let us = &candidates(d, "orders-us")[0];
        assert_eq!(us.help, "target us of orders: 222222222222, us-east-1");
    }

    #[test]
    fn a_missing_directory_offers_nothing() {
        assert!(candidates(Path::new("/nonexistent/stacks"), "").is_empty());
    }
}
