"""qfleet's budget hold, run by Lambda: when the current period's actual cost reaches the
environment's cost budget (AWS Budgets), each worker fleet's maximum is held at its size then;
when a later period starts, it goes back to the configured one (workers.max). The held maximum
is at least 1: growth stops, jobs keep running.

It runs on each notice of the budget's SNS topic and once a day (EventBridge), and reads the
event only to skip its own notices: any other is a prompt to look. The hold is kept on the
fleet, in the tag `qfleet:budget-hold` = "N since TIME" (N the held maximum, TIME in UTC when
the hold began): on an EC2 fleet's Auto Scaling group, on an ECS fleet's service. A hold
writes the tag before the maximum, a release restores the maximum before it deletes the tag: a
run stopped in between leaves a state the next run finishes."""
import datetime
import json
import os
import re
import types
from decimal import Decimal

import boto3

TAG = "qfleet:budget-hold"
ATTRIBUTES = {"qfleet": {"DataType": "String", "StringValue": "budget-hold"}}
DIMENSION = "ecs:service:DesiredCount"
STAMP = "%Y-%m-%dT%H:%M:%SZ"
HOLD = re.compile(r"(0|[1-9]\d*) since (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", re.ASCII)
UTC = datetime.timezone.utc
# AWS Budgets updates its figures up to three times a day, 8 to 12 hours apart
# (https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-managing-costs.html):
# in a period's first 12 hours the figure may still be the last period's, so no hold begins.
FRESH = datetime.timedelta(hours=12)
SERVICES = {"budgets": "budgets", "autoscaling": "autoscaling", "ecs": "ecs", "sns": "sns",
            "appscaling": "application-autoscaling", "awslambda": "lambda"}
LINES = {"held": "{who}: at most {n} worker{s} until the period ends (workers.max {max})",
         "released": "{who}: may grow again, up to workers.max ({max})"}


def utc(t):
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def period_start(unit, now):
    """When the budget's current period began: the UTC day (DAILY) or calendar month (MONTHLY)
    that holds `now`. Another unit raises ValueError: its periods are not read here."""
    day = utc(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if unit not in ("DAILY", "MONTHLY"):
        raise ValueError("budget time unit %s is not supported (DAILY or MONTHLY)" % unit)
    return day if unit == "DAILY" else day.replace(day=1)


def spend(budget, now):
    """The budget (describe_budget's "Budget") at `now`. AWS Budgets resets the actual spend when
    a period starts (Budget's TimeUnit, "the length of time until a budget resets the actual and
    forecasted spend", https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Budget.html),
    but it updates its figures hours apart: only 12 hours into the period (FRESH) is the figure
    surely this period's. `at_cap`: such a figure at or over the amount; `under`: below it."""
    start = period_start(budget["TimeUnit"], now)
    planned = (budget.get("PlannedBudgetLimits") or {}).get(str(int(start.timestamp())))
    limit = budget.get("BudgetLimit") or planned
    if not limit:
        raise ValueError("budget %s has no amount for this period" % budget.get("BudgetName"))
    # A budget AWS has not calculated yet has no figure: neither at the cap nor under it.
    spent = (budget.get("CalculatedSpend") or {}).get("ActualSpend")
    sp = types.SimpleNamespace(
        unit=budget["TimeUnit"], start=start,
        actual=Decimal(spent["Amount"]) if spent else None,
        limit=Decimal(limit["Amount"]), money=limit.get("Unit", "USD"))
    sp.at_cap = spent is not None and utc(now) - start >= FRESH and sp.actual >= sp.limit
    sp.under = spent is not None and sp.actual < sp.limit
    return sp


def parse_hold(value):
    """(N, when the hold began) from the tag's value. A value that does not parse strictly gives
    (None, None), read as a hold that began in an earlier period with N unknown: it is released
    (or held anew at the cap), never kept for ever."""
    m = HOLD.fullmatch(value or "")
    try:
        return int(m.group(1)), datetime.datetime.strptime(m.group(2), STAMP).replace(tzinfo=UTC)
    except (AttributeError, ValueError):
        return None, None


def plan(sp, held, began):
    """One fleet's "hold", "release", "keep" (held, stays so) or "none". A hold from an earlier
    period is released, or held anew when this one is at the cap too (a release then would let
    it grow)."""
    earlier = began is None or began < sp.start
    if sp.at_cap and (not held or earlier):
        return "hold"
    if held and (earlier or sp.under):
        return "release"
    return "keep" if held else "none"


def held_at(state, f, n=0):
    """The maximum a hold keeps: the fleet's size (or the hold's N, if more), at least 1 and one
    more than its minimum, so that a rolling update keeps its MinInstancesInService (at most the
    minimum) below the maximum; never over workers.max."""
    return min(max(n, state["size"], state["min"] + 1, 1), f["max"])


def read_fleet(c, f):
    """The fleet's size, minimum, maximum and hold tag (None when untagged); None when it is not
    deployed (no such group, or no scalable target or service). An ECS fleet's tag is on its
    service, whose ARN IAM can name (a scalable target's ends in a generated id)."""
    if "group" in f:
        groups = c.autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=[f["group"]])["AutoScalingGroups"]
        if not groups:
            return None
        g = groups[0]
        tag = next((t["Value"] for t in g.get("Tags") or [] if t["Key"] == TAG), None)
        return dict(size=g["DesiredCapacity"], min=g["MinSize"], max=g["MaxSize"], tag=tag)
    targets = c.appscaling.describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[f["service"]],
        ScalableDimension=DIMENSION)["ScalableTargets"]
    services = targets and c.ecs.describe_services(
        cluster=f["cluster"], services=[f["service"].rsplit("/", 1)[-1]],
        include=["TAGS"])["services"]
    if not services:
        return None
    s = services[0]
    tag = next((t["value"] for t in s.get("tags") or [] if t["key"] == TAG), None)
    return dict(size=s["desiredCount"], min=targets[0]["MinCapacity"],
                max=targets[0]["MaxCapacity"], tag=tag, arn=s["serviceArn"])


