//! The signals that stop a run the way Ctrl-C does: SIGINT (Ctrl-C), SIGTERM (what `timeout`,
//! `docker stop`, Kubernetes and CI runners send on cancel) and SIGHUP (a closed terminal or
//! SSH session). Each ends a waiting command through the same path: change sets in flight are
//! deleted, the run says what it left, prints its one document, and exits with the shell's
//! code for the signal, 128 + its number (130, 143, 129).
//!
//! One listener for the whole process ([`listen`], started before any work) records the first
//! signal, so that a signal received between two waits is not lost: the next wait
//! ([`interrupted`]) ends at once. A signal that no wait takes up within [`GRACE`] (a command
//! that never waits on AWS, such as `render`) ends the process with the signal's code, as the
//! signal's default action would have.
//!
//! - POSIX: a shell reports a command killed by signal N as exit status 128 + N (Shell Command
//!   Language, 2.8.2 Exit Status for Commands):
//!   <https://pubs.opengroup.org/onlinepubs/9699919799/utilities/V3_chap02.html#tag_18_08_02>
//! - SIGTERM is what ECS sends a task's containers on stop, SIGKILL after the stop timeout
//!   (StopTask): <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html>

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

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

/// The first signal received (its number; 0: none yet).
static RECEIVED: AtomicU8 = AtomicU8::new(0);
/// How many waits ([`interrupted`]) are pending now.
static WAITING: AtomicUsize = AtomicUsize::new(0);
/// Told of the first signal; each wait subscribes to it.
static TOLD: OnceLock<tokio::sync::watch::Sender<Option<Signal>>> = OnceLock::new();

fn told() -> &'static tokio::sync::watch::Sender<Option<Signal>> {
    TOLD.get_or_init(|| tokio::sync::watch::channel(None).0)
}

/// The signal that interrupted the run, if one did.
pub(super) fn received() -> Option<Signal> {
    Signal::from_number(RECEIVED.load(Ordering::SeqCst))
}

/// Records `signal` as received (the first one counts) and tells every wait.
fn record(signal: Signal) {
    let _ = RECEIVED.compare_exchange(0, signal.number(), Ordering::SeqCst, Ordering::SeqCst);
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
                        std::thread::spawn(move || end_if_not_taken_up(signal));
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

/// A wait that takes a signal up for as long as it lives: a command that, once interrupted,
/// still waits for something to end on its own (a worker releasing the messages it holds)
/// holds one, so that the process is not ended under it.
pub(crate) struct Holding(());

impl Holding {
    pub(crate) fn new() -> Holding {
        WAITING.fetch_add(1, Ordering::SeqCst);
        Holding(())
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        WAITING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Ends the process with the signal's code when no wait is pending to take the signal up
/// within [`GRACE`]: the run is not at a point that can stop cleanly, and a signal must not be
/// ignored.
fn end_if_not_taken_up(signal: Signal) {
    let step = Duration::from_millis(50);
    let mut waited = Duration::ZERO;
    while waited < GRACE {
        if WAITING.load(Ordering::SeqCst) > 0 {
            return;
        }
        std::thread::sleep(step);
        waited += step;
    }
    if WAITING.load(Ordering::SeqCst) == 0 {
        exit_now(signal);
    }
}

/// Leaves the process at once with the signal's code, after a line on stderr.
fn exit_now(signal: Signal) -> ! {
    use std::io::Write;
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
    struct Pending;
    impl Drop for Pending {
        fn drop(&mut self) {
            WAITING.fetch_sub(1, Ordering::SeqCst);
        }
    }
    WAITING.fetch_add(1, Ordering::SeqCst);
    let _pending = Pending;
    let mut rx = told().subscribe();
    loop {
        if let Some(s) = *rx.borrow_and_update() {
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
