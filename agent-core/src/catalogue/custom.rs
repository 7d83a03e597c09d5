//! Families an agent describes itself, outside the catalogue: whatever node_exporter's textfile
//! collector would read from a `*.prom` file (a backup's age, a RAID's state, a job's result).
//!
//! A v2 declaration carries each in its `custom` member with its name, type, help text and
//! label names, numbered from [`CUSTOM_BASE`], and its series name it by that number. [`check`]
//! holds the rules: a valid Prometheus name that no family of the catalogue or of the server
//! has or may come to have, label names that Prometheus and the exposition keep apart from the
//! ones the server adds, and a help text the exposition can write on one line. The agent
//! checks a file's families with it before it declares them, and the server again when it
//! reads the declaration.

use super::{FAMILIES, Kind};
use crate::sample::label_text_ok;

/// The number of a declaration's first custom family; the next ones follow it, one each.
pub const CUSTOM_BASE: u16 = 0x8000;

/// The most custom families one declaration may carry.
pub const MAX_CUSTOM: usize = 256;

/// The longest name of a custom family or of one of its labels, in bytes.
pub const MAX_NAME: usize = 128;

/// The longest help text of a custom family, in bytes: room for node_exporter's "Metric read
/// from" and a few paths.
pub const MAX_HELP: usize = 256;

/// The most labels (after `instance`) a custom family has, as the catalogue's families.
pub const MAX_CUSTOM_LABELS: usize = 8;

// The catalogue's numbers stay below the custom ones, whatever rows are added.
const _: () = assert!(FAMILIES.len() < CUSTOM_BASE as usize);

/// A family the agent describes itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Custom<'a> {
    /// The metric name.
    pub name: &'a str,
    /// Its `# TYPE`.
    pub kind: Kind,
    /// Its `# HELP` text.
    pub help: &'a str,
    /// Its label names after `instance`, in the order its series give their values.
    pub labels: &'a [&'a str],
}

/// Why a custom family may not be declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Its name is not a Prometheus metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`), or longer than
    /// [`MAX_NAME`].
    Name,
    /// Its name is one the catalogue or the server gives: a catalogue family's, `up`, or one
    /// starting `vitals_` or `process_`.
    Reserved,
    /// Its help text is longer than [`MAX_HELP`] or holds a control character.
    Help,
    /// A label name is not a Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`), is longer than
    /// [`MAX_NAME`], is `instance` or `job` or starts with `__`, or comes twice; or there are
    /// more than [`MAX_CUSTOM_LABELS`].
    Labels,
}

impl core::fmt::Display for Fault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Fault::Name => "its name is not a valid metric name",
            Fault::Reserved => "its name is vitals' own (a node_exporter family vitals gives, `up`, `vitals_*`, `process_*`)",
            Fault::Help => "its help text is longer than 256 bytes or holds a control character",
            Fault::Labels => {
                "a label name is not valid, is `instance`, `job` or `__*`, comes twice, or there are more than 8"
            }
        })
    }
}

/// Checks a custom family against the rules of the module.
///
/// # Errors
/// The first [`Fault`] found, in the order they are listed.
pub fn check(family: &Custom<'_>) -> Result<(), Fault> {
    if !metric_name_ok(family.name) {
        return Err(Fault::Name);
    }
    if reserved_name(family.name) {
        return Err(Fault::Reserved);
    }
    if family.help.len() > MAX_HELP || !label_text_ok(family.help) {
        return Err(Fault::Help);
    }
    let labels = family.labels;
    let fine = labels.len() <= MAX_CUSTOM_LABELS
        && labels.iter().enumerate().all(|(i, name)| {
            label_name_ok(name)
                && !reserved_label(name)
                && !labels.get(..i).unwrap_or_default().contains(name)
        });
    if !fine {
        return Err(Fault::Labels);
    }
    Ok(())
}

/// Whether `name` is a Prometheus metric name of at most [`MAX_NAME`] bytes.
pub fn metric_name_ok(name: &str) -> bool {
    name_ok(name, |b| b == b':')
}

