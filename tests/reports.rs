//! matrix, compare and plot, driven as a user would.

mod common;

use assert_cmd::Command;
use common::{stdout_of, IPC_BENCH};
use ipc_bench::result::BenchResult;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `ipc-bench` without the user's settings, with room for a small matrix.
fn cmd() -> Command {
    let mut c = common::cmd(IPC_BENCH);
    c.env_remove("NO_COLOR").timeout(Duration::from_secs(120));
    c
}

/// A short matrix over two transports, json and raw strings, into `dir`.
fn small_matrix(dir: &Path) -> String {
    stdout_of(
        cmd()
            .args([
                "matrix",
                "--transports",
                "ipcc,raw-sync",
                "--codecs",
                "json",
            ])
            .args([
                "--duration",
                "0.2",
                "--warmup",
                "0.05",
                "--reference",
                "ipcc",
                "--results-dir",
            ])
            .arg(dir),
    )
}

#[test]
fn matrix_runs_every_case_and_prints_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = small_matrix(dir.path());
    for file in [
        "ipcc-json-structured.json",
        "ipcc-none-raw-string.json",
        "raw-sync-spin-json-structured.json",
        "raw-sync-spin-none-raw-string.json",
        "matrix-summary.json",
    ] {
        assert!(
            dir.path().join(file).exists(),
            "{file} missing; stdout:\n{out}"
        );
    }
    assert!(
        out.contains("vs fastest") && out.contains("vs ipcc"),
        "{out}"
    );
    assert_eq!(out.matches("raw-sync-spin").count(), 2, "{out}");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("matrix-summary.json")).unwrap(),
    )
    .unwrap();
    let cases = summary["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    assert!(cases.iter().all(|c| c["status"] == "ok"), "{summary}");
}

#[test]
fn a_failing_case_is_recorded_and_the_matrix_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd()
        .args([
            "matrix",
            "--transports",
            "shared-mem-queue,ipcc",
            "--codecs",
            "json",
            "--complexities",
            "structured",
        ])
        .args(["--payload-bytes", "4000", "--queue-region-bytes", "1024"])
        .args(["--duration", "0.2", "--warmup", "0.05", "--results-dir"])
        .arg(dir.path())
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("failed: shared-mem-queue-json-structured-4000B"),
        "{stderr}"
    );
    assert!(
        dir.path().join("ipcc-json-structured-4000B.json").exists(),
        "the matrix stopped at the failure"
    );
    let summary = std::fs::read_to_string(dir.path().join("matrix-summary.json")).unwrap();
    assert!(
        summary.contains("\"failed\"")
            && summary.contains("SHARED_MEM_QUEUE_SHARED_REGION_LEN_BYTES"),
        "{summary}"
    );
}

/// Writes `result` with its throughput scaled by `factor` into `dir`.
fn scaled_copy(result: &BenchResult, factor: f64, dir: &Path) -> PathBuf {
    let mut r = result.clone();
    r.round_trips_per_sec *= factor;
    r.write_to_dir(dir).unwrap()
}

#[test]
fn compare_tables_in_every_format_and_two_sets_with_verdicts() {
    let a = tempfile::tempdir().unwrap();
    small_matrix(a.path());
    let single = stdout_of(cmd().args(["compare", "--format", "csv"]).arg(a.path()));
    assert_eq!(single.lines().count(), 5, "{single}");
    // Rows of a debug build (as tests are) carry a Build column.
    let build = if cfg!(debug_assertions) { "Build," } else { "" };
    assert!(
        single.starts_with(&format!(
            "Transport,Codec,Complexity,Payload,Placement,{build}Round trips/s"
        )),
        "{single}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout_of(
        cmd().args(["compare", "--format", "json"]).arg(a.path()),
    ))
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 4);
    assert!(json[0]["Round trips/s"].as_f64().unwrap() > 0.0);

    let pivot = stdout_of(
        cmd()
            .args(["compare", "--by", "codec", "--format", "markdown"])
            .arg(a.path()),
    );
    assert!(
        pivot.contains("| json round trips/s") && pivot.contains("none round trips/s"),
        "{pivot}"
    );

    // B: one case 20% faster, one 20% slower, one within the threshold, one missing.
    let b = tempfile::tempdir().unwrap();
    let loaded = ipc_bench::result::load(&[a.path().to_path_buf()]).unwrap();
    let factors = [1.2, 0.8, 1.02];
    for (l, factor) in loaded.iter().zip(factors) {
        scaled_copy(&l.result, factor, b.path());
    }
    let md = b.path().join("out.md");
    let pair = stdout_of(
        cmd()
            .args(["compare", "--format", "csv", "--export-markdown"])
            .arg(&md)
            .arg(a.path())
            .arg(b.path()),
    );
    for verdict in ["faster", "slower", "no change", "only in A"] {
        assert_eq!(pair.matches(verdict).count(), 1, "{verdict}: {pair}");
    }
    let exported = std::fs::read_to_string(&md).unwrap();
    assert!(
        exported.contains("| Verdict") && exported.contains("faster"),
        "{exported}"
    );
    // A wider threshold turns both changes into "no change".
    let wide = stdout_of(
        cmd()
            .args(["compare", "--threshold", "25"])
            .arg(a.path())
            .arg(b.path()),
    );
    assert_eq!(wide.matches("no change").count(), 3, "{wide}");
}

