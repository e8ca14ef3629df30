//! What on this machine moves the figures, read at the start and the end of
//! a run: virtualization and the time the hypervisor stole, the load and
//! other busy programs, the frequency governor, whether the two cores in use
//! are SMT siblings, the clock source and isolated CPUs. Most of it comes
//! from Linux's `/proc` and `/sys`; elsewhere those parts are `None`
//! ("unknown").

use crate::record::environment::{BusyProcess, Environment};
use crate::record::machine::MachineInfo;
use std::time::Instant;

/// What is read at the start, to subtract at the end.
pub struct Probe {
    started: Instant,
    cpu: Option<CpuTimes>,
    load: Option<f64>,
    processes: Vec<(u32, String, u64)>,
}

/// System-wide CPU time from `/proc/stat`, in clock ticks.
#[derive(Debug, Clone, Copy)]
struct CpuTimes {
    total: u64,
    steal: u64,
}

impl Probe {
    pub fn start() -> Self {
        Probe {
            started: Instant::now(),
            cpu: linux::cpu_times(),
            load: linux::load_average(),
            processes: linux::process_ticks(),
        }
    }

    /// The environment from the start until now; `cores` are the two cores a
    /// pinned run used.
    pub fn finish(&self, cores: Option<(usize, usize)>) -> Environment {
        let steal_percent = match (self.cpu, linux::cpu_times()) {
            (Some(a), Some(b)) if b.total > a.total => {
                Some(100.0 * b.steal.saturating_sub(a.steal) as f64 / (b.total - a.total) as f64)
            }
            _ => None,
        };
        let load_average = self.load.zip(linux::load_average());
        let wall = self.started.elapsed().as_secs_f64();
        Environment {
            virtualized: crate::measure::machine::virtualized(),
            steal_percent,
            load_average,
            busy_processes: busy_since(&self.processes, &linux::process_ticks(), wall),
            governors: linux::governors(),
            smt_siblings: cores.and_then(|(a, b)| linux::smt_siblings(a, b)),
            clock_source: linux::clock_source(),
            isolated_cpus: linux::isolated_cpus(),
            logical_cores: MachineInfo::current().logical_cores,
        }
    }
}

/// Processes (other than this one and its children) whose CPU time grew by at
/// least a tenth of a core over `wall` seconds, busiest first.
fn busy_since(
    before: &[(u32, String, u64)],
    after: &[(u32, String, u64)],
    wall: f64,
) -> Vec<BusyProcess> {
    let ticks_per_sec = linux::ticks_per_second();
    if wall <= 0.0 || ticks_per_sec <= 0.0 {
        return Vec::new();
    }
    let me = std::process::id();
    let mut busy: Vec<BusyProcess> = after
        .iter()
        .filter(|(pid, _, _)| *pid != me)
        .filter_map(|(pid, name, ticks)| {
            let (_, _, earlier) = before.iter().find(|(p, n, _)| p == pid && n == name)?;
            let cores = ticks.saturating_sub(*earlier) as f64 / ticks_per_sec / wall;
            (cores >= 0.1).then(|| BusyProcess {
                pid: *pid,
                name: name.clone(),
                cores,
            })
        })
        .collect();
    busy.sort_by(|a, b| b.cores.total_cmp(&a.cores));
    busy.truncate(5);
    busy
}

/// Linux's `/proc` and `/sys`; every reader returns `None` (or nothing)
/// where they do not exist.
mod linux {
    use super::CpuTimes;

    #[cfg(target_os = "linux")]
    fn read(path: &str) -> Option<String> {
        std::fs::read_to_string(path)
            .ok()
            .map(|s| s.trim().to_string())
    }

    #[cfg(target_os = "linux")]
    pub fn cpu_times() -> Option<CpuTimes> {
        let stat = read("/proc/stat")?;
        let line = stat.lines().next()?.strip_prefix("cpu ")?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal (guest is inside user).
        let steal = *fields.get(7)?;
        Some(CpuTimes {
            total: fields.iter().take(8).sum(),
            steal,
        })
    }

    #[cfg(not(target_os = "linux"))]
    pub fn cpu_times() -> Option<CpuTimes> {
        None
    }

