//! Agents proving their ids with pre-shared keys, against the real binaries on loopback.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Server, agent, agent_with, bin, http_get, value, wait_for};

const KEY: &str = "3f1c2b9e8d7a6f5e4d3c2b1a09f8e7d6";

/// A directory of key files for one test, removed afterwards.
struct Keys(PathBuf);

impl Keys {
    fn new(name: &str) -> Keys {
        let dir = std::env::temp_dir().join(format!("vitals-auth-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Keys(dir)
    }

    /// Writes a file with `mode` and returns its path.
    fn file(&self, name: &str, text: &str, mode: u32) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rejected(metrics: &str, reason: &str) -> f64 {
    value(
        metrics,
        "vitals_server_frames_rejected_total",
        &[("reason", reason)],
    )
    .unwrap_or(0.0)
}

#[test]
fn only_agents_with_the_right_key_get_in_and_each_refusal_is_counted() {
    let keys = Keys::new("fleet");
    let server_keys = keys.file(
        "server.keys",
        &format!("# fleet\npi-* {KEY}\nbench other-key-0123456789abcdef\n"),
        0o600,
    );
    let good = keys.file("good.key", &format!("{KEY}\n"), 0o600);
    let wrong = keys.file("wrong.key", "not-the-key-0123456789abcdef\n", 0o600);
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &["--key-file", &server_keys]);
    let to = [server.agents];

    let _honest = agent_with("pi-honest", &to, "300ms", &["--key-file", &good]);
    wait_for("the keyed agent's series", Duration::from_secs(20), || {
        let m = http_get(server.http, "/metrics")?.1;
        (value(&m, "vitals_agent_up", &[("instance", "pi-honest")]) == Some(1.0)
            && value(&m, "node_load1", &[("instance", "pi-honest")]).is_some())
        .then_some(())
    });

    // Wrong key, no key, an id the file does not name: each refused and counted.
    let _liar = agent_with("pi-liar", &to, "300ms", &["--key-file", &wrong]);
    let _keyless = agent("pi-keyless", &to, "300ms");
    let _stranger = agent_with("laptop", &to, "300ms", &["--key-file", &good]);
    // Someone else's key for an id that has one of its own.
    let _impostor = agent_with("bench", &to, "300ms", &["--key-file", &good]);
    let m = wait_for("every refusal counted", Duration::from_secs(20), || {
        let m = http_get(server.http, "/metrics")?.1;
        (rejected(&m, "auth_failed") >= 2.0
            && rejected(&m, "auth_required") >= 1.0
            && rejected(&m, "unknown_agent") >= 1.0)
            .then_some(m)
    });
    for id in ["pi-liar", "pi-keyless", "laptop", "bench"] {
        assert_eq!(
            value(&m, "node_load1", &[("instance", id)]),
            None,
            "{id} has no series"
        );
    }
    // The honest agent is still current.
    let seen = |m: &str| {
        value(
            m,
            "vitals_agent_last_seen_timestamp_seconds",
            &[("instance", "pi-honest")],
        )
    };
    let before = seen(&m).unwrap();
    wait_for(
        "the keyed agent still sending",
        Duration::from_secs(10),
        || {
            let m = http_get(server.http, "/metrics")?.1;
            (seen(&m)? > before
                && value(&m, "vitals_agent_up", &[("instance", "pi-honest")]) == Some(1.0))
            .then_some(())
        },
    );
}

#[test]
fn a_keyed_agent_sends_nothing_to_a_server_without_keys() {
    let keys = Keys::new("downgrade");
    let good = keys.file("good.key", KEY, 0o600);
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let _agent = agent_with(
        "pi-careful",
        &[server.agents],
        "300ms",
        &["--key-file", &good],
    );
    let mut refused = false;
    wait_for(
        "the agent to refuse the server",
        Duration::from_secs(10),
        || {
            while let Ok(line) = server.log.try_recv() {
                refused |= line.contains("pi-careful") && line.contains("disconnected");
            }
            refused.then_some(())
        },
    );
    let m = server.metrics();
    assert_eq!(value(&m, "node_load1", &[("instance", "pi-careful")]), None);
}

#[test]
fn key_files_others_may_read_are_refused_at_start() {
    let keys = Keys::new("exposed");
    let refused = |program: &str, args: &[&str]| {
        let out = Command::new(bin(program))
            .args(args)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{program} started: {err}");
        assert!(err.contains("chmod 600"), "{program}: {err}");
    };
    let exposed = keys.file("server.keys", &format!("* {KEY}\n"), 0o644);
    refused(
        "vitals-server",
        &[
            "--listen",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--key-file",
            &exposed,
        ],
    );
    let exposed = keys.file("agent.key", KEY, 0o640);
    refused(
        "vitals-agent",
        &["--server", "127.0.0.1:9", "--key-file", &exposed],
    );
}

/// `make keys` wrote one key for every id (`* KEY`), so any board could take over any other's
/// id. It now writes one key per id, and one id's key does not open another's.
#[test]
fn make_keys_writes_a_key_per_id_and_one_ids_key_does_not_open_another() {
    let keys = Keys::new("make");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let dir = keys.0.join("keys");
    for id in ["pi-kitchen", "pi-garage", "pi-kitchen"] {
        let made = Command::new("make")
            .args(["-s", "-C", root, "keys"])
            .arg(format!("KEYS_DIR={}", dir.display()))
            .arg(format!("ID={id}"))
            .output()
            .unwrap();
        assert!(made.status.success(), "{made:?}");
    }
    let server_keys = std::fs::read_to_string(dir.join("server.keys")).unwrap();
    let mut ids: Vec<&str> = server_keys
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["pi-garage", "pi-kitchen"], "{server_keys}");
    let key_of = |id: &str| dir.join(format!("agents/{id}.key")).display().to_string();
    for file in [
        dir.join("server.keys").display().to_string(),
        key_of("pi-kitchen"),
    ] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{file} is {mode:o}");
    }

