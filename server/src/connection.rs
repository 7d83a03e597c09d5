//! Agents' connections: a few I/O threads, each serving thousands of non-blocking sockets
//! through one epoll instance.
//!
//! A thread per connection costs a stack and a malloc arena each, a few hundred kilobytes
//! resident, and a thread switch per sample: fine for dozens of agents, not for thousands. Here
//! a connection is a small struct; a line that arrives whole is decoded where it was read, and
//! only a line split across reads is copied into a buffer that grows as far as that line needs.
//!
//! Each connection: decode lines; hand hello and samples to the aggregator; write the welcome
//! or ack that comes back (through a channel and an eventfd that wakes the thread); refuse a bad
//! line with an `error` message and close, without disturbing any other connection.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use agent_core::auth::{self, Direction, Key, NONCE_LEN, Sealer};
use agent_core::sample::{Sample, bounded};
use agent_core::wire::{
    self, Ack, Challenge, ErrorMessage, FeedResult, Framer, Hello, LineBuffer, MAX_LINE, Message,
    Welcome, codes,
};
use crossbeam_channel::{Receiver, Sender};
use rustix::event::epoll;

use crate::aggregator::{Event, IDLE_TIMEOUT, Reply};
use crate::keys::Keys;

/// Bytes read from a socket at a time (one buffer per I/O thread).
const READ_CHUNK: usize = 64 * 1024;

/// The shortest idle timeout, whatever the agent's interval.
pub const MIN_IDLE: Duration = Duration::from_secs(10);

/// How long a refused connection is read (and ignored) after our `error`, so that closing with
/// unread data does not reset it before the agent has read why.
const LINGER: Duration = Duration::from_millis(500);

/// How often an I/O thread looks at deadlines and the shutdown flag when nothing happens.
const TICK: Duration = Duration::from_millis(250);

/// At light load an I/O thread handles what is ready at most this often, so that a wake-up
/// (of this thread, then of the aggregator, then of this thread for the acks) serves a batch of
/// samples rather than one. Agents sample once in seconds, so a few milliseconds more before an
/// ack costs them nothing; under heavy load a pass takes longer than this and never sleeps.
const COALESCE: Duration = Duration::from_millis(4);

/// The epoll token of a thread's waker; connections use their number, which starts at 1.
const WAKER: u64 = 0;

/// How long a stopping server gives agents to read its `shutting_down` error and close their
/// end, so that the error is not lost to a reset; the server exits within a second in all.
const GOODBYE: Duration = Duration::from_millis(300);

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
    /// A connection that sends no whole message for this many of its agent's intervals (and at
    /// least [`MIN_IDLE`]) is closed. Bytes that do not finish a message do not count, so a
    /// sender trickling one byte at a time cannot hold a connection.
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

/// Wakes an I/O thread blocked in `epoll_wait`: an eventfd, written at most once until the
/// thread has looked.
#[derive(Debug)]
pub struct Waker {
    fd: Option<OwnedFd>,
    pending: AtomicBool,
}

impl Waker {
    fn new() -> std::io::Result<Self> {
        let fd = rustix::event::eventfd(0, rustix::event::EventfdFlags::NONBLOCK)?;
        Ok(Waker {
            fd: Some(fd),
            pending: AtomicBool::new(false),
        })
    }

    /// A waker that wakes nothing, for tests of the aggregator alone.
    pub fn none() -> Arc<Self> {
        Arc::new(Waker {
            fd: None,
            pending: AtomicBool::new(false),
        })
    }

    /// Makes the thread look at its channels soon.
    pub fn wake(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            if let Some(fd) = &self.fd {
                let _ = rustix::io::write(fd, &1u64.to_ne_bytes());
            }
        }
    }

    fn reset(&self) {
        self.pending.store(false, Ordering::Release);
        if let Some(fd) = &self.fd {
            let _ = rustix::io::read(fd, &mut [0u8; 8]);
        }
    }
}

/// Where the aggregator sends its answer about one connection.
#[derive(Debug, Clone)]
pub struct Replier {
    conn: u64,
    tx: Sender<(u64, Reply)>,
    waker: Arc<Waker>,
}

impl Replier {
    /// A replier for connection `conn` of the thread behind `tx` and `waker`.
    pub fn new(conn: u64, tx: Sender<(u64, Reply)>, waker: Arc<Waker>) -> Self {
        Replier { conn, tx, waker }
    }

