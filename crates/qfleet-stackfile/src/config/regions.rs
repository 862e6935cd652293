//! Every public Region of AWS's three public partitions (aws, aws-cn, aws-us-gov), to tell a
//! typo (`eu-westt-1`) from a Region: a stack file's region must be one of them, or the file says
//! `region_unlisted: true` for a Region newer than this table.
//!
//! Source: botocore's partition data (`botocore/data/partitions.json`, botocore 1.43.11), the
//! same table the AWS SDKs resolve endpoints from; AWS lists the Regions in the General
//! Reference, https://docs.aws.amazon.com/general/latest/gr/rande.html and
//! https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html.
//! Generated once with (from the repository's .venv):
//! `python -c 'import botocore,json,os; d=json.load(open(os.path.join(os.path.dirname(botocore.__file__),"data/partitions.json"))); [print(p["id"], sorted(r for r in p["regions"] if not r.endswith("-global"))) for p in d["partitions"] if p["id"] in ("aws","aws-cn","aws-us-gov")]'`
//! (the `*-global` pseudo-regions left out). To add a Region, add its line here.

/// The partitions and their Regions, in the order of partitions.json.
pub const PARTITIONS: &[(&str, &[&str])] = &[
    (
        "aws",
        &[
            "af-south-1",
            "ap-east-1",
            "ap-east-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-6",
            "ap-southeast-7",
            "ca-central-1",
            "ca-west-1",
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "il-central-1",
            "me-central-1",
            "me-south-1",
            "mx-central-1",
            "sa-east-1",
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
        ],
    ),
    ("aws-cn", &["cn-north-1", "cn-northwest-1"]),
    ("aws-us-gov", &["us-gov-east-1", "us-gov-west-1"]),
];

/// The partition `region` belongs to, when it is in the table.
pub fn partition(region: &str) -> Option<&'static str> {
    PARTITIONS
        .iter()
        .find(|(_, regions)| regions.contains(&region))
        .map(|(id, _)| *id)
}

/// The Region of the table closest to `region` (a typo or two away), for "did you mean".
pub(super) fn closest(region: &str) -> Option<&'static str> {
    PARTITIONS
        .iter()
        .flat_map(|(_, regions)| regions.iter())
        .map(|r| (strsim::damerau_levenshtein(region, r), *r))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, r)| r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each partition's `regionRegex` in partitions.json, said as prefixes: every Region of
    /// the table is in its partition's form, and the three partitions' forms do not overlap.
    fn in_form(partition: &str, region: &str) -> bool {
        let parts: Vec<&str> = region.split('-').collect();
        let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
        let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase());
        match (partition, parts.as_slice()) {
            ("aws", [geo, name, n]) => {
                ["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"].contains(geo)
                    && word(name)
                    && digits(n)
            }
            ("aws-cn", ["cn", name, n]) => word(name) && digits(n),
            ("aws-us-gov", ["us", "gov", name, n]) => word(name) && digits(n),
            _ => false,
        }
    }

    #[test]
    fn every_region_is_in_its_partitions_form_and_listed_once() {
        let mut all: Vec<&str> = Vec::new();
        for (id, regions) in PARTITIONS {
            assert!(!regions.is_empty(), "{id}");
            for r in *regions {
                assert!(in_form(id, r), "{id}: {r}");
                assert_eq!(partition(r), Some(*id));
                all.push(r);
            }
        }
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "a region listed twice");
        assert!(n >= 37, "{n} regions");
    }

    #[test]
    fn a_typo_gets_the_region_it_is_close_to() {
        assert_eq!(closest("eu-westt-1"), Some("eu-west-1"));
        assert_eq!(closest("us-est-1"), Some("us-east-1"));
        assert_eq!(closest("cn-nort-1"), Some("cn-north-1"));
        assert_eq!(closest("xx-newland-1"), None);
        assert_eq!(partition("eu-westt-1"), None);
        assert_eq!(partition("us-gov-west-1"), Some("aws-us-gov"));
    }
}
