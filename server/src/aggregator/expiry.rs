//! Expiry and forgetting: an agent's series go some time after its last sample, but for `up`
//! and `last_seen`, and a disconnected agent is forgotten entirely a day later.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use super::Aggregator;
use super::publish::publish;
use crate::exposition::Slot;
use crate::remote::writer::Stale;

/// The shortest default expiry, so that an agent with a fast interval survives a quick restart
/// of the server or itself.
pub const MIN_EXPIRY: Duration = Duration::from_secs(5);

/// The longest default expiry: three of the longest interval a hello may declare
/// ([`agent_core::wire::MAX_INTERVAL_MS`]), as the longest idle timeout of a connection is.
pub const MAX_EXPIRY: Duration =
    Duration::from_millis(3 * agent_core::wire::MAX_INTERVAL_MS as u64);

/// How often, with remote write, every agent's `up` series are written (Prometheus' own
/// default scrape interval).
pub const UP_EVERY: Duration = Duration::from_secs(15);

impl Aggregator {
    /// Removes the series, but `up` and `last_seen`, of agents whose last sample is older
    /// than their expiry.
    pub fn expire(&mut self, now: Instant) {
        self.publish_joined();
        let (series, customs) = (&mut self.series, &mut self.customs);
        for agent in self.agents.iter_mut() {
            if !agent.expired
                && now.saturating_duration_since(agent.last_sample) > agent.expire_after
            {
                agent.expired = true;
                let before = agent.layout.clone();
                let _ = publish(&mut self.builder, series, customs, agent, None);
                if let Some(remote) = &self.remote {
                    // Just after the last sample written, by the agent's clock: samples it
                    // kept through an outage and sends later come after the markers, which
                    // the store takes in order, and they end the series only until then.
                    remote.stale(
                        &agent.id,
                        Stale {
                            before,
                            after: agent.layout.clone(),
                            time_ms: agent.written_ms.saturating_add(1),
                        },
                    );
                }
            }
        }
        let forget = self.config.forget_after;
        let gone: Vec<usize> = self
            .agents
            .iter()
            .filter(|(_, a)| {
                // An id that never sent a sample (a bare hello) has nothing worth keeping, and
                // would hold a place of `--max-agents`: it goes with its connection.
                a.conn.is_none()
                    && (a.samples == 0
                        || (a.expired
                            && now.saturating_duration_since(a.last_sample)
                                > a.expire_after.saturating_add(forget)))
            })
            .map(|(index, _)| index)
            .collect();
        for &index in &gone {
            // Its `up`s end in the store as they leave `/metrics`.
            if self.agents.get(index).is_some_and(|a| a.samples > 0) {
                self.write_up(index, None);
            }
        }
        if self.remote.is_some() && now >= self.next_up {
            // As a scrape would find them: each agent's `up`s, every so often.
            self.next_up = now + UP_EVERY;
            let written: Vec<(usize, bool)> = self
                .agents
                .iter()
                .filter(|(_, a)| a.samples > 0)
                .map(|(index, a)| (index, a.conn.is_some()))
                .collect();
            for (index, up) in written {
                self.write_up(index, Some(up));
            }
        }
        let forgotten: HashSet<*const Slot> = gone
            .into_iter()
            .filter_map(|index| {
                let agent = self.agents.remove(index)?;
                self.series.held = self.series.held.saturating_sub(agent.layout.lines.len());
                self.customs.release(&agent.layout);
                Some(Arc::as_ptr(&agent.slot))
            })
            .collect();
        if !forgotten.is_empty() {
            let mut list = self
                .published
                .agents
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            // Keep the published order of those that stay; a set, as thousands of bare hellos
            // may go in one tick.
            let kept = list
                .iter()
                .filter(|s| !forgotten.contains(&Arc::as_ptr(s)))
                .cloned()
                .collect();
            *list = Arc::new(kept);
        }
        self.refresh_series();
    }
}
