//! `workers.kind: lambda`: the function's settings, their limits (AWS's), and no setting of the
//! other kind.

use super::*;
use crate::config::Error;
use crate::package;

fn parse_at(dir: &Path, yaml: &str) -> Result<LoadedFile> {
    parse(dir.join("t.yaml"), yaml.to_string())
}

fn parse_str(yaml: &str) -> Result<LoadedFile> {
    parse(PathBuf::from("stacks/t.yaml"), yaml.to_string())
}

/// The one error of an invalid stack file, checked for field and line.
fn error(yaml: &str, field: &str, line: usize) -> InputError {
    let list = match parse_str(yaml) {
        Ok(_) => panic!("expected an error for:\n{yaml}"),
        Err(Error::Input(list)) => list,
        Err(other) => panic!("expected input errors, got {other:?}"),
    };
    assert_eq!(list.len(), 1, "expected one error, got {list:#?}");
    let e = list.into_iter().next().unwrap();
    assert_eq!((e.field.as_str(), e.line), (field, line), "{e}");
    e
}

const LAMBDA: &str = "region: eu-west-1\nworkers:\n  kind: lambda\n";

#[test]
fn a_lambda_file_gets_the_reference_handler_and_defaults_that_fit_together() {
    let env = parse_str(LAMBDA).unwrap().into_only();
    let l = &env.spec.workers.lambda;
    assert_eq!(env.spec.workers.kind, schema::WorkerKind::Lambda);
    assert_eq!(
        (l.runtime.as_str(), l.memory_mb, l.timeout.0),
        ("python3.12", 256, 10)
    );
    assert_eq!((l.batch_size, l.max_concurrency), (10, 5));
    // The default queue visibility (60 s) is six times the default timeout.
    assert!(env.spec.queue.visibility_timeout.0 >= 6 * l.timeout.0);
    let code = env.function_code.unwrap();
    assert_eq!(code.handler, "index.handler");
    assert_eq!(code.text, package::REFERENCE_HANDLER);
}

#[test]
fn an_ec2_setting_with_a_function_is_an_error_at_its_line() {
    let e = error(
        "region: eu-west-1\nworkers:\n  kind: lambda\n  instance_type: t3.micro\n",
        "workers.instance_type",
        4,
    );
    assert!(e.message.contains("EC2 workers only"), "{e}");
    let e = error(
        "region: eu-west-1\nworkers:\n  kind: lambda\nscaling:\n  scale_from_zero: true\n",
        "scaling",
        4,
    );
    assert!(e.message.contains("max_concurrency"), "{e}");
}

#[test]
fn lambda_settings_with_ec2_workers_are_an_error() {
    let e = error(
        "region: eu-west-1\nworkers:\n  lambda:\n    memory_mb: 512\n",
        "workers.lambda",
        3,
    );
    assert!(e.message.contains("workers.kind: lambda only"), "{e}");
}

#[test]
fn the_queue_visibility_is_at_least_six_function_timeouts_as_aws_documents() {
    let e = error(
        &format!("{LAMBDA}  lambda:\n    timeout: 30s\n"),
        "queue.visibility_timeout",
        1,
    );
    assert!(e.message.contains("at least 180s"), "{e}");
    parse_str(&format!(
        "{LAMBDA}  lambda:\n    timeout: 30s\nqueue:\n  visibility_timeout: 3m\n"
    ))
    .unwrap();
}

#[test]
fn batch_limits_follow_the_sqs_event_source_as_aws_documents() {
    let e = error(
        &format!("{LAMBDA}  lambda:\n    batch_size: 100\n"),
        "workers.lambda.batch_size",
        5,
    );
    assert!(e.message.contains("batching_window"), "{e}");
    parse_str(&format!(
        "{LAMBDA}  lambda:\n    batch_size: 100\n    batching_window: 5s\n"
    ))
    .unwrap();
    error(
        &format!("{LAMBDA}  lambda:\n    max_concurrency: 1\n"),
        "workers.lambda.max_concurrency",
        5,
    );
    error(
        &format!("{LAMBDA}  lambda:\n    timeout: 16m\nqueue:\n  visibility_timeout: 12h\n"),
        "workers.lambda.timeout",
        5,
    );
}

