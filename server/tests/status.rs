//! The status pages from the outside: a real server, three agents (two `vitals-agent`s, one of
//! them stopped, and a raw one whose hello and labels are full of HTML and script), headless
//! Chromium (Debian's `chromium`) loading `/` and an agent's page as a person would, the JSON
//! API against its schema, and hostile requests on the new paths. Screenshots of both pages
//! are kept in `target/test-artifacts/`.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use agent_core::sample::{Filesystem, Sample, Sensor, bounded};
use agent_core::wire::{Message, SampleMessage};
use common::{Server, agent, encoded, hello_with, http_get, run, tool, wait_for};

/// Texts a hostile agent puts in its hello and labels.
const SCRIPT: &str = "<script>document.title='pwned'</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";
const MOUNT: &str = "/mnt/</td><b id=injected>x</b>";
const CHIP: &str = "<svg onload=alert(2)>";

#[test]
#[ignore = "needs Debian's chromium: make test runs it"]
fn the_fleet_page_shows_every_agent_down_first_sorts_filters_and_escapes() {
    let chromium = tool("chromium");
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let _a1 = agent("a1", &[server.agents], "1s");
    let a2 = agent("a2", &[server.agents], "1s");
    let stop = Arc::new(AtomicBool::new(false));
    let evil = {
        let (agents, stop) = (server.agents, stop.clone());
        thread::spawn(move || hostile_agent(agents, &stop))
    };
    // An id full of markup is refused at its hello, and never reaches a page.
    let refused = raw(server.agents, &hello_with("<script>", |_| {}));
    assert!(refused.contains("\"kind\":\"error\""), "{refused}");

    let page = |path: &str| http_get(server.http, path).unwrap();
    wait_for("three agents with samples", Duration::from_secs(20), || {
        let (_, body) = page("/api/v1/agents");
        let json: serde_json::Value = serde_json::from_str(&body).ok()?;
        let agents = json["agents"].as_array()?;
        (agents.len() == 3
            && agents
                .iter()
                .all(|a| a["samples_merged"].as_f64() > Some(0.0)))
        .then_some(())
    });
    drop(a2);
    wait_for("a2 down", Duration::from_secs(10), || {
        page("/")
            .1
            .contains("<tr class=\"down\" data-id=\"a2\"")
            .then_some(())
    });

    let dir = artifacts();
    let dom = |path: &str| dump_dom(&chromium, &format!("http://{}{path}", server.http));
    // The page as Chromium builds it, after its refresh has swapped the table in once.
    let fleet = dom("/");
    assert_eq!(rows(&fleet), ["a2", "a1", "evil"], "down first, then by id");
    assert!(fleet.contains("<tr class=\"down\" data-id=\"a2\"><td class=\"st down\">down</td>"));
    assert!(fleet.contains("<b>3</b> agents"), "the counts");
    assert!(fleet.contains("refused connections: "));
    // The hostile texts are text: no element of theirs, the title untouched.
    assert!(!fleet.contains("pwned</title>") && fleet.contains("<title>vitals: 3 agents, 1 down"));
    assert!(!fleet.contains("id=\"injected\""), "{fleet}");
    assert!(!fleet.contains("<img"));
    assert_eq!(fleet.matches("<script").count(), 1, "ours alone");
    assert!(
        fleet.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{fleet}"
    );
    assert!(fleet.contains("/mnt/&lt;/td&gt;&lt;b id=injected&gt;x&lt;/b&gt;"));
    assert!(fleet.contains("&lt;svg onload=alert(2)&gt;"));

    // Sorting and filtering are links and a form: the URLs they lead to.
    assert!(fleet.contains("href=\"/?sort=id\""));
    assert_eq!(rows(&dom("/?sort=id&dir=desc")), ["evil", "a2", "a1"]);
    // Stopped, its counts are those of its last connection: the fewest samples.
    assert_eq!(rows(&dom("/?sort=merged&dir=desc"))[2], "a2");
    assert_eq!(rows(&dom("/?q=EVIL")), ["evil"]);
    // Its host name holds `<script>`: found by it, and still shown as text.
    assert_eq!(rows(&dom("/?q=%3Cscript%3E")), ["evil"]);
    assert_eq!(rows(&dom("/?q=nobody")), Vec::<String>::new());
    screenshot(&chromium, server.http, "/", &dir.join("status-fleet.png"));

    // An agent's page: its facts, series and charts of the last minutes (a point every 10 s).
    wait_for(
        "two points of a1's history",
        Duration::from_secs(40),
        || {
            let (_, body) = page("/api/v1/agents/a1");
            let json: serde_json::Value = serde_json::from_str(&body).ok()?;
            (json["history"].as_array()?.len() >= 2).then_some(())
        },
    );
    let a1 = dom("/agents/a1");
    assert!(
        a1.contains("<h1>a1 <span class=\"st up\">up</span></h1>"),
        "{a1}"
    );
    let cpu = a1.split("data-series=\"cpu\"").nth(1).expect("a CPU line");
    let points = cpu
        .split("points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(points.split(' ').count() >= 2, "{points}");
    assert!(a1.contains("data-series=\"memory\""));
    assert!(a1.contains("node_load1{instance=\"a1\"}"));
    let evil_page = dom("/agents/evil");
    assert!(evil_page.contains("&lt;script&gt;document.title="));
    assert!(!evil_page.contains("pwned</title>") && !evil_page.contains("id=\"injected\""));
    screenshot(
        &chromium,
        server.http,
        "/agents/a1",
        &dir.join("status-agent.png"),
    );

    // The JSON against its schema.
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api");
    for (path, schema) in [
        ("/api/v1/agents", "agents.schema.json"),
        ("/api/v1/agents?sort=cpu&dir=desc&q=a", "agents.schema.json"),
        ("/api/v1/agents/a1", "agent.schema.json"),
        ("/api/v1/agents/a2", "agent.schema.json"),
        ("/api/v1/agents/evil", "agent.schema.json"),
    ] {
        let (status, body) = page(path);
        assert_eq!(status, 200, "{path}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        let errors = common::schema::check(&schemas, schema, &json);
        assert!(errors.is_empty(), "{path}: {errors:#?}");
    }
    let (_, body) = page("/api/v1/agents");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["counts"]["down"], 1);
    assert_eq!(json["agents"][0]["id"], "a2");
    assert_eq!(
        json["agents"][2]["hostname"], SCRIPT,
        "JSON carries the text as it is"
    );
    let (_, body) = page("/api/v1/agents/a2");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["connections"]["connects"], 1);
    assert_eq!(json["connections"]["disconnects"], 1);

    // Hostile requests on the new paths: answered, and nothing else disturbed.
    for (path, status) in [
        ("/agents/nobody", 404),
        ("/agents/%3Cscript%3E", 404),
        ("/agents/a1%", 404),
        ("/agents/%FF%FE", 404),
        ("/agents/", 404),
        ("/api/v1/agents/", 404),
        ("/api/v1/agents/..%2F..%2Fetc%2Fpasswd", 404),
        ("/?sort=%00&dir=%0A&q=%", 200),
        ("/?q=&q=&sort", 200),
    ] {
        assert_eq!(page(path).0, status, "{path}");
    }
    let long = format!("/?q={}", "%3C".repeat(2000));
    let (status, body) = page(&long);
    assert_eq!(status, 200);
    assert!(!body.contains("<<") && body.contains("value=\"&lt;&lt;"));
    let answer = raw(
        server.http,
        b"POST /api/v1/agents HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    assert_eq!(page("/healthz").0, 200);
    assert!(server.metrics().contains("node_load1{instance=\"a1\"}"));

    let bytes = page("/").1.len();
    println!("the fleet page of 3 agents: {bytes} bytes");
    stop.store(true, Ordering::Relaxed);
    evil.join().unwrap();
}

/// Where the tests keep what a person may want to look at: `target/test-artifacts/`.
fn artifacts() -> PathBuf {
    let dir = common::bin("vitals-server")
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Headless Chromium, as root on a machine without a display; a profile of its own each run.
fn chromium_command(chromium: &str) -> Command {
    let profile = std::env::temp_dir().join(format!("vitals-chromium-{}", std::process::id()));
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// The DOM Chromium builds of `url`, after 6 s of the page's own time: past its first refresh.
fn dump_dom(chromium: &str, url: &str) -> String {
    let mut cmd = chromium_command(chromium);
    cmd.args(["--virtual-time-budget=6000", "--dump-dom", url]);
    let out = run(cmd, Duration::from_secs(60));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn screenshot(chromium: &str, http: SocketAddr, path: &str, file: &Path) {
    let mut cmd = chromium_command(chromium);
    cmd.args(["--window-size=1400,1000", "--hide-scrollbars"])
        .arg(format!("--screenshot={}", file.display()))
        .arg(format!("http://{http}{path}"));
    run(cmd, Duration::from_secs(60));
    let png = std::fs::read(file).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 4096,
        "{}",
        file.display()
    );
    println!("screenshot: {}", file.display());
}

/// The agents' ids in the fleet table's rows, in order.
fn rows(dom: &str) -> Vec<String> {
    dom.split("<tr class=\"")
        .skip(1)
        .filter_map(|row| {
            let id = row.split("data-id=\"").nth(1)?;
            Some(id[..id.find('"')?].to_owned())
        })
        .collect()
}

/// An agent `evil` speaking protocol v1 by hand, its texts full of markup, a sample a second
/// until `stop`.
fn hostile_agent(server: SocketAddr, stop: &AtomicBool) {
    let mut stream = TcpStream::connect(server).unwrap();
    let hello = hello_with("evil", |h| {
        h.hostname = bounded(SCRIPT);
        h.version = bounded(IMG);
        h.kernel = bounded("</td></tr></table><h1>x</h1>");
    });
    stream.write_all(&hello).unwrap();
    let mut seq = 1;
    while !stop.load(Ordering::Relaxed) {
        let mut sample = Sample::default();
        let _ = sample.filesystems.push(Filesystem {
            device: bounded("/dev/evil"),
            fstype: bounded("ext4"),
            mountpoint: bounded(MOUNT),
            size: 100,
            free: 10,
            avail: 5,
            ..Filesystem::default()
        });
        let _ = sample.sensors.push(Sensor {
            chip: bounded(CHIP),
            sensor: bounded("temp1"),
            celsius: 91.0,
        });
        let line = encoded(&Message::Sample(SampleMessage {
            seq,
            dropped: 0,
            sample,
        }));
        if stream.write_all(line.as_bytes()).is_err() {
            return;
        }
        seq += 1;
        thread::sleep(Duration::from_secs(1));
    }
}

/// Writes `bytes` on a new connection and reads until the peer closes (or 5 s pass).
fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}
