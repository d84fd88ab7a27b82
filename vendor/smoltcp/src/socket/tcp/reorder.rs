//! zts: loss found by time for first transmissions too, after RACK (RFC
//! 8985 section 6), so that reordering is not taken for loss. A segment is
//! lost once a segment sent after it has been delivered and it has had
//! that delivery's RTT and a reordering window to arrive itself. The window
//! is zero until the connection has seen reordering; from then on it is a
//! quarter of the RTT, times a multiplier that grows each round trip in
//! which a D-SACK shows a resend was not needed (the original came late),
//! and starts again at one after 16 recoveries without one.
//!
//! Four departures from the RFC, measured on an in-process link that
//! holds 5% of frames back 1 ms (`zts-bench --rows reorder_5`):
//! - The quarter is of the smoothed RTT, not the minimum: the clock is read
//!   once per batch of frames, so single samples read near zero (a minimum
//!   of 2-13 µs against a smoothed 30-900 µs), and the window stayed at
//!   nothing whatever the multiplier.
//! - The window may exceed the smoothed RTT, up to the tail loss probe's
//!   timeout (twice the RTT and 2 ms), beyond which the probe asks anyway.
//!   Held frames there came an RTT or more late; capped at the RTT, every
//!   one was resent and each cut the congestion window.
//! - The multiplier doubles rather than grows by one: held 1 ms on a path
//!   of 30-100 µs, it needs 40-130 quarters, and growing by one took most
//!   of a 2 s run (about 280 recoveries in its first second, 20 after).
//! - The window is at least the most a segment has come late, past its
//!   RTT (forgotten with the multiplier). The RTT moves between 7 and
//!   900 µs there, so 255 quarters of it were 0.4-57 ms, and each time it
//!   fell every held frame was taken as lost again.
//!
//! Send times come from `SendLog`: a few entries of (first sequence number,
//! when it went) for first transmissions, which are sent in sequence order.
//! When it fills, neighbouring entries merge, so it stays small whatever
//! the window; a byte's send time is then known to lie between its entry's
//! time and the next entry's, and each question below takes the bound that
//! finds loss later, never sooner.

use crate::time::{Duration, Instant};
use crate::wire::TcpSeqNumber;

/// Entries in the send log; when full, pairs merge.
const LOG_ENTRIES: usize = 32;

/// Recoveries without a D-SACK after which the multiplier starts again at
/// one (RFC 8985 section 6.2, step 4).
const RECOVERIES_TO_RESET: u8 = 16;

/// The multiplier's ceiling, as Linux's.
const MAX_MULT: u32 = 255;

/// The tail loss probe's margin over two RTTs (tcp.rs, `TLP_MARGIN_MS`).
const PROBE_MARGIN: Duration = Duration::from_millis(2);

#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct SendLog {
    /// Entry i covers [seq[i], seq[i + 1]), or up to SND.NXT for the last;
    /// its bytes went between first[i] and last[i], microseconds after
    /// `base` (32 bits each keep a socket as small as it was before).
    seq: [TcpSeqNumber; LOG_ENTRIES],
    first: [u32; LOG_ENTRIES],
    last: [u32; LOG_ENTRIES],
    len: usize,
    base: Instant,
}

impl Default for SendLog {
    fn default() -> Self {
        SendLog {
            seq: [TcpSeqNumber(0); LOG_ENTRIES],
            first: [0; LOG_ENTRIES],
            last: [0; LOG_ENTRIES],
            len: 0,
            base: Instant::ZERO,
        }
    }
}

impl SendLog {
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// New data from `seq` went at `now`.
    pub fn sent(&mut self, seq: TcpSeqNumber, now: Instant) {
        let at = self.offset(now);
        if self.len > 0 && self.first[self.len - 1] == at {
            return;
        }
        if self.len == LOG_ENTRIES {
            // Merge pairs: each keeps its first half's start and first
            // time and its second half's last time.
            for i in 0..LOG_ENTRIES / 2 {
                self.seq[i] = self.seq[2 * i];
                self.first[i] = self.first[2 * i];
                self.last[i] = self.last[2 * i + 1];
            }
            self.len = LOG_ENTRIES / 2;
        }
        self.seq[self.len] = seq;
        self.first[self.len] = at;
        self.last[self.len] = at;
        self.len += 1;
    }

