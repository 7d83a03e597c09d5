//! Which entries may go into a sample: the server refuses a sample whose label texts hold a
//! control character or a line separator, or that names one series twice (`bad_label`,
//! `duplicate_series`), and an agent refused would send the same sample again forever. So an
//! entry whose texts fail [`label_text_ok`] is left out, and of entries with the same labels the
//! first is kept (as node_exporter's filesystem collector keeps the first mount of a label set).
//! Each entry left out is noted once, for the log.

use std::collections::HashSet;
use std::fmt::Write as _;

use agent_core::sample::label_text_ok;

/// Notes about entries left out, noted once each, up to this many (a machine that mounts a new
/// oddly named filesystem every minute must not grow the agent without end).
const MAX_NOTED: usize = 256;

/// The log lines about entries left out, and what was noted already.
#[derive(Debug, Default)]
pub(super) struct Notes {
    /// Lines not yet taken by [`Notes::take`].
    lines: Vec<String>,
    /// Every line noted so far.
    noted: HashSet<String>,
}

impl Notes {
    /// Whether the entry of `kind` with `labels` (label names and texts) may go into the
    /// sample; `taken` says whether one with the same labels is in it already. An entry left
    /// out is noted, once.
    pub(super) fn admit(&mut self, kind: &str, labels: &[(&str, &str)], taken: bool) -> bool {
        let why = if !labels.iter().all(|(_, text)| label_text_ok(text)) {
            "a label would hold a control character or a line separator"
        } else if taken {
            "an earlier one has the same labels"
        } else {
            return true;
        };
        let mut line = format!("left out {kind}");
        for (name, text) in labels {
            // Debug escapes what the check refused, so the log line stays one line.
            let _ = write!(line, " {name}={text:?}");
        }
        let _ = write!(line, ": {why}");
        self.note(line);
        false
    }

    /// Notes `line`, unless it was noted before.
    pub(super) fn note(&mut self, line: String) {
        if self.noted.len() < MAX_NOTED && self.noted.insert(line.clone()) {
            self.lines.push(line);
        }
    }

    /// The lines noted since the last call.
    pub(super) fn take(&mut self) -> std::vec::Drain<'_, String> {
        self.lines.drain(..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_with_a_control_character_or_a_repeated_label_set_is_left_out_and_noted_once() {
        let mut notes = Notes::default();
        assert!(notes.admit("filesystem", &[("mountpoint", "/srv")], false));
        for _ in 0..3 {
            assert!(!notes.admit("filesystem", &[("mountpoint", "/mnt/a\nb")], false));
            assert!(!notes.admit("interface", &[("device", "eth0")], true));
        }
        let lines: Vec<String> = notes.take().collect();
        assert_eq!(
            lines,
            [
                "left out filesystem mountpoint=\"/mnt/a\\nb\": a label would hold a control \
                 character or a line separator",
                "left out interface device=\"eth0\": an earlier one has the same labels",
            ]
        );
        assert_eq!(notes.take().count(), 0, "taken once");
        assert!(!notes.admit("sensor", &[("chip", "a\u{2028}b")], false));
        assert_eq!(
            notes.take().collect::<Vec<_>>(),
            [
                "left out sensor chip=\"a\\u{2028}b\": a label would hold a control character or \
              a line separator"
            ]
        );
    }

    #[test]
    fn notes_stop_growing() {
        let mut notes = Notes::default();
        for i in 0..10 * MAX_NOTED {
            notes.admit("disk", &[("device", &format!("d\t{i}"))], false);
        }
        assert_eq!(notes.take().count(), MAX_NOTED);
    }
}
