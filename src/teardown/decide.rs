//! What a teardown may delete, decided from a snapshot alone, on positive evidence only: every
//! data-bearing resource the templates declare must be found absent, or read with its numbers,
//! before anything is deleted. What could not be checked is a refusal, never "empty".

use super::errors::TeardownRefusal;
use crate::aws::ObjectVersion as Version;
use crate::aws::StackState;
use crate::output::words::count;
use crate::render::ids;
use crate::snapshot::{Fact, ImageRepository};
use crate::snapshot::{Snapshot, StackSnapshot};
use serde::Serialize;

/// The data-bearing resources of the data template, by logical id and type. A test holds this
/// list against the rendered templates, so a new stateful resource cannot be missed here.
/// qfleet's code bucket (`CodeBucket`, only with a function's deployment package) holds no
/// data of the user's: [`code_at_risk`] decides on it.
#[cfg(test)]
pub(crate) const DATA_BEARING: &[(&str, &str)] = &[
    (ids::BUCKET, "AWS::S3::Bucket"),
    (ids::QUEUE, "AWS::SQS::Queue"),
    (ids::DEAD_LETTER_QUEUE, "AWS::SQS::Queue"),
    (ids::JOB_TABLE, "AWS::DynamoDB::Table"),
    (ids::RESPONSE_QUEUE, "AWS::SQS::Queue"),
];

/// Resources of the data template that are stateful by type but hold nothing of the user's:
/// the leases of the jobs on their last attempt (`jobs:`) live for one attempt, and the job
/// table keeps each job's record. The same test holds this list against the templates.
#[cfg(test)]
pub(crate) const TRANSIENT: &[(&str, &str)] = &[(ids::LEASE_TABLE, "AWS::DynamoDB::Table")];

/// Deletion policies under which deleting the stack keeps the resource.
fn retains(policy: &str) -> bool {
    matches!(policy, "Retain" | "RetainExceptOnCreate")
}

/// The losses the user allowed, and how far the teardown goes.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Allowed {
    pub(super) purge_bucket: bool,
    pub(super) discard_messages: bool,
    /// `--delete-job-records`: the job table goes with the records it holds.
    pub(super) delete_job_records: bool,
    /// `--delete-images`: the images qfleet built go with their repository.
    pub(super) delete_images: bool,
    /// `--producers-detached`: no role, user or group attaches a producers' policy.
    pub(super) producers_detached: bool,
    pub(super) disable_termination_protection: bool,
    pub(super) only_fleet: bool,
    /// The stack file asks for termination protection (`termination_protection`, the default
    /// outside labs).
    pub(super) wants_protection: bool,
    /// `--yes`: nobody is asked, so protection the file asks for and the stacks lack is
    /// refused as protection in place is, unless `--disable-termination-protection`.
    pub(super) yes: bool,
}

/// Why a teardown refuses: data to lose, protection to lift, or something it could not check.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub(super) enum Refusal {
    Protected {
        stacks: Vec<String>,
    },
    /// The stack file asks for termination protection and these stacks do not have it (a
    /// deploy could not set it): with `--yes` nobody would be told, so it is refused as
    /// protection in place is.
    ProtectionMissing {
        stacks: Vec<String>,
    },
    BucketHoldsObjects {
        bucket: String,
        objects: u64,
        bytes: u64,
    },
    QueueHoldsMessages {
        queue: String,
        dead_letter: bool,
        messages: u64,
    },
    /// The job table (`jobs:`) holds records (expired ones count until DynamoDB deletes them).
    TableHoldsRecords {
        table: String,
    },
    /// qfleet's code bucket holds objects qfleet did not write: they are not deleted on a
    /// guess (qfleet deletes only its packages, `lambda/<sha256>.zip`).
    CodeBucketHoldsOthers {
        bucket: String,
        /// Object versions and delete markers that are not qfleet's packages.
        objects: u64,
        /// The first few of their keys.
        keys: Vec<String>,
    },
    /// The repository of the images qfleet built (`workers.image.build`) holds images.
    RepositoryHoldsImages {
        repository: String,
        images: u64,
    },
    CannotCheck {
        what: String,
        why: String,
    },
    /// The producers' managed policy (`sources.messages`) may be attached to roles, users or
    /// groups that are not qfleet's: deleting it would detach it from them. qfleet does not
    /// read IAM, so only the user can say it is attached to nothing.
    ProducerPolicy {
        policy: String,
    },
    /// Schedules (`sources.schedules`) may send a run between the queues' check and their
    /// deletion, and that job would go with the queue.
    Schedules {
        schedules: Vec<String>,
    },
    /// The stack has the environment's name but not qfleet's marks for it (see
    /// [`crate::ownership`]): qfleet did not create it for this environment.
    NotOurs {
        stack: String,
        lacks: Vec<String>,
    },
}

