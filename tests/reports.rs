//! matrix, compare and plot, driven as a user would.

mod common;

use assert_cmd::Command;
use common::{stdout_of, with_rates, IPC_BENCH};
use ipc_bench::record::BenchResult;
use std::path::Path;
use std::time::Duration;

/// `ipc-bench` without the user's settings, with room for a small matrix.
fn cmd() -> Command {
    let mut c = common::cmd(IPC_BENCH);
    c.env_remove("NO_COLOR").timeout(Duration::from_secs(120));
    c
}

/// A short matrix over two transports, json and raw strings, into `dir`.
fn small_matrix(dir: &Path) -> String {
    small_matrix_with(dir, &["--reference", "ipcc"])
}

/// The same short matrix with `extra` flags.
fn small_matrix_with(dir: &Path, extra: &[&str]) -> String {
    stdout_of(
        cmd()
            .args([
                "matrix",
                "--transports",
                "ipcc,raw-sync",
                "--codecs",
                "json",
            ])
            .args(["--duration", "0.2", "--warmup", "0.05"])
            .args(extra)
            .arg("--results-dir")
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
    assert!(out.contains("Rank") && out.contains("vs ipcc"), "{out}");
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

fn v2_template() -> BenchResult {
    serde_json::from_str(include_str!("data/v2-result.json")).unwrap()
}

#[test]
fn compare_tables_in_every_format() {
    let a = tempfile::tempdir().unwrap();
    small_matrix(a.path());
    let single = stdout_of(cmd().args(["compare", "--format", "csv"]).arg(a.path()));
    assert_eq!(single.lines().count(), 5, "{single}");
    // Rows of a debug build (as tests are) carry a Build column.
    let build = if cfg!(debug_assertions) { "Build," } else { "" };
    assert!(
        single.starts_with(&format!(
            "Rank,Transport,Codec,Complexity,Payload,Placement,{build}Round trips/s"
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
        pivot.contains("| json round trips/s")
            && pivot.contains("raw-string round trips/s")
            && pivot.contains("raw-string ×json"),
        "{pivot}"
    );
}

/// Each verdict from fixed samples, at the edges the README documents: a
/// change only when the whole interval of B/A lies beyond the threshold,
/// "no change" only when it lies within, "inconclusive" otherwise, and a
/// one-round set never more than a labelled single sample.
#[test]
fn verdicts_come_from_the_intervals_of_both_sets() {
    let template = v2_template();
    let steady = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2, 99.8];
    let times = |f: f64| steady.map(|r| r * f);
    let noisy = [60.0, 140.0, 100.0, 75.0, 130.0, 90.0, 115.0];
    // (payload, A's rounds, B's rounds, expected verdict)
    let cases: [(usize, Vec<f64>, Vec<f64>, &str); 6] = [
        (1, steady.to_vec(), times(1.3).to_vec(), "faster"),
        (2, steady.to_vec(), times(0.7).to_vec(), "slower"),
        (3, steady.to_vec(), times(1.01).to_vec(), "no change"),
        (4, steady.to_vec(), noisy.to_vec(), "inconclusive"),
        // 1.3× apart but B's rounds overlap A's: no claim.
        (
            5,
            steady.to_vec(),
            noisy.map(|r| r * 1.3).to_vec(),
            "inconclusive",
        ),
        (6, vec![100.0], vec![130.0], "single sample"),
    ];
    // Six cases in common would have their shared shift taken out (tested
    // below): judge them in two sets of at most five.
    let (cases, single) = cases.split_at(5);
    check_verdicts(&template, cases);
    check_verdicts(&template, single);
}

fn check_verdicts(template: &BenchResult, cases: &[(usize, Vec<f64>, Vec<f64>, &str)]) {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (payload, ra, rb, _) in cases {
        // Two separate runs: the ratio is unpaired.
        let mut x = with_rates(template, ra, *payload);
        x.run_id = Some("run-a".into());
        x.write_to_dir(a.path()).unwrap();
        let mut y = with_rates(template, rb, *payload);
        y.run_id = Some("run-b".into());
        y.write_to_dir(b.path()).unwrap();
    }
    let table = stdout_of(
        cmd()
            .args(["compare", "--format", "json"])
            .arg(a.path())
            .arg(b.path()),
    );
    let rows: serde_json::Value = serde_json::from_str(&table).unwrap();
    for (payload, _, _, expected) in cases {
        let row = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["Payload"] == *payload as f64)
            .unwrap();
        let verdict = row["Verdict"].as_str().unwrap();
        assert!(verdict.starts_with(expected), "payload {payload}: {row}");
        assert!(row["B/A"].as_f64().is_some(), "{row}");
    }
    // Within a ±50 % threshold (B/A from 1/1.5 to 1.5), the steady 30 %
    // changes are "no change".
    let wide = stdout_of(
        cmd()
            .args(["compare", "--threshold", "50"])
            .arg(a.path())
            .arg(b.path()),
    );
    assert!(
        !wide.contains("faster") && !wide.contains("slower"),
        "{wide}"
    );
    if cases.len() > 1 {
        assert!(wide.contains("no change"), "{wide}");
    }
}

/// Two runs minutes apart differ as a whole when the machine's speed moved:
/// with six cases or more in common, that shared shift is reported on its
/// own and each case is judged against it, so a shift alone claims nothing
/// and a case that moved beyond it still is called.
#[test]
fn a_shift_every_case_shares_is_reported_and_not_claimed_per_case() {
    let template = v2_template();
    let steady = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2, 99.8];
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for payload in 1..=8 {
        // The machine ran 1.2× faster during B; case 8 really got 1.8× faster.
        let factor = if payload == 8 { 1.8 * 1.2 } else { 1.2 };
        let jitter = 1.0 + payload as f64 / 1000.0;
        let mut x = with_rates(&template, &steady, payload);
        x.run_id = Some("run-a".into());
        x.write_to_dir(a.path()).unwrap();
        let mut y = with_rates(&template, &steady.map(|r| r * factor * jitter), payload);
        y.run_id = Some("run-b".into());
        y.write_to_dir(b.path()).unwrap();
    }
    let out = cmd()
        .args(["compare", "--format", "json"])
        .arg(a.path())
        .arg(b.path())
        .assert()
        .success()
        .get_output()
        .clone();
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(note.contains("All 8 cases together: B/A = 1.2"), "{note}");
    assert!(!note.contains("not the machine alone"), "{note}");
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for row in rows.as_array().unwrap() {
        let verdict = row["Verdict"].as_str().unwrap();
        if row["Payload"] == 8.0 {
            assert_eq!(verdict, "faster", "{row}");
            let relative = row["B/A against the shift"].as_f64().unwrap();
            assert!((relative - 1.8).abs() < 0.05, "{row}");
        } else {
            assert!(
                !verdict.starts_with("faster") && !verdict.starts_with("slower"),
                "{row}"
            );
        }
    }
}

/// Two sets of identical figures that a rerun would give: never a change.
#[test]
fn identical_sets_are_never_called_faster_or_slower() {
    let template = v2_template();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // The same machine twice, rounds in another order and slightly moved.
    let rounds = [80.0, 120.0, 95.0, 105.0, 100.0, 90.0];
    for payload in 1..=5 {
        with_rates(&template, &rounds, payload)
            .write_to_dir(a.path())
            .unwrap();
        let mut again: Vec<f64> = rounds.iter().rev().map(|r| r * 1.03).collect();
        again.rotate_left(payload);
        with_rates(&template, &again, payload)
            .write_to_dir(b.path())
            .unwrap();
    }
    let table = stdout_of(cmd().arg("compare").arg(a.path()).arg(b.path()));
    assert!(
        !table.contains("faster") && !table.contains("slower"),
        "{table}"
    );
    assert_eq!(table.matches("inconclusive").count(), 5, "{table}");
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
            text.replace(
                &format!("\"schema_version\": {}", ipc_bench::record::SCHEMA_VERSION),
                "\"schema_version\": 99",
            ),
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
            .code(2)
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
            .code(2)
            .get_output()
            .clone();
        assert!(String::from_utf8_lossy(&out.stderr).contains(name));
        std::fs::remove_file(&path).unwrap();
    }
    let out = cmd()
        .args(["compare", "/no/such/results"])
        .assert()
        .code(2)
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

/// Renders an SVG chart to PNG beside it (resvg, the way a browser would
/// draw it) and checks that it parsed and that something was drawn: a
/// broken SVG fails here, not in a reader's browser.
fn render_to_png(svg: &Path) -> resvg::tiny_skia::Pixmap {
    let data = std::fs::read(svg).unwrap();
    let tree = resvg::usvg::Tree::from_data(&data, &resvg::usvg::Options::default())
        .unwrap_or_else(|e| panic!("{} does not parse as SVG: {e}", svg.display()));
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap.save_png(svg.with_extension("png")).unwrap();
    let inked = pixmap
        .pixels()
        .iter()
        .filter(|p| p.alpha() > 0 && (p.red() < 200 || p.green() < 200 || p.blue() < 200))
        .count();
    assert!(
        inked > pixmap.pixels().len() / 200,
        "{} rendered almost blank ({inked} inked pixels)",
        svg.display()
    );
    pixmap
}

#[test]
fn plot_writes_labelled_svg_charts() {
    let dir = tempfile::tempdir().unwrap();
    small_matrix_with(dir.path(), &["--rounds", "2", "--pin", "none,cross"]);
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
        "95 % interval",
        "round trips / s",
        "raw-sync-spin",
        "ipcc",
        "json",
        "raw-string",
        "logical cores",
        // One panel per placement.
        "pin none, 32 B payload",
        "pin cross, 32 B payload",
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
        "lowest to highest",
    ] {
        assert!(latency.contains(text), "latency.svg lacks {text:?}");
    }
    for chart in ["throughput.svg", "latency.svg"] {
        render_to_png(&out.path().join(chart));
    }
}

