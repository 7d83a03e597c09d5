//! Protocol v2's `declare` line: which series an agent's `values` lines carry, in order.
//!
//! ```text
//! {"v":2,"kind":"declare","g":1,"families":[[0,"cpu","mode"],[1]],"series":[[0,"0","user"],[1]]}
//! {"v":2,"kind":"declare","g":2,"families":[[1]],"custom":[[32768,"raid_degraded","gauge","RAID degraded.","md"]],"series":[[1],[32768,"md0"]]}
//! ```
//!
//! `families` gives each family the series use, by its number in the
//! [`catalogue`](crate::catalogue), with its label names, once; `custom` (only when there is
//! one) gives each family the agent describes itself its number (from
//! [`CUSTOM_BASE`], one after the other), name, type, help text and label names; `series`
//! gives each series its family and label values, in the order of the values that follow. `g`
//! numbers the declaration within the agent's session, so that a `values` line says which one
//! it follows. An agent sends one after each welcome and again when its series change (a
//! mount appears). The members come in this order and without spaces, as [`encode_declare`]
//! writes them; a declaration without custom families is the same line as before they existed.
//!
//! Reading checks what the catalogue says: a family the catalogue does not have, or whose
//! values are not the agent's, is `unknown_family`; label names other than the catalogue's, or
//! a series with another number of label values than its family's names, or of a family not
//! in `families` or `custom`, is `wrong_labels`; a label text with a control character is
//! `bad_label`. A custom family must pass [`custom::check`]: a name of vitals' own is
//! `unknown_family`, bad label names `wrong_labels`, a help text with a control character
//! `bad_label`, and a name that is not a metric name, a type other than `counter`, `gauge` or
//! `untyped`, a number out of sequence or past [`MAX_CUSTOM`] `invalid_value`. The receiver
//! checks the rest: a series or a custom family named twice, too many series.

use heapless::String;

use super::values::Writer;
use super::{DecodeError, EncodeError, MAX_TEXT, fast::Cursor};
use crate::catalogue::custom::{
    self, CUSTOM_BASE, Custom, Fault, MAX_CUSTOM, MAX_CUSTOM_LABELS, MAX_HELP, MAX_NAME,
};
use crate::catalogue::{FAMILIES, Kind, Series, Source, f, label_names};
use crate::sample::label_text_ok;

/// The most labels (after `agent`) a family has: `node_dmi_info`'s twenty. Only a server,
/// which reads declarations, holds this many texts at once.
pub const MAX_LABELS: usize = 20;

const _: () = assert!(MAX_CUSTOM_LABELS <= MAX_LABELS && MAX_NAME <= MAX_TEXT);

// Compile time: a family with more labels fails the build.
#[allow(clippy::indexing_slicing)]
const _: () = {
    let mut i = 0;
    while i < FAMILIES.len() {
        assert!(FAMILIES[i].labels.len() <= MAX_LABELS);
        i += 1;
    }
};

/// The start of every `declare` line.
pub(super) const DECLARE: &[u8] = br#"{"v":2,"kind":"declare","#;

/// One bit per family of the catalogue, and whether any custom family comes along.
#[derive(Debug, Clone, Copy)]
struct Families([u8; FAMILIES.len().div_ceil(8)], bool);

impl Families {
    fn new() -> Self {
        Families([0; FAMILIES.len().div_ceil(8)], false)
    }

    fn insert(&mut self, id: u16) {
        let id = usize::from(id);
        if let Some(byte) = self.0.get_mut(id / 8) {
            *byte |= 1 << (id % 8);
        }
    }

    fn contains(&self, id: u16) -> bool {
        let id = usize::from(id);
        self.0.get(id / 8).is_some_and(|b| b & (1 << (id % 8)) != 0)
    }
}

impl Series for Families {
    fn custom(&mut self, _family: u16, _def: &Custom<'_>) {
        self.1 = true;
    }

    fn add(&mut self, family: u16, _labels: &[&str], _value: f64) {
        self.insert(family);
    }
}

