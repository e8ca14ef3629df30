//! What traffic a case puts on the transport, as results record it; how
//! it runs is [`crate::measure::traffic`]'s.

use serde::{Deserialize, Serialize};

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

/// Below this share of its offered rate, a fixed-rate round (or case) did
/// not run at that rate: it fell behind its schedule.
pub const SUSTAINED_SHARE: f64 = 0.99;
