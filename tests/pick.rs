//! `ipc-bench pick`: a results set made into a choice at a rate, with the
//! figure that left out each other case; exit 1 when nothing meets the
//! constraints (naming the closest case and what it misses), 2 for bad
//! input.

mod common;

use common::{cmd, IPC_BENCH};
use std::path::Path;

/// spin and pipe, json, at 1,000 requests a second and flat out: made
/// once, for both tests (two matrices at once would slow each other).
fn results() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        run_matrix(dir.path());
        dir
    })
    .path()
}

fn run_matrix(dir: &Path) {
    cmd(IPC_BENCH)
        .args(["matrix", "--transports", "spin,pipe", "--codecs", "json"])
        .args([
            "--complexities",
            "structured",
            "--patterns",
            "ping-pong,rate",
        ])
        .args(["--rates", "1k", "--duration", "0.2", "--warmup", "0.05"])
        .args(["--rounds", "3", "--max-rounds", "3", "--precision", "0"])
        .arg("--results-dir")
        .arg(dir)
        .assert()
        .success();
}

fn pick(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = cmd(IPC_BENCH)
        .arg("pick")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The row of `transport` in the table, if it is there.
fn row<'a>(stdout: &'a str, transport: &str) -> Option<&'a str> {
    stdout
        .lines()
        .find(|l| l.contains(&format!(" {transport} ")) && !l.starts_with("left out"))
}

#[test]
fn pick_answers_three_questions_and_says_why_the_others_were_left_out() {
    let dir = results();
    // 1,000/s on at most half a core: a spinning wait burns a core at any
    // rate (the child's, about 99 % here; the pipe's two take 16 %), so
    // only the pipe fits, and spin is left out by its CPU.
    let (code, out, err) = pick(dir, &["--rate", "1k", "--p99", "50ms", "--cpu", "50"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("pick at 1,000/s: p99 ≤ 50.00 ms, CPU ≤ 50 % of a core (1 of 2 cases"),
        "{out}"
    );
    assert!(row(&out, "pipe").is_some(), "{out}");
    assert!(row(&out, "spin").is_none(), "{out}");
    // By its CPU; on a loaded machine perhaps by its latency too, or by a
    // rate it could not keep up with: each with its figure.
    let spin = out
        .lines()
        .find(|l| l.starts_with("left out: spin json: "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        spin.contains(" > ") || spin.contains("kept up with only"),
        "{spin}"
    );
    assert!(spin.ends_with(" at 1,000/s"), "{spin}");
    assert!(out.contains("p99 from due"), "{out}");

    // Flat out, the fastest: both fit, the faster first (spin, on a quiet
    // machine), ranked 1 unless their intervals overlap.
    let (code, out, _) = pick(dir, &["--rate", "max"]);
    assert_eq!(code, 0, "{out}");
    let flat_out = |transport: &str| {
        ipc_bench::report::results::load(&[dir.to_path_buf()])
            .unwrap()
            .into_iter()
            .find(|l| l.result.transport == transport && l.result.traffic.is_ping_pong())
            .unwrap()
            .result
            .round_trips_per_sec
    };
    let (faster, slower) = match flat_out("spin") > flat_out("pipe") {
        true => ("spin", "pipe"),
        false => ("pipe", "spin"),
    };
    let (first, second) = (row(&out, faster).unwrap(), row(&out, slower).unwrap());
    assert!(out.find(first) < out.find(second), "{out}");
    let rank = first.trim_start_matches(['│', ' ']);
    assert!(rank.starts_with("1 ") || rank.starts_with("=1 "), "{first}");

    // Memory decides between them whatever the machine's pace: the pipe's
    // two 64 KiB buffers against spin's one 4 KiB region.
    let (code, out, _) = pick(dir, &["--rate", "max", "--memory", "64KiB"]);
    assert_eq!(code, 0, "{out}");
    assert!(row(&out, "spin").is_some(), "{out}");
    assert!(
        out.contains("left out: pipe json: transport holds 128 KiB > 64 KiB at flat out"),
        "{out}"
    );

    // A p99 nothing reaches: exit 1, the closest case and what it misses,
    // and the constraint no case meets.
    let (code, out, _) = pick(dir, &["--rate", "1000", "--p99", "1ns"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("no case meets every constraint; the closest is "),
        "{out}"
    );
    assert!(out.contains("no case meets --p99: the closest, "), "{out}");
    assert!(!out.contains('┌'), "no table when nothing fits:\n{out}");
}

#[test]
fn pick_refuses_bad_input_with_exit_2() {
    let dir = results();
    let empty = tempfile::tempdir().unwrap();
    let corrupt = tempfile::tempdir().unwrap();
    std::fs::write(
        corrupt.path().join("spin-json-structured.json"),
        "{ not json",
    )
    .unwrap();
    let cases: [(&Path, &[&str], &str); 7] = [
        (empty.path(), &["--rate", "max"], "holds no result files"),
        (
            corrupt.path(),
            &["--rate", "max"],
            "spin-json-structured.json",
        ),
        (
            dir,
            &["--rate", "5"],
            "accepted: a rate these results were measured at: max, 1,000/s",
        ),
        (dir, &["--rate", "fast"], "--rate"),
        (dir, &["--rate", "max", "--p99", "10"], "with its unit"),
        (dir, &["--rate", "max", "--cpu=-1"], "--cpu"),
        (dir, &["--rate", "max", "--memory", "4 parsecs"], "--memory"),
    ];
    for (dir, args, says) in cases {
        let (code, out, err) = pick(dir, args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    // --rate is required.
    assert_eq!(pick(dir, &[]).0, 2);
}
