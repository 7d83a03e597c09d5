//! The kernel's protocol counters, `/proc/net/netstat`, `/proc/net/snmp` and `/proc/net/snmp6`,
//! as node_exporter's netstat collector reads them and filters them by default.

use std::ops::Range;
use std::path::Path;

use agent_core::catalogue::{Series, f};

use super::families::Families;
use super::proc_file::ProcFile;

/// The fields exposed: protocol, field and family, the rows of a protocol together.
///
/// These are the fields the kernel prints that node_exporter 1.5's default
/// `--collector.netstat.fields` selects (`.*_(InErrors|InErrs)`, `Ip_Forwarding`, ...,
/// `TcpExt_(Listen.*|Syncookies.*|...)`, wildcards expanded); every other is skipped. The
/// protocol is node_exporter's: the line's name in `netstat` and `snmp`, and in `snmp6` a name's
/// part up to its first `6` (`Icmp6InMsgs` is `Icmp6`, `InMsgs`). node_exporter 1.6 added
/// `TcpExt_TCPOFOQueue` to the default; 1.5 does not have it, so neither does this.
const FIELDS: &[(&str, &str, u16)] = &[
    ("Icmp", "InErrors", f::NETSTAT_ICMP_IN_ERRORS),
    ("Icmp", "InMsgs", f::NETSTAT_ICMP_IN_MSGS),
    ("Icmp", "OutMsgs", f::NETSTAT_ICMP_OUT_MSGS),
    ("Icmp6", "InErrors", f::NETSTAT_ICMP6_IN_ERRORS),
    ("Icmp6", "InMsgs", f::NETSTAT_ICMP6_IN_MSGS),
    ("Icmp6", "OutMsgs", f::NETSTAT_ICMP6_OUT_MSGS),
    ("Ip", "Forwarding", f::NETSTAT_IP_FORWARDING),
    ("Ip6", "InOctets", f::NETSTAT_IP6_IN_OCTETS),
    ("Ip6", "OutOctets", f::NETSTAT_IP6_OUT_OCTETS),
    ("IpExt", "InOctets", f::NETSTAT_IP_EXT_IN_OCTETS),
    ("IpExt", "OutOctets", f::NETSTAT_IP_EXT_OUT_OCTETS),
    ("Tcp", "ActiveOpens", f::NETSTAT_TCP_ACTIVE_OPENS),
    ("Tcp", "CurrEstab", f::NETSTAT_TCP_CURR_ESTAB),
    ("Tcp", "InErrs", f::NETSTAT_TCP_IN_ERRS),
    ("Tcp", "InSegs", f::NETSTAT_TCP_IN_SEGS),
    ("Tcp", "OutRsts", f::NETSTAT_TCP_OUT_RSTS),
    ("Tcp", "OutSegs", f::NETSTAT_TCP_OUT_SEGS),
    ("Tcp", "PassiveOpens", f::NETSTAT_TCP_PASSIVE_OPENS),
    ("Tcp", "RetransSegs", f::NETSTAT_TCP_RETRANS_SEGS),
    ("TcpExt", "ListenDrops", f::NETSTAT_TCP_EXT_LISTEN_DROPS),
    (
        "TcpExt",
        "ListenOverflows",
        f::NETSTAT_TCP_EXT_LISTEN_OVERFLOWS,
    ),
    (
        "TcpExt",
        "SyncookiesFailed",
        f::NETSTAT_TCP_EXT_SYNCOOKIES_FAILED,
    ),
    (
        "TcpExt",
        "SyncookiesRecv",
        f::NETSTAT_TCP_EXT_SYNCOOKIES_RECV,
    ),
    (
        "TcpExt",
        "SyncookiesSent",
        f::NETSTAT_TCP_EXT_SYNCOOKIES_SENT,
    ),
    (
        "TcpExt",
        "TCPSynRetrans",
        f::NETSTAT_TCP_EXT_TCP_SYN_RETRANS,
    ),
    ("TcpExt", "TCPTimeouts", f::NETSTAT_TCP_EXT_TCP_TIMEOUTS),
    ("Udp", "InDatagrams", f::NETSTAT_UDP_IN_DATAGRAMS),
    ("Udp", "InErrors", f::NETSTAT_UDP_IN_ERRORS),
    ("Udp", "NoPorts", f::NETSTAT_UDP_NO_PORTS),
    ("Udp", "OutDatagrams", f::NETSTAT_UDP_OUT_DATAGRAMS),
    ("Udp", "RcvbufErrors", f::NETSTAT_UDP_RCVBUF_ERRORS),
    ("Udp", "SndbufErrors", f::NETSTAT_UDP_SNDBUF_ERRORS),
    ("Udp6", "InDatagrams", f::NETSTAT_UDP6_IN_DATAGRAMS),
    ("Udp6", "InErrors", f::NETSTAT_UDP6_IN_ERRORS),
    ("Udp6", "NoPorts", f::NETSTAT_UDP6_NO_PORTS),
    ("Udp6", "OutDatagrams", f::NETSTAT_UDP6_OUT_DATAGRAMS),
    ("Udp6", "RcvbufErrors", f::NETSTAT_UDP6_RCVBUF_ERRORS),
    ("Udp6", "SndbufErrors", f::NETSTAT_UDP6_SNDBUF_ERRORS),
    ("UdpLite", "InErrors", f::NETSTAT_UDP_LITE_IN_ERRORS),
    ("UdpLite6", "InErrors", f::NETSTAT_UDP_LITE6_IN_ERRORS),
];

