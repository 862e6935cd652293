//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A `qfleet` command run from the repository root, with no AWS settings leaking in.
pub fn qfleet() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qfleet"));
    c.current_dir(root());
    c.env_remove("QFLEET_OUTPUT")
        .env_remove("QFLEET_STACKS_DIR");
    c
}

/// The document `qfleet render FILE -o json` prints, templates and all, checked against its
/// schema: in-process ([`qfleet::engine::render`]), the command's own path.
pub fn rendered(file: impl AsRef<Path>) -> serde_json::Value {
    let file = file.as_ref();
    let templates = qfleet::engine::render(&[file], None)
        .unwrap_or_else(|f| panic!("render {}: {f}", file.display()));
    check_schema("render", &templates.document);
    templates.document
}

/// The document `qfleet iam-policy FILE --account ACCOUNT -o json` prints, checked against its
/// schema: in-process ([`qfleet::engine::iam_policy`]), the command's own path.
pub fn policy_printed(file: impl AsRef<Path>, account: &str) -> serde_json::Value {
    let file = file.as_ref();
    let doc = qfleet::engine::iam_policy(&[file], account)
        .unwrap_or_else(|f| panic!("iam-policy {} --account {account}: {f}", file.display()));
    check_schema("iam-policy", &doc);
    doc
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("qfleet runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every stack file shipped in `stacks/`, `examples/` and `examples/lab/`.
pub fn shipped_stack_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["stacks", "examples", "examples/lab"] {
        for e in std::fs::read_dir(root().join(dir)).expect("directory exists") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// A tool from the environment variable `var`, else the first candidate that exists.
pub fn tool(var: &str, candidates: &[PathBuf], setup_hint: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(var) {
        return PathBuf::from(p);
    }
    for c in candidates {
        if c.is_file() {
            return c.clone();
        }
    }
    panic!("{var} is not set and none of {candidates:?} exists: {setup_hint}");
}

/// Where cargo installs `name` (scripts/setup-tools, as scripts/test runs it): `$CARGO_HOME/bin`
/// when CARGO_HOME is set, then `~/.cargo/bin`. Candidates for [`tool`].
pub fn cargo_bin(name: &str) -> Vec<PathBuf> {
    cargo_bin_in(
        std::env::var_os("CARGO_HOME"),
        std::env::var_os("HOME"),
        name,
    )
}

/// [`cargo_bin`] with CARGO_HOME and HOME given.
pub fn cargo_bin_in(
    cargo_home: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
    name: &str,
) -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(c) = cargo_home.filter(|c| !c.is_empty()) {
        candidates.push(PathBuf::from(c).join("bin").join(name));
    }
    let home = PathBuf::from(home.unwrap_or_default());
    candidates.push(home.join(".cargo/bin").join(name));
    candidates
}

/// The folder of the four Guard rule sets, looked up as scripts/setup-tools looks: the
/// folder QFLEET_GUARD_RULES names, else `../shared/guard/` beside the checkout when it
/// exists, else `.tools/guard-rules/` (where scripts/guard-rules fetches them).
pub fn guard_rules() -> PathBuf {
    guard_rules_in(std::env::var_os("QFLEET_GUARD_RULES"), root()).unwrap_or_else(|| {
        panic!(
            "no Guard rule sets: QFLEET_GUARD_RULES is not set and neither {} nor {} exists; run scripts/setup-tools (scripts/test runs it), which fetches them into .tools/guard-rules",
            root().join("../shared/guard").display(),
            root().join(".tools/guard-rules").display()
        )
    })
}

/// [`guard_rules`] with QFLEET_GUARD_RULES and the checkout given: `None` when no folder is
/// there.
pub fn guard_rules_in(var: Option<std::ffi::OsString>, root: &Path) -> Option<PathBuf> {
    if let Some(dir) = var.filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    [
        root.join("../shared/guard"),
        root.join(".tools/guard-rules"),
    ]
    .into_iter()
    .find(|dir| dir.is_dir())
}

/// The four Guard rule sets (`*.guard` in [`guard_rules`]), sorted.
pub fn guard_rule_sets() -> Vec<PathBuf> {
    let dir = guard_rules();
    let mut rule_sets: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (set QFLEET_GUARD_RULES, or run scripts/setup-tools)",
                dir.display()
            )
        })
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "guard"))
        .collect();
    rule_sets.sort();
    assert_eq!(
        rule_sets.len(),
        4,
        "expected the four rule sets in {}",
        dir.display()
    );
    rule_sets
}

