//! A kernel baseline: TCP over loopback, `TCP_NODELAY` on both ends, messages
//! framed with a length prefix.

use super::stream::{accept_socket, framed_socket, Framed};
use super::{Transport, TransportError, TransportOptions};
use crate::liveness::Liveness;
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::Duration;

#[derive(Debug, Serialize, Deserialize)]
struct Setup {
    port: u16,
}

pub struct Tcp {
    framed: Framed<TcpStream, TcpStream>,
}

fn setup_stream(stream: TcpStream, options: &TransportOptions) -> Result<Tcp, TransportError> {
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

    type Listener = TcpListener;

    fn capacity(options: &TransportOptions) -> Option<usize> {
        super::stream::capacity(options)
    }

    fn listen(
        _options: &TransportOptions,
    ) -> Result<(TcpListener, serde_json::Value), TransportError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(TransportError::io("binding a loopback TCP port"))?;
        let port = listener
            .local_addr()
            .map_err(TransportError::io("reading the TCP port"))?
            .port();
        Ok((listener, super::write_setup(&Setup { port })?))
    }

    fn accept(
        listener: TcpListener,
        options: &TransportOptions,
        liveness: &mut Liveness,
        timeout: Duration,
    ) -> Result<Self, TransportError> {
        setup_stream(accept_socket(&listener, liveness, timeout)?, options)
    }

    fn connect(
        setup: &serde_json::Value,
        options: &TransportOptions,
        _liveness: &mut Liveness,
    ) -> Result<Self, TransportError> {
        let setup: Setup = super::read_setup(setup)?;
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
