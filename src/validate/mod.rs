//! `validate`: the stack files and their rendered templates checked offline, with the advice
//! on their settings; one summary per environment (`--details`, or a single one) or a row
//! each, the warnings said once for every environment they concern; and the document.

use crate::config::Environment;
use crate::error::Result;
use crate::output::words::{self, count};
use crate::output::{Document, Environment as EnvDoc, Output, Report};
use crate::render::{RenderedStack, StackRole};
// The offline half: the engine's checks, advice and sizes.
use qfleet_engine::validate as offline;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

/// One environment checked: its rendered stacks and the advice on its settings.
pub(crate) struct Checked<'a> {
    pub env: &'a Environment,
    pub stacks: Vec<RenderedStack>,
    pub warnings: Vec<String>,
    /// The size of the template each stack is deployed with where it is not its own rendered
    /// one ([`offline::deployed_sizes`]), by stack name.
    pub deployed_bytes: BTreeMap<String, usize>,
}

/// Every environment a command line names, checked.
pub(crate) struct Validated<'a> {
    pub checked: Vec<Checked<'a>>,
    /// The whole summary of every environment rather than a row each.
    pub details: bool,
}

/// Checks every environment: a problem in a rendered template is invalid input, and so are
/// the targets of a StackSets file whose templates cannot be its stack sets'
/// ([`crate::render::stack_sets_of`], as `render` and `deploy` make them).
pub(crate) fn check_all(envs: &[Environment], details: bool) -> Result<Validated<'_>> {
    let mut checked = Vec::new();
    for env in envs {
        checked.push(Checked {
            env,
            stacks: offline::check(env)?,
            warnings: offline::warnings(env),
            deployed_bytes: BTreeMap::new(),
        });
    }
    for (c, sizes) in checked.iter_mut().zip(offline::deployed_sizes(envs)?) {
        c.deployed_bytes = sizes;
    }
    Ok(Validated {
        checked,
        details: details || envs.len() == 1,
    })
}

impl Report for Validated<'_> {
    fn exit_code(&self) -> crate::error::Exit {
        crate::error::Exit::Ok
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let environments = self
            .checked
            .iter()
            .map(|c| EnvDoc::ok(&c.env.name, json(c)))
            .collect();
        Document::new(crate::error::Exit::Ok, environments)
    }

    fn text(&self, out: &Output) -> Result<()> {
        if self.details {
            for c in &self.checked {
                details(c, out);
            }
        } else {
            out.line(rows(&self.checked));
        }
        let grouped = words::group_notes(
            self.checked
                .iter()
                .map(|c| (c.env.name.as_str(), c.warnings.clone())),
        );
        for (w, names) in &grouped {
            out.note(format!(
                "warning: {}",
                words::noted_for(w, names, self.checked.len())
            ));
        }
        if let Some(note) = crate::ownership::owner_note(self.checked.iter().map(|c| c.env)) {
            out.note(note);
        }
        Ok(())
    }
}

/// The size of `stack`'s template as deployed: its stack set's for a StackSets target, else
/// the body its change set carries (the YAML, or its compact JSON where the YAML is too big).
fn bytes(c: &Checked, stack: &RenderedStack) -> usize {
    c.deployed_bytes
        .get(&stack.stack_name)
        .copied()
        .unwrap_or_else(|| crate::render::request_body(&stack.template).len())
}

fn json<'a>(c: &'a Checked) -> Body<'a> {
    let (env, stacks, warnings) = (c.env, &c.stacks, &c.warnings);
    let stages = env.stages();
    Body {
        stack_file: env.source.display().to_string(),
        region: &env.spec.region,
        stacks: stacks
            .iter()
            .map(|s| Stack {
                role: s.role,
                stack_name: &s.stack_name,
                set: crate::placement::shown::set_of(env, &s.stack_name),
                bytes: bytes(c, s),
            })
            .collect(),
        workers: stages[0].spec.workers.kind.as_str(),
        backlog_target: stages[0].backlog_target(),
        stages: stages
            .iter()
            .map(|s| Stage {
                name: s.stage.as_ref().map(|st| st.name.as_str()),
                fed_by: s.stage.as_ref().and_then(|st| st.feed).map(|f| f.as_str()),
                queue: crate::render::ResourceNames::of(s).queue,
                fleet_stack: s.fleet_stack_name(),
                workers: s.spec.workers.kind.as_str(),
                backlog_target: s.backlog_target(),
            })
            .collect(),
        retain_bucket: env.retain_bucket(),
        termination_protection: env.termination_protection(),
        target: env.target.as_ref().map(|t| TargetBody {
            name: &t.name,
            account: t.account.as_deref(),
            role_arn: t.role_arn.as_deref(),
            wave: t.wave,
            waves: t.file.waves(),
            bake_seconds: (t.file.waves() > 1).then(|| crate::config::bake(env)),
            mode: crate::placement::shown::mode(env, unit_role_arn(env)),
        }),
        warnings,
    }
}

