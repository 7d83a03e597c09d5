//! The vitals server: agents connect over TCP and send samples as JSON lines; the server merges
//! them into Prometheus metrics and serves them over HTTP.
//!
//! ```text
//! agent ─TCP─► acceptor ─spawn─► worker (one per connection: decode, answer) ─┐
//! agent ─TCP─► acceptor ─spawn─► worker ──────────────────────────────────────┤ bounded channel
//!                                                                             ▼
//! Prometheus ─HTTP─► http thread ─── Scrape event ──────────────────► aggregator (owns Registry)
//! ```
//!
//! [`run`] takes listeners that are already bound, so tests bind `127.0.0.1:0`.

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
pub mod connection;
pub mod exposition;
pub mod http;

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use agent_core::sample::bounded;
use agent_core::wire::{self, ErrorMessage, Message, codes};

use crate::aggregator::{Aggregator, CHANNEL_CAPACITY, Event};
use crate::connection::Handler;

/// Connections served at once unless configured otherwise. Each has a thread; past this, a new
/// connection gets an `error` message (`unavailable`) and is closed.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// Stack of a connection worker. Only the pages it touches are resident.
const WORKER_STACK: usize = 2 * 1024 * 1024;

/// How often the acceptor looks at the shutdown flag when no connection arrives.
const ACCEPT_POLL: Duration = Duration::from_millis(20);

/// How long shutdown waits for workers to finish after their sockets are closed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

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
    /// The HTTP server could not start.
    #[error("cannot start HTTP server: {0}")]
    Http(String),
}

/// How the server runs.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// What the aggregator does with agents' series.
    pub aggregator: aggregator::Config,
    /// How long a new connection has to say hello.
    pub handshake_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            aggregator: aggregator::Config { expire_after: None },
            handshake_timeout: Duration::from_secs(10),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// The open connections, so that shutdown can close them.
#[derive(Debug, Default)]
struct Open {
    streams: Mutex<HashMap<u64, TcpStream>>,
}

impl Open {
    fn len(&self) -> usize {
        self.streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn insert(&self, conn: u64, stream: TcpStream) {
        self.streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(conn, stream);
    }

    fn remove(&self, conn: u64) {
        self.streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&conn);
    }

    fn close_all(&self) {
        for stream in self
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// Serves agents on `agents` and Prometheus on `http` until `shutdown` is set.
///
/// # Errors
/// When a listener cannot be made non-blocking or the HTTP server cannot start.
pub fn run(
    agents: TcpListener,
    http: TcpListener,
    config: Config,
    shutdown: Arc<AtomicBool>,
) -> Result<(), Error> {
    agents.set_nonblocking(true)?;
    let (events, inbox) = crossbeam_channel::bounded(CHANNEL_CAPACITY);
    let aggregator = Aggregator::new(config.aggregator);
    let published = aggregator.published();
    let aggregator = thread::Builder::new()
        .name("aggregator".into())
        .spawn(move || aggregator.run(inbox))?;
    let http_server =
        tiny_http::Server::from_listener(http, None).map_err(|e| Error::Http(e.to_string()))?;
    let http_thread = {
        let shutdown = shutdown.clone();
        thread::Builder::new()
            .name("http".into())
            .spawn(move || http::serve(&http_server, &published, &shutdown))?
    };

    let open = Arc::new(Open::default());
    let next_conn = AtomicU64::new(1);
    while !shutdown.load(Ordering::Relaxed) {
        let (stream, peer) = match agents.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                thread::sleep(ACCEPT_POLL);
                continue;
            }
            Err(e) => {
                // Out of descriptors, say: nothing to do but wait for some to be freed.
                log!("accept failed: {e}");
                thread::sleep(ACCEPT_POLL);
                continue;
            }
        };
        let _ = stream.set_nonblocking(false);
        if open.len() >= config.max_connections {
            refuse_full(stream, &events);
            continue;
        }
        let conn = next_conn.fetch_add(1, Ordering::Relaxed);
        let Ok(clone) = stream.try_clone() else {
            continue;
        };
        open.insert(conn, clone);
        let handler = Handler {
            conn,
            stream,
            peer,
            events: events.clone(),
            handshake_timeout: config.handshake_timeout,
        };
        let worker_open = open.clone();
        let spawned = thread::Builder::new()
            .name(format!("conn-{conn}"))
            // Decoding a full sample in a debug build takes a few hundred KiB of stack.
            .stack_size(WORKER_STACK)
            .spawn(move || {
                handler.run();
                worker_open.remove(conn);
            });
        if spawned.is_err() {
            open.remove(conn);
        }
    }

    // Stop: close every agent's socket, give the workers a moment, then let the aggregator end.
    open.close_all();
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while open.len() > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    let _ = http_thread.join();
    drop(events);
    let _ = aggregator.join();
    Ok(())
}

/// Tells a connection over the limit why it is closed.
fn refuse_full(mut stream: TcpStream, events: &crossbeam_channel::Sender<Event>) {
    use std::io::Write;
    let message: Message = Message::Error(ErrorMessage {
        code: bounded(codes::UNAVAILABLE),
        message: bounded("server has reached its connection limit"),
    });
    let mut buf = [0u8; 256];
    if let Ok(n) = wire::encode(&message, &mut buf) {
        let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
        let _ = stream.write_all(buf.get(..n).unwrap_or_default());
    }
    let _ = events.try_send(Event::Rejected {
        reason: codes::UNAVAILABLE,
    });
}
