//! Agents' connections: a few I/O threads, each serving thousands of non-blocking sockets
//! through one epoll instance.
//!
//! A thread per connection costs a stack and a malloc arena each, a few hundred kilobytes
//! resident, and a thread switch per sample: fine for dozens of agents, not for thousands. Here
//! a connection is a small struct; a line that arrives whole is decoded where it was read, and
//! only a line split across reads is copied into a buffer that grows as far as that line needs.
//!
//! Each connection is a [`Session`] (the protocol, without the socket) plus its socket: bytes
//! read go to the session; its requests go to the aggregator, whose answers come back through a
//! channel and an eventfd that wakes the thread; what the session has to say is written as the
//! socket takes it. A bad line is refused with an `error` message and closed, without disturbing
//! any other connection.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use agent_core::sample::Sample;
use agent_core::wire::{MAX_LINE, SampleMessage};
use crossbeam_channel::{Receiver, Sender};
use rustix::event::epoll;

use crate::heartbeat::Heartbeat;
use crate::io::pacer::{Pacer, TICK};
use crate::io::session::{Context, Limits, Request, Session};
use crate::keys::Keys;
use crate::shared::{
    Batch, ByConn, ConnId, Decoded, Event, Mailbox, NewConnection, Replier, Reply, Waker,
};

/// Bytes read from a socket at a time (one buffer per I/O thread).
const READ_CHUNK: usize = 64 * 1024;

/// The kernel's send buffer of each connection (which it doubles for its bookkeeping). The
/// server writes only acks and a welcome, a few dozen bytes each, so this is ample; left to
/// itself the kernel grew it to megabytes for an agent that never reads, before
/// [`MAX_UNSENT`](crate::io::session::MAX_UNSENT) could bound what waits for it.
const SEND_BUFFER: usize = 64 * 1024;

/// What epoll watches on a connection, besides writability while the socket is full.
///
/// Level-triggered: a socket that still holds bytes after its read is reported again at the
/// next wait, so a connection gets one read a pass and none waits for the others. (Edge-
/// triggered, epoll would skip its second look at each socket it reported, but that look is
/// cheap: perf showed the same `sock_poll` share either way at 10,000 agents, as the cost is
/// the first look's cache misses.)
const WATCH: epoll::EventFlags = epoll::EventFlags::IN.union(epoll::EventFlags::RDHUP);

/// The epoll token of a thread's waker; connections use their number, which starts at 1.
const WAKER: u64 = 0;

/// How long a stopping server gives agents to read its `shutting_down` error and close their
/// end, so that the error is not lost to a reset; the server exits within a second in all.
const GOODBYE: Duration = Duration::from_millis(300);

/// An I/O thread's connections by number.
type Conns = ByConn<Conn>;

/// One agent's connection: its session and its socket.
struct Conn {
    /// The socket, non-blocking, registered in the thread's epoll under the connection's
    /// number; shut down and dropped when the connection closes.
    stream: TcpStream,
    /// The protocol: what the thread reads goes in, what it writes comes out of its `out`.
    session: Session,
    /// How much of the session's `out` is written.
    written: usize,
    /// Whether epoll also watches for writability.
    watching_out: bool,
}

/// The handle the acceptor keeps for each I/O thread.
#[derive(Debug, Clone)]
pub struct IoHandle {
    /// New connections go here.
    pub connections: Sender<NewConnection>,
    /// Wakes the thread.
    pub waker: Arc<Waker>,
}

impl std::fmt::Debug for IoThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoThread")
            .field("conns", &self.conns.len())
            .finish_non_exhaustive()
    }
}

