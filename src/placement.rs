//! CPU placement of parent and child (`--pin`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    pub const ACCEPTED: &'static str = "none, cross, same";

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "none" => Some(PinMode::None),
            "cross" => Some(PinMode::Cross),
            "same" => Some(PinMode::Same),
            _ => None,
        }
    }

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

/// Chooses cores for `mode` among those this process may use.
pub fn plan(mode: PinMode) -> Result<Placement, String> {
    if mode == PinMode::None {
        return Ok(Placement {
            mode,
            parent_core: None,
            child_core: None,
        });
    }
    let cores = core_affinity::get_core_ids()
        .ok_or("cannot list the CPU cores this process may use, so --pin/PIN cannot be honoured")?;
    let (parent, child) = match (mode, cores.as_slice()) {
        (PinMode::Same, [first, ..]) => (first.id, first.id),
        (PinMode::Cross, [first, second, ..]) => (first.id, second.id),
        _ => {
            return Err(format!(
                "--pin/PIN {} needs {} usable core(s), this process may use {}",
                mode.name(),
                if mode == PinMode::Cross { 2 } else { 1 },
                cores.len()
            ))
        }
    };
    Ok(Placement {
        mode,
        parent_core: Some(parent),
        child_core: Some(child),
    })
}

/// Pins the calling thread to `core`.
pub fn pin_to(core: usize) -> Result<(), String> {
    if core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        Ok(())
    } else {
        Err(format!("could not pin to core {core}"))
    }
}
