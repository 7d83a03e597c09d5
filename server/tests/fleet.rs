//! The fleet test bed: agents as separate hosts, each in a container of its own with its own
//! address on a private Docker network, two servers and Prometheus (the shipped config and
//! rules) in theirs; everything seen through Prometheus' HTTP API, as an operator sees it.
//!
//! - five agents up, each under its own `instance`, with its own network device: a1, a2 and a3
//!   report to s1; a4 and a5 to s2, with s1 as their second server;
//! - s2 stopped: a4 and a5 fail over to s1, within the agents' backoff cap;
//! - meanwhile a1's network cut for 60 s (`docker network disconnect`) and restored: it is back
//!   within the cap, every sample of the cut merged (none dropped, no sequence gap), and a2 and
//!   a3 never noticed (up throughout, never reconnected);
//! - s1 killed and started again: every agent back within the cap;
//! - a3 stopped: its `vitals_agent_up` 0 at once, its series gone once they expire.
//!
//! The network is `--internal` (nothing in it reaches past this machine) with addresses the
//! test gives, so that a container keeps its address when reconnected or restarted and the
//! agents need no name lookups; this machine reaches the containers at those addresses. Every
//! container and the network are removed however the test ends. The netns test (faults.rs)
//! covers delay and loss; this one, real hosts.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::docker::{COMMAND_TIMEOUT, Container, Images, Scratch, docker, docker_ok, unique};
use common::promql::{results, shipped_config};
use common::{run_within, wait_for};

/// How often each agent samples.
const INTERVAL: &str = "1s";

/// The agents' backoff cap (agent-core's default `backoff_max`): after a fault heals, an agent
/// tries again within it.
const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// The cap, and then a connection's worth of slack: the hello, a sample, a scrape.
const BACK_WITHIN: Duration = Duration::from_secs(30 + 10);

/// How long a1's network is cut.
const CUT: Duration = Duration::from_secs(60);

const AGENT_PORT: u16 = 7450;
const HTTP_PORT: u16 = 7451;

