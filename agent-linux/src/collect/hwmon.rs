//! Naming and values of `/sys/class/hwmon` temperature sensors, as node_exporter 1.5's hwmon
//! collector computes them. Text in, values out; the caller resolves the symlinks.

/// node_exporter's `cleanMetricName`: lowercase, every character outside `[a-z0-9:_]` becomes
/// `_`, then `_` is trimmed from both ends.
///
/// Exact for ASCII. Go lowercases a non-ASCII character to one character; this keeps one that
/// lowercases to a single allowed ASCII character (the Kelvin sign becomes `k`) and turns any
/// other into `_`, which agrees with Go for all but a handful of characters.
pub(super) fn clean(name: &str) -> String {
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
pub(super) fn chip_from_device(resolved: &str) -> Option<String> {
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
pub(super) fn chip_from_name(name: &str) -> Option<String> {
    Some(clean(name)).filter(|name| !name.is_empty())
}

/// The sensor number of a `temp<N>_input` file name, which node_exporter labels `temp<N>`.
///
/// node_exporter reads the number as an integer, so `temp01_input` is `temp1` too.
pub(super) fn temp_input_number(file_name: &str) -> Option<u64> {
    let digits = file_name.strip_prefix("temp")?.strip_suffix("_input")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Degrees Celsius from the millidegrees of a `temp*_input` file, or `None` when the file does
/// not hold a finite number (a sensor that is absent or faulty often reads as an I/O error,
/// sometimes as garbage).
pub(super) fn parse_millidegrees(text: &str) -> Option<f64> {
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
