//! Properties over generated messages (proptest, fixed case counts so the
//! suite takes the same time on every run): every compiled codec returns
//! what it was given, and every message format answers exactly the ping it
//! got and rejects any other.

use codecs::{Codec, CodecVisitor};
use ipc_bench::dispatch::boxed_format;
use ipc_bench::handshake::{ChildConfig, ChildReport};
use ipc_bench::message::{
    Complexity, MessageFormat, PingMessage, PongMessage, RawString, Structured,
};
use proptest::prelude::*;

fn ping() -> impl Strategy<Value = PingMessage> {
    (
        any::<String>(),
        any::<String>(),
        any::<u64>(),
        any::<u64>(),
        any::<String>(),
    )
        .prop_map(
            |(sender_id, receiver_id, seq, sent_at_ns, payload)| PingMessage {
                sender_id,
                receiver_id,
                seq,
                sent_at_ns,
                payload,
            },
        )
}

fn pong() -> impl Strategy<Value = PongMessage> {
    (
        any::<String>(),
        any::<String>(),
        any::<u64>(),
        any::<u64>(),
        any::<String>(),
    )
        .prop_map(
            |(sender_id, receiver_id, seq, ping_sent_at_ns, payload)| PongMessage {
                sender_id,
                receiver_id,
                seq,
                ping_sent_at_ns,
                payload,
            },
        )
}

struct RoundTrip {
    ping: PingMessage,
    pong: PongMessage,
}

impl CodecVisitor for RoundTrip {
    type Output = Result<(), TestCaseError>;
    fn visit<C: Codec>(self, mut codec: C) -> Self::Output {
        let mut buf = Vec::new();
        codec
            .encode(&self.ping, &mut buf)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let ping: PingMessage = codec
            .decode(&buf)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(ping, self.ping, "{}", C::NAME);
        codec
            .encode(&self.pong, &mut buf)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let pong: PongMessage = codec
            .decode(&buf)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(pong, self.pong, "{}", C::NAME);
        Ok(())
    }
}

struct Exchange {
    payload_bytes: usize,
    seq: u64,
    sent_at: u64,
    other_seq: u64,
}

impl CodecVisitor for Exchange {
    type Output = Result<(), TestCaseError>;
    fn visit<C: Codec>(self, _codec: C) -> Self::Output {
        let mut parent = Structured::new(C::default(), self.payload_bytes);
        let mut child = Structured::new(C::default(), self.payload_bytes);
        exchange(&mut parent, &mut child, &self)
    }
}

fn exchange(
    parent: &mut dyn MessageFormat,
    child: &mut dyn MessageFormat,
    case: &Exchange,
) -> Result<(), TestCaseError> {
    let (mut ping, mut pong) = (Vec::new(), Vec::new());
    parent
        .encode_ping(case.seq, case.sent_at, &mut ping)
        .unwrap();
    child.answer_ping(&ping, &mut pong).unwrap();
    prop_assert!(parent.check_pong(&pong, case.seq, case.sent_at).is_ok());
    if case.other_seq != case.seq {
        prop_assert!(parent
            .check_pong(&pong, case.other_seq, case.sent_at)
            .is_err());
    }
    prop_assert!(parent
        .check_pong(&pong, case.seq, case.sent_at ^ 1)
        .is_err());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_codec_returns_what_it_was_given(ping in ping(), pong in pong()) {
        for name in codecs::compiled_names() {
            codecs::dispatch(name, RoundTrip { ping: ping.clone(), pong: pong.clone() }).unwrap()?;
        }
    }

    #[test]
    fn every_format_answers_exactly_the_ping_it_got(
        payload_bytes in 0usize..2048,
        seq in any::<u64>(),
        sent_at in any::<u64>(),
        other_seq in any::<u64>(),
    ) {
        let case = Exchange { payload_bytes, seq, sent_at, other_seq };
        exchange(&mut RawString::new(payload_bytes), &mut RawString::new(payload_bytes), &case)?;
        for name in codecs::compiled_names() {
            codecs::dispatch(name, Exchange { ..case }).unwrap()?;
        }
    }

    #[test]
    fn random_bytes_never_panic_a_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        struct Garbage(Vec<u8>);
        impl CodecVisitor for Garbage {
            type Output = ();
            fn visit<C: Codec>(self, mut codec: C) {
                let _ = codec.decode::<PingMessage>(&self.0);
                let _ = codec.decode::<PongMessage>(&self.0);
            }
        }
        for name in codecs::compiled_names() {
            codecs::dispatch(name, Garbage(bytes.clone())).unwrap();
        }
    }

    /// What the `message_decode` fuzz target does, with a fixed case count:
    /// both sides of every format, the raw string included, take any bytes.
    #[test]
    fn random_bytes_are_refused_not_panicked_on_by_either_side(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let formats = codecs::compiled_names().into_iter().map(|c| (Complexity::Structured, c));
        for (complexity, codec) in formats.chain([(Complexity::RawString, "json")]) {
            let mut format = boxed_format(complexity, codec, 32).unwrap();
            let mut reply = Vec::new();
            let answered = format.answer_ping(&bytes, &mut reply);
            prop_assert!(answered.is_err() || !reply.is_empty());
            let _ = format.check_pong(&bytes, 1, 1);
        }
    }

    /// What the `handshake_config` fuzz target does, with a fixed case count.
    #[test]
    fn any_config_line_is_parsed_or_refused(line in ".{0,300}") {
        if let Ok(config) = ChildConfig::parse(&line) {
            prop_assert_eq!(ChildConfig::parse(&config.to_line()).unwrap().to_line(), config.to_line());
        }
        let _ = ChildReport::parse(&line);
    }
}
