//! An agent's hello and goodbye: whether its connection may speak for the id (the limits of
//! agents and series, an id in use, a takeover), the agent's entry in the table, and its `up`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use agent_core::wire::{Hello, codes};

use super::Aggregator;
use super::expiry::{MAX_EXPIRY, MIN_EXPIRY};
use super::merge::BURST;
use super::table::AgentState;
use super::takeover::take_over;
use crate::exposition::Slot;
use crate::families::{hello_identity, protocol_label};
use crate::shared::{ConnId, Reply};

/// The series an agent has before its first sample: its `up`s and `last_seen`.
const NEW_AGENT_SERIES: usize = 3;

impl Aggregator {
    /// An agent's hello on connection `conn`: the welcome with the last sequence number merged
    /// in its session, or why the connection may not speak for the id.
    pub(super) fn connect(
        &mut self,
        conn: ConnId,
        hello: Box<Hello>,
        authenticated: bool,
        protocol: u32,
        now: Instant,
    ) -> Reply {
        let id = hello.id.as_str();
        let known = self.agents.find(id);
        if known.is_none() && self.agents.len() >= self.config.max_agents {
            return Reply::Refused {
                code: codes::TOO_MANY_AGENTS,
                message: format!(
                    "the server holds {} agents, its limit; agent `{id}` must wait until one is forgotten",
                    self.agents.len()
                ),
            };
        }
        if known.is_none() && !self.series.fits(0, NEW_AGENT_SERIES) {
            return Reply::Refused {
                code: codes::TOO_MANY_SERIES,
                message: format!(
                    "the server holds {} series, its limit (--max-series); agent `{id}` must wait",
                    self.series.held
                ),
            };
        }
        let connected = known
            .and_then(|i| self.agents.get(i))
            .is_some_and(|a| a.conn.is_some());
        if !authenticated && connected {
            return Reply::Refused {
                code: codes::ID_IN_USE,
                message: format!(
                    "agent `{id}` is connected already; without a key a second connection cannot take its id"
                ),
            };
        }
        if let Some(agent) = known.and_then(|i| self.agents.get_mut(i))
            && connected
            && let Err(refusal) = take_over(agent, now)
        {
            return refusal;
        }
        let interval = Duration::from_millis(u64::from(hello.interval_ms));
        let expire_after = self
            .config
            .expire_after
            .unwrap_or_else(|| interval.saturating_mul(3).clamp(MIN_EXPIRY, MAX_EXPIRY));
        let index = match known {
            Some(index) => index,
            None => {
                let slot = Arc::new(Slot::default());
                self.joined.push(slot.clone());
                self.agents.insert(AgentState {
                    id: id.to_owned(),
                    slot,
                    layout: Arc::default(),
                    sampled: Arc::default(),
                    conn: None,
                    hello: Box::default(),
                    hello_identity: Vec::new(),
                    protocol: "",
                    interval: 0.0,
                    session: hello.session,
                    last_seq: 0,
                    stored: Arc::default(),
                    written_ms: 0,
                    up_ms: 0,
                    samples: 0,
                    gaps: 0,
                    hold_below: 0,
                    last_sample: now,
                    last_seen: 0.0,
                    last_arrival: now,
                    expire_after,
                    next_expire: expire_after,
                    last_takeover: None,
                    conflict_until: None,
                    expired: true,
                    allowance: BURST,
                    base: Vec::new(),
                    base_line: 0,
                    view_line: 0,
                })
            }
        };
        let Some(agent) = self.agents.get_mut(index) else {
            return Reply::Refused {
                code: codes::UNAVAILABLE,
                message: "agent table".into(),
            };
        };
        // A newer connection for the same id takes over; the old one is refused from now on.
        if let Some(old) = agent.conn.replace(conn) {
            self.conns.remove(&old);
        }
        if agent.session != hello.session {
            agent.session = hello.session;
            agent.last_seq = 0;
            // The writer may still confirm the old session's samples into the old one.
            agent.stored = Arc::default();
        }
        agent.next_expire = expire_after;
        // With remote write, samples sent before (to this server or one that crashed) are
        // published and written again: the store may not have them, and a welcome says only
        // what it took.
        agent.hold_below = if self.remote.is_some() {
            0
        } else {
            hello.last_sent
        };
        agent.protocol = protocol_label(protocol);
        agent.hello_identity = hello_identity(&hello, agent.protocol);
        agent.interval = f64::from(hello.interval_ms) / 1000.0;
        agent.hello = hello;
        let last_seq = if self.remote.is_some() {
            agent.stored.load(Ordering::Acquire)
        } else {
            agent.last_seq
        };
        self.conns.insert(conn, index);
        self.set_up(index, true);
        self.refresh_connected();
        Reply::Welcome { last_seq }
    }

    /// Records a hello's outcome in its agent's facts, for the status page: welcomed from
    /// `peer`, or refused (when the id is one the server holds).
    pub(super) fn note_hello(&mut self, id: &str, reply: &Reply, peer: SocketAddr) {
        let Some(agent) = self.agents.find(id).and_then(|i| self.agents.get(i)) else {
            return;
        };
        match reply {
            Reply::Welcome { .. } => agent
                .slot
                .status
                .update(|facts| facts.welcomed(&agent.hello, agent.protocol, peer)),
            Reply::Refused { code, .. } => agent.slot.status.update(|facts| facts.refused(code)),
            Reply::Merged { .. } | Reply::Flush => {}
        }
    }

    /// The agent connection `conn` speaks for, if any.
    pub(super) fn agent_of(&self, conn: ConnId) -> Option<&AgentState> {
        self.conns
            .get(&conn)
            .and_then(|&i| self.agents.get(i))
            .filter(|agent| agent.conn == Some(conn))
    }

    /// Connection `conn` is gone: its agent, if it still speaks for one, is down.
    pub(super) fn disconnect(&mut self, conn: ConnId) {
        let Some(index) = self.conns.remove(&conn) else {
            return;
        };
        if let Some(agent) = self.agents.get_mut(index)
            && agent.conn == Some(conn)
        {
            agent.conn = None;
            let (samples, gaps) = (agent.samples, agent.gaps);
            agent
                .slot
                .status
                .update(|facts| facts.closed(samples, gaps));
            self.set_up(index, false);
        }
        self.refresh_connected();
    }
}
