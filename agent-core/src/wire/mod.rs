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
//! [`encode`](fn@encode) writes one message into a caller's buffer; [`decode`](fn@decode) reads one line; [`Decoder`]
//! turns a byte stream cut anywhere into messages and, after any bad line, carries on at the next
//! newline. None of them allocates or panics, whatever the input.
//!
//! # Layout
//!
//! In the order a message crosses them, from the sender's value to the receiver's:
//!
//! - `messages.rs`: one struct per kind ([`Hello`], [`SampleMessage`], [`Ack`], ...), and
//!   [`Message`], any of them.
//! - `encode.rs`: [`encode`](fn@encode), a message into one line of a caller's buffer.
//! - `framer.rs`: [`Framer`] ([`Decoder`] with a fixed buffer) cuts the bytes that arrive into
//!   lines, wherever the reads cut them.
//! - `decode.rs`: [`decode_line`], a line into a checked message, by the fastest reader that
//!   takes it; [`Check`], what a sample type checks.
//!   - `fast.rs`: a sample line exactly as `encode` writes it, in one pass.
//!   - `flat.rs`: a server's line as the agent reads it, in little of a board's stack.
//!   - `series.rs`: no text that becomes a label holds a control character, and no sample
//!     names a series twice.
//! - `error.rs`: [`DecodeError`], why a line is not a message, and [`EncodeError`].
//! - `codes.rs`: [`codes`], the word an `error` message carries back for each refusal.
//! - `vectors.rs` (tests): the lines of `docs/protocol.md`, and the other lines the tests read.

/// The protocol version this crate speaks, the `v` of every message.
pub const PROTOCOL_VERSION: u32 = 1;

/// Protocol v2: after its hello, an agent declares its series once (`declare`) and then sends
/// only their values (`values`). A server speaks both, in the version of each agent's hello.
pub const PROTOCOL_V2: u32 = 2;

/// The longest line, in bytes without its newline, that a peer must accept.
///
/// A default [`Sample`](crate::sample::Sample) with every collection full and every name at its longest escapes to
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

/// The most samples one ack may cover: a server grants at most this many, whatever a hello's
/// `ack_every` asks, so that no agent holds more than this many merged samples unacknowledged
/// (after a reconnect, the welcome's `last_seq` tells it they were merged).
pub const MAX_ACK_EVERY: u32 = 64;

/// The longest error code an agent keeps; a longer one makes the line unreadable to it.
pub const MAX_CODE: usize = 32;

pub mod codes;
mod declare;
mod decode;
mod encode;
mod error;
mod fast;
mod flat;
mod framer;
mod messages;
mod series;
mod values;
#[cfg(test)]
pub(crate) mod vectors;

pub use declare::{Labels, MAX_LABELS, decode_declare, encode_declare};
pub(crate) use decode::read_server_line;
pub use decode::{Check, decode, decode_line, decode_line_into, decode_server_line, version_of};
pub use encode::{encode, encode_versioned};
pub(crate) use encode::{encode_body, encode_body_v};
pub use error::{DecodeError, EncodeError};
pub(crate) use flat::ServerLine;
pub use framer::{Decoder, FeedResult, Framer, LineBuffer};
pub use messages::{
    Ack, AgentId, Auth, Challenge, Code, ErrorMessage, Hello, Message, SampleMessage,
    ServerMessage, Text, Welcome, valid_id,
};
pub use values::{Item, ValuesHeader, ValuesWriter, decode_items, decode_values, delta};
