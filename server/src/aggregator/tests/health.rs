//! The server's own health metrics.

use super::*;

#[test]
fn rejections_are_counted_by_reason() {
    let mut agg = aggregator();
    agg.handle(
        Event::Rejected {
            reason: codes::BAD_JSON,
            conn: None,
        },
        Instant::now(),
    );
    agg.handle(
        Event::Rejected {
            reason: codes::BAD_JSON,
            conn: None,
        },
        Instant::now(),
    );
    assert_eq!(
        get(
            &mut agg,
            r#"vitals_server_frames_rejected_total{reason="bad_json"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        get(
            &mut agg,
            r#"vitals_server_frames_rejected_total{reason="too_deep"}"#
        ),
        Some(0.0)
    );
}
