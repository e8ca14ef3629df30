//! Async: the ping-pong awaited inside a tokio runtime, over tokio's
//! Unix-domain stream (`tokio-unix`) or loopback TCP (`tokio-tcp`), the way
//! an async service (tonic or hyper over a socket) talks to its peer. The
//! frames are the blocking socket transports' (a `u32` length, then the
//! bytes), so `tokio-unix` ÷ `unix-socket` and `tokio-tcp` ÷ `tcp` are the
//! async tax and nothing else.
//!
//! The engine runs both sides' loops as a task of a runtime of the chosen
//! flavour (`--runtime current-thread`, the default, or `multi-thread`) and
//! awaits every message (see [`super::Awaited`]): an empty socket parks the
//! task, the runtime's reactor learns of the next message from epoll (or
//! kqueue) and schedules the task again. The blocking `send` and `recv`
//! exist for the test suites: they run the same async code on a runtime of
//! the connection's own.
//!
//! A connection is made with std's sockets (the parent polls `accept` as the
//! blocking transports do) and handed to tokio when the engine attaches it
//! inside its runtime.

use super::RunFlags;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

/// Which socket the messages travel on.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Socket {
    /// tokio's `UnixStream`, a socket file in this user's private directory.
    #[default]
    Unix,
    /// tokio's `TcpStream` over loopback, `TCP_NODELAY` on both ends.
    Tcp,
}

/// Which tokio runtime both processes run their loop in.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// One thread runs the task and the reactor.
    #[default]
    CurrentThread,
    /// A worker per core; the task may move between them.
    MultiThread,
}

impl Runtime {
    pub fn name(self) -> &'static str {
        match self {
            Runtime::CurrentThread => "current-thread",
            Runtime::MultiThread => "multi-thread",
        }
    }
}

/// What the user chooses: the socket and the runtime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub socket: Socket,
    pub runtime: Runtime,
}

// Only the transport itself (built with the feature) names its variants.
#[cfg(feature = "tokio")]
impl Config {
    /// The label's variant: `unix`, `tcp`, `unix-multi-thread`, `tcp-multi-thread`.
    fn variant(self) -> &'static str {
        match (self.socket, self.runtime) {
            (Socket::Unix, Runtime::CurrentThread) => "unix",
            (Socket::Tcp, Runtime::CurrentThread) => "tcp",
            (Socket::Unix, Runtime::MultiThread) => "unix-multi-thread",
            (Socket::Tcp, Runtime::MultiThread) => "tcp-multi-thread",
        }
    }

    fn flags(self) -> Vec<String> {
        let socket = self
            .socket
            .to_possible_value()
            .map(|v| v.get_name().to_string());
        let mut flags = vec!["--socket".to_string(), socket.unwrap_or_default()];
        flags.extend(["--runtime".to_string(), self.runtime.name().to_string()]);
        flags
    }
}

/// `run`'s flags for tokio.
#[derive(clap::Args, Debug, Clone)]
// Several transports flatten flag structs of the same name: no clap group.
#[group(skip)]
pub struct Flags {
    /// tokio's socket: unix (tokio-unix) or tcp (tokio-tcp).
    #[arg(long, env = "TOKIO_SOCKET", default_value = "unix",
          value_parser = crate::util::parse::enum_parser::<Socket>("socket", "TOKIO_SOCKET"))]
    pub socket: Socket,
    /// tokio's runtime in both processes: current-thread or multi-thread.
    #[arg(long, env = "TOKIO_RUNTIME", default_value = "current-thread",
          value_parser = crate::util::parse::enum_parser::<Runtime>("runtime", "TOKIO_RUNTIME"))]
    pub runtime: Runtime,
}

impl RunFlags for Flags {
    type Config = Config;
    fn config(&self) -> Config {
        Config {
            socket: self.socket,
            runtime: self.runtime,
        }
    }
}

