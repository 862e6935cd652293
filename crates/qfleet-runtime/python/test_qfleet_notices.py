"""Failure notices (alerts, docs/alerts.md): the custom-notification format for chat, words for
e-mail, and the per-worker bound."""
import json

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
    assert c["nextSteps"][0].startswith("`qfleet logs shop --job uploads/cat.jpg`")
    assert any("qfleet jobs shop --failed" in s for s in c["nextSteps"])
    assert any("qfleet dlq shop list" in s for s in c["nextSteps"])
    assert chat["metadata"]["additionalContext"]["job"] == "uploads/cat.jpg"
    email = body["email"]
    assert not email.lstrip().startswith("{"), "e-mail gets words, not JSON"
    assert "job uploads/cat.jpg failed" in email and "Why: ValueError" in email
    assert "qfleet logs shop --job uploads/cat.jpg" in email
    assert sent["Subject"] == "qfleet shop: job uploads/cat.jpg failed"


def test_a_stage_and_no_job_table_change_the_next_steps():
    n, _ = make({"QFLEET_STAGE": "thumbs", "QFLEET_JOBS_STACK": ""})
    _, message = notice(n, "order-7", "boom")
    steps = json.loads(json.loads(message)["default"])["content"]["nextSteps"]
    assert not any("qfleet jobs" in s for s in steps)
    assert any("qfleet dlq shop --stage thumbs list" in s for s in steps)


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
    _, message = notice(n, "j", "x" * 5000)
    chat = json.loads(json.loads(message)["default"])
    assert len(chat["content"]["description"]) < 1100
