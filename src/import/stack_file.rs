//! The stack file an import writes: settings in a fixed order, each with a short comment where
//! its value was defaulted or changed meaning. The text is YAML that `qfleet validate` reads.

/// A value of the stack file.
#[derive(Debug, Clone)]
pub(super) enum Node {
    /// A scalar, already written as YAML (`256`, `true`, `"a: b"`).
    Scalar(String),
    /// A flow list of strings (`[python, app.py]`).
    List(Vec<String>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) key: String,
    pub(super) value: Node,
    pub(super) comment: Option<String>,
}

/// The stack file being built: a header comment and the top-level mapping.
#[derive(Debug, Clone, Default)]
pub(super) struct Draft {
    pub(super) header: Vec<String>,
    pub(super) root: Vec<Entry>,
}

impl Draft {
    /// Sets the dotted `path` (`workers.fargate.cpu`), creating the mappings on the way in the
    /// order they are first set.
    pub(super) fn set(&mut self, path: &str, value: Node, comment: Option<String>) {
        let segs: Vec<&str> = path.split('.').collect();
        let mut level = &mut self.root;
        for seg in &segs[..segs.len() - 1] {
            let i = match level.iter().position(|e| e.key == *seg) {
                Some(i) => i,
                None => {
                    level.push(Entry {
                        key: seg.to_string(),
                        value: Node::Map(Vec::new()),
                        comment: None,
                    });
                    level.len() - 1
                }
            };
            if !matches!(level[i].value, Node::Map(_)) {
                level[i].value = Node::Map(Vec::new());
            }
            let Node::Map(next) = &mut level[i].value else {
                return;
            };
            level = next;
        }
        let key = segs[segs.len() - 1].to_string();
        match level.iter_mut().find(|e| e.key == key) {
            Some(e) => {
                e.value = value;
                e.comment = comment;
            }
            None => level.push(Entry {
                key,
                value,
                comment,
            }),
        }
    }

    /// A scalar setting, quoted as YAML needs.
    pub(super) fn text(&mut self, path: &str, value: &str, comment: Option<String>) {
        self.set(path, Node::Scalar(scalar(value)), comment);
    }

    /// A number or boolean setting, written as is.
    pub(super) fn plain(&mut self, path: &str, value: impl ToString, comment: Option<String>) {
        self.set(path, Node::Scalar(value.to_string()), comment);
    }

    /// The YAML text.
    pub(super) fn render(&self) -> String {
        let mut out = String::new();
        for h in &self.header {
            out.push_str(&format!("# {h}\n"));
        }
        write_entries(&self.root, 0, &mut out);
        out
    }
}

fn write_entries(entries: &[Entry], depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    for e in entries {
        let key = scalar(&e.key);
        let comment = e
            .comment
            .as_ref()
            .map(|c| format!("  # {c}"))
            .unwrap_or_default();
        match &e.value {
            Node::Map(inner) if inner.is_empty() => {}
            Node::Map(inner) => {
                out.push_str(&format!("{indent}{key}:{comment}\n"));
                write_entries(inner, depth + 1, out);
            }
            Node::Scalar(s) => out.push_str(&format!("{indent}{key}: {s}{comment}\n")),
            Node::List(items) => {
                let items: Vec<String> = items.iter().map(|i| scalar(i)).collect();
                out.push_str(&format!("{indent}{key}: [{}]{comment}\n", items.join(", ")));
            }
        }
    }
}

/// `text` as a YAML scalar: plain when it reads back as the same string, else double-quoted
/// (a JSON string is a YAML double-quoted scalar).
pub(super) fn scalar(text: &str) -> String {
    let plain_ok = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-@".contains(c) || c == ':')
        && !text.contains(": ")
        && !text.ends_with(':')
        && text.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '/')
        && matches!(
            serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text),
            Ok(serde_yaml_ng::Value::String(ref s)) if s == text
        );
    if plain_ok {
        text.to_string()
    } else {
        serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_plain_only_when_they_read_back_as_the_same_text() {
        assert_eq!(scalar("linux/x86_64"), "linux/x86_64");
        assert_eq!(scalar("secretsmanager:mysql"), "secretsmanager:mysql");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("10"), "\"10\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(scalar(""), "\"\"");
        assert_eq!(scalar("~"), "\"~\"");
        assert_eq!(scalar("#x"), "\"#x\"");
    }

    #[test]
    fn a_draft_renders_nested_mappings_in_the_order_set_and_skips_empty_ones() {
        let mut d = Draft::default();
        d.header.push("hello".into());
        d.text("region", "eu-west-1", Some("why".into()));
        d.plain("workers.min", 1, None);
        d.set("workers.environment", Node::Map(Vec::new()), None);
        d.set(
            "workers.fargate.command",
            Node::List(vec!["python".into(), "a b".into()]),
            None,
        );
        assert_eq!(
            d.render(),
            "# hello\nregion: eu-west-1  # why\nworkers:\n  min: 1\n  fargate:\n    command: [python, \"a b\"]\n"
        );
    }
}
