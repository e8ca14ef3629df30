//! The parent's side of one benchmark case: spawn the child, hand it its
//! config over STDIN, connect the transport, run the engine, collect the
//! child's own figures and turn everything into a [`BenchResult`].

use crate::dispatch::{dispatch_case, CaseVisitor};
use crate::engine::{EngineConfig, EngineError, Link, Phase, PingPong};
use crate::handshake::{ChildConfig, ChildReport, StreamRole, CHILD_ROLE_ENV, PROTOCOL_VERSION};
use crate::liveness::{self, Interrupted, Liveness, Peer, PeerError, Progress, Watchdog};
use crate::machine::MachineInfo;
use crate::message::{Complexity, MessageFormat};
use crate::placement::{self, PinMode};
use crate::result::{now_rfc3339, BenchResult, CpuUsage, RoundPhases, Sample};
use crate::stats::{self, LatencyRecorder};
use crate::traffic::Traffic;
use crate::transport::{self, Options, Transport, TransportError, TransportId};
use anyhow::{anyhow, bail, Context};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
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

/// What every case of one `run` or `matrix` shares.
#[derive(Debug, Clone)]
pub struct CaseSettings {
    /// How many times each case runs at least (each time a fresh child):
    /// the planned rounds, after which its interval is first looked at.
    pub rounds: usize,
    /// The most rounds a case may take while its interval is too wide.
    pub max_rounds: usize,
    /// The interval's aim as a share of the median (0.05: ±5 %); `None`:
    /// the planned rounds and no more.
    pub precision: Option<f64>,
    /// The whole run's time budget for rounds beyond the planned ones.
    pub max_time: Option<Duration>,
    pub engine: EngineConfig,
    /// The executable to run as the child; `None` re-executes this one.
    pub child_bin: Option<PathBuf>,
    /// How long each handshake step may take.
    pub handshake_timeout: Duration,
    /// How long a running round may go without a reply, an acknowledgement
    /// or a stream send before the child is stopped and the round fails.
    pub stall_timeout: Duration,
    /// Say on stderr when the warm-up and the measured phase begin (a single
    /// run does; a matrix shows its own progress instead).
    pub announce_phases: bool,
}

