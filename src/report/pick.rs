//! `pick`: a results set made into a choice. Given the rate a service runs
//! at and what it can afford (a p99 latency, a share of a core, the memory
//! its transport holds, the share of a round trip its codec may take), the
//! cases measured at that rate that meet every constraint, ranked, and for
//! each one left out the figure that decided it.
//!
//! At a fixed rate the latency is the one a caller sees, from each
//! request's due time, and the CPU is both processes' time per second at
//! that rate (the price of the wait while idle); flat out (`max`), the
//! closed loop's latency and CPU. The fits are ranked flat out by
//! throughput, at a fixed rate by that p99; rows the data cannot separate
//! share a rank (by the interval of their throughput or p99), as in every
//! table. A fit whose p99 meets `--p99` while its interval reaches past it
//! is named as not sure.

use crate::record::traffic::SUSTAINED_SHARE;
use crate::record::BenchResult;
use crate::report::compare::{payload_entry, tail_range, CaseKey};
use crate::report::estimate::shared_ranks;
use crate::report::table::{Entry, Table};
use crate::util::format::{bytes, format_ns, group_thousands, percent};

/// What a team asks of the mechanism it picks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constraints {
    /// Requests per second, or `None` for flat out.
    pub rate: Option<u64>,
    pub p99_ns: Option<f64>,
    /// Both processes' CPU time per second, in cores (0.01 = 1 % of one).
    pub cpu_cores: Option<f64>,
    /// What the transport holds at one end, in bytes.
    pub memory_bytes: Option<u64>,
    /// The codec's share of a round trip (0.1 = 10 %).
    pub codec_share: Option<f64>,
}

impl Constraints {
    /// `100/s`, `flat out`.
    pub fn rate_text(&self) -> String {
        match self.rate {
            Some(r) => format!("{}/s", group_thousands(r as f64)),
            None => "flat out".to_string(),
        }
    }

    /// `p99 ≤ 100 µs, CPU ≤ 1 % of a core`: every constraint given.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(ns) = self.p99_ns {
            parts.push(format!("p99 ≤ {}", format_ns(ns)));
        }
        if let Some(cores) = self.cpu_cores {
            parts.push(format!("CPU ≤ {} % of a core", round_percent(cores)));
        }
        if let Some(b) = self.memory_bytes {
            parts.push(format!("transport holds ≤ {}", bytes(b)));
        }
        if let Some(share) = self.codec_share {
            parts.push(format!("codec share ≤ {} %", percent(share)));
        }
        match parts.is_empty() {
            true => "no constraint but the rate".to_string(),
            false => parts.join(", "),
        }
    }
}

/// One constraint a case misses, and by how much.
#[derive(Debug, Clone, PartialEq)]
pub struct Miss {
    /// The flag of the constraint (`--p99`), or why the case has no figure.
    pub flag: &'static str,
    /// `p99 121 µs > 100 µs`.
    pub text: String,
    /// Its figure over the limit (1.2: 20 % over); infinite when the case
    /// has no figure for it.
    pub over: f64,
}

/// A case measured at the rate asked, with its figures and what it misses.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub result: &'a BenchResult,
    pub p99_ns: Option<f64>,
    pub cpu_cores: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub misses: Vec<Miss>,
}

impl Candidate<'_> {
    /// `pipe json`, `raw-sync-spin postcard structured 1024 B`: enough to
    /// tell it from the others of its set.
    pub fn name(&self, with_shape: bool) -> String {
        let key = CaseKey::of(self.result);
        let mut name = format!("{} {}", key.transport_label(), key.codec);
        if with_shape {
            name.push_str(&format!(" {} {} B", key.complexity, key.payload_bytes));
        }
        if key.placement != "none" {
            name.push_str(&format!(" pinned {}", key.placement));
        }
        name
    }

    /// How far it is from meeting every constraint: its worst miss.
    fn distance(&self) -> f64 {
        self.misses.iter().map(|m| m.over).fold(1.0, f64::max)
    }
}

