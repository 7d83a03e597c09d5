//! The real `vitals-agent` against a server scripted in this test to lie, flood, forge and
//! hang up: through all of it the agent stays alive, samples on schedule, drops nothing it was
//! not told truthfully was merged, and comes back no faster than its backoff allows.

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::thread;
use std::time::{Duration, Instant};

use agent_core::wire::{self, Message};
use common::{agent_with_log, wait_for};

/// The agent's interval in this test.
const INTERVAL: Duration = Duration::from_millis(200);

/// One connection from the agent, read line by line with deadlines.
struct Peer {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// Bytes of a line not yet ended.
    partial: Vec<u8>,
}

/// What the agent sent in its samples: sequence number and the agent's clock when taken.
type Seen = Vec<(u64, u64)>;

impl Peer {
    /// The next connection, within `timeout`.
    fn accept(listener: &TcpListener, timeout: Duration) -> Peer {
        let stream = wait_for("the agent to connect", timeout, || {
            match listener.accept() {
                Ok((stream, _)) => Some(stream),
                Err(e) if e.kind() == ErrorKind::WouldBlock => None,
                Err(e) => panic!("accept: {e}"),
            }
        });
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        Peer {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
            partial: Vec::new(),
        }
    }

    /// The next line before `deadline`; `None` when the agent closed the connection or the
    /// deadline passed.
    fn line(&mut self, deadline: Instant) -> Option<String> {
        loop {
            match self.reader.read_until(b'\n', &mut self.partial) {
                Ok(0) => return None,
                Ok(_) if self.partial.ends_with(b"\n") => {
                    let line = String::from_utf8(std::mem::take(&mut self.partial)).unwrap();
                    return Some(line);
                }
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return None,
            }
            if Instant::now() >= deadline {
                return None;
            }
        }
    }

    /// The hello that opens the connection.
    fn hello(&mut self) -> wire::Hello {
        let line = self
            .line(Instant::now() + Duration::from_secs(5))
            .expect("a hello");
        match wire::decode_line::<agent_core::sample::Sample>(line.trim_end().as_bytes()) {
            Ok(Message::Hello(hello)) => hello,
            other => panic!("expected a hello, got {other:?}: {line}"),
        }
    }

    fn send(&mut self, line: &str) {
        self.writer.write_all(line.as_bytes()).unwrap();
        self.writer.write_all(b"\n").unwrap();
    }

    fn welcome(&mut self, last_seq: u64) {
        self.send(&format!(
            r#"{{"v":1,"kind":"welcome","server":"hostile","last_seq":{last_seq}}}"#
        ));
    }

    /// Reads samples into `seen` until `deadline`; returns whether the agent is still
    /// connected then.
    fn samples_until(&mut self, deadline: Instant, seen: &mut Seen) -> bool {
        while let Some(line) = self.line(deadline) {
            match common::sample_of(line.trim_end().as_bytes()) {
                Some(sample) => seen.push(sample),
                None if common::is_declaration(line.as_bytes()) => {}
                None => panic!("expected a sample, got {line}"),
            }
        }
        Instant::now() >= deadline
    }

    /// Reads until the agent hangs up, within `timeout`; panics if it does not.
    fn expect_hang_up(&mut self, timeout: Duration, seen: &mut Seen, why: &str) {
        let deadline = Instant::now() + timeout;
        assert!(
            !self.samples_until(deadline, seen),
            "the agent kept the connection after {why}"
        );
    }
}

/// The log lines the agent wrote so far.
fn log_lines(log: &Receiver<String>) -> Vec<String> {
    log.try_iter().collect()
}

