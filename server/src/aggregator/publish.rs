//! Publishing an agent's series: the view a scrape reads, rebuilt only when the label sets
//! change, and the count of series held against `--max-series`.

use std::sync::{Arc, PoisonError};

use super::Aggregator;
use super::custom::Customs;
use super::table::AgentState;
use crate::exposition::{Builder, Layout};
use crate::families::{DEFS, F, agent_info, uname};
use crate::remote::writer::Up;
use crate::shared::{Decoded, Whole};

impl Aggregator {
    /// Adds the agents that joined since the last call to what scrapes see: once a batch, as
    /// the list is copied (a scrape may be reading the old one), not once per new agent, which
    /// would copy it ten thousand times while a fleet connects.
    pub(super) fn publish_joined(&mut self) {
        if self.joined.is_empty() {
            return;
        }
        let mut list = self
            .published
            .agents
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let mut agents = Vec::with_capacity(list.len() + self.joined.len());
        agents.extend(list.iter().cloned());
        agents.append(&mut self.joined);
        *list = Arc::new(agents);
    }

    /// Sets an agent's `vitals_agent_up` and `up` without touching its other series.
    pub(super) fn set_up(&mut self, index: usize, up: bool) {
        let Some(agent) = self.agents.get_mut(index) else {
            return;
        };
        let layout = &agent.layout;
        let at = |family: usize| {
            layout
                .ranges
                .get(family)
                .filter(|r| !r.is_empty())
                .and_then(|r| layout.value_index(r.start))
        };
        match (at(F::UP), at(F::TARGET_UP)) {
            (Some(at), Some(target_at)) => {
                let value = if up { 1.0 } else { 0.0 };
                agent.slot.set_value(at, value);
                agent.slot.set_value(target_at, value);
            }
            // A new agent: only its `up`s and `last_seen` until its first sample (which
            // `connect` made room for).
            _ => {
                let _ = publish(
                    &mut self.builder,
                    &mut self.series,
                    &mut self.customs,
                    agent,
                    None,
                );
            }
        }
        if !up {
            // At once, as `/metrics` shows it; a 1 waits for the next of every agent's (as a
            // scrape would find it), by when the agent's first sample has given it its series.
            self.write_up(index, Some(false));
        }
    }

    /// With remote write, writes an agent's `up` series now: `Some(up)`, or the stale marker
    /// that ends them.
    pub(super) fn write_up(&mut self, index: usize, up: Option<bool>) {
        let (Some(remote), Some(agent)) = (&self.remote, self.agents.get_mut(index)) else {
            return;
        };
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        // In order for the store even if the clock steps back, and never twice at one time.
        agent.up_ms = now_ms.max(agent.up_ms.saturating_add(1));
        let bits = match up {
            Some(true) => 1f64.to_bits(),
            Some(false) => 0f64.to_bits(),
            None => crate::remote::proto::STALE_NAN,
        };
        remote.up(
            &agent.id,
            Up {
                layout: agent.layout.clone(),
                bits,
                time_ms: agent.up_ms,
            },
        );
    }
}

/// The series held for all agents, and their bound.
#[derive(Debug, Clone, Copy)]
pub(super) struct Series {
    pub(super) held: usize,
    pub(super) max: usize,
}

impl Series {
    /// Whether `old` series may become `new` ones: fewer always may.
    pub(super) fn fits(&self, old: usize, new: usize) -> bool {
        new <= old || self.held.saturating_sub(old).saturating_add(new) <= self.max
    }

    /// Counts `old` series become `new` ones.
    pub(super) fn replace(&mut self, old: usize, new: usize) {
        self.held = self.held.saturating_sub(old).saturating_add(new);
    }
}

/// Why a sample was not published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unpublished {
    /// Its series are neither those published nor those of the agent's last whole sample
    /// (see [`Decoded`]).
    Unlabelled,
    /// Its `series` would take the total past `--max-series`.
    TooManySeries { series: usize },
}

