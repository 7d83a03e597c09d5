//! The real `vitals-server` with real `vitals-agent` processes on loopback.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Server, agent, agent_with_log, http_get, metric_type, series, value, wait_for};

const IDS: [&str; 3] = ["alpha", "bravo", "charlie"];

fn all_up(server: &Server) -> Option<()> {
    let m = http_get(server.http, "/metrics")?.1;
    IDS.iter()
        .all(|id| {
            value(&m, "vitals_agent_up", &[("instance", id)]) == Some(1.0)
                && value(&m, "node_load1", &[("instance", id)]).is_some()
        })
        .then_some(())
}

#[test]
fn three_agents_survive_a_server_restart_and_a_stopped_agent_expires() {
    let mut server = Server::start("127.0.0.1:0", "127.0.0.1:0", &["--expire-after", "3s"]);
    let mut agents: Vec<_> = IDS
        .iter()
        .map(|id| agent(id, &[server.agents], "500ms"))
        .collect();
    wait_for("three agents in /metrics", Duration::from_secs(20), || {
        all_up(&server)
    });

    // Each agent's series, with node_exporter's names and types.
    let m = server.metrics();
    for (name, kind) in [
        ("node_cpu_seconds_total", "counter"),
        ("node_network_receive_bytes_total", "counter"),
        ("node_context_switches_total", "counter"),
        ("node_memory_MemAvailable_bytes", "gauge"),
        ("node_memory_MemTotal_bytes", "gauge"),
        ("node_filesystem_avail_bytes", "gauge"),
        ("node_load1", "gauge"),
        ("node_boot_time_seconds", "gauge"),
        ("node_uname_info", "gauge"),
        ("vitals_agent_up", "gauge"),
        ("vitals_agent_info", "gauge"),
        ("vitals_agent_last_seen_timestamp_seconds", "gauge"),
        ("vitals_server_frames_received_total", "counter"),
    ] {
        assert_eq!(metric_type(&m, name), Some(kind), "{name}");
    }
    for id in IDS {
        let idle = series(
            &m,
            "node_cpu_seconds_total",
            &[("instance", id), ("mode", "idle")],
        );
        assert!(
            !idle.is_empty() && idle.iter().all(|&s| s > 0.0),
            "{id}: {idle:?}"
        );
        assert!(value(&m, "node_memory_MemTotal_bytes", &[("instance", id)]).unwrap() > 0.0);
        assert!(
            value(
                &m,
                "node_filesystem_size_bytes",
                &[("instance", id), ("mountpoint", "/")]
            )
            .unwrap()
                > 0.0,
            "{id}"
        );
        assert_eq!(
            value(
                &m,
                "vitals_agent_info",
                &[("instance", id), ("os", "Linux")]
            ),
            Some(1.0)
        );
        assert!(
            m.contains(&format!("node_uname_info{{instance=\"{id}\",domainname=")),
            "{id}"
        );
    }
    assert_eq!(value(&m, "vitals_server_agents_connected", &[]), Some(3.0));
    // No timestamps: every sample line is `name{labels} value`.
    assert!(m.lines().filter(|l| !l.starts_with('#')).all(|l| {
        l.rsplit(' ')
            .nth(1)
            .is_some_and(|s| s.ends_with('}') || !s.contains('{'))
    }));

    // Kill the server and start it again on the same ports: the agents come back by themselves.
    let (agents_addr, http_addr) = (server.agents, server.http);
    server.proc.kill();
    let server = Server::start(
        &agents_addr.to_string(),
        &http_addr.to_string(),
        &["--expire-after", "3s"],
    );
    wait_for(
        "all three back after the restart",
        Duration::from_secs(30),
        || all_up(&server),
    );

    // A counter continues and is never duplicated: one series per cpu and mode.
    let m = server.metrics();
    let cpus = series(
        &m,
        "node_cpu_seconds_total",
        &[("instance", "alpha"), ("mode", "user")],
    )
    .len();
    assert!(cpus >= 1);
    assert_eq!(
        series(&m, "vitals_agent_up", &[("instance", "alpha")]).len(),
        1
    );

    // Stop one agent: it is down at once, and its series expire.
    assert!(agents[2].terminate(), "agent exits cleanly on SIGTERM");
    wait_for("charlie down", Duration::from_secs(5), || {
        let m = server.metrics();
        (value(&m, "vitals_agent_up", &[("instance", "charlie")]) == Some(0.0)).then_some(())
    });
    wait_for(
        "charlie's series to expire",
        Duration::from_secs(10),
        || {
            let m = server.metrics();
            (value(&m, "node_load1", &[("instance", "charlie")]).is_none()).then_some(m)
        },
    );
    let m = server.metrics();
    assert_eq!(
        value(&m, "vitals_agent_up", &[("instance", "charlie")]),
        Some(0.0),
        "up stays, at 0"
    );
    assert!(
        value(&m, "node_load1", &[("instance", "alpha")]).is_some(),
        "the others are untouched"
    );
    assert_eq!(value(&m, "vitals_server_agents_connected", &[]), Some(2.0));
    agents.truncate(2);
}

