//! The closed loop: each ping leaves as soon as the previous pong is checked
//! (the parent's [`PingPong::run_closed_loop`]), and the child's answering loop
//! ([`serve`]) that every pattern but the stream uses.

use super::counters::{cpu_since, IntervalCounter, Settling};
use super::send::{send_encoded, SendPath};
use super::*;

/// Round trips between two clock reads when latency recording is off.
pub(super) const ROUND_TRIPS_PER_CLOCK_READ: u64 = 64;

/// Child side: answers pings until the stop message, then acknowledges it.
pub fn serve<T: Transport, F: MessageFormat>(
    transport: &mut T,
    format: &mut F,
    liveness: &mut Liveness,
) -> Result<Served, EngineError> {
    let mut buf = Vec::new();
    let mut send_path = SendPath::new::<T>(format);
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
        // The request is read (and, from a slot, released) before the answer
        // is written, perhaps into the transport's other slot.
        format
            .read_ping(request)
            .map_err(|error| EngineError::Verify { seq, error })?;
        send_path.last_len = send_encoded(transport, send_path.in_slot(), &mut buf, |out| {
            format.write_pong_to(out)
        })
        .map_err(|failure| failure.at(seq))?;
        served += 1;
    }
    let cpu = cpu_since(cpu_start);
    Ok(Served {
        round_trips: served,
        cpu,
        one_way: None,
    })
}

/// A closed loop's warm-up, shared by the blocking and the awaited loop:
/// until its length, or with `settle` until its pace has settled.
pub(super) struct WarmUp {
    end: Instant,
    settle: bool,
    settling: Settling,
    /// When the last round trip ended: the next one's send time.
    pub(super) now: Instant,
}

impl WarmUp {
    pub(super) fn begin(config: &EngineConfig, start: Instant) -> Self {
        WarmUp {
            end: start + config.warmup,
            settle: config.settle,
            settling: Settling::new(start, 0),
            now: start,
        }
    }

    #[inline]
    pub(super) fn going(&self) -> bool {
        self.now < self.end
    }

    /// After a round trip, `seq` in all: whether the warm-up is over early.
    #[inline]
    pub(super) fn lap(&mut self, seq: u64) -> Result<bool, EngineError> {
        self.now = Instant::now();
        check_interrupt()?;
        Ok(self.settle && self.settling.settled(self.now, seq))
    }
}

/// A closed loop's measured phase, shared by the blocking and the awaited
/// loop: one clock read per round trip when latency is recorded (each round
/// trip's end is the next one's start), else one per batch.
pub(super) struct MeasuredPhase {
    start: Instant,
    deadline: Instant,
    recorder: Option<LatencyRecorder>,
    intervals: IntervalCounter,
    /// When the last batch ended: the next round trips' send time.
    pub(super) last: Instant,
}

impl MeasuredPhase {
    pub(super) fn begin(config: &EngineConfig, seq: u64) -> Self {
        let start = Instant::now();
        MeasuredPhase {
            start,
            deadline: start + config.duration,
            recorder: config.record_latency.then(LatencyRecorder::default),
            intervals: IntervalCounter::new(start, seq),
            last: start,
        }
    }

    /// Round trips to run before the next clock read.
    #[inline]
    pub(super) fn batch(&self) -> u64 {
        match self.recorder {
            Some(_) => 1,
            None => ROUND_TRIPS_PER_CLOCK_READ,
        }
    }

    /// After a batch, `seq` round trips in all: records it; whether the
    /// phase is over.
    #[inline]
    pub(super) fn lap(&mut self, seq: u64) -> Result<bool, EngineError> {
        let end = Instant::now();
        if let Some(recorder) = self.recorder.as_mut() {
            recorder.record(end - self.last);
        }
        self.last = end;
        self.intervals.observe(end, seq);
        check_interrupt()?;
        Ok(end >= self.deadline)
    }

    /// The measurement of a closed loop that warmed up for
    /// `warmup_round_trips` and ran `seq` round trips in all.
    pub(super) fn measurement(
        self,
        warmup_round_trips: u64,
        seq: u64,
        (wire_bytes, path, parent_cpu): (WireBytes, MessagePath, Option<Duration>),
    ) -> Measurement {
        Measurement {
            warmup_round_trips,
            round_trips: seq - warmup_round_trips,
            elapsed: self.last - self.start,
            latency: self.recorder,
            latency_from_intended: None,
            intervals: self.intervals.rates,
            longest_hold: self.intervals.longest_hold,
            parent_cpu,
            wire_bytes,
            path,
            backpressure: None,
        }
    }
}

impl<'a, T: Transport, F: MessageFormat> PingPong<'a, T, F> {
    /// [`run`](PingPong::run) in a closed loop: each ping leaves as soon as
    /// the previous pong has been checked.
    pub(super) fn run_closed_loop(
        mut self,
        config: &EngineConfig,
        mut on_phase: impl FnMut(Phase),
    ) -> Result<Measurement, EngineError> {
        on_phase(Phase::WarmingUp);
        self.run_start = Instant::now();
        let cpu_start = process_cpu_time();
        let mut warm_up = WarmUp::begin(config, self.run_start);
        while warm_up.going() {
            self.round_trip(warm_up.now)?;
            if warm_up.lap(self.seq)? {
                break;
            }
        }
        let warmup_round_trips = self.seq;

        on_phase(Phase::Measuring);
        let mut phase = MeasuredPhase::begin(config, warmup_round_trips);
        let batch = phase.batch();
        loop {
            let sent_at = phase.last;
            for _ in 0..batch {
                self.round_trip(sent_at)?;
            }
            if phase.lap(self.seq)? {
                break;
            }
        }
        let seq = self.seq;
        self.finish(cpu_start, |wire_bytes, path, parent_cpu| {
            phase.measurement(warmup_round_trips, seq, (wire_bytes, path, parent_cpu))
        })
    }
}
