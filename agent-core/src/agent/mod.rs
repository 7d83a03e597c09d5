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
//! The server is not trusted to be sane: an ack or a welcome for a sample never sent ends the
//! connection and drops nothing, each [`Agent::poll`] reads a bounded amount whatever the server
//! sends, and the backoff is reset only by a connection that proved itself, not by a welcome.

// Without `alloc` nothing can be boxed: a `Lost` carries the server's error message inline.
#![allow(clippy::result_large_err, clippy::large_enum_variant)]

use core::fmt;
use core::time::Duration;

use serde::Serialize;

use crate::auth::{self, Direction, Key, NONCE_LEN, Sealer};
use crate::time::Instant;
use crate::transport::{Transport, TransportError};
use crate::wire::{
    self, Auth, Code, DecodeError, Decoder, EncodeError, FeedResult, Hello, SampleMessage,
    ServerLine,
};

mod losses;
mod ring;

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

/// Encodes `hello` into the start of `storage` without its `last_sent`, which the agent adds
/// as it sends the line; returns the line's length.
fn encode_hello(hello: &Hello, storage: &mut [u8]) -> Result<usize, EncodeError> {
    let n = wire::encode_body("hello", hello, storage)?;
    if hello.last_sent == 0 {
        return Ok(n);
    }
    // The last member, when it is there: `,"last_sent":N}\n` becomes `}\n`.
    let mut member = [0u8; 40];
    let cut = n.saturating_sub(last_sent_member(hello.last_sent, &mut member)?.len());
    storage
        .get_mut(cut..cut + 2)
        .ok_or(EncodeError::BufferFull)?
        .copy_from_slice(b"}\n");
    Ok(cut + 2)
}

/// `,"last_sent":N}` and the newline, for the end of the hello line.
fn last_sent_member(last_sent: u64, buf: &mut [u8]) -> Result<&[u8], EncodeError> {
    #[derive(Serialize)]
    struct Member {
        last_sent: u64,
    }
    // `{"last_sent":N}`, its brace turned into the comma that joins it to the hello's members.
    let n = serde_json_core::to_slice(&Member { last_sent }, buf)
        .map_err(|_| EncodeError::BufferFull)?;
    *buf.first_mut().ok_or(EncodeError::BufferFull)? = b',';
    *buf.get_mut(n).ok_or(EncodeError::BufferFull)? = b'\n';
    buf.get(..=n).ok_or(EncodeError::BufferFull)
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
    /// full ring before any server merged them, or that could not be kept at all.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Disconnected {
        retry_at: Instant,
    },
    /// The transport is opening the connection.
    Connecting {
        deadline: Instant,
    },
    Handshake {
        deadline: Instant,
    },
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
    transport: T,
    /// The agent's id and session, for the answer to a challenge.
    id: wire::AgentId,
    session: u64,
    /// The `hello` line, encoded once at the start of the caller's storage (a `Hello` is eight
    /// 128-byte texts; the line is what they weigh on the wire), or why it could not be.
    hello: Result<&'r [u8], EncodeError>,
    config: Config,
    state: State,
    /// Failures since a connection last proved itself; sets the backoff.
    attempts: u32,
    /// While the connection has not proved itself: until when it must stay up to do so, and
    /// the welcome's `last_seq` (an ack past it is of a sample sent on this connection, and
    /// proves it too). `None` once proved, or when not connected.
    probation: Option<(Instant, u64)>,
    rng: u64,
    /// Unacknowledged samples, encoded, with their sequence numbers, oldest first.
    ring: Ring<'r>,
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
    next_sample_at: Instant,
    stats: Stats,
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
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Encode(e) => write!(f, "cannot encode the sample: {e}"),
            RecordError::TooLarge => f.write_str("the sample is larger than the whole ring"),
        }
    }
}

impl core::error::Error for RecordError {}

