//! v2 lines that leave out the values they share with the line before: written onto the
//! connection's values, and into the view in place only when it holds the line before.

use super::custom::{connect_v2, declaration, send_values};
use super::*;
use crate::declaration::Declaration;
use agent_core::wire::ValuesHeader;

/// A line of `declared` on connection 1 with only these values new, by position.
fn send_changes(
    agg: &mut Aggregator,
    seq: u64,
    declared: &Arc<Declaration>,
    changes: &[(u32, f64)],
    now: Instant,
) -> Reply {
    let mut message = Box::<Decoded>::default();
    message.start_changes();
    for &(at, value) in changes {
        message.change(at, value);
    }
    let header = ValuesHeader {
        seq,
        dropped: 0,
        g: declared.g,
        t: 1_700_000_000_000 + seq * 1000,
    };
    message.finish_declared(&header, declared, false);
    ask(agg, now, Event::Sample { conn: 1, message })
}

/// `node_load1` and the two series of the custom family `x`, as exposed.
fn exposed(agg: &mut Aggregator) -> [Option<f64>; 3] {
    [
        get(agg, r#"node_load1{instance="a"}"#),
        get(agg, r#"x{instance="a",disk="a"}"#),
        get(agg, r#"x{instance="a",disk="b"}"#),
    ]
}

#[test]
fn values_left_out_are_those_of_the_line_before_whether_it_was_shown_or_not() {
    let now = Instant::now();
    let mut agg = aggregator();
    let declared = declaration(1, "x", "gauge", "h");
    assert_eq!(
        connect_v2(&mut agg, 1, "a", now),
        Reply::Welcome { last_seq: 0 }
    );
    let merged = |seq| Reply::Merged { seq };
    assert_eq!(
        send_values(&mut agg, 1, 1, &declared, &[0.5, 1.0, 2.0], true, now),
        merged(1)
    );
    assert_eq!(exposed(&mut agg), [Some(0.5), Some(1.0), Some(2.0)]);

    // Written in place.
    assert_eq!(
        send_changes(&mut agg, 2, &declared, &[(1, 5.0)], now),
        merged(2)
    );
    assert_eq!(exposed(&mut agg), [Some(0.5), Some(5.0), Some(2.0)]);
    let time = r#"node_time_seconds{instance="a"}"#;
    assert_eq!(get(&mut agg, time), Some(1_700_000_002.0));

    // While a scrape holds the view, into a copy; the scrape's stays as it was.
    let slot = agg.published().agents.read().unwrap()[0].clone();
    let held = slot.get();
    assert_eq!(
        send_changes(&mut agg, 3, &declared, &[(0, 0.75)], now),
        merged(3)
    );
    assert_eq!(exposed(&mut agg), [Some(0.75), Some(5.0), Some(2.0)]);
    assert_ne!(held.values, slot.get().values);
    drop(held);

    // A line merged before is not shown again, but the next builds on it: the view, which
    // does not hold it, is written whole.
    assert_eq!(
        send_changes(&mut agg, 3, &declared, &[(2, 9.0)], now),
        merged(3)
    );
    assert_eq!(exposed(&mut agg), [Some(0.75), Some(5.0), Some(2.0)]);
    assert_eq!(
        send_changes(&mut agg, 4, &declared, &[(1, 6.0)], now),
        merged(4)
    );
    assert_eq!(exposed(&mut agg), [Some(0.75), Some(6.0), Some(9.0)]);
    assert_eq!(get(&mut agg, time), Some(1_700_000_004.0));

    // A whole line sets them all again.
    assert_eq!(
        send_values(&mut agg, 1, 5, &declared, &[1.0, 2.0, 3.0], false, now),
        merged(5)
    );
    assert_eq!(exposed(&mut agg), [Some(1.0), Some(2.0), Some(3.0)]);
    assert_eq!(send_changes(&mut agg, 6, &declared, &[], now), merged(6));
    assert_eq!(exposed(&mut agg), [Some(1.0), Some(2.0), Some(3.0)]);
    assert_eq!(get(&mut agg, time), Some(1_700_000_006.0));
}
