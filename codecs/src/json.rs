//! JSON via serde_json: the seed's format, readable on the wire, and the default.

use crate::{Codec, CodecError, Message};

#[derive(Debug, Default, Clone, Copy)]
pub struct Json;

impl Codec for Json {
    const NAME: &'static str = "json";

    fn encode<T: Message>(
        &mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        buf.clear();
        serde_json::to_writer(&mut *buf, value).map_err(|e| CodecError::encode(Self::NAME, e))
    }

    fn decode<T: Message>(&mut self, bytes: &[u8]) -> Result<T, CodecError> {
        // from_slice rejects trailing non-whitespace itself.
        serde_json::from_slice(bytes).map_err(|e| CodecError::decode(Self::NAME, e))
    }
}
