//! Block devices, `/proc/diskstats`, as node_exporter 1.5's diskstats collector reads it.
//!
//! The file is read once a sample. The eleven columns a v1 [`Disk`] has room for go into the
//! [`Sample`], as before; what only v2 carries is kept for [`DiskstatsCollector::series`]: the
//! discard and flush columns of newer kernels, and `node_disk_info`, whose labels after the
//! device's name and numbers come from its entry in udev's database (`/run/udev/data`), read
//! every sample as node_exporter reads it.

use std::fmt::Write as _;
use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use agent_core::catalogue::{Series, f};
use agent_core::sample::{Disk, Name, Sample, bounded, label_text_ok};
use agent_core::wire::MAX_TEXT;
use heapless::String as Text;

use super::labels::Notes;
use super::proc_file::ProcFile;
use super::read::join_into;

/// The columns after the eleven of a [`Disk`], in the kernel's order, with their families and
/// what their value is divided by (milliseconds to seconds): Linux 4.18 adds the four of
/// discards, 5.5 the two of flushes, and node_exporter reports as many as the kernel prints.
/// Discarded sectors are reported as they are, not in bytes as those read and written.
const MORE_COLUMNS: [(u16, f64); 6] = [
    (f::DISK_DISCARDS, 1.0),
    (f::DISK_DISCARDS_MERGED, 1.0),
    (f::DISK_DISCARDED_SECTORS, 1.0),
    (f::DISK_DISCARD_TIME, 1000.0),
    (f::DISK_FLUSHES, 1.0),
    (f::DISK_FLUSH_TIME, 1000.0),
];

/// The udev properties of `node_disk_info`'s labels after the device numbers, in the
/// family's order: `path`, `wwn`, `model`, `serial`, `revision`.
const UDEV_KEYS: [&str; 5] = [
    "ID_PATH",
    "ID_WWN",
    "ID_MODEL",
    "ID_SERIAL_SHORT",
    "ID_REVISION",
];

/// The bytes of a udev database entry read: a disk's is a few hundred, mostly its symbolic
/// links. node_exporter reads lines of up to 64 KiB, and stops at a longer one.
const UDEV_READ: u64 = 64 * 1024;

/// A device number, as node_exporter prints it.
type Number = Text<10>;

/// What a v1 [`Disk`] has no room for, of one device of the sample.
#[derive(Debug)]
struct More {
    /// The `device` label, as the sample's [`Disk::device`].
    device: Name,
    /// The major and minor device numbers.
    major: Number,
    minor: Number,
    /// The columns of [`MORE_COLUMNS`], as `/proc/diskstats` gives them.
    columns: [u64; 6],
    /// How many of `columns` the kernel printed.
    printed: usize,
    /// The values of [`UDEV_KEYS`]; empty where the device has no entry or the entry no such
    /// property.
    udev: [Text<MAX_TEXT>; 5],
}

/// Reads the I/O counters of whole block devices.
#[derive(Debug)]
pub(super) struct DiskstatsCollector {
    /// `proc/diskstats` under the root.
    path: ProcFile,
    /// Holds the file being parsed; reused so a sample allocates nothing here.
    buf: Vec<u8>,
    /// udev's database under the root.
    udev: UdevDatabase,
    /// The devices of the last sample's [`Sample::disks`], in its order, with what the sample
    /// has no room for.
    more: Vec<More>,
}

