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
    /// Other programs that used at least a tenth of a core: while the
    /// result's rounds ran, each with the rounds it was busy in, when they
    /// were looked at round by round (see `rounds_watched`); over the whole
    /// run otherwise.
    pub busy_processes: Vec<BusyProcess>,
    /// How many of the result's rounds were looked at for busy programs;
    /// null when only the whole run was (`doctor`, older files).
    #[serde(default)]
    pub rounds_watched: Option<usize>,
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

/// A program that competed for the CPU during the run (or one round).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusyProcess {
    pub pid: u32,
    pub name: String,
    /// Cores' worth of CPU it used on average (0.5 = half a core): while
    /// the rounds in `rounds` ran, or over the whole time looked at when
    /// that is empty.
    pub cores: f64,
    /// The rounds it was busy in; empty for one round's own list, the
    /// whole run's, and in older files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rounds: Vec<usize>,
}

/// Most busy programs a result (or one look between rounds) names.
pub const MOST_NAMED: usize = 5;

impl Environment {
    /// This environment with its busy programs read round by round: from
    /// each round's number and its list (`None`: not looked at). Leaves the
    /// whole run's list when no round was looked at.
    pub fn with_rounds<'a>(
        mut self,
        rounds: impl IntoIterator<Item = (usize, Option<&'a [BusyProcess]>)>,
    ) -> Self {
        let mut watched = 0;
        let mut seen: Vec<BusyProcess> = Vec::new();
        for (round, busy) in rounds {
            let Some(busy) = busy else { continue };
            watched += 1;
            for p in busy {
                match seen.iter_mut().find(|s| s.pid == p.pid && s.name == p.name) {
                    Some(s) => {
                        // A running mean over the rounds it was busy in.
                        let n = s.rounds.len() as f64;
                        s.cores = (s.cores * n + p.cores) / (n + 1.0);
                        s.rounds.push(round);
                    }
                    None => seen.push(BusyProcess {
                        rounds: vec![round],
                        ..p.clone()
                    }),
                }
            }
        }
        if watched > 0 {
            // The busiest: the most CPU over the rounds watched.
            let weight = |p: &BusyProcess| p.cores * p.rounds.len() as f64;
            seen.sort_by(|a, b| weight(b).total_cmp(&weight(a)));
            seen.truncate(MOST_NAMED);
            self.busy_processes = seen;
            self.rounds_watched = Some(watched);
        }
        self
    }
}

/// `1–3, 5, 7–8`: round numbers as ranges.
fn round_ranges(rounds: &[usize]) -> String {
    let mut sorted = rounds.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        parts.push(match j - i {
            0 => sorted[i].to_string(),
            _ => format!("{}–{}", sorted[i], sorted[j]),
        });
        i = j + 1;
    }
    parts.join(", ")
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
            let when = match self.rounds_watched {
                Some(watched) if !p.rounds.is_empty() => format!(
                    " while {} of {watched} rounds ran (round{} {})",
                    p.rounds.len(),
                    if p.rounds.len() == 1 { "" } else { "s" },
                    round_ranges(&p.rounds)
                ),
                _ => String::new(),
            };
            out.push(format!(
                "another program was busy: {} (pid {}) used {:.0} % of a core{when}",
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

#[cfg(test)]
mod tests {
    use super::*;

    fn busy(pid: u32, name: &str, cores: f64) -> BusyProcess {
        BusyProcess {
            pid,
            name: name.to_string(),
            cores,
            rounds: Vec::new(),
        }
    }

    fn quiet() -> Environment {
        Environment {
            virtualized: None,
            steal_percent: None,
            load_average: None,
            busy_processes: vec![busy(9, "whole run", 0.2)],
            rounds_watched: None,
            governors: Vec::new(),
            smt_siblings: None,
            clock_source: None,
            isolated_cpus: None,
            logical_cores: 2,
        }
    }

    #[test]
    fn busy_programs_are_named_with_the_rounds_they_ran_in() {
        let a = [busy(7, "ipc-bench", 0.9)];
        let b = [busy(7, "ipc-bench", 0.5), busy(8, "cc1", 0.2)];
        let rounds: [(usize, Option<&[BusyProcess]>); 5] = [
            (1, Some(&a)),
            (2, Some(&b)),
            (3, Some(&[])),
            (4, None),
            (5, Some(&a)),
        ];
        let env = quiet().with_rounds(rounds);
        assert_eq!(env.rounds_watched, Some(4));
        let warnings = env.warnings();
        assert_eq!(
            warnings,
            [
                "another program was busy: ipc-bench (pid 7) used 77 % of a core while 3 of 4 rounds ran (rounds 1–2, 5)",
                "another program was busy: cc1 (pid 8) used 20 % of a core while 1 of 4 rounds ran (round 2)",
            ]
        );
        // No round looked at: the whole run's list stays, said as before.
        let env = quiet().with_rounds([(1, None)]);
        assert_eq!(
            env.warnings(),
            ["another program was busy: whole run (pid 9) used 20 % of a core"]
        );
        // Looked at and nobody busy: nobody named.
        assert!(quiet()
            .with_rounds([(1, Some(&[][..]))])
            .warnings()
            .is_empty());
    }

    #[test]
    fn rounds_read_as_ranges() {
        assert_eq!(round_ranges(&[5, 1, 2, 3, 7, 8, 8]), "1–3, 5, 7–8");
        assert_eq!(round_ranges(&[4]), "4");
    }
}