/// With a codec besides JSON, `plot` draws each as a multiple of JSON per
/// shape and transport; a codecs report in the same directory gets its own
/// chart. Both render, with their panels named.
#[test]
fn plot_draws_codecs_against_json_and_the_codecs_report() {
    // json and the first optional codec this build has, if any.
    let Some(other) = ipc_bench::codecs::compiled_names()
        .into_iter()
        .find(|c| *c != "json")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let codecs = format!("json,{other}");
    stdout_of(
        cmd()
            .args(["matrix", "--transports", "pipe", "--codecs", &codecs])
            .args(["--complexities", "log,nested", "--rounds", "2"])
            .args(["--duration", "0.1", "--warmup", "0.05", "--results-dir"])
            .arg(dir.path()),
    );
    stdout_of(
        cmd()
            .args([
                "codecs",
                "--codecs",
                &codecs,
                "--complexities",
                "numeric,log",
            ])
            .args([
                "--payload-bytes",
                "32,64",
                "--rounds",
                "2",
                "--budget",
                "0.002",
            ])
            .arg("--results-dir")
            .arg(dir.path()),
    );
    let out = stdout_of(cmd().arg("plot").arg(dir.path()));
    assert!(
        out.contains("versus-json.svg") && out.contains("codecs.svg"),
        "{out}"
    );
    let versus = std::fs::read_to_string(dir.path().join("versus-json.svg")).unwrap();
    for text in [
        "multiple of JSON",
        "log, 32 B",
        "nested, 32 B",
        "pipe",
        other,
    ] {
        assert!(versus.contains(text), "versus-json.svg lacks {text:?}");
    }
    let report = std::fs::read_to_string(dir.path().join("codecs.svg")).unwrap();
    for text in ["numeric, 64 B: time", "numeric, 64 B: bytes", "zstd", other] {
        assert!(report.contains(text), "codecs.svg lacks {text:?}");
    }
    for chart in ["versus-json.svg", "codecs.svg"] {
        render_to_png(&dir.path().join(chart));
    }
    // The codecs alone beside their round trips: only the shapes and sizes
    // the results have (log at 32 B), a column for the transport.
    let table = stdout_of(
        cmd()
            .arg("compare")
            .arg(dir.path().join("codecs.json"))
            .arg(dir.path())
            .args(["--format", "json"]),
    );
    let rows: serde_json::Value = serde_json::from_str(&table).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{table}");
    for row in rows {
        assert_eq!(row["Shape"], "log", "{row}");
        assert_eq!(row["Payload"], 32.0, "{row}");
        assert!(row["pipe round trips ×json"].is_number(), "{row}");
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
        (vec!["compare"], vec!["A [B]", "--baseline"]),
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
fn every_default_transport_carries_payloads_from_0_to_1_mib() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout_of(
        cmd()
            .args(["matrix", "--codecs", "json", "--complexities", "structured"])
            .args(["--payload-bytes", "0,1024,65536,1048576", "--format", "csv"])
            .args(["--duration", "0.1", "--warmup", "0.02", "--results-dir"])
            .arg(dir.path()),
    );
    let results = ipc_bench::report::results::load(&[dir.path().to_path_buf()]).unwrap();
    // The default matrix's transports; the opt-in ones carry one datagram or
    // one queue message each, at most 64 KiB or the queue's limit, and
    // refuse larger payloads before spawning (their own tests).
    let transports = ipc_bench::transport::TRANSPORTS
        .iter()
        .filter(|t| t.in_default_matrix)
        .count();
    assert_eq!(results.len(), 4 * transports, "{out}");
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
    render_to_png(&charts.path().join("payload.svg"));
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
        for sample in doc["samples"].as_array_mut().unwrap() {
            let rate = sample["round_trips_per_sec"].as_f64().unwrap();
            sample["round_trips_per_sec"] = (rate / 2.0).into();
        }
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

/// Files written before rounds existed (schema version 1) are read as one
/// round each, and say that they have no interval.
#[test]
fn version_1_result_files_are_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.json");
    std::fs::copy("tests/data/v1-result.json", &path).unwrap();
    let r = BenchResult::read(&path).unwrap();
    assert_eq!(r.rounds, 1);
    assert_eq!(r.samples.len(), 1);
    assert_eq!(r.samples[0].round_trips_per_sec, r.round_trips_per_sec);
    assert!(r.round_trips_per_sec_ci95.is_none());
    assert!(
        r.warnings.iter().any(|w| w.contains("version-1")),
        "{:?}",
        r.warnings
    );
    let table = stdout_of(cmd().arg("compare").arg(dir.path()));
    assert!(table.contains("(1 round)"), "{table}");
    // Compared with itself: a single sample, never a verdict.
    let pair = stdout_of(cmd().arg("compare").arg(&path).arg(&path));
    assert!(pair.contains("single sample"), "{pair}");
}

/// A matrix of two tiny cases over three rounds, checked file by file: every
/// round is a sample of its case, both cases share the run and the seed, and
/// the figures are the medians of the samples.
#[test]
fn a_matrix_with_rounds_writes_every_round_of_every_case() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd()
        .args(["matrix", "--transports", "spin,pipe", "--codecs", "json"])
        .args([
            "--complexities",
            "structured",
            "--rounds",
            "3",
            "--seed",
            "42",
        ])
        .args([
            "--duration",
            "0.25",
            "--warmup",
            "0.05",
            "--reference",
            "spin",
        ])
        .arg("--results-dir")
        .arg(dir.path())
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2 cases × 3 rounds") && stderr.contains("--seed 42"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("reference") && stdout.contains("vs spin"),
        "{stdout}"
    );
    let mut run_ids = Vec::new();
    for name in ["spin-json-structured.json", "pipe-json-structured.json"] {
        let r = BenchResult::read(&dir.path().join(name)).unwrap();
        assert_eq!(r.rounds, 3, "{name}");
        assert_eq!(r.seed, Some(42));
        let rounds: Vec<usize> = r.samples.iter().map(|s| s.round).collect();
        let mut sorted = rounds.clone();
        sorted.sort();
        assert_eq!(sorted, [1, 2, 3], "{name}");
        let rates = r.rates();
        assert_eq!(
            Some(r.round_trips_per_sec),
            ipc_bench::report::estimate::median(&rates)
        );
        let ci = r.round_trips_per_sec_ci95.unwrap();
        let lo = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = rates.iter().copied().fold(0.0, f64::max);
        // Three rounds: the interval is their range.
        assert_eq!((ci.lo, ci.hi), (lo, hi), "{name}");
        assert_eq!(
            r.round_trips,
            r.samples.iter().map(|s| s.round_trips).sum::<u64>()
        );
        assert!(
            r.samples.iter().all(|s| !s.intervals_per_sec.is_empty()),
            "{name}"
        );
        assert!(
            r.warnings.iter().any(|w| w.starts_with("3 rounds")),
            "{:?}",
            r.warnings
        );
        assert!(r.environment.is_some());
        run_ids.push(r.run_id.clone().unwrap());
    }
    assert_eq!(run_ids[0], run_ids[1]);
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("matrix-summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["seed"], 42);
    assert_eq!(summary["rounds"], 3);
    for case in summary["cases"].as_array().unwrap() {
        assert_eq!(case["rounds_done"], 3, "{summary}");
        assert_eq!(case["status"], "ok");
    }
}

