//! `catalogue`: every metric family vitals exposes, once, with its number.
//!
//! A family's number is its place in [`FAMILIES`]; protocol v2 names families by number, so a
//! row is never moved or reused, only added at the end. The `node_*` names, kinds, help texts
//! and labels are node_exporter's, so that its dashboards and alerts work unchanged.
//!
//! Everything that lists families reads this table: the server's exposition and its checks of a
//! declaration, [`Sample::series`](crate::sample::Sample::series) (the one mapping of a sample
//! onto series), the README's metric table and docs/metrics.md (checked by a test), and the
//! parity test against node_exporter. Adding a family is a collector and a row.
//!
//! The families an agent describes itself (a textfile's, see [`custom`]) are not rows: a
//! declaration carries them, numbered from [`CUSTOM_BASE`](custom::CUSTOM_BASE).

/// The kind of a family, as its `# TYPE` line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A value that only goes up, but for resets (which `rate()` handles).
    Counter,
    /// A value node_exporter exposes without a type: the counters and gauges of
    /// `/proc/vmstat` and `/proc/net/snmp`, which it reads without knowing which is which.
    Untyped,
}

impl Kind {
    /// The word of the `# TYPE` line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Untyped => "untyped",
        }
    }

    /// The kind a `# TYPE` line's word names, in lower case as the exposition writes it.
    pub fn from_word(word: &str) -> Option<Kind> {
        [Kind::Gauge, Kind::Counter, Kind::Untyped]
            .into_iter()
            .find(|k| k.as_str() == word)
    }
}

/// Who gives a family's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The agent, in its samples: the only families a v2 declaration may name.
    Agent,
    /// The agent's hello, once per connection.
    Hello,
    /// The time a sample was taken (a v2 `values` line's `t`).
    Time,
    /// The server, from what it counts of the agent.
    Server,
}

/// One metric family.
#[derive(Debug)]
pub struct Family {
    /// The metric name.
    pub name: &'static str,
    /// The unit its name ends in (`seconds`, `bytes`), or empty for a count or a state.
    pub unit: &'static str,
    /// The `# HELP` text.
    pub help: &'static str,
    /// The `# TYPE`.
    pub kind: Kind,
    /// Label names after `agent`, in the order they are written.
    pub labels: &'static [&'static str],
    /// Who gives its values.
    pub source: Source,
}

const fn gauge(
    name: &'static str,
    unit: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    source: Source,
) -> Family {
    Family {
        name,
        unit,
        help,
        kind: Kind::Gauge,
        labels,
        source,
    }
}

const fn counter(
    name: &'static str,
    unit: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    source: Source,
) -> Family {
    Family {
        name,
        unit,
        help,
        kind: Kind::Counter,
        labels,
        source,
    }
}

const fn untyped(
    name: &'static str,
    unit: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    source: Source,
) -> Family {
    Family {
        name,
        unit,
        help,
        kind: Kind::Untyped,
        labels,
        source,
    }
}

/// A field of `/proc/meminfo` as node_exporter's meminfo collector names it: `(anon)` becomes
/// `_anon`, and a field the kernel gives in kB ends in `_bytes` (`bytes`) while a count keeps
/// its name (`count`); the help text names it so.
macro_rules! meminfo {
    (bytes $field:literal) => {
        gauge(
            concat!("node_memory_", $field, "_bytes"),
            "bytes",
            concat!("Memory information field ", $field, "_bytes."),
            &[],
            Source::Agent,
        )
    };
    (count $field:literal) => {
        gauge(
            concat!("node_memory_", $field),
            "",
            concat!("Memory information field ", $field, "."),
            &[],
            Source::Agent,
        )
    };
}

/// A field of `/proc/vmstat` as node_exporter's vmstat collector names it, untyped: it reads
/// counters and gauges alike without knowing which is which.
macro_rules! vmstat {
    ($field:literal) => {
        untyped(
            concat!("node_vmstat_", $field),
            "",
            concat!("/proc/vmstat information field ", $field, "."),
            &[],
            Source::Agent,
        )
    };
}

/// A value of `/proc/net/sockstat` or `sockstat6` as node_exporter's sockstat collector names
/// it: `node_sockstat_<protocol>_<key>`, its help text a state whatever the key.
macro_rules! sockstat {
    ($protocol:literal, $key:literal) => {
        sockstat!($protocol, $key, "")
    };
    ($protocol:literal, $key:literal, $unit:literal) => {
        gauge(
            concat!("node_sockstat_", $protocol, "_", $key),
            $unit,
            concat!("Number of ", $protocol, " sockets in state ", $key, "."),
            &[],
            Source::Agent,
        )
    };
}

/// A field of `/proc/net/{netstat,snmp,snmp6}` as node_exporter's netstat collector exposes
/// it: untyped, named and described after its protocol and field, which the macro keeps in
/// step.
macro_rules! netstat {
    ($proto:literal, $field:literal) => {
        Family {
            name: concat!("node_netstat_", $proto, "_", $field),
            unit: "",
            help: concat!("Statistic ", $proto, $field, "."),
            kind: Kind::Untyped,
            labels: &[],
            source: Source::Agent,
        }
    };
}

/// A counter of a network device as node_exporter's netdev collector names it:
/// `node_network_<statistic>_total`, described after the statistic, which the macro keeps in
/// step.
macro_rules! netdev {
    ($statistic:literal) => {
        counter(
            concat!("node_network_", $statistic, "_total"),
            "",
            concat!("Network device statistic ", $statistic, "."),
            DEV,
            Source::Agent,
        )
    };
}

/// A property of `/sys/class/net/<device>/` as node_exporter's netclass collector names it:
/// `node_network_<name>`, its help text the name whatever its kind and unit.
macro_rules! netclass {
    ($kind:ident, $name:literal) => {
        netclass!($kind, $name, "")
    };
    ($kind:ident, $name:literal, $unit:literal) => {
        $kind(
            concat!("node_network_", $name),
            $unit,
            concat!("Network device property: ", $name),
            DEV,
            Source::Agent,
        )
    };
}

/// A family node_exporter's hwmon collector names after a sensor file `<type><n>_<element>`:
/// `node_hwmon_<type>_<element>` and the unit of its type, described by its type and element.
/// The `input` element is the sensor's value: its name leaves the element out. Which elements
/// have a row is the bound on what the agent gives (see `collect/hwmon/naming.rs`).
macro_rules! hwmon {
    (@unit $type:literal, input, $unit:literal, $what:literal) => {
        gauge(
            concat!("node_hwmon_", $type, "_", $unit),
            $unit,
            concat!($what, " (input)"),
            HWMON,
            Source::Agent,
        )
    };
    (@unit $type:literal, $element:literal, $unit:literal, $what:literal) => {
        gauge(
            concat!("node_hwmon_", $type, "_", $element, "_", $unit),
            $unit,
            concat!($what, " (", $element, ")"),
            HWMON,
            Source::Agent,
        )
    };
    (celsius $element:tt) => {
        hwmon!(@unit "temp", $element, "celsius", "Hardware monitor for temperature")
    };
    (volts $type:literal, $element:tt) => {
        hwmon!(@unit $type, $element, "volts", "Hardware monitor for voltage")
    };
    (amps $element:tt) => {
        hwmon!(@unit "curr", $element, "amps", "Hardware monitor for current")
    };
    (watt $element:tt) => {
        hwmon!(@unit "power", $element, "watt", "Hardware monitor for power usage in watts")
    };
    (rpm $element:tt) => {
        hwmon!(@unit "fan", $element, "rpm", "Hardware monitor for fan revolutions per minute")
    };
    (seconds $element:literal) => {
        gauge(
            concat!("node_hwmon_power_", $element, "_seconds"),
            "seconds",
            concat!("Hardware monitor power usage update interval (", $element, ")"),
            HWMON,
            Source::Agent,
        )
    };
    (joules input) => {
        counter(
            "node_hwmon_energy_joule_total",
            "joule",
            "Hardware monitor for joules used so far (input)",
            HWMON,
            Source::Agent,
        )
    };
    (joules $element:literal) => {
        counter(
            concat!("node_hwmon_energy_", $element, "_joule_total"),
            "joule",
            concat!("Hardware monitor for joules used so far (", $element, ")"),
            HWMON,
            Source::Agent,
        )
    };
    (humidity input) => {
        gauge(
            "node_hwmon_humidity",
            "",
            "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the humidity \
             as a percentage) (input)",
            HWMON,
            Source::Agent,
        )
    };
    (humidity $element:literal) => {
        gauge(
            concat!("node_hwmon_humidity_", $element),
            "",
            concat!(
                "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the \
                 humidity as a percentage) (",
                $element,
                ")"
            ),
            HWMON,
            Source::Agent,
        )
    };
    (alarm $type:literal) => {
        gauge(
            concat!("node_hwmon_", $type, "_alarm"),
            "",
            concat!("Hardware sensor alarm status (", $type, ")"),
            HWMON,
            Source::Agent,
        )
    };
    (fault $type:literal) => {
        gauge(
            concat!("node_hwmon_", $type, "_fault"),
            "",
            concat!("Hardware sensor fault status (", $type, ")"),
            HWMON,
            Source::Agent,
        )
    };
    (beep $type:literal) => {
        gauge(
            concat!("node_hwmon_", $type, "_beep_enabled"),
            "",
            "Hardware monitor sensor has beeping enabled",
            HWMON,
            Source::Agent,
        )
    };
    (element $type:literal) => {
        gauge(
            concat!("node_hwmon_", $type),
            "",
            concat!("Hardware monitor ", $type, " element "),
            HWMON,
            Source::Agent,
        )
    };
    (element $type:literal, $element:literal) => {
        gauge(
            concat!("node_hwmon_", $type, "_", $element),
            "",
            concat!("Hardware monitor ", $type, " element ", $element),
            HWMON,
            Source::Agent,
        )
    };
}

/// A frequency of `/sys/devices/system/cpu/cpu<N>/cpufreq/` as node_exporter's cpufreq
/// collector names it, in hertz.
/// A RAPL zone's family: node_exporter names it and its help after the zone.
macro_rules! rapl {
    ($zone:literal) => {
        counter(
            concat!("node_rapl_", $zone, "_joules_total"),
            "joules",
            concat!("Current RAPL ", $zone, " value in joules"),
            &["index", "path"],
            Source::Agent,
        )
    };
}

/// A power supply's attribute, as node_exporter names its family and help.
macro_rules! power_supply {
    ($name:literal, $unit:literal) => {
        gauge(
            concat!("node_power_supply_", $name),
            $unit,
            concat!($name, " value of /sys/class/power_supply/<power_supply>."),
            &["power_supply"],
            Source::Agent,
        )
    };
}

macro_rules! cpufreq {
    ($name:literal, $help:literal) => {
        gauge(
            concat!("node_cpu_", $name, "_hertz"),
            "hertz",
            $help,
            &["cpu"],
            Source::Agent,
        )
    };
}

/// The labels of a filesystem's series, after `instance`.
const FS: &[&str] = &["device", "fstype", "mountpoint"];
/// The labels of a network interface's or a disk's series, after `instance`.
const DEV: &[&str] = &["device"];
/// The labels of a hwmon sensor's series, after `instance`.
const HWMON: &[&str] = &["chip", "sensor"];

