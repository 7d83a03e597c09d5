//! With remote write, a merged sample is acknowledged once the store took it, and a welcome
//! says only what the store took.

use super::*;
use crate::remote::client::{Client, Endpoint};
use crate::remote::writer::Writer;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

/// A store on loopback that takes each request once `take` says so.
fn store() -> (Endpoint, crossbeam_channel::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (take, taken) = crossbeam_channel::unbounded::<()>();
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut conn = BufReader::new(conn);
        loop {
            let mut length = 0;
            loop {
                let mut line = String::new();
                if conn.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line.trim().is_empty() {
                    break;
                }
            }
            let mut body = vec![0; length];
            conn.read_exact(&mut body).unwrap();
            if taken.recv().is_err() {
                return;
            }
            let _ = conn.get_mut().write_all(b"HTTP/1.1 204 No Content\r\n\r\n");
        }
    });
    let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}/api/v1/write")).unwrap();
    (endpoint, take)
}

#[test]
fn a_sample_is_acknowledged_once_the_store_took_it_and_a_welcome_says_so() {
    let (endpoint, take) = store();
    let mut agg = aggregator();
    let client = Client::new(endpoint, &[], None, Arc::new(|| true));
    let (writer, feed) = Writer::new(client, Vec::new(), &agg.published().registry).unwrap();
    agg.write_to(feed);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let beats = crate::heartbeat::Heartbeats::new();
    let heartbeat = beats.register("remote-write");
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || writer.run(&stop, &heartbeat))
    };
    let (reply_tx, replies) = crossbeam_channel::unbounded();
    let replier = Replier::new(reply_tx, Waker::none());
    let now = Instant::now();
    let batch = |events| Batch {
        events,
        reply: Some(replier.clone()),
    };
    let hello = |conn| Event::Connected {
        conn,
        hello: hello("a", 7),
        authenticated: true,
        protocol: 1,
        peer: PEER,
    };
    agg.handle_batch(batch(vec![hello(1)]), now);
    assert_eq!(
        replies.try_recv().unwrap(),
        [(1, Reply::Welcome { last_seq: 0 })]
    );

    let event = |conn, seq| Event::Sample {
        conn,
        message: Decoded::new(&sample(seq, 1.0 + seq as f64, &["/"])),
    };
    agg.handle_batch(batch(vec![event(1, 1), event(1, 2)]), now);
    // Merged and shown, but not acknowledged while the store has not answered.
    assert_eq!(get(&mut agg, USER), Some(3.0));
    assert!(replies.recv_timeout(Duration::from_millis(300)).is_err());
    // A reconnect meanwhile is told nothing was kept.
    agg.handle_batch(batch(vec![hello(2)]), now);
    assert_eq!(
        replies.try_recv().unwrap(),
        [(2, Reply::Welcome { last_seq: 0 })]
    );

    take.send(()).unwrap();
    let acks = replies.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(
        acks,
        [(1, Reply::Merged { seq: 1 }), (1, Reply::Merged { seq: 2 })]
    );
    // Sent again on the new connection: merged before, so acknowledged behind the first
    // copies, without a request of its own.
    agg.handle_batch(batch(vec![event(2, 2)]), now);
    assert_eq!(
        replies.recv_timeout(Duration::from_secs(10)).unwrap(),
        [(2, Reply::Merged { seq: 2 })]
    );
    agg.handle_batch(batch(vec![Event::Disconnected { conn: 2 }, hello(3)]), now);
    assert_eq!(
        replies.try_recv().unwrap(),
        [(3, Reply::Welcome { last_seq: 2 })]
    );

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    drop(take);
    drop(agg);
    writer.join().unwrap();
}
