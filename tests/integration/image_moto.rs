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

/// A Python script (boto3, sys and json imported) with `args`; what it prints, as JSON.
fn python(script: &str, args: &[&str]) -> serde_json::Value {
    let o = std::process::Command::new(root().join(".venv/bin/python"))
        .arg("-c")
        .arg(format!("import boto3,sys,json\n{script}"))
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A Python one-liner against moto's ECR and ECS; prints JSON.
fn moto(script: &str, args: &[&str]) -> serde_json::Value {
    let endpoint = moto_endpoint();
    let args: Vec<&str> = std::iter::once(endpoint.as_str())
        .chain(args.iter().copied())
        .collect();
    python(
        &format!(
            "kw=dict(endpoint_url=sys.argv[1], region_name='eu-west-1', aws_access_key_id='testing', aws_secret_access_key='testing')\necr=boto3.client('ecr', **kw)\necs=boto3.client('ecs', **kw)\n{script}"
        ),
        &args,
    )
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

/// The registry stand-in (tests/support/registry.py: moto's ECR has no layer calls) on a free
/// port, stopped when dropped.
struct Registry {
    child: std::process::Child,
    endpoint: String,
}

impl Registry {
    fn start(dir: &Path) -> Registry {
        let port_file = dir.join("registry.port");
        let child = std::process::Command::new(root().join(".venv/bin/python"))
            .arg(root().join("tests/support/registry.py"))
            .arg(&port_file)
            .spawn()
            .unwrap();
        // Dropped (and so stopped) if it never says its port.
        let mut registry = Registry {
            child,
            endpoint: String::new(),
        };
        for _ in 0..200 {
            if let Ok(port) = std::fs::read_to_string(&port_file) {
                registry.endpoint = format!("http://127.0.0.1:{port}");
                return registry;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the registry stand-in did not start");
    }

    /// A boto3 script against the stand-in (`ecr`) and moto (`ecs`); prints JSON.
    fn read(&self, script: &str, args: &[&str]) -> serde_json::Value {
        let moto = moto_endpoint();
        let args: Vec<&str> = [self.endpoint.as_str(), moto.as_str()]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        python(
            &format!(
                "kw=dict(region_name='eu-west-1', aws_access_key_id='testing', aws_secret_access_key='testing')\necr=boto3.client('ecr', endpoint_url=sys.argv[1], **kw)\necs=boto3.client('ecs', endpoint_url=sys.argv[2], **kw)\n{script}"
            ),
            &args,
        )
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Issue 86, item 7: one image for every environment. An environment whose build says
/// `promote_from: STAGING` runs the image STAGING's deploy built, copied by digest (the same
/// manifest bytes and blobs) into its own repository; it never builds. Its plan says which
/// image it will run and whether STAGING runs it; before STAGING holds it, plan and deploy
/// refuse and print the command that makes it, which runs as printed.
#[test]
fn an_image_is_promoted_by_digest_to_another_environment_and_never_built_there() {
    let dir = tempfile::tempdir().unwrap();
    let stacks = dir.path().join("stacks");
    let (staging, prod) = (unique("bpst"), unique("bppr"));
    stack_file(&stacks, &staging);
    let pfile = stack_file(&stacks, &prod);
    let text = std::fs::read_to_string(&pfile).unwrap().replace(
        "      engine: podman\n",
        &format!("      engine: podman\n      promote_from: {staging}\n"),
    );
    std::fs::write(&pfile, text).unwrap();
    let registry = Registry::start(dir.path());
    let log = dir.path().join("engine.log");
    let qfleet = |args: &[&str]| {
        let mut c = qfleet_building(&log);
        c.current_dir(dir.path())
            .env("AWS_ENDPOINT_URL_ECR", &registry.endpoint)
            .env("QFLEET_TEST_REGISTRY", "1")
            .args(args);
        run(&mut c)
    };

    // Before staging has the image: refused (exit 4), nothing built, the way on printed.
    let o = qfleet(&["plan", &prod]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let said = stderr(&o);
    assert!(
        said.contains(&format!(
            "this account and Region have no repository qfleet/{staging}"
        )),
        "{said}"
    );
    let printed = format!("(qfleet deploy {staging})");
    assert!(said.contains(&printed), "{said}");
    let o = qfleet(&["deploy", &prod, "--yes"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(verbs(&log).is_empty(), "{:?}", verbs(&log));
    // The printed command (with --yes: no one answers its question here).
    let o = qfleet(&["deploy", &staging, "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(verbs(&log), ["build", "tag", "push"], "{}", stderr(&o));

    // The plan names staging's image by its digest, says it copies it and that staging runs it.
    let o = qfleet(&["plan", &prod]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let said = stderr(&o);
    let staged = registry.read(
        "ids=ecr.list_images(repositoryName=sys.argv[3])['imageIds']\nprint(json.dumps(ids))",
        &[&format!("qfleet/{staging}")],
    );
    let tag = staged[0]["imageTag"].as_str().unwrap().to_string();
    let digest = staged[0]["imageDigest"].as_str().unwrap().to_string();
    assert!(
        said.contains(&format!(
            "deploy copies {staging}'s image qfleet/{staging}:{tag} ({digest}) into qfleet/{prod} by digest: nothing is built"
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!("{staging} runs this image now")),
        "{said}"
    );

    // A tag prod's repository holds as an image of its own (built before promote_from):
    // refused, since tags never move; nothing else is touched.
    let own = registry.read(
        "import hashlib\nname, tag = sys.argv[3], sys.argv[4]\n\
         ecr.create_repository(repositoryName=name, imageTagMutability='IMMUTABLE', tags=[{'Key': 'qfleet:environment', 'Value': sys.argv[5]}])\n\
         b = b'built in prod'\nd = 'sha256:' + hashlib.sha256(b).hexdigest()\n\
         up = ecr.initiate_layer_upload(repositoryName=name)['uploadId']\n\
         ecr.upload_layer_part(repositoryName=name, uploadId=up, partFirstByte=0, partLastByte=len(b) - 1, layerPartBlob=b)\n\
         ecr.complete_layer_upload(repositoryName=name, uploadId=up, layerDigests=[d])\n\
         m = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'size': len(b), 'digest': d}, 'layers': []})\n\
         print(json.dumps(ecr.put_image(repositoryName=name, imageTag=tag, imageManifest=m)['image']['imageId']['imageDigest']))",
        &[&format!("qfleet/{prod}"), &tag, &prod],
    );
    let o = qfleet(&["deploy", &prod, "--yes"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "qfleet/{prod}:{tag} ({}) is an image of {prod}'s own, not {staging}'s ({digest})",
            own.as_str().unwrap()
        )),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("copying"), "{}", stderr(&o));
    registry.read(
        "ecr.delete_repository(repositoryName=sys.argv[3], force=True)\nprint('null')",
        &[&format!("qfleet/{prod}")],
    );

    // The deploy copies it: the same digest, its blobs, and the task definition runs it from
    // prod's own repository. Nothing was built.
    let o = qfleet(&["deploy", &prod, "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("2 of its 2 blobs written"),
        "{}",
        stderr(&o)
    );
    assert_eq!(verbs(&log).len(), 3, "{:?}", verbs(&log));
    let found = registry.read(
        "m=ecr.batch_get_image(repositoryName=sys.argv[3], imageIds=[{'imageTag': sys.argv[4]}], acceptedMediaTypes=['application/vnd.oci.image.manifest.v1+json'])['images'][0]\n\
         doc=json.loads(m['imageManifest'])\n\
         have=ecr.batch_check_layer_availability(repositoryName=sys.argv[3], layerDigests=[doc['config']['digest']]+[l['digest'] for l in doc['layers']])\n\
         arns=ecs.list_task_definitions(familyPrefix='qfleet-'+sys.argv[5]+'-worker')['taskDefinitionArns']\n\
         image=ecs.describe_task_definition(taskDefinition=arns[-1])['taskDefinition']['containerDefinitions'][0]['image']\n\
         print(json.dumps(dict(digest=m['imageId']['imageDigest'], missing=len(have['failures']), image=image)))",
        &[&format!("qfleet/{prod}"), &tag, &prod],
    );
    assert_eq!(found["digest"], digest.as_str(), "{found}");
    assert_eq!(found["missing"], 0, "{found}");
    assert_eq!(
        found["image"],
        format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/qfleet/{prod}:{tag}")
    );

    // Again: it is there, nothing is copied.
    let o = qfleet(&["deploy", &prod, "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("is {staging}'s, in the repository already")),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("copying"), "{}", stderr(&o));

    // A changed input is an image staging has not built: refused until staging deploys it.
    std::fs::write(stacks.join("src/app.txt"), "version 2\n").unwrap();
    let o = qfleet(&["plan", &prod]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("qfleet/{staging} holds no image src-")),
        "{}",
        stderr(&o)
    );

    moto_detach_role_policies(&[&staging, &prod]);
    for e in [&prod, &staging] {
        let o = qfleet(&["teardown", e, "--yes", "--delete-images"]);
        assert_eq!(o.status.code(), Some(0), "{e}: {}", stderr(&o));
    }
}
