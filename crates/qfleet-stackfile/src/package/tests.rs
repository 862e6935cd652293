//! Deployment packages: deterministic archives, content-addressed keys known offline, and
//! Lambda's limits as errors.

use super::*;
use std::io::Read;

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn handler_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "job.py",
        "import helpers\ndef run(e, c):\n    return {}\n",
    );
    write(d.path(), "helpers.py", "X = 1\n");
    write(d.path(), "lib/util.py", "Y = 2\n");
    write(d.path(), "test_job.py", "def test(): pass\n");
    write(d.path(), "README.md", "# job\n");
    write(d.path(), "__pycache__/job.cpython-312.pyc", "cache");
    write(d.path(), ".env", "SECRET=1\n");
    d
}

#[test]
fn a_directory_packages_its_sources_and_subdirectories_not_tests_caches_or_hidden_files() {
    let d = handler_dir();
    let files: Vec<String> = files_of(d.path())
        .unwrap()
        .into_iter()
        .map(|(inside, _)| inside)
        .collect();
    assert_eq!(files, ["helpers.py", "job.py", "lib/util.py"]);
}

#[test]
fn the_same_inputs_give_the_same_bytes_and_key_whatever_the_order_and_timestamps() {
    let a = deterministic_zip(vec![
        ("b.py".into(), b"B".to_vec(), false),
        ("a.py".into(), b"A".to_vec(), false),
    ])
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let b = deterministic_zip(vec![
        ("a.py".into(), b"A".to_vec(), false),
        ("b.py".into(), b"B".to_vec(), false),
    ])
    .unwrap();
    assert_eq!(Sha256::digest(&a), Sha256::digest(&b));

    // Sorted entries, the fixed timestamp, mode 0644.
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(&a)).unwrap();
    let names: Vec<&[u8]> = z.file_names_raw().collect();
    assert_eq!(names, [b"a.py".as_slice(), b"b.py".as_slice()]);
    let f = z.by_index(0).unwrap();
    assert_eq!(f.unix_mode(), Some(0o100644));
    let t = f.last_modified().unwrap();
    assert_eq!((t.year(), t.month(), t.day()), (1980, 1, 1));

    // The directory's key is known offline and follows its inputs only.
    let d = handler_dir();
    let p1 = directory(d.path(), files_of(d.path()).unwrap(), "python3.12", None).unwrap();
    let p2 = directory(d.path(), files_of(d.path()).unwrap(), "python3.12", None).unwrap();
    assert_eq!(p1.key(), p2.key());
    assert!(is_package_key(&p1.key()), "{}", p1.key());
    assert_eq!(build(&p1).unwrap(), build(&p2).unwrap());
    // A test file is not an input; a source file is, and so is the runtime.
    write(d.path(), "test_job.py", "def test(): assert False\n");
    let p3 = directory(d.path(), files_of(d.path()).unwrap(), "python3.12", None).unwrap();
    assert_eq!(p3.key(), p1.key());
    write(d.path(), "helpers.py", "X = 2\n");
    let p4 = directory(d.path(), files_of(d.path()).unwrap(), "python3.12", None).unwrap();
    assert_ne!(p4.key(), p1.key());
    let p5 = directory(d.path(), files_of(d.path()).unwrap(), "python3.13", None).unwrap();
    assert_ne!(p5.key(), p4.key());

    // What was built holds the files as they are.
    let built = build(&p4).unwrap();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(built)).unwrap();
    let mut text = String::new();
    z.by_name("lib/util.py")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "Y = 2\n");
}

#[test]
fn only_qfleets_own_keys_are_package_keys() {
    let hexes = "0123456789abcdef".repeat(4);
    assert!(is_package_key(&format!("lambda/{hexes}.zip")));
    for other in [
        format!("lambda/{}.zip", hexes.to_uppercase()),
        format!("lambda/{hexes}.zip.bak"),
        format!("other/{hexes}.zip"),
        format!("lambda/{}.zip", &hexes[1..]),
        "lambda/notes.txt".to_string(),
        format!("lambda/x/{hexes}.zip"),
    ] {
        assert!(!is_package_key(&other), "{other}");
    }
}

#[test]
fn a_zip_file_is_its_own_package_and_must_hold_the_handler_module() {
    let d = tempfile::tempdir().unwrap();
    let bytes = deterministic_zip(vec![(
        "job.py".into(),
        b"def run(e, c): pass\n".to_vec(),
        false,
    )])
    .unwrap();
    let path = d.path().join("fn.zip");
    std::fs::write(&path, &bytes).unwrap();
    let p = zip_file(&path, "job", true).unwrap();
    assert_eq!(p.digest, hex(&Sha256::digest(&bytes)));
    assert_eq!(build(&p).unwrap(), bytes);

    let e = zip_file(&path, "other", true).unwrap_err();
    assert!(e.contains("no other.py at its root"), "{e}");
    let e = zip_file(&path, "job", false).unwrap_err();
    assert!(e.contains("job.js or job.mjs or job.cjs"), "{e}");
    std::fs::write(&path, b"not a zip").unwrap();
    let e = zip_file(&path, "job", true).unwrap_err();
    assert!(e.contains("not a readable .zip archive"), "{e}");
    let e = zip_file(&d.path().join("absent.zip"), "job", true).unwrap_err();
    assert!(e.contains("cannot read"), "{e}");
}

