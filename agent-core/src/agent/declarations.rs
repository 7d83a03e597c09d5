//! Protocol v2's declarations: the current one and those before it, encoded once, kept beside
//! the ring for as long as samples waiting in it follow them.
//!
//! A `values` line means something only after its declaration, and a connection must be sent
//! the declaration again before the first values of each generation it is sent (see
//! `Agent::send_pending`). The ring's records are in sequence order and generations only go
//! up, so a record's generation is that of the newest declaration made at or before its
//! sequence number: no byte of the ring's header is spent on it. Up to [`KEPT`] declarations
//! are kept, as many as their room holds, so that samples taken before changes of series (a
//! mount appears, a container starts and its veth interface with it, while the server is away)
//! still go out after them; past that the oldest is forgotten, and with it the samples that
//! follow it, which no declaration could introduce any more: they are counted lost like
//! samples a full ring drops.

use super::{Agent, RecordError};
use crate::catalogue::custom::Custom;
use crate::catalogue::{Series, f};
use crate::time::Instant;
use crate::transport::Transport;
use crate::wire::{self, EncodeError, MAX_LINE, ValuesHeader, ValuesWriter};

/// Bytes of a v2 agent's storage (after its hello) that hold the declarations: a third, and
/// no more than two of the longest lines the protocol allows.
///
/// A declaration weighs about four of its values lines (a label text, against a number): the
/// documented one-CPU sample's is 995 bytes, its values 249 and its v1 line 1,039 (the vectors
/// of docs/protocol.md); a 64-CPU server's is about 12 KiB, most of it its 512 CPU series at
/// about 20 bytes each. A third leaves the ring two thirds for values lines, about a quarter
/// of v1's samples, so a v2 ring holds about two and a half times as many samples as a v1 ring
/// of the same storage. The firmware's 2 KiB lend its declaration (482 bytes; its series never
/// change, so one is enough) a third, and the rest holds seven of its 160-byte values lines.
pub fn declarations_room(storage: usize) -> usize {
    (storage / 3).min(2 * (MAX_LINE + 1))
}

/// One declaration kept: its line lies in [`Declarations::buf`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Declaration {
    /// Its generation, the `g` of its line and of the values that follow it.
    g: u32,
    /// The sequence number of the first sample recorded with it: the samples from here up to
    /// the next declaration's first follow it.
    first_seq: u64,
    /// What identifies its series (see [`Identity`]): a sample whose series hash the same
    /// follows it too.
    hash: u64,
    /// The length of its line, newline included.
    len: usize,
}

/// Declarations kept at most. A Docker host changes its series at each container's start and
/// stop (its veth interface comes and goes): with two kept, a third change while the server was
/// away lost the samples before it. Each costs 24 bytes of bookkeeping beside its line, which a
/// board's RAM budget counts.
pub const KEPT: usize = 8;

/// The declarations kept, oldest first, their lines packed in the same order from the start of
/// the storage lent to them.
#[derive(Debug)]
pub(super) struct Declarations<'r> {
    /// Where the lines are kept; empty for a v1 agent.
    buf: &'r mut [u8],
    /// Oldest first; the last is the current one, which the next sample follows if its series
    /// are the same.
    kept: heapless::Vec<Declaration, KEPT>,
}

impl<'r> Declarations<'r> {
    pub(super) fn new(buf: &'r mut [u8]) -> Self {
        Declarations {
            buf,
            kept: heapless::Vec::new(),
        }
    }

    /// The current declaration's generation, if a sample whose series hash to `hash` follows
    /// it.
    pub(super) fn current_for(&self, hash: u64) -> Option<u32> {
        self.kept.last().filter(|c| c.hash == hash).map(|c| c.g)
    }

    /// The generation and the line of the declaration the sample `seq` follows, if it is kept:
    /// the newest made at or before it.
    pub(super) fn of(&self, seq: u64) -> Option<(u32, &[u8])> {
        let mut end = self.used();
        for d in self.kept.iter().rev() {
            let start = end - d.len;
            if seq >= d.first_seq {
                return Some((d.g, self.buf.get(start..end)?));
            }
            end = start;
        }
        None
    }

    /// The first sample a kept declaration introduces: the samples before it follow none, and
    /// can never be sent. `None` when none is kept: no sample can be.
    pub(super) fn oldest_seq(&self) -> Option<u64> {
        self.kept.first().map(|d| d.first_seq)
    }

    /// Bytes of the room the kept lines take.
    fn used(&self) -> usize {
        self.kept.iter().map(|d| d.len).sum()
    }

