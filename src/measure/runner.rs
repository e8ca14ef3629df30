//! The parent's side of one benchmark case: spawn the child, hand it its
//! config over STDIN, connect the transport, run the engine, collect the
//! child's own figures and turn everything into a [`BenchResult`].

pub use crate::measure::case_settings::{CaseSettings, MIN_DUE_REQUESTS};
use crate::measure::child_process::{describe_status, first_exited, ChildProcess, ChildStdio};
use crate::measure::dispatch::{dispatch_case, CaseVisitor};
use crate::measure::engine::Measurement;
use crate::measure::engine::{EngineConfig, Link, Phase, PingPong};
use crate::measure::handshake::{ChildConfig, ChildReport, StreamRole, PROTOCOL_VERSION};
use crate::measure::liveness::{self, Interrupted, Liveness, Peer, Progress, Watchdog};
use crate::measure::memory;
use crate::measure::message::MessageFormat;
use crate::measure::own::{self, file::MessagesFile};
use crate::measure::placement;
use crate::measure::round_result::{round_result, RoundFacts};
use crate::measure::stats::{self, LatencyRecorder};
use crate::record::{
    BenchResult, BusyProcess, Complexity, MemoryUse, PinMode, RoundPhases, Traffic,
};
use crate::transport::{self, Options, Transport, TransportId};
use anyhow::{anyhow, bail, Context};
use std::time::{Duration, Instant};

/// Payload size from which results carry the machine's memcpy bandwidth.
const MEMCPY_FROM_PAYLOAD: usize = 64 * 1024;

/// How long a round spends timing its message work with no transport (the
/// calibration takes about as long again).
const CODEC_TIMING_BUDGET: Duration = Duration::from_millis(20);
/// Rounds of a run (by number) that time the message work: the codec's
/// share is the median of theirs. Later rounds skip it, so that adding
/// rounds for precision adds measuring, not this.
const CODEC_TIMED_ROUNDS: usize = 5;

/// Everything that defines one benchmark case.
#[derive(Debug, Clone)]
pub struct CaseSpec {
    pub transport: TransportId,
    /// The transport's own settings (its `Transport::Config`), opaque here.
    pub transport_config: serde_json::Value,
    /// The codec of structured messages (raw strings use none; any codec
    /// stands in for them here).
    pub codec: codecs::CodecId,
    /// Why this codec, for the summary: named by the user, or this build's default.
    pub codec_reason: String,
    pub complexity: Complexity,
    pub payload_bytes: usize,
    pub pin: PinMode,
    /// Closed loop or fixed rate.
    pub traffic: Traffic,
    pub settings: CaseSettings,
}

/// Why a case produced no result.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The case cannot run as configured; found before anything was
    /// spawned, and reported like any other bad input.
    #[error("{0}")]
    BadSetup(String),
    /// Ctrl-C or SIGTERM arrived during the case.
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
    /// Anything else: the child, the transport, a check.
    #[error("{0:#}")]
    Failed(#[from] anyhow::Error),
}

/// What one round of a case measured: a one-round result, and its latency
/// histogram to merge with the other rounds'.
#[derive(Clone)]
pub struct Round {
    pub result: BenchResult,
    pub latency: Option<LatencyRecorder>,
    /// At a fixed rate: latency from each request's due time.
    pub latency_from_intended: Option<LatencyRecorder>,
}

/// What the children reported about themselves after a round.
struct FromChildren {
    /// Every child's CPU time, when each reported it.
    cpu_secs: Option<f64>,
    memory: MemoryUse,
}

impl Round {
    /// The round with the other programs busy while it ran (`None`: not
    /// looked at; see [`crate::measure::neighbours::Neighbours`]).
    pub fn with_neighbours(mut self, busy: Option<Vec<BusyProcess>>) -> Self {
        for sample in &mut self.result.samples {
            sample.busy_neighbours = busy.clone();
        }
        self
    }
}

