//! `statvfs(2)` that cannot hang the agent.
//!
//! A `statvfs` on a hard NFS mount whose server is gone, or on a wedged FUSE filesystem, blocks
//! in the kernel and cannot be interrupted. node_exporter runs it with a watcher that, after
//! five seconds, marks the mount point stuck and skips it until the call returns. This does the
//! same with a thread per call, all of a sample's calls in parallel under one deadline, so a
//! sample costs at most [`TIMEOUT`] however many mounts hang, and a mount that hung costs
//! nothing more until its thread returns.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// How long one sample waits for all of its `statvfs` calls. A local filesystem answers in
/// microseconds and a healthy network one in milliseconds.
pub(super) const TIMEOUT: Duration = Duration::from_secs(1);

/// Stack of a `statvfs` thread: the call needs a few hundred bytes.
const STACK_SIZE: usize = 64 * 1024;

/// Whether a `statvfs` on a filesystem of this type can block for long: network and FUSE
/// filesystems wait for a server or a daemon. Only those go through a [`Watch`]; a local
/// filesystem answers from the kernel's memory, so the agent asks it directly and spends no
/// thread on it.
pub(super) fn may_hang(fstype: &str) -> bool {
    fstype.starts_with("fuse")
        || matches!(
            fstype,
            "nfs"
                | "nfs4"
                | "cifs"
                | "smb3"
                | "smbfs"
                | "ncpfs"
                | "ceph"
                | "glusterfs"
                | "9p"
                | "afs"
                | "lustre"
                | "gpfs"
                | "beegfs"
                | "sshfs"
                | "davfs"
                | "virtiofs"
        )
}

/// `statvfs` of a local filesystem, in the calling thread.
pub(super) fn usage_now(path: &std::path::Path) -> Option<Usage> {
    rustix::fs::statvfs(path).ok().map(Usage::from)
}

/// What node_exporter reports of a `statfs`, in bytes and inodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Usage {
    pub size: u64,
    pub free: u64,
    pub avail: u64,
    pub files: u64,
    pub files_free: u64,
}

impl From<rustix::fs::StatVfs> for Usage {
    /// Blocks are counted in `f_bsize` as node_exporter does (`Blocks * Bsize` of Go's
    /// `Statfs_t`): rustix's `statvfs` on Linux is `statfs` with `f_bsize` copied as is. `df`
    /// counts in `f_frsize`, which Linux sets to `f_bsize` unless a filesystem says otherwise.
    fn from(stat: rustix::fs::StatVfs) -> Self {
        Self {
            size: stat.f_blocks.saturating_mul(stat.f_bsize),
            free: stat.f_bfree.saturating_mul(stat.f_bsize),
            avail: stat.f_bavail.saturating_mul(stat.f_bsize),
            files: stat.f_files,
            files_free: stat.f_ffree,
        }
    }
}

/// Runs `statvfs` calls under a deadline and remembers the paths whose call has not returned.
#[derive(Debug, Default)]
pub(super) struct Watch {
    /// Paths with a `statvfs` thread still running. A path is inserted before its thread starts
    /// and removed by the thread when the call returns, so a later sample skips it meanwhile.
    in_flight: Arc<Mutex<HashSet<PathBuf>>>,
}

impl Watch {
    /// `statvfs` of each path, in order; `None` where the call failed, did not return within
    /// `timeout`, or a call from an earlier sample on the same path is still blocked.
    pub(super) fn usage(&self, paths: &[PathBuf], timeout: Duration) -> Vec<Option<Usage>> {
        let mut usages = vec![None; paths.len()];
        let (sender, receiver) = mpsc::channel();
        let mut pending = 0_usize;
        for (index, path) in paths.iter().enumerate() {
            if !lock(&self.in_flight).insert(path.clone()) {
                continue;
            }
            let sender = sender.clone();
            let in_flight = Arc::clone(&self.in_flight);
            let owned = path.clone();
            let spawned = thread::Builder::new()
                .name("statvfs".into())
                .stack_size(STACK_SIZE)
                .spawn(move || {
                    let usage = rustix::fs::statvfs(&owned).ok().map(Usage::from);
                    // The receiver is gone when the sample gave up waiting: nothing to do.
                    let _ = sender.send((index, usage));
                    lock(&in_flight).remove(&owned);
                });
            match spawned {
                Ok(_) => pending += 1,
                Err(_) => {
                    lock(&self.in_flight).remove(path);
                }
            }
        }
        drop(sender);

        let deadline = Instant::now() + timeout;
        while pending > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok((index, usage)) = receiver.recv_timeout(left) else {
                break;
            };
            if let Some(slot) = usages.get_mut(index) {
                *slot = usage;
            }
            pending -= 1;
        }
        usages
    }
}

/// The set is only ever inserted into and removed from, so a panic elsewhere cannot leave it
/// half-updated: a poisoned lock is safe to use.
fn lock(set: &Mutex<HashSet<PathBuf>>) -> MutexGuard<'_, HashSet<PathBuf>> {
    set.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_of_a_directory_and_of_a_missing_path() {
        let watch = Watch::default();
        let paths = [
            std::env::temp_dir(),
            PathBuf::from("/nonexistent/vitals/statfs"),
        ];
        let usages = watch.usage(&paths, TIMEOUT);
        let tmp = usages[0].expect("statvfs of the temp dir");
        assert!(tmp.size > 0 && tmp.free <= tmp.size && tmp.avail <= tmp.free);
        assert_eq!(usages[1], None);
    }

    #[test]
    fn a_path_still_in_flight_is_skipped() {
        let watch = Watch::default();
        let stuck = std::env::temp_dir();
        lock(&watch.in_flight).insert(stuck.clone());
        assert_eq!(watch.usage(std::slice::from_ref(&stuck), TIMEOUT), [None]);
        lock(&watch.in_flight).remove(&stuck);
        assert!(watch.usage(&[stuck], TIMEOUT)[0].is_some());
    }

    #[test]
    fn network_and_fuse_filesystems_may_hang_local_ones_do_not() {
        for t in ["nfs", "nfs4", "cifs", "fuse.sshfs", "fuseblk", "9p"] {
            assert!(may_hang(t), "{t}");
        }
        for t in ["ext4", "xfs", "btrfs", "vfat", "tmpfs", "zfs", "f2fs"] {
            assert!(!may_hang(t), "{t}");
        }
        assert!(usage_now(&std::env::temp_dir()).is_some());
    }

    #[test]
    fn usage_is_blocks_times_bsize() {
        let stat = rustix::fs::StatVfs {
            f_bsize: 4096,
            f_frsize: 4096,
            f_blocks: 1000,
            f_bfree: 300,
            f_bavail: 250,
            f_files: 64,
            f_ffree: 60,
            f_favail: 60,
            f_fsid: 0,
            f_flag: rustix::fs::StatVfsMountFlags::empty(),
            f_namemax: 255,
        };
        assert_eq!(
            Usage::from(stat),
            Usage {
                size: 4_096_000,
                free: 1_228_800,
                avail: 1_024_000,
                files: 64,
                files_free: 60,
            }
        );
    }
}
