//! Samples a full ring drops: counted lost, or doubtful until an ack or a welcome settles them.

use super::*;

/// The `dropped` of the last sample line sent.
fn last_dropped(agent: &TestAgent) -> u64 {
    let lines = agent.transport.lines();
    lines
        .iter()
        .rev()
        .find_map(|l| match decode_line::<u32>(l.trim_end().as_bytes()) {
            Ok(Message::Sample(s)) => Some(s.dropped),
            _ => None,
        })
        .expect("a sample was sent")
}

#[test]
fn samples_dropped_after_the_server_merged_them_are_not_counted_lost() {
    // Four sent and merged, none acknowledged yet, when the connection is cut.
    let mut a = sending(4, at(0));
    hang_up(&mut a, at(0));
    for i in 5..=8u32 {
        a.record(&i, at(u64::from(i) * 1000)).unwrap();
    }
    assert_eq!((a.stats().dropped, a.stats().doubtful), (0, 4));
    // The server had merged all four.
    assert_eq!(drain(&mut a, at(60_000)), [Event::Connected]);
    welcome(&mut a, 4);
    drain(&mut a, at(60_000));
    assert_eq!((a.stats().dropped, a.stats().doubtful), (0, 0));
    assert_eq!(sent_seqs(&a), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(last_dropped(&a), 0);
}

#[test]
fn dropped_samples_the_server_did_not_merge_are_counted_once_a_welcome_says_so() {
    let mut a = sending(4, at(0));
    hang_up(&mut a, at(0));
    for i in 5..=9u32 {
        a.record(&i, at(u64::from(i) * 1000)).unwrap();
    }
    // 1-4 were sent and dropped: doubtful; 5 was never sent: lost.
    assert_eq!((a.stats().dropped, a.stats().doubtful), (1, 4));
    assert_eq!(drain(&mut a, at(60_000)), [Event::Connected]);
    welcome(&mut a, 1);
    drain(&mut a, at(60_000));
    assert_eq!((a.stats().dropped, a.stats().doubtful), (4, 0));
    // The samples waiting carry what was known when they were taken; the next carries it
    // all, and the count never goes down.
    assert_eq!(sent_seqs(&a), [1, 2, 3, 4, 6, 7, 8, 9]);
    assert_eq!(last_dropped(&a), 0);
    push(&mut a, Message::Ack(Ack { seq: 9 }));
    a.record(&0_u32, at(61_000)).unwrap();
    drain(&mut a, at(61_000));
    assert_eq!(last_dropped(&a), 4, "2, 3, 4 and 5 were lost");
}

#[test]
fn a_restarted_server_that_forgot_the_session_makes_every_doubtful_sample_lost() {
    let mut a = sending(4, at(0));
    hang_up(&mut a, at(0));
    for i in 5..=8u32 {
        a.record(&i, at(u64::from(i) * 1000)).unwrap();
    }
    assert_eq!(drain(&mut a, at(60_000)), [Event::Connected]);
    // `last_seq` 0: the new server never saw this session. The agent cannot tell what its
    // predecessor merged without acknowledging, and counts none of it delivered.
    welcome(&mut a, 0);
    drain(&mut a, at(60_000));
    assert_eq!((a.stats().dropped, a.stats().doubtful), (4, 0));
}

#[test]
fn samples_dropped_on_a_slow_connection_are_settled_by_its_acks() {
    let mut a = sending(4, at(0));
    // The ring turns over before the server acknowledges: 1-4 are doubtful.
    for i in 5..=8u32 {
        a.record(&i, at(u64::from(i) * 1000)).unwrap();
        drain(&mut a, at(u64::from(i) * 1000));
    }
    assert_eq!((a.stats().dropped, a.stats().doubtful), (0, 4));
    push(&mut a, Message::Ack(Ack { seq: 2 }));
    drain(&mut a, at(8000));
    assert_eq!((a.stats().dropped, a.stats().doubtful), (0, 2));
    push(&mut a, Message::Ack(Ack { seq: 8 }));
    drain(&mut a, at(8000));
    assert_eq!(
        (a.stats().dropped, a.stats().doubtful, a.stats().pending),
        (0, 0, 0)
    );
}

#[test]
fn a_connection_that_lets_the_ring_turn_over_unacknowledged_is_given_up() {
    let mut a = sending(4, at(0));
    // Stuck: nothing more goes, and no ack comes, while the ring turns over.
    a.transport.room = Some(0);
    for i in 5..=9u32 {
        a.record(&i, at(u64::from(i) * 1000)).unwrap();
    }
    assert_eq!((a.stats().dropped, a.stats().doubtful), (1, 4));
    a.transport.room = None;
    assert!(matches!(
        drain(&mut a, at(9000)).as_slice(),
        [Event::Lost {
            reason: Lost::Overrun,
            was_connected: true,
            ..
        }]
    ));
    assert_eq!(
        sent_seqs(&a),
        [1, 2, 3, 4],
        "nothing sent past the lost ones"
    );
    // The next welcome settles it exactly: the server had merged 1-3.
    assert_eq!(drain(&mut a, at(60_000)), [Event::Connected]);
    welcome(&mut a, 3);
    drain(&mut a, at(60_000));
    assert_eq!((a.stats().dropped, a.stats().doubtful), (2, 0));
    assert_eq!(sent_seqs(&a), [1, 2, 3, 4, 6, 7, 8, 9]);
}

#[test]
fn an_ack_that_settles_the_run_first_keeps_the_connection() {
    let mut a = sending(4, at(0));
    a.transport.room = Some(0);
    for i in 5..=9u32 {
        a.record(&i, at(u64::from(i) * 1000)).unwrap();
    }
    assert_eq!((a.stats().dropped, a.stats().doubtful), (1, 4));
    a.transport.room = None;
    push(&mut a, Message::Ack(Ack { seq: 4 }));
    assert!(drain(&mut a, at(9000)).is_empty());
    assert_eq!((a.stats().dropped, a.stats().doubtful), (1, 0));
    assert_eq!(sent_seqs(&a), [1, 2, 3, 4, 6, 7, 8, 9]);
}
