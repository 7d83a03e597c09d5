//! `link`: the agent's transport over a serial port.
//!
//! A UART has no connection: the board cannot see the TCP connection that carries its bytes at
//! the other end (QEMU's `-chardev socket,reconnect=1`, or a serial-to-TCP bridge), nor when it
//! drops and comes back. So this transport:
//!
//! - **connects** by starting afresh: it throws away what waits in the receiver (left from the
//!   previous connection) and sends a lone newline, which ends any line the server still holds a
//!   part of, so the `hello` the agent sends next is read whole. The server skips blank lines.
//! - **loses** the link when the server stays silent: once we have sent something, some answer
//!   (a `welcome`, an `ack`, an `error`) must arrive within the silence timeout, or `receive`
//!   fails with [`TransportError::TimedOut`]. The server answers every `hello` and every sample
//!   at once, so silence means nobody is listening. The agent then reconnects as after any
//!   failure: backoff, a fresh start, `hello` again.
//!
//! A server that restarts is seen even sooner: the first sample that reaches it before a `hello`
//! is refused with an `error`, which ends the agent's connection.

use agent_core::transport::{Transport, TransportError};

/// A serial port, byte by byte.
pub trait Serial {
    /// Sends one byte, waiting while the transmitter is full.
    fn write_byte(&mut self, byte: u8);
    /// A received byte, if one is waiting; never waits.
    fn read_byte(&mut self) -> Option<u8>;
}

/// A monotonic clock in milliseconds.
pub trait Clock {
    /// Milliseconds since an epoch that does not move (boot).
    fn millis(&self) -> u64;
}

/// Bytes thrown away at most when connecting: more than any server sends unasked, few enough
/// that a babbling line cannot hold the board in `connect`.
const STALE_LIMIT: usize = 4096;

/// The agent's [`Transport`] over a serial port.
#[derive(Debug)]
pub struct SerialTransport<S, C> {
    serial: S,
    clock: C,
    /// How long the server may stay silent after we sent something.
    silence_ms: u64,
    connected: bool,
    /// When we first sent something that nothing has answered yet.
    unanswered_since: Option<u64>,
    /// Connections started (the first and every reconnect).
    connects: u32,
}

impl<S: Serial, C: Clock> SerialTransport<S, C> {
    /// A transport over `serial` that gives up on a server silent for `silence_ms` after we
    /// sent something. Make it longer than the server takes to answer a sample, and shorter
    /// than the agent's handshake timeout would leave a dead link unnoticed.
    pub fn new(serial: S, clock: C, silence_ms: u64) -> Self {
        SerialTransport {
            serial,
            clock,
            silence_ms,
            connected: false,
            unanswered_since: None,
            connects: 0,
        }
    }

    /// Connections started: the first, then one for every reconnect.
    pub fn connects(&self) -> u32 {
        self.connects
    }
}

impl<S: Serial, C: Clock> Transport for SerialTransport<S, C> {
    fn connect(&mut self) -> Result<(), TransportError> {
        for _ in 0..STALE_LIMIT {
            if self.serial.read_byte().is_none() {
                break;
            }
        }
        self.serial.write_byte(b'\n');
        self.connected = true;
        self.unanswered_since = None;
        self.connects = self.connects.saturating_add(1);
        Ok(())
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        if !self.connected {
            return Err(TransportError::NotConnected);
        }
        for &byte in bytes {
            self.serial.write_byte(byte);
        }
        if self.unanswered_since.is_none() {
            self.unanswered_since = Some(self.clock.millis());
        }
        Ok(())
    }

    fn receive(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        if !self.connected {
            return Err(TransportError::NotConnected);
        }
        let mut n = 0;
        for slot in buf.iter_mut() {
            let Some(byte) = self.serial.read_byte() else {
                break;
            };
            *slot = byte;
            n += 1;
        }
        if n > 0 {
            self.unanswered_since = None;
            return Ok(n);
        }
        match self.unanswered_since {
            Some(since) if self.clock.millis().saturating_sub(since) >= self.silence_ms => {
                Err(TransportError::TimedOut)
            }
            _ => Ok(0),
        }
    }

