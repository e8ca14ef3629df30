//! What preparing and checking one round trip's messages costs, per message
//! format, in one thread with no transport: the work every transport's round
//! trip includes on top of moving bytes.
//!
//! `cargo run --release --features all-codecs --example format_cost`

use codecs::{Codec, CodecVisitor};
use ipc_bench::measure::message::{MessageFormat, RawString, Structured};
use std::hint::black_box;
use std::time::Instant;

/// ns per round trip of messages: parent encodes, child answers, parent checks.
fn cost(parent: &mut dyn MessageFormat, child: &mut dyn MessageFormat) -> f64 {
    let (mut ping, mut pong) = (Vec::new(), Vec::new());
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_millis() < 500 {
        for _ in 0..1000 {
            n += 1;
            parent.encode_ping(n, n * 7, &mut ping).unwrap();
            child.answer_ping(black_box(&ping), &mut pong).unwrap();
            parent.check_pong(black_box(&pong), n, n * 7).unwrap();
        }
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

struct Structure(usize);

impl CodecVisitor for Structure {
    type Output = f64;
    fn visit<C: Codec>(self, codec: C) -> f64 {
        cost(
            &mut Structured::new(codec, self.0),
            &mut Structured::new(C::default(), self.0),
        )
    }
}

fn main() {
    for payload in [32usize, 1024] {
        let raw = cost(&mut RawString::new(payload), &mut RawString::new(payload));
        println!("payload {payload:>5} B  raw-string {raw:>8.0} ns per round trip");
        for name in codecs::compiled_names() {
            let ns = codecs::dispatch(name, Structure(payload)).unwrap();
            println!("payload {payload:>5} B  {name:>10} {ns:>8.0} ns per round trip");
        }
    }
}
