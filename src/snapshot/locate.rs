//! Finding a declared resource when its stack does not list it: by its fixed name (queue,
//! bucket) or through the queue's redrive policy (dead-letter queue). Only a sure answer from
//! AWS makes it absent.

use super::{Located, StackSnapshot};
use crate::aws::Clients;
use crate::aws::{self, Queue};
use crate::render::{ResourceNames, ids};
use crate::snapshot::fact::Fact;

pub(super) fn to_fact(l: Located, logical: &str, stack: &str) -> Fact<String> {
    match l {
        Located::Physical(id) => Fact::Known(id),
        Located::Absent => Fact::Absent,
        Located::NotListed => Fact::Unknown(format!("{stack} does not list {logical}").into()),
        Located::Unknown(why) => Fact::Unknown(why),
    }
}

pub(super) async fn locate_bucket(
    clients: &Clients,
    data: &StackSnapshot,
    names: &ResourceNames,
) -> Fact<String> {
    match data.locate(ids::BUCKET) {
        Located::NotListed => {
            let Some(account) = data.state.known().and_then(|s| s.account()) else {
                return Fact::Unknown(
                    format!(
                        "{} does not list {} and its account is unknown",
                        data.name,
                        ids::BUCKET
                    )
                    .into(),
                );
            };
            let name = format!("{}-{account}-{}", names.bucket, clients.region);
            match aws::bucket_exists(&clients.s3, &name).await {
                Ok(true) => Fact::Known(name),
                Ok(false) => Fact::Absent,
                Err(e) => Fact::Unknown(e.into()),
            }
        }
        other => to_fact(other, ids::BUCKET, &data.name),
    }
}

/// The queue `logical` of the data stack, by the stack's listing or by its fixed `name`.
pub(super) async fn locate_queue(
    clients: &Clients,
    data: &StackSnapshot,
    name: &str,
    logical: &str,
) -> Fact<Queue> {
    let url = match data.locate(logical) {
        Located::Physical(url) => url,
        Located::NotListed => match aws::queue_url(&clients.sqs, name).await {
            Ok(Some(url)) => url,
            Ok(None) => return Fact::Absent,
            Err(e) => return Fact::Unknown(e.into()),
        },
        Located::Absent => return Fact::Absent,
        Located::Unknown(why) => return Fact::Unknown(why),
    };
    Fact::from(aws::describe_queue(&clients.sqs, &url).await)
}

pub(super) async fn locate_dead_letter_queue(
    clients: &Clients,
    data: &StackSnapshot,
    queue: &Fact<Queue>,
    logical: &str,
) -> Fact<Queue> {
    let url = match data.locate(logical) {
        Located::Physical(url) => url,
        Located::NotListed => {
            // The queue's redrive policy names it.
            let target = match queue {
                Fact::Known(q) => q.dead_letter_target(),
                _ => None,
            };
            let Some(arn) = target else {
                return Fact::Unknown(
                    format!(
                        "{} does not list {logical} and no redrive policy names it",
                        data.name
                    )
                    .into(),
                );
            };
            match aws::queue_url(&clients.sqs, aws::queue_name(&arn)).await {
                Ok(Some(url)) => url,
                Ok(None) => return Fact::Absent,
                Err(e) => return Fact::Unknown(e.into()),
            }
        }
        Located::Absent => return Fact::Absent,
        Located::Unknown(why) => return Fact::Unknown(why),
    };
    Fact::from(aws::describe_queue(&clients.sqs, &url).await)
}
