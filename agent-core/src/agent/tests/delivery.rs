//! Samples into the ring, out to the server in order, whole and once, and freed by acks.

use super::*;

#[test]
fn acks_free_the_ring() {
    let mut a = agent();
    drain(&mut a, at(0));
    welcome(&mut a, 0);
    drain(&mut a, at(0));
    for i in 0..3 {
        a.record(&(i as u32), at(i as u64 * 1000)).unwrap();
    }
    drain(&mut a, at(3000));
    assert_eq!(a.stats().pending, 3);
    push(&mut a, Message::Ack(Ack { seq: 2 }));
    drain(&mut a, at(3000));
    assert_eq!(a.stats().pending, 1);
    assert_eq!(sent_seqs(&a), [1, 2, 3], "each sent once");
}

#[test]
fn a_server_acking_as_seldom_as_the_agent_asks_never_makes_it_drop_a_sample() {
    // Ring sizes and sample sizes from a board's to a 64-CPU server's; in each case the
    // samples grow by half after the hello, as they may with a new mount or interface.
    for (storage, text, expected) in [
        (6 * 1024, 2_000, 1),
        (64 * 1024, 2_000, 15),
        (256 * 1024, 2_600, MAX_ACK_EVERY_ASKED),
        (256 * 1024, 12_000, 10),
        (1024 * 1024, 12_000, 43.min(MAX_ACK_EVERY_ASKED)),
    ] {
        let small = "x".repeat(text);
        let grown = "x".repeat(text + text / 2);
        let mut buf = std::vec![0u8; 3 * text];
        let line = wire::encode(
            &Message::Sample(SampleMessage {
                seq: 1,
                dropped: 0,
                sample: small.as_str(),
            }),
            &mut buf,
        )
        .unwrap();
        assert_eq!(ack_every(storage, line), expected, "{storage} {text}");
        let every = u64::from(expected);
        let mut a: TestAgent = Agent::new(
            Fake::default(),
            &test_hello(),
            Config::new(Duration::from_secs(1), 42),
            Vec::leak(std::vec![0u8; storage]),
            at(0),
        );
        drain(&mut a, at(0));
        welcome(&mut a, 0);
        drain(&mut a, at(0));
        for seq in 1..=8 * every {
            let sample = if seq <= 4 * every { &small } else { &grown };
            let now = at(seq * 1000);
            a.record(&sample.as_str(), now).unwrap();
            drain(&mut a, now);
            if seq % every == 0 {
                push(&mut a, Message::Ack(Ack { seq }));
                drain(&mut a, now);
            }
        }
        let stats = a.stats();
        assert_eq!((stats.dropped, stats.pending), (0, 0), "{storage} {text}");
    }
}

#[test]
fn after_a_reconnect_unacknowledged_samples_are_sent_again() {
    let mut a = agent();
    drain(&mut a, at(0));
    welcome(&mut a, 0);
    drain(&mut a, at(0));
    a.record(&1_u32, at(0)).unwrap();
    a.record(&2_u32, at(1000)).unwrap();
    drain(&mut a, at(1000));
    push(&mut a, Message::Ack(Ack { seq: 1 }));
    drain(&mut a, at(1000));
    // The connection drops; a sample taken meanwhile waits.
    a.transport.fail_send = true;
    a.record(&3_u32, at(2000)).unwrap();
    let events = drain(&mut a, at(2000));
    assert!(
        matches!(
            events.as_slice(),
            [Event::Lost {
                was_connected: true,
                ..
            }]
        ),
        "{events:?}"
    );
    a.transport.fail_send = false;
    let events = drain(&mut a, at(10_000));
    assert_eq!(events, [Event::Connected]);
    welcome(&mut a, 0);
    assert_eq!(drain(&mut a, at(10_000)), [Event::Ready { pending: 2 }]);
    assert_eq!(sent_seqs(&a), [1, 2, 2, 3]);
}

#[test]
fn samples_the_server_already_merged_are_not_sent_again() {
    let mut a = agent();
    for i in 0..3 {
        a.record(&(i as u32), at(i as u64)).unwrap();
    }
    drain(&mut a, at(0));
    welcome(&mut a, 0);
    drain(&mut a, at(0));
    hang_up(&mut a, at(0));
    assert_eq!(drain(&mut a, at(10_000)), [Event::Connected]);
    welcome(&mut a, 2);
    drain(&mut a, at(10_000));
    assert_eq!(sent_seqs(&a), [1, 2, 3, 3]);
    assert_eq!(a.stats().pending, 1);
}