impl Refusal {
    /// The flag that allows this loss, when one does.
    pub(super) fn flag(&self) -> Option<&'static str> {
        match self {
            Refusal::Protected { .. } | Refusal::ProtectionMissing { .. } => {
                Some("--disable-termination-protection")
            }
            Refusal::BucketHoldsObjects { .. } => {
                Some("--purge-bucket (empties the bucket, all versions)")
            }
            Refusal::QueueHoldsMessages { .. } => Some("--discard-messages"),
            Refusal::TableHoldsRecords { .. } => {
                Some("--delete-job-records (deletes the job table with every job's record)")
            }
            Refusal::RepositoryHoldsImages { .. } => Some(
                "--delete-images (deletes the images qfleet built; a deploy builds them again from source)",
            ),
            Refusal::ProducerPolicy { .. } => {
                Some("--producers-detached (once no role, user or group attaches the policy)")
            }
            Refusal::Schedules { .. } => {
                Some("--discard-messages (a job a schedule sends meanwhile is lost)")
            }
            Refusal::CodeBucketHoldsOthers { .. }
            | Refusal::CannotCheck { .. }
            | Refusal::NotOurs { .. } => None,
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Refusal::Protected { stacks } => format!(
                "{} {} termination protection",
                stacks.join(" and "),
                if stacks.len() == 1 { "has" } else { "have" }
            ),
            Refusal::ProtectionMissing { stacks } => missing_protection(stacks),
            Refusal::BucketHoldsObjects {
                bucket,
                objects,
                bytes,
            } => format!(
                "bucket {bucket}: {}, {}",
                count(*objects, "object", "objects"),
                indicatif::DecimalBytes(*bytes)
            ),
            Refusal::QueueHoldsMessages {
                queue,
                dead_letter,
                messages,
            } => format!(
                "{} {queue}: {}",
                if *dead_letter { "DLQ" } else { "queue" },
                count(*messages, "message", "messages")
            ),
            Refusal::TableHoldsRecords { table } => {
                format!("job table {table}: holds jobs' records")
            }
            Refusal::CodeBucketHoldsOthers {
                bucket,
                objects,
                keys,
            } => format!(
                "code bucket {bucket} holds {} qfleet did not write ({}); qfleet deletes only its packages (lambda/<sha256>.zip): move or delete the others yourself",
                count(*objects, "object", "objects"),
                keys.join(", ")
            ),
            Refusal::RepositoryHoldsImages { repository, images } => format!(
                "ECR repository {repository}: {}",
                count(*images, "image", "images")
            ),
            Refusal::CannotCheck { what, why } => format!("could not check {what}: {why}"),
            Refusal::Schedules { schedules } => format!(
                "schedules {} may send a job after the queues were checked (to keep every job, remove sources.schedules from the file and deploy first)",
                schedules.join(", ")
            ),
            Refusal::ProducerPolicy { policy } => format!(
                "producers' policy {policy} may still be attached to your roles; detach it first (aws iam list-entities-for-policy --policy-arn {policy} lists them)"
            ),
            Refusal::NotOurs { stack, lacks } => format!(
                "stack {stack} is not qfleet's for this environment: it lacks {}; qfleet deletes only the stacks it created (delete it yourself, or take it over first with deploy --adopt)",
                lacks.join(" and ")
            ),
        }
    }
}

