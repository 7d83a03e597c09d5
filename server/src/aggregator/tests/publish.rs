//! What a sample publishes: labelled series of the right type, rebuilt only when they change.

use super::*;

#[test]
fn samples_without_their_message_are_published_with_the_labels_of_the_last_whole_one() {
    let mut agg = aggregator();
    let t0 = Instant::now();
    connect(&mut agg, 1, "a", 7, t0);
    send(&mut agg, 1, sample(1, 10.5, &["/"]), t0);
    assert_eq!(
        send_flat(&mut agg, 1, sample(2, 20.5, &["/"]), t0),
        Reply::Merged { seq: 2 }
    );
    assert_eq!(get(&mut agg, USER), Some(20.5));
    // Expired, its series are gone; the labels of its last whole sample are not.
    agg.expire(t0 + Duration::from_secs(31));
    assert_eq!(get(&mut agg, USER), None);
    let t1 = t0 + Duration::from_secs(32);
    assert_eq!(
        send_flat(&mut agg, 1, sample(3, 30.5, &["/"]), t1),
        Reply::Merged { seq: 3 }
    );
    assert_eq!(get(&mut agg, USER), Some(30.5));
    assert_eq!(get(&mut agg, ROOT), Some(1000.0));
}

#[test]
fn a_sample_without_its_message_whose_series_are_new_is_refused_not_mislabelled() {
    let mut agg = aggregator();
    let t0 = Instant::now();
    connect(&mut agg, 1, "a", 7, t0);
    send(&mut agg, 1, sample(1, 10.5, &["/"]), t0);
    let samples = r#"vitals_agent_samples_total{instance="a"}"#;
    assert_eq!(get(&mut agg, samples), Some(1.0));
    // A new mount, but no message to label it from: its values must not be published
    // under the old labels, where they would land on the wrong series.
    let refused = send_flat(&mut agg, 1, sample(2, 20.5, &["/", "/boot"]), t0);
    assert!(
        matches!(
            refused,
            Reply::Refused {
                code: codes::UNEXPECTED,
                ..
            }
        ),
        "{refused:?}"
    );
    assert_eq!(get(&mut agg, USER), Some(10.5));
    assert_eq!(get(&mut agg, BOOT), None);
    assert_eq!(get(&mut agg, samples), Some(1.0));
    // Sent again whole, as after the reconnect the refusal brings, it is merged.
    assert_eq!(
        send(&mut agg, 1, sample(2, 20.5, &["/", "/boot"]), t0),
        Reply::Merged { seq: 2 }
    );
    assert_eq!(get(&mut agg, BOOT), Some(1000.0));
    assert_eq!(get(&mut agg, samples), Some(2.0));
}

#[test]
fn a_whole_sample_that_is_not_merged_still_labels_the_samples_after_it() {
    let mut agg = aggregator();
    let t0 = Instant::now();
    connect(&mut agg, 1, "a", 7, t0);
    send(&mut agg, 1, sample(1, 10.5, &["/"]), t0);
    send(&mut agg, 1, sample(2, 20.5, &["/"]), t0);
    // A reconnect in the same session: the first sample is one merged before, sent
    // again, now with a new mount; it is acknowledged, not merged.
    connect(&mut agg, 2, "a", 7, t0);
    assert_eq!(
        send(&mut agg, 2, sample(2, 20.5, &["/", "/boot"]), t0),
        Reply::Merged { seq: 2 }
    );
    assert_eq!(get(&mut agg, BOOT), None);
    // The next comes without its message: its labels are those of the one sent again.
    assert_eq!(
        send_flat(&mut agg, 2, sample(3, 30.5, &["/", "/boot"]), t0),
        Reply::Merged { seq: 3 }
    );
    assert_eq!(get(&mut agg, BOOT), Some(1000.0));
    assert_eq!(get(&mut agg, USER), Some(30.5));
}

