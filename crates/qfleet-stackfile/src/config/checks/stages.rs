//! The rules for a pipeline (`stages`): how many stages, their names, the prefixes that feed
//! them, and no top-level queue, workers or scaling beside them. Each stage's own settings are
//! checked by the one-stage rules (see `check` in this folder's `mod.rs`).

use super::{Checker, valid_name};
use crate::config::Environment;
use crate::config::stages::{MAX_STAGE_NAME_LEN, MAX_STAGES, input_prefix};
use std::collections::BTreeSet;

pub(super) fn check(c: &mut Checker, env: &Environment) {
    let stages = &env.spec.stages;
    if stages.is_empty() {
        c.fail(
            "stages",
            "a pipeline needs at least one stage; remove `stages` for one stage made of the top-level queue, workers and scaling",
        );
        return;
    }
    if stages.len() > MAX_STAGES {
        c.fail(
            "stages",
            format!(
                "{} stages; a pipeline has at most {MAX_STAGES} (the data stack holds every stage's queues and must stay within CloudFormation's template size)",
                stages.len()
            ),
        );
    }
    for key in ["queue", "sources", "workers", "scaling"] {
        if c.src.sets(key) {
            let e = c.src.key_error(
                key,
                format!("with `stages`, each stage has its own `{key}`; move it into the stage it belongs to"),
            );
            c.errors.push(e);
        }
    }

    let mut names = BTreeSet::new();
    for (i, stage) in stages.iter().enumerate() {
        let field = format!("stages.{i}.name");
        let name = &stage.name;
        if !valid_name(name) || name.len() > MAX_STAGE_NAME_LEN {
            c.fail(
                &field,
                format!("stage name `{name}` is not allowed: lowercase letters, digits and single hyphens, starting with a letter, at most {MAX_STAGE_NAME_LEN} characters"),
            );
        } else if !names.insert(name.as_str()) {
            c.fail(&field, format!("two stages are named `{name}`"));
        }
        if i == 0 {
            for key in ["fed_by", "prefix"] {
                let key = format!("stages.0.{key}");
                if c.src.sets(&key) {
                    let e = c.src.key_error(
                        &key,
                        "the first stage is fed by the uploads (bucket.upload_prefix); fed_by and prefix are for later stages",
                    );
                    c.errors.push(e);
                }
            }
        }
    }

    // Every prefix an event or a stage reads must be apart from every other: S3 refuses two
    // notifications for the same event whose prefixes overlap, and a stage whose output fell
    // under its own input would feed itself for ever.
    let b = &env.spec.bucket;
    let mut prefixes: Vec<(String, String)> = vec![
        ("bucket.upload_prefix".into(), b.upload_prefix.clone()),
        ("bucket.processed_prefix".into(), b.processed_prefix.clone()),
        (
            "the stored job bodies' prefix".into(),
            crate::config::STORED_BODIES.into(),
        ),
    ];
    for (i, stage) in stages.iter().enumerate().skip(1) {
        let field = format!("stages.{i}.prefix");
        let prefix = input_prefix(stage);
        if !super::data::valid_prefix(&prefix) {
            c.fail(
                &field,
                format!("`{prefix}` is not a key prefix ending in /"),
            );
            continue;
        }
        if let Some((other, p)) = prefixes
            .iter()
            .find(|(_, p)| p.starts_with(&prefix) || prefix.starts_with(p.as_str()))
        {
            c.fail(
                &field,
                format!("`{prefix}` overlaps {other} (`{p}`): each stage's objects need a prefix of their own"),
            );
        }
        prefixes.push((field, prefix));
    }
}