#[test]
#[ignore = "needs docker: make test runs it"]
fn docker_fleet_rides_out_cuts_kills_and_a_lost_server() {
    let started = Instant::now();
    let unique = unique();
    let scratch = Scratch::new(&unique);
    let images = Images::with_prometheus(&unique, &scratch.0);
    let built = started.elapsed();
    let mut fleet = Fleet::new(&unique);

    let (s1, s2) = (fleet.address(10), fleet.address(11));
    let http = |server: &str| format!("{server}:{HTTP_PORT}");
    for (name, address) in [("s1", &s1), ("s2", &s2)] {
        fleet.run(name, address, &images.server, &[], &[]);
    }
    // The shipped config and rules, scraping both servers every second; its files at the same
    // path inside the container as here, so that the rules' path in it holds.
    let config_dir = scratch.0.join("prometheus-config");
    std::fs::create_dir_all(&config_dir).unwrap();
    let config = shipped_config(http(&s1).parse().unwrap(), &config_dir, str::to_owned).replace(
        &format!("\"{}\"", http(&s1)),
        &format!("\"{}\", \"{}\"", http(&s1), http(&s2)),
    );
    let config_file = config_dir.join("prometheus.yml");
    std::fs::write(&config_file, config).unwrap();
    let mount = format!("{0}:{0}:ro", config_dir.display());
    let prometheus_address = fleet.address(2);
    fleet.run(
        "prometheus",
        &prometheus_address,
        &images.prometheus,
        &["-v", &mount],
        &[
            &format!("--config.file={}", config_file.display()),
            "--storage.tsdb.path=/prometheus",
            "--log.level=warn",
        ],
    );
    let prometheus: SocketAddr = format!("{prometheus_address}:9090").parse().unwrap();

    let agents: [(&str, u8, Vec<&str>); 5] = [
        ("a1", 21, vec![&s1]),
        ("a2", 22, vec![&s1]),
        ("a3", 23, vec![&s1]),
        ("a4", 24, vec![&s2, &s1]),
        ("a5", 25, vec![&s2, &s1]),
    ];
    let mut agent_started = BTreeMap::new();
    for (id, host, servers) in &agents {
        let mut args = vec!["--id", id, "--interval", INTERVAL];
        let servers: Vec<String> = servers
            .iter()
            .map(|s| format!("{s}:{AGENT_PORT}"))
            .collect();
        for server in &servers {
            args.extend(["--server", server]);
        }
        // The container's own /proc and /sys: its own network namespace, as a host of its own.
        let address = fleet.address(*host);
        fleet.run(id, &address, &images.agent, &["-e", "VITALS_ROOT=/"], &args);
        agent_started.insert(*id, Instant::now());
    }
    let up_at = started.elapsed();

    let q = Query { prometheus };
    // ---- five hosts, each its own instance, each on its server --------------------------------
    let on = |server: &str| format!("vitals_server=\"{}\"", http(server));
    wait_for(
        "Prometheus to have the five agents up, each on its server",
        Duration::from_secs(60),
        || {
            let up = q.by_instance(&format!("vitals_agent_up{{{}}} == 1", on(&s1)))?;
            let up2 = q.by_instance(&format!("vitals_agent_up{{{}}} == 1", on(&s2)))?;
            let ids = |m: BTreeMap<String, f64>| m.into_keys().collect::<Vec<_>>();
            (ids(up) == ["a1", "a2", "a3"] && ids(up2) == ["a4", "a5"]).then_some(())
        },
    );
    // Each host's own network device: the address Docker gave that container.
    let devices = wait_for(
        "every agent's first sample",
        Duration::from_secs(30),
        || {
            let info = q.results("node_network_info{device=\"eth0\"}")?;
            let devices: BTreeMap<String, String> = info
                .iter()
                .map(|(labels, _)| {
                    let label = |l: &str| labels[l].as_str().unwrap_or_default().to_owned();
                    (label("instance"), label("address"))
                })
                .collect();
            (devices.len() == agents.len()).then_some(devices)
        },
    );
    for (id, _, _) in &agents {
        let mac = docker_ok(&[
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}",
            &fleet.container(id),
        ]);
        assert_eq!(devices[*id], mac, "{id}'s eth0: {devices:?}");
    }
    assert_eq!(fleet.connects("a2"), 1);
    assert_eq!(fleet.connects("a3"), 1);
    let settled = started.elapsed();

    // ---- a1's network cut; meanwhile s2 stopped ------------------------------------------------
    let cut = Instant::now();
    docker_ok(&[
        "network",
        "disconnect",
        &fleet.network,
        &fleet.container("a1"),
    ]);
    docker_ok(&["stop", "-t", "5", &fleet.container("s2")]);
    let stopped = Instant::now();
    let failed_over = wait_for("a4 and a5 to fail over to s1", BACK_WITHIN, || {
        let up = q.by_instance(&format!(
            "vitals_agent_up{{instance=~\"a4|a5\",{}}} == 1",
            on(&s1)
        ))?;
        (up.len() == 2).then(|| stopped.elapsed())
    });
    // The server saw a1 go: the cut is real.
    wait_for(
        "s1 to call a1 down while its network is cut",
        CUT - Duration::from_secs(10),
        || (q.value("vitals_agent_up{instance=\"a1\"}")? == 0.0).then_some(()),
    );
    std::thread::sleep(CUT.saturating_sub(cut.elapsed()));
    let restored = Instant::now();
    docker_ok(&[
        "network",
        "connect",
        "--ip",
        &fleet.address(21),
        &fleet.network,
        &fleet.container("a1"),
    ]);
    let back = wait_for("a1 to be back after the cut", BACK_WITHIN, || {
        (q.value("vitals_agent_up{instance=\"a1\"}")? == 1.0).then(|| restored.elapsed())
    });
    // Every sample a1 took, the cut's among them, merged: as many as seconds it has run.
    let a1_ran = agent_started["a1"];
    let merged = wait_for(
        "s1 to merge every sample a1 kept through the cut",
        Duration::from_secs(20),
        || {
            let merged = q.value("vitals_agent_samples_total{instance=\"a1\"}")?;
            let expected = a1_ran.elapsed().as_secs_f64() - 5.0;
            (merged >= expected).then_some(merged)
        },
    );
    for (what, value) in [
        ("sequence gaps", "vitals_agent_sequence_gaps_total"),
        ("samples dropped", "vitals_agent_samples_dropped_total"),
    ] {
        assert_eq!(
            q.value(&format!("{value}{{instance=\"a1\"}}")),
            Some(0.0),
            "a1's {what} after the cut"
        );
    }
    // a2 and a3 never noticed: up at every scrape since the cut, one connection each.
    let since = cut.elapsed().as_secs();
    let steady = q.by_instance(&format!(
        "min_over_time(vitals_agent_up{{instance=~\"a2|a3\"}}[{since}s])"
    ));
    assert_eq!(
        steady,
        Some(BTreeMap::from([("a2".into(), 1.0), ("a3".into(), 1.0)]))
    );
    assert_eq!(fleet.connects("a2"), 1, "{}", fleet.logs("a2"));
    assert_eq!(fleet.connects("a3"), 1, "{}", fleet.logs("a3"));
    println!(
        "a1 cut for {CUT:?}: back {back:.1?} after its network was, {merged} samples merged, \
         no gap; s2 stopped: a4 and a5 on s1 after {failed_over:.1?}"
    );

    // ---- s1 killed and started again -------------------------------------------------------------
    let killed_at = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    docker_ok(&["kill", &fleet.container("s1")]);
    let killed = Instant::now();
    docker_ok(&["start", &fleet.container("s1")]);
    let every = ["a1", "a2", "a3", "a4", "a5"];
    let all_back = wait_for(
        "every agent to be back on s1 after it was killed",
        BACK_WITHIN,
        || {
            // The new process' scrape, not the last one before the kill (when all were up).
            let start = format!(
                "process_start_time_seconds{{{},instance=\"{}\"}}",
                on(&s1),
                http(&s1)
            );
            let fresh = q.value(&start)? > killed_at.as_secs_f64() - 5.0;
            let up = q.by_instance(&format!("vitals_agent_up{{{}}} == 1", on(&s1)))?;
            (fresh && up.len() == every.len()).then(|| killed.elapsed())
        },
    );
    let dropped = q.by_instance("vitals_agent_samples_dropped_total").unwrap();
    assert!(dropped.values().all(|&d| d == 0.0), "{dropped:?}");

    // ---- a3 stopped ---------------------------------------------------------------------------
    docker_ok(&["stop", "-t", "5", &fleet.container("a3")]);
    let a3_stopped = Instant::now();
    let down = wait_for("a3 to be down", Duration::from_secs(5), || {
        (q.value("vitals_agent_up{instance=\"a3\"}")? == 0.0).then(|| a3_stopped.elapsed())
    });
    // Its series expire (three intervals, five seconds at least); the others' stay.
    let expired = wait_for("a3's series to expire", Duration::from_secs(20), || {
        let load = q.by_instance("node_load1")?;
        (!load.contains_key("a3") && load.len() == every.len() - 1).then(|| a3_stopped.elapsed())
    });
    println!(
        "s1 killed: every agent back after {all_back:.1?} (cap {BACKOFF_CAP:?}); a3 stopped: down \
         after {down:.1?}, its series gone after {expired:.1?}"
    );
    println!(
        "fleet: the images {built:.0?}, the containers {:.0?}, settled {:.0?}, the faults {:.0?}",
        up_at - built,
        settled - up_at,
        started.elapsed() - settled
    );
}

