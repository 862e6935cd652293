//! The second look after the fleet is gone, and the purge just before the data stack: what
//! arrived meanwhile, and what S3 did not delete, keep the data stack (mocked).

use super::*;

#[tokio::test]
async fn mocked_messages_that_arrive_while_the_fleet_goes_stop_the_data_stack_from_going() {
    use crate::aws::{mock::list_resources, mock::queue_attributes, mock::resource};
    const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-td-jobs";
    const DLQ: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-td-dlq";
    let e = env();
    let data = describe(
        "qfleet-td-data",
        vec![Some(stack(
            "qfleet-td-data",
            cfn::StackStatus::CreateComplete,
            false,
        ))],
    );
    let fleet = describe(
        "qfleet-td-fleet",
        vec![
            Some(stack(
                "qfleet-td-fleet",
                cfn::StackStatus::CreateComplete,
                false,
            )),
            None,
        ],
    );
    let live = cfn::ResourceStatus::CreateComplete;
    let res = list_resources(vec![(
        "qfleet-td-data",
        vec![
            resource("Queue", QUEUE, "AWS::SQS::Queue", live.clone()),
            resource("DeadLetterQueue", DLQ, "AWS::SQS::Queue", live),
        ],
    )]);
    // Empty at the first look; five jobs by the second, after the fleet is gone.
    let queue = mock!(aws_sdk_sqs::Client::get_queue_attributes)
        .match_requests(|r| r.queue_url() == Some(QUEUE))
        .sequence()
        .output(|| queue_attributes(0, 0, 0, &[]))
        .output(|| queue_attributes(5, 0, 0, &[]))
        .repeatedly()
        .build();
    let dlq = mock!(aws_sdk_sqs::Client::get_queue_attributes)
        .match_requests(|r| r.queue_url() == Some(DLQ))
        .then_output(|| queue_attributes(0, 0, 0, &[]));
    let del = mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let (t, ev, b) = (template(), no_events(), no_bucket());
    let clients = Rules {
        cfn: vec![&data, &fleet, &res, &del, &t, &ev],
        sqs: vec![&queue, &dlq],
        s3: vec![&b],
        ..Default::default()
    }
    .clients();
    let o = environment(&clients, &e, &opts(), &reporter()).await;
    assert_eq!(o.exit_code, 4, "{o:?}");
    assert_eq!(
        o.deleted,
        ["qfleet-td-fleet"],
        "the fleet went; the data stays"
    );
    assert_eq!(del.num_calls(), 1);
    let err = o.error.unwrap().message;
    assert!(
        err.contains("queue qfleet-td-jobs: 5 messages")
            && err.contains("checked again after the fleet was deleted"),
        "{err}"
    );
}

#[tokio::test]
async fn mocked_the_bucket_is_emptied_after_the_fleet_is_gone_and_just_before_the_data_stack() {
    use crate::aws::{mock::list_resources, mock::queue_attributes, mock::resource};
    use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
    use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
    use aws_sdk_s3::types::ObjectVersion;
    use std::sync::{Arc, Mutex};
    const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-td-jobs";
    const DLQ: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-td-dlq";
    const BUCKET: &str = "td-uploads-111122223333-eu-west-1";
    let order: Arc<Mutex<Vec<String>>> = Arc::default();
    let e = env();
    let data = describe(
        "qfleet-td-data",
        vec![
            Some(stack(
                "qfleet-td-data",
                cfn::StackStatus::CreateComplete,
                false,
            )),
            Some(stack(
                "qfleet-td-data",
                cfn::StackStatus::CreateComplete,
                false,
            )),
            None,
        ],
    );
    let fleet = describe(
        "qfleet-td-fleet",
        vec![
            Some(stack(
                "qfleet-td-fleet",
                cfn::StackStatus::CreateComplete,
                false,
            )),
            None,
        ],
    );
    let live = cfn::ResourceStatus::CreateComplete;
    let res = list_resources(vec![(
        "qfleet-td-data",
        vec![
            resource("Bucket", BUCKET, "AWS::S3::Bucket", live.clone()),
            resource("Queue", QUEUE, "AWS::SQS::Queue", live.clone()),
            resource("DeadLetterQueue", DLQ, "AWS::SQS::Queue", live),
        ],
    )]);
    let t = mock!(Cfn::get_template).then_output(|| {
        GetTemplateOutput::builder()
            .template_body(
                "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    DeletionPolicy: Delete\n",
            )
            .build()
    });
    let q = mock!(aws_sdk_sqs::Client::get_queue_attributes)
        .then_output(|| queue_attributes(0, 0, 0, &[]));
    let version = |k: &str| {
        ObjectVersion::builder()
            .key(k)
            .version_id("v1")
            .size(5)
            .build()
    };
    let two = move || {
        ListObjectVersionsOutput::builder()
            .versions(version("uploads/a"))
            .versions(version("uploads/b"))
            .is_truncated(false)
            .build()
    };
    let listed = mock!(aws_sdk_s3::Client::list_object_versions)
        .sequence()
        .output(two)
        .output(two)
        .output(|| {
            ListObjectVersionsOutput::builder()
                .is_truncated(false)
                .build()
        })
        .repeatedly()
        .build();
    let o2 = order.clone();
    let purged = mock!(aws_sdk_s3::Client::delete_objects).then_compute_output(move |r| {
        let n = r.delete().map(|d| d.objects().len()).unwrap_or(0);
        o2.lock().unwrap().push(format!("delete {n} objects"));
        DeleteObjectsOutput::builder().build()
    });
    let o3 = order.clone();
    let del = mock!(Cfn::delete_stack).then_compute_output(move |r| {
        o3.lock()
            .unwrap()
            .push(format!("delete {}", r.stack_name().unwrap()));
        DeleteStackOutput::builder().build()
    });
    let ev = no_events();
    let clients = Rules {
        cfn: vec![&data, &fleet, &res, &t, &del, &ev],
        sqs: vec![&q],
        s3: vec![&listed, &purged],
        ..Default::default()
    }
    .clients();
    let opts = Options {
        purge_bucket: true,
        ..opts()
    };
    let o = environment(&clients, &e, &opts, &reporter()).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(o.purged_objects, 2);
    assert_eq!(
        *order.lock().unwrap(),
        [
            "delete qfleet-td-fleet",
            "delete 2 objects",
            "delete qfleet-td-data"
        ],
        "no worker writes to the bucket while it is emptied"
    );
}

