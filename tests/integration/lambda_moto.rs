//! Lambda workers against moto's server: a switch ec2 → lambda → ec2 by changing
//! `workers.kind` keeps every waiting message and the preview names the switch; teardown
//! removes a function environment; a function from a container image (the example, and a
//! switch from a zip package to an image).

use crate::common::*;
use std::path::PathBuf;

#[tokio::test]
async fn switching_worker_kind_ec2_to_lambda_to_ec2_keeps_every_waiting_message_on_moto() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("kind");
    let conf = moto_config().await;
    let (cfn, sqs) = (
        aws_sdk_cloudformation::Client::new(&conf),
        aws_sdk_sqs::Client::new(&conf),
    );
    let asg = aws_sdk_autoscaling::Client::new(&conf);
    let queue = format!("qfleet-{e}-jobs");

    // Messages wait while the instances (which moto never runs) consume nothing.
    deploy_on_moto(&kind_stack_file(dir.path(), &e, "ec2"));
    for i in 0..7 {
        send_job(&sqs, &queue, &format!("job {i}")).await;
    }
    assert_eq!(waiting(&sqs, &queue).await, 7);

    let mut from = "ec2";
    for kind in ["lambda", "ec2"] {
        // moto gap: its CloudFormation cannot delete a role with managed policies attached.
        moto_detach_role_policies(&[&e]);
        switch_on_moto(&kind_stack_file(dir.path(), &e, kind), from, kind);
        let types = fleet_types(&cfn, &e).await;
        if kind == "lambda" {
            assert!(types.contains("AWS::Lambda::Function"), "{types:?}");
            assert!(
                types.contains("AWS::Lambda::EventSourceMapping"),
                "{types:?}"
            );
            assert!(
                !types.contains("AWS::AutoScaling::AutoScalingGroup"),
                "{types:?}"
            );
            let groups = asg
                .describe_auto_scaling_groups()
                .auto_scaling_group_names(format!("qfleet-{e}-workers"))
                .send()
                .await
                .unwrap();
            assert!(groups.auto_scaling_groups().is_empty(), "the group is gone");
        } else {
            // moto gap: its Auto Scaling loses a group created again under the same name in a
            // later stack update (and then cannot delete it), so the group's return is read
            // from the stack, and this environment is left to the emulator.
            assert!(
                types.contains("AWS::AutoScaling::AutoScalingGroup"),
                "{types:?}"
            );
            assert!(!types.contains("AWS::Lambda::Function"), "{types:?}");
        }
        assert_eq!(
            waiting(&sqs, &queue).await,
            7,
            "every waiting message is still in the queue after the switch to {kind}"
        );
        from = kind;
    }
}

