//! What the messages cost on their own, in one process, with no transport:
//! the codec's share of a round trip (timed right after each round of a
//! run), and the codec-only figures of `ipc-bench codecs`.

use crate::measure::message::{MessageFormat, VerifyError};
use crate::measure::own::{self, OwnCodec};
use crate::record::Complexity;
use codecs::shapes::{LogBatch, OrderRequest, PingMessage, ShapeMessage, Telemetry};
use codecs::{Codec, CodecError, CodecId, CodecVisitor};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Timed batches per figure; the figure is their median.
const BATCHES: usize = 5;

/// Nanoseconds per call of `op`: calibrated so each of [`BATCHES`] batches
/// lasts about `budget / BATCHES`, then the median batch's mean. The first
/// call is untimed (it warms caches and sizes buffers).
pub fn ns_per_call<E>(budget: Duration, mut op: impl FnMut() -> Result<(), E>) -> Result<f64, E> {
    op()?;
    let target = budget / BATCHES as u32;
    let mut calls = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..calls {
            op()?;
        }
        let took = start.elapsed();
        // Stop doubling once a batch fills its share (or gets absurdly long).
        if took >= target || calls >= 1 << 30 {
            break;
        }
        calls *= 2;
    }
    let mut per_call = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        let start = Instant::now();
        for _ in 0..calls {
            op()?;
        }
        per_call.push(start.elapsed().as_nanos() as f64 / calls as f64);
    }
    Ok(crate::measure::stats::median(&per_call).expect("BATCHES > 0"))
}

/// How long one round trip's message work takes with no transport: encode
/// the ping, decode and check it and encode the pong (the child's part),
/// decode and check the pong (the parent's) — the same calls, in the same
/// order, as the engine makes, with verification included.
pub fn round_trip_ns<F: MessageFormat + ?Sized>(
    format: &mut F,
    budget: Duration,
) -> Result<f64, VerifyError> {
    let (mut ping, mut pong) = (Vec::new(), Vec::new());
    let mut seq = 0u64;
    ns_per_call(budget, || {
        seq += 1;
        format.encode_ping(seq, seq, &mut ping)?;
        format.answer_ping(&ping, &mut pong)?;
        format.check_pong(&pong, seq, seq)
    })
}

// ---------------------------------------------------------------- `ipc-bench codecs`

/// zstd's default level: what a team turning compression on gets.
pub const ZSTD_LEVEL: i32 = 3;
/// The header every measured message carries: a second into a run, a
/// million round trips in (varint formats encode it in its usual width).
const HEADER: (u64, u64) = (1_000_000, 1_000_000_000);

/// One codec × shape × payload size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecCaseSpec {
    pub codec: CodecId,
    pub complexity: Complexity,
    pub payload_bytes: usize,
}

/// What one round measured of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodecSample {
    pub round: usize,
    pub encode_ns: f64,
    pub decode_ns: f64,
    pub access_ns: Option<f64>,
}

/// What a case measures once, before its rounds: sizes, and the proof
/// that the codec returns the message it was given.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub wire_bytes: usize,
    pub zstd_bytes: usize,
}

/// Why a case could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum CodecCaseError {
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("{codec} returned a different {shape} message than it was given")]
    Changed {
        codec: &'static str,
        shape: &'static str,
    },
    #[error("zstd: {0}")]
    Zstd(std::io::Error),
    #[error("{0}")]
    Own(String),
}

/// Checks the case's round trip and measures its sizes.
pub fn sizes(case: CodecCaseSpec) -> Result<Sizes, CodecCaseError> {
    match case.complexity {
        Complexity::Own(_) => own_sizes(case),
        _ => visit(case, SizesOf),
    }
}

/// One round of one case: encode, decode and (where the codec has it)
/// access, each for about `budget`.
pub fn sample(
    case: CodecCaseSpec,
    round: usize,
    budget: Duration,
) -> Result<CodecSample, CodecCaseError> {
    match case.complexity {
        Complexity::Own(_) => own_sample(case, round, budget),
        _ => visit(case, SampleOf { round, budget }),
    }
}

fn own_codec(case: CodecCaseSpec) -> Result<Box<dyn OwnCodec>, CodecCaseError> {
    own::format(case.complexity, case.codec).map_err(CodecCaseError::Own)
}

/// An own shape's sizes: every sample encoded, decoded and compared; the
/// median sample's size, and that sample compressed.
fn own_sizes(case: CodecCaseSpec) -> Result<Sizes, CodecCaseError> {
    let mut codec = own_codec(case)?;
    let mut encoded: Vec<Vec<u8>> = Vec::with_capacity(codec.samples());
    for index in 0..codec.samples() {
        let mut buf = Vec::new();
        codec.encode_sample(index, &mut buf)?;
        if !codec.decode_sample(index, &buf, true)? {
            return Err(CodecCaseError::Changed {
                codec: case.codec.name(),
                shape: case.complexity.name(),
            });
        }
        encoded.push(buf);
    }
    encoded.sort_by_key(Vec::len);
    let median = &encoded[encoded.len() / 2];
    let compressed = zstd::bulk::compress(median, ZSTD_LEVEL).map_err(CodecCaseError::Zstd)?;
    Ok(Sizes {
        wire_bytes: median.len(),
        zstd_bytes: compressed.len(),
    })
}

