//! Paging, swapping and OOM kills, `/proc/vmstat`, as node_exporter's vmstat collector reads it
//! with its default field filter.

use std::path::Path;

use agent_core::catalogue::{Series, f};

use super::families::Families;
use super::proc_file::ProcFile;

/// The fields node_exporter's default `--collector.vmstat.fields`,
/// `^(oom_kill|pgpg|pswp|pg.*fault).*`, selects from the kernel's, with their families, in
/// the kernel's order. Another field, even one the filter would select (a kernel newer than
/// this table), is left out: the catalogue has no family for it.
const FIELDS: &[(&str, u16)] = &[
    ("pgpgin", f::VMSTAT_PGPGIN),
    ("pgpgout", f::VMSTAT_PGPGOUT),
    ("pswpin", f::VMSTAT_PSWPIN),
    ("pswpout", f::VMSTAT_PSWPOUT),
    ("pgfault", f::VMSTAT_PGFAULT),
    ("pgmajfault", f::VMSTAT_PGMAJFAULT),
    ("oom_kill", f::VMSTAT_OOM_KILL),
];

/// The value of each field of [`FIELDS`], by place; `None` for one the file did not have.
type Values = [Option<u64>; FIELDS.len()];

/// Reads the fields of [`FIELDS`].
#[derive(Debug)]
pub(super) struct VmstatCollector {
    /// `proc/vmstat` under the root.
    path: ProcFile,
    /// Holds the file being parsed; reused.
    buf: Vec<u8>,
    /// The fields of the last sample; all `None` when the file could not be read.
    values: Values,
}

impl VmstatCollector {
    /// Reads `proc/vmstat` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            path: ProcFile::new(root.join("proc/vmstat")),
            buf: Vec::new(),
            values: [None; FIELDS.len()],
        }
    }
}

impl Families for VmstatCollector {
    fn collect(&mut self) {
        self.values = [None; FIELDS.len()];
        if let Some(text) = self.path.read(&mut self.buf) {
            parse_vmstat(&text, &mut self.values);
        }
    }

    /// At most one series a field of [`FIELDS`], in its order, so the file cannot make more.
    fn series(&self, out: &mut dyn Series) {
        for (&(_, family), value) in FIELDS.iter().zip(&self.values) {
            if let Some(value) = *value {
                out.add(family, &[], value as f64);
            }
        }
    }
}

/// Puts the fields of [`FIELDS`] that `text` has, as `name value` lines, into `values`. A line
/// of another shape or with a value that is not a whole number is skipped.
fn parse_vmstat(text: &str, values: &mut Values) {
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let (Some(name), Some(value), None) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let Some(i) = FIELDS.iter().position(|&(field, _)| field == name) else {
            continue;
        };
        if let (Some(slot), Ok(value)) = (values.get_mut(i), value.parse()) {
            *slot = Some(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::families::listed::unlabelled;
    use super::*;
    use agent_core::catalogue::{FAMILIES, Kind, family};
    use std::path::PathBuf;

    /// `/proc/vmstat` of Linux 6.18 on x86-64, with swapping and an OOM kill made up.
    const PROC_VMSTAT: &str = include_str!("fixtures/vmstat/proc/vmstat");

    /// node_exporter's default filter, `^(oom_kill|pgpg|pswp|pg.*fault).*`.
    fn selected_by_default(name: &str) -> bool {
        name.starts_with("oom_kill")
            || name.starts_with("pgpg")
            || name.starts_with("pswp")
            || name
                .strip_prefix("pg")
                .is_some_and(|rest| rest.contains("fault"))
    }

    fn parse(text: &str) -> Vec<(&'static str, u64)> {
        let mut values = [None; FIELDS.len()];
        parse_vmstat(text, &mut values);
        FIELDS
            .iter()
            .zip(values)
            .filter_map(|(&(name, _), value)| value.map(|v| (name, v)))
            .collect()
    }

    #[test]
    fn the_default_fields_from_the_fixture() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/vmstat");
        let mut collector = VmstatCollector::new(&root);
        collector.collect();
        let listed = |c: &VmstatCollector| unlabelled(|out| c.series(out));
        assert_eq!(
            listed(&collector),
            [
                (f::VMSTAT_PGPGIN, 10_306_849.0),
                (f::VMSTAT_PGPGOUT, 17_266_660.0),
                (f::VMSTAT_PSWPIN, 12.0),
                (f::VMSTAT_PSWPOUT, 34.0),
                (f::VMSTAT_PGFAULT, 71_012_391.0),
                (f::VMSTAT_PGMAJFAULT, 15_847.0),
                (f::VMSTAT_OOM_KILL, 2.0),
            ]
        );

        collector.path = ProcFile::new(PathBuf::from("/nonexistent/proc/vmstat"));
        collector.collect();
        assert!(
            listed(&collector).is_empty(),
            "a missing file forgets the last sample"
        );
    }

    #[test]
    fn malformed_lines_and_other_fields_are_skipped() {
        assert_eq!(
            parse(
                "pgfault -1\npgmajfault 1 2\npgpgin\noom_kill 7\npgpgout 1.5\n\
                 pgfault_extra 9\nnr_free_pages 100\n pswpin\t3\n"
            ),
            [("pswpin", 3), ("oom_kill", 7)]
        );
    }

    /// Every field the default filter selects from the fixture is in the table, and only those;
    /// their families have node_exporter's names, help texts and type, and every
    /// `node_vmstat_*` family of the catalogue is in the table.
    #[test]
    fn the_table_is_node_exporters_default_selection() {
        for line in PROC_VMSTAT.lines() {
            let name = line.split(' ').next().unwrap();
            let known = FIELDS.iter().any(|&(field, _)| field == name);
            assert_eq!(known, selected_by_default(name), "{name}");
        }
        for &(name, id) in FIELDS {
            let family = family(id).unwrap();
            assert_eq!(family.name, format!("node_vmstat_{name}"));
            assert_eq!(
                family.help,
                format!("/proc/vmstat information field {name}.")
            );
            assert_eq!((family.kind, family.unit), (Kind::Untyped, ""));
        }
        let vmstat = FAMILIES
            .iter()
            .filter(|f| f.name.starts_with("node_vmstat_"));
        assert_eq!(vmstat.count(), FIELDS.len());
    }
}
