//! zts: loss recovery state. A sender is in fast recovery from the loss
//! it finds through duplicate ACKs or SACK (RFC 6675, RFC 6582 for peers
//! without SACK) until everything sent before it is acknowledged, sending
//! by Proportional Rate Reduction (RFC 6937); after a retransmission
//! timeout it is in timeout recovery, resending what the scoreboard says
//! is missing under the congestion window, not everything.

use crate::wire::TcpSeqNumber;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) enum Phase {
    Open,
    Fast,
    Timeout,
}

#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct Recovery {
    pub phase: Phase,
    /// SND.NXT when recovery began: it ends when this is acknowledged.
    pub point: TcpSeqNumber,
    /// Resent up to here in this recovery (RFC 6675 HighRxt).
    pub high_rxt: TcpSeqNumber,
    /// Bytes below this that are not SACKed are taken as lost.
    pub lost_end: TcpSeqNumber,
    // Proportional Rate Reduction (RFC 6937).
    ssthresh: usize,
    recover_fs: usize,
    prr_delivered: usize,
    prr_out: usize,
    /// Bytes PRR lets the sender send now.
    pub sndcnt: usize,
}

impl Default for Recovery {
    fn default() -> Self {
        Recovery {
            phase: Phase::Open,
            point: TcpSeqNumber(0),
            high_rxt: TcpSeqNumber(0),
            lost_end: TcpSeqNumber(0),
            ssthresh: 0,
            recover_fs: 0,
            prr_delivered: 0,
            prr_out: 0,
            sndcnt: 0,
        }
    }
}

impl Recovery {
    pub fn in_recovery(&self) -> bool {
        self.phase != Phase::Open
    }

    /// Fast recovery from SND.UNA `una`; everything below `lost_end` not
    /// SACKed is lost. `flight` is what was outstanding.
    pub fn enter_fast(
        &mut self,
        una: TcpSeqNumber,
        nxt: TcpSeqNumber,
        lost_end: TcpSeqNumber,
        flight: usize,
        ssthresh: usize,
    ) {
        *self = Recovery {
            phase: Phase::Fast,
            point: nxt,
            high_rxt: una,
            lost_end,
            ssthresh,
            recover_fs: flight.max(1),
            prr_delivered: 0,
            prr_out: 0,
            sndcnt: 0,
        };
    }

    /// Timeout recovery: everything outstanding and not SACKed is lost.
    pub fn enter_timeout(&mut self, una: TcpSeqNumber, nxt: TcpSeqNumber) {
        *self = Recovery {
            phase: Phase::Timeout,
            point: nxt,
            high_rxt: una,
            lost_end: nxt,
            ..Recovery::default()
        };
    }

    /// The fast retransmit, the first segment of a fast recovery, has not
    /// gone yet: it goes whatever PRR allows.
    pub fn fast_retransmit_due(&self) -> bool {
        self.phase == Phase::Fast && self.prr_out == 0
    }

    pub fn end(&mut self) {
        self.phase = Phase::Open;
    }

    /// Takes `lost_end` up to `seq` (never down).
    pub fn mark_lost(&mut self, seq: TcpSeqNumber) {
        if seq > self.lost_end {
            self.lost_end = seq;
        }
    }

    /// RFC 6937, on each ACK in fast recovery: `delivered` bytes left the
    /// network, `pipe` are still in it.
    pub fn on_delivered(&mut self, delivered: usize, pipe: usize, mss: usize) {
        self.prr_delivered += delivered;
        let sndcnt = if pipe > self.ssthresh {
            // Proportional: send ssthresh/RecoverFS of what was delivered.
            let target = (self.prr_delivered as u64 * self.ssthresh as u64)
                .div_ceil(self.recover_fs as u64) as usize;
            target.saturating_sub(self.prr_out)
        } else {
            // Slow-start reduction bound: back up to ssthresh, at most one
            // segment more than was delivered.
            let limit = self
                .prr_delivered
                .saturating_sub(self.prr_out)
                .max(delivered)
                + mss;
            (self.ssthresh - pipe).min(limit)
        };
        self.sndcnt = sndcnt;
    }

    /// `len` bytes were sent (resent or new) in fast recovery.
    pub fn on_sent(&mut self, len: usize) {
        self.prr_out += len;
        self.sndcnt = self.sndcnt.saturating_sub(len);
    }
}

/// zts: what undoing a fast recovery's reduction needs (RFC 2883 section
/// 4): where the episode began and the end of what it resent, the bytes it
/// resent that no D-SACK has yet shown to be duplicates, and the window
/// and threshold from before it and the window it was cut to.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct Undo {
    pub marker: TcpSeqNumber,
    pub high: TcpSeqNumber,
    pub resent: usize,
    pub cwnd: usize,
    pub ssthresh: usize,
    pub reduced: usize,
}

/// Episodes remembered for undoing. Where frames are reordered by more
/// than an RTT, the D-SACKs of one episode arrive after several more have
/// begun; Linux keeps only the last, and its undo then never happens.
const UNDO_EPISODES: usize = 8;

/// zts: the last fast recoveries whose reductions may yet be undone, each
/// on its own: an episode shown spurious gives back its own cut (the
/// window times what it was cut by), whatever came after it.
#[derive(Debug, Clone, Copy, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct UndoLog {
    episodes: [Option<Undo>; UNDO_EPISODES],
    /// Where the newest episode is.
    newest: usize,
}

