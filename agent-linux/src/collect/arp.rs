//! The ARP table, `/proc/net/arp`, counted by device as node_exporter's arp collector counts
//! it.

use std::path::Path;

use agent_core::catalogue::{Series, f};
use agent_core::sample::label_text_ok;

use super::families::Families;
use super::proc_file::ProcFile;

/// The columns of an entry: IP address, HW type, flags, HW address, mask, device. node_exporter
/// fails the whole file on a line with fewer.
const COLUMNS: usize = 6;

/// The most devices counted: the table has entries on a machine's interfaces only, and a tree
/// under another root must not make a sample grow without end.
const MAX_DEVICES: usize = 64;

/// Counts the entries of each device.
#[derive(Debug)]
pub(super) struct ArpCollector {
    /// `proc/net/arp` under the root.
    path: ProcFile,
    /// Holds the file being parsed; reused.
    buf: Vec<u8>,
    /// Each device's name and count of entries, in the order of its first entry; the strings
    /// are reused.
    devices: Vec<(String, u32)>,
    /// How many of `devices` the last sample counted: none when the file could not be read or
    /// had a line of fewer than [`COLUMNS`] columns, as node_exporter then gives none.
    read: usize,
}

impl ArpCollector {
    /// Reads `proc/net/arp` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            path: ProcFile::new(root.join("proc/net/arp")),
            buf: Vec::new(),
            devices: Vec::new(),
            read: 0,
        }
    }
}

impl Families for ArpCollector {
    fn collect(&mut self) {
        self.read = self
            .path
            .read(&mut self.buf)
            .and_then(|text| count_entries(&text, &mut self.devices))
            .unwrap_or(0);
    }

    fn series(&self, out: &mut dyn Series) {
        out.section("arp");
        for (device, entries) in self.devices.iter().take(self.read) {
            if label_text_ok(device) {
                out.identity(device);
                out.add(f::ARP_ENTRIES, &[device], f64::from(*entries));
            }
        }
    }
}

/// Counts the entries of `text` by device (the last column) into `devices`, reusing its
/// strings, and returns how many devices it has; the header, whose first column is `IP`, is
/// no entry. `None` if a line has fewer than [`COLUMNS`] columns.
fn count_entries(text: &str, devices: &mut Vec<(String, u32)>) -> Option<usize> {
    let mut used = 0;
    for line in text.lines() {
        let (mut n, mut first, mut last) = (0, "", "");
        for column in line.split_whitespace() {
            if n == 0 {
                first = column;
            }
            last = column;
            n += 1;
        }
        if n < COLUMNS {
            return None;
        }
        if first == "IP" {
            continue;
        }
        let counted = devices
            .iter_mut()
            .take(used)
            .find(|(d, _)| d.as_str() == last);
        if let Some((_, entries)) = counted {
            *entries = entries.wrapping_add(1);
        } else if used < MAX_DEVICES {
            match devices.get_mut(used) {
                Some((device, entries)) => {
                    device.clear();
                    device.push_str(last);
                    *entries = 1;
                }
                None => devices.push((last.to_owned(), 1)),
            }
            used += 1;
        }
    }
    Some(used)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::PathBuf;

    /// `fixtures/arp`: this machine's table (its gateway on `eth0`), with an incomplete entry
    /// and another on `eth0` and two on a libvirt bridge added.
    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/arp")
    }

    #[test]
    fn entries_by_device_from_the_fixture() {
        let mut collector = ArpCollector::new(&fixture());
        collector.collect();
        assert_eq!(
            super::super::families::listed::series(|out| collector.series(out)),
            [
                (f::ARP_ENTRIES, vec!["eth0".to_owned()], 3.0),
                (f::ARP_ENTRIES, vec!["virbr0".to_owned()], 2.0),
            ]
        );
    }

    #[test]
    fn a_missing_file_or_a_short_line_gives_no_series() {
        let mut collector = ArpCollector::new(Path::new("/nonexistent"));
        collector.collect();
        assert!(super::super::families::listed::series(|out| collector.series(out)).is_empty());

        let good = fs::read_to_string(fixture().join("proc/net/arp")).unwrap();
        let mut devices = Vec::new();
        assert_eq!(count_entries(&good, &mut devices), Some(2));
        let short = format!("{good}10.0.0.1 0x1 0x2 *\n");
        assert_eq!(count_entries(&short, &mut devices), None);
        let blank = format!("{good}\n{good}");
        assert_eq!(count_entries(&blank, &mut devices), None);
        let header = good.lines().next().unwrap();
        assert_eq!(count_entries(header, &mut devices), Some(0));
        assert_eq!(count_entries("", &mut devices), Some(0));
    }

    /// A second sample reuses the first's strings, and counts afresh.
    #[test]
    fn counts_start_again_each_sample() {
        let mut devices = Vec::new();
        let line = |device: &str| format!("10.0.0.1 0x1 0x2 00:00:00:00:00:01 * {device}\n");
        let text = [line("eth0"), line("wlan0"), line("eth0")].concat();
        assert_eq!(count_entries(&text, &mut devices), Some(2));
        assert_eq!(count_entries(&line("wlan0"), &mut devices), Some(1));
        assert_eq!(devices[0], ("wlan0".to_owned(), 1));
        assert_eq!(
            devices.len(),
            2,
            "the second string is kept for the next sample"
        );

        let many: String = (0..MAX_DEVICES + 5)
            .map(|i| line(&format!("veth{i}")))
            .collect();
        assert_eq!(count_entries(&many, &mut devices), Some(MAX_DEVICES));
    }
}
