//! Which mounts of `/proc/mounts` are filesystems, chosen as node_exporter 1.5's filesystem
//! collector chooses them with its default flags. Text in, values out, no I/O.

use std::borrow::Cow;

/// One line of `/proc/mounts`: `device mountpoint fstype options dump pass`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::collect) struct Mount<'a> {
    /// The first field, as the kernel prints it (node_exporter does not unescape it either).
    pub device: &'a str,
    /// The second field, unescaped.
    pub mountpoint: Cow<'a, str>,
    /// The third field.
    pub fstype: &'a str,
    /// The options (fourth field) include `ro`, which is how node_exporter 1.5 decides
    /// `node_filesystem_readonly`.
    pub readonly: bool,
}

/// The mounts node_exporter 1.5 reports by default, in file order, one per mount point, with
/// their mount points as seen from `root` (see [`parse_line`]).
///
/// Drops the mount points and types its default `--collector.filesystem.mount-points-exclude`
/// and `--collector.filesystem.fs-types-exclude` drop (see [`is_excluded_mount_point`] and
/// [`is_excluded_fs_type`]). When a mount point appears more than once, only its last mount is
/// kept: that is the one a path lookup (and so `statvfs`) sees, so an earlier one would be
/// reported with another filesystem's numbers.
#[cfg(test)]
pub(in crate::collect) fn select<'a>(text: &'a str, root: &str) -> Vec<Mount<'a>> {
    let mut lines = Vec::new();
    select_lines(text, root, &mut lines);
    lines
        .into_iter()
        .filter_map(|range| parse_line(text.get(range)?, root))
        .collect()
}

/// [`select`] without allocating once `lines` has grown: fills `lines` with the byte ranges of
/// the chosen lines of `text` (parse each again with [`parse_line`]).
pub(super) fn select_lines(text: &str, root: &str, lines: &mut Vec<std::ops::Range<usize>>) {
    lines.clear();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let range = start..start + line.trim_end_matches('\n').len();
        start += line.len();
        let Some(mount) = parse_line(line, root) else {
            continue;
        };
        if is_excluded_mount_point(&mount.mountpoint) || is_excluded_fs_type(mount.fstype) {
            continue;
        }
        lines.retain(|earlier| {
            let earlier = text.get(earlier.clone()).and_then(|e| parse_line(e, root));
            earlier.is_none_or(|e| e.mountpoint != mount.mountpoint)
        });
        lines.push(range);
    }
}

/// One line, or `None` when it has fewer than the four fields node_exporter requires.
///
/// Its mount point is as seen from `root`, where the mounts were read (`/` on a live system),
/// as node_exporter's `--path.rootfs` reports it: a mount point under the root has the root
/// taken off its front (`/host/boot` is `/boot` under `/host`, and `/host` is `/`), so that
/// an agent in a container shows its host's mount points whichever mounts file it could read.
/// node_exporter takes the root off as a bare prefix; this, only as whole components, so that
/// `/hostdata` stays itself under `/host`.
pub(super) fn parse_line<'a>(line: &'a str, root: &str) -> Option<Mount<'a>> {
    let mut fields = line.split_ascii_whitespace();
    let device = fields.next()?;
    let mountpoint = from_root(unescape(fields.next()?), root);
    let fstype = fields.next()?;
    let options = fields.next()?;
    Some(Mount {
        device,
        mountpoint,
        fstype,
        readonly: options.split(',').any(|option| option == "ro"),
    })
}

/// `mountpoint` with `root` taken off its front, if it is under it (see [`parse_line`]).
fn from_root<'a>(mountpoint: Cow<'a, str>, root: &str) -> Cow<'a, str> {
    let root = root.trim_end_matches('/');
    match mountpoint.strip_prefix(root) {
        Some("") if !root.is_empty() => return Cow::Borrowed("/"),
        Some(rest) if !root.is_empty() && rest.starts_with('/') => {}
        _ => return mountpoint,
    }
    match mountpoint {
        Cow::Borrowed(whole) => Cow::Borrowed(whole.get(root.len()..).unwrap_or(whole)),
        Cow::Owned(whole) => Cow::Owned(whole.get(root.len()..).unwrap_or(&whole).to_owned()),
    }
}

