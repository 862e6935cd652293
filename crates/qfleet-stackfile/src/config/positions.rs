//! Where each setting stands in a stack file, so that an error found after parsing (min > max,
//! a bad subnet id, …) can still point at its line and column.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::Marker;
use yaml_rust2::scanner::TScalarStyle;

/// A position in the source: 1-based line and column, and the byte range of the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub(super) column: usize,
    pub(super) offset: usize,
    pub(super) len: usize,
}

/// Positions of every mapping key and value, by dotted path (`workers.network.subnets`).
#[derive(Debug, Default, Clone)]
pub struct Locations {
    keys: HashMap<String, Position>,
    values: HashMap<String, Position>,
    /// The text of every unquoted value (`~`, `0x10`): serde_yaml reads some apart that a
    /// parsed value does not tell apart.
    plain: HashMap<String, String>,
    /// Where the values first nest deeper than `MAX_DEPTH`, and under which top-level key:
    /// indexing stops there, and the file is refused before any parser recurses through it.
    too_deep: Option<(Position, String)>,
}

impl Locations {
    /// Indexes `src`'s first document. A document the YAML parser rejects yields an empty
    /// index; the caller reports the parse error itself. The events are read one by one (the
    /// parser's own `load` recurses once per level, which a file nested thousands of levels
    /// deep overflows the stack with), and reading stops at the first value nested deeper
    /// than `MAX_DEPTH` (see `too_deep`).
    pub fn index(src: &str) -> Locations {
        let mut builder = Builder {
            src,
            out: Locations::default(),
            stack: Vec::new(),
        };
        let mut parser = Parser::new_from_str(src);
        loop {
            let Ok((ev, mark)) = parser.next_token() else {
                return Locations::default();
            };
            match ev {
                Event::StreamEnd | Event::DocumentEnd => return builder.out,
                Event::MappingStart(..) | Event::SequenceStart(..)
                    if builder.stack.len() >= super::MAX_DEPTH =>
                {
                    let pos = builder.position(mark, None);
                    let top = match builder.stack.get(1) {
                        Some(Frame::Map { path, .. } | Frame::Seq { path, .. }) => {
                            path.split('.').next().unwrap_or_default().to_string()
                        }
                        None => String::new(),
                    };
                    builder.out.too_deep = Some((pos, top));
                    return builder.out;
                }
                ev => builder.on_event(ev, mark),
            }
        }
    }

    /// Where the values first nest deeper than `MAX_DEPTH` levels, and the top-level key they
    /// are under (empty at the top).
    pub(super) fn too_deep(&self) -> Option<(Position, &str)> {
        self.too_deep.as_ref().map(|(p, top)| (*p, top.as_str()))
    }

    /// The value's position, or the key's when the value is a nested mapping, or the closest
    /// existing parent when the setting is absent (a default that conflicts with another value).
    pub(super) fn find(&self, path: &str) -> Option<Position> {
        let mut p = path;
        loop {
            if let Some(pos) = self.values.get(p).or_else(|| self.keys.get(p)) {
                return Some(*pos);
            }
            p = &p[..p.rfind('.')?];
        }
    }

    /// Whether the value at `path` is written `~` or `null` rather than left empty.
    pub(super) fn explicit_null(&self, path: &str) -> bool {
        matches!(self.plain_text(path), Some("~" | "null" | "Null" | "NULL"))
    }

    /// The text of the unquoted value at `path`.
    pub fn plain_text(&self, path: &str) -> Option<&str> {
        self.plain.get(path).map(String::as_str)
    }

    /// The key's position (for "unknown key" style errors).
    pub fn key(&self, path: &str) -> Option<Position> {
        self.keys.get(path).copied()
    }
}

enum Frame {
    /// Inside a mapping at `path`; `key` is the pending key when the next event is its value.
    Map {
        path: String,
        key: Option<String>,
    },
    Seq {
        path: String,
        index: usize,
    },
}

struct Builder<'a> {
    src: &'a str,
    out: Locations,
    stack: Vec<Frame>,
}