    fn disconnect(&mut self) {
        self.connected = false;
        self.unanswered_since = None;
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;
    use std::rc::Rc;
    use std::vec::Vec;

    use super::*;

    /// A serial port whose other end the test holds.
    #[derive(Debug, Default, Clone)]
    struct Wire {
        to_board: Rc<RefCell<VecDeque<u8>>>,
        from_board: Rc<RefCell<Vec<u8>>>,
    }

    impl Serial for Wire {
        fn write_byte(&mut self, byte: u8) {
            self.from_board.borrow_mut().push(byte);
        }
        fn read_byte(&mut self) -> Option<u8> {
            self.to_board.borrow_mut().pop_front()
        }
    }

    #[derive(Debug, Default, Clone)]
    struct FakeClock(Rc<Cell<u64>>);

    impl Clock for FakeClock {
        fn millis(&self) -> u64 {
            self.0.get()
        }
    }

    fn transport() -> (SerialTransport<Wire, FakeClock>, Wire, FakeClock) {
        let (wire, clock) = (Wire::default(), FakeClock::default());
        (
            SerialTransport::new(wire.clone(), clock.clone(), 5000),
            wire,
            clock,
        )
    }

    #[test]
    fn connecting_drops_stale_bytes_and_ends_the_servers_partial_line() {
        let (mut t, wire, _) = transport();
        wire.to_board
            .borrow_mut()
            .extend(b"{\"v\":1,\"kind\":\"ack\",\"seq\":4}\n{\"v\":1,\"ki");
        t.connect().unwrap();
        t.send(b"{\"v\":1,\"kind\":\"hello\"}\n").unwrap();
        assert_eq!(
            wire.from_board.borrow().as_slice(),
            b"\n{\"v\":1,\"kind\":\"hello\"}\n"
        );
        let mut buf = [0u8; 64];
        assert_eq!(t.receive(&mut buf), Ok(0), "nothing stale is read");
        assert_eq!(t.connects(), 1);
    }

    #[test]
    fn a_server_silent_after_we_spoke_is_a_lost_link() {
        let (mut t, wire, clock) = transport();
        let mut buf = [0u8; 64];
        t.connect().unwrap();
        clock.0.set(100_000);
        assert_eq!(
            t.receive(&mut buf),
            Ok(0),
            "silence before we speak is fine"
        );
        t.send(b"hello\n").unwrap();
        clock.0.set(104_999);
        assert_eq!(t.receive(&mut buf), Ok(0));
        wire.to_board.borrow_mut().extend(b"welcome\n");
        assert_eq!(t.receive(&mut buf), Ok(8));
        // An answer restarts the count from the next thing sent.
        clock.0.set(200_000);
        assert_eq!(t.receive(&mut buf), Ok(0));
        t.send(b"sample 1\n").unwrap();
        clock.0.set(203_000);
        t.send(b"sample 2\n").unwrap();
        clock.0.set(205_000);
        assert_eq!(t.receive(&mut buf), Err(TransportError::TimedOut));
        // After the agent gives up, a new connection starts with a clean slate.
        t.disconnect();
        assert_eq!(t.receive(&mut buf), Err(TransportError::NotConnected));
        assert_eq!(t.send(b"x"), Err(TransportError::NotConnected));
        t.connect().unwrap();
        assert_eq!(t.receive(&mut buf), Ok(0));
        assert_eq!(t.connects(), 2);
    }

    /// The whole story on a fake clock, with agent-core's real agent: welcomed, then the server
    /// restarts behind the wire; the first sample reaches the new one before any hello, is
    /// refused, and the agent starts afresh with a newline and a hello, and is welcomed again.
    #[test]
    fn after_a_server_restart_the_agent_says_hello_again_on_a_clean_line() {
        use agent_core::agent::{Agent, Config, Event, Lost};
        use agent_core::time::Instant;
        use agent_core::wire::Hello;
        use core::time::Duration;

        let (link, wire, clock) = transport();
        let hello = Hello {
            id: agent_core::sample::bounded("board"),
            interval_ms: 1000,
            ..Hello::default()
        };
        let ring = Vec::leak(std::vec![0u8; 1024]);
        let mut agent: Agent<'_, _, 256> = Agent::new(
            link,
            &hello,
            Config::new(Duration::from_secs(1), 7),
            ring,
            Instant::from_millis(0),
        );
        let poll = |agent: &mut Agent<'_, _, 256>, ms: u64| {
            clock.0.set(ms);
            core::iter::from_fn(|| agent.poll(Instant::from_millis(ms)))
                .take(10)
                .collect::<Vec<Event>>()
        };
        let said = |wire: &Wire| std::string::String::from_utf8(wire.from_board.take()).unwrap();
        let answer = |wire: &Wire, line: &str| wire.to_board.borrow_mut().extend(line.bytes());

        assert_eq!(poll(&mut agent, 0), [Event::Connected]);
        assert!(said(&wire).starts_with("\n{\"v\":1,\"kind\":\"hello\",\"id\":\"board\""));
        answer(
            &wire,
            "{\"v\":1,\"kind\":\"welcome\",\"server\":\"s\",\"last_seq\":0}\n",
        );
        assert_eq!(poll(&mut agent, 10), [Event::Ready { pending: 0 }]);

        // The server is gone: a sample goes nowhere. A new one refuses the next.
        agent.record(&1u32, Instant::from_millis(1000)).unwrap();
        assert_eq!(poll(&mut agent, 1000), []);
        agent.record(&2u32, Instant::from_millis(2000)).unwrap();
        assert_eq!(poll(&mut agent, 2000), []);
        assert!(said(&wire).contains("\"seq\":2"));
        answer(
            &wire,
            "{\"v\":1,\"kind\":\"error\",\"code\":\"unexpected_message\",\"message\":\"sample before hello\"}\n",
        );
        let lost = poll(&mut agent, 2010);
        let [
            Event::Lost {
                reason: Lost::Rejected(code),
                retry_in,
                was_connected: true,
            },
        ] = lost.as_slice()
        else {
            panic!("{lost:?}");
        };
        assert_eq!(code.as_str(), "unexpected_message");

        // After the backoff: a newline to end any half line, then hello.
        let retry = 2010 + retry_in.as_millis() as u64;
        assert_eq!(poll(&mut agent, retry), [Event::Connected]);
        assert!(said(&wire).starts_with("\n{\"v\":1,\"kind\":\"hello\""));
        answer(
            &wire,
            "{\"v\":1,\"kind\":\"welcome\",\"server\":\"s\",\"last_seq\":0}\n",
        );
        assert_eq!(poll(&mut agent, retry + 10), [Event::Ready { pending: 2 }]);
        let resent = said(&wire);
        assert!(
            resent.contains("\"seq\":1") && resent.contains("\"seq\":2"),
            "{resent}"
        );
        assert_eq!(agent.transport().connects(), 2);
    }

    #[test]
    fn receive_fills_at_most_the_buffer() {
        let (mut t, wire, _) = transport();
        t.connect().unwrap();
        wire.to_board.borrow_mut().extend(b"0123456789");
        let mut buf = [0u8; 4];
        assert_eq!(t.receive(&mut buf), Ok(4));
        assert_eq!(&buf, b"0123");
        let mut rest = [0u8; 16];
        assert_eq!(t.receive(&mut rest), Ok(6));
    }
}
