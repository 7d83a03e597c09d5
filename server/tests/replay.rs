//! Samples sent again after a server crash, from a scripted agent (raw lines over TCP) against
//! the real server, scraped back to back: an exposed value never turns back to an older one.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use agent_core::sample::{Cpu, Sample, bounded};
use agent_core::wire::{self, Hello, Message, SampleMessage};
use common::{Server, http_get, value, wait_for};

/// The series the scripted agent moves; its value is the sample's `user` seconds.
const SERIES: &str = "node_cpu_seconds_total";

/// An agent as a test script: it says hello and sends samples, one line at a time.
struct Script {
    stream: TcpStream,
    answers: BufReader<TcpStream>,
}

impl Script {
    /// Connects to `server` and says hello for `id`'s session `session`, having sent up to
    /// `last_sent` before (`None`: a hello without the field, as a version 1 agent writes it).
    fn hello(server: SocketAddr, id: &str, session: u64, last_sent: Option<u64>) -> Script {
        let stream = TcpStream::connect(server).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let answers = BufReader::new(stream.try_clone().unwrap());
        let mut script = Script { stream, answers };
        let line = line(&Message::Hello(Hello {
            id: bounded(id),
            version: bounded("0"),
            os: bounded("Linux"),
            arch: bounded("x"),
            hostname: bounded("h"),
            interval_ms: 1000,
            session,
            last_sent: last_sent.unwrap_or(0),
            ..Hello::default()
        }));
        assert_eq!(last_sent.is_some(), line.contains("last_sent"));
        script.stream.write_all(line.as_bytes()).unwrap();
        let welcome = script.answer();
        assert!(welcome.contains("\"kind\":\"welcome\""), "{welcome}");
        script
    }

    /// Sends sample `seq` whose CPU 0 has spent `user` seconds, and waits for its ack.
    fn sample(&mut self, seq: u64, user: f64) {
        let mut sample = Sample::default();
        sample
            .cpus
            .push(Cpu {
                cpu: 0,
                user,
                ..Cpu::default()
            })
            .unwrap();
        let line = line(&Message::Sample(SampleMessage {
            seq,
            dropped: 0,
            sample,
        }));
        self.stream.write_all(line.as_bytes()).unwrap();
        let ack = self.answer();
        assert!(ack.contains(&format!("\"seq\":{seq}}}")), "{ack}");
    }

    fn answer(&mut self) -> String {
        let mut line = String::new();
        self.answers.read_line(&mut line).unwrap();
        line
    }
}