/// The answer: the cases that fit, ranked, and those left out.
#[derive(Debug)]
pub struct Pick<'a> {
    pub constraints: Constraints,
    /// Fits, best first, each with its rank and whether it is shared.
    pub fits: Vec<(Candidate<'a>, usize, bool)>,
    /// The others, closest first.
    pub left_out: Vec<Candidate<'a>>,
    /// Constraints no case meets, each with the best figure there is.
    pub unmet: Vec<String>,
    /// Whether the cases differ in shape, payload or placement.
    pub shapes_differ: bool,
}

/// The results of `results` measured at the rate asked, as a pick; `Err`
/// with what rates they hold when none is at that rate.
pub fn pick<'a>(results: &'a [BenchResult], constraints: Constraints) -> Result<Pick<'a>, String> {
    let at_rate: Vec<&BenchResult> = results
        .iter()
        .filter(|r| r.traffic.children == 1 && !r.traffic.is_stream())
        .filter(|r| match constraints.rate {
            Some(rate) => r.traffic.offered_rate_per_sec == Some(rate),
            None => r.traffic.is_ping_pong(),
        })
        .collect();
    if at_rate.is_empty() {
        return Err(rates_held(results));
    }
    let mut fits = Vec::new();
    let mut left_out = Vec::new();
    for result in at_rate.iter().copied() {
        let candidate = judge(result, &constraints);
        match candidate.misses.is_empty() {
            true => fits.push(candidate),
            false => left_out.push(candidate),
        }
    }
    left_out.sort_by(|a, b| a.distance().total_cmp(&b.distance()));
    let unmet = unmet(&at_rate, &constraints);
    let shapes_differ = at_rate.windows(2).any(|w| {
        let (a, b) = (CaseKey::of(w[0]), CaseKey::of(w[1]));
        (a.complexity, a.payload_bytes, a.placement) != (b.complexity, b.payload_bytes, b.placement)
    });
    Ok(Pick {
        constraints,
        fits: rank(fits, constraints.rate.is_none()),
        left_out,
        unmet,
        shapes_differ,
    })
}

/// `at 100/s: no results; these hold max, 1,000/s and 10,000/s`.
fn rates_held(results: &[BenchResult]) -> String {
    let mut rates: Vec<Option<u64>> = results
        .iter()
        .filter(|r| r.traffic.children == 1 && !r.traffic.is_stream())
        .map(|r| r.traffic.offered_rate_per_sec)
        .collect();
    rates.sort();
    rates.dedup();
    let held: Vec<String> = rates
        .iter()
        .map(|r| match r {
            Some(r) => format!("{}/s", group_thousands(*r as f64)),
            None => "max".to_string(),
        })
        .collect();
    match held.is_empty() {
        true => "accepted: a rate these results were measured at, but they hold only streams and fan-outs".to_string(),
        false => format!("accepted: a rate these results were measured at: {}", held.join(", ")),
    }
}

