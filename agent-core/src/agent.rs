//! `agent`: the connection state machine.
//!
//! ```text
//!            connect ok, hello sent            welcome
//! Disconnected ──────────────────► Handshake ──────────► Ready ──┐ send samples,
//!      ▲  ▲                            │                   │  ◄──┘ take acks
//!      │  └──── backoff (capped, ◄─────┘ error/timeout     │
//!      └──────── with jitter) ◄────────────────────────────┘ error
//! ```
//!
//! The agent owns its [`Transport`] but no clock: every call takes `now`, and
//! [`Agent::poll_timeout`] says when it next needs to be called. Samples wait in a ring of `RING`
//! entries until the server acknowledges them, so a reconnect sends again what was not merged;
//! when the ring is full the oldest sample is dropped and counted, and the count travels in every
//! later sample.

use core::fmt;
use core::ops::Add;
use core::time::Duration;

use heapless::Deque;
use serde::Serialize;

use crate::sample::Sample;
use crate::transport::{Transport, TransportError};
use crate::wire::{
    self, DecodeError, Decoder, EncodeError, ErrorMessage, FeedResult, Hello, Message,
    SampleMessage,
};

/// A point in time, in milliseconds since an epoch of the caller's choosing (boot, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The instant `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Instant(ms)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, rhs: Duration) -> Instant {
        let ms = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(ms))
    }
}

/// How the agent paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Time between samples.
    pub interval: Duration,
    /// The first reconnect delay; each failure doubles it.
    pub backoff_min: Duration,
    /// The longest reconnect delay.
    pub backoff_max: Duration,
    /// How long to wait for `welcome` after `hello`.
    pub handshake_timeout: Duration,
    /// Seeds the jitter, so that agents that lost the same server do not all return at once.
    /// Give each agent a different one (its start time, its id's hash).
    pub seed: u64,
}

impl Config {
    /// Defaults around an interval: backoff from 500 ms to 30 s, 10 s to say hello.
    pub fn new(interval: Duration, seed: u64) -> Self {
        Config {
            interval,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(10),
            seed,
        }
    }
}

/// Why a connection ended or could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lost {
    /// The transport failed.
    Transport(TransportError),
    /// The server sent an `error` message.
    Rejected(ErrorMessage),
    /// The server sent a line that is not a valid message.
    Protocol(DecodeError),
    /// The server sent a message that makes no sense now.
    Unexpected(&'static str),
    /// No `welcome` within the handshake timeout.
    HandshakeTimeout,
    /// A message did not fit in the agent's line buffer.
    Encode(EncodeError),
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lost::Transport(e) => write!(f, "{e}"),
            Lost::Rejected(e) => write!(f, "server refused: {} ({})", e.message, e.code),
            Lost::Protocol(e) => write!(f, "bad message from server: {e}"),
            Lost::Unexpected(kind) => write!(f, "unexpected `{kind}` message from server"),
            Lost::HandshakeTimeout => f.write_str("no welcome from server in time"),
            Lost::Encode(e) => write!(f, "cannot encode: {e}"),
        }
    }
}

/// A change of state, for the caller to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The transport connected and `hello` went out.
    Connected,
    /// The server said `welcome`; samples flow. `pending` samples wait to be sent again.
    Ready {
        #[allow(missing_docs)]
        pending: usize,
    },
    /// The connection failed (`was_connected` false) or was lost; the next try is in `retry_in`.
    Lost {
        #[allow(missing_docs)]
        reason: Lost,
        #[allow(missing_docs)]
        retry_in: Duration,
        #[allow(missing_docs)]
        was_connected: bool,
    },
}

/// Counters about the agent itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Samples recorded in this session.
    pub recorded: u64,
    /// Samples dropped because the ring was full.
    pub dropped: u64,
    /// Samples waiting for an acknowledgement.
    pub pending: usize,
    /// Connections that reached `welcome`.
    pub sessions: u64,
    /// Connection attempts that failed or connections lost.
    pub failures: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Disconnected { retry_at: Instant },
    Handshake { deadline: Instant },
    Ready,
}

