//! Captures a network's frames, both directions, to a pcap file (the
//! classic format: tshark, tcpdump and Wireshark all read it).

use crate::error::{Errno, Result};
use parking_lot::Mutex;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const LINKTYPE_ETHERNET: u32 = 1;
const SNAPLEN: u32 = 262_144;

pub struct Pcap {
    out: Mutex<BufWriter<File>>,
}

impl Pcap {
    /// Creates (or truncates) the file and writes the pcap header.
    pub fn create(path: &Path) -> Result<Pcap> {
        let file = File::create(path).map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::EIO)))?;
        let mut out = BufWriter::new(file);
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&MAGIC_MICROS.to_le_bytes());
        header.extend_from_slice(&2u16.to_le_bytes());
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&0i32.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(&SNAPLEN.to_le_bytes());
        header.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&header)
            .and_then(|_| out.flush())
            .map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::EIO)))?;
        Ok(Pcap {
            out: Mutex::new(out),
        })
    }

    /// Appends one frame. Written through at once, so the file can be read
    /// while the node runs; a write error ends nothing but the capture.
    pub fn write(&self, frame: &[u8]) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let kept = frame.len().min(SNAPLEN as usize);
        let mut record = Vec::with_capacity(16 + kept);
        record.extend_from_slice(&(now.as_secs() as u32).to_le_bytes());
        record.extend_from_slice(&now.subsec_micros().to_le_bytes());
        record.extend_from_slice(&(kept as u32).to_le_bytes());
        record.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        record.extend_from_slice(&frame[..kept]);
        let mut out = self.out.lock();
        let _ = out.write_all(&record).and_then(|_| out.flush());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_header_and_records() {
        let path = std::env::temp_dir().join(format!("zts-pcap-unit-{}.pcap", std::process::id()));
        let p = Pcap::create(&path).unwrap();
        p.write(&[0xffu8; 60]);
        drop(p);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(bytes.len(), 24 + 16 + 60);
        assert_eq!(&bytes[..4], &MAGIC_MICROS.to_le_bytes());
        assert_eq!(&bytes[20..24], &LINKTYPE_ETHERNET.to_le_bytes());
        assert_eq!(&bytes[32..36], &60u32.to_le_bytes());
    }
}
