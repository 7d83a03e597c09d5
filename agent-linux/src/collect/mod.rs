//! The collectors: one [`Sample`] from `/proc` and `/sys`, each value with the meaning
//! node_exporter 1.5 gives it, so the server can expose it under node_exporter's names.
//!
//! Each file is one collector, as in node_exporter's `collector/`: a struct with its paths, its
//! buffers and what it keeps between samples, its reader, and its parsers (text in, values out).
//! Its tests read the `/proc` and `/sys` files of `fixtures/<collector>/`, laid out as under `/`.
//! [`Collector::collect`] runs them in this order:
//!
//! - `stat.rs`: `/proc/stat` (each CPU's seconds by mode, context switches, forks, running and
//!   blocked processes, boot time), and the CPU usage between two samples; the interrupts and
//!   each CPU's guest seconds it gives to [`Collector::series`], as `meminfo.rs` does.
//! - `loadavg.rs`: `/proc/loadavg`.
//! - `meminfo.rs`: `/proc/meminfo`: the sample's seven fields, and the rest of the file, whose
//!   series it gives to [`Collector::series`] as the collectors below do.
//! - `filesystem/`: the mounts of `/proc/1/mounts` or `/proc/mounts` that node_exporter reports
//!   (`mounts.rs`) and their `statvfs`, under a deadline (`statfs.rs`); those whose `statvfs`
//!   gave nothing it keeps for [`Collector::series`].
//! - `netdev.rs`: `/proc/net/dev`, and `/sys/class/net/<device>/operstate`: the sample's
//!   counters, and the other columns (and `rx_nohandler`), whose series it gives to
//!   [`Collector::series`] as meminfo does.
//! - `hwmon/`: the chips of `/sys/class/hwmon`: their temperatures for the sample, and their
//!   names, labels, limits, alarms, voltages, fans, power and the rest, whose series it gives
//!   to [`Collector::series`] as the collectors below do.
//! - `diskstats.rs`: `/proc/diskstats`, and each disk's entry in udev's database; what a
//!   sample has no room for it keeps for [`Collector::series`].
//! - `pressure.rs`: `/proc/pressure/{cpu,memory,io}`.
//!
//! Then the collectors of families that only protocol v2 carries (see `families.rs`), which
//! give their series to [`Collector::series`] rather than to the sample:
//!
//! - `filefd.rs`: `/proc/sys/fs/file-nr`.
//! - `vmstat.rs`: the fields of `/proc/vmstat` node_exporter selects by default.
//! - `entropy.rs`: `/proc/sys/kernel/random/{entropy_avail,poolsize}`.
//! - `mdadm.rs`: software RAID arrays, `/proc/mdstat`.
//! - `bonding.rs`: bonded network interfaces and their slaves' links, `/sys/class/net/`.
//! - `nvme.rs`: NVMe controllers' model, serial, firmware and state, `/sys/class/nvme/`.
//! - `edac.rs`: memory controllers' error counts, `/sys/devices/system/edac/mc/`.
//! - `rapl.rs`: the energy counters of RAPL zones, `/sys/class/powercap/`.
//! - `power_supply.rs`: batteries, mains and USB supplies, `/sys/class/power_supply/`.
//! - `xfs.rs`: XFS filesystems' statistics, `/sys/fs/xfs/<device>/stats/stats`.
//! - `nfs.rs`: the NFS client's RPC statistics, `/proc/net/rpc/nfs`.
//! - `dmi.rs`: the firmware's BIOS, board, chassis and product texts, `/sys/class/dmi/id/`.
//! - `sockstat.rs`: `/proc/net/sockstat` and `/proc/net/sockstat6`.
//! - `netstat.rs`: `/proc/net/netstat`, `/proc/net/snmp` and `/proc/net/snmp6`, the fields
//!   node_exporter selects by default.
//! - `conntrack.rs`: `/proc/sys/net/netfilter/nf_conntrack_{count,max}` and
//!   `/proc/net/stat/nf_conntrack`.
//! - `time.rs`: the time zone's offset, and `/sys/devices/system/clocksource`.
//! - `process.rs`: the agent's own `/proc/self`, whatever the root.
//! - `timex.rs`: the kernel's clock discipline, from `adjtimex(2)` (whatever the root).
//! - `softnet.rs`: `/proc/net/softnet_stat`, the packets each CPU processed, dropped and
//!   stopped at its quota.
//! - `schedstat.rs`: `/proc/schedstat`, each CPU's time running and waiting, and timeslices.
//! - `arp.rs`: `/proc/net/arp`, the entries of each device.
//! - `udp_queues.rs`: `/proc/net/udp` and `/proc/net/udp6`, the bytes queued.
//! - `selinux.rs`: whether SELinux is enabled (`/sys/fs/selinux`), and its modes.
//! - `os.rs`: `/etc/os-release`, or `/usr/lib/os-release`, read again when it changes.
//! - `netclass.rs`: each network device's properties, `/sys/class/net/<device>/`.
//! - `thermal_zone.rs`: `/sys/class/thermal`'s zones and cooling devices.
//! - `cpufreq.rs`: `/sys/devices/system/cpu/cpu<N>/cpufreq/`'s frequencies.
//! - `textfile/`: the `*.prom` files of `--textfile-dir`, as node_exporter's textfile
//!   collector reads them: families the agent describes itself, which its log hears of.
//!
//! Beside them, `labels.rs` decides which entries may go into a sample and notes those left
//! out, `read.rs` reads a file into a buffer that is reused, and `proc_file.rs` keeps a file
//! of `/proc` open to read it again each sample. For the tests, `golden.rs` has two whole
//! machines' sensors (`fixtures/pi4/`, `fixtures/laptop/`) and node_exporter's exposition of
//! each, which the hwmon, thermal_zone and cpufreq collectors must give.
//!
//! Nothing here panics on what a file contains, and a file that is missing or unreadable
//! leaves its part of the sample empty or zero.

