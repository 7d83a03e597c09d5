//! node_exporter 1.5's names for what `/sys/class/hwmon` holds: a chip's name from where its
//! directory leads, a sensor file's type, number and element from the file's name, and a
//! value's metric name, help text and scale from those. Text in, names out: the scan
//! (`layout.rs`) does the reading.

use std::fs;
use std::path::Path;

use agent_core::catalogue::{FAMILIES, Kind, Source};

use super::super::read::read_text;

/// The sensor types node_exporter reads (its `hwmonSensorTypes`): a file of another type, or
/// of none, is not a sensor's.
const SENSOR_TYPES: [&str; 13] = [
    "vrm",
    "beep_enable",
    "update_interval",
    "in",
    "cpu",
    "fan",
    "pwm",
    "temp",
    "curr",
    "power",
    "energy",
    "humidity",
    "intrusion",
];

/// The label names of the families a sensor's values go to.
const SENSOR_LABELS: [&str; 2] = ["chip", "sensor"];

/// node_exporter's `hwmonName` for a hwmon directory: from where its `device` link leads, else
/// from its `name` file, else from its own resolved name (`hwmon3`). `None` when all three
/// clean to nothing; node_exporter then skips the directory too.
pub(super) fn chip_name(dir: &Path, buf: &mut Vec<u8>) -> Option<String> {
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

/// The chip name from the contents of a hwmon directory's `name` file (second preference, and
/// the `chip_name` of `node_hwmon_chip_names`), or from its resolved directory name (third
/// preference): `None` when it cleans to nothing.
pub(super) fn chip_from_name(name: &str) -> Option<String> {
    Some(clean(name)).filter(|name| !name.is_empty())
}

/// A sensor file's name taken apart, `temp1_crit_alarm` into `temp`, 1 and `crit_alarm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SensorFile<'n> {
    /// One of [`SENSOR_TYPES`].
    pub(super) kind: &'n str,
    /// The number after the type; 0 when there is none (`update_interval`).
    pub(super) number: i64,
    /// What the file holds of the sensor (`input`, `max`, `label`); empty for a file named
    /// after the sensor alone (`pwm1`).
    pub(super) element: &'n str,
}

/// The `sensor` label of a sensor file's type and number: node_exporter writes the number
/// back as a whole number, so `temp01_input` is `temp1`'s, and `update_interval` is
/// `update_interval0`.
pub(super) fn sensor(kind: &str, number: i64) -> String {
    format!("{kind}{number}")
}

/// A file name as node_exporter's `^(?P<type>[^0-9]+)(?P<id>[0-9]*)?(_(?P<property>.+))?$`
/// takes it apart, if the type is one it reads and the number fits an `int`.
///
/// Go's regular expressions prefer the longest type: all the characters before the first
/// digit, or the whole name if it has none (`temp_input` is of type `temp_input`, which is not
/// read). Only if the rest does not fit does the type end at an earlier `_`, with no number and
/// the rest as the element (`fan_1x` is `fan`, 0, `1x`).
pub(super) fn explode(name: &str) -> Option<SensorFile<'_>> {
    let (kind, digits, element) = split(name)?;
    if !SENSOR_TYPES.contains(&kind) {
        return None;
    }
    // An `int` as Go parses it: a number that does not fit makes the name no sensor's.
    let number = if digits.is_empty() {
        0
    } else {
        digits.parse::<i64>().ok()?
    };
    Some(SensorFile {
        kind,
        number,
        element,
    })
}

/// The type, digits and element of `name` as the expression of [`explode`] matches them.
fn split(name: &str) -> Option<(&str, &str, &str)> {
    // `.` matches any character but a newline.
    let element_ok = |element: &str| !element.is_empty() && !element.contains('\n');
    let first_digit = name
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(name.len());
    if first_digit > 0 {
        let (kind, rest) = name.split_at(first_digit);
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (digits, rest) = rest.split_at(digits_end);
        if rest.is_empty() {
            return Some((kind, digits, ""));
        }
        if let Some(element) = rest.strip_prefix('_').filter(|e| element_ok(e)) {
            return Some((kind, digits, element));
        }
    }
    // A shorter type: it ends before an `_` that the element follows.
    let kind_part = name.get(..first_digit)?;
    kind_part
        .match_indices('_')
        .rev()
        .map(|(at, _)| at)
        .filter(|&at| at > 0)
        .find_map(|at| {
            let element = name.get(at + 1..)?;
            element_ok(element).then(|| (name.get(..at).unwrap_or(""), "", element))
        })
}

