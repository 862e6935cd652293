//! The rules for what feeds a stage's queue besides the uploads (`sources`): the producers
//! of jobs sent as messages, and the SNS topics the queue subscribes to.

use super::Checker;
use crate::config::Environment;
use crate::config::regions;
use crate::config::schema::FilterScope;
use serde_json::Value;
use std::collections::BTreeSet;

/// Most topics one stage subscribes to: each is a subscription and a line of the queue
/// policy, which SQS caps at 8,192 bytes.
pub const MAX_TOPICS: usize = 10;

/// Most producers of other accounts one queue policy names. SQS allows 50 principals in a
/// policy; the rest stay for the topics' and qfleet's own statements.
pub const MAX_PRODUCERS: usize = 20;

/// SQS's quota on a queue policy's size: "Bytes 8,192" (Amazon SQS policy quotas,
/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html).
pub const QUEUE_POLICY_BYTES: usize = 8_192;

/// What qfleet's own statements of a queue policy take, at most, besides the names a file
/// adds (the uploads' or the stage's own topic statement, the framing): measured on the
/// rendered templates with room to spare.
const QUEUE_POLICY_OWN_BYTES: usize = 1_200;

/// SNS's filter policy limits: "A filter policy can have a maximum of five keys", "The total
/// combination of values in a filter policy must not exceed 150", "The maximum size of a
/// filter policy is 256 KB" (Filter policy constraints in Amazon SNS,
/// https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html).
const FILTER_KEYS: usize = 5;
const FILTER_COMBINATIONS: u64 = 150;
const FILTER_BYTES: usize = 256 * 1024;

pub(super) fn check(c: &mut Checker, env: &Environment) {
    check_feeds(c, env);
    let sources = &env.spec.sources;
    let fifo = env.spec.queue.fifo;
    let mut policy_bytes = QUEUE_POLICY_OWN_BYTES;
    if let Some(messages) = &sources.messages {
        if messages.producers.len() > MAX_PRODUCERS {
            c.fail(
                "sources.messages.producers",
                format!(
                    "{} producers; a queue policy names at most {MAX_PRODUCERS} (name an account instead of its roles: its own IAM then decides who sends)",
                    messages.producers.len()
                ),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, producer) in messages.producers.iter().enumerate() {
            let field = format!("sources.messages.producers.{i}");
            policy_bytes += producer.len() + 40;
            match producer_account(producer) {
                None => c.fail(
                    &field,
                    format!(
                        "`{producer}` is neither a 12-digit account id nor an IAM role or user ARN (arn:PARTITION:iam::ACCOUNT:role/NAME)"
                    ),
                ),
                Some(account) if own_account(env) == Some(account) => {
                    c.fail(
                        &field,
                        format!(
                            "{account} is this environment's own account: its producers attach the managed policy (output ProducerPolicyArn), and the queue policy stays for other accounts"
                        ),
                    )
                }
                Some(_) if !seen.insert(producer.as_str()) => {
                    c.fail(&field, format!("`{producer}` is listed twice"))
                }
                Some(_) => {}
            }
        }
    }
    if sources.topics.len() > MAX_TOPICS {
        c.fail(
            "sources.topics",
            format!(
                "{} topics; a stage subscribes to at most {MAX_TOPICS}",
                sources.topics.len()
            ),
        );
    }
    let mut arns = BTreeSet::new();
    for (i, topic) in sources.topics.iter().enumerate() {
        let field = format!("sources.topics.{i}.arn");
        policy_bytes += topic.arn.len() + 4;
        if let Err(why) = check_topic_arn(&topic.arn, &env.spec.region, fifo) {
            c.fail(&field, format!("`{}` {why}", topic.arn));
        } else if !arns.insert(topic.arn.as_str()) {
            c.fail(
                &field,
                format!(
                    "`{}` is listed twice; a queue has one subscription to a topic",
                    topic.arn
                ),
            );
        }
        if let Some(policy) = &topic.filter_policy
            && let Err(why) = check_filter_policy(policy, topic.filter_scope)
        {
            c.fail(&format!("sources.topics.{i}.filter_policy"), why);
        }
    }
    if sources.schedules.len() > MAX_SCHEDULES {
        c.fail(
            "sources.schedules",
            format!(
                "{} schedules; a stage takes at most {MAX_SCHEDULES}",
                sources.schedules.len()
            ),
        );
    }
    for (i, schedule) in sources.schedules.iter().enumerate() {
        check_schedule(c, i, schedule);
    }
    // A schedule sending to a FIFO queue: "If you specify an Amazon SQS FIFO queue as a
    // target, the queue must have content-based deduplication enabled" (Target, SqsParameters,
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-scheduler-schedule-target.html).
    // Each run's body carries its scheduled time, so no run deduplicates another.
    if fifo && !sources.schedules.is_empty() && !env.spec.queue.content_based_deduplication {
        c.fail(
            "sources.schedules",
            "a schedule sends to a FIFO queue only with content-based deduplication: set queue.content_based_deduplication: true (each run's body holds its scheduled time, so no run is taken for another)",
        );
    }
    for (i, s) in sources.schedules.iter().enumerate() {
        let Some(group) = &s.group else { continue };
        let field = format!("sources.schedules.{i}.group");
        // MessageGroupId "is 128 characters. Valid values: alphanumeric characters and
        // punctuation" (Amazon SQS message quotas,
        // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html);
        // a message group on a standard queue is documented for FIFO targets only.
        if !fifo {
            c.fail(
                &field,
                "applies to a FIFO stage (queue.fifo: true); Scheduler documents a message group for FIFO queues only",
            );
        } else if !(1..=128).contains(&group.len())
            || !group.chars().all(|ch| ch.is_ascii_graphic())
        {
            c.fail(
                &field,
                format!(
                    "`{group}` is not a message group: 1 to 128 letters, digits and punctuation"
                ),
            );
        }
    }
    if policy_bytes > QUEUE_POLICY_BYTES {
        c.fail(
            "sources",
            format!(
                "the queue policy would take about {policy_bytes} bytes; SQS takes at most {QUEUE_POLICY_BYTES}: name fewer producers (an account instead of its roles) or fewer topics"
            ),
        );
    }
}

