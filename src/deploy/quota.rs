//! Whether the account can launch the fleet: its EC2 vCPU quotas against what the fleet needs
//! at `workers.max`, found before any change.
//!
//! EC2 counts running On-Demand instances, and Spot Instance requests, in vCPUs against a
//! quota per group of instance families ("Amazon EC2 service quotas",
//! <https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-quotas.html>; Spot:
//! <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-spot-limits.html>). A launch over
//! it fails with `VcpuLimitExceeded`, and an Auto Scaling group keeps trying while the backlog
//! grows. A new account's G and P quotas are often 0.
//!
//! The decision is made on evidence only:
//! - **refused**: even with every vCPU this fleet's group holds now given back, the quotas
//!   cannot hold `workers.max` instances (a quota of 0 is the common case);
//! - **fits**: the quotas minus what the account uses now (the quota's usage metric) hold them;
//! - otherwise it is **unchecked** (a read failed) or **may not fit** (the usage now leaves
//!   too little, unless this fleet's own instances are what uses it), and the deploy goes on
//!   saying so.

use crate::aws::Clients;
use crate::aws::{self, InstanceType};
use crate::config::{Environment, WorkerKind};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

pub(crate) use crate::aws::Market;

fn label(m: Market) -> &'static str {
    match m {
        Market::OnDemand => "On-Demand",
        Market::Spot => "Spot",
    }
}

/// Instances at `workers.max` in each market: the On-Demand base first, then the
/// On-Demand share of the rest rounded up (Auto Scaling "rounds up" the On-Demand share,
/// <https://docs.aws.amazon.com/autoscaling/ec2/userguide/allocation-strategies.html>: the
/// worst case for the On-Demand quota), and the rest on Spot.
pub(crate) fn per_market(max: u32, spot_percent: u32, on_demand_base: u32) -> Vec<(Market, u32)> {
    let base = on_demand_base.min(max);
    let above = max - base;
    let spot = above * spot_percent.min(100) / 100;
    let on_demand = max - spot;
    [(Market::OnDemand, on_demand), (Market::Spot, spot)]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// One quota as read: its value in vCPUs, and its usage now (or why either is not known).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reading {
    pub(crate) name: String,
    pub(crate) code: Option<String>,
    pub(crate) value: Result<f64, String>,
    /// `value` is AWS's default: the account has no applied value for this quota.
    pub(crate) default: bool,
    pub(crate) usage: Result<aws::QuotaUsage, String>,
}

/// What one market of the fleet needs of one quota: its instances and the most vCPUs any of
/// its types has (the group may launch any of them).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Need {
    pub(crate) market: Market,
    pub(crate) instances: u32,
    /// Quota name → the fewest and the most vCPUs of a type of the fleet that counts against
    /// it: the group may launch any of them, so a refusal counts the smallest and "fits" the
    /// largest.
    pub(crate) vcpus: BTreeMap<String, (u32, u32)>,
    /// Types whose quota or vCPUs are not known (said, never taken as fine).
    pub(crate) unknown: Vec<String>,
}

/// The verdict for one market.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    Fits(String),
    MayNotFit(String),
    Unchecked(String),
    Refused(String),
}

