//! On-demand prices, enough to put a figure on a simulated run, not a bill: the table
//! `prices.tsv` beside this file, written by `scripts/prices` from AWS's public price list
//! files or a dated snapshot of AWS's pricing-page data, each row naming its source. A type,
//! size or region the table does not hold has no price (`None`), never zero: the run says so,
//! and `--tune` then ranks by the resources used.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The table, as `scripts/prices` writes it.
const TABLE: &str = include_str!("prices.tsv");

/// One price: USD per unit, and the index of its source.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Row {
    usd: f64,
    source: usize,
}

/// The table read: (kind, region, key, unit) to its row, the sources by index, and each
/// instance type's vCPUs where a row states them.
struct Table {
    rows: HashMap<(String, String, String, String), Row>,
    sources: Vec<(String, String)>,
    vcpus: HashMap<String, u32>,
}

/// Reads the table; a line it cannot read is left out (a price missing, never a wrong one).
fn parse(text: &str) -> Table {
    let mut sources: Vec<(String, String)> = Vec::new();
    let mut rows = HashMap::new();
    let mut vcpu_counts = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# source\t") {
            if let Some((id, what)) = rest.split_once('\t') {
                sources.push((id.to_string(), what.to_string()));
            }
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split('\t').collect();
        let [kind, region, key, usd, unit, vcpus, source] = cells[..] else {
            continue;
        };
        let (Ok(usd), Some(source)) = (
            usd.parse::<f64>(),
            sources.iter().position(|(id, _)| id == source),
        ) else {
            continue;
        };
        if !(usd.is_finite() && usd >= 0.0) {
            continue;
        }
        if let (Ok(v), "ec2") = (vcpus.parse::<u32>(), kind) {
            vcpu_counts.entry(key.to_string()).or_insert(v);
        }
        rows.insert(
            (kind.into(), region.into(), key.into(), unit.into()),
            Row { usd, source },
        );
    }
    Table {
        rows,
        sources,
        vcpus: vcpu_counts,
    }
}

static TABLE_READ: OnceLock<Table> = OnceLock::new();

fn table() -> &'static Table {
    TABLE_READ.get_or_init(|| parse(TABLE))
}

/// Prices from a table `scripts/prices` wrote (`--prices FILE`), instead of the one built in,
/// for the rest of the command: the number of prices read, or why none could be.
pub fn use_file(path: &std::path::Path) -> std::result::Result<usize, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let t = parse(&text);
    if t.rows.is_empty() {
        return Err("no price in it: a table as scripts/prices writes it (tab-separated kind, region, key, usd, unit, vcpus, source, under `# source` lines)".to_string());
    }
    let n = t.rows.len();
    TABLE_READ
        .set(t)
        .map_err(|_| "the prices were read already".to_string())?;
    Ok(n)
}

fn row(kind: &str, region: &str, key: &str, unit: &str) -> Option<Row> {
    table()
        .rows
        .get(&(kind.into(), region.into(), key.into(), unit.into()))
        .copied()
}