/// The figures a constraint reads, and the misses of one case.
fn judge<'a>(result: &'a BenchResult, c: &Constraints) -> Candidate<'a> {
    let p99_ns = match c.rate {
        Some(_) => result.latency_from_intended_ns.as_ref(),
        None => result.latency_ns.as_ref(),
    }
    .map(|l| l.p99 as f64);
    let cpu_cores = result.cpu_cores();
    let memory_bytes = result.memory.as_ref().and_then(|m| m.transport_bytes());
    let mut misses = Vec::new();
    let mut miss = |flag, text: String, over: f64| misses.push(Miss { flag, text, over });
    if !result.verified {
        miss(
            "verified",
            "its messages were not all verified".into(),
            f64::INFINITY,
        );
    }
    if let Some(rate) = c.rate {
        let offered = rate as f64;
        if result.round_trips_per_sec < SUSTAINED_SHARE * offered {
            miss(
                "--rate",
                format!(
                    "kept up with only {}/s of the {}/s offered",
                    group_thousands(result.round_trips_per_sec),
                    group_thousands(offered)
                ),
                offered / result.round_trips_per_sec.max(1e-9),
            );
        }
    }
    let mut check = |flag: &'static str,
                     figure: Option<f64>,
                     limit: Option<f64>,
                     show: &dyn Fn(f64) -> String,
                     what: &str| {
        let Some(limit) = limit else { return };
        match figure {
            Some(f) if f <= limit => {}
            Some(f) => miss(
                flag,
                format!("{what} {} > {}", show(f), show(limit)),
                f / limit.max(f64::MIN_POSITIVE),
            ),
            None => miss(flag, format!("no {what} figure"), f64::INFINITY),
        }
    };
    check("--p99", p99_ns, c.p99_ns, &|ns| format_ns(ns), "p99");
    check(
        "--cpu",
        cpu_cores,
        c.cpu_cores,
        &|cores| format!("{} % of a core", round_percent(cores)),
        "CPU",
    );
    check(
        "--memory",
        memory_bytes.map(|b| b as f64),
        c.memory_bytes.map(|b| b as f64),
        &|b| bytes(b as u64),
        "transport holds",
    );
    check(
        "--codec-share",
        result.codec_share,
        c.codec_share,
        &|s| format!("{} %", percent(s)),
        "codec share",
    );
    Candidate {
        result,
        p99_ns,
        cpu_cores,
        memory_bytes,
        misses,
    }
}

/// The constraints no case at the rate meets on its own, each with the
/// case that comes closest.
fn unmet(at_rate: &[&BenchResult], c: &Constraints) -> Vec<String> {
    let judged: Vec<Candidate> = at_rate.iter().map(|r| judge(r, c)).collect();
    let mut out = Vec::new();
    for flag in ["--rate", "--p99", "--cpu", "--memory", "--codec-share"] {
        let misses: Vec<(&Candidate, &Miss)> = judged
            .iter()
            .filter_map(|j| j.misses.iter().find(|m| m.flag == flag).map(|m| (j, m)))
            .collect();
        if !misses.is_empty() && misses.len() == judged.len() {
            let (closest, miss) = misses
                .iter()
                .min_by(|a, b| a.1.over.total_cmp(&b.1.over))
                .expect("not empty");
            out.push(format!(
                "no case meets {flag}: the closest, {}, has {}",
                closest.name(false),
                miss.text
            ));
        }
    }
    out
}

/// The fits in order with their ranks: flat out by throughput, at a rate
/// by p99, shared where their intervals overlap.
fn rank(mut fits: Vec<Candidate>, flat_out: bool) -> Vec<(Candidate, usize, bool)> {
    let intervals: Vec<Option<crate::record::Interval>> = if flat_out {
        fits.sort_by(|a, b| {
            b.result
                .round_trips_per_sec
                .total_cmp(&a.result.round_trips_per_sec)
        });
        fits.iter()
            .map(|f| f.result.round_trips_per_sec_ci95)
            .collect()
    } else {
        fits.sort_by(|a, b| {
            let p99 = |c: &Candidate| c.p99_ns.unwrap_or(f64::INFINITY);
            p99(a).total_cmp(&p99(b))
        });
        // Lower is better: the intervals negated, so "beaten beyond doubt"
        // reads the same way as for throughput. Files written before the
        // p99 had an interval are ranked by their rounds' p99 range.
        fits.iter()
            .map(|f| {
                let r = f.result;
                let tail = r.due_p99_interval().map(|t| t.bounded_or_open());
                let rounds = || {
                    r.due_p99_round_range()
                        .map(|(lo, hi)| crate::record::Interval {
                            lo: lo as f64,
                            hi: hi as f64,
                        })
                };
                tail.or_else(rounds).map(|i| crate::record::Interval {
                    lo: -i.hi,
                    hi: -i.lo,
                })
            })
            .collect()
    };
    let ranks = shared_ranks(&intervals);
    fits.into_iter()
        .zip(ranks)
        .map(|(f, (rank, shared))| (f, rank, shared))
        .collect()
}

