//! The remote-write threads: take each merged sample's series from the aggregator, at the
//! agent's own timestamp, and POST them in batches, in the order they were merged.
//!
//! Several threads (shards), each with its own connection to the store, so that requests
//! overlap: one request in flight at a time delivers a batch per round trip, which a store
//! a few milliseconds away holds far below 10,000 agents' samples. An agent's samples all go
//! through one shard (by a hash of its id), so each series stays in time order, as the store
//! needs.
//!
//! End to end: the aggregator does not acknowledge a merged sample to its agent; it queues the
//! acknowledgement here, behind the sample's series, and the thread sends it on once the store
//! has taken the request that held them. The queue is bounded in series: while it holds
//! [`QUEUE_SERIES`] the aggregator refuses samples (the agents keep them and send them
//! again), so an outage of the store backs up into the agents' rings, not into the server.
//! When a request fails, the acknowledgements held back for `ack_every` go out at once
//! (`Writer::flush`), so that an agent knows what the store has. A request the store may
//! take later (a 5xx,
//! a 429, no answer) is sent again after a capped backoff with jitter, the same request, so
//! that order holds; one it will never take (another 4xx, or samples too old for it) is
//! dropped and counted by reason, and its samples acknowledged, as sending them again would
//! not help.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use prometheus::{Gauge, IntCounterVec, IntGauge, Opts, Registry};

use super::client::{Answer, Client};
use super::pack::{self, Piece};
use super::proto::{self, Labels};
use crate::exposition::{Layout, View};
use crate::families::F;
use crate::heartbeat::Heartbeat;
use crate::shared::{ByConn, ConnId, Replier, Reply};

/// Series values waiting to be sent, over all shards, past which the aggregator refuses
/// samples: 64 MB of values, three seconds of 10,000 agents of 135 series, a second of as
/// many at this machine's full coverage (453), so that a second's samples arriving at once
/// do not find it full.
pub const QUEUE_SERIES: usize = 8_000_000;

/// Shards unless `--remote-write-shards` says otherwise: enough requests in flight to cover
/// a store's round trip of a few milliseconds at 10,000 agents.
pub const DEFAULT_SHARDS: usize = 4;

/// The most shards one may ask for: each is a thread and a connection to the store.
pub const MAX_SHARDS: usize = 64;

/// Series per request, at most (each with one sample; a request takes what is queued up to
/// this). Five times Prometheus' own default: at 10,000 agents a request each 2,000 series
/// cost the server a tenth more, in requests and wake-ups, and a store takes a request of
/// 10,000 (about 400 KB compressed) as readily.
pub const MAX_SERIES_PER_REQUEST: usize = 10_000;

/// The longest wait between two tries of one request.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const MIN_BACKOFF: Duration = Duration::from_millis(100);

/// How often the thread beats its heartbeat while no sample comes.
const IDLE: Duration = Duration::from_millis(500);

/// What became of samples, as `vitals_remote_write_samples_total`'s `outcome` label says.
pub const OUTCOMES: [&str; 3] = ["sent", "too_old", "refused"];

/// One agent's series at one moment, as the aggregator merged them.
#[derive(Debug)]
pub struct Snapshot {
    /// The view the sample published: held here, not copied, as the aggregator writes the
    /// next sample into a copy of a view someone holds (and the writer has sent this one long
    /// before the next sample, a second later, comes).
    pub view: Arc<View>,
    /// The sample's time by the agent's clock, in milliseconds since the Unix epoch.
    pub time_ms: i64,
}

/// An acknowledgement to send once the store took what was queued before it.
#[derive(Debug)]
pub struct Ack {
    /// The I/O thread of the connection.
    pub replier: Replier,
    pub conn: ConnId,
    /// The sample's sequence number.
    pub seq: u64,
    /// The agent's `stored`, raised to `seq` (`None` for a connection that lost its agent).
    pub stored: Option<Arc<AtomicU64>>,
}

