//! The engine: the parent's loops and the child's, written once for every
//! transport and message format, one module per traffic pattern
//! (`closed_loop`, `paced`, `stream`) over a shared send path and pong
//! wait (`send`) and counters (`counters`). This module owns the run:
//! its configuration, its links to the children, its measurement and errors.
//!
//!
//! The parent sends ping `seq`, waits for the pong, checks that it answers
//! exactly that ping, and times it; after the warm-up and the measured phase it
//! sends an empty message, which tells the child to stop (no encoded message is
//! ever empty, so the stop cannot be mistaken for a ping).
//!
//! A stream (see [`crate::measure::traffic`]) uses the same messages one way. The
//! parent stamps each with the shared clock and sends while fewer than
//! `window` are unacknowledged; the child checks each whole and in order,
//! times it from its stamp, and every [`ack_interval`] messages sends back
//! the count it has taken, 8 bytes. Between warm-up and measured phase the
//! parent sends [`MEASURING_MARK`] (one byte: no encoded message is that
//! short), at which the child starts its histogram afresh. The stop is the
//! empty message, sent within the window like any other; the child answers
//! it with an empty acknowledgement, after any counts still on the way,
//! which the parent reads and checks until it arrives.

#[cfg(feature = "tokio")]
mod awaited;
mod closed_loop;
mod counters;
mod paced;
mod send;
mod stream;

use counters::cpu_since;
use send::SendPath;
use stream::StreamState;

#[cfg(feature = "tokio")]
pub use awaited::{run_awaited, serve_awaited, Owned};
pub use closed_loop::serve;
pub use counters::{Settling, INTERVAL, SETTLED_WITHIN, SETTLE_WINDOW};
pub use stream::{ack_interval, serve_stream, MEASURING_MARK};

use crate::measure::liveness::{Liveness, Progress};
use crate::measure::message::{MessageFormat, Out, VerifyError};
use crate::measure::stats::{process_cpu_time, shared_clock_ns, LatencyRecorder};
use crate::measure::traffic::{self, Schedule};
use crate::record::{Backpressure, MessagePath, PathKind, WireBytes};
use crate::transport::{Transport, TransportError};
use codecs::CodecError;
use std::time::{Duration, Instant};

/// How long to run, and whether to time each round trip.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// The warm-up's length, or with `settle`, its longest.
    pub warmup: Duration,
    pub duration: Duration,
    pub record_latency: bool,
    /// End a closed loop's warm-up as soon as its throughput has settled
    /// (see [`Settling`]) rather than after all of `warmup`.
    pub settle: bool,
}

/// A phase of a run, announced as it begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    WarmingUp,
    Measuring,
}

/// What the parent measured.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub warmup_round_trips: u64,
    /// Round trips in the measured phase; every one of them was verified.
    pub round_trips: u64,
    /// Wall time of the measured phase.
    pub elapsed: Duration,
    /// Every measured round trip's latency, when recorded: from when its
    /// request left.
    pub latency: Option<LatencyRecorder>,
    /// At a fixed rate, every measured round trip's latency from when its
    /// request was due (see [`crate::measure::traffic`]); `None` in a closed loop.
    pub latency_from_intended: Option<LatencyRecorder>,
    /// Round trips per second in each full [`INTERVAL`] of the measured phase.
    pub intervals: Vec<f64>,
    /// The longest the loop was held up at once in the measured phase (see
    /// [`crate::record::Sample::longest_hold_secs`]).
    pub longest_hold: Duration,
    /// The parent's CPU time over warm-up and measured phase together.
    pub parent_cpu: Option<Duration>,
    /// The encoded sizes of the last round trip's ping and pong.
    pub wire_bytes: WireBytes,
    /// How messages went into and out of the transport.
    pub path: MessagePath,
    /// In a stream, how often the window was full.
    pub backpressure: Option<Backpressure>,
}

impl Measurement {
    pub fn total_round_trips(&self) -> u64 {
        self.warmup_round_trips + self.round_trips
    }
}

/// What the child did.
#[derive(Debug, Clone)]
pub struct Served {
    /// Pings answered, or in a stream, messages taken.
    pub round_trips: u64,
    /// The child's CPU time from the first ping to the stop message.
    pub cpu: Option<Duration>,
    /// In a stream, each measured message's one-way latency (when the two
    /// processes share a clock and latency is recorded).
    pub one_way: Option<LatencyRecorder>,
}

/// Why a ping-pong run failed; `seq` is the round trip it failed in.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("round trip {seq}: {error}")]
    Transport { seq: u64, error: TransportError },
    #[error("round trip {seq}: the reply failed verification: {error}")]
    Verify { seq: u64, error: VerifyError },
    #[error("round trip {seq}: {error}")]
    Encode { seq: u64, error: CodecError },
    #[error(
        "the child answered the stop message with {0} bytes instead of an empty acknowledgement"
    )]
    BadStopAck(usize),
    #[error("stream message {seq}: {error}")]
    Stream { seq: u64, error: VerifyError },
    #[error("stream message {seq}: a bad acknowledgement from the child: {detail}")]
    BadAck { seq: u64, detail: String },
    #[error(transparent)]
    Interrupted(#[from] crate::measure::liveness::Interrupted),
}

