//! ipc-bench: which inter-process transport and which serialization format
//! should we use, and what does each cost on this machine?
//!
//! A parent process spawns a child, hands it its configuration over STDIN
//! ([`handshake`]), then both switch to a [`transport`] and ping-pong messages
//! ([`engine`]) in a [`message`] format for a set time. Every round trip is
//! verified and timed; every run becomes a [`result`] file.

pub mod child;
pub mod cli;
pub mod cmd;
pub mod codec_cost;
pub mod compare;
pub mod dispatch;
pub mod engine;
pub mod environment;
pub mod estimate;
pub mod handshake;
pub mod liveness;
pub mod machine;
pub mod matrix;
pub mod message;
pub mod parse;
pub mod placement;
pub mod plot;
pub mod result;
pub mod runner;
pub mod series;
pub mod spec;
pub mod stats;
pub mod summary;
pub mod table;
pub mod traffic;
pub mod transport;

pub use codecs;
