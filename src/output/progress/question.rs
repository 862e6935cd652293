//! Questions on the terminal, the same for deploy and teardown: one per environment, showing
//! what would happen, answered `y` (yes), `n` or Enter (no) or, when several environments
//! share the terminal, `a` (yes to this one and to every remaining one that loses no data).
//! A question that says data would be lost is always asked, whatever was answered before.
//!
//! While a question is up the spinners are hidden and the other environments' progress lines
//! are held back, then printed once it is answered, so that nothing is drawn over the question
//! or lost.

use super::Reporter;
use crate::error::Result;
use std::collections::{BTreeSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// An answer to a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// Yes, and yes to the questions of the remaining environments (those losing no data).
    All,
}

/// Reads a typed answer: `y`/`yes`, `a`/`all` (only where offered), anything else is no.
fn parse_answer(typed: &str, all_offered: bool) -> Answer {
    match typed.trim().to_lowercase().as_str() {
        "y" | "yes" => Answer::Yes,
        "a" | "all" if all_offered => Answer::All,
        _ => Answer::No,
    }
}

/// A question about one environment.
pub struct Question<'a> {
    pub(crate) environment: &'a str,
    /// What would happen, printed right above the question (even with `--output json`: the
    /// question and its preview go to stderr).
    pub(crate) preview: &'a str,
    /// The question itself, without the answers (`lab: deploy these changes?`).
    pub(crate) text: &'a str,
    /// Data would be lost: asked even after `a`.
    pub(crate) loses_data: bool,
}

/// The state of the questions of one run.
#[derive(Default)]
pub(super) struct Asking {
    /// Lines printed while a question is up, printed once it is answered.
    held: Mutex<Option<Vec<String>>>,
    /// Several environments share the terminal: the questions offer `a`.
    several: AtomicBool,
    yes_to_all: AtomicBool,
    /// The environments whose question was answered no.
    declined: Mutex<BTreeSet<String>>,
    /// Answers given in advance (tests), instead of reading the terminal.
    scripted: Option<Mutex<VecDeque<Answer>>>,
    /// Every question put, as printed (without its preview).
    asked: Mutex<Vec<String>>,
}

impl Asking {
    /// Holds `text` back while a question is up; `false` when none is.
    pub(super) fn hold(&self, text: &str) -> bool {
        match self.held.lock() {
            Ok(mut held) => match held.as_mut() {
                Some(lines) => {
                    lines.push(text.to_string());
                    true
                }
                None => false,
            },
            Err(_) => false,
        }
    }
}

/// The question about an environment, deploy and teardown alike: `lab: deploy these changes
/// (…)?`, or, when data would be lost, `lab: DATA WOULD BE LOST (…). Deploy these changes (…)
/// anyway?`. `what` is the action in lower case; `losses` what would be lost.
pub fn question_text(environment: &str, what: &str, losses: &[String]) -> String {
    if losses.is_empty() {
        return format!("{environment}: {what}?");
    }
    let mut chars = what.chars();
    let what = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
        None => String::new(),
    };
    format!(
        "{environment}: DATA WOULD BE LOST ({}). {what} anyway?",
        losses.join("; ")
    )
}

/// What is said when an environment's question is answered no, deploy and teardown alike.
pub fn cancelled(environment: &str) -> String {
    format!("{environment}: cancelled, nothing changed")
}

/// The answers a question offers.
fn choices(all_offered: bool) -> &'static str {
    if all_offered {
        "[y/N/a: yes to all]"
    } else {
        "[y/N]"
    }
}

impl<E: crate::output::event::Event> Reporter<E> {
    /// A reporter whose questions are answered by `answers`, in order (no more: no).
    #[cfg(test)]
    pub(crate) fn answering(out: super::Output, answers: &[Answer]) -> Reporter<E> {
        let mut r = Reporter::new(out);
        r.asking.scripted = Some(Mutex::new(answers.iter().copied().collect()));
        r
    }

    /// The questions put so far.
    #[cfg(test)]
    pub(crate) fn questions(&self) -> Vec<String> {
        self.asking
            .asked
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default()
    }

    /// Several environments share this terminal: questions offer `a` (yes to all).
    pub(crate) fn several_environments(&self, several: bool) {
        self.asking.several.store(several, Ordering::SeqCst);
    }

    /// Whether the question about `environment` was answered no.
    #[cfg(test)]
    pub(crate) fn declined(&self, environment: &str) -> bool {
        self.asking
            .declined
            .lock()
            .map(|d| d.contains(environment))
            .unwrap_or(false)
    }

    /// Asks the question about an environment, its preview right above it. `Ok(true)` for yes
    /// (or an earlier `a`, unless data would be lost); a no is remembered ([`Reporter::declined`]).
    /// Ctrl-C while it waits is left to the run's interrupt handler (see `read_answer`).
    pub(crate) async fn ask(&self, q: Question<'_>) -> Result<bool> {
        let _guard = self.prompt.lock().await;
        // `a` never answers a question about data loss, so such a question does not offer it.
        let all_offered = self.asking.several.load(Ordering::SeqCst) && !q.loses_data;
        if self.asking.yes_to_all.load(Ordering::SeqCst) && !q.loses_data {
            self.say(&format!(
                "{}{} yes (answered a: yes to all)",
                with_newline(q.preview),
                q.text
            ));
            return Ok(true);
        }
        let answer = self
            .put(
                &format!("{}{}", with_newline(q.preview), q.text),
                all_offered,
            )
            .await?;
        match answer {
            Answer::Yes => Ok(true),
            Answer::All => {
                self.asking.yes_to_all.store(true, Ordering::SeqCst);
                Ok(true)
            }
            Answer::No => {
                if let Ok(mut d) = self.asking.declined.lock() {
                    d.insert(q.environment.to_string());
                }
                Ok(false)
            }
        }
    }

