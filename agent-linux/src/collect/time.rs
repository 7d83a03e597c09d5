//! The time zone and the clocksources: node_exporter's time collector, but for
//! `node_time_seconds`, which every sample's time gives.

use std::fs::{self, File};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use agent_core::catalogue::{Series, f};
use agent_core::sample::label_text_ok;
use tz::TimeZone;

use super::families::Families;
use super::read::join_into;

/// The directories Go looks a relative `TZ` up in, in its order.
const ZONE_DIRS: [&str; 3] = [
    "/usr/share/zoneinfo",
    "/usr/share/lib/zoneinfo",
    "/usr/lib/locale/TZ",
];

/// The most clocksource devices read: a machine has one, and a tree under another root must
/// not make a sample grow without end.
const MAX_DEVICES: usize = 16;

/// The `device` label of each device, by number.
const DEVICE_LABELS: [&str; MAX_DEVICES] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
];

/// The bytes of a clocksource file read, in one `read(2)`, as node_exporter reads them (its
/// `SysReadFile`): a longer list is cut there, as node_exporter cuts it.
const SYSFS_READ: usize = 128;

/// Reads the zone's offset now and the clocksources.
#[derive(Debug)]
pub(super) struct TimeCollector {
    /// The local time zone, loaded once at start as Go loads it for node_exporter (see
    /// [`local_zone`]); `None` for UTC.
    zone: Option<TimeZone>,
    /// The zone's abbreviation at the last sample, the `time_zone` label.
    zone_name: String,
    /// The zone's offset from UTC at the last sample, in seconds.
    zone_offset: i32,
    /// `sys/devices/system/clocksource` under the root.
    dir: PathBuf,
    /// The names of the clocksource devices, in the order that numbers them; reused.
    names: Vec<String>,
    /// A device's file being read; reused.
    path: PathBuf,
    /// Each device's available clocksources (the text, separated by spaces) and current one,
    /// in `names`' order; the strings are reused.
    devices: Vec<(String, String)>,
    /// How many of `devices` the last sample read: none when a device's files could not be
    /// read, as node_exporter then reports none.
    read: usize,
}

impl TimeCollector {
    /// Reads `sys/devices/system/clocksource` under `root`, and the zone the `TZ` environment
    /// variable or `/etc/localtime` names (which node_exporter reads from its own root, not
    /// from `--path.rootfs`).
    pub(super) fn new(root: &Path) -> Self {
        let tz = std::env::var_os("TZ").map(|tz| tz.to_string_lossy().into_owned());
        Self {
            zone: local_zone(tz.as_deref()),
            zone_name: String::new(),
            zone_offset: 0,
            dir: root.join("sys/devices/system/clocksource"),
            names: Vec::new(),
            path: PathBuf::new(),
            devices: Vec::new(),
            read: 0,
        }
    }

    /// Reads the devices' files into `devices`; `false` if one could not be read.
    fn read_clocksources(&mut self) -> bool {
        self.names.clear();
        let Ok(entries) = fs::read_dir(&self.dir) else {
            // node_exporter globs the directory, and a missing one matches nothing.
            return true;
        };
        for entry in entries.flatten() {
            if let Some(name) = entry.file_name().to_str()
                && is_device(name)
            {
                self.names.push(name.to_owned());
            }
        }
        // Go's glob sorts its matches by name, and numbers devices in that order.
        self.names.sort_unstable();
        self.names.truncate(MAX_DEVICES);
        if self.devices.len() < self.names.len() {
            self.devices.resize_with(self.names.len(), Default::default);
        }
        let path = &mut self.path;
        for (name, (available, current)) in self.names.iter().zip(&mut self.devices) {
            join_into(path, &self.dir, &[name, "available_clocksource"]);
            let ok = read_sysfs(path, available);
            path.set_file_name("current_clocksource");
            if !(ok && read_sysfs(path, current)) {
                return false;
            }
        }
        true
    }
}

impl Families for TimeCollector {
    fn collect(&mut self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
            });
        let (name, offset) = zone_at(self.zone.as_ref(), now);
        self.zone_name.clear();
        self.zone_name.push_str(name);
        self.zone_offset = offset;
        self.read = if self.read_clocksources() {
            self.names.len()
        } else {
            0
        };
    }

    fn series(&self, out: &mut dyn Series) {
        out.section("time");
        if label_text_ok(&self.zone_name) {
            out.identity(&self.zone_name);
            out.add(
                f::TIME_ZONE_OFFSET,
                &[&self.zone_name],
                f64::from(self.zone_offset),
            );
        }
        for (device, (available, current)) in
            DEVICE_LABELS.iter().zip(&self.devices).take(self.read)
        {
            out.identity(device);
            for (j, source) in available.split_whitespace().enumerate() {
                // The kernel lists each once; a copy would be a second series of one name.
                let again = available.split_whitespace().take(j).any(|s| s == source);
                if label_text_ok(source) && !again {
                    out.identity(source);
                    out.add(f::CLOCKSOURCE_AVAILABLE, &[source, device], 1.0);
                }
            }
            if label_text_ok(current) {
                out.identity(current);
                out.add(f::CLOCKSOURCE_CURRENT, &[current, device], 1.0);
            }
        }
    }
}

/// Whether a directory entry is a clocksource device: `clocksource` then a digit, the names
/// node_exporter's `clocksource[0-9]*` matches.
fn is_device(name: &str) -> bool {
    name.strip_prefix("clocksource")
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// Sets `into` to the first [`SYSFS_READ`] bytes of `path`, trimmed; `false` if it cannot be
/// read.
fn read_sysfs(path: &Path, into: &mut String) -> bool {
    let mut buf = [0u8; SYSFS_READ];
    let Ok(n) = File::open(path).and_then(|mut file| file.read(&mut buf)) else {
        return false;
    };
    into.clear();
    into.push_str(String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).trim());
    true
}

