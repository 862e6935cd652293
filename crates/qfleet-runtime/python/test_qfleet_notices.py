"""Failure notices (alerts, docs/alerts.md): the custom-notification format for chat, words for
e-mail, one per job that failed for good, commands that run as printed, and the per-worker
bound."""
import json
import shlex
import subprocess
import time

import pytest

from qfleet_shared import Notices, notice

TOPIC = "arn:aws:sns:eu-west-1:111122223333:qfleet-shop-alerts"


class FakeSns:
    def __init__(self):
        self.sent = []

    def publish(self, **kw):
        self.sent.append(kw)
        return {"MessageId": "m"}


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def make(env=None, clock=None):
    e = {"QFLEET_ALERTS_TOPIC": TOPIC, "QFLEET_ENVIRONMENT": "shop",
         "QFLEET_JOBS_STACK": "qfleet-shop-data"}
    e.update(env or {})
    sns = FakeSns()
    return Notices(e, sns=sns, clock=clock or Clock()), sns


def test_a_notice_is_a_custom_notification_for_chat_and_words_for_email():
    n, sns = make()
    assert n.failed(["uploads/cat.jpg"], "ValueError('bad `image`')")
    [sent] = sns.sent
    assert sent["TopicArn"] == TOPIC and sent["MessageStructure"] == "json"
    body = json.loads(sent["Message"])
    chat = json.loads(body["default"])
    assert chat["version"] == "1.0" and chat["source"] == "custom"
    c = chat["content"]
    assert c["textType"] == "client-markdown"
    assert "uploads/cat.jpg" in c["title"] and "shop" in c["title"]
    assert "ValueError('bad 'image'')" in c["description"]  # a backtick cannot end the span
    assert c["nextSteps"][0].startswith("`qfleet logs shop --job uploads/cat.jpg --since 24h`")
    assert any("`qfleet jobs shop uploads/cat.jpg`" in s for s in c["nextSteps"])
    assert any("`qfleet dlq shop list`" in s for s in c["nextSteps"])
    assert chat["metadata"]["additionalContext"]["job"] == "uploads/cat.jpg"
    email = body["email"]
    assert not email.lstrip().startswith("{"), "e-mail gets words, not JSON"
    assert "job uploads/cat.jpg failed" in email and "Why: ValueError" in email
    assert "\n- qfleet logs shop --job uploads/cat.jpg --since 24h\n" in email
    assert sent["Subject"] == "qfleet shop: job uploads/cat.jpg failed"


def test_a_stage_and_no_job_table_change_the_next_steps():
    n, _ = make({"QFLEET_STAGE": "thumbs", "QFLEET_JOBS_STACK": ""})
    _, message = notice(n, ["order-7"], "boom")
    steps = json.loads(json.loads(message)["default"])["content"]["nextSteps"]
    assert not any("qfleet jobs" in s for s in steps)
    assert steps[0].startswith("`qfleet logs shop --stage thumbs --job order-7 --since 24h`")
    assert any("`qfleet dlq shop --stage thumbs list`" in s for s in steps)


def test_the_bound_holds_back_a_storm_and_says_how_many_were_held():
    clock = Clock()
    n, sns = make(clock=clock)
    sent = [n.failed(["job-%d" % i], "boom") for i in range(50)]
    assert sent.count(True) == Notices.PER_MINUTE, "a burst: at most 3 at once"
    clock.t += 60  # a minute later: 3 more tokens
    assert n.failed(["next"], "boom")
    chat = json.loads(json.loads(sns.sent[-1]["Message"])["default"])
    assert "47 more failures not sent" in chat["content"]["description"]
    assert "47 more failures not sent" in json.loads(sns.sent[-1]["Message"])["email"]
    assert n.suppressed == 0


