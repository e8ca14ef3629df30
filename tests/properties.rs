//! Properties over generated messages (proptest, fixed case counts so the
//! suite takes the same time on every run): every compiled codec returns
//! what it was given, and every message format answers exactly the ping it
//! got and rejects any other.

use codecs::shapes::{
    Client, LogBatch, LogRecord, Order, OrderKind, OrderRequest, Price, SensorState, Telemetry,
};
use codecs::{Codec, CodecVisitor};
use ipc_bench::measure::dispatch::boxed_format;
use ipc_bench::measure::handshake::{
    ChildConfig, ChildReport, StreamRole, MAX_MESSAGE_BYTES, MAX_PAYLOAD_BYTES, PROTOCOL_VERSION,
};
use ipc_bench::measure::message::{MessageFormat, PingMessage, PongMessage, RawString, Structured};
use ipc_bench::measure::own::file::MessagesFile;
use ipc_bench::record::Complexity;
use ipc_bench::transport;
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

/// Any float a shape can carry: finite (JSON has no infinity, and a NaN is
/// not equal to itself), normal, subnormal or zero, of either sign.
fn finite_f32() -> impl Strategy<Value = f32> {
    prop::num::f32::NORMAL | prop::num::f32::SUBNORMAL | prop::num::f32::ZERO
}

fn finite_f64() -> impl Strategy<Value = f64> {
    prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO
}

fn log_batch() -> impl Strategy<Value = LogBatch> {
    let record = (
        any::<String>(),
        any::<String>(),
        any::<String>(),
        any::<String>(),
        any::<String>(),
        any::<u32>(),
        any::<u64>(),
    )
        .prop_map(
            |(address, identity, user, timestamp, request, status, size)| LogRecord {
                address,
                identity,
                user,
                timestamp,
                request,
                status,
                size,
            },
        );
    (
        any::<u64>(),
        any::<u64>(),
        proptest::collection::vec(record, 0..8),
    )
        .prop_map(|(seq, sent_at_ns, records)| LogBatch {
            seq,
            sent_at_ns,
            records,
        })
}

fn telemetry() -> impl Strategy<Value = Telemetry> {
    let state = proptest::option::of(prop_oneof![
        any::<u64>().prop_map(SensorState::Running),
        finite_f32().prop_map(SensorState::Degraded),
        any::<u32>().prop_map(SensorState::Fault),
    ]);
    (
        (any::<u64>(), any::<u64>(), any::<u32>(), any::<u64>()),
        (finite_f64(), finite_f64(), finite_f32(), state),
        proptest::collection::vec(finite_f32(), 0..64),
        proptest::collection::vec(finite_f32(), 0..4),
    )
        .prop_map(
            |(
                (seq, sent_at_ns, sensor_id, captured_at_ns),
                (temperature_c, pressure_kpa, gain, state),
                samples,
                calibration,
            )| Telemetry {
                seq,
                sent_at_ns,
                sensor_id,
                captured_at_ns,
                temperature_c,
                pressure_kpa,
                gain,
                state,
                samples,
                calibration,
            },
        )
}

