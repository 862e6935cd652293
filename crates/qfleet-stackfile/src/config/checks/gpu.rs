//! The rules for `workers.gpu`: NVIDIA GPU instance types that the image with the driver runs,
//! an AMI that has the driver (never Amazon Linux 2), and a root volume that holds the image.
//! What needs AWS (the GPUs each type has, its model, the account's quota) is checked by plan
//! and deploy.

use super::Checker;
use crate::config::schema::{DEFAULT_AMI, GPU_AMI_SNAPSHOT_GIB, GpuSpec, WorkersSpec};

/// The NVIDIA GPU families the Deep Learning Base OSS Nvidia Driver GPU AMI (Amazon Linux
/// 2023) supports, x86_64 and arm64 ("supported_ec2_instances" in its release notes,
/// <https://docs.aws.amazon.com/dlami/latest/devguide/aws-deep-learning-ami-gpubaseoss-al2023.html>
/// and its ARM64 sibling's).
pub const GPU_FAMILIES: &[&str] = &[
    "g4dn",
    "g5",
    "g5g",
    "g6",
    "gr6",
    "g6e",
    "g7e",
    "p4d",
    "p4de",
    "p5",
    "p5e",
    "p5en",
    "p6-b200",
    "p6-b300",
    "p6e-gb200",
    "p6e-gb300",
];

/// The GPU models `InstanceRequirementsRequest.AcceleratorNames` takes, as EC2 names them in
/// `workers.gpu.accelerator` (upper case) and as an ECS Managed Instances capacity provider
/// spells them (`kind: ecs_managed`).
pub const ACCELERATOR_NAMES: &[(&str, &str)] = &[
    ("A10G", "a10g"),
    ("A100", "a100"),
    ("H100", "h100"),
    ("K80", "k80"),
    ("L4", "l4"),
    ("L40S", "l40s"),
    ("M60", "m60"),
    ("T4", "t4"),
    ("T4G", "t4g"),
    ("V100", "v100"),
];

/// The capacity provider's name for a GPU model EC2 names (`L4` → `l4`); `None` for one it
/// does not take.
pub fn accelerator_name(model: &str) -> Option<&'static str> {
    ACCELERATOR_NAMES
        .iter()
        .find(|(ec2, _)| ec2.eq_ignore_ascii_case(model))
        .map(|(_, name)| *name)
}

/// Why a family with an accelerator is not one `workers.gpu` runs.
fn not_ours(family: &str) -> &'static str {
    match family {
        "g4ad" => "its GPU is AMD's, and the image qfleet runs carries NVIDIA's driver",
        "g6f" => {
            "its fractional L4 GPUs need NVIDIA's GRID driver, which the image qfleet runs does not carry"
        }
        "g3" | "g3s" | "p2" | "p3" | "p3dn" => {
            "an earlier generation whose GPUs the current NVIDIA driver on Amazon Linux 2023 does not support"
        }
        f if f.starts_with("inf") || f.starts_with("trn") => {
            "its accelerators are AWS Neuron devices, not GPUs: they need the Neuron SDK and a Neuron image"
        }
        f if f.starts_with("dl") || f.starts_with("vt") || f.starts_with('f') => {
            "its accelerators are not NVIDIA GPUs"
        }
        _ => "it has no NVIDIA GPU",
    }
}

pub(super) fn check(c: &mut Checker, w: &WorkersSpec, gpu: &GpuSpec) {
    c.range("workers.gpu.count", gpu.count.into(), 1, 16, "");
    if let Some(a) = &gpu.accelerator {
        let ok = !a.is_empty()
            && a.len() <= 32
            && a.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == ' ');
        if !ok {
            c.fail(
                "workers.gpu.accelerator",
                format!("`{a}` is not a GPU model as EC2 names it (letters, digits and -, such as L4, A10G, L40S, H100)"),
            );
        }
    }
    let field = match w.instance_types {
        Some(_) => "workers.instance_types",
        None => "workers.instance_type",
    };
    for t in w.types() {
        let family = t.split('.').next().unwrap_or_default();
        if !GPU_FAMILIES.contains(&family) {
            let why = not_ours(family);
            c.fail(
                field,
                format!(
                    "{t} cannot run workers.gpu: {why}; NVIDIA GPU families qfleet runs: {}",
                    GPU_FAMILIES.join(", ")
                ),
            );
        }
    }
    check_ami(c, w);
}

/// A GPU worker's AMI: the Deep Learning Base AMI unless the file names one; not Amazon Linux 2
/// (its standard support ended on 2026-06-30: "Amazon Linux 2 FAQs",
/// <https://aws.amazon.com/amazon-linux-2/faqs/>), not plain Amazon Linux 2023 (no NVIDIA
/// driver).
fn check_ami(c: &mut Checker, w: &WorkersSpec) {
    let ami = &w.ami;
    if c.src.sets("workers.ami") {
        if is_amazon_linux_2(ami) {
            c.fail(
                "workers.ami",
                format!("`{ami}` is an Amazon Linux 2 image, past its end of life; leave workers.ami out for the Amazon Linux 2023 image with the NVIDIA driver"),
            );
        } else if ami.starts_with("/aws/service/ami-amazon-linux-latest/al2023-") {
            c.fail(
                "workers.ami",
                format!("`{ami}` has no NVIDIA driver, so workers.gpu would find no GPU; leave workers.ami out for AWS's Deep Learning Base AMI (Amazon Linux 2023 with the driver), or name an image that has it"),
            );
        }
    }
    if ami == DEFAULT_AMI
        && c.src.sets("workers.root_volume_gib")
        && w.root_volume_gib < GPU_AMI_SNAPSHOT_GIB
    {
        c.fail(
            "workers.root_volume_gib",
            format!(
                "{} GiB is smaller than the GPU image's {GPU_AMI_SNAPSHOT_GIB} GiB snapshot, so every launch would fail; give at least {GPU_AMI_SNAPSHOT_GIB} (default with workers.gpu: 100)",
                w.root_volume_gib
            ),
        );
    }
}

/// An SSM path or name of an Amazon Linux 2 image (`amzn2-ami-…`, `…/amazon-linux-2/…`,
/// `…-amazon-linux-2/latest/…`), not Amazon Linux 2023's.
pub(crate) fn is_amazon_linux_2(ami: &str) -> bool {
    ami.contains("amzn2")
        || ami
            .split(['/', '-'])
            .collect::<Vec<_>>()
            .windows(3)
            .any(|w| w == ["amazon", "linux", "2"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gpu_model_named_is_one_the_capacity_provider_takes() {
        // InstanceRequirementsRequest.AcceleratorNames' values (the CloudFormation resource
        // schema of AWS::ECS::CapacityProvider).
        let allowed = [
            "a10g",
            "a100",
            "h100",
            "inferentia",
            "k520",
            "k80",
            "m60",
            "radeon-pro-v520",
            "t4",
            "t4g",
            "vu9p",
            "v100",
            "l40s",
            "l4",
        ];
        for (ec2, name) in ACCELERATOR_NAMES {
            assert!(allowed.contains(name), "{name}");
            assert_eq!(accelerator_name(&ec2.to_lowercase()), Some(*name));
        }
        assert_eq!(accelerator_name("B200"), None);
    }
}
