//! The HTTP side: `/metrics` for Prometheus, `/healthz`, and a landing page, over HTTP/1.1 (TLS
//! and basic auth with a web config file, as node_exporter's).
//!
//! No request, and no number of connections, can stop it. An acceptor thread (`http`, which
//! beats) hands each connection to a thread of its own, up to `--http-max-connections`; each
//! connection reads a head of at most [`request::MAX_HEAD`] bytes under a deadline for the
//! whole head, reads no request body (one that is announced is refused), waits for the next
//! keep-alive request no longer than the idle timeout, and writes each response under a
//! deadline. A connection waiting on its client gives up its place when the table is full or
//! the process runs out of descriptors; the excess beyond connections being answered gets a
//! 503. A render reads the aggregator's immutable views, so a slow client delays no one.
//!
//! # Layout
//! - `mod.rs`: the limits, the acceptor.
//! - [`table`]: the open connections, and which may be evicted.
//! - [`conn`]: one connection's loop of heads and answers.
//! - [`io`]: its stream, plain or TLS, under a deadline.
//! - [`request`]: parsing a head.
//! - [`auth`]: basic auth and the rate limit.
//! - [`routes`]: what each path answers.
//! - [`response`]: writing heads and chunked bodies.
//! - [`web_config`], [`tls`]: the web config file and the TLS configuration it makes.
//! - [`health`]: `vitals-server --health`, the client that asks `/healthz`.

pub mod auth;
pub mod conn;
pub mod health;
pub mod io;
pub mod request;
pub mod response;
pub mod routes;
pub mod table;
pub mod tls;
pub mod web_config;

use std::io::{ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

use crate::exposition::Published;
use crate::heartbeat::{Heartbeat, Heartbeats};
use table::{Admission, Table};
use web_config::WebConfig;

/// HTTP connections at once unless configured otherwise: a few scrapers, health checks and
/// people, with room to spare (node_exporter's `--web.max-requests` is 40). Each is a thread
/// and a descriptor, and each render of 10,000 agents holds about 10 MB of their values.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;

/// How the HTTP side bounds what each connection may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections at once (`--http-max-connections`).
    pub max_connections: usize,
    /// Time for a whole request head, from its first byte (from the accept for a connection's
    /// first, TLS handshake included): a client trickling a byte at a time holds nothing
    /// longer (`--http-header-timeout`).
    pub header_timeout: Duration,
    /// Time a kept-alive connection may wait for its next request (`--http-idle-timeout`).
    pub idle_timeout: Duration,
    /// Time to write one whole response (`--http-write-timeout`): a client that reads slowly
    /// or not at all is dropped then.
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            // Prometheus sends its head at once; this leaves a slow link and a TLS handshake
            // plenty.
            header_timeout: Duration::from_secs(10),
            // Longer than Prometheus' default scrape interval (1m), so a scraper keeps its
            // connection between scrapes.
            idle_timeout: Duration::from_secs(120),
            // Past any scrape's timeout (at most its interval, 1m by default); a scrape of
            // 10,000 agents takes under a second on loopback.
            write_timeout: Duration::from_secs(60),
        }
    }
}

/// The HTTP side's configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The limits.
    pub limits: Limits,
    /// TLS, basic auth, headers and rate limit from `--web-config-file`.
    pub web: Arc<WebConfig>,
}

/// How long the acceptor waits between looks at the shutdown flag (and beats).
const TURN: Duration = Duration::from_millis(250);

/// How long the acceptor pauses when `accept` or a thread's start fails for want of
/// descriptors, threads or memory and nothing can be evicted: the failed connection stays in
/// the kernel's queue and is taken once something is freed.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// How long the acceptor pauses after evicting a connection to free a descriptor: long enough
/// for its thread to wake and close it.
const EVICT_PAUSE: Duration = Duration::from_millis(5);

/// At most one log line per this long about failing accepts, so that a flood cannot fill the
/// log.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// The reasons of `vitals_server_http_refused_total`, shown from the start.
const REFUSED_REASONS: &[&str] = &[
    "busy",
    "evicted",
    "header_too_large",
    "header_timeout",
    "bad_request",
    "body",
    "tls",
    "unauthorized",
    "rate_limited",
    "write_timeout",
    "no_thread",
];

/// The HTTP side's own metrics, in the server's registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Connections open now.
    pub open: IntGauge,
    /// Requests refused and connections closed early, by reason.
    refused: IntCounterVec,
}

impl Metrics {
    fn new(registry: &Registry) -> Self {
        let open = IntGauge::new(
            "vitals_server_http_connections",
            "HTTP connections open now.",
        )
        .expect("valid metric definition");
        let refused = IntCounterVec::new(
            Opts::new(
                "vitals_server_http_refused_total",
                "HTTP requests refused or connections closed by the server before an answer, by reason.",
            ),
            &["reason"],
        )
        .expect("valid metric definition");
        // The names are ours and unique, so registering fails only by a programming error,
        // which a test would show; a failure leaves the metric out rather than the server.
        let _ = registry.register(Box::new(open.clone()));
        let _ = registry.register(Box::new(refused.clone()));
        for reason in REFUSED_REASONS {
            refused.with_label_values(&[reason]);
        }
        Metrics { open, refused }
    }

    /// Counts one refusal.
    pub fn refused(&self, reason: &str) {
        self.refused.with_label_values(&[reason]).inc();
    }
}

