//! Unix-domain sockets of type `SOCK_SEQPACKET`: connected, reliable, and
//! each message one packet with its boundaries kept by the kernel, so no
//! length prefix is read or parsed. The socket file lives in a directory of
//! its own inside this user's private directory, as the stream socket's.
//!
//! A packet carries at most what the sender's buffer holds (Linux refuses
//! one longer than the send buffer less 32 bytes), and at most what the
//! kernel can allocate for one packet: the capacity is read by sending
//! packets on a socket pair with the buffers this transport asks for, and a
//! larger message is refused before the child is spawned. Every packet starts with
//! one tag byte, because a packet of no bytes would read as the peer
//! closing the connection, and the stop message is empty.

use super::stream::accept_polling;
use super::{Options, Transport, TransportError};
use crate::transport::liveness::Liveness;
use serde::{Deserialize, Serialize};
use socket2::{Domain, SockAddr, Socket, Type};
use std::io::{ErrorKind, IoSlice, Read};
use std::path::PathBuf;
use std::time::Duration;

/// The byte before every message.
const TAG: u8 = b'm';

/// The buffer size asked of the kernel for each socket; it grants at most
/// `net.core.wmem_max` / `rmem_max` (and reports twice what it grants).
const BUFFER_ASKED: usize = 8 << 20;

/// What the kernel keeps besides the bytes when it checks a packet against
/// the send buffer, with room to spare (Linux: 32 bytes).
const PACKET_OVERHEAD: usize = 128;

/// What a queued packet costs the sender's buffer besides its bytes,
/// rounded up generously: a window must fit in it, or both sides could
/// wait on a full buffer at once.
const PER_PACKET_COST: usize = 1280;

/// How long one blocking read waits before the peer is checked again.
const READ_SLICE: Duration = Duration::from_millis(50);

/// No settings of its own.
pub type Flags = super::NoFlags;
/// No variants to choose in a matrix.
pub type MatrixFlags = super::NoFlags;

#[derive(Debug, Serialize, Deserialize)]
pub struct Setup {
    path: PathBuf,
}

pub struct UnixDatagram {
    socket: Socket,
    /// The tag, the largest message and one more byte, so a longer packet shows.
    buf: Vec<u8>,
    capacity: usize,
}

pub struct Listener {
    socket: Socket,
    /// Holds the socket file; dropping it removes both.
    _dir: tempfile::TempDir,
}

fn seqpacket() -> std::io::Result<Socket> {
    Socket::new(Domain::UNIX, Type::SEQPACKET, None)
}

/// Asks for large buffers; returns the send buffer granted, in the kernel's
/// own accounting (the bound on one packet).
fn grow_buffers(socket: &Socket) -> std::io::Result<usize> {
    // A refusal only leaves the default size, which is then what is read.
    let _ = socket.set_send_buffer_size(BUFFER_ASKED);
    let _ = socket.set_recv_buffer_size(BUFFER_ASKED);
    socket.send_buffer_size()
}

/// The largest message a packet carries on this machine, found once: the
/// kernel bounds a packet by the send buffer, but refuses (`ENOBUFS`) one
/// whose memory it cannot allocate in one piece well before that, so the
/// bound is read by sending packets on a socket pair of this transport's
/// kind (a binary search, a few milliseconds).
fn largest_packet() -> usize {
    static LARGEST: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *LARGEST.get_or_init(|| {
        let Ok((a, b)) = Socket::pair(Domain::UNIX, Type::SEQPACKET, None) else {
            return 0;
        };
        let Ok(granted) = grow_buffers(&a).and_then(|g| grow_buffers(&b).map(|_| g)) else {
            return 0;
        };
        let mut buf = vec![0u8; capacity_of(granted) + 2];
        let fits = |len: usize, buf: &mut Vec<u8>| {
            let sent = a.send(&buf[..len + 1]).is_ok_and(|n| n == len + 1);
            // Drain it, so the next probe finds the buffer empty.
            sent && (&b).read(buf).is_ok_and(|n| n == len + 1)
        };
        let (mut lo, mut hi) = (0, capacity_of(granted));
        if fits(hi, &mut buf) {
            return hi;
        }
        // `lo` fits, `hi` does not.
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if fits(mid, &mut buf) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    })
}

/// The send buffer a socket of this transport gets on this machine.
fn granted_send_buffer() -> Option<usize> {
    let (a, _b) = Socket::pair(Domain::UNIX, Type::SEQPACKET, None).ok()?;
    grow_buffers(&a).ok()
}

/// The largest message with a buffer of `send_buffer` bytes.
fn capacity_of(send_buffer: usize) -> usize {
    send_buffer.saturating_sub(PACKET_OVERHEAD + 1)
}

impl UnixDatagram {
    fn new(socket: Socket) -> Result<Self, TransportError> {
        let granted = grow_buffers(&socket)
            .map_err(TransportError::io("sizing the Unix socket's buffers"))?;
        socket
            .set_read_timeout(Some(READ_SLICE))
            .map_err(TransportError::io("setting the Unix socket's read timeout"))?;
        let capacity = capacity_of(granted).min(largest_packet());
        Ok(UnixDatagram {
            socket,
            buf: vec![0; capacity + 2],
            capacity,
        })
    }
}

