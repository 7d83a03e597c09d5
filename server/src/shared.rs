//! What crosses a thread, in one place: the I/O side and the aggregator both import this module,
//! and neither imports the other (quinn-proto's `shared.rs` is the model).
//!
//! - The acceptor hands each new connection to an I/O thread ([`NewConnection`]) and wakes it
//!   ([`Waker`]).
//! - An I/O thread decodes each sample into a [`Decoded`] box, and after each pass hands the
//!   aggregator one [`Batch`] of [`Event`]s through its [`Mailbox`].
//! - The aggregator answers a batch with a [`Reply`] for each hello and sample, all at once,
//!   through the batch's [`Replier`], which wakes the I/O thread; the sample boxes go back to
//!   the I/O threads to be filled again.
//!
//! Connections are numbered by the acceptor ([`ConnId`]), and both sides keep tables by that
//! number ([`ByConn`]).

use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::Thread;

use agent_core::sample::Sample;
use agent_core::wire::{Hello, SampleMessage, ValuesHeader};
use crossbeam_channel::Sender;

use crate::declaration::Declaration;
use crate::exposition::Builder;

/// Numbers a connection, from 1, in the order the acceptor took it; never reused while the
/// server runs.
pub type ConnId = u64;

/// A table by connection number, hashed with FxHash (one multiplication) rather than SipHash:
/// the numbers are the server's own (a counter), so no peer can choose them to collide, and an
/// I/O thread's table is looked up once per read and once per answer, 20,000 times a second at
/// 10,000 agents (the aggregator's, once per sample). Multiplying by an odd constant maps
/// distinct numbers to distinct hashes and spreads consecutive ones over the high bits, where
/// the table takes its tags.
pub type ByConn<V> = rustc_hash::FxHashMap<ConnId, V>;

/// A new connection, from the acceptor to an I/O thread.
pub struct NewConnection {
    /// Numbers the connection, from 1.
    pub conn: ConnId,
    /// The socket.
    pub stream: TcpStream,
    /// The agent's address, for logs.
    pub peer: SocketAddr,
}

impl std::fmt::Debug for NewConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewConnection")
            .field("conn", &self.conn)
            .field("peer", &self.peer)
            .finish()
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
    /// A waker with an eventfd of its own, for the I/O thread to watch in its epoll.
    pub(crate) fn new() -> std::io::Result<Self> {
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

    /// The eventfd that becomes readable on a wake-up (none for [`Waker::none`]).
    pub(crate) fn fd(&self) -> Option<&OwnedFd> {
        self.fd.as_ref()
    }

    /// Makes the thread look at its channels soon.
    pub fn wake(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            if let Some(fd) = &self.fd {
                let _ = rustix::io::write(fd, &1u64.to_ne_bytes());
            }
        }
    }

    /// The thread has looked: the next [`wake`](Waker::wake) writes the eventfd again.
    pub(crate) fn reset(&self) {
        self.pending.store(false, Ordering::Release);
        if let Some(fd) = &self.fd {
            let _ = rustix::io::read(fd, &mut [0u8; 8]);
        }
    }
}

/// What an I/O thread (or, for a refusal, the acceptor) tells the aggregator.
#[derive(Debug)]
pub enum Event {
    /// An agent said hello on connection `conn`. The reply is the `last_seq` for the welcome, or
    /// a refusal.
    Connected {
        conn: ConnId,
        hello: Box<Hello>,
        /// Whether it proved its id with its key; only then may it take the id over from
        /// another connection.
        authenticated: bool,
        /// The protocol version of its hello.
        protocol: u32,
        /// Where it connects from.
        peer: SocketAddr,
    },
    /// An agent on connection `conn` sent a sample. The reply comes once it is merged.
    Sample { conn: ConnId, message: Box<Decoded> },
    /// Connection `conn`, which had said hello, is gone.
    Disconnected { conn: ConnId },
    /// A frame or connection was refused, for the reason given (an error code); `conn` when
    /// the refusal closes a connection that had said hello (the acceptor's have none).
    Rejected {
        reason: &'static str,
        conn: Option<ConnId>,
    },
    /// A connection was accepted (before any hello): the acceptor handed an I/O thread a
    /// [`NewConnection`].
    Accepted,
}

