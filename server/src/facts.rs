//! What the server keeps of each agent beside its series, for the status pages (`status`): the
//! facts the aggregator records (where it connects from, what its hello says, its connection
//! history) and the last minutes the `status` thread records for its charts. A module of its
//! own, below both, so that an agent's slot (`exposition`) can hold them.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use agent_core::wire::Hello;

/// One agent's facts; the defaults until its first hello.
#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// Its id.
    pub id: String,
    /// The address of its current or last connection.
    pub address: Option<SocketAddr>,
    /// What its hello says of it.
    pub hostname: String,
    pub version: String,
    pub arch: String,
    pub os: String,
    pub kernel: String,
    /// The protocol version of its hello.
    pub protocol: &'static str,
    /// Seconds between its samples, as its hello says.
    pub interval: f64,
    /// Hellos welcomed, over the server's life.
    pub connects: u64,
    /// Its welcomed connections that closed, over the server's life.
    pub disconnects: u64,
    /// When the current (or last) connection was welcomed.
    pub connected_at: Option<SystemTime>,
    /// When the last welcomed connection closed.
    pub disconnected_at: Option<SystemTime>,
    /// Samples merged and sequence gaps when its last connection closed: what the page shows
    /// once its series have expired.
    pub samples_at_close: Option<(u64, u64)>,
    /// The last refusal of its hello or of a connection speaking for it: when, and the error
    /// code.
    pub last_error: Option<(SystemTime, &'static str)>,
}

impl Facts {
    /// A hello from `address` was welcomed.
    pub fn welcomed(&mut self, hello: &Hello, protocol: &'static str, address: SocketAddr) {
        self.id.clear();
        self.id.push_str(&hello.id);
        self.address = Some(address);
        for (to, from) in [
            (&mut self.hostname, &hello.hostname),
            (&mut self.version, &hello.version),
            (&mut self.arch, &hello.arch),
            (&mut self.os, &hello.os),
            (&mut self.kernel, &hello.kernel),
        ] {
            to.clear();
            to.push_str(from);
        }
        self.protocol = protocol;
        self.interval = f64::from(hello.interval_ms) / 1000.0;
        self.connects += 1;
        self.connected_at = Some(SystemTime::now());
    }

    /// Its welcomed connection closed, after `samples` merged and `gaps` sequence gaps.
    pub fn closed(&mut self, samples: u64, gaps: u64) {
        self.samples_at_close = Some((samples, gaps));
        self.disconnects += 1;
        self.disconnected_at = Some(SystemTime::now());
    }

    /// A hello for it, or a connection speaking for it, was refused with `code`.
    pub fn refused(&mut self, code: &'static str) {
        self.last_error = Some((SystemTime::now(), code));
    }
}

/// What a status page keeps of one agent beside its series, in its slot.
#[derive(Debug, Default)]
pub struct Status {
    /// Written by the aggregator.
    pub facts: Mutex<Facts>,
    /// Written by the `status` thread.
    pub history: Mutex<History>,
}

impl Status {
    /// A copy of the facts.
    pub fn facts(&self) -> Facts {
        self.facts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Changes the facts under their lock.
    pub fn update(&self, change: impl FnOnce(&mut Facts)) {
        change(&mut self.facts.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// Points kept an agent: ten minutes at the `status` thread's 10 s, about 1.2 KB.
pub const POINTS: usize = 60;

/// One moment of an agent; NaN where its series did not say.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Unix time, in seconds.
    pub at: f64,
    /// CPU busy, 0 to 1.
    pub cpu: f32,
    /// Memory used, 0 to 1.
    pub memory: f32,
    /// Bytes a second received and sent, over every network device but `lo`.
    pub receive: f32,
    pub transmit: f32,
}

/// One agent's last [`POINTS`] points, oldest first, and what the next network rates are
/// computed from.
#[derive(Debug, Default)]
pub struct History {
    pub points: VecDeque<Point>,
    /// The last byte counts read and when: (Unix time, received, sent).
    last_bytes: Option<(f64, f64, f64)>,
}

impl History {
    /// Adds the moment `at`: CPU busy and memory used (NaN when unknown), and the byte counts
    /// received and sent so far, from which it makes rates against the last ones.
    pub fn push(&mut self, at: f64, cpu: f64, memory: f64, bytes: Option<(f64, f64)>) {
        let (mut receive, mut transmit) = (f64::NAN, f64::NAN);
        if let Some((rx, tx)) = bytes {
            if let Some((then, rx0, tx0)) = self.last_bytes
                // A clock that went back, or a counter that did (a reboot, a device gone),
                // gives no rate.
                && at > then
                && rx >= rx0
                && tx >= tx0
            {
                receive = (rx - rx0) / (at - then);
                transmit = (tx - tx0) / (at - then);
            }
        }
        self.last_bytes = bytes.map(|(rx, tx)| (at, rx, tx));
        if self.points.len() == POINTS {
            self.points.pop_front();
        }
        self.points.push_back(Point {
            at,
            cpu: cpu as f32,
            memory: memory as f32,
            receive: receive as f32,
            transmit: transmit as f32,
        });
    }
}