/// Prometheus' API, for the fleet's questions.
struct Query {
    prometheus: SocketAddr,
}

impl Query {
    fn results(&self, promql: &str) -> Option<Vec<(serde_json::Value, f64)>> {
        results(self.prometheus, promql)
    }

    /// Each series' value by its `instance`; `None` when Prometheus does not answer.
    fn by_instance(&self, promql: &str) -> Option<BTreeMap<String, f64>> {
        let found = self.results(promql)?;
        Some(
            found
                .into_iter()
                .map(|(labels, v)| (labels["instance"].as_str().unwrap_or("").to_owned(), v))
                .collect(),
        )
    }

    /// The one value a query gives; `None` for none (or several).
    fn value(&self, promql: &str) -> Option<f64> {
        match self.results(promql)?.as_slice() {
            [(_, v)] => Some(*v),
            _ => None,
        }
    }
}

/// The containers of one run on a network of their own, all removed when dropped.
struct Fleet {
    /// The prefix of every container's name, and the network's name.
    network: String,
    /// The network's first three octets: its hosts are `<prefix>.<host>`.
    prefix: String,
    /// The containers started, by their short names.
    containers: BTreeMap<String, Container>,
}

impl Fleet {
    /// Makes an internal network on a /24 that neither Docker nor this machine's routes use.
    fn new(unique: &str) -> Fleet {
        let network = format!("vitals-fleet-{unique}");
        let routes = Command::new("ip").args(["-4", "route"]).output();
        let routes = routes.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        let routes = routes.unwrap_or_default();
        let seed = std::process::id() as usize;
        for i in 0..32 {
            let prefix = format!("172.29.{}", 1 + (seed + i * 37) % 254);
            if routes.contains(&format!("{prefix}.")) {
                continue;
            }
            let create = docker(&[
                "network",
                "create",
                "--internal",
                "--subnet",
                &format!("{prefix}.0/24"),
                "--label",
                "vitals-test=fleet",
                &network,
            ]);
            if run_within(create, COMMAND_TIMEOUT).is_ok_and(|o| o.status.success()) {
                return Fleet {
                    network,
                    prefix,
                    containers: BTreeMap::new(),
                };
            }
        }
        panic!("no free /24 in 172.29.0.0/16 for the fleet's network");
    }

    fn address(&self, host: u8) -> String {
        format!("{}.{host}", self.prefix)
    }

    fn container(&self, name: &str) -> String {
        format!("{}-{name}", self.network)
    }

    /// Starts `image` as `name` at `address`, with `options` for `docker run` and `args` for
    /// the image's program.
    fn run(&mut self, name: &str, address: &str, image: &str, options: &[&str], args: &[&str]) {
        let mut all = vec!["--network", &self.network, "--ip", address];
        all.extend(options);
        let container = Container::run(&self.container(name), &all, image, args);
        self.containers.insert(name.to_owned(), container);
    }

    /// What a container printed, both streams.
    fn logs(&self, name: &str) -> String {
        self.containers[name].logs()
    }

    /// How many times an agent has connected, as its log says.
    fn connects(&self, agent: &str) -> usize {
        self.logs(agent)
            .lines()
            .filter(|l| l.contains(": connected to "))
            .count()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.containers.clear();
        let _ = run_within(docker(&["network", "rm", &self.network]), COMMAND_TIMEOUT);
    }
}
