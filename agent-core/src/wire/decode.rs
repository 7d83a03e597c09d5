//! Decoding: one line into a checked message, by the fastest reader that takes it. A sample
//! written as [`encode`](fn@super::encode) writes it goes to `fast.rs`, a server's line that the
//! agent reads to `flat.rs`, anything else to serde-json-core, the reference; `series.rs` then
//! checks what becomes a label. [`Check`] is what a sample type brings to this.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::framer::find_newline;
use super::{
    Ack, DecodeError, Hello, MAX_DEPTH, MAX_INTERVAL_MS, MAX_LINE, MAX_TEXT, Message, PROTOCOL_V2,
    PROTOCOL_VERSION, SampleMessage, ServerLine, ServerMessage, fast, flat, series, valid_id,
};
use crate::sample::Sample;

/// Reads the first line of `buf` as a message.
///
/// Returns the message and the bytes consumed, newline included. A line may end in `\r\n`.
///
/// # Errors
/// [`DecodeError::Incomplete`] when `buf` holds no newline and is not over [`MAX_LINE`] (read
/// more and call again); [`DecodeError::LineTooLong`] when it is; any other variant when the
/// first line is not a valid message (skip the consumed bytes given by the newline and go on).
pub fn decode<S: DeserializeOwned + Check>(buf: &[u8]) -> Result<(Message<S>, usize), DecodeError> {
    match find_newline(buf) {
        Some(end) if end > MAX_LINE => Err(DecodeError::LineTooLong),
        Some(end) => {
            let line = buf.get(..end).unwrap_or_default();
            decode_line(line).map(|m| (m, end + 1))
        }
        None if buf.len() > MAX_LINE => Err(DecodeError::LineTooLong),
        None => Err(DecodeError::Incomplete),
    }
}

/// What a sample type must check after parsing; see [`Sample::check`].
pub trait Check {
    /// # Errors
    /// Returns the name of the first field that is out of range.
    fn check(&self) -> Result<(), &'static str>;

    /// Checks that every text that becomes a label passes
    /// [`label_text_ok`](crate::sample::label_text_ok). A type without labels has nothing to
    /// check. Not called for what [`parse_fast`](Check::parse_fast) read: it reads only texts of
    /// printable ASCII, which pass.
    ///
    /// # Errors
    /// [`DecodeError::BadLabel`].
    fn check_labels(&self) -> Result<(), DecodeError> {
        Ok(())
    }

    /// Checks that no series is named twice. A type without labels has nothing to check.
    ///
    /// # Errors
    /// [`DecodeError::DuplicateSeries`].
    fn check_unique(&self) -> Result<(), DecodeError> {
        Ok(())
    }

    /// Reads a `sample` line written exactly as [`encode`](fn@super::encode) writes it, its texts printable ASCII,
    /// faster than the general parser; `None` leaves the line to the general parser.
    fn parse_fast(_line: &[u8]) -> Option<SampleMessage<Self>>
    where
        Self: Sized,
    {
        None
    }

    /// As [`parse_fast`](Check::parse_fast), into `out` rather than by value; `false` leaves the
    /// line to the general parser and `out` with unspecified (valid) contents.
    fn parse_fast_into(line: &[u8], out: &mut SampleMessage<Self>) -> bool
    where
        Self: Sized,
    {
        Self::parse_fast(line)
            .map(|message| *out = message)
            .is_some()
    }
}

impl<const C: usize, const F: usize, const N: usize, const T: usize, const D: usize> Check
    for Sample<C, F, N, T, D>
{
    fn check(&self) -> Result<(), &'static str> {
        Sample::check(self)
    }

    fn check_labels(&self) -> Result<(), DecodeError> {
        series::check_labels(self)
    }

    fn check_unique(&self) -> Result<(), DecodeError> {
        series::check_unique(self)
    }

    fn parse_fast(line: &[u8]) -> Option<SampleMessage<Self>> {
        let mut message = SampleMessage::default();
        fast::sample_into(line, &mut message).map(|()| message)
    }

    fn parse_fast_into(line: &[u8], out: &mut SampleMessage<Self>) -> bool {
        fast::sample_into(line, out).is_some()
    }
}

#[derive(Deserialize)]
struct Header<'a> {
    v: u32,
    kind: &'a str,
}

