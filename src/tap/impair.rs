//! Impairment for the in-process switch: loss, duplication, reordering,
//! corruption, delay and jitter, from a seeded generator so a run can be
//! repeated. Delayed frames wait on a timer thread of their own, which
//! sleeps until the next frame is due, and up to `SLACK` longer so that
//! one wake-up delivers the frames due together: held one by one at ten
//! gigabits, 5% of frames woke it (and then the receiving stack) 40,000
//! times a second each way.

use super::stats::{DropReason, NetStats};
use super::uri::Impairment;
use parking_lot::{Condvar, Mutex};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub type Deliver = Arc<dyn Fn(Vec<u8>) + Send + Sync>;

/// How much later than due a delayed frame may go, to go with others: the
/// kernel's own default timer slack for a thread.
const SLACK: Duration = Duration::from_micros(50);

/// xorshift64*: small, fast, and the same sequence for the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Default)]
struct Line {
    /// (due, order of arrival, frame): earliest first, ties in order.
    heap: BinaryHeap<Reverse<(Instant, u64, Vec<u8>)>>,
    seq: u64,
    stop: bool,
}

struct DelayLine {
    line: Arc<(Mutex<Line>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl DelayLine {
    fn start(deliver: Deliver) -> DelayLine {
        let line: Arc<(Mutex<Line>, Condvar)> = Arc::default();
        let l = line.clone();
        let thread = std::thread::Builder::new()
            .name("zts-delay".into())
            .spawn(move || {
                let (m, c) = &*l;
                let mut st = m.lock();
                while !st.stop {
                    let now = Instant::now();
                    match st.heap.peek().map(|Reverse((due, _, _))| *due) {
                        Some(due) if due <= now => {
                            let Reverse((_, _, frame)) = st.heap.pop().unwrap();
                            drop(st);
                            deliver(frame);
                            st = m.lock();
                        }
                        Some(due) => {
                            c.wait_until(&mut st, due + SLACK);
                        }
                        None => c.wait(&mut st),
                    }
                }
            })
            .ok();
        DelayLine { line, thread }
    }

    fn push(&self, due: Instant, frame: Vec<u8>) {
        let (m, c) = &*self.line;
        let mut st = m.lock();
        st.seq += 1;
        let seq = st.seq;
        // The thread sleeps until the earliest frame is due: only one due
        // sooner needs to wake it.
        let sooner = st
            .heap
            .peek()
            .is_none_or(|Reverse((first, _, _))| due < *first);
        st.heap.push(Reverse((due, seq, frame)));
        if sooner {
            c.notify_one();
        }
    }
}

impl std::ops::Drop for DelayLine {
    fn drop(&mut self) {
        let (m, c) = &*self.line;
        m.lock().stop = true;
        c.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub struct Impairer {
    cfg: Impairment,
    rng: Mutex<Rng>,
    deliver: Deliver,
    line: Option<DelayLine>,
}

impl Impairer {
    pub fn new(cfg: Impairment, deliver: Deliver) -> Impairer {
        let line = cfg.delays().then(|| DelayLine::start(deliver.clone()));
        Impairer {
            rng: Mutex::new(Rng(cfg.seed ^ 0x9e37_79b9_7f4a_7c15 | 1)),
            cfg,
            deliver,
            line,
        }
    }

    /// Sends `frame` the way the impaired wire would.
    pub fn send(&self, mut frame: Vec<u8>, stats: &NetStats) {
        let c = &self.cfg;
        let (lost, dup, corrupt, reorder, jitter) = {
            let mut r = self.rng.lock();
            (
                r.unit() < c.loss,
                r.unit() < c.dup,
                (r.unit() < c.corrupt).then(|| r.next()),
                r.unit() < c.reorder,
                r.unit(),
            )
        };
        if lost {
            stats.dropped(DropReason::Impaired);
            return;
        }
        if let Some(bits) = corrupt
            && frame.len() > 14
        {
            // Past the Ethernet header, so the frame still reaches its node
            // and checksums have to catch it.
            let at = 14 + (bits as usize >> 3) % (frame.len() - 14);
            frame[at] ^= 1 << (bits & 7);
        }
        let mut delay = c.delay_ms as f64 + c.jitter_ms as f64 * jitter;
        if reorder {
            // Held back long enough for the frames after it to overtake.
            delay += 1.0 + c.delay_ms as f64 + c.jitter_ms as f64;
        }
        let copies = if dup { 2 } else { 1 };
        for i in 0..copies {
            let f = if i + 1 < copies {
                frame.clone()
            } else {
                std::mem::take(&mut frame)
            };
            match &self.line {
                Some(line) if delay > 0.0 => {
                    line.push(Instant::now() + Duration::from_secs_f64(delay / 1000.0), f)
                }
                _ => (self.deliver)(f),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(cfg: Impairment, n: u8) -> (Vec<Vec<u8>>, NetStats) {
        let got: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let g = got.clone();
        let stats = NetStats::default();
        {
            let imp = Impairer::new(cfg, Arc::new(move |f| g.lock().push(f)));
            for i in 0..n {
                imp.send(vec![i; 40], &stats);
            }
        }
        let out = got.lock().clone();
        (out, stats)
    }

    #[test]
    fn the_same_seed_gives_the_same_run() {
        let cfg = Impairment {
            loss: 0.2,
            dup: 0.2,
            corrupt: 0.1,
            seed: 9,
            ..Impairment::default()
        };
        let (a, sa) = collect(cfg.clone(), 200);
        let (b, _) = collect(cfg, 200);
        assert_eq!(a, b);
        let lost = sa.snapshot().drop_impaired;
        assert!((20..=60).contains(&lost), "lost {lost} of 200 at 20%");
        assert!(
            a.iter().any(|f| f[14..].iter().any(|&x| x != f[0])),
            "some corrupted"
        );
        assert!(
            a.iter().all(|f| f[..14].iter().all(|&x| x == f[0])),
            "headers intact"
        );
    }

    #[test]
    fn reordering_lets_later_frames_overtake() {
        let cfg = Impairment {
            reorder: 0.3,
            seed: 3,
            ..Impairment::default()
        };
        let got: Arc<(Mutex<Vec<u8>>, Condvar)> = Arc::default();
        let g = got.clone();
        let stats = NetStats::default();
        let imp = Impairer::new(
            cfg,
            Arc::new(move |f: Vec<u8>| {
                g.0.lock().push(f[0]);
                g.1.notify_all();
            }),
        );
        for i in 0..100u8 {
            imp.send(vec![i; 20], &stats);
        }
        // Held frames come out of the delay line within milliseconds.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut order = got.0.lock();
        while order.len() < 100 && !got.1.wait_until(&mut order, deadline).timed_out() {}
        let order = order.clone();
        assert_eq!(order.len(), 100);
        assert!(order.windows(2).any(|w| w[0] > w[1]), "something overtook");
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<u8>>());
    }

    /// A delay line whose deliveries land in a list, and a wait for the
    /// list to hold `n` (bounded).
    fn line() -> (DelayLine, impl Fn(usize) -> Vec<u8>) {
        let got: Arc<(Mutex<Vec<u8>>, Condvar)> = Arc::default();
        let g = got.clone();
        let line = DelayLine::start(Arc::new(move |f: Vec<u8>| {
            g.0.lock().push(f[0]);
            g.1.notify_all();
        }));
        let wait = move |n: usize| {
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut v = got.0.lock();
            while v.len() < n && !got.1.wait_until(&mut v, deadline).timed_out() {}
            v.clone()
        };
        (line, wait)
    }

    #[test]
    fn a_frame_due_sooner_wakes_the_line() {
        let (line, wait) = line();
        let now = Instant::now();
        line.push(now + Duration::from_secs(60), vec![1]);
        line.push(now + Duration::from_millis(1), vec![2]);
        // Not held behind the frame due in a minute.
        assert_eq!(wait(1), vec![2]);
    }

    #[test]
    fn frames_due_later_than_the_first_go_after_it() {
        let (line, wait) = line();
        let now = Instant::now();
        line.push(now + Duration::from_millis(2), vec![1]);
        // Due later: the line, already waiting for the first, is not woken.
        line.push(now + Duration::from_millis(3), vec![2]);
        line.push(now + Duration::from_millis(3), vec![3]);
        assert_eq!(wait(3), vec![1, 2, 3]);
        assert!(Instant::now() >= now + Duration::from_millis(3));
    }
}
