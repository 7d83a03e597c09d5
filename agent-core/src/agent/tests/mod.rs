//! The state machine's tests, grouped by concern, against a fake transport and a fake clock:
//! no socket, no sleep. Each file's tests drive the agent with the helpers below.
//!
//! - `fake.rs`: the transport, scripted.
//! - `handshake.rs`: connecting, hello, welcome, and their timeouts.
//! - `keyed.rs`: an agent with a key: the challenge's answer and sealed lines.
//! - `delivery.rs`: samples into the ring, out in order, whole and once, freed by acks.
//! - `losses.rs`: what a full ring drops, and how acks and welcomes settle it.
//! - `backoff.rs`: the delay before the next try, its jitter, and what resets it.
//! - `v2.rs`: protocol v2: declarations before values, on every connection, and what a
//!   forgotten declaration loses.
//! - `hostile.rs`: a server that lies, refuses, sends garbage or never stops sending.

extern crate std;
use std::vec::Vec;

use super::*;
use crate::wire::{Ack, ErrorMessage, Message, Welcome, decode_line};

mod backoff;
mod delivery;
mod fake;
mod handshake;
mod hostile;
mod keyed;
mod losses;
mod v2;

use fake::Fake;

impl wire::Check for u32 {
    fn check(&self) -> Result<(), &'static str> {
        Ok(())
    }
}

type TestAgent = Agent<'static, Fake, 256>;

/// Room for exactly four of the test's samples (55-byte lines, 12-byte headers).
const FOUR_SAMPLES: usize = 4 * (12 + 55);

fn test_hello() -> Hello {
    Hello {
        id: crate::sample::bounded("test"),
        interval_ms: 1000,
        ..Hello::default()
    }
}

/// The test hello's line, which the agent keeps at the start of its storage, and room for
/// exactly four samples after it.
fn storage() -> &'static mut [u8] {
    let mut line = [0u8; 512];
    let hello = wire::encode_body("hello", &test_hello(), &mut line).unwrap();
    Vec::leak(std::vec![0u8; hello + FOUR_SAMPLES])
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn agent() -> TestAgent {
    let hello = test_hello();
    Agent::new(
        Fake::default(),
        &hello,
        Config::new(Duration::from_secs(1), 42),
        storage(),
        at(0),
    )
}

fn push(agent: &mut TestAgent, message: Message<u32>) {
    let mut buf = [0u8; 256];
    let n = wire::encode(&message, &mut buf).unwrap();
    agent.transport.inbox.extend(&buf[..n]);
}

fn welcome(agent: &mut TestAgent, last_seq: u64) {
    push(
        agent,
        Message::Welcome(Welcome {
            server: crate::sample::bounded("s"),
            last_seq,
            same: 0,
        }),
    );
}

/// The server hangs up (after saying so); the agent has lost the connection.
fn hang_up(agent: &mut TestAgent, now: Instant) {
    push(
        agent,
        Message::Error(ErrorMessage {
            code: crate::sample::bounded(wire::codes::SHUTTING_DOWN),
            message: crate::sample::bounded("bye"),
        }),
    );
    assert!(
        matches!(drain(agent, now).as_slice(), [Event::Lost { .. }]),
        "the connection is lost"
    );
}

/// Polls until nothing happens, returning the events.
fn drain(agent: &mut TestAgent, now: Instant) -> Vec<Event> {
    core::iter::from_fn(|| agent.poll(now)).take(20).collect()
}

/// Sequence numbers of the samples sent so far, in order.
fn sent_seqs(agent: &TestAgent) -> Vec<u64> {
    agent
        .transport
        .lines()
        .iter()
        .filter_map(|l| match decode_line::<u32>(l.trim_end().as_bytes()) {
            Ok(Message::Sample(s)) => Some(s.seq),
            _ => None,
        })
        .collect()
}

/// An agent connected and welcomed at `now`, having sent samples `1..=n` (none
/// acknowledged).
fn sending(n: u32, now: Instant) -> TestAgent {
    let mut a = agent();
    drain(&mut a, now);
    welcome(&mut a, 0);
    drain(&mut a, now);
    for i in 1..=n {
        a.record(&i, now).unwrap();
    }
    drain(&mut a, now);
    assert_eq!(sent_seqs(&a), (1..=u64::from(n)).collect::<Vec<_>>());
    a
}