#[test]
fn a_full_ring_drops_the_oldest_and_reports_the_count() {
    let mut a = agent();
    a.transport.refuse = 1;
    drain(&mut a, at(0));
    for i in 0..7 {
        a.record(&(i as u32), at(i as u64 * 1000)).unwrap();
    }
    assert_eq!(a.stats().dropped, 3);
    assert_eq!(a.stats().pending, 4);
    drain(&mut a, at(60_000));
    welcome(&mut a, 0);
    drain(&mut a, at(60_000));
    assert_eq!(sent_seqs(&a), [4, 5, 6, 7]);
    // A sample carries the drops counted before it was recorded: the 7th knows of two.
    let lines = a.transport.lines();
    assert!(
        lines.last().unwrap().contains(r#""seq":7,"dropped":2"#),
        "{lines:?}"
    );
}

#[test]
fn a_sample_larger_than_the_ring_is_refused_and_counted() {
    let mut a: TestAgent = Agent::new(
        Fake::default(),
        &Hello::default(),
        Config::new(Duration::from_secs(1), 1),
        Vec::leak(std::vec![0u8; 100]),
        at(0),
    );
    assert_eq!(a.record(&1u32, at(0)), Ok(1));
    // A line of about 150 bytes: it does not fit the 100-byte ring, even emptied.
    let big = [7u32; 48];
    assert_eq!(a.record(&big[..], at(1000)), Err(RecordError::TooLarge));
    assert_eq!(
        a.stats().dropped,
        2,
        "the sample and the one dropped trying"
    );
    assert_eq!(a.stats().pending, 0);
    assert!(!a.sample_due(at(1999)), "the schedule moves on");
    assert_eq!(
        a.record(&1u32, at(2000)),
        Ok(3),
        "its number is skipped, so that the server counts it lost too"
    );
}

#[test]
fn a_sample_longer_than_the_protocol_allows_is_refused_and_nothing_dropped() {
    let mut a: TestAgent = Agent::new(
        Fake::default(),
        &Hello::default(),
        Config::new(Duration::from_secs(1), 1),
        Vec::leak(std::vec![0u8; 4 * wire::MAX_LINE]),
        at(0),
    );
    assert_eq!(a.record(&1u32, at(0)), Ok(1));
    let huge = std::vec![7u32; wire::MAX_LINE / 2];
    assert_eq!(
        a.record(&huge[..], at(1000)),
        Err(RecordError::Encode(EncodeError::LineTooLong))
    );
    assert_eq!((a.stats().dropped, a.stats().pending), (1, 1));
}

#[test]
fn a_line_wrapping_the_ring_is_sent_whole() {
    let mut a = agent();
    drain(&mut a, at(0));
    welcome(&mut a, 0);
    drain(&mut a, at(0));
    // Acknowledge all but the newest, so the ring is never empty and its records wrap
    // around the end of the storage, headers and lines alike.
    for i in 0..20u32 {
        a.record(&(i * 1000), at(u64::from(i) * 1000)).unwrap();
        drain(&mut a, at(u64::from(i) * 1000));
        push(&mut a, Message::Ack(Ack { seq: u64::from(i) }));
        assert!((1..=2).contains(&a.stats().pending));
    }
    assert_eq!(sent_seqs(&a), (1..=20).collect::<Vec<_>>());
}

/// Every sample line sent so far is a whole line, and none is sent twice.
fn assert_whole_and_once(agent: &TestAgent) {
    let lines = agent.transport.lines();
    assert!(lines.iter().all(|l| l.ends_with('\n')), "{lines:?}");
    for line in &lines {
        assert!(
            decode_line::<u32>(line.trim_end().as_bytes()).is_ok(),
            "{line:?}"
        );
    }
}

#[test]
fn a_transport_that_cannot_take_a_line_now_gets_it_later_whole_once_and_in_order() {
    let mut a = agent();
    drain(&mut a, at(0));
    welcome(&mut a, 0);
    assert_eq!(drain(&mut a, at(0)), [Event::Ready { pending: 0 }]);
    // The network is stuck: nothing can go, and sampling goes on without a failure.
    a.transport.room = Some(0);
    for i in 0..3u32 {
        a.record(&i, at(u64::from(i) * 1000)).unwrap();
        assert!(drain(&mut a, at(u64::from(i) * 1000)).is_empty());
        assert_eq!(a.poll_timeout(), at(u64::from(i + 1) * 1000));
    }
    assert_eq!(sent_seqs(&a), [] as [u64; 0]);
    assert_eq!(a.stats().pending, 3);
    // Room for one line and a half: one line goes, whole; the next waits.
    a.transport.room = Some(55 + 30);
    assert!(drain(&mut a, at(2500)).is_empty());
    assert_eq!(sent_seqs(&a), [1]);
    assert_eq!(a.transport.room, Some(30));
    // Stuck again while another sample is taken, then free: the rest, in order, once.
    a.transport.room = Some(0);
    a.record(&3u32, at(3000)).unwrap();
    assert!(drain(&mut a, at(3000)).is_empty());
    a.transport.room = None;
    assert!(drain(&mut a, at(3100)).is_empty());
    assert_eq!(sent_seqs(&a), [1, 2, 3, 4]);
    assert_whole_and_once(&a);
    push(&mut a, Message::Ack(Ack { seq: 4 }));
    drain(&mut a, at(3200));
    assert_eq!(a.stats().pending, 0);
    assert_eq!((a.stats().failures, a.stats().dropped), (0, 0));
}

#[test]
fn lines_that_waited_are_sent_again_after_a_reconnect_without_gaps() {
    let mut a = agent();
    drain(&mut a, at(0));
    welcome(&mut a, 0);
    drain(&mut a, at(0));
    a.record(&0u32, at(0)).unwrap();
    drain(&mut a, at(0));
    a.transport.room = Some(0);
    a.record(&1u32, at(1000)).unwrap();
    drain(&mut a, at(1000));
    // The connection is lost while a line waits; the server had merged nothing.
    a.transport.fail_send = true;
    a.transport.room = None;
    a.record(&2u32, at(2000)).unwrap();
    assert!(matches!(
        drain(&mut a, at(2000)).as_slice(),
        [Event::Lost {
            was_connected: true,
            ..
        }]
    ));
    a.transport.fail_send = false;
    assert_eq!(drain(&mut a, at(10_000)), [Event::Connected]);
    welcome(&mut a, 0);
    assert_eq!(drain(&mut a, at(10_000)), [Event::Ready { pending: 3 }]);
    assert_eq!(sent_seqs(&a), [1, 1, 2, 3]);
}
