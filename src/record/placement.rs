//! Where parent and child ran (`--pin`), as results record it; choosing
//! and pinning cores is [`crate::measure::placement`]'s.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum PinMode {
    /// Let the scheduler decide.
    None,
    /// Parent and child on two different cores.
    Cross,
    /// Parent and child sharing one core.
    Same,
}

impl PinMode {
    pub fn name(self) -> &'static str {
        match self {
            PinMode::None => "none",
            PinMode::Cross => "cross",
            PinMode::Same => "same",
        }
    }
}

/// Where parent and child run; recorded in every result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub mode: PinMode,
    pub parent_core: Option<usize>,
    pub child_core: Option<usize>,
}
