//! Turning run-time names (transport, complexity, codec) into one
//! monomorphized `(Transport, MessageFormat)` pair.

use crate::message::{Complexity, MessageFormat, RawString, Structured};
use crate::transport::{self, Transport, TransportVisitor};
use codecs::{Codec, CodecVisitor};

/// Generic code to run with a concrete transport type and message format.
pub trait CaseVisitor {
    type Output;
    fn visit<T: Transport, F: MessageFormat>(self, format: F) -> Self::Output;
}

/// Why a case cannot be built in this executable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DispatchError {
    #[error("{0}")]
    UnknownTransport(String),
    #[error(transparent)]
    Codec(#[from] codecs::LookupError),
}

/// Calls `visitor` with the transport called `transport` and the message
/// format for `complexity` (through the codec called `codec` when structured).
pub fn dispatch_case<V: CaseVisitor>(
    transport: &str,
    complexity: Complexity,
    codec: &str,
    payload_bytes: usize,
    visitor: V,
) -> Result<V::Output, DispatchError> {
    transport::dispatch(
        transport,
        WithTransport {
            complexity,
            codec,
            payload_bytes,
            visitor,
        },
    )
    .ok_or_else(|| {
        DispatchError::UnknownTransport(transport::unknown_transport_message(transport))
    })?
}

struct WithTransport<'a, V> {
    complexity: Complexity,
    codec: &'a str,
    payload_bytes: usize,
    visitor: V,
}

impl<V: CaseVisitor> TransportVisitor for WithTransport<'_, V> {
    type Output = Result<V::Output, DispatchError>;

    fn visit<T: Transport>(self) -> Self::Output {
        match self.complexity {
            Complexity::RawString => Ok(self
                .visitor
                .visit::<T, _>(RawString::new(self.payload_bytes))),
            Complexity::Structured => Ok(codecs::dispatch(
                self.codec,
                WithCodec::<T, V> {
                    payload_bytes: self.payload_bytes,
                    visitor: self.visitor,
                    transport: std::marker::PhantomData,
                },
            )?),
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
