//! Expiry and forgetting.

use super::*;

#[test]
fn a_disconnected_agent_is_down_at_once_and_its_series_expire() {
    let mut agg = aggregator();
    let t0 = Instant::now();
    connect(&mut agg, 1, "a", 7, t0);
    connect(&mut agg, 2, "b", 7, t0);
    send(&mut agg, 1, sample(1, 1.0, &["/"]), t0);
    agg.handle(Event::Disconnected { conn: 1 }, t0);
    assert_eq!(get(&mut agg, r#"vitals_agent_up{instance="a"}"#), Some(0.0));
    assert_eq!(get(&mut agg, "vitals_server_agents_connected"), Some(1.0));
    agg.expire(t0 + Duration::from_secs(29));
    assert_eq!(get(&mut agg, ROOT), Some(1000.0), "not yet");
    let t1 = t0 + Duration::from_secs(31);
    agg.expire(t1);
    assert_eq!(get(&mut agg, ROOT), None);
    assert_eq!(get(&mut agg, USER), None);
    assert!(!agg.render().contains(r#"vitals_agent_info{instance="a""#));
    assert_eq!(
        get(&mut agg, r#"vitals_agent_up{instance="a"}"#),
        Some(0.0),
        "up stays, at 0"
    );
    // It comes back with the same labels, once.
    connect(&mut agg, 3, "a", 7, t1);
    send(&mut agg, 3, sample(2, 2.0, &["/"]), t1);
    assert_eq!(get(&mut agg, USER), Some(2.0));
    assert_eq!(
        agg.render()
            .matches(r#"vitals_agent_up{instance="a"}"#)
            .count(),
        1
    );
}

/// 20,000 bare hellos held `--max-agents` places for a day, and locked new agents out.
#[test]
fn an_id_that_never_sent_a_sample_is_forgotten_when_its_connection_goes() {
    let mut agg = Aggregator::new(Config {
        max_agents: 2,
        min_interval: Duration::ZERO,
        ..Config::default()
    });
    let t0 = Instant::now();
    connect(&mut agg, 1, "bare-1", 1, t0);
    connect(&mut agg, 2, "bare-2", 1, t0);
    assert!(matches!(
        connect(&mut agg, 3, "new", 1, t0),
        Reply::Refused {
            code: codes::TOO_MANY_AGENTS,
            ..
        }
    ));
    // Still connected: it keeps its place (its session closes it if no sample comes).
    agg.expire(t0 + Duration::from_secs(1));
    assert!(get(&mut agg, r#"vitals_agent_up{instance="bare-1"}"#).is_some());
    for conn in [1, 2] {
        agg.handle(Event::Disconnected { conn }, t0);
    }
    agg.expire(t0 + Duration::from_secs(1));
    assert_eq!(get(&mut agg, r#"vitals_agent_up{instance="bare-1"}"#), None);
    assert_eq!(get(&mut agg, "vitals_server_series"), Some(0.0));
    assert_eq!(
        connect(&mut agg, 4, "new", 1, t0),
        Reply::Welcome { last_seq: 0 }
    );
}

/// A hello declaring a huge interval for an absent agent's id kept its stale values for
/// three of those intervals.
#[test]
fn a_hello_does_not_extend_the_life_of_values_it_did_not_send() {
    let mut agg = Aggregator::new(Config {
        min_interval: Duration::ZERO,
        ..Config::default()
    });
    let t0 = Instant::now();
    connect(&mut agg, 1, "a", 1, t0);
    send(&mut agg, 1, sample(1, 10.5, &[]), t0);
    agg.handle(Event::Disconnected { conn: 1 }, t0);
    let mut slow = hello("a", 1);
    slow.interval_ms = agent_core::wire::MAX_INTERVAL_MS;
    let t1 = t0 + Duration::from_secs(1);
    assert_eq!(
        ask(
            &mut agg,
            t1,
            Event::Connected {
                conn: 2,
                hello: slow,
                authenticated: false,
                protocol: 1,
                peer: PEER,
            }
        ),
        Reply::Welcome { last_seq: 1 }
    );
    // Three of the sender's 1 s intervals, at least 5 s.
    agg.expire(t0 + MIN_EXPIRY - Duration::from_millis(1));
    assert_eq!(get(&mut agg, USER), Some(10.5));
    agg.expire(t0 + MIN_EXPIRY + Duration::from_millis(1));
    assert_eq!(get(&mut agg, USER), None);
    // Its own samples live as long as its hello says, at most the longest idle timeout.
    send(&mut agg, 2, sample(2, 20.5, &[]), t1);
    agg.expire(t1 + Duration::from_secs(3 * 3600 - 1));
    assert_eq!(get(&mut agg, USER), Some(20.5));
    agg.expire(t1 + MAX_EXPIRY + Duration::from_secs(1));
    assert_eq!(get(&mut agg, USER), None);
}
