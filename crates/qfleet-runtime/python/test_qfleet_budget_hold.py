"""Tests for qfleet_budget_hold.py: its decisions as pure functions, and whole runs of its handler
against moto's in-process Auto Scaling, ECS, Application Auto Scaling, Budgets and SNS (boto3).

Budgets is mostly a fake, named so: moto keeps a budget's spend as created, where AWS resets it
when a period starts, so the tests that need a figure of their own read FakeBudgets. An ECS
fleet's hold tag is on its service, in moto's ECS."""
import ast
import datetime
import json
import os
import pathlib
import types
from decimal import Decimal

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import qfleet_budget_hold as m
from conftest import record

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's account
MOTO_IMAGE = "ami-03cf127a"  # the first of moto's images
# The names the project's IAM test gives (tests/integration/iam.rs): the rendered policy's.
GROUP = os.environ.get("QFLEET_TEST_ASG", "qfleet-lab-orders")
CLUSTER = os.environ.get("QFLEET_TEST_CLUSTER", "qfleet-lab")
SERVICE = os.environ.get("QFLEET_TEST_SERVICE", "render")
BUDGET = os.environ.get("QFLEET_TEST_BUDGET", "qfleet-lab")
TOPIC = os.environ.get("QFLEET_TEST_TOPIC", "qfleet-lab-budget")
UTC = datetime.timezone.utc
NOW = datetime.datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
NEXT_MONTH = datetime.datetime(2025, 4, 1, 6, 0, tzinfo=UTC)
SOURCE = pathlib.Path(m.__file__).read_text()


def slimmed():
    """The module as it ships: no comment lines and no docstrings (a body left empty gets a
    `pass`), loaded from that text alone."""
    text = "\n".join(line for line in SOURCE.splitlines() if not line.lstrip().startswith("#"))
    tree = ast.parse(text)
    for n in ast.walk(tree):
        if not isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef)):
            continue
        if n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant):
            n.body = n.body[1:] or [ast.Pass()]
    code = ast.unparse(tree)
    assert '"""' not in code and "qfleet's budget hold" not in code
    mod = types.ModuleType("qfleet_budget_hold_slimmed")
    exec(compile(code, "qfleet_budget_hold_slimmed.py", "exec"), mod.__dict__)
    return mod


def budget(actual="201.5", limit="200", unit="MONTHLY", **extra):
    b = {"BudgetName": BUDGET, "TimeUnit": unit, "BudgetType": "COST",
         "BudgetLimit": {"Amount": limit, "Unit": "USD"},
         "CalculatedSpend": {"ActualSpend": {"Amount": actual, "Unit": "USD"}}}
    return dict(b, **extra)


class FakeBudgets:
    """AWS Budgets' describe_budget with a figure of the test's (moto's never resets)."""

    def __init__(self, error=None, **kw):
        self.budget, self.error, self.calls = budget(**kw), error, []

    def describe_budget(self, **kw):
        self.calls.append(kw)
        record("budgets", "DescribeBudget", kw)  # for the IAM test, as boto3's calls are
        if self.error:
            raise self.error
        return {"Budget": dict(self.budget)}


class FakeLambda:
    """Lambda's put_function_concurrency, kept (moto would need the function deployed)."""

    def __init__(self):
        self.calls = []

    def put_function_concurrency(self, **kw):
        self.calls.append(kw)
        record("lambda", "PutFunctionConcurrency", kw)  # for the IAM test
        return {"ReservedConcurrentExecutions": kw["ReservedConcurrentExecutions"]}


class FailingAutoscaling:
    """moto's Auto Scaling client, refusing to update one group (as IAM would)."""

    def __init__(self, real, group):
        self.real, self.group = real, group

    def __getattr__(self, name):
        return getattr(self.real, name)

    def update_auto_scaling_group(self, **kw):
        if kw["AutoScalingGroupName"] == self.group:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}},
                              "UpdateAutoScalingGroup")
        return self.real.update_auto_scaling_group(**kw)