fn line(message: &Message) -> String {
    let mut buf = vec![0u8; wire::MAX_LINE + 1];
    let n = wire::encode(message, &mut buf).unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// Scrapes whichever server `target` names, back to back, and keeps every value of the
/// agent's CPU 0 `user` seconds that a scrape showed.
struct Scraper {
    target: Arc<Mutex<SocketAddr>>,
    seen: Arc<Mutex<Vec<f64>>>,
    /// Scrapes answered, whether they showed the series or not.
    scrapes: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Scraper {
    fn start(http: SocketAddr, agent: &'static str) -> Scraper {
        let target = Arc::new(Mutex::new(http));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let scrapes = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (target, seen, stop) = (target.clone(), seen.clone(), stop.clone());
            let scrapes = scrapes.clone();
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let http = *target.lock().unwrap();
                    let Some((200, body)) = http_get(http, "/metrics") else {
                        continue;
                    };
                    let labels = [("instance", agent), ("cpu", "0"), ("mode", "user")];
                    if let Some(v) = value(&body, SERIES, &labels) {
                        seen.lock().unwrap().push(v);
                    }
                    scrapes.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        Scraper {
            target,
            seen,
            scrapes,
            stop,
            thread: Some(thread),
        }
    }

    /// Lets a few more scrapes happen, so that what is exposed now is seen.
    fn settle(&self) {
        let at = self.scrapes.load(Ordering::Relaxed);
        wait_for("two more scrapes", Duration::from_secs(10), || {
            (self.scrapes.load(Ordering::Relaxed) >= at + 2).then_some(())
        });
    }

    /// Stops and returns every value seen, in order.
    fn finish(mut self) -> Vec<f64> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.seen.lock().unwrap().clone()
    }
}

/// Fails on the first value lower than one seen before it.
fn assert_never_back(seen: &[f64]) {
    let mut highest = f64::MIN;
    for (i, &v) in seen.iter().enumerate() {
        assert!(
            v >= highest,
            "scrape {i} saw {v} after {highest}: {:?}",
            &seen[i.saturating_sub(5)..(i + 5).min(seen.len())]
        );
        highest = v;
    }
}

#[test]
fn a_replay_after_a_server_crash_never_turns_an_exposed_value_back() {
    let mut first = Server::start("127.0.0.1:0", "127.0.0.1:0", &["--min-interval", "0ms"]);
    let scraper = Scraper::start(first.http, "replay");
    let mut agent = Script::hello(first.agents, "replay", 7, None);
    for seq in 1..=10 {
        agent.sample(seq, 100.0 + seq as f64);
        scraper.settle();
    }
    assert_eq!(scraper.finish().last(), Some(&110.0));
    // The server dies exposing 110; the agent holds 6..=10 as unacknowledged (say), and comes
    // to the next server with them, oldest first, then samples on.
    let scraper = Scraper::start(first.http, "replay");
    first.proc.kill();
    drop(agent);
    let second = Server::start("127.0.0.1:0", "127.0.0.1:0", &["--min-interval", "0ms"]);
    *scraper.target.lock().unwrap() = second.http;
    let mut agent = Script::hello(second.agents, "replay", 7, Some(10));
    for seq in 6..=9 {
        // Older values, lower than the exposed 110 and going down, which must not be shown.
        agent.sample(seq, 120.0 - seq as f64);
        scraper.settle();
        let m = second.metrics();
        assert_eq!(
            value(&m, "vitals_agent_up", &[("instance", "replay")]),
            Some(1.0)
        );
        assert_eq!(
            value(&m, SERIES, &[("instance", "replay")]),
            None,
            "seq {seq}"
        );
    }
    for seq in 10..=14 {
        agent.sample(seq, 100.0 + seq as f64);
        scraper.settle();
    }
    // The samples sent again are merged: counted, and a baseline for gaps.
    let m = second.metrics();
    let of_replay = [("instance", "replay")];
    assert_eq!(
        value(&m, "vitals_agent_samples_total", &of_replay),
        Some(9.0)
    );
    assert_eq!(
        value(&m, "vitals_agent_sequence_gaps_total", &of_replay),
        Some(0.0)
    );
    drop(agent);

    // On the same server, an earlier view stays while the agent, back from another server
    // that exposed up to 20, sends 15..=19 again.
    wait_for("the agent gone", Duration::from_secs(10), || {
        let m = second.metrics();
        (value(&m, "vitals_agent_up", &of_replay) == Some(0.0)).then_some(())
    });
    let mut agent = Script::hello(second.agents, "replay", 7, Some(20));
    for seq in 15..=19 {
        agent.sample(seq, 90.0 - seq as f64);
        scraper.settle();
        assert_eq!(
            value(&second.metrics(), SERIES, &of_replay),
            Some(114.0),
            "seq {seq}"
        );
    }
    for seq in 20..=22 {
        agent.sample(seq, 100.0 + seq as f64);
        scraper.settle();
    }
    let seen = scraper.finish();
    assert_eq!(seen.last(), Some(&122.0));
    assert!(
        seen.len() >= 20,
        "only {} scrapes showed the series",
        seen.len()
    );
    assert_never_back(&seen);
}

#[test]
fn a_hello_without_last_sent_shows_each_new_sample_at_once() {
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &["--min-interval", "0ms"]);
    let mut agent = Script::hello(server.agents, "v1", 3, None);
    for (seq, user) in [(41, 50.0), (42, 40.0)] {
        agent.sample(seq, user);
        assert_eq!(
            value(
                &server.metrics(),
                SERIES,
                &[("instance", "v1"), ("mode", "user")]
            ),
            Some(user)
        );
    }
}

/// One scrape's series that only go up, with their values.
type Scrape = Vec<(String, f64)>;

