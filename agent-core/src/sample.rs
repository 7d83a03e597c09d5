//! `sample`: one fixed-size snapshot of a machine.
//!
//! Every collection is a `heapless::Vec` with a capacity fixed at compile time and every name is
//! a `heapless::String`, so a [`Sample`] has one size known in advance and lives on the stack or
//! in a static. What does not fit is not silently lost: [`Omitted`] counts the entries left out.
//!
//! The capacities are const parameters with defaults sized for Linux hosts; a microcontroller
//! picks smaller ones (`Sample<1, 0, 1, 2>`) and still speaks the same JSON, because a
//! `heapless::Vec` serializes as a plain array whatever its capacity.

use heapless::{String, Vec};
use serde::{Deserialize, Serialize};

use crate::catalogue::{Series, f};

/// Per-CPU entries a default [`Sample`] holds.
pub const MAX_CPUS: usize = 64;
/// Filesystems a default [`Sample`] holds.
pub const MAX_FILESYSTEMS: usize = 16;
/// Network interfaces a default [`Sample`] holds.
pub const MAX_INTERFACES: usize = 16;
/// Temperature sensors a default [`Sample`] holds.
pub const MAX_SENSORS: usize = 16;
/// Block devices a default [`Sample`] holds.
pub const MAX_DISKS: usize = 16;
/// Bytes in a short name: an interface, a filesystem type, a sensor chip.
pub const NAME_LEN: usize = 32;
/// Bytes in a path-like name: a block device or a mount point.
pub const PATH_LEN: usize = 64;

/// A short name (interface, filesystem type, chip, sensor).
pub type Name = String<NAME_LEN>;
/// A path-like name (device, mount point).
pub type Path = String<PATH_LEN>;

/// Whether `text` may become a label value: no control character (NUL, TAB, CR, LF, ESC, DEL
/// and the C1 range among them) and no Unicode line or paragraph separator. Such characters
/// are legal in Prometheus' text format once escaped, but no honest agent sends them, and they
/// break log lines, terminals and the tools that read an exposition line by line.
pub fn label_text_ok(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
}

/// Cumulative time one CPU has spent in each mode since boot, in seconds.
///
/// The modes are those of `/proc/stat` that node_exporter exposes as
/// `node_cpu_seconds_total{mode=...}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    /// The CPU's number, as in `/proc/stat` (`cpu3` is 3).
    pub cpu: u16,
    #[allow(missing_docs)]
    pub user: f64,
    #[allow(missing_docs)]
    pub nice: f64,
    #[allow(missing_docs)]
    pub system: f64,
    #[allow(missing_docs)]
    pub idle: f64,
    #[allow(missing_docs)]
    pub iowait: f64,
    #[allow(missing_docs)]
    pub irq: f64,
    #[allow(missing_docs)]
    pub softirq: f64,
    #[allow(missing_docs)]
    pub steal: f64,
}

impl Cpu {
    /// The modes with their node_exporter names, in a fixed order.
    pub fn modes(&self) -> [(&'static str, f64); 8] {
        [
            ("user", self.user),
            ("nice", self.nice),
            ("system", self.system),
            ("idle", self.idle),
            ("iowait", self.iowait),
            ("irq", self.irq),
            ("softirq", self.softirq),
            ("steal", self.steal),
        ]
    }
}

/// Memory and swap, in bytes, with the meaning of the `/proc/meminfo` field of the same name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Memory {
    pub total: u64,
    pub free: u64,
    pub available: u64,
    pub buffers: u64,
    pub cached: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

/// One mounted filesystem, as `statvfs(3)` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filesystem {
    /// The mounted device (`/dev/sda1`, `tmpfs`).
    pub device: Path,
    /// The filesystem type (`ext4`).
    pub fstype: Name,
    /// Where it is mounted (`/`).
    pub mountpoint: Path,
    /// Size in bytes.
    pub size: u64,
    /// Free bytes, including those reserved for root.
    pub free: u64,
    /// Bytes available to unprivileged users.
    pub avail: u64,
    /// Inodes in all.
    pub files: u64,
    /// Free inodes.
    pub files_free: u64,
    /// Mounted read-only.
    pub readonly: bool,
}

