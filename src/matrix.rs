//! Running many cases in one go: every combination of the chosen
//! transports, variants, codecs, complexities, payload sizes and placements.
//!
//! Each case writes its result file as it finishes, and a summary of every
//! case so far is rewritten after each one, so a failure (or Ctrl-C) late in
//! the matrix loses nothing already measured.

use crate::liveness;
use crate::message::Complexity;
use crate::placement::PinMode;
use crate::result::{case_stem, now_rfc3339, write_json_atomically, Loaded, MATRIX_SUMMARY_FILE};
use crate::runner::{run_case, CaseSettings, CaseSpec, RunError};
use crate::transport::{self, TransportId};
use codecs::CodecId;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to combine; every list must be non-empty.
#[derive(Debug, Clone)]
pub struct MatrixSpec {
    /// Each transport with the configs (variants) to run it with, in the
    /// opaque form the transport defined.
    pub transports: Vec<(TransportId, Vec<serde_json::Value>)>,
    pub codecs: Vec<CodecId>,
    pub complexities: Vec<Complexity>,
    pub payloads: Vec<usize>,
    pub pins: Vec<PinMode>,
    /// What every case shares (duration, warm-up, ...).
    pub settings: CaseSettings,
}

/// One case to run, with its transport label and the name its result file
/// will get.
#[derive(Debug, Clone)]
pub struct PlannedCase {
    pub name: String,
    pub label: String,
    pub spec: CaseSpec,
}

/// Expands the matrix into cases, in a stable order. A raw-string case uses
/// no codec, so it appears once per transport variant, not once per codec.
pub fn plan(spec: &MatrixSpec) -> Result<Vec<PlannedCase>, transport::TransportError> {
    let mut cases = Vec::new();
    for (transport, configs) in &spec.transports {
        for config in configs {
            let label = transport::label(*transport, config)?;
            for &complexity in &spec.complexities {
                // Raw strings use no codec ("none" in names); json stands in.
                let codecs: Vec<(&str, CodecId)> = match complexity {
                    Complexity::RawString => vec![("none", CodecId::Json)],
                    Complexity::Structured => spec.codecs.iter().map(|&c| (c.name(), c)).collect(),
                };
                for (codec_name, codec) in codecs {
                    for &payload_bytes in &spec.payloads {
                        for &pin in &spec.pins {
                            let name = case_stem(
                                transport.name(),
                                label.variant,
                                codec_name,
                                complexity,
                                payload_bytes,
                                pin,
                            );
                            let spec = CaseSpec {
                                transport: *transport,
                                transport_config: label.config.clone(),
                                codec,
                                codec_reason: "one of the matrix's codecs".into(),
                                complexity,
                                payload_bytes,
                                pin,
                                settings: spec.settings.clone(),
                            };
                            cases.push(PlannedCase {
                                name,
                                label: label.label.clone(),
                                spec,
                            });
                        }
                    }
                }
            }
        }
    }
    Ok(cases)
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Ok,
    Failed,
    /// Not run, after an interrupt.
    Skipped,
}

/// The state of one case, as written to the summary file.
#[derive(Debug, Clone, Serialize)]
pub struct CaseStatus {
    pub case: String,
    pub status: Status,
    pub result_file: Option<PathBuf>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Summary<'a> {
    started: &'a str,
    updated: String,
    cases: &'a [CaseStatus],
}

/// What a matrix run produced.
pub struct MatrixOutcome {
    pub results: Vec<Loaded>,
    pub statuses: Vec<CaseStatus>,
    pub interrupted: bool,
}

impl MatrixOutcome {
    pub fn failures(&self) -> impl Iterator<Item = &CaseStatus> {
        self.statuses.iter().filter(|s| s.status == Status::Failed)
    }
}

/// Shows progress between cases only: a ticking bar would take CPU from the
/// processes being measured on a small machine.
pub trait Progress {
    fn case_started(&mut self, index: usize, total: usize, name: &str, left: Duration);
    fn case_finished(&mut self, name: &str, error: Option<&str>);
    fn done(&mut self);
}

