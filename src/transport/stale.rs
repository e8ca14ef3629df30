//! Resources a process of ours can leave behind when it is killed before its
//! destructors run: shared-memory regions and the Unix socket's directory,
//! and the sweep that removes them once their creator is gone.
//!
//! The sweep removes only what it can prove this tool created, so that a
//! user's file or directory with a look-alike name always survives:
//!
//! - **Socket directories** live in one private directory per user,
//!   `$TMPDIR/ipc-bench.<uid>/` (created mode 0700, owned by this user, never
//!   a symlink; any other state is refused, not repaired). Each is named
//!   `<pid>-<6 random letters or digits>` and may hold one socket called
//!   `socket` and nothing else. Nothing outside the private directory is ever
//!   looked at, and a directory holding anything else is reported, not
//!   removed (no recursive removal anywhere).
//! - **Regions** are named `ipc-bench-<pid>-<tag>-<6 random letters or
//!   digits>` and begin with a header carrying [`REGION_MAGIC`] (see
//!   `shm_region`). Only a regular file of that exact name shape, owned by
//!   this user, whose header carries the magic, is removed; a look-alike is
//!   reported when its name has our exact shape, ignored otherwise.
//!
//! Either way the `<pid>` must name a process that no longer exists.

use std::path::{Path, PathBuf};

/// Every region this tool creates is named `/ipc-bench-<pid>-<tag>-<random>`.
/// Short on purpose: macOS limits shared-memory names to 31 bytes.
pub const NAME_PREFIX: &str = "ipc-bench-";

/// Length of the random part of every name (tempfile's default as well).
pub const RANDOM_LEN: usize = 6;

/// What the first bytes of every region of ours hold, written by its creator
/// before anyone else learns its name.
pub const REGION_MAGIC: &[u8; 16] = b"ipc-bench region";

/// The name of the socket inside a socket directory.
pub const SOCKET_FILE: &str = "socket";

/// A random part for a name: [`RANDOM_LEN`] ASCII letters and digits.
pub fn random_suffix() -> String {
    (0..RANDOM_LEN).map(|_| fastrand::alphanumeric()).collect()
}

pub(super) fn is_random_part(s: &str) -> bool {
    s.len() == RANDOM_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub(super) fn parse_pid(s: &str) -> Option<u32> {
    // Digits only: `parse` would also take a leading '+'.
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The creator's pid, if `name` has exactly the shape of one of our region
/// names: `ipc-bench-<pid>-<tag>-<random>`, the tag 1 to 8 lowercase letters.
pub fn region_creator(name: &str) -> Option<u32> {
    let rest = name.trim_start_matches('/').strip_prefix(NAME_PREFIX)?;
    let mut parts = rest.split('-');
    let (pid, tag, random) = (parts.next()?, parts.next()?, parts.next()?);
    let tag_ok = (1..=8).contains(&tag.len()) && tag.bytes().all(|b| b.is_ascii_lowercase());
    if parts.next().is_some() || !tag_ok || !is_random_part(random) {
        return None;
    }
    parse_pid(pid)
}

/// The creator's pid, if `name` has exactly the shape of one of our socket
/// directories inside the private directory: `<pid>-<random>`.
pub fn socket_dir_creator(name: &str) -> Option<u32> {
    let (pid, random) = name.split_once('-')?;
    if !is_random_part(random) {
        return None;
    }
    parse_pid(pid)
}

/// The name a new socket directory of this process starts with; tempfile
/// adds the random part.
pub fn socket_dir_prefix() -> String {
    format!("{}-", std::process::id())
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

/// Something named like ours that the sweep could not prove is ours, so left
/// where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftAlone {
    pub path: PathBuf,
    pub why: String,
}

/// What a sweep found: what it removed (or would remove, in a dry run) and
/// what it left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub removed: Vec<StaleResource>,
    pub left_alone: Vec<LeftAlone>,
}

impl SweepReport {
    fn leave(&mut self, path: PathBuf, why: impl Into<String>) {
        self.left_alone.push(LeftAlone {
            path,
            why: why.into(),
        });
    }
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

#[cfg(unix)]
pub(super) fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// This user's private directory for socket directories:
/// `$TMPDIR/ipc-bench.<uid>`.
#[cfg(unix)]
pub fn private_dir() -> PathBuf {
    std::env::temp_dir().join(format!("ipc-bench.{}", effective_uid()))
}

/// Why `meta` is not a private directory of this user, if it is not.
#[cfg(unix)]
fn not_private(meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    if meta.file_type().is_symlink() {
        Some("it is a symbolic link".into())
    } else if !meta.is_dir() {
        Some("it is not a directory".into())
    } else if meta.uid() != effective_uid() {
        Some(format!(
            "it belongs to uid {}, not to this user ({})",
            meta.uid(),
            effective_uid()
        ))
    } else if meta.mode() & 0o077 != 0 {
        Some(format!(
            "others may use it (mode {:o}, expected 700)",
            meta.mode() & 0o777
        ))
    } else {
        None
    }
}

/// A fresh directory for one socket inside this user's private directory,
/// named with our pid so a later run can remove it if we are killed; the
/// socket's path in it is [`SOCKET_FILE`]. Dropping it removes both.
#[cfg(unix)]
pub fn new_socket_dir() -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&socket_dir_prefix())
        .rand_bytes(RANDOM_LEN)
        .tempdir_in(ensure_private_dir()?)
}

