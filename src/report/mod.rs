//! Reporting: what is made of result files once cases have run: series of
//! rounds and their estimates, comparisons and verdicts, tables, summaries
//! and charts.

pub mod baseline;
pub mod codecs;
pub mod compare;
pub mod estimate;
pub mod export;
pub mod html;
pub mod latency_interval;
pub mod pace;
pub mod pick;
pub mod plot;
pub mod results;
pub mod series;
pub mod spells;
pub mod stopping;
pub mod summary;
pub mod table;
pub mod warnings;
