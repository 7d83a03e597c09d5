//! Protocol v2 against a running server: the same sample sent as v1 and as v2 gives the same
//! `/metrics`, line for line; v1 and v2 agents share one server; and every fault of a v2
//! connection, custom families' included, is refused with its own code while an honest v2
//! agent carries on.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use agent_core::sample::{
    Cpu, Disk, Filesystem, Interface, Omitted, Pressure, Sample, Sensor, bounded,
};
use agent_core::wire::{
    self, Hello, Message, SampleMessage, ValuesHeader, ValuesWriter, encode_declare,
};
use common::{Server, promtool_complaints, value, wait_for};

fn hello(id: &str) -> Hello {
    Hello {
        id: bounded(id),
        version: bounded("0.1.0"),
        os: bounded("Linux"),
        arch: bounded("x86_64"),
        kernel: bounded("6.1.0"),
        kernel_version: bounded("#1 SMP"),
        hostname: bounded("host"),
        domainname: bounded("(none)"),
        interval_ms: 1000,
        session: 7,
        ..Hello::default()
    }
}

/// A sample with something in every collection, and label texts that need escaping.
fn rich_sample() -> Sample {
    let mut s = Sample {
        time_ms: 1_764_590_400_123,
        boot_time: 1_764_500_000,
        load1: 0.5,
        load5: 0.25,
        load15: 0.125,
        cpu_usage: 0.375,
        context_switches: 123_456_789,
        forks: 4242,
        procs_running: 3,
        procs_blocked: 1,
        pressure: Some(Pressure {
            cpu_waiting: 1.5,
            memory_waiting: 0.25,
            memory_stalled: 0.125,
            io_waiting: 2.75,
            io_stalled: 1.0,
        }),
        omitted: Omitted {
            cpus: 0,
            filesystems: 2,
            interfaces: 0,
            sensors: 0,
            disks: 1,
        },
        ..Sample::default()
    };
    s.memory.total = 8 << 30;
    s.memory.free = 1 << 30;
    s.memory.available = 3 << 30;
    for cpu in 0..3 {
        let _ = s.cpus.push(Cpu {
            cpu,
            user: 87345.67 + f64::from(cpu),
            system: 1234.5,
            idle: 999_999.99,
            softirq: 0.01,
            ..Cpu::default()
        });
    }
    for (device, mount) in [
        ("/dev/sda1", "/"),
        ("/dev/sdb1", "/mnt/my \"disk\" \\ café"),
    ] {
        let _ = s.filesystems.push(Filesystem {
            device: bounded(device),
            fstype: bounded("ext4"),
            mountpoint: bounded(mount),
            size: 512_000_000_000,
            free: 100_000_000_000,
            avail: 90_000_000_000,
            files: 32_000_000,
            files_free: 31_000_000,
            readonly: mount != "/",
        });
    }
    let _ = s.interfaces.push(Interface {
        device: bounded("eth0"),
        up: true,
        rx_bytes: 123_456_789_012,
        rx_packets: 99_999,
        tx_bytes: 42,
        ..Interface::default()
    });
    let _ = s.sensors.push(Sensor {
        chip: bounded("platform_coretemp_0"),
        sensor: bounded("temp1"),
        celsius: 47.5,
    });
    let _ = s.disks.push(Disk {
        device: bounded("nvme0n1"),
        reads_completed: 1000,
        read_bytes: 4_096_000,
        read_time: 1.25,
        io_time_weighted: 3.5,
        ..Disk::default()
    });
    s
}

