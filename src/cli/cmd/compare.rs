//! `ipc-bench compare`: one set of result files as a table, two sets case by
//! case, or codecs as columns.

use super::CliError;
use crate::cli::args::{CompareArgs, CompareFormat, FailOn};
use crate::cli::spec::UsageError;
use crate::report::codecs::CodecsReport;
use crate::report::compare::{self, CaseVerdict};
use crate::report::estimate::Verdict;
use crate::report::results::CODECS_FILE;
use crate::report::results::{self, Loaded};
use crate::report::table::Format;
use crate::report::{baseline, export};
use std::path::{Path, PathBuf};

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
fn compare_codecs(a: &Path, b: Option<&PathBuf>, format: Format) -> Result<(), CliError> {
    let report = CodecsReport::read(a).map_err(|e| UsageError(format!("{e:#}")))?;
    let results = match b {
        Some(b) => load(b)?,
        None => Vec::new(),
    };
    print!(
        "{}",
        crate::report::codecs::table(&report, &results).render(format)
    );
    Ok(())
}

/// Reads a set of result files; one that cannot be read is bad input.
fn load(path: &Path) -> Result<Vec<Loaded>, CliError> {
    results::load(&[path.to_path_buf()]).map_err(|e| UsageError(format!("{e:#}")).into())
}

/// Sets A and B as the arguments give them: two paths, one, or a baseline
/// (set A) and the results given or those of --results-dir (set B).
fn sets(args: &CompareArgs) -> Result<(PathBuf, Option<PathBuf>), CliError> {
    match (&args.baseline, &args.a, &args.b) {
        (Some(_), _, Some(b)) => Err(UsageError(format!(
            "unexpected argument '{}': with --baseline, compare takes at most one set (the one compared with the baseline)",
            b.display()
        ))
        .into()),
        (Some(name), a, None) => {
            let baseline = baseline::find(&args.results_dir, name).map_err(UsageError)?;
            let b = a.clone().unwrap_or_else(|| args.results_dir.clone());
            Ok((baseline, Some(b)))
        }
        (None, Some(a), b) => Ok((a.clone(), b.clone())),
        (None, None, _) => Err(UsageError(
            "compare needs a result file or directory (A [B]), or --baseline NAME".into(),
        )
        .into()),
    }
}

pub fn compare(args: &CompareArgs) -> Result<(), CliError> {
    let (a_path, b_path) = sets(args)?;
    let table_format = args.format.table();
    if a_path.file_name().is_some_and(|n| n == CODECS_FILE) {
        let format = table_format.ok_or_else(|| {
            UsageError(
                "--format bmf and github-action-benchmark export result files, not a codecs.json"
                    .into(),
            )
        })?;
        return compare_codecs(&a_path, b_path.as_ref(), format);
    }
    let a = load(&a_path)?;
    let b = b_path.as_deref().map(load).transpose()?;
    if b.is_none() && !args.fail_on.is_empty() {
        return Err(UsageError(
            "--fail-on needs two sets to compare (A B, or --baseline NAME)".into(),
        )
        .into());
    }
    let Some(b) = b else {
        check_reference(args.reference.as_deref(), &a)?;
        let Some(format) = table_format else {
            return export(&a, args.format);
        };
        let table = match args.by.is_some() {
            true => compare::by_codec(&a),
            false => compare::single(&a, args.reference.as_deref()),
        };
        print!("{}", table.render(format));
        return export_markdown(&table, args);
    };
    if let Some(warning) = compare::build_mismatch(&a, &b) {
        eprintln!("warning: {warning}");
    }
    let comparison = compare::pair(&a, &b, args.threshold);
    let gate = Gate::of(&comparison.verdicts, &args.fail_on);
    // The cases that fail the gate first; then the table (or the export of
    // set B), its note, and last the count of each verdict. For the formats
    // programs read, everything but their output goes to stderr.
    let human = matches!(table_format, Some(Format::Table | Format::Markdown));
    let say = |line: &str| match human {
        true => println!("{line}"),
        false => eprintln!("{line}"),
    };
    for line in gate.failing_lines(args.threshold) {
        say(&line);
    }
    match table_format {
        Some(format) => print!("{}", comparison.table.render(format)),
        None => export(&b, args.format)?,
    }
    say(&format!("\n{}", comparison.note));
    export_markdown(&comparison.table, args)?;
    // A gate's last line counts the verdicts, so that a runner too noisy to
    // tell anything cannot pass unnoticed.
    if !args.fail_on.is_empty() {
        say(&gate.counts_line(args.threshold));
    }
    match gate.failing.is_empty() {
        true => Ok(()),
        false => Err(CliError::Reported),
    }
}

