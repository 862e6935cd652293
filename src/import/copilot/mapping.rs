//! The mapping from a Copilot Worker Service manifest to a `workers.kind: fargate` stack file,
//! setting by setting, each outcome recorded in the report (issue 23; the table in
//! `tests/fixtures/copilot/NOTES.md`, section 4.2). What Copilot renders for each setting is
//! read from its templates and transformers (`internal/pkg/deploy/cloudformation/stack/transformers.go`,
//! `internal/pkg/template/templates/workloads/services/worker/cf.yml`, commit 4c858e71).

use super::Options;
use super::manifest::{Manifest, duration, text_of};
use crate::config::SecretSource;
use crate::config::duration::Seconds;
use crate::error::{InputError, Result};
use crate::import::report::{Item, Report};
use crate::import::stack_file::{Draft, Node};
use serde_yaml_ng::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Copilot's task size when the manifest gives none (`newDefaultWorkerService`).
const DEFAULT_CPU: i64 = 256;
const DEFAULT_MEMORY: i64 = 512;
/// Copilot's queue defaults (Worker Service reference, `subscribe.queue`): retention 4 days,
/// visibility timeout 30 s; and its log retention, 30 days (`logging.retention`).
const DEFAULT_RETENTION: u64 = 4 * 86_400;
const DEFAULT_TIMEOUT: u64 = 30;
const DEFAULT_LOG_DAYS: i64 = 30;
/// ECS's stop timeout when a container definition sets none (30 s on Fargate;
/// `ContainerDefinition.StopTimeout`).
const ECS_STOP_TIMEOUT: u64 = 30;

/// Settings Copilot knows that qfleet does not carry, by path prefix, with why.
const NOT_CARRIED: &[(&str, &str)] = &[
    (
        "image.credentials",
        "a Secrets Manager secret holding a private registry's login: qfleet's tasks pull from ECR or a public registry",
    ),
    (
        "image.labels",
        "Docker labels of the container: not a qfleet setting",
    ),
    (
        "image.depends_on",
        "start order between the container and sidecars: qfleet's task runs one container",
    ),
    (
        "image.healthcheck",
        "a container health check: qfleet's task has none, so ECS counts a task healthy once it runs (what the deployment circuit breaker goes by)",
    ),
    (
        "count.cpu_percentage",
        "scaling on CPU: qfleet scales on the backlog per task only",
    ),
    (
        "count.memory_percentage",
        "scaling on memory: qfleet scales on the backlog per task only",
    ),
    (
        "count.cooldown",
        "scaling cooldowns: qfleet has no cooldown setting",
    ),
    (
        "count.queue_delay.cooldown",
        "scaling cooldowns: qfleet has no cooldown setting",
    ),
    (
        "subscribe.queue.delay",
        "a delivery delay (SQS DelaySeconds): qfleet has no queue delay setting; messages are delivered at once",
    ),
    (
        "publish",
        "SNS topics this service publishes to: qfleet creates none (a worker may publish to topics of its own, allowed with workers.statements)",
    ),
    (
        "network.connect",
        "Service Connect: qfleet's workers take no requests",
    ),
    (
        "logging",
        "FireLens log routing (a sidecar): qfleet's tasks log to a CloudWatch Logs group",
    ),
    (
        "storage.volumes",
        "volumes (EFS or bind mounts): not a qfleet setting",
    ),
    (
        "storage.readonly_fs",
        "a read-only root filesystem: not a qfleet setting",
    ),
    (
        "sidecars",
        "sidecar containers: qfleet's task runs one container",
    ),
    (
        "deployment.rollback_alarms",
        "rollback on CloudWatch alarms: qfleet relies on the deployment circuit breaker",
    ),
    (
        "observability",
        "X-Ray tracing (a collector sidecar): not a qfleet setting",
    ),
    (
        "env_file",
        "an env file Copilot uploaded to S3: copy its variables into workers.environment",
    ),
];

/// Mappings whose keys the importer knows one by one: a key below them that neither the
/// mapping nor `NOT_CARRIED` names is unknown to Copilot's Worker Service manifest.
const KNOWN_MAPPINGS: &[&str] = &[
    "image",
    "count",
    "count.queue_delay",
    "subscribe",
    "subscribe.queue",
    "subscribe.queue.dead_letter",
    "network",
    "network.vpc",
    "network.vpc.security_groups",
    "storage",
    "deployment",
];

/// The stack file and report for `m`, and the problems that refuse it (a `${NAME}` not
/// resolved, no image, a placement without its subnets): the report is whole either way.
/// An error when no environment name can be made.
pub(super) fn map(m: &Manifest, opts: &Options) -> Result<(Draft, Report, Vec<InputError>)> {
    let mut x = Mapper {
        m,
        d: Draft::default(),
        r: Report {
            source_file: m.source.display(),
            service: m.name.clone(),
            applied_environment: m.environment.clone(),
            overrides_applied: m.overrides_applied(),
            source_environments: m.environments.clone(),
            ..Report::default()
        },
        consumed: BTreeSet::new(),
        problems: m.unresolved.clone(),
    };
    for r in &m.resolved {
        x.r.resolved.push(Item {
            source: Some(r.path.clone()),
            qfleet: None,
            line: r.line,
            note: format!("`${{{}}}` is `{}` (from {})", r.variable, r.value, r.from),
        });
    }
    x.consume(&["name", "type"]);
    x.header();
    x.environment_name(opts)?;
    x.region(opts);
    // The sections in stack-file order; each fills its keys in the order it meets them.
    for section in ["queue", "workers", "scaling"] {
        x.d.set(section, Node::Map(Vec::new()), None);
    }
    x.d.text("workers.kind", "fargate", None);
    x.image(opts);
    let per_message = x.count();
    x.queue(per_message);
    let fifo = x.fifo();
    x.network(opts);
    x.logging();
    x.variables();
    x.copilot_variables(opts);
    x.secrets();
    x.task();
    let topics = x.topics(opts, fifo);
    if fifo && topics == 0 {
        // A FIFO stage takes no uploads: with no topic carried, the producers' messages are
        // what feeds it (Copilot's queue took direct sends as well).
        x.d.set(
            "sources.messages",
            Node::Scalar("{}".into()),
            Some("the FIFO queue's source until --topic gives the topics' ARNs".into()),
        );
        x.r.changed(
            Some("subscribe"),
            x.line("subscribe"),
            Some("sources.messages"),
            "{}: no topic's ARN was given, so producers send the jobs (their role attaches the output ProducerPolicyArn); give --topic NAME=ARN to subscribe the FIFO topics instead",
        );
    }
    x.rest();
    x.r.changed(
        None,
        None,
        None,
        if fifo {
            "messages: a Copilot worker received, from COPILOT_QUEUE_URI, its publishers' messages wrapped in SNS envelopes; a qfleet worker reads the FIFO queue named by QFLEET_QUEUE_URL, where the topics given with --topic still arrive in SNS's envelope, in order within each message group"
        } else {
            "messages: a Copilot worker received, from COPILOT_QUEUE_URI, its publishers' messages wrapped in SNS envelopes; a qfleet worker reads the queue named by QFLEET_QUEUE_URL, where the topics given with --topic still arrive in SNS's envelope and the objects uploaded under the bucket's uploads/ prefix arrive as S3 event notifications: the worker's code changes for uploads"
        },
    );
    for list in [
        &mut x.r.resolved,
        &mut x.r.carried,
        &mut x.r.defaulted,
        &mut x.r.changed,
        &mut x.r.not_carried,
    ] {
        list.sort_by_key(|i| i.line.unwrap_or(usize::MAX));
    }
    Ok((x.d, x.r, x.problems))
}

struct Mapper<'a> {
    m: &'a Manifest,
    d: Draft,
    r: Report,
    /// Paths read (and everything below them).
    consumed: BTreeSet<String>,
    /// What refuses the import, located in the manifest.
    problems: Vec<InputError>,
}

