//! What the agent says of itself in its hello, beside its flags: the kernel's identification
//! (`uname`), a session number that differs between runs, and its texts made fit to be labels.
//! The server turns these into `node_uname_info` and `vitals_agent_info`.

use std::ffi::CStr;

use agent_core::sample::{bounded, label_text_ok};

/// The kernel's identification, as `node_uname_info` labels it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uname {
    /// `Linux`.
    pub sysname: String,
    /// The host name.
    pub nodename: String,
    /// The kernel release (`6.1.0-13-amd64`).
    pub release: String,
    /// The kernel build (`#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)`).
    pub version: String,
    /// The architecture (`x86_64`).
    pub machine: String,
    /// The NIS domain name, `(none)` when unset as node_exporter shows it.
    pub domainname: String,
}

/// The kernel's identification, from `uname(2)`.
pub fn uname() -> Uname {
    let raw = rustix::system::uname();
    let text = |field: &CStr| field.to_string_lossy().into_owned();
    let domainname = text(raw.domainname());
    Uname {
        sysname: text(raw.sysname()),
        nodename: text(raw.nodename()),
        release: text(raw.release()),
        version: text(raw.version()),
        machine: text(raw.machine()),
        domainname: if domainname.is_empty() {
            "(none)".to_owned()
        } else {
            domainname
        },
    }
}

/// 2020-01-01 in Unix ms: a clock before it is not set.
const CLOCK_SET_MS: u64 = 1_577_836_800_000;

/// The hello's `session`, a number that differs between runs: the start time in ms, unless the
/// clock is not set. A board without a real-time clock boots into 1970 and may start the agent
/// at the same millisecond of each boot; the server would take the new run for the old one (a
/// welcome for samples it never sent, which the agent refuses, again and again). Then it is
/// random.
pub fn session(clock_ms: u64) -> u64 {
    use std::hash::{BuildHasher, RandomState};
    if clock_ms >= CLOCK_SET_MS {
        return clock_ms;
    }
    // std's hasher keys come from the system's random source.
    RandomState::new().hash_one(clock_ms)
}

/// `text` as a hello's text, which becomes a label: bounded, and with each character that may
/// not be in a label (a control character, a line separator; see
/// [`agent_core::sample::label_text_ok`]) replaced by U+FFFD, so that the server takes the
/// hello. A host name set to anything is the machine's business; refusing to start over it
/// would leave the machine unwatched.
pub fn label_text<const N: usize>(text: &str) -> heapless::String<N> {
    let mut one = [0u8; 4];
    let clean: String = text
        .chars()
        .map(|c| {
            if label_text_ok(c.encode_utf8(&mut one)) {
                c
            } else {
                char::REPLACEMENT_CHARACTER
            }
        })
        .collect();
    bounded(&clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uname_of_this_machine() {
        let uname = uname();
        assert_eq!(uname.sysname, "Linux");
        assert!(!uname.release.is_empty() && !uname.machine.is_empty());
        assert!(!uname.domainname.is_empty());
    }

    #[test]
    fn an_agent_whose_clock_is_not_set_still_gets_a_session_of_its_own() {
        let now = 1_700_000_000_123;
        assert_eq!(
            session(now),
            now,
            "the start time, with a clock that is set"
        );
        // Two boots into 1970 that start the agent at the same millisecond.
        let (one, two) = (session(15_000), session(15_000));
        assert_ne!(one, two);
        assert_ne!(session(0), session(0));
    }

    #[test]
    fn hello_texts_with_control_characters_are_cleaned_not_refused() {
        let text: heapless::String<128> = label_text("host\nname\x1b[2J\u{2028}é");
        assert_eq!(text.as_str(), "host\u{fffd}name\u{fffd}[2J\u{fffd}é");
        assert!(label_text_ok(&text));
        let fine: heapless::String<128> = label_text("6.1.0-13-amd64");
        assert_eq!(fine.as_str(), "6.1.0-13-amd64");
    }
}
