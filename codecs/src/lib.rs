//! Serialization formats for ipc-bench, behind one [`Codec`] trait.
//!
//! Every codec encodes into a caller-owned buffer that the caller reuses from one
//! message to the next (so the hot path does not allocate for the output), and
//! decodes from a byte slice into any `serde` type, returning a typed
//! [`CodecError`] rather than panicking on malformed input.
//!
//! `json` is always compiled; every other codec sits behind a Cargo feature of
//! the same name. Adding a codec is one file plus one line in [`registry!`]
//! below (and its feature line in `Cargo.toml`).

use serde::{de::DeserializeOwned, Serialize};

pub mod shapes;

/// Declares `$name` as the bound a codec behind `$feature` puts on message
/// types: the bound itself when the feature is on, nothing when it is off, so
/// a build carries the derives of its own codecs only.
macro_rules! feature_bound {
    ($feature:literal, $name:ident, $message:literal, $note:literal, $($bound:tt)+) => {
        #[cfg(feature = $feature)]
        #[doc = concat!("What the `", $feature, "` codec needs of a message type (this build has it).")]
        #[diagnostic::on_unimplemented(message = $message, note = $note)]
        pub trait $name: $($bound)+ {}
        #[cfg(feature = $feature)]
        impl<T: $($bound)+> $name for T {}
        #[cfg(not(feature = $feature))]
        #[doc = concat!("What the `", $feature, "` codec needs of a message type (nothing: this build lacks it).")]
        pub trait $name {}
        #[cfg(not(feature = $feature))]
        impl<T> $name for T {}
    };
}

// bitcode's own derive: several times faster than its serde path.
feature_bound!(
    "bitcode",
    BitcodeMessage,
    "`{Self}` cannot be carried by bitcode: it lacks #[derive(bitcode::Encode, bitcode::Decode)]",
    "add those derives to `{Self}`, or do not ask bitcode to carry it",
    ::bitcode::Encode + for<'a> ::bitcode::Decode<'a>
);
// prost's derive; protobuf has no serde path.
feature_bound!(
    "protobuf",
    ProtobufMessage,
    "`{Self}` cannot be carried by protobuf: it lacks #[derive(prost::Message)] (which gives `Default` too)",
    "add that derive and its field tags to `{Self}`, or do not ask protobuf to carry it",
    ::prost::Message + Default
);
#[cfg(feature = "rkyv")]
pub use crate::rkyv::RkyvMessage;
#[cfg(not(feature = "rkyv"))]
/// What the `rkyv` codec needs of a message type (nothing: this build lacks it).
pub trait RkyvMessage {}
#[cfg(not(feature = "rkyv"))]
impl<T> RkyvMessage for T {}

/// What a codec can carry: any serde type that also has the derives of the
/// codecs in this build that bypass serde (bitcode, rkyv, protobuf). The
/// message types in [`shapes`] derive all of them, each behind its feature.
pub trait Message:
    Serialize + DeserializeOwned + BitcodeMessage + RkyvMessage + ProtobufMessage + 'static
{
}
impl<T> Message for T where
    T: Serialize + DeserializeOwned + BitcodeMessage + RkyvMessage + ProtobufMessage + 'static
{
}

/// A codec that can carry values of type `T`, whatever else it can carry:
/// what a team's own message type needs of a codec (`ipc_bench::own`). The
/// serde codecs carry every serde type ([`SerdeCodec`]); bitcode, rkyv and
/// protobuf carry the types with their own derives, and naming one of them
/// for a type without them is a compile error that names the derive.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot carry `{T}`: `{T}` lacks the codec's own derives",
    label = "this codec needs derives of its own on `{T}`",
    note = "bitcode needs #[derive(bitcode::Encode, bitcode::Decode)], rkyv #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)], protobuf #[derive(prost::Message)] with field tags; json, postcard, msgpack, bincode and cbor carry any serde type"
)]
pub trait Carries<T>: Codec {
    /// Replaces the contents of `buf` with the encoding of `value`.
    fn encode_value(&mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError>;

    /// Decodes exactly one value from all of `bytes`.
    fn decode_value(&mut self, bytes: &[u8]) -> Result<T, CodecError>;
}

/// A codec that carries any serde type through serde alone.
pub trait SerdeCodec: Codec {
    /// Whether the bytes say what they hold (serde's `deserialize_any`), so
    /// that a value without a Rust type (a `serde_json::Value` read from a
    /// file) comes back as it went: json, msgpack and cbor do; postcard and
    /// bincode need the type to read their bytes.
    const SELF_DESCRIBING: bool;

    /// Replaces the contents of `buf` with the encoding of `value`.
    fn encode_serde<T: Serialize>(
        &mut self,
        value: &T,
        buf: &mut Vec<u8>,
    ) -> Result<(), CodecError>;

