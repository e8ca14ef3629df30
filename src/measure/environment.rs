//! What on this machine moves the figures, read at the start and the end of
//! a run: virtualization and the time the hypervisor stole, the load and
//! other busy programs (round by round too: [`crate::measure::neighbours`]),
//! the frequency governor, whether the two cores in use are SMT siblings,
//! the clock source and isolated CPUs. Most of it comes
//! from Linux's `/proc` and `/sys`; elsewhere those parts are `None`
//! ("unknown").

use crate::measure::neighbours::Look;
use crate::record::environment::Environment;
use crate::record::machine::MachineInfo;

/// What is read at the start, to subtract at the end.
pub struct Probe {
    cpu: Option<CpuTimes>,
    load: Option<f64>,
    /// Every process's CPU time at the start.
    processes: Option<Look>,
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
            cpu: linux::cpu_times(),
            load: linux::load_average(),
            processes: Look::now(),
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
        Environment {
            virtualized: crate::measure::machine::virtualized(),
            steal_percent,
            load_average,
            busy_processes: match (&self.processes, Look::now()) {
                (Some(before), Some(now)) => now.busy_since(before),
                _ => Vec::new(),
            },
            rounds_watched: None,
            governors: linux::governors(),
            smt_siblings: cores.and_then(|(a, b)| linux::smt_siblings(a, b)),
            clock_source: linux::clock_source(),
            isolated_cpus: linux::isolated_cpus(),
            logical_cores: MachineInfo::current().logical_cores,
        }
    }
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
