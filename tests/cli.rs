//! The executables, driven as a user drives them: end-to-end runs, bad input,
//! and children that misbehave during the handshake or die mid-run.

mod common;

use assert_cmd::Command;
use common::{cmd, fake_child, label_args, stdout_of, IPC_BENCH};
use ipc_bench::record::BenchResult;
use ipc_bench::report::estimate::Stop;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
const IPCC_PARENT: &str = env!("CARGO_BIN_EXE_ipcc-parent");
const IPCC_CHILD: &str = env!("CARGO_BIN_EXE_ipcc-child");

/// A short run; `ipc-bench` gets its `run` subcommand, parent binaries need none.
fn short_run(exe: &str, dir: &Path) -> Command {
    let mut c = cmd(exe);
    if exe == IPC_BENCH {
        c.arg("run");
    }
    c.args(["--duration", "0.4", "--warmup", "0.1", "--results-dir"])
        .arg(dir);
    c
}

fn only_file(dir: &Path) -> PathBuf {
    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "expected one result file, found {files:?}");
    files.into_iter().next().unwrap()
}

fn check_result(result: &BenchResult, transport: &str, codec: &str, complexity: &str) {
    assert_eq!(result.transport, transport);
    assert_eq!(result.codec, codec);
    assert_eq!(result.complexity.name(), complexity);
    assert!(result.verified);
    assert!(
        result.round_trips > 0 && result.warmup_round_trips > 0,
        "{result:?}"
    );
    assert!(result.duration_secs >= 0.4, "{result:?}");
    assert!(result.round_trips_per_sec > 0.0 && result.ns_per_round_trip > 0.0);
    let latency = result
        .latency_ns
        .as_ref()
        .expect("latency recorded by default");
    assert!(latency.min <= latency.p50 && latency.p50 <= latency.p99 && latency.p99 <= latency.max);
    assert_eq!(
        result.cpu.round_trips,
        result.round_trips + result.warmup_round_trips
    );
    assert!(result.cpu.parent_secs.unwrap() > 0.0 && result.cpu.child_secs.unwrap() > 0.0);
    assert!(!result.machine.rustc_version.is_empty());
    check_memory(result, transport);
}

/// Each process's peak, and the buffers the transport holds at the child's
/// end: of the kind its mechanism has, and nothing else of the child's
/// (its report channel, STDERR).
fn check_memory(result: &BenchResult, transport: &str) {
    use ipc_bench::record::BufferKind::*;
    let memory = result.memory.as_ref().expect("memory recorded");
    if !cfg!(target_os = "linux") {
        assert!(memory.transport_buffers.is_none());
        return;
    }
    // A process that ran at all: a megabyte and more, under a gigabyte.
    for peak in [memory.parent_peak_bytes, memory.child_peak_bytes] {
        let peak = peak.unwrap_or_else(|| panic!("{memory:?}"));
        assert!((1 << 20..1 << 30).contains(&peak), "{memory:?}");
    }
    let buffers = memory.transport_buffers.as_ref().unwrap();
    let count = |kind| buffers.iter().filter(|b| b.kind == kind).count();
    assert!(buffers.iter().all(|b| b.bytes > 0), "{buffers:?}");
    let expected: &[(_, std::ops::RangeInclusive<usize>)] = match transport {
        "spin" | "raw-sync" | "futex" | "shared-mem-queue" | "iceoryx2" => {
            &[(SharedMemory, 1..=usize::MAX)]
        }
        // One pipe each way, STDIN and STDOUT for stdio; never its reports'.
        "pipe" | "stdio" => &[(Pipe, 2..=2)],
        "posix-mq" => &[(MessageQueue, 2..=2)],
        _ => &[
            (SocketSend, 1..=usize::MAX),
            (SocketReceive, 1..=usize::MAX),
        ],
    };
    for (kind, range) in expected {
        assert!(range.contains(&count(*kind)), "{transport}: {buffers:?}");
    }
    let expected_kinds = expected.iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert!(
        buffers.iter().all(|b| expected_kinds.contains(&&b.kind)),
        "{transport}: {buffers:?}"
    );
}

/// Every transport with every compiled codec and both complexities; its
/// other variants (which change the transport, not the messages) with json
/// and raw strings.
#[test]
fn every_transport_codec_and_complexity_runs_end_to_end() {
    let mut cases = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for label in ipc_bench::transport::labels() {
        let codecs = match seen.insert(label.transport) {
            true => codecs::compiled_names(),
            false => vec!["json"],
        };
        for codec in codecs {
            cases.push((label.clone(), codec.to_string(), "structured"));
        }
        cases.push((label, "json".into(), "raw-string"));
    }
    for (label, codec, complexity) in cases {
        let transport = label.transport.name();
        let dir = tempfile::tempdir().unwrap();
        let mut run = short_run(IPC_BENCH, dir.path());
        run.args(label_args(&label))
            .args(["--codec", &codec, "--complexity", complexity]);
        run.assert()
            .success()
            .stdout(predicates::str::contains("every one verified"));
        let path = only_file(dir.path());
        let expected_codec = if complexity == "raw-string" {
            "none"
        } else {
            codec.as_str()
        };
        let result = BenchResult::read(&path).unwrap();
        let variant = result
            .variant
            .as_ref()
            .map_or(String::new(), |v| format!("-{v}"));
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            format!("{transport}{variant}-{expected_codec}-{complexity}.json")
        );
        assert_eq!(result.variant, label.variant);
        check_result(&result, transport, expected_codec, complexity);
    }
}

#[test]
fn json_flag_prints_the_result_document() {
    let dir = tempfile::tempdir().unwrap();
    let out = short_run(IPC_BENCH, dir.path())
        .args([
            "--json",
            "--no-latency",
            "--payload-bytes",
            "100",
            "--pin",
            "same",
        ])
        .env("RPC_MESSAGE_COMPLEXITY", "json")
        .env("CODEC", "json")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let printed: BenchResult = serde_json::from_slice(&out).unwrap();
    assert!(printed.latency_ns.is_none() && !printed.latency_recorded);
    assert_eq!(printed.payload_bytes, 100);
    assert_eq!(printed.placement.parent_core, printed.placement.child_core);
    let path = only_file(dir.path());
    assert!(
        path.ends_with("ipcc-json-structured-100B-pin-same.json"),
        "{path:?}"
    );
    assert_eq!(BenchResult::read(&path).unwrap(), printed);
}