@pytest.fixture
def aws(monkeypatch):
    for k in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        c = types.SimpleNamespace(**{k: boto3.client(s, region_name=REGION) for k, s in (
            ("budgets", "budgets"), ("autoscaling", "autoscaling"), ("ecs", "ecs"),
            ("sns", "sns"), ("sqs", "sqs"), ("ec2", "ec2"),
            ("appscaling", "application-autoscaling"))})
        # One of moto's own images, by id: describing them all takes a second a test.
        c.ec2.create_launch_template(LaunchTemplateName="qfleet-lt", LaunchTemplateData={
            "ImageId": MOTO_IMAGE, "InstanceType": "t3.micro"})
        c.topic = c.sns.create_topic(Name=TOPIC)["TopicArn"]
        c.queue = c.sqs.create_queue(QueueName="notices")["QueueUrl"]
        arn = c.sqs.get_queue_attributes(QueueUrl=c.queue, AttributeNames=["QueueArn"])
        c.sns.subscribe(TopicArn=c.topic, Protocol="sqs",
                        Endpoint=arn["Attributes"]["QueueArn"])
        c.awslambda = FakeLambda()
        yield c


def group(c, name, desired, min_size=0, max_size=10):
    c.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name, MinSize=min_size, MaxSize=max_size, DesiredCapacity=desired,
        LaunchTemplate={"LaunchTemplateName": "qfleet-lt"}, AvailabilityZones=[f"{REGION}a"])
    return {"stage": None, "group": name, "max": max_size}


def asg(c, name):
    g = c.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    g = g["AutoScalingGroups"][0]
    return g["MaxSize"], {t["Key"]: t["Value"] for t in g.get("Tags", [])}


def service(c, name, desired, min_cap=0, max_cap=8, target=True):
    if not c.ecs.list_clusters()["clusterArns"]:
        c.ecs.create_cluster(clusterName=CLUSTER)
        c.ecs.register_task_definition(
            family="w", containerDefinitions=[{"name": "w", "image": "x", "memory": 512}],
            requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512")
    c.ecs.create_service(cluster=CLUSTER, serviceName=name, taskDefinition="w",
                         desiredCount=desired, launchType="FARGATE")
    rid = f"service/{CLUSTER}/{name}"
    if target:
        c.appscaling.register_scalable_target(
            ServiceNamespace="ecs", ResourceId=rid, ScalableDimension=m.DIMENSION,
            MinCapacity=min_cap, MaxCapacity=max_cap)
    return {"stage": name, "service": rid, "cluster": CLUSTER, "max": max_cap}


def target(c, rid):
    """The scalable target's maximum, and the tags of its service."""
    t = c.appscaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[rid],
                                               ScalableDimension=m.DIMENSION)["ScalableTargets"][0]
    s = c.ecs.describe_services(cluster=CLUSTER, services=[rid.rsplit("/", 1)[-1]],
                                include=["TAGS"])["services"][0]
    return t["MaxCapacity"], {x["key"]: x["value"] for x in s.get("tags") or []}


def env(c, *fleets):
    return {"QFLEET_ENVIRONMENT": "lab", "QFLEET_ACCOUNT": ACCOUNT, "QFLEET_BUDGET": BUDGET,
            "QFLEET_FLEETS": json.dumps(list(fleets)), "QFLEET_TOPIC": c.topic,
            "AWS_LAMBDA_FUNCTION_NAME": "qfleet-lab-budget-hold"}


def notices(c):
    """The notices published since the last call: (attributes, message) each."""
    got = []
    while True:
        msgs = c.sqs.receive_message(QueueUrl=c.queue, MaxNumberOfMessages=10).get("Messages")
        if not msgs:
            return got
        for x in msgs:
            body = json.loads(x["Body"])
            got.append((body.get("MessageAttributes"), json.loads(body["Message"])))
            c.sqs.delete_message(QueueUrl=c.queue, ReceiptHandle=x["ReceiptHandle"])


def run(c, e, now=NOW, mod=m, event=None, moto_budgets=False, **kw):
    """One invocation by the daily rule; the budget is FakeBudgets(**kw) unless moto's."""
    c2 = types.SimpleNamespace(**vars(c))
    if not moto_budgets:
        c2.budgets = FakeBudgets(**kw)
    return mod.handler(event or {"source": "aws.events"}, None, clients=c2, now=now, env=e)


# The pure decisions.