/// An agent's series expired: those of `before` that `after` does not have end at `time_ms`
/// (Prometheus' stale marker), as a scrape that no longer finds them ends them.
#[derive(Debug)]
pub struct Stale {
    pub before: Arc<Layout>,
    pub after: Arc<Layout>,
    pub time_ms: i64,
}

/// An agent's `up` and `vitals_agent_up` at `time_ms` by the server's clock, as a scrape of
/// the server would find them: 1 while the agent is connected, 0 after, a stale marker once
/// the server forgets it. They are the server's, not the agent's: written at the agent's
/// time, a disconnected agent's 0 would go after samples it sends later, from its ring.
#[derive(Debug)]
pub struct Up {
    pub layout: Arc<Layout>,
    /// The value's bits ([`proto::STALE_NAN`] for the marker).
    pub bits: u64,
    pub time_ms: i64,
}

/// What the aggregator queues.
#[derive(Debug)]
enum Item {
    Snapshot(Snapshot),
    Ack(Ack),
    Stale(Stale),
    Up(Up),
}

/// The aggregator's end: hands snapshots and acknowledgements on without waiting.
///
/// The channels are not bounded by themselves: [`behind`](Self::behind) bounds them, as the
/// aggregator merges (and so queues a snapshot and an acknowledgement) only while it says no.
#[derive(Debug, Clone)]
pub struct Feed {
    shards: Vec<Sender<Item>>,
    /// Series values queued over all shards; each shard takes off those it has sent.
    queued: Arc<AtomicUsize>,
    /// How many may be ([`QUEUE_SERIES`] but in tests).
    budget: usize,
    metrics: Metrics,
}

impl Feed {
    /// The shard of the agent `id`: the same one always, so that its series stay in order.
    fn shard(&self, id: &str) -> &Sender<Item> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        id.hash(&mut hasher);
        &self.shards[(hasher.finish() % self.shards.len() as u64) as usize]
    }

    /// Queues a snapshot of agent `id`'s series. Call [`behind`](Self::behind) first.
    pub fn send(&self, id: &str, snapshot: Snapshot) {
        let series = snapshot.view.layout.lines.len();
        self.queued.fetch_add(series, Ordering::Relaxed);
        self.metrics.queued.add(series as i64);
        let _ = self.shard(id).send(Item::Snapshot(snapshot));
    }

    /// Queues the stale markers of agent `id`'s expired series, unless the queue is full
    /// (the series then end at the store's lookback).
    pub fn stale(&self, id: &str, stale: Stale) {
        if self.behind().is_none() {
            let _ = self.shard(id).send(Item::Stale(stale));
        }
    }

    /// Queues agent `id`'s `up` series, unless the queue is full. They count in the queue,
    /// which bounds them while the store is down.
    pub fn up(&self, id: &str, up: Up) {
        if self.behind().is_none() {
            self.queued.fetch_add(UP_SERIES, Ordering::Relaxed);
            self.metrics.queued.add(UP_SERIES as i64);
            let _ = self.shard(id).send(Item::Up(up));
        }
    }

    /// Queues an acknowledgement behind everything queued so far for agent `id` (`None` for
    /// a connection that lost its agent, whose samples went before).
    pub fn ack(&self, id: Option<&str>, ack: Ack) {
        let shard = id.map_or(&self.shards[0], |id| self.shard(id));
        let _ = shard.send(Item::Ack(ack));
    }

    /// How many series values wait, when it is too many for another sample.
    pub fn behind(&self) -> Option<usize> {
        let waiting = self.queued.load(Ordering::Relaxed);
        (waiting >= self.budget).then_some(waiting)
    }
}

/// The remote-write metrics, in the server's registry.
#[derive(Debug, Clone)]
struct Metrics {
    samples: IntCounterVec,
    requests: IntCounterVec,
    queued: IntGauge,
    newest: Gauge,
    /// Each shard's newest, in Unix milliseconds (0 before its first answer).
    shards_newest: Arc<[AtomicI64]>,
}

