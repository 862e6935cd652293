//! Issue 68: workers' images built from a Dockerfile. On moto, with Podman building for real
//! and a stand-in for the registry's side of the push (tests/support/engine/podman: no
//! registry here takes a push, and moto's ECR takes no image layers): the first deploy builds
//! and pushes once, a second builds and pushes nothing, a changed input is a new image, and a
//! build that fails changes no stack.

use crate::common::*;
use std::path::{Path, PathBuf};

/// A Fargate environment whose image is built from `dir/src`.
fn stack_file(dir: &Path, env: &str) -> PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("Dockerfile"),
        "FROM scratch\nCOPY app.txt /app.txt\nCMD [\"/app\"]\n",
    )
    .unwrap();
    std::fs::write(src.join("app.txt"), "version 1\n").unwrap();
    std::fs::write(src.join(".dockerignore"), "notes/\n").unwrap();
    let p = dir.join(format!("{env}.yaml"));
    std::fs::write(
        &p,
        format!(
            "environment: {env}\nregion: eu-west-1\nlab: true\nworkers:\n  kind: fargate\n  image:\n    build:\n      context: src\n      engine: podman\n  min: 0\n  max: 2\n  public_ip: true\nscaling:\n  scale_from_zero: true\n  scale_in: {{policy: target_tracking}}\n"
        ),
    )
    .unwrap();
    p
}

