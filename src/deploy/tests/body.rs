//! The body a change set carries (mocked CloudFormation, named so): the rendered YAML where it
//! fits CloudFormation's 51,200 bytes, its compact JSON where it does not.

use super::*;
use std::sync::{Arc, Mutex};

/// CreateChangeSet, keeping the TemplateBody it was sent.
fn keeping(bodies: &Arc<Mutex<Vec<String>>>) -> Rule {
    let bodies = bodies.clone();
    mock!(Cfn::create_change_set).then_compute_output(move |r| {
        bodies
            .lock()
            .unwrap()
            .push(r.template_body().unwrap_or_default().to_string());
        CreateChangeSetOutput::builder()
            .id("cs-1")
            .stack_id("id")
            .build()
    })
}

async fn sent(e: &Environment) -> (String, String) {
    let d = desired(e, StackRole::Data);
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let cc = keeping(&bodies);
    let c = clients(&[&cc]);
    crate::aws::create_change_set(&c.cfn, &d.request(true), "qfleet-1")
        .await
        .unwrap();
    let body = bodies.lock().unwrap().remove(0);
    (d.template, body)
}

#[tokio::test]
async fn a_data_template_over_the_limit_goes_as_compact_json_and_one_within_as_rendered() {
    // examples/fifo.yaml: jobs, two stages, a topic, a schedule, alerts and a budget.
    let fifo =
        std::fs::read_to_string(config::workspace_root().join("examples/fifo.yaml")).unwrap();
    let (yaml, body) = sent(&env(&fifo)).await;
    assert!(yaml.len() > 51_200, "{} bytes", yaml.len());
    assert!(body.len() <= 51_200, "{} bytes", body.len());
    let read: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(read, render::long_form(&yaml).unwrap());
    // A small one is sent as written.
    let (yaml, body) = sent(&env(&format!("{STACK_FILE}lab: true\n"))).await;
    assert!(yaml.len() <= 51_200);
    assert_eq!(body, yaml);
}
