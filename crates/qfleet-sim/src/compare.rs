//! `qfleet simulate ENV --load SPEC --tune --instance-types A,B,…`: the instance types a team
//! allows, each tuned as if the fleet's workers were of it, ranked by what its cheapest
//! settings cost a day at the goal.
//!
//! - **The model.** The stack file says how long a job takes (`scaling.seconds_per_message`)
//!   and how many an instance works on at once (`--messages-per-instance`), not on which
//!   hardware: every type is taken to work that many at once, each in that time, unless the
//!   team says otherwise for a type (`TYPE:N`, N at once; `TYPE:N:S`, and S seconds each: a
//!   bigger GPU's speed is the team's to measure, not the simulator's to guess). A type's
//!   launch time is its own default ([`crate::rules::GPU_LAUNCH`] for an accelerated type)
//!   unless `--launch-time` is given, and its price the table's in the file's Region. A type
//!   the table prices in no Region is refused (a misspelt name, most likely).
//! - **The ranking.** Each type's cheapest checked choice, by USD a day (the high-resolution
//!   publisher's share in, as `--tune` counts it); a type without a price in the table is
//!   tuned, said `price missing` and ranked after every priced one; a type for which no
//!   settings meet the goal is ranked last, with why.
//! - **The result.** The cheapest type's tuning (its lines set `workers.instance_type`), with
//!   every type's row beside it ([`Comparison`]).

use super::tune::{self, Tuning};
use super::{Assumptions, price};
use crate::config::{Environment, WorkerKind};
use crate::error::{Error, Result};
use serde::Serialize;

/// The most types one command compares: each is a whole `--tune`.
pub const MAX_TYPES: usize = 10;

const FLAG: &str = "--instance-types";

/// One type to compare, with the team's own figures for it when given.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeSpec {
    pub name: String,
    /// Messages an instance of this type works on at once (`TYPE:N`).
    pub per_instance: Option<u64>,
    /// Seconds a message takes on this type (`TYPE:N:S`).
    pub seconds_per_message: Option<f64>,
}

/// What `--instance-types` takes, for its errors.
const GRAMMAR: &str = "a comma-separated list of 1 to 10 different EC2 instance types (g6.xlarge,g6e.xlarge), each optionally with the messages an instance works on at once and the seconds one takes on it (g6e.xlarge:2 or g6e.xlarge:2:1.5)";

fn bad(value: &str, why: impl Into<String>) -> Error {
    Error::FlagValue {
        flag: FLAG,
        value: value.to_string(),
        why: format!("{}; it takes {GRAMMAR}", why.into()),
    }
}

/// The form of an EC2 instance type: family (lower-case letters first, digits, `-`), a dot,
/// and a size (lower-case letters and digits), as `qfleet validate` checks it.
fn is_instance_type(t: &str) -> bool {
    t.split_once('.').is_some_and(|(family, size)| {
        family.starts_with(|c: char| c.is_ascii_lowercase())
            && family
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !size.is_empty()
            && size
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    })
}

/// One `TYPE[:N[:S]]`.
fn parse_one(item: &str) -> Result<TypeSpec> {
    let mut parts = item.split(':');
    let name = parts.next().unwrap_or_default().trim().to_string();
    if !is_instance_type(&name) {
        return Err(bad(item, format!("`{name}` is not an EC2 instance type")));
    }
    let per_instance = match parts.next() {
        None => None,
        Some(n) => match n.trim().parse::<u64>() {
            Ok(n @ 1..=1_000) => Some(n),
            _ => {
                return Err(bad(
                    item,
                    format!("`{n}` is not a whole number of messages from 1 to 1000"),
                ));
            }
        },
    };
    let seconds_per_message = match parts.next() {
        None => None,
        Some(s) => match s.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 && v <= 43_200.0 => Some(v),
            _ => {
                return Err(bad(
                    item,
                    format!("`{s}` is not a number of seconds above 0, at most 43200"),
                ));
            }
        },
    };
    if parts.next().is_some() {
        return Err(bad(item, "at most TYPE:N:S"));
    }
    Ok(TypeSpec {
        name,
        per_instance,
        seconds_per_message,
    })
}

/// `--instance-types`' value: 1 to [`MAX_TYPES`] different well-formed types.
pub fn parse_types(text: &str) -> Result<Vec<TypeSpec>> {
    let types = text.split(',').map(parse_one).collect::<Result<Vec<_>>>()?;
    if types.len() > MAX_TYPES {
        return Err(bad(
            text,
            format!("{} types, more than {MAX_TYPES}", types.len()),
        ));
    }
    for (i, t) in types.iter().enumerate() {
        if types[..i].iter().any(|o| o.name == t.name) {
            return Err(bad(text, format!("`{}` is given twice", t.name)));
        }
    }
    Ok(types)
}

