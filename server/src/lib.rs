//! The vitals server: agents connect over TCP and send samples as JSON lines; the server merges
//! them into Prometheus metrics and serves them over HTTP.
//!
//! ```text
//! agents ─TCP─► acceptor ─► I/O threads (epoll; decode, answer) ─ bounded channel ─► aggregator
//!                                 ▲                                                    │
//!                                 └──────────── welcome / ack (eventfd) ◄──────────────┘
//!                                                       one immutable view per agent ◄─┘
//! Prometheus ─HTTP(S)─► http acceptor ─► a thread per connection: renders the views + the
//!                                      server's own Registry
//! ```
//!
//! [`run`] takes listeners that are already bound, so tests bind `127.0.0.1:0`, and only wires
//! the threads together.
//!
//! # Layout
//!
//! The files in the order a sample crosses them:
//!
//! - [`io::acceptor`]: takes an agent's connection off the listener and hands it to an I/O
//!   thread ([`shared::NewConnection`]).
//! - [`io::thread`]: an I/O thread, epoll over thousands of connections: reads what an agent
//!   sends, writes what its session answers.
//! - [`io::session`]: one connection's protocol without the socket: the handshake, a line
//!   decoded, acks.
//! - [`families`]: the node_exporter mapping, with which the session flattens each sample into
//!   a [`shared::Decoded`] box.
//! - [`shared`]: what crosses a thread. A pass's events go to the aggregator as one
//!   [`shared::Batch`] through its [`shared::Mailbox`]; the answers come back through the
//!   batch's [`shared::Replier`], which wakes the I/O thread.
//! - [`io::pacer`]: how long the I/O thread rests after a pass, so that a batch gathers.
//! - [`aggregator`]: one thread that owns every agent's state. `mod.rs` is the actor and its
//!   loop; a hello goes through `connect.rs` (and `takeover.rs`), a sample through `merge.rs`,
//!   then `publish.rs` makes the agent's view; `expiry.rs` ages agents out of `table.rs`;
//!   `health.rs` keeps the server's own metrics.
//! - [`exposition`]: the views a scrape reads, and the text it writes from them.
//! - [`http`]: `/metrics` for Prometheus, `/healthz`, TLS and basic auth.
//! - [`remote`]: with `--remote-write`, each merged sample to a store, and its agent's
//!   acknowledgement once the store took it.
//!
//! Besides: [`keys`] (the agents' keys, for the session), [`heartbeat`] (every long-lived
//! thread's, for `/healthz`), [`process`] (the server's `process_*` metrics, in the registry a
//! scrape appends) and [`synthetic`] (a realistic sample for the load generator and
//! the benches); the binaries `main.rs` (`vitals-server`) and `bin/vitals-loadgen.rs`.

/// Writes one log line to stderr, prefixed `vitals-server: `. A closed or full stderr is not a
/// reason to stop serving agents, so write errors are ignored (`eprintln!` would panic).
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr(), "vitals-server: {}", ::std::format_args!($($arg)*));
    }};
}

pub mod aggregator;
pub mod declaration;
pub mod exposition;
pub mod facts;
pub mod families;
pub mod heartbeat;
pub mod http;
pub mod io;
pub mod keys;
pub mod process;
pub mod recorded;
pub mod remote;
pub mod shared;
pub mod status;
pub mod synthetic;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::thread;

use crate::aggregator::Aggregator;
use crate::heartbeat::Heartbeats;
use crate::io::acceptor::Acceptor;
use crate::io::thread::IoThread;
use crate::shared::{CHANNEL_CAPACITY, Mailbox};

/// Connections served at once unless configured otherwise (and as the open-file limit allows);
/// past this, a new connection gets an `error` message (`unavailable`) and is closed.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;

/// The most I/O threads, whatever the number of cores: one thread moves tens of thousands of
/// samples a second.
const IO_THREADS_MAX: usize = 4;

