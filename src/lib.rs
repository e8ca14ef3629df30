//! ipc-bench: which inter-process transport and which serialization format
//! should we use, and what does each cost on this machine?
//!
//! A parent process spawns a child, hands it its configuration over STDIN,
//! then both switch to a transport and ping-pong messages for a set time.
//! Every round trip is verified and timed; every run becomes a result file.
//!
//! The crate is in layers, and imports run one way (downwards here); the
//! test `tests/architecture.rs` fails on an import against the grain or an
//! import circle:
//!
//! - [`cli`]: the command line: flag definitions, specs, matrix planning and
//!   one module per command. Uses everything below.
//! - [`report`]: what is made of result files: series and their estimates,
//!   comparisons, tables, summaries, charts.
//! - [`record`]: the result model, the one vocabulary both sides share:
//!   measuring writes it, reporting reads it, and it imports neither.
//! - [`measure`]: what runs in the parent and the child while a case runs:
//!   the handshake, the engine's loops, the runner, liveness, placement,
//!   statistics, message formats, traffic.
//! - [`transport`]: one file per transport behind one trait.
//! - [`util`]: number formatting and flag-value parsers, used on every side.

pub mod cli;
pub mod measure;
pub mod record;
pub mod report;
pub mod transport;
pub mod util;

pub use cli::own::OwnMessages;
pub use codecs;
