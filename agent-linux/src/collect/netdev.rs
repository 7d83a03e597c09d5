//! Network devices, `/proc/net/dev` and `/sys/class/net/<device>/`, as node_exporter's netdev
//! collector and `node_network_up` report them.
//!
//! The file is read once a sample. The counters a v1 [`Interface`] has room for go into
//! [`Sample::interfaces`]; the other eight columns, and `statistics/rx_nohandler` from sysfs,
//! are kept for [`NetdevCollector::series`], which only a v2 agent sends.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use agent_core::catalogue::{Series, f};
use agent_core::sample::{Interface, MAX_INTERFACES, Name, Sample, bounded, push_or_count};
use rustix::fs::{AtFlags, CWD, Mode, OFlags, openat, statat};

use super::labels::Notes;
use super::proc_file::ProcFile;

/// The families of the columns of `/proc/net/dev` that [`Interface`] has no room for, in the
/// line's order: receive `fifo frame compressed multicast`, transmit `fifo colls carrier
/// compressed`. The kernel prints the sums node_exporter 1.5 makes of its netlink statistics
/// (`frame` is the length, overrun, CRC and frame errors; `carrier` the carrier, aborted,
/// window and heartbeat errors), so the file gives its numbers.
const MORE: [u16; 8] = [
    f::NET_RX_FIFO,
    f::NET_RX_FRAME,
    f::NET_RX_COMPRESSED,
    f::NET_RX_MULTICAST,
    f::NET_TX_FIFO,
    f::NET_TX_COLLS,
    f::NET_TX_CARRIER,
    f::NET_TX_COMPRESSED,
];

/// What a v2 agent sends of an interface besides its [`Interface`].
#[derive(Debug)]
struct More {
    /// The interface's name, as in its [`Interface`].
    device: Name,
    /// The counters of [`MORE`]'s columns, in its order.
    columns: [u64; MORE.len()],
    /// `statistics/rx_nohandler`: packets dropped for want of a protocol handler. node_exporter
    /// 1.5 has it from netlink; `/proc/net/dev` has no such column. 0 when the file is missing,
    /// as netlink gives it before Linux 4.6.
    nohandler: u64,
}

/// Reads each interface's counters and whether it is up.
#[derive(Debug)]
pub(super) struct NetdevCollector {
    /// `proc/net/dev` under the root.
    net_dev: ProcFile,
    /// `sys/class/net` under the root, where each interface's `operstate` is.
    net_class: PathBuf,
    /// That directory, opened once; `None` until it opens (it is tried again each sample).
    class: Option<OwnedFd>,
    /// The sysfs files of the interfaces of the last sample, kept open.
    sysfs: Vec<SysfsFiles>,
    /// Holds `/proc/net/dev` while it is parsed; reused so a sample allocates nothing here.
    buf: Vec<u8>,
    /// Holds a sysfs file, read while `buf` is being parsed.
    small: Vec<u8>,
    /// The rest of each interface of the last sample, in [`Sample::interfaces`]' order: as
    /// many fit as there, so those left out of the sample are left out here too.
    more: heapless::Vec<More, MAX_INTERFACES>,
}