    /// Decodes exactly one value from all of `bytes`; trailing bytes are an error.
    fn decode_serde<T: DeserializeOwned>(&mut self, bytes: &[u8]) -> Result<T, CodecError>;
}

impl<C: SerdeCodec, T: Serialize + DeserializeOwned> Carries<T> for C {
    fn encode_value(&mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        self.encode_serde(value, buf)
    }

    fn decode_value(&mut self, bytes: &[u8]) -> Result<T, CodecError> {
        self.decode_serde(bytes)
    }
}

/// Runs generic code with a serde codec chosen at run time: see
/// [`CodecId::dispatch_serde`].
pub trait SerdeCodecVisitor {
    type Output;
    fn visit<C: SerdeCodec>(self, codec: C) -> Self::Output;
}

/// A serialization format that can carry the benchmark's messages.
///
/// Methods take `&mut self` so a codec can keep reusable state between
/// messages (bitcode's `Buffer`).
pub trait Codec: Default + Send + 'static {
    /// The name users type (`--codec NAME`), also used in result files.
    const NAME: &'static str;

    /// Replaces the contents of `buf` with the encoding of `value`.
    ///
    /// `buf` keeps its capacity between calls, so steady-state encoding does not
    /// allocate.
    fn encode<T: Message>(&mut self, value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError>;

    /// Whether [`encode_into`](Self::encode_into) is implemented: whether
    /// the codec can write a message straight into a slice it is lent (a
    /// transport's shared-memory slot) instead of a buffer of its own.
    const ENCODES_INTO_SLICE: bool = false;

    /// The shortest message for which encoding into a transport's slot
    /// measured faster than encoding into a local buffer and copying that
    /// in; 0 when it always was. A codec that writes its output in many small
    /// pieces pays for each on memory the peer's core last read.
    const INTO_SLICE_FROM: usize = 0;

    /// Encodes `value` into the front of `out` and returns its length, for
    /// a transport that lends the sender its message slot: the bytes are
    /// written once, where the peer reads them. [`CodecError::DoesNotFit`]
    /// when `out` is too short. Codecs that can only fill a buffer of their
    /// own leave [`ENCODES_INTO_SLICE`](Self::ENCODES_INTO_SLICE) false and
    /// keep this default, which refuses.
    fn encode_into<T: Message>(&mut self, value: &T, out: &mut [u8]) -> Result<usize, CodecError> {
        let _ = (value, out);
        Err(CodecError::encode(
            Self::NAME,
            "this codec cannot encode into a caller's slice",
        ))
    }

    /// Decodes exactly one value from all of `bytes`; trailing bytes are an error.
    ///
    /// Values are owned: not every format here can lend out borrowed strings.
    fn decode<T: Message>(&mut self, bytes: &[u8]) -> Result<T, CodecError>;

    /// Whether a decoder can tell where a message ends. Protobuf cannot (a
    /// message cut at a field boundary is itself a valid, shorter message),
    /// nor can rkyv (read from its end, a prefix may end in a valid root):
    /// for them only the content check that follows every decode catches a
    /// truncated message.
    const SELF_DELIMITING: bool = true;

    /// Validated access to the encoded message without decoding it, for
    /// zero-copy formats (rkyv); `None` for formats that have no such thing.
    fn access<T: Message>(&mut self, bytes: &[u8]) -> Option<Result<(), CodecError>> {
        let _ = bytes;
        None
    }

    /// The codec's name, for callers holding a value rather than the type.
    fn name(&self) -> &'static str {
        Self::NAME
    }
}

/// Why a codec could not encode or decode a value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("{codec}: encoding failed: {message}")]
    Encode {
        codec: &'static str,
        message: String,
    },
    #[error("{codec}: decoding failed: {message}")]
    Decode {
        codec: &'static str,
        message: String,
    },
    #[error("{codec}: {count} trailing byte(s) after the decoded value")]
    TrailingBytes { codec: &'static str, count: usize },
    #[error("{codec}: the encoded message does not fit the {capacity}-byte slot")]
    DoesNotFit {
        codec: &'static str,
        capacity: usize,
    },
}

impl CodecError {
    pub fn encode(codec: &'static str, err: impl std::fmt::Display) -> Self {
        CodecError::Encode {
            codec,
            message: err.to_string(),
        }
    }

    pub fn decode(codec: &'static str, err: impl std::fmt::Display) -> Self {
        CodecError::Decode {
            codec,
            message: err.to_string(),
        }
    }

