//! Families agents describe themselves: one family a name in the exposition, the first agent's
//! type and help, and the series of an agent of another type left out and counted.

use super::*;
use crate::declaration::Declaration;
use agent_core::wire::ValuesHeader;

/// A v2 hello on connection `conn`.
pub(super) fn connect_v2(agg: &mut Aggregator, conn: u64, id: &str, now: Instant) -> Reply {
    ask(
        agg,
        now,
        Event::Connected {
            conn,
            hello: hello(id, 1),
            authenticated: true,
            protocol: 2,
            peer: PEER,
        },
    )
}

/// A declaration of `node_load1` and a custom family `name` of `kind` with two series.
pub(super) fn declaration(g: u32, name: &str, kind: &str, help: &str) -> Arc<Declaration> {
    let line = format!(
        r#"{{"v":2,"kind":"declare","g":{g},"families":[[1]],"custom":[[32768,"{name}","{kind}","{help}","disk"]],"series":[[1],[32768,"a"],[32768,"b"]]}}"#
    );
    Arc::new(Declaration::read(line.as_bytes()).unwrap())
}

/// A values line of `declared` on connection `conn`, the first after it if `whole`.
pub(super) fn send_values(
    agg: &mut Aggregator,
    conn: u64,
    seq: u64,
    declared: &Arc<Declaration>,
    values: &[f64],
    whole: bool,
    now: Instant,
) -> Reply {
    let mut message = Box::<Decoded>::default();
    message.start_values();
    for &value in values {
        message.push_value(value);
    }
    let header = ValuesHeader {
        seq,
        dropped: 0,
        g: declared.g,
        t: 1_700_000_000_000,
    };
    message.finish_declared(&header, declared, whole);
    ask(agg, now, Event::Sample { conn, message })
}

/// The lines of the family `name`, its HELP and TYPE first.
fn family<'a>(metrics: &'a str, name: &str) -> Vec<&'a str> {
    metrics
        .lines()
        .filter(|l| {
            l.starts_with(&format!("{name}{{"))
                || l.starts_with(&format!("# HELP {name} "))
                || l.starts_with(&format!("# TYPE {name} "))
        })
        .collect()
}

#[test]
fn two_agents_of_one_name_are_one_family_and_another_type_is_left_out() {
    let mut agg = aggregator();
    let now = Instant::now();
    for (conn, id) in [(1, "a"), (2, "b"), (3, "c")] {
        assert!(matches!(
            connect_v2(&mut agg, conn, id, now),
            Reply::Welcome { .. }
        ));
    }
    let a = declaration(1, "backup_age_seconds", "gauge", r"Age \\ of the backup.");
    let b = declaration(1, "backup_age_seconds", "gauge", "Another help.");
    let c = declaration(1, "backup_age_seconds", "counter", "Age.");
    for (conn, declared, value) in [(1, &a, 1.0), (2, &b, 2.0), (3, &c, 3.0)] {
        let reply = send_values(&mut agg, conn, 1, declared, &[0.5, value, value], true, now);
        assert!(matches!(reply, Reply::Merged { seq: 1 }), "{reply:?}");
    }
    let metrics = agg.render();
    assert_eq!(
        family(&metrics, "backup_age_seconds"),
        [
            r"# HELP backup_age_seconds Age \\ of the backup.",
            "# TYPE backup_age_seconds gauge",
            r#"backup_age_seconds{instance="a",disk="a"} 1"#,
            r#"backup_age_seconds{instance="a",disk="b"} 1"#,
            r#"backup_age_seconds{instance="b",disk="a"} 2"#,
            r#"backup_age_seconds{instance="b",disk="b"} 2"#,
        ]
    );
    assert!(
        metrics.contains("vitals_server_custom_series_left_out_total 2\n"),
        "{metrics}"
    );
    // c's other series stay; the two left out are not written, but are held.
    assert_eq!(get(&mut agg, r#"node_load1{instance="c"}"#), Some(0.5));
    assert_eq!(series_of(&mut agg, "c") + 2, series_of(&mut agg, "a"));
    let written: usize = ["a", "b", "c"]
        .iter()
        .map(|id| series_of(&mut agg, id))
        .sum();
    assert_eq!(
        get(&mut agg, "vitals_server_series"),
        Some((written + 2) as f64)
    );

    // The next values of each go the fast way, the same.
    for (conn, declared, value) in [(1, &a, 4.0), (2, &b, 5.0), (3, &c, 6.0)] {
        let reply = send_values(
            &mut agg,
            conn,
            2,
            declared,
            &[0.5, value, value],
            false,
            now,
        );
        assert!(matches!(reply, Reply::Merged { seq: 2 }), "{reply:?}");
    }
    let metrics = agg.render();
    assert_eq!(family(&metrics, "backup_age_seconds").len(), 6);
    assert!(metrics.contains(r#"backup_age_seconds{instance="b",disk="b"} 5"#));
    assert!(metrics.contains("vitals_server_custom_series_left_out_total 2\n"));

    // c changes its type to the family's: declared again, its series are written.
    let c2 = declaration(2, "backup_age_seconds", "gauge", "Age.");
    send_values(&mut agg, 3, 3, &c2, &[0.5, 7.0, 7.0], true, now);
    let metrics = agg.render();
    assert_eq!(family(&metrics, "backup_age_seconds").len(), 8);
    assert!(metrics.contains(r#"backup_age_seconds{instance="c",disk="a"} 7"#));
    assert!(metrics.contains(r"# HELP backup_age_seconds Age \\ of the backup."));
}

#[test]
fn the_name_goes_with_its_last_agent_and_comes_back_with_another_type() {
    let mut agg = aggregator();
    let now = Instant::now();
    connect_v2(&mut agg, 1, "a", now);
    let gauge = declaration(1, "jobs", "gauge", "Jobs.");
    send_values(&mut agg, 1, 1, &gauge, &[0.5, 1.0, 2.0], true, now);
    assert_eq!(family(&agg.render(), "jobs")[1], "# TYPE jobs gauge");
    // Its series expire: the family is no one's any more.
    agg.expire(now + Duration::from_secs(60));
    assert!(family(&agg.render(), "jobs").is_empty());
    connect_v2(&mut agg, 2, "b", now);
    let counter = declaration(1, "jobs", "counter", "Jobs done.");
    send_values(&mut agg, 2, 1, &counter, &[0.5, 3.0, 4.0], true, now);
    let metrics = agg.render();
    assert_eq!(
        family(&metrics, "jobs"),
        [
            "# HELP jobs Jobs done.",
            "# TYPE jobs counter",
            r#"jobs{instance="b",disk="a"} 3"#,
            r#"jobs{instance="b",disk="b"} 4"#,
        ]
    );
    assert!(metrics.contains("vitals_server_custom_series_left_out_total 0\n"));
}
