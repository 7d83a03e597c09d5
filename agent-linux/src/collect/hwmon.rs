//! Temperature sensors of `/sys/class/hwmon`, named and valued as node_exporter 1.5's hwmon
//! collector does. The collector resolves the symlinks; the parsers below it take text in and
//! give values out.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agent_core::sample::{Name, Sample, Sensor, bounded, push_or_count};

use super::labels::Notes;
use super::read::read_text;

/// Reads the `temp<N>_input` files of the hwmon chips.
#[derive(Debug)]
pub(super) struct HwmonCollector {
    /// `sys/class/hwmon` under the root.
    dir: PathBuf,
    /// The temperature sensor files found by the last scan, in the order they are reported.
    sensors: Vec<SensorFile>,
    /// When the sensor files were last looked up; `None` before the first sample.
    scanned: Option<Instant>,
    /// Holds a `temp<N>_input` or `name` file; reused so a sample allocates nothing here.
    buf: Vec<u8>,
}

impl HwmonCollector {
    /// Reads the chips of `sys/class/hwmon` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            dir: root.join("sys/class/hwmon"),
            sensors: Vec::new(),
            scanned: None,
            buf: Vec::new(),
        }
    }

    /// Adds to [`Sample::sensors`] the `temp<N>_input` of each directory of `/sys/class/hwmon`
    /// (and of its `device` directory, as node_exporter also reads it), chips in name order,
    /// sensors in number order, noting in `notes` those the server would refuse.
    ///
    /// Which files those are is looked up again every [`SENSOR_RESCAN`], not every sample:
    /// resolving chip names walks symlinks and allocates, and sensors come and go with hardware.
    pub(super) fn collect(&mut self, sample: &mut Sample, notes: &mut Notes) {
        if self.scanned.is_none_or(|at| at.elapsed() >= SENSOR_RESCAN) {
            self.scan();
            self.scanned = Some(Instant::now());
        }
        for file in &self.sensors {
            let Some(celsius) =
                read_text(&mut self.buf, &file.input).and_then(|t| parse_millidegrees(&t))
            else {
                continue;
            };
            let taken = sample
                .sensors
                .iter()
                .any(|s| (&s.chip, &s.sensor) == (&file.chip, &file.sensor));
            let labels = [
                ("chip", file.chip.as_str()),
                ("sensor", file.sensor.as_str()),
            ];
            if !notes.admit("sensor", &labels, taken) {
                continue;
            }
            let sensor = Sensor {
                chip: file.chip.clone(),
                sensor: file.sensor.clone(),
                celsius,
            };
            push_or_count(&mut sample.sensors, sensor, &mut sample.omitted.sensors);
        }
    }

    /// Looks up the sensor files anew.
    fn scan(&mut self) {
        self.sensors.clear();
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|path| path.is_dir())
            .collect();
        // hwmon2 before hwmon10.
        dirs.sort_by(|a, b| (a.as_os_str().len().cmp(&b.as_os_str().len())).then_with(|| a.cmp(b)));

        let mut temps: Vec<(u64, PathBuf)> = Vec::new();
        for dir in dirs {
            let Some(chip) = chip_name(&dir, &mut self.buf) else {
                continue;
            };
            temps.clear();
            find_temps(&dir, &mut temps);
            let device = dir.join("device");
            if device.is_dir() {
                find_temps(&device, &mut temps);
            }
            temps.sort_by_key(|&(number, _)| number);
            for (number, input) in temps.drain(..) {
                self.sensors.push(SensorFile {
                    chip: bounded(&chip),
                    sensor: bounded(&format!("temp{number}")),
                    input,
                });
            }
        }
    }
}

/// How often the list of temperature sensor files is looked up again.
const SENSOR_RESCAN: Duration = Duration::from_secs(60);

/// A temperature sensor's input file and its labels.
#[derive(Debug)]
struct SensorFile {
    /// The `chip` label: node_exporter's name for the hwmon directory.
    chip: Name,
    /// The `sensor` label, `temp<N>`.
    sensor: Name,
    /// The `temp<N>_input` file, read every sample.
    input: PathBuf,
}

