//! Latency histograms and CPU time.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Highest latency the histogram tracks exactly; longer ones are clamped.
const MAX_TRACKED_NS: u64 = 60 * 1_000_000_000;

/// A round-trip latency histogram, in nanoseconds, with 3 significant digits.
#[derive(Clone, Debug)]
pub struct LatencyRecorder {
    histogram: Histogram<u64>,
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        LatencyRecorder {
            histogram: Histogram::new_with_bounds(1, MAX_TRACKED_NS, 3)
                .expect("static histogram bounds are valid"),
        }
    }
}

impl LatencyRecorder {
    #[inline]
    pub fn record(&mut self, latency: Duration) {
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.histogram.saturating_record(ns.max(1));
    }

    /// Adds every value `other` recorded (histograms of the same bounds
    /// merge exactly): the percentiles of all rounds together.
    pub fn merge(&mut self, other: &LatencyRecorder) {
        // Same bounds and precision by construction, so `add` cannot fail.
        let _ = self.histogram.add(&other.histogram);
    }

    pub fn summary(&self) -> Option<LatencySummary> {
        let h = &self.histogram;
        if h.is_empty() {
            return None;
        }
        Some(LatencySummary {
            min: h.min(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        })
    }
}

/// Round-trip latency percentiles, in nanoseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

/// Single-core memory bandwidth: how many MB per second one thread copies
/// between two `bytes`-sized buffers (a copy reads and writes each byte once),
/// over about `time`. The physical limit under any transport that copies.
pub fn memcpy_mb_per_sec(bytes: usize, time: Duration) -> f64 {
    let bytes = bytes.max(4096);
    let source = vec![0x5au8; bytes];
    let mut target = vec![0u8; bytes];
    let start = std::time::Instant::now();
    let mut copies = 0u64;
    while start.elapsed() < time {
        for _ in 0..8 {
            target.copy_from_slice(std::hint::black_box(&source));
            std::hint::black_box(&mut target);
        }
        copies += 8;
    }
    copies as f64 * bytes as f64 / start.elapsed().as_secs_f64() / 1e6
}

/// User plus system CPU time consumed by this process so far, if the platform
/// reports it.
#[cfg(unix)]
pub fn process_cpu_time() -> Option<Duration> {
    // SAFETY: rusage is plain data (all-zero is valid) and getrusage only
    // writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: see above; RUSAGE_SELF is always a valid target.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Some(tv(usage.ru_utime) + tv(usage.ru_stime))
}

#[cfg(not(unix))]
pub fn process_cpu_time() -> Option<Duration> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_follow_the_recorded_values() {
        let mut r = LatencyRecorder::default();
        assert!(r.summary().is_none());
        for ns in 1..=1000u64 {
            r.record(Duration::from_nanos(ns * 1000));
        }
        let s = r.summary().unwrap();
        assert!((499_000..=501_000).contains(&s.p50), "{s:?}");
        assert!((989_000..=991_000).contains(&s.p99), "{s:?}");
        assert!(s.max >= 999_000 && s.min <= 1_001, "{s:?}");
    }

    #[test]
    fn merged_rounds_give_the_percentiles_of_all_values() {
        let (mut a, mut b) = (LatencyRecorder::default(), LatencyRecorder::default());
        for ns in 1..=500u64 {
            a.record(Duration::from_nanos(ns * 1000));
            b.record(Duration::from_nanos((ns + 500) * 1000));
        }
        a.merge(&b);
        let s = a.summary().unwrap();
        assert!((499_000..=501_000).contains(&s.p50), "{s:?}");
        assert!(s.max >= 999_000, "{s:?}");
    }

    #[test]
    fn huge_latencies_are_clamped_not_lost() {
        let mut r = LatencyRecorder::default();
        r.record(Duration::from_secs(3600));
        assert!(r.summary().unwrap().max >= MAX_TRACKED_NS / 2);
    }

    #[test]
    fn cpu_time_grows_with_work() {
        let Some(before) = process_cpu_time() else {
            return;
        };
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        assert!(process_cpu_time().unwrap() > before, "{x}");
    }
}