/// The value of each row of [`FIELDS`], `None` where the kernel printed none.
type Values = [Option<f64>; FIELDS.len()];

/// Reads the three files and keeps the selected fields.
#[derive(Debug)]
pub(super) struct NetstatCollector {
    /// `proc/net/netstat` under the root.
    netstat: ProcFile,
    /// `proc/net/snmp` under the root.
    snmp: ProcFile,
    /// `proc/net/snmp6` under the root: missing where IPv6 is off, which leaves its rows out.
    snmp6: ProcFile,
    /// Holds the file being parsed; reused.
    buf: Vec<u8>,
    /// The last sample's values; all `None` when `netstat` or `snmp` could not be read or
    /// parsed, where node_exporter's collector fails as a whole.
    values: Values,
}

impl NetstatCollector {
    /// Reads `proc/net/{netstat,snmp,snmp6}` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        let dir = root.join("proc/net");
        Self {
            netstat: ProcFile::new(dir.join("netstat")),
            snmp: ProcFile::new(dir.join("snmp")),
            snmp6: ProcFile::new(dir.join("snmp6")),
            buf: Vec::new(),
            values: [None; FIELDS.len()],
        }
    }
}

impl Families for NetstatCollector {
    fn collect(&mut self) {
        let mut values = [None; FIELDS.len()];
        let both = self
            .netstat
            .read(&mut self.buf)
            .is_some_and(|text| parse_pairs(&text, &mut values))
            && self
                .snmp
                .read(&mut self.buf)
                .is_some_and(|text| parse_pairs(&text, &mut values));
        if both {
            if let Some(text) = self.snmp6.read(&mut self.buf) {
                parse_snmp6(&text, &mut values);
            }
        } else {
            values = [None; FIELDS.len()];
        }
        self.values = values;
    }

    fn series(&self, out: &mut dyn Series) {
        if self.values.iter().all(Option::is_none) {
            return;
        }
        out.section("netstat");
        for ((_, _, family), value) in FIELDS.iter().zip(&self.values) {
            if let Some(value) = value {
                out.add(*family, &[], *value);
            }
        }
    }
}

/// The rows of [`FIELDS`] of `proto`: an empty range if it has none.
fn rows_of(proto: &str) -> Range<usize> {
    let start = FIELDS.iter().position(|(p, _, _)| *p == proto);
    let start = start.unwrap_or(FIELDS.len());
    let len = FIELDS
        .iter()
        .skip(start)
        .take_while(|(p, _, _)| *p == proto)
        .count();
    start..start + len
}

/// Sets the value of the row of `rows` named `field` (among the rows of one protocol), if any.
/// A value that is not a number leaves the row as it was.
fn set(values: &mut Values, rows: &Range<usize>, field: &str, value: &str) {
    let Some(fields) = FIELDS.get(rows.clone()) else {
        return;
    };
    if let Some(i) = fields.iter().position(|(_, name, _)| *name == field)
        && let (Some(slot), Ok(value)) = (values.get_mut(rows.start + i), value.parse())
    {
        *slot = Some(value);
    }
}

/// `netstat` and `snmp`: pairs of lines, `Proto: Name Name ...` then `Proto: value value ...`,
/// split at single spaces as node_exporter splits them. Returns `false`, as node_exporter fails,
/// when a pair's lines have different numbers of fields or the last line has no pair.
fn parse_pairs(text: &str, values: &mut Values) -> bool {
    let mut lines = text.lines();
    while let Some(names) = lines.next() {
        let Some(numbers) = lines.next() else {
            return false;
        };
        // node_exporter takes the first field without its last character, the colon.
        let head = names.split(' ').next().unwrap_or_default();
        let mut proto = head.chars();
        proto.next_back();
        let rows = rows_of(proto.as_str());
        if rows.is_empty() {
            // Only checked: most fields of most lines are not selected.
            let spaces = |line: &str| line.bytes().filter(|&b| b == b' ').count();
            if spaces(names) != spaces(numbers) {
                return false;
            }
            continue;
        }
        let (mut names, mut numbers) = (names.split(' ').skip(1), numbers.split(' ').skip(1));
        loop {
            match (names.next(), numbers.next()) {
                (Some(name), Some(number)) => set(values, &rows, name, number),
                (None, None) => break,
                _ => return false,
            }
        }
    }
    true
}