#[test]
fn reserved_concurrency_below_the_cap_and_unknown_runtimes_are_errors() {
    let e = error(
        &format!("{LAMBDA}  lambda:\n    reserved_concurrency: 2\n"),
        "workers.lambda.reserved_concurrency",
        5,
    );
    assert!(e.message.contains("max_concurrency (5)"), "{e}");
    error(
        &format!("{LAMBDA}  lambda:\n    runtime: python2.7\n"),
        "workers.lambda.runtime",
        5,
    );
    error(
        &format!("{LAMBDA}  lambda:\n    log_retention_days: 10\n"),
        "workers.lambda.log_retention_days",
        5,
    );
}

#[test]
fn a_code_directory_is_one_source_file_named_after_the_handler() {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("fn");
    std::fs::create_dir(&code).unwrap();
    std::fs::write(
        code.join("job.py"),
        "def run(event, context):\n    return {}\n",
    )
    .unwrap();
    std::fs::write(code.join("test_job.py"), "def test(): pass\n").unwrap();
    std::fs::write(code.join("README.md"), "# job\n").unwrap();
    let yaml = format!("{LAMBDA}  lambda:\n    code: fn\n    handler: job.run\n");
    let env = parse_at(dir.path(), &yaml).unwrap().into_only();
    let c = env.function_code.unwrap();
    assert_eq!(c.handler, "index.run");
    assert!(c.text.contains("def run"));

    // The handler's module must be there.
    let wrong = format!("{LAMBDA}  lambda:\n    code: fn\n    handler: other.run\n");
    let Err(Error::Input(e)) = parse_at(dir.path(), &wrong) else {
        panic!("expected an error")
    };
    assert_eq!(e[0].field, "workers.lambda.code");
    assert!(e[0].message.contains("no other.py"), "{}", e[0]);

    // Two source files do not go inline: they are a deployment package, the handler as the
    // stack file says it.
    std::fs::write(code.join("helpers.py"), "X = 1\n").unwrap();
    let c = parse_at(dir.path(), &yaml)
        .unwrap()
        .into_only()
        .function_code
        .unwrap();
    assert_eq!((c.handler.as_str(), c.text.as_str()), ("job.run", ""));
    let p = c.package.unwrap();
    assert!(p.key().starts_with("lambda/") && p.key().ends_with(".zip"));
    assert!(matches!(
        p.source,
        package::Source::Directory {
            installer: None,
            ..
        }
    ));

    // A package still needs the handler's module.
    let Err(Error::Input(e)) = parse_at(dir.path(), &wrong) else {
        panic!("expected an error")
    };
    assert_eq!(e[0].field, "workers.lambda.code");
    assert!(e[0].message.contains("no other.py"), "{}", e[0]);
}