/// How a value is made from its file's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scale {
    /// As it is.
    One,
    /// Times 0.001: millidegrees, millivolts, milliamperes, milliseconds.
    Milli,
    /// Divided by 1,000,000: microwatts, microjoules, and (as node_exporter has it) humidity.
    Micro,
    /// `beep_enable`: 1 if the file holds `1`, else 0, whatever it holds.
    Beep,
}

/// What node_exporter makes of one element of a sensor.
#[derive(Debug, PartialEq)]
pub(super) struct Metric {
    /// The metric name.
    pub(super) name: String,
    /// Its help text.
    pub(super) help: String,
    /// Its type.
    pub(super) kind: Kind,
    /// How its value is made.
    pub(super) scale: Scale,
}

impl Metric {
    fn new(name: String, help: String, scale: Scale) -> Self {
        Metric {
            name,
            help,
            kind: Kind::Gauge,
            scale,
        }
    }

    /// The catalogue's family of this metric, if it has one of the same name, help text and
    /// type with a sensor's labels: the catalogue bounds which of node_exporter's names the
    /// agent gives. A name that comes with two help texts (`in0`'s bare file and `in0_input`
    /// both make `node_hwmon_in_volts`) thus keeps only the one the catalogue has.
    pub(super) fn family(&self) -> Option<u16> {
        let at = FAMILIES.iter().position(|f| {
            f.name == self.name
                && f.help == self.help
                && f.kind == self.kind
                && f.labels == SENSOR_LABELS
                && f.source == Source::Agent
        })?;
        u16::try_from(at).ok()
    }
}

/// What node_exporter's hwmon collector makes of `element` of a sensor of type `kind`: its
/// name, help text, type and scale. `bare` says whether the sensor also has a file without an
/// element (`pwm1` beside `pwm1_enable`): its `input` is then named `_input`. `None` for the
/// label (its own family), and for the elements of `beep_enable`, `vrm` and `update_interval`
/// but their own file.
pub(super) fn metric(kind: &str, element: &str, bare: bool) -> Option<Metric> {
    let special = |name: &str, help: &str, scale| {
        element
            .is_empty()
            .then(|| Metric::new(name.to_owned(), help.to_owned(), scale))
    };
    match kind {
        "beep_enable" => {
            return special(
                "node_hwmon_beep_enabled",
                "Hardware beep enabled",
                Scale::Beep,
            );
        }
        "vrm" => {
            return special(
                "node_hwmon_voltage_regulator_version",
                "Hardware voltage regulator",
                Scale::One,
            );
        }
        "update_interval" => {
            return special(
                "node_hwmon_update_interval_seconds",
                "Hardware monitor update interval",
                Scale::Milli,
            );
        }
        _ if element == "label" => return None,
        _ => {}
    }
    let mut name = format!("node_hwmon_{kind}");
    if element == "input" {
        if bare {
            name.push_str("_input");
        }
    } else if !element.is_empty() {
        name.push('_');
        name.push_str(&clean(element));
    }
    let unit = |suffix: &str, help: String, scale| {
        Some(Metric::new(format!("{name}_{suffix}"), help, scale))
    };
    match (kind, element) {
        (_, "fault" | "alarm") => Some(Metric::new(
            name.clone(),
            format!("Hardware sensor {element} status ({kind})"),
            Scale::One,
        )),
        (_, "beep") => Some(Metric::new(
            format!("{name}_enabled"),
            "Hardware monitor sensor has beeping enabled".to_owned(),
            Scale::One,
        )),
        ("in" | "cpu", _) => unit(
            "volts",
            format!("Hardware monitor for voltage ({element})"),
            Scale::Milli,
        ),
        ("temp", _) if element != "type" => {
            let element = if element.is_empty() { "input" } else { element };
            unit(
                "celsius",
                format!("Hardware monitor for temperature ({element})"),
                Scale::Milli,
            )
        }
        ("curr", _) => unit(
            "amps",
            format!("Hardware monitor for current ({element})"),
            Scale::Milli,
        ),
        ("energy", _) => Some(Metric {
            kind: Kind::Counter,
            ..Metric::new(
                format!("{name}_joule_total"),
                format!("Hardware monitor for joules used so far ({element})"),
                Scale::Micro,
            )
        }),
        ("power", "accuracy") => Some(Metric::new(
            name.clone(),
            "Hardware monitor power meter accuracy, as a ratio".to_owned(),
            Scale::Micro,
        )),
        ("power", "average_interval" | "average_interval_min" | "average_interval_max") => unit(
            "seconds",
            format!("Hardware monitor power usage update interval ({element})"),
            Scale::Milli,
        ),
        ("power", _) => unit(
            "watt",
            format!("Hardware monitor for power usage in watts ({element})"),
            Scale::Micro,
        ),
        ("humidity", _) => Some(Metric::new(
            name.clone(),
            format!(
                "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the \
                 humidity as a percentage) ({element})"
            ),
            Scale::Micro,
        )),
        ("fan", "input" | "min" | "max" | "target") => unit(
            "rpm",
            format!("Hardware monitor for fan revolutions per minute ({element})"),
            Scale::One,
        ),
        _ => Some(Metric::new(
            name.clone(),
            format!("Hardware monitor {kind} element {element}"),
            Scale::One,
        )),
    }
}

