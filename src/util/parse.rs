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
