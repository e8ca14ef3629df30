//! The [`Transport`] trait: byte messages between the parent and its child.
//!
//! A transport only moves opaque byte messages; codecs and verification live
//! above it, so every transport carries exactly the same bytes. Adding one is a
//! file in this folder and one line in [`registry!`] below.

use crate::liveness::{Liveness, PeerError};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What a transport needs to know to set itself up, identical on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransportOptions {
    /// The longest message either side will send.
    pub max_message_bytes: usize,
}

/// Why a transport operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{0}")]
    Peer(#[from] PeerError),
    #[error("the peer closed the connection")]
    Disconnected,
    #[error("a {len}-byte message does not fit the transport's {capacity}-byte capacity")]
    TooLarge { len: usize, capacity: usize },
    #[error("timed out after {0:?} waiting for the child to connect")]
    Timeout(Duration),
    #[error("bad transport setup from the parent: {0}")]
    Setup(String),
    #[error("{context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

impl TransportError {
    pub fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        move |source| TransportError::Io { context, source }
    }
}

/// A bidirectional, message-preserving, in-order byte channel between the
/// parent and the child.
///
/// Lifecycle: the parent calls [`listen`](Transport::listen) before spawning
/// the child and sends the returned setup in the handshake; the child calls
/// [`connect`](Transport::connect) with it; then the parent calls
/// [`accept`](Transport::accept). After that both sides alternate `send` and
/// `recv`.
pub trait Transport: Sized {
    /// The name users type (`--transport NAME`) and result files record.
    const NAME: &'static str;
    /// Environment variable naming the child executable for this transport's
    /// parent binary (the seed's `IPCC_CHILD_BIN_PATH` and its siblings).
    const CHILD_BIN_ENV: &'static str;

    /// Parent-side state between `listen` and `accept`.
    type Listener: Send + 'static;

    /// The largest message this transport can carry with these options, or
    /// `None` when it has no fixed limit. Checked before the child is spawned.
    fn capacity(options: &TransportOptions) -> Option<usize>;

    /// Parent: creates what the child will connect to; returns it and the
    /// setup document the child needs (sent in the handshake config).
    fn listen(
        options: &TransportOptions,
    ) -> Result<(Self::Listener, serde_json::Value), TransportError>;

    /// Parent: completes the connection once the child reported ready, giving
    /// up after `timeout` or as soon as `liveness` reports the child gone.
    fn accept(
        listener: Self::Listener,
        options: &TransportOptions,
        liveness: &mut Liveness,
        timeout: Duration,
    ) -> Result<Self, TransportError>;

    /// Child: connects using the parent's setup document.
    fn connect(
        setup: &serde_json::Value,
        options: &TransportOptions,
        liveness: &mut Liveness,
    ) -> Result<Self, TransportError>;

    /// Sends one message.
    fn send(&mut self, message: &[u8]) -> Result<(), TransportError>;

    /// Waits for the next message. The slice stays valid until the next call.
    /// Implementations that wait by polling call `liveness.tick()` on each empty poll.
    fn recv(&mut self, liveness: &mut Liveness) -> Result<&[u8], TransportError>;
}

/// Runs generic code with a transport chosen by name at run time.
pub trait TransportVisitor {
    type Output;
    fn visit<T: Transport>(self) -> Self::Output;
}

/// Static facts about one registered transport.
#[derive(Debug, Clone, Copy)]
pub struct TransportInfo {
    pub name: &'static str,
    pub child_bin_env: &'static str,
}

macro_rules! registry {
    ($( $module:ident :: $ty:ident ),* $(,)?) => {
        $( pub mod $module; )*

        /// Every transport compiled into this build, in display order.
        pub const TRANSPORTS: &[TransportInfo] = &[
            $( TransportInfo {
                name: <$module::$ty as Transport>::NAME,
                child_bin_env: <$module::$ty as Transport>::CHILD_BIN_ENV,
            }, )*
        ];

        /// Calls `visitor` with the transport called `name`.
        pub fn dispatch<V: TransportVisitor>(name: &str, visitor: V) -> Option<V::Output> {
            $( if name == <$module::$ty as Transport>::NAME {
                return Some(visitor.visit::<$module::$ty>());
            } )*
            None
        }
    };
}

registry! {
    ipcc::Ipcc,
}

/// Looks a transport up by name.
pub fn lookup(name: &str) -> Option<&'static TransportInfo> {
    TRANSPORTS.iter().find(|t| t.name == name)
}

/// The accepted transport names, for error messages.
pub fn names() -> String {
    TRANSPORTS
        .iter()
        .map(|t| t.name)
        .collect::<Vec<_>>()
        .join(", ")
}
