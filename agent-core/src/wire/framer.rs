//! Framing: bytes that arrive cut anywhere into lines, each handed to a decoder. A partial line
//! waits in a buffer of fixed size on a board, or in one that grows as far as a line needs on
//! the server; a line too long is reported once and skipped to its newline.

use serde::de::DeserializeOwned;

use super::{Check, DecodeError, Message, decode_line};
use crate::sample::Sample;

/// What [`Decoder::feed`] made of its input.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum FeedResult<'a, M = Message<Sample>> {
    /// All the input was taken; no line is complete yet.
    Consumed,
    /// A line was a message; `remaining` is the input after it, to feed again.
    Message {
        #[allow(missing_docs)]
        message: M,
        #[allow(missing_docs)]
        remaining: &'a [u8],
    },
    /// A line was not a message, or grew past the limit (then the rest of it, up to the next
    /// newline, is skipped as it arrives). `remaining` is the input to feed again.
    Error {
        #[allow(missing_docs)]
        error: DecodeError,
        #[allow(missing_docs)]
        remaining: &'a [u8],
    },
}

/// Where a [`Framer`] keeps the start of a line that has not ended yet.
///
/// A fixed array on a board (see [`Decoder`]); a buffer that grows only as far as the lines that
/// need it on a server with thousands of connections.
pub trait LineBuffer {
    /// The longest line, in bytes without its newline, that is accepted.
    fn limit(&self) -> usize;
    /// At least `len` bytes of storage, whose first bytes keep what was stored before; `None`
    /// when `len` is over [`limit`](LineBuffer::limit) or the storage cannot grow.
    fn room(&mut self, len: usize) -> Option<&mut [u8]>;
    /// The first `len` bytes stored.
    fn held(&self, len: usize) -> &[u8];
    /// Called when no partial line is held: a growable buffer may give memory back.
    fn release(&mut self) {}
}

impl<const N: usize> LineBuffer for [u8; N] {
    fn limit(&self) -> usize {
        N
    }

    fn room(&mut self, len: usize) -> Option<&mut [u8]> {
        (len <= N).then_some(&mut self[..])
    }

    fn held(&self, len: usize) -> &[u8] {
        self.get(..len).unwrap_or_default()
    }
}

/// A stream decoder with a fixed buffer of `N` bytes, the longest line it accepts.
pub type Decoder<const N: usize> = Framer<[u8; N]>;

/// A stream decoder: feed it bytes as they arrive, cut anywhere; call
/// [`feed`](Framer::feed) again with `remaining` until it answers [`FeedResult::Consumed`].
/// After any error it resynchronises at the next newline. A line that arrives whole in one feed
/// is decoded where it lies; only a line split across feeds is copied into the buffer `B`.
#[derive(Debug)]
pub struct Framer<B> {
    buf: B,
    len: usize,
    /// Inside a line that was already reported too long: drop bytes until its newline.
    skipping: bool,
}

impl<const N: usize> Default for Framer<[u8; N]> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Framer<[u8; N]> {
    /// An empty decoder.
    pub const fn new() -> Self {
        Framer {
            buf: [0; N],
            len: 0,
            skipping: false,
        }
    }
}

impl<B: LineBuffer> Framer<B> {
    /// An empty decoder keeping partial lines in `buf`.
    pub fn with_buffer(buf: B) -> Self {
        Framer {
            buf,
            len: 0,
            skipping: false,
        }
    }

    /// Bytes of an incomplete line held now.
    pub fn buffered(&self) -> usize {
        self.len
    }

    /// Forgets any partial line, as after a reconnect.
    pub fn reset(&mut self) {
        self.len = 0;
        self.skipping = false;
        self.buf.release();
    }

