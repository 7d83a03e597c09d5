//! The per-agent metric families and how a sample maps onto them: node_exporter's names, types,
//! help texts and labels, so that its dashboards and alerts work unchanged.
//!
//! Both sides of the server use it: an I/O thread flattens each sample it decodes into values
//! in emission order ([`emit_sample`], through [`crate::shared::Decoded::fill`]), and the
//! aggregator labels an agent's series from the same order when they change, adding the
//! agent's own series (from its hello and its counts) around them.

use agent_core::sample::Sample;
use agent_core::wire::Hello;

use crate::exposition::{Builder, Def, Kind, join_identity};

const fn gauge(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Def {
    Def {
        name,
        help,
        kind: Kind::Gauge,
        labels,
    }
}

const fn counter(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Def {
    Def {
        name,
        help,
        kind: Kind::Counter,
        labels,
    }
}

/// The labels of a filesystem's series, after `agent`.
const FS: &[&str] = &["device", "fstype", "mountpoint"];
/// The labels of a network interface's or a disk's series, after `agent`.
const DEV: &[&str] = &["device"];

/// Every per-agent family, indexed by [`F`]. The `node_*` names, types, help texts and labels are
/// node_exporter's, so its dashboards and alerts work unchanged.
pub const DEFS: &[Def] = &[
    counter(
        "node_cpu_seconds_total",
        "Seconds the CPUs spent in each mode.",
        &["cpu", "mode"],
    ),
    gauge("node_load1", "1m load average.", &[]),
    gauge("node_load5", "5m load average.", &[]),
    gauge("node_load15", "15m load average.", &[]),
    gauge(
        "node_memory_MemTotal_bytes",
        "Memory information field MemTotal_bytes.",
        &[],
    ),
    gauge(
        "node_memory_MemFree_bytes",
        "Memory information field MemFree_bytes.",
        &[],
    ),
    gauge(
        "node_memory_MemAvailable_bytes",
        "Memory information field MemAvailable_bytes.",
        &[],
    ),
    gauge(
        "node_memory_Buffers_bytes",
        "Memory information field Buffers_bytes.",
        &[],
    ),
    gauge(
        "node_memory_Cached_bytes",
        "Memory information field Cached_bytes.",
        &[],
    ),
    gauge(
        "node_memory_SwapTotal_bytes",
        "Memory information field SwapTotal_bytes.",
        &[],
    ),
    gauge(
        "node_memory_SwapFree_bytes",
        "Memory information field SwapFree_bytes.",
        &[],
    ),
    gauge(
        "node_filesystem_size_bytes",
        "Filesystem size in bytes.",
        FS,
    ),
    gauge(
        "node_filesystem_free_bytes",
        "Filesystem free space in bytes.",
        FS,
    ),
    gauge(
        "node_filesystem_avail_bytes",
        "Filesystem space available to non-root users in bytes.",
        FS,
    ),
    gauge("node_filesystem_files", "Filesystem total file nodes.", FS),
    gauge(
        "node_filesystem_files_free",
        "Filesystem total free file nodes.",
        FS,
    ),
    gauge(
        "node_filesystem_readonly",
        "Filesystem read-only status.",
        FS,
    ),
    counter(
        "node_network_receive_bytes_total",
        "Network device statistic receive_bytes.",
        DEV,
    ),
    counter(
        "node_network_receive_packets_total",
        "Network device statistic receive_packets.",
        DEV,
    ),
    counter(
        "node_network_receive_errs_total",
        "Network device statistic receive_errs.",
        DEV,
    ),
    counter(
        "node_network_receive_drop_total",
        "Network device statistic receive_drop.",
        DEV,
    ),
    counter(
        "node_network_transmit_bytes_total",
        "Network device statistic transmit_bytes.",
        DEV,
    ),
    counter(
        "node_network_transmit_packets_total",
        "Network device statistic transmit_packets.",
        DEV,
    ),
    counter(
        "node_network_transmit_errs_total",
        "Network device statistic transmit_errs.",
        DEV,
    ),
    counter(
        "node_network_transmit_drop_total",
        "Network device statistic transmit_drop.",
        DEV,
    ),
    gauge(
        "node_network_up",
        "Value is 1 if operstate is 'up', 0 otherwise.",
        DEV,
    ),
    gauge(
        "node_hwmon_temp_celsius",
        "Hardware monitor for temperature (input)",
        &["chip", "sensor"],
    ),
    gauge(
        "node_boot_time_seconds",
        "Node boot time, in unixtime.",
        &[],
    ),
    gauge(
        "node_time_seconds",
        "System time in seconds since epoch (1970).",
        &[],
    ),
    counter(
        "node_context_switches_total",
        "Total number of context switches.",
        &[],
    ),
    counter("node_forks_total", "Total number of forks.", &[]),
    gauge(
        "node_procs_running",
        "Number of processes in runnable state.",
        &[],
    ),
    gauge(
        "node_procs_blocked",
        "Number of processes blocked waiting for I/O to complete.",
        &[],
    ),
    gauge(
        "node_uname_info",
        "Labeled system information as provided by the uname system call.",
        &[
            "domainname",
            "machine",
            "nodename",
            "release",
            "sysname",
            "version",
        ],
    ),
    gauge(
        "vitals_cpu_usage_ratio",
        "Share of all CPUs busy between the agent's last two samples, 0 to 1.",
        &[],
    ),
    gauge(
        "vitals_agent_info",
        "The agent's software and platform; always 1.",
        &["arch", "hostname", "kernel", "os", "version"],
    ),
    counter(
        "vitals_agent_samples_total",
        "Samples merged from the agent.",
        &[],
    ),
    counter(
        "vitals_agent_samples_dropped_total",
        "Samples the agent dropped because its buffer was full, as it reports them.",
        &[],
    ),
    counter(
        "vitals_agent_sequence_gaps_total",
        "Samples lost on the way: sequence numbers the server never merged, skipped within a session (samples dropped from the agent's full buffer included).",
        &[],
    ),
    gauge(
        "vitals_agent_sample_omitted_entries",
        "Entries the agent left out of its last sample because a fixed-size collection was full.",
        &["collection"],
    ),
    gauge(
        "vitals_agent_interval_seconds",
        "How often the agent samples.",
        &[],
    ),
    counter(
        "node_disk_reads_completed_total",
        "The total number of reads completed successfully.",
        DEV,
    ),
    counter(
        "node_disk_reads_merged_total",
        "The total number of reads merged.",
        DEV,
    ),
    counter(
        "node_disk_read_bytes_total",
        "The total number of bytes read successfully.",
        DEV,
    ),
    counter(
        "node_disk_read_time_seconds_total",
        "The total number of seconds spent by all reads.",
        DEV,
    ),
    counter(
        "node_disk_writes_completed_total",
        "The total number of writes completed successfully.",
        DEV,
    ),
    counter(
        "node_disk_writes_merged_total",
        "The number of writes merged.",
        DEV,
    ),
    counter(
        "node_disk_written_bytes_total",
        "The total number of bytes written successfully.",
        DEV,
    ),
    counter(
        "node_disk_write_time_seconds_total",
        "This is the total number of seconds spent by all writes.",
        DEV,
    ),
    gauge(
        "node_disk_io_now",
        "The number of I/Os currently in progress.",
        DEV,
    ),
    counter(
        "node_disk_io_time_seconds_total",
        "Total seconds spent doing I/Os.",
        DEV,
    ),
    counter(
        "node_disk_io_time_weighted_seconds_total",
        "The weighted # of seconds spent doing I/Os.",
        DEV,
    ),
    counter(
        "node_pressure_cpu_waiting_seconds_total",
        "Total time in seconds that processes have waited for CPU time",
        &[],
    ),
    counter(
        "node_pressure_memory_waiting_seconds_total",
        "Total time in seconds that processes have waited for memory",
        &[],
    ),
    counter(
        "node_pressure_memory_stalled_seconds_total",
        "Total time in seconds no process could make progress due to memory congestion",
        &[],
    ),
    counter(
        "node_pressure_io_waiting_seconds_total",
        "Total time in seconds that processes have waited due to IO congestion",
        &[],
    ),
    counter(
        "node_pressure_io_stalled_seconds_total",
        "Total time in seconds no process could make progress due to IO congestion",
        &[],
    ),
    gauge(
        "vitals_agent_up",
        "1 if the agent is connected, 0 if it is not.",
        &[],
    ),
    gauge(
        "vitals_agent_last_seen_timestamp_seconds",
        "When the server last exposed a new sample's values from the agent (0 before the first).",
        &[],
    ),
];

/// Indices into [`DEFS`], found by name at compile time: a name that is not in the table
/// does not compile, so code and table cannot drift apart.
#[allow(non_snake_case)]
pub mod F {
    use super::DEFS;

    const fn same(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }

    const fn index(name: &str) -> usize {
        let mut i = 0;
        while i < DEFS.len() {
            if same(DEFS[i].name, name) {
                return i;
            }
            i += 1;
        }
        panic!("no metric family of that name")
    }

    pub const CPU: usize = index("node_cpu_seconds_total");
    pub const LOAD1: usize = index("node_load1");
    pub const LOAD5: usize = index("node_load5");
    pub const LOAD15: usize = index("node_load15");
    pub const MEM_TOTAL: usize = index("node_memory_MemTotal_bytes");
    pub const MEM_FREE: usize = index("node_memory_MemFree_bytes");
    pub const MEM_AVAILABLE: usize = index("node_memory_MemAvailable_bytes");
    pub const MEM_BUFFERS: usize = index("node_memory_Buffers_bytes");
    pub const MEM_CACHED: usize = index("node_memory_Cached_bytes");
    pub const SWAP_TOTAL: usize = index("node_memory_SwapTotal_bytes");
    pub const SWAP_FREE: usize = index("node_memory_SwapFree_bytes");
    pub const FS_SIZE: usize = index("node_filesystem_size_bytes");
    pub const FS_FREE: usize = index("node_filesystem_free_bytes");
    pub const FS_AVAIL: usize = index("node_filesystem_avail_bytes");
    pub const FS_FILES: usize = index("node_filesystem_files");
    pub const FS_FILES_FREE: usize = index("node_filesystem_files_free");
    pub const FS_READONLY: usize = index("node_filesystem_readonly");
    pub const NET_RX_BYTES: usize = index("node_network_receive_bytes_total");
    pub const NET_RX_PACKETS: usize = index("node_network_receive_packets_total");
    pub const NET_RX_ERRS: usize = index("node_network_receive_errs_total");
    pub const NET_RX_DROP: usize = index("node_network_receive_drop_total");
    pub const NET_TX_BYTES: usize = index("node_network_transmit_bytes_total");
    pub const NET_TX_PACKETS: usize = index("node_network_transmit_packets_total");
    pub const NET_TX_ERRS: usize = index("node_network_transmit_errs_total");
    pub const NET_TX_DROP: usize = index("node_network_transmit_drop_total");
    pub const NET_UP: usize = index("node_network_up");
    pub const HWMON_TEMP: usize = index("node_hwmon_temp_celsius");
    pub const BOOT_TIME: usize = index("node_boot_time_seconds");
    pub const TIME: usize = index("node_time_seconds");
    pub const CONTEXT_SWITCHES: usize = index("node_context_switches_total");
    pub const FORKS: usize = index("node_forks_total");
    pub const PROCS_RUNNING: usize = index("node_procs_running");
    pub const PROCS_BLOCKED: usize = index("node_procs_blocked");
    pub const UNAME: usize = index("node_uname_info");
    pub const CPU_USAGE: usize = index("vitals_cpu_usage_ratio");
    pub const AGENT_INFO: usize = index("vitals_agent_info");
    pub const SAMPLES: usize = index("vitals_agent_samples_total");
    pub const SAMPLES_DROPPED: usize = index("vitals_agent_samples_dropped_total");
    pub const SEQUENCE_GAPS: usize = index("vitals_agent_sequence_gaps_total");
    pub const OMITTED: usize = index("vitals_agent_sample_omitted_entries");
    pub const INTERVAL: usize = index("vitals_agent_interval_seconds");
    pub const DISK_READS: usize = index("node_disk_reads_completed_total");
    pub const DISK_READS_MERGED: usize = index("node_disk_reads_merged_total");
    pub const DISK_READ_BYTES: usize = index("node_disk_read_bytes_total");
    pub const DISK_READ_TIME: usize = index("node_disk_read_time_seconds_total");
    pub const DISK_WRITES: usize = index("node_disk_writes_completed_total");
    pub const DISK_WRITES_MERGED: usize = index("node_disk_writes_merged_total");
    pub const DISK_WRITTEN_BYTES: usize = index("node_disk_written_bytes_total");
    pub const DISK_WRITE_TIME: usize = index("node_disk_write_time_seconds_total");
    pub const DISK_IO_NOW: usize = index("node_disk_io_now");
    pub const DISK_IO_TIME: usize = index("node_disk_io_time_seconds_total");
    pub const DISK_IO_TIME_WEIGHTED: usize = index("node_disk_io_time_weighted_seconds_total");
    pub const PSI_CPU_WAITING: usize = index("node_pressure_cpu_waiting_seconds_total");
    pub const PSI_MEMORY_WAITING: usize = index("node_pressure_memory_waiting_seconds_total");
    pub const PSI_MEMORY_STALLED: usize = index("node_pressure_memory_stalled_seconds_total");
    pub const PSI_IO_WAITING: usize = index("node_pressure_io_waiting_seconds_total");
    pub const PSI_IO_STALLED: usize = index("node_pressure_io_stalled_seconds_total");
    pub const UP: usize = index("vitals_agent_up");
    pub const LAST_SEEN: usize = index("vitals_agent_last_seen_timestamp_seconds");
}

/// The labels of `node_uname_info` after `agent`, from the hello.
pub fn uname(hello: &Hello) -> [&str; 6] {
    [
        hello.domainname.as_str(),
        &hello.arch,
        &hello.hostname,
        &hello.kernel,
        &hello.os,
        &hello.kernel_version,
    ]
}

/// The labels of `vitals_agent_info` after `agent`, from the hello.
pub fn agent_info(hello: &Hello) -> [&str; 5] {
    [
        hello.arch.as_str(),
        &hello.hostname,
        &hello.kernel,
        &hello.os,
        &hello.version,
    ]
}

/// The identity parts an agent's hello adds before its sample's: every text of the hello
/// that becomes a label.
pub fn hello_identity(hello: &Hello) -> Vec<u8> {
    join_identity(
        "hello",
        uname(hello).into_iter().chain([hello.version.as_str()]),
    )
}

/// Adds a sample's own series to `b`: those whose values and labels come from the sample
/// alone, in the order the aggregator places them (it adds the agent's around them).
pub fn emit_sample(b: &mut Builder, s: &Sample) {
    // A CPU number as text without the formatting machinery: it runs for every CPU of every
    // sample.
    let mut digits = itoa::Buffer::new();
    b.section("cpus");
    for cpu in &s.cpus {
        let cpu_label = digits.format(cpu.cpu);
        b.identity(cpu_label);
        for (mode, seconds) in cpu.modes() {
            b.add(F::CPU, &[cpu_label, mode], seconds);
        }
    }
    b.add(F::LOAD1, &[], s.load1);
    b.add(F::LOAD5, &[], s.load5);
    b.add(F::LOAD15, &[], s.load15);
    let m = &s.memory;
    for (family, bytes) in [
        (F::MEM_TOTAL, m.total),
        (F::MEM_FREE, m.free),
        (F::MEM_AVAILABLE, m.available),
        (F::MEM_BUFFERS, m.buffers),
        (F::MEM_CACHED, m.cached),
        (F::SWAP_TOTAL, m.swap_total),
        (F::SWAP_FREE, m.swap_free),
    ] {
        b.add(family, &[], bytes as f64);
    }
    b.section("filesystems");
    for fs in &s.filesystems {
        let labels = [
            fs.device.as_str(),
            fs.fstype.as_str(),
            fs.mountpoint.as_str(),
        ];
        for label in labels {
            b.identity(label);
        }
        for (family, value) in [
            (F::FS_SIZE, fs.size),
            (F::FS_FREE, fs.free),
            (F::FS_AVAIL, fs.avail),
            (F::FS_FILES, fs.files),
            (F::FS_FILES_FREE, fs.files_free),
            (F::FS_READONLY, u64::from(fs.readonly)),
        ] {
            b.add(family, &labels, value as f64);
        }
    }
    b.section("interfaces");
    for net in &s.interfaces {
        let labels = [net.device.as_str()];
        b.identity(&net.device);
        for (family, value) in [
            (F::NET_RX_BYTES, net.rx_bytes),
            (F::NET_RX_PACKETS, net.rx_packets),
            (F::NET_RX_ERRS, net.rx_errs),
            (F::NET_RX_DROP, net.rx_drop),
            (F::NET_TX_BYTES, net.tx_bytes),
            (F::NET_TX_PACKETS, net.tx_packets),
            (F::NET_TX_ERRS, net.tx_errs),
            (F::NET_TX_DROP, net.tx_drop),
            (F::NET_UP, u64::from(net.up)),
        ] {
            b.add(family, &labels, value as f64);
        }
    }
    b.section("sensors");
    for sensor in &s.sensors {
        b.identity(&sensor.chip);
        b.identity(&sensor.sensor);
        b.add(
            F::HWMON_TEMP,
            &[sensor.chip.as_str(), sensor.sensor.as_str()],
            sensor.celsius,
        );
    }
    b.section("disks");
    for disk in &s.disks {
        let labels = [disk.device.as_str()];
        b.identity(&disk.device);
        for (family, value) in [
            (F::DISK_READS, disk.reads_completed as f64),
            (F::DISK_READS_MERGED, disk.reads_merged as f64),
            (F::DISK_READ_BYTES, disk.read_bytes as f64),
            (F::DISK_READ_TIME, disk.read_time),
            (F::DISK_WRITES, disk.writes_completed as f64),
            (F::DISK_WRITES_MERGED, disk.writes_merged as f64),
            (F::DISK_WRITTEN_BYTES, disk.written_bytes as f64),
            (F::DISK_WRITE_TIME, disk.write_time),
            (F::DISK_IO_NOW, disk.io_now as f64),
            (F::DISK_IO_TIME, disk.io_time),
            (F::DISK_IO_TIME_WEIGHTED, disk.io_time_weighted),
        ] {
            b.add(family, &labels, value);
        }
    }
    if let Some(p) = &s.pressure {
        b.section("pressure");
        for (family, seconds) in [
            (F::PSI_CPU_WAITING, p.cpu_waiting),
            (F::PSI_MEMORY_WAITING, p.memory_waiting),
            (F::PSI_MEMORY_STALLED, p.memory_stalled),
            (F::PSI_IO_WAITING, p.io_waiting),
            (F::PSI_IO_STALLED, p.io_stalled),
        ] {
            b.add(family, &[], seconds);
        }
    }
    b.add(F::BOOT_TIME, &[], s.boot_time as f64);
    b.add(F::TIME, &[], s.time_ms as f64 / 1000.0);
    b.add(F::CONTEXT_SWITCHES, &[], s.context_switches as f64);
    b.add(F::FORKS, &[], s.forks as f64);
    b.add(F::PROCS_RUNNING, &[], s.procs_running.into());
    b.add(F::PROCS_BLOCKED, &[], s.procs_blocked.into());
    b.add(F::CPU_USAGE, &[], s.cpu_usage);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_numbers_are_written_as_their_labels() {
        let numbers = [0u16, 7, 10, 63, 999, 65535];
        let mut sample = Sample::default();
        for cpu in numbers {
            let _ = sample.cpus.push(agent_core::sample::Cpu {
                cpu,
                ..Default::default()
            });
        }
        let mut b = Builder::default();
        b.start_rebuild();
        emit_sample(&mut b, &sample);
        let layout = b.layout("a", DEFS);
        for n in numbers {
            // As `fmt` writes the number.
            let label = format!("{{agent=\"a\",cpu=\"{n}\",mode=\"user\"}} ");
            assert!(layout.text.contains(&label), "{label} in {}", layout.text);
        }
    }
}