/// One network interface's cumulative counters since it came up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Interface {
    /// The interface name (`eth0`).
    pub device: Name,
    /// Operational state is up.
    pub up: bool,
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errs: u64,
    pub rx_drop: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errs: u64,
    pub tx_drop: u64,
}

/// One temperature sensor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sensor {
    /// The chip, named as node_exporter's hwmon collector names it (`platform_coretemp_0`).
    pub chip: Name,
    /// The sensor on the chip (`temp1`).
    pub sensor: Name,
    /// Degrees Celsius.
    pub celsius: f64,
}

/// One block device's cumulative I/O counters since boot, as `/proc/diskstats` has them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Disk {
    /// The device name (`sda`, `nvme0n1`, `mmcblk0`).
    pub device: Name,
    #[allow(missing_docs)]
    pub reads_completed: u64,
    #[allow(missing_docs)]
    pub reads_merged: u64,
    /// Bytes read (sectors of 512 bytes, whatever the device's own sector size).
    pub read_bytes: u64,
    /// Seconds spent by all reads.
    pub read_time: f64,
    #[allow(missing_docs)]
    pub writes_completed: u64,
    #[allow(missing_docs)]
    pub writes_merged: u64,
    /// Bytes written (sectors of 512 bytes).
    pub written_bytes: u64,
    /// Seconds spent by all writes.
    pub write_time: f64,
    /// I/Os in progress now.
    pub io_now: u64,
    /// Seconds the device was busy.
    pub io_time: f64,
    /// Seconds spent doing I/Os, weighted by the number in progress.
    pub io_time_weighted: f64,
}

/// Pressure stall information (`/proc/pressure/*`): cumulative seconds since boot during which
/// some (`waiting`) or all (`stalled`) non-idle tasks were stalled on a resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Pressure {
    pub cpu_waiting: f64,
    pub memory_waiting: f64,
    pub memory_stalled: f64,
    pub io_waiting: f64,
    pub io_stalled: f64,
}

/// How many entries of each collection did not fit in the sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Omitted {
    pub cpus: u16,
    pub filesystems: u16,
    pub interfaces: u16,
    pub sensors: u16,
    #[serde(default)]
    pub disks: u16,
}

/// One snapshot of a machine.
///
/// Values that are counters on the machine (CPU seconds, bytes, context switches) are sent as
/// their cumulative value, never as a rate, so a sample that is lost or late costs nothing:
/// the next one carries the whole count.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample<
    const C: usize = MAX_CPUS,
    const F: usize = MAX_FILESYSTEMS,
    const N: usize = MAX_INTERFACES,
    const T: usize = MAX_SENSORS,
    const D: usize = MAX_DISKS,
> {
    /// When it was taken, in milliseconds since the Unix epoch, by the agent's clock.
    pub time_ms: u64,
    /// When the machine booted, in seconds since the Unix epoch.
    pub boot_time: u64,
    /// Load averages over 1, 5 and 15 minutes.
    pub load1: f64,
    #[allow(missing_docs)]
    pub load5: f64,
    #[allow(missing_docs)]
    pub load15: f64,
    /// Share of all CPUs busy since the previous sample, 0 to 1.
    pub cpu_usage: f64,
    /// Per-CPU seconds per mode.
    pub cpus: Vec<Cpu, C>,
    #[allow(missing_docs)]
    pub memory: Memory,
    /// Real (not pseudo) filesystems.
    pub filesystems: Vec<Filesystem, F>,
    #[allow(missing_docs)]
    pub interfaces: Vec<Interface, N>,
    #[allow(missing_docs)]
    pub sensors: Vec<Sensor, T>,
    /// Whole block devices (not partitions), as node_exporter selects them.
    #[serde(default)]
    pub disks: Vec<Disk, D>,
    /// Pressure stall information, where the kernel has it.
    #[serde(default)]
    pub pressure: Option<Pressure>,
    /// Context switches since boot.
    pub context_switches: u64,
    /// Processes and threads created since boot.
    pub forks: u64,
    /// Runnable threads now.
    pub procs_running: u32,
    /// Threads blocked on I/O now.
    pub procs_blocked: u32,
    /// Entries that did not fit.
    pub omitted: Omitted,
}

