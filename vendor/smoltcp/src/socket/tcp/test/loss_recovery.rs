//! zts: scripted cases for SACK recovery, NewReno partial ACKs, the tail
//! loss probe, timeout recovery and the receiver's SACK blocks.

use super::*;

pub(super) const SEG: usize = 6;
pub(super) const DATA: &[u8; 60] = b"000000111111222222333333444444555555666666777777888888999999";

/// A connection to a peer with SACK (or not) and an MSS of 6, with ten
/// segments of `DATA` sent at time 0.
fn sent_ten(sack: bool) -> TestSocket {
    let mut s = socket_established_with_buffer_sizes(128, 64);
    s.remote_has_sack = sack;
    s.remote_mss = SEG;
    s.send_slice(DATA).unwrap();
    let sent = drain(&mut s, 0);
    assert_eq!(sent.len(), 10, "{sent:?}");
    s
}

/// Every data segment the socket sends at `time`: (offset, length).
pub(super) fn drain(s: &mut TestSocket, time: i64) -> Vec<(usize, usize)> {
    let mut out = vec![];
    loop {
        s.cx.set_now(Instant::from_millis(time));
        let mut got = None;
        let _ = s.socket.dispatch(&mut s.cx, |_, _, (_, repr)| {
            got = Some((repr.seq_number - (LOCAL_SEQ + 1), repr.payload.len()));
            Ok::<(), ()>(())
        });
        match got {
            Some((_, 0)) => {}
            Some(seg) => out.push(seg),
            None => return out,
        }
    }
}

/// The peer's ACK of `ack` (an offset) with SACK blocks (offsets).
pub(super) fn ack(s: &mut TestSocket, time: i64, ack: usize, blocks: &[(usize, usize)]) {
    let mut sack_ranges = [None; 3];
    for (slot, &(l, r)) in sack_ranges.iter_mut().zip(blocks) {
        let base = (LOCAL_SEQ + 1).0 as u32;
        *slot = Some((base + l as u32, base + r as u32));
    }
    let repr = TcpRepr {
        seq_number: REMOTE_SEQ + 1,
        ack_number: Some(LOCAL_SEQ + 1 + ack),
        sack_ranges,
        ..SEND_TEMPL
    };
    assert_eq!(send(s, Instant::from_millis(time), &repr), None);
}

#[test]
fn three_losses_in_one_window_are_resent_once_each_without_a_timeout() {
    let mut s = sent_ten(true);
    // Segments at 0, 18 and 36 are lost; each other one brings an ACK of
    // 0 with the receiver's blocks, newest first.
    let acks: [&[(usize, usize)]; 7] = [
        &[(6, 12)],
        &[(6, 18)],
        &[(24, 30), (6, 18)],
        &[(24, 36), (6, 18)],
        &[(42, 48), (24, 36), (6, 18)],
        &[(42, 54), (24, 36), (6, 18)],
        &[(42, 60), (24, 36), (6, 18)],
    ];
    let mut resent = vec![];
    for (i, blocks) in acks.iter().enumerate() {
        let t = 10 + i as i64;
        ack(&mut s, t, 0, blocks);
        resent.extend(drain(&mut s, t));
    }
    // The holes, once each, in order, long before any timeout.
    assert_eq!(resent, vec![(0, SEG), (18, SEG), (36, SEG)]);
    assert_eq!(s.recovery.phase, recovery::Phase::Fast);
    // The resent segments arrive: recovery ends and nothing more goes.
    ack(&mut s, 20, 60, &[]);
    assert_eq!(s.recovery.phase, recovery::Phase::Open);
    assert_eq!(drain(&mut s, 20), vec![]);
}

#[test]
fn partial_acks_resend_the_next_hole_for_a_peer_without_sack() {
    let mut s = sent_ten(false);
    // Segments at 0 and 18 are lost: an ACK, three duplicates of it, then
    // the fast retransmit (RFC 6582).
    for t in 10..14 {
        ack(&mut s, t, 0, &[]);
    }
    let first = drain(&mut s, 14);
    assert_eq!(first.first(), Some(&(0, SEG)), "{first:?}");
    // The retransmission arrives: a partial ACK up to the second hole,
    // which goes at once rather than after a timeout.
    ack(&mut s, 20, 18, &[]);
    let second = drain(&mut s, 20);
    assert_eq!(second.first(), Some(&(18, SEG)), "{second:?}");
    ack(&mut s, 30, 60, &[]);
    assert_eq!(s.recovery.phase, recovery::Phase::Open);
}

