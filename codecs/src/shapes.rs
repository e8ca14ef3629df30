//! The messages ipc-bench sends, one type per shape, and their deterministic
//! generators.
//!
//! * [`PingMessage`] / [`PongMessage`]: the small ping (`structured`): two ids,
//!   two numbers and a string payload, the shape on which text formats look best.
//! * [`LogBatch`] (`log`): string-heavy, a batch of access-log records.
//! * [`Telemetry`] (`numeric`): number-heavy, a sensor frame with `f64`/`f32`
//!   fields, vectors of `f32` samples and an enum state with data.
//! * [`OrderRequest`] (`nested`): structure-heavy, nested structs, a `Vec` of
//!   structs, `Option`s, a tagged enum with data and a string-keyed map.
//!
//! Every type derives what every codec needs, each derive behind its codec's
//! feature, so a build without a codec carries none of its derives. Two
//! protobuf rules shape the types for everyone, and are harmless for the
//! other formats: an enum with data is a `oneof`, which protobuf can only
//! hold in an `Option`, and a field-less enum would have to be an `i32`, so
//! every enum here carries data. The committed `proto/ipc_bench.proto`
//! describes the same messages for readers in other languages.
//!
//! No shape carries a NaN: a NaN is not equal to itself, so the echo check
//! that verifies every round trip could never pass.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Declares a message struct with the derives of every compiled codec.
macro_rules! message_struct {
    ($item:item) => {
        #[derive(Clone, PartialEq, Serialize, Deserialize)]
        #[cfg_attr(not(feature = "protobuf"), derive(Debug))]
        #[cfg_attr(feature = "protobuf", derive(prost::Message))]
        #[cfg_attr(feature = "bitcode", derive(bitcode::Encode, bitcode::Decode))]
        #[cfg_attr(
            feature = "rkyv",
            derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)
        )]
        $item
    };
}

/// Declares an enum with data (a protobuf `oneof`) with the derives of every
/// compiled codec.
macro_rules! message_enum {
    ($item:item) => {
        #[derive(Clone, PartialEq, Serialize, Deserialize)]
        #[cfg_attr(not(feature = "protobuf"), derive(Debug))]
        #[cfg_attr(feature = "protobuf", derive(prost::Oneof))]
        #[cfg_attr(feature = "bitcode", derive(bitcode::Encode, bitcode::Decode))]
        #[cfg_attr(
            feature = "rkyv",
            derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)
        )]
        $item
    };
}

/// [`ShapeMessage`]'s header accessors for a type whose header is its
/// `seq` and `sent_at_ns` fields (every shape's).
macro_rules! header_fields {
    () => {
        fn header(&self) -> (u64, u64) {
            (self.seq, self.sent_at_ns)
        }

        fn set_header(&mut self, seq: u64, sent_at_ns: u64) {
            self.seq = seq;
            self.sent_at_ns = sent_at_ns;
        }
    };
}

/// A message with the header the ping-pong engine needs, and a
/// deterministic body sized by a payload figure.
pub trait ShapeMessage: crate::Message + Clone + PartialEq + std::fmt::Debug + Send {
    /// The shape's name (`--complexity NAME`).
    const SHAPE: &'static str;

    /// The message for `payload_bytes`, the same on every call and in every
    /// process (a fixed seed), header zero.
    fn generate(payload_bytes: usize) -> Self;

    /// `(seq, sent_at_ns)`.
    fn header(&self) -> (u64, u64);

    fn set_header(&mut self, seq: u64, sent_at_ns: u64);
}

/// The seed of every generator: the same bytes for every codec, every run.
pub const SHAPE_SEED: u64 = 0x1bc0_2026_1128;

/// Id the parent puts in every ping, and expects back as the pong's receiver.
pub const PARENT_ID: &str = "parent";
/// Id the child puts in every pong, and expects as the ping's receiver.
pub const CHILD_ID: &str = "child";

