//! One HTTP connection, on a thread of its own: read a head under its deadline, answer it under
//! the write deadline, and again while the client keeps the connection (pipelined requests are
//! answered in order from what was already read).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::Instant;

use super::Shared;
use super::auth::Verdict;
use super::io::{Io, Socket};
use super::request::{self, MAX_HEAD};
use super::routes;
use super::table::Slot;

/// What reading the next head came to.
enum Next {
    /// A whole head of this many bytes is at the start of the buffer.
    Head(usize),
    /// The client closed the connection, or it was evicted, or it failed.
    Gone,
    /// The deadline passed; `started` if part of a head had come.
    TimedOut { started: bool },
    /// The head passed [`MAX_HEAD`].
    TooLarge,
    /// TLS failed (a bad handshake, a record that does not decrypt).
    Tls,
}

/// Serves one accepted connection until it closes or a deadline passes.
pub fn serve(stream: Arc<TcpStream>, slot: Slot, shared: &Shared) {
    shared.metrics.open.inc();
    let accepted = Instant::now();
    let socket = Socket {
        stream: stream.clone(),
        deadline: accepted + shared.limits.header_timeout,
    };
    let io = match &shared.web.tls {
        None => Some(Io::Plain(socket)),
        Some(tls) => start_tls(socket, tls, shared),
    };
    if let Some(io) = io {
        let mut conn = Conn {
            io,
            buf: vec![0; MAX_HEAD].into_boxed_slice(),
            len: 0,
            shared,
            slot: &slot,
        };
        conn.run();
        conn.io.close();
    }
    let _ = stream.shutdown(Shutdown::Both);
    shared.metrics.open.dec();
}

/// Starts TLS on a connection, or answers a plain HTTP request on a TLS port with a plain 400
/// that says so (as Go's servers do) and closes it.
fn start_tls(socket: Socket, tls: &Arc<rustls::ServerConfig>, shared: &Shared) -> Option<Io> {
    let mut first = [0u8; 1];
    let left = socket
        .deadline
        .saturating_duration_since(Instant::now())
        .max(std::time::Duration::from_millis(1));
    socket.stream.set_read_timeout(Some(left)).ok()?;
    match socket.stream.peek(&mut first) {
        // A TLS handshake record.
        Ok(1) if first[0] == 0x16 => {}
        Ok(1) if first[0].is_ascii_alphabetic() => {
            shared.metrics.refused("tls");
            // The head that came is taken first (one read, at most a head's worth): closing
            // with it unread would reset the connection and lose the answer.
            let mut head = [0u8; MAX_HEAD];
            let _ = socket
                .stream
                .set_read_timeout(Some(std::time::Duration::from_millis(50)));
            let _ = (&*socket.stream).read(&mut head);
            let _ = (&*socket.stream).write_all(
                b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
                  Connection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n",
            );
            return None;
        }
        Ok(_) => {
            shared.metrics.refused("tls");
            return None;
        }
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            shared.metrics.refused("header_timeout");
            return None;
        }
        Err(_) => return None,
    }
    let conn = rustls::ServerConnection::new(tls.clone()).ok()?;
    Some(Io::Tls(Box::new(rustls::StreamOwned::new(conn, socket))))
}

/// A connection being served.
struct Conn<'a> {
    /// Its stream, whose deadline each phase sets.
    io: Io,
    /// Bytes read and not yet consumed: the head being read, and any pipelined after it. A
    /// head must fit, so this is all a connection ever holds of what its client sends.
    buf: Box<[u8]>,
    /// How many of `buf` hold data.
    len: usize,
    /// The limits, the views, the web config, the counters.
    shared: &'a Shared,
    /// Its place in the table: marked waiting while it reads, busy while it answers.
    slot: &'a Slot,
}

