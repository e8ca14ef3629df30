//! The machine's pace over a run, read from the rounds themselves.
//!
//! On a shared host the machine itself changes speed: this VM slows every
//! spinning shared-memory transport to 0.4–0.6× for tens of seconds at a
//! time while the kernel transports barely move, and drifts by ±10 % over
//! minutes. A round's throughput is then the case's own speed times the
//! machine's pace at that moment for that kind of transport. This module
//! separates the two, as a two-way model in logarithms (median polish):
//!
//! `ln rate = level(case) + pace(class, time) + noise`
//!
//! - **Classes** are found from the data: cases whose rounds slowed down and
//!   sped up together over the run (their residuals' profiles over
//!   [`PROFILE_SECS`] windows) are one class; two classes are kept only when
//!   they are clearly apart (see [`find_classes`]).
//! - **A round's pace** is the median residual of the *other* cases' rounds of
//!   its class within [`NEIGHBOURHOOD_SECS`] of it, never its own case's, so
//!   a case cannot explain its own figures away; with fewer than
//!   [`MIN_NEIGHBOUR_CASES`] other cases near it, it has no pace (read as 1).
//! - **Levels** are each case's median of `ln rate − pace` over its rounds
//!   outside spells; paces are then re-centred so that each class's median
//!   pace over the run is 1. Three passes settle it.
//!
//! A round whose class ran below [`SPELL_PACE`] of its usual pace was run
//! in a slow spell: it is set aside, and every kept round is read at its
//! class's usual pace (its rate divided by the pace), so cases that ran at
//! different times stay comparable. A round whose own loop was held up at
//! once ([`paused`]: a stopped process, a host pause) is set aside
//! whatever the others did.

use crate::report::estimate::median;

/// A round as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimedRound {
    /// Which case it belongs to (an index the caller chose).
    pub case: usize,
    /// The middle of its measured phase, in seconds on any common clock.
    pub at: f64,
    /// Its throughput.
    pub rate: f64,
}

/// Whether a round ran in a spell is read from the other cases' rounds this
/// close in time (either side, in seconds): wide enough to hold several
/// cases' rounds in a matrix that runs a round every 0.2 s, so that one
/// slow round of another case is not a spell, narrow against the spells
/// seen here (20 s and more).
pub const NEIGHBOURHOOD_SECS: f64 = 2.5;

/// The neighbourhoods a round's pace, the one it is read at, is tried over
/// (either side, in seconds). The host's hold on this VM also moves within
/// a second or two: in some runs one round's deviation from its case's
/// median correlates 0.5–0.7 with the next round's, of another case, and
/// 0.1–0.3 ten rounds on; in others barely. The fit takes the
/// neighbourhood that leaves the cases' rounds least spread (see [`fit`]).
pub const ADJUST_NEIGHBOURHOODS: [f64; 5] = [0.6, 1.0, 1.5, 2.5, 4.0];

/// Other cases that must have run near a round for it to have a pace: a
/// median of fewer is one case's noise.
pub const MIN_NEIGHBOUR_CASES: usize = 3;

/// A round whose class ran below this share of its usual pace ran in a slow
/// spell and is set aside. The spells seen on this VM run at 0.40–0.60×
/// for tens of seconds, and shorter dips at 0.6–0.78×; in two default
/// matrices without a spell the paces' 5th–95th percentiles were 0.87–1.04
/// and 0.90–1.05, the lowest 0.80 and 0.81 (the note of issue 30). 0.8 sets
/// aside every spell and no quiet round: lower would keep the dips, higher
/// would start taking the quiet tail. The simulations in the tests check
/// both sides on drawn data.
pub const SPELL_PACE: f64 = 0.8;

/// The windows in which cases' profiles are compared to find classes: two
/// neighbourhoods, so that a spell of 20 s fills whole windows, and a run
/// of 20 s still has several.
pub const PROFILE_SECS: f64 = 2.0 * NEIGHBOURHOOD_SECS;

/// The fewest cases a class may have: each of its cases needs
/// [`MIN_NEIGHBOUR_CASES`] others to read its pace from.
const MIN_CLASS_CASES: usize = MIN_NEIGHBOUR_CASES + 1;

