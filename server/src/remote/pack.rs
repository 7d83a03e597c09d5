//! An agent's series as a `WriteRequest` piece compressed once, into which each sample writes
//! only its values and time.
//!
//! Compressing every request cost the writers more than the rest of their work, for bytes that
//! are the same from one second to the next: only a series' value and timestamp change. So a
//! layout's piece is compressed once, by the snappy block format's own rules but with the
//! bytes that change kept as literals, never copied from or into: each sample copies the
//! compressed piece and writes its values and time into those literals. A copy's offset counts
//! back from where it is in the output, so pieces compressed apart are still valid one after
//! the other, and a request is a length and its pieces.
//!
//! The format (snappy's `format_description.txt`): the uncompressed length as a varint, then
//! elements: a literal (tag `00`, its length, its bytes) or a copy of earlier output (tag `10`,
//! a length of 1 to 64 and a two-byte offset).

use super::proto::{self, Labels};

/// Bytes hashed to find a match, and the shortest match worth a copy.
const MIN_MATCH: usize = 4;
/// The longest copy one element says.
const MAX_COPY: usize = 64;
/// The farthest back a two-byte offset reaches.
const MAX_OFFSET: usize = 65_535;
/// Entries of the match finder's table, at most: 2^14, as snappy's own. A short input gets a
/// table of about its length (an agent's `up` series are a hundred bytes, written every 15 s).
const TABLE_BITS: u32 = 14;

/// A layout's written series, compressed, with where each sample's values and time go.
#[derive(Debug, Clone, Default)]
pub struct Piece {
    /// Snappy elements without the length: each series' `TimeSeries` with one sample.
    packed: Vec<u8>,
    /// The bytes they decompress to.
    raw_len: usize,
    /// For each series: where its value's eight bytes are in `packed`, and which value it is.
    values: Vec<(u32, u32)>,
    /// Where each series' timestamp is in `packed`.
    times: Vec<u32>,
    /// The bytes of a timestamp (a varint: the same for every time of this century and the
    /// next, from 2^35 to 2^42 ms).
    time_len: usize,
}

impl Piece {
    /// The piece of `series`, each its labels and the index of its value, for samples whose
    /// time takes as many bytes as `time_ms`.
    pub fn new(series: &[(&Labels, u32)], time_ms: i64) -> Self {
        let time = varint_bytes(time_ms as u64);
        let mut raw = Vec::new();
        // Where the value and time of each series are in `raw`; both are left as zeros here.
        let mut slots = Vec::with_capacity(series.len());
        for &(labels, index) in series {
            proto::push_series_bits(&mut raw, labels, 0, time_ms);
            let time_at = raw.len() - time.len();
            let value_at = time_at - 1 - 8;
            slots.push((value_at, time_at, index));
        }
        let mut fixed = vec![true; raw.len()];
        for &(value_at, time_at, _) in &slots {
            fixed[value_at..value_at + 8].fill(false);
            fixed[time_at..time_at + time.len()].fill(false);
        }
        let (packed, literals) = compress(&raw, &fixed);
        // A changing byte is in a literal: where it is in `packed`.
        let packed_at = |raw_at: usize| -> u32 {
            let literal = literals.partition_point(|l| l.raw + l.len <= raw_at);
            let l = &literals[literal];
            (l.packed + raw_at - l.raw) as u32
        };
        Piece {
            raw_len: raw.len(),
            values: slots
                .iter()
                .map(|&(value_at, _, index)| (packed_at(value_at), index))
                .collect(),
            times: slots
                .iter()
                .map(|&(_, time_at, _)| packed_at(time_at))
                .collect(),
            time_len: time.len(),
            packed,
        }
    }

    /// Series in the piece.
    pub fn series(&self) -> usize {
        self.values.len()
    }

    /// Appends the piece with `values` at `time_ms`; returns the bytes it decompresses to, or
    /// `None` (and appends nothing) when the time takes other bytes than the piece's or a
    /// value is missing.
    pub fn write(&self, values: &[f64], time_ms: i64, out: &mut Vec<u8>) -> Option<usize> {
        let time = varint_bytes(time_ms as u64);
        if time.len() != self.time_len
            || self
                .values
                .iter()
                .any(|&(_, index)| index as usize >= values.len())
        {
            return None;
        }
        let base = out.len();
        out.extend_from_slice(&self.packed);
        let piece = &mut out[base..];
        for &(at, index) in &self.values {
            let at = at as usize;
            piece[at..at + 8].copy_from_slice(&values[index as usize].to_bits().to_le_bytes());
        }
        for &at in &self.times {
            let at = at as usize;
            piece[at..at + time.len()].copy_from_slice(&time);
        }
        Some(self.raw_len)
    }
}

/// Appends `raw` compressed, as snappy elements without the length (the slow path, for what
/// has no piece); returns `raw`'s length.
pub fn append_compressed(raw: &[u8], out: &mut Vec<u8>) -> usize {
    let (packed, _) = compress(raw, &vec![true; raw.len()]);
    out.extend_from_slice(&packed);
    raw.len()
}

