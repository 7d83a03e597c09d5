//! The wire test vectors: named lines that the tests of every file of `wire` read.
//!
//! The first group are the examples of `docs/protocol.md`, byte for byte: a test below checks
//! that each appears there verbatim and that the document shows no other message line, so the
//! two cannot drift. The second group are lines only the tests use: refused ones, older and odd
//! spellings.

use crate::sample::Sample;
use crate::wire::{DecodeError, Item, Message, ValuesHeader, decode_items, decode_line};

// Test code (the module is `cfg(test)`): std is there, as in the tests of every file.
extern crate std;
use std::vec::Vec;

// ---- In docs/protocol.md: each decodes, and encodes back to exactly the same bytes.

pub(super) const HELLO: &[u8] = br#"{"v":1,"kind":"hello","id":"pi-kitchen","version":"0.1.0","os":"Linux","arch":"aarch64","kernel":"6.1.0-rpi7","kernel_version":"1 SMP PREEMPT","hostname":"pi-kitchen","domainname":"(none)","interval_ms":10000,"session":1700000000000}"#;
/// A hello after a reconnect: its session had sent samples up to 41 and asks for an ack per 8.
pub(super) const HELLO_AGAIN: &[u8] = br#"{"v":1,"kind":"hello","id":"pi-kitchen","version":"0.1.0","os":"Linux","arch":"aarch64","kernel":"6.1.0-rpi7","kernel_version":"1 SMP PREEMPT","hostname":"pi-kitchen","domainname":"(none)","interval_ms":10000,"session":1700000000000,"ack_every":8,"last_sent":41}"#;
pub(super) const WELCOME: &[u8] =
    br#"{"v":1,"kind":"welcome","server":"vitals-server 0.1.0","last_seq":0}"#;
pub(crate) const SAMPLE: &[u8] = br#"{"v":1,"kind":"sample","seq":1,"dropped":0,"sample":{"time_ms":1700000000000,"boot_time":1699990000,"load1":0.5,"load5":0.25,"load15":0.125,"cpu_usage":0.1,"cpus":[{"cpu":0,"user":10.5,"nice":0.0,"system":3.25,"idle":100.0,"iowait":0.5,"irq":0.0,"softirq":0.01,"steal":0.0}],"memory":{"total":1024,"free":512,"available":768,"buffers":16,"cached":128,"swap_total":0,"swap_free":0},"filesystems":[],"interfaces":[{"device":"eth0","up":true,"rx_bytes":1,"rx_packets":2,"rx_errs":0,"rx_drop":0,"tx_bytes":3,"tx_packets":4,"tx_errs":0,"tx_drop":0}],"sensors":[],"disks":[{"device":"sda","reads_completed":10,"reads_merged":1,"read_bytes":40960,"read_time":0.25,"writes_completed":20,"writes_merged":2,"written_bytes":81920,"write_time":0.5,"io_now":0,"io_time":0.75,"io_time_weighted":1.0}],"pressure":{"cpu_waiting":1.5,"memory_waiting":0.0,"memory_stalled":0.0,"io_waiting":2.25,"io_stalled":1.0},"context_switches":99,"forks":5,"procs_running":1,"procs_blocked":0,"omitted":{"cpus":0,"filesystems":0,"interfaces":0,"sensors":0,"disks":0}}}"#;
pub(super) const ACK: &[u8] = br#"{"v":1,"kind":"ack","seq":7}"#;
pub(super) const ERROR: &[u8] =
    br#"{"v":1,"kind":"error","code":"line_too_long","message":"line is too long"}"#;
pub(super) const CHALLENGE: &[u8] = br#"{"v":1,"kind":"challenge","nonce":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}"#;
pub(super) const AUTH: &[u8] = br#"{"v":1,"kind":"auth","mac":"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"}"#;

