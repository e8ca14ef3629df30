//! bitcode through its derive and a reusable `Buffer`: the compact binary
//! format built for speed. Its serde path would fit the other codecs'
//! shape, but it allocates on every call and is much slower, so the message
//! types derive bitcode's own traits instead.

use crate::{Carries, Codec, CodecError, Message};

#[derive(Default)]
pub struct Bitcode {
    /// Keeps bitcode's per-type encoders and decoders between messages.
    buffer: ::bitcode::Buffer,
}

impl std::fmt::Debug for Bitcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bitcode")
    }
}

impl Codec for Bitcode {
    const NAME: &'static str = "bitcode";

    fn encode<T: Message>(&mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        self.encode_value(value, buf)
    }

    // bitcode has no slice writer; it encodes into its own buffer, and that
    // one copy goes straight to the slot (a Vec of ours in between would add one).
    const ENCODES_INTO_SLICE: bool = true;

    fn encode_into<T: Message>(&mut self, value: &T, out: &mut [u8]) -> Result<usize, CodecError> {
        let bytes = self.buffer.encode(value);
        let capacity = out.len();
        let target = out.get_mut(..bytes.len()).ok_or(CodecError::DoesNotFit {
            codec: Self::NAME,
            capacity,
        })?;
        target.copy_from_slice(bytes);
        Ok(bytes.len())
    }

    fn decode<T: Message>(&mut self, bytes: &[u8]) -> Result<T, CodecError> {
        self.decode_value(bytes)
    }
}

impl<T: crate::BitcodeMessage> Carries<T> for Bitcode {
    fn encode_value(&mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        buf.clear();
        buf.extend_from_slice(self.buffer.encode(value));
        Ok(())
    }

    fn decode_value(&mut self, bytes: &[u8]) -> Result<T, CodecError> {
        // bitcode rejects trailing bytes itself.
        self.buffer.decode(bytes).map_err(|e| CodecError::decode(Self::NAME, e))
    }
}
