//! Connecting, hello (with `last_sent` after a reconnect), welcome, and their timeouts.

use super::*;

#[test]
fn a_hello_that_does_not_fit_in_the_storage_fails_every_connection_clearly() {
    let mut a: TestAgent = Agent::new(
        Fake::default(),
        &test_hello(),
        Config::new(Duration::from_secs(1), 42),
        Vec::leak(std::vec![0u8; 64]),
        at(0),
    );
    assert!(matches!(
        a.poll(at(0)),
        Some(Event::Lost {
            reason: Lost::Encode(EncodeError::BufferFull),
            ..
        })
    ));
    assert!(a.transport.out.is_empty(), "nothing half sent");
}

#[test]
fn connects_says_hello_and_sends_samples_after_welcome() {
    let mut a = agent();
    assert!(a.sample_due(at(0)));
    a.record(&7_u32, at(0)).unwrap();
    assert_eq!(drain(&mut a, at(0)), [Event::Connected]);
    assert!(a.transport.lines()[0].starts_with(r#"{"v":1,"kind":"hello","id":"test""#));
    assert!(sent_seqs(&a).is_empty(), "no sample before welcome");
    welcome(&mut a, 0);
    assert_eq!(drain(&mut a, at(5)), [Event::Ready { pending: 1 }]);
    assert_eq!(sent_seqs(&a), [1]);
    assert_eq!(
        a.transport.lines()[1],
        "{\"v\":1,\"kind\":\"sample\",\"seq\":1,\"dropped\":0,\"sample\":7}\n"
    );
    // The next sample is due one interval later, not before.
    assert!(!a.sample_due(at(999)));
    assert!(a.sample_due(at(1000)));
    assert_eq!(a.poll_timeout(), at(1000));
}

#[test]
fn no_welcome_in_time_is_a_handshake_timeout() {
    let mut a = agent();
    assert_eq!(drain(&mut a, at(0)), [Event::Connected]);
    assert_eq!(a.poll_timeout(), at(0), "the first sample is due");
    a.record(&0_u32, at(0)).unwrap();
    assert_eq!(a.poll_timeout(), at(1000));
    assert!(drain(&mut a, at(9_999)).is_empty());
    assert!(matches!(
        drain(&mut a, at(10_000)).as_slice(),
        [Event::Lost {
            reason: Lost::HandshakeTimeout,
            ..
        }]
    ));
}

#[test]
fn welcome_and_ack_in_one_read_are_both_handled() {
    let mut a = agent();
    a.record(&1_u32, at(0)).unwrap();
    a.record(&2_u32, at(1000)).unwrap();
    drain(&mut a, at(1000));
    welcome(&mut a, 0);
    drain(&mut a, at(1000));
    hang_up(&mut a, at(1000));
    assert_eq!(drain(&mut a, at(10_000)), [Event::Connected]);
    welcome(&mut a, 1);
    push(&mut a, Message::Ack(Ack { seq: 1 }));
    assert_eq!(drain(&mut a, at(10_000)), [Event::Ready { pending: 1 }]);
    assert_eq!(a.stats().pending, 1);
    assert_eq!(sent_seqs(&a), [1, 2, 2]);
    // The ack after the welcome is read and checked: one of a sample not sent is refused.
    hang_up(&mut a, at(10_000));
    assert_eq!(drain(&mut a, at(20_000)), [Event::Connected]);
    welcome(&mut a, 1);
    push(&mut a, Message::Ack(Ack { seq: 3 }));
    assert!(matches!(
        drain(&mut a, at(20_000)).as_slice(),
        [Event::Lost {
            reason: Lost::Protocol(DecodeError::InvalidValue("seq")),
            ..
        }]
    ));
    assert_eq!(a.stats().pending, 1, "nothing dropped");
}

#[test]
fn a_connection_that_takes_time_to_open_gets_hello_once_open() {
    let mut a = agent();
    a.transport.opening = 2;
    a.record(&1u32, at(0)).unwrap();
    assert!(drain(&mut a, at(0)).is_empty(), "still opening");
    assert_eq!(
        a.poll_timeout(),
        at(1000),
        "the next sample, before the deadline"
    );
    assert!(a.transport.out.is_empty());
    // Sampling goes on while it opens.
    a.record(&2u32, at(1000)).unwrap();
    assert!(drain(&mut a, at(1000)).is_empty());
    assert_eq!(drain(&mut a, at(1200)), [Event::Connected]);
    assert!(a.transport.lines()[0].starts_with(r#"{"v":1,"kind":"hello""#));
    welcome(&mut a, 0);
    assert_eq!(drain(&mut a, at(1300)), [Event::Ready { pending: 2 }]);
    assert_eq!(sent_seqs(&a), [1, 2]);
}

#[test]
fn a_connection_that_never_opens_times_out_and_backs_off() {
    let mut a = agent();
    a.transport.opening = usize::MAX;
    assert!(drain(&mut a, at(0)).is_empty());
    for t in (1000..10_000).step_by(1000) {
        a.record(&1u32, at(t)).unwrap();
        assert!(drain(&mut a, at(t)).is_empty());
    }
    match drain(&mut a, at(10_000)).as_slice() {
        [
            Event::Lost {
                reason: Lost::Transport(TransportError::TimedOut),
                retry_in,
                was_connected: false,
            },
        ] => assert!(*retry_in <= Duration::from_millis(500)),
        other => panic!("{other:?}"),
    }
    assert!(!a.transport.up);
    assert_eq!(a.stats().pending, 4, "the ring kept the newest samples");
    // A connection that fails while opening is a failed attempt too.
    a.transport.opening = 1;
    a.transport.open_error = Some(TransportError::Refused);
    assert!(drain(&mut a, at(10_500)).is_empty());
    assert!(matches!(
        drain(&mut a, at(10_600)).as_slice(),
        [Event::Lost {
            reason: Lost::Transport(TransportError::Refused),
            was_connected: false,
            ..
        }]
    ));
    assert_eq!(a.stats().failures, 2);
}

#[test]
fn the_hello_after_a_reconnect_names_the_last_sample_sent() {
    let mut a = sending(3, at(0));
    let first = a.transport.lines()[0].clone();
    let Ok(Message::Hello(hello)) = decode_line::<u32>(first.trim_end().as_bytes()) else {
        panic!("{first}");
    };
    assert_eq!(hello.last_sent, 0);
    assert!(!first.contains("last_sent"), "left out while 0: {first}");
    hang_up(&mut a, at(0));
    a.transport.out.clear();
    assert_eq!(drain(&mut a, at(10_000)), [Event::Connected]);
    let again = a.transport.lines()[0].clone();
    let Ok(Message::Hello(hello)) = decode_line::<u32>(again.trim_end().as_bytes()) else {
        panic!("{again}");
    };
    assert_eq!(hello.last_sent, 3);
    // Byte for byte the line `wire::encode` writes for that hello.
    let mut buf = [0u8; 512];
    let expected = Hello {
        last_sent: 3,
        ..test_hello()
    };
    let n = wire::encode(&Message::<u32>::Hello(expected), &mut buf).unwrap();
    assert_eq!(again.as_bytes(), &buf[..n]);
    // A hello given with a `last_sent` of its own does not name it twice.
    let mut b: TestAgent = Agent::new(
        Fake::default(),
        &Hello {
            last_sent: 9,
            ..test_hello()
        },
        Config::new(Duration::from_secs(1), 42),
        storage(),
        at(0),
    );
    drain(&mut b, at(0));
    assert_eq!(b.transport.lines()[0], first);
}
