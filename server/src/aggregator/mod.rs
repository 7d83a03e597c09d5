//! The aggregator: one thread that owns every agent's state and every metric.
//!
//! The I/O threads decode lines and send their [`Event`]s over a bounded channel, a
//! [`Batch`] per pass; the aggregator handles them in order, answers each batch in one message,
//! and publishes each agent's series as one view (see [`crate::exposition`]), so a scrape
//! always sees whole samples, never half of one, and never makes the aggregator wait. It owns
//! its own [`Registry`] (not the process-global default) for the server's health metrics, and
//! ends when every sender is dropped.
//!
//! Agents send cumulative values, and counters are exposed as the machine counts them: a
//! counter that went down (a reboot, an interface re-created) is a reset, which Prometheus'
//! `rate()` and `increase()` handle, exactly as with node_exporter.
//!
//! # Layout
//! Each file adds its own `impl Aggregator` block or functions, as smoltcp's `interface/`:
//! - `mod.rs`: the actor, its configuration and its loop, which hands each event on.
//! - `connect.rs`: a hello and a goodbye; `takeover.rs`: an id taken from another connection.
//! - `merge.rs`: a sample merged; `publish.rs`: the agent's view made from it; `custom.rs`:
//!   the families agents describe themselves, one definition a name.
//! - `expiry.rs`: an agent's series expired, and the agent forgotten.
//! - `table.rs`: the agents, by index and by id.
//! - `health.rs`: the server's own metrics.
//! - `tests/`: their tests, a file each, with the helpers they share.

mod connect;
mod custom;
mod expiry;
mod health;
mod merge;
mod publish;
mod table;
mod takeover;

pub use expiry::{MAX_EXPIRY, MIN_EXPIRY};
pub use health::REJECT_REASONS;
pub use merge::BURST;
pub use takeover::{CONFLICT_HOLD, TAKEOVER_WINDOW};

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use prometheus::Registry;

use self::custom::Customs;
use self::health::Health;
use self::publish::Series;
use self::table::Table;
use crate::exposition::{Builder, Published, Slot};
use crate::families::DEFS;
use crate::heartbeat::Heartbeat;
use crate::remote::writer::{Ack, Feed};
use crate::shared::{Batch, ByConn, CHANNEL_CAPACITY, ConnId, Decoded, Event, Reply};

/// How often the aggregator looks for agents to expire when no event arrives.
const TICK: Duration = Duration::from_millis(500);

/// How the aggregator treats agents.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// How long an agent's series stay after its last sample. `None`: three of its intervals,
    /// at least [`MIN_EXPIRY`].
    pub expire_after: Option<Duration>,
    /// Distinct agents held at once (each is a set of label values); a new id past this is
    /// refused until one is forgotten.
    pub max_agents: usize,
    /// How long a disconnected agent's `up` and `last_seen` stay after its series expired,
    /// before it is forgotten entirely.
    pub forget_after: Duration,
    /// The shortest time between an agent's samples, on average: faster samples (beyond a
    /// burst of [`BURST`], for a backlog sent after an outage) are acknowledged but dropped,
    /// and counted.
    pub min_interval: Duration,
    /// Series held for all agents at once: a hello or a sample that would take the total past
    /// it is refused (`too_many_series`).
    pub max_series: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            expire_after: None,
            max_agents: DEFAULT_MAX_AGENTS,
            forget_after: Duration::from_secs(24 * 3600),
            min_interval: Duration::from_millis(100),
            max_series: DEFAULT_MAX_SERIES,
        }
    }
}

/// Distinct agents held at once unless `--max-agents` says otherwise: about 460 MiB of series.
pub const DEFAULT_MAX_AGENTS: usize = 20_000;

/// Series held at once unless `--max-series` says otherwise: 10,000 agents at full coverage
/// of 600 series each (a 2-CPU machine's agent has about 460, an 8-CPU one with a few disks
/// and mounts about 600). At about 150 B of memory a series (593 MiB for 4.0 M series at
/// 10,000 agents with `vitals-loadgen --record`), that is up to 900 MB held, where the agents'
/// own bounds alone allowed 20,000 maximal agents of several thousand series each.
pub const DEFAULT_MAX_SERIES: usize = 6_000_000;

/// The aggregator's state: every agent, and what it publishes. Made by [`Aggregator::new`]
/// and moved into its thread by [`Aggregator::run`], which it never leaves; it ends when the
/// last [`Mailbox`](crate::shared::Mailbox) is dropped, after the I/O threads have told it of
/// every connection closed.
pub struct Aggregator {
    /// How it treats agents, from the server's flags.
    config: Config,
    /// What scrapes read: each agent's slot and the health metrics' registry. The HTTP side
    /// holds a copy ([`Aggregator::published`]); the aggregator swaps the list of slots as
    /// agents come and go, and each slot's view as samples come.
    published: Arc<Published>,
    /// The server's own metrics, set as events come.
    health: Health,
    /// Every agent it knows, connected or not, until it is forgotten.
    agents: Table,
    /// Which agent (its index in `agents`) each connection speaks for: one entry per agent
    /// with a connection, as a connection that loses its agent to another loses its entry.
    conns: ByConn<usize>,
    /// New agents' slots, published with the next `publish_joined`.
    joined: Vec<Arc<Slot>>,
    /// The series every agent's published layout holds, against `--max-series`.
    series: Series,
    /// The custom families the published layouts hold, one definition a name.
    customs: Customs,
    /// Where an agent's series are gathered before they are published, kept so that a sample
    /// does not allocate.
    builder: Builder,
    /// Where merged samples' boxes go back to the I/O threads, if anywhere (set by
    /// [`Aggregator::recycle_into`]).
    spent: Option<Sender<Box<Decoded>>>,
    /// Where each merged sample's series go for remote write, if the server writes to a store
    /// (set by [`Aggregator::write_to`]).
    remote: Option<Feed>,
    /// With remote write: when every agent's `up` series are next written.
    next_up: Instant,
}