impl NetdevCollector {
    /// Reads `proc/net/dev` and `sys/class/net` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            net_dev: ProcFile::new(root.join("proc/net/dev")),
            net_class: root.join("sys/class/net"),
            class: None,
            sysfs: Vec::new(),
            buf: Vec::new(),
            small: Vec::new(),
            more: heapless::Vec::new(),
        }
    }

    /// Adds each interface of `/proc/net/dev` to [`Sample::interfaces`], with `up` from its
    /// `operstate` as `node_network_up` has it: the state is exactly `up` (loopback's is
    /// `unknown`). Notes in `notes` the interfaces the server would refuse. Keeps the rest of
    /// each for [`series`](NetdevCollector::series).
    pub(super) fn collect(&mut self, sample: &mut Sample, notes: &mut Notes) {
        self.more.clear();
        let Some(text) = self.net_dev.read(&mut self.buf) else {
            return;
        };
        if self.class.is_none() {
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            self.class = openat(CWD, &self.net_class, flags, Mode::empty()).ok();
        }
        for files in &mut self.sysfs {
            files.seen = false;
        }
        for (mut interface, columns) in parse_net_dev(&text) {
            let name = interface.device.as_str();
            let taken = sample.interfaces.iter().any(|i| i.device == name);
            if !notes.admit("interface", &[("device", name)], taken) {
                continue;
            }
            let mut nohandler = 0;
            // A name is one path component; anything else is not looked up.
            let files = (self.class.as_ref())
                .filter(|_| !(name.contains('/') || name == "." || name == ".."))
                .and_then(|class| SysfsFiles::of(&mut self.sysfs, class, &self.net_class, name));
            if let Some(files) = files {
                interface.up = (files.operstate.read(&mut self.small))
                    .is_some_and(|state| state.trim_end() == "up");
                nohandler = (files.nohandler.read(&mut self.small))
                    .and_then(|text| text.trim_end().parse().ok())
                    .unwrap_or(0);
            }
            let more = More {
                device: interface.device.clone(),
                columns,
                nohandler,
            };
            let held = sample.interfaces.len();
            push_or_count(
                &mut sample.interfaces,
                interface,
                &mut sample.omitted.interfaces,
            );
            if sample.interfaces.len() > held {
                // `more` holds as many as the sample: this fits whenever that did.
                let _ = self.more.push(more);
            }
        }
        self.sysfs.retain(|files| files.seen);
    }

    /// The series of the columns besides [`Sample::interfaces`]' that the last
    /// [`collect`](NetdevCollector::collect) read: for each interface of the sample, those of
    /// [`MORE`] in its order, then `receive_nohandler`.
    pub(super) fn series(&self, out: &mut dyn Series) {
        out.section("netdev");
        for more in &self.more {
            let labels = [more.device.as_str()];
            out.identity(&more.device);
            for (&family, value) in MORE.iter().zip(more.columns) {
                out.add(family, &labels, value as f64);
            }
            out.add(f::NET_RX_NOHANDLER, &labels, more.nohandler as f64);
        }
    }
}

/// An interface's `operstate` and `statistics/rx_nohandler`, kept open while the entry of its
/// name in the class directory stays the same one (its inode): a name given to another device
/// (one renamed to it, or removed and added again) is another entry, whose files are opened
/// anew, as netclass does. Opening them every sample, through the entry's symbolic link, was
/// 13% of the agent's CPU (collect + series in a loop, with and without those reads).
#[derive(Debug)]
struct SysfsFiles {
    /// The interface's name.
    name: String,
    /// The inode of the entry of `name` in the class directory when the files were opened.
    ino: u64,
    /// `operstate`, for [`Interface::up`].
    operstate: ProcFile,
    /// `statistics/rx_nohandler`, for [`More::nohandler`].
    nohandler: ProcFile,
    /// Whether this sample had the interface; those it had not are dropped after it.
    seen: bool,
}

impl SysfsFiles {
    /// The files of the interface `name` in `kept`, added or opened anew if its entry in
    /// `class` (the directory at `path`) is not the one they were opened for; `None` if it
    /// has no entry.
    fn of<'k>(
        kept: &'k mut Vec<SysfsFiles>,
        class: &OwnedFd,
        path: &Path,
        name: &str,
    ) -> Option<&'k mut SysfsFiles> {
        let ino = statat(class, name, AtFlags::SYMLINK_NOFOLLOW).ok()?.st_ino;
        let at = match kept.iter().position(|files| files.name == name) {
            Some(at) => at,
            None => {
                kept.push(SysfsFiles::new(path, name, ino));
                kept.len() - 1
            }
        };
        let files = kept.get_mut(at)?;
        if files.ino != ino {
            *files = SysfsFiles::new(path, name, ino);
        }
        files.seen = true;
        Some(files)
    }

    fn new(path: &Path, name: &str, ino: u64) -> Self {
        let dir = path.join(name);
        Self {
            name: name.to_owned(),
            ino,
            operstate: ProcFile::new(dir.join("operstate")),
            nohandler: ProcFile::new(dir.join("statistics/rx_nohandler")),
            seen: true,
        }
    }
}

