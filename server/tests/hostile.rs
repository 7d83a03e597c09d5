//! A catalogue of hostile input thrown at a running server while honest agents keep sending.
//! After each case: the server is alive, `/metrics` passes `promtool check metrics`, the honest
//! agents' series are intact and current, and the refusal is counted under its reason.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use agent_core::sample::{Cpu, Disk, Filesystem, Interface, Sample, Sensor, bounded};
use agent_core::wire::{Message, SampleMessage};
use common::{
    Proc, Server, agent, encoded, hello_with, http_get, promtool_complaints, value, wait_for,
};

const HONEST: [&str; 2] = ["honest-a", "honest-b"];

fn hello(id: &str) -> Vec<u8> {
    hello_with(id, |_| {})
}

/// A valid sample line as an agent writes it.
fn sample_line(seq: u64) -> String {
    sample_with(seq, |_| {})
}

/// A sample line as an agent writes it, of one CPU changed by `change`.
fn sample_with(seq: u64, change: impl FnOnce(&mut Sample)) -> String {
    let mut sample = Sample::default();
    let _ = sample.cpus.push(Cpu {
        cpu: 0,
        user: 10.0,
        idle: 100.0,
        ..Cpu::default()
    });
    change(&mut sample);
    encoded(&Message::Sample(SampleMessage {
        seq,
        dropped: 0,
        sample,
    }))
}

struct Fleet {
    server: Server,
    _agents: Vec<Proc>,
}

impl Fleet {
    fn start() -> Fleet {
        let server = Server::start(
            "127.0.0.1:0",
            "127.0.0.1:0",
            &[
                "--max-agents",
                "40",
                "--handshake-timeout",
                "2s",
                "--idle-intervals",
                "1",
                "--min-interval",
                "100ms",
            ],
        );
        let agents = HONEST
            .iter()
            .map(|id| agent(id, &[server.agents], "300ms"))
            .collect();
        let fleet = Fleet {
            server,
            _agents: agents,
        };
        wait_for("the honest agents", Duration::from_secs(20), || {
            let m = http_get(fleet.server.http, "/metrics")?.1;
            HONEST
                .iter()
                .all(|id| value(&m, "node_load1", &[("instance", id)]).is_some())
                .then_some(())
        });
        fleet
    }

    fn metrics(&self) -> String {
        self.server.metrics()
    }

    fn rejected(&self, reason: &str) -> f64 {
        value(
            &self.metrics(),
            "vitals_server_frames_rejected_total",
            &[("reason", reason)],
        )
        .unwrap_or(0.0)
    }

    fn samples(&self) -> Vec<f64> {
        let m = self.metrics();
        HONEST
            .iter()
            .map(|id| value(&m, "vitals_agent_samples_total", &[("instance", id)]).unwrap_or(0.0))
            .collect()
    }

    /// Runs `attack`, then checks that `reason` was counted at least `times` more, that the
    /// server answers, that its exposition is valid, and that every honest agent is up and
    /// has sent more samples since the attack began.
    fn survives(&self, case: &str, reason: Option<(&str, f64)>, attack: impl FnOnce(&Self)) {
        let before = reason.map(|(r, _)| self.rejected(r));
        let samples = self.samples();
        let started = Instant::now();
        attack(self);
        if let (Some((reason, times)), Some(before)) = (reason, before) {
            wait_for(
                &format!("{case}: {reason} counted {times} more"),
                Duration::from_secs(20),
                || (self.rejected(reason) >= before + times).then_some(()),
            );
        }
        let (status, body) = http_get(self.server.http, "/healthz").expect("server alive");
        assert_eq!((status, body.as_str()), (200, "ok\n"), "{case}");
        let complaints = promtool_complaints(&self.metrics());
        assert!(complaints.is_empty(), "{case}: promtool: {complaints:#?}");
        wait_for(
            &format!("{case}: honest agents current"),
            Duration::from_secs(10),
            || {
                let m = self.metrics();
                let now = self.samples();
                (HONEST
                    .iter()
                    .all(|id| value(&m, "vitals_agent_up", &[("instance", id)]) == Some(1.0))
                    && now.iter().zip(&samples).all(|(n, b)| n > b))
                .then_some(())
            },
        );
        eprintln!("{case}: survived in {:?}", started.elapsed());
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.server.agents).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Sends `bytes` on a new connection and returns all the server answers before closing.
    fn exchange(&self, bytes: &[u8]) -> String {
        let mut s = self.connect();
        let _ = s.write_all(bytes);
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer
    }
}

