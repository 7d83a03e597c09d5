//! `/proc/stat`, as node_exporter's cpu and stat collectors read it: each CPU's seconds in each
//! mode, the context switches, forks, running and blocked processes and the boot time; and
//! the CPU usage between two samples, from the same lines.
//!
//! The file is read once a sample. What a v1 [`Sample`] has room for goes into it; the
//! interrupts and each CPU's guest seconds are kept for [`StatCollector::series`], which only
//! a v2 agent sends.
//!
//! Each parser skips what it cannot read (a short line, a field that is not a number) rather
//! than failing the whole file, so one odd line costs one value, never a panic.

use std::fmt;
use std::path::Path;

use agent_core::catalogue::{Series, f};
use agent_core::sample::{Cpu, MAX_CPUS, Sample, decimal, push_or_count};

use super::labels::Notes;
use super::proc_file::ProcFile;

/// Reads `/proc/stat` and keeps each CPU's seconds from going backwards.
pub(super) struct StatCollector {
    /// `proc/stat` under the root.
    path: ProcFile,
    /// The per-CPU seconds of the last sample read, by CPU number.
    cpus: Vec<CpuLine>,
    /// The per-CPU seconds being collected; swapped with `cpus` after each sample, so that
    /// neither is allocated again.
    cpus_next: Vec<CpuLine>,
    /// Holds the file being parsed; reused so a sample allocates nothing here.
    buf: Vec<u8>,
    /// `intr`'s total, of the last sample; `None` when it could not read the file, and then
    /// [`series`](StatCollector::series) gives nothing (`cpus` is older than that sample).
    interrupts: Option<u64>,
    /// The busy and total seconds of every CPU in the last sample read, so that the next
    /// one's [`Sample::cpu_usage`] is that of the interval between them.
    busy_total: Option<(f64, f64)>,
}

impl fmt::Debug for StatCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatCollector")
            .field("cpus", &self.cpus.len())
            .finish_non_exhaustive()
    }
}

impl StatCollector {
    /// Reads `proc/stat` under `root`, once now so that the first sample's usage is that of
    /// the time since, as the later ones' is that of the interval before them.
    pub(super) fn new(root: &Path) -> Self {
        let mut collector = Self {
            path: ProcFile::new(root.join("proc/stat")),
            cpus: Vec::new(),
            cpus_next: Vec::new(),
            buf: Vec::new(),
            interrupts: None,
            busy_total: None,
        };
        if let Some(text) = collector.path.read(&mut collector.buf) {
            collector.cpus.extend(parse_stat_cpus(&text));
            collector.busy_total = Some(busy_total(&collector.cpus));
        }
        collector
    }

    /// Sets [`Sample::cpu_usage`], the single-valued lines and [`Sample::cpus`], noting in
    /// `notes` a CPU listed twice, and keeps the rest for [`series`](StatCollector::series).
    pub(super) fn collect(&mut self, sample: &mut Sample, notes: &mut Notes) {
        self.interrupts = None;
        let Some(text) = self.path.read(&mut self.buf) else {
            return;
        };
        let stat = parse_stat(&text);
        self.interrupts = Some(stat.interrupts);
        sample.context_switches = stat.context_switches;
        sample.forks = stat.forks;
        sample.procs_running = stat.procs_running;
        sample.procs_blocked = stat.procs_blocked;
        sample.boot_time = stat.boot_time;

        self.cpus_next.clear();
        for line in parse_stat_cpus(&text) {
            let number = line.modes.cpu;
            // A number is always a fine label; only a repeat is left out.
            if self.cpus_next.iter().any(|c| c.modes.cpu == number) {
                notes.admit("cpu", &[("cpu", &number.to_string())], true);
                continue;
            }
            let line = settle_cpu(self.cpus.iter().find(|p| p.modes.cpu == number), line);
            self.cpus_next.push(line);
            push_or_count(&mut sample.cpus, line.modes, &mut sample.omitted.cpus);
        }
        std::mem::swap(&mut self.cpus, &mut self.cpus_next);
        let now = busy_total(&self.cpus);
        sample.cpu_usage = usage(self.busy_total, now);
        self.busy_total = Some(now);
    }