impl Mapper<'_> {
    fn consume(&mut self, paths: &[&str]) {
        for p in paths {
            self.consumed.insert((*p).to_string());
        }
    }

    fn get(&self, path: &str) -> Option<&Value> {
        self.m.get(path).filter(|v| !v.is_null())
    }

    fn line(&self, path: &str) -> Option<usize> {
        self.m.line(path)
    }

    /// A whole number at `path`, or why not (reported as not carried by the caller).
    fn int(&self, path: &str) -> Option<std::result::Result<i64, String>> {
        self.get(path).map(|v| match v {
            Value::Number(n) => n
                .as_i64()
                .ok_or_else(|| format!("`{n}` is not a whole number")),
            other => Err(format!("`{}` is not a whole number", text_of(other))),
        })
    }

    fn header(&mut self) {
        let env = match &self.m.environment {
            Some(e) => format!(", environment `{e}`"),
            None => String::new(),
        };
        self.d.header = vec![
            format!(
                "Imported by `qfleet import copilot` from {} (Copilot worker service `{}`{env}).",
                self.m.source.display(),
                self.m.name
            ),
            "Read the import's report: what was not carried over, and what changed meaning.".into(),
        ];
    }

    fn environment_name(&mut self, opts: &Options) -> Result<()> {
        self.consume(&["name"]);
        let line = self.line("name");
        let name = match opts.environment_name {
            Some(n) => {
                self.r.carried(
                    "name",
                    line,
                    "environment",
                    format!(
                        "{n} (from --environment-name; the service is `{}`)",
                        self.m.name
                    ),
                );
                n.to_string()
            }
            None => {
                // One qfleet environment per Copilot environment: the service's name, and
                // the Copilot environment's after it when one is given, so that importing
                // `--env test` and `--env production` does not write the same name twice.
                let n = match &self.m.environment {
                    Some(e) => qualified_name(&self.m.name, e),
                    None => environment_name(&self.m.name),
                };
                if !crate::config::valid_name(&n) {
                    return Err(crate::import::errors::Usage::ServiceName {
                        manifest: self.m.source.path.clone(),
                        service: self.m.name.clone(),
                        max_len: crate::config::MAX_NAME_LEN,
                    }
                    .into());
                }
                let hint = "; give --environment-name NAME to choose another";
                match &self.m.environment {
                    Some(e) => self.r.changed(
                        Some("name"),
                        line,
                        Some("environment"),
                        format!(
                            "`{}` of Copilot environment `{e}` written as `{n}`: one qfleet environment per Copilot environment, so that importing another (--env) writes another name{hint}",
                            self.m.name
                        ),
                    ),
                    None if n == self.m.name && self.m.environments.is_empty() => {
                        self.r.carried("name", line, "environment", n.clone())
                    }
                    None if n == self.m.name => self.r.carried(
                        "name",
                        line,
                        "environment",
                        format!(
                            "{n}: with --env, the name is the service's and the environment's ({}){hint}",
                            qualified_name(&self.m.name, &self.m.environments[0])
                        ),
                    ),
                    None => self.r.changed(
                        Some("name"),
                        line,
                        Some("environment"),
                        format!(
                            "`{}` written as `{n}`: qfleet environment names are lowercase letters, digits and single hyphens, at most {} characters{hint}",
                            self.m.name,
                            crate::config::MAX_NAME_LEN
                        ),
                    ),
                }
                n
            }
        };
        self.d.text("environment", &name, None);
        self.owner(opts);
        Ok(())
    }

    /// `owner`: the Copilot application. qfleet acts only on stacks marked with the file's
    /// owner, so another application's service of the same name, imported for the same
    /// environment, can never deploy over this one's stacks.
    fn owner(&mut self, opts: &Options) {
        match opts.app {
            Some(app) => {
                self.d.text(
                    "owner",
                    app,
                    Some("the Copilot application: qfleet refuses stacks another owner made".into()),
                );
                self.r.defaulted(
                    None,
                    "owner",
                    format!("{app}: the Copilot application (--app, or copilot/.workspace); qfleet refuses stacks another owner made, so another application's file of the same environment name cannot deploy over these"),
                );
            }
            None => self.r.defaulted(
                None,
                "owner",
                "not written: the Copilot application is unknown (no --app, no copilot/.workspace); without owner, another file of the same environment name could deploy over this one's stacks: add owner: APP",
            ),
        }
    }

    fn region(&mut self, opts: &Options) {
        match opts.region {
            Some(r) => {
                self.d.text(
                    "region",
                    r,
                    Some("not in the Copilot manifest (its environment's region); check it".into()),
                );
                self.r.defaulted(
                    None,
                    "region",
                    format!("{r}: a Copilot manifest names no region (its environment did); taken from --region or the AWS region setting"),
                );
            }
            None => {
                self.d.text(
                    "region",
                    "us-east-1",
                    Some("a guess: the Copilot manifest names no region; set it".into()),
                );
                self.r.defaulted(
                    None,
                    "region",
                    "us-east-1, a guess: a Copilot manifest names no region (its environment did) and neither --region nor AWS_REGION was given; set it",
                );
            }
        }
    }

    /// The image: `--image`, else `image.location`; either is written in full by the one rule
    /// Docker reads a reference with ([`full_reference`]), and reported alike. No image is a
    /// problem (`image.build` needs `--image`).
    fn image(&mut self, opts: &Options) {
        self.consume(&["image.build", "image.location"]);
        let build_line = self.line("image.build");
        let has_build = self.get("image.build").is_some();
        let location = match self.get("image.location") {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => None,
        };
        if let Some(img) = opts.image {
            self.write_image("--image", None, img.trim(), "from --image");
            if has_build {
                self.r.not_carried(
                    "image.build",
                    build_line,
                    "Copilot built this Dockerfile and pushed the image to its own ECR repository; qfleet builds nothing: the image given with --image runs",
                );
            }
            if let Some(loc) = location {
                self.r.changed(
                    Some("image.location"),
                    self.line("image.location"),
                    Some("workers.image"),
                    format!("`{loc}` replaced by --image"),
                );
            }
            return;
        }
        if let Some(loc) = location {
            let line = self.line("image.location");
            self.write_image("image.location", line, &loc, "Copilot's");
            return;
        }
        if has_build {
            self.write_build(opts);
            return;
        }
        let path = if has_build { "image.build" } else { "image" };
        let elsewhere = self.m.environments_setting("image.location");
        let mut why = if has_build {
            "no image to run: Copilot built `image.build` and pushed it to its own ECR repository, which qfleet does not do; build and push the image, then give it with --image REGISTRY/REPOSITORY:TAG".to_string()
        } else {
            "no image to run (image.location); give one with --image REGISTRY/REPOSITORY:TAG"
                .to_string()
        };
        if !elsewhere.is_empty() && self.m.environment.is_none() {
            why.push_str(&format!(
                "; environment{} {} set{} image.location: add --env {}",
                if elsewhere.len() == 1 { "" } else { "s" },
                elsewhere.join(", "),
                if elsewhere.len() == 1 { "s" } else { "" },
                elsewhere[0]
            ));
        }
        self.r
            .not_carried(path, if has_build { build_line } else { None }, why.clone());
        // Located where an environment sets the image, else at the service's name.
        let at = match elsewhere.first() {
            Some(e) if self.m.environment.is_none() => format!("environments.{e}.image.location"),
            _ if has_build => path.to_string(),
            _ => "name".to_string(),
        };
        let mut e = self.m.error(&at, why);
        e.field = path.to_string();
        self.problems.push(e);
    }

    /// Copilot's `image.build` as `workers.image.build`: qfleet deploy builds the same
    /// Dockerfile and pushes the image to the environment's repository. Copilot's paths are
    /// relative to the workspace (the directory holding `copilot/`), and a string names the
    /// Dockerfile, whose directory is the context ("image.build", Worker Service manifest:
    /// <https://aws.github.io/copilot-cli/docs/manifest/worker-service/#image-build>); qfleet's
    /// are relative to the stack file.
    fn write_build(&mut self, opts: &Options) {
        let line = self.line("image.build");
        let text = |v: Option<&Value>| v.map(super::manifest::text_of);
        let (dockerfile, context) = match self.get("image.build") {
            Some(Value::Mapping(_)) => (
                text(self.get("image.build.dockerfile")),
                text(self.get("image.build.context")),
            ),
            other => (text(other), None),
        };
        let workspace = workspace_of(Path::new(&self.m.source.path));
        let base = opts.out_dir.unwrap_or(Path::new(""));
        let context = context.or_else(|| {
            let d = Path::new(dockerfile.as_deref()?).parent()?;
            Some(d.to_string_lossy().into_owned())
        });
        let ctx = relative(&workspace.join(context.as_deref().unwrap_or(".")), base);
        self.d.text(
            "workers.image.build.context",
            &ctx,
            Some("Copilot's image.build, relative to this file".into()),
        );
        if let Some(df) = &dockerfile {
            let df = relative(&workspace.join(df), base);
            if df != format!("{ctx}/Dockerfile") {
                self.d.text("workers.image.build.dockerfile", &df, None);
            }
        }
        if let Some(t) = text(self.get("image.build.target")) {
            self.d.text("workers.image.build.target", &t, None);
        }
        if let Some(Value::Mapping(args)) = self.get("image.build.args") {
            let args: Vec<(String, String)> = args
                .iter()
                .map(|(k, v)| (super::manifest::text_of(k), super::manifest::text_of(v)))
                .collect();
            for (k, v) in args {
                self.d
                    .text(&format!("workers.image.build.args.{k}"), &v, None);
            }
        }
        if self.get("image.build.cache_from").is_some() {
            self.r.not_carried(
                "image.build.cache_from",
                self.line("image.build.cache_from"),
                "qfleet builds with the engine's own cache: a deploy skips the build when the repository has the image of the same inputs",
            );
        }
        self.r.carried.push(Item {
            source: Some("image.build".into()),
            qfleet: Some("workers.image.build".into()),
            line,
            note: format!(
                "qfleet deploy builds the image from {ctx} and pushes it to the environment's ECR repository (qfleet/ENV), as Copilot did to its own"
            ),
        });
    }

    /// Writes `workers.image` from `source` (`--image` or `image.location`): as given when it
    /// is a full reference, else in full, as Docker reads a short one, and said so.
    fn write_image(&mut self, source: &str, line: Option<usize>, reference: &str, whose: &str) {
        let full = full_reference(reference);
        let from_flag = source == "--image";
        if full == reference {
            self.r.carried.push(Item {
                source: Some(source.into()),
                qfleet: Some("workers.image".into()),
                line,
                note: reference.to_string(),
            });
            self.d.text(
                "workers.image",
                reference,
                from_flag.then(|| "from --image".to_string()),
            );
            return;
        }
        self.r.changed(
            Some(source),
            line,
            Some("workers.image"),
            format!(
                "`{reference}` written in full as `{full}`, as Docker reads a short name (Docker Hub, tag latest); pulling from Docker Hub needs a way out to the internet (public IP or NAT) and meets its pull rate limits: consider copying the image to ECR"
            ),
        );
        self.d.text(
            "workers.image",
            &full,
            Some(format!("{whose} `{reference}`, in full")),
        );
    }

    /// `count`: the task range, the Spot share and the backlog target; returns the processing
    /// time of one message, when `queue_delay` gives it.
    fn count(&mut self) -> Option<f64> {
        self.consume(&[
            "count.spot",
            "count.range",
            "count.queue_delay.acceptable_latency",
            "count.queue_delay.msg_processing_time",
        ]);
        let count_line = self.line("count");
        let (mut min, mut max) = (1i64, 1i64);
        // Placed first, so that the count comes before the Spot share in the file.
        self.d.plain("workers.min", min, None);
        self.d.plain("workers.max", max, None);
        let mut autoscaling = false;
        match self.get("count").cloned() {
            None => {
                self.d
                    .plain("workers.min", 1, Some("Copilot's default count".into()));
                self.d
                    .plain("workers.max", 1, Some("Copilot's default count".into()));
                self.r.defaulted(
                    Some("count"),
                    "workers.min, workers.max",
                    "1, Copilot's default count",
                );
                return None;
            }
            Some(Value::Number(n)) => {
                self.consume(&["count"]);
                match n.as_i64().filter(|n| *n >= 0) {
                    // How Copilot parks an environment: no task runs.
                    Some(0) => {
                        (min, max) = (0, 0);
                        self.r.changed(
                            Some("count"),
                            count_line,
                            Some("workers.min, workers.max"),
                            "0: the environment is parked, as Copilot's count: 0 left it: no worker runs and the jobs wait in the queue; plan, deploy and status say so every time until workers.max is raised",
                        );
                    }
                    Some(n) => {
                        (min, max) = (n, n);
                        self.r.carried(
                            "count",
                            count_line,
                            "workers.min, workers.max",
                            format!("{n} (a fixed count)"),
                        );
                    }
                    None => self.r.not_carried(
                        "count",
                        count_line,
                        format!("`{n}` is not a count; 1 written"),
                    ),
                }
            }
            Some(Value::Mapping(_)) => {
                if let Some(spot) = self.int("count.spot") {
                    let line = self.line("count.spot");
                    match spot {
                        Ok(n) if n >= 0 => {
                            (min, max) = (n, n);
                            self.r.carried(
                                "count.spot",
                                line,
                                "workers.min, workers.max, workers.spot",
                                format!(
                                    "{n} tasks, all on Fargate Spot (percent 100, on_demand_base 0)"
                                ),
                            );
                            self.spot(100, 0, None);
                        }
                        Ok(n) => {
                            self.r
                                .not_carried("count.spot", line, format!("`{n}` is not a count"))
                        }
                        Err(why) => self.r.not_carried("count.spot", line, why),
                    }
                }
                if self.get("count.range").is_some()
                    && let Some((lo, hi)) = self.range()
                {
                    (min, max) = (lo, hi);
                    autoscaling = lo != hi;
                }
            }
            Some(other) => {
                self.consume(&["count"]);
                self.r.not_carried(
                    "count",
                    count_line,
                    format!("`{}` is not a count; 1 written", text_of(&other)),
                );
            }
        }
        self.d.plain("workers.min", min, None);
        self.d.plain("workers.max", max, None);
        if min == 0 && max > 0 {
            self.d.plain(
                "scaling.scale_from_zero",
                true,
                Some("workers.min is 0".into()),
            );
            self.r.changed(
                Some("count.range"),
                self.line("count.range"),
                Some("scaling.scale_from_zero"),
                "true: Copilot started from zero through its backlog metric (it divides by at least one task); qfleet adds a step policy that starts a task when messages wait and none runs",
            );
        }
        let per_message = self.queue_delay(max);
        if autoscaling && per_message.is_none() {
            self.r.defaulted(
                Some("count.queue_delay"),
                "scaling",
                "no queue_delay: qfleet's default target of 100 messages per task; set scaling.max_latency_seconds and scaling.seconds_per_message",
            );
        }
        per_message
    }

    /// `count.range`: `"1-10"` or `{min, max, spot_from}`.
    fn range(&mut self) -> Option<(i64, i64)> {
        let line = self.line("count.range");
        let (lo, hi) = match self.get("count.range").cloned() {
            Some(Value::String(s)) => {
                let parsed = s
                    .split_once('-')
                    .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)));
                match parsed {
                    Some((a, b)) => (a, b),
                    None => {
                        self.r.not_carried(
                            "count.range",
                            line,
                            format!("`{s}` is not MIN-MAX; 1 written"),
                        );
                        return None;
                    }
                }
            }
            Some(Value::Mapping(_)) => {
                match (self.int("count.range.min"), self.int("count.range.max")) {
                    (Some(Ok(a)), Some(Ok(b))) => (a, b),
                    _ => {
                        self.r.not_carried(
                            "count.range",
                            line,
                            "needs whole numbers min and max; 1 written",
                        );
                        return None;
                    }
                }
            }
            _ => {
                self.r.not_carried(
                    "count.range",
                    line,
                    "is not MIN-MAX or {min, max}; 1 written",
                );
                return None;
            }
        };
        if lo < 0 || hi < lo {
            self.r.not_carried(
                "count.range",
                line,
                format!("{lo}-{hi} is not a range of task counts; 1 written"),
            );
            return None;
        }
        self.r.carried(
            "count.range",
            line,
            "workers.min, workers.max",
            format!("{lo} to {hi} tasks"),
        );
        if let Some(s) = self.int("count.range.spot_from") {
            let sline = self.line("count.range.spot_from");
            match s {
                Ok(s) if s >= 1 => {
                    // transformers.go, convertCapacityProviders: FARGATE_SPOT weight 1 and, only
                    // when spot_from >= min, FARGATE base spot_from - 1 with weight 0.
                    let mut base = if s >= lo { s - 1 } else { 0 };
                    let mut note = if s >= lo {
                        format!(
                            "the first {base} task{} On-Demand, every task above on Spot (Copilot: FARGATE base {base} weight 0, FARGATE_SPOT weight 1)",
                            if base == 1 { "" } else { "s" }
                        )
                    } else {
                        format!(
                            "every task on Spot: Copilot's code puts all tasks on Spot when spot_from ({s}) is below the range's min ({lo}), although its docs say the first spot_from - 1 are On-Demand; qfleet does what Copilot did"
                        )
                    };
                    if base > hi {
                        note.push_str(&format!(
                            "; the base of {base} is above max and is written as {hi}: no task ran on Spot in Copilot either"
                        ));
                        base = hi;
                    }
                    self.r
                        .carried("count.range.spot_from", sline, "workers.spot", note);
                    self.spot(100, base, None);
                }
                Ok(s) => self.r.not_carried(
                    "count.range.spot_from",
                    sline,
                    format!("`{s}` is not a task number (1 or more)"),
                ),
                Err(why) => self.r.not_carried("count.range.spot_from", sline, why),
            }
        }
        self.consume(&[
            "count.range.min",
            "count.range.max",
            "count.range.spot_from",
        ]);
        Some((lo, hi))
    }

    fn spot(&mut self, percent: u32, base: i64, comment: Option<String>) {
        self.d.plain("workers.spot.percent", percent, comment);
        self.d.plain("workers.spot.on_demand_base", base, None);
    }

    /// `count.queue_delay`: the acceptable latency and the processing time of one message,
    /// whose quotient is Copilot's backlog target (`QueueScaling.AcceptableBacklogPerTask`,
    /// `internal/pkg/manifest/svc.go`, rounded up). qfleet derives its own from the same two
    /// at `max` tasks (`crates/qfleet-stackfile/src/config/headroom.rs`): a busy share of each task, which the report
    /// line prints beside Copilot's with what it means and what it assumes.
    fn queue_delay(&mut self, max: i64) -> Option<f64> {
        let lat_path = "count.queue_delay.acceptable_latency";
        let per_path = "count.queue_delay.msg_processing_time";
        let (lat, per) = (self.get(lat_path).cloned(), self.get(per_path).cloned());
        if lat.is_none() && per.is_none() {
            return None;
        }
        let line = self.line("count.queue_delay");
        let (Some(lat), Some(per)) = (lat, per) else {
            self.r.not_carried(
                "count.queue_delay",
                line,
                "needs both acceptable_latency and msg_processing_time (Copilot refuses one alone)",
            );
            return None;
        };
        let read = |v: &Value| duration(v);
        let (latency, per_message) = match (read(&lat), read(&per)) {
            (Ok((l, n1)), Ok((p, n2))) => {
                for n in [n1, n2].into_iter().flatten() {
                    self.r.changed(Some("count.queue_delay"), line, None, n);
                }
                (l, p)
            }
            (Err(why), _) | (_, Err(why)) => {
                self.r.not_carried("count.queue_delay", line, why);
                return None;
            }
        };
        if latency <= 0.0 || per_message <= 0.0 || per_message > latency {
            self.r.not_carried(
                "count.queue_delay",
                line,
                "acceptable_latency and msg_processing_time must be above 0, the processing time at most the latency (Copilot refuses this too)",
            );
            return None;
        }
        let target = latency / per_message;
        let copilot = target.ceil();
        let ours = crate::config::headroom::target(latency, per_message, max.max(0) as u64, None);
        self.d
            .plain("scaling.max_latency_seconds", num(latency), None);
        self.d
            .plain("scaling.seconds_per_message", num(per_message), None);
        self.r.carried(
            lat_path,
            self.line(lat_path),
            "scaling.max_latency_seconds",
            num(latency),
        );
        self.r.carried(
            per_path,
            self.line(per_path),
            "scaling.seconds_per_message",
            format!(
                "{}: Copilot's target was {} messages per task{}; qfleet's is {} busy messages per task (derived from the goal at workers.max {}): each task busy {:.0} % of the time, so that 99 % of the messages meet the goal; it assumes one message at a time per task (`qfleet simulate --messages-per-instance N` judges a worker that takes more), so expect more tasks than under Copilot",
                num(per_message),
                num(target),
                if copilot == target {
                    String::new()
                } else {
                    format!(" (Copilot rounded it up to {})", num(copilot))
                },
                num(ours),
                max.max(0),
                ours * 100.0,
            ),
        );
        Some(per_message)
    }

    /// `subscribe.queue`: retention, visibility timeout and dead-letter tries. qfleet has one
    /// queue where Copilot may have had one per topic (`subscribe.topics[].queue`, Worker
    /// Service reference, "topic queue"): its retention and visibility timeout are the
    /// longest of them all, so that no message is deleted sooner or delivered twice sooner
    /// than in Copilot. Each setting gets one report line, with the value written.
    fn queue(&mut self, per_message: Option<f64>) {
        self.consume(&[
            "subscribe.queue.retention",
            "subscribe.queue.timeout",
            "subscribe.queue.dead_letter.tries",
        ]);
        // Retention: 60 s to 14 days (SQS MessageRetentionPeriod).
        let (retention, comment) = self.longest(
            "retention",
            "queue.message_retention",
            (60, 14 * 86_400),
            (DEFAULT_RETENTION, "Copilot's default (and qfleet's)"),
            Vec::new(),
        );
        self.d.text(
            "queue.message_retention",
            &Seconds(retention).to_string(),
            comment,
        );
        // Visibility timeout: 0 to 12 hours (SQS VisibilityTimeout), at least the processing
        // time of one message and the task's stop timeout.
        let mut floors = Vec::new();
        if let Some(p) = per_message {
            floors.push((
                p.ceil() as u64,
                "the processing time of one message (count.queue_delay.msg_processing_time): qfleet keeps a message hidden at least as long as one takes to process, else it is processed twice".to_string(),
            ));
        }
        floors.push((
            self.stop_timeout(),
            "the task's stop timeout: qfleet keeps a stopping task's message hidden until the task is killed".to_string(),
        ));
        let (timeout, comment) = self.longest(
            "timeout",
            "queue.visibility_timeout",
            (0, 12 * 3_600),
            (DEFAULT_TIMEOUT, "Copilot's default (qfleet's is 60s)"),
            floors,
        );
        self.d.text(
            "queue.visibility_timeout",
            &Seconds(timeout).to_string(),
            comment,
        );
        let tries_path = "subscribe.queue.dead_letter.tries";
        match self.int(tries_path) {
            Some(Ok(n)) if (1..=1000).contains(&n) => {
                self.r.carried(
                    tries_path,
                    self.line(tries_path),
                    "queue.max_receive_count",
                    n.to_string(),
                );
                self.d.plain("queue.max_receive_count", n, None);
            }
            other => {
                if let Some(v) = other {
                    let why = match v {
                        Ok(n) => format!("{n} is out of range (1 to 1000)"),
                        Err(why) => why,
                    };
                    self.r.not_carried(tries_path, self.line(tries_path), why);
                }
                self.r.changed(
                    Some("subscribe.queue.dead_letter"),
                    self.line("subscribe.queue"),
                    Some("queue.max_receive_count"),
                    "5: Copilot made no dead-letter queue without dead_letter.tries (a failing message came back until its retention ended); qfleet always has one, and moves a message there after 5 receives",
                );
                self.d.plain(
                    "queue.max_receive_count",
                    5,
                    Some("Copilot had no dead-letter queue; qfleet's default".into()),
                );
            }
        }
    }

    /// One queue duration (`retention` or `timeout`): the default queue's, raised to the
    /// longest of the per-topic queues' and to each floor (seconds, why), reported once.
    /// Returns the seconds and the stack file's comment.
    fn longest(
        &mut self,
        field: &str,
        key: &str,
        range: (u64, u64),
        default: (u64, &str),
        floors: Vec<(u64, String)>,
    ) -> (u64, Option<String>) {
        let path = format!("subscribe.queue.{field}");
        let line = self.line(&path);
        let base = self.queue_duration(&path, range);
        let mut reasons: Vec<String> = Vec::new();
        if let Some((_, Some(note))) = &base {
            reasons.push(note.clone());
        }
        let (start, defaulted) = match &base {
            Some((secs, _)) => (*secs, false),
            None => (default.0, true),
        };
        let mut value = start;
        // Per-topic queues: `queue: true` has Copilot's defaults, a mapping its own settings.
        let topics = match self.get("subscribe.topics") {
            Some(Value::Sequence(t)) => t.len(),
            _ => 0,
        };
        let mut topic_best: Option<(u64, String)> = None;
        for i in 0..topics {
            let q = format!("subscribe.topics.{i}.queue");
            let secs = match self.get(&q) {
                Some(Value::Bool(true)) => Some(default.0),
                Some(Value::Mapping(_)) => match self.get(&format!("{q}.{field}")) {
                    None => Some(default.0),
                    Some(_) => self
                        .queue_duration(&format!("{q}.{field}"), range)
                        .map(|(s, _)| s),
                },
                _ => None,
            };
            if let Some(secs) = secs
                && topic_best.as_ref().is_none_or(|(b, _)| secs > *b)
            {
                let at = if self.get(&format!("{q}.{field}")).is_some() {
                    format!("{q}.{field}")
                } else {
                    format!("{q} (Copilot's default)")
                };
                topic_best = Some((secs, at));
            }
        }
        let mut comment = None;
        if let Some((secs, at)) = topic_best
            && secs > value
        {
            reasons.push(format!(
                "the longest of the per-topic queues', {at} ({}): qfleet has one queue for every topic",
                Seconds(secs)
            ));
            value = secs;
            comment = Some("the longest per-topic queue's: see the report".to_string());
        }
        for (secs, why) in floors {
            if secs > value {
                reasons.push(format!("{} is {why}", Seconds(secs)));
                value = secs;
                comment = Some("raised: see the report".to_string());
            }
        }
        let from = if defaulted {
            format!("{} (Copilot's default)", Seconds(start))
        } else {
            Seconds(start).to_string()
        };
        if value != start {
            self.r.changed(
                Some(&path),
                line,
                Some(key),
                format!(
                    "{}, raised from {from}: {}",
                    Seconds(value),
                    reasons.join("; ")
                ),
            );
        } else if !reasons.is_empty() {
            self.r.changed(
                Some(&path),
                line,
                Some(key),
                format!("{}: {}", Seconds(value), reasons.join("; ")),
            );
        } else if defaulted {
            self.r.defaulted(
                Some(&path),
                key,
                format!("{}, {}", Seconds(value), default.1),
            );
            comment = Some("Copilot's default".to_string());
        } else {
            self.r.carried(&path, line, key, Seconds(value).to_string());
        }
        (value, comment)
    }

    /// A queue duration in whole seconds within `range`, with a note when it is not what
    /// Copilot read exactly (rounded up, or a unit Copilot refused); `None` when absent or not
    /// carried (reported).
    fn queue_duration(&mut self, path: &str, range: (u64, u64)) -> Option<(u64, Option<String>)> {
        let v = self.get(path)?.clone();
        let line = self.line(path);
        match duration(&v) {
            Err(why) => {
                self.r.not_carried(path, line, why);
                None
            }
            Ok((secs, note)) => {
                let whole = secs.ceil() as u64;
                if whole < range.0 || whole > range.1 {
                    self.r.not_carried(
                        path,
                        line,
                        format!(
                            "{} is out of SQS's range ({} to {})",
                            Seconds(whole),
                            Seconds(range.0),
                            Seconds(range.1)
                        ),
                    );
                    return None;
                }
                let note = note.or_else(|| {
                    (whole as f64 != secs).then(|| {
                        format!(
                            "{}s rounded up to whole seconds: {}",
                            num(secs),
                            Seconds(whole)
                        )
                    })
                });
                Some((whole, note))
            }
        }
    }

    /// What the tasks may reach. Copilot's environment security group, which every service's
    /// tasks wear, declares no egress rule (`EnvironmentSecurityGroup` in Copilot's
    /// `internal/pkg/template/templates/environment/cf.yml`), so EC2's default applies: "a
    /// default egress rule that allows egress traffic on all ports and IP protocols to any
    /// location" (AWS::EC2::SecurityGroup,
    /// <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-securitygroup.html>).
    /// qfleet's tasks reach HTTPS only unless the file says more: the import writes Copilot's
    /// reach as an explicit rule, so a worker that talks to its database still does, and says
    /// so, so that the team narrows it.
    fn egress(&mut self) {
        let denied = self.security_groups();
        if denied {
            // With deny_default, the tasks wore only the groups listed, whose own rules still
            // apply once attached beside qfleet's (egress is the union of a task's groups').
            return;
        }
        self.d.set(
            "workers.egress",
            Node::Scalar(
                "[{protocol: all, cidr: 0.0.0.0/0, description: all traffic out as in Copilot}]"
                    .into(),
            ),
            Some("as Copilot let every task's traffic out: narrow it, see the report".into()),
        );
        self.r.changed(
            None,
            None,
            Some("workers.egress"),
            "every protocol and port to 0.0.0.0/0: Copilot's environment security group lets all traffic out, and qfleet's lets out HTTPS alone unless workers.egress says more. Narrow it to what the worker calls (its database's CIDR, or the database's security group: docs/stack-file.md, Your worker's network); validate warns about it until then",
        );
    }

    /// `network.vpc.security_groups` ("network.vpc.security_groups", Worker Service
    /// reference): a list of group ids, or `{groups: [...], deny_default: true}`, attached to
    /// the tasks beside the environment's group (or, with `deny_default`, instead of it). The
    /// ids go to `workers.security_groups` (at most [`MAX_EXTRA_GROUPS`]); an id given as
    /// `from_cfn` (an export of another stack) is reported, as qfleet takes ids. Returns
    /// whether the environment's group was denied.
    ///
    /// [`MAX_EXTRA_GROUPS`]: crate::config::MAX_EXTRA_GROUPS
    fn security_groups(&mut self) -> bool {
        let path = "network.vpc.security_groups";
        self.consume(&[path]);
        let line = self.line(path);
        let (list, denied) = match self.get(path).cloned() {
            None => return false,
            Some(Value::Sequence(list)) => (list, false),
            Some(Value::Mapping(m)) => {
                let list = match m.get("groups") {
                    Some(Value::Sequence(l)) => l.clone(),
                    _ => Vec::new(),
                };
                (list, m.get("deny_default") == Some(&Value::Bool(true)))
            }
            Some(other) => {
                self.r.not_carried(
                    path,
                    line,
                    format!("`{}` is not a list of security group ids", text_of(&other)),
                );
                return false;
            }
        };
        let mut ids = Vec::new();
        for item in &list {
            match item {
                Value::String(id) if ids.len() < crate::config::MAX_EXTRA_GROUPS => {
                    ids.push(id.clone())
                }
                Value::String(id) => self.r.not_carried(
                    path,
                    line,
                    format!(
                        "{id}: a worker wears at most {} groups beside qfleet's own",
                        crate::config::MAX_EXTRA_GROUPS
                    ),
                ),
                other => self.r.not_carried(
                    path,
                    line,
                    format!(
                        "{}: give the group's id (sg-…); qfleet does not read another stack's exports",
                        text_of(other).replace('\n', " ")
                    ),
                ),
            }
        }
        if !ids.is_empty() {
            self.d
                .set("workers.security_groups", Node::List(ids.clone()), None);
            self.r.carried(
                path,
                line,
                "workers.security_groups",
                format!(
                    "{}: attached to every task beside qfleet's own group{}",
                    ids.join(", "),
                    if denied {
                        "; with deny_default, Copilot attached no group of the environment's, and qfleet's own adds HTTPS to the AWS APIs"
                    } else {
                        ""
                    }
                ),
            );
        }
        denied
    }

    /// The stop timeout the tasks get: a `taskdef_overrides` entry setting the container's
    /// `StopTimeout`, else ECS's 30 s.
    fn stop_timeout(&self) -> u64 {
        stop_override(self.m).map_or(ECS_STOP_TIMEOUT, |(_, s)| s)
    }

    /// `network.vpc.placement` ("network.vpc.placement", Worker Service reference): Copilot
    /// runs worker tasks in its environment's public subnets with a public IP each unless the
    /// manifest says `private` (private subnets, reached out through the NAT gateways Copilot
    /// adds to its VPC for them) or names subnets (no public IP: Copilot's
    /// `convertNetworkConfig`). The tasks must reach ECR to pull their image, and SQS, S3 and
    /// CloudWatch Logs: public placement keeps Copilot's public IPs (qfleet's tasks' security
    /// group opens no inbound port); a private one needs the subnets, which only `--vpc` and
    /// `--subnet` can name (a manifest has none, and their zones are not offline knowledge).
    fn network(&mut self, opts: &Options) {
        self.egress();
        self.container_insights(opts);
        self.consume(&["network.vpc.placement"]);
        let path = "network.vpc.placement";
        let line = self.line(path);
        let given = opts.vpc.is_some() || !opts.subnets.is_empty();
        let trade_off = "each task gets a public IP address, as in Copilot: it reaches ECR (to pull its image), SQS, S3 and CloudWatch Logs through the internet gateway, and nothing can connect to it (qfleet's security group for the tasks opens no inbound port); without public IPs the tasks need private subnets with a NAT gateway or VPC endpoints (--vpc and --subnet with placement: private)";
        let placement = self.get(path).cloned();
        let public = match &placement {
            None => {
                self.r.defaulted(
                    Some(path),
                    "workers.public_ip",
                    format!("true: Copilot's default placement is public; {trade_off}"),
                );
                true
            }
            Some(Value::String(s)) if s == "public" => {
                self.r.carried(
                    path,
                    line,
                    "workers.public_ip",
                    format!("true (public); {trade_off}"),
                );
                true
            }
            Some(Value::String(s)) if s == "private" => false,
            Some(Value::Mapping(_)) => false,
            Some(other) => {
                self.r.not_carried(
                    path,
                    line,
                    format!("`{}` is not public, private or subnets", text_of(other)),
                );
                let e = self.m.error(
                    path,
                    format!(
                        "`{}` is not public, private or subnets: Copilot refused it too",
                        text_of(other)
                    ),
                );
                self.problems.push(e);
                return;
            }
        };
        if !given && self.env_network(opts, public) {
            return;
        }
        if public {
            self.network_given(opts, "public");
            self.d.plain(
                "workers.public_ip",
                true,
                Some("Copilot's public placement: a public IP per task, see the report".into()),
            );
            return;
        }
        let what = match &placement {
            Some(Value::Mapping(m)) => {
                let ids = match m.get("subnets") {
                    Some(Value::Sequence(ids)) => {
                        ids.iter().map(text_of).collect::<Vec<_>>().join(", ")
                    }
                    Some(other) => format!("those matching {}", text_of(other).replace('\n', " ")),
                    None => String::new(),
                };
                format!("subnets {ids}")
            }
            _ => "private".to_string(),
        };
        if given {
            self.network_given(opts, "private");
            self.r.carried(
                path,
                line,
                "workers.public_ip",
                format!(
                    "false ({what}): the tasks have no public IP, so the subnets given with --subnet must reach ECR (to pull the image), SQS, S3 and CloudWatch Logs through a NAT gateway (Copilot added them to its own VPC for private placement) or VPC endpoints"
                ),
            );
            self.d.plain("workers.public_ip", false, None);
            return;
        }
        self.r.not_carried(
            path,
            line,
            format!(
                "{what}: the subnets are not in the manifest; give them with --vpc and --subnet"
            ),
        );
        let e = self.m.error(
            path,
            format!(
                "{what}: the tasks run without a public IP in subnets that reach ECR, SQS and S3 through a NAT gateway or VPC endpoints, which the manifest does not name: give the VPC and each subnet with --vpc VPC_ID --subnet ZONE=SUBNET_ID (at least two zones; `copilot env show` and `aws ec2 describe-subnets` name them), or write placement: public to run the tasks with public IPs"
            ),
        );
        self.problems.push(e);
    }

    /// The VPC and subnets of the Copilot environment manifest beside the service's, when it
    /// names its own VPC (`network.vpc.id`) and the placement's subnets: written as
    /// `workers.network` when each subnet says its zone, refused naming them otherwise (their
    /// zones are not offline knowledge). `false`: the manifest names no VPC of its own.
    fn env_network(&mut self, opts: &Options, public: bool) -> bool {
        let Some(m) = opts.env_manifest else {
            return false;
        };
        let src = format!("{} network.vpc", m.path.display());
        let Some(vpc) = &m.vpc else {
            self.r.not_carried.push(Item {
                source: Some(src),
                qfleet: None,
                line: None,
                note: "the Copilot environment's VPC is Copilot's own (no network.vpc.id): it goes with the application, so the workers run in the default VPC or the one --vpc and --subnet give".into(),
            });
            return false;
        };
        let (kind, subnets) = match public {
            true => ("public", &m.public),
            false => ("private", &m.private),
        };
        let zoned: Vec<(&str, &str)> = subnets
            .iter()
            .filter_map(|s| Some((s.az.as_deref()?, s.id.as_str())))
            .collect();
        if subnets.is_empty() || zoned.len() < subnets.len() {
            let ids: Vec<&str> = subnets.iter().map(|s| s.id.as_str()).collect();
            let e = m.error(
                &format!("network.vpc.subnets.{kind}"),
                format!(
                    "the Copilot environment names VPC {vpc} and its {kind} subnets {} without their zones: give them with --vpc {vpc} --subnet ZONE=SUBNET_ID (aws ec2 describe-subnets --subnet-ids … names the zones)",
                    if ids.is_empty() { "(none listed)".to_string() } else { ids.join(", ") }
                ),
            );
            self.problems.push(e);
            return true;
        }
        self.d.text(
            "workers.network.vpc",
            vpc,
            Some(format!("the Copilot environment's ({kind} subnets)")),
        );
        for (zone, id) in &zoned {
            self.insert_map("workers.network.subnets", zone, id);
        }
        self.d.plain("workers.public_ip", public, None);
        self.r.carried.push(Item {
            source: Some(src),
            qfleet: Some("workers.network".into()),
            line: None,
            note: format!(
                "{vpc}, {kind} subnets {}{}",
                zoned
                    .iter()
                    .map(|(z, s)| format!("{z}: {s}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                match public {
                    true => " with a public IP per task, as in Copilot",
                    false => ": no public IP, so they reach AWS through the VPC's NAT gateways or endpoints (plan checks which)",
                }
            ),
        });
        true
    }

    /// `observability.container_insights` of the Copilot environment manifest: qfleet's
    /// cluster always has Container Insights on (its metrics are what the tasks' alarms read).
    fn container_insights(&mut self, opts: &Options) {
        let Some(m) = opts.env_manifest else {
            return;
        };
        let Some(v) = &m.container_insights else {
            return;
        };
        let source = Some(format!(
            "{} observability.container_insights",
            m.path.display()
        ));
        let item = |note: String| Item {
            source: source.clone(),
            qfleet: None,
            line: None,
            note,
        };
        match v.as_str() {
            "true" => self.r.carried.push(item(
                "on: the cluster qfleet makes has Container Insights on".into(),
            )),
            other => self.r.changed.push(item(format!(
                "`{other}`: the cluster qfleet makes has Container Insights on, standard (not enhanced) observability; CloudWatch bills its metrics"
            ))),
        }
    }

    /// `workers.network`: the VPC and subnets given with `--vpc` and `--subnet`, else the
    /// default VPC (its subnets are public: they route to an internet gateway).
    fn network_given(&mut self, opts: &Options, kind: &str) {
        match opts.vpc {
            Some(vpc) if !opts.subnets.is_empty() => {
                self.d
                    .text("workers.network.vpc", vpc, Some("from --vpc".into()));
                for (zone, subnet) in opts.subnets {
                    self.insert_map("workers.network.subnets", zone, subnet);
                }
                self.r.carried.push(Item {
                    source: Some("--vpc, --subnet".into()),
                    qfleet: Some("workers.network".into()),
                    line: None,
                    note: format!(
                        "{vpc}, subnets {} (the Copilot environment's {kind} subnets)",
                        opts.subnets
                            .iter()
                            .map(|(z, s)| format!("{z}: {s}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
            _ => {
                self.d.text(
                    "workers.network",
                    "default",
                    Some("the default VPC, in place of the Copilot environment's".into()),
                );
                self.r.defaulted(
                    None,
                    "workers.network",
                    "default: the default VPC's subnets (public: they route to an internet gateway) in place of the Copilot environment's public subnets; give --vpc and --subnet to run in the environment's own",
                );
            }
        }
    }

    fn logging(&mut self) {
        self.consume(&["logging.retention"]);
        let path = "logging.retention";
        let line = self.line(path);
        let days = match self.int(path) {
            None => {
                self.r.defaulted(
                    Some(path),
                    "workers.log_retention_days",
                    "30, Copilot's default (qfleet's is 14)",
                );
                self.d.plain(
                    "workers.log_retention_days",
                    DEFAULT_LOG_DAYS,
                    Some("Copilot's default".into()),
                );
                return;
            }
            Some(Ok(d)) => d,
            Some(Err(why)) => {
                self.r.not_carried(path, line, why);
                return;
            }
        };
        self.r
            .carried(path, line, "workers.log_retention_days", days.to_string());
        self.d.plain("workers.log_retention_days", days, None);
    }

    /// The variables Copilot set in every task of a worker service
    /// (<https://aws.github.io/copilot-cli/docs/developing/environment-variables/>, and the
    /// queue's, <https://aws.github.io/copilot-cli/docs/manifest/worker-service/>). Those qfleet
    /// knows the value of are written in `workers.environment`, so a worker that reads them runs
    /// as before; each other is reported with what to read instead. A manifest variable of the
    /// same name is kept.
    fn copilot_variables(&mut self, opts: &Options) {
        const QUEUE_VARIABLE: &str = "COPILOT_QUEUE_URI";
        let env = opts
            .env
            .map(str::to_string)
            .or_else(|| self.r.applied_environment.clone());
        let service = self.get("name").map(text_of);
        for (name, value, unknown) in [
            (
                "COPILOT_APPLICATION_NAME",
                opts.app.map(str::to_string),
                "the Copilot application is unknown (no --app, no copilot/.workspace): set workers.environment.COPILOT_APPLICATION_NAME if the worker reads it",
            ),
            (
                "COPILOT_ENVIRONMENT_NAME",
                env.clone(),
                "the Copilot environment is unknown (no --env): set workers.environment.COPILOT_ENVIRONMENT_NAME if the worker reads it",
            ),
            ("COPILOT_SERVICE_NAME", service, "the manifest has no name"),
        ] {
            let key = format!("workers.environment.{name}");
            if matches!(self.existing("workers.environment"), Some(Node::Map(m)) if m.iter().any(|e| e.key == name))
            {
                continue;
            }
            match value {
                Some(v) => {
                    self.r
                        .carried(name, None, &key, format!("{v}, as Copilot set it"));
                    self.insert_map("workers.environment", name, &v);
                }
                None => self.r.not_carried(name, None, unknown),
            }
        }
        // A manifest variable (or secret) of the same name is kept, as for the others: the
        // queue's URL is then not set under that name too, which the file could not hold.
        let own = matches!(self.existing("workers.environment"), Some(Node::Map(m)) if m.iter().any(|e| e.key == QUEUE_VARIABLE))
            || matches!(self.get("secrets"), Some(Value::Mapping(m)) if m.contains_key(QUEUE_VARIABLE));
        if own {
            self.r.changed(
                Some(QUEUE_VARIABLE),
                None,
                Some(&format!("workers.environment.{QUEUE_VARIABLE}")),
                "the manifest's own value is kept: the worker reads it under this name, not the queue's URL; QFLEET_QUEUE_URL holds the queue it takes jobs from",
            );
        } else {
            self.r.carried(
                QUEUE_VARIABLE,
                None,
                "workers.queue_url_as",
                "the queue's URL, set under this name too, so that the worker reads it unchanged (QFLEET_QUEUE_URL holds the same)",
            );
            self.d.set(
                "workers.queue_url_as",
                Node::List(vec![QUEUE_VARIABLE.to_string()]),
                Some("the queue's URL under Copilot's name".into()),
            );
        }
        // A topic with a queue of its own (`subscribe.topics[].queue`), and topics published to.
        let topic_queues = match self.get("subscribe.topics") {
            Some(Value::Sequence(ts)) => ts.iter().any(|t| {
                t.get("queue")
                    .is_some_and(|q| !q.is_null() && q != &Value::Bool(false))
            }),
            _ => false,
        };
        if topic_queues {
            self.r.changed(
                Some("COPILOT_TOPIC_QUEUE_URIS"),
                None,
                Some("QFLEET_QUEUE_URL"),
                "the topics' own queues: qfleet has one queue, and every topic's messages arrive in QFLEET_QUEUE_URL's",
            );
        }
        if self.get("publish").is_some() {
            self.r.not_carried(
                "COPILOT_SNS_TOPIC_ARNS",
                None,
                "the topics this service published to: qfleet creates none (see publish); give the worker their ARNs in workers.environment",
            );
        }
        let discovery = match (env.as_deref(), opts.app) {
            (Some(e), Some(a)) => format!("{e}.{a}.local"),
            _ => "ENV.APP.local".into(),
        };
        self.r.not_carried(
            "COPILOT_SERVICE_DISCOVERY_ENDPOINT",
            None,
            format!("{discovery}, the Copilot environment's service discovery namespace: its names resolved only inside that environment's VPC; give the worker the address of each service it calls"),
        );
    }

    fn variables(&mut self) {
        self.consume(&["variables"]);
        let Some(Value::Mapping(vars)) = self.get("variables").cloned() else {
            return;
        };
        for (k, v) in &vars {
            let name = text_of(k);
            let path = format!("variables.{name}");
            let line = self.line(&path);
            match v {
                Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                    let value = match v {
                        Value::String(_) => text_of(v),
                        _ => self.m.as_written(&path).unwrap_or_else(|| text_of(v)),
                    };
                    let key = format!("workers.environment.{name}");
                    self.r.carried(&path, line, &key, value.clone());
                    if names_a_discovered_service(&value) {
                        self.r.changed(
                            Some(&path),
                            line,
                            Some(&key),
                            "it names a host in a Copilot service discovery namespace (NAME.ENV.APP.local), which resolves only inside the Copilot environment's VPC: give the service's address there",
                        );
                    }
                    self.insert_map("workers.environment", &name, &value);
                }
                Value::Mapping(m) if m.contains_key("from_cfn") => self.r.not_carried(
                    &path,
                    line,
                    format!(
                        "the value of CloudFormation export `{}`: qfleet's values are plain; write it with `aws cloudformation list-exports`",
                        m.get("from_cfn").map(text_of).unwrap_or_default()
                    ),
                ),
                other => self.r.not_carried(
                    &path,
                    line,
                    format!("`{}` is not a plain value", text_of(other)),
                ),
            }
        }
    }

    fn secrets(&mut self) {
        self.consume(&["secrets"]);
        let Some(Value::Mapping(secrets)) = self.get("secrets").cloned() else {
            return;
        };
        let mut any = false;
        for (k, v) in &secrets {
            let name = text_of(k);
            let path = format!("secrets.{name}");
            let line = self.line(&path);
            let reference = match v {
                // An SSM parameter name or ARN, or a Secrets Manager ARN.
                Value::String(s) if s.starts_with("arn:") => s.clone(),
                Value::String(s) => format!("ssm:{s}"),
                Value::Mapping(m) if m.contains_key("secretsmanager") => {
                    format!(
                        "secretsmanager:{}",
                        m.get("secretsmanager").map(text_of).unwrap_or_default()
                    )
                }
                Value::Mapping(m) if m.contains_key("from_cfn") => {
                    self.r.not_carried(
                        &path,
                        line,
                        format!(
                            "the secret named by CloudFormation export `{}`: write its name or ARN in workers.secrets",
                            m.get("from_cfn").map(text_of).unwrap_or_default()
                        ),
                    );
                    continue;
                }
                other => {
                    self.r.not_carried(
                        &path,
                        line,
                        format!("`{}` names no parameter or secret", text_of(other)),
                    );
                    continue;
                }
            };
            match SecretSource::parse(&reference) {
                Ok(_) => {
                    any = true;
                    self.r.carried(
                        &path,
                        line,
                        &format!("workers.secrets.{name}"),
                        reference.clone(),
                    );
                    self.insert_map("workers.secrets", &name, &reference);
                }
                Err(why) => self.r.not_carried(
                    &path,
                    line,
                    format!(
                        "{why} (qfleet takes ssm:NAME, secretsmanager:NAME or an ARN of either; a secret's JSON key or version is not a qfleet form)"
                    ),
                ),
            }
        }
        if any {
            self.r.changed(
                Some("secrets"),
                self.line("secrets"),
                Some("workers.secrets"),
                "Copilot's execution role could read every parameter and secret tagged with its application and environment; qfleet grants exactly the ones workers.secrets lists: list every secret the worker reads",
            );
        }
    }

    fn insert_map(&mut self, map: &str, key: &str, value: &str) {
        // Keys are the user's own names: set through the map, never split on dots.
        let entry = crate::import::stack_file::Entry {
            key: key.to_string(),
            value: Node::Scalar(crate::import::stack_file::scalar(value)),
            comment: None,
        };
        let mut entries = Vec::new();
        if let Some(Node::Map(existing)) = self.existing(map) {
            entries = existing;
        }
        entries.push(entry);
        self.d.set(map, Node::Map(entries), None);
    }

    fn existing(&self, path: &str) -> Option<Node> {
        let mut level = &self.d.root;
        let segs: Vec<&str> = path.split('.').collect();
        for (i, seg) in segs.iter().enumerate() {
            let e = level.iter().find(|e| e.key == *seg)?;
            if i + 1 == segs.len() {
                return Some(e.value.clone());
            }
            let Node::Map(next) = &e.value else {
                return None;
            };
            level = next;
        }
        None
    }

    /// The task: size, platform, exec, storage, command, stop timeout, deployment.
    fn task(&mut self) {
        self.consume(&[
            "cpu",
            "memory",
            "platform",
            "exec",
            "storage.ephemeral",
            "entrypoint",
            "command",
            "taskdef_overrides",
            "deployment.rolling",
        ]);
        for (path, key, default) in [
            ("cpu", "workers.fargate.cpu", DEFAULT_CPU),
            ("memory", "workers.fargate.memory", DEFAULT_MEMORY),
        ] {
            let line = self.line(path);
            match self.int(path) {
                Some(Ok(n)) => {
                    self.r.carried(path, line, key, n.to_string());
                    self.d.plain(key, n, None);
                }
                other => {
                    if let Some(Err(why)) = other {
                        self.r.not_carried(path, line, why);
                    }
                    self.r
                        .defaulted(Some(path), key, format!("{default}, Copilot's default"));
                    self.d.plain(key, default, Some("Copilot's default".into()));
                }
            }
        }
        self.platform();
        let line = self.line("exec");
        match self.get("exec").cloned() {
            Some(Value::Bool(b)) => {
                self.r
                    .carried("exec", line, "workers.fargate.exec", b.to_string());
                self.d.plain("workers.fargate.exec", b, None);
            }
            Some(other) => self.r.not_carried(
                "exec",
                line,
                format!("`{}` is not true or false", text_of(&other)),
            ),
            None => {}
        }
        let line = self.line("storage.ephemeral");
        match self.int("storage.ephemeral") {
            Some(Ok(20)) => self.r.carried(
                "storage.ephemeral",
                line,
                "workers.fargate.ephemeral_storage_gib",
                "20 GiB is what Fargate gives without the setting: nothing written",
            ),
            Some(Ok(n)) if (21..=200).contains(&n) => {
                self.r.carried(
                    "storage.ephemeral",
                    line,
                    "workers.fargate.ephemeral_storage_gib",
                    n.to_string(),
                );
                self.d
                    .plain("workers.fargate.ephemeral_storage_gib", n, None);
            }
            Some(Ok(n)) => self.r.not_carried(
                "storage.ephemeral",
                line,
                format!("{n} GiB is out of Fargate's range (21 to 200)"),
            ),
            Some(Err(why)) => self.r.not_carried("storage.ephemeral", line, why),
            None => {}
        }
        for (path, key) in [
            ("entrypoint", "workers.fargate.entry_point"),
            ("command", "workers.fargate.command"),
        ] {
            let line = self.line(path);
            match self.get(path).cloned() {
                None => {}
                Some(Value::Sequence(items)) if items.iter().all(|i| !i.is_mapping()) && !items.is_empty() => {
                    let words: Vec<String> = items.iter().map(text_of).collect();
                    self.r.carried(path, line, key, words.join(" "));
                    self.d.set(key, Node::List(words), None);
                }
                Some(Value::String(s)) if !s.contains(['"', '\'', '\\']) && !s.trim().is_empty() => {
                    let words: Vec<String> = s.split_whitespace().map(str::to_string).collect();
                    self.r.carried(path, line, key, format!("{s} (split into {} words)", words.len()));
                    self.d.set(key, Node::List(words), None);
                }
                Some(other) => self.r.not_carried(
                    path,
                    line,
                    format!(
                        "`{}`: a command with quotes or escapes is split by Copilot's shell-word rules; write it as a list in {key}",
                        text_of(&other)
                    ),
                ),
            }
        }
        self.overrides();
        let line = self.line("deployment.rolling");
        match self.get("deployment.rolling").cloned() {
            None => {}
            Some(Value::String(s)) if s == "default" => self.r.carried(
                "deployment.rolling",
                line,
                "(no key)",
                "default: ECS's rolling update (100 % healthy, 200 % at most), as qfleet's",
            ),
            Some(other) => self.r.not_carried(
                "deployment.rolling",
                line,
                format!(
                    "`{}`: qfleet keeps ECS's rolling update (100 % healthy, 200 % at most)",
                    text_of(&other)
                ),
            ),
        }
    }

    /// `platform`: `os/arch` or `{osfamily, architecture}` (Copilot's `validShortPlatforms`,
    /// `internal/pkg/manifest/workload_ecs.go`); Linux only in qfleet.
    fn platform(&mut self) {
        let line = self.line("platform");
        let text = match self.get("platform").cloned() {
            None => return,
            Some(Value::String(s)) => s,
            Some(Value::Mapping(m)) => format!(
                "{}/{}",
                m.get("osfamily").map(text_of).unwrap_or_default(),
                m.get("architecture").map(text_of).unwrap_or_default()
            ),
            Some(other) => text_of(&other),
        };
        let key = "workers.fargate.platform";
        match text.to_ascii_lowercase().as_str() {
            "linux/amd64" | "linux/x86_64" => {
                self.r.carried("platform", line, key, "linux/x86_64");
                self.d.text(key, "linux/x86_64", None);
            }
            "linux/arm64" => {
                self.r.carried("platform", line, key, "linux/arm64");
                self.d.text(key, "linux/arm64", None);
            }
            "linux/arm" => {
                self.r.changed(
                    Some("platform"),
                    line,
                    Some(key),
                    "linux/arm written as linux/arm64, the one Arm architecture Fargate runs",
                );
                self.d.text(key, "linux/arm64", Some("Copilot's linux/arm".into()));
            }
            other => self.r.not_carried(
                "platform",
                line,
                format!("`{other}`: qfleet's Fargate tasks run Linux (linux/x86_64 or linux/arm64) only; the image must be a Linux image"),
            ),
        }
    }

    /// `taskdef_overrides`: a container `StopTimeout` becomes `workers.fargate.stop_timeout`;
    /// every other patch is listed.
    fn overrides(&mut self) {
        let Some(Value::Sequence(list)) = self.get("taskdef_overrides").cloned() else {
            if self.get("taskdef_overrides").is_some() {
                self.r.not_carried(
                    "taskdef_overrides",
                    self.line("taskdef_overrides"),
                    "is not a list of {path, value}",
                );
            }
            return;
        };
        let stop = stop_override(self.m).map(|(i, _)| i);
        for (i, o) in list.iter().enumerate() {
            let path = format!("taskdef_overrides.{i}");
            let line = self.line(&format!("{path}.path"));
            let target = o.get("path").map(text_of).unwrap_or_default();
            if Some(i) == stop {
                let secs = stop_override(self.m).map_or(ECS_STOP_TIMEOUT, |(_, s)| s);
                self.r.carried(
                    &path,
                    line,
                    "workers.fargate.stop_timeout",
                    format!("{target}: {}", Seconds(secs)),
                );
                self.d.text(
                    "workers.fargate.stop_timeout",
                    &Seconds(secs).to_string(),
                    None,
                );
            } else if let Some(gpus) = gpu_override(&target, o) {
                // Fargate runs no GPU; ECS Managed Instances does, with the same service.
                self.r.not_carried(
                    &path,
                    line,
                    format!(
                        "{gpus} GPU{} per task (`{target}`): Fargate runs none; set workers.kind: ecs_managed with workers.gpu: {{count: {gpus}}} and workers.ecs_managed's cpu and memory, in subnets with a NAT gateway or VPC endpoints and without workers.public_ip, and the tasks run on GPU instances AWS manages (docs/workers.md, ECS Managed Instances workers)",
                        if gpus == 1 { "" } else { "s" }
                    ),
                );
            } else {
                self.r.not_carried(
                    &path,
                    line,
                    format!("a raw task-definition patch of `{target}`: not a qfleet setting"),
                );
            }
        }
    }

    /// `subscribe.queue.fifo` ("Boolean or Map", Worker Service reference): a FIFO queue,
    /// with its deduplication and throughput settings. The stage then takes no uploads: S3
    /// cannot send its events to a FIFO queue. True when the queue is FIFO.
    fn fifo(&mut self) -> bool {
        let path = "subscribe.queue.fifo";
        let line = self.line(path);
        let value = self.get(path).cloned();
        self.consume(&[path]);
        let settings = match value {
            None | Some(Value::Bool(false)) => return false,
            Some(Value::Mapping(m)) => m,
            Some(_) => Default::default(),
        };
        self.d.plain("queue.fifo", true, None);
        self.r.carried(
            path,
            line,
            "queue.fifo",
            "true: a FIFO queue; the jobs of one message group run one at a time, in order",
        );
        let get = |k: &str| settings.get(k).map(text_of);
        if get("content_based_deduplication").as_deref() == Some("true") {
            self.d
                .plain("queue.content_based_deduplication", true, None);
            self.r.carried(
                &format!("{path}.content_based_deduplication"),
                self.line(&format!("{path}.content_based_deduplication")),
                "queue.content_based_deduplication",
                "true",
            );
        }
        let scope = get("deduplication_scope");
        let limit = get("throughput_limit");
        let high = get("high_throughput").as_deref() == Some("true")
            || (scope.as_deref() == Some("messageGroup")
                && limit.as_deref() == Some("perMessageGroupId"));
        if high {
            self.d.plain("queue.high_throughput", true, None);
            self.r.carried(
                path,
                line,
                "queue.high_throughput",
                "true: deduplication and throughput per message group",
            );
        } else if scope.is_some() || limit.is_some() {
            self.r.not_carried(
                path,
                line,
                format!(
                    "deduplication_scope {} with throughput_limit {}: a qfleet FIFO queue counts both per queue (the default) or both per message group (queue.high_throughput)",
                    scope.as_deref().unwrap_or("queue"),
                    limit.as_deref().unwrap_or("perQueue")
                ),
            );
        }
        self.d.plain(
            "sources.uploads",
            false,
            Some("S3 cannot send upload events to a FIFO queue".into()),
        );
        self.r.changed(
            Some(path),
            line,
            Some("sources.uploads"),
            "false: S3 cannot send upload events to a FIFO queue, so uploads to the bucket make no job",
        );
        true
    }

    /// `subscribe.topics`: each topic whose ARN `--topic` gives becomes a topic source with
    /// SNS's envelope (what a Copilot worker reads) and its filter policy; the others are
    /// reported with the name Copilot gave them. A topic is carried when its queue's type is
    /// the stage's: a FIFO topic (a FIFO queue of its own, or the service's FIFO queue) into a
    /// FIFO stage, a standard one into a standard stage. Returns how many were carried.
    fn topics(&mut self, opts: &Options, fifo_stage: bool) -> usize {
        self.consume(&["subscribe.topics"]);
        let Some(Value::Sequence(topics)) = self.get("subscribe.topics").cloned() else {
            return 0;
        };
        let app_env = format!(
            "{}-{}",
            opts.app.unwrap_or("APP"),
            self.m.environment.as_deref().unwrap_or("ENV")
        );
        let mut sources = Vec::new();
        for (i, t) in topics.iter().enumerate() {
            let path = format!("subscribe.topics.{i}");
            let line = self.line(&format!("{path}.name"));
            let name = t.get("name").map(text_of).unwrap_or_default();
            let service = t.get("service").map(text_of).unwrap_or_default();
            let mut extra = Vec::new();
            let mut fifo = fifo_stage;
            if t.get("filter_policy").is_some() {
                extra.push("its filter policy".to_string());
            }
            match t.get("queue") {
                Some(Value::Bool(true)) => extra.push("its own queue".into()),
                Some(Value::Mapping(q)) => {
                    let own_fifo = q
                        .get("fifo")
                        .is_some_and(|f| !matches!(f, Value::Bool(false)));
                    fifo |= own_fifo;
                    let mut queue = if own_fifo {
                        "its own FIFO queue".to_string()
                    } else {
                        "its own queue".to_string()
                    };
                    let settings: Vec<String> = q
                        .iter()
                        .filter(|(k, _)| text_of(k) != "fifo")
                        .map(|(k, v)| match v {
                            Value::Mapping(_) => text_of(k),
                            _ => format!("{} {}", text_of(k), text_of(v)),
                        })
                        .collect();
                    if !settings.is_empty() {
                        queue.push_str(&format!(" ({})", settings.join(", ")));
                    }
                    for (k, v) in q {
                        if let Ok((_, Some(note))) = duration(v) {
                            queue.push_str(&format!("; {}: {note}", text_of(k)));
                        }
                    }
                    extra.push(queue);
                }
                _ => {}
            }
            let with = if extra.is_empty() {
                String::new()
            } else {
                format!(", with {}", extra.join(" and "))
            };
            // A FIFO queue subscribes to a FIFO topic, and SNS: "you must add the .fifo suffix
            // to the name of each FIFO resource"
            // (https://docs.aws.amazon.com/sns/latest/dg/fifo-topic-code-examples.html).
            let copilot_name = format!(
                "{app_env}-{service}-{name}{}",
                if fifo { ".fifo" } else { "" }
            );
            let arn = opts
                .topics
                .iter()
                .find(|(k, _)| *k == format!("{service}/{name}"))
                .or_else(|| opts.topics.iter().find(|(k, _)| *k == name))
                .map(|(_, arn)| arn.clone());
            match arn {
                Some(arn) if fifo == fifo_stage => {
                    let mut source = serde_json::json!({"arn": arn, "envelope": true});
                    if let Some(policy) = t.get("filter_policy")
                        && let Ok(json) = serde_json::to_value(policy)
                    {
                        source["filter_policy"] = json;
                    }
                    sources.push(source);
                    self.r.carried(
                        &path,
                        line,
                        "sources.topics",
                        format!(
                            "topic `{name}` of service `{service}`{with}: subscribed as {arn} (--topic), with SNS's envelope as Copilot delivered it; a queue of its own folds into the stage's queue"
                        ),
                    );
                }
                Some(_) => self.r.not_carried(
                    &path,
                    line,
                    format!(
                        "topic `{name}` of service `{service}`{with}: a FIFO topic needs a FIFO queue, and the service's queue is standard (qfleet folds every topic's queue into the stage's one)"
                    ),
                ),
                None => self.r.not_carried(
                    &path,
                    line,
                    format!(
                        "topic `{name}` of service `{service}` (SNS topic {copilot_name}){with}: give its ARN with --topic {name}=ARN to subscribe the queue to it (sources.topics){}",
                        if fifo_stage {
                            ""
                        } else {
                            ", or a publisher uploads an object instead (see docs/copilot.md)"
                        }
                    ),
                ),
            }
        }
        let carried = sources.len();
        if !sources.is_empty() {
            self.d.set(
                "sources.topics",
                Node::Scalar(serde_json::Value::Array(sources).to_string()),
                None,
            );
        }
        carried
    }

    /// Every key left: known but not carried (with why), or unknown to Copilot.
    fn rest(&mut self) {
        let mut leaves = Vec::new();
        for (k, v) in &self.m.doc {
            leaf_paths(&text_of(k), v, &mut leaves);
        }
        let mut reported: BTreeSet<String> = BTreeSet::new();
        for path in leaves {
            if self.consumed.iter().any(|c| covers(c, &path)) {
                continue;
            }
            let (at, why) = match NOT_CARRIED.iter().find(|(p, _)| covers(p, &path)) {
                Some((p, why)) => (p.to_string(), why.to_string()),
                None => {
                    // The first segment below the mappings the importer knows.
                    let segs: Vec<&str> = path.split('.').collect();
                    let mut at = segs[0].to_string();
                    for seg in &segs[1..] {
                        if !KNOWN_MAPPINGS.contains(&at.as_str()) {
                            break;
                        }
                        at = format!("{at}.{seg}");
                    }
                    (
                        at,
                        "not a setting of Copilot's Worker Service manifest: Copilot ignored it too"
                            .to_string(),
                    )
                }
            };
            if reported.insert(at.clone()) {
                let line = self.line(&at);
                self.r.not_carried(&at, line, why);
            }
        }
    }
}

/// Whether `prefix` is `path` or one of its parents.
fn covers(prefix: &str, path: &str) -> bool {
    path == prefix || path.starts_with(&format!("{prefix}."))
}

/// The dotted paths of every leaf (scalars, lists, empty mappings) under `path`.
fn leaf_paths(path: &str, v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            for (k, child) in m {
                leaf_paths(&format!("{path}.{}", text_of(k)), child, out);
            }
        }
        _ => out.push(path.to_string()),
    }
}

/// The GPUs a `taskdef_overrides` entry asks the container for: a `ResourceRequirements`
/// entry of `Type: GPU` (ContainerDefinition ResourceRequirements,
/// <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ResourceRequirement.html>).
fn gpu_override(target: &str, o: &Value) -> Option<u32> {
    if !target.contains("ResourceRequirements") {
        return None;
    }
    let entries: Vec<&Value> = match o.get("value")? {
        Value::Sequence(list) => list.iter().collect(),
        one => vec![one],
    };
    entries.into_iter().find_map(|e| {
        (e.get("Type").map(text_of).as_deref() == Some("GPU"))
            .then(|| e.get("Value").map(text_of)?.parse().ok())
            .flatten()
    })
}

/// The `taskdef_overrides` entry that sets the container's `StopTimeout` within Fargate's
/// 2 to 120 s: its index and the seconds.
fn stop_override(m: &Manifest) -> Option<(usize, u64)> {
    let Some(Value::Sequence(list)) = m.get("taskdef_overrides") else {
        return None;
    };
    list.iter().enumerate().find_map(|(i, o)| {
        let path = o.get("path").map(text_of)?;
        let secs = o.get("value")?.as_u64()?;
        (path == "ContainerDefinitions[0].StopTimeout" && (2..=120).contains(&secs))
            .then_some((i, secs))
    })
}

/// A number as the stack file writes it: `900`, `0.25`.
fn num(v: f64) -> String {
    let rounded = (v * 1e6).round() / 1e6;
    format!("{rounded}")
}

/// The qfleet environment name of `service` in Copilot environment `env`: `SERVICE-ENV`, the
/// service's part shortened so that the environment's stays whole within `MAX_NAME_LEN`.
fn qualified_name(service: &str, env: &str) -> String {
    let env = environment_name(env);
    let service = environment_name(service);
    let room = crate::config::MAX_NAME_LEN.saturating_sub(env.len() + 1);
    let mut head = service;
    head.truncate(room);
    let head = head.trim_end_matches('-');
    if head.is_empty() {
        return environment_name(&env);
    }
    environment_name(&format!("{head}-{env}"))
}

/// The service name as a qfleet environment name: lowercase, other characters as hyphens,
/// no double or trailing hyphen, at most `MAX_NAME_LEN` characters.
/// Whether a variable's value names a host under `.local`, as Copilot's service discovery
/// names are (`api.test.myapp.local`, perhaps with a scheme, a port or a path).
fn names_a_discovered_service(value: &str) -> bool {
    value.match_indices(".local").any(|(i, m)| {
        value[i + m.len()..]
            .chars()
            .next()
            .is_none_or(|c| matches!(c, ':' | '/' | '"' | '\'' | ' ' | ','))
    })
}

pub(in crate::import) fn environment_name(service: &str) -> String {
    let mut out = String::new();
    for c in service.trim().chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    out.truncate(crate::config::MAX_NAME_LEN);
    out.trim_end_matches('-').to_string()
}

/// An image reference with its registry and tag written out, as Docker reads a short one:
/// `amazon/ecs-example` is `docker.io/amazon/ecs-example:latest`, `nginx` is
/// `docker.io/library/nginx:latest` (the Docker reference grammar,
/// <https://github.com/distribution/reference/blob/main/normalize.go>).
pub(in crate::import) fn full_reference(image: &str) -> String {
    let (first, _) = image.split_once('/').unwrap_or((image, ""));
    let has_registry =
        image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut full = if has_registry {
        image.to_string()
    } else if image.contains('/') {
        format!("docker.io/{image}")
    } else {
        format!("docker.io/library/{image}")
    };
    let last = full.rsplit('/').next().unwrap_or_default();
    if !last.contains(':') && !full.contains('@') {
        full.push_str(":latest");
    }
    full
}

/// The Copilot workspace of a manifest at `copilot/SERVICE/manifest.yml`: the directory that
/// holds `copilot/`; for a manifest elsewhere, its own directory.
fn workspace_of(manifest: &Path) -> PathBuf {
    let dir = manifest.parent().unwrap_or(Path::new(""));
    match dir.parent() {
        Some(c) if c.file_name().is_some_and(|n| n == "copilot") => {
            c.parent().unwrap_or(Path::new("")).to_path_buf()
        }
        _ => dir.to_path_buf(),
    }
}

/// `target` relative to `base`, both read from the current directory, with `.` and `..`
/// resolved in the text (the files may not exist where the import runs).
fn relative(target: &Path, base: &Path) -> String {
    let absolute = |p: &Path| {
        let p = match p.is_absolute() {
            true => p.to_path_buf(),
            false => std::env::current_dir().unwrap_or_default().join(p),
        };
        let mut parts: Vec<std::ffi::OsString> = Vec::new();
        for c in p.components() {
            match c {
                std::path::Component::ParentDir => {
                    parts.pop();
                }
                std::path::Component::Normal(n) => parts.push(n.to_os_string()),
                _ => {}
            }
        }
        parts
    };
    let (t, b) = (absolute(target), absolute(base));
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out: Vec<String> = vec!["..".to_string(); b.len() - common];
    out.extend(t[common..].iter().map(|p| p.to_string_lossy().into_owned()));
    match out.is_empty() {
        true => ".".into(),
        false => out.join("/"),
    }
}
