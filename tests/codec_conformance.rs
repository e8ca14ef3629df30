//! One conformance suite, run against every codec compiled into this build
//! (`cargo test --all-features` covers them all). A codec added to the
//! registry is picked up here without anyone remembering to list it.

use codecs::shapes::{LogBatch, OrderRequest, ShapeMessage, Telemetry};
use codecs::{Codec, CodecVisitor};
use ipc_bench::measure::message::{make_payload, PingMessage, PongMessage};
use std::fmt::Debug;

/// Payload sizes the benchmark uses, and the edges around them.
const PAYLOAD_SIZES: &[usize] = &[0, 1, 32, 127, 128, 1024, 65_536, 1 << 20];

fn strings() -> Vec<String> {
    vec![
        String::new(),
        "x".into(),
        "grüße, 世界, 🚀 and \"quotes\" \\ | pipes \n newlines \u{0}".into(),
        "long ".repeat(10_000),
    ]
}

fn pings() -> Vec<PingMessage> {
    let mut out = Vec::new();
    for s in strings() {
        out.push(PingMessage {
            sender_id: s.clone(),
            receiver_id: s.clone(),
            seq: 0,
            sent_at_ns: 0,
            payload: s,
        });
    }
    for (i, &size) in PAYLOAD_SIZES.iter().enumerate() {
        out.push(PingMessage {
            sender_id: "parent".into(),
            receiver_id: "child".into(),
            seq: if i % 2 == 0 { u64::MAX } else { i as u64 },
            sent_at_ns: u64::MAX - i as u64,
            payload: make_payload(size),
        });
    }
    out
}

fn pongs() -> Vec<PongMessage> {
    pings()
        .into_iter()
        .map(|p| PongMessage {
            sender_id: p.receiver_id,
            receiver_id: p.sender_id,
            seq: p.seq,
            ping_sent_at_ns: p.sent_at_ns,
            payload: p.payload,
        })
        .collect()
}

fn round_trips<C: Codec, T: codecs::Message + PartialEq + Debug>(codec: &mut C, values: &[T]) {
    // One buffer for every value: encoding must replace, not append.
    let mut buf = Vec::new();
    for value in values {
        codec
            .encode(value, &mut buf)
            .unwrap_or_else(|e| panic!("{}: encode: {e}", C::NAME));
        let back: T = codec
            .decode(&buf)
            .unwrap_or_else(|e| panic!("{}: decode of {} bytes: {e}", C::NAME, buf.len()));
        assert_eq!(&back, value, "{}: value changed in a round trip", C::NAME);
        encodes_into_a_slice(codec, value, &buf);
    }
}

/// A codec that encodes into a lent slice writes there exactly the bytes
/// it writes into its buffer, in a slice of exactly that length or longer
/// (whatever the slice held before), and refuses a slice one byte short
/// with `DoesNotFit`, not another error and not a partial message.
fn encodes_into_a_slice<C: Codec, T: codecs::Message>(codec: &mut C, value: &T, encoded: &[u8]) {
    if !C::ENCODES_INTO_SLICE {
        assert!(
            codec.encode_into(value, &mut [0; 64]).is_err(),
            "{}",
            C::NAME
        );
        return;
    }
    let len = encoded.len();
    let mut slot = vec![0xa5u8; len + 17];
    for room in [len, len + 17] {
        let written = codec
            .encode_into(value, &mut slot[..room])
            .unwrap_or_else(|e| panic!("{}: encode_into {room} bytes: {e}", C::NAME));
        assert_eq!(written, len, "{}: length", C::NAME);
        assert_eq!(&slot[..len], encoded, "{}: bytes", C::NAME);
    }
    if len > 0 {
        match codec.encode_into(value, &mut slot[..len - 1]) {
            Err(codecs::CodecError::DoesNotFit { capacity, .. }) => assert_eq!(capacity, len - 1),
            other => panic!("{}: one byte short gave {other:?}", C::NAME),
        }
    }
}