/// Lambda's quota page: 250 MB unzipped for a function's package
/// (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
#[test]
fn more_than_250_mb_unzipped_is_refused() {
    assert!(check_unzipped(MAX_UNZIPPED, "x").is_ok());
    let e = check_unzipped(MAX_UNZIPPED + 1, "the package").unwrap_err();
    assert!(e.contains("at most 250 MB"), "{e}");
}

/// The installer's failure is an error that shows the command and pip's own words.
#[test]
fn a_failing_install_is_an_error_with_the_installers_words() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "job.py", "def run(e, c): pass\n");
    write(
        d.path(),
        "requirements.txt",
        "this is not a requirement !!\n",
    );
    let p = directory(
        d.path(),
        files_of(d.path()).unwrap(),
        "python3.12",
        Some(Installer::Pip {
            python_version: "3.12".into(),
        }),
    )
    .unwrap();
    // No network is needed to fail on a malformed requirement: the stack file's code is at
    // fault, not the tool.
    let BuildFailure::Input(e) = build(&p).unwrap_err() else {
        panic!("a malformed requirement is the code's fault")
    };
    assert!(e.contains("installing the dependencies failed"), "{e}");
    assert!(e.contains("--platform"), "{e}");
}

/// Node.js: npm installs into a copy of the manifests (the user's directory is not written
/// to), and the package holds the handler and package.json at its root. A package.json
/// without dependencies needs no network.
#[test]
fn a_node_package_is_built_with_npm_without_writing_to_the_directory() {
    if Command::new("npm").arg("--version").output().is_err() {
        eprintln!("npm is not installed: skipped");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "job.js", "exports.run = async () => ({});\n");
    write(
        d.path(),
        "package.json",
        "{\"name\": \"job\", \"version\": \"1.0.0\", \"type\": \"commonjs\"}\n",
    );
    let p = directory(
        d.path(),
        files_of(d.path()).unwrap(),
        "nodejs24.x",
        Some(Installer::Npm { lockfile: false }),
    )
    .unwrap();
    let built = build(&p).unwrap();
    let z = zip::ZipArchive::new(std::io::Cursor::new(built)).unwrap();
    let names: Vec<String> = z
        .file_names_raw()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    assert!(names.contains(&"job.js".to_string()), "{names:?}");
    assert!(names.contains(&"package.json".to_string()), "{names:?}");
    assert!(!d.path().join("node_modules").exists());
    assert!(!d.path().join("package-lock.json").exists());
}

/// pip without a network (its own words, urllib3's retries then the resolver's): the tool's
/// trouble, exit 5; a requirement the index does not have: the code's, exit 2.
#[test]
fn a_failed_install_is_the_tools_trouble_only_when_it_could_not_reach_its_index() {
    let offline = "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')': /simple/humanize/\nERROR: Could not find a version that satisfies the requirement humanize==4.9.0 (from versions: none)\nERROR: No matching distribution found for humanize==4.9.0";
    let missing = "ERROR: Could not find a version that satisfies the requirement no-such-package-qfleet==1.0 (from versions: none)\nERROR: No matching distribution found for no-such-package-qfleet==1.0";
    let npm_offline = "npm error code ENOTFOUND\nnpm error syscall getaddrinfo\nnpm error errno ENOTFOUND\nnpm error network request to https://registry.npmjs.org/left-pad failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org";
    let npm_missing = "npm error code E404\nnpm error 404 Not Found - GET https://registry.npmjs.org/no-such-package-qfleet - Not found";
    let no_pip = "/usr/bin/python3: No module named pip";
    // pip -vv without retries: the connection error is said at debug level only.
    let no_retry = "Fetching project page and analyzing links: http://127.0.0.1:9/simple/humanize/\nCould not fetch URL http://127.0.0.1:9/simple/humanize/: connection error: HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: /simple/humanize/ - skipping\nERROR: Could not find a version that satisfies the requirement humanize==4.17.0 (from versions: none)\nERROR: No matching distribution found for humanize==4.17.0";
    for (tool, said) in [
        ("pip", offline),
        ("npm", npm_offline),
        ("pip", no_pip),
        ("pip", no_retry),
    ] {
        match install_failure(tool, "CMD", "exit status: 1", said) {
            BuildFailure::Tool { tool: t, why } => {
                assert_eq!(t, tool);
                assert!(why.starts_with("CMD (exit status: 1): "), "{why}");
            }
            other => panic!("{said}: {other:?}"),
        }
    }
    for (tool, said) in [("pip", missing), ("npm", npm_missing)] {
        match install_failure(tool, "CMD", "exit status: 1", said) {
            BuildFailure::Input(m) => assert!(
                m.contains("No matching distribution") || m.contains("404"),
                "{m}"
            ),
            other => panic!("{said}: {other:?}"),
        }
    }
}

/// A tool that cannot be started at all is not the stack file's fault either.
#[test]
fn an_installer_that_cannot_be_started_is_the_tools_trouble() {
    match run_installer(Command::new("/nonexistent/qfleet-python"), "pip") {
        Err(BuildFailure::Tool { tool: "pip", why }) => {
            assert!(why.contains("cannot run"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    // One that runs and fails on its own words is judged on them.
    let mut sh = Command::new("sh");
    sh.args(["-c", "echo 'npm error code ECONNREFUSED' >&2; exit 1"]);
    assert!(matches!(
        run_installer(sh, "npm"),
        Err(BuildFailure::Tool { tool: "npm", .. })
    ));
}