/// A round's children as the parent holds them while the round runs: their
/// processes, the transports to them, and the watchdogs that stop a dead or
/// stalled one.
struct Children<T> {
    processes: Vec<ChildProcess>,
    links: Vec<Link<T>>,
    watchdogs: Vec<Watchdog>,
}

/// Runs one round of a case end to end: a fresh child, its warm-up, its
/// measured phase. `round` is its number in the run (1-based).
pub fn run_round(spec: &CaseSpec, round: usize) -> Result<Round, RunError> {
    let result = dispatch_case(
        spec.transport,
        spec.complexity,
        spec.codec,
        spec.payload_bytes,
        ParentRun { spec, round },
    );
    if liveness::interrupted() {
        return Err(Interrupted.into());
    }
    result
}

struct ParentRun<'a> {
    spec: &'a CaseSpec,
    round: usize,
}

impl CaseVisitor for ParentRun<'_> {
    type Output = Result<Round, RunError>;

    fn visit<T: Transport, F: MessageFormat>(self, mut format: F) -> Self::Output {
        let options = self.options::<T, F>(&mut format)?;
        let traffic = self.spec.traffic;
        let blocking = |links: &mut Vec<Link<T>>, mut format: F, engine, log: PhaseLog| {
            let outcome = PingPong::new(links, &mut format)
                .paced(traffic.schedule())
                .streaming(traffic.stream_window())
                .run(&engine, |phase| log.hear(phase));
            (format, outcome)
        };
        Ok(self.measure::<T, F>(format, options, blocking)?)
    }

    #[cfg(feature = "tokio")]
    fn visit_awaited<T: crate::transport::Awaited, F: MessageFormat + Send + 'static>(
        self,
        mut format: F,
    ) -> Self::Output {
        let options = self.options::<T, F>(&mut format)?;
        let awaited = |links: &mut Vec<Link<T>>, format: F, engine, log: PhaseLog| {
            let owned = crate::measure::engine::Owned {
                links: std::mem::take(links),
                format,
            };
            let (owned, outcome) =
                crate::measure::engine::run_awaited(owned, engine, move |phase| log.hear(phase));
            *links = owned.links;
            (owned.format, outcome)
        };
        Ok(self.measure::<T, F>(format, options, awaited)?)
    }
}

/// Hears the engine's phases as they begin: notes when the measured phase
/// began, and tells a person when asked to. Shared with a loop that runs as
/// a task elsewhere.
#[derive(Clone)]
struct PhaseLog {
    measuring_began: std::sync::Arc<std::sync::Mutex<Option<(Instant, String)>>>,
    announce: bool,
    engine: EngineConfig,
    round: usize,
}

impl PhaseLog {
    fn hear(&self, phase: Phase) {
        if phase == Phase::Measuring {
            let began = (Instant::now(), crate::record::now_rfc3339_millis());
            *self
                .measuring_began
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(began);
        }
        if self.announce {
            announce_phase(phase, &self.engine, self.round);
        }
    }

    /// When the measured phase began, and that moment as a timestamp (now,
    /// if it never did).
    fn measuring_began(&self) -> (Instant, String) {
        let began = self
            .measuring_began
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        began
            .clone()
            .unwrap_or_else(|| (Instant::now(), crate::record::now_rfc3339_millis()))
    }
}

/// The file an own shape's messages come from, for the child to read too.
fn own_messages_file(complexity: Complexity) -> Option<MessagesFile> {
    match complexity {
        Complexity::Own(name) => own::find(name).and_then(|shape| shape.file().cloned()),
        _ => None,
    }
}

/// How a round's loops run over the children's links: blocking, or awaited
/// as a runtime's task. Takes the format and hands it back.
type EngineResult<F> = (F, Result<Measurement, crate::measure::engine::EngineError>);

