//! What the messages cost on their own, in one process, with no transport:
//! the codec's share of a round trip (timed right after each round of a
//! run), and the codec-only figures of `ipc-bench codecs`.

use crate::message::{MessageFormat, VerifyError};
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
    Ok(crate::estimate::median(&per_call).expect("BATCHES > 0"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{RawString, Structured};

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

// ---------------------------------------------------------------- `ipc-bench codecs`

pub use codec_only::*;

mod codec_only {
    use super::ns_per_call;
    use crate::estimate::{median, median_interval, Interval};
    use crate::machine::MachineInfo;
    use crate::message::Complexity;
    use crate::table::{Entry, Table};
    use codecs::shapes::{LogBatch, OrderRequest, PingMessage, ShapeMessage, Telemetry};
    use codecs::{Codec, CodecError, CodecId, CodecVisitor};
    use serde::{Deserialize, Serialize};
    use std::time::Duration;

    /// The file `ipc-bench codecs` writes into its results directory.
    pub const CODECS_FILE: &str = "codecs.json";
    /// Version of [`CodecsReport`]'s layout.
    pub const CODECS_SCHEMA_VERSION: u32 = 1;
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

    /// A median over rounds with its 95 % interval (null under six rounds'
    /// worth of coverage is still given; see `ci_coverage` of the report).
    #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
    pub struct Figure {
        pub median: f64,
        pub ci95: Option<Interval>,
    }

    impl Figure {
        fn of(values: &[f64]) -> Option<Figure> {
            Some(Figure {
                median: median(values)?,
                ci95: median_interval(values).map(|(i, _)| i),
            })
        }
    }

    /// What one round measured of one case.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct CodecSample {
        pub round: usize,
        pub encode_ns: f64,
        pub decode_ns: f64,
        pub access_ns: Option<f64>,
    }

    /// One case's figures.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct CodecCase {
        pub codec: String,
        pub complexity: Complexity,
        pub payload_bytes: usize,
        /// The encoded message's size.
        pub wire_bytes: usize,
        /// The encoded message compressed by zstd at [`ZSTD_LEVEL`].
        pub zstd_bytes: usize,
        /// Nanoseconds to encode one message into a reused buffer.
        pub encode_ns: Figure,
        /// Nanoseconds to decode one message into owned values (and drop them).
        pub decode_ns: Figure,
        /// Nanoseconds for validated access to the encoded message without
        /// decoding it: zero-copy formats only (rkyv).
        pub access_ns: Option<Figure>,
        pub samples: Vec<CodecSample>,
    }

    /// The whole of `codecs.json`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct CodecsReport {
        pub schema_version: u32,
        pub tool_version: String,
        pub timestamp: String,
        pub rounds: usize,
        /// Time spent on each figure of each case in each round.
        pub budget_secs: f64,
        /// How often the intervals cover the true median (95 % or more from six rounds).
        pub ci_coverage: Option<f64>,
        pub seed: u64,
        pub machine: MachineInfo,
        pub cases: Vec<CodecCase>,
    }

    impl CodecsReport {
        pub fn read(path: &std::path::Path) -> anyhow::Result<Self> {
            use anyhow::Context;
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let report: CodecsReport = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a codecs report", path.display()))?;
            if report.schema_version != CODECS_SCHEMA_VERSION {
                anyhow::bail!(
                    "{} has codecs schema version {}, this ipc-bench reads {CODECS_SCHEMA_VERSION}",
                    path.display(),
                    report.schema_version
                );
            }
            Ok(report)
        }
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
    }

    /// Checks the case's round trip and measures its sizes.
    pub fn sizes(case: CodecCaseSpec) -> Result<Sizes, CodecCaseError> {
        visit(case, SizesOf)
    }

    /// One round of one case: encode, decode and (where the codec has it)
    /// access, each for about `budget`.
    pub fn sample(
        case: CodecCaseSpec,
        round: usize,
        budget: Duration,
    ) -> Result<CodecSample, CodecCaseError> {
        visit(case, SampleOf { round, budget })
    }

    /// Builds a case's figures from its sizes and samples.
    pub fn summarize(case: CodecCaseSpec, sizes: Sizes, samples: Vec<CodecSample>) -> CodecCase {
        let pick = |f: fn(&CodecSample) -> Option<f64>| -> Vec<f64> {
            samples.iter().filter_map(f).collect()
        };
        CodecCase {
            codec: case.codec.name().to_string(),
            complexity: case.complexity,
            payload_bytes: case.payload_bytes,
            wire_bytes: sizes.wire_bytes,
            zstd_bytes: sizes.zstd_bytes,
            encode_ns: Figure::of(&pick(|s| Some(s.encode_ns))).expect("at least one round"),
            decode_ns: Figure::of(&pick(|s| Some(s.decode_ns))).expect("at least one round"),
            access_ns: Figure::of(&pick(|s| s.access_ns)),
            samples,
        }
    }

    /// `412 ns ±3 %`: a median time with the half-width of its interval.
    fn time_text(f: &Figure) -> String {
        let text = crate::summary::format_ns(f.median);
        match f.ci95 {
            Some(ci) => format!("{text} ±{:.0} %", 100.0 * ci.relative_half_width(f.median)),
            None => text,
        }
    }

    /// A case's figure divided by JSON's for the same shape and payload,
    /// round by round (the two ran in the same rounds).
    fn ratio_to_json(
        case: &CodecCase,
        json: &CodecCase,
        figure: fn(&CodecSample) -> f64,
    ) -> Option<crate::estimate::Ratio> {
        let pairs: Vec<(f64, f64)> = case
            .samples
            .iter()
            .filter_map(|s| {
                let j = json.samples.iter().find(|j| j.round == s.round)?;
                Some((figure(s), figure(j)))
            })
            .collect();
        crate::estimate::paired_ratio(&pairs)
    }

    /// The report as a table: one row per shape × payload × codec, with
    /// times and sizes as multiples of JSON's. Given transport results
    /// (`compare codecs.json RESULTS`), a column per transport adds each
    /// codec's round trips per second as a multiple of JSON's there, and
    /// only the shapes and sizes those results have are shown: the codec
    /// alone beside what it does to a round trip.
    pub fn table(report: &CodecsReport, results: &[crate::result::Loaded]) -> Table {
        let transports: Vec<String> = results
            .iter()
            .map(|l| crate::compare::CaseKey::of(&l.result).transport_label())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut headers: Vec<String> = [
            "Shape",
            "Payload",
            "Codec",
            "Encode",
            "Decode",
            "Access",
            "Wire B",
            "zstd B",
            "Encode time ×json",
            "Decode time ×json",
            "Wire ×json",
        ]
        .map(String::from)
        .to_vec();
        headers.extend(transports.iter().map(|t| format!("{t} round trips ×json")));
        let mut table = Table::new(headers);
        // One result per transport, codec, shape and payload (the first
        // placement found; closed-loop runs with one child only: a fixed
        // rate's round trips/s is the load it was offered).
        let result_for = |transport: &str, codec: &str, c: &CodecCase| {
            results.iter().map(|l| &l.result).find(|r| {
                r.verified
                    && r.traffic.is_default()
                    && crate::compare::CaseKey::of(r).transport_label() == transport
                    && r.codec == codec
                    && r.complexity == c.complexity
                    && r.payload_bytes == c.payload_bytes
            })
        };
        let order = |c: &CodecCase| {
            (
                c.complexity as usize,
                c.payload_bytes,
                codecs::CODECS.iter().position(|i| i.name == c.codec),
            )
        };
        let mut cases: Vec<&CodecCase> = report
            .cases
            .iter()
            .filter(|c| {
                results.is_empty()
                    || results.iter().any(|l| {
                        l.result.complexity == c.complexity
                            && l.result.payload_bytes == c.payload_bytes
                    })
            })
            .collect();
        cases.sort_by_key(|c| order(c));
        for case in cases {
            let json = report.cases.iter().find(|j| {
                j.codec == "json"
                    && j.complexity == case.complexity
                    && j.payload_bytes == case.payload_bytes
            });
            let mut row = vec![
                Entry::text(case.complexity.name()),
                Entry::number(
                    format!("{} B", case.payload_bytes),
                    case.payload_bytes as f64,
                ),
                Entry::text(case.codec.clone()),
                Entry::number(time_text(&case.encode_ns), case.encode_ns.median),
                Entry::number(time_text(&case.decode_ns), case.decode_ns.median),
                match &case.access_ns {
                    Some(f) => Entry::number(time_text(f), f.median),
                    None => Entry::missing(),
                },
                Entry::number(case.wire_bytes.to_string(), case.wire_bytes as f64),
                Entry::number(case.zstd_bytes.to_string(), case.zstd_bytes as f64),
            ];
            for figure in [
                (|s: &CodecSample| s.encode_ns) as fn(&CodecSample) -> f64,
                |s: &CodecSample| s.decode_ns,
            ] {
                row.push(match json.and_then(|j| ratio_to_json(case, j, figure)) {
                    Some(r) => Entry::number(crate::compare::ratio_with_interval(&r), r.value),
                    None => Entry::missing(),
                });
            }
            row.push(match json.filter(|j| j.wire_bytes > 0) {
                Some(j) => {
                    let ratio = case.wire_bytes as f64 / j.wire_bytes as f64;
                    Entry::number(format!("{ratio:.2}×"), ratio)
                }
                None => Entry::missing(),
            });
            for transport in &transports {
                let ratio = result_for(transport, &case.codec, case)
                    .zip(result_for(transport, "json", case))
                    .and_then(|(r, json)| crate::compare::ratio_between(r, json));
                row.push(match ratio {
                    Some(r) => Entry::number(crate::compare::ratio_with_interval(&r), r.value),
                    None => Entry::missing(),
                });
            }
            table.push(row);
        }
        table
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
            let compressed =
                zstd::bulk::compress(&buf, ZSTD_LEVEL).map_err(CodecCaseError::Zstd)?;
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
}
