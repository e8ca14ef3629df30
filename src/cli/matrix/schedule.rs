//! The order rounds run in: every pass shuffled afresh, and with a
//! reference transport, each group of cases that share everything but the
//! transport kept together with the reference in its middle.

use super::PlannedCase;
use crate::measure::runner::CaseSpec;
use crate::record::Complexity;
use crate::record::PinMode;
use crate::record::Traffic;
use codecs::CodecId;

/// The order of every round: indices into `cases`, shuffled afresh each
/// round from `seed`. With a `reference` label, cases that share everything
/// but the transport stay together, the reference in the middle of them.
pub fn schedule(
    cases: &[PlannedCase],
    rounds: usize,
    seed: u64,
    reference: Option<&str>,
) -> Vec<Vec<usize>> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let all: Vec<usize> = (0..cases.len()).collect();
    (0..rounds)
        .map(|_| pass_order(cases, &all, &mut rng, reference))
        .collect()
}

/// One pass over `members` (indices into `cases`) in a fresh shuffled
/// order; with a `reference`, each group of cases that share everything but
/// the transport stays together, its reference (always included, so every
/// ratio has its pair) in the middle.
pub(super) fn pass_order(
    cases: &[PlannedCase],
    members: &[usize],
    rng: &mut fastrand::Rng,
    reference: Option<&str>,
) -> Vec<usize> {
    let mut groups: Vec<Vec<usize>> = match reference {
        None => members.iter().map(|&i| vec![i]).collect(),
        Some(label) => {
            let mut by_key: Vec<(CaseGroupKey, Vec<usize>)> = Vec::new();
            for (i, case) in cases.iter().enumerate() {
                let key = group_key(&case.spec);
                let wanted = members.contains(&i) || case.label == label;
                match by_key.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, group)) if wanted => group.push(i),
                    Some(_) => {}
                    None => by_key.push((key, if wanted { vec![i] } else { vec![] })),
                }
            }
            by_key
                .into_iter()
                .map(|(_, group)| group)
                // A group whose only member is its reference has nothing to compare.
                .filter(|group| group.iter().any(|i| members.contains(i)))
                .collect()
        }
    };
    rng.shuffle(&mut groups);
    groups
        .into_iter()
        .flat_map(|group| {
            let (refs, mut others): (Vec<usize>, Vec<usize>) = group
                .into_iter()
                .partition(|&i| Some(cases[i].label.as_str()) == reference);
            rng.shuffle(&mut others);
            let middle = others.len() / 2;
            others.splice(middle..middle, refs);
            others
        })
        .collect()
}

/// Everything of a case but its transport: what a row and its reference share.
type CaseGroupKey = (Complexity, Option<CodecId>, usize, PinMode, Traffic);

pub(super) fn group_key(spec: &CaseSpec) -> CaseGroupKey {
    let codec = spec.complexity.uses_codec().then_some(spec.codec);
    (
        spec.complexity,
        codec,
        spec.payload_bytes,
        spec.pin,
        spec.traffic,
    )
}