#[tokio::test]
async fn a_function_environment_is_torn_down_on_moto() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("fn");
    let conf = moto_config().await;
    let (cfn, s3) = (
        aws_sdk_cloudformation::Client::new(&conf),
        aws_sdk_s3::Client::new(&conf),
    );
    let file = kind_stack_file(dir.path(), &e, "lambda");
    // With a priority lane (`queue.priority`): its own mapping, which status reads from the
    // fleet stack.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        format!("{text}queue:\n  priority: {{max_concurrency: 2}}\n"),
    )
    .unwrap();
    deploy_on_moto(&file);
    let d = doc(
        qfleet_on_moto()
            .arg("status")
            .arg(&file)
            .args(["-o", "json"]),
        0,
    );
    check_schema("status", &d);
    let f = &d["environments"][0]["function"];
    assert_eq!(f["priority_mapping"]["maximum_concurrency"], 2, "{d}");
    assert_eq!(f["mapping"]["maximum_concurrency"], 3, "{d}");
    // An upload is data: the teardown refuses, then deletes with the flags.
    let bucket = format!("{e}-uploads-123456789012-eu-west-1");
    put_object(&s3, &bucket, "processed/a.txt", b"a").await;
    let o = run(qfleet_on_moto().arg("teardown").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto().arg("teardown").arg(&file).args([
        "--yes",
        "--purge-bucket",
        "--discard-messages",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for role in ["data", "fleet"] {
        assert!(!stack_exists(&cfn, &format!("qfleet-{e}-{role}")).await);
    }
}

/// A function with a dependency (examples/lambda-deps: a requirements.txt, which pip installs
/// from the package index) is created from the package qfleet uploaded to its code bucket
/// under the content-addressed key the template names; a redeploy of the same code uploads
/// nothing; teardown deletes the packages with the data stack, and refuses while the code
/// bucket holds an object qfleet did not write.
#[tokio::test]
async fn a_packaged_function_comes_from_its_content_addressed_object_on_moto() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("pkg");
    let conf = moto_config().await;
    let (cfn, s3) = (
        aws_sdk_cloudformation::Client::new(&conf),
        aws_sdk_s3::Client::new(&conf),
    );
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(
        &file,
        format!(
            "environment: {e}\nregion: eu-west-1\nlab: true\nqueue:\n  visibility_timeout: 2m\nworkers:\n  kind: lambda\n  lambda:\n    code: {}\n    handler: job.handler\n    timeout: 20s\n{MOTO_LAMBDA}",
            root().join("examples/lambda-deps").display()
        ),
    )
    .unwrap();
    deploy_on_moto(&file);

    let bucket = format!("{e}-code-123456789012-eu-west-1");
    let versions = |s3: aws_sdk_s3::Client, bucket: String| async move {
        let out = s3
            .list_object_versions()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        out.versions()
            .iter()
            .map(|v| v.key().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let keys = versions(s3.clone(), bucket.clone()).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let key = &keys[0];
    assert!(
        key.starts_with("lambda/") && key.ends_with(".zip") && key.len() == 75,
        "{key}"
    );

    // The deployed template names that object, and the function was made from its bytes
    // (Lambda's CodeSha256 is the base64 SHA-256 of the package).
    let template = cfn
        .get_template()
        .stack_name(format!("qfleet-{e}-fleet"))
        .send()
        .await
        .unwrap()
        .template_body()
        .unwrap()
        .to_string();
    assert!(
        template.contains(&format!("S3Key: \"{key}\"")),
        "{template}"
    );
    assert!(!template.contains("ZipFile"));
    let object = s3
        .get_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let f = lambda
        .get_function()
        .function_name(format!("qfleet-{e}-worker"))
        .send()
        .await
        .unwrap();
    let conf_ = f.configuration().unwrap();
    use base64::Engine;
    use sha2::Digest;
    assert_eq!(
        conf_.code_sha256(),
        Some(
            base64::engine::general_purpose::STANDARD
                .encode(sha2::Sha256::digest(&object))
                .as_str()
        )
    );
    assert_eq!(conf_.handler(), Some("job.handler"));
    // The package holds the handler, the reference handler it wraps, and the dependency.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(object.to_vec())).unwrap();
    for name in ["job.py", "qfleet_handler.py", "humanize/__init__.py"] {
        assert!(zip.by_name(name).is_ok(), "{name} is not in the package");
    }

    // Same code, same key: nothing new is uploaded.
    deploy_on_moto(&file);
    assert_eq!(versions(s3.clone(), bucket.clone()).await, keys);

    // Something qfleet did not write: teardown refuses, whatever the flags, and keeps it.
    put_object(&s3, &bucket, "notes.txt", b"mine").await;
    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto().arg("teardown").arg(&file).args([
        "--yes",
        "--purge-bucket",
        "--discard-messages",
    ]));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("qfleet did not write (notes.txt)"),
        "{}",
        stderr(&o)
    );
    assert!(stack_exists(&cfn, &format!("qfleet-{e}-data")).await);
    assert_eq!(versions(s3.clone(), bucket.clone()).await.len(), 2);

    // Without it, the packages go with the data stack.
    let listed = s3
        .list_object_versions()
        .bucket(&bucket)
        .prefix("notes.txt")
        .send()
        .await
        .unwrap();
    for v in listed.versions() {
        s3.delete_object()
            .bucket(&bucket)
            .key("notes.txt")
            .set_version_id(v.version_id().map(str::to_string))
            .send()
            .await
            .unwrap();
    }
    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto().arg("teardown").arg(&file).args([
        "--yes",
        "--purge-bucket",
        "--discard-messages",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for role in ["data", "fleet"] {
        assert!(!stack_exists(&cfn, &format!("qfleet-{e}-{role}")).await);
    }
    assert!(s3.head_bucket().bucket(&bucket).send().await.is_err());
}

/// Lambda cannot change a function's package type, so a zip package's function and an image's
/// are different resources (logical ids and names): setting `workers.lambda.image` adds the new
/// function, points the same queue mapping at it and deletes the old one, with every waiting
/// message kept; `status` reads the new function; the plan back names the reverse switch;
/// teardown removes the image function and touches no image. moto's
/// CloudFormation does not pass PackageType on (its function stays "Zip") and does not pull the
/// image (MOTO_LAMBDA_STUB_ECR): the test checks names, ImageUri, mapping and messages only.
#[tokio::test]
async fn switching_between_a_zip_package_and_an_image_keeps_the_messages_on_moto() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("img");
    let conf = moto_config().await;
    let (lambda, sqs) = (
        aws_sdk_lambda::Client::new(&conf),
        aws_sdk_sqs::Client::new(&conf),
    );
    let queue = format!("qfleet-{e}-jobs");
    let image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/resizer@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let write = |lambda_settings: &str| {
        let p = dir.path().join(format!("{e}.yaml"));
        std::fs::write(
            &p,
            format!(
                "environment: {e}\nregion: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n  lambda:\n    timeout: 10s\n    max_concurrency: 3\n{MOTO_LAMBDA}{lambda_settings}"
            ),
        )
        .unwrap();
        p
    };
    let zip_name = format!("qfleet-{e}-worker");
    let image_name = format!("qfleet-{e}-worker-image");
    let exists = |name: String| {
        let lambda = lambda.clone();
        async move {
            match lambda.get_function().function_name(&name).send().await {
                Ok(f) => Some(f),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    None
                }
                Err(err) => panic!("{name}: {err:?}"),
            }
        }
    };
    // The mapping by its UUID (moto's ListEventSourceMappings filters on a function name it
    // does not update when the mapping's FunctionName changes).
    let mapped_to = |uuid: String| {
        let lambda = lambda.clone();
        async move {
            let m = lambda
                .get_event_source_mapping()
                .uuid(&uuid)
                .send()
                .await
                .unwrap();
            m.function_arn()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .to_string()
        }
    };
    let status = |file: PathBuf| {
        let o = run(qfleet_on_moto()
            .arg("status")
            .arg(file)
            .args(["-o", "json"]));
        document(&o)["environments"][0].clone()
    };

    deploy_on_moto(&write(""));
    for i in 0..5 {
        send_job(&sqs, &queue, &format!("job {i}")).await;
    }
    assert!(exists(zip_name.clone()).await.is_some());

    let first = status(write(""));
    let uuid_before = first["function"]["mapping"]["uuid"]
        .as_str()
        .unwrap_or_else(|| panic!("no mapping: {first}"))
        .to_string();
    // moto gap: on the way back, moto's CloudFormation updates the mapping before it creates
    // the function the mapping now names (ResourceNotFoundException for qfleet-ENV-worker;
    // reproduced with boto3 alone), where CloudFormation follows the Ref. So the switch is
    // executed one way, and the way back is checked on its plan.
    let image_settings = format!("    image: {image}\n");
    moto_detach_role_policies(&[&e]);
    let events = deploy_on_moto(&write(&image_settings));
    let switch = events
        .iter()
        .find(|v| v["event"] == "switch")
        .unwrap_or_else(|| panic!("no switch event: {events:?}"));
    assert_eq!(
        (switch["from"].as_str(), switch["to"].as_str()),
        (
            Some("lambda (zip package)"),
            Some("lambda (container image)")
        )
    );
    let f = exists(image_name.clone())
        .await
        .unwrap_or_else(|| panic!("{image_name} missing"));
    assert!(
        exists(zip_name.clone()).await.is_none(),
        "{zip_name} still exists"
    );
    assert_eq!(f.code().and_then(|c| c.image_uri()), Some(image), "{f:?}");
    assert_eq!(
        waiting(&sqs, &queue).await,
        5,
        "every waiting message is kept"
    );
    let st = status(write(&image_settings));
    assert_eq!(
        st["function"]["name"].as_str(),
        Some(image_name.as_str()),
        "{st}"
    );
    // The same mapping (same UUID), now feeding the image function.
    assert_eq!(
        st["function"]["mapping"]["uuid"].as_str(),
        Some(uuid_before.as_str()),
        "the mapping is updated in place: {st}"
    );
    assert_eq!(mapped_to(uuid_before).await, image_name);

    // The way back, planned: the same switch, the other way round.
    let o = run(qfleet_on_moto()
        .arg("plan")
        .arg(write(""))
        .args(["-o", "json"]));
    let doc = document(&o);
    let events = doc["environments"][0]["events"].as_array().unwrap();
    let back = events
        .iter()
        .find(|v| v["event"] == "switch")
        .unwrap_or_else(|| panic!("no switch event back: {doc}"));
    assert_eq!(
        (back["from"].as_str(), back["to"].as_str()),
        (
            Some("lambda (container image)"),
            Some("lambda (zip package)")
        )
    );

    // Teardown removes the image function (qfleet has no ECR client: the image is the user's).
    let file = write(&format!("    image: {image}\n"));
    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto()
        .arg("teardown")
        .arg(&file)
        .args(["--yes", "--discard-messages"]));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert!(exists(image_name.clone()).await.is_none());
}