message_struct! {
    /// The parent's request in the `structured` shape.
    pub struct PingMessage {
        #[cfg_attr(feature = "protobuf", prost(string, tag = "1"))]
        pub sender_id: String,
        #[cfg_attr(feature = "protobuf", prost(string, tag = "2"))]
        pub receiver_id: String,
        /// Increases by one every round trip; the child must echo it.
        #[cfg_attr(feature = "protobuf", prost(uint64, tag = "3"))]
        pub seq: u64,
        /// When the parent sent it, in nanoseconds since the parent's run started.
        #[cfg_attr(feature = "protobuf", prost(uint64, tag = "4"))]
        pub sent_at_ns: u64,
        #[cfg_attr(feature = "protobuf", prost(string, tag = "5"))]
        pub payload: String,
    }
}

message_struct! {
    /// The child's answer to one [`PingMessage`].
    pub struct PongMessage {
        #[cfg_attr(feature = "protobuf", prost(string, tag = "1"))]
        pub sender_id: String,
        #[cfg_attr(feature = "protobuf", prost(string, tag = "2"))]
        pub receiver_id: String,
        /// The ping's `seq`, echoed.
        #[cfg_attr(feature = "protobuf", prost(uint64, tag = "3"))]
        pub seq: u64,
        /// The ping's `sent_at_ns`, echoed.
        #[cfg_attr(feature = "protobuf", prost(uint64, tag = "4"))]
        pub ping_sent_at_ns: u64,
        /// The ping's payload, echoed.
        #[cfg_attr(feature = "protobuf", prost(string, tag = "5"))]
        pub payload: String,
    }
}

/// The `structured` payload: `len` printable ASCII bytes that vary along the
/// string, so a transport that drops, repeats or reorders bytes is caught.
pub fn make_payload(len: usize) -> String {
    (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect()
}

impl ShapeMessage for PingMessage {
    const SHAPE: &'static str = "structured";

    fn generate(payload_bytes: usize) -> Self {
        PingMessage {
            sender_id: PARENT_ID.to_string(),
            receiver_id: CHILD_ID.to_string(),
            seq: 0,
            sent_at_ns: 0,
            payload: make_payload(payload_bytes),
        }
    }

    header_fields!();
}

// ---------------------------------------------------------------- log

message_struct! {
    /// `log`: a batch of access-log records.
    pub struct LogBatch {
        #[cfg_attr(feature = "protobuf", prost(uint64, tag = "1"))]
        pub seq: u64,
        #[cfg_attr(feature = "protobuf", prost(uint64, tag = "2"))]
        pub sent_at_ns: u64,
        #[cfg_attr(feature = "protobuf", prost(message, repeated, tag = "3"))]
        pub records: Vec<LogRecord>,
    }
}

message_struct! {
    /// One line of a web server's access log.
    pub struct LogRecord {
        /// Client address, dotted quad.
        #[cfg_attr(feature = "protobuf", prost(string, tag = "1"))]
        pub address: String,
        /// RFC 1413 identity, almost always `-`.
        #[cfg_attr(feature = "protobuf", prost(string, tag = "2"))]
        pub identity: String,
        #[cfg_attr(feature = "protobuf", prost(string, tag = "3"))]
        pub user: String,
        /// `28/Nov/2026:11:32:30 +0000`.
        #[cfg_attr(feature = "protobuf", prost(string, tag = "4"))]
        pub timestamp: String,
        /// `GET /path HTTP/1.1`.
        #[cfg_attr(feature = "protobuf", prost(string, tag = "5"))]
        pub request: String,
        #[cfg_attr(feature = "protobuf", prost(uint32, tag = "6"))]
        pub status: u32,
        #[cfg_attr(feature = "protobuf", prost(uint64, tag = "7"))]
        pub size: u64,
    }
}

/// Payload bytes per log record: about what one record's fields hold.
pub const LOG_BYTES_PER_RECORD: usize = 80;

const USERS: &[&str] = &["-", "alice", "bob", "carol", "svc-batch", "dave"];
const PATHS: &[&str] = &[
    "/",
    "/index.html",
    "/api/v1/orders",
    "/api/v1/items/search",
    "/static/app.min.js",
    "/healthz",
];
const METHODS: &[&str] = &["GET", "GET", "GET", "POST", "PUT", "DELETE"];
const STATUSES: &[u32] = &[200, 200, 200, 201, 304, 404, 500];
const MONTHS: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn pick<'a, T>(rng: &mut fastrand::Rng, from: &'a [T]) -> &'a T {
    &from[rng.usize(..from.len())]
}

