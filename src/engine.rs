//! The ping-pong loop, written once for every transport and message format.
//!
//! The parent sends ping `seq`, waits for the pong, checks that it answers
//! exactly that ping, and times it; after the warm-up and the measured phase it
//! sends an empty message, which tells the child to stop (no encoded message is
//! ever empty, so the stop cannot be mistaken for a ping).
//!
//! A stream (see [`crate::traffic`]) uses the same messages one way. The
//! parent stamps each with the shared clock and sends while fewer than
//! `window` are unacknowledged; the child checks each whole and in order,
//! times it from its stamp, and every [`ack_interval`] messages sends back
//! the count it has taken, 8 bytes. Between warm-up and measured phase the
//! parent sends [`MEASURING_MARK`] (one byte: no encoded message is that
//! short), at which the child starts its histogram afresh. The stop is the
//! empty message, sent within the window like any other; the child answers
//! it with an empty acknowledgement, after any counts still on the way,
//! which the parent reads and checks until it arrives.

use crate::liveness::{Liveness, Progress};
use crate::message::{MessageFormat, Out, VerifyError};
use crate::stats::{process_cpu_time, shared_clock_ns, LatencyRecorder};
use crate::traffic::{self, Schedule};
use crate::transport::{Transport, TransportError};
use codecs::CodecError;
use std::time::{Duration, Instant};

/// Round trips between two clock reads when latency recording is off.
const ROUND_TRIPS_PER_CLOCK_READ: u64 = 64;

/// Stream messages between two clock reads of the parent.
const MESSAGES_PER_CLOCK_READ: u64 = 64;

/// Tells a stream's child that the measured phase begins.
pub const MEASURING_MARK: &[u8] = b"M";

/// How often a stream's child acknowledges: every half window, so the parent
/// can send the other half meanwhile; every message when the window is one.
pub fn ack_interval(window: u32) -> u64 {
    (u64::from(window) / 2).max(1)
}

/// How often a stream's sender found its window full and had to wait for
/// the consumer (in the measured phase).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Backpressure {
    /// Messages sent.
    pub sends: u64,
    /// Of those, how many found the window full: their sender read
    /// acknowledgements before it could send (at least one in every
    /// `window - ack_interval` once the window has filled).
    pub waits: u64,
    /// Time spent reading those acknowledgements: the consumer's share
    /// of the pace. Near zero when the acknowledgement was already there.
    #[serde(default)]
    pub wait_secs: f64,
}

impl Backpressure {
    /// The share of `elapsed_secs` the sender spent waiting, 0 to 1.
    pub fn waiting_share(&self, elapsed_secs: f64) -> f64 {
        if elapsed_secs > 0.0 {
            (self.wait_secs / elapsed_secs).min(1.0)
        } else {
            0.0
        }
    }
}

/// Throughput is also recorded per interval of this length, so that a
/// change of the machine's pace inside a round shows.
pub const INTERVAL: Duration = Duration::from_millis(100);

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
    /// request was due (see [`crate::traffic`]); `None` in a closed loop.
    pub latency_from_intended: Option<LatencyRecorder>,
    /// Round trips per second in each full [`INTERVAL`] of the measured phase.
    pub intervals: Vec<f64>,
    /// The parent's CPU time over warm-up and measured phase together.
    pub parent_cpu: Option<Duration>,
    /// The encoded sizes of the last round trip's ping and pong.
    pub wire_bytes: WireBytes,
    /// How messages went into and out of the transport.
    pub path: MessagePath,
    /// In a stream, how often the window was full.
    pub backpressure: Option<Backpressure>,
}

/// How a run's messages met the transport: whether the codec encoded
/// straight into the transport's slot, and whether the receiver decoded
/// them where they lay. Both processes take the same path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MessagePath {
    /// `in-slot`: encoded into the slot the transport lent; `copied`:
    /// encoded into a buffer, then copied into the transport.
    pub send: PathKind,
    /// `in-slot`: decoded from the shared memory it arrived in; `copied`:
    /// decoded from a copy (a socket's read, a queue's pop).
    pub receive: PathKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathKind {
    InSlot,
    Copied,
}

impl PathKind {
    fn from(in_slot: bool) -> Self {
        if in_slot {
            PathKind::InSlot
        } else {
            PathKind::Copied
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PathKind::InSlot => "in-slot",
            PathKind::Copied => "copied",
        }
    }
}

impl MessagePath {
    /// What the path means, in words, for the run summary.
    pub fn describe(&self) -> &'static str {
        match (self.send, self.receive) {
            (PathKind::InSlot, PathKind::InSlot) => {
                "encoded into shared memory and decoded from it: no copy of the message"
            }
            (PathKind::Copied, PathKind::InSlot) => {
                "encoded into a buffer and copied in; decoded where it arrived"
            }
            (PathKind::InSlot, PathKind::Copied) => "encoded in place; decoded from a copy",
            (PathKind::Copied, PathKind::Copied) => {
                "encoded into a buffer, copied into the transport and out of it"
            }
        }
    }

    /// The path messages of these lengths take with `format` over `T`.
    pub fn of<T: Transport>(format: &dyn MessageFormat, wire: WireBytes) -> Self {
        MessagePath {
            send: PathKind::from(lends_for::<T>(format).is_some_and(|min| wire.ping >= min)),
            receive: PathKind::from(T::RECEIVE_IN_PLACE_FROM.is_some_and(|min| wire.pong >= min)),
        }
    }
}

