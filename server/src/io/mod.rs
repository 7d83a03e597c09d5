//! The I/O side: the acceptor, the I/O threads that serve agents' connections through epoll,
//! and each connection's protocol session. It reaches the aggregator only through
//! [`crate::shared`].
//!
//! # Layout
//! - [`acceptor`]: takes connections off the listener and hands them to the I/O threads.
//! - [`thread`]: an I/O thread, its connections and their sockets.
//! - [`session`]: one connection's protocol, without the socket.
//! - [`pacer`]: how long an I/O thread rests between passes.

pub mod acceptor;
pub mod pacer;
pub mod session;
pub mod thread;