impl ParentRun<'_> {
    /// The transport's options for this case, or why the case cannot run.
    fn options<T: Transport, F: MessageFormat>(
        &self,
        format: &mut F,
    ) -> Result<Options<T::Config>, RunError> {
        let spec = self.spec;
        let max_message_bytes = format.max_message_bytes().map_err(anyhow::Error::from)?;
        let options = Options {
            max_message_bytes,
            window: spec.traffic.stream_window().unwrap_or(1) as usize,
            config: transport::decode_config::<T::Config>(&spec.transport_config)
                .map_err(anyhow::Error::from)?,
        };
        if let Some(refusal) = T::refuses(&options.config, format.codec_name(), spec.traffic.kind())
        {
            return Err(RunError::BadSetup(refusal));
        }
        if let Some(capacity) = T::capacity(&options) {
            if max_message_bytes > capacity {
                // The transports' hints speak of --payload-bytes, which an
                // own shape's samples do not have.
                let hint = T::too_large_hint(max_message_bytes)
                    .filter(|_| !spec.complexity.is_own())
                    .map_or(String::new(), |h| format!("; {h}"));
                let what = match spec.complexity {
                    own @ Complexity::Own(_) => format!(
                        "shape '{own}': its largest message, {max_message_bytes} bytes with its header, does not fit"
                    ),
                    _ => format!(
                        "invalid value '{}' for --payload-bytes/PAYLOAD_BYTES: its {max_message_bytes}-byte messages do not fit",
                        spec.payload_bytes
                    ),
                };
                return Err(RunError::BadSetup(format!(
                    "{what} the {} transport's {capacity}-byte capacity{hint}",
                    T::NAME
                )));
            }
        }
        if let Some(most) = T::max_window(&options) {
            if options.window > most {
                let hint = T::window_hint(&options).map_or(String::new(), |h| format!("; {h}"));
                let most = match most {
                    1 => "one message at a time".to_string(),
                    n => format!("at most {n} messages"),
                };
                return Err(RunError::BadSetup(format!(
                    "invalid value '{}' for --window/WINDOW: the {} transport carries {most} in flight with these settings{hint}",
                    options.window,
                    T::NAME
                )));
            }
        }
        Ok(options)
    }

    /// Spawns the children, connects, runs the engine, collects the
    /// children's own figures and builds the result.
    fn measure<T: Transport, F: MessageFormat>(
        &self,
        format: F,
        options: Options<T::Config>,
        engine_loop: impl FnOnce(&mut Vec<Link<T>>, F, EngineConfig, PhaseLog) -> EngineResult<F>,
    ) -> anyhow::Result<Round> {
        let spec = self.spec;
        let began = Instant::now();
        // The parent's peak from here: this round's, not an earlier case's.
        let peak_reset = memory::reset_peak();
        report_stale_regions();
        // Large payloads are bounded by copying; measure that limit now, on
        // this machine, before anything else runs.
        let memcpy = (spec.payload_bytes >= MEMCPY_FROM_PAYLOAD)
            .then(|| stats::memcpy_mb_per_sec(spec.payload_bytes, Duration::from_millis(200)));
        let placement = placement::plan(spec.pin).map_err(|e| anyhow!(e))?;
        let _pinned = match placement.parent_core {
            Some(core) => Some(placement::pin_for_case(core).map_err(|e| anyhow!("parent: {e}"))?),
            None => None,
        };
        let stall_deadline = stall_deadline(spec);
        let mut children =
            self.connect::<T, F>(&format, &options, placement.child_core, stall_deadline)?;
        let connected = Instant::now();
        let (mut format, outcome) = self.run_engine(&mut children, format, engine_loop);
        let (measurement, measuring_began, started) =
            self.conclude(&mut children, outcome, stall_deadline)?;
        let engine_done = Instant::now();
        let (measurement, from_children) = self.collect(children, measurement)?;
        let children_done = Instant::now();
        let memory = MemoryUse {
            parent_peak_bytes: peak_reset.then(memory::peak_bytes).flatten(),
            ..from_children.memory
        };

        // The children are gone and the machine quiet: time the same messages
        // without a transport, for the codec's share of the round trip.
        let codec_ns = match self.round <= CODEC_TIMED_ROUNDS {
            true => Some(
                crate::measure::codec_cost::round_trip_ns(&mut format, CODEC_TIMING_BUDGET)
                    .context("timing the message work after the run")?,
            ),
            false => None,
        };
        let phases = RoundPhases {
            setup_secs: (connected - began).as_secs_f64(),
            warmup_secs: (measuring_began - connected).as_secs_f64(),
            measure_secs: (engine_done - measuring_began).as_secs_f64(),
            teardown_secs: (children_done - engine_done).as_secs_f64(),
            codec_secs: children_done.elapsed().as_secs_f64(),
        };
        let result = round_result(RoundFacts {
            payload_bytes: spec.payload_bytes,
            traffic: spec.traffic,
            engine: spec.settings.engine,
            round: self.round,
            transport: T::NAME,
            variant: T::variant(&options.config),
            transport_facts: T::facts(&options),
            codec: format.codec_name(),
            complexity: format.complexity(),
            measurement: &measurement,
            child_cpu_secs: from_children.cpu_secs,
            codec_ns,
            phases,
            started,
            memcpy_mb_per_sec: memcpy,
            placement,
            wire_spread: format.wire_spread(),
            memory,
        });
        Ok(Round {
            result,
            latency: measurement.latency,
            latency_from_intended: measurement.latency_from_intended,
        })
    }

    /// One child after another, each with a transport of its own (a fan-out
    /// has several): each child is connected, and its ends of the transport
    /// closed in the parent, before the next one starts, so no child
    /// inherits another's.
    fn connect<T: Transport, F: MessageFormat>(
        &self,
        format: &F,
        options: &Options<T::Config>,
        child_core: Option<usize>,
        stall_deadline: Duration,
    ) -> anyhow::Result<Children<T>> {
        let spec = self.spec;
        let settings = &spec.settings;
        let count = spec.traffic.children.max(1) as usize;
        let mut children = Children {
            processes: Vec::with_capacity(count),
            links: Vec::with_capacity(count),
            watchdogs: Vec::with_capacity(count),
        };
        for _ in 0..count {
            let (mut listener, mut setup) =
                T::listen(options).context("setting up the transport")?;
            let stdio = child_stdio::<T>(&mut listener, &mut setup);
            let transport_setup =
                serde_json::to_value(&setup).context("writing the transport's setup")?;
            let config = ChildConfig {
                protocol_version: PROTOCOL_VERSION,
                transport: T::NAME.to_string(),
                codec: format.codec_name().to_string(),
                complexity: format.complexity(),
                payload_bytes: spec.payload_bytes,
                max_message_bytes: options.max_message_bytes,
                transport_config: transport::encode_config(&options.config),
                transport_setup,
                parent_pid: std::process::id(),
                child_core,
                stream: spec.traffic.stream_window().map(|window| StreamRole {
                    window,
                    record_latency: settings.engine.record_latency,
                }),
                messages: own_messages_file(spec.complexity),
            };
            let mut child = ChildProcess::spawn(settings.child_bin.as_ref(), &config, stdio)?;
            let progress = Progress::default();
            children.watchdogs.push(Watchdog::watching_progress(
                child.pid(),
                transport::clean_up_before_forced_exit,
                progress.clone(),
                stall_deadline,
            ));
            let mut liveness = Liveness::new(Peer::Child(child.pid()));
            match child.next_report(settings.handshake_timeout, &mut liveness)? {
                ChildReport::Ready => {}
                other => {
                    bail!("unexpected report from the child during the handshake: {other:?}")
                }
            }
            let transport = T::accept(listener, options, &mut liveness, settings.handshake_timeout)
                .map_err(|e| child.explain(anyhow!("connecting to the child: {e}"), false))?;
            children.processes.push(child);
            children
                .links
                .push(Link::new(transport, liveness, progress));
        }
        Ok(children)
    }

    /// Runs the engine over every child's link with `engine_loop`.
    fn run_engine<T: Transport, F: MessageFormat>(
        &self,
        children: &mut Children<T>,
        format: F,
        engine_loop: impl FnOnce(&mut Vec<Link<T>>, F, EngineConfig, PhaseLog) -> EngineResult<F>,
    ) -> (
        F,
        Result<(Measurement, PhaseLog), crate::measure::engine::EngineError>,
    ) {
        let settings = &self.spec.settings;
        let traffic = &self.spec.traffic;
        // Only a closed loop's warm-up ends when it settles: a fixed rate's
        // pace is its schedule, and a stream's is its window's.
        let closed_loop = traffic.schedule().is_none() && !traffic.is_stream();
        let engine = EngineConfig {
            settle: settings.engine.settle && closed_loop,
            ..settings.engine
        };
        let log = PhaseLog {
            measuring_began: Default::default(),
            announce: settings.announce_phases,
            engine,
            round: self.round,
        };
        let links = &mut children.links;
        links.iter().for_each(|l| l.progress.arm());
        let (format, outcome) = engine_loop(links, format, engine, log.clone());
        links.iter().for_each(|l| l.progress.disarm());
        (format, outcome.map(|measurement| (measurement, log)))
    }

    /// The engine's outcome as the round's: a stalled child's or a dead
    /// one's error explained; else the measurement, when its measured phase
    /// began, and that moment as a timestamp.
    fn conclude<T: Transport>(
        &self,
        children: &mut Children<T>,
        outcome: Result<(Measurement, PhaseLog), crate::measure::engine::EngineError>,
        stall_deadline: Duration,
    ) -> anyhow::Result<(Measurement, Instant, String)> {
        let links = &children.links;
        let count = links.len();
        let stalled = links.iter().position(|l| l.progress.stalled().is_some());
        let processes = &mut children.processes;
        let (measurement, log) = outcome.map_err(|e| {
            if let Some(child) = stalled {
                return stall_error(&mut processes[child], stall_deadline, count);
            }
            let culprit = first_exited(processes);
            processes[culprit].explain_engine_error(e)
        })?;
        if let Some(child) = stalled {
            // The child was stopped just as the run ended: its figures are not whole.
            return Err(stall_error(&mut processes[child], stall_deadline, count));
        }
        let (measuring_began, started) = log.measuring_began();
        Ok((measurement, measuring_began, started))
    }

    /// Each child's own count and CPU time (checked against the parent's),
    /// a stream's one-way latencies from every child, then each child's
    /// exit. Returns the measurement with those latencies, and the
    /// children's CPU seconds.
    fn collect<T: Transport>(
        &self,
        children: Children<T>,
        mut measurement: Measurement,
    ) -> anyhow::Result<(Measurement, FromChildren)> {
        let spec = self.spec;
        let timeout = spec.settings.handshake_timeout;
        let Children {
            mut processes,
            mut links,
            watchdogs,
        } = children;
        let mut child_cpu = Some(0.0);
        let mut child_memory: Option<MemoryUse> = None;
        let mut one_way: Option<LatencyRecorder> = None;
        for (child, link) in processes.iter_mut().zip(links.iter_mut()) {
            let (round_trips, cpu_secs, buckets) =
                match child.next_report(timeout, &mut link.liveness)? {
                    ChildReport::Done {
                        round_trips,
                        cpu_secs,
                        one_way_ns,
                        peak_bytes,
                        buffers,
                    } => {
                        // The largest child's peak; the first child's buffers.
                        let this = MemoryUse {
                            parent_peak_bytes: None,
                            child_peak_bytes: peak_bytes,
                            transport_buffers: buffers,
                        };
                        child_memory = Some(match child_memory.take() {
                            Some(first) => this.merge(first),
                            None => this,
                        });
                        (round_trips, cpu_secs, one_way_ns)
                    }
                    other => bail!("unexpected report from the child after the run: {other:?}"),
                };
            let sent = measurement.total_round_trips();
            if round_trips != sent {
                match spec.traffic.is_stream() {
                    true => bail!(
                        "the child took {round_trips} messages but the parent sent {sent}"
                    ),
                    false => bail!(
                        "the child answered {round_trips} pings but the parent counted {sent} round trips"
                    ),
                }
            }
            child_cpu = child_cpu.zip(cpu_secs).map(|(sum, c)| sum + c);
            if let Some(buckets) = buckets {
                let histogram = LatencyRecorder::from_buckets(&buckets);
                one_way
                    .get_or_insert_with(LatencyRecorder::default)
                    .merge(&histogram);
            }
        }
        if spec.traffic.is_stream() {
            measurement.latency = one_way;
        }
        drop(links);
        for child in &mut processes {
            let status = child.wait(timeout)?;
            if !status.success() {
                bail!("the child {} after the run", describe_status(status));
            }
        }
        drop(watchdogs);
        Ok((
            measurement,
            FromChildren {
                cpu_secs: child_cpu,
                memory: child_memory.unwrap_or_default(),
            },
        ))
    }
}

