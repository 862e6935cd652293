use super::*;

const G: &str = "Running On-Demand G and VT instances";
const P: &str = "Running On-Demand P instances";

fn need(instances: u32, vcpus: &[(&str, u32)]) -> Need {
    Need {
        market: Market::OnDemand,
        instances,
        vcpus: vcpus
            .iter()
            .map(|(n, v)| (n.to_string(), (*v, *v)))
            .collect(),
        unknown: Vec::new(),
    }
}

fn read(name: &str, value: Result<f64, &str>, usage: Result<f64, &str>) -> (String, Reading) {
    let usage = usage.map(|u| aws::QuotaUsage {
        highest: u,
        latest: u,
    });
    (
        name.to_string(),
        Reading {
            name: name.into(),
            code: Some("L-DB2E81BA".into()),
            value: value.map_err(str::to_string),
            default: false,
            usage: usage.map_err(str::to_string),
        },
    )
}

fn readings(r: Vec<(String, Reading)>) -> BTreeMap<String, Reading> {
    r.into_iter().collect()
}

#[test]
fn the_markets_at_max_round_the_on_demand_share_up() {
    assert_eq!(per_market(4, 0, 0), vec![(Market::OnDemand, 4)]);
    assert_eq!(per_market(4, 100, 0), vec![(Market::Spot, 4)]);
    // Base 1, then 70 % of 9 on Spot: 6 (6.3 down), so 4 On-Demand.
    assert_eq!(
        per_market(10, 70, 1),
        vec![(Market::OnDemand, 4), (Market::Spot, 6)]
    );
    assert_eq!(per_market(0, 50, 0), vec![]);
    assert_eq!(per_market(2, 50, 5), vec![(Market::OnDemand, 2)]);
}

#[test]
fn a_quota_below_the_need_is_refused_whatever_the_usage() {
    // A new account: 0 vCPUs of G. Usage unreadable changes nothing: 0 holds no instance.
    let r = readings(vec![read(G, Ok(0.0), Err("AccessDenied"))]);
    let v = judge(&need(4, &[(G, 4)]), &r, None);
    let Verdict::Refused(why) = v else {
        panic!("{v:?}")
    };
    assert!(
        why.contains("16 vCPUs of \"Running On-Demand G and VT instances\""),
        "{why}"
    );
    assert!(
        why.contains("(L-DB2E81BA)") && why.contains("holds 0"),
        "{why}"
    );
    // 8 vCPUs hold 2 of 4 instances of 4 vCPUs.
    let r = readings(vec![read(G, Ok(8.0), Ok(0.0))]);
    assert!(matches!(
        judge(&need(4, &[(G, 4)]), &r, Some(&BTreeMap::new())),
        Verdict::Refused(_)
    ));
}

#[test]
fn usage_by_others_refuses_and_usage_by_this_fleet_does_not() {
    let r = readings(vec![read(G, Ok(16.0), Ok(12.0))]);
    // Others use 12: 4 left, one instance of 4 needed... but four are.
    let none = BTreeMap::new();
    assert!(matches!(
        judge(&need(4, &[(G, 4)]), &r, Some(&none)),
        Verdict::Refused(_)
    ));
    // This fleet's own three instances are the 12: a redeploy fits within its own.
    let own: BTreeMap<String, u32> = [(G.to_string(), 12)].into();
    let v = judge(&need(4, &[(G, 4)]), &r, Some(&own));
    assert!(matches!(v, Verdict::MayNotFit(_)), "{v:?}");
    // Own instances not known: never refused on usage alone.
    assert!(matches!(
        judge(&need(4, &[(G, 4)]), &r, None),
        Verdict::MayNotFit(_)
    ));
    // Room beside the usage: fits.
    let r = readings(vec![read(G, Ok(64.0), Ok(12.0))]);
    assert!(matches!(
        judge(&need(4, &[(G, 4)]), &r, Some(&none)),
        Verdict::Fits(_)
    ));
}

