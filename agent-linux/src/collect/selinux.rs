//! SELinux: whether it is enabled, and its configured and current modes, as node_exporter's
//! selinux collector has them from the opencontainers/selinux library.
//!
//! The library reads its own `/sys`, `/proc` and `/etc`, not node_exporter's `--path.*`; these
//! are read under the collector's root, which on a live system is the same.

use std::fs;
use std::path::{Path, PathBuf};

use agent_core::catalogue::{Series, f};

use super::families::Families;
use super::read::read_text;

/// `statfs`'s type of SELinux's filesystem (`SELINUX_MAGIC`).
const SELINUX_MAGIC: i128 = 0xf97c_ff8c;

/// `statfs`'s flag of a read-only mount (`ST_RDONLY`).
const ST_RDONLY: i128 = 1;

/// A mode as the library gives it: 1 enforcing, 0 permissive, -1 disabled, or a file that
/// could not be read or parsed.
const DISABLED: i64 = -1;

/// Reads whether SELinux is enabled and, while it is, its modes.
#[derive(Debug)]
pub(super) struct SelinuxCollector {
    /// `enforce` in SELinux's filesystem when SELinux is enabled, else `None`: decided once,
    /// at start, as the library decides once a process (see [`enabled_selinuxfs`]).
    enforce: Option<PathBuf>,
    /// `etc/selinux/config` under the root.
    config: PathBuf,
    /// Holds the file being parsed; reused.
    buf: Vec<u8>,
    /// The configured and the current mode, from the last sample.
    modes: (i64, i64),
}

impl SelinuxCollector {
    /// Reads under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            enforce: enabled_selinuxfs(root).map(|selinuxfs| selinuxfs.join("enforce")),
            config: root.join("etc/selinux/config"),
            buf: Vec::new(),
            modes: (DISABLED, DISABLED),
        }
    }
}

impl Families for SelinuxCollector {
    fn collect(&mut self) {
        if let Some(enforce) = &self.enforce {
            let configured =
                read_text(&mut self.buf, &self.config).map_or(DISABLED, |text| config_mode(&text));
            let current =
                read_text(&mut self.buf, enforce).map_or(DISABLED, |text| current_mode(&text));
            self.modes = (configured, current);
        }
    }

    fn series(&self, out: &mut dyn Series) {
        if self.enforce.is_none() {
            out.add(f::SELINUX_ENABLED, &[], 0.0);
            return;
        }
        let (configured, current) = self.modes;
        out.add(f::SELINUX_ENABLED, &[], 1.0);
        out.add(f::SELINUX_CONFIG_MODE, &[], configured as f64);
        out.add(f::SELINUX_CURRENT_MODE, &[], current as f64);
    }
}

/// SELinux's filesystem under `root`, if SELinux is enabled: the library's test. It is
/// enabled when that filesystem is mounted and this thread's label is not `kernel`, which
/// every process has while no policy is loaded; a label that cannot be read counts as
/// enabled.
fn enabled_selinuxfs(root: &Path) -> Option<PathBuf> {
    let selinuxfs = selinuxfs(root)?;
    // Linux 3.17 has `thread-self`; before, the library reads the thread's own directory,
    // whose label a process's single collecting thread shares with the process.
    let thread_self = root.join("proc/thread-self");
    let current = if thread_self.is_dir() {
        thread_self.join("attr/current")
    } else {
        root.join("proc/self/attr/current")
    };
    let kernel = fs::read(current).is_ok_and(|label| is_kernel(&label));
    (!kernel).then_some(selinuxfs)
}

/// Whether a label read from `attr/current` is `kernel` (which the kernel ends with a NUL).
fn is_kernel(label: &[u8]) -> bool {
    label.strip_suffix(b"\0").unwrap_or(label) == b"kernel"
}

/// Where SELinux's filesystem is mounted under `root`, as the library looks for it:
/// `/sys/fs/selinux`, else, if the kernel knows the filesystem at all, the first of the
/// mounts that is one. A mount must be writable to count.
fn selinuxfs(root: &Path) -> Option<PathBuf> {
    let usual = root.join("sys/fs/selinux");
    if is_selinuxfs(&usual) {
        return Some(usual);
    }
    let filesystems = fs::read(root.join("proc/filesystems")).ok()?;
    if !filesystems.windows(11).any(|w| w == b"\tselinuxfs\n") {
        return None;
    }
    let mountinfo = fs::read(root.join("proc/self/mountinfo")).ok()?;
    selinuxfs_mounts(&String::from_utf8_lossy(&mountinfo))
        .map(|point| root.join(point.trim_start_matches('/')))
        .find(|path| is_selinuxfs(path))
}

/// The mount points of the selinuxfs mounts of `/proc/self/mountinfo`: the fifth field of a
/// line whose filesystem type, after ` - `, is `selinuxfs`.
fn selinuxfs_mounts(mountinfo: &str) -> impl Iterator<Item = &str> {
    mountinfo
        .lines()
        .filter(|line| line.contains(" - selinuxfs "))
        .filter_map(|line| {
            let mut fields = line.splitn(6, ' ');
            let point = fields.nth(4)?;
            fields.next().map(|_| point)
        })
}

/// Whether `path` is a writable mount of SELinux's filesystem.
fn is_selinuxfs(path: &Path) -> bool {
    is_writable_mount_of(path, SELINUX_MAGIC)
}

