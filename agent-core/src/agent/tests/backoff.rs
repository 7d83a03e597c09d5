//! The delay before the next try: doubled per failure, capped, jittered, and reset only by a
//! connection that proved itself.

use super::*;

#[test]
fn backoff_grows_with_each_failure_and_is_capped() {
    let mut a = agent();
    a.transport.refuse = 100;
    let mut now = at(0);
    let mut delays = Vec::new();
    for _ in 0..12 {
        match drain(&mut a, now).as_slice() {
            [
                Event::Lost {
                    reason: Lost::Transport(TransportError::Refused),
                    retry_in,
                    was_connected: false,
                },
            ] => {
                delays.push(retry_in.as_millis() as u64);
                // Nothing happens before the retry is due.
                assert!(drain(&mut a, now + (*retry_in - Duration::from_millis(1))).is_empty());
                now = now + *retry_in;
            }
            other => panic!("{other:?}"),
        }
    }
    // Equal jitter: each delay lies in the upper half of 500 ms doubled per failure, capped at 30 s.
    for (i, &d) in delays.iter().enumerate() {
        let base = (500u64 << i).min(30_000);
        assert!(
            d >= base / 2 && d <= base,
            "failure {i}: {d} ms not in [{}, {base}]",
            base / 2
        );
    }
    assert!(delays[5] > delays[0] * 4, "grows: {delays:?}");
    assert!(delays.iter().all(|&d| d <= 30_000), "capped: {delays:?}");
    assert!(
        delays[8..].iter().all(|&d| d >= 15_000),
        "stays at the cap: {delays:?}"
    );
}

#[test]
fn jitter_differs_between_agents() {
    let delay = |seed| {
        let hello = Hello::default();
        let mut a: TestAgent = Agent::new(
            Fake {
                refuse: 9,
                ..Fake::default()
            },
            &hello,
            Config::new(Duration::from_secs(1), seed),
            storage(),
            at(0),
        );
        let mut now = at(0);
        let mut total = 0;
        for _ in 0..6 {
            if let Some(Event::Lost { retry_in, .. }) = a.poll(now) {
                total += retry_in.as_millis();
                now = now + retry_in;
            }
        }
        total
    };
    assert_ne!(delay(1), delay(2));
}

/// The delay before the next try after the connection fails at `now`.
fn retry_after_failure(a: &mut TestAgent, now: Instant) -> Duration {
    a.transport.fail_send = true;
    a.record(&1_u32, now).unwrap();
    let events = drain(a, now);
    a.transport.fail_send = false;
    match events.as_slice() {
        [
            Event::Lost {
                reason: Lost::Transport(TransportError::Reset),
                retry_in,
                was_connected: true,
            },
        ] => *retry_in,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_connection_that_proves_itself_resets_the_backoff() {
    let mut a = agent();
    a.transport.refuse = 5;
    let mut now = at(0);
    for _ in 0..5 {
        if let Some(Event::Lost { retry_in, .. }) = a.poll(now) {
            now = now + retry_in;
        }
    }
    assert_eq!(drain(&mut a, now), [Event::Connected]);
    welcome(&mut a, 0);
    drain(&mut a, now);
    a.record(&1_u32, now).unwrap();
    drain(&mut a, now);
    // The server acknowledges a sample sent on this connection: it works.
    push(&mut a, Message::Ack(Ack { seq: 1 }));
    drain(&mut a, now);
    let retry_in = retry_after_failure(&mut a, now);
    assert!(retry_in <= Duration::from_millis(500), "{retry_in:?}");
    // So does one that stays up as long as the longest backoff, acknowledged or not.
    now = now + retry_in;
    assert_eq!(drain(&mut a, now), [Event::Connected]);
    welcome(&mut a, 1);
    drain(&mut a, now);
    now = now + Config::new(Duration::from_secs(1), 0).backoff_max;
    drain(&mut a, now);
    let retry_in = retry_after_failure(&mut a, now);
    assert!(retry_in <= Duration::from_millis(500), "{retry_in:?}");
}

#[test]
fn a_server_that_welcomes_and_hangs_up_is_called_back_no_faster_than_the_backoff() {
    let mut a = agent();
    let mut now = at(0);
    let mut delays = Vec::new();
    for _ in 0..10 {
        assert_eq!(drain(&mut a, now), [Event::Connected]);
        welcome(&mut a, 0);
        assert_eq!(drain(&mut a, now), [Event::Ready { pending: 0 }]);
        push(
            &mut a,
            Message::Error(ErrorMessage {
                code: crate::sample::bounded(wire::codes::SHUTTING_DOWN),
                message: crate::sample::bounded("bye"),
            }),
        );
        match drain(&mut a, now).as_slice() {
            [Event::Lost { retry_in, .. }] => {
                delays.push(retry_in.as_millis() as u64);
                now = now + *retry_in;
            }
            other => panic!("{other:?}"),
        }
    }
    // The same delays as for a server that refuses every connection: each welcome is a
    // failure all the same, so the delays double up to the cap.
    for (i, &d) in delays.iter().enumerate() {
        let base = (500u64 << i).min(30_000);
        assert!(d >= base / 2 && d <= base, "{i}: {d} ms, {delays:?}");
    }
    assert!(
        now >= at(60_000),
        "ten connections took {now:?}: {delays:?}"
    );
}

#[test]
fn a_server_going_away_sends_the_agent_to_the_next_server_and_other_losses_do_not() {
    let mut a = agent();
    let now = at(0);
    assert_eq!(drain(&mut a, now), [Event::Connected]);
    welcome(&mut a, 0);
    assert_eq!(drain(&mut a, now), [Event::Ready { pending: 0 }]);
    // Refused for another reason: the same server is tried again.
    push(
        &mut a,
        Message::Error(ErrorMessage {
            code: crate::sample::bounded(wire::codes::IDLE_TIMEOUT),
            message: crate::sample::bounded("no sample in time"),
        }),
    );
    assert!(matches!(
        drain(&mut a, now).as_slice(),
        [Event::Lost { .. }]
    ));
    assert_eq!(a.transport().fail_overs, 0);
    let now = at(60_000);
    assert_eq!(drain(&mut a, now), [Event::Connected]);
    welcome(&mut a, 0);
    assert_eq!(drain(&mut a, now), [Event::Ready { pending: 0 }]);
    hang_up(&mut a, now);
    assert_eq!(
        a.transport().fail_overs,
        1,
        "the server said it is stopping"
    );
}
