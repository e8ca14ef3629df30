//! Measuring: everything that runs in the parent and the child while a case
//! runs, from the STDIN handshake to the engine's loops and the figures they
//! produce. Nothing here reads a result file or knows about reports.

pub mod case_settings;
pub mod child;
pub mod child_process;
pub mod codec_cost;
pub mod dispatch;
pub mod engine;
pub mod environment;
pub mod handshake;
/// Liveness lives with the transports, which wait with it; measuring uses
/// it by this name too.
pub use crate::transport::liveness;
pub mod machine;
pub mod memory;
pub mod message;
pub mod neighbours;
pub mod own;
pub mod placement;
pub mod round_result;
pub mod runner;
pub mod stats;
pub mod traffic;