/// Sends `line`, returns what the server answers until it closes.
fn exchange(server: &Server, lines: &[&[u8]]) -> String {
    let mut s = TcpStream::connect(server.agents).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for line in lines {
        s.write_all(line).unwrap();
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
}

const HELLO: &[u8] = b"{\"v\":1,\"kind\":\"hello\",\"id\":\"raw\",\"version\":\"0\",\"os\":\"Linux\",\"arch\":\"x\",\"kernel\":\"k\",\"kernel_version\":\"kv\",\"hostname\":\"h\",\"domainname\":\"(none)\",\"interval_ms\":1000,\"session\":1}\n";

#[test]
fn bad_frames_are_refused_counted_and_harm_no_other_agent() {
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let _honest = agent("honest", &[server.agents], "500ms");
    wait_for("the honest agent", Duration::from_secs(20), || {
        let m = http_get(server.http, "/metrics")?.1;
        value(&m, "node_load1", &[("instance", "honest")]).map(|_| ())
    });

    let cases: &[(&[&[u8]], &str)] = &[
        (&[b"GET / HTTP/1.1\r\n\r\n"], "bad_json"),
        (&[b"{\"v\":1,\"kind\":\"ack\",\"seq\":\xff}\n"], "bad_utf8"),
        (&[b"{\"v\":9,\"kind\":\"hello\"}\n"], "unsupported_version"),
        (&[b"{\"v\":1,\"kind\":\"gossip\"}\n"], "unknown_kind"),
        (&[b"{\"v\":1,\"kind\":\"sample\",\"seq\":1,\"dropped\":0,\"sample\":{}}\n"], "bad_json"),
        (&[b"{\"v\":1,\"kind\":\"ack\",\"seq\":1}\n"], "unexpected_message"),
        (&[HELLO, b"{\"v\":1,\"kind\":\"hello\"}\n"], "bad_json"),
        (&[&[b'['; 100_000]], "line_too_long"),
        (&[b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n"], "too_deep"),
    ];
    for (lines, code) in cases {
        let answer = exchange(&server, lines);
        assert!(
            answer.contains(&format!("\"kind\":\"error\",\"code\":\"{code}\"")),
            "{code}: {answer}"
        );
    }
    // Each refusal is counted by the aggregator, a moment after the agent hears of it.
    let counted = |m: &str, reason: &str| {
        value(
            m,
            "vitals_server_frames_rejected_total",
            &[("reason", reason)],
        )
    };
    let m = wait_for("every refusal counted", Duration::from_secs(5), || {
        let m = server.metrics();
        (counted(&m, "bad_json") == Some(3.0)
            && counted(&m, "line_too_long") == Some(1.0)
            && counted(&m, "unexpected_message") == Some(1.0))
        .then_some(m)
    });
    // The honest agent keeps sending through all of it.
    let seen = value(&m, "vitals_agent_samples_total", &[("instance", "honest")]).unwrap();
    wait_for(
        "more samples from the honest agent",
        Duration::from_secs(10),
        || {
            let m = server.metrics();
            (value(&m, "vitals_agent_samples_total", &[("instance", "honest")])? > seen
                && value(&m, "vitals_agent_up", &[("instance", "honest")]) == Some(1.0))
            .then_some(())
        },
    );
}

#[test]
fn a_scrape_is_gzipped_when_asked_for() {
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let _a = agent("zipped", &[server.agents], "500ms");
    wait_for("the agent", Duration::from_secs(20), || {
        let m = http_get(server.http, "/metrics")?.1;
        value(&m, "node_load1", &[("instance", "zipped")]).map(|_| ())
    });
    let mut s = TcpStream::connect(server.http).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    s.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    assert!(head.contains("content-encoding: gzip"), "{head}");
    // Streamed while it is compressed, so chunked.
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    let body = common::chunked::dechunk(&response[split + 4..]);
    let mut text = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert!(value(&text, "node_load1", &[("instance", "zipped")]).is_some());
    // Without the header, plain text.
    let (_, plain) = http_get(server.http, "/metrics").unwrap();
    assert!(plain.starts_with("# HELP"));
}

#[test]
fn the_http_side_has_a_landing_page_health_and_404() {
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let (status, body) = http_get(server.http, "/").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("href=\"/metrics\""));
    assert_eq!(
        http_get(server.http, "/healthz").unwrap(),
        (200, "ok\n".into())
    );
    assert_eq!(http_get(server.http, "/nope").unwrap().0, 404);
}

#[test]
fn on_sigterm_the_server_tells_its_agents_it_is_going_away_and_exits_within_a_second() {
    let mut server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let (_agent, log) = agent_with_log("leaving", &[server.agents], "500ms", &[]);
    wait_for("the agent", Duration::from_secs(20), || {
        let m = http_get(server.http, "/metrics")?.1;
        (value(&m, "vitals_agent_up", &[("instance", "leaving")]) == Some(1.0)).then_some(())
    });
    // A connection of our own as well, to read the exact line.
    let mut raw = TcpStream::connect(server.agents).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    raw.write_all(HELLO).unwrap();
    let mut lines = BufReader::new(raw.try_clone().unwrap()).lines();
    let welcome = lines.next().unwrap().unwrap();
    assert!(welcome.contains(r#""kind":"welcome""#), "{welcome}");

    let asked = Instant::now();
    server.proc.signal("TERM");
    let status = server.proc.wait_exit(Duration::from_secs(5));
    let took = asked.elapsed();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    eprintln!("the server exited {took:?} after SIGTERM");
    assert!(took < Duration::from_secs(1), "exited after {took:?}");

    let goodbye = lines.next().unwrap().unwrap();
    assert!(
        goodbye.contains(r#""kind":"error","code":"shutting_down""#),
        "{goodbye}"
    );
    assert!(lines.next().is_none(), "then the server closes");
    wait_for("the agent to hear it", Duration::from_secs(5), || {
        loop {
            match log.try_recv() {
                Ok(line) if line.contains("(shutting_down)") => return Some(()),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    });

    // The agent takes it as any lost connection: it comes back to a server on the same port.
    let server = Server::start(&server.agents.to_string(), "127.0.0.1:0", &[]);
    wait_for("the agent back", Duration::from_secs(30), || {
        let m = http_get(server.http, "/metrics")?.1;
        (value(&m, "vitals_agent_up", &[("instance", "leaving")]) == Some(1.0)).then_some(())
    });
}

/// Regression: the server logged with `eprintln!`, which panics when stderr is closed, and the
/// panic killed the worker of every agent that connected after its supervisor went away.
#[test]
fn a_closed_stderr_does_not_stop_the_server() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(common::bin("vitals-server"))
        .args(["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The pipe is closed now: every later log line fails to write.
    let (agents, http) = server::parse_startup_line(&first).unwrap();
    let _server = common::Proc {
        child,
        name: "server".into(),
    };
    let _agent = agent("quiet", &[agents], "500ms");
    wait_for("the agent's series", Duration::from_secs(20), || {
        let m = http_get(http, "/metrics")?.1;
        value(&m, "node_load1", &[("instance", "quiet")]).map(|_| ())
    });
}

#[test]
fn agents_fail_over_to_the_other_servers_and_are_shown_by_one_only() {
    let mut servers: Vec<Server> = (0..3)
        .map(|_| Server::start("127.0.0.1:0", "127.0.0.1:0", &["--expire-after", "3s"]))
        .collect();
    let addrs: Vec<_> = servers.iter().map(|s| s.agents).collect();
    // Each agent prefers a different server and lists the others as fallbacks.
    let ids = ["fo-0", "fo-1", "fo-2"];
    let _agents: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let order: Vec<_> = (0..3).map(|k| addrs[(i + k) % 3]).collect();
            agent(id, &order, "500ms")
        })
        .collect();
    let shown_by = |servers: &[Server], id: &str| -> Vec<usize> {
        servers
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                http_get(s.http, "/metrics")
                    .is_some_and(|(_, m)| value(&m, "node_load1", &[("instance", id)]).is_some())
            })
            .map(|(i, _)| i)
            .collect()
    };
    for (i, id) in ids.iter().enumerate() {
        wait_for(
            "each agent on its first server",
            Duration::from_secs(20),
            || (shown_by(&servers, id) == [i]).then_some(()),
        );
    }
    // Stop the first server: its agent moves on, well within the 30 s backoff cap.
    servers[0].proc.kill();
    let living = servers.split_off(1);
    let moved = wait_for("fo-0 on another server", Duration::from_secs(30), || {
        let on = shown_by(&living, "fo-0");
        (on.len() == 1).then_some(on)
    });
    assert_eq!(moved, [0], "the next server in its list");
    // The others stayed where they were, and nobody is shown twice.
    for (i, id) in ids.iter().enumerate().skip(1) {
        assert_eq!(shown_by(&living, id), [i - 1], "{id}");
    }
}

#[test]
fn connections_past_the_limit_get_an_error_and_the_server_goes_on() {
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &["--max-connections", "2"]);
    let _a = agent("first", &[server.agents], "500ms");
    let _b = agent("second", &[server.agents], "500ms");
    wait_for("both agents", Duration::from_secs(20), || {
        let m = http_get(server.http, "/metrics")?.1;
        (value(&m, "vitals_agent_up", &[("instance", "first")]) == Some(1.0)
            && value(&m, "vitals_agent_up", &[("instance", "second")]) == Some(1.0))
        .then_some(())
    });
    let answer = exchange(&server, &[HELLO]);
    assert!(answer.contains(r#""code":"unavailable""#), "{answer}");
    let m = server.metrics();
    assert_eq!(
        value(&m, "vitals_agent_up", &[("instance", "first")]),
        Some(1.0)
    );
    assert_eq!(value(&m, "vitals_server_agents_connected", &[]), Some(2.0));
    wait_for("the refusal counted", Duration::from_secs(5), || {
        let m = server.metrics();
        let counted = value(
            &m,
            "vitals_server_frames_rejected_total",
            &[("reason", "unavailable")],
        );
        (counted == Some(1.0)).then_some(())
    });
}

#[test]
fn a_burst_longer_than_a_read_is_read_to_its_last_sample() {
    // An agent replaying its ring after an outage sends many samples at once, and then nothing.
    // The server reads each socket once a pass: what one read leaves must be read in a later
    // pass, with no new bytes to report it. (This failed with an edge-triggered epoll that
    // forgot a socket whose read had filled the buffer.)
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let mut burst = HELLO.to_vec();
    let mut buf = vec![0u8; agent_core::wire::MAX_LINE + 1];
    let samples = 400;
    for seq in 1..=samples {
        let message = agent_core::wire::Message::Sample(agent_core::wire::SampleMessage {
            seq,
            dropped: 0,
            sample: server::synthetic::sample(),
        });
        let n = agent_core::wire::encode(&message, &mut buf).unwrap();
        burst.extend_from_slice(&buf[..n]);
    }
    assert!(burst.len() > 1_000_000, "{} bytes", burst.len());
    let mut s = TcpStream::connect(server.agents).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut answers = BufReader::new(s.try_clone().unwrap());
    // One write: the server may read it in any pieces, and nothing follows it.
    let writer = std::thread::spawn(move || s.write_all(&burst).map(|()| s));
    let last = format!("{{\"v\":1,\"kind\":\"ack\",\"seq\":{samples}}}");
    let mut line = String::new();
    let mut seen = Vec::new();
    loop {
        line.clear();
        match answers.read_line(&mut line) {
            Ok(n) if n > 0 => {}
            other => panic!("no ack for the last sample: {other:?}, {:?}", seen.last()),
        }
        if line.trim_end() == last {
            break;
        }
        seen.push(line.clone());
    }
    let _s = writer.join().unwrap().unwrap();
    let m = server.metrics();
    assert_eq!(
        value(&m, "vitals_agent_samples_total", &[("instance", "raw")]),
        Some(samples as f64)
    );
}

#[test]
fn an_agent_that_sends_and_hangs_up_is_closed_at_once() {
    // The bytes and the end of the connection arrive together: the server must read on to the
    // end rather than wait for more bytes. (This failed with an edge-triggered epoll that
    // stopped at a short read.)
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let mut s = TcpStream::connect(server.agents).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(HELLO).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let ended = s.read_to_end(&mut answer);
    assert!(
        ended.is_ok(),
        "not closed after {:?}: {ended:?}",
        started.elapsed()
    );
}