fn refused_with(answer: &str, code: &str) -> bool {
    answer.contains(&format!("\"kind\":\"error\",\"code\":\"{code}\""))
}

#[test]
#[ignore = "needs promtool (Debian's prometheus): make test runs it"]
fn the_server_survives_the_catalogue_and_honest_agents_never_notice() {
    let fleet = Fleet::start();

    fleet.survives(
        "a line that never ends",
        Some(("line_too_long", 1.0)),
        |f| {
            let mut s = f.connect();
            let chunk = [b'x'; 16 * 1024];
            let mut answer = Vec::new();
            // The refusal comes as soon as the limit is passed, not at a newline that never comes.
            for _ in 0..8 {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
            let _ = s.read_to_end(&mut answer);
            assert!(refused_with(
                &String::from_utf8_lossy(&answer),
                "line_too_long"
            ));
        },
    );

    fleet.survives("a 1 GB line", Some(("line_too_long", 1.0)), |f| {
        let mut s = f.connect();
        let chunk = vec![b'{'; 1 << 20];
        let mut sent = 0usize;
        while sent < 1 << 30 {
            match s.write(&chunk) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        assert!(sent < 1 << 30, "the server read a whole gigabyte");
    });

    fleet.survives("invalid UTF-8", Some(("bad_utf8", 1.0)), |f| {
        let answer = f.exchange(b"{\"v\":1,\"kind\":\"hello\",\"id\":\"\xc3\x28\"}\n");
        assert!(refused_with(&answer, "bad_utf8"), "{answer}");
    });

    fleet.survives("deeply nested JSON", Some(("too_deep", 1.0)), |f| {
        let mut line = "[".repeat(30_000);
        line.push_str(&"]".repeat(30_000));
        line.push('\n');
        assert!(refused_with(&f.exchange(line.as_bytes()), "too_deep"));
    });

    fleet.survives("huge JSON", Some(("bad_json", 1.0)), |f| {
        let big = "h".repeat(60_000);
        let line = String::from_utf8(hello("huge"))
            .unwrap()
            .replace("\"hostname\":\"h\"", &format!("\"hostname\":\"{big}\""));
        assert!(refused_with(&f.exchange(line.as_bytes()), "bad_json"));
    });

    fleet.survives(
        "NaN, Inf and negative values",
        Some(("invalid_value", 2.0)),
        |f| {
            let good = sample_line(1);
            for bad in [
                good.replace("\"user\":10.0", "\"user\":-10.0"),
                good.replace("\"user\":10.0", "\"user\":1e999"),
            ] {
                let mut bytes = hello("numbers");
                bytes.extend_from_slice(bad.as_bytes());
                let answer = f.exchange(&bytes);
                assert!(refused_with(&answer, "invalid_value"), "{answer}");
            }
            let mut bytes = hello("numbers");
            bytes.extend_from_slice(good.replace("\"user\":10.0", "\"user\":NaN").as_bytes());
            assert!(refused_with(&f.exchange(&bytes), "bad_json"));
        },
    );

    fleet.survives(
        "unknown kinds and versions",
        Some(("unknown_kind", 1.0)),
        |f| {
            assert!(refused_with(
                &f.exchange(b"{\"v\":1,\"kind\":\"gossip\"}\n"),
                "unknown_kind"
            ));
            assert!(refused_with(
                &f.exchange(b"{\"v\":3,\"kind\":\"hello\"}\n"),
                "unsupported_version"
            ));
            // v2 replaces the sample; a v2 hello missing its fields is no hello.
            assert!(refused_with(
                &f.exchange(b"{\"v\":2,\"kind\":\"sample\",\"seq\":1}\n"),
                "unsupported_version"
            ));
            assert!(refused_with(
                &f.exchange(b"{\"v\":2,\"kind\":\"hello\"}\n"),
                "bad_json"
            ));
        },
    );

    fleet.survives(
        "a sample before hello",
        Some(("unexpected_message", 1.0)),
        |f| {
            let answer = f.exchange(sample_line(1).as_bytes());
            assert!(refused_with(&answer, "unexpected_message"), "{answer}");
        },
    );

    fleet.survives("samples flat out", Some(("too_frequent", 100.0)), |f| {
        let mut s = f.connect();
        let mut bytes = hello("firehose");
        for seq in 1..=1200 {
            bytes.extend_from_slice(sample_line(seq).as_bytes());
        }
        s.write_all(&bytes).unwrap();
        // Every sample is acknowledged, merged or not, so an agent never resends them.
        let mut answer = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        while !String::from_utf8_lossy(&answer).contains("\"seq\":1200}") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "closed before every ack");
            answer.extend_from_slice(&buf[..n]);
        }
    });

    fleet.survives(
        "silent and half-open connections, and one byte at a time",
        Some(("idle_timeout", 1.0)),
        |f| {
            // Never say hello: closed after the handshake timeout.
            let silent: Vec<TcpStream> = (0..20).map(|_| f.connect()).collect();
            // Say hello, then trickle a sample a byte at a time: only whole messages count,
            // so the idle timeout (10 s at least) closes it all the same.
            let mut slow = f.connect();
            slow.write_all(&hello("trickle")).unwrap();
            let line = sample_line(1);
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut closed = false;
            for byte in line.as_bytes().iter().cycle() {
                if Instant::now() > deadline {
                    break;
                }
                if slow.write_all(&[*byte]).is_err() {
                    closed = true;
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
            assert!(closed, "a one-byte-at-a-time sender held its connection");
            for mut s in silent {
                let mut answer = String::new();
                let _ = s.read_to_string(&mut answer);
                assert!(refused_with(&answer, "handshake_timeout"), "{answer}");
            }
        },
    );
    fleet.survives(
        "control characters and line separators in label texts",
        Some(("bad_label", 7.0)),
        |f| {
            let fs = |device: &str, fstype: &str| Filesystem {
                device: bounded(device),
                fstype: bounded(fstype),
                mountpoint: bounded("/"),
                ..Filesystem::default()
            };
            let mut attempts = vec![
                hello_with("labels", |h| h.hostname = bounded("h\0")),
                hello_with("labels", |h| h.kernel_version = bounded("1\r\nforged")),
            ];
            for sample in [
                // A NUL moved from the device to the type: both were one identity once.
                sample_with(1, |s| s.filesystems.push(fs("x\0", "ext4")).unwrap()),
                sample_with(1, |s| s.filesystems.push(fs("x", "\0ext4")).unwrap()),
                sample_with(1, |s| {
                    s.interfaces
                        .push(Interface {
                            device: bounded("eth\t0"),
                            ..Interface::default()
                        })
                        .unwrap()
                }),
                sample_with(1, |s| {
                    s.sensors
                        .push(Sensor {
                            chip: bounded("\u{1b}[31mchip"),
                            sensor: bounded("temp1"),
                            celsius: 40.0,
                        })
                        .unwrap()
                }),
                sample_with(1, |s| {
                    s.disks
                        .push(Disk {
                            device: bounded("sda\u{2028}"),
                            ..Disk::default()
                        })
                        .unwrap()
                }),
            ] {
                let mut bytes = hello("labels");
                bytes.extend_from_slice(sample.as_bytes());
                attempts.push(bytes);
            }
            for bytes in attempts {
                let answer = f.exchange(&bytes);
                assert!(refused_with(&answer, "bad_label"), "{answer}");
            }
            let m = f.metrics();
            assert!(!m.contains("node_load1{instance=\"labels\"}"), "{m}");
            let raw =
                |c: char| (c.is_control() && c != '\n') || matches!(c, '\u{2028}' | '\u{2029}');
            assert!(!m.contains(raw), "{m:?}");
        },
    );

    fleet.survives(
        "a sample naming a series twice",
        Some(("duplicate_series", 5.0)),
        |f| {
            let twice: [fn(&mut Sample); 5] = [
                |s| {
                    let cpu = s.cpus[0];
                    s.cpus.push(cpu).unwrap();
                },
                |s| {
                    let root = Filesystem {
                        device: bounded("/dev/sda1"),
                        fstype: bounded("ext4"),
                        mountpoint: bounded("/"),
                        ..Filesystem::default()
                    };
                    s.filesystems.push(root.clone()).unwrap();
                    s.filesystems.push(root).unwrap();
                },
                |s| {
                    for _ in 0..2 {
                        s.interfaces
                            .push(Interface {
                                device: bounded("eth0"),
                                ..Interface::default()
                            })
                            .unwrap();
                    }
                },
                |s| {
                    for celsius in [40.0, 50.0] {
                        s.sensors
                            .push(Sensor {
                                chip: bounded("coretemp"),
                                sensor: bounded("temp1"),
                                celsius,
                            })
                            .unwrap();
                    }
                },
                |s| {
                    for _ in 0..2 {
                        s.disks
                            .push(Disk {
                                device: bounded("sda"),
                                ..Disk::default()
                            })
                            .unwrap();
                    }
                },
            ];
            for change in twice {
                let mut bytes = hello("twice");
                bytes.extend_from_slice(sample_with(1, change).as_bytes());
                let answer = f.exchange(&bytes);
                assert!(refused_with(&answer, "duplicate_series"), "{answer}");
            }
            assert!(!f.metrics().contains("node_load1{instance=\"twice\"}"));
        },
    );

    fleet.survives(
        "sequence numbers that skip past 2^64 in two sessions",
        None,
        |f| {
            const GAPS: &str = "vitals_agent_sequence_gaps_total";
            let mut seen = 0.0;
            for session in [1, 2] {
                // One connection at a time: a second one for a connected id is refused.
                wait_for("the last session gone", Duration::from_secs(10), || {
                    let m = f.metrics();
                    (value(&m, "vitals_agent_up", &[("instance", "wrap")]) != Some(1.0))
                        .then_some(())
                });
                let mut s = f.connect();
                let mut bytes = hello_with("wrap", |h| h.session = session);
                for seq in [1, u64::MAX] {
                    bytes.extend_from_slice(sample_line(seq).as_bytes());
                }
                s.write_all(&bytes).unwrap();
                let mut answer = Vec::new();
                let mut buf = [0u8; 4096];
                while !String::from_utf8_lossy(&answer).contains(&format!("\"seq\":{}}}", u64::MAX))
                {
                    let n = s.read(&mut buf).unwrap();
                    assert!(n > 0, "closed: {}", String::from_utf8_lossy(&answer));
                    answer.extend_from_slice(&buf[..n]);
                }
                drop(s);
                let gaps = value(&f.metrics(), GAPS, &[("instance", "wrap")]).unwrap();
                assert!(
                    gaps >= seen,
                    "the count of gaps went back from {seen} to {gaps}"
                );
                seen = gaps;
            }
            assert_eq!(seen, u64::MAX as f64);
        },
    );

    fleet.survives(
        "a reader that never reads its acks",
        Some(("not_reading", 1.0)),
        |f| {
            // Samples as fast as the socket takes them, an ack asked for each, none read: the
            // server closes the connection once its unsent answers pass their bound, rather
            // than keep them all. A small receive buffer keeps the kernel from holding
            // megabytes of acks first.
            let fd = rustix::net::socket(
                rustix::net::AddressFamily::INET,
                rustix::net::SocketType::STREAM,
                None,
            )
            .unwrap();
            rustix::net::sockopt::set_socket_recv_buffer_size(&fd, 4096).unwrap();
            rustix::net::connect(&fd, &f.server.agents).unwrap();
            let mut s = TcpStream::from(fd);
            s.write_all(&hello("deaf")).unwrap();
            // The same sample again and again: acknowledged each time, merged once, so that
            // the (debug) server spends little on each.
            let batch = sample_line(1).repeat(1000);
            let (mut sent, mut closed) = (0, false);
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(60) {
                if s.write_all(batch.as_bytes()).is_err() {
                    closed = true;
                    break;
                }
                sent += 1000;
            }
            assert!(closed, "still open after {sent} samples and no read");
        },
    );

    fleet.survives(
        "ten thousand ids from one address",
        Some(("too_many_agents", 9000.0)),
        |f| {
            let addr = f.server.agents;
            // Each with a sample, as an id that never sent one is forgotten with its
            // connection (bare hellos: `server/tests/limits.rs`).
            let sample = sample_line(1);
            let workers: Vec<_> = (0..50)
                .map(|w| {
                    let sample = sample.clone();
                    thread::spawn(move || {
                        for i in (w..10_000).step_by(50) {
                            let Ok(mut s) = TcpStream::connect(addr) else {
                                continue;
                            };
                            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                            let mut bytes = hello(&format!("spam-{i}"));
                            bytes.extend_from_slice(sample.as_bytes());
                            let _ = s.write_all(&bytes);
                            let _ = s.read(&mut [0u8; 256]);
                        }
                    })
                })
                .collect();
            for w in workers {
                w.join().unwrap();
            }
            let m = f.metrics();
            let spam = m
                .lines()
                .filter(|l| l.starts_with("vitals_agent_up{instance=\"spam-"))
                .count();
            assert!(spam <= 40, "{spam} spam agents held, over --max-agents");
        },
    );

    fleet.survives("a connect-and-close storm", None, |f| {
        for _ in 0..2000 {
            drop(TcpStream::connect(f.server.agents).unwrap());
        }
    });
}