#[test]
fn seed_style_parent_and_child_binaries_work() {
    let dir = tempfile::tempdir().unwrap();
    // Re-executing itself as the child...
    short_run(IPCC_PARENT, dir.path()).assert().success();
    // ...or running the child binary the seed's variable names.
    short_run(IPCC_PARENT, dir.path())
        .env("IPCC_CHILD_BIN_PATH", IPCC_CHILD)
        .env("RPC_MESSAGE_COMPLEXITY", "raw-string")
        .assert()
        .success();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

/// One line on stderr, exit code 2, no panic; the line names the input.
fn assert_usage_error(mut c: Command, names: &[&str]) {
    let out = c.assert().code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    for name in names {
        assert!(stderr.contains(name), "{name:?} missing from: {stderr}");
    }
}

#[test]
fn bad_input_is_a_one_line_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let not_exec = dir.path().join("not-executable");
    std::fs::write(&not_exec, "#!/bin/sh\n").unwrap();
    let dir_str = dir.path().to_str().unwrap().to_string();
    let mut flag_cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["--duration", "abc"],
            vec!["--duration", "abc", "TEST_DURATION_SECONDS"],
        ),
        (
            vec!["--duration", "0"],
            vec!["--duration", "greater than 0"],
        ),
        (vec!["--duration", "-1"], vec!["--duration", "-1"]),
        (vec!["--duration", "inf"], vec!["--duration"]),
        (vec!["--warmup", "-0.5"], vec!["--warmup", "WARMUP_SECONDS"]),
        (
            vec!["--complexity", "yaml"],
            vec!["--complexity", "yaml", "raw-string", "structured"],
        ),
        (
            vec!["--codec", "yaml"],
            vec!["--codec", "yaml", "json", "postcard", "protobuf"],
        ),
        (
            vec!["--transport", "carrier-pigeon"],
            vec!["--transport", "carrier-pigeon", "ipcc"],
        ),
        (vec!["--pin", "left"], vec!["--pin", "left", "cross"]),
        (
            vec!["--payload-bytes", "-5"],
            vec!["--payload-bytes", "PAYLOAD_BYTES"],
        ),
        (
            vec!["--payload-bytes", "99999999999999"],
            vec!["--payload-bytes"],
        ),
        (
            vec!["--child-bin", "/no/such/child"],
            vec!["--child-bin", "/no/such/child", "no such file"],
        ),
        (
            vec!["--child-bin", &dir_str],
            vec!["--child-bin", "directory"],
        ),
        (
            vec!["--child-bin", not_exec.to_str().unwrap()],
            vec!["--child-bin", "not executable"],
        ),
        (vec!["--frobnicate"], vec!["--frobnicate"]),
        (
            vec!["--rounds", "0"],
            vec!["--rounds", "0", "1 to 1000", "ROUNDS"],
        ),
        (vec!["--rounds", "5000"], vec!["--rounds", "5000", "ROUNDS"]),
        (
            vec!["--wait", "nap"],
            vec!["--wait", "nap", "spin, block", "WAIT_STRATEGY"],
        ),
        (
            vec!["--iox-pattern", "fan-out"],
            vec![
                "--iox-pattern",
                "fan-out",
                "publish-subscribe, request-response",
                "IOX_PATTERN",
            ],
        ),
        (
            vec!["--queue-region-bytes", "12"],
            vec![
                "--queue-region-bytes",
                "SHARED_MEM_QUEUE_SHARED_REGION_LEN_BYTES",
            ],
        ),
        (
            vec![
                "--transport",
                "shared-mem-queue",
                "--queue-region-bytes",
                "1024",
                "--payload-bytes",
                "4000",
            ],
            vec![
                "--payload-bytes",
                "4000",
                "shared-mem-queue",
                "SHARED_MEM_QUEUE_SHARED_REGION_LEN_BYTES",
            ],
        ),
        (
            vec!["--pattern", "burst"],
            vec!["--pattern", "burst", "ping-pong, rate, stream", "PATTERN"],
        ),
        (
            vec!["--pattern", "rate", "--rate", "0"],
            vec!["--rate", "'0'", "from 1", "RATE"],
        ),
        (
            vec!["--pattern", "rate", "--rate", "fast"],
            vec!["--rate", "fast", "10k", "RATE"],
        ),
        (
            vec!["--pattern", "rate", "--rate", "99999999999M"],
            vec!["--rate", "99999999999M", "RATE"],
        ),
        (
            vec!["--rate", "5000"],
            vec!["--rate/RATE", "5000", "--pattern rate"],
        ),
        (
            vec!["--pattern", "rate", "--no-latency"],
            vec!["--no-latency", "--pattern rate"],
        ),
        (
            vec!["--children", "0"],
            vec!["--children", "'0'", "1 to 64", "CHILDREN"],
        ),
        (
            vec!["--children", "65"],
            vec!["--children", "65", "CHILDREN"],
        ),
        (
            vec!["--pattern", "stream", "--window", "0"],
            vec!["--window", "'0'", "1 to 65536", "WINDOW"],
        ),
        (
            vec!["--pattern", "stream", "--window", "many"],
            vec!["--window", "many", "WINDOW"],
        ),
        (
            vec!["--window", "16"],
            vec!["--window/WINDOW", "16", "--pattern stream"],
        ),
        (
            vec!["--pattern", "stream", "--rate", "5k"],
            vec!["--rate/RATE", "--pattern rate"],
        ),
        (
            vec![
                "--transport",
                "shared-mem-queue",
                "--queue-region-bytes",
                "4096",
                "--pattern",
                "stream",
                "--window",
                "256",
            ],
            vec![
                "--window/WINDOW",
                "'256'",
                "at most",
                "SHARED_MEM_QUEUE_SHARED_REGION_LEN_BYTES",
            ],
        ),
    ];
    if cfg!(feature = "iceoryx2") {
        flag_cases.push((
            vec![
                "--transport",
                "iceoryx2",
                "--iox-pattern",
                "request-response",
                "--pattern",
                "stream",
                "--window",
                "4",
            ],
            vec![
                "--window/WINDOW",
                "'4'",
                "iceoryx2",
                "one message at a time",
                "publish-subscribe",
            ],
        ));
    }
    for (args, names) in flag_cases {
        let mut c = cmd(IPC_BENCH);
        c.arg("run").args(&args);
        assert_usage_error(c, &names);
    }
    for (args, names) in [
        (vec!["--rates", "10k"], vec!["--rates", "--patterns rate"]),
        (
            vec!["--patterns", "rate", "--rates", "1k,-3"],
            vec!["--rates", "-3"],
        ),
        (
            vec!["--patterns", "burst"],
            vec!["--patterns", "burst", "ping-pong, rate, stream"],
        ),
        (
            vec!["--windows", "16"],
            vec!["--windows", "--patterns stream"],
        ),
        (
            vec!["--patterns", "stream", "--windows", "16,0"],
            vec!["--windows", "'0'"],
        ),
        (vec!["--children", "1,0"], vec!["--children", "'0'"]),
    ] {
        let mut c = cmd(IPC_BENCH);
        c.arg("matrix").args(&args);
        assert_usage_error(c, &names);
    }
    let env_cases: Vec<(&str, &str, Vec<&str>)> = vec![
        (
            "TEST_DURATION_SECONDS",
            "ten",
            vec!["TEST_DURATION_SECONDS", "ten"],
        ),
        ("TEST_DURATION_SECONDS", "-3", vec!["TEST_DURATION_SECONDS"]),
        (
            "RPC_MESSAGE_COMPLEXITY",
            "xml",
            vec!["RPC_MESSAGE_COMPLEXITY", "xml"],
        ),
        ("CODEC", "avro", vec!["CODEC", "avro"]),
        ("ROUNDS", "many", vec!["ROUNDS", "many"]),
        ("PIN", "both", vec!["PIN", "both"]),
        ("PAYLOAD_BYTES", "lots", vec!["PAYLOAD_BYTES", "lots"]),
        ("WAIT_STRATEGY", "doze", vec!["WAIT_STRATEGY", "doze"]),
        ("IOX_PATTERN", "broadcast", vec!["IOX_PATTERN", "broadcast"]),
        ("PATTERN", "flood", vec!["PATTERN", "flood"]),
        ("RATE", "lots", vec!["RATE", "lots"]),
        ("CHILDREN", "two", vec!["CHILDREN", "two"]),
        ("WINDOW", "wide", vec!["WINDOW", "wide"]),
        (
            "SHARED_MEM_QUEUE_SHARED_REGION_LEN_BYTES",
            "huge",
            vec!["SHARED_MEM_QUEUE_SHARED_REGION_LEN_BYTES", "huge"],
        ),
    ];
    for (var, value, names) in env_cases {
        let mut c = cmd(IPC_BENCH);
        c.arg("run").env(var, value);
        assert_usage_error(c, &names);
        let mut c = cmd(IPCC_PARENT);
        c.env(var, value);
        assert_usage_error(c, &names);
    }
}