mod arp;
mod bonding;
mod conntrack;
mod cpufreq;
mod diskstats;
mod dmi;
mod edac;
mod entropy;
mod families;
mod filefd;
mod filesystem;
#[cfg(test)]
mod golden;
mod hwmon;
mod labels;
mod loadavg;
mod mdadm;
mod meminfo;
mod netclass;
mod netdev;
mod netstat;
mod nfs;
mod nvme;
mod os;
mod power_supply;
mod pressure;
mod proc_file;
mod process;
mod rapl;
mod read;
mod schedstat;
mod selinux;
mod sockstat;
mod softnet;
mod stat;
mod textfile;
mod thermal_zone;
mod time;
mod timex;
mod udp_queues;
mod vmstat;
mod xfs;

pub use textfile::{MAX_DECLARED, MAX_FILE_BYTES, MAX_FILES, MAX_SERIES};

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agent_core::catalogue::Series;
use agent_core::sample::Sample;

use families::Families;

/// How often the hwmon, thermal_zone and cpufreq collectors look up their files again (the
/// chips, zones and CPUs, and which files each has) when none has gone; one that has gone
/// fails with `ENOENT`, and the next sample looks them up at once.
///
/// A lookup walks directories, resolves symbolic links, reads names, labels and types and
/// allocates each path; a sample opens, reads and closes each value's file and nothing else.
/// Counted with `strace -f` on the fixture trees, a lookup costs two to six samples' system
/// calls (hwmon 182 against 60 a sample on the Raspberry Pi 4's, 333 against 144 on the
/// laptop's; cpufreq 106 against 17 on the Pi's, whose four CPUs share one policy). Every
/// minute, at the default 10 s interval, that would add a third to all of the samples' cost;
/// every five minutes it adds a tenth to a fifth, and a chip that appears late (a module loaded
/// after the agent started) shows within five minutes.
const RESCAN: Duration = Duration::from_secs(300);

