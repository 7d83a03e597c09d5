//! Sockets, `/proc/net/sockstat` and `/proc/net/sockstat6`, as node_exporter's sockstat
//! collector reads them.

use std::path::Path;

use agent_core::catalogue::{Series, f};

use super::families::Families;
use super::proc_file::ProcFile;

/// The values of the two files, by the protocol that starts a line and the key before each
/// number, with their families, in the files' order. `mem_bytes` is not in the files: it is
/// `mem`, in pages, times the page size. A protocol or a key not here is left out.
const FIELDS: &[(&str, &str, u16)] = &[
    ("sockets", "used", f::SOCKSTAT_SOCKETS_USED),
    ("TCP", "inuse", f::SOCKSTAT_TCP_INUSE),
    ("TCP", "orphan", f::SOCKSTAT_TCP_ORPHAN),
    ("TCP", "tw", f::SOCKSTAT_TCP_TW),
    ("TCP", "alloc", f::SOCKSTAT_TCP_ALLOC),
    ("TCP", "mem", f::SOCKSTAT_TCP_MEM),
    ("TCP", "mem_bytes", f::SOCKSTAT_TCP_MEM_BYTES),
    ("UDP", "inuse", f::SOCKSTAT_UDP_INUSE),
    ("UDP", "mem", f::SOCKSTAT_UDP_MEM),
    ("UDP", "mem_bytes", f::SOCKSTAT_UDP_MEM_BYTES),
    ("UDPLITE", "inuse", f::SOCKSTAT_UDPLITE_INUSE),
    ("RAW", "inuse", f::SOCKSTAT_RAW_INUSE),
    ("FRAG", "inuse", f::SOCKSTAT_FRAG_INUSE),
    ("FRAG", "memory", f::SOCKSTAT_FRAG_MEMORY),
    ("TCP6", "inuse", f::SOCKSTAT_TCP6_INUSE),
    ("UDP6", "inuse", f::SOCKSTAT_UDP6_INUSE),
    ("UDPLITE6", "inuse", f::SOCKSTAT_UDPLITE6_INUSE),
    ("RAW6", "inuse", f::SOCKSTAT_RAW6_INUSE),
    ("FRAG6", "inuse", f::SOCKSTAT_FRAG6_INUSE),
    ("FRAG6", "memory", f::SOCKSTAT_FRAG6_MEMORY),
];

/// The value of each field of [`FIELDS`], by place; `None` for one the files did not have.
type Values = [Option<i64>; FIELDS.len()];

/// Reads the sockets of each protocol, IPv4's and IPv6's.
#[derive(Debug)]
pub(super) struct SockstatCollector {
    /// `proc/net/sockstat` under the root.
    ipv4: ProcFile,
    /// `proc/net/sockstat6` under the root: missing when the kernel has no IPv6.
    ipv6: ProcFile,
    /// This machine's page size in bytes, for `mem_bytes`: node_exporter's, whatever the root.
    page_size: i64,
    /// Holds the file being parsed; reused.
    buf: Vec<u8>,
    /// The fields of the last sample; all `None` when neither file could be read.
    values: Values,
}

impl SockstatCollector {
    /// Reads `proc/net/sockstat` and `proc/net/sockstat6` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            ipv4: ProcFile::new(root.join("proc/net/sockstat")),
            ipv6: ProcFile::new(root.join("proc/net/sockstat6")),
            page_size: i64::try_from(rustix::param::page_size()).unwrap_or(i64::MAX),
            buf: Vec::new(),
            values: [None; FIELDS.len()],
        }
    }
}

impl Families for SockstatCollector {
    fn collect(&mut self) {
        self.values = [None; FIELDS.len()];
        for (file, ipv6) in [(&mut self.ipv4, false), (&mut self.ipv6, true)] {
            if let Some(text) = file.read(&mut self.buf) {
                parse_sockstat(&text, ipv6, self.page_size, &mut self.values);
            }
        }
    }

    /// At most one series a field of [`FIELDS`], in its order, so the files cannot make more.
    fn series(&self, out: &mut dyn Series) {
        for (&(_, _, family), value) in FIELDS.iter().zip(&self.values) {
            if let Some(value) = *value {
                out.add(family, &[], value as f64);
            }
        }
    }
}

/// Puts the values of `text`, lines of `<protocol>: <key> <number> <key> <number> ...`, into
/// `values`; `mem` in bytes too, as `mem_bytes`, at `page_size` bytes a page. The `sockets`
/// line counts IPv4's alone, so node_exporter takes it only from `sockstat` (`ipv6` false). A
/// number that is not a whole one ends its line.
fn parse_sockstat(text: &str, ipv6: bool, page_size: i64, values: &mut Values) {
    for line in text.lines() {
        let Some((protocol, rest)) = line.split_once(':') else {
            continue;
        };
        if ipv6 && protocol == "sockets" {
            continue;
        }
        let mut words = rest.split_ascii_whitespace();
        while let (Some(key), Some(number)) = (words.next(), words.next()) {
            let Ok(number) = number.parse::<i64>() else {
                break;
            };
            if key == "mem_bytes" {
                continue;
            }
            set(values, protocol, key, number);
            if key == "mem" {
                set(
                    values,
                    protocol,
                    "mem_bytes",
                    number.saturating_mul(page_size),
                );
            }
        }
    }
}