/// Whether `path` is on a writable filesystem whose `statfs` type is `magic`. `statfs`'s
/// fields differ in width and sign by architecture; the library compares the type's low 32
/// bits.
fn is_writable_mount_of(path: &Path, magic: i128) -> bool {
    rustix::fs::statfs(path).is_ok_and(|stat| {
        i128::from(stat.f_type) & 0xffff_ffff == magic && i128::from(stat.f_flags) & ST_RDONLY == 0
    })
}

/// The mode `/etc/selinux/config` sets with `SELINUX=`, as the library reads it: the first
/// such line, blank lines and `#` or `;` comments aside, spaces around the line trimmed but
/// not around the `=`, and quotes around the value.
fn config_mode(text: &str) -> i64 {
    let value = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with(['#', ';']))
        .filter_map(|line| line.split_once('='))
        .find_map(|(key, value)| (key == "SELINUX").then(|| value.trim_matches('"')));
    match value {
        Some("enforcing") => 1,
        Some("permissive") => 0,
        _ => DISABLED,
    }
}

/// The mode `enforce` holds: the kernel writes `0` or `1`, with no newline, and the library
/// takes nothing else (a newline included).
fn current_mode(text: &str) -> i64 {
    text.parse().unwrap_or(DISABLED)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `fixtures/selinux`: a Fedora machine's `/etc/selinux/config` (enforcing), put in
    /// permissive mode since boot (`enforce` is 0); this machine's `/proc/filesystems` and
    /// mounts, with selinuxfs in both; and a service's label.
    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/selinux")
    }

    fn series_of(collector: &SelinuxCollector) -> Vec<(u16, f64)> {
        super::super::families::listed::unlabelled(|out| collector.series(out))
    }

    #[test]
    fn modes_of_an_enabled_system_from_the_fixture() {
        let root = fixture();
        let mut collector = SelinuxCollector {
            enforce: Some(root.join("sys/fs/selinux/enforce")),
            ..SelinuxCollector::new(&root)
        };
        collector.collect();
        assert_eq!(
            series_of(&collector),
            [
                (f::SELINUX_ENABLED, 1.0),
                (f::SELINUX_CONFIG_MODE, 1.0),
                (f::SELINUX_CURRENT_MODE, 0.0),
            ]
        );

        // Files that cannot be read give -1, as the library gives them.
        collector.config = root.join("etc/selinux/missing");
        collector.enforce = Some(root.join("sys/fs/selinux/missing"));
        collector.collect();
        assert_eq!(
            series_of(&collector),
            [
                (f::SELINUX_ENABLED, 1.0),
                (f::SELINUX_CONFIG_MODE, -1.0),
                (f::SELINUX_CURRENT_MODE, -1.0),
            ]
        );
    }

    /// The fixture's `sys/fs/selinux` is a plain directory, not SELinux's filesystem, and
    /// neither is the mount the fixture's mountinfo names there: not enabled. Nor is this
    /// machine's, where SELinux is off (as node_exporter finds it here).
    #[test]
    fn not_enabled_without_selinuxfs() {
        assert_eq!(selinuxfs(&fixture()), None);
        let mut collector = SelinuxCollector::new(&fixture());
        collector.collect();
        assert_eq!(series_of(&collector), [(f::SELINUX_ENABLED, 0.0)]);
        assert_eq!(selinuxfs(Path::new("/nonexistent")), None);
        if !Path::new("/sys/fs/selinux/enforce").exists() {
            let mut collector = SelinuxCollector::new(Path::new("/"));
            collector.collect();
            assert_eq!(series_of(&collector), [(f::SELINUX_ENABLED, 0.0)]);
        }
    }

    #[test]
    fn mounts_and_labels() {
        let mountinfo = fs::read_to_string(fixture().join("proc/self/mountinfo")).unwrap();
        assert_eq!(
            selinuxfs_mounts(&mountinfo).collect::<Vec<_>>(),
            ["/sys/fs/selinux"]
        );
        assert_eq!(
            selinuxfs_mounts("34 23 0:26 / - selinuxfs").count(),
            0,
            "too few fields"
        );
        let label = fs::read(fixture().join("proc/thread-self/attr/current")).unwrap();
        assert!(!is_kernel(&label));
        assert!(is_kernel(b"kernel\0") && is_kernel(b"kernel"));
        assert!(!is_kernel(b"kernel\n"));

        // The test of a mount, on one this machine has: /proc, procfs (PROC_SUPER_MAGIC).
        assert!(is_writable_mount_of(Path::new("/proc"), 0x9fa0));
        assert!(!is_writable_mount_of(Path::new("/proc"), SELINUX_MAGIC));
    }

    #[test]
    fn config_lines_as_the_library_reads_them() {
        let fedora = fs::read_to_string(fixture().join("etc/selinux/config")).unwrap();
        assert_eq!(config_mode(&fedora), 1);
        for (text, mode) in [
            ("SELINUX=permissive\n", 0),
            ("SELINUX=disabled\n", -1),
            ("  SELINUX=\"permissive\"\r\n", 0),
            ("SELINUX = enforcing\n", -1),
            ("SELINUX=Enforcing\n", -1),
            (
                "SELINUXTYPE=targeted\nSELINUX=permissive\nSELINUX=enforcing\n",
                0,
            ),
            (
                "# SELINUX=enforcing\n;SELINUX=enforcing\nSELINUX=permissive",
                0,
            ),
            ("", -1),
        ] {
            assert_eq!(config_mode(text), mode, "{text:?}");
        }
        assert_eq!(
            [current_mode("1"), current_mode("0"), current_mode("+1")],
            [1, 0, 1]
        );
        assert_eq!([current_mode("1\n"), current_mode("")], [-1, -1]);
    }
}