impl ShapeMessage for LogBatch {
    const SHAPE: &'static str = "log";

    fn generate(payload_bytes: usize) -> Self {
        let mut rng = fastrand::Rng::with_seed(SHAPE_SEED ^ 1);
        let count = (payload_bytes / LOG_BYTES_PER_RECORD).max(1);
        let records = (0..count)
            .map(|i| {
                let second = i % 60;
                let minute = (i / 60) % 60;
                LogRecord {
                    address: format!(
                        "{}.{}.{}.{}",
                        rng.u8(1..=223),
                        rng.u8(..),
                        rng.u8(..),
                        rng.u8(1..=254)
                    ),
                    identity: "-".to_string(),
                    user: pick(&mut rng, USERS).to_string(),
                    timestamp: format!(
                        "{:02}/{}/2026:{:02}:{minute:02}:{second:02} +0000",
                        rng.u8(1..=28),
                        pick(&mut rng, MONTHS),
                        rng.u8(..24),
                    ),
                    request: format!(
                        "{} {}?page={} HTTP/1.1",
                        pick(&mut rng, METHODS),
                        pick(&mut rng, PATHS),
                        rng.u16(..1000)
                    ),
                    status: *pick(&mut rng, STATUSES),
                    size: rng.u64(..1 << 20),
                }
            })
            .collect();
        LogBatch {
            seq: 0,
            sent_at_ns: 0,
            records,
        }
    }

    header_fields!();
}

// ---------------------------------------------------------------- numeric

message_struct! {
    /// `numeric`: one frame of a sensor's telemetry.
    pub struct Telemetry {
        #[cfg_attr(feature = "protobuf", prost(uint64, tag = "1"))]
        pub seq: u64,
        #[cfg_attr(feature = "protobuf", prost(uint64, tag = "2"))]
        pub sent_at_ns: u64,
        #[cfg_attr(feature = "protobuf", prost(uint32, tag = "3"))]
        pub sensor_id: u32,
        /// When the frame was captured, nanoseconds since the Unix epoch.
        #[cfg_attr(feature = "protobuf", prost(uint64, tag = "4"))]
        pub captured_at_ns: u64,
        #[cfg_attr(feature = "protobuf", prost(double, tag = "5"))]
        pub temperature_c: f64,
        #[cfg_attr(feature = "protobuf", prost(double, tag = "6"))]
        pub pressure_kpa: f64,
        #[cfg_attr(feature = "protobuf", prost(float, tag = "7"))]
        pub gain: f32,
        #[cfg_attr(feature = "protobuf", prost(oneof = "SensorState", tags = "8, 9, 10"))]
        pub state: Option<SensorState>,
        /// Equally spaced readings; most of the frame.
        #[cfg_attr(feature = "protobuf", prost(float, repeated, tag = "11"))]
        pub samples: Vec<f32>,
        /// Per-band calibration, one for every 64 samples.
        #[cfg_attr(feature = "protobuf", prost(float, repeated, tag = "12"))]
        pub calibration: Vec<f32>,
    }
}

message_enum! {
    /// What the sensor reports about itself.
    pub enum SensorState {
        /// Running; seconds since start.
        #[cfg_attr(feature = "protobuf", prost(uint64, tag = "8"))]
        Running(u64),
        /// Degraded; the fraction of channels still good.
        #[cfg_attr(feature = "protobuf", prost(float, tag = "9"))]
        Degraded(f32),
        /// Faulted; a fault code.
        #[cfg_attr(feature = "protobuf", prost(uint32, tag = "10"))]
        Fault(u32),
    }
}

