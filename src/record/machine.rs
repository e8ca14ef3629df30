//! A description of the machine and build a result came from; reading it
//! is [`crate::measure::machine`]'s.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineInfo {
    pub cpu_model: String,
    pub logical_cores: usize,
    pub os: String,
    pub arch: String,
    pub kernel: String,
    /// Whether the CPU reports running under a hypervisor (Linux only; `None` elsewhere).
    pub virtualized: Option<bool>,
    pub rustc_version: String,
    pub build_profile: String,
    pub enabled_features: Vec<String>,
}
