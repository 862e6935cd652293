use super::*;
use std::path::PathBuf;

fn file(rel: &str) -> LoadedFile {
    let p = crate::config::workspace_root().join(rel);
    crate::config::load(&p).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// examples/jobs.yaml with its shared limit set to `slots`.
fn jobs_with_limit(slots: u32) -> Environment {
    let p = crate::config::workspace_root().join("examples/jobs.yaml");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("catalog-db: 14\n", &format!("catalog-db: {slots}\n"));
    assert!(text.contains(&format!("catalog-db: {slots}\n")));
    crate::config::parse(PathBuf::from("stacks/jobs.yaml"), text)
        .unwrap()
        .into_only()
}

#[test]
fn a_limit_its_stages_workers_can_outnumber_is_told_once_with_the_count() {
    // The example's stages run at most 10 + 4 workers, and the limit has 14 slots: no advice.
    let fits = warnings(&jobs_with_limit(14));
    assert!(!fits.iter().any(|w| w.starts_with("limits.")), "{fits:?}");
    // With 13 slots, 14 workers may hold it: one worker waits, busy.
    let over = warnings(&jobs_with_limit(13));
    let said: Vec<&String> = over.iter().filter(|w| w.starts_with("limits.")).collect();
    assert_eq!(said.len(), 1, "{over:?}");
    assert!(
        said[0].starts_with(
            "limits.catalog-db: the workers that name it may run 14 at once, and 13 jobs hold it"
        ),
        "{}",
        said[0]
    );
}

#[test]
fn a_stack_sets_targets_stacks_are_deployed_with_their_stack_sets_templates() {
    let envs = file("examples/stack-sets.yaml").expand();
    assert!(envs.len() > 1 && envs.iter().all(|e| e.through_stack_sets()));
    let sets: BTreeMap<String, usize> = render::stack_sets_of(&file("examples/stack-sets.yaml"))
        .unwrap()
        .into_iter()
        .map(|s| (s.stack_name, s.template.len()))
        .collect();
    let sizes = deployed_sizes(&envs).unwrap();
    assert_eq!(sizes.len(), envs.len());
    for (env, mine) in envs.iter().zip(&sizes) {
        assert_eq!(
            mine.len(),
            env.stack_names().len(),
            "{}: {mine:?}",
            env.name
        );
        for (stack, bytes) in mine {
            let set = env.stack_set_of(stack).unwrap();
            assert_eq!(Some(bytes), sets.get(&set), "{stack}");
        }
    }
    // A file deployed directly: each stack is deployed with its own template.
    let direct = file("examples/pipeline.yaml").expand();
    assert!(stack_set_files(&direct).unwrap().is_empty());
    assert!(
        deployed_sizes(&direct)
            .unwrap()
            .iter()
            .all(BTreeMap::is_empty)
    );
}

#[test]
fn a_shipped_example_renders_templates_without_problems() {
    for rel in [
        "examples/jobs.yaml",
        "examples/pipeline.yaml",
        "stacks/lab.yaml",
    ] {
        let env = file(rel).into_only();
        let stacks = check(&env).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(!stacks.is_empty(), "{rel}");
    }
}
