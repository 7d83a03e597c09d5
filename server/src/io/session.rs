//! One agent's connection as a protocol session: bytes in, requests for the aggregator and
//! bytes for the agent out. No socket and no clock of its own, so the I/O threads drive it
//! from epoll and the fuzzer drives it from its input.
//!
//! A session decodes lines as they arrive, cut anywhere; answers hello with a challenge when the
//! server has a key for the agent; hands hello and samples on; writes the welcome, acks or
//! refusal that come back (sealed once the agent has authenticated); and closes on a deadline:
//! no hello (or answer) in time, no whole message for a few of the agent's intervals, or the
//! linger after a refusal.
//!
//! A session speaks the protocol version of its hello. In v2 it keeps the agent's latest
//! declaration and hands each `values` line on with it; the v1 `sample` and the v2 lines are
//! each refused on a connection of the other version.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agent_core::auth::{self, Direction, Key, NONCE_LEN, Sealer};
use agent_core::sample::{Sample, bounded};
use agent_core::wire::{
    self, Ack, Challenge, DecodeError, ErrorMessage, FeedResult, Framer, Hello, Item, LineBuffer,
    MAX_ACK_EVERY, MAX_LINE, Message, PROTOCOL_V2, PROTOCOL_VERSION, SampleMessage, ValuesHeader,
    Welcome, codes,
};

use crossbeam_channel::Receiver;

use crate::declaration::Declaration;
use crate::keys::Keys;
use crate::shared::{ConnId, Decoded, Event, Reply};

/// The shortest idle timeout, whatever the agent's interval.
pub const MIN_IDLE: Duration = Duration::from_secs(10);

/// The longest idle timeout, whatever the agent's interval and `--idle-intervals`: three of the
/// longest interval a hello may declare ([`wire::MAX_INTERVAL_MS`]). A connection silent this
/// long is closed however it was configured, so no hello holds a connection for days.
pub const MAX_IDLE: Duration = Duration::from_secs(3 * 3600);

/// What waits to be written to an agent, at most: past it the agent is not reading its acks
/// (it gets one a sample, or one for up to [`MAX_ACK_EVERY`]), and the connection is closed
/// (`not_reading`) rather than let the buffer grow without bound. 64 KiB is about 2,000 acks
/// (650 sealed ones) beyond what the kernel's socket buffers already hold; an agent that reads
/// keeps it near empty.
pub const MAX_UNSENT: usize = 64 * 1024;

/// `now` plus `wait`, or as far as an `Instant` goes: a flag's duration may be anything.
fn after(now: Instant, wait: Duration) -> Instant {
    now.checked_add(wait)
        .or_else(|| now.checked_add(MAX_IDLE))
        .unwrap_or(now)
}

/// How long a refused connection is read (and ignored) after our `error`, so that closing with
/// unread data does not reset it before the agent has read why.
pub const LINGER: Duration = Duration::from_millis(500);

/// What one line was, as the framer hands it on.
enum Line {
    /// A v1 sample, read into the context's sample.
    Sample,
    /// A v2 `values` line, its values read into the box that takes them on.
    Values(ValuesHeader, Box<Decoded>),
    /// A v2 `declare` line, read.
    Declare(Box<Result<Declaration, crate::declaration::Refused>>),
    /// Any other message, in the version its line said.
    Other(Box<Message>, u32),
}

/// A partial line's storage that grows as far as the line needs, up to its limit (at most
/// [`MAX_LINE`]), and is given back once the line is done.
#[derive(Debug)]
pub struct GrowBuf {
    buf: Vec<u8>,
    limit: usize,
}

impl GrowBuf {
    /// An empty buffer for lines of at most `limit` bytes (and never over [`MAX_LINE`]).
    pub fn new(limit: usize) -> Self {
        GrowBuf {
            buf: Vec::new(),
            limit: limit.min(MAX_LINE),
        }
    }
}

impl LineBuffer for GrowBuf {
    fn limit(&self) -> usize {
        self.limit
    }

    fn room(&mut self, len: usize) -> Option<&mut [u8]> {
        if len > self.limit {
            return None;
        }
        if self.buf.len() < len {
            self.buf
                .resize(len.next_power_of_two().clamp(len, self.limit), 0);
        }
        Some(&mut self.buf)
    }

    fn held(&self, len: usize) -> &[u8] {
        self.buf.get(..len).unwrap_or_default()
    }

    fn release(&mut self) {
        if self.buf.capacity() > 4096 {
            self.buf = Vec::new();
        }
    }
}

/// What a connection may do, each from a flag of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time from connecting to hello (and from the challenge to the answer).
    pub handshake_timeout: Duration,
    /// The longest line accepted, in bytes without its newline (at most [`MAX_LINE`]).
    pub max_line: usize,
    /// A connection that sends no whole message for this many of its agent's intervals (at
    /// least [`MIN_IDLE`], at most [`MAX_IDLE`]) is closed. Bytes that do not finish a message do
    /// not count, so a sender trickling one byte at a time cannot hold a connection. Its first
    /// sample must come within one interval (and [`MIN_IDLE`]) of its hello, as an agent's does.
    pub idle_intervals: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            handshake_timeout: Duration::from_secs(10),
            max_line: MAX_LINE,
            idle_intervals: 3,
        }
    }
}

