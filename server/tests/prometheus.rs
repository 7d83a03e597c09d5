//! End to end: agents → server → a real Prometheus (Debian package `prometheus`), queried
//! through its HTTP API, with the scrape config shipped in `prometheus/prometheus.yml`.

mod common;

use std::time::Duration;

use common::promql::{query, results, shipped_config as config};
use common::{Proc, Server, agent, http_get, promtool_complaints, tool, wait_for};

const IDS: [&str; 3] = ["e2e-a", "e2e-b", "e2e-c"];

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
    std::fs::write(&config_path, config(server.http, &dir, str::to_owned)).unwrap();
    let (_prometheus, port) = common::prometheus(&config_path, &dir.join("data"));

    wait_for(
        "Prometheus to report vitals_agent_up == 1 for every agent",
        Duration::from_secs(60),
        || {
            let up = query(port, "vitals_agent_up == 1")?;
            IDS.iter()
                .all(|id| up.iter().any(|r| r["metric"]["instance"] == *id))
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
            let r = query(port, "sum by (instance) (rate(node_cpu_seconds_total[1m]))")?;
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

    // Every shipped rule, once evaluated on these agents' series, evaluates without an error
    // (such as many-to-many matching, which promtool cannot see without series).
    let rules = wait_for(
        "every shipped rule evaluated",
        Duration::from_secs(30),
        || {
            let (_, body) = http_get(port, "/api/v1/rules")?;
            let json: serde_json::Value = serde_json::from_str(&body).ok()?;
            let rules: Vec<serde_json::Value> = json["data"]["groups"]
                .as_array()?
                .iter()
                .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
                .collect();
            (!rules.is_empty() && rules.iter().all(|r| r["health"] != "unknown")).then_some(rules)
        },
    );
    let failed: Vec<&serde_json::Value> = rules.iter().filter(|r| r["health"] != "ok").collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A dashboard picks a host by `job` and `instance`, as it does with node_exporter: with the
/// shipped config, each agent's series are the agent's own `instance` (not the server's
/// address, which stays in `vitals_server`), and `up` says which hosts are gone.
#[test]
#[ignore = "needs Debian's prometheus: make test runs it"]
fn with_the_shipped_config_each_host_is_its_own_instance() {
    let _prometheus = tool("prometheus");
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let mut agents: Vec<Proc> = ["host-a", "host-b"]
        .iter()
        .map(|id| agent(id, &[server.agents], "1s"))
        .collect();
    let dir = std::env::temp_dir().join(format!("vitals-identity-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config_path = dir.join("prometheus.yml");
    // The shipped rules, with an alert's wait shortened to seconds.
    let shorter = |rules: &str| rules.replace("for: 2m", "for: 3s");
    std::fs::write(&config_path, config(server.http, &dir, shorter)).unwrap();
    let (_prometheus, port) = common::prometheus(&config_path, &dir.join("data"));
    let server_address = server.http.to_string();

    // One host selected as a dashboard selects it: that host's series only.
    let load = wait_for("node_load1 of host-a", Duration::from_secs(60), || {
        results(port, r#"node_load1{job="node",instance="host-a"}"#).filter(|r| !r.is_empty())
    });
    assert_eq!(load.len(), 1, "{load:?}");
    let labels = &load[0].0;
    assert_eq!(labels["instance"], "host-a", "{labels}");
    assert_eq!(labels["job"], "node", "{labels}");
    assert_eq!(labels["vitals_server"], server_address.as_str(), "{labels}");
    // The way node_exporter's dashboards list their hosts.
    let hosts = results(port, r#"count by (instance) (node_uname_info{job="node"})"#).unwrap();
    let mut hosts: Vec<&str> = hosts
        .iter()
        .filter_map(|(l, _)| l["instance"].as_str())
        .collect();
    hosts.sort_unstable();
    assert_eq!(hosts, ["host-a", "host-b"]);
    // The server's own series keep the server's address.
    let own = results(port, "vitals_server_agents_connected").unwrap();
    assert_eq!(own.len(), 1, "{own:?}");
    assert_eq!(own[0].0["instance"], server_address.as_str());

    // A host whose agent stops: `up` 0 for it, 1 for the other and for the server's target.
    agents.pop();
    wait_for("up == 0 for host-b", Duration::from_secs(60), || {
        let up = results(port, r#"up{job="node"}"#)?;
        let of = |instance: &str| {
            up.iter()
                .find(|(l, _)| l["instance"] == instance)
                .map(|(_, v)| *v)
        };
        (of("host-b") == Some(0.0) && of("host-a") == Some(1.0) && of(&server_address) == Some(1.0))
            .then_some(())
    });
    // And the shipped alert fires for that host, naming it.
    let alert = wait_for(
        "VitalsAgentDown firing for host-b",
        Duration::from_secs(60),
        || {
            let (_, body) = http_get(port, "/api/v1/alerts")?;
            let json: serde_json::Value = serde_json::from_str(&body).ok()?;
            json["data"]["alerts"]
                .as_array()?
                .iter()
                .find(|a| a["labels"]["alertname"] == "VitalsAgentDown" && a["state"] == "firing")
                .cloned()
        },
    );
    assert_eq!(alert["labels"]["instance"], "host-b", "{alert}");
    let summary = alert["annotations"]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("host-b"), "{alert}");
    // Only for host-b: the node alerts may well be pending for this busy machine's hosts.
    let body = http_get(port, "/api/v1/alerts").unwrap().1;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let down: Vec<&serde_json::Value> = json["data"]["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["labels"]["alertname"] == "VitalsAgentDown")
        .map(|a| &a["labels"]["instance"])
        .collect();
    assert_eq!(down, ["host-b"], "{body}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs promtool (Debian's prometheus): make test runs it"]
fn promtool_finds_nothing_but_node_exporters_own_camel_case_names() {
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let _agent = agent("lint", &[server.agents], "500ms");
    let metrics = wait_for("the agent's series", Duration::from_secs(20), || {
        let m = http_get(server.http, "/metrics")?.1;
        m.contains("node_load1{instance=\"lint\"}").then_some(m)
    });
    let complaints = promtool_complaints(&metrics);
    assert!(complaints.is_empty(), "promtool complains: {complaints:#?}");
}