/// `qfleet-lab-fleet and qfleet-lab-data lack the termination protection their stack file asks
/// for (…)`.
pub(super) fn missing_protection(stacks: &[String]) -> String {
    format!(
        "{} {} the termination protection {} stack file asks for (termination_protection; a deploy could not set it)",
        stacks.join(" and "),
        if stacks.len() == 1 { "lacks" } else { "lack" },
        if stacks.len() == 1 { "its" } else { "their" }
    )
}

/// What the environment holds that a teardown would touch (`null`: could not be counted).
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema, PartialEq)]
pub(crate) struct DataAtRisk {
    pub(super) bucket: Option<String>,
    pub(super) bucket_retained: bool,
    /// Object versions and delete markers.
    pub(super) objects: Option<u64>,
    pub(super) bytes: Option<u64>,
    pub(super) queue: Option<String>,
    pub(super) queue_messages: Option<u64>,
    pub(super) dead_letter_queue: Option<String>,
    pub(super) dead_letter_messages: Option<u64>,
    /// A pipeline's later stages' queues, in the data stack too (absent for one stage).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) stages: Vec<StageQueues>,
    /// The job table and the response queue (`jobs:`; absent without them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) jobs: Option<JobsAtRisk>,
    /// The queue where Scheduler keeps what it could not send to a FIFO stage (absent
    /// without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) schedule_dead_letters: Option<QueueHeld>,
    /// The first stage's priority lane (`queue.priority`; absent without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) priority_queue: Option<QueueHeld>,
}

/// A queue and the messages it holds (`null`: could not be counted).
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema, PartialEq)]
pub(super) struct QueueHeld {
    pub(super) queue: Option<String>,
    pub(super) messages: Option<u64>,
}

/// The job table and the response queue, and what they hold (`null`: could not be read).
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema, PartialEq)]
pub(super) struct JobsAtRisk {
    pub(super) table: Option<String>,
    /// Whether it holds any record.
    pub(super) records: Option<bool>,
    /// Kept when the data stack is deleted (a protected environment's: DeletionPolicy Retain).
    pub(super) retained: bool,
    pub(super) response_queue: Option<String>,
    pub(super) response_messages: Option<u64>,
}

/// The queues of one later stage of a pipeline, and the messages they hold.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema, PartialEq)]
pub(super) struct StageQueues {
    pub(super) stage: String,
    pub(super) queue: Option<String>,
    pub(super) queue_messages: Option<u64>,
    pub(super) dead_letter_queue: Option<String>,
    pub(super) dead_letter_messages: Option<u64>,
    /// Its priority lane (`queue.priority`; absent without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) priority_queue: Option<QueueHeld>,
}

/// A later stage of a pipeline as a teardown reads it: its name, the logical ids of its queues
/// in the data stack, and the snapshot of its stage (its fleet stack and its queues).
pub(super) struct LaterStage {
    pub(super) name: String,
    pub(super) queue_id: String,
    pub(super) dead_letter_id: String,
    /// Its priority lane's logical id (`queue.priority`).
    pub(super) priority_id: String,
    pub(super) snap: Snapshot,
}

/// A bucket and exactly the versions listed in it, to delete.
type Purge = (String, Vec<Version>);

/// What to do: the stacks to delete (fleet first), and the bucket versions to purge.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(super) targets: Vec<StackState>,
    pub(super) data: Option<DataAtRisk>,
    /// Exactly the versions listed, to delete before the data stack (`--purge-bucket`).
    pub(super) purge: Option<Purge>,
    /// The function's packages in qfleet's code bucket, deleted before the data stack: they
    /// are rebuilt from the stack file's code, so no flag is needed.
    pub(super) code_purge: Option<Purge>,
    /// The workers' log group, deleted with the fleet stack with the lines it holds: reported,
    /// like the queues, so that nobody loses them unawares (`None`: the fleet stays).
    pub(super) log_group: Option<Fact<crate::aws::LogGroupHolding>>,
    /// Each later stage's workers' log group, of the later stages' fleets deleted.
    stage_log_groups: Vec<Fact<crate::aws::LogGroupHolding>>,
    /// The repository of the images qfleet built, deleted after the data stack with exactly
    /// the images listed (`--delete-images`); one without qfleet's marks is left.
    pub(super) images: Option<ImageRepository>,
    /// The stacks to delete that lack the termination protection the stack file asks for:
    /// said, and asked about (or lifted by `--disable-termination-protection` with `--yes`).
    pub(super) protection_missing: Vec<String>,
}

