//! The other programs busy while a case runs, round by round. A look reads
//! every process's CPU time (`/proc/<pid>/stat` on Linux); what a process
//! used between two looks is the growth of its time, or all of it for a
//! process that began after the first look (a neighbour that started after
//! the run did is named too). This process and its children (the rounds'
//! child processes) are never named. Where there is no `/proc`, nothing is
//! looked at, and rounds record `None` ("not looked"), never "nobody".

use crate::record::environment::MOST_NAMED;
use crate::record::BusyProcess;
use std::time::Instant;

/// A program is named when it used at least this much of a core between
/// two looks: below it, a daemon's wake-ups; at it, a tenth of one of the
/// cores the case runs on.
pub const BUSY_CORES: f64 = 0.1;
/// ... and at least this many clock ticks: the kernel counts CPU time in
/// ticks (10 ms at the usual 100 Hz), so a single tick inside a 50 ms round
/// would read as a fifth of a core.
const MIN_TICKS: u64 = 2;

/// One process's CPU time at a look.
#[derive(Debug, Clone, PartialEq)]
struct ProcessTime {
    pid: u32,
    /// Its parent's pid: this process's children are left out.
    parent: u32,
    /// When it started, in ticks since boot: with `pid`, who it is (a pid
    /// may be reused between two looks).
    start: u64,
    name: String,
    /// User and system CPU time, in ticks.
    ticks: u64,
}

/// Every process's CPU time at one moment.
pub struct Look {
    at: Instant,
    processes: Vec<ProcessTime>,
}

impl Look {
    /// Every process now; `None` where processes cannot be read.
    pub fn now() -> Option<Look> {
        Some(Look {
            processes: proc::processes()?,
            at: Instant::now(),
        })
    }

    /// The other programs that used at least [`BUSY_CORES`] of a core (and
    /// [`MIN_TICKS`]) between `earlier` and this look, busiest first, at
    /// most [`MOST_NAMED`].
    pub fn busy_since(&self, earlier: &Look) -> Vec<BusyProcess> {
        let wall = self.at.duration_since(earlier.at).as_secs_f64();
        busy_between(
            &earlier.processes,
            &self.processes,
            wall,
            proc::ticks_per_second(),
            std::process::id(),
        )
    }
}

fn busy_between(
    before: &[ProcessTime],
    after: &[ProcessTime],
    wall: f64,
    ticks_per_sec: f64,
    me: u32,
) -> Vec<BusyProcess> {
    if wall <= 0.0 || ticks_per_sec <= 0.0 {
        return Vec::new();
    }
    let mut busy: Vec<BusyProcess> = after
        .iter()
        .filter(|p| p.pid != me && p.parent != me)
        .filter_map(|p| {
            let earlier = before
                .iter()
                .find(|b| b.pid == p.pid && b.start == p.start)
                .map_or(0, |b| b.ticks);
            let ticks = p.ticks.saturating_sub(earlier);
            let cores = ticks as f64 / ticks_per_sec / wall;
            (ticks >= MIN_TICKS && cores >= BUSY_CORES).then(|| BusyProcess {
                pid: p.pid,
                name: p.name.clone(),
                cores,
                rounds: Vec::new(),
            })
        })
        .collect();
    busy.sort_by(|a, b| b.cores.total_cmp(&a.cores));
    busy.truncate(MOST_NAMED);
    busy
}

/// Looks taken between the rounds of a run: each round's neighbours are
/// what grew since the look before it.
pub struct Neighbours {
    last: Option<Look>,
}

impl Neighbours {
    /// The first look, before the first round.
    pub fn start() -> Self {
        Neighbours { last: Look::now() }
    }

    /// The programs busy since the last look (while the round that just
    /// ended ran), and this look as the next round's start; `None` where
    /// processes cannot be read.
    pub fn round_done(&mut self) -> Option<Vec<BusyProcess>> {
        let now = Look::now()?;
        let busy = self.last.as_ref().map(|earlier| now.busy_since(earlier));
        self.last = Some(now);
        busy
    }
}

/// Reading processes from Linux's `/proc`; elsewhere nothing.
mod proc {
    use super::ProcessTime;

    #[cfg(target_os = "linux")]
    pub fn processes() -> Option<Vec<ProcessTime>> {
        let dir = std::fs::read_dir("/proc").ok()?;
        Some(
            dir.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(|pid| {
                    // A process may end between listing and reading: skip it.
                    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                    parse_stat(pid, &stat)
                })
                .collect(),
        )
    }

