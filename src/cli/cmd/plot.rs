//! `ipc-bench plot`: SVG charts of result files, and of a codecs report.

use super::CliError;
use crate::report::codecs::CodecsReport;
use crate::report::results::CODECS_FILE;
use crate::report::{plot, results};
use std::path::{Path, PathBuf};

pub fn plot(args: &crate::cli::args::PlotArgs) -> Result<(), CliError> {
    let out = args.out.clone().unwrap_or_else(|| {
        let first = &args.inputs[0];
        if first.is_dir() {
            first.clone()
        } else {
            first
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        }
    });
    // A codecs report, named or inside a named directory, gets its own chart;
    // everything else is result files.
    let mut reports = Vec::new();
    let mut inputs = Vec::new();
    for input in &args.inputs {
        let is_report = input.file_name().is_some_and(|n| n == CODECS_FILE);
        if is_report {
            reports.push(input.clone());
        } else if input.is_dir() {
            let report = input.join(CODECS_FILE);
            let has_report = report.is_file();
            if has_report {
                reports.push(report);
            }
            if !has_report || results::holds_results(input) {
                inputs.push(input.clone());
            }
        } else {
            inputs.push(input.clone());
        }
    }
    if !inputs.is_empty() {
        let results = results::load(&inputs).map_err(CliError::Failed)?;
        for file in plot::write_all(&results, &out).map_err(CliError::Failed)? {
            println!("wrote {}", file.display());
        }
    }
    for (i, report) in reports.iter().enumerate() {
        let loaded = CodecsReport::read(report).map_err(CliError::Failed)?;
        let name = if i == 0 {
            "codecs.svg".to_string()
        } else {
            format!("codecs-{}.svg", i + 1)
        };
        let path = out.join(name);
        std::fs::create_dir_all(&out).map_err(|e| {
            CliError::Failed(anyhow::anyhow!("cannot create {}: {e}", out.display()))
        })?;
        plot::codecs_chart(&loaded, &path)
            .map_err(|e| CliError::Failed(e.context(format!("writing {}", path.display()))))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
