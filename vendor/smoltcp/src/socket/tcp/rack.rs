//! zts: lost retransmissions found by time, after RACK (RFC 8985 section
//! 6): the retransmissions of the current recovery, each with when it went
//! and how far the sender had sent then. One is lost once something sent
//! after it has arrived (a later retransmission, or data above what had
//! been sent when it went) and it has had an RTT and a reordering window
//! to arrive itself. Without this a lost retransmission waited for the
//! retransmission timer, backed off each time no RTT sample came.

use super::sack::Scoreboard;
use crate::time::{Duration, Instant};
use crate::wire::TcpSeqNumber;

/// Retransmissions remembered; when more go, the oldest is forgotten (it
/// then waits for the timer, as before).
const MAX_ENTRIES: usize = 32;

#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct Entry {
    start: TcpSeqNumber,
    end: TcpSeqNumber,
    sent_at: Instant,
    /// SND.NXT when it went: SACKed data above this was sent after it.
    nxt: TcpSeqNumber,
}

#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct Retransmissions {
    entries: [Option<Entry>; MAX_ENTRIES],
    /// Where the next entry goes (the oldest when full).
    next: usize,
}

impl Default for Retransmissions {
    fn default() -> Self {
        Retransmissions {
            entries: [None; MAX_ENTRIES],
            next: 0,
        }
    }
}

impl Retransmissions {
    pub fn clear(&mut self) {
        *self = Retransmissions::default();
    }

    /// [start, end) was resent at `now`, with SND.NXT at `nxt`.
    pub fn sent(
        &mut self,
        start: TcpSeqNumber,
        end: TcpSeqNumber,
        now: Instant,
        nxt: TcpSeqNumber,
    ) {
        self.entries[self.next] = Some(Entry {
            start,
            end,
            sent_at: now,
            nxt,
        });
        self.next = (self.next + 1) % MAX_ENTRIES;
    }

    /// After an ACK: forgets the retransmissions that arrived, and returns
    /// the lowest start of those now taken as lost (forgotten too, until
    /// they are resent), given SND.UNA, the scoreboard and how long one
    /// may take to arrive (an RTT and a reordering window).
    pub fn detect_lost(
        &mut self,
        una: TcpSeqNumber,
        board: &Scoreboard,
        now: Instant,
        wait: Duration,
    ) -> Option<TcpSeqNumber> {
        // Those that arrived are forgotten; the latest sent among them is
        // what the rest are measured against.
        let mut latest_arrived: Option<Instant> = None;
        for slot in self.entries.iter_mut() {
            if let Some(e) = *slot
                && (e.end <= una || board.unsacked_in(e.start.max(una), e.end) == 0)
            {
                latest_arrived = Some(latest_arrived.map_or(e.sent_at, |t| t.max(e.sent_at)));
                *slot = None;
            }
        }
        let highest_sacked = board.highest().map(|(_, r)| r);
        let mut lost: Option<TcpSeqNumber> = None;
        for slot in self.entries.iter_mut() {
            let Some(e) = *slot else { continue };
            let overtaken = latest_arrived.is_some_and(|t| t > e.sent_at)
                || highest_sacked.is_some_and(|r| r > e.nxt);
            if overtaken && now >= e.sent_at + wait {
                lost = Some(lost.map_or(e.start, |l| l.min(e.start)));
                *slot = None;
            }
        }
        lost
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn seq(n: i32) -> TcpSeqNumber {
        TcpSeqNumber(n)
    }

    fn at(ms: i64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn a_retransmission_overtaken_by_a_later_one_is_lost_after_the_wait() {
        let mut log = Retransmissions::default();
        let mut board = Scoreboard::default();
        board.add(seq(10), seq(100));
        log.sent(seq(0), seq(10), at(0), seq(100));
        log.sent(seq(100), seq(110), at(1), seq(200));
        board.add(seq(100), seq(110));
        let wait = Duration::from_millis(5);
        // The later one arrived, but the earlier one may still be on its way.
        assert_eq!(log.detect_lost(seq(0), &board, at(3), wait), None);
        assert_eq!(log.detect_lost(seq(0), &board, at(6), wait), Some(seq(0)));
        // Forgotten until resent.
        assert_eq!(log.detect_lost(seq(0), &board, at(20), wait), None);
    }

    #[test]
    fn new_data_sacked_above_a_retransmission_overtakes_it() {
        let mut log = Retransmissions::default();
        let mut board = Scoreboard::default();
        log.sent(seq(0), seq(10), at(0), seq(100));
        board.add(seq(10), seq(100));
        let wait = Duration::from_millis(5);
        // Only data sent before it is SACKed: no evidence.
        assert_eq!(log.detect_lost(seq(0), &board, at(50), wait), None);
        board.add(seq(100), seq(120));
        assert_eq!(log.detect_lost(seq(0), &board, at(50), wait), Some(seq(0)));
    }

    #[test]
    fn retransmissions_that_arrive_are_forgotten() {
        let mut log = Retransmissions::default();
        let board = Scoreboard::default();
        log.sent(seq(0), seq(10), at(0), seq(100));
        log.sent(seq(10), seq(20), at(1), seq(100));
        // The first is acknowledged; the second is not overtaken by it
        // (it went earlier), so nothing is lost.
        assert_eq!(
            log.detect_lost(seq(10), &board, at(50), Duration::from_millis(5)),
            None
        );
        assert!(log.entries.iter().flatten().count() == 1);
    }
}