impl DiskstatsCollector {
    /// Reads `proc/diskstats` and `run/udev/data` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            path: ProcFile::new(root.join("proc/diskstats")),
            buf: Vec::new(),
            udev: UdevDatabase {
                dir: root.join("run/udev/data"),
                path: PathBuf::new(),
                buf: Vec::new(),
            },
            more: Vec::new(),
        }
    }

    /// Adds to [`Sample::disks`] the whole devices as node_exporter selects them, noting in
    /// `notes` those the server would refuse, and keeps what else the file and udev say of
    /// them for [`series`](DiskstatsCollector::series).
    pub(super) fn collect(&mut self, sample: &mut Sample, notes: &mut Notes) {
        self.more.clear();
        let Some(text) = self.path.read(&mut self.buf) else {
            return;
        };
        for (disk, line) in parse_diskstats(&text) {
            let taken = sample.disks.iter().any(|d| d.device == disk.device);
            if !notes.admit("disk", &[("device", &disk.device)], taken) {
                continue;
            }
            let device = disk.device.clone();
            if sample.disks.push(disk).is_err() {
                sample.omitted.disks = sample.omitted.disks.saturating_add(1);
                continue;
            }
            let mut more = More {
                device,
                major: number(line.major),
                minor: number(line.minor),
                columns: line.columns,
                printed: line.printed,
                udev: Default::default(),
            };
            self.udev.properties(line.major, line.minor, &mut more.udev);
            self.more.push(more);
        }
    }

    /// The series of the last [`collect`](DiskstatsCollector::collect)'s devices that only v2
    /// carries: the discard and flush columns the kernel printed, and `node_disk_info`, but
    /// for a device whose udev entry holds a text the server would refuse.
    pub(super) fn series(&self, out: &mut dyn Series) {
        out.section("disks more");
        for more in &self.more {
            let device = more.device.as_str();
            out.identity(device);
            let columns = MORE_COLUMNS.iter().zip(more.columns).take(more.printed);
            for (&(family, divisor), value) in columns {
                out.add(family, &[device], value as f64 / divisor);
            }
            let [path, wwn, model, serial, revision] = &more.udev;
            let labels = [
                device,
                more.major.as_str(),
                more.minor.as_str(),
                path.as_str(),
                wwn.as_str(),
                model.as_str(),
                serial.as_str(),
                revision.as_str(),
            ];
            if labels.iter().all(|l| label_text_ok(l)) {
                for label in labels.iter().skip(1) {
                    out.identity(label);
                }
                out.add(f::DISK_INFO, &labels, 1.0);
            }
        }
    }
}

/// Reads block devices' entries in udev's database.
#[derive(Debug)]
struct UdevDatabase {
    /// `run/udev/data` under the root.
    dir: PathBuf,
    /// A device's entry in `dir`; reused.
    path: PathBuf,
    /// Holds the entry being parsed; reused.
    buf: Vec<u8>,
}

impl UdevDatabase {
    /// Sets `values` to the properties of [`UDEV_KEYS`] of the block device's entry,
    /// `b<major>:<minor>`; leaves them empty when it has none.
    fn properties(&mut self, major: u32, minor: u32, values: &mut [Text<MAX_TEXT>; 5]) {
        let mut name = Text::<24>::new();
        let _ = write!(name, "b{major}:{minor}");
        join_into(&mut self.path, &self.dir, &[&name]);
        self.buf.clear();
        let Ok(file) = File::open(&self.path) else {
            return;
        };
        if file.take(UDEV_READ).read_to_end(&mut self.buf).is_ok() {
            udev_properties(&String::from_utf8_lossy(&self.buf), values);
        }
    }
}

/// `n` in decimal.
fn number(n: u32) -> Number {
    let mut text = Number::new();
    let _ = write!(text, "{n}");
    text
}

/// Sets `values` to the properties of [`UDEV_KEYS`] in a udev database entry: its `E:` lines,
/// `E:KEY=value`, the last of a key counting, as node_exporter reads them.
fn udev_properties(entry: &str, values: &mut [Text<MAX_TEXT>; 5]) {
    for line in entry.lines() {
        let Some((key, value)) = line.strip_prefix("E:").and_then(|p| p.split_once('=')) else {
            continue;
        };
        if let Some(i) = UDEV_KEYS.iter().position(|&k| k == key)
            && let Some(slot) = values.get_mut(i)
        {
            *slot = bounded(value);
        }
    }
}

/// `/proc/diskstats` counts in sectors of 512 bytes, whatever the device's sector size.
const SECTOR: u64 = 512;

