//! A kernel baseline: two anonymous pipes, one per direction, messages framed
//! with a length prefix. The child inherits its two ends across `exec`
//! (their descriptor numbers travel in the handshake). They are pipes of
//! their own rather than the child's STDIN/STDOUT, which carry the
//! handshake and the child's reports.

use super::stream::Framed;
use super::{Options, Transport, TransportError};
use crate::measure::liveness::Liveness;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// No settings of its own.
pub type Flags = super::NoFlags;
/// No variants to choose in a matrix.
pub type MatrixFlags = super::NoFlags;

#[derive(Debug, Serialize, Deserialize)]
pub struct Setup {
    /// The child reads from this descriptor and writes to the other.
    read_fd: RawFd,
    write_fd: RawFd,
}

pub struct Pipe {
    framed: Framed<File, File>,
}

/// All four ends until the child has started; then the parent keeps its two.
pub struct Listener {
    parent_read: OwnedFd,
    parent_write: OwnedFd,
    child_read: OwnedFd,
    child_write: OwnedFd,
}

/// A pipe whose ends are closed on exec unless `inherit` says otherwise.
fn pipe() -> Result<(OwnedFd, OwnedFd), TransportError> {
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
fn set_cloexec(fd: &OwnedFd, cloexec: bool) -> Result<(), TransportError> {
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
fn duplicate(fd: RawFd) -> Result<File, TransportError> {
    // SAFETY: dup(2) has no memory effects; a bad number fails with EBADF.
    let copy = unsafe { libc::dup(fd) };
    if copy < 0 {
        return Err(TransportError::Setup(format!(
            "pipe descriptor {fd} from the parent: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: dup succeeded: `copy` is a new descriptor that only we own.
    let owned = unsafe { OwnedFd::from_raw_fd(copy) };
    set_cloexec(&owned, true)?;
    Ok(File::from(owned))
}

impl Transport for Pipe {
    const NAME: &'static str = "pipe";
    const CHILD_BIN_ENV: &'static str = "PIPE_CHILD_BIN_PATH";

    type Config = ();
    type Setup = Setup;
    type Listener = Listener;

    fn capacity(options: &Options<()>) -> Option<usize> {
        super::stream::capacity(options)
    }

    fn max_window(_options: &Options<()>) -> Option<usize> {
        // A full kernel buffer makes the writer wait.
        None
    }

    fn listen(_options: &Options<()>) -> Result<(Listener, Setup), TransportError> {
        let (child_read, parent_write) = pipe()?;
        let (parent_read, child_write) = pipe()?;
        // Only the child's ends cross exec; ours must not, or the child would
        // hold a write end of its own input and never see it close.
        set_cloexec(&parent_read, true)?;
        set_cloexec(&parent_write, true)?;
        set_cloexec(&child_read, false)?;
        set_cloexec(&child_write, false)?;
        let setup = Setup {
            read_fd: child_read.as_raw_fd(),
            write_fd: child_write.as_raw_fd(),
        };
        let listener = Listener {
            parent_read,
            parent_write,
            child_read,
            child_write,
        };
        Ok((listener, setup))
    }

    fn accept(
        listener: Listener,
        options: &Options<()>,
        _liveness: &mut Liveness,
        _timeout: Duration,
    ) -> Result<Self, TransportError> {
        // The child has its copies now; closing ours lets its death show as
        // end-of-file, and keeps later children from inheriting them.
        drop(listener.child_read);
        drop(listener.child_write);
        Ok(Pipe {
            framed: Framed::new(
                File::from(listener.parent_read),
                File::from(listener.parent_write),
                options.max_message_bytes,
            ),
        })
    }

    fn connect(
        setup: &Setup,
        options: &Options<()>,
        _liveness: &mut Liveness,
    ) -> Result<Self, TransportError> {
        // Copies, not the inherited numbers themselves: in the conformance
        // tests both ends live in one process, and the parent closes the originals.
        Ok(Pipe {
            framed: Framed::new(
                duplicate(setup.read_fd)?,
                duplicate(setup.write_fd)?,
                options.max_message_bytes,
            ),
        })
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        self.framed.send(message)
    }

    fn recv(&mut self, _liveness: &mut Liveness) -> Result<&[u8], TransportError> {
        self.framed.recv()
    }
}