    #[cfg(not(target_os = "linux"))]
    pub fn processes() -> Option<Vec<ProcessTime>> {
        None
    }

    /// One `/proc/<pid>/stat` line (see proc(5)).
    pub fn parse_stat(pid: u32, stat: &str) -> Option<ProcessTime> {
        // The name is in parentheses and may hold spaces and parentheses:
        // split after the last ')'.
        let open = stat.find('(')?;
        let close = stat.rfind(')')?;
        let name = stat.get(open + 1..close)?.to_string();
        let rest: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
        // Field n of proc(5) is at n - 3 after the name: ppid (4), utime
        // (14), stime (15), starttime (22).
        let field = |n: usize| rest.get(n - 3)?.parse::<u64>().ok();
        Some(ProcessTime {
            pid,
            parent: u32::try_from(field(4)?).ok()?,
            start: field(22)?,
            name,
            ticks: field(14)?.checked_add(field(15)?)?,
        })
    }

    #[cfg(target_os = "linux")]
    pub fn ticks_per_second() -> f64 {
        // SAFETY: sysconf has no memory-safety preconditions.
        unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
    }

    #[cfg(not(target_os = "linux"))]
    pub fn ticks_per_second() -> f64 {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: u32, parent: u32, start: u64, name: &str, ticks: u64) -> ProcessTime {
        ProcessTime {
            pid,
            parent,
            start,
            name: name.to_string(),
            ticks,
        }
    }

    #[test]
    fn a_stat_line_is_read_whatever_the_name_holds() {
        let line = "4242 (my (odd) prog) R 17 4242 17 0 -1 4194304 100 0 0 0 250 30 0 0 20 0 3 0 98765 1000 50";
        let p = proc::parse_stat(4242, line).unwrap();
        assert_eq!(p, process(4242, 17, 98765, "my (odd) prog", 280));
        assert_eq!(proc::parse_stat(1, "1 (init) S"), None);
        assert_eq!(proc::parse_stat(1, "no name here"), None);
    }

    #[test]
    fn neighbours_are_named_by_what_they_used_between_two_looks() {
        let me = 100;
        let before = [
            process(100, 1, 5, "ipc-bench", 0),
            process(200, 1, 6, "busy", 1_000),
            process(300, 1, 7, "idle", 50),
            process(400, 1, 8, "reused", 10),
        ];
        let after = [
            process(100, 1, 5, "ipc-bench", 500),
            // Our child, however busy, is ours.
            process(101, 100, 9, "ipc-bench", 400),
            // 80 ticks in 1 s at 100 Hz: 0.8 of a core.
            process(200, 1, 6, "busy", 1_080),
            // One tick: below the ticks asked for.
            process(300, 1, 7, "idle", 51),
            // Began after the first look: all its time counts.
            process(500, 1, 20, "newcomer", 30),
            // Same pid, a new process: counted from zero, not from 10.
            process(400, 1, 30, "reused", 12),
            // Five ticks in 1 s: below a tenth of a core.
            process(600, 1, 3, "light", 5),
        ];
        let busy = busy_between(&before, &after, 1.0, 100.0, me);
        let named: Vec<(u32, &str)> = busy.iter().map(|b| (b.pid, b.name.as_str())).collect();
        assert_eq!(named, [(200, "busy"), (500, "newcomer"), (400, "reused")]);
        assert!((busy[0].cores - 0.8).abs() < 1e-9);
        assert!((busy[1].cores - 0.3).abs() < 1e-9);
        assert!(busy_between(&before, &after, 0.0, 100.0, me).is_empty());
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_busy_program_is_named_and_this_process_and_its_children_never() {
        use std::os::unix::process::CommandExt;
        let mut neighbours = Neighbours::start();
        // A shell (our child) whose own child spins: a program of someone
        // else's, as far as this process can tell. Its own process group,
        // so that both end together.
        let mut shell = std::process::Command::new("sh")
            .args(["-c", "(while :; do :; done) & wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(400));
        let busy = neighbours.round_done();
        // SAFETY: kill has no memory-safety preconditions; the group is the
        // shell's, created above.
        unsafe { libc::kill(-(shell.id() as i32), libc::SIGKILL) };
        let _ = shell.wait();
        let busy = busy.unwrap();
        assert!(
            busy.iter().any(|b| b.name == "sh" && b.pid != shell.id()),
            "{busy:?}"
        );
        assert!(busy.iter().all(|b| b.pid != shell.id()), "{busy:?}");
        assert!(busy.iter().all(|b| b.pid != std::process::id()), "{busy:?}");
    }
}
