//! `deploy`, `plan` and `outputs` against moto's server (the local AWS emulator).
//!
//! moto gaps these tests live with (DEVELOPERS.md): no stack outputs after a change set, no
//! per-resource events, no failed or rollback states; those paths are covered by the
//! SDK-level mock tests in src/deploy/tests.rs.

use crate::common::*;
use serde_json::Value;

fn actions(summary: &Value) -> Vec<String> {
    summary["environments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["stacks"].as_array().unwrap().iter())
        .map(|s| {
            format!(
                "{} {}",
                s["stack"].as_str().unwrap(),
                s["action"].as_str().unwrap()
            )
        })
        .collect()
}

/// Change sets ever created for `stack` (moto keeps executed ones listed).
async fn change_set_count(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> usize {
    cfn.list_change_sets()
        .stack_name(stack)
        .send()
        .await
        .map(|o| {
            o.summaries()
                .iter()
                .filter(|c| c.stack_name() == Some(stack))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn deploy_creates_both_stacks_and_a_second_run_is_a_no_op_without_a_change_set() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("it-create");
    let file = lab_stack_file(dir.path(), &e, "");
    let o = run(qfleet_on_moto()
        .arg("deploy")
        .arg(&file)
        .args(["--yes", "-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let s = document(&o);
    assert_eq!(
        actions(&s),
        [
            format!("qfleet-{e}-data created"),
            format!("qfleet-{e}-fleet created")
        ]
    );
    let events = s["environments"][0]["events"].as_array().unwrap();
    assert_eq!(
        events.iter().filter(|e| e["event"] == "change_set").count(),
        2,
        "one change set per stack on create"
    );
    assert!(
        events.iter().any(|e| e["event"] == "changes"),
        "the preview is an event too"
    );

    let conf = moto_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let asg = aws_sdk_autoscaling::Client::new(&conf);
    let groups = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(format!("qfleet-{e}-workers"))
        .send()
        .await
        .unwrap();
    let g = &groups.auto_scaling_groups()[0];
    assert_eq!((g.min_size(), g.max_size()), (Some(1), Some(2)));
    assert!(
        g.availability_zones().len() >= 2,
        "spread over the default VPC's zones"
    );
    let sqs = aws_sdk_sqs::Client::new(&conf);
    queue_url(&sqs, &format!("qfleet-{e}-jobs")).await;

    let before = change_set_count(&cfn, &format!("qfleet-{e}-data")).await
        + change_set_count(&cfn, &format!("qfleet-{e}-fleet")).await;
    let o = run(qfleet_on_moto()
        .arg("deploy")
        .arg(&file)
        .args(["--yes", "-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        actions(&document(&o)),
        [
            format!("qfleet-{e}-data no-changes"),
            format!("qfleet-{e}-fleet no-changes")
        ]
    );
    let after = change_set_count(&cfn, &format!("qfleet-{e}-data")).await
        + change_set_count(&cfn, &format!("qfleet-{e}-fleet")).await;
    assert_eq!(before, after, "no change set is left behind");
    // moto forgets deleted change sets, so the count alone cannot tell; every change set qfleet
    // creates is announced as a `change_set` event.
    assert!(
        !document(&o)["environments"][0]["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "change_set"),
        "a no-op creates no change set"
    );
}

#[tokio::test]
async fn changing_the_visibility_timeout_updates_the_queue_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("it-update");
    let file = lab_stack_file(dir.path(), &e, "queue:\n  visibility_timeout: 60\n");
    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let conf = moto_config().await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let url = queue_url(&sqs, &format!("qfleet-{e}-jobs")).await;
    send_job(&sqs, &format!("qfleet-{e}-jobs"), "job before the update").await;

    lab_stack_file(dir.path(), &e, "queue:\n  visibility_timeout: 95\n");
    let o = run(qfleet_on_moto()
        .arg("deploy")
        .arg(&file)
        .args(["--yes", "-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = document(&o);
    assert_eq!(
        actions(&s),
        [
            format!("qfleet-{e}-data updated"),
            format!("qfleet-{e}-fleet updated")
        ]
    );
    let data_changes = &s["environments"][0]["stacks"][0]["changes"];
    assert!(
        data_changes
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["logical_id"] == "Queue" && c["action"] == "Modify"),
        "{data_changes}"
    );

    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let a = attrs.attributes().unwrap();
    assert_eq!(
        a.get(&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
            .map(String::as_str),
        Some("95")
    );
    assert_eq!(
        a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .map(String::as_str),
        Some("1"),
        "same queue, message still there: updated in place, not replaced"
    );
}

#[tokio::test]
async fn plan_shows_pending_changes_with_exit_3_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("it-plan");
    let file = lab_stack_file(dir.path(), &e, "");
    // Nothing deployed yet: both stacks would be created.
    let o =
        run(qfleet_on_moto()
            .arg("plan")
            .arg(&file)
            .args(["--detailed-exitcode", "-o", "json"]));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(
        actions(&document(&o)),
        [
            format!("qfleet-{e}-data would-create"),
            format!("qfleet-{e}-fleet would-create")
        ]
    );
    let conf = moto_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let listed = cfn.describe_stacks().send().await.unwrap();
    assert!(
        !listed.stacks().iter().any(|s| s
            .stack_name()
            .unwrap_or_default()
            .starts_with(&format!("qfleet-{e}-"))
            && s.stack_status().map(|x| x.as_str()) != Some("DELETE_COMPLETE")),
        "plan leaves no stack behind"
    );

    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(qfleet_on_moto()
        .arg("plan")
        .arg(&file)
        .arg("--detailed-exitcode"));
    assert_eq!(o.status.code(), Some(0), "in sync: {}", stderr(&o));

    lab_stack_file(dir.path(), &e, "queue:\n  max_receive_count: 3\n");
    let o = run(qfleet_on_moto()
        .arg("plan")
        .arg(&file)
        .args(["--detailed-exitcode"]));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("~ modify"), "{}", stderr(&o));
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let url = queue_url(&sqs, &format!("qfleet-{e}-jobs")).await;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap();
    let redrive = attrs
        .attributes()
        .unwrap()
        .get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .cloned()
        .unwrap();
    assert!(
        redrive.contains("\"maxReceiveCount\": 5") || redrive.contains("\"maxReceiveCount\":5"),
        "plan changed nothing: {redrive}"
    );
    let pending = cfn
        .list_change_sets()
        .stack_name(format!("qfleet-{e}-data"))
        .send()
        .await
        .unwrap();
    assert!(
        pending
            .summaries()
            .iter()
            .filter(|c| c.stack_name() == Some(format!("qfleet-{e}-data").as_str()))
            .all(|c| c.execution_status().map(|x| x.as_str()) != Some("AVAILABLE")),
        "plan deletes its change sets"
    );
}

#[tokio::test]
async fn without_a_terminal_deploy_needs_yes_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("it-noyes");
    let file = lab_stack_file(dir.path(), &e, "");
    let o = run(qfleet_on_moto()
        .arg("deploy")
        .arg(&file)
        .arg("--debug")
        .stdin(std::process::Stdio::null()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("pass --yes"), "{}", stderr(&o));
    // Decided before any AWS call: no change set, no stack, no rollback continued.
    assert!(
        !stderr(&o).contains(" DEBUG "),
        "no AWS request was sent: {}",
        stderr(&o)
    );
    let conf = moto_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    assert!(!stack_exists(&cfn, &format!("qfleet-{e}-data")).await);
}

#[tokio::test]
async fn outputs_on_moto_are_empty_because_moto_drops_them_after_change_sets() {
    // moto gap: executing a change set leaves Outputs empty. The command still finds both
    // stacks and says so; the output values themselves are covered by the mock tests.
    let dir = tempfile::tempdir().unwrap();
    let e = unique("it-outputs");
    let file = lab_stack_file(dir.path(), &e, "");
    assert_eq!(
        run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"))
            .status
            .code(),
        Some(0)
    );
    let o = run(qfleet_on_moto()
        .arg("outputs")
        .arg(&file)
        .args(["-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = document(&o);
    let stacks = v["environments"][0]["stacks"].as_object().unwrap();
    assert!(
        stacks.contains_key(&format!("qfleet-{e}-data"))
            && stacks.contains_key(&format!("qfleet-{e}-fleet"))
    );
    let o = run(qfleet_on_moto()
        .args(["outputs", "it-never-deployed", "--stacks-dir"])
        .arg(dir.path()));
    assert_ne!(o.status.code(), Some(0));
    // Issue 57: the error that ends `outputs --shell` named its hint without the --stacks-dir
    // that finds the environment again.
    let o = run(qfleet_on_moto()
        .arg("--stacks-dir")
        .arg(dir.path())
        .args(["outputs", &e, "--shell"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "`qfleet --stacks-dir {} status {e}`",
            dir.path().display()
        )),
        "{err}"
    );
}

#[tokio::test]
async fn several_environments_deploy_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = (1..=3)
        .map(|i| lab_stack_file(dir.path(), &unique(&format!("it-many{i}")), ""))
        .collect();
    let o = run(qfleet_on_moto()
        .arg("deploy")
        .args(&files)
        .args(["--yes", "-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = document(&o);
    assert_eq!(s["environments"].as_array().unwrap().len(), 3);
    assert!(
        actions(&s).iter().all(|a| a.ends_with(" created")),
        "{:?}",
        actions(&s)
    );
}

#[tokio::test]
async fn plan_in_markdown_has_a_section_per_changed_environment_and_a_line_per_quiet_one() {
    let dir = tempfile::tempdir().unwrap();
    let (changed, quiet) = (unique("md-chg"), unique("md-same"));
    let changed_file = deploy_lab(dir.path(), &changed, "");
    let quiet_file = deploy_lab(dir.path(), &quiet, "");
    lab_stack_file(dir.path(), &changed, "queue:\n  visibility_timeout: 95\n");
    let o = run(qfleet_on_moto()
        .arg("plan")
        .args([&changed_file, &quiet_file])
        .args(["--format", "markdown", "--detailed-exitcode"]));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let md = stdout(&o);
    assert!(
        md.starts_with("## qfleet plan: 1 of 2 environments with changes"),
        "{md}"
    );
    for expected in [
        format!("### {changed} (eu-west-1)"),
        format!("**qfleet-{changed}-data**: changes pending (1 change)"),
        "| | resource | property | before | after | |".to_string(),
        // moto details no property: said so, not left blank as if nothing changed.
        "| ~ modify | `Queue` (AWS::SQS::Queue) | (CloudFormation did not say which properties change) |".to_string(),
        format!("- **{quiet}** (eu-west-1): no changes"),
    ] {
        assert!(md.contains(&expected), "missing `{expected}` in:\n{md}");
    }
    assert!(!md.contains("qfleet-md-same"), "{md}");

    let o = run(qfleet_on_moto()
        .arg("plan")
        .arg(&changed_file)
        .args(["--format", "markdown", "-o", "json"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// A pipeline's plan previews the data stack with every stage's queue and one fleet per
/// stage, leaving nothing behind; deploy creates them; taking a stage out is refused (its fleet
/// would be left running); teardown counts every stage's queue and deletes every fleet first.
#[tokio::test]
async fn a_pipeline_deploys_removes_a_stage_only_fleet_first_and_with_the_flag_and_tears_down() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("it-pipe");
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(
        &file,
        "region: eu-west-1\nlab: true\nstages:\n  - name: transcode\n    workers: {min: 1, max: 2, public_ip: true}\n  - name: thumbnail\n    prefix: transcoded/\n    workers: {min: 1, max: 3, public_ip: true}\n",
    )
    .unwrap();
    let o =
        run(qfleet_on_moto()
            .arg("plan")
            .arg(&file)
            .args(["--detailed-exitcode", "-o", "json"]));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let doc = document(&o);
    assert_eq!(
        actions(&doc),
        [
            format!("qfleet-{e}-data would-create"),
            format!("qfleet-{e}-fleet would-create"),
            format!("qfleet-{e}--thumbnail-fleet would-create"),
        ]
    );
    let data_changes: Vec<&str> = doc["environments"][0]["stacks"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["logical_id"].as_str().unwrap())
        .collect();
    for id in ["Queue", "StageThumbnailQueue", "StageThumbnailQueuePolicy"] {
        assert!(data_changes.contains(&id), "{id}: {data_changes:?}");
    }
    let conf = moto_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    for stack in [
        format!("qfleet-{e}-data"),
        format!("qfleet-{e}-fleet"),
        format!("qfleet-{e}--thumbnail-fleet"),
    ] {
        assert!(!stack_exists(&cfn, &stack).await, "plan left {stack}");
    }

    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for stack in [
        format!("qfleet-{e}-data"),
        format!("qfleet-{e}-fleet"),
        format!("qfleet-{e}--thumbnail-fleet"),
    ] {
        assert!(stack_exists(&cfn, &stack).await, "{stack}");
    }
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let second = format!("qfleet-{e}--thumbnail-jobs");
    send_job(&sqs, &second, "a job waiting in the second stage").await;

    // status reads every stage: the second's queue holds the job.
    let o = run(qfleet_on_moto()
        .arg("status")
        .arg(&file)
        .args(["-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = document(&o);
    let env = &doc["environments"][0];
    assert_eq!(env["queue"]["name"], format!("qfleet-{e}-jobs"), "{env}");
    assert_eq!(env["pipeline"]["stages"], 2, "{env}");
    let stage = &env["stages"][0];
    assert_eq!(stage["stage"], "thumbnail", "{env}");
    assert_eq!(stage["queue"]["name"], second.as_str(), "{env}");
    assert_eq!(stage["queue"]["visible"], 1, "{env}");
    assert_eq!(
        stage["stacks"][1]["name"],
        format!("qfleet-{e}--thumbnail-fleet"),
        "{env}"
    );
    let o = run(qfleet_on_moto().arg("status").arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("\nstage thumbnail\n"), "{}", stdout(&o));

    // drift checks every stage: moto answers drift detection with HTTP 500, so each stack's
    // detection is said to be unchecked (exit 1), the later stage's fleet stack among them.
    let o = run(qfleet_on_moto()
        .arg("drift")
        .arg(&file)
        .args(["-o", "json"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let doc = document(&o);
    let unchecked: Vec<&str> = doc["environments"][0]["report"]["unchecked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["what"].as_str().unwrap())
        .collect();
    for stack in ["data", "fleet", "-thumbnail-fleet"] {
        let what = format!("CloudFormation drift detection on qfleet-{e}-{stack}");
        assert!(unchecked.contains(&what.as_str()), "{what}: {unchecked:?}");
    }

    // Taking the stage out of the file would leave its fleet running: refused, flag or not.
    let one = dir.path().join("one-stage");
    std::fs::create_dir(&one).unwrap();
    let trimmed = one.join(format!("{e}.yaml"));
    std::fs::write(
        &trimmed,
        "region: eu-west-1\nlab: true\nstages:\n  - name: transcode\n    workers: {min: 1, max: 2, public_ip: true}\n",
    )
    .unwrap();
    // Taking the stage out of the file while its fleet runs: refused, flag or not (no command
    // would find that fleet again), saying how to remove the stage instead.
    for flags in [&["--yes"][..], &["--yes", "--allow-replacement"]] {
        let o = run(qfleet_on_moto().arg("deploy").arg(&trimmed).args(flags));
        assert_eq!(o.status.code(), Some(4), "{flags:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("StageThumbnailQueue")
                && stderr(&o).contains("--only fleet --stage thumbnail"),
            "{}",
            stderr(&o)
        );
    }
    assert!(stack_exists(&cfn, &format!("qfleet-{e}--thumbnail-fleet")).await);
    assert_eq!(
        visible_messages(&sqs, &second).await,
        1,
        "nothing was deleted"
    );
    // plan says so before any deploy: the refusal is among its warnings.
    let o = run(qfleet_on_moto()
        .arg("plan")
        .arg(&trimmed)
        .args(["-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = document(&o);
    let warnings = doc["environments"][0]["warnings"].to_string();
    assert!(
        warnings.contains("deploy would refuse") && warnings.contains("--stage thumbnail"),
        "{doc}"
    );

    // Teardown counts the second stage's queue too: refused with its message.
    let o = run(qfleet_on_moto()
        .arg("teardown")
        .arg(&file)
        .args(["--yes", "-o", "json"]));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let doc = document(&o);
    let stages = &doc["environments"][0]["data"]["stages"];
    assert_eq!(stages[0]["queue"], second.as_str(), "{doc}");
    assert_eq!(stages[0]["queue_messages"], 1, "{doc}");
    assert!(stack_exists(&cfn, &format!("qfleet-{e}--thumbnail-fleet")).await);

    // Removing the stage: its fleet alone first, with the stage still in the file ...
    // (moto gap: its CloudFormation cannot delete a role with managed policies attached.)
    moto_detach_role_policies(&[&format!("{e}--thumbnail")]);
    let o = run(qfleet_on_moto().arg("teardown").arg(&file).args([
        "--yes",
        "--only",
        "fleet",
        "--stage",
        "thumbnail",
        "-o",
        "json",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert_eq!(
        document(&o)["environments"][0]["deleted"],
        serde_json::json!([format!("qfleet-{e}--thumbnail-fleet")])
    );
    assert!(stack_exists(&cfn, &format!("qfleet-{e}-fleet")).await);
    assert_eq!(visible_messages(&sqs, &second).await, 1, "the queue stays");
    // ... then the deploy without it, which removes its queues: a loss of data like any
    // other, refused without --allow-replacement, then done with it.
    let o = run(qfleet_on_moto().arg("deploy").arg(&trimmed).arg("--yes"));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("StageThumbnailQueue") && stderr(&o).contains("--allow-replacement"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        visible_messages(&sqs, &second).await,
        1,
        "nothing was deleted"
    );
    // Issue 72: the saved document of the refusal keeps what was refused, and why it is 4.
    let o = run(qfleet_on_moto()
        .arg("deploy")
        .arg(&trimmed)
        .args(["--yes", "-o", "json"]));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let doc = document(&o);
    check_schema("deploy", &doc);
    assert_eq!(doc["changes_pending"], true, "{doc}");
    assert_eq!(
        doc["exit_reason"],
        format!("exit 4: 1 environment refused ({e}), nothing changed there"),
        "{doc}"
    );
    let data = &doc["environments"][0]["stacks"][0];
    assert_eq!(data["stack"], format!("qfleet-{e}-data"), "{doc}");
    assert_eq!(data["action"], "refused", "{doc}");
    assert!(
        data["changes"].to_string().contains("StageThumbnailQueue"),
        "{doc}"
    );
    let o = run(qfleet_on_moto()
        .arg("deploy")
        .arg(&trimmed)
        .args(["--yes", "--allow-replacement"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        sqs.get_queue_url()
            .queue_name(&second)
            .send()
            .await
            .is_err(),
        "the removed stage's queue is gone"
    );
    assert!(stack_exists(&cfn, &format!("qfleet-{e}-fleet")).await);

    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto()
        .arg("teardown")
        .arg(&trimmed)
        .args(["--yes", "-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let deleted = document(&o)["environments"][0]["deleted"].clone();
    assert_eq!(
        deleted,
        serde_json::json!([format!("qfleet-{e}-fleet"), format!("qfleet-{e}-data")])
    );
}

/// SIGTERM (a cancelled CI job, `timeout`, `docker stop`, Kubernetes) and SIGHUP end a deploy
/// as Ctrl-C does: one JSON document on stdout, the error `interrupted`, exit 143 (129); no
/// stack is left in REVIEW_IN_PROGRESS, and a plain rerun converges (issue 57).
#[tokio::test]
async fn sigterm_or_sighup_during_a_deploy_ends_it_as_ctrl_c_with_one_document_and_128_plus_n() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let conf = moto_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    for (signal, code) in [("TERM", 143), ("HUP", 129)] {
        let e = unique(&format!("sig{}", signal.to_lowercase()));
        let file = lab_stack_file(dir.path(), &e, "");
        let mut child = qfleet_on_moto()
            .arg("deploy")
            .arg(&file)
            .args(["--yes", "-o", "json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id().to_string();
        // The signal as soon as the data stack's preview is said: its change set exists and is
        // about to be executed, the fleet's after it.
        let mut seen = Vec::new();
        for line in BufReader::new(child.stderr.take().unwrap()).lines() {
            let line = line.unwrap();
            let preview = line.contains(&format!("qfleet-{e}-data:"));
            seen.push(line);
            if preview {
                let sent = std::process::Command::new("kill")
                    .args([&format!("-{signal}"), &pid])
                    .status()
                    .unwrap();
                assert!(sent.success());
                break;
            }
        }
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(code),
            "{}\n{}",
            seen.join("\n"),
            stdout(&o)
        );
        let doc = document(&o);
        check_schema("deploy", &doc);
        assert_eq!(doc["exit_code"], code, "{doc}");
        assert_eq!(doc["ok"], false);
        assert_eq!(doc["error"]["kind"], "interrupted", "{doc}");
        let message = doc["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("SIG{signal}")), "{message}");
        // Where the run left the environment, as fields: its place and what it left behind.
        let stopped = &doc["error"]["stopped"][0];
        assert_eq!(stopped["environment"], e.as_str(), "{doc}");
        assert_eq!(stopped["region"], "eu-west-1", "{doc}");
        // The file names no account: the one the run found (its credentials', moto's).
        assert_eq!(stopped["account"], "123456789012", "{doc}");
        assert!(stopped["not_started"].as_array().is_some(), "{doc}");
        for role in ["data", "fleet"] {
            let name = format!("qfleet-{e}-{role}");
            if let Ok(d) = cfn.describe_stacks().stack_name(&name).send().await {
                let status = d.stacks()[0].stack_status().unwrap().as_str().to_string();
                assert_ne!(status, "REVIEW_IN_PROGRESS", "{name}: {message}");
            }
        }
        // A plain rerun converges.
        deploy_on_moto(&file);
    }
}

/// Issue 72, one run at a time: two deploys of one environment started together. One takes the
/// environment's lock and deploys; the other refuses (exit 4) before it changes anything,
/// naming the first run (its process). The lock is then released: a third deploy goes ahead.
#[tokio::test]
async fn two_deploys_of_one_environment_started_together_one_deploys_the_other_refuses_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("lock2");
    let file = lab_stack_file(dir.path(), &e, "");
    let start = || {
        qfleet_on_moto()
            .arg("deploy")
            .arg(&file)
            .args(["--yes", "-o", "json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    let pids = [a.id(), b.id()];
    let outputs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let mut codes: Vec<i32> = outputs.iter().map(|o| o.status.code().unwrap()).collect();
    codes.sort();
    assert_eq!(
        codes,
        [0, 4],
        "{}\n{}",
        stderr(&outputs[0]),
        stderr(&outputs[1])
    );
    let (refused, other_pid) = match outputs[0].status.code() {
        Some(4) => (&outputs[0], pids[1]),
        _ => (&outputs[1], pids[0]),
    };
    let doc = document(refused);
    check_schema("deploy", &doc);
    let env = &doc["environments"][0];
    assert_eq!(env["error"]["kind"], "refused", "{doc}");
    let message = env["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{e} is being changed by another run"))
            && message.contains("qfleet deploy run by")
            && message.contains(&format!("(pid {other_pid})")),
        "{message}"
    );
    // Nothing was changed, and nothing previewed: each stack refused, its changes pending.
    let refused: Vec<(&str, &str)> = env["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["stack"].as_str().unwrap(), s["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        refused,
        [
            (format!("qfleet-{e}-data").as_str(), "refused"),
            (format!("qfleet-{e}-fleet").as_str(), "refused")
        ],
        "{doc}"
    );
    assert_eq!(
        (&doc["changes_pending"], &env["changes_pending"]),
        (&Value::Bool(true), &Value::Bool(true)),
        "{doc}"
    );
    // Released at the end: the next deploy takes it.
    deploy_on_moto(&file);
}

/// The lock bucket of moto's account in eu-west-1, as qfleet makes it (its tag says it is
/// qfleet's), for a test that writes a lock before any deploy of this run made the bucket.
async fn lock_bucket(s3: &aws_sdk_s3::Client) -> &'static str {
    let bucket = "qfleet-locks-123456789012-eu-west-1";
    // Another test's deploy may have made it: then both calls are no-ops.
    let _ = s3
        .create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await;
    let tag = aws_sdk_s3::types::Tag::builder()
        .key("qfleet:purpose")
        .value("locks")
        .build()
        .unwrap();
    s3.put_bucket_tagging()
        .bucket(bucket)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .tag_set(tag)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    bucket
}

fn moto_s3(conf: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(true)
            .build(),
    )
}

/// Where a run on this host says its process is, as qfleet writes it in its lock: the host's
/// name and pid namespace.
fn this_host() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let ns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    format!("{} {}", name.trim(), ns.display())
}

/// Writes `e`'s lock as held (not released) by `command` of process `pid` on this host.
async fn hold_lock(s3: &aws_sdk_s3::Client, e: &str, command: &str, pid: u32, released: bool) {
    let bucket = lock_bucket(s3).await;
    let holder = serde_json::json!({
        "environment": e, "command": command, "holder": format!("ana@studio (pid {pid})"),
        "run": "held-by-test", "since": "2026-11-28T03:00:00Z", "released": released,
        "host": this_host(), "pid": pid,
    });
    s3.put_object()
        .bucket(bucket)
        .key(e)
        .body(holder.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();
}

/// Issue 83: a deploy refused by the lock (another run holds it: this test's live process)
/// previews nothing, so it never says "no changes": a first create lists both stacks as
/// `refused`, not created, with `changes_pending: true`; once the environment stands, the
/// stacks come with their status as read. Nothing is created or changed.
#[tokio::test]
async fn a_deploy_refused_by_the_lock_keeps_its_changes_pending_and_lists_its_stacks() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("lockpend");
    let file = lab_stack_file(dir.path(), &e, "");
    let conf = moto_config().await;
    let (s3, cfn) = (moto_s3(&conf), aws_sdk_cloudformation::Client::new(&conf));
    let refused = |stood: bool| {
        let o = run(qfleet_on_moto()
            .arg("deploy")
            .arg(&file)
            .args(["--yes", "-o", "json"]));
        assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("error: {e}: {e} is being changed by another run")),
            "{}",
            stderr(&o)
        );
        let doc = document(&o);
        check_schema("deploy", &doc);
        let env = &doc["environments"][0];
        assert_eq!(env["error"]["kind"], "refused", "{doc}");
        assert_eq!(doc["changes_pending"], true, "{doc}");
        assert_eq!(env["changes_pending"], true, "{doc}");
        let stacks = env["stacks"].as_array().unwrap();
        let names: Vec<&str> = stacks
            .iter()
            .map(|s| s["stack"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [format!("qfleet-{e}-data"), format!("qfleet-{e}-fleet")],
            "{doc}"
        );
        for s in stacks {
            assert_eq!(s["action"], "refused", "{doc}");
            assert_eq!(s["changes"], serde_json::json!([]), "{doc}");
            let note = s["notes"][0].as_str().unwrap();
            match stood {
                false => {
                    assert_eq!(s["status"], Value::Null, "{doc}");
                    assert!(note.starts_with("not created yet: the deploy would create it; nothing was previewed while another run holds the environment's lock"), "{note}");
                }
                true => {
                    assert!(
                        s["status"].as_str().unwrap().ends_with("_COMPLETE"),
                        "{doc}"
                    );
                    assert!(note.starts_with("its changes are unknown: nothing was previewed while another run holds the environment's lock"), "{note}");
                }
            }
            // The plan it names runs as printed (a plan takes no lock), and previews them.
            let hint = crate::hints::hints(note);
            assert_eq!(hint.len(), 1, "{note}");
            assert_eq!(hint[0].last(), Some(&e), "{note}");
            let plan = run(qfleet_on_moto().args(&hint[0]));
            assert_eq!(plan.status.code(), Some(0), "{note}: {}", stderr(&plan));
            assert!(
                stdout(&plan).contains(&format!("qfleet-{e}-{}", s["role"].as_str().unwrap())),
                "{note}: {}",
                stdout(&plan)
            );
        }
    };
    hold_lock(&s3, &e, "deploy", std::process::id(), false).await;
    refused(false);
    for role in ["data", "fleet"] {
        assert!(
            !stack_exists(&cfn, &format!("qfleet-{e}-{role}")).await,
            "nothing created"
        );
    }
    // Released: deployed; held again: refused, the stacks as they stand.
    hold_lock(&s3, &e, "deploy", std::process::id(), true).await;
    deploy_on_moto(&file);
    // A change to deploy: a deploy with none takes no lock (issue 84, item 7).
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("max: 2", "max: 3")).unwrap();
    hold_lock(&s3, &e, "deploy", std::process::id(), false).await;
    refused(true);
    hold_lock(&s3, &e, "deploy", std::process::id(), true).await;
}

/// Issue 83: a holder killed with SIGKILL and not yet reaped by its parent (a zombie, which
/// kill(pid, 0) still finds) has ended: a deploy run at once takes its lock over, and says so
/// and from whom (host, pid, when it took the lock), on stderr and among the environment's
/// warnings. A teardown taking over the lock of a holder reaped since says so too, in its
/// events.
#[tokio::test]
async fn a_lock_whose_holder_was_killed_and_not_yet_reaped_is_taken_over_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("lockzomb");
    let file = lab_stack_file(dir.path(), &e, "");
    let s3 = moto_s3(&moto_config().await);
    let host = this_host();
    let host_name = host.split_whitespace().next().unwrap().to_string();
    let mut holder = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .unwrap();
    let pid = holder.id();
    // SIGKILL, not waited for: a zombie until this test reaps it.
    holder.kill().unwrap();
    let state = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.trim().to_string()))
            .and_then(|rest| rest.chars().next())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while state() != Some('Z') && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(state(), Some('Z'), "the holder is a zombie");
    hold_lock(&s3, &e, "deploy", pid, false).await;
    let o = run(qfleet_on_moto()
        .arg("deploy")
        .arg(&file)
        .args(["--yes", "-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(state(), Some('Z'), "still unreaped while the deploy ran");
    let said = format!(
        "this run took over the lock of qfleet deploy run by ana@studio (pid {pid}) (host {host_name}, pid {pid}, taken 2026-11-28T03:00:00Z): that process has ended (killed or crashed) without releasing it"
    );
    assert!(
        stderr(&o).contains(&format!("warning: {e}: {said}")),
        "{}",
        stderr(&o)
    );
    let doc = document(&o);
    check_schema("deploy", &doc);
    let warnings = doc["environments"][0]["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().starts_with(&said)),
        "{doc}"
    );
    holder.wait().unwrap();
    // Reaped since: no such process. A teardown takes the lock over and says so.
    hold_lock(&s3, &e, "teardown", pid, false).await;
    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto().arg("teardown").arg(&file).args([
        "--yes",
        "--purge-bucket",
        "--discard-messages",
        "-o",
        "json",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = document(&o);
    check_schema("teardown", &doc);
    let taken = doc["environments"][0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|ev| {
            ev["event"] == "warning"
                && ev["message"].as_str().unwrap().starts_with(&format!(
                    "this run took over the lock of qfleet teardown run by ana@studio (pid {pid}) (host {host_name}, pid {pid}, taken 2026-11-28T03:00:00Z)"
                ))
        });
    assert!(taken, "{doc}");
}

/// Issue 72, one run at a time: a lock held by a live process (this test's own, on this host,
/// just written) refuses `deploy` and `teardown` alike, before anything changes, naming the
/// holder; once it is written as released, both go ahead.
#[tokio::test]
async fn a_held_lock_refuses_deploy_and_teardown_until_it_is_released() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("lockheld");
    let file = lab_stack_file(dir.path(), &e, "");
    deploy_on_moto(&file);
    // A change to deploy: a deploy with none takes no lock (issue 84, item 7).
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("max: 2", "max: 3")).unwrap();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto_config().await)
            .force_path_style(true)
            .build(),
    );
    let bucket = "qfleet-locks-123456789012-eu-west-1";
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok();
    let holder = |released: bool| {
        serde_json::json!({
            "environment": e, "command": "deploy", "holder": "ana@studio (pid 1)",
            "run": "held-by-test", "since": "2026-11-28T03:00:00Z", "released": released,
            "host": host, "pid": std::process::id(),
        })
        .to_string()
    };
    s3.put_object()
        .bucket(bucket)
        .key(&e)
        .body(holder(false).into_bytes().into())
        .send()
        .await
        .unwrap();
    let teardown = ["--yes", "--purge-bucket", "--discard-messages"];
    for (command, flags) in [("deploy", &teardown[..1]), ("teardown", &teardown[..])] {
        let o = run(qfleet_on_moto().arg(command).arg(&file).args(flags));
        assert_eq!(o.status.code(), Some(4), "{command}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!(
                "{e} is being changed by another run: qfleet deploy run by ana@studio (pid 1)"
            )),
            "{command}: {}",
            stderr(&o)
        );
    }
    let cfn = aws_sdk_cloudformation::Client::new(&moto_config().await);
    assert!(
        stack_exists(&cfn, &format!("qfleet-{e}-data")).await,
        "nothing was torn down"
    );
    s3.put_object()
        .bucket(bucket)
        .key(&e)
        .body(holder(true).into_bytes().into())
        .send()
        .await
        .unwrap();
    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto().arg("teardown").arg(&file).args([
        "--yes",
        "--purge-bucket",
        "--discard-messages",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The lock is left released, for the next run.
    let body = s3.get_object().bucket(bucket).key(&e).send().await.unwrap();
    let text = body.body.collect().await.unwrap().into_bytes();
    let lock: serde_json::Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(lock["released"], true, "{lock}");
    assert_eq!(lock["command"], "teardown", "{lock}");
}

/// Issue 72: moto refuses a change set that changes nothing at CreateChangeSet ("No updates
/// are to be performed"); qfleet takes that answer as no changes, so `--force` and
/// `--revert-drift` on an unchanged environment run on moto, and leave no change set.
#[tokio::test]
async fn force_and_revert_drift_on_an_unchanged_environment_are_no_changes_on_moto() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("nochg");
    let file = deploy_lab(dir.path(), &e, "");
    for flag in ["--force", "--revert-drift"] {
        let o = run(qfleet_on_moto()
            .arg("deploy")
            .arg(&file)
            .args(["--yes", flag, "-o", "json"]));
        assert_eq!(o.status.code(), Some(0), "{flag}: {}", stderr(&o));
        let doc = document(&o);
        let actions: Vec<&str> = doc["environments"][0]["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["no-changes", "no-changes"], "{flag}: {doc}");
    }
}
