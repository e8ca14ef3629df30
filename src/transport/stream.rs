//! Length-prefixed messages over a byte stream (pipes, Unix sockets, TCP):
//! the framing the kernel-baseline transports share.

use super::TransportError;
use crate::transport::liveness::Liveness;
use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

/// Polls a non-blocking `try_accept` until it yields a connection, watching
/// the child and the clock between polls (a blocking accept would wait
/// forever for a child that died).
pub(super) fn accept_polling<T>(
    mut try_accept: impl FnMut() -> std::io::Result<T>,
    liveness: &mut Liveness,
    timeout: Duration,
    context: &'static str,
) -> Result<T, TransportError> {
    let deadline = Instant::now() + timeout;
    loop {
        match try_accept() {
            Ok(connection) => return Ok(connection),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                liveness.check_now()?;
                if Instant::now() >= deadline {
                    return Err(TransportError::Timeout(timeout));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(error) => return Err(TransportError::Io { context, error }),
        }
    }
}

/// A std stream socket (TCP or Unix): what the socket transports need of it
/// to accept without blocking forever and to frame messages over it.
pub trait Socket: Read + Write + Sized {
    /// A second handle on the same connection (one reads, one writes).
    fn duplicate(&self) -> std::io::Result<Self>;
    fn set_blocking(&self, blocking: bool) -> std::io::Result<()>;
}

/// A std listening socket whose accept can be polled.
pub trait SocketListener {
    type Stream: Socket;
    fn set_blocking(&self, blocking: bool) -> std::io::Result<()>;
    fn accept_stream(&self) -> std::io::Result<Self::Stream>;
}

macro_rules! std_socket {
    ($listener:ty => $stream:ty) => {
        impl Socket for $stream {
            fn duplicate(&self) -> std::io::Result<Self> {
                self.try_clone()
            }
            fn set_blocking(&self, blocking: bool) -> std::io::Result<()> {
                self.set_nonblocking(!blocking)
            }
        }
        impl SocketListener for $listener {
            type Stream = $stream;
            fn set_blocking(&self, blocking: bool) -> std::io::Result<()> {
                self.set_nonblocking(!blocking)
            }
            fn accept_stream(&self) -> std::io::Result<$stream> {
                self.accept().map(|(stream, _)| stream)
            }
        }
    };
}

std_socket!(std::net::TcpListener => std::net::TcpStream);
#[cfg(unix)]
std_socket!(std::os::unix::net::UnixListener => std::os::unix::net::UnixStream);

/// Accepts the child's connection on `listener`, polling so that a dead
/// child or the timeout ends the wait, and returns it in blocking mode.
pub fn accept_socket<L: SocketListener>(
    listener: &L,
    liveness: &mut Liveness,
    timeout: Duration,
) -> Result<L::Stream, TransportError> {
    listener
        .set_blocking(false)
        .map_err(TransportError::io("configuring the listening socket"))?;
    let stream = accept_polling(
        || listener.accept_stream(),
        liveness,
        timeout,
        "accepting the child's connection",
    )?;
    stream
        .set_blocking(true)
        .map_err(TransportError::io("configuring the accepted socket"))?;
    Ok(stream)
}

/// Frames messages over a connected socket: a duplicate handle reads, the
/// original writes.
pub fn framed_socket<S: Socket, C>(
    stream: S,
    options: &super::Options<C>,
) -> Result<Framed<S, S>, TransportError> {
    let reader = stream
        .duplicate()
        .map_err(TransportError::io("duplicating the socket"))?;
    Ok(Framed::new(reader, stream, options.max_message_bytes))
}

/// Every message goes out as a little-endian `u32` length and the bytes.
pub(super) const HEADER: usize = 4;
/// Messages up to this size are sent with one write (header and body copied
/// into one buffer); larger ones with two, to avoid copying megabytes.
pub(super) const COALESCE_LIMIT: usize = 64 * 1024;

/// The largest message stream framing carries for these options: the size
/// agreed in the handshake, and never more than the `u32` prefix can say.
pub fn capacity<C>(options: &super::Options<C>) -> Option<usize> {
    Some(options.max_message_bytes.min(u32::MAX as usize))
}

/// One direction to write, one to read, and the buffers they reuse.
pub struct Framed<R, W> {
    reader: R,
    writer: W,
    out: Vec<u8>,
    received: Vec<u8>,
    max_message: usize,
}

impl<R: Read, W: Write> Framed<R, W> {
    /// `max_message` must fit the `u32` length prefix; see [`capacity`].
    pub fn new(reader: R, writer: W, max_message: usize) -> Self {
        Framed {
            reader,
            writer,
            out: Vec::new(),
            received: Vec::new(),
            max_message,
        }
    }

    pub fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        // The receiver refuses frames above the size agreed in the handshake
        // (a corrupt header must not make it allocate gigabytes), so the
        // sender keeps to it too.
        if message.len() > self.max_message {
            return Err(TransportError::TooLarge {
                len: message.len(),
                capacity: self.max_message,
            });
        }
        let header = (message.len() as u32).to_le_bytes();
        let result = if message.len() <= COALESCE_LIMIT {
            self.out.clear();
            self.out.extend_from_slice(&header);
            self.out.extend_from_slice(message);
            self.writer.write_all(&self.out)
        } else {
            self.writer
                .write_all(&header)
                .and_then(|_| self.writer.write_all(message))
        };
        result
            .and_then(|_| self.writer.flush())
            .map_err(stream_error("sending"))
    }

    /// Reads exactly one message. Blocks: a dead peer closes its end, which
    /// ends the read with an error.
    pub fn recv(&mut self) -> Result<&[u8], TransportError> {
        let mut header = [0u8; HEADER];
        self.reader
            .read_exact(&mut header)
            .map_err(stream_error("receiving"))?;
        let len = u32::from_le_bytes(header) as usize;
        if len > self.max_message {
            return Err(TransportError::Corrupt(format!(
                "a {len}-byte frame, more than the {} bytes agreed",
                self.max_message
            )));
        }
        self.received.resize(len, 0);
        self.reader
            .read_exact(&mut self.received)
            .map_err(stream_error("receiving"))?;
        Ok(&self.received)
    }
}

pub(super) fn stream_error(context: &'static str) -> impl Fn(std::io::Error) -> TransportError {
    move |error| match error.kind() {
        ErrorKind::UnexpectedEof
        | ErrorKind::BrokenPipe
        | ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted => TransportError::Disconnected,
        _ => TransportError::Io { context, error },
    }
}
