//! Running many cases in one go: every combination of the chosen
//! transports, variants, codecs, complexities, payload sizes and placements.
//!
//! Each case writes its result file as it finishes, and a summary of every
//! case so far is rewritten after each one, so a failure (or Ctrl-C) late in
//! the matrix loses nothing already measured.

use crate::compare::{Loaded, MATRIX_SUMMARY_FILE};
use crate::liveness;
use crate::message::Complexity;
use crate::placement::PinMode;
use crate::result::{case_stem, now_rfc3339, write_json_atomically};
use crate::runner::{run_case, CaseSpec};
use crate::transport::{self, IoxPattern, VariantChoice, WaitStrategy};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to combine; every list must be non-empty.
#[derive(Debug, Clone)]
pub struct MatrixSpec {
    pub transports: Vec<String>,
    pub waits: Vec<WaitStrategy>,
    pub iox_patterns: Vec<IoxPattern>,
    pub codecs: Vec<String>,
    pub complexities: Vec<Complexity>,
    pub payloads: Vec<usize>,
    pub pins: Vec<PinMode>,
    /// Everything else (duration, warm-up, ...) comes from this template.
    pub template: CaseSpec,
}

/// One case to run, with the name its result file will get.
#[derive(Debug, Clone)]
pub struct PlannedCase {
    pub name: String,
    pub spec: CaseSpec,
}

/// Expands the matrix into cases, in a stable order. A raw-string case uses
/// no codec, so it appears once per transport, not once per codec; a
/// transport without variants appears once whatever the wait strategies and
/// iceoryx2 patterns.
pub fn plan(spec: &MatrixSpec) -> Vec<PlannedCase> {
    let mut cases = Vec::new();
    let mut seen = BTreeSet::new();
    for transport in &spec.transports {
        for choice in VariantChoice::all(&spec.waits, &spec.iox_patterns) {
            let variant = transport::variant(transport, choice);
            for &complexity in &spec.complexities {
                let codecs: Vec<&str> = match complexity {
                    Complexity::RawString => vec!["none"],
                    Complexity::Structured => spec.codecs.iter().map(String::as_str).collect(),
                };
                for codec in codecs {
                    for &payload_bytes in &spec.payloads {
                        for &pin in &spec.pins {
                            let name = case_stem(
                                transport,
                                variant,
                                codec,
                                complexity,
                                payload_bytes,
                                pin,
                            );
                            if !seen.insert(name.clone()) {
                                continue;
                            }
                            let mut case = spec.template.clone();
                            case.transport = transport.clone();
                            case.wait = choice.wait;
                            case.iox_pattern = choice.iox_pattern;
                            case.complexity = complexity;
                            // The raw-string format ignores the codec; keep a valid name.
                            case.codec = if codec == "none" {
                                "json".into()
                            } else {
                                codec.into()
                            };
                            case.payload_bytes = payload_bytes;
                            case.pin = pin;
                            cases.push(PlannedCase { name, spec: case });
                        }
                    }
                }
            }
        }
    }
    cases
}

/// The state of one case, as written to the summary file.
#[derive(Debug, Clone, Serialize)]
pub struct CaseStatus {
    pub case: String,
    /// `pending`, `ok`, `failed` or `skipped` (after an interrupt).
    pub status: &'static str,
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
        self.statuses.iter().filter(|s| s.status == "failed")
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
            status: "pending",
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
            let path = result.write_to_dir(dir)?;
            Ok((path, result))
        });
        let status = &mut statuses[i];
        match outcome {
            Ok((path, result)) => {
                status.status = "ok";
                status.result_file = Some(path.clone());
                results.push(Loaded { path, result });
                progress.case_finished(&case.name, None);
            }
            Err(e) => {
                if liveness::interrupted() {
                    interrupted = true;
                }
                status.status = if interrupted { "skipped" } else { "failed" };
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
        for status in statuses.iter_mut().filter(|s| s.status == "pending") {
            status.status = "skipped";
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
        .map(|c| c.spec.engine.warmup + c.spec.engine.duration + Duration::from_millis(300))
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
