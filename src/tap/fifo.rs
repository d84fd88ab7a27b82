//! A bounded frame queue between a tap and a node's stack thread.
//!
//! A full FIFO refuses the frame (the link counts the drop), as a NIC ring
//! does. The bound
//! is generous (bytes, not frames) because smoltcp recovers from loss only
//! by retransmission timeouts of a second or more: the sum of the TCP
//! windows of many busy connections must fit without drops.

use super::lent::Frame;
use crate::wake::StackWaker;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;

pub const DEFAULT_FIFO_BYTES: usize = 64 << 20;
pub const DEFAULT_FIFO_FRAMES: usize = 1 << 16;

#[derive(Default)]
struct Queue {
    frames: VecDeque<Frame>,
    bytes: usize,
}

pub struct FrameFifo {
    queue: Mutex<Queue>,
    max_frames: usize,
    max_bytes: usize,
    waker: Arc<StackWaker>,
}

impl FrameFifo {
    pub fn new(max_frames: usize, max_bytes: usize, waker: Arc<StackWaker>) -> Self {
        FrameFifo {
            queue: Mutex::new(Queue::default()),
            max_frames,
            max_bytes,
            waker,
        }
    }

    /// Queues a frame and wakes the consumer; returns false if it was dropped.
    pub fn push(&self, frame: Vec<u8>) -> bool {
        self.push_frame(frame.into())
    }

    /// As `push`, for a frame that may carry a lent payload.
    pub fn push_frame(&self, frame: Frame) -> bool {
        {
            let mut q = self.queue.lock();
            let len = frame.bytes.len();
            if q.frames.len() >= self.max_frames || q.bytes + len > self.max_bytes {
                return false;
            }
            q.bytes += len;
            q.frames.push_back(frame);
        }
        self.waker.kick();
        true
    }

    /// Moves every queued frame into `out` under one lock acquisition.
    pub fn drain_into(&self, out: &mut VecDeque<Frame>) {
        let mut q = self.queue.lock();
        q.bytes = 0;
        if out.is_empty() {
            std::mem::swap(&mut q.frames, out);
        } else {
            out.extend(q.frames.drain(..));
        }
    }
}