/// One I/O thread's state, made by [`IoThread::new`] and moved into the thread by
/// [`IoThread::run`].
pub struct IoThread {
    /// What the thread waits on: every connection's socket (by its number) and the waker's
    /// eventfd (token [`WAKER`]).
    epoll: OwnedFd,
    /// Woken by the acceptor with a new connection, by the aggregator with answers, and by
    /// the acceptor again when the server stops; reset when the thread looks.
    waker: Arc<Waker>,
    /// New connections from the acceptor, taken at each pass (and once more when stopping).
    connections: Receiver<NewConnection>,
    /// The aggregator's answers to this thread's batches, by connection, taken at each pass
    /// (and once more when stopping, so the acks due are sent before the goodbye).
    replies: Receiver<Vec<(ConnId, Reply)>>,
    /// The way back for those answers, given with each batch.
    replier: Replier,
    /// The way into the aggregator. The thread's copy is dropped when it ends, and the
    /// aggregator ends once every copy is.
    events: Mailbox,
    /// Events of this pass, sent to the aggregator together at its end (in order).
    outbox: Vec<Event>,
    /// A session's requests while it is handled, before they join the outbox (kept, so that a
    /// read does not allocate).
    requests: Vec<Request>,
    /// The thread's connections by number: added as the acceptor hands them over, removed as
    /// they close; when the server stops, each is told so and closed.
    conns: Conns,
    /// Connections open in the whole server: counted up by the acceptor, down here as one
    /// closes, against `--max-connections`.
    open: Arc<AtomicUsize>,
    /// What each connection may do, from the server's flags.
    limits: Limits,
    /// The agents' keys from `--key-file`, if the server authenticates them.
    keys: Option<Arc<Keys>>,
    /// Where a socket is read into, [`READ_CHUNK`] bytes at a time.
    scratch: Vec<u8>,
    /// A sealed line without its seal, to decode.
    plain: Vec<u8>,
    /// Where each sample is decoded (see [`Context::sample`]).
    sample: Box<SampleMessage<Sample>>,
    /// The aggregator's spent sample boxes (see [`Context::spares`]).
    spares: Receiver<Box<Decoded>>,
}