impl EngineError {
    pub fn transport(&self) -> Option<&TransportError> {
        match self {
            EngineError::Transport { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Stops the loop after Ctrl-C even when the transport never waits long
/// enough to notice (a loaded atomic flag: nothing next to a round trip).
#[inline]
fn check_interrupt() -> Result<(), EngineError> {
    if crate::measure::liveness::interrupted() {
        Err(crate::measure::liveness::Interrupted.into())
    } else {
        Ok(())
    }
}

/// One child as the parent sees it: the transport to it and the watch on
/// its process.
pub struct Link<T> {
    pub transport: T,
    pub liveness: Liveness,
    /// Bumped at each reply, acknowledgement and stream send, for the
    /// watchdog's stall deadline.
    pub progress: Progress,
    events: u64,
}

impl<T> Link<T> {
    pub fn new(transport: T, liveness: Liveness, progress: Progress) -> Self {
        Link {
            transport,
            liveness,
            progress,
            events: 0,
        }
    }

    /// The run moved on with this child.
    #[inline]
    fn moved_on(&mut self) {
        self.events += 1;
        self.progress.advance(self.events);
    }
}

/// Parent side of one run: one child, or several that each get every ping
/// (a fan-out: a round trip ends when the last of them has answered).
pub struct PingPong<'a, T: Transport, F: MessageFormat> {
    links: &'a mut [Link<T>],
    format: &'a mut F,
    buf: Vec<u8>,
    seq: u64,
    run_start: Instant,
    wire_bytes: WireBytes,
    send_path: SendPath,
    schedule: Option<Schedule>,
    stream: Option<StreamState>,
}

impl<'a, T: Transport, F: MessageFormat> PingPong<'a, T, F> {
    /// A run over `links`, one per child (at least one).
    pub fn new(links: &'a mut [Link<T>], format: &'a mut F) -> Self {
        assert!(!links.is_empty(), "a run needs a child");
        let send_path = SendPath::new::<T>(format);
        PingPong {
            send_path,
            links,
            format,
            buf: Vec::new(),
            seq: 0,
            run_start: Instant::now(),
            wire_bytes: WireBytes::default(),
            schedule: None,
            stream: None,
        }
    }

    /// Streams messages one way instead (see the module's description),
    /// with up to `window` unacknowledged per child; `None` leaves the
    /// ping-pong.
    pub fn streaming(mut self, window: Option<u32>) -> Self {
        self.stream = window.map(|window| StreamState {
            window: u64::from(window.max(1)),
            sent: 0,
            acked: vec![0; self.links.len()],
            stamp: false,
            backpressure: Backpressure::default(),
        });
        self
    }

    /// Sends requests on `schedule` instead of in a closed loop (warm-up
    /// included, each phase on a schedule of its own), recording latency
    /// from each request's due time as well as from its send.
    pub fn paced(mut self, schedule: Option<Schedule>) -> Self {
        self.schedule = schedule;
        self
    }

    /// Warms up, measures, then stops the child; `on_phase` hears of each
    /// phase as it begins (outside the timed loops).
    pub fn run(
        self,
        config: &EngineConfig,
        on_phase: impl FnMut(Phase),
    ) -> Result<Measurement, EngineError> {
        if let Some(schedule) = self.schedule {
            return self.run_paced(config, schedule, on_phase);
        }
        if self.stream.is_some() {
            return self.run_stream(config, on_phase);
        }
        self.run_closed_loop(config, on_phase)
    }

    /// Stops the child and builds the measurement from what every pattern
    /// shares: the last messages' sizes and path, and the parent's CPU time.
    fn finish(
        mut self,
        cpu_start: Option<Duration>,
        build: impl FnOnce(WireBytes, MessagePath, Option<Duration>) -> Measurement,
    ) -> Result<Measurement, EngineError> {
        let mut path = match self.stream {
            Some(_) => {
                self.stop_stream()?;
                // The child receives what the parent sends: both ways one size.
                let ping = self.wire_bytes.ping;
                MessagePath::of::<T>(self.format, WireBytes { ping, pong: ping })
            }
            None => {
                self.stop()?;
                MessagePath::of::<T>(self.format, self.wire_bytes)
            }
        };
        let parent_cpu = cpu_since(cpu_start);
        if self.links.len() > 1 {
            // One encoding, copied to every child.
            path.send = PathKind::Copied;
        }
        Ok(build(self.wire_bytes, path, parent_cpu))
    }

    /// Sends every child the stop message and waits for each acknowledgement.
    fn stop(&mut self) -> Result<(), EngineError> {
        let seq = self.seq + 1;
        let transport_error = |error| EngineError::Transport { seq, error };
        for link in self.links.iter_mut() {
            link.transport.send(&[]).map_err(transport_error)?;
        }
        for link in self.links.iter_mut() {
            let ack = link
                .transport
                .recv(&mut link.liveness)
                .map_err(transport_error)?;
            if !ack.is_empty() {
                return Err(EngineError::BadStopAck(ack.len()));
            }
        }
        Ok(())
    }
}
