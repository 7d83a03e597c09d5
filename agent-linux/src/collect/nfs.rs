//! The NFS client's RPC statistics, `/proc/net/rpc/nfs`, as node_exporter's nfs collector reads
//! them (through procfs 0.8): packets and connections, RPCs, and each procedure's calls by
//! protocol version (`node_nfs_requests_total{proto="4",method="Read"}`), the methods named as
//! procfs' Go fields are.
//!
//! procfs' parser fails the whole file, and node_exporter then gives no `node_nfs_*` series, on
//! a line it does not know, a line of one word, a number that is not unsigned 64-bit, or a line
//! with another count of numbers than it expects. A version the file lacks (most kernels no
//! longer print NFSv2's) has its procedures at 0.

use std::path::{Path, PathBuf};

use agent_core::catalogue::{Series, f};

use super::families::Families;
use super::read::{parse_uint, read_text};

/// NFSv2's procedures, in the order of the `proc2` line.
const V2: [&str; 18] = [
    "Null", "GetAttr", "SetAttr", "Root", "Lookup", "ReadLink", "Read", "WrCache", "Write",
    "Create", "Remove", "Rename", "Link", "SymLink", "MkDir", "RmDir", "ReadDir", "FsStat",
];

/// NFSv3's, in the order of the `proc3` line.
const V3: [&str; 22] = [
    "Null",
    "GetAttr",
    "SetAttr",
    "Lookup",
    "Access",
    "ReadLink",
    "Read",
    "Write",
    "Create",
    "MkDir",
    "SymLink",
    "MkNod",
    "Remove",
    "RmDir",
    "Rename",
    "Link",
    "ReadDir",
    "ReadDirPlus",
    "FsStat",
    "FsInfo",
    "PathConf",
    "Commit",
];

/// NFSv4's client operations, in the order of the `proc4` line.
const V4: [&str; 59] = [
    "Null",
    "Read",
    "Write",
    "Commit",
    "Open",
    "OpenConfirm",
    "OpenNoattr",
    "OpenDowngrade",
    "Close",
    "Setattr",
    "FsInfo",
    "Renew",
    "SetClientID",
    "SetClientIDConfirm",
    "Lock",
    "Lockt",
    "Locku",
    "Access",
    "Getattr",
    "Lookup",
    "LookupRoot",
    "Remove",
    "Rename",
    "Link",
    "Symlink",
    "Create",
    "Pathconf",
    "StatFs",
    "ReadLink",
    "ReadDir",
    "ServerCaps",
    "DelegReturn",
    "GetACL",
    "SetACL",
    "FsLocations",
    "ReleaseLockowner",
    "Secinfo",
    "FsidPresent",
    "ExchangeID",
    "CreateSession",
    "DestroySession",
    "Sequence",
    "GetLeaseTime",
    "ReclaimComplete",
    "LayoutGet",
    "GetDeviceInfo",
    "LayoutCommit",
    "LayoutReturn",
    "SecinfoNoName",
    "TestStateID",
    "FreeStateID",
    "GetDeviceList",
    "BindConnToSession",
    "DestroyClientID",
    "Seek",
    "Allocate",
    "DeAllocate",
    "LayoutStats",
    "Clone",
];

/// What the file says: `net`'s four numbers, `rpc`'s three, and each version's procedures.
#[derive(Debug, Clone, PartialEq)]
struct Stats {
    net: [u64; 4],
    rpc: [u64; 3],
    v2: [u64; 18],
    v3: [u64; 22],
    v4: [u64; 59],
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            net: [0; 4],
            rpc: [0; 3],
            v2: [0; 18],
            v3: [0; 22],
            v4: [0; 59],
        }
    }
}

#[derive(Debug)]
pub(super) struct NfsCollector {
    /// `proc/net/rpc/nfs` under the root.
    path: PathBuf,
    buf: Vec<u8>,
    stats: Option<Stats>,
}