#[test]
fn bad_result_files_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    small_matrix(dir.path());
    let good = dir.path().join("ipcc-json-structured.json");
    let text = std::fs::read_to_string(&good).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "truncated.json",
            text[..text.len() / 2].to_string(),
            "not a valid result file",
        ),
        (
            "corrupt.json",
            "{\"schema_version\": 1, \"transport\": 7}".into(),
            "not a valid result file",
        ),
        (
            "future.json",
            text.replace("\"schema_version\": 1", "\"schema_version\": 99"),
            "newer than this ipc-bench",
        ),
    ];
    for (name, content, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let out = cmd()
            .arg("compare")
            .arg(&path)
            .assert()
            .code(1)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(name) && stderr.contains(expected),
            "{name}: {stderr}"
        );
        // A directory holding it fails the same way.
        let out = cmd()
            .arg("compare")
            .arg(dir.path())
            .assert()
            .code(1)
            .get_output()
            .clone();
        assert!(String::from_utf8_lossy(&out.stderr).contains(name));
        std::fs::remove_file(&path).unwrap();
    }
    let out = cmd()
        .args(["compare", "/no/such/results"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/results"));
}

#[test]
fn an_unverified_result_is_never_shown_as_a_figure() {
    let dir = tempfile::tempdir().unwrap();
    small_matrix(dir.path());
    let path = dir.path().join("ipcc-json-structured.json");
    let mut r = BenchResult::read(&path).unwrap();
    r.verified = false;
    r.round_trips_per_sec = 123_456_789.0;
    std::fs::write(&path, serde_json::to_string(&r).unwrap()).unwrap();
    let out = stdout_of(cmd().args(["compare"]).arg(dir.path()));
    assert!(out.contains("not verified"), "{out}");
    assert!(!out.contains("123,456,789"), "{out}");
}

#[test]
fn plot_writes_labelled_svg_charts() {
    let dir = tempfile::tempdir().unwrap();
    small_matrix(dir.path());
    let out = tempfile::tempdir().unwrap();
    stdout_of(
        cmd()
            .arg("plot")
            .arg(dir.path())
            .arg("--out")
            .arg(out.path()),
    );
    let throughput = std::fs::read_to_string(out.path().join("throughput.svg")).unwrap();
    assert!(throughput.starts_with("<svg"), "not an SVG");
    for text in [
        "Round trips per second",
        "round trips / s",
        "raw-sync-spin",
        "ipcc",
        "json",
        "raw-string",
        "logical cores",
    ] {
        assert!(throughput.contains(text), "throughput.svg lacks {text:?}");
    }
    let latency = std::fs::read_to_string(out.path().join("latency.svg")).unwrap();
    for text in [
        "latency",
        "p50",
        "p99",
        "p99.9",
        "nanoseconds per round trip",
    ] {
        assert!(latency.contains(text), "latency.svg lacks {text:?}");
    }
}

#[test]
fn bad_matrix_and_compare_input_is_a_usage_error() {
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["matrix", "--transports", "ipcc,pigeon"],
            vec!["--transports", "pigeon", "ipcc"],
        ),
        (
            vec!["matrix", "--codecs", "yaml"],
            vec!["--codecs", "yaml", "json"],
        ),
        (
            vec!["matrix", "--reference", "nope"],
            vec!["--reference", "nope", "raw-sync-spin"],
        ),
        (vec!["matrix", "--pin", "cross,left"], vec!["--pin", "left"]),
        (
            vec!["matrix", "--format", "xml"],
            vec!["--format", "xml", "markdown"],
        ),
        (
            vec!["--duration", "0"],
            vec!["--duration", "greater than 0"],
        ),
        (
            vec!["compare", "a", "--threshold", "-3"],
            vec!["--threshold", "-3", "percentage"],
        ),
        (
            vec!["compare", "a", "--by", "transport"],
            vec!["--by", "transport", "codec"],
        ),
        (vec!["compare"], vec!["<A>"]),
        (vec!["plot"], vec!["<INPUTS>"]),
    ];
    for (args, names) in cases {
        let out = cmd().args(&args).assert().code(2).get_output().clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        for name in names {
            assert!(
                stderr.contains(name),
                "{args:?}: {name:?} missing from {stderr}"
            );
        }
    }
}

