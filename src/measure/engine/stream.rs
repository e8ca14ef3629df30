//! The stream: messages one way within a window of unacknowledged ones, the
//! parent's sender and the child's consumer ([`serve_stream`]), and the
//! acknowledgements between them.

use super::counters::{cpu_since, IntervalCounter};
use super::send::send_encoded;
use super::*;

/// Stream messages between two clock reads of the parent.
pub(super) const MESSAGES_PER_CLOCK_READ: u64 = 64;

/// Tells a stream's child that the measured phase begins.
pub const MEASURING_MARK: &[u8] = b"M";

/// How often a stream's child acknowledges: every half window, so the parent
/// can send the other half meanwhile; every message when the window is one.
pub fn ack_interval(window: u32) -> u64 {
    (u64::from(window) / 2).max(1)
}

/// A stream's bookkeeping on the parent's side.
pub(super) struct StreamState {
    pub(super) window: u64,
    /// Messages sent to every child, the mark and the stop included.
    pub(super) sent: u64,
    /// Per child, the count in its latest acknowledgement.
    pub(super) acked: Vec<u64>,
    /// Whether messages carry the shared clock's time (else 0).
    pub(super) stamp: bool,
    pub(super) backpressure: Backpressure,
}

impl StreamState {
    pub(super) fn full(&self, child: usize) -> bool {
        self.sent - self.acked[child] >= self.window
    }
}

/// Reads acknowledgements from child `child` until its window has room for
/// message `seq`; whether it had to wait.
#[inline]
pub(super) fn make_room<T: Transport>(
    link: &mut Link<T>,
    stream: &mut StreamState,
    child: usize,
    seq: u64,
) -> Result<bool, EngineError> {
    if !stream.full(child) {
        return Ok(false);
    }
    // Two clock reads per full window, not per message.
    let began = Instant::now();
    while stream.full(child) {
        if !read_ack(link, stream, child, seq)? {
            return Err(EngineError::BadAck {
                seq,
                detail: "it acknowledged the stop before the stop was sent".into(),
            });
        }
    }
    stream.backpressure.wait_secs += began.elapsed().as_secs_f64();
    Ok(true)
}

/// Reads one acknowledgement from child `child` and checks it: a count
/// above its previous one and no higher than what was sent. `false` for the
/// empty final one.
pub(super) fn read_ack<T: Transport>(
    link: &mut Link<T>,
    stream: &mut StreamState,
    child: usize,
    seq: u64,
) -> Result<bool, EngineError> {
    let ack = link
        .transport
        .recv(&mut link.liveness)
        .map_err(|error| EngineError::Transport { seq, error })?;
    let count = match ack.len() {
        0 => None,
        _ => Some(
            <[u8; 8]>::try_from(ack)
                .map(u64::from_le_bytes)
                .map_err(|_| ack.len()),
        ),
    };
    link.moved_on();
    let bad = |detail: String| EngineError::BadAck { seq, detail };
    let count = match count {
        None => return Ok(false),
        Some(count) => count.map_err(|len| bad(format!("{len} bytes, not an 8-byte count")))?,
    };
    let previous = stream.acked[child];
    if count <= previous || count > stream.sent {
        return Err(bad(format!(
            "it counts {count} messages taken, after {previous}, of {} sent",
            stream.sent
        )));
    }
    stream.acked[child] = count;
    Ok(true)
}

/// Child side of a stream: takes messages until the stop, checking each
/// and timing it from its stamp when `record`, and acknowledges every
/// [`ack_interval`]`(window)` with the count taken so far; answers the stop
/// with an empty acknowledgement.
pub fn serve_stream<T: Transport, F: MessageFormat>(
    transport: &mut T,
    format: &mut F,
    liveness: &mut Liveness,
    window: u32,
    record: bool,
) -> Result<Served, EngineError> {
    let ack_every = ack_interval(window);
    // Every message taken, the mark included: what acknowledgements count.
    let mut taken = 0u64;
    let mut next_seq = 1u64;
    let mut one_way = record.then(LatencyRecorder::default);
    let mut cpu_start = None;
    loop {
        let seq = next_seq;
        let transport_error = |error| EngineError::Transport { seq, error };
        let message = transport.recv(liveness).map_err(transport_error)?;
        if message.is_empty() {
            transport.send(&[]).map_err(transport_error)?;
            break;
        }
        if taken == 0 {
            cpu_start = process_cpu_time();
        }
        taken += 1;
        if message == MEASURING_MARK {
            // The warm-up's latencies are not the measurement's.
            if let Some(histogram) = one_way.as_mut() {
                *histogram = LatencyRecorder::default();
            }
        } else {
            let (got, sent_at_ns) = format
                .take_message(message)
                .and_then(|(got, at)| {
                    crate::measure::message::expect_eq("seq", seq, got).map(|_| (got, at))
                })
                .map_err(|error| EngineError::Stream { seq, error })?;
            if let (Some(histogram), Some(now)) = (one_way.as_mut(), shared_clock_ns()) {
                histogram.record_ns(now.saturating_sub(sent_at_ns));
            }
            next_seq = got + 1;
        }
        if taken.is_multiple_of(ack_every) {
            transport
                .send(&taken.to_le_bytes())
                .map_err(transport_error)?;
        }
    }
    let cpu = cpu_since(cpu_start);
    Ok(Served {
        round_trips: next_seq - 1,
        cpu,
        one_way,
    })
}

