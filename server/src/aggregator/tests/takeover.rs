//! Takeovers of an id, and conflicts.

use super::*;

/// Two machines with one id and key took it from each other after every welcome: 83
/// reconnects in 30 s, their values interleaved in one series.
#[test]
fn repeated_takeovers_of_one_id_are_refused_while_they_go_on() {
    let mut agg = aggregator();
    let t0 = Instant::now();
    let at = |s: u64| t0 + Duration::from_secs(s);
    connect(&mut agg, 1, "a", 7, t0);
    // One takeover (the machine rebooted, its old connection still looks alive) is fine.
    assert_eq!(
        connect(&mut agg, 2, "a", 7, at(1)),
        Reply::Welcome { last_seq: 0 }
    );
    // The other comes back: refused, and the one connected keeps the id.
    let conflict = |reply: Reply| {
        matches!(
            reply,
            Reply::Refused {
                code: codes::ID_CONFLICT,
                ..
            }
        )
    };
    assert!(conflict(connect(&mut agg, 3, "a", 7, at(2))));
    assert_eq!(
        send(&mut agg, 2, sample(1, 1.0, &[]), at(2)),
        Reply::Merged { seq: 1 }
    );
    // Each attempt keeps the conflict going, however long it lasts.
    for (conn, s) in [(4, 50), (5, 100), (6, 159)] {
        assert!(conflict(connect(&mut agg, conn, "a", 7, at(s))), "{s} s");
    }
    // Once nobody has tried for a minute, a takeover works again.
    assert_eq!(
        connect(&mut agg, 7, "a", 7, at(220)),
        Reply::Welcome { last_seq: 1 }
    );
    // And when the holder goes, the next connection gets the id at once.
    assert!(conflict(connect(&mut agg, 8, "a", 7, at(221))));
    agg.handle(Event::Disconnected { conn: 7 }, at(222));
    assert_eq!(
        connect(&mut agg, 9, "a", 7, at(222)),
        Reply::Welcome { last_seq: 1 }
    );
}