/// Protocol v2: the same hello but for its `v`, then the documented sample's series declared,
/// and its values.
pub(crate) const HELLO_V2: &[u8] = br#"{"v":2,"kind":"hello","id":"pi-kitchen","version":"0.1.0","os":"Linux","arch":"aarch64","kernel":"6.1.0-rpi7","kernel_version":"1 SMP PREEMPT","hostname":"pi-kitchen","domainname":"(none)","interval_ms":10000,"session":1700000000000}"#;
pub(crate) const DECLARE_V2: &[u8] = br#"{"v":2,"kind":"declare","g":1,"families":[[0,"cpu","mode"],[1],[2],[3],[4],[5],[6],[7],[8],[9],[10],[17,"device"],[18,"device"],[19,"device"],[20,"device"],[21,"device"],[22,"device"],[23,"device"],[24,"device"],[25,"device"],[27],[29],[30],[31],[32],[34],[39,"collection"],[41,"device"],[42,"device"],[43,"device"],[44,"device"],[45,"device"],[46,"device"],[47,"device"],[48,"device"],[49,"device"],[50,"device"],[51,"device"],[52],[53],[54],[55],[56]],"series":[[0,"0","user"],[0,"0","nice"],[0,"0","system"],[0,"0","idle"],[0,"0","iowait"],[0,"0","irq"],[0,"0","softirq"],[0,"0","steal"],[1],[2],[3],[4],[5],[6],[7],[8],[9],[10],[17,"eth0"],[18,"eth0"],[19,"eth0"],[20,"eth0"],[21,"eth0"],[22,"eth0"],[23,"eth0"],[24,"eth0"],[25,"eth0"],[41,"sda"],[42,"sda"],[43,"sda"],[44,"sda"],[45,"sda"],[46,"sda"],[47,"sda"],[48,"sda"],[49,"sda"],[50,"sda"],[51,"sda"],[52],[53],[54],[55],[56],[27],[29],[30],[31],[32],[34],[39,"cpus"],[39,"filesystems"],[39,"interfaces"],[39,"sensors"],[39,"disks"]]}"#;
/// A v2 server's welcome: it reads `values` lines that leave values out (`same`).
pub(crate) const WELCOME_V2: &[u8] =
    br#"{"v":2,"kind":"welcome","server":"vitals-server 0.1.0","last_seq":0,"same":1}"#;
/// The next sample after `VALUES_V2`, ten seconds on, leaving out the values it shares with it.
pub(crate) const VALUES_SAME_V2: &[u8] = br#"{"v":2,"kind":"values","seq":2,"dropped":0,"g":1,"t":1700000010000,"same":[0,1,1,2,4,1,3,2,30,1],"x":[10.75,3.5,109.5,0.75,500,756,140]}"#;
pub(crate) const VALUES_V2: &[u8] = br#"{"v":2,"kind":"values","seq":1,"dropped":0,"g":1,"t":1700000000000,"x":[10.5,0,3.25,100,0.5,0,0.01,0,0.5,0.25,0.125,1024,512,768,16,128,0,0,1,2,0,0,3,4,0,0,1,10,1,40960,0.25,20,2,81920,0.5,0,0.75,1,1.5,0,0,2.25,1,1699990000,99,5,1,0,0.1,0,0,0,0,0]}"#;
/// Protocol v2 with families of the agent's own (a textfile's): one of the catalogue's and two
/// custom ones declared, then their values.
pub(crate) const DECLARE_CUSTOM_V2: &[u8] = br#"{"v":2,"kind":"declare","g":2,"families":[[1]],"custom":[[32768,"backup_age_seconds","gauge","Seconds since the last good backup.","target"],[32769,"raid_degraded","untyped","Metric read from /var/lib/vitals/textfile/raid.prom","md"]],"series":[[1],[32768,"/home"],[32768,"/srv"],[32769,"md0"]]}"#;
pub(crate) const VALUES_CUSTOM_V2: &[u8] = br#"{"v":2,"kind":"values","seq":7,"dropped":0,"g":2,"t":1700000060000,"x":[0.5,3600,86400,0]}"#;

