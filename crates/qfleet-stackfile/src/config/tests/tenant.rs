//! `queue.tenant` (fair shares): one place a job's tenant is read from, of a form the workers
//! read and where the stage's jobs can carry it; the tenant `qfleet submit` reads from a job's
//! attributes or body; and the same tenant and group as the workers' (`job_tenant` and
//! `tenant_group` of qfleet_shared.py).

use super::*;
use crate::config::{TenantSpec, tenant_group};

const MESSAGES: &str = "sources:\n  messages: {}\n";

#[test]
fn absent_no_tenant_and_each_form_is_the_rule_the_workers_read() {
    let env = parse_str("region: eu-west-1\n").unwrap().into_only();
    assert_eq!(env.spec.queue.tenant, None);
    for (yaml, rule) in [
        (
            "jobs: {}\nqueue:\n  tenant: {key_segment: 2}\n",
            "key_segment:2",
        ),
        (
            "queue:\n  tenant: {attribute: customer}\nsources:\n  messages: {}\n",
            "attribute:customer",
        ),
        (
            "queue:\n  tenant: {json: customer.id}\nsources:\n  messages: {}\n",
            "json:customer.id",
        ),
    ] {
        let env = parse_str(&format!("region: eu-west-1\n{yaml}"))
            .unwrap()
            .into_only();
        assert_eq!(
            env.spec.queue.tenant.and_then(|t| t.rule()).as_deref(),
            Some(rule)
        );
    }
    // As `validate` and `plan` say it: on a FIFO queue the tenant is the FIFO group.
    let t = TenantSpec {
        key_segment: Some(1),
        ..TenantSpec::default()
    };
    assert_eq!(
        t.line(false, true, true),
        "a job's tenant is folder 1 of the upload's key: the workers send the job on to the next stage in that group, the job's record keeps it; SQS's fair queues keep one busy tenant from delaying the others (queue.tenant)"
    );
    let a = TenantSpec {
        attribute: Some("customer".into()),
        ..TenantSpec::default()
    };
    assert_eq!(
        a.line(true, false, false),
        "a job's tenant is the job's message attribute `customer`: qfleet submit sends it as the job's message group; a tenant's jobs run one at a time, in order (queue.tenant)"
    );
}

#[test]
fn none_or_two_places_and_names_sqs_or_the_workers_would_not_take_are_refused() {
    let e = error(
        &format!("region: eu-west-1\nqueue:\n  tenant: {{}}\n{MESSAGES}"),
        "queue.tenant",
        3,
    );
    assert!(
        e.message
            .contains("exactly one of attribute, key_segment or json"),
        "{e}"
    );
    error(
        &format!(
            "region: eu-west-1\nqueue:\n  tenant: {{attribute: customer, json: customer}}\n{MESSAGES}"
        ),
        "queue.tenant",
        3,
    );
    for bad in ["AWS.tenant", "a..b", ".a", "a b", "$x"] {
        let list = errors(&format!(
            "region: eu-west-1\nqueue:\n  tenant:\n    attribute: \"{bad}\"\n{MESSAGES}"
        ));
        assert_eq!(list.len(), 1, "{bad}: {list:#?}");
        assert_eq!(
            (list[0].field.as_str(), list[0].line),
            ("queue.tenant.attribute", 4)
        );
    }
    let e = error(
        &format!("region: eu-west-1\nqueue:\n  tenant:\n    attribute: job_id\n{MESSAGES}"),
        "queue.tenant.attribute",
        4,
    );
    assert!(e.message.contains("a tenant of its own"), "{e}");
    for bad in ["customer..id", ".id", "a.b c", "${AWS::Region}"] {
        let list = errors(&format!(
            "region: eu-west-1\nqueue:\n  tenant:\n    json: \"{bad}\"\n{MESSAGES}"
        ));
        assert_eq!(list.len(), 1, "{bad}: {list:#?}");
        assert_eq!(list[0].field, "queue.tenant.json", "{bad}");
    }
    let e = error(
        "region: eu-west-1\njobs: {}\nqueue:\n  tenant:\n    key_segment: 11\n",
        "queue.tenant.key_segment",
        5,
    );
    assert!(e.message.contains("out of range (1 to 10)"), "{e}");
    let e = error(
        &format!(
            "region: eu-west-1\nqueue:\n  tenant:\n    attribute: QFleet_Customer\n{MESSAGES}"
        ),
        "queue.tenant.attribute",
        4,
    );
    assert!(
        e.message
            .contains("names starting qfleet_ are qfleet's own"),
        "{e}"
    );
}

