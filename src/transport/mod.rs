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
    /// How a transport with a choice waits for a message (`raw-sync`).
    pub wait: WaitStrategy,
    /// Size of the whole shared region of `shared-mem-queue`; each direction gets half.
    pub queue_region_bytes: usize,
    /// Which iceoryx2 messaging pattern carries the messages (`iceoryx2`).
    #[serde(default)]
    pub iox_pattern: IoxPattern,
}

/// The seed's default region for shared-mem-queue (4 MiB).
pub const DEFAULT_QUEUE_REGION_BYTES: usize = 4 * 1024 * 1024;

impl TransportOptions {
    /// Options with the defaults for everything but the message size.
    pub fn for_messages(max_message_bytes: usize) -> Self {
        TransportOptions {
            max_message_bytes,
            wait: WaitStrategy::Spin,
            queue_region_bytes: DEFAULT_QUEUE_REGION_BYTES,
            iox_pattern: IoxPattern::PublishSubscribe,
        }
    }
}

/// The iceoryx2 messaging pattern a run uses. Declared here, not in the
/// feature-gated transport, so that the flag parses (and says what the build
/// lacks) in every build.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IoxPattern {
    /// A ping service and a pong service, each with one publisher and one
    /// subscriber; the receiver busy-polls.
    #[default]
    PublishSubscribe,
    /// One service: the parent is the client, the child the server.
    RequestResponse,
}

impl IoxPattern {
    pub const ALL: [IoxPattern; 2] = [IoxPattern::PublishSubscribe, IoxPattern::RequestResponse];
    pub const ACCEPTED: &'static str = "publish-subscribe, request-response";

    pub fn name(self) -> &'static str {
        match self {
            IoxPattern::PublishSubscribe => "publish-subscribe",
            IoxPattern::RequestResponse => "request-response",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        IoxPattern::ALL.into_iter().find(|p| p.name() == value)
    }
}

/// Busy-poll or sleep until signalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaitStrategy {
    /// Spin on shared memory (raw_sync's BusyEvent): lowest latency, a core each.
    Spin,
    /// Sleep on a process-shared mutex and condition variable (raw_sync's Event).
    Block,
}

impl WaitStrategy {
    pub const ALL: [WaitStrategy; 2] = [WaitStrategy::Spin, WaitStrategy::Block];
    pub const ACCEPTED: &'static str = "spin, block";

    pub fn name(self) -> &'static str {
        match self {
            WaitStrategy::Spin => "spin",
            WaitStrategy::Block => "block",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        WaitStrategy::ALL.into_iter().find(|w| w.name() == value)
    }
}

/// Why a transport operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(transparent)]
    Peer(#[from] PeerError),
    #[error("the peer closed the connection")]
    Disconnected,
    #[error("a {len}-byte message does not fit the transport's {capacity}-byte capacity")]
    TooLarge { len: usize, capacity: usize },
    #[error("the peer wrote an impossible message header: {0}")]
    Corrupt(String),
    #[error("timed out after {0:?} waiting for the child to connect")]
    Timeout(Duration),
    #[error("bad transport setup from the parent: {0}")]
    Setup(String),
    #[error("{context}: {error}")]
    Io {
        context: &'static str,

        error: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

impl TransportError {
    pub fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        move |error| TransportError::Io { context, error }
    }
}

/// A bidirectional, message-preserving, in-order byte channel between the
/// parent and the child, used in strict alternation: a side sends its next
/// message only after it has received the peer's answer to the previous one,
/// so at most one message is in flight per direction (what lets a
/// shared-memory transport get by with one slot per direction).
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
    type Listener: 'static;

    /// The largest message this transport can carry with these options, or
    /// `None` when it has no fixed limit. Checked before the child is spawned.
    fn capacity(options: &TransportOptions) -> Option<usize>;

    /// What to change when a `max_message_bytes` message does not fit, for the
    /// start-up error (say, which setting to raise and to what).
    fn too_large_hint(_max_message_bytes: usize) -> Option<String> {
        None
    }

    /// The variant these options select, for transports that have several
    /// (raw-sync's wait strategy); recorded in results and file names.
    fn variant(_options: &TransportOptions) -> Option<&'static str> {
        None
    }

    /// Parent: creates what the child will connect to; returns it and the
    /// setup document the child needs (sent in the handshake config).
    fn listen(
        options: &TransportOptions,
    ) -> Result<(Self::Listener, serde_json::Value), TransportError>;

    /// Parent: completes the connection. Called only after the child's
    /// `connect` has returned (the child reported ready); gives up after
    /// `timeout` or as soon as `liveness` reports the child gone.
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
    /// Implementations that wait by polling use `liveness.spin_until` (or call
    /// `liveness.tick()` on each empty poll), so a gone peer ends the wait.
    fn recv(&mut self, liveness: &mut Liveness) -> Result<&[u8], TransportError>;

    /// Child only: the parent died without cleaning up. Take over removing
    /// whatever system resources it created (shared-memory regions).
    fn orphaned(&mut self) {}

    /// Finds what dead users of this transport left behind that the general
    /// sweep ([`stale::sweep_stale`]: named regions and socket directories)
    /// cannot see, and removes it unless `dry_run`. Never touches what a live
    /// process uses.
    fn sweep_stale(_dry_run: bool) -> std::io::Result<Vec<StaleResource>> {
        Ok(Vec::new())
    }
}

