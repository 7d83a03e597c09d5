//! What an operator already runs against node_exporter, run against vitals: every expression of
//! the "Node Exporter Full" dashboard, of node_exporter's own mixin (its dashboards, alerts and
//! recording rules) through one real Prometheus that scrapes node_exporter 1.5 and vitals (with
//! the shipped config) on the same host, and takes the same host's samples from a second vitals
//! server by remote write. Each expression is evaluated for each side, template variables
//! substituted as Grafana does; an expression with data for node_exporter and none for either
//! vitals side fails the test, unless it needs a family the README lists as not exported.
//!
//! The dashboards and rules are read from the shared test data's `node-exporter-artifacts/`,
//! beside the repository and never copied into it (`../shared/data`, or where `SHARED_DATA`
//! says: see `common::shared_data`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::promql::{evaluate, query, shipped_config};
use common::readme::{listed, not_exported};
use common::{Proc, Server, agent, http_get, tool, wait_for};

/// node_exporter's dashboards and rules, in the shared test data.
fn artifacts() -> String {
    common::shared_data()
        .join("node-exporter-artifacts")
        .display()
        .to_string()
}

/// The job node_exporter is scraped as; vitals is `node`, as the mixin is rendered for.
const REFERENCE_JOB: &str = "node-exporter";

/// Where an expression comes from, and the panel it draws (dashboards only).
#[derive(Debug, Clone)]
struct Expression {
    source: String,
    panel: Option<String>,
    promql: String,
}

/// The two sides' values of Grafana's template variables.
struct Side {
    job: &'static str,
    instance: String,
    nodename: String,
}

impl Side {
    /// `promql` as Grafana would send it for this side. The mixin is rendered for `job="node"`.
    fn substitute(&self, promql: &str) -> String {
        promql
            .replace("$__rate_interval", "30s")
            .replace("$__interval", "10s")
            .replace("$nodename", &self.nodename)
            .replace("$node", &self.instance)
            .replace("$instance", &self.instance)
            .replace("$cluster", "")
            .replace("$job", self.job)
            .replace(r#"job="node""#, &format!(r#"job="{}""#, self.job))
    }
}

/// The expressions of a Grafana dashboard: each panel's targets, and each template variable's
/// query (`label_values(selector, label)` asks for the selector's series).
fn dashboard(file: &str) -> Vec<Expression> {
    let path = format!("{}/{file}", artifacts());
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e} (the shared data beside the repository)"));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    panels(&json, file, &mut out);
    for var in json["templating"]["list"].as_array().into_iter().flatten() {
        let q = var["query"]["query"].as_str().or(var["query"].as_str());
        if let Some(selector) = q
            .and_then(|q| q.strip_prefix("label_values("))
            .and_then(|q| q.rsplit_once(','))
            .map(|(selector, _)| selector.trim())
        {
            out.push(Expression {
                source: file.to_owned(),
                panel: Some(format!("variable {}", var["name"])),
                promql: selector.to_owned(),
            });
        }
    }
    out
}

/// Every panel's expressions, rows' nested panels included.
fn panels(json: &serde_json::Value, file: &str, out: &mut Vec<Expression>) {
    for panel in json["panels"].as_array().into_iter().flatten() {
        let title = format!("{} #{}", panel["title"].as_str().unwrap_or(""), panel["id"]);
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str().filter(|e| !e.trim().is_empty()) {
                out.push(Expression {
                    source: file.to_owned(),
                    panel: Some(title.clone()),
                    promql: expr.to_owned(),
                });
            }
        }
        panels(panel, file, out);
    }
    for row in json["rows"].as_array().into_iter().flatten() {
        panels(row, file, out);
    }
}