    /// The series besides the sample's that the last [`collect`](StatCollector::collect) read:
    /// `node_intr_total`, then each CPU's guest seconds, of the CPUs the sample has.
    pub(super) fn series(&self, out: &mut dyn Series) {
        let Some(interrupts) = self.interrupts else {
            return;
        };
        out.section("stat");
        out.add(f::INTR, &[], interrupts as f64);
        let mut digits = [0u8; 20];
        // The sample keeps the first `MAX_CPUS` CPUs of the file (see `push_or_count`).
        for line in self.cpus.iter().take(MAX_CPUS) {
            let cpu = decimal(line.modes.cpu.into(), &mut digits);
            out.identity(cpu);
            out.add(f::CPU_GUEST, &[cpu, "user"], line.guest);
            out.add(f::CPU_GUEST, &[cpu, "nice"], line.guest_nice);
        }
    }
}

/// Ticks per second in `/proc/stat`. node_exporter assumes 100 (`USER_HZ`), as does every Linux
/// ABI in use: the kernel scales its internal `HZ` to it.
const USER_HZ: f64 = 100.0;

/// The single-valued lines of `/proc/stat`, and `intr`'s total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Stat {
    /// `intr`'s first number, the total of every interrupt (the numbered ones follow it).
    pub interrupts: u64,
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

/// Reads the single-valued lines of `/proc/stat` and `intr`'s total; a missing or malformed
/// line leaves its field 0.
fn parse_stat(text: &str) -> Stat {
    let mut stat = Stat::default();
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let (Some(key), Some(value)) = (fields.next(), fields.next()) else {
            continue;
        };
        if key == "intr" {
            stat.interrupts = value.parse().unwrap_or(0);
            continue;
        }
        if fields.next().is_some() {
            continue;
        }
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

/// One CPU's line of `/proc/stat`, in seconds: the modes of `node_cpu_seconds_total`, and the
/// guest time of `node_cpu_guest_seconds_total`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct CpuLine {
    /// The modes a [`Sample`] has.
    modes: Cpu,
    /// `guest`: running a guest's virtual CPU, which the kernel counts in `user` too.
    guest: f64,
    /// `guest_nice`: the same for a niced guest, counted in `nice` too.
    guest_nice: f64,
}

/// The per-CPU lines of `/proc/stat` (`cpu0`, `cpu1`, ...; not the `cpu` total), in file order.
fn parse_stat_cpus(text: &str) -> impl Iterator<Item = CpuLine> + '_ {
    text.lines().filter_map(parse_cpu_line)
}

/// One `cpuN user nice system idle iowait irq softirq steal [guest guest_nice]` line, in seconds.
///
/// Like node_exporter (through procfs), trailing modes an old kernel does not report are 0, and
/// `user` and `nice` are left as the kernel reports them, guest time included. A line needs at
/// least the four modes every kernel has.
fn parse_cpu_line(line: &str) -> Option<CpuLine> {
    let mut fields = line.split_ascii_whitespace();
    let cpu = fields.next()?.strip_prefix("cpu")?.parse::<u16>().ok()?;
    let mut modes = [0.0_f64; 10];
    let mut read = 0;
    for (slot, field) in modes.iter_mut().zip(fields) {
        *slot = field.parse::<u64>().ok()? as f64 / USER_HZ;
        read += 1;
    }
    if read < 4 {
        return None;
    }
    let [
        user,
        nice,
        system,
        idle,
        iowait,
        irq,
        softirq,
        steal,
        guest,
        guest_nice,
    ] = modes;
    Some(CpuLine {
        modes: Cpu {
            cpu,
            user,
            nice,
            system,
            idle,
            iowait,
            irq,
            softirq,
            steal,
        },
        guest,
        guest_nice,
    })
}

/// The seconds all of `cpus` were busy, and in all, counted as sysinfo 0.40 counted them
/// when the agent took the usage from it: idle and iowait are not busy, and guest time is in
/// `user` and `nice` already.
fn busy_total(cpus: &[CpuLine]) -> (f64, f64) {
    cpus.iter().fold((0.0, 0.0), |(busy, total), line| {
        let c = &line.modes;
        let working = c.user + c.nice + c.system + c.irq + c.softirq + c.steal;
        (busy + working, total + working + c.idle + c.iowait)
    })
}

