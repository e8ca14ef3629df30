//! A team's own messages as a shape beside the built-in ones: samples of a
//! Rust type of its own (registered by its binary, `ipc_bench::OwnMessages`)
//! or a file of JSON messages (`--messages FILE`).
//!
//! Every message is one sample, cycled by sequence number, behind a 16-byte
//! header the tool adds (the sequence number and send time, little-endian
//! `u64`s): the samples' types need no field of ours. The parent encodes
//! sample `seq % n`; the child decodes it, checks it equal to its own copy
//! and echoes the value it decoded; the parent decodes the echo and checks it
//! equal again. The header costs the same for every codec and transport.
//!
//! A shape's formats are built where the type is known (in the team's
//! binary, monomorphized per codec) and kept behind a trait object; the
//! engine calls them through one indirect call per message, the same for
//! every case of the shape.

use crate::measure::message::{expect_eq, MessageFormat, Out, VerifyError};
use crate::record::WireSpread;
use crate::record::{Complexity, ShapeName};
use codecs::{Carries, CodecError, CodecId, SerdeCodec, SerdeCodecVisitor};
use serde::{de::DeserializeOwned, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

pub mod file;

/// Bytes in front of every own message: sequence number, send time.
pub const HEADER_BYTES: usize = 16;

/// What a sample type needs: serde both ways, and equality, so every
/// message can be checked against what was sent.
pub trait OwnValue:
    Serialize + DeserializeOwned + Clone + PartialEq + std::fmt::Debug + Send + Sync + 'static
{
}
impl<T> OwnValue for T where
    T: Serialize + DeserializeOwned + Clone + PartialEq + std::fmt::Debug + Send + Sync + 'static
{
}

/// Builds a fresh format of one shape through one codec.
type Builder = Arc<dyn Fn() -> Box<dyn OwnCodec> + Send + Sync>;

/// One own shape through one codec, as a message format and as the codec
/// alone over the samples (`ipc-bench codecs`).
pub trait OwnCodec: MessageFormat {
    /// How many samples there are.
    fn samples(&self) -> usize;

    /// Replaces `buf` with the encoding of sample `index` (no header).
    fn encode_sample(&mut self, index: usize, buf: &mut Vec<u8>) -> Result<(), CodecError>;

    /// Decodes `bytes` as a sample and drops it; with `check`, whether it
    /// equals sample `index`.
    fn decode_sample(
        &mut self,
        index: usize,
        bytes: &[u8],
        check: bool,
    ) -> Result<bool, CodecError>;
}

/// Where a shape's samples come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// Samples of a Rust type compiled into this binary.
    Type { type_name: &'static str },
    /// The lines of a JSON-lines file (the child reads it too).
    File(file::MessagesFile),
}

/// One own shape: its samples, the codecs that carry it and why the others
/// do not.
pub struct OwnShape {
    pub name: ShapeName,
    pub origin: Origin,
    pub samples: usize,
    carried: BTreeMap<CodecId, Builder>,
    refused: BTreeMap<&'static str, String>,
}

impl OwnShape {
    /// A shape of `samples`, carried by every serde codec of this build
    /// (only the self-describing ones when `self_describing_only`: a value
    /// without a Rust type cannot be read back from postcard's or bincode's
    /// bytes); every other codec refused with `why_not`'s reason.
    pub fn new<T: OwnValue>(
        name: ShapeName,
        origin: Origin,
        samples: Vec<T>,
        self_describing_only: bool,
        why_not: impl Fn(&'static str) -> String,
    ) -> Result<Self, String> {
        if samples.is_empty() {
            return Err(format!("shape '{}' has no samples", name.as_str()));
        }
        let samples: Arc<[T]> = samples.into();
        let mut shape = OwnShape {
            name,
            origin,
            samples: samples.len(),
            carried: BTreeMap::new(),
            refused: BTreeMap::new(),
        };
        for &id in CodecId::ALL {
            let build = id.dispatch_serde(SerdeBuilder {
                samples: samples.clone(),
                complexity: Complexity::Own(name),
                self_describing_only,
            });
            match build.flatten() {
                Some(build) => {
                    shape.carried.insert(id, build);
                }
                None => {
                    shape.refused.insert(id.name(), why_not(id.name()));
                }
            }
        }
        Ok(shape)
    }

    /// Adds codec `C`, which carries `T` through derives of its own.
    pub fn carry_with<T: OwnValue, C: Carries<T>>(&mut self, samples: Arc<[T]>) {
        let Ok(id) = CodecId::parse(C::NAME) else {
            return;
        };
        let complexity = Complexity::Own(self.name);
        self.refused.remove(C::NAME);
        self.carried.insert(
            id,
            Arc::new(move || Box::new(OwnFormat::new(C::default(), samples.clone(), complexity))),
        );
    }

    /// The codec called `codec`, if it carries this shape; why not otherwise.
    pub fn codec(&self, codec: &str) -> Result<CodecId, String> {
        let id = CodecId::parse(codec).map_err(|e| e.to_string())?;
        if self.carried.contains_key(&id) {
            return Ok(id);
        }
        Err(self
            .refused
            .get(id.name())
            .cloned()
            .unwrap_or_else(|| format!("{codec} does not carry shape '{}'", self.name.as_str())))
    }

    /// The codecs that carry it, in the registry's order.
    pub fn codecs(&self) -> Vec<&'static str> {
        self.carried.keys().map(|id| id.name()).collect()
    }

    /// The codecs this build has that do not carry it, each with its reason.
    pub fn refusals(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.refused.iter().map(|(name, why)| (*name, why.as_str()))
    }

    /// A fresh format of this shape through `codec`.
    pub fn format(&self, codec: CodecId) -> Result<Box<dyn OwnCodec>, String> {
        match self.carried.get(&codec) {
            Some(build) => Ok(build()),
            None => Err(self.codec(codec.name()).err().unwrap_or_default()),
        }
    }

    /// The file its samples come from, when they come from one.
    pub fn file(&self) -> Option<&file::MessagesFile> {
        match &self.origin {
            Origin::File(file) => Some(file),
            Origin::Type { .. } => None,
        }
    }
}

struct SerdeBuilder<T> {
    samples: Arc<[T]>,
    complexity: Complexity,
    self_describing_only: bool,
}

impl<T: OwnValue> SerdeCodecVisitor for SerdeBuilder<T> {
    type Output = Option<Builder>;

    fn visit<C: SerdeCodec>(self, _: C) -> Option<Builder> {
        if self.self_describing_only && !C::SELF_DESCRIBING {
            return None;
        }
        let SerdeBuilder {
            samples,
            complexity,
            ..
        } = self;
        Some(Arc::new(move || {
            Box::new(OwnFormat::new(C::default(), samples.clone(), complexity))
        }))
    }
}

static REGISTRY: RwLock<Vec<Arc<OwnShape>>> = RwLock::new(Vec::new());

/// Makes `shape` known to this process under its name; a second shape of
/// the same name is refused.
pub fn register(shape: OwnShape) -> Result<Arc<OwnShape>, String> {
    let mut shapes = REGISTRY.write().unwrap_or_else(|p| p.into_inner());
    if let Some(known) = shapes.iter().find(|s| s.name == shape.name) {
        if known.origin == shape.origin && known.samples == shape.samples {
            return Ok(known.clone());
        }
        return Err(format!(
            "two different shapes are called '{}'",
            shape.name.as_str()
        ));
    }
    let shape = Arc::new(shape);
    shapes.push(shape.clone());
    Ok(shape)
}

/// The shape called `name`, if this process knows it.
pub fn find(name: ShapeName) -> Option<Arc<OwnShape>> {
    let shapes = REGISTRY.read().unwrap_or_else(|p| p.into_inner());
    shapes.iter().find(|s| s.name == name).cloned()
}

/// Every own shape this process knows, in the order they were registered.
pub fn registered() -> Vec<Arc<OwnShape>> {
    REGISTRY.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The shape a command-line name means, built-in or own; otherwise the
/// names accepted, comma-separated.
pub fn parse_complexity(name: &str) -> Result<Complexity, String> {
    if let Some(builtin) = Complexity::builtin(name) {
        return Ok(builtin);
    }
    let own = ShapeName::new(name).ok().filter(|n| find(*n).is_some());
    own.map(Complexity::Own).ok_or_else(|| {
        let mut accepted: Vec<&str> = Complexity::ALL.iter().map(|c| c.name()).collect();
        let own: Vec<&str> = registered().iter().map(|s| s.name.as_str()).collect();
        accepted.extend(own);
        accepted.join(", ")
    })
}

/// The format of own shape `complexity` through `codec`.
pub fn format(complexity: Complexity, codec: CodecId) -> Result<Box<dyn OwnCodec>, String> {
    let Complexity::Own(name) = complexity else {
        return Err(format!("'{complexity}' is not an own shape"));
    };
    find(name)
        .ok_or_else(|| {
            format!(
                "this program does not know the shape '{}' (it is registered by the program that measured it)",
                name.as_str()
            )
        })?
        .format(codec)
}

/// Samples of `T` through codec `C`, each behind the header.
pub struct OwnFormat<C, T> {
    codec: C,
    samples: Arc<[T]>,
    complexity: Complexity,
    /// The encoded body, before it goes behind the header.
    body: Vec<u8>,
    /// The ping read last: its header and the value it carried.
    answer: Option<(u64, u64, T)>,
}

impl<C: Carries<T>, T: OwnValue> OwnFormat<C, T> {
    pub fn new(codec: C, samples: Arc<[T]>, complexity: Complexity) -> Self {
        OwnFormat {
            codec,
            samples,
            complexity,
            body: Vec::new(),
            answer: None,
        }
    }

    fn sample(&self, seq: u64) -> &T {
        // The samples are never empty (OwnShape::new refuses that).
        &self.samples[(seq % self.samples.len() as u64) as usize]
    }

    /// Encodes `value` behind the header `(seq, at)` into `out`, through
    /// `body` (the fields it needs, borrowed apart from the samples).
    fn write(
        codec: &mut C,
        body: &mut Vec<u8>,
        (seq, at): (u64, u64),
        value: &T,
        out: Out<'_>,
    ) -> Result<usize, CodecError> {
        codec.encode_value(value, body)?;
        let len = HEADER_BYTES + body.len();
        let header = header_bytes(seq, at);
        match out {
            Out::Buffer(buf) => {
                buf.clear();
                buf.extend_from_slice(&header);
                buf.extend_from_slice(body);
            }
            Out::Slot(slot) => {
                let capacity = slot.len();
                let target = slot.get_mut(..len).ok_or(CodecError::DoesNotFit {
                    codec: C::NAME,
                    capacity,
                })?;
                target[..HEADER_BYTES].copy_from_slice(&header);
                target[HEADER_BYTES..].copy_from_slice(body);
            }
        }
        Ok(len)
    }

    /// The header and the decoded value of `bytes`, checked against sample
    /// `seq % n`.
    fn read(&mut self, bytes: &[u8]) -> Result<(u64, u64, T), VerifyError> {
        let (seq, at, body) = split_header(bytes)?;
        let value: T = self.codec.decode_value(body)?;
        if value != *self.sample(seq) {
            return Err(VerifyError::Mismatch {
                field: "content",
                expected: format!(
                    "sample {} of '{}'",
                    seq % self.samples.len() as u64,
                    self.complexity
                ),
                got: "a value that differs from it".to_string(),
            });
        }
        Ok((seq, at, value))
    }
}

fn header_bytes(seq: u64, at: u64) -> [u8; HEADER_BYTES] {
    let mut header = [0u8; HEADER_BYTES];
    header[..8].copy_from_slice(&seq.to_le_bytes());
    header[8..].copy_from_slice(&at.to_le_bytes());
    header
}

fn split_header(bytes: &[u8]) -> Result<(u64, u64, &[u8]), VerifyError> {
    if bytes.len() < HEADER_BYTES {
        return Err(VerifyError::Malformed(format!(
            "{} bytes, shorter than the {HEADER_BYTES}-byte header",
            bytes.len()
        )));
    }
    let (header, body) = bytes.split_at(HEADER_BYTES);
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&header[at..at + 8]);
        u64::from_le_bytes(w)
    };
    Ok((word(0), word(8), body))
}

