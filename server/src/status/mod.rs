//! The fleet at a glance: `/` (every agent on one page), `/agents/<id>` (one agent), and the
//! same as JSON under `/api/v1/agents`.
//!
//! Everything here reads what the aggregator publishes for scrapes (each agent's [`Slot`]),
//! never the aggregator itself: a page of 10,000 agents costs the aggregator what a scrape
//! does, a moment's lock per agent. The aggregator adds only the few facts a page shows that
//! no series holds ([`Facts`](crate::facts::Facts): the address, the connection history), on a
//! hello, a refusal and a disconnection, never per sample.
//!
//! # Layout
//! - [`summary`]: an agent's row (its facts, counters and health now) read from its view.
//! - [`history`]: the `status` thread, which keeps each agent's last minutes for its charts.
//! - [`page`]: the HTML of `/` and `/agents/<id>`; [`api`]: their JSON.
//! - [`html`]: escaping, the one way agent-supplied text reaches a page.
//!
//! [`Slot`]: crate::exposition::Slot

pub mod api;
pub mod history;
pub mod html;
pub mod page;
pub mod summary;

use std::sync::PoisonError;

/// Every agent's row, and the server's refusals by reason, read at one moment.
#[derive(Debug)]
pub struct Fleet {
    pub rows: Vec<summary::Row>,
    /// Connections and frames refused, by reason (error code), those above zero.
    pub refused: Vec<(String, u64)>,
    /// When it was read, as Unix time.
    pub now: f64,
}

impl Fleet {
    /// Reads every agent published, and the refusals from the server's registry.
    pub fn read(published: &crate::exposition::Published) -> Fleet {
        let agents = published
            .agents
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let rows = agents
            .iter()
            .map(|slot| summary::Row::of(slot))
            // A slot made for a hello that was refused before its welcome has no id yet.
            .filter(|row| !row.facts.id.is_empty())
            .collect();
        let mut refused = Vec::new();
        for family in published.registry.gather() {
            if family.name() != "vitals_server_frames_rejected_total" {
                continue;
            }
            for metric in family.get_metric() {
                let count = metric.get_counter().get_value();
                let reason = metric.get_label().iter().find(|l| l.name() == "reason");
                if let Some(reason) = reason.filter(|_| count > 0.0) {
                    refused.push((reason.value().to_owned(), count as u64));
                }
            }
        }
        Fleet {
            rows,
            refused,
            now: summary::unix_now(),
        }
    }
}

/// The slot of the agent `id`, if the server holds it.
pub fn find(
    published: &crate::exposition::Published,
    id: &str,
) -> Option<std::sync::Arc<crate::exposition::Slot>> {
    let agents = published
        .agents
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    agents
        .iter()
        .find(|slot| {
            slot.status
                .facts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .id
                == id
        })
        .cloned()
}

#[cfg(test)]
mod tests;