/// A directory with a requirements.txt is a package whose dependencies pip installs (the
/// key is known offline: validate and render never build), and a .zip file is taken as it is.
#[test]
fn requirements_or_a_zip_file_make_a_deployment_package_known_offline() {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("fn");
    std::fs::create_dir(&code).unwrap();
    std::fs::write(code.join("job.py"), "import six\ndef run(e, c): pass\n").unwrap();
    std::fs::write(code.join("requirements.txt"), "six==1.17.0\n").unwrap();
    let yaml = format!("{LAMBDA}  lambda:\n    code: fn\n    handler: job.run\n");
    let p = parse_at(dir.path(), &yaml)
        .unwrap()
        .into_only()
        .function_code
        .unwrap()
        .package
        .unwrap();
    let package::Source::Directory { installer, .. } = &p.source else {
        panic!("expected a directory: {p:?}")
    };
    assert_eq!(
        installer,
        &Some(package::Installer::Pip {
            python_version: "3.12".into()
        })
    );

    // Node.js: package.json, with or without its lockfile.
    std::fs::write(code.join("job.js"), "exports.run = async () => ({});\n").unwrap();
    std::fs::write(code.join("package.json"), "{}\n").unwrap();
    let node =
        format!("{LAMBDA}  lambda:\n    code: fn\n    runtime: nodejs24.x\n    handler: job.run\n");
    let p = parse_at(dir.path(), &node)
        .unwrap()
        .into_only()
        .function_code
        .unwrap()
        .package
        .unwrap();
    let package::Source::Directory { installer, .. } = &p.source else {
        panic!("expected a directory: {p:?}")
    };
    assert_eq!(
        installer,
        &Some(package::Installer::Npm { lockfile: false })
    );

    // A .zip file: its SHA-256 is the key; one without the handler's module is an error at
    // the field's line.
    let zip = package::deterministic_zip(vec![(
        "job.py".into(),
        b"def run(e, c): pass\n".to_vec(),
        false,
    )])
    .unwrap();
    std::fs::write(dir.path().join("fn.zip"), &zip).unwrap();
    let z = format!("{LAMBDA}  lambda:\n    code: fn.zip\n    handler: job.run\n");
    let c = parse_at(dir.path(), &z)
        .unwrap()
        .into_only()
        .function_code
        .unwrap();
    assert_eq!(c.handler, "job.run");
    assert!(matches!(c.package.unwrap().source, package::Source::Zip(_)));
    let z = format!("{LAMBDA}  lambda:\n    code: fn.zip\n    handler: other.run\n");
    let Err(Error::Input(e)) = parse_at(dir.path(), &z) else {
        panic!("expected an error")
    };
    assert_eq!((e[0].field.as_str(), e[0].line), ("workers.lambda.code", 5));
    assert!(e[0].message.contains("no other.py at its root"), "{}", e[0]);
}

#[test]
fn a_custom_handler_without_code_is_an_error() {
    error(
        &format!("{LAMBDA}  lambda:\n    handler: mine.run\n"),
        "workers.lambda.handler",
        5,
    );
}

/// Inline Node.js code is written by CloudFormation as `index.js` (the ZipFile property,
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-function-code.html),
/// and Lambda loads a `.js` file without a package.json of `"type": "module"` as CommonJS
/// (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html): an ES module handler
/// would fail at its first invocation, so it is refused at validate time.
#[test]
fn inline_node_code_with_es_module_syntax_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("fn");
    std::fs::create_dir(&code).unwrap();
    let yaml =
        format!("{LAMBDA}  lambda:\n    code: fn\n    runtime: nodejs24.x\n    handler: job.run\n");
    std::fs::write(
        code.join("job.js"),
        "const { S3Client } = require('@aws-sdk/client-s3');\nconst later = () => import('node:fs');\nexports.run = async (event) => ({});\n",
    )
    .unwrap();
    let env = parse_at(dir.path(), &yaml).unwrap().into_only();
    assert_eq!(env.function_code.unwrap().handler, "index.run");

    std::fs::write(
        code.join("job.js"),
        "// the handler\nimport { S3Client } from '@aws-sdk/client-s3';\nexport const run = async (event) => ({});\n",
    )
    .unwrap();
    let Err(Error::Input(e)) = parse_at(dir.path(), &yaml) else {
        panic!("expected an error")
    };
    assert_eq!(e[0].field, "workers.lambda.code");
    assert!(e[0].message.contains("job.js:2"), "{}", e[0]);
    assert!(e[0].message.contains("exports.run"), "{}", e[0]);
}

