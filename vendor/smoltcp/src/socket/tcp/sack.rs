//! zts: the sender's SACK scoreboard (RFC 2018, RFC 6675 section 3): the
//! ranges above SND.UNA that the receiver says it holds, from which the
//! sender learns what is lost (`lost_below`), what to resend
//! (`next_hole`) and how much is still in the network (`sacked_bytes`,
//! `unsacked_in`).

use crate::wire::TcpSeqNumber;

/// Blocks remembered. A full window at 5% loss has a few dozen holes at
/// most; when more arrive the highest block is forgotten, which only
/// makes the sender resend a little more than it must.
const MAX_BLOCKS: usize = 32;

/// RFC 6675's DupThresh: this many segments' worth SACKed above a hole
/// marks it lost.
const DUP_THRESH: usize = 3;

#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct Scoreboard {
    /// Sorted, disjoint and not touching: [left, right) each.
    blocks: [(TcpSeqNumber, TcpSeqNumber); MAX_BLOCKS],
    len: usize,
    sacked: usize,
}

impl Default for Scoreboard {
    fn default() -> Self {
        Scoreboard {
            blocks: [(TcpSeqNumber(0), TcpSeqNumber(0)); MAX_BLOCKS],
            len: 0,
            sacked: 0,
        }
    }
}

impl Scoreboard {
    pub fn clear(&mut self) {
        self.len = 0;
        self.sacked = 0;
    }

    /// No room for another block: the next may make it forget one.
    pub fn is_full(&self) -> bool {
        self.len == MAX_BLOCKS
    }

    /// Bytes the receiver holds above SND.UNA.
    pub fn sacked_bytes(&self) -> usize {
        self.sacked
    }

    /// The highest block.
    pub fn highest(&self) -> Option<(TcpSeqNumber, TcpSeqNumber)> {
        self.blocks().last().copied()
    }

    fn blocks(&self) -> &[(TcpSeqNumber, TcpSeqNumber)] {
        &self.blocks[..self.len]
    }

    /// Records that the receiver holds [left, right). Returns the bytes
    /// that were not known to be held before.
    pub fn add(&mut self, left: TcpSeqNumber, right: TcpSeqNumber) -> usize {
        if left >= right {
            return 0;
        }
        // The blocks that overlap or touch the new one merge with it.
        let first = self.blocks().iter().position(|&(_, r)| r >= left);
        let first = first.unwrap_or(self.len);
        let mut last = first;
        let (mut l, mut r) = (left, right);
        let mut merged = 0;
        while last < self.len && self.blocks[last].0 <= right {
            let (bl, br) = self.blocks[last];
            merged += br - bl;
            l = l.min(bl);
            r = r.max(br);
            last += 1;
        }
        let gained = (r - l) - merged;
        if gained == 0 {
            return 0;
        }
        if first == last && self.len == MAX_BLOCKS {
            if first == self.len {
                return 0; // above everything held: forget it instead
            }
            // Forget the highest block to make room.
            let (hl, hr) = self.blocks[self.len - 1];
            self.sacked -= hr - hl;
            self.len -= 1;
        }
        // Replace blocks[first..last] by the merged one.
        let removed = last - first;
        if removed == 0 {
            self.blocks.copy_within(first..self.len, first + 1);
            self.len += 1;
        } else if removed > 1 {
            self.blocks.copy_within(last..self.len, first + 1);
            self.len -= removed - 1;
        }
        self.blocks[first] = (l, r);
        self.sacked += gained;
        gained
    }

    /// Forgets what lies below `una`, now acknowledged cumulatively.
    pub fn advance(&mut self, una: TcpSeqNumber) {
        let mut keep_from = 0;
        for i in 0..self.len {
            let (l, r) = self.blocks[i];
            if r <= una {
                self.sacked -= r - l;
                keep_from = i + 1;
            } else {
                if l < una {
                    self.sacked -= una - l;
                    self.blocks[i].0 = una;
                }
                break;
            }
        }
        self.blocks.copy_within(keep_from..self.len, 0);
        self.len -= keep_from;
    }

    /// RFC 6675's IsLost as a boundary: every byte below it that is not
    /// SACKed is lost, since more than (DupThresh - 1) segments, or
    /// DupThresh blocks, were SACKed above it.
    pub fn lost_below(&self, mss: usize) -> Option<TcpSeqNumber> {
        let mut above = 0;
        for (count, &(l, r)) in self.blocks().iter().rev().enumerate() {
            above += r - l;
            if above > (DUP_THRESH - 1) * mss || count + 1 >= DUP_THRESH {
                return Some(l);
            }
        }
        None
    }

