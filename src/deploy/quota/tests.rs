use super::*;

const G: &str = "Running On-Demand G and VT instances";
const P: &str = "Running On-Demand P instances";

fn need(instances: u32, vcpus: &[(&str, u32)]) -> Need {
    Need {
        market: Market::OnDemand,
        instances,
        vcpus: vcpus.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
        unknown: Vec::new(),
    }
}

fn read(name: &str, value: Result<f64, &str>, usage: Result<f64, &str>) -> (String, Reading) {
    (
        name.to_string(),
        Reading {
            name: name.into(),
            code: Some("L-DB2E81BA".into()),
            value: value.map_err(str::to_string),
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
