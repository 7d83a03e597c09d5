//! Memory and swap, `/proc/meminfo`, as node_exporter's meminfo collector reads it.
//!
//! The file is read once a sample. The seven fields a v1 [`Sample`] has room for go into
//! [`Sample::memory`], as before; the others the catalogue knows are kept for
//! [`MeminfoCollector::series`], which only a v2 agent sends.

use std::path::Path;

use agent_core::catalogue::{Series, f, family};
use agent_core::sample::{Memory, Sample};

use super::proc_file::ProcFile;

/// The fields of `/proc/meminfo` besides [`Memory`]'s, by the kernel's name, with their family:
/// every one some kernel prints, by its configuration and architecture. A field not here (a
/// vendor's, or one newer than this table) is left out.
///
/// In the kernel's order, so that the lookup of the next line's field starts where the last
/// one was found and most often finds it there (see [`find`]).
const MORE: &[(&str, u16)] = &[
    ("SwapCached", f::MEM_SWAP_CACHED),
    ("Active", f::MEM_ACTIVE),
    ("Inactive", f::MEM_INACTIVE),
    ("Active(anon)", f::MEM_ACTIVE_ANON),
    ("Inactive(anon)", f::MEM_INACTIVE_ANON),
    ("Active(file)", f::MEM_ACTIVE_FILE),
    ("Inactive(file)", f::MEM_INACTIVE_FILE),
    ("Unevictable", f::MEM_UNEVICTABLE),
    ("Mlocked", f::MEM_MLOCKED),
    ("HighTotal", f::MEM_HIGH_TOTAL),
    ("HighFree", f::MEM_HIGH_FREE),
    ("LowTotal", f::MEM_LOW_TOTAL),
    ("LowFree", f::MEM_LOW_FREE),
    ("MmapCopy", f::MEM_MMAP_COPY),
    ("Zswap", f::MEM_ZSWAP),
    ("Zswapped", f::MEM_ZSWAPPED),
    ("Dirty", f::MEM_DIRTY),
    ("Writeback", f::MEM_WRITEBACK),
    ("AnonPages", f::MEM_ANON_PAGES),
    ("Mapped", f::MEM_MAPPED),
    ("Shmem", f::MEM_SHMEM),
    ("KReclaimable", f::MEM_KRECLAIMABLE),
    ("Slab", f::MEM_SLAB),
    ("SReclaimable", f::MEM_SRECLAIMABLE),
    ("SUnreclaim", f::MEM_SUNRECLAIM),
    ("KernelStack", f::MEM_KERNEL_STACK),
    ("ShadowCallStack", f::MEM_SHADOW_CALL_STACK),
    ("PageTables", f::MEM_PAGE_TABLES),
    ("SecPageTables", f::MEM_SEC_PAGE_TABLES),
    ("Quicklists", f::MEM_QUICKLISTS),
    ("NFS_Unstable", f::MEM_NFS_UNSTABLE),
    ("Bounce", f::MEM_BOUNCE),
    ("WritebackTmp", f::MEM_WRITEBACK_TMP),
    ("CommitLimit", f::MEM_COMMIT_LIMIT),
    ("Committed_AS", f::MEM_COMMITTED_AS),
    ("VmallocTotal", f::MEM_VMALLOC_TOTAL),
    ("VmallocUsed", f::MEM_VMALLOC_USED),
    ("VmallocChunk", f::MEM_VMALLOC_CHUNK),
    ("Percpu", f::MEM_PERCPU),
    ("EarlyMemtestBad", f::MEM_EARLY_MEMTEST_BAD),
    ("HardwareCorrupted", f::MEM_HARDWARE_CORRUPTED),
    ("AnonHugePages", f::MEM_ANON_HUGE_PAGES),
    ("ShmemHugePages", f::MEM_SHMEM_HUGE_PAGES),
    ("ShmemPmdMapped", f::MEM_SHMEM_PMD_MAPPED),
    ("FileHugePages", f::MEM_FILE_HUGE_PAGES),
    ("FilePmdMapped", f::MEM_FILE_PMD_MAPPED),
    ("CmaTotal", f::MEM_CMA_TOTAL),
    ("CmaFree", f::MEM_CMA_FREE),
    ("Unaccepted", f::MEM_UNACCEPTED),
    ("Balloon", f::MEM_BALLOON),
    ("HugePages_Total", f::MEM_HUGEPAGES_TOTAL),
    ("HugePages_Free", f::MEM_HUGEPAGES_FREE),
    ("HugePages_Rsvd", f::MEM_HUGEPAGES_RSVD),
    ("HugePages_Surp", f::MEM_HUGEPAGES_SURP),
    ("Hugepagesize", f::MEM_HUGEPAGESIZE),
    ("Hugetlb", f::MEM_HUGETLB),
    ("DirectMap4k", f::MEM_DIRECT_MAP_4K),
    ("DirectMap64k", f::MEM_DIRECT_MAP_64K),
    ("DirectMap1M", f::MEM_DIRECT_MAP_1M),
    ("DirectMap2M", f::MEM_DIRECT_MAP_2M),
    ("DirectMap4M", f::MEM_DIRECT_MAP_4M),
    ("DirectMap1G", f::MEM_DIRECT_MAP_1G),
    ("DirectMap2G", f::MEM_DIRECT_MAP_2G),
];

