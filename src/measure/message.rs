//! What travels in a round trip, and the two ways of putting it on the wire.
//!
//! * `raw-string`: the seed's `sender|receiver|ping` text, extended with the
//!   sequence number and payload so that every reply can still be checked.
//! * `structured`: typed [`PingMessage`] / [`PongMessage`] values through a
//!   [`Codec`], so the serialization cost is in the hot path as in the seed.
//!
//! [`MessageFormat`] hides the difference from the ping-pong engine.

use codecs::{Codec, CodecError};

use codecs::shapes::ShapeMessage;
pub use codecs::shapes::{make_payload, PingMessage, PongMessage, CHILD_ID, PARENT_ID};

use crate::record::{Complexity, WireSpread};

/// A reply that does not answer the ping that was sent.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("it carries {field} {got:?}, expected {expected:?}")]
    Mismatch {
        field: &'static str,
        expected: String,
        got: String,
    },
}

pub(crate) fn expect_eq<T: PartialEq + std::fmt::Debug>(
    field: &'static str,
    expected: T,
    got: T,
) -> Result<(), VerifyError> {
    if expected == got {
        Ok(())
    } else {
        Err(VerifyError::Mismatch {
            field,
            expected: format!("{expected:?}"),
            got: format!("{got:?}"),
        })
    }
}

/// Where a message is encoded: into a buffer of ours (which the transport
/// then copies), or straight into the slot a transport lends the sender.
pub enum Out<'a> {
    Buffer(&'a mut Vec<u8>),
    Slot(&'a mut [u8]),
}

impl Out<'_> {
    /// Encodes `value` through `codec` into this destination; returns the length.
    pub fn encode<C: Codec, T: codecs::Message>(
        self,
        codec: &mut C,
        value: &T,
    ) -> Result<usize, CodecError> {
        match self {
            Out::Buffer(buf) => {
                codec.encode(value, buf)?;
                Ok(buf.len())
            }
            Out::Slot(slot) => codec.encode_into(value, slot),
        }
    }
}

/// Encodes pings, checks pongs (parent) and answers pings (child).
///
/// The engine is generic over this trait, so each format is monomorphized into
/// the hot loop rather than dispatched per message.
pub trait MessageFormat: Send {
    /// The name recorded in result files for the codec (`none` for raw strings).
    fn codec_name(&self) -> &'static str;
    fn complexity(&self) -> Complexity;

    /// From what message length the format encodes into a lent slot
    /// ([`Out::Slot`]); `None` when it cannot, and the engine always passes
    /// a buffer.
    fn slot_from(&self) -> Option<usize>;

    /// Parent: encodes ping `seq` into `out`; returns its length.
    fn encode_ping_to(
        &mut self,
        seq: u64,
        sent_at_ns: u64,
        out: Out<'_>,
    ) -> Result<usize, CodecError>;

    /// Parent: checks that `reply` is the answer to ping `seq` sent at `sent_at_ns`.
    fn check_pong(&mut self, reply: &[u8], seq: u64, sent_at_ns: u64) -> Result<(), VerifyError>;

    /// Child: checks `request` and keeps what the answer needs, so that the
    /// request's bytes (perhaps the transport's slot) are free before the
    /// answer is written with [`write_pong_to`](Self::write_pong_to).
    fn read_ping(&mut self, request: &[u8]) -> Result<(), VerifyError>;