/// From what length `format`'s messages are encoded into `T`'s lent slot.
fn lends_for<T: Transport>(format: &dyn MessageFormat) -> Option<usize> {
    let (transport, codec) = T::LEND_FROM.zip(format.slot_from())?;
    Some(transport.max(codec))
}

/// Decides per message whether to encode into the transport's slot: from
/// the lending threshold and the previous message's length (a run's messages
/// are all about one size, and the length is known only after encoding).
struct SendPath {
    lend_from: Option<usize>,
    last_len: usize,
}

impl SendPath {
    fn new<T: Transport>(format: &dyn MessageFormat) -> Self {
        SendPath {
            lend_from: lends_for::<T>(format),
            last_len: 0,
        }
    }

    #[inline]
    fn in_slot(&self) -> bool {
        self.lend_from.is_some_and(|min| self.last_len >= min)
    }
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

/// Why sending one message failed.
enum SendFailure {
    Encode(CodecError),
    Transport(TransportError),
}

impl SendFailure {
    fn at(self, seq: u64) -> EngineError {
        match self {
            SendFailure::Encode(error) => EngineError::Encode { seq, error },
            SendFailure::Transport(error) => EngineError::Transport { seq, error },
        }
    }
}

/// Encodes one message with `encode` and sends it: straight into the slot
/// the transport lends when `in_slot` (the format and transport both can),
/// else into `buf`, which the transport copies. Returns the message length.
#[inline]
fn send_encoded<T: Transport>(
    transport: &mut T,
    in_slot: bool,
    buf: &mut Vec<u8>,
    encode: impl FnOnce(Out<'_>) -> Result<usize, CodecError>,
) -> Result<usize, SendFailure> {
    if in_slot {
        if let Some(slot) = transport.loan() {
            let len = encode(Out::Slot(slot)).map_err(SendFailure::Encode)?;
            transport.send_loaned(len).map_err(SendFailure::Transport)?;
            return Ok(len);
        }
    }
    let len = encode(Out::Buffer(buf)).map_err(SendFailure::Encode)?;
    transport.send(buf).map_err(SendFailure::Transport)?;
    Ok(len)
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

/// Waits for `link`'s answer to ping `seq` (`ping` bytes, stamped
/// `sent_at_ns`) and checks it; returns both messages' sizes.
#[inline]
fn await_pong<T: Transport, F: MessageFormat>(
    link: &mut Link<T>,
    format: &mut F,
    seq: u64,
    sent_at_ns: u64,
    ping: usize,
) -> Result<WireBytes, EngineError> {
    let reply = link
        .transport
        .recv(&mut link.liveness)
        .map_err(|error| EngineError::Transport { seq, error })?;
    let wire = WireBytes {
        ping,
        pong: reply.len(),
    };
    format
        .check_pong(reply, seq, sent_at_ns)
        .map_err(|error| EngineError::Verify { seq, error })?;
    link.moved_on();
    Ok(wire)
}

/// When a paced phase began and got its last reply, and its rate per [`INTERVAL`].
struct PacedPhase {
    start: Instant,
    end: Instant,
    rates: Vec<f64>,
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

/// A stream's bookkeeping on the parent's side.
struct StreamState {
    window: u64,
    /// Messages sent to every child, the mark and the stop included.
    sent: u64,
    /// Per child, the count in its latest acknowledgement.
    acked: Vec<u64>,
    /// Whether messages carry the shared clock's time (else 0).
    stamp: bool,
    backpressure: Backpressure,
}

impl StreamState {
    fn full(&self, child: usize) -> bool {
        self.sent - self.acked[child] >= self.window
    }
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

    /// One verified round trip, stamped `sent_at`.
    #[inline]
    fn round_trip(&mut self, sent_at: Instant) -> Result<(), EngineError> {
        self.seq += 1;
        let seq = self.seq;
        let sent_at_ns = sent_at.saturating_duration_since(self.run_start).as_nanos() as u64;
        let [link] = &mut *self.links else {
            return self.fan_out(seq, sent_at_ns);
        };
        let format = &mut *self.format;
        let ping = send_encoded(
            &mut link.transport,
            self.send_path.in_slot(),
            &mut self.buf,
            |out| format.encode_ping_to(seq, sent_at_ns, out),
        )
        .map_err(|failure| failure.at(seq))?;
        self.send_path.last_len = ping;
        self.wire_bytes = await_pong(link, self.format, seq, sent_at_ns, ping)?;
        Ok(())
    }

    /// A round trip to several children: the ping is encoded once and
    /// copied to each (in child order), then every pong is awaited and
    /// checked, so the round trip lasts until the slowest has answered.
    fn fan_out(&mut self, seq: u64, sent_at_ns: u64) -> Result<(), EngineError> {
        let ping = self
            .format
            .encode_ping_to(seq, sent_at_ns, Out::Buffer(&mut self.buf))
            .map_err(|error| EngineError::Encode { seq, error })?;
        for link in self.links.iter_mut() {
            link.transport
                .send(&self.buf)
                .map_err(|error| EngineError::Transport { seq, error })?;
        }
        for link in self.links.iter_mut() {
            self.wire_bytes = await_pong(link, self.format, seq, sent_at_ns, ping)?;
        }
        Ok(())
    }

    /// Warms up, measures, then stops the child; `on_phase` hears of each
    /// phase as it begins (outside the timed loops).
    pub fn run(
        mut self,
        config: &EngineConfig,
        mut on_phase: impl FnMut(Phase),
    ) -> Result<Measurement, EngineError> {
        if let Some(schedule) = self.schedule {
            return self.run_paced(config, schedule, on_phase);
        }
        if self.stream.is_some() {
            return self.run_stream(config, on_phase);
        }
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

    /// [`run`](Self::run) at a fixed rate: request `i` of a phase is due at
    /// the phase's start plus `schedule.offset(i)` and leaves then, or at
    /// once when the previous reply came after that. The measured phase
    /// sends the requests due within `config.duration` and lasts at least
    /// that long, so the achieved rate never exceeds the offered one and
    /// falls below it only when the transport could not keep up (then the
    /// requests still due when the time is up are never sent).
    fn run_paced(
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
        let rates = phase.rates;
        self.finish(cpu_start, |wire_bytes, path, parent_cpu| Measurement {
            warmup_round_trips,
            round_trips,
            elapsed,
            latency: Some(from_sent),
            latency_from_intended: Some(from_intended),
            intervals: rates,
            parent_cpu,
            wire_bytes,
            path,
            backpressure: None,
        })
    }

    /// Sends every request `schedule` makes due within `span`, each when due
    /// (or late, behind a late reply), recording into `recorders` (from the
    /// send, from the due time).
    fn paced_phase(
        &mut self,
        schedule: Schedule,
        span: Duration,
        mut recorders: Option<(&mut LatencyRecorder, &mut LatencyRecorder)>,
    ) -> Result<PacedPhase, EngineError> {
        let start = Instant::now();
        let mut intervals = IntervalCounter::new(start, self.seq);
        let mut end = start;
        for i in 0.. {
            let offset = schedule.offset(i);
            if offset >= span {
                break;
            }
            let due = start + offset;
            if !traffic::wait_until(due, crate::liveness::interrupted) {
                check_interrupt()?;
            }
            let sent = Instant::now();
            self.round_trip(sent)?;
            end = Instant::now();
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
        })
    }

    /// [`run`](Self::run) as a stream: messages one way, as fast as the
    /// window lets them go, the acknowledgements read only when it is full.
    fn run_stream(
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
        let (end, rates) = self.stream_phase(start + config.duration)?;
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
            intervals: rates,
            parent_cpu,
            wire_bytes,
            path,
            backpressure: Some(backpressure),
        })
    }

    fn stream_state(&mut self) -> &mut StreamState {
        self.stream
            .as_mut()
            .expect("only a stream keeps stream state")
    }

    /// Streams until `end`; returns when it ended and the rate per [`INTERVAL`].
    fn stream_phase(&mut self, end: Instant) -> Result<(Instant, Vec<f64>), EngineError> {
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
                return Ok((now, intervals.rates));
            }
        }
    }

    /// Sends the next message of a stream to every child, each once its
    /// window has room.
    #[inline]
    fn stream_message(&mut self) -> Result<(), EngineError> {
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
    fn send_to_every_child(&mut self, message: &[u8]) -> Result<(), EngineError> {
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
    fn stop_stream(&mut self) -> Result<(), EngineError> {
        self.send_to_every_child(&[])?;
        let seq = self.seq + 1;
        let stream = self.stream.as_mut().expect("a stream");
        for (child, link) in self.links.iter_mut().enumerate() {
            while read_ack(link, stream, child, seq)? {}
        }
        Ok(())
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

/// This process's CPU time since `start` (a `process_cpu_time` reading).
fn cpu_since(start: Option<Duration>) -> Option<Duration> {
    Some(process_cpu_time()?.saturating_sub(start?))
}

/// Reads acknowledgements from child `child` until its window has room for
/// message `seq`; whether it had to wait.
#[inline]
fn make_room<T: Transport>(
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
fn read_ack<T: Transport>(
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
                .and_then(|(got, at)| crate::message::expect_eq("seq", seq, got).map(|_| (got, at)))
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
