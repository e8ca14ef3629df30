//! rkyv 0.8, validated: the zero-copy format. In a round trip it decodes to
//! owned values like every other codec, so round trips compare fairly;
//! [`Codec::access`] measures what it exists for, validated access to the
//! archived message in place.

use crate::{Carries, Codec, CodecError, Message};
use ::rkyv::api::high::{HighDeserializer, HighSerializer, HighValidator};
use ::rkyv::bytecheck::CheckBytes;
use ::rkyv::rancor::Error;
use ::rkyv::ser::allocator::ArenaHandle;
use ::rkyv::util::AlignedVec;
use ::rkyv::{Archive, Deserialize, Serialize};

/// The alignment rkyv's archives need for in-place access.
const ALIGNMENT: usize = 16;

/// What the rkyv codec needs of a message type: its derives, with validation.
/// The bounds live here, on the one implementation, so that the [`Message`]
/// bound stays one word.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be carried by rkyv: it lacks #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]",
    note = "add those derives to `{Self}`, or do not ask rkyv to carry it"
)]
pub trait RkyvMessage: Sized {
    fn rkyv_encode(&self, out: Vec<u8>) -> Result<Vec<u8>, Error>;
    /// `bytes` must be aligned to [`ALIGNMENT`].
    fn rkyv_decode(bytes: &[u8]) -> Result<Self, Error>;
    /// Validates `bytes` as an archived `Self` without deserializing it;
    /// `bytes` must be aligned to [`ALIGNMENT`].
    fn rkyv_access(bytes: &[u8]) -> Result<(), Error>;
}

impl<T> RkyvMessage for T
where
    T: Archive + for<'a> Serialize<HighSerializer<Vec<u8>, ArenaHandle<'a>, Error>>,
    T::Archived: for<'a> CheckBytes<HighValidator<'a, Error>> + Deserialize<T, HighDeserializer<Error>>,
{
    fn rkyv_encode(&self, out: Vec<u8>) -> Result<Vec<u8>, Error> {
        ::rkyv::api::high::to_bytes_in::<_, Error>(self, out)
    }

    fn rkyv_decode(bytes: &[u8]) -> Result<Self, Error> {
        ::rkyv::from_bytes::<T, Error>(bytes)
    }

    fn rkyv_access(bytes: &[u8]) -> Result<(), Error> {
        ::rkyv::access::<T::Archived, Error>(bytes).map(|_| ())
    }
}

#[derive(Default)]
pub struct Rkyv {
    /// Where input that arrives misaligned is copied before it is read:
    /// an archive is read in place, so it must sit at its alignment.
    aligned: AlignedVec<ALIGNMENT>,
}

impl std::fmt::Debug for Rkyv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rkyv")
    }
}

impl Rkyv {
    /// `bytes` itself when it sits at rkyv's alignment, else an aligned copy.
    fn aligned<'a>(&'a mut self, bytes: &'a [u8]) -> &'a [u8] {
        if (bytes.as_ptr() as usize).is_multiple_of(ALIGNMENT) {
            bytes
        } else {
            self.aligned.clear();
            self.aligned.extend_from_slice(bytes);
            &self.aligned
        }
    }
}

impl Codec for Rkyv {
    const NAME: &'static str = "rkyv";
    // An archive is read from its end: a prefix that happens to end in a
    // valid root (say, a 40-byte prefix of a 168-byte ping) is a valid,
    // different archive. The content check after every decode catches it.
    const SELF_DELIMITING: bool = false;

    fn encode<T: Message>(&mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        self.encode_value(value, buf)
    }

    fn decode<T: Message>(&mut self, bytes: &[u8]) -> Result<T, CodecError> {
        self.decode_value(bytes)
    }

    fn access<T: Message>(&mut self, bytes: &[u8]) -> Option<Result<(), CodecError>> {
        Some(T::rkyv_access(self.aligned(bytes)).map_err(|e| CodecError::decode(Self::NAME, e)))
    }
}

impl<T: RkyvMessage> Carries<T> for Rkyv {
    fn encode_value(&mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        // Positions in an archive are relative to its start, so a plain Vec
        // holds the same bytes an aligned one would; the caller's buffer is reused.
        let mut out = std::mem::take(buf);
        out.clear();
        *buf = value
            .rkyv_encode(out)
            .map_err(|e| CodecError::encode(Self::NAME, e))?;
        Ok(())
    }

    fn decode_value(&mut self, bytes: &[u8]) -> Result<T, CodecError> {
        // Validation checks every pointer and length against the buffer, so
        // bytes that are not an archive of a `T` fail here, never in use.
        T::rkyv_decode(self.aligned(bytes)).map_err(|e| CodecError::decode(Self::NAME, e))
    }
}
