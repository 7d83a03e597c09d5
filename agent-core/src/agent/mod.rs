//! `agent`: the connection state machine.
//!
//! ```text
//!            connect       open, hello sent            welcome
//! Disconnected ──► Connecting ──────────► Handshake ──────────► Ready ──┐ send samples,
//!   ▲  ▲  ▲             │                     │                   │  ◄──┘ take acks
//!   │  │  └─────────────┘ error/timeout       │                   │
//!   │  └──── backoff (capped, ◄───────────────┘ error/timeout     │
//!   └──────── with jitter) ◄──────────────────────────────────────┘ error
//! ```
//!
//! `Connecting` lasts no time with a transport whose `connect` waits; with one that does not
//! ([`Transport::poll_connect`]) the agent goes on recording samples meanwhile. In `Ready`, a
//! sample's line goes to the transport whole, and only when it says it can take it
//! ([`Transport::can_send`]); otherwise that line and the ones after it wait in the ring for a
//! later poll, so nothing waits on the network.
//!
//! The agent owns its [`Transport`] but no clock: every call takes `now`, and
//! [`Agent::poll_timeout`] says when it next needs to be called. A sample is encoded once, when it
//! is recorded, into a ring in storage the caller lends (a `static` on a board, a heap block on
//! Linux), and waits there until the server acknowledges it, so a reconnect sends again what was
//! not merged; when the ring is full the oldest samples are dropped, and those the server did
//! not merge are counted (see `losses`): the count travels in every later sample.
//!
//! An agent speaks one [`Protocol`], chosen when it is made. In v1 ([`Agent::new`]) a sample
//! is a serde value and its line says everything; in v2 ([`Agent::with_protocol`]) a sample is
//! the series it hands over ([`Agent::record_series`]), its line only their values, and the
//! series are declared apart: once per generation (a new one when they change), kept beside
//! the ring, and sent before the first values of each generation on each connection.
//!
//! The server is not trusted to be sane: an ack or a welcome for a sample never sent ends the
//! connection and drops nothing, each [`Agent::poll`] reads a bounded amount whatever the server
//! sends, and the backoff is reset only by a connection that proved itself, not by a welcome.
//!
//! # Layout
//!
//! In the order a sample crosses them:
//!
//! - `mod.rs`: [`Agent`], the state machine: [`record`](Agent::record) encodes a sample,
//!   [`poll`](Agent::poll) connects, sends what waits and reads the server's answers.
//! - `ring.rs`: where a sample's line waits, encoded, until the server acknowledges it.
//! - `declarations.rs`: protocol v2's declarations of the series, the current one and those
//!   before it, and [`record_series`](Agent::record_series), which makes them.
//! - `losses.rs`: which samples a full ring dropped: lost, or doubtful until an ack or a
//!   welcome tells whether the server merged them.
//! - `handshake.rs`: connect, hello, the answer to a challenge, and the welcome, after which
//!   the lines that wait are sent.
//! - `backoff.rs`: after a failure, the delay before the next try, and what resets it.
//! - `tests/`: the state machine's tests, by concern, with their fake transport.

// Without `alloc` nothing can be boxed: a `Lost` carries the server's error message inline.
#![allow(clippy::result_large_err, clippy::large_enum_variant)]

use core::fmt;
use core::time::Duration;

use serde::Serialize;

use crate::auth::{self, Key, Sealer};
use crate::time::Instant;
use crate::transport::{Transport, TransportError};
use crate::wire::{
    self, Code, DecodeError, Decoder, EncodeError, FeedResult, Hello, SampleMessage, ServerLine,
};

mod backoff;
mod declarations;
mod handshake;
mod losses;
mod ring;

use backoff::Backoff;
use declarations::Declarations;
pub use declarations::declarations_room;
use handshake::encode_hello;
use losses::Losses;
use ring::{PushError, Ring};

/// How the agent paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Time between samples.
    pub interval: Duration,
    /// The first reconnect delay; each failure doubles it.
    pub backoff_min: Duration,
    /// The longest reconnect delay.
    pub backoff_max: Duration,
    /// How long to wait for the transport to open a connection (when it does not wait in
    /// `connect`), and then for `welcome` after `hello`.
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

