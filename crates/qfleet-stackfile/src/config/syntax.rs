//! Reading a stack file's YAML, and the parser's errors in words: a line indented wrong, a tab,
//! a key set twice, a quote or brace never closed; serde's messages without Rust type names.

use super::SourceFile;
use super::positions::byte_offset;
use crate::config::InputError;
use serde_yaml_ng::Value;

/// Help under an indentation error.
const INDENT_HELP: &str = "keys of one mapping start in the same column, and a nested key starts further right than the key it belongs to; indent with spaces, not tabs";

/// The file's YAML as a value, or its first syntax error (a parser cannot read past it).
pub(super) fn read(source: &SourceFile) -> Result<Value, Box<InputError>> {
    let de = serde_yaml_ng::Deserializer::from_str(&source.text);
    serde_path_to_error::deserialize(de).map_err(|e| Box::new(error(source, e)))
}

/// A serde_yaml error (with the path where it happened) as a located error in words.
pub(super) fn error(
    source: &SourceFile,
    e: serde_path_to_error::Error<serde_yaml_ng::Error>,
) -> InputError {
    // serde_path_to_error writes `?` for a position it could not name (inside broken YAML).
    let field = e
        .path()
        .to_string()
        .split('.')
        .filter(|seg| *seg != "?" && !seg.is_empty())
        .collect::<Vec<_>>()
        .join(".");
    let inner = e.into_inner();
    let full = inner.to_string();
    // serde_yaml appends " at line L column C" (and what it was parsing) and may prefix the
    // path; both are shown apart.
    let mut message = match full.find(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full.clone(),
    };
    if !field.is_empty()
        && let Some(rest) = message.strip_prefix(&format!("{field}: "))
    {
        message = rest.to_string();
    }
    if message.starts_with("deserializing from YAML containing more than one document") {
        return second_document(source, &field);
    }
    if let Some(e) = out_of_range(source, &field, &message, &inner) {
        return e;
    }
    let Some(loc) = inner.location() else {
        return source.error(&field, humanize(&message));
    };
    if message.starts_with("recursion limit exceeded") {
        // The path down to there is as long as the nesting: the top-level key says enough.
        let top = field.split(['.', '[']).next().unwrap_or_default();
        let offset = byte_offset(&source.text, loc.line(), loc.column().saturating_sub(1));
        let mut e = source.error_at_line(
            top,
            loc.line(),
            loc.column(),
            offset,
            format!(
                "values are nested more than {} levels deep here",
                super::MAX_DEPTH
            ),
        );
        e.allowed = Some(format!(
            "at most {} levels of mappings and lists inside one another",
            super::MAX_DEPTH
        ));
        return e;
    }
    let (line, column) = (loc.line(), loc.column());
    if let Some(e) = indentation(source, &field, &message, line) {
        return e;
    }
    let offset = byte_offset(&source.text, line, column.saturating_sub(1));
    let at = |message: String| source.error_at_line(&field, line, column, offset, message);
    if message.starts_with("found character that cannot start any token")
        && source.text[offset..].starts_with('\t')
    {
        let mut e = at(format!(
            "line {line} is indented with a tab; YAML indentation must be spaces"
        ));
        e.allowed = Some(INDENT_HELP.into());
        return e;
    }
    if let Some(key) = message.strip_prefix("duplicate entry with key ") {
        let key = key.trim_matches('"');
        let path = super::positions::join(&field, key);
        let place = if field.is_empty() {
            String::new()
        } else {
            format!(" in {field}")
        };
        return source.key_error(&path, format!("`{key}` is set twice{place}; keep one"));
    }
    if message.starts_with("could not find expected ':'")
        && let Some(key_line) = opened_at(&full, "while scanning a simple key").and_then(|at| {
            at.strip_prefix("line ")?
                .split(' ')
                .next()?
                .parse::<usize>()
                .ok()
        })
        && let Some(e) = missing_colon(source, &field, key_line)
    {
        return e;
    }
    if message.starts_with("found unexpected end of stream")
        && let Some(opened) = opened_at(&full, "while scanning a quoted scalar")
    {
        return at(format!("the quote opened at {opened} is never closed"));
    }
    for (what, name) in [
        ("while parsing a flow mapping", "`{`"),
        ("while parsing a flow sequence", "`[`"),
    ] {
        if let Some(opened) = opened_at(&full, what) {
            return at(format!("{message} (in the {name} opened at {opened})"));
        }
    }
    at(humanize(&message))
}

/// A whole number too large (or too small) for any number type: serde_yaml reads it as a
/// 128-bit one that no value holds (`invalid value: integer `…` as u128`). Said as the range
/// the setting takes.
fn out_of_range(
    source: &SourceFile,
    field: &str,
    message: &str,
    inner: &serde_yaml_ng::Error,
) -> Option<InputError> {
    // serde's visitors take a 128-bit number as a type they do not accept ("invalid type").
    let rest = message
        .strip_prefix("invalid type: integer `")
        .or_else(|| message.strip_prefix("invalid value: integer `"))?;
    let (number, kind) = rest.split_once("` as ")?;
    if !kind.starts_with("u128") && !kind.starts_with("i128") {
        return None;
    }
    let range = match super::checks::allowed(field) {
        Some(allowed) if !field.is_empty() => format!("{field} takes {allowed}"),
        _ => format!(
            "a whole number in a stack file is from {} to {}",
            i64::MIN,
            u64::MAX
        ),
    };
    let message = format!("`{number}` is out of range: {range}");
    Some(match inner.location() {
        Some(loc) => {
            let offset = byte_offset(&source.text, loc.line(), loc.column().saturating_sub(1));
            source.error_at_line(field, loc.line(), loc.column(), offset, message)
        }
        None => source.error(field, message),
    })
}

