//! `wire`: the vitals protocol, bytes to messages and back.
//!
//! One message per line: a JSON object in UTF-8 ending in `\n`, at most [`MAX_LINE`] bytes
//! before the newline. Every object starts with the protocol version and the message kind:
//!
//! ```text
//! {"v":1,"kind":"hello","id":"pi-kitchen","version":"0.1.0",...,"interval_ms":10000}
//! {"v":1,"kind":"welcome","server":"vitals-server 0.1.0","last_seq":0}
//! {"v":1,"kind":"sample","seq":1,"dropped":0,"sample":{...}}
//! {"v":1,"kind":"ack","seq":1}
//! {"v":1,"kind":"error","code":"line_too_long","message":"..."}
//! ```
//!
//! [`encode`] writes one message into a caller's buffer; [`decode`] reads one line; [`Decoder`]
//! turns a byte stream cut anywhere into messages and, after any bad line, carries on at the next
//! newline. None of them allocates or panics, whatever the input.

use core::fmt;

use heapless::String;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::sample::Sample;

/// The protocol version this crate speaks, the `v` of every message.
pub const PROTOCOL_VERSION: u32 = 1;

/// The longest line, in bytes without its newline, that a peer must accept.
///
/// A default [`Sample`] with every collection full and every name at its longest escapes to
/// well under this, so an agent never produces a line the server refuses.
pub const MAX_LINE: usize = 64 * 1024;

/// How deeply objects and arrays may nest. A sample needs four levels; the bound keeps the
/// recursive JSON parser's stack use small whatever the input.
pub const MAX_DEPTH: usize = 8;

/// Bytes in the longest text field of a message (after unescaping).
pub const MAX_TEXT: usize = 128;

/// Bytes in an agent id.
pub const MAX_ID: usize = 64;

/// The longest sampling interval a hello may declare, in milliseconds: one hour. A server
/// scales its idle timeout and the life of an agent's series with the interval, so a larger one
/// would let a single hello hold a connection and an id for days; no agent samples that seldom.
pub const MAX_INTERVAL_MS: u32 = 3_600_000;

/// A bounded text field.
pub type Text = String<MAX_TEXT>;

/// An agent id: 1 to [`MAX_ID`] bytes of ASCII letters, digits, `.`, `_`, `-` and `:`.
pub type AgentId = String<MAX_ID>;

/// Returns whether `id` is a valid agent id.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

/// The first message on a connection, from agent to server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The agent's identity, the `agent` label of its series.
    pub id: AgentId,
    /// The agent's software version.
    pub version: Text,
    /// Operating system (`uname -s`: `Linux`, or `none` on bare metal).
    pub os: Text,
    /// Machine architecture (`uname -m`: `x86_64`, `aarch64`, `armv7l`, `thumbv7m`).
    pub arch: Text,
    /// Kernel release (`uname -r`).
    pub kernel: Text,
    /// Kernel build (`uname -v`).
    pub kernel_version: Text,
    /// Host name (`uname -n`).
    pub hostname: Text,
    /// NIS domain name (`uname` `domainname`), `(none)` when unset.
    pub domainname: Text,
    /// How often the agent samples, in milliseconds.
    pub interval_ms: u32,
    /// Tells one run of the agent from the next: sequence numbers restart with a new session.
    pub session: u64,
    /// The server may acknowledge this agent's samples by one ack for up to this many (acks
    /// are cumulative), so that neither side spends a write and a wake-up on every sample. The
    /// agent keeps at least twice as many samples until they are acknowledged. 0 or 1, and
    /// left out on the wire then: an ack for every sample.
    #[serde(default, skip_serializing_if = "acks_every_sample")]
    pub ack_every: u32,
    /// The highest sequence number of this session the agent has handed to any server (0 if
    /// none, and left out on the wire then). A previous server may have exposed that sample
    /// before it crashed, so this server exposes none older: a replay of samples it never
    /// acknowledged must not turn an exposed value back.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub last_sent: u64,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Whether `ack_every` asks for an ack for every sample.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn acks_every_sample(ack_every: &u32) -> bool {
    *ack_every <= 1
}

/// The server's answer to [`Hello`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The server's name and version.
    pub server: Text,
    /// The highest sequence number of this session the server has already merged (0 if none):
    /// the agent need not send those again.
    pub last_seq: u64,
}

/// One sample, numbered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SampleMessage<S = Sample> {
    /// Numbers the agent's samples from 1 within a session.
    pub seq: u64,
    /// Samples the agent has dropped in this session because its buffer was full.
    pub dropped: u64,
    #[allow(missing_docs)]
    pub sample: S,
}

/// The server's challenge to an agent it has a key for (see [`crate::auth`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// [`crate::auth::NONCE_LEN`] fresh random bytes, in hex.
    pub nonce: Text,
}

/// The agent's answer to a [`Challenge`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Auth {
    /// [`crate::auth::proof`] in hex; empty when the agent has no key.
    pub mac: Text,
}

/// The server has merged every sample up to and including `seq`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    #[allow(missing_docs)]
    pub seq: u64,
}

/// The peer refused something; the connection is closed after it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMessage {
    /// A stable code from [`codes`].
    pub code: Text,
    /// What went wrong, for a person.
    pub message: Text,
}

/// An [`ErrorMessage`]'s code, as an agent keeps it: the codes are short identifiers.
pub type Code = String<MAX_CODE>;

