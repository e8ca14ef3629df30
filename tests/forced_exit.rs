//! What a forced exit removes of its dead peer: a parent and its child both
//! killed mid-run leave the parent's iceoryx2 node behind (no destructor
//! ran); the clean-up a watchdog runs before a forced exit removes it, and
//! a leftover is named with its pid so a rare one can be told from a log.
#![cfg(all(feature = "iceoryx2", target_os = "linux"))]

mod common;

use common::{leftovers, IPC_BENCH};
use std::time::{Duration, Instant};

/// The child of `parent`, once it has one.
fn child_of(parent: u32) -> Option<u32> {
    let path = format!("/proc/{parent}/task/{parent}/children");
    let text = std::fs::read_to_string(path).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn kill(pid: u32) {
    // SAFETY: kill(2) with a pid this test spawned (or its child); no memory
    // is involved.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
}

#[test]
fn a_dead_peers_iceoryx2_node_is_removed_before_a_forced_exit() {
    let dir = tempfile::tempdir().unwrap();
    let mut parent = std::process::Command::new(IPC_BENCH)
        .args(["run", "--transport", "iceoryx2", "--duration", "30"])
        .args(["--rounds", "1", "--results-dir"])
        .arg(dir.path())
        .env("ROUNDS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = parent.id();
    let start = Instant::now();
    let child = loop {
        if let Some(child) = child_of(pid) {
            break child;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no child");
        std::thread::sleep(Duration::from_millis(20));
    };
    // Both ends connected and measuring: their nodes exist.
    std::thread::sleep(Duration::from_millis(1500));
    kill(pid);
    kill(child);
    parent.wait().unwrap();
    while std::path::Path::new(&format!("/proc/{child}")).exists() {
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "child {child} lives"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let nodes = |pid: u32| -> Vec<String> {
        leftovers(&[pid])
            .into_iter()
            .filter(|l| l.starts_with("iceoryx2 node"))
            .collect()
    };
    let left = nodes(pid);
    assert!(!left.is_empty(), "a killed parent leaves its node");
    assert!(left[0].ends_with(&format!("of pid {pid}")), "{left:?}");
    // What the child's watchdog runs before its forced exit, the parent
    // being dead: the parent's node goes, and nothing of another process.
    ipc_bench::transport::clean_up_before_forced_exit(pid);
    assert_eq!(nodes(pid), Vec::<String>::new());
    // The child's own node, as its parent's watchdog would remove it.
    ipc_bench::transport::clean_up_before_forced_exit(child);
    assert_eq!(leftovers(&[pid, child]), Vec::<String>::new());
}