/// Provisioned mode's rules for SQS (the CloudFormation and Lambda API references: minimum 2
/// to 200, maximum 2 to 2000; "mutually exclusive" with maximum concurrency).
#[test]
fn provisioned_pollers_are_within_aws_ranges_in_order_and_not_with_max_concurrency() {
    let env = parse_str(&format!(
        "{LAMBDA}  lambda:\n    provisioned_pollers: {{minimum: 2, maximum: 2000}}\n"
    ))
    .unwrap()
    .into_only();
    let p = env.spec.workers.lambda.provisioned_pollers.unwrap();
    assert_eq!(
        (p.minimum, p.maximum, p.max_invocations()),
        (2, 2000, 20_000)
    );
    assert!(
        parse_str(&format!("{LAMBDA}  lambda:\n    provisioned_pollers: ~\n"))
            .unwrap()
            .into_only()
            .spec
            .workers
            .lambda
            .provisioned_pollers
            .is_none()
    );
    let e = error(
        &format!(
            "{LAMBDA}  lambda:\n    provisioned_pollers:\n      minimum: 1\n      maximum: 10\n"
        ),
        "workers.lambda.provisioned_pollers.minimum",
        6,
    );
    assert!(e.message.contains("out of range (2 to 200)"), "{e}");
    let e = error(
        &format!(
            "{LAMBDA}  lambda:\n    provisioned_pollers:\n      minimum: 2\n      maximum: 2001\n"
        ),
        "workers.lambda.provisioned_pollers.maximum",
        7,
    );
    assert!(e.message.contains("out of range (2 to 2000)"), "{e}");
    let e = error(
        &format!(
            "{LAMBDA}  lambda:\n    provisioned_pollers:\n      minimum: 20\n      maximum: 10\n"
        ),
        "workers.lambda.provisioned_pollers.minimum",
        6,
    );
    assert!(
        e.message
            .contains("greater than provisioned_pollers.maximum (10)"),
        "{e}"
    );
    let e = error(
        &format!(
            "{LAMBDA}  lambda:\n    max_concurrency: 50\n    provisioned_pollers: {{minimum: 2, maximum: 10}}\n"
        ),
        "workers.lambda.max_concurrency",
        5,
    );
    assert!(e.message.contains("mutually exclusive"), "{e}");
    // Both bounds are the user's to choose (the minimum is billed all the time).
    let e = error(
        &format!("{LAMBDA}  lambda:\n    provisioned_pollers: {{minimum: 2}}\n"),
        "workers.lambda.provisioned_pollers.maximum",
        5,
    );
    assert!(e.message.contains("missing field `maximum`"), "{e}");
    // Reserved concurrency below what the maximum pollers run throttles batches.
    let e = error(
        &format!(
            "{LAMBDA}  lambda:\n    reserved_concurrency: 50\n    provisioned_pollers: {{minimum: 2, maximum: 10}}\n"
        ),
        "workers.lambda.reserved_concurrency",
        5,
    );
    assert!(
        e.message
            .contains("10 × workers.lambda.provisioned_pollers.maximum (100)"),
        "{e}"
    );
}

/// A digest-pinned image in the stack's Region, as AWS's container image page requires.
const IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/resizer@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn an_image_function_has_no_code_of_qfleets_and_no_warning_with_a_digest() {
    let env = parse_str(&format!("{LAMBDA}  lambda:\n    image: {IMAGE}\n"))
        .unwrap()
        .into_only();
    assert_eq!(
        env.spec.workers.lambda.image.as_ref().and_then(|i| i.uri()),
        Some(IMAGE)
    );
    assert!(
        env.function_code.is_none(),
        "nothing to read, inline or package"
    );
    assert_eq!(
        env.spec.workers.lambda.architecture,
        schema::Architecture::X86_64
    );
    let w = warnings::warnings(&env);
    assert!(!w.iter().any(|w| w.contains("workers.lambda")), "{w:?}");
}

/// UpdateFunctionCode: "Lambda resolves the image tag to an image digest. In Amazon ECR, if you
/// update the image tag to a new image, Lambda does not automatically update the function."
#[test]
fn an_image_named_by_tag_is_a_warning_that_a_re_pushed_tag_is_not_deployed() {
    let env = parse_str(&format!(
        "{LAMBDA}  lambda:\n    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/resizer:1.4\n"
    ))
    .unwrap()
    .into_only();
    let w = warnings::warnings(&env);
    assert!(
        w.iter()
            .any(|w| w.contains("names a tag") && w.contains("@sha256:")),
        "{w:?}"
    );
}

