//! The signals that stop a run the way Ctrl-C does: SIGINT (Ctrl-C), SIGTERM (what `timeout`,
//! `docker stop`, Kubernetes and CI runners send on cancel) and SIGHUP (a closed terminal or
//! SSH session). Each ends a waiting command through the same path: the run prints its one
//! document, saying where it left each environment, then deletes the change sets in flight
//! within a bounded time, and exits with the shell's code for the signal, 128 + its number
//! (130, 143, 129).
//!
//! One listener for the whole process ([`listen`], started before any work) records the first
//! signal, so that a signal received between two waits is not lost: the next wait
//! ([`interrupted`]) ends at once. A signal that no wait takes up within [`GRACE`] (a command
//! that never waits on AWS, such as `render`) ends the process with the signal's code, as the
//! signal's default action would have. Whatever the run does, its document is out within
//! [`SAID_BY`] of the first signal and the process ends within [`ENDED_BY`]; a second signal
//! ends it at once.
//!
//! - POSIX: a shell reports a command killed by signal N as exit status 128 + N (Shell Command
//!   Language, 2.8.2 Exit Status for Commands):
//!   <https://pubs.opengroup.org/onlinepubs/9699919799/utilities/V3_chap02.html#tag_18_08_02>
//! - SIGTERM is what ECS sends a task's containers on stop, SIGKILL after the stop timeout
//!   (StopTask): <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html>

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A signal that interrupts a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Signal {
    /// SIGHUP (1): the terminal or session closed.
    Hangup,
    /// SIGINT (2): Ctrl-C.
    #[default]
    Interrupt,
    /// SIGTERM (15): a polite stop (`timeout`, `docker stop`, Kubernetes, CI cancel).
    Terminate,
}

impl Signal {
    /// Every signal, in the order of their exit codes.
    const ALL: [Signal; 3] = [Signal::Hangup, Signal::Interrupt, Signal::Terminate];

    /// The signal's number on Linux and macOS.
    fn number(self) -> u8 {
        match self {
            Signal::Hangup => 1,
            Signal::Interrupt => 2,
            Signal::Terminate => 15,
        }
    }

    /// The exit code a shell gives a command the signal stopped: 128 + its number.
    pub(super) fn exit_code(self) -> u8 {
        128 + self.number()
    }

    /// Its name as `kill -l` says it.
    pub(super) fn name(self) -> &'static str {
        match self {
            Signal::Hangup => "SIGHUP",
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    fn from_number(n: u8) -> Option<Signal> {
        Signal::ALL.into_iter().find(|s| s.number() == n)
    }
}

/// How long a signal may wait for a wait to take it up before it ends the process.
const GRACE: Duration = Duration::from_secs(2);

/// By when, after the first signal, the run's one document is out: its own (an interrupted
/// run writes it before its cleanup), else one that says it could not tell where it left each
/// environment. Within the 3 s a CI step's log is read in.
const SAID_BY: Duration = Duration::from_millis(2500);

/// By when, after the first signal, the process has ended, cleanup or not. GitHub Actions
/// cancels a step with SIGINT, sends SIGTERM 7.5 s later and kills the process tree 2.5 s
/// after that (Workflow cancellation reference,
/// <https://docs.github.com/en/actions/reference/workflow-cancellation-reference>): the run ends
/// before the second signal. What the cleanup could not finish, the document names with the
/// command that cleans it up.
const ENDED_BY: Duration = Duration::from_secs(7);

/// What the cleanup leaves for the process's end: time to exit.
const MARGIN: Duration = Duration::from_millis(500);

/// The first signal received (its number; 0: none yet).
static RECEIVED: AtomicU8 = AtomicU8::new(0);
/// When the first signal was received.
static FIRST_AT: OnceLock<Instant> = OnceLock::new();
/// A wait ([`interrupted`]) took the signal up: the run is stopping on its own path.
static TAKEN: AtomicBool = AtomicBool::new(false);
/// How many [`Holding`]s live now.
static HOLDING: AtomicUsize = AtomicUsize::new(0);
/// Told of the first signal; each wait subscribes to it.
static TOLD: OnceLock<tokio::sync::watch::Sender<Option<Signal>>> = OnceLock::new();
/// Writes the run's document if none is out yet (the output layer's, [`on_deadline`]).
static SAY: OnceLock<Box<dyn Fn() + Send + Sync>> = OnceLock::new();

fn told() -> &'static tokio::sync::watch::Sender<Option<Signal>> {
    TOLD.get_or_init(|| tokio::sync::watch::channel(None).0)
}

/// The signal that interrupted the run, if one did.
pub(super) fn received() -> Option<Signal> {
    Signal::from_number(RECEIVED.load(Ordering::SeqCst))
}

/// Sets how the run's document is written when the run has not written it by the deadline
/// (once per process; the output layer's, which knows the format and the command).
pub(crate) fn on_deadline(say: impl Fn() + Send + Sync + 'static) {
    let _ = SAY.set(Box::new(say));
}