/// A sample on its way from the I/O thread that read it to the aggregator, and back for the
/// next: its own series as the aggregator would emit them, collected where it was decoded (see
/// [`Decoded::fill`]), the few fields the aggregator reads besides, and the whole message only
/// when the aggregator may need it to label the series anew.
///
/// The I/O thread decodes every line into one message of its own, which stays in its cache,
/// and writes the box only with what travels: about 1.3 KB of values and the label texts, not
/// the 13 KB message. At 10,000 agents the server took 105‰ of a core this way against 115‰
/// when each line was decoded into the box itself, which had last been written on another core
/// (`vitals-loadgen --agents 10000 --rate 1` and the server's `/proc/PID/stat` over 30 s,
/// averaged over six runs).
///
/// The aggregator labels an agent's series from a whole message, and then reuses those labels
/// while the sample's identity (every text that becomes a label) stays the same. So a session
/// sends the whole message with its first sample and whenever the identity changes (a new
/// mount); the aggregator keeps the labels of the last whole sample of each agent, also when
/// that sample itself is not merged (sent twice, or too soon).
#[derive(Debug, Default)]
pub struct Decoded {
    /// The message's sequence number.
    pub seq: u64,
    /// Samples the agent dropped, as the message says.
    pub dropped: u64,
    /// When the agent took the sample, in milliseconds since the Unix epoch by its clock.
    pub time_ms: u64,
    /// The sample's identity and values, in emission order.
    flat: Builder,
    /// The whole message, when the aggregator may need it (see above).
    whole: Option<Box<SampleMessage<Sample>>>,
    /// In debug builds (every test), the whole message always, to check what the aggregator
    /// publishes from the flattened values against the message.
    witness: Option<Box<SampleMessage<Sample>>>,
    /// A v2 sample's declaration, always: it labels the series as a whole v1 message does.
    declared: Option<Arc<Declaration>>,
    /// Whether the aggregator should label the series from the declaration: the session's
    /// first sample after a new declaration.
    declared_whole: bool,
    /// A v2 line that left out the values it shares with the one before on its connection:
    /// its new values by position (the time last), which the aggregator writes onto the
    /// connection's previous values; `flat` then holds none but the time.
    sparse: bool,
    changes: Vec<(u32, f64)>,
}

/// What the aggregator labels a sample's series from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Whole<'a> {
    /// A v1 sample message.
    Message(&'a SampleMessage<Sample>),
    /// A v2 declaration.
    Declared(&'a Declaration),
}

impl Decoded {
    /// A box for `message` with the whole message, as the first sample of a connection.
    pub fn new(message: &SampleMessage<Sample>) -> Box<Self> {
        let mut decoded = Box::<Decoded>::default();
        decoded.fill(message);
        decoded.keep_whole(message);
        decoded
    }

    /// Fills the box from `message`, whole or not: collects its own series, in the order the
    /// aggregator emits them, and the fields it reads besides. Call it once the message is
    /// decoded, then [`keep_whole`](Decoded::keep_whole) if its [`identity`](Decoded::identity)
    /// is not that of the session's previous sample.
    pub fn fill(&mut self, message: &SampleMessage<Sample>) {
        self.seq = message.seq;
        self.dropped = message.dropped;
        self.time_ms = message.sample.time_ms;
        self.whole = None;
        self.declared = None;
        self.declared_whole = false;
        self.sparse = false;
        self.flat.start();
        message.sample.series(&mut self.flat);
        self.witness = cfg!(debug_assertions).then(|| Box::new(message.clone()));
    }

    /// Empties the box for a v2 `values` line that leaves values out: its new values go in
    /// with [`change`](Self::change).
    pub fn start_changes(&mut self) {
        self.flat.start();
        self.changes.clear();
        self.sparse = true;
    }

    /// A new value at series position `at` of a line that leaves values out.
    pub fn change(&mut self, at: u32, value: f64) {
        self.changes.push((at, value));
    }

    /// Starts the box for a whole v2 `values` line, whose values go in with
    /// [`push_value`](Self::push_value).
    pub fn start_values(&mut self) {
        self.flat.start();
        self.sparse = false;
    }

    /// The next value of a whole v2 `values` line.
    pub fn push_value(&mut self, value: f64) {
        self.flat.extend_values(&[value]);
    }

    /// Whether it is a v2 sample: one whose series a declaration names.
    pub(crate) fn is_declared(&self) -> bool {
        self.declared.is_some()
    }

    /// The new values by position, if the line left values out.
    pub fn changes(&self) -> Option<&[(u32, f64)]> {
        self.sparse.then_some(self.changes.as_slice())
    }

    /// How many values a whole v2 line gave ([`push_value`](Self::push_value)).
    pub fn values_read(&self) -> usize {
        self.flat.values().len()
    }

    /// Finishes the box of a v2 `values` line whose values were read into it, with the
    /// declaration they follow; `whole` for the first sample after a new declaration.
    pub fn finish_declared(
        &mut self,
        header: &ValuesHeader,
        declared: &Arc<Declaration>,
        whole: bool,
    ) {
        self.seq = header.seq;
        self.dropped = header.dropped;
        self.time_ms = header.t;
        self.whole = None;
        self.witness = None;
        declared.finish(&mut self.flat, header.t);
        if let (true, Some(&time)) = (self.sparse, self.flat.values().last()) {
            let at = u32::try_from(declared.len()).unwrap_or(u32::MAX);
            self.changes.push((at, time));
        }
        self.declared = Some(declared.clone());
        self.declared_whole = whole;
    }

    /// A hash of the sample's identity: of every text that becomes a label of its series.
    pub fn identity(&self) -> u64 {
        self.flat.identity_hash()
    }

    /// Keeps the whole message, for the aggregator to label the series from.
    pub fn keep_whole(&mut self, message: &SampleMessage<Sample>) {
        self.whole = Some(Box::new(message.clone()));
    }

    /// Whether the whole message came along (or, in v2, the declaration is new).
    pub fn is_whole(&self) -> bool {
        self.whole.is_some() || self.declared_whole
    }

    /// What labels the series: the whole message, if it came along (or, in debug builds, as a
    /// witness), or the declaration.
    pub(crate) fn whole(&self) -> Option<Whole<'_>> {
        match &self.declared {
            Some(declared) => Some(Whole::Declared(declared)),
            None => self
                .whole
                .as_deref()
                .or(self.witness.as_deref())
                .map(Whole::Message),
        }
    }

    /// The sample's own series, flattened where it was decoded.
    pub(crate) fn flat(&self) -> &Builder {
        &self.flat
    }

    /// Lets go of the messages, as the box goes back for reuse: the rare whole message is not
    /// kept while the box waits.
    pub(crate) fn drop_messages(&mut self) {
        self.whole = None;
        self.witness = None;
        self.declared = None;
    }
}

