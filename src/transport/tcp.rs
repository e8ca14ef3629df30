//! A kernel baseline: TCP over loopback, `TCP_NODELAY` on both ends, messages
//! framed with a length prefix.

use super::stream::{accept_socket, framed_socket, Framed};
use super::{Options, Transport, TransportError};
use crate::transport::liveness::Liveness;
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::Duration;

/// No settings of its own.
pub type Flags = super::NoFlags;
/// No variants to choose in a matrix.
pub type MatrixFlags = super::NoFlags;

#[derive(Debug, Serialize, Deserialize)]
pub struct Setup {
    port: u16,
}

pub struct Tcp {
    framed: Framed<TcpStream, TcpStream>,
}

fn setup_stream(stream: TcpStream, options: &Options<()>) -> Result<Tcp, TransportError> {
    stream
        .set_nodelay(true)
        .map_err(TransportError::io("setting TCP_NODELAY"))?;
    Ok(Tcp {
        framed: framed_socket(stream, options)?,
    })
}

impl Transport for Tcp {
    const NAME: &'static str = "tcp";
    const CHILD_BIN_ENV: &'static str = "TCP_CHILD_BIN_PATH";

    type Config = ();
    type Setup = Setup;
    type Listener = TcpListener;

    fn capacity(options: &Options<()>) -> Option<usize> {
        super::stream::capacity(options)
    }

    fn max_window(_options: &Options<()>) -> Option<usize> {
        // A full kernel buffer makes the writer wait.
        None
    }

    fn listen(_options: &Options<()>) -> Result<(TcpListener, Setup), TransportError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(TransportError::io("binding a loopback TCP port"))?;
        let port = listener
            .local_addr()
            .map_err(TransportError::io("reading the TCP port"))?
            .port();
        Ok((listener, Setup { port }))
    }

    fn accept(
        listener: TcpListener,
        options: &Options<()>,
        liveness: &mut Liveness,
        timeout: Duration,
    ) -> Result<Self, TransportError> {
        setup_stream(accept_socket(&listener, liveness, timeout)?, options)
    }

    fn connect(
        setup: &Setup,
        options: &Options<()>,
        _liveness: &mut Liveness,
    ) -> Result<Self, TransportError> {
        let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, setup.port))
            .map_err(TransportError::io("connecting to the parent over TCP"))?;
        setup_stream(stream, options)
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        self.framed.send(message)
    }

    fn recv(&mut self, _liveness: &mut Liveness) -> Result<&[u8], TransportError> {
        self.framed.recv()
    }
}
