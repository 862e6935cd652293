//! The flag reference of docs/commands.md ("All flags") is generated from the CLI's own clap
//! definitions (`qfleet::cli::Cli`): every command and subcommand, every argument and flag with
//! its help text, value, default and accepted words, so that a flag added without its words, or
//! a help text changed, shows as a difference here. `QFLEET_WRITE_DOCS=1 cargo test --test
//! integration cli_reference` rewrites the part between the markers. The README's and the
//! chapter's `qfleet …` examples are parsed with the same definitions. Offline, instant.

use crate::common::*;
use clap::CommandFactory;

const BEGIN: &str = "<!-- flags: begin (generated from src/cli.rs by tests/integration/cli_reference.rs; QFLEET_WRITE_DOCS=1 rewrites it) -->\n";
const END: &str = "<!-- flags: end -->";

/// One line of help text for a table cell: the long help (or the short), its lines joined, `|`
/// escaped so the table holds.
fn help(arg: &clap::Arg) -> String {
    let text = arg
        .get_long_help()
        .or_else(|| arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    cell(&text)
}

fn cell(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // Outside code spans, `<unique>` would be an HTML tag to the book.
    line.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 0 {
                part.replace('<', "&lt;").replace('>', "&gt;")
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("`")
        .replace('|', "\\|")
}

/// How an argument is written: `-y, --yes`, `--load <SPEC>`, `<ENVS>...`.
fn spelling(arg: &clap::Arg) -> String {
    let value = || {
        let names: Vec<String> = arg
            .get_value_names()
            .map(|n| n.iter().map(|s| s.to_string()).collect())
            .unwrap_or_else(|| vec![arg.get_id().as_str().to_uppercase()]);
        names
            .iter()
            .map(|n| format!("<{n}>"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let many = matches!(arg.get_num_args(), Some(r) if r.max_values() > 1);
    if arg.is_positional() {
        let v = value();
        let v = if many { format!("{v}...") } else { v };
        return if arg.is_required_set() {
            v
        } else {
            format!("[{v}]")
        };
    }
    let mut s = String::new();
    if let Some(short) = arg.get_short() {
        s.push_str(&format!("-{short}, "));
    }
    if let Some(long) = arg.get_long() {
        s.push_str(&format!("--{long}"));
    }
    if arg.get_action().takes_values() {
        s.push(' ');
        s.push_str(&value());
    }
    s
}

/// What the table says beside the help: the words a value may be, the default, the
/// environment variable read.
fn details(arg: &clap::Arg) -> String {
    let mut out = Vec::new();
    let words: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| format!("`{}`", v.get_name()))
        .collect();
    // A flag's true/false is not a choice worth listing.
    if !words.is_empty() && arg.get_action().takes_values() {
        out.push(format!("one of {}", words.join(", ")));
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && arg.get_action().takes_values() {
        out.push(format!("default `{}`", defaults.join(",")));
    }
    if let Some(env) = arg.get_env() {
        out.push(format!("env `{}`", env.to_string_lossy()));
    }
    if out.is_empty() {
        String::new()
    } else {
        format!(" ({})", out.join("; "))
    }
}

fn shown(arg: &clap::Arg) -> bool {
    !arg.is_hide_set() && !matches!(arg.get_id().as_str(), "help" | "version")
}

/// The reference of one command, then of each of its subcommands.
fn section(cmd: &clap::Command, path: &str, globals: &[String], out: &mut String) {
    let args: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(|a| shown(a) && !globals.contains(&a.get_id().to_string()))
        .collect();
    let subs: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .collect();
    out.push_str(&format!("### `{path}`\n\n"));
    if let Some(about) = cmd.get_long_about().or_else(|| cmd.get_about()) {
        out.push_str(&format!("{}\n\n", cell(&about.to_string())));
    }
    if !args.is_empty() {
        out.push_str("| argument or flag | what |\n|---|---|\n");
        rows(&args, out);
        out.push('\n');
    }
    if !subs.is_empty() {
        let names: Vec<String> = subs.iter().map(|s| format!("`{}`", s.get_name())).collect();
        out.push_str(&format!("Subcommands: {}.\n\n", names.join(", ")));
    }
    for s in subs {
        section(s, &format!("{path} {}", s.get_name()), globals, out);
    }
}

/// One table row per argument or flag: its spelling, help and details.
fn rows(args: &[&clap::Arg], out: &mut String) {
    for a in args {
        out.push_str(&format!(
            "| `{}` | {}{} |\n",
            spelling(a),
            help(a),
            details(a)
        ));
    }
}

/// The generated reference: the flags every command takes, then each command's own.
fn reference() -> String {
    let cli = qfleet::cli::Cli::command();
    let globals: Vec<&clap::Arg> = cli.get_arguments().filter(|a| shown(a)).collect();
    let mut out = String::from(
        "Every command takes these flags (before or after the command's name); `-h`/`--help` prints a command's help and `-V`/`--version` the version and commit.\n\n| flag | what |\n|---|---|\n",
    );
    rows(&globals, &mut out);
    out.push('\n');
    let ids: Vec<String> = globals.iter().map(|a| a.get_id().to_string()).collect();
    for sub in cli
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        section(sub, &format!("qfleet {}", sub.get_name()), &ids, &mut out);
    }
    out
}

/// docs/commands.md's "All flags" is what the CLI defines.
#[test]
fn the_commands_chapter_lists_every_flag_as_the_cli_defines_it() {
    let path = root().join("docs/commands.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let a = text.find(BEGIN).expect("the flags begin marker") + BEGIN.len();
    let b = text.find(END).expect("the flags end marker");
    let generated = reference();
    if std::env::var_os("QFLEET_WRITE_DOCS").is_some() {
        std::fs::write(&path, format!("{}{generated}{}", &text[..a], &text[b..])).unwrap();
        return;
    }
    assert!(
        text[a..b] == generated,
        "docs/commands.md's flag reference differs from the CLI's definitions: QFLEET_WRITE_DOCS=1 cargo test --test integration cli_reference"
    );
}

/// The generator sees what issue 36 found missing, with its help text.
#[test]
fn the_reference_has_deploys_flags_with_their_help() {
    let r = reference();
    let deploy = &r[r.find("### `qfleet deploy`").unwrap()..r.find("### `qfleet plan`").unwrap()];
    for flag in [
        "--allow-replacement",
        "--force",
        "--rediscover-network",
        "--adopt",
    ] {
        assert!(
            deploy.contains(&format!("`{flag}`")),
            "{flag} in:\n{deploy}"
        );
    }
    assert!(deploy.contains("removes or replaces a bucket, queue, key or job table"));
    assert!(r.contains("### `qfleet dlq purge`") && r.contains("### `qfleet import copilot`"));
    assert!(r.contains("`-o, --output <OUTPUT>`"), "{r}");
}

/// The words of a `qfleet …` example up to where the shell takes over (a pipe, a
/// redirection, the end of a command substitution), quotes removed.
fn example_words(span: &str) -> Option<Vec<String>> {
    let start = span.find("qfleet ")?;
    let line = &span[start..];
    let end = line
        .find(['|', '>', ';', ')', '"', '<'])
        .unwrap_or(line.len());
    let words: Vec<String> = line[..end]
        .split_whitespace()
        .map(|w| w.trim_matches('\'').to_string())
        .collect();
    // `qfleet --version`, `qfleet deploy` named in prose (a subcommand alone) parse too.
    Some(words)
}

/// Every `qfleet …` in backticks in the README and the commands chapter parses with the CLI's
/// definitions (a renamed or removed flag fails here), except the placeholders of a synopsis
/// (`ENV...`, `[--yes]`), which the chapter's table uses and the reference above spells out.
#[test]
fn every_qfleet_example_in_the_readme_and_the_commands_chapter_parses() {
    let mut problems = Vec::new();
    let mut count = 0;
    for file in ["README.md", "docs/commands.md"] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let spans: Vec<&str> = text.split('`').skip(1).step_by(2).collect();
        for span in spans {
            let Some(words) = example_words(span) else {
                continue;
            };
            // A synopsis: `[--yes]`, `ENV...`, `qfleet COMMAND --help`, `qfleet -- WORDS`.
            let placeholder = |w: &String| w.len() > 1 && w.chars().all(|c| c.is_ascii_uppercase());
            if words.len() < 2
                || words[1] == "--"
                || placeholder(&words[1])
                || words
                    .iter()
                    .any(|w| w.contains(['[', '{']) || w.ends_with("..."))
            {
                continue;
            }
            count += 1;
            // An example may leave out the ENV a command requires (`qfleet status class-14`
            // has it; `qfleet deploy` in prose does not): only flags and values are checked.
            if let Err(e) = qfleet::cli::Cli::command().try_get_matches_from(&words)
                && !matches!(
                    e.kind(),
                    clap::error::ErrorKind::MissingRequiredArgument
                        | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                        | clap::error::ErrorKind::DisplayHelp
                        | clap::error::ErrorKind::DisplayVersion
                )
            {
                problems.push(format!("{file}: `{span}`: {}", e.kind()));
            }
        }
    }
    assert!(
        count >= 20,
        "only {count} examples found: is the reader broken?"
    );
    assert!(
        problems.is_empty(),
        "examples the CLI rejects:\n{}",
        problems.join("\n")
    );
}

/// Every flag of a command, its subcommands' and the global ones, by long name.
fn longs(cmd: &clap::Command, out: &mut Vec<String>) {
    out.extend(
        cmd.get_arguments()
            .filter_map(|a| a.get_long())
            .map(String::from),
    );
    for sub in cmd.get_subcommands() {
        longs(sub, out);
    }
}

/// The hand-written table of "The commands" names only flags its command has: the synopsis
/// in each row's first cell (`deploy ENV... [--yes] …`) is checked against the definitions.
#[test]
fn the_commands_table_names_only_flags_its_command_has() {
    let cli = qfleet::cli::Cli::command();
    let text = std::fs::read_to_string(root().join("docs/commands.md")).unwrap();
    let mut problems = Vec::new();
    let mut rows = 0;
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let synopsis = line[3..].split('`').next().unwrap_or("");
        let name = synopsis.split_whitespace().next().unwrap_or("");
        let Some(cmd) = cli.find_subcommand(name) else {
            continue;
        };
        rows += 1;
        let mut known = Vec::new();
        longs(cmd, &mut known);
        longs(&cli, &mut known);
        for word in synopsis.split(|c: char| c.is_whitespace() || "[]|\\".contains(c)) {
            let Some(flag) = word.strip_prefix("--") else {
                continue;
            };
            if !known.iter().any(|k| k == flag) {
                problems.push(format!("{name}: --{flag}"));
            }
        }
    }
    assert!(rows >= 15, "only {rows} rows of the commands table read");
    assert!(
        problems.is_empty(),
        "the commands table names flags its command does not have: {}",
        problems.join(", ")
    );
}
