//! `transport`: how the agent reaches its server, whatever carries the bytes.
//!
//! A TCP socket on Linux, a UART or a smoltcp socket on a board: the [`crate::agent::Agent`]
//! only needs four operations, and reacts to a failure by its [`TransportError`] kind.
//!
//! A transport that must never keep the agent waiting (a non-blocking socket, so that sampling
//! goes on while the network is stuck) also implements the two provided methods:
//! [`Transport::poll_connect`] finishes a connection that [`Transport::connect`] only started,
//! and [`Transport::can_send`] says "not now" for a line, before any of it is handed over. Their
//! defaults suit a transport that waits (a UART that writes every byte it is given): connected
//! as soon as `connect` returns, and always ready to send.

use core::fmt;

/// Why a transport operation failed, by what the reconnect logic can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportError {
    /// Nobody listens at the server's address.
    Refused,
    /// The server did not answer in time.
    TimedOut,
    /// The connection was reset by the peer.
    Reset,
    /// The peer closed the connection.
    Closed,
    /// No route to the server, or its name does not resolve.
    Unreachable,
    /// Not connected: `send` or `receive` before `connect`.
    NotConnected,
    /// Anything else the transport cannot classify.
    Other,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportError::Refused => "connection refused",
            TransportError::TimedOut => "timed out",
            TransportError::Reset => "connection reset",
            TransportError::Closed => "connection closed by the server",
            TransportError::Unreachable => "server unreachable",
            TransportError::NotConnected => "not connected",
            TransportError::Other => "transport error",
        })
    }
}

impl core::error::Error for TransportError {}

/// A byte stream to the server.
///
/// Implementations must deliver the bytes of one connection in order and whole, or fail; the
/// agent's messages are lines, so the stream may split and join them in any way.
pub trait Transport {
    /// Opens a connection, closing any previous one. An implementation with several server
    /// addresses should try the next one after a failure.
    ///
    /// An implementation that does not wait may only start the connection here and return
    /// `Ok`; it then says from [`poll_connect`](Transport::poll_connect) when it is open.
    ///
    /// # Errors
    /// Why no connection could be made.
    fn connect(&mut self) -> Result<(), TransportError>;

    /// Finishes the connection [`connect`](Transport::connect) started, without waiting:
    /// `Ok(true)` once it is open, `Ok(false)` while it is still being made. The agent calls it
    /// after every successful `connect`, and again on each poll until it is open or fails; it
    /// sends nothing before.
    ///
    /// The default, for a transport whose `connect` returns only once connected, is `Ok(true)`.
    ///
    /// # Errors
    /// Why the connection could not be made; the agent then backs off as after a failed
    /// `connect`. An implementation should give up on its own after a timeout of its choice
    /// (the agent also gives up after its handshake timeout).
    fn poll_connect(&mut self) -> Result<bool, TransportError> {
        Ok(true)
    }

    /// Whether `len` more bytes can be handed to [`send`](Transport::send) now, without
    /// waiting. The agent asks before each sample's line, for the whole line, and sends the
    /// line (in one or several `send` calls) only after a `true`; after a `false` it keeps the
    /// line, and the ones after it, for a later poll. A line is thus sent whole or not at all.
    ///
    /// An implementation that says `false` must make progress by itself when the agent polls it
    /// ([`receive`](Transport::receive) is called on every poll) and must not say it forever
    /// on a dead connection: it reports the loss from `receive`, [`TransportError::TimedOut`]
    /// say, so that the agent reconnects. When it is empty it should accept any `len`, so that
    /// a line longer than its buffer still goes out.
    ///
    /// The default, for a transport whose `send` waits until the bytes are gone, is `true`.
    fn can_send(&mut self, len: usize) -> bool {
        let _ = len;
        true
    }

    /// Sends all of `bytes`. A transport that does not wait may keep them to be written later,
    /// in order; it must accept them whole after saying [`can_send`](Transport::can_send) for
    /// them, and also the agent's few other lines (`hello`, `auth`), for which it is not asked.
    ///
    /// # Errors
    /// Why they could not all be sent; the connection is then treated as lost.
    fn send(&mut self, bytes: &[u8]) -> Result<(), TransportError>;

    /// Reads what has arrived into `buf` without waiting; `Ok(0)` means nothing has.
    ///
    /// # Errors
    /// [`TransportError::Closed`] when the peer has closed, or why reading failed.
    fn receive(&mut self, buf: &mut [u8]) -> Result<usize, TransportError>;

    /// Closes the connection, if any.
    fn disconnect(&mut self);

    /// The server said it is going away (it is stopping): an implementation with several
    /// servers should try the next one first at the next [`connect`](Transport::connect),
    /// rather than the one that is stopping. The default does nothing.
    fn fail_over(&mut self) {}
}