/// The longest error code an agent keeps; a longer one makes the line unreadable to it.
pub const MAX_CODE: usize = 32;

/// The error codes of [`ErrorMessage`].
pub mod codes {
    /// A line was longer than [`super::MAX_LINE`].
    pub const LINE_TOO_LONG: &str = "line_too_long";
    /// A line was not UTF-8.
    pub const BAD_UTF8: &str = "bad_utf8";
    /// A line was not JSON, or not the shape of its kind.
    pub const BAD_JSON: &str = "bad_json";
    /// A line nested deeper than [`super::MAX_DEPTH`].
    pub const TOO_DEEP: &str = "too_deep";
    /// A protocol version the receiver does not speak.
    pub const UNSUPPORTED_VERSION: &str = "unsupported_version";
    /// A message kind the receiver does not know.
    pub const UNKNOWN_KIND: &str = "unknown_kind";
    /// A value outside its meaning (a negative counter, a bad agent id).
    pub const INVALID_VALUE: &str = "invalid_value";
    /// A message that is valid but not expected now (a sample before hello).
    pub const UNEXPECTED: &str = "unexpected_message";
    /// The agent took too long to say hello.
    pub const HANDSHAKE_TIMEOUT: &str = "handshake_timeout";
    /// The server is full.
    pub const UNAVAILABLE: &str = "unavailable";
    /// The server requires a key and the agent answered the challenge without one.
    pub const AUTH_REQUIRED: &str = "auth_required";
    /// The agent's answer to the challenge is wrong: not the key for its id.
    pub const AUTH_FAILED: &str = "auth_failed";
    /// The agent id matches no entry of the server's key file.
    pub const UNKNOWN_AGENT: &str = "unknown_agent";
    /// Another connection holds this agent id and this one did not authenticate for it.
    pub const ID_IN_USE: &str = "id_in_use";
    /// A line of an authenticated connection was not sealed with its key.
    pub const BAD_SEAL: &str = "bad_seal";
    /// The server holds as many distinct agents as it may (`--max-agents`); a new id must wait.
    pub const TOO_MANY_AGENTS: &str = "too_many_agents";
    /// The server is stopping; the agent reconnects as after any lost connection.
    pub const SHUTTING_DOWN: &str = "shutting_down";
    /// A text that becomes a label (a hello's `hostname`, a mount point, an interface name...)
    /// holds a control character or a Unicode line separator
    /// ([`crate::sample::label_text_ok`]).
    pub const BAD_LABEL: &str = "bad_label";
    /// A sample names one series twice: a CPU number, a filesystem (device, type and mount
    /// point), an interface, a sensor (chip and sensor) or a disk appears twice.
    pub const DUPLICATE_SERIES: &str = "duplicate_series";
    /// The server holds as many series as it may (`--max-series`): the agent's hello or its
    /// sample would take it past that.
    pub const TOO_MANY_SERIES: &str = "too_many_series";
    /// Connections for this agent id keep taking it over from each other (two machines with
    /// one id and key, say): the server keeps the one it has and refuses the others for a while.
    pub const ID_CONFLICT: &str = "id_conflict";
    /// The agent does not read the server's answers: what waits to be written to it passed the
    /// server's bound.
    pub const NOT_READING: &str = "not_reading";

    /// What a code means, in a few words, for a log line.
    pub fn describe(code: &str) -> Option<&'static str> {
        Some(match code {
            LINE_TOO_LONG => "a line was too long",
            BAD_UTF8 => "a line was not UTF-8",
            BAD_JSON => "a line was not the JSON of its kind",
            TOO_DEEP => "a line nested too deep",
            UNSUPPORTED_VERSION => "the protocol version is not the server's",
            UNKNOWN_KIND => "a message kind the server does not know",
            INVALID_VALUE => "a value outside its meaning",
            UNEXPECTED => "a message the server did not expect then",
            HANDSHAKE_TIMEOUT => "no hello in time",
            UNAVAILABLE => "the server is full",
            AUTH_REQUIRED => "the server wants a key for this agent",
            AUTH_FAILED => "the key is not this agent's",
            UNKNOWN_AGENT => "the server has no key for this agent id",
            ID_IN_USE => "another connection holds this agent id",
            BAD_SEAL => "a line was not sealed with the key",
            TOO_MANY_AGENTS => "the server holds as many agents as it may",
            SHUTTING_DOWN => "the server is stopping",
            BAD_LABEL => "a label text held a control character or a line separator",
            DUPLICATE_SERIES => "a sample named one series twice",
            TOO_MANY_SERIES => "the server holds as many series as it may",
            ID_CONFLICT => "connections keep taking this agent id from each other",
            NOT_READING => "the agent did not read the server's answers",
            _ => return None,
        })
    }
}

/// Every message of the protocol. `S` is the sample type; peers with different capacities
/// exchange the same JSON.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // the sample is the point; messages are not kept in bulk
pub enum Message<S = Sample> {
    #[allow(missing_docs)]
    Hello(Hello),
    #[allow(missing_docs)]
    Welcome(Welcome),
    #[allow(missing_docs)]
    Sample(SampleMessage<S>),
    #[allow(missing_docs)]
    Ack(Ack),
    #[allow(missing_docs)]
    Error(ErrorMessage),
    #[allow(missing_docs)]
    Challenge(Challenge),
    #[allow(missing_docs)]
    Auth(Auth),
}