/// A whole set that moved further than a machine drifts between runs (a
/// debug build against a release one, say) is called so in the shift line.
#[test]
fn a_shift_beyond_any_machine_drift_is_named() {
    let template = v2_template();
    let steady = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2, 99.8];
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for payload in 1..=6 {
        with_rates(&template, &steady, payload)
            .write_to_dir(a.path())
            .unwrap();
        with_rates(&template, &steady.map(|r| r / 8.0), payload)
            .write_to_dir(b.path())
            .unwrap();
    }
    let out = stdout_of(cmd().arg("compare").arg(a.path()).arg(b.path()));
    assert!(
        out.contains("B/A = 0.12×")
            && out.contains("slower as a whole")
            && out.contains("not the machine alone"),
        "{out}"
    );
}

/// Ctrl-C in the middle of a matrix keeps every round already measured:
/// each case's file holds the rounds it finished (its `rounds` says how
/// many), the summary says which cases ran how far, and the exit code is 130.
#[test]
fn an_interrupted_matrix_keeps_the_rounds_it_measured() {
    let dir = tempfile::tempdir().unwrap();
    let summary_path = dir.path().join("matrix-summary.json");
    let matrix = std::process::Command::new(IPC_BENCH)
        .args(["matrix", "--transports", "spin,pipe", "--codecs", "json"])
        .args(["--complexities", "structured", "--rounds", "50"])
        .args(["--duration", "0.1", "--warmup", "0", "--results-dir"])
        .arg(dir.path())
        .env("ROUNDS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until both cases have a few rounds behind them.
    let read_summary = || -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(&summary_path).ok()?).ok()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let done = read_summary().is_some_and(|s| {
            s["cases"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["rounds_done"].as_u64().unwrap_or(0) >= 2)
        });
        if done {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the matrix made no progress"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = matrix.id();
    // SAFETY: kill only sends a signal to the process we spawned.
    unsafe {
        libc::kill(pid as i32, libc::SIGINT);
    }
    let out = matrix.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = read_summary().unwrap();
    for case in summary["cases"].as_array().unwrap() {
        let done = case["rounds_done"].as_u64().unwrap() as usize;
        assert!((2..50).contains(&done), "{summary}");
        assert_eq!(case["status"], "ok", "{summary}");
        let file = case["result_file"].as_str().unwrap();
        let result = BenchResult::read(Path::new(file)).unwrap();
        // The file holds exactly the rounds the summary counts, each verified.
        assert_eq!(result.rounds, done, "{file}");
        assert!(result.verified);
    }
    assert_eq!(common::leftovers(&[pid]), Vec::<String>::new());
}

/// A matrix over traffics: one case per offered rate beside the closed
/// loop, a Traffic column and the p99 from the due time in the table, and
/// `plot` draws latency against offered load from the fixed-rate results
/// while the throughput chart keeps the closed-loop ones.
#[test]
fn a_load_sweep_is_tabled_and_drawn_against_offered_load() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout_of(
        cmd()
            .args(["matrix", "--transports", "pipe,spin", "--codecs", "json"])
            .args(["--complexities", "structured", "--rounds", "5"])
            .args(["--max-rounds", "5", "--precision", "0"])
            .args(["--patterns", "ping-pong,rate", "--rates", "2k,20k"])
            .args(["--duration", "0.2", "--warmup", "0.05", "--results-dir"])
            .arg(dir.path()),
    );
    for file in [
        "pipe-json-structured.json",
        "pipe-json-structured-rate-2000.json",
        "pipe-json-structured-rate-20000.json",
        "spin-json-structured-rate-20000.json",
    ] {
        assert!(dir.path().join(file).exists(), "{file} missing:\n{out}");
    }
    for text in [
        "Traffic",
        "p50 from due",
        "p99 from due",
        "CPU of a core",
        "ping-pong",
        "rate 2,000/s",
        "rate 20,000/s",
    ] {
        assert!(out.contains(text), "{text:?} missing:\n{out}");
    }
    // Each fixed-rate row gives its due-time p99 with its interval (five
    // rounds), bounded above or open.
    for row in out.lines().filter(|l| l.contains("rate 2")) {
        assert!(
            row.contains(" (≥") || row.contains("s–"),
            "no p99 interval: {row}"
        );
    }
    // Compared with itself, every case is there once, with its traffic.
    let both = stdout_of(
        cmd()
            .args(["compare", "--format", "csv"])
            .arg(dir.path())
            .arg(dir.path()),
    );
    assert_eq!(both.lines().count(), 7, "{both}");
    assert!(both.lines().next().unwrap().contains("Traffic"), "{both}");
    let (charts, _) = plot_into(dir.path());
    check_chart(
        &charts.path().join("load.svg"),
        &[
            "p99 and p50 latency against offered load",
            "bars and bands: 95 % interval",
            "offered requests per second",
            "the due time",
            "the actual send",
            "p50 from due, 95 % band",
            "pipe",
            "spin",
        ],
    );
    check_chart(
        &charts.path().join("cpu-load.svg"),
        &[
            "CPU of both processes against offered load",
            "% of one core",
            "band: the 95 % interval of the median round",
            // Two rounds: each point's band is their range.
            "<polygon",
            "offered requests per second",
            "pipe",
            "spin",
        ],
    );
    assert!(charts.path().join("throughput.svg").exists());
    // Only fixed-rate results: the load charts alone.
    let paced = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("-rate-") {
            std::fs::copy(&path, paced.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let written = stdout_of(cmd().arg("plot").arg(paced.path()));
    assert!(written.contains("load.svg"), "{written}");
    assert!(written.contains("cpu-load.svg"), "{written}");
    assert!(!written.contains("throughput.svg"), "{written}");
}

/// A matrix over children: the closed loop with one and with two children
/// per case, a Traffic column, and `plot` draws round trips against
/// children in fanout.svg.
#[test]
fn a_fan_out_sweep_is_tabled_and_drawn_against_children() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout_of(
        cmd()
            .args([
                "matrix",
                "--transports",
                "pipe,unix-socket",
                "--codecs",
                "json",
            ])
            .args(["--complexities", "structured", "--rounds", "2"])
            .args(["--children", "1,2"])
            .args(["--duration", "0.2", "--warmup", "0.05", "--results-dir"])
            .arg(dir.path()),
    );
    for file in [
        "pipe-json-structured.json",
        "pipe-json-structured-children-2.json",
        "unix-socket-json-structured-children-2.json",
    ] {
        assert!(dir.path().join(file).exists(), "{file} missing:\n{out}");
    }
    assert!(
        out.contains("Traffic") && out.contains("ping-pong, 2 children"),
        "{out}"
    );
    assert!(!out.contains("p99 from due"), "no fixed rate here:\n{out}");
    let (charts, written) = plot_into(dir.path());
    assert!(
        written.contains("fanout.svg") && written.contains("throughput.svg"),
        "{written}"
    );
    check_chart(
        &charts.path().join("fanout.svg"),
        &[
            "Round trips per second against children per ping",
            "children each ping goes to",
            "pipe",
            "unix-socket",
        ],
    );
}

/// A stream sweep: each window a case of its own beside the ping-pong,
/// tabled with its traffic (one-way units named in the headers), compared
/// with itself, and drawn against the window; the load chart, which is for
/// fixed rates, leaves streams out.
#[test]
fn a_stream_sweep_is_tabled_and_drawn_against_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout_of(
        cmd()
            .args(["matrix", "--transports", "pipe,spin", "--codecs", "json"])
            .args(["--complexities", "structured", "--rounds", "2"])
            .args(["--patterns", "ping-pong,stream", "--windows", "1,8"])
            .args(["--duration", "0.2", "--warmup", "0.05", "--results-dir"])
            .arg(dir.path()),
    );
    for file in [
        "pipe-json-structured.json",
        "pipe-json-structured-stream-w1.json",
        "spin-json-structured-stream-w8.json",
    ] {
        assert!(dir.path().join(file).exists(), "{file} missing:\n{out}");
    }
    for text in [
        "Traffic",
        "stream, window 8",
        "stream: messages/s",
        "one way",
    ] {
        assert!(out.contains(text), "{text:?} missing:\n{out}");
    }
    let both = stdout_of(
        cmd()
            .args(["compare", "--format", "csv"])
            .arg(dir.path())
            .arg(dir.path()),
    );
    assert_eq!(both.lines().count(), 7, "{both}");
    let (charts, written) = plot_into(dir.path());
    assert!(
        written.contains("stream.svg") && !written.contains("load.svg"),
        "{written}"
    );
    check_chart(
        &charts.path().join("stream.svg"),
        &[
            "Stream: messages per second against the window",
            "messages in flight",
            "pipe",
            "spin",
        ],
    );
}

/// `plot` of `input` into a fresh directory: the directory and what `plot` said.
fn plot_into(input: &Path) -> (tempfile::TempDir, String) {
    let charts = tempfile::tempdir().unwrap();
    let said = stdout_of(cmd().arg("plot").arg(input).arg("--out").arg(charts.path()));
    (charts, said)
}

/// Checks that the chart at `svg` holds every one of `texts` and renders.
fn check_chart(svg: &Path, texts: &[&str]) {
    let chart = std::fs::read_to_string(svg).unwrap();
    for text in texts {
        assert!(chart.contains(text), "{} lacks {text:?}", svg.display());
    }
    render_to_png(svg);
}
