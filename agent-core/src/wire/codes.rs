//! The error codes of [`ErrorMessage`](super::ErrorMessage): a stable word for each way a
//! peer can refuse a line or a connection, and what it means for a log line.

/// A line was longer than [`super::MAX_LINE`].
pub const LINE_TOO_LONG: &str = "line_too_long";
/// A line was not UTF-8.
pub const BAD_UTF8: &str = "bad_utf8";
/// A line was not JSON, or not the shape of its kind.
pub const BAD_JSON: &str = "bad_json";
/// A line nested deeper than [`super::MAX_DEPTH`].
pub const TOO_DEEP: &str = "too_deep";
/// A protocol version the receiver does not speak.
pub const UNSUPPORTED_VERSION: &str = "unsupported_version";
/// A message kind the receiver does not know.
pub const UNKNOWN_KIND: &str = "unknown_kind";
/// A value outside its meaning (a negative counter, a bad agent id).
pub const INVALID_VALUE: &str = "invalid_value";
/// A message that is valid but not expected now (a sample before hello).
pub const UNEXPECTED: &str = "unexpected_message";
/// The agent took too long to say hello.
pub const HANDSHAKE_TIMEOUT: &str = "handshake_timeout";
/// The server is full.
pub const UNAVAILABLE: &str = "unavailable";
/// The server requires a key and the agent answered the challenge without one.
pub const AUTH_REQUIRED: &str = "auth_required";
/// The agent's answer to the challenge is wrong: not the key for its id.
pub const AUTH_FAILED: &str = "auth_failed";
/// The agent id matches no entry of the server's key file.
pub const UNKNOWN_AGENT: &str = "unknown_agent";
/// Another connection holds this agent id and this one did not authenticate for it.
pub const ID_IN_USE: &str = "id_in_use";
/// A line of an authenticated connection was not sealed with its key.
pub const BAD_SEAL: &str = "bad_seal";
/// The server holds as many distinct agents as it may (`--max-agents`); a new id must wait.
pub const TOO_MANY_AGENTS: &str = "too_many_agents";
/// The server is stopping; the agent reconnects as after any lost connection.
pub const SHUTTING_DOWN: &str = "shutting_down";
/// A text that becomes a label (a hello's `hostname`, a mount point, an interface name...)
/// holds a control character or a Unicode line separator
/// ([`crate::sample::label_text_ok`]).
pub const BAD_LABEL: &str = "bad_label";
/// A sample names one series twice: a CPU number, a filesystem (device, type and mount
/// point), an interface, a sensor (chip and sensor) or a disk appears twice.
pub const DUPLICATE_SERIES: &str = "duplicate_series";
/// The server holds as many series as it may (`--max-series`): the agent's hello or its
/// sample would take it past that.
pub const TOO_MANY_SERIES: &str = "too_many_series";
/// Connections for this agent id keep taking it over from each other (two machines with
/// one id and key, say): the server keeps the one it has and refuses the others for a while.
pub const ID_CONFLICT: &str = "id_conflict";
/// The agent does not read the server's answers: what waits to be written to it passed the
/// server's bound.
pub const NOT_READING: &str = "not_reading";
/// The agent sent samples faster than the server's `--min-interval` allows: acknowledged and
/// dropped, and only counted, never sent as an error.
pub const TOO_FREQUENT: &str = "too_frequent";
/// A connected agent sent no whole message for too long.
pub const IDLE_TIMEOUT: &str = "idle_timeout";

/// A v2 declaration names a family the server's catalogue does not have.
pub const UNKNOWN_FAMILY: &str = "unknown_family";
/// A v2 declaration's label names or values do not match the family's.
pub const WRONG_LABELS: &str = "wrong_labels";

/// Every code that refuses or counts a peer's line or connection, in the order a server shows
/// them: all but [`SHUTTING_DOWN`], which is no refusal.
pub const REFUSALS: &[&str] = &[
    LINE_TOO_LONG,
    BAD_UTF8,
    BAD_JSON,
    TOO_DEEP,
    UNSUPPORTED_VERSION,
    UNKNOWN_KIND,
    INVALID_VALUE,
    UNEXPECTED,
    HANDSHAKE_TIMEOUT,
    UNAVAILABLE,
    AUTH_REQUIRED,
    AUTH_FAILED,
    UNKNOWN_AGENT,
    ID_IN_USE,
    BAD_SEAL,
    TOO_MANY_AGENTS,
    BAD_LABEL,
    DUPLICATE_SERIES,
    TOO_MANY_SERIES,
    ID_CONFLICT,
    NOT_READING,
    TOO_FREQUENT,
    IDLE_TIMEOUT,
    UNKNOWN_FAMILY,
    WRONG_LABELS,
];

/// What a code means, in a few words, for a log line.
pub fn describe(code: &str) -> Option<&'static str> {
    Some(match code {
        LINE_TOO_LONG => "a line was too long",
        BAD_UTF8 => "a line was not UTF-8",
        BAD_JSON => "a line was not the JSON of its kind",
        TOO_DEEP => "a line nested too deep",
        UNSUPPORTED_VERSION => "the protocol version is not the server's",
        UNKNOWN_KIND => "a message kind the server does not know",
        INVALID_VALUE => "a value outside its meaning",
        UNEXPECTED => "a message the server did not expect then",
        HANDSHAKE_TIMEOUT => "no hello in time",
        UNAVAILABLE => "the server is full",
        AUTH_REQUIRED => "the server wants a key for this agent",
        AUTH_FAILED => "the key is not this agent's",
        UNKNOWN_AGENT => "the server has no key for this agent id",
        ID_IN_USE => "another connection holds this agent id",
        BAD_SEAL => "a line was not sealed with the key",
        TOO_MANY_AGENTS => "the server holds as many agents as it may",
        SHUTTING_DOWN => "the server is stopping",
        UNKNOWN_FAMILY => "a declared family is not in the server's catalogue",
        WRONG_LABELS => "a declared family's labels are not the server's",
        BAD_LABEL => "a label text held a control character or a line separator",
        DUPLICATE_SERIES => "a sample named one series twice",
        TOO_MANY_SERIES => "the server holds as many series as it may",
        ID_CONFLICT => "connections keep taking this agent id from each other",
        NOT_READING => "the agent did not read the server's answers",
        TOO_FREQUENT => "samples came faster than the server takes them",
        IDLE_TIMEOUT => "no message for too long",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use crate::wire::{MAX_CODE, codes};

    #[test]
    fn every_code_is_described_and_short_enough_for_an_agent() {
        for &code in codes::REFUSALS.iter().chain([&codes::SHUTTING_DOWN]) {
            assert!(codes::describe(code).is_some(), "{code}");
            assert!(code.len() <= MAX_CODE, "{code}");
        }
    }
}