    /// Child: encodes the pong answering the ping [`read_ping`](Self::read_ping)
    /// accepted last; returns its length.
    fn write_pong_to(&mut self, out: Out<'_>) -> Result<usize, CodecError>;

    /// Child, in a stream: checks `message` whole, every field against what
    /// the parent generates, and returns its header `(seq, sent_at_ns)`;
    /// nothing is answered.
    fn take_message(&mut self, message: &[u8]) -> Result<(u64, u64), VerifyError>;

    /// Parent: writes ping `seq` into `buf` (replacing its contents).
    fn encode_ping(
        &mut self,
        seq: u64,
        sent_at_ns: u64,
        buf: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        self.encode_ping_to(seq, sent_at_ns, Out::Buffer(buf))
            .map(drop)
    }

    /// Child: checks `request` and writes the matching pong into `buf`.
    fn answer_ping(&mut self, request: &[u8], buf: &mut Vec<u8>) -> Result<(), VerifyError> {
        self.read_ping(request)?;
        self.write_pong_to(Out::Buffer(buf))?;
        Ok(())
    }

    /// The longest message this format produces for the configured payload,
    /// used to size bounded transports and to reject oversize setups early.
    fn max_message_bytes(&mut self) -> Result<usize, CodecError> {
        let mut buf = Vec::new();
        self.encode_ping(u64::MAX, u64::MAX, &mut buf)?;
        let ping = buf.len();
        let mut pong = Vec::new();
        self.answer_ping(&buf, &mut pong)
            .map_err(|e| CodecError::Encode {
                codec: self.codec_name(),
                message: e.to_string(),
            })?;
        Ok(ping.max(pong.len()))
    }

    /// The smallest, median and largest message, for a format whose
    /// messages differ in size (a team's own samples); `None` for one whose
    /// every message is the same size.
    fn wire_spread(&mut self) -> Option<WireSpread> {
        None
    }
}

/// A format chosen at run time (a team's own shape, built where its type is
/// known) is a format too: every call goes to the one inside.
impl MessageFormat for Box<dyn MessageFormat> {
    fn codec_name(&self) -> &'static str {
        (**self).codec_name()
    }

    fn complexity(&self) -> Complexity {
        (**self).complexity()
    }

    fn slot_from(&self) -> Option<usize> {
        (**self).slot_from()
    }

    fn encode_ping_to(
        &mut self,
        seq: u64,
        sent_at_ns: u64,
        out: Out<'_>,
    ) -> Result<usize, CodecError> {
        (**self).encode_ping_to(seq, sent_at_ns, out)
    }

    fn check_pong(&mut self, reply: &[u8], seq: u64, sent_at_ns: u64) -> Result<(), VerifyError> {
        (**self).check_pong(reply, seq, sent_at_ns)
    }

    fn read_ping(&mut self, request: &[u8]) -> Result<(), VerifyError> {
        (**self).read_ping(request)
    }

    fn write_pong_to(&mut self, out: Out<'_>) -> Result<usize, CodecError> {
        (**self).write_pong_to(out)
    }

    fn take_message(&mut self, message: &[u8]) -> Result<(u64, u64), VerifyError> {
        (**self).take_message(message)
    }

    fn max_message_bytes(&mut self) -> Result<usize, CodecError> {
        (**self).max_message_bytes()
    }

    fn wire_spread(&mut self) -> Option<WireSpread> {
        (**self).wire_spread()
    }
}

/// The seed's `sender|receiver|ping` text with `|seq|sent_at|payload` appended.
pub struct RawString {
    payload: String,
    /// The header of the last ping read, for its answer.
    answering: (u64, u64),
}

impl RawString {
    pub fn new(payload_bytes: usize) -> Self {
        RawString {
            payload: make_payload(payload_bytes),
            answering: (0, 0),
        }
    }
}

fn write_raw(
    out: Out<'_>,
    sender: &str,
    receiver: &str,
    verb: &str,
    seq: u64,
    at: u64,
    payload: &str,
) -> Result<usize, CodecError> {
    use std::io::Write;
    match out {
        Out::Buffer(buf) => {
            buf.clear();
            // Writing to a Vec cannot fail.
            let _ = write!(buf, "{sender}|{receiver}|{verb}|{seq}|{at}|{payload}");
            Ok(buf.len())
        }
        Out::Slot(slot) => {
            let capacity = slot.len();
            let mut rest: &mut [u8] = slot;
            write!(rest, "{sender}|{receiver}|{verb}|{seq}|{at}|{payload}").map_err(|_| {
                CodecError::DoesNotFit {
                    codec: "none",
                    capacity,
                }
            })?;
            Ok(capacity - rest.len())
        }
    }
}