/// Two classes are kept only when their paces differ by this factor ...
const CLASS_SEPARATION: f64 = 1.15;

/// ... and by this many standard errors (of the difference of the two
/// classes' medians in the window, from each class's spread there) in two
/// windows in a row: a spell lasts tens of seconds, while a split of pure
/// noise, however it is chosen, rarely puts two neighbouring windows five
/// standard errors apart (`a_quiet_machine_is_one_class_and_sets_nothing_aside`).
const CLASS_APART_Z: f64 = 5.0;

/// Rounds a case needs to take part in finding the classes.
const MIN_ROUNDS_TO_CLASSIFY: usize = 3;

/// Rounds of median polish: levels, then paces, each from the other.
const POLISH_PASSES: usize = 3;

/// Cases farthest from the common pace tried as seeds of a second class.
const CLASS_SEEDS: usize = 8;

/// A round held up at once for this share of its planned measured phase
/// was paused (see [`paused`]) ...
const PAUSE_SHARE: f64 = 0.2;
/// ... or for this long, whatever its length ...
const PAUSE_LONGEST_SECS: f64 = 1.0;
/// ... but never for less than this: a scheduler's time slice (a few
/// milliseconds) or a VM's usual hiccup is part of what a round measures ...
const PAUSE_SHORTEST_SECS: f64 = 0.05;
/// ... nor for less than this many of the round's typical round trips: a
/// loop reads the clock between round trips (or batches of them), so a
/// round whose round trips are slow (a megabyte encoded in a debug build
/// takes tens of milliseconds) comes past its marks late without a pause.
const PAUSE_ROUND_TRIPS: f64 = 100.0;

/// Whether a round was paused: its loop held up at once (a stopped
/// process, a debugger, a host pause) for [`PAUSE_SHARE`] of the measured
/// phase it was planned to have, between [`PAUSE_SHORTEST_SECS`] and
/// [`PAUSE_LONGEST_SECS`], and for [`PAUSE_ROUND_TRIPS`] of its typical
/// round trips (its p50, or its mean without latency). Its figure would be
/// the pause's, not the transport's.
pub fn paused(sample: &crate::record::Sample, planned_secs: f64) -> bool {
    let limit = (PAUSE_SHARE * planned_secs).clamp(PAUSE_SHORTEST_SECS, PAUSE_LONGEST_SECS);
    let typical = match sample.latency_p50_ns {
        Some(ns) => ns as f64 / 1e9,
        None => sample.duration_secs / sample.round_trips.max(1) as f64,
    };
    sample
        .longest_hold_secs
        .is_some_and(|hold| hold >= limit && hold >= PAUSE_ROUND_TRIPS * typical)
}

/// What the model found.
#[derive(Debug, Clone, PartialEq)]
pub struct PaceFit {
    /// Each case's class, numbered from 0; `None` for a case with no round.
    pub class_of: Vec<Option<usize>>,
    /// How many classes.
    pub classes: usize,
    /// Each round's pace, in the order given, read from the neighbourhood
    /// of [`ADJUST_NEIGHBOURHOODS`] that explains the most; `None` where too
    /// few other cases ran near it.
    pub pace: Vec<Option<f64>>,
    /// The same over [`NEIGHBOURHOOD_SECS`]: what a spell is judged by.
    pub spell_pace: Vec<Option<f64>>,
}

impl PaceFit {
    /// Whether round `i` ran in a slow spell of its class.
    pub fn in_spell(&self, i: usize) -> bool {
        self.spell_pace[i].is_some_and(|p| p < SPELL_PACE)
    }
}