/// Where a target of the stack file is deployed, and when in a rollout.
#[derive(Serialize, JsonSchema)]
struct TargetBody<'a> {
    /// The target's name (`eu1` of `orders-eu1`).
    name: &'a str,
    /// The account it must be deployed in (its account guard); null when the file names none.
    account: Option<&'a str>,
    /// The role qfleet assumes there; null: the credentials qfleet runs with (or, for a target
    /// that stands for a whole unit, `stack_sets.account_role` in each account of it).
    role_arn: Option<&'a str>,
    /// Its wave (1 first) and how many waves the file's targets make.
    wave: u32,
    waves: u32,
    /// How long its wave is baked (rollout.bake, or as long as the slowest alarm needs); null
    /// with one wave.
    bake_seconds: Option<u64>,
    #[serde(flatten)]
    mode: crate::placement::shown::Mode<'a>,
}

/// The stack files and rendered templates checked, one object per environment.
#[derive(Serialize, JsonSchema)]
struct Body<'a> {
    /// The stack file's path.
    stack_file: String,
    region: &'a str,
    stacks: Vec<Stack<'a>>,
    /// The first stage's workers (of a one-stage environment: its workers).
    #[schemars(extend("enum" = ["ec2", "lambda", "fargate", "ecs_managed"]))]
    workers: &'static str,
    /// The first stage's backlog target.
    backlog_target: f64,
    /// Every stage: one for a one-stage environment (name and fed_by null), or the
    /// pipeline's, in order.
    #[schemars(extend("minItems" = 1))]
    stages: Vec<Stage<'a>>,
    /// The bucket is kept on teardown.
    retain_bucket: bool,
    termination_protection: bool,
    /// The target of the stack file this environment is (`targets`); null for one that is not.
    target: Option<TargetBody<'a>>,
    /// The advice on the settings, each said once.
    warnings: &'a [String],
}

/// The schema of `qfleet validate`'s document.
#[cfg(test)]
pub(crate) fn schema() -> serde_json::Value {
    use crate::output::document_schema::{self as schema, Environments};
    schema::document::<Body<'static>, ()>(
        "validate",
        "qfleet validate --output json",
        Environments::Each,
    )
}

/// A rendered stack.
#[derive(Serialize, JsonSchema)]
struct Stack<'a> {
    role: StackRole,
    /// The stack's name; for a target deployed through StackSets, the name qfleet knows it
    /// by (CloudFormation names the instance's stack `StackSet-…`).
    stack_name: &'a str,
    #[serde(flatten)]
    set: crate::placement::shown::SetOf,
    /// The template's size (for a target deployed through StackSets, its stack set's).
    bytes: usize,
}

/// A stage of the environment.
#[derive(Serialize, JsonSchema)]
struct Stage<'a> {
    name: Option<&'a str>,
    /// What feeds a later stage: the objects the stage before writes, or its messages.
    #[schemars(extend("enum" = ["objects", "messages", null]))]
    fed_by: Option<&'static str>,
    /// The stage's job queue.
    queue: String,
    fleet_stack: String,
    #[schemars(extend("enum" = ["ec2", "lambda", "fargate", "ecs_managed"]))]
    workers: &'static str,
    backlog_target: f64,
}

/// What the workers are, in a few words.
fn workers(env: &Environment) -> String {
    env.kind().summary(env)
}