/// node_exporter's `hwmonName` for a hwmon directory: from where its `device` link leads, else
/// from its `name` file, else from its own resolved name (`hwmon3`). `None` when all three
/// clean to nothing; node_exporter then skips the directory too.
fn chip_name(dir: &Path, buf: &mut Vec<u8>) -> Option<String> {
    if let Ok(device) = fs::canonicalize(dir.join("device")) {
        if let Some(chip) = chip_from_device(&device.to_string_lossy()) {
            return Some(chip);
        }
    }
    if let Some(chip) = read_text(buf, &dir.join("name")).and_then(|name| chip_from_name(&name)) {
        return Some(chip);
    }
    let resolved = fs::canonicalize(dir).ok()?;
    chip_from_name(&resolved.file_name()?.to_string_lossy())
}

/// Adds the `temp<N>_input` files of `dir` to `temps`, replacing a sensor number already there
/// (node_exporter lets the `device` directory's file win the same way).
fn find_temps(dir: &Path, temps: &mut Vec<(u64, PathBuf)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let file_name = entry.file_name();
        let Some(number) = file_name.to_str().and_then(temp_input_number) else {
            continue;
        };
        match temps.iter_mut().find(|(known, _)| *known == number) {
            Some(slot) => slot.1 = entry.path(),
            None => temps.push((number, entry.path())),
        }
    }
}

/// node_exporter's `cleanMetricName`: lowercase, every character outside `[a-z0-9:_]` becomes
/// `_`, then `_` is trimmed from both ends.
///
/// Exact for ASCII. Go lowercases a non-ASCII character to one character; this keeps one that
/// lowercases to a single allowed ASCII character (the Kelvin sign becomes `k`) and turns any
/// other into `_`, which agrees with Go for all but a handful of characters.
fn clean(name: &str) -> String {
    let allowed = |ch: char| matches!(ch, 'a'..='z' | '0'..='9' | ':' | '_');
    let replaced: String = name
        .chars()
        .map(|ch| {
            let mut lower = ch.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(low), None) if allowed(low) => low,
                _ => '_',
            }
        })
        .collect();
    replaced.trim_matches('_').to_owned()
}

/// The chip name from where a hwmon directory's `device` symlink resolves to (first preference
/// of node_exporter's `hwmonName`): the cleaned parent directory's name and the cleaned device
/// name joined by `_` (`/sys/devices/platform/coretemp.0` gives `platform_coretemp_0`), or the
/// device name alone when the parent's is empty. `None` when the device name cleans to nothing.
fn chip_from_device(resolved: &str) -> Option<String> {
    // Go's `filepath.Split`: everything up to and including the last `/`, and the rest.
    let (prefix, name) = match resolved.rfind('/') {
        Some(at) => resolved.split_at(at + 1),
        None => ("", resolved),
    };
    let parent = prefix.trim_end_matches('/');
    let dev_type = parent.rsplit('/').next().unwrap_or("");
    let dev_name = clean(name);
    let dev_type = clean(dev_type);
    match (dev_type.is_empty(), dev_name.is_empty()) {
        (_, true) => None,
        (true, false) => Some(dev_name),
        (false, false) => Some(dev_type + "_" + &dev_name),
    }
}

/// The chip name from the contents of a hwmon directory's `name` file (second preference), or
/// from its resolved directory name (third preference): `None` when it cleans to nothing.
fn chip_from_name(name: &str) -> Option<String> {
    Some(clean(name)).filter(|name| !name.is_empty())
}

