//! Heartbeats: each of the server's long-lived threads beats once per turn of its loop, and
//! `/healthz` says healthy only while every one of them has beaten lately.
//!
//! A thread that panics ends the process (see [`exit_on_panic`]); a thread that is stuck (a
//! lock, a blocking write, a loop that never ends) stops beating, and `/healthz` names it, so
//! that a supervisor restarts the server rather than trusting a process that is only alive.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a thread may go without a beat before `/healthz` calls it stuck. Every thread's loop
/// turns at least every 500 ms when idle (the aggregator's tick; the I/O threads', acceptor's and
/// HTTP listener's 250 ms waits), so this is ten missed turns: far from a busy moment, close
/// enough that a supervisor polling every few seconds sees a stuck thread at its next look.
pub const STALE: Duration = Duration::from_secs(5);

/// The status a process ends with when one of its threads panicked: `EX_SOFTWARE`, an internal
/// error, so that systemd (`Restart=on-failure`) or a container runtime starts it again.
pub const PANIC_EXIT: i32 = 70;

/// Makes a panic on any thread end the whole process, after the usual message, with
/// [`PANIC_EXIT`]. Without it a panicking I/O thread or aggregator would leave a process that
/// still answers `/healthz` and Prometheus while every agent is turned away.
pub fn exit_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        let thread = std::thread::current();
        crate::log!(
            "thread `{}` panicked: the server cannot go on safely and exits",
            thread.name().unwrap_or("unnamed")
        );
        std::process::exit(PANIC_EXIT);
    }));
}

/// Every thread that beats, by name.
#[derive(Debug)]
pub struct Heartbeats {
    /// The epoch of the beats' times.
    start: Instant,
    threads: Mutex<Vec<(String, Arc<AtomicU64>)>>,
}

/// One thread's heartbeat: the time of its last beat, as milliseconds since the
/// [`Heartbeats`]' epoch.
#[derive(Debug)]
pub struct Heartbeat {
    start: Instant,
    last: Arc<AtomicU64>,
    #[cfg(debug_assertions)]
    fault: Option<Fault>,
}

/// A fault the tests inject into one thread through `VITALS_TEST_FAULT=<panic|stall>:<thread>`,
/// read only by debug builds: the supervision is tested on the real binary, on each thread,
/// without a bug to trigger.
#[cfg(debug_assertions)]
#[derive(Debug, Clone, Copy)]
enum Fault {
    Panic,
    Stall,
}

impl Heartbeats {
    /// No threads yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Heartbeats {
            start: Instant::now(),
            threads: Mutex::new(Vec::new()),
        })
    }

    /// A heartbeat for the thread called `name`, which counts as having just beaten.
    pub fn register(&self, name: &str) -> Heartbeat {
        let beat = Heartbeat {
            start: self.start,
            last: Arc::new(AtomicU64::new(0)),
            #[cfg(debug_assertions)]
            fault: injected(name),
        };
        beat.last
            .store(beat.since_start(Instant::now()), Ordering::Relaxed);
        self.threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((name.to_owned(), beat.last.clone()));
        beat
    }

    /// The threads that have not beaten within [`STALE`] of `now`, with how long ago they last
    /// did; empty when all are well.
    pub fn stale(&self, now: Instant) -> Vec<(String, Duration)> {
        let now = u64::try_from(now.saturating_duration_since(self.start).as_millis())
            .unwrap_or(u64::MAX);
        self.threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter_map(|(name, last)| {
                let ago = Duration::from_millis(now.saturating_sub(last.load(Ordering::Relaxed)));
                (ago > STALE).then(|| (name.clone(), ago))
            })
            .collect()
    }
}

impl Heartbeat {
    /// Records that the thread is turning its loop.
    pub fn beat(&self) {
        #[cfg(debug_assertions)]
        match self.fault {
            Some(Fault::Panic) => panic!("fault injected by VITALS_TEST_FAULT"),
            Some(Fault::Stall) => loop {
                std::thread::park();
            },
            None => {}
        }
        self.last
            .store(self.since_start(Instant::now()), Ordering::Relaxed);
    }

    fn since_start(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }
}

/// The fault `VITALS_TEST_FAULT` asks of the thread called `name`, if any.
#[cfg(debug_assertions)]
fn injected(name: &str) -> Option<Fault> {
    let wanted = std::env::var("VITALS_TEST_FAULT").ok()?;
    let (fault, thread) = wanted.split_once(':')?;
    if thread != name {
        return None;
    }
    match fault {
        "panic" => Some(Fault::Panic),
        "stall" => Some(Fault::Stall),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_that_stops_beating_is_named_once_it_is_stale() {
        let beats = Heartbeats::new();
        let (a, b) = (beats.register("io-0"), beats.register("aggregator"));
        let t0 = Instant::now();
        a.beat();
        b.beat();
        assert!(beats.stale(t0 + STALE / 2).is_empty());
        let later = t0 + STALE * 2;
        let stale: Vec<String> = beats.stale(later).into_iter().map(|(n, _)| n).collect();
        assert_eq!(stale, ["io-0", "aggregator"]);
        // Only the one that beats again is well again.
        a.last.store(a.since_start(later), Ordering::Relaxed);
        let stale: Vec<String> = beats.stale(later).into_iter().map(|(n, _)| n).collect();
        assert_eq!(stale, ["aggregator"]);
    }

    #[test]
    fn a_clock_read_before_the_epoch_is_not_stale_and_does_not_panic() {
        let early = Instant::now();
        let beats = Heartbeats::new();
        let _beat = beats.register("acceptor");
        assert!(beats.stale(early).is_empty());
    }
}
