//! A reader for sample lines exactly as [`encode`](fn@super::encode) writes them: fields in
//! their order, no spaces, no escapes, texts of printable ASCII. It is a shortcut, not a second
//! grammar: on anything else it gives up (`None`) and the caller parses the line with
//! serde-json-core, which decides. Where it does answer, it answers what serde-json-core would
//! (the fuzz target `decode_line` and the tests check both ways agree).
//!
//! Why: a server takes thousands of samples a second, and the general parser spends most of
//! its time finding fields by name and moving the fixed-size sample through nested results.

use heapless::{String, Vec};

use super::SampleMessage;
use crate::sample::{Cpu, Disk, Filesystem, Interface, Memory, Omitted, Pressure, Sample, Sensor};

/// Reads a line front to back; every reader answers `None` and moves nothing when the text is
/// not what it reads.
pub(super) struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(super) fn new(line: &'a [u8]) -> Self {
        Cursor { rest: line }
    }

    /// What is left to read.
    pub(super) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    pub(super) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Moves past `n` bytes (all that are left, if fewer).
    pub(super) fn skip(&mut self, n: usize) {
        self.rest = self.rest.get(n..).unwrap_or_default();
    }

    /// The next byte.
    pub(super) fn take(&mut self) -> Option<u8> {
        let (&first, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(first)
    }

    pub(super) fn lit(&mut self, expected: &[u8]) -> Option<()> {
        self.rest = self.rest.strip_prefix(expected)?;
        Some(())
    }

    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// A JSON number's text, as serde-json-core delimits it (ASCII only).
    fn number_text(&mut self) -> Option<&'a [u8]> {
        let len = self
            .rest
            .iter()
            .take_while(|b| matches!(b, b'0'..=b'9' | b'+' | b'-' | b'.' | b'e' | b'E'))
            .count();
        let (text, rest) = self.rest.split_at_checked(len)?;
        self.rest = rest;
        Some(text)
    }

    /// Plain digits without a leading zero, where a number's text ends after them; anything
    /// else is for the general parser to judge (it reads `07` as 0 followed by garbage). One
    /// pass: the digits are read as they are found.
    pub(super) fn u64(&mut self) -> Option<u64> {
        let (n, len) = leading_digits(self.rest, 0)?;
        if len == 0 || (len > 1 && self.rest.first() == Some(&b'0')) {
            return None;
        }
        if matches!(self.rest.get(len), Some(b'+' | b'-' | b'.' | b'e' | b'E')) {
            return None;
        }
        self.rest = self.rest.get(len..)?;
        Some(n)
    }

    pub(super) fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.u64()?).ok()
    }

    pub(super) fn u16(&mut self) -> Option<u16> {
        u16::try_from(self.u64()?).ok()
    }

    pub(super) fn f64(&mut self) -> Option<f64> {
        if let Some((v, len)) = simple_decimal(self.rest) {
            self.rest = self.rest.get(len..)?;
            return Some(v);
        }
        let text = self.number_text()?;
        let v = match exact_decimal(text) {
            Some(v) => v,
            None => core::str::from_utf8(text).ok()?.parse().ok()?,
        };
        v.is_finite().then_some(v)
    }

    fn bool(&mut self) -> Option<bool> {
        if self.lit(b"true").is_some() {
            Some(true)
        } else {
            self.lit(b"false").map(|()| false)
        }
    }

    /// A text of printable ASCII without escapes (which any label may hold, so that a sample
    /// read here needs no check of its labels); anything else is the general parser's.
    fn string<const N: usize>(&mut self) -> Option<String<N>> {
        self.lit(b"\"")?;
        let end = self
            .rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b))?;
        let (text, rest) = self.rest.split_at_checked(end)?;
        self.rest = rest;
        self.lit(b"\"")?;
        let mut out = String::new();
        out.push_str(core::str::from_utf8(text).ok()?).ok()?;
        Some(out)
    }

    /// `[` items separated by `,` `]`, each read by `item` into `out`, which is emptied first.
    fn array<T, const N: usize>(
        &mut self,
        out: &mut Vec<T, N>,
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<()> {
        out.clear();
        self.lit(b"[")?;
        if self.lit(b"]").is_some() {
            return Some(());
        }
        loop {
            out.push(item(self)?).ok()?;
            if self.lit(b"]").is_some() {
                return Some(());
            }
            self.lit(b",")?;
        }
    }
}