    /// Asks a plain yes/no question (one step within an environment's run, such as retrying a
    /// failed deletion): `Ok(true)` only for yes.
    pub(crate) async fn confirm(&self, question: &str) -> Result<bool> {
        let _guard = self.prompt.lock().await;
        Ok(self.put(question, false).await? == Answer::Yes)
    }

    /// Prints on stderr whatever the output format (questions and their previews).
    fn say(&self, text: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(crate::output::once::shorten_text(text));
            }
            None => crate::output::stderr_line(text),
        }
    }

    /// Puts a question (the caller holds the prompt lock) and reads its answer, holding other
    /// lines back and the spinners hidden meanwhile.
    async fn put(&self, text: &str, all_offered: bool) -> Result<Answer> {
        if let Ok(mut held) = self.asking.held.lock() {
            held.get_or_insert_with(Vec::new);
        }
        if let Some(m) = &self.multi {
            m.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let question = format!("{text} {} ", choices(all_offered));
        if let Ok(mut asked) = self.asking.asked.lock() {
            asked.push(question.trim_end().to_string());
        }
        let answer = match &self.asking.scripted {
            Some(answers) => Ok(answers
                .lock()
                .ok()
                .and_then(|mut a| a.pop_front())
                .unwrap_or(Answer::No)),
            None => {
                crate::output::stderr_write(&question);
                read_answer(all_offered).await
            }
        };
        if let Some(m) = &self.multi {
            m.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        let held = self
            .asking
            .held
            .lock()
            .ok()
            .and_then(|mut h| h.take())
            .unwrap_or_default();
        for line in held {
            self.line(line);
        }
        answer
    }
}

fn with_newline(preview: &str) -> String {
    if preview.is_empty() || preview.ends_with('\n') {
        preview.to_string()
    } else {
        format!("{preview}\n")
    }
}

/// Reads one line from the terminal on a thread of its own, so that Ctrl-C is not stuck
/// behind it until the next Enter. End of input is no.
///
/// Ctrl-C (or SIGTERM, SIGHUP) while it waits ends the line and leaves the question unanswered
/// for good: the run's interrupt handler (`Session::each_until_interrupted`, around every
/// command that asks) stops the run at once (exit 130, 143, 129) and deletes what was
/// registered in flight. Answering here instead would let the environment's run end on its own
/// first and race that cleanup.
async fn read_answer(all_offered: bool) -> Result<Answer> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut typed = String::new();
        let answer = match std::io::stdin().read_line(&mut typed) {
            Ok(_) => parse_answer(&typed, all_offered),
            Err(_) => Answer::No,
        };
        let _ = tx.send(answer);
    });
    tokio::select! {
        a = rx => Ok(a.unwrap_or(Answer::No)),
        _ = crate::error::interrupted() => {
            crate::output::stderr_line("");
            std::future::pending().await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::event::contract::NoEvent;
    use crate::output::{Format, Output};

    fn out() -> Output {
        Output {
            format: Format::Text,
            interactive: false,
            command: "test",
        }
    }

    #[test]
    fn only_yes_and_an_offered_all_are_yes() {
        for (typed, offered, expected) in [
            ("y\n", false, Answer::Yes),
            (" YES ", false, Answer::Yes),
            ("a\n", true, Answer::All),
            ("all", true, Answer::All),
            ("a\n", false, Answer::No),
            ("\n", true, Answer::No),
            ("n", true, Answer::No),
            ("yep", true, Answer::No),
        ] {
            assert_eq!(parse_answer(typed, offered), expected, "{typed:?}");
        }
    }

    fn q<'a>(env: &'a str, loses_data: bool) -> Question<'a> {
        Question {
            environment: env,
            preview: "",
            text: "deploy?",
            loses_data,
        }
    }

    #[tokio::test]
    async fn all_answers_the_rest_but_never_a_question_that_loses_data() {
        let r = Reporter::<NoEvent>::answering(out(), &[Answer::All, Answer::No]);
        r.several_environments(true);
        assert!(r.ask(q("a", false)).await.unwrap());
        assert!(r.ask(q("b", false)).await.unwrap(), "answered by the a");
        assert!(!r.ask(q("c", true)).await.unwrap(), "data loss is asked");
        assert!(r.ask(q("d", false)).await.unwrap());
        assert_eq!(r.questions().len(), 2, "{:?}", r.questions());
        assert!(r.questions()[0].ends_with("[y/N/a: yes to all]"));
        assert!(
            r.questions()[1].ends_with("deploy? [y/N]"),
            "not offered: {:?}",
            r.questions()
        );
        assert!(r.declined("c") && !r.declined("a") && !r.declined("d"));
    }

    #[tokio::test]
    async fn one_environment_is_offered_yes_or_no_and_no_is_remembered() {
        let r = Reporter::<NoEvent>::answering(out(), &[Answer::No]);
        assert!(!r.ask(q("lab", false)).await.unwrap());
        assert!(r.declined("lab"));
        assert_eq!(r.questions(), ["deploy? [y/N]"]);
        // No answer left: no.
        assert!(!r.confirm("again?").await.unwrap());
    }

    #[tokio::test]
    async fn lines_printed_while_a_question_is_up_are_held_back() {
        let r = Reporter::<NoEvent>::answering(out(), &[Answer::Yes]);
        assert!(!r.asking.hold("before"), "no question up");
        if let Ok(mut h) = r.asking.held.lock() {
            *h = Some(Vec::new());
        }
        assert!(r.asking.hold("during"));
        assert!(r.ask(q("lab", false)).await.unwrap());
        assert!(!r.asking.hold("after"), "released once answered");
    }
}
