//! `ipc-bench compare`: one set of result files as a table, two sets case by
//! case, or codecs as columns.

use super::CliError;
use crate::cli::args::CompareArgs;
use crate::cli::spec::UsageError;
use crate::report::codecs::CodecsReport;
use crate::report::compare;
use crate::report::results::CODECS_FILE;
use crate::report::results::{self, Loaded};
use crate::report::table::Format;

/// `--reference` must name a transport label the results hold.
pub fn check_reference(reference: Option<&str>, results: &[Loaded]) -> Result<(), UsageError> {
    let labels = compare::labels_in(results);
    match reference {
        Some(r) if !labels.contains(r) => Err(UsageError(format!(
            "invalid value '{r}' for --reference; accepted: a transport of these results ({})",
            labels.into_iter().collect::<Vec<_>>().join(", ")
        ))),
        _ => Ok(()),
    }
}

/// `compare codecs.json [RESULTS]`: the codecs alone, and beside them what
/// each does to a round trip on the transports of RESULTS.
fn compare_codecs(args: &CompareArgs) -> Result<(), CliError> {
    let report = CodecsReport::read(&args.a).map_err(CliError::Failed)?;
    let results = match &args.b {
        Some(b) => results::load(std::slice::from_ref(b)).map_err(CliError::Failed)?,
        None => Vec::new(),
    };
    print!(
        "{}",
        crate::report::codecs::table(&report, &results).render(args.format)
    );
    Ok(())
}

pub fn compare(args: &CompareArgs) -> Result<(), CliError> {
    if args.a.file_name().is_some_and(|n| n == CODECS_FILE) {
        return compare_codecs(args);
    }
    let load = |path: &std::path::PathBuf| results::load(std::slice::from_ref(path));
    let a = load(&args.a).map_err(CliError::Failed)?;
    let b = args
        .b
        .as_ref()
        .map(load)
        .transpose()
        .map_err(CliError::Failed)?;
    let mut note = None;
    let table = match b {
        None => {
            check_reference(args.reference.as_deref(), &a)?;
            if args.by.is_some() {
                compare::by_codec(&a)
            } else {
                compare::single(&a, args.reference.as_deref())
            }
        }
        Some(b) => {
            if let Some(warning) = compare::build_mismatch(&a, &b) {
                eprintln!("warning: {warning}");
            }
            let comparison = compare::pair(&a, &b, args.threshold);
            note = Some(comparison.note);
            comparison.table
        }
    };
    print!("{}", table.render(args.format));
    if let Some(note) = note {
        // On stderr for the formats programs read, so their output stays whole.
        match args.format {
            Format::Table | Format::Markdown => println!("\n{note}"),
            Format::Csv | Format::Json => eprintln!("{note}"),
        }
    }
    if let Some(path) = &args.export_markdown {
        let markdown = table.render(Format::Markdown);
        if path.as_os_str() == "-" {
            print!("{markdown}");
        } else {
            std::fs::write(path, markdown).map_err(|e| {
                CliError::Failed(anyhow::anyhow!("cannot write {}: {e}", path.display()))
            })?;
        }
    }
    Ok(())
}
