//! End to end: `vitals-agent --textfile-dir` and `vitals-server`. A good file's series in
//! `/metrics` with the agent's `instance`; a bad file making `node_textfile_scrape_error` 1
//! while the good file's series stay; a file changed between samples giving its new series;
//! and two agents declaring one name with two types, whose scrape `promtool check metrics`
//! passes (with Debian's `prometheus` package, as `make test` runs it).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Server, agent_with, agent_with_log, promtool_complaints, series, value, wait_for};

/// A directory under the system's temp dir, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("vitals-textfile-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    /// Writes `name` as a program should: into a temporary file, then renamed over it, so
    /// that the agent never reads half of it.
    fn write(&self, name: &str, contents: &str) -> String {
        let tmp = self.0.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, contents).unwrap();
        let path = self.0.join(name);
        std::fs::rename(&tmp, &path).unwrap();
        path.display().to_string()
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const BACKUP: &str = "\
# HELP backup_age_seconds Seconds since the last good backup.
# TYPE backup_age_seconds gauge
backup_age_seconds{target=\"/home\"} 3600
backup_age_seconds{target=\"/srv \\\"data\\\"\"} 86400
# TYPE backup_runs_total counter
backup_runs_total 42
";

/// The metrics once `check` finds what it waits for in them.
fn metrics_when(server: &Server, what: &str, check: impl Fn(&str) -> bool) -> String {
    wait_for(what, Duration::from_secs(20), || {
        let m = server.metrics();
        check(&m).then_some(m)
    })
}

#[test]
fn a_textfiles_series_go_with_the_agents_and_a_bad_file_is_only_an_error() {
    let dir = Dir::new("one");
    let backup = dir.write("backup.prom", BACKUP);
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let (_agent, log) = agent_with_log(
        "tf",
        &[server.agents],
        "200ms",
        &["--textfile-dir", dir.path()],
    );
    let of = [("instance", "tf")];
    let metrics = metrics_when(&server, "the file's series", |m| {
        value(m, "backup_runs_total", &of).is_some()
    });
    assert!(
        metrics.contains(
            "# HELP backup_age_seconds Seconds since the last good backup.\n\
             # TYPE backup_age_seconds gauge\n\
             backup_age_seconds{instance=\"tf\",target=\"/home\"} 3600\n\
             backup_age_seconds{instance=\"tf\",target=\"/srv \\\"data\\\"\"} 86400\n"
        ),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("# TYPE backup_runs_total counter\nbackup_runs_total{instance=\"tf\"} 42\n")
    );
    let mtime = std::fs::metadata(&backup)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as f64;
    assert_eq!(
        value(
            &metrics,
            "node_textfile_mtime_seconds",
            &[("instance", "tf"), ("file", &backup)]
        ),
        Some(mtime)
    );
    assert_eq!(
        value(&metrics, "node_textfile_scrape_error", &of),
        Some(0.0)
    );

    // A bad file: the error, once in the log; the good file's series stay.
    let bad = dir.write("raid.prom", "raid_degraded{md=\"md0\"} 0 1700000000000\n");
    let metrics = metrics_when(&server, "node_textfile_scrape_error 1", |m| {
        value(m, "node_textfile_scrape_error", &of) == Some(1.0)
    });
    assert_eq!(value(&metrics, "backup_runs_total", &of), Some(42.0));
    assert!(!metrics.contains("raid_degraded"));
    assert_eq!(
        series(&metrics, "node_textfile_mtime_seconds", &of).len(),
        1
    );
    let said = wait_for("the agent's log line", Duration::from_secs(10), || {
        log.try_iter().find(|l| l.contains(&bad))
    });
    assert!(
        said.contains("contains unsupported client-side timestamps, skipping entire file"),
        "{said}"
    );
    // Said once, not every sample.
    std::thread::sleep(Duration::from_millis(600));
    assert!(log.try_iter().all(|l| !l.contains(&bad)));

    // Fixed, and the good file changed between samples: a new declaration, new series.
    dir.write("raid.prom", "raid_degraded{md=\"md0\"} 0\n");
    dir.write(
        "backup.prom",
        &BACKUP.replace("target=\"/home\"} 3600", "target=\"/var\"} 60"),
    );
    let metrics = metrics_when(&server, "the new series", |m| {
        value(
            m,
            "backup_age_seconds",
            &[("instance", "tf"), ("target", "/var")],
        )
        .is_some()
            && value(m, "raid_degraded", &of).is_some()
    });
    assert!(value(&metrics, "backup_age_seconds", &[("target", "/home")]).is_none());
    assert_eq!(
        value(&metrics, "node_textfile_scrape_error", &of),
        Some(0.0)
    );
    assert_eq!(
        series(&metrics, "node_textfile_mtime_seconds", &of).len(),
        2
    );
}

#[test]
#[ignore = "needs promtool (Debian's prometheus): make test runs it"]
fn two_agents_declaring_one_name_with_two_types_still_give_a_valid_scrape() {
    let (first, second) = (Dir::new("first"), Dir::new("second"));
    first.write(
        "shared.prom",
        "# HELP shared_value A value both hosts report.\n\
         # TYPE shared_value gauge\n\
         shared_value{part=\"a\"} 1\n\
         # TYPE jobs_done_total counter\n\
         jobs_done_total 3\n",
    );
    second.write(
        "shared.prom",
        "# HELP shared_value The second host's help.\n\
         # TYPE shared_value counter\n\
         shared_value{part=\"b\"} 2\n\
         # TYPE jobs_done_total counter\n\
         jobs_done_total 5\n",
    );
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let _first = agent_with(
        "first",
        &[server.agents],
        "200ms",
        &["--textfile-dir", first.path()],
    );
    metrics_when(&server, "the first agent's file", |m| {
        value(m, "shared_value", &[("instance", "first")]).is_some()
    });
    let _second = agent_with(
        "second",
        &[server.agents],
        "200ms",
        &["--textfile-dir", second.path()],
    );
    let metrics = metrics_when(&server, "the second agent's file", |m| {
        value(m, "jobs_done_total", &[("instance", "second")]).is_some()
    });
    // One family each: the first agent's type and help, its series; the second's left out.
    let shared: Vec<&str> = metrics
        .lines()
        .filter(|l| l.contains("shared_value"))
        .collect();
    assert_eq!(
        shared,
        [
            "# HELP shared_value A value both hosts report.",
            "# TYPE shared_value gauge",
            "shared_value{instance=\"first\",part=\"a\"} 1",
        ]
    );
    assert_eq!(metrics.matches("# TYPE jobs_done_total counter").count(), 1);
    assert_eq!(series(&metrics, "jobs_done_total", &[]), [3.0, 5.0]);
    assert_eq!(
        value(&metrics, "vitals_server_custom_series_left_out_total", &[]),
        Some(1.0)
    );
    let complaints = promtool_complaints(&metrics);
    assert!(complaints.is_empty(), "promtool complains: {complaints:#?}");
    assert!(Path::new(first.path()).exists());
}