#[test]
fn a_matrix_can_pin_across_and_on_one_core_in_turn() {
    // Pinning the parent for a `same` case must not leave it unable to run
    // the next `cross` case.
    let dir = tempfile::tempdir().unwrap();
    stdout_of(
        cmd()
            .args([
                "matrix",
                "--transports",
                "ipcc",
                "--codecs",
                "json,json",
                "--complexities",
                "structured",
            ])
            .args(["--pin", "same,cross,same,cross", "--payload-bytes", "32,64"])
            .args(["--duration", "0.1", "--warmup", "0.02", "--results-dir"])
            .arg(dir.path()),
    );
    for name in [
        "ipcc-json-structured-pin-same.json",
        "ipcc-json-structured-pin-cross.json",
        "ipcc-json-structured-64B-pin-same.json",
        "ipcc-json-structured-64B-pin-cross.json",
    ] {
        assert!(dir.path().join(name).exists(), "{name} missing");
    }
}

#[test]
fn every_transport_carries_payloads_from_0_to_1_mib() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout_of(
        cmd()
            .args(["matrix", "--codecs", "json", "--complexities", "structured"])
            .args(["--payload-bytes", "0,1024,65536,1048576", "--format", "csv"])
            .args(["--duration", "0.1", "--warmup", "0.02", "--results-dir"])
            .arg(dir.path()),
    );
    let results = ipc_bench::result::load(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(
        results.len(),
        4 * ipc_bench::transport::TRANSPORTS.len(),
        "{out}"
    );
    for l in &results {
        let r = &l.result;
        assert!(r.verified && r.round_trips > 0, "{}", l.path.display());
        let expected_mb = 2.0 * r.payload_bytes as f64 * r.round_trips_per_sec / 1e6;
        assert!(
            (r.payload_mb_per_sec - expected_mb).abs() <= 1e-6 * expected_mb.max(1.0),
            "{r:?}"
        );
        // Copy-bound sizes carry the machine's memcpy bandwidth for comparison.
        assert_eq!(
            r.memcpy_mb_per_sec.is_some(),
            r.payload_bytes >= 65536,
            "{}",
            l.path.display()
        );
    }
    let charts = tempfile::tempdir().unwrap();
    stdout_of(
        cmd()
            .arg("plot")
            .arg(dir.path())
            .arg("--out")
            .arg(charts.path()),
    );
    let payload = std::fs::read_to_string(charts.path().join("payload.svg")).unwrap();
    assert!(
        payload.contains("single-core memcpy") && payload.contains("payload bytes per message")
    );
}

/// `--reference` is matched against the transports the result files hold,
/// not those compiled into this build: a set measured elsewhere, with a
/// transport this build lacks, can still be the reference.
#[test]
fn a_reference_is_any_transport_the_results_hold() {
    let dir = tempfile::tempdir().unwrap();
    small_matrix(dir.path());
    // The raw-sync results, as if a transport this build does not have
    // (named with a variant) had measured them at half the speed.
    for name in [
        "raw-sync-spin-json-structured",
        "raw-sync-spin-none-raw-string",
    ] {
        let path = dir.path().join(format!("{name}.json"));
        let mut doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        doc["transport"] = "elsewhere".into();
        doc["variant"] = "fast".into();
        let rate = doc["round_trips_per_sec"].as_f64().unwrap();
        doc["round_trips_per_sec"] = (rate / 2.0).into();
        let copy = dir
            .path()
            .join(name.replace("raw-sync-spin", "elsewhere-fast") + ".json");
        std::fs::write(copy, doc.to_string()).unwrap();
    }
    let table = stdout_of(
        cmd()
            .args([
                "compare",
                "--format",
                "json",
                "--reference",
                "elsewhere-fast",
            ])
            .arg(dir.path()),
    );
    let rows: serde_json::Value = serde_json::from_str(&table).unwrap();
    let rows = rows.as_array().unwrap();
    let raw_sync = rows
        .iter()
        .find(|r| r["Transport"] == "raw-sync-spin" && r["Codec"] == "json")
        .unwrap();
    let ratio = raw_sync["vs elsewhere-fast"].as_f64().unwrap();
    assert!((ratio - 2.0).abs() < 1e-6, "{raw_sync}");

    // A label the files do not hold is refused, naming those they do.
    let out = cmd()
        .args(["compare", "--reference", "iceoryx2-pub-sub"])
        .arg(dir.path())
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("iceoryx2-pub-sub") && stderr.contains("elsewhere-fast"),
        "{stderr}"
    );
}
