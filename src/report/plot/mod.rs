//! SVG charts of result sets (plotters, SVG backend only: no system
//! libraries; text is left to the viewer's fonts).
//!
//! Every transport has one colour, the same in every chart (its place in the
//! registry), legends stand beside the data instead of on it, axes are fitted
//! to the data, intervals are drawn (error bars on throughput, the spread of
//! the rounds behind each percentile), and a set with several placements or
//! payload sizes is drawn as one panel per combination.
//!
//! One file per chart; what they share is in `style`.

mod codecs;
mod cpu_load;
mod latency;
mod load;
mod pace;
mod payload;
mod style;
mod sweep;
mod throughput;
mod versus_json;

pub use codecs::codecs_chart;
pub use cpu_load::cpu_load_chart;
pub use latency::latency_chart;
pub use load::load_chart;
pub use pace::{has_pace, pace_chart};
pub use payload::payload_chart;
pub use sweep::{fanout_chart, stream_chart};
pub use throughput::throughput_chart;
pub use versus_json::versus_json_chart;

use crate::report::results::Loaded;
use anyhow::Context;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Writes every chart into `dir` (the payload chart only when the results
/// hold more than one payload size, the load and CPU-load charts only for fixed-rate
/// results, the stream chart only for streams, which the other charts
/// leave out, and the pace chart only when rounds were read against a
/// pace); returns the files written.
pub fn write_all(results: &[Loaded], dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    // A fixed rate's round trips/s is the load it was offered, not a
    // capacity: those results go to the load chart only; fan-outs (and the
    // one-child runs beside them) to the fan-out chart; the rest, the
    // closed loop with one child, to the charts below.
    let of = |keep: &dyn Fn(&crate::record::Traffic) -> bool| -> Vec<Loaded> {
        results
            .iter()
            .filter(|l| keep(&l.result.traffic))
            .cloned()
            .collect()
    };
    let paced = of(&|t| t.schedule().is_some() && t.children == 1);
    if !paced.is_empty() {
        let load = dir.join("load.svg");
        load_chart(&paced, &load).with_context(|| format!("writing {}", load.display()))?;
        written.push(load);
        let cpu = dir.join("cpu-load.svg");
        cpu_load_chart(&paced, &cpu).with_context(|| format!("writing {}", cpu.display()))?;
        written.push(cpu);
    }
    let streams = of(&|t| t.is_stream());
    if !streams.is_empty() {
        let stream = dir.join("stream.svg");
        stream_chart(&streams, &stream).with_context(|| format!("writing {}", stream.display()))?;
        written.push(stream);
    }
    if results.iter().any(|l| l.result.traffic.children > 1) {
        let fanned = of(&|t| t.is_ping_pong());
        let fanout = dir.join("fanout.svg");
        fanout_chart(&fanned, &fanout).with_context(|| format!("writing {}", fanout.display()))?;
        written.push(fanout);
    }
    if has_pace(results) {
        let pace = dir.join("pace.svg");
        pace_chart(results, &pace).with_context(|| format!("writing {}", pace.display()))?;
        written.push(pace);
    }
    let closed = of(&|t| t.is_default());
    if closed.is_empty() {
        return Ok(written);
    }
    let results = &closed[..];
    let throughput = dir.join("throughput.svg");
    throughput_chart(results, &throughput)
        .with_context(|| format!("writing {}", throughput.display()))?;
    written.push(throughput);
    let latency = dir.join("latency.svg");
    latency_chart(results, &latency).with_context(|| format!("writing {}", latency.display()))?;
    written.push(latency);
    let sizes: BTreeSet<usize> = results
        .iter()
        .map(|l| l.result.payload_bytes)
        .filter(|&p| p > 0)
        .collect();
    let has_json = results.iter().any(|l| l.result.codec == "json");
    let has_other = results
        .iter()
        .any(|l| l.result.codec != "json" && l.result.complexity.uses_codec());
    if has_json && has_other {
        let versus = dir.join("versus-json.svg");
        versus_json_chart(results, &versus)
            .with_context(|| format!("writing {}", versus.display()))?;
        written.push(versus);
    }
    if sizes.len() > 1 {
        let payload = dir.join("payload.svg");
        payload_chart(results, &payload)
            .with_context(|| format!("writing {}", payload.display()))?;
        written.push(payload);
    }
    Ok(written)
}
