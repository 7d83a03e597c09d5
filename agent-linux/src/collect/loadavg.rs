//! Load averages, as node_exporter's loadavg collector reports them: from `/proc/loadavg`.

use std::path::Path;

use agent_core::sample::Sample;

use super::proc_file::ProcFile;

/// Reads the 1, 5 and 15 minute load averages.
#[derive(Debug)]
pub(super) struct LoadavgCollector {
    /// `proc/loadavg` under the root.
    path: ProcFile,
    /// Holds the file being parsed; reused so a sample allocates nothing here.
    buf: Vec<u8>,
}

impl LoadavgCollector {
    /// Reads the load averages from `proc/loadavg` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            path: ProcFile::new(root.join("proc/loadavg")),
            buf: Vec::new(),
        }
    }

    /// Sets [`Sample::load1`], `load5` and `load15`; 0 for any that cannot be read or is not a
    /// finite, non-negative number.
    pub(super) fn collect(&mut self, sample: &mut Sample) {
        let load = self
            .path
            .read(&mut self.buf)
            .and_then(|text| parse_loadavg(&text));
        let [load1, load5, load15] = load.unwrap_or_default();
        let sane = |load: f64| {
            if load.is_finite() && load >= 0.0 {
                load
            } else {
                0.0
            }
        };
        sample.load1 = sane(load1);
        sample.load5 = sane(load5);
        sample.load15 = sane(load15);
    }
}

/// Reads the three load averages of `/proc/loadavg` (`0.26 0.16 0.06 1/82 5469`).
///
/// Returns `None` unless all three are finite and non-negative.
fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_ascii_whitespace();
    let mut load = [0.0_f64; 3];
    for slot in &mut load {
        let value = fields.next()?.parse::<f64>().ok()?;
        if !(value.is_finite() && value >= 0.0) {
            return None;
        }
        *slot = value;
    }
    Some(load)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROC_LOADAVG: &str = include_str!("fixtures/loadavg/proc/loadavg");

    #[test]
    fn loadavg() {
        assert_eq!(parse_loadavg(PROC_LOADAVG), Some([0.26, 0.16, 0.06]));
        assert_eq!(parse_loadavg("0.26 0.16"), None);
        assert_eq!(parse_loadavg("0.26 NaN 0.06"), None);
        assert_eq!(parse_loadavg("0.26 -1 0.06"), None);
        assert_eq!(parse_loadavg(""), None);
    }
}
