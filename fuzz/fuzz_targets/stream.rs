//! `wire::Decoder` fed a byte stream cut into data-driven chunks.
//!
//! The outcomes must be exactly those of a reference that splits the whole stream on `\n` and
//! hands each line to `decode_line`, whatever the chunking:
//! - every byte is accounted for: each `remaining` is a suffix of the input fed, strictly shorter
//!   than it, and the bytes taken add up to the stream's length;
//! - a line of at most `N` bytes (counting a `\r` before the newline) that is not all ASCII
//!   whitespace gives one outcome, `decode_line`'s, reported right after its newline;
//!   a whitespace-only one gives none;
//! - a line over `N` bytes gives one `LineTooLong`, reported as soon as the buffer overflows: at
//!   the end of the chunk holding its `N + 1`th byte, or right after its newline if that chunk
//!   holds the newline too. The same goes for a last line with no newline yet;
//! - at the end the decoder holds exactly the unterminated last line, if it fits.
//!
//! Input layout, so the fuzzer can steer the chunking and reach lines around `N` bytes:
//! - byte 0: flags; bits 0-2 are the number of chunk-size bytes that follow, minus one;
//!   bit 3 asks for a run of one byte inserted into the stream (five more header bytes);
//! - the chunk sizes, used in turn: 0 feeds an empty chunk, 255 all the rest, any other value
//!   that many bytes;
//! - with bit 3: the run's byte, its length as u16 LE (mapped to `4096 - 256 .. 4096 + 256`) and
//!   where it goes as u16 LE (modulo the data's length + 1);
//! - the rest is the stream.
#![no_main]

use agent_core::sample::Sample;
use agent_core::wire::{DecodeError, Decoder, FeedResult, Message, decode_line};
use libfuzzer_sys::fuzz_target;

/// The decoder under test. The server's is `MAX_LINE` bytes, but the framing code does not
/// depend on `N`, and at 4 KiB the fuzzer reaches lines around the limit cheaply.
const N: usize = 4096;
/// A small decoder sees the same framing logic with an overflow in most inputs.
const SMALL: usize = 64;
/// A run's length is `RUN_BASE + u16 % RUN_SPAN`, so lines of `N - 256 ..= N + 255` bytes are
/// one run plus a few bytes away.
const RUN_BASE: usize = N - 256;
const RUN_SPAN: usize = 512;

const ACK: &[u8] = br#"{"v":1,"kind":"ack","seq":1}"#;

/// One thing the decoder said, and the stream offset just past the bytes it had taken then.
#[derive(Debug, PartialEq)]
struct Outcome {
    at: usize,
    result: Result<Message, DecodeError>,
}

fuzz_target!(|data: &[u8]| {
    let Some((stream, chunks)) = parse_input(data) else {
        return;
    };
    check::<N>(&stream, &chunks);
    check::<SMALL>(&stream, &chunks);
});

/// Builds the stream and its chunk boundaries, as `(start, end)` ranges that tile it.
fn parse_input(data: &[u8]) -> Option<(Vec<u8>, Vec<(usize, usize)>)> {
    let (&flags, rest) = data.split_first()?;
    let count = usize::from(flags & 0b111) + 1;
    let (sizes, rest) = rest.split_at_checked(count)?;
    let stream = if flags & 0b1000 != 0 {
        let (&[byte, len_lo, len_hi, at_lo, at_hi], rest) = rest.split_first_chunk::<5>()?;
        let len = RUN_BASE + usize::from(u16::from_le_bytes([len_lo, len_hi])) % RUN_SPAN;
        let at = usize::from(u16::from_le_bytes([at_lo, at_hi])) % (rest.len() + 1);
        let (before, after) = rest.split_at(at);
        [before, &vec![byte; len], after].concat()
    } else {
        rest.to_vec()
    };
    // Empty chunks only, forever, would never get through the stream.
    let sizes: &[u8] = if sizes.iter().all(|&s| s == 0) {
        &[255]
    } else {
        sizes
    };
    let mut chunks = Vec::new();
    let mut start = 0;
    for &size in sizes.iter().cycle() {
        if start == stream.len() {
            break;
        }
        let end = match size {
            255 => stream.len(),
            size => (start + usize::from(size)).min(stream.len()),
        };
        chunks.push((start, end));
        start = end;
    }
    Some((stream, chunks))
}

