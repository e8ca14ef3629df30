//! Turning run-time names (transport, complexity, codec) into one
//! monomorphized `(Transport, MessageFormat)` pair.

use crate::measure::message::{MessageFormat, Out, RawString, Shaped, Structured, VerifyError};
use crate::measure::own;
use crate::record::Complexity;
#[cfg(feature = "tokio")]
use crate::transport::Awaited;
use crate::transport::{self, Transport, TransportId, TransportVisitor};
use codecs::shapes::{LogBatch, OrderRequest, Telemetry};
use codecs::{Codec, CodecError, CodecId, CodecVisitor};

/// Generic code to run with a concrete transport type and message format.
pub trait CaseVisitor {
    type Output;
    fn visit<T: Transport, F: MessageFormat>(self, format: F) -> Self::Output;

    /// For a transport whose messages are awaited; unless a visitor runs
    /// messages, it sees it as any other.
    #[cfg(feature = "tokio")]
    fn visit_awaited<T: Awaited, F: MessageFormat + Send + 'static>(self, format: F) -> Self::Output
    where
        Self: Sized,
    {
        self.visit::<T, F>(format)
    }
}

/// How a case reaches its visitor once the format is known: through
/// [`CaseVisitor::visit`], or for an awaited transport, `visit_awaited`.
trait Reach<T> {
    fn reach<V: CaseVisitor, F: MessageFormat + Send + 'static>(visitor: V, format: F)
        -> V::Output;
}

struct Blocking;

impl<T: Transport> Reach<T> for Blocking {
    fn reach<V: CaseVisitor, F: MessageFormat + Send + 'static>(
        visitor: V,
        format: F,
    ) -> V::Output {
        visitor.visit::<T, F>(format)
    }
}

#[cfg(feature = "tokio")]
struct Async;

#[cfg(feature = "tokio")]
impl<T: Awaited> Reach<T> for Async {
    fn reach<V: CaseVisitor, F: MessageFormat + Send + 'static>(
        visitor: V,
        format: F,
    ) -> V::Output {
        visitor.visit_awaited::<T, F>(format)
    }
}

/// Calls `visitor` with the transport `transport` and the message format for
/// `complexity` (through the codec called `codec` when structured).
pub fn dispatch_case<V: CaseVisitor>(
    transport: TransportId,
    complexity: Complexity,
    codec: CodecId,
    payload_bytes: usize,
    visitor: V,
) -> V::Output {
    transport::dispatch(
        transport,
        WithTransport {
            complexity,
            codec,
            payload_bytes,
            visitor,
        },
    )
}

struct WithTransport<V> {
    complexity: Complexity,
    codec: CodecId,
    payload_bytes: usize,
    visitor: V,
}

impl<V: CaseVisitor> WithTransport<V> {
    fn reach<T, R: Reach<T>>(self) -> V::Output {
        match self.complexity {
            Complexity::RawString => R::reach(self.visitor, RawString::new(self.payload_bytes)),
            shape => self.codec.dispatch(WithCodec::<T, V, R> {
                complexity: shape,
                payload_bytes: self.payload_bytes,
                visitor: self.visitor,
                transport: std::marker::PhantomData,
            }),
        }
    }
}

impl<V: CaseVisitor> TransportVisitor for WithTransport<V> {
    type Output = V::Output;

    fn visit<T: Transport>(self) -> Self::Output {
        self.reach::<T, Blocking>()
    }

    #[cfg(feature = "tokio")]
    fn visit_awaited<T: Awaited>(self) -> Self::Output {
        self.reach::<T, Async>()
    }
}

struct WithCodec<T, V, R> {
    complexity: Complexity,
    payload_bytes: usize,
    visitor: V,
    transport: std::marker::PhantomData<(T, R)>,
}

impl<T, V: CaseVisitor, R: Reach<T>> CodecVisitor for WithCodec<T, V, R> {
    type Output = V::Output;

    fn visit<C: Codec>(self, codec: C) -> V::Output {
        let (complexity, payload) = (self.complexity, self.payload_bytes);
        let visitor = self.visitor;
        match complexity {
            Complexity::RawString => R::reach(visitor, RawString::new(payload)),
            Complexity::Structured => R::reach(visitor, Structured::new(codec, payload)),
            Complexity::Log => R::reach(
                visitor,
                Shaped::<C, LogBatch>::new(codec, complexity, payload),
            ),
            Complexity::Numeric => R::reach(
                visitor,
                Shaped::<C, Telemetry>::new(codec, complexity, payload),
            ),
            Complexity::Nested => R::reach(
                visitor,
                Shaped::<C, OrderRequest>::new(codec, complexity, payload),
            ),
            Complexity::Own(_) => R::reach(visitor, own_format(complexity, C::NAME)),
        }
    }
}

/// A team's own shape through the codec called `codec`, built where its
/// type is known. Planning checked that the shape is known and the codec
/// carries it; should either fail all the same, the format refuses every
/// message with the reason, and the round fails with it.
fn own_format(complexity: Complexity, codec: &'static str) -> Box<dyn MessageFormat> {
    let built = CodecId::parse(codec)
        .map_err(|e| e.to_string())
        .and_then(|id| own::format(complexity, id));
    match built {
        Ok(format) => format as Box<dyn MessageFormat>,
        Err(reason) => Box::new(Unavailable {
            complexity,
            codec,
            reason,
        }),
    }
}

