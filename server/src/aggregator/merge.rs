//! Merging a sample: in order within a session, at most as often as `--min-interval` allows
//! beyond a burst, held back below the hello's `last_sent`, then published.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use agent_core::wire::codes;

use super::Aggregator;
use super::publish::{Unpublished, labelled, learn, publish, take_values};
use crate::remote::writer::{Feed, Snapshot};
use crate::shared::{ConnId, Decoded, Reply};

/// Samples an agent may send faster than `min_interval` in a row: an outage's backlog.
pub const BURST: f64 = 1000.0;

impl Aggregator {
    /// A sample from connection `conn` at `now`: merged (or acknowledged without being merged
    /// again), or refused.
    pub(super) fn merge(&mut self, conn: ConnId, decoded: &Decoded, now: Instant) -> Reply {
        let seq = decoded.seq;
        let Some(&index) = self.conns.get(&conn) else {
            return Reply::Refused {
                code: codes::UNEXPECTED,
                message: "another connection took over this agent id".into(),
            };
        };
        let Some(agent) = self.agents.get_mut(index) else {
            return Reply::Refused {
                code: codes::UNEXPECTED,
                message: "unknown agent".into(),
            };
        };
        if let Some(waiting) = self.remote.as_ref().and_then(Feed::behind) {
            // Not merged: the agent keeps the sample, reconnects after its backoff and sends it
            // again, by when the store may have caught up.
            return Reply::Refused {
                code: codes::UNAVAILABLE,
                message: format!(
                    "the remote-write store is behind: {waiting} samples wait to be sent"
                ),
            };
        }
        if decoded.is_whole() {
            // Before anything may drop the sample: those after it come without the message.
            learn(&mut self.builder, agent, decoded);
        }
        // Likewise: the next line may leave out what it shares with this one.
        take_values(agent, decoded);
        if seq <= agent.last_seq {
            // Sent again after a reconnect, and merged before: merging it again could make a
            // counter go backwards.
            return Reply::Merged { seq };
        }
        // Only a sample merged earlier in this session is a baseline: after an agent restart
        // (a new session) or a server restart (`last_seq` 0) the first number is whatever the
        // agent had left unacknowledged.
        let skipped = if agent.last_seq > 0 {
            seq - agent.last_seq - 1
        } else {
            0
        };
        let min = self.config.min_interval.as_secs_f64();
        if min > 0.0 {
            // Earned since the last sample that arrived: a sample dropped or held back spends
            // the time since it as much as one published.
            let earned = now
                .saturating_duration_since(agent.last_arrival)
                .as_secs_f64()
                / min;
            agent.last_arrival = now;
            agent.allowance = (agent.allowance + earned).min(BURST);
            if agent.allowance < 1.0 {
                // Acknowledged, so that the agent moves on; its next sample carries the same
                // counters, so nothing is lost but resolution.
                agent.gaps = agent.gaps.saturating_add(skipped);
                agent.last_seq = seq;
                self.health
                    .rejected
                    .with_label_values(&[codes::TOO_FREQUENT])
                    .inc();
                return Reply::Merged { seq };
            }
        }
        if seq < agent.hold_below {
            // Sent before, maybe to a server that exposed newer values: merged, not shown.
            // (If it came whole, `learn` has its labels for the samples after it.)
            if !labelled(&mut self.builder, agent, decoded) {
                return unlabelled();
            }
            agent.samples = agent.samples.saturating_add(1);
            agent.gaps = agent.gaps.saturating_add(skipped);
            if min > 0.0 {
                agent.allowance -= 1.0;
            }
            agent.last_seq = seq;
            return Reply::Merged { seq };
        }
        let before = (agent.samples, agent.gaps, agent.last_seen);
        // Saturating: the sequence numbers are the peer's, and one line can skip 2^64 - 2 of
        // them (a counter that wrapped would go backwards).
        (agent.samples, agent.gaps, agent.last_seen) = (
            agent.samples.saturating_add(1),
            agent.gaps.saturating_add(skipped),
            unix_now(),
        );
        let published = publish(
            &mut self.builder,
            &mut self.series,
            &mut self.customs,
            agent,
            Some(decoded),
        );
        if let Err(why) = published {
            // Not merged, and not counted: the agent sends it again after reconnecting.
            (agent.samples, agent.gaps, agent.last_seen) = before;
            return match why {
                Unpublished::Unlabelled => unlabelled(),
                Unpublished::TooManySeries { series } => Reply::Refused {
                    code: codes::TOO_MANY_SERIES,
                    message: format!(
                        "the server holds {} series, its limit (--max-series), and this \
                         sample's {series} would pass it",
                        self.series.held
                    ),
                },
            };
        }
        agent.expire_after = agent.next_expire;
        if let Some(remote) = &self.remote {
            // The view as published; the next sample, a second later, finds the writer done
            // with it and is written into it in place.
            agent.written_ms = i64::try_from(decoded.time_ms).unwrap_or(i64::MAX);
            remote.send(
                &agent.id,
                Snapshot {
                    view: agent.slot.get(),
                    time_ms: agent.written_ms,
                },
            );
        }
        if min > 0.0 {
            agent.allowance -= 1.0;
        }
        agent.last_seq = seq;
        agent.last_sample = now;
        agent.expired = false;
        Reply::Merged { seq }
    }
}

/// The refusal of a sample whose series the aggregator cannot label (see [`Decoded`]).
fn unlabelled() -> Reply {
    Reply::Refused {
        code: codes::UNEXPECTED,
        message: "the server has not had this sample's series whole on this connection; \
                  reconnect to send them"
            .into(),
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