/// What a session asks of the aggregator, in order.
#[derive(Debug)]
pub enum Request {
    /// The agent said hello (and proved its id, if `authenticated`); the answer is a
    /// [`Reply::Welcome`] or a refusal.
    Connected {
        #[allow(missing_docs)]
        hello: Box<Hello>,
        #[allow(missing_docs)]
        authenticated: bool,
        /// The protocol version of the hello.
        protocol: u32,
        /// Where the connection comes from.
        peer: SocketAddr,
    },
    /// A sample to merge; the answer is a [`Reply::Merged`] or a refusal.
    Sample(Box<Decoded>),
    /// The session refused something, for this reason (an error code).
    Rejected(&'static str),
    /// The connection of an agent that had said hello is gone.
    Disconnected,
}

impl Request {
    /// The aggregator's event for this request of connection `conn`.
    pub fn into_event(self, conn: ConnId) -> Event {
        match self {
            Request::Connected {
                hello,
                authenticated,
                protocol,
                peer,
            } => Event::Connected {
                conn,
                hello,
                authenticated,
                protocol,
                peer,
            },
            Request::Sample(message) => Event::Sample { conn, message },
            Request::Rejected(reason) => Event::Rejected {
                reason,
                conn: Some(conn),
            },
            Request::Disconnected => Event::Disconnected { conn },
        }
    }
}

/// What a session needs from the server around it.
pub struct Context<'a> {
    /// The agents that may connect and their keys, if the server authenticates.
    pub keys: Option<&'a Keys>,
    /// Fills a nonce; `false` when no randomness is to be had.
    pub random: &'a mut dyn FnMut(&mut [u8]) -> bool,
    /// Room for a sealed line without its seal.
    pub plain: &'a mut Vec<u8>,
    /// Where each sample is decoded, in place: the caller's own, reused for every line so that
    /// it stays in its cache. What goes on to the aggregator is a [`Decoded`] filled from it.
    pub sample: &'a mut SampleMessage<Sample>,
    /// Boxes the aggregator is done with, to fill without allocating; a new one is made when
    /// there is none.
    pub spares: Option<&'a Receiver<Box<Decoded>>>,
}

/// Reads a `values` line into `next`: its values, or, for a line that leaves out those it
/// shares with the previous one on the connection (`based`: whether one came since the
/// declaration, of `base_len` values), the new values by position. A line that leaves values
/// out with nothing to take them from is refused, as one whose runs pass the values there are.
fn read_values(
    line: &[u8],
    next: &mut Decoded,
    base_len: &mut usize,
    based: &mut bool,
) -> Result<ValuesHeader, DecodeError> {
    let had = std::mem::replace(based, false);
    let (mut at, mut delta) = (0usize, false);
    next.start_values();
    let header = wire::decode_items(line, |item| {
        match item {
            Item::Same(n) => {
                if !delta {
                    if !had {
                        return Err(DecodeError::InvalidValue("same"));
                    }
                    delta = true;
                    next.start_changes();
                }
                at = at.saturating_add(n as usize);
                if at > *base_len {
                    return Err(DecodeError::InvalidValue("same"));
                }
            }
            Item::New(v) if delta => {
                let place = u32::try_from(at)
                    .ok()
                    .filter(|_| at < *base_len)
                    .ok_or(DecodeError::InvalidValue("x"))?;
                next.change(place, v);
                at += 1;
            }
            Item::New(v) => {
                next.push_value(v);
                at += 1;
            }
        }
        Ok(())
    })?;
    if !delta {
        *base_len = at;
    }
    *based = true;
    Ok(header)
}

impl Context<'_> {
    /// A box to hand the next sample on in.
    fn next_box(&self) -> Box<Decoded> {
        next_box(self.spares)
    }
}

/// A box the aggregator is done with, or a new one.
fn next_box(spares: Option<&Receiver<Box<Decoded>>>) -> Box<Decoded> {
    spares
        .and_then(|spares| spares.try_recv().ok())
        .unwrap_or_default()
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("keys", &self.keys.is_some())
            .finish_non_exhaustive()
    }
}

/// Why a connection is being closed: an error code and a message for the agent.
struct Refusal {
    code: &'static str,
    message: String,
}

impl Refusal {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for hello until the deadline.
    Hello,
    /// Challenged (the agent's key is known): waiting for its answer until the deadline.
    Challenged,
    /// Hello went to the aggregator.
    Open,
    /// Refused or going away: our error is queued; read and drop until the deadline, then close.
    Closing,
}