/// Pushes `item` onto `vec`, or counts it in `omitted` when `vec` is full.
///
/// The collectors use this for every bounded collection so that truncation is always visible.
pub fn push_or_count<T, const N: usize>(vec: &mut Vec<T, N>, item: T, omitted: &mut u16) {
    if vec.push(item).is_err() {
        *omitted = omitted.saturating_add(1);
    }
}

/// Copies `text` into a bounded string, cutting it at a character boundary when it is too long.
pub fn bounded<const N: usize>(text: &str) -> String<N> {
    let mut out = String::new();
    for ch in text.chars() {
        if out.push(ch).is_err() {
            break;
        }
    }
    out
}

impl<const C: usize, const F: usize, const N: usize, const T: usize, const D: usize>
    Sample<C, F, N, T, D>
{
    /// Checks what JSON cannot: values are finite and within their meaning.
    ///
    /// # Errors
    /// Returns the name of the first field that is out of range.
    pub fn check(&self) -> Result<(), &'static str> {
        let non_negative = |v: f64| v.is_finite() && v >= 0.0;
        if !(non_negative(self.load1) && non_negative(self.load5) && non_negative(self.load15)) {
            return Err("load");
        }
        if !(non_negative(self.cpu_usage) && self.cpu_usage <= 1.0) {
            return Err("cpu_usage");
        }
        for cpu in &self.cpus {
            if !cpu.modes().iter().all(|&(_, v)| non_negative(v)) {
                return Err("cpus");
            }
        }
        if !self.sensors.iter().all(|s| s.celsius.is_finite()) {
            return Err("sensors");
        }
        let disk_ok = |d: &Disk| {
            [d.read_time, d.write_time, d.io_time, d.io_time_weighted]
                .into_iter()
                .all(non_negative)
        };
        if !self.disks.iter().all(disk_ok) {
            return Err("disks");
        }
        if let Some(p) = self.pressure {
            let all = [
                p.cpu_waiting,
                p.memory_waiting,
                p.memory_stalled,
                p.io_waiting,
                p.io_stalled,
            ];
            if !all.into_iter().all(non_negative) {
                return Err("pressure");
            }
        }
        Ok(())
    }
}