fn order_request() -> impl Strategy<Value = OrderRequest> {
    let price = (any::<i64>(), any::<i32>()).prop_map(|(units, nanos)| Price { units, nanos });
    let kind = proptest::option::of(prop_oneof![
        any::<u32>().prop_map(OrderKind::Market),
        price.prop_map(OrderKind::Limit),
        any::<u64>().prop_map(OrderKind::Replace),
    ]);
    let order = (
        any::<u64>(),
        any::<String>(),
        any::<u32>(),
        any::<bool>(),
        kind,
    )
        .prop_map(|(id, symbol, quantity, buy, kind)| Order {
            id,
            symbol,
            quantity,
            buy,
            kind,
        });
    let client = proptest::option::of(
        (
            any::<String>(),
            any::<u64>(),
            proptest::option::of(any::<String>()),
        )
            .prop_map(|(name, account, region)| Client {
                name,
                account,
                region,
            }),
    );
    (
        any::<u64>(),
        any::<u64>(),
        client,
        proptest::collection::btree_map(any::<String>(), any::<String>(), 0..4),
        proptest::collection::vec(order, 0..6),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(
            |(seq, sent_at_ns, client, headers, orders, deadline_ms)| OrderRequest {
                seq,
                sent_at_ns,
                client,
                headers,
                orders,
                deadline_ms,
            },
        )
}

/// Every compiled codec returns `value` unchanged.
struct Returns<M>(M);

impl<M: codecs::Message + PartialEq + std::fmt::Debug> CodecVisitor for Returns<M> {
    type Output = Result<(), TestCaseError>;
    fn visit<C: Codec>(self, mut codec: C) -> Self::Output {
        let mut buf = Vec::new();
        codec
            .encode(&self.0, &mut buf)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: M = codec
            .decode(&buf)
            .map_err(|e| TestCaseError::fail(format!("{e} ({} bytes)", buf.len())))?;
        prop_assert_eq!(back, self.0, "{}", C::NAME);
        Ok(())
    }
}

fn every_codec_returns<M: codecs::Message + Clone + PartialEq + std::fmt::Debug>(
    value: M,
) -> Result<(), TestCaseError> {
    for name in codecs::compiled_names() {
        codecs::dispatch(name, Returns(value.clone())).unwrap()?;
    }
    Ok(())
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
    fn every_codec_returns_any_log_batch(value in log_batch()) {
        every_codec_returns(value)?;
    }

    #[test]
    fn every_codec_returns_any_telemetry_frame(value in telemetry()) {
        every_codec_returns(value)?;
    }

    #[test]
    fn every_codec_returns_any_order_request(value in order_request()) {
        every_codec_returns(value)?;
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
            for shape in [Complexity::Log, Complexity::Numeric, Complexity::Nested] {
                let mut parent = boxed_format(shape, name, payload_bytes).unwrap();
                let mut child = boxed_format(shape, name, payload_bytes).unwrap();
                exchange(parent.as_mut(), child.as_mut(), &case)?;
            }
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
        for (complexity, codec) in ipc_bench::measure::dispatch::every_format() {
            let mut format = boxed_format(complexity, codec, 32).unwrap();
            let mut reply = Vec::new();
            let answered = format.answer_ping(&bytes, &mut reply);
            prop_assert!(answered.is_err() || !reply.is_empty());
            let _ = format.check_pong(&bytes, 1, 1);
        }
    }

}

/// A valid config, as a parent would write it: every field drawn from what
/// a real run can send, the transport setup an arbitrary small document.
fn valid_config() -> impl Strategy<Value = ChildConfig> {
    let transports: Vec<&'static str> = transport::TRANSPORTS.iter().map(|t| t.name).collect();
    let codecs: Vec<&'static str> = codecs::CODECS.iter().map(|c| c.name).collect();
    let setup = proptest::collection::btree_map(
        "[a-z_]{1,12}",
        prop_oneof![
            any::<u64>().prop_map(serde_json::Value::from),
            "[ -~]{0,24}".prop_map(serde_json::Value::from),
            any::<bool>().prop_map(serde_json::Value::from),
        ],
        0..4,
    )
    .prop_map(|fields| serde_json::Value::Object(fields.into_iter().collect()));
    (
        proptest::sample::select(transports),
        proptest::sample::select(codecs),
        proptest::sample::select(Complexity::ALL.to_vec()),
        0..=MAX_PAYLOAD_BYTES,
        0..=MAX_MESSAGE_BYTES,
        (any::<bool>(), 1usize..=(1 << 30)),
        setup,
        any::<u32>(),
        proptest::option::of(0usize..256),
    )
        .prop_map(
            |(
                transport,
                codec,
                complexity,
                payload_bytes,
                max_message,
                (block, region),
                setup,
                parent_pid,
                child_core,
            )| {
                // A transport's config as the transports write theirs.
                let transport_config = serde_json::json!({
                    "wait": if block { "block" } else { "spin" },
                    "queue_region_bytes": region,
                });
                ChildConfig {
                    protocol_version: PROTOCOL_VERSION,
                    transport: transport.into(),
                    codec: codec.into(),
                    complexity,
                    payload_bytes,
                    max_message_bytes: max_message,
                    transport_config,
                    transport_setup: setup,
                    parent_pid,
                    child_core,
                    stream: (parent_pid % 3 == 0).then_some(StreamRole {
                        window: 1 + parent_pid % 300,
                        record_latency: parent_pid % 2 == 0,
                    }),
                    messages: (parent_pid % 5 == 0).then(|| MessagesFile {
                        path: format!("/tmp/m{parent_pid}.jsonl").into(),
                        digest: u64::from(parent_pid) << 20,
                        messages: 1 + parent_pid as usize % 100,
                    }),
                }
            },
        )
}

/// A config line, and how it was damaged (if it was).
#[derive(Debug, Clone)]
enum Damage {
    None,
    /// One character removed, replaced or inserted at this fraction of the line.
    Char {
        at: f64,
        kind: u8,
        with: char,
    },
    /// One field replaced by another JSON value.
    Field {
        field: usize,
        value: serde_json::Value,
    },
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        2 => Just(Damage::None),
        1 => (0.0..1.0, 0u8..3, any::<char>()).prop_map(|(at, kind, with)| Damage::Char { at, kind, with }),
        1 => (0usize..9, prop_oneof![
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            "[ -~]{0,12}".prop_map(serde_json::Value::from),
            Just(serde_json::Value::Null),
        ]).prop_map(|(field, value)| Damage::Field { field, value }),
    ]
}