    let server = Server::start(
        "127.0.0.1:0",
        "127.0.0.1:0",
        &["--key-file", &dir.join("server.keys").display().to_string()],
    );
    let to = [server.agents];
    let _kitchen = agent_with(
        "pi-kitchen",
        &to,
        "300ms",
        &["--key-file", &key_of("pi-kitchen")],
    );
    wait_for("the kitchen's series", Duration::from_secs(20), || {
        let m = http_get(server.http, "/metrics")?.1;
        value(&m, "node_load1", &[("instance", "pi-kitchen")])
    });
    // The garage board's key, claiming the kitchen's id: refused, and the kitchen stays.
    let _thief = agent_with(
        "pi-kitchen",
        &to,
        "300ms",
        &["--key-file", &key_of("pi-garage")],
    );
    let m = wait_for("the thief refused", Duration::from_secs(20), || {
        let m = http_get(server.http, "/metrics")?.1;
        (rejected(&m, "auth_failed") >= 2.0).then_some(m)
    });
    let before = value(
        &m,
        "vitals_agent_samples_total",
        &[("instance", "pi-kitchen")],
    )
    .unwrap();
    wait_for("the kitchen still sending", Duration::from_secs(20), || {
        let m = http_get(server.http, "/metrics")?.1;
        value(
            &m,
            "vitals_agent_samples_total",
            &[("instance", "pi-kitchen")],
        )
        .filter(|n| *n > before + 2.0)
    });
}

/// Two boards cloned from one image (one id, one key) took the id from each other after every
/// welcome: 83 reconnects in 30 s, their values interleaved in one series, `up` always 1.
#[test]
fn two_machines_with_one_id_and_key_do_not_take_turns() {
    let keys = Keys::new("clones");
    let server_keys = keys.file("server.keys", &format!("* {KEY}\n"), 0o600);
    let key = keys.file("clone.key", KEY, 0o600);
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &["--key-file", &server_keys]);
    let to = [server.agents];
    let _first = agent_with("pi-clone", &to, "300ms", &["--key-file", &key]);
    wait_for("the first clone's series", Duration::from_secs(20), || {
        let m = http_get(server.http, "/metrics")?.1;
        value(&m, "node_load1", &[("instance", "pi-clone")]).map(|_| ())
    });
    let _second = agent_with("pi-clone", &to, "300ms", &["--key-file", &key]);
    // The second takes the id over once (it might be the first, rebooted); the first comes
    // back and is refused, and so is every try after, while the other keeps it.
    let (mut welcomes, mut conflicts) = (0, 0);
    let mut read_log = || {
        while let Ok(line) = server.log.try_recv() {
            welcomes +=
                usize::from(line.contains("agent pi-clone from") && line.ends_with(" connected"));
            conflicts += usize::from(line.contains("id_conflict"));
        }
        (welcomes, conflicts)
    };
    let m = wait_for(
        "the clone refused three times",
        Duration::from_secs(30),
        || {
            let m = http_get(server.http, "/metrics")?.1;
            (rejected(&m, "id_conflict") >= 3.0).then_some(m)
        },
    );
    let (welcomes, conflicts) = read_log();
    assert!(welcomes <= 3, "{welcomes} welcomes of pi-clone");
    assert_eq!(conflicts, 1, "the conflict is logged once");
    assert_eq!(
        value(&m, "vitals_agent_up", &[("instance", "pi-clone")]),
        Some(1.0)
    );
}
