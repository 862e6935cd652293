//! The two shapes progress takes on stderr: spinners on a terminal, and, without one (a CI
//! log), plain lines that each begin with the UTC time of day (`12:04:05Z`), so that a log
//! says when each step happened even where the CI shows no times of its own.

use indicatif::{MultiProgress, ProgressDrawTarget};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The spinners of a run, drawn on [`super::term::Stderr`] (so that Ctrl-C leaves none
/// behind). Hiding them (a question is up) first clears them from the terminal: a hidden draw
/// target forgets the lines it had drawn, so without this the spinner lines stayed above the
/// question, and after Ctrl-C at the question they were left on the screen. Every other
/// method is the [`MultiProgress`]'s own.
pub(super) struct Bars {
    multi: MultiProgress,
    /// Where the spinners are drawn when shown.
    terminal: Box<dyn Fn() -> ProgressDrawTarget + Send + Sync>,
    /// Hidden for a question: when the run ends so (Ctrl-C at the question), the cursor is still
    /// on the question's line.
    hidden: AtomicBool,
}

impl Bars {
    pub(super) fn new() -> Bars {
        Bars::drawing_on(|| {
            ProgressDrawTarget::term_like_with_hz(Box::new(super::term::Stderr::default()), 20)
        })
    }

    /// Spinners drawn on the terminal `terminal` makes.
    fn drawing_on(terminal: impl Fn() -> ProgressDrawTarget + Send + Sync + 'static) -> Bars {
        Bars {
            multi: MultiProgress::with_draw_target(terminal()),
            terminal: Box::new(terminal),
            hidden: AtomicBool::new(false),
        }
    }

    /// Hides the spinners (clearing them first) for a hidden `target`, and shows them again on
    /// this run's terminal for any other: they have no other place to go.
    pub(super) fn set_draw_target(&self, target: ProgressDrawTarget) {
        let hiding = target.is_hidden();
        if hiding {
            let _ = self.multi.clear();
            self.multi.set_draw_target(target);
        } else {
            self.multi.set_draw_target((self.terminal)());
        }
        self.hidden.store(hiding, Ordering::SeqCst);
    }
}

impl Default for Bars {
    fn default() -> Bars {
        Bars::new()
    }
}

impl std::ops::Deref for Bars {
    type Target = MultiProgress;

    fn deref(&self) -> &MultiProgress {
        &self.multi
    }
}

impl Bars {
    /// Ends the spinners' part of the screen: no spinner line is left on the terminal, and
    /// what is printed next (the error) starts on a line of its own, not after an unanswered
    /// question's `^C`. Once: the run's end does it again for nothing.
    pub(super) fn end(&self) {
        let _ = self.multi.clear();
        if self.hidden.swap(false, Ordering::SeqCst) {
            crate::output::stderr_write("\n");
        }
    }
}

impl Drop for Bars {
    /// Whatever ends the run (an error, Ctrl-C), its spinners end with it ([`Bars::end`]).
    fn drop(&mut self) {
        self.end();
    }
}

/// The UTC time of day of `t`, to the second: `12:04:05Z`.
fn clock(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) % 86_400;
    format!("{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// `text` with each of its non-empty lines prefixed by the time of day (a log line).
pub(super) fn stamped(text: &str) -> String {
    stamped_at(text, SystemTime::now())
}

fn stamped_at(text: &str, at: SystemTime) -> String {
    let now = clock(at);
    text.split('\n')
        .map(|line| {
            if line.trim().is_empty() {
                line.to_string()
            } else {
                format!("{now} {line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_clock_is_utc_to_the_second() {
        let t = UNIX_EPOCH + Duration::from_secs(20_000 * 86_400 + 12 * 3600 + 4 * 60 + 5);
        assert_eq!(clock(t), "12:04:05Z");
        assert_eq!(clock(UNIX_EPOCH + Duration::from_millis(999)), "00:00:00Z");
        assert_eq!(clock(UNIX_EPOCH + Duration::from_secs(86_399)), "23:59:59Z");
    }

    #[test]
    fn every_line_of_a_log_entry_is_stamped_blank_ones_stay_blank() {
        let t = UNIX_EPOCH + Duration::from_secs(3661);
        assert_eq!(
            stamped_at("lab: changes\n  + Queue\n\nend", t),
            "01:01:01Z lab: changes\n01:01:01Z   + Queue\n\n01:01:01Z end"
        );
    }

    /// A terminal double: the lines on screen, with the cursor moves applied.
    #[derive(Debug, Clone, Default)]
    struct Screen(std::sync::Arc<std::sync::Mutex<(Vec<String>, usize)>>);

    impl Screen {
        fn text(&self) -> String {
            self.0.lock().map(|s| s.0.join("\n")).unwrap_or_default()
        }

        fn edit(&self, f: impl FnOnce(&mut Vec<String>, &mut usize)) -> std::io::Result<()> {
            let mut s = self
                .0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?;
            let (lines, row) = &mut *s;
            f(lines, row);
            Ok(())
        }
    }

    impl indicatif::TermLike for Screen {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
            self.edit(|_, row| *row = row.saturating_sub(n))
        }
        fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
            self.edit(|_, row| *row += n)
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(s)?;
            self.edit(|_, row| *row += 1)
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.edit(|lines, row| {
                if lines.len() <= *row {
                    lines.resize(*row + 1, String::new());
                }
                lines[*row].push_str(s);
            })
        }
        fn clear_line(&self) -> std::io::Result<()> {
            self.edit(|lines, row| {
                if let Some(l) = lines.get_mut(*row) {
                    l.clear();
                }
            })
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn spinner_on(multi: &MultiProgress) -> indicatif::ProgressBar {
        let pb = multi.add(indicatif::ProgressBar::new_spinner());
        pb.set_message("qfleet-lab-data computing changes");
        pb.tick();
        pb
    }

    #[test]
    fn hiding_the_bars_for_a_question_clears_the_spinner_lines() {
        let screen = Screen::default();
        let on = screen.clone();
        let bars = Bars::drawing_on(move || ProgressDrawTarget::term_like(Box::new(on.clone())));
        let pb = spinner_on(&bars);
        assert!(screen.text().contains("computing changes"), "drawn");
        bars.set_draw_target(ProgressDrawTarget::hidden());
        assert!(
            !screen.text().contains("computing changes"),
            "left behind: {:?}",
            screen.text()
        );
        // Ctrl-C at the question: the spinner goes with the run, nothing is drawn again.
        drop(pb);
        assert!(screen.text().trim().is_empty(), "{:?}", screen.text());
    }

    #[test]
    fn without_the_clearing_a_hidden_spinner_line_stays_on_screen() {
        // The behaviour `Bars` corrects, so that the test above tests something.
        let screen = Screen::default();
        let multi = MultiProgress::new();
        multi.set_draw_target(ProgressDrawTarget::term_like(Box::new(screen.clone())));
        let pb = spinner_on(&multi);
        multi.set_draw_target(ProgressDrawTarget::hidden());
        drop(pb);
        assert!(screen.text().contains("computing changes"));
    }

    #[test]
    fn the_spinners_are_cleared_when_the_run_ends_with_one_still_up() {
        let screen = Screen::default();
        let on = screen.clone();
        let bars = Bars::drawing_on(move || ProgressDrawTarget::term_like(Box::new(on.clone())));
        let _still_up = spinner_on(&bars);
        drop(bars);
        assert!(
            !screen.text().contains("computing changes"),
            "{:?}",
            screen.text()
        );
    }
}
