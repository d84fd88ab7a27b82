//! Reuses the storage of big frames. A 64 KiB frame freshly allocated
//! for each segment cost a memset of it (calloc of reused heap memory):
//! 8% of the time of eight parallel bulk flows. A frame the receiving
//! stack has read comes back here, and the next big frame sent takes it.
//! Only frames of at least `MIN_LEN` bytes, which smoltcp fills to the
//! last byte (headers and payload), are handed out without clearing.

use once_cell::sync::Lazy;
use parking_lot::Mutex;

const MIN_LEN: usize = 2048;
/// Frames kept for reuse, process-wide.
const KEEP: usize = 64;

static POOL: Lazy<Mutex<Vec<Vec<u8>>>> = Lazy::new(Mutex::default);

/// A `len`-byte frame for smoltcp to fill.
pub fn take(len: usize) -> Vec<u8> {
    if len >= MIN_LEN
        && let Some(mut frame) = POOL.lock().pop()
    {
        // Only the part beyond the old length is cleared.
        frame.resize(len, 0);
        return frame;
    }
    vec![0; len]
}

/// A frame nobody reads any more.
pub fn give(frame: Vec<u8>) {
    if frame.capacity() >= MIN_LEN {
        let mut pool = POOL.lock();
        if pool.len() < KEEP {
            pool.push(frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_frames_come_back_small_ones_are_fresh() {
        let mut f = take(MIN_LEN * 2);
        f[0] = 1;
        give(f);
        let again = take(MIN_LEN);
        assert_eq!(again.len(), MIN_LEN);
        assert!(take(60).iter().all(|b| *b == 0));
        for _ in 0..KEEP * 2 {
            give(vec![0; MIN_LEN]);
        }
        assert!(POOL.lock().len() <= KEEP);
    }
}