#[test]
fn each_transport_names_its_own_child_variable() {
    let parents = [
        (IPCC_PARENT, "IPCC_CHILD_BIN_PATH"),
        (
            env!("CARGO_BIN_EXE_raw-sync-parent"),
            "RAW_SYNC_CHILD_BIN_PATH",
        ),
        (
            env!("CARGO_BIN_EXE_shared-mem-queue-parent"),
            "SHARED_MEM_QUEUE_CHILD_BIN_PATH",
        ),
    ];
    for (parent, var) in parents {
        let mut c = cmd(parent);
        c.env(var, "/no/such/child");
        assert_usage_error(c, &[var, "/no/such/child"]);
        // ipc-bench run reads the variable of the transport it runs.
        let transport = parent
            .rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches("-parent");
        let mut c = cmd(IPC_BENCH);
        c.args(["run", "--transport", transport])
            .env(var, "/no/such/child");
        assert_usage_error(c, &[var, "/no/such/child"]);
    }
}

#[test]
fn a_codec_missing_from_the_build_names_the_feature() {
    let Some(missing) = codecs::CODECS.iter().find(|c| !c.compiled) else {
        return; // built with every codec: nothing is missing
    };
    let mut c = cmd(IPC_BENCH);
    c.args(["run", "--codec", missing.name]);
    assert_usage_error(
        c,
        &[
            "--codec",
            missing.name,
            "--features",
            missing.feature.unwrap(),
        ],
    );
}

#[cfg(not(feature = "iceoryx2"))]
#[test]
fn a_transport_missing_from_the_build_names_the_feature() {
    let mut c = cmd(IPC_BENCH);
    c.args(["run", "--transport", "iceoryx2"]);
    assert_usage_error(c, &["--transport", "iceoryx2", "--features iceoryx2"]);
    // A child asked for it by a parent built with it refuses, saying the same.
    let mut config = valid_config();
    config["transport"] = serde_json::json!("iceoryx2");
    let (code, stdout, _) = child_refusal(&format!("{config}\n"));
    assert_eq!(code, Some(2));
    assert!(stdout.contains("--features iceoryx2"), "{stdout}");
}

/// Writes an executable shell script standing in for a misbehaving child.
fn run_with_child(child: &Path, results: &Path) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let out = short_run(IPC_BENCH, results)
        .args(["--handshake-timeout", "1"])
        .env("IPCC_CHILD_BIN_PATH", child)
        .output()
        .unwrap();
    (out, started.elapsed())
}

#[test]
fn a_child_that_dies_during_the_handshake_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    let child = fake_child(dir.path(), "dies", "read line; exit 3");
    let (out, took) = run_with_child(&child, &results);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("exited with status 3"), "{stderr}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(!results.exists(), "a failed run wrote results");
}

#[test]
fn a_child_that_never_answers_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    let child = fake_child(dir.path(), "silent", "exec sleep 30");
    let (out, took) = run_with_child(&child, &results);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("did not answer within"), "{stderr}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn a_refusing_child_is_reported_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    let child = fake_child(
        dir.path(),
        "refuses",
        r#"read line; echo '{"status":"refused","error":"codec postcard is not compiled in"}'; exit 2"#,
    );
    let (out, _) = run_with_child(&child, &results);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refused the configuration: codec postcard is not compiled in"),
        "{stderr}"
    );
}

#[test]
fn a_child_that_says_ready_and_exits_0_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let child = fake_child(
        dir.path(),
        "quitter",
        r#"read line; echo '{"status":"ready"}'; exit 0"#,
    );
    let (out, took) = run_with_child(&child, &dir.path().join("results"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("exited with status 0"), "{stderr}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(
        !dir.path().join("results").exists(),
        "a failed run wrote results"
    );
}

