//! The messages, one struct per kind, as [`encode`](fn@super::encode) writes them and the
//! decoders read them; [`Message`] is any of them, [`ServerMessage`] any a server sends.

use heapless::String;
use serde::{Deserialize, Serialize};

use super::{MAX_CODE, MAX_ID, MAX_TEXT};
use crate::sample::Sample;

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
    /// left out on the wire then: an ack for every sample. A server grants at most
    /// [`MAX_ACK_EVERY`](super::MAX_ACK_EVERY).
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
    /// 1 when the server reads v2 `values` lines that leave out the values they share with the
    /// previous one (`same`); not written when 0, which older servers are.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub same: u64,
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
    /// A stable code from [`codes`](super::codes).
    pub code: Text,
    /// What went wrong, for a person.
    pub message: Text,
}

/// An [`ErrorMessage`]'s code, as an agent keeps it: the codes are short identifiers.
pub type Code = String<MAX_CODE>;

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

/// What a server sends an agent, every field of it, as [`decode_server_line`] reads it: the
/// agent's side of the protocol decodes only these, so a board carries neither the sample nor
/// the hello parser. The agent itself keeps less of a line (its numbers, a nonce, an error's
/// code), read by the same reader, so that it holds a small value on its stack.
///
/// [`decode_server_line`]: super::decode_server_line
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