impl Builder<'_> {
    fn position(&self, mark: Marker, text: Option<&str>) -> Position {
        let offset = byte_offset(self.src, mark.line(), mark.col());
        let rest = &self.src[offset..];
        // One character where there is no text to cover (none at the end of the file).
        let one = rest.chars().next().map_or(0, char::len_utf8);
        let len = match text {
            Some(t) if !t.is_empty() && rest.starts_with(t) => t.len(),
            Some(t) if !t.is_empty() => rest
                .lines()
                .next()
                .map_or(one, |l| l.trim_end().len().max(one)),
            _ => one,
        };
        Position {
            line: mark.line(),
            column: mark.col() + 1,
            offset,
            len,
        }
    }

    /// Called for a node that is a value (scalar, mapping or sequence start). Returns the path
    /// of that node.
    fn value_path(&mut self) -> Option<String> {
        match self.stack.last_mut()? {
            Frame::Map { path, key } => {
                let k = key.take()?;
                Some(join(path, &k))
            }
            Frame::Seq { path, index } => {
                let p = format!("{path}.{index}");
                *index += 1;
                Some(p)
            }
        }
    }

    /// True when the next scalar in the current mapping is a key.
    fn expects_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }
}

/// `path.key`, or `key` at the top level.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, style, ..) => {
                if self.expects_key() {
                    let pos = self.position(mark, Some(&text));
                    if let Some(Frame::Map { path, key }) = self.stack.last_mut() {
                        let full = join(path, &text);
                        self.out.keys.insert(full, pos);
                        *key = Some(text);
                    }
                } else if let Some(p) = self.value_path() {
                    let pos = self.position(mark, Some(&text));
                    if style == TScalarStyle::Plain {
                        self.out.plain.insert(p.clone(), text);
                    }
                    self.out.values.insert(p, pos);
                }
            }
            Event::MappingStart(..) => {
                let in_sequence = matches!(self.stack.last(), Some(Frame::Seq { .. }));
                let path = if self.stack.is_empty() {
                    String::new()
                } else {
                    self.value_path().unwrap_or_default()
                };
                // A mapping that is a list item (`targets.2`) has no key: its start locates
                // what is missing from it, rather than the list's first item.
                if in_sequence {
                    let pos = self.position(mark, None);
                    self.out.values.entry(path.clone()).or_insert(pos);
                }
                self.stack.push(Frame::Map { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.value_path().unwrap_or_default();
                let pos = self.position(mark, None);
                self.out.values.entry(path.clone()).or_insert(pos);
                self.stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            Event::Alias(_) => {
                self.value_path();
            }
            _ => {}
        }
    }
}

/// Byte offset of a 1-based line and 0-based character column.
pub fn byte_offset(src: &str, line: usize, col: usize) -> usize {
    let mut offset = 0;
    for (i, l) in src.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return offset
                + l.char_indices()
                    .nth(col)
                    .map(|(b, _)| b)
                    .unwrap_or(l.trim_end_matches('\n').len());
        }
        offset += l.len();
    }
    src.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "region: eu-west-1\nworkers:\n  min: 3\n  max: 2\n  network:\n    vpc: vpc-1\n    subnets:\n      eu-west-1a: subnet-1\ntags: {team: é, owner: x}\n";

    #[test]
    fn finds_values_by_dotted_path() {
        let loc = Locations::index(SRC);
        let min = loc.find("workers.min").unwrap();
        assert_eq!((min.line, min.column), (3, 8));
        assert_eq!(&SRC[min.offset..min.offset + min.len], "3");
        let subnet = loc.find("workers.network.subnets.eu-west-1a").unwrap();
        assert_eq!((subnet.line, subnet.column), (8, 19));
        let owner = loc.find("tags.owner").unwrap();
        assert_eq!(owner.line, 9);
        assert_eq!(&SRC[owner.offset..owner.offset + 1], "x");
    }

    #[test]
    fn absent_settings_point_at_the_nearest_parent() {
        let loc = Locations::index(SRC);
        let p = loc.find("workers.user_data").unwrap();
        assert_eq!(p.line, 2, "falls back to the `workers` key");
        assert!(loc.find("scaling.target").is_none());
        assert_eq!(loc.key("workers.max").unwrap().line, 4);
    }

    #[test]
    fn a_setting_absent_from_a_list_item_points_at_that_item() {
        let src = "targets:\n  - name: a\n    account: '1'\n  - name: b\n    region: x\n";
        let loc = Locations::index(src);
        assert_eq!(loc.find("targets.1.account").unwrap().line, 4);
        assert_eq!(loc.find("targets.0.region").unwrap().line, 2);
        assert_eq!(loc.find("targets.1.region").unwrap().line, 5);
    }

    #[test]
    fn broken_yaml_gives_an_empty_index() {
        assert!(Locations::index("a: [1, 2\n").find("a").is_none());
    }
}
