//! The paced loop: requests leave on a fixed-rate schedule (see
//! [`crate::measure::traffic`]), latency timed from each request's due time as
//! well as from its send.

use super::counters::IntervalCounter;
use super::*;

/// When a paced phase began and got its last reply, and its rate per [`INTERVAL`].
pub(super) struct PacedPhase {
    pub(super) start: Instant,
    pub(super) end: Instant,
    pub(super) rates: Vec<f64>,
    /// The longest any request took from when it could leave (its due
    /// time, or the previous reply when that came later) to its reply: a
    /// held-up loop, not a backlog, which this leaves out.
    pub(super) longest_hold: Duration,
}

impl<'a, T: Transport, F: MessageFormat> PingPong<'a, T, F> {
    /// [`run`](Self::run) at a fixed rate: request `i` of a phase is due at
    /// the phase's start plus `schedule.offset(i)` and leaves then, or at
    /// once when the previous reply came after that. The measured phase
    /// sends the requests due within `config.duration` and lasts at least
    /// that long, so the achieved rate never exceeds the offered one and
    /// falls below it only when the transport could not keep up (then the
    /// requests still due when the time is up are never sent).
    pub(super) fn run_paced(
        mut self,
        config: &EngineConfig,
        schedule: Schedule,
        mut on_phase: impl FnMut(Phase),
    ) -> Result<Measurement, EngineError> {
        on_phase(Phase::WarmingUp);
        self.run_start = Instant::now();
        let cpu_start = process_cpu_time();
        self.paced_phase(schedule, config.warmup, None)?;
        let warmup_round_trips = self.seq;

        on_phase(Phase::Measuring);
        let mut from_sent = LatencyRecorder::default();
        let mut from_intended = LatencyRecorder::default();
        let phase = self.paced_phase(
            schedule,
            config.duration,
            Some((&mut from_sent, &mut from_intended)),
        )?;
        let round_trips = self.seq - warmup_round_trips;
        // A phase that kept up lasts its scheduled time; one that fell
        // behind lasts until its last reply.
        let elapsed = (phase.end - phase.start).max(config.duration);
        let (rates, longest_hold) = (phase.rates, phase.longest_hold);
        self.finish(cpu_start, |wire_bytes, path, parent_cpu| Measurement {
            warmup_round_trips,
            round_trips,
            elapsed,
            latency: Some(from_sent),
            latency_from_intended: Some(from_intended),
            intervals: rates,
            longest_hold,
            parent_cpu,
            wire_bytes,
            path,
            backpressure: None,
        })
    }

    /// Sends every request `schedule` makes due within `span`, each when due
    /// (or late, behind a late reply), recording into `recorders` (from the
    /// send, from the due time).
    pub(super) fn paced_phase(
        &mut self,
        schedule: Schedule,
        span: Duration,
        mut recorders: Option<(&mut LatencyRecorder, &mut LatencyRecorder)>,
    ) -> Result<PacedPhase, EngineError> {
        let start = Instant::now();
        let mut intervals = IntervalCounter::new(start, self.seq);
        let mut end = start;
        let mut longest_hold = Duration::ZERO;
        for i in 0.. {
            let offset = schedule.offset(i);
            if offset >= span {
                break;
            }
            let due = start + offset;
            if !traffic::wait_until(due, crate::measure::liveness::interrupted) {
                check_interrupt()?;
            }
            let sent = Instant::now();
            self.round_trip(sent)?;
            let could_leave = due.max(end);
            end = Instant::now();
            longest_hold = longest_hold.max(end.saturating_duration_since(could_leave));
            if let Some((from_sent, from_intended)) = recorders.as_mut() {
                from_sent.record(end - sent);
                from_intended.record(end - due);
            }
            intervals.observe(end, self.seq);
            check_interrupt()?;
            // Behind schedule, requests pile up faster than they go; the
            // phase still ends on time, and the latencies from the due
            // times already show the backlog growing.
            if end - start >= span {
                break;
            }
        }
        Ok(PacedPhase {
            start,
            end,
            rates: intervals.rates,
            longest_hold,
        })
    }
}
