//! The VPC endpoints `workers.network.endpoints: create` made, after the data stack is gone.
//!
//! The data stack keeps them (DeletionPolicy RetainExceptOnCreate) with their security group
//! and prefix list: an interface endpoint with private DNS serves the whole VPC, and nothing
//! qfleet can read proves that nothing else uses it (a group scaled to zero has no network
//! interface, yet its next instance calls SQS through it). So teardown keeps them and says
//! so, and deletes them only when asked (`--delete-endpoints`). They are found by their
//! `qfleet:environment` tag, so a teardown run again later (the stacks gone) finds them too.

use super::{Ctx, TeardownOutcome};
use crate::aws;
use crate::error::{Error, Result};

/// The interface type of an endpoint's own network interfaces
/// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NetworkInterface.html>).
const ENDPOINT_INTERFACE: &str = "vpc_endpoint";

/// How many times the group's deletion is tried while its endpoints' interfaces go.
const GROUP_TRIES: u32 = 60;

/// The `Name` tag of the endpoints' group and prefix list (templates/data.yaml.j2).
fn made_name(env: &str) -> String {
    format!("qfleet-{env}-endpoints")
}

/// Whether a stage of the file asks for endpoints (`workers.network.endpoints: create`).
pub(super) fn asked(env: &crate::config::Environment) -> bool {
    env.stages().iter().any(|s| {
        matches!(&s.spec.workers.network, crate::config::Network::Explicit(n)
            if n.endpoints == crate::config::EndpointsMode::Create)
    })
}

/// Whether the data stack held endpoints, or its resources could not be read (then they are
/// looked for: "could not read" is not "none").
pub(super) fn had(data: &crate::snapshot::StackSnapshot) -> bool {
    match &data.resources {
        crate::snapshot::Fact::Known(r) => r
            .values()
            .any(|r| r.resource_type == "AWS::EC2::VPCEndpoint"),
        crate::snapshot::Fact::Absent => false,
        _ => true,
    }
}

/// Keeps and says the environment's endpoints, or deletes them with their group and prefix
/// list when asked. An error says that the stacks are gone and what to run again.
pub(super) async fn tidy(at: &Ctx<'_>, out: &mut TeardownOutcome) -> Result<()> {
    let again = format!(
        "run `qfleet teardown {} --delete-endpoints` again to delete them",
        at.env.name
    );
    tidy_inner(at, out).await.map_err(|e| {
        Error::aws(format!(
            "the VPC endpoints `workers.network.endpoints: create` made were not tidied: {e}; {again}"
        ))
    })
}

async fn tidy_inner(at: &Ctx<'_>, out: &mut TeardownOutcome) -> Result<()> {
    let Ctx {
        clients,
        env,
        opts,
        reporter,
    } = *at;
    let ec2 = &clients.ec2;
    let region = &clients.region;
    let made = aws::network_made_for(ec2, region, &env.name, &made_name(&env.name)).await?;
    let ids: Vec<String> = made.endpoints.iter().map(|e| e.id.clone()).collect();
    let all: Vec<String> = ids
        .iter()
        .chain(made.groups.iter().map(|(g, _)| g))
        .chain(&made.lists)
        .cloned()
        .collect();
    if all.is_empty() {
        return Ok(());
    }
    if !opts.delete_endpoints {
        let services: Vec<&str> = made.endpoints.iter().map(|e| e.service.as_str()).collect();
        let line = format!(
            "the VPC endpoints for {} ({}), their group and prefix list: kept, as they serve the whole VPC; once nothing else there uses them: qfleet teardown {} --delete-endpoints",
            services.join(", "),
            all.join(", "),
            env.name
        );
        reporter.line(format!("{}: {line}", env.name));
        out.endpoints_kept.extend(all);
        return Ok(());
    }
    let mut vpcs: Vec<&str> = made.endpoints.iter().map(|e| e.vpc.as_str()).collect();
    vpcs.extend(made.groups.iter().map(|(_, v)| v.as_str()));
    vpcs.sort_unstable();
    vpcs.dedup();
    for vpc in vpcs {
        let others = aws::network_interfaces_in(ec2, vpc)
            .await?
            .into_iter()
            .filter(|(_, kind)| kind != ENDPOINT_INTERFACE)
            .count();
        if others > 0 {
            reporter.line(format!(
                "WARNING: {}: deleting the VPC endpoints in {vpc} as --delete-endpoints asks; {others} other network interface(s) there reach AWS through a NAT gateway, or not at all, from now on",
                env.name
            ));
        }
    }
    if !ids.is_empty() {
        aws::delete_vpc_endpoints(ec2, &ids).await?;
    }
    let mut deleted = ids;
    for (g, vpc) in &made.groups {
        // The endpoints' interfaces go a little after the endpoints: the group is free then.
        let mut delay = opts.polling.first;
        let mut gone = false;
        for _ in 0..GROUP_TRIES {
            if aws::delete_security_group(ec2, g).await? {
                gone = true;
                break;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 3 / 2).min(opts.polling.max);
        }
        match gone {
            true => deleted.push(g.clone()),
            false => {
                out.endpoints_kept.push(g.clone());
                out.retained.push(format!(
                    "security group {g} of the VPC endpoints in {vpc}: still in use {GROUP_TRIES} tries after the endpoints were deleted; run `qfleet teardown {} --delete-endpoints` again",
                    env.name
                ));
            }
        }
    }
    // The prefix list goes once no group refers to it.
    if out.endpoints_kept.is_empty() {
        for l in &made.lists {
            aws::delete_prefix_list(ec2, l).await?;
            deleted.push(l.clone());
        }
    } else {
        out.endpoints_kept.extend(made.lists.iter().cloned());
    }
    reporter.line(format!(
        "{}: deleted the VPC endpoints, their group and prefix list: {}",
        env.name,
        deleted.join(", ")
    ));
    // No longer retained: the data stack's deletion listed them as kept by its policy.
    out.retained.retain(|r| {
        !deleted
            .iter()
            .any(|id| r.split([' ', ',', '(', ')']).any(|w| w == id))
    });
    out.endpoints_deleted.extend(deleted);
    Ok(())
}