impl Plan {
    /// Every workers' log group deleted with its fleet: the first stage's, then the later ones'.
    pub(super) fn log_groups(&self) -> impl Iterator<Item = &Fact<crate::aws::LogGroupHolding>> {
        self.log_group.iter().chain(&self.stage_log_groups)
    }
}

/// The decision on one environment.
// One decision per environment and run, moved once: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(super) enum Decision {
    /// Nothing of the environment exists.
    Nothing,
    Proceed(Plan),
    /// Refused, with every reason at once; `aws_unreadable` when not even the stacks could be read.
    Refuse {
        reasons: Vec<Refusal>,
        data: Option<DataAtRisk>,
        aws_unreadable: bool,
    },
}

/// Decides on a snapshot read with the teardown scope.
#[cfg(test)]
pub(super) fn decide(snap: &Snapshot, allowed: Allowed) -> Decision {
    decide_stages(snap, &[], allowed)
}

/// Decides on a pipeline: `snap` is its first stage's snapshot (the data stack, the bucket and
/// the first queues), `later` the later stages'. Every stage's fleet goes first (the last
/// stage's first), then the data stack, with every stage's queues counted.
pub(super) fn decide_stages(snap: &Snapshot, later: &[LaterStage], allowed: Allowed) -> Decision {
    let mut reasons = Vec::new();
    // Each stack with the snapshot whose environment (and owner) it must be marked with.
    let mut stacks: Vec<(&StackSnapshot, &Snapshot)> = later
        .iter()
        .rev()
        .map(|l| (&l.snap.fleet, &l.snap))
        .collect();
    stacks.push((&snap.fleet, snap));
    if !allowed.only_fleet {
        stacks.push((&snap.data, snap));
    }
    let mut targets = Vec::new();
    let mut unreadable = 0;
    for (s, of) in &stacks {
        match &s.state {
            Fact::Known(st) => {
                let lacks = crate::ownership::lacks(&of.marked_as, of.owner.as_deref(), st);
                if !lacks.is_empty() {
                    reasons.push(Refusal::NotOurs {
                        stack: st.name.clone(),
                        lacks,
                    });
                }
                targets.push(st.clone());
            }
            Fact::Absent => {}
            Fact::Unknown(why) => {
                unreadable += 1;
                reasons.push(Refusal::CannotCheck {
                    what: format!("stack {}", s.name),
                    why: why.to_string(),
                });
            }
        }
    }
    if unreadable == stacks.len() {
        return Decision::Refuse {
            reasons,
            data: None,
            aws_unreadable: true,
        };
    }
    if targets.is_empty() && reasons.is_empty() {
        return Decision::Nothing;
    }
    let protected: Vec<String> = targets
        .iter()
        .filter(|s| s.termination_protection == Some(true))
        .map(|s| s.name.clone())
        .collect();
    if !protected.is_empty() && !allowed.disable_termination_protection {
        reasons.push(Refusal::Protected { stacks: protected });
    }
    // Protection the file asks for and a deploy could not set: off by accident, not by
    // choice. Said and asked about; with --yes nobody would be told, so only the flag that
    // lifts protection in place goes ahead.
    let protection_missing: Vec<String> = targets
        .iter()
        .filter(|s| allowed.wants_protection && s.termination_protection == Some(false))
        .map(|s| s.name.clone())
        .collect();
    if !protection_missing.is_empty() && allowed.yes && !allowed.disable_termination_protection {
        reasons.push(Refusal::ProtectionMissing {
            stacks: protection_missing.clone(),
        });
    }
    // Unknown protection is not off: refused unless the flag lifts it whatever it is.
    if !allowed.disable_termination_protection {
        for s in targets
            .iter()
            .filter(|s| s.termination_protection.is_none())
        {
            reasons.push(Refusal::CannotCheck {
                what: format!("whether {} has termination protection", s.name),
                why: "DescribeStacks' answer did not say; --disable-termination-protection lifts it whatever it is".into(),
            });
        }
    }
    let deletes_data = targets.iter().any(|s| s.name == snap.data.name);
    let (data, purge, code_purge, images) = if deletes_data {
        let (mut data, purge, data_reasons) = data_at_risk(snap, allowed);
        reasons.extend(data_reasons);
        for l in later {
            data.stages
                .push(stage_queues_at_risk(snap, l, allowed, &mut reasons));
        }
        let (code_purge, code_reasons) = code_at_risk(snap);
        reasons.extend(code_reasons);
        let (images, image_reasons) = images_at_risk(snap, allowed);
        reasons.extend(image_reasons);
        reasons.extend(sources_at_risk(&snap.data, allowed));
        (Some(data), purge, code_purge, images)
    } else {
        (None, None, None, None)
    };
    if reasons.is_empty() {
        let deleted = |fleet: &StackSnapshot| targets.iter().any(|s| s.name == fleet.name);
        let log_group = deleted(&snap.fleet)
            .then(|| snap.log_group.clone())
            .flatten();
        let stage_log_groups = later
            .iter()
            .filter(|l| deleted(&l.snap.fleet))
            .filter_map(|l| l.snap.log_group.clone())
            .collect();
        Decision::Proceed(Plan {
            targets,
            data,
            purge,
            code_purge,
            log_group,
            stage_log_groups,
            images,
            protection_missing,
        })
    } else {
        Decision::Refuse {
            reasons,
            data,
            aws_unreadable: false,
        }
    }
}

