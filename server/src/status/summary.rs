//! An agent's row on the status page, read from its published view: its counters as its series
//! say them, and its health now (CPU busy, memory used, the fullest filesystem, load per CPU,
//! the hottest sensor), each computed as the node_exporter dashboards compute it.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use agent_core::catalogue::f;

use crate::exposition::{Slot, View};
use crate::facts::Facts;
use crate::families::F;

/// One agent, as `/` and `/api/v1/agents` show it.
#[derive(Debug, Clone)]
pub struct Row {
    pub facts: Facts,
    /// Whether it is connected (`vitals_agent_up`).
    pub up: bool,
    /// When its last sample was merged, as Unix time; `None` before the first.
    pub last_seen: Option<f64>,
    /// Samples merged, sequence gaps (samples lost) and samples its ring dropped; `None` once
    /// its series expired.
    pub samples: Option<f64>,
    pub gaps: Option<f64>,
    pub dropped: Option<f64>,
    pub health: Health,
}

/// An agent's health now; each `None` where its series do not say (expired, or the host has
/// no such thing).
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// CPU busy, 0 to 1 (`vitals_cpu_usage_ratio`).
    pub cpu: Option<f64>,
    /// Memory used, 0 to 1: 1 - MemAvailable / MemTotal.
    pub memory: Option<f64>,
    /// The fullest filesystem: its mount point and the share used, 1 - avail / size.
    pub fullest: Option<(String, f64)>,
    /// `node_load1` over the number of CPUs.
    pub load_per_cpu: Option<f64>,
    /// The hottest sensor: its name (chip and sensor, or thermal zone) and degrees Celsius.
    pub hottest: Option<(String, f64)>,
}

impl Row {
    /// The row of the agent published in `slot`.
    pub fn of(slot: &Slot) -> Row {
        let facts = slot.status.facts();
        let view = slot.get();
        let series = Series(&view);
        let one = |family: usize| series.one(family);
        Row {
            up: one(F::UP) == Some(1.0),
            last_seen: one(F::LAST_SEEN).filter(|&t| t > 0.0),
            // Once its series expired, the counts at its last disconnection.
            samples: one(F::SAMPLES).or(facts.samples_at_close.map(|(s, _)| s as f64)),
            gaps: one(F::SEQUENCE_GAPS).or(facts.samples_at_close.map(|(_, g)| g as f64)),
            dropped: one(F::SAMPLES_DROPPED),
            health: Health::of(&series),
            facts,
        }
    }

    /// Seconds since its last sample, at `now` (Unix time).
    pub fn seen_ago(&self, now: f64) -> Option<f64> {
        self.last_seen.map(|t| (now - t).max(0.0))
    }
}

impl Health {
    fn of(series: &Series<'_>) -> Health {
        let one = |family: u16| series.one(usize::from(family));
        let memory = series.memory_used();
        let sizes: Vec<(&str, f64)> = series.values(usize::from(f::FS_SIZE)).collect();
        let fullest = series
            .values(usize::from(f::FS_AVAIL))
            .filter_map(|(line, avail)| {
                let (_, size) = sizes.iter().find(|(l, _)| same_labels(l, line))?;
                (*size > 0.0).then(|| (label(line, "mountpoint"), 1.0 - avail / size))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(mount, used)| (mount.unwrap_or_default().into_owned(), used));
        let cpus = series
            .values(usize::from(f::CPU))
            .filter(|(line, _)| label(line, "mode").as_deref() == Some("idle"))
            .count();
        let load_per_cpu = one(f::LOAD1)
            .filter(|_| cpus > 0)
            .map(|load| load / cpus as f64);
        // Each sensor named by two of its labels: hwmon's chip and sensor, a zone's type and
        // number.
        let sensors = |family: u16, first: &'static str, second: &'static str| {
            series.values(usize::from(family)).map(move |(line, v)| {
                let part = |name| label(line, name).unwrap_or_default();
                (format!("{} {}", part(first), part(second)), v)
            })
        };
        let hwmon = sensors(f::HWMON_TEMP, "chip", "sensor");
        let zones = sensors(f::THERMAL_ZONE_TEMP, "type", "zone");
        let hottest = hwmon
            .chain(zones)
            .filter(|(_, v)| v.is_finite())
            .max_by(|a, b| a.1.total_cmp(&b.1));
        Health {
            cpu: one(f::CPU_USAGE),
            memory,
            fullest,
            load_per_cpu,
            hottest,
        }
    }
}

/// An agent's series by family: each one's line up to its value, and the value.
#[derive(Debug)]
pub struct Series<'a>(pub &'a View);