impl UndoLog {
    pub fn clear(&mut self) {
        *self = UndoLog::default();
    }

    /// A fast recovery begins; the oldest episode is forgotten if need be.
    pub fn begin(&mut self, undo: Undo) {
        self.newest = (self.newest + 1) % UNDO_EPISODES;
        self.episodes[self.newest] = Some(undo);
    }

    /// The current episode resent [start, end).
    pub fn resent(&mut self, start: TcpSeqNumber, end: TcpSeqNumber) {
        if let Some(u) = self.episodes[self.newest].as_mut()
            && start >= u.marker
        {
            u.resent += end - start;
            u.high = u.high.max(end);
        }
    }

    /// The current episode ended with nothing resent: all it took as lost
    /// arrived after all (as Linux's undo with no retransmission left
    /// unaccounted for). It is returned, and forgotten.
    pub fn ended_unresent(&mut self) -> Option<Undo> {
        let u = self.episodes[self.newest]?;
        if u.high != u.marker {
            return None;
        }
        self.episodes[self.newest] = None;
        Some(u)
    }

    /// A D-SACK for [l, r): counts it against the newest episode that
    /// resent it; returns that episode once all it resent is shown to be
    /// duplicates (forgotten then), and whether it is the current one.
    pub fn dsack(&mut self, l: TcpSeqNumber, r: TcpSeqNumber) -> Option<(Undo, bool)> {
        for k in 0..UNDO_EPISODES {
            let i = (self.newest + UNDO_EPISODES - k) % UNDO_EPISODES;
            let Some(u) = self.episodes[i].as_mut() else {
                continue;
            };
            if l < u.marker || r > u.high {
                continue;
            }
            u.resent = u.resent.saturating_sub(r - l);
            if u.resent > 0 {
                return None;
            }
            let done = *u;
            self.episodes[i] = None;
            return Some((done, k == 0));
        }
        None
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.episodes.iter().all(Option::is_none)
    }
}

#[cfg(test)]
mod undo_test {
    use super::*;

    fn episode(marker: i32) -> Undo {
        Undo {
            marker: TcpSeqNumber(marker),
            high: TcpSeqNumber(marker),
            resent: 0,
            cwnd: 100,
            ssthresh: 70,
            reduced: 70,
        }
    }

    #[test]
    fn each_episode_is_undone_by_the_dsacks_of_its_own_resends() {
        let mut log = UndoLog::default();
        log.begin(episode(0));
        log.resent(TcpSeqNumber(0), TcpSeqNumber(10));
        log.begin(episode(50));
        log.resent(TcpSeqNumber(50), TcpSeqNumber(60));
        // The first episode's D-SACK arrives after the second began.
        let (u, current) = log.dsack(TcpSeqNumber(0), TcpSeqNumber(10)).unwrap();
        assert_eq!((u.marker, current), (TcpSeqNumber(0), false));
        // Half of the second's resend is not enough.
        assert!(log.dsack(TcpSeqNumber(50), TcpSeqNumber(55)).is_none());
        let (u, current) = log.dsack(TcpSeqNumber(55), TcpSeqNumber(60)).unwrap();
        assert_eq!((u.marker, current), (TcpSeqNumber(50), true));
        assert!(log.is_empty());
        // Nothing resent there: nothing to undo.
        assert!(log.dsack(TcpSeqNumber(20), TcpSeqNumber(30)).is_none());
    }
}

#[cfg(test)]
mod test {
    use super::*;

    const MSS: usize = 1000;

    #[test]
    fn prr_spreads_the_reduction_over_the_acks() {
        let mut r = Recovery::default();
        // 20 segments out, ssthresh half of it.
        r.enter_fast(
            TcpSeqNumber(0),
            TcpSeqNumber(20_000),
            TcpSeqNumber(1000),
            20 * MSS,
            10 * MSS,
        );
        let mut sent = 0;
        // While pipe stays above ssthresh, one segment goes per two
        // delivered.
        for i in 0..10 {
            r.on_delivered(MSS, 18 * MSS - i * MSS / 2, MSS);
            sent += r.sndcnt;
            r.on_sent(r.sndcnt);
        }
        assert_eq!(sent, 5 * MSS);
    }

    #[test]
    fn prr_slow_starts_back_to_ssthresh_below_it() {
        let mut r = Recovery::default();
        r.enter_fast(
            TcpSeqNumber(0),
            TcpSeqNumber(20_000),
            TcpSeqNumber(1000),
            20 * MSS,
            10 * MSS,
        );
        // Many losses: pipe far below ssthresh. At most one segment more
        // than was delivered goes out per ACK.
        r.on_delivered(MSS, 2 * MSS, MSS);
        assert_eq!(r.sndcnt, 2 * MSS);
        r.on_sent(2 * MSS);
        r.on_delivered(MSS, 9 * MSS + MSS / 2, MSS);
        assert_eq!(r.sndcnt, MSS / 2);
    }

    #[test]
    fn timeout_recovery_takes_everything_as_lost() {
        let mut r = Recovery::default();
        r.enter_timeout(TcpSeqNumber(100), TcpSeqNumber(900));
        assert_eq!(r.phase, Phase::Timeout);
        assert_eq!(r.lost_end, TcpSeqNumber(900));
        assert_eq!(r.high_rxt, TcpSeqNumber(100));
        r.mark_lost(TcpSeqNumber(500));
        assert_eq!(r.lost_end, TcpSeqNumber(900));
        r.end();
        assert!(!r.in_recovery());
    }
}
