//! Runs the real binaries for the integration tests: a server, agents, HTTP requests.
#![allow(dead_code)] // each test file uses a different part

pub mod certs;
pub mod chunked;
pub mod docker;
pub mod promql;
pub mod readme;
pub mod schema;
pub mod store;

use std::io::{BufRead, BufReader, Read, Write};

use agent_core::sample::bounded;
use agent_core::wire::{self, Hello, Message};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// A binary of the workspace, built by `cargo build --workspace` (as `make test` does first).
pub fn bin(name: &str) -> PathBuf {
    let dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` first",
        path.display()
    );
    path
}

/// Polls `check` until it returns `Some` or `timeout` passes; panics with `what` then.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// Kills its process when dropped, so a failing test leaves nothing behind.
pub struct Proc {
    pub child: Child,
    pub name: String,
}

impl Proc {
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the exit, returning whether it was clean.
    pub fn terminate(&mut self) -> bool {
        self.signal("TERM");
        match self.wait_exit(Duration::from_secs(5)) {
            Some(status) => status.success(),
            None => {
                self.kill();
                false
            }
        }
    }

    /// Sends a signal by name (`TERM`, `KILL`, ...).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status();
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Forwards a child's stderr to ours with a prefix, and hands the first line to `first`.
fn forward_stderr(child: &mut Child, name: &str) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let name = name.to_owned();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[{name}] {line}");
            let _ = tx.send(line);
        }
    });
    rx
}

/// A running `vitals-server`.
pub struct Server {
    pub proc: Proc,
    pub agents: SocketAddr,
    pub http: SocketAddr,
    pub log: mpsc::Receiver<String>,
}

impl Server {
    /// Starts a server on the given addresses (port 0 picks one) and learns its ports from its
    /// first log line.
    pub fn start(listen: &str, http: &str, extra: &[&str]) -> Server {
        let mut cmd = Command::new(bin("vitals-server"));
        cmd.args(["--listen", listen, "--http", http]).args(extra);
        Server::spawn(cmd)
    }

    /// Starts the server `cmd` runs (with its flags; in a network namespace, say) and learns its
    /// addresses from its first log line.
    pub fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let log = forward_stderr(&mut child, "server");
        let first = log
            .recv_timeout(Duration::from_secs(10))
            .expect("server says where it listens");
        let (agents, http) =
            server::parse_startup_line(&first).expect("server says where it listens");
        Server {
            proc: Proc {
                child,
                name: "server".into(),
            },
            agents,
            http,
            log,
        }
    }

    /// The body of `/metrics`.
    pub fn metrics(&self) -> String {
        let (status, body) = http_get(self.http, "/metrics").expect("scrape");
        assert_eq!(status, 200, "{body}");
        body
    }
}

/// Starts a `vitals-agent` with `id` sending to `servers` every `interval`.
pub fn agent(id: &str, servers: &[SocketAddr], interval: &str) -> Proc {
    agent_with_log(id, servers, interval, &[]).0
}

/// [`agent`] with more flags.
pub fn agent_with(id: &str, servers: &[SocketAddr], interval: &str, extra: &[&str]) -> Proc {
    agent_with_log(id, servers, interval, extra).0
}

/// [`agent_with`], and its log lines as they come.
pub fn agent_with_log(
    id: &str,
    servers: &[SocketAddr],
    interval: &str,
    extra: &[&str],
) -> (Proc, mpsc::Receiver<String>) {
    let mut cmd = Command::new(bin("vitals-agent"));
    cmd.args(["--id", id, "--interval", interval]).args(extra);
    for s in servers {
        cmd.args(["--server", &s.to_string()]);
    }
    spawn_logged(cmd, id)
}

/// Starts `cmd`, forwarding its stderr to ours prefixed with `name`; returns its log lines too.
pub fn spawn_logged(mut cmd: Command, name: &str) -> (Proc, mpsc::Receiver<String>) {
    let mut child = cmd
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let log = forward_stderr(&mut child, name);
    let proc = Proc {
        child,
        name: name.to_owned(),
    };
    (proc, log)
}

/// `vitals-server --health` with `args` and the environment variables `env`: its exit
/// status and what it said.
pub fn health_check(args: &[&str], env: &[(&str, &std::path::Path)]) -> (Option<i32>, String) {
    let mut cmd = Command::new(bin("vitals-server"));
    cmd.arg("--health").args(args);
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A plain HTTP/1.1 GET; returns the status and body.
pub fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    parse_response(&response)
}

/// The status and body of a whole HTTP/1.x response, chunked or not.
pub fn parse_response(response: &[u8]) -> Option<(u16, String)> {
    let split = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&response[..split]);
    let body = &response[split + 4..];
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        String::from_utf8_lossy(&chunked::dechunk(body)).into_owned()
    } else {
        String::from_utf8_lossy(body).into_owned()
    };
    Some((status, body))
}

/// The value of the first series of `name` whose labels contain every `labels` pair.
pub fn value(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    series(metrics, name, labels).into_iter().next()
}

/// The values of every series of `name` whose labels contain every `labels` pair.
pub fn series(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            let (metric, rest) = key.split_once('{').unwrap_or((key, ""));
            (metric == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))))
            .then(|| value.parse().ok())?
        })
        .collect()
}

/// The `# TYPE` of `name`.
pub fn metric_type<'a>(metrics: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("# TYPE {name} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
}

