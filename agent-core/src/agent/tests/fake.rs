//! The tests' transport: it records what the agent sends and replays what a test scripts for
//! the server to say, and can refuse, stall, fail or flood on demand.

extern crate std;
use std::collections::VecDeque;
use std::string::String;
use std::vec::Vec;

use crate::transport::{Transport, TransportError};

/// A transport that records what is sent and replays scripted answers.
#[derive(Debug, Default)]
pub(super) struct Fake {
    /// Connected: `connect` sets it, `disconnect` clears it; `send` and `receive` fail without.
    pub(super) up: bool,
    /// How many of the next connects are refused; 0 means they succeed.
    pub(super) refuse: usize,
    /// Every byte sent, in order.
    pub(super) out: Vec<u8>,
    /// What the server has said and the agent not yet read; a test pushes lines into it, and a
    /// disconnect clears it.
    pub(super) inbox: VecDeque<u8>,
    /// Every `send` fails (`Reset`), as on a connection that broke.
    pub(super) fail_send: bool,
    /// Polls that find a connection still opening, after each `connect`.
    pub(super) opening: usize,
    /// What `poll_connect` says once the connection has opened: `None` is success.
    pub(super) open_error: Option<TransportError>,
    /// Polls that find the connection still opening, now.
    pub(super) opening_left: usize,
    /// Bytes the transport can take now (`None`: any). `send` checks that it was asked.
    pub(super) room: Option<usize>,
    /// Lines the server sends without end: the inbox is refilled with them whenever it
    /// runs dry, up to `flood_left` bytes (so that a test of an agent that reads without
    /// end fails instead of hanging).
    pub(super) flood: Vec<u8>,
    /// Bytes of `flood` still to send.
    pub(super) flood_left: usize,
    /// Bytes the agent has read.
    pub(super) received: usize,
    /// Times the agent asked to fail over to the next server.
    pub(super) fail_overs: usize,
}

impl Transport for Fake {
    fn fail_over(&mut self) {
        self.fail_overs += 1;
    }

    fn connect(&mut self) -> Result<(), TransportError> {
        if self.refuse > 0 {
            self.refuse -= 1;
            return Err(TransportError::Refused);
        }
        self.up = true;
        self.opening_left = self.opening;
        Ok(())
    }
    fn poll_connect(&mut self) -> Result<bool, TransportError> {
        if self.opening_left > 0 {
            self.opening_left -= 1;
            return Ok(false);
        }
        self.open_error.map_or(Ok(true), Err)
    }
    fn can_send(&mut self, len: usize) -> bool {
        self.room.is_none_or(|room| len <= room)
    }
    fn send(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        if !self.up {
            return Err(TransportError::NotConnected);
        }
        assert_eq!(self.opening_left, 0, "sent before the connection opened");
        if self.fail_send {
            return Err(TransportError::Reset);
        }
        if let Some(room) = &mut self.room {
            *room = room
                .checked_sub(bytes.len())
                .expect("sent more than the transport said it could take");
        }
        self.out.extend_from_slice(bytes);
        Ok(())
    }
    fn receive(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        if !self.up {
            return Err(TransportError::NotConnected);
        }
        if self.inbox.is_empty() && !self.flood.is_empty() && self.flood_left > 0 {
            self.flood_left = self.flood_left.saturating_sub(self.flood.len());
            self.inbox.extend(&self.flood);
        }
        let n = buf.len().min(self.inbox.len());
        for b in buf.iter_mut().take(n) {
            *b = self.inbox.pop_front().unwrap();
        }
        self.received += n;
        Ok(n)
    }
    fn disconnect(&mut self) {
        self.up = false;
        self.inbox.clear();
    }
}

impl Fake {
    /// The lines sent so far.
    pub(super) fn lines(&self) -> Vec<String> {
        String::from_utf8(self.out.clone())
            .unwrap()
            .split_inclusive('\n')
            .map(String::from)
            .collect()
    }
}
