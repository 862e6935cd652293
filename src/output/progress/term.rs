//! The terminal the spinners are drawn on: stderr, with the cursor parked at the start of the
//! last spinner line rather than past its end.
//!
//! indicatif pads every line to the terminal's width and leaves the cursor past the last
//! column, counting on the terminal to wrap before the next line. Ctrl-C breaks that: the
//! terminal echoes `^C` at the cursor, which wraps onto a new line, and indicatif's clearing
//! then erases that new line and leaves the last spinner line on the screen. Here each padded
//! line is followed by a carriage return, and the line break the wrap would have made is
//! written before the next line instead: an echoed `^C` lands on the spinner line itself and
//! is cleared with it.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// stderr as indicatif's terminal (see the module's documentation).
#[derive(Debug, Default)]
pub(super) struct Stderr(Mutex<State>);

#[derive(Debug, Default)]
struct State {
    /// What indicatif wrote since its last flush.
    pending: String,
    /// The next `write_str` is the padding of the line just written.
    padding_next: bool,
    /// A line was padded and the cursor returned to its start: the next line needs a break.
    break_before_next: bool,
    /// The terminal's width, and when it was read.
    width: Option<(Instant, u16)>,
}

/// Columns assumed when the terminal does not say.
const DEFAULT_WIDTH: u16 = 80;

impl Stderr {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> std::io::Result<T> {
        let mut s = self
            .0
            .lock()
            .map_err(|_| std::io::Error::other("the terminal's state is poisoned"))?;
        Ok(f(&mut s))
    }

    /// A cursor movement or an erasure: the cursor is where indicatif thinks it is.
    fn control(&self, sequence: String) -> std::io::Result<()> {
        self.with(|s| {
            s.padding_next = false;
            s.break_before_next = false;
            s.pending.push_str(&sequence);
        })
    }
}

/// The terminal's width in columns (re-read at most twice a second: a resize shows quickly).
fn width(s: &mut State) -> u16 {
    if let Some((at, w)) = s.width
        && at.elapsed() < Duration::from_millis(500)
    {
        return w;
    }
    // comfy-table reads the size of the terminal stderr is on (crossterm, through /dev/tty).
    let mut probe = comfy_table::Table::new();
    probe.use_stderr();
    let w = probe.width().filter(|w| *w > 0).unwrap_or(DEFAULT_WIDTH);
    s.width = Some((Instant::now(), w));
    w
}

/// Moves the cursor `n` times with the CSI sequence ending in `letter` (none for 0).
fn moves(n: usize, letter: char) -> String {
    if n == 0 {
        String::new()
    } else {
        format!("\x1b[{n}{letter}")
    }
}

impl indicatif::TermLike for Stderr {
    fn width(&self) -> u16 {
        self.with(width).unwrap_or(DEFAULT_WIDTH)
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.control(moves(n, 'A'))
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.control(moves(n, 'B'))
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.control(moves(n, 'C'))
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.control(moves(n, 'D'))
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write_str(s)?;
        self.control("\n".into())
    }

    fn write_str(&self, text: &str) -> std::io::Result<()> {
        if text == "\r" {
            return self.control(text.into());
        }
        self.with(|s| {
            if s.padding_next {
                // The padding up to the last column, then back to the line's start.
                s.pending.push_str(text);
                s.pending.push('\r');
                s.padding_next = false;
                s.break_before_next = true;
            } else {
                if s.break_before_next {
                    s.pending.push('\n');
                }
                s.pending.push_str(text);
                s.padding_next = true;
                s.break_before_next = false;
            }
        })
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.control("\r\x1b[2K".into())
    }

    fn flush(&self) -> std::io::Result<()> {
        let text = self.with(|s| std::mem::take(&mut s.pending))?;
        let text = crate::output::once::shorten_text(&text);
        let mut err = std::io::stderr().lock();
        err.write_all(text.as_bytes())?;
        err.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::TermLike;

    fn written(t: &Stderr) -> String {
        t.with(|s| s.pending.clone()).unwrap()
    }

    #[test]
    fn each_padded_line_returns_to_its_start_and_the_next_begins_on_a_new_line() {
        let t = Stderr::default();
        // What indicatif writes for a printed line and a spinner, then for clearing them.
        t.write_str("lab: create").unwrap();
        t.write_str("     ").unwrap();
        t.write_str("⠁ qfleet-lab-data computing changes (0s)")
            .unwrap();
        t.write_str("  ").unwrap();
        assert_eq!(
            written(&t),
            "lab: create     \r\n⠁ qfleet-lab-data computing changes (0s)  \r"
        );
        t.move_cursor_up(0).unwrap();
        t.clear_line().unwrap();
        t.write_str("⠉ spinner").unwrap();
        t.write_str("").unwrap();
        assert!(
            written(&t).ends_with("(0s)  \r\r\x1b[2K⠉ spinner\r"),
            "no break after a clearing: {:?}",
            written(&t)
        );
        t.move_cursor_up(2).unwrap();
        assert!(written(&t).ends_with("\x1b[2A"));
    }
}