/// Payload bytes per `f32` sample.
pub const NUMERIC_BYTES_PER_SAMPLE: usize = 4;

impl ShapeMessage for Telemetry {
    const SHAPE: &'static str = "numeric";

    fn generate(payload_bytes: usize) -> Self {
        let mut rng = fastrand::Rng::with_seed(SHAPE_SEED ^ 2);
        let count = (payload_bytes / NUMERIC_BYTES_PER_SAMPLE).max(1);
        let samples = (0..count)
            .map(|i| (i as f32 * 0.05).sin() * 3.5 + rng.f32() * 0.1 - 0.05)
            .collect();
        let calibration = (0..count.div_ceil(64))
            .map(|_| 1.0 + (rng.f32() - 0.5) * 0.02)
            .collect();
        let state = match rng.u8(..3) {
            0 => SensorState::Running(rng.u64(..1 << 24)),
            1 => SensorState::Degraded(rng.f32()),
            _ => SensorState::Fault(rng.u32(..512)),
        };
        Telemetry {
            seq: 0,
            sent_at_ns: 0,
            sensor_id: rng.u32(..10_000),
            captured_at_ns: 1_795_000_000_000_000_000 + rng.u64(..1 << 40),
            temperature_c: 18.0 + rng.f64() * 12.0,
            pressure_kpa: 101.325 + (rng.f64() - 0.5) * 4.0,
            gain: 0.5 + rng.f32(),
            state: Some(state),
            samples,
            calibration,
        }
    }

    header_fields!();
}

// ---------------------------------------------------------------- nested

message_struct! {
    /// `nested`: an RPC request that places orders.
    pub struct OrderRequest {
        #[cfg_attr(feature = "protobuf", prost(uint64, tag = "1"))]
        pub seq: u64,
        #[cfg_attr(feature = "protobuf", prost(uint64, tag = "2"))]
        pub sent_at_ns: u64,
        #[cfg_attr(feature = "protobuf", prost(message, optional, tag = "3"))]
        pub client: Option<Client>,
        /// Request metadata, as an RPC framework carries it.
        #[cfg_attr(feature = "protobuf", prost(btree_map = "string, string", tag = "4"))]
        pub headers: BTreeMap<String, String>,
        #[cfg_attr(feature = "protobuf", prost(message, repeated, tag = "5"))]
        pub orders: Vec<Order>,
        #[cfg_attr(feature = "protobuf", prost(uint32, optional, tag = "6"))]
        pub deadline_ms: Option<u32>,
    }
}

message_struct! {
    /// Who sends the request.
    pub struct Client {
        #[cfg_attr(feature = "protobuf", prost(string, tag = "1"))]
        pub name: String,
        #[cfg_attr(feature = "protobuf", prost(uint64, tag = "2"))]
        pub account: u64,
        #[cfg_attr(feature = "protobuf", prost(string, optional, tag = "3"))]
        pub region: Option<String>,
    }
}

message_struct! {
    /// One order of the request.
    pub struct Order {
        #[cfg_attr(feature = "protobuf", prost(uint64, tag = "1"))]
        pub id: u64,
        #[cfg_attr(feature = "protobuf", prost(string, tag = "2"))]
        pub symbol: String,
        #[cfg_attr(feature = "protobuf", prost(uint32, tag = "3"))]
        pub quantity: u32,
        #[cfg_attr(feature = "protobuf", prost(bool, tag = "4"))]
        pub buy: bool,
        #[cfg_attr(feature = "protobuf", prost(oneof = "OrderKind", tags = "5, 6, 7"))]
        pub kind: Option<OrderKind>,
    }
}

message_struct! {
    /// A fixed-point price: `units + nanos / 1e9`.
    pub struct Price {
        #[cfg_attr(feature = "protobuf", prost(int64, tag = "1"))]
        pub units: i64,
        #[cfg_attr(feature = "protobuf", prost(int32, tag = "2"))]
        pub nanos: i32,
    }
}