#[test]
fn a_lost_tail_is_found_by_the_probe_not_the_timeout() {
    let mut s = sent_ten(true);
    // All but the last two segments arrive: an RTT sample of 10 ms.
    ack(&mut s, 10, 48, &[]);
    // The probe waits 2 * SRTT + 2 ms, then resends the last segment.
    assert_eq!(drain(&mut s, 31), vec![]);
    assert_eq!(drain(&mut s, 32), vec![(54, SEG)]);
    // Its SACK shows the segment before it lost: it goes at once.
    ack(&mut s, 40, 48, &[(54, 60)]);
    assert_eq!(drain(&mut s, 40), vec![(48, SEG)]);
    ack(&mut s, 50, 60, &[]);
    assert_eq!(s.recovery.phase, recovery::Phase::Open);
    assert_eq!(drain(&mut s, 50), vec![]);
}

#[test]
fn a_lost_ack_of_the_tail_costs_a_probe_not_a_timeout() {
    let mut s = sent_ten(true);
    ack(&mut s, 10, 48, &[]);
    // The ACK of the rest is lost; the probe brings it again.
    assert_eq!(drain(&mut s, 32), vec![(54, SEG)]);
    ack(&mut s, 40, 60, &[]);
    assert_eq!(s.recovery.phase, recovery::Phase::Open);
    assert_eq!(drain(&mut s, 40), vec![]);
}

#[test]
fn a_timeout_resends_only_what_the_receiver_lacks() {
    let mut s = sent_ten(true);
    // Only the first segment is lost; its fast retransmission is lost too.
    ack(&mut s, 10, 0, &[(6, 60)]);
    assert_eq!(drain(&mut s, 10), vec![(0, SEG)]);
    // The timeout (1 s without an RTT sample) resends the hole alone,
    // not the 54 bytes the receiver holds.
    assert_eq!(drain(&mut s, 999), vec![]);
    assert_eq!(drain(&mut s, 1000), vec![(0, SEG)]);
    assert_eq!(s.recovery.phase, recovery::Phase::Timeout);
    ack(&mut s, 1010, 60, &[]);
    assert_eq!(s.recovery.phase, recovery::Phase::Open);
    assert_eq!(drain(&mut s, 1010), vec![]);
}

#[test]
fn the_receiver_repeats_its_blocks_newest_first() {
    // RFC 2018 section 4, case 3: the 2nd, 4th, 6th and 8th of eight
    // 500-byte segments from 5000 are lost.
    let (mut s, segment) = setup_rfc2018_cases();
    let base = REMOTE_SEQ.0 as u32 + 1;
    let block = |l: u32, r: u32| Some((base + l, base + r));
    let expected = [
        (5000, 5500, [None, None, None]),
        (6000, 5500, [block(6000, 6500), None, None]),
        (7000, 5500, [block(7000, 7500), block(6000, 6500), None]),
        (
            8000,
            5500,
            [block(8000, 8500), block(7000, 7500), block(6000, 6500)],
        ),
    ];
    for (seq, ack, sack_ranges) in expected {
        let reply = send(
            &mut s,
            Instant::from_millis(0),
            &TcpRepr {
                seq_number: REMOTE_SEQ + 1 + seq,
                ack_number: Some(LOCAL_SEQ + 1),
                payload: &segment,
                ..SEND_TEMPL
            },
        );
        if seq == 5000 {
            // In order: the ACK may wait.
            assert_eq!(reply, None);
            continue;
        }
        let reply = reply.expect("an out-of-order segment is acknowledged at once");
        assert_eq!(reply.ack_number, Some(REMOTE_SEQ + 1 + ack));
        assert_eq!(reply.sack_ranges, sack_ranges, "after {seq}");
    }
}

#[test]
fn a_lost_retransmission_is_found_by_time_not_the_timeout() {
    let mut s = sent_ten(true);
    // An RTT of 10 ms is known: the wait is 10 ms plus a quarter.
    s.rtte.sample(10);
    // The first segment is lost; its fast retransmission goes at 10.
    ack(&mut s, 10, 0, &[(6, 60)]);
    assert_eq!(drain(&mut s, 10), vec![(0, SEG)]);
    // New data sent after it, which arrives while the retransmission
    // does not: it is lost too, but may still be on its way until 22.
    s.send_slice(b"aaaaaa").unwrap();
    ack(&mut s, 15, 0, &[(6, 60)]);
    assert_eq!(drain(&mut s, 15), vec![(60, SEG)]);
    ack(&mut s, 21, 0, &[(6, 66)]);
    assert_eq!(drain(&mut s, 21), vec![]);
    // Past the wait, the next ACK has it resent, long before the timeout.
    ack(&mut s, 23, 0, &[(6, 66)]);
    assert_eq!(drain(&mut s, 23), vec![(0, SEG)]);
    assert_eq!(s.recovery.phase, recovery::Phase::Fast);
    ack(&mut s, 40, 66, &[]);
    assert_eq!(s.recovery.phase, recovery::Phase::Open);
}

