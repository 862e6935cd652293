//! What a CI log and a terminal show, against moto's server: progress lines in a log begin with
//! the UTC time of day, on a terminal they do not, and JSON on stdout never does; Ctrl-C at a
//! question leaves no spinner line on the screen; `outputs --shell` with nothing to print is an
//! error, not silence.

use crate::common::*;
use std::process::Command;

/// `12:04:05Z `: the UTC time of day a log line begins with, as seconds since midnight.
fn stamp(line: &str) -> Option<u64> {
    let b = line.as_bytes();
    if b.len() < 10 || b[2] != b':' || b[5] != b':' || &b[8..10] != b"Z " {
        return None;
    }
    let num = |r: std::ops::Range<usize>| line.get(r)?.parse::<u64>().ok();
    Some(num(0..2)? * 3600 + num(3..5)? * 60 + num(6..8)?)
}

fn seconds_of_day_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 86_400
}

#[test]
fn progress_lines_in_a_ci_log_carry_the_utc_time_and_json_on_stdout_never_does() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("ci-ts");
    let file = lab_stack_file(dir.path(), &e, "");
    let before = seconds_of_day_now();
    // No terminal: stderr is a pipe, as in a CI job.
    let o = run(qfleet_on_moto().arg("plan").arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let progress: Vec<&str> = err
        .lines()
        .filter(|l| l.contains(&format!("qfleet-{e}-data: create")))
        .collect();
    assert!(!progress.is_empty(), "{err}");
    for line in progress {
        let at = stamp(line).unwrap_or_else(|| panic!("no time of day: {line:?}\n{err}"));
        // The same clock, give or take the run (and midnight).
        let off = (at + 86_400 - before) % 86_400;
        assert!(off < 300, "{line:?} is not now ({before} s into the day)");
    }

    let o = run(qfleet_on_moto().arg("plan").arg(&file).args(["-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.lines().all(|l| stamp(l).is_none()),
        "a timestamp on stdout: {out}"
    );
    let parsed = serde_json::from_str::<serde_json::Value>(&out).is_ok()
        || out
            .lines()
            .filter(|l| !l.trim().is_empty())
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok());
    assert!(parsed, "stdout is not JSON: {out}");
}

/// Runs `cmd` on a 120×40 terminal, types Ctrl-C once `wait_for` appears (if it does), and
/// returns the exit code and every byte the command printed.
fn on_terminal(cmd: &Command, wait_for: &str) -> (i32, String) {
    const DRIVER: &str = r#"
import fcntl, json, os, pty, select, signal, struct, sys, termios, time
wait_for = sys.argv[1].encode()
cmd = sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    os.execvp(cmd[0], cmd)
out, sent, done, status = b"", False, 0, 0
deadline = time.time() + 120
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            break
        out += chunk
    if not sent and wait_for in out:
        os.write(fd, b"\x03")
        sent = True
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
if not done:
    if time.time() >= deadline:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
print(json.dumps({"exit_code": code if code >= 0 else 128 - code, "output": out.decode(errors="replace")}))
"#;
    let mut py = Command::new(root().join(".venv/bin/python"));
    py.args(["-c", DRIVER, wait_for, "--"])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env("TERM", "xterm");
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => py.env(k, v),
            None => py.env_remove(k),
        };
    }
    // A person at a terminal, not a CI job (after the command's own variables).
    py.env_remove("CI");
    let o = py.output().expect("python runs");
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    (
        r["exit_code"].as_i64().unwrap_or(-1) as i32,
        r["output"].as_str().unwrap_or_default().to_string(),
    )
}

/// What a terminal of `width` columns shows after `bytes`: the cursor moves and erasures that
/// indicatif and qfleet use applied, colours ignored, lines wrapping as xterm wraps them.
fn screen(bytes: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col, mut wrap) = (0usize, 0usize, false);
    let mut chars = bytes.chars().peekable();
    while let Some(c) = chars.next() {
        while lines.len() <= row {
            lines.push(Vec::new());
        }
        match c {
            '\r' => (col, wrap) = (0, false),
            '\n' => (row, wrap) = (row + 1, false),
            '\x08' => (col, wrap) = (col.saturating_sub(1), false),
            '\x07' => {}
            '\x1b' => {
                if chars.peek() != Some(&'[') {
                    chars.next();
                    continue;
                }
                chars.next();
                let mut params = String::new();
                let mut fin = ' ';
                for p in chars.by_ref() {
                    if p.is_ascii_alphabetic() || p == '~' {
                        fin = p;
                        break;
                    }
                    params.push(p);
                }
                let n = params.trim_start_matches('?').parse::<usize>().unwrap_or(0);
                match fin {
                    'A' => row = row.saturating_sub(n.max(1)),
                    'B' => row += n.max(1),
                    'C' => col = (col + n.max(1)).min(width - 1),
                    'D' => col = col.saturating_sub(n.max(1)),
                    'G' => col = n.max(1) - 1,
                    'K' if n == 2 => lines[row].clear(),
                    'K' if n == 1 => lines[row].iter_mut().take(col + 1).for_each(|x| *x = ' '),
                    'K' => lines[row].truncate(col),
                    'J' if n == 0 => {
                        lines[row].truncate(col);
                        lines.truncate(row + 1);
                    }
                    'J' => lines = vec![Vec::new(); row + 1],
                    _ => {}
                }
                if matches!(fin, 'A' | 'B' | 'C' | 'D' | 'G') {
                    wrap = false;
                }
            }
            c if c.is_control() => {}
            c => {
                if wrap {
                    (row, col, wrap) = (row + 1, 0, false);
                    while lines.len() <= row {
                        lines.push(Vec::new());
                    }
                }
                let line = &mut lines[row];
                while line.len() <= col {
                    line.push(' ');
                }
                line[col] = c;
                if col + 1 == width {
                    wrap = true;
                } else {
                    col += 1;
                }
            }
        }
    }
    lines
        .into_iter()
        .map(|l| l.into_iter().collect::<String>().trim_end().to_string())
        .collect()
}

