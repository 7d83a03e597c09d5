//! node_exporter parity: vitals (server + agent) and node_exporter 1.5 (Debian's
//! `prometheus-node-exporter`) on the same machine at the same moment, compared series by series.
//!
//! The families compared are the catalogue's (`agent_core::catalogue::FAMILIES`): every `node_*`
//! family that the agent gives (in its samples, its hello or its samples' time). For each that
//! either exporter has on this machine: both must have it, with the catalogue's type and label
//! names (vitals adds `instance`), and the same series; values must match exactly where the
//! quantity is static and within the tolerance [`TOLERANCES`] gives it where it moves. A `node_*`
//! family vitals exposes that the catalogue does not list fails too. The test prints a table of
//! what matched and by how much, and fails on any mismatch.
//!
//! Every such family must have a tolerance: `every_node_family_has_a_tolerance` checks it without
//! node_exporter, so a row added to the catalogue without one fails `cargo test` at once.
//!
//! Both read the same textfile directory ([`TEXTFILES`]): its `node_textfile_*` families are
//! compared as the others, and the families of its files must be the same on both (type, help
//! text, series and values).
//!
//! It runs twice: with the agent on this host, and with the agent in its container image
//! reading the host under `/host` (`docker_agent_matches_node_exporter_on_its_host`), as
//! compose.yaml runs it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agent_core::catalogue::{FAMILIES, Family, Source};
use common::docker::{Container, Images, unique};
use common::readme::{listed, not_exported};
use common::{Proc, Server, agent_with, http_get, wait_for};

type Labels = BTreeMap<String, String>;

/// One exposition: family name → (type, help, series).
#[derive(Default)]
struct Exposition {
    types: BTreeMap<String, String>,
    helps: BTreeMap<String, String>,
    series: BTreeMap<String, Vec<(Labels, f64)>>,
}

/// The textfiles both exporters read: two files, one family in both (whose label names are
/// those of all its series), one in both of two types (the second file's left out), two
/// without a `HELP`.
const TEXTFILES: &[(&str, &str)] = &[
    (
        "backup.prom",
        "# HELP backup_age_seconds Seconds since the last good backup.\n\
         # TYPE backup_age_seconds gauge\n\
         backup_age_seconds{target=\"/home\"} 3600\n\
         # TYPE jobs_done_total counter\n\
         jobs_done_total{job_name=\"rsync \\\"nightly\\\"\"} 12\n",
    ),
    (
        "raid.prom",
        "raid_degraded{md=\"md0\"} 0\n\
         # HELP backup_age_seconds Seconds since the last good backup.\n\
         # TYPE backup_age_seconds gauge\n\
         backup_age_seconds{host=\"nas\",target=\"/srv\"} 60.5\n\
         jobs_done_total{job_name=\"other\"} 1\n",
    ),
];

/// The families of [`TEXTFILES`].
const TEXTFILE_FAMILIES: [&str; 3] = ["backup_age_seconds", "jobs_done_total", "raid_degraded"];

/// Parses the Prometheus text format (as both exporters write it).
fn parse(text: &str) -> Exposition {
    let mut e = Exposition::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            e.types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            e.helps.insert(name.to_owned(), help.to_owned());
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (name, mut rest) = match line.find(['{', ' ']) {
            Some(i) => (&line[..i], &line[i..]),
            None => continue,
        };
        let mut labels = Labels::new();
        if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices();
            let mut key = String::new();
            loop {
                let Some((i, c)) = chars.next() else {
                    panic!("unterminated labels: {line}")
                };
                match c {
                    '}' => {
                        rest = &body[i + 1..];
                        break;
                    }
                    ',' => {}
                    '=' => {
                        assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
                        let mut value = String::new();
                        while let Some((_, c)) = chars.next() {
                            match c {
                                '\\' => match chars.next().map(|(_, c)| c) {
                                    Some('n') => value.push('\n'),
                                    Some(other) => value.push(other),
                                    None => break,
                                },
                                '"' => break,
                                other => value.push(other),
                            }
                        }
                        labels.insert(std::mem::take(&mut key), value);
                    }
                    other => key.push(other),
                }
            }
        }
        let value: f64 = rest.trim().split(' ').next().unwrap().parse().unwrap();
        e.series
            .entry(name.to_owned())
            .or_default()
            .push((labels, value));
    }
    e
}

/// How far apart the two readings of one series may be.
#[derive(Clone, Copy)]
enum Tolerance {
    /// Static: the same number.
    Exact,
    /// Moves: |a - b| <= abs + rel * |b|.
    Within { abs: f64, rel: f64 },
}

impl Tolerance {
    fn allows(self, vitals: f64, node: f64) -> bool {
        match self {
            Tolerance::Exact => vitals == node,
            Tolerance::Within { abs, rel } => (vitals - node).abs() <= abs + rel * node.abs(),
        }
    }

    fn describe(self) -> String {
        match self {
            Tolerance::Exact => "exact".into(),
            Tolerance::Within { abs, rel: 0.0 } => format!("±{}", human(abs)),
            Tolerance::Within { abs, rel } => format!("±{} +{}%", human(abs), rel * 100.0),
        }
    }
}