/// A small deterministic generator, so failures reproduce.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Every strict prefix of `value`'s encoding is truncated input: an error
/// (or, for a format that cannot tell where a message ends, at least never
/// the original value), never a panic. A byte more is refused.
fn refuses_truncation<C: Codec, T: codecs::Message + PartialEq + Debug>(codec: &mut C, value: &T) {
    let mut buf = Vec::new();
    codec.encode(value, &mut buf).unwrap();
    for len in 0..buf.len() {
        match codec.decode::<T>(&buf[..len]) {
            Err(_) => {}
            Ok(back) => {
                assert!(
                    !C::SELF_DELIMITING,
                    "{}: a {len}-byte prefix of a {}-byte message decoded",
                    C::NAME,
                    buf.len()
                );
                assert_ne!(
                    &back,
                    value,
                    "{}: a {len}-byte prefix decoded to the whole message",
                    C::NAME
                );
            }
        }
    }
    // Trailing garbage is not silently ignored.
    let mut longer = buf.clone();
    longer.push(0x2a);
    assert!(
        codec.decode::<T>(&longer).is_err(),
        "{}: trailing byte accepted",
        C::NAME
    );
}

/// A generated message of every shape at several sizes, with headers at
/// both ends of their range, returns unchanged; truncations and random
/// bytes never panic.
fn carries_shape<C: Codec, M: ShapeMessage>(codec: &mut C) {
    let mut values = Vec::new();
    for &size in &[0, 32, 1024, 65_536] {
        for (seq, at) in [(0, 0), (1, 1_000_000_000), (u64::MAX, u64::MAX)] {
            let mut m = M::generate(size);
            m.set_header(seq, at);
            values.push(m);
        }
    }
    round_trips(codec, &values);
    refuses_truncation(codec, &M::generate(200));
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    for _ in 0..5_000 {
        let len = (rng.next() % 96) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let _ = codec.decode::<M>(&bytes);
    }
    let mut buf = Vec::new();
    codec.encode(&M::generate(64), &mut buf).unwrap();
    for i in 0..buf.len() {
        let mut bytes = buf.clone();
        bytes[i] ^= 0xff;
        let _ = codec.decode::<M>(&bytes);
    }
}

fn rejects_bad_input<C: Codec>(codec: &mut C) {
    let ping = &pings()[PAYLOAD_SIZES.len()];
    refuses_truncation(codec, ping);
    // Random bytes, including huge length prefixes, never panic.
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for round in 0..20_000 {
        let len = (rng.next() % 64) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if round % 3 == 0 && !bytes.is_empty() {
            bytes[0] = 0xff;
        }
        let _ = codec.decode::<PingMessage>(&bytes);
        let _ = codec.decode::<PongMessage>(&bytes);
    }
    // Flipping single bytes of a valid message must not panic either.
    let mut buf = Vec::new();
    codec.encode(ping, &mut buf).unwrap();
    for i in 0..buf.len() {
        let mut bytes = buf.clone();
        bytes[i] ^= 0xff;
        let _ = codec.decode::<PingMessage>(&bytes);
    }
}

struct Conformance;

impl CodecVisitor for Conformance {
    type Output = ();
    fn visit<C: Codec>(self, mut codec: C) {
        round_trips(&mut codec, &pings());
        round_trips(&mut codec, &pongs());
        rejects_bad_input(&mut codec);
        carries_shape::<C, PingMessage>(&mut codec);
        carries_shape::<C, LogBatch>(&mut codec);
        carries_shape::<C, Telemetry>(&mut codec);
        carries_shape::<C, OrderRequest>(&mut codec);
    }
}

#[test]
fn every_compiled_codec_conforms() {
    let names = codecs::compiled_names();
    assert!(names.contains(&"json"));
    for name in names {
        codecs::dispatch(name, Conformance).unwrap();
    }
}

/// Each codec is compiled exactly when the package feature of its name is
/// on, as the build recorded them: in a default build every optional codec
/// must be absent, with `--features postcard,msgpack` exactly those two.
/// (The codecs crate's own features, `--features codecs/NAME`, are not the
/// package's; builds that use them are not what this checks.)
#[test]
fn exactly_the_codecs_of_the_enabled_features_are_compiled() {
    let enabled = ipc_bench::measure::machine::enabled_features();
    for info in codecs::CODECS {
        let expected = match info.feature {
            None => true,
            Some(feature) => enabled.iter().any(|f| f == feature),
        };
        assert_eq!(
            info.compiled, expected,
            "{}: enabled features {enabled:?}",
            info.name
        );
    }
    if enabled.iter().any(|f| f == "all-codecs") {
        assert_eq!(codecs::compiled_names().len(), codecs::CODECS.len());
    }
}
