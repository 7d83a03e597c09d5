//! Encoding: a message into one line at the start of a caller's buffer. The header is written
//! by hand and the body by serde-json-core right after it, with no buffer in between.

use serde::Serialize;

use super::{EncodeError, MAX_LINE, Message, PROTOCOL_V2, PROTOCOL_VERSION};

/// Writes `message` as one line, newline included, at the start of `buf`.
///
/// Returns the number of bytes written.
///
/// # Errors
/// [`EncodeError::BufferFull`] when `buf` is too small, [`EncodeError::LineTooLong`] when the
/// line would exceed [`MAX_LINE`].
pub fn encode<S: Serialize>(message: &Message<S>, buf: &mut [u8]) -> Result<usize, EncodeError> {
    encode_versioned(PROTOCOL_VERSION, message, buf)
}

/// As [`encode`], with `version` as the line's `v`: a server answers a v2 agent in v2, and a v2
/// agent's hello is a v1 hello but for its `v`. (A v1 `sample` is never sent with another.)
///
/// # Errors
/// As [`encode`].
pub fn encode_versioned<S: Serialize>(
    version: u32,
    message: &Message<S>,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    let v = version;
    match message {
        Message::Hello(body) => encode_body_v(v, "hello", body, buf),
        Message::Welcome(body) => encode_body_v(v, "welcome", body, buf),
        Message::Sample(body) => encode_body_v(v, "sample", body, buf),
        Message::Ack(body) => encode_body_v(v, "ack", body, buf),
        Message::Error(body) => encode_body_v(v, "error", body, buf),
        Message::Challenge(body) => encode_body_v(v, "challenge", body, buf),
        Message::Auth(body) => encode_body_v(v, "auth", body, buf),
    }
}

/// Writes `{"v":1,"kind":"<kind>",<body's fields>}\n`.
///
/// The body is serialized right after the header and its opening brace is turned into the comma
/// that joins the two, so no intermediate buffer is needed. The agent calls it for the three
/// kinds it sends, so a board carries no serializer for the kinds only servers send.
pub(crate) fn encode_body<B: Serialize>(
    kind: &str,
    body: &B,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    encode_body_v(PROTOCOL_VERSION, kind, body, buf)
}

