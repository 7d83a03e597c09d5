//! Which files of `/sys/class/hwmon` a sample reads, found by a scan of the chips'
//! directories: each chip's names, each channel's label, and each value's file with the
//! family and scale node_exporter gives it.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use agent_core::catalogue::{f, family};
use agent_core::sample::{Name, bounded};
use agent_core::wire::MAX_TEXT;

use super::super::labels::Notes;
use super::super::read::{SYSFS_READ, read_sysfs, read_text};
use super::naming::{self, Scale};

/// The most series of the hwmon families a scan lets a sample give, the temperatures of a v1
/// sample among them. A desktop board's Super I/O chip and a many-core CPU give about 350
/// (each voltage, fan and temperature with its limits, alarms and label), about 15 KiB of a
/// v2 declaration; the bound keeps a tree under another root from making it grow without end.
const MAX_SERIES: usize = 512;

/// The chips, their channels and the files a sample reads.
#[derive(Debug, Default)]
pub(super) struct Layout {
    /// The chips, in the order node_exporter reads them: their directories' names'.
    pub(super) chips: Vec<Chip>,
}

/// One directory of `/sys/class/hwmon`.
#[derive(Debug)]
pub(super) struct Chip {
    /// The `chip` label: node_exporter's name for the directory.
    pub(super) label: String,
    /// The `chip` label of a v1 sample's temperatures, which holds 32 bytes of it.
    pub(super) short: Name,
    /// The `chip_name` of `node_hwmon_chip_names`, the cleaned `name` file; `None` without
    /// one, or when an earlier chip gave that series.
    pub(super) name: Option<String>,
    /// Its channels that have a label or a value, by type and number.
    pub(super) channels: Vec<Channel>,
}

/// One channel of a chip: `temp1`, `fan2`, `in0`.
#[derive(Debug)]
pub(super) struct Channel {
    /// The `sensor` label.
    pub(super) sensor: String,
    /// The `sensor` label of a v1 sample's temperatures.
    pub(super) short: Name,
    /// The `label` of `node_hwmon_sensor_label`, read once by the scan: drivers fix it.
    pub(super) label: Option<String>,
    /// Its values, by element.
    pub(super) readings: Vec<Reading>,
}

/// One value's file.
#[derive(Debug)]
pub(super) struct Reading {
    /// Its family.
    pub(super) family: u16,
    /// How its value is made from the file's number.
    pub(super) scale: Scale,
    /// The file, read every sample.
    pub(super) path: PathBuf,
    /// Its value at the last sample; `None` when the file could not be read or parsed.
    pub(super) value: Option<f64>,
}

/// A chip's sensor files, by type and number, then by element: `temp1_max` is at
/// (`temp`, 1), `max`.
type Files = BTreeMap<(String, i64), BTreeMap<String, PathBuf>>;

/// The series a scan has given, by family and label texts, so that a later chip with the same
/// name gives none of them again; and how many.
#[derive(Debug, Default)]
struct Given {
    /// Each series given but the temperatures: its family and label texts.
    series: HashSet<(u16, Vec<String>)>,
    /// The series given, the temperatures among them.
    count: usize,
}

impl Given {
    /// Whether the series of family `id` with `labels` may go into the layout: its labels are
    /// ones the server takes and the protocol holds, no earlier series has them, and the bound
    /// is not reached. A
    /// series left out is noted once. The temperatures are a v1 sample's, which checks them
    /// itself as it takes each.
    fn admit(&mut self, notes: &mut Notes, id: u16, labels: &[(&str, &str)]) -> bool {
        if self.count >= MAX_SERIES {
            notes.note(format!(
                "left out the hwmon series past the first {MAX_SERIES}"
            ));
            return false;
        }
        if id != f::HWMON_TEMP {
            let key = (id, labels.iter().map(|(_, t)| (*t).to_owned()).collect());
            let name = family(id).map_or("", |f| f.name);
            if labels.iter().any(|(_, text)| text.len() > MAX_TEXT) {
                notes.note(format!(
                    "left out {name} {labels:?}: a label would be longer than {MAX_TEXT} bytes"
                ));
                return false;
            }
            if !notes.admit(name, labels, self.series.contains(&key)) {
                return false;
            }
            self.series.insert(key);
        }
        self.count += 1;
        true
    }
}

