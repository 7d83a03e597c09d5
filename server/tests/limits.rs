//! What a hello may hold, against the real server on loopback: a connection, an id, a place of
//! `--max-agents`, series of `--max-series`. Each found held for hours or days by a few lines.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use agent_core::sample::{Cpu, Sample, bounded};
use agent_core::wire::{self, Hello, Message, SampleMessage};
use common::{Server, promtool_complaints, value, wait_for};

fn line(message: &Message) -> String {
    let mut buf = vec![0u8; wire::MAX_LINE + 1];
    let n = wire::encode(message, &mut buf).unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

fn hello(id: &str, interval_ms: u32) -> String {
    line(&Message::Hello(Hello {
        id: bounded(id),
        version: bounded("0"),
        os: bounded("Linux"),
        arch: bounded("x"),
        hostname: bounded("h"),
        interval_ms,
        session: 1,
        ..Hello::default()
    }))
}

/// A sample of `cpus` CPUs.
fn sample(seq: u64, cpus: u16) -> String {
    let mut sample = Sample::default();
    for cpu in 0..cpus {
        sample
            .cpus
            .push(Cpu {
                cpu,
                user: 1.0,
                ..Cpu::default()
            })
            .unwrap();
    }
    line(&Message::Sample(SampleMessage {
        seq,
        dropped: 0,
        sample,
    }))
}

/// A connection that says `lines` and reads the answers, a line at a time.
struct Conn {
    stream: TcpStream,
    answers: BufReader<TcpStream>,
}

impl Conn {
    fn open(server: SocketAddr, lines: &[&str]) -> Conn {
        let mut stream = TcpStream::connect(server).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        for l in lines {
            stream.write_all(l.as_bytes()).unwrap();
        }
        let answers = BufReader::new(stream.try_clone().unwrap());
        Conn { stream, answers }
    }

    /// The next line from the server ("" once it closed).
    fn answer(&mut self) -> String {
        let mut line = String::new();
        let _ = self.answers.read_line(&mut line);
        line
    }
}

fn refused(answer: &str, code: &str) -> bool {
    answer.contains(&format!("\"kind\":\"error\",\"code\":\"{code}\""))
}

fn rejected(server: &Server, reason: &str) -> f64 {
    value(
        &server.metrics(),
        "vitals_server_frames_rejected_total",
        &[("reason", reason)],
    )
    .unwrap_or(0.0)
}

/// A hello declaring 4294967295 ms held its connection and id for months, and kept the stale
/// values of an absent agent whose id it took.
#[test]
fn a_hello_that_declares_a_long_interval_neither_holds_on_nor_keeps_stale_values() {
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &["--min-interval", "0ms"]);
    let mut huge = Conn::open(server.agents, &[&hello("absent", u32::MAX)]);
    assert!(refused(&huge.answer(), "invalid_value"));

    // An agent samples once a second, and goes.
    let mut gone = Conn::open(server.agents, &[&hello("absent", 1000), &sample(1, 1)]);
    assert!(gone.answer().contains("welcome"));
    assert!(gone.answer().contains("\"seq\":1"));
    let left = Instant::now();
    drop(gone);
    let of_absent = [("instance", "absent")];
    wait_for("the agent gone", Duration::from_secs(10), || {
        (value(&server.metrics(), "vitals_agent_up", &of_absent) == Some(0.0)).then_some(())
    });
    // Its id is taken by a hello declaring an hour, and nothing more.
    let mut squatter = Conn::open(server.agents, &[&hello("absent", 3_600_000)]);
    assert!(squatter.answer().contains("welcome"));
    // The values the agent sent expire as its own hello said (3 s, at least 5 s), not as the
    // squatter's (3 hours).
    wait_for("the stale values gone", Duration::from_secs(15), || {
        let m = server.metrics();
        (value(&m, "node_load1", &of_absent).is_none()).then_some(())
    });
    assert!(
        left.elapsed() < Duration::from_secs(12),
        "{:?}",
        left.elapsed()
    );
    squatter.stream.set_nonblocking(true).unwrap();
    assert!(
        squatter.stream.read(&mut [0u8; 64]).is_err(),
        "the squatter is still connected"
    );
}

