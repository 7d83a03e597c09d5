//! Network devices' properties, `/sys/class/net/<device>/`, as node_exporter 1.5's netclass
//! collector gives them, but for `node_network_up`, which `netdev.rs` gives in the sample.
//!
//! A sample reads 22 small files of each device. Opening and closing a sysfs file costs about
//! eight times what reading it does, so each device's files are opened once and read again
//! from their start every sample (`pread`), as sysfs allows; the class directory stays open
//! too and is listed again into a buffer that is kept. Once every device has been seen, a
//! sample allocates nothing and makes one system call a file: about 110 µs of CPU for this
//! machine's five devices (`cargo test -p agent-linux --release netclass -- --ignored
//! --nocapture`).

use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use agent_core::catalogue::{Series, f};
use agent_core::sample::{MAX_INTERFACES, label_text_ok};
use agent_core::wire::MAX_TEXT;
use rustix::fs::{CWD, FileType, Mode, OFlags, RawDir, SeekFrom, openat, seek};
use rustix::io::{Errno, pread};

use super::families::Families;

/// The files of a device that give a number, each with the family it goes to, in the order
/// of their series.
const NUMBERS: [(&CStr, u16); 17] = [
    (c"addr_assign_type", f::NETCLASS_ADDRESS_ASSIGN_TYPE),
    (c"carrier", f::NETCLASS_CARRIER),
    (c"carrier_changes", f::NETCLASS_CARRIER_CHANGES),
    (c"carrier_up_count", f::NETCLASS_CARRIER_UP_CHANGES),
    (c"carrier_down_count", f::NETCLASS_CARRIER_DOWN_CHANGES),
    (c"dev_id", f::NETCLASS_DEVICE_ID),
    (c"dormant", f::NETCLASS_DORMANT),
    (c"flags", f::NETCLASS_FLAGS),
    (c"ifindex", f::NETCLASS_IFACE_ID),
    (c"iflink", f::NETCLASS_IFACE_LINK),
    (c"link_mode", f::NETCLASS_IFACE_LINK_MODE),
    (c"mtu", f::NETCLASS_MTU_BYTES),
    (c"name_assign_type", f::NETCLASS_NAME_ASSIGN_TYPE),
    (c"netdev_group", f::NETCLASS_NET_DEV_GROUP),
    (c"speed", f::NETCLASS_SPEED_BYTES),
    (c"tx_queue_len", f::NETCLASS_TRANSMIT_QUEUE_LENGTH),
    (c"type", f::NETCLASS_PROTOCOL_TYPE),
];

/// The files of a device that give `node_network_info`'s labels but `device`, in the order of
/// its label names.
const TEXTS: [&CStr; 5] = [
    c"address",
    c"broadcast",
    c"duplex",
    c"ifalias",
    c"operstate",
];

/// The bytes of a file read, in one `read(2)`, as node_exporter reads them (procfs'
/// `SysReadFile`): a longer `ifalias` (up to 255 bytes) is cut there, as node_exporter cuts it.
const SYSFS_READ: usize = 128;

/// Bytes of the buffer the class directory is listed into: an entry takes 24 bytes and its
/// name, so a call lists about a hundred devices, and more calls list the rest.
const LISTING: usize = 4096;

/// What opening or reading a file may fail with for node_exporter to leave that file out: it
/// is missing or not permitted, or the device does not support it now. The kernel refuses
/// `speed` and `duplex` of most virtual devices with `EINVAL`, and `carrier`, `dormant`,
/// `speed` and `duplex` of a device that is down; `phys_port_name` of most with `EOPNOTSUPP`.
const SKIPPED: [Errno; 5] = [
    Errno::NOENT,
    Errno::ACCESS,
    Errno::PERM,
    Errno::OPNOTSUPP,
    Errno::INVAL,
];