/// What feeds the queue: the uploads (the first stage only; `sources.uploads`), and the FIFO
/// settings, which need every source of the stage to be able to feed a FIFO queue. "Amazon
/// Simple Queue Service FIFO (First-In-First-Out) queues aren't supported as an Amazon S3 event
/// notification destination", nor are FIFO topics ("Currently, Standard SNS is only allowed as
/// an S3 event notification destination, whereas SNS FIFO is not allowed"; Supported event
/// destinations,
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html).
fn check_feeds(c: &mut Checker, env: &Environment) {
    let sources = &env.spec.sources;
    let queue = &env.spec.queue;
    let stage = env.stage.as_ref();
    let first = stage.is_none_or(|s| s.index == 0);
    if !first && sources.uploads.is_some() {
        c.fail(
            "sources.uploads",
            "applies to the first stage; a later stage is fed by the stage before (fed_by)",
        );
    }
    let others =
        sources.messages.is_some() || !sources.topics.is_empty() || !sources.schedules.is_empty();
    if first && sources.uploads == Some(false) && !others {
        c.fail(
            "sources.uploads",
            "false leaves the queue with nothing to feed it: add sources.messages, sources.topics or sources.schedules",
        );
    }
    if queue.fifo {
        if first && sources.takes_uploads() {
            c.fail(
                "queue.fifo",
                "S3 cannot send its upload events to a FIFO queue: set sources.uploads: false, and feed the stage with sources.messages or FIFO topics",
            );
        } else if stage.and_then(|s| s.feed) == Some(crate::config::schema::Feed::Objects) {
            c.fail(
                "queue.fifo",
                "S3 cannot send the stage before's objects to a FIFO queue: set fed_by: messages",
            );
        }
    } else {
        for key in ["content_based_deduplication", "high_throughput"] {
            let on = match key {
                "high_throughput" => queue.high_throughput,
                _ => queue.content_based_deduplication,
            };
            if on {
                c.fail(
                    &format!("queue.{key}"),
                    "applies to a FIFO queue (queue.fifo: true); this queue is standard",
                );
            }
        }
    }
}

