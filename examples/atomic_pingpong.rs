//! The minimal two-process ping-pong the `spin` transport is measured
//! against: one shared cache line, the parent writes an odd number, the child
//! answers with the next even one, both spinning with `spin_loop` hints.
//! No messages, no checks, nothing else.
//!
//! `cargo run --release --example atomic_pingpong -- [SECONDS] [cross|same]`
//!
//! Compare with `ipc-bench run --transport spin --complexity raw-string --pin cross`.

use shared_memory::ShmemConf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn pin(core: usize) {
    core_affinity::set_for_current(core_affinity::CoreId { id: core });
}

/// # Safety
/// `ptr` must point at 8 aligned bytes of a live mapping.
unsafe fn counter<'a>(ptr: *mut u8) -> &'a AtomicU64 {
    &*(ptr as *const AtomicU64)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        pin(args[3].parse().unwrap());
        let shmem = ShmemConf::new().os_id(&args[2]).open().unwrap();
        // SAFETY: the mapping is page-aligned and at least 8 bytes.
        let line = unsafe { counter(shmem.as_ptr()) };
        let mut expected = 1;
        loop {
            let seen = line.load(Ordering::Acquire);
            if seen == u64::MAX {
                return;
            }
            if seen == expected {
                line.store(expected + 1, Ordering::Release);
                expected += 2;
            } else {
                std::hint::spin_loop();
            }
        }
    }
    let seconds: f64 = args.get(1).map_or(10.0, |s| s.parse().expect("SECONDS"));
    let same = args.get(2).map(String::as_str) == Some("same");
    let child_core = if same { 0 } else { 1 };
    pin(0);
    let shmem = ShmemConf::new().size(4096).create().unwrap();
    // SAFETY: as above; the new mapping is zero-filled.
    let line = unsafe { counter(shmem.as_ptr()) };
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--child", shmem.get_os_id(), &child_core.to_string()])
        .spawn()
        .unwrap();
    let mut value = 1u64;
    let mut round_trip = || {
        line.store(value, Ordering::Release);
        while line.load(Ordering::Acquire) != value + 1 {
            std::hint::spin_loop();
        }
        value += 2;
    };
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_secs(1) {
        round_trip();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs_f64(seconds) {
        for _ in 0..1024 {
            round_trip();
        }
        n += 1024;
    }
    let secs = start.elapsed().as_secs_f64();
    line.store(u64::MAX, Ordering::Release);
    child.wait().unwrap();
    println!(
        "atomic_pingpong {}: {n} round trips in {secs:.2} s = {:.0} round trips/s, {:.0} ns per round trip",
        if same { "same" } else { "cross" },
        n as f64 / secs,
        secs * 1e9 / n as f64
    );
}