/// Every family, numbered by place: append, never reorder.
pub const FAMILIES: &[Family] = &[
    counter(
        "node_cpu_seconds_total",
        "seconds",
        "Seconds the CPUs spent in each mode.",
        &["cpu", "mode"],
        Source::Agent,
    ),
    gauge("node_load1", "", "1m load average.", &[], Source::Agent),
    gauge("node_load5", "", "5m load average.", &[], Source::Agent),
    gauge("node_load15", "", "15m load average.", &[], Source::Agent),
    gauge(
        "node_memory_MemTotal_bytes",
        "bytes",
        "Memory information field MemTotal_bytes.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_memory_MemFree_bytes",
        "bytes",
        "Memory information field MemFree_bytes.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_memory_MemAvailable_bytes",
        "bytes",
        "Memory information field MemAvailable_bytes.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_memory_Buffers_bytes",
        "bytes",
        "Memory information field Buffers_bytes.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_memory_Cached_bytes",
        "bytes",
        "Memory information field Cached_bytes.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_memory_SwapTotal_bytes",
        "bytes",
        "Memory information field SwapTotal_bytes.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_memory_SwapFree_bytes",
        "bytes",
        "Memory information field SwapFree_bytes.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_filesystem_size_bytes",
        "bytes",
        "Filesystem size in bytes.",
        FS,
        Source::Agent,
    ),
    gauge(
        "node_filesystem_free_bytes",
        "bytes",
        "Filesystem free space in bytes.",
        FS,
        Source::Agent,
    ),
    gauge(
        "node_filesystem_avail_bytes",
        "bytes",
        "Filesystem space available to non-root users in bytes.",
        FS,
        Source::Agent,
    ),
    gauge(
        "node_filesystem_files",
        "",
        "Filesystem total file nodes.",
        FS,
        Source::Agent,
    ),
    gauge(
        "node_filesystem_files_free",
        "",
        "Filesystem total free file nodes.",
        FS,
        Source::Agent,
    ),
    gauge(
        "node_filesystem_readonly",
        "",
        "Filesystem read-only status.",
        FS,
        Source::Agent,
    ),
    counter(
        "node_network_receive_bytes_total",
        "bytes",
        "Network device statistic receive_bytes.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_network_receive_packets_total",
        "",
        "Network device statistic receive_packets.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_network_receive_errs_total",
        "",
        "Network device statistic receive_errs.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_network_receive_drop_total",
        "",
        "Network device statistic receive_drop.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_network_transmit_bytes_total",
        "bytes",
        "Network device statistic transmit_bytes.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_network_transmit_packets_total",
        "",
        "Network device statistic transmit_packets.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_network_transmit_errs_total",
        "",
        "Network device statistic transmit_errs.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_network_transmit_drop_total",
        "",
        "Network device statistic transmit_drop.",
        DEV,
        Source::Agent,
    ),
    gauge(
        "node_network_up",
        "",
        "Value is 1 if operstate is 'up', 0 otherwise.",
        DEV,
        Source::Agent,
    ),
    gauge(
        "node_hwmon_temp_celsius",
        "celsius",
        "Hardware monitor for temperature (input)",
        &["chip", "sensor"],
        Source::Agent,
    ),
    gauge(
        "node_boot_time_seconds",
        "seconds",
        "Node boot time, in unixtime.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_time_seconds",
        "seconds",
        "System time in seconds since epoch (1970).",
        &[],
        Source::Time,
    ),
    counter(
        "node_context_switches_total",
        "",
        "Total number of context switches.",
        &[],
        Source::Agent,
    ),
    counter(
        "node_forks_total",
        "",
        "Total number of forks.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_procs_running",
        "",
        "Number of processes in runnable state.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_procs_blocked",
        "",
        "Number of processes blocked waiting for I/O to complete.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_uname_info",
        "",
        "Labeled system information as provided by the uname system call.",
        &[
            "domainname",
            "machine",
            "nodename",
            "release",
            "sysname",
            "version",
        ],
        Source::Hello,
    ),
    gauge(
        "vitals_cpu_usage_ratio",
        "ratio",
        "Share of all CPUs busy between the agent's last two samples, 0 to 1.",
        &[],
        Source::Agent,
    ),
    gauge(
        "vitals_agent_info",
        "",
        "The agent's software, platform and protocol version; always 1.",
        &["arch", "hostname", "kernel", "os", "protocol", "version"],
        Source::Hello,
    ),
    counter(
        "vitals_agent_samples_total",
        "",
        "Samples merged from the agent.",
        &[],
        Source::Server,
    ),
    counter(
        "vitals_agent_samples_dropped_total",
        "",
        "Samples the agent dropped because its buffer was full, as it reports them.",
        &[],
        Source::Server,
    ),
    counter(
        "vitals_agent_sequence_gaps_total",
        "",
        "Samples lost on the way: sequence numbers the server never merged, skipped within a session (samples dropped from the agent's full buffer included).",
        &[],
        Source::Server,
    ),
    gauge(
        "vitals_agent_sample_omitted_entries",
        "",
        "Entries the agent left out of its last sample because a fixed-size collection was full.",
        &["collection"],
        Source::Agent,
    ),
    gauge(
        "vitals_agent_interval_seconds",
        "seconds",
        "How often the agent samples.",
        &[],
        Source::Server,
    ),
    counter(
        "node_disk_reads_completed_total",
        "",
        "The total number of reads completed successfully.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_disk_reads_merged_total",
        "",
        "The total number of reads merged.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_disk_read_bytes_total",
        "bytes",
        "The total number of bytes read successfully.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_disk_read_time_seconds_total",
        "seconds",
        "The total number of seconds spent by all reads.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_disk_writes_completed_total",
        "",
        "The total number of writes completed successfully.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_disk_writes_merged_total",
        "",
        "The number of writes merged.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_disk_written_bytes_total",
        "bytes",
        "The total number of bytes written successfully.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_disk_write_time_seconds_total",
        "seconds",
        "This is the total number of seconds spent by all writes.",
        DEV,
        Source::Agent,
    ),
    gauge(
        "node_disk_io_now",
        "",
        "The number of I/Os currently in progress.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_disk_io_time_seconds_total",
        "seconds",
        "Total seconds spent doing I/Os.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_disk_io_time_weighted_seconds_total",
        "seconds",
        "The weighted # of seconds spent doing I/Os.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_pressure_cpu_waiting_seconds_total",
        "seconds",
        "Total time in seconds that processes have waited for CPU time",
        &[],
        Source::Agent,
    ),
    counter(
        "node_pressure_memory_waiting_seconds_total",
        "seconds",
        "Total time in seconds that processes have waited for memory",
        &[],
        Source::Agent,
    ),
    counter(
        "node_pressure_memory_stalled_seconds_total",
        "seconds",
        "Total time in seconds no process could make progress due to memory congestion",
        &[],
        Source::Agent,
    ),
    counter(
        "node_pressure_io_waiting_seconds_total",
        "seconds",
        "Total time in seconds that processes have waited due to IO congestion",
        &[],
        Source::Agent,
    ),
    counter(
        "node_pressure_io_stalled_seconds_total",
        "seconds",
        "Total time in seconds no process could make progress due to IO congestion",
        &[],
        Source::Agent,
    ),
    gauge(
        "vitals_agent_up",
        "",
        "1 if the agent is connected, 0 if it is not.",
        &[],
        Source::Server,
    ),
    gauge(
        "vitals_agent_last_seen_timestamp_seconds",
        "seconds",
        "When the server last exposed a new sample's values from the agent (0 before the first).",
        &[],
        Source::Server,
    ),
    gauge(
        "node_filefd_allocated",
        "",
        "File descriptor statistics: allocated.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_filefd_maximum",
        "",
        "File descriptor statistics: maximum.",
        &[],
        Source::Agent,
    ),
    gauge(
        "up",
        "",
        "1 if the agent is connected, 0 if it is not: Prometheus' own name, with the agent's \
         instance, so that alerts on `up == 0` cover the hosts behind a server.",
        &[],
        Source::Server,
    ),
    // The rest of /proc/meminfo, which only protocol v2 carries (the seven above are in every
    // sample): each field some kernel prints, by its configuration and architecture, in the
    // kernel's order.
    meminfo!(bytes "SwapCached"),
    meminfo!(bytes "Active"),
    meminfo!(bytes "Inactive"),
    meminfo!(bytes "Active_anon"),
    meminfo!(bytes "Inactive_anon"),
    meminfo!(bytes "Active_file"),
    meminfo!(bytes "Inactive_file"),
    meminfo!(bytes "Unevictable"),
    meminfo!(bytes "Mlocked"),
    meminfo!(bytes "HighTotal"),
    meminfo!(bytes "HighFree"),
    meminfo!(bytes "LowTotal"),
    meminfo!(bytes "LowFree"),
    meminfo!(bytes "MmapCopy"),
    meminfo!(bytes "Zswap"),
    meminfo!(bytes "Zswapped"),
    meminfo!(bytes "Dirty"),
    meminfo!(bytes "Writeback"),
    meminfo!(bytes "AnonPages"),
    meminfo!(bytes "Mapped"),
    meminfo!(bytes "Shmem"),
    meminfo!(bytes "KReclaimable"),
    meminfo!(bytes "Slab"),
    meminfo!(bytes "SReclaimable"),
    meminfo!(bytes "SUnreclaim"),
    meminfo!(bytes "KernelStack"),
    meminfo!(bytes "ShadowCallStack"),
    meminfo!(bytes "PageTables"),
    meminfo!(bytes "SecPageTables"),
    meminfo!(bytes "Quicklists"),
    meminfo!(bytes "NFS_Unstable"),
    meminfo!(bytes "Bounce"),
    meminfo!(bytes "WritebackTmp"),
    meminfo!(bytes "CommitLimit"),
    meminfo!(bytes "Committed_AS"),
    meminfo!(bytes "VmallocTotal"),
    meminfo!(bytes "VmallocUsed"),
    meminfo!(bytes "VmallocChunk"),
    meminfo!(bytes "Percpu"),
    meminfo!(bytes "EarlyMemtestBad"),
    meminfo!(bytes "HardwareCorrupted"),
    meminfo!(bytes "AnonHugePages"),
    meminfo!(bytes "ShmemHugePages"),
    meminfo!(bytes "ShmemPmdMapped"),
    meminfo!(bytes "FileHugePages"),
    meminfo!(bytes "FilePmdMapped"),
    meminfo!(bytes "CmaTotal"),
    meminfo!(bytes "CmaFree"),
    meminfo!(bytes "Unaccepted"),
    meminfo!(bytes "Balloon"),
    meminfo!(count "HugePages_Total"),
    meminfo!(count "HugePages_Free"),
    meminfo!(count "HugePages_Rsvd"),
    meminfo!(count "HugePages_Surp"),
    meminfo!(bytes "Hugepagesize"),
    meminfo!(bytes "Hugetlb"),
    meminfo!(bytes "DirectMap4k"),
    meminfo!(bytes "DirectMap64k"),
    meminfo!(bytes "DirectMap1M"),
    meminfo!(bytes "DirectMap2M"),
    meminfo!(bytes "DirectMap4M"),
    meminfo!(bytes "DirectMap1G"),
    meminfo!(bytes "DirectMap2G"),
    // The fields of /proc/vmstat that node_exporter's default --collector.vmstat.fields,
    // `^(oom_kill|pgpg|pswp|pg.*fault).*`, selects, in the kernel's order; only v2 carries them.
    vmstat!("pgpgin"),
    vmstat!("pgpgout"),
    vmstat!("pswpin"),
    vmstat!("pswpout"),
    vmstat!("pgfault"),
    vmstat!("pgmajfault"),
    vmstat!("oom_kill"),
    gauge(
        "node_entropy_available_bits",
        "bits",
        "Bits of available entropy.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_entropy_pool_size_bits",
        "bits",
        "Bits of entropy pool.",
        &[],
        Source::Agent,
    ),
    // /proc/net/sockstat and sockstat6, in their order; only v2 carries them. The pages of
    // `mem` are in bytes too (`mem_bytes`); FRAG's `memory` is in bytes already.
    gauge(
        "node_sockstat_sockets_used",
        "",
        "Number of IPv4 sockets in use.",
        &[],
        Source::Agent,
    ),
    sockstat!("TCP", "inuse"),
    sockstat!("TCP", "orphan"),
    sockstat!("TCP", "tw"),
    sockstat!("TCP", "alloc"),
    sockstat!("TCP", "mem"),
    sockstat!("TCP", "mem_bytes", "bytes"),
    sockstat!("UDP", "inuse"),
    sockstat!("UDP", "mem"),
    sockstat!("UDP", "mem_bytes", "bytes"),
    sockstat!("UDPLITE", "inuse"),
    sockstat!("RAW", "inuse"),
    sockstat!("FRAG", "inuse"),
    sockstat!("FRAG", "memory"),
    sockstat!("TCP6", "inuse"),
    sockstat!("UDP6", "inuse"),
    sockstat!("UDPLITE6", "inuse"),
    sockstat!("RAW6", "inuse"),
    sockstat!("FRAG6", "inuse"),
    sockstat!("FRAG6", "memory"),
    // node_exporter's netstat collector: the fields its default `--collector.netstat.fields`
    // selects, of all the kernel prints.
    netstat!("Icmp", "InErrors"),
    netstat!("Icmp", "InMsgs"),
    netstat!("Icmp", "OutMsgs"),
    netstat!("Icmp6", "InErrors"),
    netstat!("Icmp6", "InMsgs"),
    netstat!("Icmp6", "OutMsgs"),
    netstat!("Ip", "Forwarding"),
    netstat!("Ip6", "InOctets"),
    netstat!("Ip6", "OutOctets"),
    netstat!("IpExt", "InOctets"),
    netstat!("IpExt", "OutOctets"),
    netstat!("Tcp", "ActiveOpens"),
    netstat!("Tcp", "CurrEstab"),
    netstat!("Tcp", "InErrs"),
    netstat!("Tcp", "InSegs"),
    netstat!("Tcp", "OutRsts"),
    netstat!("Tcp", "OutSegs"),
    netstat!("Tcp", "PassiveOpens"),
    netstat!("Tcp", "RetransSegs"),
    netstat!("TcpExt", "ListenDrops"),
    netstat!("TcpExt", "ListenOverflows"),
    netstat!("TcpExt", "SyncookiesFailed"),
    netstat!("TcpExt", "SyncookiesRecv"),
    netstat!("TcpExt", "SyncookiesSent"),
    netstat!("TcpExt", "TCPSynRetrans"),
    netstat!("TcpExt", "TCPTimeouts"),
    netstat!("Udp", "InDatagrams"),
    netstat!("Udp", "InErrors"),
    netstat!("Udp", "NoPorts"),
    netstat!("Udp", "OutDatagrams"),
    netstat!("Udp", "RcvbufErrors"),
    netstat!("Udp", "SndbufErrors"),
    netstat!("Udp6", "InDatagrams"),
    netstat!("Udp6", "InErrors"),
    netstat!("Udp6", "NoPorts"),
    netstat!("Udp6", "OutDatagrams"),
    netstat!("Udp6", "RcvbufErrors"),
    netstat!("Udp6", "SndbufErrors"),
    netstat!("UdpLite", "InErrors"),
    netstat!("UdpLite6", "InErrors"),
    // node_exporter's conntrack collector, which types the statistics gauges though they only
    // grow: so do these, for its dashboards.
    gauge(
        "node_nf_conntrack_entries",
        "",
        "Number of currently allocated flow entries for connection tracking.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_nf_conntrack_entries_limit",
        "",
        "Maximum size of connection tracking table.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_nf_conntrack_stat_found",
        "",
        "Number of searched entries which were successful.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_nf_conntrack_stat_invalid",
        "",
        "Number of packets seen which can not be tracked.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_nf_conntrack_stat_ignore",
        "",
        "Number of packets seen which are already connected to a conntrack entry.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_nf_conntrack_stat_insert",
        "",
        "Number of entries inserted into the list.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_nf_conntrack_stat_insert_failed",
        "",
        "Number of entries for which list insertion was attempted but failed.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_nf_conntrack_stat_drop",
        "",
        "Number of packets dropped due to conntrack failure.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_nf_conntrack_stat_early_drop",
        "",
        "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_nf_conntrack_stat_search_restart",
        "",
        "Number of conntrack table lookups which had to be restarted due to hashtable resizes.",
        &[],
        Source::Agent,
    ),
    // node_exporter's time collector, but for `node_time_seconds` above.
    gauge(
        "node_time_zone_offset_seconds",
        "seconds",
        "System time zone offset in seconds.",
        &["time_zone"],
        Source::Agent,
    ),
    gauge(
        "node_time_clocksource_available_info",
        "",
        "Available clocksources read from '/sys/devices/system/clocksource'.",
        &["clocksource", "device"],
        Source::Agent,
    ),
    gauge(
        "node_time_clocksource_current_info",
        "",
        "Current clocksource read from '/sys/devices/system/clocksource'.",
        &["clocksource", "device"],
        Source::Agent,
    ),
    // The agent's own process, as every Prometheus client exposes its own: node_exporter's
    // dashboards show the exporter's footprint on each host from these. The server's own
    // series of the same families carry no agent's `instance`.
    counter(
        "process_cpu_seconds_total",
        "seconds",
        "Total user and system CPU time spent in seconds.",
        &[],
        Source::Agent,
    ),
    gauge(
        "process_open_fds",
        "",
        "Number of open file descriptors.",
        &[],
        Source::Agent,
    ),
    gauge(
        "process_max_fds",
        "",
        "Maximum number of open file descriptors.",
        &[],
        Source::Agent,
    ),
    gauge(
        "process_virtual_memory_bytes",
        "bytes",
        "Virtual memory size in bytes.",
        &[],
        Source::Agent,
    ),
    gauge(
        "process_virtual_memory_max_bytes",
        "bytes",
        "Maximum amount of virtual memory available in bytes.",
        &[],
        Source::Agent,
    ),
    gauge(
        "process_resident_memory_bytes",
        "bytes",
        "Resident memory size in bytes.",
        &[],
        Source::Agent,
    ),
    gauge(
        "process_start_time_seconds",
        "seconds",
        "Start time of the process since unix epoch in seconds.",
        &[],
        Source::Agent,
    ),
    // node_exporter's timex collector: the kernel's clock discipline, from adjtimex(2).
    gauge(
        "node_timex_offset_seconds",
        "seconds",
        "Time offset in between local system and reference clock.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_timex_frequency_adjustment_ratio",
        "ratio",
        "Local clock frequency adjustment.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_timex_maxerror_seconds",
        "seconds",
        "Maximum error in seconds.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_timex_estimated_error_seconds",
        "seconds",
        "Estimated error in seconds.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_timex_status",
        "",
        "Value of the status array bits.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_timex_loop_time_constant",
        "",
        "Phase-locked loop time constant.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_timex_tick_seconds",
        "seconds",
        "Seconds between clock ticks.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_timex_pps_frequency_hertz",
        "hertz",
        "Pulse per second frequency.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_timex_pps_jitter_seconds",
        "seconds",
        "Pulse per second jitter.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_timex_pps_shift_seconds",
        "seconds",
        "Pulse per second interval duration.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_timex_pps_stability_hertz",
        "hertz",
        "Pulse per second stability, average of recent frequency changes.",
        &[],
        Source::Agent,
    ),
    counter(
        "node_timex_pps_jitter_total",
        "",
        "Pulse per second count of jitter limit exceeded events.",
        &[],
        Source::Agent,
    ),
    counter(
        "node_timex_pps_calibration_total",
        "",
        "Pulse per second count of calibration intervals.",
        &[],
        Source::Agent,
    ),
    counter(
        "node_timex_pps_error_total",
        "",
        "Pulse per second count of calibration errors.",
        &[],
        Source::Agent,
    ),
    counter(
        "node_timex_pps_stability_exceeded_total",
        "",
        "Pulse per second count of stability limit exceeded events.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_timex_tai_offset_seconds",
        "seconds",
        "International Atomic Time (TAI) offset.",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_timex_sync_status",
        "",
        "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
        &[],
        Source::Agent,
    ),
    // /proc/stat's `intr` total and guest columns, which a v1 sample has no room for: only v2
    // carries them.
    counter(
        "node_intr_total",
        "",
        "Total number of interrupts serviced.",
        &[],
        Source::Agent,
    ),
    counter(
        "node_cpu_guest_seconds_total",
        "seconds",
        "Seconds the CPUs spent in guests (VMs) for each mode.",
        &["cpu", "mode"],
        Source::Agent,
    ),
    // node_exporter's softnet collector; its help texts have no full stop.
    counter(
        "node_softnet_processed_total",
        "",
        "Number of processed packets",
        &["cpu"],
        Source::Agent,
    ),
    counter(
        "node_softnet_dropped_total",
        "",
        "Number of dropped packets",
        &["cpu"],
        Source::Agent,
    ),
    counter(
        "node_softnet_times_squeezed_total",
        "",
        "Number of times processing packets ran out of quota",
        &["cpu"],
        Source::Agent,
    ),
    // node_exporter's schedstat collector: the kernel's nanoseconds, in seconds.
    counter(
        "node_schedstat_running_seconds_total",
        "seconds",
        "Number of seconds CPU spent running a process.",
        &["cpu"],
        Source::Agent,
    ),
    counter(
        "node_schedstat_waiting_seconds_total",
        "seconds",
        "Number of seconds spent by processing waiting for this CPU.",
        &["cpu"],
        Source::Agent,
    ),
    counter(
        "node_schedstat_timeslices_total",
        "",
        "Number of timeslices executed by CPU.",
        &["cpu"],
        Source::Agent,
    ),
    // The columns of /proc/net/dev besides the sample's, in its order, then `receive_nohandler`,
    // which node_exporter's netlink statistics have and the file has not (sysfs has it); only
    // v2 carries them.
    netdev!("receive_fifo"),
    netdev!("receive_frame"),
    netdev!("receive_compressed"),
    netdev!("receive_multicast"),
    netdev!("transmit_fifo"),
    netdev!("transmit_colls"),
    netdev!("transmit_carrier"),
    netdev!("transmit_compressed"),
    netdev!("receive_nohandler"),
    gauge(
        "node_arp_entries",
        "",
        "ARP entries by device",
        DEV,
        Source::Agent,
    ),
    gauge(
        "node_udp_queues",
        "",
        "Number of allocated memory in the kernel for UDP datagrams in bytes.",
        &["ip", "queue"],
        Source::Agent,
    ),
    // node_exporter's selinux collector: the modes are 1 enforcing, 0 permissive, -1 disabled
    // (or unreadable), and given only while SELinux is enabled.
    gauge(
        "node_selinux_enabled",
        "",
        "SELinux is enabled, 1 is true, 0 is false",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_selinux_config_mode",
        "",
        "Configured SELinux enforcement mode",
        &[],
        Source::Agent,
    ),
    gauge(
        "node_selinux_current_mode",
        "",
        "Current SELinux enforcement mode",
        &[],
        Source::Agent,
    ),
    // node_exporter's filesystem collector: a mount whose `statfs` failed or timed out has
    // this at 1 and no other series.
    gauge(
        "node_filesystem_device_error",
        "",
        "Whether an error occurred while getting statistics for the given device.",
        FS,
        Source::Agent,
    ),
    // The columns of /proc/diskstats that kernels since 4.18 (discards) and 5.5 (flushes) add.
    counter(
        "node_disk_discards_completed_total",
        "",
        "The total number of discards completed successfully.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_disk_discards_merged_total",
        "",
        "The total number of discards merged.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_disk_discarded_sectors_total",
        "",
        "The total number of sectors discarded successfully.",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_disk_discard_time_seconds_total",
        "seconds",
        "This is the total number of seconds spent by all discards.",
        DEV,
        Source::Agent,
    ),
    // node_exporter 1.5's help text has no full stop here.
    counter(
        "node_disk_flush_requests_total",
        "",
        "The total number of flush requests completed successfully",
        DEV,
        Source::Agent,
    ),
    counter(
        "node_disk_flush_requests_time_seconds_total",
        "seconds",
        "This is the total number of seconds spent by all flush requests.",
        DEV,
        Source::Agent,
    ),
    // `device`, `major` and `minor` from /proc/diskstats, the others from the device's entry
    // in udev's database, empty without one.
    gauge(
        "node_disk_info",
        "",
        "Info of /sys/block/<block_device>.",
        &[
            "device", "major", "minor", "path", "wwn", "model", "serial", "revision",
        ],
        Source::Agent,
    ),
    // node_exporter's os collector, from os-release(5).
    gauge(
        "node_os_info",
        "",
        "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, \
         image_version, name, pretty_name, variant, variant_id, version, version_codename, \
         version_id.",
        &[
            "build_id",
            "id",
            "id_like",
            "image_id",
            "image_version",
            "name",
            "pretty_name",
            "variant",
            "variant_id",
            "version",
            "version_codename",
            "version_id",
        ],
        Source::Agent,
    ),
    gauge(
        "node_os_version",
        "",
        "Metric containing the major.minor part of the OS version.",
        &["id", "id_like", "name"],
        Source::Agent,
    ),
    // /sys/class/net/<device>/, as node_exporter's netclass collector gives it, in its order,
    // but for `node_network_up` above; only v2 carries them.
    gauge(
        "node_network_info",
        "",
        "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
        &[
            "address",
            "broadcast",
            "device",
            "duplex",
            "ifalias",
            "operstate",
        ],
        Source::Agent,
    ),
    netclass!(gauge, "address_assign_type"),
    netclass!(gauge, "carrier"),
    netclass!(counter, "carrier_changes_total"),
    netclass!(counter, "carrier_up_changes_total"),
    netclass!(counter, "carrier_down_changes_total"),
    netclass!(gauge, "device_id"),
    netclass!(gauge, "dormant"),
    netclass!(gauge, "flags"),
    netclass!(gauge, "iface_id"),
    netclass!(gauge, "iface_link"),
    netclass!(gauge, "iface_link_mode"),
    netclass!(gauge, "mtu_bytes", "bytes"),
    netclass!(gauge, "name_assign_type"),
    netclass!(gauge, "net_dev_group"),
    netclass!(gauge, "speed_bytes", "bytes"),
    netclass!(gauge, "transmit_queue_length"),
    netclass!(gauge, "protocol_type"), // node_exporter's hwmon collector, but for `node_hwmon_temp_celsius` above: each chip's
    // name, each sensor's label, and the values of the elements the kernel's hwmon core
    // names (Documentation/hwmon/sysfs-interface.rst), as node_exporter names them.
    gauge(
        "node_hwmon_chip_names",
        "",
        "Annotation metric for human-readable chip names",
        &["chip", "chip_name"],
        Source::Agent,
    ),
    gauge(
        "node_hwmon_sensor_label",
        "",
        "Label for given chip and sensor",
        &["chip", "label", "sensor"],
        Source::Agent,
    ),
    gauge(
        "node_hwmon_beep_enabled",
        "",
        "Hardware beep enabled",
        HWMON,
        Source::Agent,
    ),
    gauge(
        "node_hwmon_voltage_regulator_version",
        "",
        "Hardware voltage regulator",
        HWMON,
        Source::Agent,
    ),
    gauge(
        "node_hwmon_update_interval_seconds",
        "seconds",
        "Hardware monitor update interval",
        HWMON,
        Source::Agent,
    ),
    hwmon!(celsius "max"),
    hwmon!(celsius "min"),
    hwmon!(celsius "max_hyst"),
    hwmon!(celsius "min_hyst"),
    hwmon!(celsius "crit"),
    hwmon!(celsius "crit_hyst"),
    hwmon!(celsius "emergency"),
    hwmon!(celsius "emergency_hyst"),
    hwmon!(celsius "lcrit"),
    hwmon!(celsius "lcrit_hyst"),
    hwmon!(celsius "offset"),
    hwmon!(celsius "lowest"),
    hwmon!(celsius "highest"),
    hwmon!(celsius "rated_min"),
    hwmon!(celsius "rated_max"),
    hwmon!(celsius "enable"),
    hwmon!(celsius "min_alarm"),
    hwmon!(celsius "max_alarm"),
    hwmon!(celsius "crit_alarm"),
    hwmon!(celsius "emergency_alarm"),
    hwmon!(celsius "lcrit_alarm"),
    hwmon!(alarm "temp"),
    hwmon!(fault "temp"),
    hwmon!(beep "temp"),
    hwmon!(element "temp", "type"),
    hwmon!(volts "in", input),
    hwmon!(volts "in", "min"),
    hwmon!(volts "in", "max"),
    hwmon!(volts "in", "lcrit"),
    hwmon!(volts "in", "crit"),
    hwmon!(volts "in", "average"),
    hwmon!(volts "in", "lowest"),
    hwmon!(volts "in", "highest"),
    hwmon!(volts "in", "rated_min"),
    hwmon!(volts "in", "rated_max"),
    hwmon!(volts "in", "enable"),
    hwmon!(volts "in", "min_alarm"),
    hwmon!(volts "in", "max_alarm"),
    hwmon!(volts "in", "lcrit_alarm"),
    hwmon!(volts "in", "crit_alarm"),
    hwmon!(alarm "in"),
    hwmon!(fault "in"),
    hwmon!(beep "in"),
    hwmon!(volts "cpu", "vid"),
    hwmon!(amps input),
    hwmon!(amps "min"),
    hwmon!(amps "max"),
    hwmon!(amps "lcrit"),
    hwmon!(amps "crit"),
    hwmon!(amps "average"),
    hwmon!(amps "lowest"),
    hwmon!(amps "highest"),
    hwmon!(amps "rated_min"),
    hwmon!(amps "rated_max"),
    hwmon!(amps "enable"),
    hwmon!(amps "min_alarm"),
    hwmon!(amps "max_alarm"),
    hwmon!(amps "lcrit_alarm"),
    hwmon!(amps "crit_alarm"),
    hwmon!(alarm "curr"),
    hwmon!(beep "curr"),
    hwmon!(watt input),
    hwmon!(watt "average"),
    hwmon!(watt "average_highest"),
    hwmon!(watt "average_lowest"),
    hwmon!(watt "average_max"),
    hwmon!(watt "average_min"),
    hwmon!(watt "input_highest"),
    hwmon!(watt "input_lowest"),
    hwmon!(watt "cap"),
    hwmon!(watt "cap_hyst"),
    hwmon!(watt "cap_max"),
    hwmon!(watt "cap_min"),
    hwmon!(watt "min"),
    hwmon!(watt "max"),
    hwmon!(watt "lcrit"),
    hwmon!(watt "crit"),
    hwmon!(watt "rated_min"),
    hwmon!(watt "rated_max"),
    hwmon!(watt "enable"),
    hwmon!(watt "cap_alarm"),
    hwmon!(watt "min_alarm"),
    hwmon!(watt "max_alarm"),
    hwmon!(watt "lcrit_alarm"),
    hwmon!(watt "crit_alarm"),
    // The hwmon core names these two `interval_max` and `interval_min`, not `average_...`.
    hwmon!(watt "interval_max"),
    hwmon!(watt "interval_min"),
    hwmon!(seconds "average_interval"),
    hwmon!(seconds "average_interval_min"),
    hwmon!(seconds "average_interval_max"),
    gauge(
        "node_hwmon_power_accuracy",
        "",
        "Hardware monitor power meter accuracy, as a ratio",
        HWMON,
        Source::Agent,
    ),
    hwmon!(alarm "power"),
    hwmon!(joules input),
    hwmon!(joules "enable"),
    hwmon!(humidity input),
    hwmon!(humidity "enable"),
    hwmon!(humidity "min"),
    hwmon!(humidity "min_hyst"),
    hwmon!(humidity "max"),
    hwmon!(humidity "max_hyst"),
    hwmon!(humidity "rated_min"),
    hwmon!(humidity "rated_max"),
    hwmon!(alarm "humidity"),
    hwmon!(fault "humidity"),
    hwmon!(rpm input),
    hwmon!(rpm "min"),
    hwmon!(rpm "max"),
    hwmon!(rpm "target"),
    hwmon!(element "fan", "div"),
    hwmon!(element "fan", "pulses"),
    hwmon!(element "fan", "enable"),
    hwmon!(element "fan", "min_alarm"),
    hwmon!(element "fan", "max_alarm"),
    hwmon!(alarm "fan"),
    hwmon!(fault "fan"),
    hwmon!(beep "fan"),
    hwmon!(element "pwm"),
    hwmon!(element "pwm", "enable"),
    hwmon!(element "pwm", "mode"),
    hwmon!(element "pwm", "freq"),
    hwmon!(element "pwm", "auto_channels_temp"),
    hwmon!(alarm "intrusion"),
    hwmon!(beep "intrusion"),
    // node_exporter's thermal_zone collector.
    gauge(
        "node_thermal_zone_temp",
        "",
        "Zone temperature in Celsius",
        &["type", "zone"],
        Source::Agent,
    ),
    gauge(
        "node_cooling_device_cur_state",
        "",
        "Current throttle state of the cooling device",
        &["name", "type"],
        Source::Agent,
    ),
    gauge(
        "node_cooling_device_max_state",
        "",
        "Maximum throttle state of the cooling device",
        &["name", "type"],
        Source::Agent,
    ),
    // node_exporter's cpufreq collector.
    cpufreq!("frequency", "Current cpu thread frequency in hertz."),
    cpufreq!("frequency_min", "Minimum cpu thread frequency in hertz."),
    cpufreq!("frequency_max", "Maximum cpu thread frequency in hertz."),
    cpufreq!(
        "scaling_frequency",
        "Current scaled CPU thread frequency in hertz."
    ),
    cpufreq!(
        "scaling_frequency_min",
        "Minimum scaled CPU thread frequency in hertz."
    ),
    cpufreq!(
        "scaling_frequency_max",
        "Maximum scaled CPU thread frequency in hertz."
    ),
    gauge(
        "node_textfile_mtime_seconds",
        "seconds",
        "Unixtime mtime of textfiles successfully read.",
        &["file"],
        Source::Agent,
    ),
    gauge(
        "node_textfile_scrape_error",
        "",
        "1 if there was an error opening or reading a file, 0 otherwise",
        &[],
        Source::Agent,
    ),
    // node_exporter's mdadm collector: `/proc/mdstat`.
    gauge(
        "node_md_blocks",
        "",
        "Total number of blocks on device.",
        &["device"],
        Source::Agent,
    ),
    gauge(
        "node_md_blocks_synced",
        "",
        "Number of blocks synced on device.",
        &["device"],
        Source::Agent,
    ),
    gauge(
        "node_md_disks",
        "",
        "Number of active/failed/spare disks of device.",
        &["device", "state"],
        Source::Agent,
    ),
    gauge(
        "node_md_disks_required",
        "",
        "Total number of disks of device.",
        &["device"],
        Source::Agent,
    ),
    gauge(
        "node_md_state",
        "",
        "Indicates the state of md-device.",
        &["device", "state"],
        Source::Agent,
    ),
    // node_exporter's bonding collector: `/sys/class/net/<bond>/bonding/`.
    gauge(
        "node_bonding_active",
        "",
        "Number of active slaves per bonding interface.",
        &["master"],
        Source::Agent,
    ),
    gauge(
        "node_bonding_slaves",
        "",
        "Number of configured slaves per bonding interface.",
        &["master"],
        Source::Agent,
    ),
    // node_exporter's nvme collector: `/sys/class/nvme/<device>/`.
    gauge(
        "node_nvme_info",
        "",
        "Non-numeric data from /sys/class/nvme/<device>, value is always 1.",
        &["device", "firmware_revision", "model", "serial", "state"],
        Source::Agent,
    ),
    // node_exporter's edac collector: `/sys/devices/system/edac/mc/mc<N>/`, each memory
    // controller's error counts and those of its chip-select rows.
    counter(
        "node_edac_correctable_errors_total",
        "",
        "Total correctable memory errors.",
        &["controller"],
        Source::Agent,
    ),
    counter(
        "node_edac_uncorrectable_errors_total",
        "",
        "Total uncorrectable memory errors.",
        &["controller"],
        Source::Agent,
    ),
    counter(
        "node_edac_csrow_correctable_errors_total",
        "",
        "Total correctable memory errors for this csrow.",
        &["controller", "csrow"],
        Source::Agent,
    ),
    counter(
        "node_edac_csrow_uncorrectable_errors_total",
        "",
        "Total uncorrectable memory errors for this csrow.",
        &["controller", "csrow"],
        Source::Agent,
    ),
    // node_exporter's rapl collector: `/sys/class/powercap/<zone>/`, the energy counter of each
    // RAPL zone, in a family named after the zone (the kernel's intel_rapl names them).
    rapl!("core"),
    rapl!("dram"),
    rapl!("package"),
    rapl!("psys"),
    rapl!("uncore"),
    // node_exporter's powersupplyclass collector: `/sys/class/power_supply/<power_supply>/`,
    // batteries, mains and USB supplies: a family per attribute it exports, and their texts.
    power_supply!("authentic", ""),
    power_supply!("calibrate", ""),
    power_supply!("capacity", ""),
    power_supply!("capacity_alert_max", ""),
    power_supply!("capacity_alert_min", ""),
    power_supply!("cyclecount", ""),
    power_supply!("online", ""),
    power_supply!("present", ""),
    power_supply!("time_to_empty_seconds", "seconds"),
    power_supply!("time_to_full_seconds", "seconds"),
    power_supply!("current_boot", ""),
    power_supply!("current_max", ""),
    power_supply!("current_ampere", "ampere"),
    power_supply!("energy_empty", ""),
    power_supply!("energy_empty_design", ""),
    power_supply!("energy_full", ""),
    power_supply!("energy_full_design", ""),
    power_supply!("energy_watthour", "watthour"),
    power_supply!("voltage_boot", ""),
    power_supply!("voltage_max", ""),
    power_supply!("voltage_max_design", ""),
    power_supply!("voltage_min", ""),
    power_supply!("voltage_min_design", ""),
    power_supply!("voltage_volt", "volt"),
    power_supply!("voltage_ocv", ""),
    power_supply!("charge_control_limit", ""),
    power_supply!("charge_control_limit_max", ""),
    power_supply!("charge_counter", ""),
    power_supply!("charge_empty", ""),
    power_supply!("charge_empty_design", ""),
    power_supply!("charge_full", ""),
    power_supply!("charge_full_design", ""),
    power_supply!("charge_ampere", "ampere"),
    power_supply!("charge_term_current", ""),
    power_supply!("constant_charge_current", ""),
    power_supply!("constant_charge_current_max", ""),
    power_supply!("constant_charge_voltage", ""),
    power_supply!("constant_charge_voltage_max", ""),
    power_supply!("precharge_current", ""),
    power_supply!("input_current_limit", ""),
    power_supply!("power_watt", "watt"),
    power_supply!("temp_celsius", "celsius"),
    power_supply!("temp_alert_max_celsius", "celsius"),
    power_supply!("temp_alert_min_celsius", "celsius"),
    power_supply!("temp_ambient_celsius", "celsius"),
    power_supply!("temp_ambient_max_celsius", "celsius"),
    power_supply!("temp_ambient_min_celsius", "celsius"),
    power_supply!("temp_max_celsius", "celsius"),
    power_supply!("temp_min_celsius", "celsius"),
    gauge(
        "node_power_supply_info",
        "",
        "info of /sys/class/power_supply/<power_supply>.",
        &[
            "power_supply",
            "capacity_level",
            "charge_type",
            "health",
            "manufacturer",
            "model_name",
            "serial_number",
            "status",
            "technology",
            "type",
            "usb_type",
            "scope",
        ],
        Source::Agent,
    ),
    // node_exporter's xfs collector: `/sys/fs/xfs/<device>/stats/stats`, named after the XFS
    // wiki's runtime statistics.
    counter(
        "node_xfs_extent_allocation_extents_allocated_total",
        "",
        "Number of extents allocated for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_extent_allocation_blocks_allocated_total",
        "",
        "Number of blocks allocated for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_extent_allocation_extents_freed_total",
        "",
        "Number of extents freed for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_extent_allocation_blocks_freed_total",
        "",
        "Number of blocks freed for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_allocation_btree_lookups_total",
        "",
        "Number of allocation B-tree lookups for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_allocation_btree_compares_total",
        "",
        "Number of allocation B-tree compares for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_allocation_btree_records_inserted_total",
        "",
        "Number of allocation B-tree records inserted for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_allocation_btree_records_deleted_total",
        "",
        "Number of allocation B-tree records deleted for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_block_mapping_reads_total",
        "",
        "Number of block map for read operations for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_block_mapping_writes_total",
        "",
        "Number of block map for write operations for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_block_mapping_unmaps_total",
        "",
        "Number of block unmaps (deletes) for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_block_mapping_extent_list_insertions_total",
        "",
        "Number of extent list insertions for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_block_mapping_extent_list_deletions_total",
        "",
        "Number of extent list deletions for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_block_mapping_extent_list_lookups_total",
        "",
        "Number of extent list lookups for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_block_mapping_extent_list_compares_total",
        "",
        "Number of extent list compares for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_block_map_btree_lookups_total",
        "",
        "Number of block map B-tree lookups for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_block_map_btree_compares_total",
        "",
        "Number of block map B-tree compares for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_block_map_btree_records_inserted_total",
        "",
        "Number of block map B-tree records inserted for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_block_map_btree_records_deleted_total",
        "",
        "Number of block map B-tree records deleted for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_directory_operation_lookup_total",
        "",
        "Number of file name directory lookups which miss the operating systems directory name lookup cache.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_directory_operation_create_total",
        "",
        "Number of times a new directory entry was created for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_directory_operation_remove_total",
        "",
        "Number of times an existing directory entry was created for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_directory_operation_getdents_total",
        "",
        "Number of times the directory getdents operation was performed for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_inode_operation_attempts_total",
        "",
        "Number of times the OS looked for an XFS inode in the inode cache.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_inode_operation_found_total",
        "",
        "Number of times the OS looked for and found an XFS inode in the inode cache.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_inode_operation_recycled_total",
        "",
        "Number of times the OS found an XFS inode in the cache, but could not use it as it was being recycled.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_inode_operation_missed_total",
        "",
        "Number of times the OS looked for an XFS inode in the cache, but did not find it.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_inode_operation_duplicates_total",
        "",
        "Number of times the OS tried to add a missing XFS inode to the inode cache, but found it had already been added by another process.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_inode_operation_reclaims_total",
        "",
        "Number of times the OS reclaimed an XFS inode from the inode cache to free memory for another purpose.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_inode_operation_attribute_changes_total",
        "",
        "Number of times the OS explicitly changed the attributes of an XFS inode.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_read_calls_total",
        "",
        "Number of read(2) system calls made to files in a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_write_calls_total",
        "",
        "Number of write(2) system calls made to files in a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_vnode_active_total",
        "",
        "Number of vnodes not on free lists for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_vnode_allocate_total",
        "",
        "Number of times vn_alloc called for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_vnode_get_total",
        "",
        "Number of times vn_get called for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_vnode_hold_total",
        "",
        "Number of times vn_hold called for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_vnode_release_total",
        "",
        "Number of times vn_rele called for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_vnode_reclaim_total",
        "",
        "Number of times vn_reclaim called for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    counter(
        "node_xfs_vnode_remove_total",
        "",
        "Number of times vn_remove called for a filesystem.",
        &["device"],
        Source::Agent,
    ),
    // node_exporter's nfs collector: the NFS client's RPC statistics, `/proc/net/rpc/nfs`.
    counter(
        "node_nfs_packets_total",
        "",
        "Total NFSd network packets (sent+received) by protocol type.",
        &["protocol"],
        Source::Agent,
    ),
    counter(
        "node_nfs_connections_total",
        "",
        "Total number of NFSd TCP connections.",
        &[],
        Source::Agent,
    ),
    counter(
        "node_nfs_rpcs_total",
        "",
        "Total number of RPCs performed.",
        &[],
        Source::Agent,
    ),
    counter(
        "node_nfs_rpc_retransmissions_total",
        "",
        "Number of RPC transmissions performed.",
        &[],
        Source::Agent,
    ),
    counter(
        "node_nfs_rpc_authentication_refreshes_total",
        "",
        "Number of RPC authentication refreshes performed.",
        &[],
        Source::Agent,
    ),
    counter(
        "node_nfs_requests_total",
        "",
        "Number of NFS procedures invoked.",
        &["proto", "method"],
        Source::Agent,
    ),
    // node_exporter's dmi collector: the firmware's texts, `/sys/class/dmi/id/`.
    gauge(
        "node_dmi_info",
        "",
        "A metric with a constant '1' value labeled by bios_date, bios_release, bios_vendor, \
         bios_version, board_asset_tag, board_name, board_serial, board_vendor, board_version, \
         chassis_asset_tag, chassis_serial, chassis_vendor, chassis_version, product_family, \
         product_name, product_serial, product_sku, product_uuid, product_version, system_vendor \
         if provided by DMI.",
        &[
            "bios_date",
            "bios_release",
            "bios_vendor",
            "bios_version",
            "board_asset_tag",
            "board_name",
            "board_serial",
            "board_vendor",
            "board_version",
            "chassis_asset_tag",
            "chassis_serial",
            "chassis_vendor",
            "chassis_version",
            "product_family",
            "product_name",
            "product_serial",
            "product_sku",
            "product_uuid",
            "product_version",
            "system_vendor",
        ],
        Source::Agent,
    ),
];

