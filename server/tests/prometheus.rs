//! End to end: agents → server → a real Prometheus (Debian package `prometheus`), queried
//! through its HTTP API, with the scrape config shipped in `prometheus/prometheus.yml`.

mod common;

use std::time::Duration;

use common::{Proc, Server, agent, http_get, promtool_complaints, tool, wait_for};

const IDS: [&str; 3] = ["e2e-a", "e2e-b", "e2e-c"];

/// The shipped config, pointed at this test's server and scraping every second.
fn config(http: std::net::SocketAddr) -> String {
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../prometheus/prometheus.yml"
    ))
    .unwrap();
    assert!(
        shipped.contains("localhost:7451") && shipped.contains("scrape_interval: 10s"),
        "the test edits these"
    );
    shipped
        .replace("localhost:7451", &http.to_string())
        .replace("interval: 10s", "interval: 1s")
}

/// Runs a PromQL instant query; returns the result vector.
fn query(prometheus: std::net::SocketAddr, promql: &str) -> Option<Vec<serde_json::Value>> {
    let encoded: String = promql
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"_.-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let (status, body) = http_get(prometheus, &format!("/api/v1/query?query={encoded}"))?;
    if status != 200 {
        return None;
    }
    let json: serde_json::Value = serde_json::from_str(&body).ok()?;
    json["data"]["result"].as_array().cloned()
}

#[test]
#[ignore = "needs Debian's prometheus: make test runs it"]
fn prometheus_scrapes_every_agent_through_the_shipped_config() {
    let _prometheus = tool("prometheus");
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let _agents: Vec<Proc> = IDS
        .iter()
        .map(|id| agent(id, &[server.agents], "1s"))
        .collect();

    let dir = std::env::temp_dir().join(format!("vitals-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config_path = dir.join("prometheus.yml");
    std::fs::write(&config_path, config(server.http)).unwrap();
    let (_prometheus, port) = common::prometheus(&config_path, &dir.join("data"));

    wait_for(
        "Prometheus to report vitals_agent_up == 1 for every agent",
        Duration::from_secs(60),
        || {
            let up = query(port, "vitals_agent_up == 1")?;
            IDS.iter()
                .all(|id| up.iter().any(|r| r["metric"]["agent"] == *id))
                .then_some(())
        },
    );
    // CPU seconds per second, summed over modes and CPUs, is the number of CPUs: once
    // Prometheus has a few scrapes, each agent's rate is close to it.
    let cpus = std::thread::available_parallelism().unwrap().get() as f64;
    wait_for(
        "rate(node_cpu_seconds_total[1m]) near the CPU count for every agent",
        Duration::from_secs(60),
        || {
            let r = query(port, "sum by (agent) (rate(node_cpu_seconds_total[1m]))")?;
            let near = |r: &serde_json::Value| {
                let v: f64 = r["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0.0);
                (v - cpus).abs() < cpus * 0.25
            };
            (r.len() == IDS.len() && r.iter().all(near)).then_some(())
        },
    );
    let targets = http_get(port, "/api/v1/targets").unwrap().1;
    assert!(targets.contains("\"health\":\"up\""), "{targets}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs promtool (Debian's prometheus): make test runs it"]
fn promtool_finds_nothing_but_node_exporters_own_camel_case_names() {
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let _agent = agent("lint", &[server.agents], "500ms");
    let metrics = wait_for("the agent's series", Duration::from_secs(20), || {
        let m = http_get(server.http, "/metrics")?.1;
        m.contains("node_load1{agent=\"lint\"}").then_some(m)
    });
    let complaints = promtool_complaints(&metrics);
    assert!(complaints.is_empty(), "promtool complains: {complaints:#?}");
}
