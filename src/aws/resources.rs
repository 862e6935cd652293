//! The physical resources of a deployed environment, found through its stacks.

use super::sdk_error;
use crate::error::Result;
use aws_sdk_cloudformation::Client;
use serde::Serialize;
use std::collections::BTreeMap;

/// Physical ids by logical id, for one stack (empty when the stack does not exist).
pub async fn physical_ids(cfn: &Client, stack: &str) -> Result<BTreeMap<String, String>> {
    match cfn
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .stack_resources()
            .iter()
            .filter_map(|r| {
                Some((
                    r.logical_resource_id()?.to_string(),
                    r.physical_resource_id()?.to_string(),
                ))
            })
            .filter(|(_, id)| !id.is_empty() && id != "None")
            .collect()),
        Err(e) if super::error_message(&e).is_some_and(|m| m.contains("does not exist")) => {
            Ok(BTreeMap::new())
        }
        Err(e) => Err(sdk_error(&format!("listing the resources of {stack}"), e)),
    }
}

/// The resources qfleet's checks and reports look at.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EnvResources {
    pub bucket: Option<String>,
    pub topic_arn: Option<String>,
    pub queue_url: Option<String>,
    pub dlq_url: Option<String>,
    pub group: Option<String>,
}

impl EnvResources {
    pub fn from_ids(data: &BTreeMap<String, String>, fleet: &BTreeMap<String, String>) -> Self {
        EnvResources {
            bucket: data.get("Bucket").cloned(),
            topic_arn: data.get("Topic").cloned(),
            queue_url: data.get("Queue").cloned(),
            dlq_url: data.get("DeadLetterQueue").cloned(),
            group: fleet.get("WorkerGroup").cloned(),
        }
    }
}

/// The queue's name: the last segment of its URL.
pub fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}
