//! Which dropped samples were lost: the count a sample's `dropped` carries, kept exact.
//!
//! A sample is dropped from a full ring, or, in v2, with the declaration it follows when that
//! one is forgotten for a newer one (see `declarations`); both are the oldest samples, and
//! count alike.
//!
//! A sample dropped from a full ring may already have reached the server, merged but not yet
//! acknowledged (an ack covers up to `ack_every` samples, and one can be lost in a cut). Such a
//! sample is *doubtful* until the server says how far it merged: an ack on the connection it
//! was sent on, or the next welcome's `last_seq`. A sample dropped before it was handed to the
//! current connection never reaches a server and is lost at once.
//!
//! Drops take the oldest samples and sending goes oldest first, so the doubtful ones form one
//! run of sequence numbers. Its end is the newest sample handed over; a sample lost at once
//! while a run is open lies past it. Were the connection to send on, the next doubtful run
//! would start past that lost one, so the agent gives the connection up instead
//! ([`Losses::lost`] says when) and the next welcome settles the run.

/// The loss count of a session, and the run of doubtful samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Losses {
    /// Samples known lost: never merged by a server, and never to be.
    lost: u64,
    /// The first and last sequence numbers of the doubtful samples.
    doubtful: Option<(u64, u64)>,
}

impl Losses {
    /// Samples of this session known lost.
    pub(super) fn lost_count(&self) -> u64 {
        self.lost
    }

    /// Samples dropped that a server may have merged without acknowledging them yet.
    pub(super) fn doubtful_count(&self) -> u64 {
        self.doubtful.map_or(0, |(first, last)| {
            last.saturating_sub(first).saturating_add(1)
        })
    }

    /// The sample `seq` was dropped from the ring; `sent` is the newest sample handed to the
    /// current connection (or the last one, while there is none).
    ///
    /// Returns `true` when it was lost while a doubtful run is open: the connection must send
    /// nothing more before a welcome or an ack settles the run (see the module doc).
    pub(super) fn dropped(&mut self, seq: u64, sent: u64) -> bool {
        if seq > sent {
            return self.lost(1);
        }
        if let Some((first, last)) = self.doubtful {
            if last.checked_add(1) == Some(seq) {
                self.doubtful = Some((first, seq));
                return false;
            }
            // Not contiguous: cannot happen while the caller heeds `lost`. Were it to, counting
            // the open run lost keeps the count from ever going down.
            self.settle(0);
        }
        self.doubtful = Some((seq, seq));
        false
    }

    /// `n` samples lost for certain (dropped before they were ever sent, or that could not be
    /// kept at all). Returns `true` when a doubtful run is open: see [`Losses::dropped`].
    pub(super) fn lost(&mut self, n: u64) -> bool {
        self.lost = self.lost.saturating_add(n);
        self.doubtful.is_some()
    }

    /// The server acknowledged every sample up to `seq` on the connection the doubtful ones
    /// were sent on: those up to `seq` were merged; the rest stay doubtful.
    pub(super) fn acked(&mut self, seq: u64) {
        self.doubtful = match self.doubtful {
            Some((_, last)) if seq >= last => None,
            Some((first, last)) if seq >= first => Some((seq.saturating_add(1), last)),
            run => run,
        };
    }

    /// A welcome says the server merged up to `last_seq`: the doubtful samples after it were
    /// not merged and never will be (they are no longer in the ring to be sent again).
    ///
    /// A server that restarted has forgotten the session and says 0: what its predecessor
    /// merged without acknowledging is then counted lost too, as the agent cannot tell.
    pub(super) fn settle(&mut self, last_seq: u64) {
        let Some((first, last)) = self.doubtful.take() else {
            return;
        };
        if last > last_seq {
            let first_lost = first.max(last_seq + 1);
            self.lost = self
                .lost
                .saturating_add((last - first_lost).saturating_add(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_dropped_before_it_was_sent_is_lost_at_once() {
        let mut losses = Losses::default();
        assert!(!losses.dropped(5, 4));
        assert_eq!((losses.lost_count(), losses.doubtful_count()), (1, 0));
    }

    #[test]
    fn doubtful_samples_an_ack_covers_were_merged() {
        let mut losses = Losses::default();
        for seq in 3..=7 {
            assert!(!losses.dropped(seq, 10));
        }
        assert_eq!(losses.doubtful_count(), 5);
        losses.acked(2);
        assert_eq!(losses.doubtful_count(), 5);
        losses.acked(4);
        assert_eq!(losses.doubtful_count(), 3);
        losses.acked(9);
        assert_eq!((losses.lost_count(), losses.doubtful_count()), (0, 0));
    }

    #[test]
    fn a_welcome_counts_the_doubtful_samples_past_its_last_seq_lost() {
        let mut losses = Losses::default();
        for seq in 3..=7 {
            losses.dropped(seq, 10);
        }
        losses.settle(5);
        assert_eq!((losses.lost_count(), losses.doubtful_count()), (2, 0));
        for seq in 8..=9 {
            losses.dropped(seq, 10);
        }
        losses.settle(9);
        assert_eq!(losses.lost_count(), 2, "all merged");
        losses.dropped(11, 12);
        losses.settle(0);
        assert_eq!(
            losses.lost_count(),
            3,
            "a restarted server merged none of them"
        );
    }

    #[test]
    fn a_loss_while_a_run_is_open_asks_for_the_connection_to_stop() {
        let mut losses = Losses::default();
        assert!(!losses.lost(1), "no run open");
        losses.dropped(2, 2);
        assert!(losses.dropped(3, 2));
        assert!(losses.lost(1));
        assert_eq!((losses.lost_count(), losses.doubtful_count()), (3, 1));
    }

    #[test]
    fn extreme_sequence_numbers_neither_overflow_nor_panic() {
        let mut losses = Losses::default();
        losses.dropped(u64::MAX, u64::MAX);
        losses.acked(u64::MAX - 1);
        assert_eq!(losses.doubtful_count(), 1);
        losses.settle(u64::MAX);
        assert_eq!(losses.lost_count(), 0);
        losses.dropped(1, u64::MAX);
        losses.dropped(u64::MAX, u64::MAX);
        losses.settle(0);
        assert_eq!(losses.lost_count(), 2);
        losses.lost(u64::MAX);
        assert_eq!(losses.lost_count(), u64::MAX);
    }
}
