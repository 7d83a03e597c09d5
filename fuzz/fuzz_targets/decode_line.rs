//! `wire::decode_line` on arbitrary bytes.
//!
//! Besides never panicking, it checks:
//! - a refused line gets a line-level error, never `Incomplete` or `LineTooLong`;
//! - `decode` on the same bytes framed by `\n` (or `\r\n`) says the same as `decode_line`;
//! - an accepted line is a fixed point of the protocol: the message encodes into a
//!   `MAX_LINE + 1` buffer as exactly one line, that line decodes to the same message, and
//!   encoding it again gives the same bytes;
//! - `encode` refuses a buffer one byte short instead of writing a truncated line;
//! - where the fast sample reader (`Check::parse_fast`) answers, serde-json-core, the general
//!   parser, answers the same;
//! - the agent's decoder of server lines (`decode_server_line`) reads nothing `decode_line`
//!   reads otherwise, and reads every server message as `encode` writes it;
//! - `decode_line_into`, the server's in-place decoder, agrees with `decode_line`, into a
//!   sample that holds an earlier line's values.
#![no_main]

use agent_core::sample::Sample;
use agent_core::wire::{
    Check, DecodeError, EncodeError, MAX_LINE, Message, SampleMessage, ServerMessage, decode,
    decode_line, decode_line_into, decode_server_line, encode,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(fast) = <Sample>::parse_fast(data) {
        let mut unescaped = [0u8; 256];
        let general = serde_json_core::from_slice_escaped::<SampleMessage<Sample>>(data, &mut unescaped);
        assert_eq!(general.ok().map(|(m, _)| m), Some(fast), "the fast reader disagrees");
    }
    let decoded = decode_line::<Sample>(data);
    if let Err(error) = decoded {
        assert!(
            !matches!(error, DecodeError::Incomplete | DecodeError::LineTooLong),
            "decode_line returned {error:?}, which only `decode` may return"
        );
    }
    agrees_with_decode(data, &decoded);
    agrees_with_the_agent_side(data, &decoded);
    agrees_in_place(data, &decoded);
    if let Ok(message) = decoded {
        round_trips(&message);
    }
});

/// The agent's own decoder of server lines is sound: what it reads, the general decoder reads
/// the same. It is stricter (a member named twice, a leading zero, bytes after the object, ...),
/// so it may refuse a line the general one reads; `round_trips` checks it reads every server
/// message as the encoder writes it.
fn agrees_with_the_agent_side(data: &[u8], decoded: &Result<Message, DecodeError>) {
    match (decoded, decode_server_line(data)) {
        (Ok(Message::Welcome(a)), Ok(ServerMessage::Welcome(b))) => assert_eq!(a, &b),
        (Ok(Message::Ack(a)), Ok(ServerMessage::Ack(b))) => assert_eq!(a, &b),
        (Ok(Message::Error(a)), Ok(ServerMessage::Error(b))) => assert_eq!(a, &b),
        (Ok(Message::Challenge(a)), Ok(ServerMessage::Challenge(b))) => assert_eq!(a, &b),
        (_, Err(_)) => {}
        (general, agent) => panic!("decode_line says {general:?}, decode_server_line {agent:?}"),
    }
}

/// The agent reads each server message as the encoder writes it, and refuses the kinds only
/// agents send.
fn the_agent_reads(line: &[u8], message: &Message) {
    let read = decode_server_line(line);
    match (message, &read) {
        (Message::Welcome(a), Ok(ServerMessage::Welcome(b))) => assert_eq!(a, b),
        (Message::Ack(a), Ok(ServerMessage::Ack(b))) => assert_eq!(a, b),
        (Message::Error(a), Ok(ServerMessage::Error(b))) => assert_eq!(a, b),
        (Message::Challenge(a), Ok(ServerMessage::Challenge(b))) => assert_eq!(a, b),
        (Message::Hello(_) | Message::Sample(_) | Message::Auth(_), Err(e)) => {
            assert_eq!(*e, DecodeError::UnknownKind)
        }
        _ => panic!(
            "the agent reads {read:?} from the encoded {message:?}: {}",
            String::from_utf8_lossy(line)
        ),
    }
}

/// The in-place decoder says what `decode_line` says, whatever the sample it writes into held.
fn agrees_in_place(data: &[u8], decoded: &Result<Message, DecodeError>) {
    let mut slot = SampleMessage::<Sample>::default();
    let _ = slot.sample.cpus.push(Default::default());
    slot.sample.pressure = Some(Default::default());
    slot.seq = 99;
    match (decoded, decode_line_into(data, &mut slot)) {
        (Ok(Message::Sample(expected)), Ok(None)) => assert_eq!(&slot, expected),
        (Ok(expected), Ok(Some(other))) => assert_eq!(&other, expected),
        (Err(expected), Err(error)) => assert_eq!(&error, expected),
        (expected, got) => panic!("decode_line says {expected:?}, decode_line_into {got:?}"),
    }
}

/// `decode` frames a line and hands it to `decode_line`: with the newline added, both must give
/// the same answer. `decode_line` strips one trailing `\r`, so `\r\n` framing is only the same
/// line when `data` does not already end in `\r`.
fn agrees_with_decode(data: &[u8], decoded: &Result<Message, DecodeError>) {
    if data.contains(&b'\n') {
        return;
    }
    let endings: &[&[u8]] = if data.ends_with(b"\r") {
        &[b"\n"]
    } else {
        &[b"\n", b"\r\n"]
    };
    for ending in endings {
        let framed = [data, ending].concat();
        let line_len = framed.len() - 1;
        let expected = if line_len > MAX_LINE {
            Err(DecodeError::LineTooLong)
        } else {
            decoded.clone().map(|message| (message, framed.len()))
        };
        assert_eq!(
            decode::<Sample>(&framed),
            expected,
            "decode disagrees with decode_line on {ending:?} framing"
        );
    }
}

/// decode -> encode -> decode is stable, and encoding is deterministic.
fn round_trips(message: &Message) {
    let mut buf = vec![0u8; MAX_LINE + 1];
    let n = encode(message, &mut buf)
        .unwrap_or_else(|e| panic!("decoded {message:?} but cannot encode it: {e}"));
    let Some((line, b"\n")) = buf.get(..n).and_then(|b| b.split_last_chunk::<1>()) else {
        panic!("encode wrote {n} bytes that do not end in a newline");
    };
    assert!(
        line.len() <= MAX_LINE,
        "encode wrote a line of {} bytes",
        line.len()
    );
    assert!(
        !line.contains(&b'\n'),
        "encode wrote a newline inside the line: {line:?}"
    );
    let header = format!(r#"{{"v":1,"kind":"{}","#, message.kind());
    assert!(
        line.starts_with(header.as_bytes()),
        "encoded line does not start with {header}"
    );

    let again = decode_line::<Sample>(line).unwrap_or_else(|e| {
        panic!(
            "encode wrote a line decode_line refuses ({e:?}): {}",
            String::from_utf8_lossy(line)
        )
    });
    assert_eq!(
        &again, message,
        "decode -> encode -> decode changed the message"
    );
    the_agent_reads(line, message);

    let mut buf2 = vec![0u8; MAX_LINE + 1];
    let n2 = encode(&again, &mut buf2).expect("the re-decoded message encoded once already");
    assert_eq!(
        buf2.get(..n2),
        buf.get(..n),
        "encoding the same message twice gave different bytes"
    );

    assert_eq!(
        encode(message, &mut buf2[..n - 1]),
        Err(EncodeError::BufferFull),
        "encode into a buffer one byte short must fail"
    );
}
