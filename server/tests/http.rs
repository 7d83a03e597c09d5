//! The HTTP side against hostile clients: each test reproduces a request or a crowd of
//! connections that killed, stalled or exhausted the metrics side, and checks that while it
//! happens another client's `/metrics` and `/healthz` answer promptly and correctly, and that
//! the process lives.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::{Server, http_get, value, wait_for};

/// Short deadlines, so that the tests see them pass.
const FAST: &[&str] = &[
    "--http-header-timeout",
    "1s",
    "--http-idle-timeout",
    "1s",
    "--http-write-timeout",
    "2s",
];

/// How long an honest scrape may take while another client misbehaves (a debug build on a
/// shared 2-core machine answers in milliseconds).
const PROMPT: Duration = Duration::from_secs(1);

fn start(extra: &[&str]) -> Server {
    let args: Vec<&str> = FAST.iter().chain(extra).copied().collect();
    Server::start("127.0.0.1:0", "127.0.0.1:0", &args)
}

/// Another client's `/metrics` and `/healthz` answer, correctly and within [`PROMPT`], and the
/// process is alive.
fn serves_promptly(server: &mut Server) {
    assert!(
        server.proc.child.try_wait().unwrap().is_none(),
        "the server exited"
    );
    let started = Instant::now();
    let (status, body) = http_get(server.http, "/metrics").expect("/metrics answers");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("# TYPE vitals_server_agents_connected gauge"),
        "{body}"
    );
    assert_eq!(
        http_get(server.http, "/healthz"),
        Some((200, "ok\n".into()))
    );
    let took = started.elapsed();
    assert!(took < PROMPT, "/metrics and /healthz took {took:?}");
}

/// `vitals_server_http_refused_total{reason}`.
fn refused(server: &Server, reason: &str) -> f64 {
    value(
        &server.metrics(),
        "vitals_server_http_refused_total",
        &[("reason", reason)],
    )
    .unwrap_or(-1.0)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
}

/// What the server sends until it closes (or a read fails: a reset, or 5 s of silence).
fn read_all(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

fn status_of(response: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(response.get(..12)?).ok()?;
    text.strip_prefix("HTTP/1.1 ")?.parse().ok()
}

/// Whether the server closed `stream` by `deadline` (it reads to the end, or is reset). Past
/// the deadline it still looks once: when several streams share one deadline, an open one
/// early in the list must not hide that the later ones were closed.
fn closed_by(stream: &mut TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

/// `Content-Length: 100000000000` made tiny_http allocate the body to drain it, which aborted
/// the process; `18446744073709551615` panicked its thread and closed the port for good.
#[test]
fn content_lengths_past_any_memory_are_refused_and_kill_nothing() {
    let mut server = start(&[]);
    for (length, status) in [
        ("100000000000", 413),
        ("18446744073709551615", 413),
        ("18446744073709551616", 400),
    ] {
        let mut stream = connect(server.http);
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n"
        )
        .unwrap();
        let response = read_all(&mut stream);
        assert_eq!(
            status_of(&response),
            Some(status),
            "Content-Length {length}: {}",
            String::from_utf8_lossy(&response)
        );
        serves_promptly(&mut server);
    }
    assert_eq!(refused(&server, "body"), 2.0);
    assert_eq!(refused(&server, "bad_request"), 1.0);
}

/// A GET announcing a body that never comes held tiny_http's only thread: nobody was served.
#[test]
fn a_get_with_a_content_length_and_no_body_stalls_no_one() {
    let mut server = start(&["--http-header-timeout", "30s"]);
    let mut held = connect(server.http);
    held.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
        .unwrap();
    serves_promptly(&mut server);
    // Refused at once, without waiting for the body.
    let started = Instant::now();
    let response = read_all(&mut held);
    assert_eq!(status_of(&response), Some(413));
    assert!(started.elapsed() < PROMPT);
    serves_promptly(&mut server);
}

/// 400 pipelined GETs whose answers are never read stalled everyone behind them.
#[test]
fn four_hundred_pipelined_gets_never_read_stall_no_one() {
    let mut server = start(&["--http-write-timeout", "3s"]);
    // Agents enough that 400 expositions are far more than the sockets' buffers hold.
    let (_load, _) = common::spawn_logged(
        {
            let mut cmd = Command::new(common::bin("vitals-loadgen"));
            cmd.args(["--server", &server.agents.to_string()]).args([
                "--agents",
                "20",
                "--rate",
                "1",
                "--seconds",
                "60",
            ]);
            cmd
        },
        "loadgen",
    );
    wait_for("the simulated agents", Duration::from_secs(20), || {
        (value(&server.metrics(), "vitals_server_agents_connected", &[]) == Some(20.0))
            .then_some(())
    });
    let mut greedy = connect(server.http);
    let requests = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(400);
    greedy.write_all(requests.as_bytes()).unwrap();
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        serves_promptly(&mut server);
        thread::sleep(Duration::from_millis(200));
    }
    drop(greedy);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = start(&[]);
    let mut stream = connect(server.http);
    let mut requests = String::new();
    for _ in 0..100 {
        requests.push_str("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        requests.push_str("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
        requests.push_str("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
        requests.push_str("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    requests.push_str("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(requests.as_bytes()).unwrap();
    let all = read_all(&mut stream);
    // Split the responses by their heads and bodies' lengths.
    let mut statuses = Vec::new();
    let mut rest = &all[..];
    while let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&rest[..end]).to_string();
        statuses.push(status_of(head.as_bytes()).unwrap());
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|n| n.parse().ok())
            .unwrap();
        let body = if head.starts_with("HTTP/1.1 200") && length > 3 {
            0 // HEAD /: the length of the page, no body
        } else {
            length
        };
        rest = &rest[end + 4 + body..];
    }
    let mut want: Vec<u16> = [200, 404, 200, 405].repeat(100);
    want.push(200);
    assert_eq!(statuses, want);
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(rest));
}

