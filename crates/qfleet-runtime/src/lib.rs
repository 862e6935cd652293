//! The Python code qfleet ships to its workers, its Lambda handler and its metric publisher,
//! held once: the modules in `python/`, each compiled into the binary as a constant here. Their
//! pytest tests sit beside them, against moto in-process
//! (`.venv/bin/python -m pytest -q crates/qfleet-runtime/python`), and `python/qfleet_worker.md`
//! and `python/qfleet_handler.md` document the worker and the handler.
//!
//! What the reference worker and the Lambda handler share is written once, in
//! `qfleet_shared.py` ([`SHARED`]): beside the worker it is imported, and each of the two ships
//! as one file, the module's text in the place of its `from qfleet_shared import (...)`
//! statement ([`inline_shared`]).
//!
//! The crate has no dependencies and no other code than these texts and the job table's layout
//! ([`job_table`]) that the protocol writes: the render (`crates/qfleet-engine/src/render/`)
//! and the Lambda code reader (`crates/qfleet-stackfile/src/package/`) put these texts where
//! they ship, and AWS access (`crates/qfleet-aws`) reads the table by that layout.

// A panic is never an answer to what a user gives: production code neither unwraps nor
// expects (tests may).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

/// The reference worker (`python/qfleet_worker.py`), which an EC2 instance runs as a systemd
/// service when the stack file names no script and no image: the launch template's metadata
/// carries it gzipped, as one file ([`inline_shared`]), and the user data's bootstrap reads it.
pub const WORKER: &str = include_str!("../python/qfleet_worker.py");

/// The reference Lambda handler (`python/qfleet_handler.py`), the function's code when the stack
/// file names none: carried inline in the template (`ZipFile`), as one file ([`inline_shared`],
/// and the job table's module loaded from the data stack in its import's place).
pub const HANDLER: &str = include_str!("../python/qfleet_handler.py");

/// What the worker and the handler share (`python/qfleet_shared.py`): the settings both read,
/// what a message is, the default jobs and the next stage's message. Shipped inside each of
/// the two ([`inline_shared`]).
pub const SHARED: &str = include_str!("../python/qfleet_shared.py");

/// The job table's protocol (`python/qfleet_jobs.py`; `jobs:`, docs/jobs.md), kept gzipped in
/// the job table's metadata in the data stack, where the worker's bootstrap, the handler and the
/// job sweeper read it.
pub const JOBS: &str = include_str!("../python/qfleet_jobs.py");

/// The program that runs the worker with its secrets (`python/qfleet_secrets.py`), installed
/// by the user data as `/usr/local/bin/qfleet-secrets`.
pub const SECRETS: &str = include_str!("../python/qfleet_secrets.py");

/// The job sweeper (`python/qfleet_sweeper.py`; `jobs:`, docs/jobs.md, "A worker that stops"),
/// kept gzipped in the job table's metadata beside [`JOBS`].
pub const SWEEPER: &str = include_str!("../python/qfleet_sweeper.py");

/// The job sweeper function's inline code (`python/qfleet_sweeper_loader.py`): it reads
/// [`JOBS`] and [`SWEEPER`] from the job table's metadata and runs the sweeper.
pub const SWEEPER_LOADER: &str = include_str!("../python/qfleet_sweeper_loader.py");

/// The high-resolution backlog metric's publisher (`python/qfleet_backlog_metric.py`;
/// `scaling.metric: high_resolution`), the fleet template's inline function code.
pub const BACKLOG_PUBLISHER: &str = include_str!("../python/qfleet_backlog_metric.py");

/// The budget hold (`python/qfleet_budget_hold.py`; `budget.hold`), the data template's
/// inline function code.
pub const BUDGET_HOLD: &str = include_str!("../python/qfleet_budget_hold.py");

/// The first line of the statement [`inline_shared`] replaces.
const SHARED_IMPORT: &str = "from qfleet_shared import ";

/// `module` ([`WORKER`] or [`HANDLER`]) as qfleet ships it, one file: its
/// `from qfleet_shared import (...)` statement (its line, and the lines up to the one that
/// closes its parenthesis) replaced by [`SHARED`]'s text. The names the statement imported are
/// then defined in the file itself, with the rest of the module's, which neither file binds
/// again (a test below keeps it so). Each line ends with `\n`.
pub fn inline_shared(module: &str) -> String {
    let mut out = Vec::new();
    let mut within = false;
    for line in module.lines() {
        if within {
            within = !line.contains(')');
        } else if line.starts_with(SHARED_IMPORT) {
            out.push(SHARED.trim_end());
            within = line.contains('(') && !line.contains(')');
        } else {
            out.push(line);
        }
    }
    out.join("\n") + "\n"
}