/// The interfaces of `/proc/net/dev`, in file order, with `up` false (it comes from sysfs), and
/// each one's counters of [`MORE`]'s columns.
fn parse_net_dev(text: &str) -> impl Iterator<Item = (Interface, [u64; MORE.len()])> + '_ {
    text.lines().filter_map(parse_net_dev_line)
}

/// One `  eth0: rx_bytes rx_packets rx_errs rx_drop fifo frame compressed multicast tx_bytes
/// tx_packets tx_errs tx_drop fifo colls carrier compressed` line.
///
/// The name ends at the last `:` (old kernels print no space after it). All sixteen counters
/// must be numbers, or the line is skipped: a short line is more likely cut than shifted.
fn parse_net_dev_line(line: &str) -> Option<(Interface, [u64; MORE.len()])> {
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
        rx_fifo,
        rx_frame,
        rx_compressed,
        rx_multicast,
        tx_bytes,
        tx_packets,
        tx_errs,
        tx_drop,
        tx_fifo,
        tx_colls,
        tx_carrier,
        tx_compressed,
    ] = values;
    let interface = Interface {
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
    };
    let more = [
        rx_fifo,
        rx_frame,
        rx_compressed,
        rx_multicast,
        tx_fifo,
        tx_colls,
        tx_carrier,
        tx_compressed,
    ];
    Some((interface, more))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// `fixtures/netdev`: `/proc/net/dev` with its two header lines, a loopback, a NIC with
    /// errors in every column, this machine's idle `docker0`, and `wlan0` printed the way
    /// kernels before 3.x did, with no space after the colon. In sysfs, `eth0` has dropped 11
    /// packets for want of a handler, `wlan0`'s count is garbage and `lo` has no directory.
    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/netdev")
    }

    #[test]
    fn net_dev() {
        let text = fs::read_to_string(fixture().join("proc/net/dev")).unwrap();
        let interfaces: Vec<(Interface, [u64; 8])> = parse_net_dev(&text).collect();
        assert_eq!(interfaces.len(), 4);
        assert_eq!(interfaces[0].0.device.as_str(), "lo");
        assert_eq!(
            interfaces[1],
            (
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
                },
                [5, 6, 0, 7, 8, 9, 10, 0]
            )
        );
        assert_eq!(interfaces[3].0.device.as_str(), "wlan0");
        assert_eq!(interfaces[3].0.rx_bytes, u64::MAX);
        assert_eq!(
            (interfaces[3].0.tx_bytes, interfaces[3].0.tx_packets),
            (6, 7)
        );
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

    /// The series of one interface besides the sample's, by family name, in their order.
    fn more_of(
        series: &[(&'static str, Vec<String>, f64)],
        device: &str,
    ) -> Vec<(&'static str, f64)> {
        series
            .iter()
            .filter(|(_, labels, _)| labels == &[device])
            .map(|(name, _, value)| (*name, *value))
            .collect()
    }

    #[test]
    fn the_other_columns_and_nohandler_from_the_fixture() {
        let mut collector = NetdevCollector::new(&fixture());
        let mut sample = Sample::default();
        collector.collect(&mut sample, &mut Notes::default());
        let up: Vec<(&str, bool)> = sample
            .interfaces
            .iter()
            .map(|i| (i.device.as_str(), i.up))
            .collect();
        assert_eq!(
            up,
            [
                ("lo", false),
                ("eth0", true),
                ("docker0", false),
                ("wlan0", false)
            ]
        );
        let series = super::super::families::listed::named(|out| collector.series(out));
        assert_eq!(series.len(), 4 * 9);
        assert_eq!(
            more_of(&series, "eth0"),
            [
                ("node_network_receive_fifo_total", 5.0),
                ("node_network_receive_frame_total", 6.0),
                ("node_network_receive_compressed_total", 0.0),
                ("node_network_receive_multicast_total", 7.0),
                ("node_network_transmit_fifo_total", 8.0),
                ("node_network_transmit_colls_total", 9.0),
                ("node_network_transmit_carrier_total", 10.0),
                ("node_network_transmit_compressed_total", 0.0),
                ("node_network_receive_nohandler_total", 11.0),
            ]
        );
        // No sysfs directory, and a count that is not a number: 0, as netlink gives it.
        for device in ["lo", "wlan0"] {
            let more = more_of(&series, device);
            assert_eq!(more.len(), 9);
            assert_eq!(more[8], ("node_network_receive_nohandler_total", 0.0));
        }

        let mut collector = NetdevCollector::new(Path::new("/nonexistent"));
        collector.collect(&mut Sample::default(), &mut Notes::default());
        assert!(super::super::families::listed::series(|out| collector.series(out)).is_empty());
    }

    /// Interfaces the sample has no room for, or refuses, have none of these series either.
    #[test]
    fn only_the_samples_interfaces_have_the_other_columns() {
        let root = std::env::temp_dir().join(format!("vitals-netdev-{}", std::process::id()));
        fs::create_dir_all(root.join("proc/net")).unwrap();
        let mut text = String::from("Inter-|\n face |\n");
        text.push_str("eth0: 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9\n");
        for i in 0..MAX_INTERFACES + 3 {
            text.push_str(&format!(
                "veth{i}: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
            ));
        }
        text.push_str("eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
        fs::write(root.join("proc/net/dev"), text).unwrap();
        let mut collector = NetdevCollector::new(&root);
        let mut sample = Sample::default();
        collector.collect(&mut sample, &mut Notes::default());
        fs::remove_dir_all(&root).unwrap();

        assert_eq!(sample.interfaces.len(), MAX_INTERFACES);
        assert_eq!(usize::from(sample.omitted.interfaces), 4);
        let series = super::super::families::listed::series(|out| collector.series(out));
        let devices: Vec<&str> = series
            .iter()
            .step_by(9)
            .map(|(_, labels, _)| labels[0].as_str())
            .collect();
        let held: Vec<&str> = sample
            .interfaces
            .iter()
            .map(|i| i.device.as_str())
            .collect();
        assert_eq!(devices, held);
        assert_eq!(series[0].2, 9.0, "the first eth0 is kept");
    }

    /// A device renamed away and another given its name: the files kept open are those of the
    /// first, and the second's are opened for that name. One that goes takes its files along.
    #[test]
    fn a_name_given_to_another_device_has_its_files_read() {
        let root = std::env::temp_dir().join(format!("vitals-netdev-ino-{}", std::process::id()));
        let class = root.join("sys/class/net");
        fs::create_dir_all(root.join("proc/net")).unwrap();
        fs::create_dir_all(class.join("eth0/statistics")).unwrap();
        let dev = "Inter-|\n face |\neth0: 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1\n";
        fs::write(root.join("proc/net/dev"), dev).unwrap();
        fs::write(class.join("eth0/operstate"), "up\n").unwrap();
        fs::write(class.join("eth0/statistics/rx_nohandler"), "5\n").unwrap();
        let mut collector = NetdevCollector::new(&root);
        let sample = |collector: &mut NetdevCollector| {
            let mut sample = Sample::default();
            collector.collect(&mut sample, &mut Notes::default());
            let nohandler = collector.more.first().map(|m| m.nohandler);
            (sample.interfaces.first().map(|i| i.up), nohandler)
        };
        assert_eq!(sample(&mut collector), (Some(true), Some(5)));

        fs::rename(class.join("eth0"), class.join("eth1")).unwrap();
        fs::create_dir_all(class.join("eth0/statistics")).unwrap();
        fs::write(class.join("eth0/operstate"), "down\n").unwrap();
        fs::write(class.join("eth0/statistics/rx_nohandler"), "7\n").unwrap();
        assert_eq!(sample(&mut collector), (Some(false), Some(7)));
        assert_eq!(collector.sysfs.len(), 1);

        fs::write(root.join("proc/net/dev"), "Inter-|\n face |\n").unwrap();
        assert_eq!(sample(&mut collector), (None, None));
        assert!(collector.sysfs.is_empty());
        fs::remove_dir_all(&root).unwrap();
    }
}