/// The protocol version an agent speaks, chosen when it is made ([`Agent::with_protocol`]).
///
/// A v2 agent is recorded with [`Agent::record_series`] and keeps its declarations in a share
/// of its storage ([`declarations_room`]); a v1 agent is recorded with [`Agent::record`]. Each
/// says its version in its hello and keeps to it: a v2 agent refused by a v1 server
/// (`unsupported_version`) retries with its backoff, as for any refusal, and does not fall
/// back, so that one fleet never speaks both at once without someone choosing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// Version 1: every sample a `sample` line, whole.
    #[default]
    V1,
    /// Version 2: a `declare` line for the series, then `values` lines.
    V2,
}

impl Protocol {
    /// The `v` of its lines.
    pub fn version(self) -> u32 {
        match self {
            Protocol::V1 => wire::PROTOCOL_VERSION,
            Protocol::V2 => wire::PROTOCOL_V2,
        }
    }

    /// Bytes of `storage` that an agent of this version gives its ring (less its hello line,
    /// a few hundred bytes): all of it in v1, all but [`declarations_room`] and
    /// [`delta_room`] in v2. For [`ack_every`].
    pub fn ring_room(self, storage: usize) -> usize {
        match self {
            Protocol::V1 => storage,
            Protocol::V2 => {
                let rest = storage - declarations_room(storage);
                rest - delta_room(rest)
            }
        }
    }
}

/// In v2, the bytes of what the declarations leave of `storage` in which a `values` line is
/// written without the values it shares with the previous one ([`wire::delta`]), as it is sent:
/// an eighth, at most a whole line. A line longer than that goes whole.
pub fn delta_room(storage: usize) -> usize {
    (storage / 8).min(wire::MAX_LINE + 1)
}

/// The most samples this agent asks one ack to cover (see [`ack_every`]), below the protocol's
/// [`wire::MAX_ACK_EVERY`]: each more is one more sample that a restarted server is sent again,
/// for less and less saved on acks.
pub const MAX_ACK_EVERY_ASKED: u32 = 32;

const _: () = assert!(MAX_ACK_EVERY_ASKED <= wire::MAX_ACK_EVERY);

/// What an agent asks for as its hello's `ack_every`, for a ring of `storage` bytes and samples
/// of about `line` bytes encoded: as many as leave the ring room for twice that many samples of
/// that size, up to [`MAX_ACK_EVERY_ASKED`], and at least 1.
///
/// The other half of the ring is for samples taken while an ack is on its way, for samples that
/// grow after the hello (a new mount, a new interface), and for the end of the ring that a
/// record does not fit in. Fewer acks save the server a write and a wake-up of the agent for
/// each sample that is not acknowledged alone; what they cost is samples kept and, after the
/// server restarts, sent again. A board whose ring holds two samples gets 1, an ack for every
/// sample.
pub fn ack_every(storage: usize, line: usize) -> u32 {
    let record = line.saturating_add(ring::HEADER);
    u32::try_from(storage / record.saturating_mul(2))
        .unwrap_or(u32::MAX)
        .clamp(1, MAX_ACK_EVERY_ASKED)
}

/// Why a connection ended or could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lost {
    /// The transport failed.
    Transport(TransportError),
    /// The server sent an `error` message with this code (see [`wire::codes`]; the agent keeps
    /// the code, not the text for people, so that this stays small on a board's stack).
    Rejected(Code),
    /// The server sent a line that is not a valid message.
    Protocol(DecodeError),
    /// The server sent a message that makes no sense now.
    Unexpected(&'static str),
    /// No `welcome` within the handshake timeout.
    HandshakeTimeout,
    /// A message did not fit in the agent's line buffer.
    Encode(EncodeError),
    /// The agent has a key but the server welcomed it without a challenge: it may not be our
    /// server, so nothing is sent to it.
    Unauthenticated,
    /// The ring turned over before the server acknowledged what this connection was sent: it
    /// does not keep up. A new connection's welcome tells which of the dropped samples arrived.
    Overrun,
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lost::Transport(e) => write!(f, "{e}"),
            Lost::Rejected(code) if code == wire::codes::SHUTTING_DOWN => {
                write!(f, "server is going away ({code})")
            }
            Lost::Rejected(code) => match wire::codes::describe(code) {
                Some(meaning) => write!(f, "server refused: {meaning} ({code})"),
                // The server's own text: escaped, so that it cannot forge a log line.
                None => {
                    f.write_str("server refused (\"")?;
                    escape(code, f)?;
                    f.write_str("\")")
                }
            },
            Lost::Protocol(e) => write!(f, "bad message from server: {e}"),
            Lost::Unexpected(kind) => write!(f, "unexpected `{kind}` message from server"),
            Lost::HandshakeTimeout => f.write_str("no welcome from server in time"),
            Lost::Encode(e) => write!(f, "cannot encode: {e}"),
            Lost::Unauthenticated => {
                f.write_str("server did not challenge our key, so it is not trusted with samples")
            }
            Lost::Overrun => {
                f.write_str("the ring overflowed before the server acknowledged what it was sent")
            }
        }
    }
}

