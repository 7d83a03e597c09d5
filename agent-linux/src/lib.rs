//! The vitals agent for Linux, a thin shim over `agent-core`: the collectors that read `/proc`
//! and `/sys` into a sample, what the agent says of itself in its hello, its key file, and
//! the core's transport over a TCP socket.

pub mod collect;
pub mod hello;
pub mod key_file;
pub mod transport;
