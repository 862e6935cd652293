//! scripts/guard-rules against a registry of the test's own, served from 127.0.0.1: the four
//! rule sets built as the mapping files list them (a file marked `## SKIP` and a missing file
//! left out, each `<<` labelled with the set and its controls), checked against the pins, and
//! put in place only when every hash matches. A wrong pin or an unreachable address fails with
//! one line and leaves the folder as it was. Also the order in which the tests look for the
//! rule sets, and for the tools cargo installs. Offline: needs `python3` and `tar`.

use crate::common::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The archive's one top folder (any name: GitHub's is `REPO-COMMIT`).
const TOP: &str = "registry-0123abc";

const RULE_A: &str = concat!(
    "let buckets = Resources.*[ Type == 'AWS::S3::Bucket' ]\n",
    "\n",
    "rule BUCKET_VERSIONED when %buckets !empty {\n",
    "    %buckets.Properties.VersioningConfiguration.Status == 'Enabled'\n",
    "    <<\n",
    "        Violation: a bucket must be versioned\n",
    "    >>\n",
    "}\n",
);

/// Two `<<`: each is labelled.
const RULE_B: &str = concat!(
    "rule QUEUE_ENCRYPTED {\n",
    "    Resources.*[ Type == 'AWS::SQS::Queue' ].Properties.SqsManagedSseEnabled == true <<queue>>\n",
    "    Resources.*[ Type == 'AWS::SNS::Topic' ].Properties.KmsMasterKeyId exists <<topic>>\n",
    "}\n",
);

/// `## SKIP` below the first line: kept.
const RULE_C: &str = concat!(
    "# Read on the first line only:\n",
    "## SKIP\n",
    "rule TOPIC_NAMED { Resources.*.Properties.TopicName exists }\n",
);

const SKIPPED: &str = "## SKIP: not a CloudFormation rule\nrule NEVER { %x == 1 <<never>> }\n";

/// A rule set's mapping entries: each rule file with its controls.
type Entries = &'static [(&'static str, &'static [&'static str])];

/// Each mapping file, its rule set's name and its entries.
const MAPPINGS: &[(&str, &str, Entries)] = &[
    (
        "rule_set_nist800_53rev5.json",
        "NIST800-53Rev5",
        &[
            ("rules/aws/a.guard", &["AC-2", "AC-3"]),
            ("rules/aws/skipped.guard", &["SI-4"]),
            ("rules/aws/b.guard", &["SC-8"]),
        ],
    ),
    (
        "rule_set_wa-Security-Pillar.json",
        "wa-Security-Pillar",
        &[
            ("rules/aws/b.guard", &["SEC08"]),
            ("rules/aws/missing.guard", &["SEC09"]),
            ("rules/aws/c.guard", &["SEC01"]),
        ],
    ),
    (
        "rule_set_wa-Reliability-Pillar.json",
        "wa-Reliability-Pillar",
        &[("rules/aws/a.guard", &["REL09"])],
    ),
    (
        "rule_set_cfn_nag.json",
        "cfn-nag-equivalent",
        &[("rules/aws/c.guard", &["W1"]), ("rules/aws/a.guard", &[])],
    ),
    // Another set of the registry: not built.
    (
        "rule_set_hipaa_security.json",
        "HIPAA-Security",
        &[("rules/aws/a.guard", &["164.312"])],
    ),
];

