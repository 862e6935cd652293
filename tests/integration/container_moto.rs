//! A container worker run on this machine the way a qfleet instance runs it: the reference
//! worker's image (built by scripts/worker-image, no registry needed), started with the
//! command line of the rendered `qfleet-worker` unit (podman with runc standing in for Docker,
//! the journal log driver left out), the environment file the user data writes, and the
//! declared secret read by qfleet-secrets, against moto's queue, bucket and Secrets Manager.

use crate::common::*;
use std::io::BufRead;
use std::process::{Command, Stdio};

/// A process stopped when the test ends, passed or failed.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The text between `start` and `end` in `text`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    text.split(start)
        .nth(1)
        .unwrap_or_else(|| panic!("no {start}"))
        .split(end)
        .next()
        .unwrap()
}

#[tokio::test]
async fn a_container_worker_takes_a_job_with_the_env_file_and_secrets_qfleet_writes() {
    let built = run(&mut Command::new(root().join("scripts/worker-image")));
    assert!(built.status.success(), "{}", stderr(&built));
    let image = stdout(&built).trim().to_string();

    let dir = tempfile::tempdir().unwrap();
    let e = unique("it-box");
    let text = std::fs::read_to_string(root().join("examples/container.yaml"))
        .unwrap()
        .replace("environment: container", &format!("environment: {e}"));
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(&file, text).unwrap();
    let ud = crate::user_data::user_data(file.to_str().unwrap());

    // The emulator stands in for AWS: its queue, bucket and secret under the names qfleet gives.
    let conf = moto_config().await;
    let (s3, sqs) = (
        aws_sdk_s3::Client::new(&conf),
        aws_sdk_sqs::Client::new(&conf),
    );
    let bucket = format!("{e}-uploads-123456789012-eu-west-1");
    s3.create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let queue = sqs
        .create_queue()
        .queue_name(format!("qfleet-{e}-jobs"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let endpoint = moto_endpoint();
    let secret = Command::new(root().join(".venv/bin/python"))
        .args(["-c", "import boto3, sys; boto3.client('secretsmanager', region_name='eu-west-1', endpoint_url=sys.argv[1], aws_access_key_id='testing', aws_secret_access_key='testing').create_secret(Name=sys.argv[2], SecretString='k-in-the-box')"])
        .arg(&endpoint)
        .arg(format!("image-app/api-key-{e}"))
        .output()
        .unwrap();
    assert!(secret.status.success(), "{}", stderr(&secret));
    s3.put_object()
        .bucket(&bucket)
        .key("uploads/photo.jpg")
        .body(b"jpeg".to_vec().into())
        .send()
        .await
        .unwrap();
    let event = serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1",
        "eventTime": "2026-11-23T09:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": {"key": "uploads/photo.jpg", "size": 4}}}]});
    sqs.send_message()
        .queue_url(&queue)
        .message_body(event.to_string())
        .send()
        .await
        .unwrap();

    // Instance metadata, as the worker reads it on an instance (IMDSv2).
    let mut imds = Stopped(
        Command::new(root().join(".venv/bin/python"))
            .arg(root().join("tests/support/fake_imds.py"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut port = String::new();
    std::io::BufReader::new(imds.0.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();

    // The environment file and the secrets' places exactly as the user data writes them; what
    // an instance has from its role and its metadata service is added for this machine.
    let env_file = dir.path().join("container.env");
    let mut env =
        crate::user_data::container_env(&ud, between(&ud, "<<'QFLEET_ENV'\n", "\nQFLEET_ENV\n"));
    assert!(env.contains(&format!("QFLEET_QUEUE_NAME=qfleet-{e}-jobs")));
    assert!(env.contains("RESULTS_TABLE=image-results"));
    env.push_str(&format!(
        "\nAWS_ENDPOINT_URL={endpoint}\nAWS_ACCESS_KEY_ID=testing\nAWS_SECRET_ACCESS_KEY=testing\nAWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:{}\nQFLEET_WAIT_SECONDS=1\n",
        port.trim()
    ));
    std::fs::write(&env_file, env).unwrap();
    let refs = between(
        &ud,
        "cat > /etc/qfleet/secrets.json <<'QFLEET_SECRETS'\n",
        "\nQFLEET_SECRETS\n",
    )
    .replace("image-app/api-key", &format!("image-app/api-key-{e}"));
    let secrets_file = dir.path().join("secrets.json");
    std::fs::write(&secrets_file, refs).unwrap();

    // The unit's command line, with this machine's container runtime.
    let unit = between(&ud, "<<'QFLEET_UNIT'\n", "\nQFLEET_UNIT\n");
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    let uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/image-resizer:1.4.2";
    // The unit runs ${QFLEET_IMAGE}, which systemd reads from the file the user data writes.
    assert!(
        ud.contains(&format!(
            "echo \"QFLEET_IMAGE={uri}\" > /etc/qfleet/image.env"
        )),
        "{ud}"
    );
    assert!(
        unit.contains("EnvironmentFile=/etc/qfleet/image.env"),
        "{unit}"
    );
    let line = exec
        .replace(
            "/usr/local/bin/qfleet-secrets",
            &format!(
                "{} {}",
                root().join(".venv/bin/python").display(),
                root()
                    .join("crates/qfleet-runtime/python/qfleet_secrets.py")
                    .display()
            ),
        )
        // Below this machine's hard limits: the sandbox the tests run in may not raise them
        // (no CAP_SYS_RESOURCE), and podman's defaults are above them.
        .replace(
            "/usr/bin/docker run",
            "podman --runtime runc run --ulimit nofile=4096:4096 --ulimit nproc=4096:4096",
        )
        .replace(" --log-driver journald", "")
        .replace("/etc/qfleet/container.env", env_file.to_str().unwrap())
        .replace("${QFLEET_IMAGE}", &image);
    let container = |cmd: &[&str]| {
        let mut words: Vec<String> = line.split_whitespace().map(String::from).collect();
        words.extend(cmd.iter().map(|s| s.to_string()));
        let o = Command::new("timeout")
            .arg("180")
            .args(&words)
            .env("QFLEET_SECRETS_FILE", &secrets_file)
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "eu-west-1")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{words:?}\n{}\n{}",
            stdout(&o),
            stderr(&o)
        );
        stdout(&o)
    };

    let said = container(&[
        "python3",
        "-c",
        "import os; print(os.environ['API_KEY'], os.environ['RESULTS_TABLE'])",
    ]);
    assert_eq!(said.trim(), "k-in-the-box image-results");
    let said = container(&[
        "python3",
        "/opt/qfleet/qfleet_worker.py",
        "--max-messages",
        "1",
    ]);
    drop(imds);
    assert!(said.contains("outcome=processed keys=1"), "{said}");

    let listed = s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["processed/photo.jpg"]);
    assert_eq!(visible_messages(&sqs, &format!("qfleet-{e}-jobs")).await, 0);
}