#[test]
fn a_child_that_writes_nonsense_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let child = fake_child(
        dir.path(),
        "chatty",
        "read line; echo hello parent; exec sleep 5",
    );
    let (out, took) = run_with_child(&child, &dir.path().join("results"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not a report"), "{stderr}");
    assert!(took < Duration::from_secs(4), "took {took:?}");
}

fn child_refusal(config: &str) -> (Option<i32>, String, String) {
    let out = cmd(IPCC_CHILD).write_stdin(config).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn valid_config() -> serde_json::Value {
    serde_json::json!({
        "protocol_version": ipc_bench::measure::handshake::PROTOCOL_VERSION,
        "transport": "ipcc",
        "codec": "json",
        "complexity": "structured",
        "payload_bytes": 32,
        "max_message_bytes": 200,
        "transport_config": null,
        "transport_setup": {"server_name": "/nonexistent"},
        "parent_pid": std::process::id(),
        "child_core": null,
    })
}

#[test]
fn the_child_refuses_bad_configs_clearly() {
    let (code, stdout, _) = child_refusal("this is not json\n");
    assert_eq!(code, Some(2));
    assert!(
        stdout.contains(r#""status":"refused""#) && stdout.contains("not valid JSON"),
        "{stdout}"
    );

    let mut config = valid_config();
    config["protocol_version"] = serde_json::json!(999);
    let (code, stdout, _) = child_refusal(&format!("{config}\n"));
    assert_eq!(code, Some(2));
    assert!(stdout.contains("protocol version mismatch"), "{stdout}");

    let mut config = valid_config();
    config["codec"] = serde_json::json!("yaml");
    let (code, stdout, _) = child_refusal(&format!("{config}\n"));
    assert_eq!(code, Some(2));
    assert!(stdout.contains("unknown codec 'yaml'"), "{stdout}");

    let mut config = valid_config();
    config["transport"] = serde_json::json!("smoke-signals");
    let (code, stdout, _) = child_refusal(&format!("{config}\n"));
    assert_eq!(code, Some(2));
    assert!(
        stdout.contains("unknown transport 'smoke-signals'"),
        "{stdout}"
    );

    let (code, stdout, stderr) = child_refusal("");
    assert_eq!(code, Some(2));
    assert!(stdout.contains("STDIN closed"), "{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Files and directories named like ours but not ours survive `run`,
/// `matrix` and `clean`, and `clean --dry-run` does not offer to remove them;
/// real leftovers of a dead process are still found and removed. TMPDIR is a
/// fresh directory, so the socket side is this test's alone.
#[cfg(target_os = "linux")]
#[test]
fn look_alikes_survive_every_command_and_real_leftovers_do_not() {
    use ipc_bench::transport::stale::{private_dir, random_suffix, REGION_MAGIC};
    let tmp = tempfile::tempdir().unwrap();
    let with_tmp = |args: &[&str]| {
        let mut c = cmd(IPC_BENCH);
        c.env("TMPDIR", tmp.path()).args(args);
        c
    };
    // Whatever happens, the /dev/shm files this test makes go with it.
    struct Remove(Vec<PathBuf>);
    impl Drop for Remove {
        fn drop(&mut self) {
            for path in &self.0 {
                let _ = std::fs::remove_file(path);
            }
        }
    }
    let dead = 999_999_997u32;
    let user_results = tmp.path().join("ipc-bench-2024-results");
    std::fs::create_dir(&user_results).unwrap();
    std::fs::write(user_results.join("a.json"), "keep").unwrap();
    let user_notes = tmp.path().join(format!("ipc-bench-{dead}-notes"));
    std::fs::create_dir(&user_notes).unwrap();
    let user_clone = tmp.path().join("ipc-bench-2");
    std::fs::create_dir_all(user_clone.join("src")).unwrap();
    let shm_notes = PathBuf::from(format!("/dev/shm/ipc-bench-{dead}-notes"));
    std::fs::write(&shm_notes, REGION_MAGIC).unwrap();
    let shm_headerless = PathBuf::from(format!("/dev/shm/ipc-bench-{dead}-rs-{}", random_suffix()));
    std::fs::write(&shm_headerless, "not a region of ours").unwrap();
    let mut shm_files = Remove(vec![shm_notes.clone(), shm_headerless.clone()]);

    let results = tmp.path().join("results");
    let results_arg = results.to_str().unwrap();
    let short = [
        "--duration",
        "0.2",
        "--warmup",
        "0.05",
        "--results-dir",
        results_arg,
    ];
    let mut run = vec!["run", "--transport", "unix-socket"];
    run.extend(short);
    with_tmp(&run).assert().success();
    let mut matrix = vec![
        "matrix",
        "--transports",
        "spin,unix-socket",
        "--complexities",
        "raw-string",
    ];
    matrix.extend(short);
    with_tmp(&matrix).assert().success();

    // The private directory exists now (the socket runs made it). A
    // directory of our exact shape there that holds a user's file, and the
    // real leftovers of a dead process: a socket directory and a region.
    let private = tmp.path().join(private_dir().file_name().unwrap());
    assert!(private.is_dir(), "{private:?}");
    let strange = private.join(format!("{dead}-Ab3dE9"));
    std::fs::create_dir(&strange).unwrap();
    std::fs::write(strange.join("notes.txt"), "keep").unwrap();
    let stale_dir = private.join(format!("{dead}-Qq1Qq1"));
    std::fs::create_dir(&stale_dir).unwrap();
    drop(std::os::unix::net::UnixListener::bind(stale_dir.join("socket")).unwrap());
    let stale_region = PathBuf::from(format!("/dev/shm/ipc-bench-{dead}-rs-{}", random_suffix()));
    let mut region = REGION_MAGIC.to_vec();
    region.resize(4096, 0);
    std::fs::write(&stale_region, region).unwrap();
    shm_files.0.push(stale_region.clone());

    let dry = with_tmp(&["clean", "--dry-run"]).output().unwrap();
    let dry = String::from_utf8_lossy(&dry.stdout).into_owned();
    let would_remove: Vec<&str> = dry
        .lines()
        .filter(|l| l.starts_with("would remove"))
        .collect();
    for path in [
        &user_results,
        &user_notes,
        &user_clone,
        &strange,
        &shm_notes,
        &shm_headerless,
    ] {
        let name = path.to_str().unwrap();
        assert!(
            !would_remove.iter().any(|l| l.contains(name)),
            "offered to remove {name}: {dry}"
        );
    }
    assert!(
        would_remove
            .iter()
            .any(|l| l.contains(stale_dir.to_str().unwrap())),
        "the dead process's socket directory was not found: {dry}"
    );
    assert!(
        dry.contains(&format!("left alone {}", strange.display())),
        "{dry}"
    );
    assert!(
        stale_dir.exists() && strange.exists(),
        "a dry run removed something"
    );

    let clean = with_tmp(&["clean"]).output().unwrap();
    let clean = String::from_utf8_lossy(&clean.stdout).into_owned();
    assert!(!stale_dir.exists(), "{clean}");
    // /dev/shm is shared with the other tests, whose runs sweep it too: the
    // region may have gone before `clean`, but it must be gone after.
    assert!(!stale_region.exists(), "{clean}");
    assert_eq!(
        std::fs::read_to_string(user_results.join("a.json")).unwrap(),
        "keep"
    );
    assert_eq!(
        std::fs::read_to_string(strange.join("notes.txt")).unwrap(),
        "keep"
    );
    for path in [
        &user_notes,
        &user_clone.join("src"),
        &shm_notes,
        &shm_headerless,
    ] {
        assert!(path.exists(), "{path:?} was removed: {clean}");
    }
}

/// Without --codec or CODEC, a run uses this build's default codec (the only
/// optional one when there is exactly one: `--features postcard` measures
/// postcard) and its summary's first line says which and why; a debug build
/// (as tests are) says so in the summary too.
#[test]
fn the_default_codec_and_a_debug_build_are_named_in_the_summary() {
    // A short spin run's summary and result, with the codec left to the build
    // or named through CODEC.
    let spin_run = |codec: Option<&str>| {
        let dir = tempfile::tempdir().unwrap();
        let mut run = short_run(IPC_BENCH, dir.path());
        run.args(["--transport", "spin"]);
        if let Some(codec) = codec {
            run.env("CODEC", codec);
        }
        let out = stdout_of(&mut run);
        (out, BenchResult::read(&only_file(dir.path())).unwrap())
    };
    let default = codecs::default_codec();
    let (out, result) = spin_run(None);
    let first = out.lines().next().unwrap();
    let expected = format!(
        "{} ({}; --codec or CODEC to choose)",
        default.name, default.reason
    );
    assert!(first.contains(&expected), "{out}");
    assert_eq!(result.codec, default.name);
    if cfg!(debug_assertions) {
        assert!(out.contains("warning: debug build"), "{out}");
        assert_eq!(result.machine.build_profile, "debug");
    }
    // Named explicitly, json is json whatever the build, and says so.
    let (out, result) = spin_run(Some("json"));
    let first = out.lines().next().unwrap();
    assert!(
        first.contains("json (chosen with --codec or CODEC)"),
        "{out}"
    );
    assert_eq!(result.codec, "json");
}

/// Tables mark rows measured by a debug build, and comparing a debug set
/// with a release set warns that the difference is mostly the build.
#[test]
fn debug_rows_are_marked_and_a_debug_release_comparison_warns() {
    let debug = tempfile::tempdir().unwrap();
    short_run(IPC_BENCH, debug.path())
        .args(["--transport", "spin"])
        .assert()
        .success();
    let path = only_file(debug.path());
    // The same file as if a release build had written it.
    let mut as_release: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let profile = as_release["machine"]["build_profile"]
        .as_str()
        .unwrap()
        .to_string();
    let other = if profile == "debug" {
        "release"
    } else {
        "debug"
    };
    as_release["machine"]["build_profile"] = other.into();
    let release = tempfile::tempdir().unwrap();
    std::fs::write(
        release.path().join(path.file_name().unwrap()),
        as_release.to_string(),
    )
    .unwrap();
    let (debug_dir, release_dir) = if profile == "debug" {
        (debug.path(), release.path())
    } else {
        (release.path(), debug.path())
    };
    let table = stdout_of(
        cmd(IPC_BENCH)
            .args(["compare", "--format", "csv"])
            .arg(debug_dir),
    );
    assert!(table.lines().next().unwrap().contains("Build"), "{table}");
    assert!(table.contains("debug"), "{table}");
    let pair = cmd(IPC_BENCH)
        .args(["compare"])
        .arg(debug_dir)
        .arg(release_dir)
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&pair.stderr);
    assert!(
        stderr.contains("warning: comparing a debug build (A) with a release build (B)"),
        "{stderr}"
    );
    // Release against release: no column, no warning.
    let same = cmd(IPC_BENCH)
        .args(["compare", "--format", "csv"])
        .arg(release_dir)
        .arg(release_dir)
        .assert()
        .success()
        .get_output()
        .clone();
    let same_stderr = String::from_utf8_lossy(&same.stderr);
    assert!(!same_stderr.contains("warning"), "{same_stderr}");
    assert!(!String::from_utf8_lossy(&same.stdout).contains("Build"));
}

/// The flags of `run` and `matrix`, each with its variable and default:
/// what users and scripts rely on, pinned so that reshaping the code cannot
/// change them unnoticed.
#[test]
fn the_flags_variables_and_defaults_of_run_and_matrix_are_pinned() {
    use clap::CommandFactory;
    let cli = ipc_bench::cli::args::Cli::command();
    let flags = |sub: &str| -> Vec<String> {
        let command = cli.find_subcommand(sub).unwrap();
        let mut flags: Vec<String> = command
            .get_arguments()
            .filter_map(|a| {
                let env = a.get_env().map(|e| format!("={}", e.to_string_lossy()));
                let default = a
                    .get_default_values()
                    .first()
                    .map(|d| format!(" [{}]", d.to_string_lossy()));
                Some(format!(
                    "{}{}{}",
                    a.get_long()?,
                    env.unwrap_or_default(),
                    default.unwrap_or_default()
                ))
            })
            .collect();
        flags.sort();
        flags
    };
    assert_eq!(
        flags("run"),
        [
            "child-bin",
            "children=CHILDREN [1]",
            "codec=CODEC",
            "complexity=RPC_MESSAGE_COMPLEXITY",
            "duration=TEST_DURATION_SECONDS [1.5]",
            "fixed-warmup=FIXED_WARMUP",
            "framing=FRAMING [length]",
            "handshake-timeout=HANDSHAKE_TIMEOUT_SECONDS [10]",
            "iox-pattern=IOX_PATTERN [publish-subscribe]",
            "json",
            "max-rounds=MAX_ROUNDS [60]",
            "max-time=MAX_TIME_SECONDS",
            "messages",
            "no-latency",
            "pattern=PATTERN [ping-pong]",
            "payload-bytes=PAYLOAD_BYTES [32]",
            "pin=PIN [none]",
            "precision=PRECISION [5]",
            "queue-region-bytes=SHARED_MEM_QUEUE_SHARED_REGION_LEN_BYTES [4194304]",
            "rate=RATE",
            "results-dir=RESULTS_DIR [results/local]",
            "rounds=ROUNDS [6]",
            "runtime=TOKIO_RUNTIME [current-thread]",
            "save-baseline",
            "socket=TOKIO_SOCKET [unix]",
            "spin-us=SPIN_US [20]",
            "stall-timeout=STALL_TIMEOUT_SECONDS [3]",
            "transport=TRANSPORT [ipcc]",
            "wait=WAIT_STRATEGY [spin]",
            "warmup=WARMUP_SECONDS [0.3]",
            "window=WINDOW",
        ]
    );
    assert_eq!(
        flags("matrix"),
        [
            "children [1]",
            "codecs",
            "complexities",
            "duration=TEST_DURATION_SECONDS [0.1]",
            "fixed-warmup=FIXED_WARMUP",
            "format [table]",
            "framings [length]",
            "handshake-timeout=HANDSHAKE_TIMEOUT_SECONDS [10]",
            "iox-patterns [publish-subscribe]",
            "max-rounds=MAX_ROUNDS [60]",
            "max-time=MAX_TIME_SECONDS",
            "messages",
            "no-latency",
            "patterns [ping-pong]",
            "payload-bytes [32]",
            "pin [none]",
            "precision=PRECISION [5]",
            "queue-region-bytes=SHARED_MEM_QUEUE_SHARED_REGION_LEN_BYTES [4194304]",
            "rates",
            "reference",
            "report",
            "results-dir=RESULTS_DIR [results/local]",
            "rounds=ROUNDS [10]",
            "runtimes [current-thread]",
            "save-baseline",
            "seed",
            "sockets [unix]",
            "spins-us [20]",
            "stall-timeout=STALL_TIMEOUT_SECONDS [3]",
            "transports",
            "waits [spin]",
            "warmup=WARMUP_SECONDS [0.1]",
            "windows",
        ]
    );
    // compare's flags, its CI gate's among them (docs/commands.md and
    // docs/ci.md name each).
    assert_eq!(
        flags("compare"),
        [
            "baseline",
            "by",
            "export-markdown",
            "fail-on",
            "format [table]",
            "reference",
            "results-dir=RESULTS_DIR [results/local]",
            "threshold [5]",
        ]
    );
}

/// Every key of a result file, nested ones as `outer.inner`: the schema
/// readers depend on, pinned.
#[test]
fn the_keys_of_a_result_file_are_pinned() {
    fn keys(value: &serde_json::Value, at: &str, out: &mut Vec<String>) {
        if let serde_json::Value::Object(fields) = value {
            for (k, v) in fields {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                keys(v, &path, out);
                out.push(path);
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    short_run(IPC_BENCH, dir.path())
        .args(["--transport", "spin", "--rounds", "2"])
        .assert()
        .success();
    let text = std::fs::read_to_string(only_file(dir.path())).unwrap();
    let mut found = Vec::new();
    keys(&serde_json::from_str(&text).unwrap(), "", &mut found);
    found.sort();
    let expected = [
        "backpressure",
        "children",
        "ci_coverage",
        "codec",
        "codec_ns_per_round_trip",
        "codec_share",
        "complexity",
        "cpu",
        "cpu.child_secs",
        "cpu.ns_per_round_trip",
        "cpu.parent_secs",
        "cpu.round_trips",
        "duration_secs",
        "environment",
        "environment.busy_processes",
        "environment.clock_source",
        "environment.governors",
        "environment.isolated_cpus",
        "environment.load_average",
        "environment.logical_cores",
        "environment.rounds_watched",
        "environment.smt_siblings",
        "environment.steal_percent",
        "environment.virtualized",
        "latency_from_intended_ns",
        "latency_from_intended_p50_ci95",
        "latency_ns",
        "latency_ns.max",
        "latency_ns.mean",
        "latency_ns.min",
        "latency_ns.p50",
        "latency_ns.p90",
        "latency_ns.p99",
        "latency_ns.p999",
        "latency_recorded",
        "machine",
        "machine.arch",
        "machine.build_profile",
        "machine.cpu_model",
        "machine.enabled_features",
        "machine.kernel",
        "machine.logical_cores",
        "machine.os",
        "machine.rustc_version",
        "machine.virtualized",
        "memcpy_mb_per_sec",
        "memory",
        "memory.child_peak_bytes",
        "memory.parent_peak_bytes",
        "memory.transport_buffers",
        "message_path",
        "message_path.receive",
        "message_path.send",
        "modes",
        "ns_per_round_trip",
        "offered_rate_per_sec",
        "pace_class",
        "pattern",
        "payload_bytes",
        "payload_mb_per_sec",
        "placement",
        "placement.child_core",
        "placement.mode",
        "placement.parent_core",
        "precision",
        "requested_duration_secs",
        "round_trips",
        "round_trips_per_sec",
        "round_trips_per_sec_ci95",
        "round_trips_per_sec_ci95.hi",
        "round_trips_per_sec_ci95.lo",
        "rounds",
        "rounds_set_aside",
        "run_id",
        "samples",
        "schema_version",
        "seed",
        "stopped",
        "timestamp",
        "tool_version",
        "transport",
        "transport_facts",
        "variant",
        "verified",
        "warmup_round_trips",
        "warmup_secs",
        "warnings",
        "window",
        "wire_bytes",
        "wire_bytes.ping",
        "wire_bytes.pong",
    ];
    assert_eq!(found, expected, "{text}");
}

/// A matrix adds rounds to the cases whose interval is too wide, at the
/// looks of its schedule, until the most rounds or the time budget; a case
/// already sure enough gets none; results and the table say which.
#[test]
fn a_matrix_adds_rounds_until_sure_or_out_of_rounds_or_time() {
    let matrix = |dir: &Path, extra: &[&str]| -> String {
        let out = cmd(IPC_BENCH)
            .args(["matrix", "--transports", "spin,pipe", "--codecs", "json"])
            .args(["--complexities", "structured", "--duration", "0.03"])
            .args(["--warmup", "0.01", "--rounds", "3", "--results-dir"])
            .arg(dir)
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        format!("{stdout}\n{stderr}")
    };
    let load = |dir: &Path, name: &str| BenchResult::read(&dir.join(name)).unwrap();
    // Nothing is ever within ±0.001 %: every case runs to its most rounds,
    // looked at after 3, 5 and 8 rounds.
    let dir = tempfile::tempdir().unwrap();
    let out = matrix(
        dir.path(),
        &[
            "--precision",
            "0.001",
            "--max-rounds",
            "8",
            "--max-time",
            "600",
        ],
    );
    for name in ["spin-json-structured.json", "pipe-json-structured.json"] {
        let r = load(dir.path(), name);
        assert_eq!(r.rounds, 8, "{name}: {out}");
        assert_eq!(r.precision, Some(0.00001));
        let stop = r.stopped.unwrap();
        assert_eq!(stop, Stop::MaxRounds, "{name}");
        // Rounds numbered by pass, as pairing needs.
        let rounds: Vec<usize> = r.samples.iter().map(|s| s.round).collect();
        assert_eq!(rounds, (1..=8).collect::<Vec<_>>());
        assert!(r
            .samples
            .iter()
            .all(|s| s.phases.is_some_and(|p| p.measure_secs > 0.0)));
    }
    assert!(out.contains("8 max") || out.contains("8 2 modes"), "{out}");
    assert!(out.contains("precision: "), "{out}");
    assert!(out.contains("time: ") && out.contains("measuring"), "{out}");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("matrix-summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["max_rounds"], 8);
    assert!(summary["time"]["rounds"]["measure_secs"].as_f64().unwrap() > 0.0);

    // A budget already spent: the planned rounds and no more.
    let dir = tempfile::tempdir().unwrap();
    let out = matrix(dir.path(), &["--precision", "0.001", "--max-time", "0.01"]);
    let r = load(dir.path(), "pipe-json-structured.json");
    assert_eq!((r.rounds, r.stopped), (3, Some(Stop::Budget)), "{out}");
    assert!(out.contains("3 budget"), "{out}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.starts_with("not within ±0.001 % after 3 rounds (time budget reached)")),
        "{:?}",
        r.warnings
    );

    // A precision any figure meets: no round beyond the planned ones.
    let dir = tempfile::tempdir().unwrap();
    // (One case may still be wider than that on a loaded machine.)
    matrix(dir.path(), &["--precision", "99"]);
    let settled: Vec<usize> = ["spin-json-structured.json", "pipe-json-structured.json"]
        .iter()
        .map(|name| load(dir.path(), name))
        .filter(|r| r.stopped == Some(Stop::Precise))
        .map(|r| r.rounds)
        .collect();
    // Usually at the first look; on a machine busy with other tests a round
    // can run twice as fast as the median of three, so at a later look, and
    // only ever at a look (3, 5, 8, ...).
    let looks = ipc_bench::report::stopping::looks(3, 60);
    assert!(
        !settled.is_empty() && settled.iter().all(|n| looks.contains(n)),
        "{settled:?}"
    );

    // No precision: the planned rounds, as before.
    let dir = tempfile::tempdir().unwrap();
    matrix(dir.path(), &["--precision", "0"]);
    let r = load(dir.path(), "spin-json-structured.json");
    assert_eq!(
        (r.rounds, r.stopped, r.precision),
        (3, Some(Stop::Planned), None)
    );
}

/// A single run follows the same rule as a matrix, and says so.
#[test]
fn a_run_adds_rounds_until_sure_and_says_how_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout_of(
        cmd(IPC_BENCH)
            .args([
                "run",
                "--transport",
                "spin",
                "--duration",
                "0.03",
                "--warmup",
                "0.01",
            ])
            .args(["--rounds", "2", "--precision", "0.001", "--max-rounds", "3"])
            .args(["--max-time", "600", "--results-dir"])
            .arg(dir.path()),
    );
    let r = BenchResult::read(&only_file(dir.path())).unwrap();
    assert_eq!(r.rounds, 3, "{out}");
    assert!(out.contains("Precision:    aimed at ±0.001 %;"), "{out}");
    assert!(out.contains("after 3 rounds"), "{out}");
}

/// A fixed rate's throughput is the rate offered, so it aims its precision
/// at its p50 from the due time: a precision no p50 reaches in six rounds
/// takes every round it may, and says which figure fell short. (When one
/// stops sure is the stopping rule's test, on drawn rounds: here a busy
/// machine can make five rounds' p50 wider than any precision.)
#[test]
fn a_fixed_rate_adds_rounds_until_its_p50_is_sure() {
    let run = |precision: &str, dir: &std::path::Path| {
        stdout_of(
            cmd(IPC_BENCH)
                .args([
                    "run",
                    "--transport",
                    "pipe",
                    "--pattern",
                    "rate",
                    "--rate",
                    "2k",
                ])
                .args(["--duration", "0.05", "--warmup", "0.01", "--rounds", "5"])
                .args(["--precision", precision, "--max-rounds", "6"])
                .args(["--max-time", "600", "--results-dir"])
                .arg(dir),
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let out = run("0.01", dir.path());
    let r = BenchResult::read(&only_file(dir.path())).unwrap();
    assert_eq!((r.rounds, r.stopped), (6, Some(Stop::MaxRounds)), "{out}");
    assert!(
        out.contains("aimed at ±0.01 % on the p50 from the due time;"),
        "{out}"
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.starts_with("p50 from the due time not within ±0.01 % after 6 rounds")),
        "{:?}",
        r.warnings
    );
    // Its figures have their intervals (five rounds or more): the p50's,
    // and the tails' around the pooled p99 and p99.9, printed in the summary.
    assert!(r.latency_from_intended_p50_ci95.is_some(), "{out}");
    let due = r.latency_from_intended_ns.unwrap();
    let tail = r.latency_from_intended_tail_ci95.expect("tail intervals");
    for (figure, i) in [(due.p99, tail.p99), (due.p999, tail.p999)] {
        let figure = figure as f64;
        assert!(
            i.lo <= figure && i.hi.is_none_or(|hi| figure <= hi),
            "{i:?} {figure}"
        );
    }
    assert!(out.contains("its p99's: "), "{out}");
}

/// `doctor` reports every check with a value and advice, and exits 0.
#[test]
fn doctor_reports_the_environment_with_advice() {
    let out = stdout_of(cmd(IPC_BENCH).args(["doctor", "--watch", "0.2"]));
    for check in [
        "logical cores",
        "virtualized",
        "steal time",
        "load average",
        "busy programs",
        "frequency governor",
        "clock source",
        "isolated CPUs",
    ] {
        assert!(out.contains(check), "{check} missing: {out}");
    }
    assert!(out.contains("median over rounds"), "{out}");
    let mut bad = cmd(IPC_BENCH);
    bad.args(["doctor", "--watch", "-1"]);
    assert_usage_error(bad, &["--watch", "-1"]);
}

/// Every shape beyond the small ping runs through a shared-memory and a
/// kernel transport, verified, with its wire size and the codec's share of
/// the round trip recorded; the table shows both.
#[test]
fn every_shape_runs_verified_with_its_wire_size_and_codec_share() {
    for transport in ["spin", "pipe"] {
        for shape in ["log", "numeric", "nested"] {
            let dir = tempfile::tempdir().unwrap();
            cmd(IPC_BENCH)
                .args(["run", "--transport", transport, "--codec", "json"])
                .args(["--complexity", shape, "--payload-bytes", "1024"])
                .args(["--duration", "0.2", "--warmup", "0.05", "--results-dir"])
                .arg(dir.path())
                .assert()
                .success();
            let file = only_file(dir.path());
            let doc: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            assert_eq!(doc["complexity"], shape);
            assert_eq!(doc["verified"], true);
            // The pong echoes the ping: the same bytes back, and more of
            // them than the payload figure the body was sized by.
            let ping = doc["wire_bytes"]["ping"].as_u64().unwrap();
            assert_eq!(doc["wire_bytes"]["pong"].as_u64(), Some(ping), "{shape}");
            assert!(ping > 1024, "{transport} {shape}: {ping} bytes");
            let share = doc["codec_share"].as_f64().unwrap();
            assert!(share > 0.0 && share.is_finite(), "{shape}: {share}");
            let table = stdout_of(cmd(IPC_BENCH).arg("compare").arg(&file));
            assert!(
                table.contains("Wire B") && table.contains("Codec share"),
                "{table}"
            );
            assert!(table.contains(&format!("{ping} ")), "{table}");
        }
    }
}

/// The slot transports lend their slot to the codec and hand messages out
/// in place from 4 KiB on (JSON from 512 KiB), for every shape, and say so in
/// the result; short messages and the kernel's transports go through copies.
/// Every run verified.
#[test]
fn messages_take_the_path_their_size_and_transport_allow() {
    let path_of = |transport: &str, shape: &str, payload: &str, codec: &str| {
        let dir = tempfile::tempdir().unwrap();
        cmd(IPC_BENCH)
            .args(["run", "--transport", transport, "--codec", codec])
            .args(["--complexity", shape, "--payload-bytes", payload])
            .args(["--duration", "0.1", "--warmup", "0.02", "--rounds", "1"])
            .arg("--results-dir")
            .arg(dir.path())
            .assert()
            .success();
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(only_file(dir.path())).unwrap()).unwrap();
        assert_eq!(doc["verified"], true, "{transport} {shape} {payload}");
        let path = &doc["message_path"];
        (
            path["send"].as_str().unwrap().to_string(),
            path["receive"].as_str().unwrap().to_string(),
        )
    };
    let path = |send: &str, receive: &str| (send.to_string(), receive.to_string());
    let in_slot = path("in-slot", "in-slot");
    let copied = path("copied", "copied");
    for transport in ["spin", "raw-sync"] {
        assert_eq!(path_of(transport, "raw-string", "8192", "json"), in_slot);
        for shape in ["structured", "log", "numeric", "nested"] {
            // serde_json encodes into a slot only from 512 KiB (measured).
            assert_eq!(
                path_of(transport, shape, "8192", "json"),
                path("copied", "in-slot"),
                "{transport} {shape}"
            );
            if cfg!(feature = "postcard") {
                // Postcard is compact: a nested order takes ~9 bytes per
                // 40 payload bytes, so a larger figure to pass 4 KiB.
                assert_eq!(
                    path_of(transport, shape, "32768", "postcard"),
                    in_slot,
                    "{transport} {shape}"
                );
            }
        }
        assert_eq!(path_of(transport, "structured", "32", "json"), copied);
    }
    assert_eq!(path_of("pipe", "structured", "8192", "json"), copied);
    if cfg!(feature = "rkyv") {
        // rkyv serializes into its own buffer: copied in, read in place.
        assert_eq!(
            path_of("spin", "nested", "8192", "rkyv"),
            path("copied", "in-slot")
        );
    }
}

/// At a fixed rate, requests leave on schedule (never more than it makes
/// due), every reply is verified, and each is timed from its send and from
/// its due time; a rate no transport can carry is reported as such.
#[test]
fn a_fixed_rate_keeps_its_schedule_and_times_from_it() {
    for transport in ["pipe", "spin"] {
        let dir = tempfile::tempdir().unwrap();
        let summary = stdout_of(
            cmd(IPC_BENCH)
                .args(["run", "--transport", transport, "--pattern", "rate"])
                .args(["--codec", "json", "--rate", "2k"])
                .args(["--duration", "0.15", "--warmup", "0.05"])
                .args(["--rounds", "6", "--results-dir"])
                .arg(dir.path()),
        );
        for text in [
            "rate 2,000/s",
            "Load:         offered 2,000/s, one request in flight; achieved",
            "from the due time: what a caller sees",
            "its p50's 95 % interval: ",
            "from the actual send",
        ] {
            assert!(summary.contains(text), "{text:?} missing:\n{summary}");
        }
        let file = only_file(dir.path());
        assert!(
            file.to_string_lossy()
                .ends_with(&format!("{transport}-json-structured-rate-2000.json")),
            "{file:?}"
        );
        let r = BenchResult::read(&file).unwrap();
        assert!(r.verified);
        assert_eq!(r.traffic, ipc_bench::record::Traffic::rate(2000));
        assert!(
            r.samples.len() >= 6,
            "{transport}: {} rounds",
            r.samples.len()
        );
        for s in &r.samples {
            // 2000/s for 0.15 s makes 300 requests due; none may leave early.
            assert!(
                s.round_trips > 0 && s.round_trips <= 300,
                "{transport}: {s:?}"
            );
            assert!(s.duration_secs >= 0.15, "{s:?}");
            assert!(s.latency_from_intended_p99_ns.unwrap() >= s.latency_p99_ns.unwrap());
        }
        // A request never leaves before it is due: timed from the due time,
        // every percentile is at least the one timed from the send.
        let (sent, due) = (
            r.latency_ns.clone().unwrap(),
            r.latency_from_intended_ns.clone().unwrap(),
        );
        assert!(
            due.p50 >= sent.p50 && due.p99 >= sent.p99 && due.max >= sent.max,
            "{sent:?} {due:?}"
        );
        // Five kept rounds or more (a round held up by the machine may be set
        // aside): the pooled p50 from the due time has an interval around it.
        assert!(r.rounds >= 5, "{transport}: {} kept", r.rounds);
        let i = r.latency_from_intended_p50_ci95.expect("an interval");
        assert!(
            i.lo <= due.p50 as f64 && due.p50 as f64 <= i.hi,
            "{i:?} {due:?}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let summary = stdout_of(
        cmd(IPC_BENCH)
            .args(["run", "--transport", "pipe", "--pattern", "rate"])
            .args(["--rate", "1000M", "--duration", "0.2", "--warmup", "0"])
            .arg("--results-dir")
            .arg(dir.path()),
    );
    assert!(
        summary.contains("warning: could not sustain the offered 1,000,000,000/s: achieved"),
        "{summary}"
    );
}

/// A stream runs one way on every kind of transport (kernel, polled
/// shared memory, a ring behind events): every message verified and
/// counted by the child, its one-way latency timed on the shared clock,
/// the back-pressure recorded, and the file named for its window; with two
/// children each gets every message.
#[test]
fn a_stream_carries_a_window_of_messages_one_way() {
    let cases: [(&str, &[&str], &str); 4] = [
        ("pipe", &["--window", "16"], "stream-w16"),
        ("spin", &["--window", "256"], "stream-w256"),
        (
            "raw-sync",
            &["--window", "3", "--wait", "block"],
            "stream-w3",
        ),
        ("shared-mem-queue", &["--window", "1"], "stream-w1"),
    ];
    for (transport, flags, stem) in cases {
        let dir = tempfile::tempdir().unwrap();
        let summary = stdout_of(
            cmd(IPC_BENCH)
                .args(["run", "--transport", transport, "--pattern", "stream"])
                .args(flags)
                .args(["--codec", "json", "--duration", "0.3", "--warmup", "0.05"])
                .args(["--rounds", "2", "--results-dir"])
                .arg(dir.path()),
        );
        for text in [
            "messages/s",
            "Stream:       one way, window",
            "back-pressure",
            "On the wire:  message",
        ] {
            assert!(
                summary.contains(text),
                "{transport}: {text:?} missing:
{summary}"
            );
        }
        let file = only_file(dir.path());
        assert!(file.to_string_lossy().contains(stem), "{file:?}");
        let r = BenchResult::read(&file).unwrap();
        assert!(r.verified && r.round_trips > 0, "{r:?}");
        assert!(r.traffic.is_stream());
        let pressure = r.backpressure.unwrap();
        assert_eq!(pressure.sends, r.round_trips, "{transport}: {pressure:?}");
        assert!(pressure.waits <= pressure.sends);
        assert!(
            r.codec_share.is_none(),
            "a stream's message work is not a round trip's"
        );
        assert_eq!(r.payload_mb_per_sec, 32.0 * r.round_trips_per_sec / 1e6);
        if cfg!(any(target_os = "linux", target_os = "macos")) {
            let one_way = r.latency_ns.unwrap();
            assert!(one_way.min > 0 && one_way.p50 <= one_way.p99, "{one_way:?}");
            assert!(summary.contains("one way, all rounds"), "{summary}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let summary = stdout_of(
        cmd(IPC_BENCH)
            .args(["run", "--transport", "unix-socket", "--pattern", "stream"])
            .args(["--children", "2", "--no-latency", "--duration", "0.2"])
            .args(["--warmup", "0", "--rounds", "1", "--results-dir"])
            .arg(dir.path()),
    );
    assert!(
        summary.contains("stream, window 64, 2 children"),
        "{summary}"
    );
    assert!(summary.contains("not recorded (--no-latency)"), "{summary}");
    let r = BenchResult::read(&only_file(dir.path())).unwrap();
    assert!(r.verified && r.latency_ns.is_none() && !r.latency_recorded);
}

/// With several children every ping goes to each, every pong is verified,
/// each child's count must match, and the result names its fan-out.
#[test]
fn a_fan_out_sends_every_ping_to_every_child() {
    for transport in ["pipe", "spin"] {
        let dir = tempfile::tempdir().unwrap();
        let summary = stdout_of(
            cmd(IPC_BENCH)
                .args(["run", "--transport", transport, "--codec", "json"])
                .args(["--children", "3", "--duration", "0.3", "--warmup", "0.05"])
                .arg("--results-dir")
                .arg(dir.path()),
        );
        assert!(summary.contains("ping-pong, 3 children"), "{summary}");
        let file = only_file(dir.path());
        assert!(
            file.to_string_lossy()
                .ends_with(&format!("{transport}-json-structured-children-3.json")),
            "{file:?}"
        );
        let r = BenchResult::read(&file).unwrap();
        assert!(r.verified && r.round_trips > 0, "{r:?}");
        assert_eq!(r.traffic.children, 3);
        assert!(r.cpu.child_secs.unwrap() > 0.0);
        assert_eq!(
            r.message_path.unwrap().send,
            ipc_bench::record::PathKind::Copied,
            "one encoding, copied to each child"
        );
    }
}

/// `ipc-bench codecs` measures each codec × shape × payload in every round,
/// writes codecs.json (which `compare` of the same directory ignores and
/// `plot` draws), and prints the table.
#[test]
fn the_codecs_command_writes_a_report_a_table_and_a_chart() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout_of(
        cmd(IPC_BENCH)
            .args([
                "codecs",
                "--codecs",
                "json",
                "--complexities",
                "log,numeric",
            ])
            .args([
                "--payload-bytes",
                "32,256",
                "--rounds",
                "2",
                "--budget",
                "0.002",
            ])
            .args(["--format", "json", "--results-dir"])
            .arg(dir.path()),
    );
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 4, "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("codecs.json")).unwrap())
            .unwrap();
    let cases = report["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        assert_eq!(case["samples"].as_array().unwrap().len(), 2, "{case}");
        assert!(case["encode_ns"]["median"].as_f64().unwrap() > 0.0);
        assert!(case["decode_ns"]["median"].as_f64().unwrap() > 0.0);
        let wire = case["wire_bytes"].as_u64().unwrap();
        let zstd = case["zstd_bytes"].as_u64().unwrap();
        assert!(wire > 0 && zstd > 0, "{case}");
        // JSON has no zero-copy access.
        assert!(case["access_ns"].is_null(), "{case}");
    }
    let bigger = |shape: &str| {
        let size = |payload: u64| {
            cases
                .iter()
                .find(|c| c["complexity"] == shape && c["payload_bytes"] == payload)
                .unwrap()["wire_bytes"]
                .as_u64()
                .unwrap()
        };
        size(256) > size(32)
    };
    assert!(bigger("log") && bigger("numeric"));
    // A run's result next to the report: compare reads the result only.
    short_run(IPC_BENCH, dir.path())
        .args(["--transport", "pipe", "--rounds", "1"])
        .assert()
        .success();
    let table = stdout_of(cmd(IPC_BENCH).arg("compare").arg(dir.path()));
    assert!(table.contains("pipe"), "{table}");
    let plotted = stdout_of(cmd(IPC_BENCH).arg("plot").arg(dir.path()));
    assert!(plotted.contains("codecs.svg"), "{plotted}");
    let svg = std::fs::read_to_string(dir.path().join("codecs.svg")).unwrap();
    assert!(
        svg.contains("log, 256 B: time"),
        "the chart has a panel per shape and size"
    );
}

/// Bad `codecs` input names the flag and what is accepted.
#[test]
fn the_codecs_command_refuses_what_it_cannot_measure() {
    let out = cmd(IPC_BENCH)
        .args(["codecs", "--complexities", "raw-string"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--complexities") && err.contains("accepted"),
        "{err}"
    );
    let out = cmd(IPC_BENCH)
        .args(["codecs", "--codecs", "yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("yaml") && err.contains("json"), "{err}");
}