def test_the_period_is_the_utc_day_or_the_utc_calendar_month():
    at = datetime.datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
    assert m.period_start("MONTHLY", at) == at
    assert m.period_start("MONTHLY", at - datetime.timedelta(seconds=1)) == datetime.datetime(
        2025, 2, 1, tzinfo=UTC)
    assert m.period_start("DAILY", datetime.datetime(2025, 3, 5, 23, 59, 59, tzinfo=UTC)) == \
        datetime.datetime(2025, 3, 5, tzinfo=UTC)
    # 01:00 on 1 March at UTC+2 is still February in UTC; a naive time is read as UTC.
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    assert m.period_start("MONTHLY", datetime.datetime(2025, 3, 1, 1, 0, tzinfo=plus2)).month == 2
    assert m.period_start("DAILY", datetime.datetime(2025, 3, 5, 7)) == datetime.datetime(
        2025, 3, 5, tzinfo=UTC)


@pytest.mark.parametrize("unit", ["QUARTERLY", "ANNUALLY", "CUSTOM"])
def test_another_unit_is_not_supported(unit):
    with pytest.raises(ValueError, match=f"{unit} is not supported"):
        m.spend(budget(unit=unit), NOW)


def test_exactly_the_amount_holds_and_a_cent_less_does_not():
    assert m.spend(budget(actual="200.00", limit="200"), NOW).at_cap
    sp = m.spend(budget(actual="199.999", limit="200"), NOW)
    assert (sp.at_cap, sp.under, sp.actual) == (False, True, Decimal("199.999"))


def test_a_planned_budget_reads_the_amount_of_its_period():
    start = str(int(datetime.datetime(2025, 3, 1, tzinfo=UTC).timestamp()))
    b = budget(actual="120")
    del b["BudgetLimit"]
    b["PlannedBudgetLimits"] = {start: {"Amount": "100", "Unit": "USD"}}
    assert m.spend(b, NOW).at_cap
    b["PlannedBudgetLimits"] = {}
    with pytest.raises(ValueError, match="no amount"):
        m.spend(b, NOW)


@pytest.mark.parametrize("value", [
    None, "", "3", "03 since 2025-03-01T00:00:00Z", "-1 since 2025-03-01T00:00:00Z",
    "3 since 2025-13-01T00:00:00Z", "3 since 2025-03-01 00:00:00", "3 since 2025-03-01T00:00:00Z ",
    "\uff13 since 2025-03-01T00:00:00Z", "3 since 2025-03-01T00:00:00+00:00"])
def test_an_unparsable_hold_is_one_of_an_earlier_period_with_n_unknown(value):
    assert m.parse_hold(value) == (None, None)
    sp = m.spend(budget(actual="1"), NOW)
    assert m.plan(sp, True, None) == "release"


def test_a_hold_reads_back_as_written():
    assert m.parse_hold("3 since 2025-03-14T12:00:00Z") == (3, NOW)


def test_the_plan():
    cap, under = (m.spend(budget(actual=a), NOW) for a in ("201.5", "10"))
    this, last = datetime.datetime(2025, 3, 14, 9, tzinfo=UTC), datetime.datetime(
        2025, 2, 20, tzinfo=UTC)
    assert m.plan(cap, False, None) == "hold"
    assert m.plan(cap, True, this) == "keep"
    assert m.plan(cap, True, last) == "hold", "at the cap in this period too: held anew"
    assert m.plan(under, True, last) == "release", "a new period"
    assert m.plan(under, True, this) == "release", "the amount was raised"
    assert m.plan(under, False, None) == "none"


def test_money():
    assert m.money(Decimal("201.5"), "USD") == "$201.50"
    assert m.money(Decimal("200.0"), "USD") == "$200"
    assert m.money(Decimal("7"), "EUR") == "7 EUR"


def test_the_own_notice_is_sns_with_the_attribute_on_every_record():
    own = {"EventSource": "aws:sns", "Sns": {"MessageAttributes": {
        "qfleet": {"Type": "String", "Value": "budget-hold"}}}}
    other = {"EventSource": "aws:sns", "Sns": {"Message": "AWS Budget Notification"}}
    assert m.own_notice({"Records": [own, own]})
    assert not m.own_notice({"Records": [own, other]})
    assert not m.own_notice({"Records": []})
    assert not m.own_notice({"source": "aws.events", "detail-type": "Scheduled Event"})
    # Skipped before any client is made or any setting read.
    assert m.handler({"Records": [own]}, None, env={}) == {"skipped": "own notice"}


