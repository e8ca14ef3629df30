//! The pace model applied to a run: every case's rounds read against their
//! class's pace, rounds in slow spells set aside, and the spells a run went
//! through, as the summary, the table and the page tell them.

use crate::record::{BenchResult, PaceClass, SetAside};
use crate::report::pace::{fit, PaceFit, TimedRound, NEIGHBOURHOOD_SECS};
use crate::report::series::{RoundPace, Series};
use crate::report::stopping::StoppingRule;

/// Fits the pace model to every flat-out case's rounds (`flat_out[i]`;
/// a fixed rate's throughput is its schedule's, not the machine's) and
/// marks each round of each series: its pace, and whether it ran in a
/// spell. `labels` are the cases' transport labels, for naming the classes.
pub fn apply(
    series: &mut [Series],
    flat_out: &[bool],
    labels: &[String],
    rule: StoppingRule,
) -> PaceFit {
    let mut rounds = Vec::new();
    // Where each model round came from: (case, its round).
    let mut origin = Vec::new();
    for (case, s) in series.iter().enumerate() {
        if !flat_out[case] {
            continue;
        }
        for (i, timed) in s.timed_rounds().into_iter().enumerate() {
            if let Some((at, rate)) = timed {
                rounds.push(TimedRound { case, at, rate });
                origin.push((case, i));
            }
        }
    }
    let model = fit(series.len(), &rounds);
    let mut marks: Vec<Vec<RoundPace>> = series
        .iter()
        .map(|s| vec![(None, None, false); s.len()])
        .collect();
    for (k, &(case, i)) in origin.iter().enumerate() {
        marks[case][i] = (model.pace[k], model.spell_pace[k], model.in_spell(k));
    }
    let classes = class_members(&model, flat_out, labels);
    for (case, s) in series.iter_mut().enumerate() {
        s.set_paces(&marks[case], rule);
        let class = model.class_of[case]
            .filter(|_| flat_out[case] && model.classes > 0)
            .map(|k| PaceClass {
                number: k + 1,
                transports: classes[k].clone(),
            });
        s.set_pace_class(class);
    }
    model
}

/// Each class's transport labels, sorted, each once.
fn class_members(model: &PaceFit, flat_out: &[bool], labels: &[String]) -> Vec<Vec<String>> {
    let mut classes = vec![Vec::<String>::new(); model.classes];
    for (case, class) in model.class_of.iter().enumerate() {
        if let (Some(k), true) = (class, flat_out[case]) {
            classes[*k].push(labels[case].clone());
        }
    }
    for members in &mut classes {
        members.sort();
        members.dedup();
    }
    classes
}

/// A stretch of a run in which a class of transports ran slow.
#[derive(Debug, Clone, PartialEq)]
pub struct Spell {
    pub class: PaceClass,
    /// Seconds since the Unix epoch: the first spell round's start and the
    /// last one's end.
    pub from: f64,
    pub to: f64,
    /// The lowest and highest pace of its rounds.
    pub lowest: f64,
    pub highest: f64,
    /// Rounds set aside in it, over all cases.
    pub rounds: usize,
}

/// The spells in a set of results: their rounds set aside for a spell,
/// by class, joined where they lie within two neighbourhoods of each other.
pub fn spells<'a>(results: impl IntoIterator<Item = &'a BenchResult>) -> Vec<Spell> {
    let mut rounds: Vec<(PaceClass, f64, f64, f64)> = Vec::new();
    for result in results {
        let Some(class) = &result.pace_class else {
            continue;
        };
        for s in &result.samples {
            if s.set_aside != Some(SetAside::Spell) {
                continue;
            }
            if let (Some(from), Some(pace)) = (s.started_secs(), s.spell_pace.or(s.pace)) {
                rounds.push((class.clone(), from, from + s.duration_secs, pace));
            }
        }
    }
    rounds.sort_by(|a, b| (a.0.number, a.1).partial_cmp(&(b.0.number, b.1)).unwrap());
    let mut out: Vec<Spell> = Vec::new();
    for (class, from, to, pace) in rounds {
        match out.last_mut() {
            Some(last) if last.class == class && from <= last.to + 2.0 * NEIGHBOURHOOD_SECS => {
                last.to = last.to.max(to);
                last.lowest = last.lowest.min(pace);
                last.highest = last.highest.max(pace);
                last.rounds += 1;
            }
            _ => out.push(Spell {
                class,
                from,
                to,
                lowest: pace,
                highest: pace,
                rounds: 1,
            }),
        }
    }
    out
}

/// What a run's results set aside: rounds in spells and paused rounds.
pub fn set_aside_counts<'a>(results: impl IntoIterator<Item = &'a BenchResult>) -> (usize, usize) {
    let mut counts = (0, 0);
    for s in results.into_iter().flat_map(|r| &r.samples) {
        match s.set_aside {
            Some(SetAside::Spell) => counts.0 += 1,
            Some(SetAside::Paused) => counts.1 += 1,
            None => {}
        }
    }
    counts
}

/// The summary's lines on the machine's pace: the classes, the spells
/// (their times as seconds from the run's first round) and the rounds set
/// aside; nothing when nothing was set aside and one class was found.
pub fn describe(results: &[&BenchResult]) -> Vec<String> {
    let start = results
        .iter()
        .flat_map(|r| &r.samples)
        .filter_map(|s| s.started_secs())
        .fold(f64::INFINITY, f64::min);
    let mut classes: Vec<PaceClass> = results
        .iter()
        .filter_map(|r| r.pace_class.clone())
        .collect();
    classes.sort_by_key(|c| c.number);
    classes.dedup();
    let spells = spells(results.iter().copied());
    let (in_spells, paused) = set_aside_counts(results.iter().copied());
    let mut out = Vec::new();
    if classes.len() > 1 {
        let names: Vec<String> = classes
            .iter()
            .map(|c| format!("{} ({})", c.number, c.transports.join(", ")))
            .collect();
        out.push(format!(
            "the machine's pace: {} classes of transports moved apart over the run: {}",
            classes.len(),
            names.join("; ")
        ));
    }
    if in_spells > 0 {
        let listed: Vec<String> = spells
            .iter()
            .map(|s| {
                format!(
                    "class {} {:.0}–{:.0} s at {}",
                    s.class.number,
                    s.from - start,
                    s.to - start,
                    crate::util::format::pace_range(s.lowest, s.highest)
                )
            })
            .collect();
        out.push(format!(
            "set aside: {in_spells} rounds run in slow spells of the machine ({}), each replaced while the budget allowed",
            listed.join(", ")
        ));
    }
    if paused > 0 {
        out.push(format!(
            "set aside: {paused} rounds held up at once for a good part of their time (a stopped process, a debugger or a host pause)"
        ));
    }
    out
}