/// Runs every case of `cases`, writing results and the summary into `dir`.
pub fn run(
    cases: &[PlannedCase],
    dir: &Path,
    progress: &mut dyn Progress,
) -> anyhow::Result<MatrixOutcome> {
    let started = now_rfc3339();
    let summary_path = dir.join(MATRIX_SUMMARY_FILE);
    let mut statuses: Vec<CaseStatus> = cases
        .iter()
        .map(|c| CaseStatus {
            case: c.name.clone(),
            status: Status::Pending,
            result_file: None,
            error: None,
        })
        .collect();
    let write_summary = |statuses: &[CaseStatus]| {
        let summary = Summary {
            started: &started,
            updated: now_rfc3339(),
            cases: statuses,
        };
        write_json_atomically(&summary_path, &summary)
    };
    write_summary(&statuses)?;

    let mut results = Vec::new();
    let mut interrupted = false;
    let clock = Instant::now();
    for (i, case) in cases.iter().enumerate() {
        if liveness::interrupted() {
            interrupted = true;
            break;
        }
        let left = estimate_left(&cases[i..], clock.elapsed(), i);
        progress.case_started(i, cases.len(), &case.name, left);
        let outcome = run_case(&case.spec).and_then(|result| {
            let path = result.write_to_dir(dir).map_err(RunError::Failed)?;
            Ok((path, result))
        });
        let status = &mut statuses[i];
        match outcome {
            Ok((path, result)) => {
                status.status = Status::Ok;
                status.result_file = Some(path.clone());
                results.push(Loaded { path, result });
                progress.case_finished(&case.name, None);
            }
            Err(e) => {
                interrupted = matches!(e, RunError::Interrupted(_));
                status.status = if interrupted {
                    Status::Skipped
                } else {
                    Status::Failed
                };
                status.error = Some(format!("{e:#}"));
                progress.case_finished(&case.name, Some(&format!("{e:#}")));
            }
        }
        write_summary(&statuses)?;
        if interrupted {
            break;
        }
    }
    if interrupted {
        for status in statuses.iter_mut().filter(|s| s.status == Status::Pending) {
            status.status = Status::Skipped;
        }
        write_summary(&statuses)?;
    }
    progress.done();
    Ok(MatrixOutcome {
        results,
        statuses,
        interrupted,
    })
}

/// Time left: the cases still to run at the pace so far, or at their
/// configured length before the first one has finished.
fn estimate_left(remaining: &[PlannedCase], elapsed: Duration, done: usize) -> Duration {
    if done > 0 {
        return elapsed / done as u32 * remaining.len() as u32;
    }
    remaining
        .iter()
        .map(|c| {
            c.spec.settings.engine.warmup
                + c.spec.settings.engine.duration
                + Duration::from_millis(300)
        })
        .sum()
}

/// A progress bar on the terminal (indicatif), or nothing when stdout is
/// not a terminal.
pub struct Bar {
    bar: indicatif::ProgressBar,
}

impl Bar {
    pub fn new(total: usize) -> Self {
        use std::io::IsTerminal;
        let bar = if std::io::stdout().is_terminal() {
            let bar = indicatif::ProgressBar::new(total as u64);
            // No colours in the template, so NO_COLOR needs nothing more.
            let style = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        Bar { bar }
    }
}

impl Progress for Bar {
    fn case_started(&mut self, index: usize, _total: usize, name: &str, left: Duration) {
        self.bar.set_position(index as u64);
        self.bar.set_message(format!(
            "{name} (about {} left)",
            humantime::format_duration(Duration::from_secs(left.as_secs()))
        ));
    }

    fn case_finished(&mut self, name: &str, error: Option<&str>) {
        if let Some(error) = error {
            self.bar.println(format!("failed: {name}: {error}"));
        }
    }

    fn done(&mut self) {
        self.bar.finish_and_clear();
    }
}
