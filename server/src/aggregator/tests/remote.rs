//! With remote write, a merged sample is acknowledged once the store took it, and a welcome
//! says only what the store took.

use super::*;
use crate::remote::client::{Client, Endpoint};
use crate::remote::writer::{QUEUE_SERIES, Writer};
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

/// An aggregator writing through one shard to a [`store`] that takes each request once told,
/// with room for `budget` series values; the thread ends once `stop` is set and the store and
/// aggregator are gone.
struct Rig {
    agg: Aggregator,
    take: crossbeam_channel::Sender<()>,
    replier: Replier,
    replies: crossbeam_channel::Receiver<Vec<(ConnId, Reply)>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    writer: std::thread::JoinHandle<()>,
}

impl Rig {
    fn new(budget: usize) -> Rig {
        let (endpoint, take) = store();
        let mut agg = aggregator();
        let client = Client::new(endpoint, &[], None, Arc::new(|| true));
        let (mut writers, feed) =
            Writer::new(vec![client], Vec::new(), budget, &agg.published().registry).unwrap();
        let writer = writers.remove(0);
        agg.write_to(feed);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let beats = crate::heartbeat::Heartbeats::new();
        let heartbeat = beats.register("remote-write-0");
        let writer = {
            let stop = stop.clone();
            std::thread::spawn(move || writer.run(&stop, &heartbeat))
        };
        let (reply_tx, replies) = crossbeam_channel::unbounded();
        let replier = Replier::new(reply_tx, Waker::none());
        Rig {
            agg,
            take,
            replier,
            replies,
            stop,
            writer,
        }
    }

    fn batch(&self, events: Vec<Event>) -> Batch {
        Batch {
            events,
            reply: Some(self.replier.clone()),
        }
    }

    /// Lets the store take one request; the answers its acknowledgements bring.
    fn take_one(&self) -> Vec<(ConnId, Reply)> {
        self.take.send(()).unwrap();
        self.replies.recv_timeout(Duration::from_secs(10)).unwrap()
    }

    fn end(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        drop(self.take);
        drop(self.agg);
        self.writer.join().unwrap();
    }
}

#[test]
fn a_sample_is_acknowledged_once_the_store_took_it_and_a_welcome_says_so() {
    let mut rig = Rig::new(QUEUE_SERIES);
    let now = Instant::now();
    let hello = |conn| Event::Connected {
        conn,
        hello: hello("a", 7),
        authenticated: true,
        protocol: 1,
        peer: PEER,
    };
    rig.agg.handle_batch(rig.batch(vec![hello(1)]), now);
    assert_eq!(
        rig.replies.try_recv().unwrap(),
        [(1, Reply::Welcome { last_seq: 0 })]
    );

    let event = |conn, seq| Event::Sample {
        conn,
        message: Decoded::new(&sample(seq, 1.0 + seq as f64, &["/"])),
    };
    rig.agg
        .handle_batch(rig.batch(vec![event(1, 1), event(1, 2)]), now);
    // Merged and shown, but not acknowledged while the store has not answered.
    assert_eq!(get(&mut rig.agg, USER), Some(3.0));
    assert!(
        rig.replies
            .recv_timeout(Duration::from_millis(300))
            .is_err()
    );
    // A reconnect meanwhile is told nothing was kept.
    rig.agg.handle_batch(rig.batch(vec![hello(2)]), now);
    assert_eq!(
        rig.replies.try_recv().unwrap(),
        [(2, Reply::Welcome { last_seq: 0 })]
    );

    let acks = rig.take_one();
    assert_eq!(
        acks,
        [(1, Reply::Merged { seq: 1 }), (1, Reply::Merged { seq: 2 })]
    );
    // Sent again on the new connection: merged before, so acknowledged behind the first
    // copies, without a request of its own.
    rig.agg.handle_batch(rig.batch(vec![event(2, 2)]), now);
    assert_eq!(
        rig.replies.recv_timeout(Duration::from_secs(10)).unwrap(),
        [(2, Reply::Merged { seq: 2 })]
    );
    rig.agg.handle_batch(
        rig.batch(vec![Event::Disconnected { conn: 2 }, hello(3)]),
        now,
    );
    assert_eq!(
        rig.replies.try_recv().unwrap(),
        [(3, Reply::Welcome { last_seq: 2 })]
    );

    rig.end();
}

#[test]
fn while_the_store_is_behind_samples_are_refused_and_the_agents_keep_them() {
    // Room for about one sample's series: the second waits for the first to be sent.
    let mut rig = Rig::new(1);
    let now = Instant::now();
    let hello = Event::Connected {
        conn: 1,
        hello: hello("a", 7),
        authenticated: true,
        protocol: 1,
        peer: PEER,
    };
    rig.agg.handle_batch(rig.batch(vec![hello]), now);
    rig.replies.try_recv().unwrap();
    let event = |seq| Event::Sample {
        conn: 1,
        message: Decoded::new(&sample(seq, seq as f64, &["/"])),
    };
    rig.agg
        .handle_batch(rig.batch(vec![event(1), event(2)]), now);
    // The first is merged and waits for the store; the second is refused, not merged.
    let answers = rig.replies.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        matches!(&answers[..], [(1, Reply::Refused { code, message })]
            if *code == codes::UNAVAILABLE && message.contains("store is behind")),
        "{answers:?}"
    );
    assert_eq!(get(&mut rig.agg, USER), Some(1.0));

    // Once the store took the first, the second is merged when it comes again.
    assert_eq!(rig.take_one(), [(1, Reply::Merged { seq: 1 })]);
    rig.agg.handle_batch(rig.batch(vec![event(2)]), now);
    assert_eq!(rig.take_one(), [(1, Reply::Merged { seq: 2 })]);
    assert_eq!(get(&mut rig.agg, USER), Some(2.0));

    rig.end();
}