/// "line L column C" from "…, while parsing X at line L column C".
fn opened_at(full: &str, what: &str) -> Option<String> {
    let rest = &full[full.find(what)? + what.len()..];
    Some(rest.strip_prefix(" at ")?.trim().to_string())
}

/// A second document: a `---` (or `...`) after the first, or, without one, a line indented
/// less than the file's first setting (which ends the first document).
fn second_document(source: &SourceFile, field: &str) -> InputError {
    let content = |l: &&str| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    let lines: Vec<&str> = source.text.lines().collect();
    let first = lines.iter().position(content).unwrap_or(0);
    let marker = lines
        .iter()
        .enumerate()
        .skip(first + 1)
        .find(|(_, l)| l.starts_with("---") || l.starts_with("..."));
    if let Some((i, _)) = marker {
        let offset = byte_offset(&source.text, i + 1, 0);
        return source.error_at_line(
            field,
            i + 1,
            1,
            offset,
            format!(
                "line {} starts a second YAML document; a stack file is one mapping of settings",
                i + 1
            ),
        );
    }
    let first_indent = lines.get(first).map_or(0, |l| indent_of(l));
    let shallower = lines
        .iter()
        .enumerate()
        .skip(first + 1)
        .find(|(_, l)| content(l) && indent_of(l) < first_indent);
    if let Some((i, _)) = shallower
        && let Some(e) = indentation(source, field, SYMPTOMS[1], i + 1)
    {
        return e;
    }
    source.error(
        field,
        "the file holds more than one YAML document; a stack file is one mapping of settings",
    )
}

const SYMPTOMS: [&str; 4] = [
    "mapping values are not allowed in this context",
    "did not find expected key",
    "did not find expected '-' indicator",
    "block sequence entries are not allowed in this context",
];

/// The parser's complaints about a line that does not fit its block, said as what they
/// usually are: that line's indentation (or a `: ` inside an unquoted value).
fn indentation(source: &SourceFile, field: &str, message: &str, line: usize) -> Option<InputError> {
    if !SYMPTOMS.iter().any(|s| message.starts_with(s)) {
        return None;
    }
    let lines: Vec<&str> = source.text.lines().collect();
    let text = *lines.get(line.checked_sub(1)?)?;
    let indent = indent_of(text);
    let previous = lines[..line - 1]
        .iter()
        .enumerate()
        .rev()
        .find(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| (i + 1, *l));
    let content = text.trim();
    let message = match previous {
        Some((n, prev)) if indent_of(prev) != indent => format!(
            "the indentation of line {line} is probably wrong: `{content}` is indented {}, line {n} (`{}`) {}",
            spaces(indent),
            prev.trim(),
            spaces(indent_of(prev)),
        ),
        None if indent > 0 => format!(
            "the indentation of line {line} is probably wrong: `{content}` is indented {}, but the file's first setting must start in column 1",
            spaces(indent)
        ),
        // `min 1` above `max: 2`: YAML reads `min 1 max` as one value, then stops at the `:`.
        Some((n, prev)) if message.starts_with("mapping values") && !has_key(prev) => {
            return missing_colon(source, field, n);
        }
        _ if message.starts_with("mapping values") => format!(
            "line {line} (`{content}`) holds a second `: `; put a value that contains `: ` in quotes"
        ),
        _ => return None,
    };
    let offset = byte_offset(&source.text, line, indent);
    let mut e = source.error_at_line(field, line, indent + 1, offset, message);
    e.allowed = Some(INDENT_HELP.into());
    Some(e)
}

/// Whether a line holds a key (`key: value`, `key:`) or a list item.
fn has_key(line: &str) -> bool {
    let t = line.trim();
    t.contains(": ") || t.ends_with(':') || t.starts_with("- ") || t.starts_with('{')
}

/// Line `line` has a key without its `:`.
fn missing_colon(source: &SourceFile, field: &str, line: usize) -> Option<InputError> {
    let text = source.text.lines().nth(line.checked_sub(1)?)?;
    let indent = indent_of(text);
    let offset = byte_offset(&source.text, line, indent);
    let message = format!(
        "line {line} (`{}`) has no `:` after its key; write `key: value`",
        text.trim()
    );
    Some(source.error_at_line(field, line, indent + 1, offset, message))
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn spaces(n: usize) -> String {
    match n {
        0 => "0 spaces".into(),
        1 => "1 space".into(),
        n => format!("{n} spaces"),
    }
}

/// serde's message without Rust type names: `invalid type: string "x", expected u32` →
/// "expected a whole number, found `x`".
pub(super) fn humanize(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.rsplit_once(", expected ")
        {
            return format!(
                "expected {}, found {}",
                expected_words(expected),
                found_words(found)
            );
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!("expected {}, found {found}", expected.replace('`', ""));
    }
    message.to_string()
}

fn expected_words(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number of 0 or more".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" => "true or false".into(),
        "a string" | "path string" => "a text value".into(),
        "a map" => "a mapping".into(),
        e if e.starts_with("struct ") => "a mapping of settings".into(),
        e => e.to_string(),
    }
}

fn found_words(found: &str) -> String {
    for prefix in ["string ", "integer ", "floating point ", "boolean "] {
        if let Some(v) = found.strip_prefix(prefix) {
            return format!("`{}`", v.trim_matches(|c| c == '"' || c == '`'));
        }
    }
    match found {
        "unit value" => "nothing (the value is empty)".into(),
        "sequence" => "a list".into(),
        "map" => "a mapping".into(),
        f => f.to_string(),
    }
}
