//! Batteries, mains and USB supplies, `/sys/class/power_supply/`, as node_exporter's
//! powersupplyclass collector reads them (through procfs 0.8): a family per numeric attribute
//! it exports, `node_power_supply_capacity{power_supply="BAT0"}` and the like, in amperes,
//! volts, watts and watt-hours where the kernel gives micro-units and in °C where it gives
//! tenths, and `node_power_supply_info` with the texts.
//!
//! procfs reads every regular file of every supply, 128 bytes of each, before anything is
//! exported: a file that cannot be read (but for one missing, or a driver that answers
//! `EOPNOTSUPP` or `EINVAL`), or a number that Go's `strconv.ParseInt(text, 0, 64)` refuses,
//! fails the whole class, and node_exporter then gives no `node_power_supply_*` series at all.
//! The same here.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use agent_core::catalogue::{Series, f, family};

use super::families::Families;
use super::read::{SYSFS_READ, go_text, regular_files, sorted_names};

/// The files procfs reads as numbers, each with the family node_exporter exports it in (by the
/// name after `node_power_supply_`; none for those it reads but does not export) and what
/// the number is divided by.
const NUMBERS: [(&str, Option<&str>, f64); 56] = [
    ("authentic", Some("authentic"), 1.0),
    ("calibrate", Some("calibrate"), 1.0),
    ("capacity", Some("capacity"), 1.0),
    ("capacity_alert_max", Some("capacity_alert_max"), 1.0),
    ("capacity_alert_min", Some("capacity_alert_min"), 1.0),
    ("cycle_count", Some("cyclecount"), 1.0),
    ("online", Some("online"), 1.0),
    ("present", Some("present"), 1.0),
    ("time_to_empty_now", Some("time_to_empty_seconds"), 1.0),
    ("time_to_full_now", Some("time_to_full_seconds"), 1.0),
    ("current_boot", Some("current_boot"), 1e6),
    ("current_max", Some("current_max"), 1e6),
    ("current_now", Some("current_ampere"), 1e6),
    ("energy_empty", Some("energy_empty"), 1e6),
    ("energy_empty_design", Some("energy_empty_design"), 1e6),
    ("energy_full", Some("energy_full"), 1e6),
    ("energy_full_design", Some("energy_full_design"), 1e6),
    ("energy_now", Some("energy_watthour"), 1e6),
    ("voltage_boot", Some("voltage_boot"), 1e6),
    ("voltage_max", Some("voltage_max"), 1e6),
    ("voltage_max_design", Some("voltage_max_design"), 1e6),
    ("voltage_min", Some("voltage_min"), 1e6),
    ("voltage_min_design", Some("voltage_min_design"), 1e6),
    ("voltage_now", Some("voltage_volt"), 1e6),
    ("voltage_ocv", Some("voltage_ocv"), 1e6),
    ("charge_control_limit", Some("charge_control_limit"), 1e6),
    (
        "charge_control_limit_max",
        Some("charge_control_limit_max"),
        1e6,
    ),
    ("charge_counter", Some("charge_counter"), 1e6),
    ("charge_empty", Some("charge_empty"), 1e6),
    ("charge_empty_design", Some("charge_empty_design"), 1e6),
    ("charge_full", Some("charge_full"), 1e6),
    ("charge_full_design", Some("charge_full_design"), 1e6),
    ("charge_now", Some("charge_ampere"), 1e6),
    ("charge_term_current", Some("charge_term_current"), 1e6),
    (
        "constant_charge_current",
        Some("constant_charge_current"),
        1e6,
    ),
    (
        "constant_charge_current_max",
        Some("constant_charge_current_max"),
        1e6,
    ),
    (
        "constant_charge_voltage",
        Some("constant_charge_voltage"),
        1e6,
    ),
    (
        "constant_charge_voltage_max",
        Some("constant_charge_voltage_max"),
        1e6,
    ),
    ("precharge_current", Some("precharge_current"), 1e6),
    ("input_current_limit", Some("input_current_limit"), 1e6),
    ("power_now", Some("power_watt"), 1e6),
    ("temp", Some("temp_celsius"), 10.0),
    ("temp_alert_max", Some("temp_alert_max_celsius"), 10.0),
    ("temp_alert_min", Some("temp_alert_min_celsius"), 10.0),
    ("temp_ambient", Some("temp_ambient_celsius"), 10.0),
    ("temp_ambient_max", Some("temp_ambient_max_celsius"), 10.0),
    ("temp_ambient_min", Some("temp_ambient_min_celsius"), 10.0),
    ("temp_max", Some("temp_max_celsius"), 10.0),
    ("temp_min", Some("temp_min_celsius"), 10.0),
    ("charge_avg", None, 1.0),
    ("current_avg", None, 1.0),
    ("energy_avg", None, 1.0),
    ("power_avg", None, 1.0),
    ("time_to_empty_avg", None, 1.0),
    ("time_to_full_avg", None, 1.0),
    ("voltage_avg", None, 1.0),
];