#[test]
fn an_image_goes_without_code_runtime_and_handler() {
    for (key, value, line) in [
        ("code", "lambda", 6),
        ("runtime", "python3.13", 6),
        ("handler", "app.handler", 6),
    ] {
        let e = error(
            &format!("{LAMBDA}  lambda:\n    image: {IMAGE}\n    {key}: {value}\n"),
            &format!("workers.lambda.{key}"),
            line,
        );
        assert!(e.message.contains("carries its own"), "{e}");
    }
}

#[test]
fn image_overrides_without_an_image_are_an_error() {
    let e = error(
        &format!("{LAMBDA}  lambda:\n    command: [app.handler]\n"),
        "workers.lambda.command",
        5,
    );
    assert!(e.message.contains("container image function only"), "{e}");
    let e = error(
        &format!("{LAMBDA}  lambda:\n    architecture: arm64\n"),
        "workers.lambda.architecture",
        5,
    );
    assert!(e.message.contains("workers.lambda.image"), "{e}");
}

/// Lambda takes images only from an Amazon ECR private repository in the function's Region,
/// and not through an ECR FIPS endpoint (Lambda developer guide, container images).
#[test]
fn an_image_outside_ecr_or_in_another_region_is_an_error_saying_what_lambda_takes() {
    for (uri, says) in [
        (
            "public.ecr.aws/acme/worker:1.4",
            "Amazon ECR private repository",
        ),
        (
            "docker.io/library/python:3.12",
            "Amazon ECR private repository",
        ),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/worker:1.4",
            "in us-east-1, the function in eu-west-1",
        ),
        (
            "123456789012.dkr.ecr-fips.eu-west-1.amazonaws.com/worker:1.4",
            "FIPS",
        ),
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com.example.org/worker:1.4",
            ".ecr.eu-west-1.amazonaws.com",
        ),
        ("worker:1.4", "names no registry"),
    ] {
        let e = error(
            &format!("{LAMBDA}  lambda:\n    image: {uri}\n"),
            "workers.lambda.image",
            5,
        );
        assert!(e.message.contains(says), "{uri}: {e}");
        assert!(e.allowed.as_deref().unwrap_or("").contains("ECR"), "{e:?}");
    }
}

/// AWS::Lambda::Function ImageConfig: Command and EntryPoint take each string once.
#[test]
fn image_overrides_are_checked_as_cloudformation_takes_them() {
    let env = parse_str(&format!(
        "{LAMBDA}  lambda:\n    image: {IMAGE}\n    command: [app.handler]\n    entry_point: [/lambda-entrypoint.sh]\n    architecture: arm64\n"
    ))
    .unwrap()
    .into_only();
    let l = &env.spec.workers.lambda;
    assert_eq!(l.command.as_deref(), Some(&["app.handler".to_string()][..]));
    assert_eq!(l.architecture, schema::Architecture::Arm64);
    let e = error(
        &format!("{LAMBDA}  lambda:\n    image: {IMAGE}\n    command: [a, a]\n"),
        "workers.lambda.command",
        6,
    );
    assert!(e.message.contains("twice"), "{e}");
    let e = error(
        &format!("{LAMBDA}  lambda:\n    image: {IMAGE}\n    entry_point: []\n"),
        "workers.lambda.entry_point",
        6,
    );
    assert!(e.message.contains("1 to 1500"), "{e}");
}

#[test]
fn a_high_resolution_metric_is_refused_for_a_function_at_its_line() {
    let e = error(
        "region: eu-west-1\nworkers:\n  kind: lambda\nscaling:\n  metric: high_resolution\n",
        "scaling.metric",
        5,
    );
    assert!(e.message.contains("EC2 workers only"), "{e}");
    assert!(e.message.contains("allowed"), "{e}");
}