    /// Forgets the oldest declaration, moving the others' lines down over it.
    fn forget_oldest(&mut self) {
        if self.kept.is_empty() {
            return;
        }
        let oldest = self.kept.remove(0);
        let used = self.used();
        self.buf.copy_within(oldest.len..oldest.len + used, 0);
    }

    /// Makes the declaration `g`, whose line `encode` writes into the space it is given (its
    /// length, or [`EncodeError::BufferFull`]), the current one, for the samples from
    /// `first_seq` on. When the room left is too small, the older declarations are forgotten
    /// first, oldest first; when [`KEPT`] were kept, the oldest.
    ///
    /// # Errors
    /// [`EncodeError::BufferFull`] when the line does not fit even in the empty room (and all
    /// the older ones were forgotten trying), or what `encode` returned otherwise, with nothing
    /// forgotten.
    pub(super) fn declare(
        &mut self,
        g: u32,
        first_seq: u64,
        hash: u64,
        mut encode: impl FnMut(&mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<(), EncodeError> {
        loop {
            let used = self.used();
            let space = self.buf.get_mut(used..).unwrap_or_default();
            match encode(space) {
                Ok(len) if used + len <= self.buf.len() => {
                    if self.kept.is_full() {
                        // The oldest goes: the others and the new line move down.
                        let oldest = self.kept.remove(0);
                        self.buf.copy_within(oldest.len..used + len, 0);
                    }
                    let _ = self.kept.push(Declaration {
                        g,
                        first_seq,
                        hash,
                        len,
                    });
                    return Ok(());
                }
                Ok(_) | Err(EncodeError::BufferFull) => {}
                Err(e) => return Err(e),
            }
            if self.kept.is_empty() {
                return Err(EncodeError::BufferFull);
            }
            self.forget_oldest();
        }
    }
}

/// What identifies a sample's series, hashed (FNV-1a, 64 bits) as a [`Series`] sink: each
/// series' family number and label texts, in order, each text after its length so that no two
/// lists of labels hash alike by joining differently; and each custom family whole, so that a
/// new type or help text is declared too. Values are not hashed, nor `node_time_seconds`,
/// which is not declared.
///
/// Two different series sets that hash alike would send values under the wrong declaration;
/// at 64 bits, with a few changes per session, that does not happen in practice.
#[derive(Debug)]
pub(super) struct Identity(u64);

impl Identity {
    pub(super) fn new() -> Self {
        Identity(0xcbf2_9ce4_8422_2325)
    }

    pub(super) fn hash(&self) -> u64 {
        self.0
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// A text after its length.
    fn text(&mut self, text: &str) {
        self.bytes(&u32::try_from(text.len()).unwrap_or(u32::MAX).to_le_bytes());
        self.bytes(text.as_bytes());
    }
}

impl Series for Identity {
    fn custom(&mut self, family: u16, def: &Custom<'_>) {
        // After the number, a count no series has, so that a family never hashes as a series.
        self.bytes(&family.to_le_bytes());
        self.bytes(&u32::MAX.to_le_bytes());
        for text in [def.name, def.kind.as_str(), def.help] {
            self.text(text);
        }
        for label in def.labels {
            self.text(label);
        }
    }

    fn add(&mut self, family: u16, labels: &[&str], _value: f64) {
        if family == f::TIME {
            return;
        }
        self.bytes(&family.to_le_bytes());
        self.bytes(
            &u32::try_from(labels.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        for label in labels {
            self.text(label);
        }
    }
}

impl<T, const RX: usize> Agent<'_, T, RX>
where
    T: Transport,
{
    /// Protocol v2: encodes a sample, as the series `each` hands to its sink, taken at `time_ms`
    /// (milliseconds since the Unix epoch, its `node_time_seconds`) and at `now`, into the ring,
    /// and schedules the next one; returns its sequence number.
    ///
    /// `each` is called two or three times and must hand over the same series each time (as
    /// `|out| sample.series(out)` does): once to hash what identifies them, once more to
    /// declare them when they differ from the last sample's (a new generation, sent before the
    /// first values that follow it), and once to write the values.
    ///
    /// When the ring is full the oldest samples are dropped; so are the samples of a
    /// generation whose declaration is forgotten (past the eight kept, or for lack of room). Those no server merged are counted
    /// in the `dropped` of later samples.
    ///
    /// # Errors
    /// [`RecordError::WrongProtocol`] for an agent made for v1, and nothing is recorded.
    /// Otherwise when the sample cannot be kept: it is counted as dropped, its sequence number
    /// is skipped, and the schedule moves on.
    pub fn record_series(
        &mut self,
        each: &mut dyn FnMut(&mut dyn Series),
        time_ms: u64,
        now: Instant,
    ) -> Result<u64, RecordError> {
        if self.protocol != super::Protocol::V2 {
            return Err(RecordError::WrongProtocol);
        }
        let seq = self.next_sample(now);
        let mut identity = Identity::new();
        each(&mut identity);
        let g = match self.declarations.current_for(identity.hash()) {
            Some(g) => g,
            None => match self.declare(seq, identity.hash(), each) {
                Ok(g) => g,
                Err(e) => {
                    self.overrun |= self.losses.lost(1);
                    return Err(e);
                }
            },
        };
        let header = ValuesHeader {
            seq,
            dropped: self.losses.lost_count(),
            g,
            t: time_ms,
        };
        let (losses, sent, mut overrun) = (&mut self.losses, self.sent, false);
        let kept = self.ring.push_with(
            seq,
            |space| {
                let mut values = ValuesWriter::new(&header, space);
                each(&mut values);
                values.finish()
            },
            |dropped| overrun |= losses.dropped(dropped, sent),
        );
        self.kept(seq, kept, overrun)
    }

    /// Makes a new declaration of the series `each` hands over, for the samples from `seq` on;
    /// drops from the ring the samples whose declaration is forgotten, counting them like those
    /// a full ring drops. Returns its generation.
    fn declare(
        &mut self,
        seq: u64,
        hash: u64,
        each: &mut dyn FnMut(&mut dyn Series),
    ) -> Result<u32, RecordError> {
        let g = self.next_g;
        let made = self.declarations.declare(g, seq, hash, |space| {
            wire::encode_declare(g, &mut |out| each(out), space)
        });
        let oldest = self.declarations.oldest_seq();
        let mut overrun = false;
        while let Some(orphan) = self
            .ring
            .front_seq()
            .filter(|&s| oldest.is_none_or(|o| s < o))
        {
            self.ring.pop_front();
            overrun |= self.losses.dropped(orphan, self.sent);
        }
        self.overrun |= overrun;
        match made {
            Ok(()) => {
                self.next_g = g.saturating_add(1);
                Ok(g)
            }
            Err(EncodeError::BufferFull) => Err(RecordError::DeclarationTooLarge),
            Err(e) => Err(RecordError::Encode(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    fn declare(d: &mut Declarations<'_>, g: u32, first_seq: u64, line: &[u8]) -> bool {
        d.declare(g, first_seq, u64::from(g), |space| {
            let dst = space.get_mut(..line.len()).ok_or(EncodeError::BufferFull)?;
            dst.copy_from_slice(line);
            Ok(line.len())
        })
        .is_ok()
    }

    fn line(d: &Declarations<'_>, seq: u64) -> Option<(u32, Vec<u8>)> {
        d.of(seq).map(|(g, l)| (g, l.to_vec()))
    }

    #[test]
    fn each_sample_finds_its_declaration_and_one_past_kept_forgets_the_oldest() {
        let mut storage = [0u8; 200];
        let mut d = Declarations::new(&mut storage);
        assert_eq!((d.of(1), d.oldest_seq()), (None, None));
        assert!(declare(&mut d, 1, 1, b"one\n"));
        assert!(declare(&mut d, 2, 5, b"two..\n"));
        assert_eq!(line(&d, 4), Some((1, b"one\n".to_vec())));
        assert_eq!(line(&d, 5), Some((2, b"two..\n".to_vec())));
        assert_eq!(line(&d, 9), Some((2, b"two..\n".to_vec())));
        // As many as KEPT, each changing the series at sample 5 * g: a third change while the
        // server is away (a container started, say) forgets nothing.
        for g in 3..=KEPT as u32 {
            assert!(declare(
                &mut d,
                g,
                u64::from(5 * g),
                &[b'0' + g as u8, b'\n']
            ));
        }
        assert_eq!(d.oldest_seq(), Some(1));
        assert_eq!(line(&d, 4), Some((1, b"one\n".to_vec())));
        assert_eq!(line(&d, 14), Some((2, b"two..\n".to_vec())));
        assert_eq!(line(&d, 15), Some((3, b"3\n".to_vec())));
        let last = KEPT as u32;
        assert_eq!(
            line(&d, 1000),
            Some((last, [b'0' + last as u8, b'\n'].to_vec()))
        );
        // One more: the oldest goes, and the lines after it move down whole.
        assert!(declare(&mut d, last + 1, 1000, b"next\n"));
        assert_eq!(d.oldest_seq(), Some(5), "the first is forgotten");
        assert_eq!(line(&d, 4), None);
        assert_eq!(line(&d, 8), Some((2, b"two..\n".to_vec())));
        assert_eq!(line(&d, 15), Some((3, b"3\n".to_vec())));
        assert_eq!(line(&d, 1000), Some((last + 1, b"next\n".to_vec())));
        assert_eq!(d.current_for(u64::from(last + 1)), Some(last + 1));
        assert_eq!(d.current_for(2), None);
    }

    #[test]
    fn a_declaration_too_large_for_two_makes_room_by_forgetting_the_older() {
        let mut storage = [0u8; 20];
        let mut d = Declarations::new(&mut storage);
        assert!(declare(&mut d, 1, 1, &[b'a'; 8]));
        assert!(declare(&mut d, 2, 3, &[b'b'; 8]));
        // 12 bytes: only beside the second.
        assert!(declare(&mut d, 3, 6, &[b'c'; 12]));
        assert_eq!(line(&d, 3), Some((2, [b'b'; 8].to_vec())));
        assert_eq!(line(&d, 6), Some((3, [b'c'; 12].to_vec())));
        // 15 bytes: alone.
        assert!(declare(&mut d, 4, 7, &[b'd'; 15]));
        assert_eq!(d.oldest_seq(), Some(7));
        assert_eq!(line(&d, 7), Some((4, [b'd'; 15].to_vec())));
        // 21 bytes: not at all, and nothing is left.
        assert!(!declare(&mut d, 5, 8, &[b'e'; 21]));
        assert_eq!((d.oldest_seq(), d.of(8)), (None, None));
        assert!(declare(&mut d, 5, 9, &[b'f'; 20]));
        assert_eq!(line(&d, 9), Some((5, [b'f'; 20].to_vec())));
    }

    #[test]
    fn an_encoding_error_forgets_nothing() {
        let mut storage = [0u8; 20];
        let mut d = Declarations::new(&mut storage);
        assert!(declare(&mut d, 1, 1, b"one\n"));
        let failed = d.declare(2, 2, 2, |_| Err(EncodeError::LineTooLong));
        assert_eq!(failed, Err(EncodeError::LineTooLong));
        assert_eq!(line(&d, 2), Some((1, b"one\n".to_vec())));
    }

    #[test]
    fn an_empty_room_keeps_nothing() {
        let mut d = Declarations::new(&mut []);
        assert!(!declare(&mut d, 1, 1, b"x"));
        assert_eq!(d.oldest_seq(), None);
    }

    #[test]
    fn the_identity_is_the_families_and_labels_not_the_values_or_the_time() {
        let hash = |series: &[(u16, &[&str], f64)]| {
            let mut identity = Identity::new();
            for (family, labels, value) in series {
                identity.add(*family, labels, *value);
            }
            identity.hash()
        };
        let base = hash(&[(0, &["0", "user"], 1.0), (1, &[], 2.0)]);
        assert_eq!(
            base,
            hash(&[(0, &["0", "user"], 9.0), (1, &[], 7.0), (f::TIME, &[], 5.0)])
        );
        assert_ne!(base, hash(&[(0, &["0", "user"], 1.0)]));
        assert_ne!(base, hash(&[(0, &["0", "idle"], 1.0), (1, &[], 2.0)]));
        assert_ne!(base, hash(&[(0, &["0u", "ser"], 1.0), (1, &[], 2.0)]));
        assert_ne!(base, hash(&[(1, &[], 2.0), (0, &["0", "user"], 1.0)]));
    }

    #[test]
    fn a_custom_family_that_changes_in_any_way_changes_the_identity() {
        use crate::catalogue::Kind;
        use crate::catalogue::custom::CUSTOM_BASE;
        let hash = |def: Custom<'_>| {
            let mut identity = Identity::new();
            identity.custom(CUSTOM_BASE, &def);
            identity.add(CUSTOM_BASE, &["md0"], 1.0);
            identity.hash()
        };
        let base = Custom {
            name: "raid_degraded",
            kind: Kind::Gauge,
            help: "Degraded.",
            labels: &["md"],
        };
        let variants = [
            Custom {
                name: "raid_failed",
                ..base
            },
            Custom {
                kind: Kind::Untyped,
                ..base
            },
            Custom {
                help: "Degraded!",
                ..base
            },
            Custom {
                labels: &["dev"],
                ..base
            },
        ];
        for variant in variants {
            assert_ne!(hash(base), hash(variant), "{variant:?}");
        }
        assert_eq!(hash(base), hash(base));
        let mut without = Identity::new();
        without.add(CUSTOM_BASE, &["md0"], 1.0);
        assert_ne!(hash(base), without.hash());
    }
}
