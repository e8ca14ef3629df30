//! Latency histograms and CPU time.

use crate::record::latency::LatencySummary;
use hdrhistogram::Histogram;
use std::time::Duration;

/// Highest latency the histogram tracks exactly; longer ones are clamped.
const MAX_TRACKED_NS: u64 = 60 * 1_000_000_000;
/// Most values a histogram read from a report may hold: a billion messages
/// a second for three days, and far from overflowing a sum of counts.
const MAX_COUNT: u64 = 1 << 48;

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

    #[inline]
    pub fn record_ns(&mut self, ns: u64) {
        self.histogram.saturating_record(ns.max(1));
    }

    /// Every recorded value as `[value, count]` pairs (one per histogram
    /// bucket that holds any), for the child to hand its histogram to the
    /// parent in a report line; [`from_buckets`](Self::from_buckets) reads them back.
    pub fn buckets(&self) -> Vec<[u64; 2]> {
        self.histogram
            .iter_recorded()
            .map(|v| [v.value_iterated_to(), v.count_at_value()])
            .collect()
    }

    /// The histogram `buckets` described; values beyond the tracked range
    /// are clamped, as when recording, and counts beyond [`MAX_COUNT`] in
    /// all are dropped (they come from another process: a corrupt report
    /// must not overflow the percentile arithmetic).
    pub fn from_buckets(buckets: &[[u64; 2]]) -> Self {
        let mut recorder = LatencyRecorder::default();
        let mut total = 0u64;
        for &[value, count] in buckets {
            let count = count.min(MAX_COUNT - total);
            total += count;
            recorder
                .histogram
                .saturating_record_n(value.clamp(1, MAX_TRACKED_NS), count);
        }
        recorder
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

/// The system-wide monotonic clock in nanoseconds, the same in every
/// process of the machine: `CLOCK_MONOTONIC` on Linux, `CLOCK_UPTIME_RAW`
/// on macOS (what `Instant` reads there). A stream's child subtracts the
/// parent's reading, stamped into each message, from its own: the one-way
/// latency. `None` on other platforms, whose clocks this tool does not know
/// to be shared; one-way latency is then not recorded.
#[cfg(any(target_os = "linux", target_os = "macos"))]
#[inline]
pub fn shared_clock_ns() -> Option<u64> {
    #[cfg(target_os = "linux")]
    const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC;
    #[cfg(target_os = "macos")]
    const CLOCK: libc::clockid_t = libc::CLOCK_UPTIME_RAW;
    // SAFETY: timespec is plain data (all-zero is valid); clock_gettime only
    // writes into the struct we pass, and CLOCK is a clock this OS has.
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    if unsafe { libc::clock_gettime(CLOCK, &mut now) } != 0 {
        return None;
    }
    Some(now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64)
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub fn shared_clock_ns() -> Option<u64> {
    None
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

/// The median of `values` (the mean of the two middle ones for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    Some(if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    })
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
    fn a_histogram_survives_its_trip_through_buckets() {
        let mut r = LatencyRecorder::default();
        for ns in [1u64, 7, 900, 900, 12_345, 5_000_000, u64::MAX] {
            r.record_ns(ns);
        }
        let back = LatencyRecorder::from_buckets(&r.buckets());
        assert_eq!(back.summary(), r.summary());
        assert!(LatencyRecorder::from_buckets(&[]).summary().is_none());
        // A hostile report cannot panic the parent.
        let odd = LatencyRecorder::from_buckets(&[[0, 1], [u64::MAX, u64::MAX], [5, 0]]);
        assert!(odd.summary().is_some());
    }

    #[cfg(any(target_os = "linux", target_os = "macos"))]
    #[test]
    fn the_shared_clock_moves_forward_with_instant() {
        let a = shared_clock_ns().unwrap();
        std::thread::sleep(Duration::from_millis(2));
        let b = shared_clock_ns().unwrap();
        assert!(b >= a + 2_000_000, "{a} {b}");
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
