//! Names, regions and instance architectures, unit by unit.
use super::*;
use crate::config::schema::is_graviton;

#[test]
fn graviton_families() {
    for t in [
        "t4g.micro",
        "m7g.large",
        "c7gn.xlarge",
        "r8gd.2xlarge",
        "a1.medium",
    ] {
        assert!(is_graviton(t), "{t}");
    }
    for t in ["t3.micro", "g4dn.xlarge", "m5.large", "inf2.xlarge"] {
        assert!(!is_graviton(t), "{t}");
    }
}

#[test]
fn names_and_regions() {
    assert!(valid_name("lab-01"));
    assert!(!valid_name("Lab"));
    assert!(!valid_name("1lab"));
    assert!(!valid_name("lab-"));
    assert!(!valid_name("a-very-long-environment-name-x"));
    assert!(valid_region("eu-west-1"));
    assert!(valid_region("us-gov-west-1"));
    assert!(!valid_region("eu-west"));
    assert!(!valid_region("Europe"));
}

#[test]
fn a_refused_name_says_what_names_are_allowed() {
    // The rule's length is the limit the check applies.
    assert!(NAME_RULE.contains(&format!("at most {MAX_NAME_LEN} characters")));
    for (path, text, name) in [
        (
            "stacks/my_env.yaml",
            "region: eu-west-1\nlab: true\n",
            "my_env",
        ),
        (
            "stacks/x.yaml",
            "environment: My-Env\nregion: eu-west-1\nlab: true\n",
            "My-Env",
        ),
    ] {
        let Err(crate::config::Error::Input(problems)) =
            crate::config::parse(path.into(), text.into())
        else {
            panic!("{path}: accepted");
        };
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains(&format!("`{name}`"))
                    && p.allowed.as_deref() == Some(NAME_RULE)),
            "{problems:?}"
        );
    }
}
