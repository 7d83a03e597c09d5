//! A FIFO of encoded lines in storage the caller lends: samples waiting for their ack.
//!
//! Each record is a 12-byte header (sequence number, line length, little-endian) and the line,
//! in one piece: a sample is encoded straight into the free space after the newest record, so
//! no line buffer is needed beside the ring (on a board, that buffer would be most of the
//! agent's stack). When the space up to the end of the storage is too small, the record goes to
//! the start instead, as in a bip buffer, and the end is left unused until the oldest records
//! are acknowledged past it. Keeping lines encoded means a sample costs what it weighs on the
//! wire (a 4-CPU board's sample is a fraction of a 64-CPU server's), is encoded once however
//! often it is sent, and the storage can be a `static` on a board or a zeroed heap block on
//! Linux whose untouched pages cost nothing.

use crate::wire::EncodeError;

/// Bytes of a record's header: the sequence number and the line length.
pub(super) const HEADER: usize = 12;

#[derive(Debug)]
pub(super) struct Ring<'r> {
    buf: &'r mut [u8],
    /// Where the oldest record starts.
    head: usize,
    /// Where the next record goes.
    tail: usize,
    /// When the records wrapped to the start of the storage: where the ones before the wrap
    /// end. Records then run from `head` to here, and from 0 to `tail`.
    wrapped_at: Option<usize>,
    /// Records held.
    records: usize,
}

/// A record as stored: its sequence number and its line.
pub(super) struct Record<'a> {
    pub seq: u64,
    pub line: &'a [u8],
}

/// Why [`Ring::push_with`] kept nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PushError {
    /// The line did not fit even in the empty ring; the `dropped` records it held were
    /// dropped trying.
    TooLarge { dropped: usize },
    /// The line could not be encoded for another reason than its size.
    Encode(EncodeError),
}

