//! Noticing, while waiting for a message, that the other process is gone or
//! that the user asked us to stop.
//!
//! Spinning transports call [`Liveness::tick`] on every empty poll: it costs a
//! counter increment, and only every [`TICKS_PER_CLOCK_READ`] ticks reads the
//! clock, and only every [`CHECK_INTERVAL`] asks the OS about the peer. So a
//! dead peer is noticed within about a tenth of a second, without a system call
//! per round trip.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Polls a spinning wait makes before it starts yielding the CPU between
/// polls: enough to cover any fast round trip, bounded so that an
/// oversubscribed machine (tests in parallel on two cores) still makes progress.
pub const SPINS_BEFORE_YIELD: u32 = 1 << 10;

/// How often the peer is actually checked while waiting.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(50);
/// Empty polls between two clock reads.
const TICKS_PER_CLOCK_READ: u32 = 1024;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The pids of the children running now (several in a fan-out), for the
/// watchdog: never touched from a signal handler, so a mutex is fine.
static CHILD_PIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// The user pressed Ctrl-C or sent SIGTERM: the one interruption every
/// layer (a wait, the engine, a run, a matrix) reports.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
#[error(
    "interrupted by a signal (Ctrl-C or SIGTERM); the child was stopped and no result was written"
)]
pub struct Interrupted;

/// Why a wait ended without a message.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PeerError {
    #[error("the child process {0}")]
    ChildExited(String),
    #[error("the parent process (pid {0}) is gone")]
    ParentGone(u32),
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
}

/// Who is on the other side of the transport.
#[derive(Debug, Clone, Copy)]
pub enum Peer {
    /// We are the parent; the child has this pid.
    Child(u32),
    /// We are the child; the parent had this pid when it spawned us.
    Parent(u32),
    /// Both ends live in this process (transport conformance tests).
    InProcess,
}

impl Peer {
    /// The peer's pid, when it is another process.
    pub fn pid(self) -> Option<u32> {
        match self {
            Peer::Child(pid) | Peer::Parent(pid) => Some(pid),
            Peer::InProcess => None,
        }
    }
}

/// Watches the peer while a transport waits.
#[derive(Debug)]
pub struct Liveness {
    peer: Peer,
    ticks: u32,
    next_check: Instant,
}

impl Liveness {
    pub fn new(peer: Peer) -> Self {
        Liveness {
            peer,
            ticks: 0,
            next_check: Instant::now() + CHECK_INTERVAL,
        }
    }

    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// Cheap check for spin loops: call it on every empty poll.
    #[inline]
    pub fn tick(&mut self) -> Result<(), PeerError> {
        self.ticks = self.ticks.wrapping_add(1);
        if !self.ticks.is_multiple_of(TICKS_PER_CLOCK_READ) {
            return Ok(());
        }
        self.check_if_due()
    }

    /// Busy-waits until `poll` returns a value: spin-loop hints at first,
    /// then a yield between polls, checking the peer as it goes. No system
    /// call is made while the peer answers within [`SPINS_BEFORE_YIELD`] polls.
    #[inline]
    pub fn spin_until<T>(&mut self, mut poll: impl FnMut() -> Option<T>) -> Result<T, PeerError> {
        let mut spins = 0u32;
        loop {
            if let Some(value) = poll() {
                return Ok(value);
            }
            let checked = if spins < SPINS_BEFORE_YIELD {
                spins += 1;
                std::hint::spin_loop();
                self.tick()
            } else {
                std::thread::yield_now();
                self.check_if_due()
            };
            if let Err(gone) = checked {
                // A peer may send its last message and exit between our poll
                // and the check (the child does, after acknowledging the stop):
                // look once more before calling the message lost.
                return poll().ok_or(gone);
            }
        }
    }

    /// Checks the peer if the last check is older than [`CHECK_INTERVAL`].
    pub fn check_if_due(&mut self) -> Result<(), PeerError> {
        let now = Instant::now();
        if now < self.next_check {
            return Ok(());
        }
        self.next_check = now + CHECK_INTERVAL;
        self.check_now()
    }

    /// Checks the peer and the interrupt flag now.
    pub fn check_now(&mut self) -> Result<(), PeerError> {
        if interrupted() {
            return Err(PeerError::Interrupted(Interrupted));
        }
        match self.peer {
            Peer::Child(pid) => match child_exit(pid) {
                Some(how) => Err(PeerError::ChildExited(how)),
                None => Ok(()),
            },
            Peer::Parent(pid) => {
                if parent_alive(pid) {
                    Ok(())
                } else {
                    Err(PeerError::ParentGone(pid))
                }
            }
            Peer::InProcess => Ok(()),
        }
    }
}

/// Whether a Ctrl-C or SIGTERM has arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Acquire)
}

/// Marks the run as interrupted (what the signal handler does).
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::Release);
}