/// One agent's connection, without its socket.
pub struct Session {
    /// The agent's address, for the log lines.
    peer: SocketAddr,
    /// Cuts the bytes read into lines, keeping a line split across reads in a buffer that
    /// grows as far as the line needs (up to `limits.max_line`).
    framer: Framer<GrowBuf>,
    /// Where the handshake is; `Closing` once the session refused the agent or the server
    /// is stopping ([`going_away`](Session::going_away)), when reads are drained and dropped.
    state: State,
    /// The agent id, once hello was read.
    agent: Option<String>,
    /// While challenged: the hello, the nonce sent and the agent's key.
    challenge: Option<Box<(Hello, [u8; NONCE_LEN], Key)>>,
    /// Once authenticated: the sealers of the agent's lines and of ours. (This and
    /// `challenge` are boxed, being most of a session's size, so that what a sample touches
    /// of a session without them takes a few cache lines rather than twelve.)
    seals: Option<Box<(Sealer, Sealer)>>,
    /// Whether the aggregator has welcomed it (so that a disconnect is worth a log line).
    welcomed: bool,
    /// One ack for this many merged samples, as the agent's hello allows.
    ack_every: u64,
    /// The [`Decoded::identity`] of the last sample handed on, which went whole if it was
    /// not that of the one before.
    identity: Option<u64>,
    /// The protocol version of the hello, in which the session answers.
    protocol: u32,
    /// v2: the agent's latest declaration, and whether a sample went on with it yet.
    declared: Option<(Arc<Declaration>, bool)>,
    /// v2: how many values the last `values` line had, whose values the next one may leave
    /// out (`same`: the aggregator keeps them), and whether one came since the declaration.
    base_len: usize,
    based: bool,
    /// The samples merged since the last ack, and the newest of them: acknowledged before the
    /// goodbye when the server stops, so the agent need not send them again.
    unacked: u64,
    last_merged: u64,
    /// When [`tick`](Session::tick) has work: the end of the handshake's time, of the idle
    /// time (moved on by each whole message), or of the linger after our error.
    deadline: Instant,
    /// How long the agent may send nothing once it is open: from its hello's interval and
    /// `--idle-intervals`, between [`MIN_IDLE`] and [`MAX_IDLE`].
    idle: Duration,
    /// How long after its hello the first sample must come.
    first_sample: Duration,
    /// What the connection may do, from the server's flags.
    limits: Limits,
    /// Bytes for the agent that the caller has yet to write.
    pub out: Vec<u8>,
    /// Lines for the server's log that the caller has yet to write.
    pub notes: Vec<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("peer", &self.peer)
            .field("state", &self.state)
            .field("agent", &self.agent)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session for a connection from `peer` accepted at `now`.
    pub fn new(peer: SocketAddr, limits: Limits, now: Instant) -> Self {
        Session {
            peer,
            framer: Framer::with_buffer(GrowBuf::new(limits.max_line)),
            state: State::Hello,
            agent: None,
            challenge: None,
            seals: None,
            welcomed: false,
            ack_every: 1,
            identity: None,
            protocol: PROTOCOL_VERSION,
            declared: None,
            base_len: 0,
            based: false,
            unacked: 0,
            last_merged: 0,
            deadline: after(now, limits.handshake_timeout),
            idle: MIN_IDLE,
            first_sample: MIN_IDLE,
            limits,
            out: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Whether the session has refused the agent or is going away: what is in `out` is the
    /// last it has to say, and reads are only drained.
    pub fn is_closing(&self) -> bool {
        self.state == State::Closing
    }

    /// When [`tick`](Session::tick) next has work.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Handles bytes from the agent, cut anywhere.
    pub fn receive(
        &mut self,
        mut input: &[u8],
        now: Instant,
        ctx: &mut Context<'_>,
        requests: &mut Vec<Request>,
    ) {
        while self.state != State::Closing {
            let (seals, plain, sample) = (&mut self.seals, &mut *ctx.plain, &mut *ctx.sample);
            let (base_len, based) = (&mut self.base_len, &mut self.based);
            let spares = ctx.spares;
            // Other messages than samples are rare (hello, auth): boxed, so that what the framer
            // hands back stays small.
            let fed = self.framer.feed_with(input, |line| {
                let line = match seals.as_deref_mut() {
                    Some((from_agent, _)) => {
                        plain.resize(line.len(), 0);
                        from_agent.open(line, plain)?
                    }
                    None => line,
                };
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.starts_with(br#"{"v":2,"kind":"values","#) {
                    // Straight into the box that takes them to the aggregator.
                    let mut next = next_box(spares);
                    let header = read_values(line, &mut next, base_len, based)?;
                    return Ok(Line::Values(header, next));
                }
                if line.starts_with(br#"{"v":2,"kind":"declare","#) {
                    return Ok(Line::Declare(Box::new(Declaration::read(line))));
                }
                Ok(match wire::decode_line_into(line, sample)? {
                    None => Line::Sample,
                    Some(other) => {
                        let version = wire::version_of(line).unwrap_or(PROTOCOL_VERSION);
                        Line::Other(Box::new(other), version)
                    }
                })
            });
            let message = match fed {
                FeedResult::Consumed => return,
                FeedResult::Message { message, remaining } => {
                    input = remaining;
                    if self.state == State::Open {
                        self.deadline = after(now, self.idle);
                    }
                    message
                }
                FeedResult::Error { error, .. } => {
                    self.refuse(Refusal::new(error.code(), error.to_string()), now, requests);
                    return;
                }
            };
            let handled = match message {
                Line::Sample => self.on_sample(ctx, requests),
                Line::Values(header, next) => self.on_values(&header, next, requests),
                Line::Declare(read) => self.on_declare(*read),
                Line::Other(message, version) => {
                    if matches!(*message, Message::Hello(_)) && self.agent.is_none() {
                        self.protocol = version;
                    }
                    self.on_message(*message, now, ctx, requests)
                }
            };
            if let Err(refusal) = handled {
                self.refuse(refusal, now, requests);
                return;
            }
        }
    }

    fn on_message(
        &mut self,
        message: Message,
        now: Instant,
        ctx: &mut Context<'_>,
        requests: &mut Vec<Request>,
    ) -> Result<(), Refusal> {
        let request = match (message, &self.agent) {
            (Message::Hello(hello), None) => {
                self.agent = Some(hello.id.as_str().to_owned());
                self.ack_every = u64::from(hello.ack_every.clamp(1, MAX_ACK_EVERY));
                let interval = Duration::from_millis(u64::from(hello.interval_ms));
                self.idle = interval
                    .saturating_mul(self.limits.idle_intervals)
                    .clamp(MIN_IDLE, MAX_IDLE);
                // An agent samples within an interval of its welcome (or sends what it kept at
                // once): a hello that is not followed by a sample holds nothing for long.
                self.first_sample = interval.saturating_add(MIN_IDLE).min(self.idle);
                if let Some(keys) = ctx.keys {
                    let Some(key) = keys.find(&hello.id) else {
                        return Err(Refusal::new(
                            codes::UNKNOWN_AGENT,
                            format!("agent id `{}` is not in the server's key file", hello.id),
                        ));
                    };
                    let mut nonce = [0u8; NONCE_LEN];
                    if !(ctx.random)(&mut nonce) {
                        return Err(Refusal::new(codes::UNAVAILABLE, "no randomness"));
                    }
                    let mut hex = [0u8; 2 * NONCE_LEN];
                    let challenge = Message::Challenge(Challenge {
                        nonce: bounded(auth::to_hex(&nonce, &mut hex)),
                    });
                    self.challenge = Some(Box::new((hello, nonce, key.clone())));
                    self.state = State::Challenged;
                    self.deadline = after(now, self.limits.handshake_timeout);
                    self.queue(&challenge);
                    return Ok(());
                }
                self.state = State::Open;
                self.deadline = after(now, self.first_sample);
                Request::Connected {
                    hello: Box::new(hello),
                    authenticated: false,
                    protocol: self.protocol,
                    peer: self.peer,
                }
            }
            (Message::Auth(answer), Some(_)) if self.state == State::Challenged => {
                let Some(challenge) = self.challenge.take() else {
                    return Err(Refusal::new(codes::UNEXPECTED, "auth without a challenge"));
                };
                let (hello, nonce, key) = *challenge;
                if answer.mac.is_empty() {
                    return Err(Refusal::new(
                        codes::AUTH_REQUIRED,
                        "this server requires a key: give the agent one with --key-file",
                    ));
                }
                let mut mac = [0u8; auth::MAC_LEN];
                let proven = auth::from_hex(answer.mac.as_bytes(), &mut mac).is_ok()
                    && auth::verify_proof(&key, &nonce, &hello.id, hello.session, &mac);
                if !proven {
                    return Err(Refusal::new(
                        codes::AUTH_FAILED,
                        format!("wrong key for agent `{}`", hello.id),
                    ));
                }
                self.seals = Some(Box::new((
                    Sealer::new(&key, &nonce, &hello.id, Direction::FromAgent),
                    Sealer::new(&key, &nonce, &hello.id, Direction::FromServer),
                )));
                self.state = State::Open;
                self.deadline = after(now, self.first_sample);
                Request::Connected {
                    hello: Box::new(hello),
                    authenticated: true,
                    protocol: self.protocol,
                    peer: self.peer,
                }
            }
            (other, _) => {
                return Err(Refusal::new(
                    codes::UNEXPECTED,
                    format!("`{}` is not expected from an agent now", other.kind()),
                ));
            }
        };
        requests.push(request);
        Ok(())
    }

    /// Whether a message of version `version`'s own kind (`kind`) may come now.
    fn expect(&self, version: u32, kind: &str) -> Result<(), Refusal> {
        match (&self.agent, self.state) {
            (Some(_), State::Open) if self.protocol == version => Ok(()),
            (Some(_), State::Open) => Err(Refusal::new(
                codes::UNEXPECTED,
                format!(
                    "`{kind}` is a protocol v{version} message, and this connection's hello \
                     said v{}",
                    self.protocol
                ),
            )),
            (None, _) => Err(Refusal::new(
                codes::UNEXPECTED,
                format!("`{kind}` before hello"),
            )),
            (Some(_), _) => Err(Refusal::new(
                codes::UNEXPECTED,
                format!("`{kind}` is not expected from an agent now"),
            )),
        }
    }

    /// A `declare` line was read: it replaces the last one.
    fn on_declare(
        &mut self,
        read: Result<Declaration, crate::declaration::Refused>,
    ) -> Result<(), Refusal> {
        self.expect(PROTOCOL_V2, "declare")?;
        let declaration = read.map_err(|refused| Refusal {
            code: refused.code,
            message: refused.message,
        })?;
        self.declared = Some((Arc::new(declaration), false));
        self.based = false;
        Ok(())
    }

    /// A `values` line was read into `next`: hands it on with its declaration.
    fn on_values(
        &mut self,
        header: &ValuesHeader,
        mut next: Box<Decoded>,
        requests: &mut Vec<Request>,
    ) -> Result<(), Refusal> {
        self.expect(PROTOCOL_V2, "values")?;
        let Some((declared, sent)) = &mut self.declared else {
            return Err(Refusal::new(codes::UNEXPECTED, "`values` before `declare`"));
        };
        if declared.g != header.g {
            return Err(Refusal::new(
                codes::UNEXPECTED,
                format!(
                    "`values` follow declaration {}, and the last one sent was {}",
                    header.g, declared.g
                ),
            ));
        }
        if next.changes().is_none() && declared.len() != next.values_read() {
            return Err(Refusal::new(
                codes::INVALID_VALUE,
                format!(
                    "{} values for the {} series declared",
                    next.values_read(),
                    declared.len()
                ),
            ));
        }
        next.finish_declared(header, declared, !*sent);
        *sent = true;
        requests.push(Request::Sample(next));
        Ok(())
    }

    /// A sample was read into `ctx.sample`: hands it on, if it is expected now.
    fn on_sample(
        &mut self,
        ctx: &mut Context<'_>,
        requests: &mut Vec<Request>,
    ) -> Result<(), Refusal> {
        self.expect(PROTOCOL_VERSION, "sample")?;
        let mut next = ctx.next_box();
        next.fill(ctx.sample);
        // The aggregator labels the series from the whole message, and only needs it again
        // when they change.
        let identity = next.identity();
        if self.identity != Some(identity) {
            next.keep_whole(ctx.sample);
            self.identity = Some(identity);
        }
        requests.push(Request::Sample(next));
        Ok(())
    }

    /// Writes the aggregator's answer to a request of this session.
    pub fn answer(&mut self, reply: Reply, now: Instant, requests: &mut Vec<Request>) {
        if self.state == State::Closing {
            return;
        }
        let answer: Message = match reply {
            Reply::Welcome { last_seq } => {
                self.welcomed = true;
                if let Some(agent) = &self.agent {
                    self.notes
                        .push(format!("agent {agent} from {} connected", self.peer));
                }
                Message::Welcome(Welcome {
                    server: bounded(concat!("vitals-server ", env!("CARGO_PKG_VERSION"))),
                    last_seq,
                    // A v2 agent may leave out the values a line shares with the one before.
                    same: u64::from(self.protocol == PROTOCOL_V2),
                })
            }
            Reply::Merged { seq } => {
                // Acks are cumulative: one covers every sample up to its number.
                self.unacked += 1;
                self.last_merged = seq;
                if self.unacked < self.ack_every {
                    return;
                }
                self.unacked = 0;
                Message::Ack(Ack { seq })
            }
            Reply::Flush => {
                if self.unacked == 0 {
                    return;
                }
                self.unacked = 0;
                Message::Ack(Ack {
                    seq: self.last_merged,
                })
            }
            Reply::Refused { code, message } => {
                self.refuse(Refusal { code, message }, now, requests);
                return;
            }
        };
        self.queue(&answer);
        if self.out.len() > MAX_UNSENT {
            let unsent = self.out.len();
            self.refuse(
                Refusal::new(
                    codes::NOT_READING,
                    format!("{unsent} bytes of answers wait unread; read them as they come"),
                ),
                now,
                requests,
            );
        }
    }

    /// Closes on deadlines: refuses a connection that said nothing in time; returns whether
    /// the connection should be closed now (its linger is over).
    pub fn tick(&mut self, now: Instant, requests: &mut Vec<Request>) -> bool {
        if now < self.deadline {
            return false;
        }
        let refusal = match self.state {
            State::Hello => Refusal::new(codes::HANDSHAKE_TIMEOUT, "no hello in time"),
            State::Challenged => Refusal::new(
                codes::HANDSHAKE_TIMEOUT,
                "no answer to the challenge in time",
            ),
            State::Open => Refusal::new(codes::IDLE_TIMEOUT, "no sample in time"),
            State::Closing => return true,
        };
        self.refuse(refusal, now, requests);
        false
    }

    /// The server is stopping: says so to the agent, unless it was refused already.
    pub fn going_away(&mut self, now: Instant) {
        if self.state != State::Closing {
            self.state = State::Closing;
            self.deadline = after(now, LINGER);
            if self.unacked > 0 {
                // What was merged is acknowledged first: the agent need not send it again.
                self.unacked = 0;
                self.queue(&Message::Ack(Ack {
                    seq: self.last_merged,
                }));
            }
            self.queue(&Message::Error(ErrorMessage {
                code: bounded(codes::SHUTTING_DOWN),
                message: bounded("the server is shutting down"),
            }));
        }
    }

    /// The connection is gone (closed by either side).
    pub fn closed(&mut self, requests: &mut Vec<Request>) {
        if let Some(agent) = &self.agent {
            if self.welcomed && self.state != State::Closing {
                self.notes
                    .push(format!("agent {agent} from {} disconnected", self.peer));
            }
            requests.push(Request::Disconnected);
        }
    }

    fn refuse(&mut self, refusal: Refusal, now: Instant, requests: &mut Vec<Request>) {
        if self.state == State::Closing {
            return;
        }
        // The aggregator logs an episode of connections taking an id from each other once,
        // not each of the attempts it refuses.
        if refusal.code != codes::ID_CONFLICT {
            let who = self.agent.as_deref().unwrap_or("(no hello)");
            self.notes.push(format!(
                "agent {who} from {}: refused: {} ({})",
                self.peer, refusal.message, refusal.code
            ));
        }
        requests.push(Request::Rejected(refusal.code));
        self.state = State::Closing;
        self.deadline = after(now, LINGER);
        self.queue(&Message::Error(ErrorMessage {
            code: bounded(refusal.code),
            message: bounded(&refusal.message),
        }));
    }

    /// Appends `message` as a line to `out`, sealed once the agent has authenticated.
    fn queue(&mut self, message: &Message) {
        let mut buf = [0u8; 512 + auth::SEAL_LEN];
        let Ok(mut n) = wire::encode_versioned(self.protocol, message, &mut buf) else {
            return;
        };
        if let Some((_, from_server)) = self.seals.as_deref_mut() {
            match from_server.seal_in_place(&mut buf, n) {
                Ok(sealed) => n = sealed,
                Err(_) => return,
            }
        }
        self.out.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_core::sample::Sample;

    /// `message` as a line on the wire.
    fn line(message: &Message<&Sample>) -> Vec<u8> {
        let mut line = vec![0; MAX_LINE];
        let n = wire::encode(message, &mut line).unwrap();
        line.truncate(n);
        line
    }

    fn hello(ack_every: u32) -> Vec<u8> {
        line(&Message::Hello(Hello {
            id: bounded("pi"),
            interval_ms: 1000,
            session: 5,
            ack_every,
            ..Hello::default()
        }))
    }

    /// The kinds and numbers of the lines the session wrote, and forgets them.
    fn written(session: &mut Session) -> Vec<String> {
        let out = std::mem::take(&mut session.out);
        out.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| match wire::decode_line::<Sample>(l) {
                Ok(Message::Ack(ack)) => format!("ack {}", ack.seq),
                Ok(other) => other.kind().to_owned(),
                Err(e) => panic!("{e}: {}", String::from_utf8_lossy(l)),
            })
            .collect()
    }

    /// Hands `session` each of `inputs` in turn, as one I/O thread would (with no key file).
    fn receive(session: &mut Session, inputs: &[&[u8]], now: Instant, requests: &mut Vec<Request>) {
        let (mut plain, mut sample) = (Vec::new(), Box::<SampleMessage<Sample>>::default());
        let mut random = |_: &mut [u8]| true;
        let mut ctx = Context {
            keys: None,
            random: &mut random,
            plain: &mut plain,
            sample: &mut sample,
            spares: None,
        };
        for input in inputs {
            session.receive(input, now, &mut ctx, requests);
        }
    }

    /// A session whose agent said hello with `ack_every` and was welcomed.
    fn welcomed(ack_every: u32) -> Session {
        let now = Instant::now();
        let mut session = Session::new("127.0.0.1:9".parse().unwrap(), Limits::default(), now);
        let mut requests = Vec::new();
        receive(&mut session, &[&hello(ack_every)], now, &mut requests);
        assert!(matches!(requests.as_slice(), [Request::Connected { .. }]));
        session.answer(Reply::Welcome { last_seq: 0 }, now, &mut requests);
        assert_eq!(written(&mut session), ["welcome"]);
        session
    }

    /// A sample line with this number, with a filesystem mounted at each of `mounts`.
    fn sample_line(seq: u64, mounts: &[&str]) -> Vec<u8> {
        let mut sample: Sample = Sample::default();
        for m in mounts {
            let _ = sample.filesystems.push(agent_core::sample::Filesystem {
                device: bounded("/dev/sda1"),
                fstype: bounded("ext4"),
                mountpoint: bounded(m),
                ..Default::default()
            });
        }
        line(&Message::Sample(SampleMessage {
            seq,
            dropped: 0,
            sample: &sample,
        }))
    }

    #[test]
    fn a_sample_goes_whole_first_and_when_its_series_change_and_flat_otherwise() {
        let now = Instant::now();
        let mut session = welcomed(1);
        let lines: Vec<Vec<u8>> = [
            (1, &["/"][..]),
            (2, &["/"]),
            (3, &["/", "/boot"]),
            (4, &["/", "/boot"]),
            (5, &["/"]),
        ]
        .into_iter()
        .map(|(seq, mounts)| sample_line(seq, mounts))
        .collect();
        let lines: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        let mut requests = Vec::new();
        receive(&mut session, &lines, now, &mut requests);
        let sent: Vec<(u64, bool)> = requests
            .iter()
            .map(|r| match r {
                Request::Sample(d) => (d.seq, d.is_whole()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            sent,
            [(1, true), (2, false), (3, true), (4, false), (5, true)]
        );
    }

    #[test]
    fn one_ack_covers_as_many_samples_as_the_hello_allows() {
        let (now, mut requests) = (Instant::now(), Vec::new());
        let mut session = welcomed(3);
        for seq in 1..=7 {
            session.answer(Reply::Merged { seq }, now, &mut requests);
        }
        assert_eq!(written(&mut session), ["ack 3", "ack 6"]);
        // Going away, it acknowledges what it merged since, then says why it closes.
        session.going_away(now);
        assert_eq!(written(&mut session), ["ack 7", "error"]);
    }

    #[test]
    fn a_flush_acknowledges_what_waits_for_ack_every_and_only_that() {
        let (now, mut requests) = (Instant::now(), Vec::new());
        let mut session = welcomed(3);
        for seq in 1..=4 {
            session.answer(Reply::Merged { seq }, now, &mut requests);
        }
        session.answer(Reply::Flush, now, &mut requests);
        session.answer(Reply::Flush, now, &mut requests);
        assert_eq!(written(&mut session), ["ack 3", "ack 4"]);
        // The count starts again after it.
        for seq in 5..=7 {
            session.answer(Reply::Merged { seq }, now, &mut requests);
        }
        assert_eq!(written(&mut session), ["ack 7"]);
    }

    /// The codes of the refusals the session passed on.
    fn refusals(requests: &[Request]) -> Vec<&'static str> {
        requests
            .iter()
            .filter_map(|r| match r {
                Request::Rejected(code) => Some(*code),
                _ => None,
            })
            .collect()
    }

    /// A hello declaring 4294967295 ms and then silence held its connection (and its id) for
    /// three of those intervals: months.
    #[test]
    fn a_hello_with_no_sample_after_it_is_closed_within_one_interval() {
        let now = Instant::now();
        let mut session = Session::new("127.0.0.1:9".parse().unwrap(), Limits::default(), now);
        let mut requests = Vec::new();
        let hour = line(&Message::Hello(Hello {
            id: bounded("slow"),
            interval_ms: wire::MAX_INTERVAL_MS,
            session: 5,
            ..Hello::default()
        }));
        receive(&mut session, &[&hour], now, &mut requests);
        session.answer(Reply::Welcome { last_seq: 0 }, now, &mut requests);
        requests.clear();
        let first = Duration::from_secs(3600) + MIN_IDLE;
        assert!(!session.tick(now + first - Duration::from_millis(1), &mut requests));
        assert!(refusals(&requests).is_empty());
        session.tick(now + first, &mut requests);
        assert_eq!(refusals(&requests), [codes::IDLE_TIMEOUT]);
        // An hour longer is refused as it is read.
        let mut session = Session::new("127.0.0.1:9".parse().unwrap(), Limits::default(), now);
        let mut requests = Vec::new();
        let longer = String::from_utf8(hour)
            .unwrap()
            .replace("3600000", "4294967295");
        receive(&mut session, &[longer.as_bytes()], now, &mut requests);
        assert_eq!(refusals(&requests), [codes::INVALID_VALUE]);
    }

    #[test]
    fn deadlines_have_a_ceiling_whatever_the_flags_say() {
        let now = Instant::now();
        let limits = Limits {
            handshake_timeout: Duration::MAX,
            idle_intervals: u32::MAX,
            ..Limits::default()
        };
        let mut session = Session::new("127.0.0.1:9".parse().unwrap(), limits, now);
        let mut requests = Vec::new();
        receive(&mut session, &[&hello(1)], now, &mut requests);
        receive(&mut session, &[&sample_line(1, &[])], now, &mut requests);
        assert!(session.deadline() <= now + MAX_IDLE);
        session.tick(now + MAX_IDLE, &mut requests);
        assert_eq!(refusals(&requests), [codes::IDLE_TIMEOUT]);
    }

    /// A sender that never read its acks grew what waits for it without bound.
    #[test]
    fn an_agent_that_never_reads_its_acks_is_closed() {
        let (now, mut requests) = (Instant::now(), Vec::new());
        let mut session = welcomed(1);
        let mut seq = 0;
        while !session.is_closing() {
            seq += 1;
            assert!(seq < 1_000_000, "never closed");
            session.answer(Reply::Merged { seq }, now, &mut requests);
        }
        assert_eq!(refusals(&requests), [codes::NOT_READING]);
        assert!(
            session.out.len() <= MAX_UNSENT + 1024,
            "{}",
            session.out.len()
        );
        assert!(seq > 1000, "closed after {seq} acks");
    }

    /// What a v2 agent at `ack_every` 1 says before its values: hello and a declaration of
    /// three series.
    fn v2_welcomed() -> Session {
        let now = Instant::now();
        let mut session = Session::new("127.0.0.1:9".parse().unwrap(), Limits::default(), now);
        let mut requests = Vec::new();
        let hello = String::from_utf8(hello(1))
            .unwrap()
            .replace(r#"{"v":1"#, r#"{"v":2"#);
        receive(&mut session, &[hello.as_bytes()], now, &mut requests);
        session.answer(Reply::Welcome { last_seq: 0 }, now, &mut requests);
        let welcome = String::from_utf8(std::mem::take(&mut session.out)).unwrap();
        assert!(welcome.contains(r#""same":1"#), "{welcome}");
        session
    }

    const DECLARE: &[u8] = concat!(
        r#"{"v":2,"kind":"declare","g":1,"families":[[0,"cpu","mode"],[1]],"#,
        r#""series":[[0,"0","user"],[0,"0","idle"],[1]]}"#,
        "\n"
    )
    .as_bytes();

    /// A values line of declaration 1 with these members after `t`.
    fn values_line(seq: u64, rest: &str) -> Vec<u8> {
        format!(r#"{{"v":2,"kind":"values","seq":{seq},"dropped":0,"g":1,"t":5,{rest}}}"#)
            .into_bytes()
            .into_iter()
            .chain(*b"\n")
            .collect()
    }

    /// The values of the samples handed on, each line's new ones written onto the values of
    /// the one before as the aggregator does, and the codes of the refusals.
    fn handed_on(requests: &[Request]) -> (Vec<Vec<f64>>, Vec<&'static str>) {
        let mut base: Vec<f64> = Vec::new();
        let values = requests
            .iter()
            .filter_map(|r| match r {
                Request::Sample(d) => {
                    match d.changes() {
                        Some(changes) => {
                            for &(at, v) in changes {
                                base[at as usize] = v;
                            }
                        }
                        None => base = d.flat().values().to_vec(),
                    }
                    Some(base[..3].to_vec())
                }
                _ => None,
            })
            .collect();
        (values, refusals(requests))
    }

    #[test]
    fn a_v2_line_that_leaves_values_out_takes_them_from_the_one_before() {
        let (now, mut requests) = (Instant::now(), Vec::new());
        let mut session = v2_welcomed();
        let lines = [
            values_line(1, r#""x":[1.5,2,0.25]"#),
            values_line(2, r#""same":[1,1],"x":[3]"#),
            values_line(3, r#""same":[],"x":[]"#),
            values_line(4, r#""same":[0,1,1,1],"x":[7,8]"#),
        ];
        let mut input = DECLARE.to_vec();
        for l in &lines {
            input.extend_from_slice(l);
        }
        receive(&mut session, &[&input], now, &mut requests);
        let (values, refused) = handed_on(&requests);
        assert_eq!(refused, Vec::<&str>::new());
        assert_eq!(
            values,
            [
                [1.5, 2.0, 0.25],
                [1.5, 3.0, 0.25],
                [1.5, 3.0, 0.25],
                [7.0, 3.0, 8.0]
            ]
        );
    }

    #[test]
    fn values_left_out_with_nothing_to_take_them_from_are_refused() {
        let now = Instant::now();
        for (before, line) in [
            // The first line of a connection.
            (vec![], values_line(1, r#""same":[1,1],"x":[3]"#)),
            // The first after a new declaration.
            (
                vec![values_line(1, r#""x":[1,2,3]"#), DECLARE.to_vec()],
                values_line(2, r#""same":[],"x":[]"#),
            ),
            // More kept than there are.
            (
                vec![values_line(1, r#""x":[1,2,3]"#)],
                values_line(2, r#""same":[4],"x":[]"#),
            ),
            (
                vec![values_line(1, r#""x":[1,2,3]"#)],
                values_line(2, r#""same":[2,2],"x":[1,2]"#),
            ),
        ] {
            let mut requests = Vec::new();
            let mut session = v2_welcomed();
            let mut input = DECLARE.to_vec();
            for l in before.iter().chain([&line]) {
                input.extend_from_slice(l);
            }
            receive(&mut session, &[&input], now, &mut requests);
            assert_eq!(
                refusals(&requests),
                [codes::INVALID_VALUE],
                "{}",
                String::from_utf8_lossy(&line)
            );
            assert!(session.is_closing());
        }
    }

    #[test]
    fn an_agent_that_does_not_say_gets_an_ack_for_every_sample() {
        assert!(!String::from_utf8_lossy(&hello(0)).contains("ack_every"));
        let (now, mut requests) = (Instant::now(), Vec::new());
        let mut session = welcomed(0);
        for seq in 1..=2 {
            session.answer(Reply::Merged { seq }, now, &mut requests);
        }
        assert_eq!(written(&mut session), ["ack 1", "ack 2"]);
        session.going_away(now);
        assert_eq!(written(&mut session), ["error"]);
    }
}
