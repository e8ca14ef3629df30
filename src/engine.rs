//! The ping-pong loop, written once for every transport and message format.
//!
//! The parent sends ping `seq`, waits for the pong, checks that it answers
//! exactly that ping, and times it; after the warm-up and the measured phase it
//! sends an empty message, which tells the child to stop (no encoded message is
//! ever empty, so the stop cannot be mistaken for a ping).

use crate::liveness::Liveness;
use crate::message::{MessageFormat, VerifyError};
use crate::stats::{process_cpu_time, LatencyRecorder};
use crate::transport::{Transport, TransportError};
use codecs::CodecError;
use std::time::{Duration, Instant};

/// Round trips between two clock reads when latency recording is off.
const ROUND_TRIPS_PER_CLOCK_READ: u64 = 64;

/// Throughput is also recorded per interval of this length, so that a
/// change of the machine's pace inside a round shows.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// How long to run, and whether to time each round trip.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    pub warmup: Duration,
    pub duration: Duration,
    pub record_latency: bool,
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
    /// Every measured round trip's latency, when recorded.
    pub latency: Option<LatencyRecorder>,
    /// Round trips per second in each full [`INTERVAL`] of the measured phase.
    pub intervals: Vec<f64>,
    /// The parent's CPU time over warm-up and measured phase together.
    pub parent_cpu: Option<Duration>,
    /// The encoded sizes of the last round trip's ping and pong.
    pub wire_bytes: WireBytes,
}

/// How many bytes a round trip put on the wire, each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WireBytes {
    pub ping: usize,
    pub pong: usize,
}

impl Measurement {
    pub fn total_round_trips(&self) -> u64 {
        self.warmup_round_trips + self.round_trips
    }
}

/// What the child did.
#[derive(Debug, Clone, Copy)]
pub struct Served {
    pub round_trips: u64,
    /// The child's CPU time from the first ping to the stop message.
    pub cpu: Option<Duration>,
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
    #[error(transparent)]
    Interrupted(#[from] crate::liveness::Interrupted),
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
    if crate::liveness::interrupted() {
        Err(crate::liveness::Interrupted.into())
    } else {
        Ok(())
    }
}

/// Counts round trips per [`INTERVAL`]; fed with clock reads the loop makes
/// anyway, so it adds no clock read of its own.
struct IntervalCounter {
    next: Instant,
    began: Instant,
    seq_at_start: u64,
    rates: Vec<f64>,
}

impl IntervalCounter {
    fn new(start: Instant, seq: u64) -> Self {
        IntervalCounter {
            next: start + INTERVAL,
            began: start,
            seq_at_start: seq,
            rates: Vec::new(),
        }
    }

    #[inline]
    fn observe(&mut self, now: Instant, seq: u64) {
        if now < self.next {
            return;
        }
        let secs = now.duration_since(self.began).as_secs_f64();
        self.rates.push((seq - self.seq_at_start) as f64 / secs);
        self.began = now;
        self.seq_at_start = seq;
        self.next = now + INTERVAL;
    }
}

/// Parent side of one run.
pub struct PingPong<'a, T: Transport, F: MessageFormat> {
    transport: &'a mut T,
    format: &'a mut F,
    liveness: &'a mut Liveness,
    buf: Vec<u8>,
    seq: u64,
    run_start: Instant,
    wire_bytes: WireBytes,
}

impl<'a, T: Transport, F: MessageFormat> PingPong<'a, T, F> {
    pub fn new(transport: &'a mut T, format: &'a mut F, liveness: &'a mut Liveness) -> Self {
        PingPong {
            transport,
            format,
            liveness,
            buf: Vec::new(),
            seq: 0,
            run_start: Instant::now(),
            wire_bytes: WireBytes::default(),
        }
    }

