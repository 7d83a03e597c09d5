//! Protocol v2: a declaration before the first values of each generation on each connection,
//! values that read back as the sample's, and samples whose declaration is gone counted lost.

use std::borrow::ToOwned;
use std::format;
use std::string::{String, ToString};
use std::vec;

use super::*;
use crate::agent::declarations::KEPT;
use crate::catalogue::{Series, f};
use crate::wire::vectors::{DECLARE_V2, HELLO_V2, SAMPLE, VALUES_V2, one};
use crate::wire::{decode_declare, decode_values};

/// A v2 agent whose storage holds its hello and `room` bytes: a third of them for the
/// declarations, the rest for the ring.
pub(super) fn v2_agent(room: usize) -> TestAgent {
    let hello = test_hello();
    let mut line = [0u8; 512];
    let n = wire::encode_versioned(2, &Message::<u32>::Hello(hello.clone()), &mut line).unwrap();
    Agent::with_protocol(
        Fake::default(),
        &hello,
        Config::new(Duration::from_secs(1), 42),
        Protocol::V2,
        Vec::leak(vec![0u8; n + room]),
        at(0),
    )
}

const CPUS: [&str; 4] = ["0", "1", "2", "3"];

/// A machine with `cpus` CPUs: each one's user time, then the 1-minute load, all `value`,
/// and the time (which is not declared).
pub(super) fn machine(cpus: usize, value: f64) -> impl FnMut(&mut dyn Series) {
    move |out: &mut dyn Series| {
        for cpu in CPUS.iter().take(cpus) {
            out.add(f::CPU, &[cpu, "user"], value);
        }
        out.add(f::LOAD1, &[], value);
        out.add(f::TIME, &[], 1.0);
    }
}

/// Records a sample of `machine(cpus, value)` taken at `now` (its time the same).
pub(super) fn record(a: &mut TestAgent, cpus: usize, value: f64, now: Instant) -> u64 {
    a.record_series(&mut machine(cpus, value), now.as_millis(), now)
        .unwrap()
}

/// A line the agent sent, read as the server reads it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Line {
    Hello(u32),
    Declare {
        g: u32,
        series: Vec<(u16, Vec<String>)>,
    },
    Values {
        seq: u64,
        dropped: u64,
        g: u32,
        t: u64,
        x: Vec<f64>,
    },
    Other(String),
}

impl Line {
    pub(super) fn read(line: &[u8]) -> Line {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        for v in [1, 2] {
            if line.starts_with(std::format!(r#"{{"v":{v},"kind":"hello""#).as_bytes()) {
                return Line::Hello(v);
            }
        }
        let mut series = Vec::new();
        let read = decode_declare(
            line,
            |_, _| Ok(()),
            |family, labels| {
                series.push((family, labels.iter().map(|l| l.to_string()).collect()));
                Ok(())
            },
        );
        if let Ok(g) = read {
            return Line::Declare { g, series };
        }
        let mut x = Vec::new();
        if let Ok(h) = decode_values(line, |v| {
            x.push(v);
            Ok(())
        }) {
            return Line::Values {
                seq: h.seq,
                dropped: h.dropped,
                g: h.g,
                t: h.t,
                x,
            };
        }
        Line::Other(String::from_utf8_lossy(line).into_owned())
    }

    /// `hello v2`, `declare 1`, `values 3 g1`: what a test of their order compares.
    fn brief(&self) -> String {
        match self {
            Line::Hello(v) => std::format!("hello v{v}"),
            Line::Declare { g, .. } => std::format!("declare {g}"),
            Line::Values { seq, g, .. } => std::format!("values {seq} g{g}"),
            Line::Other(text) => text.clone(),
        }
    }
}

fn lines(a: &TestAgent) -> Vec<Line> {
    a.transport
        .lines()
        .iter()
        .map(|l| Line::read(l.as_bytes()))
        .collect()
}

/// The order of what was sent, briefly.
fn order(a: &TestAgent) -> Vec<String> {
    lines(a).iter().map(Line::brief).collect()
}

/// Connects and welcomes (`last_seq`) at `now`.
fn connect(a: &mut TestAgent, last_seq: u64, now: Instant) {
    drain(a, now);
    welcome(a, last_seq);
    drain(a, now);
}

#[test]
fn the_declaration_goes_first_after_the_welcome_and_reads_back() {
    let mut a = v2_agent(4096);
    record(&mut a, 2, 1.5, at(0));
    connect(&mut a, 0, at(0));
    let sent = lines(&a);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[0], Line::Hello(2), "the hello says v2");
    let series = |cpu: &str| (f::CPU, vec![cpu.to_string(), "user".to_string()]);
    assert_eq!(
        sent[1],
        Line::Declare {
            g: 1,
            series: vec![series("0"), series("1"), (f::LOAD1, vec![])],
        },
        "the time is not declared"
    );
    assert_eq!(
        sent[2],
        Line::Values {
            seq: 1,
            dropped: 0,
            g: 1,
            t: 0,
            x: vec![1.5; 3]
        }
    );
}