/// A build context above 500 MiB is warned about, naming the field, its size and what to do;
/// one at the limit is not.
#[test]
fn a_build_context_above_500_mib_is_a_warning_naming_its_size() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let file = dir.path().join("ctx.yaml");
    std::fs::write(
        &file,
        "environment: ctx\nregion: eu-west-1\nlab: true\nworkers:\n  kind: fargate\n  image:\n    build: {}\n",
    )
    .unwrap();
    let mut env = crate::config::load(&file).unwrap().into_only();
    let said = |env: &Environment| -> Vec<String> {
        warnings::warnings(env)
            .into_iter()
            .filter(|w| w.contains("build context"))
            .collect()
    };
    assert!(said(&env).is_empty(), "a small context");
    let limit = package::image::CONTEXT_WARNING_BYTES;
    env.image_build.as_mut().unwrap().bytes = limit;
    assert!(said(&env).is_empty(), "at the limit");
    env.image_build.as_mut().unwrap().bytes = limit + 1024 * 1024 * 1024;
    let w = said(&env);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("workers.image.build: the build context")
            && w[0].contains("1524 MiB")
            && w[0].contains(".dockerignore"),
        "{w:?}"
    );
}

/// Issue 86: a command that neither builds nor renders never reads a build's context. A file
/// whose context is not there loads for it (the build known, its tag not), where a command
/// that needs the tag is told the context cannot be read.
#[test]
fn a_file_loaded_without_its_build_contexts_never_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ctx.yaml");
    std::fs::write(
        &file,
        "environment: ctx\nregion: eu-west-1\nlab: true\nworkers:\n  kind: fargate\n  image:\n    build: {context: gone}\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let err = crate::config::load(&file).unwrap_err().to_string();
    assert!(err.contains("is not a directory"), "{err}");
    let loaded =
        crate::config::parse_reading(file.clone(), text, crate::config::Reading::NoBuildContexts)
            .unwrap()
            .into_only();
    let b = loaded.image_build.as_ref().expect("the build is known");
    assert!(b.unread && b.tag.is_empty() && b.files == 0, "{b:?}");
    assert_eq!(b.context, dir.path().join("gone"));
    // Nothing names an image whose tag is unknown.
    assert!(crate::config::workers_image(&loaded).is_none());
    let files = crate::config::StackFiles::reading(crate::config::Reading::NoBuildContexts);
    assert!(files.load(&file).is_ok());
}

/// A function on Lambda Managed Instances: lines 1 to 12, its settings from line 13.
const MANAGED: &str = "region: eu-west-1
workers:
  kind: lambda
  network:
    vpc: vpc-0a1b2c3d4e5f67890
    subnets:
      eu-west-1a: subnet-0a1b2c3d4e5f67890
      eu-west-1b: subnet-1a1b2c3d4e5f67890
  lambda:
    runtime: python3.13
    memory_mb: 2048
    managed_instances:
";

fn managed(extra: &str) -> String {
    format!("{MANAGED}{extra}")
}

#[test]
fn managed_instances_are_off_by_default_and_on_with_the_block_alone() {
    let env = parse_str(LAMBDA).unwrap().into_only();
    assert!(env.spec.workers.lambda.managed_instances.is_none());
    let env = parse_str(&managed("      {}\n")).unwrap().into_only();
    assert!(
        env.kind()
            .describe(&env)
            .contains("(2048 MB, 10 s) on managed instances, batches")
    );
    let m = env.spec.workers.lambda.managed_instances.unwrap();
    assert_eq!(
        (
            m.instance_types,
            m.max_vcpus,
            m.memory_per_vcpu,
            m.per_environment
        ),
        (None, None, None, None)
    );
    let env = parse_str(&managed(
        "      instance_types: [m7g.large, c7g.*]\n      max_vcpus: 64\n      memory_per_vcpu: 2\n      per_environment: 16\n",
    ))
    .unwrap()
    .into_only();
    // validate and plan say it in the workers' line.
    assert!(
        env.kind().describe(&env).contains(
            "(2048 MB, 10 s) on managed instances (at most 64 vCPUs, 2 GiB per vCPU, 16 at once per execution environment), batches of 10"
        ),
        "{}",
        env.kind().describe(&env)
    );
    let m = env.spec.workers.lambda.managed_instances.unwrap();
    assert_eq!(m.instance_types.unwrap(), ["m7g.large", "c7g.*"]);
    assert_eq!(
        (m.max_vcpus, m.memory_per_vcpu, m.per_environment),
        (Some(64), Some(2), Some(16))
    );
}

