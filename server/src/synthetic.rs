//! A realistic sample for load tests and benches (`vitals-loadgen`, `benches/ingest.rs`): what
//! a 4-CPU machine with three filesystems, three interfaces and two disks sends, about 2.8 KB
//! a line, and a step that moves its counters on as a second of a busy machine would.

use agent_core::sample::{Cpu, Disk, Filesystem, Interface, Memory, Pressure, Sample, bounded};
use agent_core::wire::{self, MAX_LINE, Message, SampleMessage};

/// `vitals-agent`'s default `--buffer`: the ring it sizes its `ack_every` for.
pub const AGENT_BUFFER: usize = 256 * 1024;

/// The `ack_every` that `vitals-agent` asks for with its default `--buffer` and samples of the
/// size of [`sample`]'s: what simulated agents ask for unless told otherwise.
pub fn agent_ack_every() -> u32 {
    let message = Message::Sample(SampleMessage {
        seq: 1,
        dropped: 0,
        sample: &sample(),
    });
    let mut line = vec![0u8; MAX_LINE + 1];
    let len = wire::encode(&message, &mut line).unwrap_or(MAX_LINE);
    agent_core::agent::ack_every(AGENT_BUFFER, len)
}

/// A realistic sample: what a 4-CPU machine with a few disks and interfaces sends.
pub fn sample() -> Sample {
    let mut s = Sample {
        boot_time: 1_700_000_000,
        load1: 0.42,
        load5: 0.37,
        load15: 0.31,
        ..Sample::default()
    };
    for cpu in 0..4 {
        let _ = s.cpus.push(Cpu {
            cpu,
            user: 12345.67,
            nice: 12.5,
            system: 2345.5,
            idle: 987654.32,
            iowait: 123.45,
            irq: 0.0,
            softirq: 45.67,
            steal: 1.5,
        });
    }
    s.memory = Memory {
        total: 8_254_038_016,
        free: 1_234_567_168,
        available: 5_234_567_168,
        buffers: 234_567_680,
        cached: 3_234_567_168,
        swap_total: 2_147_479_552,
        swap_free: 2_047_479_552,
    };
    for (device, mountpoint, fstype) in [
        ("/dev/sda1", "/", "ext4"),
        ("/dev/sda2", "/home", "ext4"),
        ("tmpfs", "/run", "tmpfs"),
    ] {
        let _ = s.filesystems.push(Filesystem {
            device: bounded(device),
            fstype: bounded(fstype),
            mountpoint: bounded(mountpoint),
            size: 250_000_000_000,
            free: 120_000_000_000,
            avail: 110_000_000_000,
            files: 15_000_000,
            files_free: 14_000_000,
            readonly: false,
        });
    }
    for device in ["lo", "eth0", "wlan0"] {
        let _ = s.interfaces.push(Interface {
            device: bounded(device),
            up: device != "lo",
            rx_bytes: 123_456_789_012,
            rx_packets: 123_456_789,
            tx_bytes: 23_456_789_012,
            tx_packets: 23_456_789,
            ..Interface::default()
        });
    }
    for device in ["sda", "nvme0n1"] {
        let _ = s.disks.push(Disk {
            device: bounded(device),
            reads_completed: 1_234_567,
            read_bytes: 45_678_901_234,
            read_time: 1234.5,
            writes_completed: 2_345_678,
            written_bytes: 56_789_012_345,
            write_time: 2345.5,
            io_time: 3456.5,
            io_time_weighted: 4567.5,
            ..Disk::default()
        });
    }
    s.pressure = Some(Pressure {
        cpu_waiting: 12.5,
        io_waiting: 23.5,
        io_stalled: 11.5,
        ..Pressure::default()
    });
    s.context_switches = 9_876_543_210;
    s.forks = 1_234_567;
    s.procs_running = 3;
    s
}

/// Moves a sample's counters forward as a second of a busy machine would.
pub fn advance(s: &mut Sample, step: u64) {
    s.time_ms = 1_700_000_000_000 + step * 1000;
    for cpu in &mut s.cpus {
        add_ticks(&mut cpu.user, 30.0);
        add_ticks(&mut cpu.system, 10.0);
        add_ticks(&mut cpu.idle, 60.0);
    }
    for i in &mut s.interfaces {
        i.rx_bytes += 10_000;
        i.rx_packets += 10;
        i.tx_bytes += 5_000;
        i.tx_packets += 5;
    }
    for d in &mut s.disks {
        d.read_bytes += 4096;
        d.reads_completed += 1;
    }
    s.context_switches += 5000;
}

/// Adds `ticks` hundredths of a second to `seconds`, kept as a whole number of ticks over 100
/// as the agent reads CPU time (`USER_HZ`): so the text stays as short as a real agent's
/// (`12346.27`), where adding 0.3 again and again drifts to 17 digits (`87345.67000047993`).
fn add_ticks(seconds: &mut f64, ticks: f64) {
    *seconds = ((*seconds * 100.0).round() + ticks) / 100.0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_seconds_stay_whole_ticks_as_the_agent_writes_them() {
        let mut s = sample();
        for step in 1..=100_000 {
            advance(&mut s, step);
        }
        let user = s.cpus.first().map(|c| c.user).unwrap_or_default();
        assert_eq!(user, (1_234_567.0 + 30.0 * 100_000.0) / 100.0);
        assert_eq!(user.to_string(), "42345.67");
    }
}
