//! The agent's ring overflowed on purpose, through a proxy in this test between the real
//! `vitals-agent` and the real `vitals-server` that stalls and cuts the connection: every counter
//! agrees with what was really lost, which the proxy knows (it sees each sample the server got).

mod common;

use std::collections::BTreeSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Server, agent_with, sample_of, value, wait_for};

/// What the proxy does with the bytes, set by the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Mode {
    /// Relays both ways.
    Flow,
    /// Relays nothing, either way, and keeps the connections: bytes wait in the sockets.
    Stall,
    /// Ends the connections (what it relayed to the server arrives whole first) and hangs up
    /// on new ones at once.
    Cut,
}

/// What the proxy knows, shared with the test.
#[derive(Default)]
struct Seen {
    /// The sequence number and the agent's clock of each sample the server was sent whole.
    samples: BTreeSet<(u64, u64)>,
    /// When (Unix ms) the proxy relayed each welcome to the agent.
    welcomes: Vec<u64>,
}

struct Proxy {
    address: SocketAddr,
    mode: Arc<AtomicU8>,
    seen: Arc<Mutex<Seen>>,
}

fn unix_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn mode_of(mode: &AtomicU8) -> Mode {
    match mode.load(Ordering::SeqCst) {
        0 => Mode::Flow,
        1 => Mode::Stall,
        _ => Mode::Cut,
    }
}

