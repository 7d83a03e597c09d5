//! Network devices, `/proc/net/dev` and `/sys/class/net/<device>/operstate`, as
//! node_exporter's netdev collector and `node_network_up` report them.

use std::path::{Path, PathBuf};

use agent_core::sample::{Interface, Sample, bounded, push_or_count};

use super::labels::Notes;
use super::read::{join_into, read_text};

/// Reads each interface's counters and whether it is up.
#[derive(Debug)]
pub(super) struct NetdevCollector {
    /// `proc/net/dev` under the root.
    net_dev: PathBuf,
    /// `sys/class/net` under the root, where each interface's `operstate` is.
    net_class: PathBuf,
    /// Builds the path of an interface's `operstate`, reusing its allocation.
    scratch: PathBuf,
    /// Holds `/proc/net/dev` while it is parsed; reused so a sample allocates nothing here.
    buf: Vec<u8>,
    /// Holds an `operstate` file, read while `buf` is being parsed.
    small: Vec<u8>,
}

impl NetdevCollector {
    /// Reads `proc/net/dev` and `sys/class/net` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            net_dev: root.join("proc/net/dev"),
            net_class: root.join("sys/class/net"),
            scratch: PathBuf::new(),
            buf: Vec::new(),
            small: Vec::new(),
        }
    }

    /// Adds each interface of `/proc/net/dev` to [`Sample::interfaces`], with `up` from its
    /// `operstate` as `node_network_up` has it: the state is exactly `up` (loopback's is
    /// `unknown`). Notes in `notes` the interfaces the server would refuse.
    pub(super) fn collect(&mut self, sample: &mut Sample, notes: &mut Notes) {
        let Some(text) = read_text(&mut self.buf, &self.net_dev) else {
            return;
        };
        for mut interface in parse_net_dev(&text) {
            let name = interface.device.as_str();
            let taken = sample.interfaces.iter().any(|i| i.device == name);
            if !notes.admit("interface", &[("device", name)], taken) {
                continue;
            }
            // A name is one path component; anything else is not looked up.
            if !(name.contains('/') || name == "." || name == "..") {
                join_into(&mut self.scratch, &self.net_class, &[name, "operstate"]);
                interface.up = read_text(&mut self.small, &self.scratch)
                    .is_some_and(|state| state.trim_end() == "up");
            }
            push_or_count(
                &mut sample.interfaces,
                interface,
                &mut sample.omitted.interfaces,
            );
        }
    }
}

/// The interfaces of `/proc/net/dev`, in file order, with `up` false (it comes from sysfs).
fn parse_net_dev(text: &str) -> impl Iterator<Item = Interface> + '_ {
    text.lines().filter_map(parse_net_dev_line)
}

/// One `  eth0: rx_bytes rx_packets rx_errs rx_drop fifo frame compressed multicast tx_bytes
/// tx_packets tx_errs tx_drop fifo colls carrier compressed` line.
///
/// The name ends at the last `:` (old kernels print no space after it). All sixteen counters
/// must be numbers, or the line is skipped: a short line is more likely cut than shifted.
fn parse_net_dev_line(line: &str) -> Option<Interface> {
    let (name, counters) = line.rsplit_once(':')?;
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    let mut values = [0_u64; 16];
    let mut fields = counters.split_ascii_whitespace();
    for slot in &mut values {
        *slot = fields.next()?.parse().ok()?;
    }
    let [
        rx_bytes,
        rx_packets,
        rx_errs,
        rx_drop,
        _,
        _,
        _,
        _,
        tx_bytes,
        tx_packets,
        tx_errs,
        tx_drop,
        ..,
    ] = values;
    Some(Interface {
        device: bounded(name),
        up: false,
        rx_bytes,
        rx_packets,
        rx_errs,
        rx_drop,
        tx_bytes,
        tx_packets,
        tx_errs,
        tx_drop,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/proc/net/dev` with its two header lines, a loopback and two NICs; `wlan0` is printed
    /// the way kernels before 3.x did, with no space after the colon.
    const PROC_NET_DEV: &str = include_str!("fixtures/netdev/proc/net/dev");

    #[test]
    fn net_dev() {
        let interfaces: Vec<Interface> = parse_net_dev(PROC_NET_DEV).collect();
        assert_eq!(interfaces.len(), 3);
        assert_eq!(interfaces[0].device.as_str(), "lo");
        assert_eq!(
            interfaces[1],
            Interface {
                device: bounded("eth0"),
                up: false,
                rx_bytes: 90_111_144,
                rx_packets: 3454,
                rx_errs: 1,
                rx_drop: 2,
                tx_bytes: 194_220,
                tx_packets: 1974,
                tx_errs: 3,
                tx_drop: 4,
            }
        );
        assert_eq!(interfaces[2].device.as_str(), "wlan0");
        assert_eq!(interfaces[2].rx_bytes, u64::MAX);
        assert_eq!((interfaces[2].tx_bytes, interfaces[2].tx_packets), (6, 7));
    }

    #[test]
    fn net_dev_malformed_lines_are_skipped() {
        for line in [
            "eth0: 1 2 3",
            "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x",
            ": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
            "et h0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
            "eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
            "eth0: -1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
        ] {
            assert_eq!(parse_net_dev_line(line), None, "{line:?}");
        }
    }
}