/// What each rule set must be, written out.
const EXPECTED: [(&str, &str); 4] = [
    (
        "NIST800-53Rev5.guard",
        concat!(
            "let buckets = Resources.*[ Type == 'AWS::S3::Bucket' ]\n",
            "\n",
            "rule BUCKET_VERSIONED when %buckets !empty {\n",
            "    %buckets.Properties.VersioningConfiguration.Status == 'Enabled'\n",
            "    <<\n",
            "    Guard Rule Set: NIST800-53Rev5\n",
            "    Controls: AC-2,AC-3    \n",
            "        Violation: a bucket must be versioned\n",
            "    >>\n",
            "}\n",
            "\n",
            "rule QUEUE_ENCRYPTED {\n",
            "    Resources.*[ Type == 'AWS::SQS::Queue' ].Properties.SqsManagedSseEnabled == true <<\n",
            "    Guard Rule Set: NIST800-53Rev5\n",
            "    Controls: SC-8    queue>>\n",
            "    Resources.*[ Type == 'AWS::SNS::Topic' ].Properties.KmsMasterKeyId exists <<\n",
            "    Guard Rule Set: NIST800-53Rev5\n",
            "    Controls: SC-8    topic>>\n",
            "}\n",
            "\n",
        ),
    ),
    (
        "wa-Security-Pillar.guard",
        concat!(
            "rule QUEUE_ENCRYPTED {\n",
            "    Resources.*[ Type == 'AWS::SQS::Queue' ].Properties.SqsManagedSseEnabled == true <<\n",
            "    Guard Rule Set: wa-Security-Pillar\n",
            "    Controls: SEC08    queue>>\n",
            "    Resources.*[ Type == 'AWS::SNS::Topic' ].Properties.KmsMasterKeyId exists <<\n",
            "    Guard Rule Set: wa-Security-Pillar\n",
            "    Controls: SEC08    topic>>\n",
            "}\n",
            "\n",
            "# Read on the first line only:\n",
            "## SKIP\n",
            "rule TOPIC_NAMED { Resources.*.Properties.TopicName exists }\n",
            "\n",
        ),
    ),
    (
        "wa-Reliability-Pillar.guard",
        concat!(
            "let buckets = Resources.*[ Type == 'AWS::S3::Bucket' ]\n",
            "\n",
            "rule BUCKET_VERSIONED when %buckets !empty {\n",
            "    %buckets.Properties.VersioningConfiguration.Status == 'Enabled'\n",
            "    <<\n",
            "    Guard Rule Set: wa-Reliability-Pillar\n",
            "    Controls: REL09    \n",
            "        Violation: a bucket must be versioned\n",
            "    >>\n",
            "}\n",
            "\n",
        ),
    ),
    (
        "cfn-nag-equivalent.guard",
        concat!(
            "# Read on the first line only:\n",
            "## SKIP\n",
            "rule TOPIC_NAMED { Resources.*.Properties.TopicName exists }\n",
            "\n",
            "let buckets = Resources.*[ Type == 'AWS::S3::Bucket' ]\n",
            "\n",
            "rule BUCKET_VERSIONED when %buckets !empty {\n",
            "    %buckets.Properties.VersioningConfiguration.Status == 'Enabled'\n",
            "    <<\n",
            "    Guard Rule Set: cfn-nag-equivalent\n",
            "    Controls:     \n",
            "        Violation: a bucket must be versioned\n",
            "    >>\n",
            "}\n",
            "\n",
        ),
    ),
];

/// The registry's source archive (a tar.gz of one top folder), built in `dir`.
fn registry_archive(dir: &Path) -> Vec<u8> {
    let top = dir.join(TOP);
    for (path, text) in [
        ("rules/aws/a.guard", RULE_A),
        ("rules/aws/b.guard", RULE_B),
        ("rules/aws/c.guard", RULE_C),
        ("rules/aws/skipped.guard", SKIPPED),
        ("README.md", "# A registry\n"),
    ] {
        let p = top.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    std::fs::create_dir_all(top.join("mappings")).unwrap();
    for (file, name, entries) in MAPPINGS {
        let mappings: Vec<serde_json::Value> = entries
            .iter()
            .map(
                |(path, controls)| serde_json::json!({"guardFilePath": path, "controls": controls}),
            )
            .collect();
        let doc = serde_json::json!({"owner": "AWS", "ruleSetName": name, "version": "1.0.0", "mappings": mappings});
        std::fs::write(
            top.join("mappings").join(file),
            serde_json::to_string_pretty(&doc).unwrap(),
        )
        .unwrap();
    }
    let archive = dir.join("registry.tar.gz");
    let o = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(dir)
        .arg(TOP)
        .output()
        .expect("tar runs");
    assert!(o.status.success(), "tar: {}", stderr(&o));
    std::fs::read(&archive).unwrap()
}

/// Serves `body` at `/registry.tar.gz` (anything else: 404) on 127.0.0.1, for at most
/// `requests` requests or 60 seconds, whichever comes first. Returns the port.
fn serve(body: Vec<u8>, requests: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut served = 0;
        while served < requests && Instant::now() < deadline {
            let mut stream = match listener.accept() {
                Ok((s, _)) => s,
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
            };
            served += 1;
            stream.set_nonblocking(false).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&request);
            let (status, content): (&str, &[u8]) = if head.starts_with("GET /registry.tar.gz ") {
                ("200 OK", &body)
            } else {
                ("404 Not Found", b"not here\n")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                content.len()
            );
            let _ = stream.write_all(content);
        }
    });
    port
}

