//! Words for people: plurals, and a note told once for the environments it concerns.

/// `one` for 1, else `many`.
fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `1 message`, `2 messages`, `1,204 objects`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{} {}", indicatif::HumanCount(n), plural(n, one, many))
}

/// `a`, `a and b`, `a, b and c`.
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `ENV: message`, unless the message already begins with the environment's name (most errors
/// name it themselves: `class-05: DELETE_FAILED …`), so that no line says `class-05: class-05:`.
pub fn of_env(env: &str, message: &str) -> String {
    match without_env(env, message) {
        Some(_) => message.to_string(),
        None => format!("{env}: {message}"),
    }
}

/// The message without its leading `ENV: `, when it begins with it.
pub fn without_env<'m>(env: &str, message: &'m str) -> Option<&'m str> {
    message.strip_prefix(env)?.strip_prefix(": ")
}

/// Identical notes of several environments, each once: `(note, the environments it concerns)`,
/// in the order they first appear.
pub fn group_notes<'a>(
    per_env: impl IntoIterator<Item = (&'a str, Vec<String>)>,
) -> Vec<(String, Vec<&'a str>)> {
    let mut grouped: Vec<(String, Vec<&'a str>)> = Vec::new();
    for (env, notes) in per_env {
        for n in notes {
            match grouped.iter_mut().find(|(g, _)| *g == n) {
                Some((_, envs)) => envs.push(env),
                None => grouped.push((n, vec![env])),
            }
        }
    }
    grouped
}

/// As [`group_notes`] (each row's label, its environment's name, its notes), where notes
/// that differ only by naming their own environment (a resource `qfleet-class-07-workers` of
/// environment `class-07`) are one note: told with `<env>` in its place when it concerns
/// several rows, as it was when it concerns one.
pub fn group_notes_naming<'a>(
    per_row: impl IntoIterator<Item = (&'a str, &'a str, Vec<String>)>,
) -> Vec<(String, Vec<&'a str>)> {
    let mut grouped: Vec<(String, String, Vec<&'a str>)> = Vec::new();
    for (label, env, notes) in per_row {
        for n in notes {
            let general = if env.is_empty() {
                n.clone()
            } else {
                n.replace(env, "<env>")
            };
            match grouped.iter_mut().find(|(g, _, _)| *g == general) {
                Some((_, _, labels)) => labels.push(label),
                None => grouped.push((general, n, vec![label])),
            }
        }
    }
    grouped
        .into_iter()
        .map(|(general, first, envs)| (if envs.len() > 1 { general } else { first }, envs))
        .collect()
}

/// A note once for the environments it concerns: `… (for all 12 environments)`, `… (for
/// lab-01, lab-02)`, or just the note when only one environment was named.
pub fn noted_for(note: &str, envs: &[&str], total: usize) -> String {
    if total <= 1 {
        note.to_string()
    } else if envs.len() == total {
        format!("{note} (for all {total} environments)")
    } else {
        format!("{note} (for {})", envs.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_note_of_every_copy_is_told_once() {
        let g = group_notes([
            ("a", vec!["x".to_string(), "y".to_string()]),
            ("b", vec!["x".to_string()]),
        ]);
        assert_eq!(
            g,
            [
                ("x".to_string(), vec!["a", "b"]),
                ("y".to_string(), vec!["a"])
            ]
        );
        assert_eq!(noted_for("x", &["a", "b"], 2), "x (for all 2 environments)");
        assert_eq!(noted_for("y", &["a"], 2), "y (for a)");
        assert_eq!(noted_for("y", &["a"], 1), "y");
        assert_eq!(count(1u64, "message", "messages"), "1 message");
        // Notes naming each its own environment's resources are one note.
        let named = |e: &str| {
            vec![format!(
                "not available: fleet: describing group qfleet-{e}-workers: denied"
            )]
        };
        let g = group_notes_naming([
            ("class-01", "class-01", named("class-01")),
            ("class-02", "class-02", named("class-02")),
            (
                "lab",
                "lab",
                vec![
                    "not available: fleet: describing group qfleet-lab-workers: throttled"
                        .to_string(),
                ],
            ),
        ]);
        assert_eq!(
            g,
            [
                (
                    "not available: fleet: describing group qfleet-<env>-workers: denied"
                        .to_string(),
                    vec!["class-01", "class-02"]
                ),
                (
                    "not available: fleet: describing group qfleet-lab-workers: throttled"
                        .to_string(),
                    vec!["lab"]
                ),
            ]
        );
        assert_eq!(count(2u64, "message", "messages"), "2 messages");
        assert_eq!(count(1204u64, "object", "objects"), "1,204 objects");
    }
}