    /// The first range not SACKed that starts at or after `from` and
    /// before `end`, clipped to `end`.
    pub fn next_hole(
        &self,
        from: TcpSeqNumber,
        end: TcpSeqNumber,
    ) -> Option<(TcpSeqNumber, TcpSeqNumber)> {
        let mut start = from;
        for &(l, r) in self.blocks() {
            if r <= start {
                continue;
            }
            if l > start {
                break;
            }
            start = r; // `from` is SACKed: the hole begins past this block
        }
        if start >= end {
            return None;
        }
        let stop = self
            .blocks()
            .iter()
            .find(|&&(l, _)| l > start)
            .map_or(end, |&(l, _)| l.min(end));
        Some((start, stop))
    }

    /// Bytes in [from, to) that are not SACKed.
    pub fn unsacked_in(&self, from: TcpSeqNumber, to: TcpSeqNumber) -> usize {
        if to <= from {
            return 0;
        }
        let mut held = 0;
        for &(l, r) in self.blocks() {
            let (a, b) = (l.max(from), r.min(to));
            if a < b {
                held += b - a;
            }
        }
        (to - from) - held
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn s(n: i32) -> TcpSeqNumber {
        TcpSeqNumber(n)
    }

    fn board(blocks: &[(i32, i32)]) -> Scoreboard {
        let mut b = Scoreboard::default();
        for &(l, r) in blocks {
            b.add(s(l), s(r));
        }
        b
    }

    #[test]
    fn add_merges_overlapping_and_touching_blocks() {
        let mut b = board(&[(100, 200), (300, 400)]);
        assert_eq!(b.sacked_bytes(), 200);
        assert_eq!(b.add(s(200), s(300)), 100);
        assert_eq!(b.blocks(), &[(s(100), s(400))]);
        assert_eq!(b.add(s(150), s(250)), 0);
        assert_eq!(b.add(s(50), s(500)), 150);
        assert_eq!(b.blocks(), &[(s(50), s(500))]);
        assert_eq!(b.sacked_bytes(), 450);
    }

    #[test]
    fn add_keeps_blocks_sorted() {
        let b = board(&[(500, 600), (100, 200), (300, 400)]);
        assert_eq!(
            b.blocks(),
            &[(s(100), s(200)), (s(300), s(400)), (s(500), s(600))]
        );
    }

    #[test]
    fn a_full_board_forgets_its_highest_block() {
        let mut b = Scoreboard::default();
        for i in 0..MAX_BLOCKS as i32 {
            b.add(s(1000 + i * 100), s(1050 + i * 100));
        }
        assert_eq!(b.add(s(100_000), s(100_050)), 0);
        assert_eq!(b.len, MAX_BLOCKS);
        assert_eq!(b.add(s(0), s(50)), 50);
        assert_eq!(b.len, MAX_BLOCKS);
        assert_eq!(b.blocks()[0], (s(0), s(50)));
        assert_eq!(b.sacked_bytes(), 50 * MAX_BLOCKS);
    }

    #[test]
    fn advance_drops_and_trims() {
        let mut b = board(&[(100, 200), (300, 400)]);
        b.advance(s(350));
        assert_eq!(b.blocks(), &[(s(350), s(400))]);
        assert_eq!(b.sacked_bytes(), 50);
        b.advance(s(400));
        assert!(b.blocks().is_empty());
        assert_eq!(b.sacked_bytes(), 0);
    }

    #[test]
    fn lost_below_needs_three_segments_above() {
        let mss = 100;
        assert_eq!(board(&[(100, 300)]).lost_below(mss), None);
        assert_eq!(board(&[(100, 301)]).lost_below(mss), Some(s(100)));
        // Three small blocks count as three segments.
        assert_eq!(
            board(&[(100, 110), (200, 210), (300, 310)]).lost_below(mss),
            Some(s(100))
        );
        // The boundary is the block where the count is reached.
        assert_eq!(
            board(&[(100, 200), (300, 400), (500, 800)]).lost_below(mss),
            Some(s(500))
        );
    }

    #[test]
    fn next_hole_skips_sacked_ranges() {
        let b = board(&[(100, 200), (300, 400)]);
        assert_eq!(b.next_hole(s(0), s(1000)), Some((s(0), s(100))));
        assert_eq!(b.next_hole(s(100), s(1000)), Some((s(200), s(300))));
        assert_eq!(b.next_hole(s(250), s(1000)), Some((s(250), s(300))));
        assert_eq!(b.next_hole(s(300), s(1000)), Some((s(400), s(1000))));
        assert_eq!(b.next_hole(s(300), s(400)), None);
        assert_eq!(b.next_hole(s(0), s(50)), Some((s(0), s(50))));
    }

    #[test]
    fn unsacked_in_counts_the_holes() {
        let b = board(&[(100, 200), (300, 400)]);
        assert_eq!(b.unsacked_in(s(0), s(500)), 300);
        assert_eq!(b.unsacked_in(s(150), s(350)), 100);
        assert_eq!(b.unsacked_in(s(500), s(400)), 0);
    }
}
