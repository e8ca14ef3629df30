//! A team's own messages from a file of JSON lines, driven as a user drives
//! them: through two transports and the codecs that can carry a value
//! without a Rust type, then compared and made into a page; and every bad
//! file or codec refused with one line and exit 2, leaving nothing behind.
//! (A team's own Rust type is the template crate's, built and run outside
//! the workspace by `.ci/own-message`.)

mod common;

use common::{cmd, leftovers, IPC_BENCH};
use ipc_bench::record::BenchResult;
use std::path::Path;

/// Sixty language-server messages: requests, notifications and results,
/// nested objects and arrays, nulls, negative and fractional numbers,
/// non-ASCII text, 75 to 885 bytes a line.
const MESSAGES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lsp-messages.jsonl");

fn load(path: &Path) -> BenchResult {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_file_of_json_messages_goes_through_two_transports_and_the_schemaless_codecs() {
    let dir = tempfile::tempdir().unwrap();
    let assert = cmd(IPC_BENCH)
        .args(["matrix", "--transports", "spin,unix-socket"])
        .args(["--codecs", "json,msgpack,postcard", "--messages", MESSAGES])
        .args(["--patterns", "ping-pong,stream", "--duration", "0.1"])
        .args(["--warmup", "0.02", "--rounds", "2", "--max-rounds", "2"])
        .arg("--results-dir")
        .arg(dir.path())
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    // postcard is left out with its reason, once.
    assert_eq!(stderr.matches("without postcard").count(), 1, "{stderr}");
    assert!(stderr.contains("have no Rust type"), "{stderr}");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name == "matrix-summary.json" {
            continue;
        }
        let result = load(&path);
        assert!(result.verified, "{name}");
        assert_eq!(result.complexity.name(), "lsp-messages", "{name}");
        assert!(
            ["json", "msgpack"].contains(&result.codec.as_str()),
            "{name}"
        );
        assert!(result.round_trips > 0, "{name}");
        // The samples differ in size: smallest, median and largest, each
        // with the 16-byte header, the largest line being 885 bytes of JSON.
        let spread = result.wire_spread.expect("own messages record their sizes");
        assert!(
            spread.min < spread.median && spread.median < spread.max,
            "{name}: {spread:?}"
        );
        assert!(
            spread.min > 16 && spread.max < 900 + 16,
            "{name}: {spread:?}"
        );
        seen.push(format!("{}-{}", result.transport, result.codec));
    }
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen,
        [
            "spin-json",
            "spin-msgpack",
            "unix-socket-json",
            "unix-socket-msgpack"
        ]
    );
    // Results of a shape this binary knows only from the files read back.
    cmd(IPC_BENCH)
        .arg("compare")
        .arg(dir.path())
        .arg(dir.path())
        .assert()
        .success();
    cmd(IPC_BENCH)
        .arg("report")
        .arg(dir.path())
        .assert()
        .success();
    let page = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(page.contains("lsp-messages"));
}

/// Runs `ipc-bench` with `args`, expects exit 2 with `expected` in its one
/// line of error, no result file, and nothing of its left behind (no
/// shared-memory region, socket directory or iceoryx2 node of its pid).
fn refused(args: &[&str], expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(IPC_BENCH)
        .args(args)
        .arg("--results-dir")
        .arg(dir.path())
        .env("ROUNDS", "1")
        .env_remove("CODEC")
        .env_remove("TRANSPORT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    assert_eq!(leftovers(&[pid]), Vec::<String>::new(), "{args:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn bad_message_files_and_codecs_are_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    };
    let missing = dir.path().join("missing.jsonl");
    let missing = missing.to_string_lossy();
    refused(&["run", "--messages", &missing], "cannot read it");
    let empty = write("empty.jsonl", "\n  \n");
    refused(&["run", "--messages", &empty], "no messages in it");
    let broken = write("broken.jsonl", "{\"a\": 1}\n[1, 2]\n{\"b\": \n");
    refused(&["matrix", "--messages", &broken], "line 3 is not JSON");
    refused(
        &["run", "--codec", "postcard", "--messages", MESSAGES],
        "invalid value 'postcard' for --codec/CODEC: a file's messages have no Rust type",
    );
    refused(
        &["matrix", "--codecs", "postcard", "--messages", MESSAGES],
        "no codec of this matrix carries its shapes",
    );
    // One message of 70,000 bytes: more than a UDP datagram holds.
    let big = write(
        "big.jsonl",
        &format!(
            "{{\"small\": 1}}\n{{\"text\": \"{}\"}}\n",
            "x".repeat(70_000)
        ),
    );
    for codec in ["json", "msgpack", "cbor"] {
        refused(
            &[
                "run",
                "--transport",
                "udp",
                "--codec",
                codec,
                "--messages",
                &big,
            ],
            "bytes with its header, does not fit the udp transport's",
        );
    }
}
