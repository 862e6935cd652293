//! `qfleet simulate`'s result: each environment's run (one stage, or every stage of a
//! pipeline, each under the completions of the one before it), its charts, and their text (a
//! whole report for one environment, a row each for several) or the document; and `--tune`'s
//! cheapest settings. Exit 3 when an environment misses its latency goal (or `--tune` finds
//! no settings that meet it).

use super::{Assumptions, Pipeline, Report, run_result, run_text, tune};
use crate::config::Environment;
use crate::error::{Exit, Result};
use crate::output::{Document, Environment as EnvDoc, Output, Report as Printed, envelope};
use crate::sim::compare::Comparison;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// An environment's run: one stage, or every stage of a pipeline.
pub(super) enum Run {
    One(Box<Report>),
    Pipeline(Pipeline),
}

/// 3 when the goal is missed (any stage's, for a pipeline), 0 when met or none is set.
fn missed_code(missed: bool) -> Exit {
    if missed { Exit::Differences } else { Exit::Ok }
}

impl Run {
    fn exit_code(&self) -> crate::error::Exit {
        missed_code(match self {
            Run::One(r) => r.missed(),
            Run::Pipeline(p) => p.missed(),
        })
    }

    fn reports_mut(&mut self) -> Vec<&mut Report> {
        match self {
            Run::One(r) => vec![&mut **r],
            Run::Pipeline(p) => p.stages.iter_mut().collect(),
        }
    }
}

/// Every environment's run.
pub(crate) struct Runs(Vec<(String, Run)>);

/// Simulates every environment under `a`, drawing each run's chart when `chart` names a file.
pub(crate) fn simulate_all(
    envs: &[Environment],
    a: &Assumptions,
    chart: Option<&Path>,
) -> Result<Runs> {
    let several = envs.len() > 1;
    let mut runs = Vec::new();
    for env in envs {
        let mut run = if env.is_pipeline() {
            Run::Pipeline(crate::sim::simulate_pipeline(env, a)?)
        } else {
            // A file of `stages` with one stage has its settings in that stage.
            let mut r = crate::sim::simulate(env.stages()[0], a)?;
            r.stage = None;
            Run::One(Box::new(r))
        };
        if let Some(base) = chart {
            for r in run.reports_mut() {
                draw(base, &env.name, several, r)?;
            }
        }
        runs.push((env.name.clone(), run));
    }
    Ok(Runs(runs))
}

/// FILE.svg for one environment, FILE-ENV.svg for each of several; a pipeline's stage adds
/// its name (FILE-STAGE.svg, FILE-ENV-STAGE.svg).
fn chart_path(base: &Path, env: &str, several: bool, stage: Option<&str>) -> PathBuf {
    let parts: Vec<&str> = [several.then_some(env), stage]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        return base.to_path_buf();
    }
    let stem = base.file_stem().and_then(|s| s.to_str()).unwrap_or("chart");
    let ext = base.extension().and_then(|s| s.to_str()).unwrap_or("svg");
    base.with_file_name(format!("{stem}-{}.{ext}", parts.join("-")))
}

fn draw(base: &Path, env: &str, several: bool, r: &mut Report) -> Result<()> {
    let path = chart_path(base, env, several, r.stage.as_deref());
    let title = match &r.stage {
        Some(stage) => format!("{env}/{stage}"),
        None => env.to_string(),
    };
    let svg = super::chart::svg(&title, r)
        .map_err(|why| crate::simulate::errors::Usage::ChartUndrawable { why })?;
    std::fs::write(&path, svg).map_err(|source| {
        crate::simulate::errors::Usage::ChartUnwritable {
            path: path.clone(),
            source,
        }
    })?;
    r.chart = Some(path.display().to_string());
    Ok(())
}

/// A later stage of a pipeline in the document: its report, its name and whether it met its goal.
#[derive(Serialize, schemars::JsonSchema)]
struct LaterStage<'a> {
    #[serde(flatten)]
    report: &'a Report,
    stage: String,
    ok: bool,
}

/// The pipeline as a whole in the document.
#[derive(Serialize, schemars::JsonSchema)]
struct PipelineSummary<'a> {
    stages: usize,
    first_stage: String,
    worst_stage: String,
    end_to_end: &'a Option<run_result::Latency>,
    end_to_end_basis: &'a str,
}

