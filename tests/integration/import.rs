//! `qfleet import copilot` through the binary: a fixture manifest imported to a file that
//! `qfleet validate` then reads, the JSON document, and the refusals with their exit code.

use crate::common::*;

const FIXTURE: &str = "tests/fixtures/copilot/06-copilot-docs-sample-spot-autoscaling.yml";
const IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cost-analyzer:1.0";

#[test]
fn an_imported_manifest_is_written_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cost-analyzer.yaml");
    let o = run(qfleet()
        .args([
            "import",
            "copilot",
            FIXTURE,
            "--image",
            IMAGE,
            "--region",
            "eu-west-1",
            "--out",
        ])
        .arg(&out));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).is_empty(),
        "the stack file went to --out: {}",
        stdout(&o)
    );
    let report = stderr(&o);
    assert!(
        report.contains("NOT carried") && report.contains("subscribe.topics.0"),
        "{report}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("kind: fargate") && text.contains("seconds_per_message: 0.25"),
        "{text}"
    );

    let v = run(qfleet().arg("validate").arg(&out));
    assert_eq!(v.status.code(), Some(0), "{}", stderr(&v));
    // Copilot's public placement carried: the tasks reach ECR, SQS and S3 (issue 36); the
    // public IPs are warned about, as every insecure opt-in is.
    assert!(
        !stderr(&v).contains("reach SQS and S3 only if"),
        "{}",
        stderr(&v)
    );
    assert!(
        stderr(&v).contains("workers.public_ip: true"),
        "{}",
        stderr(&v)
    );

    // The same import as one JSON document, matching schemas/output/import.json.
    let d = doc(
        qfleet().args([
            "import",
            "copilot",
            FIXTURE,
            "--image",
            IMAGE,
            "--region",
            "eu-west-1",
            "-o",
            "json",
        ]),
        0,
    );
    let env = &d["environments"][0];
    assert_eq!(env["environment"], "cost-analyzer");
    assert_eq!(env["stack_file"].as_str(), Some(text.as_str()));
    assert!(
        env["report"]["not_carried"].as_array().unwrap().len() >= 3,
        "{d}"
    );

    // An existing file is never overwritten.
    let o = run(qfleet()
        .args(["import", "copilot", FIXTURE, "--image", IMAGE, "--out"])
        .arg(&out));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("the file exists"), "{}", stderr(&o));
}

#[test]
fn import_refuses_another_workload_type_and_a_missing_image_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("manifest.yml");
    std::fs::write(
        &web,
        "name: api\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n",
    )
    .unwrap();
    let o = run(qfleet().args(["import", "copilot"]).arg(&web));
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains(&format!("{}:2:7: type:", web.display()))
            && e.contains("`Load Balanced Web Service` is not a Worker Service"),
        "{e}"
    );
    assert!(stdout(&o).is_empty());
    let d = doc(
        qfleet().args(["import", "copilot", "-o", "json"]).arg(&web),
        2,
    );
    assert_eq!(d["error"]["kind"], "input", "{d}");
    assert_eq!(d["error"]["problems"][0]["line"], 2, "{d}");

    // image.build and no --image: the message says which flag to give.
    let o = run(qfleet().args([
        "import",
        "copilot",
        "tests/fixtures/copilot/02-copilot-manifest-testdata-subscribe.yml",
    ]));
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("--image"), "{e}");
    // The report is shown with the refusal: what would have been carried, and why not.
    assert!(
        e.contains("carried (") && e.contains("image.build (line 20): no image to run"),
        "{e}"
    );

    // ${COPILOT_APPLICATION_NAME} without --app: refused, naming the line and the flag.
    let secret = dir.path().join("secret.yml");
    std::fs::write(
        &secret,
        "name: w\ntype: Worker Service\nimage:\n  location: public.ecr.aws/a/w:1\nsecrets:\n  DB: /copilot/${COPILOT_APPLICATION_NAME}/${COPILOT_ENVIRONMENT_NAME}/secrets/db\n",
    )
    .unwrap();
    let o = run(qfleet()
        .args(["import", "copilot", "--env", "test"])
        .arg(&secret));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("give it with --app NAME"),
        "{}",
        stderr(&o)
    );
    let o = run(qfleet()
        .args(["import", "copilot", "--env", "test", "--app", "shop"])
        .arg(&secret));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("DB: ssm:/copilot/shop/test/secrets/db"),
        "{}",
        stdout(&o)
    );
}