/// Whether node_exporter 1.5's default `--collector.diskstats.device-exclude`,
/// `^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`, excludes `name`: RAM disks, loop and
/// floppy devices, and the partitions of whole disks that are reported too.
fn excluded(name: &str) -> bool {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if base.len() == name.len() {
        return false; // no trailing number
    }
    let disk_partition = |prefix: &str| {
        base.strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('d'))
            .is_some_and(|letter| {
                letter.len() == 1 && letter.bytes().all(|b| b.is_ascii_lowercase())
            })
    };
    let nvme_partition = || {
        // nvme<digits>n<digits>p
        let Some(rest) = base.strip_prefix("nvme").and_then(|r| r.strip_suffix('p')) else {
            return false;
        };
        let Some((controller, namespace)) = rest.split_once('n') else {
            return false;
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        digits(controller) && digits(namespace)
    };
    matches!(base, "ram" | "loop" | "fd")
        || ["h", "s", "v", "xv"].into_iter().any(disk_partition)
        || nvme_partition()
}

/// What a line of `/proc/diskstats` has besides a [`Disk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Line {
    major: u32,
    minor: u32,
    /// The columns of [`MORE_COLUMNS`] the kernel printed, then zeros.
    columns: [u64; 6],
    /// How many it printed.
    printed: usize,
}

/// The devices of `/proc/diskstats` that node_exporter reports, in file order.
fn parse_diskstats(text: &str) -> impl Iterator<Item = (Disk, Line)> + '_ {
    text.lines().filter_map(parse_disk_line)
}

