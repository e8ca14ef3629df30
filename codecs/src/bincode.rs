//! bincode 2 through its serde bridge, with the standard (varint) configuration.

use crate::{Codec, CodecError, Message, SerdeCodec};
use serde::{de::DeserializeOwned, Serialize};

#[derive(Debug, Default, Clone, Copy)]
pub struct Bincode;

/// Caps any length prefix a decoder may believe, so random input cannot make it
/// reserve gigabytes before discovering the data is not there.
const DECODE_LIMIT_BYTES: usize = 64 * 1024 * 1024;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT_BYTES>()
}

impl Codec for Bincode {
    const NAME: &'static str = "bincode";

    fn encode<T: Message>(&mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        self.encode_serde(value, buf)
    }

    const ENCODES_INTO_SLICE: bool = true;

    fn encode_into<T: Message>(&mut self, value: &T, out: &mut [u8]) -> Result<usize, CodecError> {
        let capacity = out.len();
        match bincode::serde::encode_into_slice(value, out, config()) {
            Ok(len) => Ok(len),
            Err(bincode::error::EncodeError::UnexpectedEnd) => Err(CodecError::DoesNotFit {
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

impl SerdeCodec for Bincode {
    const SELF_DESCRIBING: bool = false;

    fn encode_serde<T: Serialize>(&mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        buf.clear();
        bincode::serde::encode_into_std_write(value, buf, config())
            .map(|_| ())
            .map_err(|e| CodecError::encode(Self::NAME, e))
    }

    fn decode_serde<T: DeserializeOwned>(&mut self, bytes: &[u8]) -> Result<T, CodecError> {
        let (value, consumed) = bincode::serde::borrow_decode_from_slice(bytes, config())
            .map_err(|e| CodecError::decode(Self::NAME, e))?;
        CodecError::expect_consumed(Self::NAME, bytes.len() - consumed)?;
        Ok(value)
    }
}
