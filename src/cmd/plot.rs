//! `ipc-bench plot`: SVG charts of result files.

use super::CliError;
use crate::{plot, result};
use std::path::{Path, PathBuf};

pub fn plot(args: &crate::cli::PlotArgs) -> Result<(), CliError> {
    let results = result::load(&args.inputs).map_err(CliError::Failed)?;
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
    for file in plot::write_all(&results, &out).map_err(CliError::Failed)? {
        println!("wrote {}", file.display());
    }
    Ok(())
}
