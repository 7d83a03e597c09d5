//! `/api/v1/agents` and `/api/v1/agents/<id>`: what the pages show, as JSON for scripts. The
//! schema is docs/api/agents.schema.json and docs/api/agent.schema.json; a value a series does
//! not give is `null`.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};

use super::Fleet;
use super::summary::{Row, Series};
use crate::facts::Point;

fn unix(t: Option<SystemTime>) -> Value {
    t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(Value::Null, |d| json!(d.as_secs_f64()))
}

fn number(v: Option<f64>) -> Value {
    v.filter(|v| v.is_finite())
        .map_or(Value::Null, |v| json!(v))
}

/// One agent's row, as `agents.schema.json` says it.
#[derive(Debug, Serialize)]
pub struct RowJson<'a> {
    id: &'a str,
    up: bool,
    last_seen: Option<f64>,
    address: Option<String>,
    hostname: &'a str,
    version: &'a str,
    arch: &'a str,
    os: &'a str,
    kernel: &'a str,
    protocol: &'a str,
    interval_seconds: f64,
    samples_merged: Option<f64>,
    samples_lost: Option<f64>,
    samples_dropped: Option<f64>,
    health: HealthJson<'a>,
}

#[derive(Debug, Serialize)]
struct HealthJson<'a> {
    cpu_busy_ratio: Option<f64>,
    memory_used_ratio: Option<f64>,
    fullest_filesystem: Option<FilesystemJson<'a>>,
    load1_per_cpu: Option<f64>,
    hottest_sensor: Option<SensorJson<'a>>,
}

#[derive(Debug, Serialize)]
struct FilesystemJson<'a> {
    mountpoint: &'a str,
    used_ratio: Option<f64>,
}

#[derive(Debug, Serialize)]
struct SensorJson<'a> {
    sensor: &'a str,
    celsius: Option<f64>,
}

/// A number JSON can carry: `None` (null) for NaN and the infinities.
fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite())
}

/// One agent's row.
pub fn row(row: &Row) -> RowJson<'_> {
    let f = &row.facts;
    let h = &row.health;
    RowJson {
        id: &f.id,
        up: row.up,
        last_seen: finite(row.last_seen),
        address: f.address.map(|a| a.to_string()),
        hostname: &f.hostname,
        version: &f.version,
        arch: &f.arch,
        os: &f.os,
        kernel: &f.kernel,
        protocol: f.protocol,
        interval_seconds: f.interval,
        samples_merged: finite(row.samples),
        samples_lost: finite(row.gaps),
        samples_dropped: finite(row.dropped),
        health: HealthJson {
            cpu_busy_ratio: finite(h.cpu),
            memory_used_ratio: finite(h.memory),
            fullest_filesystem: h.fullest.as_ref().map(|(mount, used)| FilesystemJson {
                mountpoint: mount,
                used_ratio: finite(Some(*used)),
            }),
            load1_per_cpu: finite(h.load_per_cpu),
            hottest_sensor: h.hottest.as_ref().map(|(sensor, celsius)| SensorJson {
                sensor: sensor.trim(),
                celsius: finite(Some(*celsius)),
            }),
        },
    }
}

#[derive(Debug, Serialize)]
struct FleetJson<'a> {
    time: f64,
    counts: Counts<'a>,
    agents: Vec<RowJson<'a>>,
}

#[derive(Debug, Serialize)]
struct Counts<'a> {
    agents: usize,
    up: usize,
    down: usize,
    refused: std::collections::BTreeMap<&'a str, u64>,
}

/// `/api/v1/agents`: `rows` (as the query sorts and filters them) and the counts of them all.
pub fn fleet(fleet: &Fleet, rows: &[&Row]) -> String {
    let up = fleet.rows.iter().filter(|r| r.up).count();
    let json = FleetJson {
        time: fleet.now,
        counts: Counts {
            agents: fleet.rows.len(),
            up,
            down: fleet.rows.len() - up,
            refused: fleet
                .refused
                .iter()
                .map(|(r, n)| (r.as_str(), *n))
                .collect(),
        },
        agents: rows.iter().map(|r| row(r)).collect(),
    };
    serde_json::to_string(&json).unwrap_or_default()
}

/// `/api/v1/agents/<id>`: its row, its connections, its last minutes and its series.
pub fn agent(row_of: &Row, history: &[Point], series: &Series<'_>, now: f64) -> Value {
    let f = &row_of.facts;
    let point = |p: &Point| {
        let v = |x: f32| number(Some(f64::from(x)));
        json!({
            "time": p.at,
            "cpu_busy_ratio": v(p.cpu),
            "memory_used_ratio": v(p.memory),
            "receive_bytes_per_second": v(p.receive),
            "transmit_bytes_per_second": v(p.transmit),
        })
    };
    json!({
        "time": now,
        "agent": serde_json::to_value(row(row_of)).unwrap_or_default(),
        "connections": {
            "connects": f.connects,
            "disconnects": f.disconnects,
            "last_connected": unix(f.connected_at),
            "last_disconnected": unix(f.disconnected_at),
            "last_error": f.last_error.map(|(at, code)| json!({
                "code": code,
                "time": unix(Some(at)),
            })),
        },
        "history": history.iter().map(point).collect::<Vec<_>>(),
        "series": series.all().map(|(line, value)| json!({
            "series": line.trim_end(),
            "value": number(Some(value)),
        })).collect::<Vec<_>>(),
    })
}
