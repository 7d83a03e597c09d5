//! One agent's connection: read lines, decode, hand samples to the aggregator, answer.
//!
//! Each connection has its own worker thread, so a slow or broken agent blocks nobody but
//! itself. A bad line gets an `error` message and the connection is closed; nothing it sent
//! reaches the aggregator.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use agent_core::sample::{Sample, bounded};
use agent_core::wire::{
    self, Ack, Decoder, ErrorMessage, FeedResult, MAX_LINE, Message, Welcome, codes,
};
use crossbeam_channel::{Receiver, Sender};

use crate::aggregator::{Event, IDLE_TIMEOUT, Reply};

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// How long a worker waits for the aggregator before giving up on it (only a server that is
/// shutting down or badly overloaded takes this long).
const AGGREGATOR_TIMEOUT: Duration = Duration::from_secs(10);

/// The shortest idle timeout, whatever the agent's interval.
const MIN_IDLE: Duration = Duration::from_secs(10);

/// How long a write to an agent may block.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the connection ends early: an error code and a message for the agent.
struct Refusal {
    code: &'static str,
    message: String,
}

impl Refusal {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

/// The worker of one connection.
#[derive(Debug)]
pub struct Handler {
    /// Numbers the connection for the aggregator.
    pub conn: u64,
    /// The agent's socket.
    pub stream: TcpStream,
    /// The agent's address, for logs.
    pub peer: SocketAddr,
    /// Where events go.
    pub events: Sender<Event>,
    /// How long the agent has to say hello.
    pub handshake_timeout: Duration,
}

/// The per-connection state the worker keeps between lines.
struct Session {
    /// The agent id, once hello was accepted.
    agent: Option<String>,
    replies: (Sender<Reply>, Receiver<Reply>),
}

impl Handler {
    /// Serves the connection until it closes, fails or is refused.
    pub fn run(mut self) {
        let _ = self.stream.set_read_timeout(Some(self.handshake_timeout));
        let _ = self.stream.set_write_timeout(Some(WRITE_TIMEOUT));
        let _ = self.stream.set_nodelay(true);
        let _ = self.events.send(Event::Accepted);
        let mut session = Session {
            agent: None,
            replies: crossbeam_channel::bounded(1),
        };
        let outcome = self.serve(&mut session);
        match (&outcome, &session.agent) {
            (Err(refusal), agent) => {
                let who = agent.as_deref().unwrap_or("(no hello)");
                crate::log!(
                    "agent {who} from {}: refused: {} ({})",
                    self.peer,
                    refusal.message,
                    refusal.code
                );
                let _ = self.events.send(Event::Rejected {
                    reason: refusal.code,
                });
                self.send_error(refusal);
                self.linger();
            }
            (Ok(()), Some(agent)) => {
                crate::log!("agent {agent} from {} disconnected", self.peer);
            }
            (Ok(()), None) => {}
        }
        if session.agent.is_some() {
            let _ = self.events.send(Event::Disconnected { conn: self.conn });
        }
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    fn serve(&mut self, session: &mut Session) -> Result<(), Refusal> {
        let mut decoder = Box::new(Decoder::<MAX_LINE>::new());
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            let n = match self.stream.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(match session.agent {
                        None => Refusal::new(codes::HANDSHAKE_TIMEOUT, "no hello in time"),
                        Some(_) => Refusal::new(IDLE_TIMEOUT, "no sample in time"),
                    });
                }
                Err(_) => return Ok(()),
            };
            let mut input = buf.get(..n).unwrap_or_default();
            loop {
                match decoder.feed::<Sample>(input) {
                    FeedResult::Consumed => break,
                    FeedResult::Message { message, remaining } => {
                        input = remaining;
                        self.on_message(session, message)?;
                    }
                    FeedResult::Error { error, .. } => {
                        return Err(Refusal::new(error.code(), error.to_string()));
                    }
                }
            }
        }
    }

    fn on_message(&mut self, session: &mut Session, message: Message) -> Result<(), Refusal> {
        let reply = match (message, &session.agent) {
            (Message::Hello(hello), None) => {
                let id = hello.id.as_str().to_owned();
                let interval = Duration::from_millis(u64::from(hello.interval_ms));
                let event = Event::Connected {
                    conn: self.conn,
                    hello: Box::new(hello),
                    reply: session.replies.0.clone(),
                };
                let reply = self.ask(session, event)?;
                if let Reply::Welcome { .. } = reply {
                    crate::log!("agent {id} from {} connected", self.peer);
                    session.agent = Some(id);
                    let _ = self
                        .stream
                        .set_read_timeout(Some((interval * 3).max(MIN_IDLE)));
                }
                reply
            }
            (Message::Sample(sample), Some(_)) => {
                let event = Event::Sample {
                    conn: self.conn,
                    message: Box::new(sample),
                    reply: session.replies.0.clone(),
                };
                self.ask(session, event)?
            }
            (Message::Sample(_), None) => {
                return Err(Refusal::new(codes::UNEXPECTED, "sample before hello"));
            }
            (other, _) => {
                return Err(Refusal::new(
                    codes::UNEXPECTED,
                    format!("`{}` is not expected from an agent now", other.kind()),
                ));
            }
        };
        let answer: Message = match reply {
            Reply::Welcome { last_seq } => Message::Welcome(Welcome {
                server: bounded(concat!("vitals-server ", env!("CARGO_PKG_VERSION"))),
                last_seq,
            }),
            Reply::Merged { seq } => Message::Ack(Ack { seq }),
            Reply::Refused { code, message } => return Err(Refusal { code, message }),
        };
        self.send(&answer)
            .map_err(|_| Refusal::new(codes::UNAVAILABLE, "cannot write"))
    }

    /// Sends `event` to the aggregator and waits for its reply.
    fn ask(&self, session: &Session, event: Event) -> Result<Reply, Refusal> {
        let unavailable = || Refusal::new(codes::UNAVAILABLE, "server is shutting down");
        self.events.send(event).map_err(|_| unavailable())?;
        session
            .replies
            .1
            .recv_timeout(AGGREGATOR_TIMEOUT)
            .map_err(|_| unavailable())
    }

    fn send(&mut self, message: &Message) -> std::io::Result<()> {
        let mut buf = [0u8; 512];
        let n = wire::encode(message, &mut buf).map_err(std::io::Error::other)?;
        self.stream.write_all(buf.get(..n).unwrap_or_default())
    }

    /// Closes our side and reads briefly what the agent still sends, so that closing with
    /// unread data does not reset the connection before the agent has read our error.
    fn linger(&mut self) {
        const MAX_DRAIN: usize = 1 << 20;
        let _ = self.stream.shutdown(Shutdown::Write);
        let _ = self
            .stream
            .set_read_timeout(Some(Duration::from_millis(500)));
        let mut sink = [0u8; 4096];
        let mut drained = 0;
        while drained < MAX_DRAIN {
            match self.stream.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    }

    fn send_error(&mut self, refusal: &Refusal) {
        let message = Message::Error(ErrorMessage {
            code: bounded(refusal.code),
            message: bounded(&refusal.message),
        });
        let _ = self.send(&message);
    }
}