impl Metrics {
    /// The metrics, registered in `registry`, for `shards` shards.
    fn new(registry: &Registry, shards: usize) -> prometheus::Result<Self> {
        let samples = IntCounterVec::new(
            Opts::new(
                "vitals_remote_write_samples_total",
                "Samples for remote write, by outcome: sent (the store took them), too_old (the \
                 store refused them as too old or out of order), refused (another 4xx).",
            ),
            &["outcome"],
        )?;
        let requests = IntCounterVec::new(
            Opts::new(
                "vitals_remote_write_requests_total",
                "Remote-write requests by the answer's HTTP status (\"error\" for none).",
            ),
            &["code"],
        )?;
        let queued = IntGauge::new(
            "vitals_remote_write_queued_samples",
            "Samples waiting to be sent by remote write.",
        )?;
        registry.register(Box::new(samples.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        let newest = Gauge::new(
            "vitals_remote_write_newest_sample_timestamp_seconds",
            "The time, by its agent's clock, of the newest sample the store has answered for \
             (taken or refused for good), in the shard furthest behind; `time() -` it is how far \
             behind the store is. 0 before the first answer.",
        )?;
        registry.register(Box::new(queued.clone()))?;
        registry.register(Box::new(newest.clone()))?;
        for outcome in OUTCOMES {
            samples.with_label_values(&[outcome]);
        }
        Ok(Metrics {
            samples,
            requests,
            queued,
            newest,
            shards_newest: (0..shards).map(|_| AtomicI64::new(0)).collect(),
        })
    }

    fn outcome(&self, outcome: &str) -> prometheus::IntCounter {
        self.samples.with_label_values(&[outcome])
    }
}

/// What an answer means for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Taken,
    /// Try the same request again later.
    Retry,
    /// Never: the samples are too old (or out of order) for the store.
    TooOld,
    /// Never: the store refuses the request.
    Refused,
}

/// Reads an answer. Prometheus 2.42 answers samples older than its head block, or out of
/// order, with a 500 whose text names the error (its handler compares the wrapped error, and
/// misses); later versions and other stores answer 400. Retrying those would never end.
fn verdict(answer: &Answer) -> Verdict {
    const TOO_OLD: [&str; 4] = [
        "out of bounds",
        "too old",
        "out of order",
        "duplicate sample for timestamp",
    ];
    let too_old = || TOO_OLD.iter().any(|t| answer.body.contains(t));
    match answer.status {
        200..=299 => Verdict::Taken,
        429 => Verdict::Retry,
        500..=599 if too_old() => Verdict::TooOld,
        500..=599 => Verdict::Retry,
        _ if too_old() => Verdict::TooOld,
        _ => Verdict::Refused,
    }
}

/// One shard's thread's state.
pub struct Writer {
    client: Client,
    /// Labels added to every series (`job`, ...), replacing an agent's of the same name.
    extra: Arc<[(String, String)]>,
    rx: Receiver<Item>,
    queued: Arc<AtomicUsize>,
    metrics: Metrics,
    /// The compressed pieces of the layouts of this shard's agents, by the layout's address:
    /// an agent's layout stays the same from sample to sample, so its series are encoded and
    /// compressed once ([`pack`]). The layout is kept beside its piece so that its address is
    /// not reused while it is here.
    pieces: HashMap<usize, (Arc<Layout>, Piece)>,
    /// The size of `pieces` past which the layouts no agent holds any more are let go.
    prune_at: usize,
    /// This shard's number, in [`Metrics::shards_newest`].
    shard: usize,
    /// The connections sent acknowledgements since the store last failed a request: each
    /// may hold some back for its `ack_every` (see [`flush`](Self::flush)).
    unflushed: ByConn<Replier>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

/// The families of an agent's series that are not written: the server's own bookkeeping of
/// the agent (when it last heard from it, what it counted), which differs from one server to
/// the next. A sample sent again to another server after an outage would carry other values
/// for them at the same timestamp, which the store refuses, and with them the whole request.
/// `/metrics` has them.
const NOT_WRITTEN: [usize; 3] = [F::LAST_SEEN, F::SAMPLES, F::SEQUENCE_GAPS];

/// The families written by the server's clock ([`Up`]), not with an agent's samples.
const SERVER_TIMED: [usize; 2] = [F::UP, F::TARGET_UP];

/// Series an [`Up`] counts for in the queue.
const UP_SERIES: usize = SERVER_TIMED.len();

/// Connections kept to flush, past which they are flushed (see [`Writer::flush`]).
const MAX_UNFLUSHED: usize = 65_536;

/// The size of the piece cache below which it is not pruned.
const PRUNE_MIN: usize = 1024;

impl Writer {
    /// A shard for each client, and the aggregator's end, which refuses samples while
    /// `budget` series values wait (see [`QUEUE_SERIES`]), with the metrics in `registry`.
    ///
    /// # Errors
    /// When the metrics are registered already.
    ///
    /// # Panics
    /// With no client.
    pub fn new(
        clients: Vec<Client>,
        extra: Vec<(String, String)>,
        budget: usize,
        registry: &Registry,
    ) -> prometheus::Result<(Vec<Self>, Feed)> {
        assert!(!clients.is_empty(), "remote write needs a shard");
        let metrics = Metrics::new(registry, clients.len())?;
        let extra: Arc<[(String, String)]> = extra.into();
        let queued = Arc::new(AtomicUsize::new(0));
        let mut shards = Vec::with_capacity(clients.len());
        let writers = clients
            .into_iter()
            .enumerate()
            .map(|(shard, client)| {
                let (tx, rx) = crossbeam_channel::unbounded();
                shards.push(tx);
                Writer {
                    client,
                    extra: extra.clone(),
                    rx,
                    queued: queued.clone(),
                    metrics: metrics.clone(),
                    pieces: HashMap::new(),
                    prune_at: PRUNE_MIN,
                    unflushed: ByConn::default(),
                    shard,
                }
            })
            .collect();
        Ok((
            writers,
            Feed {
                shards,
                queued,
                budget,
                metrics,
            },
        ))
    }

