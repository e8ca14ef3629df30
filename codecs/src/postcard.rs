//! postcard: a compact, varint-based binary format from the embedded world.

use crate::{Codec, CodecError, Message, SerdeCodec};
use serde::{de::DeserializeOwned, Serialize};

#[derive(Debug, Default, Clone, Copy)]
pub struct Postcard;

impl Codec for Postcard {
    const NAME: &'static str = "postcard";

    fn encode<T: Message>(&mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        self.encode_serde(value, buf)
    }

    const ENCODES_INTO_SLICE: bool = true;

    fn encode_into<T: Message>(&mut self, value: &T, out: &mut [u8]) -> Result<usize, CodecError> {
        let capacity = out.len();
        match postcard::to_slice(value, out) {
            Ok(used) => Ok(used.len()),
            Err(postcard::Error::SerializeBufferFull) => Err(CodecError::DoesNotFit {
                codec: Self::NAME,
                capacity,
            }),
            Err(e) => Err(CodecError::encode(Self::NAME, e)),
        }
    }

    fn decode<T: Message>(&mut self, bytes: &[u8]) -> Result<T, CodecError> {
        self.decode_serde(bytes)
    }
}

impl SerdeCodec for Postcard {
    const SELF_DESCRIBING: bool = false;

    fn encode_serde<T: Serialize>(&mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        buf.clear();
        // to_extend appends to any Extend<u8>, so the caller's buffer is reused.
        let out = std::mem::take(buf);
        *buf = postcard::to_extend(value, out).map_err(|e| CodecError::encode(Self::NAME, e))?;
        Ok(())
    }

    fn decode_serde<T: DeserializeOwned>(&mut self, bytes: &[u8]) -> Result<T, CodecError> {
        let (value, rest) =
            postcard::take_from_bytes(bytes).map_err(|e| CodecError::decode(Self::NAME, e))?;
        CodecError::expect_consumed(Self::NAME, rest.len())?;
        Ok(value)
    }
}
