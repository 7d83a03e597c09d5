//! Thermal zones and cooling devices, `/sys/class/thermal`, as node_exporter 1.5's
//! thermal_zone collector reads them (procfs 0.8's `ClassThermalZoneStats` and
//! `ClassCoolingDeviceStats`).

use std::fs;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use agent_core::catalogue::{Series, f};
use agent_core::sample::label_text_ok;
use agent_core::wire::MAX_TEXT;

use super::RESCAN;
use super::families::Families;
use super::read::{SYSFS_READ, gone, parse_int, parse_uint, read_sysfs};

/// The most zones, and the most cooling devices, read: a laptop has about ten of each (a
/// cooling device a CPU), and a tree under another root must not make a sample grow without
/// end.
const MAX_ENTRIES: usize = 64;

/// Reads the zones' temperatures and the cooling devices' states.
#[derive(Debug)]
pub(super) struct ThermalZoneCollector {
    /// `sys/class/thermal` under the root.
    dir: PathBuf,
    /// The zones found by the last scan, in node_exporter's order, with the last sample's
    /// temperatures.
    zones: Vec<Zone>,
    /// The cooling devices found by the last scan, with the last sample's states.
    devices: Vec<CoolingDevice>,
    /// Whether the last scan found a zone whose files node_exporter fails on (a `policy` that
    /// cannot be read, a `passive` that is not a number): it then reports no zone at all, nor
    /// any cooling device.
    zones_broken: bool,
    /// Whether the last scan found a cooling device whose `type` cannot be read: node_exporter
    /// then reports no cooling device.
    devices_broken: bool,
    /// Whether the last sample read every zone's temperature (or found it had none): if one
    /// failed otherwise, node_exporter reports no zone and no cooling device.
    zones_read: bool,
    /// Whether the last sample read every cooling device's states.
    devices_read: bool,
    /// When the last scan was; `None` before the first sample.
    scanned: Option<Instant>,
    /// Whether a file was gone at the last sample: the next scans again.
    gone: bool,
}

/// A zone, `thermal_zone<N>`.
#[derive(Debug)]
struct Zone {
    /// The `zone` label, `<N>`.
    name: String,
    /// The `type` label, its `type` file.
    kind: String,
    /// Its `temp` file, in millidegrees.
    temp: PathBuf,
    /// Its temperature at the last sample, in degrees; `None` when the driver had none
    /// (`ENODATA`: a wireless card's, while it is down), which node_exporter skips.
    celsius: Option<f64>,
}

/// A cooling device, `cooling_device<N>`.
#[derive(Debug)]
struct CoolingDevice {
    /// The `name` label, `<N>`.
    name: String,
    /// The `type` label, its `type` file.
    kind: String,
    /// Its `cur_state` file.
    cur: PathBuf,
    /// Its `max_state` file.
    max: PathBuf,
    /// Its current and maximum state at the last sample (`cur_state` is -1 for an idle
    /// `intel_powerclamp`).
    states: (i64, i64),
}

/// What became of a file node_exporter requires.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// The driver had no data: node_exporter skips the zone.
    NoData,
    /// Anything else: node_exporter reports no zone.
    Other,
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        if e.raw_os_error() == Some(rustix::io::Errno::NODATA.raw_os_error()) {
            Failure::NoData
        } else {
            Failure::Other
        }
    }
}

