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

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// How requests are sent.
#[derive(
    clap::ValueEnum,
    Serialize,
    Deserialize,
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    /// Closed loop: the next request leaves when the previous reply arrives.
    #[default]
    PingPong,
    /// Fixed offered load: requests leave on a schedule of `--rate` per second.
    Rate,
    /// One-way: messages leave as fast as the transport takes them, up to
    /// `--window` unacknowledged.
    Stream,
}

impl Pattern {
    pub fn name(self) -> &'static str {
        match self {
            Pattern::PingPong => "ping-pong",
            Pattern::Rate => "rate",
            Pattern::Stream => "stream",
        }
    }
}

/// Highest offered rate accepted: far above what any transport carries
/// (the run then says it could not keep up), low enough that the schedule's
/// arithmetic stays exact.
pub const MAX_RATE_PER_SEC: u64 = 1_000_000_000;

/// The offered load of `run --pattern rate` without `--rate`: a busy
/// service's rate that every transport here sustains on two cores.
pub const DEFAULT_RATE_PER_SEC: u64 = 10_000;
/// The offered loads of a matrix's rate pattern without `--rates`: light,
/// busy, and beyond what kernel transports carry one at a time on two cores.
pub const DEFAULT_MATRIX_RATES: [u64; 3] = [1_000, 10_000, 100_000];

/// The window of `run --pattern stream` without `--window`: enough
/// messages in flight that a fast transport never waits for the consumer's
/// wake-up, few enough that every transport's default buffers hold them.
pub const DEFAULT_STREAM_WINDOW: u32 = 64;
/// The windows of a matrix's stream pattern without `--windows`: one in
/// flight (a ping-pong's pace, one-way), a few, and many.
pub const DEFAULT_MATRIX_WINDOWS: [u32; 3] = [1, 16, 256];
/// The largest window accepted: 65,536 messages in flight, far beyond where
/// any transport here stops gaining, and what the slot rings still map (at
/// small messages) without a second thought.
pub const MAX_WINDOW: u32 = 65_536;

/// Most children one parent may fan out to: far beyond what any machine
/// here runs usefully, low enough that a typo cannot fork a thousand processes.
pub const MAX_CHILDREN: u32 = 64;

/// The load of one case: its pattern, for `rate` the offered rate, and how
/// many children each ping goes to.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Traffic {
    /// `ping-pong` in result files older than this field.
    #[serde(default)]
    pub pattern: Pattern,
    /// Requests per second offered (`rate` only; null otherwise).
    #[serde(default)]
    pub offered_rate_per_sec: Option<u64>,
    /// Children that each get every ping; a round trip ends when all have
    /// answered. 1 in result files older than this field.
    #[serde(default = "one")]
    pub children: u32,
    /// Messages that may be unacknowledged at once (`stream`; 1 otherwise,
    /// and in result files older than this field).
    #[serde(default = "one")]
    pub window: u32,
}

fn one() -> u32 {
    1
}

impl Default for Traffic {
    /// A closed loop with one child: what every run did before traffic had a name.
    fn default() -> Self {
        Traffic {
            pattern: Pattern::PingPong,
            offered_rate_per_sec: None,
            children: 1,
            window: 1,
        }
    }
}

impl Traffic {
    /// A fixed offered load of `per_sec` requests per second.
    pub fn rate(per_sec: u64) -> Self {
        Traffic {
            pattern: Pattern::Rate,
            offered_rate_per_sec: Some(per_sec),
            ..Traffic::default()
        }
    }

    /// A stream with up to `window` messages unacknowledged.
    pub fn stream(window: u32) -> Self {
        Traffic {
            pattern: Pattern::Stream,
            window,
            ..Traffic::default()
        }
    }

    /// Whether this is a one-way stream (its figures are messages, not round trips).
    /// The pattern, as far as a transport may refuse it.
    pub fn kind(&self) -> crate::transport::TrafficKind {
        use crate::transport::TrafficKind;
        match (self.is_stream(), self.schedule()) {
            (true, _) => TrafficKind::Stream,
            (false, Some(_)) => TrafficKind::FixedRate,
            (false, None) => TrafficKind::ClosedLoop,
        }
    }

    pub fn is_stream(&self) -> bool {
        self.pattern == Pattern::Stream
    }

    /// What one unit of its throughput is: a round trip, or in a stream a
    /// message (singular, plural).
    pub fn unit(&self) -> (&'static str, &'static str) {
        match self.is_stream() {
            true => ("message", "messages"),
            false => ("round trip", "round trips"),
        }
    }

    /// The stream's window, if this is one.
    pub fn stream_window(&self) -> Option<u32> {
        self.is_stream().then_some(self.window.max(1))
    }

    /// The same traffic fanned out to `children` children.
    pub fn with_children(self, children: u32) -> Self {
        Traffic { children, ..self }
    }

    /// The closed loop (with any number of children).
    pub fn is_ping_pong(&self) -> bool {
        self.pattern == Pattern::PingPong
    }

    /// The schedule requests follow, if any.
    pub fn schedule(&self) -> Option<Schedule> {
        match (self.pattern, self.offered_rate_per_sec) {
            (Pattern::Rate, Some(per_sec)) if per_sec > 0 => Some(Schedule { per_sec }),
            _ => None,
        }
    }

    /// `ping-pong`, `rate 10,000/s`, `stream, window 64`, `ping-pong, 4
    /// children`: for tables and summaries.
    pub fn describe(&self) -> String {
        let mut text = match (self.pattern, self.offered_rate_per_sec) {
            (Pattern::Rate, Some(r)) => {
                format!("rate {}/s", crate::util::format::group_thousands(r as f64))
            }
            (Pattern::Stream, _) => format!("stream, window {}", self.window),
            _ => self.pattern.name().to_string(),
        };
        if self.children != 1 {
            text.push_str(&format!(", {} children", self.children));
        }
        text
    }

    /// What result file names add for this traffic: nothing for the
    /// default, `-rate-10000` for a fixed load, `-stream-w64` for a stream,
    /// `-children-4` for a fan-out.
    pub fn stem_suffix(&self) -> String {
        let mut suffix = match (self.pattern, self.offered_rate_per_sec) {
            (Pattern::Rate, Some(r)) => format!("-rate-{r}"),
            (Pattern::Stream, _) => format!("-stream-w{}", self.window),
            _ => String::new(),
        };
        if self.children != 1 {
            suffix.push_str(&format!("-children-{}", self.children));
        }
        suffix
    }

    /// The closed loop with one child: what every run did before traffic had
    /// a name, and what older result files read as.
    pub fn is_default(&self) -> bool {
        *self == Traffic::default()
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