/// Whether two texts are the same, where `==` cannot run: at compile time, for the tables
/// built from [`FAMILIES`].
// Compile time only: a slip fails the build.
#[allow(clippy::indexing_slicing)]
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

/// The label names of family `id`, without the names and help texts: what a board needs to
/// declare its series, so that its flash holds no more of the table.
pub fn label_names(id: u16) -> Option<&'static [&'static str]> {
    let set = *label_sets::OF.get(usize::from(id))?;
    label_sets::SETS.get(usize::from(set)).copied()
}

/// The tables behind [`label_names`]: each distinct list of label names once, and a byte per
/// family saying which. A list per family took a pointer and a length each (8 bytes on a
/// board, 3.9 KB of flash for 487 families); most families share a list with others.
// Indexing runs at compile time, where a slip fails the build.
#[allow(clippy::indexing_slicing)]
mod label_sets {
    use super::{FAMILIES, same};

    const fn same_list(a: &[&str], b: &[&str]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if !same(a[i], b[i]) {
                return false;
            }
            i += 1;
        }
        true
    }

    /// Whether family `i`'s list is the first of its kind.
    const fn first(i: usize) -> bool {
        let mut j = 0;
        while j < i {
            if same_list(FAMILIES[j].labels, FAMILIES[i].labels) {
                return false;
            }
            j += 1;
        }
        true
    }

    const COUNT: usize = {
        let mut count = 0;
        let mut i = 0;
        while i < FAMILIES.len() {
            if first(i) {
                count += 1;
            }
            i += 1;
        }
        assert!(
            count <= 256,
            "a byte per family no longer tells the lists apart"
        );
        count
    };

    pub(super) static SETS: [&[&str]; COUNT] = {
        let mut out: [&[&str]; COUNT] = [&[]; COUNT];
        let (mut i, mut n) = (0, 0);
        while i < FAMILIES.len() {
            if first(i) {
                out[n] = FAMILIES[i].labels;
                n += 1;
            }
            i += 1;
        }
        out
    };

    pub(super) static OF: [u8; FAMILIES.len()] = {
        let mut out = [0u8; FAMILIES.len()];
        let mut i = 0;
        while i < FAMILIES.len() {
            let mut n = 0;
            while !same_list(SETS[n], FAMILIES[i].labels) {
                n += 1;
            }
            out[i] = n as u8;
            i += 1;
        }
        out
    };
}

