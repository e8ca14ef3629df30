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

        let warmup_end = self.run_start + config.warmup;
        let mut now = self.run_start;
        let mut settling = Settling::new(now, 0);
        while now < warmup_end {
            self.round_trip(now)?;
            now = Instant::now();
            check_interrupt()?;
            if config.settle && settling.settled(now, self.seq) {
                break;
            }
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
        self.finish(cpu_start, |wire_bytes, path, parent_cpu| Measurement {
            warmup_round_trips,
            round_trips,
            elapsed: last - start,
            latency: recorder,
            latency_from_intended: None,
            intervals: intervals.rates,
            parent_cpu,
            wire_bytes,
            path,
            backpressure: None,
        })
    }
}
