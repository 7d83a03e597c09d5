//! Heap allocations per sample in the steady state, counted by a counting global allocator
//! (dhat's; the bench itself needs no `unsafe`).
//!
//! - agent-core: `record` + `poll` (encode, send, read the ack) over an in-memory transport.
//!   Goal: zero.
//! - agent-linux: `Collector::collect`.

use std::time::Duration;

use agent_core::agent::{Agent, Config};
use agent_core::sample::bounded;
use agent_core::time::Instant;
use agent_core::transport::{Transport, TransportError};
use agent_core::wire::{self, Ack, Hello, Message, Welcome};
use agent_linux::collect::Collector;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Accepts every line and answers each sample with its ack, from fixed buffers.
struct Loopback {
    inbox: [u8; 256],
    len: usize,
    acks: u64,
}

impl Loopback {
    fn push(&mut self, message: &Message) {
        let n = wire::encode(message, &mut self.inbox[self.len..]).unwrap();
        self.len += n;
    }
}

impl Transport for Loopback {
    fn connect(&mut self) -> Result<(), TransportError> {
        let welcome = Message::Welcome(Welcome {
            server: bounded("bench"),
            last_seq: 0,
            same: 1,
        });
        self.push(&welcome);
        Ok(())
    }
    fn send(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        if bytes.starts_with(br#"{"v":1,"kind":"sample""#) {
            self.acks += 1;
            let ack = Message::Ack(Ack { seq: self.acks });
            self.push(&ack);
        }
        Ok(())
    }
    fn receive(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        let n = self.len.min(buf.len());
        buf[..n].copy_from_slice(&self.inbox[..n]);
        self.inbox.copy_within(n..self.len, 0);
        self.len -= n;
        Ok(n)
    }
    fn disconnect(&mut self) {}
}

fn blocks() -> u64 {
    dhat::HeapStats::get().total_blocks
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let samples = 500u64;

    let mut collector = Collector::new();
    let sample = collector.collect(0);
    let hello = Hello {
        id: bounded("bench"),
        interval_ms: 1,
        session: 1,
        ..Hello::default()
    };
    let mut storage = vec![0u8; 256 * 1024];
    let mut agent: Agent<Loopback> = Agent::new(
        Loopback {
            inbox: [0; 256],
            len: 0,
            acks: 0,
        },
        &hello,
        Config::new(Duration::from_millis(1), 1),
        &mut storage,
        Instant::from_millis(0),
    );
    let mut t = 0;
    for _ in 0..10 {
        agent.record(&sample, Instant::from_millis(t)).unwrap();
        while agent.poll(Instant::from_millis(t)).is_some() {}
        t += 1;
    }
    assert!(agent.is_ready());
    let before = blocks();
    for _ in 0..samples {
        agent.record(&sample, Instant::from_millis(t)).unwrap();
        while agent.poll(Instant::from_millis(t)).is_some() {}
        t += 1;
    }
    let core = blocks() - before;
    // The last ack is read by the next poll.
    agent.poll(Instant::from_millis(t));
    assert_eq!(agent.stats().pending, 0, "every sample acknowledged");

    for _ in 0..5 {
        collector.collect(0);
    }
    let before = blocks();
    for _ in 0..samples {
        std::hint::black_box(collector.collect(0));
    }
    let linux = blocks() - before;

    println!(
        "\n{:<52}  {:>10}",
        "heap allocations per sample (steady state)", "count"
    );
    println!("{}", "-".repeat(64));
    println!(
        "{:<52}  {:>10.2}",
        "agent-core: record + encode + send + ack (goal 0)",
        core as f64 / samples as f64
    );
    println!(
        "{:<52}  {:>10.2}",
        "agent-linux: Collector::collect",
        linux as f64 / samples as f64
    );
}
