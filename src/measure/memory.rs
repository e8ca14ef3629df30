//! Reading the memory a case holds: this process's peak resident memory
//! (`VmHWM`, reset as a round starts by writing `5` to
//! `/proc/self/clear_refs`), and the buffers a transport opened: the file
//! descriptors and shared mappings that are new since a look before it
//! connected, each sized the kernel's way (a socket's granted buffers, a
//! pipe's size, a queue's messages times their size, a mapping's length).
//! Linux only, through `/proc`; elsewhere the peak comes from `getrusage`
//! (a whole life's, so a parent's is not recorded) and buffers are `None`.

use crate::record::{BufferKind, TransportBuffer};

/// Starts this process's peak resident memory afresh; whether it could.
pub fn reset_peak() -> bool {
    #[cfg(target_os = "linux")]
    {
        std::fs::write("/proc/self/clear_refs", "5").is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// This process's peak resident memory, in bytes: since the last
/// [`reset_peak`] on Linux, over its life elsewhere.
pub fn peak_bytes() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        kib.checked_mul(1024)
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        // SAFETY: getrusage writes only into the struct it is given, which
        // is a zeroed, properly aligned rusage owned by this frame.
        let usage = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            (libc::getrusage(libc::RUSAGE_SELF, &mut usage) == 0).then_some(usage)
        }?;
        let max = u64::try_from(usage.ru_maxrss).ok()?;
        // macOS reports bytes; the BSDs kilobytes.
        match cfg!(target_os = "macos") {
            true => Some(max),
            false => max.checked_mul(1024),
        }
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The descriptors and shared mappings this process holds at one moment.
pub struct Holdings {
    /// Each open descriptor and what it points at (`socket:[77]`).
    fds: Vec<(i32, String)>,
    /// Each shared mapping: start, end, and the file mapped.
    maps: Vec<(u64, u64, String)>,
}

impl Holdings {
    /// What this process holds now; `None` where it cannot be read.
    pub fn now() -> Option<Holdings> {
        proc::holdings()
    }

    /// These holdings without descriptors `fds`: the ones a look before
    /// should count as new (a child whose STDIN and STDOUT are its
    /// transport's pipes).
    pub fn without(mut self, fds: &[i32]) -> Holdings {
        self.fds.retain(|(fd, _)| !fds.contains(fd));
        self
    }

    /// The buffers held now and not in `before`, sized: what a transport
    /// opened in between. A buffer reached through two descriptors (or a
    /// file mapped twice) counts once.
    pub fn buffers_since(&self, before: &Holdings) -> Vec<TransportBuffer> {
        let mut out: Vec<TransportBuffer> = Vec::new();
        for (fd, target) in &self.fds {
            if before.fds.contains(&(*fd, target.clone())) {
                continue;
            }
            for (kind, bytes) in proc::sized(*fd, target) {
                if !out.iter().any(|b| b.kind == kind && b.of == *target) {
                    out.push(TransportBuffer {
                        kind,
                        of: target.clone(),
                        bytes,
                    });
                }
            }
        }
        let mut shared: Vec<(String, u64)> = Vec::new();
        for (start, end, path) in &self.maps {
            if before.maps.contains(&(*start, *end, path.clone())) {
                continue;
            }
            let len = end.saturating_sub(*start);
            match shared.iter_mut().find(|(p, _)| p == path) {
                // One file mapped as several ranges: their lengths add up.
                Some((_, total)) => *total += len,
                None => shared.push((path.clone(), len)),
            }
        }
        out.extend(shared.into_iter().map(|(of, bytes)| TransportBuffer {
            kind: BufferKind::SharedMemory,
            of,
            bytes,
        }));
        out
    }
}

/// Reading descriptors and mappings from Linux's `/proc`; elsewhere nothing.
mod proc {
    use super::Holdings;
    use crate::record::BufferKind;

    #[cfg(target_os = "linux")]
    pub fn holdings() -> Option<Holdings> {
        let fds = std::fs::read_dir("/proc/self/fd")
            .ok()?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let fd: i32 = e.file_name().to_str()?.parse().ok()?;
                let target = std::fs::read_link(e.path()).ok()?;
                Some((fd, target.to_string_lossy().into_owned()))
            })
            .collect();
        let maps = std::fs::read_to_string("/proc/self/maps")
            .ok()?
            .lines()
            .filter_map(shared_mapping)
            .collect();
        Some(Holdings { fds, maps })
    }

    #[cfg(not(target_os = "linux"))]
    pub fn holdings() -> Option<Holdings> {
        None
    }

    /// One `/proc/self/maps` line, when it is a shared mapping of a file:
    /// `7f00-7f80 rw-s 00000000 00:1a 123 /dev/shm/name`.
    pub fn shared_mapping(line: &str) -> Option<(u64, u64, String)> {
        let mut fields = line.split_whitespace();
        let (start, end) = fields.next()?.split_once('-')?;
        let perms = fields.next()?;
        if perms.as_bytes().get(3) != Some(&b's') {
            return None;
        }
        // offset, device, inode, then the path (which may hold spaces).
        let path = fields.skip(3).collect::<Vec<_>>().join(" ");
        Some((
            u64::from_str_radix(start, 16).ok()?,
            u64::from_str_radix(end, 16).ok()?,
            path,
        ))
    }

    /// The buffers behind descriptor `fd`, by what it points at.
    #[cfg(target_os = "linux")]
    pub fn sized(fd: i32, target: &str) -> Vec<(BufferKind, u64)> {
        if target.starts_with("socket:") {
            [
                (BufferKind::SocketSend, libc::SO_SNDBUF),
                (BufferKind::SocketReceive, libc::SO_RCVBUF),
            ]
            .into_iter()
            .filter_map(|(kind, option)| Some((kind, socket_option(fd, option)?)))
            .collect()
        } else if target.starts_with("pipe:") {
            // SAFETY: F_GETPIPE_SZ reads a size and touches no memory of ours.
            let size = unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) };
            u64::try_from(size)
                .ok()
                .map(|s| vec![(BufferKind::Pipe, s)])
                .unwrap_or_default()
        } else {
            // A POSIX message queue's descriptor points at its name; any
            // other descriptor makes mq_getattr fail (EBADF), and is skipped.
            // SAFETY: mq_getattr writes only into the attr struct given, a
            // zeroed mq_attr owned by this frame.
            let attr = unsafe {
                let mut attr: libc::mq_attr = std::mem::zeroed();
                (libc::mq_getattr(fd, &mut attr) == 0).then_some(attr)
            };
            attr.and_then(|a| {
                let bytes = u64::try_from(a.mq_maxmsg)
                    .ok()?
                    .checked_mul(u64::try_from(a.mq_msgsize).ok()?)?;
                Some(vec![(BufferKind::MessageQueue, bytes)])
            })
            .unwrap_or_default()
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub fn sized(_fd: i32, _target: &str) -> Vec<(BufferKind, u64)> {
        Vec::new()
    }

    #[cfg(target_os = "linux")]
    fn socket_option(fd: i32, option: libc::c_int) -> Option<u64> {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: the kernel writes at most `len` bytes into `value`, an int
        // of exactly that size owned by this frame.
        let ok = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                option,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        } == 0;
        ok.then(|| u64::try_from(value).ok()).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_mappings_are_read_from_maps_lines() {
        assert_eq!(
            proc::shared_mapping("7f0000-7f8000 rw-s 00000000 00:1a 123 /dev/shm/a b"),
            Some((0x7f0000, 0x7f8000, "/dev/shm/a b".to_string()))
        );
        assert_eq!(
            proc::shared_mapping("7f0000-7f8000 rw-p 00000000 00:00 0 [heap]"),
            None
        );
        assert_eq!(proc::shared_mapping("garbage"), None);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn what_opens_between_two_looks_is_found_and_sized() {
        use std::os::fd::AsRawFd;
        let before = Holdings::now().unwrap();
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let file = tempfile::tempfile().unwrap();
        file.set_len(64 * 1024).unwrap();
        // SAFETY: a fresh shared mapping of a file this test owns, unmapped
        // below, and never read or written through.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                64 * 1024,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        assert_ne!(map, libc::MAP_FAILED);
        let found = Holdings::now().unwrap().buffers_since(&before);
        // SAFETY: the mapping made above, with its length.
        unsafe { libc::munmap(map, 64 * 1024) };
        let target = std::fs::read_link(format!("/proc/self/fd/{}", a.as_raw_fd())).unwrap();
        let target = target.to_string_lossy();
        let send = found
            .iter()
            .find(|b| b.kind == BufferKind::SocketSend && b.of == target)
            .unwrap_or_else(|| panic!("{found:?}"));
        assert!(send.bytes > 0);
        assert!(found
            .iter()
            .any(|b| b.kind == BufferKind::SharedMemory && b.bytes == 64 * 1024));
    }
}