/// Where the stage's jobs cannot carry the tenant: a key read where no upload comes, or where
/// nothing would use it (S3's event has no group: only a next stage fed by messages, or the
/// job's record, does); an attribute or a body where only uploads come.
#[test]
fn a_tenant_is_read_only_where_the_stages_jobs_carry_it() {
    let e = error(
        "region: eu-west-1\nqueue:\n  tenant: {key_segment: 1}\n",
        "queue.tenant.key_segment",
        3,
    );
    assert!(e.message.contains("this file has neither"), "{e}");
    parse_str("region: eu-west-1\njobs: {}\nqueue:\n  tenant: {key_segment: 1}\n").unwrap();
    let e = error(
        "region: eu-west-1\nstages:\n  - name: a\n    queue:\n      tenant: {key_segment: 1}\n  - name: b\n    fed_by: objects\n",
        "stages.0.queue.tenant.key_segment",
        5,
    );
    assert!(e.message.contains("this file has neither"), "{e}");
    let e = error(
        "region: eu-west-1\nqueue:\n  tenant: {attribute: customer}\n",
        "queue.tenant",
        3,
    );
    assert!(
        e.message
            .contains("read the tenant from the key (key_segment)"),
        "{e}"
    );
    let e = error(
        "region: eu-west-1\njobs: {}\nqueue:\n  fifo: true\n  content_based_deduplication: true\n  tenant: {key_segment: 1}\nsources:\n  uploads: false\n  messages: {}\n",
        "queue.tenant.key_segment",
        6,
    );
    assert!(e.message.contains("takes no uploads"), "{e}");
    // A later stage: its jobs come from the stage before, in their group; it reads a tenant
    // only from jobs sent to it as messages.
    let e = error(
        "region: eu-west-1\njobs: {}\nstages:\n  - name: a\n  - name: b\n    fed_by: messages\n    queue:\n      tenant: {key_segment: 1}\n    sources: {messages: {}}\n",
        "stages.1.queue.tenant.key_segment",
        8,
    );
    assert!(e.message.contains("takes no uploads"), "{e}");
    parse_str(
        "region: eu-west-1\nstages:\n  - name: a\n    queue:\n      tenant: {key_segment: 1}\n  - name: b\n    fed_by: messages\n    queue:\n      tenant: {json: customer}\n    sources: {messages: {}}\n",
    )
    .unwrap();
}

#[test]
fn submit_reads_a_tenant_from_the_attribute_or_the_json_body() {
    let attr = TenantSpec {
        attribute: Some("customer".into()),
        ..TenantSpec::default()
    };
    let a = [("customer".to_string(), "acme".to_string())];
    assert_eq!(attr.of_message("{}", &a).as_deref(), Some("acme"));
    assert_eq!(attr.of_message("{}", &[]), None);
    let json = TenantSpec {
        json: Some("c.id".into()),
        ..TenantSpec::default()
    };
    assert_eq!(
        json.of_message(r#"{"c": {"id": "t-1"}}"#, &[]).as_deref(),
        Some("t-1")
    );
    assert_eq!(
        json.of_message(r#"{"c": {"id": 7}}"#, &[]).as_deref(),
        Some("7")
    );
    for body in [
        r#"{"c": {"id": true}}"#,
        r#"{"c": {"id": ""}}"#,
        r#"{"c": 3}"#,
        "[1]",
        "x",
        r#"{"c": {"id": 1.5}}"#,
        r#"{"c": {"id": 1e3}}"#,
        r#"{"c": {"id": 18446744073709551616}}"#,
    ] {
        assert_eq!(json.of_message(body, &[]), None, "{body}");
    }
}

/// The tenant and group submit gives a job are the ones a worker gives it on (Python runs
/// qfleet_shared's `job_tenant` and `tenant_group` here).
#[test]
fn the_workers_tenants_and_groups_are_submits() {
    let cases: [(&str, &str, &str); 6] = [
        ("json:c.id", r#"{"c": {"id": "t-1"}}"#, ""),
        ("json:c.id", r#"{"c": {"id": 42}}"#, ""),
        ("json:c.id", r#"{"c": {"id": -9223372036854775808}}"#, ""),
        ("json:c", r#"{"c": "Acme Ltd"}"#, ""),
        ("attribute:customer", "{}", "customer-7"),
        ("attribute:customer", "{}", "été"),
    ];
    let mut program = String::from("import json, qfleet_shared as s\n");
    for (rule, body, attr) in cases {
        program.push_str(&format!(
            "print(s.job_tenant(s.SharedConfig({{'QFLEET_TENANT': {rule:?}}}), {{'MessageAttributes': {{'customer': {{'StringValue': {attr:?}}}}}}}, {body:?}))\n"
        ));
    }
    let theirs = shipped_python(&program);
    let ours: Vec<String> = cases
        .iter()
        .map(|(rule, body, attr)| {
            let (kind, arg) = rule.split_once(':').unwrap();
            let spec = match kind {
                "json" => TenantSpec {
                    json: Some(arg.into()),
                    ..TenantSpec::default()
                },
                _ => TenantSpec {
                    attribute: Some(arg.into()),
                    ..TenantSpec::default()
                },
            };
            let attrs = [(arg.to_string(), attr.to_string())];
            tenant_group(&spec.of_message(body, &attrs).unwrap())
        })
        .collect();
    assert_eq!(theirs, ours);
    assert_eq!(
        ours[3].len(),
        64,
        "a tenant with a space goes as its SHA-256"
    );
}
