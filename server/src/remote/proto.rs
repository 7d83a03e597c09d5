//! Prometheus remote write 1.0's `WriteRequest`, in protobuf, written by hand: four messages of
//! two fields each do not need a code generator.
//!
//! ```text
//! WriteRequest { repeated TimeSeries timeseries = 1; }
//! TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//! Label        { string name = 1; string value = 2; }
//! Sample       { double value = 1; int64 timestamp = 2; }
//! ```
//!
//! A series' labels are encoded once per label set ([`Labels::encode`]) and copied into each
//! request that carries one of its samples.

/// Wire type of a varint field.
const VARINT: u8 = 0;
/// Wire type of a 64-bit field.
const FIXED64: u8 = 1;
/// Wire type of a length-delimited field.
const LEN: u8 = 2;

/// The value Prometheus reads as "this series ended" (its `value.StaleNaN`).
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

fn tag(out: &mut Vec<u8>, field: u8, wire: u8) {
    out.push(field << 3 | wire);
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn bytes_field(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    tag(out, field, LEN);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// One series' labels, sorted by name, each an encoded `Label` field of a `TimeSeries`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels(Vec<u8>);

impl Labels {
    /// The encoded labels of `pairs` (name, value), sorted by name as the protocol requires;
    /// a later pair of the same name replaces an earlier one.
    pub fn encode(pairs: &[(&str, &str)]) -> Self {
        let mut sorted: Vec<(&str, &str)> = Vec::with_capacity(pairs.len());
        for &(name, value) in pairs {
            match sorted.binary_search_by(|p| p.0.cmp(name)) {
                Ok(at) => sorted[at].1 = value,
                Err(at) => sorted.insert(at, (name, value)),
            }
        }
        let mut out = Vec::new();
        let mut label = Vec::new();
        for (name, value) in sorted {
            label.clear();
            bytes_field(&mut label, 1, name.as_bytes());
            bytes_field(&mut label, 2, value.as_bytes());
            bytes_field(&mut out, 1, &label);
        }
        Labels(out)
    }
}

/// Appends one `TimeSeries` with one sample to a `WriteRequest` being written in `out`.
pub fn push_series(out: &mut Vec<u8>, labels: &Labels, value: f64, timestamp_ms: i64) {
    push_series_bits(out, labels, value.to_bits(), timestamp_ms);
}

/// As [`push_series`], with the value's bits (for [`STALE_NAN`], which arithmetic would not
/// keep).
pub fn push_series_bits(out: &mut Vec<u8>, labels: &Labels, bits: u64, timestamp_ms: i64) {
    // int64: a negative time takes ten bytes, as protobuf writes it.
    let ts = timestamp_ms as u64;
    let sample_len = 1 + 8 + 1 + varint_len(ts);
    tag(out, 1, LEN);
    varint(
        out,
        (labels.0.len() + 1 + varint_len(sample_len as u64) + sample_len) as u64,
    );
    out.extend_from_slice(&labels.0);
    tag(out, 2, LEN);
    varint(out, sample_len as u64);
    tag(out, 1, FIXED64);
    out.extend_from_slice(&bits.to_le_bytes());
    tag(out, 2, VARINT);
    varint(out, ts);
}

/// The bytes [`varint`] writes for `n`.
fn varint_len(n: u64) -> usize {
    (64 - (n | 1).leading_zeros() as usize).div_ceil(7)
}

/// The labels of an exposition line's prefix, `name{a="x",b="y\"z"} `: the metric name as
/// `__name__` and each label with its value unescaped; `None` for text that is not such a
/// prefix.
pub fn parse_prefix(prefix: &str) -> Option<Vec<(String, String)>> {
    let prefix = prefix.trim_end();
    let (name, rest) = match prefix.find('{') {
        Some(at) => (&prefix[..at], Some(prefix[at + 1..].strip_suffix('}')?)),
        None => (prefix, None),
    };
    if name.is_empty() {
        return None;
    }
    let mut out = vec![("__name__".to_owned(), name.to_owned())];
    let Some(mut rest) = rest else {
        return Some(out);
    };
    while !rest.is_empty() {
        let (label, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '"' => break i,
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                c => value.push(c),
            }
        };
        out.push((label.to_owned(), value));
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_gives_its_name_and_unescaped_labels() {
        let labels = parse_prefix(r#"node_x{instance="a",path="C:\\d",help="say \"hi\"\n"} "#);
        assert_eq!(
            labels.unwrap(),
            [
                ("__name__", "node_x"),
                ("instance", "a"),
                ("path", r"C:\d"),
                ("help", "say \"hi\"\n")
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
        assert_eq!(parse_prefix("up ").unwrap().len(), 1);
        assert_eq!(parse_prefix(r#"x{a="1"#), None);
        assert_eq!(parse_prefix(""), None);
    }

    #[test]
    fn labels_are_sorted_and_a_series_is_encoded_as_protobuf_does() {
        let labels = Labels::encode(&[("job", "n"), ("__name__", "up"), ("job", "node")]);
        // Label { name: "__name__", value: "up" }, then job="node".
        let mut expected = vec![0x0a, 14, 0x0a, 8];
        expected.extend_from_slice(b"__name__");
        expected.extend_from_slice(&[0x12, 2]);
        expected.extend_from_slice(b"up");
        expected.extend_from_slice(&[0x0a, 11, 0x0a, 3]);
        expected.extend_from_slice(b"job");
        expected.extend_from_slice(&[0x12, 4]);
        expected.extend_from_slice(b"node");
        assert_eq!(labels.0, expected);

        let mut out = Vec::new();
        push_series(&mut out, &labels, 1.0, 300);
        // TimeSeries { labels, samples: [Sample { value: 1.0, timestamp: 300 }] }
        let mut series = expected.clone();
        series.extend_from_slice(&[0x12, 12, 0x09]);
        series.extend_from_slice(&1.0f64.to_le_bytes());
        series.extend_from_slice(&[0x10, 0xac, 0x02]);
        let mut whole = vec![0x0a, series.len() as u8];
        whole.extend_from_slice(&series);
        assert_eq!(out, whole);
    }
}