/// Reads samples of this machine, or of a copy of its `/proc` and `/sys` under another root.
///
/// Each collector keeps what must outlive one sample: the CPU seconds last reported (so they
/// never go backwards, and for [`Sample::cpu_usage`]), the `statvfs` calls still blocked, its
/// read buffers. This keeps the notes of entries left out.
pub struct Collector {
    /// Where `proc/` and `sys/` are read from, and mount points are looked up under: `/` on a
    /// live system. Set by [`Collector::with_root`]; each collector joins its paths to it.
    root: PathBuf,
    /// `/proc/stat`: the CPUs' seconds and the kernel's counters, and the CPU usage.
    stat: stat::StatCollector,
    /// The load averages.
    load: loadavg::LoadavgCollector,
    /// `/proc/meminfo`: the sample's memory and swap, and the fields only v2 carries.
    memory: meminfo::MeminfoCollector,
    /// The mounts and their `statvfs`.
    filesystems: filesystem::FilesystemCollector,
    /// `/proc/net/dev` and each interface's `operstate`, and the columns only v2 carries.
    interfaces: netdev::NetdevCollector,
    /// The chips of `/sys/class/hwmon`: the sample's temperatures, and the rest only v2 carries.
    sensors: hwmon::HwmonCollector,
    /// `/proc/diskstats`.
    disks: diskstats::DiskstatsCollector,
    /// `/proc/pressure/*`.
    pressure: pressure::PressureCollector,
    /// The collectors of families only v2 carries, in the order their series go.
    more: Vec<Box<dyn Families>>,
    /// The `*.prom` files of `--textfile-dir` ([`Collector::with_textfile`]), whose series go
    /// last; without one, only `node_textfile_scrape_error 0`.
    textfile: textfile::TextfileCollector,
    /// The entries left out because the server would refuse their labels, for the log: the
    /// collectors add to it, [`Collector::take_notes`] empties it.
    notes: labels::Notes,
}

impl fmt::Debug for Collector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collector")
            .field("root", &self.root)
            .field("stat", &self.stat)
            .finish_non_exhaustive()
    }
}

impl Default for Collector {
    fn default() -> Self {
        Self::new()
    }
}

impl Collector {
    /// A collector of this machine.
    pub fn new() -> Self {
        Self::with_root(PathBuf::from("/"))
    }

    /// A collector that reads `<root>/proc/...` and `<root>/sys/...` instead of `/proc` and
    /// `/sys` (and so `<root>/run/udev/data` and `<root>/etc/os-release`), and calls `statvfs`
    /// on `<root>/<mount point>`: for tests on a fixture tree, or an agent looking at its
    /// host's `/proc` and `/sys` mounted into a container.
    ///
    /// Mount points under `root` are reported without it, and the others as they are, as
    /// node_exporter's `--path.rootfs` does. The process and timex collectors read the agent's
    /// own process and the kernel's clock, whatever the root.
    pub fn with_root(root: PathBuf) -> Self {
        Self {
            load: loadavg::LoadavgCollector::new(&root),
            stat: stat::StatCollector::new(&root),
            memory: meminfo::MeminfoCollector::new(&root),
            filesystems: filesystem::FilesystemCollector::new(&root),
            interfaces: netdev::NetdevCollector::new(&root),
            sensors: hwmon::HwmonCollector::new(&root),
            disks: diskstats::DiskstatsCollector::new(&root),
            pressure: pressure::PressureCollector::new(&root),
            more: vec![
                Box::new(filefd::FilefdCollector::new(&root)),
                Box::new(vmstat::VmstatCollector::new(&root)),
                Box::new(entropy::EntropyCollector::new(&root)),
                Box::new(mdadm::MdadmCollector::new(&root)),
                Box::new(bonding::BondingCollector::new(&root)),
                Box::new(nvme::NvmeCollector::new(&root)),
                Box::new(edac::EdacCollector::new(&root)),
                Box::new(rapl::RaplCollector::new(&root)),
                Box::new(power_supply::PowerSupplyCollector::new(&root)),
                Box::new(xfs::XfsCollector::new(&root)),
                Box::new(nfs::NfsCollector::new(&root)),
                Box::new(dmi::DmiCollector::new(&root)),
                Box::new(sockstat::SockstatCollector::new(&root)),
                Box::new(netstat::NetstatCollector::new(&root)),
                Box::new(conntrack::ConntrackCollector::new(&root)),
                Box::new(time::TimeCollector::new(&root)),
                Box::new(process::ProcessCollector::new(Path::new("/proc"))),
                Box::new(timex::TimexCollector::default()),
                Box::new(softnet::SoftnetCollector::new(&root)),
                Box::new(schedstat::SchedstatCollector::new(&root)),
                Box::new(arp::ArpCollector::new(&root)),
                Box::new(udp_queues::UdpQueuesCollector::new(&root)),
                Box::new(selinux::SelinuxCollector::new(&root)),
                Box::new(os::OsCollector::new(&root)),
                Box::new(netclass::NetclassCollector::new(&root)),
                Box::new(thermal_zone::ThermalZoneCollector::new(&root)),
                Box::new(cpufreq::CpufreqCollector::new(&root)),
            ],
            textfile: textfile::TextfileCollector::new(None, MAX_DECLARED),
            notes: labels::Notes::default(),
            root,
        }
    }