    /// One verified round trip, stamped `sent_at`.
    #[inline]
    fn round_trip(&mut self, sent_at: Instant) -> Result<(), EngineError> {
        self.seq += 1;
        let seq = self.seq;
        let sent_at_ns = sent_at.saturating_duration_since(self.run_start).as_nanos() as u64;
        self.format
            .encode_ping(seq, sent_at_ns, &mut self.buf)
            .map_err(|error| EngineError::Encode { seq, error })?;
        let transport_error = |error| EngineError::Transport { seq, error };
        self.transport.send(&self.buf).map_err(transport_error)?;
        let reply = self
            .transport
            .recv(self.liveness)
            .map_err(transport_error)?;
        self.wire_bytes = WireBytes {
            ping: self.buf.len(),
            pong: reply.len(),
        };
        self.format
            .check_pong(reply, seq, sent_at_ns)
            .map_err(|error| EngineError::Verify { seq, error })
    }

    /// Warms up, measures, then stops the child; `on_phase` hears of each
    /// phase as it begins (outside the timed loops).
    pub fn run(
        mut self,
        config: &EngineConfig,
        mut on_phase: impl FnMut(Phase),
    ) -> Result<Measurement, EngineError> {
        on_phase(Phase::WarmingUp);
        self.run_start = Instant::now();
        let cpu_start = process_cpu_time();

        let warmup_end = self.run_start + config.warmup;
        let mut now = self.run_start;
        while now < warmup_end {
            self.round_trip(now)?;
            now = Instant::now();
            check_interrupt()?;
        }
        let warmup_round_trips = self.seq;

        on_phase(Phase::Measuring);
        let start = Instant::now();
        let deadline = start + config.duration;
        let mut recorder = config.record_latency.then(LatencyRecorder::default);
        let mut intervals = IntervalCounter::new(start, warmup_round_trips);
        let mut last = start;
        match recorder.as_mut() {
            Some(recorder) => loop {
                // Each round trip's end is the next one's start: one clock read per round trip.
                self.round_trip(last)?;
                let end = Instant::now();
                recorder.record(end - last);
                last = end;
                intervals.observe(end, self.seq);
                check_interrupt()?;
                if end >= deadline {
                    break;
                }
            },
            None => loop {
                for _ in 0..ROUND_TRIPS_PER_CLOCK_READ {
                    self.round_trip(last)?;
                }
                last = Instant::now();
                intervals.observe(last, self.seq);
                check_interrupt()?;
                if last >= deadline {
                    break;
                }
            },
        }
        let round_trips = self.seq - warmup_round_trips;

        self.stop()?;
        let parent_cpu = match (cpu_start, process_cpu_time()) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        };
        Ok(Measurement {
            warmup_round_trips,
            round_trips,
            elapsed: last - start,
            latency: recorder,
            intervals: intervals.rates,
            parent_cpu,
            wire_bytes: self.wire_bytes,
        })
    }

    fn stop(&mut self) -> Result<(), EngineError> {
        let seq = self.seq + 1;
        let transport_error = |error| EngineError::Transport { seq, error };
        self.transport.send(&[]).map_err(transport_error)?;
        let ack = self
            .transport
            .recv(self.liveness)
            .map_err(transport_error)?;
        if !ack.is_empty() {
            return Err(EngineError::BadStopAck(ack.len()));
        }
        Ok(())
    }
}

/// Child side: answers pings until the stop message, then acknowledges it.
pub fn serve<T: Transport, F: MessageFormat>(
    transport: &mut T,
    format: &mut F,
    liveness: &mut Liveness,
) -> Result<Served, EngineError> {
    let mut buf = Vec::new();
    let mut served = 0u64;
    let mut cpu_start = None;
    loop {
        let seq = served + 1;
        let transport_error = |error| EngineError::Transport { seq, error };
        let request = transport.recv(liveness).map_err(transport_error)?;
        if request.is_empty() {
            transport.send(&[]).map_err(transport_error)?;
            break;
        }
        if served == 0 {
            cpu_start = process_cpu_time();
        }
        format
            .answer_ping(request, &mut buf)
            .map_err(|error| EngineError::Verify { seq, error })?;
        transport.send(&buf).map_err(transport_error)?;
        served += 1;
    }
    let cpu = match (cpu_start, process_cpu_time()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    Ok(Served {
        round_trips: served,
        cpu,
    })
}