/// One row per environment; with targets, the account and wave of each, and below the table
/// the role assumed in each and each wave's bake.
fn rows(checked: &[Checked]) -> String {
    let mut out = table(checked);
    let last = checked
        .iter()
        .filter_map(|c| c.env.target.as_ref().map(|t| t.wave))
        .max()
        .unwrap_or(1);
    let mut roles: Vec<String> = Vec::new();
    let mut bakes: Vec<String> = Vec::new();
    for c in checked {
        let Some(t) = &c.env.target else { continue };
        let role = match (&t.role_arn, unit_role(c.env)) {
            (_, Some(each)) => format!("{} assumes {each}", c.env.name),
            (Some(arn), None) => format!("{} assumes {arn}", c.env.name),
            (None, None) => format!("{} acts with the credentials qfleet runs with", c.env.name),
        };
        roles.push(role);
        if t.file.waves() > 1 {
            let bake = crate::config::duration::say(crate::config::bake(c.env));
            let line = if t.wave == last {
                format!("wave {}: the last, not baked", t.wave)
            } else {
                format!("wave {}: baked {bake} before the next", t.wave)
            };
            if !bakes.contains(&line) {
                bakes.push(line);
            }
        }
    }
    bakes.sort();
    let mut files: Vec<String> = Vec::new();
    for c in checked {
        if let Some(line) = crate::placement::shown::line(c.env)
            .map(|l| format!("{}: {l}", c.env.source.display()))
            .filter(|l| !files.contains(l))
        {
            files.push(line);
        }
    }
    for line in files.iter().chain(&roles).chain(&bakes) {
        out.push('\n');
        out.push_str(line);
    }
    out
}

fn table(checked: &[Checked]) -> String {
    let targets = checked.iter().any(|c| c.env.target.is_some());
    let waves = checked
        .iter()
        .any(|c| c.env.target.as_ref().is_some_and(|t| t.file.waves() > 1));
    let mut header = vec!["environment", "region"];
    if targets {
        header.push("account");
    }
    if waves {
        header.push("wave");
    }
    header.extend(["workers", "target", "bucket", "protection", "warnings"]);
    crate::output::table(
        &header,
        checked.iter().map(
            |Checked {
                 env, warnings: w, ..
             }| {
                let mut row = vec![env.name.clone(), env.spec.region.clone()];
                let t = env.target.as_ref();
                if targets {
                    row.push(match t {
                        Some(t) => match (&t.account, &t.organizational_unit) {
                            (Some(a), _) => a.clone(),
                            (None, Some(unit)) if env.whole_unit() => unit.clone(),
                            (None, _) => "any".into(),
                        },
                        None => String::new(),
                    });
                }
                if waves {
                    row.push(t.map(|t| t.wave.to_string()).unwrap_or_default());
                }
                row.extend([
                    env.stages()
                        .iter()
                        .map(|s| workers(s))
                        .collect::<Vec<_>>()
                        .join(" → "),
                    env.stages()
                        .iter()
                        .map(|s| crate::kinds::target_text(s))
                        .collect::<Vec<_>>()
                        .join(" → "),
                    if env.retain_bucket() {
                        "retained"
                    } else {
                        "deleted"
                    }
                    .into(),
                    if env.termination_protection() {
                        "on"
                    } else {
                        "off"
                    }
                    .into(),
                    w.len().to_string(),
                ]);
                row
            },
        ),
    )
}

