//! The core of the vitals agent: `no_std`, no `alloc`, no I/O and no clock of its own.
//!
//! Layers, each depending only on those above it:
//!
//! - [`time`]: [`Instant`](time::Instant), milliseconds the caller counts, and
//!   [`parse_duration`](time::parse_duration) for flags.
//! - [`sample`]: [`Sample`](sample::Sample), one fixed-size snapshot of a machine. Bounded
//!   collections; what does not fit is counted, never a panic.
//! - [`wire`]: the protocol, newline-delimited JSON. [`encode`](fn@wire::encode) writes into a
//!   caller's buffer, [`Decoder`](wire::Decoder) reads a stream cut anywhere with a fixed buffer.
//!   Never panics on any input.
//! - [`auth`]: pre-shared keys, the challenge and response that prove an agent's id, and the
//!   seals that keep later lines from being forged (HMAC-SHA256).
//! - [`transport`]: the [`Transport`](transport::Transport) trait, so the same core runs over a
//!   TCP socket, a UART or a smoltcp socket.
//! - [`agent`]: [`Agent`](agent::Agent), the connection state machine. Time is passed in, so it
//!   runs on any clock and its tests need no sleeps.
//!
//! Nothing here allocates: every buffer is a fixed-size array on the stack or in the agent.
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
pub mod sample;
pub mod time;
pub mod transport;
pub mod wire;