/// One type's line of the comparison.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TypeRow {
    pub instance_type: String,
    /// USD an instance-hour in the file's Region; `None`: price missing from the table.
    pub usd_per_hour: Option<f64>,
    /// The type's vCPUs (the table's, else from its size name).
    pub vcpus: Option<f64>,
    /// Messages an instance works on at once, as compared.
    pub messages_per_instance: u64,
    /// Seconds a message takes, as compared.
    pub seconds_per_message: f64,
    /// Seconds from launch to the worker reading the queue, as compared.
    pub launch_seconds: u64,
    /// The cheapest choice's `workers.min` and `max` (`None`: nothing meets the goal).
    pub min: Option<u64>,
    pub max: Option<u64>,
    /// The cheapest choice's worst p99 over every check, seconds.
    pub p99: Option<u64>,
    /// The cheapest choice's USD a day; `None` when the price is missing or nothing meets
    /// the goal (`note` says which).
    pub cost_per_day_usd: Option<f64>,
    pub cost_per_month_usd: Option<f64>,
    /// Why the row has no cost: the price missing, or why nothing meets the goal.
    pub note: Option<String>,
}

/// `--instance-types`' comparison: every type, cheapest first.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Comparison {
    /// How the types were compared, in words.
    pub model: String,
    /// Every type, the cheapest first; a price missing after every priced type; nothing
    /// found last.
    pub types: Vec<TypeRow>,
    /// The cheapest type with a price whose settings meet the goal; `None` when none has.
    pub cheapest: Option<String>,
}

/// How the types are compared, in words, for the output.
fn model_words(a: &Assumptions) -> String {
    format!(
        "each type tuned as the fleet's only type, working {} at once, each in {}, unless given as TYPE:N:S (the simulator cannot know a GPU's speed); launching in {}; ranked by its cheapest settings' cost a day at the goal, a missing price after every priced one",
        if a.per_instance == 1 {
            "1 message".to_string()
        } else {
            format!("{} messages", a.per_instance)
        },
        a.seconds_per_message
            .map_or("the file's seconds_per_message".to_string(), |s| format!(
                "{s} s (--seconds-per-message)"
            )),
        if a.launch_time.is_some() {
            "--launch-time"
        } else {
            "its own default (300 s for an accelerated type, 90 s for another)"
        }
    )
}

/// Refuses what the flag cannot compare: workers that are no EC2 group, or a type of the
/// other architecture than the file's (its AMI runs one).
fn check(env: &Environment, types: &[TypeSpec]) -> Result<()> {
    let w = &env.spec.workers;
    let names = types
        .iter()
        .map(|t| t.name.as_str())
        .collect::<Vec<_>>()
        .join(",");
    if w.kind != WorkerKind::Ec2 {
        return Err(Error::FlagValue {
            flag: FLAG,
            value: names,
            why: format!(
                "{} runs {} workers; the flag compares EC2 instance types (workers.kind: ec2)",
                env.name,
                w.kind.as_str()
            ),
        });
    }
    if let Some(t) = types.iter().find(|t| !price::lists_type(&t.name)) {
        return Err(Error::FlagValue {
            flag: FLAG,
            value: names,
            why: format!(
                "`{}` is in no Region of qfleet's price table (prices as of {}): check its name; a type the table prices elsewhere but not in {} is compared with its price said missing",
                t.name,
                price::as_of(),
                env.spec.region
            ),
        });
    }
    let file = w.types()[0];
    let arm = crate::config::is_graviton(file);
    if let Some(t) = types
        .iter()
        .find(|t| crate::config::is_graviton(&t.name) != arm)
    {
        let arch = |g: bool| if g { "arm64 (Graviton)" } else { "x86_64" };
        return Err(Error::FlagValue {
            flag: FLAG,
            value: names,
            why: format!(
                "`{}` is an {} type and {}'s workers ({file}) are {}: one AMI runs one architecture, so compare types of {}",
                t.name,
                arch(!arm),
                env.name,
                arch(arm),
                arch(arm)
            ),
        });
    }
    Ok(())
}

/// The assumptions for `t`: its own figures where given.
pub(crate) fn assumptions_for(a: &Assumptions, t: &TypeSpec) -> Assumptions {
    Assumptions {
        per_instance: t.per_instance.unwrap_or(a.per_instance),
        seconds_per_message: t.seconds_per_message.or(a.seconds_per_message),
        ..a.clone()
    }
}

fn row(env: &Environment, a: &Assumptions, t: &TypeSpec, tuning: &Tuning) -> TypeRow {
    let typed = tune::as_type(env, &t.name);
    let usd_per_hour = price::instance_hour(&env.spec.region, &t.name);
    let best = tuning.choices.first();
    let note = match (best, usd_per_hour) {
        (None, _) => tuning.reason.clone(),
        (Some(_), None) => Some(format!(
            "price missing: {} has no price in {} in the table",
            t.name, env.spec.region
        )),
        (Some(_), Some(_)) => None,
    };
    TypeRow {
        instance_type: t.name.clone(),
        usd_per_hour,
        vcpus: price::vcpus(&t.name),
        messages_per_instance: a.per_instance,
        seconds_per_message: a
            .seconds_per_message
            .or(env.spec.scaling.seconds_per_message)
            .unwrap_or_default(),
        launch_seconds: a.launch_time(&typed.spec.workers),
        min: best.map(|c| c.min),
        max: best.map(|c| c.max),
        p99: best.and_then(|c| c.p99),
        cost_per_day_usd: best.and_then(|c| c.cost_per_day_usd),
        cost_per_month_usd: best.and_then(|c| c.cost_per_month_usd),
        note,
    }
}

