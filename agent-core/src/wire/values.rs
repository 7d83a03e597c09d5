//! Protocol v2's `values` line: a sample as its sequence number, its time and its values in
//! the order its connection's declaration gave the series (see `declare.rs`).
//!
//! ```text
//! {"v":2,"kind":"values","seq":7,"dropped":0,"g":1,"t":1764590400000,"x":[1.5,0.25,8192]}
//! ```
//!
//! The members come in this order and without spaces, as [`ValuesWriter`] writes them; a
//! receiver refuses anything else as `bad_json`. A value is written as a whole number when it
//! is one (most are: bytes, counts), else in its shortest form that reads back the same.
//!
//! Most values do not change from one sample to the next (on an idle 2-CPU VM, 408 of 446 in
//! a second), so to a server whose welcome says `"same":1` a line may leave them out:
//! `same` holds runs, alternately of values kept from the previous `values` line on this
//! connection and of values given in `x`, and every value past the runs is kept ([`delta`]).
//! After the line above with `"x":[1.5,0.25,8192,1024,3600]`, this one says
//! `[1.5,0.5,8192,1024,3600]`:
//!
//! ```text
//! {"v":2,"kind":"values","seq":8,"dropped":0,"g":1,"t":1764590401000,"same":[1,1],"x":[0.5]}
//! ```

use super::{DecodeError, EncodeError, MAX_LINE, fast::Cursor};
use crate::catalogue::{Series, f};

/// The start of every `values` line.
pub(super) const VALUES: &[u8] = br#"{"v":2,"kind":"values","#;

/// What a `values` line says besides its values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValuesHeader {
    /// The sample's sequence number, as in v1: from 1, one more per sample of a session.
    pub seq: u64,
    /// Samples the agent dropped so far, as in v1.
    pub dropped: u64,
    /// The declaration the values follow: the `g` of the connection's last `declare`.
    pub g: u32,
    /// When the sample was taken, in milliseconds since the Unix epoch by the agent's clock
    /// (the value of `node_time_seconds`, which is not declared).
    pub t: u64,
}

/// Writes a line of text into a caller's buffer, remembering the first failure so that a
/// [`Series`] sink, which cannot return one, can report it at the end.
#[derive(Debug)]
pub(super) struct Writer<'b> {
    buf: &'b mut [u8],
    at: usize,
    error: Option<EncodeError>,
}

impl<'b> Writer<'b> {
    pub(super) fn new(buf: &'b mut [u8]) -> Self {
        Writer {
            buf,
            at: 0,
            error: None,
        }
    }

    pub(super) fn bytes(&mut self, bytes: &[u8]) {
        let end = self.at + bytes.len();
        match self.buf.get_mut(self.at..end) {
            Some(room) if self.error.is_none() => {
                room.copy_from_slice(bytes);
                self.at = end;
            }
            Some(_) => {}
            None => self.fail(EncodeError::BufferFull),
        }
    }

    pub(super) fn fail(&mut self, error: EncodeError) {
        self.error.get_or_insert(error);
    }

    /// The last byte written, to take back a trailing comma.
    pub(super) fn unput(&mut self, byte: u8) {
        if self.at > 0 && self.buf.get(self.at - 1) == Some(&byte) {
            self.at -= 1;
        }
    }

    pub(super) fn uint(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        self.bytes(crate::sample::decimal(n, &mut digits).as_bytes());
    }

    /// A finite number: whole ones as integers, others as ryu's shortest round trip.
    pub(super) fn number(&mut self, v: f64) {
        if !v.is_finite() {
            self.fail(EncodeError::NotFinite);
        } else if v.abs() < 9.007_199_254_740_992e15 && v == (v as i64) as f64 {
            if v < 0.0 {
                self.bytes(b"-");
            }
            self.uint((v as i64).unsigned_abs());
        } else {
            let mut text = ryu::Buffer::new();
            self.bytes(text.format_finite(v).as_bytes());
        }
    }

    /// Ends the line with `}\n`; its length, or the first failure.
    pub(super) fn finish(mut self) -> Result<usize, EncodeError> {
        self.bytes(b"}");
        if self.at > MAX_LINE && self.error.is_none() {
            self.fail(EncodeError::LineTooLong);
        }
        self.bytes(b"\n");
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.at),
        }
    }
}

