//! The server's own health metrics, in the aggregator's own registry (appended to every
//! scrape): agents connected, series held, connections, messages received and refused, and
//! agents' own series left out.

use agent_core::wire::codes;
use prometheus::core::Collector;
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

use super::Aggregator;

/// The server's own health metrics, which the aggregator sets as events come.
pub(super) struct Health {
    /// `vitals_server_agents_connected`: connections that speak for an agent now.
    pub(super) connected: IntGauge,
    /// `vitals_server_series`: series held for all agents, against `--max-series`.
    pub(super) series: IntGauge,
    /// `vitals_server_connections_total`: connections accepted.
    pub(super) connections: IntCounter,
    /// `vitals_server_frames_received_total`: hellos and samples received.
    pub(super) frames: IntCounter,
    /// `vitals_server_frames_rejected_total`: refusals, by reason.
    pub(super) rejected: IntCounterVec,
    /// `vitals_server_custom_series_left_out_total`: series of a family an agent describes
    /// itself, left out because another agent declared the name with another type.
    pub(super) custom_left_out: IntCounter,
}

impl Health {
    /// The metrics, registered in `registry`.
    pub(super) fn new(registry: &Registry) -> Self {
        let health = Health {
            connected: register(
                registry,
                IntGauge::new("vitals_server_agents_connected", "Agents connected now.")
                    .expect("valid metric definition"),
            ),
            series: register(
                registry,
                IntGauge::new(
                    "vitals_server_series",
                    "Series held for agents now (at most --max-series).",
                )
                .expect("valid metric definition"),
            ),
            connections: register(
                registry,
                IntCounter::new("vitals_server_connections_total", "Connections accepted.")
                    .expect("valid metric definition"),
            ),
            frames: register(
                registry,
                IntCounter::new(
                    "vitals_server_frames_received_total",
                    "Valid messages received from agents.",
                )
                .expect("valid metric definition"),
            ),
            rejected: register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "vitals_server_frames_rejected_total",
                        "Messages or connections refused, by reason.",
                    ),
                    &["reason"],
                )
                .expect("valid metric definition"),
            ),
            custom_left_out: register(
                registry,
                IntCounter::new(
                    "vitals_server_custom_series_left_out_total",
                    "Series of agents' own families (textfiles) left out because another agent declared the name with another type.",
                )
                .expect("valid metric definition"),
            ),
        };
        // Show every reason from the start, so that `rate()` and alerts see the zeros.
        for reason in REJECT_REASONS {
            health.rejected.with_label_values(&[reason]);
        }
        health
    }
}

impl Aggregator {
    /// Sets `vitals_server_agents_connected` from the connections that speak for an agent.
    pub(super) fn refresh_connected(&self) {
        self.health
            .connected
            .set(i64::try_from(self.conns.len()).unwrap_or(i64::MAX));
    }

    /// Sets `vitals_server_series` from the series held.
    pub(super) fn refresh_series(&self) {
        self.health
            .series
            .set(i64::try_from(self.series.held).unwrap_or(i64::MAX));
    }
}

fn register<C: Collector + Clone + 'static>(registry: &Registry, c: C) -> C {
    // Names are unique constants, so registration can fail only through a programming error.
    registry
        .register(Box::new(c.clone()))
        .expect("metric families have unique names");
    c
}

/// Every reason a frame or connection is refused; see [`codes`].
pub const REJECT_REASONS: &[&str] = codes::REFUSALS;