/// The vectors of `docs/protocol.md`, by the names it gives them.
pub(super) const DOCUMENTED: [(&str, &[u8]); 15] = [
    ("HELLO", HELLO),
    ("HELLO_AGAIN", HELLO_AGAIN),
    ("WELCOME", WELCOME),
    ("SAMPLE", SAMPLE),
    ("ACK", ACK),
    ("ERROR", ERROR),
    ("CHALLENGE", CHALLENGE),
    ("AUTH", AUTH),
    ("HELLO_V2", HELLO_V2),
    ("DECLARE_V2", DECLARE_V2),
    ("VALUES_V2", VALUES_V2),
    ("WELCOME_V2", WELCOME_V2),
    ("VALUES_SAME_V2", VALUES_SAME_V2),
    ("DECLARE_CUSTOM_V2", DECLARE_CUSTOM_V2),
    ("VALUES_CUSTOM_V2", VALUES_CUSTOM_V2),
];

// ---- Lines only the tests use.

/// A sample from an agent that predates disks and pressure: still valid.
pub(super) const SAMPLE_WITHOUT_DISKS: &[u8] = br#"{"v":1,"kind":"sample","seq":1,"dropped":0,"sample":{"time_ms":1,"boot_time":1,"load1":0,"load5":0,"load15":0,"cpu_usage":0,"cpus":[],"memory":{"total":0,"free":0,"available":0,"buffers":0,"cached":0,"swap_total":0,"swap_free":0},"filesystems":[],"interfaces":[],"sensors":[],"context_switches":0,"forks":0,"procs_running":0,"procs_blocked":0,"omitted":{"cpus":0,"filesystems":0,"interfaces":0,"sensors":0}}}"#;
/// A hello with escapes in a string: `\"` and `\u00e9`.
pub(super) const HELLO_ESCAPED: &[u8] = br#"{"v":1,"kind":"hello","id":"a","version":"0.1.0","os":"Linux","arch":"x86_64","kernel":"6","kernel_version":"say \"hi\" caf\u00e9","hostname":"h","domainname":"(none)","interval_ms":1000,"session":1}"#;
/// A hello whose hostname holds a NUL: refused (`bad_label`).
pub(super) const HELLO_BAD_LABEL: &[u8] = br#"{"v":1,"kind":"hello","id":"a","version":"0.1.0","os":"Linux","arch":"x86_64","kernel":"6","kernel_version":"1","hostname":"h\u0000","domainname":"(none)","interval_ms":1000,"session":1}"#;
/// A hello declaring an interval over an hour: refused (`invalid_value`).
pub(super) const HELLO_INTERVAL_TOO_LONG: &[u8] = br#"{"v":1,"kind":"hello","id":"a","version":"0.1.0","os":"Linux","arch":"x86_64","kernel":"6","kernel_version":"1","hostname":"h","domainname":"(none)","interval_ms":4294967295,"session":1}"#;
pub(super) const FUTURE_VERSION: &[u8] = br#"{"v":3,"kind":"hello"}"#;
pub(super) const UNKNOWN_KIND: &[u8] = br#"{"v":1,"kind":"gossip"}"#;
pub(super) const GARBAGE: &[u8] = b"GET / HTTP/1.1";
pub(super) const BAD_UTF8: &[u8] = b"{\"v\":1,\"kind\":\"ack\",\"seq\":\xff}";
pub(super) const NEGATIVE_CPU: &[u8] = br#"{"v":1,"kind":"sample","seq":1,"dropped":0,"sample":{"time_ms":1,"boot_time":1,"load1":0,"load5":0,"load15":0,"cpu_usage":0,"cpus":[{"cpu":0,"user":-1,"nice":0,"system":0,"idle":0,"iowait":0,"irq":0,"softirq":0,"steal":0}],"memory":{"total":0,"free":0,"available":0,"buffers":0,"cached":0,"swap_total":0,"swap_free":0},"filesystems":[],"interfaces":[],"sensors":[],"context_switches":0,"forks":0,"procs_running":0,"procs_blocked":0,"omitted":{"cpus":0,"filesystems":0,"interfaces":0,"sensors":0}}}"#;
pub(super) const BAD_ID: &[u8] = br#"{"v":1,"kind":"hello","id":"a\"b","version":"","os":"","arch":"","kernel":"","kernel_version":"","hostname":"","domainname":"","interval_ms":1000,"session":1}"#;

/// `bytes` and a newline, as a line arrives.
pub(super) fn line(bytes: &[u8]) -> heapless::Vec<u8, 4096> {
    let mut v = heapless::Vec::new();
    v.extend_from_slice(bytes).unwrap();
    v.push(b'\n').unwrap();
    v
}