    /// Sends the answer and wakes the connection's thread.
    pub fn send(&self, reply: Reply) {
        if self.tx.send((self.conn, reply)).is_ok() {
            self.waker.wake();
        }
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
    /// Refused: our error is queued; read and drop until the deadline, then close.
    Closing,
}

/// One agent's connection.
struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    framer: Framer<GrowBuf>,
    state: State,
    /// The agent id, once hello was read.
    agent: Option<String>,
    /// While challenged: the hello, the nonce sent and the agent's key.
    challenge: Option<(Box<Hello>, [u8; NONCE_LEN], Key)>,
    /// Once authenticated: the sealers of the agent's lines and of ours.
    seals: Option<(Sealer, Sealer)>,
    /// Whether the aggregator has welcomed it (so that it must hear of the disconnect).
    welcomed: bool,
    /// Bytes to write, and how far they are written.
    out: Vec<u8>,
    written: usize,
    /// Whether epoll also watches for writability.
    watching_out: bool,
    deadline: Instant,
    idle: Duration,
}

/// A new connection for an I/O thread.
pub struct Accepted {
    /// Numbers the connection, from 1.
    pub conn: u64,
    /// The socket.
    pub stream: TcpStream,
    /// The agent's address, for logs.
    pub peer: SocketAddr,
}

/// The handle the acceptor keeps for each I/O thread.
#[derive(Debug, Clone)]
pub struct IoHandle {
    /// New connections go here.
    pub accepted: Sender<Accepted>,
    /// Wakes the thread.
    pub waker: Arc<Waker>,
}

impl std::fmt::Debug for Accepted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accepted")
            .field("conn", &self.conn)
            .field("peer", &self.peer)
            .finish()
    }
}

impl std::fmt::Debug for IoThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoThread")
            .field("conns", &self.conns.len())
            .finish_non_exhaustive()
    }
}

/// One I/O thread's state.
pub struct IoThread {
    epoll: OwnedFd,
    waker: Arc<Waker>,
    accepted: Receiver<Accepted>,
    replies: Receiver<(u64, Reply)>,
    reply_tx: Sender<(u64, Reply)>,
    events: Sender<Event>,
    /// Events of this pass, sent to the aggregator together at its end (in order).
    outbox: Vec<Event>,
    conns: HashMap<u64, Conn>,
    open: Arc<AtomicUsize>,
    limits: Limits,
    keys: Option<Arc<Keys>>,
    scratch: Vec<u8>,
    /// A sealed line without its seal, to decode.
    plain: Vec<u8>,
}

