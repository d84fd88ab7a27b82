//! zts: scripted cases for payload lent to a receiver in the same address
//! space instead of copied into the packet.

use super::*;
use crate::phy::{ChecksumCapabilities, LentPayload};

/// An established socket on a device that computes no checksums, lending
/// payloads of at least `min` bytes.
fn socket_lending(tx_len: usize, min: usize) -> TestSocket {
    let mut s = socket_established_with_buffer_sizes(tx_len, 64);
    s.cx.set_checksum_caps(ChecksumCapabilities::ignored());
    s.set_payload_lending(min);
    s
}

/// The next segment sent, with what its packet meta says was lent.
fn sent(s: &mut TestSocket) -> (TcpRepr<'static>, Option<LentPayload>) {
    let mut out = None;
    s.socket
        .dispatch(&mut s.cx, |_, meta, (_, repr)| {
            let repr = TcpRepr {
                payload: Vec::from(repr.payload).leak(),
                ..repr
            };
            out = Some((repr, meta.lent_payload));
            Ok::<(), ()>(())
        })
        .unwrap();
    out.expect("a segment is sent")
}

fn ack(n: usize) -> TcpRepr<'static> {
    TcpRepr {
        seq_number: REMOTE_SEQ + 1,
        ack_number: Some(LOCAL_SEQ + 1 + n),
        ..SEND_TEMPL
    }
}

#[test]
fn a_large_payload_is_lent_where_it_is_in_the_send_buffer() {
    let mut s = socket_lending(64, 4);
    assert_eq!(s.send_slice(b"abcdef"), Ok(6));
    let at = s.tx_buffer.get_allocated(0, 6).as_ptr() as usize;
    let (repr, lent) = sent(&mut s);
    assert_eq!(repr.payload, b"abcdef");
    assert_eq!(
        lent,
        Some(LentPayload {
            addr: at,
            len: 6,
            offset: 0
        })
    );
    // The next one, three bytes on, is too short to lend.
    s.set_nagle_enabled(false);
    assert_eq!(s.send_slice(b"ghi"), Ok(3));
    let (repr, lent) = sent(&mut s);
    assert_eq!(repr.seq_number, LOCAL_SEQ + 1 + 6);
    assert_eq!(lent, None);
}

#[test]
fn nothing_is_lent_where_the_device_computes_checksums() {
    let mut s = socket_established();
    s.set_payload_lending(1);
    assert_eq!(s.send_slice(b"abcdef"), Ok(6));
    assert_eq!(sent(&mut s).1, None);
}

#[test]
fn a_segment_with_a_fin_is_not_lent() {
    let mut s = socket_lending(64, 1);
    assert_eq!(s.send_slice(b"abcdef"), Ok(6));
    s.close();
    let (repr, lent) = sent(&mut s);
    assert_eq!(repr.control, TcpControl::Fin);
    assert_eq!(lent, None);
}

#[test]
fn held_bytes_are_not_written_over_after_their_ack() {
    let mut s = socket_lending(10, 4);
    assert_eq!(s.send_slice(b"abcdefgh"), Ok(8));
    let lent = sent(&mut s).1.expect("lent");
    send!(s, ack(8));
    assert_eq!(s.send_queue(), 0);
    // The eight acknowledged bytes are still lent: an empty buffer would
    // start again at its front, over them.
    s.set_send_held(8);
    assert_eq!(s.send_slice(b"xyz"), Ok(2));
    assert_eq!(s.tx_buffer.get_allocated(0, 2), b"xy");
    // Given back, they are room again, and were left as they were lent.
    s.set_send_held(0);
    assert_eq!(s.tx_buffer.get_unallocated(0, 8), b"abcdefgh");
    assert_eq!(lent.len, 8);
    assert_eq!(s.send_slice(b"z1234567"), Ok(8));
    assert_eq!(s.send_queue(), 10);
}

#[test]
fn a_required_placement_that_cannot_be_met_takes_nothing() {
    let mut s = socket_established();
    let data = |seq: usize, payload: &'static [u8]| TcpRepr {
        seq_number: REMOTE_SEQ + 1 + seq,
        ack_number: Some(LOCAL_SEQ + 1),
        payload,
        ..SEND_TEMPL
    };
    // Above a hole: not taken, not even held out of order.
    s.require_placement(3);
    send!(
        s,
        data(3, b"def"),
        Some(TcpRepr {
            seq_number: LOCAL_SEQ + 1,
            ack_number: Some(REMOTE_SEQ + 1),
            window_len: 64,
            ..RECV_TEMPL
        })
    );
    assert_eq!(s.take_placed(), 0);
    assert_eq!(s.recv_out_of_order_reach(), 0);
    // In order: queued uncopied.
    s.require_placement(3);
    send!(s, data(0, b"abc"));
    assert_eq!(s.take_placed(), 3);
    assert_eq!(s.recv_queue(), 3);
    // Longer than the offer: not taken.
    s.require_placement(2);
    send!(
        s,
        data(3, b"def"),
        Some(TcpRepr {
            seq_number: LOCAL_SEQ + 1,
            ack_number: Some(REMOTE_SEQ + 1 + 3),
            window_len: 61,
            ..RECV_TEMPL
        })
    );
    assert_eq!(s.take_placed(), 0);
    assert_eq!(s.recv_queue(), 3);
}