/// The local AWS emulator's endpoint, started by the test command (scripts/test).
pub fn moto_endpoint() -> String {
    std::env::var("QFLEET_TEST_ENDPOINT").unwrap_or_else(|_| {
        panic!("QFLEET_TEST_ENDPOINT is not set: run the tests with scripts/test, which starts moto's server (scripts/local-aws)")
    })
}

/// LocalStack's endpoint, started by the test command (scripts/test, scripts/localstack).
pub fn localstack_endpoint() -> String {
    std::env::var("QFLEET_LOCALSTACK_ENDPOINT").unwrap_or_else(|_| {
        panic!("QFLEET_LOCALSTACK_ENDPOINT is not set: run the tests with scripts/test, which starts LocalStack (scripts/localstack)")
    })
}

/// `qfleet` pointed at the emulator with dummy credentials.
pub fn qfleet_on_moto() -> Command {
    let mut c = qfleet();
    c.env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "eu-west-1")
        .env_remove("AWS_PROFILE")
        .env("CI", "true");
    c
}

/// SDK configuration for the emulator, for checks behind qfleet's back.
/// The HTTP client of the tests' own SDK clients: the SDK's, with the TLS provider qfleet uses
/// (the SDK crates are built without a default client; see crates/qfleet-aws/src/https.rs).
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

pub async fn moto_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(crate::common::http_client())
        .endpoint_url(moto_endpoint())
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await
}

/// `name` made unique to this test run, so that a reused emulator's leftovers do not meet it.
pub fn unique(name: &str) -> String {
    format!("{name}-{}", std::process::id() % 100_000)
}

/// Writes a lab stack file for the environment `env` into `dir`.
pub fn lab_stack_file(dir: &Path, env: &str, extra: &str) -> PathBuf {
    let p = dir.join(format!("{env}.yaml"));
    std::fs::write(
        &p,
        format!(
            "environment: {env}\nregion: eu-west-1\nlab: true\nworkers:\n  min: 1\n  max: 2\n  public_ip: true\n{extra}"
        ),
    )
    .expect("stack file written");
    p
}

/// The newline-delimited JSON a command printed with `--output ndjson`, parsed: the events,
/// then the document (`"event": "summary"`).
pub fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The one JSON document a command printed with `--output json` (the whole of stdout), checked
/// against its command's schema in `schemas/output/`.
pub fn document(o: &Output) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\n{}",
            stdout(o),
            stderr(o)
        )
    });
    let command = v["command"]
        .as_str()
        .unwrap_or_else(|| panic!("no command in {v}"));
    check_schema(command, &v);
    v
}

/// Checks `doc` against `schemas/output/COMMAND.json`, naming every violation.
pub fn check_schema(command: &str, doc: &serde_json::Value) {
    let path = root().join(format!("schemas/output/{command}.json"));
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the schema exists"))
            .expect("the schema is JSON");
    let validator = jsonschema::options()
        .with_base_uri(format!("file://{}", path.display()))
        .build(&schema)
        .unwrap_or_else(|e| panic!("{}: not a valid schema: {e}", path.display()));
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{command} output does not match {}:\n{}\n{doc:#}",
        path.display(),
        errors.join("\n")
    );
}

/// Checks one live event (a line of `--output ndjson`) against the events the contract lists
/// (`schemas/output/common.json#/$defs/event`): an event the schema does not list fails.
pub fn check_event(event: &serde_json::Value) {
    let path = root().join("schemas/output/common.json");
    let common: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the schema exists"))
            .expect("the schema is JSON");
    let schema = serde_json::json!({ "$defs": common["$defs"], "$ref": "#/$defs/event" });
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(event)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "event not in the contract ({}): {}\n{event}",
        path.display(),
        errors.join("; ")
    );
}