    /// Takes `input` up to the end of the first complete line and says what it was.
    pub fn feed<'a, S: DeserializeOwned + Check>(
        &mut self,
        input: &'a [u8],
    ) -> FeedResult<'a, Message<S>> {
        self.feed_with(input, decode_line::<S>)
    }

    /// Like [`feed`](Framer::feed), with `read` turning each complete line (without its
    /// newline; blank lines are skipped) into a message: to check a line's seal before
    /// decoding it, for example.
    pub fn feed_with<'a, M>(
        &mut self,
        mut input: &'a [u8],
        mut read: impl FnMut(&[u8]) -> Result<M, DecodeError>,
    ) -> FeedResult<'a, M> {
        loop {
            let newline = find_newline(input);
            if self.skipping {
                match newline {
                    None => return FeedResult::Consumed,
                    Some(end) => {
                        self.skipping = false;
                        input = input.get(end + 1..).unwrap_or_default();
                        continue;
                    }
                }
            }
            let Some(end) = newline else {
                return self.hold(input);
            };
            let (head, remaining) = (
                input.get(..end).unwrap_or_default(),
                input.get(end + 1..).unwrap_or_default(),
            );
            let limit = self.buf.limit();
            let result = if self.len == 0 {
                if head.len() > limit {
                    return FeedResult::Error {
                        error: DecodeError::LineTooLong,
                        remaining,
                    };
                }
                if head.iter().all(|b| b.is_ascii_whitespace()) {
                    input = remaining;
                    continue;
                }
                read(head)
            } else {
                let (start, total) = (self.len, self.len + head.len());
                self.len = 0;
                match self
                    .buf
                    .room(total)
                    .and_then(|room| room.get_mut(start..total))
                {
                    Some(tail) => tail.copy_from_slice(head),
                    None => {
                        self.buf.release();
                        return FeedResult::Error {
                            error: DecodeError::LineTooLong,
                            remaining,
                        };
                    }
                }
                let line = self.buf.held(total);
                if line.iter().all(|b| b.is_ascii_whitespace()) {
                    self.buf.release();
                    input = remaining;
                    continue;
                }
                let result = read(line);
                self.buf.release();
                result
            };
            return match result {
                Ok(message) => FeedResult::Message { message, remaining },
                Err(error) => FeedResult::Error { error, remaining },
            };
        }
    }

    /// Keeps a partial line, or reports it too long and skips the rest of it.
    fn hold<'a, M>(&mut self, input: &'a [u8]) -> FeedResult<'a, M> {
        if input.is_empty() {
            return FeedResult::Consumed;
        }
        let total = self.len + input.len();
        match self
            .buf
            .room(total)
            .and_then(|room| room.get_mut(self.len..total))
        {
            Some(tail) => {
                tail.copy_from_slice(input);
                self.len = total;
                FeedResult::Consumed
            }
            None => {
                self.len = 0;
                self.skipping = true;
                self.buf.release();
                FeedResult::Error {
                    error: DecodeError::LineTooLong,
                    remaining: &[],
                }
            }
        }
    }
}

