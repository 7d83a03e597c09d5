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

/// The labels of a filesystem's series, after `instance`.
const FS: &[&str] = &["device", "fstype", "mountpoint"];
/// The labels of a network interface's or a disk's series, after `instance`.
const DEV: &[&str] = &["device"];

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
];

/// The label names of each family, by number, without the names and help texts: what a board
/// needs to declare its series, so that its flash holds no more of the table.
// Indexing runs at compile time, where a slip fails the build.
#[allow(clippy::indexing_slicing)]
pub static LABEL_NAMES: [&[&str]; FAMILIES.len()] = {
    let mut out: [&[&str]; FAMILIES.len()] = [&[]; FAMILIES.len()];
    let mut i = 0;
    while i < FAMILIES.len() {
        out[i] = FAMILIES[i].labels;
        i += 1;
    }
    out
};

/// The family numbered `id`.
pub fn family(id: u16) -> Option<&'static Family> {
    FAMILIES.get(usize::from(id))
}

/// Family numbers, found by name at compile time: a name that is not in the table does not
/// compile, so code and table cannot drift apart.
pub mod f {
    use super::FAMILIES;

    // Compile time only (see `index`): a slip fails the build.
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
            assert_eq!(LABEL_NAMES[i], fam.labels);
            assert!(
                fam.name.starts_with("node_")
                    || fam.name.starts_with("vitals_")
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