/// As [`encode_body`], with `version` (1 or 2) as the `v`.
pub(crate) fn encode_body_v<B: Serialize>(
    version: u32,
    kind: &str,
    body: &B,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    let mut at = 0;
    let open = if version == PROTOCOL_V2 {
        r#"{"v":2,"kind":""#
    } else {
        r#"{"v":1,"kind":""#
    };
    for part in [open, kind, "\""] {
        let end = at + part.len();
        buf.get_mut(at..end)
            .ok_or(EncodeError::BufferFull)?
            .copy_from_slice(part.as_bytes());
        at = end;
    }
    let rest = buf.get_mut(at..).ok_or(EncodeError::BufferFull)?;
    let body_len = serde_json_core::to_slice(body, rest).map_err(|_| EncodeError::BufferFull)?;
    // Every body is a struct with at least one field, so it is `{...}` with something inside.
    match rest.first_mut() {
        Some(brace) if body_len > 2 => *brace = b',',
        _ => return Err(EncodeError::BufferFull),
    }
    at += body_len;
    if at > MAX_LINE {
        return Err(EncodeError::LineTooLong);
    }
    *buf.get_mut(at).ok_or(EncodeError::BufferFull)? = b'\n';
    Ok(at + 1)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::String;

    use super::*;
    use crate::sample::Sample;
    use crate::wire::vectors::*;
    use crate::wire::{Check, DecodeError, SampleMessage, decode_line};

    #[test]
    fn encode_refuses_a_buffer_that_is_too_small() {
        let message = one(SAMPLE).unwrap();
        for len in [0, 10, SAMPLE.len() - 1, SAMPLE.len()] {
            let mut buf = [0u8; 4096];
            assert_eq!(
                encode(&message, &mut buf[..len]),
                Err(EncodeError::BufferFull),
                "{len}"
            );
        }
        let mut buf = [0u8; 4096];
        assert_eq!(
            encode(&message, &mut buf[..SAMPLE.len() + 1]),
            Ok(SAMPLE.len() + 1)
        );
    }

    /// The largest sample an agent could encode: every collection full, every number at its
    /// longest, every name at its longest in `name(i)`.
    fn largest_sample(name: impl Fn(usize) -> String) -> Sample {
        use crate::sample::*;
        let mut sample: Sample = Sample::default();
        for cpu in 0..MAX_CPUS {
            let v = 1.2345678901234567e300;
            let _ = sample.cpus.push(Cpu {
                cpu: cpu as u16,
                user: v,
                nice: v,
                system: v,
                idle: v,
                iowait: v,
                irq: v,
                softirq: v,
                steal: v,
            });
        }
        for i in 0..MAX_FILESYSTEMS {
            let long = name(i);
            let _ = sample.filesystems.push(Filesystem {
                device: bounded(&long),
                fstype: bounded(&long),
                mountpoint: bounded(&long),
                size: u64::MAX,
                free: u64::MAX,
                avail: u64::MAX,
                files: u64::MAX,
                files_free: u64::MAX,
                readonly: false,
            });
        }
        for i in 0..MAX_INTERFACES {
            let long = name(i);
            let _ = sample.interfaces.push(Interface {
                device: bounded(&long),
                rx_bytes: u64::MAX,
                rx_packets: u64::MAX,
                rx_errs: u64::MAX,
                rx_drop: u64::MAX,
                tx_bytes: u64::MAX,
                tx_packets: u64::MAX,
                tx_errs: u64::MAX,
                tx_drop: u64::MAX,
                up: false,
            });
        }
        for i in 0..MAX_SENSORS {
            let long = name(i);
            let _ = sample.sensors.push(Sensor {
                chip: bounded(&long),
                sensor: bounded(&long),
                celsius: -1.2345678901234567e300,
            });
        }
        for i in 0..MAX_DISKS {
            let long = name(i);
            let v = 1.2345678901234567e300;
            let _ = sample.disks.push(Disk {
                device: bounded(&long),
                reads_completed: u64::MAX,
                reads_merged: u64::MAX,
                read_bytes: u64::MAX,
                read_time: v,
                writes_completed: u64::MAX,
                writes_merged: u64::MAX,
                written_bytes: u64::MAX,
                write_time: v,
                io_now: u64::MAX,
                io_time: v,
                io_time_weighted: v,
            });
        }
        let v = 1.2345678901234567e300;
        sample.pressure = Some(Pressure {
            cpu_waiting: v,
            memory_waiting: v,
            memory_stalled: v,
            io_waiting: v,
            io_stalled: v,
        });
        sample
    }

    #[test]
    fn the_largest_default_sample_fits_in_a_line() {
        use crate::sample::PATH_LEN;
        // A control character escapes to six bytes (`\u0001`), the most any character takes:
        // such a sample is refused, but even it fits in a line.
        let worst = largest_sample(|_| "\u{1}".repeat(PATH_LEN));
        let message = Message::Sample(SampleMessage {
            seq: u64::MAX,
            dropped: u64::MAX,
            sample: worst,
        });
        let mut buf = [0u8; MAX_LINE + 1];
        let n = encode(&message, &mut buf).unwrap();
        assert!(n <= MAX_LINE + 1);
        assert!(matches!(
            decode_line::<Sample>(&buf[..n - 1]),
            Err(DecodeError::BadLabel(_))
        ));
        // The largest one a receiver takes: names of escaped quotes, distinct in each collection.
        let valid = largest_sample(|i| std::format!("{i:02}") + &"\"".repeat(PATH_LEN - 2));
        let message = Message::Sample(SampleMessage {
            seq: u64::MAX,
            dropped: u64::MAX,
            sample: valid,
        });
        let n = encode(&message, &mut buf).unwrap();
        assert_eq!(decode_line::<Sample>(&buf[..n - 1]).unwrap(), message);
        // Escaped names are left to the general parser, which reads them the same.
        assert!(<Sample>::parse_fast(&buf[..n - 1]).is_none());
    }
}
