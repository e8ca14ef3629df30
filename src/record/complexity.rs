//! The shapes a message can have: the built-in ones, and a team's own
//! under the name it chose.

use serde::{Deserialize, Serialize};

/// How messages are represented on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Complexity {
    /// The seed's `sender|receiver|ping` bytes; no codec involved.
    RawString,
    /// The small typed ping through the selected codec (`json` is the seed's name for it).
    Structured,
    /// String-heavy: a batch of access-log records, one per 80 payload bytes.
    Log,
    /// Number-heavy: a telemetry frame, one `f32` sample per 4 payload bytes.
    Numeric,
    /// Structure-heavy: an order request, one nested order per 40 payload bytes.
    Nested,
    /// A team's own messages: samples of its own Rust type, or a file of
    /// JSON messages, under the name it chose (see [`crate::measure::own`]).
    Own(ShapeName),
}

/// The name of a team's own shape: interned, so a [`Complexity`] stays
/// `Copy` and cheap to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShapeName(&'static str);

impl ShapeName {
    /// The name `name`, if it is one a shape may have: 1 to 40 of ASCII
    /// letters, digits, `-` and `_`, starting with a letter, and none of the
    /// built-in shapes' names.
    pub fn new(name: &str) -> Result<Self, String> {
        let valid = (1..=40).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(format!(
                "'{name}' cannot name a shape: use 1 to 40 ASCII letters, digits, '-' and '_', starting with a letter"
            ));
        }
        if Complexity::builtin(name).is_some() {
            return Err(format!(
                "'{name}' is a built-in shape's name; choose another for your own messages"
            ));
        }
        Ok(ShapeName(intern(name)))
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// Each distinct shape name leaked once: a process sees a handful.
fn intern(name: &str) -> &'static str {
    use std::collections::BTreeSet;
    use std::sync::Mutex;
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match names.get(name) {
        Some(known) => known,
        None => {
            let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
            names.insert(leaked);
            leaked
        }
    }
}

impl Complexity {
    pub const ALL: [Complexity; 5] = [
        Complexity::RawString,
        Complexity::Structured,
        Complexity::Log,
        Complexity::Numeric,
        Complexity::Nested,
    ];

    /// The shapes that go through a codec: every one but raw strings.
    pub const SHAPES: [Complexity; 4] = [
        Complexity::Structured,
        Complexity::Log,
        Complexity::Numeric,
        Complexity::Nested,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Complexity::RawString => "raw-string",
            Complexity::Structured => "structured",
            Complexity::Log => "log",
            Complexity::Numeric => "numeric",
            Complexity::Nested => "nested",
            Complexity::Own(name) => name.as_str(),
        }
    }

    /// The built-in shape called `name` (`json` is the seed's name for
    /// `structured`).
    pub fn builtin(name: &str) -> Option<Self> {
        match name {
            "json" => Some(Complexity::Structured),
            _ => Complexity::ALL.into_iter().find(|c| c.name() == name),
        }
    }

    /// The shape a result file or a child's configuration names: a
    /// built-in one, or a team's own (whether this process knows it or not:
    /// reading results needs no type).
    pub fn from_name(name: &str) -> Result<Self, String> {
        match Complexity::builtin(name) {
            Some(builtin) if name != "json" => Ok(builtin),
            _ => ShapeName::new(name).map(Complexity::Own),
        }
    }

    /// Whether messages of this shape go through a codec.
    pub fn uses_codec(self) -> bool {
        self != Complexity::RawString
    }

    /// Whether this is a team's own shape, whose size is its samples' and
    /// not a payload figure.
    pub fn is_own(self) -> bool {
        matches!(self, Complexity::Own(_))
    }
}

impl Serialize for Complexity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Complexity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Complexity::from_name(&name).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Complexity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The sizes of a shape's messages when they differ (a team's own
/// samples), header included: smallest, median, largest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireSpread {
    pub min: usize,
    pub median: usize,
    pub max: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complexity_accepts_the_seed_name() {
        assert_eq!(Complexity::builtin("json"), Some(Complexity::Structured));
        assert_eq!(
            Complexity::builtin("raw-string"),
            Some(Complexity::RawString)
        );
        assert_eq!(Complexity::builtin("yaml"), None);
    }

    #[test]
    fn own_shape_names_are_checked_and_round_trip_through_files() {
        let own = Complexity::from_name("order").unwrap();
        assert_eq!(own, Complexity::Own(ShapeName::new("order").unwrap()));
        assert!(own.is_own() && own.uses_codec());
        let text = serde_json::to_string(&own).unwrap();
        assert_eq!(text, "\"order\"");
        assert_eq!(serde_json::from_str::<Complexity>(&text).unwrap(), own);
        let nested: Complexity = serde_json::from_str("\"nested\"").unwrap();
        assert_eq!(nested, Complexity::Nested);
        for bad in ["", "9lives", "has space", "log", "json", &"x".repeat(41)] {
            assert!(ShapeName::new(bad).is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<Complexity>("\"no such!\"").is_err());
    }
}