/// qfleet on moto, with the stand-in first on PATH and its log.
fn qfleet_building(log: &Path) -> std::process::Command {
    let mut c = qfleet_on_moto();
    let path = format!(
        "{}:{}",
        root().join("tests/support/engine").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    c.env("PATH", path)
        .env("QFLEET_TEST_ENGINE_LOG", log)
        .env("QFLEET_TEST_PYTHON", root().join(".venv/bin/python"));
    c
}

fn verbs(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .filter(|v| v != "version")
        .collect()
}

/// A Python one-liner against moto's ECR and ECS; prints JSON.
fn moto(script: &str, args: &[&str]) -> serde_json::Value {
    let o = std::process::Command::new(root().join(".venv/bin/python"))
        .arg("-c")
        .arg(format!(
            "import boto3,sys,json\nkw=dict(endpoint_url=sys.argv[1], region_name='eu-west-1', aws_access_key_id='testing', aws_secret_access_key='testing')\necr=boto3.client('ecr', **kw)\necs=boto3.client('ecs', **kw)\n{script}"
        ))
        .arg(moto_endpoint())
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The names of moto's stacks (not deleted) that hold `env`'s name.
fn stacks_of(env: &str) -> serde_json::Value {
    moto(
        "cfn=boto3.client('cloudformation', **kw)\n\
         names=[s['StackName'] for s in cfn.list_stacks()['StackSummaries'] if s['StackStatus']!='DELETE_COMPLETE']\n\
         print(json.dumps([n for n in names if sys.argv[2] in n]))",
        &[env],
    )
}

#[test]
fn a_deploy_builds_and_pushes_once_and_a_second_builds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("bsrc");
    let file = stack_file(dir.path(), &e);
    let log = dir.path().join("engine.log");

    // The plan says the deploy will build; nothing is built by it.
    let o = run(qfleet_building(&log).arg("plan").arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("deploy builds the image"),
        "{}",
        stderr(&o)
    );
    assert!(verbs(&log).is_empty(), "{:?}", verbs(&log));

    let o = run(qfleet_building(&log).args(["deploy", "--yes"]).arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(verbs(&log), ["build", "tag", "push"], "{}", stderr(&o));
    assert!(
        stderr(&o).contains("(stopped after 30m: --push-timeout)"),
        "{}",
        stderr(&o)
    );
    let repository = format!("qfleet/{e}");

    // The repository is qfleet's (its marks), tags never move, and the tag pushed is the one
    // the task definition runs; the lifecycle policy keeps it.
    let found = moto(
        "r=ecr.describe_repositories(repositoryNames=[sys.argv[2]])['repositories'][0]\n\
         tags={t['Key']:t['Value'] for t in ecr.list_tags_for_resource(resourceArn=r['repositoryArn'])['tags']}\n\
         imgs=[t for i in ecr.describe_images(repositoryName=sys.argv[2])['imageDetails'] for t in i.get('imageTags',[])]\n\
         lp=json.loads(ecr.get_lifecycle_policy(repositoryName=sys.argv[2])['lifecyclePolicyText'])\n\
         arns=ecs.list_task_definitions(familyPrefix='qfleet-'+sys.argv[3]+'-worker')['taskDefinitionArns']\n\
         image=ecs.describe_task_definition(taskDefinition=arns[-1])['taskDefinition']['containerDefinitions'][0]['image']\n\
         print(json.dumps(dict(tags=tags, mutability=r['imageTagMutability'], images=imgs, policy=lp, image=image)))",
        &[&repository, &e],
    );
    assert_eq!(found["tags"]["qfleet:environment"], e.as_str());
    assert_eq!(found["mutability"], "IMMUTABLE");
    let images = found["images"].as_array().unwrap();
    assert_eq!(images.len(), 1, "{found}");
    let tag = images[0].as_str().unwrap();
    assert!(tag.starts_with("src-"), "{tag}");
    assert_eq!(
        found["image"],
        format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/{repository}:{tag}")
    );
    assert_eq!(
        found["policy"]["rules"][0]["selection"]["tagPatternList"][0],
        tag
    );

    // Again: the tag is there, so nothing is built or pushed, and nothing changes.
    let o = run(qfleet_building(&log).args(["deploy", "--yes"]).arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(verbs(&log).len(), 3, "{:?}", verbs(&log));
    assert!(
        stderr(&o).contains("is in the repository already"),
        "{}",
        stderr(&o)
    );

    // A file the .dockerignore leaves out is no new image; a file the build takes is.
    std::fs::create_dir_all(dir.path().join("src/notes")).unwrap();
    std::fs::write(dir.path().join("src/notes/todo.md"), "x").unwrap();
    let o = run(qfleet_building(&log).arg("plan").arg(&file));
    assert!(
        stderr(&o).contains("deploy builds nothing"),
        "{}",
        stderr(&o)
    );
    std::fs::write(dir.path().join("src/app.txt"), "version 2\n").unwrap();
    let o = run(qfleet_building(&log).arg("plan").arg(&file));
    assert!(
        stderr(&o).contains("deploy builds the image"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_build_that_fails_changes_no_stack() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("bsrcbad");
    let file = stack_file(dir.path(), &e);
    std::fs::write(
        dir.path().join("src/Dockerfile"),
        "FROM scratch\nCOPY missing.txt /x\n",
    )
    .unwrap();
    let log = dir.path().join("engine.log");
    let o = run(qfleet_building(&log)
        .args(["deploy", "--yes", "-o", "json"])
        .arg(&file));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let message = doc["environments"][0]["error"]["message"]
        .as_str()
        .unwrap_or_default();
    // The engine's own words say what failed.
    assert!(message.contains("missing.txt"), "{message}");
    assert_eq!(verbs(&log), ["build"]);
    assert_eq!(stacks_of(&e), serde_json::json!([]), "no stack was made");
}

/// Issue 86: the cheap checks come before a build. A group the file names that is not in the
/// workers' VPC refuses the deploy (exit 2) without a build, which may take many minutes; no
/// stack is made.
#[test]
fn a_network_the_workers_cannot_use_is_refused_before_anything_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("bsrcnet");
    let file = stack_file(dir.path(), &e);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace(
            "  public_ip: true\n",
            "  public_ip: true\n  security_groups: [sg-0123456789abcdef0]\n",
        ),
    )
    .unwrap();
    let log = dir.path().join("engine.log");
    let o = run(qfleet_building(&log).args(["deploy", "--yes"]).arg(&file));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("security group sg-0123456789abcdef0 does not exist"),
        "{}",
        stderr(&o)
    );
    assert!(verbs(&log).is_empty(), "nothing built: {:?}", verbs(&log));
    assert_eq!(stacks_of(&e), serde_json::json!([]), "no stack was made");
}

#[test]
fn teardown_keeps_built_images_unless_asked_and_then_deletes_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("bsrctd");
    let file = stack_file(dir.path(), &e);
    let log = dir.path().join("engine.log");
    let o = run(qfleet_building(&log).args(["deploy", "--yes"]).arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let repository = format!("qfleet/{e}");

    // Commands that neither build nor render never read the context (issue 86): with it gone,
    // outputs and teardown run as before; status, which compares templates, says it cannot
    // read it.
    std::fs::remove_dir_all(dir.path().join("src")).unwrap();
    let o = run(qfleet_building(&log).arg("outputs").arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(qfleet_building(&log).arg("status").arg(&file));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is not a directory"), "{}", stderr(&o));

    // The images are the team's builds: kept unless asked, as a bucket's objects are; nothing
    // is deleted by the refusal.
    let o = run(qfleet_building(&log)
        .args(["teardown", "--yes", "-o", "json"])
        .arg(&file));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let reasons = &doc["environments"][0]["refusals"];
    assert!(
        reasons
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["reason"] == "repository-holds-images"
                && r["repository"] == repository.as_str()
                && r["images"] == 1),
        "{doc}"
    );
    assert!(stderr(&o).contains("--delete-images"), "{}", stderr(&o));
    assert_eq!(doc["environments"][0]["deleted"], serde_json::json!([]));

    // moto cannot delete a role with managed policies attached (docs/local-aws.md).
    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_building(&log)
        .args(["teardown", "--yes", "--delete-images", "-o", "json"])
        .arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        doc["environments"][0]["image_repository_deleted"],
        repository.as_str()
    );
    assert_eq!(doc["environments"][0]["images_deleted"], 1);
    let gone = moto(
        "try:\n    ecr.describe_repositories(repositoryNames=[sys.argv[2]]); print('true')\nexcept ecr.exceptions.RepositoryNotFoundException:\n    print('false')",
        &[&repository],
    );
    assert_eq!(gone, serde_json::json!(false), "the repository is gone");
}

/// A `docker` client whose daemon does not answer is not an engine: without `engine:` the
/// deploy builds with Podman; asked for Docker (`--build-engine docker`), it stops before any
/// change, saying why and what to do.
#[test]
fn a_docker_client_without_its_daemon_is_not_an_engine() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("bsrcdock");
    let file = stack_file(dir.path(), &e);
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("      engine: podman\n", "");
    std::fs::write(&file, text).unwrap();
    // A docker client as a machine without its daemon has it: `docker version` fails.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let docker = bin.join("docker");
    std::fs::write(
        &docker,
        "#!/bin/sh\necho \"$1\" >> \"$QFLEET_TEST_ENGINE_LOG.docker\"\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = dir.path().join("engine.log");
    let with_docker = |c: &mut std::process::Command| {
        let path = format!(
            "{}:{}",
            bin.display(),
            c.get_envs()
                .find(|(k, _)| *k == "PATH")
                .and_then(|(_, v)| v)
                .unwrap()
                .to_string_lossy()
        );
        c.env("PATH", path);
    };

    let mut c = qfleet_building(&log);
    with_docker(&mut c);
    let o = run(c
        .args(["deploy", "--yes", "--build-engine", "docker"])
        .arg(&file));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let said = stderr(&o);
    assert!(said.contains("docker's daemon does not answer"), "{said}");
    assert!(said.contains("build.engine: podman"), "{said}");
    assert!(
        verbs(&log).is_empty(),
        "podman was not used: {:?}",
        verbs(&log)
    );

    let mut c = qfleet_building(&log);
    with_docker(&mut c);
    let o = run(c.args(["deploy", "--yes"]).arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("building the image with podman"),
        "{}",
        stderr(&o)
    );
    assert_eq!(verbs(&log), ["build", "tag", "push"]);
    moto_detach_role_policies(&[&e]);
}