/// Schedule names are unique in the environment: its schedules share one schedule group.
pub(super) fn check_schedule_names(c: &mut Checker, env: &Environment) {
    let mut seen = BTreeSet::new();
    let stages: Vec<(String, &crate::config::SourcesSpec)> = if env.spec.stages.is_empty() {
        vec![(String::new(), &env.spec.sources)]
    } else {
        env.spec
            .stages
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("stages.{i}."), &s.sources))
            .collect()
    };
    for (prefix, sources) in stages {
        for (j, schedule) in sources.schedules.iter().enumerate() {
            if !seen.insert(schedule.name.as_str()) {
                c.fail(
                    &format!("{prefix}sources.schedules.{j}.name"),
                    format!(
                        "two schedules are named `{}`; names are unique in the environment",
                        schedule.name
                    ),
                );
            }
        }
    }
}

/// Most schedules one stage takes: each is a resource of the data stack.
pub const MAX_SCHEDULES: usize = 10;

/// What qfleet lets a schedule's body take, as JSON: far below Scheduler's and SQS's own
/// limits, so that the data template stays within CloudFormation's 51,200 bytes.
const SCHEDULE_BODY_BYTES: usize = 8 * 1024;

/// One schedule's settings, as EventBridge Scheduler takes them: a name of 1 to 64
/// `[0-9a-zA-Z-_.]`; "A cron expression consists of six fields separated by white spaces
/// (minutes hours day_of_month month day_of_week year)"; "A rate expression consists of a value
/// as a positive integer, and a unit with the following options: minute | minutes | hour |
/// hours | day | days" (CreateSchedule, ScheduleExpression,
/// https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html); one of
/// day-of-month and day-of-week is `?` ("You can't use * in both the Day-of-month and
/// Day-of-week fields. If you use it in one, you must use ? in the other", cron expressions,
/// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html);
/// a flexible window of 1 to 1,440 minutes (FlexibleTimeWindow, same API page).
fn check_schedule(c: &mut Checker, i: usize, s: &crate::config::ScheduleSpec) {
    let at = |key: &str| format!("sources.schedules.{i}.{key}");
    let name_ok = (1..=64).contains(&s.name.len())
        && s.name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch));
    if !name_ok {
        c.fail(
            &at("name"),
            format!(
                "`{}` is not a schedule name: 1 to 64 letters, digits, hyphens, underscores and dots",
                s.name
            ),
        );
    }
    match (&s.cron, &s.rate) {
        (Some(_), Some(_)) => c.fail(&at("rate"), "set one of cron and rate, not both"),
        (None, None) => c.fail(
            &at("name"),
            format!("schedule `{}` needs cron or rate", s.name),
        ),
        (Some(cron), None) => {
            if let Err(why) = crate::config::cron::Cron::parse(cron) {
                c.fail(&at("cron"), format!("`{cron}` {why}"));
            }
        }
        (None, Some(rate)) => {
            if let Err(why) = rate_problem(rate) {
                c.fail(&at("rate"), format!("`{rate}` {why}"));
            }
        }
    }
    if let Some(tz) = &s.timezone {
        let ok = !tz.is_empty()
            && tz.len() <= 50
            && tz
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "/_+-".contains(ch));
        if !ok {
            c.fail(
                &at("timezone"),
                format!("`{tz}` is not an IANA time zone name such as Europe/Paris"),
            );
        } else if let Err(why) = crate::config::cron::zone(Some(tz)) {
            c.fail(&at("timezone"), why);
        }
        if s.rate.is_some() {
            c.fail(
                &at("timezone"),
                "a rate runs every so often whatever the zone: a time zone is for cron",
            );
        }
    }
    if let Some(w) = s.window
        && (w.0 % 60 != 0 || !(60..=86_400).contains(&w.0))
    {
        c.fail(
            &at("window"),
            format!(
                "{} seconds (a number alone is seconds); a window is whole minutes from 1m to 24h, such as 15m",
                w.0
            ),
        );
    }
    if let Some(body) = &s.body {
        let bytes = body.to_string().len();
        if bytes > SCHEDULE_BODY_BYTES {
            c.fail(
                &at("body"),
                format!(
                    "{bytes} bytes as JSON; a schedule's body takes at most {SCHEDULE_BODY_BYTES}"
                ),
            );
        }
    }
}