/// A value from the bytes of its file, as node_exporter reads it: newlines trimmed from both
/// ends, then a Go float (nothing else trimmed), then scaled. `None` for a file that is not a
/// number, and for one that is not finite, which the protocol cannot carry (node_exporter
/// would give `NaN` or `+Inf` for a file that says so).
pub(super) fn value(bytes: &[u8], scale: Scale) -> Option<f64> {
    let text = trim_newlines(bytes);
    if scale == Scale::Beep {
        return Some(if text == b"1" { 1.0 } else { 0.0 });
    }
    let number: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    let scaled = match scale {
        // Multiplied or divided as node_exporter does, for the same rounding.
        Scale::Milli => number * 0.001,
        Scale::Micro => number / 1_000_000.0,
        Scale::One | Scale::Beep => number,
    };
    scaled.is_finite().then_some(scaled)
}

/// A sensor's label from the bytes of its `_label` file: newlines trimmed from both ends, and
/// each run of bytes that is not UTF-8 made one U+FFFD, as Go's `strings.ToValidUTF8` does.
pub(super) fn label_text(bytes: &[u8]) -> String {
    let mut text = String::new();
    let mut replaced = false;
    for chunk in trim_newlines(bytes).utf8_chunks() {
        if !chunk.valid().is_empty() {
            text.push_str(chunk.valid());
            replaced = false;
        }
        if !chunk.invalid().is_empty() && !replaced {
            text.push('\u{FFFD}');
            replaced = true;
        }
    }
    text
}