    /// Reads the `*.prom` files of `dir` as node_exporter's textfile collector does, their
    /// families and series within `budget` bytes of a declaration (at most [`MAX_DECLARED`]).
    pub fn with_textfile(mut self, dir: PathBuf, budget: usize) -> Self {
        self.textfile = textfile::TextfileCollector::new(Some(dir), budget);
        self
    }

    /// Log lines about entries left out of samples since the last call: an entry whose label
    /// would hold a control character or a line separator (a mount point with a newline), or
    /// one with the same labels as an earlier one. Each is said once, not every sample. Then
    /// the textfiles that could not be read, each when that appears, changes or goes.
    pub fn take_notes(&mut self) -> impl Iterator<Item = String> + '_ {
        self.notes.take().chain(self.textfile.take_log())
    }

    /// One sample, stamped `time_ms`.
    ///
    /// Never panics. A file that is missing or unreadable leaves its part empty or zero, a line
    /// that cannot be parsed leaves its entry out, and an entry that does not fit is counted in
    /// [`Sample::omitted`]. An entry whose labels the server would refuse (a text with a control
    /// character or a line separator, or the labels of an earlier entry of its collection) is
    /// left out and noted once (see [`Collector::take_notes`]). Waits at most about one second
    /// for filesystems that do not answer.
    pub fn collect(&mut self, time_ms: u64) -> Sample {
        let mut sample = Sample {
            time_ms,
            ..Sample::default()
        };
        self.stat.collect(&mut sample, &mut self.notes);
        self.load.collect(&mut sample);
        self.memory.collect(&mut sample);
        self.filesystems.collect(&mut sample, &mut self.notes);
        self.interfaces.collect(&mut sample, &mut self.notes);
        self.sensors.collect(&mut sample, &mut self.notes);
        self.disks.collect(&mut sample, &mut self.notes);
        self.pressure.collect(&mut sample);
        for collector in &mut self.more {
            collector.collect();
        }
        self.textfile.collect();
        sample
    }

    /// The series of `sample` (what [`collect`](Collector::collect) returned), then those of
    /// the families only v2 carries, as that same call read them: what a v2 agent declares
    /// and sends. A v1 agent sends `sample` alone.
    pub fn series(&self, sample: &Sample, out: &mut dyn Series) {
        sample.series(out);
        self.stat.series(out);
        self.memory.series(out);
        self.interfaces.series(out);
        self.filesystems.series(sample, out);
        self.disks.series(out);
        self.sensors.series(out);
        for collector in &self.more {
            collector.series(out);
        }
        self.textfile.series(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_core::sample::label_text_ok;
    use filesystem::mounts;
    use std::fs;
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn collects_this_machine() {
        let mut collector = Collector::new();
        let sample = collector.collect(42);
        assert_eq!(sample.time_ms, 42);
        assert_eq!(sample.check(), Ok(()));

        assert!(sample.memory.total > 0);
        assert!(sample.memory.available <= sample.memory.total);
        assert!(!sample.cpus.is_empty());
        assert!(sample.cpus.iter().any(|cpu| cpu.idle > 0.0));
        assert!(sample.context_switches > 0 && sample.forks > 0 && sample.procs_running > 0);

        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(sample.boot_time > 0 && sample.boot_time <= now);

        assert!(sample.interfaces.iter().any(|i| i.device == "lo"));

        // A root filesystem is there unless node_exporter would not report one either (a
        // container whose root is an overlay).
        let mounts = fs::read_to_string("/proc/1/mounts")
            .or_else(|_| fs::read_to_string("/proc/mounts"))
            .unwrap();
        if mounts::select(&mounts, "/")
            .iter()
            .any(|m| m.mountpoint == "/")
        {
            let root = sample.filesystems.iter().find(|fs| fs.mountpoint == "/");
            let root = root.expect("a filesystem for /");
            assert!(root.size > 0 && root.free <= root.size && root.avail <= root.free);
            assert!(root.files >= root.files_free);
        }

        let again = collector.collect(43);
        assert_eq!(again.check(), Ok(()));
        for (before, after) in sample.cpus.iter().zip(&again.cpus) {
            assert!(
                after
                    .modes()
                    .iter()
                    .zip(before.modes())
                    .all(|(a, b)| a.1 >= b.1)
            );
        }
    }

    /// A directory under the system's temp dir, removed when dropped.
    pub(super) struct FixtureTree(pub(super) PathBuf);

    impl FixtureTree {
        pub(super) fn new(name: &str) -> Self {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .subsec_nanos();
            let dir = std::env::temp_dir().join(format!(
                "vitals-collect-{name}-{}-{nanos}",
                std::process::id()
            ));
            fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        pub(super) fn write(&self, path: &str, contents: &str) {
            let path = self.0.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, contents).unwrap();
        }

        fn mkdir(&self, path: &str) {
            fs::create_dir_all(self.0.join(path)).unwrap();
        }

        /// Removes the file or symbolic link `path`.
        pub(super) fn remove(&self, path: &str) {
            fs::remove_file(self.0.join(path)).unwrap();
        }

        /// A copy of the fixture tree `fixtures/<name>`, which a test may then change.
        pub(super) fn copy_of(name: &str) -> Self {
            let tree = Self::new(name);
            let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures");
            copy_dir(&fixture.join(name), &tree.0);
            tree
        }
    }

    impl Drop for FixtureTree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Copies the tree `from` into `to`, keeping symbolic links as they are (sysfs's are
    /// relative, so they lead to the same place in the copy).
    fn copy_dir(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let (from, to) = (entry.path(), to.join(entry.file_name()));
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                std::os::unix::fs::symlink(fs::read_link(&from).unwrap(), &to).unwrap();
            } else if kind.is_dir() {
                copy_dir(&from, &to);
            } else {
                fs::copy(&from, &to).unwrap();
            }
        }
    }

    /// `fixtures/collector/`, a machine with two CPUs, `lo` and `eth0` and three hwmon chips.
    ///
    /// It has no `proc/1/mounts`: the fallback `proc/mounts` is read. There `/` is the fixture
    /// root itself, `/srv data` a read-only directory in it, `/gone` a mount point that does not
    /// exist (its `statvfs` fails, so it has only `node_filesystem_device_error`), `/sys` and
    /// `cgroup2` are excluded.
    ///
    /// hwmon0 is a coretemp linked from the class directory, named after its device. hwmon1 has
    /// no device and is named by its name file; a sensor of it reading garbage is skipped.
    /// hwmon10 has neither device nor name and is named after itself. `stray` is not a
    /// directory and is skipped.
    #[test]
    fn collects_a_fixture_root() {
        let tree = FixtureTree::copy_of("collector");

        let mut collector = Collector::with_root(tree.0.clone());
        let sample = collector.collect(1_700_000_123_456);
        assert_eq!(sample.check(), Ok(()));
        assert_eq!(sample.time_ms, 1_700_000_123_456);

        assert_eq!(sample.cpus.len(), 2);
        assert_eq!((sample.cpus[1].cpu, sample.cpus[1].user), (1, 2.0));
        assert_eq!(sample.context_switches, 123_456);
        assert_eq!(sample.forks, 789);
        assert_eq!((sample.procs_running, sample.procs_blocked), (2, 1));
        assert_eq!(sample.boot_time, 1_700_000_000);
        assert_eq!(
            (sample.load1, sample.load5, sample.load15),
            (1.5, 0.75, 0.25)
        );
        // From the file, since boot: 5.05 s busy of 105.55.
        assert!((sample.cpu_usage - 5.05 / 105.55).abs() < 1e-12);

        assert_eq!(sample.memory.total, 2_000_000 * 1024);
        assert_eq!(sample.memory.cached, 400_000 * 1024);

        let filesystems: Vec<(&str, &str, &str, bool)> = sample
            .filesystems
            .iter()
            .map(|f| {
                (
                    f.device.as_str(),
                    f.mountpoint.as_str(),
                    f.fstype.as_str(),
                    f.readonly,
                )
            })
            .collect();
        assert_eq!(
            filesystems,
            [
                ("/dev/vda", "/", "ext4", false),
                ("/dev/vdb", "/srv data", "xfs", true),
            ]
        );
        assert!(sample.filesystems[0].size > 0);
        let errors: Vec<(Vec<String>, f64)> = families::listed::named(|out| {
            collector.series(&sample, out);
        })
        .into_iter()
        .filter(|(family, _, _)| *family == "node_filesystem_device_error")
        .map(|(_, labels, value)| (labels, value))
        .collect();
        let labels = |l: [&str; 3]| l.map(str::to_owned).to_vec();
        assert_eq!(
            errors,
            [
                (labels(["/dev/vda", "ext4", "/"]), 0.0),
                (labels(["/dev/vdb", "xfs", "/srv data"]), 0.0),
                (labels(["server:/export", "nfs4", "/gone"]), 1.0),
            ]
        );

        let interfaces: Vec<(&str, bool, u64, u64)> = sample
            .interfaces
            .iter()
            .map(|i| (i.device.as_str(), i.up, i.rx_drop, i.tx_drop))
            .collect();
        assert_eq!(interfaces, [("lo", false, 0, 0), ("eth0", true, 1, 2)]);

        let sensors: Vec<(&str, &str, f64)> = sample
            .sensors
            .iter()
            .map(|s| (s.chip.as_str(), s.sensor.as_str(), s.celsius))
            .collect();
        assert_eq!(
            sensors,
            [
                ("platform_coretemp_0", "temp1", 45.0),
                ("platform_coretemp_0", "temp2", 47.0),
                ("platform_coretemp_0", "temp10", 51.5),
                ("acpi_tz", "temp1", 27.8),
                ("hwmon10", "temp1", -5.0),
            ]
        );
        assert_eq!(sample.omitted, Default::default());

        // iowait going back a little is held; a CPU whose idle fell far was replugged.
        tree.write(
            "proc/stat",
            "cpu0 101 0 101 5001 39 0 2 0 0 0\ncpu1 1 0 1 10 0 0 0 0 0 0\n",
        );
        let next = collector.collect(1_700_000_133_456);
        assert_eq!((next.cpus[0].iowait, next.cpus[0].idle), (0.4, 50.01));
        assert_eq!((next.cpus[1].user, next.cpus[1].idle), (0.01, 0.1));
        // cpu1's seconds were taken away, so the usage is since boot again.
        assert!(
            (next.cpu_usage - 2.06 / 52.57).abs() < 1e-12,
            "{}",
            next.cpu_usage
        );
    }

    #[test]
    fn entries_the_server_would_refuse_are_left_out_and_noted_once() {
        let tree = FixtureTree::new("refused");
        // cpu0 twice.
        tree.write(
            "proc/stat",
            "cpu0 1 0 1 10 0 0 0 0 0 0\ncpu1 2 0 2 20 0 0 0 0 0 0\ncpu0 9 0 9 90 0 0 0 0 0 0\n",
        );
        // A mount point with a newline and one with a tab (the kernel escapes both), a device
        // with an escape character (which it does not), and two mount points that are one
        // once cut to the 64 bytes a label holds.
        let long = "m".repeat(70);
        tree.mkdir(&format!("{long}1"));
        tree.mkdir(&format!("{long}2"));
        tree.mkdir("ok");
        tree.write(
            "proc/mounts",
            &format!(
                "/dev/vda / ext4 rw 0 0\n\
                 /dev/vdb /mnt/a\\012b ext4 rw 0 0\n\
                 /dev/vdc /mnt/c\\011d ext4 rw 0 0\n\
                 /dev/\x1b[31mred /ok ext4 rw 0 0\n\
                 /dev/vde /{long}1 ext4 rw 0 0\n\
                 /dev/vde /{long}2 ext4 rw 0 0\n"
            ),
        );
        // An interface whose name holds an escape character, and eth0 twice.
        tree.write(
            "proc/net/dev",
            "Inter-|   Receive\n face |bytes\n\
             eth0: 1 2 0 0 0 0 0 0 3 4 0 0 0 0 0 0\n\
             ev\x1bil: 1 2 0 0 0 0 0 0 3 4 0 0 0 0 0 0\n\
             eth0: 9 9 0 0 0 0 0 0 9 9 0 0 0 0 0 0\n",
        );
        // sda twice, and a device name with a control character.
        tree.write(
            "proc/diskstats",
            "   8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n\
                8 16 sd\x07b 1 2 3 4 5 6 7 8 9 10 11\n\
                8 0 sda 9 9 9 9 9 9 9 9 9 9 9\n",
        );
        // Two chips of one name and no device: their sensors and their chip names would be the
        // same series.
        tree.write("sys/class/hwmon/hwmon0/name", "acpitz\n");
        tree.write("sys/class/hwmon/hwmon0/temp1_input", "40000\n");
        tree.write("sys/class/hwmon/hwmon1/name", "acpitz\n");
        tree.write("sys/class/hwmon/hwmon1/temp1_input", "50000\n");

        let mut collector = Collector::with_root(tree.0.clone());
        let sample = collector.collect(0);
        let cpus: Vec<(u16, f64)> = sample.cpus.iter().map(|c| (c.cpu, c.user)).collect();
        assert_eq!(cpus, [(0, 0.01), (1, 0.02)], "the first cpu0 is kept");
        let mounts: Vec<&str> = sample
            .filesystems
            .iter()
            .map(|f| f.mountpoint.as_str())
            .collect();
        let cut = format!("/{}", &long[..63]);
        assert_eq!(mounts, ["/", cut.as_str()]);
        let interfaces: Vec<(&str, u64)> = sample
            .interfaces
            .iter()
            .map(|i| (i.device.as_str(), i.rx_bytes))
            .collect();
        assert_eq!(interfaces, [("eth0", 1)]);
        let disks: Vec<(&str, u64)> = sample
            .disks
            .iter()
            .map(|d| (d.device.as_str(), d.reads_completed))
            .collect();
        assert_eq!(disks, [("sda", 1)]);
        let sensors: Vec<(&str, &str, f64)> = sample
            .sensors
            .iter()
            .map(|s| (s.chip.as_str(), s.sensor.as_str(), s.celsius))
            .collect();
        assert_eq!(sensors, [("acpitz", "temp1", 40.0)]);
        assert_eq!(sample.omitted, Default::default(), "left out, not omitted");
        let labels_ok = |texts: &[&str]| texts.iter().all(|t| label_text_ok(t));
        assert!(sample.filesystems.iter().all(|f| labels_ok(&[
            &f.device,
            &f.fstype,
            &f.mountpoint
        ])));

        let notes: Vec<String> = collector.take_notes().collect();
        assert_eq!(notes.len(), 11, "{notes:#?}");
        for note in &notes {
            assert!(note.starts_with("left out "), "{note}");
            assert!(
                !note.chars().any(char::is_control),
                "one plain line: {note:?}"
            );
        }
        assert!(
            notes
                .iter()
                .any(|n| n.contains(r#"mountpoint="/mnt/a\nb""#)),
            "{notes:#?}"
        );
        assert!(
            notes.iter().any(|n| n.contains(r#"device="ev\u{1b}il""#)),
            "{notes:#?}"
        );
        // The next sample leaves out the same, and says nothing more.
        let again = collector.collect(1);
        assert_eq!(again.filesystems.len(), 2);
        assert_eq!(collector.take_notes().count(), 0);
    }

    #[test]
    fn a_missing_root_gives_an_empty_sample() {
        let mut collector = Collector::with_root(PathBuf::from("/nonexistent/vitals/root"));
        let sample = collector.collect(7);
        assert_eq!(
            sample,
            Sample {
                time_ms: 7,
                ..Sample::default()
            }
        );
    }

    #[test]
    fn full_collections_count_what_is_left_out() {
        let tree = FixtureTree::new("full");
        let mut stat = String::new();
        for cpu in 0..70 {
            stat.push_str(&format!("cpu{cpu} 1 2 3 4 5 6 7 8 0 0\n"));
        }
        tree.write("proc/stat", &stat);
        let sample = Collector::with_root(tree.0.clone()).collect(0);
        assert_eq!(sample.cpus.len(), agent_core::sample::MAX_CPUS);
        assert_eq!(
            usize::from(sample.omitted.cpus),
            70 - agent_core::sample::MAX_CPUS
        );
    }
}
