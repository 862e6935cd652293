//! `workers.gpu`: the image with the NVIDIA driver and room for it, containers started with
//! the GPUs, an instance whose GPUs are missing reported unhealthy by itself, with one more
//! grant and nothing else. (Proven by render: no emulator here runs a GPU instance.)

use super::*;

/// The user data as CloudFormation's `Fn::Sub` receives it.
fn user_data(fleet: &Value) -> String {
    let ud = &fleet["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]
        ["Fn::Base64"];
    untagged(ud).as_str().unwrap().to_string()
}

fn statement<'a>(fleet: &'a Value, sid: &str) -> Option<&'a Value> {
    resource(fleet, "WorkerPolicy")["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["Sid"].as_str() == Some(sid))
}

#[test]
fn a_gpu_container_worker_runs_on_the_driver_image_with_its_gpus() {
    let (_, fleet) = rendered(&load("examples/gpu.yaml"));
    // AWS's Deep Learning Base AMI, resolved from its public parameter at every deploy.
    assert_eq!(
        fleet["Parameters"]["ImageId"]["Default"].as_str(),
        Some(config::GPU_AMI_X86)
    );
    assert_eq!(
        fleet["Parameters"]["ImageId"]["Type"].as_str(),
        Some("AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>")
    );
    let lt = &resource(&fleet, "LaunchTemplate")["LaunchTemplateData"];
    assert_eq!(
        lt["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"].as_u64(),
        Some(100)
    );
    let ud = user_data(&fleet);
    for needed in [
        "QFLEET_GPUS=1",
        "nvidia-smi --query-gpu=index",
        "--health-status Unhealthy --no-should-respect-grace-period",
        "systemctl enable --now qfleet-gpu-check.timer",
        "nvidia-ctk runtime configure --runtime=docker",
        "command -v docker >/dev/null || dnf install -y docker",
        " --gpus all ",
    ] {
        assert!(ud.contains(needed), "{needed}:\n{ud}");
    }
    // The check runs before the worker starts: a bootstrap on an instance without its GPUs
    // fails, and no worker runs there.
    let check = ud.find("\n/usr/local/bin/qfleet-gpu-check\n").unwrap();
    let worker = ud
        .find("systemctl enable --now qfleet-worker.service")
        .unwrap();
    assert!(check < worker);
    // The one more grant: this group's instances' health, on this group only.
    let grant = statement(&fleet, "ReportMissingGpus").expect("ReportMissingGpus");
    assert_eq!(
        grant["Action"].as_str(),
        Some("autoscaling:SetInstanceHealth")
    );
    let scope = serde_yaml_ng::to_string(&grant["Resource"]).unwrap();
    assert!(
        scope.contains(":autoScalingGroup:*:autoScalingGroupName/qfleet-gpu-workers"),
        "{scope}"
    );
}

#[test]
fn a_gpu_script_worker_sees_the_driver_and_is_checked_the_same_way() {
    // The script is read beside the stack file: the workspace's stacks/.
    let env = config::parse(
        config::workspace_root().join("stacks/t.yaml"),
        "region: eu-west-1\nworkers:\n  instance_type: g5g.2xlarge\n  gpu: {count: 1}\n  user_data: ../examples/batch-worker.sh\n".to_string(),
    )
    .unwrap()
    .into_only();
    let (_, fleet) = rendered(&env);
    // A Graviton GPU type gets the arm64 image.
    assert!(
        fleet["Parameters"]["ImageId"]["Default"]
            .as_str()
            .unwrap()
            .contains("/arm64/base-oss-nvidia-driver-gpu-amazon-linux-2023/")
    );
    let ud = user_data(&fleet);
    assert!(
        ud.contains("QFLEET_GPUS=1") && ud.contains("qfleet-gpu-check"),
        "{ud}"
    );
    assert!(
        !ud.contains("--gpus all"),
        "no container: nothing to hand GPUs to"
    );
    let check = ud.find("\n/usr/local/bin/qfleet-gpu-check\n").unwrap();
    assert!(check < ud.find("/etc/qfleet/user-data.sh\n").unwrap());
}

#[test]
fn without_gpu_nothing_of_it_is_rendered() {
    let (_, fleet) = rendered(&load("examples/container.yaml"));
    let ud = user_data(&fleet);
    for absent in ["QFLEET_GPUS", "nvidia", "--gpus", "set-instance-health"] {
        assert!(!ud.contains(absent), "{absent}");
    }
    assert!(statement(&fleet, "ReportMissingGpus").is_none());
    assert!(ud.contains("\ndnf install -y docker\n"));
}