/// The time zone Go's `time.Local` is, for `TZ` (`None` when unset); `None` for UTC.
///
/// Unset, `/etc/localtime`; empty or `UTC`, UTC; else, without a leading `:`, the file it
/// names if absolute, or the first of [`ZONE_DIRS`] that has it. A file that is missing or not
/// a time zone file gives UTC, as it does in Go.
fn local_zone(tz: Option<&str>) -> Option<TimeZone> {
    let load = |path: &Path| {
        let bytes = fs::read(path).ok()?;
        TimeZone::from_tz_data(&bytes).ok()
    };
    let Some(tz) = tz else {
        return load(Path::new("/etc/localtime"));
    };
    let tz = tz.strip_prefix(':').unwrap_or(tz);
    if tz.is_empty() || tz == "UTC" {
        None
    } else if tz.starts_with('/') {
        load(Path::new(tz))
    } else {
        ZONE_DIRS
            .iter()
            .find_map(|dir| load(&Path::new(dir).join(tz)))
    }
}

/// The abbreviation and offset of `zone` (`None` for UTC) at `unix` seconds.
fn zone_at(zone: Option<&TimeZone>, unix: i64) -> (&str, i32) {
    zone.and_then(|zone| zone.find_local_time_type(unix).ok())
        .map_or(("UTC", 0), |local| {
            (local.time_zone_designation(), local.ut_offset())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/time")
    }

    /// Each series as (family name, labels, value).
    fn series_of(collector: &TimeCollector) -> Vec<(&'static str, Vec<String>, f64)> {
        super::super::families::listed::named(|out| collector.series(out))
    }

    fn labels(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| (*t).to_owned()).collect()
    }

    /// clocksource0, 1 and 10 are devices 0, 1 and 2 (Go's order); `power`, `uevent` and
    /// `clocksourcex` are not devices.
    #[test]
    fn clocksources_numbered_in_name_order() {
        let mut collector = TimeCollector::new(&fixture());
        collector.zone = None;
        collector.collect();
        assert_eq!(
            series_of(&collector),
            [
                ("node_time_zone_offset_seconds", labels(&["UTC"]), 0.0),
                (
                    "node_time_clocksource_available_info",
                    labels(&["tsc", "0"]),
                    1.0
                ),
                (
                    "node_time_clocksource_available_info",
                    labels(&["hpet", "0"]),
                    1.0
                ),
                (
                    "node_time_clocksource_available_info",
                    labels(&["acpi_pm", "0"]),
                    1.0
                ),
                (
                    "node_time_clocksource_current_info",
                    labels(&["tsc", "0"]),
                    1.0
                ),
                (
                    "node_time_clocksource_available_info",
                    labels(&["kvm-clock", "1"]),
                    1.0
                ),
                (
                    "node_time_clocksource_current_info",
                    labels(&["kvm-clock", "1"]),
                    1.0
                ),
                (
                    "node_time_clocksource_available_info",
                    labels(&["arch_sys_counter", "2"]),
                    1.0
                ),
                (
                    "node_time_clocksource_current_info",
                    labels(&["arch_sys_counter", "2"]),
                    1.0
                ),
            ]
        );
    }

    #[test]
    fn a_device_that_cannot_be_read_leaves_out_every_clocksource() {
        let mut collector = TimeCollector::new(&fixture());
        collector.dir = fixture().join("sys/devices/system/broken");
        collector.zone = None;
        collector.collect();
        assert_eq!(
            series_of(&collector),
            [("node_time_zone_offset_seconds", labels(&["UTC"]), 0.0)]
        );

        collector.dir = PathBuf::from("/nonexistent");
        collector.collect();
        assert_eq!(series_of(&collector).len(), 1, "no directory, no devices");
    }

    /// Europe/Paris of Debian's tzdata 2025b: its transitions, then past the last one the rule
    /// of its footer.
    #[test]
    fn zones_as_go_loads_them() {
        let paris = fixture().join("zoneinfo/Europe/Paris");
        let paris = paris.to_str().unwrap();
        let zone = local_zone(Some(paris));
        assert!(zone.is_some());
        // 2024-01-15 and 2024-07-01, and 2100-07-01, past the last transition.
        assert_eq!(zone_at(zone.as_ref(), 1_705_276_800), ("CET", 3600));
        assert_eq!(zone_at(zone.as_ref(), 1_719_792_000), ("CEST", 7200));
        assert_eq!(zone_at(zone.as_ref(), 4_118_054_400), ("CEST", 7200));
        assert!(local_zone(Some(&format!(":{paris}"))).is_some());

        for utc in ["", ":", "UTC", ":UTC", "/nonexistent", "No/Such_Zone"] {
            assert!(local_zone(Some(utc)).is_none(), "{utc:?}");
        }
        let not_a_zone = fixture().join("sys/devices/system/clocksource/uevent");
        assert!(local_zone(not_a_zone.to_str()).is_none());
        assert_eq!(zone_at(None, 1_719_792_000), ("UTC", 0));
    }

    #[test]
    fn sysfs_files_are_read_as_node_exporter_reads_them() {
        let mut text = String::from("stale");
        let long = fixture().join("sys/devices/system/clocksource/clocksource1/long");
        assert!(read_sysfs(&long, &mut text));
        assert_eq!(text.len(), SYSFS_READ - 1, "cut at 128 bytes, then trimmed");
        assert!(!read_sysfs(Path::new("/nonexistent"), &mut text));
        assert!(is_device("clocksource0") && is_device("clocksource12x"));
        assert!(!is_device("clocksource") && !is_device("clocksourcex") && !is_device("power"));
    }
}
