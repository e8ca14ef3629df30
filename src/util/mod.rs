//! Helpers every side uses and none owns: number formatting and the
//! parsers behind flag values.

pub mod format;
pub mod parse;