/// The path of an installed tool, or a failure that says how to install it.
pub fn tool(name: &str) -> String {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "`{name}` is not installed: `make deps` installs it, from Debian's packages"
    );
    String::from_utf8(found.stdout).unwrap().trim().to_owned()
}

/// What `promtool check metrics` says of an exposition, but for its lint of node_exporter's own
/// names (which dashboards expect as they are); empty when it is clean.
pub fn promtool_complaints(metrics: &str) -> Vec<String> {
    let mut child = Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Its camelCase memory fields and protocol counters (named after the kernel's), and its
    // entropy in bits where promtool wants bytes.
    let excused = |l: &str| {
        ((l.starts_with("node_memory_") || l.starts_with("node_netstat_"))
            && l.contains("camelCase"))
            || (l.starts_with("node_entropy_") && l.contains(r#"instead of "bits""#))
    };
    let complaints: Vec<String> = report
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !excused(l))
        .map(str::to_owned)
        .collect();
    if complaints.is_empty() && !out.status.success() && !report.lines().any(excused) {
        return vec![format!(
            "promtool failed without saying why: {}",
            out.status
        )];
    }
    complaints
}

/// Starts Debian's `prometheus` with the config file `config`, its data under `data`, on a
/// free loopback port; returns the process (killed when dropped) and where its API answers.
pub fn prometheus(config: &std::path::Path, data: &std::path::Path) -> (Proc, SocketAddr) {
    prometheus_with(config, data, &[])
}

/// [`prometheus`] with more flags.
pub fn prometheus_with(
    config: &std::path::Path,
    data: &std::path::Path,
    extra: &[&str],
) -> (Proc, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    (prometheus_on(config, data, port, extra), port)
}

/// [`prometheus_with`] listening on `addr` (to start again where it was).
pub fn prometheus_on(
    config: &std::path::Path,
    data: &std::path::Path,
    addr: SocketAddr,
    extra: &[&str],
) -> Proc {
    let child = Command::new(tool("prometheus"))
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--log.level=warn")
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Proc {
        child,
        name: "prometheus".into(),
    }
}

/// Resident memory of a process, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The sequence number and the agent's clock (Unix ms) of a sample line an agent sent, in either
/// protocol version: a v1 `sample`, or a v2 `values` line. `None` for any other line (a hello, a
/// v2 declaration).
pub fn sample_of(line: &[u8]) -> Option<(u64, u64)> {
    use agent_core::sample::Sample;
    use agent_core::wire::{self, Message};
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    if line.starts_with(br#"{"v":2,"kind":"values","#) {
        let header = wire::decode_items(line, |_| Ok(())).ok()?;
        return Some((header.seq, header.t));
    }
    match wire::decode_line::<Sample>(line) {
        Ok(Message::Sample(s)) => Some((s.seq, s.sample.time_ms)),
        _ => None,
    }
}

/// Whether a line an agent sent is a v2 declaration.
pub fn is_declaration(line: &[u8]) -> bool {
    line.starts_with(br#"{"v":2,"kind":"declare","#)
}

/// The series of `vitals-agent --once` with `args` and the environment `env`: each family's
/// name, its label values and its value, in the order declared.
pub fn once(args: &[&str], env: &[(&str, &str)]) -> Vec<(&'static str, Vec<String>, f64)> {
    let out = Command::new(bin("vitals-agent"))
        .arg("--once")
        .args(args)
        .env_remove("VITALS_PROTOCOL")
        .env_remove("VITALS_ROOT")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let (declaration, values) = text.split_once('\n').unwrap();
    let mut series = Vec::new();
    // Without --textfile-dir, the agent describes no family of its own.
    agent_core::wire::decode_declare(
        declaration.as_bytes(),
        |_, _| Err(agent_core::wire::DecodeError::BadJson),
        |family, labels| {
            let name = agent_core::catalogue::FAMILIES[usize::from(family)].name;
            series.push((name, labels.iter().map(|l| (*l).to_owned()).collect(), 0.0));
            Ok(())
        },
    )
    .unwrap();
    let mut next = series.iter_mut();
    agent_core::wire::decode_values(values.trim_end().as_bytes(), |value| {
        next.next().unwrap().2 = value;
        Ok(())
    })
    .unwrap();
    series
}

/// The shared test data, which stays outside the repository: where `SHARED_DATA` says, else
/// beside the project's root (`../shared/data`), else where the project's machines keep it for a
/// checkout elsewhere (`/work/shared/data`), as `mk/deny-advisories.sh` looks for it.
pub fn shared_data() -> PathBuf {
    let beside = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data"));
    let candidates = std::env::var_os("SHARED_DATA")
        .map(PathBuf::from)
        .into_iter()
        .chain([beside, PathBuf::from("/work/shared/data")]);
    let mut tried = Vec::new();
    for dir in candidates {
        if dir.is_dir() {
            return dir;
        }
        tried.push(dir.display().to_string());
    }
    panic!(
        "the shared test data is not in {}: set SHARED_DATA to the folder that holds it",
        tried.join(", ")
    )
}

/// Runs `cmd` to its end, or kills it after `timeout`; its output either way.
pub fn run_within(mut cmd: Command, timeout: Duration) -> Result<Output, String> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{shown}: {e}"))?;
    // The pipes are read on threads, so a command that writes much cannot block on them.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("{shown}: {e}"))? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{shown} took longer than {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// [`run_within`], which must succeed.
pub fn run(cmd: Command, timeout: Duration) -> Output {
    let out = run_within(cmd, timeout).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A hello line for `id` as an agent writes it, changed by `change`.
pub fn hello_with(id: &str, change: impl FnOnce(&mut Hello)) -> Vec<u8> {
    let mut hello = Hello {
        id: bounded(id),
        version: bounded("0"),
        os: bounded("Linux"),
        arch: bounded("x"),
        kernel: bounded("k"),
        kernel_version: bounded("kv"),
        hostname: bounded("h"),
        domainname: bounded("(none)"),
        interval_ms: 1000,
        session: 1,
        ..Hello::default()
    };
    change(&mut hello);
    encoded(&Message::Hello(hello)).into_bytes()
}

/// `message` as a line on the wire.
pub fn encoded(message: &Message) -> String {
    let mut buf = vec![0u8; wire::MAX_LINE + 1];
    let n = wire::encode(message, &mut buf).unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}
