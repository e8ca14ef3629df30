//! Arbitrary bytes arriving as a ping (the child's side) or as a pong (the
//! parent's side), in every message format: the first input byte picks the
//! format, the rest is the message. Decoding must end in `Ok` or an error,
//! never a panic, an abort or an unbounded allocation.
#![no_main]

use ipc_bench::measure::dispatch::{boxed_format, every_format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, message)) = data.split_first() else {
        return;
    };
    let formats = every_format();
    let (complexity, codec) = formats[usize::from(selector) % formats.len()];
    let mut format = boxed_format(complexity, codec, 32).expect("a compiled codec");
    let mut reply = Vec::new();
    let _ = format.answer_ping(message, &mut reply);
    let _ = format.check_pong(message, 1, 1);
});