/// Writes `text` with every character but printable ASCII (and `"` and `\`) as an escape
/// (`\u{1b}`), so that a peer's text in a log line stays on that line and moves no cursor.
/// The agent keeps at most [`wire::MAX_CODE`] bytes of it, so it is short.
fn escape(text: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for c in text.chars() {
        match c {
            ' '..='~' if c != '"' && c != '\\' => f.write_str(c.encode_utf8(&mut [0; 4]))?,
            _ => write!(f, "\\u{{{:x}}}", u32::from(c))?,
        }
    }
    Ok(())
}

/// A change of state, for the caller to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The transport is connected and `hello` went out.
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
    /// Samples of this session known lost, the `dropped` of the next sample: dropped from a
    /// full ring (or, in v2, with a forgotten declaration) before any server merged them, or
    /// that could not be kept at all.
    pub dropped: u64,
    /// Samples dropped from a full ring that a server may have merged without acknowledging
    /// them yet; the next ack or welcome tells, and those it did not merge join `dropped`.
    pub doubtful: u64,
    /// Samples waiting for an acknowledgement.
    pub pending: usize,
    /// Connections that reached `welcome`.
    pub sessions: u64,
    /// Connection attempts that failed or connections lost.
    pub failures: u64,
}

/// Where the connection is; see the diagram in the module's doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No connection; the next try is at `retry_at`.
    Disconnected { retry_at: Instant },
    /// The transport is opening the connection, until `deadline`.
    Connecting { deadline: Instant },
    /// Hello is sent; the welcome (or first a challenge) must come by `deadline`.
    Handshake { deadline: Instant },
    /// Welcomed: samples flow and acks come back.
    Ready,
}

/// Bytes read from the transport at a time: a little over an ack, sealed. A longer line comes
/// in pieces, which the decoder joins.
const RX_CHUNK: usize = 128;

/// Reads of [`RX_CHUNK`] bytes in one [`Agent::poll`]: a few acks and a challenge. A server
/// that never stops sending then cannot keep the caller from its next sample; what is left is
/// read by the next poll (the transport is still readable, so the caller does not wait).
const RX_READS: usize = 4;