/// A number in decimal, written at the end of `buf`, without the formatting machinery: it runs
/// for every CPU's label and every v2 value of every sample, here and in the collectors of the
/// families only v2 carries.
pub fn decimal(n: u64, buf: &mut [u8; 20]) -> &str {
    let mut at = buf.len();
    let mut n = n;
    loop {
        at -= 1;
        if let Some(digit) = buf.get_mut(at) {
            *digit = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    core::str::from_utf8(buf.get(at..).unwrap_or_default()).unwrap_or_default()
}

impl<const C: usize, const F: usize, const N: usize, const T: usize, const D: usize>
    Sample<C, F, N, T, D>
{
    /// Hands each of the sample's series to `out`, in one fixed order: the one mapping of a
    /// sample onto the families of the [`catalogue`](crate::catalogue). The server exposes a v1
    /// sample through it, and a v2 agent declares and sends what it yields.
    pub fn series(&self, out: &mut (impl Series + ?Sized)) {
        let mut digits = [0u8; 20];
        out.section("cpus");
        for cpu in &self.cpus {
            let label = decimal(cpu.cpu.into(), &mut digits);
            out.identity(label);
            for (mode, seconds) in cpu.modes() {
                out.add(f::CPU, &[label, mode], seconds);
            }
        }
        out.add(f::LOAD1, &[], self.load1);
        out.add(f::LOAD5, &[], self.load5);
        out.add(f::LOAD15, &[], self.load15);
        let m = &self.memory;
        for (family, bytes) in [
            (f::MEM_TOTAL, m.total),
            (f::MEM_FREE, m.free),
            (f::MEM_AVAILABLE, m.available),
            (f::MEM_BUFFERS, m.buffers),
            (f::MEM_CACHED, m.cached),
            (f::SWAP_TOTAL, m.swap_total),
            (f::SWAP_FREE, m.swap_free),
        ] {
            out.add(family, &[], bytes as f64);
        }
        out.section("filesystems");
        for fs in &self.filesystems {
            let labels = [
                fs.device.as_str(),
                fs.fstype.as_str(),
                fs.mountpoint.as_str(),
            ];
            for label in labels {
                out.identity(label);
            }
            for (family, value) in [
                (f::FS_SIZE, fs.size),
                (f::FS_FREE, fs.free),
                (f::FS_AVAIL, fs.avail),
                (f::FS_FILES, fs.files),
                (f::FS_FILES_FREE, fs.files_free),
                (f::FS_READONLY, u64::from(fs.readonly)),
            ] {
                out.add(family, &labels, value as f64);
            }
        }
        out.section("interfaces");
        for net in &self.interfaces {
            let labels = [net.device.as_str()];
            out.identity(&net.device);
            for (family, value) in [
                (f::NET_RX_BYTES, net.rx_bytes),
                (f::NET_RX_PACKETS, net.rx_packets),
                (f::NET_RX_ERRS, net.rx_errs),
                (f::NET_RX_DROP, net.rx_drop),
                (f::NET_TX_BYTES, net.tx_bytes),
                (f::NET_TX_PACKETS, net.tx_packets),
                (f::NET_TX_ERRS, net.tx_errs),
                (f::NET_TX_DROP, net.tx_drop),
                (f::NET_UP, u64::from(net.up)),
            ] {
                out.add(family, &labels, value as f64);
            }
        }
        out.section("sensors");
        for sensor in &self.sensors {
            out.identity(&sensor.chip);
            out.identity(&sensor.sensor);
            out.add(
                f::HWMON_TEMP,
                &[sensor.chip.as_str(), sensor.sensor.as_str()],
                sensor.celsius,
            );
        }
        out.section("disks");
        for disk in &self.disks {
            let labels = [disk.device.as_str()];
            out.identity(&disk.device);
            for (family, value) in [
                (f::DISK_READS, disk.reads_completed as f64),
                (f::DISK_READS_MERGED, disk.reads_merged as f64),
                (f::DISK_READ_BYTES, disk.read_bytes as f64),
                (f::DISK_READ_TIME, disk.read_time),
                (f::DISK_WRITES, disk.writes_completed as f64),
                (f::DISK_WRITES_MERGED, disk.writes_merged as f64),
                (f::DISK_WRITTEN_BYTES, disk.written_bytes as f64),
                (f::DISK_WRITE_TIME, disk.write_time),
                (f::DISK_IO_NOW, disk.io_now as f64),
                (f::DISK_IO_TIME, disk.io_time),
                (f::DISK_IO_TIME_WEIGHTED, disk.io_time_weighted),
            ] {
                out.add(family, &labels, value);
            }
        }
        if let Some(p) = &self.pressure {
            out.section("pressure");
            for (family, seconds) in [
                (f::PSI_CPU_WAITING, p.cpu_waiting),
                (f::PSI_MEMORY_WAITING, p.memory_waiting),
                (f::PSI_MEMORY_STALLED, p.memory_stalled),
                (f::PSI_IO_WAITING, p.io_waiting),
                (f::PSI_IO_STALLED, p.io_stalled),
            ] {
                out.add(family, &[], seconds);
            }
        }
        out.add(f::BOOT_TIME, &[], self.boot_time as f64);
        out.add(f::TIME, &[], self.time_ms as f64 / 1000.0);
        out.add(f::CONTEXT_SWITCHES, &[], self.context_switches as f64);
        out.add(f::FORKS, &[], self.forks as f64);
        out.add(f::PROCS_RUNNING, &[], self.procs_running.into());
        out.add(f::PROCS_BLOCKED, &[], self.procs_blocked.into());
        out.add(f::CPU_USAGE, &[], self.cpu_usage);
        let o = &self.omitted;
        for (collection, n) in [
            ("cpus", o.cpus),
            ("filesystems", o.filesystems),
            ("interfaces", o.interfaces),
            ("sensors", o.sensors),
            ("disks", o.disks),
        ] {
            out.add(f::OMITTED, &[collection], n.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_texts_with_control_characters_or_line_separators_are_not_ok() {
        for ok in [
            "",
            "/",
            "/mnt/my disk",
            "café",
            "eth0.100",
            "temp1 (\"cpu\")",
        ] {
            assert!(label_text_ok(ok), "{ok:?}");
        }
        for bad in [
            "a\0b",
            "a\tb",
            "a\rb",
            "a\nb",
            "\x1b[31m",
            "a\x7f",
            "a\u{85}",
            "a\u{2028}",
            "a\u{2029}",
        ] {
            assert!(!label_text_ok(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_full_collection_counts_what_it_leaves_out() {
        let mut sample: Sample<2, 0, 0, 0> = Sample::default();
        for cpu in 0..5 {
            push_or_count(
                &mut sample.cpus,
                Cpu {
                    cpu,
                    ..Cpu::default()
                },
                &mut sample.omitted.cpus,
            );
        }
        assert_eq!(sample.cpus.len(), 2);
        assert_eq!(sample.omitted.cpus, 3);
    }

    #[test]
    fn a_long_name_is_cut_at_a_character_boundary() {
        let name: String<4> = bounded("abcé");
        assert_eq!(name.as_str(), "abc");
        let name: String<5> = bounded("abcé");
        assert_eq!(name.as_str(), "abcé");
    }

    #[test]
    fn check_rejects_negative_and_out_of_range_values() {
        let mut sample: Sample = Sample::default();
        assert_eq!(sample.check(), Ok(()));
        sample.cpu_usage = 1.5;
        assert_eq!(sample.check(), Err("cpu_usage"));
        sample.cpu_usage = 0.5;
        sample.load5 = -1.0;
        assert_eq!(sample.check(), Err("load"));
        sample.load5 = 0.0;
        let _ = sample.cpus.push(Cpu {
            user: -3.0,
            ..Cpu::default()
        });
        assert_eq!(sample.check(), Err("cpus"));
    }

    #[test]
    fn every_series_is_of_an_agent_family_with_its_labels() {
        struct Check(usize);
        impl Series for Check {
            fn add(&mut self, family: u16, labels: &[&str], _value: f64) {
                let fam = crate::catalogue::family(family).unwrap();
                assert!(matches!(
                    fam.source,
                    crate::catalogue::Source::Agent | crate::catalogue::Source::Time
                ));
                assert_eq!(fam.labels.len(), labels.len(), "{}", fam.name);
                self.0 += 1;
            }
        }
        let mut sample: Sample = Sample::default();
        for cpu in [0, 9, 10, 65535] {
            let _ = sample.cpus.push(Cpu {
                cpu,
                ..Cpu::default()
            });
        }
        let mut check = Check(0);
        sample.series(&mut check);
        // 8 modes per CPU, 3 loads, 7 memory, 7 others, 5 omitted counts.
        assert_eq!(check.0, 4 * 8 + 3 + 7 + 7 + 5);
        let mut buf = [0u8; 20];
        for n in [0, 7, 10, 63, 999, 65535, u64::MAX] {
            let mut text: heapless::String<20> = heapless::String::new();
            core::fmt::write(&mut text, format_args!("{n}")).unwrap();
            assert_eq!(decimal(n, &mut buf), text.as_str());
        }
    }
}