impl<'a> Series<'a> {
    /// The series of family number `family`, in order.
    pub fn values(&self, family: usize) -> impl Iterator<Item = (&'a str, f64)> + 'a {
        let view = self.0;
        let range = view.layout.ranges.get(family).cloned().unwrap_or(0..0);
        range.filter_map(move |i| Some((view.prefix(i)?, view.value(i)?)))
    }

    /// The value of family number `family`'s first series (its only one, for most).
    pub fn one(&self, family: usize) -> Option<f64> {
        self.values(family).next().map(|(_, v)| v)
    }

    /// Memory used, 0 to 1, as the dashboards compute it: 1 - MemAvailable / MemTotal.
    pub fn memory_used(&self) -> Option<f64> {
        match (
            self.one(usize::from(f::MEM_AVAILABLE)),
            self.one(usize::from(f::MEM_TOTAL)),
        ) {
            (Some(avail), Some(total)) if total > 0.0 => Some(1.0 - avail / total),
            _ => None,
        }
    }

    /// Every series: its line up to its value, and the value.
    pub fn all(&self) -> impl Iterator<Item = (&'a str, f64)> + 'a {
        let view = self.0;
        (0..view.layout.lines.len()).filter_map(move |i| Some((view.prefix(i)?, view.value(i)?)))
    }
}

/// Whether two series lines of different families have the same labels.
fn same_labels(a: &str, b: &str) -> bool {
    a.find('{').map(|i| &a[i..]) == b.find('{').map(|i| &b[i..])
}

/// The value of label `name` in a series line (`family{a="x",b="y"} `), unescaped.
pub fn label<'a>(line: &'a str, name: &str) -> Option<Cow<'a, str>> {
    let open = line.find('{')?;
    let mut rest = line.get(open + 1..)?;
    loop {
        let (key, after) = rest.split_once("=\"")?;
        // The value runs to the first quote that no backslash escapes.
        let mut end = None;
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end?;
        let raw = &after[..end];
        if key == name {
            return Some(if raw.contains('\\') {
                Cow::Owned(unescape(raw))
            } else {
                Cow::Borrowed(raw)
            });
        }
        rest = after.get(end + 1..)?.strip_prefix(',')?;
    }
}

/// A label value as the exposition escapes it (`\\`, `\"`, `\n`), back to its text.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Now, as Unix time.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_back_escaped_or_not() {
        let line = r#"node_filesystem_avail_bytes{instance="a",device="/dev/x",mountpoint="/srv/\"q\" \\ \n"} "#;
        assert_eq!(label(line, "instance").as_deref(), Some("a"));
        assert_eq!(label(line, "device").as_deref(), Some("/dev/x"));
        assert_eq!(
            label(line, "mountpoint").as_deref(),
            Some("/srv/\"q\" \\ \n")
        );
        assert_eq!(label(line, "fstype"), None);
        assert_eq!(label("node_load1{instance=\"a\"} ", "mode"), None);
        assert_eq!(label("up ", "instance"), None);
    }

    #[test]
    fn same_labels_ignores_the_name() {
        assert!(same_labels(
            r#"node_filesystem_avail_bytes{mountpoint="/"} "#,
            r#"node_filesystem_size_bytes{mountpoint="/"} "#
        ));
        assert!(!same_labels(
            r#"node_filesystem_avail_bytes{mountpoint="/"} "#,
            r#"node_filesystem_size_bytes{mountpoint="/boot"} "#
        ));
    }
}