impl CaseSettings {
    /// When a case stops getting rounds.
    pub fn stopping_rule(&self) -> crate::estimate::StoppingRule {
        crate::estimate::StoppingRule {
            min_rounds: self.rounds,
            max_rounds: self.max_rounds.max(self.rounds),
            precision: self.precision,
        }
    }
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
        Ok(self.measure::<T, F>(format, options)?)
    }
}

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
        if let Some(capacity) = T::capacity(&options) {
            if max_message_bytes > capacity {
                let hint = T::too_large_hint(max_message_bytes)
                    .map_or(String::new(), |h| format!("; {h}"));
                return Err(RunError::BadSetup(format!(
                    "invalid value '{}' for --payload-bytes/PAYLOAD_BYTES: its {max_message_bytes}-byte messages do not fit the {} transport's {capacity}-byte capacity{hint}",
                    spec.payload_bytes,
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

    /// Spawns the child, connects, runs the engine and builds the result.
    fn measure<T: Transport, F: MessageFormat>(
        &self,
        mut format: F,
        options: Options<T::Config>,
    ) -> anyhow::Result<Round> {
        let spec = self.spec;
        let settings = &spec.settings;
        let max_message_bytes = options.max_message_bytes;
        let began = Instant::now();
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

        // One child after another, each with a transport of its own (a
        // fan-out has several): each child is connected, and its ends of the
        // transport closed in the parent, before the next one starts, so no
        // child inherits another's.
        let count = spec.traffic.children.max(1) as usize;
        let mut children: Vec<ChildProcess> = Vec::with_capacity(count);
        let mut links: Vec<Link<T>> = Vec::with_capacity(count);
        let mut watchdogs = Vec::with_capacity(count);
        let stall_deadline = stall_deadline(spec);
        for _ in 0..count {
            let (listener, setup) = T::listen(&options).context("setting up the transport")?;
            let transport_setup =
                serde_json::to_value(&setup).context("writing the transport's setup")?;
            let config = ChildConfig {
                protocol_version: PROTOCOL_VERSION,
                transport: T::NAME.to_string(),
                codec: format.codec_name().to_string(),
                complexity: format.complexity(),
                payload_bytes: spec.payload_bytes,
                max_message_bytes,
                transport_config: transport::encode_config(&options.config),
                transport_setup,
                parent_pid: std::process::id(),
                child_core: placement.child_core,
                stream: spec.traffic.stream_window().map(|window| StreamRole {
                    window,
                    record_latency: settings.engine.record_latency,
                }),
            };
            let mut child = ChildProcess::spawn(settings.child_bin.as_ref(), &config)?;
            let progress = Progress::default();
            watchdogs.push(Watchdog::watching_progress(
                child.pid(),
                transport::remove_all_regions,
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
            let transport = T::accept(
                listener,
                &options,
                &mut liveness,
                settings.handshake_timeout,
            )
            .map_err(|e| child.explain(anyhow!("connecting to the child: {e}"), false))?;
            children.push(child);
            links.push(Link::new(transport, liveness, progress));
        }

        // Only a closed loop's warm-up ends when it settles: a fixed rate's
        // pace is its schedule, and a stream's is its window's.
        let closed_loop = spec.traffic.schedule().is_none() && !spec.traffic.is_stream();
        let engine = EngineConfig {
            settle: settings.engine.settle && closed_loop,
            ..settings.engine
        };
        let connected = Instant::now();
        let mut measuring_began = connected;
        let mut started = None;
        let announce = |phase| {
            if phase == Phase::Measuring {
                measuring_began = Instant::now();
                started = Some(crate::result::now_rfc3339_millis());
            }
            if settings.announce_phases {
                announce_phase(phase, &engine, self.round);
            }
        };
        links.iter().for_each(|l| l.progress.arm());
        let outcome = PingPong::new(&mut links, &mut format)
            .paced(spec.traffic.schedule())
            .streaming(spec.traffic.stream_window())
            .run(&engine, announce);
        links.iter().for_each(|l| l.progress.disarm());
        let stalled = links.iter().position(|l| l.progress.stalled().is_some());
        let measurement = outcome.map_err(|e| {
            if let Some(child) = stalled {
                return stall_error(&mut children[child], stall_deadline, count);
            }
            let culprit = first_exited(&mut children);
            children[culprit].explain_engine_error(e)
        })?;
        if let Some(child) = stalled {
            // The child was stopped just as the run ended: its figures are not whole.
            return Err(stall_error(&mut children[child], stall_deadline, count));
        }
        let engine_done = Instant::now();

        // Each child's own count and CPU time, then its exit.
        let mut child_cpu = Some(0.0);
        // A stream's one-way latencies, every child's together.
        let mut one_way: Option<LatencyRecorder> = None;
        for (child, link) in children.iter_mut().zip(links.iter_mut()) {
            let (round_trips, cpu_secs, buckets) =
                match child.next_report(settings.handshake_timeout, &mut link.liveness)? {
                    ChildReport::Done {
                        round_trips,
                        cpu_secs,
                        one_way_ns,
                    } => (round_trips, cpu_secs, one_way_ns),
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
        let mut measurement = measurement;
        if spec.traffic.is_stream() {
            measurement.latency = one_way;
        }
        drop(links);
        for child in &mut children {
            let status = child.wait(settings.handshake_timeout)?;
            if !status.success() {
                bail!("the child {} after the run", describe_status(status));
            }
        }
        drop(watchdogs);
        let served = (measurement.total_round_trips(), child_cpu);
        let children_done = Instant::now();

        // The child is gone and the machine quiet: time the same messages
        // without a transport, for the codec's share of the round trip.
        let codec_ns = match self.round <= CODEC_TIMED_ROUNDS {
            true => Some(
                crate::codec_cost::round_trip_ns(&mut format, CODEC_TIMING_BUDGET)
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
        let secs = measurement.elapsed.as_secs_f64();
        let parent_secs = measurement.parent_cpu.map(|d| d.as_secs_f64());
        let cpu_ns = match (parent_secs, served.1) {
            (Some(p), Some(c)) if measurement.total_round_trips() > 0 => {
                Some((p + c) * 1e9 / measurement.total_round_trips() as f64)
            }
            _ => None,
        };
        let rate = measurement.round_trips as f64 / secs;
        let directions = if spec.traffic.is_stream() { 1.0 } else { 2.0 };
        let latency = measurement.latency.as_ref().and_then(|l| l.summary());
        let latency_from_intended = measurement
            .latency_from_intended
            .as_ref()
            .and_then(|l| l.summary());
        let sample = Sample {
            round: self.round,
            started: started.unwrap_or_else(crate::result::now_rfc3339_millis),
            duration_secs: secs,
            round_trips: measurement.round_trips,
            round_trips_per_sec: rate,
            ns_per_round_trip: secs * 1e9 / measurement.round_trips as f64,
            latency_p50_ns: latency.as_ref().map(|l| l.p50),
            latency_p99_ns: latency.as_ref().map(|l| l.p99),
            latency_from_intended_p99_ns: latency_from_intended.as_ref().map(|l| l.p99),
            cpu_ns_per_round_trip: cpu_ns,
            intervals_per_sec: measurement.intervals.clone(),
            codec_ns_per_round_trip: codec_ns,
            phases: Some(phases),
        };
        let result = BenchResult {
            schema_version: crate::result::SCHEMA_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            timestamp: now_rfc3339(),
            transport: T::NAME.to_string(),
            variant: T::variant(&options.config).map(String::from),
            codec: format.codec_name().to_string(),
            complexity: format.complexity(),
            payload_bytes: spec.payload_bytes,
            traffic: spec.traffic,
            duration_secs: secs,
            requested_duration_secs: settings.engine.duration.as_secs_f64(),
            warmup_secs: settings.engine.warmup.as_secs_f64(),
            warmup_round_trips: measurement.warmup_round_trips,
            round_trips: measurement.round_trips,
            rounds: 1,
            samples: vec![sample],
            round_trips_per_sec: rate,
            round_trips_per_sec_ci95: None,
            ci_coverage: None,
            precision: None,
            stopped: None,
            modes: None,
            ns_per_round_trip: secs * 1e9 / measurement.round_trips as f64,
            // A round trip carries the payload both ways; a stream's message once.
            payload_mb_per_sec: directions * spec.payload_bytes as f64 * rate / 1e6,
            memcpy_mb_per_sec: memcpy,
            wire_bytes: Some(measurement.wire_bytes),
            message_path: Some(measurement.path),
            codec_ns_per_round_trip: codec_ns,
            // The message work is timed as a round trip's; a stream's message
            // is half of it, which the share would not say.
            codec_share: codec_ns
                .filter(|_| !spec.traffic.is_stream())
                .map(|ns| ns / (secs * 1e9 / measurement.round_trips as f64)),
            latency_recorded: measurement.latency.is_some()
                || settings.engine.record_latency && !spec.traffic.is_stream(),
            backpressure: measurement.backpressure,
            latency_ns: latency,
            latency_from_intended_ns: latency_from_intended,
            cpu: CpuUsage {
                parent_secs,
                child_secs: served.1,
                round_trips: measurement.total_round_trips(),
                ns_per_round_trip: cpu_ns,
            },
            verified: true,
            placement,
            machine: MachineInfo::current(),
            run_id: None,
            seed: None,
            warnings: Vec::new(),
            environment: None,
        };
        Ok(Round {
            result,
            latency: measurement.latency,
            latency_from_intended: measurement.latency_from_intended,
        })
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

/// The child process, killed and reaped if dropped while still running, so
/// that no error path can leave an orphan behind.
struct ChildProcess {
    child: Child,
    /// Carries the config line; then kept open, since its closing is one way a
    /// child learns that the parent is gone.
    stdin: ChildStdin,
    /// Lines from the child's STDOUT, read on a helper thread.
    lines: mpsc::Receiver<String>,
}

impl ChildProcess {
    fn spawn(child_bin: Option<&PathBuf>, config: &ChildConfig) -> anyhow::Result<Self> {
        let exe = match child_bin {
            Some(path) => path.clone(),
            None => std::env::current_exe()
                .context("cannot find this executable to run it as the child")?,
        };
        let mut child = Command::new(&exe)
            .env(CHILD_ROLE_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start the child {}", exe.display()))?;
        liveness::register_child(child.id());
        let stdin = child.stdin.take().expect("stdin was piped");
        let stdout = child.stdout.take().expect("stdout was piped");
        let (tx, lines) = mpsc::channel();
        std::thread::Builder::new()
            .name("child-stdout".into())
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
            .context("cannot start the thread reading the child's output")?;
        // Built before writing, so that a failed write still kills the child.
        let mut process = ChildProcess {
            child,
            stdin,
            lines,
        };
        writeln!(process.stdin, "{}", config.to_line())
            .and_then(|_| process.stdin.flush())
            .context("cannot send the configuration to the child (did it exit at once?)")?;
        Ok(process)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the child's next report line, watching for its death, the
    /// user's interrupt and the clock.
    fn next_report(
        &mut self,
        timeout: Duration,
        liveness: &mut Liveness,
    ) -> anyhow::Result<ChildReport> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.lines.recv_timeout(Duration::from_millis(20)) {
                Ok(line) => return self.interpret(&line),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.wait(Duration::from_secs(1))?;
                    bail!("the child {} without reporting", describe_status(status));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Err(e) = liveness.check_now() {
                        let status_known = matches!(e, PeerError::ChildExited(_));
                        return Err(self.explain(anyhow!(e), status_known));
                    }
                    if Instant::now() >= deadline {
                        bail!("the child did not answer within {timeout:?}");
                    }
                }
            }
        }
    }

    fn interpret(&mut self, line: &str) -> anyhow::Result<ChildReport> {
        match ChildReport::parse(line) {
            Ok(ChildReport::Refused { error }) => {
                bail!("the child refused the configuration: {error}")
            }
            Ok(ChildReport::Failed { error }) => bail!("the child failed: {error}"),
            Ok(report) => Ok(report),
            Err(e) => bail!("the child wrote something that is not a report: {e}"),
        }
    }

    /// Adds what the child said or how it ended to a parent-side error: after
    /// a failure the child's own account is usually the useful part.
    /// `status_known`: the error already says how the child ended.
    fn explain(&mut self, error: anyhow::Error, status_known: bool) -> anyhow::Error {
        if liveness::interrupted() {
            return Interrupted.into();
        }
        // The child's last words may still be on their way.
        let deadline = Instant::now() + Duration::from_millis(500);
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if let Err(reason) = self.interpret(&line) {
                return reason.context(error.to_string());
            }
        }
        match self.wait(Duration::from_secs(1)) {
            Ok(status) if !status_known => {
                anyhow!("{error} (the child {})", describe_status(status))
            }
            _ => error,
        }
    }

    fn explain_engine_error(&mut self, error: EngineError) -> anyhow::Error {
        match error.transport() {
            Some(TransportError::Disconnected) => self.explain(anyhow!(error), false),
            Some(TransportError::Peer(PeerError::ChildExited(_))) => {
                self.explain(anyhow!(error), true)
            }
            _ => anyhow!(error),
        }
    }

    /// Waits up to `timeout` for the child to exit, killing it after that.
    fn wait(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                liveness::forget_child(self.child.id());
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let status = self.child.wait()?;
                liveness::forget_child(self.child.id());
                bail!(
                    "the child did not exit within {timeout:?} and was killed ({})",
                    describe_status(status)
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        liveness::forget_child(self.child.id());
        // A child that was killed could not remove what its transport
        // registered for it (an iceoryx2 node); it is dead now, so that can
        // go. Regions and socket directories are the parent's and went with
        // its transport.
        if let Err(e) = transport::sweep_transports_stale(false) {
            eprintln!("note: could not remove what the child left: {e}");
        }
    }
}

/// Which of `children` to blame for a failed run: the first that has
/// ended, or the first of all when none has (say, a bad reply).
fn first_exited(children: &mut [ChildProcess]) -> usize {
    children
        .iter_mut()
        .position(|c| matches!(c.child.try_wait(), Ok(Some(_))))
        .unwrap_or(0)
}

/// "exited with status 3", "was killed by signal 9 (SIGKILL)".
pub fn describe_status(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!(
                "was killed by signal {signal} ({})",
                liveness::signal_name(signal)
            );
        }
    }
    match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => "ended".to_string(),
    }
}
