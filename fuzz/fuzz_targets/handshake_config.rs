//! The child parses whatever arrives on its STDIN as its configuration, and
//! the parent parses whatever the child prints as a report. Neither may panic,
//! and anything accepted must survive a round trip through its own line form
//! (the parent writes configs with `to_line`, so a config that did not would
//! be misread by the child).
//!
//! Then the part of the configuration that decides what the child maps and
//! writes: the shared-memory transports' setup documents. The parent side
//! creates a real, small region; the fuzzer's bytes replace the sizes in the
//! setup it wrote (or, with the first byte odd, stand as the whole setup);
//! the child's `connect` must refuse what does not fit, and whatever it
//! accepts must never let a message reach past the mapping (a write there
//! crashes the target).
#![no_main]

use ipc_bench::measure::handshake::{ChildConfig, ChildReport};
use ipc_bench::measure::liveness::{Liveness, Peer};
use ipc_bench::transport::{self, Options, Transport, TransportVisitor};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

/// The labels whose setup documents carry sizes.
const SIZED: [&str; 4] = [
    "spin",
    "raw-sync-spin",
    "raw-sync-block",
    "shared-mem-queue",
];

/// The capacity the real region is created for.
const REAL_MESSAGE: usize = 200;

struct Connect<'a> {
    /// The label's config, with a small shared-mem-queue region.
    config: serde_json::Value,
    data: &'a [u8],
}

impl TransportVisitor for Connect<'_> {
    type Output = ();
    fn visit<T: Transport>(self) {
        let options = Options {
            max_message_bytes: REAL_MESSAGE,
            window: 1,
            config: transport::decode_config::<T::Config>(&self.config).expect("a label's config"),
        };
        let Ok((listener, setup)) = T::listen(&options) else {
            return;
        };
        let setup = serde_json::to_value(&setup).expect("a setup serializes");
        let (whole, sizes) = match self.data.split_first() {
            Some((&first, rest)) => (first & 1 == 1, rest),
            None => (false, &[][..]),
        };
        let mut claimed = 0u64;
        let fuzzed = if whole {
            match serde_json::from_slice::<serde_json::Value>(sizes) {
                Ok(value) => value,
                Err(_) => return,
            }
        } else {
            let mut fuzzed = setup.clone();
            let mut words = sizes
                .chunks_exact(8)
                .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")));
            if let Some(object) = fuzzed.as_object_mut() {
                for value in object.values_mut() {
                    if value.is_u64() {
                        if let Some(word) = words.next() {
                            claimed = claimed.max(word);
                            *value = word.into();
                        }
                    }
                }
            }
            fuzzed
        };
        let Ok(fuzzed) = T::Setup::deserialize(&fuzzed) else {
            return;
        };
        let mut live = Liveness::new(Peer::InProcess);
        if let Ok(mut child) = T::connect(&fuzzed, &options, &mut live) {
            // As long as the largest size it accepted, within reason: past
            // the mapping this write faults.
            let len = usize::try_from(claimed).unwrap_or(usize::MAX).min(1 << 20);
            let _ = child.send(&vec![0xA5; len]);
            let _ = child.send(&vec![0x5A; REAL_MESSAGE]);
        }
        drop(listener);
    }
}

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

    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let labels: Vec<_> = transport::labels()
        .into_iter()
        .filter(|l| SIZED.contains(&l.label.as_str()))
        .collect();
    let label = &labels[usize::from(selector) % labels.len()];
    let mut config = label.config.clone();
    if let Some(region) = config.get_mut("queue_region_bytes") {
        *region = (2 * (REAL_MESSAGE + 64)).into();
    }
    transport::dispatch(label.transport, Connect { config, data: rest });
});