/// What the data stack's sources leave at risk (`sources`), read from its resource list once:
/// - each producers' managed policy (`sources.messages`), unless `--producers-detached`:
///   CloudFormation's delete detaches a managed policy from every role, user and group first
///   (the resource type's delete handler lists `iam:ListEntitiesForPolicy` and the
///   `iam:Detach*Policy` actions, crates/qfleet-engine/src/iam/reference.json), and those are the producers', not
///   qfleet's;
/// - its schedules (`sources.schedules`), unless `--discard-messages`: they are deleted with
///   the stack, but only after the queues were counted, and a run in between would go with
///   its queue. Paused ones count too: the deployed state is not read.
///
/// A resource list that could not be read is one refusal, when either check is wanted.
fn sources_at_risk(data: &StackSnapshot, allowed: Allowed) -> Vec<Refusal> {
    if allowed.producers_detached && allowed.discard_messages {
        return Vec::new();
    }
    let resources = match &data.resources {
        Fact::Known(resources) => resources,
        Fact::Absent => return Vec::new(),
        Fact::Unknown(why) => {
            return vec![Refusal::CannotCheck {
                what: format!(
                    "whether {} holds producers' policies or schedules",
                    data.name
                ),
                why: why.to_string(),
            }];
        }
    };
    let live = |kind: &'static str| {
        resources
            .values()
            .filter(move |r| r.resource_type == kind && r.is_live())
    };
    let mut reasons = Vec::new();
    if !allowed.producers_detached {
        reasons.extend(
            live("AWS::IAM::ManagedPolicy")
                .filter(|r| r.logical_id.ends_with("ProducerPolicy"))
                .filter_map(|r| r.physical_id.clone())
                .map(|policy| Refusal::ProducerPolicy { policy }),
        );
    }
    let schedules: Vec<String> = live("AWS::Scheduler::Schedule")
        .filter_map(|r| r.physical_id.clone())
        .collect();
    if !allowed.discard_messages && !schedules.is_empty() {
        reasons.push(Refusal::Schedules { schedules });
    }
    reasons
}

