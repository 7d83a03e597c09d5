//! A real Prometheus with the shipped config, and its query API.

use std::net::SocketAddr;
use std::path::Path;

use super::http_get;

/// The shipped config, pointed at the server whose HTTP side is `http`, scraping and evaluating
/// every second, with the shipped rules copied into `dir/rules` (where `edit` may change them).
pub fn shipped_config(http: SocketAddr, dir: &Path, edit: fn(&str) -> String) -> String {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/../prometheus");
    let config = std::fs::read_to_string(format!("{shipped}/prometheus.yml")).unwrap();
    assert!(
        config.contains("localhost:7451")
            && config.contains("scrape_interval: 10s")
            && config.contains("rules/*.rules.yml"),
        "the test edits these"
    );
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    for entry in std::fs::read_dir(format!("{shipped}/rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".rules.yml") {
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(rules.join(path.file_name().unwrap()), edit(&text)).unwrap();
        }
    }
    config
        .replace("localhost:7451", &http.to_string())
        .replace("interval: 10s", "interval: 1s")
        .replace(
            "rules/*.rules.yml",
            &format!("{}/*.rules.yml", rules.display()),
        )
}

/// Runs a PromQL instant query: its `data` (result type and result), or what went wrong.
pub fn evaluate(prometheus: SocketAddr, promql: &str) -> Result<serde_json::Value, String> {
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
    let (status, body) = http_get(prometheus, &format!("/api/v1/query?query={encoded}"))
        .ok_or("Prometheus did not answer")?;
    let json: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("{status}: {e}: {body}"))?;
    if status != 200 {
        return Err(format!("{status}: {}", json["error"]));
    }
    Ok(json["data"].clone())
}

/// Runs a PromQL instant query; returns the result vector.
pub fn query(prometheus: SocketAddr, promql: &str) -> Option<Vec<serde_json::Value>> {
    evaluate(prometheus, promql).ok()?["result"]
        .as_array()
        .cloned()
}

/// The labels and value of each series a query returns.
pub fn results(prometheus: SocketAddr, promql: &str) -> Option<Vec<(serde_json::Value, f64)>> {
    let r = query(prometheus, promql)?;
    Some(
        r.into_iter()
            .map(|r| {
                let v = r["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN);
                (r["metric"].clone(), v)
            })
            .collect(),
    )
}