/// Reads the properties of each network device.
#[derive(Debug)]
pub(super) struct NetclassCollector {
    /// `sys/class/net` under the root.
    dir: PathBuf,
    /// That directory, opened once; `None` until it opens (it is tried again each sample) or
    /// after it could not be listed.
    class: Option<OwnedFd>,
    /// Where its entries are listed; kept, so listing allocates nothing.
    listing: Vec<MaybeUninit<u8>>,
    /// The devices of the last listing, in name order, with what the last sample read of
    /// them. A device keeps its place, its files and its strings while it stays.
    devices: Vec<Device>,
}

/// One device of the class directory, and what the last sample read of it.
#[derive(Debug)]
struct Device {
    /// Its name, the `device` label.
    name: String,
    /// The inode of its entry in the class directory: another inode under the same name is
    /// another device (one renamed to it, or one removed and added again), whose files are
    /// opened anew.
    ino: u64,
    /// Whether the last listing had it; those that it had not are dropped after it.
    listed: bool,
    /// Its files, while they are open: from the first sample that reads it until it goes, or
    /// until one of them fails otherwise than [`SKIPPED`] says.
    files: Option<Files>,
    /// Whether the last sample could read its files: `false` leaves it out of the sample.
    sampled: bool,
    /// The contents of [`TEXTS`], `""` for a file left out, as node_exporter has them.
    texts: [String; 5],
    /// The numbers of [`NUMBERS`], `None` for a file left out.
    numbers: [Option<i64>; 17],
}

/// A device's files, open; `None` for one that could not be opened (a device has the same
/// files for as long as it exists). Each holds about 4.5 KiB of the kernel's memory once read
/// (its `seq_file` and the page it reads into), about 100 KiB a device: the price of not
/// opening them every sample.
#[derive(Debug)]
struct Files {
    texts: [Option<OwnedFd>; 5],
    numbers: [Option<OwnedFd>; 17],
}

impl NetclassCollector {
    /// Reads `sys/class/net` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            dir: root.join("sys/class/net"),
            class: None,
            listing: Vec::new(),
            devices: Vec::new(),
        }
    }

    /// Lists the class directory again into `devices`; `false` if it could not be listed.
    ///
    /// Its regular files (`bonding_masters`) are not devices, as node_exporter has it; nor is a
    /// name the server would refuse as a label (Linux allows an escape character in one).
    fn list(&mut self, class: &OwnedFd) -> bool {
        if seek(class, SeekFrom::Start(0)).is_err() {
            return false;
        }
        if self.listing.len() < LISTING {
            self.listing.resize(LISTING, MaybeUninit::uninit());
        }
        for device in &mut self.devices {
            device.listed = false;
        }
        let mut added = false;
        let mut entries = RawDir::new(class, &mut self.listing);
        while let Some(entry) = entries.next() {
            let Ok(entry) = entry else {
                return false;
            };
            if entry.file_type() == FileType::RegularFile {
                continue;
            }
            let Ok(name) = entry.file_name().to_str() else {
                continue;
            };
            if name == "." || name == ".." || !label_ok(name) {
                continue;
            }
            match self.devices.iter_mut().find(|d| d.name == name) {
                Some(device) => {
                    device.listed = true;
                    if device.ino != entry.ino() {
                        device.ino = entry.ino();
                        device.files = None;
                    }
                }
                None => {
                    self.devices.push(Device::new(name, entry.ino()));
                    added = true;
                }
            }
        }
        self.devices.retain(|d| d.listed);
        if added {
            self.devices.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        }
        true
    }
}

impl Families for NetclassCollector {
    fn collect(&mut self) {
        if self.class.is_none() {
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            self.class = openat(CWD, &self.dir, flags, Mode::empty()).ok();
        }
        let Some(class) = self.class.take() else {
            self.devices.clear();
            return;
        };
        if !self.list(&class) {
            self.devices.clear();
            return;
        }
        // A host with hundreds of containers' veths: as many devices as the sample carries of
        // /proc/net/dev, so the declaration stays well inside a line; the rest hold no files.
        for (i, device) in self.devices.iter_mut().enumerate() {
            device.sampled = i < MAX_INTERFACES && device.read(&class);
            if !device.sampled {
                device.files = None;
            }
        }
        self.class = Some(class);
    }