/// An own shape's costs per message, the samples taken in turn.
fn own_sample(
    case: CodecCaseSpec,
    round: usize,
    budget: Duration,
) -> Result<CodecSample, CodecCaseError> {
    let mut codec = own_codec(case)?;
    let count = codec.samples();
    let mut encoded = vec![Vec::new(); count];
    for (index, buf) in encoded.iter_mut().enumerate() {
        codec.encode_sample(index, buf)?;
    }
    let (mut buf, mut next) = (Vec::new(), 0usize);
    let encode_ns = ns_per_call(budget, || {
        next = (next + 1) % count;
        codec.encode_sample(next, &mut buf)
    })?;
    let decode_ns = ns_per_call(budget, || {
        next = (next + 1) % count;
        codec
            .decode_sample(next, std::hint::black_box(&encoded[next]), false)
            .map(drop)
    })?;
    Ok(CodecSample {
        round,
        encode_ns,
        decode_ns,
        access_ns: None,
    })
}

/// Generic code to run with a concrete codec and message type.
trait ShapeVisitor {
    type Output;
    fn visit<C: Codec, M: ShapeMessage>(self, codec: C, message: M) -> Self::Output;
}

fn visit<V: ShapeVisitor>(case: CodecCaseSpec, visitor: V) -> V::Output {
    struct WithCodec<V> {
        case: CodecCaseSpec,
        visitor: V,
    }
    impl<V: ShapeVisitor> CodecVisitor for WithCodec<V> {
        type Output = V::Output;
        fn visit<C: Codec>(self, codec: C) -> V::Output {
            fn message<M: ShapeMessage>(payload: usize) -> M {
                let mut m = M::generate(payload);
                m.set_header(HEADER.0, HEADER.1);
                m
            }
            let p = self.case.payload_bytes;
            let v = self.visitor;
            match self.case.complexity {
                // Raw strings have no codec; the small ping stands for them.
                Complexity::RawString | Complexity::Structured => {
                    v.visit(codec, message::<PingMessage>(p))
                }
                Complexity::Log => v.visit(codec, message::<LogBatch>(p)),
                Complexity::Numeric => v.visit(codec, message::<Telemetry>(p)),
                Complexity::Nested => v.visit(codec, message::<OrderRequest>(p)),
                // Own shapes are timed by `own_sizes` and `own_sample`, never
                // here; the small ping would stand in.
                Complexity::Own(_) => v.visit(codec, message::<PingMessage>(p)),
            }
        }
    }
    case.codec.dispatch(WithCodec { case, visitor })
}

struct SizesOf;

impl ShapeVisitor for SizesOf {
    type Output = Result<Sizes, CodecCaseError>;
    fn visit<C: Codec, M: ShapeMessage>(self, mut codec: C, message: M) -> Self::Output {
        let mut buf = Vec::new();
        codec.encode(&message, &mut buf)?;
        let back: M = codec.decode(&buf)?;
        if back != message {
            return Err(CodecCaseError::Changed {
                codec: C::NAME,
                shape: M::SHAPE,
            });
        }
        if let Some(access) = codec.access::<M>(&buf) {
            access?;
        }
        let compressed = zstd::bulk::compress(&buf, ZSTD_LEVEL).map_err(CodecCaseError::Zstd)?;
        Ok(Sizes {
            wire_bytes: buf.len(),
            zstd_bytes: compressed.len(),
        })
    }
}

struct SampleOf {
    round: usize,
    budget: Duration,
}

impl ShapeVisitor for SampleOf {
    type Output = Result<CodecSample, CodecCaseError>;
    fn visit<C: Codec, M: ShapeMessage>(self, mut codec: C, message: M) -> Self::Output {
        let mut buf = Vec::new();
        let encode_ns = ns_per_call(self.budget, || {
            codec.encode(std::hint::black_box(&message), &mut buf)
        })?;
        let encoded = buf.clone();
        let decode_ns = ns_per_call(self.budget, || {
            let value: M = codec.decode(std::hint::black_box(&encoded))?;
            std::hint::black_box(value);
            Ok::<_, CodecError>(())
        })?;
        let access_ns = match codec.access::<M>(&encoded) {
            Some(first) => {
                first?;
                Some(ns_per_call(self.budget, || {
                    codec
                        .access::<M>(std::hint::black_box(&encoded))
                        .expect("the codec has access")
                })?)
            }
            None => None,
        };
        Ok(CodecSample {
            round: self.round,
            encode_ns,
            decode_ns,
            access_ns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::message::{RawString, Structured};

    #[test]
    fn message_work_is_timed_and_checked() {
        let mut format = Structured::new(codecs::Json, 64);
        let ns = round_trip_ns(&mut format, Duration::from_millis(5)).unwrap();
        assert!(ns > 0.0 && ns.is_finite(), "{ns}");
        let ns = round_trip_ns(&mut RawString::new(8), Duration::from_millis(5)).unwrap();
        assert!(ns > 0.0, "{ns}");
    }

    #[test]
    fn an_error_stops_the_timing() {
        let mut calls = 0;
        let err = ns_per_call(Duration::from_millis(5), || {
            calls += 1;
            if calls > 3 {
                Err("broken")
            } else {
                Ok(())
            }
        });
        assert_eq!(err, Err("broken"));
    }
}
