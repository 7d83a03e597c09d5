//! A server that refuses, lies about what it merged, sends garbage or never stops sending.

use super::*;

#[test]
fn an_error_from_the_server_ends_the_connection() {
    let mut a = agent();
    drain(&mut a, at(0));
    push(
        &mut a,
        Message::Error(wire::ErrorMessage {
            code: crate::sample::bounded("invalid_value"),
            message: crate::sample::bounded("no"),
        }),
    );
    match drain(&mut a, at(0)).as_slice() {
        [
            Event::Lost {
                reason: Lost::Rejected(e),
                ..
            },
        ] => assert_eq!(e.as_str(), "invalid_value"),
        other => panic!("{other:?}"),
    }
    assert!(!a.transport.up);
}

#[test]
fn garbage_from_the_server_ends_the_connection() {
    let mut a = agent();
    drain(&mut a, at(0));
    a.transport.inbox.extend(b"HTTP/1.1 400 Bad Request\r\n");
    assert!(matches!(
        drain(&mut a, at(0)).as_slice(),
        [Event::Lost {
            reason: Lost::Protocol(DecodeError::BadJson),
            ..
        }]
    ));
    drain(&mut a, at(60_000));
    a.transport
        .inbox
        .extend(b"{\"v\":1,\"kind\":\"ack\",\"seq\":1}\n");
    assert!(matches!(
        drain(&mut a, at(60_000)).as_slice(),
        [Event::Lost {
            reason: Lost::Unexpected("ack"),
            ..
        }]
    ));
}

#[test]
fn an_ack_for_a_sample_never_sent_ends_the_connection_and_drops_nothing() {
    let mut a = sending(2, at(0));
    a.record(&3_u32, at(1000)).unwrap();
    a.transport.room = Some(0);
    drain(&mut a, at(1000));
    assert_eq!(sent_seqs(&a), [1, 2], "3 waits");
    push(&mut a, Message::Ack(Ack { seq: 3 }));
    assert!(matches!(
        drain(&mut a, at(1000)).as_slice(),
        [Event::Lost {
            reason: Lost::Protocol(DecodeError::InvalidValue("seq")),
            was_connected: true,
            ..
        }]
    ));
    assert_eq!(a.stats().pending, 3, "nothing dropped");
    // And a reconnect sends them all again.
    a.transport.room = None;
    assert_eq!(drain(&mut a, at(10_000)), [Event::Connected]);
    welcome(&mut a, 0);
    assert_eq!(drain(&mut a, at(10_000)), [Event::Ready { pending: 3 }]);
    assert_eq!(sent_seqs(&a), [1, 2, 1, 2, 3]);
    push(
        &mut a,
        Message::Ack(Ack {
            seq: 1_000_000_000_000_000_000,
        }),
    );
    assert!(matches!(
        drain(&mut a, at(10_000)).as_slice(),
        [Event::Lost {
            reason: Lost::Protocol(DecodeError::InvalidValue("seq")),
            ..
        }]
    ));
    assert_eq!((a.stats().pending, a.stats().dropped), (3, 0));
}

#[test]
fn a_welcome_for_a_sample_never_sent_is_refused_and_the_ring_kept() {
    let mut a = sending(2, at(0));
    hang_up(&mut a, at(0));
    a.record(&3_u32, at(1000)).unwrap();
    for (last_seq, now) in [(u64::MAX, at(60_000)), (3, at(120_000))] {
        assert_eq!(drain(&mut a, now), [Event::Connected]);
        welcome(&mut a, last_seq);
        assert!(matches!(
            drain(&mut a, now).as_slice(),
            [Event::Lost {
                reason: Lost::Protocol(DecodeError::InvalidValue("last_seq")),
                was_connected: true,
                ..
            }]
        ));
        assert_eq!((a.stats().pending, a.stats().dropped), (3, 0));
        assert!(!a.is_ready());
    }
    // A welcome up to the last sample sent is believed.
    assert_eq!(drain(&mut a, at(180_000)), [Event::Connected]);
    welcome(&mut a, 2);
    assert_eq!(drain(&mut a, at(180_000)), [Event::Ready { pending: 1 }]);
    assert_eq!(sent_seqs(&a), [1, 2, 3]);
    a.record(&4_u32, at(180_000)).unwrap();
    drain(&mut a, at(180_000));
    assert_eq!(sent_seqs(&a), [1, 2, 3, 4]);
}

#[test]
fn a_server_that_never_stops_sending_cannot_hold_up_sampling() {
    let mut a = sending(1, at(0));
    // Acks of the one sample sent, as fast as the transport carries them.
    let mut ack = [0u8; 64];
    let n = wire::encode(&Message::<u32>::Ack(Ack { seq: 1 }), &mut ack).unwrap();
    a.transport.flood = ack[..n].to_vec();
    a.transport.flood_left = 10 << 20;
    for t in 1..=50u64 {
        let now = at(t * 1000);
        assert!(a.sample_due(now));
        a.record(&0_u32, now).unwrap();
        let before = a.transport.received;
        assert_eq!(a.poll(now), None);
        let read = a.transport.received - before;
        assert!(read <= RX_READS * RX_CHUNK, "one poll read {read} bytes");
    }
    assert_eq!(a.stats().recorded, 51);
    assert!(a.is_ready());
}

#[test]
fn an_unknown_error_code_reaches_the_log_escaped_and_a_known_one_as_it_is() {
    let shown = |code: &str| std::format!("{}", Lost::Rejected(crate::sample::bounded(code)));
    for forged in [
        "x\nvitals-agent: forged",
        "\x1b[2J\x1b[31mred",
        "a\rb\tc\u{2028}d\u{7f}",
        "quote\"back\\slash",
    ] {
        let line = shown(forged);
        assert!(
            line.chars().all(|c| (' '..='~').contains(&c)),
            "{forged:?} became {line:?}"
        );
        assert!(line.starts_with("server refused (\""), "{line}");
    }
    assert_eq!(shown("x\nforged"), "server refused (\"x\\u{a}forged\")");
    assert_eq!(
        shown(wire::codes::ID_IN_USE),
        "server refused: another connection holds this agent id (id_in_use)"
    );
}
