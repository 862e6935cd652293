//! The EC2 quota of a whole deploy: every EC2 fleet the run puts in one account and Region
//! (copies, targets, a pipeline's stages) counted at once. Each fleet may fit its quota alone
//! and all of them fail to launch together: EC2 counts the vCPUs of every running instance of
//! the account and Region against one quota per group of instance families ("Amazon EC2
//! service quotas", <https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-quotas.html>).
//!
//! Judged as one fleet's check is ([`super::judge`]), on evidence only: refused when even with
//! every vCPU these fleets hold now given back the quota cannot hold them all at `workers.max`
//! (counting each type by its fewest vCPUs); fits when the quota beside what the account uses
//! now holds them all by their most; otherwise said as unchecked or as may not fit. A fleet
//! whose types fall under several quotas (or whose types are not known) leaves the sum
//! unchecked, said, never taken as fine.

use super::{Described, Market, Need, Reading, Verdict, label, needs, own, per_market, read};
use crate::aws;
use crate::aws::Clients;
use crate::config::{Environment, WorkerKind};
use crate::error::Result;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where a fleet lands: the account its stack file names (`None`: the credentials'), and the
/// Region.
type Place = (Option<String>, String);

/// The EC2 fleets of a run (each stage that runs EC2 workers and is not parked), by where
/// they land, each place judged once for all its fleets.
#[derive(Debug, Clone, Default)]
pub(crate) struct Together(Arc<BTreeMap<Place, Group>>);

/// The fleets of one place, and their judgement once made: the same reads (the instance
/// types, the quotas, what each fleet holds now) for every fleet of the place, made by the
/// first fleet's check and shared with the others', so that N fleets cost one read of each,
/// not N. One moment's reading for all of them, so what they use and what they hold agree.
#[derive(Debug, Default)]
struct Group {
    fleets: Vec<Environment>,
    judged: tokio::sync::OnceCell<Judged>,
}

/// A place's judgement: per market, or unchecked as a whole (why).
#[derive(Debug, Clone)]
enum Judged {
    Markets(Vec<(Market, Verdict)>),
    Unchecked(String),
}

fn place(stage: &Environment) -> Place {
    (
        stage
            .spec
            .accounts
            .as_ref()
            .and_then(|a| a.first())
            .cloned(),
        stage.spec.region.clone(),
    )
}

fn runs_ec2(stage: &Environment) -> bool {
    stage.kind().id() == WorkerKind::Ec2 && !stage.parked()
}

impl Together {
    /// The EC2 fleets of `envs`, the environments of one run.
    pub(crate) fn of(envs: &[Environment]) -> Together {
        let mut by: BTreeMap<Place, Group> = BTreeMap::new();
        for env in envs {
            for stage in env.stages() {
                if runs_ec2(stage) {
                    by.entry(place(stage))
                        .or_default()
                        .fleets
                        .push(stage.clone());
                }
            }
        }
        Together(Arc::new(by))
    }

    /// The fleets that land where `stage` does, itself among them; none when it is alone
    /// there (its own check covers it).
    fn beside(&self, stage: &Environment) -> Option<&Group> {
        self.0
            .get(&place(stage))
            .filter(|g| g.fleets.len() > 1 && runs_ec2(stage))
    }

    /// The check of `stage`'s fleet with the others of the run in its account and Region:
    /// notes to print, or a refusal (exit 4) that names them all unless `--over-quota` is
    /// given. Nothing when it is alone there.
    pub(crate) async fn check(
        &self,
        clients: &Clients,
        stage: &Environment,
        over_quota: bool,
    ) -> Result<Vec<String>> {
        let Some(group) = self.beside(stage) else {
            return Ok(Vec::new());
        };
        let stack = stage.fleet_stack_name();
        let verdicts = match group
            .judged
            .get_or_init(|| judge_place(clients, &group.fleets))
            .await
        {
            Judged::Markets(v) => v.clone(),
            Judged::Unchecked(why) => {
                return Ok(vec![format!(
                    "WARNING: {stack}: EC2 quota of this deploy's fleets together unchecked: {why}"
                )]);
            }
        };
        let (region, account) = (&stage.spec.region, place(stage).0);
        let at = match account {
            Some(a) => format!("account {a} in {region}"),
            None => region.to_string(),
        };
        let mut notes = Vec::new();
        let mut refused = Vec::new();
        for (market, verdict) in verdicts {
            let m = label(market);
            match verdict {
                Verdict::Fits(why) => notes.push(format!(
                    "{stack}: EC2 quota, with this deploy's other fleets in {at}: {m}: {why}"
                )),
                Verdict::MayNotFit(why) => notes.push(format!(
                    "WARNING: {stack}: EC2 quota may not hold this deploy's fleets in {at} together: {m}: {why}"
                )),
                Verdict::Unchecked(why) => notes.push(format!(
                    "WARNING: {stack}: EC2 quota of this deploy's fleets in {at} together unchecked: {m}: {why}"
                )),
                Verdict::Refused(why) => refused.push(format!("{m}: {why}")),
            }
        }
        if refused.is_empty() {
            return Ok(notes);
        }
        if over_quota {
            notes.extend(refused.iter().map(|why| {
                format!("WARNING: {stack}: this deploy's fleets in {at} are over the EC2 quota together, going on as --over-quota asks: {why}; instances over it will not launch")
            }));
            return Ok(notes);
        }
        Err(crate::deploy::errors::Refusal::OverQuota {
            env: stage.name.clone(),
            region: clients.region.clone(),
            why: refused
                .into_iter()
                .map(|why| format!("with this deploy's other fleets in {at}: {why}"))
                .collect(),
        }
        .into())
    }
}

/// The judgement of the fleets of one place, from one reading of the instance types, the
/// quotas and what each fleet holds now.
async fn judge_place(clients: &Clients, fleets: &[Environment]) -> Judged {
    let mut types: Vec<String> = fleets
        .iter()
        .flat_map(|f| f.spec.workers.types())
        .map(str::to_string)
        .collect();
    types.sort();
    types.dedup();
    let described: Described = aws::describe_instance_types(&clients.ec2, &types)
        .await
        .map(|list| list.into_iter().map(|t| (t.name.clone(), t)).collect())
        .map_err(|e| e.to_string());
    let mut each = Vec::new();
    for f in fleets {
        let w = &f.spec.workers;
        let Ok(max) = u32::try_from(w.max) else {
            return Judged::Unchecked(format!(
                "{} has workers.max {}, not a count of instances",
                f.fleet_stack_name(),
                w.max
            ));
        };
        let t: Vec<String> = w.types().into_iter().map(str::to_string).collect();
        each.push(Fleet {
            stack: f.fleet_stack_name(),
            needs: needs(
                &t,
                &described,
                per_market(max, w.spot.percent, w.spot.on_demand_base),
            ),
        });
    }
    let all: Vec<Need> = each.iter().flat_map(|f| f.needs.clone()).collect();
    let readings = read(clients, &all).await;
    // What they hold now: a fleet not deployed yet has no group, and holds nothing.
    let mut held: Option<BTreeMap<Market, BTreeMap<String, u32>>> = Some(BTreeMap::new());
    for f in fleets {
        match (own(clients, f, &described).await, held.as_mut()) {
            (Some(o), Some(total)) => {
                for (market, by_quota) in o {
                    for (q, v) in by_quota {
                        *total.entry(market).or_default().entry(q).or_insert(0) += v;
                    }
                }
            }
            _ => held = None,
        }
    }
    Judged::Markets(judge_together(&each, &readings, held.as_ref()))
}

/// One fleet of the sum: its stack, and what each market of it needs at `workers.max`.
#[derive(Debug, Clone)]
pub(crate) struct Fleet {
    pub(crate) stack: String,
    pub(crate) needs: Vec<Need>,
}

/// The verdict per market for `fleets` together; `held` is the vCPUs they hold now per
/// market and quota (`None`: not known). Each quota is judged on its own, its verdict the
/// worst of its quotas'.
pub(crate) fn judge_together(
    fleets: &[Fleet],
    readings: &BTreeMap<String, Reading>,
    held: Option<&BTreeMap<Market, BTreeMap<String, u32>>>,
) -> Vec<(Market, Verdict)> {
    let mut out = Vec::new();
    for market in [Market::OnDemand, Market::Spot] {
        let wanting: Vec<(&Fleet, &Need)> = fleets
            .iter()
            .filter_map(|f| f.needs.iter().find(|n| n.market == market).map(|n| (f, n)))
            .collect();
        if wanting.is_empty() {
            continue;
        }
        // A fleet whose instances may land under more than one quota, or whose types are not
        // known, cannot be put on one side of a sum.
        let spread: Vec<&str> = wanting
            .iter()
            .filter(|(_, n)| !n.unknown.is_empty() || n.vcpus.len() != 1)
            .map(|(f, _)| f.stack.as_str())
            .collect();
        if !spread.is_empty() {
            out.push((
                market,
                Verdict::Unchecked(format!(
                    "{} may launch types of several quotas, or of types not known: their sum is not checked",
                    spread.join(", ")
                )),
            ));
            continue;
        }
        // Quota → (fewest vCPUs, most vCPUs, what each fleet needs of it).
        let mut sums: BTreeMap<&str, (u64, u64, Vec<String>)> = BTreeMap::new();
        for (f, n) in &wanting {
            for (q, &(small, large)) in &n.vcpus {
                let e = sums.entry(q.as_str()).or_default();
                let k = u64::from(n.instances);
                e.0 += k * u64::from(small.max(1));
                e.1 += k * u64::from(large.max(1));
                e.2.push(format!(
                    "{} {} instance{}",
                    f.stack,
                    n.instances,
                    if n.instances == 1 { "" } else { "s" }
                ));
            }
        }
        let mut verdicts = Vec::new();
        for (q, (small, large, who)) in sums {
            let needed = match small == large {
                true => format!("{large} vCPUs"),
                false => format!("{small} to {large} vCPUs"),
            };
            let what = format!(
                "{} fleets need {needed} of \"{q}\" at workers.max ({})",
                who.len(),
                who.join(", ")
            );
            let r = readings.get(q);
            let value = match r.map(|r| &r.value) {
                Some(Ok(v)) => v.max(0.0).floor() as u64,
                Some(Err(why)) => {
                    verdicts.push(Verdict::Unchecked(format!("{what}; its quota: {why}")));
                    continue;
                }
                None => {
                    verdicts.push(Verdict::Unchecked(format!(
                        "{what}; it is not among the account's EC2 quotas"
                    )));
                    continue;
                }
            };
            let mine = held.map(|h| {
                u64::from(
                    h.get(&market)
                        .and_then(|by| by.get(q))
                        .copied()
                        .unwrap_or(0),
                )
            });
            let verdict = match r.map(|r| &r.usage) {
                Some(Ok(used)) => {
                    let highest = used.highest.max(0.0).ceil() as u64;
                    let latest = used.latest.max(0.0).ceil() as u64;
                    // At most: the quota, less what others use now; these fleets' own
                    // instances given back where they are known.
                    let room = match mine {
                        Some(m) => value.saturating_sub(latest) + m.min(latest),
                        None => value,
                    };
                    if room < small {
                        Verdict::Refused(format!(
                            "{what}, and the quota holds {room} vCPUs for them, even with their own instances counted as free"
                        ))
                    } else if value.saturating_sub(highest) >= large {
                        Verdict::Fits(format!(
                            "{what}: the quota ({value}) holds them beside what the account uses now ({highest})"
                        ))
                    } else {
                        Verdict::MayNotFit(format!(
                            "{what}: the quota ({value}) holds {} beside what the account uses now, unless these fleets' own instances are what uses it",
                            value.saturating_sub(highest)
                        ))
                    }
                }
                Some(Err(why)) if value < small => Verdict::Refused(format!(
                    "{what}, and the quota is {value} vCPUs (its usage could not be read: {why})"
                )),
                Some(Err(why)) => Verdict::Unchecked(format!("{what}; its usage: {why}")),
                None if value < small => {
                    Verdict::Refused(format!("{what}, and the quota is {value} vCPUs"))
                }
                None => Verdict::Unchecked(format!("{what}; its usage was not read")),
            };
            verdicts.push(verdict);
        }
        if let Some(v) = worst(verdicts) {
            out.push((market, v));
        }
    }
    out
}

/// The worst of `verdicts` (refused, unchecked, may not fit, fits), the messages of those
/// as bad joined.
fn worst(verdicts: Vec<Verdict>) -> Option<Verdict> {
    let rank = |v: &Verdict| match v {
        Verdict::Refused(_) => 3,
        Verdict::Unchecked(_) => 2,
        Verdict::MayNotFit(_) => 1,
        Verdict::Fits(_) => 0,
    };
    let top = verdicts.iter().map(rank).max()?;
    let text = |v: &Verdict| match v {
        Verdict::Refused(t) | Verdict::Unchecked(t) | Verdict::MayNotFit(t) | Verdict::Fits(t) => {
            t.clone()
        }
    };
    let joined = verdicts
        .iter()
        .filter(|v| rank(v) == top)
        .map(text)
        .collect::<Vec<_>>()
        .join("; ");
    Some(match top {
        3 => Verdict::Refused(joined),
        2 => Verdict::Unchecked(joined),
        1 => Verdict::MayNotFit(joined),
        _ => Verdict::Fits(joined),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::QuotaUsage as Usage;

    const G: &str = "Running On-Demand G and VT instances";

    fn fleet(stack: &str, instances: u32, vcpus: u32) -> Fleet {
        Fleet {
            stack: stack.into(),
            needs: vec![Need {
                market: Market::OnDemand,
                instances,
                vcpus: [(G.to_string(), (vcpus, vcpus))].into(),
                unknown: Vec::new(),
            }],
        }
    }

    fn quota(value: f64, used: Option<f64>) -> BTreeMap<String, Reading> {
        [(
            G.to_string(),
            Reading {
                name: G.into(),
                code: Some("L-DB2E81BA".into()),
                value: Ok(value),
                default: false,
                usage: used
                    .map(|u| Usage {
                        highest: u,
                        latest: u,
                    })
                    .ok_or_else(|| "AccessDenied".to_string()),
            },
        )]
        .into()
    }

    fn held(v: u32) -> BTreeMap<Market, BTreeMap<String, u32>> {
        [(Market::OnDemand, [(G.to_string(), v)].into())].into()
    }

    /// Three GPU copies of 4 instances of 4 vCPUs each fit a quota of 64 alone (16 each), and
    /// not together (48 beside 20 used): refused, naming all three.
    #[test]
    fn copies_that_each_fit_alone_are_refused_together_naming_them_all() {
        let copies: Vec<Fleet> = (1..=3)
            .map(|i| fleet(&format!("qfleet-gpu-0{i}-fleet"), 4, 4))
            .collect();
        let r = quota(64.0, Some(20.0));
        // Alone, each fits (the check of one fleet).
        for c in &copies {
            assert!(matches!(
                super::super::judge(&c.needs[0], &r, Some(&BTreeMap::new())),
                Verdict::Fits(_)
            ));
        }
        let v = judge_together(&copies, &r, Some(&held(0)));
        let [(Market::OnDemand, Verdict::Refused(why))] = v.as_slice() else {
            panic!("{v:?}")
        };
        for i in 1..=3 {
            assert!(
                why.contains(&format!("qfleet-gpu-0{i}-fleet 4 instances")),
                "{why}"
            );
        }
        assert!(why.contains("48 vCPUs"), "{why}");
        assert!(why.contains("holds 44 vCPUs"), "{why}");
    }

    /// What the fleets hold now is theirs to give back: 20 used, all of it theirs, leaves
    /// room for 64; so the refusal is never made on their own instances, and the sum that
    /// is short only of what they hold may not fit.
    #[test]
    fn the_fleets_own_instances_are_counted_as_free_before_a_refusal() {
        let copies: Vec<Fleet> = (1..=3)
            .map(|i| fleet(&format!("qfleet-gpu-0{i}-fleet"), 4, 4))
            .collect();
        let v = judge_together(&copies, &quota(64.0, Some(20.0)), Some(&held(20)));
        assert!(
            matches!(v.as_slice(), [(Market::OnDemand, Verdict::MayNotFit(_))]),
            "{v:?}"
        );
        // Their holdings unknown: only the quota itself can refuse them.
        let v = judge_together(&copies, &quota(64.0, Some(20.0)), None);
        assert!(
            matches!(v.as_slice(), [(Market::OnDemand, Verdict::MayNotFit(_))]),
            "{v:?}"
        );
        let v = judge_together(&copies, &quota(40.0, Some(20.0)), None);
        assert!(
            matches!(v.as_slice(), [(Market::OnDemand, Verdict::Refused(_))]),
            "{v:?}"
        );
    }

    #[test]
    fn fleets_that_fit_together_fit_and_an_unread_usage_is_unchecked_unless_the_quota_is_short() {
        let two = vec![fleet("qfleet-a-fleet", 2, 4), fleet("qfleet-b-fleet", 2, 4)];
        let v = judge_together(&two, &quota(64.0, Some(8.0)), Some(&held(0)));
        assert!(
            matches!(v.as_slice(), [(Market::OnDemand, Verdict::Fits(_))]),
            "{v:?}"
        );
        let v = judge_together(&two, &quota(64.0, None), Some(&held(0)));
        assert!(
            matches!(v.as_slice(), [(Market::OnDemand, Verdict::Unchecked(_))]),
            "{v:?}"
        );
        let v = judge_together(&two, &quota(8.0, None), Some(&held(0)));
        assert!(
            matches!(v.as_slice(), [(Market::OnDemand, Verdict::Refused(_))]),
            "{v:?}"
        );
    }

    /// A fleet that may land under two quotas, or whose types are not known, leaves the sum
    /// unchecked: said, never taken as fine.
    #[test]
    fn a_fleet_of_several_quotas_leaves_the_sum_unchecked() {
        let mut spread = fleet("qfleet-b-fleet", 2, 4);
        spread.needs[0]
            .vcpus
            .insert("Running On-Demand P instances".into(), (8, 8));
        let v = judge_together(
            &[fleet("qfleet-a-fleet", 2, 4), spread],
            &quota(64.0, Some(0.0)),
            Some(&held(0)),
        );
        let [(Market::OnDemand, Verdict::Unchecked(why))] = v.as_slice() else {
            panic!("{v:?}")
        };
        assert!(why.contains("qfleet-b-fleet"), "{why}");
    }

    /// The fleets of one run are grouped by the account and Region they land in: copies
    /// together, targets in other places apart, a function's stage not at all.
    #[test]
    fn a_runs_fleets_are_grouped_by_where_they_land() {
        let file = |text: &str| {
            crate::config::parse("stacks/g.yaml".into(), text.to_string())
                .unwrap()
                .expand()
        };
        let copies = file(
            "environment: g\nregion: eu-west-1\nlab: true\ncopies: 3\nworkers:\n  min: 1\n  max: 4\n",
        );
        assert_eq!(copies.len(), 3);
        let t = Together::of(&copies);
        for c in &copies {
            assert_eq!(t.beside(c).map_or(0, |g| g.fleets.len()), 3, "{}", c.name);
        }
        let lambda =
            file("environment: l\nregion: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n");
        let mixed: Vec<Environment> = copies[..1].iter().chain(&lambda).cloned().collect();
        let t = Together::of(&mixed);
        assert!(t.beside(&mixed[0]).is_none(), "alone among EC2 fleets");
        assert!(t.beside(&mixed[1]).is_none(), "not an EC2 fleet");
        let elsewhere =
            file("environment: e\nregion: eu-west-2\nlab: true\nworkers:\n  min: 1\n  max: 4\n");
        let apart: Vec<Environment> = copies[..1].iter().chain(&elsewhere).cloned().collect();
        assert!(Together::of(&apart).beside(&apart[0]).is_none());
    }
}
