//! Descriptors that cross `exec`: pipes, close-on-exec, and private copies
//! of descriptors a parent named (the pipe and stdio transports, and the
//! stdio child's control channels).

use super::TransportError;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A pipe whose ends are closed on exec unless `inherit` says otherwise.
pub fn pipe() -> Result<(OwnedFd, OwnedFd), TransportError> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(TransportError::io("creating a pipe")(
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: pipe(2) succeeded, so both are open descriptors owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Sets or clears close-on-exec on `fd`.
pub fn set_cloexec(fd: &OwnedFd, cloexec: bool) -> Result<(), TransportError> {
    let raw = fd.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own; F_GETFD/F_SETFD touch only its flags.
    let ok = unsafe {
        let flags = libc::fcntl(raw, libc::F_GETFD);
        let flags = if cloexec {
            flags | libc::FD_CLOEXEC
        } else {
            flags & !libc::FD_CLOEXEC
        };
        flags >= 0 && libc::fcntl(raw, libc::F_SETFD, flags) == 0
    };
    if ok {
        Ok(())
    } else {
        Err(TransportError::io("setting close-on-exec")(
            std::io::Error::last_os_error(),
        ))
    }
}

/// A private copy of a descriptor named in the handshake, closed on exec.
pub fn duplicate(fd: RawFd) -> Result<File, TransportError> {
    // SAFETY: dup(2) has no memory effects; a bad number fails with EBADF.
    let copy = unsafe { libc::dup(fd) };
    if copy < 0 {
        return Err(TransportError::Setup(format!(
            "descriptor {fd} from the parent: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: dup succeeded: `copy` is a new descriptor that only we own.
    let owned = unsafe { OwnedFd::from_raw_fd(copy) };
    set_cloexec(&owned, true)?;
    Ok(File::from(owned))
}