/// The files read as texts: `node_power_supply_info`'s labels after `power_supply`, in order.
fn text_files() -> &'static [&'static str] {
    family(f::POWER_SUPPLY_INFO)
        .and_then(|info| info.labels.get(1..))
        .unwrap_or_default()
}

/// How many texts a supply has.
const TEXTS: usize = 11;

/// One supply: its name, its numbers (family, value) and its texts (empty where it has none).
#[derive(Debug, Default)]
struct Supply {
    name: String,
    numbers: Vec<(u16, f64)>,
    texts: [String; TEXTS],
}

#[derive(Debug)]
pub(super) struct PowerSupplyCollector {
    /// `sys/class/power_supply` under the root.
    class: PathBuf,
    supplies: Vec<Supply>,
}

impl PowerSupplyCollector {
    pub(super) fn new(root: &Path) -> Self {
        Self {
            class: root.join("sys/class/power_supply"),
            supplies: Vec::new(),
        }
    }
}

impl Families for PowerSupplyCollector {
    fn collect(&mut self) {
        self.supplies = read_class(&self.class).unwrap_or_default();
    }

    fn series(&self, out: &mut dyn Series) {
        for supply in &self.supplies {
            for &(family, value) in &supply.numbers {
                out.add(family, &[&supply.name], value);
            }
            let mut labels: [&str; TEXTS + 1] = [""; TEXTS + 1];
            labels[0] = &supply.name;
            for (label, text) in labels.iter_mut().skip(1).zip(&supply.texts) {
                *label = text;
            }
            out.add(f::POWER_SUPPLY_INFO, &labels, 1.0);
        }
    }
}

/// Every supply in name order; `None` when the class cannot be listed or one supply fails.
fn read_class(class: &Path) -> Option<Vec<Supply>> {
    sorted_names(class)?
        .into_iter()
        .map(|name| read_supply(&class.join(&name), name))
        .collect()
}

/// procfs' `parsePowerSupply`: every regular file of the supply read; `None` on a failure
/// that fails the class.
fn read_supply(dir: &Path, name: String) -> Option<Supply> {
    let files = regular_files(dir)?;
    let mut supply = Supply {
        name,
        ..Supply::default()
    };
    let mut buf = [0u8; SYSFS_READ];
    for file in files {
        let Some(bytes) = read_attribute(&mut buf, &dir.join(&file))? else {
            continue;
        };
        let text = go_text(bytes);
        if let Some(&(_, family, divisor)) = NUMBERS.iter().find(|(n, _, _)| *n == file) {
            let value = go_parse_int(&text)?;
            if let Some(family) = family.and_then(power_supply_family) {
                supply.numbers.push((family, value as f64 / divisor));
            }
        } else if let Some(at) = text_files().iter().position(|t| *t == file) {
            if let Some(slot) = supply.texts.get_mut(at) {
                *slot = text;
            }
        }
    }
    Some(supply)
}

fn power_supply_family(name: &str) -> Option<u16> {
    f::POWER_SUPPLY
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, family)| family)
}