def test_at_most_ten_an_hour_go_however_the_failures_are_spread():
    clock = Clock()
    n, sns = make(clock=clock)
    for _ in range(60):  # a failure every minute for an hour
        n.failed(["j"], "boom")
        clock.t += 60
    # The hour's bucket: 10 at first, then 10 an hour (one every 6 minutes).
    assert 10 <= len(sns.sent) <= 20
    clock.t += 10 * 3600
    sns.sent.clear()
    for _ in range(600):  # a failure every 6 s for an hour
        n.failed(["j"], "boom")
        clock.t += 6
    assert len(sns.sent) <= 20


def test_without_alerts_nothing_is_sent_and_a_lost_notice_does_not_raise():
    n = Notices({"QFLEET_ENVIRONMENT": "shop"}, sns=FakeSns())
    assert not n.failed(["j"], "boom")

    class Broken:
        def publish(self, **kw):
            raise RuntimeError("AccessDenied")
    n = Notices({"QFLEET_ALERTS_TOPIC": TOPIC}, sns=Broken())
    assert n.failed(["j"], "boom")


def test_the_team_topic_gets_every_notice_too():
    n, sns = make({"QFLEET_ALERTS_TEAM_TOPIC": "arn:aws:sns:eu-west-1:444455556666:oncall"})
    n.failed(["j"], "boom")
    assert [s["TopicArn"] for s in sns.sent] == [TOPIC, "arn:aws:sns:eu-west-1:444455556666:oncall"]


def test_a_long_error_is_cut():
    n, _ = make()
    _, message = notice(n, ["j"], "x" * 5000)
    chat = json.loads(json.loads(message)["default"])
    assert len(chat["content"]["description"]) < 1100


def message(receive_count, sent_ms=None, message_id="m-1"):
    """A message as ReceiveMessage returns it, with the attributes a notice reads: sent 10
    minutes ago unless told."""
    attrs = {"ApproximateReceiveCount": str(receive_count),
             "SentTimestamp": str(sent_ms or int((time.time() - 600) * 1000))}
    return {"MessageId": message_id, "Attributes": attrs}


def test_one_notice_per_job_when_it_failed_for_good_none_per_attempt_before():
    """A job failing five attempts (max_receive_count 5) sends one notice, on the fifth: the
    receive after which SQS moves its message to the dead-letter queue. The attempts before it
    take no token of the bound."""
    n, sns = make({"QFLEET_MAX_RECEIVE_COUNT": "5"})
    for job in ("order-1", "order-2"):
        sent = [n.failed([job], "boom", message(rc)) for rc in range(1, 6)]
        assert sent == [False] * 4 + [True], sent
    assert len(sns.sent) == 2 and n.suppressed == 0
    words = [json.loads(s["Message"])["email"] for s in sns.sent]
    assert "job order-1 failed on its last attempt (5 of 5): its message goes to the " \
        "dead-letter queue." in words[0]
    assert "order-2" in words[1] and "order-1" not in words[1]
    chat = json.loads(json.loads(sns.sent[0]["Message"])["default"])
    assert chat["content"]["description"].startswith("Failed on its last attempt (5 of 5)")


def test_without_the_receive_counts_each_failure_sends_one():
    """A worker whose queue's max_receive_count it was not told cannot tell the last attempt:
    each failure sends a notice, saying which attempt it was."""
    n, sns = make()
    assert n.failed(["j"], "boom", message(1)) and n.failed(["j"], "boom", message(2))
    assert "job j failed (attempt 2)." in json.loads(sns.sent[1]["Message"])["email"]
    n, sns = make({"QFLEET_MAX_RECEIVE_COUNT": "5"})
    assert n.failed(["j"], "boom", {"MessageId": "m"})  # a receive count not given: sent