impl Transport for UnixDatagram {
    const NAME: &'static str = "unix-datagram";
    const CHILD_BIN_ENV: &'static str = "UNIX_DATAGRAM_CHILD_BIN_PATH";
    // Measured on request (`--transports unix-datagram`): the default matrix stays short.
    const IN_DEFAULT_MATRIX: bool = false;

    type Config = ();
    type Setup = Setup;
    type Listener = Listener;

    fn capacity(_options: &Options<()>) -> Option<usize> {
        Some(largest_packet())
    }

    fn facts(_options: &Options<()>) -> serde_json::Map<String, serde_json::Value> {
        let mut facts = serde_json::Map::new();
        facts.insert("socket_type".into(), "SOCK_SEQPACKET".into());
        facts.insert("max_packet_bytes".into(), largest_packet().into());
        facts.insert("send_buffer_bytes".into(), granted_send_buffer().into());
        facts
    }

    fn too_large_hint(max_message_bytes: usize) -> Option<String> {
        let capacity = largest_packet();
        Some(format!(
            "unix-datagram carries each message in one packet, here at most {capacity} bytes (what the kernel sends in one packet with this socket's buffers); lower --payload-bytes by at least {}",
            max_message_bytes.saturating_sub(capacity)
        ))
    }

    fn max_window(options: &Options<()>) -> Option<usize> {
        let granted = granted_send_buffer()?;
        Some((granted / (options.max_message_bytes + 1 + PER_PACKET_COST)).max(1))
    }

    fn window_hint(_options: &Options<()>) -> Option<String> {
        Some(
            "the window's packets must fit the socket's send buffer: lower --window, or raise net.core.wmem_max"
                .to_string(),
        )
    }

    fn listen(_options: &Options<()>) -> Result<(Listener, Setup), TransportError> {
        let dir = super::stale::new_socket_dir().map_err(TransportError::io(
            "creating a directory for the Unix socket",
        ))?;
        let path = dir.path().join(super::stale::SOCKET_FILE);
        let socket = seqpacket().map_err(TransportError::io("creating a SOCK_SEQPACKET socket"))?;
        let address =
            SockAddr::unix(&path).map_err(TransportError::io("naming the Unix socket"))?;
        socket
            .bind(&address)
            .and_then(|_| socket.listen(1))
            .and_then(|_| socket.set_nonblocking(true))
            .map_err(TransportError::io("binding the Unix socket"))?;
        Ok((Listener { socket, _dir: dir }, Setup { path }))
    }

    fn accept(
        listener: Listener,
        _options: &Options<()>,
        liveness: &mut Liveness,
        timeout: Duration,
    ) -> Result<Self, TransportError> {
        let socket = accept_polling(
            || listener.socket.accept().map(|(socket, _)| socket),
            liveness,
            timeout,
            "accepting the child's Unix socket",
        )?;
        socket
            .set_nonblocking(false)
            .map_err(TransportError::io("making the Unix socket blocking"))?;
        // `listener` drops here: the socket file and its directory go.
        UnixDatagram::new(socket)
    }

    fn connect(
        setup: &Setup,
        _options: &Options<()>,
        _liveness: &mut Liveness,
    ) -> Result<Self, TransportError> {
        let address = SockAddr::unix(&setup.path)
            .map_err(|e| TransportError::Setup(format!("a Unix socket path: {e}")))?;
        let socket = seqpacket().map_err(TransportError::io("creating a SOCK_SEQPACKET socket"))?;
        socket
            .connect(&address)
            .map_err(TransportError::io("connecting to the parent's Unix socket"))?;
        UnixDatagram::new(socket)
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        if message.len() > self.capacity {
            return Err(TransportError::TooLarge {
                len: message.len(),
                capacity: self.capacity,
            });
        }
        let parts = [IoSlice::new(&[TAG]), IoSlice::new(message)];
        match self.socket.send_vectored(&parts) {
            Ok(n) if n == message.len() + 1 => Ok(()),
            Ok(n) => Err(TransportError::Other(format!(
                "sent {n} of a {}-byte packet",
                message.len() + 1
            ))),
            Err(e) if matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset) => {
                Err(TransportError::Disconnected)
            }
            Err(error) => Err(TransportError::Io {
                context: "sending a Unix packet",
                error,
            }),
        }
    }

    fn recv(&mut self, liveness: &mut Liveness) -> Result<&[u8], TransportError> {
        loop {
            match (&self.socket).read(&mut self.buf) {
                // No tag: the peer closed the connection.
                Ok(0) => return Err(TransportError::Disconnected),
                Ok(n) if n > self.capacity + 1 => {
                    return Err(TransportError::Corrupt(format!(
                        "a packet longer than {} bytes (truncated)",
                        self.capacity
                    )))
                }
                Ok(n) if self.buf[0] != TAG => {
                    return Err(TransportError::Corrupt(format!(
                        "a {n}-byte packet without its tag"
                    )))
                }
                Ok(n) => return Ok(&self.buf[1..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    liveness.check_now()?;
                }
                Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                    return Err(TransportError::Disconnected)
                }
                Err(error) => {
                    return Err(TransportError::Io {
                        context: "receiving a Unix packet",
                        error,
                    })
                }
            }
        }
    }
}