/// A client that stops reading its answers is dropped at the write deadline; meanwhile, with
/// every slot busy answering, the excess gets a short 503 at once.
#[test]
fn a_client_that_stops_reading_is_dropped_and_the_excess_gets_503_at_once() {
    let server = start(&["--http-max-connections", "2", "--http-write-timeout", "3s"]);
    // Enough answers to fill both sockets' buffers, so that each connection is stuck writing.
    let requests = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3000);
    let stuck: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = connect(server.http);
            let _ = s.write_all(requests.as_bytes());
            s
        })
        .collect();
    let response = wait_for(
        "every slot to be stuck writing",
        Duration::from_secs(10),
        || {
            // Refused before it asks anything: the answer comes without a request.
            let started = Instant::now();
            let mut s = connect(server.http);
            s.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let response = read_all(&mut s);
            (status_of(&response) == Some(503)).then(|| (response, started.elapsed()))
        },
    );
    assert!(response.1 < PROMPT, "the 503 took {:?}", response.1);
    assert!(
        String::from_utf8_lossy(&response.0).contains("Connection: close"),
        "{}",
        String::from_utf8_lossy(&response.0)
    );
    // Both are dropped at their write deadline, and the port serves again.
    let started = Instant::now();
    let metrics = wait_for(
        "both stuck clients to be dropped at their write deadline",
        Duration::from_secs(10),
        || {
            let (status, body) = http_get(server.http, "/metrics")?;
            let dropped = value(
                &body,
                "vitals_server_http_refused_total",
                &[("reason", "write_timeout")],
            );
            (status == 200 && dropped >= Some(2.0)).then_some(body)
        },
    );
    // The deadline is 3 s; the rest is slack for a loaded machine (a clean-clone CI run beside
    // benchmarks once took more than 6 s here).
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
    let busy = value(
        &metrics,
        "vitals_server_http_refused_total",
        &[("reason", "busy")],
    );
    assert!(busy >= Some(1.0), "{metrics}");
    drop(stuck);
}

