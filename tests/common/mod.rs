//! Helpers shared by the suites that drive the executables (`cli.rs`,
//! `faults.rs`); each uses a part of them.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const IPC_BENCH: &str = env!("CARGO_BIN_EXE_ipc-bench");

/// A command with none of the user's environment variables that would change a run.
pub fn cmd(exe: &str) -> Command {
    let mut c = Command::new(exe);
    for var in [
        "TRANSPORT",
        "CODEC",
        "RPC_MESSAGE_COMPLEXITY",
        "PAYLOAD_BYTES",
        "TEST_DURATION_SECONDS",
        "WARMUP_SECONDS",
        "PIN",
        "RESULTS_DIR",
        "HANDSHAKE_TIMEOUT_SECONDS",
        "IPCC_CHILD_BIN_PATH",
        "RAW_SYNC_CHILD_BIN_PATH",
        "SHARED_MEM_QUEUE_CHILD_BIN_PATH",
        "WAIT_STRATEGY",
        "IOX_PATTERN",
        "PATTERN",
        "RATE",
        "CHILDREN",
        "SPIN_CHILD_BIN_PATH",
        "PIPE_CHILD_BIN_PATH",
        "UNIX_SOCKET_CHILD_BIN_PATH",
        "TCP_CHILD_BIN_PATH",
        "ICEORYX2_CHILD_BIN_PATH",
        "SHARED_MEM_QUEUE_SHARED_REGION_LEN_BYTES",
        "IPC_BENCH_CHILD_ROLE",
        "MAX_ROUNDS",
        "MAX_TIME_SECONDS",
        "STALL_TIMEOUT_SECONDS",
        "FIXED_WARMUP",
        "FRAMING",
        "SPIN_US",
        "TOKIO_SOCKET",
        "TOKIO_RUNTIME",
    ] {
        c.env_remove(var);
    }
    for transport in ipc_bench::transport::TRANSPORTS {
        c.env_remove(transport.child_bin_env);
    }
    // One round keeps each test's runs short, with no rounds added for
    // precision; the tests of rounds say how many they want with --rounds
    // and --precision, which win over the variables.
    c.env("ROUNDS", "1");
    c.env("PRECISION", "0");
    c.timeout(Duration::from_secs(60));
    c
}

/// What processes `pids` created and did not remove: shared-memory regions
/// and socket directories named after them, and (with iceoryx2) nodes of
/// theirs that iceoryx2 sees as dead, i.e. still holding files and segments.
pub fn leftovers(pids: &[u32]) -> Vec<String> {
    let regions: Vec<String> = pids.iter().map(|p| format!("ipc-bench-{p}-")).collect();
    let sockets: Vec<String> = pids.iter().map(|p| format!("{p}-")).collect();
    let names_in = |dir: PathBuf, prefixes: &[String]| -> Vec<String> {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| prefixes.iter().any(|p| name.starts_with(p)))
            .collect()
    };
    let mut found = names_in(PathBuf::from("/dev/shm"), &regions);
    #[cfg(unix)]
    found.extend(names_in(
        ipc_bench::transport::stale::private_dir(),
        &sockets,
    ));
    // A dry run lists without removing; only transports with a sweep of
    // their own (iceoryx2) add anything beyond the names checked above.
    for stale in ipc_bench::transport::sweep_transports_stale(true).unwrap_or_default() {
        if pids.contains(&stale.pid) {
            // Whose and which, so that one CI log can tell a rare leftover.
            found.push(format!(
                "{} {} of pid {}",
                stale.kind,
                stale.path.display(),
                stale.pid
            ));
        }
    }
    found
}

/// The flags that select one transport label (`raw-sync-block`,
/// `iceoryx2-req-res`, `ipcc`): the transport, and the flags its variant
/// needs, as the transport itself says.
pub fn label_args(label: &ipc_bench::transport::Label) -> Vec<String> {
    let mut args = vec![
        "--transport".to_string(),
        label.transport.name().to_string(),
    ];
    args.extend(label.flags.iter().cloned());
    args
}

/// What a command that must succeed printed on stdout.
pub fn stdout_of(c: &mut Command) -> String {
    String::from_utf8(c.assert().success().get_output().stdout.clone()).unwrap()
}

/// A shell script standing in for the child.
pub fn fake_child(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

/// `template` as a result of `rates` (one per round), told apart from the
/// other cases of a set by `payload_bytes`.
pub fn with_rates(
    template: &ipc_bench::record::BenchResult,
    rates: &[f64],
    payload_bytes: usize,
) -> ipc_bench::record::BenchResult {
    let mut r = template.clone();
    r.payload_bytes = payload_bytes;
    let sample = r.samples[0].clone();
    r.samples = rates
        .iter()
        .enumerate()
        .map(|(i, &rate)| ipc_bench::record::Sample {
            round: i + 1,
            round_trips_per_sec: rate,
            ..sample.clone()
        })
        .collect();
    r.rounds = rates.len();
    r.round_trips_per_sec = ipc_bench::report::estimate::median(rates).unwrap();
    let interval = ipc_bench::report::estimate::median_interval(rates);
    r.round_trips_per_sec_ci95 = interval.map(|(i, _)| i);
    r.ci_coverage = interval.map(|(_, c)| c);
    r
}
