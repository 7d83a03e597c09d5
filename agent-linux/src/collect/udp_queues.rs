//! The bytes queued in UDP sockets, `/proc/net/udp` and `/proc/net/udp6`, summed as
//! node_exporter's udp_queues collector sums them.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use agent_core::catalogue::{Series, f};

use super::families::Families;
use super::proc_file::ProcFile;

/// The columns node_exporter's parser needs of a socket's line; it fails the file on a line
/// with fewer.
const COLUMNS: usize = 10;

/// What one file gave.
#[derive(Debug, PartialEq)]
enum Summed {
    /// The transmit and receive queues of its sockets, each summed.
    Queues(u64, u64),
    /// There is no such file (no IPv6): its series are left out.
    Missing,
    /// It could not be read, or a line could not be parsed.
    Failed,
}

/// Reads the queues of IPv4's and IPv6's UDP sockets.
#[derive(Debug)]
pub(super) struct UdpQueuesCollector {
    /// `proc/net/udp` under the root.
    ipv4: ProcFile,
    /// `proc/net/udp6` under the root: missing when the kernel has no IPv6.
    ipv6: ProcFile,
    /// Holds the file being parsed; reused.
    buf: Vec<u8>,
    /// The summed transmit and receive queues of IPv4's sockets and of IPv6's, from the last
    /// sample; `None` for a file not read.
    read: [Option<(u64, u64)>; 2],
}

impl UdpQueuesCollector {
    /// Reads `proc/net/udp` and `proc/net/udp6` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            ipv4: ProcFile::new(root.join("proc/net/udp")),
            ipv6: ProcFile::new(root.join("proc/net/udp6")),
            buf: Vec::new(),
            read: [None; 2],
        }
    }
}

impl Families for UdpQueuesCollector {
    /// A missing file leaves its protocol out. node_exporter's collector returns at the first
    /// file it fails on, keeping what it gave before: so a failed IPv4 file gives nothing, a
    /// failed IPv6 file IPv4's queues alone.
    fn collect(&mut self) {
        self.read = [None; 2];
        for (slot, file) in self.read.iter_mut().zip([&mut self.ipv4, &mut self.ipv6]) {
            match sum_file(&mut self.buf, file) {
                Summed::Queues(tx, rx) => *slot = Some((tx, rx)),
                Summed::Missing => {}
                Summed::Failed => return,
            }
        }
    }

    fn series(&self, out: &mut dyn Series) {
        out.section("udp_queues");
        for (ip, queues) in ["v4", "v6"].into_iter().zip(self.read) {
            if let Some((tx, rx)) = queues {
                out.identity(ip);
                out.add(f::UDP_QUEUES, &[ip, "tx"], tx as f64);
                out.add(f::UDP_QUEUES, &[ip, "rx"], rx as f64);
            }
        }
    }
}

/// Reads `file` into `buf` and sums its queues.
fn sum_file(buf: &mut Vec<u8>, file: &mut ProcFile) -> Summed {
    match file.read(buf) {
        Some(text) => sum_queues(&text).map_or(Summed::Failed, |(tx, rx)| Summed::Queues(tx, rx)),
        None if fs::metadata(file.path()).is_err_and(|e| e.kind() == ErrorKind::NotFound) => {
            Summed::Missing
        }
        None => Summed::Failed,
    }
}

/// The transmit and receive queues of the sockets of `text`, a header line and a line per
/// socket, each summed (wrapping, as Go's sums do); `None` if a socket's line does not parse.
fn sum_queues(text: &str) -> Option<(u64, u64)> {
    let (mut tx, mut rx) = (0_u64, 0_u64);
    for line in text.lines().skip(1) {
        let (t, r) = parse_socket(line)?;
        tx = tx.wrapping_add(t);
        rx = rx.wrapping_add(r);
    }
    Some((tx, rx))
}

/// The queues of `  sl: local rem st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
/// ...`, the columns of a socket's line. As node_exporter (procfs) does, every column it reads
/// must parse, not the queues alone: the slot, the user and the inode as numbers (the kernel
/// prints them in decimal, where Go would take a `0x` prefix too), the addresses as 4 or 16
/// bytes in hexadecimal with a hexadecimal port, the state in hexadecimal.
fn parse_socket(line: &str) -> Option<(u64, u64)> {
    let mut columns = [""; COLUMNS];
    let mut n = 0;
    for column in line.split_whitespace() {
        if let Some(slot) = columns.get_mut(n) {
            *slot = column;
        }
        n += 1;
    }
    if n < COLUMNS {
        return None;
    }
    let [sl, local, remote, state, queues, _, _, uid, _, inode] = columns;
    let (sl, _) = pair(sl)?;
    decimal(sl)?;
    address(local)?;
    address(remote)?;
    hex(state)?;
    let (tx, rx) = pair(queues)?;
    let queues = (hex(tx)?, hex(rx)?);
    decimal(uid)?;
    decimal(inode)?;
    Some(queues)
}

/// `a:b`, with exactly one colon.
fn pair(column: &str) -> Option<(&str, &str)> {
    column.split_once(':').filter(|(_, b)| !b.contains(':'))
}

/// `address:port`: an address of 4 or 16 bytes in hexadecimal, a port in hexadecimal.
fn address(column: &str) -> Option<()> {
    let (address, port) = pair(column)?;
    let bytes_ok =
        matches!(address.len(), 8 | 32) && address.bytes().all(|b| b.is_ascii_hexdigit());
    bytes_ok.then_some(())?;
    hex(port).map(|_| ())
}