/// The whole summary of one environment.
fn details(c: &Checked, out: &Output) {
    let (env, stacks) = (c.env, &c.stacks);
    let spec = &env.spec;
    out.line(format!("{}: valid ({})", env.source.display(), env.name));
    let names: Vec<String> = stacks
        .iter()
        .map(|s| crate::placement::shown::stack_label(env, &s.stack_name))
        .collect();
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0).max(28);
    for (s, name) in stacks.iter().zip(&names) {
        out.line(format!(
            "  {:<6} {name:<width$} {}",
            s.role.as_str(),
            count(bytes(c, s) as u64, "byte", "bytes")
        ));
    }
    if let Some(t) = &env.target {
        let role = match (&t.role_arn, unit_role(env)) {
            (_, Some(each)) => format!("assumes {each}"),
            (Some(arn), None) => format!("assumes {arn}"),
            (None, None) => "acts with the credentials qfleet runs with".into(),
        };
        let account = match (&t.account, &t.organizational_unit) {
            (Some(a), _) => format!("account {a}"),
            (None, Some(unit)) if env.whole_unit() => format!("every account of {unit}"),
            (None, _) => "account (any)".into(),
        };
        out.line(format!(
            "  target {} in {account}, {}, wave {} of {}; qfleet {role}",
            t.name,
            spec.region,
            t.wave,
            t.file.waves()
        ));
    }
    if let Some(line) = crate::placement::shown::line(env) {
        out.line(format!("  {line}"));
    }
    for stage in env.stages() {
        if env.is_pipeline()
            && let Some(st) = &stage.stage
        {
            out.line(format!(
                "  stage {} ({}; queue {}; writes under {}):",
                st.name,
                fed_by(stage),
                crate::render::ResourceNames::of(stage).queue,
                stage.spec.bucket.processed_prefix
            ));
        } else if stage.spec.sources != crate::config::SourcesSpec::default() {
            out.line(format!("  {}", fed_by(stage)));
        }
        stage_workers(stage, if env.is_pipeline() { "    " } else { "  " }, out);
    }
    out.line(format!(
        "  bucket {} on teardown; termination protection {}",
        if env.retain_bucket() {
            "retained"
        } else {
            "deleted (when empty)"
        },
        if env.termination_protection() {
            "on"
        } else {
            "off"
        }
    ));
    if let Some(b) = &spec.budget {
        let at: Vec<String> = b.thresholds().iter().map(|p| format!("{p} %")).collect();
        out.line(format!(
            "  budget ${} a {} for what carries the tag {}={} in {}; the alarm topic hears at {} of it",
            b.amount,
            b.period.as_str(),
            crate::config::ENVIRONMENT_TAG,
            env.resource_name(),
            spec.region,
            at.join(", ")
        ));
        if b.hold {
            let held: Vec<String> = env
                .stages()
                .iter()
                .filter(|s| s.spec.workers.kind != crate::config::WorkerKind::Lambda)
                .map(|s| match s.pipeline_stage() {
                    Some(st) => format!("stage {}", st.name),
                    None => "the fleet".to_string(),
                })
                .collect();
            out.line(format!(
                "  at 100 % the budget holds the maximum of {} at its size until the {} ends (budget.hold)",
                held.join(", "),
                b.period.as_str()
            ));
        }
    }
}

/// What feeds the stage's queue: the uploads (unless `sources.uploads: false`) or the stage
/// before, and its own sources.
fn fed_by(stage: &Environment) -> String {
    let sources = &stage.spec.sources;
    let mut parts: Vec<String> = Vec::new();
    match stage.stage.as_ref().and_then(|s| s.feed) {
        None if sources.takes_uploads() => parts.push(format!(
            "the uploads under {}",
            stage.spec.bucket.upload_prefix
        )),
        None => {}
        Some(crate::config::Feed::Objects) => parts.push(format!(
            "the objects the stage before writes under {}",
            stage.spec.bucket.upload_prefix
        )),
        Some(crate::config::Feed::Messages) => {
            parts.push("the messages the stage before sends".into());
        }
    }
    if sources.messages.is_some() {
        parts.push("messages producers send".into());
    }
    if !sources.topics.is_empty() {
        parts.push(count(sources.topics.len() as u64, "topic", "topics"));
    }
    if !sources.schedules.is_empty() {
        parts.push(count(
            sources.schedules.len() as u64,
            "schedule",
            "schedules",
        ));
    }
    format!("fed by {}", words::and_list(&parts))
}

