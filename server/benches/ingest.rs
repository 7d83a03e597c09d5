//! The server's own work per sample, without sockets or threads: a session reads the line
//! (decoded in place), the aggregator merges it and publishes the agent's new view, the session
//! writes the ack. 10,000 agents (`AGENTS`) send the load generator's sample, 40 rounds
//! (`ROUNDS`); prints the fastest and the median round's time per sample, which vary less than a
//! whole server's CPU on a shared machine, to compare changes to the decoder or the aggregator:
//! `cargo bench -p server --bench ingest`.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agent_core::sample::{Cpu, Disk, Filesystem, Interface, Memory, Pressure, Sample, bounded};
use agent_core::wire::{self, Hello, Message, SampleMessage};
use common::env_or;
use crossbeam_channel::{Receiver, Sender};
use server::aggregator::{Aggregator, Config, Reply};
use server::connection::{Replier, Waker};
use server::session::{Context, Limits, Session};

/// What a 4-CPU machine with a few disks and interfaces sends (as `vitals-loadgen`'s sample).
fn base_sample() -> Sample {
    let mut s = Sample {
        boot_time: 1_700_000_000,
        load1: 0.42,
        load5: 0.37,
        load15: 0.31,
        ..Sample::default()
    };
    for cpu in 0..4 {
        let _ = s.cpus.push(Cpu {
            cpu,
            user: 12345.67,
            nice: 12.5,
            system: 2345.5,
            idle: 987654.32,
            iowait: 123.45,
            irq: 0.0,
            softirq: 45.67,
            steal: 1.5,
        });
    }
    s.memory = Memory {
        total: 8_254_038_016,
        free: 1_234_567_168,
        available: 5_234_567_168,
        buffers: 234_567_680,
        cached: 3_234_567_168,
        swap_total: 2_147_479_552,
        swap_free: 2_047_479_552,
    };
    for (device, mountpoint, fstype) in [
        ("/dev/sda1", "/", "ext4"),
        ("/dev/sda2", "/home", "ext4"),
        ("tmpfs", "/run", "tmpfs"),
    ] {
        let _ = s.filesystems.push(Filesystem {
            device: bounded(device),
            fstype: bounded(fstype),
            mountpoint: bounded(mountpoint),
            size: 250_000_000_000,
            free: 120_000_000_000,
            avail: 110_000_000_000,
            files: 15_000_000,
            files_free: 14_000_000,
            readonly: false,
        });
    }
    for device in ["lo", "eth0", "wlan0"] {
        let _ = s.interfaces.push(Interface {
            device: bounded(device),
            up: device != "lo",
            rx_bytes: 123_456_789_012,
            rx_packets: 123_456_789,
            tx_bytes: 23_456_789_012,
            tx_packets: 23_456_789,
            ..Interface::default()
        });
    }
    for device in ["sda", "nvme0n1"] {
        let _ = s.disks.push(Disk {
            device: bounded(device),
            reads_completed: 1_234_567,
            read_bytes: 45_678_901_234,
            read_time: 1234.5,
            writes_completed: 2_345_678,
            written_bytes: 56_789_012_345,
            write_time: 2345.5,
            io_time: 3456.5,
            io_time_weighted: 4567.5,
            ..Disk::default()
        });
    }
    s.pressure = Some(Pressure {
        cpu_waiting: 12.5,
        io_waiting: 23.5,
        io_stalled: 11.5,
        ..Pressure::default()
    });
    s.context_switches = 9_876_543_210;
    s.forks = 1_234_567;
    s.procs_running = 3;
    s
}

/// The server around the sessions, without its threads: the aggregator, and the way back.
struct Server {
    aggregator: Aggregator,
    reply_tx: Sender<(u64, Reply)>,
    replies: Receiver<(u64, Reply)>,
    waker: Arc<Waker>,
    plain: Vec<u8>,
    sample: Box<SampleMessage<Sample>>,
}

impl Server {
    /// What an I/O thread and the aggregator do with bytes from connection `conn`.
    fn feed(&mut self, conn: u64, session: &mut Session, bytes: &[u8], now: Instant) {
        let mut requests = Vec::new();
        let mut random = |_: &mut [u8]| true;
        let mut ctx = Context {
            keys: None,
            random: &mut random,
            plain: &mut self.plain,
            sample: &mut self.sample,
        };
        session.receive(bytes, now, &mut ctx, &mut requests);
        for request in requests {
            let event = request.into_event(conn, || {
                Replier::new(conn, self.reply_tx.clone(), self.waker.clone())
            });
            self.aggregator.handle(event, now);
        }
        while let Ok((_, reply)) = self.replies.try_recv() {
            session.answer(reply, now, &mut Vec::new());
        }
        session.out.clear();
    }
}

fn main() {
    let agents = env_or("AGENTS", 10_000);
    let rounds = env_or("ROUNDS", 40).max(3);
    let now = Instant::now();
    let (reply_tx, replies) = crossbeam_channel::unbounded();
    let mut server = Server {
        aggregator: Aggregator::new(Config {
            min_interval: Duration::ZERO,
            ..Config::default()
        }),
        reply_tx,
        replies,
        waker: Waker::none(),
        plain: Vec::new(),
        sample: Box::default(),
    };
    let mut buf = vec![0u8; wire::MAX_LINE + 1];
    let mut sessions = Vec::new();
    for i in 0..agents {
        let mut session = Session::new("127.0.0.1:1".parse().unwrap(), Limits::default(), now);
        let hello = Message::<Sample>::Hello(Hello {
            id: bounded(&format!("load-{i}")),
            version: bounded("0.1.0"),
            os: bounded("Linux"),
            arch: bounded("x86_64"),
            hostname: bounded("h"),
            interval_ms: 1000,
            session: 7,
            ..Hello::default()
        });
        let n = wire::encode(&hello, &mut buf).unwrap();
        server.feed(i, &mut session, &buf[..n], now);
        sessions.push(session);
    }
    let mut sample = base_sample();
    let mut per_sample = Vec::new();
    for round in 1..=rounds {
        sample.time_ms = 1_700_000_000_000 + round * 1000;
        for cpu in &mut sample.cpus {
            cpu.user += 0.3;
            cpu.idle += 0.6;
        }
        let message = Message::Sample(SampleMessage {
            seq: round,
            dropped: 0,
            sample: sample.clone(),
        });
        let n = wire::encode(&message, &mut buf).unwrap();
        let lines = vec![buf[..n].to_vec(); sessions.len()];
        let started = Instant::now();
        for ((conn, session), line) in (0..).zip(&mut sessions).zip(&lines) {
            server.feed(conn, session, line, now);
        }
        // The first rounds make every agent's layout.
        if round > 2 {
            per_sample.push(started.elapsed().as_secs_f64() / agents as f64);
        }
    }
    per_sample.sort_by(f64::total_cmp);
    println!(
        "{agents} agents, {rounds} rounds: {:.2} µs a sample at best, {:.2} µs median",
        per_sample[0] * 1e6,
        per_sample[per_sample.len() / 2] * 1e6
    );
}