/// The digits at the start of `bytes`, read onto `n`: the number, and how many there were.
/// `None` when the number overflows a `u64`.
fn leading_digits(bytes: &[u8], mut n: u64) -> Option<(u64, usize)> {
    let mut len = 0;
    for &b in bytes {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(digit))?;
        len += 1;
    }
    Some((n, len))
}

/// What [`exact_decimal`] makes of the number's text at the start of `bytes`, in one pass over
/// it, for the common case: `-?digits(.digits)?` where the text ends (the next byte cannot
/// continue a number), with at most 19 digits (so that they cannot overflow a `u64` as they
/// are read) making at most 2^53. Its value and length; `None` for anything else, which the
/// caller reads the longer way. A whole number takes no division.
fn simple_decimal(bytes: &[u8]) -> Option<(f64, usize)> {
    let negative = bytes.first() == Some(&b'-');
    let start = usize::from(negative);
    let (mantissa, at) = wrapping_digits(bytes, start, 0);
    let whole_len = at - start;
    if whole_len == 0 {
        return None;
    }
    let (mantissa, at, fraction) = if bytes.get(at) == Some(&b'.') {
        let (mantissa, end) = wrapping_digits(bytes, at + 1, mantissa);
        let fraction = end - (at + 1);
        if fraction == 0 {
            return None;
        }
        (mantissa, end, fraction)
    } else {
        (mantissa, at, 0)
    };
    if whole_len + fraction > 19
        || mantissa > 1 << 53
        || matches!(
            bytes.get(at),
            Some(b'0'..=b'9' | b'+' | b'-' | b'.' | b'e' | b'E')
        )
    {
        return None;
    }
    let value = if fraction == 0 {
        mantissa as f64
    } else {
        mantissa as f64 / EXACT_POWERS_OF_TEN.get(fraction)?
    };
    Some((if negative { -value } else { value }, at))
}

/// The digits of `bytes` from `at` read onto `n`, wrapping past a `u64` (the caller counts
/// them): the number, and where the digits end.
fn wrapping_digits(bytes: &[u8], mut at: usize, mut n: u64) -> (u64, usize) {
    while let Some(&b) = bytes.get(at) {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        n = n.wrapping_mul(10).wrapping_add(u64::from(digit));
        at += 1;
    }
    (n, at)
}

/// Powers of ten that an `f64` holds exactly.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A decimal `-?digits(.digits)?` whose digits, without the point, make an integer that an
/// `f64` holds exactly, with at most 22 digits after the point: that integer divided by a power
/// of ten, one correctly rounded operation on exact operands, which is the value `str::parse`
/// gives (Clinger's fast path, the first thing it tries). `None` for anything else.
fn exact_decimal(text: &[u8]) -> Option<f64> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let (whole, fraction) = match digits.iter().position(|&b| b == b'.') {
        Some(point) => (digits.get(..point)?, digits.get(point + 1..)?),
        None => (digits, &[][..]),
    };
    if whole.is_empty() || (fraction.is_empty() && whole.len() < digits.len()) {
        return None;
    }
    let mantissa = whole.iter().chain(fraction).try_fold(0u64, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })?;
    if mantissa > 1 << 53 {
        return None;
    }
    let value = mantissa as f64 / EXACT_POWERS_OF_TEN.get(fraction.len())?;
    Some(if negative { -value } else { value })
}

/// Reads a `sample` line into `out`, if the line is exactly as `encode` writes it: in place, so
/// that a server keeping samples on the heap never moves one. `None` leaves `out` with some of
/// the line's values (every field valid, none meaningful).
pub(super) fn sample_into<
    const C: usize,
    const F: usize,
    const N: usize,
    const T: usize,
    const D: usize,