/// One stage's workers in a line, and what they are granted.
fn stage_workers(env: &Environment, indent: &str, out: &Output) {
    let spec = &env.spec;
    out.line(format!("{indent}{}", env.kind().describe(env)));
    for line in crate::config::describe_grants(&spec.workers) {
        out.line(format!("{indent}workers get {line}"));
    }
    if let Some(r) = &spec.queue.retry {
        let attempts = u64::try_from(spec.queue.max_receive_count).unwrap_or(1);
        out.line(format!("{indent}{} (queue.retry)", r.describe(attempts)));
    }
    if let Some(line) = env.tenant_line() {
        out.line(format!("{indent}{line}"));
    }
    if let Some(line) = env.priority_line() {
        out.line(format!("{indent}{line}"));
    }
    if !spec.workers.limits.is_empty() {
        let held: Vec<String> = spec
            .workers
            .limits
            .iter()
            .map(|n| format!("{n} ({} at once)", spec.limits.get(n).copied().unwrap_or(0)))
            .collect();
        out.line(format!(
            "{indent}each job holds a slot of {} (limits)",
            held.join(", ")
        ));
    }
    if let Some(next) = env.stage.as_ref().and_then(|s| s.next_queue.as_deref()) {
        out.line(format!(
            "{indent}workers get QFLEET_NEXT_QUEUE_URL and may send to {next}"
        ));
    }
    for line in schedule_lines(env, jiff::Timestamp::now()) {
        out.line(format!("{indent}{line}"));
    }
}

/// How many of a cron schedule's next runs `validate` shows.
const NEXT_RUNS: usize = 3;

/// Each schedule of the stage with its expression and, for a cron, its next runs after `now`
/// in its time zone: what the expression means, seen before anything is deployed.
fn schedule_lines(stage: &Environment, now: jiff::Timestamp) -> Vec<String> {
    let deployed = crate::render::deployed_sources(stage);
    stage
        .spec
        .sources
        .schedules
        .iter()
        .map(|s| {
            let what = deployed
                .iter()
                .find(|d| d.kind == "schedule" && d.name == s.name)
                .map_or_else(String::new, |d| d.detail.clone());
            let window = s
                .window
                .map(|w| format!(", each run within {w} after its time"))
                .unwrap_or_default();
            let when = match (&s.cron, s.paused) {
                (_, true) => "; paused: it sends nothing until it is resumed".to_string(),
                (None, false) => "; its first run when it is created".to_string(),
                (Some(cron), false) => next_runs(cron, s.timezone.as_deref(), now),
            };
            format!("schedule {}: {what}{window}{when}", s.name)
        })
        .collect()
}

/// `; next runs A, B, C` in the cron's time zone, or why they cannot be said.
fn next_runs(cron: &str, zone: Option<&str>, now: jiff::Timestamp) -> String {
    let parsed = crate::config::cron::Cron::parse(cron);
    let tz = crate::config::cron::zone(zone);
    match (parsed, tz) {
        (Ok(cron), Ok(tz)) => {
            let runs: Vec<String> = cron
                .next_runs(now, &tz, NEXT_RUNS)
                .into_iter()
                .map(|t| tz.to_datetime(t).strftime("%a %Y-%m-%d %H:%M").to_string())
                .collect();
            if runs.is_empty() {
                "; no run left before 2200".to_string()
            } else {
                format!(
                    "; next runs {} ({})",
                    runs.join(", "),
                    zone.unwrap_or("UTC")
                )
            }
        }
        (Err(why), _) | (_, Err(why)) => format!("; next runs unknown: {why}"),
    }
}

/// The role a target that stands for a whole unit is read and protected as, in each account
/// of it: `deploy_role` there (`None` for any other environment).
fn unit_role(env: &Environment) -> Option<String> {
    unit_role_arn(env).map(|arn| format!("{arn} in each account of its unit"))
}

/// `arn:PARTITION:iam::ACCOUNT:role/NAME`: `deploy_role` in each account of a whole unit.
fn unit_role_arn(env: &Environment) -> Option<String> {
    let role = env
        .spec
        .deploy_role
        .as_deref()
        .filter(|_| env.whole_unit())?;
    Some(crate::config::role_in(role, &env.spec.region, "ACCOUNT"))
}

#[cfg(test)]
mod tests {
    use crate::config::SpotSpec;