/// A pins file in sha256sum's format, of the expected texts (or of `wrong` in place of
/// `cfn-nag-equivalent.guard`'s).
fn pins(dir: &Path, wrong: Option<&str>) -> PathBuf {
    use sha2::Digest as _;
    let lines: String = EXPECTED
        .iter()
        .map(|(name, text)| {
            let text = match wrong {
                Some(w) if *name == "cfn-nag-equivalent.guard" => w,
                _ => text,
            };
            let hex: String = sha2::Sha256::digest(text.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!("{hex}  {name}\n")
        })
        .collect();
    let p = dir.join("guard-rules.sha256");
    std::fs::write(&p, lines).unwrap();
    p
}

fn guard_rules_script(url: &str, pins: &Path, into: &Path) -> Output {
    Command::new(root().join("scripts/guard-rules"))
        .args(["--url", url])
        .arg("--pins")
        .arg(pins)
        .arg("--into")
        .arg(into)
        .env("NO_PROXY", "127.0.0.1")
        .env("no_proxy", "127.0.0.1")
        .output()
        .expect("scripts/guard-rules runs (python3)")
}

/// The files in `dir` with their text, by name.
fn files_in(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn expected_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = EXPECTED
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    files.sort();
    files
}

/// One line on stderr that says what failed and what to do.
fn assert_one_line(o: &Output, says: &str) {
    let err = stderr(o);
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.ends_with('\n'), "{err}");
    assert!(err.contains(says), "{says}: {err}");
    assert!(
        err.contains("put the four rule sets in ../shared/guard, or set QFLEET_GUARD_RULES"),
        "{err}"
    );
}

#[test]
fn the_rule_sets_are_built_as_the_mappings_list_them_and_put_in_place_once_their_pins_match() {
    let tmp = tempfile::tempdir().unwrap();
    let port = serve(registry_archive(tmp.path()), 2);
    let url = format!("http://127.0.0.1:{port}/registry.tar.gz");
    let pins = pins(tmp.path(), None);
    let into = tmp.path().join("tools/guard-rules");
    let o = guard_rules_script(&url, &pins, &into);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(files_in(&into), expected_files());

    // Run again over a folder that holds something else: the same four, and nothing more.
    std::fs::write(into.join("stale.guard"), "rule OLD {}\n").unwrap();
    let o = guard_rules_script(&url, &pins, &into);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(files_in(&into), expected_files());
    let beside: Vec<_> = std::fs::read_dir(into.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["guard-rules"], "no folder left behind");
}

#[test]
fn a_wrong_pin_fails_in_one_line_and_leaves_the_folder_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let port = serve(registry_archive(tmp.path()), 2);
    let url = format!("http://127.0.0.1:{port}/registry.tar.gz");
    let pins = pins(tmp.path(), Some("another text\n"));
    let into = tmp.path().join("guard-rules");

    let o = guard_rules_script(&url, &pins, &into);
    assert_one_line(&o, "cfn-nag-equivalent.guard");
    assert!(!into.exists(), "nothing written");

    std::fs::create_dir(&into).unwrap();
    std::fs::write(into.join("kept.guard"), "rule KEPT {}\n").unwrap();
    let o = guard_rules_script(&url, &pins, &into);
    assert_one_line(&o, "cfn-nag-equivalent.guard");
    assert_eq!(
        files_in(&into),
        [("kept.guard".to_string(), "rule KEPT {}\n".to_string())]
    );
}

#[test]
fn an_unreachable_registry_fails_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    // A port nothing listens on: bound, then let go.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/registry.tar.gz");
    let into = tmp.path().join("guard-rules");
    let o = guard_rules_script(&url, &pins(tmp.path(), None), &into);
    assert_one_line(&o, &url);
    assert!(!into.exists());

    // An address that answers, with no archive there.
    let port = serve(Vec::new(), 1);
    let url = format!("http://127.0.0.1:{port}/elsewhere.tar.gz");
    let o = guard_rules_script(&url, &pins(tmp.path(), None), &into);
    assert_one_line(&o, "HTTP 404");
    assert!(!into.exists());
}

#[test]
fn the_rule_sets_and_cargos_tools_are_looked_up_where_setup_tools_puts_them() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("clone");
    let shared = tmp.path().join("shared/guard");
    let fetched = root.join(".tools/guard-rules");
    std::fs::create_dir_all(&root).unwrap();
    assert_eq!(guard_rules_in(None, &root), None, "nothing there");
    std::fs::create_dir_all(&fetched).unwrap();
    assert_eq!(guard_rules_in(None, &root), Some(fetched.clone()));
    std::fs::create_dir_all(&shared).unwrap();
    assert_eq!(
        guard_rules_in(None, &root),
        Some(root.join("../shared/guard")),
        "beside the checkout before .tools"
    );
    assert_eq!(
        guard_rules_in(Some("/elsewhere".into()), &root),
        Some(PathBuf::from("/elsewhere")),
        "QFLEET_GUARD_RULES first"
    );

    assert_eq!(
        cargo_bin_in(
            Some("/opt/cargo".into()),
            Some("/home/u".into()),
            "cfn-guard"
        ),
        [
            PathBuf::from("/opt/cargo/bin/cfn-guard"),
            PathBuf::from("/home/u/.cargo/bin/cfn-guard")
        ]
    );
    assert_eq!(
        cargo_bin_in(None, Some("/home/u".into()), "mdbook"),
        [PathBuf::from("/home/u/.cargo/bin/mdbook")]
    );
}
