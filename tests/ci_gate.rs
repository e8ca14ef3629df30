//! `compare` as a CI gate: verdicts as exit codes (`--fail-on`), named
//! baselines, and the exports dashboards read, each checked the way a CI
//! job would use it.

mod common;

use assert_cmd::Command;
use common::IPC_BENCH;
use ipc_bench::record::BenchResult;
use std::path::Path;

fn cmd() -> Command {
    common::cmd(IPC_BENCH)
}

fn template() -> BenchResult {
    serde_json::from_str(include_str!("data/v2-result.json")).unwrap()
}

/// A result of `rates` (one per round), told apart by `payload_bytes`,
/// each round's latency and CPU following its rate.
fn with_rates(rates: &[f64], payload_bytes: usize) -> BenchResult {
    let mut r = common::with_rates(&template(), rates, payload_bytes);
    for sample in &mut r.samples {
        let rate = sample.round_trips_per_sec;
        sample.latency_p50_ns = Some((1e9 / rate) as u64);
        sample.latency_p99_ns = Some((2e9 / rate) as u64);
        sample.cpu_ns_per_round_trip = Some(2e9 / rate);
    }
    r
}

const STEADY: [f64; 8] = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2, 99.8, 100.1];

/// A set of `cases` steady cases, the rates of case `i` times `factor(i)`.
fn set(dir: &Path, cases: usize, factor: impl Fn(usize) -> [f64; 8]) {
    for i in 0..cases {
        let rates: Vec<f64> = STEADY
            .iter()
            .zip(factor(i))
            .map(|(r, f)| r * 1000.0 * f)
            .collect();
        with_rates(&rates, 32 + i).write_to_dir(dir).unwrap();
    }
}

fn same(_: usize) -> [f64; 8] {
    [1.0; 8]
}