/// A 100 MB body trickled after its head was read by tiny_http, stalling everyone.
#[test]
fn a_slow_hundred_megabyte_upload_is_refused_at_its_head() {
    let mut server = start(&["--http-header-timeout", "30s"]);
    let mut upload = connect(server.http);
    upload
        .write_all(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
        .unwrap();
    let piece = vec![b'u'; 16 * 1024];
    let started = Instant::now();
    let mut sent = 0usize;
    // Refused at the head: the upload fails long before its 100 MB, and within seconds.
    let failed = loop {
        if upload.write_all(&piece).is_err() {
            break true;
        }
        sent += piece.len();
        if sent >= 100_000_000 || started.elapsed() > Duration::from_secs(10) {
            break false;
        }
        serves_promptly(&mut server);
        thread::sleep(Duration::from_millis(20));
    };
    assert!(failed, "sent {sent} bytes and the server still reads");
    assert!(sent < 10_000_000, "sent {sent} bytes before the refusal");
    serves_promptly(&mut server);
    assert_eq!(refused(&server, "body"), 1.0);
}

/// A header line of 100 MB was read whole into memory.
#[test]
fn a_hundred_megabyte_header_line_is_refused_at_the_cap_without_growing_memory() {
    let mut server = start(&["--http-header-timeout", "30s"]);
    serves_promptly(&mut server);
    let before = common::rss_kib(server.proc.child.id());
    let mut big = connect(server.http);
    big.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ")
        .unwrap();
    let piece = vec![b'a'; 1024 * 1024];
    let mut sent = 0usize;
    while sent < 100 * 1024 * 1024 {
        if big.write_all(&piece).is_err() {
            break;
        }
        sent += piece.len();
    }
    assert!(
        sent < 32 * 1024 * 1024,
        "the server took {sent} bytes of one head"
    );
    serves_promptly(&mut server);
    let after = common::rss_kib(server.proc.child.id());
    assert!(
        after < before + 16 * 1024,
        "RSS grew from {before} to {after} KiB"
    );
    assert_eq!(refused(&server, "header_too_large"), 1.0);
}

/// A head trickled a byte at a time held a connection (and tiny_http a thread) forever: the
/// deadline is for the whole head, not for each read.
#[test]
fn a_head_trickled_a_byte_at_a_time_is_dropped_at_its_deadline() {
    let mut server = start(&[]);
    let mut slow = connect(server.http);
    let started = Instant::now();
    let mut dropped_after = None;
    for byte in b"GET /metrics HTTP/1.1\r\nX-Slow: ".iter().cycle().take(60) {
        if slow.write_all(&[*byte]).is_err() {
            dropped_after = Some(started.elapsed());
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    let dropped_after = dropped_after.expect("a trickle of 6 s was never dropped");
    assert!(
        dropped_after >= Duration::from_millis(900) && dropped_after < Duration::from_secs(4),
        "dropped after {dropped_after:?}"
    );
    serves_promptly(&mut server);
    assert_eq!(refused(&server, "header_timeout"), 1.0);
}

#[test]
fn a_kept_alive_connection_idle_past_its_timeout_is_closed() {
    let server = start(&[]);
    let mut stream = connect(server.http);
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK\r\n"));
    let started = Instant::now();
    assert!(closed_by(&mut stream, started + Duration::from_secs(4)));
    assert!(started.elapsed() >= Duration::from_millis(900));
}

/// Each idle connection cost tiny_http a thread and none timed out. Past the cap, the one that
/// has waited longest makes way, so a scrape always gets in.
#[test]
fn more_idle_connections_than_the_cap_make_way_for_a_scrape() {
    let mut server = start(&[
        "--http-max-connections",
        "4",
        "--http-header-timeout",
        "30s",
    ]);
    let mut idle: Vec<TcpStream> = (0..12).map(|_| connect(server.http)).collect();
    serves_promptly(&mut server);
    serves_promptly(&mut server);
    // The oldest were closed to make room (12 idle and 4 scrapes through 4 slots).
    let deadline = Instant::now() + Duration::from_secs(2);
    let closed = idle
        .iter_mut()
        .filter_map(|s| closed_by(s, deadline).then_some(()))
        .count();
    assert!(closed >= 8, "only {closed} of 12 idle connections made way");
    assert!(refused(&server, "evicted") >= 8.0);
}

/// Past the open-file limit tiny_http's accept thread panicked and the port was gone for good.
/// Under a low limit: the server runs out of descriptors, an idle connection makes way for a
/// scrape; with none to close (the limit lowered below what is open), accepting backs off and
/// resumes once the limit allows again.
#[test]
fn running_out_of_descriptors_never_closes_the_port() {
    let prlimit = common::tool("prlimit");
    let mut cmd = Command::new(&prlimit);
    cmd.args(["--nofile=96:96"])
        .arg(common::bin("vitals-server"))
        .args(["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .args(FAST)
        .args([
            "--http-max-connections",
            "1000",
            "--http-header-timeout",
            "30s",
        ]);
    let mut server = Server::spawn(cmd);
    let pid = server.proc.child.id();
    let open_fds = || {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count()
    };
    // More idle connections than descriptors left.
    let mut idle: Vec<TcpStream> = (0..120).map(|_| connect(server.http)).collect();
    wait_for(
        "the server to run out of descriptors",
        Duration::from_secs(10),
        || (open_fds() >= 95).then_some(()),
    );
    serves_promptly(&mut server);
    wait_for("the log to say so", Duration::from_secs(5), || {
        server
            .log
            .try_iter()
            .any(|l| l.contains("accept failed") && l.contains("Too many open files"))
            .then_some(())
    });
    // Release them, then take every descriptor away: nothing can be accepted or evicted.
    for s in &mut idle {
        let _ = s.shutdown(std::net::Shutdown::Both);
    }
    drop(idle);
    wait_for(
        "the idle connections to close",
        Duration::from_secs(10),
        || (open_fds() < 40).then_some(()),
    );
    let lower = |soft: usize| {
        let status = Command::new(&prlimit)
            .args(["--pid", &pid.to_string(), &format!("--nofile={soft}:96")])
            .status()
            .unwrap();
        assert!(status.success());
    };
    // A new descriptor takes the lowest free number, which must be below the soft limit.
    let lowest_free = || {
        let open: Vec<usize> = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        (0..).find(|n| !open.contains(n)).unwrap()
    };
    // The least of a few looks: a descriptor the server holds for a moment (its own reads of
    // /proc) would leave a lower number free once it is closed, below a limit set above it.
    let lowest = (0..20)
        .map(|_| {
            thread::sleep(Duration::from_millis(10));
            lowest_free()
        })
        .min()
        .unwrap();
    lower(lowest);
    let mut waiting = connect(server.http);
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut buf = [0u8; 256];
    let read = waiting.read(&mut buf);
    assert!(
        matches!(&read, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "answered without a descriptor to accept with: {read:?} {:?}",
        String::from_utf8_lossy(&buf)
    );
    assert!(server.proc.child.try_wait().unwrap().is_none());
    // Descriptors again: the queued connection is answered, and the port serves.
    lower(96);
    let response = read_all(&mut waiting);
    assert_eq!(status_of(&response), Some(200));
    serves_promptly(&mut server);
}