/// Reads the setup document a transport's `listen` wrote, on the child's side.
pub(crate) fn read_setup<S: serde::de::DeserializeOwned>(
    setup: &serde_json::Value,
) -> Result<S, TransportError> {
    S::deserialize(setup).map_err(|e| TransportError::Setup(e.to_string()))
}

/// Writes a transport's setup document for the handshake.
pub(crate) fn write_setup<S: Serialize>(setup: &S) -> Result<serde_json::Value, TransportError> {
    serde_json::to_value(setup).map_err(|e| TransportError::Other(e.to_string()))
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
    ($( $(#[$attr:meta])* $module:ident :: $ty:ident ),* $(,)?) => {
        $( $(#[$attr])* pub mod $module; )*

        /// Every transport compiled into this build, in display order.
        pub const TRANSPORTS: &[TransportInfo] = &[
            $( $(#[$attr])* TransportInfo {
                name: <$module::$ty as Transport>::NAME,
                child_bin_env: <$module::$ty as Transport>::CHILD_BIN_ENV,
            }, )*
        ];

        /// Calls `visitor` with the transport called `name`.
        pub fn dispatch<V: TransportVisitor>(name: &str, visitor: V) -> Option<V::Output> {
            match name {
                $( $(#[$attr])* n if n == <$module::$ty as Transport>::NAME => Some(visitor.visit::<$module::$ty>()), )*
                _ => None,
            }
        }
    };
}

mod shm_region;
pub mod stale;
mod stream;
pub use shm_region::remove_all_regions;
pub use stale::{sweep_stale, LeftAlone, StaleResource, SweepReport};

registry! {
    ipcc::Ipcc,
    raw_sync::RawSync,
    shared_mem_queue::SharedMemQueue,
    spin::Spin,
    #[cfg(unix)]
    pipe::Pipe,
    #[cfg(unix)]
    unix_socket::UnixSocket,
    tcp::Tcp,
    #[cfg(feature = "iceoryx2")]
    iceoryx2::Iceoryx2,
}

/// The settings that select a transport's variant; each transport looks at
/// the one it has (raw-sync the wait strategy, iceoryx2 the pattern).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VariantChoice {
    pub wait: WaitStrategy,
    pub iox_pattern: IoxPattern,
}

impl VariantChoice {
    /// Every combination of these lists.
    pub fn all(waits: &[WaitStrategy], patterns: &[IoxPattern]) -> Vec<VariantChoice> {
        waits
            .iter()
            .flat_map(|&wait| {
                patterns
                    .iter()
                    .map(move |&iox_pattern| VariantChoice { wait, iox_pattern })
            })
            .collect()
    }
}

/// The variant transport `name` runs with `choice` (`None` for transports
/// without variants, or unknown names).
pub fn variant(name: &str, choice: VariantChoice) -> Option<&'static str> {
    struct Variant(VariantChoice);
    impl TransportVisitor for Variant {
        type Output = Option<&'static str>;
        fn visit<T: Transport>(self) -> Self::Output {
            let mut options = TransportOptions::for_messages(0);
            options.wait = self.0.wait;
            options.iox_pattern = self.0.iox_pattern;
            T::variant(&options)
        }
    }
    dispatch(name, Variant(choice)).flatten()
}

/// A transport label users see and type (`raw-sync-spin`, `iceoryx2-pub-sub`,
/// `ipcc`): the transport's name, and its variant if it has several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub label: String,
    pub transport: &'static str,
    pub variant: Option<&'static str>,
    /// Settings that select this variant.
    pub choice: VariantChoice,
}

/// Every label of every transport in this build, in registry order.
pub fn labels() -> Vec<Label> {
    let mut labels: Vec<Label> = Vec::new();
    let choices = VariantChoice::all(&WaitStrategy::ALL, &IoxPattern::ALL);
    for info in TRANSPORTS {
        for &choice in &choices {
            let variant = variant(info.name, choice);
            let label = match variant {
                Some(v) => format!("{}-{v}", info.name),
                None => info.name.to_string(),
            };
            if !labels.iter().any(|l| l.label == label) {
                labels.push(Label {
                    label,
                    transport: info.name,
                    variant,
                    choice,
                });
            }
        }
    }
    labels
}

/// What every transport's own [`Transport::sweep_stale`] finds.
pub fn sweep_transports_stale(dry_run: bool) -> std::io::Result<Vec<StaleResource>> {
    struct Sweep(bool);
    impl TransportVisitor for Sweep {
        type Output = std::io::Result<Vec<StaleResource>>;
        fn visit<T: Transport>(self) -> Self::Output {
            T::sweep_stale(self.0)
        }
    }
    let mut found = Vec::new();
    for info in TRANSPORTS {
        if let Some(stale) = dispatch(info.name, Sweep(dry_run)) {
            found.extend(stale?);
        }
    }
    Ok(found)
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

/// Transports behind a Cargo feature, with the feature, so that asking a
/// build without it gets told how to get one rather than "unknown".
const FEATURE_GATED: &[(&str, &str)] = &[("iceoryx2", "iceoryx2")];

/// The Cargo feature that builds transport `name`, if it is an optional one.
pub fn feature_for(name: &str) -> Option<&'static str> {
    FEATURE_GATED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, feature)| feature)
}

/// Why `name` is not a transport of this build, for error messages.
pub fn unknown_transport_message(name: &str) -> String {
    match feature_for(name) {
        Some(feature) => format!(
            "transport '{name}' is not compiled into this executable; build with `--features {feature}` (or `--features full`)"
        ),
        None => format!("unknown transport '{name}' (known: {})", names()),
    }
}