    /// Checks that a decoder consumed all of its input.
    pub fn expect_consumed(codec: &'static str, remaining: usize) -> Result<(), Self> {
        if remaining == 0 {
            Ok(())
        } else {
            Err(CodecError::TrailingBytes {
                codec,
                count: remaining,
            })
        }
    }
}

/// Encodes through an `io::Write` over `out` (for the codecs that write to
/// any writer) and returns how many bytes went in. A writer that failed with
/// every byte of `out` used ran out of room: [`CodecError::DoesNotFit`].
pub(crate) fn write_into<E: std::fmt::Display>(
    codec: &'static str,
    out: &mut [u8],
    write: impl FnOnce(&mut &mut [u8]) -> Result<(), E>,
) -> Result<usize, CodecError> {
    let capacity = out.len();
    let mut rest: &mut [u8] = out;
    match write(&mut rest) {
        Ok(()) => Ok(capacity - rest.len()),
        Err(_) if rest.is_empty() => Err(CodecError::DoesNotFit { codec, capacity }),
        Err(e) => Err(CodecError::encode(codec, e)),
    }
}

/// One entry of the codec registry: every codec ipc-bench knows, compiled or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecInfo {
    pub name: &'static str,
    /// The Cargo feature that compiles it in; `None` for codecs that are always present.
    pub feature: Option<&'static str>,
    /// Whether this build has it.
    pub compiled: bool,
}

/// Runs generic code with a concrete codec chosen by name at run time.
///
/// Generic closures do not exist in Rust, so the caller's generic code lives in
/// `visit`, and [`dispatch`] calls it with the monomorphized codec.
pub trait CodecVisitor {
    type Output;
    fn visit<C: Codec>(self, codec: C) -> Self::Output;
}

/// Why a codec name cannot be used in this build.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LookupError {
    #[error("unknown codec '{name}' (known: {known})")]
    Unknown { name: String, known: String },
    #[error("codec '{name}' is not compiled into this executable (rebuild with `--features {feature}`, or `--features all-codecs`)")]
    NotCompiled { name: String, feature: &'static str },
}