/// Counts what deleting the data stack would lose, refusing each loss not allowed and each
/// resource that could not be read.
pub(super) fn data_at_risk(
    snap: &Snapshot,
    allowed: Allowed,
) -> (DataAtRisk, Option<Purge>, Vec<Refusal>) {
    let mut d = DataAtRisk::default();
    let mut reasons = Vec::new();
    let mut purge = None;
    let cannot = |what: &str, why: &str| Refusal::CannotCheck {
        what: what.to_string(),
        why: why.to_string(),
    };

    match &snap.bucket {
        Fact::Absent => {}
        Fact::Unknown(why) => reasons.push(cannot("the bucket", why)),
        Fact::Known(bucket) => {
            d.bucket = Some(bucket.clone());
            let contents = snap
                .bucket_contents
                .clone()
                .unwrap_or(Fact::Unknown("the bucket's objects were not listed".into()));
            if let Fact::Known(c) = &contents {
                d.objects = Some(c.objects);
                d.bytes = Some(c.bytes);
            }
            match (snap.data.deletion_policy(ids::BUCKET), contents) {
                (Fact::Known(p), _) if retains(&p) => d.bucket_retained = true,
                (_, Fact::Absent) => {}
                (_, Fact::Known(c)) if c.objects == 0 => {}
                (Fact::Unknown(why), Fact::Known(_)) => {
                    reasons.push(cannot("whether the bucket is retained", &why))
                }
                (_, Fact::Unknown(why)) => {
                    reasons.push(cannot(&format!("the objects in bucket {bucket}"), &why))
                }
                (_, Fact::Known(c)) if allowed.purge_bucket => {
                    purge = Some((bucket.clone(), c.versions))
                }
                (_, Fact::Known(c)) => reasons.push(Refusal::BucketHoldsObjects {
                    bucket: bucket.clone(),
                    objects: c.objects,
                    bytes: c.bytes,
                }),
            }
        }
    }

    (d.queue, d.queue_messages) = queue_at_risk(
        &snap.data,
        ids::QUEUE,
        &snap.queue,
        false,
        "the queue",
        allowed,
        &mut reasons,
    );
    (d.dead_letter_queue, d.dead_letter_messages) = queue_at_risk(
        &snap.data,
        ids::DEAD_LETTER_QUEUE,
        &snap.dead_letter_queue,
        true,
        "the dead-letter queue",
        allowed,
        &mut reasons,
    );
    d.jobs = jobs_at_risk(snap, allowed, &mut reasons);
    if let Some(q) = &snap.schedule_dead_letters {
        let (queue, messages) = queue_at_risk(
            &snap.data,
            crate::render::SCHEDULE_DEAD_LETTERS,
            q,
            true,
            "the schedules' dead-letter queue",
            allowed,
            &mut reasons,
        );
        d.schedule_dead_letters = Some(QueueHeld { queue, messages });
    }
    d.priority_queue = priority_at_risk(
        snap,
        ids::PRIORITY_QUEUE,
        "the priority lane",
        allowed,
        &mut reasons,
    );
    (d, purge, reasons)
}