impl<'r, T, const RX: usize> Agent<'r, T, RX>
where
    T: Transport,
{
    /// An agent that will connect, and wants its first sample, at `now`. Samples wait for
    /// their ack in `storage`: size it for the outage it should ride out (samples of a
    /// Raspberry Pi are about 2 KiB, of a 64-CPU server about 12 KiB). The `hello` line is kept
    /// at its start, a few hundred bytes; if it does not fit, every connection fails with
    /// [`Lost::Encode`].
    pub fn new(
        transport: T,
        hello: &Hello,
        config: Config,
        storage: &'r mut [u8],
        now: Instant,
    ) -> Self {
        let (id, session) = (hello.id.clone(), hello.session);
        let (hello, storage) = match encode_hello(hello, storage) {
            Ok(n) => {
                let (line, rest) = storage.split_at_mut(n.min(storage.len()));
                (Ok(&*line), rest)
            }
            Err(e) => (Err(e), storage),
        };
        Agent {
            transport,
            id,
            session,
            hello,
            config,
            state: State::Disconnected { retry_at: now },
            attempts: 0,
            probation: None,
            // xorshift must not start at zero.
            rng: config.seed | 1,
            ring: Ring::new(storage),
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

    /// Encodes a sample taken at `now` into the ring and schedules the next one; returns its
    /// sequence number.
    ///
    /// When the ring is full the oldest samples are dropped; those no server merged are counted
    /// in the `dropped` of later samples.
    ///
    /// # Errors
    /// When the sample cannot be kept; it is counted as dropped, its sequence number is
    /// skipped (so that the server counts it lost too), and the schedule moves on.
    pub fn record<S: Serialize + ?Sized>(
        &mut self,
        sample: &S,
        now: Instant,
    ) -> Result<u64, RecordError> {
        // Keep to the schedule, but never try to catch up on samples missed while busy.
        self.next_sample_at = self.next_sample_at + self.config.interval;
        if self.next_sample_at <= now {
            self.next_sample_at = now + self.config.interval;
        }
        let seq = self.next_seq;
        self.next_seq = seq.saturating_add(1);
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
                if self.probation.is_some_and(|(until, _)| now >= until) {
                    self.proved();
                }
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

    fn connect(&mut self, now: Instant) -> Result<Option<Event>, Lost> {
        self.transport.connect().map_err(Lost::Transport)?;
        self.decoder.reset();
        self.seals = None;
        let deadline = now + self.config.handshake_timeout;
        self.state = State::Connecting { deadline };
        self.finish_connect(now, deadline)
    }

    /// Once the transport has opened the connection: says hello.
    fn finish_connect(&mut self, now: Instant, deadline: Instant) -> Result<Option<Event>, Lost> {
        match self.transport.poll_connect().map_err(Lost::Transport)? {
            true => {}
            false if now >= deadline => return Err(Lost::Transport(TransportError::TimedOut)),
            false => return Ok(None),
        }
        self.state = State::Handshake {
            deadline: now + self.config.handshake_timeout,
        };
        let hello = self.hello.map_err(Lost::Encode)?;
        if self.last_sent == 0 {
            self.transport.send(hello).map_err(Lost::Transport)?;
        } else {
            // The line kept has no `last_sent`: it goes before the closing `}\n`.
            let mut member = [0u8; 40];
            let member = last_sent_member(self.last_sent, &mut member).map_err(Lost::Encode)?;
            let open = hello.get(..hello.len().saturating_sub(2));
            self.transport
                .send(open.unwrap_or_default())
                .map_err(Lost::Transport)?;
            self.transport.send(member).map_err(Lost::Transport)?;
        }
        Ok(Some(Event::Connected))
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
                    (ServerLine::Welcome { .. }, State::Handshake { .. })
                        if self.key.is_some() && self.seals.is_none() =>
                    {
                        return Err(Lost::Unauthenticated);
                    }
                    // The server cannot have merged a sample no server was sent: a lie, or
                    // another session's numbers. Believing it would drop the ring and then
                    // send nothing older, so the connection is refused and nothing dropped.
                    (ServerLine::Welcome { last_seq }, State::Handshake { .. })
                        if last_seq > self.last_sent =>
                    {
                        return Err(Lost::Protocol(DecodeError::InvalidValue("last_seq")));
                    }
                    (ServerLine::Welcome { last_seq }, State::Handshake { .. }) => {
                        self.state = State::Ready;
                        self.probation = Some((now + self.config.backoff_max, last_seq));
                        self.stats.sessions = self.stats.sessions.saturating_add(1);
                        self.acknowledge(last_seq);
                        self.losses.settle(last_seq);
                        self.overrun = false;
                        self.sent = last_seq;
                        welcomed = true;
                    }
                    // Likewise an ack of a sample this connection was not sent.
                    (ServerLine::Ack { seq }, State::Ready) if seq > self.sent => {
                        return Err(Lost::Protocol(DecodeError::InvalidValue("seq")));
                    }
                    (ServerLine::Ack { seq }, State::Ready) => {
                        if self
                            .probation
                            .is_some_and(|(_, welcomed_at)| seq > welcomed_at)
                        {
                            self.proved();
                        }
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

    /// The connection has shown that it works: the next failure starts the backoff afresh. A
    /// welcome alone does not, or a server that welcomes and hangs up would be called again
    /// and again without a pause.
    fn proved(&mut self) {
        self.attempts = 0;
        self.probation = None;
    }

    /// Answers the server's challenge: with the proof of our key (and from then on every line
    /// is sealed), or, without a key, with an empty answer, for the server to say it wants one.
    // Without the `auth` feature no key exists, and the compiler sees the keyed path is dead.
    // Not inlined: its buffers then share the stack with the reader of the server's lines
    // instead of adding to it (on a board, the deepest point of the agent's stack).
    #[cfg_attr(not(feature = "auth"), allow(unreachable_code))]
    #[inline(never)]
    fn answer(&mut self, nonce_hex: &[u8]) -> Result<(), Lost> {
        let mut nonce = [0u8; NONCE_LEN];
        auth::from_hex(nonce_hex, &mut nonce)
            .map_err(|_| Lost::Protocol(DecodeError::InvalidValue("nonce")))?;
        let mut answer = Auth::default();
        if let Some(key) = &self.key {
            let (id, session) = (self.id.as_str(), self.session);
            let mut hex = [0u8; 2 * auth::MAC_LEN];
            let proof = auth::proof(key, &nonce, id, session);
            answer.mac = crate::sample::bounded(auth::to_hex(&proof, &mut hex));
            self.seals = Some((
                Sealer::new(key, &nonce, id, Direction::FromAgent),
                Sealer::new(key, &nonce, id, Direction::FromServer),
            ));
        }
        // `{"v":1,"kind":"auth","mac":"<64 hex digits>"}` and its newline.
        let mut line = [0u8; 128];
        let n = wire::encode_body("auth", &answer, &mut line).map_err(Lost::Encode)?;
        self.transport
            .send(line.get(..n).unwrap_or_default())
            .map_err(Lost::Transport)
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
        for record in self.ring.iter().filter(|r| r.seq > sent) {
            let line = record.line.len();
            // Asked before sealing, so that a line that waits takes no seal (the seals are
            // numbered); sealing replaces the closing `}\n` with the seal and its own.
            let len = match self.seals {
                None => line,
                Some(_) => line.saturating_sub(2) + auth::SEAL_LEN + 1,
            };
            if !self.transport.can_send(len) {
                // This line and, to keep their order, the ones after it go on a later poll.
                break;
            }
            match &mut self.seals {
                None => self.transport.send(record.line).map_err(Lost::Transport)?,
                Some((to_server, _)) => {
                    // The line but its closing `}\n`, then the seal that closes it.
                    let seal = to_server.seal(&[record.line]);
                    let open = record.line.get(..line.saturating_sub(2));
                    self.transport
                        .send(open.unwrap_or_default())
                        .map_err(Lost::Transport)?;
                    self.transport.send(&seal).map_err(Lost::Transport)?;
                }
            }
            self.sent = record.seq;
            self.last_sent = self.last_sent.max(record.seq);
        }
        Ok(())
    }

    fn lose(&mut self, now: Instant, reason: Lost) -> Event {
        let was_connected = matches!(self.state, State::Handshake { .. } | State::Ready);
        self.transport.disconnect();
        self.stats.failures = self.stats.failures.saturating_add(1);
        self.attempts = self.attempts.saturating_add(1);
        self.probation = None;
        let retry_in = self.backoff();
        self.state = State::Disconnected {
            retry_at: now + retry_in,
        };
        Event::Lost {
            reason,
            retry_in,
            was_connected,
        }
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

#[cfg(test)]
mod tests {
    extern crate std;
    use std::collections::VecDeque;
    use std::string::String;
    use std::vec::Vec;

    use super::*;
    use crate::wire::{Ack, ErrorMessage, Message, Welcome, decode_line};

    /// A transport that records what is sent and replays scripted answers.
    #[derive(Debug, Default)]
    struct Fake {
        up: bool,
        /// Results of the next connects; empty means success.
        refuse: usize,
        /// Every byte sent, in order.
        out: Vec<u8>,
        inbox: VecDeque<u8>,
        fail_send: bool,
        /// Polls that find a connection still opening, after each `connect`.
        opening: usize,
        /// What `poll_connect` says once the connection has opened: `None` is success.
        open_error: Option<TransportError>,
        /// Polls that find the connection still opening, now.
        opening_left: usize,
        /// Bytes the transport can take now (`None`: any). `send` checks that it was asked.
        room: Option<usize>,
        /// Lines the server sends without end: the inbox is refilled with them whenever it
        /// runs dry, up to `flood_left` bytes (so that a test of an agent that reads without
        /// end fails instead of hanging).
        flood: Vec<u8>,
        flood_left: usize,
        /// Bytes the agent has read.
        received: usize,
    }

    impl Transport for Fake {
        fn connect(&mut self) -> Result<(), TransportError> {
            if self.refuse > 0 {
                self.refuse -= 1;
                return Err(TransportError::Refused);
            }
            self.up = true;
            self.opening_left = self.opening;
            Ok(())
        }
        fn poll_connect(&mut self) -> Result<bool, TransportError> {
            if self.opening_left > 0 {
                self.opening_left -= 1;
                return Ok(false);
            }
            self.open_error.map_or(Ok(true), Err)
        }
        fn can_send(&mut self, len: usize) -> bool {
            self.room.is_none_or(|room| len <= room)
        }
        fn send(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
            if !self.up {
                return Err(TransportError::NotConnected);
            }
            assert_eq!(self.opening_left, 0, "sent before the connection opened");
            if self.fail_send {
                return Err(TransportError::Reset);
            }
            if let Some(room) = &mut self.room {
                *room = room
                    .checked_sub(bytes.len())
                    .expect("sent more than the transport said it could take");
            }
            self.out.extend_from_slice(bytes);
            Ok(())
        }
        fn receive(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
            if !self.up {
                return Err(TransportError::NotConnected);
            }
            if self.inbox.is_empty() && !self.flood.is_empty() && self.flood_left > 0 {
                self.flood_left = self.flood_left.saturating_sub(self.flood.len());
                self.inbox.extend(&self.flood);
            }
            let n = buf.len().min(self.inbox.len());
            for b in buf.iter_mut().take(n) {
                *b = self.inbox.pop_front().unwrap();
            }
            self.received += n;
            Ok(n)
        }
        fn disconnect(&mut self) {
            self.up = false;
            self.inbox.clear();
        }
    }

    impl Fake {
        /// The lines sent so far.
        fn lines(&self) -> Vec<String> {
            String::from_utf8(self.out.clone())
                .unwrap()
                .split_inclusive('\n')
                .map(String::from)
                .collect()
        }
    }

    impl wire::Check for u32 {
        fn check(&self) -> Result<(), &'static str> {
            Ok(())
        }
    }

    type TestAgent = Agent<'static, Fake, 256>;

    /// Room for exactly four of the test's samples (55-byte lines, 12-byte headers).
    const FOUR_SAMPLES: usize = 4 * (12 + 55);

    fn test_hello() -> Hello {
        Hello {
            id: crate::sample::bounded("test"),
            interval_ms: 1000,
            ..Hello::default()
        }
    }

    /// The test hello's line, which the agent keeps at the start of its storage, and room for
    /// exactly four samples after it.
    fn storage() -> &'static mut [u8] {
        let mut line = [0u8; 512];
        let hello = wire::encode_body("hello", &test_hello(), &mut line).unwrap();
        Vec::leak(std::vec![0u8; hello + FOUR_SAMPLES])
    }

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn a_hello_that_does_not_fit_in_the_storage_fails_every_connection_clearly() {
        let mut a: TestAgent = Agent::new(
            Fake::default(),
            &test_hello(),
            Config::new(Duration::from_secs(1), 42),
            Vec::leak(std::vec![0u8; 64]),
            at(0),
        );
        assert!(matches!(
            a.poll(at(0)),
            Some(Event::Lost {
                reason: Lost::Encode(EncodeError::BufferFull),
                ..
            })
        ));
        assert!(a.transport.out.is_empty(), "nothing half sent");
    }

    fn agent() -> TestAgent {
        let hello = test_hello();
        Agent::new(
            Fake::default(),
            &hello,
            Config::new(Duration::from_secs(1), 42),
            storage(),
            at(0),
        )
    }

    fn push(agent: &mut TestAgent, message: Message<u32>) {
        let mut buf = [0u8; 256];
        let n = wire::encode(&message, &mut buf).unwrap();
        agent.transport.inbox.extend(&buf[..n]);
    }

    fn welcome(agent: &mut TestAgent, last_seq: u64) {
        push(
            agent,
            Message::Welcome(Welcome {
                server: crate::sample::bounded("s"),
                last_seq,
            }),
        );
    }

    /// The server hangs up (after saying so); the agent has lost the connection.
    fn hang_up(agent: &mut TestAgent, now: Instant) {
        push(
            agent,
            Message::Error(ErrorMessage {
                code: crate::sample::bounded(wire::codes::SHUTTING_DOWN),
                message: crate::sample::bounded("bye"),
            }),
        );
        assert!(
            matches!(drain(agent, now).as_slice(), [Event::Lost { .. }]),
            "the connection is lost"
        );
    }

    /// Polls until nothing happens, returning the events.
    fn drain(agent: &mut TestAgent, now: Instant) -> Vec<Event> {
        core::iter::from_fn(|| agent.poll(now)).take(20).collect()
    }

    /// Sequence numbers of the samples sent so far, in order.
    fn sent_seqs(agent: &TestAgent) -> Vec<u64> {
        agent
            .transport
            .lines()
            .iter()
            .filter_map(|l| match decode_line::<u32>(l.trim_end().as_bytes()) {
                Ok(Message::Sample(s)) => Some(s.seq),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn connects_says_hello_and_sends_samples_after_welcome() {
        let mut a = agent();
        assert!(a.sample_due(at(0)));
        a.record(&7_u32, at(0)).unwrap();
        assert_eq!(drain(&mut a, at(0)), [Event::Connected]);
        assert!(a.transport.lines()[0].starts_with(r#"{"v":1,"kind":"hello","id":"test""#));
        assert!(sent_seqs(&a).is_empty(), "no sample before welcome");
        welcome(&mut a, 0);
        assert_eq!(drain(&mut a, at(5)), [Event::Ready { pending: 1 }]);
        assert_eq!(sent_seqs(&a), [1]);
        assert_eq!(
            a.transport.lines()[1],
            "{\"v\":1,\"kind\":\"sample\",\"seq\":1,\"dropped\":0,\"sample\":7}\n"
        );
        // The next sample is due one interval later, not before.
        assert!(!a.sample_due(at(999)));
        assert!(a.sample_due(at(1000)));
        assert_eq!(a.poll_timeout(), at(1000));
    }

    #[test]
    fn acks_free_the_ring() {
        let mut a = agent();
        drain(&mut a, at(0));
        welcome(&mut a, 0);
        drain(&mut a, at(0));
        for i in 0..3 {
            a.record(&(i as u32), at(i as u64 * 1000)).unwrap();
        }
        drain(&mut a, at(3000));
        assert_eq!(a.stats().pending, 3);
        push(&mut a, Message::Ack(Ack { seq: 2 }));
        drain(&mut a, at(3000));
        assert_eq!(a.stats().pending, 1);
        assert_eq!(sent_seqs(&a), [1, 2, 3], "each sent once");
    }

    #[test]
    fn a_server_acking_as_seldom_as_the_agent_asks_never_makes_it_drop_a_sample() {
        // Ring sizes and sample sizes from a board's to a 64-CPU server's; in each case the
        // samples grow by half after the hello, as they may with a new mount or interface.
        for (storage, text, expected) in [
            (6 * 1024, 2_000, 1),
            (64 * 1024, 2_000, 15),
            (256 * 1024, 2_600, MAX_ACK_EVERY_ASKED),
            (256 * 1024, 12_000, 10),
            (1024 * 1024, 12_000, 43.min(MAX_ACK_EVERY_ASKED)),
        ] {
            let small = "x".repeat(text);
            let grown = "x".repeat(text + text / 2);
            let mut buf = std::vec![0u8; 3 * text];
            let line = wire::encode(
                &Message::Sample(SampleMessage {
                    seq: 1,
                    dropped: 0,
                    sample: small.as_str(),
                }),
                &mut buf,
            )
            .unwrap();
            assert_eq!(ack_every(storage, line), expected, "{storage} {text}");
            let every = u64::from(expected);
            let mut a: TestAgent = Agent::new(
                Fake::default(),
                &test_hello(),
                Config::new(Duration::from_secs(1), 42),
                Vec::leak(std::vec![0u8; storage]),
                at(0),
            );
            drain(&mut a, at(0));
            welcome(&mut a, 0);
            drain(&mut a, at(0));
            for seq in 1..=8 * every {
                let sample = if seq <= 4 * every { &small } else { &grown };
                let now = at(seq * 1000);
                a.record(&sample.as_str(), now).unwrap();
                drain(&mut a, now);
                if seq % every == 0 {
                    push(&mut a, Message::Ack(Ack { seq }));
                    drain(&mut a, now);
                }
            }
            let stats = a.stats();
            assert_eq!((stats.dropped, stats.pending), (0, 0), "{storage} {text}");
        }
    }

    #[test]
    fn backoff_grows_with_each_failure_and_is_capped() {
        let mut a = agent();
        a.transport.refuse = 100;
        let mut now = at(0);
        let mut delays = Vec::new();
        for _ in 0..12 {
            match drain(&mut a, now).as_slice() {
                [
                    Event::Lost {
                        reason: Lost::Transport(TransportError::Refused),
                        retry_in,
                        was_connected: false,
                    },
                ] => {
                    delays.push(retry_in.as_millis() as u64);
                    // Nothing happens before the retry is due.
                    assert!(drain(&mut a, now + (*retry_in - Duration::from_millis(1))).is_empty());
                    now = now + *retry_in;
                }
                other => panic!("{other:?}"),
            }
        }
        // Equal jitter: each delay lies in the upper half of 500 ms doubled per failure, capped at 30 s.
        for (i, &d) in delays.iter().enumerate() {
            let base = (500u64 << i).min(30_000);
            assert!(
                d >= base / 2 && d <= base,
                "failure {i}: {d} ms not in [{}, {base}]",
                base / 2
            );
        }
        assert!(delays[5] > delays[0] * 4, "grows: {delays:?}");
        assert!(delays.iter().all(|&d| d <= 30_000), "capped: {delays:?}");
        assert!(
            delays[8..].iter().all(|&d| d >= 15_000),
            "stays at the cap: {delays:?}"
        );
    }

    #[test]
    fn jitter_differs_between_agents() {
        let delay = |seed| {
            let hello = Hello::default();
            let mut a: TestAgent = Agent::new(
                Fake {
                    refuse: 9,
                    ..Fake::default()
                },
                &hello,
                Config::new(Duration::from_secs(1), seed),
                storage(),
                at(0),
            );
            let mut now = at(0);
            let mut total = 0;
            for _ in 0..6 {
                if let Some(Event::Lost { retry_in, .. }) = a.poll(now) {
                    total += retry_in.as_millis();
                    now = now + retry_in;
                }
            }
            total
        };
        assert_ne!(delay(1), delay(2));
    }

    /// The delay before the next try after the connection fails at `now`.
    fn retry_after_failure(a: &mut TestAgent, now: Instant) -> Duration {
        a.transport.fail_send = true;
        a.record(&1_u32, now).unwrap();
        let events = drain(a, now);
        a.transport.fail_send = false;
        match events.as_slice() {
            [
                Event::Lost {
                    reason: Lost::Transport(TransportError::Reset),
                    retry_in,
                    was_connected: true,
                },
            ] => *retry_in,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_connection_that_proves_itself_resets_the_backoff() {
        let mut a = agent();
        a.transport.refuse = 5;
        let mut now = at(0);
        for _ in 0..5 {
            if let Some(Event::Lost { retry_in, .. }) = a.poll(now) {
                now = now + retry_in;
            }
        }
        assert_eq!(drain(&mut a, now), [Event::Connected]);
        welcome(&mut a, 0);
        drain(&mut a, now);
        a.record(&1_u32, now).unwrap();
        drain(&mut a, now);
        // The server acknowledges a sample sent on this connection: it works.
        push(&mut a, Message::Ack(Ack { seq: 1 }));
        drain(&mut a, now);
        let retry_in = retry_after_failure(&mut a, now);
        assert!(retry_in <= Duration::from_millis(500), "{retry_in:?}");
        // So does one that stays up as long as the longest backoff, acknowledged or not.
        now = now + retry_in;
        assert_eq!(drain(&mut a, now), [Event::Connected]);
        welcome(&mut a, 1);
        drain(&mut a, now);
        now = now + Config::new(Duration::from_secs(1), 0).backoff_max;
        drain(&mut a, now);
        let retry_in = retry_after_failure(&mut a, now);
        assert!(retry_in <= Duration::from_millis(500), "{retry_in:?}");
    }

    #[test]
    fn a_server_that_welcomes_and_hangs_up_is_called_back_no_faster_than_the_backoff() {
        let mut a = agent();
        let mut now = at(0);
        let mut delays = Vec::new();
        for _ in 0..10 {
            assert_eq!(drain(&mut a, now), [Event::Connected]);
            welcome(&mut a, 0);
            assert_eq!(drain(&mut a, now), [Event::Ready { pending: 0 }]);
            push(
                &mut a,
                Message::Error(ErrorMessage {
                    code: crate::sample::bounded(wire::codes::SHUTTING_DOWN),
                    message: crate::sample::bounded("bye"),
                }),
            );
            match drain(&mut a, now).as_slice() {
                [Event::Lost { retry_in, .. }] => {
                    delays.push(retry_in.as_millis() as u64);
                    now = now + *retry_in;
                }
                other => panic!("{other:?}"),
            }
        }
        // The same delays as for a server that refuses every connection: each welcome is a
        // failure all the same, so the delays double up to the cap.
        for (i, &d) in delays.iter().enumerate() {
            let base = (500u64 << i).min(30_000);
            assert!(d >= base / 2 && d <= base, "{i}: {d} ms, {delays:?}");
        }
        assert!(
            now >= at(60_000),
            "ten connections took {now:?}: {delays:?}"
        );
    }

    #[test]
    fn after_a_reconnect_unacknowledged_samples_are_sent_again() {
        let mut a = agent();
        drain(&mut a, at(0));
        welcome(&mut a, 0);
        drain(&mut a, at(0));
        a.record(&1_u32, at(0)).unwrap();
        a.record(&2_u32, at(1000)).unwrap();
        drain(&mut a, at(1000));
        push(&mut a, Message::Ack(Ack { seq: 1 }));
        drain(&mut a, at(1000));
        // The connection drops; a sample taken meanwhile waits.
        a.transport.fail_send = true;
        a.record(&3_u32, at(2000)).unwrap();
        let events = drain(&mut a, at(2000));
        assert!(
            matches!(
                events.as_slice(),
                [Event::Lost {
                    was_connected: true,
                    ..
                }]
            ),
            "{events:?}"
        );
        a.transport.fail_send = false;
        let events = drain(&mut a, at(10_000));
        assert_eq!(events, [Event::Connected]);
        welcome(&mut a, 0);
        assert_eq!(drain(&mut a, at(10_000)), [Event::Ready { pending: 2 }]);
        assert_eq!(sent_seqs(&a), [1, 2, 2, 3]);
    }

    #[test]
    fn samples_the_server_already_merged_are_not_sent_again() {
        let mut a = agent();
        for i in 0..3 {
            a.record(&(i as u32), at(i as u64)).unwrap();
        }
        drain(&mut a, at(0));
        welcome(&mut a, 0);
        drain(&mut a, at(0));
        hang_up(&mut a, at(0));
        assert_eq!(drain(&mut a, at(10_000)), [Event::Connected]);
        welcome(&mut a, 2);
        drain(&mut a, at(10_000));
        assert_eq!(sent_seqs(&a), [1, 2, 3, 3]);
        assert_eq!(a.stats().pending, 1);
    }

    #[test]
    fn a_full_ring_drops_the_oldest_and_reports_the_count() {
        let mut a = agent();
        a.transport.refuse = 1;
        drain(&mut a, at(0));
        for i in 0..7 {
            a.record(&(i as u32), at(i as u64 * 1000)).unwrap();
        }
        assert_eq!(a.stats().dropped, 3);
        assert_eq!(a.stats().pending, 4);
        drain(&mut a, at(60_000));
        welcome(&mut a, 0);
        drain(&mut a, at(60_000));
        assert_eq!(sent_seqs(&a), [4, 5, 6, 7]);
        // A sample carries the drops counted before it was recorded: the 7th knows of two.
        let lines = a.transport.lines();
        assert!(
            lines.last().unwrap().contains(r#""seq":7,"dropped":2"#),
            "{lines:?}"
        );
    }

    #[test]
    fn a_sample_larger_than_the_ring_is_refused_and_counted() {
        let mut a: TestAgent = Agent::new(
            Fake::default(),
            &Hello::default(),
            Config::new(Duration::from_secs(1), 1),
            Vec::leak(std::vec![0u8; 100]),
            at(0),
        );
        assert_eq!(a.record(&1u32, at(0)), Ok(1));
        // A line of about 150 bytes: it does not fit the 100-byte ring, even emptied.
        let big = [7u32; 48];
        assert_eq!(a.record(&big[..], at(1000)), Err(RecordError::TooLarge));
        assert_eq!(
            a.stats().dropped,
            2,
            "the sample and the one dropped trying"
        );
        assert_eq!(a.stats().pending, 0);
        assert!(!a.sample_due(at(1999)), "the schedule moves on");
        assert_eq!(
            a.record(&1u32, at(2000)),
            Ok(3),
            "its number is skipped, so that the server counts it lost too"
        );
    }

    #[test]
    fn a_sample_longer_than_the_protocol_allows_is_refused_and_nothing_dropped() {
        let mut a: TestAgent = Agent::new(
            Fake::default(),
            &Hello::default(),
            Config::new(Duration::from_secs(1), 1),
            Vec::leak(std::vec![0u8; 4 * wire::MAX_LINE]),
            at(0),
        );
        assert_eq!(a.record(&1u32, at(0)), Ok(1));
        let huge = std::vec![7u32; wire::MAX_LINE / 2];
        assert_eq!(
            a.record(&huge[..], at(1000)),
            Err(RecordError::Encode(EncodeError::LineTooLong))
        );
        assert_eq!((a.stats().dropped, a.stats().pending), (1, 1));
    }

    #[test]
    fn a_line_wrapping_the_ring_is_sent_whole() {
        let mut a = agent();
        drain(&mut a, at(0));
        welcome(&mut a, 0);
        drain(&mut a, at(0));
        // Acknowledge all but the newest, so the ring is never empty and its records wrap
        // around the end of the storage, headers and lines alike.
        for i in 0..20u32 {
            a.record(&(i * 1000), at(u64::from(i) * 1000)).unwrap();
            drain(&mut a, at(u64::from(i) * 1000));
            push(&mut a, Message::Ack(Ack { seq: u64::from(i) }));
            assert!((1..=2).contains(&a.stats().pending));
        }
        assert_eq!(sent_seqs(&a), (1..=20).collect::<Vec<_>>());
    }

    #[test]
    fn no_welcome_in_time_is_a_handshake_timeout() {
        let mut a = agent();
        assert_eq!(drain(&mut a, at(0)), [Event::Connected]);
        assert_eq!(a.poll_timeout(), at(0), "the first sample is due");
        a.record(&0_u32, at(0)).unwrap();
        assert_eq!(a.poll_timeout(), at(1000));
        assert!(drain(&mut a, at(9_999)).is_empty());
        assert!(matches!(
            drain(&mut a, at(10_000)).as_slice(),
            [Event::Lost {
                reason: Lost::HandshakeTimeout,
                ..
            }]
        ));
    }

    #[test]
    fn an_error_from_the_server_ends_the_connection() {
        let mut a = agent();
        drain(&mut a, at(0));
        push(
            &mut a,
            Message::Error(wire::ErrorMessage {
                code: crate::sample::bounded("invalid_value"),
                message: crate::sample::bounded("no"),
            }),
        );
        match drain(&mut a, at(0)).as_slice() {
            [
                Event::Lost {
                    reason: Lost::Rejected(e),
                    ..
                },
            ] => assert_eq!(e.as_str(), "invalid_value"),
            other => panic!("{other:?}"),
        }
        assert!(!a.transport.up);
    }

    #[test]
    fn garbage_from_the_server_ends_the_connection() {
        let mut a = agent();
        drain(&mut a, at(0));
        a.transport.inbox.extend(b"HTTP/1.1 400 Bad Request\r\n");
        assert!(matches!(
            drain(&mut a, at(0)).as_slice(),
            [Event::Lost {
                reason: Lost::Protocol(DecodeError::BadJson),
                ..
            }]
        ));
        drain(&mut a, at(60_000));
        a.transport
            .inbox
            .extend(b"{\"v\":1,\"kind\":\"ack\",\"seq\":1}\n");
        assert!(matches!(
            drain(&mut a, at(60_000)).as_slice(),
            [Event::Lost {
                reason: Lost::Unexpected("ack"),
                ..
            }]
        ));
    }

    #[cfg(feature = "auth")]
    const KEY: &str = "a key of at least sixteen bytes";
    const NONCE: [u8; NONCE_LEN] = [9; NONCE_LEN];

    fn challenge(agent: &mut TestAgent) {
        let mut hex = [0u8; 2 * NONCE_LEN];
        push(
            agent,
            Message::Challenge(wire::Challenge {
                nonce: crate::sample::bounded(auth::to_hex(&NONCE, &mut hex)),
            }),
        );
    }

    /// Pushes `message` sealed as the server would.
    #[cfg(feature = "auth")]
    fn push_sealed(agent: &mut TestAgent, sealer: &mut Sealer, message: Message<u32>) {
        let mut buf = [0u8; 256];
        let n = wire::encode(&message, &mut buf).unwrap();
        let n = sealer.seal_in_place(&mut buf, n).unwrap();
        agent.transport.inbox.extend(&buf[..n]);
    }

    #[test]
    #[cfg(feature = "auth")]
    fn a_keyed_agent_proves_its_id_and_seals_its_samples() {
        let key = Key::new(KEY.as_bytes()).unwrap();
        let mut a = agent().with_key(key.clone());
        a.record(&1u32, at(0)).unwrap();
        drain(&mut a, at(0));
        challenge(&mut a);
        assert!(drain(&mut a, at(1)).is_empty(), "no welcome yet");
        let auth_line = a.transport.lines()[1].clone();
        let Message::Auth(answer) = decode_line::<u32>(auth_line.trim_end().as_bytes()).unwrap()
        else {
            panic!("expected auth, got {auth_line}");
        };
        let mut mac = [0u8; auth::MAC_LEN];
        auth::from_hex(answer.mac.as_bytes(), &mut mac).unwrap();
        assert!(auth::verify_proof(&key, &NONCE, "test", 0, &mac));
        // Samples wait for a welcome sealed by the server's side of the key.
        let mut from_server = Sealer::new(&key, &NONCE, "test", Direction::FromServer);
        push_sealed(
            &mut a,
            &mut from_server,
            Message::Welcome(Welcome {
                server: crate::sample::bounded("s"),
                last_seq: 0,
            }),
        );
        assert_eq!(drain(&mut a, at(2)), [Event::Ready { pending: 1 }]);
        let sample_line = a.transport.lines()[2].clone();
        let mut from_agent = Sealer::new(&key, &NONCE, "test", Direction::FromAgent);
        let mut plain = [0u8; 256];
        let opened = from_agent
            .open(sample_line.trim_end().as_bytes(), &mut plain)
            .unwrap();
        assert!(matches!(
            decode_line::<u32>(opened),
            Ok(Message::Sample(SampleMessage { seq: 1, .. }))
        ));
        // A sealed ack frees the ring; an unsealed one ends the connection.
        push_sealed(&mut a, &mut from_server, Message::Ack(Ack { seq: 1 }));
        drain(&mut a, at(3));
        assert_eq!(a.stats().pending, 0);
        push(&mut a, Message::Ack(Ack { seq: 1 }));
        assert!(matches!(
            drain(&mut a, at(4)).as_slice(),
            [Event::Lost {
                reason: Lost::Protocol(DecodeError::BadSeal),
                ..
            }]
        ));
    }

    #[test]
    #[cfg(feature = "auth")]
    fn a_keyed_agent_sends_nothing_to_a_server_that_does_not_challenge_it() {
        let mut a = agent().with_key(Key::new(KEY.as_bytes()).unwrap());
        a.record(&1u32, at(0)).unwrap();
        drain(&mut a, at(0));
        welcome(&mut a, 0);
        assert!(matches!(
            drain(&mut a, at(1)).as_slice(),
            [Event::Lost {
                reason: Lost::Unauthenticated,
                ..
            }]
        ));
        assert_eq!(sent_seqs(&a), [] as [u64; 0]);
    }

    #[test]
    fn an_agent_without_a_key_answers_a_challenge_empty_and_hears_why() {
        let mut a = agent();
        drain(&mut a, at(0));
        challenge(&mut a);
        drain(&mut a, at(1));
        assert_eq!(
            a.transport.lines()[1],
            "{\"v\":1,\"kind\":\"auth\",\"mac\":\"\"}\n"
        );
        push(
            &mut a,
            Message::Error(ErrorMessage {
                code: crate::sample::bounded(wire::codes::AUTH_REQUIRED),
                message: crate::sample::bounded("this server wants a key"),
            }),
        );
        match drain(&mut a, at(2)).as_slice() {
            [Event::Lost { reason, .. }] => {
                assert_eq!(
                    reason,
                    &Lost::Rejected(crate::sample::bounded(wire::codes::AUTH_REQUIRED))
                );
                assert_eq!(
                    std::format!("{reason}"),
                    "server refused: the server wants a key for this agent (auth_required)"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn welcome_and_ack_in_one_read_are_both_handled() {
        let mut a = agent();
        a.record(&1_u32, at(0)).unwrap();
        a.record(&2_u32, at(1000)).unwrap();
        drain(&mut a, at(1000));
        welcome(&mut a, 0);
        drain(&mut a, at(1000));
        hang_up(&mut a, at(1000));
        assert_eq!(drain(&mut a, at(10_000)), [Event::Connected]);
        welcome(&mut a, 1);
        push(&mut a, Message::Ack(Ack { seq: 1 }));
        assert_eq!(drain(&mut a, at(10_000)), [Event::Ready { pending: 1 }]);
        assert_eq!(a.stats().pending, 1);
        assert_eq!(sent_seqs(&a), [1, 2, 2]);
        // The ack after the welcome is read and checked: one of a sample not sent is refused.
        hang_up(&mut a, at(10_000));
        assert_eq!(drain(&mut a, at(20_000)), [Event::Connected]);
        welcome(&mut a, 1);
        push(&mut a, Message::Ack(Ack { seq: 3 }));
        assert!(matches!(
            drain(&mut a, at(20_000)).as_slice(),
            [Event::Lost {
                reason: Lost::Protocol(DecodeError::InvalidValue("seq")),
                ..
            }]
        ));
        assert_eq!(a.stats().pending, 1, "nothing dropped");
    }

    /// Every sample line sent so far is a whole line, and none is sent twice.
    fn assert_whole_and_once(agent: &TestAgent) {
        let lines = agent.transport.lines();
        assert!(lines.iter().all(|l| l.ends_with('\n')), "{lines:?}");
        for line in &lines {
            assert!(
                decode_line::<u32>(line.trim_end().as_bytes()).is_ok(),
                "{line:?}"
            );
        }
    }

    #[test]
    fn a_transport_that_cannot_take_a_line_now_gets_it_later_whole_once_and_in_order() {
        let mut a = agent();
        drain(&mut a, at(0));
        welcome(&mut a, 0);
        assert_eq!(drain(&mut a, at(0)), [Event::Ready { pending: 0 }]);
        // The network is stuck: nothing can go, and sampling goes on without a failure.
        a.transport.room = Some(0);
        for i in 0..3u32 {
            a.record(&i, at(u64::from(i) * 1000)).unwrap();
            assert!(drain(&mut a, at(u64::from(i) * 1000)).is_empty());
            assert_eq!(a.poll_timeout(), at(u64::from(i + 1) * 1000));
        }
        assert_eq!(sent_seqs(&a), [] as [u64; 0]);
        assert_eq!(a.stats().pending, 3);
        // Room for one line and a half: one line goes, whole; the next waits.
        a.transport.room = Some(55 + 30);
        assert!(drain(&mut a, at(2500)).is_empty());
        assert_eq!(sent_seqs(&a), [1]);
        assert_eq!(a.transport.room, Some(30));
        // Stuck again while another sample is taken, then free: the rest, in order, once.
        a.transport.room = Some(0);
        a.record(&3u32, at(3000)).unwrap();
        assert!(drain(&mut a, at(3000)).is_empty());
        a.transport.room = None;
        assert!(drain(&mut a, at(3100)).is_empty());
        assert_eq!(sent_seqs(&a), [1, 2, 3, 4]);
        assert_whole_and_once(&a);
        push(&mut a, Message::Ack(Ack { seq: 4 }));
        drain(&mut a, at(3200));
        assert_eq!(a.stats().pending, 0);
        assert_eq!((a.stats().failures, a.stats().dropped), (0, 0));
    }

    #[test]
    fn lines_that_waited_are_sent_again_after_a_reconnect_without_gaps() {
        let mut a = agent();
        drain(&mut a, at(0));
        welcome(&mut a, 0);
        drain(&mut a, at(0));
        a.record(&0u32, at(0)).unwrap();
        drain(&mut a, at(0));
        a.transport.room = Some(0);
        a.record(&1u32, at(1000)).unwrap();
        drain(&mut a, at(1000));
        // The connection is lost while a line waits; the server had merged nothing.
        a.transport.fail_send = true;
        a.transport.room = None;
        a.record(&2u32, at(2000)).unwrap();
        assert!(matches!(
            drain(&mut a, at(2000)).as_slice(),
            [Event::Lost {
                was_connected: true,
                ..
            }]
        ));
        a.transport.fail_send = false;
        assert_eq!(drain(&mut a, at(10_000)), [Event::Connected]);
        welcome(&mut a, 0);
        assert_eq!(drain(&mut a, at(10_000)), [Event::Ready { pending: 3 }]);
        assert_eq!(sent_seqs(&a), [1, 1, 2, 3]);
    }

    #[test]
    #[cfg(feature = "auth")]
    fn a_sealed_line_that_waits_takes_no_seal_and_every_line_opens_in_order() {
        let key = Key::new(KEY.as_bytes()).unwrap();
        let mut a = agent().with_key(key.clone());
        a.record(&1u32, at(0)).unwrap();
        drain(&mut a, at(0));
        challenge(&mut a);
        drain(&mut a, at(1));
        let mut from_server = Sealer::new(&key, &NONCE, "test", Direction::FromServer);
        // Stuck before the welcome: the first sample waits too.
        a.transport.room = Some(0);
        push_sealed(
            &mut a,
            &mut from_server,
            Message::Welcome(Welcome {
                server: crate::sample::bounded("s"),
                last_seq: 0,
            }),
        );
        assert_eq!(drain(&mut a, at(2)), [Event::Ready { pending: 1 }]);
        a.record(&2u32, at(1000)).unwrap();
        a.record(&3u32, at(2000)).unwrap();
        drain(&mut a, at(2000));
        assert_eq!(a.transport.lines().len(), 2, "hello and auth only");
        // A sealed line is 55 - 2 + 75 bytes: room for one, not two.
        let sealed = 55 - 2 + auth::SEAL_LEN + 1;
        a.transport.room = Some(sealed);
        drain(&mut a, at(2001));
        assert_eq!(a.transport.room, Some(0));
        assert_eq!(a.transport.lines().len(), 3);
        a.transport.room = Some(sealed - 1);
        drain(&mut a, at(2002));
        assert_eq!(
            a.transport.lines().len(),
            3,
            "a line goes whole or not at all"
        );
        a.transport.room = None;
        drain(&mut a, at(2003));
        let mut from_agent = Sealer::new(&key, &NONCE, "test", Direction::FromAgent);
        let seqs: Vec<u64> = a.transport.lines()[2..]
            .iter()
            .map(|line| {
                let mut plain = [0u8; 256];
                let opened = from_agent
                    .open(line.trim_end().as_bytes(), &mut plain)
                    .unwrap();
                match decode_line::<u32>(opened) {
                    Ok(Message::Sample(s)) => s.seq,
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        assert_eq!(seqs, [1, 2, 3]);
    }

    #[test]
    fn a_connection_that_takes_time_to_open_gets_hello_once_open() {
        let mut a = agent();
        a.transport.opening = 2;
        a.record(&1u32, at(0)).unwrap();
        assert!(drain(&mut a, at(0)).is_empty(), "still opening");
        assert_eq!(
            a.poll_timeout(),
            at(1000),
            "the next sample, before the deadline"
        );
        assert!(a.transport.out.is_empty());
        // Sampling goes on while it opens.
        a.record(&2u32, at(1000)).unwrap();
        assert!(drain(&mut a, at(1000)).is_empty());
        assert_eq!(drain(&mut a, at(1200)), [Event::Connected]);
        assert!(a.transport.lines()[0].starts_with(r#"{"v":1,"kind":"hello""#));
        welcome(&mut a, 0);
        assert_eq!(drain(&mut a, at(1300)), [Event::Ready { pending: 2 }]);
        assert_eq!(sent_seqs(&a), [1, 2]);
    }

    #[test]
    fn a_connection_that_never_opens_times_out_and_backs_off() {
        let mut a = agent();
        a.transport.opening = usize::MAX;
        assert!(drain(&mut a, at(0)).is_empty());
        for t in (1000..10_000).step_by(1000) {
            a.record(&1u32, at(t)).unwrap();
            assert!(drain(&mut a, at(t)).is_empty());
        }
        match drain(&mut a, at(10_000)).as_slice() {
            [
                Event::Lost {
                    reason: Lost::Transport(TransportError::TimedOut),
                    retry_in,
                    was_connected: false,
                },
            ] => assert!(*retry_in <= Duration::from_millis(500)),
            other => panic!("{other:?}"),
        }
        assert!(!a.transport.up);
        assert_eq!(a.stats().pending, 4, "the ring kept the newest samples");
        // A connection that fails while opening is a failed attempt too.
        a.transport.opening = 1;
        a.transport.open_error = Some(TransportError::Refused);
        assert!(drain(&mut a, at(10_500)).is_empty());
        assert!(matches!(
            drain(&mut a, at(10_600)).as_slice(),
            [Event::Lost {
                reason: Lost::Transport(TransportError::Refused),
                was_connected: false,
                ..
            }]
        ));
        assert_eq!(a.stats().failures, 2);
    }
    /// An agent connected and welcomed at `now`, having sent samples `1..=n` (none
    /// acknowledged).
    fn sending(n: u32, now: Instant) -> TestAgent {
        let mut a = agent();
        drain(&mut a, now);
        welcome(&mut a, 0);
        drain(&mut a, now);
        for i in 1..=n {
            a.record(&i, now).unwrap();
        }
        drain(&mut a, now);
        assert_eq!(sent_seqs(&a), (1..=u64::from(n)).collect::<Vec<_>>());
        a
    }

    /// The `dropped` of the last sample line sent.
    fn last_dropped(agent: &TestAgent) -> u64 {
        let lines = agent.transport.lines();
        lines
            .iter()
            .rev()
            .find_map(|l| match decode_line::<u32>(l.trim_end().as_bytes()) {
                Ok(Message::Sample(s)) => Some(s.dropped),
                _ => None,
            })
            .expect("a sample was sent")
    }

    #[test]
    fn an_ack_for_a_sample_never_sent_ends_the_connection_and_drops_nothing() {
        let mut a = sending(2, at(0));
        a.record(&3_u32, at(1000)).unwrap();
        a.transport.room = Some(0);
        drain(&mut a, at(1000));
        assert_eq!(sent_seqs(&a), [1, 2], "3 waits");
        push(&mut a, Message::Ack(Ack { seq: 3 }));
        assert!(matches!(
            drain(&mut a, at(1000)).as_slice(),
            [Event::Lost {
                reason: Lost::Protocol(DecodeError::InvalidValue("seq")),
                was_connected: true,
                ..
            }]
        ));
        assert_eq!(a.stats().pending, 3, "nothing dropped");
        // And a reconnect sends them all again.
        a.transport.room = None;
        assert_eq!(drain(&mut a, at(10_000)), [Event::Connected]);
        welcome(&mut a, 0);
        assert_eq!(drain(&mut a, at(10_000)), [Event::Ready { pending: 3 }]);
        assert_eq!(sent_seqs(&a), [1, 2, 1, 2, 3]);
        push(
            &mut a,
            Message::Ack(Ack {
                seq: 1_000_000_000_000_000_000,
            }),
        );
        assert!(matches!(
            drain(&mut a, at(10_000)).as_slice(),
            [Event::Lost {
                reason: Lost::Protocol(DecodeError::InvalidValue("seq")),
                ..
            }]
        ));
        assert_eq!((a.stats().pending, a.stats().dropped), (3, 0));
    }

    #[test]
    fn a_welcome_for_a_sample_never_sent_is_refused_and_the_ring_kept() {
        let mut a = sending(2, at(0));
        hang_up(&mut a, at(0));
        a.record(&3_u32, at(1000)).unwrap();
        for (last_seq, now) in [(u64::MAX, at(60_000)), (3, at(120_000))] {
            assert_eq!(drain(&mut a, now), [Event::Connected]);
            welcome(&mut a, last_seq);
            assert!(matches!(
                drain(&mut a, now).as_slice(),
                [Event::Lost {
                    reason: Lost::Protocol(DecodeError::InvalidValue("last_seq")),
                    was_connected: true,
                    ..
                }]
            ));
            assert_eq!((a.stats().pending, a.stats().dropped), (3, 0));
            assert!(!a.is_ready());
        }
        // A welcome up to the last sample sent is believed.
        assert_eq!(drain(&mut a, at(180_000)), [Event::Connected]);
        welcome(&mut a, 2);
        assert_eq!(drain(&mut a, at(180_000)), [Event::Ready { pending: 1 }]);
        assert_eq!(sent_seqs(&a), [1, 2, 3]);
        a.record(&4_u32, at(180_000)).unwrap();
        drain(&mut a, at(180_000));
        assert_eq!(sent_seqs(&a), [1, 2, 3, 4]);
    }

    #[test]
    fn a_server_that_never_stops_sending_cannot_hold_up_sampling() {
        let mut a = sending(1, at(0));
        // Acks of the one sample sent, as fast as the transport carries them.
        let mut ack = [0u8; 64];
        let n = wire::encode(&Message::<u32>::Ack(Ack { seq: 1 }), &mut ack).unwrap();
        a.transport.flood = ack[..n].to_vec();
        a.transport.flood_left = 10 << 20;
        for t in 1..=50u64 {
            let now = at(t * 1000);
            assert!(a.sample_due(now));
            a.record(&0_u32, now).unwrap();
            let before = a.transport.received;
            assert_eq!(a.poll(now), None);
            let read = a.transport.received - before;
            assert!(read <= RX_READS * RX_CHUNK, "one poll read {read} bytes");
        }
        assert_eq!(a.stats().recorded, 51);
        assert!(a.is_ready());
    }

    #[test]
    fn an_unknown_error_code_reaches_the_log_escaped_and_a_known_one_as_it_is() {
        let shown = |code: &str| std::format!("{}", Lost::Rejected(crate::sample::bounded(code)));
        for forged in [
            "x\nvitals-agent: forged",
            "\x1b[2J\x1b[31mred",
            "a\rb\tc\u{2028}d\u{7f}",
            "quote\"back\\slash",
        ] {
            let line = shown(forged);
            assert!(
                line.chars().all(|c| (' '..='~').contains(&c)),
                "{forged:?} became {line:?}"
            );
            assert!(line.starts_with("server refused (\""), "{line}");
        }
        assert_eq!(shown("x\nforged"), "server refused (\"x\\u{a}forged\")");
        assert_eq!(
            shown(wire::codes::ID_IN_USE),
            "server refused: another connection holds this agent id (id_in_use)"
        );
    }

    #[test]
    fn the_hello_after_a_reconnect_names_the_last_sample_sent() {
        let mut a = sending(3, at(0));
        let first = a.transport.lines()[0].clone();
        let Ok(Message::Hello(hello)) = decode_line::<u32>(first.trim_end().as_bytes()) else {
            panic!("{first}");
        };
        assert_eq!(hello.last_sent, 0);
        assert!(!first.contains("last_sent"), "left out while 0: {first}");
        hang_up(&mut a, at(0));
        a.transport.out.clear();
        assert_eq!(drain(&mut a, at(10_000)), [Event::Connected]);
        let again = a.transport.lines()[0].clone();
        let Ok(Message::Hello(hello)) = decode_line::<u32>(again.trim_end().as_bytes()) else {
            panic!("{again}");
        };
        assert_eq!(hello.last_sent, 3);
        // Byte for byte the line `wire::encode` writes for that hello.
        let mut buf = [0u8; 512];
        let expected = Hello {
            last_sent: 3,
            ..test_hello()
        };
        let n = wire::encode(&Message::<u32>::Hello(expected), &mut buf).unwrap();
        assert_eq!(again.as_bytes(), &buf[..n]);
        // A hello given with a `last_sent` of its own does not name it twice.
        let mut b: TestAgent = Agent::new(
            Fake::default(),
            &Hello {
                last_sent: 9,
                ..test_hello()
            },
            Config::new(Duration::from_secs(1), 42),
            storage(),
            at(0),
        );
        drain(&mut b, at(0));
        assert_eq!(b.transport.lines()[0], first);
    }

    #[test]
    fn samples_dropped_after_the_server_merged_them_are_not_counted_lost() {
        // Four sent and merged, none acknowledged yet, when the connection is cut.
        let mut a = sending(4, at(0));
        hang_up(&mut a, at(0));
        for i in 5..=8u32 {
            a.record(&i, at(u64::from(i) * 1000)).unwrap();
        }
        assert_eq!((a.stats().dropped, a.stats().doubtful), (0, 4));
        // The server had merged all four.
        assert_eq!(drain(&mut a, at(60_000)), [Event::Connected]);
        welcome(&mut a, 4);
        drain(&mut a, at(60_000));
        assert_eq!((a.stats().dropped, a.stats().doubtful), (0, 0));
        assert_eq!(sent_seqs(&a), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(last_dropped(&a), 0);
    }

    #[test]
    fn dropped_samples_the_server_did_not_merge_are_counted_once_a_welcome_says_so() {
        let mut a = sending(4, at(0));
        hang_up(&mut a, at(0));
        for i in 5..=9u32 {
            a.record(&i, at(u64::from(i) * 1000)).unwrap();
        }
        // 1-4 were sent and dropped: doubtful; 5 was never sent: lost.
        assert_eq!((a.stats().dropped, a.stats().doubtful), (1, 4));
        assert_eq!(drain(&mut a, at(60_000)), [Event::Connected]);
        welcome(&mut a, 1);
        drain(&mut a, at(60_000));
        assert_eq!((a.stats().dropped, a.stats().doubtful), (4, 0));
        // The samples waiting carry what was known when they were taken; the next carries it
        // all, and the count never goes down.
        assert_eq!(sent_seqs(&a), [1, 2, 3, 4, 6, 7, 8, 9]);
        assert_eq!(last_dropped(&a), 0);
        push(&mut a, Message::Ack(Ack { seq: 9 }));
        a.record(&0_u32, at(61_000)).unwrap();
        drain(&mut a, at(61_000));
        assert_eq!(last_dropped(&a), 4, "2, 3, 4 and 5 were lost");
    }

    #[test]
    fn a_restarted_server_that_forgot_the_session_makes_every_doubtful_sample_lost() {
        let mut a = sending(4, at(0));
        hang_up(&mut a, at(0));
        for i in 5..=8u32 {
            a.record(&i, at(u64::from(i) * 1000)).unwrap();
        }
        assert_eq!(drain(&mut a, at(60_000)), [Event::Connected]);
        // `last_seq` 0: the new server never saw this session. The agent cannot tell what its
        // predecessor merged without acknowledging, and counts none of it delivered.
        welcome(&mut a, 0);
        drain(&mut a, at(60_000));
        assert_eq!((a.stats().dropped, a.stats().doubtful), (4, 0));
    }

    #[test]
    fn samples_dropped_on_a_slow_connection_are_settled_by_its_acks() {
        let mut a = sending(4, at(0));
        // The ring turns over before the server acknowledges: 1-4 are doubtful.
        for i in 5..=8u32 {
            a.record(&i, at(u64::from(i) * 1000)).unwrap();
            drain(&mut a, at(u64::from(i) * 1000));
        }
        assert_eq!((a.stats().dropped, a.stats().doubtful), (0, 4));
        push(&mut a, Message::Ack(Ack { seq: 2 }));
        drain(&mut a, at(8000));
        assert_eq!((a.stats().dropped, a.stats().doubtful), (0, 2));
        push(&mut a, Message::Ack(Ack { seq: 8 }));
        drain(&mut a, at(8000));
        assert_eq!(
            (a.stats().dropped, a.stats().doubtful, a.stats().pending),
            (0, 0, 0)
        );
    }

    #[test]
    fn a_connection_that_lets_the_ring_turn_over_unacknowledged_is_given_up() {
        let mut a = sending(4, at(0));
        // Stuck: nothing more goes, and no ack comes, while the ring turns over.
        a.transport.room = Some(0);
        for i in 5..=9u32 {
            a.record(&i, at(u64::from(i) * 1000)).unwrap();
        }
        assert_eq!((a.stats().dropped, a.stats().doubtful), (1, 4));
        a.transport.room = None;
        assert!(matches!(
            drain(&mut a, at(9000)).as_slice(),
            [Event::Lost {
                reason: Lost::Overrun,
                was_connected: true,
                ..
            }]
        ));
        assert_eq!(
            sent_seqs(&a),
            [1, 2, 3, 4],
            "nothing sent past the lost ones"
        );
        // The next welcome settles it exactly: the server had merged 1-3.
        assert_eq!(drain(&mut a, at(60_000)), [Event::Connected]);
        welcome(&mut a, 3);
        drain(&mut a, at(60_000));
        assert_eq!((a.stats().dropped, a.stats().doubtful), (2, 0));
        assert_eq!(sent_seqs(&a), [1, 2, 3, 4, 6, 7, 8, 9]);
    }

    #[test]
    fn an_ack_that_settles_the_run_first_keeps_the_connection() {
        let mut a = sending(4, at(0));
        a.transport.room = Some(0);
        for i in 5..=9u32 {
            a.record(&i, at(u64::from(i) * 1000)).unwrap();
        }
        assert_eq!((a.stats().dropped, a.stats().doubtful), (1, 4));
        a.transport.room = None;
        push(&mut a, Message::Ack(Ack { seq: 4 }));
        assert!(drain(&mut a, at(9000)).is_empty());
        assert_eq!((a.stats().dropped, a.stats().doubtful), (1, 0));
        assert_eq!(sent_seqs(&a), [1, 2, 3, 4, 6, 7, 8, 9]);
    }
}