/// How long a round may go without progress: the setting, plus one
/// request's interval at a fixed rate (the parent waits that long by
/// design), plus time for one very large message's work (a release build
/// encodes and checks well over 8 MB/s; a debug build is given ten times that).
fn stall_deadline(spec: &CaseSpec) -> Duration {
    let pacing = spec
        .traffic
        .offered_rate_per_sec
        .map_or(Duration::ZERO, |rate| {
            Duration::from_secs_f64(1.0 / rate.max(1) as f64)
        });
    let per_byte = if cfg!(debug_assertions) { 80e6 } else { 8e6 };
    let large = Duration::from_secs_f64(spec.payload_bytes as f64 / per_byte);
    spec.settings.stall_timeout + pacing + large
}

/// The error for a round whose child made no progress within the deadline
/// (it was stopped for it).
fn stall_error(child: &mut ChildProcess, deadline: Duration, children: usize) -> anyhow::Error {
    // It was killed: reap it, so nothing of it stays.
    let _ = child.wait(Duration::from_secs(1));
    let which = match children {
        1 => "the child".to_string(),
        _ => format!("child {}", child.pid()),
    };
    anyhow!(
        "stalled: {which} made no progress (no reply, acknowledgement or send) for {:.1} s, so it was stopped and this round has no figure; a stopped (SIGSTOP) or stuck child, or a child that disagrees on the setup, does this (--stall-timeout/STALL_TIMEOUT_SECONDS sets the deadline)",
        deadline.as_secs_f64()
    )
}

