//! The child parses whatever arrives on its STDIN as its configuration, and
//! the parent parses whatever the child prints as a report. Neither may panic,
//! and anything accepted must survive a round trip through its own line form
//! (the parent writes configs with `to_line`, so a config that did not would
//! be misread by the child).
#![no_main]

use ipc_bench::handshake::{ChildConfig, ChildReport};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    if let Ok(config) = ChildConfig::parse(&line) {
        let again = ChildConfig::parse(&config.to_line()).expect("a written config parses");
        assert_eq!(again.to_line(), config.to_line());
    }
    if let Ok(report) = ChildReport::parse(&line) {
        let again = ChildReport::parse(&report.to_line()).expect("a written report parses");
        assert_eq!(again.to_line(), report.to_line());
    }
});