#[test]
fn the_documented_sample_goes_out_as_the_documented_lines() {
    let Ok(Message::Sample(m)) = one(SAMPLE) else {
        panic!("the sample vector decodes")
    };
    let sample = m.sample;
    let hello = Hello {
        id: crate::sample::bounded("pi-kitchen"),
        version: crate::sample::bounded("0.1.0"),
        os: crate::sample::bounded("Linux"),
        arch: crate::sample::bounded("aarch64"),
        kernel: crate::sample::bounded("6.1.0-rpi7"),
        kernel_version: crate::sample::bounded("1 SMP PREEMPT"),
        hostname: crate::sample::bounded("pi-kitchen"),
        domainname: crate::sample::bounded("(none)"),
        interval_ms: 10_000,
        session: 1_700_000_000_000,
        ..Hello::default()
    };
    let mut a: TestAgent = Agent::with_protocol(
        Fake::default(),
        &hello,
        Config::new(Duration::from_secs(10), 1),
        Protocol::V2,
        Vec::leak(vec![0u8; 16 * 1024]),
        at(0),
    );
    let seq = a
        .record_series(&mut |out| sample.series(out), sample.time_ms, at(0))
        .unwrap();
    assert_eq!(seq, 1);
    connect(&mut a, 0, at(0));
    let expected: Vec<String> = [HELLO_V2, DECLARE_V2, VALUES_V2]
        .iter()
        .map(|l| std::format!("{}\n", std::str::from_utf8(l).unwrap()))
        .collect();
    assert_eq!(a.transport.lines(), expected);
}

#[test]
fn a_changed_set_of_series_is_declared_anew_before_its_values() {
    let mut a = v2_agent(4096);
    connect(&mut a, 0, at(0));
    record(&mut a, 2, 1.0, at(1000));
    drain(&mut a, at(1000));
    // Other values of the same series: no new declaration.
    record(&mut a, 2, 2.0, at(2000));
    drain(&mut a, at(2000));
    // A CPU comes online.
    record(&mut a, 3, 3.0, at(3000));
    drain(&mut a, at(3000));
    record(&mut a, 3, 4.0, at(4000));
    drain(&mut a, at(4000));
    assert_eq!(
        order(&a),
        [
            "hello v2",
            "declare 1",
            "values 1 g1",
            "values 2 g1",
            "declare 2",
            "values 3 g2",
            "values 4 g2"
        ]
    );
    let Line::Declare { series, .. } = &lines(&a)[4] else {
        unreachable!()
    };
    assert_eq!(series.len(), 4, "three CPUs and the load");
    let Line::Values { x, .. } = &lines(&a)[6] else {
        unreachable!()
    };
    assert_eq!(x, &[4.0; 4]);
}