/// The `"expr": |` blocks of the mixin's rendered rule files, with their `record` names.
fn rules(file: &str) -> Vec<(Expression, Option<String>)> {
    let path = format!("{}/node-mixin-rendered/{file}", artifacts());
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e} (the shared data beside the repository)"));
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<(Expression, Option<String>)> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let indent = line.len() - line.trim_start().trim_start_matches("- ").len();
        if let Some(record) = line.trim().strip_prefix(r#""record": "#) {
            if let Some(last) = out.last_mut() {
                last.1 = Some(record.trim_matches('"').to_owned());
            }
            continue;
        }
        if !line
            .trim_start()
            .trim_start_matches("- ")
            .starts_with(r#""expr": |"#)
        {
            continue;
        }
        let mut expr = String::new();
        while i < lines.len() {
            let next = lines[i];
            let next_indent = next.len() - next.trim_start().len();
            if !next.trim().is_empty() && next_indent <= indent {
                break;
            }
            expr.push_str(next.trim());
            expr.push('\n');
            i += 1;
        }
        out.push((
            Expression {
                source: file.to_owned(),
                panel: None,
                promql: expr,
            },
            None,
        ));
    }
    out
}

/// The `node_*` and `process_*` metric names an expression reads, recorded series' inputs
/// included.
fn names(promql: &str, recorded: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = promql.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
    let mut i = 0;
    while i < bytes.len() {
        if word(bytes[i]) && (i == 0 || !word(bytes[i - 1])) {
            let end = (i..bytes.len())
                .find(|&j| !word(bytes[j]))
                .unwrap_or(bytes.len());
            let name = &promql[i..end];
            if let Some(inputs) = recorded.get(name) {
                out.extend(names(inputs, recorded));
            } else if (name.starts_with("node_") || name.starts_with("process_"))
                && !name.contains(':')
            {
                out.insert(name.to_owned());
            }
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// Whether a query's answer holds anything: a series, or a scalar.
fn has_data(data: &serde_json::Value) -> bool {
    match data["resultType"].as_str() {
        Some("scalar" | "string") => true,
        _ => data["result"].as_array().is_some_and(|r| !r.is_empty()),
    }
}

/// How one expression fared on each side: `Some(has data)`, or `None` when the query failed.
struct Outcome {
    expression: Expression,
    reference: Option<bool>,
    vitals: Option<bool>,
}

#[test]
#[ignore = "needs Debian's prometheus and prometheus-node-exporter: make test runs them"]
fn node_exporters_dashboards_and_rules_have_data_for_vitals() {
    let _ = tool("prometheus");
    let node_exporter = tool("prometheus-node-exporter");
    let reference = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // node_exporter with upstream's defaults, as in the parity test.
    let _node_exporter = Proc {
        child: Command::new(node_exporter)
            .arg(format!("--web.listen-address={reference}"))
            .arg("--collector.filesystem.mount-points-exclude=^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)")
            .arg("--collector.netdev.device-exclude=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        name: "node_exporter".into(),
    };
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let _agent = agent("dash-host", &[server.agents], "1s");

    let dir = std::env::temp_dir().join(format!("vitals-dashboards-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = shipped_config(server.http, &dir, str::to_owned);
    config.push_str(&format!(
        "  - job_name: {REFERENCE_JOB}\n    static_configs:\n      - targets: [\"{reference}\"]\n"
    ));
    // The mixin's recording rules for node_exporter's job (its dashboards read what they
    // record); vitals' job has the shipped node.rules.yml, which records the same names.
    let rules_text = std::fs::read_to_string(format!(
        "{}/node-mixin-rendered/node_rules.yaml",
        artifacts()
    ))
    .unwrap();
    std::fs::write(
        dir.join("rules/node-mixin-reference.rules.yml"),
        rules_text.replace(r#"job="node""#, &format!(r#"job="{REFERENCE_JOB}""#)),
    )
    .unwrap();
    let config_path = dir.join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let (_prometheus, port) = common::prometheus_with(
        &config_path,
        &dir.join("data"),
        &["--web.enable-remote-write-receiver"],
    );
    // The same host by remote write: a second server writes its agent's samples into this
    // Prometheus, under another instance; the shipped rules record for it as for the first.
    let written = Server::start(
        "127.0.0.1:0",
        "127.0.0.1:0",
        &["--remote-write", &format!("http://{port}/api/v1/write")],
    );
    let _written_agent = agent("dash-host-rw", &[written.agents], "1s");

    // A rate over `$__rate_interval` and the recorded series need a few scrapes on both sides.
    for (job, instance) in [
        ("node", "dash-host"),
        ("node", "dash-host-rw"),
        (REFERENCE_JOB, reference.to_string().as_str()),
    ] {
        wait_for(
            &format!("recorded CPU utilisation for {instance}"),
            Duration::from_secs(90),
            || {
                let q = format!(
                    r#"instance:node_cpu_utilisation:rate5m{{job="{job}",instance="{instance}"}}"#
                );
                query(port, &q).filter(|r| !r.is_empty())
            },
        );
    }
    std::thread::sleep(Duration::from_secs(35));
    let nodename = query(
        port,
        &format!(r#"node_uname_info{{job="{REFERENCE_JOB}"}}"#),
    )
    .and_then(|r| r.first()?["metric"]["nodename"].as_str().map(str::to_owned))
    .expect("node_exporter's nodename");
    let sides = [
        Side {
            job: REFERENCE_JOB,
            instance: reference.to_string(),
            nodename: nodename.clone(),
        },
        Side {
            job: "node",
            instance: "dash-host".into(),
            nodename: nodename.clone(),
        },
        Side {
            job: "node",
            instance: "dash-host-rw".into(),
            nodename,
        },
    ];

    let mut expressions: Vec<Expression> = [
        "node-exporter-full.json",
        "node-mixin-rendered/dashboards/nodes.json",
        "node-mixin-rendered/dashboards/node-rsrc-use.json",
        "node-mixin-rendered/dashboards/node-cluster-rsrc-use.json",
        "node-mixin-rendered/dashboards/nodes-darwin.json",
        "node-mixin-rendered/dashboards/nodes-aix.json",
    ]
    .iter()
    .flat_map(|f| dashboard(f))
    .collect();
    let mut recorded = BTreeMap::new();
    for file in ["node_alerts.yaml", "node_rules.yaml"] {
        for (expression, record) in rules(file) {
            if let Some(record) = record {
                recorded.insert(record, expression.promql.clone());
            }
            expressions.push(expression);
        }
    }

    let exposed: BTreeSet<String> = server
        .metrics()
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_owned)
        .collect();
    let not_exported = not_exported();
    let mut failures = Vec::new();
    for name in &exposed {
        if listed(name, &not_exported) {
            failures.push(format!(
                "the README lists {name} as not exported, but vitals exports it"
            ));
        }
    }
    let check = Check {
        port,
        reference: &sides[0],
        exposed: &exposed,
        not_exported: &not_exported,
        recorded: &recorded,
    };
    let (outcomes, excused) = check.side(&expressions, &sides[1], &mut failures);
    check.side(&expressions, &sides[2], &mut failures);
    report(&outcomes, &excused);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The server answered throughout, and so did Prometheus' scrape of it.
    let targets = http_get(port, "/api/v1/targets").unwrap().1;
    assert!(!targets.contains("\"health\":\"down\""), "{targets}");
}

/// What one side of vitals is checked against.
struct Check<'a> {
    port: std::net::SocketAddr,
    reference: &'a Side,
    /// The families the server exposes.
    exposed: &'a BTreeSet<String>,
    not_exported: &'a [String],
    recorded: &'a BTreeMap<String, String>,
}

impl Check<'_> {
    /// Evaluates every expression for node_exporter and for `vitals`; adds a failure for each
    /// with data for node_exporter and none for `vitals`, unless it needs a family the README
    /// lists as not exported (those are counted, by what they lack). Returns the outcomes.
    fn side(
        &self,
        expressions: &[Expression],
        vitals: &Side,
        failures: &mut Vec<String>,
    ) -> (Vec<Outcome>, BTreeMap<Vec<String>, usize>) {
        let has = |side: &Side, promql: &str| {
            evaluate(self.port, &side.substitute(promql))
                .ok()
                .map(|d| has_data(&d))
        };
        let outcomes: Vec<Outcome> = expressions
            .iter()
            .map(|expression| Outcome {
                expression: expression.clone(),
                reference: has(self.reference, &expression.promql),
                vitals: has(vitals, &expression.promql),
            })
            .collect();
        let mut excused: BTreeMap<Vec<String>, usize> = BTreeMap::new();
        // Misses where vitals has every family the expression reads: a filter on a value
        // (`rate(...) != 0`) may hold on one side and not the other for a scrape or two, since
        // node_exporter reads the kernel at the scrape and the agent up to a second before it.
        // Those are asked again over the next scrapes, and fail only if they miss every time.
        let mut again: Vec<&Outcome> = Vec::new();
        for o in &outcomes {
            if o.reference == Some(true) && o.vitals != Some(true) {
                let missing: Vec<String> = names(&o.expression.promql, self.recorded)
                    .into_iter()
                    .filter(|n| !self.exposed.contains(n))
                    .collect();
                if missing.iter().any(|n| listed(n, self.not_exported)) {
                    *excused.entry(missing).or_insert(0) += 1;
                } else if missing.is_empty() {
                    again.push(o);
                } else {
                    failures.push(miss(o, vitals, &missing));
                }
            }
        }
        for _ in 0..3 {
            if again.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_secs(10));
            again.retain(|o| {
                let promql = &o.expression.promql;
                has(self.reference, promql) == Some(true) && has(vitals, promql) != Some(true)
            });
        }
        failures.extend(again.iter().map(|o| miss(o, vitals, &[])));
        (outcomes, excused)
    }
}

/// The failure text of an expression with data for node_exporter and none for vitals.
fn miss(o: &Outcome, vitals: &Side, missing: &[String]) -> String {
    format!(
        "{} {}: data for node_exporter, none for vitals' {} (vitals lacks {missing:?}):\n  {}",
        o.expression.source,
        o.expression.panel.as_deref().unwrap_or(""),
        vitals.instance,
        vitals.substitute(&o.expression.promql).replace('\n', " ")
    )
}

/// Prints, for each source, how many expressions and panels have data on each side.
fn report(outcomes: &[Outcome], excused: &BTreeMap<Vec<String>, usize>) {
    let mut by_source: BTreeMap<&str, Vec<&Outcome>> = BTreeMap::new();
    for o in outcomes {
        by_source.entry(&o.expression.source).or_default().push(o);
    }
    println!(
        "{:<50} {:>6} {:>8} {:>8} {:>7} | {:>6} {:>8} {:>7} {:>7}",
        "source", "exprs", "node_exp", "vitals", "failed", "panels", "node_exp", "whole", "empty"
    );
    for (source, list) in by_source {
        let count = |f: &dyn Fn(&Outcome) -> bool| list.iter().filter(|o| f(o)).count();
        let mut panels: BTreeMap<&str, (bool, bool, bool)> = BTreeMap::new();
        for o in &list {
            let Some(panel) = o.expression.panel.as_deref() else {
                continue;
            };
            if panel.starts_with("variable ") {
                continue;
            }
            // (any data for node_exporter, every such expression has vitals data, any has)
            let entry = panels.entry(panel).or_insert((false, true, false));
            if o.reference == Some(true) {
                entry.0 = true;
                entry.1 &= o.vitals == Some(true);
            }
            entry.2 |= o.vitals == Some(true);
        }
        let with_data = panels.values().filter(|p| p.0).count();
        let whole = panels.values().filter(|p| p.0 && p.1).count();
        let empty = panels.values().filter(|p| p.0 && !p.2).count();
        println!(
            "{:<50} {:>6} {:>8} {:>8} {:>7} | {:>6} {:>8} {:>7} {:>7}",
            source,
            list.len(),
            count(&|o| o.reference == Some(true)),
            count(&|o| o.vitals == Some(true)),
            count(&|o| o.reference.is_none()),
            panels.len(),
            with_data,
            whole,
            empty
        );
    }
    println!(
        "misses excused by the README's list of what vitals does not export: {}",
        excused.values().sum::<usize>()
    );
    for (missing, count) in excused {
        println!("  {count:>3} for want of {}", missing.join(", "));
    }
}
