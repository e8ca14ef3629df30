//! Resources a process of ours can leave behind when it is killed before its
//! destructors run: shared-memory regions and the Unix socket's directory.
//! Every such name carries the pid of the process that created it, so a later
//! run can tell a dead owner's leftovers from a live run's and remove only
//! the former.

use std::path::{Path, PathBuf};

/// Every region this tool creates is named `/ipc-bench-<pid>-<tag>-<n>`, and
/// every temporary directory `ipc-bench-<pid>-<random>`. Short on purpose:
/// macOS limits shared-memory names to 31 bytes.
pub const NAME_PREFIX: &str = "ipc-bench-";

/// The prefix for a temporary directory created by this process.
pub fn temp_dir_prefix() -> String {
    format!("{NAME_PREFIX}{}-", std::process::id())
}

/// A resource left behind by a process that no longer exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleResource {
    /// What it is, for messages: "shared-memory region" or "socket directory".
    pub kind: &'static str,
    pub path: PathBuf,
    /// The process that created it.
    pub pid: u32,
}

/// The pid in `ipc-bench-<pid>-...`, if `name` is one of ours.
pub fn creator_pid(name: &str) -> Option<u32> {
    name.trim_start_matches('/')
        .strip_prefix(NAME_PREFIX)?
        .split('-')
        .next()?
        .parse()
        .ok()
}

/// Whether a process with this pid exists (a zombie counts: it may still be
/// reaped by a live parent that owns the resource).
#[cfg(unix)]
pub fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill(2) with signal 0 sends nothing; it only checks that the
    // process exists and may be signalled. No memory is involved.
    let rc = unsafe { libc::kill(pid, 0) };
    // EPERM: it exists but belongs to another user.
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Without a portable way to ask, assume the owner is alive: never remove
/// what might be in use.
#[cfg(not(unix))]
pub fn process_exists(_pid: u32) -> bool {
    true
}

/// Finds resources of ours in `dir` whose creating process is gone, and
/// removes them unless `dry_run`.
fn sweep_dir(
    dir: &Path,
    kind: &'static str,
    dry_run: bool,
    found: &mut Vec<StaleResource>,
) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = creator_pid(&name) else {
            continue;
        };
        if process_exists(pid) {
            continue;
        }
        let path = entry.path();
        if !dry_run {
            let removed = if entry.file_type()?.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            match removed {
                Ok(()) => {}
                // Removed by someone else meanwhile: just as good.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        found.push(StaleResource { kind, path, pid });
    }
    Ok(())
}

/// Finds every resource of ours whose creating process is gone, and removes
/// it unless `dry_run`. Resources of live processes are never touched.
pub fn sweep_stale(dry_run: bool) -> std::io::Result<Vec<StaleResource>> {
    let mut found = Vec::new();
    // Only Linux lists POSIX shared memory as files; elsewhere regions can
    // only be removed by name, which the owner's own cleanup does.
    #[cfg(target_os = "linux")]
    sweep_dir(
        Path::new("/dev/shm"),
        "shared-memory region",
        dry_run,
        &mut found,
    )?;
    sweep_dir(
        &std::env::temp_dir(),
        "socket directory",
        dry_run,
        &mut found,
    )?;
    found.extend(super::sweep_transports_stale(dry_run)?);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_creator_pid() {
        assert_eq!(creator_pid("ipc-bench-1234-rs-0"), Some(1234));
        assert_eq!(creator_pid("/ipc-bench-77-smq-3"), Some(77));
        assert_eq!(creator_pid("ipc-bench-77-Xa3bQ"), Some(77));
        assert_eq!(creator_pid("shmem_ABC"), None);
        assert_eq!(creator_pid("ipc-bench-x-rs-0"), None);
        assert!(temp_dir_prefix().starts_with(&format!("ipc-bench-{}-", std::process::id())));
    }

    #[cfg(unix)]
    #[test]
    fn this_process_exists_and_an_impossible_pid_does_not() {
        assert!(process_exists(std::process::id()));
        assert!(!process_exists(999_999_999));
        assert!(!process_exists(0));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn leftovers_of_dead_processes_are_swept_and_live_ones_kept() {
        // A pid far above pid_max cannot belong to a live process.
        let dead_region = "ipc-bench-999999998-test-0";
        std::fs::write(format!("/dev/shm/{dead_region}"), b"").unwrap();
        let dead_dir = std::env::temp_dir().join("ipc-bench-999999998-sweeptest");
        std::fs::create_dir_all(&dead_dir).unwrap();
        std::fs::write(dead_dir.join("socket"), b"").unwrap();
        let live_region = super::super::shm_region::Region::create("test", 64).unwrap();
        let live_dir = tempfile::Builder::new()
            .prefix(&temp_dir_prefix())
            .tempdir()
            .unwrap();

        let dry = sweep_stale(true).unwrap();
        assert!(dry.iter().any(|s| s.path.ends_with(dead_region)), "{dry:?}");
        assert!(
            Path::new(&format!("/dev/shm/{dead_region}")).exists(),
            "a dry run removed something"
        );

        let found = sweep_stale(false).unwrap();
        assert!(
            found
                .iter()
                .any(|s| s.path.ends_with(dead_region) && s.pid == 999_999_998),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|s| s.path == dead_dir && s.kind == "socket directory"),
            "{found:?}"
        );
        assert!(!Path::new(&format!("/dev/shm/{dead_region}")).exists());
        assert!(!dead_dir.exists());
        assert!(
            super::super::shm_region::Region::open(live_region.os_id(), 64).is_ok(),
            "a live region was swept"
        );
        assert!(live_dir.path().exists(), "a live directory was swept");
    }
}
