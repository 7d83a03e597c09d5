//! The aggregator: one thread that owns every agent's state and every metric.
//!
//! Connection workers decode lines and send their [`Event`]s over a bounded channel, a
//! [`Batch`] per pass; the aggregator handles them in order, answers each batch in one message,
//! and publishes each agent's series as one view (see [`crate::exposition`]), so a scrape
//! always sees whole samples, never half of one, and never makes the aggregator wait. It owns
//! its own [`Registry`] (not the process-global default) for the server's health metrics, and
//! ends when every sender is dropped.
//!
//! Agents send cumulative values, and counters are exposed as the machine counts them: a
//! counter that went down (a reboot, an interface re-created) is a reset, which Prometheus'
//! `rate()` and `increase()` handle, exactly as with node_exporter.

mod connect;
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

use self::health::Health;
use self::publish::Series;
use self::table::Table;
use crate::exposition::{Builder, Published, Slot};
use crate::families::DEFS;
use crate::heartbeat::Heartbeat;
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

/// Series held at once unless `--max-series` says otherwise: [`DEFAULT_MAX_AGENTS`] agents of
/// 200 series each (a 4-CPU machine's agent has about 135, an 8-CPU one with a few disks and
/// mounts about 200). At about 190 B of memory and 72 B of plain scrape a series (the
/// Scaling figures of the README), that is up to 760 MB held and a 290 MB scrape (17 MB
/// gzipped), where the agents' own bounds alone allowed 20,000 maximal agents of about 1,000
/// series each: 20 M series, 3.8 GB and 1.3 GB a scrape.
pub const DEFAULT_MAX_SERIES: usize = 4_000_000;

