//! The aggregator's tests, one file per piece of it, with the helpers they share here.

mod connect;
mod custom;
mod expiry;
mod health;
mod merge;
mod publish;
mod remote;
mod same;
mod takeover;

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
            protocol: 1,
            peer: PEER,
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

/// Where the tests' agents connect from.
const PEER: std::net::SocketAddr = std::net::SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::LOCALHOST,
    1,
));

const USER: &str = r#"node_cpu_seconds_total{instance="a",cpu="0",mode="user"}"#;
const ROOT: &str =
    r#"node_filesystem_size_bytes{instance="a",device="/dev/sda1",fstype="ext4",mountpoint="/"}"#;
const BOOT: &str = r#"node_filesystem_size_bytes{instance="a",device="/dev/sda1",fstype="ext4",mountpoint="/boot"}"#;

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
                protocol: 1,
                peer: PEER,
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
            protocol: 1,
            peer: PEER,
        },
    )
}

/// The series of `id` in `agg`'s exposition.
fn series_of(agg: &mut Aggregator, id: &str) -> usize {
    let label = format!("instance=\"{id}\"");
    agg.render()
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains(&label))
        .count()
}