impl Proxy {
    fn start(server: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let proxy = Proxy {
            address: listener.local_addr().unwrap(),
            mode: Arc::new(AtomicU8::new(Mode::Flow as u8)),
            seen: Arc::default(),
        };
        let (mode, seen) = (proxy.mode.clone(), proxy.seen.clone());
        thread::spawn(move || {
            loop {
                match listener.accept() {
                    Ok((agent, _)) if mode_of(&mode) == Mode::Cut => drop(agent),
                    Ok((agent, _)) => {
                        let server = TcpStream::connect(server).unwrap();
                        let (mode, seen) = (mode.clone(), seen.clone());
                        thread::spawn(move || relay(agent, server, &mode, &seen));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            }
        });
        proxy
    }

    fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    fn samples(&self) -> BTreeSet<(u64, u64)> {
        self.seen.lock().unwrap().samples.clone()
    }

    fn last_welcome(&self) -> Option<u64> {
        self.seen.lock().unwrap().welcomes.last().copied()
    }
}

/// Moves what `from` has for `to` into `pending`; returns whether anything came, and `None`
/// when `from` closed.
fn read_into(from: &mut TcpStream, pending: &mut Vec<u8>) -> Option<bool> {
    let mut buf = [0u8; 16 * 1024];
    match from.read(&mut buf) {
        Ok(0) => None,
        Ok(n) => {
            pending.extend_from_slice(&buf[..n]);
            Some(true)
        }
        Err(e) if e.kind() == ErrorKind::WouldBlock => Some(false),
        Err(_) => None,
    }
}

/// Writes what `to` takes of `pending`, and hands each line it completes to `line`.
fn write_from(
    to: &mut TcpStream,
    pending: &mut Vec<u8>,
    partial: &mut Vec<u8>,
    mut line: impl FnMut(&[u8]),
) -> Option<bool> {
    if pending.is_empty() {
        return Some(false);
    }
    let n = match to.write(pending) {
        Ok(n) => n,
        Err(e) if e.kind() == ErrorKind::WouldBlock => return Some(false),
        Err(_) => return None,
    };
    for &b in &pending[..n] {
        if b == b'\n' {
            line(partial);
            partial.clear();
        } else {
            partial.push(b);
        }
    }
    pending.drain(..n);
    Some(n > 0)
}

/// One connection through the proxy, both ways, as the mode says.
fn relay(mut agent: TcpStream, mut server: TcpStream, mode: &AtomicU8, seen: &Mutex<Seen>) {
    agent.set_nonblocking(true).unwrap();
    server.set_nonblocking(true).unwrap();
    let (mut up, mut up_line, mut down, mut down_line) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    loop {
        match mode_of(mode) {
            Mode::Stall => {
                thread::sleep(Duration::from_millis(2));
                continue;
            }
            Mode::Cut => break,
            Mode::Flow => {}
        }
        let moved = [
            read_into(&mut agent, &mut up),
            write_from(&mut server, &mut up, &mut up_line, |line| {
                if let Some(sample) = sample_of(line) {
                    seen.lock().unwrap().samples.insert(sample);
                }
            }),
            read_into(&mut server, &mut down),
            write_from(&mut agent, &mut down, &mut down_line, |line| {
                if line.windows(9).any(|w| w == br#""welcome""#) {
                    seen.lock().unwrap().welcomes.push(unix_ms());
                }
            }),
        ];
        if moved.iter().any(Option::is_none) {
            break;
        }
        if !moved.contains(&Some(true)) {
            thread::sleep(Duration::from_millis(1));
        }
    }
    // What the server was sent arrives, and is read to its end, before the connection is gone:
    // the proxy counts a sample as the server's once it wrote it whole.
    let _ = server.shutdown(Shutdown::Write);
    let _ = server.set_nonblocking(false);
    let _ = server.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = std::io::copy(&mut server, &mut std::io::sink());
    let _ = agent.shutdown(Shutdown::Both);
}

/// The server's counters of the agent, once it has merged every sample the proxy gave it.
fn counters(server: &Server, proxy: &Proxy) -> (BTreeSet<(u64, u64)>, [u64; 3]) {
    let samples = proxy.samples();
    let merged = samples.iter().map(|s| s.0).collect::<BTreeSet<_>>().len() as u64;
    let counters = wait_for(
        "the server to merge every sample it was sent",
        Duration::from_secs(10),
        || {
            let metrics = server.metrics();
            let get = |name| value(&metrics, name, &[("instance", "overflow")]).map(|v| v as u64);
            let counters = [
                get("vitals_agent_samples_total")?,
                get("vitals_agent_sequence_gaps_total")?,
                get("vitals_agent_samples_dropped_total")?,
            ];
            (counters[0] == merged).then_some(counters)
        },
    );
    (samples, counters)
}

/// Samples the agent took since `since` (Unix ms) that reached the server, at least `n` of them.
fn wait_for_fresh(proxy: &Proxy, since: u64, n: usize, what: &str) {
    wait_for(what, Duration::from_secs(20), || {
        (proxy.samples().iter().filter(|s| s.1 > since).count() >= n).then_some(())
    });
}

#[test]
fn a_ring_overflowed_on_purpose_loses_exactly_what_every_counter_says() {
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &["--expire-after", "60s"]);
    let proxy = Proxy::start(server.agents);
    // A ring of about 70 samples of this machine (v2 values of about 700 bytes, in the three
    // quarters of the smallest buffer that the declarations leave), taken every 100 ms: it
    // turns over in about seven seconds.
    let _agent = agent_with(
        "overflow",
        &[proxy.address],
        "100ms",
        &["--buffer", "65KiB"],
    );
    wait_for_fresh(&proxy, 0, 10, "samples to flow");

    // A stall: the agent hands the server samples that wait in the sockets, unacknowledged,
    // while its ring turns over. They all arrive when the bytes move again: none was lost,
    // though the ring dropped them.
    proxy.set(Mode::Stall);
    thread::sleep(Duration::from_secs(9));
    let resumed = unix_ms();
    proxy.set(Mode::Flow);
    wait_for_fresh(&proxy, resumed, 10, "samples after the stall");
    proxy.set(Mode::Stall);
    let (samples, [merged, gaps, dropped]) = counters(&server, &proxy);
    let seqs: BTreeSet<u64> = samples.iter().map(|s| s.0).collect();
    let max = *seqs.last().unwrap();
    assert_eq!(seqs.first(), Some(&1));
    assert_eq!(
        (merged, gaps, dropped),
        (max, 0, 0),
        "after a stall: nothing lost ({} samples)",
        seqs.len()
    );
    assert!(
        max > 100,
        "the ring of about 70 samples turned over in the stall ({max} samples)"
    );

    // A cut: the connection ends with samples merged but not acknowledged, and no connection
    // is let through while the ring turns over and over.
    proxy.set(Mode::Cut);
    thread::sleep(Duration::from_secs(9));
    let restored = unix_ms();
    proxy.set(Mode::Flow);
    wait_for("the agent to come back", Duration::from_secs(20), || {
        proxy.last_welcome().filter(|&at| at >= restored)
    });
    let welcomed = proxy.last_welcome().unwrap();
    // Samples taken after the welcome carry the count it settled.
    wait_for_fresh(&proxy, welcomed, 5, "samples after the agent came back");
    proxy.set(Mode::Stall);
    let (samples, [merged, gaps, dropped]) = counters(&server, &proxy);
    let seqs: BTreeSet<u64> = samples.iter().map(|s| s.0).collect();
    let max = *seqs.last().unwrap();
    let lost = max - seqs.len() as u64;
    eprintln!("after the cut: {merged} merged, {gaps} gaps, {dropped} dropped, of 1..={max}");
    assert_eq!(seqs.first(), Some(&1));
    assert!(lost > 10, "the cut lost samples: {lost}");
    assert_eq!(
        (merged, gaps, dropped),
        (seqs.len() as u64, lost, lost),
        "samples merged, sequence gaps and samples dropped against the {} samples of 1..={max} \
         the server got",
        seqs.len()
    );
}