#[test]
fn a_dsack_for_all_that_was_resent_undoes_the_reduction() {
    let mut s = sent_ten(true);
    s.rtte.sample(10);
    let before = s.congestion_controller.inner().window();
    // The first segment is only late: taken for lost, it is resent (and
    // the window cut, where a controller is built in).
    ack(&mut s, 10, 0, &[(6, 60)]);
    assert_eq!(drain(&mut s, 10), vec![(0, SEG)]);
    assert!(!s.undo.is_empty());
    // The original arrives first, then the resend: the receiver reports
    // the duplicate below its ACK (RFC 2883), and the cut is undone.
    ack(&mut s, 12, 60, &[]);
    ack(&mut s, 13, 60, &[(0, SEG)]);
    assert!(s.undo.is_empty());
    assert!(s.congestion_controller.inner().window() >= before);
    assert_eq!(s.recovery.phase, recovery::Phase::Open);
}

#[test]
#[cfg(feature = "socket-tcp-cubic")]
fn a_recovery_that_ends_with_nothing_resent_undoes_the_reduction() {
    let mut s = sent_ten(true);
    s.set_congestion_control(CongestionControl::Cubic);
    s.congestion_controller.inner_mut().set_mss(SEG);
    s.rtte.sample(10);
    let before = s.congestion_controller.inner().window();
    // The first segment is taken for lost, and the threshold cut (the
    // window follows it as recovery ends)...
    ack(&mut s, 10, 0, &[(6, 60)]);
    assert_eq!(s.recovery.phase, recovery::Phase::Fast);
    assert!(s.congestion_controller.inner().ssthresh() < before);
    // ...but it arrives before its resend could go: nothing was lost.
    ack(&mut s, 11, 60, &[]);
    assert_eq!(s.recovery.phase, recovery::Phase::Open);
    assert!(s.undo.is_empty());
    assert!(s.congestion_controller.inner().window() >= before);
}

#[test]
#[cfg(feature = "socket-tcp-cubic")]
fn a_recovery_that_resent_keeps_its_reduction_without_a_dsack() {
    let mut s = sent_ten(true);
    s.set_congestion_control(CongestionControl::Cubic);
    s.congestion_controller.inner_mut().set_mss(SEG);
    s.rtte.sample(10);
    let before = s.congestion_controller.inner().window();
    ack(&mut s, 10, 0, &[(6, 60)]);
    assert_eq!(drain(&mut s, 10), vec![(0, SEG)]);
    ack(&mut s, 20, 60, &[]);
    assert_eq!(s.recovery.phase, recovery::Phase::Open);
    assert!(s.congestion_controller.inner().window() < before);
}

#[test]
fn a_dsack_for_data_never_resent_undoes_nothing() {
    let mut s = sent_ten(true);
    s.rtte.sample(10);
    ack(&mut s, 10, 0, &[(6, 60)]);
    assert_eq!(drain(&mut s, 10), vec![(0, SEG)]);
    let cut = s.congestion_controller.inner().window();
    // A duplicate of SACKed data, never resent (the network duplicated
    // it): a first block inside the second.
    ack(&mut s, 12, 0, &[(12, 18), (6, 60)]);
    assert!(!s.undo.is_empty());
    assert_eq!(s.congestion_controller.inner().window(), cut);
    assert_eq!(s.recovery.phase, recovery::Phase::Fast);
}

