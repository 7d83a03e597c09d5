//! The status pages from rows and slots made here: escaping, sorting, filtering, bars, the
//! health read from series, and the charts' history.

use std::sync::Arc;
use std::time::SystemTime;

use agent_core::catalogue::f;

use super::history::record;
use super::page::{self, Column, View};
use super::summary::{Health, Row, Series};
use super::{Fleet, api};
use crate::exposition::{Builder, Slot};
use crate::facts::{Facts, POINTS, Point};
use crate::families::{DEFS, F};

/// A slot publishing these series of agent `a`: (family, label values, value).
fn slot_with(series: &[(u16, &[&str], f64)]) -> Slot {
    let mut b = Builder::default();
    b.start_rebuild();
    for (family, labels, value) in series {
        b.add(usize::from(*family), labels, *value);
    }
    let layout = Arc::new(b.layout("a", DEFS));
    let slot = Slot::default();
    slot.publish(&layout, b.values());
    slot
}

fn row(id: &str, up: bool, cpu: Option<f64>) -> Row {
    Row {
        facts: Facts {
            id: id.into(),
            address: Some("192.0.2.7:40000".parse().unwrap()),
            hostname: format!("host-{id}"),
            version: "0.1.0".into(),
            arch: "aarch64".into(),
            os: "Linux".into(),
            kernel: "6.1".into(),
            protocol: "2",
            interval: 10.0,
            connects: 1,
            ..Facts::default()
        },
        up,
        last_seen: Some(1_000.0),
        samples: Some(5.0),
        gaps: Some(0.0),
        dropped: Some(0.0),
        health: Health {
            cpu,
            ..Health::default()
        },
    }
}

fn fleet(rows: Vec<Row>) -> Fleet {
    Fleet {
        rows,
        refused: vec![("auth_failed".into(), 3)],
        now: 1_005.0,
    }
}

/// The ids of the rows a page shows, in order.
fn ids(html: &str) -> Vec<String> {
    html.split("<tr class=\"")
        .skip(1)
        .filter_map(|row| {
            let id = row.split("data-id=\"").nth(1)?;
            Some(id[..id.find('"')?].to_owned())
        })
        .collect()
}

#[test]
fn down_first_then_by_id_and_every_column_sorts_both_ways() {
    let f = fleet(vec![
        row("c", true, Some(0.2)),
        row("a", true, None),
        row("b", false, Some(0.9)),
    ]);
    assert_eq!(ids(&page::fleet(&f, &View::default())), ["b", "a", "c"]);
    let view = |query: &str| View::from_query(query);
    assert_eq!(
        ids(&page::fleet(&f, &view("sort=id&dir=desc"))),
        ["c", "b", "a"]
    );
    // A row without a value comes last both ways.
    assert_eq!(ids(&page::fleet(&f, &view("sort=cpu"))), ["c", "b", "a"]);
    assert_eq!(
        ids(&page::fleet(&f, &view("sort=cpu&dir=desc"))),
        ["b", "c", "a"]
    );
    for column in Column::ALL {
        for dir in ["", "&dir=desc"] {
            let shown = ids(&page::fleet(
                &f,
                &view(&format!("sort={}{dir}", column.name())),
            ));
            assert_eq!(shown.len(), 3, "{column:?}{dir}");
        }
    }
    // What the query does not say rightly is the default.
    assert_eq!(view("sort=%3Cscript%3E&dir=up&q=%FF"), View::default());
}

#[test]
fn the_filter_matches_any_fact_in_any_case_and_stays_in_the_links() {
    let mut b = row("pi-b", true, None);
    b.facts.kernel = "6.6.31-V8+".into();
    let f = fleet(vec![row("pi-a", true, None), b, row("nuc", false, None)]);
    let html = page::fleet(&f, &View::from_query("q=v8%2B&sort=id"));
    assert_eq!(ids(&html), ["pi-b"]);
    assert!(
        html.contains("href=\"/?sort=id&amp;dir=desc&amp;q=v8%2B\""),
        "{html}"
    );
    assert!(html.contains("1 of 3 agents shown"));
    assert_eq!(
        ids(&page::fleet(&f, &View::from_query("q=HOST-PI"))).len(),
        2
    );
    assert_eq!(
        ids(&page::fleet(&f, &View::from_query("q=192.0.2.7"))).len(),
        3
    );
    assert!(page::fleet(&f, &View::from_query("q=zzz")).contains("No agent matches the filter"));
}