/// What every connection thread shares, made once by [`spawn`] and read-only after: each
/// connection's thread holds it until the connection closes, so it outlives the acceptor when
/// the server stops (which closes those connections, see [`table::Table::close_all`]).
#[derive(Debug)]
pub struct Shared {
    /// The views to render: the aggregator's, which it keeps publishing into (see
    /// [`Published`]).
    pub published: Arc<Published>,
    /// The heartbeats `/healthz` reads: every long-lived thread's, registered by `run`.
    pub beats: Arc<Heartbeats>,
    /// The limits of each connection, from the server's flags.
    pub limits: Limits,
    /// TLS, basic auth, headers and the rate limit, from `--web-config-file`.
    pub web: Arc<WebConfig>,
    /// The HTTP side's own metrics (open connections, refusals), in the aggregator's registry.
    pub metrics: Metrics,
}

/// Starts the HTTP side on `listener`: a thread `http` that accepts until `shutdown` is set,
/// beating a heartbeat of that name.
///
/// # Errors
/// When the listener cannot be made non-blocking or the thread cannot start.
pub fn spawn(
    listener: TcpListener,
    config: Config,
    published: Arc<Published>,
    beats: Arc<Heartbeats>,
    shutdown: Arc<AtomicBool>,
) -> std::io::Result<thread::JoinHandle<()>> {
    listener.set_nonblocking(true)?;
    let heartbeat = beats.register("http");
    let metrics = Metrics::new(&published.registry);
    let shared = Arc::new(Shared {
        published,
        beats,
        limits: config.limits,
        web: config.web,
        metrics,
    });
    thread::Builder::new()
        .name("http".into())
        .spawn(move || accept(&listener, &shared, &heartbeat, &shutdown))
}

/// Accepts connections and starts a thread for each, until `shutdown` is set.
fn accept(
    listener: &TcpListener,
    shared: &Arc<Shared>,
    heartbeat: &Heartbeat,
    shutdown: &AtomicBool,
) {
    use rustix::event::{PollFd, PollFlags, poll};
    let table = Table::new(shared.limits.max_connections);
    let mut next_id: u64 = 0;
    let mut log = RateLog::default();
    let timeout = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: i64::try_from(TURN.as_nanos()).unwrap_or(250_000_000),
    };
    while !shutdown.load(Ordering::Relaxed) {
        heartbeat.beat();
        let mut fds = [PollFd::new(listener, PollFlags::IN)];
        let _ = poll(&mut fds, Some(&timeout));
        loop {
            let stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    // Out of descriptors (or memory): free one if a connection is only waiting,
                    // else wait for one to be freed. The connection stays queued meanwhile.
                    log.note(&format!("http: accept failed: {e}"));
                    if table.evict_one() {
                        shared.metrics.refused("evicted");
                        thread::sleep(EVICT_PAUSE);
                    } else {
                        thread::sleep(ACCEPT_BACKOFF);
                    }
                    break;
                }
            };
            let _ = stream.set_nonblocking(false);
            // Small writes (a chunk's size line) must not wait for an ack.
            let _ = stream.set_nodelay(true);
            let stream = Arc::new(stream);
            next_id = next_id.wrapping_add(1);
            let slot = match table.admit(next_id, stream.clone()) {
                Admission::Admitted { slot, evicted } => {
                    if evicted {
                        shared.metrics.refused("evicted");
                    }
                    slot
                }
                Admission::Full => {
                    shared.metrics.refused("busy");
                    refuse_busy(&stream, shared.web.tls.is_some());
                    continue;
                }
            };
            let conn_shared = shared.clone();
            let started = thread::Builder::new()
                .name("http-conn".into())
                .spawn(move || conn::serve(stream, slot, &conn_shared));
            if let Err(e) = started {
                // The connection (and its slot) went with the closure: it is closed.
                shared.metrics.refused("no_thread");
                log.note(&format!("http: cannot start a connection's thread: {e}"));
                thread::sleep(ACCEPT_BACKOFF);
                break;
            }
        }
        log.flush();
    }
    table.close_all();
}

/// Tells a connection past the limit that the server is busy, without waiting on it: a plain
/// 503 if the whole answer fits the socket's buffer at once (it does), nothing over TLS, where
/// it would take a handshake. What the client sent already is read and dropped first: closing
/// a socket with unread bytes resets the connection, and the client would lose the answer.
fn refuse_busy(stream: &TcpStream, tls: bool) {
    use std::io::Read;
    let _ = stream.set_nonblocking(true);
    let mut sink = [0u8; 2048];
    for _ in 0..4 {
        if !matches!((&*stream).read(&mut sink), Ok(n) if n > 0) {
            break;
        }
    }
    if !tls {
        let _ = (&*stream).write_all(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
              Content-Length: 21\r\nRetry-After: 1\r\nConnection: close\r\n\r\ntoo many connections\n",
        );
    }
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

/// Log lines about one recurring failure, at most one per [`LOG_EVERY`], with a count of the
/// ones left out.
#[derive(Debug, Default)]
struct RateLog {
    last: Option<Instant>,
    skipped: u64,
}

impl RateLog {
    fn note(&mut self, line: &str) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.saturating_duration_since(t) < LOG_EVERY)
        {
            self.skipped += 1;
            return;
        }
        if self.skipped > 0 {
            crate::log!("{line} (and {} more like it)", self.skipped);
        } else {
            crate::log!("{line}");
        }
        self.last = Some(now);
        self.skipped = 0;
    }

    fn flush(&mut self) {
        if self.skipped > 0 && self.last.is_some_and(|t| t.elapsed() >= LOG_EVERY) {
            crate::log!("http: {} more accept failures", self.skipped);
            self.skipped = 0;
            self.last = None;
        }
    }
}