/// Whether a declaration names this family: all the agent's but `node_time_seconds`, which
/// travels as a `values` line's `t`.
fn declared(family: u16) -> bool {
    family != f::TIME
}

/// Writes the series as a [`Series`] sink, each as `[family,"label",...],`.
struct SeriesWriter<'w, 'b>(&'w mut Writer<'b>);

impl Series for SeriesWriter<'_, '_> {
    fn add(&mut self, family: u16, labels: &[&str], _value: f64) {
        if declared(family) {
            entry(self.0, family, labels.iter().copied());
        }
    }
}

/// Writes the custom families as a [`Series`] sink, each as `[number,"name","type","help",
/// "label",...],`.
struct CustomWriter<'w, 'b>(&'w mut Writer<'b>);

impl Series for CustomWriter<'_, '_> {
    fn custom(&mut self, family: u16, def: &Custom<'_>) {
        let out = &mut *self.0;
        out.bytes(b"[");
        out.uint(family.into());
        for text in [def.name, def.kind.as_str(), def.help] {
            entry_text(out, text);
        }
        for label in def.labels {
            entry_text(out, label);
        }
        out.bytes(b"],");
    }

    fn add(&mut self, _family: u16, _labels: &[&str], _value: f64) {}
}

fn entry<'a>(out: &mut Writer<'_>, family: u16, labels: impl Iterator<Item = &'a str>) {
    out.bytes(b"[");
    out.uint(family.into());
    for label in labels {
        entry_text(out, label);
    }
    out.bytes(b"],");
}

/// `,"text"`, escaped.
fn entry_text(out: &mut Writer<'_>, text: &str) {
    out.bytes(b",\"");
    escaped(out, text);
    out.bytes(b"\"");
}

/// A label text as a JSON string's inside: `"` and `\` escaped, control characters as `\u`
/// escapes (a receiver refuses them, but the line stays JSON).
fn escaped(out: &mut Writer<'_>, text: &str) {
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b'"' || b == b'\\' || b < 0x20 {
            out.bytes(text.as_bytes().get(start..i).unwrap_or_default());
            match b {
                b'"' => out.bytes(b"\\\""),
                b'\\' => out.bytes(b"\\\\"),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
                    let lo = HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0');
                    out.bytes(&[b'\\', b'u', b'0', b'0', hi, lo]);
                }
            }
            start = i + 1;
        }
    }
    out.bytes(text.as_bytes().get(start..).unwrap_or_default());
}

