//! The bare mechanism the raw-sync transport is measured against: a minimal
//! two-process ping-pong over shared_memory + raw_sync's BusyEvent, carrying
//! the same JSON PingMessage / PongMessage, with no liveness checks, no
//! handshake and no copy out of shared memory.
//!
//! `cargo run --release --example busy_event_baseline -- [SECONDS] [cross|same]`
//!
//! Compare with `ipc-bench run --transport raw-sync --pin cross` on the same
//! machine, one after the other (never while compiling).

use codecs::{Codec, Json};
use ipc_bench::measure::message::{make_payload, PingMessage, PongMessage};
use raw_sync::events::{BusyEvent, EventImpl, EventInit, EventState};
use raw_sync::Timeout;
use shared_memory::ShmemConf;
use std::sync::atomic::{fence, Ordering};
use std::time::{Duration, Instant};

const SLOT: usize = 4096;
const EVENT: usize = 256;

/// Slot `i`'s event, length and data pointers.
///
/// # Safety
/// `base` must point at a mapping of at least 2 * SLOT bytes.
unsafe fn slot(base: *mut u8, i: usize) -> (*mut u8, *mut u64, *mut u8) {
    let start = base.add(i * SLOT);
    (start, start.add(EVENT) as *mut u64, start.add(EVENT + 8))
}

/// Writes `msg` into slot `i` and signals it.
///
/// # Safety
/// As for [`slot`]; the peer must not be reading slot `i`.
unsafe fn send(base: *mut u8, event: &dyn EventImpl, i: usize, msg: &[u8]) {
    let (_, len, data) = slot(base, i);
    std::ptr::copy_nonoverlapping(msg.as_ptr(), data, msg.len());
    len.write_volatile(msg.len() as u64);
    fence(Ordering::Release);
    event.set(EventState::Signaled).unwrap();
}

/// Waits for slot `i` and returns its bytes in place.
///
/// # Safety
/// As for [`slot`]; the slice is valid until the peer writes the slot again.
unsafe fn recv<'a>(base: *mut u8, event: &dyn EventImpl, i: usize) -> &'a [u8] {
    event.wait(Timeout::Infinite).unwrap();
    fence(Ordering::Acquire);
    let (_, len, data) = slot(base, i);
    std::slice::from_raw_parts(data, len.read_volatile() as usize)
}

fn pin(core: usize) {
    core_affinity::set_for_current(core_affinity::CoreId { id: core });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        return child(&args[2], args[3].parse().unwrap());
    }
    let seconds: f64 = args.get(1).map_or(10.0, |s| s.parse().expect("SECONDS"));
    let same = args.get(2).map(String::as_str) == Some("same");
    let (parent_core, child_core) = if same { (0, 0) } else { (0, 1) };
    pin(parent_core);

    let shmem = ShmemConf::new().size(2 * SLOT).create().unwrap();
    let base = shmem.as_ptr();
    // SAFETY: the mapping is 2 * SLOT bytes and the child has not started.
    let (to_child, to_parent) = unsafe {
        (
            BusyEvent::new(slot(base, 0).0, true).unwrap().0,
            BusyEvent::new(slot(base, 1).0, true).unwrap().0,
        )
    };
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--child", shmem.get_os_id(), &child_core.to_string()])
        .spawn()
        .unwrap();

    let mut codec = Json;
    let payload = make_payload(32);
    let mut buf = Vec::new();
    let mut round_trip = |seq: u64, start: Instant| {
        let ping = PingMessage {
            sender_id: "parent".into(),
            receiver_id: "child".into(),
            seq,
            sent_at_ns: start.elapsed().as_nanos() as u64,
            payload: payload.clone(),
        };
        codec.encode(&ping, &mut buf).unwrap();
        // SAFETY: strict alternation: the child reads slot 0 only after the
        // signal, and writes slot 1 only after reading slot 0.
        let pong: PongMessage = unsafe {
            send(base, &*to_child, 0, &buf);
            codec.decode(recv(base, &*to_parent, 1)).unwrap()
        };
        assert!(pong.seq == seq && pong.payload == payload);
    };
    let start = Instant::now();
    let mut seq = 0;
    while start.elapsed() < Duration::from_secs(1) {
        seq += 1;
        round_trip(seq, start);
    }
    let measured = Instant::now();
    let warmup = seq;
    while measured.elapsed() < Duration::from_secs_f64(seconds) {
        seq += 1;
        round_trip(seq, start);
    }
    let secs = measured.elapsed().as_secs_f64();
    let n = seq - warmup;
    // SAFETY: as above; an empty message tells the child to stop.
    unsafe { send(base, &*to_child, 0, &[]) };
    child.wait().unwrap();
    println!(
        "busy_event_baseline json {}: {} round trips in {secs:.2} s = {:.0} round trips/s, {:.0} ns per round trip",
        if same { "same" } else { "cross" },
        n,
        n as f64 / secs,
        secs * 1e9 / n as f64
    );
}

fn child(os_id: &str, core: usize) {
    pin(core);
    let shmem = ShmemConf::new().os_id(os_id).open().unwrap();
    let base = shmem.as_ptr();
    // SAFETY: the parent initialized both events before starting us.
    let (from_parent, to_parent) = unsafe {
        (
            BusyEvent::from_existing(slot(base, 0).0).unwrap().0,
            BusyEvent::from_existing(slot(base, 1).0).unwrap().0,
        )
    };
    let mut codec = Json;
    let mut buf = Vec::new();
    loop {
        // SAFETY: strict alternation, as in the parent.
        let request = unsafe { recv(base, &*from_parent, 0) };
        if request.is_empty() {
            return;
        }
        let ping: PingMessage = codec.decode(request).unwrap();
        let pong = PongMessage {
            sender_id: ping.receiver_id,
            receiver_id: ping.sender_id,
            seq: ping.seq,
            ping_sent_at_ns: ping.sent_at_ns,
            payload: ping.payload,
        };
        codec.encode(&pong, &mut buf).unwrap();
        // SAFETY: as above.
        unsafe { send(base, &*to_parent, 1, &buf) };
    }
}