/// Reads one line, without its newline, as a message.
///
/// # Errors
/// Any [`DecodeError`] but `Incomplete` and `LineTooLong`.
pub fn decode_line<S: DeserializeOwned + Check>(line: &[u8]) -> Result<Message<S>, DecodeError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // A sample exactly as `encode` writes it: the fast reader accepts only ASCII outside
    // checked UTF-8 strings and nests four deep, so the checks below would pass; skip them.
    if fast_header(line).is_some_and(|h| h.v == PROTOCOL_VERSION && h.kind == "sample") {
        if let Some(sample) = S::parse_fast(line) {
            return checked_sample(sample, Read::Fast);
        }
    }
    let header = checked_header(line)?;
    let message = match header.kind {
        "hello" => {
            let hello: Hello = parse(line)?;
            if !valid_id(&hello.id) {
                return Err(DecodeError::InvalidValue("id"));
            }
            if hello.interval_ms == 0 || hello.interval_ms > MAX_INTERVAL_MS {
                return Err(DecodeError::InvalidValue("interval_ms"));
            }
            series::check_hello(&hello)?;
            Message::Hello(hello)
        }
        "welcome" => Message::Welcome(parse(line)?),
        "sample" => return checked_sample(parse(line)?, Read::General),
        "ack" => Message::Ack(parse(line)?),
        "error" => Message::Error(parse(line)?),
        "challenge" => Message::Challenge(parse(line)?),
        "auth" => Message::Auth(parse(line)?),
        _ => return Err(DecodeError::UnknownKind),
    };
    Ok(message)
}

/// As [`decode_line`], for a caller that keeps its samples on the heap and reuses their storage:
/// a `sample` line is read into `sample` (the sample is never moved, and is about 12 KB by
/// default) and the answer is `Ok(None)`; any other message is `Ok(Some(message))`, never a
/// [`Message::Sample`]. After an error, or another kind of message, `sample` holds unspecified
/// (valid) contents.
///
/// # Errors
/// As [`decode_line`].
pub fn decode_line_into<S: DeserializeOwned + Check>(
    line: &[u8],
    sample: &mut SampleMessage<S>,
) -> Result<Option<Message<S>>, DecodeError> {
    let stripped = line.strip_suffix(b"\r").unwrap_or(line);
    // The same shortcut as `decode_line`'s, with the same checks.
    if fast_header(stripped).is_some_and(|h| h.v == PROTOCOL_VERSION && h.kind == "sample")
        && S::parse_fast_into(stripped, sample)
    {
        return check_sample(sample, Read::Fast).map(|()| None);
    }
    match decode_line(line)? {
        Message::Sample(decoded) => {
            *sample = decoded;
            Ok(None)
        }
        other => Ok(Some(other)),
    }
}

/// The protocol version a line says it speaks, read from its start as every version writes it
/// (`{"v":2,`); `None` when it does not start so.
pub fn version_of(line: &[u8]) -> Option<u32> {
    let rest = line.strip_prefix(br#"{"v":"#)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 9 || rest.get(digits) != Some(&b',') {
        return None;
    }
    core::str::from_utf8(rest.get(..digits)?).ok()?.parse().ok()
}

/// Reads one line from a server, without its newline.
///
/// # Errors
/// As [`decode_line`]; [`DecodeError::UnknownKind`] also for the kinds only agents send.
pub fn decode_server_line(line: &[u8]) -> Result<ServerMessage, DecodeError> {
    let mut message = ServerMessage::Ack(Ack::default());
    flat::read(checked_server_line(line)?, &mut message)?;
    Ok(message)
}

/// Reads one line from a server, without its newline, as the agent acts on it: as
/// [`decode_server_line`] reads it, with the same reader, but without the texts other than an
/// error's code.
pub(crate) fn read_server_line(line: &[u8]) -> Result<ServerLine, DecodeError> {
    flat::server_line(checked_server_line(line)?)
}

/// A server line without its `\r`, once it is known to be UTF-8 and to nest within bounds.
fn checked_server_line(line: &[u8]) -> Result<&[u8], DecodeError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    core::str::from_utf8(line).map_err(|_| DecodeError::BadUtf8)?;
    check_depth(line)?;
    Ok(line)
}