/// The value of each field of [`MORE`], by place: bytes for a family in bytes, else the count;
/// `None` for a field the file did not have.
type MoreValues = [Option<u64>; MORE.len()];

/// Reads the memory and swap totals, and the rest of the file.
#[derive(Debug)]
pub(super) struct MeminfoCollector {
    /// `proc/meminfo` under the root.
    path: ProcFile,
    /// Holds the file being parsed; reused so a sample allocates nothing here.
    buf: Vec<u8>,
    /// The fields of [`MORE`] of the last sample, for [`MeminfoCollector::series`]; all `None`
    /// when the file could not be read.
    more: MoreValues,
}

impl MeminfoCollector {
    /// Reads `proc/meminfo` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            path: ProcFile::new(root.join("proc/meminfo")),
            buf: Vec::new(),
            more: [None; MORE.len()],
        }
    }

    /// Sets [`Sample::memory`], left at zero when the file cannot be read, and keeps the other
    /// fields for [`series`](MeminfoCollector::series).
    pub(super) fn collect(&mut self, sample: &mut Sample) {
        self.more = [None; MORE.len()];
        if let Some(text) = self.path.read(&mut self.buf) {
            sample.memory = parse_meminfo(&text, &mut self.more);
        }
    }

    /// The series of the fields besides [`Sample::memory`]'s that the last
    /// [`collect`](MeminfoCollector::collect) read, in the order of [`MORE`]: at most one a
    /// field, so the file cannot make more.
    pub(super) fn series(&self, out: &mut dyn Series) {
        for (&(_, family), value) in MORE.iter().zip(&self.more) {
            if let Some(value) = *value {
                out.add(family, &[], value as f64);
            }
        }
    }
}

/// Reads the fields of `/proc/meminfo` that [`Memory`] holds, in bytes, and puts those of
/// [`MORE`] into `more`.
///
/// Values with the `kB` unit are multiplied by 1024 (the kernel's "kB" is KiB), as node_exporter
/// does; a missing or malformed field of [`Memory`] is 0. A field of [`MORE`] is kept only with
/// the unit its family's name says (`_bytes` for kB, none for a count): node_exporter would
/// name it otherwise, and the catalogue has no such family.
fn parse_meminfo(text: &str, more: &mut MoreValues) -> Memory {
    let mut memory = Memory::default();
    let mut next = 0;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let mut fields = rest.split_ascii_whitespace();
        let Some(Ok(value)) = fields.next().map(str::parse::<u64>) else {
            continue;
        };
        let (bytes, in_kb) = match fields.next() {
            None => (value, false),
            Some("kB") => (value.saturating_mul(1024), true),
            Some(_) => continue,
        };
        let field = match key {
            "MemTotal" => &mut memory.total,
            "MemFree" => &mut memory.free,
            "MemAvailable" => &mut memory.available,
            "Buffers" => &mut memory.buffers,
            "Cached" => &mut memory.cached,
            "SwapTotal" => &mut memory.swap_total,
            "SwapFree" => &mut memory.swap_free,
            _ => {
                if let Some(i) = find(key, next) {
                    next = i + 1;
                    if in_kb == MORE.get(i).is_some_and(|&(_, id)| in_bytes(id)) {
                        if let Some(slot) = more.get_mut(i) {
                            *slot = Some(bytes);
                        }
                    }
                }
                continue;
            }
        };
        *field = bytes;
    }
    memory
}

