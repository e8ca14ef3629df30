//! What every case of one `run` or `matrix` shares (rounds, precision,
//! budget, the engine's phases, the child, the timeouts), and how a case's
//! traffic adjusts it: a round at a low fixed rate is sized by requests.

use crate::measure::engine::EngineConfig;
use crate::record::Traffic;
use std::path::PathBuf;
use std::time::Duration;

/// What every case of one `run` or `matrix` shares.
#[derive(Debug, Clone)]
pub struct CaseSettings {
    /// How many times each case runs at least (each time a fresh child):
    /// the planned rounds, after which its interval is first looked at.
    pub rounds: usize,
    /// The most rounds a case may take while its interval is too wide.
    pub max_rounds: usize,
    /// The interval's aim as a share of the median (0.05: ±5 %); `None`:
    /// the planned rounds and no more.
    pub precision: Option<f64>,
    /// The whole run's time budget for rounds beyond the planned ones.
    pub max_time: Option<Duration>,
    pub engine: EngineConfig,
    /// The executable to run as the child; `None` re-executes this one.
    pub child_bin: Option<PathBuf>,
    /// How long each handshake step may take.
    pub handshake_timeout: Duration,
    /// How long a running round may go without a reply, an acknowledgement
    /// or a stream send before the child is stopped and the round fails.
    pub stall_timeout: Duration,
    /// Say on stderr when the warm-up and the measured phase begin (a single
    /// run does; a matrix shows its own progress instead).
    pub announce_phases: bool,
}

/// The fewest requests a round at a fixed rate holds, however short
/// `--duration`: enough for the round's own p50 with a 95 % interval (the
/// 6th to the 15th of 20) and, over the 10 planned rounds, 200 for the p99
/// (the 198th, between the 195th and the largest). At 1/s a round lasts
/// 20 s; at 200/s and above, `--duration` (0.1 s) holds them already.
pub const MIN_DUE_REQUESTS: u64 = 20;

impl CaseSettings {
    /// These settings for a case with `traffic`: at a fixed rate, each
    /// round's measured phase long enough to hold [`MIN_DUE_REQUESTS`].
    pub fn for_traffic(&self, traffic: &Traffic) -> CaseSettings {
        let mut settings = self.clone();
        if let Some(schedule) = traffic.schedule() {
            let floor =
                Duration::from_secs_f64(MIN_DUE_REQUESTS as f64 / schedule.per_sec() as f64);
            settings.engine.duration = settings.engine.duration.max(floor);
        }
        settings
    }

    /// About how long the planned rounds of `cases` take (each round its
    /// warm-up, its measured phase, and a tenth of a second to start and
    /// stop its child).
    pub fn planned_time<'a>(cases: impl IntoIterator<Item = &'a CaseSettings>) -> Duration {
        cases
            .into_iter()
            .map(|s| {
                (s.engine.warmup + s.engine.duration + Duration::from_millis(100)) * s.rounds as u32
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(duration_ms: u64) -> CaseSettings {
        CaseSettings {
            rounds: 10,
            max_rounds: 60,
            precision: None,
            max_time: None,
            engine: EngineConfig {
                warmup: Duration::from_millis(100),
                duration: Duration::from_millis(duration_ms),
                record_latency: true,
                settle: true,
            },
            child_bin: None,
            handshake_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(2),
            announce_phases: false,
        }
    }

    #[test]
    fn a_round_at_a_low_rate_holds_its_requests() {
        let s = settings(100);
        let at = |rate: u64| s.for_traffic(&Traffic::rate(rate)).engine.duration;
        assert_eq!(at(1), Duration::from_secs(20));
        assert_eq!(at(10), Duration::from_secs(2));
        assert_eq!(at(100), Duration::from_millis(200));
        // Fast enough already: --duration stands.
        assert_eq!(at(1_000), Duration::from_millis(100));
        assert_eq!(
            s.for_traffic(&Traffic::default()).engine.duration,
            Duration::from_millis(100)
        );
        assert_eq!(
            s.for_traffic(&Traffic::stream(64)).engine.duration,
            Duration::from_millis(100)
        );
        // Ten rounds of 0.1 s warm-up, the phase and 0.1 s to start and stop.
        let planned = CaseSettings::planned_time([&s, &s.for_traffic(&Traffic::rate(1))]);
        assert_eq!(planned, Duration::from_millis(10 * 300 + 10 * 20_200));
    }
}