/// Runs `cmd` (already holding `--output json`), expects `code`, and returns its document
/// (checked against the schema by `document`).
pub fn doc(cmd: &mut Command, code: i32) -> serde_json::Value {
    let o = run(cmd);
    assert_eq!(
        o.status.code(),
        Some(code),
        "{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    document(&o)
}

/// Deploys the stack files at once (`--yes`), and returns the document.
pub fn deploy_all(files: &[PathBuf]) -> serde_json::Value {
    doc(
        qfleet_on_moto()
            .arg("deploy")
            .args(files)
            .args(["--yes", "-o", "json"]),
        0,
    )
}

/// The top-level keys of a document, sorted.
pub fn top_level_keys(doc: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = doc
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// moto gap: its CloudFormation cannot delete an IAM role with managed policies attached (AWS
/// detaches them itself). Detaches them behind qfleet's back so a fleet or data stack can be
/// deleted.
pub fn moto_detach_role_policies(envs: &[&str]) {
    moto_detach_role_policies_in(None, envs)
}

/// [`moto_detach_role_policies`] in `account` (moto's own without one), as a target's.
pub fn moto_detach_role_policies_in(account: Option<&str>, envs: &[&str]) {
    // The fleet stacks' roles, and the data stack's (the job sweeper's with `jobs:`).
    let prefixes: Vec<String> = envs
        .iter()
        .flat_map(|e| [format!("qfleet-{e}-fleet"), format!("qfleet-{e}-data")])
        .collect();
    let in_account: Vec<&str> = account.map(|a| vec!["--account", a]).unwrap_or_default();
    let o = Command::new(root().join(".venv/bin/python"))
        .arg(root().join("tests/support/moto_detach_policies.py"))
        .arg(moto_endpoint())
        .args(&in_account)
        .args(&prefixes)
        .output()
        .expect("python runs");
    assert!(o.status.success(), "{}", stderr(&o));
}

/// The URL of the queue `name` on the emulator.
pub async fn queue_url(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    let out = sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .expect("the queue exists");
    out.queue_url().expect("a URL").to_string()
}

/// ApproximateNumberOfMessages of the queue `name`.
pub async fn visible_messages(sqs: &aws_sdk_sqs::Client, name: &str) -> u64 {
    let url = queue_url(sqs, name).await;
    let a = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .expect("attributes");
    a.attributes()
        .and_then(|m| m.values().next())
        .and_then(|v| v.parse().ok())
        .expect("a count")
}

/// Deploys a lab stack file for `env` (plus `extra` settings) to the emulator.
pub fn deploy_lab(dir: &Path, env: &str, extra: &str) -> PathBuf {
    let file = lab_stack_file(dir, env, extra);
    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    file
}

/// The stack exists (and is not deleted).
pub async fn stack_exists(cfn: &aws_sdk_cloudformation::Client, name: &str) -> bool {
    match cfn.describe_stacks().stack_name(name).send().await {
        Ok(o) => o
            .stacks()
            .iter()
            .any(|s| s.stack_status().map(|x| x.as_str()) != Some("DELETE_COMPLETE")),
        Err(_) => false,
    }
}

/// Sends a message to the queue `name`.
pub async fn send_job(sqs: &aws_sdk_sqs::Client, name: &str, body: &str) {
    let url = queue_url(sqs, name).await;
    sqs.send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .expect("sent");
}

/// Every message on the response queue, received and deleted.
pub async fn responses(sqs: &aws_sdk_sqs::Client, env: &str) -> Vec<serde_json::Value> {
    let url = queue_url(sqs, &format!("qfleet-{env}-responses")).await;
    let r = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for msg in r.messages() {
        out.push(serde_json::from_str(msg.body().unwrap()).unwrap());
        sqs.delete_message()
            .queue_url(&url)
            .receipt_handle(msg.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
    }
    out
}

/// A job record's history (`qfleet jobs … -o json`): each change's state and stage.
pub fn job_history(job: &serde_json::Value) -> Vec<(String, String)> {
    job["history"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["state"].as_str().unwrap_or_default().to_string(),
                c["stage"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Turns versioning on for `bucket`, as the data stack's template declares it: moto's
/// CloudFormation leaves the bucket's VersioningConfiguration unapplied.
pub async fn versioned(s3: &aws_sdk_s3::Client, bucket: &str) {
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning turned on");
}

/// Puts an object into the bucket.
pub async fn put_object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &'static [u8]) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(body))
        .send()
        .await
        .expect("object written");
}

/// The resource types the fleet stack holds now.
pub async fn fleet_types(
    cfn: &aws_sdk_cloudformation::Client,
    env: &str,
) -> std::collections::BTreeSet<String> {
    let out = cfn
        .list_stack_resources()
        .stack_name(format!("qfleet-{env}-fleet"))
        .send()
        .await
        .unwrap();
    out.stack_resource_summaries()
        .iter()
        .filter(|r| r.resource_status().map(|s| s.as_str()) != Some("DELETE_COMPLETE"))
        .filter_map(|r| r.resource_type().map(str::to_string))
        .collect()
}

/// Messages in the queue, visible or not.
pub async fn waiting(sqs: &aws_sdk_sqs::Client, name: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let url = queue_url(sqs, name).await;
    let a = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    a.attributes()
        .unwrap()
        .values()
        .map(|v| v.parse::<u64>().unwrap())
        .sum()
}

/// `qfleet deploy FILE --yes` on moto, which must succeed: its events.
pub fn deploy_on_moto(file: &Path) -> Vec<serde_json::Value> {
    let o = run(qfleet_on_moto()
        .arg("deploy")
        .arg(file)
        .args(["--yes", "-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    document(&o)["environments"][0]["events"]
        .as_array()
        .unwrap()
        .clone()
}

/// What a Lambda environment deployed on moto sets under `workers.lambda`. moto gap: its
/// CloudFormation has no AWS::Lambda::Alias nor AWS::CodeDeploy::Application or
/// DeploymentGroup (it skips them), so a queue mapping whose FunctionName is the alias fails
/// the stack (ExecuteChangeSet: InvalidParameterValueException "Missing FunctionName"). The
/// function then takes its jobs directly (`deployment: direct`); the alias, CodeDeploy and the
/// rollback alarms are proven by render (crates/qfleet-engine/src/render/tests/lambda_rollback.rs).
pub const MOTO_LAMBDA: &str = "    deployment: direct\n";

/// A lab stack file of one kind of workers: `ec2` (one to two instances), `lambda` (the
/// reference handler, at most 3 at once) or `fargate` (a public image, zero to four tasks,
/// half on Spot, started from zero).
pub fn kind_stack_file(dir: &Path, env: &str, kind: &str) -> PathBuf {
    let workers = match kind {
        // Target tracking's own scale-in: moto 5.2.5 supports neither scaling policies nor
        // alarms in CloudFormation, and its update raises once it needed its fifth pass to
        // remove resources in dependency order (MAX_UPDATE_ATTEMPTS), which the two more of
        // qfleet's scale-in policy and alarm bring about in the switch to Lambda. The switch,
        // not the scale-in, is what these tests are about; the policy is tested rendered.
        "fargate" => "workers:\n  kind: fargate\n  image: public.ecr.aws/docker/library/python:3.12\n  min: 0\n  max: 4\n  public_ip: true\n  spot: {percent: 50}\nscaling:\n  scale_from_zero: true\n  scale_in: {policy: target_tracking}\n".to_string(),
        // moto gap: its CloudFormation has no AWS::Lambda::Alias (nor AWS::CodeDeploy::*): a
        // queue mapping on the alias fails the stack ("Missing FunctionName"), so the function
        // takes its jobs directly ([`MOTO_LAMBDA`]).
        "lambda" => format!(
            "workers:\n  kind: lambda\n  lambda:\n    timeout: 10s\n    max_concurrency: 3\n{MOTO_LAMBDA}"
        ),
        _ => "workers:\n  min: 1\n  max: 2\n  public_ip: true\n".to_string(),
    };
    let p = dir.join(format!("{env}.yaml"));
    std::fs::write(
        &p,
        format!("environment: {env}\nregion: eu-west-1\nlab: true\n{workers}"),
    )
    .unwrap();
    p
}

/// Deploys `file` on moto, which must switch the workers from `from` to `to`: the preview's
/// switch event names both and says the new kind is created first.
pub fn switch_on_moto(file: &Path, from: &str, to: &str) {
    let events = deploy_on_moto(file);
    let switch = events
        .iter()
        .find(|v| v["event"] == "switch")
        .unwrap_or_else(|| panic!("no switch event for {to}: {events:?}"));
    assert_eq!(switch["from"], from);
    assert_eq!(switch["to"], to);
    assert!(
        switch["message"]
            .as_str()
            .unwrap()
            .contains("first creates"),
        "{switch}"
    );
}

/// CloudWatch Logs on an emulator, written as the workers' writers write it
/// (tests/support/logs.py: qfleet has no Logs SDK crate to lend the tests).
pub struct Logs {
    endpoint: String,
}

impl Logs {
    pub fn new(endpoint: String) -> Logs {
        Logs { endpoint }
    }

    fn run(&self, args: &[&str]) {
        let o = Command::new(root().join(".venv/bin/python"))
            .arg(root().join("tests/support/logs.py"))
            .arg(&self.endpoint)
            .args(args)
            .output()
            .expect("python runs");
        assert!(o.status.success(), "{}", stderr(&o));
    }

    /// Creates the log group.
    pub fn create_group(&self, group: &str) {
        self.run(&["group", group]);
    }

    /// Writes `lines` to `stream` of `group` (the stream created if needed), stamped now.
    pub fn write(&self, group: &str, stream: &str, lines: &[&str]) {
        let mut args = vec!["write", group, stream];
        args.extend_from_slice(lines);
        self.run(&args);
    }
}
