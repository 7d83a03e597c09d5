//! The container images and compose.yaml, end to end: `make images` builds both images FROM
//! scratch, `make keys` makes this host's keys and the variables Compose reads, and Compose runs
//! the server, an agent for this host and Prometheus as a project of its own (its own network,
//! its ports on free loopback ports). Prometheus' API must show the agent up under its id, with
//! this host's values, not a container's.
//!
//! Nothing can be pulled here, so the Prometheus image is built from Debian's package on this
//! machine and swapped in by `containers/compose.test.yaml`; compose.yaml keeps naming the
//! official image users run. The project is taken down (`down -v`) and the images removed
//! however the test ends.

mod common;

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::docker::{COMMAND_TIMEOUT, Images, REPO, Scratch, docker, make, unique};
use common::promql::results;
use common::wait_for;
use common::{run, run_within};

/// The size goals of the images (README, Figures).
const AGENT_IMAGE_GOAL: u64 = 1 << 20;
const SERVER_IMAGE_GOAL: u64 = 3 << 20;

#[test]
fn the_compose_prometheus_config_is_the_shipped_one_but_its_target() {
    let read = |name: &str| std::fs::read_to_string(format!("{REPO}/prometheus/{name}")).unwrap();
    let (shipped, compose) = (read("prometheus.yml"), read("prometheus-compose.yml"));
    // Past each file's opening comment, which says what it is for.
    let body = |text: &str| -> String {
        text.lines()
            .skip_while(|line| line.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        body(&compose),
        body(&shipped).replace("\"localhost:7451\"", "\"server:7451\""),
        "prometheus/prometheus-compose.yml must be prometheus/prometheus.yml with the target \
         `server:7451`"
    );
    assert_ne!(body(&compose), body(&shipped));
}

#[test]
#[ignore = "needs docker: make test-containers runs it"]
fn docker_compose_runs_the_server_an_agent_for_this_host_and_prometheus() {
    let started = Instant::now();
    let compose = compose_command();
    let unique = unique();
    let scratch = Scratch::new(&unique);
    let images = Images::with_prometheus(&unique, &scratch.0);
    let built = started.elapsed();
    let mut project = Project {
        compose,
        name: format!("vitals-test-{unique}"),
        env: Vec::new(),
        up: false,
    };
    let (agent_size, server_size) = (Images::size(&images.agent), Images::size(&images.server));
    println!(
        "images: vitals-agent {agent_size} bytes ({:.2} MiB), vitals-server {server_size} bytes \
         ({:.2} MiB)",
        agent_size as f64 / 1048576.0,
        server_size as f64 / 1048576.0
    );
    assert!(
        agent_size < AGENT_IMAGE_GOAL,
        "the agent's image: {agent_size}"
    );
    assert!(
        server_size < SERVER_IMAGE_GOAL,
        "the server's image: {server_size}"
    );

    // This host's keys, and what Compose reads: its id, where the keys are, whom to run as.
    let keys = scratch.0.join("keys");
    let env_file = scratch.0.join("compose.env");
    make(
        &[
            "keys",
            &format!("KEYS_DIR={}", keys.display()),
            &format!("COMPOSE_ENV={}", env_file.display()),
        ],
        COMMAND_TIMEOUT,
    );
    let written = std::fs::read_to_string(&env_file).unwrap();
    for line in written.lines() {
        let (name, value) = line.split_once('=').unwrap();
        project.env.push((name.to_owned(), value.to_owned()));
    }
    let id = project.var("VITALS_ID").to_owned();
    assert_eq!(project.var("VITALS_KEYS_DIR"), keys.to_str().unwrap());
    let agents = free_port();
    let prometheus = free_port();
    project.env.extend(
        [
            ("VITALS_TAG", images.tag.clone()),
            ("VITALS_AGENT_PUBLISH", agents.to_string()),
            ("VITALS_SERVER", agents.to_string()),
            ("PROMETHEUS_PUBLISH", prometheus.to_string()),
            ("VITALS_TEST_PROMETHEUS", images.prometheus.clone()),
        ]
        .map(|(name, value)| (name.to_owned(), value)),
    );

    let prepared = started.elapsed();
    project.up = true;
    project.compose(&["up", "-d"]);
    let up = started.elapsed();

    // The agent, through the server and Prometheus, under the id `make keys` gave it.
    let agent = format!("instance=\"{id}\"");
    wait_for(
        "Prometheus to have the agent up under its id",
        Duration::from_secs(90),
        || {
            let up = results(prometheus, &format!("vitals_agent_up{{{agent}}}"))?;
            up.iter().any(|(_, v)| *v == 1.0).then_some(())
        },
    );
    let scraped = |metric: &str| -> Vec<(serde_json::Value, f64)> {
        results(prometheus, &format!("{metric}{{{agent}}}")).unwrap_or_default()
    };

    // This host's memory, as this host's /proc says it.
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap();
    // The agent is up from its hello; its series come with its first sample, a scrape later.
    let memory = wait_for(
        "Prometheus to have the agent's first sample",
        Duration::from_secs(60),
        || Some(scraped("node_memory_MemTotal_bytes")).filter(|m| !m.is_empty()),
    );
    assert_eq!(memory.len(), 1, "{memory:?}");
    assert_eq!(memory[0].1, kib * 1024.0);

    // This host's filesystems and network devices, as an agent run here reports them, not the
    // container's: its root is an overlay node_exporter leaves out, its /etc/hostname a bind
    // mount it reports, and its network (were it not the host's) would have other devices.
    let here = once_here();
    let names = |metric: &str, label: &str| -> BTreeSet<String> {
        scraped(metric)
            .iter()
            .filter_map(|(labels, _)| labels[label].as_str().map(str::to_owned))
            .collect()
    };
    let expect = |metric: &str, at: usize| -> BTreeSet<String> {
        here.iter()
            .filter(|(name, _)| name == metric)
            .map(|(_, labels)| labels[at].clone())
            .collect()
    };
    let mounts = names("node_filesystem_device_error", "mountpoint");
    assert!(!mounts.is_empty());
    assert_eq!(mounts, expect("node_filesystem_device_error", 2));
    // Docker adds and removes a veth for each container it starts and a bridge for each network
    // (this test's and anyone's on this engine), between the scrape and the run here.
    let lasting = |devices: BTreeSet<String>| -> BTreeSet<String> {
        devices
            .into_iter()
            .filter(|d| !d.starts_with("veth") && !d.starts_with("br-"))
            .collect()
    };
    let devices = lasting(names("node_network_up", "device"));
    assert!(devices.contains("lo"), "{devices:?}");
    assert_eq!(devices, lasting(expect("node_network_up", 0)));

    // The server's health check, as Docker runs it in the image.
    wait_for(
        "Docker to call the server healthy",
        Duration::from_secs(60),
        || {
            let out = project.compose(&["ps", "-q", "server"]);
            let container = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            let out = run(
                docker(&["inspect", "-f", "{{.State.Health.Status}}", &container]),
                COMMAND_TIMEOUT,
            );
            (String::from_utf8_lossy(&out.stdout).trim() == "healthy").then_some(())
        },
    );
    println!(
        "containers: the images {:.0?}, keys {:.0?}, `up -d` {:.0?}, \
         the checks {:.0?}",
        built,
        prepared - built,
        up - prepared,
        started.elapsed() - up
    );
}

/// `docker compose` where the CLI has it, else `docker-compose`.
fn compose_command() -> Vec<String> {
    let works = |cmd: &[&str]| {
        Command::new(cmd[0])
            .args(&cmd[1..])
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    for cmd in [&["docker", "compose"][..], &["docker-compose"][..]] {
        if works(cmd) {
            return cmd.iter().map(|s| (*s).to_owned()).collect();
        }
    }
    panic!("neither `docker compose` nor `docker-compose` works: install Docker Compose");
}

/// A compose project of compose.yaml with the test's override, taken down with its volume, and
/// its images removed, when dropped.
struct Project {
    /// The Compose command, `docker compose` or `docker-compose`.
    compose: Vec<String>,
    /// The project's name, unique to this run.
    name: String,
    /// The variables compose.yaml reads, all given here (over any in the environment or .env).
    env: Vec<(String, String)>,
    /// Whether `up` was run, and so `down` must be.
    up: bool,
}

impl Project {
    fn var(&self, name: &str) -> &str {
        let found = self.env.iter().rev().find(|(n, _)| n == name);
        &found.unwrap_or_else(|| panic!("{name} is not set")).1
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.compose[0]);
        cmd.current_dir(REPO)
            .args(&self.compose[1..])
            .args(["-p", &self.name, "-f", "compose.yaml", "-f"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/containers/compose.test.yaml"))
            .args(args)
            .envs(self.env.iter().map(|(n, v)| (n, v)));
        cmd
    }

    /// Runs `compose <args>` for the project; panics if it fails.
    fn compose(&self, args: &[&str]) -> Output {
        run(self.command(args), COMMAND_TIMEOUT)
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        if self.up {
            if std::thread::panicking() {
                let logs = self.command(&["logs", "--no-color", "--tail=40"]);
                if let Ok(out) = run_within(logs, COMMAND_TIMEOUT) {
                    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
                }
            }
            let down = self.command(&["down", "-v", "--remove-orphans", "-t", "5"]);
            let down = run_within(down, COMMAND_TIMEOUT);
            if !down.as_ref().is_ok_and(|o| o.status.success()) {
                eprintln!("compose down -v for {} failed: {down:?}", self.name);
            }
        }
    }
}

/// A free port on loopback (free when asked: Docker takes it a moment later).
fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The series (family and label values) an agent run here, on this host, declares.
fn once_here() -> Vec<(String, Vec<String>)> {
    common::once(&[], &[])
        .into_iter()
        .map(|(name, labels, _)| (name.to_owned(), labels))
        .collect()
}