fn is_spinner_char(c: char) -> bool {
    ('\u{2800}'..='\u{28ff}').contains(&c)
}

#[test]
fn the_screen_double_applies_what_indicatif_sends() {
    let s = screen("a\r\nb⠁ spin (0s)\x1b[1A\r\x1b[2K\x1b[1B\r\x1b[2Kc\r\n", 80);
    assert_eq!(s, vec!["", "c"]);
    assert_eq!(screen("abcd", 2), vec!["ab", "cd"]);
}

#[test]
fn on_a_terminal_ctrl_c_while_spinners_turn_leaves_none_behind() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("tty-sp");
    let file = lab_stack_file(dir.path(), &e, "");
    let mut cmd = qfleet_on_moto();
    cmd.arg("deploy").arg(&file).arg("--yes");
    // The spinner's message: Ctrl-C while it turns.
    let (code, raw) = on_terminal(&cmd, "computing changes");
    let shown = screen(&raw, 120);
    let text = shown.join("\n");
    assert_eq!(code, 130, "{text}");
    assert!(raw.chars().any(is_spinner_char), "{raw:?}");
    // Taken up by a wait ("interrupted: …"), or, between two waits, the run ends at once
    // (`error::signal::exit_now`: "qfleet: stopped by SIGINT"): either way a line says so.
    assert!(
        text.contains("interrupted") || text.contains("stopped by SIGINT"),
        "{text}"
    );
    for line in &shown {
        assert!(
            !line.chars().any(is_spinner_char),
            "a spinner line was left behind: {line:?}\n{text}\n{raw:?}"
        );
    }
}

#[test]
fn on_a_terminal_ctrl_c_at_a_question_leaves_a_tidy_screen_without_timestamps() {
    // Two environments: one's question can be up while the other's spinners turn.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (unique("tty-qa"), unique("tty-qb"));
    let files = [
        lab_stack_file(dir.path(), &a, ""),
        lab_stack_file(dir.path(), &b, ""),
    ];
    let mut cmd = qfleet_on_moto();
    cmd.arg("deploy").args(&files);
    let (code, raw) = on_terminal(&cmd, "[y/N");
    let shown = screen(&raw, 120);
    let text = shown.join("\n");
    assert_eq!(code, 130, "{text}");
    for line in &shown {
        assert!(
            !line.chars().any(is_spinner_char),
            "a spinner line was left behind: {line:?}\n{text}"
        );
        assert!(stamp(line).is_none(), "a timestamp on a terminal: {line:?}");
    }
    let question = shown
        .iter()
        .find(|l| l.contains("[y/N"))
        .unwrap_or_else(|| panic!("no question: {text}"));
    assert!(
        !question.contains("error"),
        "the error starts a line of its own: {text}"
    );
    assert!(
        shown.iter().any(|l| l.starts_with("error: interrupted")),
        "{text}"
    );
    assert!(
        shown
            .iter()
            .any(|l| l.starts_with(&format!("qfleet-{a}-data"))
                || l.starts_with(&format!("qfleet-{b}-data"))),
        "the preview's lines, without a timestamp: {text}"
    );
}

#[tokio::test]
async fn outputs_shell_with_no_outputs_is_an_error_not_silence() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("ci-out");
    let file = deploy_lab(dir.path(), &e, "");
    // moto fills in no outputs after a change set: the stacks exist and have none.
    let cfn = aws_sdk_cloudformation::Client::new(&moto_config().await);
    for stack in [format!("qfleet-{e}-data"), format!("qfleet-{e}-fleet")] {
        let d = cfn
            .describe_stacks()
            .stack_name(&stack)
            .send()
            .await
            .unwrap();
        assert!(
            d.stacks()[0].outputs().is_empty(),
            "moto now reports outputs for {stack}: this test needs stacks without any"
        );
    }
    let o = run(qfleet_on_moto().arg("outputs").arg(&file).arg("--shell"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "nothing for eval to run");
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{e}: the stacks have no outputs yet, so --shell has nothing to print"
        )),
        "{err}"
    );
    // Without --shell, an empty table is only a note.
    let o = run(qfleet_on_moto().arg("outputs").arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
