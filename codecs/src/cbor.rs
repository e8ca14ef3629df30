//! CBOR (RFC 8949) via ciborium: a self-describing binary format, JSON's data
//! model with binary numbers and length-prefixed strings.

use crate::{Codec, CodecError, Message, SerdeCodec};
use serde::{de::DeserializeOwned, Serialize};

#[derive(Debug, Default, Clone, Copy)]
pub struct Cbor;

impl Codec for Cbor {
    const NAME: &'static str = "cbor";

    fn encode<T: Message>(&mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        self.encode_serde(value, buf)
    }

    const ENCODES_INTO_SLICE: bool = true;

    fn encode_into<T: Message>(&mut self, value: &T, out: &mut [u8]) -> Result<usize, CodecError> {
        crate::write_into(Self::NAME, out, |w| ciborium::into_writer(value, w))
    }

    fn decode<T: Message>(&mut self, bytes: &[u8]) -> Result<T, CodecError> {
        self.decode_serde(bytes)
    }
}

impl SerdeCodec for Cbor {
    const SELF_DESCRIBING: bool = true;

    fn encode_serde<T: Serialize>(&mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        buf.clear();
        ciborium::into_writer(value, &mut *buf).map_err(|e| CodecError::encode(Self::NAME, e))
    }

    fn decode_serde<T: DeserializeOwned>(&mut self, bytes: &[u8]) -> Result<T, CodecError> {
        // Reading through a shrinking slice leaves what was not consumed.
        let mut rest = bytes;
        let value = ciborium::from_reader(&mut rest).map_err(|e| CodecError::decode(Self::NAME, e))?;
        CodecError::expect_consumed(Self::NAME, rest.len())?;
        Ok(value)
    }
}
