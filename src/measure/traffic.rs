//! What traffic a case puts on the transport.
//!
//! `ping-pong` (the default) is a closed loop: the next ping leaves the
//! moment the previous pong arrives, which answers "how fast is one
//! request/response" and nothing about a service under load: when a reply
//! is late, a closed loop simply sends less, so the requests that would have
//! queued behind it are never timed (the coordinated-omission error).
//!
//! `rate` offers a fixed load instead: request `i` is due at
//! `start + i / R`. Each reply's latency is recorded twice, from when the
//! request actually left and from when it was due; when a reply comes late,
//! the requests due meanwhile leave late, and only the second figure charges
//! them for the wait, as a real caller would see it (wrk2's approach). One
//! request is in flight at a time.
//!
//! `stream` is one-way: the parent sends as fast as the transport takes
//! messages, with up to `window` of them unacknowledged; the child checks
//! each (in order, content), times it from the stamp the parent put in it,
//! and acknowledges every `window / 2` (at least every one) with the count
//! it has taken so far, an 8-byte message. When the window is full the
//! parent waits for an acknowledgement, and counts that wait (back-pressure).
//! See [`crate::measure::engine`] for the exchange and how a stream ends.

use crate::record::traffic::{Pattern, Traffic};
use std::time::{Duration, Instant};

/// How a case's traffic runs: what a transport may refuse, and when each
/// request is due.
impl Traffic {
    /// The pattern, as far as a transport may refuse it.
    pub fn kind(&self) -> crate::transport::TrafficKind {
        use crate::transport::TrafficKind;
        match (self.is_stream(), self.schedule()) {
            (true, _) => TrafficKind::Stream,
            (false, Some(_)) => TrafficKind::FixedRate,
            (false, None) => TrafficKind::ClosedLoop,
        }
    }

    /// The schedule requests follow, if any.
    pub fn schedule(&self) -> Option<Schedule> {
        match (self.pattern, self.offered_rate_per_sec) {
            (Pattern::Rate, Some(per_sec)) if per_sec > 0 => Some(Schedule { per_sec }),
            _ => None,
        }
    }
}

/// When each request of a fixed-rate run is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    per_sec: u64,
}

impl Schedule {
    /// How long after the start request `i` (0-based) is due. Exact integer
    /// arithmetic, so the schedule never drifts however long the run.
    pub fn offset(&self, i: u64) -> Duration {
        let nanos = u128::from(i) * 1_000_000_000 / u128::from(self.per_sec);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// How many requests fall due within `span` of the start.
    pub fn due_within(&self, span: Duration) -> u64 {
        // Requests 0..n are due before `span` when (n - 1) / R < span.
        let nanos = span.as_nanos() * u128::from(self.per_sec);
        let n = nanos.div_ceil(1_000_000_000);
        u64::try_from(n).unwrap_or(u64::MAX)
    }

    pub fn per_sec(&self) -> u64 {
        self.per_sec
    }
}

/// Sleeping is coarse (tens of µs late on Linux, more elsewhere): the pacer
/// sleeps until this long before a request is due and spins the rest.
const SPIN_BEFORE_DUE: Duration = Duration::from_micros(150);
/// The longest single sleep, so Ctrl-C is noticed promptly at low rates.
const LONGEST_SLEEP: Duration = Duration::from_millis(50);

/// Waits until `due`; returns early with `false` if `stop` says so (checked
/// between sleeps). Spinning the last stretch keeps the send on time
/// without a sleep's wake-up delay; the pacing thread's core is busy then,
/// which on a machine with as many cores as spinning processes is the
/// price of an accurate schedule.
pub fn wait_until(due: Instant, mut stop: impl FnMut() -> bool) -> bool {
    loop {
        let now = Instant::now();
        if now >= due {
            return true;
        }
        let left = due - now;
        if left > SPIN_BEFORE_DUE {
            std::thread::sleep((left - SPIN_BEFORE_DUE).min(LONGEST_SLEEP));
            if stop() {
                return false;
            }
        } else {
            std::hint::spin_loop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::traffic::MAX_RATE_PER_SEC;

    #[test]
    fn the_schedule_is_exact_and_counts_what_falls_due() {
        let s = Schedule { per_sec: 3 };
        assert_eq!(s.offset(0), Duration::ZERO);
        assert_eq!(s.offset(1), Duration::from_nanos(333_333_333));
        assert_eq!(s.offset(3), Duration::from_secs(1));
        assert_eq!(s.offset(3_000_000_000), Duration::from_secs(1_000_000_000));
        // Due at 0, 1/3 and 2/3 s: three within a second, the fourth at 1 s is not.
        assert_eq!(s.due_within(Duration::from_secs(1)), 3);
        assert_eq!(s.due_within(Duration::from_millis(334)), 2);
        assert_eq!(s.due_within(Duration::ZERO), 0);
        let fast = Schedule {
            per_sec: MAX_RATE_PER_SEC,
        };
        assert_eq!(
            fast.due_within(Duration::from_secs(2)),
            2 * MAX_RATE_PER_SEC
        );
    }

    #[test]
    fn traffic_names_itself_for_files_and_tables() {
        let default = Traffic::default();
        assert!(default.is_ping_pong());
        assert_eq!(default.describe(), "ping-pong");
        assert_eq!(default.stem_suffix(), "");
        assert_eq!(default.schedule(), None);
        let rate = Traffic::rate(10_000);
        assert_eq!(rate.describe(), "rate 10,000/s");
        assert_eq!(rate.stem_suffix(), "-rate-10000");
        assert_eq!(rate.schedule().map(|s| s.per_sec()), Some(10_000));
        let fan = Traffic::default().with_children(4);
        assert!(!fan.is_default() && fan.is_ping_pong());
        assert_eq!(fan.describe(), "ping-pong, 4 children");
        assert_eq!(fan.stem_suffix(), "-children-4");
        assert_eq!(
            rate.with_children(2).stem_suffix(),
            "-rate-10000-children-2"
        );
        let stream = Traffic::stream(256);
        assert!(stream.is_stream() && !stream.is_ping_pong() && !stream.is_default());
        assert_eq!(stream.stream_window(), Some(256));
        assert_eq!(stream.schedule(), None);
        assert_eq!(stream.describe(), "stream, window 256");
        assert_eq!(stream.stem_suffix(), "-stream-w256");
        assert_eq!(stream.unit(), ("message", "messages"));
        assert_eq!(default.unit(), ("round trip", "round trips"));
        assert_eq!(rate.stream_window(), None);
        assert_eq!(
            stream.with_children(2).describe(),
            "stream, window 256, 2 children"
        );
    }

    #[test]
    fn older_result_files_are_ping_pong() {
        let t: Traffic = serde_json::from_str("{}").unwrap();
        assert_eq!(t, Traffic::default());
        assert_eq!(t.children, 1);
        let t: Traffic =
            serde_json::from_str(r#"{"pattern":"rate","offered_rate_per_sec":500}"#).unwrap();
        assert_eq!(t, Traffic::rate(500));
        assert_eq!(t.window, 1, "files older than streams have a window of one");
        let t: Traffic = serde_json::from_str(r#"{"pattern":"stream","window":16}"#).unwrap();
        assert_eq!(t, Traffic::stream(16));
    }

    #[test]
    fn waiting_stops_when_asked_and_never_returns_early() {
        let due = Instant::now() + Duration::from_millis(2);
        assert!(wait_until(due, || false));
        assert!(Instant::now() >= due);
        let far = Instant::now() + Duration::from_secs(60);
        assert!(!wait_until(far, || true));
    }
}
