//! UDP over loopback: one message per datagram, each side its own socket,
//! connected to the other's, so the kernel filters out anything else.
//!
//! A datagram carries at most [`MAX_DATAGRAM`] bytes, so larger messages are
//! refused before the child is spawned. Nothing tells a sender that its
//! datagram was dropped: the receive buffers are made as large as the system
//! allows and a window is refused unless it fits them (see
//! [`Transport::max_window`]); a truncated datagram (longer than the
//! capacity) is an error, and a lost one shows as a peer that stopped
//! answering, which the run's stall deadline turns into an error.

use super::{Options, Transport, TransportError};
use crate::transport::liveness::Liveness;
use serde::{Deserialize, Serialize};
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// The most a UDP datagram over IPv4 carries: 65,535 less the IP and UDP
/// headers.
pub const MAX_DATAGRAM: usize = 65_507;

/// The buffer size asked of the kernel for each socket; it grants at most
/// `net.core.rmem_max` / `wmem_max` (and reports twice what it grants).
const BUFFER_ASKED: usize = 8 << 20;

/// What a queued datagram costs the receive buffer besides its bytes (the
/// kernel's bookkeeping per packet), rounded up generously.
const PER_DATAGRAM_COST: usize = 1280;

/// How long one blocking read waits before the peer is checked again.
const READ_SLICE: Duration = Duration::from_millis(50);

/// The first datagram the child sends, so the parent learns its address.
const HELLO: &[u8] = b"ipc-bench udp hello";

/// No settings of its own.
pub type Flags = super::NoFlags;
/// No variants to choose in a matrix.
pub type MatrixFlags = super::NoFlags;

#[derive(Debug, Serialize, Deserialize)]
pub struct Setup {
    /// The parent's port on 127.0.0.1.
    port: u16,
}

pub struct Udp {
    socket: UdpSocket,
    /// One byte longer than the largest datagram, so a longer one shows.
    buf: Vec<u8>,
    len: usize,
}

/// Makes `socket`'s buffers as large as the system allows; returns the
/// receive buffer the kernel granted, in its own accounting.
fn grow_buffers(socket: &UdpSocket) -> Result<usize, TransportError> {
    let socket = socket2::SockRef::from(socket);
    // A refusal only leaves the default size, which the window check reads.
    let _ = socket.set_recv_buffer_size(BUFFER_ASKED);
    let _ = socket.set_send_buffer_size(BUFFER_ASKED);
    socket
        .recv_buffer_size()
        .map_err(TransportError::io("reading the UDP receive buffer size"))
}

fn bind_loopback() -> Result<UdpSocket, TransportError> {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(TransportError::io("binding a loopback UDP port"))
}

impl Udp {
    fn new(socket: UdpSocket) -> Result<Self, TransportError> {
        grow_buffers(&socket)?;
        socket
            .set_read_timeout(Some(READ_SLICE))
            .map_err(TransportError::io("setting the UDP read timeout"))?;
        Ok(Udp {
            socket,
            buf: vec![0; MAX_DATAGRAM + 1],
            len: 0,
        })
    }
}

impl Transport for Udp {
    const NAME: &'static str = "udp";
    const CHILD_BIN_ENV: &'static str = "UDP_CHILD_BIN_PATH";
    // Measured on request (`--transports udp`): the default matrix stays short.
    const IN_DEFAULT_MATRIX: bool = false;

    type Config = ();
    type Setup = Setup;
    type Listener = Udp;

    fn capacity(_options: &Options<()>) -> Option<usize> {
        Some(MAX_DATAGRAM)
    }

    fn facts(_options: &Options<()>) -> serde_json::Map<String, serde_json::Value> {
        let granted = bind_loopback().and_then(|s| grow_buffers(&s)).ok();
        let mut facts = serde_json::Map::new();
        facts.insert("max_datagram_bytes".into(), MAX_DATAGRAM.into());
        facts.insert("receive_buffer_bytes".into(), granted.into());
        facts
    }