/// The fits as a table.
pub fn table(pick: &Pick) -> Table {
    let mut headers = vec!["Rank", "Transport", "Codec"];
    if pick.shapes_differ {
        headers.extend(["Complexity", "Payload", "Placement"]);
    }
    let p99 = match pick.constraints.rate {
        Some(_) => "p99 from due",
        None => "p99",
    };
    headers.extend([
        "Round trips/s",
        p99,
        "CPU (both, of a core)",
        "Transport holds",
        "Codec share",
    ]);
    let mut table = Table::new(headers);
    for (fit, rank, shared) in &pick.fits {
        let key = CaseKey::of(fit.result);
        let r = fit.result;
        let mut row = vec![
            Entry::number(
                if *shared {
                    format!("={rank}")
                } else {
                    rank.to_string()
                },
                *rank as f64,
            ),
            Entry::text(key.transport_label()),
            Entry::text(key.codec.clone()),
        ];
        if pick.shapes_differ {
            row.push(Entry::text(key.complexity.clone()));
            row.push(payload_entry(&key.complexity, key.payload_bytes));
            row.push(Entry::text(key.placement.clone()));
        }
        row.push(Entry::number(
            crate::util::format::short_rate(r.round_trips_per_sec),
            r.round_trips_per_sec,
        ));
        let or_missing = |v: Option<f64>, show: &dyn Fn(f64) -> String| match v {
            Some(v) => Entry::number(show(v), v),
            None => Entry::missing(),
        };
        row.push(match (fit.p99_ns, fit.result.due_p99_interval()) {
            (Some(ns), Some(i)) => {
                Entry::number(format!("{} ({})", format_ns(ns), tail_range(&i)), ns)
            }
            (v, _) => or_missing(v, &|ns| format_ns(ns)),
        });
        row.push(or_missing(fit.cpu_cores, &|c| {
            format!("{} %", round_percent(c))
        }));
        row.push(or_missing(fit.memory_bytes.map(|b| b as f64), &|b| {
            bytes(b as u64)
        }));
        row.push(or_missing(r.codec_share, &|s| {
            format!("{:.0} %", s * 100.0)
        }));
        table.push(row);
    }
    table
}

/// `0.42`, `3.1`, `198`: a share of a core in percent, two significant
/// digits below ten (a limit given as `1` stays `1`).
fn round_percent(cores: f64) -> String {
    let p = cores * 100.0;
    let text = match p {
        p if p < 1.0 => format!("{p:.2}"),
        p if p < 10.0 => format!("{p:.1}"),
        p => format!("{p:.0}"),
    };
    match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => text,
    }
}

/// The lines after the table: what was left out and why, what no case
/// meets, and, when nothing fits, the closest case.
pub fn explain(pick: &Pick) -> Vec<String> {
    let mut lines = Vec::new();
    if pick.fits.is_empty() {
        if let Some(closest) = pick.left_out.first() {
            let misses: Vec<&str> = closest.misses.iter().map(|m| m.text.as_str()).collect();
            lines.push(format!(
                "no case meets every constraint; the closest is {}, which misses: {}",
                closest.name(pick.shapes_differ),
                misses.join("; ")
            ));
        }
    }
    lines.extend(pick.unmet.iter().cloned());
    lines.extend(not_sure(pick));
    for out in &pick.left_out {
        let misses: Vec<&str> = out.misses.iter().map(|m| m.text.as_str()).collect();
        lines.push(format!(
            "left out: {}: {} at {}",
            out.name(pick.shapes_differ),
            misses.join("; "),
            pick.constraints.rate_text()
        ));
    }
    lines
}

