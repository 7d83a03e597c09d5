//! An agent with a key: it answers the challenge, seals what it sends, opens what it reads.

use super::*;
#[cfg(feature = "auth")]
use crate::auth::Direction;
use crate::auth::NONCE_LEN;

#[cfg(feature = "auth")]
const KEY: &str = "a key of at least sixteen bytes";
const NONCE: [u8; NONCE_LEN] = [9; NONCE_LEN];

fn challenge(agent: &mut TestAgent) {
    let mut hex = [0u8; 2 * NONCE_LEN];
    push(
        agent,
        Message::Challenge(wire::Challenge {
            nonce: crate::sample::bounded(auth::to_hex(&NONCE, &mut hex)),
        }),
    );
}

/// Pushes `message` sealed as the server would.
#[cfg(feature = "auth")]
fn push_sealed(agent: &mut TestAgent, sealer: &mut Sealer, message: Message<u32>) {
    let mut buf = [0u8; 256];
    let n = wire::encode(&message, &mut buf).unwrap();
    let n = sealer.seal_in_place(&mut buf, n).unwrap();
    agent.transport.inbox.extend(&buf[..n]);
}

#[test]
#[cfg(feature = "auth")]
fn a_keyed_agent_proves_its_id_and_seals_its_samples() {
    let key = Key::new(KEY.as_bytes()).unwrap();
    let mut a = agent().with_key(key.clone());
    a.record(&1u32, at(0)).unwrap();
    drain(&mut a, at(0));
    challenge(&mut a);
    assert!(drain(&mut a, at(1)).is_empty(), "no welcome yet");
    let auth_line = a.transport.lines()[1].clone();
    let Message::Auth(answer) = decode_line::<u32>(auth_line.trim_end().as_bytes()).unwrap() else {
        panic!("expected auth, got {auth_line}");
    };
    let mut mac = [0u8; auth::MAC_LEN];
    auth::from_hex(answer.mac.as_bytes(), &mut mac).unwrap();
    assert!(auth::verify_proof(&key, &NONCE, "test", 0, &mac));
    // Samples wait for a welcome sealed by the server's side of the key.
    let mut from_server = Sealer::new(&key, &NONCE, "test", Direction::FromServer);
    push_sealed(
        &mut a,
        &mut from_server,
        Message::Welcome(Welcome {
            server: crate::sample::bounded("s"),
            last_seq: 0,
            same: 0,
        }),
    );
    assert_eq!(drain(&mut a, at(2)), [Event::Ready { pending: 1 }]);
    let sample_line = a.transport.lines()[2].clone();
    let mut from_agent = Sealer::new(&key, &NONCE, "test", Direction::FromAgent);
    let mut plain = [0u8; 256];
    let opened = from_agent
        .open(sample_line.trim_end().as_bytes(), &mut plain)
        .unwrap();
    assert!(matches!(
        decode_line::<u32>(opened),
        Ok(Message::Sample(SampleMessage { seq: 1, .. }))
    ));
    // A sealed ack frees the ring; an unsealed one ends the connection.
    push_sealed(&mut a, &mut from_server, Message::Ack(Ack { seq: 1 }));
    drain(&mut a, at(3));
    assert_eq!(a.stats().pending, 0);
    push(&mut a, Message::Ack(Ack { seq: 1 }));
    assert!(matches!(
        drain(&mut a, at(4)).as_slice(),
        [Event::Lost {
            reason: Lost::Protocol(DecodeError::BadSeal),
            ..
        }]
    ));
}

#[test]
#[cfg(feature = "auth")]
fn a_keyed_agent_sends_nothing_to_a_server_that_does_not_challenge_it() {
    let mut a = agent().with_key(Key::new(KEY.as_bytes()).unwrap());
    a.record(&1u32, at(0)).unwrap();
    drain(&mut a, at(0));
    welcome(&mut a, 0);
    assert!(matches!(
        drain(&mut a, at(1)).as_slice(),
        [Event::Lost {
            reason: Lost::Unauthenticated,
            ..
        }]
    ));
    assert_eq!(sent_seqs(&a), [] as [u64; 0]);
}

