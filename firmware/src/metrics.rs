//! `metrics`: what a microcontroller has to report, in the protocol's existing fields, each with
//! the meaning the field has for a Linux host:
//!
//! | field | on the board |
//! |---|---|
//! | `time_ms`, `boot_time` | the board has no calendar clock, so, like a Linux machine without an RTC, its clock starts at the epoch when it boots: `boot_time` is 0 and `time_ms` the milliseconds since boot. `node_time_seconds - node_boot_time_seconds` is the uptime, as for any host |
//! | `cpus[0]` `user`, `idle` | seconds the core ran the firmware, and slept in `WFI` waiting for an interrupt; the other modes do not exist here and stay 0 |
//! | `cpu_usage` | the busy share since the previous sample |
//! | `load1/5/15` | the run queue's length averaged over 1, 5 and 15 minutes as Linux does, exponentially damped; the firmware is one thread, runnable while it is not asleep, so it is the damped busy share |
//! | `memory.total` | the RAM |
//! | `memory.free`, `available` | RAM never used since boot: all of it but the statics and the deepest the stack has been (its high watermark). No heap, so nothing else takes any |
//! | `sensors[0]` | a synthetic temperature (`chip="synthetic"`): QEMU's LM3S6965 ADC has no temperature sensor model |
//! | `procs_running` | 1: the firmware's one thread, running while it samples |
//! | `context_switches`, `forks`, `procs_blocked` | 0: one thread, nothing created, nothing blocked |

use agent_core::sample::{Cpu, Memory, Sample, Sensor, bounded};

/// The sample a microcontroller sends: one CPU, one sensor, and no filesystems, network
/// interfaces or disks.
pub type BoardSample = Sample<1, 0, 0, 1, 0>;

/// What the board measured, for one sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reading {
    /// Microseconds since boot.
    pub uptime_us: u64,
    /// Microseconds of those the core slept, waiting for an interrupt.
    pub idle_us: u64,
    /// Bytes of RAM in all.
    pub ram: u32,
    /// Bytes of RAM the statics take (`.data`, `.bss`).
    pub statics: u32,
    /// The deepest the stack has been since boot, in bytes.
    pub stack_peak: u32,
}

/// Turns readings into samples, keeping what rates and averages need between them.
#[derive(Debug, Clone, Default)]
pub struct Collector {
    /// The previous reading's uptime and idle time.
    last: Option<(u64, u64)>,
    /// The 1, 5 and 15 minute load averages.
    load: [f64; 3],
}

/// The load averages' periods, in seconds.
const LOAD_PERIODS: [f64; 3] = [60.0, 300.0, 900.0];

impl Collector {
    /// A collector that has seen nothing yet.
    pub const fn new() -> Self {
        Collector {
            last: None,
            load: [0.0; 3],
        }
    }

    /// The sample for `reading`.
    pub fn collect(&mut self, reading: &Reading) -> BoardSample {
        let uptime = reading.uptime_us;
        let idle = reading.idle_us.min(uptime);
        let (last_uptime, last_idle) = self.last.unwrap_or((0, 0));
        self.last = Some((uptime, idle));
        let span = uptime.saturating_sub(last_uptime);
        let busy = span.saturating_sub(idle.saturating_sub(last_idle));
        let usage = if span == 0 {
            0.0
        } else {
            (busy as f64 / span as f64).clamp(0.0, 1.0)
        };
        let span_s = span as f64 / 1e6;
        for (load, period) in self.load.iter_mut().zip(LOAD_PERIODS) {
            let keep = decay(span_s / period);
            *load = *load * keep + usage * (1.0 - keep);
        }

        let mut sample = BoardSample {
            time_ms: uptime / 1000,
            boot_time: 0,
            load1: self.load[0],
            load5: self.load[1],
            load15: self.load[2],
            cpu_usage: usage,
            memory: Memory {
                total: u64::from(reading.ram),
                free: u64::from(never_used(reading)),
                available: u64::from(never_used(reading)),
                ..Memory::default()
            },
            procs_running: 1,
            ..BoardSample::default()
        };
        // Capacity for one of each: these pushes cannot fail, and would be counted if they did.
        let cpu = Cpu {
            cpu: 0,
            user: (uptime - idle) as f64 / 1e6,
            idle: idle as f64 / 1e6,
            ..Cpu::default()
        };
        agent_core::sample::push_or_count(&mut sample.cpus, cpu, &mut sample.omitted.cpus);
        let sensor = Sensor {
            chip: bounded("synthetic"),
            sensor: bounded("temp1"),
            celsius: synthetic_celsius(uptime),
        };
        agent_core::sample::push_or_count(&mut sample.sensors, sensor, &mut sample.omitted.sensors);
        sample
    }
}

/// RAM neither the statics nor the stack have ever used.
fn never_used(reading: &Reading) -> u32 {
    reading
        .ram
        .saturating_sub(reading.statics)
        .saturating_sub(reading.stack_peak)
}