/// Publishes the agent's series: from `sample`, or only `up` and `last_seen`. The label sets
/// are rendered again only when they changed (a new mount, a renamed interface): per sample,
/// this writes the values into the agent's view, with no allocation while no scrape holds it.
/// Nothing is published for a sample whose series are not labelled, or would pass
/// `--max-series`; without a sample the series only shrink, or are a new agent's first two.
/// A new layout's custom families are taken against those of the other agents (`customs`).
pub(super) fn publish(
    b: &mut Builder,
    series: &mut Series,
    customs: &mut Customs,
    agent: &mut AgentState,
    sample: Option<&Decoded>,
) -> Result<(), Unpublished> {
    if let Some(decoded) = sample {
        if same_series(agent, decoded) {
            // The common case: the values go from the sample's box into the view, once; those
            // of a line that left values out are written into the view in place, when it holds
            // the line before.
            let (head, tail) = (head(agent), tail(agent, decoded));
            let follows = agent.view_line != 0 && agent.view_line + 1 == agent.base_line;
            let written = match decoded.changes() {
                Some(changes) if follows => {
                    let end = head.len() + agent.base.len();
                    let parts = [(0, &head[..]), (end, &tail[..])];
                    agent
                        .slot
                        .patch(&agent.layout, &parts, (head.len(), changes))
                }
                _ => false,
            };
            if !written {
                let values = own_values(agent, decoded);
                agent
                    .slot
                    .publish_parts(&agent.layout, [&head[..], values, &tail]);
            }
            agent.view_line = agent.base_line;
            if cfg!(debug_assertions) {
                b.start();
                emit(b, agent, sample);
                assert!(b.same_as(&agent.layout), "a fast path of other series");
                assert_eq!(
                    b.values(),
                    agent.slot.get().values,
                    "a fast path of other values"
                );
                check_reuse(b, agent, sample);
            }
            return Ok(());
        }
    }
    b.start();
    emit(b, agent, sample);
    let old = agent.layout.lines.len();
    if b.same_as(&agent.layout) {
        check_reuse(b, agent, sample);
    } else if sample.is_some() {
        if !b.same_as(&agent.sampled) {
            return Err(Unpublished::Unlabelled);
        }
        let new = agent.sampled.lines.len();
        if !series.fits(old, new) {
            return Err(Unpublished::TooManySeries { series: new });
        }
        series.replace(old, new);
        agent.layout = customs.take(&agent.layout, agent.sampled.clone());
        check_reuse(b, agent, sample);
    } else {
        let layout = relabel(b, agent, None);
        agent.layout = customs.take(&agent.layout, layout);
        series.replace(old, agent.layout.lines.len());
    }
    agent.slot.publish(&agent.layout, b.values());
    agent.view_line = if sample.is_some() { agent.base_line } else { 0 };
    Ok(())
}

/// Writes a sample's values onto the agent's `base` (see [`AgentState::base`]), merged or not:
/// a v2 line's whole, or the new values of one that left values out.
pub(super) fn take_values(agent: &mut AgentState, decoded: &Decoded) {
    match decoded.changes() {
        Some(changes) => {
            for &(at, value) in changes {
                if let Some(v) = agent.base.get_mut(at as usize) {
                    *v = value;
                }
            }
        }
        None => {
            agent.base.clear();
            if decoded.is_declared() {
                agent.base.extend_from_slice(decoded.flat().values());
            }
        }
    }
    agent.base_line += 1;
}

/// The values of a sample's own series: in its box, or, for a line that left values out, the
/// connection's values it was written onto.
fn own_values<'a>(agent: &'a AgentState, decoded: &'a Decoded) -> &'a [f64] {
    match decoded.changes() {
        Some(_) => &agent.base,
        None => decoded.flat().values(),
    }
}

/// The layout of the agent's series with `sample`, built anew; `b` then holds their values.
fn relabel(b: &mut Builder, agent: &AgentState, sample: Option<&Decoded>) -> Arc<Layout> {
    b.start_rebuild();
    emit(b, agent, sample);
    Arc::new(b.layout(&agent.id, DEFS))
}

/// Labels the series of a whole sample, unless the agent's last whole sample had the same:
/// the samples after it on its connection come without their message.
pub(super) fn learn(b: &mut Builder, agent: &mut AgentState, sample: &Decoded) {
    b.start();
    emit(b, agent, Some(sample));
    if !b.same_as(&agent.sampled) {
        agent.sampled = relabel(b, agent, Some(sample));
    }
}