/// Where the prices of `rows` come from, each source once, in words.
fn sources_of(rows: &[Option<Row>]) -> String {
    let t = table();
    let mut seen: Vec<usize> = rows.iter().flatten().map(|r| r.source).collect();
    seen.sort_unstable();
    seen.dedup();
    if seen.is_empty() {
        return "qfleet's price table (crates/qfleet-sim/src/prices.tsv, scripts/prices refreshes it): no price for this type, size or Region".to_string();
    }
    seen.iter()
        .map(|&i| t.sources[i].1.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

/// USD per hour of one instance of `instance_type` in `region`, if the table holds it.
pub fn instance_hour(region: &str, instance_type: &str) -> Option<f64> {
    row("ec2", region, instance_type, "instance-hour").map(|r| r.usd)
}

/// Whether the table prices `instance_type` in any Region.
pub fn lists_type(instance_type: &str) -> bool {
    table()
        .rows
        .keys()
        .any(|(kind, _, key, _)| kind == "ec2" && key == instance_type)
}

/// The date the table's prices are as of, from the source of the EC2 rows (its `as of`).
pub fn as_of() -> String {
    let t = table();
    t.sources
        .first()
        .and_then(|(_, s)| s.rsplit("as of ").next())
        .unwrap_or("an unknown day")
        .to_string()
}

/// Where an instance type's price comes from.
pub fn instance_source(region: &str, instance_type: &str) -> String {
    sources_of(&[row("ec2", region, instance_type, "instance-hour")])
}

/// The vCPUs of `instance_type`: the table's (any Region), else from its size as EC2 names
/// them (`large` 2, `xlarge` 4, `Nxlarge` 4 × N; `medium` 1, and the burstable `t` types 2
/// from `nano` to `large`); `None` for `metal` and any other size.
pub fn vcpus(instance_type: &str) -> Option<f64> {
    if let Some(&v) = table().vcpus.get(instance_type) {
        return Some(f64::from(v));
    }
    let (family, size) = instance_type.split_once('.')?;
    let burstable = family.starts_with('t');
    match size {
        "nano" | "micro" | "small" | "medium" if burstable => Some(2.0),
        "medium" => Some(1.0),
        "large" => Some(2.0),
        "xlarge" => Some(4.0),
        s => s
            .strip_suffix("xlarge")
            .and_then(|n| n.parse::<f64>().ok())
            .map(|n| 4.0 * n),
    }
}

fn arch(arm: bool) -> &'static str {
    if arm { "arm64" } else { "x86" }
}

/// USD for `gb_seconds` of Lambda compute and `requests` invocations in `region`, x86 or
/// Arm, if the table holds both prices (the first tier).
pub fn lambda(region: &str, arm: bool, gb_seconds: f64, requests: u64) -> Option<f64> {
    let gbs = row("lambda", region, arch(arm), "gb-second")?;
    let req = row("lambda", region, arch(arm), "million-requests")?;
    Some(gb_seconds * gbs.usd + requests as f64 / 1e6 * req.usd)
}

/// Where a function's prices come from.
pub fn lambda_source(region: &str, arm: bool) -> String {
    sources_of(&[
        row("lambda", region, arch(arm), "gb-second"),
        row("lambda", region, arch(arm), "million-requests"),
    ])
}

/// USD per hour of one Fargate task of `cpu` units (1,024 a vCPU) and `memory_mib` MiB in
/// `region`, x86 or ARM, if the table holds the region: cpu ÷ 1024 × the vCPU price +
/// memory ÷ 1024 × the GB price. Fargate Spot runs "at up to a 70% discount" off these (the
/// pricing page); its price moves with spare capacity, so the table records none and a run
/// with a Spot share is priced all on demand, saying so.
pub fn fargate_task_hour(region: &str, arm: bool, cpu: u32, memory_mib: u32) -> Option<f64> {
    let vcpu = row("fargate", region, arch(arm), "vcpu-hour")?;
    let gb = row("fargate", region, arch(arm), "gb-hour")?;
    Some(f64::from(cpu) / 1_024.0 * vcpu.usd + f64::from(memory_mib) / 1_024.0 * gb.usd)
}

/// Where a task's prices come from.
pub fn fargate_source(region: &str, arm: bool) -> String {
    sources_of(&[
        row("fargate", region, arch(arm), "vcpu-hour"),
        row("fargate", region, arch(arm), "gb-hour"),
    ])
}

/// AWS's ECS pricing page (<https://aws.amazon.com/ecs/pricing/>, read 2026-11-30 through a
/// transcription of 2026-09-20): Managed Instances charge a management fee on top of the EC2
/// instance, "billed per second with a one-minute minimum"; its example: $0.037 an
/// instance-hour for a c6a.2xlarge, whose on-demand price in us-east-1 is $0.306 (the table's):
/// 12.1 %. The fee varies by type and no table of it was read.
pub const FEE_EXAMPLE: (&str, f64, f64) = ("c6a.2xlarge", 0.037, 0.306);

/// The fee as a share of the on-demand price, for a type other than the example: modelled
/// from half to twice the example's share (6 % to 24 %); the ranking takes the high end.
pub const FEE_SHARE_RANGE: (f64, f64) = (0.5 * 0.037 / 0.306, 2.0 * 0.037 / 0.306);

/// The management fee of ECS Managed Instances as a share of the instance's On-Demand price,
/// where a cost must err on the dear side (a day's cost, the budget check): the high end of
/// the modelled range, [`FEE_SHARE_RANGE`]; every report that uses it says so.
pub const ECS_MANAGED_FEE_SHARE: f64 = FEE_SHARE_RANGE.1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_whole_and_names_a_source_for_every_row() {
        let t = table();
        let rows = TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count();
        assert_eq!(t.rows.len(), rows, "a row of prices.tsv could not be read");
        assert!(t.sources.iter().all(|(_, s)| s.contains("as of")));
        assert_eq!(instance_hour("us-east-1", "c7i.xlarge"), Some(0.1785));
        assert_eq!(instance_hour("eu-west-1", "c7i.xlarge"), Some(0.19152));
        let source = instance_source("us-east-1", "c7i.xlarge");
        assert!(
            source.contains("aws-price-watcher") && source.contains("as of 2025-12-06"),
            "{source}"
        );
    }

    /// The Regions of partition `aws` that no source of the table has a price for: none
    /// since the snapshot of 2025-12-06 (Asia Pacific (New Zealand) had none in June 2025).
    const UNPRICED_REGIONS: &[&str] = &[];

    /// Types that AWS's price data of 2025-12-06 lists in no Region of this list: on-demand
    /// Linux was not sold there that day (the later families came to those Regions after, or
    /// not yet). Written out so that a refresh that fills them shows here.
    const NOT_SOLD: &[(&str, &[&str])] = &[
        ("af-south-1", &["m7i.large", "c7i.xlarge"]),
        ("ap-south-2", &["m7i.large", "c7i.xlarge"]),
        ("ca-west-1", &["m7i.large", "c7i.xlarge", "m7g.large"]),
        ("eu-south-1", &["c7i.xlarge", "m7g.large"]),
        ("il-central-1", &["m7i.large", "c7i.xlarge"]),
        ("me-south-1", &["m7i.large", "c7i.xlarge"]),
    ];

    #[test]
    fn the_built_in_table_covers_every_commercial_region_qfleet_accepts() {
        let (_, commercial) = crate::config::PARTITIONS
            .iter()
            .find(|(id, _)| *id == "aws")
            .unwrap();
        for region in *commercial {
            let priced = !UNPRICED_REGIONS.contains(region);
            for arm in [false, true] {
                let task = fargate_task_hour(region, arm, 1_024, 2_048);
                let function = lambda(region, arm, 1.0, 1);
                assert_eq!(task.is_some(), priced, "{region} Fargate arm={arm}");
                assert_eq!(function.is_some(), priced, "{region} Lambda arm={arm}");
                for unit in ["vcpu-hour", "gb-hour"] {
                    let r = row("fargate", region, arch(arm), unit);
                    assert!(r.is_none_or(|r| r.usd > 0.0), "{region} {unit}");
                }
            }
            let not_sold = NOT_SOLD
                .iter()
                .find(|(r, _)| r == region)
                .map_or(&[][..], |(_, types)| *types);
            for ty in ["m7i.large", "c7i.xlarge", "m7g.large", "t3.micro"] {
                let price = instance_hour(region, ty);
                let expected = priced && !not_sold.contains(&ty);
                assert_eq!(price.is_some(), expected, "{region} {ty}: {price:?}");
                assert!(price.is_none_or(|p| p > 0.0), "{region} {ty}");
            }
        }
        // The list of exceptions names only Regions qfleet accepts.
        for (r, _) in NOT_SOLD {
            assert!(commercial.contains(r), "{r}");
        }
    }

    #[test]
    fn a_missing_price_is_none_never_zero_and_says_so() {
        // g6 was not sold in eu-west-1 on the snapshot's day; p5e is listed by the second
        // source without a price; a GovCloud Region is no commercial one: none of them priced.
        assert_eq!(instance_hour("eu-west-1", "g6.xlarge"), None);
        assert!(instance_hour("us-east-1", "g6.xlarge").is_some());
        assert_eq!(instance_hour("us-east-1", "p5e.48xlarge"), None);
        assert_eq!(lambda("us-gov-west-1", false, 10.0, 10), None);
        assert_eq!(fargate_task_hour("us-gov-west-1", false, 512, 1_024), None);
        assert!(instance_source("eu-west-1", "g6.xlarge").contains("no price"));
        // A row that cannot be read is left out, not read as 0.
        let t = parse(
            "# source\ta\tthe test\nec2\tr\tt.large\tabc\tinstance-hour\t2\ta\nec2\tr\tt.xlarge\t0.2\tinstance-hour\t4\tz\n",
        );
        assert!(t.rows.is_empty());
    }

    #[test]
    fn vcpus_come_from_the_table_or_the_size_name() {
        assert_eq!(vcpus("c7i.xlarge"), Some(4.0));
        assert_eq!(vcpus("t3.nano"), Some(2.0));
        assert_eq!(vcpus("c7g.medium"), Some(1.0));
        assert_eq!(vcpus("m7i.8xlarge"), Some(32.0));
        // The table's, where the size name says nothing or the wrong thing.
        assert_eq!(vcpus("m7i.metal-24xl"), Some(96.0));
        assert_eq!(vcpus("g6.xlarge"), Some(4.0));
        assert_eq!(vcpus("p5.48xlarge"), Some(192.0));
        assert_eq!(vcpus("x9z.metal-2xl"), None);
    }

    #[test]
    fn the_refresh_script_reads_aws_offer_files_into_the_table_the_simulator_reads() {
        // scripts/prices on offer files in AWS's CSV shape (fixtures, made-up prices): it
        // keeps Linux shared on-demand current-generation instances with their vCPUs, both
        // Fargate architectures without Windows, Lambda's first tier of both architectures
        // (requests a million), names its source and dates, and the table reads whole.
        let root = crate::config::workspace_root();
        let root = root.as_path();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("prices.tsv");
        let status = std::process::Command::new("python3")
            .arg(root.join("scripts/prices"))
            .arg("--from")
            .arg(root.join("crates/qfleet-sim/src/testdata/prices"))
            .args(["--regions", "eu-west-1", "--date", "2026-11-26", "--out"])
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        let text = std::fs::read_to_string(&out).unwrap();
        let t = parse(&text);
        let get = |k: &str, key: &str, unit: &str| {
            t.rows
                .get(&(k.into(), "eu-west-1".into(), key.into(), unit.into()))
                .copied()
        };
        let c7i = get("ec2", "c7i.xlarge", "instance-hour").unwrap();
        assert_eq!(
            (c7i.usd, t.vcpus.get("c7i.xlarge").copied()),
            (1.5, Some(4)),
            "Linux, shared, on demand only"
        );
        assert!(
            get("ec2", "m1.small", "instance-hour").is_none(),
            "previous generation"
        );
        assert_eq!(get("fargate", "x86", "vcpu-hour").unwrap().usd, 0.04);
        assert_eq!(get("fargate", "arm64", "gb-hour").unwrap().usd, 0.003);
        assert_eq!(
            get("lambda", "x86", "gb-second").unwrap().usd,
            0.00002,
            "first tier"
        );
        assert_eq!(get("lambda", "arm64", "gb-second").unwrap().usd, 0.000016);
        assert!((get("lambda", "arm64", "million-requests").unwrap().usd - 0.25).abs() < 1e-9);
        assert_eq!(t.rows.len(), 10, "{text}");
        let source = &t.sources[0].1;
        assert!(
            source.contains("AWS Price List Bulk API")
                && source.contains("AmazonEC2 published 2026-11-01")
                && source.contains("as of 2026-11-26"),
            "{source}"
        );
        // An offer file it cannot read is an error, and nothing is written.
        let empty = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(empty.path().join("AmazonEC2")).unwrap();
        std::fs::write(
            empty.path().join("AmazonEC2/eu-west-1.csv"),
            "\"FormatVersion\",\"v1.0\"\n\"SKU\"\n",
        )
        .unwrap();
        let out2 = empty.path().join("out.tsv");
        let status = std::process::Command::new("python3")
            .arg(root.join("scripts/prices"))
            .arg("--from")
            .arg(empty.path())
            .args(["--regions", "eu-west-1", "--out"])
            .arg(&out2)
            .status()
            .unwrap();
        assert!(!status.success());
        assert!(!out2.exists());
    }

    #[test]
    fn lambda_is_priced_by_architecture() {
        let x86 = lambda("us-east-1", false, 1_000_000.0, 1_000_000).unwrap();
        let arm = lambda("us-east-1", true, 1_000_000.0, 1_000_000).unwrap();
        assert!((x86 - (16.6667 + 0.2)).abs() < 1e-3, "{x86}");
        assert!((arm - (13.3334 + 0.2)).abs() < 1e-3, "{arm}");
        assert!(lambda_source("us-east-1", true).contains("lambda published 2025-12-02"));
        // Where AWS charges more, the table says so (af-south-1, per GB-second).
        let cape_town = lambda("af-south-1", false, 1_000_000.0, 0).unwrap();
        assert!((cape_town - 22.1).abs() < 1e-6, "{cape_town}");
    }

    #[test]
    fn the_refresh_script_reads_a_snapshot_of_aws_pricing_page_data() {
        // scripts/prices --from-price-watcher on fixtures in that snapshot's shape (made-up
        // prices): Linux on-demand instances of every generation, the two Fargate
        // architectures without Windows or storage, Lambda's first tier and requests (written
        // a million); a zero or a doubled price is left out; a Region without prices is said.
        let root = crate::config::workspace_root();
        let root = root.as_path();
        let fixtures = root.join("crates/qfleet-sim/src/testdata/price-watcher");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("prices.tsv");
        let run = |from: &std::path::Path, out: &std::path::Path| {
            std::process::Command::new("python3")
                .arg(root.join("scripts/prices"))
                .arg("--from-price-watcher")
                .arg(from)
                .args([
                    "--regions",
                    "eu-west-1,ap-southeast-6",
                    "--date",
                    "2026-11-26",
                ])
                .args(["--where", "the test's fixtures", "--out"])
                .arg(out)
                .output()
                .unwrap()
        };
        let o = run(&fixtures, &out);
        assert!(o.status.success(), "{o:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains("ec2 ap-southeast-6 (Asia Pacific (New Zealand)): no price")
                && stderr.contains("'0.1000000000;0.2000000000' is no positive price"),
            "{stderr}"
        );
        let text = std::fs::read_to_string(&out).unwrap();
        let t = parse(&text);
        let get = |k: &str, key: &str, unit: &str| {
            t.rows
                .get(&(k.into(), "eu-west-1".into(), key.into(), unit.into()))
                .map(|r| r.usd)
        };
        assert_eq!(get("ec2", "c7i.xlarge", "instance-hour"), Some(1.5));
        assert_eq!(get("ec2", "m1.small", "instance-hour"), Some(0.5));
        assert_eq!(get("ec2", "z9.large", "instance-hour"), None, "zero");
        assert_eq!(get("ec2", "q9.large", "instance-hour"), None, "two prices");
        assert_eq!(get("fargate", "x86", "vcpu-hour"), Some(0.05));
        assert_eq!(get("fargate", "x86", "gb-hour"), Some(0.005));
        assert_eq!(get("fargate", "arm64", "vcpu-hour"), Some(0.04));
        assert_eq!(get("fargate", "arm64", "gb-hour"), Some(0.004));
        assert_eq!(
            get("lambda", "x86", "gb-second"),
            Some(0.00002),
            "first tier"
        );
        assert_eq!(get("lambda", "arm64", "gb-second"), Some(0.000016));
        assert_eq!(get("lambda", "x86", "million-requests"), Some(0.3));
        assert_eq!(get("lambda", "arm64", "million-requests"), Some(0.25));
        assert_eq!(t.rows.len(), 10, "{text}");
        assert!(t.vcpus.is_empty(), "the files state no vCPUs");
        let (id, source) = &t.sources[0];
        assert_eq!(id, "watcher");
        assert!(
            source.contains("aws-price-watcher, the test's fixtures")
                && source.contains("ecs published 2026-10-01T00:00:00Z")
                && source.contains("lambda published 2026-10-02T00:00:00Z")
                && source.contains("ec2 from its processed file (no date)")
                && source.contains("as of 2026-11-26"),
            "{source}"
        );
        // A snapshot without one of the three files is an error, and nothing is written.
        let partial = tempfile::tempdir().unwrap();
        for f in ["raw/ecs.json", "processed/ec2.json"] {
            let to = partial.path().join(f);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(fixtures.join(f), to).unwrap();
        }
        let out2 = partial.path().join("out.tsv");
        let o = run(partial.path(), &out2);
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains("no lambda.json"));
        assert!(!out2.exists());
    }

    #[test]
    fn the_refresh_script_takes_vcpus_and_later_types_from_their_own_named_sources() {
        // --vcpus-from fills the vCPUs the price data lacks (fixtures in a Spare Cores dump's
        // shape); --types-from adds only the types the price data lists nowhere, in the
        // Regions given, under their own source; a type it lists unpriced is said and left
        // out; each source is named and dated; the China Regions' files are not read.
        let root = crate::config::workspace_root();
        let root = root.as_path();
        let testdata = root.join("crates/qfleet-sim/src/testdata");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("prices.tsv");
        let o = std::process::Command::new("python3")
            .arg(root.join("scripts/prices"))
            .arg("--from-price-watcher")
            .arg(testdata.join("price-watcher"))
            .args(["--regions", "eu-west-1", "--date", "2026-11-26"])
            .arg("--vcpus-from")
            .arg(testdata.join("vcpus"))
            .args([
                "--vcpus-date",
                "2026-11-20",
                "--vcpus-where",
                "the vCPU fixtures",
            ])
            .arg("--types-from")
            .arg(testdata.join("more-types"))
            .args([
                "--types-date",
                "2026-11-21",
                "--types-where",
                "the type fixtures",
            ])
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains("x9.xlarge: listed without an on-demand price"),
            "{stderr}"
        );
        let t = parse(&std::fs::read_to_string(&out).unwrap());
        let get = |key: &str| {
            t.rows
                .get(&(
                    "ec2".into(),
                    "eu-west-1".into(),
                    key.into(),
                    "instance-hour".into(),
                ))
                .copied()
        };
        let id = |r: Row| t.sources[r.source].0.as_str();
        let c7i = get("c7i.xlarge").unwrap();
        assert_eq!(
            (c7i.usd, id(c7i)),
            (1.5, "watcher"),
            "the first source wins"
        );
        let x9 = get("x9.large").unwrap();
        assert_eq!((x9.usd, id(x9)), (0.7, "types"));
        assert_eq!(get("x9.xlarge"), None, "no price, never zero");
        assert_eq!(get("x8.large"), None, "a China Regions file");
        assert!(
            !t.rows.keys().any(|k| k.1 == "us-gov-west-1"),
            "only the Regions given"
        );
        // vCPUs: the dump's for the first source's rows, the file's own for its types.
        assert_eq!(t.vcpus.get("c7i.xlarge"), Some(&4));
        assert_eq!(t.vcpus.get("m1.small"), Some(&1));
        assert_eq!(t.vcpus.get("x9.large"), Some(&2));
        let named = |id: &str, what: &[&str]| {
            let (_, s) = t.sources.iter().find(|(i, _)| i == id).unwrap();
            assert!(what.iter().all(|w| s.contains(w)), "{s}");
        };
        named(
            "types",
            &["tsaol/aws-gpu", "the type fixtures", "as of 2026-11-21"],
        );
        named(
            "vcpus",
            &[
                "SpareCores/sc-data-dumps",
                "the vCPU fixtures",
                "as of 2026-11-20",
            ],
        );
        // A second source without its date is refused, and nothing is written.
        let out2 = dir.path().join("out2.tsv");
        let o = std::process::Command::new("python3")
            .arg(root.join("scripts/prices"))
            .arg("--from-price-watcher")
            .arg(testdata.join("price-watcher"))
            .arg("--types-from")
            .arg(testdata.join("more-types"))
            .arg("--out")
            .arg(&out2)
            .output()
            .unwrap();
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains("--types-date"));
        assert!(!out2.exists());
    }
}
