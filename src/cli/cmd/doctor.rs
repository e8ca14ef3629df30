//! `ipc-bench doctor`: what on this machine makes figures noisy, with
//! advice, in the spirit of `pyperf system show`.

use super::CliError;
use crate::cli::args::DoctorArgs;
use crate::measure::environment::Probe;
use crate::measure::machine;
use crate::report::table::{Entry, Format, Table};

pub fn doctor(args: &DoctorArgs) -> Result<(), CliError> {
    let probe = Probe::start();
    std::thread::sleep(std::time::Duration::from_secs_f64(args.watch));
    let environment = probe.finish(None);
    let mut table = Table::new(["Check", "Here", "Advice"]);
    let mut advice = 0;
    for (check, value, hint) in environment.report() {
        advice += usize::from(hint.is_some());
        table.push(vec![
            Entry::text(check),
            Entry::text(value),
            Entry::text(hint.unwrap_or_else(|| "ok".into())),
        ]);
    }
    if machine::build_profile() == "debug" {
        advice += 1;
        table.push(vec![
            Entry::text("build"),
            Entry::text("debug"),
            Entry::text(crate::report::summary::DEBUG_BUILD_WARNING),
        ]);
    }
    println!(
        "What affects ipc-bench's figures on this machine (watched for {} s):",
        args.watch
    );
    print!("{}", table.render(Format::Table));
    println!(
        "{}Every figure is a median over rounds with a 95 % interval; on a noisy machine keep the default rounds, pin with --pin cross, and trust only differences whose intervals do not overlap (compare says `inconclusive` otherwise).",
        if advice == 0 {
            "Nothing here should disturb the figures. "
        } else {
            ""
        }
    );
    Ok(())
}
