//! ipc-channel's byte channels (`IpcBytesSender` / `IpcBytesReceiver`): Unix
//! sockets with descriptor passing on Linux, Mach ports on macOS.
//!
//! The byte channels carry the codec's output untouched; ipc-channel's typed
//! channels would serialize with its own format, which would make every codec
//! look the same.

use super::{Options, Transport, TransportError};
use crate::transport::liveness::Liveness;
use ipc_channel::ipc::{self, IpcBytesReceiver, IpcBytesSender, IpcOneShotServer, IpcSender};
use ipc_channel::IpcError;
use serde::{Deserialize, Serialize};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What the child hands the parent through the one-shot server: the parent's
/// sending end towards the child, and its receiving end from the child.
type Bootstrap = (IpcBytesSender, IpcBytesReceiver);

/// No settings of its own.
pub type Flags = super::NoFlags;
/// No variants to choose in a matrix.
pub type MatrixFlags = super::NoFlags;

#[derive(Debug, Serialize, Deserialize)]
pub struct Setup {
    /// The name of the parent's one-shot server.
    server_name: String,
}

pub struct Ipcc {
    sender: IpcBytesSender,
    receiver: IpcBytesReceiver,
    /// The last message received; ipc-channel hands out a fresh Vec each time.
    last: Vec<u8>,
}

impl Transport for Ipcc {
    const NAME: &'static str = "ipcc";
    const CHILD_BIN_ENV: &'static str = "IPCC_CHILD_BIN_PATH";

    type Config = ();
    type Setup = Setup;
    type Listener = IpcOneShotServer<Bootstrap>;

    fn capacity(_options: &Options<()>) -> Option<usize> {
        // ipc-channel fragments large messages itself.
        None
    }

    fn max_window(_options: &Options<()>) -> Option<usize> {
        // Unbounded on the crate's side; a full kernel buffer makes the writer wait.
        None
    }

    fn listen(_options: &Options<()>) -> Result<(Self::Listener, Setup), TransportError> {
        let (server, server_name) = IpcOneShotServer::new().map_err(TransportError::io(
            "creating the ipc-channel one-shot server",
        ))?;
        let setup = Setup { server_name };
        Ok((server, setup))
    }

    fn accept(
        listener: Self::Listener,
        _options: &Options<()>,
        liveness: &mut Liveness,
        timeout: Duration,
    ) -> Result<Self, TransportError> {
        // IpcOneShotServer::accept has no timeout, so it runs on a helper
        // thread while this one watches the child and the clock. If the child
        // never connects, the helper stays blocked until the process exits,
        // which it is about to do with an error.
        let (done, result) = mpsc::channel();
        std::thread::Builder::new()
            .name("ipcc-accept".into())
            .spawn(move || {
                let _ = done.send(listener.accept());
            })
            .map_err(TransportError::io("starting the accept thread"))?;
        let deadline = Instant::now() + timeout;
        loop {
            match result.recv_timeout(Duration::from_millis(20)) {
                Ok(Ok((_bootstrap_receiver, (sender, receiver)))) => {
                    return Ok(Ipcc {
                        sender,
                        receiver,
                        last: Vec::new(),
                    })
                }
                Ok(Err(e)) => return Err(map_ipc_error(e)),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(TransportError::Disconnected)
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    liveness.check_now()?;
                    if Instant::now() >= deadline {
                        return Err(TransportError::Timeout(timeout));
                    }
                }
            }
        }
    }

    fn connect(
        setup: &Setup,
        _options: &Options<()>,
        _liveness: &mut Liveness,
    ) -> Result<Self, TransportError> {
        let (to_child, from_parent) =
            ipc::bytes_channel().map_err(TransportError::io("creating a byte channel"))?;
        let (to_parent, from_child) =
            ipc::bytes_channel().map_err(TransportError::io("creating a byte channel"))?;
        let bootstrap: IpcSender<Bootstrap> = IpcSender::connect(setup.server_name.clone())
            .map_err(TransportError::io(
                "connecting to the parent's one-shot server",
            ))?;
        bootstrap
            .send((to_child, from_child))
            .map_err(map_ipc_error)?;
        Ok(Ipcc {
            sender: to_parent,
            receiver: from_parent,
            last: Vec::new(),
        })
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        self.sender.send(message).map_err(|e| match e.kind() {
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset => {
                TransportError::Disconnected
            }
            _ => TransportError::Io {
                context: "sending over ipc-channel",
                error: e,
            },
        })
    }

    fn recv(&mut self, _liveness: &mut Liveness) -> Result<&[u8], TransportError> {
        // A blocking receive: the peer's death closes its end and wakes us with
        // Disconnected, and after Ctrl-C the parent's watchdog kills the child
        // (the signal handler only raises a flag), so this cannot outlive
        // either process.
        self.last = self.receiver.recv().map_err(map_ipc_error)?;
        Ok(&self.last)
    }
}

fn map_ipc_error(error: IpcError) -> TransportError {
    match error {
        IpcError::Disconnected => TransportError::Disconnected,
        IpcError::Io(error) => TransportError::Io {
            context: "ipc-channel",
            error,
        },
        other => TransportError::Other(other.to_string()),
    }
}
