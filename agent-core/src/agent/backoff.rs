//! Backoff: how long the agent waits before it tries again, and what starts the wait afresh.
//!
//! Each failure doubles the delay from `backoff_min` up to `backoff_max`, and the delay is drawn
//! from the upper half of that ("equal jitter"), so that agents that lost one server do not all
//! return at once. Only a connection that proved itself resets it: the server acknowledged a
//! sample sent on it, or it stayed up for `backoff_max`.

use core::time::Duration;

use crate::time::Instant;

/// The reconnect delay's state, which the agent updates as connections come and go.
#[derive(Debug)]
pub(super) struct Backoff {
    /// Failures since a connection last proved itself; sets the delay. [`failed`](Self::failed)
    /// counts one, a connection that proves itself sets it back to 0.
    attempts: u32,
    /// While the connection has not proved itself: until when it must stay up to do so, and
    /// the welcome's `last_seq` (an ack past it is of a sample sent on this connection, and
    /// proves it too). `None` once proved, or when not connected.
    probation: Option<(Instant, u64)>,
    /// The jitter's xorshift64 state, from the agent's seed; never zero.
    rng: u64,
}

impl Backoff {
    /// No failure yet; the jitter drawn from `seed`.
    pub(super) fn new(seed: u64) -> Self {
        Backoff {
            attempts: 0,
            probation: None,
            // xorshift must not start at zero.
            rng: seed | 1,
        }
    }

    /// A connection was welcomed with `last_seq`: it proves itself by staying up until `until`,
    /// or by an ack past `last_seq`.
    pub(super) fn welcomed(&mut self, until: Instant, last_seq: u64) {
        self.probation = Some((until, last_seq));
    }

    /// The connection is up at `now`.
    pub(super) fn up_at(&mut self, now: Instant) {
        if self.probation.is_some_and(|(until, _)| now >= until) {
            self.proved();
        }
    }

    /// The server acknowledged the samples up to `seq`.
    pub(super) fn acked(&mut self, seq: u64) {
        if self
            .probation
            .is_some_and(|(_, welcomed_at)| seq > welcomed_at)
        {
            self.proved();
        }
    }

    /// A connection attempt failed or a connection was lost: the delay before the next try,
    /// `min` doubled per failure since a connection proved itself, capped at `max`, then a random
    /// point in its upper half.
    pub(super) fn failed(&mut self, min: Duration, max: Duration) -> Duration {
        self.attempts = self.attempts.saturating_add(1);
        self.probation = None;
        let min = u64::try_from(min.as_millis()).unwrap_or(u64::MAX);
        let max = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
        let doublings = self.attempts.saturating_sub(1).min(32);
        let base = min.saturating_mul(1u64 << doublings).min(max);
        let half = base / 2;
        Duration::from_millis(half + self.random() % (base - half + 1))
    }

    /// The connection has shown that it works: the next failure starts the backoff afresh. A
    /// welcome alone does not, or a server that welcomes and hangs up would be called again
    /// and again without a pause.
    fn proved(&mut self) {
        self.attempts = 0;
        self.probation = None;
    }

    fn random(&mut self) -> u64 {
        // xorshift64: good enough to spread reconnects, and needs no entropy source.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }
}
