"""Records the AWS calls the shipped Python code (crates/qfleet-runtime/python: the reference
worker, the Lambda handler, the job sweeper, the backlog publisher, the budget hold) makes in its tests, when
QFLEET_RECORD_CALLS names a file; the folder's conftest.py uses it.

Each call is written as one JSON line: the test, the API call, the IAM action AWS authorizes
for it (Service Authorization Reference), the resource ARN and the condition keys the request
carries. The project's IAM test (tests/integration/iam.rs) runs those tests with recording on
and checks every line against the policy of the rendered template with an IAM policy evaluator.

Only calls made from the shipped code are recorded, not the tests' own setup: calls from the
shipped files, and from the threads of boto3's managed transfers (s3transfer), which only the
shipped code uses. Fakes standing in for Auto Scaling and CloudFormation record through
`record`.
"""
import json
import os
import traceback
import urllib.parse

import botocore.client
import pytest

OUT = os.environ.get("QFLEET_RECORD_CALLS")
ACCOUNT = "123456789012"  # moto's account
UNNAMED = "qfleet-unnamed-resource"  # a request that names no resource is authorized on "*"
_current = {"test": None}


def _region():
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-1"


def _queue_arn(params):
    name = params.get("QueueName") or params["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]
    return f"arn:aws:sqs:{_region()}:{ACCOUNT}:{name}"


def _grants(service, op, params):
    """(action, resource, context) AWS checks for one call (Service Authorization Reference)."""
    region = _region()
    if service == "sqs":
        return [(f"sqs:{op}", _queue_arn(params), {})]
    if service == "s3":
        obj = f"arn:aws:s3:::{params.get('Bucket')}/{params.get('Key')}"
        if op in ("GetObject", "HeadObject"):
            return [("s3:GetObject", obj, {})]
        if op == "PutObject":
            return [("s3:PutObject", obj, {})]
        if op == "DeleteObject":
            return [("s3:DeleteObject", obj, {})]
        # Multipart upload API and permissions (S3 User Guide, "Uploading and copying objects
        # using multipart upload"): creating, copying a part, completing need s3:PutObject on
        # the object, copying a part s3:GetObject on its source too; aborting has its action.
        if op in ("CreateMultipartUpload", "CompleteMultipartUpload"):
            return [("s3:PutObject", obj, {})]
        if op == "AbortMultipartUpload":
            return [("s3:AbortMultipartUpload", obj, {})]
        if op in ("CopyObject", "UploadPartCopy"):
            src = params["CopySource"]
            if isinstance(src, str):
                src_bucket, src_key = urllib.parse.unquote(src.lstrip("/")).split("/", 1)
                version = None
            else:
                src_bucket, src_key, version = src["Bucket"], src["Key"], src.get("VersionId")
            read = "s3:GetObjectVersion" if version else "s3:GetObject"
            return [(read, f"arn:aws:s3:::{src_bucket}/{src_key}", {}), ("s3:PutObject", obj, {})]
        if op in ("ListObjectsV2", "ListObjects"):
            return [("s3:ListBucket", f"arn:aws:s3:::{params['Bucket']}",
                     {"s3:prefix": params.get("Prefix", "")})]
    if service == "autoscaling":
        if op in ("CompleteLifecycleAction", "UpdateAutoScalingGroup", "CreateOrUpdateTags",
                  "DeleteTags"):
            # On the group (Service Authorization Reference, Amazon EC2 Auto Scaling: resource
            # autoScalingGroup); the tag calls name it as each tag's ResourceId.
            name = params.get("AutoScalingGroupName") or params["Tags"][0]["ResourceId"]
            return [(f"autoscaling:{op}",
                     f"arn:aws:autoscaling:{region}:{ACCOUNT}:autoScalingGroup:"
                     f"0f0e0d0c-0000-4000-8000-000000000000:autoScalingGroupName/{name}", {})]
        # Describe actions support no resource-level permissions.
        return [(f"autoscaling:{op}", f"arn:aws:autoscaling:{region}:{ACCOUNT}:{UNNAMED}", {})]
    if service == "cloudformation":
        return [(f"cloudformation:{op}",
                 f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{params['StackName']}/"
                 "0f0e0d0c-0000-4000-8000-000000000000", {})]
    if service == "ecs" and op == "UpdateTaskProtection":
        # What the ECS agent calls for a task that sets its protection through
        # $ECS_AGENT_URI/task-protection/v1/state, with the task role: on the task
        # (Service Authorization Reference, Amazon ECS: UpdateTaskProtection, resource task).
        return [("ecs:UpdateTaskProtection",
                 f"arn:aws:ecs:{region}:{ACCOUNT}:task/{params['cluster']}/{params['tasks'][0]}",
                 {})]
    if service == "ecs" and op in ("DescribeServices", "TagResource", "UntagResource"):
        # The budget hold's: on the service (Amazon ECS: resource service,
        # arn:...:service/CLUSTER/SERVICE).
        arn = params.get("resourceArn") or \
            f"arn:aws:ecs:{region}:{ACCOUNT}:service/{params['cluster']}/{params['services'][0]}"
        return [(f"ecs:{op}", arn, {})]
    if service == "application-autoscaling" and op == "DescribeScalableTargets":
        # No resource type: authorized on "*" (Application Auto Scaling).
        return [(f"application-autoscaling:{op}",
                 f"arn:aws:application-autoscaling:{region}:{ACCOUNT}:{UNNAMED}", {})]
    if service == "application-autoscaling" and op == "RegisterScalableTarget":
        # On the scalable target, whose ARN ends in a generated id, with its namespace and
        # dimension as condition keys; for an ECS service AWS also checks that the caller may
        # describe and update the service and its target tracking alarms (Application Auto
        # Scaling User Guide, "Identity-based policy examples": ecs:DescribeServices,
        # ecs:UpdateService, cloudwatch:DescribeAlarms, PutMetricAlarm, DeleteAlarms).
        cluster, name = params["ResourceId"].split("/")[1:3]
        service_arn = f"arn:aws:ecs:{region}:{ACCOUNT}:service/{cluster}/{name}"
        alarm = (f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:TargetTracking-"
                 f"{params['ResourceId']}-AlarmHigh-0f0e0d0c-0000-4000-8000-000000000000")
        return [("application-autoscaling:RegisterScalableTarget",
                 f"arn:aws:application-autoscaling:{region}:{ACCOUNT}:scalable-target/"
                 "0f0e0d0c00004000800000000000abcd",
                 {"application-autoscaling:service-namespace": params["ServiceNamespace"],
                  "application-autoscaling:scalable-dimension": params["ScalableDimension"]}),
                ("ecs:DescribeServices", service_arn, {}), ("ecs:UpdateService", service_arn, {}),
                ("cloudwatch:DescribeAlarms", alarm, {}), ("cloudwatch:PutMetricAlarm", alarm, {}),
                ("cloudwatch:DeleteAlarms", alarm, {})]
    if service == "budgets" and op == "DescribeBudget":
        # On the budget: arn:...:budgets::ACCOUNT:budget/NAME, no Region (AWS Budgets).
        return [("budgets:ViewBudget",
                 f"arn:aws:budgets::{params['AccountId']}:budget/{params['BudgetName']}", {})]
    if service == "lambda" and op == "PutFunctionConcurrency":
        # The budget hold's, on its own function (AWS Lambda: resource function).
        return [("lambda:PutFunctionConcurrency",
                 f"arn:aws:lambda:{region}:{ACCOUNT}:function:{params['FunctionName']}", {})]
    if service == "sns" and op == "Publish":
        return [("sns:Publish", params["TopicArn"], {})]
    if service == "ssm" and op == "GetParameter":
        name = params["Name"]
        arn = name if name.startswith("arn:") else \
            f"arn:aws:ssm:{region}:{ACCOUNT}:parameter/{name.lstrip('/')}"
        return [("ssm:GetParameter", arn, {})]
    if service == "secretsmanager" and op == "GetSecretValue":
        sid = params["SecretId"]
        arn = sid if sid.startswith("arn:") else \
            f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{sid}-AbCdEf"
        return [("secretsmanager:GetSecretValue", arn, {})]
    if service == "dynamodb" and op in ("GetItem", "UpdateItem", "PutItem", "DeleteItem"):
        # The job table and the lease table (docs/jobs.md), authorized on the table with the
        # request's attribute names as dynamodb:Attributes, a multi-valued key (Amazon DynamoDB
        # Developer Guide, "Using IAM policy conditions for fine-grained access control"): the
        # key's, every name the expressions use and, for PutItem, the item's.
        names = set(params.get("Key", {})) | set(params.get("ExpressionAttributeNames", {}).values())
        names |= set(params.get("Item", {}))
        return [(f"dynamodb:{op}", f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{params['TableName']}",
                 {"dynamodb:Attributes": sorted(names)})]
    if service == "dynamodb" and op == "Query":
        # A limit's slots, counted (docs/workers.md, "Limits shared across stages"): on the
        # table, with the partition key's value as dynamodb:LeadingKeys (Amazon DynamoDB
        # Developer Guide, "Using IAM policy conditions for fine-grained access control").
        key = params["ExpressionAttributeValues"][":k"]["S"]
        return [("dynamodb:Query", f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{params['TableName']}",
                 {"dynamodb:LeadingKeys": [key]})]
    if service == "dynamodb" and op == "Scan":
        # The job sweeper's read of the lease table: on the table (Service Authorization
        # Reference, Amazon DynamoDB: Scan, resource types table and index).
        return [("dynamodb:Scan", f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{params['TableName']}",
                 {})]
    if service == "monitoring" and op == "PutMetricData":
        # No resource type: authorized on "*", with the request's namespace as the
        # cloudwatch:namespace condition key (Service Authorization Reference, CloudWatch).
        return [("cloudwatch:PutMetricData", f"arn:aws:cloudwatch:{region}:{ACCOUNT}:{UNNAMED}",
                 {"cloudwatch:namespace": params["Namespace"]})]
    raise AssertionError(f"no IAM mapping for {service}.{op}: add it to conftest.py")


def record(service, op, params):
    """Records one call; a no-op unless QFLEET_RECORD_CALLS is set."""
    if not OUT:
        return
    with open(OUT, "a") as f:
        for action, resource, context in _grants(service, op, params):
            f.write(json.dumps({"test": _current["test"], "call": f"{service}.{op}",
                                "action": action, "resource": resource,
                                "context": context}) + "\n")


def _from(sources):
    return any(os.path.basename(fr.filename) in sources
               or f"{os.sep}s3transfer{os.sep}" in fr.filename
               for fr in traceback.extract_stack())


def recording_fixture(*sources):
    """An autouse fixture recording the calls made from the files `sources` (their basenames)."""

    @pytest.fixture(autouse=True)
    def record_calls(request, monkeypatch):
        _current["test"] = request.node.nodeid
        if not OUT:
            yield
            return
        real = botocore.client.BaseClient._make_api_call

        def recording(self, operation_name, api_params):
            if _from(sources):
                record(self.meta.service_model.endpoint_prefix, operation_name, api_params)
            return real(self, operation_name, api_params)

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
        yield

    return record_calls
