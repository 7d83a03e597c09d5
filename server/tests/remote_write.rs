//! Remote write (`--remote-write`): against a receiver that answers what a store may answer, in
//! turn, and against a real Prometheus with its remote-write receiver, through a stop of the
//! server.

mod common;

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use common::promql::{evaluate, query};
use common::store::{Received, read_request};
use common::{Server, agent, bin, http_get, value, wait_for};

/// A receiver that answers each request of an agent's samples with the next of `answers` (raw
/// HTTP), then 204s; sends what it read on the channel. A request that holds only `up` series
/// (which the server writes by its own clock, every 15 s) gets a 204 and is not counted.
fn fake_receiver(answers: Vec<&'static str>) -> (SocketAddr, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut answers = answers.into_iter();
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let mut conn = BufReader::new(conn);
            while let Some(received) = read_request(&mut conn) {
                if !String::from_utf8_lossy(&received.body).contains("node_") {
                    let _ = conn.get_mut().write_all(b"HTTP/1.1 204 No Content\r\n\r\n");
                    continue;
                }
                let _ = tx.send(received);
                let answer = answers.next().unwrap_or("HTTP/1.1 204 No Content\r\n\r\n");
                let _ = conn.get_mut().write_all(answer.as_bytes());
                if !answer.contains("Content-Length") && !answer.contains(" 204 ") {
                    // Not HTTP, or no length: the close ends it.
                    break;
                }
            }
        }
    });
    (addr, rx)
}

/// The number of `TimeSeries` in a `WriteRequest` (field 1, length-delimited, at top level).
fn series_in(body: &[u8]) -> usize {
    let (mut at, mut count) = (0, 0);
    while at < body.len() {
        assert_eq!(body[at], 0x0a, "a TimeSeries field");
        at += 1;
        let (mut len, mut shift) = (0usize, 0);
        loop {
            let b = body[at];
            at += 1;
            len |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b < 0x80 {
                break;
            }
        }
        at += len;
        count += 1;
    }
    assert_eq!(at, body.len());
    count
}

#[test]
fn each_answer_of_a_store_is_handled_and_counted() {
    let (receiver, requests) = fake_receiver(vec![
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nbad request",
        "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 204 No Content\r\n\r\n",
        // Prometheus 2.42's answer to samples older than its head block.
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 14\r\n\r\nout of bounds\n",
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
        "SSH-2.0-OpenSSH_9.2\r\n\r\n",
        "HTTP/1.1 204 No Content\r\n\r\n",
    ]);
    let token = std::env::temp_dir().join(format!("vitals-rw-token-{}", std::process::id()));
    std::fs::write(&token, "s3cret\n").unwrap();
    let server = Server::start(
        "127.0.0.1:0",
        "127.0.0.1:0",
        &[
            "--remote-write",
            &format!("http://{receiver}/api/v1/write"),
            "--remote-write-bearer-token-file",
            token.to_str().unwrap(),
            "--remote-write-header",
            "X-Scope-OrgID: fleet-a",
            "--remote-write-label",
            "vitals_server=central:7451",
        ],
    );
    let _agent = agent("rw-fake", &[server.agents], "1s");
    let received: Vec<Received> = (0..9)
        .map(|_| {
            requests
                .recv_timeout(Duration::from_secs(30))
                .expect("a request")
        })
        .collect();
    let head = &received[0].head;
    for header in [
        "POST /api/v1/write HTTP/1.1",
        "Content-Encoding: snappy",
        "Content-Type: application/x-protobuf",
        "X-Prometheus-Remote-Write-Version: 0.1.0",
        "X-Scope-OrgID: fleet-a",
        "Authorization: Bearer s3cret\r\n",
    ] {
        assert!(head.contains(header), "{header} in {head}");
    }
    let _ = std::fs::remove_file(&token);
    // Retries send the same request again: after the 429, and after the 503 and the garbage.
    assert_eq!(received[1].body, received[2].body);
    assert_eq!(received[4].body, received[5].body);
    assert_eq!(received[5].body, received[6].body);
    let per_sample = series_in(&received[0].body);
    assert!(per_sample > 100, "{per_sample} series in a sample");
    let text = String::from_utf8_lossy(&received[0].body);
    for label in [
        "__name__",
        "node_load1",
        "instance",
        "rw-fake",
        "job",
        "node",
        "vitals_server",
    ] {
        assert!(text.contains(label), "{label}");
    }

    let metrics = wait_for("the counts", Duration::from_secs(10), || {
        let m = server.metrics();
        let sent = value(
            &m,
            "vitals_remote_write_samples_total",
            &[("outcome", "sent")],
        )?;
        (sent >= 2.0 * per_sample as f64).then_some(m)
    });
    let count = |outcome| {
        value(
            &metrics,
            "vitals_remote_write_samples_total",
            &[("outcome", outcome)],
        )
    };
    assert_eq!(count("refused"), Some(per_sample as f64), "{metrics}");
    assert_eq!(count("too_old"), Some(per_sample as f64));
    let code = |code| {
        value(
            &metrics,
            "vitals_remote_write_requests_total",
            &[("code", code)],
        )
    };
    for (c, n) in [
        ("400", 1.0),
        ("429", 1.0),
        ("500", 1.0),
        ("503", 1.0),
        ("error", 1.0),
    ] {
        assert_eq!(code(c), Some(n), "{c}");
    }
    // How far behind the store is: its newest answered sample is the agent's, of just now.
    let newest = value(
        &metrics,
        "vitals_remote_write_newest_sample_timestamp_seconds",
        &[],
    )
    .unwrap();
    assert!((now_s() - newest).abs() < 30.0, "{newest}");
    // The server went on serving its agent and its scrapes throughout.
    assert_eq!(http_get(server.http, "/healthz").map(|r| r.0), Some(200));
}

