//! Filesystems, as node_exporter 1.5's filesystem collector reports them: the mounts it
//! chooses ([`mounts`]) with their `statvfs` ([`statfs`], which a hung network filesystem
//! cannot stop).
//!
//! A mount whose `statvfs` answers goes into the [`Sample`]; one whose call fails or does not
//! answer in time is kept aside, for `node_filesystem_device_error`, which only v2 carries:
//! node_exporter lists such a mount with that at 1 and no other series.

pub(super) mod mounts;
mod statfs;

use std::ops::Range;
use std::path::{Path, PathBuf};

use agent_core::catalogue::{Series, f};
use agent_core::sample::{Filesystem, MAX_FILESYSTEMS, Name, Path as PathText, Sample};
use agent_core::sample::{bounded, push_or_count};

use super::labels::Notes;
use super::proc_file::ProcFile;
use super::read::join_into;

/// Reads the mounts and the size and inodes of each.
#[derive(Debug)]
pub(super) struct FilesystemCollector {
    /// Where mount points are looked up under: `/` on a live system.
    root: PathBuf,
    /// `root` as text, which mount points under it are reported without (see
    /// [`mounts::parse_line`]).
    root_text: String,
    /// `proc/1/mounts` under the root, read first.
    init_mounts: ProcFile,
    /// `proc/mounts` under the root, read when `init_mounts` cannot be.
    mounts: ProcFile,
    /// The `statvfs` calls of earlier samples that have not returned.
    statfs: statfs::Watch,
    /// The byte ranges of the selected lines of the mounts file.
    mount_lines: Vec<Range<usize>>,
    /// Mount points whose `statvfs` may hang, and where their results go.
    slow_mounts: (Vec<PathBuf>, Vec<usize>),
    /// Builds the path of a mount point under the root, reusing its allocation.
    scratch: PathBuf,
    /// Holds the mounts file while it is parsed; reused so a sample allocates little.
    buf: Vec<u8>,
    /// The mounts of the last sample whose `statvfs` failed or did not answer in time, at
    /// most [`MAX_FILESYSTEMS`] as in the sample.
    failed: Vec<Failed>,
}

/// The labels of a mount whose `statvfs` gave nothing.
#[derive(Debug)]
struct Failed {
    device: PathText,
    fstype: Name,
    mountpoint: PathText,
}

impl FilesystemCollector {
    /// Reads the mounts under `root`, and calls `statvfs` on `<root>/<mount point>`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
            root_text: root.to_string_lossy().into_owned(),
            init_mounts: ProcFile::with_long_lines(root.join("proc/1/mounts")),
            mounts: ProcFile::with_long_lines(root.join("proc/mounts")),
            statfs: statfs::Watch::default(),
            mount_lines: Vec::new(),
            slow_mounts: (Vec::new(), Vec::new()),
            scratch: PathBuf::new(),
            buf: Vec::new(),
            failed: Vec::new(),
        }
    }

    /// Adds to [`Sample::filesystems`] the mounts of `/proc/1/mounts` (or `/proc/mounts`) that
    /// node_exporter reports, with their `statvfs`, noting in `notes` those the server would
    /// refuse. A mount whose `statvfs` fails or does not answer in time is kept for
    /// [`series`](FilesystemCollector::series) instead.
    pub(super) fn collect(&mut self, sample: &mut Sample, notes: &mut Notes) {
        self.failed.clear();
        // Init's mount namespace is the host's when the agent runs in a container with the
        // host's /proc; node_exporter reads it first for the same reason. Reading it can be
        // refused (hidepid, no ptrace access), hence the fallback.
        let text = match self.init_mounts.read(&mut self.buf) {
            Some(text) => text,
            None => match self.mounts.read(&mut self.buf) {
                Some(text) => text,
                None => return,
            },
        };
        mounts::select_lines(&text, &self.root_text, &mut self.mount_lines);
        // Local filesystems are asked in this thread; the ones that may hang all at once, each
        // in a thread of its own, under one deadline.
        let (slow_paths, slow_at) = &mut self.slow_mounts;
        slow_paths.clear();
        slow_at.clear();
        for (index, range) in self.mount_lines.iter().enumerate() {
            let Some(mount) = text
                .get(range.clone())
                .and_then(|line| mounts::parse_line(line, &self.root_text))
            else {
                continue;
            };
            if statfs::may_hang(mount.fstype) {
                slow_paths.push(self.root.join(mount.mountpoint.trim_start_matches('/')));
                slow_at.push(index);
            }
        }
        let slow = if slow_paths.is_empty() {
            Vec::new()
        } else {
            self.statfs.usage(slow_paths, statfs::TIMEOUT)
        };
        for (index, range) in self.mount_lines.iter().enumerate() {
            let Some(mount) = text
                .get(range.clone())
                .and_then(|line| mounts::parse_line(line, &self.root_text))
            else {
                continue;
            };
            let (device, fstype, mountpoint) = (
                bounded(mount.device),
                bounded(mount.fstype),
                bounded(&mount.mountpoint),
            );
            // Two mount points cut to the same length, say, would be one series twice.
            let same =
                |d: &PathText, t: &Name, m: &PathText| (d, t, m) == (&device, &fstype, &mountpoint);
            let taken = sample
                .filesystems
                .iter()
                .any(|f| same(&f.device, &f.fstype, &f.mountpoint))
                || self
                    .failed
                    .iter()
                    .any(|f| same(&f.device, &f.fstype, &f.mountpoint));
            let labels = [
                ("device", device.as_str()),
                ("fstype", fstype.as_str()),
                ("mountpoint", mountpoint.as_str()),
            ];
            if !notes.admit("filesystem", &labels, taken) {
                continue;
            }
            let usage = match slow_at.iter().position(|&i| i == index) {
                Some(at) => slow.get(at).copied().flatten(),
                None => {
                    join_into(
                        &mut self.scratch,
                        &self.root,
                        &[mount.mountpoint.trim_start_matches('/')],
                    );
                    statfs::usage_now(&self.scratch)
                }
            };
            let Some(usage) = usage else {
                if self.failed.len() < MAX_FILESYSTEMS {
                    self.failed.push(Failed {
                        device,
                        fstype,
                        mountpoint,
                    });
                } else {
                    sample.omitted.filesystems = sample.omitted.filesystems.saturating_add(1);
                }
                continue;
            };
            let filesystem = Filesystem {
                device,
                fstype,
                mountpoint,
                size: usage.size,
                free: usage.free,
                avail: usage.avail,
                files: usage.files,
                files_free: usage.files_free,
                readonly: mount.readonly,
            };
            push_or_count(
                &mut sample.filesystems,
                filesystem,
                &mut sample.omitted.filesystems,
            );
        }
    }

    /// `node_filesystem_device_error` of each mount of `sample` (what the last
    /// [`collect`](FilesystemCollector::collect) returned), 0, and of each whose `statvfs`
    /// gave nothing, 1.
    pub(super) fn series(&self, sample: &Sample, out: &mut dyn Series) {
        out.section("filesystem errors");
        let listed = sample
            .filesystems
            .iter()
            .map(|f| (&f.device, &f.fstype, &f.mountpoint, 0.0));
        let failed = self
            .failed
            .iter()
            .map(|f| (&f.device, &f.fstype, &f.mountpoint, 1.0));
        for (device, fstype, mountpoint, error) in listed.chain(failed) {
            let labels = [device.as_str(), fstype.as_str(), mountpoint.as_str()];
            for label in labels {
                out.identity(label);
            }
            out.add(f::FS_DEVICE_ERROR, &labels, error);
        }
    }
}