impl std::fmt::Debug for Aggregator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aggregator")
            .field("agents", &self.agents.len())
            .finish_non_exhaustive()
    }
}

impl Aggregator {
    /// An aggregator with no agents, and its health metrics in a fresh registry.
    pub fn new(config: Config) -> Self {
        let registry = Registry::new();
        let health = Health::new(&registry);
        let customs = Customs::new(health.custom_left_out.clone());
        Aggregator {
            config,
            published: Arc::new(Published {
                defs: DEFS,
                agents: RwLock::new(Arc::new(Vec::new())),
                registry,
            }),
            health,
            agents: Table::default(),
            conns: ByConn::default(),
            joined: Vec::new(),
            series: Series {
                held: 0,
                max: config.max_series,
            },
            customs,
            builder: Builder::default(),
            spent: None,
            remote: None,
            next_up: Instant::now(),
        }
    }

    /// Hands each merged sample's series to `feed`, for remote write.
    pub fn write_to(&mut self, feed: Feed) {
        self.remote = Some(feed);
    }

    /// Hands each sample's box, once merged, to `spent` (while it has room), for the I/O
    /// threads to decode the next samples into.
    pub fn recycle_into(&mut self, spent: Sender<Box<Decoded>>) {
        self.spent = Some(spent);
    }

    /// What scrapes read.
    pub fn published(&self) -> Arc<Published> {
        self.published.clone()
    }

    /// Handles batches of events until every sender is dropped, parking while there are none;
    /// the senders are [`Mailbox`](crate::shared::Mailbox)es, which wake it.
    pub fn run(mut self, batches: Receiver<Batch>, heartbeat: &Heartbeat) {
        let mut next_tick = Instant::now() + TICK;
        loop {
            heartbeat.beat();
            match batches.try_recv() {
                Ok(batch) => {
                    // What else is queued is handled in the same wake-up, at the same time.
                    let now = Instant::now();
                    self.handle_batch(batch, now);
                    for batch in batches.try_iter().take(CHANNEL_CAPACITY) {
                        self.handle_batch(batch, now);
                    }
                }
                // A send after the look above unparks at once.
                Err(TryRecvError::Empty) => {
                    std::thread::park_timeout(next_tick.saturating_duration_since(Instant::now()));
                }
                Err(TryRecvError::Disconnected) => return,
            }
            let now = Instant::now();
            if now >= next_tick {
                self.expire(now);
                next_tick = now + TICK;
            }
        }
    }

    /// Handles a batch's events at `now` and sends their answers back together.
    pub fn handle_batch(&mut self, batch: Batch, now: Instant) {
        let Batch { events, reply } = batch;
        let mut answers: Vec<(ConnId, Reply)> = events
            .into_iter()
            .filter_map(|event| self.handle(event, now))
            .collect();
        if let (Some(remote), Some(reply)) = (&self.remote, &reply) {
            // End to end: a sample is acknowledged once the store took what was queued before
            // its ack, its own series among them.
            answers.retain(|(conn, answer)| match answer {
                Reply::Merged { seq } => {
                    let agent = self.conns.get(conn).and_then(|&i| self.agents.get(i));
                    remote.ack(
                        agent.map(|a| a.id.as_str()),
                        Ack {
                            replier: reply.clone(),
                            conn: *conn,
                            seq: *seq,
                            stored: agent.map(|a| a.stored.clone()),
                        },
                    );
                    false
                }
                _ => true,
            });
        }
        self.publish_joined();
        self.refresh_series();
        if let Some(reply) = reply.filter(|_| !answers.is_empty()) {
            reply.send(answers);
        }
    }

    /// Handles one event at `now`; for a hello or a sample, the answer to its connection.
    pub fn handle(&mut self, event: Event, now: Instant) -> Option<(ConnId, Reply)> {
        match event {
            Event::Accepted => self.health.connections.inc(),
            Event::Connected {
                conn,
                hello,
                authenticated,
                protocol,
                peer,
            } => {
                self.health.frames.inc();
                let id = hello.id.clone();
                // A refusal is counted by the connection that passes it on.
                let reply = self.connect(conn, hello, authenticated, protocol, now);
                self.note_hello(&id, &reply, peer);
                return Some((conn, reply));
            }
            Event::Sample { conn, mut message } => {
                self.health.frames.inc();
                let reply = self.merge(conn, &message, now);
                if let Some(spent) = &self.spent {
                    message.drop_messages();
                    let _ = spent.try_send(message);
                }
                return Some((conn, reply));
            }
            Event::Disconnected { conn } => self.disconnect(conn),
            Event::Rejected { reason, conn } => {
                self.health.rejected.with_label_values(&[reason]).inc();
                if let Some(agent) = conn.and_then(|c| self.agent_of(c)) {
                    agent.slot.status.update(|facts| facts.refused(reason));
                }
            }
        }
        None
    }

    /// The exposition in Prometheus text format.
    pub fn render(&mut self) -> String {
        self.publish_joined();
        self.refresh_series();
        String::from_utf8(self.published.render()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
