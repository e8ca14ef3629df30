//! MessagePack via rmp-serde, structs written as compact arrays (no field names).

use crate::{Codec, CodecError, Message, SerdeCodec};
use serde::{de::DeserializeOwned, Serialize};

#[derive(Debug, Default, Clone, Copy)]
pub struct MsgPack;

impl Codec for MsgPack {
    const NAME: &'static str = "msgpack";

    fn encode<T: Message>(&mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        self.encode_serde(value, buf)
    }

    const ENCODES_INTO_SLICE: bool = true;

    fn encode_into<T: Message>(&mut self, value: &T, out: &mut [u8]) -> Result<usize, CodecError> {
        crate::write_into(Self::NAME, out, |w| rmp_serde::encode::write(w, value))
    }

    fn decode<T: Message>(&mut self, bytes: &[u8]) -> Result<T, CodecError> {
        self.decode_serde(bytes)
    }
}

impl SerdeCodec for MsgPack {
    const SELF_DESCRIBING: bool = true;

    fn encode_serde<T: Serialize>(&mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        buf.clear();
        // `write` (not `write_named`) encodes structs as arrays: the compact form.
        rmp_serde::encode::write(buf, value).map_err(|e| CodecError::encode(Self::NAME, e))
    }

    fn decode_serde<T: DeserializeOwned>(&mut self, bytes: &[u8]) -> Result<T, CodecError> {
        let mut deserializer = rmp_serde::Deserializer::new(std::io::Cursor::new(bytes));
        let value =
            T::deserialize(&mut deserializer).map_err(|e| CodecError::decode(Self::NAME, e))?;
        let consumed = deserializer.position() as usize;
        CodecError::expect_consumed(Self::NAME, bytes.len().saturating_sub(consumed))?;
        Ok(value)
    }
}