impl<C: Carries<T>, T: OwnValue> MessageFormat for OwnFormat<C, T> {
    fn codec_name(&self) -> &'static str {
        C::NAME
    }

    fn complexity(&self) -> Complexity {
        self.complexity
    }

    fn slot_from(&self) -> Option<usize> {
        None
    }

    fn encode_ping_to(
        &mut self,
        seq: u64,
        sent_at_ns: u64,
        out: Out<'_>,
    ) -> Result<usize, CodecError> {
        let value = &self.samples[(seq % self.samples.len() as u64) as usize];
        Self::write(
            &mut self.codec,
            &mut self.body,
            (seq, sent_at_ns),
            value,
            out,
        )
    }

    fn check_pong(&mut self, reply: &[u8], seq: u64, sent_at_ns: u64) -> Result<(), VerifyError> {
        let (got_seq, got_at, _) = self.read(reply)?;
        expect_eq("seq", seq, got_seq)?;
        expect_eq("sent_at_ns", sent_at_ns, got_at)
    }

    fn read_ping(&mut self, request: &[u8]) -> Result<(), VerifyError> {
        self.answer = None;
        self.answer = Some(self.read(request)?);
        Ok(())
    }

    fn write_pong_to(&mut self, out: Out<'_>) -> Result<usize, CodecError> {
        // The answer echoes the value the ping carried, as decoded.
        let (seq, at, value) = self
            .answer
            .as_ref()
            .ok_or_else(|| CodecError::encode(C::NAME, "no ping has been read to answer"))?;
        Self::write(&mut self.codec, &mut self.body, (*seq, *at), value, out)
    }

    fn take_message(&mut self, message: &[u8]) -> Result<(u64, u64), VerifyError> {
        let (seq, at, _) = self.read(message)?;
        Ok((seq, at))
    }

    fn max_message_bytes(&mut self) -> Result<usize, CodecError> {
        Ok(self.spread()?.max)
    }

    fn wire_spread(&mut self) -> Option<WireSpread> {
        self.spread().ok()
    }
}

