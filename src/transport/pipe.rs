//! A kernel baseline: two anonymous pipes, one per direction, messages framed
//! with a length prefix. The child inherits its two ends across `exec`
//! (their descriptor numbers travel in the handshake). They are pipes of
//! their own rather than the child's STDIN/STDOUT, which carry the
//! handshake and the child's reports.

use super::fds::{duplicate, pipe, set_cloexec};
use super::stream::Framed;
use super::{Options, Transport, TransportError};
use crate::transport::liveness::Liveness;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
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
