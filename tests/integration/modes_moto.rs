//! Express mode and drift-aware change sets as qfleet sends them, read off the wire by a
//! logging proxy between qfleet and moto's server (tests/support/logging_proxy.py). moto
//! ignores both settings; what CloudFormation does with them is covered by the mocked tests
//! in src/deploy/tests/modes.rs, which follow AWS's documented answers.

use crate::common::*;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The proxy, killed when dropped.
struct Proxy {
    child: Child,
    endpoint: String,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_proxy(log: &Path) -> Proxy {
    let mut child = Command::new(root().join(".venv/bin/python"))
        .arg(root().join("tests/support/logging_proxy.py"))
        .arg(moto_endpoint())
        .arg(log)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the logging proxy starts (scripts/setup-tools makes .venv)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the proxy prints its port");
    let port = line
        .trim()
        .strip_prefix("port ")
        .expect("`port N`")
        .to_string();
    Proxy {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    }
}

/// Every CreateChangeSet the proxy saw, as its form parameters.
fn create_change_sets(log: &Path) -> Vec<BTreeMap<String, String>> {
    std::fs::read_to_string(log)
        .expect("proxy log")
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            let body = v["body"].as_str()?.to_string();
            let params: BTreeMap<String, String> = form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
            (params.get("Action").map(String::as_str) == Some("CreateChangeSet")).then_some(params)
        })
        .collect()
}

fn through(proxy: &Proxy) -> Command {
    let mut c = qfleet_on_moto();
    c.env("AWS_ENDPOINT_URL", &proxy.endpoint);
    c
}

#[test]
fn through_a_logging_proxy_labs_deploy_in_express_mode_others_do_not_and_revert_drift_is_drift_aware()
 {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let proxy = start_proxy(&log);

    // A lab: express by default, and said after the deploy.
    let lab = unique("xl");
    let lab_file = lab_stack_file(dir.path(), &lab, "");
    let o = run(through(&proxy).args(["deploy", "--yes"]).arg(&lab_file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("deployed in express mode: resources may still be stabilising"),
        "{}",
        stderr(&o)
    );
    let seen = create_change_sets(&log);
    let lab_stacks = [format!("qfleet-{lab}-data"), format!("qfleet-{lab}-fleet")];
    for stack in &lab_stacks {
        let cs = seen
            .iter()
            .find(|p| p.get("StackName") == Some(stack))
            .unwrap_or_else(|| panic!("no CreateChangeSet for {stack}: {seen:?}"));
        assert_eq!(
            cs.get("DeploymentConfig.Mode").map(String::as_str),
            Some("EXPRESS")
        );
        assert_eq!(
            cs.get("DeploymentMode"),
            None,
            "not drift-aware unless asked"
        );
    }

    // Not a lab (and not protected, so that the test's emulator can be cleaned): standard.
    let std_env = unique("xs");
    let std_file = dir.path().join(format!("{std_env}.yaml"));
    std::fs::write(
        &std_file,
        format!(
            "environment: {std_env}\nregion: eu-west-1\ntermination_protection: false\nbucket:\n  retain: false\nworkers:\n  min: 1\n  max: 2\n  public_ip: true\n"
        ),
    )
    .unwrap();
    let o = run(through(&proxy).args(["deploy", "--yes"]).arg(&std_file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("express mode"), "{}", stderr(&o));
    let seen = create_change_sets(&log);
    let standard: Vec<_> = seen
        .iter()
        .filter(|p| {
            p.get("StackName")
                .is_some_and(|s| s.starts_with(&format!("qfleet-{std_env}-")))
        })
        .collect();
    assert_eq!(standard.len(), 2, "{seen:?}");
    assert!(
        standard
            .iter()
            .all(|p| p.keys().all(|k| !k.starts_with("DeploymentConfig"))),
        "{standard:?}"
    );

    // --revert-drift on the deployed lab: each stack gets a drift-aware change set. (Both
    // templates change here: moto answers CreateChangeSet for an unchanged template with an
    // error, where CloudFormation documents a change set that fails with "didn't contain
    // changes".)
    let lab_file = lab_stack_file(dir.path(), &lab, "queue:\n  visibility_timeout: 90s\n");
    let before = create_change_sets(&log).len();
    let o = run(through(&proxy)
        .args(["deploy", "--yes", "--revert-drift"])
        .arg(&lab_file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let seen = create_change_sets(&log);
    let drift_aware: Vec<_> = seen[before..].iter().collect();
    assert_eq!(drift_aware.len(), 2, "{drift_aware:?}");
    for p in drift_aware {
        assert_eq!(
            p.get("DeploymentMode").map(String::as_str),
            Some("REVERT_DRIFT")
        );
        assert_eq!(p.get("ChangeSetType").map(String::as_str), Some("UPDATE"));
    }
}