    #[cfg(target_os = "linux")]
    pub fn load_average() -> Option<f64> {
        read("/proc/loadavg")?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    #[cfg(not(target_os = "linux"))]
    pub fn load_average() -> Option<f64> {
        None
    }

    /// (pid, name, utime + stime in ticks) of every process.
    #[cfg(target_os = "linux")]
    pub fn process_ticks() -> Vec<(u32, String, u64)> {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        dir.filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                // The name is in parentheses and may hold spaces: split after the last ')'.
                let open = stat.find('(')?;
                let close = stat.rfind(')')?;
                let name = stat.get(open + 1..close)?.to_string();
                let rest: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
                // Fields 14 and 15 (utime, stime) are at 11 and 12 after the name.
                let ticks =
                    rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?;
                Some((pid, name, ticks))
            })
            .collect()
    }

    #[cfg(not(target_os = "linux"))]
    pub fn process_ticks() -> Vec<(u32, String, u64)> {
        Vec::new()
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

    #[cfg(target_os = "linux")]
    pub fn governors() -> Vec<String> {
        let mut found: Vec<String> = (0..crate::record::MachineInfo::current().logical_cores)
            .filter_map(|cpu| {
                read(&format!(
                    "/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor"
                ))
            })
            .collect();
        found.sort();
        found.dedup();
        found
    }

    #[cfg(not(target_os = "linux"))]
    pub fn governors() -> Vec<String> {
        Vec::new()
    }

    /// Whether `b` is in `a`'s thread-sibling list (`0-1`, `0,4`).
    #[cfg(target_os = "linux")]
    pub fn smt_siblings(a: usize, b: usize) -> Option<bool> {
        if a == b {
            return None;
        }
        let list = read(&format!(
            "/sys/devices/system/cpu/cpu{a}/topology/thread_siblings_list"
        ))?;
        Some(super::cpu_list_contains(&list, b))
    }

    #[cfg(not(target_os = "linux"))]
    pub fn smt_siblings(_a: usize, _b: usize) -> Option<bool> {
        None
    }

    #[cfg(target_os = "linux")]
    pub fn clock_source() -> Option<String> {
        read("/sys/devices/system/clocksource/clocksource0/current_clocksource")
    }

    #[cfg(not(target_os = "linux"))]
    pub fn clock_source() -> Option<String> {
        None
    }

    #[cfg(target_os = "linux")]
    pub fn isolated_cpus() -> Option<String> {
        read("/sys/devices/system/cpu/isolated")
    }

    #[cfg(not(target_os = "linux"))]
    pub fn isolated_cpus() -> Option<String> {
        None
    }
}

/// Whether a kernel CPU list (`0-3,8,10-11`) holds `cpu`.
fn cpu_list_contains(list: &str, cpu: usize) -> bool {
    list.split(',').any(|part| {
        let part = part.trim();
        match part.split_once('-') {
            Some((lo, hi)) => matches!(
                (lo.parse::<usize>(), hi.parse::<usize>()),
                (Ok(lo), Ok(hi)) if (lo..=hi).contains(&cpu)
            ),
            None => part.parse::<usize>() == Ok(cpu),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_are_read_like_the_kernel_writes_them() {
        assert!(cpu_list_contains("0-1", 1));
        assert!(cpu_list_contains("0,4", 4));
        assert!(!cpu_list_contains("0,4", 1));
        assert!(cpu_list_contains("0-3,8,10-11", 10));
        assert!(!cpu_list_contains("", 0));
    }

    #[test]
    fn only_other_busy_processes_are_named() {
        let me = std::process::id();
        let before = vec![
            (me, "ipc-bench".to_string(), 0),
            (10, "cc1".to_string(), 100),
            (11, "idle".to_string(), 5),
            (12, "reused".to_string(), 0),
        ];
        let tps = linux::ticks_per_second();
        if tps <= 0.0 {
            return; // no tick counts on this platform
        }
        let ticks = |cores: f64| (cores * tps * 2.0) as u64; // over 2 s
        let after = vec![
            (me, "ipc-bench".to_string(), ticks(2.0)),
            (10, "cc1".to_string(), 100 + ticks(0.9)),
            (11, "idle".to_string(), 5 + ticks(0.01)),
            (12, "other-name".to_string(), ticks(1.0)), // a new process under an old pid
        ];
        let busy = busy_since(&before, &after, 2.0);
        assert_eq!(busy.len(), 1, "{busy:?}");
        assert_eq!(busy[0].name, "cc1");
        assert!((busy[0].cores - 0.9).abs() < 0.05, "{busy:?}");
    }

    #[test]
    fn a_probe_reads_what_the_platform_has() {
        let env = Probe::start().finish(None);
        assert!(env.logical_cores >= 1);
        #[cfg(target_os = "linux")]
        {
            assert!(env.load_average.is_some());
            assert!(env.clock_source.is_some());
        }
        // Every fact has a row in the doctor report.
        assert_eq!(env.report().len(), 8);
    }
}
