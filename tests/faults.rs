//! Killing processes mid-run, for every transport label, one test each
//! (generated from the registry at run time with libtest-mimic, so one
//! failure hides no other and one transport runs by name:
//! `cargo test --test faults -- raw-sync-block`). Linux-only: finding the
//! child uses /proc.
//!
//! No test sleeps in the hope that a run has reached a phase: each waits for
//! the event that says it has — the parent's "warming up" or "measuring"
//! line on stderr, or the stand-in child's mark that it read its config.

mod common;

#[cfg(target_os = "linux")]
mod linux {
    use super::common::{cmd, fake_child, label_args, leftovers, IPC_BENCH};
    use ipc_bench::transport::{self, Label};
    use std::io::BufRead;
    use std::path::Path;
    use std::process::{Child, Stdio};
    use std::sync::mpsc::{Receiver, RecvTimeoutError};
    use std::time::{Duration, Instant};

    fn children_of(pid: u32) -> Vec<u32> {
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    fn alive(pid: u32) -> bool {
        // A zombie has exited; only a process still running counts.
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z'),
            Err(_) => false,
        }
    }

    fn kill(pid: u32, signal: i32) {
        // SAFETY: kill(2) with a pid we started; no memory is involved.
        unsafe {
            libc::kill(pid as i32, signal);
        }
    }

    /// A parent run under way, its stderr read line by line as it comes.
    struct Running {
        parent: Child,
        child: u32,
        stderr: Receiver<String>,
        seen: Vec<String>,
    }

    impl Running {
        /// Starts `ipc-bench run` for `label` with this warm-up and waits
        /// until the parent says `phase` (its "warming up" or "measuring"
        /// line): the transport is connected and the ping-pong is in it.
        fn start(results: &Path, label: &Label, warmup: &str, phase: &str) -> Self {
            Self::start_with(results, label, warmup, phase, &[])
        }

        /// [`start`](Self::start) with `extra` flags (a traffic pattern).
        fn start_with(
            results: &Path,
            label: &Label,
            warmup: &str,
            phase: &str,
            extra: &[&str],
        ) -> Self {
            let mut parent = std::process::Command::new(IPC_BENCH)
                .args([
                    "run",
                    "--duration",
                    "30",
                    "--warmup",
                    warmup,
                    "--results-dir",
                ])
                .arg(results)
                .args(label_args(label))
                .args(extra)
                .env_remove("IPCC_CHILD_BIN_PATH")
                .env_remove("RAW_SYNC_CHILD_BIN_PATH")
                .env_remove("SHARED_MEM_QUEUE_CHILD_BIN_PATH")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let stderr = parent.stderr.take().unwrap();
            let (tx, lines) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            let mut running = Running {
                child: 0,
                parent,
                stderr: lines,
                seen: Vec::new(),
            };
            let deadline = Instant::now() + Duration::from_secs(20);
            while !running.seen.iter().any(|l| l.contains(phase)) {
                let left = deadline.saturating_duration_since(Instant::now());
                match running.stderr.recv_timeout(left) {
                    Ok(line) => running.seen.push(line),
                    Err(_) => {
                        let _ = running.parent.kill();
                        let _ = running.parent.wait();
                        panic!(
                            "{}: the parent never said {phase:?}: {:?}",
                            label.label, running.seen
                        );
                    }
                }
            }
            running.child = *children_of(running.parent.id())
                .first()
                .expect("a connected run has a child");
            running
        }

        /// Everything the parent wrote on stderr, once it has exited.
        fn stderr(&mut self) -> String {
            // The child shares the pipe; it may hold it open a moment longer.
            let deadline = Instant::now() + Duration::from_secs(3);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.stderr.recv_timeout(left) {
                    Ok(line) => self.seen.push(line),
                    Err(RecvTimeoutError::Disconnected | RecvTimeoutError::Timeout) => break,
                }
            }
            self.seen.join("\n")
        }

