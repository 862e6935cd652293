//! Files the user data carries, compressed: EC2 takes at most 16 KB of user data
//! ([`super::USER_DATA_LIMIT`]), and the reference worker alone is most of that in clear. A gzip
//! stream in base64 is about 40 % of the source, and its alphabet has no `$`, so
//! CloudFormation's Fn::Sub leaves it alone. The instance decodes it with coreutils' `base64 -d`
//! and `gunzip`, both in every Amazon Linux 2023 AMI.

use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;

/// Characters per line of the encoded text, as `base64` writes them (`base64 -d` joins them).
const LINE: usize = 76;

/// `text` gzipped (best compression; the gzip header names no file and no time, so the same text
/// always gives the same bytes and an unchanged worker never changes the launch template) and
/// base64-encoded in lines of 76 characters.
pub(super) fn gzip_base64(text: &str) -> String {
    use base64::Engine as _;
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(text.as_bytes());
    let bytes = gz.finish().unwrap_or_default();
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / LINE + 1);
    for (i, chunk) in encoded.as_bytes().chunks(LINE).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        // Base64 is ASCII.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    out
}

/// `text` gzipped and base64-encoded on one line, for a template's metadata, which Python
/// reads (`base64.b64decode`): the line breaks [`gzip_base64`] makes for `base64 -d` cost
/// two bytes each in a JSON string ("\n"), about 2.6 % of a module.
pub(super) fn gzip_base64_line(text: &str) -> String {
    gzip_base64(text).replace('\n', "")
}

/// A Python module without its comment lines (a line whose first non-blank character is `#`):
/// for the modules a template carries, where every byte counts (the data template's metadata).
/// A comment is not code; a test (crates/qfleet-runtime/python/test_qfleet_sweeper_loader.py)
/// checks that each shipped module so stripped parses to the same syntax tree.
pub(super) fn without_comment_lines(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A shell script without its comment lines but its first (`#!`): for the scripts the user
/// data carries, where every byte counts. A test (tests/integration/user_data.rs) runs the
/// script so carried.
pub(super) fn script_without_comments(text: &str) -> String {
    text.lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || !l.trim_start().starts_with('#'))
        .map(|(_, l)| format!("{l}\n"))
        .collect()
}