/// Creates this user's private directory if needed and checks it is one:
/// a real directory, owned by this user, accessible to no one else.
#[cfg(unix)]
pub fn ensure_private_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = private_dir();
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = std::fs::symlink_metadata(&dir)?;
    match not_private(&meta) {
        None => Ok(dir),
        Some(why) => Err(std::io::Error::other(format!(
            "refusing to use {} for sockets: {why}; remove it or set TMPDIR elsewhere",
            dir.display()
        ))),
    }
}

/// Reads the first bytes of a would-be region and compares them with the magic.
#[cfg(target_os = "linux")]
fn has_region_magic(path: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut head = [0u8; REGION_MAGIC.len()];
    let mut file = std::fs::File::open(path)?;
    match file.read_exact(&mut head) {
        Ok(()) => Ok(&head == REGION_MAGIC),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes `path`, treating "already gone" as done.
fn remove_file_if_there(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Regions of dead processes in `/dev/shm`.
#[cfg(target_os = "linux")]
fn sweep_regions(dir: &Path, dry_run: bool, report: &mut SweepReport) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = region_creator(&name) else {
            continue;
        };
        if process_exists(pid) {
            continue;
        }
        let path = entry.path();
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if !meta.file_type().is_file() {
            report.leave(path, "named like a region of ours, but not a regular file");
            continue;
        }
        if meta.uid() != effective_uid() {
            report.leave(
                path,
                format!(
                    "named like a region of ours, but owned by uid {}",
                    meta.uid()
                ),
            );
            continue;
        }
        if !has_region_magic(&path)? {
            report.leave(
                path,
                "named like a region of ours, but without ipc-bench's header",
            );
            continue;
        }
        if !dry_run {
            remove_file_if_there(&path)?;
        }
        report.removed.push(StaleResource {
            kind: "shared-memory region",
            path,
            pid,
        });
    }
    Ok(())
}

/// Socket directories of dead processes in the private directory.
#[cfg(unix)]
fn sweep_socket_dirs(dry_run: bool, report: &mut SweepReport) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let root = private_dir();
    let root_meta = match std::fs::symlink_metadata(&root) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if let Some(why) = not_private(&root_meta) {
        report.leave(root, format!("not ipc-bench's private directory: {why}"));
        return Ok(());
    }
    for entry in std::fs::read_dir(&root)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = socket_dir_creator(&name) else {
            report.leave(path, "not named like a socket directory of ours");
            continue;
        };
        if process_exists(pid) {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path)?;
        if !meta.is_dir() || meta.file_type().is_symlink() {
            report.leave(path, "named like a socket directory, but not a directory");
            continue;
        }
        // Ours holds our socket and nothing else, or nothing at all.
        let mut socket = None;
        let mut unexpected = Vec::new();
        for inner in std::fs::read_dir(&path)? {
            let inner = inner?;
            let is_socket = inner.file_type()?.is_socket();
            if inner.file_name() == SOCKET_FILE && is_socket {
                socket = Some(inner.path());
            } else {
                unexpected.push(inner.file_name().to_string_lossy().into_owned());
            }
        }
        if !unexpected.is_empty() {
            report.leave(
                path,
                format!(
                    "a socket directory holds only a socket, this one also holds: {}",
                    unexpected.join(", ")
                ),
            );
            continue;
        }
        if !dry_run {
            if let Some(socket) = &socket {
                remove_file_if_there(socket)?;
            }
            match std::fs::remove_dir(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        report.removed.push(StaleResource {
            kind: "socket directory",
            path,
            pid,
        });
    }
    Ok(())
}

/// Finds every resource of ours whose creating process is gone, and removes
/// it unless `dry_run`. Resources of live processes, and anything not proven
/// ours, are never touched.
pub fn sweep_stale(dry_run: bool) -> std::io::Result<SweepReport> {
    let mut report = SweepReport::default();
    // Only Linux lists POSIX shared memory as files; elsewhere regions can
    // only be removed by name, which the owner's own cleanup does.
    #[cfg(target_os = "linux")]
    sweep_regions(Path::new("/dev/shm"), dry_run, &mut report)?;
    #[cfg(unix)]
    sweep_socket_dirs(dry_run, &mut report)?;
    report
        .removed
        .extend(super::sweep_transports_stale(dry_run)?);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_exact_name_shapes_carry_a_creator() {
        assert_eq!(region_creator("ipc-bench-1234-rs-a1B2c3"), Some(1234));
        assert_eq!(region_creator("/ipc-bench-77-smq-XXXXXX"), Some(77));
        for foreign in [
            "shmem_ABC",
            "ipc-bench-x-rs-a1B2c3",
            "ipc-bench-99999-notes",
            "ipc-bench-2024-results",
            "ipc-bench-1234-rs-0",
            "ipc-bench-1234-rs-a1B2c3-old",
            "ipc-bench-+12-rs-a1B2c3",
            "ipc-bench-12-RS-a1B2c3",
            "ipc-bench-12--a1B2c3",
        ] {
            assert_eq!(region_creator(foreign), None, "{foreign}");
        }
        assert_eq!(socket_dir_creator("4242-Ab3dE9"), Some(4242));
        for foreign in ["2024-results", "99999-my-notes", "12-abc", "x-Ab3dE9", "12"] {
            assert_eq!(socket_dir_creator(foreign), None, "{foreign}");
        }
        let suffix = random_suffix();
        assert!(is_random_part(&suffix), "{suffix}");
        assert!(socket_dir_creator(&format!("{}{suffix}", socket_dir_prefix())).is_some());
    }

    #[cfg(unix)]
    #[test]
    fn this_process_exists_and_an_impossible_pid_does_not() {
        assert!(process_exists(std::process::id()));
        assert!(!process_exists(999_999_999));
        assert!(!process_exists(0));
    }

    /// Regions in /dev/shm: the real leftover of a dead process goes, every
    /// look-alike stays. (Socket directories are checked end to end, with a
    /// private TMPDIR, in `tests/cli.rs`.)
    #[cfg(target_os = "linux")]
    #[test]
    fn only_proven_regions_of_dead_processes_are_swept() {
        use std::os::unix::fs::PermissionsExt;
        // A pid far above pid_max cannot belong to a live process.
        let dead = |tag: &str| format!("/dev/shm/ipc-bench-999999998-{tag}-{}", random_suffix());
        let mut ours = REGION_MAGIC.to_vec();
        ours.resize(4096, 0);
        let real = dead("test");
        std::fs::write(&real, &ours).unwrap();
        let no_header = dead("test");
        std::fs::write(&no_header, b"a user's notes").unwrap();
        let wrong_shape = "/dev/shm/ipc-bench-999999998-notes".to_string();
        std::fs::write(&wrong_shape, &ours).unwrap();
        let as_dir = dead("test");
        std::fs::create_dir(&as_dir).unwrap();
        // Owned by someone else: only root can give a file away.
        let foreign = dead("test");
        std::fs::write(&foreign, &ours).unwrap();
        std::fs::set_permissions(&foreign, std::fs::Permissions::from_mode(0o644)).unwrap();
        let foreign_owned = effective_uid() == 0 && {
            let c = std::ffi::CString::new(foreign.as_str()).unwrap();
            // SAFETY: a valid NUL-terminated path; chown touches no memory of ours.
            unsafe { libc::chown(c.as_ptr(), 65534, 65534) == 0 }
        };
        let live = super::super::shm_region::Region::create("test", 64).unwrap();

        let dry = sweep_stale(true).unwrap();
        let listed = |report: &SweepReport, path: &str| {
            report.removed.iter().any(|s| s.path == Path::new(path))
        };
        let left = |report: &SweepReport, path: &str| {
            report.left_alone.iter().any(|s| s.path == Path::new(path))
        };
        assert!(listed(&dry, &real), "{dry:?}");
        assert!(Path::new(&real).exists(), "a dry run removed something");
        let found = sweep_stale(false).unwrap();
        assert!(listed(&found, &real), "{found:?}");
        assert!(!Path::new(&real).exists(), "the real leftover stayed");
        let mut survivors = vec![&no_header, &wrong_shape, &as_dir];
        if foreign_owned {
            survivors.push(&foreign);
        }
        for report in [&dry, &found] {
            for path in &survivors {
                assert!(
                    !listed(report, path),
                    "{path} listed for removal: {report:?}"
                );
            }
            assert!(
                left(report, &no_header) && left(report, &as_dir),
                "{report:?}"
            );
            assert!(!left(report, &wrong_shape), "{report:?}");
        }
        for path in survivors {
            assert!(Path::new(path).exists(), "{path} was removed");
        }
        assert!(
            super::super::shm_region::Region::open(live.os_id(), 64).is_ok(),
            "a live region was swept"
        );
        for path in [&no_header, &wrong_shape, &foreign] {
            let _ = std::fs::remove_file(path);
        }
        std::fs::remove_dir(&as_dir).unwrap();
    }
}