    fn series(&self, out: &mut dyn Series) {
        out.section("netclass");
        for device in self.devices.iter().take(MAX_INTERFACES) {
            if !device.sampled {
                continue;
            }
            let name = device.name.as_str();
            out.identity(name);
            let info = device.texts.iter().all(|text| label_ok(text));
            // Which of its series there are: a receiver that reuses labels while the identity
            // stays the same must see one come or go (`carrier` when the device goes down).
            let mut present = [b'0'; NUMBERS.len() + 1];
            let there = device.numbers.iter().map(Option::is_some).chain([info]);
            for (slot, there) in present.iter_mut().zip(there) {
                if there {
                    *slot = b'1';
                }
            }
            out.identity(std::str::from_utf8(&present).unwrap_or_default());
            if info {
                for text in &device.texts {
                    out.identity(text);
                }
                let [address, broadcast, duplex, ifalias, operstate] =
                    device.texts.each_ref().map(String::as_str);
                out.add(
                    f::NETCLASS_INFO,
                    &[address, broadcast, name, duplex, ifalias, operstate],
                    1.0,
                );
            }
            for (number, (_, family)) in device.numbers.iter().zip(NUMBERS) {
                if let Some(number) = *number {
                    out.add(family, &[name], value(family, number));
                }
            }
        }
    }
}

impl Device {
    fn new(name: &str, ino: u64) -> Self {
        Self {
            name: name.to_owned(),
            ino,
            listed: true,
            files: None,
            sampled: false,
            texts: Default::default(),
            numbers: [None; 17],
        }
    }

    /// Reads its files, opening them first if they are not open; `false` if its directory
    /// cannot be opened (it went since the listing) or a file fails otherwise than
    /// [`SKIPPED`] says.
    ///
    /// node_exporter gives no device at all then, its collector failing whole; one device
    /// left out keeps the others' series, and the declaration, steady.
    fn read(&mut self, class: &OwnedFd) -> bool {
        if self.files.is_none() {
            self.files = Files::open(class, &self.name);
        }
        let Some(files) = &self.files else {
            return false;
        };
        let mut buf = [0u8; SYSFS_READ];
        for (text, file) in self.texts.iter_mut().zip(&files.texts) {
            text.clear();
            match read_sysfs(file.as_ref(), &mut buf) {
                Ok(Some(read)) => text.push_str(&String::from_utf8_lossy(read)),
                Ok(None) => {}
                Err(_) => return false,
            }
        }
        for (number, file) in self.numbers.iter_mut().zip(&files.numbers) {
            *number = match read_sysfs(file.as_ref(), &mut buf) {
                Ok(read) => read.map(procfs_int),
                Err(_) => return false,
            };
        }
        true
    }
}

impl Files {
    /// Opens the files of the device `name` of `class`; `None` if its directory cannot be
    /// opened or a file fails otherwise than [`SKIPPED`] says.
    fn open(class: &OwnedFd, name: &str) -> Option<Self> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let dir = openat(class, name, flags, Mode::empty()).ok()?;
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        let open = |file: &CStr| match openat(&dir, file, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(fd)),
            Err(e) if SKIPPED.contains(&e) => Ok(None),
            Err(e) => Err(e),
        };
        let mut files = Files {
            texts: Default::default(),
            numbers: Default::default(),
        };
        for (slot, file) in files.texts.iter_mut().zip(TEXTS) {
            *slot = open(file).ok()?;
        }
        for (slot, (file, _)) in files.numbers.iter_mut().zip(NUMBERS) {
            *slot = open(file).ok()?;
        }
        Some(files)
    }
}