impl Layout {
    /// Looks up the chips of `dir` (`sys/class/hwmon`) and their files as node_exporter's
    /// hwmon collector does, and the labels, noting in `notes` what is left out. A missing
    /// `dir` has no chips.
    pub(super) fn scan(dir: &Path, notes: &mut Notes) -> Self {
        let mut layout = Layout::default();
        let Ok(entries) = fs::read_dir(dir) else {
            return layout;
        };
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|path| path.is_dir())
            .collect();
        // Go's os.ReadDir, in name order: of two chips of one name, the first gives the series.
        dirs.sort();
        let mut buf = Vec::new();
        let mut given = Given::default();
        let mut files = Files::new();
        for dir in dirs {
            let Some(label) = naming::chip_name(&dir, &mut buf) else {
                continue;
            };
            files.clear();
            find_files(&dir, &mut files);
            let device = dir.join("device");
            if device.is_dir() {
                find_files(&device, &mut files);
            }
            let name = read_text(&mut buf, &dir.join("name"))
                .and_then(|name| naming::chip_from_name(&name))
                .filter(|name| {
                    given.admit(
                        notes,
                        f::HWMON_CHIP_NAMES,
                        &[("chip", &label), ("chip_name", name)],
                    )
                });
            let channels = files
                .iter()
                .filter_map(|((kind, number), elements)| {
                    channel(&label, kind, *number, elements, &mut given, notes)
                })
                .collect();
            layout.chips.push(Chip {
                short: bounded(&label),
                label,
                name,
                channels,
            });
        }
        layout
    }
}

/// Adds the sensor files of `dir` to `files`, replacing one of the same sensor and element
/// (node_exporter reads the chip's directory, then its `device`'s, whose file wins).
fn find_files(dir: &Path, files: &mut Files) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let file_name = entry.file_name();
        let Some(file) = file_name.to_str().and_then(naming::explode) else {
            continue;
        };
        let path = entry.path();
        // A directory (a device's `power/`) or a file only to be written
        // (`temp1_reset_history`) fails every read: node_exporter tries it each time in vain.
        let readable = fs::metadata(&path)
            .is_ok_and(|meta| !meta.is_dir() && meta.permissions().mode() & 0o444 != 0);
        if readable {
            files
                .entry((file.kind.to_owned(), file.number))
                .or_default()
                .insert(file.element.to_owned(), path);
        }
    }
}

/// The channel of chip `chip` of type `kind` and number `number`, whose files are `elements`:
/// its label, read now, and its values' files with their families. `None` when it has
/// neither.
fn channel(
    chip: &str,
    kind: &str,
    number: i64,
    elements: &BTreeMap<String, PathBuf>,
    given: &mut Given,
    notes: &mut Notes,
) -> Option<Channel> {
    let sensor = naming::sensor(kind, number);
    let label = elements.get("label").and_then(|path| {
        let mut raw = [0; SYSFS_READ];
        let label = naming::label_text(read_sysfs(&mut raw, path).ok()?);
        let labels = [
            ("chip", chip),
            ("label", label.as_str()),
            ("sensor", &sensor),
        ];
        given
            .admit(notes, f::HWMON_SENSOR_LABEL, &labels)
            .then_some(label)
    });
    // A file named after the sensor alone renames its `input` (see `naming::metric`).
    let bare = elements.contains_key("");
    let mut readings = Vec::new();
    for (element, path) in elements {
        let Some(metric) = naming::metric(kind, element, bare) else {
            continue;
        };
        let Some(family) = metric.family() else {
            continue;
        };
        if given.admit(notes, family, &[("chip", chip), ("sensor", &sensor)]) {
            readings.push(Reading {
                family,
                scale: metric.scale,
                path: path.clone(),
                value: None,
            });
        }
    }
    (label.is_some() || !readings.is_empty()).then(|| Channel {
        short: bounded(&sensor),
        sensor,
        label,
        readings,
    })
}