>(
    line: &[u8],
    out: &mut SampleMessage<Sample<C, F, N, T, D>>,
) -> Option<()> {
    let mut c = Cursor { rest: line };
    c.lit(br#"{"v":1,"kind":"sample","seq":"#)?;
    out.seq = c.u64()?;
    c.lit(br#","dropped":"#)?;
    out.dropped = c.u64()?;
    c.lit(br#","sample":{"time_ms":"#)?;
    let s = &mut out.sample;
    s.time_ms = c.u64()?;
    c.lit(br#","boot_time":"#)?;
    s.boot_time = c.u64()?;
    c.lit(br#","load1":"#)?;
    s.load1 = c.f64()?;
    c.lit(br#","load5":"#)?;
    s.load5 = c.f64()?;
    c.lit(br#","load15":"#)?;
    s.load15 = c.f64()?;
    c.lit(br#","cpu_usage":"#)?;
    s.cpu_usage = c.f64()?;
    c.lit(br#","cpus":"#)?;
    c.array(&mut s.cpus, |c| {
        c.lit(br#"{"cpu":"#)?;
        let cpu = c.u16()?;
        let mut v = [0.0; 8];
        for (slot, name) in v.iter_mut().zip([
            &br#","user":"#[..],
            br#","nice":"#,
            br#","system":"#,
            br#","idle":"#,
            br#","iowait":"#,
            br#","irq":"#,
            br#","softirq":"#,
            br#","steal":"#,
        ]) {
            c.lit(name)?;
            *slot = c.f64()?;
        }
        c.lit(b"}")?;
        let [user, nice, system, idle, iowait, irq, softirq, steal] = v;
        Some(Cpu {
            cpu,
            user,
            nice,
            system,
            idle,
            iowait,
            irq,
            softirq,
            steal,
        })
    })?;
    c.lit(br#","memory":{"total":"#)?;
    let total = c.u64()?;
    let mut m = [0u64; 6];
    for (slot, name) in m.iter_mut().zip([
        &br#","free":"#[..],
        br#","available":"#,
        br#","buffers":"#,
        br#","cached":"#,
        br#","swap_total":"#,
        br#","swap_free":"#,
    ]) {
        c.lit(name)?;
        *slot = c.u64()?;
    }
    let [free, available, buffers, cached, swap_total, swap_free] = m;
    s.memory = Memory {
        total,
        free,
        available,
        buffers,
        cached,
        swap_total,
        swap_free,
    };
    c.lit(br#"},"filesystems":"#)?;
    c.array(&mut s.filesystems, |c| {
        c.lit(br#"{"device":"#)?;
        let device = c.string()?;
        c.lit(br#","fstype":"#)?;
        let fstype = c.string()?;
        c.lit(br#","mountpoint":"#)?;
        let mountpoint = c.string()?;
        let mut v = [0u64; 5];
        for (slot, name) in v.iter_mut().zip([
            &br#","size":"#[..],
            br#","free":"#,
            br#","avail":"#,
            br#","files":"#,
            br#","files_free":"#,
        ]) {
            c.lit(name)?;
            *slot = c.u64()?;
        }
        c.lit(br#","readonly":"#)?;
        let readonly = c.bool()?;
        c.lit(b"}")?;
        let [size, free, avail, files, files_free] = v;
        Some(Filesystem {
            device,
            fstype,
            mountpoint,
            size,
            free,
            avail,
            files,
            files_free,
            readonly,
        })
    })?;
    c.lit(br#","interfaces":"#)?;
    c.array(&mut s.interfaces, |c| {
        c.lit(br#"{"device":"#)?;
        let device = c.string()?;
        c.lit(br#","up":"#)?;
        let up = c.bool()?;
        let mut v = [0u64; 8];
        for (slot, name) in v.iter_mut().zip([
            &br#","rx_bytes":"#[..],
            br#","rx_packets":"#,
            br#","rx_errs":"#,
            br#","rx_drop":"#,
            br#","tx_bytes":"#,
            br#","tx_packets":"#,
            br#","tx_errs":"#,
            br#","tx_drop":"#,
        ]) {
            c.lit(name)?;
            *slot = c.u64()?;
        }
        c.lit(b"}")?;
        let [
            rx_bytes,
            rx_packets,
            rx_errs,
            rx_drop,
            tx_bytes,
            tx_packets,
            tx_errs,
            tx_drop,
        ] = v;
        Some(Interface {
            device,
            up,
            rx_bytes,
            rx_packets,
            rx_errs,
            rx_drop,
            tx_bytes,
            tx_packets,
            tx_errs,
            tx_drop,
        })
    })?;
    c.lit(br#","sensors":"#)?;
    c.array(&mut s.sensors, |c| {
        c.lit(br#"{"chip":"#)?;
        let chip = c.string()?;
        c.lit(br#","sensor":"#)?;
        let sensor = c.string()?;
        c.lit(br#","celsius":"#)?;
        let celsius = c.f64()?;
        c.lit(b"}")?;
        Some(Sensor {
            chip,
            sensor,
            celsius,
        })
    })?;
    c.lit(br#","disks":"#)?;
    c.array(&mut s.disks, |c| {
        c.lit(br#"{"device":"#)?;
        let device = c.string()?;
        c.lit(br#","reads_completed":"#)?;
        let reads_completed = c.u64()?;
        c.lit(br#","reads_merged":"#)?;
        let reads_merged = c.u64()?;
        c.lit(br#","read_bytes":"#)?;
        let read_bytes = c.u64()?;
        c.lit(br#","read_time":"#)?;
        let read_time = c.f64()?;
        c.lit(br#","writes_completed":"#)?;
        let writes_completed = c.u64()?;
        c.lit(br#","writes_merged":"#)?;
        let writes_merged = c.u64()?;
        c.lit(br#","written_bytes":"#)?;
        let written_bytes = c.u64()?;
        c.lit(br#","write_time":"#)?;
        let write_time = c.f64()?;
        c.lit(br#","io_now":"#)?;
        let io_now = c.u64()?;
        c.lit(br#","io_time":"#)?;
        let io_time = c.f64()?;
        c.lit(br#","io_time_weighted":"#)?;
        let io_time_weighted = c.f64()?;
        c.lit(b"}")?;
        Some(Disk {
            device,
            reads_completed,
            reads_merged,
            read_bytes,
            read_time,
            writes_completed,
            writes_merged,
            written_bytes,
            write_time,
            io_now,
            io_time,
            io_time_weighted,
        })
    })?;
    c.lit(br#","pressure":"#)?;
    s.pressure = if c.peek() == Some(b'n') {
        c.lit(b"null")?;
        None
    } else {
        c.lit(br#"{"cpu_waiting":"#)?;
        let cpu_waiting = c.f64()?;
        c.lit(br#","memory_waiting":"#)?;
        let memory_waiting = c.f64()?;
        c.lit(br#","memory_stalled":"#)?;
        let memory_stalled = c.f64()?;
        c.lit(br#","io_waiting":"#)?;
        let io_waiting = c.f64()?;
        c.lit(br#","io_stalled":"#)?;
        let io_stalled = c.f64()?;
        c.lit(b"}")?;
        Some(Pressure {
            cpu_waiting,
            memory_waiting,
            memory_stalled,
            io_waiting,
            io_stalled,
        })
    };
    c.lit(br#","context_switches":"#)?;
    s.context_switches = c.u64()?;
    c.lit(br#","forks":"#)?;
    s.forks = c.u64()?;
    c.lit(br#","procs_running":"#)?;
    s.procs_running = c.u32()?;
    c.lit(br#","procs_blocked":"#)?;
    s.procs_blocked = c.u32()?;
    c.lit(br#","omitted":{"cpus":"#)?;
    let cpus = c.u16()?;
    c.lit(br#","filesystems":"#)?;
    let filesystems = c.u16()?;
    c.lit(br#","interfaces":"#)?;
    let interfaces = c.u16()?;
    c.lit(br#","sensors":"#)?;
    let sensors = c.u16()?;
    c.lit(br#","disks":"#)?;
    let disks = c.u16()?;
    s.omitted = Omitted {
        cpus,
        filesystems,
        interfaces,
        sensors,
        disks,
    };
    c.lit(b"}}}")?;
    // Only trailing white space may follow, as for the general parser.
    c.rest
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .then_some(())
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    /// Decimals that [`exact_decimal`] reads.
    const EXACT: &[&str] = &[
        "0",
        "-0",
        "0.0",
        "-0.0",
        "1",
        "12345.67",
        "987654.32",
        "0.1",
        "0.3",
        "-2.5",
        "000.125",
        "9007199254740992",
        "9007199254740.992",
        "0.0000000000000000000001",
    ];

    /// Left to `str::parse`: other forms, too many digits, or not a number at all.
    const NOT_EXACT: &[&str] = &[
        "",
        "-",
        "1.",
        ".5",
        "1e5",
        "+1",
        "1.2.3",
        "--1",
        "9007199254740993",
        "1.5x",
        "0.00000000000000000000001",
        "1.7976931348623157",
    ];

    #[test]
    fn exact_decimals_are_what_str_parse_makes_of_them() {
        for text in EXACT {
            let parsed: f64 = text.parse().unwrap();
            let exact = exact_decimal(text.as_bytes()).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(exact.to_bits(), parsed.to_bits(), "{text}");
        }
        for text in NOT_EXACT {
            assert_eq!(exact_decimal(text.as_bytes()), None, "{text}");
        }
    }

    /// A number read, and how many bytes it took.
    type Read<T> = Option<(T, usize)>;

    /// What `Cursor::f64` and `Cursor::u64` read before they took one pass over a number.
    fn two_passes(bytes: &[u8]) -> (Read<f64>, Read<u64>) {
        let mut c = Cursor { rest: bytes };
        let float = c.number_text().and_then(|text| {
            let v = match exact_decimal(text) {
                Some(v) => v,
                None => core::str::from_utf8(text).ok()?.parse().ok()?,
            };
            v.is_finite().then_some((v, text.len()))
        });
        let mut c = Cursor { rest: bytes };
        let integer = c.number_text().and_then(|text| {
            if text.is_empty() || (text.len() > 1 && text.first() == Some(&b'0')) {
                return None;
            }
            let n = text.iter().try_fold(0u64, |n, &b| {
                let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
                n.checked_mul(10)?.checked_add(u64::from(digit))
            })?;
            Some((n, text.len()))
        });
        (float, integer)
    }

    #[test]
    fn one_pass_reads_numbers_as_two_passes_did() {
        let others = [
            "00",
            "07",
            "1E5",
            "1.5e3",
            "1-",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
        ];
        let mut texts: std::vec::Vec<std::string::String> = EXACT
            .iter()
            .chain(NOT_EXACT)
            .chain(&others)
            .map(|t| (*t).into())
            .collect();
        for n in [0u64, 1, 9, 10, 99, 1 << 53, (1 << 53) + 1, u64::MAX] {
            texts.push(std::format!("{n}"));
            texts.push(std::format!("{n}.5"));
            texts.push(std::format!("-{n}.25"));
        }
        for text in texts {
            for end in ["", ",", "}", "]", "x", "e", ".", "-", "0"] {
                let line = std::format!("{text}{end}");
                let (float, integer) = two_passes(line.as_bytes());
                let mut c = Cursor {
                    rest: line.as_bytes(),
                };
                let one = c.f64().map(|v| (v.to_bits(), line.len() - c.rest.len()));
                assert_eq!(one, float.map(|(v, n)| (v.to_bits(), n)), "f64 {line}");
                let mut c = Cursor {
                    rest: line.as_bytes(),
                };
                let one = c.u64().map(|v| (v, line.len() - c.rest.len()));
                assert_eq!(one, integer, "u64 {line}");
            }
        }
    }
}