fn damaged(config: &ChildConfig, how: &Damage) -> String {
    let line = config.to_line();
    match how {
        Damage::None => line,
        Damage::Char { at, kind, with } => {
            let chars: Vec<char> = line.chars().collect();
            let i = ((chars.len() as f64 * at) as usize).min(chars.len() - 1);
            let mut out: Vec<char> = chars.clone();
            match kind {
                0 => {
                    out.remove(i);
                }
                1 => out[i] = *with,
                _ => out.insert(i, *with),
            }
            out.into_iter().collect()
        }
        Damage::Field { field, value } => {
            let mut doc = serde_json::to_value(config).unwrap();
            let object = doc.as_object_mut().unwrap();
            let key = object.keys().nth(field % object.len()).unwrap().clone();
            object.insert(key, value.clone());
            doc.to_string()
        }
    }
}

/// What the `handshake_config` fuzz target does, with a fixed case count:
/// any line the child reads is parsed or refused, never panicked on, and an
/// accepted one survives its own line form. The lines are valid configs,
/// some of them damaged, so that both outcomes happen often; the test counts
/// them, so it cannot pass with one branch never taken.
#[test]
fn any_config_line_is_parsed_or_refused() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let parsed = std::cell::Cell::new(0u32);
    let refused = std::cell::Cell::new(0u32);
    runner
        .run(&(valid_config(), damage()), |(config, how)| {
            let line = damaged(&config, &how);
            match ChildConfig::parse(&line) {
                Ok(read) => {
                    parsed.set(parsed.get() + 1);
                    prop_assert_eq!(
                        ChildConfig::parse(&read.to_line()).unwrap().to_line(),
                        read.to_line()
                    );
                    if matches!(how, Damage::None) {
                        prop_assert_eq!(read, config);
                    }
                }
                Err(_) => {
                    refused.set(refused.get() + 1);
                    prop_assert!(
                        !matches!(how, Damage::None),
                        "a valid config was refused: {}",
                        line
                    );
                }
            }
            let _ = ChildReport::parse(&line);
            Ok(())
        })
        .unwrap();
    let (parsed, refused) = (parsed.get(), refused.get());
    assert!(
        parsed >= 128 && refused >= 64,
        "parsed {parsed}, refused {refused}: one branch barely ran"
    );
}
