//! What each stack-file setting accepts: the help shown under an error about it.

/// What each setting accepts, shown under its errors.
pub fn allowed(field: &str) -> Option<&'static str> {
    // A stage's settings (`stages.1.workers.min`) allow what the top-level ones do.
    if let Some(rest) = field.strip_prefix("stages.") {
        let (index, setting) = rest.split_once('.').unwrap_or((rest, ""));
        if index.parse::<usize>().is_ok() || index == "*" {
            return match setting {
                "" => Some(
                    "a mapping of the stage's settings: name (required), fed_by, prefix, queue, workers, scaling",
                ),
                "name" => Some(
                    "lowercase letters, digits and single hyphens, starting with a letter, at most 16 characters",
                ),
                "fed_by" => Some(
                    "objects (the default: the bucket's events for what the stage before writes under prefix) or messages (the stage before sends them)",
                ),
                "prefix" => Some(
                    "a key prefix ending in / (default: the stage's name and /), apart from the other stages' and the bucket's prefixes",
                ),
                other => allowed(other),
            };
        }
    }
    // Tags and subnets are keyed by the user's own names.
    let key = if field.starts_with("tags.") {
        "tags.*"
    } else if field.starts_with("workers.network.subnets.") {
        "workers.network.subnets.*"
    } else if field.starts_with("workers.environment.") {
        "workers.environment.*"
    } else if field.starts_with("workers.secrets.") {
        "workers.secrets.*"
    } else if let Some(rest) = field.strip_prefix("workers.statements.") {
        // `workers.statements.0.Action` in an error, `workers.statements.Action` in the schema.
        match rest.rsplit('.').next().unwrap_or_default() {
            "Action" | "NotAction" => "workers.statements.*.Action",
            "Resource" | "NotResource" => "workers.statements.*.Resource",
            "Condition" => "workers.statements.*.Condition",
            "Effect" => "workers.statements.*.Effect",
            "Sid" => "workers.statements.*.Sid",
            _ => "workers.statements.*",
        }
    } else {
        field
    };
    Some(match key {
        "" => {
            "a YAML mapping of settings: region (required), region_unlisted, environment, lab, copies, tags, owner, accounts, termination_protection, express, service_role_arn, kms_key, bucket, queue, alarms, workers, scaling, stages"
        }
        "stages" => {
            "a list of 1 to 8 stages, each a mapping with name, fed_by, prefix, queue, workers, scaling; without it, one stage of the top-level queue, workers and scaling"
        }
        "environment" => {
            "lowercase letters, digits and hyphens, starting with a letter, at most 24 characters"
        }
        "region" => {
            "an AWS Region of the aws, aws-cn or aws-us-gov partition, such as eu-west-1 (a Region newer than qfleet: also set region_unlisted: true)"
        }
        "region_unlisted" => {
            "true or false (default false): true accepts a region name qfleet's table of AWS Regions does not list yet, with a warning"
        }
        "lab" => "true or false",
        "copies" => {
            "a whole number from 1 to 100: that many identical environments NAME-01 … NAME-NN (optional)"
        }
        "tags" => "a mapping of tag names to string values",
        "tags.*" => {
            "a tag name of at most 128 characters (not aws:…, not qfleet:environment or qfleet:owner) and a value of 1 to 256 characters, both of letters, digits, spaces and _ . : / = + - @; at most 49 tags"
        }
        "owner" => {
            "the environment's owner (a team or repository name) put on its stacks as the tag qfleet:owner: 1 to 128 characters of letters, digits, spaces and _ . : / = + - @ (optional)"
        }
        "accounts" => {
            "a list of 12-digit AWS account ids: qfleet refuses credentials of any other account (optional; absent: any account)"
        }
        "termination_protection" => "true or false (default: true, false when lab: true)",
        "express" => {
            "true or false (default: true when lab: true, else false); not with termination protection on"
        }
        "service_role_arn" => "an IAM role ARN: arn:aws:iam::<account>:role/<name>",
        "kms_key" => "a KMS key ARN: arn:aws:kms:<region>:<account>:key/<key id> (not an alias)",
        "bucket" => {
            "a mapping with upload_prefix, processed_prefix, retain, access_log_bucket, noncurrent_version_expiration_days, abort_incomplete_multipart_days"
        }
        "bucket.upload_prefix" | "bucket.processed_prefix" => {
            "a key prefix ending in /, such as uploads/; the two prefixes must not overlap"
        }
        "bucket.retain" => "true or false (default: true, false when lab: true)",
        "bucket.access_log_bucket" => {
            "the name of an existing S3 bucket (3–63 lowercase letters, digits, dots, hyphens)"
        }
        "bucket.noncurrent_version_expiration_days" | "bucket.abort_incomplete_multipart_days" => {
            "a whole number of days from 1 to 3650"
        }
        "queue" => {
            "a mapping with visibility_timeout, message_retention, receive_wait_time, max_receive_count, dlq_retention, oldest_message_alarm"
        }
        "queue.visibility_timeout" => {
            "a duration from 0s to 12h (e.g. 60, 90s, 5m), at least scaling.seconds_per_message"
        }
        "queue.message_retention" => "a duration from 60s to 14d (e.g. 4d)",
        "queue.receive_wait_time" => "a duration from 0s to 20s (20s enables full long polling)",
        "queue.max_receive_count" => "a whole number from 1 to 1000 (3 to 5 recommended)",
        "queue.dlq_retention" => "a duration from 60s to 14d, longer than queue.message_retention",
        "queue.oldest_message_alarm" => "a duration of at least 60s",
        "alarms" => "a mapping with email",
        "alarms.email" => "an e-mail address",
        "workers" => {
            "a mapping with kind; for both: environment, secrets, secret_keys, policies, statements, allow_privileged; for ec2: ami, instance_type or instance_types, spot, warm_pool, min, max, network, user_data or image, health_check_grace_period, instance_warmup, root_volume_gib, log_retention_days, public_ip; for lambda: lambda; for fargate: image, fargate, spot, min, max, network, public_ip, log_retention_days"
        }
        "workers.kind" => {
            "ec2 (default: instances in an Auto Scaling group), lambda (a function fed by the queue) or fargate (container tasks of an ECS service)"
        }
        "workers.lambda" => {
            "a mapping with code, runtime, handler (or image, command, entry_point, architecture), memory_mb, timeout, batch_size, batching_window, max_concurrency, reserved_concurrency, provisioned_pollers, log_retention_days (workers.kind: lambda only)"
        }
        "workers.lambda.code" => {
            "a directory, relative to the stack file, holding the handler: one source file goes inline in the template; with a requirements.txt (Python) or package.json (Node.js), or several files, qfleet deploy builds a deployment package (tests, conftest.py, __init__.py and *.md at its top are left out); or a .zip file, taken as the package; absent: the reference handler"
        }
        "workers.lambda.image" => {
            "a container image in a private Amazon ECR repository of the stack's region: ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY@sha256:DIGEST (recommended) or :TAG; instead of code, runtime and handler"
        }
        "workers.lambda.command" => {
            "a list of strings overriding the image's CMD, such as [app.handler] (workers.lambda.image only)"
        }
        "workers.lambda.entry_point" => {
            "a list of strings overriding the image's ENTRYPOINT, such as [/usr/local/bin/python, -m, awslambdaric] (workers.lambda.image only)"
        }
        "workers.lambda.architecture" => {
            "x86_64 (default) or arm64: the instruction set the image was built for (workers.lambda.image only)"
        }
        "workers.lambda.runtime" => {
            "a Python 3 or Node.js runtime AWS Lambda still creates functions on, such as python3.14 or nodejs24.x (default python3.12); a deprecated one is a warning"
        }
        "workers.lambda.handler" => "module.function, such as qfleet_handler.handler (the default)",
        "workers.lambda.memory_mb" => "a whole number of MB from 128 to 10240 (default 256)",
        "workers.lambda.timeout" => {
            "a duration from 1s to 15m (default 10s); queue.visibility_timeout must be at least 6 times it"
        }
        "workers.lambda.batch_size" => {
            "1 to 10 messages per invocation, up to 10000 with a batching_window of at least 1s"
        }
        "workers.lambda.batching_window" => "a duration from 0s to 5m (default 0s)",
        "workers.lambda.max_concurrency" => {
            "a whole number from 2 to 1000 (default 5): the most invocations the queue starts at once (standard mode; not with provisioned_pollers)"
        }
        "workers.lambda.reserved_concurrency" => {
            "a whole number, at least workers.lambda.max_concurrency, or 10 × provisioned_pollers.maximum in provisioned mode (optional)"
        }
        "workers.lambda.provisioned_pollers" => {
            "a mapping with minimum and maximum: the event source mapping's provisioned mode, dedicated event pollers of up to 10 concurrent invocations each, billed by the hour; instead of max_concurrency (optional, absent: standard mode)"
        }
        "workers.lambda.provisioned_pollers.minimum" => {
            "a whole number from 2 to 200, at most maximum: pollers kept ready (and billed) even when the queue is empty"
        }
        "workers.lambda.provisioned_pollers.maximum" => {
            "a whole number from 2 to 2000, at least minimum: the pollers the mapping may scale up to"
        }
        "workers.log_retention_days" => {
            "one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (default 14): how long the workers' log group keeps their journal"
        }
        "workers.fargate" => {
            "a mapping with cpu, memory, platform, stop_timeout, ephemeral_storage_gib, exec, command, entry_point (workers.kind: fargate only)"
        }
        "workers.fargate.cpu" => {
            "CPU units of one task: 256 (default), 512, 1024, 2048, 4096, 8192 or 16384"
        }
        "workers.fargate.memory" => {
            "MiB of one task (default 512): with cpu 256: 512, 1024 or 2048; 512: 1024 to 4096; 1024: 2048 to 8192; 2048: 4096 to 16384; 4096: 8192 to 30720 (steps of 1024); 8192: 16384 to 61440 (steps of 4096); 16384: 32768 to 122880 (steps of 8192)"
        }
        "workers.fargate.platform" => {
            "linux/x86_64 (default) or linux/arm64: what the image was built for"
        }
        "workers.fargate.stop_timeout" => {
            "a duration from 2s to 2m (default 30s), at most queue.visibility_timeout: from SIGTERM to SIGKILL when a task stops"
        }
        "workers.fargate.ephemeral_storage_gib" => {
            "a whole number of GiB from 21 to 200 (optional; Fargate gives 20 without it)"
        }
        "workers.fargate.exec" => "true or false (default false): ECS Exec into running tasks",
        "workers.fargate.command" => "a list of strings overriding the image's CMD (optional)",
        "workers.fargate.entry_point" => {
            "a list of strings overriding the image's ENTRYPOINT (optional)"
        }
        "workers.lambda.log_retention_days" => {
            "one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (default 14)"
        }
        "workers.ami" => {
            "an SSM parameter path such as /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64, or an AMI id (ami- and 8 or 17 hex digits)"
        }
        "workers.instance_type" => "an EC2 instance type such as t3.micro or m7g.large",
        "workers.instance_types" => {
            "a list of 2 to 20 different EC2 instance types of one architecture (all Graviton or all x86_64, matching workers.ami), in order of preference, such as [m7g.large, m6g.large, c7g.large]; instead of workers.instance_type"
        }
        "workers.warm_pool" => {
            "a mapping with min_size, pool_state and reuse_on_scale_in: instances launched and bootstrapped ahead that the group draws on when it scales out (optional; one instance type, no Spot, the reference worker)"
        }
        "workers.warm_pool.min_size" => {
            "a whole number from 0 to workers.max (default 0): instances kept in the pool at least; AWS keeps workers.max minus the desired capacity there"
        }
        "workers.warm_pool.pool_state" => {
            "stopped (default: only their EBS volumes are billed; a start takes a boot) or running (billed as instances; in service at once)"
        }
        "workers.warm_pool.reuse_on_scale_in" => {
            "true or false (default false): instances scaled in go back to the pool instead of being terminated"
        }
        "workers.spot" => {
            "a mapping with percent and on_demand_base (default: no Spot, every instance On-Demand)"
        }
        "workers.spot.percent" => {
            "a whole number from 0 to 100: the percent of the instances above on_demand_base that run on Spot (default 0, no Spot)"
        }
        "workers.spot.on_demand_base" => {
            "a whole number from 0 to workers.max: instances that are always On-Demand, launched first (default 0)"
        }
        "workers.min" => {
            "a whole number from 0 to workers.max; 0 only with scaling.scale_from_zero: true"
        }
        "workers.max" => "a whole number from 1 to 1000, at least workers.min",
        "workers.network" => {
            "`default` (the default VPC, at least 2 AZs) or {vpc: vpc-…, subnets: {<az>: subnet-…}} with at least 2 availability zones"
        }
        "workers.network.vpc" => "a VPC id: vpc- and 8 or 17 hex digits",
        "workers.network.subnets" => {
            "a mapping of availability zone to subnet id, at least 2 zones of the stack's region"
        }
        "workers.network.subnets.*" => {
            "a subnet id (subnet- and 8 or 17 hex digits) keyed by an availability zone of the region (e.g. eu-west-1a)"
        }
        "workers.user_data" => {
            "a path, relative to the stack file, to a shell script starting with #!"
        }
        "workers.health_check_grace_period" => "a duration from 0s to 2h",
        "workers.instance_warmup" => "a duration from 0s to 2h",
        "workers.root_volume_gib" => "a whole number of GiB from 8 to 16384",
        "workers.image" => {
            "a container image the instances run as the worker: REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST], such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com/worker:1.4 (pulled with the instance role) or public.ecr.aws/org/worker:1.4; not with workers.user_data"
        }
        "workers.environment" => {
            "a mapping of environment variable names to plain values the worker gets (not secrets: see workers.secrets)"
        }
        "workers.environment.*" => {
            "a name of letters, digits and _ not starting with a digit, not QFLEET_… or AWS_… or another name Lambda reserves; a value on one line without quotes, backslashes or $ on EC2, and all values of a Lambda function within its 4 KB of environment"
        }
        "workers.secrets" => {
            "a mapping of environment variable names to ssm:/PARAMETER, secretsmanager:SECRET or the ARN of either, resolved when the worker starts"
        }
        "workers.secrets.*" => {
            "ssm:/PARAMETER (a Parameter Store name), secretsmanager:SECRET (a Secrets Manager name) or the ARN of a parameter or secret; the variable name as in workers.environment"
        }
        "workers.secret_keys" => {
            "a list of KMS key ARNs (arn:aws:kms:<region>:<account>:key/<key id>) that encrypt the secrets; not needed for AWS managed keys"
        }
        "workers.policies" => {
            "a list of managed policy ARNs (arn:aws:iam::aws:policy/NAME or arn:aws:iam::<account>:policy/NAME), at most 10 with qfleet's own"
        }
        "workers.allow_privileged" => {
            "true or false (default: false): allow workers.policies and workers.statements that grant administrative or IAM-wide power (AdministratorAccess, IAMFullAccess, IAM writes, iam:PassRole, wildcard actions on broad resources); warned about on every run"
        }
        "workers.statements" => {
            "a list of IAM statements with Effect, Action and Resource (and optionally Sid and Condition) added to the worker's role"
        }
        "workers.statements.*" => {
            "an IAM statement: Effect (Allow or Deny), Action, Resource, optionally Sid and Condition; NotAction, NotResource and Principal are not allowed"
        }
        "workers.statements.*.Effect" => "Allow or Deny",
        "workers.statements.*.Sid" => "letters and digits only",
        "workers.statements.*.Action" => {
            "an action or a list of them, each service:Action (wildcards inside a name such as s3:Get* allowed; not \"*\" and not service:*)"
        }
        "workers.statements.*.Resource" => {
            "an ARN or a list of them naming the resources (not \"*\": name the resources; an action with no resource type is the one exception)"
        }
        "workers.statements.*.Condition" => {
            "an IAM condition block: operator → condition key → value or list of values"
        }
        "workers.public_ip" => {
            "true or false (default false; true is insecure and only for subnets without NAT or VPC endpoints)"
        }
        "scaling" => {
            "a mapping with target_backlog_per_instance, or max_latency_seconds and seconds_per_message; and scale_from_zero, expected_peak, metric, scale_in"
        }
        "scaling.scale_in" => "a mapping with policy, percent, below, minutes, cooldown",
        "scaling.scale_in.policy" => {
            "step (default: target tracking does not scale in; qfleet's gradual policy does) or target_tracking (target tracking's own scale-in)"
        }
        "scaling.scale_in.percent" => {
            "a whole number from 1 to 50: the share of the workers one scale-in removes, in percent (at least one worker)"
        }
        "scaling.scale_in.below" => {
            "a number from 0.1 to 0.9: scale in while the busy backlog per worker is below this share of the target"
        }
        "scaling.scale_in.minutes" => {
            "a whole number from 1 to 1440: consecutive one-minute datapoints below the threshold before a scale-in"
        }
        "scaling.scale_in.cooldown" => "a duration from 60s to 1h (e.g. 300, 5m)",
        "scaling.target_backlog_per_instance" => {
            "a number greater than 0 (messages visible or in flight per in-service instance)"
        }
        "scaling.max_latency_seconds" | "scaling.seconds_per_message" => {
            "a number of seconds greater than 0; give both (qfleet derives the target from them), or target_backlog_per_instance (with them or not: a target given wins, the goal stays for its alarm)"
        }
        "scaling.scale_from_zero" => "true or false",
        "scaling.metric" => {
            "sqs (default: SQS's one-minute metrics) or high_resolution (EC2 workers only: a backlog per instance qfleet publishes every 10 seconds, about $9 a month)"
        }
        "scaling.expected_peak" => {
            "messages per second at the busiest time, a number greater than 0; needs max_latency_seconds and seconds_per_message"
        }
        _ => return None,
    })
}
