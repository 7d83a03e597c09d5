//! The sensors of `/sys/class/hwmon`, named and valued as node_exporter 1.5's hwmon collector
//! does: each chip's names, each channel's label, and each value its kernel driver gives
//! (temperatures, voltages, currents, power, energy, humidity, fans, their limits, alarms and
//! beeps). The temperatures go into the sample, which v1 carries; the rest, which only v2
//! carries, to [`HwmonCollector::series`].
//!
//! `naming.rs` has node_exporter's rules (text in, names out); `layout.rs` scans the chips'
//! directories with them into the files a sample reads.

mod layout;
mod naming;

use std::path::{Path, PathBuf};
use std::time::Instant;

use agent_core::catalogue::{Series, f};
use agent_core::sample::{Sample, Sensor, push_or_count};

use super::RESCAN;
use super::labels::Notes;
use super::read::{SYSFS_READ, gone, read_sysfs};
use layout::Layout;

/// Reads the files of the hwmon chips.
#[derive(Debug)]
pub(super) struct HwmonCollector {
    /// `sys/class/hwmon` under the root.
    dir: PathBuf,
    /// The chips and files found by the last scan, with the values of the last sample.
    layout: Layout,
    /// When the last scan was; `None` before the first sample.
    scanned: Option<Instant>,
    /// Whether a file of `layout` was gone at the last sample: the next scans again.
    gone: bool,
}