/// Splits `sender|receiver|verb|seq|at|payload`; the payload may not contain `|`
/// in our messages, but splitn keeps any that a broken peer sends inside it.
fn parse_raw(bytes: &[u8]) -> Result<[&str; 6], VerifyError> {
    let text = std::str::from_utf8(bytes).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    let mut parts = text.splitn(6, '|');
    let mut fields = [""; 6];
    for field in fields.iter_mut() {
        *field = parts.next().ok_or_else(|| {
            VerifyError::Malformed(format!("expected 6 '|'-separated fields in {text:?}"))
        })?;
    }
    Ok(fields)
}

fn parse_u64(field: &'static str, text: &str) -> Result<u64, VerifyError> {
    text.parse()
        .map_err(|_| VerifyError::Malformed(format!("{field} {text:?} is not a number")))
}

impl MessageFormat for RawString {
    fn codec_name(&self) -> &'static str {
        "none"
    }

    fn complexity(&self) -> Complexity {
        Complexity::RawString
    }

    fn slot_from(&self) -> Option<usize> {
        Some(0)
    }

    fn encode_ping_to(
        &mut self,
        seq: u64,
        sent_at_ns: u64,
        out: Out<'_>,
    ) -> Result<usize, CodecError> {
        write_raw(
            out,
            PARENT_ID,
            CHILD_ID,
            "ping",
            seq,
            sent_at_ns,
            &self.payload,
        )
    }

    fn check_pong(&mut self, reply: &[u8], seq: u64, sent_at_ns: u64) -> Result<(), VerifyError> {
        let [sender, receiver, verb, got_seq, got_at, payload] = parse_raw(reply)?;
        expect_eq("sender", CHILD_ID, sender)?;
        expect_eq("receiver", PARENT_ID, receiver)?;
        expect_eq("verb", "pong", verb)?;
        expect_eq("seq", seq, parse_u64("seq", got_seq)?)?;
        expect_eq("sent_at_ns", sent_at_ns, parse_u64("sent_at_ns", got_at)?)?;
        if payload != self.payload {
            return Err(payload_mismatch(&self.payload, payload));
        }
        Ok(())
    }

    fn read_ping(&mut self, request: &[u8]) -> Result<(), VerifyError> {
        let [sender, receiver, verb, seq, at, payload] = parse_raw(request)?;
        expect_eq("sender", PARENT_ID, sender)?;
        expect_eq("receiver", CHILD_ID, receiver)?;
        expect_eq("verb", "ping", verb)?;
        // The whole payload is compared (a memcmp), so the pong can carry our
        // own copy of it: what it carries is what the ping carried.
        if payload != self.payload {
            return Err(payload_mismatch(&self.payload, payload));
        }
        self.answering = (parse_u64("seq", seq)?, parse_u64("sent_at_ns", at)?);
        Ok(())
    }

    fn take_message(&mut self, message: &[u8]) -> Result<(u64, u64), VerifyError> {
        // read_ping compares every field, the payload whole.
        self.read_ping(message)?;
        Ok(self.answering)
    }

    fn write_pong_to(&mut self, out: Out<'_>) -> Result<usize, CodecError> {
        let (seq, at) = self.answering;
        write_raw(out, CHILD_ID, PARENT_ID, "pong", seq, at, &self.payload)
    }
}

/// Describes a payload mismatch without dumping megabytes into the error.
fn payload_mismatch(expected: &str, got: &str) -> VerifyError {
    let first_difference = expected
        .bytes()
        .zip(got.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(got.len()));
    VerifyError::Mismatch {
        field: "payload",
        expected: format!("{} bytes", expected.len()),
        got: format!(
            "{} bytes, first difference at byte {first_difference}",
            got.len()
        ),
    }
}

/// Typed messages through codec `C`.
pub struct Structured<C: Codec> {
    codec: C,
    payload: String,
    /// The answer to the last ping read.
    answer: Option<PongMessage>,
}

impl<C: Codec> Structured<C> {
    pub fn new(codec: C, payload_bytes: usize) -> Self {
        Structured {
            codec,
            payload: make_payload(payload_bytes),
            answer: None,
        }
    }
}

/// `write_pong_to` before any `read_ping`: a bug in the caller.
fn nothing_to_answer(codec: &'static str) -> CodecError {
    CodecError::encode(codec, "no ping has been read to answer")
}

