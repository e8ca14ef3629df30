//! The parent's handle on one child process: spawning it with its
//! configuration on STDIN, reading its reports, explaining how it ended,
//! and killing and reaping it if dropped while still running.

use crate::measure::engine::EngineError;
use crate::measure::handshake::{
    ChildConfig, ChildReport, CHILD_ROLE_ENV, CONTROL_FD_ENV, REPORT_FD_ENV,
};
use crate::measure::liveness::{self, Interrupted, Liveness, PeerError};
use crate::transport::{self, TransportError};
use anyhow::{anyhow, bail, Context};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The child process, killed and reaped if dropped while still running, so
/// that no error path can leave an orphan behind.
pub struct ChildProcess {
    child: Child,
    /// Carries the config line (the child's STDIN, or its control channel);
    /// then kept open, since its closing is one way a child learns that the
    /// parent is gone.
    control: Box<dyn Write + Send>,
    /// Lines from the child's STDOUT (or its report channel), read on a
    /// helper thread.
    lines: mpsc::Receiver<String>,
}

/// A spawned child, the channel its configuration goes down, and the one
/// its reports come up.
type Spawned = (Child, Box<dyn Write + Send>, Box<dyn Read + Send>);

/// Where a child's STDIN and STDOUT go.
pub enum ChildStdio {
    /// Pipes to the parent: the configuration in, the reports out.
    Control,
    /// The transport's pipes (the stdio transport): the configuration and
    /// the reports then take two pipes of their own.
    #[cfg(unix)]
    Transport(crate::transport::ChildStdio),
}

impl ChildProcess {
    pub fn spawn(
        child_bin: Option<&PathBuf>,
        config: &ChildConfig,
        stdio: ChildStdio,
    ) -> anyhow::Result<Self> {
        let exe = match child_bin {
            Some(path) => path.clone(),
            None => std::env::current_exe()
                .context("cannot find this executable to run it as the child")?,
        };
        let mut command = Command::new(&exe);
        command.env(CHILD_ROLE_ENV, "1").stderr(Stdio::inherit());
        let (child, control, reports): Spawned = match stdio {
            ChildStdio::Control => {
                let mut child = command
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .with_context(|| format!("cannot start the child {}", exe.display()))?;
                let stdin = child.stdin.take().expect("stdin was piped");
                let stdout = child.stdout.take().expect("stdout was piped");
                (child, Box::new(stdin), Box::new(stdout))
            }
            #[cfg(unix)]
            ChildStdio::Transport(ends) => spawn_with_control_pipes(&mut command, ends)
                .with_context(|| format!("cannot start the child {}", exe.display()))?,
        };
        liveness::register_child(child.id());
        let (tx, lines) = mpsc::channel();
        std::thread::Builder::new()
            .name("child-reports".into())
            .spawn(move || {
                for line in BufReader::new(reports).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
            .context("cannot start the thread reading the child's reports")?;
        // Built before writing, so that a failed write still kills the child.
        let mut process = ChildProcess {
            child,
            control,
            lines,
        };
        writeln!(process.control, "{}", config.to_line())
            .and_then(|_| process.control.flush())
            .context("cannot send the configuration to the child (did it exit at once?)")?;
        Ok(process)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the child's next report line, watching for its death, the
    /// user's interrupt and the clock.
    pub fn next_report(
        &mut self,
        timeout: Duration,
        liveness: &mut Liveness,
    ) -> anyhow::Result<ChildReport> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.lines.recv_timeout(Duration::from_millis(20)) {
                Ok(line) => return self.interpret(&line),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.wait(Duration::from_secs(1))?;
                    bail!("the child {} without reporting", describe_status(status));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Err(e) = liveness.check_now() {
                        let status_known = matches!(e, PeerError::ChildExited(_));
                        return Err(self.explain(anyhow!(e), status_known));
                    }
                    if Instant::now() >= deadline {
                        bail!("the child did not answer within {timeout:?}");
                    }
                }
            }
        }
    }