/// The sensor number of a `temp<N>_input` file name, which node_exporter labels `temp<N>`.
///
/// node_exporter reads the number as an integer, so `temp01_input` is `temp1` too.
fn temp_input_number(file_name: &str) -> Option<u64> {
    let digits = file_name.strip_prefix("temp")?.strip_suffix("_input")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Degrees Celsius from the millidegrees of a `temp*_input` file, or `None` when the file does
/// not hold a finite number (a sensor that is absent or faulty often reads as an I/O error,
/// sometimes as garbage).
fn parse_millidegrees(text: &str) -> Option<f64> {
    let millidegrees = text.trim().parse::<f64>().ok()?;
    // Multiplied rather than divided, as node_exporter does, for the same rounding.
    let celsius = millidegrees * 0.001;
    celsius.is_finite().then_some(celsius)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where `device` resolves to for common chips on real machines.
    const CORETEMP_DEVICE: &str = "/sys/devices/platform/coretemp.0";
    const K10TEMP_DEVICE: &str = "/sys/devices/pci0000:00/0000:00:18.3";
    const NVME_DEVICE: &str = "/sys/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0";
    const ACPI_DEVICE: &str =
        "/sys/devices/LNXSYSTM:00/LNXSYBUS:01/PNP0A08:00/device:1f/PNP0C09:00/ACPI0003:00";

    #[test]
    fn chip_from_device_joins_type_and_name() {
        assert_eq!(
            chip_from_device(CORETEMP_DEVICE).as_deref(),
            Some("platform_coretemp_0")
        );
        assert_eq!(
            chip_from_device(K10TEMP_DEVICE).as_deref(),
            Some("pci0000:00_0000:00:18_3")
        );
        assert_eq!(chip_from_device(NVME_DEVICE).as_deref(), Some("nvme_nvme0"));
        assert_eq!(
            chip_from_device(ACPI_DEVICE).as_deref(),
            Some("pnp0c09:00_acpi0003:00")
        );
    }

    #[test]
    fn chip_from_device_edge_cases() {
        assert_eq!(
            chip_from_device("/coretemp.0").as_deref(),
            Some("coretemp_0")
        );
        assert_eq!(
            chip_from_device("coretemp.0").as_deref(),
            Some("coretemp_0")
        );
        assert_eq!(chip_from_device("/sys/devices/___/x").as_deref(), Some("x"));
        assert_eq!(chip_from_device("/sys/devices/platform/..."), None);
        assert_eq!(chip_from_device("/"), None);
        assert_eq!(chip_from_device(""), None);
    }

    #[test]
    fn chip_from_name_file() {
        assert_eq!(chip_from_name("coretemp\n").as_deref(), Some("coretemp"));
        assert_eq!(chip_from_name("ACPI TZ\n").as_deref(), Some("acpi_tz"));
        assert_eq!(chip_from_name("hwmon3").as_deref(), Some("hwmon3"));
        assert_eq!(chip_from_name("\n"), None);
        assert_eq!(chip_from_name(""), None);
    }

    #[test]
    fn clean_like_node_exporter() {
        assert_eq!(clean("__Foo.Bar-baz__"), "foo_bar_baz");
        assert_eq!(clean("a::b"), "a::b");
        assert_eq!(clean("Ünïcode\u{212a}"), "n_codek");
        assert_eq!(clean("..."), "");
    }

    #[test]
    fn temp_input_file_names() {
        assert_eq!(temp_input_number("temp1_input"), Some(1));
        assert_eq!(temp_input_number("temp12_input"), Some(12));
        assert_eq!(temp_input_number("temp01_input"), Some(1));
        for other in [
            "temp_input",
            "temp1_max",
            "temp1_label",
            "temp1",
            "in0_input",
            "fan1_input",
            "temp-1_input",
            "temp+1_input",
            "temp99999999999999999999_input",
            "Temp1_input",
        ] {
            assert_eq!(temp_input_number(other), None, "{other}");
        }
    }

    #[test]
    fn millidegrees() {
        assert_eq!(parse_millidegrees("45000\n"), Some(45.0));
        assert_eq!(parse_millidegrees("-12500\n"), Some(-12.5));
        assert_eq!(parse_millidegrees("27800"), Some(27.8));
        assert_eq!(parse_millidegrees(""), None);
        assert_eq!(parse_millidegrees("N/A\n"), None);
        assert_eq!(parse_millidegrees("NaN"), None);
        assert_eq!(parse_millidegrees("inf"), None);
        assert_eq!(parse_millidegrees("1e309"), None);
    }
}