/// The fits whose p99 meets `--p99` while its 95 % interval reaches past
/// the limit: the next run may not meet it. Those whose interval has no
/// upper end at all share one line, with how many requests they hold.
fn not_sure(pick: &Pick) -> Vec<String> {
    let Some(limit) = pick.constraints.p99_ns else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    let mut open = Vec::new();
    for (fit, _, _) in &pick.fits {
        let (Some(p99), Some(i)) = (fit.p99_ns, fit.result.due_p99_interval()) else {
            continue;
        };
        match i.hi {
            Some(hi) if hi <= limit => {}
            Some(hi) => lines.push(format!(
                "not sure of --p99: {}: p99 from due {} ≤ {}, but its 95 % interval reaches {}",
                fit.name(pick.shapes_differ),
                format_ns(p99),
                format_ns(limit),
                format_ns(hi)
            )),
            None => open.push(fit),
        }
    }
    if !open.is_empty() {
        let names: Vec<String> = open.iter().map(|f| f.name(pick.shapes_differ)).collect();
        let requests: Vec<u64> = open.iter().map(|f| f.result.round_trips).collect();
        let (least, most) = (
            requests.iter().min().copied().unwrap_or(0),
            requests.iter().max().copied().unwrap_or(0),
        );
        let held = match least == most {
            true => group_thousands(least as f64),
            false => format!(
                "{}–{}",
                group_thousands(least as f64),
                group_thousands(most as f64)
            ),
        };
        lines.push(format!(
            "not sure of --p99: {}: too few requests lie beyond their p99 to bound it from above \
             ({held} requests each; an upper end takes about 500 or more, see docs/how-sure.md)",
            names.join(", ")
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{LatencySummary, TailInterval, TailIntervals, Traffic};

    /// A case at 100/s with its p99 from the due time and that p99's
    /// interval, in microseconds.
    fn at_100(transport: &str, p99_us: u64, lo: f64, hi: Option<f64>) -> BenchResult {
        let mut r: BenchResult =
            serde_json::from_str(include_str!("../../tests/data/v2-result.json")).unwrap();
        r.transport = transport.into();
        r.traffic = Traffic::rate(100);
        r.round_trips_per_sec = 100.0;
        r.verified = true;
        r.latency_from_intended_ns = Some(LatencySummary {
            min: 1_000,
            mean: 20_000.0,
            p50: 20_000,
            p90: 30_000,
            p99: p99_us * 1_000,
            p999: p99_us * 2_000,
            max: p99_us * 3_000,
        });
        let p99 = TailInterval {
            lo: lo * 1e3,
            hi: hi.map(|h| h * 1e3),
        };
        r.latency_from_intended_tail_ci95 = Some(TailIntervals { p99, p999: p99 });
        r
    }

    #[test]
    fn a_p99_whose_interval_reaches_past_the_limit_is_not_sure() {
        let results = [
            at_100("futex", 40, 35.0, Some(50.0)),
            at_100("pipe", 60, 55.0, None),
            at_100("unix-socket", 90, 80.0, Some(120.0)),
        ];
        let constraints = Constraints {
            rate: Some(100),
            p99_ns: Some(100_000.0),
            cpu_cores: None,
            memory_bytes: None,
            codec_share: None,
        };
        let pick = pick(&results, constraints).unwrap();
        // futex's interval lies below the others': first alone. The pipe's
        // reaches up without end, so it and unix-socket share the next rank.
        let ranks: Vec<(String, usize, bool)> = pick
            .fits
            .iter()
            .map(|(c, rank, shared)| (c.result.transport.clone(), *rank, *shared))
            .collect();
        assert_eq!(
            ranks,
            [
                ("futex".to_string(), 1, false),
                ("pipe".to_string(), 2, true),
                ("unix-socket".to_string(), 2, true)
            ]
        );
        let lines = explain(&pick);
        let unsure: Vec<&String> = lines.iter().filter(|l| l.starts_with("not sure")).collect();
        assert_eq!(unsure.len(), 2, "{lines:?}");
        assert!(
            unsure[0].contains("unix-socket")
                && unsure[0].ends_with("but its 95 % interval reaches 120.00 µs"),
            "{}",
            unsure[0]
        );
        assert!(
            unsure[1].starts_with("not sure of --p99: pipe json pinned cross: too few requests")
                && unsure[1].contains("to bound it from above"),
            "{}",
            unsure[1]
        );
        let table = table(&pick).render(crate::report::table::Format::Markdown);
        assert!(table.contains("40.00 µs (35.00 µs–50.00 µs)"), "{table}");
        assert!(table.contains("60.00 µs (≥55.00 µs)"), "{table}");
    }
}
