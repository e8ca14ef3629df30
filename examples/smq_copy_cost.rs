//! What shared-mem-queue's ByteQueue costs to move one frame in and out,
//! next to a plain memcpy of the same bytes, in one thread (no peer, no
//! waiting): the floor under the shared-mem-queue transport's round trip.
//!
//! `cargo run --release --example smq_copy_cost`

use shared_mem_queue::byte_queue::ByteQueue;
use std::hint::black_box;
use std::time::Instant;

fn main() {
    const QUEUE: usize = 1 << 16;
    // u64 backing store: ByteQueue wants its positions 4-byte aligned.
    let mut memory = vec![0u64; QUEUE / 8];
    // SAFETY: the buffer is QUEUE bytes, aligned, and used by this thread only.
    let mut queue = unsafe { ByteQueue::create(memory.as_mut_ptr() as *mut u8, QUEUE) };
    println!(
        "{:>7} {:>14} {:>14} {:>8}",
        "bytes", "queue in+out", "memcpy x2", "ratio"
    );
    for size in [16usize, 64, 128, 256, 1024, 4096, 16384] {
        let frame = vec![0xa5u8; size];
        let mut out = vec![0u8; size];
        let iterations = 20_000_000 / size.max(64);
        let start = Instant::now();
        for _ in 0..iterations {
            queue.write_or_fail(black_box(&frame)).unwrap();
            queue.consume_or_fail(black_box(&mut out)).unwrap();
        }
        let queue_ns = start.elapsed().as_nanos() as f64 / iterations as f64;
        let mut middle = vec![0u8; size];
        let start = Instant::now();
        for _ in 0..iterations {
            middle.copy_from_slice(black_box(&frame));
            out.copy_from_slice(black_box(&middle));
        }
        let copy_ns = start.elapsed().as_nanos() as f64 / iterations as f64;
        black_box(&out);
        println!(
            "{size:>7} {queue_ns:>11.0} ns {copy_ns:>11.0} ns {:>7.0}x",
            queue_ns / copy_ns
        );
    }
}
