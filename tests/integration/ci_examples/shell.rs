//! Just enough of a shell's reading of a script to find the `qfleet` commands in it: words,
//! quotes, operators, comments, `$(...)`, command positions.

/// A shell word or operator.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Op(String),
}

/// Splits shell text into words and operators (quotes removed, comments dropped); the text of
/// every `$(...)` inside double quotes is added to `nested`, to be read as commands too.
fn tokens(script: &str, nested: &mut Vec<String>) -> Vec<Tok> {
    let text = script.replace("\\\n", " ");
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut i = 0;
    let flush = |word: &mut String, in_word: &mut bool, out: &mut Vec<Tok>| {
        if *in_word {
            out.push(Tok::Word(std::mem::take(word)));
            *in_word = false;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '#' if !in_word => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            ' ' | '\t' => flush(&mut word, &mut in_word, &mut out),
            '\n' | ';' | '&' | '|' | '(' | ')' | '>' | '<' => {
                flush(&mut word, &mut in_word, &mut out);
                let mut op = c.to_string();
                if let Some(&n) = chars.get(i + 1)
                    && ((n == c && "&|;>".contains(c)) || (c == '>' && n == '|'))
                {
                    op.push(n);
                    i += 1;
                }
                out.push(Tok::Op(op));
            }
            '$' if chars.get(i + 1) == Some(&'(') => {
                flush(&mut word, &mut in_word, &mut out);
                out.push(Tok::Op("$(".into()));
                i += 1;
            }
            '\'' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    word.push(chars[i]);
                    i += 1;
                }
            }
            '"' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    } else if chars[i] == '$' && chars.get(i + 1) == Some(&'(') {
                        let start = i + 2;
                        let mut depth = 1;
                        let mut j = start;
                        while j < chars.len() && depth > 0 {
                            match chars[j] {
                                '(' => depth += 1,
                                ')' => depth -= 1,
                                _ => {}
                            }
                            j += 1;
                        }
                        nested.push(chars[start..j.saturating_sub(1)].iter().collect());
                    }
                    word.push(chars[i]);
                    i += 1;
                }
            }
            _ => {
                in_word = true;
                word.push(c);
            }
        }
        i += 1;
    }
    flush(&mut word, &mut in_word, &mut out);
    out
}

/// Every `qfleet ...` command in a script: the words after `qfleet` up to the end of the
/// command, redirections and their targets left out.
pub fn qfleet_commands(script: &str) -> Vec<Vec<String>> {
    let mut nested = Vec::new();
    let toks = tokens(script, &mut nested);
    let mut found = Vec::new();
    let mut at_command = true;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Op(op) => at_command = !matches!(op.as_str(), ">" | ">>" | "<" | ">|"),
            Tok::Word(w) if at_command && w.contains('=') && !w.starts_with('-') => {}
            Tok::Word(w)
                if at_command
                    && [
                        "then", "do", "else", "elif", "if", "while", "until", "!", "{", "time",
                        "exec",
                    ]
                    .contains(&w.as_str()) => {}
            Tok::Word(w) if at_command && (w == "qfleet" || w.ends_with("/qfleet")) => {
                let mut args = Vec::new();
                i += 1;
                while i < toks.len() {
                    match &toks[i] {
                        Tok::Word(a) => args.push(a.clone()),
                        Tok::Op(op) if matches!(op.as_str(), ">" | ">>" | "<" | ">|") => i += 1,
                        Tok::Op(_) => break,
                    }
                    i += 1;
                }
                found.push(args);
                at_command = true;
                continue;
            }
            Tok::Word(_) => at_command = false,
        }
        i += 1;
    }
    for n in nested {
        found.extend(qfleet_commands(&n));
    }
    found
}
