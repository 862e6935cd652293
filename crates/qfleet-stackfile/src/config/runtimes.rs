//! The Lambda runtimes a worker function may use, with their lifecycle: the runtimes whose code
//! CloudFormation takes inline (Python 3 and Node.js), and the dates AWS Lambda deprecates them
//! and then blocks creating and updating functions on them (Lambda's runtime deprecation
//! policy, https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html#runtime-support-policy).
//! The dates come from the lifecycle data cfn-lint maintains, through `scripts/lambda-runtimes`
//! into `lambda_runtimes.json` (a test checks it is current for the pinned cfn-lint).

use jiff::Timestamp;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::SystemTime;

/// One runtime's dates, `YYYY-MM-DD`.
#[derive(Debug, Clone, Deserialize)]
struct Lifecycle {
    deprecated: String,
    create_block: String,
    update_block: String,
    successor: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    runtimes: BTreeMap<String, Lifecycle>,
}

static DATA: LazyLock<BTreeMap<String, Lifecycle>> = LazyLock::new(|| {
    serde_json::from_str::<Data>(include_str!("lambda_runtimes.json"))
        .map(|d| d.runtimes)
        // A unit test proves the built-in file reads; an unreadable one knows no runtime, so
        // every runtime is refused rather than any allowed.
        .unwrap_or_default()
});

/// Where a runtime stands on a given day.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Standing {
    /// Neither Python 3 nor Node.js, or not a runtime Lambda has had.
    Unknown,
    Supported,
    /// Deprecated (no more security patches): functions can still be created until
    /// `create_block` and updated until `update_block`.
    Deprecated {
        since: String,
        create_block: String,
        update_block: String,
        successor: Option<String>,
    },
    /// Lambda no longer lets functions be created on it.
    Blocked {
        since: String,
        successor: Option<String>,
    },
}

/// Midnight UTC of `date` (`YYYY-MM-DD`).
fn day(date: &str) -> Option<Timestamp> {
    format!("{date}T00:00:00Z").parse().ok()
}

/// Where `runtime` stands at `now`.
fn standing(runtime: &str, now: SystemTime) -> Standing {
    let Some(l) = DATA.get(runtime) else {
        return Standing::Unknown;
    };
    // A clock past jiff's range (the year 9999) has reached every date.
    let now = Timestamp::try_from(now).unwrap_or(Timestamp::MAX);
    // A date that does not parse is treated as already reached: refused, not allowed.
    let reached = |date: &str| day(date).is_none_or(|d| d <= now);
    if reached(&l.create_block) {
        Standing::Blocked {
            since: l.create_block.clone(),
            successor: l.successor.clone(),
        }
    } else if reached(&l.deprecated) {
        Standing::Deprecated {
            since: l.deprecated.clone(),
            create_block: l.create_block.clone(),
            update_block: l.update_block.clone(),
            successor: l.successor.clone(),
        }
    } else {
        Standing::Supported
    }
}

/// The runtimes functions can be created on at `now`, newest last within each language.
fn creatable(now: SystemTime) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = DATA
        .keys()
        .map(String::as_str)
        .filter(|r| !matches!(standing(r, now), Standing::Blocked { .. }))
        .collect();
    // python3.9 before python3.10, nodejs8.x before nodejs10.x.
    names.sort_by_key(|r| {
        let (lang, version) = r.split_at(r.find(|c: char| c.is_ascii_digit()).unwrap_or(0));
        let numbers: Vec<u32> = version
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        (lang.to_string(), numbers)
    });
    names
}

fn instead(successor: &Option<String>) -> String {
    successor
        .as_deref()
        .map(|s| format!("; use {s}"))
        .unwrap_or_default()
}

/// The validation error for a runtime functions can no longer be created on (or unknown).
pub(super) fn refusal(runtime: &str, now: SystemTime) -> Option<String> {
    match standing(runtime, now) {
        Standing::Unknown => Some(format!(
            "`{runtime}` is not a Python 3 or Node.js runtime of AWS Lambda (qfleet puts the handler inline, which CloudFormation supports for those); runtimes that can be created today: {}",
            creatable(now).join(", ")
        )),
        Standing::Blocked { since, successor } => Some(format!(
            "AWS Lambda has blocked creating functions on `{runtime}` since {since}{}",
            instead(&successor)
        )),
        Standing::Supported | Standing::Deprecated { .. } => None,
    }
}

/// The warning for a deprecated runtime that still deploys.
pub(super) fn warning(runtime: &str, now: SystemTime) -> Option<String> {
    match standing(runtime, now) {
        Standing::Deprecated {
            since,
            create_block,
            update_block,
            successor,
        } => Some(format!(
            "workers.lambda.runtime: {runtime} is deprecated since {since} (no more security patches); AWS Lambda blocks creating functions on it from {create_block} and updating them from {update_block}{}",
            instead(&successor)
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(date: &str) -> SystemTime {
        let secs = day(date).unwrap().as_second();
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64)
    }

    #[test]
    fn the_built_in_lifecycle_data_reads() {
        assert!(DATA.len() > 10, "{} runtimes", DATA.len());
        assert!(
            DATA.keys()
                .all(|r| r.starts_with("python3.") || r.starts_with("nodejs"))
        );
    }

    /// Lambda's runtime deprecation policy: after deprecation functions can still be created
    /// and updated; then creation is blocked, later updates
    /// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html). The dates are
    /// cfn-lint's (python3.10: deprecated 2026-10-31, creation blocked 2027-02-01).
    #[test]
    fn a_runtime_is_supported_then_deprecated_then_blocked_for_creation() {
        assert_eq!(
            standing("python3.10", at("2026-10-30")),
            Standing::Supported
        );
        assert!(matches!(
            standing("python3.10", at("2026-11-22")),
            Standing::Deprecated { ref create_block, .. } if create_block == "2027-02-01"
        ));
        assert!(matches!(
            standing("python3.10", at("2027-02-01")),
            Standing::Blocked { .. }
        ));
        let warned = warning("nodejs20.x", at("2026-11-22")).unwrap();
        assert!(warned.contains("deprecated since 2026-04-30"), "{warned}");
        assert!(warned.contains("use nodejs24.x"), "{warned}");
        let refused = refusal("python3.8", at("2027-03-01")).unwrap();
        assert!(refused.contains("blocked creating functions"), "{refused}");
        assert!(refused.contains("use python3.14"), "{refused}");
    }

    /// The newest runtimes (python3.14, nodejs24.x) are accepted; others than Python 3 and
    /// Node.js are not (CloudFormation's inline ZipFile code is for those two only,
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-function-code.html).
    #[test]
    fn the_newest_runtimes_are_accepted_and_other_languages_refused() {
        let now = at("2026-11-22");
        for r in ["python3.14", "nodejs24.x", "python3.12", "nodejs22.x"] {
            assert_eq!(standing(r, now), Standing::Supported, "{r}");
            assert_eq!(refusal(r, now), None, "{r}");
        }
        for r in ["ruby3.3", "java21", "python2.7", "provided.al2023"] {
            assert!(refusal(r, now).is_some(), "{r}");
        }
        let list = creatable(now);
        let py = |v: &str| list.iter().position(|r| *r == v).unwrap();
        assert!(py("python3.9") < py("python3.10") && py("python3.13") < py("python3.14"));
    }
}