/// Where the first `\n` in `bytes` is: eight bytes at a time, and on a 64-bit machine first 32
/// at a time, as four independent words, since the server's stream decoder looks for the end of
/// every sample line (a few kilobytes each) before anything else. A board reads only the
/// server's short lines, and is spared that loop: 196 bytes of the firmware's flash (`make
/// firmware` with the `cfg` below and without it).
pub(super) fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const NEWLINES: u64 = u64::from_le_bytes([b'\n'; 8]);
    // Flags the newlines of a word: a zero byte of `x` is a newline, and the lowest flagged
    // byte is always a true one (a flag above it may be a borrow's).
    let flags = |word: &[u8]| {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        let x = u64::from_le_bytes(eight) ^ NEWLINES;
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let mut at = 0;
    #[cfg(target_pointer_width = "64")]
    for block in bytes.chunks_exact(32) {
        let (a, b) = block.split_at(16);
        let ((a0, a1), (b0, b1)) = (a.split_at(8), b.split_at(8));
        if flags(a0) | flags(a1) | flags(b0) | flags(b1) != 0 {
            break;
        }
        at += 32;
    }
    let rest = bytes.get(at..).unwrap_or_default();
    let mut words = rest.chunks_exact(8);
    for word in &mut words {
        let found = flags(word);
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| at + i)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::wire::vectors::*;

    #[test]
    fn find_newline_agrees_with_a_plain_search() {
        // Bytes next to b'\n' in value, and with the high bit set, around every position.
        let fill = [b'a', 0x0b, 0x09, 0x8a, 0x00, 0xff];
        for len in 0..80 {
            for &f in &fill {
                let mut bytes = std::vec![f; len];
                assert_eq!(find_newline(&bytes), None);
                for at in 0..len {
                    bytes[at] = b'\n';
                    if at + 2 < len {
                        bytes[at + 2] = b'\n';
                    }
                    let plain = bytes.iter().position(|&b| b == b'\n');
                    assert_eq!(find_newline(&bytes), plain, "len {len} at {at} fill {f}");
                    bytes.fill(f);
                }
            }
        }
    }

    /// Feeds `input` in chunks of `chunk` bytes, collecting every outcome.
    fn feed_all<const N: usize>(
        decoder: &mut Decoder<N>,
        input: &[u8],
        chunk: usize,
    ) -> heapless::Vec<Result<&'static str, DecodeError>, 16> {
        let mut out = heapless::Vec::new();
        for piece in input.chunks(chunk) {
            let mut rest = piece;
            loop {
                match decoder.feed::<Sample>(rest) {
                    FeedResult::Consumed => break,
                    FeedResult::Message { message, remaining } => {
                        out.push(Ok(message.kind())).unwrap();
                        rest = remaining;
                    }
                    FeedResult::Error { error, remaining } => {
                        out.push(Err(error)).unwrap();
                        rest = remaining;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn a_stream_split_at_every_byte_gives_the_same_messages() {
        let mut stream = heapless::Vec::<u8, 4096>::new();
        for v in [HELLO, SAMPLE, ACK] {
            stream.extend_from_slice(&line(v)).unwrap();
        }
        for chunk in [1, 2, 3, 7, 64, 4096] {
            let mut decoder = Decoder::<2048>::new();
            let got = feed_all(&mut decoder, &stream, chunk);
            assert_eq!(
                got.as_slice(),
                &[Ok("hello"), Ok("sample"), Ok("ack")],
                "chunk {chunk}"
            );
            assert_eq!(decoder.buffered(), 0);
        }
    }

    #[test]
    fn bad_lines_are_reported_and_the_stream_recovers_at_the_next_newline() {
        let mut stream = heapless::Vec::<u8, 4096>::new();
        for v in [GARBAGE, BAD_UTF8, ACK, UNKNOWN_KIND, b"", b"  \r", ACK] {
            stream.extend_from_slice(&line(v)).unwrap();
        }
        for chunk in [1, 5, 4096] {
            let got = feed_all(&mut Decoder::<256>::new(), &stream, chunk);
            assert_eq!(
                got.as_slice(),
                &[
                    Err(DecodeError::BadJson),
                    Err(DecodeError::BadUtf8),
                    Ok("ack"),
                    Err(DecodeError::UnknownKind),
                    Ok("ack"),
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn an_oversized_line_is_reported_once_skipped_whole_and_followed_by_recovery() {
        let mut stream = heapless::Vec::<u8, 4096>::new();
        stream.extend_from_slice(&[b'x'; 300]).unwrap();
        stream.push(b'\n').unwrap();
        stream.extend_from_slice(&line(ACK)).unwrap();
        for chunk in [1, 10, 100, 4096] {
            let got = feed_all(&mut Decoder::<64>::new(), &stream, chunk);
            assert_eq!(
                got.as_slice(),
                &[Err(DecodeError::LineTooLong), Ok("ack")],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_accepted() {
        let got = feed_all(&mut Decoder::<{ ACK.len() }>::new(), &line(ACK), 3);
        assert_eq!(got.as_slice(), &[Ok("ack")]);
        let got = feed_all(&mut Decoder::<{ ACK.len() - 1 }>::new(), &line(ACK), 3);
        assert_eq!(got.as_slice(), &[Err(DecodeError::LineTooLong)]);
    }
}
