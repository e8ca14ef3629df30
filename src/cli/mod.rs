//! The command line: flag definitions ([`args`]), the specs they become,
//! matrix planning and scheduling, and one module per command ([`cmd`]).

pub mod args;
pub mod cmd;
pub mod matrix;
pub mod own;
pub mod spec;
