//! A connection's byte stream, plain or TLS, under a deadline: every read and write (a TLS
//! handshake's included) fails with `TimedOut` once the deadline has passed, however the bytes
//! trickle, so a client holds a connection only as long as the phase it is in allows.

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The socket under a deadline. The stream is shared with the connection table, which shuts it
/// down to evict the connection.
#[derive(Debug)]
pub struct Socket {
    /// The connection's socket.
    pub stream: Arc<TcpStream>,
    /// When the current phase (reading a head, writing a response) must be over.
    pub deadline: Instant,
}

impl Socket {
    /// The time left before the deadline, or `TimedOut` when none is.
    fn left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        // A zero timeout would mean none at all.
        Ok(left.max(Duration::from_millis(1)))
    }
}

/// A socket timeout reads as `WouldBlock` on Linux; either way the deadline is what passed.
fn timed_out(e: io::Error) -> io::Error {
    match e.kind() {
        ErrorKind::WouldBlock => ErrorKind::TimedOut.into(),
        _ => e,
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(self.left()?))?;
        (&*self.stream).read(buf).map_err(timed_out)
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(self.left()?))?;
        (&*self.stream).write(buf).map_err(timed_out)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A connection's stream: the socket itself, or TLS over it.
#[derive(Debug)]
pub enum Io {
    /// Plain HTTP.
    Plain(Socket),
    /// HTTPS: rustls' connection state over the socket (the handshake happens in the first
    /// read, under that read's deadline).
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, Socket>>),
}

impl Io {
    /// Sets the deadline of the phase that starts.
    pub fn set_deadline(&mut self, deadline: Instant) {
        match self {
            Io::Plain(socket) => socket.deadline = deadline,
            Io::Tls(tls) => tls.sock.deadline = deadline,
        }
    }

    /// Ends a TLS session with its close_notify (a plain socket has nothing to say); errors
    /// are ignored, as the connection is being closed anyway.
    pub fn close(&mut self) {
        if let Io::Tls(tls) = self {
            tls.conn.send_close_notify();
            let _ = tls.conn.complete_io(&mut tls.sock);
        }
    }
}

impl Read for Io {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Io::Plain(socket) => socket.read(buf),
            Io::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Io {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Io::Plain(socket) => socket.write(buf),
            Io::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Io::Plain(socket) => socket.flush(),
            Io::Tls(tls) => tls.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_read_past_its_deadline_times_out_however_the_bytes_trickle() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let start = Instant::now();
        let mut socket = Socket {
            stream: Arc::new(server),
            deadline: start + Duration::from_millis(300),
        };
        let trickle = std::thread::spawn(move || {
            for _ in 0..10 {
                if client.write_all(b"x").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let mut buf = [0u8; 16];
        let error = loop {
            match socket.read(&mut buf) {
                Ok(0) => panic!("closed before the deadline"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(error.kind(), ErrorKind::TimedOut);
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_millis(900),
            "{took:?}"
        );
        let _ = trickle.join();
    }
}