/// The job table and the response queue (`jobs:`): the table's records are lost only with
/// `--delete-job-records`, the response queue's messages only with `--discard-messages`; what
/// could not be read is a refusal.
fn jobs_at_risk(
    snap: &Snapshot,
    allowed: Allowed,
    reasons: &mut Vec<Refusal>,
) -> Option<JobsAtRisk> {
    if snap.job_table.is_none() && snap.response_queue.is_none() {
        return None;
    }
    let mut j = JobsAtRisk::default();
    let cannot = |what: String, why: &str| Refusal::CannotCheck {
        what,
        why: why.to_string(),
    };
    match &snap.job_table {
        None | Some(Fact::Absent) => {}
        Some(Fact::Unknown(why)) => reasons.push(cannot("the job table".into(), why)),
        Some(Fact::Known(t)) => {
            j.table = Some(t.name.clone());
            let records = t
                .holds_records
                .clone()
                .unwrap_or(Fact::Unknown("its records were not looked for".into()));
            if let Fact::Known(h) = &records {
                j.records = Some(*h);
            }
            match (snap.data.deletion_policy(ids::JOB_TABLE), records) {
                (Fact::Known(p), _) if retains(&p) => j.retained = true,
                (_, Fact::Absent | Fact::Known(false)) => {}
                (_, Fact::Unknown(why)) => {
                    reasons.push(cannot(format!("the records in job table {}", t.name), &why))
                }
                (Fact::Unknown(why), Fact::Known(true)) => reasons.push(cannot(
                    format!("whether job table {} is retained", t.name),
                    &why,
                )),
                (_, Fact::Known(true)) if allowed.delete_job_records => {}
                (_, Fact::Known(true)) => reasons.push(Refusal::TableHoldsRecords {
                    table: t.name.clone(),
                }),
            }
        }
    }
    if let Some(queue) = &snap.response_queue {
        (j.response_queue, j.response_messages) = queue_at_risk(
            &snap.data,
            ids::RESPONSE_QUEUE,
            queue,
            false,
            "the response queue",
            allowed,
            reasons,
        );
    }
    Some(j)
}

/// The queues of a later stage of a pipeline: counted like the first stage's.
pub(super) fn stage_queues_at_risk(
    snap: &Snapshot,
    l: &LaterStage,
    allowed: Allowed,
    reasons: &mut Vec<Refusal>,
) -> StageQueues {
    let (queue, queue_messages) = queue_at_risk(
        &snap.data,
        &l.queue_id,
        &l.snap.queue,
        false,
        &format!("stage {}'s queue", l.name),
        allowed,
        reasons,
    );
    let (dead_letter_queue, dead_letter_messages) = queue_at_risk(
        &snap.data,
        &l.dead_letter_id,
        &l.snap.dead_letter_queue,
        true,
        &format!("stage {}'s dead-letter queue", l.name),
        allowed,
        reasons,
    );
    let what = format!("stage {}'s priority lane", l.name);
    let priority_queue = priority_at_risk(&l.snap, &l.priority_id, &what, allowed, reasons);
    StageQueues {
        stage: l.name.clone(),
        queue,
        queue_messages,
        dead_letter_queue,
        dead_letter_messages,
        priority_queue,
    }
}

/// A stage's priority lane, counted like its queue, when the data stack lists one (`snap` is
/// the stage's: its data stack is the environment's).
fn priority_at_risk(
    snap: &Snapshot,
    logical: &str,
    what: &str,
    allowed: Allowed,
    reasons: &mut Vec<Refusal>,
) -> Option<QueueHeld> {
    let fact = snap.priority_queue.as_ref()?;
    let (queue, messages) = queue_at_risk(&snap.data, logical, fact, false, what, allowed, reasons);
    Some(QueueHeld { queue, messages })
}

/// A queue's name and message count, refusing its loss unless allowed or retained, and a
/// queue that could not be read (`what` names it). Every message is data: S3's test event
/// never reaches a queue (the subscriptions leave it out), and SQS cannot show a message
/// without receiving it.
fn queue_at_risk(
    data: &StackSnapshot,
    logical: &str,
    queue: &Fact<crate::aws::Queue>,
    dead_letter: bool,
    what: &str,
    allowed: Allowed,
    reasons: &mut Vec<Refusal>,
) -> (Option<String>, Option<u64>) {
    let retained = data
        .deletion_policy(logical)
        .known()
        .is_some_and(|p| retains(p));
    match queue {
        Fact::Absent => (None, None),
        Fact::Known(q) => {
            let data = q.depth.total();
            if data > 0 && !retained && !allowed.discard_messages {
                reasons.push(Refusal::QueueHoldsMessages {
                    queue: q.name.clone(),
                    dead_letter,
                    messages: data,
                });
            }
            (Some(q.name.clone()), Some(q.depth.total()))
        }
        Fact::Unknown(why) => {
            if !retained && !allowed.discard_messages {
                reasons.push(Refusal::CannotCheck {
                    what: what.to_string(),
                    why: why.to_string(),
                });
            }
            (None, None)
        }
    }
}

