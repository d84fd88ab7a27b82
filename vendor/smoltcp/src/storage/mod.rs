/*! Specialized containers.

The `storage` module provides containers for use in other modules.
The containers support both pre-allocated memory, without the `std`
or `alloc` crates being available, and heap-allocated memory.
*/

mod assembler;
mod packet_buffer;
mod ring_buffer;

pub use self::assembler::Assembler;
pub use self::packet_buffer::{PacketBuffer, PacketMetadata};
pub use self::ring_buffer::RingBuffer;

/// zts: copies `src` into `dst`, which must be as long, in pieces of at
/// most 2 KiB. glibc's `memcpy` moves larger blocks with `rep movsb`,
/// which AMD Zen CPUs with fast short `rep movsb` run at a fraction of
/// their speed at some relative alignments of source and destination
/// (glibc bug 30994; 3.5 GB/s against 57 for hot 64 KiB copies with the
/// destination 8 bytes past the source modulo 4 KiB). Below its
/// threshold (2112 bytes there, more elsewhere) glibc keeps to its vector
/// loop, whose worst case there is 21 GB/s. The price is a call per piece.
pub fn copy_in_pieces<T: Copy>(dst: &mut [T], src: &[T]) {
    const PIECE_BYTES: usize = 2048;
    let piece = (PIECE_BYTES / core::mem::size_of::<T>().max(1)).max(1);
    assert_eq!(dst.len(), src.len());
    for (d, s) in dst.chunks_mut(piece).zip(src.chunks(piece)) {
        d.copy_from_slice(s);
    }
}

/// A trait for setting a value to a known state.
///
/// In-place analog of Default.
pub trait Resettable {
    fn reset(&mut self);
}

/// Error returned when enqueuing into a full buffer.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Full;

/// Error returned when dequeuing from an empty buffer.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Empty;