#[test]
fn managed_instances_limits_are_aws_ranges_at_their_lines() {
    // MaxVCpuCount: 2 to 15,000; PerExecutionEnvironmentMaxConcurrency: 1 to 1,600.
    for ok in [
        "max_vcpus: 2",
        "max_vcpus: 15000",
        "per_environment: 1",
        "per_environment: 1600",
    ] {
        parse_str(&managed(&format!("      {ok}\n"))).unwrap_or_else(|e| panic!("{ok}: {e:?}"));
    }
    for (bad, field, range) in [
        ("max_vcpus: 1", "max_vcpus", "(2 to 15000)"),
        ("max_vcpus: 15001", "max_vcpus", "(2 to 15000)"),
        ("per_environment: 0", "per_environment", "(1 to 1600)"),
        ("per_environment: 1601", "per_environment", "(1 to 1600)"),
    ] {
        let e = error(
            &managed(&format!("      {bad}\n")),
            &format!("workers.lambda.managed_instances.{field}"),
            13,
        );
        assert!(e.message.contains(range), "{bad}: {e}");
    }
}

#[test]
fn memory_per_vcpu_is_2_4_or_8_and_the_memory_a_whole_number_of_vcpus_of_at_least_2_gb() {
    for (ratio, memory) in [(2, 2048), (2, 4096), (4, 4096), (4, 8192), (8, 8192)] {
        let yaml = managed(&format!("      memory_per_vcpu: {ratio}\n"))
            .replace("memory_mb: 2048", &format!("memory_mb: {memory}"));
        parse_str(&yaml).unwrap_or_else(|e| panic!("{ratio}/{memory}: {e:?}"));
    }
    for bad in [1, 3, 6, 16] {
        let e = error(
            &managed(&format!("      memory_per_vcpu: {bad}\n")),
            "workers.lambda.managed_instances.memory_per_vcpu",
            13,
        );
        assert!(e.message.contains("2, 4 or 8"), "{e}");
    }
    // Below 2 GB, below one vCPU at the ratio, or not a whole number of vCPUs.
    for (ratio, memory) in [
        (2, 1024),
        (2, 3072),
        (4, 2048),
        (4, 6144),
        (8, 4096),
        (8, 10240),
    ] {
        let yaml = managed(&format!("      memory_per_vcpu: {ratio}\n"))
            .replace("memory_mb: 2048", &format!("memory_mb: {memory}"));
        let e = error(&yaml, "workers.lambda.memory_mb", 11);
        assert!(e.message.contains("at least 2 GB and 1 vCPU"), "{e}");
    }
    // Without memory_per_vcpu the function still has at least 2 GB.
    let e = error(
        &managed("      {}\n").replace("memory_mb: 2048", "memory_mb: 1024"),
        "workers.lambda.memory_mb",
        11,
    );
    assert!(e.message.contains("at least 2048 MB"), "{e}");
}

#[test]
fn managed_instances_take_the_runtimes_aws_lists_for_them() {
    for ok in ["python3.13", "python3.14", "nodejs22.x", "nodejs24.x"] {
        assert!(crate::config::checks::lambda::managed_runtime(ok), "{ok}");
    }
    for bad in [
        "python3.12",
        "python3.9",
        "nodejs20.x",
        "nodejs",
        "java21",
        "python3.x",
    ] {
        assert!(
            !crate::config::checks::lambda::managed_runtime(bad),
            "{bad}"
        );
    }
    let e = error(
        &managed("      {}\n").replace("python3.13", "python3.12"),
        "workers.lambda.runtime",
        10,
    );
    assert!(e.message.contains("python3.13 or later"), "{e}");
}

