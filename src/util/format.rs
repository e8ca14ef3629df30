//! How numbers read in tables, summaries and names: thousands grouped,
//! durations with a unit, shares as percentages, rates to three digits.

/// `1234567.8` → `1,234,568`.
pub fn group_thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0.0 && digits != "0" {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A range of paces: `0.41–0.55×`, or `0.41×` when both ends round alike.
pub fn pace_range(lowest: f64, highest: f64) -> String {
    let (lo, hi) = (format!("{lowest:.2}"), format!("{highest:.2}"));
    if lo == hi {
        format!("{lo}×")
    } else {
        format!("{lo}–{hi}×")
    }
}

/// A duration in nanoseconds with a readable unit: `850 ns`, `7.31 µs`, `1.20 ms`.
pub fn format_ns(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1_000_000_000.0 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// `5`, `2.5`: a share as a percentage, without needless decimals.
pub fn percent(share: f64) -> String {
    let text = format!("{:.3}", share * 100.0);
    match text.trim_end_matches('0').trim_end_matches('.') {
        "" => "0".to_string(),
        trimmed => trimmed.to_string(),
    }
}

/// `1.06 M`, `20.3 k`, `812`: three significant digits, enough for figures
/// that move by percents between runs.
pub fn short_rate(rate: f64) -> String {
    let (value, unit) = if rate >= 1e9 {
        (rate / 1e9, " G")
    } else if rate >= 1e6 {
        (rate / 1e6, " M")
    } else if rate >= 1e3 {
        (rate / 1e3, " k")
    } else {
        (rate, "")
    };
    let digits = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.digits$}{unit}")
}

/// `512 B`, `4 KiB`, `208 KiB`, `1.5 MiB`: a size in binary units, a
/// decimal only below ten and only when it is not whole.
pub fn bytes(count: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if count < 1024 {
        return format!("{count} B");
    }
    let mut value = count as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let unit = UNITS[unit];
    if value < 10.0 && (value * 10.0).round() % 10.0 != 0.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(4096), "4 KiB");
        assert_eq!(bytes(212_992), "208 KiB");
        assert_eq!(bytes(1_572_864), "1.5 MiB");
        assert_eq!(bytes(65_536 * 1024), "64 MiB");
        assert_eq!(bytes(3 << 40), "3 TiB");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(0.0), "0");
        assert_eq!(group_thousands(999.4), "999");
        assert_eq!(group_thousands(1000.0), "1,000");
        assert_eq!(group_thousands(1_368_321.0), "1,368,321");
        assert_eq!(group_thousands(-12345.0), "-12,345");
    }

    #[test]
    fn durations_pick_a_unit() {
        assert_eq!(format_ns(850.0), "850 ns");
        assert_eq!(format_ns(7_310.0), "7.31 µs");
        assert_eq!(format_ns(1_200_000.0), "1.20 ms");
        assert_eq!(format_ns(2.5e9), "2.50 s");
    }
}