/// procfs' `SysReadFile` as `parsePowerSupply` takes its errors: `Some(None)` for a file to
/// skip (gone, or its driver answers `EOPNOTSUPP` or `EINVAL` to the read), `None` for any
/// other failure, which fails the class.
fn read_attribute<'b>(buf: &'b mut [u8; SYSFS_READ], path: &Path) -> Option<Option<&'b [u8]>> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        // Go's error names the path then, so only "does not exist" is recognised.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Some(None),
        Err(_) => return None,
    };
    match file.read(buf) {
        Ok(n) => Some(buf.get(..n)),
        Err(e)
            if e.kind() == io::ErrorKind::NotFound
                || matches!(
                    e.raw_os_error(),
                    Some(libc_errno::EOPNOTSUPP | libc_errno::EINVAL)
                ) =>
        {
            Some(None)
        }
        Err(_) => None,
    }
}

/// The error numbers procfs lets pass, by the texts Go gives them on Linux.
mod libc_errno {
    pub(super) const EINVAL: i32 = 22;
    pub(super) const EOPNOTSUPP: i32 = 95;
}

/// Go's `strconv.ParseInt(text, 0, 64)`: a sign, then `0x`, `0o`, `0b` or a leading `0` for
/// the base, and underscores between digits.
fn go_parse_int(text: &str) -> Option<i64> {
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..)?),
        Some(b'+') => (false, text.get(1..)?),
        _ => (false, text),
    };
    let lower = rest.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if !underscores_ok(&lower) {
        return None;
    }
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let magnitude = u64::from_str_radix(&digits, radix).ok()?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `underscoreOK`, of the text without its sign, in lower case: each `_` between digits,
/// or after a base prefix (which counts as a digit).
fn underscores_ok(text: &str) -> bool {
    let bytes = text.as_bytes();
    let prefix = bytes.len() >= 2
        && bytes.first() == Some(&b'0')
        && bytes
            .get(1)
            .is_some_and(|b| matches!(b, b'x' | b'o' | b'b'));
    let hex = prefix && bytes.get(1) == Some(&b'x');
    let (mut saw, skip) = if prefix { (b'0', 2) } else { (b'^', 0) };
    for &b in bytes.iter().skip(skip) {
        if b.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&b)) {
            saw = b'0';
        } else if b == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
    }
    saw != b'_'
}

#[cfg(test)]
mod tests {
    use super::super::tests::FixtureTree;
    use super::*;

    #[test]
    fn numbers_parse_as_go_parses_them_with_base_zero() {
        for (text, want) in [
            ("42", Some(42)),
            ("-1", Some(-1)),
            ("+7", Some(7)),
            ("0x1F", Some(31)),
            ("010", Some(8)),
            ("0o17", Some(15)),
            ("0b101", Some(5)),
            ("1_000", Some(1000)),
            ("0x_1F", Some(31)),
            ("0", Some(0)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("08", None),
            ("", None),
            ("0x", None),
            ("_1", None),
            ("1_", None),
            ("1__0", None),
            ("1.5", None),
            ("Unknown", None),
            ("0x-5", None),
        ] {
            assert_eq!(go_parse_int(text), want, "{text}");
        }
    }

    #[test]
    fn the_texts_are_the_info_familys_labels() {
        assert_eq!(text_files().len(), TEXTS);
        assert_eq!(text_files().first(), Some(&"capacity_level"));
    }

    #[test]
    fn a_number_that_go_refuses_fails_every_supply() {
        let tree = FixtureTree::new("power-supply");
        tree.write("sys/class/power_supply/AC/online", "1\n");
        tree.write("sys/class/power_supply/AC/type", "Mains\n");
        tree.write("sys/class/power_supply/BAT0/capacity", "87\n");
        let mut collector = PowerSupplyCollector::new(&tree.0);
        collector.collect();
        let listed = super::super::families::listed::series(|out| collector.series(out));
        assert_eq!(listed.len(), 4, "{listed:?}");
        // A number read but not exported fails it all the same.
        tree.write("sys/class/power_supply/BAT0/voltage_avg", "n/a\n");
        collector.collect();
        assert!(collector.supplies.is_empty());
    }
}