/// Installs the Ctrl-C / SIGTERM handler for this process. It only raises the
/// interrupt flag: every wait checks it, the engine checks it between round
/// trips, and the [`Watchdog`] deals with anything stuck beyond that.
pub fn install_signal_handler() -> anyhow::Result<()> {
    ctrlc::set_handler(interrupt)
        .map_err(|e| anyhow::anyhow!("cannot install the Ctrl-C handler: {e}"))
}

/// Records a child's pid, so the watchdog and a forced exit never leave it
/// running.
pub fn register_child(pid: u32) {
    children().push(pid);
}

/// Forgets a child that has been reaped (its pid may be reused).
pub fn forget_child(pid: u32) {
    children().retain(|&p| p != pid);
}

fn children() -> std::sync::MutexGuard<'static, Vec<u32>> {
    // A panic while holding the lock leaves a plain list of numbers, still usable.
    CHILD_PIDS.lock().unwrap_or_else(|e| e.into_inner())
}

fn kill_registered_children() {
    for &pid in children().iter() {
        kill_process(pid);
    }
}

/// After an interrupt, how long a blocking transport may keep the parent
/// waiting before the watchdog kills the child to wake it.
const KILL_CHILD_AFTER: Duration = Duration::from_millis(300);
/// After an interrupt or the peer's death, how long the run may take to stop
/// by itself before the watchdog cleans up and exits the process.
pub const FORCED_EXIT_AFTER: Duration = Duration::from_millis(1500);

/// How far a run has come, as the parent's engine sees it: a count it
/// bumps after each round trip, each stream message sent and each
/// acknowledgement read, which the [`Watchdog`] compares with its last look.
/// Nothing is published through it (the watchdog only asks whether the
/// count changed), so Relaxed loads and stores are enough: a plain store
/// per round trip, no locked instruction.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<ProgressState>);

#[derive(Debug, Default)]
struct ProgressState {
    count: AtomicU64,
    /// Whether a stall counts now (the engine is running).
    armed: AtomicBool,
    /// Set by the watchdog when it gave up on the child: the deadline, in
    /// nanoseconds (0: no stall).
    stalled_after_ns: AtomicU64,
}

impl Progress {
    /// Records that the run moved on; `count` must differ from the last one.
    #[inline]
    pub fn advance(&self, count: u64) {
        self.0.count.store(count, Ordering::Relaxed);
    }

    /// From now on, a stall counts (the engine has started).
    pub fn arm(&self) {
        self.0.armed.store(true, Ordering::Relaxed);
    }

    /// From now on, nothing is expected (the engine has ended).
    pub fn disarm(&self) {
        self.0.armed.store(false, Ordering::Relaxed);
    }

    /// The deadline the child missed, when the watchdog stopped it for that.
    pub fn stalled(&self) -> Option<Duration> {
        match self.0.stalled_after_ns.load(Ordering::Relaxed) {
            0 => None,
            ns => Some(Duration::from_nanos(ns)),
        }
    }
}

/// Watches a [`Progress`] for a stall: no change for longer than `deadline`
/// while armed.
struct StallWatch {
    progress: Progress,
    deadline: Duration,
    last: Option<(u64, Instant)>,
}

impl StallWatch {
    /// Whether the run has stalled, as of now.
    fn stalled(&mut self, now: Instant) -> bool {
        let state = &self.progress.0;
        if !state.armed.load(Ordering::Relaxed)
            || state.stalled_after_ns.load(Ordering::Relaxed) != 0
        {
            self.last = None;
            return false;
        }
        let count = state.count.load(Ordering::Relaxed);
        match self.last {
            Some((seen, since)) if seen == count => {
                if now.duration_since(since) <= self.deadline {
                    return false;
                }
                let ns = (self.deadline.as_nanos() as u64).max(1);
                state.stalled_after_ns.store(ns, Ordering::Relaxed);
                true
            }
            _ => {
                self.last = Some((count, now));
                false
            }
        }
    }
}

/// A thread that makes sure a run ends soon after the user interrupts it or
/// the peer dies, even if the main thread is stuck somewhere no check reaches
/// (say, a process-shared mutex whose holder was killed). Disarmed on drop.
pub struct Watchdog {
    _disarm: std::sync::mpsc::Sender<()>,
}

impl Watchdog {
    /// Starts watching `peer`; `cleanup` runs before a forced exit, given
    /// the peer's pid (it removes shared-memory regions and what the dead
    /// peer left, since destructors will not run).
    pub fn start(peer: Peer, cleanup: fn(u32)) -> Self {
        Self::start_with(peer, cleanup, None)
    }

    /// [`start`](Self::start), and also stops the child (SIGKILL) when
    /// `progress` stands still for longer than `deadline` while armed: a
    /// stopped or stuck child would otherwise keep the parent waiting for
    /// ever, or fold the stall into a figure. The kill wakes any wait (a
    /// closed connection, a dead peer) and the run reports the stall.
    pub fn watching_progress(
        child: u32,
        cleanup: fn(u32),
        progress: Progress,
        deadline: Duration,
    ) -> Self {
        let stall = StallWatch {
            progress,
            deadline,
            last: None,
        };
        Self::start_with(Peer::Child(child), cleanup, Some(stall))
    }