/// Undoes the kernel's escaping of a `/proc/mounts` field: it prints space, tab, newline and
/// backslash as three octal digits (`\040`, `\011`, `\012`, `\134`).
///
/// Any `\ooo` below 0o200 is decoded; anything else is left as written, since a lone byte
/// above 0x7f would not be UTF-8 on its own and the kernel never writes one.
pub(super) fn unescape(field: &str) -> Cow<'_, str> {
    if !field.contains('\\') {
        return Cow::Borrowed(field);
    }
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(at) = rest.find('\\') {
        let (before, escape) = rest.split_at(at);
        out.push_str(before);
        match decode_octal(escape) {
            Some(ch) => {
                out.push(ch);
                rest = escape.get(4..).unwrap_or("");
            }
            None => {
                out.push('\\');
                rest = escape.get(1..).unwrap_or("");
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The ASCII character of `\ooo` at the start of `escape`, if it is one.
fn decode_octal(escape: &str) -> Option<char> {
    let digits = escape.as_bytes().get(1..4)?;
    let mut value = 0_u32;
    for &digit in digits {
        if !(b'0'..=b'7').contains(&digit) {
            return None;
        }
        value = value * 8 + u32::from(digit - b'0');
    }
    char::from_u32(value).filter(char::is_ascii)
}

/// node_exporter 1.5's default mount point exclusion, written out by hand:
/// `^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)`.
///
/// (Debian's build of 1.5 changes this default to also exclude `/run`, `/mnt` and `/media`;
/// this follows upstream.)
pub(super) fn is_excluded_mount_point(mountpoint: &str) -> bool {
    let Some(path) = mountpoint.strip_prefix('/') else {
        return false;
    };
    let whole_dir = |dir: &str| {
        path.strip_prefix(dir)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    // `prefix.+($|/)`: Go's `.` does not match a newline, so `.+` is a run of at least one
    // non-newline character, and it must reach either the end or a `/`.
    let below = |prefix: &str| {
        path.strip_prefix(prefix).is_some_and(|rest| {
            let run = rest.split('\n').next().unwrap_or("");
            if run.len() == rest.len() {
                !run.is_empty()
            } else {
                run.get(1..)
                    .is_some_and(|after_first| after_first.contains('/'))
            }
        })
    };
    whole_dir("dev")
        || whole_dir("proc")
        || whole_dir("sys")
        || below("run/credentials/")
        || below("var/lib/docker/")
        || below("var/lib/containers/storage/")
}

/// node_exporter 1.5's default filesystem type exclusion, `^(autofs|...|tracefs)$`.
pub(super) fn is_excluded_fs_type(fstype: &str) -> bool {
    matches!(
        fstype,
        "autofs"
            | "binfmt_misc"
            | "bpf"
            | "cgroup"
            | "cgroup2"
            | "configfs"
            | "debugfs"
            | "devpts"
            | "devtmpfs"
            | "fusectl"
            | "hugetlbfs"
            | "iso9660"
            | "mqueue"
            | "nsfs"
            | "overlay"
            | "proc"
            | "procfs"
            | "pstore"
            | "rpc_pipefs"
            | "securityfs"
            | "selinuxfs"
            | "squashfs"
            | "sysfs"
            | "tracefs"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/proc/1/mounts` of a systemd desktop with a container runtime, a snap, a USB stick
    /// whose label has a space, a read-only bind mount and `/` mounted twice (an overlay on
    /// top, as in a container).
    const PROC_MOUNTS: &str = include_str!("../fixtures/filesystem/proc/1/mounts");

    #[test]
    fn select_matches_node_exporter_defaults() {
        let mounts = select(PROC_MOUNTS, "/");
        let seen: Vec<(&str, &str, &str, bool)> = mounts
            .iter()
            .map(|m| (m.device, m.mountpoint.as_ref(), m.fstype, m.readonly))
            .collect();
        assert_eq!(
            seen,
            [
                ("tmpfs", "/run", "tmpfs", false),
                ("/dev/nvme0n1p1", "/boot/efi", "vfat", false),
                ("/dev/nvme0n1p3", "/var/lib/docker", "ext4", false),
                ("/dev/sda1", "/media/me/USB STICK", "vfat", false),
                ("/dev/nvme0n1p2", "/srv/ro", "ext4", true),
                ("tmpfs", "/run/user/1000", "tmpfs", false),
                ("/dev/mapper/root", "/", "xfs", false),
            ]
        );
    }

    #[test]
    fn short_and_empty_lines_are_skipped() {
        let mounts = select(
            "\n/dev/sda1 /data\n/dev/sda2 /data2 ext4\n/dev/sda3 /ok ext4 rw 0 0\n",
            "/",
        );
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].device, "/dev/sda3");
    }

    #[test]
    fn readonly_is_the_ro_option_not_a_substring() {
        let ro = |options: &str| {
            parse_line(&format!("d /m ext4 {options} 0 0"), "/")
                .unwrap()
                .readonly
        };
        assert!(ro("ro"));
        assert!(ro("nosuid,ro,relatime"));
        assert!(!ro("rw,errors=remount-ro"));
        assert!(!ro("rw,ro=1"));
    }

    /// The agent's own mounts, as a container with its host's root at `/host` sees them (what
    /// it falls back to when the host's init's cannot be read): the host's are under `/host`.
    const CONTAINER_MOUNTS: &str = "overlay / overlay rw 0 0\n\
        /dev/vda1 /host ext4 ro 0 0\n\
        /dev/vda2 /host/boot\\040efi vfat ro 0 0\n\
        proc /host/proc proc ro 0 0\n\
        /dev/vdb /hostdata ext4 rw 0 0\n\
        /dev/vda1 /etc/hostname ext4 rw 0 0\n";

    #[test]
    fn under_another_root_mount_points_are_the_roots_own() {
        let seen = |root: &str| -> Vec<(String, bool)> {
            select(CONTAINER_MOUNTS, root)
                .into_iter()
                .map(|m| (m.mountpoint.into_owned(), m.readonly))
                .collect()
        };
        let owned = |list: &[(&str, bool)]| -> Vec<(String, bool)> {
            list.iter().map(|(m, ro)| ((*m).to_owned(), *ro)).collect()
        };
        // As node_exporter with --path.rootfs=/host: the root itself is `/`, `/host/proc` is
        // `/proc` and so excluded; what is not under the root stays as it is.
        let under_host = owned(&[
            ("/", true),
            ("/boot efi", true),
            ("/hostdata", false),
            ("/etc/hostname", false),
        ]);
        assert_eq!(seen("/host"), under_host);
        assert_eq!(seen("/host/"), under_host);
        // The overlay is left out by its type, as node_exporter leaves it out.
        assert_eq!(
            seen("/"),
            owned(&[
                ("/host", true),
                ("/host/boot efi", true),
                ("/hostdata", false),
                ("/etc/hostname", false),
            ])
        );
    }

    #[test]
    fn unescape_octal() {
        assert_eq!(unescape("/plain"), "/plain");
        assert!(matches!(unescape("/plain"), Cow::Borrowed(_)));
        assert_eq!(unescape(r"/a\040b\011c\012d\134e"), "/a b\tc\nd\\e");
        // Not an escape, or not ASCII: kept as written.
        assert_eq!(unescape(r"/x\09"), r"/x\09");
        assert_eq!(unescape(r"/x\089"), r"/x\089");
        assert_eq!(unescape(r"/x\377"), r"/x\377");
        assert_eq!(unescape("/x\\"), "/x\\");
        assert_eq!(unescape("/é\\040é"), "/é é");
        assert_eq!(unescape("\\\\040"), "\\ ");
    }

    #[test]
    fn mount_point_exclusion_follows_the_regex() {
        for excluded in [
            "/dev",
            "/dev/shm",
            "/proc",
            "/proc/sys/fs/binfmt_misc",
            "/sys",
            "/sys/fs/cgroup",
            "/run/credentials/x",
            "/run/credentials//",
            "/var/lib/docker/overlay2/abc/merged",
            "/var/lib/containers/storage/overlay",
            "/var/lib/docker/a/b\nc",
        ] {
            assert!(is_excluded_mount_point(excluded), "{excluded:?}");
        }
        for kept in [
            "/",
            "/devices",
            "/device/x",
            "/home/dev",
            "dev",
            "/run",
            "/run/credentials",
            "/run/credentials/",
            "/var/lib/docker",
            "/var/lib/docker/",
            "/var/lib/dockerd",
            "/var/lib/containers/storage",
            "/var/lib/docker/a\nb",
            "/var/lib/docker/\nb/",
        ] {
            assert!(!is_excluded_mount_point(kept), "{kept:?}");
        }
    }

    #[test]
    fn fs_type_exclusion_is_whole_word() {
        assert!(is_excluded_fs_type("cgroup"));
        assert!(is_excluded_fs_type("cgroup2"));
        assert!(is_excluded_fs_type("overlay"));
        assert!(!is_excluded_fs_type("cgroup3"));
        assert!(!is_excluded_fs_type("ext4"));
        assert!(!is_excluded_fs_type("tmpfs"));
        assert!(!is_excluded_fs_type("fuse.sshfs"));
        assert!(!is_excluded_fs_type("Overlay"));
    }
}