/// Judges one market's need against the quotas read; `own` is the vCPUs this fleet's group
/// holds now per quota name (`None`: not known).
pub(crate) fn judge(
    need: &Need,
    readings: &BTreeMap<String, Reading>,
    own: Option<&BTreeMap<String, u32>>,
) -> Verdict {
    let m = label(need.market);
    let n = need.instances;
    // None: unbounded (something unread, or a type whose quota is not known, which may hold
    // the instances the others do not).
    let mut upper: Option<u64> = need.unknown.is_empty().then_some(0);
    let mut lower: u64 = 0; // instances the quotas hold for certain
    let mut unread = need
        .unknown
        .iter()
        .map(|t| format!("{t}: its quota or vCPUs are not known"))
        .collect::<Vec<_>>();
    let mut names = Vec::new();
    for (name, &(small, large)) in &need.vcpus {
        let (small, large) = (u64::from(small.max(1)), u64::from(large.max(1)));
        let r = readings.get(name);
        let label = match r {
            Some(Reading {
                code: Some(code),
                default: true,
                ..
            }) => {
                format!("\"{name}\" ({code}, AWS's default: the account has no value of its own)")
            }
            Some(Reading {
                code: Some(code), ..
            }) => format!("\"{name}\" ({code})"),
            _ => format!("\"{name}\""),
        };
        names.push(label.clone());
        let value = match r.map(|r| &r.value) {
            Some(Ok(q)) => q.max(0.0).floor() as u64,
            Some(Err(why)) => {
                unread.push(format!("{label}: {why}"));
                upper = None;
                continue;
            }
            None => {
                unread.push(format!("{label}: not among the account's EC2 quotas"));
                upper = None;
                continue;
            }
        };
        let mine = own.map(|o| u64::from(*o.get(name).unwrap_or(&0)));
        match r.map(|r| &r.usage) {
            // "Fits" on the highest usage of the last minutes and the largest type; a refusal
            // only on the latest usage and the smallest type.
            Some(Ok(used)) => {
                let highest = used.highest.max(0.0).ceil() as u64;
                let latest = used.latest.max(0.0).ceil() as u64;
                lower += value.saturating_sub(highest) / large;
                upper = match (upper, mine) {
                    (Some(u), Some(mine)) => {
                        Some(u + (value.saturating_sub(latest) + mine.min(latest)) / small)
                    }
                    (Some(u), None) => Some(u + value / small),
                    (None, _) => None,
                };
            }
            Some(Err(why)) => {
                unread.push(format!("{label}'s usage: {why}"));
                upper = upper.map(|u| u + value / small);
            }
            None => upper = upper.map(|u| u + value / small),
        }
    }
    let needed: Vec<String> = need
        .vcpus
        .iter()
        .map(|(name, &(small, large))| {
            let (small, large) = (
                u64::from(n) * u64::from(small),
                u64::from(n) * u64::from(large),
            );
            match small == large {
                true => format!("{large} vCPUs of \"{name}\""),
                false => format!("{small} to {large} vCPUs of \"{name}\""),
            }
        })
        .collect();
    let needed = needed.join(" or ");
    if let Some(u) = upper
        && u < u64::from(n)
    {
        return Verdict::Refused(format!(
            "{m}: workers.max needs {n} instance{} ({needed}), and the account's quota {} holds {u} of them, even with this fleet's own instances counted as free",
            if n == 1 { "" } else { "s" },
            names.join(" and ")
        ));
    }
    if lower >= u64::from(n) {
        return Verdict::Fits(format!(
            "{m}: quota {} holds workers.max ({n} instance{}, {needed}) beside what the account uses now",
            names.join(" and "),
            if n == 1 { "" } else { "s" }
        ));
    }
    if !unread.is_empty() {
        return Verdict::Unchecked(format!("{m}: {}", unread.join("; ")));
    }
    Verdict::MayNotFit(format!(
        "{m}: quota {} holds {lower} more instance{} beside what the account uses now, short of workers.max ({n}, {needed}) unless this fleet's own instances are what uses it",
        names.join(" and "),
        if lower == 1 { "" } else { "s" }
    ))
}

/// What the fleet's instance types are, as EC2 describes them (`Err`: why not read).
type Described = std::result::Result<BTreeMap<String, InstanceType>, String>;

