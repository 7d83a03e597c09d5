//! The server's own work per sample, without sockets or threads: a session reads the line
//! (decoded in place), the aggregator merges it and publishes the agent's new view, the session
//! writes the ack. 10,000 agents (`AGENTS`) send the load generator's sample, 40 rounds
//! (`ROUNDS`); prints the fastest and the median round's time per sample, which vary less than a
//! whole server's CPU on a shared machine, to compare changes to the decoder or the aggregator:
//! `cargo bench -p server --bench ingest`. Then the time to render a scrape of those agents.

mod common;

use std::time::{Duration, Instant};

use agent_core::sample::{Sample, bounded};
use agent_core::wire::{self, Hello, Message, SampleMessage};
use common::env_or;
use crossbeam_channel::Receiver;
use server::aggregator::{Aggregator, Config};
use server::io::session::{Context, Limits, Session};
use server::shared::{Batch, Decoded, Replier, Reply, Waker};

/// The server around the sessions, without its threads: the aggregator, and the way back.
struct Server {
    aggregator: Aggregator,
    replier: Replier,
    replies: Receiver<Vec<(u64, Reply)>>,
    plain: Vec<u8>,
    sample: Box<SampleMessage<Sample>>,
    spares: Receiver<Box<Decoded>>,
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
            spares: Some(&self.spares),
        };
        session.receive(bytes, now, &mut ctx, &mut requests);
        let batch = Batch {
            events: requests.into_iter().map(|r| r.into_event(conn)).collect(),
            reply: Some(self.replier.clone()),
        };
        self.aggregator.handle_batch(batch, now);
        while let Ok(answers) = self.replies.try_recv() {
            for (_, reply) in answers {
                session.answer(reply, now, &mut Vec::new());
            }
        }
        session.out.clear();
    }
}

fn main() {
    let agents = env_or("AGENTS", 10_000);
    let rounds = env_or("ROUNDS", 40).max(3);
    let now = Instant::now();
    let (reply_tx, replies) = crossbeam_channel::unbounded();
    let (spent, spares) = crossbeam_channel::bounded(256);
    let mut aggregator = Aggregator::new(Config {
        min_interval: Duration::ZERO,
        ..Config::default()
    });
    aggregator.recycle_into(spent);
    let mut server = Server {
        aggregator,
        replier: Replier::new(reply_tx, Waker::none()),
        replies,
        plain: Vec::new(),
        sample: Box::default(),
        spares,
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
    let mut sample = server::synthetic::sample();
    let mut per_sample = Vec::new();
    for round in 1..=rounds {
        server::synthetic::advance(&mut sample, round);
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
    // What a scrape renders from these agents' views, on one thread (gzip and the socket aside).
    let published = server.aggregator.published();
    let mut renders: Vec<(f64, usize)> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let text = published.render();
            (started.elapsed().as_secs_f64(), text.len())
        })
        .collect();
    renders.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (best, bytes) = renders[0];
    let series = published
        .agents
        .read()
        .unwrap()
        .iter()
        .map(|s| s.get().values.len())
        .sum::<usize>();
    println!(
        "render of {agents} agents: {:.0} ms at best, {:.0} ms median ({:.1} MB, {:.0} ns a series)",
        best * 1e3,
        renders[renders.len() / 2].0 * 1e3,
        bytes as f64 / 1e6,
        best * 1e9 / series.max(1) as f64
    );
}