#[test]
fn hostile_facts_labels_and_filters_stay_text() {
    let mut evil = row("evil", true, Some(0.5));
    evil.facts.hostname = "<script>alert(1)</script>".into();
    evil.facts.version = "\"><img src=x onerror=alert(2)>".into();
    evil.facts.kernel = "</td></tr></table><h1>x".into();
    evil.health.fullest = Some(("/mnt/<b>'bold'</b>".into(), 0.5));
    evil.health.hottest = Some(("<svg onload=alert(3)>".into(), 50.0));
    evil.facts.last_error = Some((SystemTime::now(), "auth_failed"));
    let f = fleet(vec![evil.clone()]);
    let mut pages = vec![
        page::fleet(&f, &View::from_query("q=%3Cscript%3E")),
        page::fleet(&f, &View::default()),
    ];
    let slot = slot_with(&[(
        f::FS_SIZE,
        &["/dev/<i>", "ext4", "/<script>alert(4)</script>"],
        1.0,
    )]);
    let view = slot.get();
    pages.push(page::agent(&evil, &[], &Series(&view), 1_005.0));
    for html in &pages {
        for bad in [
            "<script>alert",
            "<img",
            "<b>'bold'",
            "<svg onload",
            "<h1>x",
            "<i>",
        ] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
        // Ours alone: the refresh.
        assert_eq!(html.matches("<script").count(), 1, "{html}");
    }
    assert!(pages[0].contains("value=\"&lt;script&gt;\""));
    assert!(pages[1].contains("&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;h1&gt;x"));
    assert!(pages[2].contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(pages[2].contains("mountpoint=&quot;/&lt;script&gt;alert(4)&lt;/script&gt;&quot;"));
    // The JSON carries the texts as they are, for a script to use as it likes.
    let json = api::fleet(&f, &f.rows.iter().collect::<Vec<_>>());
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["agents"][0]["hostname"], "<script>alert(1)</script>");
}

#[test]
fn bars_turn_amber_then_red_past_their_thresholds() {
    let bar = |cpu: f64| {
        let html = page::fleet(&fleet(vec![row("a", true, Some(cpu))]), &View::default());
        let at = html.find("<span class=\"bar\"><i").unwrap();
        html[at..at + 60].to_owned()
    };
    assert!(bar(0.5).contains("<i style=\"width:50%\""), "{}", bar(0.5));
    assert!(bar(0.85).contains("class=\"amber\""));
    assert!(bar(0.97).contains("class=\"red\""));
    assert!(bar(7.0).contains("width:100%"), "a bar never overflows");
    let one = page::fleet(&fleet(vec![row("a", true, None)]), &View::default());
    assert!(
        one.contains("<title>vitals: 1 agent, 0 down</title>"),
        "{one}"
    );
    assert!(one.contains("<b>1</b> agent</span>") && one.contains("1 of 1 agent shown"));
}

