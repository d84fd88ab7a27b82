//! zts: scripted cases for buffers that grow during a connection.

use super::*;

#[test]
fn growing_the_receive_buffer_keeps_out_of_order_data_and_opens_the_window() {
    let mut s = socket_established();
    // A segment beyond a hole waits in the unallocated part of the buffer.
    send!(
        s,
        TcpRepr {
            seq_number: REMOTE_SEQ + 1 + 3,
            ack_number: Some(LOCAL_SEQ + 1),
            payload: &b"def"[..],
            ..SEND_TEMPL
        },
        Some(TcpRepr {
            seq_number: LOCAL_SEQ + 1,
            ack_number: Some(REMOTE_SEQ + 1),
            window_len: 64,
            ..RECV_TEMPL
        })
    );
    assert!(s.grow_recv_buffer(vec![0; 32]).is_err());
    assert_eq!(s.grow_recv_buffer(vec![0; 256]).unwrap().len(), 64);
    assert_eq!(s.recv_capacity(), 256);
    // The hole fills: both parts are delivered, under the larger window.
    send!(
        s,
        TcpRepr {
            seq_number: REMOTE_SEQ + 1,
            ack_number: Some(LOCAL_SEQ + 1),
            payload: &b"abc"[..],
            ..SEND_TEMPL
        },
        Some(TcpRepr {
            seq_number: LOCAL_SEQ + 1,
            ack_number: Some(REMOTE_SEQ + 1 + 6),
            window_len: 250,
            ..RECV_TEMPL
        })
    );
    let mut got = [0; 8];
    assert_eq!(s.recv_slice(&mut got), Ok(6));
    assert_eq!(&got[..6], b"abcdef");
}

#[test]
fn growing_the_send_buffer_keeps_sent_data_for_retransmission() {
    let mut s = socket_established_with_buffer_sizes(6, 64);
    assert_eq!(s.send_slice(b"abcdef"), Ok(6));
    recv!(
        s,
        time 0,
        Ok(TcpRepr {
            seq_number: LOCAL_SEQ + 1,
            ack_number: Some(REMOTE_SEQ + 1),
            payload: &b"abcdef"[..],
            ..RECV_TEMPL
        })
    );
    assert_eq!(s.send_slice(b"x"), Ok(0));
    assert_eq!(s.grow_send_buffer(vec![0; 12]).unwrap().len(), 6);
    assert_eq!(s.send_slice(b"ghijklm"), Ok(6));
    // Unacknowledged, the first segment goes again on timeout, then the
    // rest once it is acknowledged.
    recv!(
        s,
        time 1000,
        Ok(TcpRepr {
            seq_number: LOCAL_SEQ + 1,
            ack_number: Some(REMOTE_SEQ + 1),
            payload: &b"abcdef"[..],
            ..RECV_TEMPL
        })
    );
    send!(
        s,
        time 1010,
        TcpRepr {
            seq_number: REMOTE_SEQ + 1,
            ack_number: Some(LOCAL_SEQ + 1 + 6),
            ..SEND_TEMPL
        }
    );
    recv!(
        s,
        time 1010,
        Ok(TcpRepr {
            seq_number: LOCAL_SEQ + 1 + 6,
            ack_number: Some(REMOTE_SEQ + 1),
            payload: &b"ghijkl"[..],
            ..RECV_TEMPL
        })
    );
}

#[test]
fn the_window_scale_is_chosen_for_the_capacity_the_buffer_may_grow_to() {
    let mut s = socket_with_buffer_sizes(64, 64);
    s.set_recv_capacity_max(1 << 20);
    s.local_seq_no = LOCAL_SEQ;
    s.socket
        .connect(&mut s.cx, REMOTE_END, LOCAL_END.port)
        .unwrap();
    recv!(
        s,
        [TcpRepr {
            control: TcpControl::Syn,
            seq_number: LOCAL_SEQ,
            ack_number: None,
            max_seg_size: Some(BASE_MSS),
            window_scale: Some(5),
            sack_permitted: true,
            ..RECV_TEMPL
        }]
    );
    assert_eq!(s.recv_capacity(), 64);
}

#[test]
fn only_empty_buffers_offer_their_storage() {
    let mut s = socket_established_with_buffer_sizes(6, 64);
    assert_eq!(s.send_slice(b"abc"), Ok(3));
    let _ = send(
        &mut s,
        Instant::from_millis(0),
        &TcpRepr {
            seq_number: REMOTE_SEQ + 1 + 3,
            ack_number: Some(LOCAL_SEQ + 1),
            payload: &b"def"[..],
            ..SEND_TEMPL
        },
    );
    // Unsent data and out-of-order data: neither is offered.
    let (rx, tx) = s.idle_buffer_storage();
    assert!(rx.is_none() && tx.is_none());
    let _ = send(
        &mut s,
        Instant::from_millis(0),
        &TcpRepr {
            seq_number: REMOTE_SEQ + 1,
            ack_number: Some(LOCAL_SEQ + 1),
            payload: &b"abc"[..],
            ..SEND_TEMPL
        },
    );
    let mut got = [0; 6];
    assert_eq!(s.recv_slice(&mut got), Ok(6));
    assert_eq!(&got, b"abcdef");
    let (rx, tx) = s.idle_buffer_storage();
    assert_eq!(rx.map(|b| b.len()), Some(64));
    assert!(tx.is_none());
}