fn human(v: f64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if v >= MIB {
        format!("{:.0}MiB", v / MIB)
    } else if v >= 1000.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

/// A family's tolerance as a function of the lag between the two readings, in seconds.
type ByLag = fn(f64) -> Tolerance;

fn within(abs: f64, rel: f64) -> Tolerance {
    Tolerance::Within { abs, rel }
}

/// How far apart vitals' and node_exporter's readings of each family may be, given `lag`: the
/// seconds between the agent reading the machine and node_exporter reading it. Each `node_*`
/// family of the catalogue that the agent gives is named here once, and nothing else.
const TOLERANCES: &[(&[&str], ByLag)] = &[
    // Static while the test runs.
    (
        &[
            "node_memory_MemTotal_bytes",
            "node_memory_SwapTotal_bytes",
            "node_boot_time_seconds",
            "node_uname_info",
            "node_filesystem_size_bytes",
            "node_filesystem_files",
            "node_filesystem_readonly",
            "node_network_up",
            "node_filefd_maximum",
            // An array's shape, and its sync on the scale of minutes (also compared on a
            // fixture, by `fixture_families_match_node_exporter_series_by_series`).
            "node_md_state",
            "node_md_disks",
            "node_md_disks_required",
            "node_md_blocks",
            "node_md_blocks_synced",
            "node_bonding_slaves",
            "node_bonding_active",
            "node_nvme_info",
            "node_memory_HighTotal_bytes",
            "node_memory_LowTotal_bytes",
            "node_memory_CommitLimit_bytes",
            "node_memory_VmallocTotal_bytes",
            "node_memory_EarlyMemtestBad_bytes",
            "node_memory_HardwareCorrupted_bytes",
            "node_memory_CmaTotal_bytes",
            "node_memory_HugePages_Total",
            "node_memory_Hugepagesize_bytes",
            "node_memory_Hugetlb_bytes",
            "node_entropy_pool_size_bits",
            "node_netstat_Ip_Forwarding",
            "node_nf_conntrack_entries_limit",
            "node_time_zone_offset_seconds",
            "node_time_clocksource_available_info",
            "node_time_clocksource_current_info",
            "node_selinux_enabled",
            "node_selinux_config_mode",
            "node_selinux_current_mode",
            "node_filesystem_device_error",
            "node_disk_info",
            "node_os_info",
            "node_os_version",
            "node_network_info",
            "node_network_address_assign_type",
            "node_network_carrier",
            "node_network_carrier_changes_total",
            "node_network_carrier_up_changes_total",
            "node_network_carrier_down_changes_total",
            "node_network_device_id",
            "node_network_dormant",
            "node_network_flags",
            "node_network_iface_id",
            "node_network_iface_link",
            "node_network_iface_link_mode",
            "node_network_mtu_bytes",
            "node_network_name_assign_type",
            "node_network_net_dev_group",
            "node_network_speed_bytes",
            "node_network_transmit_queue_length",
            "node_network_protocol_type",
            "node_textfile_mtime_seconds",
            "node_textfile_scrape_error",
        ],
        |_| Tolerance::Exact,
    ),
    // The clock's discipline as an NTP daemon left it: the kernel changes none of these by
    // itself. A daemon's clock update (once a poll, 32 s or more apart) may change them, the
    // estimated error among them, between the two readings; no bound would hold then. The PPS
    // values stay 0 without a PPS signal, and this machine has none to measure them by.
    (
        &[
            "node_timex_estimated_error_seconds",
            "node_timex_status",
            "node_timex_loop_time_constant",
            "node_timex_pps_frequency_hertz",
            "node_timex_pps_jitter_seconds",
            "node_timex_pps_shift_seconds",
            "node_timex_pps_stability_hertz",
            "node_timex_tai_offset_seconds",
            "node_timex_sync_status",
        ],
        |_| Tolerance::Exact,
    ),
    // The offset still to correct: each second the kernel slews away at most a quarter of it
    // (SHIFT_PLL), so with n seconds begun between the readings, the later is at least (3/4)^n
    // of the earlier, which is then at most (4/3)^n - 1 times the later away from it.
    (&["node_timex_offset_seconds"], |lag| {
        within(0.000_001, (4.0f64 / 3.0).powf(lag.floor() + 1.0) - 1.0)
    }),
    // The kernel adds 500 µs to the maximum error each second, up to 16 s; twice that here.
    (&["node_timex_maxerror_seconds"], |lag| {
        within(0.001 * (lag.floor() + 1.0), 0.0)
    }),
    // The kernel holds the frequency correction within ±500 ppm.
    (&["node_timex_frequency_adjustment_ratio"], |_| {
        within(0.001, 0.0)
    }),
    // chrony slews a large offset with the tick too, by up to a tenth of it either way.
    (&["node_timex_tick_seconds"], |_| within(0.0, 0.25)),
    // A PPS event at most each pulse, a pulse a second.
    (
        &[
            "node_timex_pps_jitter_total",
            "node_timex_pps_calibration_total",
            "node_timex_pps_error_total",
            "node_timex_pps_stability_exceeded_total",
        ],
        |lag| within(lag.floor() + 1.0, 0.0),
    ),
    // 256 bits, static, since Linux 5.18; before, the kernel credited and drew entropy all the
    // time, within its pool of 4096 bits.
    (&["node_entropy_available_bits"], |_| within(4096.0, 0.0)),
    // Memory errors come rarely, but in bursts: a failing DIMM can log hundreds a second.
    (
        &[
            "node_edac_correctable_errors_total",
            "node_edac_uncorrectable_errors_total",
            "node_edac_csrow_correctable_errors_total",
            "node_edac_csrow_uncorrectable_errors_total",
        ],
        |lag| within(1000.0 * (lag + 1.0), 0.0),
    ),
    // Joules: a server's CPU package draws a few hundred watts at most, its whole platform
    // (psys) a kilowatt.
    (
        &[
            "node_rapl_core_joules_total",
            "node_rapl_dram_joules_total",
            "node_rapl_package_joules_total",
            "node_rapl_psys_joules_total",
            "node_rapl_uncore_joules_total",
        ],
        |lag| within(1000.0 * (lag + 0.05), 0.0),
    ),
    // A supply's design, limits and settings, and its texts: static while the test runs.
    (
        &[
            "node_power_supply_authentic",
            "node_power_supply_calibrate",
            "node_power_supply_capacity_alert_max",
            "node_power_supply_capacity_alert_min",
            "node_power_supply_cyclecount",
            "node_power_supply_present",
            "node_power_supply_online",
            "node_power_supply_energy_empty",
            "node_power_supply_energy_empty_design",
            "node_power_supply_energy_full",
            "node_power_supply_energy_full_design",
            "node_power_supply_charge_empty",
            "node_power_supply_charge_empty_design",
            "node_power_supply_charge_full",
            "node_power_supply_charge_full_design",
            "node_power_supply_voltage_boot",
            "node_power_supply_voltage_max",
            "node_power_supply_voltage_max_design",
            "node_power_supply_voltage_min",
            "node_power_supply_voltage_min_design",
            "node_power_supply_current_boot",
            "node_power_supply_current_max",
            "node_power_supply_charge_control_limit",
            "node_power_supply_charge_control_limit_max",
            "node_power_supply_charge_term_current",
            "node_power_supply_constant_charge_current",
            "node_power_supply_constant_charge_current_max",
            "node_power_supply_constant_charge_voltage",
            "node_power_supply_constant_charge_voltage_max",
            "node_power_supply_precharge_current",
            "node_power_supply_input_current_limit",
            "node_power_supply_temp_alert_max_celsius",
            "node_power_supply_temp_alert_min_celsius",
            "node_power_supply_temp_ambient_max_celsius",
            "node_power_supply_temp_ambient_min_celsius",
            "node_power_supply_temp_max_celsius",
            "node_power_supply_temp_min_celsius",
            "node_power_supply_info",
            "node_dmi_info",
        ],
        |_| Tolerance::Exact,
    ),
    // A battery's charge: a laptop draws it down by a percent in a minute or so.
    (&["node_power_supply_capacity"], |lag| {
        within(1.0 + lag / 30.0, 0.0)
    }),
    (
        &[
            "node_power_supply_energy_watthour",
            "node_power_supply_charge_ampere",
            "node_power_supply_charge_counter",
        ],
        |lag| within(0.05 * (lag + 1.0), 0.01),
    ),
    // What the load draws now moves from one moment to the next.
    (
        &[
            "node_power_supply_current_ampere",
            "node_power_supply_power_watt",
        ],
        |_| within(5.0, 0.5),
    ),
    (
        &[
            "node_power_supply_voltage_volt",
            "node_power_supply_voltage_ocv",
        ],
        |_| within(0.5, 0.05),
    ),
    (
        &[
            "node_power_supply_temp_celsius",
            "node_power_supply_temp_ambient_celsius",
        ],
        |_| within(2.0, 0.0),
    ),
    // The firmware's estimates jump with the load.
    (
        &[
            "node_power_supply_time_to_empty_seconds",
            "node_power_supply_time_to_full_seconds",
        ],
        |_| within(600.0, 0.5),
    ),
    // An XFS filesystem counts each operation on it, up to millions a second on a busy one.
    (
        &[
            "node_xfs_extent_allocation_extents_allocated_total",
            "node_xfs_extent_allocation_blocks_allocated_total",
            "node_xfs_extent_allocation_extents_freed_total",
            "node_xfs_extent_allocation_blocks_freed_total",
            "node_xfs_allocation_btree_lookups_total",
            "node_xfs_allocation_btree_compares_total",
            "node_xfs_allocation_btree_records_inserted_total",
            "node_xfs_allocation_btree_records_deleted_total",
            "node_xfs_block_mapping_reads_total",
            "node_xfs_block_mapping_writes_total",
            "node_xfs_block_mapping_unmaps_total",
            "node_xfs_block_mapping_extent_list_insertions_total",
            "node_xfs_block_mapping_extent_list_deletions_total",
            "node_xfs_block_mapping_extent_list_lookups_total",
            "node_xfs_block_mapping_extent_list_compares_total",
            "node_xfs_block_map_btree_lookups_total",
            "node_xfs_block_map_btree_compares_total",
            "node_xfs_block_map_btree_records_inserted_total",
            "node_xfs_block_map_btree_records_deleted_total",
            "node_xfs_directory_operation_lookup_total",
            "node_xfs_directory_operation_create_total",
            "node_xfs_directory_operation_remove_total",
            "node_xfs_directory_operation_getdents_total",
            "node_xfs_inode_operation_attempts_total",
            "node_xfs_inode_operation_found_total",
            "node_xfs_inode_operation_recycled_total",
            "node_xfs_inode_operation_missed_total",
            "node_xfs_inode_operation_duplicates_total",
            "node_xfs_inode_operation_reclaims_total",
            "node_xfs_inode_operation_attribute_changes_total",
            "node_xfs_read_calls_total",
            "node_xfs_write_calls_total",
            "node_xfs_vnode_active_total",
            "node_xfs_vnode_allocate_total",
            "node_xfs_vnode_get_total",
            "node_xfs_vnode_hold_total",
            "node_xfs_vnode_release_total",
            "node_xfs_vnode_reclaim_total",
            "node_xfs_vnode_remove_total",
        ],
        |lag| within(1e6 * (lag + 0.05), 0.01),
    ),
    // An NFS client's traffic: thousands of calls a second on a busy one.
    (
        &[
            "node_nfs_packets_total",
            "node_nfs_connections_total",
            "node_nfs_rpcs_total",
            "node_nfs_rpc_retransmissions_total",
            "node_nfs_rpc_authentication_refreshes_total",
            "node_nfs_requests_total",
        ],
        |lag| within(10_000.0 * (lag + 0.05), 0.01),
    ),
    // Every process opening or closing a file between the two readings.
    (&["node_filefd_allocated"], |_| within(500.0, 0.0)),
    // A CPU spends at most one second per second in a mode; pressure likewise.
    (
        &[
            "node_cpu_seconds_total",
            "node_cpu_guest_seconds_total",
            "node_schedstat_running_seconds_total",
            "node_pressure_cpu_waiting_seconds_total",
            "node_pressure_memory_waiting_seconds_total",
            "node_pressure_memory_stalled_seconds_total",
            "node_pressure_io_waiting_seconds_total",
            "node_pressure_io_stalled_seconds_total",
        ],
        |lag| within(lag + 0.05, 0.0),
    ),
    (&["node_time_seconds"], |lag| within(lag + 0.5, 0.0)),
    // Disk time grows with every I/O in flight.
    (
        &[
            "node_disk_io_time_weighted_seconds_total",
            "node_disk_read_time_seconds_total",
            "node_disk_write_time_seconds_total",
            "node_disk_discard_time_seconds_total",
            "node_disk_flush_requests_time_seconds_total",
        ],
        |lag| within(8.0 * (lag + 0.05), 0.01),
    ),
    (&["node_disk_io_time_seconds_total"], |lag| {
        within(lag + 0.05, 0.0)
    }),
    // The I/Os in flight this instant: under load, two readings a moment apart differ by a whole
    // device queue.
    (&["node_disk_io_now"], |_| within(256.0, 0.0)),
    (
        &[
            "node_disk_read_bytes_total",
            "node_disk_written_bytes_total",
        ],
        |_| within(64.0 * MIB, 0.01),
    ),
    (
        &[
            "node_disk_reads_completed_total",
            "node_disk_reads_merged_total",
            "node_disk_writes_completed_total",
            "node_disk_writes_merged_total",
            "node_disk_discards_completed_total",
            "node_disk_discards_merged_total",
            "node_disk_flush_requests_total",
        ],
        |_| within(5000.0, 0.01),
    ),
    // The bytes' bound above, in the sectors of 512 bytes discards are counted in.
    (&["node_disk_discarded_sectors_total"], |_| {
        within(64.0 * MIB / 512.0, 0.01)
    }),
    // Loopback carries the test's own scrapes.
    (
        &[
            "node_network_receive_bytes_total",
            "node_network_transmit_bytes_total",
        ],
        |_| within(16.0 * MIB, 0.01),
    ),
    // The packets, and those each CPU's softirq processed (loopback's among them).
    (
        &[
            "node_network_receive_packets_total",
            "node_network_receive_errs_total",
            "node_network_receive_drop_total",
            "node_network_transmit_packets_total",
            "node_network_transmit_errs_total",
            "node_network_transmit_drop_total",
            "node_softnet_processed_total",
            "node_softnet_dropped_total",
            "node_softnet_times_squeezed_total",
            "node_network_receive_fifo_total",
            "node_network_receive_frame_total",
            "node_network_receive_compressed_total",
            "node_network_receive_multicast_total",
            "node_network_receive_nohandler_total",
            "node_network_transmit_fifo_total",
            "node_network_transmit_colls_total",
            "node_network_transmit_carrier_total",
            "node_network_transmit_compressed_total",
        ],
        |_| within(20_000.0, 0.01),
    ),
    // Memory moves with what every process allocates, maps and writes between the two
    // readings: on a busy machine fast (up to 2.2 GiB a second in 0.1 s steps of AnonPages and
    // Committed_AS, with two cargo builds beside), and the direct map's shares when the kernel
    // splits a large page of it.
    (
        &[
            "node_memory_MemFree_bytes",
            "node_memory_MemAvailable_bytes",
            "node_memory_Buffers_bytes",
            "node_memory_Cached_bytes",
            "node_memory_SwapFree_bytes",
            "node_memory_SwapCached_bytes",
            "node_memory_Active_bytes",
            "node_memory_Inactive_bytes",
            "node_memory_Active_anon_bytes",
            "node_memory_Inactive_anon_bytes",
            "node_memory_Active_file_bytes",
            "node_memory_Inactive_file_bytes",
            "node_memory_Unevictable_bytes",
            "node_memory_Mlocked_bytes",
            "node_memory_HighFree_bytes",
            "node_memory_LowFree_bytes",
            "node_memory_MmapCopy_bytes",
            "node_memory_Zswap_bytes",
            "node_memory_Zswapped_bytes",
            "node_memory_Dirty_bytes",
            "node_memory_Writeback_bytes",
            "node_memory_AnonPages_bytes",
            "node_memory_Mapped_bytes",
            "node_memory_Shmem_bytes",
            "node_memory_KReclaimable_bytes",
            "node_memory_Slab_bytes",
            "node_memory_SReclaimable_bytes",
            "node_memory_SUnreclaim_bytes",
            "node_memory_KernelStack_bytes",
            "node_memory_ShadowCallStack_bytes",
            "node_memory_PageTables_bytes",
            "node_memory_SecPageTables_bytes",
            "node_memory_Quicklists_bytes",
            "node_memory_NFS_Unstable_bytes",
            "node_memory_Bounce_bytes",
            "node_memory_WritebackTmp_bytes",
            "node_memory_Committed_AS_bytes",
            "node_memory_VmallocUsed_bytes",
            "node_memory_VmallocChunk_bytes",
            "node_memory_Percpu_bytes",
            "node_memory_AnonHugePages_bytes",
            "node_memory_ShmemHugePages_bytes",
            "node_memory_ShmemPmdMapped_bytes",
            "node_memory_FileHugePages_bytes",
            "node_memory_FilePmdMapped_bytes",
            "node_memory_CmaFree_bytes",
            "node_memory_Unaccepted_bytes",
            "node_memory_Balloon_bytes",
            "node_memory_DirectMap4k_bytes",
            "node_memory_DirectMap64k_bytes",
            "node_memory_DirectMap1M_bytes",
            "node_memory_DirectMap2M_bytes",
            "node_memory_DirectMap4M_bytes",
            "node_memory_DirectMap1G_bytes",
            "node_memory_DirectMap2G_bytes",
        ],
        |lag| within(64.0 * MIB + 3.0 * GIB * lag, 0.01),
    ),
    // Huge pages that processes take or give back between the two readings.
    (
        &[
            "node_memory_HugePages_Free",
            "node_memory_HugePages_Rsvd",
            "node_memory_HugePages_Surp",
        ],
        |_| within(64.0, 0.0),
    ),
    (
        &["node_filesystem_free_bytes", "node_filesystem_avail_bytes"],
        |_| within(64.0 * MIB, 0.0),
    ),
    (&["node_filesystem_files_free"], |_| within(10_000.0, 0.0)),
    (&["node_load1", "node_load5", "node_load15"], |_| {
        within(0.5, 0.0)
    }),
    (&["node_context_switches_total"], |lag| {
        within(200_000.0 * (lag + 0.1), 0.0)
    }),
    (&["node_forks_total"], |lag| {
        within(2000.0 * (lag + 0.1), 0.0)
    }),
    // Every device's interrupts between the two readings: up to 1 740 a second here in 0.1 s
    // steps, tens of thousands where a disk or a network card is busy.
    (&["node_intr_total"], |lag| {
        within(100_000.0 * (lag + 0.1), 0.0)
    }),
    // Each task waiting for a CPU adds a second per second to its wait, and each that runs a
    // timeslice: as many as the context switches.
    (&["node_schedstat_waiting_seconds_total"], |lag| {
        within(16.0 * (lag + 0.05), 0.0)
    }),
    (&["node_schedstat_timeslices_total"], |lag| {
        within(200_000.0 * (lag + 0.1), 0.0)
    }),
    (&["node_procs_running", "node_procs_blocked"], |_| {
        within(16.0, 0.0)
    }),
    (&["node_hwmon_temp_celsius"], |_| within(2.0, 0.0)),
    // KiB paged in and out, and pages swapped: what the disk moves between the two readings (up
    // to 509 MiB a second of pgpgout in 0.1 s steps here, with cargo builds beside).
    (&["node_vmstat_pgpgin", "node_vmstat_pgpgout"], |lag| {
        within(64.0 * 1024.0 + 1024.0 * 1024.0 * lag, 0.01)
    }),
    (&["node_vmstat_pswpin", "node_vmstat_pswpout"], |lag| {
        within(16_384.0 + 262_144.0 * lag, 0.01)
    }),
    // A fault a 4 KiB page a process touches first: 2.2 GiB a second of new memory (see the
    // meminfo families above) is about 600 000 of them; a major fault waits for the disk.
    (&["node_vmstat_pgfault"], |lag| {
        within(600_000.0 * (lag + 0.1), 0.0)
    }),
    (&["node_vmstat_pgmajfault"], |lag| {
        within(2000.0 * (lag + 0.1), 0.0)
    }),
    // At most one OOM kill in the moment between the two readings.
    (&["node_vmstat_oom_kill"], |_| within(1.0, 0.0)),
    // Sockets every process opens and closes between the two readings, the test's own scrapes
    // among them: up to 11 in 0.1 s steps here, with the server's tests running beside.
    (
        &[
            "node_sockstat_sockets_used",
            "node_sockstat_TCP_inuse",
            "node_sockstat_TCP_orphan",
            "node_sockstat_TCP_alloc",
            "node_sockstat_UDP_inuse",
            "node_sockstat_UDPLITE_inuse",
            "node_sockstat_RAW_inuse",
            "node_sockstat_FRAG_inuse",
            "node_sockstat_TCP6_inuse",
            "node_sockstat_UDP6_inuse",
            "node_sockstat_UDPLITE6_inuse",
            "node_sockstat_RAW6_inuse",
            "node_sockstat_FRAG6_inuse",
        ],
        |lag| within(64.0 + 1000.0 * lag, 0.0),
    ),
    // Connections in TIME_WAIT leave it a minute after they closed: an earlier test's thousands
    // of connections (up to the open-file limit, 20,000) leave within a second or two of each
    // other. A clean-clone `make test` saw 6,420 and then 6,849 0.26 s apart.
    (&["node_sockstat_TCP_tw"], |lag| {
        within(64.0 + 20_000.0 * lag, 0.0)
    }),
    // Their buffers, in pages: TCP's moved up to 266 pages in 0.1 s steps then. In bytes, at
    // this machine's 4 KiB pages, and the fragments being reassembled.
    (&["node_sockstat_TCP_mem", "node_sockstat_UDP_mem"], |lag| {
        within(256.0 + 4000.0 * lag, 0.0)
    }),
    (
        &[
            "node_sockstat_TCP_mem_bytes",
            "node_sockstat_UDP_mem_bytes",
            "node_sockstat_FRAG_memory",
            "node_sockstat_FRAG6_memory",
        ],
        |lag| within(4096.0 * (256.0 + 4000.0 * lag), 0.0),
    ),
    // The kernel's protocol counters: loopback carries the test's own scrapes and connections.
    (
        &[
            "node_netstat_IpExt_InOctets",
            "node_netstat_IpExt_OutOctets",
            "node_netstat_Ip6_InOctets",
            "node_netstat_Ip6_OutOctets",
        ],
        |_| within(16.0 * MIB, 0.01),
    ),
    (
        &[
            "node_netstat_Icmp_InErrors",
            "node_netstat_Icmp_InMsgs",
            "node_netstat_Icmp_OutMsgs",
            "node_netstat_Icmp6_InErrors",
            "node_netstat_Icmp6_InMsgs",
            "node_netstat_Icmp6_OutMsgs",
            "node_netstat_Tcp_ActiveOpens",
            "node_netstat_Tcp_InErrs",
            "node_netstat_Tcp_InSegs",
            "node_netstat_Tcp_OutRsts",
            "node_netstat_Tcp_OutSegs",
            "node_netstat_Tcp_PassiveOpens",
            "node_netstat_Tcp_RetransSegs",
            "node_netstat_TcpExt_ListenDrops",
            "node_netstat_TcpExt_ListenOverflows",
            "node_netstat_TcpExt_SyncookiesFailed",
            "node_netstat_TcpExt_SyncookiesRecv",
            "node_netstat_TcpExt_SyncookiesSent",
            "node_netstat_TcpExt_TCPSynRetrans",
            "node_netstat_TcpExt_TCPTimeouts",
            "node_netstat_Udp_InDatagrams",
            "node_netstat_Udp_InErrors",
            "node_netstat_Udp_NoPorts",
            "node_netstat_Udp_OutDatagrams",
            "node_netstat_Udp_RcvbufErrors",
            "node_netstat_Udp_SndbufErrors",
            "node_netstat_Udp6_InDatagrams",
            "node_netstat_Udp6_InErrors",
            "node_netstat_Udp6_NoPorts",
            "node_netstat_Udp6_OutDatagrams",
            "node_netstat_Udp6_RcvbufErrors",
            "node_netstat_Udp6_SndbufErrors",
            "node_netstat_UdpLite_InErrors",
            "node_netstat_UdpLite6_InErrors",
        ],
        |_| within(20_000.0, 0.01),
    ),
    // Neighbours the kernel adds, or forgets when they go stale, between the two readings.
    (&["node_arp_entries"], |_| within(16.0, 0.0)),
    // Bytes waiting in UDP sockets this instant: a datagram that arrives or is read between the
    // two readings moves them by its buffer's size, up to a socket's whole receive buffer
    // (net.core.rmem_max, 208 KiB by default) when a reader falls behind.
    (&["node_udp_queues"], |_| within(4.0 * MIB, 0.0)),
    // TCP connections open this instant: the test's own come and go between the readings.
    (&["node_netstat_Tcp_CurrEstab"], |_| within(256.0, 0.0)),
    // Connections tracked this instant, and the tracker's lookups and inserts: the test's own
    // connections move them.
    (&["node_nf_conntrack_entries"], |_| within(1000.0, 0.0)),
    (
        &[
            "node_nf_conntrack_stat_found",
            "node_nf_conntrack_stat_invalid",
            "node_nf_conntrack_stat_ignore",
            "node_nf_conntrack_stat_insert",
            "node_nf_conntrack_stat_insert_failed",
            "node_nf_conntrack_stat_drop",
            "node_nf_conntrack_stat_early_drop",
            "node_nf_conntrack_stat_search_restart",
        ],
        |_| within(20_000.0, 0.01),
    ),
    // The hwmon chips' names, labels and limits, the cooling devices' ranges and the CPUs'
    // frequency limits: static while the test runs.
    (
        &[
            "node_hwmon_chip_names",
            "node_hwmon_sensor_label",
            "node_hwmon_beep_enabled",
            "node_hwmon_voltage_regulator_version",
            "node_hwmon_update_interval_seconds",
            "node_hwmon_temp_max_celsius",
            "node_hwmon_temp_min_celsius",
            "node_hwmon_temp_max_hyst_celsius",
            "node_hwmon_temp_min_hyst_celsius",
            "node_hwmon_temp_crit_celsius",
            "node_hwmon_temp_crit_hyst_celsius",
            "node_hwmon_temp_emergency_celsius",
            "node_hwmon_temp_emergency_hyst_celsius",
            "node_hwmon_temp_lcrit_celsius",
            "node_hwmon_temp_lcrit_hyst_celsius",
            "node_hwmon_temp_offset_celsius",
            "node_hwmon_temp_rated_min_celsius",
            "node_hwmon_temp_rated_max_celsius",
            "node_hwmon_temp_enable_celsius",
            "node_hwmon_temp_beep_enabled",
            "node_hwmon_temp_type",
            "node_hwmon_in_min_volts",
            "node_hwmon_in_max_volts",
            "node_hwmon_in_lcrit_volts",
            "node_hwmon_in_crit_volts",
            "node_hwmon_in_rated_min_volts",
            "node_hwmon_in_rated_max_volts",
            "node_hwmon_in_enable_volts",
            "node_hwmon_in_beep_enabled",
            "node_hwmon_cpu_vid_volts",
            "node_hwmon_curr_min_amps",
            "node_hwmon_curr_max_amps",
            "node_hwmon_curr_lcrit_amps",
            "node_hwmon_curr_crit_amps",
            "node_hwmon_curr_rated_min_amps",
            "node_hwmon_curr_rated_max_amps",
            "node_hwmon_curr_enable_amps",
            "node_hwmon_curr_beep_enabled",
            "node_hwmon_power_average_max_watt",
            "node_hwmon_power_average_min_watt",
            "node_hwmon_power_cap_watt",
            "node_hwmon_power_cap_hyst_watt",
            "node_hwmon_power_cap_max_watt",
            "node_hwmon_power_cap_min_watt",
            "node_hwmon_power_min_watt",
            "node_hwmon_power_max_watt",
            "node_hwmon_power_lcrit_watt",
            "node_hwmon_power_crit_watt",
            "node_hwmon_power_rated_min_watt",
            "node_hwmon_power_rated_max_watt",
            "node_hwmon_power_enable_watt",
            "node_hwmon_power_interval_max_watt",
            "node_hwmon_power_interval_min_watt",
            "node_hwmon_power_average_interval_seconds",
            "node_hwmon_power_average_interval_min_seconds",
            "node_hwmon_power_average_interval_max_seconds",
            "node_hwmon_power_accuracy",
            "node_hwmon_energy_enable_joule_total",
            "node_hwmon_humidity_enable",
            "node_hwmon_humidity_min",
            "node_hwmon_humidity_min_hyst",
            "node_hwmon_humidity_max",
            "node_hwmon_humidity_max_hyst",
            "node_hwmon_humidity_rated_min",
            "node_hwmon_humidity_rated_max",
            "node_hwmon_fan_min_rpm",
            "node_hwmon_fan_max_rpm",
            "node_hwmon_fan_div",
            "node_hwmon_fan_pulses",
            "node_hwmon_fan_enable",
            "node_hwmon_fan_beep_enabled",
            "node_hwmon_pwm_enable",
            "node_hwmon_pwm_mode",
            "node_hwmon_pwm_freq",
            "node_hwmon_pwm_auto_channels_temp",
            "node_hwmon_intrusion_beep_enabled",
            "node_cooling_device_max_state",
            "node_cpu_frequency_min_hertz",
            "node_cpu_frequency_max_hertz",
            "node_cpu_scaling_frequency_min_hertz",
            "node_cpu_scaling_frequency_max_hertz",
        ],
        |_| Tolerance::Exact,
    ),
    // A sensor's alarms and faults may go on or off between the two readings (an `_alarm` in
    // volts or degrees is 0 or 0.001).
    (
        &[
            "node_hwmon_temp_min_alarm_celsius",
            "node_hwmon_temp_max_alarm_celsius",
            "node_hwmon_temp_crit_alarm_celsius",
            "node_hwmon_temp_emergency_alarm_celsius",
            "node_hwmon_temp_lcrit_alarm_celsius",
            "node_hwmon_temp_alarm",
            "node_hwmon_temp_fault",
            "node_hwmon_in_min_alarm_volts",
            "node_hwmon_in_max_alarm_volts",
            "node_hwmon_in_lcrit_alarm_volts",
            "node_hwmon_in_crit_alarm_volts",
            "node_hwmon_in_alarm",
            "node_hwmon_in_fault",
            "node_hwmon_curr_min_alarm_amps",
            "node_hwmon_curr_max_alarm_amps",
            "node_hwmon_curr_lcrit_alarm_amps",
            "node_hwmon_curr_crit_alarm_amps",
            "node_hwmon_curr_alarm",
            "node_hwmon_power_cap_alarm_watt",
            "node_hwmon_power_min_alarm_watt",
            "node_hwmon_power_max_alarm_watt",
            "node_hwmon_power_lcrit_alarm_watt",
            "node_hwmon_power_crit_alarm_watt",
            "node_hwmon_power_alarm",
            "node_hwmon_humidity_alarm",
            "node_hwmon_humidity_fault",
            "node_hwmon_fan_min_alarm",
            "node_hwmon_fan_max_alarm",
            "node_hwmon_fan_alarm",
            "node_hwmon_fan_fault",
            "node_hwmon_intrusion_alarm",
        ],
        |_| within(1.0, 0.0),
    ),
    // Temperatures, as node_hwmon_temp_celsius above (a thermal zone is often a hwmon chip too).
    (
        &[
            "node_hwmon_temp_lowest_celsius",
            "node_hwmon_temp_highest_celsius",
            "node_thermal_zone_temp",
        ],
        |_| within(2.0, 0.0),
    ),
    // Voltages, currents and power move with the load between the two readings.
    (
        &[
            "node_hwmon_in_volts",
            "node_hwmon_in_average_volts",
            "node_hwmon_in_lowest_volts",
            "node_hwmon_in_highest_volts",
        ],
        |_| within(0.1, 0.05),
    ),
    (
        &[
            "node_hwmon_curr_amps",
            "node_hwmon_curr_average_amps",
            "node_hwmon_curr_lowest_amps",
            "node_hwmon_curr_highest_amps",
        ],
        |_| within(1.0, 0.2),
    ),
    (
        &[
            "node_hwmon_power_watt",
            "node_hwmon_power_average_watt",
            "node_hwmon_power_average_highest_watt",
            "node_hwmon_power_average_lowest_watt",
            "node_hwmon_power_input_highest_watt",
            "node_hwmon_power_input_lowest_watt",
        ],
        |_| within(20.0, 0.5),
    ),
    // Joules a machine drawing 200 W uses between the two readings.
    (&["node_hwmon_energy_joule_total"], |lag| {
        within(200.0 * (lag + 0.1), 0.0)
    }),
    // node_exporter's humidity is the percentage divided by a thousand: within 5 %.
    (&["node_hwmon_humidity"], |_| within(0.005, 0.0)),
    // Fans speed up and slow down, and their controllers' duty cycles with them.
    (&["node_hwmon_fan_rpm", "node_hwmon_fan_target_rpm"], |_| {
        within(300.0, 0.1)
    }),
    (&["node_hwmon_pwm"], |_| within(64.0, 0.0)),
    // A cooling device's throttle state may cross its whole range between the two readings.
    (&["node_cooling_device_cur_state"], |_| within(64.0, 0.0)),
    // A CPU changes its frequency in milliseconds: any two readings within its range.
    (
        &[
            "node_cpu_frequency_hertz",
            "node_cpu_scaling_frequency_hertz",
        ],
        |_| within(6e9, 0.0),
    ),
];

/// The tolerance of `family` given `lag`, if [`TOLERANCES`] names it.
fn tolerance(family: &str, lag: f64) -> Option<Tolerance> {
    TOLERANCES
        .iter()
        .find(|(names, _)| names.contains(&family))
        .map(|(_, tolerance)| tolerance(lag))
}

/// The families compared: the catalogue's `node_*` families that the agent gives. node_exporter
/// has each; the server's own (`vitals_*`) it has not.
fn node_families() -> impl Iterator<Item = &'static Family> {
    FAMILIES
        .iter()
        .filter(|f| f.name.starts_with("node_") && f.source != Source::Server)
}