/// Keys of foreign objects a refusal names.
const NAMED_KEYS: usize = 3;

/// What deleting the data stack does to qfleet's code bucket: its packages
/// (`lambda/<sha256>.zip`, every version) are deleted with it; anything else in it, or a
/// bucket that could not be listed, is a refusal.
pub(super) fn code_at_risk(snap: &Snapshot) -> (Option<Purge>, Vec<Refusal>) {
    let fact = snap
        .code_bucket
        .clone()
        .unwrap_or(Fact::Unknown("the code bucket was not listed".into()));
    match fact {
        Fact::Absent => (None, Vec::new()),
        Fact::Unknown(why) => (
            None,
            vec![Refusal::CannotCheck {
                what: "the code bucket".into(),
                why: why.into(),
            }],
        ),
        Fact::Known((bucket, c)) => {
            let others: Vec<&Version> = c
                .versions
                .iter()
                .filter(|v| !crate::package::is_package_key(&v.key))
                .collect();
            if !others.is_empty() {
                let mut keys: Vec<String> = others.iter().map(|v| v.key.clone()).collect();
                keys.sort();
                keys.dedup();
                keys.truncate(NAMED_KEYS);
                return (
                    None,
                    vec![Refusal::CodeBucketHoldsOthers {
                        bucket,
                        objects: others.len() as u64,
                        keys,
                    }],
                );
            }
            let purge = (!c.versions.is_empty()).then_some((bucket, c.versions));
            (purge, Vec::new())
        }
    }
}

/// What deleting the environment does to the repository of the images qfleet built: its
/// images go only with `--delete-images`; a repository that could not be read is a refusal;
/// one without qfleet's marks is returned to be left alone.
pub(super) fn images_at_risk(
    snap: &Snapshot,
    allowed: Allowed,
) -> (Option<ImageRepository>, Vec<Refusal>) {
    let fact = snap
        .image_repository
        .clone()
        .unwrap_or(Fact::Unknown("the image repository was not read".into()));
    match fact {
        Fact::Absent => (None, Vec::new()),
        Fact::Unknown(why) => (
            None,
            vec![Refusal::CannotCheck {
                what: "the ECR repository of the images qfleet built".into(),
                why: why.into(),
            }],
        ),
        Fact::Known(r) if r.lacks.is_empty() && !r.digests.is_empty() && !allowed.delete_images => {
            (
                None,
                vec![Refusal::RepositoryHoldsImages {
                    repository: r.name.clone(),
                    images: r.digests.len() as u64,
                }],
            )
        }
        Fact::Known(r) => (Some(r), Vec::new()),
    }
}

/// The refusal, every reason at once: what holds data or could not be checked, and what to do
/// (`rechecked`: refused when checked again after the fleet was deleted).
pub(super) fn refusal(
    env: &str,
    reasons: &[Refusal],
    rechecked: bool,
    fleet_left: bool,
) -> TeardownRefusal {
    // Each flag once, by its name: a queue holding messages and a schedule both ask for
    // --discard-messages (the first reason's words are kept).
    let mut flags: Vec<&'static str> = Vec::new();
    for flag in reasons.iter().filter_map(Refusal::flag) {
        let name = |f: &str| f.split_whitespace().next().unwrap_or_default().to_string();
        if !flags.iter().any(|f| name(f) == name(flag)) {
            flags.push(flag);
        }
    }
    TeardownRefusal {
        env: env.to_string(),
        reasons: reasons.iter().map(Refusal::describe).collect(),
        flags,
        holds_data: reasons.iter().any(|r| {
            matches!(
                r,
                Refusal::BucketHoldsObjects { .. }
                    | Refusal::QueueHoldsMessages { .. }
                    | Refusal::TableHoldsRecords { .. }
            )
        }),
        unchecked: reasons
            .iter()
            .any(|r| matches!(r, Refusal::CannotCheck { .. })),
        rechecked,
        fleet_left,
    }
}