    /// `validate` shows what each schedule's expression means: a cron's next runs in its
    /// time zone, a rate's start, a paused one's pause.
    #[test]
    fn each_schedule_is_shown_with_its_next_runs() {
        let env = crate::config::parse(
            std::path::PathBuf::from("stacks/reports.yaml"),
            "region: eu-west-1\nlab: true\nsources:\n  schedules:\n    - name: nightly\n      cron: 0 2 ? * MON-FRI *\n      timezone: Europe/Paris\n      window: 15m\n    - name: often\n      rate: 5 minutes\n    - name: held\n      cron: 0 3 * * ? *\n      paused: true\n"
                .into(),
        )
        .unwrap()
        .into_only();
        let now: jiff::Timestamp = "2026-11-27T06:00:00Z".parse().unwrap();
        assert_eq!(
            super::schedule_lines(&env, now),
            [
                "schedule nightly: cron(0 2 ? * MON-FRI *) Europe/Paris, each run within 15m after its time; next runs Mon 2026-11-30 02:00, Tue 2026-12-01 02:00, Wed 2026-12-02 02:00 (Europe/Paris)",
                "schedule often: rate(5 minutes); its first run when it is created",
                "schedule held: cron(0 3 * * ? *); paused: it sends nothing until it is resumed",
            ]
        );
        assert_eq!(
            super::fed_by(&env),
            "fed by the uploads under uploads/ and 3 schedules"
        );
        // A pipeline's first stage without uploads, and a later stage with a source of its
        // own.
        let pipeline = crate::config::parse(
            std::path::PathBuf::from("stacks/orders.yaml"),
            "region: eu-west-1\nlab: true\nstages:\n  - name: first\n    sources:\n      uploads: false\n      messages: {}\n      topics:\n        - arn: arn:aws:sns:eu-west-1:444455556666:orders\n  - name: second\n    fed_by: messages\n    sources:\n      schedules:\n        - {name: nightly, rate: 1 day}\n"
                .into(),
        )
        .unwrap()
        .into_only();
        let fed: Vec<String> = pipeline.stages().into_iter().map(super::fed_by).collect();
        assert_eq!(
            fed,
            [
                "fed by messages producers send and 1 topic",
                "fed by the messages the stage before sends and 1 schedule"
            ]
        );
    }
    use crate::kinds::spot_share;

    #[test]
    fn targets_are_shown_with_their_account_role_and_wave() {
        let envs = crate::config::parse(
            std::path::PathBuf::from("stacks/orders.yaml"),
            "region: eu-west-1\nlab: true\nrollout: {bake: 20m}\ndeploy_role: deployer\ntargets:\n  - name: a\n    account: '111122223333'\n  - name: b\n    account: '444455556666'\n    wave: 2\n"
                .into(),
        )
        .unwrap()
        .expand();
        let checked = super::check_all(&envs, false).unwrap();
        let text = super::rows(&checked.checked);
        assert!(text.contains("account") && text.contains("wave"), "{text}");
        for line in [
            "orders-a assumes arn:aws:iam::111122223333:role/deployer",
            "orders-b assumes arn:aws:iam::444455556666:role/deployer",
            "wave 1: baked 20m before the next",
            "wave 2: the last, not baked",
        ] {
            assert!(text.lines().any(|l| l == line), "{line}: {text}");
        }
        let body = super::json(&checked.checked[1]);
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(
            v["target"],
            serde_json::json!({"name": "b", "account": "444455556666", "role_arn": "arn:aws:iam::444455556666:role/deployer", "wave": 2, "waves": 2, "bake_seconds": 1200, "mode": "direct", "stack_sets": null})
        );
    }