# Whole runs.

@pytest.mark.parametrize("mod", ["source", "slimmed"])
def test_a_group_is_held_kept_then_released_in_the_next_month(aws, mod, capsys):
    """With moto's Budgets at the cap; then FakeBudgets for the next month's reset spend."""
    mod = m if mod == "source" else slimmed()
    c = aws
    f = dict(group(c, GROUP, desired=3), stage="orders")
    c.budgets.create_budget(AccountId=ACCOUNT, Budget=budget())
    now = NOW
    e = env(c, f)

    got = run(c, e, now=now, mod=mod, moto_budgets=True)
    assert got["at_cap"] is True
    assert got["fleets"] == [{"stage": "orders", "fleet": GROUP, "action": "held",
                              "max": 3}]
    assert asg(c, GROUP) == (3, {m.TAG: "3 since " + now.strftime(m.STAMP)})
    assert len(notices(c)) == 1
    assert [json.loads(x)["action"] for x in capsys.readouterr().out.splitlines()] == ["held"]

    # A second run, later in the month: nothing changes, nothing is said.
    got = run(c, e, now=now + datetime.timedelta(hours=5), mod=mod, moto_budgets=True)
    assert got["fleets"][0]["action"] == "kept"
    assert asg(c, GROUP) == (3, {m.TAG: "3 since " + now.strftime(m.STAMP)})
    assert notices(c) == []

    # The next month: AWS Budgets has reset the spend, and the hold is of an earlier period.
    got = run(c, e, now=NEXT_MONTH, mod=mod, actual="0")
    assert (got["at_cap"], got["fleets"][0]["action"], got["fleets"][0]["max"]) == (
        False, "released", 10)
    assert asg(c, GROUP) == (10, {})
    (attrs, msg), = notices(c)
    assert attrs == {"qfleet": {"Type": "String", "Value": "budget-hold"}}
    assert msg["content"]["title"].startswith(":arrow_forward: qfleet lab: a new budget period")
    assert "stage orders: may grow again, up to workers.max (10)" in msg["content"]["description"]


def test_a_notice_is_published_once_per_run_with_the_attribute_and_the_stages(aws):
    c = aws
    a = dict(group(c, GROUP, desired=3), stage="orders")
    b = dict(group(c, "qfleet-lab-thumbs", desired=2, max_size=6), stage="thumbs")
    run(c, env(c, a, b))
    (attrs, msg), = notices(c)
    assert attrs == {"qfleet": {"Type": "String", "Value": "budget-hold"}}
    assert msg["version"] == "1.0" and msg["source"] == "custom"
    content = msg["content"]
    assert content["textType"] == "client-markdown"
    assert content["title"] == (
        ":pause_button: qfleet lab: the budget's amount is reached; growth stopped")
    assert content["description"].splitlines() == [
        "stage orders: at most 3 workers until the period ends (workers.max 10)",
        "stage thumbs: at most 2 workers until the period ends (workers.max 6)",
        "The spend is $201.50 of $200 this month.",
        "Jobs keep running at that size. `qfleet status lab` shows the hold."]


def test_a_group_at_zero_is_held_at_one_and_the_null_stage_is_the_fleet(aws):
    c = aws
    f = group(c, "qfleet-lab-workers", desired=0)
    got = run(c, env(c, f))
    assert got["fleets"][0]["max"] == 1
    assert asg(c, "qfleet-lab-workers") == (1, {m.TAG: "1 since 2025-03-14T12:00:00Z"})
    (_, msg), = notices(c)
    assert msg["content"]["description"].startswith(
        "the fleet: at most 1 worker until the period ends (workers.max 10)\n")
    assert "None" not in msg["content"]["description"]


def test_the_hold_is_one_over_the_minimum_for_a_rolling_update(aws):
    """CloudFormation's rolling update keeps MinInstancesInService (at most workers.min) below
    the group's MaxSize: a hold at the minimum would fail the next deploy of the fleet."""
    c = aws
    f = group(c, "qfleet-lab-workers", desired=2, min_size=2)
    run(c, env(c, f))
    assert asg(c, "qfleet-lab-workers")[0] == 3
    g = group(c, "qfleet-lab-tight", desired=2, min_size=2, max_size=2)
    assert run(c, env(c, g))["fleets"][0]["max"] == 2, "never over workers.max"


