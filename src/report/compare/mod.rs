//! Laying result files side by side: one set as a table, two sets case by
//! case with verdicts, codecs as columns. Reading the files is [`crate::report::results`]'s.
//!
//! One file per view ([`single`], [`pair`], [`by_codec`]); what they share
//! (how a case is keyed, its cells) is here.

mod by_codec;
mod pair;
mod single;

pub use by_codec::by_codec;
pub use pair::{pair, CaseVerdict, Comparison, SharedShift, MACHINE_DRIFT, MIN_CASES_FOR_SHIFT};
pub use single::{ranked, single, tail_range};

use crate::record::BenchResult;
use crate::record::Traffic;
use crate::report::estimate::{median_interval, paired_ratio, unpaired_ratio, Ratio};
use crate::report::results::Loaded;
use crate::report::table::Entry;
use crate::util::format::format_ns;
use crate::util::format::short_rate;
use std::collections::BTreeSet;
/// What identifies a case across result sets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CaseKey {
    pub transport: String,
    pub variant: Option<String>,
    pub complexity: String,
    pub codec: String,
    pub payload_bytes: usize,
    pub placement: String,
    pub traffic: Traffic,
}

/// Everything of a case but its transport: what a row and its reference share.
pub(super) type CaseRest = (String, String, usize, String, Traffic);

impl CaseKey {
    pub fn of(r: &BenchResult) -> Self {
        CaseKey {
            transport: r.transport.clone(),
            variant: r.variant.clone(),
            complexity: r.complexity.name().to_string(),
            codec: r.codec.clone(),
            payload_bytes: r.payload_bytes,
            placement: r.placement.mode.name().to_string(),
            traffic: r.traffic,
        }
    }

    /// `raw-sync-spin`, `ipcc`: the transport with its variant.
    pub fn transport_label(&self) -> String {
        crate::transport::label_text(&self.transport, self.variant.as_deref())
    }

    /// The case without its transport: what a row and its reference share.
    fn without_transport(&self) -> CaseRest {
        (
            self.complexity.clone(),
            self.codec.clone(),
            self.payload_bytes,
            self.placement.clone(),
            self.traffic,
        )
    }
}

/// The transport labels of a set of results, for `--reference`: matched
/// against what the files hold, whatever this build compiled.
pub fn labels_in(results: &[Loaded]) -> BTreeSet<String> {
    results
        .iter()
        .map(|l| CaseKey::of(&l.result).transport_label())
        .collect()
}

pub(super) fn ratio_text(ratio: f64) -> String {
    if ratio >= 100.0 {
        format!("{ratio:.0}×")
    } else if ratio >= 10.0 {
        format!("{ratio:.1}×")
    } else if ratio >= 0.1 || ratio == 0.0 {
        format!("{ratio:.2}×")
    } else {
        // Codec-only times can be hundreds of times apart: two significant
        // figures however small (0.042×, 0.0054×).
        let decimals = (1.0 - ratio.log10().floor()).clamp(2.0, 12.0) as usize;
        format!("{ratio:.decimals$}×")
    }
}

/// The payload figure; a team's own shape has none (its sizes are in the
/// Wire column).
pub(crate) fn payload_entry(complexity: &str, payload_bytes: usize) -> Entry {
    match crate::record::Complexity::builtin(complexity).is_some() {
        true => Entry::number(format!("{payload_bytes} B"), payload_bytes as f64),
        false => Entry::text("samples"),
    }
}

/// A case's columns; `traffic` when the table holds any traffic but the
/// closed loop (tables of ping-pong runs stay as they were).
pub(super) fn case_entries(key: &CaseKey, traffic: bool) -> Vec<Entry> {
    let mut entries = vec![
        Entry::text(key.transport_label()),
        Entry::text(&key.codec),
        Entry::text(&key.complexity),
        payload_entry(&key.complexity, key.payload_bytes),
        Entry::text(&key.placement),
    ];
    if traffic {
        // Sorted by rate, then by children.
        let t = key.traffic;
        entries.push(Entry::number(
            t.describe(),
            t.offered_rate_per_sec.unwrap_or(0) as f64 * 1e3 + t.children as f64,
        ));
    }
    entries
}

pub(super) fn case_headers(traffic: bool) -> Vec<String> {
    let mut headers: Vec<String> = ["Transport", "Codec", "Complexity", "Payload", "Placement"]
        .map(String::from)
        .to_vec();
    if traffic {
        headers.push("Traffic".into());
    }
    headers
}

/// Whether any of `results` ran other traffic than the closed loop with one child.
pub(super) fn any_traffic<'a>(results: impl IntoIterator<Item = &'a BenchResult>) -> bool {
    results.into_iter().any(|r| !r.traffic.is_default())
}

/// Whether any of `results` ran at a fixed rate.
pub(super) fn any_paced<'a>(results: impl IntoIterator<Item = &'a BenchResult>) -> bool {
    results.into_iter().any(|r| r.traffic.schedule().is_some())
}

/// Whether a result came from a debug build, whose figures are several
/// times slower than release and must not pass for real ones.
pub fn is_debug(r: &BenchResult) -> bool {
    r.machine.build_profile == "debug"
}

/// The column that marks debug-build rows, present only when a table has one.
pub(super) const BUILD_HEADER: &str = "Build";

pub(super) fn build_entry(debug: bool) -> Entry {
    Entry::text(if debug { "debug ⚠" } else { "release" })
}