/// A whole snappy block of `raw_len` bytes from its elements.
pub fn block(raw_len: usize, elements: &[u8]) -> Vec<u8> {
    let mut out = varint_bytes(raw_len as u64);
    out.extend_from_slice(elements);
    out
}

/// Writes snappy's length varint of `raw_len` just before `elements_at` in `body` (where room
/// was left for it) and returns where the block starts.
pub fn prepend_length(body: &mut [u8], elements_at: usize, raw_len: usize) -> usize {
    let length = varint_bytes(raw_len as u64);
    let start = elements_at - length.len();
    body[start..elements_at].copy_from_slice(&length);
    start
}

/// Room [`prepend_length`] needs.
pub const LENGTH_ROOM: usize = 10;

/// A literal of the output: `len` bytes of the input at `raw`, at `packed` in the output.
struct Literal {
    raw: usize,
    packed: usize,
    len: usize,
}

/// Compresses `raw` into snappy elements, copying only bytes that `fixed` says stay: a copy
/// neither reads nor writes a byte that changes. Returns the elements and their literals.
fn compress(raw: &[u8], fixed: &[bool]) -> (Vec<u8>, Vec<Literal>) {
    let mut out = Vec::with_capacity(raw.len() / 2 + 16);
    let mut literals = Vec::new();
    let bits = raw
        .len()
        .next_power_of_two()
        .trailing_zeros()
        .clamp(4, TABLE_BITS);
    let mut table = vec![usize::MAX; 1 << bits];
    let hash = |at: usize| {
        let word = u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]);
        (word.wrapping_mul(0x1e35_a7bd) >> (32 - bits)) as usize
    };
    let stays = |at: usize, len: usize| fixed[at..at + len].iter().all(|&f| f);
    let (mut at, mut pending) = (0, 0);
    while at + MIN_MATCH <= raw.len() {
        if !stays(at, MIN_MATCH) {
            at += 1;
            continue;
        }
        let slot = hash(at);
        let candidate = std::mem::replace(&mut table[slot], at);
        let usable = candidate != usize::MAX
            && at - candidate <= MAX_OFFSET
            && raw[candidate..candidate + MIN_MATCH] == raw[at..at + MIN_MATCH]
            && stays(candidate, MIN_MATCH);
        if !usable {
            at += 1;
            continue;
        }
        let mut len = MIN_MATCH;
        while at + len < raw.len()
            && raw[candidate + len] == raw[at + len]
            && fixed[at + len]
            && fixed[candidate + len]
        {
            len += 1;
        }
        literal(raw, pending, at, &mut out, &mut literals);
        copy(at - candidate, len, &mut out);
        at += len;
        pending = at;
    }
    literal(raw, pending, raw.len(), &mut out, &mut literals);
    (out, literals)
}

/// Appends the literal `raw[from..to]`, if any.
fn literal(raw: &[u8], from: usize, to: usize, out: &mut Vec<u8>, literals: &mut Vec<Literal>) {
    if from >= to {
        return;
    }
    let n = to - from - 1;
    if n < 60 {
        out.push((n as u8) << 2);
    } else {
        let bytes = (n.ilog2() / 8 + 1) as usize;
        out.push(((59 + bytes) as u8) << 2);
        out.extend_from_slice(&n.to_le_bytes()[..bytes]);
    }
    literals.push(Literal {
        raw: from,
        packed: out.len(),
        len: to - from,
    });
    out.extend_from_slice(&raw[from..to]);
}

/// Appends copies of `len` bytes from `offset` back, 64 at most an element. (A remainder of
/// fewer than four bytes is still a copy: a two-byte offset's copy may be of one byte.)
fn copy(offset: usize, mut len: usize, out: &mut Vec<u8>) {
    while len > 0 {
        let n = len.min(MAX_COPY);
        out.push((((n - 1) as u8) << 2) | 0b10);
        out.extend_from_slice(&(offset as u16).to_le_bytes());
        len -= n;
    }
}