impl<'r> Ring<'r> {
    pub(super) fn new(buf: &'r mut [u8]) -> Self {
        Ring {
            buf,
            head: 0,
            tail: 0,
            wrapped_at: None,
            records: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.records
    }

    /// Appends a record whose line `encode` writes into the space it is given (returning the
    /// line's length, or [`EncodeError::BufferFull`] when the space is too small), dropping
    /// the oldest records until it fits; returns how many were dropped, and hands the sequence
    /// number of each to `dropped`, oldest first.
    ///
    /// # Errors
    /// [`PushError::TooLarge`] when the line does not fit even in the empty ring (the records
    /// dropped trying are lost: how long a line is, is only known by encoding it); and
    /// [`PushError::Encode`] when encoding failed otherwise, with nothing dropped.
    pub(super) fn push_with(
        &mut self,
        seq: u64,
        mut encode: impl FnMut(&mut [u8]) -> Result<usize, EncodeError>,
        mut dropped_seq: impl FnMut(u64),
    ) -> Result<usize, PushError> {
        let mut dropped = 0;
        loop {
            // The free places, in the order they are tried: after the newest record, then
            // (wrapping) from the start of the storage up to the oldest.
            let places = match self.wrapped_at {
                Some(_) => [Some((self.tail, self.head)), None],
                None => [Some((self.tail, self.buf.len())), Some((0, self.head))],
            };
            for (start, end) in places.into_iter().flatten() {
                let Some(space) = self.buf.get_mut(start + HEADER..end) else {
                    continue;
                };
                match encode(space) {
                    Ok(len) => {
                        self.commit(start, seq, len);
                        return Ok(dropped);
                    }
                    Err(EncodeError::BufferFull) => {}
                    Err(e) => return Err(PushError::Encode(e)),
                }
            }
            let Some(oldest) = self.front_seq() else {
                return Err(PushError::TooLarge { dropped });
            };
            self.pop_front();
            dropped_seq(oldest);
            dropped += 1;
        }
    }

    /// Writes the header of the line of `len` bytes just encoded after `start`.
    fn commit(&mut self, start: usize, seq: u64, len: usize) {
        if start < self.tail {
            self.wrapped_at = Some(self.tail);
        }
        let mut header = [0u8; HEADER];
        let (seq_bytes, len_bytes) = header.split_at_mut(8);
        seq_bytes.copy_from_slice(&seq.to_le_bytes());
        len_bytes.copy_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
        if let Some(dst) = self.buf.get_mut(start..start + HEADER) {
            dst.copy_from_slice(&header);
        }
        self.tail = start + HEADER + len;
        self.records += 1;
    }

    /// The sequence number of the oldest record.
    pub(super) fn front_seq(&self) -> Option<u64> {
        self.iter().next().map(|r| r.seq)
    }

    /// Drops the oldest record.
    pub(super) fn pop_front(&mut self) {
        let Some(next) = self.record_at(self.head).map(|(_, end)| end) else {
            return;
        };
        self.records -= 1;
        self.head = next;
        if self.records == 0 {
            // Start again at the beginning: the most room is then in one piece.
            (self.head, self.tail, self.wrapped_at) = (0, 0, None);
        } else if self.wrapped_at == Some(self.head) {
            (self.head, self.wrapped_at) = (0, None);
        }
    }

    /// The records, oldest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = Record<'_>> {
        let mut at = self.head;
        let mut left = self.records;
        core::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            if self.wrapped_at == Some(at) {
                at = 0;
            }
            let (record, end) = self.record_at(at)?;
            at = end;
            left -= 1;
            Some(record)
        })
    }

    /// The record whose header is at `at`, and where it ends.
    fn record_at(&self, at: usize) -> Option<(Record<'_>, usize)> {
        if self.records == 0 {
            return None;
        }
        let header = self.buf.get(at..at + HEADER)?;
        let (seq, len) = header.split_at(8);
        let seq = u64::from_le_bytes(seq.try_into().ok()?);
        let len = usize::try_from(u32::from_le_bytes(len.try_into().ok()?)).ok()?;
        let end = at + HEADER + len;
        let line = self.buf.get(at + HEADER..end)?;
        Some((Record { seq, line }, end))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    /// Pushes `line` as the encoder would write it.
    fn push(ring: &mut Ring<'_>, seq: u64, line: &[u8]) -> Result<usize, PushError> {
        let before: Vec<u64> = ring.iter().map(|r| r.seq).collect();
        let mut dropped = Vec::new();
        let result = ring.push_with(
            seq,
            |space| {
                let dst = space.get_mut(..line.len()).ok_or(EncodeError::BufferFull)?;
                dst.copy_from_slice(line);
                Ok(line.len())
            },
            |seq| dropped.push(seq),
        );
        // The records dropped are the oldest, reported in order.
        assert_eq!(dropped, before[..dropped.len()]);
        let n = match result {
            Ok(n) | Err(PushError::TooLarge { dropped: n }) => n,
            Err(PushError::Encode(_)) => 0,
        };
        assert_eq!(dropped.len(), n);
        result
    }

    fn lines(ring: &Ring<'_>) -> Vec<(u64, Vec<u8>)> {
        ring.iter().map(|r| (r.seq, r.line.to_vec())).collect()
    }

    #[test]
    fn records_come_out_in_order_and_whole_across_the_wrap() {
        let mut storage = [0u8; 64];
        let mut ring = Ring::new(&mut storage);
        // 12 + 20 = 32 bytes each: two fit.
        assert_eq!(push(&mut ring, 1, &[b'a'; 20]), Ok(0));
        assert_eq!(push(&mut ring, 2, &[b'b'; 20]), Ok(0));
        assert_eq!(
            push(&mut ring, 3, &[b'c'; 20]),
            Ok(1),
            "the oldest makes room"
        );
        assert_eq!(
            lines(&ring),
            [(2, [b'b'; 20].to_vec()), (3, [b'c'; 20].to_vec())]
        );
        // Sizes that do not divide the storage make records wrap to the start.
        for seq in 4..40 {
            let line = std::vec![seq as u8; 1 + (seq as usize * 7) % 23];
            push(&mut ring, seq, &line).unwrap();
            let got = lines(&ring);
            assert_eq!(got.last().unwrap(), &(seq, line.to_vec()), "{seq}");
            assert_eq!(ring.front_seq(), Some(got[0].0));
            assert_eq!(ring.len(), got.len());
            assert!(got.windows(2).all(|w| w[1].0 == w[0].0 + 1));
        }
    }

    #[test]
    fn acknowledging_past_the_wrap_frees_the_end() {
        let mut storage = [0u8; 100];
        let mut ring = Ring::new(&mut storage);
        for seq in 1..=3 {
            push(&mut ring, seq, &[seq as u8; 18]).unwrap(); // 30 bytes each
        }
        ring.pop_front();
        // 10 bytes are left at the end: the next record goes to the start, before seq 2.
        assert_eq!(push(&mut ring, 4, &[4; 18]), Ok(0));
        assert_eq!(
            lines(&ring).iter().map(|l| l.0).collect::<Vec<_>>(),
            [2, 3, 4]
        );
        ring.pop_front();
        ring.pop_front();
        // Only seq 4 is left, at the start; the rest is one piece again.
        assert_eq!(push(&mut ring, 5, &[5; 58]), Ok(0));
        assert_eq!(lines(&ring).iter().map(|l| l.0).collect::<Vec<_>>(), [4, 5]);
    }

    #[test]
    fn a_line_larger_than_the_storage_is_refused() {
        let mut storage = [0u8; 32];
        let mut ring = Ring::new(&mut storage);
        push(&mut ring, 1, b"short").unwrap();
        assert_eq!(
            push(&mut ring, 2, &[0; 21]),
            Err(PushError::TooLarge { dropped: 1 })
        );
        assert_eq!(ring.len(), 0, "the older one was dropped trying");
        assert_eq!(push(&mut ring, 2, &[0; 20]), Ok(0));
    }

    #[test]
    fn an_encoding_error_drops_nothing() {
        let mut storage = [0u8; 32];
        let mut ring = Ring::new(&mut storage);
        push(&mut ring, 1, b"short").unwrap();
        assert_eq!(
            ring.push_with(2, |_| Err(EncodeError::LineTooLong), |_| unreachable!()),
            Err(PushError::Encode(EncodeError::LineTooLong))
        );
        assert_eq!(lines(&ring), [(1, b"short".to_vec())]);
    }

    #[test]
    fn popping_empties_and_restarts_at_the_beginning() {
        let mut storage = [0u8; 40];
        let mut ring = Ring::new(&mut storage);
        push(&mut ring, 1, b"abc").unwrap();
        push(&mut ring, 2, b"defgh").unwrap();
        ring.pop_front();
        assert_eq!(ring.front_seq(), Some(2));
        ring.pop_front();
        assert_eq!((ring.len(), ring.front_seq()), (0, None));
        ring.pop_front();
        push(&mut ring, 3, &[7; 28]).unwrap();
        assert_eq!(lines(&ring), [(3, [7; 28].to_vec())]);
    }

    #[test]
    fn any_mix_of_pushes_and_acks_keeps_lines_whole_and_in_order() {
        let mut storage = [0u8; 200];
        let mut ring = Ring::new(&mut storage);
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let line_of = |seq: u64| std::vec![seq as u8; 1 + (seq as usize * 37) % 90];
        let mut acked = 0;
        for seq in 1..5000u64 {
            let line = line_of(seq);
            let before = ring.len();
            let dropped = push(&mut ring, seq, &line).unwrap();
            assert!(dropped <= before, "{seq}");
            // Sometimes the server acknowledges up to some sample it has.
            if next(3) == 0 {
                acked = seq - next(4).min(seq - 1);
                while ring.front_seq().is_some_and(|s| s <= acked) {
                    ring.pop_front();
                }
            }
            let got = lines(&ring);
            assert_eq!(got.len(), ring.len());
            let used: usize = got.iter().map(|(_, l)| HEADER + l.len()).sum();
            assert!(used <= 200, "{seq}: {used} bytes in use");
            for (s, l) in &got {
                assert_eq!(l, &line_of(*s), "{seq}: the line of {s}");
                assert!(*s > acked, "{seq}: {s} was acknowledged");
            }
            assert!(got.windows(2).all(|w| w[1].0 == w[0].0 + 1), "{seq}");
            if acked < seq {
                assert_eq!(
                    got.last().map(|g| g.0),
                    Some(seq),
                    "{seq}: the newest is kept"
                );
            }
        }
    }

    #[test]
    fn an_empty_storage_keeps_nothing() {
        let mut ring = Ring::new(&mut []);
        assert_eq!(
            push(&mut ring, 1, b""),
            Err(PushError::TooLarge { dropped: 0 })
        );
        assert_eq!(ring.iter().count(), 0);
    }
}