    /// `now` as an offset from `base`, which moves on when the log is
    /// empty or the offset would not fit (after 71 minutes: the oldest
    /// entries then read as sent at the new base).
    fn offset(&mut self, now: Instant) -> u32 {
        if self.len == 0 || now < self.base {
            self.base = now;
            self.len = 0;
        }
        let micros = (now - self.base).total_micros();
        if let Ok(at) = u32::try_from(micros) {
            return at;
        }
        let shift = micros - u64::from(u32::MAX / 2);
        self.base += Duration::from_micros(shift);
        let shift = u32::try_from(shift).unwrap_or(u32::MAX);
        for t in self.first[..self.len]
            .iter_mut()
            .chain(self.last[..self.len].iter_mut())
        {
            *t = t.saturating_sub(shift);
        }
        u32::MAX / 2
    }

    fn at(&self, offset: u32) -> Instant {
        self.base + Duration::from_micros(u64::from(offset))
    }

    /// Forgets entries wholly below `una`.
    pub fn advance(&mut self, una: TcpSeqNumber) {
        let drop = (1..self.len).take_while(|&i| self.seq[i] <= una).count();
        if drop > 0 {
            self.seq.copy_within(drop..self.len, 0);
            self.first.copy_within(drop..self.len, 0);
            self.last.copy_within(drop..self.len, 0);
            self.len -= drop;
        }
    }

    fn entry(&self, seq: TcpSeqNumber) -> Option<usize> {
        (0..self.len).rev().find(|&i| self.seq[i] <= seq)
    }

    /// The earliest `seq` can have gone, if it was logged.
    fn earliest(&self, seq: TcpSeqNumber) -> Option<Instant> {
        self.entry(seq).map(|i| self.at(self.first[i]))
    }

    /// Where the bytes that surely went no later than `deadline` end.
    fn sent_by(&self, deadline: Instant, nxt: TcpSeqNumber) -> Option<TcpSeqNumber> {
        match (0..self.len).find(|&i| self.at(self.last[i]) > deadline) {
            Some(0) => None,
            Some(i) => Some(self.seq[i]),
            None if self.len > 0 => Some(nxt),
            None => None,
        }
    }

    /// The latest a byte at `seq` (or the first logged above it) went.
    fn latest_from(&self, seq: TcpSeqNumber) -> Option<Instant> {
        let i = self.entry(seq).or((self.len > 0).then_some(0))?;
        Some(self.at(self.last[i]))
    }
}

#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct Rack {
    /// The latest send time of the data delivered so far (RACK.xmit_ts),
    /// and the RTT of that delivery (RACK.rtt).
    xmit: Option<(Instant, Duration)>,
    /// The end of the highest data delivered (RACK.fack).
    fack: Option<TcpSeqNumber>,
    /// Smoothed from the same samples, to the microsecond.
    srtt: Duration,
    /// Reordering has been seen (RACK.reord).
    reord: bool,
    mult: u32,
    /// SND.NXT when the multiplier last grew: once per round trip.
    mult_round: Option<TcpSeqNumber>,
    recoveries_without_dsack: u8,
    /// The most a segment that came out of order was late, in microseconds
    /// past its RTT, since the multiplier last started again.
    late_us: u32,
    /// The end of the highest data ever resent: deliveries below it may
    /// be of a resend, whose send time is not known.
    resent_high: Option<TcpSeqNumber>,
    /// The latest resend of data sent once before: where it starts and
    /// ends, and when the original went (the send log forgets it once
    /// acknowledged, before a D-SACK can say the original came late).
    last_resend: Option<(TcpSeqNumber, TcpSeqNumber, Instant)>,
}

impl Default for Rack {
    fn default() -> Self {
        Rack {
            xmit: None,
            fack: None,
            srtt: Duration::ZERO,
            reord: false,
            mult: 1,
            mult_round: None,
            recoveries_without_dsack: 0,
            late_us: 0,
            resent_high: None,
            last_resend: None,
        }
    }
}

