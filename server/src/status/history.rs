//! The last minutes of each agent's CPU, memory and network, for the charts of its page. A
//! thread of its own (`status`) reads every agent's view every [`EVERY`] into its
//! [`History`](crate::facts::History) (bounded): no work for the aggregator beyond a scrape's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use agent_core::catalogue::f;

use super::summary::{Series, unix_now};
use crate::exposition::{Published, Slot};
use crate::heartbeat::Heartbeat;

/// Time between two points.
/// Time between two points: an agent's default interval (finer would only repeat its values),
/// and a pass over 10,000 agents every 10 s is about 0.2% of a core (`cargo bench -p server
/// --bench ingest`).
pub const EVERY: Duration = Duration::from_secs(10);

/// Adds the moment `at` of the agent published in `slot` to its history.
pub fn record(slot: &Slot, at: f64) {
    let view = slot.get();
    let series = Series(&view);
    let memory = series.memory_used().unwrap_or(f64::NAN);
    let bytes = |family: u16| -> Option<f64> {
        let mut sum = None;
        for (line, v) in series.values(usize::from(family)) {
            // The exposition writes labels escaped, so `device="lo"` is the loopback's alone;
            // found without unescaping, as this runs for every agent every few seconds.
            if !line.contains(",device=\"lo\"") {
                sum = Some(sum.unwrap_or(0.0) + v);
            }
        }
        sum
    };
    let bytes = bytes(f::NET_RX_BYTES).zip(bytes(f::NET_TX_BYTES));
    let cpu = series.one(usize::from(f::CPU_USAGE)).unwrap_or(f64::NAN);
    slot.status
        .history
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(at, cpu, memory, bytes);
}

/// Starts the `status` thread, which records a point of every agent every [`EVERY`] until
/// `shutdown` is set, beating `heartbeat` at least every 250 ms.
///
/// # Errors
/// When the thread cannot start.
pub fn spawn(
    published: Arc<Published>,
    heartbeat: Heartbeat,
    shutdown: Arc<AtomicBool>,
) -> std::io::Result<thread::JoinHandle<()>> {
    thread::Builder::new().name("status".into()).spawn(move || {
        let mut next = Instant::now();
        while !shutdown.load(Ordering::Relaxed) {
            heartbeat.beat();
            let now = Instant::now();
            if now >= next {
                record_all(&published, &heartbeat);
                next = now + EVERY;
            }
            thread::sleep(Duration::from_millis(250).min(next.saturating_duration_since(now)));
        }
    })
}

/// Records a point of every agent.
fn record_all(published: &Published, heartbeat: &Heartbeat) {
    let agents = published
        .agents
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let at = unix_now();
    for (i, slot) in agents.iter().enumerate() {
        if i % 1024 == 0 {
            heartbeat.beat();
        }
        record(slot, at);
    }
}