/// Fits the model to `rounds` of `cases` cases (see the module's text).
pub fn fit(cases: usize, rounds: &[TimedRound]) -> PaceFit {
    let usable: Vec<bool> = rounds
        .iter()
        .map(|r| r.rate.is_finite() && r.rate > 0.0 && r.at.is_finite() && r.case < cases)
        .collect();
    let logs: Vec<f64> = rounds
        .iter()
        .map(|r| r.rate.max(f64::MIN_POSITIVE).ln())
        .collect();
    let mut paces: Vec<Option<f64>> = vec![None; rounds.len()];
    let levels = case_levels(cases, rounds, &usable, &logs, &paces);
    let residuals = |levels: &[f64]| -> Vec<f64> {
        rounds
            .iter()
            .zip(&logs)
            .map(|(r, l)| l - levels[r.case.min(cases.saturating_sub(1))])
            .collect()
    };
    let class_of = find_classes(cases, rounds, &usable, &residuals(&levels));
    let classes = class_of.iter().flatten().max().map_or(0, |k| k + 1);
    let polish = |half_width: f64| -> Vec<Option<f64>> {
        let mut levels = levels.clone();
        let mut paces = paces.clone();
        for _ in 0..POLISH_PASSES {
            let e = residuals(&levels);
            paces = neighbour_paces(rounds, &usable, &class_of, &e, half_width);
            recentre(rounds, &class_of, classes, &mut paces);
            levels = case_levels(cases, rounds, &usable, &logs, &paces);
        }
        paces
    };
    let spell_pace = polish(NEIGHBOURHOOD_SECS);
    let spell: Vec<bool> = spell_pace
        .iter()
        .map(|p| p.is_some_and(|p| p < SPELL_PACE.ln()))
        .collect();
    // The neighbourhood whose paces leave each case's kept rounds least
    // spread: since no round is read against its own case, that is the one
    // that best predicts what the machine did to a case from what it did
    // to the others (leave-one-case-out), as a kernel's width is chosen by
    // cross-validation.
    let (_, pace) = ADJUST_NEIGHBOURHOODS
        .iter()
        .map(|&h| polish(h))
        .map(|paces| {
            (
                unexplained(cases, rounds, &usable, &logs, &paces, &spell),
                paces,
            )
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .expect("neighbourhoods to try");
    paces = pace;
    PaceFit {
        class_of,
        classes,
        pace: paces.iter().map(|p| p.map(f64::exp)).collect(),
        spell_pace: spell_pace.iter().map(|p| p.map(f64::exp)).collect(),
    }
}

/// What the paces leave unexplained: over the cases, the squared median
/// absolute deviation of their kept rounds read at the usual pace (log
/// scale).
fn unexplained(
    cases: usize,
    rounds: &[TimedRound],
    usable: &[bool],
    logs: &[f64],
    paces: &[Option<f64>],
    spell: &[bool],
) -> f64 {
    (0..cases)
        .filter_map(|c| {
            let read: Vec<f64> = (0..rounds.len())
                .filter(|&i| usable[i] && !spell[i] && rounds[i].case == c)
                .map(|i| logs[i] - paces[i].unwrap_or(0.0))
                .collect();
            let m = median(&read)?;
            let deviations: Vec<f64> = read.iter().map(|x| (x - m).abs()).collect();
            Some(median(&deviations)?.powi(2))
        })
        .sum()
}

/// Each case's level: the median of its rounds' `ln rate − ln pace`, rounds
/// in a spell left out (when that leaves none, all of them).
fn case_levels(
    cases: usize,
    rounds: &[TimedRound],
    usable: &[bool],
    logs: &[f64],
    paces: &[Option<f64>],
) -> Vec<f64> {
    (0..cases)
        .map(|c| {
            let of_case = || (0..rounds.len()).filter(move |&i| usable[i] && rounds[i].case == c);
            let quiet: Vec<f64> = of_case()
                .filter(|&i| paces[i].is_none_or(|p| p >= SPELL_PACE.ln()))
                .map(|i| logs[i] - paces[i].unwrap_or(0.0))
                .collect();
            let all: Vec<f64> = of_case().map(|i| logs[i]).collect();
            median(&quiet).or(median(&all)).unwrap_or(0.0)
        })
        .collect()
}

/// Each round's log pace: the median residual of the other cases' rounds
/// of its class near it.
fn neighbour_paces(
    rounds: &[TimedRound],
    usable: &[bool],
    class_of: &[Option<usize>],
    residuals: &[f64],
    half_width: f64,
) -> Vec<Option<f64>> {
    let mut by_time: Vec<usize> = (0..rounds.len()).filter(|&i| usable[i]).collect();
    by_time.sort_by(|&a, &b| rounds[a].at.total_cmp(&rounds[b].at));
    let times: Vec<f64> = by_time.iter().map(|&i| rounds[i].at).collect();
    let mut near = Vec::new();
    let mut seen = Vec::new();
    (0..rounds.len())
        .map(|i| {
            let class = class_of.get(rounds[i].case).copied().flatten()?;
            if !usable[i] {
                return None;
            }
            let at = rounds[i].at;
            let from = times.partition_point(|&t| t < at - half_width);
            let to = times.partition_point(|&t| t <= at + half_width);
            near.clear();
            seen.clear();
            for &j in &by_time[from..to] {
                let case = rounds[j].case;
                if case != rounds[i].case && class_of[case] == Some(class) {
                    near.push(residuals[j]);
                    if !seen.contains(&case) {
                        seen.push(case);
                    }
                }
            }
            (seen.len() >= MIN_NEIGHBOUR_CASES)
                .then(|| median(&near))
                .flatten()
        })
        .collect()
}

/// Shifts each class's log paces so that their median over the run, spells
/// left out, is 0: a class's usual pace is 1. (With spells in, a class slow
/// a third of the time would have its usual pace at the quiet rounds' lower
/// quartile, and every level read against it too high.)
fn recentre(
    rounds: &[TimedRound],
    class_of: &[Option<usize>],
    classes: usize,
    paces: &mut [Option<f64>],
) {
    for k in 0..classes {
        let members: Vec<usize> = (0..rounds.len())
            .filter(|&i| paces[i].is_some() && class_of[rounds[i].case] == Some(k))
            .collect();
        let values: Vec<f64> = members.iter().filter_map(|&i| paces[i]).collect();
        let quiet = |centre: f64| -> Vec<f64> {
            let floor = centre + SPELL_PACE.ln();
            values.iter().copied().filter(|&v| v >= floor).collect()
        };
        if let Some(m) = median(&values).and_then(|m| median(&quiet(m))) {
            for i in members {
                paces[i] = paces[i].map(|p| p - m);
            }
        }
    }
}

/// A case's profile: its median residual in each window of the run.
type Profile = std::collections::BTreeMap<i64, f64>;

/// Finds the classes: cases are compared by their profiles; a second class
/// is seeded from each of the cases farthest from the common profile, grown
/// by 2-means, and kept (the best of the seeds) only when both classes have
/// [`MIN_CLASS_CASES`] and their profiles are apart (see [`apart`]). Cases with too few rounds to compare
/// join the class whose profile they are nearer.
pub fn find_classes(
    cases: usize,
    rounds: &[TimedRound],
    usable: &[bool],
    residuals: &[f64],
) -> Vec<Option<usize>> {
    let start = (0..rounds.len())
        .filter(|&i| usable[i])
        .map(|i| rounds[i].at)
        .fold(f64::INFINITY, f64::min);
    let mut grouped: Vec<std::collections::BTreeMap<i64, Vec<f64>>> =
        vec![Default::default(); cases];
    let mut counts = vec![0usize; cases];
    for i in (0..rounds.len()).filter(|&i| usable[i]) {
        let window = ((rounds[i].at - start) / PROFILE_SECS).floor() as i64;
        grouped[rounds[i].case]
            .entry(window)
            .or_default()
            .push(residuals[i]);
        counts[rounds[i].case] += 1;
    }
    let profiles: Vec<Profile> = grouped
        .iter()
        .map(|g| {
            g.iter()
                .filter_map(|(w, v)| Some((*w, median(v)?)))
                .collect()
        })
        .collect();
    let present: Vec<usize> = (0..cases).filter(|&c| counts[c] > 0).collect();
    let eligible: Vec<usize> = present
        .iter()
        .copied()
        .filter(|&c| counts[c] >= MIN_ROUNDS_TO_CLASSIFY)
        .collect();
    let mut class_of: Vec<Option<usize>> =
        (0..cases).map(|c| (counts[c] > 0).then_some(0)).collect();
    if eligible.len() < 2 * MIN_CLASS_CASES {
        return class_of;
    }
    let common = centroid(&profiles, &eligible);
    let mut seeds = eligible.clone();
    seeds.sort_by(|&a, &b| {
        distance(&profiles[b], &common).total_cmp(&distance(&profiles[a], &common))
    });
    seeds.truncate(CLASS_SEEDS);
    let best = seeds
        .iter()
        .filter_map(|&seed| two_means(&profiles, &eligible, &common, seed))
        .min_by(|a, b| a.0.total_cmp(&b.0));
    let Some((_, second, centroids)) = best else {
        return class_of;
    };
    let first: Vec<usize> = eligible
        .iter()
        .copied()
        .filter(|c| !second.contains(c))
        .collect();
    if !apart(&profiles, [&first, &second]) {
        return class_of;
    }
    for &c in &present {
        let k = if eligible.contains(&c) {
            usize::from(second.contains(&c))
        } else {
            let near = |k: usize| distance(&profiles[c], &centroids[k]);
            usize::from(near(1) < near(0))
        };
        class_of[c] = Some(k);
    }
    class_of
}

/// Whether two classes' profiles are apart: in two windows in a row, their
/// medians differ by [`CLASS_SEPARATION`] and by [`CLASS_APART_Z`]
/// standard errors (each class's spread in the window from its median
/// absolute deviation).
fn apart(profiles: &[Profile], classes: [&[usize]; 2]) -> bool {
    let values = |members: &[usize], w: i64| -> Vec<f64> {
        members
            .iter()
            .filter_map(|&c| profiles[c].get(&w).copied())
            .collect()
    };
    // A median's standard error: 1.2533 σ / √n, σ from the MAD (× 1.4826).
    let median_and_error = |v: &[f64]| -> Option<(f64, f64)> {
        let m = median(v)?;
        let deviations: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
        let sigma = 1.4826 * median(&deviations)?;
        Some((m, 1.2533 * sigma / (v.len() as f64).sqrt()))
    };
    let windows: std::collections::BTreeSet<i64> = classes[0]
        .iter()
        .flat_map(|&c| profiles[c].keys().copied())
        .collect();
    let significant = |w: i64| -> bool {
        let (a, b) = (values(classes[0], w), values(classes[1], w));
        if a.len() < 2 || b.len() < 2 {
            return false;
        }
        match (median_and_error(&a), median_and_error(&b)) {
            (Some((ma, ea)), Some((mb, eb))) => {
                let d = (ma - mb).abs();
                d >= CLASS_SEPARATION.ln() && d >= CLASS_APART_Z * (ea * ea + eb * eb).sqrt()
            }
            _ => false,
        }
    };
    windows
        .iter()
        .any(|&w| significant(w) && significant(w + 1))
}

/// The window-by-window median of `members`' profiles.
fn centroid(profiles: &[Profile], members: &[usize]) -> Profile {
    let mut by_window: std::collections::BTreeMap<i64, Vec<f64>> = Default::default();
    for &c in members {
        for (w, v) in &profiles[c] {
            by_window.entry(*w).or_default().push(*v);
        }
    }
    by_window
        .into_iter()
        .filter_map(|(w, v)| Some((w, median(&v)?)))
        .collect()
}

/// The mean squared difference between a profile and a centroid over the
/// windows both have (infinite when they share none).
fn distance(profile: &Profile, centroid: &Profile) -> f64 {
    let diffs: Vec<f64> = profile
        .iter()
        .filter_map(|(w, v)| Some((v - centroid.get(w)?).powi(2)))
        .collect();
    if diffs.is_empty() {
        f64::INFINITY
    } else {
        diffs.iter().sum::<f64>() / diffs.len() as f64
    }
}

/// 2-means from `seed`: the second class starts as the cases nearer the
/// seed's profile than the common one. Returns the summed distances, the
/// second class and both centroids, or `None` when a class ends too small.
fn two_means(
    profiles: &[Profile],
    eligible: &[usize],
    common: &Profile,
    seed: usize,
) -> Option<(f64, Vec<usize>, [Profile; 2])> {
    let mut second: Vec<usize> = eligible
        .iter()
        .copied()
        .filter(|&c| {
            c == seed || distance(&profiles[c], &profiles[seed]) < distance(&profiles[c], common)
        })
        .collect();
    for _ in 0..10 {
        let first: Vec<usize> = eligible
            .iter()
            .copied()
            .filter(|c| !second.contains(c))
            .collect();
        if first.len() < MIN_CLASS_CASES || second.len() < MIN_CLASS_CASES {
            return None;
        }
        let centroids = [centroid(profiles, &first), centroid(profiles, &second)];
        let next: Vec<usize> = eligible
            .iter()
            .copied()
            .filter(|&c| {
                distance(&profiles[c], &centroids[1]) < distance(&profiles[c], &centroids[0])
            })
            .collect();
        if next == second {
            let spread = eligible
                .iter()
                .map(|&c| distance(&profiles[c], &centroids[usize::from(second.contains(&c))]))
                .sum();
            return Some((spread, second, centroids));
        }
        second = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quiet machine's matrix: `cases` cases, a round every 0.25 s in
    /// shuffled passes, each round's noise lognormal with the case's spread.
    fn quiet(rng: &mut fastrand::Rng, cases: usize, passes: usize) -> Vec<TimedRound> {
        let spreads = [0.02, 0.05, 0.08, 0.12];
        let medians: Vec<f64> = (0..cases).map(|_| 2e4 * 100f64.powf(rng.f64())).collect();
        let mut order: Vec<usize> = (0..cases).collect();
        let mut rounds = Vec::new();
        let mut at = 0.0;
        for _ in 0..passes {
            rng.shuffle(&mut order);
            for &case in &order {
                let (u, v) = (1.0 - rng.f64(), rng.f64());
                let normal = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
                let rate = medians[case] * (spreads[case % 4] * normal).exp();
                rounds.push(TimedRound { case, at, rate });
                at += 0.25;
            }
        }
        rounds
    }

    #[test]
    fn a_quiet_machine_is_one_class_and_sets_nothing_aside() {
        let mut rng = fastrand::Rng::with_seed(3);
        let (mut rounds, mut aside, mut split) = (0, 0, 0);
        let draws = 30;
        for _ in 0..draws {
            let drawn = quiet(&mut rng, 24, 12);
            let model = fit(24, &drawn);
            split += usize::from(model.classes > 1);
            rounds += drawn.len();
            aside += (0..drawn.len()).filter(|&i| model.in_spell(i)).count();
            // Every round has a pace to judge spells by, near 1.
            assert!(model
                .spell_pace
                .iter()
                .all(|p| p.is_some_and(|p| (0.8..1.25).contains(&p))));
        }
        assert_eq!(
            split, 0,
            "noise split into classes in {split} of {draws} draws"
        );
        assert!(
            aside * 1000 <= rounds,
            "{aside} of {rounds} quiet rounds set aside"
        );
    }

    #[test]
    fn a_round_is_never_read_against_its_own_case() {
        // Three cases: the slow rounds of one are its own, not the machine's.
        let mut rounds = Vec::new();
        for pass in 0..12 {
            for case in 0..3 {
                let slow = case == 0 && pass >= 6;
                let rate = if slow { 500.0 } else { 1000.0 } * (1.0 + 0.01 * case as f64);
                rounds.push(TimedRound {
                    case,
                    at: (pass * 3 + case) as f64 * 0.25,
                    rate,
                });
            }
        }
        let model = fit(3, &rounds);
        // Two other cases are too few to read a pace from.
        assert!(model.pace.iter().all(Option::is_none));
        let with_more: Vec<TimedRound> = rounds
            .iter()
            .copied()
            .chain(rounds.iter().filter(|r| r.case > 0).map(|r| TimedRound {
                case: r.case + 2,
                at: r.at + 0.1,
                ..*r
            }))
            .collect();
        let model = fit(5, &with_more);
        let own_slow: Vec<usize> = (0..rounds.len())
            .filter(|&i| rounds[i].case == 0 && rounds[i].rate < 600.0)
            .collect();
        assert!(own_slow.iter().all(|&i| !model.in_spell(i)), "{model:?}");
    }
}