/// I/O threads for a machine of `cores`: a core each, but one left for the aggregator, which
/// under load is busy all the time; at least one, at most [`IO_THREADS_MAX`]. With as many
/// I/O threads as cores, one shares its core with the aggregator and the two keep trading
/// places: on 2 cores at 10,000 agents a second, one I/O thread took 91‰ of a core and two
/// 98‰ (`vitals-loadgen --agents 10000 --rate 1` and the server's `/proc/PID/stat` over 30 s,
/// averaged over three runs), though two moved a tenth more samples flat out.
fn io_threads(cores: usize) -> usize {
    cores.saturating_sub(1).clamp(1, IO_THREADS_MAX)
}

/// The line the server logs when it starts: where it listens and how many agents it takes.
/// Tools and tests read it back with [`parse_startup_line`] to learn ports picked by the system.
pub fn startup_line(
    agents: SocketAddr,
    http: SocketAddr,
    tls: bool,
    max_agents: usize,
    fd_limit: u64,
) -> String {
    let scheme = if tls { "https" } else { "http" };
    format!(
        "version {}, agents on {agents}, metrics on {scheme}://{http}/metrics, up to {max_agents} agents (open-file limit {fd_limit})",
        env!("CARGO_PKG_VERSION")
    )
}

/// The agents' and HTTP addresses in a [`startup_line`] (with or without the log prefix).
pub fn parse_startup_line(line: &str) -> Option<(SocketAddr, SocketAddr)> {
    let agents = line
        .split("agents on ")
        .nth(1)?
        .split(',')
        .next()?
        .parse()
        .ok()?;
    let http = line
        .split("metrics on ")
        .nth(1)?
        .split("://")
        .nth(1)?
        .split('/')
        .next()?
        .parse()
        .ok()?;
    Some((agents, http))
}

/// Raises this process's open-file limit to the hard limit and returns the limit now in force:
/// every agent is a socket.
pub fn raise_fd_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A listener could not be set up.
    #[error("cannot use listener: {0}")]
    Listener(#[from] std::io::Error),
    /// A system call for the sockets failed.
    #[error("cannot set up the sockets: {0}")]
    Sockets(#[from] rustix::io::Errno),
    /// The server's own metrics could not be registered.
    #[error("cannot register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// What the aggregator does with agents' series.
    pub aggregator: aggregator::Config,
    /// What each connection may do.
    pub limits: io::session::Limits,
    /// Connections served at once.
    pub max_connections: usize,
    /// The agents that may connect and their keys; `None` lets any agent in unauthenticated.
    pub keys: Option<Arc<keys::Keys>>,
    /// The HTTP side: its limits, TLS and authentication.
    pub http: http::Config,
    /// Remote write to a store, if `--remote-write` asks for it.
    pub remote: Option<remote::Config>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            aggregator: aggregator::Config::default(),
            limits: io::session::Limits::default(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            keys: None,
            http: http::Config::default(),
            remote: None,
        }
    }
}

/// Merged samples' boxes kept for the I/O threads to reuse: enough for the samples in flight
/// during a pass and its merge ([`io::pacer::COALESCE`] of 10,000 agents' samples a second is
/// 500), each box about 13 KB.
const SPARE_SAMPLES: usize = 1024;