/// `snmp6`: a `Name value` line per field, the protocol being the name up to its first `6`;
/// lines with fewer than two fields or no `6` are skipped, as node_exporter skips them.
fn parse_snmp6(text: &str, values: &mut Values) {
    // The lines of a protocol come together: look its rows up once.
    let mut rows = ("", 0..0);
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let (Some(name), Some(number)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Some(six) = name.find('6') else {
            continue;
        };
        let (proto, field) = name.split_at(six + 1);
        if rows.0 != proto {
            rows = (proto, rows_of(proto));
        }
        set(values, &rows.1, field, number);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_core::catalogue::{FAMILIES, Kind, family};
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/netstat")
    }

    /// Each series as (family name, value).
    fn series_of(collector: &NetstatCollector) -> Vec<(&'static str, f64)> {
        super::super::families::listed::named(|out| collector.series(out))
            .into_iter()
            .map(|(name, labels, value)| {
                assert!(labels.is_empty());
                (name, value)
            })
            .collect()
    }

    #[test]
    fn every_field_is_its_family_and_every_netstat_family_a_field() {
        for (proto, field, id) in FIELDS {
            let fam = family(*id).unwrap();
            assert_eq!(fam.name, format!("node_netstat_{proto}_{field}"));
            assert_eq!(fam.kind, Kind::Untyped);
            assert_eq!(rows_of(proto), {
                let rows: Vec<usize> = (0..FIELDS.len())
                    .filter(|&i| FIELDS[i].0 == *proto)
                    .collect();
                rows[0]..rows[rows.len() - 1] + 1
            });
        }
        let ids: BTreeSet<u16> = FIELDS.iter().map(|(_, _, id)| *id).collect();
        assert_eq!(ids.len(), FIELDS.len(), "a family twice");
        let netstat = FAMILIES
            .iter()
            .filter(|f| f.name.starts_with("node_netstat_"))
            .count();
        assert_eq!(netstat, FIELDS.len());
    }

    /// A 6.18 kernel's files: all 402 fields, of which the default filter selects these.
    #[test]
    fn the_default_fields_of_a_real_kernel() {
        let mut collector = NetstatCollector::new(&fixture());
        collector.collect();
        let series = series_of(&collector);
        assert_eq!(series.len(), FIELDS.len());
        let get = |name: &str| {
            series
                .iter()
                .find(|(n, _)| *n == format!("node_netstat_{name}"))
                .unwrap()
                .1
        };
        assert_eq!(get("Ip_Forwarding"), 1.0);
        assert_eq!(get("Tcp_ActiveOpens"), 309_222.0);
        assert_eq!(get("Tcp_OutRsts"), 246_993.0);
        assert_eq!(get("TcpExt_ListenDrops"), 18.0);
        assert_eq!(get("TcpExt_TCPTimeouts"), 16.0);
        assert_eq!(get("IpExt_InOctets"), 22_663_267_546.0);
        assert_eq!(get("Udp_OutDatagrams"), 100.0);
        assert_eq!(get("Ip6_OutOctets"), 880.0);
        assert_eq!(get("Icmp6_OutMsgs"), 9.0);
        assert_eq!(get("UdpLite6_InErrors"), 0.0);
    }

    #[test]
    fn without_ipv6_the_snmp6_fields_are_left_out() {
        let mut collector = NetstatCollector::new(&fixture());
        collector.snmp6 = ProcFile::new(PathBuf::from("/nonexistent"));
        collector.collect();
        let series = series_of(&collector);
        assert_eq!(series.len(), FIELDS.len() - 12);
        assert!(series.iter().all(|(name, _)| !name.contains("6_")));
    }

    #[test]
    fn a_missing_or_malformed_file_gives_no_series() {
        let mut collector = NetstatCollector::new(Path::new("/nonexistent"));
        collector.collect();
        assert!(series_of(&collector).is_empty());

        let mut values = [None; FIELDS.len()];
        assert!(!parse_pairs(
            "Tcp: ActiveOpens CurrEstab\nTcp: 1\n",
            &mut values
        ));
        assert!(!parse_pairs("Tcp: ActiveOpens\n", &mut values));
        assert!(parse_pairs("", &mut values));
    }

    #[test]
    fn pairs_and_snmp6_lines_parse_as_node_exporter_parses_them() {
        let mut values = [None; FIELDS.len()];
        let pairs = "Tcp: RtoMin ActiveOpens CurrEstab InErrs\nTcp: 200 12 x 1e3\n\
                     Tcp6: ActiveOpens\nTcp6: 5\n\
                     Ip: Forwarding\nIp: 2\n";
        assert!(parse_pairs(pairs, &mut values));
        parse_snmp6(
            "Ip6InOctets  \t 77\nIcmp6InMsgs\nUdp6NoPorts 3 9\nNoSix 1\n\nUdpLite6InErrors 4\n",
            &mut values,
        );
        let set: Vec<(&str, &str, f64)> = FIELDS
            .iter()
            .zip(values)
            .filter_map(|((p, f, _), v)| Some((*p, *f, v?)))
            .collect();
        assert_eq!(
            set,
            [
                ("Ip", "Forwarding", 2.0),
                ("Ip6", "InOctets", 77.0),
                ("Tcp", "ActiveOpens", 12.0),
                ("Tcp", "InErrs", 1000.0),
                ("Udp6", "NoPorts", 3.0),
                ("UdpLite6", "InErrors", 4.0),
            ]
        );
    }
}