/// examples/lambda-image.yaml deploys on moto: the function is created from the image URI the
/// example names (moto does not pull it: MOTO_LAMBDA_STUB_ECR), with the example's settings
/// and the queue mapping, and tears down.
#[tokio::test]
async fn the_lambda_image_example_deploys_on_moto() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("it-limg");
    let text = std::fs::read_to_string(root().join("examples/lambda-image.yaml"))
        .unwrap()
        .replace("environment: lab-img", &format!("environment: {e}"))
        .replace("\n  lambda:\n", &format!("\n  lambda:\n{MOTO_LAMBDA}"));
    let image = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("image: "))
        .unwrap()
        .to_string();
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(&file, text).unwrap();
    deploy_on_moto(&file);
    let conf = moto_config().await;
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let f = lambda
        .get_function()
        .function_name(format!("qfleet-{e}-worker-image"))
        .send()
        .await
        .unwrap();
    assert_eq!(f.code().and_then(|c| c.image_uri()), Some(image.as_str()));
    let c = f.configuration().unwrap();
    assert_eq!((c.memory_size(), c.timeout()), (Some(1024), Some(30)));
    let mappings = lambda
        .list_event_source_mappings()
        .function_name(format!("qfleet-{e}-worker-image"))
        .send()
        .await
        .unwrap();
    assert_eq!(mappings.event_source_mappings().len(), 1, "{mappings:?}");
    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto()
        .args(["teardown", "--yes", "--purge-bucket"])
        .arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// A function whose package cannot be built creates no stack: the package is built before the