/// Every series of `agent` in `metrics` that only goes up: counters, and the agent's clock.
fn rising_series(metrics: &str, agent: &str) -> Scrape {
    let label = format!("instance=\"{agent}\"");
    metrics
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains(&label))
        .filter(|l| {
            l.starts_with("node_") && (l.contains("_total{") || l.starts_with("node_time_seconds{"))
        })
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// The `seq` of a sample or ack line, if it is one.
fn seq_of(line: &[u8], kind: &str) -> Option<u64> {
    let line = std::str::from_utf8(line).ok()?;
    if !line.contains(&format!("\"kind\":\"{kind}\"")) {
        return None;
    }
    let rest = line.split("\"seq\":").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// What crossed a [`slow_link`]: the newest sample sent to a server, and the newest ack back.
#[derive(Debug, Default)]
struct Crossed {
    sample: AtomicUsize,
    ack: AtomicUsize,
}

/// A slow link between agents and `server`: each line from an agent goes on `pause` after the
/// one before it, as on a board's mobile link, so that a replay takes long enough for scrapes
/// to see each of its samples. Answers come back as they are.
fn slow_link(server: SocketAddr, pause: Duration) -> (SocketAddr, Arc<Crossed>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let crossed = Arc::new(Crossed::default());
    let seen = crossed.clone();
    thread::spawn(move || {
        for agent in listener.incoming() {
            let Ok(agent) = agent else { continue };
            let Ok(upstream) = TcpStream::connect(server) else {
                continue;
            };
            let (down, mut back) = (upstream.try_clone().unwrap(), agent.try_clone().unwrap());
            let acks = seen.clone();
            thread::spawn(move || {
                for line in BufReader::new(down).split(b'\n') {
                    let Ok(mut line) = line else { break };
                    if let Some(seq) = seq_of(&line, "ack") {
                        acks.ack
                            .store(usize::try_from(seq).unwrap(), Ordering::Relaxed);
                    }
                    line.push(b'\n');
                    if back.write_all(&line).is_err() {
                        break;
                    }
                }
                let _ = back.shutdown(std::net::Shutdown::Both);
            });
            let (mut to_server, samples) = (upstream, seen.clone());
            thread::spawn(move || {
                for line in BufReader::new(agent).split(b'\n') {
                    let Ok(mut line) = line else { break };
                    let seq = common::sample_of(&line).map(|s| s.0);
                    line.push(b'\n');
                    if to_server.write_all(&line).is_err() {
                        break;
                    }
                    if let Some(seq) = seq {
                        samples
                            .sample
                            .store(usize::try_from(seq).unwrap(), Ordering::Relaxed);
                    }
                    thread::sleep(pause);
                }
                let _ = to_server.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    (addr, crossed)
}

/// The issue's own case, with the real agent: `kill -9` of the server mid-stream and a restart
/// on the same ports, while a scraper reads `/metrics` back to back. The agent sends again what
/// the dead server merged without acknowledging; none of it may turn a counter back (a scraper
/// saw `node_cpu_seconds_total` go 558.55 -> 558.39 before).
#[test]
fn the_real_agent_through_a_server_kill_never_turns_a_counter_back() {
    let mut first = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let (agents, http) = (first.agents, first.http);
    // A fast agent, so that many samples are merged and not yet acknowledged at the kill (the
    // server acknowledges one in up to 32).
    let (link, crossed) = slow_link(agents, Duration::from_millis(20));
    let _agent = common::agent("crash", &[link], "100ms");
    let seen: Arc<Mutex<Vec<Scrape>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let scraper = {
        let (seen, stop) = (seen.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some((200, body)) = http_get(http, "/metrics") {
                    let series = rising_series(&body, "crash");
                    if !series.is_empty() {
                        seen.lock().unwrap().push(series);
                    }
                }
            }
        })
    };
    let scrapes = || seen.lock().unwrap().len();
    // Killed while it has merged many samples it has not acknowledged yet, which the agent
    // will send again to the next server.
    wait_for(
        "samples merged past the last ack",
        Duration::from_secs(30),
        || {
            let (sent, acked) = (
                crossed.sample.load(Ordering::Relaxed),
                crossed.ack.load(Ordering::Relaxed),
            );
            (scrapes() >= 30 && acked > 0 && sent >= acked + 15).then_some(())
        },
    );
    first.proc.kill();
    let before = scrapes();
    let second = Server::start(&agents.to_string(), &http.to_string(), &[]);
    wait_for(
        "the agent back, sampling on",
        Duration::from_secs(20),
        || {
            let m = second.metrics();
            value(&m, "vitals_agent_samples_total", &[("instance", "crash")])
                .filter(|n| *n >= 40.0)
                .and(Some(()))
        },
    );
    wait_for("scrapes after the restart", Duration::from_secs(20), || {
        (scrapes() >= before + 30).then_some(())
    });
    stop.store(true, Ordering::Relaxed);
    scraper.join().unwrap();
    let seen = seen.lock().unwrap();
    let mut highest: std::collections::HashMap<&str, f64> = std::collections::HashMap::new();
    let mut checked = 0;
    for (i, scrape) in seen.iter().enumerate() {
        for (series, value) in scrape {
            let top = highest.entry(series.as_str()).or_insert(f64::MIN);
            assert!(
                *value >= *top,
                "scrape {i} of {}: {series} went from {top} to {value} (the kill was after scrape {before})",
                seen.len()
            );
            *top = *value;
            checked += 1;
        }
    }
    assert!(checked > 1000, "only {checked} values checked");
}