/// What `compare A B` warns about when one set is a debug build and the
/// other is not: the difference would be mostly the build.
pub fn build_mismatch(a: &[Loaded], b: &[Loaded]) -> Option<String> {
    let profiles =
        |set: &[Loaded]| -> BTreeSet<bool> { set.iter().map(|l| is_debug(&l.result)).collect() };
    let (pa, pb) = (profiles(a), profiles(b));
    let name = |p: &BTreeSet<bool>| match (p.contains(&true), p.contains(&false)) {
        (true, true) => "a mix of debug and release builds",
        (true, false) => "a debug build",
        _ => "a release build",
    };
    (pa != pb).then(|| {
        format!(
            "comparing {} (A) with {} (B): a debug build is several times slower, so the differences below are mostly the build",
            name(&pa),
            name(&pb)
        )
    })
}

/// Throughput of a verified result; an unverified one has no figure to show.
pub(super) fn verified_rate(r: &BenchResult) -> Option<f64> {
    r.verified.then_some(r.round_trips_per_sec)
}

/// A median with its spread: `1.06 M ±4 %`, or `1.06 M (1 round)` when
/// there is no interval to give.
pub(super) fn rate_with_spread(r: &BenchResult) -> String {
    if let Some([slow, fast]) = &r.modes {
        // No one median describes two groups: both, with their rounds.
        return format!(
            "two modes: {} ({}) | {} ({})",
            short_rate(fast.median),
            fast.rounds,
            short_rate(slow.median),
            slow.rounds
        );
    }
    match &r.round_trips_per_sec_ci95 {
        Some(ci) => format!(
            "{} {}",
            short_rate(r.round_trips_per_sec),
            ci.plus_minus(r.round_trips_per_sec)
        ),
        None => format!("{} (1 round)", short_rate(r.round_trips_per_sec)),
    }
}

/// The rounds a case kept, those it set aside (`23 +4 aside`), and, when
/// its interval is still wider than the precision it aimed at, why it got
/// no more: `60 max`, `34 budget`.
pub(super) fn rounds_entry(r: &BenchResult) -> Entry {
    use crate::report::estimate::Stop;
    let short = match r.stopped {
        _ if r.modes.is_some() => Some("2 modes"),
        Some(Stop::Precise | Stop::Planned) | None => None,
        Some(Stop::MaxRounds) => Some("max"),
        Some(Stop::Budget) => Some("budget"),
        Some(Stop::Failed) => Some("failed"),
        Some(Stop::Interrupted) => Some("interrupted"),
    };
    // On the figure the case aimed at: a fixed rate's p50 from the due time.
    let wide = match (r.precision, r.aimed_spread()) {
        (Some(precision), Some(spread)) => spread > precision,
        _ => false,
    };
    let mut text = match short {
        Some(short) if wide || r.modes.is_some() => format!("{} {short}", r.rounds),
        _ => r.rounds.to_string(),
    };
    if r.rounds_set_aside > 0 {
        text.push_str(&format!(" +{} aside", r.rounds_set_aside));
    }
    Entry::number(text, r.rounds as f64)
}

/// CPU per round trip: the median over rounds, with its spread.
pub(super) fn cpu_entry(r: &BenchResult) -> Entry {
    let per_round: Vec<f64> = r
        .samples
        .iter()
        .filter(|s| s.set_aside.is_none())
        .filter_map(|s| s.cpu_ns_per_round_trip)
        .collect();
    match r.cpu.ns_per_round_trip {
        Some(cpu) => {
            let spread = median_interval(&per_round)
                .map_or(String::new(), |(ci, _)| format!(" {}", ci.plus_minus(cpu)));
            Entry::number(format!("{}{spread}", format_ns(cpu)), cpu)
        }
        None => Entry::missing(),
    }
}

/// `0.79× (0.41–1.04)`; `unpaired` marks a ratio of two separate runs.
pub(crate) fn ratio_with_interval(ratio: &Ratio) -> String {
    let mut text = ratio_text(ratio.value);
    if let Some(ci) = ratio.interval {
        let bare = |r: f64| ratio_text(r).trim_end_matches('×').to_string();
        text.push_str(&format!(" ({}–{})", bare(ci.lo), bare(ci.hi)));
    }
    if !ratio.paired {
        text.push_str(" unpaired");
    }
    text
}

/// The ratio `numerator / denominator` of two results' throughput: round by
/// round when both come from the same run (a matrix runs them in the same
/// rounds), otherwise of the two medians with a bootstrap interval.
pub fn ratio_between(numerator: &BenchResult, denominator: &BenchResult) -> Option<Ratio> {
    let same_run = numerator.run_id.is_some() && numerator.run_id == denominator.run_id;
    if same_run {
        let pairs: Vec<(f64, f64)> = numerator
            .samples
            .iter()
            .filter_map(|n| {
                let d = denominator.samples.iter().find(|d| d.round == n.round)?;
                // Kept rounds only, each at its class's usual pace.
                Some((n.kept_rate()?, d.kept_rate()?))
            })
            .collect();
        if pairs.len() >= 2 {
            return paired_ratio(&pairs);
        }
    }
    unpaired_ratio(&numerator.rates(), &denominator.rates())
}

#[cfg(test)]
mod tests {
    use super::ratio_text;

    #[test]
    fn ratios_keep_two_significant_figures_however_small() {
        assert_eq!(ratio_text(123.4), "123×");
        assert_eq!(ratio_text(15.64), "15.6×");
        assert_eq!(ratio_text(1.0), "1.00×");
        assert_eq!(ratio_text(0.31), "0.31×");
        assert_eq!(ratio_text(0.0421), "0.042×");
        assert_eq!(ratio_text(0.00543), "0.0054×");
        assert_eq!(ratio_text(0.0), "0.00×");
    }
}