/// Sets the field of [`FIELDS`] of `protocol` and `key`, if there is one.
fn set(values: &mut Values, protocol: &str, key: &str, number: i64) {
    let place = FIELDS
        .iter()
        .position(|&(p, k, _)| p == protocol && k == key);
    if let Some(slot) = place.and_then(|i| values.get_mut(i)) {
        *slot = Some(number);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_core::catalogue::{FAMILIES, Kind, family};
    use std::path::PathBuf;

    /// Each series as (family, value); none of these has labels.
    fn series_of(collector: &SockstatCollector) -> Vec<(u16, f64)> {
        super::super::families::listed::unlabelled(|out| collector.series(out))
    }

    fn parse(text: &str, ipv6: bool) -> Vec<(&'static str, &'static str, i64)> {
        let mut values = [None; FIELDS.len()];
        parse_sockstat(text, ipv6, 4096, &mut values);
        FIELDS
            .iter()
            .zip(values)
            .filter_map(|(&(p, k, _), value)| value.map(|v| (p, k, v)))
            .collect()
    }

    #[test]
    fn both_files_of_the_fixture_with_mem_in_bytes_too() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/sockstat");
        let mut collector = SockstatCollector::new(&root);
        collector.page_size = 16384;
        collector.collect();
        assert_eq!(
            series_of(&collector),
            [
                (f::SOCKSTAT_SOCKETS_USED, 312.0),
                (f::SOCKSTAT_TCP_INUSE, 27.0),
                (f::SOCKSTAT_TCP_ORPHAN, 1.0),
                (f::SOCKSTAT_TCP_TW, 9.0),
                (f::SOCKSTAT_TCP_ALLOC, 31.0),
                (f::SOCKSTAT_TCP_MEM, 5.0),
                (f::SOCKSTAT_TCP_MEM_BYTES, 5.0 * 16384.0),
                (f::SOCKSTAT_UDP_INUSE, 6.0),
                (f::SOCKSTAT_UDP_MEM, 3.0),
                (f::SOCKSTAT_UDP_MEM_BYTES, 3.0 * 16384.0),
                (f::SOCKSTAT_UDPLITE_INUSE, 0.0),
                (f::SOCKSTAT_RAW_INUSE, 2.0),
                (f::SOCKSTAT_FRAG_INUSE, 1.0),
                (f::SOCKSTAT_FRAG_MEMORY, 4352.0),
                (f::SOCKSTAT_TCP6_INUSE, 14.0),
                (f::SOCKSTAT_UDP6_INUSE, 4.0),
                (f::SOCKSTAT_UDPLITE6_INUSE, 0.0),
                (f::SOCKSTAT_RAW6_INUSE, 1.0),
                (f::SOCKSTAT_FRAG6_INUSE, 0.0),
                (f::SOCKSTAT_FRAG6_MEMORY, 0.0),
            ]
        );

        // A kernel without IPv6 has no sockstat6: IPv4's alone.
        collector.ipv6 = ProcFile::new(PathBuf::from("/nonexistent/sockstat6"));
        collector.collect();
        assert_eq!(series_of(&collector).len(), 14);
        collector.ipv4 = ProcFile::new(PathBuf::from("/nonexistent/sockstat"));
        collector.collect();
        assert_eq!(series_of(&collector), []);
    }

    #[test]
    fn what_the_catalogue_does_not_know_is_left_out() {
        assert_eq!(
            parse(
                "sockets: used 7\nSCTP: inuse 3\nTCP: inuse 2 sleeping 4 mem_bytes 9 tw\n\
                 UDP: inuse x mem 1\nRAW inuse 5\nFRAG: memory -1\n",
                false
            ),
            [
                ("sockets", "used", 7),
                ("TCP", "inuse", 2),
                ("FRAG", "memory", -1)
            ]
        );
        assert_eq!(
            parse(
                "sockets: used 7\nTCP6: inuse 1\nUDP6: inuse 2 mem 3\n",
                true
            ),
            [("TCP6", "inuse", 1), ("UDP6", "inuse", 2)],
            "IPv6's sockets line is not node_exporter's sockets_used"
        );
        assert_eq!(
            parse("UDP: inuse 0 mem 9223372036854775807\n", false),
            [
                ("UDP", "inuse", 0),
                ("UDP", "mem", i64::MAX),
                ("UDP", "mem_bytes", i64::MAX)
            ]
        );
    }

    /// node_exporter's names and help texts: `node_sockstat_<protocol>_<key>`, "Number of
    /// <protocol> sockets in state <key>.", gauges; and every `node_sockstat_*` family of the
    /// catalogue is in the table.
    #[test]
    fn the_table_and_the_catalogue_name_each_value_as_node_exporter_does() {
        for &(protocol, key, id) in FIELDS {
            let family = family(id).unwrap();
            assert_eq!(family.kind, Kind::Gauge);
            if protocol == "sockets" {
                assert_eq!(family.name, "node_sockstat_sockets_used");
                assert_eq!(family.help, "Number of IPv4 sockets in use.");
                continue;
            }
            assert_eq!(family.name, format!("node_sockstat_{protocol}_{key}"));
            assert_eq!(
                family.help,
                format!("Number of {protocol} sockets in state {key}.")
            );
        }
        let sockstat = FAMILIES
            .iter()
            .filter(|f| f.name.starts_with("node_sockstat_"));
        assert_eq!(sockstat.count(), FIELDS.len());
    }
}
