//! zts: scripted cases for payload the caller keeps in its segment
//! instead of having it copied into the receive buffer.

use super::*;

fn data(seq: usize, payload: &'static [u8]) -> TcpRepr<'static> {
    TcpRepr {
        seq_number: REMOTE_SEQ + 1 + seq,
        ack_number: Some(LOCAL_SEQ + 1),
        payload,
        ..SEND_TEMPL
    }
}

#[test]
fn an_offered_payload_takes_its_room_in_the_queue_but_is_not_copied() {
    let mut s = socket_established();
    s.offer_placement(6);
    send!(s, data(0, b"abcdef"));
    assert_eq!(s.take_placed(), 6);
    assert_eq!(s.recv_queue(), 6);
    // The buffer's bytes there are stale: the caller gives the reader its own.
    let mut stale = [0xff; 6];
    assert_eq!(s.peek_slice_at(0, &mut stale), 6);
    assert_eq!(stale, [0; 6]);
    // It is acknowledged and takes its room in the window like any data.
    recv!(
        s,
        [TcpRepr {
            seq_number: LOCAL_SEQ + 1,
            ack_number: Some(REMOTE_SEQ + 1 + 6),
            window_len: 58,
            ..RECV_TEMPL
        }]
    );
    // The next segment, not offered, is copied behind it.
    send!(s, data(6, b"ghi"));
    assert_eq!(s.take_placed(), 0);
    let mut got = [0; 3];
    assert_eq!(s.peek_slice_at(6, &mut got), 3);
    assert_eq!(&got, b"ghi");
    assert_eq!(s.recv_skip(6), Ok(6));
    assert_eq!(s.recv_slice(&mut got), Ok(3));
    assert_eq!(&got, b"ghi");
}

#[test]
fn an_offer_is_for_the_next_segment_only() {
    let mut s = socket_established();
    s.offer_placement(3);
    send!(s, data(0, b"abcdef"));
    // Not the length offered: copied, and the offer is gone.
    assert_eq!(s.take_placed(), 0);
    send!(s, data(6, b"ghi"));
    assert_eq!(s.take_placed(), 0);
    let mut got = [0; 9];
    assert_eq!(s.recv_slice(&mut got), Ok(9));
    assert_eq!(&got, b"abcdefghi");
}

#[test]
fn out_of_order_or_trimmed_payload_is_copied_whatever_the_offer() {
    let mut s = socket_established();
    // Above a hole.
    s.offer_placement(3);
    send!(
        s,
        data(3, b"def"),
        Some(TcpRepr {
            seq_number: LOCAL_SEQ + 1,
            ack_number: Some(REMOTE_SEQ + 1),
            window_len: 64,
            sack_ranges: [None, None, None],
            ..RECV_TEMPL
        })
    );
    assert_eq!(s.take_placed(), 0);
    // Filling the hole while data above it is held.
    s.offer_placement(3);
    send!(
        s,
        data(0, b"abc"),
        Some(TcpRepr {
            seq_number: LOCAL_SEQ + 1,
            ack_number: Some(REMOTE_SEQ + 1 + 6),
            window_len: 58,
            ..RECV_TEMPL
        })
    );
    assert_eq!(s.take_placed(), 0);
    // Partly a duplicate: only its new part is queued, so it is copied.
    s.offer_placement(4);
    send!(s, data(5, b"fghi"));
    assert_eq!(s.take_placed(), 0);
    let mut got = [0; 9];
    assert_eq!(s.recv_slice(&mut got), Ok(9));
    assert_eq!(&got, b"abcdefghi");
}

#[test]
fn a_payload_beyond_the_window_is_copied_in_part_not_placed() {
    let mut s = socket_established_with_buffer_sizes(64, 6);
    s.offer_placement(8);
    send!(s, data(0, b"abcdefgh"));
    recv!(
        s,
        [TcpRepr {
            seq_number: LOCAL_SEQ + 1,
            ack_number: Some(REMOTE_SEQ + 1 + 6),
            window_len: 0,
            ..RECV_TEMPL
        }]
    );
    assert_eq!(s.take_placed(), 0);
    let mut got = [0; 8];
    assert_eq!(s.recv_slice(&mut got), Ok(6));
    assert_eq!(&got[..6], b"abcdef");
}