def set_max(c, f, n):
    if "group" in f:
        c.autoscaling.update_auto_scaling_group(AutoScalingGroupName=f["group"], MaxSize=n)
    else:
        c.appscaling.register_scalable_target(ServiceNamespace="ecs", ResourceId=f["service"],
                                              ScalableDimension=DIMENSION, MaxCapacity=n)


def set_tag(c, f, state, value):
    """Writes the hold tag, or deletes it when `value` is None."""
    tag = {"ResourceId": f.get("group"), "ResourceType": "auto-scaling-group", "Key": TAG}
    if "group" in f and value is None:
        c.autoscaling.delete_tags(Tags=[tag])
    elif "group" in f:
        c.autoscaling.create_or_update_tags(Tags=[dict(tag, Value=value, PropagateAtLaunch=False)])
    elif value is None:
        c.ecs.untag_resource(resourceArn=state["arn"], tagKeys=[TAG])
    else:
        c.ecs.tag_resource(resourceArn=state["arn"], tags=[{"key": TAG, "value": value}])


def settle(c, f, sp, now):
    """One fleet's run: reads it, does what plan() says, and returns what it did. Without a
    spend (`sp` None: the hold is turned off), a held fleet is given back."""
    state = read_fleet(c, f)
    if state is None:
        return dict(action="not deployed")
    n, began = parse_hold(state["tag"])
    held = state["tag"] is not None
    do = plan(sp, held, began) if sp else ("release" if held else "none")
    if do == "hold":
        n = min(held_at(state, f), state["max"])
        set_tag(c, f, state, "%d since %s" % (n, now.strftime(STAMP)))
        set_max(c, f, n)
        return dict(action="held", max=n)
    if do == "release":
        set_max(c, f, f["max"])
        set_tag(c, f, state, None)
        period = "turned off" if sp is None else (
            "new period" if began is None or began < sp.start else "under the amount")
        return dict(action="released", max=f["max"], why=period)
    # A deploy may have changed the maximum (set back to workers.max), workers.max itself or
    # the minimum: the hold keeps the size reached, within the file's bounds.
    keep = held_at(state, f, n) if do == "keep" else n
    if do == "keep" and keep != n:
        set_tag(c, f, state, "%d since %s" % (keep, began.strftime(STAMP)))
    if do == "keep" and state["max"] != keep:
        set_max(c, f, keep)
        return dict(action="reapplied", max=keep)
    return dict(action="kept" if do == "keep" else "none", max=state["max"])


def money(amount, unit):
    text = str(int(amount) if amount == amount.to_integral() else amount.quantize(Decimal(".01")))
    return "$" + text if unit == "USD" else "%s %s" % (text, unit)