impl<S> Message<S> {
    /// The `kind` of this message on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Hello(_) => "hello",
            Message::Welcome(_) => "welcome",
            Message::Sample(_) => "sample",
            Message::Ack(_) => "ack",
            Message::Error(_) => "error",
            Message::Challenge(_) => "challenge",
            Message::Auth(_) => "auth",
        }
    }
}

/// Why [`encode`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The message does not fit in the buffer.
    BufferFull,
    /// The encoded line would be longer than [`MAX_LINE`].
    LineTooLong,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferFull => f.write_str("message does not fit in the buffer"),
            EncodeError::LineTooLong => f.write_str("message is longer than the protocol allows"),
        }
    }
}

impl core::error::Error for EncodeError {}

/// Why a line is not a message. Each has its own error [`code`](DecodeError::code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// No newline yet: more bytes are needed.
    Incomplete,
    /// The line is longer than the decoder's limit.
    LineTooLong,
    /// The line is not UTF-8.
    BadUtf8,
    /// The line is not JSON, or not the shape its kind calls for.
    BadJson,
    /// Objects and arrays nest deeper than [`MAX_DEPTH`].
    TooDeep,
    /// The version `v` is not [`PROTOCOL_VERSION`].
    UnsupportedVersion,
    /// The `kind` is not one this crate knows.
    UnknownKind,
    /// A field holds a value outside its meaning; names the field.
    InvalidValue(&'static str),
    /// An authenticated connection's line has no seal, or a wrong one.
    BadSeal,
    /// A text that becomes a label holds a control character or a line separator (see
    /// [`crate::sample::label_text_ok`]); names the field.
    BadLabel(&'static str),
    /// A sample names one series twice; names the collection.
    DuplicateSeries(&'static str),
}

impl DecodeError {
    /// The [`codes`] entry to send back to the peer.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::Incomplete | DecodeError::BadJson => codes::BAD_JSON,
            DecodeError::LineTooLong => codes::LINE_TOO_LONG,
            DecodeError::BadUtf8 => codes::BAD_UTF8,
            DecodeError::TooDeep => codes::TOO_DEEP,
            DecodeError::UnsupportedVersion => codes::UNSUPPORTED_VERSION,
            DecodeError::UnknownKind => codes::UNKNOWN_KIND,
            DecodeError::InvalidValue(_) => codes::INVALID_VALUE,
            DecodeError::BadSeal => codes::BAD_SEAL,
            DecodeError::BadLabel(_) => codes::BAD_LABEL,
            DecodeError::DuplicateSeries(_) => codes::DUPLICATE_SERIES,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Incomplete => f.write_str("line is not complete"),
            DecodeError::LineTooLong => f.write_str("line is too long"),
            DecodeError::BadUtf8 => f.write_str("line is not valid UTF-8"),
            DecodeError::BadJson => f.write_str("line is not a valid JSON message"),
            DecodeError::TooDeep => f.write_str("JSON nests too deeply"),
            DecodeError::UnsupportedVersion => f.write_str("unsupported protocol version"),
            DecodeError::UnknownKind => f.write_str("unknown message kind"),
            DecodeError::InvalidValue(field) => write!(f, "invalid value in field `{field}`"),
            DecodeError::BadSeal => f.write_str("line is not sealed with the session's key"),
            DecodeError::BadLabel(field) => write!(
                f,
                "field `{field}` holds a control character or a line separator"
            ),
            DecodeError::DuplicateSeries(collection) => {
                write!(f, "`{collection}` names the same series twice")
            }
        }
    }
}

impl core::error::Error for DecodeError {}

/// Writes `message` as one line, newline included, at the start of `buf`.
///
/// Returns the number of bytes written.
///
/// # Errors
/// [`EncodeError::BufferFull`] when `buf` is too small, [`EncodeError::LineTooLong`] when the
/// line would exceed [`MAX_LINE`].
pub fn encode<S: Serialize>(message: &Message<S>, buf: &mut [u8]) -> Result<usize, EncodeError> {
    match message {
        Message::Hello(body) => encode_body("hello", body, buf),
        Message::Welcome(body) => encode_body("welcome", body, buf),
        Message::Sample(body) => encode_body("sample", body, buf),
        Message::Ack(body) => encode_body("ack", body, buf),
        Message::Error(body) => encode_body("error", body, buf),
        Message::Challenge(body) => encode_body("challenge", body, buf),
        Message::Auth(body) => encode_body("auth", body, buf),
    }
}

/// Writes `{"v":1,"kind":"<kind>",<body's fields>}\n`.
///
/// The body is serialized right after the header and its opening brace is turned into the comma
/// that joins the two, so no intermediate buffer is needed. The agent calls it for the three
/// kinds it sends, so a board carries no serializer for the kinds only servers send.
pub(crate) fn encode_body<B: Serialize>(
    kind: &str,
    body: &B,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    let mut at = 0;
    for part in [r#"{"v":1,"kind":""#, kind, "\""] {
        let end = at + part.len();
        buf.get_mut(at..end)
            .ok_or(EncodeError::BufferFull)?
            .copy_from_slice(part.as_bytes());
        at = end;
    }
    let rest = buf.get_mut(at..).ok_or(EncodeError::BufferFull)?;
    let body_len = serde_json_core::to_slice(body, rest).map_err(|_| EncodeError::BufferFull)?;
    // Every body is a struct with at least one field, so it is `{...}` with something inside.
    match rest.first_mut() {
        Some(brace) if body_len > 2 => *brace = b',',
        _ => return Err(EncodeError::BufferFull),
    }
    at += body_len;
    if at > MAX_LINE {
        return Err(EncodeError::LineTooLong);
    }
    *buf.get_mut(at).ok_or(EncodeError::BufferFull)? = b'\n';
    Ok(at + 1)
}

