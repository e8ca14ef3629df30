//! `ipc-bench pick DIR --rate R [--p99 T] [--cpu C] [--memory M]
//! [--codec-share S]`: the cases of a results set that meet a service's
//! constraints at its rate, ranked, and why each other one was left out.
//! Exit 0 when some case meets them, 1 when none does, 2 for bad input.

use super::CliError;
use crate::cli::args::PickArgs;
use crate::cli::spec::UsageError;
use crate::report::pick::{self, Constraints};
use crate::report::results;
use crate::report::table::Format;

pub fn pick(args: &PickArgs) -> Result<(), CliError> {
    let dir = args.dir.clone().unwrap_or_else(|| args.results_dir.clone());
    let loaded =
        results::load(std::slice::from_ref(&dir)).map_err(|e| UsageError(format!("{e:#}")))?;
    let results: Vec<_> = loaded.into_iter().map(|l| l.result).collect();
    let constraints = Constraints {
        rate: args.rate.0,
        p99_ns: args.p99,
        cpu_cores: args.cpu,
        memory_bytes: args.memory,
        codec_share: args.codec_share,
    };
    let pick = pick::pick(&results, constraints).map_err(|accepted| {
        UsageError(format!(
            "invalid value '{}' for --rate: {} holds no case at that rate; {accepted}",
            constraints.rate_text(),
            dir.display()
        ))
    })?;
    let cases = pick.fits.len() + pick.left_out.len();
    println!(
        "pick at {}: {} ({} of {cases} cases at this rate in {})",
        constraints.rate_text(),
        constraints.describe(),
        pick.fits.len(),
        dir.display()
    );
    if !pick.fits.is_empty() {
        print!("{}", pick::table(&pick).render(Format::Table));
    }
    for line in pick::explain(&pick) {
        println!("{line}");
    }
    match pick.fits.is_empty() {
        true => Err(CliError::Reported),
        false => Ok(()),
    }
}