#[test]
fn an_agent_without_a_key_answers_a_challenge_empty_and_hears_why() {
    let mut a = agent();
    drain(&mut a, at(0));
    challenge(&mut a);
    drain(&mut a, at(1));
    assert_eq!(
        a.transport.lines()[1],
        "{\"v\":1,\"kind\":\"auth\",\"mac\":\"\"}\n"
    );
    push(
        &mut a,
        Message::Error(ErrorMessage {
            code: crate::sample::bounded(wire::codes::AUTH_REQUIRED),
            message: crate::sample::bounded("this server wants a key"),
        }),
    );
    match drain(&mut a, at(2)).as_slice() {
        [Event::Lost { reason, .. }] => {
            assert_eq!(
                reason,
                &Lost::Rejected(crate::sample::bounded(wire::codes::AUTH_REQUIRED))
            );
            assert_eq!(
                std::format!("{reason}"),
                "server refused: the server wants a key for this agent (auth_required)"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
#[cfg(feature = "auth")]
fn a_sealed_line_that_waits_takes_no_seal_and_every_line_opens_in_order() {
    let key = Key::new(KEY.as_bytes()).unwrap();
    let mut a = agent().with_key(key.clone());
    a.record(&1u32, at(0)).unwrap();
    drain(&mut a, at(0));
    challenge(&mut a);
    drain(&mut a, at(1));
    let mut from_server = Sealer::new(&key, &NONCE, "test", Direction::FromServer);
    // Stuck before the welcome: the first sample waits too.
    a.transport.room = Some(0);
    push_sealed(
        &mut a,
        &mut from_server,
        Message::Welcome(Welcome {
            server: crate::sample::bounded("s"),
            last_seq: 0,
            same: 0,
        }),
    );
    assert_eq!(drain(&mut a, at(2)), [Event::Ready { pending: 1 }]);
    a.record(&2u32, at(1000)).unwrap();
    a.record(&3u32, at(2000)).unwrap();
    drain(&mut a, at(2000));
    assert_eq!(a.transport.lines().len(), 2, "hello and auth only");
    // A sealed line is 55 - 2 + 75 bytes: room for one, not two.
    let sealed = 55 - 2 + auth::SEAL_LEN + 1;
    a.transport.room = Some(sealed);
    drain(&mut a, at(2001));
    assert_eq!(a.transport.room, Some(0));
    assert_eq!(a.transport.lines().len(), 3);
    a.transport.room = Some(sealed - 1);
    drain(&mut a, at(2002));
    assert_eq!(
        a.transport.lines().len(),
        3,
        "a line goes whole or not at all"
    );
    a.transport.room = None;
    drain(&mut a, at(2003));
    let mut from_agent = Sealer::new(&key, &NONCE, "test", Direction::FromAgent);
    let seqs: Vec<u64> = a.transport.lines()[2..]
        .iter()
        .map(|line| {
            let mut plain = [0u8; 256];
            let opened = from_agent
                .open(line.trim_end().as_bytes(), &mut plain)
                .unwrap();
            match decode_line::<u32>(opened) {
                Ok(Message::Sample(s)) => s.seq,
                other => panic!("{other:?}"),
            }
        })
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
}

#[test]
#[cfg(feature = "auth")]
fn a_keyed_v2_agent_seals_its_declarations_and_values_like_any_line() {
    use super::v2::{Line, record, v2_agent};
    let key = Key::new(KEY.as_bytes()).unwrap();
    let mut a = v2_agent(4096).with_key(key.clone());
    record(&mut a, 2, 1.0, at(0));
    drain(&mut a, at(0));
    challenge(&mut a);
    drain(&mut a, at(1));
    let mut from_server = Sealer::new(&key, &NONCE, "test", Direction::FromServer);
    push_sealed(
        &mut a,
        &mut from_server,
        Message::Welcome(Welcome {
            server: crate::sample::bounded("s"),
            last_seq: 0,
            same: 0,
        }),
    );
    assert_eq!(drain(&mut a, at(2)), [Event::Ready { pending: 1 }]);
    record(&mut a, 3, 2.0, at(1000));
    drain(&mut a, at(1000));
    let lines = a.transport.lines();
    assert!(lines[0].starts_with(r#"{"v":2,"kind":"hello""#));
    assert!(lines[1].starts_with(r#"{"v":1,"kind":"auth""#), "v1's auth");
    let mut from_agent = Sealer::new(&key, &NONCE, "test", Direction::FromAgent);
    let read: Vec<(u32, u64)> = lines[2..]
        .iter()
        .map(|line| {
            assert!(auth::looks_sealed(line.trim_end().as_bytes()), "{line}");
            let mut plain = [0u8; 512];
            let opened = from_agent
                .open(line.trim_end().as_bytes(), &mut plain)
                .unwrap();
            match Line::read(opened) {
                Line::Declare { g, .. } => (g, 0),
                Line::Values { g, seq, .. } => (g, seq),
                other => panic!("{other:?}"),
            }
        })
        .collect();
    assert_eq!(read, [(1, 0), (1, 1), (2, 0), (2, 2)]);
}