#[test]
fn what_could_not_be_read_is_unchecked_never_fine() {
    // The quota is not in the account's list.
    let v = judge(&need(2, &[(G, 4)]), &BTreeMap::new(), None);
    let Verdict::Unchecked(why) = v else {
        panic!("{v:?}")
    };
    assert!(why.contains("not among the account's EC2 quotas"), "{why}");
    // The quota is read, the usage is not: enough if nothing were used, but not known.
    let r = readings(vec![read(G, Ok(64.0), Err("no datapoint"))]);
    let v = judge(&need(2, &[(G, 4)]), &r, None);
    assert!(
        matches!(&v, Verdict::Unchecked(w) if w.contains("no datapoint")),
        "{v:?}"
    );
    // The quota could not be read at all.
    let r = readings(vec![read(
        G,
        Err("AccessDenied: servicequotas:ListServiceQuotas"),
        Ok(0.0),
    )]);
    assert!(matches!(
        judge(&need(2, &[(G, 4)]), &r, None),
        Verdict::Unchecked(_)
    ));
    // A type whose quota is not known: unchecked even when the others fit.
    let mut n = need(2, &[(G, 4)]);
    n.unknown.push("x9z.large".into());
    let r = readings(vec![read(G, Ok(4.0), Ok(0.0))]);
    assert!(matches!(judge(&n, &r, None), Verdict::Unchecked(_)));
}

#[test]
fn types_of_two_quotas_count_what_each_holds() {
    // g6.xlarge (4 vCPUs) under G, p4d.24xlarge (96) under P: G holds 1, P holds 1: 2 of 2.
    let r = readings(vec![read(G, Ok(4.0), Ok(0.0)), read(P, Ok(96.0), Ok(0.0))]);
    let none = BTreeMap::new();
    let v = judge(&need(2, &[(G, 4), (P, 96)]), &r, Some(&none));
    assert!(matches!(v, Verdict::Fits(_)), "{v:?}");
    let v = judge(&need(3, &[(G, 4), (P, 96)]), &r, Some(&none));
    assert!(
        matches!(&v, Verdict::Refused(w) if w.contains(" or ")),
        "{v:?}"
    );
}

fn env(yaml: &str) -> crate::config::Environment {
    crate::config::parse(std::path::PathBuf::from("stacks/g.yaml"), yaml.to_string())
        .unwrap()
        .into_only()
}

fn described(types: &[(&str, u32, u32, &str)]) -> Described {
    Ok(types
        .iter()
        .map(|(n, v, g, m)| {
            (
                n.to_string(),
                InstanceType {
                    name: n.to_string(),
                    vcpus: *v,
                    gpus: *g,
                    gpu: (!m.is_empty()).then(|| m.to_string()),
                },
            )
        })
        .collect())
}

#[test]
fn a_type_with_fewer_gpus_or_another_model_is_an_input_error_naming_the_field() {
    let two = env(
        "region: us-east-1\nworkers:\n  instance_types: [g6.xlarge, g6.12xlarge]\n  gpu: {count: 2}\n",
    );
    let types: Vec<String> = vec!["g6.xlarge".into(), "g6.12xlarge".into()];
    let d = described(&[
        ("g6.xlarge", 4, 1, "NVIDIA L4"),
        ("g6.12xlarge", 48, 4, "NVIDIA L4"),
    ]);
    let Err(Error::Input(e)) = gpus(&two, &types, &d) else {
        panic!("expected an input error")
    };
    assert_eq!(e[0].field, "workers.instance_types");
    assert!(
        e[0].message
            .contains("g6.xlarge has 1 GPU (NVIDIA L4), fewer than workers.gpu.count (2)"),
        "{}",
        e[0].message
    );
    let l40s = env(
        "region: us-east-1\nworkers:\n  instance_type: g6.xlarge\n  gpu: {count: 1, accelerator: L40S}\n",
    );
    let one = vec!["g6.xlarge".to_string()];
    let Err(Error::Input(e)) = gpus(&l40s, &one, &d) else {
        panic!("expected an input error")
    };
    assert!(
        e[0].message.contains("carries NVIDIA L4, not the L40S"),
        "{}",
        e[0].message
    );
    // The model as EC2 names it, in any case; an answer not read is a note, never fine.
    let l4 = env(
        "region: us-east-1\nworkers:\n  instance_type: g6.xlarge\n  gpu: {count: 1, accelerator: l4}\n",
    );
    assert!(gpus(&l4, &one, &d).unwrap().is_empty());
    let rtx = env(
        "region: us-east-1\nworkers:\n  instance_type: g7e.2xlarge\n  gpu: {count: 1, accelerator: RTX PRO 6000}\n",
    );
    let g7e = vec!["g7e.2xlarge".to_string()];
    let d7 = described(&[("g7e.2xlarge", 8, 1, "NVIDIA RTX PRO 6000 Blackwell")]);
    assert!(gpus(&rtx, &g7e, &d7).unwrap().is_empty());
    let l4_on_l40s = described(&[("g6.xlarge", 4, 1, "NVIDIA L40S")]);
    assert!(gpus(&l4, &one, &l4_on_l40s).is_err());
    // A GPU whose model EC2 does not name: the accelerator is unchecked, not refused.
    let unnamed = described(&[("g6.xlarge", 4, 1, "")]);
    let notes = gpus(&l4, &one, &unnamed).unwrap();
    assert!(notes[0].contains("accelerator (l4) unchecked"), "{notes:?}");
    let notes = gpus(&l4, &one, &Err("AccessDenied".into())).unwrap();
    assert!(notes[0].contains("unchecked: AccessDenied"), "{notes:?}");
    let notes = gpus(&l4, &one, &described(&[])).unwrap();
    assert!(
        notes[0].contains("does not describe g6.xlarge"),
        "{notes:?}"
    );
}