#[test]
fn the_agent_survives_a_lying_flooding_forging_hanging_up_server_and_samples_on_schedule() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap();
    // A ring that holds every sample of the test, so that all of them must reach a server.
    let (mut agent, log) =
        agent_with_log("hostile-test", &[address], "200ms", &["--buffer", "1MiB"]);
    let mut seen: Seen = Vec::new();
    let mut logged = Vec::new();

    // 1. An ack for a sample never sent: the agent hangs up and keeps its samples.
    let mut peer = Peer::accept(&listener, Duration::from_secs(10));
    assert_eq!(peer.hello().last_sent, 0);
    peer.welcome(0);
    peer.samples_until(Instant::now() + Duration::from_secs(1), &mut seen);
    assert!(!seen.is_empty(), "samples flow");
    peer.send(r#"{"v":1,"kind":"ack","seq":1000000000000000000}"#);
    peer.expect_hang_up(Duration::from_secs(5), &mut seen, "an ack of 10^18");
    let sent_first = seen.iter().map(|s| s.0).max().unwrap();

    // 2. A welcome claiming 2^64-1 was merged: refused, and the next hello says how far the
    //    agent had sent.
    let mut peer = Peer::accept(&listener, Duration::from_secs(10));
    assert!(peer.hello().last_sent >= sent_first);
    peer.welcome(u64::MAX);
    peer.expect_hang_up(Duration::from_secs(5), &mut seen, "a welcome of 2^64-1");

    // 3. The truth (nothing merged): every sample comes again from the first, so the lies
    //    dropped none. Then a flood of acks, as fast as the socket takes them.
    let mut peer = Peer::accept(&listener, Duration::from_secs(10));
    peer.hello();
    peer.welcome(0);
    let mut again = Vec::new();
    peer.samples_until(Instant::now() + Duration::from_secs(1), &mut again);
    assert_eq!(again.first().map(|s| s.0), Some(1), "resent from the first");
    seen.extend(&again);
    let stop = Arc::new(AtomicBool::new(false));
    let flood = {
        let mut writer = peer.writer.try_clone().unwrap();
        writer
            .set_write_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let stop = stop.clone();
        thread::spawn(move || {
            let acks = r#"{"v":1,"kind":"ack","seq":1}"#.to_owned() + "\n";
            let block = acks.repeat(1000);
            let (mut bytes, mut at) = (0usize, 0usize);
            while !stop.load(Ordering::Relaxed) {
                // Whole lines: a write may take part of the block, the next goes on from there.
                match writer.write(&block.as_bytes()[at..]) {
                    Ok(n) => {
                        bytes += n;
                        at = (at + n) % block.len();
                    }
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(e) => panic!("the agent hung up during the flood: {e}"),
                }
            }
            // Ends the line it is in, so that the next line the test sends is whole.
            let end = at
                + block.as_bytes()[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .unwrap()
                + 1;
            while at < end {
                match writer.write(&block.as_bytes()[at..end]) {
                    Ok(n) => at += n,
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(e) => panic!("the agent hung up during the flood: {e}"),
                }
            }
            bytes
        })
    };
    let flood_start = seen.iter().map(|s| s.1).max().unwrap();
    let flooded = Duration::from_secs(4);
    let mut during = Vec::new();
    assert!(
        peer.samples_until(Instant::now() + flooded, &mut during),
        "the agent hung up during a flood of valid acks"
    );
    stop.store(true, Ordering::Relaxed);
    let bytes = flood.join().unwrap();
    seen.extend(&during);
    let fresh = during.iter().filter(|s| s.1 > flood_start).count();
    let expected = (flooded.as_millis() / INTERVAL.as_millis()) as usize;
    assert!(
        fresh * 2 >= expected,
        "{fresh} samples taken during {flooded:?} of a flood ({bytes} bytes of acks), \
         {expected} expected"
    );

    // 4. An error whose code would forge a log line and paint the terminal.
    peer.send(r#"{"v":1,"kind":"error","code":"x\nvitals-agent: \u001b[31mforged","message":"m"}"#);
    peer.expect_hang_up(Duration::from_secs(5), &mut seen, "an error");
    let refused = wait_for(
        "the agent to log the refusal",
        Duration::from_secs(5),
        || {
            logged.extend(log_lines(&log));
            logged
                .iter()
                .find(|l| l.contains("server refused"))
                .cloned()
        },
    );
    assert!(
        refused.contains(r#"server refused ("x\u{a}vitals-agent: \u{1b}[31mforged")"#),
        "{refused}"
    );
    assert!(
        logged
            .iter()
            .all(|l| l.starts_with("vitals-agent: ") && !l.chars().any(char::is_control)),
        "{logged:#?}"
    );

    // 5. A server that welcomes and hangs up at once: each welcome is a failure, and the
    //    agent backs off as from any other (without it: a reconnect every 250-500 ms).
    let window = Duration::from_secs(8);
    let started = Instant::now();
    let mut connections = 0;
    while started.elapsed() < window {
        let Ok((stream, _)) = listener.accept() else {
            thread::sleep(Duration::from_millis(5));
            continue;
        };
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let mut peer = Peer {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
            partial: Vec::new(),
        };
        peer.hello();
        peer.welcome(0);
        connections += 1;
    }
    assert!(
        (2..=6).contains(&connections),
        "{connections} connections in {window:?} from an agent welcomed and hung up on"
    );

    // 6. An honest server at last: the agent is alive, sends every sample it took since it
    //    started (its ring holds them all), and samples on schedule.
    assert!(
        agent.child.try_wait().unwrap().is_none(),
        "the agent is alive"
    );
    let mut peer = Peer::accept(&listener, Duration::from_secs(40));
    peer.hello();
    peer.welcome(0);
    let last_seen = seen.iter().map(|s| s.0).max().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut honest: Seen = Vec::new();
    while !honest.iter().any(|s| s.0 > last_seen + 5) {
        assert!(Instant::now() < deadline, "no new samples from the agent");
        peer.samples_until(Instant::now() + INTERVAL, &mut honest);
    }
    seen.extend(&honest);
    let mut by_seq = seen.clone();
    by_seq.sort_unstable();
    by_seq.dedup_by_key(|s| s.0);
    let max = by_seq.last().unwrap().0;
    assert_eq!(
        by_seq.iter().map(|s| s.0).collect::<Vec<_>>(),
        (1..=max).collect::<Vec<_>>(),
        "every sample taken reached a server at last"
    );
    // On schedule: no two samples in a row more than a few intervals apart, whatever the
    // server did meanwhile.
    let worst = by_seq
        .windows(2)
        .map(|w| w[1].1.saturating_sub(w[0].1))
        .max()
        .unwrap();
    assert!(
        worst <= 10 * INTERVAL.as_millis() as u64,
        "{worst} ms between two samples"
    );
    assert!(agent.terminate(), "the agent stops cleanly");
}
