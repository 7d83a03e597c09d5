//! A FIFO of encoded lines in storage the caller lends: samples waiting for their ack.
//!
//! Each record is a 12-byte header (sequence number, line length, little-endian) and the line,
//! and both may wrap around the end of the storage. Keeping lines encoded means a sample costs
//! what it weighs on the wire (a 4-CPU board's sample is a fraction of a 64-CPU server's),
//! is encoded once however often it is sent, and the storage can be a `static` on a board or a
//! zeroed heap block on Linux whose untouched pages cost nothing.

/// Bytes of a record's header: the sequence number and the line length.
pub(super) const HEADER: usize = 12;

#[derive(Debug)]
pub(super) struct Ring<'r> {
    buf: &'r mut [u8],
    /// Where the oldest record starts.
    head: usize,
    /// Bytes in use.
    used: usize,
    /// Records held.
    records: usize,
}

/// A record as stored: its sequence number and its line, in one or two pieces.
pub(super) struct Record<'a> {
    pub seq: u64,
    pub first: &'a [u8],
    pub second: &'a [u8],
}

impl<'r> Ring<'r> {
    pub(super) fn new(buf: &'r mut [u8]) -> Self {
        Ring {
            buf,
            head: 0,
            used: 0,
            records: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.records
    }

    fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Appends a record, dropping the oldest ones until it fits; returns how many were dropped.
    ///
    /// # Errors
    /// When the line could never fit, even in an empty ring; nothing is dropped then.
    pub(super) fn push(&mut self, seq: u64, line: &[u8]) -> Result<usize, ()> {
        let len = u32::try_from(line.len()).map_err(|_| ())?;
        let need = HEADER + line.len();
        if need > self.capacity() {
            return Err(());
        }
        let mut dropped = 0;
        while self.capacity() - self.used < need {
            self.pop_front();
            dropped += 1;
        }
        let mut header = [0u8; HEADER];
        let (seq_bytes, len_bytes) = header.split_at_mut(8);
        seq_bytes.copy_from_slice(&seq.to_le_bytes());
        len_bytes.copy_from_slice(&len.to_le_bytes());
        let tail = self.wrap(self.head + self.used);
        self.write_at(tail, &header);
        self.write_at(self.wrap(tail + HEADER), line);
        self.used += need;
        self.records += 1;
        Ok(dropped)
    }

    /// The sequence number of the oldest record.
    pub(super) fn front_seq(&self) -> Option<u64> {
        self.header_at(self.head)
            .filter(|_| self.records > 0)
            .map(|(seq, _)| seq)
    }

    /// Drops the oldest record.
    pub(super) fn pop_front(&mut self) {
        if self.records == 0 {
            return;
        }
        let len = self.header_at(self.head).map_or(0, |(_, len)| len);
        let size = (HEADER + len).min(self.used);
        self.head = self.wrap(self.head + size);
        self.used -= size;
        self.records -= 1;
        if self.records == 0 {
            // Start again at the beginning: the next lines are then contiguous.
            self.head = 0;
            self.used = 0;
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
            let (seq, len) = self.header_at(at)?;
            let start = self.wrap(at + HEADER);
            let (first, second) = self.slices(start, len);
            at = self.wrap(start + len);
            left -= 1;
            Some(Record { seq, first, second })
        })
    }

    fn wrap(&self, at: usize) -> usize {
        at.checked_rem(self.capacity()).unwrap_or(0)
    }

    /// `len` bytes from `start`, as the piece up to the end of storage and the piece after.
    fn slices(&self, start: usize, len: usize) -> (&[u8], &[u8]) {
        let until_end = self.capacity().saturating_sub(start);
        let first_len = len.min(until_end);
        let first = self.buf.get(start..start + first_len).unwrap_or_default();
        let second = self.buf.get(..len - first_len).unwrap_or_default();
        (first, second)
    }

    fn header_at(&self, at: usize) -> Option<(u64, usize)> {
        let (first, second) = self.slices(at, HEADER);
        let mut header = [0u8; HEADER];
        let (a, b) = header.split_at_mut(first.len());
        a.copy_from_slice(first);
        b.copy_from_slice(second.get(..b.len())?);
        let seq = u64::from_le_bytes(header.get(..8)?.try_into().ok()?);
        let len = u32::from_le_bytes(header.get(8..)?.try_into().ok()?);
        Some((seq, usize::try_from(len).ok()?))
    }

    fn write_at(&mut self, at: usize, data: &[u8]) {
        let until_end = self.capacity().saturating_sub(at);
        let (a, b) = data.split_at(data.len().min(until_end));
        if let Some(dst) = self.buf.get_mut(at..at + a.len()) {
            dst.copy_from_slice(a);
        }
        if let Some(dst) = self.buf.get_mut(..b.len()) {
            dst.copy_from_slice(b);
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    fn lines(ring: &Ring<'_>) -> Vec<(u64, Vec<u8>)> {
        ring.iter()
            .map(|r| (r.seq, [r.first, r.second].concat()))
            .collect()
    }

    #[test]
    fn records_come_out_in_order_and_whole_across_the_wrap() {
        let mut storage = [0u8; 64];
        let mut ring = Ring::new(&mut storage);
        // 12 + 20 = 32 bytes each: two fit.
        assert_eq!(ring.push(1, &[b'a'; 20]), Ok(0));
        assert_eq!(ring.push(2, &[b'b'; 20]), Ok(0));
        assert_eq!(ring.push(3, &[b'c'; 20]), Ok(1), "the oldest makes room");
        assert_eq!(
            lines(&ring),
            [(2, [b'b'; 20].to_vec()), (3, [b'c'; 20].to_vec())]
        );
        // Sizes that do not divide the storage make records wrap, headers included.
        for seq in 4..40 {
            let line = [seq as u8; 17];
            ring.push(seq, &line).unwrap();
            let got = lines(&ring);
            assert_eq!(got.last().unwrap(), &(seq, line.to_vec()), "{seq}");
            assert_eq!(ring.front_seq(), Some(got[0].0));
            assert!(got.windows(2).all(|w| w[1].0 == w[0].0 + 1));
        }
    }

    #[test]
    fn a_line_larger_than_the_storage_is_refused_without_dropping_anything() {
        let mut storage = [0u8; 32];
        let mut ring = Ring::new(&mut storage);
        ring.push(1, b"short").unwrap();
        assert_eq!(ring.push(2, &[0; 21]), Err(()));
        assert_eq!(ring.len(), 1);
        assert_eq!(ring.push(2, &[0; 20 - 5 - 12 + 8]), Ok(1));
    }

    #[test]
    fn popping_empties_and_restarts_at_the_beginning() {
        let mut storage = [0u8; 40];
        let mut ring = Ring::new(&mut storage);
        ring.push(1, b"abc").unwrap();
        ring.push(2, b"defgh").unwrap();
        ring.pop_front();
        assert_eq!(ring.front_seq(), Some(2));
        ring.pop_front();
        assert_eq!((ring.len(), ring.front_seq()), (0, None));
        ring.pop_front();
        ring.push(3, &[7; 28]).unwrap();
        assert_eq!(lines(&ring), [(3, [7; 28].to_vec())]);
    }

    #[test]
    fn an_empty_storage_keeps_nothing() {
        let mut ring = Ring::new(&mut []);
        assert_eq!(ring.push(1, b""), Err(()));
        assert_eq!(ring.iter().count(), 0);
    }
}
