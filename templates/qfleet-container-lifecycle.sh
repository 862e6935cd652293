#!/bin/bash
# qfleet-container-lifecycle: the instance's part around a container worker (workers.image),
# run by the unit qfleet-container-lifecycle.service that the user data installs
# (templates/user-data.sh.j2; docs/workers.md, "Container workers"). The container needs
# nothing of qfleet's: this script signals readiness and drains around it.
#
# 1. Ready. The container is ready once it runs: Docker says `healthy` when the image has a
#    HEALTHCHECK (https://docs.docker.com/reference/dockerfile/#healthcheck); without one, the
#    same container has been running for 10 s. This instance must also reach the queue
#    (GetQueueAttributes, with the role the container has). Then the launch hook is completed
#    with CONTINUE, which an instance refresh waits for, and CloudFormation is signalled SUCCESS
#    with the instance id as the unique id, as a first create and a rolling update wait for
#    ("When you signal Amazon EC2 instances or Auto Scaling groups, specify the instance ID that
#    you are signaling as the unique ID":
#    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_SignalResource.html).
#    Either may not be waiting (no create or update under way, a hook already completed): its
#    error is no failure. A container that never gets ready is never signalled: the launch
#    hook's timeout abandons the instance and a first create fails at the signal timeout, as
#    for any worker that cannot reach its queue.
# 2. Drain. The target lifecycle state is read from instance metadata every few seconds
#    (https://docs.aws.amazon.com/autoscaling/ec2/userguide/retrieving-target-lifecycle-state-through-imds.html).
#    When it turns Terminated, the worker's unit is stopped (docker stop: SIGTERM, then at most
#    90 s for the container to finish or release its message), then the terminating hook is
#    completed with CONTINUE
#    (https://docs.aws.amazon.com/autoscaling/ec2/userguide/completing-lifecycle-hooks.html).
#    Auto Scaling waits at most the hook's heartbeat timeout (the queue's visibility timeout,
#    30 s at least), then goes on with the hook's default result, CONTINUE. A state that cannot
#    be read is never taken for Terminated. A completion that fails exits non-zero, and systemd
#    runs the script again (Restart=on-failure), which stops and completes again.
set -uo pipefail
. /etc/qfleet/worker.env
iid=$(qfleet-imds meta-data/instance-id) || exit 1
ready=0 id="" since=0 last=""
while :; do
  if s=$(qfleet-imds meta-data/autoscaling/target-lifecycle-state); then last=$s; fi
  [ "$last" = Terminated ] && break
  if [ "$ready" = 0 ]; then
    now=$(date +%s)
    seen=$(docker inspect -f '{{.Id}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' qfleet-worker 2>/dev/null) || seen=""
    read -r cid status health <<<"$seen"
    if [ "$status" != running ]; then id=""
    elif [ "$cid" != "$id" ]; then id=$cid since=$now
    fi
    if [ -n "$id" ] && { [ "$health" = healthy ] || { [ "$health" = none ] && [ $((now - since)) -ge 10 ]; }; } &&
      aws sqs get-queue-attributes --region "$AWS_REGION" --queue-url "$QFLEET_QUEUE_URL" \
        --attribute-names QueueArn >/dev/null; then
      echo "qfleet: the worker's container is ready: the launch goes on, CloudFormation is signalled"
      aws autoscaling complete-lifecycle-action --region "$AWS_REGION" \
        --auto-scaling-group-name "$QFLEET_ASG_NAME" --lifecycle-hook-name "$QFLEET_LAUNCH_HOOK" \
        --instance-id "$iid" --lifecycle-action-result CONTINUE || true
      aws cloudformation signal-resource --region "$AWS_REGION" --stack-name "$QFLEET_SIGNAL_STACK" \
        --logical-resource-id "$QFLEET_SIGNAL_RESOURCE" --unique-id "$iid" --status SUCCESS || true
      ready=1
    fi
  fi
  sleep $((ready ? 5 : 2))
done
echo "qfleet: this instance is terminating: the worker stops, then the lifecycle hook is completed"
systemctl stop qfleet-worker.service
exec aws autoscaling complete-lifecycle-action --region "$AWS_REGION" \
  --auto-scaling-group-name "$QFLEET_ASG_NAME" --lifecycle-hook-name "$QFLEET_LIFECYCLE_HOOK" \
  --instance-id "$iid" --lifecycle-action-result CONTINUE