#[test]
fn managed_instances_need_the_stages_network() {
    let yaml = "region: eu-west-1\nworkers:\n  kind: lambda\n  lambda:\n    runtime: python3.13\n    memory_mb: 2048\n    managed_instances: {}\n";
    let e = error(yaml, "workers.lambda.managed_instances", 7);
    assert!(e.message.contains("workers.network"), "{e}");
    // A capacity provider takes at most 5 security groups, qfleet's own among them.
    let four = managed("      {}\n").replace(
        "  lambda:\n",
        "  security_groups: [sg-11234567, sg-21234567, sg-31234567, sg-41234567]\n  lambda:\n",
    );
    parse_str(&four).unwrap();
    let five = managed("      {}\n").replace(
        "  lambda:\n",
        "  security_groups: [sg-11234567, sg-21234567, sg-31234567, sg-41234567, sg-51234567]\n  lambda:\n",
    );
    let e = error(&five, "workers.security_groups", 9);
    assert!(e.message.contains("at most 5 security groups"), "{e}");
}

#[test]
fn managed_instances_refuse_direct_deployment_and_reserved_concurrency() {
    let e = error(
        &managed("      {}\n").replace("  lambda:\n", "  lambda:\n    deployment: direct\n"),
        "workers.lambda.deployment",
        10,
    );
    assert!(e.message.contains("published versions only"), "{e}");
    let e = error(
        &managed("      {}\n").replace("  lambda:\n", "  lambda:\n    reserved_concurrency: 20\n"),
        "workers.lambda.reserved_concurrency",
        10,
    );
    assert!(e.message.contains("managed_instances"), "{e}");
    // Provisioned pollers feed it as they feed any function.
    parse_str(&managed("      {}\n").replace(
        "  lambda:\n",
        "  lambda:\n    provisioned_pollers: {minimum: 2, maximum: 10}\n",
    ))
    .unwrap();
}

#[test]
fn a_managed_function_may_run_90_minutes_a_default_one_15() {
    let long = "queue:\n  visibility_timeout: 12h\n";
    let yaml = format!(
        "{long}{}",
        managed("      {}\n").replace("  lambda:\n", "  lambda:\n    timeout: 90m\n")
    );
    let env = parse_str(&yaml).unwrap().into_only();
    assert_eq!(env.spec.workers.lambda.timeout.0, 5_400);
    let e = error(
        &yaml.replace("timeout: 90m", "timeout: 5401s"),
        "workers.lambda.timeout",
        12,
    );
    assert!(e.message.contains("(1s to 5400s)"), "{e}");
    let e = error(
        &format!("{long}{LAMBDA}  lambda:\n    timeout: 16m\n"),
        "workers.lambda.timeout",
        7,
    );
    assert!(e.message.contains("(1s to 900s)"), "{e}");
}

#[test]
fn instance_types_are_1_to_400_names_cloudformation_takes() {
    parse_str(&managed(
        "      instance_types: [m7g.large, c7g.*, r7i.2xlarge]\n",
    ))
    .unwrap();
    for bad in [
        "[]",
        "[\"m7g large\"]",
        "[m7g.large_]",
        "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]",
    ] {
        let e = error(
            &managed(&format!("      instance_types: {bad}\n")),
            "workers.lambda.managed_instances.instance_types",
            13,
        );
        assert!(e.message.contains("instance type"), "{bad}: {e}");
    }
    let many: Vec<String> = (0..401).map(|i| format!("m{i}.large")).collect();
    let e = error(
        &managed(&format!("      instance_types: [{}]\n", many.join(", "))),
        "workers.lambda.managed_instances.instance_types",
        13,
    );
    assert!(e.message.contains("give 1 to 400"), "{e}");
}
