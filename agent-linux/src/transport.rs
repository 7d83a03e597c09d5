//! [`TcpTransport`]: the agent-core [`Transport`] over `std::net`.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::Duration;

use agent_core::transport::{Transport, TransportError};

/// How long one connection attempt to one address may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long sending one line may block before the connection counts as lost.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Translates a socket error into the core's error kind.
pub fn error_kind(e: &io::Error) -> TransportError {
    match e.kind() {
        ErrorKind::ConnectionRefused => TransportError::Refused,
        ErrorKind::TimedOut | ErrorKind::WouldBlock => TransportError::TimedOut,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            TransportError::Reset
        }
        ErrorKind::UnexpectedEof => TransportError::Closed,
        ErrorKind::NotConnected => TransportError::NotConnected,
        ErrorKind::HostUnreachable
        | ErrorKind::NetworkUnreachable
        | ErrorKind::AddrNotAvailable
        | ErrorKind::NotFound => TransportError::Unreachable,
        _ => TransportError::Other,
    }
}

/// A TCP connection to one of several servers, tried in turn.
#[derive(Debug)]
pub struct TcpTransport {
    /// `HOST:PORT` of each server, in order of preference.
    servers: Vec<String>,
    /// The server the next `connect` tries.
    next: usize,
    /// The server of the current or last connection.
    current: usize,
    stream: Option<TcpStream>,
}

impl TcpTransport {
    /// A transport for `servers` (at least one), not yet connected.
    pub fn new(servers: Vec<String>) -> Self {
        TcpTransport {
            servers,
            next: 0,
            current: 0,
            stream: None,
        }
    }

    /// The server of the current (or last tried) connection.
    pub fn server(&self) -> &str {
        self.servers.get(self.current).map_or("", String::as_str)
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.stream.is_some()
    }

    /// Blocks until the server has sent something (or closed), or `timeout` has passed.
    pub fn wait_readable(&self, timeout: Duration) {
        let Some(stream) = &self.stream else {
            std::thread::sleep(timeout);
            return;
        };
        let timeout = timeout.max(Duration::from_millis(1));
        if stream.set_nonblocking(false).is_err() || stream.set_read_timeout(Some(timeout)).is_err()
        {
            std::thread::sleep(timeout);
            return;
        }
        let _ = stream.peek(&mut [0u8; 1]);
        let _ = stream.set_nonblocking(true);
    }

    fn open(address: &str) -> io::Result<TcpStream> {
        let mut last = io::Error::new(ErrorKind::NotFound, "address resolves to nothing");
        for addr in address.to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    stream.set_nonblocking(true)?;
                    return Ok(stream);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

impl Transport for TcpTransport {
    fn connect(&mut self) -> Result<(), TransportError> {
        self.disconnect();
        self.current = self.next;
        let address = self
            .servers
            .get(self.current)
            .ok_or(TransportError::Unreachable)?;
        match Self::open(address) {
            Ok(stream) => {
                self.stream = Some(stream);
                Ok(())
            }
            Err(e) => {
                // Try the next server next time.
                self.next = (self.current + 1) % self.servers.len().max(1);
                Err(error_kind(&e))
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        let stream = self.stream.as_mut().ok_or(TransportError::NotConnected)?;
        // The socket is non-blocking for reads; a line is written whole, blocking for at most
        // the write timeout.
        let result = stream
            .set_nonblocking(false)
            .and_then(|()| stream.set_write_timeout(Some(WRITE_TIMEOUT)))
            .and_then(|()| stream.write_all(bytes))
            .and_then(|()| stream.set_nonblocking(true));
        result.map_err(|e| error_kind(&e))
    }

    fn receive(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        let stream = self.stream.as_mut().ok_or(TransportError::NotConnected)?;
        loop {
            return match stream.read(buf) {
                Ok(0) => Err(TransportError::Closed),
                Ok(n) => Ok(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(0),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => Err(error_kind(&e)),
            };
        }
    }

    fn disconnect(&mut self) {
        if let Some(stream) = self.stream.take() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn an_unreachable_server_is_skipped_for_the_next() {
        // A port that was just free: nothing listens there.
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let open = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut t = TcpTransport::new(vec![
            closed.to_string(),
            open.local_addr().unwrap().to_string(),
        ]);
        assert_eq!(t.connect(), Err(TransportError::Refused));
        assert_eq!(t.connect(), Ok(()));
        assert_eq!(t.server(), open.local_addr().unwrap().to_string());
        let (mut peer, _) = open.accept().unwrap();
        t.send(b"hello\n").unwrap();
        let mut got = [0u8; 6];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello\n");
        let mut buf = [0u8; 16];
        assert_eq!(t.receive(&mut buf), Ok(0), "nothing yet, without blocking");
        peer.write_all(b"ok\n").unwrap();
        t.wait_readable(Duration::from_secs(5));
        assert_eq!(t.receive(&mut buf), Ok(3));
        drop(peer);
        t.wait_readable(Duration::from_secs(5));
        assert_eq!(t.receive(&mut buf), Err(TransportError::Closed));
    }
}
