//! A do-nothing remote-write store for the benches: it reads each request, counts its samples
//! and notes how long after its time each agent's sample arrived, and answers 204.

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

/// What the store saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Samples (series values) taken.
    pub samples: AtomicU64,
    /// For each agent's sample (a run of series with one timestamp), the milliseconds from its
    /// time to the answer.
    pub delays_ms: Mutex<Vec<u64>>,
}

/// Starts the store on loopback; returns its address and what it sees.
pub fn start() -> (SocketAddr, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let shared = seen.clone();
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let seen = shared.clone();
            thread::spawn(move || serve(conn, &seen));
        }
    });
    (addr, seen)
}

fn serve(conn: TcpStream, seen: &Seen) {
    let mut conn = BufReader::new(conn);
    while let Some(request) = super::store::read_request(&mut conn) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let (count, times) = samples(&request.body);
        seen.samples.fetch_add(count, Ordering::Relaxed);
        seen.delays_ms
            .lock()
            .unwrap()
            .extend(times.iter().map(|t| now.saturating_sub(*t)));
        if conn
            .get_mut()
            .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

fn varint(b: &[u8], at: &mut usize) -> u64 {
    let (mut n, mut shift) = (0u64, 0);
    while let Some(&byte) = b.get(*at) {
        *at += 1;
        n |= u64::from(byte & 0x7f) << shift;
        shift += 7;
        if byte < 0x80 {
            break;
        }
    }
    n
}

/// The samples of a `WriteRequest`, and the distinct timestamps of each run of them.
fn samples(body: &[u8]) -> (u64, Vec<u64>) {
    let (mut at, mut count, mut times) = (0, 0, Vec::new());
    while at < body.len() {
        let _tag = varint(body, &mut at);
        let end = varint(body, &mut at) as usize + at;
        // Inside a TimeSeries: labels (field 1) and one sample (field 2).
        while at < end.min(body.len()) {
            let tag = varint(body, &mut at);
            let len = varint(body, &mut at) as usize;
            if tag == 0x12 {
                let mut s = at;
                while s < at + len {
                    match varint(body, &mut s) {
                        0x09 => s += 8,
                        0x10 => {
                            let t = varint(body, &mut s);
                            count += 1;
                            if times.last() != Some(&t) {
                                times.push(t);
                            }
                        }
                        _ => break,
                    }
                }
            }
            at += len;
        }
        at = end;
    }
    (count, times)
}