impl IoThread {
    /// A thread's state and the handle to reach it.
    ///
    /// # Errors
    /// When epoll or the eventfd cannot be created.
    pub fn new(
        events: Mailbox,
        open: Arc<AtomicUsize>,
        limits: Limits,
        keys: Option<Arc<Keys>>,
        spares: Receiver<Box<Decoded>>,
    ) -> std::io::Result<(Self, IoHandle)> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let waker = Arc::new(Waker::new()?);
        if let Some(fd) = waker.fd() {
            epoll::add(
                &epoll,
                fd,
                epoll::EventData::new_u64(WAKER),
                epoll::EventFlags::IN,
            )?;
        }
        let (connections_tx, connections) = crossbeam_channel::unbounded();
        let (reply_tx, replies) = crossbeam_channel::unbounded();
        let handle = IoHandle {
            connections: connections_tx,
            waker: waker.clone(),
        };
        let thread = IoThread {
            epoll,
            waker: waker.clone(),
            connections,
            replies,
            replier: Replier::new(reply_tx, waker.clone()),
            events,
            outbox: Vec::new(),
            requests: Vec::new(),
            conns: Conns::default(),
            open,
            limits,
            keys,
            scratch: vec![0; READ_CHUNK],
            plain: vec![0; MAX_LINE],
            sample: Box::default(),
            spares,
        };
        Ok((thread, handle))
    }

    /// Serves its connections until `shutdown` is set, then closes them.
    pub fn run(mut self, shutdown: &AtomicBool, heartbeat: &Heartbeat) {
        let mut ready: Vec<epoll::Event> = Vec::with_capacity(1024);
        let timeout = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: i64::try_from(TICK.as_nanos()).unwrap_or(250_000_000),
        };
        let mut next_tick = Instant::now() + TICK;
        let mut pacer = Pacer::default();
        while !shutdown.load(Ordering::Relaxed) {
            heartbeat.beat();
            let pass = Instant::now();
            ready.clear();
            let _ = epoll::wait(
                &self.epoll,
                rustix::buffer::spare_capacity(&mut ready),
                Some(&timeout),
            );
            self.take_new_connections();
            self.handle_ready(&ready);
            self.take_replies();
            let now = Instant::now();
            if now >= next_tick {
                self.check_deadlines(now);
                next_tick = now + TICK;
            }
            let events = self.outbox.len();
            self.send_events();
            pacer.pause(pass, events);
        }
        self.going_away();
    }

    /// Writes and reads what epoll says is ready.
    fn handle_ready(&mut self, ready: &[epoll::Event]) {
        self.look_up_ahead(ready);
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

    /// Reads a little of each ready connection before any is handled. A connection's entry
    /// was last touched a pass or a second ago, thousands of connections back, so each first
    /// touch misses the cache; here the misses of many connections overlap, where handling
    /// them one by one waits for each in turn: at 10,000 agents the server took 96‰ of a core
    /// with this and 102‰ without (`vitals-loadgen --agents 10000 --rate 1` and the server's
    /// `/proc/PID/stat` over 30 s, averaged over three runs).
    fn look_up_ahead(&self, ready: &[epoll::Event]) {
        let mut seen = 0u64;
        for event in ready {
            if let Some(conn) = self.conns.get(&event.data.u64()) {
                seen = seen.wrapping_add(conn.written as u64);
                seen ^= u64::from(conn.session.is_closing());
            }
        }
        std::hint::black_box(seen);
    }

    /// The server is stopping: tells every connection so with a `shutting_down` error (after
    /// the acks already due), waits up to [`GOODBYE`] for the agents to close, then closes
    /// the rest.
    fn going_away(&mut self) {
        self.take_new_connections();
        self.take_replies();
        let now = Instant::now();
        let tokens: Vec<u64> = self.conns.keys().copied().collect();
        for &token in &tokens {
            if let Some(conn) = self.conns.get_mut(&token) {
                // A connection already refused has its own error queued.
                conn.session.going_away(now);
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
        if self.outbox.is_empty() {
            return;
        }
        let batch = Batch {
            events: std::mem::take(&mut self.outbox),
            reply: Some(self.replier.clone()),
        };
        // Not sent means the aggregator is gone: the server is shutting down.
        self.events.send(batch);
    }

    fn take_new_connections(&mut self) {
        while let Ok(NewConnection { conn, stream, peer }) = self.connections.try_recv() {
            let _ = stream.set_nonblocking(true);
            let _ = stream.set_nodelay(true);
            let _ = rustix::net::sockopt::set_socket_send_buffer_size(&stream, SEND_BUFFER);
            if epoll::add(&self.epoll, &stream, epoll::EventData::new_u64(conn), WATCH).is_err() {
                self.open.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
            self.outbox.push(Event::Accepted);
            let session = Session::new(peer, self.limits, Instant::now());
            self.conns.insert(
                conn,
                Conn {
                    stream,
                    session,
                    written: 0,
                    watching_out: false,
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

    /// One read of connection `token`, handled: one lookup in the table for the read, the
    /// session's requests and its answer.
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
        // A closing session drops what it reads: read only so that closing does not reset the
        // connection before the agent has our error.
        let mut ctx = Context {
            keys: self.keys.as_deref(),
            random: &mut fill_random,
            plain: &mut self.plain,
            sample: &mut self.sample,
            spares: Some(&self.spares),
        };
        conn.session.receive(
            scratch.get(..n).unwrap_or_default(),
            Instant::now(),
            &mut ctx,
            &mut self.requests,
        );
        if !settle(
            &self.epoll,
            &mut self.outbox,
            &mut self.requests,
            token,
            conn,
        ) {
            self.close(token);
        }
    }

    fn take_replies(&mut self) {
        while let Ok(answers) = self.replies.try_recv() {
            let now = Instant::now();
            for (token, reply) in answers {
                let Some(conn) = self.conns.get_mut(&token) else {
                    continue;
                };
                conn.session.answer(reply, now, &mut self.requests);
                if !settle(
                    &self.epoll,
                    &mut self.outbox,
                    &mut self.requests,
                    token,
                    conn,
                ) {
                    self.close(token);
                }
            }
        }
    }

    /// Writes what is queued for connection `token`, or closes it if its socket failed.
    fn flush(&mut self, token: u64) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if !flush(&self.epoll, token, conn) {
            self.close(token);
        }
    }

    fn check_deadlines(&mut self, now: Instant) {
        let due: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| now >= c.session.deadline())
            .map(|(token, _)| *token)
            .collect();
        for token in due {
            let Some(conn) = self.conns.get_mut(&token) else {
                continue;
            };
            let close = conn.session.tick(now, &mut self.requests);
            pass_on(
                &mut self.outbox,
                &mut self.requests,
                token,
                &mut conn.session,
            );
            if close || !flush(&self.epoll, token, conn) {
                self.close(token);
            }
        }
    }

    fn close(&mut self, token: u64) {
        let Some(mut conn) = self.conns.remove(&token) else {
            return;
        };
        let _ = epoll::delete(&self.epoll, conn.stream.as_fd());
        let _ = conn.stream.shutdown(Shutdown::Both);
        self.open.fetch_sub(1, Ordering::Relaxed);
        conn.session.closed(&mut self.requests);
        pass_on(
            &mut self.outbox,
            &mut self.requests,
            token,
            &mut conn.session,
        );
    }
}

/// Passes what a session of connection `token` asked for on: its log lines to the log, and its
/// requests (left in `requests`) to the aggregator's `outbox`.
fn pass_on(
    outbox: &mut Vec<Event>,
    requests: &mut Vec<Request>,
    token: u64,
    session: &mut Session,
) {
    for note in session.notes.drain(..) {
        crate::log!("{note}");
    }
    outbox.extend(requests.drain(..).map(|request| request.into_event(token)));
}

/// After a session of connection `token` has handled something: passes its requests and log
/// lines on (see [`pass_on`]) and writes what it has to say (see [`flush`]); `false` when the
/// connection should be closed.
fn settle(
    epoll: &OwnedFd,
    outbox: &mut Vec<Event>,
    requests: &mut Vec<Request>,
    token: u64,
    conn: &mut Conn,
) -> bool {
    pass_on(outbox, requests, token, &mut conn.session);
    flush(epoll, token, conn)
}

/// Writes what is queued for `conn` (connection `token`), and watches for writability when the
/// socket is full; `false` when the socket failed, and the connection should be closed.
fn flush(epoll: &OwnedFd, token: u64, conn: &mut Conn) -> bool {
    let out = &mut conn.session.out;
    while conn.written < out.len() {
        match conn
            .stream
            .write(out.get(conn.written..).unwrap_or_default())
        {
            Ok(0) => break,
            Ok(n) => conn.written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    let done = conn.written == out.len();
    if done {
        out.clear();
        conn.written = 0;
        if out.capacity() > 4096 {
            *out = Vec::new();
        }
        if conn.session.is_closing() {
            let _ = conn.stream.shutdown(Shutdown::Write);
        }
    }
    if done == conn.watching_out {
        conn.watching_out = !done;
        let mut interest = WATCH;
        if !done {
            interest |= epoll::EventFlags::OUT;
        }
        let _ = epoll::modify(
            epoll,
            &conn.stream,
            epoll::EventData::new_u64(token),
            interest,
        );
    }
    true
}

/// Fills `buf` from the kernel's random source (for nonces); `false` if it cannot.
fn fill_random(buf: &mut [u8]) -> bool {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = buf.get_mut(filled..).unwrap_or_default();
        match rustix::rand::getrandom(rest, rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(_) => return false,
        }
    }
    true
}