impl IoThread {
    /// A thread's state and the handle to reach it.
    ///
    /// # Errors
    /// When epoll or the eventfd cannot be created.
    pub fn new(
        events: Sender<Event>,
        open: Arc<AtomicUsize>,
        limits: Limits,
        keys: Option<Arc<Keys>>,
    ) -> std::io::Result<(Self, IoHandle)> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let waker = Arc::new(Waker::new()?);
        if let Some(fd) = &waker.fd {
            epoll::add(
                &epoll,
                fd,
                epoll::EventData::new_u64(WAKER),
                epoll::EventFlags::IN,
            )?;
        }
        let (accepted_tx, accepted) = crossbeam_channel::unbounded();
        let (reply_tx, replies) = crossbeam_channel::unbounded();
        let handle = IoHandle {
            accepted: accepted_tx,
            waker: waker.clone(),
        };
        let thread = IoThread {
            epoll,
            waker,
            accepted,
            replies,
            reply_tx,
            events,
            outbox: Vec::new(),
            conns: HashMap::new(),
            open,
            limits,
            keys,
            scratch: vec![0; READ_CHUNK],
            plain: vec![0; MAX_LINE],
        };
        Ok((thread, handle))
    }

    /// Serves its connections until `shutdown` is set, then closes them.
    pub fn run(mut self, shutdown: &AtomicBool) {
        let mut ready: Vec<epoll::Event> = Vec::with_capacity(1024);
        let timeout = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: i64::try_from(TICK.as_nanos()).unwrap_or(250_000_000),
        };
        let mut next_tick = Instant::now() + TICK;
        while !shutdown.load(Ordering::Relaxed) {
            let pass = Instant::now();
            ready.clear();
            let _ = epoll::wait(
                &self.epoll,
                rustix::buffer::spare_capacity(&mut ready),
                Some(&timeout),
            );
            self.take_accepted();
            self.handle_ready(&ready);
            self.take_replies();
            let now = Instant::now();
            if now >= next_tick {
                self.check_deadlines(now);
                next_tick = now + TICK;
            }
            self.send_events();
            if let Some(rest) = COALESCE.checked_sub(pass.elapsed()) {
                std::thread::sleep(rest);
            }
        }
        self.going_away();
    }

    /// Writes and reads what epoll says is ready.
    fn handle_ready(&mut self, ready: &[epoll::Event]) {
        for event in ready.iter().copied() {
            let (flags, token) = (event.flags, event.data.u64());
            if token == WAKER {
                self.waker.reset();
                continue;
            }
            if flags.intersects(epoll::EventFlags::OUT) {
                self.flush(token);
            }
            if flags
                .intersects(epoll::EventFlags::IN | epoll::EventFlags::HUP | epoll::EventFlags::ERR)
            {
                self.read(token);
            }
        }
    }

    /// The server is stopping: tells every connection so with a `shutting_down` error (after
    /// the acks already due), waits up to [`GOODBYE`] for the agents to close, then closes
    /// the rest.
    fn going_away(&mut self) {
        self.take_accepted();
        self.take_replies();
        let goodbye: Message = Message::Error(ErrorMessage {
            code: bounded(codes::SHUTTING_DOWN),
            message: bounded("the server is shutting down"),
        });
        let tokens: Vec<u64> = self.conns.keys().copied().collect();
        for &token in &tokens {
            let Some(conn) = self.conns.get_mut(&token) else {
                continue;
            };
            // A connection already refused has its own error queued.
            if conn.state != State::Closing {
                conn.state = State::Closing;
                queue(conn, &goodbye);
            }
            self.flush(token);
        }
        let deadline = Instant::now() + GOODBYE;
        let mut ready: Vec<epoll::Event> = Vec::with_capacity(1024);
        while !self.conns.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let timeout = rustix::time::Timespec {
                tv_sec: 0,
                tv_nsec: i64::try_from(left.as_nanos()).unwrap_or(0),
            };
            ready.clear();
            let _ = epoll::wait(
                &self.epoll,
                rustix::buffer::spare_capacity(&mut ready),
                Some(&timeout),
            );
            // Reads on a closing connection are dropped; the agent's end of file closes it.
            self.handle_ready(&ready);
        }
        let all: Vec<u64> = self.conns.keys().copied().collect();
        for conn in all {
            self.close(conn);
        }
        self.send_events();
    }

    /// Hands this pass's events to the aggregator; blocks while its queue is full.
    fn send_events(&mut self) {
        for event in self.outbox.drain(..) {
            if self.events.send(event).is_err() {
                break; // The aggregator is gone: the server is shutting down.
            }
        }
    }

    fn take_accepted(&mut self) {
        while let Ok(Accepted { conn, stream, peer }) = self.accepted.try_recv() {
            let _ = stream.set_nonblocking(true);
            let _ = stream.set_nodelay(true);
            let interest = epoll::EventFlags::IN | epoll::EventFlags::RDHUP;
            if epoll::add(
                &self.epoll,
                &stream,
                epoll::EventData::new_u64(conn),
                interest,
            )
            .is_err()
            {
                self.open.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
            self.outbox.push(Event::Accepted);
            self.conns.insert(
                conn,
                Conn {
                    stream,
                    peer,
                    framer: Framer::with_buffer(GrowBuf::new(self.limits.max_line)),
                    state: State::Hello,
                    agent: None,
                    challenge: None,
                    seals: None,
                    welcomed: false,
                    out: Vec::new(),
                    written: 0,
                    watching_out: false,
                    deadline: Instant::now() + self.limits.handshake_timeout,
                    idle: MIN_IDLE,
                },
            );
        }
    }

    fn read(&mut self, token: u64) {
        // The read buffer is taken out while lines are handled, which needs all of `self`.
        let mut scratch = std::mem::take(&mut self.scratch);
        self.read_into(token, &mut scratch);
        self.scratch = scratch;
    }

    fn read_into(&mut self, token: u64, scratch: &mut [u8]) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let n = match conn.stream.read(scratch) {
            Ok(0) => {
                self.close(token);
                return;
            }
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => return,
            Err(_) => {
                self.close(token);
                return;
            }
        };
        if conn.state == State::Closing {
            return; // Read only so that closing does not reset the connection; dropped.
        }
        let mut input = scratch.get(..n).unwrap_or_default();
        loop {
            let Some(conn) = self.conns.get_mut(&token) else {
                return;
            };
            let (seals, plain) = (&mut conn.seals, &mut self.plain);
            let fed = conn.framer.feed_with(input, |line| match seals {
                Some((from_agent, _)) => wire::decode_line::<Sample>(from_agent.open(line, plain)?),
                None => wire::decode_line::<Sample>(line),
            });
            let message = match fed {
                FeedResult::Consumed => return,
                FeedResult::Message { message, remaining } => {
                    input = remaining;
                    if conn.state == State::Open {
                        conn.deadline = Instant::now() + conn.idle;
                    }
                    message
                }
                FeedResult::Error { error, .. } => {
                    self.refuse(token, Refusal::new(error.code(), error.to_string()));
                    return;
                }
            };
            if let Err(refusal) = self.on_message(token, message) {
                self.refuse(token, refusal);
                return;
            }
        }
    }

    fn on_message(&mut self, token: u64, message: Message) -> Result<(), Refusal> {
        let Some(conn) = self.conns.get_mut(&token) else {
            return Ok(());
        };
        let reply = Replier::new(token, self.reply_tx.clone(), self.waker.clone());
        let event = match (message, &conn.agent) {
            (Message::Hello(hello), None) => {
                conn.agent = Some(hello.id.as_str().to_owned());
                let interval = Duration::from_millis(u64::from(hello.interval_ms));
                conn.idle = (interval * self.limits.idle_intervals).max(MIN_IDLE);
                if let Some(keys) = &self.keys {
                    let Some(key) = keys.find(&hello.id) else {
                        return Err(Refusal::new(
                            codes::UNKNOWN_AGENT,
                            format!("agent id `{}` is not in the server's key file", hello.id),
                        ));
                    };
                    let mut nonce = [0u8; NONCE_LEN];
                    fill_random(&mut nonce)
                        .map_err(|_| Refusal::new(codes::UNAVAILABLE, "no randomness"))?;
                    let mut hex = [0u8; 2 * NONCE_LEN];
                    let challenge = Message::Challenge(Challenge {
                        nonce: bounded(auth::to_hex(&nonce, &mut hex)),
                    });
                    conn.challenge = Some((Box::new(hello), nonce, key.clone()));
                    conn.state = State::Challenged;
                    conn.deadline = Instant::now() + self.limits.handshake_timeout;
                    queue(conn, &challenge);
                    self.flush(token);
                    return Ok(());
                }
                conn.state = State::Open;
                conn.deadline = Instant::now() + conn.idle;
                Event::Connected {
                    conn: token,
                    hello: Box::new(hello),
                    authenticated: false,
                    reply,
                }
            }
            (Message::Auth(answer), Some(_)) if conn.state == State::Challenged => {
                let Some((hello, nonce, key)) = conn.challenge.take() else {
                    return Err(Refusal::new(codes::UNEXPECTED, "auth without a challenge"));
                };
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
                conn.seals = Some((
                    Sealer::new(&key, &nonce, &hello.id, Direction::FromAgent),
                    Sealer::new(&key, &nonce, &hello.id, Direction::FromServer),
                ));
                conn.state = State::Open;
                conn.deadline = Instant::now() + conn.idle;
                Event::Connected {
                    conn: token,
                    hello,
                    authenticated: true,
                    reply,
                }
            }
            (Message::Sample(sample), Some(_)) if conn.state == State::Open => Event::Sample {
                conn: token,
                message: Box::new(sample),
                reply,
            },
            (Message::Sample(_), None) => {
                return Err(Refusal::new(codes::UNEXPECTED, "sample before hello"));
            }
            (other, _) => {
                return Err(Refusal::new(
                    codes::UNEXPECTED,
                    format!("`{}` is not expected from an agent now", other.kind()),
                ));
            }
        };
        self.outbox.push(event);
        Ok(())
    }

    fn take_replies(&mut self) {
        while let Ok((token, reply)) = self.replies.try_recv() {
            let Some(conn) = self.conns.get_mut(&token) else {
                continue;
            };
            if conn.state == State::Closing {
                continue;
            }
            let answer: Message = match reply {
                Reply::Welcome { last_seq } => {
                    conn.welcomed = true;
                    if let Some(agent) = &conn.agent {
                        crate::log!("agent {agent} from {} connected", conn.peer);
                    }
                    Message::Welcome(Welcome {
                        server: bounded(concat!("vitals-server ", env!("CARGO_PKG_VERSION"))),
                        last_seq,
                    })
                }
                Reply::Merged { seq } => Message::Ack(Ack { seq }),
                Reply::Refused { code, message } => {
                    self.refuse(token, Refusal { code, message });
                    continue;
                }
            };
            queue(conn, &answer);
            self.flush(token);
        }
    }

    /// Writes what is queued; watches for writability when the socket is full.
    fn flush(&mut self, token: u64) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        while conn.written < conn.out.len() {
            match conn
                .stream
                .write(conn.out.get(conn.written..).unwrap_or_default())
            {
                Ok(0) => break,
                Ok(n) => conn.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.close(token);
                    return;
                }
            }
        }
        let done = conn.written == conn.out.len();
        if done {
            conn.out.clear();
            conn.written = 0;
            if conn.out.capacity() > 4096 {
                conn.out = Vec::new();
            }
            if conn.state == State::Closing {
                let _ = conn.stream.shutdown(Shutdown::Write);
            }
        }
        if done == conn.watching_out {
            conn.watching_out = !done;
            let mut interest = epoll::EventFlags::IN | epoll::EventFlags::RDHUP;
            if !done {
                interest |= epoll::EventFlags::OUT;
            }
            let _ = epoll::modify(
                &self.epoll,
                &conn.stream,
                epoll::EventData::new_u64(token),
                interest,
            );
        }
    }

    fn refuse(&mut self, token: u64, refusal: Refusal) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if conn.state == State::Closing {
            return;
        }
        let who = conn.agent.as_deref().unwrap_or("(no hello)");
        crate::log!(
            "agent {who} from {}: refused: {} ({})",
            conn.peer,
            refusal.message,
            refusal.code
        );
        self.outbox.push(Event::Rejected {
            reason: refusal.code,
        });
        conn.state = State::Closing;
        conn.deadline = Instant::now() + LINGER;
        let error: Message = Message::Error(ErrorMessage {
            code: bounded(refusal.code),
            message: bounded(&refusal.message),
        });
        queue(conn, &error);
        self.flush(token);
    }

    fn check_deadlines(&mut self, now: Instant) {
        let due: Vec<(u64, State)> = self
            .conns
            .iter()
            .filter(|(_, c)| now >= c.deadline)
            .map(|(token, c)| (*token, c.state))
            .collect();
        for (token, state) in due {
            match state {
                State::Hello => self.refuse(
                    token,
                    Refusal::new(codes::HANDSHAKE_TIMEOUT, "no hello in time"),
                ),
                State::Challenged => self.refuse(
                    token,
                    Refusal::new(
                        codes::HANDSHAKE_TIMEOUT,
                        "no answer to the challenge in time",
                    ),
                ),
                State::Open => self.refuse(token, Refusal::new(IDLE_TIMEOUT, "no sample in time")),
                State::Closing => self.close(token),
            }
        }
    }

    fn close(&mut self, token: u64) {
        let Some(conn) = self.conns.remove(&token) else {
            return;
        };
        let _ = epoll::delete(&self.epoll, conn.stream.as_fd());
        let _ = conn.stream.shutdown(Shutdown::Both);
        self.open.fetch_sub(1, Ordering::Relaxed);
        if conn.agent.is_some() {
            if conn.welcomed && conn.state != State::Closing {
                if let Some(agent) = &conn.agent {
                    crate::log!("agent {agent} from {} disconnected", conn.peer);
                }
            }
            self.outbox.push(Event::Disconnected { conn: token });
        }
    }
}

/// Appends `message` as a line to what the connection has to write, sealed once the
/// connection is authenticated.
fn queue(conn: &mut Conn, message: &Message) {
    let mut buf = [0u8; 512 + auth::SEAL_LEN];
    let Ok(mut n) = wire::encode(message, &mut buf) else {
        return;
    };
    if let Some((_, from_server)) = &mut conn.seals {
        match from_server.seal_in_place(&mut buf, n) {
            Ok(sealed) => n = sealed,
            Err(_) => return,
        }
    }
    conn.out.extend_from_slice(buf.get(..n).unwrap_or_default());
}

/// Fills `buf` from the kernel's random source (for nonces).
fn fill_random(buf: &mut [u8]) -> std::io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = buf.get_mut(filled..).unwrap_or_default();
        filled += rustix::rand::getrandom(rest, rustix::rand::GetRandomFlags::empty())?;
    }
    Ok(())
}
