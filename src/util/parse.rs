//! Value parsers shared by every flag definition, the CLI's own and the
//! transports' (which declare their flags next to their settings): each
//! turns a bad value into one line naming the variable or flag and what is
//! accepted.

use clap::ValueEnum;

/// A parser for an enum deriving [`ValueEnum`]: its names (and aliases)
/// accepted, anything else refused with "unknown `what` (`source`);
/// accepted: …", where `source` is the flag's variable (or the flag).
pub fn enum_parser<E: ValueEnum + Clone + Send + Sync + 'static>(
    what: &'static str,
    source: &'static str,
) -> impl Fn(&str) -> Result<E, String> + Clone + Send + Sync + 'static {
    move |value: &str| {
        E::from_str(value, false)
            .map_err(|_| format!("unknown {what} ({source}); accepted: {}", accepted::<E>()))
    }
}

/// The names an enum accepts, comma-separated, for messages.
pub fn accepted<E: ValueEnum>() -> String {
    E::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value())
        .map(|v| v.get_name().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits `12.5ms` into its number and what follows it (spaces between
/// allowed); `None` when it does not start with a finite, non-negative
/// number.
fn number_and_unit(value: &str) -> Option<(f64, &str)> {
    let value = value.trim();
    let end = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let number: f64 = value[..end].parse().ok()?;
    (number.is_finite() && number >= 0.0).then_some((number, value[end..].trim()))
}

/// `max` (flat out: `None`), or requests per second: `100`, `10k`, `1M`,
/// optionally with `/s`.
pub fn rate_or_max(value: &str) -> Result<Option<u64>, String> {
    let accepted = "accepted: max (flat out), or requests per second, a whole number with an optional k or M, like 100, 10k or 1M";
    let value = value.trim();
    if value.eq_ignore_ascii_case("max") {
        return Ok(None);
    }
    match per_second(value.strip_suffix("/s").unwrap_or(value)) {
        Some(n) if n > 0 => Ok(Some(n)),
        _ => Err(accepted.to_string()),
    }
}

/// A whole number of requests per second, with an optional `k`
/// (thousands) or `M` (millions) after it; `None` when it is not one.
pub fn per_second(value: &str) -> Option<u64> {
    let value = value.trim();
    let (digits, unit) = match value.strip_suffix(['k', 'K']) {
        Some(d) => (d, 1_000),
        None => match value.strip_suffix('M') {
            Some(d) => (d, 1_000_000),
            None => (value, 1),
        },
    };
    digits.parse::<u64>().ok()?.checked_mul(unit)
}

/// A latency with its unit: `250ns`, `10us` (or `10µs`), `1.5ms`, `2s`; in
/// nanoseconds.
pub fn latency_ns(value: &str) -> Result<f64, String> {
    let accepted = "accepted: a time with its unit, ns, us (µs), ms or s, like 100us or 1.5ms";
    let (number, unit) = number_and_unit(value).ok_or(accepted)?;
    let scale = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        _ => return Err(accepted.to_string()),
    };
    match number * scale {
        ns if ns > 0.0 => Ok(ns),
        _ => Err(accepted.to_string()),
    }
}

/// A size: `4096`, `512B`, `64KiB`, `1.5MiB`, `2GiB`, or in powers of ten
/// `10kB`, `4MB`, `1GB`; in bytes.
pub fn size_bytes(value: &str) -> Result<u64, String> {
    let accepted = "accepted: bytes, with an optional unit B, KiB, MiB, GiB, kB, MB or GB, like 65536, 64KiB or 1.5MiB";
    let (number, unit) = number_and_unit(value).ok_or(accepted)?;
    let scale: f64 = match unit {
        "" | "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        _ => return Err(accepted.to_string()),
    };
    let bytes = number * scale;
    // Far beyond any machine's memory, and still a whole u64.
    match bytes <= 1e18 {
        true => Ok(bytes.round() as u64),
        false => Err(accepted.to_string()),
    }
}

/// A percentage, `1`, `0.5` or `25%`, as a share (0.01 for 1 %); above
/// `most` percent refused.
pub fn percent_up_to(value: &str, most: f64) -> Result<f64, String> {
    let accepted = format!("accepted: a percentage from 0 to {most}, like 1, 0.5 or 25%");
    let (number, unit) = number_and_unit(value).ok_or(&accepted)?;
    match unit {
        "" | "%" if number <= most => Ok(number / 100.0),
        _ => Err(accepted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_values_read_with_their_units() {
        assert_eq!(rate_or_max("max"), Ok(None));
        assert_eq!(rate_or_max("10k"), Ok(Some(10_000)));
        assert_eq!(rate_or_max("100/s"), Ok(Some(100)));
        assert!(rate_or_max("0").is_err() && rate_or_max("fast").is_err());
        assert_eq!(latency_ns("250ns"), Ok(250.0));
        assert_eq!(latency_ns("10us"), Ok(10_000.0));
        assert_eq!(latency_ns("10 µs"), Ok(10_000.0));
        assert_eq!(latency_ns("1.5ms"), Ok(1_500_000.0));
        for bad in ["10", "0us", "-1ms", "1e3ns", "ms", "10 parsecs"] {
            assert!(latency_ns(bad).is_err(), "{bad}");
        }
        assert_eq!(size_bytes("4096"), Ok(4096));
        assert_eq!(size_bytes("64KiB"), Ok(65_536));
        assert_eq!(size_bytes("1.5MiB"), Ok(1_572_864));
        assert_eq!(size_bytes("4 MB"), Ok(4_000_000));
        assert!(size_bytes("4 MiBs").is_err() && size_bytes("1e30").is_err());
        assert_eq!(percent_up_to("1", 100.0), Ok(0.01));
        assert_eq!(percent_up_to("25%", 100.0), Ok(0.25));
        assert_eq!(percent_up_to("150", 6400.0), Ok(1.5));
        assert!(percent_up_to("101", 100.0).is_err() && percent_up_to("x", 100.0).is_err());
    }
}
