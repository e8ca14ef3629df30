//! What one round's measurement becomes in the result model: its figures
//! per second and per round trip, its CPU time, its latency percentiles and
//! where its time went, as a one-round [`BenchResult`] with one [`Sample`].

use crate::measure::engine::{EngineConfig, Measurement};
use crate::record::{
    now_rfc3339, BenchResult, Complexity, CpuUsage, LatencySummary, MachineInfo, MemoryUse,
    Placement, RoundPhases, Sample, Traffic, WireSpread,
};

/// Everything a round's result is built from.
pub struct RoundFacts<'a> {
    pub payload_bytes: usize,
    pub traffic: Traffic,
    /// The case's engine settings, as asked (before any settling).
    pub engine: EngineConfig,
    /// The round's number in its run (1-based).
    pub round: usize,
    pub transport: &'static str,
    pub variant: Option<String>,
    /// See [`BenchResult::transport_facts`].
    pub transport_facts: serde_json::Map<String, serde_json::Value>,
    pub codec: &'a str,
    pub complexity: Complexity,
    pub measurement: &'a Measurement,
    /// Every child's CPU time, when each reported it.
    pub child_cpu_secs: Option<f64>,
    /// One round trip's message work without a transport, when timed.
    pub codec_ns: Option<f64>,
    pub phases: RoundPhases,
    /// When the measured phase began.
    pub started: String,
    pub memcpy_mb_per_sec: Option<f64>,
    pub placement: Placement,
    /// The sizes of the messages, when they differ (a team's own samples).
    pub wire_spread: Option<WireSpread>,
    /// What the processes and the transport held.
    pub memory: MemoryUse,
}

/// The one-round result of `facts`; every round trip in it was verified.
pub fn round_result(facts: RoundFacts) -> BenchResult {
    let measurement = facts.measurement;
    let secs = measurement.elapsed.as_secs_f64();
    let parent_secs = measurement.parent_cpu.map(|d| d.as_secs_f64());
    let total = measurement.total_round_trips();
    let cpu_ns = match (parent_secs, facts.child_cpu_secs) {
        (Some(p), Some(c)) if total > 0 => Some((p + c) * 1e9 / total as f64),
        _ => None,
    };
    let rate = measurement.round_trips as f64 / secs;
    let ns_per_round_trip = secs * 1e9 / measurement.round_trips as f64;
    let stream = facts.traffic.is_stream();
    // A round trip carries the payload both ways; a stream's message once.
    let directions = if stream { 1.0 } else { 2.0 };
    // A team's own messages carry no payload figure: their median size.
    let message_bytes = facts
        .wire_spread
        .map_or(facts.payload_bytes, |spread| spread.median);
    let latency = measurement.latency.as_ref().and_then(|l| l.summary());
    let latency_from_intended = measurement
        .latency_from_intended
        .as_ref()
        .and_then(|l| l.summary());
    let sample = round_sample(
        &facts,
        cpu_ns,
        latency.as_ref(),
        latency_from_intended.as_ref(),
    );
    BenchResult {
        schema_version: crate::record::SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        timestamp: now_rfc3339(),
        transport: facts.transport.to_string(),
        variant: facts.variant.clone(),
        transport_facts: facts.transport_facts.clone(),
        codec: facts.codec.to_string(),
        complexity: facts.complexity,
        payload_bytes: facts.payload_bytes,
        traffic: facts.traffic,
        duration_secs: secs,
        requested_duration_secs: facts.engine.duration.as_secs_f64(),
        warmup_secs: facts.engine.warmup.as_secs_f64(),
        warmup_round_trips: measurement.warmup_round_trips,
        round_trips: measurement.round_trips,
        rounds: 1,
        samples: vec![sample],
        rounds_set_aside: 0,
        pace_class: None,
        round_trips_per_sec: rate,
        round_trips_per_sec_ci95: None,
        ci_coverage: None,
        precision: None,
        stopped: None,
        modes: None,
        ns_per_round_trip,
        payload_mb_per_sec: directions * message_bytes as f64 * rate / 1e6,
        memcpy_mb_per_sec: facts.memcpy_mb_per_sec,
        wire_bytes: Some(measurement.wire_bytes),
        wire_spread: facts.wire_spread,
        message_path: Some(measurement.path),
        codec_ns_per_round_trip: facts.codec_ns,
        // The message work is timed as a round trip's; a stream's message
        // is half of it, which the share would not say.
        codec_share: facts
            .codec_ns
            .filter(|_| !stream)
            .map(|ns| ns / ns_per_round_trip),
        latency_recorded: measurement.latency.is_some() || facts.engine.record_latency && !stream,
        backpressure: measurement.backpressure,
        latency_ns: latency,
        latency_from_intended_ns: latency_from_intended,
        latency_from_intended_p50_ci95: None,
        latency_from_intended_tail_ci95: None,
        cpu: CpuUsage {
            parent_secs,
            child_secs: facts.child_cpu_secs,
            round_trips: total,
            ns_per_round_trip: cpu_ns,
        },
        verified: true,
        placement: facts.placement,
        machine: MachineInfo::current(),
        run_id: None,
        seed: None,
        warnings: Vec::new(),
        environment: None,
        memory: Some(facts.memory),
    }
}

/// The round as one of its case's samples.
fn round_sample(
    facts: &RoundFacts,
    cpu_ns: Option<f64>,
    latency: Option<&LatencySummary>,
    latency_from_intended: Option<&LatencySummary>,
) -> Sample {
    let measurement = facts.measurement;
    let secs = measurement.elapsed.as_secs_f64();
    Sample {
        round: facts.round,
        started: facts.started.clone(),
        duration_secs: secs,
        round_trips: measurement.round_trips,
        round_trips_per_sec: measurement.round_trips as f64 / secs,
        ns_per_round_trip: secs * 1e9 / measurement.round_trips as f64,
        latency_p50_ns: latency.map(|l| l.p50),
        latency_p99_ns: latency.map(|l| l.p99),
        latency_from_intended_p99_ns: latency_from_intended.map(|l| l.p99),
        cpu_ns_per_round_trip: cpu_ns,
        intervals_per_sec: measurement.intervals.clone(),
        codec_ns_per_round_trip: facts.codec_ns,
        phases: Some(facts.phases),
        longest_hold_secs: Some(measurement.longest_hold.as_secs_f64()),
        pace: None,
        spell_pace: None,
        set_aside: None,
        busy_neighbours: None,
    }
}