impl ThermalZoneCollector {
    /// Reads `sys/class/thermal` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            dir: root.join("sys/class/thermal"),
            zones: Vec::new(),
            devices: Vec::new(),
            zones_broken: false,
            devices_broken: false,
            zones_read: false,
            devices_read: false,
            scanned: None,
            gone: false,
        }
    }

    /// Looks up the zones and cooling devices, and reads what does not change of them.
    fn scan(&mut self) {
        self.zones.clear();
        self.devices.clear();
        self.zones_broken = false;
        self.devices_broken = false;
        let mut names: Vec<String> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect();
        // Go's glob sorts its matches by name, and reads them in that order.
        names.sort_unstable();
        let mut buf = [0; SYSFS_READ];
        for name in &names {
            let Some(number) = numbered(name, "thermal_zone") else {
                continue;
            };
            if self.zones.len() == MAX_ENTRIES {
                break;
            }
            match zone(&self.dir.join(name), number, &mut buf) {
                Ok(Some(zone)) => self.zones.push(zone),
                Ok(None) | Err(Failure::NoData) => {}
                Err(Failure::Other) => self.zones_broken = true,
            }
        }
        for name in &names {
            let Some(number) = numbered(name, "cooling_device") else {
                continue;
            };
            if self.devices.len() == MAX_ENTRIES {
                break;
            }
            let dir = self.dir.join(name);
            match read_sysfs(&mut buf, &dir.join("type")) {
                Ok(kind) => {
                    if let Some(kind) = label(kind) {
                        self.devices.push(CoolingDevice {
                            name: number.to_owned(),
                            kind,
                            cur: dir.join("cur_state"),
                            max: dir.join("max_state"),
                            states: (0, 0),
                        });
                    }
                }
                Err(_) => self.devices_broken = true,
            }
        }
    }

    /// Reads the zones' temperatures: `false` when one fails as node_exporter reports none.
    fn read_zones(&mut self, buf: &mut [u8; SYSFS_READ]) -> bool {
        for zone in &mut self.zones {
            zone.celsius = match read_sysfs(buf, &zone.temp) {
                // An int64 of millidegrees, divided as node_exporter does.
                Ok(bytes) => match parse_int(bytes) {
                    Some(millidegrees) => Some(millidegrees as f64 / 1000.0),
                    None => return false,
                },
                Err(e) => {
                    self.gone |= gone(&e, &zone.temp);
                    match Failure::from(e) {
                        Failure::NoData => None,
                        Failure::Other => return false,
                    }
                }
            };
        }
        true
    }

    /// Reads the cooling devices' states: `false` when one cannot be read.
    fn read_devices(&mut self, buf: &mut [u8; SYSFS_READ]) -> bool {
        for device in &mut self.devices {
            let mut state = |path: &Path| match read_sysfs(buf, path) {
                Ok(bytes) => parse_int(bytes),
                Err(e) => {
                    self.gone |= gone(&e, path);
                    None
                }
            };
            let Some(max) = state(&device.max) else {
                return false;
            };
            let Some(cur) = state(&device.cur) else {
                return false;
            };
            device.states = (cur, max);
        }
        true
    }
}

impl Families for ThermalZoneCollector {
    fn collect(&mut self) {
        if self.gone || self.scanned.is_none_or(|at| at.elapsed() >= RESCAN) {
            self.scan();
            self.scanned = Some(Instant::now());
            self.gone = false;
        }
        let mut buf = [0; SYSFS_READ];
        self.zones_read = !self.zones_broken && self.read_zones(&mut buf);
        // node_exporter reads the cooling devices only after every zone.
        self.devices_read = self.zones_read && !self.devices_broken && self.read_devices(&mut buf);
    }

    fn series(&self, out: &mut dyn Series) {
        out.section("thermal_zone");
        if self.zones_read {
            for zone in &self.zones {
                if let Some(celsius) = zone.celsius {
                    out.identity(&zone.name);
                    out.identity(&zone.kind);
                    out.add(f::THERMAL_ZONE_TEMP, &[&zone.kind, &zone.name], celsius);
                }
            }
        }
        if self.devices_read {
            for device in &self.devices {
                out.identity(&device.name);
                out.identity(&device.kind);
                let (cur, max) = device.states;
                let labels = [device.name.as_str(), &device.kind];
                out.add(f::COOLING_DEVICE_CUR_STATE, &labels, cur as f64);
                out.add(f::COOLING_DEVICE_MAX_STATE, &labels, max as f64);
            }
        }
    }
}

/// The zone of directory `dir`, numbered `number`, with what does not change of it read:
/// `Ok(None)` for one whose type no label can hold (node_exporter, given one that is not
/// UTF-8, fails as a whole), `Err` as node_exporter fails on it.
fn zone(dir: &Path, number: &str, buf: &mut [u8; SYSFS_READ]) -> Result<Option<Zone>, Failure> {
    let kind = label(read_sysfs(buf, &dir.join("type"))?);
    read_sysfs(buf, &dir.join("policy"))?;
    // Optional, but a file that is there must be readable, and `passive` a number.
    let optional = |e: io::Error| match e.kind() {
        ErrorKind::NotFound | ErrorKind::PermissionDenied => Ok(()),
        _ => Err(Failure::from(e)),
    };
    read_sysfs(buf, &dir.join("mode"))
        .map(drop)
        .or_else(optional)?;
    match read_sysfs(buf, &dir.join("passive")) {
        Ok(bytes) => {
            parse_uint(bytes).ok_or(Failure::Other)?;
        }
        Err(e) => optional(e)?,
    }
    Ok(kind.map(|kind| Zone {
        name: number.to_owned(),
        kind,
        temp: dir.join("temp"),
        celsius: None,
    }))
}