impl<C: Codec> MessageFormat for Structured<C> {
    fn codec_name(&self) -> &'static str {
        C::NAME
    }

    fn complexity(&self) -> Complexity {
        Complexity::Structured
    }

    fn slot_from(&self) -> Option<usize> {
        C::ENCODES_INTO_SLICE.then_some(C::INTO_SLICE_FROM)
    }

    fn encode_ping_to(
        &mut self,
        seq: u64,
        sent_at_ns: u64,
        out: Out<'_>,
    ) -> Result<usize, CodecError> {
        // The ping is built afresh each time, as an application would; the clone
        // of the payload is part of the cost being measured, the same for every codec.
        let ping = PingMessage {
            sender_id: PARENT_ID.to_string(),
            receiver_id: CHILD_ID.to_string(),
            seq,
            sent_at_ns,
            payload: self.payload.clone(),
        };
        out.encode(&mut self.codec, &ping)
    }

    fn check_pong(&mut self, reply: &[u8], seq: u64, sent_at_ns: u64) -> Result<(), VerifyError> {
        let pong: PongMessage = self.codec.decode(reply)?;
        expect_eq("sender_id", CHILD_ID, &pong.sender_id)?;
        expect_eq("receiver_id", PARENT_ID, &pong.receiver_id)?;
        expect_eq("seq", seq, pong.seq)?;
        expect_eq("ping_sent_at_ns", sent_at_ns, pong.ping_sent_at_ns)?;
        if pong.payload != self.payload {
            return Err(payload_mismatch(&self.payload, &pong.payload));
        }
        Ok(())
    }

    fn read_ping(&mut self, request: &[u8]) -> Result<(), VerifyError> {
        self.answer = None;
        let ping: PingMessage = self.codec.decode(request)?;
        expect_eq("sender_id", PARENT_ID, &ping.sender_id)?;
        expect_eq("receiver_id", CHILD_ID, &ping.receiver_id)?;
        expect_eq("payload length", self.payload.len(), ping.payload.len())?;
        self.answer = Some(PongMessage {
            sender_id: ping.receiver_id,
            receiver_id: ping.sender_id,
            seq: ping.seq,
            ping_sent_at_ns: ping.sent_at_ns,
            payload: ping.payload,
        });
        Ok(())
    }

    fn take_message(&mut self, message: &[u8]) -> Result<(u64, u64), VerifyError> {
        let ping: PingMessage = self.codec.decode(message)?;
        expect_eq("sender_id", PARENT_ID, &ping.sender_id)?;
        expect_eq("receiver_id", CHILD_ID, &ping.receiver_id)?;
        // In a ping-pong the parent compares the echoed payload; here no
        // one else will, so the whole of it is compared now.
        if ping.payload != self.payload {
            return Err(payload_mismatch(&self.payload, &ping.payload));
        }
        Ok((ping.seq, ping.sent_at_ns))
    }

    fn write_pong_to(&mut self, out: Out<'_>) -> Result<usize, CodecError> {
        let pong = self
            .answer
            .as_ref()
            .ok_or_else(|| nothing_to_answer(C::NAME))?;
        out.encode(&mut self.codec, pong)
    }
}

/// A generated shape (`log`, `numeric`, `nested`) through codec `C`.
///
/// Both processes generate the same message from the payload figure (a fixed
/// seed), so each side checks the whole of what it received against its own
/// copy: the child the ping, the parent the pong, which echoes the ping. The
/// message is built once and only its header changes per round trip, so the
/// timed work is the codec's and the check's, not the building of the body.
pub struct Shaped<C: Codec, M: ShapeMessage> {
    codec: C,
    message: M,
    complexity: Complexity,
    /// Whether a ping was read and `message` carries its header.
    answering: bool,
}

impl<C: Codec, M: ShapeMessage> Shaped<C, M> {
    pub fn new(codec: C, complexity: Complexity, payload_bytes: usize) -> Self {
        debug_assert_eq!(complexity.name(), M::SHAPE);
        Shaped {
            codec,
            message: M::generate(payload_bytes),
            complexity,
            answering: false,
        }
    }