/// `matrix`'s flags for tokio: the sockets and runtimes to include.
#[derive(clap::Args, Debug, Clone)]
// Several transports flatten flag structs of the same name: no clap group.
#[group(skip)]
pub struct MatrixFlags {
    /// tokio sockets to include, comma-separated (unix, tcp).
    #[arg(long, value_delimiter = ',', default_value = "unix",
          value_parser = crate::util::parse::enum_parser::<Socket>("socket", "--sockets"))]
    pub sockets: Vec<Socket>,
    /// tokio runtimes to include, comma-separated (current-thread, multi-thread).
    #[arg(long, value_delimiter = ',', default_value = "current-thread",
          value_parser = crate::util::parse::enum_parser::<Runtime>("runtime", "--runtimes"))]
    pub runtimes: Vec<Runtime>,
}

impl super::MatrixFlags for MatrixFlags {
    type Config = Config;
    fn configs(&self) -> Vec<Config> {
        let mut configs = Vec::new();
        for &socket in &self.sockets {
            for &runtime in &self.runtimes {
                configs.push(Config { socket, runtime });
            }
        }
        configs
    }
}

#[cfg(feature = "tokio")]
pub use imp::Tokio;

#[cfg(feature = "tokio")]
mod imp {
    use super::super::stream::{accept_socket, capacity, stream_error, COALESCE_LIMIT, HEADER};
    use super::super::{Awaited, Options, TrafficKind, Transport, TransportError};
    use super::{Config, Runtime, Socket};
    use crate::transport::liveness::Liveness;
    use serde::{Deserialize, Serialize};
    use std::net::Ipv4Addr;
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

    #[derive(Debug, Serialize, Deserialize)]
    pub enum Setup {
        Unix { path: PathBuf },
        Tcp { port: u16 },
    }

    pub enum Listener {
        Unix {
            listener: std::os::unix::net::UnixListener,
            /// Holds the socket file; dropping it removes both.
            _dir: tempfile::TempDir,
        },
        Tcp(std::net::TcpListener),
    }

    /// The connection: std's socket until a runtime takes it, then tokio's.
    enum Connection {
        Std(StdSocket),
        Unix(tokio::net::UnixStream),
        Tcp(tokio::net::TcpStream),
        /// Only while attaching fails halfway.
        Gone,
    }

    enum StdSocket {
        Unix(std::os::unix::net::UnixStream),
        Tcp(std::net::TcpStream),
    }

    pub struct Tokio {
        connection: Connection,
        runtime: Runtime,
        out: Vec<u8>,
        received: Vec<u8>,
        max_message: usize,
        /// The runtime the blocking `send` and `recv` run on (the suites'
        /// calls); the engine attaches the connection to its own instead.
        own: Option<Arc<tokio::runtime::Runtime>>,
    }

    impl Tokio {
        fn new(socket: StdSocket, options: &Options<Config>) -> Result<Self, TransportError> {
            let nonblocking = match &socket {
                StdSocket::Unix(s) => s.set_nonblocking(true),
                StdSocket::Tcp(s) => s.set_nodelay(true).and_then(|_| s.set_nonblocking(true)),
            };
            nonblocking.map_err(TransportError::io("configuring the socket for tokio"))?;
            Ok(Tokio {
                connection: Connection::Std(socket),
                runtime: options.config.runtime,
                out: Vec::new(),
                received: Vec::new(),
                max_message: options.max_message_bytes,
                own: None,
            })
        }

        /// The runtime of the connection's own, for the blocking calls,
        /// with the connection attached to it on first use.
        fn own_runtime(&mut self) -> Result<Arc<tokio::runtime::Runtime>, TransportError> {
            if let Some(runtime) = &self.own {
                return Ok(runtime.clone());
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
                .map_err(TransportError::io("starting a tokio runtime"))?;
            let runtime = Arc::new(runtime);
            {
                let _inside = runtime.enter();
                self.attach()?;
            }
            self.own = Some(runtime.clone());
            Ok(runtime)
        }
    }

