//! Deploy-time discovery of the default VPC's subnets (`workers.network: default`).

use super::error::AwsError;
use crate::error::Result;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::Filter;
use std::collections::BTreeMap;

/// The VPC and one subnet per availability zone the workers run in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub vpc: String,
    /// Availability zone → subnet id.
    pub subnets: BTreeMap<String, String>,
}

impl Placement {
    pub fn subnet_list(&self) -> String {
        self.subnets.values().cloned().collect::<Vec<_>>().join(",")
    }
}

/// The default VPC and its default subnet in each availability zone (at least two zones).
pub async fn default_placement(ec2: &Client, region: &str) -> Result<Placement> {
    let vpcs = ec2
        .describe_vpcs()
        .filters(Filter::builder().name("is-default").values("true").build())
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("finding the default VPC", e))?;
    let vpc = vpcs
        .vpcs()
        .first()
        .and_then(|v| v.vpc_id())
        .ok_or_else(|| {
            AwsError::new(format!(
                "{region} has no default VPC; set workers.network to a VPC and its subnets in the stack file"
            ))
        })?
        .to_string();
    let subnets = ec2
        .describe_subnets()
        .filters(Filter::builder().name("vpc-id").values(&vpc).build())
        .filters(
            Filter::builder()
                .name("default-for-az")
                .values("true")
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("listing the default VPC's subnets", e))?;
    let mut by_az = BTreeMap::new();
    for s in subnets.subnets() {
        if let (Some(az), Some(id)) = (s.availability_zone(), s.subnet_id()) {
            by_az
                .entry(az.to_string())
                .or_insert_with(|| id.to_string());
        }
    }
    if by_az.len() < 2 {
        return Err(AwsError::new(format!(
            "the default VPC {vpc} in {region} has default subnets in {} availability zone(s); the fleet needs at least 2. Create default subnets (aws ec2 create-default-subnet) or set workers.network in the stack file",
            by_az.len()
        ))
        .into());
    }
    Ok(Placement {
        vpc,
        subnets: by_az,
    })
}