    /// Checks `got` against the expected message with header `(seq, at)`.
    fn check(&mut self, got: &M, seq: u64, at: u64) -> Result<(), VerifyError> {
        self.message.set_header(seq, at);
        if *got == self.message {
            Ok(())
        } else {
            Err(VerifyError::Mismatch {
                field: "content",
                expected: format!("the generated {} message", M::SHAPE),
                got: "a message that differs from it".to_string(),
            })
        }
    }
}

impl<C: Codec, M: ShapeMessage> MessageFormat for Shaped<C, M> {
    fn codec_name(&self) -> &'static str {
        C::NAME
    }

    fn complexity(&self) -> Complexity {
        self.complexity
    }

    fn slot_from(&self) -> Option<usize> {
        C::ENCODES_INTO_SLICE.then_some(C::INTO_SLICE_FROM)
    }

    fn encode_ping_to(
        &mut self,
        seq: u64,
        sent_at_ns: u64,
        out: Out<'_>,
    ) -> Result<usize, CodecError> {
        self.message.set_header(seq, sent_at_ns);
        out.encode(&mut self.codec, &self.message)
    }

    fn check_pong(&mut self, reply: &[u8], seq: u64, sent_at_ns: u64) -> Result<(), VerifyError> {
        let pong: M = self.codec.decode(reply)?;
        let (got_seq, got_at) = pong.header();
        expect_eq("seq", seq, got_seq)?;
        expect_eq("sent_at_ns", sent_at_ns, got_at)?;
        self.check(&pong, seq, sent_at_ns)
    }

    fn read_ping(&mut self, request: &[u8]) -> Result<(), VerifyError> {
        self.answering = false;
        let ping: M = self.codec.decode(request)?;
        let (seq, at) = ping.header();
        self.check(&ping, seq, at)?;
        self.answering = true;
        Ok(())
    }

    fn take_message(&mut self, message: &[u8]) -> Result<(u64, u64), VerifyError> {
        let ping: M = self.codec.decode(message)?;
        let (seq, at) = ping.header();
        self.check(&ping, seq, at)?;
        Ok((seq, at))
    }

    fn write_pong_to(&mut self, out: Out<'_>) -> Result<usize, CodecError> {
        // `check` proved the ping equal to our message with the ping's
        // header set on it: encoding ours echoes the ping, without keeping it.
        if !self.answering {
            return Err(nothing_to_answer(C::NAME));
        }
        out.encode(&mut self.codec, &self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codecs::Json;

    fn round_trip(format: &mut dyn MessageFormat, child: &mut dyn MessageFormat) {
        let (mut ping, mut pong) = (Vec::new(), Vec::new());
        format.encode_ping(7, 1234, &mut ping).unwrap();
        child.answer_ping(&ping, &mut pong).unwrap();
        format.check_pong(&pong, 7, 1234).unwrap();
        assert!(matches!(
            format.check_pong(&pong, 8, 1234),
            Err(VerifyError::Mismatch { field: "seq", .. })
        ));
        assert!(format.check_pong(&pong, 7, 1235).is_err());
        assert!(
            format.check_pong(&ping, 7, 1234).is_err(),
            "a ping is not a pong"
        );
    }

    #[test]
    fn raw_string_round_trip_is_checked() {
        round_trip(&mut RawString::new(40), &mut RawString::new(40));
        let mut ping = Vec::new();
        RawString::new(3).encode_ping(1, 2, &mut ping).unwrap();
        assert_eq!(ping, b"parent|child|ping|1|2|abc");
    }

    #[test]
    fn structured_round_trip_is_checked() {
        round_trip(
            &mut Structured::new(Json, 40),
            &mut Structured::new(Json, 40),
        );
    }

    #[test]
    fn a_changed_payload_is_caught() {
        let mut parent = RawString::new(8);
        let reply = b"child|parent|pong|1|2|abcdefgX";
        let err = parent.check_pong(reply, 1, 2).unwrap_err().to_string();
        assert!(err.contains("first difference at byte 7"), "{err}");
    }

    #[test]
    fn max_message_covers_the_largest_numbers() {
        let mut format = Structured::new(Json, 10);
        let max = format.max_message_bytes().unwrap();
        let mut buf = Vec::new();
        format.encode_ping(1, 1, &mut buf).unwrap();
        assert!(max > buf.len());
    }
}
