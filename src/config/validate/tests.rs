//! Names, regions and instance architectures, unit by unit.
use super::workers::is_graviton;
use super::*;

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
