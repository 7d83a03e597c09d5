//! Takeovers: a connection that authenticated for an id another connection holds takes it
//! over once (the agent rebooted, and its old connection is dead), but two machines with one
//! id and key that keep taking it from each other are refused.

use std::time::{Duration, Instant};

use agent_core::wire::codes;

use super::table::AgentState;
use crate::shared::Reply;

/// A second takeover of one id (a connection that authenticated for it while another holds
/// it) within this time of the first is a conflict: an agent that rebooted while its old
/// connection still looked alive takes its id over once, and its old connection is dead.
pub const TAKEOVER_WINDOW: Duration = Duration::from_secs(60);

/// In a conflict the connection that holds the id keeps it, and each new one is refused
/// (`id_conflict`) until none has tried for this long: longer than an agent's longest backoff
/// (30 s), so two machines with one id and key do not take turns.
pub const CONFLICT_HOLD: Duration = Duration::from_secs(60);

/// Lets a connection that authenticated for `agent`'s id take it from the connection that
/// holds it, once: a second takeover within [`TAKEOVER_WINDOW`], and every one while the
/// conflict lasts, is refused (`id_conflict`), and the conflict lasts until none has been
/// tried for [`CONFLICT_HOLD`]. Logged once a conflict.
pub(super) fn take_over(agent: &mut AgentState, now: Instant) -> Result<(), Reply> {
    let conflict = agent.conflict_until.is_some_and(|until| now < until);
    let again = agent
        .last_takeover
        .is_some_and(|at| now.saturating_duration_since(at) < TAKEOVER_WINDOW);
    if !(conflict || again) {
        agent.last_takeover = Some(now);
        return Ok(());
    }
    if !conflict {
        crate::log!(
            "agent {}: connections keep taking its id from each other (two machines with one \
             id and key?); the one connected keeps it, and others are refused until none has \
             tried for {}s (id_conflict)",
            agent.id,
            CONFLICT_HOLD.as_secs()
        );
    }
    agent.conflict_until = now.checked_add(CONFLICT_HOLD);
    Err(Reply::Refused {
        code: codes::ID_CONFLICT,
        message: format!(
            "agent `{}` is connected, and connections keep taking its id from each other: \
             give each machine its own id",
            agent.id
        ),
    })
}