/// The family numbered `id`.
pub fn family(id: u16) -> Option<&'static Family> {
    FAMILIES.get(usize::from(id))
}

/// Family numbers, found by name at compile time: a name that is not in the table does not
/// compile, so code and table cannot drift apart.
pub mod f {
    use super::{FAMILIES, same};

    #[allow(clippy::panic, clippy::indexing_slicing)]
    const fn index(name: &str) -> u16 {
        let mut i = 0;
        while i < FAMILIES.len() {
            if same(FAMILIES[i].name, name) {
                return i as u16;
            }
            i += 1;
        }
        panic!("no metric family of that name")
    }

    #[allow(missing_docs)]
    pub const CPU: u16 = index("node_cpu_seconds_total");
    #[allow(missing_docs)]
    pub const LOAD1: u16 = index("node_load1");
    #[allow(missing_docs)]
    pub const LOAD5: u16 = index("node_load5");
    #[allow(missing_docs)]
    pub const LOAD15: u16 = index("node_load15");
    #[allow(missing_docs)]
    pub const MEM_TOTAL: u16 = index("node_memory_MemTotal_bytes");
    #[allow(missing_docs)]
    pub const MEM_FREE: u16 = index("node_memory_MemFree_bytes");
    #[allow(missing_docs)]
    pub const MEM_AVAILABLE: u16 = index("node_memory_MemAvailable_bytes");
    #[allow(missing_docs)]
    pub const MEM_BUFFERS: u16 = index("node_memory_Buffers_bytes");
    #[allow(missing_docs)]
    pub const MEM_CACHED: u16 = index("node_memory_Cached_bytes");
    #[allow(missing_docs)]
    pub const SWAP_TOTAL: u16 = index("node_memory_SwapTotal_bytes");
    #[allow(missing_docs)]
    pub const SWAP_FREE: u16 = index("node_memory_SwapFree_bytes");
    #[allow(missing_docs)]
    pub const FS_SIZE: u16 = index("node_filesystem_size_bytes");
    #[allow(missing_docs)]
    pub const FS_FREE: u16 = index("node_filesystem_free_bytes");
    #[allow(missing_docs)]
    pub const FS_AVAIL: u16 = index("node_filesystem_avail_bytes");
    #[allow(missing_docs)]
    pub const FS_FILES: u16 = index("node_filesystem_files");
    #[allow(missing_docs)]
    pub const FS_FILES_FREE: u16 = index("node_filesystem_files_free");
    #[allow(missing_docs)]
    pub const FS_READONLY: u16 = index("node_filesystem_readonly");
    #[allow(missing_docs)]
    pub const NET_RX_BYTES: u16 = index("node_network_receive_bytes_total");
    #[allow(missing_docs)]
    pub const NET_RX_PACKETS: u16 = index("node_network_receive_packets_total");
    #[allow(missing_docs)]
    pub const NET_RX_ERRS: u16 = index("node_network_receive_errs_total");
    #[allow(missing_docs)]
    pub const NET_RX_DROP: u16 = index("node_network_receive_drop_total");
    #[allow(missing_docs)]
    pub const NET_TX_BYTES: u16 = index("node_network_transmit_bytes_total");
    #[allow(missing_docs)]
    pub const NET_TX_PACKETS: u16 = index("node_network_transmit_packets_total");
    #[allow(missing_docs)]
    pub const NET_TX_ERRS: u16 = index("node_network_transmit_errs_total");
    #[allow(missing_docs)]
    pub const NET_TX_DROP: u16 = index("node_network_transmit_drop_total");
    #[allow(missing_docs)]
    pub const NET_UP: u16 = index("node_network_up");
    #[allow(missing_docs)]
    pub const HWMON_TEMP: u16 = index("node_hwmon_temp_celsius");
    #[allow(missing_docs)]
    pub const BOOT_TIME: u16 = index("node_boot_time_seconds");
    #[allow(missing_docs)]
    pub const TIME: u16 = index("node_time_seconds");
    #[allow(missing_docs)]
    pub const CONTEXT_SWITCHES: u16 = index("node_context_switches_total");
    #[allow(missing_docs)]
    pub const FORKS: u16 = index("node_forks_total");
    #[allow(missing_docs)]
    pub const PROCS_RUNNING: u16 = index("node_procs_running");
    #[allow(missing_docs)]
    pub const PROCS_BLOCKED: u16 = index("node_procs_blocked");
    #[allow(missing_docs)]
    pub const UNAME: u16 = index("node_uname_info");
    #[allow(missing_docs)]
    pub const CPU_USAGE: u16 = index("vitals_cpu_usage_ratio");
    #[allow(missing_docs)]
    pub const AGENT_INFO: u16 = index("vitals_agent_info");
    #[allow(missing_docs)]
    pub const SAMPLES: u16 = index("vitals_agent_samples_total");
    #[allow(missing_docs)]
    pub const SAMPLES_DROPPED: u16 = index("vitals_agent_samples_dropped_total");
    #[allow(missing_docs)]
    pub const SEQUENCE_GAPS: u16 = index("vitals_agent_sequence_gaps_total");
    #[allow(missing_docs)]
    pub const OMITTED: u16 = index("vitals_agent_sample_omitted_entries");
    #[allow(missing_docs)]
    pub const INTERVAL: u16 = index("vitals_agent_interval_seconds");
    #[allow(missing_docs)]
    pub const DISK_READS: u16 = index("node_disk_reads_completed_total");
    #[allow(missing_docs)]
    pub const DISK_READS_MERGED: u16 = index("node_disk_reads_merged_total");
    #[allow(missing_docs)]
    pub const DISK_READ_BYTES: u16 = index("node_disk_read_bytes_total");
    #[allow(missing_docs)]
    pub const DISK_READ_TIME: u16 = index("node_disk_read_time_seconds_total");
    #[allow(missing_docs)]
    pub const DISK_WRITES: u16 = index("node_disk_writes_completed_total");
    #[allow(missing_docs)]
    pub const DISK_WRITES_MERGED: u16 = index("node_disk_writes_merged_total");
    #[allow(missing_docs)]
    pub const DISK_WRITTEN_BYTES: u16 = index("node_disk_written_bytes_total");
    #[allow(missing_docs)]
    pub const DISK_WRITE_TIME: u16 = index("node_disk_write_time_seconds_total");
    #[allow(missing_docs)]
    pub const DISK_IO_NOW: u16 = index("node_disk_io_now");
    #[allow(missing_docs)]
    pub const DISK_IO_TIME: u16 = index("node_disk_io_time_seconds_total");
    #[allow(missing_docs)]
    pub const DISK_IO_TIME_WEIGHTED: u16 = index("node_disk_io_time_weighted_seconds_total");
    #[allow(missing_docs)]
    pub const PSI_CPU_WAITING: u16 = index("node_pressure_cpu_waiting_seconds_total");
    #[allow(missing_docs)]
    pub const PSI_MEMORY_WAITING: u16 = index("node_pressure_memory_waiting_seconds_total");
    #[allow(missing_docs)]
    pub const PSI_MEMORY_STALLED: u16 = index("node_pressure_memory_stalled_seconds_total");
    #[allow(missing_docs)]
    pub const PSI_IO_WAITING: u16 = index("node_pressure_io_waiting_seconds_total");
    #[allow(missing_docs)]
    pub const PSI_IO_STALLED: u16 = index("node_pressure_io_stalled_seconds_total");
    #[allow(missing_docs)]
    pub const UP: u16 = index("vitals_agent_up");
    #[allow(missing_docs)]
    pub const LAST_SEEN: u16 = index("vitals_agent_last_seen_timestamp_seconds");
    #[allow(missing_docs)]
    pub const TARGET_UP: u16 = index("up");
    #[allow(missing_docs)]
    pub const FILEFD_ALLOCATED: u16 = index("node_filefd_allocated");
    #[allow(missing_docs)]
    pub const FILEFD_MAXIMUM: u16 = index("node_filefd_maximum");
    #[allow(missing_docs)]
    pub const MEM_SWAP_CACHED: u16 = index("node_memory_SwapCached_bytes");
    #[allow(missing_docs)]
    pub const MEM_ACTIVE: u16 = index("node_memory_Active_bytes");
    #[allow(missing_docs)]
    pub const MEM_INACTIVE: u16 = index("node_memory_Inactive_bytes");
    #[allow(missing_docs)]
    pub const MEM_ACTIVE_ANON: u16 = index("node_memory_Active_anon_bytes");
    #[allow(missing_docs)]
    pub const MEM_INACTIVE_ANON: u16 = index("node_memory_Inactive_anon_bytes");
    #[allow(missing_docs)]
    pub const MEM_ACTIVE_FILE: u16 = index("node_memory_Active_file_bytes");
    #[allow(missing_docs)]
    pub const MEM_INACTIVE_FILE: u16 = index("node_memory_Inactive_file_bytes");
    #[allow(missing_docs)]
    pub const MEM_UNEVICTABLE: u16 = index("node_memory_Unevictable_bytes");
    #[allow(missing_docs)]
    pub const MEM_MLOCKED: u16 = index("node_memory_Mlocked_bytes");
    #[allow(missing_docs)]
    pub const MEM_HIGH_TOTAL: u16 = index("node_memory_HighTotal_bytes");
    #[allow(missing_docs)]
    pub const MEM_HIGH_FREE: u16 = index("node_memory_HighFree_bytes");
    #[allow(missing_docs)]
    pub const MEM_LOW_TOTAL: u16 = index("node_memory_LowTotal_bytes");
    #[allow(missing_docs)]
    pub const MEM_LOW_FREE: u16 = index("node_memory_LowFree_bytes");
    #[allow(missing_docs)]
    pub const MEM_MMAP_COPY: u16 = index("node_memory_MmapCopy_bytes");
    #[allow(missing_docs)]
    pub const MEM_ZSWAP: u16 = index("node_memory_Zswap_bytes");
    #[allow(missing_docs)]
    pub const MEM_ZSWAPPED: u16 = index("node_memory_Zswapped_bytes");
    #[allow(missing_docs)]
    pub const MEM_DIRTY: u16 = index("node_memory_Dirty_bytes");
    #[allow(missing_docs)]
    pub const MEM_WRITEBACK: u16 = index("node_memory_Writeback_bytes");
    #[allow(missing_docs)]
    pub const MEM_ANON_PAGES: u16 = index("node_memory_AnonPages_bytes");
    #[allow(missing_docs)]
    pub const MEM_MAPPED: u16 = index("node_memory_Mapped_bytes");
    #[allow(missing_docs)]
    pub const MEM_SHMEM: u16 = index("node_memory_Shmem_bytes");
    #[allow(missing_docs)]
    pub const MEM_KRECLAIMABLE: u16 = index("node_memory_KReclaimable_bytes");
    #[allow(missing_docs)]
    pub const MEM_SLAB: u16 = index("node_memory_Slab_bytes");
    #[allow(missing_docs)]
    pub const MEM_SRECLAIMABLE: u16 = index("node_memory_SReclaimable_bytes");
    #[allow(missing_docs)]
    pub const MEM_SUNRECLAIM: u16 = index("node_memory_SUnreclaim_bytes");
    #[allow(missing_docs)]
    pub const MEM_KERNEL_STACK: u16 = index("node_memory_KernelStack_bytes");
    #[allow(missing_docs)]
    pub const MEM_SHADOW_CALL_STACK: u16 = index("node_memory_ShadowCallStack_bytes");
    #[allow(missing_docs)]
    pub const MEM_PAGE_TABLES: u16 = index("node_memory_PageTables_bytes");
    #[allow(missing_docs)]
    pub const MEM_SEC_PAGE_TABLES: u16 = index("node_memory_SecPageTables_bytes");
    #[allow(missing_docs)]
    pub const MEM_QUICKLISTS: u16 = index("node_memory_Quicklists_bytes");
    #[allow(missing_docs)]
    pub const MEM_NFS_UNSTABLE: u16 = index("node_memory_NFS_Unstable_bytes");
    #[allow(missing_docs)]
    pub const MEM_BOUNCE: u16 = index("node_memory_Bounce_bytes");
    #[allow(missing_docs)]
    pub const MEM_WRITEBACK_TMP: u16 = index("node_memory_WritebackTmp_bytes");
    #[allow(missing_docs)]
    pub const MEM_COMMIT_LIMIT: u16 = index("node_memory_CommitLimit_bytes");
    #[allow(missing_docs)]
    pub const MEM_COMMITTED_AS: u16 = index("node_memory_Committed_AS_bytes");
    #[allow(missing_docs)]
    pub const MEM_VMALLOC_TOTAL: u16 = index("node_memory_VmallocTotal_bytes");
    #[allow(missing_docs)]
    pub const MEM_VMALLOC_USED: u16 = index("node_memory_VmallocUsed_bytes");
    #[allow(missing_docs)]
    pub const MEM_VMALLOC_CHUNK: u16 = index("node_memory_VmallocChunk_bytes");
    #[allow(missing_docs)]
    pub const MEM_PERCPU: u16 = index("node_memory_Percpu_bytes");
    #[allow(missing_docs)]
    pub const MEM_EARLY_MEMTEST_BAD: u16 = index("node_memory_EarlyMemtestBad_bytes");
    #[allow(missing_docs)]
    pub const MEM_HARDWARE_CORRUPTED: u16 = index("node_memory_HardwareCorrupted_bytes");
    #[allow(missing_docs)]
    pub const MEM_ANON_HUGE_PAGES: u16 = index("node_memory_AnonHugePages_bytes");
    #[allow(missing_docs)]
    pub const MEM_SHMEM_HUGE_PAGES: u16 = index("node_memory_ShmemHugePages_bytes");
    #[allow(missing_docs)]
    pub const MEM_SHMEM_PMD_MAPPED: u16 = index("node_memory_ShmemPmdMapped_bytes");
    #[allow(missing_docs)]
    pub const MEM_FILE_HUGE_PAGES: u16 = index("node_memory_FileHugePages_bytes");
    #[allow(missing_docs)]
    pub const MEM_FILE_PMD_MAPPED: u16 = index("node_memory_FilePmdMapped_bytes");
    #[allow(missing_docs)]
    pub const MEM_CMA_TOTAL: u16 = index("node_memory_CmaTotal_bytes");
    #[allow(missing_docs)]
    pub const MEM_CMA_FREE: u16 = index("node_memory_CmaFree_bytes");
    #[allow(missing_docs)]
    pub const MEM_UNACCEPTED: u16 = index("node_memory_Unaccepted_bytes");
    #[allow(missing_docs)]
    pub const MEM_BALLOON: u16 = index("node_memory_Balloon_bytes");
    #[allow(missing_docs)]
    pub const MEM_HUGEPAGES_TOTAL: u16 = index("node_memory_HugePages_Total");
    #[allow(missing_docs)]
    pub const MEM_HUGEPAGES_FREE: u16 = index("node_memory_HugePages_Free");
    #[allow(missing_docs)]
    pub const MEM_HUGEPAGES_RSVD: u16 = index("node_memory_HugePages_Rsvd");
    #[allow(missing_docs)]
    pub const MEM_HUGEPAGES_SURP: u16 = index("node_memory_HugePages_Surp");
    #[allow(missing_docs)]
    pub const MEM_HUGEPAGESIZE: u16 = index("node_memory_Hugepagesize_bytes");
    #[allow(missing_docs)]
    pub const MEM_HUGETLB: u16 = index("node_memory_Hugetlb_bytes");
    #[allow(missing_docs)]
    pub const MEM_DIRECT_MAP_4K: u16 = index("node_memory_DirectMap4k_bytes");
    #[allow(missing_docs)]
    pub const MEM_DIRECT_MAP_64K: u16 = index("node_memory_DirectMap64k_bytes");
    #[allow(missing_docs)]
    pub const MEM_DIRECT_MAP_1M: u16 = index("node_memory_DirectMap1M_bytes");
    #[allow(missing_docs)]
    pub const MEM_DIRECT_MAP_2M: u16 = index("node_memory_DirectMap2M_bytes");
    #[allow(missing_docs)]
    pub const MEM_DIRECT_MAP_4M: u16 = index("node_memory_DirectMap4M_bytes");
    #[allow(missing_docs)]
    pub const MEM_DIRECT_MAP_1G: u16 = index("node_memory_DirectMap1G_bytes");
    #[allow(missing_docs)]
    pub const MEM_DIRECT_MAP_2G: u16 = index("node_memory_DirectMap2G_bytes");
    #[allow(missing_docs)]
    pub const VMSTAT_PGPGIN: u16 = index("node_vmstat_pgpgin");
    #[allow(missing_docs)]
    pub const VMSTAT_PGPGOUT: u16 = index("node_vmstat_pgpgout");
    #[allow(missing_docs)]
    pub const VMSTAT_PSWPIN: u16 = index("node_vmstat_pswpin");
    #[allow(missing_docs)]
    pub const VMSTAT_PSWPOUT: u16 = index("node_vmstat_pswpout");
    #[allow(missing_docs)]
    pub const VMSTAT_PGFAULT: u16 = index("node_vmstat_pgfault");
    #[allow(missing_docs)]
    pub const VMSTAT_PGMAJFAULT: u16 = index("node_vmstat_pgmajfault");
    #[allow(missing_docs)]
    pub const VMSTAT_OOM_KILL: u16 = index("node_vmstat_oom_kill");
    #[allow(missing_docs)]
    pub const MD_BLOCKS: u16 = index("node_md_blocks");
    #[allow(missing_docs)]
    pub const MD_BLOCKS_SYNCED: u16 = index("node_md_blocks_synced");
    #[allow(missing_docs)]
    pub const MD_DISKS: u16 = index("node_md_disks");
    #[allow(missing_docs)]
    pub const MD_DISKS_REQUIRED: u16 = index("node_md_disks_required");
    #[allow(missing_docs)]
    pub const MD_STATE: u16 = index("node_md_state");
    #[allow(missing_docs)]
    pub const BONDING_ACTIVE: u16 = index("node_bonding_active");
    #[allow(missing_docs)]
    pub const BONDING_SLAVES: u16 = index("node_bonding_slaves");
    #[allow(missing_docs)]
    pub const NVME_INFO: u16 = index("node_nvme_info");
    #[allow(missing_docs)]
    pub const EDAC_CORRECTABLE: u16 = index("node_edac_correctable_errors_total");
    #[allow(missing_docs)]
    pub const EDAC_UNCORRECTABLE: u16 = index("node_edac_uncorrectable_errors_total");
    #[allow(missing_docs)]
    pub const EDAC_CSROW_CORRECTABLE: u16 = index("node_edac_csrow_correctable_errors_total");
    #[allow(missing_docs)]
    pub const EDAC_CSROW_UNCORRECTABLE: u16 = index("node_edac_csrow_uncorrectable_errors_total");
    /// The RAPL zones' families, by the zone's name.
    pub const RAPL: [(&str, u16); 5] = [
        ("core", index("node_rapl_core_joules_total")),
        ("dram", index("node_rapl_dram_joules_total")),
        ("package", index("node_rapl_package_joules_total")),
        ("psys", index("node_rapl_psys_joules_total")),
        ("uncore", index("node_rapl_uncore_joules_total")),
    ];
    /// The power supplies' families of numbers, by the name after `node_power_supply_`.
    pub const POWER_SUPPLY: [(&str, u16); 49] = [
        ("authentic", index("node_power_supply_authentic")),
        ("calibrate", index("node_power_supply_calibrate")),
        ("capacity", index("node_power_supply_capacity")),
        (
            "capacity_alert_max",
            index("node_power_supply_capacity_alert_max"),
        ),
        (
            "capacity_alert_min",
            index("node_power_supply_capacity_alert_min"),
        ),
        ("cyclecount", index("node_power_supply_cyclecount")),
        ("online", index("node_power_supply_online")),
        ("present", index("node_power_supply_present")),
        (
            "time_to_empty_seconds",
            index("node_power_supply_time_to_empty_seconds"),
        ),
        (
            "time_to_full_seconds",
            index("node_power_supply_time_to_full_seconds"),
        ),
        ("current_boot", index("node_power_supply_current_boot")),
        ("current_max", index("node_power_supply_current_max")),
        ("current_ampere", index("node_power_supply_current_ampere")),
        ("energy_empty", index("node_power_supply_energy_empty")),
        (
            "energy_empty_design",
            index("node_power_supply_energy_empty_design"),
        ),
        ("energy_full", index("node_power_supply_energy_full")),
        (
            "energy_full_design",
            index("node_power_supply_energy_full_design"),
        ),
        (
            "energy_watthour",
            index("node_power_supply_energy_watthour"),
        ),
        ("voltage_boot", index("node_power_supply_voltage_boot")),
        ("voltage_max", index("node_power_supply_voltage_max")),
        (
            "voltage_max_design",
            index("node_power_supply_voltage_max_design"),
        ),
        ("voltage_min", index("node_power_supply_voltage_min")),
        (
            "voltage_min_design",
            index("node_power_supply_voltage_min_design"),
        ),
        ("voltage_volt", index("node_power_supply_voltage_volt")),
        ("voltage_ocv", index("node_power_supply_voltage_ocv")),
        (
            "charge_control_limit",
            index("node_power_supply_charge_control_limit"),
        ),
        (
            "charge_control_limit_max",
            index("node_power_supply_charge_control_limit_max"),
        ),
        ("charge_counter", index("node_power_supply_charge_counter")),
        ("charge_empty", index("node_power_supply_charge_empty")),
        (
            "charge_empty_design",
            index("node_power_supply_charge_empty_design"),
        ),
        ("charge_full", index("node_power_supply_charge_full")),
        (
            "charge_full_design",
            index("node_power_supply_charge_full_design"),
        ),
        ("charge_ampere", index("node_power_supply_charge_ampere")),
        (
            "charge_term_current",
            index("node_power_supply_charge_term_current"),
        ),
        (
            "constant_charge_current",
            index("node_power_supply_constant_charge_current"),
        ),
        (
            "constant_charge_current_max",
            index("node_power_supply_constant_charge_current_max"),
        ),
        (
            "constant_charge_voltage",
            index("node_power_supply_constant_charge_voltage"),
        ),
        (
            "constant_charge_voltage_max",
            index("node_power_supply_constant_charge_voltage_max"),
        ),
        (
            "precharge_current",
            index("node_power_supply_precharge_current"),
        ),
        (
            "input_current_limit",
            index("node_power_supply_input_current_limit"),
        ),
        ("power_watt", index("node_power_supply_power_watt")),
        ("temp_celsius", index("node_power_supply_temp_celsius")),
        (
            "temp_alert_max_celsius",
            index("node_power_supply_temp_alert_max_celsius"),
        ),
        (
            "temp_alert_min_celsius",
            index("node_power_supply_temp_alert_min_celsius"),
        ),
        (
            "temp_ambient_celsius",
            index("node_power_supply_temp_ambient_celsius"),
        ),
        (
            "temp_ambient_max_celsius",
            index("node_power_supply_temp_ambient_max_celsius"),
        ),
        (
            "temp_ambient_min_celsius",
            index("node_power_supply_temp_ambient_min_celsius"),
        ),
        (
            "temp_max_celsius",
            index("node_power_supply_temp_max_celsius"),
        ),
        (
            "temp_min_celsius",
            index("node_power_supply_temp_min_celsius"),
        ),
    ];
    #[allow(missing_docs)]
    pub const POWER_SUPPLY_INFO: u16 = index("node_power_supply_info");
    #[allow(missing_docs)]
    pub const NFS_PACKETS: u16 = index("node_nfs_packets_total");
    #[allow(missing_docs)]
    pub const NFS_CONNECTIONS: u16 = index("node_nfs_connections_total");
    #[allow(missing_docs)]
    pub const NFS_RPCS: u16 = index("node_nfs_rpcs_total");
    #[allow(missing_docs)]
    pub const NFS_RPC_RETRANSMISSIONS: u16 = index("node_nfs_rpc_retransmissions_total");
    #[allow(missing_docs)]
    pub const NFS_RPC_AUTHENTICATION_REFRESHES: u16 =
        index("node_nfs_rpc_authentication_refreshes_total");
    #[allow(missing_docs)]
    pub const NFS_REQUESTS: u16 = index("node_nfs_requests_total");
    #[allow(missing_docs)]
    pub const DMI_INFO: u16 = index("node_dmi_info");
    /// The XFS families, in node_exporter's order.
    pub const XFS: [u16; 39] = [
        index("node_xfs_extent_allocation_extents_allocated_total"),
        index("node_xfs_extent_allocation_blocks_allocated_total"),
        index("node_xfs_extent_allocation_extents_freed_total"),
        index("node_xfs_extent_allocation_blocks_freed_total"),
        index("node_xfs_allocation_btree_lookups_total"),
        index("node_xfs_allocation_btree_compares_total"),
        index("node_xfs_allocation_btree_records_inserted_total"),
        index("node_xfs_allocation_btree_records_deleted_total"),
        index("node_xfs_block_mapping_reads_total"),
        index("node_xfs_block_mapping_writes_total"),
        index("node_xfs_block_mapping_unmaps_total"),
        index("node_xfs_block_mapping_extent_list_insertions_total"),
        index("node_xfs_block_mapping_extent_list_deletions_total"),
        index("node_xfs_block_mapping_extent_list_lookups_total"),
        index("node_xfs_block_mapping_extent_list_compares_total"),
        index("node_xfs_block_map_btree_lookups_total"),
        index("node_xfs_block_map_btree_compares_total"),
        index("node_xfs_block_map_btree_records_inserted_total"),
        index("node_xfs_block_map_btree_records_deleted_total"),
        index("node_xfs_directory_operation_lookup_total"),
        index("node_xfs_directory_operation_create_total"),
        index("node_xfs_directory_operation_remove_total"),
        index("node_xfs_directory_operation_getdents_total"),
        index("node_xfs_inode_operation_attempts_total"),
        index("node_xfs_inode_operation_found_total"),
        index("node_xfs_inode_operation_recycled_total"),
        index("node_xfs_inode_operation_missed_total"),
        index("node_xfs_inode_operation_duplicates_total"),
        index("node_xfs_inode_operation_reclaims_total"),
        index("node_xfs_inode_operation_attribute_changes_total"),
        index("node_xfs_read_calls_total"),
        index("node_xfs_write_calls_total"),
        index("node_xfs_vnode_active_total"),
        index("node_xfs_vnode_allocate_total"),
        index("node_xfs_vnode_get_total"),
        index("node_xfs_vnode_hold_total"),
        index("node_xfs_vnode_release_total"),
        index("node_xfs_vnode_reclaim_total"),
        index("node_xfs_vnode_remove_total"),
    ];
    #[allow(missing_docs)]
    pub const ENTROPY_AVAILABLE: u16 = index("node_entropy_available_bits");
    #[allow(missing_docs)]
    pub const ENTROPY_POOL_SIZE: u16 = index("node_entropy_pool_size_bits");
    #[allow(missing_docs)]
    pub const SOCKSTAT_SOCKETS_USED: u16 = index("node_sockstat_sockets_used");
    #[allow(missing_docs)]
    pub const SOCKSTAT_TCP_INUSE: u16 = index("node_sockstat_TCP_inuse");
    #[allow(missing_docs)]
    pub const SOCKSTAT_TCP_ORPHAN: u16 = index("node_sockstat_TCP_orphan");
    #[allow(missing_docs)]
    pub const SOCKSTAT_TCP_TW: u16 = index("node_sockstat_TCP_tw");
    #[allow(missing_docs)]
    pub const SOCKSTAT_TCP_ALLOC: u16 = index("node_sockstat_TCP_alloc");
    #[allow(missing_docs)]
    pub const SOCKSTAT_TCP_MEM: u16 = index("node_sockstat_TCP_mem");
    #[allow(missing_docs)]
    pub const SOCKSTAT_TCP_MEM_BYTES: u16 = index("node_sockstat_TCP_mem_bytes");
    #[allow(missing_docs)]
    pub const SOCKSTAT_UDP_INUSE: u16 = index("node_sockstat_UDP_inuse");
    #[allow(missing_docs)]
    pub const SOCKSTAT_UDP_MEM: u16 = index("node_sockstat_UDP_mem");
    #[allow(missing_docs)]
    pub const SOCKSTAT_UDP_MEM_BYTES: u16 = index("node_sockstat_UDP_mem_bytes");
    #[allow(missing_docs)]
    pub const SOCKSTAT_UDPLITE_INUSE: u16 = index("node_sockstat_UDPLITE_inuse");
    #[allow(missing_docs)]
    pub const SOCKSTAT_RAW_INUSE: u16 = index("node_sockstat_RAW_inuse");
    #[allow(missing_docs)]
    pub const SOCKSTAT_FRAG_INUSE: u16 = index("node_sockstat_FRAG_inuse");
    #[allow(missing_docs)]
    pub const SOCKSTAT_FRAG_MEMORY: u16 = index("node_sockstat_FRAG_memory");
    #[allow(missing_docs)]
    pub const SOCKSTAT_TCP6_INUSE: u16 = index("node_sockstat_TCP6_inuse");
    #[allow(missing_docs)]
    pub const SOCKSTAT_UDP6_INUSE: u16 = index("node_sockstat_UDP6_inuse");
    #[allow(missing_docs)]
    pub const SOCKSTAT_UDPLITE6_INUSE: u16 = index("node_sockstat_UDPLITE6_inuse");
    #[allow(missing_docs)]
    pub const SOCKSTAT_RAW6_INUSE: u16 = index("node_sockstat_RAW6_inuse");
    #[allow(missing_docs)]
    pub const SOCKSTAT_FRAG6_INUSE: u16 = index("node_sockstat_FRAG6_inuse");
    #[allow(missing_docs)]
    pub const SOCKSTAT_FRAG6_MEMORY: u16 = index("node_sockstat_FRAG6_memory");
    #[allow(missing_docs)]
    pub const NETSTAT_ICMP_IN_ERRORS: u16 = index("node_netstat_Icmp_InErrors");
    #[allow(missing_docs)]
    pub const NETSTAT_ICMP_IN_MSGS: u16 = index("node_netstat_Icmp_InMsgs");
    #[allow(missing_docs)]
    pub const NETSTAT_ICMP_OUT_MSGS: u16 = index("node_netstat_Icmp_OutMsgs");
    #[allow(missing_docs)]
    pub const NETSTAT_ICMP6_IN_ERRORS: u16 = index("node_netstat_Icmp6_InErrors");
    #[allow(missing_docs)]
    pub const NETSTAT_ICMP6_IN_MSGS: u16 = index("node_netstat_Icmp6_InMsgs");
    #[allow(missing_docs)]
    pub const NETSTAT_ICMP6_OUT_MSGS: u16 = index("node_netstat_Icmp6_OutMsgs");
    #[allow(missing_docs)]
    pub const NETSTAT_IP_FORWARDING: u16 = index("node_netstat_Ip_Forwarding");
    #[allow(missing_docs)]
    pub const NETSTAT_IP6_IN_OCTETS: u16 = index("node_netstat_Ip6_InOctets");
    #[allow(missing_docs)]
    pub const NETSTAT_IP6_OUT_OCTETS: u16 = index("node_netstat_Ip6_OutOctets");
    #[allow(missing_docs)]
    pub const NETSTAT_IP_EXT_IN_OCTETS: u16 = index("node_netstat_IpExt_InOctets");
    #[allow(missing_docs)]
    pub const NETSTAT_IP_EXT_OUT_OCTETS: u16 = index("node_netstat_IpExt_OutOctets");
    #[allow(missing_docs)]
    pub const NETSTAT_TCP_ACTIVE_OPENS: u16 = index("node_netstat_Tcp_ActiveOpens");
    #[allow(missing_docs)]
    pub const NETSTAT_TCP_CURR_ESTAB: u16 = index("node_netstat_Tcp_CurrEstab");
    #[allow(missing_docs)]
    pub const NETSTAT_TCP_IN_ERRS: u16 = index("node_netstat_Tcp_InErrs");
    #[allow(missing_docs)]
    pub const NETSTAT_TCP_IN_SEGS: u16 = index("node_netstat_Tcp_InSegs");
    #[allow(missing_docs)]
    pub const NETSTAT_TCP_OUT_RSTS: u16 = index("node_netstat_Tcp_OutRsts");
    #[allow(missing_docs)]
    pub const NETSTAT_TCP_OUT_SEGS: u16 = index("node_netstat_Tcp_OutSegs");
    #[allow(missing_docs)]
    pub const NETSTAT_TCP_PASSIVE_OPENS: u16 = index("node_netstat_Tcp_PassiveOpens");
    #[allow(missing_docs)]
    pub const NETSTAT_TCP_RETRANS_SEGS: u16 = index("node_netstat_Tcp_RetransSegs");
    #[allow(missing_docs)]
    pub const NETSTAT_TCP_EXT_LISTEN_DROPS: u16 = index("node_netstat_TcpExt_ListenDrops");
    #[allow(missing_docs)]
    pub const NETSTAT_TCP_EXT_LISTEN_OVERFLOWS: u16 = index("node_netstat_TcpExt_ListenOverflows");
    #[allow(missing_docs)]
    pub const NETSTAT_TCP_EXT_SYNCOOKIES_FAILED: u16 =
        index("node_netstat_TcpExt_SyncookiesFailed");
    #[allow(missing_docs)]
    pub const NETSTAT_TCP_EXT_SYNCOOKIES_RECV: u16 = index("node_netstat_TcpExt_SyncookiesRecv");
    #[allow(missing_docs)]
    pub const NETSTAT_TCP_EXT_SYNCOOKIES_SENT: u16 = index("node_netstat_TcpExt_SyncookiesSent");
    #[allow(missing_docs)]
    pub const NETSTAT_TCP_EXT_TCP_SYN_RETRANS: u16 = index("node_netstat_TcpExt_TCPSynRetrans");
    #[allow(missing_docs)]
    pub const NETSTAT_TCP_EXT_TCP_TIMEOUTS: u16 = index("node_netstat_TcpExt_TCPTimeouts");
    #[allow(missing_docs)]
    pub const NETSTAT_UDP_IN_DATAGRAMS: u16 = index("node_netstat_Udp_InDatagrams");
    #[allow(missing_docs)]
    pub const NETSTAT_UDP_IN_ERRORS: u16 = index("node_netstat_Udp_InErrors");
    #[allow(missing_docs)]
    pub const NETSTAT_UDP_NO_PORTS: u16 = index("node_netstat_Udp_NoPorts");
    #[allow(missing_docs)]
    pub const NETSTAT_UDP_OUT_DATAGRAMS: u16 = index("node_netstat_Udp_OutDatagrams");
    #[allow(missing_docs)]
    pub const NETSTAT_UDP_RCVBUF_ERRORS: u16 = index("node_netstat_Udp_RcvbufErrors");
    #[allow(missing_docs)]
    pub const NETSTAT_UDP_SNDBUF_ERRORS: u16 = index("node_netstat_Udp_SndbufErrors");
    #[allow(missing_docs)]
    pub const NETSTAT_UDP6_IN_DATAGRAMS: u16 = index("node_netstat_Udp6_InDatagrams");
    #[allow(missing_docs)]
    pub const NETSTAT_UDP6_IN_ERRORS: u16 = index("node_netstat_Udp6_InErrors");
    #[allow(missing_docs)]
    pub const NETSTAT_UDP6_NO_PORTS: u16 = index("node_netstat_Udp6_NoPorts");
    #[allow(missing_docs)]
    pub const NETSTAT_UDP6_OUT_DATAGRAMS: u16 = index("node_netstat_Udp6_OutDatagrams");
    #[allow(missing_docs)]
    pub const NETSTAT_UDP6_RCVBUF_ERRORS: u16 = index("node_netstat_Udp6_RcvbufErrors");
    #[allow(missing_docs)]
    pub const NETSTAT_UDP6_SNDBUF_ERRORS: u16 = index("node_netstat_Udp6_SndbufErrors");
    #[allow(missing_docs)]
    pub const NETSTAT_UDP_LITE_IN_ERRORS: u16 = index("node_netstat_UdpLite_InErrors");
    #[allow(missing_docs)]
    pub const NETSTAT_UDP_LITE6_IN_ERRORS: u16 = index("node_netstat_UdpLite6_InErrors");
    #[allow(missing_docs)]
    pub const CONNTRACK_ENTRIES: u16 = index("node_nf_conntrack_entries");
    #[allow(missing_docs)]
    pub const CONNTRACK_ENTRIES_LIMIT: u16 = index("node_nf_conntrack_entries_limit");
    #[allow(missing_docs)]
    pub const CONNTRACK_STAT_FOUND: u16 = index("node_nf_conntrack_stat_found");
    #[allow(missing_docs)]
    pub const CONNTRACK_STAT_INVALID: u16 = index("node_nf_conntrack_stat_invalid");
    #[allow(missing_docs)]
    pub const CONNTRACK_STAT_IGNORE: u16 = index("node_nf_conntrack_stat_ignore");
    #[allow(missing_docs)]
    pub const CONNTRACK_STAT_INSERT: u16 = index("node_nf_conntrack_stat_insert");
    #[allow(missing_docs)]
    pub const CONNTRACK_STAT_INSERT_FAILED: u16 = index("node_nf_conntrack_stat_insert_failed");
    #[allow(missing_docs)]
    pub const CONNTRACK_STAT_DROP: u16 = index("node_nf_conntrack_stat_drop");
    #[allow(missing_docs)]
    pub const CONNTRACK_STAT_EARLY_DROP: u16 = index("node_nf_conntrack_stat_early_drop");
    #[allow(missing_docs)]
    pub const CONNTRACK_STAT_SEARCH_RESTART: u16 = index("node_nf_conntrack_stat_search_restart");
    #[allow(missing_docs)]
    pub const TIME_ZONE_OFFSET: u16 = index("node_time_zone_offset_seconds");
    #[allow(missing_docs)]
    pub const CLOCKSOURCE_AVAILABLE: u16 = index("node_time_clocksource_available_info");
    #[allow(missing_docs)]
    pub const CLOCKSOURCE_CURRENT: u16 = index("node_time_clocksource_current_info");
    #[allow(missing_docs)]
    pub const PROCESS_CPU: u16 = index("process_cpu_seconds_total");
    #[allow(missing_docs)]
    pub const PROCESS_OPEN_FDS: u16 = index("process_open_fds");
    #[allow(missing_docs)]
    pub const PROCESS_MAX_FDS: u16 = index("process_max_fds");
    #[allow(missing_docs)]
    pub const PROCESS_VIRTUAL_MEMORY: u16 = index("process_virtual_memory_bytes");
    #[allow(missing_docs)]
    pub const PROCESS_VIRTUAL_MEMORY_MAX: u16 = index("process_virtual_memory_max_bytes");
    #[allow(missing_docs)]
    pub const PROCESS_RESIDENT_MEMORY: u16 = index("process_resident_memory_bytes");
    #[allow(missing_docs)]
    pub const PROCESS_START_TIME: u16 = index("process_start_time_seconds");
    #[allow(missing_docs)]
    pub const TIMEX_OFFSET: u16 = index("node_timex_offset_seconds");
    #[allow(missing_docs)]
    pub const TIMEX_FREQUENCY: u16 = index("node_timex_frequency_adjustment_ratio");
    #[allow(missing_docs)]
    pub const TIMEX_MAXERROR: u16 = index("node_timex_maxerror_seconds");
    #[allow(missing_docs)]
    pub const TIMEX_ESTIMATED_ERROR: u16 = index("node_timex_estimated_error_seconds");
    #[allow(missing_docs)]
    pub const TIMEX_STATUS: u16 = index("node_timex_status");
    #[allow(missing_docs)]
    pub const TIMEX_LOOP_TIME_CONSTANT: u16 = index("node_timex_loop_time_constant");
    #[allow(missing_docs)]
    pub const TIMEX_TICK: u16 = index("node_timex_tick_seconds");
    #[allow(missing_docs)]
    pub const TIMEX_PPS_FREQUENCY: u16 = index("node_timex_pps_frequency_hertz");
    #[allow(missing_docs)]
    pub const TIMEX_PPS_JITTER: u16 = index("node_timex_pps_jitter_seconds");
    #[allow(missing_docs)]
    pub const TIMEX_PPS_SHIFT: u16 = index("node_timex_pps_shift_seconds");
    #[allow(missing_docs)]
    pub const TIMEX_PPS_STABILITY: u16 = index("node_timex_pps_stability_hertz");
    #[allow(missing_docs)]
    pub const TIMEX_PPS_JITTER_TOTAL: u16 = index("node_timex_pps_jitter_total");
    #[allow(missing_docs)]
    pub const TIMEX_PPS_CALIBRATION: u16 = index("node_timex_pps_calibration_total");
    #[allow(missing_docs)]
    pub const TIMEX_PPS_ERROR: u16 = index("node_timex_pps_error_total");
    #[allow(missing_docs)]
    pub const TIMEX_PPS_STABILITY_EXCEEDED: u16 = index("node_timex_pps_stability_exceeded_total");
    #[allow(missing_docs)]
    pub const TIMEX_TAI_OFFSET: u16 = index("node_timex_tai_offset_seconds");
    #[allow(missing_docs)]
    pub const TIMEX_SYNC_STATUS: u16 = index("node_timex_sync_status");
    #[allow(missing_docs)]
    pub const INTR: u16 = index("node_intr_total");
    #[allow(missing_docs)]
    pub const CPU_GUEST: u16 = index("node_cpu_guest_seconds_total");
    #[allow(missing_docs)]
    pub const SOFTNET_PROCESSED: u16 = index("node_softnet_processed_total");
    #[allow(missing_docs)]
    pub const SOFTNET_DROPPED: u16 = index("node_softnet_dropped_total");
    #[allow(missing_docs)]
    pub const SOFTNET_TIMES_SQUEEZED: u16 = index("node_softnet_times_squeezed_total");
    #[allow(missing_docs)]
    pub const SCHEDSTAT_RUNNING: u16 = index("node_schedstat_running_seconds_total");
    #[allow(missing_docs)]
    pub const SCHEDSTAT_WAITING: u16 = index("node_schedstat_waiting_seconds_total");
    #[allow(missing_docs)]
    pub const SCHEDSTAT_TIMESLICES: u16 = index("node_schedstat_timeslices_total");
    #[allow(missing_docs)]
    pub const NET_RX_FIFO: u16 = index("node_network_receive_fifo_total");
    #[allow(missing_docs)]
    pub const NET_RX_FRAME: u16 = index("node_network_receive_frame_total");
    #[allow(missing_docs)]
    pub const NET_RX_COMPRESSED: u16 = index("node_network_receive_compressed_total");
    #[allow(missing_docs)]
    pub const NET_RX_MULTICAST: u16 = index("node_network_receive_multicast_total");
    #[allow(missing_docs)]
    pub const NET_RX_NOHANDLER: u16 = index("node_network_receive_nohandler_total");
    #[allow(missing_docs)]
    pub const NET_TX_FIFO: u16 = index("node_network_transmit_fifo_total");
    #[allow(missing_docs)]
    pub const NET_TX_COLLS: u16 = index("node_network_transmit_colls_total");
    #[allow(missing_docs)]
    pub const NET_TX_CARRIER: u16 = index("node_network_transmit_carrier_total");
    #[allow(missing_docs)]
    pub const NET_TX_COMPRESSED: u16 = index("node_network_transmit_compressed_total");
    #[allow(missing_docs)]
    pub const ARP_ENTRIES: u16 = index("node_arp_entries");
    #[allow(missing_docs)]
    pub const UDP_QUEUES: u16 = index("node_udp_queues");
    #[allow(missing_docs)]
    pub const SELINUX_ENABLED: u16 = index("node_selinux_enabled");
    #[allow(missing_docs)]
    pub const SELINUX_CONFIG_MODE: u16 = index("node_selinux_config_mode");
    #[allow(missing_docs)]
    pub const SELINUX_CURRENT_MODE: u16 = index("node_selinux_current_mode");
    #[allow(missing_docs)]
    pub const FS_DEVICE_ERROR: u16 = index("node_filesystem_device_error");
    #[allow(missing_docs)]
    pub const DISK_DISCARDS: u16 = index("node_disk_discards_completed_total");
    #[allow(missing_docs)]
    pub const DISK_DISCARDS_MERGED: u16 = index("node_disk_discards_merged_total");
    #[allow(missing_docs)]
    pub const DISK_DISCARDED_SECTORS: u16 = index("node_disk_discarded_sectors_total");
    #[allow(missing_docs)]
    pub const DISK_DISCARD_TIME: u16 = index("node_disk_discard_time_seconds_total");
    #[allow(missing_docs)]
    pub const DISK_FLUSHES: u16 = index("node_disk_flush_requests_total");
    #[allow(missing_docs)]
    pub const DISK_FLUSH_TIME: u16 = index("node_disk_flush_requests_time_seconds_total");
    #[allow(missing_docs)]
    pub const DISK_INFO: u16 = index("node_disk_info");
    #[allow(missing_docs)]
    pub const OS_INFO: u16 = index("node_os_info");
    #[allow(missing_docs)]
    pub const OS_VERSION: u16 = index("node_os_version");
    #[allow(missing_docs)]
    pub const NETCLASS_INFO: u16 = index("node_network_info");
    #[allow(missing_docs)]
    pub const NETCLASS_ADDRESS_ASSIGN_TYPE: u16 = index("node_network_address_assign_type");
    #[allow(missing_docs)]
    pub const NETCLASS_CARRIER: u16 = index("node_network_carrier");
    #[allow(missing_docs)]
    pub const NETCLASS_CARRIER_CHANGES: u16 = index("node_network_carrier_changes_total");
    #[allow(missing_docs)]
    pub const NETCLASS_CARRIER_UP_CHANGES: u16 = index("node_network_carrier_up_changes_total");
    #[allow(missing_docs)]
    pub const NETCLASS_CARRIER_DOWN_CHANGES: u16 = index("node_network_carrier_down_changes_total");
    #[allow(missing_docs)]
    pub const NETCLASS_DEVICE_ID: u16 = index("node_network_device_id");
    #[allow(missing_docs)]
    pub const NETCLASS_DORMANT: u16 = index("node_network_dormant");
    #[allow(missing_docs)]
    pub const NETCLASS_FLAGS: u16 = index("node_network_flags");
    #[allow(missing_docs)]
    pub const NETCLASS_IFACE_ID: u16 = index("node_network_iface_id");
    #[allow(missing_docs)]
    pub const NETCLASS_IFACE_LINK: u16 = index("node_network_iface_link");
    #[allow(missing_docs)]
    pub const NETCLASS_IFACE_LINK_MODE: u16 = index("node_network_iface_link_mode");
    #[allow(missing_docs)]
    pub const NETCLASS_MTU_BYTES: u16 = index("node_network_mtu_bytes");
    #[allow(missing_docs)]
    pub const NETCLASS_NAME_ASSIGN_TYPE: u16 = index("node_network_name_assign_type");
    #[allow(missing_docs)]
    pub const NETCLASS_NET_DEV_GROUP: u16 = index("node_network_net_dev_group");
    #[allow(missing_docs)]
    pub const NETCLASS_SPEED_BYTES: u16 = index("node_network_speed_bytes");
    #[allow(missing_docs)]
    pub const NETCLASS_TRANSMIT_QUEUE_LENGTH: u16 = index("node_network_transmit_queue_length");
    #[allow(missing_docs)]
    pub const NETCLASS_PROTOCOL_TYPE: u16 = index("node_network_protocol_type");
    #[allow(missing_docs)]
    pub const HWMON_CHIP_NAMES: u16 = index("node_hwmon_chip_names");
    #[allow(missing_docs)]
    pub const HWMON_SENSOR_LABEL: u16 = index("node_hwmon_sensor_label");
    #[allow(missing_docs)]
    pub const THERMAL_ZONE_TEMP: u16 = index("node_thermal_zone_temp");
    #[allow(missing_docs)]
    pub const COOLING_DEVICE_CUR_STATE: u16 = index("node_cooling_device_cur_state");
    #[allow(missing_docs)]
    pub const COOLING_DEVICE_MAX_STATE: u16 = index("node_cooling_device_max_state");
    #[allow(missing_docs)]
    pub const CPU_FREQUENCY: u16 = index("node_cpu_frequency_hertz");
    #[allow(missing_docs)]
    pub const CPU_FREQUENCY_MIN: u16 = index("node_cpu_frequency_min_hertz");
    #[allow(missing_docs)]
    pub const CPU_FREQUENCY_MAX: u16 = index("node_cpu_frequency_max_hertz");
    #[allow(missing_docs)]
    pub const CPU_SCALING_FREQUENCY: u16 = index("node_cpu_scaling_frequency_hertz");
    #[allow(missing_docs)]
    pub const CPU_SCALING_FREQUENCY_MIN: u16 = index("node_cpu_scaling_frequency_min_hertz");
    #[allow(missing_docs)]
    pub const CPU_SCALING_FREQUENCY_MAX: u16 = index("node_cpu_scaling_frequency_max_hertz");
    #[allow(missing_docs)]
    pub const TEXTFILE_MTIME: u16 = index("node_textfile_mtime_seconds");
    #[allow(missing_docs)]
    pub const TEXTFILE_SCRAPE_ERROR: u16 = index("node_textfile_scrape_error");
}