/// `e^-x` for `x >= 0`, without `libm`: a Taylor series on `x / 2^k` small enough to converge
/// fast, squared back `k` times.
fn decay(x: f64) -> f64 {
    // NaN, zero and below: nothing decays.
    if x.is_nan() || x <= 0.0 {
        return 1.0;
    }
    if x > 50.0 {
        return 0.0;
    }
    let (mut y, mut halvings) = (x, 0);
    while y > 0.125 {
        y /= 2.0;
        halvings += 1;
    }
    // e^y to within 1e-12 for y <= 1/8.
    let (mut term, mut sum) = (1.0, 1.0);
    for n in 1..8 {
        term *= y / f64::from(n);
        sum += term;
    }
    let mut result = 1.0 / sum;
    for _ in 0..halvings {
        result *= result;
    }
    result
}

/// A synthetic die temperature: 22 °C to 28 °C and back over ten minutes, so that a dashboard
/// shows a line that moves.
fn synthetic_celsius(uptime_us: u64) -> f64 {
    const PERIOD_MS: u64 = 600_000;
    let phase = (uptime_us / 1000) % PERIOD_MS;
    let half = PERIOD_MS / 2;
    let rise = if phase < half {
        phase
    } else {
        PERIOD_MS - phase
    };
    22.0 + 6.0 * rise as f64 / half as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_core::wire::{self, Message, SampleMessage};

    const RAM: u32 = 64 * 1024;

    fn reading(uptime_s: f64, idle_s: f64) -> Reading {
        Reading {
            uptime_us: (uptime_s * 1e6) as u64,
            idle_us: (idle_s * 1e6) as u64,
            ram: RAM,
            statics: 6000,
            stack_peak: 5000,
        }
    }

    #[test]
    fn busy_share_is_per_interval_and_cpu_seconds_are_cumulative() {
        let mut c = Collector::new();
        let first = c.collect(&reading(10.0, 9.0));
        assert!((first.cpu_usage - 0.1).abs() < 1e-9, "since boot");
        let second = c.collect(&reading(20.0, 18.5));
        assert!((second.cpu_usage - 0.05).abs() < 1e-9);
        assert_eq!(second.cpus.len(), 1);
        assert!((second.cpus[0].user - 1.5).abs() < 1e-9);
        assert!((second.cpus[0].idle - 18.5).abs() < 1e-9);
        assert_eq!(second.time_ms, 20_000);
        assert_eq!(second.boot_time, 0);
    }

    #[test]
    fn free_ram_is_what_statics_and_the_stack_never_touched() {
        let s = Collector::new().collect(&reading(1.0, 0.5));
        assert_eq!(s.memory.total, 65536);
        assert_eq!(s.memory.free, 65536 - 6000 - 5000);
        assert_eq!(s.memory.available, s.memory.free);
    }

    #[test]
    fn load_averages_approach_a_steady_busy_share_at_their_own_pace() {
        let mut c = Collector::new();
        let mut sample = c.collect(&reading(0.0, 0.0));
        for i in 1..=600 {
            // Busy a quarter of each second, for ten minutes.
            sample = c.collect(&reading(f64::from(i), f64::from(i) * 0.75));
        }
        assert!((sample.load1 - 0.25).abs() < 0.001, "{}", sample.load1);
        // After 600 s: 1 - e^-2 and 1 - e^-(2/3) of the way there.
        assert!((sample.load5 - 0.25 * (1.0 - (-2.0f64).exp())).abs() < 0.001);
        assert!((sample.load15 - 0.25 * (1.0 - (-2.0f64 / 3.0).exp())).abs() < 0.001);
        assert!(sample.load1 > sample.load5 && sample.load5 > sample.load15);
    }

    #[test]
    fn decay_is_exp_of_minus_x() {
        for x in [0.0f64, 1e-6, 0.01, 0.1, 0.125, 0.5, 1.0, 3.7, 20.0, 49.0] {
            let want = (-x).exp();
            assert!(
                (decay(x) - want).abs() <= 1e-9 * want.max(1e-12) + 1e-15,
                "{x}: {} vs {want}",
                decay(x)
            );
        }
        assert_eq!(decay(-1.0), 1.0);
        assert_eq!(decay(f64::NAN), 1.0);
        assert_eq!(decay(1e9), 0.0);
    }

    #[test]
    fn the_synthetic_sensor_moves_between_22_and_28() {
        let at = |s: u64| synthetic_celsius(s * 1_000_000);
        assert_eq!(at(0), 22.0);
        assert_eq!(at(300), 28.0);
        assert_eq!(at(600), 22.0);
        assert!((at(150) - 25.0).abs() < 1e-9);
    }

    /// The board's sample is a valid protocol sample, read back by the server's own decoder.
    #[test]
    fn a_board_sample_is_a_valid_protocol_line() {
        let sample = Collector::new().collect(&reading(12.5, 12.0));
        let message = Message::Sample(SampleMessage {
            seq: 1,
            dropped: 0,
            sample: sample.clone(),
        });
        let mut line = [0u8; 1024];
        let n = wire::encode(&message, &mut line).unwrap();
        assert!(n < 800, "{n} bytes");
        let Message::Sample(back) =
            wire::decode_line::<agent_core::sample::Sample>(&line[..n - 1]).unwrap()
        else {
            panic!("not a sample");
        };
        assert_eq!(back.sample.sensors[0].chip.as_str(), "synthetic");
        assert_eq!(back.sample.cpus[0].user, sample.cpus[0].user);
        assert_eq!(back.sample.memory, sample.memory);
    }
}