        fn wait_for_exit(&mut self, within: Duration) -> std::process::ExitStatus {
            let deadline = Instant::now() + within;
            loop {
                if let Some(status) = self.parent.try_wait().unwrap() {
                    return status;
                }
                if Instant::now() > deadline {
                    let _ = self.parent.kill();
                    let _ = self.parent.wait();
                    panic!("the parent did not exit within {within:?}");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    fn wait_until_gone(pid: u32, within: Duration, what: &str) {
        let deadline = Instant::now() + within;
        while alive(pid) {
            assert!(
                Instant::now() < deadline,
                "{what}: process {pid} still running after {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILLs the child once the parent has said `phase` and checks the
    /// parent reports it, writes nothing and leaves nothing behind.
    fn child_killed(label: &Label, warmup: &str, phase: &str, extra: &[&str]) {
        let dir = tempfile::tempdir().unwrap();
        let run = Running::start_with(dir.path(), label, warmup, phase, extra);
        // Every child of the run (several in a fan-out); the first is killed.
        let all = children_of(run.parent.id());
        kill(run.child, libc::SIGKILL);
        fails_cleanly(run, all, dir.path(), label, &["killed by signal 9"]);
    }

    /// The parent of `run` (whose children were `all`) exits 1 within 3 s
    /// (a deadline, the watchdog's look every 50 ms, and a slow machine),
    /// saying each of `says`, with no result written, every child gone and
    /// nothing of theirs left behind.
    fn fails_cleanly(mut run: Running, all: Vec<u32>, dir: &Path, label: &Label, says: &[&str]) {
        let status = run.wait_for_exit(Duration::from_secs(3));
        let stderr = run.stderr();
        assert_eq!(status.code(), Some(1), "{}: {stderr}", label.label);
        for words in says {
            assert!(stderr.contains(words), "{}: {stderr}", label.label);
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(
            std::fs::read_dir(dir).unwrap().count(),
            0,
            "a failed run wrote results"
        );
        for &pid in &all {
            wait_until_gone(pid, Duration::from_secs(2), "a child of the failed run");
        }
        let mut pids = all;
        pids.push(run.parent.id());
        assert_eq!(leftovers(&pids), Vec::<String>::new());
    }

    pub fn child_killed_mid_run(label: &Label) {
        child_killed(label, "0.1", "measuring", &[]);
    }

    pub fn child_killed_during_the_warm_up(label: &Label) {
        // A fixed warm-up: one that settles would be over before the kill.
        child_killed(label, "30", "warming up", &["--fixed-warmup"]);
    }

    /// The stall deadline the stall tests give (`--stall-timeout`).
    const STALL_TIMEOUT: &str = "0.5";

    /// A round whose child stops answering ends as stalled within the
    /// deadline: the child stopped, no result written, nothing left behind.
    fn ends_as_stalled(run: Running, dir: &Path, label: &Label) {
        let all = children_of(run.parent.id());
        let says = ["stalled: the child made no progress", "for 0.5 s"];
        fails_cleanly(run, all, dir, label, &says);
    }

    /// A child stopped (SIGSTOP) mid-run: never a figure with the pause in it.
    pub fn child_stopped_mid_run(label: &Label) {
        let dir = tempfile::tempdir().unwrap();
        let run = Running::start_with(
            dir.path(),
            label,
            "0.1",
            "measuring",
            &["--stall-timeout", STALL_TIMEOUT],
        );
        kill(run.child, libc::SIGSTOP);
        ends_as_stalled(run, dir.path(), label);
    }

    /// A fake child's first line: the configuration, from the control
    /// channel when the parent gave one (the stdio transport, whose STDIN
    /// carries messages), else from STDIN.
    const READ_CONFIG: &str = r#"if [ -n "$IPC_BENCH_CONTROL_FD" ]; then eval "read -r line <&$IPC_BENCH_CONTROL_FD"; else read -r line; fi"#;

    /// Becomes the real child with the configuration in `config` (a file),
    /// handed over the way the parent handed the fake one its own.
    fn exec_with_config(config: &Path) -> String {
        let config = config.display();
        format!(
            r#"if [ -n "$IPC_BENCH_CONTROL_FD" ]; then exec 9<'{config}'; IPC_BENCH_CONTROL_FD=9 exec '{IPC_BENCH}'; else exec '{IPC_BENCH}' < '{config}'; fi"#
        )
    }

    /// Transports whose set-up carries the window, so that a child handed
    /// another one refuses to connect (iceoryx2 sizes its subscriber's
    /// buffer by it), rather than stall.
    const REFUSES_ANOTHER_WINDOW: [&str; 1] = ["iceoryx2-pub-sub"];

    /// A child handed a window of 65,536 where the parent streams with 16
    /// (or 1 for a request-response transport): it acknowledges every
    /// 32,768 messages, so the parent's window never reopens.
    pub fn child_with_a_mismatched_window(label: &Label) {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("results");
        std::fs::create_dir(&results).unwrap();
        let flags = stream_flags(label);
        let window = flags[3];
        // Rewrites the window in the config line, then becomes the real child.
        let config = dir.path().join("config");
        let wrapper = fake_child(
            dir.path(),
            "mismatched-window",
            &format!(
                "{READ_CONFIG}\nprintf '%s\\n' \"$line\" | sed 's/\"window\":{window},/\"window\":65536,/' > '{config}'\n{EXEC_WITH_CONFIG}",
                config = config.display(),
                EXEC_WITH_CONFIG = exec_with_config(&config),
            ),
        );
        let mut extra: Vec<&str> = flags.to_vec();
        let wrapper = wrapper.to_string_lossy().into_owned();
        extra.extend(["--stall-timeout", STALL_TIMEOUT, "--child-bin", &wrapper]);
        if REFUSES_ANOTHER_WINDOW.contains(&label.label.as_str()) {
            // The transport's own set-up catches the mismatch at once.
            let began = Instant::now();
            let out = cmd(IPC_BENCH)
                .args([
                    "run",
                    "--duration",
                    "30",
                    "--warmup",
                    "0.1",
                    "--results-dir",
                ])
                .arg(&results)
                .args(label_args(label))
                .args(&extra)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert!(
                stderr.contains("the child refused the configuration"),
                "{stderr}"
            );
            assert!(began.elapsed() < Duration::from_secs(3), "{stderr}");
            assert_eq!(std::fs::read_dir(&results).unwrap().count(), 0);
            return;
        }
        let run = Running::start_with(&results, label, "0.1", "warming up", &extra);
        let told = std::fs::read_to_string(&config).unwrap_or_default();
        assert!(
            told.contains("\"window\":65536,"),
            "the child was not handed the other window: {told}"
        );
        ends_as_stalled(run, &results, label);
    }

    /// Whether `label`'s transport refuses `traffic` (a stream on stdio's
    /// line framing; a stream or a fixed rate on the async engine).
    pub fn refuses(label: &Label, traffic: transport::TrafficKind) -> bool {
        struct Refuses<'a>(&'a serde_json::Value, transport::TrafficKind);
        impl transport::TransportVisitor for Refuses<'_> {
            type Output = bool;
            fn visit<T: transport::Transport>(self) -> bool {
                transport::decode_config::<T::Config>(self.0)
                    .is_ok_and(|config| T::refuses(&config, "json", self.1).is_some())
            }
        }
        transport::dispatch(label.transport, Refuses(&label.config, traffic))
    }

    /// A stream on a transport that refuses streams: a usage error at once,
    /// naming the flag, and no child, no result.
    pub fn a_stream_is_refused_before_spawning(label: &Label) {
        refused_before_spawning(label, &["--pattern", "stream", "--window", "4"]);
    }

    /// A fixed rate on a transport that refuses one, likewise.
    pub fn a_rate_is_refused_before_spawning(label: &Label) {
        refused_before_spawning(label, &["--pattern", "rate", "--rate", "50"]);
    }

    fn refused_before_spawning(label: &Label, traffic: &[&str]) {
        let dir = tempfile::tempdir().unwrap();
        let out = cmd(IPC_BENCH)
            .args(["run", "--results-dir"])
            .arg(dir.path())
            .args(label_args(label))
            .args(traffic)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("--pattern"), "{stderr}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// One child of two killed: the parent reports it and stops the other.
    pub fn one_child_of_two_killed(label: &Label) {
        child_killed(label, "0.1", "measuring", &["--children", "2"]);
    }

    /// At a low fixed rate the parent sleeps between requests: it still
    /// finds the child gone at its next send or wait.
    pub fn child_killed_at_a_fixed_rate(label: &Label) {
        child_killed(
            label,
            "0.1",
            "measuring",
            &["--pattern", "rate", "--rate", "50"],
        );
    }

    /// The stream flags for `label`: a window of 16, or as many as the
    /// transport holds in flight when that is fewer (one where it answers
    /// every request, as iceoryx2's request-response; a POSIX queue's depth).
    fn stream_flags(label: &Label) -> [&'static str; 4] {
        struct MostInFlight<'a>(&'a serde_json::Value);
        impl transport::TransportVisitor for MostInFlight<'_> {
            type Output = Option<usize>;
            fn visit<T: transport::Transport>(self) -> Option<usize> {
                let config = transport::decode_config::<T::Config>(self.0).ok()?;
                T::max_window(&transport::Options {
                    max_message_bytes: 1024,
                    window: 16,
                    config,
                })
            }
        }
        let most = transport::dispatch(label.transport, MostInFlight(&label.config));
        const WINDOWS: [&str; 16] = [
            "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
        ];
        let window = WINDOWS[most.unwrap_or(16).clamp(1, 16) - 1];
        ["--pattern", "stream", "--window", window]
    }

    /// Killed with a window of messages in flight: the parent, blocked on a
    /// send or an acknowledgement, still finds it gone.
    pub fn child_killed_mid_stream(label: &Label) {
        child_killed(label, "0.1", "measuring", &stream_flags(label));
    }

    /// A parent killed with messages in flight takes the child with it and
    /// leaves nothing behind.
    pub fn parent_killed_mid_stream(label: &Label) {
        parent_killed(label, &stream_flags(label));
    }

    pub fn killed_parent_takes_the_child_with_it(label: &Label) {
        parent_killed(label, &[]);
    }

    fn parent_killed(label: &Label, extra: &[&str]) {
        let dir = tempfile::tempdir().unwrap();
        let mut run = Running::start_with(dir.path(), label, "0.1", "measuring", extra);
        kill(run.parent.id(), libc::SIGKILL);
        let _ = run.parent.wait();
        wait_until_gone(run.child, Duration::from_secs(3), "orphaned child");
        assert_eq!(
            leftovers(&[run.parent.id(), run.child]),
            Vec::<String>::new(),
            "the child left the region"
        );
    }

    pub fn ctrl_c_and_sigterm_stop_both_and_write_nothing(label: &Label) {
        for signal in [libc::SIGINT, libc::SIGTERM] {
            let dir = tempfile::tempdir().unwrap();
            let mut run = Running::start(dir.path(), label, "0.1", "measuring");
            kill(run.parent.id(), signal);
            let status = run.wait_for_exit(Duration::from_secs(3));
            let stderr = run.stderr();
            assert_eq!(status.code(), Some(130), "signal {signal}: {stderr}");
            assert!(stderr.contains("interrupted"), "{stderr}");
            assert_eq!(
                stderr.matches("no result was written").count(),
                1,
                "said once: {stderr}"
            );
            wait_until_gone(
                run.child,
                Duration::from_secs(1),
                &format!("child after signal {signal}"),
            );
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
            assert_eq!(
                leftovers(&[run.parent.id(), run.child]),
                Vec::<String>::new()
            );
        }
    }

    /// Transports that create a named resource before the handshake (a
    /// region, a socket directory): for these, the test below must find one.
    const CREATES_BEFORE_HANDSHAKE: [&str; 4] =
        ["spin", "raw-sync", "shared-mem-queue", "unix-socket"];

    /// A parent SIGKILLed while its child is still in the handshake cannot
    /// clean up after itself: whatever it created for the transport must be
    /// found by `ipc-bench clean` (and by any later run), and nothing of ours
    /// may stay behind after that.
    pub fn a_parent_killed_during_the_handshake_leaves_only_what_clean_removes(
        transport: &str,
        child_bin_env: &str,
    ) {
        let dir = tempfile::tempdir().unwrap();
        // Reads the config, marks that it did, and never answers: the parent
        // stays in the handshake.
        let mark = dir.path().join("config-read");
        let child = fake_child(
            dir.path(),
            "stalls",
            &format!("{READ_CONFIG}; : > '{}'; exec sleep 30", mark.display()),
        );
        let mut parent = std::process::Command::new(IPC_BENCH)
            .args([
                "run",
                "--duration",
                "1",
                "--handshake-timeout",
                "30",
                "--transport",
                transport,
            ])
            .arg("--results-dir")
            .arg(dir.path().join("results"))
            .env(child_bin_env, &child)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !mark.exists() {
            if Instant::now() > deadline {
                let _ = parent.kill();
                let _ = parent.wait();
                panic!("the stand-in child never read its config");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let stalled_child = children_of(parent.id())[0];
        kill(parent.id(), libc::SIGKILL);
        let _ = parent.wait();
        // A shell script has no parent-death signal; ours do (tested above).
        kill(stalled_child, libc::SIGKILL);

        let left = leftovers(&[parent.id(), stalled_child]);
        if CREATES_BEFORE_HANDSHAKE.contains(&transport) {
            assert!(
                !left.is_empty(),
                "nothing was left to clean: this tested nothing"
            );
        }
        let out = cmd(IPC_BENCH).arg("clean").output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        for name in &left {
            // `clean` names it as the leftover does, without the owner.
            let shown = name.split(" of pid ").next().unwrap_or(name);
            assert!(
                stdout.contains(shown),
                "clean did not report {name}: {stdout}"
            );
        }
        assert_eq!(
            leftovers(&[parent.id(), stalled_child]),
            Vec::<String>::new()
        );
        assert!(
            !dir.path().join("results").exists(),
            "a killed run wrote results"
        );
    }
}

fn main() {
    let mut args = libtest_mimic::Arguments::from_args();
    // One at a time unless asked otherwise: each test spins a parent and a
    // child on this machine's cores and times their reactions, and a run
    // started by one test sweeps the leftovers another is about to check.
    args.test_threads.get_or_insert(1);
    #[allow(unused_mut)]
    let mut trials: Vec<libtest_mimic::Trial> = Vec::new();
    #[cfg(target_os = "linux")]
    {
        use ipc_bench::transport::Label;
        type Fault = fn(&Label);
        let faults: [(&str, Fault); 10] = [
            ("child_stopped_mid_run", linux::child_stopped_mid_run),
            (
                "child_with_a_mismatched_window",
                linux::child_with_a_mismatched_window,
            ),
            ("child_killed_mid_stream", linux::child_killed_mid_stream),
            ("parent_killed_mid_stream", linux::parent_killed_mid_stream),
            ("one_child_of_two_killed", linux::one_child_of_two_killed),
            ("child_killed_mid_run", linux::child_killed_mid_run),
            (
                "child_killed_at_a_fixed_rate",
                linux::child_killed_at_a_fixed_rate,
            ),
            (
                "child_killed_during_the_warm_up",
                linux::child_killed_during_the_warm_up,
            ),
            (
                "killed_parent_takes_the_child_with_it",
                linux::killed_parent_takes_the_child_with_it,
            ),
            (
                "ctrl_c_and_sigterm_stop_both_and_write_nothing",
                linux::ctrl_c_and_sigterm_stop_both_and_write_nothing,
            ),
        ];
        const STREAMING: [&str; 3] = [
            "child_with_a_mismatched_window",
            "child_killed_mid_stream",
            "parent_killed_mid_stream",
        ];
        for label in ipc_bench::transport::labels() {
            for (name, fault) in faults {
                let label = label.clone();
                // A transport that carries no stream refuses one before
                // spawning: that is what its stream faults check instead.
                let fault: Fault = if STREAMING.contains(&name)
                    && linux::refuses(&label, ipc_bench::transport::TrafficKind::Stream)
                {
                    linux::a_stream_is_refused_before_spawning
                } else if name == "child_killed_at_a_fixed_rate"
                    && linux::refuses(&label, ipc_bench::transport::TrafficKind::FixedRate)
                {
                    linux::a_rate_is_refused_before_spawning
                } else {
                    fault
                };
                trials.push(libtest_mimic::Trial::test(
                    format!("{name}::{}", label.label),
                    move || {
                        fault(&label);
                        Ok(())
                    },
                ));
            }
        }
        for info in ipc_bench::transport::TRANSPORTS {
            trials.push(libtest_mimic::Trial::test(
                format!("parent_killed_during_the_handshake::{}", info.name),
                move || {
                    linux::a_parent_killed_during_the_handshake_leaves_only_what_clean_removes(
                        info.name,
                        info.child_bin_env,
                    );
                    Ok(())
                },
            ));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
