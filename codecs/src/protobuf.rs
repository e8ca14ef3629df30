//! Protocol Buffers via prost, derived on the message types (see
//! `proto/ipc_bench.proto` for the same messages as a schema).

use crate::{Carries, Codec, CodecError, Message};

#[derive(Debug, Default, Clone, Copy)]
pub struct Protobuf;

impl Codec for Protobuf {
    const NAME: &'static str = "protobuf";
    const SELF_DELIMITING: bool = false;

    fn encode<T: Message>(&mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        self.encode_value(value, buf)
    }

    const ENCODES_INTO_SLICE: bool = true;

    fn encode_into<T: Message>(&mut self, value: &T, out: &mut [u8]) -> Result<usize, CodecError> {
        let capacity = out.len();
        let mut rest: &mut [u8] = out;
        // prost measures the message first and writes nothing when it does not fit.
        prost::Message::encode(value, &mut rest).map_err(|_| CodecError::DoesNotFit {
            codec: Self::NAME,
            capacity,
        })?;
        Ok(capacity - rest.len())
    }

    fn decode<T: Message>(&mut self, bytes: &[u8]) -> Result<T, CodecError> {
        self.decode_value(bytes)
    }
}

impl<T: crate::ProtobufMessage> Carries<T> for Protobuf {
    fn encode_value(&mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        buf.clear();
        // A Vec grows as needed, so the only encode error (no room) cannot occur.
        prost::Message::encode(value, buf).map_err(|e| CodecError::encode(Self::NAME, e))
    }

    fn decode_value(&mut self, bytes: &[u8]) -> Result<T, CodecError> {
        // A protobuf message is all of its bytes: there is no trailing data to find.
        T::decode(bytes).map_err(|e| CodecError::decode(Self::NAME, e))
    }
}
