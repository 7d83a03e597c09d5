//! `/proc/stat`, as node_exporter's cpu and stat collectors read it: each CPU's seconds in each
//! mode, the context switches, forks, running and blocked processes and the boot time; and
//! the CPU usage, from sysinfo.
//!
//! Each parser skips what it cannot read (a short line, a field that is not a number) rather
//! than failing the whole file, so one odd line costs one value, never a panic.

use std::fmt;
use std::path::{Path, PathBuf};

use agent_core::sample::{Cpu, Sample, push_or_count};
use sysinfo::System;

use super::labels::Notes;
use super::read::read_text;

/// Reads `/proc/stat` and keeps each CPU's seconds from going backwards.
pub(super) struct StatCollector {
    /// sysinfo's view, for the CPU usage. `None` under another root (sysinfo reads the live
    /// `/proc` only) or when sysinfo cannot start.
    system: Option<System>,
    /// `proc/stat` under the root.
    path: PathBuf,
    /// The per-CPU seconds of the last sample, by CPU number.
    cpus: Vec<Cpu>,
    /// The per-CPU seconds being collected; swapped with `cpus` after each sample, so that
    /// neither is allocated again.
    cpus_next: Vec<Cpu>,
    /// Holds the file being parsed; reused so a sample allocates nothing here.
    buf: Vec<u8>,
}

impl fmt::Debug for StatCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatCollector")
            .field("sysinfo", &self.system.is_some())
            .field("cpus", &self.cpus.len())
            .finish_non_exhaustive()
    }
}

