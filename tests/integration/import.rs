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

    // `qfleet validate FILE -o json`, in-process.
    let v = qfleet::engine::validate(&[&out]).unwrap_or_else(|f| panic!("validate: {f}"));
    let warnings = v["environments"][0]["warnings"].to_string();
    // Copilot's public placement carried: the tasks reach ECR, SQS and S3 (issue 36); the
    // public IPs are warned about, as every insecure opt-in is.
    assert!(!warnings.contains("reach SQS and S3 only if"), "{warnings}");
    assert!(warnings.contains("workers.public_ip: true"), "{warnings}");

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

    // image.build whose Dockerfile is not there, and no --image: the message says which flag
    // to give.
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
        e.contains("carried (") && e.contains("image.build (line 20) → workers.image.build"),
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

/// Two Copilot applications' `worker` services imported for one environment (`--env prod`):
/// the first writes `owner:` (its application) under `worker-prod`; the second would write
/// the same name, which would deploy over the first's stacks, so it is refused (exit 2) with
/// the flag that names it apart, and then carries its own owner.
#[test]
fn a_second_applications_service_of_the_same_name_is_refused_the_name_and_each_has_its_owner() {
    let dir = tempfile::tempdir().unwrap();
    let stacks = dir.path().join("stacks");
    std::fs::create_dir(&stacks).unwrap();
    let manifest = dir.path().join("worker.yml");
    std::fs::write(
        &manifest,
        "name: worker\ntype: Worker Service\nimage:\n  location: public.ecr.aws/docker/library/python:3.12\nenvironments:\n  prod: {}\n",
    )
    .unwrap();
    let import = |app: &str, out: &str, extra: &[&str]| {
        run(qfleet()
            .args(["import", "copilot"])
            .arg(&manifest)
            .args(["--env", "prod", "--app", app, "--region", "eu-west-1"])
            .args(extra)
            .arg("--stacks-dir")
            .arg(&stacks)
            .arg("--out")
            .arg(stacks.join(out)))
    };
    let o = import("shop", "worker-prod.yaml", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let first = std::fs::read_to_string(stacks.join("worker-prod.yaml")).unwrap();
    assert!(first.contains("\nowner: shop"), "{first}");
    assert!(
        stderr(&o).contains("owner: shop: the Copilot application"),
        "{}",
        stderr(&o)
    );

    let o = import("xray", "xray.yaml", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("`worker-prod` is already an environment of")
            && e.contains("--environment-name xray-worker-prod"),
        "{e}"
    );
    assert!(!stacks.join("xray.yaml").exists(), "nothing written");

    let o = import(
        "xray",
        "xray.yaml",
        &["--environment-name", "xray-worker-prod"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let second = std::fs::read_to_string(stacks.join("xray.yaml")).unwrap();
    assert!(
        second.contains("environment: xray-worker-prod") && second.contains("\nowner: xray"),
        "{second}"
    );
}
