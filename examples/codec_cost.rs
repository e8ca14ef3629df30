//! Where the time goes for large payloads: one thread encodes a ping and
//! decodes it again with every compiled codec, next to a plain copy of the
//! same bytes, for each payload size. No transport, no peer.
//!
//! `cargo run --release --features all-codecs --example codec_cost`

use codecs::{Codec, CodecVisitor};
use ipc_bench::measure::message::{make_payload, PingMessage};
use std::hint::black_box;
use std::time::{Duration, Instant};

const SIZES: [usize; 4] = [32, 1024, 65_536, 1 << 20];

/// Average time of `f` over about 300 ms.
fn time(mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < Duration::from_millis(300) {
        f();
        n += 1;
    }
    start.elapsed() / n
}

struct Cost(usize);

impl CodecVisitor for Cost {
    type Output = (Duration, Duration, usize);
    fn visit<C: Codec>(self, mut codec: C) -> Self::Output {
        let ping = PingMessage {
            sender_id: "parent".into(),
            receiver_id: "child".into(),
            seq: 123_456,
            sent_at_ns: 987_654_321,
            payload: make_payload(self.0),
        };
        let mut buf = Vec::new();
        let encode = time(|| codec.encode(black_box(&ping), &mut buf).unwrap());
        let decode = time(|| {
            black_box(codec.decode::<PingMessage>(black_box(&buf)).unwrap());
        });
        (encode, decode, buf.len())
    }
}

fn main() {
    println!(
        "{:>9} {:>9} {:>11} {:>11} {:>11}",
        "payload", "codec", "encode", "decode", "bytes"
    );
    for size in SIZES {
        let source = vec![7u8; size];
        let mut target = vec![0u8; size];
        let copy = time(|| target.copy_from_slice(black_box(&source)));
        println!(
            "{size:>9} {:>9} {:>11.2?} {:>11} {:>11}",
            "memcpy", copy, "", size
        );
        for name in codecs::compiled_names() {
            let (encode, decode, bytes) = codecs::dispatch(name, Cost(size)).unwrap();
            println!("{size:>9} {name:>9} {encode:>11.2?} {decode:>11.2?} {bytes:>11}");
        }
    }
}
