//! What on this machine moved the figures, as results record it: the
//! sentences a result warns with and the `doctor` report. Reading it is
//! [`crate::measure::environment`]'s.

use serde::{Deserialize, Serialize};

/// The environment over one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// Whether the CPU reports a hypervisor.
    pub virtualized: Option<bool>,
    /// CPU time stolen by the hypervisor over the run, as a percentage of all
    /// CPU time (`/proc/stat`).
    pub steal_percent: Option<f64>,
    /// One-minute load average at the start and at the end.
    pub load_average: Option<(f64, f64)>,
    /// Other processes that used at least a tenth of a core over the run.
    pub busy_processes: Vec<BusyProcess>,
    /// The cpufreq governor of each core that has one (`performance`,
    /// `powersave`, `schedutil`, ...), deduplicated.
    pub governors: Vec<String>,
    /// For a run pinned to two cores: whether they are SMT siblings (two
    /// hyper-threads of one physical core).
    pub smt_siblings: Option<bool>,
    pub clock_source: Option<String>,
    /// CPUs isolated from the scheduler (`isolcpus`), as the kernel lists them.
    pub isolated_cpus: Option<String>,
    pub logical_cores: usize,
}

/// A process that competed for the CPU during the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusyProcess {
    pub pid: u32,
    pub name: String,
    /// Cores' worth of CPU it used on average over the run (0.5 = half a core).
    pub cores: f64,
}

impl Environment {
    /// The sentences a result's `warnings` carry about the environment.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(steal) = self.steal_percent {
            if steal >= 1.0 {
                out.push(format!(
                    "the machine is virtualized and lost {steal:.0} % of its CPU time to steal by the hypervisor"
                ));
            }
        }
        for p in &self.busy_processes {
            out.push(format!(
                "another program was busy: {} (pid {}) used {:.0} % of a core",
                p.name,
                p.pid,
                p.cores * 100.0
            ));
        }
        if let Some((_, end)) = self.load_average {
            // The two processes being measured account for about 2.
            if end > self.logical_cores as f64 + 0.5 {
                out.push(format!(
                    "load average {end:.1} on {} cores: programs waited for a CPU",
                    self.logical_cores
                ));
            }
        }
        if self.smt_siblings == Some(true) {
            out.push("the two cores used are SMT siblings (one physical core)".to_string());
        }
        out
    }

    /// The `doctor` report: each fact with what to do about it.
    pub fn report(&self) -> Vec<(String, String, Option<String>)> {
        let unknown = || "unknown".to_string();
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        let mut rows = Vec::new();
        rows.push((
            "logical cores".into(),
            self.logical_cores.to_string(),
            (self.logical_cores < 4).then(|| {
                "parent and child each spin on a core: with two cores nothing is left for the rest of the system, so close other programs while measuring".to_string()
            }),
        ));
        rows.push((
            "virtualized".into(),
            self.virtualized.map_or_else(unknown, yes_no),
            (self.virtualized == Some(true)).then(|| {
                "the host moves this machine's speed for minutes at a time: keep the default rounds (interleaved), compare only runs with intervals, and prefer bare metal for final figures".to_string()
            }),
        ));
        rows.push((
            "steal time".into(),
            self.steal_percent
                .map_or_else(unknown, |s| format!("{s:.1} %")),
            self.steal_percent.filter(|s| *s >= 1.0).map(|_| {
                "the hypervisor ran other guests on these CPUs: figures from this period are slower and noisier".to_string()
            }),
        ));
        rows.push((
            "load average".into(),
            self.load_average
                .map_or_else(unknown, |(a, b)| format!("{a:.2} → {b:.2}")),
            self.load_average
                .filter(|(_, b)| *b > 0.5)
                .map(|_| "programs ran in the last minute (a benchmark that just ended counts too): wait for it to fall below 0.5, or close what runs".to_string()),
        ));
        rows.push((
            "busy programs".into(),
            if self.busy_processes.is_empty() {
                "none".into()
            } else {
                self.busy_processes
                    .iter()
                    .map(|p| format!("{} ({:.0} %)", p.name, p.cores * 100.0))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            (!self.busy_processes.is_empty()).then(|| {
                "close these while measuring (a compiler, a browser, an indexer)".to_string()
            }),
        ));
        rows.push((
            "frequency governor".into(),
            if self.governors.is_empty() {
                unknown()
            } else {
                self.governors.join(", ")
            },
            self.governors
                .iter()
                .any(|g| g != "performance")
                .then(|| "on bare metal, `cpupower frequency-set -g performance` keeps the clock from ramping between rounds".to_string()),
        ));
        rows.push((
            "clock source".into(),
            self.clock_source.clone().unwrap_or_else(unknown),
            self.clock_source
                .as_deref()
                .filter(|c| !matches!(*c, "tsc" | "arch_sys_counter"))
                .map(|c| format!("{c} is slower to read than tsc: per-round-trip latency includes more clock overhead")),
        ));
        rows.push((
            "isolated CPUs".into(),
            match self.isolated_cpus.as_deref() {
                Some("") => "none".into(),
                Some(list) => list.to_string(),
                None => unknown(),
            },
            matches!(self.isolated_cpus.as_deref(), Some("")).then(|| {
                "on a dedicated machine, booting with isolcpus=2,3 and measuring with --pin cross on those cores removes most scheduler noise".to_string()
            }),
        ));
        rows
    }
}