    /// Writes one frame: header and body in one write up to the coalescing
    /// limit, as the blocking framing does.
    async fn send_frame<W: AsyncWrite + Unpin>(
        writer: &mut W,
        out: &mut Vec<u8>,
        message: &[u8],
        max_message: usize,
    ) -> Result<(), TransportError> {
        if message.len() > max_message {
            return Err(TransportError::TooLarge {
                len: message.len(),
                capacity: max_message,
            });
        }
        let header = (message.len() as u32).to_le_bytes();
        let sent = if message.len() <= COALESCE_LIMIT {
            out.clear();
            out.extend_from_slice(&header);
            out.extend_from_slice(message);
            writer.write_all(out).await
        } else {
            match writer.write_all(&header).await {
                Ok(()) => writer.write_all(message).await,
                Err(e) => Err(e),
            }
        };
        sent.map_err(stream_error("sending"))
    }

    /// Reads one frame into `received`, refusing a length above the size
    /// agreed in the handshake.
    async fn recv_frame<'a, R: AsyncRead + Unpin>(
        reader: &mut R,
        received: &'a mut Vec<u8>,
        max_message: usize,
    ) -> Result<&'a [u8], TransportError> {
        let mut header = [0u8; HEADER];
        reader
            .read_exact(&mut header)
            .await
            .map_err(stream_error("receiving"))?;
        let len = u32::from_le_bytes(header) as usize;
        if len > max_message {
            return Err(TransportError::Corrupt(format!(
                "a {len}-byte frame, more than the {max_message} bytes agreed"
            )));
        }
        received.resize(len, 0);
        reader
            .read_exact(received)
            .await
            .map_err(stream_error("receiving"))?;
        Ok(received)
    }

    fn not_attached() -> TransportError {
        TransportError::Other("the tokio connection is not attached to a runtime".into())
    }

    impl Awaited for Tokio {
        fn runtime(&self) -> Runtime {
            self.runtime
        }

        fn attach(&mut self) -> Result<(), TransportError> {
            let attached = match std::mem::replace(&mut self.connection, Connection::Gone) {
                Connection::Std(StdSocket::Unix(s)) => {
                    tokio::net::UnixStream::from_std(s).map(Connection::Unix)
                }
                Connection::Std(StdSocket::Tcp(s)) => {
                    tokio::net::TcpStream::from_std(s).map(Connection::Tcp)
                }
                attached => Ok(attached),
            };
            self.connection =
                attached.map_err(TransportError::io("registering the socket with tokio"))?;
            Ok(())
        }

        async fn send_awaited(&mut self, message: &[u8]) -> Result<(), TransportError> {
            let (out, max) = (&mut self.out, self.max_message);
            match &mut self.connection {
                Connection::Unix(s) => send_frame(s, out, message, max).await,
                Connection::Tcp(s) => send_frame(s, out, message, max).await,
                Connection::Std(_) | Connection::Gone => Err(not_attached()),
            }
        }

        async fn recv_awaited(&mut self) -> Result<&[u8], TransportError> {
            let (received, max) = (&mut self.received, self.max_message);
            match &mut self.connection {
                Connection::Unix(s) => recv_frame(s, received, max).await,
                Connection::Tcp(s) => recv_frame(s, received, max).await,
                Connection::Std(_) | Connection::Gone => Err(not_attached()),
            }
        }
    }

    impl Transport for Tokio {
        const NAME: &'static str = "tokio";
        const CHILD_BIN_ENV: &'static str = "TOKIO_CHILD_BIN_PATH";

        type Config = Config;
        type Setup = Setup;
        type Listener = Listener;

        fn variants() -> Vec<Config> {
            let mut variants = Vec::new();
            for runtime in [Runtime::CurrentThread, Runtime::MultiThread] {
                for socket in [Socket::Unix, Socket::Tcp] {
                    variants.push(Config { socket, runtime });
                }
            }
            variants
        }

        fn variant(config: &Config) -> Option<String> {
            Some(config.variant().to_string())
        }

        fn flags(config: &Config) -> Vec<String> {
            config.flags()
        }

        fn facts(options: &Options<Config>) -> serde_json::Map<String, serde_json::Value> {
            let mut facts = serde_json::Map::new();
            let config = options.config;
            let socket = match config.socket {
                Socket::Unix => "unix",
                Socket::Tcp => "tcp",
            };
            facts.insert("socket".into(), socket.into());
            facts.insert("runtime".into(), config.runtime.name().into());
            // tokio's default: a worker per core the process may use.
            let workers = match config.runtime {
                Runtime::CurrentThread => 1,
                Runtime::MultiThread => std::thread::available_parallelism().map_or(1, |n| n.get()),
            };
            facts.insert("worker_threads".into(), workers.into());
            facts
        }

        fn capacity(options: &Options<Config>) -> Option<usize> {
            capacity(options)
        }

        fn refuses(_config: &Config, _codec: &str, traffic: TrafficKind) -> Option<String> {
            let pattern = match traffic {
                TrafficKind::ClosedLoop => return None,
                TrafficKind::FixedRate => "rate",
                TrafficKind::Stream => "stream",
            };
            Some(format!(
                "invalid value '{pattern}' for --pattern/PATTERN with --transport tokio: the async engine runs closed-loop ping-pongs (one child or a fan-out); accepted: ping-pong, or --pattern {pattern} on unix-socket or tcp"
            ))
        }

        fn listen(options: &Options<Config>) -> Result<(Listener, Setup), TransportError> {
            match options.config.socket {
                Socket::Unix => {
                    let dir = super::super::stale::new_socket_dir().map_err(TransportError::io(
                        "creating a directory for the Unix socket",
                    ))?;
                    let path = dir.path().join(super::super::stale::SOCKET_FILE);
                    let listener = std::os::unix::net::UnixListener::bind(&path)
                        .map_err(TransportError::io("binding the Unix socket"))?;
                    Ok((
                        Listener::Unix {
                            listener,
                            _dir: dir,
                        },
                        Setup::Unix { path },
                    ))
                }
                Socket::Tcp => {
                    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                        .map_err(TransportError::io("binding a loopback TCP port"))?;
                    let port = listener
                        .local_addr()
                        .map_err(TransportError::io("reading the TCP port"))?
                        .port();
                    Ok((Listener::Tcp(listener), Setup::Tcp { port }))
                }
            }
        }

        fn accept(
            listener: Listener,
            options: &Options<Config>,
            liveness: &mut Liveness,
            timeout: Duration,
        ) -> Result<Self, TransportError> {
            let socket = match &listener {
                Listener::Unix { listener, .. } => {
                    StdSocket::Unix(accept_socket(listener, liveness, timeout)?)
                }
                Listener::Tcp(listener) => {
                    StdSocket::Tcp(accept_socket(listener, liveness, timeout)?)
                }
            };
            // `listener` drops here: a Unix socket's file and directory go.
            Tokio::new(socket, options)
        }

        fn connect(
            setup: &Setup,
            options: &Options<Config>,
            _liveness: &mut Liveness,
        ) -> Result<Self, TransportError> {
            let socket = match (setup, options.config.socket) {
                (Setup::Unix { path }, Socket::Unix) => StdSocket::Unix(
                    std::os::unix::net::UnixStream::connect(path)
                        .map_err(TransportError::io("connecting to the parent's Unix socket"))?,
                ),
                (Setup::Tcp { port }, Socket::Tcp) => StdSocket::Tcp(
                    std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, *port))
                        .map_err(TransportError::io("connecting to the parent's TCP port"))?,
                ),
                (setup, socket) => {
                    return Err(TransportError::Setup(format!(
                        "a {setup:?} setup for a {socket:?} socket"
                    )))
                }
            };
            Tokio::new(socket, options)
        }

        fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
            let runtime = self.own_runtime()?;
            runtime.block_on(self.send_awaited(message))
        }

        fn recv(&mut self, _liveness: &mut Liveness) -> Result<&[u8], TransportError> {
            let runtime = self.own_runtime()?;
            runtime.block_on(self.recv_awaited())
        }
    }
}