/// The ranking key: priced with a choice by cost, then a choice without a price, then
/// nothing found (each in the order given).
fn rank(r: &TypeRow) -> (u8, f64) {
    match (r.min, r.cost_per_day_usd) {
        (Some(_), Some(d)) => (0, d),
        (Some(_), None) => (1, 0.0),
        (None, _) => (2, 0.0),
    }
}

/// Tunes `env` once for each of `types` (the fleet's workers of that type alone) and returns
/// the cheapest type's tuning with every type's row.
pub fn compare(
    env: &Environment,
    a: &Assumptions,
    types: &[TypeSpec],
) -> Result<(Tuning, Comparison)> {
    check(env, types)?;
    let mut tuned = Vec::new();
    // The runs made, shared: types alike but for their price run the same.
    let mut runs = tune::Runs::default();
    for t in types {
        let own = assumptions_for(a, t);
        let tuning = tune::tune_with(env, &own, Some(&t.name), &mut runs)?;
        tuned.push((row(env, &own, t, &tuning), tuning));
    }
    // A stable sort: equal keys keep the order given.
    tuned.sort_by(|(x, _), (y, _)| {
        let (kx, ky) = (rank(x), rank(y));
        kx.0.cmp(&ky.0).then(kx.1.total_cmp(&ky.1))
    });
    let rows: Vec<TypeRow> = tuned.iter().map(|(r, _)| r.clone()).collect();
    let cheapest = rows
        .first()
        .filter(|r| rank(r).0 == 0)
        .map(|r| r.instance_type.clone());
    let Some((_, best)) = tuned.into_iter().next() else {
        return Err(bad("", "no type given"));
    };
    let comparison = Comparison {
        model: model_words(a),
        types: rows,
        cheapest,
    };
    Ok((best, comparison))
}

/// The text of a comparison: which type is cheapest and at what, a row per type, then the
/// first ranked type's tuning ([`tune::text`]).
pub fn text(name: &str, t: &Tuning, c: &Comparison) -> String {
    let ty = c.types.first().map_or("", |r| r.instance_type.as_str());
    let which = if c.cheapest.is_some() {
        "the cheapest"
    } else {
        "the first ranked"
    };
    format!(
        "{}\nAs {ty}, {which} type:\n{}",
        table_text(name, c),
        tune::text(name, t)
    )
}

/// Which type is cheapest and at what, then a row per type.
fn table_text(name: &str, c: &Comparison) -> String {
    let mut s = match c.types.first().filter(|_| c.cheapest.is_some()) {
        Some(r) => format!(
            "{name}: the cheapest of {} instance types at the goal is {}: ${:.2} a day, ${:.2} a month ({} to {} instances).\n\n",
            c.types.len(),
            r.instance_type,
            r.cost_per_day_usd.unwrap_or_default(),
            r.cost_per_month_usd.unwrap_or_default(),
            r.min.unwrap_or_default(),
            r.max.unwrap_or_default()
        ),
        None => format!(
            "{name}: no type of the {} compared has both a price and settings that meet the goal.\n\n",
            c.types.len()
        ),
    };
    let rows = c.types.iter().map(|r| {
        let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
        vec![
            r.instance_type.clone(),
            r.usd_per_hour
                .map_or("missing".to_string(), |h| format!("${h}")),
            or_dash(r.vcpus.map(|v| v.to_string())),
            r.messages_per_instance.to_string(),
            format!("{} s", r.seconds_per_message),
            format!("{} s", r.launch_seconds),
            or_dash(r.min.zip(r.max).map(|(lo, hi)| format!("{lo}–{hi}"))),
            or_dash(r.p99.map(|p| format!("{p} s"))),
            match (r.min, r.cost_per_day_usd) {
                (_, Some(d)) => format!("${d:.2}"),
                (Some(_), None) => "price missing".to_string(),
                (None, _) => "nothing meets the goal".to_string(),
            },
        ]
    });
    s.push_str(&crate::text::table(
        &[
            "type",
            "an hour",
            "vCPUs",
            "at once",
            "a message",
            "launch",
            "instances",
            "worst p99",
            "a day",
        ],
        rows,
    ));
    s.push_str(&format!("\n(compared: {})\n", c.model));
    for r in c.types.iter().filter(|r| r.min.is_none()) {
        if let Some(n) = &r.note {
            s.push_str(&format!("({}: {n})\n", r.instance_type));
        }
    }
    s
}

#[cfg(test)]
mod tests;
