//! `transport`: how the agent reaches its server, whatever carries the bytes.
//!
//! A TCP socket on Linux, a UART or a smoltcp socket on a board: the [`crate::agent::Agent`]
//! only needs these four operations, and reacts to a failure by its [`TransportError`] kind.

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
    /// # Errors
    /// Why no connection could be made.
    fn connect(&mut self) -> Result<(), TransportError>;

    /// Sends all of `bytes`.
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
}