/// The `<N>` of a name `<prefix><N>...` that Go's glob `<prefix>[0-9]*` matches.
fn numbered<'n>(name: &'n str, prefix: &str) -> Option<&'n str> {
    name.strip_prefix(prefix)
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// A `type` file's text as a label: surrounding white space trimmed, as procfs trims it.
/// `None` when it is not UTF-8 or the server would refuse it.
fn label(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    (label_text_ok(text) && text.len() <= MAX_TEXT).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::golden;

    const FAMILIES: &[&str] = &["node_thermal_zone_", "node_cooling_device_"];

    fn series_of(collector: &ThermalZoneCollector) -> Vec<golden::Line> {
        golden::series(FAMILIES, |out| collector.series(out))
    }

    /// The zone of a Raspberry Pi 4's SoC and its fan; a laptop's ACPI, INT3400 and package
    /// zones, its processors' cooling devices, `intel_powerclamp` (idle: -1) and the TCC
    /// offset: each as node_exporter 1.5 gives it for the same tree.
    #[test]
    fn zones_and_cooling_devices_as_node_exporter_gives_them() {
        for machine in golden::MACHINES {
            let mut collector = ThermalZoneCollector::new(&golden::root(machine));
            collector.collect();
            let want = golden::expected(machine, FAMILIES);
            assert!(!want.is_empty(), "{machine}");
            assert_eq!(series_of(&collector), want, "{machine}");
        }
    }

    #[test]
    fn a_zone_that_fails_takes_every_zone_and_cooling_device_with_it() {
        let tree = golden::Tree::copy_of("laptop");
        let mut collector = ThermalZoneCollector::new(&tree.0);
        collector.collect();
        let all = series_of(&collector).len();

        // A temperature that is not a number: nothing, as node_exporter.
        tree.write("sys/devices/virtual/thermal/thermal_zone1/temp", "N/A\n");
        collector.collect();
        assert_eq!(series_of(&collector), []);

        // A cooling device that cannot be read: the zones alone.
        tree.write("sys/devices/virtual/thermal/thermal_zone1/temp", "20000\n");
        tree.write("sys/devices/virtual/thermal/cooling_device4/cur_state", "");
        collector.collect();
        let zones = series_of(&collector);
        assert!(zones.iter().all(|line| line.0 == "node_thermal_zone_temp"));
        assert_eq!(zones.len(), 4);

        // A zone gone fails as a zone whose temperature cannot be read; the next sample scans
        // again and reads the rest.
        tree.write(
            "sys/devices/virtual/thermal/cooling_device4/cur_state",
            "-1\n",
        );
        tree.remove("sys/class/thermal/thermal_zone3");
        collector.collect();
        assert_eq!(series_of(&collector), []);
        collector.collect();
        assert_eq!(series_of(&collector).len(), all - 1);

        // A policy that cannot be read fails the zones as the scan finds it.
        tree.remove("sys/devices/virtual/thermal/thermal_zone1/policy");
        collector.gone = true;
        collector.collect();
        assert_eq!(series_of(&collector), []);
    }

    #[test]
    fn without_a_thermal_class_nothing() {
        let mut collector = ThermalZoneCollector::new(Path::new("/nonexistent/vitals/root"));
        collector.collect();
        assert_eq!(series_of(&collector), []);
    }

    #[test]
    fn a_driver_without_data_skips_its_zone_alone() {
        let no_data = io::Error::from_raw_os_error(rustix::io::Errno::NODATA.raw_os_error());
        assert_eq!(Failure::from(no_data), Failure::NoData);
        let again = io::Error::from_raw_os_error(rustix::io::Errno::AGAIN.raw_os_error());
        assert_eq!(Failure::from(again), Failure::Other);
        assert_eq!(
            Failure::from(io::Error::from(ErrorKind::NotFound)),
            Failure::Other
        );
    }

    #[test]
    fn numbers_and_labels_as_procfs_reads_them() {
        assert_eq!(parse_int(b"45277\n"), Some(45277));
        assert_eq!(parse_int(b" -1 \n"), Some(-1));
        assert_eq!(parse_int(b"+3\n"), Some(3));
        assert_eq!(parse_int(b"3.5\n"), None);
        assert_eq!(parse_int(b""), None);
        assert_eq!(parse_uint(b"1500000\n"), Some(1_500_000));
        assert_eq!(parse_uint(b"+3\n"), None);
        assert_eq!(parse_uint(b"-1\n"), None);
        assert_eq!(parse_uint(b"<unknown>\n"), None);
        assert_eq!(label(b"cpu-thermal\n").as_deref(), Some("cpu-thermal"));
        assert_eq!(label(b" TCC Offset \n").as_deref(), Some("TCC Offset"));
        assert_eq!(label(b"a\x1bb\n"), None);
        assert_eq!(label(b"\xff\n"), None);
        assert_eq!(numbered("thermal_zone12", "thermal_zone"), Some("12"));
        assert_eq!(numbered("thermal_zone", "thermal_zone"), None);
        assert_eq!(numbered("cooling_device3", "thermal_zone"), None);
    }
}