/// Feeds `stream` to a `Decoder<M>` chunk by chunk and compares it with the reference.
fn check<const M: usize>(stream: &[u8], chunks: &[(usize, usize)]) {
    let mut decoder = Decoder::<M>::new();
    let mut got = Vec::new();
    let mut taken = 0;
    for &(start, end) in chunks {
        let mut input = &stream[start..end];
        loop {
            let (result, remaining) = match decoder.feed::<Sample>(input) {
                FeedResult::Consumed => {
                    taken += input.len();
                    break;
                }
                FeedResult::Message { message, remaining } => (Ok(message), remaining),
                FeedResult::Error { error, remaining } => (Err(error), remaining),
            };
            assert!(
                remaining.len() < input.len(),
                "feed of {} bytes answered {result:?} without taking any",
                input.len()
            );
            // An empty `remaining` may point anywhere; any other must be the input's own tail.
            let tail = &input[input.len() - remaining.len()..];
            assert!(
                remaining.is_empty() || core::ptr::eq(remaining, tail),
                "remaining is not a suffix of the input"
            );
            taken += input.len() - remaining.len();
            got.push(Outcome {
                at: end - remaining.len(),
                result,
            });
            input = remaining;
        }
    }
    assert_eq!(
        taken,
        stream.len(),
        "Decoder<{M}> did not take every byte exactly once"
    );

    let (expected, held) = reference::<M>(stream, chunks);
    if got != expected {
        let first = (0..got.len().max(expected.len())).find(|&i| got.get(i) != expected.get(i));
        panic!(
            "Decoder<{M}> disagrees with the line reference\n got:      {:?}\n expected: {:?}\n \
             first difference: {:?}\n chunks: {chunks:?}",
            brief(&got),
            brief(&expected),
            first.map(|i| (got.get(i), expected.get(i))),
        );
    }
    assert_eq!(
        decoder.buffered(),
        held,
        "Decoder<{M}> holds the wrong number of bytes at the end"
    );

    // Whatever state the stream left it in, a reset decoder reads the next line afresh.
    decoder.reset();
    assert_eq!(decoder.buffered(), 0);
    let line = [ACK, b"\n"].concat();
    match decoder.feed::<Sample>(&line) {
        FeedResult::Message {
            message: Message::Ack(_),
            remaining: [],
        } => {}
        other => panic!("Decoder<{M}> after reset: {other:?}"),
    }
}

/// What `Decoder<M>` must say about `stream` cut at `chunks`, and what it holds at the end.
fn reference<const M: usize>(stream: &[u8], chunks: &[(usize, usize)]) -> (Vec<Outcome>, usize) {
    // The end of the (non-empty) chunk that holds stream byte `at`.
    let chunk_end = |at: usize| {
        chunks
            .iter()
            .find(|&&(start, end)| start <= at && at < end)
            .map(|&(_, end)| end)
            .expect("the chunks tile the stream")
    };
    let mut outcomes = Vec::new();
    let mut start = 0;
    while start < stream.len() {
        let newline = stream[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| start + i);
        let end = newline.unwrap_or(stream.len());
        let line = &stream[start..end];
        if line.len() > M {
            // The buffer overflows with byte `start + M`; the decoder says so at the end of the
            // chunk that brings it, or, if that chunk also brings the newline, just past it.
            let overflow = chunk_end(start + M);
            let at = match newline {
                Some(newline) if newline < overflow => newline + 1,
                _ => overflow,
            };
            outcomes.push(Outcome {
                at,
                result: Err(DecodeError::LineTooLong),
            });
        } else if newline.is_none() {
            return (outcomes, line.len());
        } else if !line.iter().all(u8::is_ascii_whitespace) {
            outcomes.push(Outcome {
                at: end + 1,
                result: decode_line::<Sample>(line),
            });
        }
        start = end + 1;
    }
    (outcomes, 0)
}

/// Outcomes without the samples' bulk, for a readable failure.
fn brief(outcomes: &[Outcome]) -> Vec<(usize, Result<&'static str, DecodeError>)> {
    outcomes
        .iter()
        .map(|o| (o.at, o.result.as_ref().map(Message::kind).map_err(|e| *e)))
        .collect()
}