    fn interpret(&mut self, line: &str) -> anyhow::Result<ChildReport> {
        match ChildReport::parse(line) {
            Ok(ChildReport::Refused { error }) => {
                bail!("the child refused the configuration: {error}")
            }
            Ok(ChildReport::Failed { error }) => bail!("the child failed: {error}"),
            Ok(report) => Ok(report),
            Err(e) => bail!("the child wrote something that is not a report: {e}"),
        }
    }

    /// Adds what the child said or how it ended to a parent-side error: after
    /// a failure the child's own account is usually the useful part.
    /// `status_known`: the error already says how the child ended.
    pub fn explain(&mut self, error: anyhow::Error, status_known: bool) -> anyhow::Error {
        if liveness::interrupted() {
            return Interrupted.into();
        }
        // The child's last words may still be on their way.
        let deadline = Instant::now() + Duration::from_millis(500);
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if let Err(reason) = self.interpret(&line) {
                return reason.context(error.to_string());
            }
        }
        match self.wait(Duration::from_secs(1)) {
            Ok(status) if !status_known => {
                anyhow!("{error} (the child {})", describe_status(status))
            }
            _ => error,
        }
    }

    pub fn explain_engine_error(&mut self, error: EngineError) -> anyhow::Error {
        match error.transport() {
            Some(TransportError::Disconnected) => self.explain(anyhow!(error), false),
            Some(TransportError::Peer(PeerError::ChildExited(_))) => {
                self.explain(anyhow!(error), true)
            }
            _ => anyhow!(error),
        }
    }

    /// Waits up to `timeout` for the child to exit, killing it after that.
    pub fn wait(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                liveness::forget_child(self.child.id());
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let status = self.child.wait()?;
                liveness::forget_child(self.child.id());
                bail!(
                    "the child did not exit within {timeout:?} and was killed ({})",
                    describe_status(status)
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        liveness::forget_child(self.child.id());
        // A child that was killed could not remove what its transport
        // registered for it (an iceoryx2 node); it is dead now, so that can
        // go. Regions and socket directories are the parent's and went with
        // its transport.
        if let Err(e) = transport::sweep_transports_stale(false) {
            eprintln!("note: could not remove what the child left: {e}");
        }
    }
}

/// Which of `children` to blame for a failed run: the first that has
/// ended, or the first of all when none has (say, a bad reply).
pub fn first_exited(children: &mut [ChildProcess]) -> usize {
    children
        .iter_mut()
        .position(|c| matches!(c.child.try_wait(), Ok(Some(_))))
        .unwrap_or(0)
}

/// "exited with status 3", "was killed by signal 9 (SIGKILL)".
pub fn describe_status(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!(
                "was killed by signal {signal} ({})",
                liveness::signal_name(signal)
            );
        }
    }
    match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => "ended".to_string(),
    }
}

/// Spawns `command` with the transport's pipe ends as its STDIN and STDOUT,
/// and two more pipes, inherited, for its configuration and its reports
/// (named in [`CONTROL_FD_ENV`] and [`REPORT_FD_ENV`]).
#[cfg(unix)]
fn spawn_with_control_pipes(
    command: &mut Command,
    ends: crate::transport::ChildStdio,
) -> anyhow::Result<Spawned> {
    use crate::transport::fds::{pipe, set_cloexec};
    use std::os::fd::AsRawFd;
    let (control_read, control_write) = pipe()?;
    let (report_read, report_write) = pipe()?;
    // Only the child's ends cross exec.
    set_cloexec(&control_write, true)?;
    set_cloexec(&report_read, true)?;
    set_cloexec(&control_read, false)?;
    set_cloexec(&report_write, false)?;
    let child = command
        .stdin(Stdio::from(ends.stdin))
        .stdout(Stdio::from(ends.stdout))
        .env(CONTROL_FD_ENV, control_read.as_raw_fd().to_string())
        .env(REPORT_FD_ENV, report_write.as_raw_fd().to_string())
        .spawn()?;
    // The child's ends close here in the parent, so the child's exit shows
    // as the end of its reports.
    drop((control_read, report_write));
    Ok((
        child,
        Box::new(std::fs::File::from(control_write)),
        Box::new(std::fs::File::from(report_read)),
    ))
}
