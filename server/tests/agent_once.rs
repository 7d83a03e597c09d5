//! `vitals-agent --once` prints a sample the server takes, in either protocol: every label
//! text passes the rule both sides share, and no series is named twice.

mod common;

use std::collections::HashSet;
use std::process::Command;

use agent_core::sample::{Sample, label_text_ok};
use agent_core::wire::{self, Message};
use common::{bin, once};

#[test]
fn the_once_line_is_a_sample_whose_labels_the_server_takes() {
    let out = Command::new(bin("vitals-agent"))
        .args(["--once", "--protocol", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(
        line.ends_with('\n') && line.matches('\n').count() == 1,
        "{line}"
    );
    let Ok(Message::Sample(message)) = wire::decode_line::<Sample>(line.trim_end().as_bytes())
    else {
        panic!("not a sample: {line}");
    };
    let sample = message.sample;
    // Each entry's collection and label texts.
    let mut entries: Vec<(&str, Vec<String>)> = Vec::new();
    let texts = |labels: &[&str]| labels.iter().map(|t| (*t).to_owned()).collect();
    entries.extend(sample.cpus.iter().map(|c| ("cpu", vec![c.cpu.to_string()])));
    entries.extend(
        sample
            .filesystems
            .iter()
            .map(|f| ("filesystem", texts(&[&f.device, &f.fstype, &f.mountpoint]))),
    );
    entries.extend(
        sample
            .interfaces
            .iter()
            .map(|i| ("interface", texts(&[&i.device]))),
    );
    entries.extend(
        sample
            .sensors
            .iter()
            .map(|s| ("sensor", texts(&[&s.chip, &s.sensor]))),
    );
    entries.extend(sample.disks.iter().map(|d| ("disk", texts(&[&d.device]))));
    let distinct: HashSet<_> = entries.iter().collect();
    assert_eq!(
        distinct.len(),
        entries.len(),
        "a series named twice: {line}"
    );
    for (kind, labels) in &entries {
        assert!(labels.iter().all(|t| label_text_ok(t)), "{kind} {labels:?}");
    }
}

#[test]
fn the_once_lines_in_v2_are_a_declaration_the_server_takes_and_its_values() {
    let out = Command::new(bin("vitals-agent"))
        .arg("--once")
        .env_remove("VITALS_PROTOCOL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let [declaration, values] = lines.as_slice() else {
        panic!("not two lines: {text}");
    };
    // The decoder checks each family and label text against the catalogue.
    let mut series = Vec::new();
    let g = wire::decode_declare(
        declaration.trim_end().as_bytes(),
        |_, _| Ok(()),
        |family, labels| {
            series.push((
                family,
                labels.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>(),
            ));
            Ok(())
        },
    )
    .unwrap_or_else(|e| panic!("{e}: {declaration}"));
    let distinct: HashSet<_> = series.iter().collect();
    assert_eq!(
        distinct.len(),
        series.len(),
        "a series named twice: {declaration}"
    );
    let mut count = 0;
    let header = wire::decode_values(values.trim_end().as_bytes(), |_| {
        count += 1;
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}: {values}"));
    assert_eq!((g, header.g, header.seq), (1, 1, 1));
    assert_eq!(count, series.len(), "a value for each series declared");
}

/// A machine's `/proc` and `/sys` laid out under a directory, as the collectors' unit tests
/// read them: two CPUs, `lo` and `eth0`, three hwmon chips, and mounts of which one has gone.
const FIXTURE_ROOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../agent-linux/src/collect/fixtures/collector"
);

#[test]
fn under_a_root_the_agent_reports_the_machine_found_there() {
    for (args, env) in [
        (&["--root", FIXTURE_ROOT][..], &[][..]),
        (&[][..], &[("VITALS_ROOT", FIXTURE_ROOT)][..]),
    ] {
        let series = once(args, env);
        let value = |name: &str, labels: &[&str]| {
            series
                .iter()
                .find(|(n, l, _)| *n == name && l == labels)
                .map(|s| s.2)
        };
        assert_eq!(
            value("node_memory_MemTotal_bytes", &[]),
            Some(2_048_000_000.0)
        );
        assert_eq!(value("node_load1", &[]), Some(1.5));
        assert_eq!(value("node_boot_time_seconds", &[]), Some(1_700_000_000.0));
        assert_eq!(
            value("node_network_receive_drop_total", &["eth0"]),
            Some(1.0)
        );
        assert_eq!(
            value("node_hwmon_temp_celsius", &["platform_coretemp_0", "temp1"]),
            Some(45.0)
        );
        // Mount points as the root's mounts file names them, their statvfs under the root.
        assert_eq!(
            value(
                "node_filesystem_readonly",
                &["/dev/vdb", "xfs", "/srv data"]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                "node_filesystem_device_error",
                &["server:/export", "nfs4", "/gone"]
            ),
            Some(1.0)
        );
        // Nothing of this machine's: two CPUs' seconds, and no other interface.
        let cpus: HashSet<&str> = series
            .iter()
            .filter(|(n, _, _)| *n == "node_cpu_seconds_total")
            .map(|(_, l, _)| l[0].as_str())
            .collect();
        assert_eq!(cpus, HashSet::from(["0", "1"]));
        assert!(
            series
                .iter()
                .filter(|(n, _, _)| *n == "node_network_up")
                .all(|(_, l, _)| l[0] == "lo" || l[0] == "eth0"),
            "{series:?}"
        );
        // The agent's own process and the kernel's clock are read whatever the root.
        assert!(value("process_start_time_seconds", &[]).is_some_and(|t| t > 0.0));
        assert!(value("node_timex_sync_status", &[]).is_some());
    }
}

#[test]
fn the_root_slash_is_the_same_as_no_root() {
    let names = |args: &[&str]| -> Vec<(&'static str, Vec<String>)> {
        once(args, &[])
            .into_iter()
            .map(|(name, labels, _)| (name, labels))
            .collect()
    };
    assert_eq!(names(&["--root", "/"]), names(&[]));
}
