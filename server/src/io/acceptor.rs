//! The acceptor: takes agents' connections off the listening socket and hands each to an I/O
//! thread in turn; past the limit of connections it refuses them (`unavailable`).

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use agent_core::sample::bounded;
use agent_core::wire::{self, ErrorMessage, Message, codes};
use rustix::event::epoll;

use crate::heartbeat::Heartbeat;
use crate::io::thread::IoHandle;
use crate::shared::{Batch, ConnId, Event, Mailbox, NewConnection};

/// How long the acceptor pauses after `accept` fails (out of descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// The accept queue: room for a whole fleet reconnecting at once (the kernel caps it at
/// `net.core.somaxconn`).
const BACKLOG: i32 = 4096;

/// The agents' listening socket, ready to be served.
#[derive(Debug)]
pub struct Acceptor {
    /// The agents' listener, non-blocking, with a [`BACKLOG`]-long queue. Dropped as the
    /// acceptor stops, so that the connections still queued are reset rather than left waiting.
    listener: TcpListener,
    /// Waits for the listener to be readable.
    epoll: OwnedFd,
    /// Connections served at once (`--max-connections`); past it, a new one is refused.
    max_connections: usize,
}

impl Acceptor {
    /// Readies `listener` for [`run`](Acceptor::run), which serves at most `max_connections`
    /// connections at once.
    ///
    /// # Errors
    /// When the listener cannot be made non-blocking, or epoll cannot start.
    pub fn new(listener: TcpListener, max_connections: usize) -> Result<Self, crate::Error> {
        listener.set_nonblocking(true)?;
        // Listening again only sets the queue length; std's default is 128.
        rustix::net::listen(&listener, BACKLOG)?;
        // Wait for connections in epoll rather than sleeping between tries: a fleet reconnecting
        // at once fills the accept queue within milliseconds, and a connection the kernel drops
        // for a full queue only tries again a second later.
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        epoll::add(
            &epoll,
            &listener,
            epoll::EventData::new_u64(0),
            epoll::EventFlags::IN,
        )?;
        Ok(Acceptor {
            listener,
            epoll,
            max_connections,
        })
    }

    /// Accepts connections until `shutdown` is set, handing them to `threads` in turn and
    /// counting them in `open` (which the I/O threads count down as they close them); refusals
    /// are counted through `events`. Then stops accepting and wakes every thread to close its
    /// connections.
    pub fn run(
        self,
        threads: &[IoHandle],
        events: Mailbox,
        open: &AtomicUsize,
        shutdown: &AtomicBool,
        heartbeat: &Heartbeat,
    ) {
        let mut ready: Vec<epoll::Event> = Vec::with_capacity(4);
        let timeout = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: 250_000_000,
        };
        let mut next_conn: ConnId = 1;
        while !shutdown.load(Ordering::Relaxed) {
            heartbeat.beat();
            ready.clear();
            let _ = epoll::wait(
                &self.epoll,
                rustix::buffer::spare_capacity(&mut ready),
                Some(&timeout),
            );
            loop {
                let (stream, peer) = match self.listener.accept() {
                    Ok(accepted) => accepted,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => {
                        // Out of descriptors, say: nothing to do but wait for some to be freed.
                        crate::log!("accept failed: {e}");
                        thread::sleep(ACCEPT_BACKOFF);
                        break;
                    }
                };
                if open.load(Ordering::Relaxed) >= self.max_connections {
                    refuse_full(stream);
                    // Counted without blocking: a full server must not stall its acceptor.
                    events.try_send(Batch {
                        events: vec![Event::Rejected {
                            reason: codes::UNAVAILABLE,
                            conn: None,
                        }],
                        reply: None,
                    });
                    continue;
                }
                open.fetch_add(1, Ordering::Relaxed);
                let conn = next_conn;
                next_conn += 1;
                let Some(handle) =
                    threads.get(usize::try_from(conn).unwrap_or(0) % threads.len().max(1))
                else {
                    continue;
                };
                if handle
                    .connections
                    .send(NewConnection { conn, stream, peer })
                    .is_ok()
                {
                    handle.waker.wake();
                } else {
                    open.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }

        // Stop: accept no more (connections still in the queue are reset), and wake the I/O
        // threads, which tell every agent and close its connection.
        drop(self.listener);
        crate::log!(
            "stopping: telling {} connected agent(s)",
            open.load(Ordering::Relaxed)
        );
        for handle in threads {
            handle.waker.wake();
        }
    }
}

/// Tells a connection over the limit why it is closed.
fn refuse_full(mut stream: TcpStream) {
    use std::io::Write;
    crate::log!("refusing a connection: at the limit of agents");
    let message: Message = Message::Error(ErrorMessage {
        code: bounded(codes::UNAVAILABLE),
        message: bounded("server has reached its connection limit"),
    });
    let mut buf = [0u8; 256];
    if let Ok(n) = wire::encode(&message, &mut buf) {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
        let _ = stream.write_all(buf.get(..n).unwrap_or_default());
    }
}