/// One line on stderr as a phase of a single run begins, so a person (or a
/// test) can tell a slow handshake from a run under way.
fn announce_phase(phase: Phase, engine: &EngineConfig, round: usize) {
    match phase {
        Phase::WarmingUp if engine.settle => eprintln!(
            "ipc-bench: round {round}: child connected; warming up until its pace settles (at most {} s)",
            engine.warmup.as_secs_f64()
        ),
        Phase::WarmingUp => eprintln!(
            "ipc-bench: round {round}: child connected; warming up for {} s",
            engine.warmup.as_secs_f64()
        ),
        Phase::Measuring => eprintln!(
            "ipc-bench: round {round}: measuring for {} s",
            engine.duration.as_secs_f64()
        ),
    }
}

/// Removes regions and socket directories left by processes that no longer
/// exist, saying so, before this run creates its own.
fn report_stale_regions() {
    match transport::sweep_stale(false) {
        Ok(stale) => {
            // What was left alone is not ours to report on every run; `clean` lists it.
            for resource in stale.removed {
                eprintln!(
                    "note: removed stale {} {} left by process {}, which no longer exists",
                    resource.kind,
                    resource.path.display(),
                    resource.pid
                );
            }
        }
        Err(e) => eprintln!("note: could not check for stale resources: {e}"),
    }
}

/// Where the child's STDIN and STDOUT go: the transport's, if it carries
/// messages on them.
fn child_stdio<T: Transport>(listener: &mut T::Listener, setup: &mut T::Setup) -> ChildStdio {
    #[cfg(unix)]
    if let Some(ends) = T::child_stdio(listener, setup) {
        return ChildStdio::Transport(ends);
    }
    let _ = (listener, setup);
    ChildStdio::Control
}