#[tokio::test]
async fn mocked_a_version_s3_did_not_delete_keeps_the_data_stack() {
    use crate::aws::{mock::list_resources, mock::queue_attributes, mock::resource};
    use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
    use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
    use aws_sdk_s3::types::ObjectVersion;
    const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-td-jobs";
    const DLQ: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-td-dlq";
    const BUCKET: &str = "td-uploads-111122223333-eu-west-1";
    let data = describe(
        "qfleet-td-data",
        vec![Some(stack(
            "qfleet-td-data",
            cfn::StackStatus::CreateComplete,
            false,
        ))],
    );
    let fleet = describe(
        "qfleet-td-fleet",
        vec![
            Some(stack(
                "qfleet-td-fleet",
                cfn::StackStatus::CreateComplete,
                false,
            )),
            None,
        ],
    );
    let live = cfn::ResourceStatus::CreateComplete;
    let res = list_resources(vec![(
        "qfleet-td-data",
        vec![
            resource("Bucket", BUCKET, "AWS::S3::Bucket", live.clone()),
            resource("Queue", QUEUE, "AWS::SQS::Queue", live.clone()),
            resource("DeadLetterQueue", DLQ, "AWS::SQS::Queue", live),
        ],
    )]);
    let t = template();
    let q = mock!(aws_sdk_sqs::Client::get_queue_attributes)
        .then_output(|| queue_attributes(0, 0, 0, &[]));
    let listed = mock!(aws_sdk_s3::Client::list_object_versions).then_output(|| {
        let v = |k: &str| {
            ObjectVersion::builder()
                .key(k)
                .version_id("v1")
                .size(5)
                .build()
        };
        ListObjectVersionsOutput::builder()
            .versions(v("uploads/a"))
            .versions(v("uploads/b"))
            .is_truncated(false)
            .build()
    });
    // A 200 answer naming one key under Errors: that key was not deleted.
    let purged = mock!(aws_sdk_s3::Client::delete_objects).then_output(|| {
        DeleteObjectsOutput::builder()
            .errors(
                aws_sdk_s3::types::Error::builder()
                    .key("uploads/b")
                    .version_id("v1")
                    .code("AccessDenied")
                    .message("Access Denied")
                    .build(),
            )
            .build()
    });
    let del = mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let ev = no_events();
    let clients = Rules {
        cfn: vec![&data, &fleet, &res, &t, &del, &ev],
        sqs: vec![&q],
        s3: vec![&listed, &purged],
        ..Default::default()
    }
    .clients();
    let opts = Options {
        purge_bucket: true,
        ..opts()
    };
    let o = environment(&clients, &env(), &opts, &reporter()).await;
    assert_eq!(o.exit_code, 1, "{o:?}");
    assert_eq!(o.deleted, ["qfleet-td-fleet"], "the data stack stays");
    assert_eq!(del.num_calls(), 1);
    assert_eq!(purged.num_calls(), 1);
    let err = o.error.unwrap().message;
    assert!(
        err.contains("1 of 2 object versions were not deleted")
            && err.contains("uploads/b v1: AccessDenied"),
        "{err}"
    );
}