#[test]
fn a_sample_becomes_labelled_series_of_the_right_type() {
    let mut agg = aggregator();
    let t0 = Instant::now();
    assert_eq!(
        connect(&mut agg, 1, "a", 7, t0),
        Reply::Welcome { last_seq: 0 }
    );
    assert_eq!(
        send(&mut agg, 1, sample(1, 10.5, &["/"]), t0),
        Reply::Merged { seq: 1 }
    );
    let text = agg.render();
    assert!(text.contains("# TYPE node_cpu_seconds_total counter"));
    assert!(text.contains("# TYPE node_load1 gauge"));
    assert_eq!(get(&mut agg, USER), Some(10.5));
    assert_eq!(get(&mut agg, ROOT), Some(1000.0));
    assert_eq!(get(&mut agg, r#"node_load1{instance="a"}"#), Some(0.5));
    assert_eq!(get(&mut agg, r#"vitals_agent_up{instance="a"}"#), Some(1.0));
    assert_eq!(get(&mut agg, "vitals_server_agents_connected"), Some(1.0));
    assert_eq!(
        get(&mut agg, "vitals_server_frames_received_total"),
        Some(2.0)
    );
    assert!(text.contains(r#"vitals_agent_info{instance="a",arch="aarch64","#));
}

#[test]
fn disks_and_pressure_are_node_exporter_counters() {
    let mut agg = aggregator();
    let t0 = Instant::now();
    connect(&mut agg, 1, "a", 7, t0);
    let mut message = sample(1, 1.0, &[]);
    let _ = message.sample.disks.push(agent_core::sample::Disk {
        device: bounded("sda"),
        read_bytes: 4096,
        io_time: 1.5,
        ..Default::default()
    });
    message.sample.pressure = Some(agent_core::sample::Pressure {
        io_stalled: 2.5,
        ..Default::default()
    });
    send(&mut agg, 1, message, t0);
    let text = agg.render();
    assert!(text.contains("# TYPE node_disk_read_bytes_total counter"));
    assert!(text.contains("# TYPE node_disk_io_now gauge"));
    assert_eq!(
        get(
            &mut agg,
            r#"node_disk_read_bytes_total{instance="a",device="sda"}"#
        ),
        Some(4096.0)
    );
    assert_eq!(
        get(
            &mut agg,
            r#"node_disk_io_time_seconds_total{instance="a",device="sda"}"#
        ),
        Some(1.5)
    );
    assert_eq!(
        get(
            &mut agg,
            r#"node_pressure_io_stalled_seconds_total{instance="a"}"#
        ),
        Some(2.5)
    );
    // A sample without pressure (the kernel lost it? an older agent) drops those series.
    send(&mut agg, 1, sample(2, 1.0, &[]), t0);
    assert_eq!(
        get(
            &mut agg,
            r#"node_pressure_io_stalled_seconds_total{instance="a"}"#
        ),
        None
    );
}

#[test]
fn a_series_missing_from_the_next_sample_is_removed() {
    let mut agg = aggregator();
    let t0 = Instant::now();
    connect(&mut agg, 1, "a", 7, t0);
    send(&mut agg, 1, sample(1, 1.0, &["/", "/boot"]), t0);
    assert_eq!(get(&mut agg, BOOT), Some(1000.0));
    send(&mut agg, 1, sample(2, 1.0, &["/"]), t0);
    assert_eq!(get(&mut agg, BOOT), None, "unmounted");
    assert_eq!(get(&mut agg, ROOT), Some(1000.0));
}

/// Texts that joined to one identity when parts were only separated by a NUL: the second
/// sample reused the first one's labels (a debug build failed `check_reuse`).
#[test]
fn label_texts_that_joined_to_one_identity_get_their_own_labels() {
    let fs = |device: &str, fstype: &str, mountpoint: &str| Filesystem {
        device: bounded(device),
        fstype: bounded(fstype),
        mountpoint: bounded(mountpoint),
        size: 1,
        ..Filesystem::default()
    };
    let net = |device: &str| agent_core::sample::Interface {
        device: bounded(device),
        ..Default::default()
    };
    let mut agg = aggregator();
    let t0 = Instant::now();
    connect(&mut agg, 1, "a", 7, t0);
    let mut first = sample(1, 1.0, &[]);
    first
        .sample
        .filesystems
        .push(fs("x\0", "ext4", "/"))
        .unwrap();
    send(&mut agg, 1, first, t0);
    // The NUL moved from the device to the type.
    let mut second = sample(2, 1.0, &[]);
    second
        .sample
        .filesystems
        .push(fs("x", "\0ext4", "/"))
        .unwrap();
    send(&mut agg, 1, second, t0);
    let text = agg.render();
    assert!(text.contains("device=\"x\",fstype=\"\0ext4\""), "{text}");
    // A label text spelling a section's name: a mount whose device is "interfaces", or
    // no mount and interfaces named like its labels.
    let mut third = sample(3, 1.0, &[]);
    third
        .sample
        .filesystems
        .push(fs("interfaces", "a", "b"))
        .unwrap();
    send(&mut agg, 1, third, t0);
    let mut fourth = sample(4, 1.0, &[]);
    for device in ["a", "b", "interfaces"] {
        fourth.sample.interfaces.push(net(device)).unwrap();
    }
    send(&mut agg, 1, fourth, t0);
    let text = agg.render();
    assert!(!text.contains("node_filesystem_size_bytes{"), "{text}");
    assert!(
        text.contains(r#"node_network_up{instance="a",device="interfaces"}"#),
        "{text}"
    );
}

#[test]
fn a_new_agent_version_changes_the_info_labels() {
    let mut agg = aggregator();
    let t0 = Instant::now();
    connect(&mut agg, 1, "a", 7, t0);
    send(&mut agg, 1, sample(1, 1.0, &["/"]), t0);
    assert!(agg.render().contains(r#"version="0.1.0""#));
    agg.handle(Event::Disconnected { conn: 1 }, t0);
    let newer = Box::new(Hello {
        version: bounded("0.2.0"),
        ..*hello("a", 8)
    });
    assert_eq!(
        ask(
            &mut agg,
            t0,
            Event::Connected {
                conn: 2,
                hello: newer,
                authenticated: false,
                protocol: 1,
                peer: PEER,
            }
        ),
        Reply::Welcome { last_seq: 0 }
    );
    send(&mut agg, 2, sample(1, 2.0, &["/"]), t0);
    let text = agg.render();
    assert!(
        text.contains(r#"version="0.2.0""#) && !text.contains(r#"version="0.1.0""#),
        "{text}"
    );
    assert_eq!(get(&mut agg, USER), Some(2.0));
}

#[test]
fn a_renamed_interface_or_moved_mount_gets_new_labels() {
    let mut agg = aggregator();
    let t0 = Instant::now();
    connect(&mut agg, 1, "a", 7, t0);
    send(&mut agg, 1, sample(1, 1.0, &["/", "/boot"]), t0);
    send(&mut agg, 1, sample(2, 1.0, &["/", "/efi"]), t0);
    assert_eq!(get(&mut agg, BOOT), None);
    assert!(agg.render().contains(r#"mountpoint="/efi""#));
}