/// Serves agents on `agents` and Prometheus on `http` until `shutdown` is set.
///
/// # Errors
/// When a listener cannot be made non-blocking, or a thread or epoll cannot start.
pub fn run(
    agents: TcpListener,
    http: TcpListener,
    config: Config,
    shutdown: Arc<AtomicBool>,
) -> Result<(), Error> {
    let acceptor = Acceptor::new(agents, config.max_connections)?;
    let beats = Heartbeats::new();
    let (events, inbox) = crossbeam_channel::bounded(CHANNEL_CAPACITY);
    let (spent, spares) = crossbeam_channel::bounded(SPARE_SAMPLES);
    let mut aggregator = Aggregator::new(config.aggregator);
    aggregator.recycle_into(spent);
    let published = aggregator.published();
    // Here rather than in the aggregator, which tests and benches run inside other processes.
    // The names are constants, so registering fails only by a programming error, which the
    // test of these metrics would show.
    let _ = published
        .registry
        .register(Box::new(process::Process::default()));
    let mut remote_threads = Vec::new();
    if let Some(remote) = &config.remote {
        // A shard's client beats the shard's heartbeat while it waits on the store.
        let heartbeats: Vec<_> = (0..remote.shards.max(1))
            .map(|i| Arc::new(beats.register(&format!("remote-write-{i}"))))
            .collect();
        let clients = heartbeats
            .iter()
            .map(|heartbeat| {
                let (beat, stop) = (heartbeat.clone(), shutdown.clone());
                remote.client(Arc::new(move || {
                    beat.beat();
                    !stop.load(std::sync::atomic::Ordering::Relaxed)
                }))
            })
            .collect();
        let (writers, feed) = remote::writer::Writer::new(
            clients,
            remote.labels.clone(),
            remote::writer::QUEUE_SERIES,
            &published.registry,
        )?;
        aggregator.write_to(feed);
        for (i, (writer, heartbeat)) in writers.into_iter().zip(heartbeats).enumerate() {
            let shutdown = shutdown.clone();
            remote_threads.push(
                thread::Builder::new()
                    .name(format!("remote-write-{i}"))
                    .spawn(move || writer.run(&shutdown, &heartbeat))?,
            );
        }
    }
    let heartbeat = beats.register("aggregator");
    let aggregator = thread::Builder::new()
        .name("aggregator".into())
        .spawn(move || aggregator.run(inbox, &heartbeat))?;
    let events = Mailbox::new(events, aggregator.thread().clone());
    let status_thread = status::history::spawn(
        published.clone(),
        beats.register("status"),
        shutdown.clone(),
    )?;
    let http_thread = http::spawn(
        http,
        config.http,
        published,
        beats.clone(),
        shutdown.clone(),
    )?;

    let open = Arc::new(AtomicUsize::new(0));
    let io_count = io_threads(thread::available_parallelism().map_or(1, |n| n.get()));
    let mut io_threads = Vec::with_capacity(io_count);
    let mut handles = Vec::with_capacity(io_count);
    for i in 0..io_count {
        let (io, handle) = IoThread::new(
            events.clone(),
            open.clone(),
            config.limits,
            config.keys.clone(),
            spares.clone(),
        )?;
        let shutdown = shutdown.clone();
        let name = format!("io-{i}");
        let heartbeat = beats.register(&name);
        io_threads.push(
            thread::Builder::new()
                .name(name)
                .spawn(move || io.run(&shutdown, &heartbeat))?,
        );
        handles.push(handle);
    }

    let heartbeat = beats.register("acceptor");
    acceptor.run(&handles, events, &open, &shutdown, &heartbeat);
    // Stopping: the I/O threads tell every agent and close its connection (the aggregator
    // hears of each), then the aggregator ends once the last sender of events is gone.
    for t in io_threads {
        let _ = t.join();
    }
    let _ = http_thread.join();
    let _ = status_thread.join();
    let _ = aggregator.join();
    // With the aggregator gone, the writer sends what is queued, or gives up if the store
    // does not take it (samples not acknowledged are still the agents').
    for t in remote_threads {
        let _ = t.join();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_startup_line_reads_back() {
        let (a, h) = (
            "127.0.0.1:7450".parse().unwrap(),
            "[::1]:7451".parse().unwrap(),
        );
        for tls in [false, true] {
            let line = format!("vitals-server: {}", startup_line(a, h, tls, 10, 20));
            assert_eq!(parse_startup_line(&line), Some((a, h)));
        }
        assert_eq!(parse_startup_line("vitals-server: stopped"), None);
    }

    #[test]
    fn io_threads_leave_a_core_to_the_aggregator_within_their_bounds() {
        let counts: Vec<usize> = [1, 2, 3, 4, 8, 64].into_iter().map(io_threads).collect();
        assert_eq!(counts, [1, 1, 2, 3, 4, 4]);
    }
}
