//! Warnings of one kind told apart only by their figures: a figure is the
//! whole number as printed (thousands separators, decimal point, unit), so
//! that the page can say each kind once, every figure as the range it takes.

use std::fmt::Write;

/// Units a figure may carry, with the scale that orders figures across
/// them: counts (`24.7 k`, `1.05 M`) and times (`931 ns`, `1.2 µs`).
const FIGURE_UNITS: [(&str, f64); 6] = [
    (" k", 1e3),
    (" M", 1e6),
    (" G", 1e9),
    (" ns", 1.0),
    (" µs", 1e3),
    (" ms", 1e6),
];

/// The length of the figure at the start of `text`, if one starts there:
/// digits with thousands separators (`2,471,257`) and a decimal point,
/// then a unit of [`FIGURE_UNITS`] when one follows (not the start of a
/// word: `1 kind` is a figure and a word).
fn figure_at(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if !bytes.first()?.is_ascii_digit() {
        return None;
    }
    let digits_from = |at: usize| {
        bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut end = digits_from(0);
    // A comma is a separator when exactly three digits follow it.
    while bytes.get(end) == Some(&b',') && digits_from(end + 1) == 3 {
        end += 4;
    }
    if bytes.get(end) == Some(&b'.') && digits_from(end + 1) > 0 {
        end += 1 + digits_from(end + 1);
    }
    let rest = &text[end..];
    for (unit, _) in FIGURE_UNITS {
        let after = rest.strip_prefix(unit);
        if after.is_some_and(|a| !a.starts_with(|c: char| c.is_alphanumeric())) {
            return Some(end + unit.len());
        }
    }
    Some(end)
}

/// A figure's value, its unit's scale applied, for ordering.
fn figure_value(figure: &str) -> f64 {
    let (number, scale) = FIGURE_UNITS
        .iter()
        .find_map(|(unit, scale)| figure.strip_suffix(unit).map(|n| (n, *scale)))
        .unwrap_or((figure, 1.0));
    number.replace(',', "").parse::<f64>().unwrap_or(f64::NAN) * scale
}

/// A text split into runs of figures (see [`figure_at`]) and runs of
/// anything else, in order.
fn runs(text: &str) -> Vec<(bool, &str)> {
    let mut runs = Vec::new();
    let (mut start, mut at) = (0, 0);
    while at < text.len() {
        // A digit inside a word (`p99`, `round2`) starts no figure.
        let in_word = text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphabetic());
        match figure_at(&text[at..]).filter(|_| !in_word) {
            Some(len) => {
                if start < at {
                    runs.push((false, &text[start..at]));
                }
                runs.push((true, &text[at..at + len]));
                at += len;
                start = at;
            }
            None => at += text[at..].chars().next().map_or(1, char::len_utf8),
        }
    }
    if start < text.len() {
        runs.push((false, &text[start..]));
    }
    runs
}

/// A warning's words without its figures: warnings of one kind share them.
pub(super) fn words_of(text: &str) -> Vec<&str> {
    runs(text)
        .into_iter()
        .map(|(figure, run)| if figure { "#" } else { run })
        .collect()
}

/// Warnings of one kind as one text, each figure the range it takes
/// ("1.5–28.7").
pub(super) fn with_ranges(texts: &[&str]) -> String {
    let all: Vec<Vec<(bool, &str)>> = texts.iter().map(|t| runs(t)).collect();
    let mut out = String::new();
    for (i, (figure, run)) in all[0].iter().enumerate() {
        if !figure {
            out.push_str(run);
            continue;
        }
        let values: Vec<(f64, &str)> = all
            .iter()
            .filter_map(|r| r.get(i))
            .map(|(_, v)| (figure_value(v), *v))
            .collect();
        let least = values.iter().min_by(|a, b| a.0.total_cmp(&b.0));
        let most = values.iter().max_by(|a, b| a.0.total_cmp(&b.0));
        match (least, most) {
            (Some(least), Some(most)) if least.1 != most.1 => {
                let _ = write!(out, "{}–{}", least.1, most.1);
            }
            _ => out.push_str(run),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_differing_in_figures_are_one_kind_with_ranges() {
        let a = "throughput changed 1.5× inside round 2 (fastest against slowest 100 ms)";
        let b = "throughput changed 28.7× inside round 1 (fastest against slowest 100 ms)";
        let c = "throughput changed 2.0× inside round 6 (fastest against slowest 100 ms)";
        assert_eq!(words_of(a), words_of(b));
        assert_ne!(words_of(a), words_of("a debug build"));
        assert_eq!(
            with_ranges(&[a, b, c]),
            "throughput changed 1.5–28.7× inside round 1–6 (fastest against slowest 100 ms)"
        );
        assert_eq!(with_ranges(&["steal 3.5 %."]), "steal 3.5 %.");
    }

    /// A figure is the whole number as printed: its thousands separators,
    /// its decimal point and its unit.
    #[test]
    fn figures_keep_their_separators_and_units() {
        let a = "two modes: the rounds fall into two groups, 2,471,257/s (16 rounds) and 1,074,925/s (7 rounds)";
        let b = "two modes: the rounds fall into two groups, 2,864,642/s (12 rounds) and 1,015,149/s (3 rounds)";
        assert_eq!(words_of(a), words_of(b));
        assert_eq!(
            with_ranges(&[a, b]),
            "two modes: the rounds fall into two groups, 2,471,257–2,864,642/s (12–16 rounds) and 1,015,149–1,074,925/s (3–7 rounds)"
        );
        let c = "p99 of 931 ns at 24.7 k/s";
        let d = "p99 of 1.2 µs at 1.05 M/s";
        assert_eq!(words_of(c), words_of(d));
        assert_eq!(
            with_ranges(&[d, c]),
            "p99 of 931 ns–1.2 µs at 24.7 k–1.05 M/s"
        );
        // A comma between figures, and a unit that starts a word, stay words.
        assert_eq!(
            runs("rounds 3,4 at 5 kinds"),
            [
                (false, "rounds "),
                (true, "3"),
                (false, ","),
                (true, "4"),
                (false, " at "),
                (true, "5"),
                (false, " kinds")
            ]
        );
    }
}
