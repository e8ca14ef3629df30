//! A kernel baseline: a Unix-domain stream socket, messages framed with a
//! length prefix. The socket file lives in a directory of its own inside this
//! user's private directory (`$TMPDIR/ipc-bench.<uid>/<pid>-<random>/socket`,
//! see `stale`), removed as soon as the child has connected (or the run ends).

use super::stream::{accept_socket, framed_socket, Framed};
use super::{Options, Transport, TransportError};
use crate::transport::liveness::Liveness;
use serde::{Deserialize, Serialize};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::Duration;

/// No settings of its own.
pub type Flags = super::NoFlags;
/// No variants to choose in a matrix.
pub type MatrixFlags = super::NoFlags;

#[derive(Debug, Serialize, Deserialize)]
pub struct Setup {
    path: PathBuf,
}

pub struct UnixSocket {
    framed: Framed<UnixStream, UnixStream>,
}

pub struct Listener {
    listener: UnixListener,
    /// Holds the socket file; dropping it removes both.
    _dir: tempfile::TempDir,
}

impl Transport for UnixSocket {
    const NAME: &'static str = "unix-socket";
    const CHILD_BIN_ENV: &'static str = "UNIX_SOCKET_CHILD_BIN_PATH";

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
        let dir = super::stale::new_socket_dir().map_err(TransportError::io(
            "creating a directory for the Unix socket",
        ))?;
        let path = dir.path().join(super::stale::SOCKET_FILE);
        let listener =
            UnixListener::bind(&path).map_err(TransportError::io("binding the Unix socket"))?;
        Ok((
            Listener {
                listener,
                _dir: dir,
            },
            Setup { path },
        ))
    }

    fn accept(
        listener: Listener,
        options: &Options<()>,
        liveness: &mut Liveness,
        timeout: Duration,
    ) -> Result<Self, TransportError> {
        let stream = accept_socket(&listener.listener, liveness, timeout)?;
        // `listener` drops here: the socket file and its directory go.
        Ok(UnixSocket {
            framed: framed_socket(stream, options)?,
        })
    }

    fn connect(
        setup: &Setup,
        options: &Options<()>,
        _liveness: &mut Liveness,
    ) -> Result<Self, TransportError> {
        let stream = UnixStream::connect(&setup.path)
            .map_err(TransportError::io("connecting to the parent's Unix socket"))?;
        Ok(UnixSocket {
            framed: framed_socket(stream, options)?,
        })
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        self.framed.send(message)
    }

    fn recv(&mut self, _liveness: &mut Liveness) -> Result<&[u8], TransportError> {
        self.framed.recv()
    }
}
