//! The layer's errors: why a message could not be written ([`EncodeError`]) or a line read
//! ([`DecodeError`], each with the code that tells the peer).

use core::fmt;

use super::codes;

/// Why [`encode`](fn@super::encode) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The message does not fit in the buffer.
    BufferFull,
    /// The encoded line would be longer than [`MAX_LINE`](super::MAX_LINE).
    LineTooLong,
    /// A value is infinite or not a number, which JSON cannot write.
    NotFinite,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferFull => f.write_str("message does not fit in the buffer"),
            EncodeError::LineTooLong => f.write_str("message is longer than the protocol allows"),
            EncodeError::NotFinite => f.write_str("a value is infinite or not a number"),
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
    /// Objects and arrays nest deeper than [`MAX_DEPTH`](super::MAX_DEPTH).
    TooDeep,
    /// The version `v` is not [`PROTOCOL_VERSION`](super::PROTOCOL_VERSION).
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
    /// A v2 declaration names a family the catalogue does not have, or whose values are not
    /// the agent's to send.
    UnknownFamily(u16),
    /// A v2 declaration gives a family other label names than the catalogue's, or a series
    /// other label values than its family's names.
    WrongLabels(u16),
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
            DecodeError::UnknownFamily(_) => codes::UNKNOWN_FAMILY,
            DecodeError::WrongLabels(_) => codes::WRONG_LABELS,
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
            DecodeError::UnknownFamily(id) => {
                write!(f, "family {id} is not one an agent may declare here")
            }
            DecodeError::WrongLabels(id) => write!(
                f,
                "family {id}'s label names or a series' label values are not the catalogue's"
            ),
        }
    }
}

impl core::error::Error for DecodeError {}