#[test]
fn the_needs_take_each_markets_instances_and_the_largest_type_of_each_quota() {
    let types: Vec<String> = vec!["g6.xlarge".into(), "g6e.2xlarge".into(), "x9z.large".into()];
    let d = described(&[
        ("g6.xlarge", 4, 1, "NVIDIA L4"),
        ("g6e.2xlarge", 8, 1, "NVIDIA L40S"),
    ]);
    let n = needs(&types, &d, per_market(10, 70, 1));
    assert_eq!(n[0].market, Market::OnDemand);
    assert_eq!(n[0].instances, 4);
    assert_eq!(n[0].vcpus[G], (4, 8));
    assert_eq!(n[0].unknown, vec!["x9z.large".to_string()]);
    assert_eq!((n[1].market, n[1].instances), (Market::Spot, 6));
    assert_eq!(n[1].vcpus["All G and VT Spot Instance Requests"], (4, 8));
}

/// Types of one quota in two sizes: the group may launch the smaller, so a refusal counts it,
/// and only the larger proves "fits". Usage that has just gone (its latest datapoint below its
/// highest) refuses nothing it no longer takes.
#[test]
fn a_refusal_counts_the_smallest_type_and_the_latest_usage_fits_the_largest_and_the_highest() {
    let none = BTreeMap::new();
    let mut n = need(4, &[]);
    n.vcpus.insert(G.to_string(), (4, 8));
    // 16 vCPUs: four g6.xlarge fit, four g6.2xlarge do not: not refused, not "fits".
    let r = readings(vec![read(G, Ok(16.0), Ok(0.0))]);
    let v = judge(&n, &r, Some(&none));
    assert!(
        matches!(&v, Verdict::MayNotFit(w) if w.contains("16 to 32 vCPUs")),
        "{v:?}"
    );
    // 12: not even four of the smallest.
    let r = readings(vec![read(G, Ok(12.0), Ok(0.0))]);
    assert!(matches!(judge(&n, &r, Some(&none)), Verdict::Refused(_)));
    // 64, of which 40 were used a few minutes ago and none now: not refused; not "fits" either.
    let mut r = readings(vec![read(G, Ok(64.0), Ok(0.0))]);
    r.get_mut(G).unwrap().usage = Ok(aws::QuotaUsage {
        highest: 40.0,
        latest: 0.0,
    });
    let v = judge(&n, &r, Some(&none));
    assert!(matches!(v, Verdict::MayNotFit(_)), "{v:?}");
    // AWS's default, where the account has none of its own, is said as such.
    let mut r = readings(vec![read(G, Ok(0.0), Err("no datapoint"))]);
    r.get_mut(G).unwrap().default = true;
    let v = judge(&n, &r, None);
    assert!(
        matches!(&v, Verdict::Refused(w) if w.contains("AWS's default")),
        "{v:?}"
    );
}

/// On ECS Managed Instances the types the file allows are held to workers.gpu as an EC2
/// group's are: a type with fewer GPUs is named in workers.instance_types.
#[test]
fn managed_instances_types_are_held_to_the_gpus_too() {
    let managed = env(
        "region: us-east-1\nworkers:\n  kind: ecs_managed\n  image: public.ecr.aws/a/b:1\n  instance_types: [g6.xlarge, g6.12xlarge]\n  gpu: {count: 2}\n",
    );
    let types: Vec<String> = vec!["g6.xlarge".into(), "g6.12xlarge".into()];
    let d = described(&[
        ("g6.xlarge", 4, 1, "NVIDIA L4"),
        ("g6.12xlarge", 48, 4, "NVIDIA L4"),
    ]);
    let Err(Error::Input(e)) = gpus(&managed, &types, &d) else {
        panic!("expected an input error")
    };
    assert_eq!(e[0].field, "workers.instance_types");
    assert!(
        e[0].message.contains("g6.xlarge has 1 GPU"),
        "{}",
        e[0].message
    );
}