def test_a_deploy_that_puts_the_maximum_back_is_held_again(aws):
    c = aws
    f = group(c, "qfleet-lab-workers", desired=3)
    run(c, env(c, f))
    c.autoscaling.update_auto_scaling_group(AutoScalingGroupName="qfleet-lab-workers", MaxSize=10)
    notices(c)
    got = run(c, env(c, f), now=NOW + datetime.timedelta(hours=1))
    assert got["fleets"][0]["action"] == "reapplied"
    assert asg(c, "qfleet-lab-workers") == (3, {m.TAG: "3 since 2025-03-14T12:00:00Z"})
    assert notices(c) == [], "no notice for a re-apply"


def test_a_tag_written_before_a_crash_is_finished_by_the_next_run(aws):
    """A hold writes its tag first: a run stopped before the maximum leaves a mark."""
    c = aws
    f = group(c, "qfleet-lab-workers", desired=3)
    m.set_tag(c, f, None, "3 since 2025-03-14T11:00:00Z")
    assert run(c, env(c, f))["fleets"][0]["action"] == "reapplied"
    assert asg(c, "qfleet-lab-workers")[0] == 3


def test_the_amount_raised_releases_the_hold_in_the_same_period(aws):
    c = aws
    f = group(c, "qfleet-lab-workers", desired=3)
    run(c, env(c, f))
    notices(c)
    got = run(c, env(c, f), now=NOW + datetime.timedelta(hours=3), limit="400")
    assert got["fleets"][0]["action"] == "released"
    assert asg(c, "qfleet-lab-workers") == (10, {})
    (_, msg), = notices(c)
    assert "under the budget's amount" in msg["content"]["title"]
    assert msg["content"]["description"].splitlines() == [
        "the fleet: may grow again, up to workers.max (10)",
        "The spend is $201.50 of $400 this month."]


def test_an_unparsable_tag_is_released_or_held_anew(aws):
    c = aws
    f = group(c, "qfleet-lab-workers", desired=3, max_size=5)
    m.set_tag(c, f, None, "held by hand")
    c.autoscaling.update_auto_scaling_group(AutoScalingGroupName="qfleet-lab-workers", MaxSize=4)
    got = run(c, env(c, f), actual="10")
    assert got["fleets"][0]["action"] == "released"
    assert asg(c, "qfleet-lab-workers") == (5, {})
    m.set_tag(c, f, None, "held by hand")
    got = run(c, env(c, f))
    assert got["fleets"][0]["action"] == "held"
    assert asg(c, "qfleet-lab-workers") == (3, {m.TAG: "3 since 2025-03-14T12:00:00Z"})


def test_a_daily_budget_releases_the_next_day(aws):
    c = aws
    f = group(c, "qfleet-lab-workers", desired=4)
    run(c, env(c, f), unit="DAILY")
    assert asg(c, "qfleet-lab-workers")[0] == 4
    tomorrow = NOW + datetime.timedelta(hours=13)
    # AWS Budgets reset the spend at midnight UTC: the hold of yesterday is given back.
    got = run(c, env(c, f), now=tomorrow, unit="DAILY", actual="0")
    assert got["fleets"][0]["action"] == "released"
    assert asg(c, "qfleet-lab-workers") == (10, {})


def test_a_fleet_not_deployed_is_skipped(aws):
    c = aws
    f = group(c, GROUP, desired=2)
    gone = {"stage": "thumbs", "group": "qfleet-lab-thumbs", "max": 4}
    no_target = service(c, SERVICE, desired=1, target=False)
    got = run(c, env(c, gone, f, no_target))
    assert [x["action"] for x in got["fleets"]] == ["not deployed", "held", "not deployed"]
    (_, msg), = notices(c)
    assert "thumbs" not in msg["content"]["description"]