/// The agent: samples in, lines out, through `T`.
///
/// `'r` is the life of the ring's storage, into which samples are encoded where they wait for
/// their ack, and `RX` the longest line it accepts from the server.
#[derive(Debug)]
pub struct Agent<'r, T, const RX: usize = 1024> {
    /// The connection to the server. The agent connects, sends and reads through it; the
    /// caller waits on it between polls ([`transport`](Agent::transport)).
    transport: T,
    /// The hello's id, for the answer to a challenge and for [`id`](Agent::id).
    id: wire::AgentId,
    /// The hello's session, for the answer to a challenge.
    session: u64,
    /// The `hello` line, encoded once at the start of the caller's storage (a `Hello` is eight
    /// 128-byte texts; the line is what they weigh on the wire), or why it could not be.
    hello: Result<&'r [u8], EncodeError>,
    /// How the agent paces itself, as the caller gave it.
    config: Config,
    /// Where the connection is: `poll` and the handshake move it on, a failure back to
    /// `Disconnected`.
    state: State,
    /// The delay before the next try after a failure, and the probation that resets it.
    backoff: Backoff,
    /// The version this agent speaks, as the caller chose it.
    protocol: Protocol,
    /// Unacknowledged samples, encoded, with their sequence numbers, oldest first.
    ring: Ring<'r>,
    /// In v2, the declarations the samples in the ring follow: a share of the caller's storage
    /// ([`declarations_room`]) between the hello and the ring. Empty in v1.
    declarations: Declarations<'r>,
    /// In v2, the generation the next declaration gets: from 1, one more per declaration made.
    next_g: u32,
    /// In v2, the generation of the declaration last sent on this connection (0 for none):
    /// a sample of another one is preceded by its declaration. Every connection starts at 0.
    declared: u32,
    /// In v2, whether this connection's server reads `values` lines that leave out the values
    /// they share with the previous one (its welcome's `same`).
    same: bool,
    /// In v2, the sequence number of the last `values` line sent on this connection since its
    /// declaration (0 for none): the next one may leave out what it shares with that one.
    base: u64,
    /// In v2, where such a line is written ([`delta_room`] of the caller's storage).
    scratch: &'r mut [u8],
    /// The sequence number the next recorded sample gets: from 1, one more per
    /// [`record`](Agent::record) or [`record_series`](Agent::record_series), whether the
    /// sample could be kept or not.
    next_seq: u64,
    /// The highest sequence number handed to the transport on this connection, or the last
    /// one while there is none; a welcome sets it to its `last_seq`. An ack past it is a lie.
    sent: u64,
    /// The highest sequence number of this session handed to any transport: the hello's
    /// `last_sent`. A welcome whose `last_seq` is past it is a lie.
    last_sent: u64,
    /// Which dropped samples were lost.
    losses: Losses,
    /// A sample was lost while doubtful ones of this connection wait to be settled: nothing
    /// more may be sent on it (see `losses`), and the next poll gives it up.
    overrun: bool,
    /// When the next sample is due; [`record`](Agent::record) moves it one interval on.
    next_sample_at: Instant,
    /// The counters that [`stats`](Agent::stats) reports and the agent keeps itself; the rest it
    /// reads from the ring and the losses.
    stats: Stats,
    /// Joins the server's lines across reads; emptied by every new connection.
    decoder: Decoder<RX>,
    /// The pre-shared key, if this agent authenticates.
    key: Option<Key>,
    /// Once the server's challenge is answered: the sealers of what we send and receive.
    seals: Option<(Sealer, Sealer)>,
}

/// Why [`Agent::record`] could not keep a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// The sample cannot be encoded (a line longer than the protocol allows, say).
    Encode(EncodeError),
    /// The encoded sample is larger than the whole ring (the samples it held were dropped
    /// trying, and counted).
    TooLarge,
    /// In v2, the declaration of the sample's series is larger than the room for declarations
    /// (the declarations it held, and the samples that follow them, were dropped trying, and
    /// counted).
    DeclarationTooLarge,
    /// The sample was recorded by the other version's method (`record` for v1,
    /// `record_series` for v2) than the agent speaks; nothing was recorded.
    WrongProtocol,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Encode(e) => write!(f, "cannot encode the sample: {e}"),
            RecordError::TooLarge => f.write_str("the sample is larger than the whole ring"),
            RecordError::DeclarationTooLarge => {
                f.write_str("the declaration of the series is larger than the room for it")
            }
            RecordError::WrongProtocol => {
                f.write_str("the sample was recorded for the other protocol version")
            }
        }
    }
}

impl core::error::Error for RecordError {}