    fn start_with(peer: Peer, cleanup: fn(u32), mut stall: Option<StallWatch>) -> Self {
        let (disarm, disarmed) = std::sync::mpsc::channel::<()>();
        let watch = move || {
            let mut trouble_since: Option<Instant> = None;
            let mut child_killed = false;
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                disarmed.recv_timeout(CHECK_INTERVAL)
            {
                if let (Some(stall), Peer::Child(pid)) = (stall.as_mut(), peer) {
                    if stall.stalled(Instant::now()) {
                        kill_process(pid);
                    }
                }
                let trouble = if interrupted() {
                    Some(PeerError::Interrupted(Interrupted))
                } else {
                    Liveness::new(peer).check_now().err()
                };
                let Some(trouble) = trouble else {
                    trouble_since = None;
                    continue;
                };
                let waited = trouble_since.get_or_insert_with(Instant::now).elapsed();
                if trouble == PeerError::Interrupted(Interrupted)
                    && waited >= KILL_CHILD_AFTER
                    && !child_killed
                {
                    // Wakes a parent blocked in a receive that only a closed
                    // connection can end.
                    kill_registered_children();
                    child_killed = true;
                }
                if waited >= FORCED_EXIT_AFTER {
                    eprintln!("error: {trouble}, and the run did not stop within {FORCED_EXIT_AFTER:?}; cleaning up and exiting");
                    cleanup(peer.pid().unwrap_or(0));
                    kill_registered_children();
                    let code = if trouble == PeerError::Interrupted(Interrupted) {
                        130
                    } else {
                        1
                    };
                    std::process::exit(code);
                }
            }
        };
        if let Err(e) = std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(watch)
        {
            eprintln!("warning: cannot start the watchdog thread ({e}); a stuck run will not be forced to end");
        }
        Watchdog { _disarm: disarm }
    }
}

/// Sends SIGKILL to `pid`.
#[cfg(unix)]
pub fn kill_process(pid: u32) {
    // SAFETY: kill(2) has no memory-safety preconditions; a stale pid at worst
    // fails with ESRCH, which is ignored.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
}

#[cfg(not(unix))]
pub fn kill_process(_pid: u32) {}

/// Reports how child `pid` ended, without reaping it (so `std::process::Child`
/// can still collect its status later), or `None` while it runs.
#[cfg(unix)]
fn child_exit(pid: u32) -> Option<String> {
    // SAFETY: siginfo_t is plain data, for which all-zero is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a valid, writable siginfo_t; WNOWAIT leaves the child
    // waitable, so the owner of the Child handle still reaps it.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if rc != 0 {
        // ECHILD: already reaped by its owner, so certainly not running.
        return Some("is gone".to_string());
    }
    // SAFETY: waitid filled `info` (or left it zeroed, si_pid 0, when the child
    // is still running); reading si_pid/si_status of a SIGCHLD info is defined.
    let (si_pid, code, status) = unsafe { (info.si_pid(), info.si_code, info.si_status()) };
    if si_pid == 0 {
        return None;
    }
    Some(match code {
        libc::CLD_EXITED => format!("exited with status {status}"),
        libc::CLD_KILLED | libc::CLD_DUMPED => {
            format!("was killed by signal {status} ({})", signal_name(status))
        }
        _ => "ended".to_string(),
    })
}

#[cfg(not(unix))]
fn child_exit(_pid: u32) -> Option<String> {
    None
}

/// Whether the process that spawned us (pid `pid`) is still our parent.
#[cfg(unix)]
pub fn parent_alive(pid: u32) -> bool {
    // SAFETY: getppid cannot fail. When our parent dies we are re-parented, so
    // a different parent pid means the original one is gone.
    unsafe { libc::getppid() as u32 == pid }
}

#[cfg(not(unix))]
pub fn parent_alive(_pid: u32) -> bool {
    true
}

/// Asks the kernel to send this process SIGTERM when its parent dies (Linux).
/// SIGTERM rather than SIGKILL: the handler turns it into the interrupt flag,
/// so a child waiting on shared memory stops within a check interval and can
/// still remove the region the dead parent left. Blocking transports wake up
/// anyway, because the parent's death closes their connection. Elsewhere the
/// periodic [`Liveness`] check of the parent pid does the same job.
pub fn die_with_parent() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and has no memory effects.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
    }
}

/// A short name for the signals users meet here.
pub fn signal_name(signal: i32) -> &'static str {
    #[cfg(unix)]
    {
        match signal {
            libc::SIGKILL => "SIGKILL",
            libc::SIGTERM => "SIGTERM",
            libc::SIGINT => "SIGINT",
            libc::SIGSEGV => "SIGSEGV",
            libc::SIGABRT => "SIGABRT",
            libc::SIGBUS => "SIGBUS",
            libc::SIGPIPE => "SIGPIPE",
            _ => "signal",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = signal;
        "signal"
    }
}