/// The format of a shape this process cannot build: every call fails with
/// why.
struct Unavailable {
    complexity: Complexity,
    codec: &'static str,
    reason: String,
}

impl Unavailable {
    fn error(&self) -> CodecError {
        CodecError::encode(self.codec, &self.reason)
    }
}

impl MessageFormat for Unavailable {
    fn codec_name(&self) -> &'static str {
        self.codec
    }

    fn complexity(&self) -> Complexity {
        self.complexity
    }

    fn slot_from(&self) -> Option<usize> {
        None
    }

    fn encode_ping_to(&mut self, _: u64, _: u64, _: Out<'_>) -> Result<usize, CodecError> {
        Err(self.error())
    }

    fn check_pong(&mut self, _: &[u8], _: u64, _: u64) -> Result<(), VerifyError> {
        Err(self.error().into())
    }

    fn read_ping(&mut self, _: &[u8]) -> Result<(), VerifyError> {
        Err(self.error().into())
    }

    fn write_pong_to(&mut self, _: Out<'_>) -> Result<usize, CodecError> {
        Err(self.error())
    }

    fn take_message(&mut self, _: &[u8]) -> Result<(u64, u64), VerifyError> {
        Err(self.error().into())
    }
}

/// The message format for `complexity` (through the codec called `codec` when
/// structured) on its own, behind a trait object: for tools and fuzzers that
/// exercise the decoding without a transport, where dynamic dispatch costs
/// nothing that matters.
pub fn boxed_format(
    complexity: Complexity,
    codec: &str,
    payload_bytes: usize,
) -> Result<Box<dyn MessageFormat>, codecs::LookupError> {
    struct Boxed(Complexity, usize);
    impl CodecVisitor for Boxed {
        type Output = Box<dyn MessageFormat>;
        fn visit<C: Codec>(self, codec: C) -> Self::Output {
            let Boxed(complexity, payload) = self;
            match complexity {
                Complexity::RawString => Box::new(RawString::new(payload)),
                Complexity::Structured => Box::new(Structured::new(codec, payload)),
                Complexity::Log => Box::new(Shaped::<C, LogBatch>::new(codec, complexity, payload)),
                Complexity::Numeric => {
                    Box::new(Shaped::<C, Telemetry>::new(codec, complexity, payload))
                }
                Complexity::Nested => {
                    Box::new(Shaped::<C, OrderRequest>::new(codec, complexity, payload))
                }
                Complexity::Own(_) => own_format(complexity, C::NAME),
            }
        }
    }
    match complexity {
        Complexity::RawString => Ok(Box::new(RawString::new(payload_bytes))),
        shape => codecs::dispatch(codec, Boxed(shape, payload_bytes)),
    }
}

/// Every message format of this build, in a fixed order: each compiled
/// codec with each shape, then the raw string (whose codec name is a
/// stand-in). What the fuzz target picks from with its first byte.
pub fn every_format() -> Vec<(Complexity, &'static str)> {
    codecs::compiled_names()
        .into_iter()
        .flat_map(|codec| Complexity::SHAPES.map(|shape| (shape, codec)))
        .chain([(Complexity::RawString, "json")])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::message::VerifyError;

    #[test]
    fn a_generated_shape_is_checked_whole_on_both_sides() {
        for shape in [Complexity::Log, Complexity::Numeric, Complexity::Nested] {
            let mut parent = boxed_format(shape, "json", 300).unwrap();
            let mut child = boxed_format(shape, "json", 300).unwrap();
            // The pong echoes the ping, so only the header tells them apart
            // (and both carry the ping's): no "a ping is not a pong" here.
            let (mut ping, mut pong) = (Vec::new(), Vec::new());
            parent.encode_ping(7, 1234, &mut ping).unwrap();
            child.answer_ping(&ping, &mut pong).unwrap();
            parent.check_pong(&pong, 7, 1234).unwrap();
            assert!(parent.check_pong(&pong, 8, 1234).is_err());
            assert!(parent.check_pong(&pong, 7, 1235).is_err());
            parent.encode_ping(3, 4, &mut ping).unwrap();
            // One byte changed deep inside the body, not in the header.
            let text = String::from_utf8(ping.clone()).unwrap();
            let at = text.rfind(|c: char| c.is_ascii_digit()).unwrap();
            let mut changed = ping.clone();
            changed[at] = if changed[at] == b'1' { b'2' } else { b'1' };
            // The child refuses it as a ping, the parent as a pong.
            child.answer_ping(&ping, &mut pong).unwrap();
            for err in [
                child.answer_ping(&changed, &mut pong).unwrap_err(),
                parent.check_pong(&changed, 3, 4).unwrap_err(),
            ] {
                let content = matches!(
                    err,
                    VerifyError::Mismatch {
                        field: "content",
                        ..
                    }
                );
                assert!(content, "{shape}: {err}");
            }
        }
    }
}
