//! `ipc-bench clean`: remove what dead ipc-bench processes left, and say
//! what was left alone.

use super::CliError;
use crate::transport;

pub fn clean(dry_run: bool) -> Result<(), CliError> {
    let report = transport::sweep_stale(dry_run)
        .map_err(|e| CliError::Failed(anyhow::anyhow!("cannot sweep stale resources: {e}")))?;
    if report.removed.is_empty() {
        println!("nothing stale: no shared-memory region, socket directory or transport resource of a dead process");
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    for resource in &report.removed {
        println!(
            "{verb} {} {} (its process {} no longer exists)",
            resource.kind,
            resource.path.display(),
            resource.pid
        );
    }
    for left in &report.left_alone {
        println!("left alone {}: {}", left.path.display(), left.why);
    }
    Ok(())
}
