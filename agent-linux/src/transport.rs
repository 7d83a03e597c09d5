//! [`TcpTransport`]: the agent-core [`Transport`] over a TCP socket that never blocks.
//!
//! The agent samples on the same thread, so nothing here waits on the network: a connection is
//! started by `connect` and finished by later polls ([`Transport::poll_connect`]) (a server's
//! name is resolved on a thread of its own, as the system's resolver can only wait), and lines go
//! into an outbox of our own that the socket takes as it can ([`Transport::can_send`] says "not
//! now" when it is full). A connection whose bytes stop moving is given up after
//! [`STALL_TIMEOUT`], so that the agent reconnects; its samples wait in the agent's ring.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use agent_core::transport::{Transport, TransportError};
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::net::{AddressFamily, SocketFlags, SocketType, sockopt};

/// How long one connection attempt to one address may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long resolving a server's name may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long bytes may wait, in the outbox for the socket to take them or in the socket for the
/// server to acknowledge them (`TCP_USER_TIMEOUT`), before the connection counts as lost.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes the outbox holds before it says "not now": a few samples, on top of the socket's own
/// buffer. A line longer than this still goes, alone.
const OUTBOX: usize = 64 * 1024;

/// Translates a socket error into the core's error kind.
pub fn error_kind(e: &io::Error) -> TransportError {
    match e.kind() {
        ErrorKind::ConnectionRefused => TransportError::Refused,
        ErrorKind::TimedOut | ErrorKind::WouldBlock => TransportError::TimedOut,
        ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::BrokenPipe
        | ErrorKind::WriteZero => TransportError::Reset,
        ErrorKind::UnexpectedEof => TransportError::Closed,
        ErrorKind::NotConnected => TransportError::NotConnected,
        ErrorKind::HostUnreachable
        | ErrorKind::NetworkUnreachable
        | ErrorKind::AddrNotAvailable
        | ErrorKind::NotFound => TransportError::Unreachable,
        _ => TransportError::Other,
    }
}

/// The socket, by how far the connection has got.
#[derive(Debug)]
enum Socket {
    Closed,
    /// The server's name is being resolved since `since`, by [`TcpTransport::resolver`].
    Resolving {
        since: Instant,
    },
    /// A non-blocking connect to one address is under way since `since`.
    Connecting {
        socket: OwnedFd,
        since: Instant,
    },
    Open(TcpStream),
}

/// A TCP connection to one of several servers, tried in turn, that never blocks.
#[derive(Debug)]
pub struct TcpTransport {
    /// `HOST:PORT` of each server, in order of preference.
    servers: Vec<String>,
    /// The server the next `connect` tries.
    next: usize,
    /// The server of the current or last connection.
    current: usize,
    /// The current server's addresses not tried yet, the next one last.
    addresses: Vec<SocketAddr>,
    /// A resolution under way: the index of the server whose name it is, and where its answer
    /// comes. Kept when a connection attempt is given up, so that a resolver that hangs is
    /// asked again only once it has answered.
    resolver: Option<(usize, Receiver<io::Result<Vec<SocketAddr>>>)>,
    socket: Socket,
    /// Bytes sent that the socket has not taken yet, whole lines but for the last.
    outbox: Vec<u8>,
    /// Since when the outbox has held bytes the socket would not take.
    stalled_since: Option<Instant>,
    /// How long the outbox may not move before the connection counts as lost:
    /// [`STALL_TIMEOUT`].
    stall_timeout: Duration,
    /// Why the open connection failed, found while writing where no error could be returned;
    /// the next `send` or `receive` returns it.
    failed: Option<TransportError>,
}

impl TcpTransport {
    /// A transport for `servers` (at least one), not yet connected.
    pub fn new(servers: Vec<String>) -> Self {
        TcpTransport {
            servers,
            next: 0,
            current: 0,
            addresses: Vec::new(),
            resolver: None,
            socket: Socket::Closed,
            // Once, for good: a full outbox and the longest line.
            outbox: Vec::with_capacity(OUTBOX + agent_core::wire::MAX_LINE + 128),
            stalled_since: None,
            stall_timeout: STALL_TIMEOUT,
            failed: None,
        }
    }