def test_a_fleet_that_fails_does_not_stop_the_others(aws, capsys):
    c = aws
    bad = dict(group(c, GROUP, desired=3), stage="orders")
    good = dict(group(c, "qfleet-lab-thumbs", desired=2), stage="thumbs")
    c2 = types.SimpleNamespace(**vars(c))
    c2.autoscaling = FailingAutoscaling(c.autoscaling, GROUP)
    with pytest.raises(RuntimeError, match=r"1 fleet\(s\) failed, first: " + GROUP + ": "
                                           r"ClientError: .*AccessDenied"):
        run(c2, env(c, bad, good))
    logs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(x["stage"], x["action"]) for x in logs] == [("orders", "failed"), ("thumbs", "held")]
    assert asg(c, "qfleet-lab-thumbs")[0] == 2
    (_, msg), = notices(c)
    assert "stage thumbs" in msg["content"]["description"]
    assert "stage orders" not in msg["content"]["description"]
    # The tag went first: the next run, allowed, finishes the hold.
    assert asg(c, GROUP) == (10, {m.TAG: "3 since 2025-03-14T12:00:00Z"})
    got = run(c, env(c, bad, good), now=NOW + datetime.timedelta(minutes=5))
    assert [x["action"] for x in got["fleets"]] == ["reapplied", "kept"]
    assert asg(c, GROUP)[0] == 3


def test_a_spend_that_cannot_be_read_raises_and_changes_nothing(aws):
    c = aws
    f = group(c, "qfleet-lab-workers", desired=3)
    with pytest.raises(ClientError, match="NotFound"):
        run(c, env(c, f), moto_budgets=True)  # no such budget
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}},
                         "DescribeBudget")
    with pytest.raises(ClientError, match="AccessDenied"):
        run(c, env(c, f), error=denied)
    with pytest.raises(ValueError, match="not supported"):
        run(c, env(c, f), unit="ANNUALLY")
    assert asg(c, "qfleet-lab-workers") == (10, {})
    assert notices(c) == []


def test_a_spend_that_cannot_be_read_releases_nothing(aws):
    c = aws
    f = group(c, "qfleet-lab-workers", desired=3)
    run(c, env(c, f))
    with pytest.raises(ClientError):
        run(c, env(c, f), now=NEXT_MONTH,
            error=ClientError({"Error": {"Code": "Throttling", "Message": "x"}}, "DescribeBudget"))
    assert asg(c, "qfleet-lab-workers")[0] == 3


def test_an_ecs_fleet_is_held_and_released(aws):
    """The hold's tag on the service, the maximum on the scalable target: moto's both."""
    c = aws
    f = service(c, SERVICE, desired=3, min_cap=1, max_cap=8)
    got = run(c, env(c, f))
    assert got["fleets"] == [{"stage": SERVICE, "fleet": f"service/{CLUSTER}/{SERVICE}",
                              "action": "held", "max": 3}]
    assert target(c, f["service"]) == (3, {m.TAG: "3 since 2025-03-14T12:00:00Z"})
    assert run(c, env(c, f), now=NOW + datetime.timedelta(days=1))["fleets"][0]["action"] == \
        "kept"
    got = run(c, env(c, f), now=NEXT_MONTH, actual="0")
    assert got["fleets"][0]["action"] == "released"
    assert target(c, f["service"]) == (8, {})
    assert [x[1]["content"]["title"][:15] for x in notices(c)] == [
        ":pause_button: ", ":arrow_forward:"]


def test_an_ecs_service_at_zero_is_held_at_one(aws):
    c = aws
    f = service(c, SERVICE, desired=0)
    run(c, env(c, f))
    assert target(c, f["service"])[0] == 1


def test_the_handler_makes_its_clients_and_reads_its_settings(aws, monkeypatch):
    """No clients given: the handler makes boto3's (moto's here), and reads os.environ."""
    c = aws
    f = group(c, "qfleet-lab-workers", desired=2)
    c.budgets.create_budget(AccountId=ACCOUNT, Budget=budget())
    for k, v in env(c, f).items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_REGION", REGION)
    event = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "budget alert"}}]}
    got = m.handler(event, None)
    assert (got["at_cap"], got["fleets"][0]["action"]) == (True, "held")
    assert asg(c, "qfleet-lab-workers")[0] == 2
    assert len(notices(c)) == 1


def test_the_module_stays_alone():
    imported = {a.name.split(".")[0] for n in ast.walk(ast.parse(SOURCE))
                if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(ast.parse(SOURCE))
                 if isinstance(n, ast.ImportFrom)}
    assert not any(x.startswith("qfleet") for x in imported)
    assert imported <= {"boto3", "datetime", "json", "os", "re", "types", "decimal"}