/// `n` as a protobuf (and snappy) varint.
fn varint_bytes(mut n: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(10);
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decompress(block: &[u8]) -> Vec<u8> {
        snap::raw::Decoder::new().decompress_vec(block).unwrap()
    }

    fn labels(i: usize) -> Labels {
        let name = format!("node_metric_{}", i % 7);
        let device = format!("sd{}", (b'a' + (i % 5) as u8) as char);
        Labels::encode(&[
            ("__name__", &name),
            ("device", &device),
            ("instance", "host-1"),
            ("job", "node"),
        ])
    }

    /// What [`Piece::write`] must decompress to.
    fn plain(series: &[(&Labels, u32)], values: &[f64], time_ms: i64) -> Vec<u8> {
        let mut raw = Vec::new();
        for &(labels, index) in series {
            proto::push_series(&mut raw, labels, values[index as usize], time_ms);
        }
        raw
    }

    #[test]
    fn a_piece_written_with_any_values_decompresses_to_the_plain_request() {
        let all: Vec<Labels> = (0..300).map(labels).collect();
        // Some values shared or skipped, as a layout's lines map to its values.
        let series: Vec<(&Labels, u32)> = all
            .iter()
            .enumerate()
            .map(|(i, l)| (l, (i * 7 % 250) as u32))
            .collect();
        let piece = Piece::new(&series, 1_700_000_000_000);
        let mut values: Vec<f64> = (0..250).map(|i| i as f64 * 1.5).collect();
        // Values and times whose bytes repeat the labels', and match each other.
        values[3] = f64::from_bits(u64::from_le_bytes(*b"instance"));
        values[4] = values[3];
        for (k, time) in [1_700_000_000_000i64, 1_700_000_001_000, 4_000_000_000_000]
            .into_iter()
            .enumerate()
        {
            values[0] = k as f64;
            let mut out = Vec::new();
            let raw_len = piece.write(&values, time, &mut out).unwrap();
            let expected = plain(&series, &values, time);
            assert_eq!(raw_len, expected.len());
            assert_eq!(decompress(&block(raw_len, &out)), expected);
            // Smaller than the plain bytes: the labels repeat.
            assert!(
                out.len() < expected.len() / 2,
                "{} of {}",
                out.len(),
                expected.len()
            );
        }
        // A time of other bytes, or too few values: the slow path's.
        assert_eq!(piece.write(&values, 1, &mut Vec::new()), None);
        assert_eq!(
            piece.write(&values[..10], 1_700_000_000_000, &mut Vec::new()),
            None
        );
    }

    #[test]
    fn pieces_and_slow_parts_one_after_another_are_one_block() {
        let a: Vec<Labels> = (0..50).map(labels).collect();
        let b: Vec<Labels> = (50..400).map(labels).collect();
        let sa: Vec<(&Labels, u32)> = a.iter().zip(0..).collect();
        let sb: Vec<(&Labels, u32)> = b.iter().zip(0..).collect();
        let (pa, pb) = (
            Piece::new(&sa, 1_000_000_000_000),
            Piece::new(&sb, 1_000_000_000_000),
        );
        let values: Vec<f64> = (0..400).map(f64::from).collect();
        let mut body = vec![0; LENGTH_ROOM];
        let mut raw_len = pa.write(&values, 1_000_000_000_000, &mut body).unwrap();
        let slow = plain(&sa, &values, -5);
        raw_len += append_compressed(&slow, &mut body);
        raw_len += pb.write(&values, 1_000_000_000_001, &mut body).unwrap();
        let start = prepend_length(&mut body, LENGTH_ROOM, raw_len);
        let mut expected = plain(&sa, &values, 1_000_000_000_000);
        expected.extend_from_slice(&slow);
        expected.extend_from_slice(&plain(&sb, &values, 1_000_000_000_001));
        assert_eq!(decompress(&body[start..]), expected);
    }

    #[test]
    fn long_literals_and_long_matches_are_encoded_as_the_format_says() {
        // Incompressible bytes make literals past 60 and 256 bytes; a long run makes copies
        // of 64 and a remainder.
        let mut raw: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        raw.extend(std::iter::repeat_n(7u8, 1000));
        raw.extend_from_within(100..2000);
        let mut out = Vec::new();
        let len = append_compressed(&raw, &mut out);
        assert_eq!(decompress(&block(len, &out)), raw);
        assert!(out.len() < raw.len());
    }

    #[test]
    fn bytes_that_change_are_never_copied_whatever_the_input() {
        // xorshift: inputs of few symbols (long matches) and many, with random spans that change.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..300 {
            let len = (next() % 3000) as usize;
            let symbols = 1 + (next() % if round % 2 == 0 { 4 } else { 256 });
            let raw: Vec<u8> = (0..len).map(|_| (next() % symbols) as u8).collect();
            let mut fixed = vec![true; len];
            for _ in 0..next() % 20 {
                let at = (next() as usize) % len.max(1);
                let end = (at + (next() % 12) as usize).min(len);
                fixed[at..end].fill(false);
            }
            let (packed, literals) = compress(&raw, &fixed);
            assert_eq!(decompress(&block(len, &packed)), raw, "round {round}");
            // Every changing byte is in a literal: changing it there changes only it.
            for at in (0..len).filter(|&at| !fixed[at]) {
                let l = literals
                    .iter()
                    .find(|l| l.raw <= at && at < l.raw + l.len)
                    .unwrap_or_else(|| panic!("round {round}: byte {at} is copied"));
                let mut changed = packed.clone();
                changed[l.packed + at - l.raw] ^= 0xff;
                let mut expected = raw.clone();
                expected[at] ^= 0xff;
                assert_eq!(decompress(&block(len, &changed)), expected, "round {round}");
            }
        }
    }
}