    /// This transport, giving up a connection whose outbox has not moved for `timeout`
    /// instead of [`STALL_TIMEOUT`] (the socket's own `TCP_USER_TIMEOUT` stays that).
    #[must_use]
    pub fn with_stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = timeout;
        self
    }

    /// The server of the current (or last tried) connection.
    pub fn server(&self) -> &str {
        self.servers.get(self.current).map_or("", String::as_str)
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        matches!(self.socket, Socket::Open(_))
    }

    /// Bytes waiting for the socket to take them.
    pub fn queued(&self) -> usize {
        self.outbox.len()
    }

    /// Blocks until there is something to do, or `timeout` has passed: the server has sent
    /// something (or closed), a connection under way has opened or failed, or the socket can
    /// take more of the outbox.
    pub fn wait(&self, timeout: Duration) {
        let (fd, events): (BorrowedFd<'_>, _) = match &self.socket {
            Socket::Closed | Socket::Resolving { .. } => return std::thread::sleep(timeout),
            Socket::Connecting { socket, .. } => (socket.as_fd(), PollFlags::OUT),
            Socket::Open(_) if self.failed.is_some() => return,
            Socket::Open(stream) if self.outbox.is_empty() => (stream.as_fd(), PollFlags::IN),
            Socket::Open(stream) => (stream.as_fd(), PollFlags::IN | PollFlags::OUT),
        };
        let timeout = Timespec::try_from(timeout).ok();
        // An error or a signal ends the wait early, which costs one more turn of the loop.
        let _ = rustix::event::poll(
            &mut [PollFd::from_borrowed_fd(fd, events)],
            timeout.as_ref(),
        );
    }

    /// Starts connecting to the current server's next address; when none is left, fails with
    /// `last`, the error of the address before, and moves on to the next server.
    fn start_next(&mut self, mut last: io::Error) -> Result<(), TransportError> {
        while let Some(address) = self.addresses.pop() {
            match start(address) {
                Ok(socket) => {
                    self.socket = Socket::Connecting {
                        socket,
                        since: Instant::now(),
                    };
                    return Ok(());
                }
                Err(e) => last = e,
            }
        }
        self.socket = Socket::Closed;
        self.next = (self.current + 1) % self.servers.len().max(1);
        Err(error_kind(&last))
    }

    /// Once the server's name is resolved, starts connecting to its first address.
    fn poll_resolve(&mut self, since: Instant) -> Result<(), TransportError> {
        let answer = match self.resolver.as_ref().map(|(_, answer)| answer.try_recv()) {
            Some(Err(TryRecvError::Empty)) if since.elapsed() < RESOLVE_TIMEOUT => return Ok(()),
            Some(Err(TryRecvError::Empty)) => {
                let slow = io::Error::new(ErrorKind::TimedOut, "resolving the name timed out");
                return self.start_next(slow);
            }
            Some(Ok(answer)) => answer,
            Some(Err(TryRecvError::Disconnected)) | None => Err(io::Error::other("no resolver")),
        };
        self.resolver = None;
        match answer {
            Ok(mut addresses) => {
                addresses.reverse();
                self.addresses = addresses;
                self.start_next(nothing())
            }
            Err(e) => self.start_next(e),
        }
    }

    /// Writes what the socket takes of the outbox, without waiting.
    ///
    /// # Errors
    /// Why the connection failed, [`TransportError::TimedOut`] when the outbox has not moved
    /// for the stall timeout; the error is kept for later calls.
    fn flush(&mut self) -> Result<(), TransportError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let Socket::Open(stream) = &mut self.socket else {
            return Ok(());
        };
        let mut written = 0;
        let result = loop {
            let Some(rest) = self.outbox.get(written..).filter(|r| !r.is_empty()) else {
                break Ok(());
            };
            match stream.write(rest) {
                Ok(0) => break Err(TransportError::Reset),
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => break Err(error_kind(&e)),
            }
        };
        self.outbox.drain(..written.min(self.outbox.len()));
        let now = Instant::now();
        self.stalled_since = match self.stalled_since {
            _ if self.outbox.is_empty() => None,
            Some(since) if written == 0 => Some(since),
            _ => Some(now),
        };
        let stalled = self
            .stalled_since
            .is_some_and(|since| now.duration_since(since) >= self.stall_timeout);
        let result = result.and(if stalled {
            Err(TransportError::TimedOut)
        } else {
            Ok(())
        });
        if let Err(e) = result {
            self.failed = Some(e);
        }
        result
    }
}

