//! The fixture machines and what node_exporter 1.5 makes of them: `fixtures/<machine>/sys` is
//! a copy of a real machine's sensors (a Raspberry Pi 4 with two I²C sensor boards, an x86
//! laptop), and `fixtures/<machine>/node_exporter.prom` node_exporter's exposition of its
//! hwmon, thermal_zone and cpufreq families for that tree, which those collectors' tests
//! compare their series with, value for value.
//!
//! The expositions are node_exporter's own: `the_expositions_are_node_exporters` (ignored: it
//! needs Debian's `prometheus-node-exporter`) runs it on each tree and compares, and with
//! `VITALS_BLESS=1` writes them again.

use std::fs;
use std::path::PathBuf;

use agent_core::catalogue::{FAMILIES, Series, family};

pub(super) use super::tests::FixtureTree as Tree;

/// The fixture machines, each a directory of `fixtures/`.
pub(super) const MACHINES: [&str; 2] = ["pi4", "laptop"];

/// The families of the expositions, by the start of their names.
const FAMILY_PREFIXES: [&str; 5] = [
    "node_hwmon_",
    "node_thermal_zone_",
    "node_cooling_device_",
    "node_cpu_frequency_",
    "node_cpu_scaling_frequency_",
];

/// One series: its family's name, its labels by name (sorted, as an exposition has them), its
/// value.
pub(super) type Line = (String, Vec<(String, String)>, f64);

/// The fixture tree of `machine`, to read as a root.
pub(super) fn root(machine: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/collect/fixtures")
        .join(machine)
}

/// The exposition of `machine`.
fn exposition_path(machine: &str) -> PathBuf {
    root(machine).join("node_exporter.prom")
}

/// Whether `name` is of one of `families` (starts of names).
fn of(families: &[&str], name: &str) -> bool {
    families.iter().any(|start| name.starts_with(start))
}

/// node_exporter's series of `families` for `machine`, sorted.
pub(super) fn expected(machine: &str, families: &[&str]) -> Vec<Line> {
    let text = fs::read_to_string(exposition_path(machine)).unwrap();
    let mut lines: Vec<Line> = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(parse_line)
        .filter(|(name, _, _)| of(families, name))
        .collect();
    lines.sort_by(|a, b| a.partial_cmp(b).unwrap());
    lines
}

/// The series `give` hands over of `families`, as an exposition has them, sorted.
pub(super) fn series(families: &[&str], give: impl FnOnce(&mut dyn Series)) -> Vec<Line> {
    struct Lines<'f>(&'f [&'f str], Vec<Line>);
    impl Series for Lines<'_> {
        fn add(&mut self, id: u16, labels: &[&str], value: f64) {
            let family = family(id).unwrap();
            if !of(self.0, family.name) {
                return;
            }
            assert_eq!(labels.len(), family.labels.len(), "{}", family.name);
            let mut labels: Vec<(String, String)> = family
                .labels
                .iter()
                .zip(labels)
                .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
                .collect();
            labels.sort();
            self.1.push((family.name.to_owned(), labels, value));
        }
    }
    let mut lines = Lines(families, Vec::new());
    give(&mut lines);
    let mut lines = lines.1;
    lines.sort_by(|a, b| a.partial_cmp(b).unwrap());
    lines
}

/// A sample line of the text format: `name{label="text",...} value`.
fn parse_line(line: &str) -> Line {
    let (name, rest) = line.split_at(line.find(['{', ' ']).unwrap());
    let mut labels = Vec::new();
    let mut rest = rest;
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices();
        let mut key = String::new();
        loop {
            let (at, c) = chars.next().unwrap();
            match c {
                '}' => {
                    rest = &body[at + 1..];
                    break;
                }
                ',' => {}
                '=' => {
                    assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
                    let mut text = String::new();
                    loop {
                        match chars.next().unwrap().1 {
                            '\\' => match chars.next().unwrap().1 {
                                'n' => text.push('\n'),
                                other => text.push(other),
                            },
                            '"' => break,
                            other => text.push(other),
                        }
                    }
                    labels.push((std::mem::take(&mut key), text));
                }
                other => key.push(other),
            }
        }
    }
    let value = rest.trim().parse().unwrap();
    (name.to_owned(), labels, value)
}

/// The exposition's `# HELP` and `# TYPE` lines are the catalogue's help texts and types: the
/// catalogue's rows are node_exporter's for every family the fixtures have.
#[test]
fn the_expositions_help_and_types_are_the_catalogues() {
    let mut checked = 0;
    for machine in MACHINES {
        let text = fs::read_to_string(exposition_path(machine)).unwrap();
        for line in text.lines() {
            let (name, what, want) = if let Some(help) = line.strip_prefix("# HELP ") {
                let (name, help) = help.split_once(' ').unwrap();
                let family = FAMILIES.iter().find(|f| f.name == name);
                (name, help, family.map(|f| f.help))
            } else if let Some(kind) = line.strip_prefix("# TYPE ") {
                let (name, kind) = kind.split_once(' ').unwrap();
                let family = FAMILIES.iter().find(|f| f.name == name);
                (name, kind, family.map(|f| f.kind.as_str()))
            } else {
                continue;
            };
            assert_eq!(want, Some(what), "{machine}: {name}");
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked}");
}

/// Runs node_exporter 1.5 (Debian's `prometheus-node-exporter`) on each fixture tree, with
/// only the three collectors, and compares its exposition of their families with the checked
/// in one; `VITALS_BLESS=1` writes it instead.
#[test]
#[ignore = "needs Debian's prometheus-node-exporter"]
fn the_expositions_are_node_exporters() {
    use std::io::{Read as _, Write as _};
    use std::net::{TcpListener, TcpStream};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    /// Ends node_exporter when the test does, passing or not.
    struct Child(std::process::Child);
    impl Drop for Child {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    let bless = std::env::var_os("VITALS_BLESS").is_some_and(|v| v == "1");
    for machine in MACHINES {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let root = root(machine);
        let _node_exporter = Child(
            Command::new("prometheus-node-exporter")
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg(format!("--path.sysfs={}", root.join("sys").display()))
                .arg(format!("--path.procfs={}", root.join("proc").display()))
                .args([
                    "--collector.disable-defaults",
                    "--collector.hwmon",
                    "--collector.thermal_zone",
                    "--collector.cpufreq",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("prometheus-node-exporter: `apt-get install prometheus-node-exporter`"),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(stream) => break stream,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => panic!("node_exporter on {machine}: {e}"),
            }
        };
        stream
            .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (_, body) = response.split_once("\r\n\r\n").unwrap();
        let kept: String = body
            .lines()
            .filter(|line| {
                let name = line
                    .strip_prefix("# HELP ")
                    .or_else(|| line.strip_prefix("# TYPE "))
                    .unwrap_or(line);
                of(&FAMILY_PREFIXES, name)
            })
            .map(|line| format!("{line}\n"))
            .collect();
        let path = exposition_path(machine);
        if bless {
            fs::write(&path, &kept).unwrap();
        } else {
            let have = fs::read_to_string(&path).unwrap_or_default();
            assert_eq!(have, kept, "{}: run with VITALS_BLESS=1", path.display());
        }
    }
}