/// A set in a dashboard's format, on stdout.
fn export(results: &[Loaded], format: CompareFormat) -> Result<(), CliError> {
    let value = match format {
        CompareFormat::Bmf => export::bmf(results),
        CompareFormat::GithubActionBenchmark => export::github_action_benchmark(results, true),
        CompareFormat::GithubActionBenchmarkLatency => {
            export::github_action_benchmark(results, false)
        }
        _ => return Ok(()),
    };
    let text = serde_json::to_string_pretty(&value).map_err(|e| CliError::Failed(e.into()))?;
    // A reader that stops early (`| head`) is no error of ours.
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    Ok(())
}

/// `--export-markdown FILE`: the table once more, as Markdown.
fn export_markdown(
    table: &crate::report::table::Table,
    args: &CompareArgs,
) -> Result<(), CliError> {
    let Some(path) = &args.export_markdown else {
        return Ok(());
    };
    let markdown = table.render(Format::Markdown);
    if path.as_os_str() == "-" {
        print!("{markdown}");
        return Ok(());
    }
    std::fs::write(path, markdown)
        .map_err(|e| CliError::Failed(anyhow::anyhow!("cannot write {}: {e}", path.display())))
}

/// What `--fail-on` makes of a comparison's verdicts.
struct Gate<'a> {
    verdicts: &'a [CaseVerdict],
    failing: Vec<&'a CaseVerdict>,
}

impl<'a> Gate<'a> {
    fn of(verdicts: &'a [CaseVerdict], fail_on: &[FailOn]) -> Self {
        let fails = |v: Verdict| {
            fail_on.iter().any(|f| match f {
                FailOn::Slower => v == Verdict::Slower,
                FailOn::Changed => matches!(v, Verdict::Slower | Verdict::Faster),
                FailOn::Inconclusive => matches!(v, Verdict::Inconclusive | Verdict::SingleSample),
            })
        };
        Gate {
            verdicts,
            failing: verdicts.iter().filter(|c| fails(c.verdict)).collect(),
        }
    }

    /// The failing cases, one line each, after a line that counts them.
    fn failing_lines(&self, threshold: f64) -> Vec<String> {
        if self.failing.is_empty() {
            return Vec::new();
        }
        let mut lines = vec![format!(
            "ipc-bench: {} of {} cases fail --fail-on (threshold ±{:.0} %):",
            self.failing.len(),
            self.verdicts.len(),
            threshold * 100.0
        )];
        lines.extend(
            self.failing
                .iter()
                .map(|c| format!("  {}: {} B/A {}", c.name, c.verdict.name(), c.ratio)),
        );
        lines.push(String::new());
        lines
    }

    /// How many cases got each verdict: the last line, so that a noisy
    /// runner whose cases are all inconclusive cannot pass unnoticed.
    fn counts_line(&self, threshold: f64) -> String {
        let count = |v: Verdict| self.verdicts.iter().filter(|c| c.verdict == v).count();
        format!(
            "verdicts (threshold ±{:.0} %): {} slower, {} faster, {} no change, {} inconclusive, {} single sample; {} failing",
            threshold * 100.0,
            count(Verdict::Slower),
            count(Verdict::Faster),
            count(Verdict::NoChange),
            count(Verdict::Inconclusive),
            count(Verdict::SingleSample),
            self.failing.len()
        )
    }
}