/// A welcomed connection's first sample is due within an interval (and 10 s) of its hello,
/// whatever `--idle-intervals` allows between samples.
#[test]
fn a_hello_without_a_sample_is_closed_within_an_interval() {
    let server = Server::start(
        "127.0.0.1:0",
        "127.0.0.1:0",
        &["--idle-intervals", "100", "--min-interval", "0ms"],
    );
    let started = Instant::now();
    let mut silent = Conn::open(server.agents, &[&hello("silent", 1000)]);
    assert!(silent.answer().contains("welcome"));
    let refusal = silent.answer();
    assert!(refused(&refusal, "idle_timeout"), "{refusal}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(20),
        "closed after {waited:?}"
    );
}

/// 20,000 bare hellos held every place of `--max-agents` for 24 hours.
#[test]
fn bare_hellos_do_not_hold_places_of_max_agents() {
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &["--max-agents", "3"]);
    for i in 0..20 {
        let mut bare = Conn::open(server.agents, &[&hello(&format!("bare-{i}"), 1000)]);
        let answer = bare.answer();
        assert!(answer.contains("welcome"), "bare-{i}: {answer}");
        drop(bare);
        // Forgotten within a tick of the aggregator (500 ms) of its connection going.
        wait_for("the bare hello forgotten", Duration::from_secs(5), || {
            let m = server.metrics();
            (!m.contains(&format!("instance=\"bare-{i}\""))).then_some(())
        });
    }
    let mut real = Conn::open(server.agents, &[&hello("real", 1000), &sample(1, 1)]);
    assert!(real.answer().contains("welcome"));
    assert!(real.answer().contains("\"seq\":1"));
    let m = server.metrics();
    assert!(value(&m, "node_load1", &[("instance", "real")]).is_some());
    assert_eq!(rejected(&server, "too_many_agents"), 0.0);
}

/// The series' count per agent of a sample of `cpus` CPUs, from a scrape.
fn series_of(metrics: &str, id: &str) -> usize {
    let label = format!("instance=\"{id}\"");
    metrics
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains(&label))
        .count()
}

/// The only bound on series was `--max-agents` times a sample's bounds: 20 M series.
#[test]
#[ignore = "needs promtool (Debian's prometheus): make test runs it"]
fn past_max_series_a_hello_or_a_sample_is_refused_and_counted() {
    // A 2-CPU sample's series (from a server without the bound), and room for one and a bit.
    let per_agent = {
        let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
        let mut a = Conn::open(server.agents, &[&hello("a", 1000), &sample(1, 2)]);
        assert!(a.answer().contains("welcome"));
        assert!(a.answer().contains("\"seq\":1"));
        series_of(&server.metrics(), "a")
    };
    let max = (per_agent + 3).to_string();
    let server = Server::start(
        "127.0.0.1:0",
        "127.0.0.1:0",
        &["--max-series", &max, "--min-interval", "0ms"],
    );
    let mut a = Conn::open(server.agents, &[&hello("a", 1000), &sample(1, 2)]);
    assert!(a.answer().contains("welcome"));
    assert!(a.answer().contains("\"seq\":1"));
    // `b`'s hello fits (its `up` and `last_seen`), its sample would not.
    let mut b = Conn::open(server.agents, &[&hello("b", 1000), &sample(1, 2)]);
    assert!(b.answer().contains("welcome"));
    let answer = b.answer();
    assert!(refused(&answer, "too_many_series"), "{answer}");
    // `c`'s hello would not.
    let mut c = Conn::open(server.agents, &[&hello("c", 1000)]);
    let answer = c.answer();
    assert!(refused(&answer, "too_many_series"), "{answer}");
    let m = server.metrics();
    let held = value(&m, "vitals_server_series", &[]).unwrap();
    assert_eq!(held as usize, series_of(&m, "a") + series_of(&m, "b"));
    assert!(held as usize <= per_agent + 3);
    assert!(value(&m, "node_load1", &[("instance", "a")]).is_some());
    assert_eq!(rejected(&server, "too_many_series"), 2.0);
    let complaints = promtool_complaints(&m);
    assert!(complaints.is_empty(), "{complaints:#?}");
}