def test_logs_since_reaches_back_to_the_message_for_a_day_after_the_notice():
    """`qfleet logs` reads back --since from when it runs (10 minutes by default): the notice's
    reaches the stage's message's send, and still does when read a day later."""
    n, sns = make({"QFLEET_MAX_RECEIVE_COUNT": "2"})
    hours_ago = int((time.time() - 5 * 3600 - 60) * 1000)  # sent 5 h 1 min ago
    assert n.failed(["j"], "boom", message(2, hours_ago))
    assert "--job j --since 30h" in json.loads(sns.sent[0]["Message"])["email"]
    minutes_ago = int((time.time() - 600) * 1000)  # read 25 minutes later: still within
    assert n.failed(["k"], "boom", message(2, minutes_ago))
    assert "--job k --since 25h" in json.loads(sns.sent[1]["Message"])["email"]


def test_the_jobs_failing_for_good_are_bounded_as_before():
    """The bound holds for the jobs that failed for good, however many attempts came before."""
    n, sns = make({"QFLEET_MAX_RECEIVE_COUNT": "2"})
    for i in range(10):
        n.failed(["job-%d" % i], "boom", message(1))
        n.failed(["job-%d" % i], "boom", message(2))
    assert len(sns.sent) == Notices.PER_MINUTE and n.suppressed == 7


def commands(sent):
    """Each command a notice prints: the e-mail's lines, and the chat's code spans read as
    CommonMark reads them. Both must be the same."""
    body = json.loads(sent["Message"])
    mail = [line[2:] for line in body["email"].splitlines() if line.startswith("- qfleet ")]
    chat = []
    for step in json.loads(body["default"])["content"]["nextSteps"]:
        ticks = len(step) - len(step.lstrip("`"))
        end = step.index("`" * ticks + " ", ticks)
        while step[end + ticks] == "`" or step[end - 1] == "`":  # a longer run is no closer
            end = step.index("`" * ticks + " ", end + 1)
        span = step[ticks:end]
        if ticks > 1 and span.startswith(" ") and span.endswith(" ") and span.strip():
            span = span[1:-1]
        chat.append(span)
    assert chat == mail, (chat, mail)
    return mail


ODD_IDS = ["order 7 (rush)", "it's $HOME `date` \"q\" ; rm -rf / #", "-1", "--job",
           "名前/写真 🎉.jpg", "a``b", "`", "*bold* _it_"]


@pytest.mark.parametrize("job", ODD_IDS)
@pytest.mark.parametrize("stage", ["", "resize (v2)"])
def test_every_command_a_notice_prints_runs_as_printed(job, stage):
    """A shell reads each command back to the words qfleet means: the job id one argument, a
    stage named with --stage in a pipeline. Checked twice: by shlex.split, and by bash, which
    prints each word it was given, NUL-separated."""
    n, sns = make({"QFLEET_MAX_RECEIVE_COUNT": "5", "QFLEET_STAGE": stage,
                   "QFLEET_ENVIRONMENT": "shop eu"})
    assert n.failed([job], "boom", message(5))
    cmds = commands(sns.sent[0])
    assert len(cmds) == 3, cmds
    at = ["--stage", stage] if stage else []
    id_flag = ["--job=" + job] if job.startswith("-") else ["--job", job]
    positional = ["--", job] if job.startswith("-") else [job]
    expected = [["qfleet", "logs", "shop eu"] + at + id_flag + ["--since", "25h"],
                ["qfleet", "jobs", "shop eu"] + positional,
                ["qfleet", "dlq", "shop eu"] + at + ["list"]]
    assert [shlex.split(c) for c in cmds] == expected
    for cmd, words in zip(cmds, expected):
        out = subprocess.run(["bash", "-c", "printf '%s\\0' " + cmd], capture_output=True,
                             check=True).stdout
        assert out.decode().split("\0")[:-1] == words, cmd


def test_a_notice_without_a_job_id_finds_its_message_s_lines():
    n, sns = make({"QFLEET_MAX_RECEIVE_COUNT": "2"})
    assert n.failed([], "boom", message(2, message_id="0e5c-7f1a"))
    assert commands(sns.sent[0])[0] == \
        "qfleet logs shop --filter msg=0e5c-7f1a --since 25h"
