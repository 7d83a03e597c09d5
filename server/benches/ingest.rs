//! The server's own work per sample, without sockets or threads: a session reads the line
//! (decoded in place), the aggregator merges it and publishes the agent's new view, the session
//! writes the ack. 10,000 agents (`AGENTS`) send the load generator's sample, 40 rounds
//! (`ROUNDS`); prints the fastest and the median round's time per sample, which vary less than a
//! whole server's CPU on a shared machine, to compare changes to the decoder or the aggregator:
//! `cargo bench -p server --bench ingest`. It runs protocol v1 (whole samples) and v2 (a
//! declaration, then values) one after the other, and prints the time per sample and per
//! series of each. Then the time to render a scrape of those agents, and their status page.

mod common;

use std::time::{Duration, Instant};

use agent_core::catalogue::Series;
use agent_core::sample::{Sample, bounded};
use agent_core::wire::{self, Hello, Message, SampleMessage, ValuesHeader, ValuesWriter};
use common::env_or;
use crossbeam_channel::Receiver;
use server::aggregator::{Aggregator, Config};
use server::io::session::{Context, Limits, Session};
use server::shared::{Batch, Decoded, Replier, Reply, Waker};
use server::status::{Fleet, api, history, page};

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

/// `agents` agents sending `rounds` samples each in `protocol` (in v2 with `same`, each line
/// but the first leaving out what it shares with the one before, as `vitals-agent` sends to a
/// server that reads them); prints the time per sample and per series, and returns the server
/// and the best time per series.
fn run(protocol: u32, same: bool, agents: u64, rounds: u64) -> (Server, f64) {
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
    let mut sample = server::synthetic::sample();
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
        let n = wire::encode_versioned(protocol, &hello, &mut buf).unwrap();
        server.feed(i, &mut session, &buf[..n], now);
        if protocol == wire::PROTOCOL_V2 {
            let n = wire::encode_declare(1, &mut |out| sample.series(out), &mut buf).unwrap();
            server.feed(i, &mut session, &buf[..n], now);
        }
        sessions.push(session);
    }
    let series = series_of(&sample);
    let mut per_sample = Vec::new();
    let mut line_bytes = 0;
    let (mut previous, mut shorter) = (Vec::new(), vec![0u8; wire::MAX_LINE + 1]);
    for round in 1..=rounds {
        server::synthetic::advance(&mut sample, round);
        let n = if protocol == wire::PROTOCOL_V2 {
            let header = ValuesHeader {
                seq: round,
                dropped: 0,
                g: 1,
                t: sample.time_ms,
            };
            let mut values = ValuesWriter::new(&header, &mut buf);
            sample.series(&mut values);
            values.finish().unwrap()
        } else {
            let message = Message::Sample(SampleMessage {
                seq: round,
                dropped: 0,
                sample: sample.clone(),
            });
            wire::encode(&message, &mut buf).unwrap()
        };
        let mut line = &buf[..n];
        if same && !previous.is_empty() {
            if let Some(m) = wire::delta(&previous, line, &mut shorter) {
                line = &shorter[..m];
            }
        }
        line_bytes = line.len();
        let lines = vec![line.to_vec(); sessions.len()];
        previous = buf[..n].to_vec();
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
    let (best, median) = (per_sample[0], per_sample[per_sample.len() / 2]);
    let how = if same {
        " leaving out what did not change"
    } else {
        ""
    };
    println!(
        "v{protocol}{how}: {agents} agents, {rounds} rounds, {series} series and {line_bytes} B \
         a sample: {:.2} µs a sample at best, {:.2} µs median; {:.1} ns a series at best",
        best * 1e6,
        median * 1e6,
        best * 1e9 / series as f64
    );
    (server, best / series as f64)
}

/// How many series a sample hands out.
fn series_of(sample: &Sample) -> usize {
    struct Count(usize);
    impl Series for Count {
        fn add(&mut self, _family: u16, _labels: &[&str], _value: f64) {
            self.0 += 1;
        }
    }
    let mut count = Count(0);
    sample.series(&mut count);
    count.0
}

fn main() {
    let agents = env_or("AGENTS", 10_000);
    let rounds = env_or("ROUNDS", 40).max(3);
    let mut server = None;
    let mut per_series = [f64::NAN; 3];
    for (i, (protocol, same)) in [
        (wire::PROTOCOL_VERSION, false),
        (wire::PROTOCOL_V2, false),
        (wire::PROTOCOL_V2, true),
    ]
    .into_iter()
    .enumerate()
    {
        let (ran, best) = run(protocol, same, agents, rounds);
        per_series[i] = best;
        server = Some(ran);
    }
    println!(
        "v2 against v1, per series at best: {:.0}% whole, {:.0}% leaving out what did not change",
        100.0 * per_series[1] / per_series[0],
        100.0 * per_series[2] / per_series[0]
    );
    let Some(server) = server else { return };
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
    status_pages(&published, agents);
}

/// The status page (`/`) and its JSON (`/api/v1/agents`) of these agents, as the HTTP thread
/// makes them: every agent's row read from its view, sorted, and written.
fn status_pages(published: &server::exposition::Published, agents: u64) {
    let view = page::View::default();
    for (what, make) in [
        (
            "the status page, /",
            (|fleet: &Fleet, view: &page::View| page::fleet(fleet, view))
                as fn(&Fleet, &page::View) -> String,
        ),
        ("its JSON, /api/v1/agents", |fleet, view| {
            api::fleet(fleet, &view.apply(&fleet.rows))
        }),
    ] {
        let mut times: Vec<(f64, usize)> = (0..5)
            .map(|_| {
                let started = Instant::now();
                let fleet = Fleet::read(published);
                let body = make(&fleet, &view);
                (started.elapsed().as_secs_f64(), body.len())
            })
            .collect();
        times.sort_by(|a, b| a.0.total_cmp(&b.0));
        println!(
            "{what} of {agents} agents: {:.0} ms at best, {:.0} ms median ({:.1} MB)",
            times[0].0 * 1e3,
            times[times.len() / 2].0 * 1e3,
            times[0].1 as f64 / 1e6
        );
    }
    // The `status` thread's pass, a point of every agent for the charts, every 5 s.
    let slots = published.agents.read().unwrap().clone();
    let mut passes: Vec<f64> = (0..5)
        .map(|round| {
            let started = Instant::now();
            for slot in slots.iter() {
                history::record(slot, 1e9 + f64::from(round) * 5.0);
            }
            started.elapsed().as_secs_f64()
        })
        .collect();
    passes.sort_by(f64::total_cmp);
    let every = history::EVERY.as_secs_f64();
    println!(
        "the status thread's pass over {agents} agents: {:.1} ms at best, {:.1} ms median \
         ({:.2}% of a core at one pass every {every} s)",
        passes[0] * 1e3,
        passes[passes.len() / 2] * 1e3,
        100.0 * passes[passes.len() / 2] / every
    );
}
