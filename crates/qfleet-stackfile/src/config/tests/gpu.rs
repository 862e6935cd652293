//! `workers.gpu`: NVIDIA GPU types only, the Deep Learning Base AMI by default (of the types'
//! architecture), never Amazon Linux 2, a root volume that holds the image, EC2 only.

use super::{error, parse_str};
use crate::config::schema::{GPU_AMI_ARM, GPU_AMI_X86, GpuSpec};

const GPU: &str = "region: eu-west-1\nworkers:\n  instance_type: g6.xlarge\n  gpu: {count: 1}\n";

#[test]
fn a_gpu_worker_gets_the_image_with_the_driver_and_room_for_it() {
    let w = parse_str(GPU).unwrap().into_only().spec.workers;
    assert_eq!(
        w.gpu,
        Some(GpuSpec {
            count: 1,
            accelerator: None
        })
    );
    assert_eq!(w.machine_image(), GPU_AMI_X86);
    assert_eq!(w.root_volume(), 100);
    // Graviton GPU types (G5g) get the arm64 image.
    let w = parse_str("region: eu-west-1\nworkers:\n  instance_type: g5g.xlarge\n  gpu: {}\n")
        .unwrap()
        .into_only()
        .spec
        .workers;
    assert_eq!(
        (w.machine_image(), w.gpu.as_ref().unwrap().count),
        (GPU_AMI_ARM, 1)
    );
    // A size of the file's own, at least the snapshot, is kept; without gpu nothing changes.
    let w = parse_str(&format!("{GPU}  root_volume_gib: 200\n"))
        .unwrap()
        .into_only()
        .spec
        .workers;
    assert_eq!(w.root_volume(), 200);
    let w = parse_str("region: eu-west-1\n")
        .unwrap()
        .into_only()
        .spec
        .workers;
    assert_eq!(
        (w.root_volume(), w.machine_image().contains("al2023-ami")),
        (8, true)
    );
}

#[test]
fn a_type_without_an_nvidia_gpu_is_refused_with_why() {
    for (t, why) in [
        ("t3.micro", "has no NVIDIA GPU"),
        ("g4ad.xlarge", "AMD"),
        ("inf2.xlarge", "Neuron"),
        ("g6f.large", "GRID"),
        ("p3.2xlarge", "earlier generation"),
    ] {
        let yaml =
            format!("region: eu-west-1\nworkers:\n  instance_type: {t}\n  gpu: {{count: 1}}\n");
        let e = error(&yaml, "workers.instance_type", 3);
        assert!(
            e.message.contains(why) && e.message.contains("g6e"),
            "{t}: {e}"
        );
    }
    let e = error(
        "region: eu-west-1\nworkers:\n  instance_types: [g6.xlarge, m7i.xlarge]\n  gpu: {count: 1}\n",
        "workers.instance_types",
        3,
    );
    assert!(e.message.contains("m7i.xlarge"), "{e}");
}

#[test]
fn an_image_without_the_driver_or_past_its_end_of_life_is_refused() {
    let al2 = "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2";
    let e = error(&format!("{GPU}  ami: {al2}\n"), "workers.ami", 5);
    assert!(e.message.contains("Amazon Linux 2 image"), "{e}");
    let dl_al2 = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2/latest/ami-id";
    let e = error(&format!("{GPU}  ami: {dl_al2}\n"), "workers.ami", 5);
    assert!(e.message.contains("end of life"), "{e}");
    let plain = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
    let e = error(&format!("{GPU}  ami: {plain}\n"), "workers.ami", 5);
    assert!(e.message.contains("no NVIDIA driver"), "{e}");
    // An image of the team's own is its choice, and keeps its root volume size.
    let w = parse_str(&format!("{GPU}  ami: ami-0123456789abcdef0\n"))
        .unwrap()
        .into_only()
        .spec
        .workers;
    assert_eq!(
        (w.machine_image(), w.root_volume()),
        ("ami-0123456789abcdef0", 8)
    );
    // Amazon Linux 2023's own paths are not Amazon Linux 2.
    assert!(!crate::config::checks::gpu::is_amazon_linux_2(GPU_AMI_X86));
}

#[test]
fn a_root_volume_smaller_than_the_image_and_bad_counts_are_refused() {
    let e = error(
        &format!("{GPU}  root_volume_gib: 30\n"),
        "workers.root_volume_gib",
        5,
    );
    assert!(e.message.contains("75 GiB"), "{e}");
    let e = error(
        "region: eu-west-1\nworkers:\n  instance_type: g6.xlarge\n  gpu: {count: 0}\n",
        "workers.gpu.count",
        4,
    );
    assert!(e.message.contains("1"), "{e}");
    let e = error(
        "region: eu-west-1\nworkers:\n  instance_type: g6.xlarge\n  gpu: {count: 1, accelerator: \"L4; rm\"}\n",
        "workers.gpu.accelerator",
        4,
    );
    assert!(e.message.contains("GPU model"), "{e}");
}

#[test]
fn gpu_is_refused_on_fargate_and_lambda_naming_the_kind_that_offers_it() {
    let e = error(
        "region: eu-west-1\nworkers:\n  kind: fargate\n  image: public.ecr.aws/org/w:1\n  gpu: {count: 1}\n",
        "workers.gpu",
        5,
    );
    assert!(
        e.message.contains("Fargate runs no GPUs") && e.message.contains("kind: ec2"),
        "{e}"
    );
    let e = error(
        "region: eu-west-1\nworkers:\n  kind: lambda\n  lambda: {code: ./w, runtime: python3.12, handler: w.h}\n  gpu: {count: 1}\n",
        "workers.gpu",
        5,
    );
    assert!(e.message.contains("EC2 workers only"), "{e}");
}
