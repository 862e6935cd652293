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
pub fn closest(region: &str) -> Option<&'static str> {
    PARTITIONS
        .iter()
        .flat_map(|(_, regions)| regions.iter())
        .map(|r| (strsim::damerau_levenshtein(region, r), *r))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, r)| r)
}