fn parse_disk_line(line: &str) -> Option<(Disk, Line)> {
    let mut fields = line.split_ascii_whitespace();
    let (major, minor, name) = (fields.next()?, fields.next()?, fields.next()?);
    if excluded(name) {
        return None;
    }
    let (major, minor) = (major.parse().ok()?, minor.parse().ok()?);
    let mut values = [0u64; 11];
    for slot in &mut values {
        *slot = fields.next()?.parse().ok()?;
    }
    let mut columns = [0u64; 6];
    let mut printed = 0;
    for (slot, field) in columns.iter_mut().zip(fields) {
        let Ok(value) = field.parse() else { break };
        *slot = value;
        printed += 1;
    }
    let ms = |v: u64| v as f64 / 1000.0;
    let [
        reads,
        reads_merged,
        sectors_read,
        read_ms,
        writes,
        writes_merged,
        sectors_written,
        write_ms,
        io_now,
        io_ms,
        weighted_ms,
    ] = values;
    let disk = Disk {
        device: bounded(name),
        reads_completed: reads,
        reads_merged,
        read_bytes: sectors_read.saturating_mul(SECTOR),
        read_time: ms(read_ms),
        writes_completed: writes,
        writes_merged,
        written_bytes: sectors_written.saturating_mul(SECTOR),
        write_time: ms(write_ms),
        io_now,
        io_time: ms(io_ms),
        io_time_weighted: ms(weighted_ms),
    };
    let line = Line {
        major,
        minor,
        columns,
        printed,
    };
    Some((disk, line))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/proc/diskstats` of kernels of each age: vda's line has the discard and flush columns
    /// (Linux 5.5 and later), sda's the discard ones (4.18 to 5.4), the others neither.
    const PROC_DISKSTATS: &str = include_str!("fixtures/diskstats/proc/diskstats");

    /// The fixture tree: `proc/diskstats`, and udev entries for nvme0n1 (259:0) and mmcblk0
    /// (179:0), a Raspberry Pi's SD card, which has a path but no model.
    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/diskstats")
    }

    /// Each series only v2 carries, by family name.
    fn series_of(collector: &DiskstatsCollector) -> Vec<(&'static str, Vec<String>, f64)> {
        super::super::families::listed::named(|out| collector.series(out))
    }

    #[test]
    fn diskstats_like_node_exporter() {
        let disks: Vec<Disk> = parse_diskstats(PROC_DISKSTATS).map(|(d, _)| d).collect();
        let names: Vec<&str> = disks.iter().map(|d| d.device.as_str()).collect();
        assert_eq!(
            names,
            ["vda", "nvme0n1", "mmcblk0", "mmcblk0p1", "dm-0", "sda"]
        );
        let vda = &disks[0];
        assert_eq!(vda.reads_completed, 195_657);
        assert_eq!(vda.reads_merged, 14_142);
        assert_eq!(vda.read_bytes, 14_553_450 * 512);
        assert_eq!(vda.read_time, 2622.183);
        assert_eq!(vda.writes_completed, 19_492);
        assert_eq!(vda.written_bytes, 9_021_360 * 512);
        assert_eq!(vda.write_time, 87.89);
        assert_eq!(vda.io_now, 0);
        assert_eq!(vda.io_time, 108.884);
        assert_eq!(vda.io_time_weighted, 2732.551);
        assert_eq!(disks[1].io_now, 1);
    }

    #[test]
    fn diskstats_exclude_follows_the_default_pattern() {
        for name in [
            "ram0",
            "loop12",
            "fd0",
            "sda1",
            "hdb2",
            "vdc10",
            "xvda1",
            "nvme0n1p2",
            "nvme10n2p1",
        ] {
            assert!(excluded(name), "{name}");
        }
        for name in [
            "sda",
            "vda",
            "nvme0n1",
            "mmcblk0p1",
            "dm-0",
            "md0",
            "sdaa1",
            "loop",
            "zram0",
        ] {
            assert!(!excluded(name), "{name}");
        }
    }

    #[test]
    fn diskstats_malformed_lines_are_skipped() {
        let text = "8 0 sda 1 2 3\n8 0\nx y sdb a b c d e f g h i j k\n 8 16 sdc 1 2 3 4 5 6 7 8 9 10 11\n";
        let names: Vec<String> = parse_diskstats(text)
            .map(|(d, _)| d.device.to_string())
            .collect();
        assert_eq!(names, ["sdc"]);
    }

    #[test]
    fn the_columns_newer_kernels_add_as_many_as_printed() {
        let line = |text| parse_disk_line(text).map(|(_, line)| line);
        assert_eq!(
            line("  8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17"),
            Some(Line {
                major: 8,
                minor: 0,
                columns: [12, 13, 14, 15, 16, 17],
                printed: 6,
            })
        );
        // Columns after the seventeenth are not read; one that is not a number ends them.
        let more = |text| line(text).map(|l| (l.columns, l.printed));
        assert_eq!(
            more("8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18"),
            Some(([12, 13, 14, 15, 16, 17], 6))
        );
        assert_eq!(
            more("8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 x 14 15"),
            Some(([12, 0, 0, 0, 0, 0], 1))
        );
        assert_eq!(more("8 0 sda 1 2 3 4 5 6 7 8 9 10 11"), Some(([0; 6], 0)));
        // The device numbers must be numbers, as node_exporter's scan of the line requires.
        assert_eq!(line("8 x sda 1 2 3 4 5 6 7 8 9 10 11"), None);
    }

    #[test]
    fn discards_flushes_and_info_from_the_fixture() {
        let mut collector = DiskstatsCollector::new(&fixture());
        let mut sample = Sample::default();
        collector.collect(&mut sample, &mut Notes::default());
        assert_eq!(sample.disks.len(), 6);
        let series = series_of(&collector);

        let of = |family: &str, device: &str| -> Vec<f64> {
            series
                .iter()
                .filter(|(f, l, _)| *f == family && l[0] == device)
                .map(|(_, _, v)| *v)
                .collect()
        };
        assert_eq!(of("node_disk_discards_completed_total", "vda"), [12290.0]);
        assert_eq!(of("node_disk_discards_merged_total", "vda"), [52.0]);
        assert_eq!(
            of("node_disk_discarded_sectors_total", "vda"),
            [1_939_616.0]
        );
        assert_eq!(of("node_disk_discard_time_seconds_total", "vda"), [22.398]);
        assert_eq!(of("node_disk_flush_requests_total", "vda"), [1685.0]);
        assert_eq!(
            of("node_disk_flush_requests_time_seconds_total", "vda"),
            [0.079]
        );
        assert_eq!(of("node_disk_discard_time_seconds_total", "sda"), [1.281]);
        assert_eq!(of("node_disk_flush_requests_total", "sda"), []);
        assert_eq!(of("node_disk_discards_completed_total", "nvme0n1"), []);

        let info: Vec<&Vec<String>> = series
            .iter()
            .filter(|(f, _, v)| *f == "node_disk_info" && *v == 1.0)
            .map(|(_, labels, _)| labels)
            .collect();
        let text = |labels: &[&str]| labels.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            info,
            [
                &text(&["vda", "254", "0", "", "", "", "", ""]),
                &text(&[
                    "nvme0n1",
                    "259",
                    "0",
                    "pci-0000:01:00.0-nvme-1",
                    "eui.0025385b91234567",
                    "Samsung SSD 970 EVO Plus 1TB",
                    "S4EWNX0N123456A",
                    "2B2QEXM7",
                ]),
                &text(&[
                    "mmcblk0",
                    "179",
                    "0",
                    "platform-fe340000.mmc",
                    "",
                    "",
                    "",
                    ""
                ]),
                &text(&["mmcblk0p1", "179", "1", "", "", "", "", ""]),
                &text(&["dm-0", "253", "0", "", "", "", "", ""]),
                &text(&["sda", "8", "0", "", "", "", "", ""]),
            ]
        );
        // Six disks' info, vda's six columns and sda's four.
        assert_eq!(series.len(), 6 + 6 + 4);
    }

    #[test]
    fn udev_properties_last_wins_and_a_refused_text_leaves_out_the_info() {
        let mut values: [Text<MAX_TEXT>; 5] = Default::default();
        udev_properties(
            "S:disk/by-id/x\nE:ID_MODEL=first\nE:ID_MODEL=second\nE:ID_SERIAL_SHORT\n\
             E:ID_REVISION=a=b\nE:ID_PATH_TAG=no\nID_WWN=no\n",
            &mut values,
        );
        assert_eq!(
            values.each_ref().map(|v| v.as_str()),
            ["", "", "second", "", "a=b"]
        );

        let long = "m".repeat(200);
        udev_properties(&format!("E:ID_MODEL={long}\n"), &mut values);
        assert_eq!(values[2].len(), MAX_TEXT);

        let tree = std::env::temp_dir().join(format!("vitals-diskstats-{}", std::process::id()));
        std::fs::create_dir_all(tree.join("proc")).unwrap();
        std::fs::create_dir_all(tree.join("run/udev/data")).unwrap();
        std::fs::write(
            tree.join("proc/diskstats"),
            "8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n8 16 sdb 1 2 3 4 5 6 7 8 9 10 11\n",
        )
        .unwrap();
        std::fs::write(tree.join("run/udev/data/b8:0"), "E:ID_MODEL=tab\there\n").unwrap();
        std::fs::write(tree.join("run/udev/data/b8:16"), "E:ID_MODEL=fine\n").unwrap();
        let mut collector = DiskstatsCollector::new(&tree);
        collector.collect(&mut Sample::default(), &mut Notes::default());
        std::fs::remove_dir_all(&tree).unwrap();
        let info: Vec<Vec<String>> = series_of(&collector)
            .into_iter()
            .map(|(_, labels, _)| labels)
            .collect();
        assert_eq!(info, [["sdb", "8", "16", "", "", "fine", "", ""]]);
    }

    #[test]
    fn a_missing_file_forgets_the_last_sample() {
        let mut collector = DiskstatsCollector::new(&fixture());
        collector.collect(&mut Sample::default(), &mut Notes::default());
        assert!(!series_of(&collector).is_empty());
        collector.path = ProcFile::new(PathBuf::from("/nonexistent/vitals/diskstats"));
        let mut sample = Sample::default();
        collector.collect(&mut sample, &mut Notes::default());
        assert!(sample.disks.is_empty());
        assert!(series_of(&collector).is_empty());
    }
}