/// Why a rate is not one EventBridge Scheduler takes: a positive whole number and a unit,
/// singular for 1 and plural above.
fn rate_problem(rate: &str) -> Result<(), String> {
    let bad = || "is not a rate such as 1 hour or 15 minutes".to_string();
    let (n, unit) = rate.trim().split_once(' ').ok_or_else(bad)?;
    let n: u64 = n.parse().map_err(|_| bad())?;
    if n == 0 {
        return Err("is not a positive whole number of minutes, hours or days".into());
    }
    let singular = matches!(unit, "minute" | "hour" | "day");
    let plural = matches!(unit, "minutes" | "hours" | "days");
    match (n == 1, singular, plural) {
        (true, true, _) | (false, _, true) => Ok(()),
        (true, _, true) => Err(format!("says {unit}; with 1 the unit is singular")),
        (false, true, _) => Err(format!("says {unit}; above 1 the unit is plural")),
        _ => Err(bad()),
    }
}

/// The account the environment is certainly in: its target's, or the one account the file
/// allows (`accounts` with one entry). A producer there attaches the managed policy.
fn own_account(env: &Environment) -> Option<&str> {
    if let Some(t) = &env.target {
        return t.account.as_deref();
    }
    match env.spec.accounts.as_deref() {
        Some([one]) => Some(one.as_str()),
        _ => None,
    }
}

/// The account of a producer: a 12-digit account id, or the account in an IAM role or user
/// ARN.
pub fn producer_account(producer: &str) -> Option<&str> {
    if is_account(producer) {
        return Some(producer);
    }
    let parts: Vec<&str> = producer.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && regions::PARTITIONS.iter().any(|(p, _)| *p == parts[1])
        && parts[2] == "iam"
        && parts[3].is_empty()
        && is_account(parts[4])
        && (parts[5]
            .strip_prefix("role/")
            .or(parts[5].strip_prefix("user/")))
        .is_some_and(|name| !name.is_empty() && !name.contains('*'));
    if ok { Some(parts[4]) } else { None }
}

fn is_account(text: &str) -> bool {
    text.len() == 12 && text.chars().all(|ch| ch.is_ascii_digit())
}

/// An SNS topic ARN in the environment's region, of the queue's type, or why not.
fn check_topic_arn(arn: &str, region: &str, fifo_queue: bool) -> Result<(), String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let [arn_word, partition, service, topic_region, account, name] = parts[..] else {
        return Err("is not an SNS topic ARN (arn:PARTITION:sns:REGION:ACCOUNT:NAME)".into());
    };
    if arn_word != "arn" || service != "sns" || !is_account(account) || name.is_empty() {
        return Err("is not an SNS topic ARN (arn:PARTITION:sns:REGION:ACCOUNT:NAME)".into());
    }
    if let Some(own) = regions::partition(region)
        && own != partition
    {
        return Err(format!(
            "is in partition {partition}, the environment in {own}; SNS delivers within a partition"
        ));
    }
    // "The Amazon SNS subscription and Amazon SQS queue must be under the same AWS account and
    // Region" (Amazon SNS dead-letter queues,
    // https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html): a subscription
    // lives in its topic's Region, so a topic elsewhere could have no dead-letter queue, and
    // what SNS cannot deliver would be lost.
    if topic_region != region {
        return Err(format!(
            "is in region {topic_region}, the environment in {region}; a subscription's dead-letter queue must be in the topic's region, so what SNS could not deliver would be lost: subscribe a topic of {region}"
        ));
    }
    // "FIFO topic subscriptions use FIFO queues, and standard topic subscriptions use standard
    // queues" for their dead-letter queues (same page), and a stage's dead-letter queue is of
    // its queue's type. A standard topic feeding a FIFO queue is nowhere documented: refused.
    let name = match (name.strip_suffix(".fifo"), fifo_queue) {
        (Some(base), true) => base,
        (None, false) => name,
        (Some(_), false) => {
            return Err(
                "is a FIFO topic; its subscription's dead-letter queue would have to be a FIFO queue, and this stage's queue is standard: subscribe a standard topic, or make the stage FIFO (queue.fifo: true)".into(),
            );
        }
        (None, true) => {
            return Err(
                "is a standard topic, and this stage's queue is FIFO: SNS delivers to a FIFO queue from a FIFO topic (a name ending in .fifo)".into(),
            );
        }
    };
    // Topic names: "Up to 256 characters", the .fifo suffix included (CreateTopic,
    // https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html).
    let most = if fifo_queue { 256 - ".fifo".len() } else { 256 };
    let ok = (1..=most).contains(&name.len())
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
    if !ok {
        return Err(
            "has a topic name SNS does not allow (1 to 256 letters, digits, hyphens and underscores)".into(),
        );
    }
    Ok(())
}

