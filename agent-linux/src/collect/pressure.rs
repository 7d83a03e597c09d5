//! Pressure stall information, `/proc/pressure/{cpu,memory,io}`, as node_exporter's pressure
//! collector reads it.

use std::path::Path;

use agent_core::sample::{Pressure, Sample};

use super::proc_file::ProcFile;

/// Reads the time tasks waited for the CPU, memory and I/O.
#[derive(Debug)]
pub(super) struct PressureCollector {
    /// `proc/pressure/cpu`, `memory` and `io` under the root.
    files: [ProcFile; 3],
    /// Holds the file being parsed; reused so a sample allocates nothing here.
    buf: Vec<u8>,
}

impl PressureCollector {
    /// Reads the pressure files under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            files: ["cpu", "memory", "io"]
                .map(|r| ProcFile::new(root.join("proc/pressure").join(r))),
            buf: Vec::new(),
        }
    }

    /// Sets [`Sample::pressure`]; none where the kernel has no pressure stall information.
    pub(super) fn collect(&mut self, sample: &mut Sample) {
        let [cpu, memory, io] = &mut self.files;
        let mut read = |file: &mut ProcFile| {
            let text = file.read(&mut self.buf)?;
            parse_pressure(&text)
        };
        let (Some(cpu), Some(memory), Some(io)) = (read(cpu), read(memory), read(io)) else {
            return;
        };
        sample.pressure = Some(Pressure {
            cpu_waiting: cpu.0,
            memory_waiting: memory.0,
            memory_stalled: memory.1,
            io_waiting: io.0,
            io_stalled: io.1,
        });
    }
}

/// The `total=` of the `some` and `full` lines of a `/proc/pressure/*` file, in seconds. A
/// missing line (`full` of cpu on older kernels) is 0.
fn parse_pressure(text: &str) -> Option<(f64, f64)> {
    let total = |kind: &str| -> Option<f64> {
        let line = text
            .lines()
            .find(|l| l.split_ascii_whitespace().next() == Some(kind))?;
        let micros: u64 = line
            .split_ascii_whitespace()
            .find_map(|f| f.strip_prefix("total="))?
            .parse()
            .ok()?;
        Some(micros as f64 / 1e6)
    };
    Some((total("some")?, total("full").unwrap_or(0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRESSURE_IO: &str = include_str!("fixtures/pressure/proc/pressure/io");

    #[test]
    fn pressure_totals_in_seconds() {
        assert_eq!(parse_pressure(PRESSURE_IO), Some((2.25, 1.0)));
        assert_eq!(
            parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\n"),
            Some((1.5, 0.0))
        );
        assert_eq!(parse_pressure(""), None);
        assert_eq!(parse_pressure("some avg10=1 total=x\n"), None);
    }
}