impl<C: Carries<T>, T: OwnValue> OwnCodec for OwnFormat<C, T> {
    fn samples(&self) -> usize {
        self.samples.len()
    }

    fn encode_sample(&mut self, index: usize, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        let value = &self.samples[index % self.samples.len()];
        self.codec.encode_value(value, buf)
    }

    fn decode_sample(
        &mut self,
        index: usize,
        bytes: &[u8],
        check: bool,
    ) -> Result<bool, CodecError> {
        let value: T = self.codec.decode_value(bytes)?;
        let equal = !check || value == self.samples[index % self.samples.len()];
        std::hint::black_box(value);
        Ok(equal)
    }
}

impl<C: Carries<T>, T: OwnValue> OwnFormat<C, T> {
    /// The smallest, median and largest message, header included.
    fn spread(&mut self) -> Result<WireSpread, CodecError> {
        let mut sizes = Vec::with_capacity(self.samples.len());
        for value in self.samples.iter() {
            self.codec.encode_value(value, &mut self.body)?;
            sizes.push(HEADER_BYTES + self.body.len());
        }
        sizes.sort_unstable();
        Ok(WireSpread {
            min: sizes[0],
            median: sizes[sizes.len() / 2],
            max: sizes[sizes.len() - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codecs::Json;

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Reading {
        id: u32,
        values: Vec<f64>,
        note: Option<String>,
    }

    fn samples() -> Arc<[Reading]> {
        (0..3)
            .map(|i| Reading {
                id: i,
                values: vec![f64::from(i); i as usize + 1],
                note: (i % 2 == 0).then(|| format!("n{i}")),
            })
            .collect::<Vec<_>>()
            .into()
    }

    fn format() -> OwnFormat<Json, Reading> {
        let name = ShapeName::new("reading").unwrap();
        OwnFormat::new(Json, samples(), Complexity::Own(name))
    }

    #[test]
    fn every_message_is_a_sample_checked_whole_on_both_sides() {
        let (mut parent, mut child) = (format(), format());
        let (mut ping, mut pong) = (Vec::new(), Vec::new());
        for seq in 0..7 {
            parent.encode_ping(seq, 100 + seq, &mut ping).unwrap();
            child.answer_ping(&ping, &mut pong).unwrap();
            parent.check_pong(&pong, seq, 100 + seq).unwrap();
            assert!(parent.check_pong(&pong, seq + 1, 100 + seq).is_err());
            assert_eq!(child.take_message(&ping).unwrap(), (seq, 100 + seq));
        }
        // A ping whose header says sample 1 but carries sample 0's value.
        parent.encode_ping(0, 5, &mut ping).unwrap();
        ping[..8].copy_from_slice(&1u64.to_le_bytes());
        let err = child.answer_ping(&ping, &mut pong).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::Mismatch {
                    field: "content",
                    ..
                }
            ),
            "{err}"
        );
        assert!(child.answer_ping(&ping[..10], &mut pong).is_err());
    }

    #[test]
    fn wire_sizes_span_the_samples() {
        let sizes = format().spread().unwrap();
        assert!(
            sizes.min < sizes.median && sizes.median < sizes.max,
            "{sizes:?}"
        );
        assert_eq!(format().max_message_bytes().unwrap(), sizes.max);
    }
}
