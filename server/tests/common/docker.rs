//! Docker for the container tests: commands bounded in time, the images `make images` builds,
//! a Prometheus image built from Debian's package (nothing can be pulled here), and scratch
//! directories; each removed however the test ends.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{run, run_within, tool};

/// The checkout, where compose.yaml and the Makefile are.
pub const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The longest any one Docker or Compose command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// `make images` may build the two binaries for musl from nothing: a few minutes on a shared
/// 2-core machine.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(900);

/// A Prometheus image of the files of Debian's package: the binary and the C library it links.
const PROMETHEUS_DOCKERFILE: &str = "\
FROM scratch
COPY rootfs/ /
COPY --chown=65534:65534 data/ /prometheus/
USER 65534:65534
WORKDIR /prometheus
ENTRYPOINT [\"/bin/prometheus\"]
";

/// A name part no other run of the tests has: the process and the moment.
pub fn unique() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    )
}

/// The images a test built, tagged for it alone, removed when dropped.
pub struct Images {
    pub tag: String,
    pub server: String,
    pub agent: String,
    /// Debian's Prometheus, once [`Images::with_prometheus`] built it.
    pub prometheus: String,
}

impl Images {
    /// `make images` with the tag `test-<unique>`.
    pub fn build(unique: &str) -> Images {
        let tag = format!("test-{unique}");
        // Made first, so that what was built is removed even when the rest fails.
        let images = Images {
            server: format!("vitals-server:{tag}"),
            agent: format!("vitals-agent:{tag}"),
            prometheus: format!("vitals-test-prometheus:{tag}"),
            tag,
        };
        let out = make(
            &["images", &format!("IMAGE_TAG={}", images.tag)],
            BUILD_TIMEOUT,
        );
        println!("{}", String::from_utf8_lossy(&out.stdout));
        images
    }

    /// The images, and Prometheus' built in a context made under `dir`.
    pub fn with_prometheus(unique: &str, dir: &Path) -> Images {
        let images = Images::build(unique);
        build_prometheus_image(&dir.join("prometheus"), &images.prometheus);
        images
    }

    /// An image's size in bytes, as the engine reports it.
    pub fn size(image: &str) -> u64 {
        let size = docker_ok(&["image", "inspect", "-f", "{{.Size}}", image]);
        size.parse().unwrap()
    }
}

impl Drop for Images {
    fn drop(&mut self) {
        let mut rmi = docker(&["rmi", "-f"]);
        rmi.args([&self.server, &self.agent, &self.prometheus]);
        let _ = run_within(rmi, COMMAND_TIMEOUT);
    }
}

/// A container started by `docker run -d`, removed (with its anonymous volumes) when dropped;
/// its last lines printed first when the test is failing.
pub struct Container {
    pub name: String,
}

impl Container {
    /// `docker run -d --name <name> <options> <image> <args>`.
    pub fn run(name: &str, options: &[&str], image: &str, args: &[&str]) -> Container {
        let mut run = vec!["run", "-d", "--name", name, "--label", "vitals-test=yes"];
        run.extend(options);
        run.push(image);
        run.extend(args);
        // Named before it runs: a container made but failing to start is removed too.
        let container = Container {
            name: name.to_owned(),
        };
        docker_ok(&run);
        container
    }

    /// What it printed, both streams.
    pub fn logs(&self) -> String {
        let out = run_within(docker(&["logs", &self.name]), COMMAND_TIMEOUT);
        out.map(|o| {
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
        })
        .unwrap_or_else(|e| e)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let logs = self.logs();
            let tail: Vec<&str> = logs.lines().rev().take(15).collect();
            eprintln!("---- container {}, its last lines:", self.name);
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
        let _ = run_within(docker(&["rm", "-f", "-v", &self.name]), COMMAND_TIMEOUT);
    }
}

/// `make <args>` in the checkout, which must succeed within `timeout`.
pub fn make(args: &[&str], timeout: Duration) -> Output {
    let mut cmd = Command::new("make");
    cmd.current_dir(REPO).arg("--no-print-directory").args(args);
    run(cmd, timeout)
}

/// A directory of the test's own, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(unique: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("vitals-containers-{unique}"));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn docker(args: &[&str]) -> Command {
    let mut cmd = Command::new("docker");
    cmd.args(args);
    cmd
}

/// `docker <args>`, which must succeed within [`COMMAND_TIMEOUT`]; its standard output, trimmed.
pub fn docker_ok(args: &[&str]) -> String {
    let out = run(docker(args), COMMAND_TIMEOUT);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Builds `image` from Debian's `prometheus` (its binary and the libraries `ldd` lists), in a
/// context made under `dir`.
fn build_prometheus_image(dir: &Path, image: &str) {
    let binary = tool("prometheus");
    let rootfs = dir.join("rootfs");
    let copy = |from: &Path| {
        let to = rootfs.join(from.strip_prefix("/").unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        // Through symbolic links: the image has the files they lead to, at their names.
        std::fs::copy(from, &to).unwrap();
    };
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::copy(&binary, rootfs.join("bin/prometheus")).unwrap();
    let mut ldd = Command::new("ldd");
    ldd.arg(&binary);
    let ldd = run(ldd, COMMAND_TIMEOUT);
    for library in String::from_utf8_lossy(&ldd.stdout)
        .split_whitespace()
        .filter(|word| word.starts_with('/'))
    {
        copy(Path::new(library));
    }
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("Dockerfile"), PROMETHEUS_DOCKERFILE).unwrap();
    run(
        docker(&["build", "-q", "-t", image, dir.to_str().unwrap()]),
        COMMAND_TIMEOUT,
    );
}
