//! Writes a starting corpus for the fuzz targets: a valid ping and pong in
//! every message format (prefixed with the byte that selects the format, as
//! `message_decode` reads it) and a valid handshake config, so the fuzzer
//! starts from inputs that get past the first byte of every decoder.
//!
//! `cargo +nightly run --manifest-path fuzz/Cargo.toml --bin seed_corpus`

use ipc_bench::measure::dispatch::{boxed_format, every_format};
use ipc_bench::measure::handshake::{ChildConfig, PROTOCOL_VERSION};
use std::path::Path;

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("creating the corpus directory");
    std::fs::write(dir.join(name), bytes).expect("writing a seed");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (selector, (complexity, codec)) in every_format().into_iter().enumerate() {
        let mut format = boxed_format(complexity, codec, 32).expect("a compiled codec");
        let (mut ping, mut pong) = (Vec::new(), Vec::new());
        // seq 1 sent at 1: what message_decode checks a pong against.
        format
            .encode_ping(1, 1, &mut ping)
            .expect("encoding a ping");
        format
            .answer_ping(&ping, &mut pong)
            .expect("answering a ping");
        for (kind, message) in [("ping", &ping), ("pong", &pong)] {
            let mut input = vec![selector as u8];
            input.extend_from_slice(message);
            write(
                &root.join("message_decode"),
                &format!("{codec}-{complexity}-{kind}"),
                &input,
            );
        }
    }
    let config = serde_json::json!({
        "protocol_version": PROTOCOL_VERSION,
        "transport": "raw-sync",
        "codec": "json",
        "complexity": "structured",
        "payload_bytes": 32,
        "max_message_bytes": 200,
        "transport_config": {"wait": "spin"},
        "transport_setup": {"os_id": "/ipc-bench-1-rs-abc123", "slot_capacity": 200, "wait": "spin"},
        "parent_pid": 1,
        "child_core": 0,
    });
    let line = config.to_string();
    ChildConfig::parse(&line).expect("the seed config is valid");
    write(&root.join("handshake_config"), "config", line.as_bytes());
    write(
        &root.join("handshake_config"),
        "report-done",
        br#"{"status":"done","round_trips":10,"cpu_secs":0.5}"#,
    );
    // The setup path of handshake_config: a label selector, an even byte
    // (sizes replace the real setup's numbers), then one size as 8 bytes.
    for selector in 0u8..4 {
        for size in [0u64, 200, 1 << 40, u64::MAX / 2] {
            let mut input = vec![selector, 0];
            input.extend_from_slice(&size.to_le_bytes());
            write(
                &root.join("handshake_config"),
                &format!("setup-{selector}-{size}"),
                &input,
            );
        }
    }
    println!("seeds written under {}", root.display());
}
