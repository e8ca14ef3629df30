//! `ipc-bench codecs`: the codecs alone, one process, no transport.

use super::CliError;
use crate::cli::args::CodecsArgs;
use crate::cli::spec::{check_codec, UsageError};
use crate::measure::codec_cost::{self, CodecCaseSpec};
use crate::record::now_rfc3339;
use crate::record::Complexity;
use crate::report::codecs::{CodecsReport, CODECS_SCHEMA_VERSION};
use crate::report::estimate::median_rank_bounds;
use crate::report::results::write_json_atomically;
use crate::report::results::CODECS_FILE;
use crate::{measure::liveness, measure::machine, report::summary};
use codecs::CodecId;
use std::time::Duration;

pub fn codecs(args: &CodecsArgs) -> Result<(), CliError> {
    let cases = planned_cases(args)?;
    liveness::install_signal_handler().map_err(CliError::Failed)?;
    if machine::build_profile() == "debug" {
        eprintln!("warning: {}", summary::DEBUG_BUILD_WARNING);
    }
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    let budget = Duration::from_secs_f64(args.budget);
    let failed = |case: &CodecCaseSpec, e: codec_cost::CodecCaseError| {
        CliError::Failed(anyhow::anyhow!(
            "{} · {} · {} B: {e}",
            case.codec.name(),
            case.complexity,
            case.payload_bytes
        ))
    };
    // Every case's round trip is checked (and its sizes taken) before any is timed.
    let sizes = cases
        .iter()
        .map(|&case| codec_cost::sizes(case).map_err(|e| failed(&case, e)))
        .collect::<Result<Vec<_>, _>>()?;
    eprintln!(
        "ipc-bench: {} cases × {} rounds in a shuffled order (--seed {seed} replays it)",
        cases.len(),
        args.rounds
    );
    let mut bar = crate::cli::matrix::Bar::new(cases.len() * args.rounds);
    let mut samples = vec![Vec::new(); cases.len()];
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut order: Vec<usize> = (0..cases.len()).collect();
    let mut step = 0;
    for round in 1..=args.rounds {
        rng.shuffle(&mut order);
        for &i in &order {
            if liveness::interrupted() {
                return Err(CliError::Interrupted(liveness::Interrupted));
            }
            step += 1;
            bar.show(step, &format!("round {round}: {}", case_name(&cases[i])));
            let sample =
                codec_cost::sample(cases[i], round, budget).map_err(|e| failed(&cases[i], e))?;
            samples[i].push(sample);
        }
    }
    bar.clear();
    let report = CodecsReport {
        schema_version: CODECS_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        timestamp: now_rfc3339(),
        rounds: args.rounds,
        budget_secs: args.budget,
        ci_coverage: median_rank_bounds(args.rounds).map(|(_, _, coverage)| coverage),
        seed,
        machine: crate::record::MachineInfo::current(),
        cases: cases
            .iter()
            .zip(sizes)
            .zip(samples)
            .map(|((&case, sizes), samples)| crate::report::codecs::summarize(case, sizes, samples))
            .collect(),
    };
    let path = args.results_dir.join(CODECS_FILE);
    write_json_atomically(&path, &report).map_err(CliError::Failed)?;
    print!(
        "{}",
        crate::report::codecs::table(&report, &[]).render(args.format)
    );
    eprintln!("ipc-bench: wrote {}", path.display());
    Ok(())
}

fn case_name(case: &CodecCaseSpec) -> String {
    format!(
        "{} · {} · {} B",
        case.codec.name(),
        case.complexity,
        case.payload_bytes
    )
}

/// Every codec × shape × payload case the flags ask for, checked.
fn planned_cases(args: &CodecsArgs) -> Result<Vec<CodecCaseSpec>, CliError> {
    let codecs: Vec<CodecId> = if args.codecs.is_empty() {
        codecs::compiled_names()
            .into_iter()
            .map(|name| CodecId::parse(name).expect("a compiled codec"))
            .collect()
    } else {
        args.codecs
            .iter()
            .map(|name| check_codec(name, "--codecs"))
            .collect::<Result<_, _>>()?
    };
    let complexities: Vec<Complexity> = match args.complexities.is_empty() {
        true => Complexity::SHAPES
            .into_iter()
            .chain(
                crate::measure::own::registered()
                    .iter()
                    .map(|s| Complexity::Own(s.name)),
            )
            .collect(),
        false => args.complexities.clone(),
    };
    if complexities.contains(&Complexity::RawString) {
        return Err(UsageError(
            "invalid value 'raw-string' for --complexities: raw strings use no codec; accepted: structured, log, numeric, nested".into(),
        )
        .into());
    }
    let mut cases = Vec::new();
    for &complexity in &complexities {
        // An own shape's size is its samples': one payload figure for it.
        let payloads = match complexity {
            Complexity::Own(_) => &args.payloads[..1],
            _ => &args.payloads[..],
        };
        for &payload_bytes in payloads {
            for &codec in &codecs {
                if let Complexity::Own(name) = complexity {
                    let carried = crate::measure::own::find(name)
                        .is_some_and(|shape| shape.codec(codec.name()).is_ok());
                    if !carried {
                        continue;
                    }
                }
                cases.push(CodecCaseSpec {
                    codec,
                    complexity,
                    payload_bytes,
                });
            }
        }
    }
    Ok(cases)
}