#[test]
fn health_is_read_as_the_dashboards_compute_it() {
    let slot = slot_with(&[
        (f::CPU, &["0", "idle"], 10.0),
        (f::CPU, &["0", "user"], 1.0),
        (f::CPU, &["1", "idle"], 10.0),
        (f::LOAD1, &[], 3.0),
        (f::MEM_TOTAL, &[], 1000.0),
        (f::MEM_AVAILABLE, &[], 250.0),
        (f::FS_SIZE, &["/dev/a", "ext4", "/"], 100.0),
        (f::FS_SIZE, &["/dev/b", "ext4", "/srv \"x\""], 100.0),
        (f::FS_SIZE, &["tmpfs", "tmpfs", "/run"], 0.0),
        (f::FS_AVAIL, &["/dev/a", "ext4", "/"], 60.0),
        (f::FS_AVAIL, &["/dev/b", "ext4", "/srv \"x\""], 5.0),
        (f::FS_AVAIL, &["tmpfs", "tmpfs", "/run"], 0.0),
        (f::HWMON_TEMP, &["platform_coretemp_0", "temp1"], 61.0),
        (f::THERMAL_ZONE_TEMP, &["x86_pkg_temp", "0"], 64.5),
        (f::CPU_USAGE, &[], 0.25),
        (F::UP as u16, &[], 1.0),
        (F::SAMPLES as u16, &[], 12.0),
    ]);
    let row = Row::of(&slot);
    assert!(row.up);
    assert_eq!(row.samples, Some(12.0));
    assert_eq!(row.gaps, None, "a series the agent does not have");
    let h = &row.health;
    assert_eq!(h.cpu, Some(0.25));
    assert_eq!(h.memory, Some(0.75));
    assert_eq!(h.fullest, Some(("/srv \"x\"".into(), 0.95)));
    assert_eq!(h.load_per_cpu, Some(1.5));
    assert_eq!(h.hottest, Some(("x86_pkg_temp 0".into(), 64.5)));
}

#[test]
fn the_history_keeps_rates_and_breaks_them_where_counters_or_clocks_go_back() {
    let at = |rx: f64, tx: f64| {
        slot_with(&[
            (f::NET_RX_BYTES, &["eth0"], rx),
            (f::NET_RX_BYTES, &["lo"], 1e12),
            (f::NET_TX_BYTES, &["eth0"], tx),
            (f::NET_TX_BYTES, &["lo"], 1e12),
            (f::CPU_USAGE, &[], 0.5),
        ])
    };
    let slot = at(1000.0, 0.0);
    let history = |slot: &Slot| slot.status.history.lock().unwrap().points.clone();
    record(&slot, 100.0);
    let publish = |rx: f64, tx: f64| {
        let next = at(rx, tx).get();
        slot.publish(&next.layout, &next.values);
    };
    publish(6000.0, 500.0);
    record(&slot, 105.0);
    // A reboot: the counters start again.
    publish(10.0, 10.0);
    record(&slot, 110.0);
    // The clock went back.
    publish(20.0, 20.0);
    record(&slot, 50.0);
    publish(520.0, 20.0);
    record(&slot, 60.0);
    let rates: Vec<(f32, f32)> = history(&slot)
        .iter()
        .map(|p| (p.receive, p.transmit))
        .collect();
    assert!(rates[0].0.is_nan(), "no rate from one reading");
    assert_eq!(rates[1], (1000.0, 100.0), "lo left out");
    assert!(rates[2].0.is_nan() && rates[3].0.is_nan());
    assert_eq!(rates[4], (50.0, 0.0));
    assert_eq!(history(&slot)[4].cpu, 0.5);
    for i in 0..POINTS * 2 {
        record(&slot, 1000.0 + i as f64);
    }
    assert_eq!(history(&slot).len(), POINTS, "bounded");
}

#[test]
fn a_chart_breaks_its_line_where_a_point_is_missing() {
    let point = |at: f64, cpu: f32| Point {
        at,
        cpu,
        memory: 0.5,
        receive: 2e6,
        transmit: f32::NAN,
    };
    let points = [
        point(0.0, 0.1),
        point(5.0, 0.2),
        point(10.0, f32::NAN),
        point(15.0, 1.0),
    ];
    let html = page::agent(
        &row("a", true, None),
        &points,
        &Series(&Default::default()),
        20.0,
    );
    assert_eq!(html.matches("data-series=\"cpu\"").count(), 2, "{html}");
    assert!(html.contains("points=\"0.0,90.0 200.0,80.0\""), "{html}");
    assert!(html.contains("points=\"600.0,0.0\""));
    assert_eq!(html.matches("data-series=\"sent\"").count(), 0);
    assert!(html.contains("2.0 MB/s"));
    let empty = page::agent(
        &row("a", true, None),
        &[],
        &Series(&Default::default()),
        20.0,
    );
    assert!(empty.contains("no points yet"));
}