impl Rack {
    pub fn reordering_seen(&self) -> bool {
        self.reord
    }

    /// [first, end) was just resent.
    pub fn resent(&mut self, log: &SendLog, first: TcpSeqNumber, end: TcpSeqNumber) {
        let once = self.resent_high.is_none_or(|h| first >= h);
        if self.resent_high.is_none_or(|h| end > h) {
            self.resent_high = Some(end);
        }
        if once && let Some(sent) = log.earliest(first) {
            self.last_resend = Some((first, end, sent));
        }
    }

    /// [first, end) was just delivered (SACKed or acknowledged, and not
    /// SACKed before). `evidence`: whether its arrival below data
    /// delivered before may be taken as reordering.
    pub fn delivered(
        &mut self,
        log: &SendLog,
        first: TcpSeqNumber,
        end: TcpSeqNumber,
        now: Instant,
        evidence: bool,
    ) {
        if self.resent_high.is_some_and(|h| first < h) {
            return; // maybe a resend's arrival
        }
        match self.fack {
            // Delivered below data delivered before it, never resent.
            Some(fack) if end < fack && evidence => {
                self.reord = true;
                if let Some(sent) = log.earliest(first) {
                    self.came_late(sent, now);
                }
            }
            Some(fack) if end < fack => {}
            _ => self.fack = Some(end),
        }
        let Some(sent) = log.earliest(end - 1) else {
            return;
        };
        if self.xmit.is_some_and(|(x, _)| x >= sent) {
            return;
        }
        if now <= sent {
            // A clock read before the send: no RTT from this one.
            let rtt = self.xmit.map_or(Duration::ZERO, |(_, rtt)| rtt);
            self.xmit = Some((sent, rtt));
            return;
        }
        let rtt = now - sent;
        self.xmit = Some((sent, rtt));
        self.srtt = if self.srtt == Duration::ZERO {
            rtt
        } else {
            (self.srtt * 7 + rtt) / 8
        };
    }

    /// A segment sent at `sent`, before data delivered earlier, arrived
    /// by `now`: how late it came is a sample of how long the reordering
    /// window must be. Send times are the earliest known, so a sample is
    /// never short.
    fn came_late(&mut self, sent: Instant, now: Instant) {
        let Some((_, rtt)) = self.xmit else {
            return;
        };
        if now > sent + rtt {
            let late = (now - sent - rtt).total_micros();
            self.late_us = self.late_us.max(late.min(u64::from(u32::MAX)) as u32);
        }
    }

    /// A D-SACK for [first, end) arrived `now` with SND.UNA at `una` and
    /// SND.NXT at `nxt`: a resend was not needed. The window doubles,
    /// once per round trip. Below data delivered before, the original
    /// came late: reordering (as Linux takes it). For the latest resend,
    /// `now` bounds how late the original came: it had arrived by the time
    /// the receiver reported the duplicate. At the top it is a tail loss
    /// probe's duplicate, which says nothing of order.
    pub fn on_dsack(
        &mut self,
        (first, end): (TcpSeqNumber, TcpSeqNumber),
        (una, nxt): (TcpSeqNumber, TcpSeqNumber),
        now: Instant,
    ) {
        if self.fack.is_some_and(|fack| end < fack) {
            self.reord = true;
            if let Some((l, r, sent)) = self.last_resend
                && l < end
                && first < r
            {
                self.came_late(sent, now);
            }
        }
        self.recoveries_without_dsack = 0;
        if self.mult_round.is_some_and(|r| una < r) {
            return;
        }
        self.mult = (self.mult * 2).min(MAX_MULT);
        self.mult_round = Some(nxt);
    }

    /// A recovery began.
    pub fn on_recovery(&mut self) {
        self.recoveries_without_dsack = self.recoveries_without_dsack.saturating_add(1);
        if self.recoveries_without_dsack >= RECOVERIES_TO_RESET {
            self.recoveries_without_dsack = 0;
            self.mult = 1;
            self.late_us = 0;
        }
    }