def notice(env_name, sp, results, fleets):
    """The AWS Chatbot custom notification of this run's holds and releases; None if none."""
    lines = [LINES[r["action"]].format(n=r["max"], max=f["max"], s="s" * (r["max"] != 1), who=(
        "stage %s" % r["stage"]) if isinstance(r["stage"], str) else "the fleet")
        for r, f in zip(results, fleets) if r["action"] in LINES]
    if not lines:
        return None
    if sp and sp.actual is not None:
        lines.append("The spend is %s of %s %s." % (money(sp.actual, sp.money), money(
            sp.limit, sp.money), "today" if sp.unit == "DAILY" else "this month"))
    if sp is None:
        title = ":arrow_forward: qfleet %s: the budget hold is turned off; the fleets may grow again"
    elif any(r["action"] == "held" for r in results):
        title = ":pause_button: qfleet %s: the budget's amount is reached; growth stopped"
        lines.append("Jobs keep running at that size. `qfleet status %s` shows the hold."
                     % env_name)
    elif all(r.get("why") == "under the amount" for r in results if r["action"] == "released"):
        title = ":arrow_forward: qfleet %s: the spend is under the budget's amount again"
    else:
        title = ":arrow_forward: qfleet %s: a new budget period; the fleets may grow again"
    return {"version": "1.0", "source": "custom", "content": {
        "textType": "client-markdown", "title": title % env_name, "description": "\n".join(lines)}}


def own_notice(event):
    """Whether `event` is SNS's delivery of this function's own notices and nothing else."""
    records = (event or {}).get("Records") or []
    return bool(records) and all(r.get("EventSource") == "aws:sns" and (
        (r.get("Sns") or {}).get("MessageAttributes") or {}).get("qfleet", {}).get(
        "Value") == "budget-hold" for r in records)


def handler(event, context=None, clients=None, now=None, env=None):
    """One run over every fleet. A budget that cannot be read (or a period unit not supported)
    raises before any fleet is touched. A fleet that fails is logged and the others go on; the
    notice goes out for the rest, then RuntimeError is raised: the invocation fails. The event
    {"qfleet": "give back"} (qfleet deploy's, before a deploy that turns the hold off deletes
    this function) gives back every held fleet, whatever the budget."""
    if own_notice(event):
        return {"skipped": "own notice"}
    env = os.environ if env is None else env
    c = clients or types.SimpleNamespace(**{
        k: boto3.client(s, region_name=env.get("AWS_REGION")) for k, s in SERVICES.items()})
    now = utc(now or datetime.datetime.now(UTC))
    give_back = (event or {}).get("qfleet") == "give back"
    if give_back:
        # No run starts after this one: a message on the topic would hold a fleet again
        # before the deploy deletes the function.
        c.awslambda.put_function_concurrency(FunctionName=env["AWS_LAMBDA_FUNCTION_NAME"],
                                             ReservedConcurrentExecutions=0)
    sp = None if give_back else spend(c.budgets.describe_budget(
        AccountId=env["QFLEET_ACCOUNT"], BudgetName=env["QFLEET_BUDGET"])["Budget"], now)
    fleets, results = json.loads(env["QFLEET_FLEETS"]), []
    for f in fleets:
        r = {"stage": f.get("stage"), "fleet": f.get("group") or f.get("service")}
        try:
            r.update(settle(c, f, sp, now))
        except Exception as e:  # noqa: BLE001 - the other fleets go on; raised at the end
            r.update(action="failed", error="%s: %s" % (type(e).__name__, e))
        print(json.dumps(dict(r, environment=env["QFLEET_ENVIRONMENT"]), sort_keys=True))
        results.append(r)
    message = notice(env["QFLEET_ENVIRONMENT"], sp, results, fleets)
    if message:
        c.sns.publish(TopicArn=env["QFLEET_TOPIC"], Message=json.dumps(message),
                      MessageAttributes=ATTRIBUTES)
    failed = [r for r in results if r["action"] == "failed"]
    if failed:
        raise RuntimeError("%d fleet(s) failed, first: %s: %s" % (
            len(failed), failed[0]["fleet"], failed[0]["error"]))
    if sp is None:
        return {"fleets": results}
    return {"at_cap": sp.at_cap, "spend": None if sp.actual is None else str(sp.actual),
            "limit": str(sp.limit),
            "fleets": results}