/// Go's `strings.Trim(text, "\n")`.
fn trim_newlines(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b'\n')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b'\n')
        .map_or(start, |at| at + 1);
    bytes.get(start..end).unwrap_or_default()
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
    const PI_THERMAL_DEVICE: &str = "/sys/devices/virtual/thermal/thermal_zone0";
    const PI_VOLT_DEVICE: &str = "/sys/devices/platform/soc/soc:firmware/raspberrypi-hwmon";

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
        assert_eq!(
            chip_from_device(PI_THERMAL_DEVICE).as_deref(),
            Some("thermal_thermal_zone0")
        );
        assert_eq!(
            chip_from_device(PI_VOLT_DEVICE).as_deref(),
            Some("soc:firmware_raspberrypi_hwmon")
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

    fn exploded(name: &str) -> Option<(&str, i64, &str)> {
        explode(name).map(|f| (f.kind, f.number, f.element))
    }

    #[test]
    fn file_names_as_node_exporter_takes_them_apart() {
        for (name, want) in [
            ("temp1_input", Some(("temp", 1, "input"))),
            ("temp12_crit_alarm", Some(("temp", 12, "crit_alarm"))),
            ("temp01_input", Some(("temp", 1, "input"))),
            ("in0_lcrit_alarm", Some(("in", 0, "lcrit_alarm"))),
            ("cpu0_vid", Some(("cpu", 0, "vid"))),
            ("pwm1", Some(("pwm", 1, ""))),
            ("pwm1_auto_point1_pwm", Some(("pwm", 1, "auto_point1_pwm"))),
            ("fan2_target", Some(("fan", 2, "target"))),
            ("intrusion0_alarm", Some(("intrusion", 0, "alarm"))),
            ("update_interval", Some(("update_interval", 0, ""))),
            ("beep_enable", Some(("beep_enable", 0, ""))),
            ("vrm", Some(("vrm", 0, ""))),
            // A thermal zone's `temp`, when the zone is the hwmon directory's device.
            ("temp", Some(("temp", 0, ""))),
            // The rest does not fit after the longest type: a shorter one takes it whole.
            ("fan_1x", Some(("fan", 0, "1x"))),
            // But a longer type that fits wins, read or not.
            ("temp_1_max", None),
            // Types it does not read.
            ("temp_input", None),
            ("name", None),
            ("uevent", None),
            ("power_now", None),
            ("energy_full", None),
            ("temp_reset_history", None),
            ("alarms", None),
            ("trip_point_0_temp", None),
            ("cdev0_trip_point", None),
            ("Temp1_input", None),
            // Names the expression does not match, or whose number is no `int`.
            ("temp1a", None),
            ("temp1_", None),
            ("1temp", None),
            ("", None),
            ("temp1_in\nput", None),
            ("temp99999999999999999999_input", None),
        ] {
            assert_eq!(exploded(name), want, "{name:?}");
        }
        let label = |name| explode(name).map(|f| sensor(f.kind, f.number));
        assert_eq!(label("temp01_input").as_deref(), Some("temp1"));
        assert_eq!(
            label("update_interval").as_deref(),
            Some("update_interval0")
        );
    }

    /// What node_exporter names each kind of element, and how it scales it.
    #[test]
    fn metrics_as_node_exporter_names_them() {
        let m = |kind, element, bare| {
            let m = metric(kind, element, bare).unwrap();
            (m.name, m.help, m.kind, m.scale)
        };
        use Kind::{Counter, Gauge};
        use Scale::{Beep, Micro, Milli, One};
        let named =
            |name: &str, help: &str, kind, scale| (name.to_owned(), help.to_owned(), kind, scale);
        let temp = "Hardware monitor for temperature";
        for (got, want) in [
            (
                m("temp", "input", false),
                named(
                    "node_hwmon_temp_celsius",
                    &format!("{temp} (input)"),
                    Gauge,
                    Milli,
                ),
            ),
            (
                m("temp", "", false),
                named(
                    "node_hwmon_temp_celsius",
                    &format!("{temp} (input)"),
                    Gauge,
                    Milli,
                ),
            ),
            (
                m("temp", "input", true),
                named(
                    "node_hwmon_temp_input_celsius",
                    &format!("{temp} (input)"),
                    Gauge,
                    Milli,
                ),
            ),
            (
                m("temp", "crit_alarm", false),
                named(
                    "node_hwmon_temp_crit_alarm_celsius",
                    &format!("{temp} (crit_alarm)"),
                    Gauge,
                    Milli,
                ),
            ),
            (
                m("temp", "type", false),
                named(
                    "node_hwmon_temp_type",
                    "Hardware monitor temp element type",
                    Gauge,
                    One,
                ),
            ),
            (
                m("temp", "alarm", false),
                named(
                    "node_hwmon_temp_alarm",
                    "Hardware sensor alarm status (temp)",
                    Gauge,
                    One,
                ),
            ),
            (
                m("fan", "fault", false),
                named(
                    "node_hwmon_fan_fault",
                    "Hardware sensor fault status (fan)",
                    Gauge,
                    One,
                ),
            ),
            (
                m("in", "beep", false),
                named(
                    "node_hwmon_in_beep_enabled",
                    "Hardware monitor sensor has beeping enabled",
                    Gauge,
                    One,
                ),
            ),
            (
                m("in", "input", false),
                named(
                    "node_hwmon_in_volts",
                    "Hardware monitor for voltage (input)",
                    Gauge,
                    Milli,
                ),
            ),
            (
                m("in", "", false),
                named(
                    "node_hwmon_in_volts",
                    "Hardware monitor for voltage ()",
                    Gauge,
                    Milli,
                ),
            ),
            (
                m("cpu", "vid", false),
                named(
                    "node_hwmon_cpu_vid_volts",
                    "Hardware monitor for voltage (vid)",
                    Gauge,
                    Milli,
                ),
            ),
            (
                m("curr", "max", false),
                named(
                    "node_hwmon_curr_max_amps",
                    "Hardware monitor for current (max)",
                    Gauge,
                    Milli,
                ),
            ),
            (
                m("energy", "input", false),
                named(
                    "node_hwmon_energy_joule_total",
                    "Hardware monitor for joules used so far (input)",
                    Counter,
                    Micro,
                ),
            ),
            (
                m("power", "accuracy", false),
                named(
                    "node_hwmon_power_accuracy",
                    "Hardware monitor power meter accuracy, as a ratio",
                    Gauge,
                    Micro,
                ),
            ),
            (
                m("power", "average_interval", false),
                named(
                    "node_hwmon_power_average_interval_seconds",
                    "Hardware monitor power usage update interval (average_interval)",
                    Gauge,
                    Milli,
                ),
            ),
            (
                m("power", "interval_max", false),
                named(
                    "node_hwmon_power_interval_max_watt",
                    "Hardware monitor for power usage in watts (interval_max)",
                    Gauge,
                    Micro,
                ),
            ),
            (
                m("power", "input", false),
                named(
                    "node_hwmon_power_watt",
                    "Hardware monitor for power usage in watts (input)",
                    Gauge,
                    Micro,
                ),
            ),
            (
                m("humidity", "input", false),
                named(
                    "node_hwmon_humidity",
                    "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the \
                     humidity as a percentage) (input)",
                    Gauge,
                    Micro,
                ),
            ),
            (
                m("fan", "target", false),
                named(
                    "node_hwmon_fan_target_rpm",
                    "Hardware monitor for fan revolutions per minute (target)",
                    Gauge,
                    One,
                ),
            ),
            (
                m("fan", "div", false),
                named(
                    "node_hwmon_fan_div",
                    "Hardware monitor fan element div",
                    Gauge,
                    One,
                ),
            ),
            (
                m("pwm", "", false),
                named(
                    "node_hwmon_pwm",
                    "Hardware monitor pwm element ",
                    Gauge,
                    One,
                ),
            ),
            (
                m("pwm", "Auto-Point", false),
                named(
                    "node_hwmon_pwm_auto_point",
                    "Hardware monitor pwm element Auto-Point",
                    Gauge,
                    One,
                ),
            ),
            (
                m("beep_enable", "", false),
                named(
                    "node_hwmon_beep_enabled",
                    "Hardware beep enabled",
                    Gauge,
                    Beep,
                ),
            ),
            (
                m("vrm", "", false),
                named(
                    "node_hwmon_voltage_regulator_version",
                    "Hardware voltage regulator",
                    Gauge,
                    One,
                ),
            ),
            (
                m("update_interval", "", false),
                named(
                    "node_hwmon_update_interval_seconds",
                    "Hardware monitor update interval",
                    Gauge,
                    Milli,
                ),
            ),
        ] {
            assert_eq!(got, want);
        }
        assert_eq!(metric("temp", "label", false), None);
        assert_eq!(metric("update_interval", "x", false), None);
    }

    /// Every attribute the kernel's hwmon core and its sysfs interface document, but those
    /// only written, and the label, which is its own family.
    const KERNEL_ATTRIBUTES: &[&str] = &[
        "beep_enable",
        "update_interval",
        "vrm",
        "cpu0_vid",
        "temp1",
        "temp1_input",
        "temp1_type",
        "temp1_enable",
        "temp1_min",
        "temp1_max",
        "temp1_min_hyst",
        "temp1_max_hyst",
        "temp1_crit",
        "temp1_crit_hyst",
        "temp1_emergency",
        "temp1_emergency_hyst",
        "temp1_lcrit",
        "temp1_lcrit_hyst",
        "temp1_offset",
        "temp1_lowest",
        "temp1_highest",
        "temp1_rated_min",
        "temp1_rated_max",
        "temp1_alarm",
        "temp1_min_alarm",
        "temp1_max_alarm",
        "temp1_crit_alarm",
        "temp1_emergency_alarm",
        "temp1_lcrit_alarm",
        "temp1_fault",
        "temp1_beep",
        "in0_input",
        "in0_enable",
        "in0_min",
        "in0_max",
        "in0_lcrit",
        "in0_crit",
        "in0_average",
        "in0_lowest",
        "in0_highest",
        "in0_rated_min",
        "in0_rated_max",
        "in0_alarm",
        "in0_min_alarm",
        "in0_max_alarm",
        "in0_lcrit_alarm",
        "in0_crit_alarm",
        "in0_fault",
        "in0_beep",
        "curr1_input",
        "curr1_enable",
        "curr1_min",
        "curr1_max",
        "curr1_lcrit",
        "curr1_crit",
        "curr1_average",
        "curr1_lowest",
        "curr1_highest",
        "curr1_rated_min",
        "curr1_rated_max",
        "curr1_alarm",
        "curr1_min_alarm",
        "curr1_max_alarm",
        "curr1_lcrit_alarm",
        "curr1_crit_alarm",
        "curr1_beep",
        "power1_input",
        "power1_enable",
        "power1_average",
        "power1_average_interval",
        "power1_average_interval_min",
        "power1_average_interval_max",
        "power1_interval_min",
        "power1_interval_max",
        "power1_average_highest",
        "power1_average_lowest",
        "power1_average_max",
        "power1_average_min",
        "power1_input_highest",
        "power1_input_lowest",
        "power1_accuracy",
        "power1_cap",
        "power1_cap_hyst",
        "power1_cap_max",
        "power1_cap_min",
        "power1_min",
        "power1_max",
        "power1_lcrit",
        "power1_crit",
        "power1_rated_min",
        "power1_rated_max",
        "power1_alarm",
        "power1_cap_alarm",
        "power1_min_alarm",
        "power1_max_alarm",
        "power1_lcrit_alarm",
        "power1_crit_alarm",
        "energy1_input",
        "energy1_enable",
        "humidity1_input",
        "humidity1_enable",
        "humidity1_min",
        "humidity1_min_hyst",
        "humidity1_max",
        "humidity1_max_hyst",
        "humidity1_rated_min",
        "humidity1_rated_max",
        "humidity1_alarm",
        "humidity1_fault",
        "fan1_input",
        "fan1_enable",
        "fan1_min",
        "fan1_max",
        "fan1_target",
        "fan1_div",
        "fan1_pulses",
        "fan1_alarm",
        "fan1_min_alarm",
        "fan1_max_alarm",
        "fan1_fault",
        "fan1_beep",
        "pwm1",
        "pwm1_enable",
        "pwm1_mode",
        "pwm1_freq",
        "pwm1_auto_channels_temp",
        "intrusion0_alarm",
        "intrusion0_beep",
    ];

    /// The catalogue's `node_hwmon_*` families are what node_exporter names the kernel's
    /// attributes, each once, with its help text and type: no attribute the kernel documents
    /// is left out, and no row is one node_exporter could not give.
    #[test]
    fn the_catalogue_has_a_family_for_each_kernel_attribute() {
        let mut reached = Vec::new();
        for name in KERNEL_ATTRIBUTES {
            let file = explode(name).unwrap_or_else(|| panic!("{name}"));
            // `temp1` beside `temp1_input` would rename the input; alone it is the input.
            let bare = false;
            let metric = metric(file.kind, file.element, bare).unwrap();
            let family = metric
                .family()
                .unwrap_or_else(|| panic!("{name}: no family {metric:?}"));
            reached.push(family);
        }
        let unit_of = |name: &str| {
            [
                "celsius", "volts", "amps", "watt", "rpm", "seconds", "joule",
            ]
            .into_iter()
            .find(|unit| name.contains(&format!("_{unit}")))
            .unwrap_or("")
        };
        for (id, family) in FAMILIES.iter().enumerate() {
            if !family.name.starts_with("node_hwmon_") {
                continue;
            }
            assert_eq!(family.unit, unit_of(family.name), "{}", family.name);
            let own = ["node_hwmon_chip_names", "node_hwmon_sensor_label"];
            if own.contains(&family.name) {
                continue;
            }
            let times = reached.iter().filter(|&&r| usize::from(r) == id).count();
            // The bare `temp1` and `temp1_input` are both the temperature.
            let want = if family.name == "node_hwmon_temp_celsius" {
                2
            } else {
                1
            };
            assert_eq!(times, want, "{}", family.name);
        }
    }

    #[test]
    fn a_name_with_two_help_texts_keeps_the_catalogues() {
        assert!(metric("in", "input", false).unwrap().family().is_some());
        assert_eq!(metric("in", "", false).unwrap().family(), None);
        assert_eq!(metric("in", "input", true).unwrap().family(), None);
        assert_eq!(
            metric("pwm", "auto_point1_pwm", false).unwrap().family(),
            None
        );
    }

    #[test]
    fn values_as_node_exporter_reads_them() {
        assert_eq!(value(b"45000\n", Scale::Milli), Some(45.0));
        assert_eq!(value(b"-12500\n", Scale::Milli), Some(-12.5));
        assert_eq!(value(b"27800", Scale::Milli), Some(27.8));
        assert_eq!(value(b"\n2450\n\n", Scale::One), Some(2450.0));
        assert_eq!(value(b"12500000\n", Scale::Micro), Some(12.5));
        assert_eq!(value(b"+1.5e3\n", Scale::One), Some(1500.0));
        // Go's `strconv.ParseFloat` trims nothing, and node_exporter only newlines.
        assert_eq!(value(b" 45000\n", Scale::Milli), None);
        assert_eq!(value(b"45000 \n", Scale::Milli), None);
        assert_eq!(value(b"", Scale::One), None);
        assert_eq!(value(b"N/A\n", Scale::One), None);
        assert_eq!(value(b"\xff\n", Scale::One), None);
        // Out of range for Go, and what the protocol cannot carry.
        assert_eq!(value(b"1e309", Scale::One), None);
        assert_eq!(value(b"NaN", Scale::One), None);
        assert_eq!(value(b"-Inf", Scale::One), None);
        // beep_enable: 1 is on, anything else off.
        assert_eq!(value(b"1\n", Scale::Beep), Some(1.0));
        assert_eq!(value(b"0\n", Scale::Beep), Some(0.0));
        assert_eq!(value(b"yes\n", Scale::Beep), Some(0.0));
    }

    #[test]
    fn labels_as_node_exporter_reads_them() {
        assert_eq!(label_text(b"Core 0\n"), "Core 0");
        assert_eq!(label_text(b"Left side  \n"), "Left side  ");
        assert_eq!(label_text(b"\n\nPackage id 0\n\n"), "Package id 0");
        assert_eq!(label_text(b" x \t\n"), " x \t");
        assert_eq!(label_text(b"a\xff\xfe\xfdb\xffc\n"), "a\u{FFFD}b\u{FFFD}c");
        assert_eq!(label_text(b"\xe2\x82z"), "\u{FFFD}z");
        assert_eq!(label_text(b"\n"), "");
    }
}