    /// Sends until the aggregator is gone and the queue is empty; once `shutdown` is set, a
    /// request the store does not take at once ends it.
    pub fn run(mut self, shutdown: &AtomicBool, heartbeat: &Heartbeat) {
        let mut body = Vec::new();
        let mut acks: Vec<Ack> = Vec::new();
        loop {
            heartbeat.beat();
            let first = match self.rx.recv_timeout(IDLE) {
                Ok(first) => first,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            // Room for the block's length, written once the parts are in.
            body.clear();
            body.resize(pack::LENGTH_ROOM, 0);
            let mut parts: Vec<Part> = Vec::new();
            // The series counted in the queue.
            let mut queued = 0;
            let mut series = 0;
            // The newest agent's sample in the request, by its clock.
            let mut newest = None;
            let mut next = Some(first);
            while let Some(item) = next.take() {
                let start = body.len();
                let (raw_len, written) = match item {
                    Item::Snapshot(snapshot) => {
                        queued += snapshot.view.layout.lines.len();
                        newest = newest.max(Some(snapshot.time_ms));
                        self.encode(&snapshot, &mut body)
                    }
                    Item::Ack(ack) => {
                        acks.push(ack);
                        (0, 0)
                    }
                    Item::Stale(stale) => self.encode_stale(&stale, &mut body),
                    Item::Up(up) => {
                        queued += UP_SERIES;
                        self.encode_up(&up, &mut body)
                    }
                };
                if written > 0 {
                    parts.push(Part {
                        packed: start..body.len(),
                        raw_len,
                        series: written,
                    });
                    series += written;
                }
                if series < MAX_SERIES_PER_REQUEST {
                    next = self.rx.try_recv().ok();
                }
            }
            if !parts.is_empty() && !self.send_parts(&mut body, &parts, shutdown, heartbeat) {
                return;
            }
            self.queued.fetch_sub(queued, Ordering::Relaxed);
            self.metrics.queued.sub(queued as i64);
            if let Some(newest) = newest {
                self.answered(newest);
            }
            self.deliver(&mut acks);
        }
    }

    /// Sends a request of several agents' samples (`body`'s parts, after room for the length);
    /// if the store refuses it as too old (one series it already has newer, say, which makes
    /// Prometheus refuse the whole request), sends each agent's sample alone, so that only
    /// those it refuses are lost. `false` when the server stops first.
    fn send_parts(
        &mut self,
        body: &mut [u8],
        parts: &[Part],
        shutdown: &AtomicBool,
        heartbeat: &Heartbeat,
    ) -> bool {
        let series: usize = parts.iter().map(|p| p.series).sum();
        let raw_len = parts.iter().map(|p| p.raw_len).sum();
        let start = pack::prepend_length(body, pack::LENGTH_ROOM, raw_len);
        let Some(outcome) = self.send(&body[start..], shutdown, heartbeat) else {
            return false;
        };
        if outcome != "too_old" || parts.len() == 1 {
            self.metrics.outcome(outcome).inc_by(series as u64);
            return true;
        }
        for part in parts {
            let block = pack::block(part.raw_len, &body[part.packed.clone()]);
            let Some(outcome) = self.send(&block, shutdown, heartbeat) else {
                return false;
            };
            self.metrics.outcome(outcome).inc_by(part.series as u64);
        }
        true
    }

    /// Appends a snapshot's series to a request, compressed; returns the bytes they take
    /// uncompressed and how many series.
    fn encode(&mut self, snapshot: &Snapshot, out: &mut Vec<u8>) -> (usize, usize) {
        let view = &snapshot.view;
        let piece = self.piece_of(&view.layout, snapshot.time_ms);
        if let Some(raw_len) = piece.write(&view.values, snapshot.time_ms, out) {
            return (raw_len, piece.series());
        }
        // A time far from now (a board's clock at 1970), or values the layout does not
        // match: each series as it is.
        let mut raw = Vec::new();
        let mut count = 0;
        let labels = series_labels(&view.layout, &self.extra);
        for (line, labels) in view.layout.lines.iter().zip(&labels) {
            let (Some(labels), Some(&value)) =
                (labels, line.value_index().and_then(|i| view.values.get(i)))
            else {
                continue;
            };
            proto::push_series(&mut raw, labels, value, snapshot.time_ms);
            count += 1;
        }
        (pack::append_compressed(&raw, out), count)
    }

    /// Appends the stale markers of the series `stale.before` has and `stale.after` does not,
    /// compressed; returns the bytes they take uncompressed and how many series.
    fn encode_stale(&mut self, stale: &Stale, out: &mut Vec<u8>) -> (usize, usize) {
        let kept: std::collections::HashSet<&str> = (0..stale.after.lines.len())
            .filter_map(|i| stale.after.prefix(i))
            .collect();
        let mut raw = Vec::new();
        let mut count = 0;
        for (i, labels) in series_labels(&stale.before, &self.extra).iter().enumerate() {
            let Some(labels) = labels else { continue };
            if stale.before.prefix(i).is_some_and(|p| !kept.contains(p)) {
                proto::push_series_bits(&mut raw, labels, proto::STALE_NAN, stale.time_ms);
                count += 1;
            }
        }
        (pack::append_compressed(&raw, out), count)
    }

    /// Appends an agent's `up` series, compressed; returns the bytes they take uncompressed
    /// and how many series.
    fn encode_up(&mut self, up: &Up, out: &mut Vec<u8>) -> (usize, usize) {
        let mut raw = Vec::new();
        let mut count = 0;
        for family in SERVER_TIMED {
            for line in up.layout.ranges.get(family).cloned().unwrap_or_default() {
                if let Some(labels) = line_labels(&up.layout, line, &self.extra) {
                    proto::push_series_bits(&mut raw, &labels, up.bits, up.time_ms);
                    count += 1;
                }
            }
        }
        (pack::append_compressed(&raw, out), count)
    }

    /// The piece of `layout`, from the cache or made now for samples at about `time_ms`.
    fn piece_of(&mut self, layout: &Arc<Layout>, time_ms: i64) -> &Piece {
        let key = Arc::as_ptr(layout) as usize;
        if !self.pieces.contains_key(&key) {
            let labels = series_labels(layout, &self.extra);
            let series: Vec<(&Labels, u32)> = layout
                .lines
                .iter()
                .zip(&labels)
                .filter_map(|(line, labels)| Some((labels.as_ref()?, line.value_index()? as u32)))
                .collect();
            let piece = Piece::new(&series, time_ms);
            if self.pieces.len() >= self.prune_at {
                // Layouts only the cache holds: their agents have moved on (a new series, a
                // reconnect) or gone. Pruned when the cache has doubled, so that it costs a
                // constant share of the inserts.
                self.pieces
                    .retain(|_, (layout, _)| Arc::strong_count(layout) > 1);
                self.prune_at = (2 * self.pieces.len()).max(PRUNE_MIN);
            }
            self.pieces.insert(key, (layout.clone(), piece));
        }
        &self.pieces[&key].1
    }

    /// The store answered for samples up to `newest_ms`: the gauge shows the shard furthest
    /// behind, of those that have had an answer. (A shard keeps its newest: a replayed backlog
    /// goes out behind other agents' live samples.)
    fn answered(&self, newest_ms: i64) {
        let all = &self.metrics.shards_newest;
        all[self.shard].fetch_max(newest_ms, Ordering::Relaxed);
        let furthest = all
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .filter(|&n| n > 0)
            .min()
            .unwrap_or(0);
        self.metrics.newest.set(furthest as f64 / 1000.0);
    }

    /// Sends the acknowledgements to their I/O threads, one message a thread, in order.
    fn deliver(&mut self, acks: &mut Vec<Ack>) {
        let mut answers = Answers::default();
        for ack in acks.drain(..) {
            if let Some(stored) = &ack.stored {
                stored.fetch_max(ack.seq, Ordering::AcqRel);
            }
            self.unflushed.insert(ack.conn, ack.replier.clone());
            answers.push(ack.replier, ack.conn, Reply::Merged { seq: ack.seq });
        }
        answers.send();
        if self.unflushed.len() > MAX_UNFLUSHED {
            // Connections come and go while the store stays up: flushed (an ack each, at
            // most) and forgotten, so that the set stays bounded.
            self.flush();
        }
    }

    /// Has every connection acknowledge at once what the store took of it: an agent asks for
    /// an ack every few samples, and while the store is down no more come, so the last few it
    /// took would be acknowledged only once it is back. An agent whose ring overflows
    /// meanwhile, and whose next server (after a restart) cannot say what the store took,
    /// would count them lost. Once a failure, until acknowledgements flow again.
    fn flush(&mut self) {
        let mut answers = Answers::default();
        for (conn, replier) in self.unflushed.drain() {
            answers.push(replier, conn, Reply::Flush);
        }
        answers.send();
    }

    /// POSTs one request until the store takes it or never will, and returns the outcome;
    /// `None` when the server stops before.
    fn send(
        &mut self,
        body: &[u8],
        shutdown: &AtomicBool,
        heartbeat: &Heartbeat,
    ) -> Option<&'static str> {
        let mut backoff = MIN_BACKOFF;
        loop {
            heartbeat.beat();
            let answer = self.client.post(body);
            let code = answer
                .as_ref()
                .map_or("error".to_owned(), |a| a.status.to_string());
            self.metrics.requests.with_label_values(&[&code]).inc();
            match answer.as_ref().map(verdict) {
                Ok(Verdict::Taken) => return Some("sent"),
                Ok(Verdict::TooOld) => return Some("too_old"),
                Ok(Verdict::Refused) => {
                    let answer = answer.as_ref().map(|a| a.body.trim()).unwrap_or("");
                    crate::log!("remote write: refused with {code}: {answer}");
                    return Some("refused");
                }
                Ok(Verdict::Retry) | Err(_) if shutdown.load(Ordering::Relaxed) => return None,
                Ok(Verdict::Retry) | Err(_) => self.flush(),
            }
            // In steps, beating, so that a store down for long does not look like a stall.
            let wake = std::time::Instant::now() + jitter(backoff);
            while let Some(left) = wake.checked_duration_since(std::time::Instant::now()) {
                heartbeat.beat();
                if shutdown.load(Ordering::Relaxed) {
                    return None;
                }
                std::thread::sleep(left.min(Duration::from_secs(1)));
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// One agent's sample (or stale markers) in a request.
#[derive(Debug)]
struct Part {
    /// Its snappy elements in the request's body.
    packed: std::ops::Range<usize>,
    /// The bytes they decompress to.
    raw_len: usize,
    series: usize,
}

/// The encoded labels of each series of `layout` written with its samples, with `extra` over
/// its own; `None` for a series that is not (see [`NOT_WRITTEN`] and [`SERVER_TIMED`]).
fn series_labels(layout: &Layout, extra: &[(String, String)]) -> Vec<Option<Labels>> {
    let mut skip = vec![false; layout.lines.len()];
    for family in NOT_WRITTEN.into_iter().chain(SERVER_TIMED) {
        for line in layout.ranges.get(family).cloned().unwrap_or_default() {
            if let Some(skip) = skip.get_mut(line) {
                *skip = true;
            }
        }
    }
    (0..layout.lines.len())
        .map(|i| {
            if skip[i] {
                return None;
            }
            line_labels(layout, i, extra)
        })
        .collect()
}

/// The encoded labels of line `i` of `layout`, with `extra` over its own.
fn line_labels(layout: &Layout, i: usize, extra: &[(String, String)]) -> Option<Labels> {
    let mut pairs: Vec<(String, String)> = proto::parse_prefix(layout.prefix(i)?)?;
    pairs.extend(extra.iter().cloned());
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    Some(Labels::encode(&pairs))
}

/// Answers for connections, gathered by I/O thread.
#[derive(Default)]
struct Answers(Vec<(Replier, Vec<(ConnId, Reply)>)>);

impl Answers {
    fn push(&mut self, replier: Replier, conn: ConnId, reply: Reply) {
        match self.0.iter_mut().find(|(r, _)| r.same_thread(&replier)) {
            Some((_, answers)) => answers.push((conn, reply)),
            None => self.0.push((replier, vec![(conn, reply)])),
        }
    }

    /// One message a thread, each in the order pushed.
    fn send(self) {
        for (replier, answers) in self.0 {
            replier.send(answers);
        }
    }
}

/// `wait` give or take a quarter, so that servers that lost one store do not come back to it
/// in step.
fn jitter(wait: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let _ = rustix::rand::getrandom(&mut byte, rustix::rand::GetRandomFlags::empty());
    let quarter = wait / 4;
    wait - quarter + quarter * 2 * u32::from(byte[0]) / 255
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.to_owned(),
        }
    }

    #[test]
    fn answers_are_read_as_remote_write_says_and_prometheus_242_does() {
        assert_eq!(verdict(&answer(204, "")), Verdict::Taken);
        assert_eq!(verdict(&answer(200, "")), Verdict::Taken);
        assert_eq!(verdict(&answer(429, "")), Verdict::Retry);
        assert_eq!(verdict(&answer(503, "")), Verdict::Retry);
        assert_eq!(verdict(&answer(500, "TSDB is busy")), Verdict::Retry);
        assert_eq!(verdict(&answer(500, "out of bounds\n")), Verdict::TooOld);
        assert_eq!(
            verdict(&answer(400, "out of order sample")),
            Verdict::TooOld
        );
        assert_eq!(verdict(&answer(400, "bad snappy")), Verdict::Refused);
        assert_eq!(verdict(&answer(401, "")), Verdict::Refused);
        assert_eq!(verdict(&answer(404, "")), Verdict::Refused);
    }

    #[test]
    fn jitter_stays_within_a_quarter() {
        for _ in 0..100 {
            let j = jitter(Duration::from_secs(4));
            assert!(
                j >= Duration::from_secs(3) && j <= Duration::from_secs(5),
                "{j:?}"
            );
        }
    }
}