/// Bytes read from the transport at a time.
const RX_CHUNK: usize = 256;

/// The agent: samples in, lines out, through `T`.
///
/// `S` is the sample type, `RING` the samples kept until acknowledged, `LINE` the line buffer
/// (the longest line it can send, newline included) and `RX` the longest line it accepts from the
/// server.
#[derive(Debug)]
pub struct Agent<
    T,
    S = Sample,
    const RING: usize = 64,
    const LINE: usize = { wire::MAX_LINE + 1 },
    const RX: usize = 1024,
> {
    transport: T,
    hello: Hello,
    config: Config,
    state: State,
    /// Failures since the last welcome; sets the backoff.
    attempts: u32,
    rng: u64,
    /// Unacknowledged samples with their sequence numbers, oldest first.
    ring: Deque<(u64, S), RING>,
    next_seq: u64,
    /// The highest sequence number sent on this connection.
    sent: u64,
    next_sample_at: Instant,
    stats: Stats,
    tx: [u8; LINE],
    decoder: Decoder<RX>,
}

impl<T, S, const RING: usize, const LINE: usize, const RX: usize> Agent<T, S, RING, LINE, RX>
where
    T: Transport,
    S: Serialize,
{
    /// An agent that will connect, and wants its first sample, at `now`.
    pub fn new(transport: T, hello: Hello, config: Config, now: Instant) -> Self {
        Agent {
            transport,
            hello,
            config,
            state: State::Disconnected { retry_at: now },
            attempts: 0,
            // xorshift must not start at zero.
            rng: config.seed | 1,
            ring: Deque::new(),
            next_seq: 1,
            sent: 0,
            next_sample_at: now,
            stats: Stats::default(),
            tx: [0; LINE],
            decoder: Decoder::new(),
        }
    }

    /// The transport, to wait on it between polls.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Whether samples are flowing to a server now.
    pub fn is_ready(&self) -> bool {
        self.state == State::Ready
    }

    /// Counters about the agent.
    pub fn stats(&self) -> Stats {
        Stats { pending: self.ring.len(), ..self.stats }
    }

    /// The `hello` this agent sends.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// Whether a sample is due at `now`.
    pub fn sample_due(&self, now: Instant) -> bool {
        now >= self.next_sample_at
    }

    /// Queues a sample taken at `now` and schedules the next one; returns its sequence number.
    ///
    /// When the ring is full the oldest sample is dropped and counted.
    pub fn record(&mut self, sample: S, now: Instant) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.stats.recorded += 1;
        let mut entry = (seq, sample);
        while let Err(back) = self.ring.push_back(entry) {
            entry = back;
            if self.ring.pop_front().is_none() {
                // A ring of capacity zero keeps nothing.
                break;
            }
            self.stats.dropped += 1;
        }
        // Keep to the schedule, but never try to catch up on samples missed while busy.
        self.next_sample_at = self.next_sample_at + self.config.interval;
        if self.next_sample_at <= now {
            self.next_sample_at = now + self.config.interval;
        }
        seq
    }

    /// When [`poll`](Agent::poll) or [`record`](Agent::record) next has work, if nothing
    /// arrives from the server before then.
    pub fn poll_timeout(&self) -> Instant {
        match self.state {
            State::Disconnected { retry_at } => retry_at.min(self.next_sample_at),
            State::Handshake { deadline } => deadline.min(self.next_sample_at),
            State::Ready => self.next_sample_at,
        }
    }

    /// Does the work that is due at `now`: connect, read what the server sent, send samples.
    ///
    /// Returns a state change, if any; call again until it returns `None`.
    pub fn poll(&mut self, now: Instant) -> Option<Event> {
        let result = match self.state {
            State::Disconnected { retry_at } if now < retry_at => return None,
            State::Disconnected { .. } => self.connect(now),
            State::Handshake { deadline } => match self.receive() {
                Ok(true) => Ok(Some(Event::Ready { pending: self.ring.len() })),
                Ok(false) if now >= deadline => Err(Lost::HandshakeTimeout),
                Ok(false) => Ok(None),
                Err(lost) => Err(lost),
            },
            State::Ready => self.receive().and_then(|_| self.send_pending()).map(|()| None),
        };
        match result {
            Ok(event) => event,
            Err(reason) => Some(self.lose(now, reason)),
        }
    }

    fn connect(&mut self, now: Instant) -> Result<Option<Event>, Lost> {
        self.transport.connect().map_err(Lost::Transport)?;
        self.decoder.reset();
        self.state = State::Handshake { deadline: now + self.config.handshake_timeout };
        let hello: Message<S> = Message::Hello(self.hello.clone());
        send_line(&mut self.transport, &mut self.tx, &hello)?;
        Ok(Some(Event::Connected))
    }

    /// Reads and handles all that has arrived; returns whether a `welcome` was among it.
    fn receive(&mut self) -> Result<bool, Lost> {
        let mut welcomed = false;
        let mut chunk = [0u8; RX_CHUNK];
        loop {
            let n = self.transport.receive(&mut chunk).map_err(Lost::Transport)?;
            if n == 0 {
                return Ok(welcomed);
            }
            let mut input = chunk.get(..n).unwrap_or_default();
            loop {
                let message = match self.decoder.feed::<Sample<0, 0, 0, 0>>(input) {
                    FeedResult::Consumed => break,
                    FeedResult::Error { error, .. } => return Err(Lost::Protocol(error)),
                    FeedResult::Message { message, remaining } => {
                        input = remaining;
                        message
                    }
                };
                match (message, self.state) {
                    (Message::Welcome(welcome), State::Handshake { .. }) => {
                        self.state = State::Ready;
                        self.attempts = 0;
                        self.stats.sessions += 1;
                        self.acknowledge(welcome.last_seq);
                        self.sent = welcome.last_seq;
                        welcomed = true;
                    }
                    (Message::Ack(ack), State::Ready) => self.acknowledge(ack.seq),
                    (Message::Error(error), _) => return Err(Lost::Rejected(error)),
                    (other, _) => return Err(Lost::Unexpected(other.kind())),
                }
            }
        }
    }

    fn acknowledge(&mut self, seq: u64) {
        while self.ring.front().is_some_and(|&(s, _)| s <= seq) {
            self.ring.pop_front();
        }
    }

    fn send_pending(&mut self) -> Result<(), Lost> {
        for (seq, sample) in self.ring.iter() {
            if *seq <= self.sent {
                continue;
            }
            let message = Message::Sample(SampleMessage {
                seq: *seq,
                dropped: self.stats.dropped,
                sample,
            });
            send_line(&mut self.transport, &mut self.tx, &message)?;
            self.sent = *seq;
        }
        Ok(())
    }

    fn lose(&mut self, now: Instant, reason: Lost) -> Event {
        let was_connected = !matches!(self.state, State::Disconnected { .. });
        self.transport.disconnect();
        self.stats.failures += 1;
        self.attempts = self.attempts.saturating_add(1);
        let retry_in = self.backoff();
        self.state = State::Disconnected { retry_at: now + retry_in };
        Event::Lost { reason, retry_in, was_connected }
    }

    /// The delay before the next try: `backoff_min` doubled per failure, capped at
    /// `backoff_max`, then a random point in its upper half ("equal jitter").
    fn backoff(&mut self) -> Duration {
        let min = u64::try_from(self.config.backoff_min.as_millis()).unwrap_or(u64::MAX);
        let max = u64::try_from(self.config.backoff_max.as_millis()).unwrap_or(u64::MAX);
        let doublings = self.attempts.saturating_sub(1).min(32);
        let base = min.saturating_mul(1u64 << doublings).min(max);
        let half = base / 2;
        Duration::from_millis(half + self.random() % (base - half + 1))
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

fn send_line<T: Transport, S: Serialize>(
    transport: &mut T,
    tx: &mut [u8],
    message: &Message<S>,
) -> Result<(), Lost> {
    let len = wire::encode(message, tx).map_err(Lost::Encode)?;
    let line = tx.get(..len).unwrap_or_default();
    transport.send(line).map_err(Lost::Transport)
}

#[cfg(test)]
mod tests {
    use super::*;
}