#[test]
fn after_a_reconnect_the_pending_samples_follow_their_declarations_oldest_first() {
    let mut a = v2_agent(4096);
    connect(&mut a, 0, at(0));
    record(&mut a, 1, 1.0, at(1000));
    record(&mut a, 2, 2.0, at(2000));
    record(&mut a, 2, 3.0, at(3000));
    drain(&mut a, at(3000));
    hang_up(&mut a, at(3000));
    a.transport.out.clear();
    // Back after the backoff; the new server merged nothing.
    connect(&mut a, 0, at(10_000));
    let hello = &a.transport.lines()[0];
    assert!(
        hello.starts_with(r#"{"v":2,"kind":"hello""#) && hello.ends_with(",\"last_sent\":3}\n"),
        "{hello}"
    );
    assert_eq!(
        order(&a),
        [
            "hello v2",
            "declare 1",
            "values 1 g1",
            "declare 2",
            "values 2 g2",
            "values 3 g2"
        ]
    );
    // Again, to a server that merged the first two: only the second generation is declared.
    hang_up(&mut a, at(10_000));
    a.transport.out.clear();
    connect(&mut a, 2, at(60_000));
    assert_eq!(order(&a), ["hello v2", "declare 2", "values 3 g2"]);
}

/// Records a sample of generation `k`'s series (its one CPU is numbered `k`), taken at `k`
/// seconds.
fn record_generation(a: &mut TestAgent, k: usize) -> u64 {
    let cpu = k.to_string();
    let mut series = |out: &mut dyn Series| {
        out.add(f::CPU, &[&cpu, "user"], 1.0);
        out.add(f::LOAD1, &[], 1.0);
        out.add(f::TIME, &[], 1.0);
    };
    let now = at(1000 * k as u64);
    a.record_series(&mut series, now.as_millis(), now).unwrap()
}

/// What a connection sends of generations `from..=to`, one sample each, numbered alike.
fn declared_and_sent(from: usize, to: usize) -> Vec<String> {
    let mut order = vec!["hello v2".to_owned()];
    for g in from..=to {
        order.push(format!("declare {g}"));
        order.push(format!("values {g} g{g}"));
    }
    order
}

#[test]
fn a_sample_whose_declaration_is_forgotten_is_counted_lost_and_never_sent() {
    let mut a = v2_agent(64 * 1024);
    // While no server is there, the series change as often as declarations are kept (a
    // container started and stopped, say): nothing is lost yet.
    for k in 1..=KEPT {
        record_generation(&mut a, k);
    }
    assert_eq!((a.stats().dropped, a.stats().pending), (0, KEPT));
    // Once more: the first declaration goes, and its sample with it.
    record_generation(&mut a, KEPT + 1);
    assert_eq!((a.stats().dropped, a.stats().pending), (1, KEPT));
    connect(&mut a, 0, at(60_000));
    assert_eq!(order(&a), declared_and_sent(2, KEPT + 1));
    let dropped: Vec<u64> = lines(&a)
        .iter()
        .filter_map(|l| match l {
            Line::Values { dropped, .. } => Some(*dropped),
            _ => None,
        })
        .collect();
    let mut want = vec![0; KEPT - 1];
    want.push(1);
    assert_eq!(dropped, want, "the loss travels in the next sample");
}

/// A container started and stopped on a Docker host (its veth interface came and went) and a
/// mount appeared, while the server was away: three changes of series, nothing lost. Two
/// declarations kept, as before, lost the first sample.
#[test]
fn three_changes_of_series_while_the_server_is_away_lose_nothing() {
    let mut a = v2_agent(64 * 1024);
    for k in 1..=4 {
        record_generation(&mut a, k);
    }
    assert_eq!((a.stats().dropped, a.stats().pending), (0, 4));
    connect(&mut a, 0, at(60_000));
    assert_eq!(order(&a), declared_and_sent(1, 4));
}

#[test]
fn a_declaration_forgotten_after_its_samples_were_sent_leaves_them_doubtful() {
    let mut a = v2_agent(64 * 1024);
    connect(&mut a, 0, at(0));
    record_generation(&mut a, 1);
    drain(&mut a, at(1000));
    hang_up(&mut a, at(1000));
    for k in 2..=KEPT + 1 {
        record_generation(&mut a, k);
    }
    assert_eq!(
        (a.stats().dropped, a.stats().doubtful, a.stats().pending),
        (0, 1, KEPT),
        "sample 1 was sent: the server may have merged it"
    );
    // The new server did merge it.
    a.transport.out.clear();
    connect(&mut a, 1, at(60_000));
    assert_eq!((a.stats().dropped, a.stats().doubtful), (0, 0));
    assert_eq!(order(&a), declared_and_sent(2, KEPT + 1));
}

#[test]
fn a_declaration_waits_for_room_like_any_line() {
    let mut a = v2_agent(4096);
    connect(&mut a, 0, at(0));
    a.transport.room = Some(50);
    record(&mut a, 2, 1.0, at(0));
    drain(&mut a, at(0));
    assert_eq!(order(&a), ["hello v2"], "the declaration does not fit");
    // Room for the declaration but not its values: the values wait, and are not declared
    // again when they go.
    let mut buf = [0u8; 256];
    let declaration = wire::encode_declare(1, &mut machine(2, 1.0), &mut buf).unwrap();
    a.transport.room = Some(declaration + 10);
    drain(&mut a, at(0));
    assert_eq!(order(&a), ["hello v2", "declare 1"]);
    assert_eq!(a.transport.room, Some(10));
    a.transport.room = None;
    drain(&mut a, at(0));
    assert_eq!(order(&a), ["hello v2", "declare 1", "values 1 g1"]);
}

#[test]
fn a_declaration_larger_than_its_room_loses_the_sample() {
    // 100 bytes: 25 for declarations, which no declaration fits.
    let mut a = v2_agent(100);
    assert_eq!(
        a.record_series(&mut machine(1, 1.0), 0, at(0)),
        Err(RecordError::DeclarationTooLarge)
    );
    assert_eq!((a.stats().dropped, a.stats().pending), (1, 0));
    connect(&mut a, 0, at(0));
    assert_eq!(order(&a), ["hello v2"]);
}

#[test]
fn each_version_records_only_its_own_samples() {
    let mut v2 = v2_agent(4096);
    assert_eq!(v2.record(&1u32, at(0)), Err(RecordError::WrongProtocol));
    let mut v1 = agent();
    assert_eq!(
        v1.record_series(&mut machine(1, 1.0), 0, at(0)),
        Err(RecordError::WrongProtocol)
    );
    for a in [&v2, &v1] {
        assert_eq!(
            a.stats(),
            Stats::default(),
            "nothing recorded, nothing lost"
        );
    }
    assert_eq!(
        record(&mut v2, 1, 1.0, at(0)),
        1,
        "no sequence number spent"
    );
}

#[test]
fn a_v1_server_is_retried_with_backoff_in_v2() {
    let mut a = v2_agent(4096);
    record(&mut a, 1, 1.0, at(0));
    let mut now = at(0);
    let mut delays = Vec::new();
    for _ in 0..3 {
        drain(&mut a, now);
        push(
            &mut a,
            Message::Error(ErrorMessage {
                code: crate::sample::bounded(wire::codes::UNSUPPORTED_VERSION),
                message: crate::sample::bounded("this server speaks v1"),
            }),
        );
        let events = drain(&mut a, now);
        let [
            Event::Lost {
                reason: Lost::Rejected(code),
                retry_in,
                ..
            },
        ] = events.as_slice()
        else {
            panic!("{events:?}");
        };
        assert_eq!(code, wire::codes::UNSUPPORTED_VERSION);
        delays.push(*retry_in);
        now = now + *retry_in;
    }
    assert!(delays[2] > delays[0], "backing off: {delays:?}");
    assert_eq!(order(&a), ["hello v2", "hello v2", "hello v2"]);
    assert_eq!(a.stats().pending, 1, "the sample waits for a v2 server");
}

#[test]
fn any_mix_of_changes_acks_and_reconnects_declares_before_values_and_counts_every_loss() {
    use std::collections::{BTreeMap, BTreeSet};
    // Room for two small declarations but not two of four CPUs, and a ring of about eight
    // samples: declarations are forgotten for lack of room.
    let mut a = v2_agent(1024);
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    // What was recorded: each sample's CPUs and value.
    let mut recorded: BTreeMap<u64, (usize, f64)> = BTreeMap::new();
    // What the server has seen, and of the current connection: its declaration (g and number
    // of series) and the last sample it was sent.
    let mut received = BTreeSet::new();
    let (mut declared, mut connection_last) = (None::<(u32, usize)>, 0);
    let mut last_dropped = 0;
    let mut read = 0;
    let mut cpus = 1;
    let mut now = 0;
    for step in 0..4000 {
        now += 500;
        match next(12) {
            0 => cpus = 1 + next(4) as usize,
            1..=5 => {
                let value = (step * 10) as f64;
                let seq = record(&mut a, cpus, value, at(now));
                recorded.insert(seq, (cpus, value));
            }
            6 | 7 if a.is_ready() && connection_last > 0 => {
                push(
                    &mut a,
                    Message::Ack(Ack {
                        seq: connection_last,
                    }),
                );
            }
            8 if a.is_ready() => hang_up(&mut a, at(now)),
            _ => {}
        }
        let events = drain(&mut a, at(now));
        if events.last() == Some(&Event::Connected) {
            welcome(&mut a, received.last().copied().unwrap_or(0));
            drain(&mut a, at(now));
        }
        // The server reads what was sent since.
        let out = a.transport.out[read..].to_vec();
        read = a.transport.out.len();
        for line in out.split_inclusive(|&b| b == b'\n') {
            match Line::read(line) {
                Line::Hello(2) => (declared, connection_last) = (None, 0),
                Line::Declare { g, series } => {
                    assert!(declared.is_none_or(|(d, _)| g > d), "{step}: g {g} again");
                    declared = Some((g, series.len()));
                }
                Line::Values {
                    seq, dropped, g, x, ..
                } => {
                    let Some((d, series)) = declared else {
                        panic!("{step}: values {seq} before any declaration");
                    };
                    assert_eq!(g, d, "{step}: values {seq} of another generation");
                    assert_eq!(x.len(), series, "{step}: values {seq}");
                    let (cpus, value) = recorded[&seq];
                    assert_eq!(series, cpus + 1, "{step}: values {seq}");
                    assert!(x.iter().all(|&v| v == value), "{step}: values {seq}");
                    assert!(seq > connection_last, "{step}: {seq} out of order");
                    assert!(dropped >= last_dropped, "{step}: the count went down");
                    (connection_last, last_dropped) = (seq, dropped);
                    received.insert(seq);
                }
                other => panic!("{step}: {other:?}"),
            }
        }
    }
    // A last connection that takes everything.
    for _ in 0..100 {
        if a.is_ready() {
            break;
        }
        now += 1000;
        if drain(&mut a, at(now)).last() == Some(&Event::Connected) {
            welcome(&mut a, received.last().copied().unwrap_or(0));
            drain(&mut a, at(now));
        }
    }
    assert!(a.is_ready());
    for line in a.transport.out[read..].split_inclusive(|&b| b == b'\n') {
        if let Line::Values { seq, .. } = Line::read(line) {
            received.insert(seq);
        }
    }
    let never: Vec<u64> = recorded
        .keys()
        .filter(|s| !received.contains(s))
        .copied()
        .collect();
    let stats = a.stats();
    assert_eq!(stats.doubtful, 0);
    assert_eq!(
        stats.dropped,
        never.len() as u64,
        "never received: {never:?}"
    );
    assert!(
        !never.is_empty() && received.len() > 100,
        "the test drops some"
    );
}

/// Welcomes (`last_seq`) as a server that reads lines leaving values out.
fn welcome_same(agent: &mut TestAgent, last_seq: u64) {
    push(
        agent,
        Message::Welcome(Welcome {
            server: crate::sample::bounded("s"),
            last_seq,
            same: 1,
        }),
    );
}

/// Records a sample of two CPUs' user time and the 1-minute load.
fn record_three(a: &mut TestAgent, values: [f64; 3], now: Instant) -> u64 {
    let mut series = |out: &mut dyn Series| {
        out.add(f::CPU, &["0", "user"], values[0]);
        out.add(f::CPU, &["1", "user"], values[1]);
        out.add(f::LOAD1, &[], values[2]);
        out.add(f::TIME, &[], 1.0);
    };
    a.record_series(&mut series, now.as_millis(), now).unwrap()
}

/// The values lines sent, read as a server does: each on top of the one before it since the
/// last hello or declaration, with its number and whether it left values out.
fn values_sent(a: &TestAgent) -> Vec<(u64, Vec<f64>, bool)> {
    let mut out: Vec<(u64, Vec<f64>, bool)> = Vec::new();
    let mut base: Vec<f64> = Vec::new();
    for line in a.transport.lines() {
        let line = line.trim_end().as_bytes();
        if line.starts_with(br#"{"v":2,"kind":"hello""#)
            || line.starts_with(br#"{"v":2,"kind":"declare""#)
        {
            base.clear();
            continue;
        }
        let (header, values, delta) = crate::wire::vectors::apply(&base, line).unwrap();
        assert!(
            !delta || !base.is_empty(),
            "values left out of a connection's first line"
        );
        base = values.clone();
        out.push((header.seq, values, delta));
    }
    out
}

#[test]
fn to_a_server_that_says_same_the_values_it_has_are_left_out() {
    let mut a = v2_agent(64 * 1024);
    record_three(&mut a, [10.5, 123456.25, 98765.125], at(0));
    drain(&mut a, at(0));
    welcome_same(&mut a, 0);
    drain(&mut a, at(0));
    record_three(&mut a, [10.5, 123456.25, 98765.125], at(1000));
    record_three(&mut a, [11.5, 123456.25, 98765.125], at(2000));
    drain(&mut a, at(2000));
    // Every change is a new value: none is left out.
    record_three(&mut a, [12.5, 123457.25, 98766.125], at(3000));
    drain(&mut a, at(3000));
    let sent = values_sent(&a);
    let expected = [
        (1, vec![10.5, 123456.25, 98765.125], false),
        (2, vec![10.5, 123456.25, 98765.125], true),
        (3, vec![11.5, 123456.25, 98765.125], true),
        (4, vec![12.5, 123457.25, 98766.125], false),
    ];
    assert_eq!(sent, expected);
    let lines = a.transport.lines();
    assert!(lines[3].contains(r#""same":[],"x":[]"#), "{}", lines[3]);
    assert!(
        lines[4].contains(r#""same":[0,1],"x":[11.5]"#),
        "{}",
        lines[4]
    );

    // An ack takes the line the next one would build on: that one goes whole.
    push(&mut a, Message::Ack(Ack { seq: 4 }));
    drain(&mut a, at(3000));
    record_three(&mut a, [12.5, 123457.25, 98766.125], at(4000));
    drain(&mut a, at(4000));
    assert_eq!(
        values_sent(&a).last().unwrap(),
        &(5, vec![12.5, 123457.25, 98766.125], false)
    );

    // On a new connection everything goes whole first, and only to a server that says `same`.
    hang_up(&mut a, at(4000));
    a.transport.out.clear();
    drain(&mut a, at(60_000));
    welcome(&mut a, 4);
    drain(&mut a, at(60_000));
    record_three(&mut a, [12.5, 123457.25, 98766.125], at(61_000));
    drain(&mut a, at(61_000));
    let sent = values_sent(&a);
    assert_eq!(
        sent,
        [
            (5, vec![12.5, 123457.25, 98766.125], false),
            (6, vec![12.5, 123457.25, 98766.125], false)
        ]
    );
}
