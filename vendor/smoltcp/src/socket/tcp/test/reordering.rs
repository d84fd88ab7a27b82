//! zts: scripted cases for loss found by time on first transmissions
//! (RACK's reordering window) and for the receiver's SACK compression.

use super::loss_recovery::{DATA, SEG, ack, drain};
use super::*;

/// A connection to a peer with SACK and an MSS of 6 that sends one segment
/// of `DATA` each millisecond from `from` (ms): the offsets of segments
/// `segments`.
fn send_one_a_ms(s: &mut TestSocket, from: i64, segments: core::ops::Range<usize>) {
    for (i, n) in segments.enumerate() {
        s.send_slice(&DATA[n * SEG..(n + 1) * SEG]).unwrap();
        assert_eq!(drain(s, from + i as i64), vec![(n * SEG, SEG)]);
    }
}

fn socket() -> TestSocket {
    let mut s = socket_established_with_buffer_sizes(128, 64);
    s.remote_has_sack = true;
    s.remote_mss = SEG;
    s
}

/// Teaches the socket that its path reorders: segment 0 arrives after 1
/// and 2, and was never resent.
fn reordering_seen() -> TestSocket {
    let mut s = socket();
    send_one_a_ms(&mut s, 0, 0..3);
    // An RTT of 39 ms.
    ack(&mut s, 40, 0, &[(6, 12)]);
    ack(&mut s, 41, 0, &[(6, 18)]);
    assert_eq!(drain(&mut s, 41), vec![]);
    ack(&mut s, 42, 18, &[]);
    assert!(s.rack.reordering_seen());
    assert_eq!(s.recovery.phase, recovery::Phase::Open);
    s
}

#[test]
fn a_late_segment_is_not_resent_once_reordering_is_seen() {
    let mut s = reordering_seen();
    let cwnd = s.congestion_controller.inner().window();
    // Segment 3 is held back; 4, 5 and 6 arrive: three duplicate ACKs and
    // three segments SACKed above a hole, which before meant loss.
    send_one_a_ms(&mut s, 50, 3..7);
    ack(&mut s, 90, 18, &[(24, 30)]);
    ack(&mut s, 91, 18, &[(24, 36)]);
    ack(&mut s, 92, 18, &[(24, 42)]);
    assert_eq!(drain(&mut s, 92), vec![]);
    assert_eq!(s.recovery.phase, recovery::Phase::Open);
    // It arrives within the reordering window (a quarter of the RTT past
    // 50 + 39): nothing was resent and the window was not cut.
    ack(&mut s, 96, 42, &[]);
    assert_eq!(drain(&mut s, 96), vec![]);
    assert_eq!(s.recovery.phase, recovery::Phase::Open);
    assert!(s.congestion_controller.inner().window() >= cwnd);
}

#[test]
fn a_segment_that_never_comes_is_resent_when_the_window_has_passed() {
    let mut s = reordering_seen();
    send_one_a_ms(&mut s, 50, 3..7);
    ack(&mut s, 90, 18, &[(24, 30)]);
    ack(&mut s, 91, 18, &[(24, 36)]);
    ack(&mut s, 92, 18, &[(24, 42)]);
    // Segment 3 went at 50; the latest delivered (6, sent at 53) took
    // 39 ms, and the window is a quarter of the smoothed RTT (39 ms): with
    // no further ACK, RACK's timer has it resent at 98.75, long before the
    // retransmission timeout.
    let at = s.rack_at.expect("RACK's timer is set");
    let due = (at - Instant::from_millis(0)).total_millis() as i64;
    assert_eq!(due, 98);
    assert_eq!(drain(&mut s, 98), vec![]);
    assert_eq!(drain(&mut s, 99), vec![(18, SEG)]);
    assert_eq!(s.recovery.phase, recovery::Phase::Fast);
}

#[test]
fn segments_as_late_as_one_was_before_are_not_resent_on_a_short_rtt() {
    let mut s = socket();
    // An RTT of 10 ms; segment 0 is held 20 ms. Three segments SACKed
    // above it, before any reordering is known, mean loss: it is resent.
    send_one_a_ms(&mut s, 0, 0..4);
    ack(&mut s, 11, 0, &[(6, 12)]);
    ack(&mut s, 12, 0, &[(6, 18)]);
    ack(&mut s, 13, 0, &[(6, 24)]);
    assert_eq!(drain(&mut s, 13), vec![(0, SEG)]);
    // The resend arrives first; the original, 20 ms past its RTT, is
    // reported by a D-SACK.
    ack(&mut s, 23, 24, &[]);
    ack(&mut s, 30, 24, &[(0, 6)]);
    assert!(s.rack.reordering_seen());
    assert_eq!(s.recovery.phase, recovery::Phase::Open);
    // Segment 4 is held 18 ms. A window of a quarter RTT, even doubled by
    // the D-SACK (5 ms), would have it resent at 55 ms; it covers the 20
    // ms seen instead.
    send_one_a_ms(&mut s, 40, 4..8);
    ack(&mut s, 51, 24, &[(30, 36)]);
    ack(&mut s, 52, 24, &[(30, 42)]);
    ack(&mut s, 53, 24, &[(30, 48)]);
    for t in [53, 56, 60, 67] {
        assert_eq!(drain(&mut s, t), vec![], "at {t} ms");
    }
    ack(&mut s, 68, 48, &[]);
    assert_eq!(drain(&mut s, 68), vec![]);
    assert_eq!(s.recovery.phase, recovery::Phase::Open);
}