fn line_v1(message: &Message) -> Vec<u8> {
    let mut buf = vec![0u8; wire::MAX_LINE + 1];
    let n = wire::encode(message, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn hello_v2(id: &str) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let n = wire::encode_versioned(2, &Message::<Sample>::Hello(hello(id)), &mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn declare(g: u32, sample: &Sample) -> Vec<u8> {
    let mut buf = vec![0u8; wire::MAX_LINE + 1];
    let n = encode_declare(g, &mut |out| sample.series(out), &mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn values(seq: u64, g: u32, sample: &Sample) -> Vec<u8> {
    let mut buf = vec![0u8; wire::MAX_LINE + 1];
    let header = ValuesHeader {
        seq,
        dropped: 0,
        g,
        t: sample.time_ms,
    };
    let mut w = ValuesWriter::new(&header, &mut buf);
    sample.series(&mut w);
    let n = w.finish().unwrap();
    buf.truncate(n);
    buf
}

/// A connection that writes `lines` and reads what the server answers.
struct Conn {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Conn { stream, reader }
    }

    fn send(&mut self, line: &[u8]) {
        self.stream.write_all(line).unwrap();
    }

    fn read(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        line
    }
}

/// The lines of `metrics` of `agent`, with its label made `as_agent`, but its last-seen time
/// (the moment each was merged), and with its protocol version left out.
fn lines_of(metrics: &str, agent: &str, as_agent: &str) -> Vec<String> {
    let label = format!("instance=\"{agent}\"");
    metrics
        .lines()
        .filter(|l| l.contains(&label))
        .filter(|l| !l.starts_with("vitals_agent_last_seen_timestamp_seconds"))
        .map(|l| l.replace(&label, &format!("instance=\"{as_agent}\"")))
        .map(|l| {
            l.replace(",protocol=\"1\"", "")
                .replace(",protocol=\"2\"", "")
        })
        .collect()
}

#[test]
#[ignore = "needs promtool (Debian's prometheus): make test runs it"]
fn the_same_sample_as_v1_and_as_v2_gives_the_same_metrics_line_for_line() {
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let sample = rich_sample();

    let mut v1 = Conn::open(server.agents);
    v1.send(&line_v1(&Message::Hello(hello("one"))));
    assert!(v1.read().starts_with(r#"{"v":1,"kind":"welcome""#));
    v1.send(&line_v1(&Message::Sample(SampleMessage {
        seq: 1,
        dropped: 0,
        sample: sample.clone(),
    })));
    assert_eq!(v1.read(), "{\"v\":1,\"kind\":\"ack\",\"seq\":1}\n");

    let mut v2 = Conn::open(server.agents);
    v2.send(&hello_v2("two"));
    let welcome = v2.read();
    assert!(
        welcome.starts_with(r#"{"v":2,"kind":"welcome""#),
        "{welcome}"
    );
    let declaration = declare(1, &sample);
    let first = values(1, 1, &sample);
    v2.send(&declaration);
    v2.send(&first);
    assert_eq!(v2.read(), "{\"v\":2,\"kind\":\"ack\",\"seq\":1}\n");

    let metrics = server.metrics();
    let one = lines_of(&metrics, "one", "x");
    let two = lines_of(&metrics, "two", "x");
    assert!(one.len() > 60, "{metrics}");
    assert_eq!(one, two);
    for (agent, protocol) in [("one", "1"), ("two", "2")] {
        let info = [("instance", agent), ("protocol", protocol)];
        assert_eq!(value(&metrics, "vitals_agent_info", &info), Some(1.0));
    }
    assert!(promtool_complaints(&metrics).is_empty());

    // The bytes each sample took on the wire, after the declaration.
    let v1_bytes = line_v1(&Message::Sample(SampleMessage {
        seq: 1,
        dropped: 0,
        sample: sample.clone(),
    }))
    .len();
    println!(
        "{} series: v1 sample {v1_bytes} B, v2 values {} B ({:.0} %), declaration {} B once",
        one.len(),
        first.len(),
        100.0 * first.len() as f64 / v1_bytes as f64,
        declaration.len()
    );
    assert!(first.len() * 3 <= v1_bytes);

    // A new mount: a new declaration, and the series follow it.
    let mut grown = sample.clone();
    let _ = grown.filesystems.push(Filesystem {
        device: bounded("/dev/sdc1"),
        fstype: bounded("xfs"),
        mountpoint: bounded("/srv"),
        size: 1,
        ..Filesystem::default()
    });
    v2.send(&declare(2, &grown));
    v2.send(&values(2, 2, &grown));
    assert_eq!(v2.read(), "{\"v\":2,\"kind\":\"ack\",\"seq\":2}\n");
    let labels = [("instance", "two"), ("mountpoint", "/srv")];
    assert_eq!(
        value(&server.metrics(), "node_filesystem_size_bytes", &labels),
        Some(1.0)
    );
}

/// Sends `lines` after a v2 hello as agent `id`; the error code the server answers with.
fn refused(server: &Server, id: &str, lines: &[Vec<u8>]) -> String {
    let mut conn = Conn::open(server.agents);
    conn.send(&hello_v2(id));
    assert!(conn.read().contains("welcome"));
    for line in lines {
        conn.send(line);
    }
    loop {
        let answer = conn.read();
        if answer.is_empty() {
            return "closed".into();
        }
        if answer.contains(r#""kind":"error""#) {
            assert!(answer.starts_with(r#"{"v":2,"#), "{answer}");
            let code = answer.split(r#""code":""#).nth(1).unwrap();
            return code.split('"').next().unwrap().to_owned();
        }
    }
}

#[test]
#[ignore = "needs promtool (Debian's prometheus): make test runs it"]
fn each_fault_of_a_v2_agent_is_refused_with_its_code_and_harms_no_other() {
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &["--max-series", "400"]);
    let sample = rich_sample();

    // An honest v2 agent, sending all along.
    let mut honest = Conn::open(server.agents);
    honest.send(&hello_v2("honest"));
    honest.read();
    honest.send(&declare(1, &sample));
    let mut seq = 0;
    let mut send_honest = |honest: &mut Conn| {
        seq += 1;
        honest.send(&values(seq, 1, &sample));
        assert!(honest.read().contains(&format!("\"seq\":{seq}")));
    };
    send_honest(&mut honest);

    let d = |families: &str, series: &str| {
        format!(r#"{{"v":2,"kind":"declare","g":1,"families":{families},"series":{series}}}"#)
            .into_bytes()
            .into_iter()
            .chain(*b"\n")
            .collect::<Vec<u8>>()
    };
    // With a custom member, as an agent with a `--textfile-dir` sends it.
    let c = |custom: &str, series: &str| {
        format!(
            r#"{{"v":2,"kind":"declare","g":1,"families":[[1]],"custom":[{custom}],"series":[[1],{series}]}}"#
        )
        .into_bytes()
        .into_iter()
        .chain(*b"\n")
        .collect::<Vec<u8>>()
    };
    let custom_past_max_series = (0..400)
        .map(|i| format!(r#"[32768,"{i}"]"#))
        .collect::<Vec<_>>()
        .join(",");
    let many = (0..=server::declaration::MAX_DECLARED_SERIES)
        .map(|i| format!(r#"[17,"d{i}"]"#))
        .collect::<Vec<_>>()
        .join(",");
    let too_many_here = (0..400)
        .map(|i| format!(r#"[17,"d{i}"]"#))
        .collect::<Vec<_>>()
        .join(",");
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("unknown_family", vec![d("[[9999]]", "[]")]),
        ("unknown_family", vec![d("[[57]]", "[[57]]")]),
        ("wrong_labels", vec![d(r#"[[0,"cpu","state"]]"#, "[]")]),
        ("wrong_labels", vec![d("[[1]]", "[[2]]")]),
        ("bad_label", vec![d(r#"[[17,"device"]]"#, r#"[[17,"a\u001bb"]]"#)]),
        (
            "duplicate_series",
            vec![d(r#"[[17,"device"]]"#, r#"[[17,"eth0"],[17,"eth0"]]"#)],
        ),
        (
            "too_many_series",
            vec![d(r#"[[17,"device"]]"#, &format!("[{many}]"))],
        ),
        (
            "too_many_series",
            vec![
                d(r#"[[17,"device"]]"#, &format!("[{too_many_here}]")),
                format!(
                    "{{\"v\":2,\"kind\":\"values\",\"seq\":1,\"dropped\":0,\"g\":1,\"t\":1,\"x\":[{}]}}\n",
                    vec!["1"; 400].join(",")
                )
                .into_bytes(),
            ],
        ),
        // Custom families: each rule of `agent_core::catalogue::custom` with its code.
        (
            "unknown_family",
            vec![c(r#"[32768,"node_load1","gauge",""]"#, "[32768]")],
        ),
        (
            "unknown_family",
            vec![c(r#"[32768,"vitals_mine","gauge",""]"#, "[32768]")],
        ),
        (
            "wrong_labels",
            vec![c(r#"[32768,"mine","gauge","","instance"]"#, r#"[32768,"x"]"#)],
        ),
        (
            "wrong_labels",
            vec![c(r#"[32768,"mine","gauge","","x"]"#, "[32768]")],
        ),
        (
            "bad_label",
            vec![c(r#"[32768,"mine","gauge","two\nlines"]"#, "[32768]")],
        ),
        (
            "bad_label",
            vec![c(r#"[32768,"mine","gauge","","x"]"#, r#"[32768,"a\u0007"]"#)],
        ),
        (
            "duplicate_series",
            vec![c(
                r#"[32768,"mine","gauge",""],[32769,"mine","counter",""]"#,
                "[32768]",
            )],
        ),
        (
            "duplicate_series",
            vec![c(r#"[32768,"mine","gauge","","x"]"#, r#"[32768,"a"],[32768,"a"]"#)],
        ),
        (
            "invalid_value",
            vec![c(r#"[32768,"mine","histogram",""]"#, "[32768]")],
        ),
        (
            "invalid_value",
            vec![c(r#"[32768,"my-name","gauge",""]"#, "[32768]")],
        ),
        (
            "invalid_value",
            vec![c(r#"[32769,"mine","gauge",""]"#, "[32769]")],
        ),
        (
            "too_many_series",
            vec![
                c(r#"[32768,"mine","gauge","","x"]"#, &custom_past_max_series),
                format!(
                    "{{\"v\":2,\"kind\":\"values\",\"seq\":1,\"dropped\":0,\"g\":1,\"t\":1,\"x\":[{}]}}\n",
                    vec!["1"; 401].join(",")
                )
                .into_bytes(),
            ],
        ),
        ("unexpected_message", vec![values(1, 1, &sample)]),
        (
            "unexpected_message",
            vec![declare(1, &sample), values(1, 2, &sample)],
        ),
        (
            "invalid_value",
            vec![
                d("[[1],[2]]", "[[1],[2]]"),
                b"{\"v\":2,\"kind\":\"values\",\"seq\":1,\"dropped\":0,\"g\":1,\"t\":1,\"x\":[1]}\n"
                    .to_vec(),
            ],
        ),
        (
            "invalid_value",
            vec![
                d("[[1]]", "[[1]]"),
                b"{\"v\":2,\"kind\":\"values\",\"seq\":1,\"dropped\":0,\"g\":1,\"t\":1,\"x\":[1e999]}\n"
                    .to_vec(),
            ],
        ),
        ("bad_json", vec![b"{\"v\":2,\"kind\":\"values\", \"seq\":1}\n".to_vec()]),
        (
            "unexpected_message",
            vec![line_v1(&Message::Sample(SampleMessage {
                seq: 1,
                dropped: 0,
                sample: sample.clone(),
            }))],
        ),
    ];
    for (i, (code, lines)) in cases.iter().enumerate() {
        assert_eq!(
            &refused(&server, &format!("bad-{i}"), lines),
            code,
            "case {i}"
        );
        send_honest(&mut honest);
    }

    // A v1 connection sending v2 lines is refused too.
    let mut v1 = Conn::open(server.agents);
    v1.send(&line_v1(&Message::Hello(hello("old"))));
    v1.read();
    v1.send(&declare(1, &sample));
    assert!(v1.read().contains("unexpected_message"));

    send_honest(&mut honest);
    let metrics = wait_for("the honest agent's series", Duration::from_secs(5), || {
        let m = server.metrics();
        value(&m, "node_load1", &[("instance", "honest")]).map(|_| m)
    });
    assert!(promtool_complaints(&metrics).is_empty());
    for code in [
        "unknown_family",
        "wrong_labels",
        "bad_label",
        "duplicate_series",
        "too_many_series",
        "invalid_value",
    ] {
        let rejected = value(
            &metrics,
            "vitals_server_frames_rejected_total",
            &[("reason", code)],
        );
        assert!(rejected.is_some_and(|n| n >= 1.0), "{code}: {metrics}");
    }
}