/// The share of the time the CPUs were busy between the `before` and `now` of [`busy_total`]:
/// since boot when there is no earlier read, or when the total went back (a CPU unplugged).
fn usage(before: Option<(f64, f64)>, now: (f64, f64)) -> f64 {
    let (busy, total) = match before {
        Some((busy, total)) if now.1 > total => (now.0 - busy, now.1 - total),
        _ => now,
    };
    let ratio = busy / total;
    if ratio.is_finite() {
        ratio.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// How far `idle` may fall, in seconds, before node_exporter takes it for a CPU that was
/// unplugged and plugged back, and starts that CPU's counters afresh.
const JUMP_BACK_SECONDS: f64 = 3.0;

/// Keeps one CPU's counters from going backwards, as node_exporter 1.5's `updateCPUStats` does.
///
/// The kernel's `iowait` (and, on some hypervisors, others) can decrease between two reads.
/// Each mode, the guest ones too, keeps its previous value when the new one is smaller, except
/// when `idle` fell by [`JUMP_BACK_SECONDS`] or more: then the CPU is taken as hotplugged and
/// `new` is used whole.
fn settle_cpu(previous: Option<&CpuLine>, new: CpuLine) -> CpuLine {
    let Some(previous) = previous else {
        return new;
    };
    let (old, now) = (&previous.modes, &new.modes);
    if old.idle - now.idle >= JUMP_BACK_SECONDS {
        return new;
    }
    let keep = |old: f64, new: f64| if new >= old { new } else { old };
    CpuLine {
        modes: Cpu {
            cpu: now.cpu,
            user: keep(old.user, now.user),
            nice: keep(old.nice, now.nice),
            system: keep(old.system, now.system),
            idle: keep(old.idle, now.idle),
            iowait: keep(old.iowait, now.iowait),
            irq: keep(old.irq, now.irq),
            softirq: keep(old.softirq, now.softirq),
            steal: keep(old.steal, now.steal),
        },
        guest: keep(previous.guest, new.guest),
        guest_nice: keep(previous.guest_nice, new.guest_nice),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::families::listed;
    use std::path::PathBuf;

    /// `/proc/stat` of a 4-CPU machine running kernel 6.x (intr and softirq cut short).
    const PROC_STAT: &str = include_str!("fixtures/stat/proc/stat");

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/stat")
    }

    /// A line's seconds, with its guest ones.
    fn line(modes: Cpu, guest: f64, guest_nice: f64) -> CpuLine {
        CpuLine {
            modes,
            guest,
            guest_nice,
        }
    }

    #[test]
    fn stat_scalars() {
        assert_eq!(
            parse_stat(PROC_STAT),
            Stat {
                interrupts: 199_092_186,
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
        let cpus: Vec<CpuLine> = parse_stat_cpus(PROC_STAT).collect();
        assert_eq!(cpus.len(), 4);
        assert_eq!(
            cpus[0],
            line(
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
                },
                0.0,
                0.0
            )
        );
        // Guest time is part of user and is not subtracted; steal is the 8th field, guest and
        // guest_nice the last two.
        assert_eq!(cpus[3].modes.cpu, 3);
        assert_eq!(cpus[3].modes.user, 3518.76);
        assert_eq!(cpus[3].modes.steal, 0.12);
        assert_eq!((cpus[3].guest, cpus[3].guest_nice), (0.34, 0.05));
    }

    #[test]
    fn stat_cpu_line_from_an_old_kernel_has_zero_for_missing_modes() {
        let cpu = parse_cpu_line("cpu7 100 0 50 1000").unwrap();
        assert_eq!(
            (
                cpu.modes.cpu,
                cpu.modes.user,
                cpu.modes.idle,
                cpu.modes.steal
            ),
            (7, 1.0, 10.0, 0.0)
        );
        assert_eq!((cpu.guest, cpu.guest_nice), (0.0, 0.0));
        let before_guest_nice = parse_cpu_line("cpu1 1 2 3 4 5 6 7 8 9").unwrap();
        assert_eq!(
            (before_guest_nice.guest, before_guest_nice.guest_nice),
            (0.09, 0.0)
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
            "cpu0 1 2 3 4 5 6 7 8 x 10",
            "cpux 1 2 3 4",
            "cpu99999 1 2 3 4",
            "cpu 1 2 3 4",
            "",
        ] {
            assert_eq!(parse_cpu_line(line), None, "{line:?}");
        }
        let stat =
            parse_stat("ctxt\nprocesses 12 13\nbtime -5\nprocs_running 4294967296\nintr x 1 2\n");
        assert_eq!(stat, Stat::default());
        assert_eq!(parse_stat("intr 7\n").interrupts, 7);
        assert_eq!(parse_stat_cpus("garbage\n\u{0}\ncpu1 1 1 1 1\n").count(), 1);
    }

    #[test]
    fn settle_keeps_counters_monotonic_and_resets_on_hotplug() {
        let before = line(
            Cpu {
                cpu: 1,
                user: 10.0,
                idle: 100.0,
                iowait: 5.0,
                ..Cpu::default()
            },
            3.0,
            1.0,
        );
        let dip = line(
            Cpu {
                cpu: 1,
                user: 11.0,
                idle: 101.0,
                iowait: 4.9,
                ..Cpu::default()
            },
            2.9,
            1.5,
        );
        let settled = settle_cpu(Some(&before), dip);
        assert_eq!(
            (
                settled.modes.user,
                settled.modes.idle,
                settled.modes.iowait,
                settled.guest,
                settled.guest_nice
            ),
            (11.0, 101.0, 5.0, 3.0, 1.5)
        );

        let small_idle_dip = line(
            Cpu {
                idle: 98.0,
                ..dip.modes
            },
            2.9,
            1.5,
        );
        assert_eq!(settle_cpu(Some(&before), small_idle_dip).modes.idle, 100.0);

        let replugged = line(
            Cpu {
                cpu: 1,
                user: 0.5,
                idle: 2.0,
                ..Cpu::default()
            },
            0.1,
            0.0,
        );
        assert_eq!(settle_cpu(Some(&before), replugged), replugged);
        assert_eq!(settle_cpu(None, dip), dip);
    }

    #[test]
    fn interrupts_and_guest_seconds_from_the_fixture() {
        let mut collector = StatCollector::new(&fixture());
        let mut sample = Sample::default();
        collector.collect(&mut sample, &mut Notes::default());
        assert_eq!(sample.context_switches, 354_183_419);
        let mut want = vec![("node_intr_total", Vec::<String>::new(), 199_092_186.0)];
        for (cpu, user, nice) in [("0", 0.0, 0.0), ("1", 0.0, 0.0), ("2", 0.0, 0.0)] {
            want.push((
                "node_cpu_guest_seconds_total",
                vec![cpu.into(), "user".into()],
                user,
            ));
            want.push((
                "node_cpu_guest_seconds_total",
                vec![cpu.into(), "nice".into()],
                nice,
            ));
        }
        want.push((
            "node_cpu_guest_seconds_total",
            vec!["3".into(), "user".into()],
            0.34,
        ));
        want.push((
            "node_cpu_guest_seconds_total",
            vec!["3".into(), "nice".into()],
            0.05,
        ));
        assert_eq!(listed::named(|out| collector.series(out)), want);
    }

    /// The usage is that of the interval between two reads of the file; of the time since
    /// boot when there is no earlier read.
    #[test]
    fn the_usage_is_that_of_the_interval() {
        let cpu = |user: f64, idle: f64, iowait: f64| {
            line(
                Cpu {
                    user,
                    system: 1.0,
                    idle,
                    iowait,
                    ..Cpu::default()
                },
                0.5,
                0.0,
            )
        };
        let first = busy_total(&[cpu(3.0, 10.0, 1.0), cpu(1.0, 13.0, 0.0)]);
        assert_eq!(first, (6.0, 30.0), "guest time is counted once, in user");
        assert_eq!(usage(None, first), 0.2);
        // 3 s busy of 4 in the interval.
        let next = busy_total(&[cpu(5.0, 10.5, 1.0), cpu(2.0, 13.0, 0.5)]);
        assert_eq!(usage(Some(first), next), 0.75);
        // A CPU unplugged takes its seconds away: since boot again, never negative.
        let fewer = busy_total(&[cpu(5.0, 10.5, 1.0)]);
        assert_eq!(usage(Some(next), fewer), 6.0 / 17.5);
        assert_eq!(usage(None, busy_total(&[])), 0.0, "no CPUs, not NaN");
    }

    /// A sample that cannot read the file gives none of these series, not the last ones read.
    #[test]
    fn a_missing_file_gives_no_series() {
        let mut collector = StatCollector::new(&fixture());
        collector.collect(&mut Sample::default(), &mut Notes::default());
        assert!(!listed::series(|out| collector.series(out)).is_empty());
        collector.path = ProcFile::new(PathBuf::from("/nonexistent/proc/stat"));
        collector.collect(&mut Sample::default(), &mut Notes::default());
        assert!(listed::series(|out| collector.series(out)).is_empty());
    }
}