/// What an I/O thread hands the aggregator after a pass: its events in order, and the way
/// back for the answers, which go back together. One message and one wake-up a pass, not per
/// sample.
#[derive(Debug)]
pub struct Batch {
    /// The pass's events.
    pub events: Vec<Event>,
    /// Where the answers go; `None` where nothing is answered (the acceptor's refusals).
    pub reply: Option<Replier>,
}

/// Batches that may wait in the channel before the I/O threads block: a few passes of each I/O thread.
pub const CHANNEL_CAPACITY: usize = 16;

/// The way into the aggregator: its bounded channel of batches, and a wake-up.
///
/// The aggregator parks while its queue is empty and every send unparks it. Crossbeam's own
/// blocking receive spins and then yields to the kernel several times before it sleeps: at a
/// few hundred batches a second (10,000 agents), perf showed the aggregator spending about a
/// third of its time there, nearly as much as merging the samples.
#[derive(Debug, Clone)]
pub struct Mailbox {
    /// `None` only while it is dropped.
    batches: Option<Sender<Batch>>,
    aggregator: Thread,
}

impl Mailbox {
    /// The sending side of `batches`, whose receiver the aggregator reads on thread
    /// `aggregator`.
    pub fn new(batches: Sender<Batch>, aggregator: Thread) -> Self {
        Self {
            batches: Some(batches),
            aggregator,
        }
    }

    /// Sends `batch`, waiting while the queue is full. False when the aggregator is gone.
    pub fn send(&self, batch: Batch) -> bool {
        let sent = self.batches.as_ref().is_some_and(|b| b.send(batch).is_ok());
        self.aggregator.unpark();
        sent
    }

    /// Sends `batch` unless the queue is full. False when it was not sent.
    pub fn try_send(&self, batch: Batch) -> bool {
        let sent = self
            .batches
            .as_ref()
            .is_some_and(|b| b.try_send(batch).is_ok());
        self.aggregator.unpark();
        sent
    }
}

impl Drop for Mailbox {
    /// The last sender gone ends the aggregator: it is woken to see so.
    fn drop(&mut self) {
        drop(self.batches.take());
        self.aggregator.unpark();
    }
}

/// The aggregator's answer to an I/O thread, for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Hello accepted; the server already has this session's samples up to `last_seq`.
    Welcome { last_seq: u64 },
    /// The sample is merged (or was merged before): acknowledge up to `seq`.
    Merged { seq: u64 },
    /// Acknowledge now what is merged and not yet acknowledged, without waiting for
    /// `ack_every` samples: with remote write, when the store stops taking requests, so that an
    /// agent whose ring overflows meanwhile knows which of its samples the store has.
    Flush,
    /// Refused, with an error code and message; the session refuses the agent and closes.
    Refused { code: &'static str, message: String },
}

/// Where the aggregator sends its answers to one I/O thread: each for a connection.
#[derive(Debug, Clone)]
pub struct Replier {
    tx: Sender<Vec<(ConnId, Reply)>>,
    waker: Arc<Waker>,
}

impl Replier {
    /// A replier for the thread behind `tx` and `waker`.
    pub fn new(tx: Sender<Vec<(ConnId, Reply)>>, waker: Arc<Waker>) -> Self {
        Replier { tx, waker }
    }

    /// Whether `other` answers the same I/O thread.
    pub fn same_thread(&self, other: &Replier) -> bool {
        Arc::ptr_eq(&self.waker, &other.waker)
    }

    /// Sends the answers and wakes the thread.
    pub fn send(&self, answers: Vec<(ConnId, Reply)>) {
        if self.tx.send(answers).is_ok() {
            self.waker.wake();
        }
    }
}