/// Where a sample's series go: the server's exposition builder, a v2 declaration and its
/// values, a test's list. [`Sample::series`](crate::sample::Sample::series) calls it for each
/// series in a fixed order.
pub trait Series {
    /// The series that follow are of a new section (the CPUs, the filesystems, ...).
    fn section(&mut self, _name: &str) {}
    /// A text that becomes a label of the series that follow, once per entry (a mount's
    /// device, type and mount point): a receiver that reuses labels while these stay the same
    /// hashes them, and nothing else of the labels.
    fn identity(&mut self, _part: &str) {}
    /// A family the agent describes itself (see [`custom`]), numbered `family`: the first
    /// handed over [`CUSTOM_BASE`](custom::CUSTOM_BASE), each next one the number after, each
    /// before its first series.
    fn custom(&mut self, _family: u16, _def: &custom::Custom<'_>) {}
    /// One series: its family's number, its label values in the family's order, its value.
    fn add(&mut self, family: u16, labels: &[&str], value: f64);
}

pub mod custom;
#[cfg(test)]
mod docs;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_names_and_labels_are_consistent() {
        assert!(FAMILIES.len() < usize::from(u16::MAX));
        for (i, fam) in FAMILIES.iter().enumerate() {
            assert_eq!(label_names(i as u16), Some(fam.labels));
            assert!(
                fam.name.starts_with("node_")
                    || fam.name.starts_with("vitals_")
                    || fam.name.starts_with("process_")
                    || fam.name == "up",
                "{}",
                fam.name
            );
            assert_eq!(
                fam.kind == Kind::Counter,
                fam.name.ends_with("_total"),
                "{}",
                fam.name
            );
            if !fam.unit.is_empty() {
                assert!(fam.name.contains(fam.unit), "{}", fam.name);
            }
            for other in &FAMILIES[..i] {
                assert_ne!(other.name, fam.name);
            }
        }
        assert_eq!(
            family(f::CPU).map(|f| f.name),
            Some("node_cpu_seconds_total")
        );
        assert!(family(FAMILIES.len() as u16).is_none());
    }
}