/// Each environment's simulated run: the timeline per minute, latency percentiles, usage and
/// cost, the verdict against scaling.max_latency_seconds (exit 3 when missed). A pipeline's
/// first stage fills the environment's keys, each later stage is under `stages`, and
/// `pipeline` has the end-to-end latency. With `--tune`: the cheapest settings that meet the
/// goal (exit 3 when none does).
#[derive(Serialize, schemars::JsonSchema)]
#[serde(untagged)]
enum Body<'a> {
    One(&'a Report),
    Pipeline {
        #[serde(flatten)]
        first: &'a Report,
        stages: Vec<LaterStage<'a>>,
        pipeline: PipelineSummary<'a>,
    },
}

/// The schema of `qfleet simulate`'s document (a run's, or `--tune`'s).
#[cfg(test)]
pub(crate) fn schema() -> serde_json::Value {
    use crate::output::document_schema::{self as schema, Environments};
    schema::document_either::<Body<'static>, TuneBody, ()>(
        "simulate",
        "qfleet simulate --output json",
        Environments::Each,
    )
}

fn stage_name(r: &Report) -> String {
    r.stage.clone().unwrap_or_default()
}

fn pipeline_body(p: &Pipeline) -> Body<'_> {
    Body::Pipeline {
        first: &p.stages[0],
        stages: p.stages[1..]
            .iter()
            .map(|r| LaterStage {
                report: r,
                stage: stage_name(r),
                ok: !r.missed(),
            })
            .collect(),
        pipeline: PipelineSummary {
            stages: p.stages.len(),
            first_stage: stage_name(&p.stages[0]),
            worst_stage: stage_name(p.worst()),
            end_to_end: &p.end_to_end.latency,
            end_to_end_basis: &p.end_to_end.basis,
        },
    }
}

impl Printed for Runs {
    fn exit_code(&self) -> crate::error::Exit {
        envelope::combined_exit_code(self.0.iter().map(|(_, r)| r.exit_code()))
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let environments = self
            .0
            .iter()
            .map(|(name, run)| match run {
                Run::One(r) => EnvDoc::new(name, missed_code(r.missed()), None, Body::One(r)),
                Run::Pipeline(p) => {
                    EnvDoc::new(name, missed_code(p.missed()), None, pipeline_body(p))
                }
            })
            .collect();
        Document::new(self.exit_code(), environments)
    }

    fn text(&self, out: &Output) -> Result<()> {
        if self.0.len() > 1 {
            out.line(rows(&self.0));
            return Ok(());
        }
        for (name, run) in &self.0 {
            match run {
                Run::One(r) => out.line(run_text::text(name, r).trim_end()),
                Run::Pipeline(p) => out.line(pipeline_text(name, p).trim_end()),
            }
        }
        Ok(())
    }
}

/// A pipeline's text: every stage's, then the pipeline's verdict and end-to-end latency.
fn pipeline_text(name: &str, p: &Pipeline) -> String {
    let n = p.stages.len();
    let mut s = String::new();
    for (i, r) in p.stages.iter().enumerate() {
        let stage = r.stage.as_deref().unwrap_or("-");
        s.push_str(&format!("── stage {} of {n}: {stage}\n", i + 1));
        s.push_str(&run_text::text(&format!("{name}/{stage}"), r));
        s.push('\n');
    }
    let verdicts: Vec<String> = p
        .stages
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.stage.as_deref().unwrap_or("-"),
                match r.goal.met {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "no goal",
                }
            )
        })
        .collect();
    s.push_str(&format!(
        "── pipeline {name}: {n} stages\nverdict     {}\n",
        verdicts.join(", ")
    ));
    let secs = |v: Option<u64>| v.map_or("-".into(), |v| format!("{v} s"));
    match &p.end_to_end.latency {
        Some(l) => s.push_str(&format!(
            "end to end  p50 {}, p95 {}, p99 {}, max {} (upload to the last stage's processed; {})\n",
            secs(l.p50),
            secs(l.p95),
            secs(l.p99),
            secs(l.max),
            p.end_to_end.basis
        )),
        None => s.push_str(&format!("end to end  {}\n", p.end_to_end.basis)),
    }
    s
}