/// The check before any change, for an EC2 fleet that runs (`workers.max` above 0): the
/// notes to print, a refusal (exit 4) when the quotas cannot hold the fleet and
/// `--over-quota` is not given, or an input error when a type lacks the GPUs
/// `workers.gpu` asks for.
pub(super) async fn check(
    clients: &Clients,
    env: &Environment,
    stack: &str,
    deployed: bool,
    over_quota: bool,
) -> Result<Vec<String>> {
    let w = &env.spec.workers;
    if env.parked() {
        return Ok(Vec::new());
    }
    // ECS Managed Instances are EC2 instances of the account, "subject to your Amazon EC2
    // On-Demand instance service quotas"
    // (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ManagedInstances.html):
    // checked as a group of the types the file allows, one instance a task at most. Their
    // instances are in no group qfleet can read, so a deployed fleet's own are not known.
    let types: Vec<String> = match (env.kind().id(), &w.instance_types) {
        (WorkerKind::Ec2, _) => w.types().into_iter().map(str::to_string).collect(),
        (WorkerKind::EcsManaged, Some(types)) if !deployed => types.clone(),
        // The types' GPUs still, on every deploy.
        (WorkerKind::EcsManaged, Some(types)) => {
            let described: Described = aws::describe_instance_types(&clients.ec2, types)
                .await
                .map(|list| list.into_iter().map(|t| (t.name.clone(), t)).collect())
                .map_err(|e| e.to_string());
            let mut notes = gpus(env, types, &described)?;
            notes.push(format!(
                "{stack}: EC2 quota not checked on an update of ECS Managed Instances: the instances ECS runs now are in no group qfleet reads"
            ));
            return Ok(notes);
        }
        (WorkerKind::EcsManaged, None) => {
            return Ok(vec![format!(
                "{stack}: EC2 quota not checked: ECS chooses the instance types (workers.instance_types names none)"
            )]);
        }
        _ => return Ok(Vec::new()),
    };
    let described: Described = aws::describe_instance_types(&clients.ec2, &types)
        .await
        .map(|list| list.into_iter().map(|t| (t.name.clone(), t)).collect())
        .map_err(|e| e.to_string());
    let mut notes = gpus(env, &types, &described)?;
    // Validation keeps workers.max within 0 to 1000; a value outside is not taken as 0.
    let Ok(max) = u32::try_from(w.max) else {
        notes.push(format!(
            "WARNING: {stack}: EC2 quota unchecked: workers.max {} is not a count of instances",
            w.max
        ));
        return Ok(notes);
    };
    let needs = needs(
        &types,
        &described,
        per_market(max, w.spot.percent, w.spot.on_demand_base),
    );
    let readings = read(clients, &needs).await;
    // A fleet not deployed holds nothing; a deployed one's group is read.
    let own = match deployed {
        true => own(clients, env, &described).await,
        false => Some(BTreeMap::new()),
    };
    let mut refused = Vec::new();
    for need in &needs {
        let own = own
            .as_ref()
            .map(|o| o.get(&need.market).cloned().unwrap_or_default());
        match judge(need, &readings, own.as_ref()) {
            Verdict::Fits(why) => notes.push(format!("{stack}: EC2 quota: {why}")),
            Verdict::MayNotFit(why) => notes.push(format!(
                "WARNING: {stack}: EC2 quota may not hold the fleet: {why}"
            )),
            Verdict::Unchecked(why) => {
                notes.push(format!("WARNING: {stack}: EC2 quota unchecked: {why}"))
            }
            Verdict::Refused(why) => refused.push(why),
        }
    }
    if refused.is_empty() {
        return Ok(notes);
    }
    if over_quota {
        notes.extend(refused.iter().map(|why| {
            format!("WARNING: {stack}: over the EC2 quota, going on as --over-quota asks: {why}; instances over it will not launch")
        }));
        return Ok(notes);
    }
    Err(crate::deploy::errors::Refusal::OverQuota {
        env: env.name.clone(),
        region: clients.region.clone(),
        why: refused,
    }
    .into())
}

/// `workers.gpu` against what EC2 says of each type: at least `count` GPUs, of the model
/// `accelerator` names. A type EC2 does not describe, or an answer not read, is a note.
fn gpus(env: &Environment, types: &[String], described: &Described) -> Result<Vec<String>> {
    let Some(gpu) = &env.spec.workers.gpu else {
        return Ok(Vec::new());
    };
    let field = match env.spec.workers.instance_types {
        Some(_) => "workers.instance_types",
        None => "workers.instance_type",
    };
    let described = match described {
        Ok(d) => d,
        Err(why) => {
            return Ok(vec![format!(
                "WARNING: {}: the GPUs of {} unchecked: {why}",
                env.name,
                types.join(", ")
            )]);
        }
    };
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    for t in types {
        let Some(d) = described.get(t) else {
            notes.push(format!(
                "WARNING: {}: EC2 does not describe {t} in this Region: its GPUs unchecked",
                env.name
            ));
            continue;
        };
        // The model as EC2 names it; an answer that names none is not a model that differs.
        let model = d.gpu.as_deref().filter(|m| !m.trim().is_empty());
        if d.gpus < gpu.count {
            problems.push(format!(
                "{t} has {} GPU{}{}, fewer than workers.gpu.count ({})",
                d.gpus,
                if d.gpus == 1 { "" } else { "s" },
                model.map(|m| format!(" ({m})")).unwrap_or_default(),
                gpu.count
            ));
        } else if let Some(a) = &gpu.accelerator {
            match model {
                Some(m) if !words(m).contains(&words(a)) => problems.push(format!(
                    "{t} carries {m}, not the {a} workers.gpu.accelerator names"
                )),
                Some(_) => {}
                None => notes.push(format!(
                    "WARNING: {}: EC2 names no GPU model for {t}: workers.gpu.accelerator ({a}) unchecked",
                    env.name
                )),
            }
        }
    }
    match problems.is_empty() {
        true => Ok(notes),
        false => Err(Error::Input(vec![
            env.source.error(field, problems.join("; ")),
        ])),
    }
}