impl NfsCollector {
    pub(super) fn new(root: &Path) -> Self {
        Self {
            path: root.join("proc/net/rpc/nfs"),
            buf: Vec::new(),
            stats: None,
        }
    }
}

impl Families for NfsCollector {
    fn collect(&mut self) {
        self.stats = read_text(&mut self.buf, &self.path).and_then(|text| parse(&text));
    }

    fn series(&self, out: &mut dyn Series) {
        let Some(s) = &self.stats else {
            return;
        };
        let [_, udp, tcp, connections] = s.net;
        out.add(f::NFS_PACKETS, &["udp"], udp as f64);
        out.add(f::NFS_PACKETS, &["tcp"], tcp as f64);
        out.add(f::NFS_CONNECTIONS, &[], connections as f64);
        let [rpcs, retransmissions, refreshes] = s.rpc;
        out.add(f::NFS_RPCS, &[], rpcs as f64);
        out.add(f::NFS_RPC_RETRANSMISSIONS, &[], retransmissions as f64);
        out.add(f::NFS_RPC_AUTHENTICATION_REFRESHES, &[], refreshes as f64);
        let versions: [(&str, &[&str], &[u64]); 3] =
            [("2", &V2, &s.v2), ("3", &V3, &s.v3), ("4", &V4, &s.v4)];
        for (proto, methods, counts) in versions {
            for (method, &count) in methods.iter().zip(counts) {
                out.add(f::NFS_REQUESTS, &[proto, method], count as f64);
            }
        }
    }
}

/// procfs' `ParseClientRPCStats`.
fn parse(text: &str) -> Option<Stats> {
    let mut stats = Stats::default();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let name = parts.next()?;
        let values: Vec<u64> = parts
            .map(|n| parse_uint(n.as_bytes()))
            .collect::<Option<_>>()?;
        let (&count, procedures) = values.split_first()?;
        match name {
            "net" => stats.net = values.as_slice().try_into().ok()?,
            "rpc" => stats.rpc = values.as_slice().try_into().ok()?,
            // The count first, then that many numbers; at least as many as procfs names.
            "proc2" if fits(count, procedures, V2.len()) => {
                stats.v2.copy_from_slice(&procedures[..V2.len()])
            }
            "proc3" if fits(count, procedures, V3.len()) => {
                stats.v3.copy_from_slice(&procedures[..V3.len()])
            }
            // Fewer than procfs names are padded with zeros.
            "proc4" if procedures.len() as u64 == count => {
                stats.v4 = [0; 59];
                for (slot, &n) in stats.v4.iter_mut().zip(procedures) {
                    *slot = n;
                }
            }
            _ => return None,
        }
    }
    Some(stats)
}

/// Whether a `proc2` or `proc3` line says how many numbers follow, and that is at least `least`.
fn fits(count: u64, procedures: &[u64], least: usize) -> bool {
    procedures.len() as u64 == count && procedures.len() >= least
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "net 18628 0 18628 6\nrpc 4329785 0 4338291\n\
                        proc3 22 1 4084749 29200 94754 32580 186 47747 7981 8639 0 6356 0 6962 0 7958 0 0 241 4 4 2 39\n\
                        proc4 3 0 1 2\n";

    #[test]
    fn numbers_land_where_procfs_puts_them() {
        let s = parse(FILE).unwrap();
        assert_eq!(s.net, [18628, 0, 18628, 6]);
        assert_eq!(s.v2, [0; 18]);
        assert_eq!(s.v3[1], 4_084_749);
        assert_eq!(s.v3[21], 39);
        // A short proc4 line: the rest are 0.
        assert_eq!(&s.v4[..4], &[0, 1, 2, 0]);
    }

    #[test]
    fn what_procfs_refuses_gives_nothing() {
        for bad in [
            "net 1 2 3\n",
            "rpc 1 2 3 4\n",
            "proc3 2 1 2\n",
            "proc3 23 1 2\n",
            "proc4 3 1 2\n",
            "fh 1 2\n",
            "net\n",
            "\n",
            "rpc 1 -2 3\n",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