/// Whether family `id` is in bytes (`node_memory_<field>_bytes`).
fn in_bytes(id: u16) -> bool {
    family(id).is_some_and(|family| family.unit == "bytes")
}

/// The place of `key` in [`MORE`], looked for from `from` on and then from the start.
fn find(key: &str, from: usize) -> Option<usize> {
    let from = from.min(MORE.len());
    (from..MORE.len())
        .chain(0..from)
        .find(|&i| MORE.get(i).is_some_and(|&(name, _)| name == key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_core::catalogue::{FAMILIES, Kind};

    /// `/proc/meminfo` of a 16 GiB x86-64 machine on Linux 6.x, with fields in kernel order.
    const PROC_MEMINFO: &str = include_str!("fixtures/meminfo/proc/meminfo");

    fn parse(text: &str) -> (Memory, MoreValues) {
        let mut more = [None; MORE.len()];
        let memory = parse_meminfo(text, &mut more);
        (memory, more)
    }

    /// The fields of `more` that are there, by kernel name.
    fn present(more: &MoreValues) -> Vec<(&'static str, u64)> {
        MORE.iter()
            .zip(more)
            .filter_map(|(&(name, _), value)| value.map(|v| (name, v)))
            .collect()
    }

    /// Each series as (family, value); none of these has labels.
    fn series_of(collector: &MeminfoCollector) -> Vec<(u16, f64)> {
        super::super::families::listed::unlabelled(|out| collector.series(out))
    }

    #[test]
    fn meminfo_in_bytes() {
        assert_eq!(
            parse(PROC_MEMINFO).0,
            Memory {
                total: 16_318_412 * 1024,
                free: 1_123_456 * 1024,
                available: 9_876_543 * 1024,
                buffers: 345_678 * 1024,
                cached: 7_654_321 * 1024,
                swap_total: 2_097_148 * 1024,
                swap_free: 2_000_000 * 1024,
            }
        );
    }

    #[test]
    fn every_other_field_of_the_fixture_is_kept_in_bytes_or_as_a_count() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/meminfo");
        let mut collector = MeminfoCollector::new(&root);
        let mut sample = Sample::default();
        collector.collect(&mut sample);
        assert_eq!(sample.memory, parse(PROC_MEMINFO).0);

        let series = series_of(&collector);
        assert_eq!(series.len(), PROC_MEMINFO.lines().count() - 7);
        for (family, value) in [
            (f::MEM_SWAP_CACHED, 1024.0 * 1024.0),
            (f::MEM_ACTIVE_ANON, 3_333_333.0 * 1024.0),
            (f::MEM_INACTIVE_FILE, 4_222_222.0 * 1024.0),
            (f::MEM_COMMITTED_AS, 12_345_678.0 * 1024.0),
            (f::MEM_VMALLOC_TOTAL, 34_359_738_367.0 * 1024.0),
            (f::MEM_HARDWARE_CORRUPTED, 0.0),
            (f::MEM_HUGEPAGES_TOTAL, 16.0),
            (f::MEM_HUGEPAGES_FREE, 12.0),
            (f::MEM_HUGEPAGESIZE, 2048.0 * 1024.0),
            (f::MEM_DIRECT_MAP_1G, 6_291_456.0 * 1024.0),
        ] {
            assert!(series.contains(&(family, value)), "{family} {value}");
        }
        // In the order of the table, which is the kernel's.
        let places: Vec<usize> = series
            .iter()
            .map(|(family, _)| MORE.iter().position(|&(_, f)| f == *family).unwrap())
            .collect();
        assert!(places.is_sorted());
    }

    #[test]
    fn a_missing_file_forgets_the_last_sample() {
        let tree = std::env::temp_dir().join(format!("vitals-meminfo-{}", std::process::id()));
        std::fs::create_dir_all(tree.join("proc")).unwrap();
        std::fs::write(tree.join("proc/meminfo"), "Dirty: 3 kB\n").unwrap();
        let mut collector = MeminfoCollector::new(&tree);
        collector.collect(&mut Sample::default());
        assert_eq!(series_of(&collector), [(f::MEM_DIRTY, 3072.0)]);
        std::fs::remove_dir_all(&tree).unwrap();
        // Opened anew: a file of /proc that goes fails its reads, where a regular file kept
        // open would still be read.
        collector.path = ProcFile::new(tree.join("proc/meminfo"));
        collector.collect(&mut Sample::default());
        assert_eq!(series_of(&collector), []);
    }

    #[test]
    fn fields_of_another_unit_or_unknown_are_left_out_in_any_order() {
        let (_, more) = parse(
            "HugePages_Total: 3 kB\nHugepagesize: 2048\nTcache: 5 kB\nDirectMap2G: 2 kB\n\
             Active(anon): 1 kB\nDirty: 9 MB\nMlocked: x kB\nHugePages_Free: 2\n",
        );
        assert_eq!(
            present(&more),
            [
                ("Active(anon)", 1024),
                ("HugePages_Free", 2),
                ("DirectMap2G", 2048)
            ]
        );
    }

    #[test]
    fn meminfo_malformed_fields_are_zero() {
        let (memory, more) = parse(
            "MemTotal: lots kB\nMemFree 12 kB\nBuffers: 3 MB\nCached: 18446744073709551615 kB\n\
             SwapFree: 7\n:\n",
        );
        assert_eq!(
            memory,
            Memory {
                cached: u64::MAX,
                swap_free: 7,
                ..Memory::default()
            }
        );
        assert_eq!(present(&more), []);
    }

    /// node_exporter names a field `node_memory_<field>`, `(x)` as `_x`, and `_bytes` after
    /// when the kernel gives it in kB; its help text says "Memory information field <name>.".
    /// Every `node_memory_*` family of the catalogue is one of [`Memory`]'s or of [`MORE`].
    #[test]
    fn the_table_and_the_catalogue_name_each_field_as_node_exporter_does() {
        let mut named = Vec::new();
        for &(key, id) in MORE {
            let family = family(id).unwrap();
            let field = key.replace('(', "_").replace(')', "");
            let field = match family.unit {
                "bytes" => format!("{field}_bytes"),
                "" => field,
                other => panic!("{key}: unit {other}"),
            };
            assert_eq!(family.name, format!("node_memory_{field}"));
            assert_eq!(family.help, format!("Memory information field {field}."));
            assert_eq!((family.kind, family.labels), (Kind::Gauge, &[][..]));
            assert!(!named.contains(&family.name), "{key} twice");
            named.push(family.name);
        }
        let memory = [
            f::MEM_TOTAL,
            f::MEM_FREE,
            f::MEM_AVAILABLE,
            f::MEM_BUFFERS,
            f::MEM_CACHED,
            f::SWAP_TOTAL,
            f::SWAP_FREE,
        ];
        named.extend(memory.map(|id| family(id).unwrap().name));
        for family in FAMILIES
            .iter()
            .filter(|f| f.name.starts_with("node_memory_"))
        {
            assert!(named.contains(&family.name), "{}", family.name);
        }
    }
}