/// Where the first `\n` in `bytes` is: eight bytes at a time, and on a 64-bit machine first 32
/// at a time, as four independent words, since the server's stream decoder looks for the end of
/// every sample line (a few kilobytes each) before anything else. A board reads only the
/// server's short lines, and is spared the code (168 bytes of a Cortex-M3's flash).
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const NEWLINES: u64 = u64::from_le_bytes([b'\n'; 8]);
    // Flags the newlines of a word: a zero byte of `x` is a newline, and the lowest flagged
    // byte is always a true one (a flag above it may be a borrow's).
    let flags = |word: &[u8]| {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        let x = u64::from_le_bytes(eight) ^ NEWLINES;
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let mut at = 0;
    #[cfg(target_pointer_width = "64")]
    for block in bytes.chunks_exact(32) {
        let (a, b) = block.split_at(16);
        let ((a0, a1), (b0, b1)) = (a.split_at(8), b.split_at(8));
        if flags(a0) | flags(a1) | flags(b0) | flags(b1) != 0 {
            break;
        }
        at += 32;
    }
    let rest = bytes.get(at..).unwrap_or_default();
    let mut words = rest.chunks_exact(8);
    for word in &mut words {
        let found = flags(word);
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| at + i)
}

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

    /// Reads a `sample` line written exactly as [`encode`] writes it, its texts printable ASCII,
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

mod fast;
mod flat;
mod series;

pub(crate) use flat::Reply;

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

/// What a server sends an agent: the agent's side of the protocol decodes only these, so a
/// board carries neither the sample nor the hello parser, and holds a small value on its stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMessage {
    #[allow(missing_docs)]
    Welcome(Welcome),
    #[allow(missing_docs)]
    Ack(Ack),
    #[allow(missing_docs)]
    Error(ErrorMessage),
    #[allow(missing_docs)]
    Challenge(Challenge),
}