/// The header of a line that is UTF-8, nests within bounds and speaks our version.
fn checked_header(line: &[u8]) -> Result<Header<'_>, DecodeError> {
    core::str::from_utf8(line).map_err(|_| DecodeError::BadUtf8)?;
    check_depth(line)?;
    let header = match fast_header(line) {
        Some(header) => header,
        None => {
            serde_json_core::from_slice::<Header<'_>>(line)
                .map_err(|_| DecodeError::BadJson)?
                .0
        }
    };
    // In v2 every message but the sample is v1's but for its `v`; the lines that replace the
    // sample are read by `decode_values` and `decode_declare`.
    let v2 = header.v == PROTOCOL_V2 && header.kind != "sample";
    if header.v != PROTOCOL_VERSION && !v2 {
        return Err(DecodeError::UnsupportedVersion);
    }
    Ok(header)
}

/// Which reader read a sample.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    /// [`Check::parse_fast`]: its texts are printable ASCII, which any label may hold.
    Fast,
    /// serde-json-core: its texts may hold anything.
    General,
}

/// A sample message, once its values are checked.
fn checked_sample<S: Check>(
    sample: SampleMessage<S>,
    read: Read,
) -> Result<Message<S>, DecodeError> {
    check_sample(&sample, read)?;
    Ok(Message::Sample(sample))
}

/// Checks what a sample message's JSON cannot say.
fn check_sample<S: Check>(sample: &SampleMessage<S>, read: Read) -> Result<(), DecodeError> {
    if sample.seq == 0 {
        return Err(DecodeError::InvalidValue("seq"));
    }
    sample.sample.check().map_err(DecodeError::InvalidValue)?;
    if read == Read::General {
        sample.sample.check_labels()?;
    }
    sample.sample.check_unique()
}

