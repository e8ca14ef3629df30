//! The human-readable summary of one run.

use crate::record::BenchResult;
use crate::report::compare::tail_range;
use crate::util::format::{format_ns, group_thousands, percent};
use std::fmt::Write;
use std::path::Path;

/// The warning every summary and matrix of a debug build carries.
pub const DEBUG_BUILD_WARNING: &str =
    "debug build: figures are several times slower than release; add --release";

/// "a 0.3 s warm-up", or, when rounds record how long their warm-up took and
/// some ended it early (it settled), "a warm-up of 0.04 s on average (at most 0.3 s)".
fn warmup_words(result: &BenchResult) -> String {
    let took: Vec<f64> = result
        .samples
        .iter()
        .filter_map(|s| s.phases.map(|p| p.warmup_secs))
        .collect();
    let mean = took.iter().sum::<f64>() / took.len().max(1) as f64;
    if took.is_empty() || mean >= 0.9 * result.warmup_secs {
        format!("a {:.1} s warm-up", result.warmup_secs)
    } else {
        format!(
            "a warm-up of {:.2} s on average, until its pace settled (at most {:.1} s)",
            mean, result.warmup_secs
        )
    }
}

/// One line on how sure a set of results is: how many are within the
/// precision they aimed at, the median interval, and why the others
/// stopped short. `None` when no result aimed at a precision. Results at a
/// fixed rate are counted apart, on the figure they aim at: their p50 from
/// the due time. Their throughput is the rate they were offered, whose
/// interval of almost nothing would make the median interval of a rate
/// sweep ±0 %; one without due-time latency is left out.
pub fn precision_line(results: &[crate::report::results::Loaded]) -> Option<String> {
    let aiming: Vec<&BenchResult> = results
        .iter()
        .map(|l| &l.result)
        .filter(|r| r.precision.is_some())
        .collect();
    let precision = aiming.first()?.precision?;
    let (paced, closed): (Vec<&BenchResult>, Vec<&BenchResult>) = aiming
        .iter()
        .partition(|r| r.traffic.offered_rate_per_sec.is_some());
    let on_latency: Vec<&BenchResult> = paced
        .iter()
        .copied()
        .filter(|r| r.aims_at_latency())
        .collect();
    let mut parts = Vec::new();
    if !closed.is_empty() {
        parts.push(format!("precision: {}", tally(&closed, precision)));
    }
    if !on_latency.is_empty() {
        let lead = match closed.is_empty() {
            true => "precision",
            false => "at fixed rates",
        };
        parts.push(format!(
            "{lead}, on the p50 from the due time: {}",
            tally(&on_latency, precision)
        ));
    }
    let uncounted = paced.len() - on_latency.len();
    if uncounted > 0 {
        parts.push(format!(
            "{uncounted} at fixed rates not counted (no latency from the due time)"
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// `3 of 5 cases within ±5 % (4 within ±10 %), median interval ±4.2 %; the
/// others: 2 time budget reached`, on each result's aimed figure.
fn tally(results: &[&BenchResult], precision: f64) -> String {
    use std::collections::BTreeMap;
    let spreads: Vec<f64> = results.iter().filter_map(|r| r.aimed_spread()).collect();
    let within = spreads.iter().filter(|&&s| s <= precision).count();
    let within_10 = spreads.iter().filter(|&&s| s <= 0.10).count();
    let mut short: BTreeMap<&str, usize> = BTreeMap::new();
    for r in results {
        if r.aimed_spread().is_none_or(|s| s > precision) {
            let why = match r.modes {
                Some(_) => "two modes",
                None => r.stopped.map_or("unknown", |s| s.reason()),
            };
            *short.entry(why).or_default() += 1;
        }
    }
    let mut line = format!(
        "{within} of {} cases within ±{} % ({within_10} within ±10 %), median interval ±{:.1} %",
        results.len(),
        percent(precision),
        100.0 * crate::report::estimate::median(&spreads).unwrap_or(f64::NAN)
    );
    if !short.is_empty() {
        let reasons: Vec<String> = short.iter().map(|(why, n)| format!("{n} {why}")).collect();
        line.push_str(&format!("; the others: {}", reasons.join(", ")));
    }
    line
}

pub fn render(result: &BenchResult, saved_to: Option<&Path>, codec_reason: Option<&str>) -> String {
    let mut out = String::new();
    header(&mut out, result, codec_reason);
    rounds_and_throughput(&mut out, result);
    traffic_lines(&mut out, result);
    latency_lines(&mut out, result);
    cost_lines(&mut out, result);
    for warning in &result.warnings {
        let _ = writeln!(out, "  warning: {warning}");
    }
    if let Some(path) = saved_to {
        let _ = writeln!(out, "  Result:       {}", path.display());
    }
    out
}

/// The case in one line: transport, codec, shape, payload, placement, traffic.
fn header(out: &mut String, result: &BenchResult, codec_reason: Option<&str>) {
    let placement = match (result.placement.parent_core, result.placement.child_core) {
        (Some(p), Some(c)) => format!(
            "pin {} (parent core {p}, child core {c})",
            result.placement.mode.name()
        ),
        _ => "unpinned".to_string(),
    };
    let transport = match &result.variant {
        Some(variant) => format!("{} ({variant})", result.transport),
        None => result.transport.clone(),
    };
    let codec = match codec_reason {
        Some(why) if result.complexity.uses_codec() => {
            format!("{} ({why})", result.codec)
        }
        _ => result.codec.clone(),
    };
    // A team's own shape has no payload figure: its samples are its sizes.
    let payload = match result.complexity.is_own() {
        true => "its own samples".to_string(),
        false => format!("{} B payload", result.payload_bytes),
    };
    let _ = writeln!(
        out,
        "{transport} · {codec} · {} · {payload} · {placement} · {}",
        result.complexity,
        result.traffic.describe()
    );
}

/// The rounds, the median throughput with its interval, two modes, the
/// precision asked for and every round's figure.
fn rounds_and_throughput(out: &mut String, result: &BenchResult) {
    let (one, many) = result.traffic.unit();
    let _ = writeln!(
        out,
        "  Rounds:       {} × {:.2} s, each with a fresh child and {}; {} {many}, every one verified",
        result.rounds,
        result.requested_duration_secs,
        warmup_words(result),
        group_thousands(result.round_trips as f64),
    );
    let rate = result.round_trips_per_sec;
    match &result.round_trips_per_sec_ci95 {
        Some(ci) => {
            let _ = writeln!(
                out,
                "  Throughput:   {} {many}/s (median of {} rounds; {:.0} % interval {} – {}, ±{:.0} %), {} per {one}",
                group_thousands(rate),
                result.rounds,
                100.0 * result.ci_coverage.unwrap_or(0.95),
                group_thousands(ci.lo),
                group_thousands(ci.hi),
                100.0 * ci.relative_half_width(rate),
                format_ns(result.ns_per_round_trip)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  Throughput:   {} {many}/s (one round: no interval), {} per {one}",
                group_thousands(rate),
                format_ns(result.ns_per_round_trip)
            );
        }
    }
    if let Some([slow, fast]) = &result.modes {
        let _ = writeln!(
            out,
            "  Two modes:    {} {many}/s in {} rounds, {} {many}/s in {}: the rounds fall into two groups, and the median above describes neither",
            group_thousands(fast.median),
            fast.rounds,
            group_thousands(slow.median),
            slow.rounds
        );
    }
    if let (Some(precision), Some(stop)) = (result.precision, result.stopped) {
        let _ = writeln!(
            out,
            "  Precision:    aimed at ±{} %{}; {} after {} rounds",
            percent(precision),
            match result.aims_at_latency() {
                true => " on the p50 from the due time",
                false => "",
            },
            stop.reason(),
            result.rounds
        );
    }
    if result.rounds > 1 {
        let rates = result.rates();
        let lo = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = rates.iter().copied().fold(0.0, f64::max);
        let _ = writeln!(
            out,
            "  Each round:   {}",
            rates
                .iter()
                .map(|r| crate::util::format::short_rate(*r))
                .collect::<Vec<_>>()
                .join("  ")
                + &format!("  (slowest to fastest {:.2}×)", hi / lo)
        );
    }
    if result.rounds_set_aside > 0 {
        let _ = writeln!(
            out,
            "  Set aside:    {} rounds, kept in the file and left out of every figure (see the warnings)",
            result.rounds_set_aside
        );
    }
}

/// A fixed rate's load and a stream's window and back-pressure.
fn traffic_lines(out: &mut String, result: &BenchResult) {
    let rate = result.round_trips_per_sec;
    if let Some(offered) = result.traffic.offered_rate_per_sec {
        let _ = writeln!(
            out,
            "  Load:         offered {}/s, one request in flight; achieved {}/s (median)",
            group_thousands(offered as f64),
            group_thousands(rate)
        );
    }
    if let Some(window) = result.traffic.stream_window() {
        let waited = result.backpressure.map_or(String::new(), |b| {
            format!(
                "; the sender waited for the consumer {:.1} % of the time (back-pressure)",
                100.0 * b.waiting_share(result.duration_secs)
            )
        });
        let _ = writeln!(
            out,
            "  Stream:       one way, window {window}, acknowledged every {}{waited}; payload {:.1} MB/s",
            crate::measure::engine::ack_interval(window),
            result.payload_mb_per_sec
        );
    }
}

/// The latency percentiles, from the due time and from the send where both exist.
fn latency_lines(out: &mut String, result: &BenchResult) {
    let percentiles = |l: &crate::record::LatencySummary| {
        format!(
            "p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
            format_ns(l.p50 as f64),
            format_ns(l.p90 as f64),
            format_ns(l.p99 as f64),
            format_ns(l.p999 as f64),
            format_ns(l.max as f64)
        )
    };
    match (&result.latency_ns, &result.latency_from_intended_ns) {
        (Some(sent), Some(due)) => {
            let _ = writeln!(
                out,
                "  Latency:      (all rounds, from the due time: what a caller sees) {}",
                percentiles(due)
            );
            if let Some(i) = result.latency_from_intended_p50_ci95 {
                let _ = writeln!(
                    out,
                    "                its p50's 95 % interval: {}–{} (rounds resampled whole)",
                    format_ns(i.lo),
                    format_ns(i.hi)
                );
            }
            if let Some(t) = result.latency_from_intended_tail_ci95 {
                let _ = writeln!(
                    out,
                    "                its p99's: {}, its p99.9's: {} (≥: too few requests beyond it to bound it)",
                    tail_range(&t.p99),
                    tail_range(&t.p999)
                );
            }
            let _ = writeln!(
                out,
                "                (from the actual send, hiding waits behind late replies) {}",
                percentiles(sent)
            );
        }
        (Some(l), None) if result.traffic.is_stream() => {
            let _ = writeln!(
                out,
                "  Latency:      (one way, all rounds: the send's stamp to the child's check) {}",
                percentiles(l)
            );
        }
        (Some(l), None) => {
            let _ = writeln!(out, "  Latency:      (all rounds) {}", percentiles(l));
        }
        _ if result.traffic.is_stream() && result.latency_recorded => {
            let _ = writeln!(
                out,
                "  Latency:      not recorded: one-way latency needs a clock both processes share (Linux, macOS)"
            );
        }
        _ => {
            let _ = writeln!(out, "  Latency:      not recorded (--no-latency)");
        }
    }
}

/// What a round trip costs: CPU time, bytes on the wire, the message's path
/// and the message work alone.
fn cost_lines(out: &mut String, result: &BenchResult) {
    let (one, _) = result.traffic.unit();
    if let (Some(p), Some(c), Some(per)) = (
        result.cpu.parent_secs,
        result.cpu.child_secs,
        result.cpu.ns_per_round_trip,
    ) {
        let _ = writeln!(
            out,
            "  CPU:          parent {p:.2} s + child {c:.2} s, {} per {one} (median of rounds)",
            format_ns(per)
        );
    }
    let wire = match (result.wire_spread, result.wire_bytes) {
        (Some(spread), _) => Some(format!(
            "{} to {} B a message, median {} B (its samples, each behind a 16-byte header)",
            group_thousands(spread.min as f64),
            group_thousands(spread.max as f64),
            group_thousands(spread.median as f64),
        )),
        (None, Some(w)) if result.traffic.is_stream() => Some(format!(
            "message {} B; acknowledgements 8 B",
            group_thousands(w.ping as f64),
        )),
        (None, Some(w)) => Some(format!(
            "ping {} B, pong {} B",
            group_thousands(w.ping as f64),
            group_thousands(w.pong as f64)
        )),
        (None, None) => None,
    };
    if let Some(wire) = wire {
        let _ = writeln!(out, "  On the wire:  {wire}");
    }
    if let Some(path) = result.message_path {
        let _ = writeln!(
            out,
            "  Message path: sent {}, received {} ({})",
            path.send.name(),
            path.receive.name(),
            path.describe()
        );
    }
    if let (Some(ns), Some(share)) = (result.codec_ns_per_round_trip, result.codec_share) {
        let _ = writeln!(
            out,
            "  Message work: {} per round trip without a transport (2 encodes, 2 decodes, the checks): {:.0} % of the round trip",
            format_ns(ns),
            share * 100.0
        );
    }
    if let Some(line) = result.memory.as_ref().and_then(memory_line) {
        let _ = writeln!(out, "  Memory:       {line}");
    }
}

/// `peak resident parent 9.6 MiB, child 6.3 MiB; the transport holds 128
/// KiB at the child's end: 2 × 64 KiB pipe buffers`.
fn memory_line(memory: &crate::record::MemoryUse) -> Option<String> {
    use crate::util::format::bytes;
    let peaks = match (memory.parent_peak_bytes, memory.child_peak_bytes) {
        (Some(p), Some(c)) => Some(format!(
            "peak resident parent {}, child {}",
            bytes(p),
            bytes(c)
        )),
        (None, Some(c)) => Some(format!("peak resident child {}", bytes(c))),
        (Some(p), None) => Some(format!("peak resident parent {}", bytes(p))),
        (None, None) => None,
    };
    let held = memory
        .transport_bytes()
        .zip(memory.describe_buffers())
        .map(|(total, kinds)| {
            format!(
                "the transport holds {} at the child's end: {kinds}",
                bytes(total)
            )
        });
    match (peaks, held) {
        (Some(p), Some(h)) => Some(format!("{p}; {h}")),
        (p, h) => p.or(h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Interval, Traffic};
    use crate::report::results::Loaded;

    fn loaded(rate: f64, half_width: f64, traffic: Traffic) -> Loaded {
        let mut result: BenchResult =
            serde_json::from_str(include_str!("../../tests/data/v2-result.json")).unwrap();
        result.round_trips_per_sec = rate;
        result.round_trips_per_sec_ci95 = Some(Interval {
            lo: rate * (1.0 - half_width),
            hi: rate * (1.0 + half_width),
        });
        result.precision = Some(0.05);
        result.traffic = traffic;
        Loaded {
            path: "x.json".into(),
            result,
        }
    }

    #[test]
    fn fixed_rates_are_counted_on_their_p50_from_the_due_time() {
        let closed = [0.03, 0.08, 0.12].map(|w| loaded(1e5, w, Traffic::default()));
        let mut all: Vec<Loaded> = closed.into_iter().collect();
        // Four fixed rates: throughput exact, p50 from due ±4 %, ±9 %, ±20 %
        // and none yet (four rounds).
        for p50_spread in [Some(0.04), Some(0.09), Some(0.2), None] {
            let mut paced = loaded(100.0, 0.0001, Traffic::rate(100));
            paced.result.stopped = Some(crate::record::Stop::Budget);
            paced.result.latency_from_intended_ns = paced.result.latency_ns.clone();
            paced.result.latency_from_intended_p50_ci95 = p50_spread.map(|w: f64| Interval {
                lo: 50e3 / (1.0 + w),
                hi: 50e3 * (1.0 + w),
            });
            all.push(paced);
        }
        let line = precision_line(&all).unwrap();
        assert!(
            line.starts_with(
                "precision: 1 of 3 cases within ±5 % (2 within ±10 %), median interval ±8.0 %"
            ),
            "{line}"
        );
        assert!(
            line.ends_with("; at fixed rates, on the p50 from the due time: 1 of 4 cases within ±5 % (2 within ±10 %), median interval ±9.0 %; the others: 3 time budget reached"),
            "{line}"
        );
        // Only fixed rates: their line alone.
        let only = precision_line(&all[3..]).unwrap();
        assert!(
            only.starts_with("precision, on the p50 from the due time: 1 of 4"),
            "{only}"
        );
        // A fixed rate without due-time latency is not counted.
        all[3].result.latency_from_intended_ns = None;
        let line = precision_line(&all).unwrap();
        assert!(
            line.ends_with("; 1 at fixed rates not counted (no latency from the due time)"),
            "{line}"
        );
    }
}