/// first change on AWS. pip that cannot reach its index is the tool's trouble (exit 5, `tool`,
/// retry); a requirement no index has is the code's (exit 2, located at workers.lambda.code)
/// (issue 57).
#[tokio::test]
async fn an_unbuildable_package_creates_no_stack_and_says_whose_fault_it_is_on_moto() {
    let dir = tempfile::tempdir().unwrap();
    let conf = moto_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let code = dir.path().join("code");
    std::fs::create_dir(&code).unwrap();
    std::fs::write(code.join("job.py"), "def handler(e, c):\n    return {}\n").unwrap();
    for (name, requirements, want, kind) in [
        ("pkgnet", "humanize==4.17.0\n", 5, "tool"),
        ("pkgbad", "this is not a requirement !!\n", 2, "input"),
    ] {
        let e = unique(name);
        std::fs::write(code.join("requirements.txt"), requirements).unwrap();
        let file = dir.path().join(format!("{e}.yaml"));
        std::fs::write(
            &file,
            format!(
                "environment: {e}\nregion: eu-west-1\nlab: true\nqueue:\n  visibility_timeout: 2m\nworkers:\n  kind: lambda\n  lambda:\n    code: {}\n    handler: job.handler\n    timeout: 20s\n{MOTO_LAMBDA}",
                code.display()
            ),
        )
        .unwrap();
        // No package index: a closed port, and no retries.
        let o = run(qfleet_on_moto()
            .arg("deploy")
            .arg(&file)
            .args(["--yes", "-o", "json"])
            .env("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
            .env("PIP_RETRIES", "0")
            .env("PIP_TIMEOUT", "2")
            .env("PIP_NO_CACHE_DIR", "1"));
        assert_eq!(
            o.status.code(),
            Some(want),
            "{}\n{}",
            stdout(&o),
            stderr(&o)
        );
        let doc = document(&o);
        check_schema("deploy", &doc);
        let env = &doc["environments"][0];
        assert_eq!(env["exit_code"], want, "{doc}");
        assert_eq!(env["error"]["kind"], kind, "{doc}");
        assert!(
            env["stacks"].as_array().unwrap().is_empty(),
            "no stack was touched: {doc}"
        );
        for role in ["data", "fleet"] {
            let stack = format!("qfleet-{e}-{role}");
            assert!(!stack_exists(&cfn, &stack).await, "{stack} was created");
        }
    }
}
