//! The agent table: what the aggregator knows of each agent, by a stable index and by id.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use agent_core::wire::Hello;

use crate::exposition::{Layout, Slot};
use crate::shared::ConnId;

/// What the aggregator knows of one agent.
pub(super) struct AgentState {
    pub(super) id: String,
    /// Where its series are published.
    pub(super) slot: Arc<Slot>,
    /// The label sets of its series now (also in the slot's view).
    pub(super) layout: Arc<Layout>,
    /// Those of its last whole sample (see [`Decoded`](crate::shared::Decoded)), which it keeps while expired.
    pub(super) sampled: Arc<Layout>,
    /// The connection that speaks for it now, if any.
    pub(super) conn: Option<ConnId>,
    pub(super) hello: Box<Hello>,
    /// The hello's texts that become labels, as identity parts ([`hello_identity`](crate::families::hello_identity)): a sample
    /// reads these, not the hello's fields, each on a cache line of its own.
    pub(super) hello_identity: Vec<u8>,
    /// The protocol version of the hello, as `vitals_agent_info`'s label.
    pub(super) protocol: &'static str,
    /// The hello's interval, in seconds.
    pub(super) interval: f64,
    /// The session and highest sequence number merged in it.
    pub(super) session: u64,
    pub(super) last_seq: u64,
    /// With remote write: the highest sequence number of the session that the store took (or
    /// refused for good), set by the writer; a welcome says this rather than `last_seq`, so
    /// that an agent keeps what the store has not taken. A new session gets a new one.
    pub(super) stored: Arc<AtomicU64>,
    /// With remote write: the agent's time of the last sample written, in Unix milliseconds,
    /// after which the stale markers of its expired series go.
    pub(super) written_ms: i64,
    /// With remote write: when its `up` series were last written, by the server's clock in
    /// Unix milliseconds (see [`Up`](crate::remote::writer::Up)).
    pub(super) up_ms: i64,
    /// Samples merged, over the server's life.
    pub(super) samples: u64,
    /// Sequence numbers skipped within a session, over the server's life.
    pub(super) gaps: u64,
    /// Samples of the current connection numbered below this are merged (counted, acknowledged,
    /// a baseline for gaps) but their values are not published: its hello's `last_sent`, the
    /// newest sample it had handed to any server, which a server that crashed since may have
    /// exposed. Publishing an older one would turn exposed values back.
    pub(super) hold_below: u64,
    /// When the values published now were merged, by the server's monotonic clock (their
    /// expiry counts from it) and as Unix time (`last_seen`; 0 before the first).
    pub(super) last_sample: Instant,
    pub(super) last_seen: f64,
    /// When the last sample arrived, published or not, for `allowance`.
    pub(super) last_arrival: Instant,
    /// How long the values published now stay after `last_sample`: from the hello of the
    /// connection that sent them, so that a later hello (which may say any interval) does not
    /// keep values it did not send.
    pub(super) expire_after: Duration,
    /// The expiry the current connection's hello asks for, which its first published sample
    /// takes on.
    pub(super) next_expire: Duration,
    /// When a connection last took the id over from another that held it.
    pub(super) last_takeover: Option<Instant>,
    /// While connections keep taking the id from each other: until when new ones are refused.
    pub(super) conflict_until: Option<Instant>,
    /// Whether only `up` and `last_seen` are left.
    pub(super) expired: bool,
    /// Samples it may send now faster than `min_interval` (a token bucket of [`BURST`](super::BURST)).
    pub(super) allowance: f64,
    /// v2: the values of the connection's last `values` line (the time last), merged or not,
    /// onto which a line that leaves values out writes its new ones.
    pub(super) base: Vec<f64>,
    /// Numbers the lines written onto `base`, and says which of them the view holds (0 for
    /// none of them): a line that leaves values out is written into the view in place when
    /// the view holds the line before it.
    pub(super) base_line: u64,
    pub(super) view_line: u64,
}

/// Every agent the aggregator knows: by a stable index, which is what a connection keeps (a
/// sample then costs no lookup by name), and by id.
#[derive(Default)]
pub(super) struct Table {
    entries: Vec<Option<AgentState>>,
    /// Indexes of forgotten agents, for new ones.
    free: Vec<usize>,
    ids: HashMap<String, usize>,
}

impl Table {
    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }

    pub(super) fn find(&self, id: &str) -> Option<usize> {
        self.ids.get(id).copied()
    }

    pub(super) fn get(&self, index: usize) -> Option<&AgentState> {
        self.entries.get(index)?.as_ref()
    }

    pub(super) fn get_mut(&mut self, index: usize) -> Option<&mut AgentState> {
        self.entries.get_mut(index)?.as_mut()
    }

    pub(super) fn insert(&mut self, agent: AgentState) -> usize {
        let id = agent.id.clone();
        let index = match self.free.pop() {
            Some(index) => {
                if let Some(entry) = self.entries.get_mut(index) {
                    *entry = Some(agent);
                }
                index
            }
            None => {
                self.entries.push(Some(agent));
                self.entries.len() - 1
            }
        };
        self.ids.insert(id, index);
        index
    }

    pub(super) fn remove(&mut self, index: usize) -> Option<AgentState> {
        let agent = self.entries.get_mut(index)?.take()?;
        self.ids.remove(&agent.id);
        self.free.push(index);
        Some(agent)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (usize, &AgentState)> {
        (0..)
            .zip(&self.entries)
            .filter_map(|(i, a)| Some((i, a.as_ref()?)))
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut AgentState> {
        self.entries.iter_mut().flatten()
    }
}