/// Whether `name` is a Prometheus label name of at most [`MAX_NAME`] bytes.
pub fn label_name_ok(name: &str) -> bool {
    name_ok(name, |_| false)
}

fn name_ok(name: &str, also: impl Fn(u8) -> bool) -> bool {
    let word = |b: u8| b.is_ascii_alphabetic() || b == b'_' || also(b);
    match name.as_bytes() {
        [first, rest @ ..] => {
            name.len() <= MAX_NAME
                && word(*first)
                && rest.iter().all(|&b| word(b) || b.is_ascii_digit())
        }
        [] => false,
    }
}

/// Whether a family of this name would pass for one vitals gives: a catalogue family (the
/// server's own among them), `up`, or one of the server's (`vitals_*`) or of a process
/// collector's (`process_*`).
pub fn reserved_name(name: &str) -> bool {
    name == "up"
        || name.starts_with("vitals_")
        || name.starts_with("process_")
        || FAMILIES.iter().any(|f| f.name == name)
}

/// Whether a label of this name would pass for one the server or Prometheus gives: `instance`
/// (the agent's id, which the server adds), `job` (the scrape's), or a `__` name (Prometheus'
/// own).
fn reserved_label(name: &str) -> bool {
    name == "instance" || name == "job" || name.starts_with("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family<'a>(name: &'a str, help: &'a str, labels: &'a [&'a str]) -> Custom<'a> {
        Custom {
            name,
            kind: Kind::Gauge,
            help,
            labels,
        }
    }

    #[test]
    fn names_of_prometheus_and_not_of_vitals_pass() {
        let long = "a".repeat(MAX_NAME);
        for name in ["backup_age_seconds", "a", "_x", "job:rate5m", "A9_", &long] {
            assert_eq!(check(&family(name, "", &[])), Ok(()), "{name}");
        }
        let longer = "a".repeat(MAX_NAME + 1);
        for name in ["", "9lives", "a-b", "a b", "é", "a.b", &longer] {
            assert_eq!(check(&family(name, "", &[])), Err(Fault::Name), "{name}");
        }
        for name in [
            "up",
            "vitals_agent_up",
            "vitals_anything",
            "process_cpu_seconds_total",
            "node_load1",
            "node_time_seconds",
            "node_uname_info",
        ] {
            assert_eq!(
                check(&family(name, "", &[])),
                Err(Fault::Reserved),
                "{name}"
            );
        }
        // Close to a reserved name is not one.
        for name in ["upper", "node_load1_max", "vitals", "node_load"] {
            assert_eq!(check(&family(name, "", &[])), Ok(()), "{name}");
        }
    }

    #[test]
    fn help_is_one_bounded_line() {
        let long = "h".repeat(MAX_HELP);
        for help in ["", "Seconds since the last backup.", "café \\ \"x\"", &long] {
            assert_eq!(check(&family("x", help, &[])), Ok(()), "{help}");
        }
        let longer = "h".repeat(MAX_HELP + 1);
        for help in ["a\nb", "tab\there", "\u{2028}", &longer] {
            assert_eq!(check(&family("x", help, &[])), Err(Fault::Help), "{help:?}");
        }
    }

    #[test]
    fn label_names_are_prometheus_and_not_the_servers() {
        let fine: &[&[&str]] = &[
            &[],
            &["target"],
            &["a", "b", "c", "d", "e", "f", "g", "h"],
            &["_x", "instance_name", "jobs", "le"],
        ];
        for labels in fine {
            assert_eq!(check(&family("x", "", labels)), Ok(()), "{labels:?}");
        }
        let bad: &[&[&str]] = &[
            &["instance"],
            &["job"],
            &["__name__"],
            &["__x"],
            &["a:b"],
            &["9"],
            &[""],
            &["a", "a"],
            &["a", "b", "c", "d", "e", "f", "g", "h", "i"],
        ];
        for labels in bad {
            assert_eq!(
                check(&family("x", "", labels)),
                Err(Fault::Labels),
                "{labels:?}"
            );
        }
    }
}