fn output(c: &mut Command, code: i32) -> (String, String) {
    let out = c.assert().code(code).get_output().clone();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn fail_on_slower_exits_1_on_a_slower_set_and_0_on_the_same_set() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Enough cases that the shift they share (which each verdict is
    // relative to) is narrow: a real run's verdicts are read the same way.
    set(a.path(), 16, same);
    // Case 3 at 0.7× in B; a noisy case 5 that the data cannot judge.
    set(b.path(), 16, |i| match i {
        3 => [0.7; 8],
        5 => [0.6, 1.4, 1.0, 0.75, 1.3, 0.9, 1.15, 1.0],
        _ => [1.0; 8],
    });
    let (stdout, _) = output(
        cmd()
            .args(["compare", "--fail-on", "slower"])
            .arg(a.path())
            .arg(b.path()),
        1,
    );
    // The failing case first, then the table, and the counts last.
    let first: Vec<&str> = stdout.lines().take(2).collect();
    assert!(
        first[0].contains("1 of 16 cases fail --fail-on"),
        "{stdout}"
    );
    assert!(
        first[1].contains("35B") && first[1].contains("slower"),
        "{stdout}"
    );
    let last = stdout.trim_end().lines().last().unwrap();
    assert!(
        last.contains("1 slower, 0 faster, 14 no change, 1 inconclusive")
            && last.contains("1 failing"),
        "{last}"
    );
    // Inconclusive fails only when asked.
    output(
        cmd()
            .args(["compare", "--fail-on", "inconclusive"])
            .arg(a.path())
            .arg(b.path()),
        1,
    );
    // A set against itself: nothing changed, exit 0, and the count says so.
    let (stdout, _) = output(
        cmd()
            .args(["compare", "--fail-on", "changed,inconclusive"])
            .arg(a.path())
            .arg(a.path()),
        0,
    );
    assert!(stdout.contains("16 no change, 0 inconclusive"), "{stdout}");
    // For a format programs read, the lines for people go to stderr.
    let (stdout, stderr) = output(
        cmd()
            .args(["compare", "--format", "csv", "--fail-on", "slower"])
            .arg(a.path())
            .arg(b.path()),
        1,
    );
    assert!(stdout.starts_with("Transport,"), "{stdout}");
    assert!(stderr.contains("1 failing"), "{stderr}");
}

/// Every measure of every case parses back with the published field names
/// and types, and its value lies within its bounds.
#[test]
fn exports_carry_every_case_with_bounds_around_each_value() {
    let dir = tempfile::tempdir().unwrap();
    set(dir.path(), 3, |i| [1.0 + i as f64 * 0.1; 8]);
    let (stdout, _) = output(
        cmd().args(["compare", "--format", "bmf"]).arg(dir.path()),
        0,
    );
    let bmf: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let benchmarks = bmf.as_object().unwrap();
    assert_eq!(benchmarks.len(), 3);
    for (name, measures) in benchmarks {
        assert!(name.contains("-structured"), "{name}");
        let measures = measures.as_object().unwrap();
        for slug in [
            "round-trips-per-second",
            "latency-p50-ns",
            "latency-p99-ns",
            "cpu-ns-per-round-trip",
        ] {
            let m = &measures[slug];
            let (value, lower, upper) = (
                m["value"].as_f64().unwrap(),
                m["lower_value"].as_f64().unwrap(),
                m["upper_value"].as_f64().unwrap(),
            );
            assert!(lower <= value && value <= upper, "{name} {slug}: {m}");
            assert!(
                lower < upper,
                "{name} {slug}: eight rounds give an interval"
            );
        }
    }
    for (format, bigger) in [
        ("github-action-benchmark", true),
        ("github-action-benchmark-latency", false),
    ] {
        let (stdout, _) = output(
            cmd().args(["compare", "--format", format]).arg(dir.path()),
            0,
        );
        let entries: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
        assert_eq!(entries.len(), if bigger { 3 } else { 9 }, "{format}");
        for e in &entries {
            let value = e["value"].as_f64().unwrap();
            let unit = e["unit"].as_str().unwrap();
            assert_eq!(unit == "round trips/s", bigger, "{e}");
            assert!(e["name"].as_str().is_some() && e["extra"].as_str().is_some());
            let range = e["range"].as_str().unwrap();
            let (lo, hi) = range.split_once('–').unwrap();
            let (lo, hi): (f64, f64) = (lo.parse().unwrap(), hi.parse().unwrap());
            assert!(lo <= value.round() && value.round() <= hi.ceil(), "{e}");
        }
    }
}

#[test]
fn a_saved_baseline_is_compared_with_the_current_results() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        cmd()
            .args(["run", "--transport", "pipe", "--duration", "0.05"])
            .args(["--warmup", "0.02", "--rounds", "3", "--max-rounds", "3"])
            .arg("--results-dir")
            .arg(dir.path())
            .args(extra)
            .assert()
            .success();
    };
    run(&["--save-baseline", "main"]);
    let saved = dir.path().join("baselines/main");
    assert!(saved.join("pipe-json-structured.json").is_file());
    assert!(saved.join("baseline.json").is_file());
    run(&[]);
    let (stdout, _) = output(
        cmd()
            .args(["compare", "--baseline", "main", "--results-dir"])
            .arg(dir.path()),
        0,
    );
    assert!(
        stdout.contains("pipe") && stdout.contains("B/A"),
        "{stdout}"
    );
    // Saving again replaces it.
    run(&["--save-baseline", "main"]);
    assert_eq!(std::fs::read_dir(&saved).unwrap().count(), 2);
}

#[test]
fn bad_gate_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    set(dir.path(), 2, same);
    let corrupt = tempfile::tempdir().unwrap();
    std::fs::write(corrupt.path().join("x.json"), "{\"schema_version\": 1").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--baseline".into(), "main".into()],
            "no baseline 'main'",
        ),
        (
            vec!["--baseline".into(), "../up".into()],
            "invalid value '../up' for --baseline",
        ),
        (vec!["--format".into(), "yaml".into()], "unknown format"),
        (
            vec![corrupt.path().display().to_string()],
            "not a valid result file",
        ),
        (
            vec![
                "--fail-on".into(),
                "slower".into(),
                dir.path().display().to_string(),
            ],
            "--fail-on needs two sets",
        ),
        (vec!["--fail-on".into(), "worse".into()], "unknown verdict"),
    ];
    for (args, expected) in cases {
        let (_, stderr) = output(
            cmd()
                .arg("compare")
                .args(&args)
                .arg("--results-dir")
                .arg(dir.path()),
            2,
        );
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
    let (_, stderr) = output(
        cmd()
            .args(["run", "--save-baseline", ".hidden", "--results-dir"])
            .arg(dir.path()),
        2,
    );
    assert!(stderr.contains("--save-baseline"), "{stderr}");
}