    /// RACK.reo_wnd (RFC 8985 section 6.2, step 4, with the departures
    /// above). `fast_path` is what makes it zero before reordering is
    /// seen: in recovery, or with DupThresh segments SACKed above a hole.
    pub fn reordering_window(&self, fast_path: bool) -> Duration {
        if !self.reord && fast_path {
            return Duration::ZERO;
        }
        let late = Duration::from_micros(u64::from(self.late_us));
        (self.srtt / 4 * self.mult)
            .max(late)
            .min(self.srtt * 2 + PROBE_MARGIN)
    }

    /// Where the data taken as lost ends: every byte below it that is not
    /// SACKed went before data since delivered, and long enough ago.
    pub fn lost_below(
        &self,
        log: &SendLog,
        now: Instant,
        window: Duration,
        nxt: TcpSeqNumber,
    ) -> Option<TcpSeqNumber> {
        let (xmit, rtt) = self.xmit?;
        let waited = now - rtt - window;
        // Sent before what was delivered, and not within the window.
        let deadline = waited.min(xmit - Duration::from_micros(1));
        log.sent_by(deadline, nxt)
    }

    /// When data at or above `from`, sent before the latest delivered and
    /// not yet taken as lost, will be (RFC 8985's reordering timer).
    pub fn next_loss_at(
        &self,
        log: &SendLog,
        from: TcpSeqNumber,
        window: Duration,
    ) -> Option<Instant> {
        let (xmit, rtt) = self.xmit?;
        let sent = log.latest_from(from)?;
        (sent < xmit).then(|| sent + rtt + window)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn seq(n: i32) -> TcpSeqNumber {
        TcpSeqNumber(n)
    }

    fn us(n: i64) -> Instant {
        Instant::from_micros(n)
    }

    #[test]
    fn a_full_log_merges_and_keeps_the_bounds() {
        let mut log = SendLog::default();
        for i in 0..(LOG_ENTRIES as i32 + 1) {
            log.sent(seq(i * 100), us(i as i64 * 10));
        }
        assert_eq!(log.len, LOG_ENTRIES / 2 + 1);
        // Byte 150 went at 10 µs; merged, it is known to have gone
        // between 0 and 10 µs.
        assert_eq!(log.earliest(seq(150)), Some(us(0)));
        assert_eq!(log.sent_by(us(9), seq(4000)), None);
        assert_eq!(log.sent_by(us(10), seq(4000)), Some(seq(200)));
        log.advance(seq(250));
        assert_eq!(log.earliest(seq(250)), Some(us(20)));
    }

    #[test]
    fn times_past_32_bits_of_microseconds_move_the_base() {
        let mut log = SendLog::default();
        log.sent(seq(0), us(1_000));
        let later = 1_000 + i64::from(u32::MAX) + 5;
        log.sent(seq(100), us(later));
        assert_eq!(log.earliest(seq(100)), Some(us(later)));
        // The first entry now reads as sent at the new base, no later.
        assert!(log.earliest(seq(0)).unwrap() <= us(later));
    }

    #[test]
    fn a_hole_is_lost_only_after_the_reordering_window() {
        let mut log = SendLog::default();
        let mut rack = Rack::default();
        log.sent(seq(0), us(0));
        log.sent(seq(100), us(100));
        log.sent(seq(200), us(200));
        // [100, 300) arrives at 500 µs: an RTT of 300 µs from the latest.
        rack.delivered(&log, seq(100), seq(300), us(500), true);
        assert!(!rack.reordering_seen());
        let window = Duration::from_micros(200);
        // The hole [0, 100) went at 0 µs: lost at 0 + 300 + 200.
        assert_eq!(rack.lost_below(&log, us(499), window, seq(300)), None);
        assert_eq!(rack.next_loss_at(&log, seq(0), window), Some(us(500)));
        assert_eq!(
            rack.lost_below(&log, us(500), window, seq(300)),
            Some(seq(100))
        );
    }

    #[test]
    fn reordering_seen_opens_the_window_and_dsacks_widen_it() {
        let mut log = SendLog::default();
        let mut rack = Rack::default();
        log.sent(seq(0), us(0));
        for i in 1..4 {
            log.sent(seq(i * 100), us(i as i64));
        }
        rack.delivered(&log, seq(100), seq(400), us(203), true);
        assert_eq!(rack.reordering_window(true), Duration::ZERO);
        // [0, 100) was never resent and arrives below data delivered,
        // 5 µs past its RTT.
        rack.delivered(&log, seq(0), seq(100), us(205), true);
        assert!(rack.reordering_seen());
        // SRTT 200 µs: a quarter, then two quarters after a D-SACK, once
        // per round trip, then four.
        let dsack = |rack: &mut Rack, una: i32, nxt: i32| {
            rack.on_dsack((seq(0), seq(100)), (seq(una), seq(nxt)), us(205))
        };
        assert_eq!(rack.reordering_window(true), Duration::from_micros(50));
        dsack(&mut rack, 400, 800);
        dsack(&mut rack, 500, 900);
        assert_eq!(rack.reordering_window(true), Duration::from_micros(100));
        dsack(&mut rack, 800, 1200);
        assert_eq!(rack.reordering_window(true), Duration::from_micros(200));
        // Up to the tail loss probe's timeout: 2 * 200 µs + 2 ms.
        for round in 3..100 {
            dsack(&mut rack, round * 400, round * 400 + 400);
        }
        assert_eq!(rack.reordering_window(true), Duration::from_micros(2400));
        for _ in 0..RECOVERIES_TO_RESET {
            rack.on_recovery();
        }
        assert_eq!(rack.reordering_window(true), Duration::from_micros(50));
    }

    #[test]
    fn the_window_covers_how_late_segments_came_whatever_the_rtt() {
        let mut log = SendLog::default();
        let mut rack = Rack::default();
        for i in 0..4 {
            log.sent(seq(i * 100), us(i as i64 * 10));
        }
        // An RTT of 40 µs; [0, 100) comes 1 ms after the rest.
        rack.delivered(&log, seq(100), seq(400), us(70), true);
        rack.delivered(&log, seq(0), seq(100), us(1_040), true);
        assert!(rack.reordering_seen());
        // Not a quarter of 40 µs: the 1 ms it came late.
        assert_eq!(rack.reordering_window(true), Duration::from_micros(1_000));
        // [300, 400), first sent at 30 µs, is resent; a D-SACK of it 1.5
        // ms past its RTT says the original came no later than that.
        log.sent(seq(400), us(1_100));
        rack.resent(&log, seq(300), seq(400));
        rack.delivered(&log, seq(400), seq(500), us(1_140), true);
        rack.on_dsack((seq(300), seq(400)), (seq(500), seq(500)), us(1_570));
        assert_eq!(rack.reordering_window(true), Duration::from_micros(1_500));
        // A D-SACK of other data says nothing of how late.
        rack.on_dsack((seq(0), seq(100)), (seq(500), seq(500)), us(5_000));
        assert_eq!(rack.reordering_window(true), Duration::from_micros(1_500));
        // Never past the tail loss probe's timeout (2 * 40 µs + 2 ms).
        rack.on_dsack((seq(300), seq(400)), (seq(500), seq(500)), us(9_000));
        assert_eq!(rack.reordering_window(true), Duration::from_micros(2_080));
        // Forgotten with the multiplier, after 16 recoveries without a
        // D-SACK.
        for _ in 0..RECOVERIES_TO_RESET {
            rack.on_recovery();
        }
        assert_eq!(rack.reordering_window(true), Duration::from_micros(10));
    }

    #[test]
    fn deliveries_that_may_be_resends_tell_nothing() {
        let mut log = SendLog::default();
        let mut rack = Rack::default();
        log.sent(seq(0), us(0));
        log.sent(seq(100), us(100));
        rack.delivered(&log, seq(100), seq(200), us(300), true);
        rack.resent(&log, seq(100), seq(200));
        rack.delivered(&log, seq(0), seq(100), us(400), true);
        assert!(!rack.reordering_seen());
    }
}