/// The aggregator's state: every agent, and what it publishes.
pub struct Aggregator {
    config: Config,
    published: Arc<Published>,
    health: Health,
    agents: Table,
    /// Which agent (its index in `agents`) each connection speaks for: one entry per agent
    /// with a connection, as a connection that loses its agent to another loses its entry.
    conns: ByConn<usize>,
    /// New agents' slots, published with the next [`Aggregator::publish_joined`].
    joined: Vec<Arc<Slot>>,
    /// The series every agent's published layout holds, against `--max-series`.
    series: Series,
    builder: Builder,
    /// Where merged samples' boxes go back to the I/O threads, if anywhere.
    spent: Option<Sender<Box<Decoded>>>,
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
            builder: Builder::default(),
            spent: None,
        }
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
    /// the senders are [`Mailbox`]es, which wake it.
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
        let answers: Vec<(ConnId, Reply)> = events
            .into_iter()
            .filter_map(|event| self.handle(event, now))
            .collect();
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
            } => {
                self.health.frames.inc();
                // A refusal is counted by the connection that passes it on.
                return Some((conn, self.connect(conn, hello, authenticated, now)));
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
            Event::Rejected { reason } => self.health.rejected.with_label_values(&[reason]).inc(),
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
mod tests {
    use super::*;
    use crate::shared::{Mailbox, Replier, Waker};
    use agent_core::sample::{Cpu, Filesystem, Sample, bounded};
    use agent_core::wire::{Hello, SampleMessage, codes};

    fn hello(id: &str, session: u64) -> Box<Hello> {
        Box::new(Hello {
            id: bounded(id),
            version: bounded("0.1.0"),
            os: bounded("Linux"),
            arch: bounded("aarch64"),
            interval_ms: 1000,
            session,
            ..Hello::default()
        })
    }

    fn sample(seq: u64, user: f64, mounts: &[&str]) -> Box<SampleMessage<Sample>> {
        let mut sample = Sample::default();
        let _ = sample.cpus.push(Cpu {
            cpu: 0,
            user,
            idle: 100.0,
            ..Cpu::default()
        });
        for m in mounts {
            let _ = sample.filesystems.push(Filesystem {
                device: bounded("/dev/sda1"),
                fstype: bounded("ext4"),
                mountpoint: bounded(m),
                size: 1000,
                ..Filesystem::default()
            });
        }
        sample.load1 = 0.5;
        Box::new(SampleMessage {
            seq,
            dropped: 0,
            sample,
        })
    }

    /// Sends an event that expects a reply and returns the reply.
    fn ask(agg: &mut Aggregator, now: Instant, event: Event) -> Reply {
        agg.handle(event, now).unwrap().1
    }

    fn connect(agg: &mut Aggregator, conn: u64, id: &str, session: u64, now: Instant) -> Reply {
        ask(
            agg,
            now,
            Event::Connected {
                conn,
                hello: hello(id, session),
                authenticated: true,
            },
        )
    }

    fn send(
        agg: &mut Aggregator,
        conn: u64,
        message: Box<SampleMessage<Sample>>,
        now: Instant,
    ) -> Reply {
        let message = Decoded::new(&message);
        ask(agg, now, Event::Sample { conn, message })
    }

    /// Sends a sample as a session does once the aggregator has had its series whole: the
    /// flattened values without the message.
    fn send_flat(
        agg: &mut Aggregator,
        conn: u64,
        message: Box<SampleMessage<Sample>>,
        now: Instant,
    ) -> Reply {
        let mut flat = Box::<Decoded>::default();
        flat.fill(&message);
        assert!(!flat.is_whole());
        ask(
            agg,
            now,
            Event::Sample {
                conn,
                message: flat,
            },
        )
    }

    /// The value of the series `name{labels...}` as rendered, if present.
    fn get(agg: &mut Aggregator, series: &str) -> Option<f64> {
        agg.render()
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    const USER: &str = r#"node_cpu_seconds_total{agent="a",cpu="0",mode="user"}"#;
    const ROOT: &str =
        r#"node_filesystem_size_bytes{agent="a",device="/dev/sda1",fstype="ext4",mountpoint="/"}"#;
    const BOOT: &str = r#"node_filesystem_size_bytes{agent="a",device="/dev/sda1",fstype="ext4",mountpoint="/boot"}"#;

    fn aggregator() -> Aggregator {
        Aggregator::new(Config {
            expire_after: Some(Duration::from_secs(30)),
            min_interval: Duration::ZERO,
            ..Config::default()
        })
    }

    /// The aggregator sleeps until the next expiry tick when it has nothing to do: a batch,
    /// and the last sender going away, must wake it well before that.
    #[test]
    fn a_parked_aggregator_wakes_for_a_batch_and_for_the_last_sender_gone() {
        let (tx, rx) = crossbeam_channel::bounded(CHANNEL_CAPACITY);
        let agg = aggregator();
        let beats = crate::heartbeat::Heartbeats::new();
        let heartbeat = beats.register("aggregator");
        let thread = std::thread::spawn(move || agg.run(rx, &heartbeat));
        let mailbox = Mailbox::new(tx, thread.thread().clone());
        let (reply_tx, replies) = crossbeam_channel::unbounded();
        let soon = TICK / 2;
        for conn in 1..=3 {
            // Time for it to have parked before each send.
            std::thread::sleep(Duration::from_millis(20));
            assert!(mailbox.send(Batch {
                events: vec![Event::Connected {
                    conn,
                    hello: hello(&format!("a{conn}"), 1),
                    authenticated: true,
                }],
                reply: Some(Replier::new(reply_tx.clone(), Waker::none())),
            }));
            let answers = replies
                .recv_timeout(soon)
                .expect("answered within half a tick");
            assert_eq!(answers, vec![(conn, Reply::Welcome { last_seq: 0 })]);
        }
        std::thread::sleep(Duration::from_millis(20));
        let dropped = Instant::now();
        drop(mailbox);
        thread.join().unwrap();
        assert!(
            dropped.elapsed() < soon,
            "ended {:?} after",
            dropped.elapsed()
        );
    }

    #[test]
    fn samples_without_their_message_are_published_with_the_labels_of_the_last_whole_one() {
        let mut agg = aggregator();
        let t0 = Instant::now();
        connect(&mut agg, 1, "a", 7, t0);
        send(&mut agg, 1, sample(1, 10.5, &["/"]), t0);
        assert_eq!(
            send_flat(&mut agg, 1, sample(2, 20.5, &["/"]), t0),
            Reply::Merged { seq: 2 }
        );
        assert_eq!(get(&mut agg, USER), Some(20.5));
        // Expired, its series are gone; the labels of its last whole sample are not.
        agg.expire(t0 + Duration::from_secs(31));
        assert_eq!(get(&mut agg, USER), None);
        let t1 = t0 + Duration::from_secs(32);
        assert_eq!(
            send_flat(&mut agg, 1, sample(3, 30.5, &["/"]), t1),
            Reply::Merged { seq: 3 }
        );
        assert_eq!(get(&mut agg, USER), Some(30.5));
        assert_eq!(get(&mut agg, ROOT), Some(1000.0));
    }

    #[test]
    fn a_sample_without_its_message_whose_series_are_new_is_refused_not_mislabelled() {
        let mut agg = aggregator();
        let t0 = Instant::now();
        connect(&mut agg, 1, "a", 7, t0);
        send(&mut agg, 1, sample(1, 10.5, &["/"]), t0);
        let samples = r#"vitals_agent_samples_total{agent="a"}"#;
        assert_eq!(get(&mut agg, samples), Some(1.0));
        // A new mount, but no message to label it from: its values must not be published
        // under the old labels, where they would land on the wrong series.
        let refused = send_flat(&mut agg, 1, sample(2, 20.5, &["/", "/boot"]), t0);
        assert!(
            matches!(
                refused,
                Reply::Refused {
                    code: codes::UNEXPECTED,
                    ..
                }
            ),
            "{refused:?}"
        );
        assert_eq!(get(&mut agg, USER), Some(10.5));
        assert_eq!(get(&mut agg, BOOT), None);
        assert_eq!(get(&mut agg, samples), Some(1.0));
        // Sent again whole, as after the reconnect the refusal brings, it is merged.
        assert_eq!(
            send(&mut agg, 1, sample(2, 20.5, &["/", "/boot"]), t0),
            Reply::Merged { seq: 2 }
        );
        assert_eq!(get(&mut agg, BOOT), Some(1000.0));
        assert_eq!(get(&mut agg, samples), Some(2.0));
    }

    #[test]
    fn a_whole_sample_that_is_not_merged_still_labels_the_samples_after_it() {
        let mut agg = aggregator();
        let t0 = Instant::now();
        connect(&mut agg, 1, "a", 7, t0);
        send(&mut agg, 1, sample(1, 10.5, &["/"]), t0);
        send(&mut agg, 1, sample(2, 20.5, &["/"]), t0);
        // A reconnect in the same session: the first sample is one merged before, sent
        // again, now with a new mount; it is acknowledged, not merged.
        connect(&mut agg, 2, "a", 7, t0);
        assert_eq!(
            send(&mut agg, 2, sample(2, 20.5, &["/", "/boot"]), t0),
            Reply::Merged { seq: 2 }
        );
        assert_eq!(get(&mut agg, BOOT), None);
        // The next comes without its message: its labels are those of the one sent again.
        assert_eq!(
            send_flat(&mut agg, 2, sample(3, 30.5, &["/", "/boot"]), t0),
            Reply::Merged { seq: 3 }
        );
        assert_eq!(get(&mut agg, BOOT), Some(1000.0));
        assert_eq!(get(&mut agg, USER), Some(30.5));
    }

    #[test]
    fn a_sample_becomes_labelled_series_of_the_right_type() {
        let mut agg = aggregator();
        let t0 = Instant::now();
        assert_eq!(
            connect(&mut agg, 1, "a", 7, t0),
            Reply::Welcome { last_seq: 0 }
        );
        assert_eq!(
            send(&mut agg, 1, sample(1, 10.5, &["/"]), t0),
            Reply::Merged { seq: 1 }
        );
        let text = agg.render();
        assert!(text.contains("# TYPE node_cpu_seconds_total counter"));
        assert!(text.contains("# TYPE node_load1 gauge"));
        assert_eq!(get(&mut agg, USER), Some(10.5));
        assert_eq!(get(&mut agg, ROOT), Some(1000.0));
        assert_eq!(get(&mut agg, r#"node_load1{agent="a"}"#), Some(0.5));
        assert_eq!(get(&mut agg, r#"vitals_agent_up{agent="a"}"#), Some(1.0));
        assert_eq!(get(&mut agg, "vitals_server_agents_connected"), Some(1.0));
        assert_eq!(
            get(&mut agg, "vitals_server_frames_received_total"),
            Some(2.0)
        );
        assert!(text.contains(r#"vitals_agent_info{agent="a",arch="aarch64","#));
    }

    #[test]
    fn disks_and_pressure_are_node_exporter_counters() {
        let mut agg = aggregator();
        let t0 = Instant::now();
        connect(&mut agg, 1, "a", 7, t0);
        let mut message = sample(1, 1.0, &[]);
        let _ = message.sample.disks.push(agent_core::sample::Disk {
            device: bounded("sda"),
            read_bytes: 4096,
            io_time: 1.5,
            ..Default::default()
        });
        message.sample.pressure = Some(agent_core::sample::Pressure {
            io_stalled: 2.5,
            ..Default::default()
        });
        send(&mut agg, 1, message, t0);
        let text = agg.render();
        assert!(text.contains("# TYPE node_disk_read_bytes_total counter"));
        assert!(text.contains("# TYPE node_disk_io_now gauge"));
        assert_eq!(
            get(
                &mut agg,
                r#"node_disk_read_bytes_total{agent="a",device="sda"}"#
            ),
            Some(4096.0)
        );
        assert_eq!(
            get(
                &mut agg,
                r#"node_disk_io_time_seconds_total{agent="a",device="sda"}"#
            ),
            Some(1.5)
        );
        assert_eq!(
            get(
                &mut agg,
                r#"node_pressure_io_stalled_seconds_total{agent="a"}"#
            ),
            Some(2.5)
        );
        // A sample without pressure (the kernel lost it? an older agent) drops those series.
        send(&mut agg, 1, sample(2, 1.0, &[]), t0);
        assert_eq!(
            get(
                &mut agg,
                r#"node_pressure_io_stalled_seconds_total{agent="a"}"#
            ),
            None
        );
    }

    #[test]
    fn a_counter_follows_the_agent_and_restarts_when_the_machine_counter_goes_down() {
        let mut agg = aggregator();
        let t0 = Instant::now();
        connect(&mut agg, 1, "a", 7, t0);
        send(&mut agg, 1, sample(1, 10.0, &[]), t0);
        send(&mut agg, 1, sample(2, 12.25, &[]), t0);
        assert_eq!(get(&mut agg, USER), Some(12.25));
        // The machine rebooted: its counter starts again from a smaller value.
        send(&mut agg, 1, sample(3, 1.5, &[]), t0);
        assert_eq!(get(&mut agg, USER), Some(1.5));
    }

    #[test]
    fn a_sample_sent_again_after_a_reconnect_is_acknowledged_but_not_merged_twice() {
        let mut agg = aggregator();
        let t0 = Instant::now();
        connect(&mut agg, 1, "a", 7, t0);
        send(&mut agg, 1, sample(1, 10.0, &[]), t0);
        send(&mut agg, 1, sample(2, 20.0, &[]), t0);
        agg.handle(Event::Disconnected { conn: 1 }, t0);
        // Same session: the welcome tells the agent what is already merged.
        assert_eq!(
            connect(&mut agg, 2, "a", 7, t0),
            Reply::Welcome { last_seq: 2 }
        );
        assert_eq!(
            send(&mut agg, 2, sample(1, 10.0, &[]), t0),
            Reply::Merged { seq: 1 }
        );
        assert_eq!(
            get(&mut agg, USER),
            Some(20.0),
            "the old sample did not turn the counter back"
        );
        assert_eq!(
            get(&mut agg, r#"vitals_agent_samples_total{agent="a"}"#),
            Some(2.0)
        );
        // A new session (the agent restarted) numbers from 1 again.
        assert_eq!(
            connect(&mut agg, 3, "a", 8, t0),
            Reply::Welcome { last_seq: 0 }
        );
        assert_eq!(
            send(&mut agg, 3, sample(1, 21.0, &[]), t0),
            Reply::Merged { seq: 1 }
        );
        assert_eq!(get(&mut agg, USER), Some(21.0));
    }

    /// Connects `conn` for `id`'s session `session`, whose agent has sent up to `last_sent`.
    fn connect_after(
        agg: &mut Aggregator,
        conn: u64,
        id: &str,
        session: u64,
        last_sent: u64,
        now: Instant,
    ) -> Reply {
        let mut hello = hello(id, session);
        hello.last_sent = last_sent;
        ask(
            agg,
            now,
            Event::Connected {
                conn,
                hello,
                authenticated: true,
            },
        )
    }

    /// After a crash the agent sends again, oldest first, what the crashed server may have
    /// exposed: each used to become the current value, and counters went back.
    #[test]
    fn a_server_with_no_view_shows_none_of_the_samples_sent_before_last_sent() {
        const SAMPLES: &str = r#"vitals_agent_samples_total{agent="a"}"#;
        const LAST_SEEN: &str = r#"vitals_agent_last_seen_timestamp_seconds{agent="a"}"#;
        let mut agg = aggregator();
        let t0 = Instant::now();
        assert_eq!(
            connect_after(&mut agg, 1, "a", 7, 10, t0),
            Reply::Welcome { last_seq: 0 }
        );
        // The oldest comes whole, the others flat, as a session sends them.
        assert_eq!(
            send(&mut agg, 1, sample(5, 105.0, &["/"]), t0),
            Reply::Merged { seq: 5 }
        );
        for seq in 6..=9 {
            assert_eq!(
                send_flat(&mut agg, 1, sample(seq, 100.0 + seq as f64, &["/"]), t0),
                Reply::Merged { seq }
            );
            assert_eq!(get(&mut agg, USER), None, "seq {seq}");
            assert_eq!(get(&mut agg, ROOT), None);
        }
        assert_eq!(get(&mut agg, r#"vitals_agent_up{agent="a"}"#), Some(1.0));
        assert_eq!(get(&mut agg, LAST_SEEN), Some(0.0), "no values shown yet");
        // From `last_sent` on, as before; the held samples were counted, without gaps.
        assert_eq!(
            send_flat(&mut agg, 1, sample(10, 110.0, &["/"]), t0),
            Reply::Merged { seq: 10 }
        );
        assert_eq!(get(&mut agg, USER), Some(110.0));
        assert_eq!(get(&mut agg, ROOT), Some(1000.0));
        assert_eq!(get(&mut agg, SAMPLES), Some(6.0));
        assert!(get(&mut agg, LAST_SEEN).unwrap() > 0.0);
        send_flat(&mut agg, 1, sample(12, 112.0, &["/"]), t0);
        assert_eq!(get(&mut agg, USER), Some(112.0));
        assert_eq!(
            get(&mut agg, r#"vitals_agent_sequence_gaps_total{agent="a"}"#),
            Some(1.0)
        );
    }

    #[test]
    fn an_earlier_view_stays_until_a_sample_from_last_sent_on_arrives() {
        let mut agg = aggregator();
        let t0 = Instant::now();
        connect(&mut agg, 1, "a", 7, t0);
        send(&mut agg, 1, sample(1, 30.0, &["/"]), t0);
        agg.handle(Event::Disconnected { conn: 1 }, t0);
        // The agent went to another server, which exposed up to 6, then came back.
        assert_eq!(
            connect_after(&mut agg, 2, "a", 7, 6, t0),
            Reply::Welcome { last_seq: 1 }
        );
        // Held back whatever they say, and the first comes with a new mount.
        assert_eq!(
            send(&mut agg, 2, sample(4, 10.0, &["/", "/boot"]), t0),
            Reply::Merged { seq: 4 }
        );
        send_flat(&mut agg, 2, sample(5, 11.0, &["/", "/boot"]), t0);
        assert_eq!(get(&mut agg, USER), Some(30.0));
        assert_eq!(get(&mut agg, BOOT), None);
        // The held sample that came whole labels the first one shown.
        assert_eq!(
            send_flat(&mut agg, 2, sample(6, 40.0, &["/", "/boot"]), t0),
            Reply::Merged { seq: 6 }
        );
        assert_eq!(get(&mut agg, USER), Some(40.0));
        assert_eq!(get(&mut agg, BOOT), Some(1000.0));
        // A sample held back and flat whose series nobody labelled is refused, as one shown.
        connect_after(&mut agg, 3, "a", 7, 20, t0);
        assert!(matches!(
            send_flat(&mut agg, 3, sample(7, 41.0, &["/efi"]), t0),
            Reply::Refused { .. }
        ));
    }

    #[test]
    fn skipped_sequence_numbers_are_counted_but_a_resend_or_a_new_session_is_not() {
        const GAPS: &str = r#"vitals_agent_sequence_gaps_total{agent="a"}"#;
        let mut agg = aggregator();
        let t0 = Instant::now();
        connect(&mut agg, 1, "a", 7, t0);
        send(&mut agg, 1, sample(1, 1.0, &[]), t0);
        assert_eq!(
            get(&mut agg, GAPS),
            Some(0.0),
            "shown from the first sample"
        );
        send(&mut agg, 1, sample(2, 1.0, &[]), t0);
        // 3 and 4 never arrive.
        send(&mut agg, 1, sample(5, 1.0, &[]), t0);
        assert_eq!(get(&mut agg, GAPS), Some(2.0), "the number missing");
        // A reconnect in the same session resends what was not merged: no gap, and an old
        // sample sent again is neither merged nor counted.
        agg.handle(Event::Disconnected { conn: 1 }, t0);
        assert_eq!(
            connect(&mut agg, 2, "a", 7, t0),
            Reply::Welcome { last_seq: 5 }
        );
        send(&mut agg, 2, sample(4, 1.0, &[]), t0);
        send(&mut agg, 2, sample(6, 1.0, &[]), t0);
        send(&mut agg, 2, sample(7, 1.0, &[]), t0);
        assert_eq!(get(&mut agg, GAPS), Some(2.0));
        // The agent restarted: a new session numbers from 1 again, which is not a gap; the
        // counter keeps what it counted before.
        connect(&mut agg, 3, "a", 8, t0);
        send(&mut agg, 3, sample(1, 1.0, &[]), t0);
        assert_eq!(get(&mut agg, GAPS), Some(2.0));
        send(&mut agg, 3, sample(3, 1.0, &[]), t0);
        assert_eq!(get(&mut agg, GAPS), Some(3.0));
    }

    /// Two sessions each skipping 2^64 - 3 numbers overflowed the count of gaps: a panic in a
    /// debug build, a counter that went backwards in a release one.
    #[test]
    fn sequence_numbers_that_skip_past_the_counters_range_saturate_it() {
        const GAPS: &str = r#"vitals_agent_sequence_gaps_total{agent="a"}"#;
        let mut agg = aggregator();
        let t0 = Instant::now();
        let mut seen = 0.0;
        for session in [1, 2, 3] {
            agg.handle(Event::Disconnected { conn: session - 1 }, t0);
            connect(&mut agg, session, "a", session, t0);
            for seq in [1, u64::MAX] {
                assert_eq!(
                    send(&mut agg, session, sample(seq, 1.0, &[]), t0),
                    Reply::Merged { seq }
                );
                let gaps = get(&mut agg, GAPS).unwrap();
                assert!(gaps >= seen, "{gaps} after {seen}");
                seen = gaps;
            }
        }
        assert_eq!(seen, u64::MAX as f64);
    }

    #[test]
    fn a_restarted_server_takes_the_first_sample_of_a_session_as_the_baseline() {
        // The agent kept samples 41.. unacknowledged while the server restarted.
        let mut agg = aggregator();
        let t0 = Instant::now();
        assert_eq!(
            connect(&mut agg, 1, "a", 7, t0),
            Reply::Welcome { last_seq: 0 }
        );
        send(&mut agg, 1, sample(41, 1.0, &[]), t0);
        send(&mut agg, 1, sample(42, 1.0, &[]), t0);
        assert_eq!(
            get(&mut agg, r#"vitals_agent_sequence_gaps_total{agent="a"}"#),
            Some(0.0)
        );
    }

    #[test]
    fn a_series_missing_from_the_next_sample_is_removed() {
        let mut agg = aggregator();
        let t0 = Instant::now();
        connect(&mut agg, 1, "a", 7, t0);
        send(&mut agg, 1, sample(1, 1.0, &["/", "/boot"]), t0);
        assert_eq!(get(&mut agg, BOOT), Some(1000.0));
        send(&mut agg, 1, sample(2, 1.0, &["/"]), t0);
        assert_eq!(get(&mut agg, BOOT), None, "unmounted");
        assert_eq!(get(&mut agg, ROOT), Some(1000.0));
    }

    #[test]
    fn a_disconnected_agent_is_down_at_once_and_its_series_expire() {
        let mut agg = aggregator();
        let t0 = Instant::now();
        connect(&mut agg, 1, "a", 7, t0);
        connect(&mut agg, 2, "b", 7, t0);
        send(&mut agg, 1, sample(1, 1.0, &["/"]), t0);
        agg.handle(Event::Disconnected { conn: 1 }, t0);
        assert_eq!(get(&mut agg, r#"vitals_agent_up{agent="a"}"#), Some(0.0));
        assert_eq!(get(&mut agg, "vitals_server_agents_connected"), Some(1.0));
        agg.expire(t0 + Duration::from_secs(29));
        assert_eq!(get(&mut agg, ROOT), Some(1000.0), "not yet");
        let t1 = t0 + Duration::from_secs(31);
        agg.expire(t1);
        assert_eq!(get(&mut agg, ROOT), None);
        assert_eq!(get(&mut agg, USER), None);
        assert!(!agg.render().contains(r#"vitals_agent_info{agent="a""#));
        assert_eq!(
            get(&mut agg, r#"vitals_agent_up{agent="a"}"#),
            Some(0.0),
            "up stays, at 0"
        );
        // It comes back with the same labels, once.
        connect(&mut agg, 3, "a", 7, t1);
        send(&mut agg, 3, sample(2, 2.0, &["/"]), t1);
        assert_eq!(get(&mut agg, USER), Some(2.0));
        assert_eq!(
            agg.render()
                .matches(r#"vitals_agent_up{agent="a"}"#)
                .count(),
            1
        );
    }

    #[test]
    fn a_newer_connection_for_the_same_id_takes_over() {
        let mut agg = aggregator();
        let t0 = Instant::now();
        connect(&mut agg, 1, "a", 7, t0);
        connect(&mut agg, 2, "a", 7, t0);
        assert!(matches!(
            send(&mut agg, 1, sample(1, 1.0, &[]), t0),
            Reply::Refused { .. }
        ));
        assert_eq!(
            send(&mut agg, 2, sample(1, 1.0, &[]), t0),
            Reply::Merged { seq: 1 }
        );
        // The old connection closing does not mark the agent down.
        agg.handle(Event::Disconnected { conn: 1 }, t0);
        assert_eq!(get(&mut agg, r#"vitals_agent_up{agent="a"}"#), Some(1.0));
    }

    /// Texts that joined to one identity when parts were only separated by a NUL: the second
    /// sample reused the first one's labels (a debug build failed `check_reuse`).
    #[test]
    fn label_texts_that_joined_to_one_identity_get_their_own_labels() {
        let fs = |device: &str, fstype: &str, mountpoint: &str| Filesystem {
            device: bounded(device),
            fstype: bounded(fstype),
            mountpoint: bounded(mountpoint),
            size: 1,
            ..Filesystem::default()
        };
        let net = |device: &str| agent_core::sample::Interface {
            device: bounded(device),
            ..Default::default()
        };
        let mut agg = aggregator();
        let t0 = Instant::now();
        connect(&mut agg, 1, "a", 7, t0);
        let mut first = sample(1, 1.0, &[]);
        first
            .sample
            .filesystems
            .push(fs("x\0", "ext4", "/"))
            .unwrap();
        send(&mut agg, 1, first, t0);
        // The NUL moved from the device to the type.
        let mut second = sample(2, 1.0, &[]);
        second
            .sample
            .filesystems
            .push(fs("x", "\0ext4", "/"))
            .unwrap();
        send(&mut agg, 1, second, t0);
        let text = agg.render();
        assert!(text.contains("device=\"x\",fstype=\"\0ext4\""), "{text}");
        // A label text spelling a section's name: a mount whose device is "interfaces", or
        // no mount and interfaces named like its labels.
        let mut third = sample(3, 1.0, &[]);
        third
            .sample
            .filesystems
            .push(fs("interfaces", "a", "b"))
            .unwrap();
        send(&mut agg, 1, third, t0);
        let mut fourth = sample(4, 1.0, &[]);
        for device in ["a", "b", "interfaces"] {
            fourth.sample.interfaces.push(net(device)).unwrap();
        }
        send(&mut agg, 1, fourth, t0);
        let text = agg.render();
        assert!(!text.contains("node_filesystem_size_bytes{"), "{text}");
        assert!(
            text.contains(r#"node_network_up{agent="a",device="interfaces"}"#),
            "{text}"
        );
    }

    #[test]
    fn a_new_agent_is_up_before_its_first_sample() {
        let mut agg = aggregator();
        connect(&mut agg, 1, "a", 7, Instant::now());
        assert_eq!(get(&mut agg, r#"vitals_agent_up{agent="a"}"#), Some(1.0));
        assert_eq!(get(&mut agg, USER), None);
    }

    #[test]
    fn past_max_agents_a_new_id_is_refused_until_one_is_forgotten() {
        let mut agg = Aggregator::new(Config {
            expire_after: Some(Duration::from_secs(30)),
            max_agents: 2,
            forget_after: Duration::from_secs(60),
            min_interval: Duration::ZERO,
            ..Config::default()
        });
        let t0 = Instant::now();
        connect(&mut agg, 1, "a", 1, t0);
        connect(&mut agg, 2, "b", 1, t0);
        // (An id that never sent a sample is forgotten with its connection: see
        // `an_id_that_never_sent_a_sample_is_forgotten_when_its_connection_goes`.)
        send(&mut agg, 1, sample(1, 1.0, &[]), t0);
        send(&mut agg, 2, sample(1, 1.0, &[]), t0);
        let third = connect(&mut agg, 3, "c", 1, t0);
        assert!(
            matches!(third, Reply::Refused { code, .. } if code == codes::TOO_MANY_AGENTS),
            "{third:?}"
        );
        // A known id still gets back in.
        agg.handle(Event::Disconnected { conn: 1 }, t0);
        assert_eq!(
            connect(&mut agg, 4, "a", 1, t0),
            Reply::Welcome { last_seq: 1 }
        );
        // Once `b` is gone, expired and then forgotten, `c` fits.
        agg.handle(Event::Disconnected { conn: 2 }, t0);
        agg.expire(t0 + Duration::from_secs(31));
        assert!(get(&mut agg, r#"vitals_agent_up{agent="b"}"#).is_some());
        agg.expire(t0 + Duration::from_secs(92));
        assert_eq!(get(&mut agg, r#"vitals_agent_up{agent="b"}"#), None);
        assert_eq!(
            connect(&mut agg, 5, "c", 1, t0),
            Reply::Welcome { last_seq: 0 }
        );
    }

    /// 20,000 bare hellos held `--max-agents` places for a day, and locked new agents out.
    #[test]
    fn an_id_that_never_sent_a_sample_is_forgotten_when_its_connection_goes() {
        let mut agg = Aggregator::new(Config {
            max_agents: 2,
            min_interval: Duration::ZERO,
            ..Config::default()
        });
        let t0 = Instant::now();
        connect(&mut agg, 1, "bare-1", 1, t0);
        connect(&mut agg, 2, "bare-2", 1, t0);
        assert!(matches!(
            connect(&mut agg, 3, "new", 1, t0),
            Reply::Refused {
                code: codes::TOO_MANY_AGENTS,
                ..
            }
        ));
        // Still connected: it keeps its place (its session closes it if no sample comes).
        agg.expire(t0 + Duration::from_secs(1));
        assert!(get(&mut agg, r#"vitals_agent_up{agent="bare-1"}"#).is_some());
        for conn in [1, 2] {
            agg.handle(Event::Disconnected { conn }, t0);
        }
        agg.expire(t0 + Duration::from_secs(1));
        assert_eq!(get(&mut agg, r#"vitals_agent_up{agent="bare-1"}"#), None);
        assert_eq!(get(&mut agg, "vitals_server_series"), Some(0.0));
        assert_eq!(
            connect(&mut agg, 4, "new", 1, t0),
            Reply::Welcome { last_seq: 0 }
        );
    }

    /// A hello declaring a huge interval for an absent agent's id kept its stale values for
    /// three of those intervals.
    #[test]
    fn a_hello_does_not_extend_the_life_of_values_it_did_not_send() {
        let mut agg = Aggregator::new(Config {
            min_interval: Duration::ZERO,
            ..Config::default()
        });
        let t0 = Instant::now();
        connect(&mut agg, 1, "a", 1, t0);
        send(&mut agg, 1, sample(1, 10.5, &[]), t0);
        agg.handle(Event::Disconnected { conn: 1 }, t0);
        let mut slow = hello("a", 1);
        slow.interval_ms = agent_core::wire::MAX_INTERVAL_MS;
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(
            ask(
                &mut agg,
                t1,
                Event::Connected {
                    conn: 2,
                    hello: slow,
                    authenticated: false,
                }
            ),
            Reply::Welcome { last_seq: 1 }
        );
        // Three of the sender's 1 s intervals, at least 5 s.
        agg.expire(t0 + MIN_EXPIRY - Duration::from_millis(1));
        assert_eq!(get(&mut agg, USER), Some(10.5));
        agg.expire(t0 + MIN_EXPIRY + Duration::from_millis(1));
        assert_eq!(get(&mut agg, USER), None);
        // Its own samples live as long as its hello says, at most the longest idle timeout.
        send(&mut agg, 2, sample(2, 20.5, &[]), t1);
        agg.expire(t1 + Duration::from_secs(3 * 3600 - 1));
        assert_eq!(get(&mut agg, USER), Some(20.5));
        agg.expire(t1 + MAX_EXPIRY + Duration::from_secs(1));
        assert_eq!(get(&mut agg, USER), None);
    }

    /// Two machines with one id and key took it from each other after every welcome: 83
    /// reconnects in 30 s, their values interleaved in one series.
    #[test]
    fn repeated_takeovers_of_one_id_are_refused_while_they_go_on() {
        let mut agg = aggregator();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        connect(&mut agg, 1, "a", 7, t0);
        // One takeover (the machine rebooted, its old connection still looks alive) is fine.
        assert_eq!(
            connect(&mut agg, 2, "a", 7, at(1)),
            Reply::Welcome { last_seq: 0 }
        );
        // The other comes back: refused, and the one connected keeps the id.
        let conflict = |reply: Reply| {
            matches!(
                reply,
                Reply::Refused {
                    code: codes::ID_CONFLICT,
                    ..
                }
            )
        };
        assert!(conflict(connect(&mut agg, 3, "a", 7, at(2))));
        assert_eq!(
            send(&mut agg, 2, sample(1, 1.0, &[]), at(2)),
            Reply::Merged { seq: 1 }
        );
        // Each attempt keeps the conflict going, however long it lasts.
        for (conn, s) in [(4, 50), (5, 100), (6, 159)] {
            assert!(conflict(connect(&mut agg, conn, "a", 7, at(s))), "{s} s");
        }
        // Once nobody has tried for a minute, a takeover works again.
        assert_eq!(
            connect(&mut agg, 7, "a", 7, at(220)),
            Reply::Welcome { last_seq: 1 }
        );
        // And when the holder goes, the next connection gets the id at once.
        assert!(conflict(connect(&mut agg, 8, "a", 7, at(221))));
        agg.handle(Event::Disconnected { conn: 7 }, at(222));
        assert_eq!(
            connect(&mut agg, 9, "a", 7, at(222)),
            Reply::Welcome { last_seq: 1 }
        );
    }

    /// The series of `id` in `agg`'s exposition.
    fn series_of(agg: &mut Aggregator, id: &str) -> usize {
        let label = format!("agent=\"{id}\"");
        agg.render()
            .lines()
            .filter(|l| !l.starts_with('#') && l.contains(&label))
            .count()
    }

    #[test]
    fn past_max_series_a_hello_or_a_sample_that_would_pass_it_is_refused() {
        let t0 = Instant::now();
        let per_agent = {
            let mut agg = aggregator();
            connect(&mut agg, 1, "a", 7, t0);
            send(&mut agg, 1, sample(1, 1.0, &["/"]), t0);
            series_of(&mut agg, "a")
        };
        let mut agg = Aggregator::new(Config {
            expire_after: Some(Duration::from_secs(30)),
            min_interval: Duration::ZERO,
            max_series: per_agent + 3,
            ..Config::default()
        });
        connect(&mut agg, 1, "a", 7, t0);
        send(&mut agg, 1, sample(1, 1.0, &["/"]), t0);
        assert_eq!(
            connect(&mut agg, 2, "b", 7, t0),
            Reply::Welcome { last_seq: 0 }
        );
        let held = r#"vitals_server_series"#;
        assert_eq!(get(&mut agg, held), Some((per_agent + 2) as f64));
        // A new agent's `up` and `last_seen` would pass the bound.
        assert!(matches!(
            connect(&mut agg, 3, "c", 7, t0),
            Reply::Refused {
                code: codes::TOO_MANY_SERIES,
                ..
            }
        ));
        // So would `b`'s sample: refused, and nothing of it counted or shown.
        assert!(matches!(
            send(&mut agg, 2, sample(1, 1.0, &["/"]), t0),
            Reply::Refused {
                code: codes::TOO_MANY_SERIES,
                ..
            }
        ));
        assert_eq!(series_of(&mut agg, "b"), 2);
        // Fewer series always fit.
        assert_eq!(
            send(&mut agg, 1, sample(2, 1.0, &[]), t0),
            Reply::Merged { seq: 2 }
        );
        // Once `a`'s series expire, `b`'s fit.
        agg.handle(Event::Disconnected { conn: 1 }, t0);
        agg.expire(t0 + Duration::from_secs(31));
        let t1 = t0 + Duration::from_secs(31);
        assert_eq!(get(&mut agg, held), Some(4.0));
        assert_eq!(
            send(&mut agg, 2, sample(1, 1.0, &["/"]), t1),
            Reply::Merged { seq: 1 }
        );
        let shown = series_of(&mut agg, "a") + series_of(&mut agg, "b");
        assert_eq!(shown, per_agent + 2);
        assert_eq!(get(&mut agg, held), Some(shown as f64));
        // Forgotten agents give their series back.
        agg.handle(Event::Disconnected { conn: 2 }, t1);
        agg.expire(t1 + Duration::from_secs(24 * 3600 + 32));
        assert_eq!(get(&mut agg, held), Some(0.0));
    }

    #[test]
    fn samples_faster_than_the_minimum_interval_are_acknowledged_and_dropped() {
        let mut agg = Aggregator::new(Config {
            expire_after: Some(Duration::from_secs(30)),
            min_interval: Duration::from_secs(1),
            ..Config::default()
        });
        let t0 = Instant::now();
        connect(&mut agg, 1, "a", 1, t0);
        let burst = BURST as u64;
        for seq in 1..=burst {
            assert_eq!(
                send(&mut agg, 1, sample(seq, seq as f64, &["/"]), t0),
                Reply::Merged { seq }
            );
        }
        // The burst is spent: the next one is acknowledged but not merged (and the two
        // numbers it skipped are counted as gaps all the same).
        assert_eq!(
            send(&mut agg, 1, sample(burst + 3, 0.5, &["/"]), t0),
            Reply::Merged { seq: burst + 3 }
        );
        assert_eq!(get(&mut agg, USER), Some(burst as f64));
        assert_eq!(
            get(
                &mut agg,
                r#"vitals_server_frames_rejected_total{reason="too_frequent"}"#
            ),
            Some(1.0)
        );
        // A second later, one more is allowed.
        let t1 = t0 + Duration::from_millis(1001);
        send(&mut agg, 1, sample(burst + 4, 7.0, &["/"]), t1);
        assert_eq!(get(&mut agg, USER), Some(7.0));
        assert_eq!(
            get(&mut agg, r#"vitals_agent_sequence_gaps_total{agent="a"}"#),
            Some(2.0)
        );
    }

    #[test]
    fn an_unauthenticated_connection_cannot_take_a_connected_id() {
        let mut agg = aggregator();
        let t0 = Instant::now();
        assert_eq!(
            connect(&mut agg, 1, "a", 7, t0),
            Reply::Welcome { last_seq: 0 }
        );
        let second = ask(
            &mut agg,
            t0,
            Event::Connected {
                conn: 2,
                hello: hello("a", 7),
                authenticated: false,
            },
        );
        assert!(
            matches!(second, Reply::Refused { code, .. } if code == codes::ID_IN_USE),
            "{second:?}"
        );
        // The first connection keeps the id; an authenticated one may take it over.
        assert_eq!(
            send(&mut agg, 1, sample(1, 1.0, &["/"]), t0),
            Reply::Merged { seq: 1 }
        );
        assert_eq!(
            connect(&mut agg, 3, "a", 7, t0),
            Reply::Welcome { last_seq: 1 }
        );
    }

    #[test]
    fn a_new_agent_version_changes_the_info_labels() {
        let mut agg = aggregator();
        let t0 = Instant::now();
        connect(&mut agg, 1, "a", 7, t0);
        send(&mut agg, 1, sample(1, 1.0, &["/"]), t0);
        assert!(agg.render().contains(r#"version="0.1.0""#));
        agg.handle(Event::Disconnected { conn: 1 }, t0);
        let newer = Box::new(Hello {
            version: bounded("0.2.0"),
            ..*hello("a", 8)
        });
        assert_eq!(
            ask(
                &mut agg,
                t0,
                Event::Connected {
                    conn: 2,
                    hello: newer,
                    authenticated: false,
                }
            ),
            Reply::Welcome { last_seq: 0 }
        );
        send(&mut agg, 2, sample(1, 2.0, &["/"]), t0);
        let text = agg.render();
        assert!(
            text.contains(r#"version="0.2.0""#) && !text.contains(r#"version="0.1.0""#),
            "{text}"
        );
        assert_eq!(get(&mut agg, USER), Some(2.0));
    }

    #[test]
    fn a_renamed_interface_or_moved_mount_gets_new_labels() {
        let mut agg = aggregator();
        let t0 = Instant::now();
        connect(&mut agg, 1, "a", 7, t0);
        send(&mut agg, 1, sample(1, 1.0, &["/", "/boot"]), t0);
        send(&mut agg, 1, sample(2, 1.0, &["/", "/efi"]), t0);
        assert_eq!(get(&mut agg, BOOT), None);
        assert!(agg.render().contains(r#"mountpoint="/efi""#));
    }

    #[test]
    fn rejections_are_counted_by_reason() {
        let mut agg = aggregator();
        agg.handle(
            Event::Rejected {
                reason: codes::BAD_JSON,
            },
            Instant::now(),
        );
        agg.handle(
            Event::Rejected {
                reason: codes::BAD_JSON,
            },
            Instant::now(),
        );
        assert_eq!(
            get(
                &mut agg,
                r#"vitals_server_frames_rejected_total{reason="bad_json"}"#
            ),
            Some(2.0)
        );
        assert_eq!(
            get(
                &mut agg,
                r#"vitals_server_frames_rejected_total{reason="too_deep"}"#
            ),
            Some(0.0)
        );
    }
}