#[test]
fn the_receiver_reports_a_duplicate_segment_first() {
    let mut s = socket_established();
    s.remote_has_sack = true;
    let data = TcpRepr {
        seq_number: REMOTE_SEQ + 1,
        ack_number: Some(LOCAL_SEQ + 1),
        payload: &b"abcdef"[..],
        ..SEND_TEMPL
    };
    let _ = send(&mut s, Instant::from_millis(0), &data);
    let _ = s.recv(|b| (b.len(), ()));
    // The same segment again: the ACK names it as a D-SACK, once.
    let reply = send(&mut s, Instant::from_millis(1), &data).expect("an ACK");
    let dup = ((REMOTE_SEQ + 1).0 as u32, (REMOTE_SEQ + 7).0 as u32);
    assert_eq!(reply.ack_number, Some(REMOTE_SEQ + 7));
    assert_eq!(reply.sack_ranges, [Some(dup), None, None]);
    s.send_slice(b"x").unwrap();
    let mut next = None;
    s.cx.set_now(Instant::from_millis(2));
    let _ = s.socket.dispatch(&mut s.cx, |_, _, (_, repr)| {
        next = Some(repr.sack_ranges);
        Ok::<(), ()>(())
    });
    assert_eq!(next, Some([None, None, None]));
}

#[test]
fn a_segment_sacked_past_a_resent_hole_is_an_rtt_sample() {
    let mut s = sent_ten(true);
    // The first segment is the sample: 10 ms.
    ack(&mut s, 10, 6, &[]);
    assert_eq!(s.rtte.srtt, 10);
    // New data at 20 is the next sample; the segment at 6 is lost and
    // resent below it.
    s.send_slice(b"aaaaaa").unwrap();
    assert_eq!(drain(&mut s, 20), vec![(60, SEG)]);
    ack(&mut s, 25, 6, &[(12, 60)]);
    assert_eq!(drain(&mut s, 25), vec![(6, SEG)]);
    // The new segment SACKed at 60 measures 40 ms: 10 * 7/8 + 40/8.
    ack(&mut s, 60, 6, &[(12, 66)]);
    assert_eq!(s.rtte.srtt, 14);
    // The ACK that the resend brings measures nothing more.
    ack(&mut s, 70, 66, &[]);
    assert_eq!(s.rtte.srtt, 14);
}

#[test]
fn the_timer_backoff_ends_with_the_timeout_recovery() {
    let mut s = sent_ten(true);
    s.rtte.sample(10);
    // The first segment is lost, then its fast retransmission, then the
    // resend of the timeout armed at 0 (the second timeout forgets the
    // SACK blocks): the timer doubles to 800 ms.
    ack(&mut s, 10, 0, &[(6, 60)]);
    assert_eq!(drain(&mut s, 10), vec![(0, SEG)]);
    assert_eq!(drain(&mut s, 1000), vec![(0, SEG)]);
    assert_eq!(drain(&mut s, 1400).first(), Some(&(0, SEG)));
    assert_eq!(s.rtte.retransmission_timeout(), Duration::from_millis(800));
    // Everything arrives: the path answers, the timer is SRTT's again.
    ack(&mut s, 1410, 60, &[]);
    assert_eq!(s.recovery.phase, recovery::Phase::Open);
    assert_eq!(s.rtte.retransmission_timeout(), Duration::from_millis(200));
}

#[test]
fn a_segment_the_assembler_has_no_room_for_is_still_acknowledged() {
    let mut s = socket_established_with_buffer_sizes(64, 1024);
    s.remote_has_sack = true;
    let segment = |offset: usize| TcpRepr {
        seq_number: REMOTE_SEQ + 1 + offset,
        ack_number: Some(LOCAL_SEQ + 1),
        payload: &b"x"[..],
        ..SEND_TEMPL
    };
    // One-byte segments with a hole before each: every one takes a slot.
    let holes = crate::config::ASSEMBLER_MAX_SEGMENT_COUNT;
    for i in 0..holes {
        let reply = send(&mut s, Instant::from_millis(0), &segment(2 * i + 1));
        // From the fourth, with the next dispatch (SACK compression).
        let mut dispatched = false;
        let _ = s.socket.dispatch(&mut s.cx, |_, _, _| {
            dispatched = true;
            Ok::<(), ()>(())
        });
        let acked = reply.is_some() || dispatched;
        assert!(acked, "segment {i} acknowledged");
    }
    // One more hole than the assembler holds: dropped, but a duplicate ACK
    // goes, and no SACK block claims the dropped byte.
    let dropped = 2 * holes + 1;
    let reply = send(&mut s, Instant::from_millis(1), &segment(dropped)).expect("an ACK");
    assert_eq!(reply.ack_number, Some(REMOTE_SEQ + 1));
    let byte = (REMOTE_SEQ + 1 + dropped).0 as u32;
    for &(l, r) in reply.sack_ranges.iter().flatten() {
        assert!(!(l <= byte && byte < r), "{l}..{r} claims the dropped byte");
    }
}