impl<'r, T, const RX: usize> Agent<'r, T, RX>
where
    T: Transport,
{
    /// A protocol v1 agent that will connect, and wants its first sample, at `now`: as
    /// [`with_protocol`](Agent::with_protocol) with [`Protocol::V1`]. Samples wait for their
    /// ack in `storage`: size it for the outage it should ride out (samples of a Raspberry Pi
    /// are about 2 KiB, of a 64-CPU server about 12 KiB). The `hello` line is kept at its
    /// start, a few hundred bytes; if it does not fit, every connection fails with
    /// [`Lost::Encode`].
    pub fn new(
        transport: T,
        hello: &Hello,
        config: Config,
        storage: &'r mut [u8],
        now: Instant,
    ) -> Self {
        Self::with_protocol(transport, hello, config, Protocol::V1, storage, now)
    }

    /// An agent that speaks `protocol`, will connect, and wants its first sample, at `now`.
    ///
    /// `storage` holds the `hello` line at its start, as in [`new`](Agent::new), then in v2 the
    /// declarations ([`declarations_room`] of what is left: a third, at most 128 KiB), and
    /// the ring in the rest. A v2 sample weighs about a quarter of a v1 sample (the documented
    /// one-CPU sample: 249 bytes against 1,039, and its declaration 995).
    pub fn with_protocol(
        transport: T,
        hello: &Hello,
        config: Config,
        protocol: Protocol,
        storage: &'r mut [u8],
        now: Instant,
    ) -> Self {
        let (id, session) = (hello.id.clone(), hello.session);
        let (hello, storage) = match encode_hello(protocol.version(), hello, storage) {
            Ok(n) => {
                let (line, rest) = storage.split_at_mut(n.min(storage.len()));
                (Ok(&*line), rest)
            }
            Err(e) => (Err(e), storage),
        };
        let room = match protocol {
            Protocol::V1 => 0,
            Protocol::V2 => declarations_room(storage.len()),
        };
        let (declarations, storage) = storage.split_at_mut(room.min(storage.len()));
        let room = match protocol {
            Protocol::V1 => 0,
            Protocol::V2 => delta_room(storage.len()),
        };
        let (scratch, storage) = storage.split_at_mut(room.min(storage.len()));
        Agent {
            transport,
            id,
            session,
            hello,
            config,
            state: State::Disconnected { retry_at: now },
            backoff: Backoff::new(config.seed),
            protocol,
            ring: Ring::new(storage),
            declarations: Declarations::new(declarations),
            next_g: 1,
            declared: 0,
            same: false,
            base: 0,
            scratch,
            next_seq: 1,
            sent: 0,
            last_sent: 0,
            losses: Losses::default(),
            overrun: false,
            next_sample_at: now,
            stats: Stats::default(),
            decoder: Decoder::new(),
            key: None,
            seals: None,
        }
    }

    /// This agent, proving its id with `key` when the server challenges it, sealing every line
    /// after that, and refusing a server that does not challenge it.
    #[must_use]
    pub fn with_key(mut self, key: Key) -> Self {
        self.key = Some(key);
        self
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
        Stats {
            pending: self.ring.len(),
            dropped: self.losses.lost_count(),
            doubtful: self.losses.doubtful_count(),
            ..self.stats
        }
    }

    /// This agent's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether a sample is due at `now`.
    pub fn sample_due(&self, now: Instant) -> bool {
        now >= self.next_sample_at
    }

    /// Protocol v1: encodes a sample taken at `now` into the ring and schedules the next one;
    /// returns its sequence number.
    ///
    /// When the ring is full the oldest samples are dropped; those no server merged are counted
    /// in the `dropped` of later samples.
    ///
    /// # Errors
    /// [`RecordError::WrongProtocol`] for an agent made for v2 (which records with
    /// [`record_series`](Agent::record_series)), and nothing is recorded. Otherwise when the
    /// sample cannot be kept; it is counted as dropped, its sequence number is skipped (so
    /// that the server counts it lost too), and the schedule moves on.
    pub fn record<S: Serialize + ?Sized>(
        &mut self,
        sample: &S,
        now: Instant,
    ) -> Result<u64, RecordError> {
        if self.protocol != Protocol::V1 {
            return Err(RecordError::WrongProtocol);
        }
        let seq = self.next_sample(now);
        let message = SampleMessage {
            seq,
            dropped: self.losses.lost_count(),
            sample,
        };
        let (losses, sent, mut overrun) = (&mut self.losses, self.sent, false);
        let kept = self.ring.push_with(
            seq,
            |space| wire::encode_body("sample", &message, space),
            |dropped| overrun |= losses.dropped(dropped, sent),
        );
        self.kept(seq, kept, overrun)
    }

    /// Schedules the sample after the one taken at `now`, and numbers this one.
    fn next_sample(&mut self, now: Instant) -> u64 {
        // Keep to the schedule, but never try to catch up on samples missed while busy.
        self.next_sample_at = self.next_sample_at + self.config.interval;
        if self.next_sample_at <= now {
            self.next_sample_at = now + self.config.interval;
        }
        let seq = self.next_seq;
        self.next_seq = seq.saturating_add(1);
        seq
    }

    /// Counts the sample `seq` as recorded or lost, after the ring was asked to keep it
    /// (`overrun`: whether the samples it dropped to make room ask the connection to stop).
    fn kept(
        &mut self,
        seq: u64,
        kept: Result<usize, PushError>,
        mut overrun: bool,
    ) -> Result<u64, RecordError> {
        let result = match kept {
            Ok(_) => {
                self.stats.recorded = self.stats.recorded.saturating_add(1);
                Ok(seq)
            }
            Err(PushError::TooLarge { .. }) => {
                overrun |= self.losses.lost(1);
                Err(RecordError::TooLarge)
            }
            Err(PushError::Encode(e)) => {
                overrun |= self.losses.lost(1);
                Err(RecordError::Encode(e))
            }
        };
        self.overrun |= overrun;
        result
    }

    /// When [`poll`](Agent::poll) or [`record`](Agent::record) next has work, if nothing
    /// arrives from the server before then, and the transport does not become ready to finish
    /// connecting or to take more bytes (a caller whose transport can say "not now" also waits
    /// for that).
    pub fn poll_timeout(&self) -> Instant {
        match self.state {
            State::Disconnected { retry_at } => retry_at.min(self.next_sample_at),
            State::Connecting { deadline } | State::Handshake { deadline } => {
                deadline.min(self.next_sample_at)
            }
            State::Ready => self.next_sample_at,
        }
    }

    /// Does the work that is due at `now`: connect, read what the server sent, send samples.
    ///
    /// Returns a state change, if any; call again until it returns `None`.
    ///
    /// Each call reads at most a few hundred bytes of what the server sent, so that a server
    /// that never stops sending cannot keep the caller from recording samples on schedule.
    pub fn poll(&mut self, now: Instant) -> Option<Event> {
        let result = match self.state {
            State::Disconnected { retry_at } if now < retry_at => return None,
            State::Disconnected { .. } => self.connect(now),
            State::Connecting { deadline } => self.finish_connect(now, deadline),
            State::Handshake { deadline } => match self.receive(now) {
                Ok(true) => Ok(Some(Event::Ready {
                    pending: self.ring.len(),
                })),
                Ok(false) if now >= deadline => Err(Lost::HandshakeTimeout),
                Ok(false) => Ok(None),
                Err(lost) => Err(lost),
            },
            State::Ready => {
                self.backoff.up_at(now);
                self.receive(now)
                    .and_then(|_| self.send_pending())
                    .map(|()| None)
            }
        };
        match result {
            Ok(event) => event,
            Err(reason) => Some(self.lose(now, reason)),
        }
    }

    /// Reads and handles what has arrived, up to [`RX_READS`] reads; returns whether a
    /// `welcome` was among it.
    fn receive(&mut self, now: Instant) -> Result<bool, Lost> {
        let mut welcomed = false;
        let mut chunk = [0u8; RX_CHUNK];
        for _ in 0..RX_READS {
            let n = self
                .transport
                .receive(&mut chunk)
                .map_err(Lost::Transport)?;
            if n == 0 {
                break;
            }
            let mut input = chunk.get(..n).unwrap_or_default();
            loop {
                let (decoder, seals) = (&mut self.decoder, &mut self.seals);
                let handshake = matches!(self.state, State::Handshake { .. });
                let fed = decoder.feed_with(input, |line| {
                    let sealed = auth::looks_sealed(line);
                    if let (Some((_, from_server)), true) = (&mut *seals, sealed) {
                        // The seal is a member no server message has: the line is read where
                        // it lies.
                        from_server.verify(line)?;
                    }
                    let message = wire::read_server_line(line)?;
                    // Once we have answered, every line is sealed but a refusal of the answer.
                    let refusal = handshake && matches!(message, ServerLine::Error { .. });
                    if seals.is_some() && !sealed && !refusal {
                        return Err(DecodeError::BadSeal);
                    }
                    Ok(message)
                });
                let message = match fed {
                    FeedResult::Consumed => break,
                    FeedResult::Error { error, .. } => return Err(Lost::Protocol(error)),
                    FeedResult::Message { message, remaining } => {
                        input = remaining;
                        message
                    }
                };
                match (message, self.state) {
                    (ServerLine::Challenge { nonce }, State::Handshake { .. })
                        if self.seals.is_none() =>
                    {
                        self.answer(nonce.as_bytes())?;
                    }
                    (ServerLine::Welcome { last_seq, same }, State::Handshake { .. }) => {
                        self.take_welcome(now, last_seq)?;
                        self.same = same;
                        welcomed = true;
                    }
                    // Likewise an ack of a sample this connection was not sent.
                    (ServerLine::Ack { seq }, State::Ready) if seq > self.sent => {
                        return Err(Lost::Protocol(DecodeError::InvalidValue("seq")));
                    }
                    (ServerLine::Ack { seq }, State::Ready) => {
                        self.backoff.acked(seq);
                        self.acknowledge(seq);
                        self.losses.acked(seq);
                    }
                    (ServerLine::Error { code }, _) => return Err(Lost::Rejected(code)),
                    (other, _) => return Err(Lost::Unexpected(other.kind())),
                }
            }
        }
        Ok(welcomed)
    }

    fn acknowledge(&mut self, seq: u64) {
        while self.ring.front_seq().is_some_and(|s| s <= seq) {
            self.ring.pop_front();
        }
    }

    fn send_pending(&mut self) -> Result<(), Lost> {
        if self.overrun {
            if self.losses.doubtful_count() > 0 {
                return Err(Lost::Overrun);
            }
            // An ack settled the run first: sending on keeps the doubtful samples one run.
            self.overrun = false;
        }
        let sent = self.sent;
        // The last line sent on this connection, whole, while it waits for its ack.
        let mut base = None;
        for record in self.ring.iter() {
            if record.seq <= sent {
                if record.seq == self.base {
                    base = Some(record.line);
                }
                continue;
            }
            let mut line = record.line;
            if self.protocol == Protocol::V2 {
                // Every record follows a kept declaration: one forgotten takes its records.
                let Some((g, declaration)) = self.declarations.of(record.seq) else {
                    break;
                };
                if g != self.declared {
                    if !send_line(&mut self.transport, &mut self.seals, declaration)? {
                        break;
                    }
                    self.declared = g;
                    base = None;
                }
                if let (true, Some(base)) = (self.same, base) {
                    if let Some(n) = wire::delta(base, record.line, self.scratch) {
                        line = self.scratch.get(..n).unwrap_or(record.line);
                    }
                }
            }
            if !send_line(&mut self.transport, &mut self.seals, line)? {
                break;
            }
            self.sent = record.seq;
            self.last_sent = self.last_sent.max(record.seq);
            if self.protocol == Protocol::V2 {
                base = Some(record.line);
                self.base = record.seq;
            }
        }
        Ok(())
    }

    fn lose(&mut self, now: Instant, reason: Lost) -> Event {
        let was_connected = matches!(self.state, State::Handshake { .. } | State::Ready);
        if matches!(&reason, Lost::Rejected(code) if code.as_str() == wire::codes::SHUTTING_DOWN) {
            self.transport.fail_over();
        }
        self.transport.disconnect();
        self.stats.failures = self.stats.failures.saturating_add(1);
        let retry_in = self
            .backoff
            .failed(self.config.backoff_min, self.config.backoff_max);
        self.state = State::Disconnected {
            retry_at: now + retry_in,
        };
        Event::Lost {
            reason,
            retry_in,
            was_connected,
        }
    }
}

/// Sends `line` whole, sealed when the connection is keyed, if the transport says it can take
/// it now; returns whether it did.
///
/// The transport is asked before sealing, so that a line that waits takes no seal (the seals
/// are numbered); sealing replaces the closing `}\n` with the seal and its own.
fn send_line<T: Transport>(
    transport: &mut T,
    seals: &mut Option<(Sealer, Sealer)>,
    line: &[u8],
) -> Result<bool, Lost> {
    let len = match seals {
        None => line.len(),
        Some(_) => line.len().saturating_sub(2) + auth::SEAL_LEN + 1,
    };
    if !transport.can_send(len) {
        // This line and, to keep their order, the ones after it go on a later poll.
        return Ok(false);
    }
    match seals {
        None => transport.send(line).map_err(Lost::Transport)?,
        Some((to_server, _)) => {
            // The line but its closing `}\n`, then the seal that closes it.
            let seal = to_server.seal(&[line]);
            let open = line.get(..line.len().saturating_sub(2));
            transport
                .send(open.unwrap_or_default())
                .map_err(Lost::Transport)?;
            transport.send(&seal).map_err(Lost::Transport)?;
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests;
