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

/// Reads a `values` line (without its newline), handing each value to `value` in order.
///
/// # Errors
/// `BadJson` for anything but the shape [`ValuesWriter`] writes, `InvalidValue("x")` for a
/// value that is not a finite number, or what `value` returns.
pub fn decode_values(
    line: &[u8],
    mut value: impl FnMut(f64) -> Result<(), DecodeError>,
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
        c.lit(br#","x":["#)?;
        Some(ValuesHeader { seq, dropped, g, t })
    })()
    .ok_or(DecodeError::BadJson)?;
    if header.seq == 0 {
        return Err(DecodeError::InvalidValue("seq"));
    }
    if c.lit(b"]").is_none() {
        loop {
            value(c.f64().ok_or(DecodeError::InvalidValue("x"))?)?;
            if c.lit(b",").is_none() {
                break;
            }
        }
        c.lit(b"]").ok_or(DecodeError::BadJson)?;
    }
    c.lit(b"}").ok_or(DecodeError::BadJson)?;
    if !c.is_empty() {
        return Err(DecodeError::BadJson);
    }
    Ok(header)
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