message_enum! {
    /// How an order executes.
    pub enum OrderKind {
        /// At market, with a slippage limit in basis points.
        #[cfg_attr(feature = "protobuf", prost(uint32, tag = "5"))]
        Market(u32),
        /// At a limit price.
        #[cfg_attr(feature = "protobuf", prost(message, tag = "6"))]
        Limit(Price),
        /// Replaces the order with this id.
        #[cfg_attr(feature = "protobuf", prost(uint64, tag = "7"))]
        Replace(u64),
    }
}

/// Payload bytes per order: about what one order's fields hold.
pub const NESTED_BYTES_PER_ORDER: usize = 40;

const SYMBOLS: &[&str] = &["ACME", "GLOBEX", "INITECH", "UMBRELLA", "HOOLI", "VANDELAY"];
const REGIONS: &[&str] = &["eu-west", "us-east", "ap-south"];

impl ShapeMessage for OrderRequest {
    const SHAPE: &'static str = "nested";

    fn generate(payload_bytes: usize) -> Self {
        let mut rng = fastrand::Rng::with_seed(SHAPE_SEED ^ 3);
        let count = (payload_bytes / NESTED_BYTES_PER_ORDER).max(1);
        let orders = (0..count)
            .map(|i| Order {
                id: 1_000_000 + i as u64,
                symbol: pick(&mut rng, SYMBOLS).to_string(),
                quantity: rng.u32(1..10_000),
                buy: rng.bool(),
                kind: match rng.u8(..4) {
                    0 => None,
                    1 => Some(OrderKind::Market(rng.u32(..50))),
                    2 => Some(OrderKind::Limit(Price {
                        units: rng.i64(1..5_000),
                        nanos: rng.i32(0..1_000_000_000),
                    })),
                    _ => Some(OrderKind::Replace(rng.u64(..1_000_000))),
                },
            })
            .collect();
        let headers = [
            ("content-type", "application/x-order"),
            ("trace-id", "4bf92f3577b34da6a3ce929d0e0e4736"),
            ("user-agent", "ipc-bench/1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        OrderRequest {
            seq: 0,
            sent_at_ns: 0,
            client: Some(Client {
                name: "desk-7".to_string(),
                account: rng.u64(..1 << 32),
                region: rng.bool().then(|| pick(&mut rng, REGIONS).to_string()),
            }),
            headers,
            orders,
            deadline_ms: Some(250),
        }
    }

    header_fields!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deterministic_and_sized<M: ShapeMessage>() {
        assert_eq!(M::generate(1000), M::generate(1000), "{}", M::SHAPE);
        let small = serde_json::to_vec(&M::generate(32)).unwrap().len();
        let large = serde_json::to_vec(&M::generate(64 * 1024)).unwrap().len();
        // The body grows with the payload figure (within a small factor of it).
        assert!(
            large > 32 * 1024 && large < 8 * 64 * 1024,
            "{} {large}",
            M::SHAPE
        );
        assert!(small < 1024, "{} {small}", M::SHAPE);
        let mut m = M::generate(32);
        m.set_header(7, 9);
        assert_eq!(m.header(), (7, 9));
    }

    #[test]
    fn every_shape_is_deterministic_and_grows_with_the_payload() {
        deterministic_and_sized::<PingMessage>();
        deterministic_and_sized::<LogBatch>();
        deterministic_and_sized::<Telemetry>();
        deterministic_and_sized::<OrderRequest>();
    }

    #[test]
    fn the_shapes_hold_what_they_promise() {
        let t = Telemetry::generate(4096);
        assert_eq!(t.samples.len(), 1024);
        assert!(t.samples.iter().all(|s| s.is_finite()));
        let o = OrderRequest::generate(4096);
        assert!(o.orders.iter().any(|o| o.kind.is_none()));
        assert!(o
            .orders
            .iter()
            .any(|o| matches!(o.kind, Some(OrderKind::Limit(_)))));
        assert_eq!(LogBatch::generate(800).records.len(), 10);
    }
}