    fn too_large_hint(max_message_bytes: usize) -> Option<String> {
        Some(format!(
            "udp carries each message in one datagram of at most {MAX_DATAGRAM} bytes; lower --payload-bytes by at least {}",
            max_message_bytes.saturating_sub(MAX_DATAGRAM)
        ))
    }

    fn max_window(options: &Options<()>) -> Option<usize> {
        // What the receive buffer holds of these messages: a datagram that
        // does not fit is dropped without a word to the sender.
        let granted = bind_loopback().and_then(|s| grow_buffers(&s)).ok()?;
        let each = options.max_message_bytes + PER_DATAGRAM_COST;
        Some((granted / each).max(1))
    }

    fn window_hint(_options: &Options<()>) -> Option<String> {
        Some(
            "a full UDP receive buffer drops datagrams: lower --window, or raise net.core.rmem_max"
                .to_string(),
        )
    }

    fn listen(_options: &Options<()>) -> Result<(Udp, Setup), TransportError> {
        let socket = bind_loopback()?;
        let port = socket
            .local_addr()
            .map_err(TransportError::io("reading the UDP port"))?
            .port();
        Ok((Udp::new(socket)?, Setup { port }))
    }

    fn accept(
        mut listener: Udp,
        _options: &Options<()>,
        liveness: &mut Liveness,
        timeout: Duration,
    ) -> Result<Self, TransportError> {
        let deadline = Instant::now() + timeout;
        let child: SocketAddr = loop {
            match listener.socket.recv_from(&mut listener.buf) {
                Ok((n, from)) if &listener.buf[..n] == HELLO => break from,
                // Anything else on this fresh port is not the child's.
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    liveness.check_now()?;
                    if Instant::now() >= deadline {
                        return Err(TransportError::Timeout(timeout));
                    }
                }
                Err(error) => {
                    return Err(TransportError::Io {
                        context: "waiting for the child's first UDP datagram",
                        error,
                    })
                }
            }
        };
        listener.socket.connect(child).map_err(TransportError::io(
            "connecting the UDP socket to the child's",
        ))?;
        Ok(listener)
    }

    fn connect(
        setup: &Setup,
        _options: &Options<()>,
        _liveness: &mut Liveness,
    ) -> Result<Self, TransportError> {
        if setup.port == 0 {
            return Err(TransportError::Setup("UDP port 0".into()));
        }
        let socket = bind_loopback()?;
        let udp = Udp::new(socket)?;
        udp.socket
            .connect((Ipv4Addr::LOCALHOST, setup.port))
            .map_err(TransportError::io("connecting to the parent's UDP port"))?;
        udp.socket
            .send(HELLO)
            .map_err(TransportError::io("sending the first UDP datagram"))?;
        Ok(udp)
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        if message.len() > MAX_DATAGRAM {
            return Err(TransportError::TooLarge {
                len: message.len(),
                capacity: MAX_DATAGRAM,
            });
        }
        let sent = self
            .socket
            .send(message)
            .map_err(|error| match error.kind() {
                ErrorKind::ConnectionRefused => TransportError::Disconnected,
                _ => TransportError::Io {
                    context: "sending a UDP datagram",
                    error,
                },
            })?;
        if sent != message.len() {
            return Err(TransportError::Other(format!(
                "sent {sent} of a {}-byte datagram",
                message.len()
            )));
        }
        Ok(())
    }

    fn recv(&mut self, liveness: &mut Liveness) -> Result<&[u8], TransportError> {
        loop {
            match self.socket.recv(&mut self.buf) {
                Ok(n) if n > MAX_DATAGRAM => {
                    return Err(TransportError::Corrupt(format!(
                        "a datagram longer than {MAX_DATAGRAM} bytes (truncated)"
                    )))
                }
                Ok(n) => {
                    self.len = n;
                    return Ok(&self.buf[..self.len]);
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    liveness.check_now()?;
                }
                // The peer's port is closed: it is gone.
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                    return Err(TransportError::Disconnected)
                }
                Err(error) => {
                    return Err(TransportError::Io {
                        context: "receiving a UDP datagram",
                        error,
                    })
                }
            }
        }
    }
}
