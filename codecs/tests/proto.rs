//! The committed `proto/ipc_bench.proto` describes exactly what the prost
//! derives put on the wire: compiled in pure Rust (protox), it reads every
//! derived encoding with no unknown field, back to the same value, and its
//! field names are the messages' own.
#![cfg(feature = "protobuf")]

use codecs::shapes::{
    LogBatch, OrderKind, OrderRequest, PingMessage, PongMessage, ShapeMessage, Telemetry,
};
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use std::collections::BTreeSet;

fn pool() -> DescriptorPool {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/proto");
    let files = protox::compile(["ipc_bench.proto"], [dir]).expect("the .proto compiles");
    DescriptorPool::from_file_descriptor_set(files).expect("a valid descriptor set")
}

fn descriptor(pool: &DescriptorPool, name: &str) -> MessageDescriptor {
    pool.get_message_by_name(&format!("ipc_bench.{name}"))
        .unwrap_or_else(|| panic!("the .proto has no message {name}"))
}

/// `value`'s derived encoding, read with the schema: every field known, and
/// the value it names is `value` itself.
fn reads_back<T>(pool: &DescriptorPool, name: &str, value: &T)
where
    T: prost::Message + Default + PartialEq + std::fmt::Debug,
{
    let bytes = value.encode_to_vec();
    let dynamic = DynamicMessage::decode(descriptor(pool, name), bytes.as_slice())
        .unwrap_or_else(|e| panic!("{name}: the schema cannot read the derived encoding: {e}"));
    assert_no_unknown_fields(name, &dynamic);
    let back: T = dynamic.transcode_to().expect("transcoding");
    assert_eq!(&back, value, "{name}: the schema reads another value");
}

fn assert_no_unknown_fields(name: &str, message: &DynamicMessage) {
    assert_eq!(
        message.unknown_fields().count(),
        0,
        "{name}: fields the schema does not know"
    );
    for (field, value) in message.fields() {
        let nested: Vec<&prost_reflect::Value> = match value {
            prost_reflect::Value::List(items) => items.iter().collect(),
            other => vec![other],
        };
        for item in nested {
            if let prost_reflect::Value::Message(inner) = item {
                assert_no_unknown_fields(&format!("{name}.{}", field.name()), inner);
            }
        }
    }
}

/// The schema's field names (a oneof by its own name) are the serde field
/// names of `value`'s type.
fn same_names<T: serde::Serialize>(pool: &DescriptorPool, name: &str, value: &T) {
    let message = descriptor(pool, name);
    let mut schema: BTreeSet<String> = message
        .fields()
        // proto3 `optional` wraps a field in a synthetic oneof: still a field.
        .filter(|f| f.containing_oneof().is_none_or(|o| o.is_synthetic()))
        .map(|f| f.name().to_string())
        .collect();
    schema.extend(
        message
            .oneofs()
            .filter(|o| !o.is_synthetic())
            .map(|o| o.name().to_string()),
    );
    let rust: BTreeSet<String> = match serde_json::to_value(value).unwrap() {
        serde_json::Value::Object(fields) => fields.keys().cloned().collect(),
        other => panic!("{name}: not a struct: {other}"),
    };
    assert_eq!(schema, rust, "{name}: field names differ");
}

fn header<M: ShapeMessage>(payload: usize) -> M {
    let mut m = M::generate(payload);
    m.set_header(u64::MAX - 1, 1_234_567_890);
    m
}

#[test]
fn the_committed_schema_reads_every_derived_encoding() {
    let pool = pool();
    for payload in [0, 32, 4096] {
        let ping: PingMessage = header(payload);
        reads_back(&pool, "PingMessage", &ping);
        let pong = PongMessage {
            sender_id: ping.receiver_id.clone(),
            receiver_id: ping.sender_id.clone(),
            seq: ping.seq,
            ping_sent_at_ns: ping.sent_at_ns,
            payload: ping.payload.clone(),
        };
        reads_back(&pool, "PongMessage", &pong);
        reads_back(&pool, "LogBatch", &header::<LogBatch>(payload));
        reads_back(&pool, "Telemetry", &header::<Telemetry>(payload));
        reads_back(&pool, "OrderRequest", &header::<OrderRequest>(payload));
    }
}

#[test]
fn the_committed_schema_names_the_fields_as_the_types_do() {
    let pool = pool();
    let log: LogBatch = header(1000);
    let telemetry: Telemetry = header(1000);
    let order: OrderRequest = header(4000);
    same_names(&pool, "PingMessage", &header::<PingMessage>(8));
    same_names(&pool, "LogBatch", &log);
    same_names(&pool, "LogRecord", &log.records[0]);
    same_names(&pool, "Telemetry", &telemetry);
    same_names(&pool, "OrderRequest", &order);
    same_names(&pool, "Client", order.client.as_ref().unwrap());
    same_names(&pool, "Order", &order.orders[0]);
    let price = order
        .orders
        .iter()
        .find_map(|o| match &o.kind {
            Some(OrderKind::Limit(price)) => Some(price),
            _ => None,
        })
        .expect("a limit order");
    same_names(&pool, "Price", price);
}