/// A Python module as a template carries it where every byte counts (the data template's
/// metadata): no comment lines, and each docstring (the first statement of the module, a class
/// or a function, when it is a `"""` string) replaced by `""`, which keeps a body that is only
/// its docstring valid. Neither is code; a test checks that each shipped module so slimmed
/// parses to the same syntax tree once docstrings are blanked in it.
pub(super) fn slim_module(text: &str) -> String {
    let text = without_comment_lines(text);
    let mut out = String::with_capacity(text.len());
    // Whether the next code line is the first of a body that may start with a docstring: at the
    // start of the module, or after the header (perhaps over several lines) of a def or class.
    let mut expect_doc = true;
    let mut in_header = false;
    let mut in_doc = false;
    for line in text.lines() {
        let t = line.trim_start();
        if in_doc {
            in_doc = !t.contains("\"\"\"");
            continue;
        }
        if t.is_empty() {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if expect_doc && !in_header && t.starts_with("\"\"\"") {
            expect_doc = false;
            in_doc = !t[3..].contains("\"\"\"");
            out.push_str(&line[..line.len() - t.len()]);
            out.push_str("\"\"\n");
            continue;
        }
        let header = ["def ", "class ", "async def "]
            .iter()
            .any(|k| t.starts_with(k));
        if header || in_header {
            // A header ends with its line's colon (its signature may run over several lines),
            // a comment after it aside; a one-line `class E(Exception): pass` has its body on
            // the same line, so no docstring follows it.
            let code = t.split("  #").next().unwrap_or(t).trim_end();
            let ends = code.ends_with(':');
            let one_line =
                header && !ends && code.matches('(').count() == code.matches(')').count();
            in_header = !ends && !one_line;
            expect_doc = ends;
        } else {
            expect_doc = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    without_trailing_comments(&out)
}

/// A Python module without the comments that end its code lines (`x = 1  # why`), its blank
/// lines, and with one space of indentation for each four: a `#` outside a string literal
/// starts a comment, and a line that does not start inside a string literal is re-indented
/// (Python reads only that each block is indented more than its header, the same within the
/// block; inside brackets or after a `\`, indentation is not read at all), and left out when
/// it is blank. The scan follows string literals across lines (a
/// triple-quoted one, or a line continued with `\`) and their escapes (an f-string that reuses
/// its own quote inside, which Python 3.12 allows, is not read: the test's Python refuses
/// such a module before it could ship); the shipped modules'
/// test ([`tests::each_shipped_module_slimmed_is_the_same_code_by_python_s_ast`]) holds the
/// result to Python's own reading.
fn without_trailing_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // The string literal the scan is in: its quote, and whether it is triple-quoted.
    let mut quote: Option<(char, bool)> = None;
    for line in text.lines() {
        // A line inside a triple-quoted string, or a one-quote string continued with `\`, is
        // the string's text: kept as it is.
        let in_string = quote.is_some();
        let chars: Vec<char> = line.chars().collect();
        let (mut i, mut cut) = (0, None);
        while i < chars.len() {
            let c = chars[i];
            let tripled = |q: char| chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q);
            match quote {
                Some(_) if c == '\\' => i += 1,
                Some((q, true)) if c == q && tripled(q) => {
                    quote = None;
                    i += 2;
                }
                Some((q, false)) if c == q => quote = None,
                Some(_) => {}
                None if c == '#' => {
                    cut = Some(i);
                    break;
                }
                None if c == '"' || c == '\'' => {
                    let triple = tripled(c);
                    quote = Some((c, triple));
                    if triple {
                        i += 2;
                    }
                }
                None => {}
            }
            i += 1;
        }
        // A one-quote string ends with its line unless the line is continued.
        if matches!(quote, Some((_, false))) && !line.ends_with('\\') {
            quote = None;
        }
        let code: String = match cut {
            Some(at) => chars[..at]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_string(),
            None => line.to_string(),
        };
        if in_string {
            out.push_str(&code);
        } else {
            let body = code.trim_start_matches(' ');
            if body.is_empty() {
                continue;
            }
            let indent = code.len() - body.len();
            out.push_str(&" ".repeat(indent.div_ceil(4)));
            out.push_str(body);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    /// [`gzip_base64`]'s text back (also the render tests' reading of a template's modules).
    pub(in crate::render) fn decode(s: &str) -> String {
        use base64::Engine as _;
        let joined: String = s.lines().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(joined)
            .unwrap();
        let mut text = String::new();
        GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    #[test]
    fn the_reference_worker_round_trips_and_shrinks_to_under_half() {
        let src = &super::super::shipped_worker();
        let packed = gzip_base64(src);
        assert_eq!(&decode(&packed), src);
        assert!(
            packed.len() * 2 < src.len(),
            "{} of {}",
            packed.len(),
            src.len()
        );
        assert!(packed.lines().all(|l| l.len() <= LINE));
        assert!(!packed.contains('$'), "Fn::Sub would read ${{…}}");
    }

    #[test]
    fn the_same_text_gives_the_same_bytes() {
        assert_eq!(gzip_base64("print(1)\n"), gzip_base64("print(1)\n"));
        assert_ne!(gzip_base64("print(1)\n"), gzip_base64("print(2)\n"));
    }

    #[test]
    fn comment_lines_go_and_code_stays() {
        let text = "import os\n# why\n    # indented why\nx = 1  # stays\n\ny = '#'\n";
        assert_eq!(
            without_comment_lines(text),
            "import os\nx = 1  # stays\n\ny = '#'\n"
        );
    }

    #[test]
    fn the_comments_that_end_code_lines_go_and_strings_keep_their_hashes() {
        let text = "x = 1  # why\ny = '#'  # a hash\nz = \"a#b\" + 'c\\'#'\nt = \"\"\"\n# in a string\n\"\"\"  # after\nu = f\"{d['#']}\"\nv = \"a\\\n# continued\"\n";
        assert_eq!(
            without_trailing_comments(text),
            "x = 1\ny = '#'\nz = \"a#b\" + 'c\\'#'\nt = \"\"\"\n# in a string\n\"\"\"\nu = f\"{d['#']}\"\nv = \"a\\\n# continued\"\n"
        );
    }

    #[test]
    fn docstrings_become_empty_strings_and_code_stays() {
        let src = "\"\"\"Module.\n\nMore.\"\"\"\nimport os\n\n\ndef f(a,\n      b):\n    \"\"\"One line.\"\"\"\n    x = \"\"\"not a docstring\"\"\"\n    return x\n\n\nclass C:\n    \"\"\"Two\n    lines.\"\"\"\n\n    def g(self):\n        \"\"\"Only a docstring.\"\"\"\n";
        // A header's trailing comment, a one-line class, a body line ending in `:` then `"""`
        // inside a string: each left as code.
        let tricky = "def f(x):  # noqa: E501\n    \"\"\"Doc.\"\"\"\n    return x\n\n\nclass E(Exception): pass\n\n\ndef g():\n    s = (\"Returns:\"\n         \"\"\"x\"\"\")\n    return s\n";
        assert_eq!(
            slim_module(tricky),
            "def f(x):\n \"\"\n return x\nclass E(Exception): pass\ndef g():\n s = (\"Returns:\"\n   \"\"\"x\"\"\")\n return s\n"
        );
        assert_eq!(
            slim_module(src),
            "\"\"\nimport os\ndef f(a,\n  b):\n \"\"\n x = \"\"\"not a docstring\"\"\"\n return x\nclass C:\n \"\"\n def g(self):\n  \"\"\n"
        );
    }

    /// One space of indentation for each four and no blank line, but inside a string: a
    /// triple-quoted string's lines, and a one-quote string's continued line, are its text.
    #[test]
    fn code_is_indented_one_space_a_level_and_strings_keep_their_text() {
        let text = "def f():\n    if x:\n        y = 1\n\n    t = \"\"\"\n    kept\n\n        as is\n    \"\"\"\n    u = \"a\\\n    b\"\n    return (y,\n            t)\n";
        assert_eq!(
            without_trailing_comments(text),
            "def f():\n if x:\n  y = 1\n t = \"\"\"\n    kept\n\n        as is\n    \"\"\"\n u = \"a\\\n    b\"\n return (y,\n   t)\n"
        );
    }

    /// Python itself says each shipped module, slimmed, is the same code: the syntax tree of
    /// the slimmed text equals the original's with every docstring blanked.
    #[test]
    fn each_shipped_module_slimmed_is_the_same_code_by_python_s_ast() {
        // The same program once comments and docstrings are set aside.
        let check =
            crate::config::workspace_root().join("crates/qfleet-runtime/python/same_program.py");
        let dir = tempfile::tempdir().unwrap();
        // The reference handler as the function's one file carries it (with what it shares).
        let handler = super::super::shipped_handler(crate::package::REFERENCE_HANDLER);
        let worker = qfleet_runtime::inline_shared(qfleet_runtime::WORKER);
        for (name, text) in [
            ("worker", worker.as_str()),
            ("jobs", super::super::JOBS_MODULE),
            ("sweeper", super::super::SWEEPER_MODULE),
            ("loader", super::super::SWEEPER_LOADER),
            ("handler", handler.as_str()),
            ("publisher", super::super::BACKLOG_PUBLISHER),
            ("budget_hold", qfleet_runtime::BUDGET_HOLD),
        ] {
            let (orig, slim) = (
                dir.path().join(name),
                dir.path().join(format!("{name}.slim")),
            );
            std::fs::write(&orig, text).unwrap();
            let slimmed = slim_module(text);
            assert!(
                slimmed.len() < text.len(),
                "{name}: {} of {}",
                slimmed.len(),
                text.len()
            );
            std::fs::write(&slim, slimmed).unwrap();
            let out = std::process::Command::new("python3")
                .arg(&check)
                .arg(&orig)
                .arg(&slim)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