#[test]
fn a_store_that_never_answers_leaves_the_server_healthy_and_quick_to_stop() {
    // Reads requests, answers none.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let receiver = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let url = format!("http://{receiver}/api/v1/write");
    let mut server = Server::start("127.0.0.1:0", "127.0.0.1:0", &["--remote-write", &url]);
    let _agent = agent("rw-silent", &[server.agents], "1s");
    // Longer than a heartbeat may be stale, while the writer waits on its first request.
    std::thread::sleep(Duration::from_secs(8));
    let (status, body) = http_get(server.http, "/healthz").unwrap();
    assert_eq!(status, 200, "{body}");
    let m = server.metrics();
    assert_eq!(
        value(
            &m,
            "vitals_remote_write_samples_total",
            &[("outcome", "sent")]
        ),
        Some(0.0)
    );
    let stopping = std::time::Instant::now();
    assert!(server.proc.terminate());
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "{:?}",
        stopping.elapsed()
    );
}

#[test]
fn bad_remote_write_flags_are_refused_with_a_reason() {
    for (args, says) in [
        (vec!["--remote-write", "ftp://x/"], "http:// or https://"),
        (vec!["--remote-write", "http://u:p@x/"], "not in the URL"),
        (vec!["--remote-write-label", "job=x"], "need --remote-write"),
        (
            vec![
                "--remote-write",
                "http://x/",
                "--remote-write-label",
                "__name__=x",
            ],
            "not a label name",
        ),
        (
            vec![
                "--remote-write",
                "http://x/",
                "--remote-write-header",
                "Content-Length: 1",
            ],
            "set by remote write",
        ),
        (
            vec![
                "--remote-write",
                "http://x/",
                "--remote-write-basic-auth-user",
                "u",
            ],
            "needs --remote-write-password-file",
        ),
        (
            vec![
                "--remote-write",
                "http://x/",
                "--remote-write-bearer-token-file",
                "/nonexistent",
            ],
            "/nonexistent",
        ),
        (
            vec!["--remote-write", "http://x/", "--remote-write-shards", "0"],
            "not a number from 1 to",
        ),
        (vec!["--remote-write-shards", "2"], "need --remote-write"),
    ] {
        let out = Command::new(bin("vitals-server"))
            .args(["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// Prometheus with its remote-write receiver on `addr` (port 0 picks one), storing in `dir`,
/// once it is ready.
fn receiving_prometheus(dir: &std::path::Path, addr: &str) -> (common::Proc, SocketAddr) {
    let addr = TcpListener::bind(addr).unwrap().local_addr().unwrap();
    let proc = prometheus_at(dir, addr, &[]);
    wait_for("Prometheus ready", Duration::from_secs(60), || {
        http_get(addr, "/-/ready").filter(|r| r.0 == 200)
    });
    (proc, addr)
}

/// Prometheus with its remote-write receiver on `addr`, storing in `dir`, with more flags.
fn prometheus_at(dir: &std::path::Path, addr: SocketAddr, extra: &[&str]) -> common::Proc {
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "global:\n  evaluation_interval: 5s\n").unwrap();
    let flags = [&["--web.enable-remote-write-receiver"][..], extra].concat();
    common::prometheus_on(&config, &dir.join("data"), addr, &flags)
}

/// The agent's `node_time_seconds` samples in Prometheus over the last `range`: (time, value).
fn time_samples(port: SocketAddr, selector: &str, range: &str) -> Vec<(f64, f64)> {
    let samples = evaluate(port, &format!("node_time_seconds{selector}[{range}]")).unwrap();
    samples["result"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v[0].as_f64().unwrap(),
                v[1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A store, a server writing to it and an agent sampling every second, once the store has
/// ten of its samples.
struct Rig {
    dir: std::path::PathBuf,
    prometheus: common::Proc,
    /// Where the store listens.
    port: SocketAddr,
    flags: Vec<String>,
    server: Server,
    agent: common::Proc,
    /// When the agent started, in Unix seconds.
    started: f64,
}

/// The series of the rig's agent, as the store has them.
const SELECTOR: &str = r#"{instance="rw-host",job="node"}"#;

impl Rig {
    fn start(name: &str, agent_flags: &[&str]) -> Rig {
        let dir =
            std::env::temp_dir().join(format!("vitals-remote-write-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (prometheus, port) = receiving_prometheus(&dir, "127.0.0.1:0");
        let flags = vec![
            "--remote-write".to_owned(),
            format!("http://{port}/api/v1/write"),
        ];
        let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &strs(&flags));
        let agent = common::agent_with("rw-host", &[server.agents], "1s", agent_flags);
        let started = now_s();
        wait_for("ten samples in Prometheus", Duration::from_secs(60), || {
            query(
                port,
                &format!("count_over_time(node_time_seconds{SELECTOR}[1m]) >= 10"),
            )
            .filter(|r| !r.is_empty())
        });
        Rig {
            dir,
            prometheus,
            port,
            flags,
            server,
            agent,
            started,
        }
    }

    /// A new server in place of the one stopped, at the same addresses.
    fn restart_server(&mut self) {
        let (agents, http) = (self.server.agents.to_string(), self.server.http.to_string());
        self.server = Server::start(&agents, &http, &strs(&self.flags));
    }

    /// Waits until the store has a sample of the agent's newer than now.
    fn wait_for_new_samples(&self, what: &str, timeout: Duration) {
        let since = now_s();
        wait_for(what, timeout, || {
            query(
                self.port,
                &format!("timestamp(node_time_seconds{SELECTOR})"),
            )
            .and_then(|r| r.first()?["value"][1].as_str()?.parse::<f64>().ok())
            .filter(|t| *t > since)
        });
    }

    /// The agent's `node_time_seconds` samples in the store since it started, each checked
    /// to be at the agent's own time; and checks that no counter went backwards.
    fn samples(&self) -> Vec<f64> {
        let range = format!("{}s", (now_s() - self.started + 5.0).ceil());
        let points = time_samples(self.port, SELECTOR, &range);
        for (t, v) in &points {
            // node_time_seconds is the agent's clock at the sample.
            assert!((t - v).abs() < 0.0015, "sample at {t} says {v}");
        }
        let resets = query(
            self.port,
            &format!("resets(node_cpu_seconds_total{SELECTOR}[{range}]) > 0"),
        )
        .unwrap();
        assert!(resets.is_empty(), "a counter went backwards: {resets:?}");
        points.iter().map(|p| p.0).collect()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The samples missing between `times` taken a second apart: each gap of k seconds is k - 1.
/// (A sample may be taken late by a loaded machine, a few tenths of a second.)
fn missing(times: &[f64]) -> u64 {
    times
        .windows(2)
        .map(|w| {
            let gap = w[1] - w[0];
            let seconds = gap.round();
            assert!(
                seconds >= 1.0 && (gap - seconds).abs() < 0.45,
                "samples {gap} s apart"
            );
            seconds as u64 - 1
        })
        .sum()
}

#[test]
#[ignore = "needs Debian's prometheus: make test runs it"]
fn a_server_stopped_for_90_s_leaves_no_hole_in_the_store() {
    // A ring of 1 MiB holds some 400 of this machine's samples (the default, 256 KiB, about
    // 13 minutes at the default interval, holds less than 90 s at one a second).
    let mut rig = Rig::start("server-stop", &["--buffer", "1MiB"]);

    // The remote-written series are the scrape's, with the job the shipped config gives.
    let scraped = rig.server.metrics();
    let cpu_lines = scraped
        .lines()
        .filter(|l| l.starts_with("node_cpu_seconds_total{"))
        .count();
    let stored = query(rig.port, &format!("node_cpu_seconds_total{SELECTOR}")).unwrap();
    assert_eq!(stored.len(), cpu_lines);
    for s in &stored {
        let m = &s["metric"];
        let line = format!(
            r#"node_cpu_seconds_total{{instance="rw-host",cpu="{}",mode="{}"}} "#,
            m["cpu"].as_str().unwrap(),
            m["mode"].as_str().unwrap()
        );
        assert!(scraped.contains(&line), "{line}");
        assert_eq!(m.as_object().unwrap().len(), 5, "{m}");
    }

    // The server stops for 90 s; the agent keeps sampling, and sends it all when the server
    // is back.
    rig.server.proc.terminate();
    std::thread::sleep(Duration::from_secs(90));
    rig.restart_server();
    rig.wait_for_new_samples("samples after the server's stop", Duration::from_secs(60));
    let times = rig.samples();
    assert_eq!(missing(&times), 0, "holes in {times:?}");
    // Ten or more before the stop, ninety during it.
    assert!(times.len() >= 100, "{} samples", times.len());
    let m = rig.server.metrics();
    let sent = value(
        &m,
        "vitals_remote_write_samples_total",
        &[("outcome", "sent")],
    );
    assert!(sent.unwrap() > 0.0, "{m}");

    // The agent stops: `up` goes to 0 at once, by the server's clock; once its series expire on the server (three intervals, at least 5 s), they end
    // in Prometheus at once, as a scrape's would, not five minutes later.
    let up = |port| {
        query(port, &format!("up{SELECTOR}"))
            .and_then(|r| r.first()?["value"][1].as_str()?.parse::<f64>().ok())
    };
    // Written every 15 s, as a scrape would find it: 1 again since the server came back.
    wait_for("up to be 1", Duration::from_secs(30), || {
        up(rig.port).filter(|v| *v == 1.0)
    });
    rig.agent.kill();
    wait_for("up to be 0", Duration::from_secs(30), || {
        up(rig.port).filter(|v| *v == 0.0)
    });
    wait_for("the series to end", Duration::from_secs(30), || {
        query(rig.port, &format!("node_load1{SELECTOR}")).filter(|r| r.is_empty())
    });
    assert_eq!(
        up(rig.port),
        Some(0.0),
        "up ended with the agent's other series"
    );
}

#[test]
#[ignore = "needs Debian's prometheus: make test runs it"]
fn a_store_stopped_for_90_s_loses_only_what_the_ring_dropped_and_counts_it() {
    // Protocol v1 and the smallest ring: a few whole samples, so that the outage overflows it.
    let mut rig = Rig::start("store-stop", &["--protocol", "1", "--buffer", "65KiB"]);

    // The store stops for 90 s. Half way, the server is killed: what it held for the store
    // is gone with it, and the agent has only what its ring kept.
    assert!(rig.prometheus.terminate());
    std::thread::sleep(Duration::from_secs(45));
    let m = rig.server.metrics();
    let waiting = value(&m, "vitals_remote_write_queued_samples", &[]).unwrap();
    assert!(waiting > 0.0, "nothing waits for the store: {m}");
    rig.server.proc.kill();
    rig.restart_server();
    std::thread::sleep(Duration::from_secs(45));
    let (prometheus, port) = receiving_prometheus(&rig.dir, &rig.port.to_string());
    (rig.prometheus, rig.port) = (prometheus, port);
    // The writer's backoff has grown to 30 s (give or take a quarter) meanwhile.
    rig.wait_for_new_samples("samples after the store's stop", Duration::from_secs(90));

    let times = rig.samples();
    let lost = missing(&times);
    assert!(lost > 10, "the ring did not overflow: {times:?}");
    // Exactly what the agent counted as dropped, as its later samples say.
    let dropped = query(
        rig.port,
        &format!("vitals_agent_samples_dropped_total{SELECTOR}"),
    )
    .and_then(|r| r.first()?["value"][1].as_str()?.parse::<f64>().ok());
    let history = evaluate(
        rig.port,
        &format!("vitals_agent_samples_dropped_total{SELECTOR}[10m]"),
    )
    .unwrap();
    let history: Vec<String> = history["result"][0]["values"]
        .as_array()
        .unwrap()
        .windows(2)
        .filter(|w| w[0][1] != w[1][1])
        .map(|w| format!("{} -> {} at {}", w[0][1], w[1][1], w[1][0]))
        .collect();
    assert_eq!(
        dropped,
        Some(lost as f64),
        "holes in {times:?}; dropped: {history:?}"
    );
}

#[test]
#[ignore = "needs Debian's prometheus: make test runs it"]
fn a_store_behind_tls_and_basic_auth_takes_samples_with_the_right_password_only() {
    use common::certs::{Dir, certificates};
    let dir = Dir::new("remote-write-tls");
    certificates(&dir);
    let hash = bcrypt::hash("correct horse", 4).unwrap();
    // Prometheus' web config: its paths are read from the file's directory.
    let web = dir.write(
        "web.yml",
        &format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n\
             basic_auth_users:\n  vitals: {hash}\n"
        ),
    );
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let _prometheus = prometheus_at(
        &dir.0,
        addr,
        &[&format!("--web.config.file={}", web.display())],
    );
    let writing = |password: &str| {
        let file = dir.write(&format!("password-{}", password.len()), password);
        let flags = [
            "--remote-write".to_owned(),
            format!("https://127.0.0.1:{}/api/v1/write", addr.port()),
            "--remote-write-ca-file".to_owned(),
            dir.path("ca.pem").display().to_string(),
            "--remote-write-basic-auth-user".to_owned(),
            "vitals".to_owned(),
            "--remote-write-password-file".to_owned(),
            file.display().to_string(),
        ];
        Server::start("127.0.0.1:0", "127.0.0.1:0", &strs(&flags))
    };
    let (right, wrong) = (writing("correct horse\n"), writing("wrong\n"));
    let _agents = (
        agent("rw-tls-a", &[right.agents], "1s"),
        agent("rw-tls-b", &[wrong.agents], "1s"),
    );
    let count = |server: &Server, outcome| {
        value(
            &server.metrics(),
            "vitals_remote_write_samples_total",
            &[("outcome", outcome)],
        )
    };
    // Retried while Prometheus starts (no answer), then taken.
    wait_for("samples taken over TLS", Duration::from_secs(60), || {
        count(&right, "sent").filter(|n| *n > 0.0)
    });
    assert_eq!(count(&right, "refused"), Some(0.0));
    // The wrong password: 401, refused for good, and nothing taken.
    wait_for(
        "the wrong password refused",
        Duration::from_secs(60),
        || {
            value(
                &wrong.metrics(),
                "vitals_remote_write_requests_total",
                &[("code", "401")],
            )
            .filter(|n| *n > 0.0)
        },
    );
    assert!(count(&wrong, "refused").is_some_and(|n| n > 0.0));
    assert_eq!(count(&wrong, "sent"), Some(0.0));
}
