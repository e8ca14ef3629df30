//! Turning run-time names (transport, complexity, codec) into one
//! monomorphized `(Transport, MessageFormat)` pair.

use crate::message::{Complexity, MessageFormat, RawString, Structured};
use crate::transport::{self, Transport, TransportId, TransportVisitor};
use codecs::{Codec, CodecId, CodecVisitor};

/// Generic code to run with a concrete transport type and message format.
pub trait CaseVisitor {
    type Output;
    fn visit<T: Transport, F: MessageFormat>(self, format: F) -> Self::Output;
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

impl<V: CaseVisitor> TransportVisitor for WithTransport<V> {
    type Output = V::Output;

    fn visit<T: Transport>(self) -> Self::Output {
        match self.complexity {
            Complexity::RawString => self
                .visitor
                .visit::<T, _>(RawString::new(self.payload_bytes)),
            Complexity::Structured => self.codec.dispatch(WithCodec::<T, V> {
                payload_bytes: self.payload_bytes,
                visitor: self.visitor,
                transport: std::marker::PhantomData,
            }),
        }
    }
}

struct WithCodec<T, V> {
    payload_bytes: usize,
    visitor: V,
    transport: std::marker::PhantomData<T>,
}

impl<T: Transport, V: CaseVisitor> CodecVisitor for WithCodec<T, V> {
    type Output = V::Output;

    fn visit<C: Codec>(self, codec: C) -> V::Output {
        self.visitor
            .visit::<T, _>(Structured::new(codec, self.payload_bytes))
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
    struct Boxed(usize);
    impl CodecVisitor for Boxed {
        type Output = Box<dyn MessageFormat>;
        fn visit<C: Codec>(self, codec: C) -> Self::Output {
            Box::new(Structured::new(codec, self.0))
        }
    }
    match complexity {
        Complexity::RawString => Ok(Box::new(RawString::new(payload_bytes))),
        Complexity::Structured => codecs::dispatch(codec, Boxed(payload_bytes)),
    }
}