#[test]
fn without_reordering_seen_three_segments_above_a_hole_still_mean_loss() {
    let mut s = socket();
    send_one_a_ms(&mut s, 0, 0..4);
    ack(&mut s, 10, 0, &[(6, 12)]);
    ack(&mut s, 11, 0, &[(6, 18)]);
    ack(&mut s, 12, 0, &[(6, 24)]);
    assert_eq!(drain(&mut s, 12), vec![(0, SEG)]);
    assert_eq!(s.recovery.phase, recovery::Phase::Fast);
}

/// The peer's segment of one byte at `offset`.
fn byte_at(s: &mut TestSocket, offset: usize) -> Option<TcpRepr<'static>> {
    let repr = TcpRepr {
        seq_number: REMOTE_SEQ + 1 + offset,
        ack_number: Some(LOCAL_SEQ + 1),
        payload: &b"x"[..],
        ..SEND_TEMPL
    };
    send(s, Instant::from_millis(0), &repr)
}

/// What one dispatch sends, if anything.
fn dispatched(s: &mut TestSocket) -> Option<TcpRepr<'static>> {
    let mut out = None;
    let _ = s.socket.dispatch(&mut s.cx, |_, _, (_, repr)| {
        out = Some(TcpRepr {
            payload: &[],
            ..repr
        });
        Ok::<(), ()>(())
    });
    out
}

#[test]
fn out_of_order_acks_after_the_third_go_with_the_next_dispatch() {
    let mut s = socket();
    let block = |l: usize, r: usize| {
        let base = (REMOTE_SEQ + 1).0 as u32;
        Some((base + l as u32, base + r as u32))
    };
    // Byte 0 is missing. The first three out-of-order bytes are each
    // acknowledged at once: the duplicates a sender counts.
    for offset in 1..4 {
        let reply = byte_at(&mut s, offset).expect("an immediate ACK");
        assert_eq!(reply.sack_ranges[0], block(1, offset + 1));
    }
    // The next ones are folded into the ACK the next dispatch sends, which
    // holds the newest.
    for offset in 4..8 {
        assert_eq!(byte_at(&mut s, offset), None);
    }
    let folded = dispatched(&mut s).expect("the deferred ACK");
    assert_eq!(folded.ack_number, Some(REMOTE_SEQ + 1));
    assert_eq!(folded.sack_ranges[0], block(1, 8));
    assert_eq!(dispatched(&mut s), None);
    // The byte that fills the hole is acknowledged at once.
    let reply = byte_at(&mut s, 0).expect("an immediate ACK");
    assert_eq!(reply.ack_number, Some(REMOTE_SEQ + 1 + 8));
}

#[test]
fn a_duplicate_above_a_hole_is_reported_ahead_of_its_block() {
    let mut s = socket();
    let block = |l: usize, r: usize| {
        let base = (REMOTE_SEQ + 1).0 as u32;
        Some((base + l as u32, base + r as u32))
    };
    // Byte 0 is missing; bytes 1 and 2 are held.
    byte_at(&mut s, 1);
    byte_at(&mut s, 2);
    // Byte 2 again (a resend the sender did not need): a D-SACK of it
    // first, then the block holding it, at once.
    let reply = byte_at(&mut s, 2).expect("an immediate ACK");
    assert_eq!(reply.ack_number, Some(REMOTE_SEQ + 1));
    assert_eq!(reply.sack_ranges[0], block(2, 3));
    assert_eq!(reply.sack_ranges[1], block(1, 3));
    // New data above the hole carries no D-SACK.
    let reply = byte_at(&mut s, 3).expect("an immediate ACK");
    assert_eq!(reply.sack_ranges[0], block(1, 4));
}

#[test]
fn a_deferred_ack_goes_once_after_close() {
    let mut s = socket();
    s.close();
    assert!(dispatched(&mut s).is_some_and(|r| r.control == TcpControl::Fin));
    assert_eq!(s.state, State::FinWait1);
    // Byte 0 is missing; the fourth out-of-order byte's ACK is deferred.
    for offset in 1..5 {
        byte_at(&mut s, offset);
    }
    assert!(s.sack_owed);
    // One segment settles it, with the blocks, and then nothing more.
    let settled = dispatched(&mut s).expect("the deferred ACK");
    assert!(settled.sack_ranges[0].is_some());
    assert!(!s.sack_owed);
    assert_eq!(dispatched(&mut s), None);
}