/// A filter policy within SNS's limits, or why not.
fn check_filter_policy(policy: &Value, scope: FilterScope) -> Result<(), String> {
    let Value::Object(map) = policy else {
        return Err("a filter policy is a mapping of keys to lists of values".into());
    };
    if map.is_empty() {
        return Err("an empty filter policy would match nothing useful; leave filter_policy out to take every message".into());
    }
    let bytes = policy.to_string().len();
    if bytes > FILTER_BYTES {
        return Err(format!(
            "{bytes} bytes; SNS takes a filter policy of at most 256 KB"
        ));
    }
    let mut keys = 0usize;
    let mut combinations = 1u64;
    leaves(map, scope, 0, &mut keys, &mut combinations)?;
    if keys > FILTER_KEYS {
        return Err(format!(
            "{keys} keys; SNS takes at most {FILTER_KEYS} in a filter policy"
        ));
    }
    if combinations > FILTER_COMBINATIONS {
        return Err(format!(
            "{combinations} combinations of values (the product of each list's length); SNS takes at most {FILTER_COMBINATIONS}"
        ));
    }
    Ok(())
}

/// Counts a filter policy's keys and the product of its lists' lengths. SNS "doesn't accept
/// nested filter policy for attribute-based filtering" (the constraints page above).
fn leaves(
    map: &serde_json::Map<String, Value>,
    scope: FilterScope,
    depth: usize,
    keys: &mut usize,
    combinations: &mut u64,
) -> Result<(), String> {
    for (key, value) in map {
        match value {
            Value::Array(values) if !values.is_empty() => {
                *keys += 1;
                *combinations = combinations.saturating_mul(values.len() as u64);
            }
            Value::Object(inner) if scope == FilterScope::Body && depth < 32 => {
                leaves(inner, scope, depth + 1, keys, combinations)?;
            }
            Value::Object(_) => {
                return Err(format!(
                    "`{key}` nests a mapping; SNS does not accept a nested filter policy for attributes (set filter_scope: body to filter on a JSON body)"
                ));
            }
            _ => {
                return Err(format!(
                    "`{key}` must be a list of values to match, such as [order_placed]"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn producers_are_accounts_or_role_and_user_arns() {
        assert_eq!(producer_account("111122223333"), Some("111122223333"));
        assert_eq!(
            producer_account("arn:aws:iam::444455556666:role/orders-api"),
            Some("444455556666")
        );
        assert_eq!(
            producer_account("arn:aws-cn:iam::444455556666:user/ci"),
            Some("444455556666")
        );
        for bad in [
            "11112222333",
            "*",
            "arn:aws:iam::444455556666:role/*",
            "arn:aws:iam::444455556666:group/g",
            "arn:aws:sts::444455556666:assumed-role/r/s",
            "arn:aws:iam:eu-west-1:444455556666:role/r",
        ] {
            assert_eq!(producer_account(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_topic_must_be_of_the_environments_region_and_of_the_queues_type() {
        let std = |arn: &str| check_topic_arn(arn, "eu-west-1", false);
        let fifo = |arn: &str| check_topic_arn(arn, "eu-west-1", true);
        assert!(std("arn:aws:sns:eu-west-1:444455556666:orders").is_ok());
        assert!(fifo("arn:aws:sns:eu-west-1:444455556666:orders.fifo").is_ok());
        let other = std("arn:aws:sns:us-east-1:444455556666:orders");
        assert!(
            other
                .unwrap_err()
                .contains("dead-letter queue must be in the topic's region")
        );
        let to_standard = std("arn:aws:sns:eu-west-1:444455556666:orders.fifo");
        assert!(to_standard.unwrap_err().contains("FIFO topic"));
        let to_fifo = fifo("arn:aws:sns:eu-west-1:444455556666:orders");
        assert!(to_fifo.unwrap_err().contains("standard topic"));
        let cn = std("arn:aws-cn:sns:eu-west-1:444455556666:orders");
        assert!(cn.unwrap_err().contains("partition"));
        let longest = format!("arn:aws:sns:eu-west-1:444455556666:{}", "a".repeat(251));
        assert!(fifo(&format!("{longest}.fifo")).is_ok());
        assert!(std(&format!("{longest}aaaaa")).is_ok());
        assert!(fifo(&format!("{longest}a.fifo")).is_err());
        for bad in [
            "orders",
            "arn:aws:sqs:eu-west-1:444455556666:orders",
            "arn:aws:sns:eu-west-1:4444:orders",
            "arn:aws:sns:eu-west-1:444455556666:",
            "arn:aws:sns:eu-west-1:444455556666:or ders",
        ] {
            assert!(std(bad).is_err(), "{bad}");
        }
        assert!(fifo("arn:aws:sns:eu-west-1:444455556666:.fifo").is_err());
    }

    #[test]
    fn schedules_take_six_field_crons_and_whole_rates() {
        // The cron table's own cases are config::cron's tests; here, that validate asks it.
        let cron_problem = crate::config::cron::Cron::parse;
        assert!(cron_problem("0 2 * * ? *").is_ok());
        assert!(cron_problem("0/15 8-17 ? * MON-FRI *").is_ok());
        assert!(cron_problem("0 2 * *").unwrap_err().contains("4 fields"));
        assert!(
            cron_problem("0 2 ? * ? *")
                .unwrap_err()
                .contains("exactly one")
        );
        assert!(cron_problem("0 2 * * ? $").is_err());
        assert!(cron_problem("0 25 * * ? *").is_err());
        assert!(rate_problem("1 hour").is_ok());
        assert!(rate_problem("15 minutes").is_ok());
        assert!(rate_problem("1 hours").unwrap_err().contains("singular"));
        assert!(rate_problem("2 day").unwrap_err().contains("plural"));
        assert!(rate_problem("0 minutes").is_err());
        assert!(rate_problem("5 weeks").is_err());
        assert!(rate_problem("often").is_err());
    }

    #[test]
    fn filter_policies_are_held_to_sns_limits() {
        let ok = json!({"event": ["order_placed", "order_paid"], "size": [{"numeric": [">", 10]}]});
        assert!(check_filter_policy(&ok, FilterScope::Attributes).is_ok());
        let six = json!({"a": [1], "b": [1], "c": [1], "d": [1], "e": [1], "f": [1]});
        assert!(
            check_filter_policy(&six, FilterScope::Attributes)
                .unwrap_err()
                .contains("6 keys")
        );
        let many: Vec<u32> = (0..16).collect();
        let wide = json!({"a": many, "b": many});
        assert!(
            check_filter_policy(&wide, FilterScope::Attributes)
                .unwrap_err()
                .contains("256 combinations")
        );
        let nested = json!({"order": {"kind": ["a"]}});
        assert!(
            check_filter_policy(&nested, FilterScope::Attributes)
                .unwrap_err()
                .contains("nested")
        );
        assert!(check_filter_policy(&nested, FilterScope::Body).is_ok());
        assert!(check_filter_policy(&json!(["a"]), FilterScope::Body).is_err());
        assert!(check_filter_policy(&json!({"a": "b"}), FilterScope::Body).is_err());
    }
}
