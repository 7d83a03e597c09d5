//! Hellos: limits of agents and series, ids in use, a newer connection for an id.

use super::*;

#[test]
fn a_newer_connection_for_the_same_id_takes_over() {
    let mut agg = aggregator();
    let t0 = Instant::now();
    connect(&mut agg, 1, "a", 7, t0);
    connect(&mut agg, 2, "a", 7, t0);
    assert!(matches!(
        send(&mut agg, 1, sample(1, 1.0, &[]), t0),
        Reply::Refused { .. }
    ));
    assert_eq!(
        send(&mut agg, 2, sample(1, 1.0, &[]), t0),
        Reply::Merged { seq: 1 }
    );
    // The old connection closing does not mark the agent down.
    agg.handle(Event::Disconnected { conn: 1 }, t0);
    assert_eq!(get(&mut agg, r#"vitals_agent_up{instance="a"}"#), Some(1.0));
}

#[test]
fn a_new_agent_is_up_before_its_first_sample() {
    let mut agg = aggregator();
    connect(&mut agg, 1, "a", 7, Instant::now());
    assert_eq!(get(&mut agg, r#"vitals_agent_up{instance="a"}"#), Some(1.0));
    assert_eq!(get(&mut agg, USER), None);
}

#[test]
fn past_max_agents_a_new_id_is_refused_until_one_is_forgotten() {
    let mut agg = Aggregator::new(Config {
        expire_after: Some(Duration::from_secs(30)),
        max_agents: 2,
        forget_after: Duration::from_secs(60),
        min_interval: Duration::ZERO,
        ..Config::default()
    });
    let t0 = Instant::now();
    connect(&mut agg, 1, "a", 1, t0);
    connect(&mut agg, 2, "b", 1, t0);
    // (An id that never sent a sample is forgotten with its connection: see
    // `an_id_that_never_sent_a_sample_is_forgotten_when_its_connection_goes`.)
    send(&mut agg, 1, sample(1, 1.0, &[]), t0);
    send(&mut agg, 2, sample(1, 1.0, &[]), t0);
    let third = connect(&mut agg, 3, "c", 1, t0);
    assert!(
        matches!(third, Reply::Refused { code, .. } if code == codes::TOO_MANY_AGENTS),
        "{third:?}"
    );
    // A known id still gets back in.
    agg.handle(Event::Disconnected { conn: 1 }, t0);
    assert_eq!(
        connect(&mut agg, 4, "a", 1, t0),
        Reply::Welcome { last_seq: 1 }
    );
    // Once `b` is gone, expired and then forgotten, `c` fits.
    agg.handle(Event::Disconnected { conn: 2 }, t0);
    agg.expire(t0 + Duration::from_secs(31));
    assert!(get(&mut agg, r#"vitals_agent_up{instance="b"}"#).is_some());
    agg.expire(t0 + Duration::from_secs(92));
    assert_eq!(get(&mut agg, r#"vitals_agent_up{instance="b"}"#), None);
    assert_eq!(
        connect(&mut agg, 5, "c", 1, t0),
        Reply::Welcome { last_seq: 0 }
    );
}

#[test]
fn past_max_series_a_hello_or_a_sample_that_would_pass_it_is_refused() {
    // The series of an agent that said hello and sent nothing yet.
    const NEW: usize = 3;
    let t0 = Instant::now();
    let per_agent = {
        let mut agg = aggregator();
        connect(&mut agg, 1, "a", 7, t0);
        send(&mut agg, 1, sample(1, 1.0, &["/"]), t0);
        series_of(&mut agg, "a")
    };
    let mut agg = Aggregator::new(Config {
        expire_after: Some(Duration::from_secs(30)),
        min_interval: Duration::ZERO,
        max_series: per_agent + NEW + 1,
        ..Config::default()
    });
    connect(&mut agg, 1, "a", 7, t0);
    send(&mut agg, 1, sample(1, 1.0, &["/"]), t0);
    assert_eq!(
        connect(&mut agg, 2, "b", 7, t0),
        Reply::Welcome { last_seq: 0 }
    );
    let held = r#"vitals_server_series"#;
    assert_eq!(get(&mut agg, held), Some((per_agent + NEW) as f64));
    // A new agent's `up`s and `last_seen` would pass the bound.
    assert!(matches!(
        connect(&mut agg, 3, "c", 7, t0),
        Reply::Refused {
            code: codes::TOO_MANY_SERIES,
            ..
        }
    ));
    // So would `b`'s sample: refused, and nothing of it counted or shown.
    assert!(matches!(
        send(&mut agg, 2, sample(1, 1.0, &["/"]), t0),
        Reply::Refused {
            code: codes::TOO_MANY_SERIES,
            ..
        }
    ));
    assert_eq!(series_of(&mut agg, "b"), NEW);
    // Fewer series always fit.
    assert_eq!(
        send(&mut agg, 1, sample(2, 1.0, &[]), t0),
        Reply::Merged { seq: 2 }
    );
    // Once `a`'s series expire, `b`'s fit.
    agg.handle(Event::Disconnected { conn: 1 }, t0);
    agg.expire(t0 + Duration::from_secs(31));
    let t1 = t0 + Duration::from_secs(31);
    assert_eq!(get(&mut agg, held), Some(2.0 * NEW as f64));
    assert_eq!(
        send(&mut agg, 2, sample(1, 1.0, &["/"]), t1),
        Reply::Merged { seq: 1 }
    );
    let shown = series_of(&mut agg, "a") + series_of(&mut agg, "b");
    assert_eq!(shown, per_agent + NEW);
    assert_eq!(get(&mut agg, held), Some(shown as f64));
    // Forgotten agents give their series back.
    agg.handle(Event::Disconnected { conn: 2 }, t1);
    agg.expire(t1 + Duration::from_secs(24 * 3600 + 32));
    assert_eq!(get(&mut agg, held), Some(0.0));
}

#[test]
fn an_unauthenticated_connection_cannot_take_a_connected_id() {
    let mut agg = aggregator();
    let t0 = Instant::now();
    assert_eq!(
        connect(&mut agg, 1, "a", 7, t0),
        Reply::Welcome { last_seq: 0 }
    );
    let second = ask(
        &mut agg,
        t0,
        Event::Connected {
            conn: 2,
            hello: hello("a", 7),
            authenticated: false,
            protocol: 1,
            peer: PEER,
        },
    );
    assert!(
        matches!(second, Reply::Refused { code, .. } if code == codes::ID_IN_USE),
        "{second:?}"
    );
    // The first connection keeps the id; an authenticated one may take it over.
    assert_eq!(
        send(&mut agg, 1, sample(1, 1.0, &["/"]), t0),
        Reply::Merged { seq: 1 }
    );
    assert_eq!(
        connect(&mut agg, 3, "a", 7, t0),
        Reply::Welcome { last_seq: 1 }
    );
}