/// `bytes`, a line without its newline, decoded by the general decoder.
pub(crate) fn one(bytes: &[u8]) -> Result<Message, DecodeError> {
    decode_line::<Sample>(bytes)
}

/// What a receiver makes of the `values` line `line` on top of `previous`'s values, as the
/// server does: its header, its values, and whether it left values out.
pub(crate) fn apply(
    previous: &[f64],
    line: &[u8],
) -> Result<(ValuesHeader, Vec<f64>, bool), DecodeError> {
    let mut values = previous.to_vec();
    let (mut at, mut delta) = (0, false);
    let header = decode_items(line, |item| {
        match item {
            Item::Same(n) => {
                delta = true;
                at += n as usize;
                if at > values.len() {
                    return Err(DecodeError::InvalidValue("same"));
                }
            }
            Item::New(v) if delta => {
                *values.get_mut(at).ok_or(DecodeError::InvalidValue("x"))? = v;
                at += 1;
            }
            Item::New(v) => {
                values.truncate(at);
                values.push(v);
                at += 1;
            }
        }
        Ok(())
    })?;
    if !delta {
        values.truncate(at);
    }
    Ok((header, values, delta))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::format;
    use std::vec::Vec;

    use super::*;
    use crate::wire::encode;

    /// The protocol document whose examples are the first group of vectors.
    const PROTOCOL_MD: &str = include_str!("../../../docs/protocol.md");

    #[test]
    fn each_vector_decodes_and_encodes_back_to_the_same_bytes() {
        for vector in [
            HELLO,
            HELLO_AGAIN,
            WELCOME,
            ACK,
            ERROR,
            SAMPLE,
            CHALLENGE,
            AUTH,
        ] {
            let message = one(vector).unwrap_or_else(|e| panic!("{e}: {vector:?}"));
            let mut buf = [0u8; 4096];
            let n = encode(&message, &mut buf).unwrap();
            assert_eq!(&buf[..n], line(vector).as_slice(), "{}", message.kind());
        }
        // A v2 hello is a v1 hello but for its `v` (the other v2 lines have tests of their
        // own, in declare.rs and values.rs).
        let hello = one(HELLO_V2).unwrap();
        assert_eq!(crate::wire::version_of(HELLO_V2), Some(2));
        let mut buf = [0u8; 4096];
        let n = crate::wire::encode_versioned(2, &hello, &mut buf).unwrap();
        assert_eq!(&buf[..n], line(HELLO_V2).as_slice());
        assert_eq!(one(HELLO).unwrap(), hello);
        // A v2 server's welcome says `same`; the v1 one does not.
        let welcome = one(WELCOME_V2).unwrap();
        let n = crate::wire::encode_versioned(2, &welcome, &mut buf).unwrap();
        assert_eq!(&buf[..n], line(WELCOME_V2).as_slice());
        assert!(matches!(one(WELCOME).unwrap(), Message::Welcome(w) if w.same == 0));
    }

    #[test]
    fn the_protocol_document_shows_every_documented_vector_verbatim_and_no_other_line() {
        // The lines of its ```json examples: the messages it shows.
        let mut in_json = false;
        let mut shown = Vec::new();
        for line in PROTOCOL_MD.lines() {
            match line {
                "```json" => in_json = true,
                "```" => in_json = false,
                _ if in_json => shown.push(line),
                _ => {}
            }
        }
        for (name, vector) in DOCUMENTED {
            let text = core::str::from_utf8(vector).unwrap();
            assert!(
                shown.contains(&text),
                "docs/protocol.md does not show `{name}` as wire/vectors.rs has it:\n{text}"
            );
            assert!(
                PROTOCOL_MD.contains(&format!("`{name}`")),
                "docs/protocol.md does not name the vector `{name}`"
            );
        }
        for line in shown {
            assert!(
                DOCUMENTED.iter().any(|(_, v)| *v == line.as_bytes()),
                "docs/protocol.md shows a line that is no vector of wire/vectors.rs:\n{line}"
            );
        }
    }
}
