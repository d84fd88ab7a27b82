//! A byte ring of bounded capacity: a socket's rx or tx queue.
//!
//! The storage grows with what is queued (doubling, from 4 KiB up to the
//! capacity), so an idle socket costs no buffer memory and a connection
//! that only ever holds a few bytes never pays for zeroing 256 KiB.

/// The first storage a ring allocates.
const MIN_STORAGE: usize = 4096;

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
            if capacity < self.buf.len() {
                self.regrow(self.len.max(MIN_STORAGE).min(capacity));
            }
            self.capacity = capacity;
        }
    }

    /// Moves the queued bytes to the front of new storage of `size` bytes.
    fn regrow(&mut self, size: usize) {
        let mut buf = vec![0; size];
        self.peek(&mut buf[..self.len]);
        self.buf = buf;
        self.head = 0;
    }

    /// Appends as much of `src` as fits; returns how much did.
    pub fn write(&mut self, src: &[u8]) -> usize {
        let n = src.len().min(self.free());
        if n == 0 {
            return 0;
        }
        if self.len + n > self.buf.len() {
            let size = (self.len + n)
                .max(self.buf.len() * 2)
                .max(MIN_STORAGE)
                .min(self.capacity);
            self.regrow(size);
        }
        let size = self.buf.len();
        let tail = (self.head + self.len) % size;
        let first = n.min(size - tail);
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
        let first = n.min(self.buf.len() - self.head);
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
            (self.head + n) % self.buf.len()
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

    /// Storage grows while bytes wrap around it, and order holds.
    #[test]
    fn grows_with_what_is_queued_and_keeps_order() {
        let cap = 100_000;
        let mut r = ByteRing::new(cap);
        let data: Vec<u8> = (0..cap * 3).map(|i| (i * 7 % 251) as u8).collect();
        let (mut written, mut read) = (0, 0);
        let mut out = vec![0u8; cap];
        let mut step = 1;
        while read < data.len() {
            let w = r.write(&data[written..(written + step * 3).min(data.len())]);
            written += w;
            assert!(r.buf.len() <= cap);
            let n = r.read(&mut out[..step * 2]);
            assert_eq!(&out[..n], &data[read..read + n]);
            read += n;
            step = step % 5000 + 17;
        }
        assert!(r.is_empty());
        let mut small = ByteRing::new(cap);
        small.write(b"x");
        assert_eq!(small.buf.len(), super::MIN_STORAGE);
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
        r.write(b"0123456789");
        r.set_capacity(12);
        assert_eq!(r.read(&mut all), 8);
        assert_eq!(&all, b"01234567");
    }
}
