//! The handshake: connect, say hello (with `last_sent` once this session has sent samples),
//! answer the server's challenge, and take its welcome.

use serde::Serialize;

use super::{Agent, Event, Lost, State};
use crate::auth::{self, Direction, NONCE_LEN, Sealer};
use crate::time::Instant;
use crate::transport::{Transport, TransportError};
use crate::wire::{self, Auth, DecodeError, EncodeError, Hello};

/// Encodes `hello`, with `version` as its `v`, into the start of `storage` without its
/// `last_sent`, which the agent adds as it sends the line; returns the line's length.
pub(super) fn encode_hello(
    version: u32,
    hello: &Hello,
    storage: &mut [u8],
) -> Result<usize, EncodeError> {
    let n = wire::encode_body_v(version, "hello", hello, storage)?;
    if hello.last_sent == 0 {
        return Ok(n);
    }
    // The last member, when it is there: `,"last_sent":N}\n` becomes `}\n`.
    let mut member = [0u8; 40];
    let cut = n.saturating_sub(last_sent_member(hello.last_sent, &mut member)?.len());
    storage
        .get_mut(cut..cut + 2)
        .ok_or(EncodeError::BufferFull)?
        .copy_from_slice(b"}\n");
    Ok(cut + 2)
}

/// `,"last_sent":N}` and the newline, for the end of the hello line.
fn last_sent_member(last_sent: u64, buf: &mut [u8]) -> Result<&[u8], EncodeError> {
    #[derive(Serialize)]
    struct Member {
        last_sent: u64,
    }
    // `{"last_sent":N}`, its brace turned into the comma that joins it to the hello's members.
    let n = serde_json_core::to_slice(&Member { last_sent }, buf)
        .map_err(|_| EncodeError::BufferFull)?;
    *buf.first_mut().ok_or(EncodeError::BufferFull)? = b',';
    *buf.get_mut(n).ok_or(EncodeError::BufferFull)? = b'\n';
    buf.get(..=n).ok_or(EncodeError::BufferFull)
}

impl<T, const RX: usize> Agent<'_, T, RX>
where
    T: Transport,
{
    /// Starts a connection: what the last one left in the decoder, its seals and which
    /// declaration it was sent are forgotten, and hello goes out as soon as the transport has
    /// opened it.
    pub(super) fn connect(&mut self, now: Instant) -> Result<Option<Event>, Lost> {
        self.transport.connect().map_err(Lost::Transport)?;
        self.decoder.reset();
        self.seals = None;
        self.declared = 0;
        (self.same, self.base) = (false, 0);
        let deadline = now + self.config.handshake_timeout;
        self.state = State::Connecting { deadline };
        self.finish_connect(now, deadline)
    }

    /// Once the transport has opened the connection: says hello.
    pub(super) fn finish_connect(
        &mut self,
        now: Instant,
        deadline: Instant,
    ) -> Result<Option<Event>, Lost> {
        match self.transport.poll_connect().map_err(Lost::Transport)? {
            true => {}
            false if now >= deadline => return Err(Lost::Transport(TransportError::TimedOut)),
            false => return Ok(None),
        }
        self.state = State::Handshake {
            deadline: now + self.config.handshake_timeout,
        };
        let hello = self.hello.map_err(Lost::Encode)?;
        if self.last_sent == 0 {
            self.transport.send(hello).map_err(Lost::Transport)?;
        } else {
            // The line kept has no `last_sent`: it goes before the closing `}\n`.
            let mut member = [0u8; 40];
            let member = last_sent_member(self.last_sent, &mut member).map_err(Lost::Encode)?;
            let open = hello.get(..hello.len().saturating_sub(2));
            self.transport
                .send(open.unwrap_or_default())
                .map_err(Lost::Transport)?;
            self.transport.send(member).map_err(Lost::Transport)?;
        }
        Ok(Some(Event::Connected))
    }

    /// Takes the server's `welcome`: samples flow from the first one it has not merged.
    pub(super) fn take_welcome(&mut self, now: Instant, last_seq: u64) -> Result<(), Lost> {
        if self.key.is_some() && self.seals.is_none() {
            return Err(Lost::Unauthenticated);
        }
        // The server cannot have merged a sample no server was sent: a lie, or another
        // session's numbers. Believing it would drop the ring and then send nothing older, so
        // the connection is refused and nothing dropped.
        if last_seq > self.last_sent {
            return Err(Lost::Protocol(DecodeError::InvalidValue("last_seq")));
        }
        self.state = State::Ready;
        self.backoff
            .welcomed(now + self.config.backoff_max, last_seq);
        self.stats.sessions = self.stats.sessions.saturating_add(1);
        self.acknowledge(last_seq);
        self.losses.settle(last_seq);
        self.overrun = false;
        self.sent = last_seq;
        Ok(())
    }

    /// Answers the server's challenge: with the proof of our key (and from then on every line
    /// is sealed), or, without a key, with an empty answer, for the server to say it wants one.
    // Without the `auth` feature no key exists, and the compiler sees the keyed path is dead.
    // Not inlined: its buffers then share the stack with the reader of the server's lines
    // instead of adding to it (on a board, the deepest point of the agent's stack).
    #[cfg_attr(not(feature = "auth"), allow(unreachable_code))]
    #[inline(never)]
    pub(super) fn answer(&mut self, nonce_hex: &[u8]) -> Result<(), Lost> {
        let mut nonce = [0u8; NONCE_LEN];
        auth::from_hex(nonce_hex, &mut nonce)
            .map_err(|_| Lost::Protocol(DecodeError::InvalidValue("nonce")))?;
        let mut answer = Auth::default();
        if let Some(key) = &self.key {
            let (id, session) = (self.id.as_str(), self.session);
            let mut hex = [0u8; 2 * auth::MAC_LEN];
            let proof = auth::proof(key, &nonce, id, session);
            answer.mac = crate::sample::bounded(auth::to_hex(&proof, &mut hex));
            self.seals = Some((
                Sealer::new(key, &nonce, id, Direction::FromAgent),
                Sealer::new(key, &nonce, id, Direction::FromServer),
            ));
        }
        // `{"v":1,"kind":"auth","mac":"<64 hex digits>"}` and its newline.
        let mut line = [0u8; 128];
        let n = wire::encode_body("auth", &answer, &mut line).map_err(Lost::Encode)?;
        self.transport
            .send(line.get(..n).unwrap_or_default())
            .map_err(Lost::Transport)
    }
}
