//! The I/O side: the acceptor, the I/O threads that serve agents' connections through epoll,
//! and each connection's protocol session. It reaches the aggregator only through
//! [`crate::shared`].

pub mod acceptor;
pub mod pacer;
pub mod session;
pub mod thread;