#[test]
fn every_node_family_has_a_tolerance() {
    let mut wrong = Vec::new();
    for family in node_families() {
        if tolerance(family.name, 0.0).is_none() {
            wrong.push(format!(
                "{}: a node_* family of the catalogue with no tolerance",
                family.name
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for name in TOLERANCES.iter().flat_map(|(names, _)| names.iter()) {
        if !seen.insert(name) {
            wrong.push(format!("{name}: named twice"));
        }
        if !node_families().any(|f| f.name == *name) {
            wrong.push(format!("{name}: not a node_* family of the catalogue"));
        }
    }
    assert!(
        wrong.is_empty(),
        "TOLERANCES in server/tests/parity.rs and the catalogue differ; give each node_* family \
         how far vitals and node_exporter may differ (|_| Tolerance::Exact if it is static):\n{}",
        wrong.join("\n")
    );
}

fn label_names(series: &[(Labels, f64)]) -> BTreeSet<String> {
    series.iter().flat_map(|(l, _)| l.keys().cloned()).collect()
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
#[ignore = "needs Debian's prometheus-node-exporter: make test runs it"]
fn every_node_series_matches_node_exporter() {
    compare(|server, textfiles| {
        Box::new(agent_with(
            "parity",
            &[server],
            "200ms",
            &["--textfile-dir", textfiles],
        ))
    });
}

/// The same, the agent in its image as compose.yaml runs it: the host's root mounted read-only
/// at /host (where the image's VITALS_ROOT looks), the host's network and process namespaces, an
/// unprivileged user; node_exporter on the host.
#[test]
#[ignore = "needs docker: make test-containers runs it"]
fn docker_agent_matches_node_exporter_on_its_host() {
    let unique = unique();
    let images = Images::build(&unique);
    compare(|server, textfiles| {
        let server = server.to_string();
        // The textfiles at the same path inside, so that their `file` labels and help texts
        // name them as node_exporter does.
        let textfiles_mount = format!("{textfiles}:{textfiles}:ro");
        Box::new(Container::run(
            &format!("vitals-parity-{unique}"),
            &[
                "--network",
                "host",
                "--pid",
                "host",
                "-v",
                "/:/host:ro",
                "-v",
                &textfiles_mount,
                "--read-only",
            ],
            &images.agent,
            &[
                "--server",
                &server,
                "--id",
                "parity",
                "--interval",
                "200ms",
                "--textfile-dir",
                textfiles,
            ],
        ))
    });
}

/// Families this machine has nothing for (no RAID arrays, bonds, NVMe drives, memory controllers,
/// RAPL zones, power supplies, XFS filesystems, NFS mounts or DMI here), compared on a fixture root instead: node_exporter reads its `proc` and
/// `sys` (`--path.procfs`, `--path.sysfs`) with only that collector, the agent reads the same
/// root (`--root`, `--once`); every series and value must be the same.
const FIXTURES: &[(&str, &str, &str)] = &[
    ("mdadm", "node_md_", "mdadm"),
    ("bonding", "node_bonding_", "bonding"),
    ("nvme", "node_nvme_", "nvme"),
    ("edac", "node_edac_", "edac"),
    ("rapl", "node_rapl_", "rapl"),
    ("power_supply", "node_power_supply_", "powersupplyclass"),
    ("xfs", "node_xfs_", "xfs"),
    ("nfs", "node_nfs_", "nfs"),
    ("dmi", "node_dmi_", "dmi"),
];

#[test]
#[ignore = "needs Debian's prometheus-node-exporter: make test runs it"]
fn fixture_families_match_node_exporter_series_by_series() {
    for &(fixture, prefix, collector) in FIXTURES {
        // Canonical, as Go's `filepath.Join` cleans the paths that rapl's `path` label shows.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../agent-linux/src/collect/fixtures")
            .join(fixture)
            .canonicalize()
            .unwrap();
        let (_node_exporter, port) = node_exporter(&[
            format!("--path.procfs={}", root.join("proc").display()),
            format!("--path.sysfs={}", root.join("sys").display()),
            "--collector.disable-defaults".into(),
            format!("--collector.{collector}"),
        ]);
        let body = wait_for("node_exporter", Duration::from_secs(20), || {
            http_get(port, "/metrics").map(|(_, body)| body)
        });
        let node = parse(&body);
        let mut want: Vec<(String, Labels, f64)> = node
            .series
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .flat_map(|(name, series)| series.iter().map(|(l, v)| (name.clone(), l.clone(), *v)))
            .collect();
        let mut have: Vec<(String, Labels, f64)> =
            common::once(&["--root", root.to_str().unwrap()], &[])
                .into_iter()
                .filter(|(name, _, _)| name.starts_with(prefix))
                .map(|(name, values, value)| {
                    let family = node_families().find(|f| f.name == name).unwrap();
                    // An empty label is no label, to Prometheus as to node_exporter, which
                    // leaves out an info series' empty texts.
                    let labels = family
                        .labels
                        .iter()
                        .map(|l| (*l).to_owned())
                        .zip(values)
                        .filter(|(_, value)| !value.is_empty())
                        .collect();
                    (name.to_owned(), labels, value)
                })
                .collect();
        want.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        have.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        assert!(
            !want.is_empty(),
            "node_exporter has no {prefix}* series on {fixture}"
        );
        assert_eq!(
            have, want,
            "{fixture}: vitals (left) against node_exporter (right)"
        );
        eprintln!(
            "{fixture}: {} {prefix}* series, the same on both",
            want.len()
        );
    }
}

/// Debian's node_exporter with `args`, on a free loopback port: the process (stopped when
/// dropped) and where it answers.
fn node_exporter(args: &[String]) -> (Proc, SocketAddr) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let child = Command::new(common::tool("prometheus-node-exporter"))
        .arg(format!("--web.listen-address={port}"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let proc = Proc {
        child,
        name: "node_exporter".into(),
    };
    (proc, port)
}

/// Starts node_exporter and a server, and the agent with `agent(server's agent address,
/// textfile directory)`, which is stopped when what it returns is dropped; then compares every
/// `node_*` series of the two, as the module says.
fn compare(agent: impl FnOnce(SocketAddr, &str) -> Box<dyn std::any::Any>) {
    let textfiles = std::env::temp_dir().join(format!("vitals-parity-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&textfiles);
    std::fs::create_dir_all(&textfiles).unwrap();
    for (name, text) in TEXTFILES {
        std::fs::write(textfiles.join(name), text).unwrap();
    }
    let textfiles = textfiles.to_str().unwrap().to_owned();
    // Debian's package changes two of node_exporter's defaults (it also leaves out /run, /mnt,
    // /media and the loopback interface); vitals follows upstream's, so pass upstream's here.
    let (_node_exporter, port) = node_exporter(&[
        "--collector.filesystem.mount-points-exclude=^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)".into(),
        "--collector.netdev.device-exclude=".into(),
        format!("--collector.textfile.directory={textfiles}"),
    ]);

    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let _agent = agent(server.agents, &textfiles);
    wait_for("the agent's series", Duration::from_secs(20), || {
        http_get(server.http, "/metrics")?
            .1
            .contains("node_load1{instance=\"parity\"}")
            .then_some(())
    });
    wait_for("node_exporter", Duration::from_secs(20), || {
        http_get(port, "/metrics").map(|_| ())
    });

    // Read both as close together as possible: vitals first, node_exporter right after.
    let started = Instant::now();
    let vitals = parse(&server.metrics());
    let node = parse(&http_get(port, "/metrics").unwrap().1);
    let gap = started.elapsed().as_secs_f64();
    let sampled = vitals.series["node_time_seconds"][0].1;
    let lag = (unix_now() - sampled).max(0.0) + gap;

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut on_neither = Vec::new();
    for family in vitals.series.keys().filter(|f| f.starts_with("node_")) {
        if !node_families().any(|f| f.name == family) {
            failures.push(format!(
                "{family}: vitals exposes it, but the catalogue has no such node_* family"
            ));
        }
    }
    // A family of node_exporter's that the catalogue lacks is a gap, unless the README says
    // why vitals does not export it.
    let not_exported = not_exported();
    for family in node.series.keys().filter(|f| f.starts_with("node_")) {
        if !node_families().any(|f| f.name == family) && !listed(family, &not_exported) {
            failures.push(format!(
                "{family}: node_exporter has it, the catalogue has not, and the README's list \
                 of what vitals does not export does not name it"
            ));
        }
    }
    for fam in node_families() {
        let family = fam.name;
        let (vseries, nseries) = match (vitals.series.get(family), node.series.get(family)) {
            (Some(v), Some(n)) => (v, n),
            (None, None) => {
                on_neither.push(family);
                continue;
            }
            (None, Some(_)) => {
                failures.push(format!("{family}: node_exporter has it, vitals does not"));
                continue;
            }
            (Some(_), None) => {
                failures.push(format!("{family}: node_exporter has no such metric"));
                continue;
            }
        };
        let Some(tol) = tolerance(family, lag) else {
            failures.push(format!("{family}: no tolerance in TOLERANCES"));
            continue;
        };
        let want_type = fam.kind.as_str();
        for (who, types) in [("vitals", &vitals.types), ("node_exporter", &node.types)] {
            if types.get(family).map(String::as_str) != Some(want_type) {
                failures.push(format!(
                    "{family}: {who} says type {:?}, the catalogue {want_type}",
                    types.get(family)
                ));
            }
        }
        let want_labels: BTreeSet<String> = fam.labels.iter().map(|l| (*l).to_owned()).collect();
        let vnames: BTreeSet<String> = label_names(vseries)
            .into_iter()
            .filter(|n| n != "instance")
            .collect();
        for (who, names) in [("vitals", vnames), ("node_exporter", label_names(nseries))] {
            if names != want_labels {
                failures.push(format!(
                    "{family}: {who} has labels {names:?} (after instance), the catalogue \
                     {want_labels:?}"
                ));
            }
        }
        let strip = |labels: &Labels| {
            let mut l = labels.clone();
            l.remove("instance");
            l
        };
        let (mut matched, mut worst) = (0, 0.0f64);
        for (labels, v) in vseries {
            let labels = strip(labels);
            match nseries.iter().find(|(l, _)| *l == labels) {
                None => failures.push(format!(
                    "{family}{labels:?}: node_exporter has no such series"
                )),
                Some((_, n)) => {
                    worst = worst.max((v - n).abs());
                    if tol.allows(*v, *n) {
                        matched += 1;
                    } else {
                        failures.push(format!(
                            "{family}{labels:?}: vitals {v}, node_exporter {n} ({})",
                            tol.describe()
                        ));
                    }
                }
            }
        }
        let vlabels: Vec<Labels> = vseries.iter().map(|(l, _)| strip(l)).collect();
        for (labels, _) in nseries {
            if !vlabels.contains(labels) {
                failures.push(format!("{family}{labels:?}: missing from vitals"));
            }
        }
        rows.push((
            family.to_owned(),
            want_type,
            vseries.len(),
            matched,
            worst,
            tol.describe(),
        ));
    }

    // The textfiles' own families: the same on both, exactly.
    for family in TEXTFILE_FAMILIES {
        // A label with an empty value is no label to Prometheus: vitals gives a family's
        // series every label name of the family (the first file's backup_age_seconds has
        // `host=""`), node_exporter those of their file.
        let strip = |series: Option<&Vec<(Labels, f64)>>| {
            let mut series: Vec<(Labels, f64)> = series
                .into_iter()
                .flatten()
                .map(|(l, v)| {
                    let mut l = l.clone();
                    l.remove("instance");
                    l.retain(|_, value| !value.is_empty());
                    (l, *v)
                })
                .collect();
            series.sort_by(|a, b| a.0.cmp(&b.0));
            series
        };
        let (v, n) = (
            strip(vitals.series.get(family)),
            strip(node.series.get(family)),
        );
        if v.is_empty() || v != n {
            failures.push(format!("{family}: vitals {v:?}, node_exporter {n:?}"));
        }
        for (what, map_v, map_n) in [
            ("type", &vitals.types, &node.types),
            ("help", &vitals.helps, &node.helps),
        ] {
            if map_v.get(family) != map_n.get(family) {
                failures.push(format!(
                    "{family}: vitals' {what} {:?}, node_exporter's {:?}",
                    map_v.get(family),
                    map_n.get(family)
                ));
            }
        }
        rows.push((
            family.to_owned(),
            vitals.types.get(family).map_or("?", |t| t.as_str()),
            v.len(),
            v.len(),
            0.0,
            "textfile, exact".to_owned(),
        ));
    }
    let _ = std::fs::remove_dir_all(&textfiles);

    eprintln!("\nnode_exporter parity (lag between readings {lag:.3}s)");
    eprintln!(
        "{:<46} {:<8} {:>6} {:>7} {:>14}  tolerance",
        "family", "type", "series", "matched", "worst |diff|"
    );
    for (family, kind, n, matched, worst, tol) in &rows {
        eprintln!(
            "{family:<46} {kind:<8} {n:>6} {matched:>7} {:>14}  {tol}",
            format!("{worst:.6}")
        );
    }
    let covered: BTreeSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let not_covered: Vec<&String> = node
        .series
        .keys()
        .filter(|f| !covered.contains(f.as_str()))
        .collect();
    eprintln!(
        "{} node_* families compared; on neither exporter on this machine: {}; node_exporter \
         has {} more that vitals does not expose",
        rows.len(),
        if on_neither.is_empty() {
            "none".to_owned()
        } else {
            on_neither.join(", ")
        },
        not_covered.len()
    );
    assert!(
        rows.len() >= 40,
        "expected the whole default set, compared only {}",
        rows.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