/// Whether the aggregator knows the labels of `sample`'s series: they are those published, or
/// those of the agent's last whole sample (see [`Decoded`]).
pub(super) fn labelled(b: &mut Builder, agent: &AgentState, sample: &Decoded) -> bool {
    b.start();
    emit(b, agent, Some(sample));
    b.same_as(&agent.layout) || b.same_as(&agent.sampled)
}

/// In debug builds (every test), checks that a reused layout is the one a full rebuild from
/// the message would make, and that the values flattened where the sample was decoded are
/// those of the message: a label whose text is missing from the identity would show here.
fn check_reuse(b: &Builder, agent: &AgentState, sample: Option<&Decoded>) {
    if !cfg!(debug_assertions) {
        return;
    }
    let mut fresh = Builder::default();
    let rebuilt = relabel(&mut fresh, agent, sample);
    assert_eq!(
        (&rebuilt.text, &rebuilt.lines),
        (&agent.layout.text, &agent.layout.lines),
        "identity misses a label"
    );
    assert_eq!(fresh.values(), b.values(), "a flattened sample differs");
}

/// Whether `decoded`'s series are those published: [`emit`]'s identity, compared in place.
fn same_series(agent: &AgentState, decoded: &Decoded) -> bool {
    let (hello, flat) = (agent.hello_identity.as_slice(), decoded.flat().key());
    let key = agent.layout.key.as_slice();
    !agent.layout.ranges.is_empty()
        && key.len() == hello.len() + flat.len()
        && key.split_at_checked(hello.len()) == Some((hello, flat))
}

/// The values [`emit`] adds before a sample's own: `vitals_agent_up`, `up` and `last_seen`.
fn head(agent: &AgentState) -> [f64; 3] {
    let up = if agent.conn.is_some() { 1.0 } else { 0.0 };
    [up, up, agent.last_seen]
}

/// The values [`emit`] adds after a sample's own, in its order.
fn tail(agent: &AgentState, decoded: &Decoded) -> [f64; 6] {
    [
        1.0,
        1.0,
        agent.samples as f64,
        decoded.dropped as f64,
        agent.gaps as f64,
        agent.interval,
    ]
}

/// Adds an agent's series to `b`: always `up` (both) and `last_seen`; the rest from its sample.
/// Their values come from [`head`] and [`tail`], which the fast path of [`publish`] writes
/// straight into the view.
fn emit(b: &mut Builder, agent: &AgentState, decoded: Option<&Decoded>) {
    let [up, target_up, last_seen] = head(agent);
    b.add(F::UP, &[], up);
    b.add(F::TARGET_UP, &[], target_up);
    b.add(F::LAST_SEEN, &[], last_seen);
    let Some(decoded) = decoded else { return };
    let hello = &agent.hello;
    // Everything below that becomes a label, section by section, so that the same identity
    // means the same series (see `Builder::identity`).
    b.identity_joined(&agent.hello_identity);
    match decoded.whole() {
        // A layout is rebuilt only from a whole message (or, in debug builds, its witness), or
        // a declaration.
        Some(Whole::Message(message)) if b.rebuilding() => message.sample.series(b),
        Some(Whole::Declared(declared)) if b.rebuilding() => {
            declared.series(b, own_values(agent, decoded));
        }
        _ if decoded.changes().is_some() => {
            b.identity_joined(decoded.flat().key());
            b.extend_values(&agent.base);
        }
        _ => b.append(decoded.flat()),
    }
    let [uname_value, info, samples, dropped, gaps, interval] = tail(agent, decoded);
    b.add_labelled(F::UNAME, || uname(hello), uname_value);
    b.add_labelled(F::AGENT_INFO, || agent_info(hello, agent.protocol), info);
    b.add(F::SAMPLES, &[], samples);
    b.add(F::SAMPLES_DROPPED, &[], dropped);
    b.add(F::SEQUENCE_GAPS, &[], gaps);
    b.add(F::INTERVAL, &[], interval);
}