    #[test]
    fn a_stack_sets_target_is_shown_as_its_stack_sets_instances_and_how_they_are_reached() {
        let file = crate::config::stack_sets_service_managed();
        let envs = file.targets.clone();
        let checked = super::check_all(&envs, false).unwrap();
        let text = super::rows(&checked.checked);
        let line = format!(
            "{}: deployed through CloudFormation StackSets (service-managed permissions, from account 999999999999): stack sets qfleet-fleetsets-data, qfleet-fleetsets-fleet, an instance per target",
            file.base.source.display()
        );
        // Once for the file's three targets.
        assert_eq!(text.lines().filter(|l| *l == line).count(), 1, "{text}");
        let v = serde_json::to_value(super::json(&checked.checked[2])).unwrap();
        assert_eq!(v["target"]["mode"], "stack_sets");
        assert_eq!(
            v["target"]["stack_sets"],
            serde_json::json!({"permission_model": "service_managed", "administration_account": "999999999999", "call_as": "self", "organizational_unit": "ou-ab12-99zz88yy", "auto_deployment": false, "account_role": null})
        );
        // A target that stands for a whole unit: no account nor role of its own, the role in
        // each account of the unit.
        let units = crate::config::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/org-units.yaml"),
        )
        .unwrap();
        let checked_units = super::check_all(&units.targets, false).unwrap();
        let u = serde_json::to_value(super::json(&checked_units.checked[0])).unwrap();
        assert_eq!(
            (&u["target"]["account"], &u["target"]["role_arn"]),
            (&serde_json::Value::Null, &serde_json::Value::Null)
        );
        assert_eq!(
            u["target"]["stack_sets"],
            serde_json::json!({"permission_model": "service_managed", "administration_account": "999999999999", "call_as": "self", "organizational_unit": "ou-ab12-34cd56ef", "auto_deployment": true, "account_role": "arn:aws:iam::ACCOUNT:role/qfleet-reader"})
        );
        assert_eq!(v["stacks"][1]["stack_set"], "qfleet-fleetsets-fleet");
        assert_eq!(v["stacks"][1]["stack_name"], "qfleet-fleetsets-eu2-fleet");
        // The size is the stack set's template's: what the instance gets.
        let sets =
            crate::render::stack_sets_of(&crate::config::load(&file.base.source.path).unwrap())
                .unwrap();
        assert_eq!(v["stacks"][1]["bytes"], sets[1].template.len());
        assert_ne!(
            sets[1].template.len(),
            checked.checked[2].stacks[1].template.len()
        );

        // A direct target has neither.
        let direct = crate::config::parse(
            std::path::PathBuf::from("stacks/orders.yaml"),
            "region: eu-west-1\nlab: true\ntargets:\n  - name: a\n    account: '111122223333'\n"
                .into(),
        )
        .unwrap()
        .expand();
        let checked = super::check_all(&direct, false).unwrap();
        assert!(!super::rows(&checked.checked).contains("StackSets"));
        let v = serde_json::to_value(super::json(&checked.checked[0])).unwrap();
        assert_eq!(v["target"]["mode"], "direct");
        assert!(v["target"]["stack_sets"].is_null());
        assert!(v["stacks"][0]["stack_set"].is_null());
    }

    /// Targets whose templates cannot be one stack set's are refused by validate (exit 2), as
    /// render and deploy refuse them, naming the file.
    #[test]
    fn a_stack_sets_file_whose_targets_cannot_share_a_template_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let path = crate::config::unmergeable_stack_sets(dir.path());
        let envs = crate::config::load(&path).unwrap().expand();
        let err = match super::check_all(&envs, false) {
            Ok(_) => panic!("a file whose targets differ in shape validated"),
            Err(e) => e,
        };
        assert_eq!(err.exit_code(), crate::error::Exit::Input);
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }

    /// The summary states the Spot share and the saving AWS's Spot pricing page promises
    /// ("up to 90% off compared to On-Demand pricing", https://aws.amazon.com/ec2/spot/pricing/),
    /// and nothing when there is no Spot.
    #[test]
    fn the_summary_states_the_spot_share_and_the_saving() {
        let s = spot_share(
            &SpotSpec {
                percent: 70,
                on_demand_base: 1,
            },
            "instances",
        );
        assert_eq!(
            s,
            "; Spot: 70% of the instances above 1 On-Demand (up to 90% off On-Demand on the Spot share)"
        );
        let all = spot_share(
            &SpotSpec {
                percent: 100,
                on_demand_base: 0,
            },
            "instances",
        );
        assert!(
            all.starts_with("; Spot: 100% of the instances (up to 90%"),
            "{all}"
        );
        assert_eq!(spot_share(&SpotSpec::default(), "instances"), "");
    }

    #[test]
    fn the_summary_states_provisioned_modes_pollers_or_the_maximum_concurrency() {
        use crate::config::{LambdaSpec, PollerSpec};
        let mut l = LambdaSpec::default();
        assert_eq!(
            crate::kinds::lambda::mapping_scaling(&l),
            "at most 5 at once"
        );
        l.provisioned_pollers = Some(PollerSpec {
            minimum: 2,
            maximum: 50,
        });
        assert_eq!(
            crate::kinds::lambda::mapping_scaling(&l),
            "provisioned mode: 2–50 event pollers, at most 500 at once (pollers are billed by the hour, the minimum always)"
        );
    }
}
