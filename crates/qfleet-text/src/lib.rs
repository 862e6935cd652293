//! Words and tables for people, the same in every report: plurals and counts, lists, a
//! note told once for the environments it concerns, plain tables that fit a terminal or a CI
//! log, and the words of a credentials failure.

// No production function over the threshold in clippy.toml (150 lines).
#![cfg_attr(not(test), warn(clippy::too_many_lines))]
// A panic is never an answer to what a user gives or AWS answers: production code neither
// unwraps nor expects (tests and test support may).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod credentials;
pub mod words;

/// A plain table for terminals and CI logs alike.
pub fn table<I, R>(header: &[&str], rows: I) -> String
where
    I: IntoIterator<Item = R>,
    R: Into<comfy_table::Row>,
{
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::ASCII_BORDERS_ONLY_CONDENSED);
    // Wrap long cells to the terminal, or to 120 columns in a log.
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    t.set_width(table_width(t.width()));
    t.set_header(header.to_vec());
    for r in rows {
        t.add_row(r);
    }
    t.to_string()
}

/// The width tables are wrapped to: the terminal's, 120 columns where there is none (a log)
/// or it reports 0 (some CI terminals and emulators do, and every column then shrank to one
/// letter: `| s s l p r |`), and at least [`MIN_TABLE_WIDTH`] on a very narrow one.
fn table_width(terminal: Option<u16>) -> u16 {
    match terminal {
        None | Some(0) => 120,
        Some(w) => w.max(MIN_TABLE_WIDTH),
    }
}

/// Narrower than this, a table's columns cannot hold their headers' words.
const MIN_TABLE_WIDTH: u16 = 60;

#[cfg(test)]
mod table_width_tests {
    use super::*;

    /// A terminal that reports 0 columns, or a very narrow one, no longer collapses a table to
    /// one letter per column (issue 36: `| s s l p r |`).
    #[test]
    fn a_zero_or_tiny_terminal_width_keeps_the_headers_whole() {
        assert_eq!(table_width(None), 120);
        assert_eq!(table_width(Some(0)), 120);
        assert_eq!(table_width(Some(8)), MIN_TABLE_WIDTH);
        assert_eq!(table_width(Some(200)), 200);
        let header = ["stack", "status", "last update", "protected", "region"];
        for width in [Some(0), Some(8)] {
            let mut t = comfy_table::Table::new();
            t.load_style(comfy_table::presets::ASCII_BORDERS_ONLY_CONDENSED);
            t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
            t.set_width(table_width(width));
            t.set_header(header.to_vec());
            t.add_row(vec![
                "qfleet-lab-data",
                "CREATE_COMPLETE",
                "5m ago",
                "no",
                "eu-west-1",
            ]);
            let text = t.to_string();
            // Long cells may wrap; no header word is cut.
            for word in header.iter().flat_map(|h| h.split(' ')) {
                assert!(text.contains(word), "{width:?}: {word} in\n{text}");
            }
        }
    }
}