/// One row per environment; a pipeline's row is its worst stage, named ENV/STAGE.
fn rows(runs: &[(String, Run)]) -> String {
    let s = |v: Option<u64>| v.map_or("-".into(), |v| format!("{v} s"));
    let mut pipelines = false;
    let table = crate::output::table(
        &[
            "environment",
            "workers",
            "peak",
            "p50",
            "p95",
            "p99",
            "max",
            "dead",
            "unfinished",
            "cost",
            "verdict",
        ],
        runs.iter().map(|(name, run)| {
            let (label, r) = match run {
                Run::One(r) => (name.clone(), &**r),
                Run::Pipeline(p) => {
                    pipelines = true;
                    let w = p.worst();
                    (format!("{name}/{}", w.stage.as_deref().unwrap_or("-")), w)
                }
            };
            vec![
                label,
                r.settings.workers.to_string(),
                r.peak_capacity.to_string(),
                s(r.latency.p50),
                s(r.latency.p95),
                s(r.latency.p99),
                s(r.latency.max),
                r.dead_lettered.to_string(),
                r.unfinished.to_string(),
                r.cost.usd.map_or("-".into(), |u| format!("${u:.4}")),
                match r.goal.met {
                    Some(true) => "met".to_string(),
                    Some(false) => format!("MISSED: {}", r.goal.reason),
                    None => "no goal".to_string(),
                },
            ]
        }),
    );
    if pipelines {
        format!(
            "{table}\n(a pipeline's row is its worst stage, ENV/STAGE; simulate it alone for every stage)"
        )
    } else {
        table
    }
}

/// `--tune`'s result: each environment's cheapest settings, and with `--instance-types` the
/// comparison of the types, with `--kinds` the kinds'.
pub(crate) struct Tunings(Vec<(String, TuneBody)>);

/// An environment's tuning in the document: the cheapest settings (of the cheapest type,
/// with `--instance-types`) and the types compared.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct TuneBody {
    #[serde(flatten)]
    tuning: tune::Tuning,
    /// With `--instance-types`: every type tuned, cheapest first, and how they were
    /// compared; the rest is the cheapest type's tuning. `null` without the flag.
    comparison: Option<Comparison>,
    /// With `--kinds`: every kind (EC2 and ECS Managed Instances once for each type), cheapest
    /// first, refused last with why, and the figures compared, each AWS's or modelled; the
    /// rest is the first ranked tuned row's tuning. Absent without the flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    kinds: Option<crate::sim::across::Kinds>,
}

/// Tunes every environment under `a`; with `types` (`--instance-types`), once for each type,
/// keeping the cheapest type's tuning with the comparison.
pub(crate) fn tune_all(
    envs: &[Environment],
    a: &Assumptions,
    types: Option<&[crate::sim::compare::TypeSpec]>,
    kinds: Option<&[crate::sim::across::Kind]>,
) -> Result<Tunings> {
    let mut found = Vec::new();
    for env in envs {
        let body = match (kinds, types) {
            (Some(kinds), _) => {
                let (tuning, k) = crate::sim::across::compare(env, a, kinds, types)?;
                TuneBody {
                    tuning,
                    comparison: None,
                    kinds: Some(k),
                }
            }
            (None, Some(types)) => {
                let (tuning, c) = crate::sim::compare::compare(env, a, types)?;
                TuneBody {
                    tuning,
                    comparison: Some(c),
                    kinds: None,
                }
            }
            (None, None) => TuneBody {
                tuning: tune::tune(env, a)?,
                comparison: None,
                kinds: None,
            },
        };
        found.push((env.name.clone(), body));
    }
    Ok(Tunings(found))
}

/// 3 when no settings meet the goal.
fn tuning_code(t: &TuneBody) -> crate::error::Exit {
    if t.tuning.choices.is_empty() {
        Exit::Differences
    } else {
        crate::error::Exit::Ok
    }
}

impl Printed for Tunings {
    fn exit_code(&self) -> crate::error::Exit {
        envelope::combined_exit_code(self.0.iter().map(|(_, t)| tuning_code(t)))
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let environments = self
            .0
            .iter()
            .map(|(name, t)| EnvDoc::new(name, tuning_code(t), None, t))
            .collect();
        Document::new(self.exit_code(), environments)
    }

    fn text(&self, out: &Output) -> Result<()> {
        for (name, t) in &self.0 {
            let text = match (&t.kinds, &t.comparison) {
                (Some(k), _) => crate::sim::across::text(name, k),
                (None, Some(c)) => crate::sim::compare::text(name, &t.tuning, c),
                (None, None) => tune::text(name, &t.tuning),
            };
            out.line(text.trim_end());
        }
        Ok(())
    }
}
