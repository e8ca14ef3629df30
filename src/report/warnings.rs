//! The plain sentences a result carries: whatever makes its figures less
//! sure than they look (few rounds, two modes, an interval short of its
//! precision, an unsteady round, a rate not sustained, rounds set aside).

use crate::record::traffic::SUSTAINED_SHARE;
use crate::record::{BenchResult, Environment, Sample, SetAside};

/// Rounds from which the median's interval reaches 95 % (see
/// [`crate::report::estimate::median_rank_bounds`]).
pub const ROUNDS_FOR_95: usize = 6;
/// A round whose fastest and slowest 100 ms differ by this factor is named
/// in a warning.
const UNSTEADY_ROUND: f64 = 1.5;
/// An interval wider than this (either side of the median) is named in a warning.
const UNSTABLE_SPREAD: f64 = 0.10;

/// The plain sentences a result carries.
pub fn warnings(result: &BenchResult, environment: Option<&Environment>) -> Vec<String> {
    let mut out = Vec::new();
    if result.machine.build_profile == "debug" {
        out.push(crate::report::summary::DEBUG_BUILD_WARNING.to_string());
    }
    out.extend(few_rounds(result));
    if let Some([slow, fast]) = &result.modes {
        out.push(format!(
            "two modes: the rounds fall into two groups, {}/s ({} rounds) and {}/s ({} rounds), even read against the machine's pace at their times; no one median describes them (a placement or wake-up path that changes from round to round?)",
            crate::util::format::group_thousands(fast.median),
            fast.rounds,
            crate::util::format::group_thousands(slow.median),
            slow.rounds
        ));
    }
    let spread = result.aimed_spread();
    if let (Some(precision), Some(spread), Some(stop)) = (result.precision, spread, result.stopped)
    {
        if spread > precision && result.modes.is_none() {
            let figure = match result.aims_at_latency() {
                true => "p50 from the due time ",
                false => "",
            };
            out.push(format!(
                "{figure}not within ±{} % after {} rounds ({}): ±{:.0} %",
                crate::util::format::percent(precision),
                result.rounds,
                stop.reason(),
                spread * 100.0
            ));
        }
    }
    if let Some(interval) = &result.round_trips_per_sec_ci95 {
        let spread = interval.relative_half_width(result.round_trips_per_sec);
        if spread > UNSTABLE_SPREAD && result.modes.is_none() {
            out.push(format!(
                "unstable: rounds spread ±{:.0} % around the median",
                spread * 100.0
            ));
        }
    }
    out.extend(unsteady_round(result));
    if let Some(offered) = result.traffic.offered_rate_per_sec {
        let offered = offered as f64;
        let behind = result
            .samples
            .iter()
            .filter(|s| s.round_trips_per_sec < SUSTAINED_SHARE * offered)
            .count();
        if behind > 0 {
            out.push(format!(
                "could not sustain the offered {}/s: achieved {}/s (median), behind schedule in {behind} of {} rounds; latency from the due time includes the growing backlog",
                crate::util::format::group_thousands(offered),
                crate::util::format::group_thousands(result.round_trips_per_sec),
                result.samples.len()
            ));
        }
    }
    out.extend(set_aside_warnings(result));
    if let Some(environment) = environment {
        out.extend(environment.warnings());
    }
    out
}

/// Too few rounds for the figure's interval, or for its full coverage.
fn few_rounds(result: &BenchResult) -> Option<String> {
    match result.rounds {
        // A fixed rate's figure is its p50 from the due time, whose interval
        // needs five rounds (and has its own coverage, tested from five).
        n if result.aims_at_latency() => {
            let least = crate::report::latency_interval::MIN_ROUNDS;
            (n < least).then(|| format!(
                "{n} rounds: too few for the p50 from the due time to have an interval; use --rounds {least} or more"
            ))
        }
        0 | 1 => Some(format!(
            "one round: no interval, and a rerun may differ by far more than any difference here; use --rounds {ROUNDS_FOR_95} or more"
        )),
        n if n < ROUNDS_FOR_95 => Some(format!(
            "{n} rounds: the interval is their whole range and covers the median only {:.0} % of the time; {ROUNDS_FOR_95} or more rounds reach 95 %",
            100.0 * result.ci_coverage.unwrap_or(0.0)
        )),
        _ => None,
    }
}

/// The round whose pace changed most within itself, when it changed by
/// [`UNSTEADY_ROUND`] or more.
fn unsteady_round(result: &BenchResult) -> Option<String> {
    // A fixed rate's round trips per 100 ms follow its schedule (at 10/s,
    // one or two): a change there says nothing about the machine.
    if result.traffic.offered_rate_per_sec.is_some() {
        return None;
    }
    let (change, round) = result
        .samples
        .iter()
        .filter(|s| s.intervals_per_sec.len() >= 3)
        .filter_map(|s| {
            let lo = s
                .intervals_per_sec
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min);
            let hi = s.intervals_per_sec.iter().copied().fold(0.0, f64::max);
            (lo > 0.0).then(|| (hi / lo, s.round))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    (change >= UNSTEADY_ROUND).then(|| {
        format!(
            "throughput changed {change:.1}× inside round {round} (fastest against slowest 100 ms)"
        )
    })
}

/// What the rounds set aside were, and when.
fn set_aside_warnings(result: &BenchResult) -> Vec<String> {
    let mut out = Vec::new();
    let aside = |why: SetAside| -> Vec<&Sample> {
        result
            .samples
            .iter()
            .filter(|s| s.set_aside == Some(why))
            .collect()
    };
    let spell = aside(SetAside::Spell);
    if !spell.is_empty() {
        let paces: Vec<f64> = spell
            .iter()
            .filter_map(|s| s.spell_pace.or(s.pace))
            .collect();
        let lowest = paces.iter().copied().fold(f64::INFINITY, f64::min);
        let highest = paces.iter().copied().fold(0.0, f64::max);
        let class = result
            .pace_class
            .as_ref()
            .map_or(String::new(), |c| format!(" (class {})", c.number));
        let clock = |s: &Sample| s.started.get(11..19).unwrap_or(&s.started).to_string();
        let (first, last) = (clock(spell[0]), clock(spell[spell.len() - 1]));
        let rounds: Vec<String> = spell.iter().map(|s| s.round.to_string()).collect();
        out.push(format!(
            "{} rounds set aside (rounds {}, {first}–{last} UTC): they ran in slow spells of the machine, when its transports' class{class} ran at {} of its usual pace; the figures are from the other {} rounds, each read at its class's usual pace",
            spell.len(),
            rounds.join(", "),
            crate::util::format::pace_range(lowest, highest),
            result.rounds
        ));
    }
    let paused = aside(SetAside::Paused);
    if !paused.is_empty() {
        let longest = paused
            .iter()
            .filter_map(|s| s.longest_hold_secs)
            .fold(0.0, f64::max);
        out.push(format!(
            "{} rounds set aside: each was held up at once for a good part of its time (up to {longest:.2} s: a stopped process, a debugger or a host pause)",
            paused.len()
        ));
    }
    out
}