def test_give_back_releases_every_held_fleet_without_reading_the_budget(aws):
    """qfleet deploy's event before a deploy that turns the hold off deletes the function."""
    c = aws
    a = dict(group(c, GROUP, desired=3), stage="orders")
    b = service(c, SERVICE, desired=2, max_cap=8)
    idle = dict(group(c, "qfleet-lab-idle", desired=1, max_size=4), stage="idle")
    run(c, env(c, a, b))
    notices(c)
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}},
                         "DescribeBudget")
    got = run(c, env(c, a, b, idle), event={"qfleet": "give back"}, error=denied)
    # No run starts after it: its own concurrency is 0 first.
    assert c.awslambda.calls == [{"FunctionName": "qfleet-lab-budget-hold",
                                  "ReservedConcurrentExecutions": 0}]
    assert [x["action"] for x in got["fleets"]] == ["released", "released", "none"]
    assert asg(c, GROUP) == (10, {})
    assert target(c, b["service"]) == (8, {})
    (_, msg), = notices(c)
    assert "the budget hold is turned off" in msg["content"]["title"]
    assert "The spend" not in msg["content"]["description"]


def test_no_hold_begins_in_a_period_s_first_12_hours_and_a_stale_figure_releases(aws):
    """AWS Budgets updates its figures 8 to 12 hours apart: just after midnight UTC the figure
    may be the last period's. The hold of the last period is given back, none begins."""
    c = aws
    f = group(c, GROUP, desired=3)
    run(c, env(c, f))
    notices(c)
    just_after = datetime.datetime(2025, 4, 1, 0, 5, tzinfo=UTC)
    got = run(c, env(c, f), now=just_after)  # still $201.50 of $200: last month's
    assert (got["at_cap"], got["fleets"][0]["action"]) == (False, "released")
    assert asg(c, GROUP) == (10, {})
    assert run(c, env(c, f), now=just_after + datetime.timedelta(hours=11))["fleets"][0][
        "action"] == "none"
    got = run(c, env(c, f), now=just_after + datetime.timedelta(hours=12))
    assert got["fleets"][0]["action"] == "held"


def test_a_held_fleet_follows_the_file_s_bounds_and_keeps_the_size_it_reached(aws):
    c = aws
    f = group(c, GROUP, desired=5)
    run(c, env(c, f))
    later = NOW + datetime.timedelta(hours=1)
    # workers.max lowered to 4 by a deploy: the hold is 4, not 5.
    c.autoscaling.update_auto_scaling_group(AutoScalingGroupName=GROUP, MaxSize=4)
    got = run(c, env(c, dict(f, max=4)), now=later)
    assert got["fleets"][0]["action"] in ("reapplied", "kept")
    assert asg(c, GROUP) == (4, {m.TAG: "4 since 2025-03-14T12:00:00Z"})
    # workers.max raised to 10 and the fleet grew to 6 before this run: held at 6.
    c.autoscaling.update_auto_scaling_group(AutoScalingGroupName=GROUP, MaxSize=10,
                                            DesiredCapacity=6)
    got = run(c, env(c, f), now=later)
    assert got["fleets"][0] == {"stage": None, "fleet": GROUP, "action": "reapplied", "max": 6}
    assert asg(c, GROUP) == (6, {m.TAG: "6 since 2025-03-14T12:00:00Z"})
    # workers.min raised to 7: one more.
    c.autoscaling.update_auto_scaling_group(AutoScalingGroupName=GROUP, MinSize=7,
                                            MaxSize=10, DesiredCapacity=7)
    assert run(c, env(c, f), now=later)["fleets"][0]["max"] == 8
    assert asg(c, GROUP)[0] == 8


def test_a_budget_not_calculated_yet_holds_and_releases_nothing(aws):
    c = aws
    f = group(c, GROUP, desired=3)
    run(c, env(c, f))
    c2 = types.SimpleNamespace(**vars(c))
    c2.budgets = FakeBudgets()
    del c2.budgets.budget["CalculatedSpend"]
    got = m.handler({}, None, clients=c2, now=NOW + datetime.timedelta(hours=1), env=env(c, f))
    assert (got["at_cap"], got["spend"], got["fleets"][0]["action"]) == (False, None, "kept")