/// The error of a name that resolves to no address.
fn nothing() -> io::Error {
    io::Error::new(ErrorKind::NotFound, "address resolves to nothing")
}

/// A non-blocking socket connecting to `address`.
fn start(address: SocketAddr) -> io::Result<OwnedFd> {
    let family = match address {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let socket = rustix::net::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    match rustix::net::connect(&socket, &address) {
        Ok(()) | Err(rustix::io::Errno::INPROGRESS) => Ok(socket),
        Err(e) => Err(e.into()),
    }
}

/// Whether a connect under way has finished (opened or failed).
fn finished(socket: &OwnedFd) -> bool {
    let mut fds = [PollFd::new(socket, PollFlags::OUT)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    matches!(rustix::event::poll(&mut fds, Some(&zero)), Ok(n) if n > 0)
}

/// The socket of a finished connect, as a stream ready for use.
fn opened(socket: OwnedFd) -> io::Result<TcpStream> {
    sockopt::socket_error(&socket)??;
    let user_timeout = u32::try_from(STALL_TIMEOUT.as_millis()).unwrap_or(u32::MAX);
    sockopt::set_tcp_user_timeout(&socket, user_timeout)?;
    let stream = TcpStream::from(socket);
    stream.set_nodelay(true)?;
    Ok(stream)
}

impl Transport for TcpTransport {
    fn connect(&mut self) -> Result<(), TransportError> {
        self.disconnect();
        self.current = self.next;
        let address = self
            .servers
            .get(self.current)
            .ok_or(TransportError::Unreachable)?;
        if let Ok(address) = address.parse::<SocketAddr>() {
            self.addresses = vec![address];
            return self.start_next(nothing());
        }
        if self
            .resolver
            .as_ref()
            .is_none_or(|(of, _)| *of != self.current)
        {
            let (tell, answer) = mpsc::channel();
            let name = address.clone();
            std::thread::Builder::new()
                .name("vitals-resolve".into())
                .spawn(move || {
                    let _ = tell.send(name.to_socket_addrs().map(Iterator::collect));
                })
                .map_err(|e| error_kind(&e))?;
            self.resolver = Some((self.current, answer));
        }
        self.socket = Socket::Resolving {
            since: Instant::now(),
        };
        Ok(())
    }

    /// The next connect tries the server after this one: a server that is stopping would
    /// refuse, or (a host gone with it) not answer until the connect timeout.
    fn fail_over(&mut self) {
        self.next = (self.current + 1) % self.servers.len().max(1);
    }

    fn poll_connect(&mut self) -> Result<bool, TransportError> {
        let since = match &self.socket {
            Socket::Open(_) => return Ok(true),
            Socket::Closed => return Err(TransportError::NotConnected),
            Socket::Resolving { since } => return self.poll_resolve(*since).map(|()| false),
            Socket::Connecting { socket, .. } if finished(socket) => None,
            Socket::Connecting { since, .. } => Some(*since),
        };
        if let Some(since) = since {
            if since.elapsed() < CONNECT_TIMEOUT {
                return Ok(false);
            }
            let silent = io::Error::new(ErrorKind::TimedOut, "connect timed out");
            return self.start_next(silent).map(|()| false);
        }
        let Socket::Connecting { socket, .. } = std::mem::replace(&mut self.socket, Socket::Closed)
        else {
            return Err(TransportError::NotConnected);
        };
        match opened(socket) {
            Ok(stream) => {
                self.socket = Socket::Open(stream);
                self.addresses.clear();
                Ok(true)
            }
            Err(e) => self.start_next(e).map(|()| false),
        }
    }

    fn can_send(&mut self, len: usize) -> bool {
        // After a failure, yes: `send` then says why, and the connection is given up at once.
        if !self.is_connected() || self.flush().is_err() {
            return true;
        }
        self.outbox.is_empty() || self.outbox.len().saturating_add(len) <= OUTBOX
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        if !self.is_connected() {
            return Err(TransportError::NotConnected);
        }
        if let Some(e) = self.failed {
            return Err(e);
        }
        self.outbox.extend_from_slice(bytes);
        // A line may come in pieces (a sealed one does): written once it is whole.
        if bytes.ends_with(b"\n") {
            self.flush()?;
        }
        Ok(())
    }

    fn receive(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        // Every poll comes here: the outbox moves on, and a stall is noticed.
        self.flush()?;
        let Socket::Open(stream) = &mut self.socket else {
            return Err(TransportError::NotConnected);
        };
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
        match std::mem::replace(&mut self.socket, Socket::Closed) {
            Socket::Open(stream) => {
                let _ = stream.shutdown(Shutdown::Both);
            }
            // Given up before it opened: that server failed, the next one is tried next.
            Socket::Resolving { .. } | Socket::Connecting { .. } => {
                self.next = (self.current + 1) % self.servers.len().max(1);
            }
            Socket::Closed => {}
        }
        self.addresses.clear();
        self.outbox.clear();
        self.stalled_since = None;
        self.failed = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Polls `t` until its connection has opened or failed.
    fn open(t: &mut TcpTransport) -> Result<(), TransportError> {
        t.connect()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if t.poll_connect()? {
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "connect neither opened nor failed"
            );
            t.wait(Duration::from_millis(100));
        }
    }

    #[test]
    fn an_unreachable_server_is_skipped_for_the_next() {
        // A port that was just free: nothing listens there.
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let open_one = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut t = TcpTransport::new(vec![
            closed.to_string(),
            open_one.local_addr().unwrap().to_string(),
        ]);
        assert_eq!(open(&mut t), Err(TransportError::Refused));
        assert_eq!(open(&mut t), Ok(()));
        assert_eq!(t.server(), open_one.local_addr().unwrap().to_string());
        let (mut peer, _) = open_one.accept().unwrap();
        t.send(b"hello\n").unwrap();
        let mut got = [0u8; 6];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello\n");
        let mut buf = [0u8; 16];
        assert_eq!(t.receive(&mut buf), Ok(0), "nothing yet, without blocking");
        peer.write_all(b"ok\n").unwrap();
        t.wait(Duration::from_secs(5));
        assert_eq!(t.receive(&mut buf), Ok(3));
        drop(peer);
        t.wait(Duration::from_secs(5));
        assert_eq!(t.receive(&mut buf), Err(TransportError::Closed));
    }

    #[test]
    fn a_name_is_resolved_aside_and_each_of_its_addresses_tried() {
        // `localhost` may resolve to ::1 first, where nothing listens: then 127.0.0.1 is tried.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut t = TcpTransport::new(vec![format!("localhost:{port}")]);
        assert_eq!(t.connect(), Ok(()));
        assert!(matches!(t.socket, Socket::Resolving { .. }));
        assert_eq!(open(&mut t), Ok(()));
        let (_peer, from) = listener.accept().unwrap();
        assert!(from.ip().is_loopback());
        let mut t = TcpTransport::new(vec!["no-such-host.invalid:7450".into()]);
        assert!(open(&mut t).is_err(), "a name that resolves to nothing");
    }

    #[test]
    fn failing_over_tries_the_next_server_first() {
        let (first, second) = (
            TcpListener::bind("127.0.0.1:0").unwrap(),
            TcpListener::bind("127.0.0.1:0").unwrap(),
        );
        let mut t = TcpTransport::new(vec![
            first.local_addr().unwrap().to_string(),
            second.local_addr().unwrap().to_string(),
        ]);
        open(&mut t).unwrap();
        assert_eq!(t.server(), first.local_addr().unwrap().to_string());
        // Lost without a word: the same server again.
        t.disconnect();
        open(&mut t).unwrap();
        assert_eq!(t.server(), first.local_addr().unwrap().to_string());
        // It said it is going away: the next one, and back to the first after it.
        t.fail_over();
        open(&mut t).unwrap();
        assert_eq!(t.server(), second.local_addr().unwrap().to_string());
        t.fail_over();
        open(&mut t).unwrap();
        assert_eq!(t.server(), first.local_addr().unwrap().to_string());
    }

    #[test]
    fn a_server_that_does_not_read_fills_the_outbox_and_nothing_blocks() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut t = TcpTransport::new(vec![listener.local_addr().unwrap().to_string()]);
        open(&mut t).unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        // Lines until the transport says "not now": the socket's buffers, then the outbox,
        // are full; each call returns at once.
        let line = [b"x".repeat(2047), b"\n".to_vec()].concat();
        let started = Instant::now();
        let mut lines = 0usize;
        while t.can_send(line.len()) {
            t.send(&line).unwrap();
            lines += 1;
            assert!(lines < 100_000, "the transport never said not now");
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        // The socket may have taken part of a line; the rest waits behind it in the outbox.
        assert!(t.queued() > OUTBOX - line.len() && t.queued() <= OUTBOX);
        // The server reads again: every line arrives, whole and in order. The reader hands its
        // socket back rather than closing it, so that the transport never sees the peer gone.
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            let mut buf = [0u8; 65536];
            while all.len() < lines * 2048 {
                let n = peer.read(&mut buf).unwrap();
                assert!(n > 0);
                all.extend_from_slice(&buf[..n]);
            }
            (all, peer)
        });
        let mut buf = [0u8; 16];
        while t.queued() > 0 {
            t.wait(Duration::from_millis(100));
            assert_eq!(t.receive(&mut buf), Ok(0));
        }
        let (all, _peer) = reader.join().unwrap();
        assert_eq!(all.len(), lines * 2048);
        assert!(all.chunks(2048).all(|l| l == line.as_slice()));
    }

    #[test]
    fn a_connection_whose_bytes_do_not_move_is_given_up() {
        // Small, fixed socket buffers, so that a peer that does not read stops the bytes soon
        // (loopback's would grow to megabytes).
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        sockopt::set_socket_recv_buffer_size(&listener, 4096).unwrap();
        let stall = Duration::from_millis(300);
        let mut t = TcpTransport::new(vec![listener.local_addr().unwrap().to_string()])
            .with_stall_timeout(stall);
        open(&mut t).unwrap();
        let (_peer, _) = listener.accept().unwrap();
        let Socket::Open(stream) = &t.socket else {
            panic!("not open")
        };
        sockopt::set_socket_send_buffer_size(stream, 4096).unwrap();
        let line = [b"y".repeat(4095), b"\n".to_vec()].concat();
        let started = Instant::now();
        let mut buf = [0u8; 16];
        let lost = loop {
            while t.can_send(line.len()) && t.send(&line).is_ok() {}
            t.wait(Duration::from_millis(50));
            match t.receive(&mut buf) {
                Ok(0) => assert!(started.elapsed() < stall * 10, "never given up"),
                other => break other,
            }
        };
        assert_eq!(lost, Err(TransportError::TimedOut));
        assert!(started.elapsed() >= stall);
        // Every later call says so, until the agent reconnects.
        assert!(t.can_send(line.len()));
        assert_eq!(t.send(&line), Err(TransportError::TimedOut));
        t.disconnect();
        assert_eq!(t.queued(), 0);
    }

    #[test]
    fn a_silent_server_is_given_up_without_blocking() {
        // A listener whose accept queue is full drops new SYNs: a server that never answers.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        rustix::net::listen(&listener, 0).unwrap();
        let address = listener.local_addr().unwrap();
        let fill: Vec<_> = (0..3)
            .filter_map(|_| TcpStream::connect_timeout(&address, Duration::from_millis(300)).ok())
            .collect();
        assert!(!fill.is_empty());
        let mut t = TcpTransport::new(vec![address.to_string()]);
        let started = Instant::now();
        assert_eq!(t.connect(), Ok(()));
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "connect waited"
        );
        let mut polls = 0;
        let result = loop {
            let polled = Instant::now();
            match t.poll_connect() {
                Ok(false) => {}
                other => break other,
            }
            assert!(
                polled.elapsed() < Duration::from_millis(50),
                "poll_connect waited"
            );
            polls += 1;
            t.wait(Duration::from_millis(250));
        };
        assert_eq!(result, Err(TransportError::TimedOut));
        assert!(polls >= 10, "{polls}");
        let took = started.elapsed();
        assert!(took >= CONNECT_TIMEOUT && took < CONNECT_TIMEOUT + Duration::from_secs(1));
    }
}
