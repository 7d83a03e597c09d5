//! The core of the vitals agent: `no_std`, no `alloc`, no I/O and no clock of its own.
//!
//! # Layers
//!
//! Each depends only on those above it. None allocates, reads a clock or panics on any input:
//! a bad input is an error value, and what does not fit is counted or refused.
//!
//! - [`time`]: [`Instant`](time::Instant), milliseconds on a clock the caller keeps, with
//!   saturating arithmetic; [`parse_duration`](time::parse_duration) for flags.
//! - [`sample`]: [`Sample`](sample::Sample), one fixed-size snapshot of a machine. Bounded
//!   collections; what does not fit is counted in the sample itself.
//! - [`wire`]: the protocol, newline-delimited JSON. [`encode`](fn@wire::encode) writes into a
//!   caller's buffer, [`Decoder`](wire::Decoder) reads a stream cut anywhere with a fixed buffer.
//!   A decoded message is checked: its values are within their meaning.
//! - [`auth`]: pre-shared keys, the challenge and response that prove an agent's id, and the
//!   seals that keep later lines from being forged (HMAC-SHA256). Without the `auth` feature a
//!   board carries none of it, and has no key to prove.
//! - [`transport`]: the [`Transport`](transport::Transport) trait, so the same core runs over a
//!   TCP socket, a UART or a smoltcp socket; its errors carry a kind the agent reacts to.
//! - [`agent`]: [`Agent`](agent::Agent), the connection state machine, in protocol v1 or v2
//!   (whose declarations it keeps beside the ring). Time is passed in, so it runs on any clock
//!   and its tests need no sleeps; it reads a bounded amount of what a server sends per poll
//!   and believes no ack or welcome for a sample it did not send.
//!
//! Every buffer is a fixed-size array on the stack or in the agent, or storage the caller lends
//! (the agent's ring).
#![no_std]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![warn(missing_docs)]

pub mod agent;
pub mod auth;
pub mod catalogue;
pub mod sample;
pub mod time;
pub mod transport;
pub mod wire;
