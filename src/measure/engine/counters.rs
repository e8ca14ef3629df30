//! The counters the loops keep on the side of the hot path: throughput per
//! interval, the warm-up's settling, and CPU time since a reading.

use super::*;

/// Throughput is also recorded per interval of this length, so that a
/// change of the machine's pace inside a round shows.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// The window in which a warm-up's throughput is measured.
pub const SETTLE_WINDOW: Duration = Duration::from_millis(10);

/// Two consecutive windows whose throughputs are this close (as a share of
/// the larger) mean the warm-up is over: caches, branch predictors, page
/// tables and the CPU's clock have found their pace.
pub const SETTLED_WITHIN: f64 = 0.05;

/// Decides when a warm-up has settled: fed the round trip count and the
/// clock the loop reads anyway.
pub struct Settling {
    window_start: Instant,
    window_seq: u64,
    last_rate: Option<f64>,
}

impl Settling {
    pub fn new(start: Instant, seq: u64) -> Self {
        Settling {
            window_start: start,
            window_seq: seq,
            last_rate: None,
        }
    }

    /// Whether the throughput has settled, as of `now` and `seq` round trips.
    #[inline]
    pub fn settled(&mut self, now: Instant, seq: u64) -> bool {
        let span = now.duration_since(self.window_start);
        if span < SETTLE_WINDOW {
            return false;
        }
        let rate = (seq - self.window_seq) as f64 / span.as_secs_f64();
        self.window_start = now;
        self.window_seq = seq;
        match self.last_rate.replace(rate) {
            Some(previous) => (rate - previous).abs() <= SETTLED_WITHIN * rate.max(previous),
            None => false,
        }
    }
}

/// Counts round trips per [`INTERVAL`]; fed with clock reads the loop makes
/// anyway, so it adds no clock read of its own.
pub(super) struct IntervalCounter {
    pub(super) next: Instant,
    pub(super) began: Instant,
    pub(super) seq_at_start: u64,
    pub(super) rates: Vec<f64>,
    /// The longest the loop came past an interval's end before it read the
    /// clock again: a loop held up at once (a stopped process, a host
    /// pause) shows here, at no cost to the round trips between.
    pub(super) longest_hold: Duration,
}

impl IntervalCounter {
    pub(super) fn new(start: Instant, seq: u64) -> Self {
        IntervalCounter {
            next: start + INTERVAL,
            began: start,
            seq_at_start: seq,
            rates: Vec::new(),
            longest_hold: Duration::ZERO,
        }
    }

    #[inline]
    pub(super) fn observe(&mut self, now: Instant, seq: u64) {
        if now < self.next {
            return;
        }
        self.longest_hold = self.longest_hold.max(now.duration_since(self.next));
        let secs = now.duration_since(self.began).as_secs_f64();
        self.rates.push((seq - self.seq_at_start) as f64 / secs);
        self.began = now;
        self.seq_at_start = seq;
        self.next = now + INTERVAL;
    }
}

/// This process's CPU time since `start` (a `process_cpu_time` reading).
pub(super) fn cpu_since(start: Option<Duration>) -> Option<Duration> {
    Some(process_cpu_time()?.saturating_sub(start?))
}