impl ServerMessage {
    /// The `kind` of this message on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            ServerMessage::Welcome(_) => "welcome",
            ServerMessage::Ack(_) => "ack",
            ServerMessage::Error(_) => "error",
            ServerMessage::Challenge(_) => "challenge",
        }
    }
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
/// [`decode_server_line`] reads it, without the texts but an error's code.
pub(crate) fn read_reply(line: &[u8]) -> Result<Reply, DecodeError> {
    flat::reply(checked_server_line(line)?)
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
    if header.v != PROTOCOL_VERSION {
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

/// The header of a line that starts as [`encode`] writes it, `{"v":<digits>,"kind":"<kind>",`,
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
// frame is the largest of them, not their sum (on a board, the difference is a kilobyte).
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

/// What [`Decoder::feed`] made of its input.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum FeedResult<'a, M = Message<Sample>> {
    /// All the input was taken; no line is complete yet.
    Consumed,
    /// A line was a message; `remaining` is the input after it, to feed again.
    Message {
        #[allow(missing_docs)]
        message: M,
        #[allow(missing_docs)]
        remaining: &'a [u8],
    },
    /// A line was not a message, or grew past the limit (then the rest of it, up to the next
    /// newline, is skipped as it arrives). `remaining` is the input to feed again.
    Error {
        #[allow(missing_docs)]
        error: DecodeError,
        #[allow(missing_docs)]
        remaining: &'a [u8],
    },
}

/// Where a [`Framer`] keeps the start of a line that has not ended yet.
///
/// A fixed array on a board (see [`Decoder`]); a buffer that grows only as far as the lines that
/// need it on a server with thousands of connections.
pub trait LineBuffer {
    /// The longest line, in bytes without its newline, that is accepted.
    fn limit(&self) -> usize;
    /// At least `len` bytes of storage, whose first bytes keep what was stored before; `None`
    /// when `len` is over [`limit`](LineBuffer::limit) or the storage cannot grow.
    fn room(&mut self, len: usize) -> Option<&mut [u8]>;
    /// The first `len` bytes stored.
    fn held(&self, len: usize) -> &[u8];
    /// Called when no partial line is held: a growable buffer may give memory back.
    fn release(&mut self) {}
}

impl<const N: usize> LineBuffer for [u8; N] {
    fn limit(&self) -> usize {
        N
    }

    fn room(&mut self, len: usize) -> Option<&mut [u8]> {
        (len <= N).then_some(&mut self[..])
    }

    fn held(&self, len: usize) -> &[u8] {
        self.get(..len).unwrap_or_default()
    }
}

/// A stream decoder with a fixed buffer of `N` bytes, the longest line it accepts.
pub type Decoder<const N: usize> = Framer<[u8; N]>;

/// A stream decoder: feed it bytes as they arrive, cut anywhere; call
/// [`feed`](Framer::feed) again with `remaining` until it answers [`FeedResult::Consumed`].
/// After any error it resynchronises at the next newline. A line that arrives whole in one feed
/// is decoded where it lies; only a line split across feeds is copied into the buffer `B`.
#[derive(Debug)]
pub struct Framer<B> {
    buf: B,
    len: usize,
    /// Inside a line that was already reported too long: drop bytes until its newline.
    skipping: bool,
}

impl<const N: usize> Default for Framer<[u8; N]> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Framer<[u8; N]> {
    /// An empty decoder.
    pub const fn new() -> Self {
        Framer {
            buf: [0; N],
            len: 0,
            skipping: false,
        }
    }
}

impl<B: LineBuffer> Framer<B> {
    /// An empty decoder keeping partial lines in `buf`.
    pub fn with_buffer(buf: B) -> Self {
        Framer {
            buf,
            len: 0,
            skipping: false,
        }
    }

    /// Bytes of an incomplete line held now.
    pub fn buffered(&self) -> usize {
        self.len
    }

    /// Forgets any partial line, as after a reconnect.
    pub fn reset(&mut self) {
        self.len = 0;
        self.skipping = false;
        self.buf.release();
    }

    /// Takes `input` up to the end of the first complete line and says what it was.
    pub fn feed<'a, S: DeserializeOwned + Check>(
        &mut self,
        input: &'a [u8],
    ) -> FeedResult<'a, Message<S>> {
        self.feed_with(input, decode_line::<S>)
    }

    /// Like [`feed`](Framer::feed), with `read` turning each complete line (without its
    /// newline; blank lines are skipped) into a message: to check a line's seal before
    /// decoding it, for example.
    pub fn feed_with<'a, M>(
        &mut self,
        mut input: &'a [u8],
        mut read: impl FnMut(&[u8]) -> Result<M, DecodeError>,
    ) -> FeedResult<'a, M> {
        loop {
            let newline = find_newline(input);
            if self.skipping {
                match newline {
                    None => return FeedResult::Consumed,
                    Some(end) => {
                        self.skipping = false;
                        input = input.get(end + 1..).unwrap_or_default();
                        continue;
                    }
                }
            }
            let Some(end) = newline else {
                return self.hold(input);
            };
            let (head, remaining) = (
                input.get(..end).unwrap_or_default(),
                input.get(end + 1..).unwrap_or_default(),
            );
            let limit = self.buf.limit();
            let result = if self.len == 0 {
                if head.len() > limit {
                    return FeedResult::Error {
                        error: DecodeError::LineTooLong,
                        remaining,
                    };
                }
                if head.iter().all(|b| b.is_ascii_whitespace()) {
                    input = remaining;
                    continue;
                }
                read(head)
            } else {
                let (start, total) = (self.len, self.len + head.len());
                self.len = 0;
                match self
                    .buf
                    .room(total)
                    .and_then(|room| room.get_mut(start..total))
                {
                    Some(tail) => tail.copy_from_slice(head),
                    None => {
                        self.buf.release();
                        return FeedResult::Error {
                            error: DecodeError::LineTooLong,
                            remaining,
                        };
                    }
                }
                let line = self.buf.held(total);
                if line.iter().all(|b| b.is_ascii_whitespace()) {
                    self.buf.release();
                    input = remaining;
                    continue;
                }
                let result = read(line);
                self.buf.release();
                result
            };
            return match result {
                Ok(message) => FeedResult::Message { message, remaining },
                Err(error) => FeedResult::Error { error, remaining },
            };
        }
    }

    /// Keeps a partial line, or reports it too long and skips the rest of it.
    fn hold<'a, M>(&mut self, input: &'a [u8]) -> FeedResult<'a, M> {
        if input.is_empty() {
            return FeedResult::Consumed;
        }
        let total = self.len + input.len();
        match self
            .buf
            .room(total)
            .and_then(|room| room.get_mut(self.len..total))
        {
            Some(tail) => {
                tail.copy_from_slice(input);
                self.len = total;
                FeedResult::Consumed
            }
            None => {
                self.len = 0;
                self.skipping = true;
                self.buf.release();
                FeedResult::Error {
                    error: DecodeError::LineTooLong,
                    remaining: &[],
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::borrow::ToOwned;
    use std::string::{String, ToString};

    use super::*;
    use crate::sample::{Cpu, Sample};

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
        assert_eq!(
            decode_server_line(br#"{"v":2,"kind":"ack","seq":1}"#),
            Err(DecodeError::UnsupportedVersion)
        );
        assert_eq!(decode_server_line(b"\xff"), Err(DecodeError::BadUtf8));
    }

    #[test]
    fn find_newline_agrees_with_a_plain_search() {
        // Bytes next to b'\n' in value, and with the high bit set, around every position.
        let fill = [b'a', 0x0b, 0x09, 0x8a, 0x00, 0xff];
        for len in 0..80 {
            for &f in &fill {
                let mut bytes = std::vec![f; len];
                assert_eq!(find_newline(&bytes), None);
                for at in 0..len {
                    bytes[at] = b'\n';
                    if at + 2 < len {
                        bytes[at + 2] = b'\n';
                    }
                    let plain = bytes.iter().position(|&b| b == b'\n');
                    assert_eq!(find_newline(&bytes), plain, "len {len} at {at} fill {f}");
                    bytes.fill(f);
                }
            }
        }
    }

    // The wire test vectors; docs/protocol.md shows the same lines.
    const HELLO: &[u8] = br#"{"v":1,"kind":"hello","id":"pi-kitchen","version":"0.1.0","os":"Linux","arch":"aarch64","kernel":"6.1.0-rpi7","kernel_version":"1 SMP PREEMPT","hostname":"pi-kitchen","domainname":"(none)","interval_ms":10000,"session":1700000000000}"#;
    /// A hello after a reconnect: its session had sent samples up to 41 and asks for an ack per 8.
    const HELLO_AGAIN: &[u8] = br#"{"v":1,"kind":"hello","id":"pi-kitchen","version":"0.1.0","os":"Linux","arch":"aarch64","kernel":"6.1.0-rpi7","kernel_version":"1 SMP PREEMPT","hostname":"pi-kitchen","domainname":"(none)","interval_ms":10000,"session":1700000000000,"ack_every":8,"last_sent":41}"#;
    const WELCOME: &[u8] =
        br#"{"v":1,"kind":"welcome","server":"vitals-server 0.1.0","last_seq":0}"#;
    const ACK: &[u8] = br#"{"v":1,"kind":"ack","seq":7}"#;
    const CHALLENGE: &[u8] = br#"{"v":1,"kind":"challenge","nonce":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}"#;
    const AUTH: &[u8] = br#"{"v":1,"kind":"auth","mac":"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"}"#;
    const ERROR: &[u8] =
        br#"{"v":1,"kind":"error","code":"line_too_long","message":"line is too long"}"#;
    const SAMPLE: &[u8] = br#"{"v":1,"kind":"sample","seq":1,"dropped":0,"sample":{"time_ms":1700000000000,"boot_time":1699990000,"load1":0.5,"load5":0.25,"load15":0.125,"cpu_usage":0.1,"cpus":[{"cpu":0,"user":10.5,"nice":0.0,"system":3.25,"idle":100.0,"iowait":0.5,"irq":0.0,"softirq":0.01,"steal":0.0}],"memory":{"total":1024,"free":512,"available":768,"buffers":16,"cached":128,"swap_total":0,"swap_free":0},"filesystems":[],"interfaces":[{"device":"eth0","up":true,"rx_bytes":1,"rx_packets":2,"rx_errs":0,"rx_drop":0,"tx_bytes":3,"tx_packets":4,"tx_errs":0,"tx_drop":0}],"sensors":[],"disks":[{"device":"sda","reads_completed":10,"reads_merged":1,"read_bytes":40960,"read_time":0.25,"writes_completed":20,"writes_merged":2,"written_bytes":81920,"write_time":0.5,"io_now":0,"io_time":0.75,"io_time_weighted":1.0}],"pressure":{"cpu_waiting":1.5,"memory_waiting":0.0,"memory_stalled":0.0,"io_waiting":2.25,"io_stalled":1.0},"context_switches":99,"forks":5,"procs_running":1,"procs_blocked":0,"omitted":{"cpus":0,"filesystems":0,"interfaces":0,"sensors":0,"disks":0}}}"#;
    /// A sample from an agent that predates disks and pressure: still valid.
    const SAMPLE_WITHOUT_DISKS: &[u8] = br#"{"v":1,"kind":"sample","seq":1,"dropped":0,"sample":{"time_ms":1,"boot_time":1,"load1":0,"load5":0,"load15":0,"cpu_usage":0,"cpus":[],"memory":{"total":0,"free":0,"available":0,"buffers":0,"cached":0,"swap_total":0,"swap_free":0},"filesystems":[],"interfaces":[],"sensors":[],"context_switches":0,"forks":0,"procs_running":0,"procs_blocked":0,"omitted":{"cpus":0,"filesystems":0,"interfaces":0,"sensors":0}}}"#;
    /// A hello with escapes in a string: `\"` and `\u00e9`.
    const HELLO_ESCAPED: &[u8] = br#"{"v":1,"kind":"hello","id":"a","version":"0.1.0","os":"Linux","arch":"x86_64","kernel":"6","kernel_version":"say \"hi\" caf\u00e9","hostname":"h","domainname":"(none)","interval_ms":1000,"session":1}"#;
    /// A hello whose hostname holds a NUL: refused (`bad_label`).
    const HELLO_BAD_LABEL: &[u8] = br#"{"v":1,"kind":"hello","id":"a","version":"0.1.0","os":"Linux","arch":"x86_64","kernel":"6","kernel_version":"1","hostname":"h\u0000","domainname":"(none)","interval_ms":1000,"session":1}"#;
    /// A hello declaring an interval over an hour: refused (`invalid_value`).
    const HELLO_INTERVAL_TOO_LONG: &[u8] = br#"{"v":1,"kind":"hello","id":"a","version":"0.1.0","os":"Linux","arch":"x86_64","kernel":"6","kernel_version":"1","hostname":"h","domainname":"(none)","interval_ms":4294967295,"session":1}"#;
    const FUTURE_VERSION: &[u8] = br#"{"v":2,"kind":"hello"}"#;
    const UNKNOWN_KIND: &[u8] = br#"{"v":1,"kind":"gossip"}"#;
    const GARBAGE: &[u8] = b"GET / HTTP/1.1";
    const BAD_UTF8: &[u8] = b"{\"v\":1,\"kind\":\"ack\",\"seq\":\xff}";
    const NEGATIVE_CPU: &[u8] = br#"{"v":1,"kind":"sample","seq":1,"dropped":0,"sample":{"time_ms":1,"boot_time":1,"load1":0,"load5":0,"load15":0,"cpu_usage":0,"cpus":[{"cpu":0,"user":-1,"nice":0,"system":0,"idle":0,"iowait":0,"irq":0,"softirq":0,"steal":0}],"memory":{"total":0,"free":0,"available":0,"buffers":0,"cached":0,"swap_total":0,"swap_free":0},"filesystems":[],"interfaces":[],"sensors":[],"context_switches":0,"forks":0,"procs_running":0,"procs_blocked":0,"omitted":{"cpus":0,"filesystems":0,"interfaces":0,"sensors":0}}}"#;
    const BAD_ID: &[u8] = br#"{"v":1,"kind":"hello","id":"a\"b","version":"","os":"","arch":"","kernel":"","kernel_version":"","hostname":"","domainname":"","interval_ms":1000,"session":1}"#;

    fn line(bytes: &[u8]) -> heapless::Vec<u8, 4096> {
        let mut v = heapless::Vec::new();
        v.extend_from_slice(bytes).unwrap();
        v.push(b'\n').unwrap();
        v
    }

    fn one(bytes: &[u8]) -> Result<Message, DecodeError> {
        decode_line::<Sample>(bytes)
    }

    #[test]
    fn each_vector_decodes_and_encodes_back_to_the_same_bytes() {
        for vector in [
            HELLO,
            HELLO_AGAIN,
            WELCOME,
            ACK,
            ERROR,
            SAMPLE,
            CHALLENGE,
            AUTH,
        ] {
            let message = one(vector).unwrap_or_else(|e| panic!("{e}: {vector:?}"));
            let mut buf = [0u8; 4096];
            let n = encode(&message, &mut buf).unwrap();
            assert_eq!(&buf[..n], line(vector).as_slice(), "{}", message.kind());
        }
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
    fn every_code_is_described_and_short_enough_for_an_agent() {
        for code in [
            codes::LINE_TOO_LONG,
            codes::BAD_UTF8,
            codes::BAD_JSON,
            codes::TOO_DEEP,
            codes::UNSUPPORTED_VERSION,
            codes::UNKNOWN_KIND,
            codes::INVALID_VALUE,
            codes::UNEXPECTED,
            codes::HANDSHAKE_TIMEOUT,
            codes::UNAVAILABLE,
            codes::AUTH_REQUIRED,
            codes::AUTH_FAILED,
            codes::UNKNOWN_AGENT,
            codes::ID_IN_USE,
            codes::BAD_SEAL,
            codes::TOO_MANY_AGENTS,
            codes::SHUTTING_DOWN,
            codes::BAD_LABEL,
            codes::DUPLICATE_SERIES,
            codes::TOO_MANY_SERIES,
            codes::ID_CONFLICT,
            codes::NOT_READING,
        ] {
            assert!(codes::describe(code).is_some(), "{code}");
            assert!(code.len() <= MAX_CODE, "{code}");
        }
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

    /// Feeds `input` in chunks of `chunk` bytes, collecting every outcome.
    fn feed_all<const N: usize>(
        decoder: &mut Decoder<N>,
        input: &[u8],
        chunk: usize,
    ) -> heapless::Vec<Result<&'static str, DecodeError>, 16> {
        let mut out = heapless::Vec::new();
        for piece in input.chunks(chunk) {
            let mut rest = piece;
            loop {
                match decoder.feed::<Sample>(rest) {
                    FeedResult::Consumed => break,
                    FeedResult::Message { message, remaining } => {
                        out.push(Ok(message.kind())).unwrap();
                        rest = remaining;
                    }
                    FeedResult::Error { error, remaining } => {
                        out.push(Err(error)).unwrap();
                        rest = remaining;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn a_stream_split_at_every_byte_gives_the_same_messages() {
        let mut stream = heapless::Vec::<u8, 4096>::new();
        for v in [HELLO, SAMPLE, ACK] {
            stream.extend_from_slice(&line(v)).unwrap();
        }
        for chunk in [1, 2, 3, 7, 64, 4096] {
            let mut decoder = Decoder::<2048>::new();
            let got = feed_all(&mut decoder, &stream, chunk);
            assert_eq!(
                got.as_slice(),
                &[Ok("hello"), Ok("sample"), Ok("ack")],
                "chunk {chunk}"
            );
            assert_eq!(decoder.buffered(), 0);
        }
    }

    #[test]
    fn bad_lines_are_reported_and_the_stream_recovers_at_the_next_newline() {
        let mut stream = heapless::Vec::<u8, 4096>::new();
        for v in [GARBAGE, BAD_UTF8, ACK, UNKNOWN_KIND, b"", b"  \r", ACK] {
            stream.extend_from_slice(&line(v)).unwrap();
        }
        for chunk in [1, 5, 4096] {
            let got = feed_all(&mut Decoder::<256>::new(), &stream, chunk);
            assert_eq!(
                got.as_slice(),
                &[
                    Err(DecodeError::BadJson),
                    Err(DecodeError::BadUtf8),
                    Ok("ack"),
                    Err(DecodeError::UnknownKind),
                    Ok("ack"),
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn an_oversized_line_is_reported_once_skipped_whole_and_followed_by_recovery() {
        let mut stream = heapless::Vec::<u8, 4096>::new();
        stream.extend_from_slice(&[b'x'; 300]).unwrap();
        stream.push(b'\n').unwrap();
        stream.extend_from_slice(&line(ACK)).unwrap();
        for chunk in [1, 10, 100, 4096] {
            let got = feed_all(&mut Decoder::<64>::new(), &stream, chunk);
            assert_eq!(
                got.as_slice(),
                &[Err(DecodeError::LineTooLong), Ok("ack")],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_accepted() {
        let got = feed_all(&mut Decoder::<{ ACK.len() }>::new(), &line(ACK), 3);
        assert_eq!(got.as_slice(), &[Ok("ack")]);
        let got = feed_all(&mut Decoder::<{ ACK.len() - 1 }>::new(), &line(ACK), 3);
        assert_eq!(got.as_slice(), &[Err(DecodeError::LineTooLong)]);
    }

    #[test]
    fn encode_refuses_a_buffer_that_is_too_small() {
        let message = one(SAMPLE).unwrap();
        for len in [0, 10, SAMPLE.len() - 1, SAMPLE.len()] {
            let mut buf = [0u8; 4096];
            assert_eq!(
                encode(&message, &mut buf[..len]),
                Err(EncodeError::BufferFull),
                "{len}"
            );
        }
        let mut buf = [0u8; 4096];
        assert_eq!(
            encode(&message, &mut buf[..SAMPLE.len() + 1]),
            Ok(SAMPLE.len() + 1)
        );
    }

    /// The largest sample an agent could encode: every collection full, every number at its
    /// longest, every name at its longest in `name(i)`.
    fn largest_sample(name: impl Fn(usize) -> String) -> Sample {
        use crate::sample::*;
        let mut sample: Sample = Sample::default();
        for cpu in 0..MAX_CPUS {
            let v = 1.2345678901234567e300;
            let _ = sample.cpus.push(Cpu {
                cpu: cpu as u16,
                user: v,
                nice: v,
                system: v,
                idle: v,
                iowait: v,
                irq: v,
                softirq: v,
                steal: v,
            });
        }
        for i in 0..MAX_FILESYSTEMS {
            let long = name(i);
            let _ = sample.filesystems.push(Filesystem {
                device: bounded(&long),
                fstype: bounded(&long),
                mountpoint: bounded(&long),
                size: u64::MAX,
                free: u64::MAX,
                avail: u64::MAX,
                files: u64::MAX,
                files_free: u64::MAX,
                readonly: false,
            });
        }
        for i in 0..MAX_INTERFACES {
            let long = name(i);
            let _ = sample.interfaces.push(Interface {
                device: bounded(&long),
                rx_bytes: u64::MAX,
                rx_packets: u64::MAX,
                rx_errs: u64::MAX,
                rx_drop: u64::MAX,
                tx_bytes: u64::MAX,
                tx_packets: u64::MAX,
                tx_errs: u64::MAX,
                tx_drop: u64::MAX,
                up: false,
            });
        }
        for i in 0..MAX_SENSORS {
            let long = name(i);
            let _ = sample.sensors.push(Sensor {
                chip: bounded(&long),
                sensor: bounded(&long),
                celsius: -1.2345678901234567e300,
            });
        }
        for i in 0..MAX_DISKS {
            let long = name(i);
            let v = 1.2345678901234567e300;
            let _ = sample.disks.push(Disk {
                device: bounded(&long),
                reads_completed: u64::MAX,
                reads_merged: u64::MAX,
                read_bytes: u64::MAX,
                read_time: v,
                writes_completed: u64::MAX,
                writes_merged: u64::MAX,
                written_bytes: u64::MAX,
                write_time: v,
                io_now: u64::MAX,
                io_time: v,
                io_time_weighted: v,
            });
        }
        let v = 1.2345678901234567e300;
        sample.pressure = Some(Pressure {
            cpu_waiting: v,
            memory_waiting: v,
            memory_stalled: v,
            io_waiting: v,
            io_stalled: v,
        });
        sample
    }

    #[test]
    fn the_largest_default_sample_fits_in_a_line() {
        use crate::sample::PATH_LEN;
        // A control character escapes to six bytes (`\u0001`), the most any character takes:
        // such a sample is refused, but even it fits in a line.
        let worst = largest_sample(|_| "\u{1}".repeat(PATH_LEN));
        let message = Message::Sample(SampleMessage {
            seq: u64::MAX,
            dropped: u64::MAX,
            sample: worst,
        });
        let mut buf = [0u8; MAX_LINE + 1];
        let n = encode(&message, &mut buf).unwrap();
        assert!(n <= MAX_LINE + 1);
        assert!(matches!(
            decode_line::<Sample>(&buf[..n - 1]),
            Err(DecodeError::BadLabel(_))
        ));
        // The largest one a receiver takes: names of escaped quotes, distinct in each collection.
        let valid = largest_sample(|i| std::format!("{i:02}") + &"\"".repeat(PATH_LEN - 2));
        let message = Message::Sample(SampleMessage {
            seq: u64::MAX,
            dropped: u64::MAX,
            sample: valid,
        });
        let n = encode(&message, &mut buf).unwrap();
        assert_eq!(decode_line::<Sample>(&buf[..n - 1]).unwrap(), message);
        // Escaped names are left to the general parser, which reads them the same.
        assert!(<Sample>::parse_fast(&buf[..n - 1]).is_none());
    }
}
