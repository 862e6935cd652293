//! One stack as the snapshot holds it: its state, its resources and, when asked, the deletion
//! policies of the template CloudFormation holds.

use super::{StackSnapshot, optional};
use crate::aws;
use crate::aws::Clients;
use crate::snapshot::fact::Fact;
use std::collections::BTreeMap;

pub(super) async fn read_stack(
    clients: &Clients,
    name: &str,
    with_policies: bool,
) -> StackSnapshot {
    let (state, resources, template) = tokio::join!(
        aws::describe_stack(&clients.cfn, name),
        aws::stack_resources(&clients.cfn, name),
        optional(with_policies, async {
            Fact::from(aws::stack_template(&clients.cfn, name).await)
        }),
    );
    let deletion_policies = template.map(|t| {
        t.and_then(|body| match deletion_policies(&body) {
            Ok(p) => Fact::Known(p),
            Err(why) => {
                Fact::Unknown(format!("the template of {name} could not be read: {why}").into())
            }
        })
    });
    StackSnapshot {
        name: name.to_string(),
        state: Fact::from(state),
        resources: Fact::from(resources),
        deletion_policies,
    }
}

/// DeletionPolicy by logical id of every resource that declares one, from a template body
/// (YAML or JSON). A body without a `Resources` mapping is not a template.
pub fn deletion_policies(body: &str) -> Result<BTreeMap<String, String>, String> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(body).map_err(|e| e.to_string())?;
    let resources = doc
        .get("Resources")
        .and_then(|r| r.as_mapping())
        .ok_or("it has no Resources section")?;
    let mut out = BTreeMap::new();
    for (k, v) in resources {
        let logical = k.as_str().ok_or("a resource id that is not a string")?;
        if let Some(p) = v.get("DeletionPolicy") {
            let p = p
                .as_str()
                .ok_or_else(|| format!("{logical} has a DeletionPolicy that is not a string"))?;
            out.insert(logical.to_string(), p.to_string());
        }
    }
    Ok(out)
}
