//! Deploy-time discovery of the default VPC's subnets (`workers.network: default`).

use super::Result;
use super::error::AwsError;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, LocationType};
use std::collections::{BTreeMap, BTreeSet};

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

/// The default VPC and its default subnet in each availability zone that offers at least one
/// of `instance_types` (at least two zones).
pub async fn default_placement(
    ec2: &Client,
    region: &str,
    instance_types: &[&str],
) -> Result<Placement> {
    let instance_type = instance_types.join(" or ");
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
    let mut by_az: BTreeMap<String, String> = BTreeMap::new();
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
        )));
    }
    // Not every instance type is offered in every zone: a group whose subnets include a zone
    // without the type fails every launch there. Tasks on Fargate name no instance type.
    if instance_types.is_empty() {
        return Ok(Placement {
            vpc,
            subnets: by_az,
        });
    }
    let offered = zones_offering(ec2, instance_types, by_az.keys()).await?;
    let missing: Vec<String> = by_az
        .keys()
        .filter(|az| !offered.contains(*az))
        .cloned()
        .collect();
    by_az.retain(|az, _| offered.contains(az));
    if by_az.len() < 2 {
        return Err(AwsError::new(format!(
            "{instance_type} is offered in {} of the default VPC's availability zones in {region} (not in {}); the fleet needs at least 2. Choose another workers.instance_type or set workers.network",
            by_az.len(),
            missing.join(", ")
        )));
    }
    Ok(Placement {
        vpc,
        subnets: by_az,
    })
}

/// The availability zones among `zones` that offer any of `instance_types`
/// (DescribeInstanceTypeOfferings with the availability-zone location type).
async fn zones_offering<'a>(
    ec2: &Client,
    instance_types: &[&str],
    zones: impl Iterator<Item = &'a String>,
) -> Result<BTreeSet<String>> {
    let what = instance_types.join(", ");
    let zones: Vec<String> = zones.cloned().collect();
    let mut pages = ec2
        .describe_instance_type_offerings()
        .location_type(LocationType::AvailabilityZone)
        .filters(
            Filter::builder()
                .name("instance-type")
                .set_values(Some(instance_types.iter().map(|t| t.to_string()).collect()))
                .build(),
        )
        .filters(
            Filter::builder()
                .name("location")
                .set_values(Some(zones))
                .build(),
        )
        .into_paginator()
        .send();
    let mut offered = BTreeSet::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            AwsError::from_sdk(
                &format!("finding the availability zones that offer {what}"),
                e,
            )
        })?;
        for o in page.instance_type_offerings() {
            if o.instance_type()
                .is_some_and(|t| instance_types.contains(&t.as_str()))
                && let Some(zone) = o.location()
            {
                offered.insert(zone.to_string());
            }
        }
    }
    Ok(offered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::mock::Rules;
    use aws_sdk_ec2::operation::describe_instance_type_offerings::DescribeInstanceTypeOfferingsOutput;
    use aws_sdk_ec2::operation::describe_subnets::DescribeSubnetsOutput;
    use aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsOutput;
    use aws_sdk_ec2::types::{InstanceType, InstanceTypeOffering, Subnet, Vpc};
    use aws_smithy_mocks::mock;

    /// EC2's DescribeInstanceTypeOfferings with `LocationType: availability-zone` lists the
    /// zones where a type can be launched; "an instance type might not be available in every
    /// Availability Zone of a Region"
    /// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceTypeOfferings.html,
    /// https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-regions.html).
    #[tokio::test]
    async fn as_aws_documents_default_subnets_in_zones_without_the_instance_type_are_left_out() {
        let vpcs = mock!(aws_sdk_ec2::Client::describe_vpcs).then_output(|| {
            DescribeVpcsOutput::builder()
                .vpcs(Vpc::builder().vpc_id("vpc-1").build())
                .build()
        });
        let subnets = mock!(aws_sdk_ec2::Client::describe_subnets).then_output(|| {
            let s = |az: &str, id: &str| {
                Subnet::builder()
                    .availability_zone(az)
                    .subnet_id(id)
                    .build()
            };
            DescribeSubnetsOutput::builder()
                .subnets(s("eu-west-1a", "subnet-a"))
                .subnets(s("eu-west-1b", "subnet-b"))
                .subnets(s("eu-west-1c", "subnet-c"))
                .build()
        });
        let offered = |zones: &'static [&'static str]| {
            mock!(aws_sdk_ec2::Client::describe_instance_type_offerings)
                .match_requests(|r| {
                    r.location_type() == Some(&LocationType::AvailabilityZone)
                        && r.filters().iter().any(|f| {
                            f.name() == Some("instance-type") && f.values() == ["t3.micro"]
                        })
                })
                .then_output(move || {
                    let mut out = DescribeInstanceTypeOfferingsOutput::builder();
                    for z in zones {
                        out = out.instance_type_offerings(
                            InstanceTypeOffering::builder()
                                .instance_type(InstanceType::T3Micro)
                                .location_type(LocationType::AvailabilityZone)
                                .location(*z)
                                .build(),
                        );
                    }
                    out.build()
                })
        };
        let two = offered(&["eu-west-1a", "eu-west-1c"]);
        let clients = Rules {
            ec2: vec![&vpcs, &subnets, &two],
            ..Default::default()
        }
        .clients();
        let p = default_placement(&clients.ec2, "eu-west-1", &["t3.micro"])
            .await
            .unwrap();
        assert_eq!(p.subnet_list(), "subnet-a,subnet-c");

        let one = offered(&["eu-west-1b"]);
        let clients = Rules {
            ec2: vec![&vpcs, &subnets, &one],
            ..Default::default()
        }
        .clients();
        let err = default_placement(&clients.ec2, "eu-west-1", &["t3.micro"])
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("t3.micro is offered in 1 of the default VPC's availability zones")
                && err.contains("not in eu-west-1a, eu-west-1c"),
            "{err}"
        );
    }
}