impl<'a, T: Transport, F: MessageFormat> PingPong<'a, T, F> {
    /// [`run`](Self::run) as a stream: messages one way, as fast as the
    /// window lets them go, the acknowledgements read only when it is full.
    pub(super) fn run_stream(
        mut self,
        config: &EngineConfig,
        mut on_phase: impl FnMut(Phase),
    ) -> Result<Measurement, EngineError> {
        if let Some(stream) = self.stream.as_mut() {
            stream.stamp = config.record_latency && shared_clock_ns().is_some();
        }
        on_phase(Phase::WarmingUp);
        self.run_start = Instant::now();
        let cpu_start = process_cpu_time();
        self.stream_phase(self.run_start + config.warmup)?;
        let warmup_messages = self.seq;
        self.send_to_every_child(MEASURING_MARK)?;

        on_phase(Phase::Measuring);
        let before = self.stream_state().backpressure;
        let start = Instant::now();
        let (end, intervals) = self.stream_phase(start + config.duration)?;
        let after = self.stream_state().backpressure;
        let backpressure = Backpressure {
            sends: after.sends - before.sends,
            waits: after.waits - before.waits,
            wait_secs: after.wait_secs - before.wait_secs,
        };
        let messages = self.seq - warmup_messages;
        self.finish(cpu_start, |wire_bytes, path, parent_cpu| Measurement {
            warmup_round_trips: warmup_messages,
            round_trips: messages,
            elapsed: end - start,
            // One-way latency is the child's to measure.
            latency: None,
            latency_from_intended: None,
            intervals: intervals.rates,
            longest_hold: intervals.longest_hold,
            parent_cpu,
            wire_bytes,
            path,
            backpressure: Some(backpressure),
        })
    }

    pub(super) fn stream_state(&mut self) -> &mut StreamState {
        self.stream
            .as_mut()
            .expect("only a stream keeps stream state")
    }

    /// Streams until `end`; returns when it ended and the rate per [`INTERVAL`].
    pub(super) fn stream_phase(
        &mut self,
        end: Instant,
    ) -> Result<(Instant, IntervalCounter), EngineError> {
        let start = Instant::now();
        let mut intervals = IntervalCounter::new(start, self.seq);
        loop {
            for _ in 0..MESSAGES_PER_CLOCK_READ {
                self.stream_message()?;
            }
            let now = Instant::now();
            intervals.observe(now, self.seq);
            check_interrupt()?;
            if now >= end {
                return Ok((now, intervals));
            }
        }
    }

    /// Sends the next message of a stream to every child, each once its
    /// window has room.
    #[inline]
    pub(super) fn stream_message(&mut self) -> Result<(), EngineError> {
        self.seq += 1;
        let seq = self.seq;
        let stream = self.stream.as_mut().expect("a stream");
        let sent_at_ns = match stream.stamp {
            true => shared_clock_ns().unwrap_or(0),
            false => 0,
        };
        let mut waited = false;
        let len = if let [link] = &mut *self.links {
            waited = make_room(link, stream, 0, seq)?;
            let format = &mut *self.format;
            let len = send_encoded(
                &mut link.transport,
                self.send_path.in_slot(),
                &mut self.buf,
                |out| format.encode_ping_to(seq, sent_at_ns, out),
            )
            .map_err(|failure| failure.at(seq))?;
            link.moved_on();
            len
        } else {
            let len = self
                .format
                .encode_ping_to(seq, sent_at_ns, Out::Buffer(&mut self.buf))
                .map_err(|error| EngineError::Encode { seq, error })?;
            for (child, link) in self.links.iter_mut().enumerate() {
                waited |= make_room(link, stream, child, seq)?;
                link.transport
                    .send(&self.buf)
                    .map_err(|error| EngineError::Transport { seq, error })?;
                link.moved_on();
            }
            len
        };
        stream.sent += 1;
        stream.backpressure.sends += 1;
        stream.backpressure.waits += u64::from(waited);
        self.send_path.last_len = len;
        self.wire_bytes = WireBytes { ping: len, pong: 0 };
        Ok(())
    }

    /// Sends a control message (the mark, the stop) to every child within
    /// its window, counted like any message.
    pub(super) fn send_to_every_child(&mut self, message: &[u8]) -> Result<(), EngineError> {
        let seq = self.seq + 1;
        let stream = self.stream.as_mut().expect("a stream");
        for (child, link) in self.links.iter_mut().enumerate() {
            make_room(link, stream, child, seq)?;
            link.transport
                .send(message)
                .map_err(|error| EngineError::Transport { seq, error })?;
        }
        stream.sent += 1;
        Ok(())
    }

    /// Ends a stream: the stop to every child, then each child's remaining
    /// counts up to its empty acknowledgement.
    pub(super) fn stop_stream(&mut self) -> Result<(), EngineError> {
        self.send_to_every_child(&[])?;
        let seq = self.seq + 1;
        let stream = self.stream.as_mut().expect("a stream");
        for (child, link) in self.links.iter_mut().enumerate() {
            while read_ack(link, stream, child, seq)? {}
        }
        Ok(())
    }
}