/// The job table's layout as the shipped protocol ([`JOBS`]) writes it: the data template
/// declares it, the workers' policy names exactly its attributes, and qfleet's reads
/// (crates/qfleet-aws) take it apart.
pub mod job_table {
    /// The index that lists jobs by their last change.
    pub const INDEX: &str = "recent";
    /// Every attribute a worker writes in a lease (the lease table; docs/jobs.md, "A worker that
    /// stops"): the workers' policy allows no other.
    pub const LEASE_ATTRIBUTES: [&str; 6] = [
        "key",
        "upload",
        "stage_index",
        "lease_until",
        "started",
        "expires_at",
    ];
    /// Every attribute a worker writes in a limit's slot, an item of the lease table whose key
    /// starts [`LIMIT_KEY`] (`limits`; docs/workers.md, "Limits shared across stages").
    pub const SLOT_ATTRIBUTES: [&str; 5] = ["key", "upload", "holder", "held_until", "expires_at"];
    /// The key of limit NAME's slots is `LIMIT_KEY` + NAME (qfleet_jobs.py's LIMIT_KEY).
    pub const LIMIT_KEY: &str = "qfleet-limit/";
    /// The time-to-live attribute.
    pub const TTL_ATTRIBUTE: &str = "expires_at";
    /// The message attribute a job sent as a message carries its id in (docs/jobs.md):
    /// `qfleet submit` sets it, the workers read it (qfleet_jobs.py's `JOB_ID_ATTRIBUTE`), and
    /// `qfleet dlq` shows it.
    pub const JOB_ID_ATTRIBUTE: &str = "job_id";
    /// Every attribute a worker writes (the protocol's; the workers' policy allows no other).
    pub const ATTRIBUTES: [&str; 24] = [
        "key",
        "upload",
        "bucket",
        "state",
        "stage",
        "stage_index",
        "attempts",
        "worker",
        "uploaded_at",
        "queued_at",
        "received_at",
        "finished_at",
        "output",
        "error",
        "history",
        "duplicates",
        "responded",
        "responded_seq",
        "seq",
        "updated_at",
        "recent",
        "expires_at",
        "tenant",
        "lane",
    ];
    /// The attributes the index carries besides the keys (what a list of jobs shows).
    pub const INDEX_PROJECTION: [&str; 12] = [
        "state",
        "stage",
        "stage_index",
        "attempts",
        "worker",
        "bucket",
        "uploaded_at",
        "finished_at",
        "output",
        "error",
        "duplicates",
        "expires_at",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_job_id_attribute_is_the_one_the_workers_read() {
        let line = top_level_lines(JOBS)
            .into_iter()
            .find(|l| l.starts_with("MESSAGE_UPLOAD, JOB_ID_ATTRIBUTE, JOB_ID_MAX = "))
            .expect("qfleet_jobs.py binds JOB_ID_ATTRIBUTE");
        assert!(
            line.contains(&format!(", \"{}\",", job_table::JOB_ID_ATTRIBUTE)),
            "{line}"
        );
        // The shared code reads it from a message's attributes by name, and leaves it out of
        // the job's own.
        for read in ["attrs.get(\"{}\")", "k != \"{}\""] {
            let read = read.replace("{}", job_table::JOB_ID_ATTRIBUTE);
            assert!(SHARED.contains(&read), "qfleet_shared.py: {read}");
        }
    }

    /// The lines of `text` at the module's top level that are code: not indented, and outside
    /// a triple-quoted string (a docstring's lines are not definitions).
    fn top_level_lines(text: &str) -> Vec<&str> {
        let mut in_string = false;
        let mut out = Vec::new();
        for line in text.lines() {
            let quotes = line.matches("\"\"\"").count();
            if !in_string && !line.starts_with([' ', '\t', '#']) && !line.is_empty() {
                out.push(line);
            }
            if quotes % 2 == 1 {
                in_string = !in_string;
            }
        }
        out
    }

    /// The functions and classes `text` defines at its top level (`def NAME`, `class NAME`).
    fn defined(text: &str) -> BTreeSet<String> {
        top_level_lines(text)
            .into_iter()
            .filter_map(|l| {
                let rest = l
                    .strip_prefix("def ")
                    .or_else(|| l.strip_prefix("async def "))
                    .or_else(|| l.strip_prefix("class "))?;
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                (!name.is_empty()).then_some(name)
            })
            .collect()
    }

    /// The names `text` binds at its top level: its functions and classes, and the targets of
    /// its plain assignments (`NAME = …`, `A, B = …`).
    fn bound(text: &str) -> BTreeSet<String> {
        let mut names = defined(text);
        for line in top_level_lines(text) {
            let Some((targets, _)) = line.split_once(" = ") else {
                continue;
            };
            let words: Vec<&str> = targets.split(',').map(str::trim).collect();
            let identifiers = words.iter().all(|w| {
                !w.is_empty()
                    && !w.starts_with(|c: char| c.is_ascii_digit())
                    && w.chars().all(|c| c.is_alphanumeric() || c == '_')
            });
            if identifiers {
                names.extend(words.iter().map(|w| w.to_string()));
            }
        }
        names
    }

    /// The names a file's `from qfleet_shared import (...)` statement imports.
    fn imported(module: &str) -> BTreeSet<String> {
        let start = module
            .find(SHARED_IMPORT)
            .expect("the statement that imports the shared module");
        let statement = &module[start + SHARED_IMPORT.len()..];
        let end = match statement.trim_start().starts_with('(') {
            true => statement
                .find(')')
                .expect("the statement's closing parenthesis"),
            false => statement.find('\n').unwrap_or(statement.len()),
        };
        statement[..end]
            .split([',', '(', '\n'])
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect()
    }

    #[test]
    fn no_function_or_class_is_defined_in_both_the_worker_and_the_handler() {
        let (worker, handler) = (defined(WORKER), defined(HANDLER));
        // The scan finds what each file is known to define.
        assert!(
            worker.contains("Worker") && worker.contains("Config"),
            "{worker:?}"
        );
        assert!(
            handler.contains("handler") && handler.contains("work"),
            "{handler:?}"
        );
        let both: Vec<_> = worker.intersection(&handler).collect();
        assert!(
            both.is_empty(),
            "defined in both qfleet_worker.py and qfleet_handler.py: {both:?}; write it once, \
             in qfleet_shared.py"
        );
    }

    /// Shipped as one file, the shared module's names and the worker's (or the handler's) are
    /// one namespace: a name bound again there would replace what the shared code calls.
    #[test]
    fn neither_file_binds_again_a_name_of_the_shared_module() {
        let shared = bound(SHARED);
        assert!(
            shared.contains("process") && shared.contains("KEY_LIMIT"),
            "{shared:?}"
        );
        for (file, text) in [("qfleet_worker.py", WORKER), ("qfleet_handler.py", HANDLER)] {
            let again: Vec<_> = bound(text).intersection(&shared).cloned().collect();
            assert!(
                again.is_empty(),
                "{file} binds again what qfleet_shared.py defines: {again:?}"
            );
            let missing: Vec<_> = imported(text).difference(&shared).cloned().collect();
            assert!(
                missing.is_empty(),
                "{file} imports from qfleet_shared.py what it does not define: {missing:?}"
            );
        }
    }

    #[test]
    fn each_file_ships_with_the_shared_module_in_its_import_s_place() {
        for text in [WORKER, HANDLER] {
            let one = inline_shared(text);
            assert!(one.contains(SHARED.trim_end()));
            assert!(!one.lines().any(|l| l.starts_with(SHARED_IMPORT)));
            // Everything else is as it was, in its order.
            let before: Vec<&str> = text.lines().collect();
            let start = before
                .iter()
                .position(|l| l.starts_with(SHARED_IMPORT))
                .unwrap();
            let end = start
                + before[start..]
                    .iter()
                    .position(|l| l.contains(')'))
                    .unwrap();
            let expected = [
                before[..start].join("\n"),
                SHARED.trim_end().to_string(),
                before[end + 1..].join("\n"),
            ]
            .join("\n")
                + "\n";
            assert_eq!(one, expected);
        }
        // A statement on one line, and a file without one.
        assert_eq!(
            inline_shared("import os\nfrom qfleet_shared import process\nx = 1\n"),
            format!("import os\n{}\nx = 1\n", SHARED.trim_end())
        );
        assert_eq!(inline_shared("import os\n"), "import os\n");
    }

    #[test]
    fn the_scan_reads_definitions_and_assignments_at_the_top_level_only() {
        let text = "\"\"\"Doc.\ndef not_code(): the docstring's\n\"\"\"\nimport os\nA, B = 1, 2\n_c = None  # x\n\n\ndef f(x=1):\n    y = 2\n\n\nclass K(Base):\n    def g(self):\n        pass\n\n\nif __name__ == \"__main__\":\n    z = 3\n";
        assert_eq!(
            defined(text),
            BTreeSet::from(["f".to_string(), "K".to_string()])
        );
        assert_eq!(
            bound(text),
            ["A", "B", "_c", "f", "K"]
                .into_iter()
                .map(String::from)
                .collect()
        );
        assert_eq!(
            imported("from qfleet_shared import (\n    A, b_c,\n    d,\n)\n"),
            ["A", "b_c", "d"].into_iter().map(String::from).collect()
        );
    }
}