/// Writes the `declare` line numbered `g` for the series `each` hands to its sink (called
/// twice: first for the families, then for the series; a third time between them for the
/// custom families when there are some), at the start of `buf`. Returns its length with the
/// newline.
///
/// # Errors
/// [`EncodeError::BufferFull`] or [`EncodeError::LineTooLong`].
pub fn encode_declare(
    g: u32,
    each: &mut dyn FnMut(&mut dyn Series),
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    let mut families = Families::new();
    each(&mut families);
    let mut out = Writer::new(buf);
    out.bytes(DECLARE);
    out.bytes(br#""g":"#);
    out.uint(g.into());
    out.bytes(br#","families":["#);
    for id in 0..FAMILIES.len() as u16 {
        if families.contains(id) && declared(id) {
            let labels = label_names(id).unwrap_or_default();
            entry(&mut out, id, labels.iter().copied());
        }
    }
    out.unput(b',');
    out.bytes(b"]");
    if families.1 {
        out.bytes(br#","custom":["#);
        each(&mut CustomWriter(&mut out));
        out.unput(b',');
        out.bytes(b"]");
    }
    out.bytes(br#","series":["#);
    each(&mut SeriesWriter(&mut out));
    out.unput(b',');
    out.bytes(b"]");
    out.finish()
}

/// A `declare` line's label texts, unescaped.
pub type Labels = heapless::Vec<String<MAX_TEXT>, MAX_LABELS>;

/// Reads a `declare` line (without its newline): checks it against the catalogue and hands
/// each custom family, in order, to `custom` with its number, then each series, in order, to
/// `series` with its family and label values. Returns its `g`.
///
/// # Errors
/// See the module's documentation; `BadJson` for anything but the shape [`encode_declare`]
/// writes; or what `custom` or `series` returns.
pub fn decode_declare(
    line: &[u8],
    custom: impl FnMut(u16, &Custom<'_>) -> Result<(), DecodeError>,
    mut series: impl FnMut(u16, &[&str]) -> Result<(), DecodeError>,
) -> Result<u32, DecodeError> {
    let mut c = Cursor::new(line);
    c.lit(DECLARE).ok_or(DecodeError::BadJson)?;
    c.lit(br#""g":"#).ok_or(DecodeError::BadJson)?;
    let g = c.u32().ok_or(DecodeError::BadJson)?;
    c.lit(br#","families":"#).ok_or(DecodeError::BadJson)?;
    let mut families = Families::new();
    let mut labels = Labels::new();
    list(&mut c, &mut labels, |family, names| {
        let known = FAMILIES
            .get(usize::from(family))
            .filter(|f| f.source == Source::Agent)
            .ok_or(DecodeError::UnknownFamily(family))?;
        if families.contains(family)
            || known.labels.len() != names.len()
            || known.labels.iter().zip(names).any(|(a, b)| a != b)
        {
            return Err(DecodeError::WrongLabels(family));
        }
        families.insert(family);
        Ok(())
    })?;
    // Each custom family's count of label names, by its place.
    let mut customs: heapless::Vec<u8, MAX_CUSTOM> = heapless::Vec::new();
    if c.lit(br#","custom":"#).is_some() {
        custom_list(&mut c, &mut labels, &mut customs, custom)?;
    }
    c.lit(br#","series":"#).ok_or(DecodeError::BadJson)?;
    list(&mut c, &mut labels, |family, values| {
        let names = match family.checked_sub(CUSTOM_BASE) {
            Some(place) => customs.get(usize::from(place)).map(|&n| usize::from(n)),
            None => families
                .contains(family)
                .then(|| label_names(family).map_or(0, |l| l.len())),
        };
        if names != Some(values.len()) {
            return Err(DecodeError::WrongLabels(family));
        }
        if !values.iter().all(|v| label_text_ok(v)) {
            return Err(DecodeError::BadLabel("series"));
        }
        series(family, values)
    })?;
    c.lit(b"}").ok_or(DecodeError::BadJson)?;
    if !c.is_empty() {
        return Err(DecodeError::BadJson);
    }
    Ok(g)
}

/// `[[n,"name","type","help","label",...],...]`, each entry checked and handed to `each`, its
/// count of label names kept in `customs`.
fn custom_list(
    c: &mut Cursor<'_>,
    labels: &mut Labels,
    customs: &mut heapless::Vec<u8, MAX_CUSTOM>,
    mut each: impl FnMut(u16, &Custom<'_>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let invalid = DecodeError::InvalidValue("custom");
    c.lit(b"[").ok_or(DecodeError::BadJson)?;
    if c.lit(b"]").is_some() {
        return Ok(());
    }
    loop {
        c.lit(b"[").ok_or(DecodeError::BadJson)?;
        let family = c.u16().ok_or(DecodeError::BadJson)?;
        let expected = u16::try_from(customs.len()).map_or(0, |n| CUSTOM_BASE.saturating_add(n));
        if family != expected || customs.is_full() {
            return Err(invalid);
        }
        c.lit(b",").ok_or(DecodeError::BadJson)?;
        let name = string::<MAX_NAME>(c, "custom")?;
        c.lit(b",").ok_or(DecodeError::BadJson)?;
        let kind = string::<16>(c, "custom")?;
        let kind = Kind::from_word(&kind).ok_or(invalid)?;
        c.lit(b",").ok_or(DecodeError::BadJson)?;
        let help = string::<MAX_HELP>(c, "custom")?;
        entry_texts(c, labels, family, "custom")?;
        let texts = as_strs(labels);
        let def = Custom {
            name: &name,
            kind,
            help: &help,
            labels: texts.get(..labels.len()).unwrap_or_default(),
        };
        custom::check(&def).map_err(|fault| match fault {
            Fault::Reserved => DecodeError::UnknownFamily(family),
            Fault::Labels => DecodeError::WrongLabels(family),
            Fault::Help => DecodeError::BadLabel("custom"),
            _ => invalid,
        })?;
        each(family, &def)?;
        // At most MAX_LABELS, checked above; the place was checked before.
        let _ = customs.push(u8::try_from(labels.len()).unwrap_or(u8::MAX));
        if c.lit(b"]").is_some() {
            return Ok(());
        }
        c.lit(b",").ok_or(DecodeError::BadJson)?;
    }
}

/// The `,"text"` items of an entry of `family` up to its `]`, unescaped into `labels`: at most
/// [`MAX_LABELS`] (`WrongLabels` past it); `member` names the list for a text too long.
fn entry_texts(
    c: &mut Cursor<'_>,
    labels: &mut Labels,
    family: u16,
    member: &'static str,
) -> Result<(), DecodeError> {
    labels.clear();
    while c.lit(b",").is_some() {
        let text = string(c, member)?;
        labels
            .push(text)
            .map_err(|_| DecodeError::WrongLabels(family))?;
    }
    c.lit(b"]").ok_or(DecodeError::BadJson)
}

/// `labels` as texts, in the first `labels.len()` places.
fn as_strs(labels: &Labels) -> [&str; MAX_LABELS] {
    let mut texts: [&str; MAX_LABELS] = [""; MAX_LABELS];
    for (slot, text) in texts.iter_mut().zip(labels.iter()) {
        *slot = text.as_str();
    }
    texts
}

/// `[[n,"text",...],...]`, each entry handed to `each` with its texts.
fn list(
    c: &mut Cursor<'_>,
    labels: &mut Labels,
    mut each: impl FnMut(u16, &[&str]) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    c.lit(b"[").ok_or(DecodeError::BadJson)?;
    if c.lit(b"]").is_some() {
        return Ok(());
    }
    loop {
        c.lit(b"[").ok_or(DecodeError::BadJson)?;
        let family = c.u16().ok_or(DecodeError::BadJson)?;
        entry_texts(c, labels, family, "series")?;
        each(
            family,
            as_strs(labels).get(..labels.len()).unwrap_or_default(),
        )?;
        if c.lit(b"]").is_some() {
            return Ok(());
        }
        c.lit(b",").ok_or(DecodeError::BadJson)?;
    }
}

/// A JSON string, unescaped; at most `N` bytes, or `InvalidValue(field)`.
fn string<const N: usize>(
    c: &mut Cursor<'_>,
    field: &'static str,
) -> Result<String<N>, DecodeError> {
    let too_long = DecodeError::InvalidValue(field);
    c.lit(b"\"").ok_or(DecodeError::BadJson)?;
    let mut out = String::new();
    loop {
        let rest = c.rest();
        let plain = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            .ok_or(DecodeError::BadJson)?;
        let (text, after) = rest.split_at(plain);
        let text = core::str::from_utf8(text).map_err(|_| DecodeError::BadUtf8)?;
        out.push_str(text).map_err(|_| too_long)?;
        c.skip(plain);
        match after.first() {
            Some(b'"') => {
                c.skip(1);
                return Ok(out);
            }
            Some(b'\\') => {
                c.skip(1);
                let ch = escape(c)?;
                out.push(ch).map_err(|_| too_long)?;
            }
            _ => return Err(DecodeError::BadJson),
        }
    }
}

/// The character of an escape, after its `\`.
fn escape(c: &mut Cursor<'_>) -> Result<char, DecodeError> {
    let bad = DecodeError::BadJson;
    let first = c.take().ok_or(bad)?;
    Ok(match first {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let high = hex4(c).ok_or(bad)?;
            let code = if (0xd800..0xdc00).contains(&high) {
                c.lit(b"\\u").ok_or(bad)?;
                let low = hex4(c).ok_or(bad)?;
                if !(0xdc00..0xe000).contains(&low) {
                    return Err(bad);
                }
                0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
            } else {
                high
            };
            char::from_u32(code).ok_or(bad)?
        }
        _ => return Err(bad),
    })
}

fn hex4(c: &mut Cursor<'_>) -> Option<u32> {
    let mut n = 0;
    for _ in 0..4 {
        let digit = char::from(c.take()?).to_digit(16)?;
        n = n * 16 + digit;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::{String as StdString, ToString};
    use std::vec::Vec;

    use super::*;
    use crate::sample::{Filesystem, Sample, bounded};
    use crate::wire::Message;
    use crate::wire::vectors::*;

    type Declared = Vec<(u16, Vec<StdString>)>;

    /// The series `Sample::series` gives, but the time.
    fn series_of(sample: &Sample) -> Declared {
        struct Collect(Declared);
        impl Series for Collect {
            fn add(&mut self, family: u16, labels: &[&str], _value: f64) {
                if family != f::TIME {
                    self.0
                        .push((family, labels.iter().map(|l| l.to_string()).collect()));
                }
            }
        }
        let mut out = Collect(Vec::new());
        sample.series(&mut out);
        out.0
    }

    fn decode(line: &[u8]) -> Result<(u32, Declared), DecodeError> {
        decode_all(line).map(|(g, _, series)| (g, series))
    }

    /// A custom family as read: its number, name, type, help and label names.
    type Owned = (u16, StdString, Kind, StdString, Vec<StdString>);

    fn decode_all(line: &[u8]) -> Result<(u32, Vec<Owned>, Declared), DecodeError> {
        let mut customs = Vec::new();
        let mut out = Vec::new();
        let g = decode_declare(
            line,
            |family, def| {
                let labels = def.labels.iter().map(|l| l.to_string()).collect();
                customs.push((family, def.name.into(), def.kind, def.help.into(), labels));
                Ok(())
            },
            |family, labels| {
                out.push((family, labels.iter().map(|l| l.to_string()).collect()));
                Ok(())
            },
        )?;
        Ok((g, customs, out))
    }

    /// Hands over `customs` and `series` (each with the value 0) as an agent would.
    fn encode_all(g: u32, customs: &[Owned], series: &[(u16, Vec<StdString>)]) -> Vec<u8> {
        let mut buf = [0u8; 8192];
        let mut each = |out: &mut dyn Series| {
            for (family, name, kind, help, labels) in customs {
                let labels: Vec<&str> = labels.iter().map(StdString::as_str).collect();
                let def = Custom {
                    name,
                    kind: *kind,
                    help,
                    labels: &labels,
                };
                out.custom(*family, &def);
            }
            for (family, labels) in series {
                let labels: Vec<&str> = labels.iter().map(StdString::as_str).collect();
                out.add(*family, &labels, 0.0);
            }
        };
        let n = encode_declare(g, &mut each, &mut buf).unwrap();
        assert_eq!(buf[n - 1], b'\n');
        buf[..n - 1].to_vec()
    }

    fn encode(g: u32, sample: &Sample) -> Vec<u8> {
        let mut buf = [0u8; 8192];
        let n = encode_declare(g, &mut |out| sample.series(out), &mut buf).unwrap();
        assert_eq!(buf[n - 1], b'\n');
        buf[..n - 1].to_vec()
    }

    #[test]
    fn the_vector_declares_the_documented_sample_and_encodes_back_to_the_same_bytes() {
        let Ok(Message::Sample(m)) = one(SAMPLE) else {
            panic!("the sample vector decodes")
        };
        let (g, declared) = decode(DECLARE_V2).unwrap();
        assert_eq!(g, 1);
        assert_eq!(declared, series_of(&m.sample));
        assert_eq!(encode(1, &m.sample), DECLARE_V2);
    }

    #[test]
    fn the_custom_vector_declares_families_of_the_agents_own_and_encodes_back() {
        let (g, customs, series) = decode_all(DECLARE_CUSTOM_V2).unwrap();
        assert_eq!(g, 2);
        let names: Vec<(u16, &str, Kind, usize)> = customs
            .iter()
            .map(|c| (c.0, c.1.as_str(), c.2, c.4.len()))
            .collect();
        assert_eq!(
            names,
            [
                (CUSTOM_BASE, "backup_age_seconds", Kind::Gauge, 1),
                (CUSTOM_BASE + 1, "raid_degraded", Kind::Untyped, 1),
            ]
        );
        assert_eq!(
            customs[1].3,
            "Metric read from /var/lib/vitals/textfile/raid.prom"
        );
        let families: Vec<u16> = series.iter().map(|s| s.0).collect();
        assert_eq!(families, [1, CUSTOM_BASE, CUSTOM_BASE, CUSTOM_BASE + 1]);
        assert_eq!(series[2].1, ["/srv"]);
        assert_eq!(encode_all(g, &customs, &series), DECLARE_CUSTOM_V2);
        // Its values line is an ordinary one, a value for each series.
        let mut values = 0;
        let header = super::super::decode_values(VALUES_CUSTOM_V2, |_| {
            values += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!((header.g, values), (g, series.len()));
    }

    #[test]
    fn without_custom_families_the_line_is_the_one_before_them() {
        let (g, customs, series) = decode_all(DECLARE_V2).unwrap();
        assert!(customs.is_empty());
        assert_eq!(encode_all(g, &[], &series), DECLARE_V2);
        assert!(!DECLARE_V2.windows(8).any(|w| w == b"\"custom\""));
        // An empty list reads as none.
        let empty =
            br#"{"v":2,"kind":"declare","g":1,"families":[[1]],"custom":[],"series":[[1]]}"#;
        assert_eq!(
            decode_all(empty),
            Ok((1, Vec::new(), [(1, Vec::new())].into()))
        );
    }

    #[test]
    fn custom_texts_are_escaped_and_read_back() {
        let customs = [(
            CUSTOM_BASE,
            "job_result".to_string(),
            Kind::Counter,
            "Say \"done\" \\ café 🦀".to_string(),
            ["task".to_string(), "host_name".to_string()].to_vec(),
        )];
        let series = [(
            CUSTOM_BASE,
            ["a \"quoted\" \\ one".to_string(), "".to_string()].to_vec(),
        )];
        let line = encode_all(9, &customs, &series);
        assert_eq!(
            decode_all(&line),
            Ok((9, customs.to_vec(), series.to_vec()))
        );
    }

    #[test]
    fn label_texts_read_back_whatever_they_hold() {
        let mut sample: Sample = Sample::default();
        for (i, text) in [
            "/mnt/my \"disk\"",
            "C:\\temp",
            "café",
            "🦀 / ∑",
            "",
            "a/b",
            "\u{7ff}\u{800}\u{ffff}",
        ]
        .iter()
        .enumerate()
        {
            let _ = sample.filesystems.push(Filesystem {
                device: bounded(&std::format!("dev{i}")),
                fstype: bounded("ext4"),
                mountpoint: bounded(text),
                ..Filesystem::default()
            });
        }
        let line = encode(u32::MAX, &sample);
        let (g, declared) = decode(&line).unwrap();
        assert_eq!(g, u32::MAX);
        assert_eq!(declared, series_of(&sample));
        // Escapes a sender may choose, also for characters it need not escape.
        let escaped = br#"{"v":2,"kind":"declare","g":2,"families":[[11,"device","fstype","mountpoint"]],"series":[[11,"\/dev\/sda","\u0065xt4","caf\u00e9 \ud83e\udd80 \"\\"]]}"#;
        let (_, declared) = decode(escaped).unwrap();
        assert_eq!(declared[0].1, ["/dev/sda", "ext4", "café 🦀 \"\\"]);
    }

    #[test]
    fn each_fault_has_its_own_error() {
        let cases: &[(&[u8], DecodeError)] = &[
            // Not in the catalogue, and the server's own.
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[9999]],"series":[]}"#,
                DecodeError::UnknownFamily(9999),
            ),
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[57]],"series":[[57]]}"#,
                DecodeError::UnknownFamily(57),
            ),
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[28]],"series":[[28]]}"#,
                DecodeError::UnknownFamily(28),
            ),
            // Label names: other, fewer, more, twice.
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[0,"cpu","state"]],"series":[]}"#,
                DecodeError::WrongLabels(0),
            ),
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[0,"cpu"]],"series":[]}"#,
                DecodeError::WrongLabels(0),
            ),
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[1,"x"]],"series":[]}"#,
                DecodeError::WrongLabels(1),
            ),
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[1],[1]],"series":[]}"#,
                DecodeError::WrongLabels(1),
            ),
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[0,"a","b","c","d","e","f","g","h","i"]],"series":[]}"#,
                DecodeError::WrongLabels(0),
            ),
            // A series of a family not declared, or with another count of values.
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[1]],"series":[[2]]}"#,
                DecodeError::WrongLabels(2),
            ),
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[0,"cpu","mode"]],"series":[[0,"0"]]}"#,
                DecodeError::WrongLabels(0),
            ),
            // Texts.
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[17,"device"]],"series":[[17,"a\nb"]]}"#,
                DecodeError::BadLabel("series"),
            ),
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[17,"device"]],"series":[[17,"a\u2028b"]]}"#,
                DecodeError::BadLabel("series"),
            ),
            (
                b"{\"v\":2,\"kind\":\"declare\",\"g\":1,\"families\":[[17,\"device\"]],\"series\":[[17,\"a\x01b\"]]}",
                DecodeError::BadJson,
            ),
            (
                b"{\"v\":2,\"kind\":\"declare\",\"g\":1,\"families\":[[17,\"device\"]],\"series\":[[17,\"\xff\"]]}",
                DecodeError::BadUtf8,
            ),
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[17,"device"]],"series":[[17,"\ud800"]]}"#,
                DecodeError::BadJson,
            ),
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[17,"device"]],"series":[[17,"\x"]]}"#,
                DecodeError::BadJson,
            ),
            // Shape.
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[1]],"series":[[1]]} "#,
                DecodeError::BadJson,
            ),
            (
                br#"{"v":2,"kind":"declare","g":1,"series":[[1]],"families":[[1]]}"#,
                DecodeError::BadJson,
            ),
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[1]],"series":[[1],]}"#,
                DecodeError::BadJson,
            ),
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[1]],"series":[[1]"#,
                DecodeError::BadJson,
            ),
            (
                br#"{"v":2,"kind":"declare","g":1,"families":[[65536]],"series":[]}"#,
                DecodeError::BadJson,
            ),
        ];
        for (line, error) in cases {
            assert_eq!(
                decode(line).map(|_| ()),
                Err(*error),
                "{}",
                line.escape_ascii()
            );
        }
        let custom = |custom: &str, series: &str| {
            std::format!(
                r#"{{"v":2,"kind":"declare","g":1,"families":[],"custom":[{custom}],"series":[{series}]}}"#
            )
        };
        let cases: &[(StdString, DecodeError)] = &[
            // A name of vitals' own: a family that cannot be declared here.
            (
                custom(r#"[32768,"node_load1","gauge",""]"#, ""),
                DecodeError::UnknownFamily(CUSTOM_BASE),
            ),
            (
                custom(
                    r#"[32768,"a","gauge",""],[32769,"vitals_x","gauge",""]"#,
                    "",
                ),
                DecodeError::UnknownFamily(CUSTOM_BASE + 1),
            ),
            (
                custom(r#"[32768,"up","counter",""]"#, ""),
                DecodeError::UnknownFamily(CUSTOM_BASE),
            ),
            // Label names.
            (
                custom(r#"[32768,"a","gauge","","instance"]"#, ""),
                DecodeError::WrongLabels(CUSTOM_BASE),
            ),
            (
                custom(r#"[32768,"a","gauge","","x","x"]"#, ""),
                DecodeError::WrongLabels(CUSTOM_BASE),
            ),
            (
                custom(r#"[32768,"a","gauge","","__x"]"#, ""),
                DecodeError::WrongLabels(CUSTOM_BASE),
            ),
            (
                custom(
                    r#"[32768,"a","gauge","","a","b","c","d","e","f","g","h","i"]"#,
                    "",
                ),
                DecodeError::WrongLabels(CUSTOM_BASE),
            ),
            // Series of a custom family: its count of labels, and declared.
            (
                custom(r#"[32768,"a","gauge","","x"]"#, r#"[32768]"#),
                DecodeError::WrongLabels(CUSTOM_BASE),
            ),
            (
                custom(r#"[32768,"a","gauge",""]"#, r#"[32769]"#),
                DecodeError::WrongLabels(CUSTOM_BASE + 1),
            ),
            (
                custom(r#"[32768,"a","gauge","","x"]"#, r#"[32768,"\u001b"]"#),
                DecodeError::BadLabel("series"),
            ),
            // A help text with a control character.
            (
                custom(r#"[32768,"a","gauge","two\nlines"]"#, ""),
                DecodeError::BadLabel("custom"),
            ),
            // Name, type, number, length.
            (
                custom(r#"[32768,"a-b","gauge",""]"#, ""),
                DecodeError::InvalidValue("custom"),
            ),
            (
                custom(r#"[32768,"a","histogram",""]"#, ""),
                DecodeError::InvalidValue("custom"),
            ),
            (
                custom(r#"[32768,"a","Gauge",""]"#, ""),
                DecodeError::InvalidValue("custom"),
            ),
            (
                custom(r#"[32769,"a","gauge",""]"#, ""),
                DecodeError::InvalidValue("custom"),
            ),
            (
                custom(r#"[32768,"a","gauge",""],[32768,"b","gauge",""]"#, ""),
                DecodeError::InvalidValue("custom"),
            ),
            (
                custom(
                    &std::format!(r#"[32768,"a","gauge","{}"]"#, "h".repeat(MAX_HELP + 1)),
                    "",
                ),
                DecodeError::InvalidValue("custom"),
            ),
            (
                custom(
                    &std::format!(r#"[32768,"{}","gauge",""]"#, "n".repeat(MAX_NAME + 1)),
                    "",
                ),
                DecodeError::InvalidValue("custom"),
            ),
            // Shape: a family number in `families`, the member out of place, a short entry.
            (
                r#"{"v":2,"kind":"declare","g":1,"families":[[32768]],"series":[]}"#.to_string(),
                DecodeError::UnknownFamily(CUSTOM_BASE),
            ),
            (
                r#"{"v":2,"kind":"declare","g":1,"custom":[],"families":[],"series":[]}"#
                    .to_string(),
                DecodeError::BadJson,
            ),
            (
                r#"{"v":2,"kind":"declare","g":1,"families":[],"series":[],"custom":[]}"#
                    .to_string(),
                DecodeError::BadJson,
            ),
            (custom(r#"[32768,"a","gauge"]"#, ""), DecodeError::BadJson),
            (custom(r#"[32768,"a",1,""]"#, ""), DecodeError::BadJson),
        ];
        for (line, error) in cases {
            assert_eq!(decode(line.as_bytes()).map(|_| ()), Err(*error), "{line}");
        }
        // As many as allowed, and one more.
        let many = |n: usize| {
            let entries: Vec<StdString> = (0..n)
                .map(|i| std::format!(r#"[{},"m{i}","gauge",""]"#, usize::from(CUSTOM_BASE) + i))
                .collect();
            custom(&entries.join(","), "")
        };
        assert_eq!(
            decode_all(many(MAX_CUSTOM).as_bytes()).map(|r| r.1.len()),
            Ok(MAX_CUSTOM)
        );
        assert_eq!(
            decode(many(MAX_CUSTOM + 1).as_bytes()).map(|_| ()),
            Err(DecodeError::InvalidValue("custom"))
        );
        let long = std::format!(
            r#"{{"v":2,"kind":"declare","g":1,"families":[[17,"device"]],"series":[[17,"{}"]]}}"#,
            "x".repeat(MAX_TEXT + 1)
        );
        assert_eq!(
            decode(long.as_bytes()).map(|_| ()),
            Err(DecodeError::InvalidValue("series"))
        );
        // Nothing at all is a declaration of no series.
        assert_eq!(
            decode(br#"{"v":2,"kind":"declare","g":3,"families":[],"series":[]}"#),
            Ok((3, Vec::new()))
        );
    }
}