macro_rules! registry {
    ($( $([$serde:ident])? $name:literal => $module:ident :: $ty:ident $(, feature = $feature:literal)? ; )*) => {
        $(
            $(#[cfg(feature = $feature)])?
            mod $module;
            $(#[cfg(feature = $feature)])?
            pub use $module::$ty;
        )*

        /// Every codec ipc-bench knows, in display order.
        pub const CODECS: &[CodecInfo] = &[
            $( CodecInfo {
                name: $name,
                feature: registry!(@feature $($feature)?),
                compiled: registry!(@compiled $($feature)?),
            }, )*
        ];

        /// A codec compiled into this build. Built only by [`CodecId::parse`]
        /// (which explains a missing one), so dispatching on it cannot fail.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum CodecId {
            $( $(#[cfg(feature = $feature)])? $ty, )*
        }

        impl CodecId {
            /// The codec called `name`, or why this build has none.
            pub fn parse(name: &str) -> Result<Self, LookupError> {
                match name {
                    $( $(#[cfg(feature = $feature)])? $name => Ok(CodecId::$ty), )*
                    _ => Err(lookup_error(name)),
                }
            }

            pub fn name(self) -> &'static str {
                match self {
                    $( $(#[cfg(feature = $feature)])? CodecId::$ty => $name, )*
                }
            }

            /// Calls `visitor` with this codec.
            pub fn dispatch<V: CodecVisitor>(self, visitor: V) -> V::Output {
                match self {
                    $( $(#[cfg(feature = $feature)])? CodecId::$ty => visitor.visit($module::$ty::default()), )*
                }
            }

            /// Calls `visitor` with this codec if it carries any serde type
            /// (a [`SerdeCodec`]); `None` for the codecs that need derives
            /// of their own.
            pub fn dispatch_serde<V: SerdeCodecVisitor>(self, visitor: V) -> Option<V::Output> {
                match self {
                    $( $(#[cfg(feature = $feature)])? CodecId::$ty => registry!(@serde visitor, $module::$ty $(, $serde)?), )*
                }
            }

            /// Every codec this build has.
            pub const ALL: &'static [CodecId] = &[
                $( $(#[cfg(feature = $feature)])? CodecId::$ty, )*
            ];
        }

        /// Calls `visitor` with the codec called `name`, if this build has it.
        pub fn dispatch<V: CodecVisitor>(name: &str, visitor: V) -> Result<V::Output, LookupError> {
            Ok(CodecId::parse(name)?.dispatch(visitor))
        }
    };
    (@serde $visitor:ident, $module:ident :: $ty:ident) => {{
        let _ = $visitor;
        None
    }};
    (@serde $visitor:ident, $module:ident :: $ty:ident, serde) => {
        Some($visitor.visit($module::$ty::default()))
    };
    (@feature) => { None };
    (@feature $feature:literal) => { Some($feature) };
    (@compiled) => { true };
    (@compiled $feature:literal) => { cfg!(feature = $feature) };
}

// `[serde]` marks the codecs that carry any serde type ([`SerdeCodec`]).
registry! {
    [serde] "json" => json::Json;
    [serde] "postcard" => postcard::Postcard, feature = "postcard";
    [serde] "msgpack" => msgpack::MsgPack, feature = "msgpack";
    [serde] "bincode" => bincode::Bincode, feature = "bincode";
    "bitcode" => bitcode::Bitcode, feature = "bitcode";
    [serde] "cbor" => cbor::Cbor, feature = "cbor";
    "rkyv" => rkyv::Rkyv, feature = "rkyv";
    "protobuf" => protobuf::Protobuf, feature = "protobuf";
}

/// The names of the codecs compiled into this build.
pub fn compiled_names() -> Vec<&'static str> {
    CODECS
        .iter()
        .filter(|c| c.compiled)
        .map(|c| c.name)
        .collect()
}

/// The codec a run uses when none is named: the one optional codec a build
/// has, when it has exactly one (so `cargo run --features postcard` measures
/// postcard), and json otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultCodec {
    pub name: &'static str,
    /// Why it is the default, for the run's summary.
    pub reason: &'static str,
}

/// The default codec of this build; see [`DefaultCodec`].
pub fn default_codec() -> DefaultCodec {
    default_among(CODECS)
}

fn default_among(codecs: &[CodecInfo]) -> DefaultCodec {
    let optional: Vec<&CodecInfo> = codecs
        .iter()
        .filter(|c| c.compiled && c.feature.is_some())
        .collect();
    match optional.as_slice() {
        [only] => DefaultCodec {
            name: only.name,
            reason: "the only optional codec in this build",
        },
        [] => DefaultCodec {
            name: "json",
            reason: "the default; no optional codec in this build",
        },
        _ => DefaultCodec {
            name: "json",
            reason: "the default with several codecs in this build",
        },
    }
}

/// Looks a codec up by name, explaining why it cannot be used when it cannot.
pub fn lookup(name: &str) -> Result<&'static CodecInfo, LookupError> {
    match CODECS.iter().find(|c| c.name == name) {
        Some(info) if info.compiled => Ok(info),
        _ => Err(lookup_error(name)),
    }
}

fn lookup_error(name: &str) -> LookupError {
    match CODECS.iter().find(|c| c.name == name) {
        Some(CodecInfo {
            feature: Some(feature),
            ..
        }) => LookupError::NotCompiled {
            name: name.to_string(),
            feature,
        },
        _ => LookupError::Unknown {
            name: name.to_string(),
            known: CODECS.iter().map(|c| c.name).collect::<Vec<_>>().join(", "),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NameOf;
    impl CodecVisitor for NameOf {
        type Output = &'static str;
        fn visit<C: Codec>(self, codec: C) -> &'static str {
            codec.name()
        }
    }

    #[test]
    fn dispatch_reaches_every_compiled_codec_under_its_own_name() {
        for name in compiled_names() {
            assert_eq!(dispatch(name, NameOf).unwrap(), name);
        }
        assert!(compiled_names().contains(&"json"));
    }

    #[test]
    fn the_only_optional_codec_is_the_default_and_json_otherwise() {
        let info = |name, compiled| CodecInfo {
            name,
            feature: (name != "json").then_some(name),
            compiled,
        };
        let json = info("json", true);
        let only_postcard = [json, info("postcard", true), info("msgpack", false)];
        assert_eq!(default_among(&only_postcard).name, "postcard");
        assert!(default_among(&only_postcard)
            .reason
            .contains("only optional"));
        let none = [json, info("postcard", false)];
        assert_eq!(default_among(&none).name, "json");
        let several = [json, info("postcard", true), info("msgpack", true)];
        assert_eq!(default_among(&several).name, "json");
        // And this build's own answer follows the same rule.
        let optional = CODECS
            .iter()
            .filter(|c| c.compiled && c.feature.is_some())
            .count();
        assert_eq!(default_codec().name == "json", optional != 1);
    }

    #[test]
    fn unknown_and_missing_codecs_are_explained() {
        let err = dispatch("yaml", NameOf).unwrap_err();
        assert!(matches!(err, LookupError::Unknown { .. }), "{err}");
        assert!(err.to_string().contains("json"), "{err}");
        for info in CODECS.iter().filter(|c| !c.compiled) {
            let err = lookup(info.name).unwrap_err();
            assert!(err.to_string().contains("--features"), "{err}");
        }
    }
}