impl HwmonCollector {
    /// Reads the chips of `sys/class/hwmon` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            dir: root.join("sys/class/hwmon"),
            layout: Layout::default(),
            scanned: None,
            gone: false,
        }
    }

    /// Reads every value file, keeping the values for [`series`](Self::series), and adds the
    /// temperatures (`node_hwmon_temp_celsius`) to [`Sample::sensors`], chips in name order,
    /// noting in `notes` those the server would refuse. Scans first when [`RESCAN`] has passed
    /// or a file was gone.
    pub(super) fn collect(&mut self, sample: &mut Sample, notes: &mut Notes) {
        if self.gone || self.scanned.is_none_or(|at| at.elapsed() >= RESCAN) {
            self.layout = Layout::scan(&self.dir, notes);
            self.scanned = Some(Instant::now());
            self.gone = false;
        }
        let mut buf = [0; SYSFS_READ];
        for chip in &mut self.layout.chips {
            for channel in &mut chip.channels {
                for reading in &mut channel.readings {
                    reading.value = match read_sysfs(&mut buf, &reading.path) {
                        Ok(bytes) => naming::value(bytes, reading.scale),
                        Err(e) => {
                            self.gone |= gone(&e, &reading.path);
                            None
                        }
                    };
                    let Some(celsius) = reading.value.filter(|_| reading.family == f::HWMON_TEMP)
                    else {
                        continue;
                    };
                    let taken = sample
                        .sensors
                        .iter()
                        .any(|s| (&s.chip, &s.sensor) == (&chip.short, &channel.short));
                    let labels = [
                        ("chip", chip.short.as_str()),
                        ("sensor", channel.short.as_str()),
                    ];
                    if !notes.admit("sensor", &labels, taken) {
                        continue;
                    }
                    let sensor = Sensor {
                        chip: chip.short.clone(),
                        sensor: channel.short.clone(),
                        celsius,
                    };
                    push_or_count(&mut sample.sensors, sensor, &mut sample.omitted.sensors);
                }
            }
        }
    }

    /// The series of the last [`collect`](Self::collect) but the temperatures, which the
    /// sample gives: each chip's name, then each of its channels' label and values.
    pub(super) fn series(&self, out: &mut dyn Series) {
        out.section("hwmon");
        for chip in &self.layout.chips {
            out.identity(&chip.label);
            if let Some(name) = &chip.name {
                out.identity(name);
                out.add(f::HWMON_CHIP_NAMES, &[&chip.label, name], 1.0);
            }
            for channel in &chip.channels {
                out.identity(&channel.sensor);
                if let Some(label) = &channel.label {
                    out.identity(label);
                    out.add(
                        f::HWMON_SENSOR_LABEL,
                        &[&chip.label, label, &channel.sensor],
                        1.0,
                    );
                }
                for reading in &channel.readings {
                    if let Some(value) = reading.value.filter(|_| reading.family != f::HWMON_TEMP) {
                        out.add(reading.family, &[&chip.label, &channel.sensor], value);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::golden;

    const FAMILIES: &[&str] = &["node_hwmon_"];

    /// The series of a sample, its temperatures and the rest.
    fn sample(collector: &mut HwmonCollector, notes: &mut Notes) -> Vec<golden::Line> {
        let mut sample = Sample::default();
        collector.collect(&mut sample, notes);
        golden::series(FAMILIES, |out| {
            sample.series(out);
            collector.series(out);
        })
    }

    /// A Raspberry Pi 4's SoC temperature (its thermal zone is the chip's device, whose `temp`
    /// node_exporter reads as `temp0`), its firmware's under-voltage alarm (in volts, as
    /// node_exporter has it), an SHT3x's temperature and humidity with their limits and an
    /// INA219's voltages, current and power; a laptop's ACPI and PCH zones, its CPU's and
    /// NVMe disk's temperatures with labels and limits, its fans and battery: each as
    /// node_exporter 1.5 gives it for the same tree.
    #[test]
    fn sensors_as_node_exporter_gives_them() {
        for machine in golden::MACHINES {
            let mut collector = HwmonCollector::new(&golden::root(machine));
            let mut notes = Notes::default();
            let want = golden::expected(machine, FAMILIES);
            assert!(!want.is_empty(), "{machine}");
            assert_eq!(sample(&mut collector, &mut notes), want, "{machine}");
            assert_eq!(notes.take().count(), 0, "{machine}");
        }
    }

    #[test]
    fn a_value_that_cannot_be_read_is_left_out_and_a_chip_gone_is_scanned_again() {
        let tree = golden::Tree::copy_of("laptop");
        let mut collector = HwmonCollector::new(&tree.0);
        let mut notes = Notes::default();
        let all = sample(&mut collector, &mut notes);
        let coretemp = "sys/devices/platform/coretemp.0/hwmon/hwmon1";

        // Not a number, as a faulty sensor reads: that value alone is left out.
        tree.write(&format!("{coretemp}/temp2_max"), "N/A\n");
        let read = sample(&mut collector, &mut notes);
        assert_eq!(read.len(), all.len() - 1);
        assert!(
            !read
                .iter()
                .any(|(name, labels, _)| name == "node_hwmon_temp_max_celsius"
                    && labels.contains(&("sensor".into(), "temp2".into()))
                    && labels.contains(&("chip".into(), "platform_coretemp_0".into())))
        );
        assert!(!collector.gone);

        // A chip gone: its values are left out, and the next sample scans again.
        tree.write(&format!("{coretemp}/temp2_max"), "100000\n");
        tree.remove("sys/class/hwmon/hwmon1");
        let gone = sample(&mut collector, &mut notes);
        assert!(collector.gone);
        let coretemp_series = all
            .iter()
            .filter(|(_, labels, _)| {
                labels.contains(&("chip".into(), "platform_coretemp_0".into()))
            })
            .count();
        // Its chip name and labels were read by the scan and stay until the next.
        assert_eq!(gone.len(), all.len() - coretemp_series + 6);
        let rescanned = sample(&mut collector, &mut notes);
        assert_eq!(rescanned.len(), all.len() - coretemp_series);
        assert!(!collector.gone);
        assert_eq!(notes.take().count(), 0);
    }

    /// Two chips of one name give their series once, the first chip's; a label the server
    /// would refuse is left out; each is noted once.
    #[test]
    fn series_the_server_would_refuse_are_left_out_and_noted() {
        let tree = golden::Tree::new("hwmon-refused");
        for chip in ["hwmon0", "hwmon1"] {
            tree.write(&format!("sys/class/hwmon/{chip}/name"), "nct6775\n");
            tree.write(&format!("sys/class/hwmon/{chip}/fan1_input"), "1200\n");
            tree.write(&format!("sys/class/hwmon/{chip}/in0_input"), "1040\n");
        }
        tree.write("sys/class/hwmon/hwmon1/fan1_input", "900\n");
        tree.write("sys/class/hwmon/hwmon1/fan2_input", "800\n");
        tree.write("sys/class/hwmon/hwmon1/in0_label", "Vcore\tA\n");
        let mut collector = HwmonCollector::new(&tree.0);
        let mut notes = Notes::default();
        let fan = |sensor: &str, rpm| {
            (
                "node_hwmon_fan_rpm".to_owned(),
                vec![
                    ("chip".to_owned(), "nct6775".to_owned()),
                    ("sensor".to_owned(), sensor.to_owned()),
                ],
                rpm,
            )
        };
        let series = sample(&mut collector, &mut notes);
        let fans: Vec<_> = series
            .iter()
            .filter(|(name, _, _)| name == "node_hwmon_fan_rpm")
            .cloned()
            .collect();
        assert_eq!(fans, [fan("fan1", 1200.0), fan("fan2", 800.0)]);
        assert_eq!(series.len(), 4, "{series:#?}");
        let notes: Vec<String> = notes.take().collect();
        assert_eq!(notes.len(), 4, "{notes:#?}");
        assert!(
            notes.iter().any(|n| n.contains("node_hwmon_sensor_label")),
            "{notes:#?}"
        );
    }

    #[test]
    fn without_hwmon_nothing() {
        let mut collector = HwmonCollector::new(Path::new("/nonexistent/vitals/root"));
        let mut notes = Notes::default();
        assert_eq!(sample(&mut collector, &mut notes), []);
    }
}
