//! Block devices, `/proc/diskstats`, as node_exporter 1.5's diskstats collector reads it.

use std::path::{Path, PathBuf};

use agent_core::sample::{Disk, Sample, bounded, push_or_count};

use super::labels::Notes;
use super::read::read_text;

/// Reads the I/O counters of whole block devices.
#[derive(Debug)]
pub(super) struct DiskstatsCollector {
    /// `proc/diskstats` under the root.
    path: PathBuf,
    /// Holds the file being parsed; reused so a sample allocates nothing here.
    buf: Vec<u8>,
}

impl DiskstatsCollector {
    /// Reads `proc/diskstats` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            path: root.join("proc/diskstats"),
            buf: Vec::new(),
        }
    }

    /// Adds to [`Sample::disks`] the whole devices as node_exporter selects them, noting in
    /// `notes` those the server would refuse.
    pub(super) fn collect(&mut self, sample: &mut Sample, notes: &mut Notes) {
        let Some(text) = read_text(&mut self.buf, &self.path) else {
            return;
        };
        for disk in parse_diskstats(&text) {
            let taken = sample.disks.iter().any(|d| d.device == disk.device);
            if notes.admit("disk", &[("device", &disk.device)], taken) {
                push_or_count(&mut sample.disks, disk, &mut sample.omitted.disks);
            }
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

/// The devices of `/proc/diskstats` that node_exporter reports, in file order.
fn parse_diskstats(text: &str) -> impl Iterator<Item = Disk> + '_ {
    text.lines().filter_map(parse_disk_line)
}

fn parse_disk_line(line: &str) -> Option<Disk> {
    let mut fields = line.split_ascii_whitespace();
    let (_major, _minor, name) = (fields.next()?, fields.next()?, fields.next()?);
    if excluded(name) {
        return None;
    }
    let mut values = [0u64; 11];
    for slot in &mut values {
        *slot = fields.next()?.parse().ok()?;
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
    Some(Disk {
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROC_DISKSTATS: &str = include_str!("fixtures/diskstats/proc/diskstats");

    #[test]
    fn diskstats_like_node_exporter() {
        let disks: Vec<Disk> = parse_diskstats(PROC_DISKSTATS).collect();
        let names: Vec<&str> = disks.iter().map(|d| d.device.as_str()).collect();
        assert_eq!(names, ["vda", "nvme0n1", "mmcblk0", "mmcblk0p1", "dm-0"]);
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
            .map(|d| d.device.to_string())
            .collect();
        assert_eq!(names, ["sdc"]);
    }
}
