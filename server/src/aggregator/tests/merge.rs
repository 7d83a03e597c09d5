//! Merging samples: counters, samples sent again, sequence gaps, samples held back, the rate limit.

use super::*;

#[test]
fn a_counter_follows_the_agent_and_restarts_when_the_machine_counter_goes_down() {
    let mut agg = aggregator();
    let t0 = Instant::now();
    connect(&mut agg, 1, "a", 7, t0);
    send(&mut agg, 1, sample(1, 10.0, &[]), t0);
    send(&mut agg, 1, sample(2, 12.25, &[]), t0);
    assert_eq!(get(&mut agg, USER), Some(12.25));
    // The machine rebooted: its counter starts again from a smaller value.
    send(&mut agg, 1, sample(3, 1.5, &[]), t0);
    assert_eq!(get(&mut agg, USER), Some(1.5));
}

#[test]
fn a_sample_sent_again_after_a_reconnect_is_acknowledged_but_not_merged_twice() {
    let mut agg = aggregator();
    let t0 = Instant::now();
    connect(&mut agg, 1, "a", 7, t0);
    send(&mut agg, 1, sample(1, 10.0, &[]), t0);
    send(&mut agg, 1, sample(2, 20.0, &[]), t0);
    agg.handle(Event::Disconnected { conn: 1 }, t0);
    // Same session: the welcome tells the agent what is already merged.
    assert_eq!(
        connect(&mut agg, 2, "a", 7, t0),
        Reply::Welcome { last_seq: 2 }
    );
    assert_eq!(
        send(&mut agg, 2, sample(1, 10.0, &[]), t0),
        Reply::Merged { seq: 1 }
    );
    assert_eq!(
        get(&mut agg, USER),
        Some(20.0),
        "the old sample did not turn the counter back"
    );
    assert_eq!(
        get(&mut agg, r#"vitals_agent_samples_total{instance="a"}"#),
        Some(2.0)
    );
    // A new session (the agent restarted) numbers from 1 again.
    assert_eq!(
        connect(&mut agg, 3, "a", 8, t0),
        Reply::Welcome { last_seq: 0 }
    );
    assert_eq!(
        send(&mut agg, 3, sample(1, 21.0, &[]), t0),
        Reply::Merged { seq: 1 }
    );
    assert_eq!(get(&mut agg, USER), Some(21.0));
}

/// After a crash the agent sends again, oldest first, what the crashed server may have
/// exposed: each used to become the current value, and counters went back.
#[test]
fn a_server_with_no_view_shows_none_of_the_samples_sent_before_last_sent() {
    const SAMPLES: &str = r#"vitals_agent_samples_total{instance="a"}"#;
    const LAST_SEEN: &str = r#"vitals_agent_last_seen_timestamp_seconds{instance="a"}"#;
    let mut agg = aggregator();
    let t0 = Instant::now();
    assert_eq!(
        connect_after(&mut agg, 1, "a", 7, 10, t0),
        Reply::Welcome { last_seq: 0 }
    );
    // The oldest comes whole, the others flat, as a session sends them.
    assert_eq!(
        send(&mut agg, 1, sample(5, 105.0, &["/"]), t0),
        Reply::Merged { seq: 5 }
    );
    for seq in 6..=9 {
        assert_eq!(
            send_flat(&mut agg, 1, sample(seq, 100.0 + seq as f64, &["/"]), t0),
            Reply::Merged { seq }
        );
        assert_eq!(get(&mut agg, USER), None, "seq {seq}");
        assert_eq!(get(&mut agg, ROOT), None);
    }
    assert_eq!(get(&mut agg, r#"vitals_agent_up{instance="a"}"#), Some(1.0));
    assert_eq!(get(&mut agg, LAST_SEEN), Some(0.0), "no values shown yet");
    // From `last_sent` on, as before; the held samples were counted, without gaps.
    assert_eq!(
        send_flat(&mut agg, 1, sample(10, 110.0, &["/"]), t0),
        Reply::Merged { seq: 10 }
    );
    assert_eq!(get(&mut agg, USER), Some(110.0));
    assert_eq!(get(&mut agg, ROOT), Some(1000.0));
    assert_eq!(get(&mut agg, SAMPLES), Some(6.0));
    assert!(get(&mut agg, LAST_SEEN).unwrap() > 0.0);
    send_flat(&mut agg, 1, sample(12, 112.0, &["/"]), t0);
    assert_eq!(get(&mut agg, USER), Some(112.0));
    assert_eq!(
        get(
            &mut agg,
            r#"vitals_agent_sequence_gaps_total{instance="a"}"#
        ),
        Some(1.0)
    );
}

#[test]
fn an_earlier_view_stays_until_a_sample_from_last_sent_on_arrives() {
    let mut agg = aggregator();
    let t0 = Instant::now();
    connect(&mut agg, 1, "a", 7, t0);
    send(&mut agg, 1, sample(1, 30.0, &["/"]), t0);
    agg.handle(Event::Disconnected { conn: 1 }, t0);
    // The agent went to another server, which exposed up to 6, then came back.
    assert_eq!(
        connect_after(&mut agg, 2, "a", 7, 6, t0),
        Reply::Welcome { last_seq: 1 }
    );
    // Held back whatever they say, and the first comes with a new mount.
    assert_eq!(
        send(&mut agg, 2, sample(4, 10.0, &["/", "/boot"]), t0),
        Reply::Merged { seq: 4 }
    );
    send_flat(&mut agg, 2, sample(5, 11.0, &["/", "/boot"]), t0);
    assert_eq!(get(&mut agg, USER), Some(30.0));
    assert_eq!(get(&mut agg, BOOT), None);
    // The held sample that came whole labels the first one shown.
    assert_eq!(
        send_flat(&mut agg, 2, sample(6, 40.0, &["/", "/boot"]), t0),
        Reply::Merged { seq: 6 }
    );
    assert_eq!(get(&mut agg, USER), Some(40.0));
    assert_eq!(get(&mut agg, BOOT), Some(1000.0));
    // A sample held back and flat whose series nobody labelled is refused, as one shown.
    connect_after(&mut agg, 3, "a", 7, 20, t0);
    assert!(matches!(
        send_flat(&mut agg, 3, sample(7, 41.0, &["/efi"]), t0),
        Reply::Refused { .. }
    ));
}

#[test]
fn skipped_sequence_numbers_are_counted_but_a_resend_or_a_new_session_is_not() {
    const GAPS: &str = r#"vitals_agent_sequence_gaps_total{instance="a"}"#;
    let mut agg = aggregator();
    let t0 = Instant::now();
    connect(&mut agg, 1, "a", 7, t0);
    send(&mut agg, 1, sample(1, 1.0, &[]), t0);
    assert_eq!(
        get(&mut agg, GAPS),
        Some(0.0),
        "shown from the first sample"
    );
    send(&mut agg, 1, sample(2, 1.0, &[]), t0);
    // 3 and 4 never arrive.
    send(&mut agg, 1, sample(5, 1.0, &[]), t0);
    assert_eq!(get(&mut agg, GAPS), Some(2.0), "the number missing");
    // A reconnect in the same session resends what was not merged: no gap, and an old
    // sample sent again is neither merged nor counted.
    agg.handle(Event::Disconnected { conn: 1 }, t0);
    assert_eq!(
        connect(&mut agg, 2, "a", 7, t0),
        Reply::Welcome { last_seq: 5 }
    );
    send(&mut agg, 2, sample(4, 1.0, &[]), t0);
    send(&mut agg, 2, sample(6, 1.0, &[]), t0);
    send(&mut agg, 2, sample(7, 1.0, &[]), t0);
    assert_eq!(get(&mut agg, GAPS), Some(2.0));
    // The agent restarted: a new session numbers from 1 again, which is not a gap; the
    // counter keeps what it counted before.
    connect(&mut agg, 3, "a", 8, t0);
    send(&mut agg, 3, sample(1, 1.0, &[]), t0);
    assert_eq!(get(&mut agg, GAPS), Some(2.0));
    send(&mut agg, 3, sample(3, 1.0, &[]), t0);
    assert_eq!(get(&mut agg, GAPS), Some(3.0));
}

/// Two sessions each skipping 2^64 - 3 numbers overflowed the count of gaps: a panic in a
/// debug build, a counter that went backwards in a release one.
#[test]
fn sequence_numbers_that_skip_past_the_counters_range_saturate_it() {
    const GAPS: &str = r#"vitals_agent_sequence_gaps_total{instance="a"}"#;
    let mut agg = aggregator();
    let t0 = Instant::now();
    let mut seen = 0.0;
    for session in [1, 2, 3] {
        agg.handle(Event::Disconnected { conn: session - 1 }, t0);
        connect(&mut agg, session, "a", session, t0);
        for seq in [1, u64::MAX] {
            assert_eq!(
                send(&mut agg, session, sample(seq, 1.0, &[]), t0),
                Reply::Merged { seq }
            );
            let gaps = get(&mut agg, GAPS).unwrap();
            assert!(gaps >= seen, "{gaps} after {seen}");
            seen = gaps;
        }
    }
    assert_eq!(seen, u64::MAX as f64);
}

#[test]
fn a_restarted_server_takes_the_first_sample_of_a_session_as_the_baseline() {
    // The agent kept samples 41.. unacknowledged while the server restarted.
    let mut agg = aggregator();
    let t0 = Instant::now();
    assert_eq!(
        connect(&mut agg, 1, "a", 7, t0),
        Reply::Welcome { last_seq: 0 }
    );
    send(&mut agg, 1, sample(41, 1.0, &[]), t0);
    send(&mut agg, 1, sample(42, 1.0, &[]), t0);
    assert_eq!(
        get(
            &mut agg,
            r#"vitals_agent_sequence_gaps_total{instance="a"}"#
        ),
        Some(0.0)
    );
}

#[test]
fn samples_faster_than_the_minimum_interval_are_acknowledged_and_dropped() {
    let mut agg = Aggregator::new(Config {
        expire_after: Some(Duration::from_secs(30)),
        min_interval: Duration::from_secs(1),
        ..Config::default()
    });
    let t0 = Instant::now();
    connect(&mut agg, 1, "a", 1, t0);
    let burst = BURST as u64;
    for seq in 1..=burst {
        assert_eq!(
            send(&mut agg, 1, sample(seq, seq as f64, &["/"]), t0),
            Reply::Merged { seq }
        );
    }
    // The burst is spent: the next one is acknowledged but not merged (and the two
    // numbers it skipped are counted as gaps all the same).
    assert_eq!(
        send(&mut agg, 1, sample(burst + 3, 0.5, &["/"]), t0),
        Reply::Merged { seq: burst + 3 }
    );
    assert_eq!(get(&mut agg, USER), Some(burst as f64));
    assert_eq!(
        get(
            &mut agg,
            r#"vitals_server_frames_rejected_total{reason="too_frequent"}"#
        ),
        Some(1.0)
    );
    // A second later, one more is allowed.
    let t1 = t0 + Duration::from_millis(1001);
    send(&mut agg, 1, sample(burst + 4, 7.0, &["/"]), t1);
    assert_eq!(get(&mut agg, USER), Some(7.0));
    assert_eq!(
        get(
            &mut agg,
            r#"vitals_agent_sequence_gaps_total{instance="a"}"#
        ),
        Some(2.0)
    );
}