impl StatCollector {
    /// Reads `proc/stat` under `root`, and the CPU usage from `system` when there is one.
    pub(super) fn new(root: &Path, system: Option<System>) -> Self {
        Self {
            system,
            path: root.join("proc/stat"),
            cpus: Vec::new(),
            cpus_next: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// Sets [`Sample::cpu_usage`], the single-valued lines and [`Sample::cpus`], noting in
    /// `notes` a CPU listed twice.
    pub(super) fn collect(&mut self, sample: &mut Sample, notes: &mut Notes) {
        if let Some(system) = &mut self.system {
            system.refresh_cpu_usage();
            let usage = f64::from(system.global_cpu_usage()) / 100.0;
            sample.cpu_usage = if usage.is_finite() {
                usage.clamp(0.0, 1.0)
            } else {
                0.0
            };
        }

        let Some(text) = read_text(&mut self.buf, &self.path) else {
            return;
        };
        let stat = parse_stat(&text);
        sample.context_switches = stat.context_switches;
        sample.forks = stat.forks;
        sample.procs_running = stat.procs_running;
        sample.procs_blocked = stat.procs_blocked;
        sample.boot_time = stat.boot_time;

        self.cpus_next.clear();
        for cpu in parse_stat_cpus(&text) {
            // A number is always a fine label; only a repeat is left out.
            if self.cpus_next.iter().any(|c| c.cpu == cpu.cpu) {
                let number = cpu.cpu.to_string();
                notes.admit("cpu", &[("cpu", &number)], true);
                continue;
            }
            let cpu = settle_cpu(self.cpus.iter().find(|p| p.cpu == cpu.cpu), cpu);
            self.cpus_next.push(cpu);
            push_or_count(&mut sample.cpus, cpu, &mut sample.omitted.cpus);
        }
        std::mem::swap(&mut self.cpus, &mut self.cpus_next);
    }
}

/// Ticks per second in `/proc/stat`. node_exporter assumes 100 (`USER_HZ`), as does every Linux
/// ABI in use: the kernel scales its internal `HZ` to it.
const USER_HZ: f64 = 100.0;

/// The single-valued lines of `/proc/stat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Stat {
    /// `ctxt`.
    pub context_switches: u64,
    /// `processes`.
    pub forks: u64,
    /// `procs_running`.
    pub procs_running: u32,
    /// `procs_blocked`.
    pub procs_blocked: u32,
    /// `btime`, seconds since the epoch.
    pub boot_time: u64,
}

/// Reads the single-valued lines of `/proc/stat`; a missing or malformed line leaves its field 0.
fn parse_stat(text: &str) -> Stat {
    let mut stat = Stat::default();
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let (Some(key), Some(value), None) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        match key {
            "ctxt" => stat.context_switches = value.parse().unwrap_or(0),
            "processes" => stat.forks = value.parse().unwrap_or(0),
            "procs_running" => stat.procs_running = value.parse().unwrap_or(0),
            "procs_blocked" => stat.procs_blocked = value.parse().unwrap_or(0),
            "btime" => stat.boot_time = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    stat
}

/// The per-CPU lines of `/proc/stat` (`cpu0`, `cpu1`, ...; not the `cpu` total), in file order.
fn parse_stat_cpus(text: &str) -> impl Iterator<Item = Cpu> + '_ {
    text.lines().filter_map(parse_cpu_line)
}

/// One `cpuN user nice system idle iowait irq softirq steal [guest guest_nice]` line, in seconds.
///
/// Like node_exporter (through procfs), trailing modes an old kernel does not report are 0, and
/// `user` and `nice` are left as the kernel reports them, guest time included. A line needs at
/// least the four modes every kernel has.
fn parse_cpu_line(line: &str) -> Option<Cpu> {
    let mut fields = line.split_ascii_whitespace();
    let cpu = fields.next()?.strip_prefix("cpu")?.parse::<u16>().ok()?;
    let mut modes = [0.0_f64; 8];
    let mut read = 0;
    for (slot, field) in modes.iter_mut().zip(fields) {
        *slot = field.parse::<u64>().ok()? as f64 / USER_HZ;
        read += 1;
    }
    if read < 4 {
        return None;
    }
    let [user, nice, system, idle, iowait, irq, softirq, steal] = modes;
    Some(Cpu {
        cpu,
        user,
        nice,
        system,
        idle,
        iowait,
        irq,
        softirq,
        steal,
    })
}

/// How far `idle` may fall, in seconds, before node_exporter takes it for a CPU that was
/// unplugged and plugged back, and starts that CPU's counters afresh.
const JUMP_BACK_SECONDS: f64 = 3.0;

/// Keeps one CPU's counters from going backwards, as node_exporter 1.5's `updateCPUStats` does.
///
/// The kernel's `iowait` (and, on some hypervisors, others) can decrease between two reads.
/// Each mode keeps its previous value when the new one is smaller, except when `idle` fell by
/// [`JUMP_BACK_SECONDS`] or more: then the CPU is taken as hotplugged and `new` is used whole.
fn settle_cpu(previous: Option<&Cpu>, new: Cpu) -> Cpu {
    let Some(previous) = previous else {
        return new;
    };
    if previous.idle - new.idle >= JUMP_BACK_SECONDS {
        return new;
    }
    let keep = |old: f64, new: f64| if new >= old { new } else { old };
    Cpu {
        cpu: new.cpu,
        user: keep(previous.user, new.user),
        nice: keep(previous.nice, new.nice),
        system: keep(previous.system, new.system),
        idle: keep(previous.idle, new.idle),
        iowait: keep(previous.iowait, new.iowait),
        irq: keep(previous.irq, new.irq),
        softirq: keep(previous.softirq, new.softirq),
        steal: keep(previous.steal, new.steal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/proc/stat` of a 4-CPU machine running kernel 6.x (intr and softirq cut short).
    const PROC_STAT: &str = include_str!("fixtures/stat/proc/stat");

    #[test]
    fn stat_scalars() {
        assert_eq!(
            parse_stat(PROC_STAT),
            Stat {
                context_switches: 354_183_419,
                forks: 1_030_544,
                procs_running: 3,
                procs_blocked: 1,
                boot_time: 1_700_000_000,
            }
        );
    }

    #[test]
    fn stat_cpus_in_seconds_without_the_total_line() {
        let cpus: Vec<Cpu> = parse_stat_cpus(PROC_STAT).collect();
        assert_eq!(cpus.len(), 4);
        assert_eq!(
            cpus[0],
            Cpu {
                cpu: 0,
                user: 3407.48,
                nice: 81.63,
                system: 1382.36,
                idle: 33174.32,
                iowait: 16.19,
                irq: 0.0,
                softirq: 120.63,
                steal: 0.0,
            }
        );
        // Guest time is part of user and is not subtracted; steal is the 8th field.
        assert_eq!(cpus[3].cpu, 3);
        assert_eq!(cpus[3].user, 3518.76);
        assert_eq!(cpus[3].steal, 0.12);
    }

    #[test]
    fn stat_cpu_line_from_an_old_kernel_has_zero_for_missing_modes() {
        let cpu = parse_cpu_line("cpu7 100 0 50 1000").unwrap();
        assert_eq!(
            (cpu.cpu, cpu.user, cpu.idle, cpu.steal),
            (7, 1.0, 10.0, 0.0)
        );
    }

    #[test]
    fn stat_malformed_lines_are_skipped() {
        for line in [
            "cpu",
            "cpu0",
            "cpu0 1 2 3",
            "cpu0 1 2 x 4",
            "cpu0 -1 2 3 4",
            "cpux 1 2 3 4",
            "cpu99999 1 2 3 4",
            "cpu 1 2 3 4",
            "",
        ] {
            assert_eq!(parse_cpu_line(line), None, "{line:?}");
        }
        let stat = parse_stat("ctxt\nprocesses 12 13\nbtime -5\nprocs_running 4294967296\n");
        assert_eq!(stat, Stat::default());
        assert_eq!(parse_stat_cpus("garbage\n\u{0}\ncpu1 1 1 1 1\n").count(), 1);
    }

    #[test]
    fn settle_keeps_counters_monotonic_and_resets_on_hotplug() {
        let before = Cpu {
            cpu: 1,
            user: 10.0,
            idle: 100.0,
            iowait: 5.0,
            ..Cpu::default()
        };
        let dip = Cpu {
            cpu: 1,
            user: 11.0,
            idle: 101.0,
            iowait: 4.9,
            ..Cpu::default()
        };
        let settled = settle_cpu(Some(&before), dip);
        assert_eq!(
            (settled.user, settled.idle, settled.iowait),
            (11.0, 101.0, 5.0)
        );

        let small_idle_dip = Cpu { idle: 98.0, ..dip };
        assert_eq!(settle_cpu(Some(&before), small_idle_dip).idle, 100.0);

        let replugged = Cpu {
            cpu: 1,
            user: 0.5,
            idle: 2.0,
            ..Cpu::default()
        };
        assert_eq!(settle_cpu(Some(&before), replugged), replugged);
        assert_eq!(settle_cpu(None, dip), dip);
    }
}