/// `text` as words between spaces, in lower case: a model matches as whole words, so `L4`
/// is NVIDIA L4's and not L40S's, and `RTX PRO 6000` matches its three words.
fn words(text: &str) -> String {
    format!(
        " {} ",
        text.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    )
}

/// What each market needs of each quota: the most vCPUs of a type under it.
fn needs(types: &[String], described: &Described, markets: Vec<(Market, u32)>) -> Vec<Need> {
    markets
        .into_iter()
        .map(|(market, instances)| {
            let mut need = Need {
                market,
                instances,
                vcpus: BTreeMap::new(),
                unknown: Vec::new(),
            };
            for t in types {
                let vcpus = described
                    .as_ref()
                    .ok()
                    .and_then(|d| d.get(t))
                    .map(|d| d.vcpus);
                match (aws::quota_name(t, market), vcpus) {
                    (Some(name), Some(v)) => {
                        let e = need.vcpus.entry(name.to_string()).or_insert((v, v));
                        *e = (e.0.min(v), e.1.max(v));
                    }
                    _ => need.unknown.push(t.clone()),
                }
            }
            need
        })
        .collect()
}

/// The quotas the needs name, read by name (AWS's default value where the account has no
/// applied one), each with its usage now.
async fn read(clients: &Clients, needs: &[Need]) -> BTreeMap<String, Reading> {
    let names: std::collections::BTreeSet<&String> =
        needs.iter().flat_map(|n| n.vcpus.keys()).collect();
    let sq = &clients.servicequotas;
    let listed = aws::ec2_quotas(sq).await.map_err(|e| e.to_string());
    let mut defaults: Option<std::result::Result<Vec<aws::Quota>, String>> = None;
    let mut out = BTreeMap::new();
    for name in names {
        let applied = match &listed {
            Err(e) => Err(e.clone()),
            Ok(list) => Ok(list.iter().find(|q| aws::quota_is(q, name)).cloned()),
        };
        let found = match applied {
            Err(e) => Err(e),
            Ok(Some(q)) => Ok(Some((q, false))),
            Ok(None) => {
                if defaults.is_none() {
                    defaults = Some(aws::ec2_default_quotas(sq).await.map_err(|e| e.to_string()));
                }
                match defaults.as_ref() {
                    Some(Ok(list)) => Ok(list
                        .iter()
                        .find(|q| aws::quota_is(q, name))
                        .cloned()
                        .map(|q| (q, true))),
                    Some(Err(e)) => Err(format!(
                        "the account has no value of its own, and AWS's default could not be read: {e}"
                    )),
                    None => Ok(None),
                }
            }
        };
        let reading = match found {
            Err(e) => Reading {
                name: name.clone(),
                code: None,
                value: Err(e),
                default: false,
                usage: Err("not read".into()),
            },
            // In neither list: left out, and said as unchecked.
            Ok(None) => continue,
            Ok(Some((q, default))) => Reading {
                name: name.clone(),
                code: Some(q.quota_code.clone()),
                value: q
                    .value
                    .ok_or_else(|| "Service Quotas gave no value".to_string()),
                default,
                usage: match &q.usage_metric {
                    Some(m) => aws::quota_usage(&clients.cloudwatch, m)
                        .await
                        .map_err(|e| e.to_string()),
                    None => Err("the quota names no usage metric".into()),
                },
            },
        };
        out.insert(name.clone(), reading);
    }
    out
}

/// The vCPUs this fleet's group holds now, per market and quota (its instances may be of
/// either market, so each counts in both); `None` when the group or the types are not read.
async fn own(
    clients: &Clients,
    env: &Environment,
    described: &Described,
) -> Option<BTreeMap<Market, BTreeMap<String, u32>>> {
    let name = crate::render::ResourceNames::of(env).asg;
    let group = crate::aws::auto_scaling_group(&clients.autoscaling, &name)
        .await
        .ok()?;
    let described = described.as_ref().ok()?;
    let mut out: BTreeMap<Market, BTreeMap<String, u32>> = BTreeMap::new();
    for i in group.iter().flat_map(|g| g.instances.iter()) {
        let t = i.instance_type.as_deref()?;
        let v = described.get(t).map(|d| d.vcpus)?;
        for market in [Market::OnDemand, Market::Spot] {
            if let Some(q) = aws::quota_name(t, market) {
                *out.entry(market)
                    .or_default()
                    .entry(q.to_string())
                    .or_insert(0) += v;
            }
        }
    }
    Some(out)
}

mod together;
pub(crate) use together::Together;

#[cfg(test)]
mod tests;