impl Conn<'_> {
    fn run(&mut self) {
        let limits = self.shared.limits;
        let mut first = true;
        loop {
            let next = self.read_head(first);
            first = false;
            let n = match next {
                Next::Head(n) => n,
                Next::Gone => return,
                Next::TimedOut { started } => {
                    if started {
                        self.shared.metrics.refused("header_timeout");
                    }
                    return;
                }
                Next::TooLarge => {
                    self.shared.metrics.refused("header_too_large");
                    self.refuse((431, "Request Header Fields Too Large"));
                    return;
                }
                Next::Tls => {
                    self.shared.metrics.refused("tls");
                    return;
                }
            };
            if !self.slot.busy() {
                return;
            }
            let now = Instant::now();
            self.io.set_deadline(now + limits.write_timeout);
            let Some(keep) = self.answer(n, now) else {
                return;
            };
            self.buf.copy_within(n..self.len, 0);
            self.len -= n;
            if !keep {
                return;
            }
        }
    }

    /// Answers the head of `n` bytes at the start of the buffer; whether the connection may
    /// go on, or `None` when it failed.
    fn answer(&mut self, n: usize, now: Instant) -> Option<bool> {
        let shared = self.shared;
        let head = match request::parse(self.buf.get(..n).unwrap_or_default()) {
            Ok(head) => head,
            Err(refusal) => {
                shared.metrics.refused(refusal.reason());
                let status = refusal.status();
                let io = &mut self.io;
                refuse(io, shared, status);
                return None;
            }
        };
        let keep_alive = head.keep_alive;
        let io = &mut self.io;
        // `/healthz` answers without credentials or rate limit: a container's health check must
        // reach it, and it tells nothing but whether the server's threads turn.
        if head.path != "/healthz" {
            if shared.web.rate_limit.as_ref().is_some_and(|r| !r.allow()) {
                shared.metrics.refused("rate_limited");
                let sent = routes::simple(
                    io,
                    shared,
                    (429, "Too Many Requests"),
                    &[],
                    "too many requests\n",
                    keep_alive,
                    false,
                );
                return written(shared, sent.map(|()| keep_alive));
            }
            if let Some(users) = &shared.web.users {
                match users.check(head.authorization, now + shared.limits.header_timeout) {
                    Verdict::Allowed => {}
                    Verdict::Denied => {
                        shared.metrics.refused("unauthorized");
                        let sent = routes::simple(
                            io,
                            shared,
                            (401, "Unauthorized"),
                            &[("WWW-Authenticate", "Basic")],
                            "unauthorized\n",
                            keep_alive,
                            false,
                        );
                        return written(shared, sent.map(|()| keep_alive));
                    }
                    Verdict::Busy => {
                        shared.metrics.refused("busy");
                        refuse(io, shared, (503, "Service Unavailable"));
                        return None;
                    }
                }
            }
        }
        written(shared, routes::answer(io, &head, keep_alive, shared))
    }

    /// Reads until a whole head is at the start of the buffer. The first head's deadline runs
    /// from the accept (a TLS handshake included); a later one's from its first byte, after
    /// waiting up to the idle timeout for it.
    fn read_head(&mut self, first: bool) -> Next {
        let limits = self.shared.limits;
        let mut started = self.len > 0;
        if !first {
            let now = Instant::now();
            self.io.set_deadline(if started {
                now + limits.header_timeout
            } else {
                now + limits.idle_timeout
            });
        }
        loop {
            if let Some(n) = request::head_len(self.buf.get(..self.len).unwrap_or_default()) {
                return Next::Head(n);
            }
            let Some(spare) = self.buf.get_mut(self.len..).filter(|s| !s.is_empty()) else {
                return Next::TooLarge;
            };
            // Only now, with no whole request in hand, does the connection wait on its client
            // (and may make way for another): pipelined requests are answered first.
            self.slot.waiting();
            match self.io.read(spare) {
                Ok(0) => return Next::Gone,
                Ok(n) => {
                    self.len += n;
                    if !started && !first {
                        self.io.set_deadline(Instant::now() + limits.header_timeout);
                    }
                    started = true;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::TimedOut => {
                    // A connection that never sent a byte counts as one that timed out.
                    return Next::TimedOut {
                        started: started || first,
                    };
                }
                Err(e) if e.kind() == ErrorKind::InvalidData => return Next::Tls,
                Err(_) => return Next::Gone,
            }
        }
    }

    fn refuse(&mut self, status: (u16, &str)) {
        self.io
            .set_deadline(Instant::now() + self.shared.limits.write_timeout);
        refuse(&mut self.io, self.shared, status);
    }
}

/// What a response's writing came to: whether the connection goes on, `None` if it failed
/// (counted when the write deadline passed).
fn written(shared: &Shared, result: std::io::Result<bool>) -> Option<bool> {
    match result {
        Ok(keep) => Some(keep),
        Err(e) => {
            if e.kind() == ErrorKind::TimedOut {
                shared.metrics.refused("write_timeout");
            }
            None
        }
    }
}

/// Answers with `status` and closes: the rest of what the client sends is never read.
fn refuse(io: &mut Io, shared: &Shared, (status, reason): (u16, &str)) {
    let body = format!("{reason}\n").to_lowercase();
    let _ = routes::simple(io, shared, (status, reason), &[], &body, false, false);
}