/// Writes a `values` line as a [`Series`] sink: give it a sample's series (in the order they
/// were declared) and [`finish`](ValuesWriter::finish) it.
///
/// `node_time_seconds` is skipped: the header's `t` carries it.
#[derive(Debug)]
pub struct ValuesWriter<'b> {
    out: Writer<'b>,
}

impl<'b> ValuesWriter<'b> {
    /// Starts the line for `header` at the start of `buf`.
    pub fn new(header: &ValuesHeader, buf: &'b mut [u8]) -> Self {
        let mut out = Writer::new(buf);
        out.bytes(VALUES);
        out.bytes(br#""seq":"#);
        out.uint(header.seq);
        out.bytes(br#","dropped":"#);
        out.uint(header.dropped);
        out.bytes(br#","g":"#);
        out.uint(header.g.into());
        out.bytes(br#","t":"#);
        out.uint(header.t);
        out.bytes(br#","x":["#);
        ValuesWriter { out }
    }

    /// Adds one value.
    pub fn push(&mut self, value: f64) {
        self.out.number(value);
        self.out.bytes(b",");
    }

    /// Ends the line; its length with the newline.
    ///
    /// # Errors
    /// [`EncodeError::BufferFull`], [`EncodeError::LineTooLong`], or
    /// [`EncodeError::NotFinite`] for a value JSON cannot hold.
    pub fn finish(mut self) -> Result<usize, EncodeError> {
        self.out.unput(b',');
        self.out.bytes(b"]");
        self.out.finish()
    }
}

impl Series for ValuesWriter<'_> {
    fn add(&mut self, family: u16, _labels: &[&str], value: f64) {
        if family != f::TIME {
            self.push(value);
        }
    }
}

/// One step of a `values` line, in the order of the declared series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Item {
    /// The next this many values are those of the previous `values` line on the connection.
    /// A line that leaves values out starts with one (maybe of 0); every value past the last
    /// item is kept too.
    Same(u32),
    /// The next value.
    New(f64),
}

/// Reads a `values` line (without its newline), handing each value to `value` in order; a
/// line that leaves values out (`same`) is refused as `InvalidValue("same")`: see
/// [`decode_items`] for those.
///
/// # Errors
/// As [`decode_items`].
pub fn decode_values(
    line: &[u8],
    mut value: impl FnMut(f64) -> Result<(), DecodeError>,
) -> Result<ValuesHeader, DecodeError> {
    decode_items(line, |item| match item {
        Item::New(v) => value(v),
        Item::Same(_) => Err(DecodeError::InvalidValue("same")),
    })
}

/// Reads a `values` line (without its newline), handing each value, and each run of values
/// left out, to `item` in order.
///
/// # Errors
/// `BadJson` for anything but the shape [`ValuesWriter`] and [`delta`] write,
/// `InvalidValue("x")` for a value that is not a finite number or one more than `same` has
/// room for, `InvalidValue("same")` for runs that are not numbers or that want more values
/// than `x` has, or what `item` returns.
pub fn decode_items(
    line: &[u8],
    mut item: impl FnMut(Item) -> Result<(), DecodeError>,
) -> Result<ValuesHeader, DecodeError> {
    let mut c = Cursor::new(line);
    let header = (|| {
        c.lit(VALUES)?;
        c.lit(br#""seq":"#)?;
        let seq = c.u64()?;
        c.lit(br#","dropped":"#)?;
        let dropped = c.u64()?;
        c.lit(br#","g":"#)?;
        let g = c.u32()?;
        c.lit(br#","t":"#)?;
        let t = c.u64()?;
        c.lit(b",")?;
        Some(ValuesHeader { seq, dropped, g, t })
    })()
    .ok_or(DecodeError::BadJson)?;
    if header.seq == 0 {
        return Err(DecodeError::InvalidValue("seq"));
    }
    // The runs are read as the values need them: `runs` is the text between `[` and `]`.
    let mut runs = None;
    if c.lit(br#""same":["#).is_some() {
        let end = c
            .rest()
            .iter()
            .position(|&b| b == b']')
            .ok_or(DecodeError::BadJson)?;
        runs = Some(Runs {
            c: Cursor::new(c.rest().get(..end).unwrap_or_default()),
            first: true,
        });
        c.skip(end + 1);
        c.lit(b",").ok_or(DecodeError::BadJson)?;
    }
    c.lit(br#""x":["#).ok_or(DecodeError::BadJson)?;
    // Values `x` may still give before the next run of kept ones.
    let mut new = match &mut runs {
        Some(runs) => {
            item(Item::Same(runs.next()?.unwrap_or(0)))?;
            runs.next()?.unwrap_or(0)
        }
        None => u32::MAX,
    };
    if c.lit(b"]").is_none() {
        loop {
            while new == 0 {
                let Some(runs) = &mut runs else {
                    return Err(DecodeError::InvalidValue("x"));
                };
                let kept = runs.next()?.ok_or(DecodeError::InvalidValue("x"))?;
                item(Item::Same(kept))?;
                new = runs.next()?.unwrap_or(0);
            }
            item(Item::New(c.f64().ok_or(DecodeError::InvalidValue("x"))?))?;
            new -= 1;
            if c.lit(b",").is_none() {
                break;
            }
        }
        c.lit(b"]").ok_or(DecodeError::BadJson)?;
    }
    if let Some(runs) = &mut runs {
        // What is left of the runs may only keep values.
        if new > 0 {
            return Err(DecodeError::InvalidValue("same"));
        }
        while let Some(kept) = runs.next()? {
            item(Item::Same(kept))?;
            if runs.next()?.unwrap_or(0) > 0 {
                return Err(DecodeError::InvalidValue("same"));
            }
        }
    }
    c.lit(b"}").ok_or(DecodeError::BadJson)?;
    if !c.is_empty() {
        return Err(DecodeError::BadJson);
    }
    Ok(header)
}

/// The numbers of a `same` member, read one at a time.
struct Runs<'a> {
    c: Cursor<'a>,
    first: bool,
}

impl Runs<'_> {
    /// The next run, `None` past the last.
    fn next(&mut self) -> Result<Option<u32>, DecodeError> {
        if self.c.is_empty() {
            return Ok(None);
        }
        if !self.first {
            self.c.lit(b",").ok_or(DecodeError::InvalidValue("same"))?;
        }
        self.first = false;
        self.c
            .u32()
            .map(Some)
            .ok_or(DecodeError::InvalidValue("same"))
    }
}

/// Writes into `out` the `values` line `line` with the values it shares with `previous` left
/// out (both lines whole, as [`ValuesWriter`] writes them, of the same declaration); its
/// length, newline included. `None` when the lines do not have as many values, when `out` is
/// too small, or when leaving values out would not make the line shorter: send `line` then.
pub fn delta(previous: &[u8], line: &[u8], out: &mut [u8]) -> Option<usize> {
    let (head, now) = split_values(line)?;
    let (_, before) = split_values(previous)?;
    let mut w = Writer::new(out);
    w.bytes(head);
    w.bytes(br#""same":["#);
    let (mut kept, mut new) = (0u64, 0u64);
    let mut pairs = tokens(now).zip(tokens(before));
    for (a, b) in &mut pairs {
        if a == b {
            if new > 0 {
                run(&mut w, kept, new);
                (kept, new) = (0, 0);
            }
            kept += 1;
        } else {
            new += 1;
        }
    }
    if tokens(now).count() != tokens(before).count() {
        return None;
    }
    if new > 0 {
        run(&mut w, kept, new);
    }
    w.unput(b',');
    w.bytes(br#"],"x":["#);
    for (a, b) in tokens(now).zip(tokens(before)) {
        if a != b {
            w.bytes(a);
            w.bytes(b",");
        }
    }
    w.unput(b',');
    w.bytes(b"]");
    w.finish().ok().filter(|&n| n < line.len())
}

/// A run of kept values and one of new ones, as `delta` writes them.
fn run(w: &mut Writer<'_>, kept: u64, new: u64) {
    w.uint(kept);
    w.bytes(b",");
    w.uint(new);
    w.bytes(b",");
}

/// A whole `values` line's members up to `x` (its comma included), and the text of its values.
fn split_values(line: &[u8]) -> Option<(&[u8], &[u8])> {
    const X: &[u8] = br#""x":["#;
    let at = line.windows(X.len()).position(|w| w == X)?;
    let (head, rest) = line.split_at(at);
    let values = rest.get(X.len()..)?.strip_suffix(b"]}\n")?;
    Some((head, values))
}

/// The texts of the values in `values`, the text between `[` and `]`.
fn tokens(values: &[u8]) -> impl Iterator<Item = &[u8]> {
    values
        .split(|&b| b == b',')
        .filter(move |_| !values.is_empty())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;
    use crate::catalogue::f;
    use crate::wire::Message;
    use crate::wire::vectors::*;

    /// What `Sample::series` gives of the documented sample, but the time.
    pub(crate) fn sample_values() -> (u64, Vec<f64>) {
        struct Collect(Vec<f64>);
        impl Series for Collect {
            fn add(&mut self, family: u16, _labels: &[&str], value: f64) {
                if family != f::TIME {
                    self.0.push(value);
                }
            }
        }
        let Ok(Message::Sample(m)) = one(SAMPLE) else {
            panic!("the sample vector decodes")
        };
        let mut values = Collect(Vec::new());
        m.sample.series(&mut values);
        (m.sample.time_ms, values.0)
    }

    fn decode(line: &[u8]) -> Result<(ValuesHeader, Vec<f64>), DecodeError> {
        let mut values = Vec::new();
        let header = decode_values(line, |v| {
            values.push(v);
            Ok(())
        })?;
        Ok((header, values))
    }

    fn encode(header: &ValuesHeader, values: &[f64]) -> Result<Vec<u8>, EncodeError> {
        let mut buf = [0u8; 4096];
        let mut w = ValuesWriter::new(header, &mut buf);
        for v in values {
            w.push(*v);
        }
        let n = w.finish()?;
        Ok(buf[..n].to_vec())
    }

    #[test]
    fn the_vector_is_the_documented_sample_and_encodes_back_to_the_same_bytes() {
        let (t, expected) = sample_values();
        let (header, values) = decode(VALUES_V2).unwrap();
        assert_eq!(
            header,
            ValuesHeader {
                seq: 1,
                dropped: 0,
                g: 1,
                t
            }
        );
        assert_eq!(values, expected);
        let again = encode(&header, &values).unwrap();
        assert_eq!(&again[..again.len() - 1], VALUES_V2);
    }

    #[test]
    fn values_read_back_exactly() {
        let header = ValuesHeader {
            seq: u64::MAX,
            dropped: u64::MAX,
            g: u32::MAX,
            t: u64::MAX,
        };
        let values = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            1e-300,
            1.7976931348623157e308,
            -2.5e-7,
            9_007_199_254_740_991.0,
            9_007_199_254_740_992.0,
            18_446_744_073_709_551_615.0,
            87345.67,
            123_456_789_012.0,
        ];
        let line = encode(&header, &values).unwrap();
        let (read, back) = decode(&line[..line.len() - 1]).unwrap();
        assert_eq!(read, header);
        assert_eq!(back.len(), values.len());
        for (a, b) in values.iter().zip(&back) {
            assert_eq!(
                a.to_bits() & !(1 << 63),
                b.to_bits() & !(1 << 63),
                "{a} {b}"
            );
            assert_eq!(a, b);
        }
        // None at all is a sample of no series.
        let line = encode(&header, &[]).unwrap();
        assert_eq!(decode(&line[..line.len() - 1]).unwrap().1, []);
    }

    #[test]
    fn what_json_cannot_hold_is_not_written() {
        let header = ValuesHeader {
            seq: 1,
            ..ValuesHeader::default()
        };
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(encode(&header, &[1.0, v]), Err(EncodeError::NotFinite));
        }
        let mut small = [0u8; 40];
        let mut w = ValuesWriter::new(&header, &mut small);
        w.push(1.0);
        assert_eq!(w.finish(), Err(EncodeError::BufferFull));
    }

    #[test]
    fn a_line_without_the_values_it_shares_reads_back_to_the_whole_line() {
        let header = |seq| ValuesHeader {
            seq,
            dropped: 0,
            g: 1,
            t: 1_764_590_400_000 + seq,
        };
        let before = [1.5, 0.25, 8192.0, 3.0, 4.0, 5.0, -2.0, 0.1];
        let cases: [&[f64]; 5] = [
            &[1.5, 0.5, 8192.0, 3.0, 4.0, 5.0, -2.0, 0.1],
            &[2.5, 0.25, 8192.0, 3.0, 4.0, 6.0, 7.0, 0.1],
            &[1.5, 0.25, 8192.0, 3.0, 4.0, 5.0, -2.0, 0.1],
            &[1.5, 0.25, 8192.0, 3.0, 4.0, 5.0, -2.0, 0.2],
            &[9.0, 9.0, 9.0, 9.0, 4.0, 9.0, 9.0, 9.0],
        ];
        let previous = encode(&header(1), &before).unwrap();
        for now in cases {
            let line = encode(&header(2), now).unwrap();
            let mut out = [0u8; 4096];
            let Some(n) = delta(&previous, &line, &mut out) else {
                // Only when nothing would be saved.
                assert!(now.iter().zip(&before).filter(|(a, b)| a == b).count() < 2);
                continue;
            };
            assert!(n < line.len());
            let short = &out[..n];
            assert!(short.ends_with(b"]}\n"));
            let (header_read, _) = (decode_items(&short[..n - 1], |_| Ok(())).unwrap(), ());
            assert_eq!(header_read, header(2));
            assert_eq!(
                apply(&before, &short[..n - 1]).unwrap().1,
                now,
                "{:?}",
                std::str::from_utf8(short)
            );
        }
        // The documented one: one of three changed.
        let line = br#"{"v":2,"kind":"values","seq":8,"dropped":0,"g":1,"t":1764590401000,"same":[1,1],"x":[0.5]}"#;
        let (before, now) = (
            [1.5, 0.25, 8192.0, 1024.0, 3600.0],
            [1.5, 0.5, 8192.0, 1024.0, 3600.0],
        );
        assert_eq!(apply(&before, line).unwrap().1, now);
        let previous = encode(&header(7), &before).unwrap();
        let whole = encode(
            &ValuesHeader {
                t: 1_764_590_401_000,
                ..header(8)
            },
            &now,
        )
        .unwrap();
        let mut out = [0u8; 256];
        let n = delta(&previous, &whole, &mut out).unwrap();
        assert_eq!(&out[..n - 1], line);
        // Lines of other lengths, or a buffer too small, give none.
        let other = encode(&header(2), &[1.5, 0.25]).unwrap();
        assert_eq!(delta(&previous, &other, &mut out), None);
        assert_eq!(delta(&previous, &whole, &mut out[..40]), None);
        // A full line refuses runs where only values are wanted.
        assert_eq!(
            decode(line).map(|_| ()),
            Err(DecodeError::InvalidValue("same"))
        );
    }

    #[test]
    fn runs_that_do_not_fit_the_values_are_refused() {
        let line = |same: &str, x: &str| {
            std::format!(
                r#"{{"v":2,"kind":"values","seq":1,"dropped":0,"g":1,"t":5,"same":[{same}],"x":[{x}]}}"#
            )
        };
        let ok = [
            ("", ""),
            ("0,1", "7"),
            ("2,1,3,2", "7,8,9"),
            ("3", ""),
            ("1,0,2,0", ""),
        ];
        for (same, x) in ok {
            assert!(
                decode_items(line(same, x).as_bytes(), |_| Ok(())).is_ok(),
                "{same} {x}"
            );
        }
        for (same, x, error) in [
            ("", "1", DecodeError::InvalidValue("x")),
            ("0,1", "1,2", DecodeError::InvalidValue("x")),
            ("0,2", "1", DecodeError::InvalidValue("same")),
            ("1,1,1,1", "1", DecodeError::InvalidValue("same")),
            ("1,", "", DecodeError::InvalidValue("same")),
            (",1", "", DecodeError::InvalidValue("same")),
            ("-1,1", "1", DecodeError::InvalidValue("same")),
            ("4294967296,1", "1", DecodeError::InvalidValue("same")),
            ("1 ,1", "1", DecodeError::InvalidValue("same")),
        ] {
            assert_eq!(
                decode_items(line(same, x).as_bytes(), |_| Ok(())),
                Err(error),
                "{same} {x}"
            );
        }
        for bad in [
            &br#"{"v":2,"kind":"values","seq":1,"dropped":0,"g":1,"t":5,"same":[1,"x":[1]}"#[..],
            br#"{"v":2,"kind":"values","seq":1,"dropped":0,"g":1,"t":5,"same":[1]"x":[1]}"#,
            br#"{"v":2,"kind":"values","seq":1,"dropped":0,"g":1,"t":5,"x":[1],"same":[1]}"#,
        ] {
            assert!(decode_items(bad, |_| Ok(())).is_err());
        }
    }

    #[test]
    fn the_documented_line_that_leaves_values_out_is_the_next_sample_on_the_documented_one() {
        let previous = [VALUES_V2, b"\n"].concat();
        let next = std::string::String::from_utf8(previous.clone())
            .unwrap()
            .replace(r#""seq":1"#, r#""seq":2"#)
            .replace("1700000000000", "1700000010000")
            .replace("[10.5,0,3.25,100,", "[10.75,0,3.5,109.5,")
            .replace(
                "0.5,0.25,0.125,1024,512,768",
                "0.75,0.25,0.125,1024,500,756",
            )
            .replace(",99,5,", ",140,5,");
        let mut out = [0u8; 1024];
        let n = delta(&previous, next.as_bytes(), &mut out).unwrap();
        assert_eq!(&out[..n - 1], VALUES_SAME_V2);
        let (_, before) = decode(VALUES_V2).unwrap();
        let (_, after) = decode(next.trim_end().as_bytes()).unwrap();
        assert_eq!(apply(&before, VALUES_SAME_V2).unwrap().1, after);
    }

    #[test]
    fn anything_but_the_written_shape_is_refused() {
        let ok = br#"{"v":2,"kind":"values","seq":1,"dropped":0,"g":1,"t":5,"x":[1,2.5]}"#;
        assert!(decode(ok).is_ok());
        for (line, error) in [
            (
                &br#"{"v":2,"kind":"values","seq":0,"dropped":0,"g":1,"t":5,"x":[1]}"#[..],
                DecodeError::InvalidValue("seq"),
            ),
            (
                br#"{"v":2,"kind":"values","seq":1,"dropped":0,"g":1,"t":5,"x":[1e400]}"#,
                DecodeError::InvalidValue("x"),
            ),
            (
                br#"{"v":2,"kind":"values","seq":1,"dropped":0,"g":1,"t":5,"x":[null]}"#,
                DecodeError::InvalidValue("x"),
            ),
            (
                br#"{"v":2,"kind":"values","seq":1,"dropped":0,"g":1,"t":5,"x":[1,]}"#,
                DecodeError::InvalidValue("x"),
            ),
            (
                br#"{"v":2,"kind":"values","seq":1,"dropped":0,"g":1,"t":5,"x":[1] }"#,
                DecodeError::BadJson,
            ),
            (
                br#"{"v":2,"kind":"values","seq":1,"dropped":0,"g":1,"t":5,"x":[1]}x"#,
                DecodeError::BadJson,
            ),
            (
                br#"{"v":2,"kind":"values", "seq":1,"dropped":0,"g":1,"t":5,"x":[1]}"#,
                DecodeError::BadJson,
            ),
            (
                br#"{"v":2,"kind":"values","seq":1,"dropped":0,"g":4294967296,"t":5,"x":[]}"#,
                DecodeError::BadJson,
            ),
            (
                br#"{"v":2,"kind":"values","seq":1,"dropped":0,"g":1,"t":5,"x":[1"#,
                DecodeError::BadJson,
            ),
        ] {
            assert_eq!(
                decode(line).map(|_| ()),
                Err(error),
                "{}",
                std::str::from_utf8(line).unwrap()
            );
        }
        // What the callback refuses ends the reading.
        let refused = decode_values(ok, |_| Err(DecodeError::InvalidValue("mine")));
        assert_eq!(refused, Err(DecodeError::InvalidValue("mine")));
    }
}
