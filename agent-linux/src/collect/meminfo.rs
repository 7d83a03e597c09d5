//! Memory and swap, `/proc/meminfo`, as node_exporter's meminfo collector reads it.

use std::path::{Path, PathBuf};

use agent_core::sample::{Memory, Sample};

use super::read::read_text;

/// Reads the memory and swap totals.
#[derive(Debug)]
pub(super) struct MeminfoCollector {
    /// `proc/meminfo` under the root.
    path: PathBuf,
    /// Holds the file being parsed; reused so a sample allocates nothing here.
    buf: Vec<u8>,
}

impl MeminfoCollector {
    /// Reads `proc/meminfo` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            path: root.join("proc/meminfo"),
            buf: Vec::new(),
        }
    }

    /// Sets [`Sample::memory`]; left at zero when the file cannot be read.
    pub(super) fn collect(&mut self, sample: &mut Sample) {
        if let Some(text) = read_text(&mut self.buf, &self.path) {
            sample.memory = parse_meminfo(&text);
        }
    }
}

/// Reads the fields of `/proc/meminfo` that [`Memory`] holds, in bytes.
///
/// Values with the `kB` unit are multiplied by 1024 (the kernel's "kB" is KiB), as node_exporter
/// does; a missing or malformed field is 0.
fn parse_meminfo(text: &str) -> Memory {
    let mut memory = Memory::default();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let mut fields = rest.split_ascii_whitespace();
        let Some(Ok(value)) = fields.next().map(str::parse::<u64>) else {
            continue;
        };
        let bytes = match fields.next() {
            None => value,
            Some("kB") => value.saturating_mul(1024),
            Some(_) => continue,
        };
        let field = match key {
            "MemTotal" => &mut memory.total,
            "MemFree" => &mut memory.free,
            "MemAvailable" => &mut memory.available,
            "Buffers" => &mut memory.buffers,
            "Cached" => &mut memory.cached,
            "SwapTotal" => &mut memory.swap_total,
            "SwapFree" => &mut memory.swap_free,
            _ => continue,
        };
        *field = bytes;
    }
    memory
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start of `/proc/meminfo` of a 16 GiB machine, with fields in kernel order.
    const PROC_MEMINFO: &str = include_str!("fixtures/meminfo/proc/meminfo");

    #[test]
    fn meminfo_in_bytes() {
        assert_eq!(
            parse_meminfo(PROC_MEMINFO),
            Memory {
                total: 16_318_412 * 1024,
                free: 1_123_456 * 1024,
                available: 9_876_543 * 1024,
                buffers: 345_678 * 1024,
                cached: 7_654_321 * 1024,
                swap_total: 2_097_148 * 1024,
                swap_free: 2_000_000 * 1024,
            }
        );
    }

    #[test]
    fn meminfo_malformed_fields_are_zero() {
        let memory = parse_meminfo(
            "MemTotal: lots kB\nMemFree 12 kB\nBuffers: 3 MB\nCached: 18446744073709551615 kB\n\
             SwapFree: 7\n:\n",
        );
        assert_eq!(
            memory,
            Memory {
                cached: u64::MAX,
                swap_free: 7,
                ..Memory::default()
            }
        );
    }
}
