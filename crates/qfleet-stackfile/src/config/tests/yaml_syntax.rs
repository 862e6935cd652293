//! YAML the parser cannot read, said as what it usually is (a line indented wrong, a tab, a
//! missing `:`, a key set twice, a quote never closed), located, and never a panic.

use super::errors::{assert_in_words, one};
use super::*;
use crate::config::Error;

#[test]
fn bad_indentation_is_named_with_its_line() {
    for (yaml, line, column, says) in [
        // One space too many: the parser sees `1 max` and then a stray `:`.
        (
            "region: eu-west-1\nworkers:\n  min: 1\n   max: 2\n",
            4,
            4,
            "the indentation of line 4 is probably wrong: `max: 2` is indented 3 spaces, line 3 (`min: 1`) 2 spaces",
        ),
        // One too few.
        (
            "region: eu-west-1\nworkers:\n  min: 1\n max: 2\n",
            4,
            2,
            "the indentation of line 4 is probably wrong: `max: 2` is indented 1 space, line 3 (`min: 1`) 2 spaces",
        ),
        // Comments and blank lines between do not count.
        (
            "region: eu-west-1\nworkers:\n  min: 1\n\n  # the VPC\n    network: default\n",
            6,
            5,
            "line 6 is probably wrong: `network: default` is indented 4 spaces, line 3 (`min: 1`) 2 spaces",
        ),
        (
            "  region: eu-west-1\nlab: true\n",
            2,
            1,
            "the indentation of line 2 is probably wrong: `lab: true` is indented 0 spaces, line 1 (`region: eu-west-1`) 2 spaces",
        ),
        (
            "region: eu-west-1\nlab: true: yes\n",
            2,
            1,
            "line 2 (`lab: true: yes`) holds a second `: `; put a value that contains `: ` in quotes",
        ),
        (
            "region: eu-west-1\nworkers:\n\tmin: 1\n",
            3,
            1,
            "line 3 is indented with a tab; YAML indentation must be spaces",
        ),
    ] {
        let e = one(yaml);
        assert_eq!((e.line, e.column), (line, column), "{e}");
        assert!(e.message.contains(says), "{e}");
        assert!(
            e.allowed.as_deref().unwrap_or("").contains("same column") || says.contains("quotes"),
            "{e:?}"
        );
        assert!(e.span.is_some());
    }
}

#[test]
fn a_key_without_its_colon_is_named() {
    let e = one("region: eu-west-1\nworkers:\n  min 1\n  max: 2\n");
    assert_eq!((e.line, e.column), (3, 3), "{e}");
    assert_eq!(
        e.message,
        "line 3 (`min 1`) has no `:` after its key; write `key: value`"
    );
    let e = one("region: eu-west-1\nscaling:\n  seconds_per_message 2\n");
    assert_eq!(e.field, "scaling");
    assert!(
        e.message
            .ends_with("did you mean `seconds_per_message: 2` (a `:` after the key)?"),
        "{e}"
    );
}

#[test]
fn other_syntax_errors_in_words() {
    let e = one("region: eu-west-1\nworkers:\n  min: 1\n  min: 2\n");
    assert_eq!((e.field.as_str(), e.line), ("workers.min", 4));
    assert_eq!(e.message, "`min` is set twice in workers; keep one");
    let e = one("region: \"eu-west-1\nlab: true\n");
    assert_eq!(
        e.message,
        "the quote opened at line 1 column 9 is never closed"
    );
    let e = one("region: eu-west-1\nworkers: {min: 1, max: 2\n");
    assert_eq!(
        e.message,
        "did not find expected ',' or '}' (in the `{` opened at line 2 column 10)"
    );
    let e = one("# lab\nregion: eu-west-1\n---\nregion: eu-west-2\n");
    assert_eq!(e.line, 3);
    assert!(
        e.message.contains("line 3 starts a second YAML document"),
        "{e}"
    );
}

#[test]
fn odd_documents_are_errors_never_panics() {
    for yaml in [
        "3\n",
        "~\n",
        "[]\n",
        "? [a]\n: b\n",
        "region: eu-west-1\n[a]: b\n",
        "region: !Ref x\n",
        "region: eu-west-1\ntags: {[a]: b}\n",
        "a: &x 1\nb: *x\nregion: eu-west-1\n",
        "region: eu-west-1\nworkers:\n  min: ×\n",
        "ré: 1\n\tx\n",
        "region: eu-west-1\n<<: {lab: true}\n",
    ] {
        let _ = parse(PathBuf::from("stacks/t.yaml"), yaml.to_string());
    }
    let e = one("region: eu-west-1\n[a]: b\n");
    assert!(e.message.starts_with("unknown field"), "{e}");
}

#[test]
fn mangled_shipped_files_give_located_errors_never_panics() {
    let root = crate::config::workspace_root();
    let root = root.as_path();
    let mut tried = 0;
    for name in ["stacks/prod.yaml", "examples/lambda.yaml"] {
        let text = std::fs::read_to_string(root.join(name)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for i in 0..lines.len() {
            let edits = [
                format!(" {}", lines[i]),
                format!("\t{}", lines[i]),
                lines[i].trim_start().to_string(),
                format!("{}: x", lines[i]),
                format!("{}\n{}", lines[i], lines[i]),
                lines[i].replace(':', ""),
                format!("{} é\"", lines[i]),
            ];
            for edit in edits {
                let mut mangled = lines.clone();
                mangled[i] = &edit;
                let yaml = mangled.join("\n");
                tried += 1;
                let Err(Error::Input(list)) = parse(PathBuf::from(name), yaml.clone()) else {
                    continue;
                };
                for e in list {
                    let span = e.span.expect("located");
                    assert!(span.offset() + span.len() <= yaml.len(), "{e}");
                    assert!(yaml.is_char_boundary(span.offset()), "{e}");
                    assert!(e.line >= 1 && e.column >= 1, "{e}");
                    assert_in_words(&e);
                    // Rendering the report with its excerpt must not panic either.
                    let _ = format!("{:?}", miette::Report::new(e));
                }
            }
        }
    }
    assert!(tried > 100, "{tried}");
}