/// The bytes of `file` from its start, white space trimmed, as node_exporter reads them;
/// `None` for a file node_exporter leaves out (see [`SKIPPED`]), or that is not open.
///
/// # Errors
/// Any other failure to read it.
fn read_sysfs<'b>(
    file: Option<&OwnedFd>,
    buf: &'b mut [u8; SYSFS_READ],
) -> Result<Option<&'b [u8]>, Errno> {
    let Some(file) = file else {
        return Ok(None);
    };
    match pread(file, &mut buf[..], 0) {
        Ok(n) => Ok(Some(trim(buf.get(..n).unwrap_or_default()))),
        Err(e) if SKIPPED.contains(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `bytes` without the white space around it, as Go's `bytes.TrimSpace` gives it.
fn trim(bytes: &[u8]) -> &[u8] {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.trim().as_bytes(),
        // Not UTF-8: the ASCII white space is all a file of the kernel's can have around it.
        Err(_) => bytes.trim_ascii(),
    }
}

/// Whether `text` can be a label's: the server refuses a control character, and a text
/// longer than a declaration carries.
fn label_ok(text: &str) -> bool {
    text.len() <= MAX_TEXT && label_text_ok(text)
}

/// A family's value from its file's number: the speed is in Mbit/s, and node_exporter gives
/// bytes a second, in Go's 64-bit integers (so -1, an unknown speed, is -125000).
fn value(family: u16, number: i64) -> f64 {
    if family == f::NETCLASS_SPEED_BYTES {
        (number.wrapping_mul(1_000_000) / 8) as f64
    } else {
        number as f64
    }
}

/// The number a file holds as procfs reads it, with Go's `strconv.ParseInt(text, 0, 64)`: an
/// optional sign, then `0x`, `0o`, `0b` or a leading `0` for base 16, 8 or 2 and 8 (`flags`
/// is `0x1003`). A file that holds no such number gives 0, not nothing: procfs' value parser
/// keeps the error aside and hands over its zero. (Go also takes `_` between digits, which
/// the kernel never writes.)
fn procfs_int(text: &[u8]) -> i64 {
    go_int(text).unwrap_or(0)
}

fn go_int(text: &[u8]) -> Option<i64> {
    let (negative, unsigned) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if unsigned.is_empty() {
        return None;
    }
    let (radix, digits) = match unsigned {
        [b'0', b'x' | b'X', rest @ ..] if !rest.is_empty() => (16, rest),
        [b'0', b'o' | b'O', rest @ ..] if !rest.is_empty() => (8, rest),
        [b'0', b'b' | b'B', rest @ ..] if !rest.is_empty() => (2, rest),
        [b'0', rest @ ..] => (8, rest),
        _ => (10, unsigned),
    };
    let mut magnitude: u64 = 0;
    for &digit in digits {
        let digit = char::from(digit).to_digit(radix)?;
        magnitude = magnitude
            .checked_mul(u64::from(radix))?
            .checked_add(u64::from(digit))?;
    }
    let limit = 1_u64 << 63;
    match negative {
        false if magnitude < limit => Some(magnitude as i64),
        true if magnitude <= limit => Some((magnitude as i64).wrapping_neg()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::time::Instant;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/netclass")
    }

    /// Each series as (family name, labels, value).
    fn series_of(collector: &NetclassCollector) -> Vec<(&'static str, Vec<String>, f64)> {
        super::super::families::listed::named(|out| collector.series(out))
    }

    fn labels(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| (*t).to_owned()).collect()
    }

    /// The series of one device, as (family name, value), `node_network_info` aside.
    fn numbers_of(collector: &NetclassCollector, device: &str) -> Vec<(&'static str, f64)> {
        series_of(collector)
            .into_iter()
            .filter(|(name, labels, _)| *name != "node_network_info" && labels == &[device])
            .map(|(name, _, value)| (name, value))
            .collect()
    }

    /// `fixtures/netclass/sys/class/net`: `eth0`, a Raspberry Pi 4's, at 1 Gbit/s, full
    /// duplex, with an alias; `usb0`, a directory rather than a link, down, its speed -1
    /// (unknown), its `mtu` garbled and no `carrier_up_count` (kernels before 4.16); `veth0`,
    /// virtual, with no `speed` nor `duplex` (the kernel refuses to read them with `EINVAL`,
    /// which a copy cannot; node_exporter leaves both out alike) and an empty `ifalias`; and
    /// the `bonding_masters` file, which is not a device. The expected values are node_exporter
    /// 1.5's for this tree (`--path.sysfs`).
    #[test]
    fn a_fixture_tree_as_node_exporter_reads_it() {
        let mut collector = NetclassCollector::new(&fixture());
        collector.collect();
        let series = series_of(&collector);
        let info: Vec<&Vec<String>> = series
            .iter()
            .filter(|(name, _, value)| *name == "node_network_info" && *value == 1.0)
            .map(|(_, labels, _)| labels)
            .collect();
        assert_eq!(
            info,
            [
                &labels(&[
                    "dc:a6:32:12:34:56",
                    "ff:ff:ff:ff:ff:ff",
                    "eth0",
                    "full",
                    "uplink to the switch",
                    "up"
                ]),
                &labels(&[
                    "00:e0:4c:68:00:01",
                    "ff:ff:ff:ff:ff:ff",
                    "usb0",
                    "unknown",
                    "",
                    "down"
                ]),
                &labels(&[
                    "9e:2b:41:0c:7d:e5",
                    "ff:ff:ff:ff:ff:ff",
                    "veth0",
                    "",
                    "",
                    "up"
                ]),
            ]
        );
        assert_eq!(
            numbers_of(&collector, "eth0"),
            [
                ("node_network_address_assign_type", 0.0),
                ("node_network_carrier", 1.0),
                ("node_network_carrier_changes_total", 4.0),
                ("node_network_carrier_up_changes_total", 2.0),
                ("node_network_carrier_down_changes_total", 2.0),
                ("node_network_device_id", 0.0),
                ("node_network_dormant", 0.0),
                ("node_network_flags", 4099.0),
                ("node_network_iface_id", 2.0),
                ("node_network_iface_link", 2.0),
                ("node_network_iface_link_mode", 0.0),
                ("node_network_mtu_bytes", 1500.0),
                ("node_network_name_assign_type", 4.0),
                ("node_network_net_dev_group", 0.0),
                ("node_network_speed_bytes", 125_000_000.0),
                ("node_network_transmit_queue_length", 1000.0),
                ("node_network_protocol_type", 1.0),
            ]
        );
        let usb0 = numbers_of(&collector, "usb0");
        assert!(usb0.contains(&("node_network_mtu_bytes", 0.0)), "garbled");
        assert!(usb0.contains(&("node_network_speed_bytes", -125_000.0)));
        assert!(usb0.contains(&("node_network_carrier", 0.0)));
        assert_eq!(usb0.len(), 16, "no carrier_up_count");
        let veth0 = numbers_of(&collector, "veth0");
        assert!(veth0.contains(&("node_network_iface_link", 6.0)));
        assert!(
            !veth0
                .iter()
                .any(|(name, _)| *name == "node_network_speed_bytes")
        );
        assert_eq!(veth0.len(), 16);
        assert_eq!(
            series.len(),
            3 + 17 + 16 + 16,
            "and nothing of bonding_masters"
        );
    }

    /// A directory under the system's temp dir holding `sys/class/net`, removed when dropped.
    struct Tree(PathBuf);

    impl Tree {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!(
                "vitals-netclass-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            fs::create_dir_all(dir.join("sys/class/net")).unwrap();
            Self(dir)
        }

        /// Adds a device with an `mtu` and an `operstate`.
        fn device(&self, name: &str, mtu: u32) {
            let dir = self.0.join("sys/class/net").join(name);
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("mtu"), format!("{mtu}\n")).unwrap();
            fs::write(dir.join("operstate"), "up\n").unwrap();
        }

        fn remove(&self, name: &str) {
            fs::remove_dir_all(self.0.join("sys/class/net").join(name)).unwrap();
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn mtus(collector: &NetclassCollector) -> Vec<(String, f64)> {
        series_of(collector)
            .into_iter()
            .filter(|(name, _, _)| *name == "node_network_mtu_bytes")
            .map(|(_, labels, value)| (labels[0].clone(), value))
            .collect()
    }

    #[test]
    fn devices_come_and_go_between_samples() {
        let tree = Tree::new();
        tree.device("wlan0", 1500);
        tree.device("eth0", 9000);
        let mut collector = NetclassCollector::new(&tree.0);
        collector.collect();
        assert_eq!(
            mtus(&collector),
            [("eth0".to_owned(), 9000.0), ("wlan0".to_owned(), 1500.0)]
        );

        tree.device("docker0", 1500);
        tree.remove("wlan0");
        collector.collect();
        assert_eq!(
            mtus(&collector),
            [("docker0".to_owned(), 1500.0), ("eth0".to_owned(), 9000.0)]
        );

        // The devices past the sample's room are left out, in name order.
        for i in 0..MAX_INTERFACES {
            tree.device(&format!("veth{i:02}"), 1500);
        }
        collector.collect();
        let names: Vec<String> = mtus(&collector).into_iter().map(|(name, _)| name).collect();
        assert_eq!(names.len(), MAX_INTERFACES);
        assert_eq!(names[..3], ["docker0", "eth0", "veth00"]);

        // No class directory, no devices; and again once it is back.
        fs::rename(tree.0.join("sys/class/net"), tree.0.join("sys/class/gone")).unwrap();
        collector.class = None;
        collector.collect();
        assert!(series_of(&collector).is_empty());
        fs::rename(tree.0.join("sys/class/gone"), tree.0.join("sys/class/net")).unwrap();
        collector.collect();
        assert_eq!(mtus(&collector).len(), MAX_INTERFACES);
    }

    /// Another device under a known name (`ip link set eth0 name old; ip link set new name
    /// eth0`) is read from its own files, not from those kept open of the one renamed.
    #[test]
    fn a_name_given_to_another_device_reads_that_device() {
        let tree = Tree::new();
        tree.device("eth0", 1500);
        let mut collector = NetclassCollector::new(&tree.0);
        collector.collect();
        let net = tree.0.join("sys/class/net");
        fs::rename(net.join("eth0"), net.join("old")).unwrap();
        tree.device("eth0", 9000);
        collector.collect();
        assert_eq!(
            mtus(&collector),
            [("eth0".to_owned(), 9000.0), ("old".to_owned(), 1500.0)]
        );
    }

    /// A label the server would refuse leaves out the info series, or the whole device when
    /// it is the device's name.
    #[test]
    fn texts_the_server_would_refuse_are_left_out() {
        let tree = Tree::new();
        tree.device("eth0", 1500);
        tree.device("ev\x1bil", 1500);
        let alias = tree.0.join("sys/class/net/eth0/ifalias");
        fs::write(&alias, "tab\there\n").unwrap();
        let mut collector = NetclassCollector::new(&tree.0);
        collector.collect();
        let series = series_of(&collector);
        assert_eq!(
            series,
            [("node_network_mtu_bytes", labels(&["eth0"]), 1500.0)]
        );
        fs::write(&alias, "office\n").unwrap();
        collector.collect();
        assert_eq!(series_of(&collector)[0].0, "node_network_info");
    }

    /// On this machine, `lo`: the kernel refuses its `speed` and `duplex` (`EINVAL`).
    #[test]
    fn loopback_here() {
        if !Path::new("/sys/class/net/lo").exists() {
            return;
        }
        let mut collector = NetclassCollector::new(Path::new("/"));
        collector.collect();
        let series = series_of(&collector);
        assert!(
            series
                .iter()
                .any(|(name, labels, value)| *name == "node_network_info"
                    && labels[2] == "lo"
                    && labels[3].is_empty()
                    && *value == 1.0)
        );
        let lo = numbers_of(&collector, "lo");
        assert!(lo.contains(&("node_network_mtu_bytes", 65536.0)), "{lo:?}");
        assert!(
            lo.contains(&("node_network_protocol_type", 772.0)),
            "{lo:?}"
        );
        assert!(
            !lo.iter()
                .any(|(name, _)| *name == "node_network_speed_bytes")
        );
    }

    #[test]
    fn numbers_as_go_parses_them() {
        for (text, want) in [
            ("1500", 1500),
            ("0x1003", 4099),
            ("0X1f", 31),
            ("-1", -1),
            ("+7", 7),
            ("0", 0),
            ("010", 8),
            ("0o17", 15),
            ("0b101", 5),
            ("9223372036854775807", i64::MAX),
            ("-9223372036854775808", i64::MIN),
        ] {
            assert_eq!(go_int(text.as_bytes()), Some(want), "{text}");
        }
        for text in [
            "",
            "-",
            "+",
            "0x",
            "0b",
            "08",
            "15OO",
            "1 2",
            "--1",
            "1_000",
            "9223372036854775808",
            "0x1g",
        ] {
            assert_eq!(go_int(text.as_bytes()), None, "{text}");
            assert_eq!(procfs_int(text.as_bytes()), 0, "{text}");
        }
        assert_eq!(trim(b" \t1000\n"), b"1000");
        assert_eq!(trim(b"\xff \n"), b"\xff");
    }

    #[test]
    fn speed_in_bytes_a_second() {
        let speed = f::NETCLASS_SPEED_BYTES;
        assert_eq!(value(speed, 1000), 125_000_000.0);
        assert_eq!(value(speed, 10), 1_250_000.0);
        assert_eq!(value(speed, -1), -125_000.0);
        assert_eq!(
            value(speed, i64::MAX),
            (i64::MAX.wrapping_mul(1_000_000) / 8) as f64
        );
        assert_eq!(value(f::NETCLASS_MTU_BYTES, 1500), 1500.0);
    }

    #[test]
    fn only_the_errors_node_exporter_skips_are_skipped() {
        for skipped in [
            Errno::NOENT,
            Errno::ACCESS,
            Errno::PERM,
            Errno::NOTSUP,
            Errno::INVAL,
        ] {
            assert!(SKIPPED.contains(&skipped), "{skipped:?}");
        }
        for failed in [Errno::NODEV, Errno::IO, Errno::AGAIN, Errno::BUSY] {
            assert!(!SKIPPED.contains(&failed), "{failed:?}");
        }
    }

    /// How long a sample takes on this machine, for its devices, in this thread's CPU time:
    /// `cargo test -p agent-linux --release netclass -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn time_per_sample_here() {
        use rustix::time::{ClockId, clock_gettime};
        let cpu = || {
            let t = clock_gettime(ClockId::ThreadCPUTime);
            t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
        };
        let mut collector = NetclassCollector::new(Path::new("/"));
        collector.collect();
        let devices = collector.devices.iter().filter(|d| d.sampled).count();
        let series = series_of(&collector).len();
        let samples = 5000;
        let (started, wall) = (cpu(), Instant::now());
        for _ in 0..samples {
            collector.collect();
            std::hint::black_box(&collector.devices);
        }
        let each = (cpu() - started) / f64::from(samples);
        let wall = wall.elapsed().as_secs_f64() / f64::from(samples);
        eprintln!(
            "netclass: {:.1} µs of CPU a sample ({:.1} µs wall), {devices} devices, {series} series",
            each * 1e6,
            wall * 1e6
        );
    }
}