/// How long an interrupted run's cleanup may take: what is left of [`ENDED_BY`] since the
/// first signal, less a margin to end in (the whole of it when no signal came).
pub(crate) fn time_left() -> Duration {
    let budget = ENDED_BY.saturating_sub(MARGIN);
    FIRST_AT
        .get()
        .map_or(budget, |at| budget.saturating_sub(at.elapsed()))
}

/// Records `signal` as received (the first one counts) and tells every wait.
fn record(signal: Signal) {
    if RECEIVED
        .compare_exchange(0, signal.number(), Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        let _ = FIRST_AT.set(Instant::now());
    }
    if let Some(first) = received() {
        told().send_replace(Some(first));
    }
}

/// Starts the process's one listener of SIGINT, SIGTERM and SIGHUP (on its own thread, so
/// that it outlives every runtime a command makes); returns once they are caught. Without it
/// (in tests) [`interrupted`] still ends on [`record`].
#[cfg(unix)]
pub(crate) fn listen() {
    use tokio::signal::unix::{SignalKind, signal};
    let (ready, is_ready) = std::sync::mpsc::channel();
    let started = std::thread::Builder::new()
        .name("qfleet-signals".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                let _ = ready.send(());
                return;
            };
            rt.block_on(async move {
                let caught = (
                    signal(SignalKind::hangup()),
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::terminate()),
                );
                let _ = ready.send(());
                let (Ok(mut hup), Ok(mut int), Ok(mut term)) = caught else {
                    return;
                };
                let mut first = true;
                loop {
                    let signal = tokio::select! {
                        Some(()) = hup.recv() => Signal::Hangup,
                        Some(()) = int.recv() => Signal::Interrupt,
                        Some(()) = term.recv() => Signal::Terminate,
                        else => return,
                    };
                    record(signal);
                    if std::mem::take(&mut first) {
                        std::thread::spawn(move || watch(signal));
                    } else {
                        // A second signal: the user or the runner means it.
                        exit_now(received().unwrap_or(signal));
                    }
                }
            });
        });
    if started.is_ok() {
        let _ = is_ready.recv_timeout(Duration::from_secs(5));
    }
}

/// Elsewhere the runtime's Ctrl-C is the only signal, taken up by [`interrupted`].
#[cfg(not(unix))]
fn listen() {
    std::thread::spawn(|| {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            rt.block_on(async {
                while tokio::signal::ctrl_c().await.is_ok() {
                    record(Signal::Interrupt);
                }
            });
        }
    });
}

/// A command that, once interrupted, still waits for something to end on its own (a worker
/// releasing the messages it holds) holds one: while it lives, the deadlines do not end the
/// process; a second signal still does.
pub(crate) struct Holding(());

impl Holding {
    pub(crate) fn new() -> Holding {
        HOLDING.fetch_add(1, Ordering::SeqCst);
        Holding(())
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        HOLDING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Watches the run after the first signal: a signal no wait took up within [`GRACE`] (a
/// command that never waits on AWS, such as `render`) ends the process as the signal's
/// default action would; the run's document is out by [`SAID_BY`], and the process ends by
/// [`ENDED_BY`], unless a [`Holding`] lives.
fn watch(signal: Signal) {
    let since = FIRST_AT.get().copied().unwrap_or_else(Instant::now);
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let waited = since.elapsed();
        if !TAKEN.load(Ordering::SeqCst) && waited >= GRACE {
            exit_now(signal);
        }
        if HOLDING.load(Ordering::SeqCst) > 0 {
            continue;
        }
        if waited >= SAID_BY {
            say();
        }
        if waited >= ENDED_BY {
            exit_now(signal);
        }
    }
}

/// The run's document, unless it is out already.
fn say() {
    if let Some(say) = SAY.get() {
        say();
    }
}

/// Leaves the process at once with the signal's code, after its document (unless it is out)
/// and a line on stderr.
fn exit_now(signal: Signal) -> ! {
    use std::io::Write;
    say();
    let _ = std::io::stdout().lock().flush();
    let _ = writeln!(
        std::io::stderr().lock(),
        "qfleet: stopped by {}",
        signal.name()
    );
    std::process::exit(i32::from(signal.exit_code()))
}

/// Pending until a run-stopping signal is received (at once if one already was); the signal.
/// Use it where Ctrl-C would end a wait (`tokio::select!` beside the work).
pub(crate) async fn interrupted() -> Signal {
    let mut rx = told().subscribe();
    loop {
        if let Some(s) = *rx.borrow_and_update() {
            TAKEN.store(true, Ordering::SeqCst);
            return s;
        }
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_signal_exits_with_128_plus_its_number() {
        let codes: Vec<u8> = Signal::ALL.iter().map(|s| s.exit_code()).collect();
        assert_eq!(codes, [129, 130, 143]);
        assert_eq!(Signal::default(), Signal::Interrupt);
    }
}