/// A hexadecimal number, digits only (no sign, no prefix).
fn hex(text: &str) -> Option<u64> {
    text.bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| u64::from_str_radix(text, 16).ok())
        .flatten()
}

/// A decimal number, digits only (no sign).
fn decimal(text: &str) -> Option<u64> {
    text.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// `fixtures/udp_queues`: this machine's tables while a test socket held three unread
    /// datagrams of 100 bytes on 127.0.0.1 (2496 bytes of buffers) and one of 200 on ::1
    /// (1280), beside an idle socket of each.
    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/udp_queues")
    }

    /// Each series as (ip, queue, value).
    fn series_of(collector: &UdpQueuesCollector) -> Vec<(String, String, f64)> {
        super::super::families::listed::series(|out| collector.series(out))
            .into_iter()
            .map(|(family, labels, value)| {
                assert_eq!(family, f::UDP_QUEUES);
                let [ip, queue] = <[String; 2]>::try_from(labels).unwrap();
                (ip, queue, value)
            })
            .collect()
    }

    fn queues(list: &[(&str, &str, f64)]) -> Vec<(String, String, f64)> {
        list.iter()
            .map(|&(ip, queue, value)| (ip.to_owned(), queue.to_owned(), value))
            .collect()
    }

    #[test]
    fn summed_queues_from_the_fixture() {
        let mut collector = UdpQueuesCollector::new(&fixture());
        collector.collect();
        assert_eq!(
            series_of(&collector),
            queues(&[
                ("v4", "tx", 0.0),
                ("v4", "rx", 2496.0),
                ("v6", "tx", 0.0),
                ("v6", "rx", 1280.0),
            ])
        );
    }

    /// A missing file leaves its protocol out; one that cannot be read (here a directory)
    /// ends the sample's reading there, as it ends node_exporter's collector.
    #[test]
    fn missing_and_unreadable_files() {
        let nowhere = PathBuf::from("/nonexistent/udp");
        let unreadable = fixture().join("proc/net");
        let read = |ipv4: &Path, ipv6: &Path| {
            let mut collector = UdpQueuesCollector::new(&fixture());
            collector.ipv4 = ProcFile::new(ipv4.to_owned());
            collector.ipv6 = ProcFile::new(ipv6.to_owned());
            collector.collect();
            series_of(&collector)
        };
        let v4 = fixture().join("proc/net/udp");
        let v6 = fixture().join("proc/net/udp6");
        assert_eq!(
            read(&v4, &nowhere),
            queues(&[("v4", "tx", 0.0), ("v4", "rx", 2496.0)])
        );
        assert_eq!(
            read(&nowhere, &v6),
            queues(&[("v6", "tx", 0.0), ("v6", "rx", 1280.0)])
        );
        assert_eq!(read(&nowhere, &nowhere), []);
        assert_eq!(read(&unreadable, &v6), []);
        assert_eq!(
            read(&v4, &unreadable),
            queues(&[("v4", "tx", 0.0), ("v4", "rx", 2496.0)])
        );
    }

    #[test]
    fn a_line_that_does_not_parse_fails_the_file() {
        let good = std::fs::read_to_string(fixture().join("proc/net/udp")).unwrap();
        assert_eq!(sum_queues(&good), Some((0, 0x9c0)));
        let header = good.lines().next().unwrap();
        assert_eq!(sum_queues(header), Some((0, 0)), "no sockets");
        assert_eq!(sum_queues(""), Some((0, 0)));
        let line = " 1: 0100007F:B5F5 00000000:0000 07 00000010:000009C0 00:00000000 00000000 \
                    0 0 170355 2 00000000b552bbbd 0";
        assert_eq!(parse_socket(line), Some((0x10, 0x9c0)));
        for bad in [
            // Nine columns.
            " 1: 0100007F:B5F5 00000000:0000 07 00000010:000009C0 00:00000000 00000000 0 0",
            // No colon between the queues, or two.
            " 1: 0100007F:B5F5 00000000:0000 07 00000010 00:00000000 00000000 0 0 170355",
            " 1: 0100007F:B5F5 00000000:0000 07 0:1:2 00:00000000 00000000 0 0 170355",
            // A queue, a state, a port that is not hexadecimal.
            " 1: 0100007F:B5F5 00000000:0000 07 0000001G:000009C0 00:00000000 00000000 0 0 170355",
            " 1: 0100007F:B5F5 00000000:0000 +7 00000010:000009C0 00:00000000 00000000 0 0 170355",
            " 1: 0100007F:XYZ 00000000:0000 07 00000010:000009C0 00:00000000 00000000 0 0 170355",
            // An address of 6 bytes, a slot without its colon.
            " 1: 0100007F0000:B5F5 00000000:0000 07 0:0 00:00000000 00000000 0 0 170355",
            " 1 0100007F:B5F5 00000000:0000 07 0:0 00:00000000 00000000 0 0 170355",
            // A user and an inode that are not decimal.
            " 1: 0100007F:B5F5 00000000:0000 07 0:0 00:00000000 00000000 -1 0 170355",
            " 1: 0100007F:B5F5 00000000:0000 07 0:0 00:00000000 00000000 0 0 inode",
        ] {
            assert_eq!(parse_socket(bad), None, "{bad:?}");
            assert_eq!(sum_queues(&format!("{header}\n{line}\n{bad}\n")), None);
        }
        assert_eq!(
            sum_queues(&format!("{header}\n\n{line}\n")),
            None,
            "a blank line"
        );
    }
}
