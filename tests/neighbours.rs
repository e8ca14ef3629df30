//! Whatever slows a case while it runs is named in that case's warnings:
//! two spinning runs at once each name the other, with the rounds it was
//! busy in, even the one that started first (whose start saw nothing of
//! the other).

mod common;

use common::IPC_BENCH;
use ipc_bench::record::BenchResult;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn spinning_run(dir: &Path) -> Child {
    Command::new(IPC_BENCH)
        .args(["run", "--transport", "spin", "--codec", "postcard"])
        .args(["--duration", "0.5", "--warmup", "0.1"])
        .args(["--rounds", "3", "--max-rounds", "3"])
        .arg("--results-dir")
        .arg(dir)
        .env_remove("ROUNDS")
        .env_remove("PRECISION")
        .env_remove("TRANSPORT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn only_result(dir: &Path) -> BenchResult {
    let loaded = ipc_bench::report::results::load(&[dir.to_path_buf()]).unwrap();
    assert_eq!(loaded.len(), 1);
    loaded.into_iter().next().unwrap().result
}

/// The warning naming `pid`, if any.
fn naming(result: &BenchResult, pid: u32) -> Option<&String> {
    result
        .warnings
        .iter()
        .find(|w| w.starts_with("another program was busy") && w.contains(&format!("(pid {pid})")))
}

#[test]
fn two_spinning_runs_at_once_each_name_the_other() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = spinning_run(a_dir.path());
    // The second starts once the first is under way: the first's look at
    // the start cannot have seen it.
    std::thread::sleep(Duration::from_millis(150));
    let b = spinning_run(b_dir.path());
    let (a_pid, b_pid) = (a.id(), b.id());
    for run in [a, b] {
        let out = run.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (a, b) = (only_result(a_dir.path()), only_result(b_dir.path()));
    for (result, other, own) in [(&a, b_pid, a_pid), (&b, a_pid, b_pid)] {
        let all = result.warnings.join("\n");
        let warning = naming(result, other)
            .unwrap_or_else(|| panic!("pid {other} not named by pid {own}'s result:\n{all}"));
        // Who, how much, and in which rounds.
        assert!(warning.contains("ipc-bench (pid"), "{warning}");
        assert!(warning.contains("% of a core while"), "{warning}");
        assert!(warning.contains("of 3 rounds ran (round"), "{warning}");
        // Never itself.
        assert!(naming(result, own).is_none(), "{all}");
        // Every round was looked at, and each round says whom it saw.
        assert_eq!(result.environment.as_ref().unwrap().rounds_watched, Some(3));
        assert!(result.samples.iter().all(|s| s.busy_neighbours.is_some()));
        assert!(
            result
                .samples
                .iter()
                .flat_map(|s| s.busy_neighbours.iter().flatten())
                .any(|p| p.pid == other),
            "{:?}",
            result.samples
        );
    }
}
