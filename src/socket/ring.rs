//! A fixed-capacity byte ring: a socket's rx or tx queue.
//!
//! The storage is allocated on first write, so an idle socket costs no
//! buffer memory.

pub struct ByteRing {
    buf: Vec<u8>,
    capacity: usize,
    head: usize,
    len: usize,
}

impl ByteRing {
    pub fn new(capacity: usize) -> Self {
        ByteRing {
            buf: Vec::new(),
            capacity,
            head: 0,
            len: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn free(&self) -> usize {
        self.capacity - self.len
    }

    /// Changes the capacity; only an empty ring can shrink below its length.
    pub fn set_capacity(&mut self, capacity: usize) {
        if capacity >= self.len {
            let mut data = vec![0; self.len];
            self.peek(&mut data);
            self.buf = Vec::new();
            self.capacity = capacity;
            self.head = 0;
            self.len = 0;
            self.write(&data);
        }
    }

    /// Appends as much of `src` as fits; returns how much did.
    pub fn write(&mut self, src: &[u8]) -> usize {
        let n = src.len().min(self.free());
        if n == 0 {
            return 0;
        }
        if self.buf.len() != self.capacity {
            self.buf = vec![0; self.capacity];
        }
        let tail = (self.head + self.len) % self.capacity;
        let first = n.min(self.capacity - tail);
        self.buf[tail..tail + first].copy_from_slice(&src[..first]);
        self.buf[..n - first].copy_from_slice(&src[first..n]);
        self.len += n;
        n
    }

    /// Copies up to `dst.len()` bytes from the front without consuming them.
    pub fn peek(&self, dst: &mut [u8]) -> usize {
        let n = dst.len().min(self.len);
        if n == 0 {
            return 0;
        }
        let first = n.min(self.capacity - self.head);
        dst[..first].copy_from_slice(&self.buf[self.head..self.head + first]);
        dst[first..n].copy_from_slice(&self.buf[..n - first]);
        n
    }

    /// Removes up to `n` bytes from the front.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len -= n;
        self.head = if self.len == 0 {
            0
        } else {
            (self.head + n) % self.capacity
        };
    }

    /// Moves up to `dst.len()` bytes from the front into `dst`.
    pub fn read(&mut self, dst: &mut [u8]) -> usize {
        let n = self.peek(dst);
        self.consume(n);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::ByteRing;

    #[test]
    fn wraps_and_keeps_order() {
        let mut r = ByteRing::new(8);
        assert_eq!(r.write(b"abcdef"), 6);
        let mut out = [0u8; 4];
        assert_eq!(r.read(&mut out), 4);
        assert_eq!(&out, b"abcd");
        assert_eq!(r.write(b"ghijklmn"), 6);
        let mut all = [0u8; 16];
        assert_eq!(r.read(&mut all), 8);
        assert_eq!(&all[..8], b"efghijkl");
        assert!(r.is_empty());
    }

    #[test]
    fn peek_does_not_consume_and_resize_keeps_data() {
        let mut r = ByteRing::new(4);
        r.write(b"xyz");
        let mut out = [0u8; 2];
        assert_eq!(r.peek(&mut out), 2);
        r.set_capacity(16);
        assert_eq!(r.capacity(), 16);
        let mut all = [0u8; 8];
        assert_eq!(r.read(&mut all), 3);
        assert_eq!(&all[..3], b"xyz");
    }
}