/// The header of a line that starts as [`encode`](fn@super::encode) writes it, `{"v":<digits>,"kind":"<kind>",`,
/// read without parsing the rest. `None` for any other start: the caller then parses the whole
/// line for it, and the full parse of the body checks the JSON either way.
fn fast_header(line: &[u8]) -> Option<Header<'_>> {
    let rest = line.strip_prefix(br#"{"v":"#)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let (number, rest) = rest.split_at(digits);
    let v = core::str::from_utf8(number).ok()?.parse().ok()?;
    let rest = rest.strip_prefix(br#","kind":""#)?;
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    let (kind, after) = rest.split_at(end);
    // A kind with an escape in it, or that does not end the field, goes the slow way.
    if !matches!(after, [b'"', b',' | b'}', ..]) {
        return None;
    }
    Some(Header {
        v,
        kind: core::str::from_utf8(kind).ok()?,
    })
}

// Never inlined: each kind's parser then has a stack frame of its own, and a reader's deepest
// frame is the largest of them, not their sum.
#[inline(never)]
fn parse<T: DeserializeOwned>(line: &[u8]) -> Result<T, DecodeError> {
    let mut unescaped = [0u8; MAX_TEXT * 2];
    serde_json_core::from_slice_escaped::<T>(line, &mut unescaped)
        .map(|(value, _)| value)
        .map_err(|_| DecodeError::BadJson)
}

/// Refuses a line whose objects and arrays nest deeper than [`MAX_DEPTH`], before the recursive
/// parser sees it.
fn check_depth(line: &[u8]) -> Result<(), DecodeError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in line {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(DecodeError::TooDeep);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::borrow::ToOwned;
    use std::string::{String, ToString};

    use super::*;
    use crate::sample::{Cpu, Sample};
    use crate::wire::vectors::*;
    use crate::wire::{Ack, codes, encode};

    #[test]
    fn the_agent_side_decodes_what_servers_send_and_nothing_else() {
        for (line, kind) in [
            (WELCOME, "welcome"),
            (ACK, "ack"),
            (ERROR, "error"),
            (CHALLENGE, "challenge"),
        ] {
            let message = decode_server_line(line).unwrap();
            assert_eq!(message.kind(), kind);
            // The same as the general decoder reads.
            let general = decode_line::<Sample>(line).unwrap();
            let same = match (&message, &general) {
                (ServerMessage::Welcome(a), Message::Welcome(b)) => a == b,
                (ServerMessage::Ack(a), Message::Ack(b)) => a == b,
                (ServerMessage::Error(a), Message::Error(b)) => a == b,
                (ServerMessage::Challenge(a), Message::Challenge(b)) => a == b,
                _ => false,
            };
            assert!(same, "{kind}");
        }
        for line in [HELLO, SAMPLE, AUTH] {
            assert_eq!(decode_server_line(line), Err(DecodeError::UnknownKind));
        }
        // A server answers a v2 agent in v2: the same messages.
        assert_eq!(
            decode_server_line(br#"{"v":2,"kind":"ack","seq":1}"#),
            Ok(ServerMessage::Ack(Ack { seq: 1 }))
        );
        assert_eq!(
            decode_server_line(br#"{"v":3,"kind":"ack","seq":1}"#),
            Err(DecodeError::UnsupportedVersion)
        );
        assert_eq!(decode_server_line(b"\xff"), Err(DecodeError::BadUtf8));
    }

    #[test]
    fn a_hello_says_what_its_session_sent_before_and_an_older_one_means_nothing() {
        let Message::Hello(again) = one(HELLO_AGAIN).unwrap() else {
            panic!("not hello")
        };
        assert_eq!((again.ack_every, again.last_sent), (8, 41));
        let Message::Hello(first) = one(HELLO).unwrap() else {
            panic!("not hello")
        };
        assert_eq!(first.last_sent, 0);
    }

    #[test]
    fn a_sample_decodes_to_its_values() {
        let Message::Sample(m) = one(SAMPLE).unwrap() else {
            panic!("not a sample")
        };
        assert_eq!((m.seq, m.dropped), (1, 0));
        assert_eq!(
            m.sample.cpus[0],
            Cpu {
                cpu: 0,
                user: 10.5,
                system: 3.25,
                idle: 100.0,
                iowait: 0.5,
                softirq: 0.01,
                ..Cpu::default()
            }
        );
        assert_eq!(m.sample.interfaces[0].device.as_str(), "eth0");
        assert_eq!(m.sample.memory.available, 768);
    }

    #[test]
    fn a_sample_without_the_newer_fields_decodes_with_them_empty() {
        let Message::Sample(m) = one(SAMPLE_WITHOUT_DISKS).unwrap() else {
            panic!("not a sample")
        };
        assert!(m.sample.disks.is_empty());
        assert_eq!(m.sample.pressure, None);
        assert_eq!(m.sample.omitted.disks, 0);
    }

    #[test]
    fn escaped_strings_are_unescaped_and_escaped_again() {
        let Message::Hello(hello) = one(HELLO_ESCAPED).unwrap() else {
            panic!("not hello")
        };
        assert_eq!(hello.kernel_version.as_str(), "say \"hi\" café");
        let mut buf = [0u8; 1024];
        let n = encode(&Message::<Sample>::Hello(hello.clone()), &mut buf).unwrap();
        assert_eq!(one(&buf[..n - 1]).unwrap(), Message::Hello(hello));
    }

    #[test]
    fn each_kind_of_bad_line_has_its_own_error() {
        assert_eq!(one(FUTURE_VERSION), Err(DecodeError::UnsupportedVersion));
        // v2 has no `sample`: its `values` replace it.
        assert_eq!(
            one(br#"{"v":2,"kind":"sample","seq":1}"#),
            Err(DecodeError::UnsupportedVersion)
        );
        assert_eq!(one(UNKNOWN_KIND), Err(DecodeError::UnknownKind));
        assert_eq!(one(GARBAGE), Err(DecodeError::BadJson));
        assert_eq!(one(BAD_UTF8), Err(DecodeError::BadUtf8));
        assert_eq!(one(NEGATIVE_CPU), Err(DecodeError::InvalidValue("cpus")));
        assert_eq!(one(BAD_ID), Err(DecodeError::InvalidValue("id")));
        assert_eq!(one(br#"{"v":1,"kind":"ack"}"#), Err(DecodeError::BadJson));
        assert_eq!(
            one(br#"{"v":1,"kind":"ack","seq":1} trailing"#),
            Err(DecodeError::BadJson)
        );
    }

    #[test]
    fn a_label_text_with_a_control_character_is_refused_raw_or_escaped() {
        let text = core::str::from_utf8(SAMPLE).unwrap();
        // Raw (a U+2028, DEL or C1 control needs no escape in JSON) or escaped, the fast reader
        // leaves the line to the general parser, which refuses it.
        for device in [
            "eth\u{2028}0",
            "eth\u{7f}",
            "eth\u{85}",
            r"eth\u0000",
            r"eth\t0",
            r"eth\u001b[31m",
            r"eth\u2029",
        ] {
            let line = text.replace(
                r#""device":"eth0""#,
                &std::format!(r#""device":"{device}""#),
            );
            assert!(<Sample>::parse_fast(line.as_bytes()).is_none(), "{device}");
            assert_eq!(
                one(line.as_bytes()),
                Err(DecodeError::BadLabel("interfaces.device")),
                "{device}"
            );
        }
        // Other characters are not: a space, quotes, a backslash, any other Unicode (which
        // the fast reader also leaves to the general parser).
        for device in ["é ✓", r#"\"0\" \\"#, "~ !#$%&'()*+,-./:;<=>?@[]^`{|}"] {
            let line = text.replace(
                r#""device":"eth0""#,
                &std::format!(r#""device":"{device}""#),
            );
            assert!(one(line.as_bytes()).is_ok(), "{device}");
        }
        let printable = text.replace(
            r#""device":"eth0""#,
            r#""device":"~ !#$%&'()*+,-./:;<=>?@[]^`{|}""#,
        );
        assert!(<Sample>::parse_fast(printable.as_bytes()).is_some());
        assert_eq!(one(HELLO_BAD_LABEL), Err(DecodeError::BadLabel("hostname")));
        assert_eq!(DecodeError::BadLabel("hostname").code(), codes::BAD_LABEL);
    }

    #[test]
    fn a_sample_naming_a_series_twice_is_refused_fast_or_slow() {
        let text = core::str::from_utf8(SAMPLE).unwrap();
        let cpu = r#"{"cpu":0,"user":10.5,"nice":0.0,"system":3.25,"idle":100.0,"iowait":0.5,"irq":0.0,"softirq":0.01,"steal":0.0}"#;
        let twice = text.replace(cpu, &std::format!("{cpu},{cpu}"));
        assert!(<Sample>::parse_fast(twice.as_bytes()).is_some());
        assert_eq!(
            one(twice.as_bytes()),
            Err(DecodeError::DuplicateSeries("cpus"))
        );
        let spaced = twice.replace(r#""cpus":["#, r#""cpus": ["#);
        assert!(<Sample>::parse_fast(spaced.as_bytes()).is_none());
        assert_eq!(
            one(spaced.as_bytes()),
            Err(DecodeError::DuplicateSeries("cpus"))
        );
        // The same device escaped differently is the same series.
        let disk =
            &text[text.find(r#"{"device":"sda""#).unwrap()..text.find(r#"],"pressure""#).unwrap()];
        let again = disk.replace(r#""sda""#, r#""\u0073da""#);
        let twice = text.replace(disk, &std::format!("{disk},{again}"));
        assert_eq!(
            one(twice.as_bytes()),
            Err(DecodeError::DuplicateSeries("disks"))
        );
        // Another CPU number is another series.
        let other = cpu.replace(r#""cpu":0"#, r#""cpu":1"#);
        let two = text.replace(cpu, &std::format!("{cpu},{other}"));
        assert!(one(two.as_bytes()).is_ok());
        assert_eq!(
            DecodeError::DuplicateSeries("cpus").code(),
            codes::DUPLICATE_SERIES
        );
    }

    #[test]
    fn a_hello_may_declare_an_interval_of_up_to_an_hour() {
        assert_eq!(
            one(HELLO_INTERVAL_TOO_LONG),
            Err(DecodeError::InvalidValue("interval_ms"))
        );
        let text = core::str::from_utf8(HELLO).unwrap();
        let hour = text.replace(r#""interval_ms":10000"#, r#""interval_ms":3600000"#);
        let Ok(Message::Hello(hello)) = one(hour.as_bytes()) else {
            panic!("an hour is allowed")
        };
        assert_eq!(hello.interval_ms, MAX_INTERVAL_MS);
    }

    #[test]
    fn the_header_is_read_the_same_fast_or_slow() {
        for line in [
            HELLO,
            WELCOME,
            ACK,
            ERROR,
            SAMPLE,
            FUTURE_VERSION,
            UNKNOWN_KIND,
        ] {
            let fast = fast_header(line).expect("our own lines take the fast way");
            let (slow, _) = serde_json_core::from_slice::<Header<'_>>(line).unwrap();
            assert_eq!((fast.v, fast.kind), (slow.v, slow.kind));
        }
        // Other spellings of the same header take the slow way, and decode the same.
        for line in [
            &br#"{ "v":1,"kind":"ack","seq":7}"#[..],
            br#"{"kind":"ack","v":1,"seq":7}"#,
            br#"{"v":1,"kind":"a\u0063k","seq":7}"#,
            br#"{"v":01,"kind":"ack","seq":7}"#,
        ] {
            assert!(
                fast_header(line).is_none() || line.starts_with(br#"{"v":01"#),
                "{line:?}"
            );
        }
        assert_eq!(
            one(br#"{"kind":"ack","v":1,"seq":7}"#),
            Ok(Message::Ack(Ack { seq: 7 }))
        );
        assert_eq!(
            one(br#"{"v":1,"kind":"ack"x,"seq":7}"#),
            Err(DecodeError::BadJson)
        );
        assert_eq!(one(br#"{"v":1,"kind":"ack""#), Err(DecodeError::BadJson));
    }

    #[test]
    fn decode_line_into_reads_samples_in_place_and_says_the_same_as_decode_line() {
        // A used box: every line must overwrite what an earlier sample left.
        let mut slot: SampleMessage<Sample> = match decode_line::<Sample>(SAMPLE) {
            Ok(Message::Sample(s)) => s,
            other => panic!("{other:?}"),
        };
        let (cr, crcr) = ([SAMPLE, b"\r"].concat(), [SAMPLE, b"\r\r"].concat());
        for line in [
            SAMPLE,
            SAMPLE_WITHOUT_DISKS,
            HELLO,
            ACK,
            NEGATIVE_CPU,
            GARBAGE,
            &cr,
            &crcr,
        ] {
            let into = decode_line_into::<Sample>(line, &mut slot);
            match (decode_line::<Sample>(line), into) {
                (Ok(Message::Sample(expected)), Ok(None)) => assert_eq!(slot, expected),
                (Ok(expected), Ok(Some(other))) => assert_eq!(other, expected),
                (Err(expected), Err(error)) => assert_eq!(error, expected),
                (expected, got) => panic!("decode_line {expected:?}, decode_line_into {got:?}"),
            }
        }
    }

    #[test]
    fn the_fast_sample_reader_agrees_with_the_general_parser() {
        let mut unescaped = [0u8; MAX_TEXT * 2];
        let general = |line: &[u8], buf: &mut [u8]| {
            serde_json_core::from_slice_escaped::<SampleMessage<Sample>>(line, buf)
                .ok()
                .map(|(m, _)| m)
        };
        let fast = <Sample>::parse_fast(SAMPLE).expect("our own encoding takes the fast way");
        assert_eq!(Some(fast), general(SAMPLE, &mut unescaped));
        // Lines the fast reader leaves alone: other spellings, escapes, leading zeros, nulls.
        let text = core::str::from_utf8(SAMPLE).unwrap();
        let variants = [
            text.replace(r#""seq":1,"#, r#""seq":01,"#),
            text.replace(r#""seq":1,"#, r#""seq": 1,"#),
            text.replace(r#""device":"eth0""#, r#""device":"et\u0068\u0030""#),
            text.replace(r#""load1":0.5"#, r#""load1":null"#),
            text.replace(r#""pressure":{"#, r#""pressure" :{"#),
            text.replace(r#""up":true"#, r#""up":1"#),
            text.to_owned() + " x",
        ];
        for v in &variants {
            assert!(<Sample>::parse_fast(v.as_bytes()).is_none(), "{v}");
            // And the general parser decides them as before.
            let _ = decode_line::<Sample>(v.as_bytes());
        }
        assert_eq!(
            decode_line::<Sample>(variants[2].as_bytes()).map(|m| match m {
                Message::Sample(s) => s.sample.interfaces[0].device.to_string(),
                _ => String::new(),
            }),
            Ok("eth0".into())
        );
        assert_eq!(
            decode_line::<Sample>(variants[0].as_bytes()),
            Err(DecodeError::BadJson)
        );
        assert!(
            <Sample>::parse_fast(SAMPLE_WITHOUT_DISKS).is_none(),
            "older agents take the general way"
        );
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let mut deep = [b'['; 5000];
        deep[0] = b'{';
        assert_eq!(one(&deep), Err(DecodeError::TooDeep));
        // Brackets inside strings do not count.
        assert!(
            one(br#"{"v":1,"kind":"error","code":"x","message":"[[[[[[[[[[[[[[[[[[[[[["}"#).is_ok()
        );
    }

    #[test]
    fn decode_reports_consumed_bytes_and_incomplete_lines() {
        let mut two = heapless::Vec::<u8, 256>::new();
        two.extend_from_slice(&line(ACK)).unwrap();
        two.extend_from_slice(&line(ACK)).unwrap();
        let (m, used) = decode::<Sample>(&two).unwrap();
        assert_eq!(m, Message::Ack(Ack { seq: 7 }));
        assert_eq!(used, ACK.len() + 1);
        assert_eq!(decode::<Sample>(ACK), Err(DecodeError::Incomplete));
    }
}
