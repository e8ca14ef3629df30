//! The [`Transport`] trait: byte messages between the parent and its child,
//! and the registry of every transport with its settings and flags.
//!
//! A transport only moves opaque byte messages; codecs and verification live
//! above it, so every transport carries exactly the same bytes. Each owns its
//! settings (`Transport::Config`), what the parent hands the child
//! (`Transport::Setup`) and its flags (`Flags`, `MatrixFlags` in its file);
//! the layers above carry a config as an opaque JSON value. Adding one is a
//! file in this folder and one line in [`registry!`] below.

use crate::transport::liveness::{Liveness, PeerError};
use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;
use std::time::Duration;

/// A transport's own settings, chosen by the user (raw-sync's wait strategy,
/// iceoryx2's pattern, shared-mem-queue's region size). The layers above the
/// transports carry it as an opaque JSON value: a matrix case, the handshake
/// and a label each hold one without knowing what is inside.
pub trait Config:
    Serialize + DeserializeOwned + Clone + Debug + Default + PartialEq + Send + Sync + 'static
{
}
impl<T> Config for T where
    T: Serialize + DeserializeOwned + Clone + Debug + Default + PartialEq + Send + Sync + 'static
{
}

/// The `run` flags of one transport (declared in its file, next to its
/// [`Config`]); the CLI flattens every transport's into one set.
pub trait RunFlags: clap::Args + clap::FromArgMatches + Clone + Debug + Send + Sync {
    type Config: Config;
    fn config(&self) -> Self::Config;
}

/// The `matrix` flags of one transport: which of its variants to include.
pub trait MatrixFlags: clap::Args + clap::FromArgMatches + Clone + Debug + Send + Sync {
    type Config: Config;
    fn configs(&self) -> Vec<Self::Config>;
}

/// The flags of a transport without settings: none.
#[derive(clap::Args, Debug, Clone, Default)]
// Several transports flatten flag structs of the same name: no clap group.
#[group(skip)]
pub struct NoFlags {}

impl RunFlags for NoFlags {
    type Config = ();
    fn config(&self) {}
}

impl MatrixFlags for NoFlags {
    type Config = ();
    fn configs(&self) -> Vec<()> {
        vec![()]
    }
}

/// What a transport is set up with, identical on both sides: the longest
/// message either side will send, how many may be in flight each way, and
/// the transport's own settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Options<C> {
    pub max_message_bytes: usize,
    /// Messages a side may send before it receives anything back: 1 for a
    /// ping-pong, the window for a stream (see [`Transport::max_window`]).
    pub window: usize,
    pub config: C,
}

impl<C> Options<C> {
    /// Options for a ping-pong: one message in flight each way.
    pub fn ping_pong(max_message_bytes: usize, config: C) -> Self {
        Options {
            max_message_bytes,
            window: 1,
            config,
        }
    }
}

/// The child's ends of the pipes that become its STDIN and STDOUT (see
/// [`Transport::child_stdio`]).
#[cfg(unix)]
#[derive(Debug)]
pub struct ChildStdio {
    pub stdin: std::os::fd::OwnedFd,
    pub stdout: std::os::fd::OwnedFd,
}

/// The pattern a case's messages follow, as far as a transport may refuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrafficKind {
    /// Each request waits for its answer (one child or a fan-out).
    ClosedLoop,
    /// Requests on a schedule, each waiting for its answer.
    FixedRate,
    /// Messages one way within a window, acknowledged in counts.
    Stream,
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
/// parent and the child, used within a window: a side sends message
/// `n + window` only after it has received a message the peer sent after
/// taking message `n` (with a window of one, strict alternation: a ping,
/// its pong). So at most `window` messages are in flight per direction,
/// which is what lets a shared-memory transport get by with a ring of
/// `window` slots each way.
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

    /// Whether `ipc-bench matrix` runs it when no `--transports` are given:
    /// the default matrix holds the seed's transports, the kernel and
    /// shared-memory baselines and the links most services use, and stays
    /// a few minutes long; the rest are a `--transports` away.
    const IN_DEFAULT_MATRIX: bool = true;

    /// What the user chooses for this transport; `()` when nothing.
    type Config: Config;
    /// What the parent hands the child in the handshake (names, sizes, ...);
    /// the child must check every size in it before mapping or writing.
    type Setup: Serialize + DeserializeOwned;
    /// Parent-side state between `listen` and `accept`.
    type Listener: 'static;

    /// Every variant this transport has, one config each (raw-sync: spin and
    /// block); the suites and the labels come from them.
    fn variants() -> Vec<Self::Config> {
        vec![Self::Config::default()]
    }

    /// The variant `config` selects, for transports that have several;
    /// recorded in results and file names (`raw-sync-spin`).
    fn variant(_config: &Self::Config) -> Option<String> {
        None
    }

    /// The `run` flags that select `config` (for reproducing a case, and
    /// for the suites that run every variant through the CLI).
    fn flags(_config: &Self::Config) -> Vec<String> {
        Vec::new()
    }

    /// The largest message this transport can carry with these options, or
    /// `None` when it has no fixed limit. Checked before the child is spawned.
    fn capacity(options: &Options<Self::Config>) -> Option<usize>;

    /// What to change when a `max_message_bytes` message does not fit, for the
    /// start-up error (say, which setting to raise and to what).
    fn too_large_hint(_max_message_bytes: usize) -> Option<String> {
        None
    }

    /// The most messages this transport holds in flight each way with these
    /// options (their `window` aside), or `None` when it has no limit: a
    /// kernel buffer or a crate's queue makes a sender wait when full, with
    /// no harm. Checked before the child is spawned; the default, one, is
    /// what any transport that works in a ping-pong carries.
    fn max_window(_options: &Options<Self::Config>) -> Option<usize> {
        Some(1)
    }

    /// What to change when `options.window` exceeds [`max_window`](Transport::max_window),
    /// for the start-up error.
    fn window_hint(_options: &Options<Self::Config>) -> Option<String> {
        None
    }

    /// The facts of this mechanism a reader of its results needs beside the
    /// figures, as a JSON object for the result file: by default the
    /// config's own fields (a wait, a framing, a runtime); transports add
    /// the system limits in force.
    fn facts(options: &Options<Self::Config>) -> serde_json::Map<String, serde_json::Value> {
        match encode_config(&options.config) {
            serde_json::Value::Object(fields) => fields,
            _ => serde_json::Map::new(),
        }
    }

    /// Parent: creates what the child will connect to; returns it and the
    /// setup the child needs (sent in the handshake).
    fn listen(
        options: &Options<Self::Config>,
    ) -> Result<(Self::Listener, Self::Setup), TransportError>;

    /// Parent: completes the connection. Called only after the child's
    /// `connect` has returned (the child reported ready); gives up after
    /// `timeout` or as soon as `liveness` reports the child gone.
    fn accept(
        listener: Self::Listener,
        options: &Options<Self::Config>,
        liveness: &mut Liveness,
        timeout: Duration,
    ) -> Result<Self, TransportError>;

    /// Child: connects using the parent's setup.
    fn connect(
        setup: &Self::Setup,
        options: &Options<Self::Config>,
        liveness: &mut Liveness,
    ) -> Result<Self, TransportError>;

    /// Sends one message (copying it into the mechanism: a slot, a socket).
    fn send(&mut self, message: &[u8]) -> Result<(), TransportError>;

    /// The shortest message worth encoding straight into the outgoing
    /// slot, which [`loan`](Transport::loan) then lends; `None` when the
    /// transport lends none (sockets, pipes and byte queues copy anyway).
    /// Below it a codec's scattered writes into memory the peer is about to
    /// read cost more than encoding into a local buffer and copying that in
    /// one sweep (see `IN_PLACE_FROM` in `shm_region`).
    const LEND_FROM: Option<usize> = None;

    /// The shortest message [`recv`](Transport::recv) hands out where it
    /// lies in shared memory, for the receiver to decode in place; shorter
    /// ones (or all, when `None`) are copied out first.
    const RECEIVE_IN_PLACE_FROM: Option<usize> = None;

    /// The outgoing slot, writable, its full capacity long, for the next
    /// message; send it with [`send_loaned`](Transport::send_loaned). `None`
    /// unless [`LEND_FROM`](Transport::LEND_FROM) is set.
    fn loan(&mut self) -> Option<&mut [u8]> {
        None
    }

    /// Sends the first `len` bytes written into the slice [`loan`](Transport::loan) returned.
    fn send_loaned(&mut self, len: usize) -> Result<(), TransportError> {
        let _ = len;
        Err(TransportError::Other(format!(
            "{} lends no slot to send from",
            Self::NAME
        )))
    }

    /// Waits for the next message. The slice stays valid until the next call.
    /// Implementations that wait by polling use `liveness.spin_until` (or call
    /// `liveness.tick()` on each empty poll), so a gone peer ends the wait.
    fn recv(&mut self, liveness: &mut Liveness) -> Result<&[u8], TransportError>;

    /// For a transport that carries messages on the child's own STDIN and
    /// STDOUT: takes the two pipe ends the child gets as them out of the
    /// listener (and tells the setup the child will find them at 0 and 1).
    /// The parent then hands the child its configuration and reads its
    /// reports on channels of their own. `None` for every other transport.
    #[cfg(unix)]
    fn child_stdio(_listener: &mut Self::Listener, _setup: &mut Self::Setup) -> Option<ChildStdio> {
        None
    }

    /// Why this transport cannot carry a case with `config`: `codec`'s
    /// messages, or `traffic` (a stream's acknowledgements are binary counts;
    /// the async engine runs closed loops), as the one-line start-up error
    /// naming the flag; `None` when it can. (stdio's line framing carries
    /// text only.)
    fn refuses(_config: &Self::Config, _codec: &str, _traffic: TrafficKind) -> Option<String> {
        None
    }

    /// Child only: the run failed (most often because the parent died) and
    /// the parent may never clean up. Take over removing whatever named
    /// system resources it created (shared-memory regions); removing a name
    /// twice must be harmless, since a surviving parent removes it too.
    fn orphaned(&mut self) {}

    /// Finds what dead users of this transport left behind that the general
    /// sweep ([`stale::sweep_stale`]: named regions and socket directories)
    /// cannot see, and removes it unless `dry_run`. Never touches what a live
    /// process uses.
    fn sweep_stale(_dry_run: bool) -> std::io::Result<Vec<StaleResource>> {
        Ok(Vec::new())
    }

    /// Before a forced exit (the peer died and the run did not end): removes
    /// what the dead process `pid` left of this transport that only the
    /// transport can see and no destructor will now remove (iceoryx2: that
    /// process's dead nodes). Only what `pid` left, and only once it is dead.
    fn remove_dead_peers(_pid: u32) -> Vec<StaleResource> {
        Vec::new()
    }
}

/// A transport whose messages are awaited inside an async runtime (tokio):
/// the engine runs both sides' loops as a task of a runtime of the
/// connection's [`runtime`](Awaited::runtime) flavour, attaches the
/// connection inside it, and awaits every message, so a figure includes
/// what an async service pays (the reactor's wake-ups, the task's
/// scheduling) rather than a blocking call wrapped in a runtime. Listed in
/// the registry with `(awaited)`.
#[cfg(feature = "tokio")]
pub trait Awaited: Transport + Send + 'static {
    /// The runtime flavour both processes run their loops in.
    fn runtime(&self) -> tokio::Runtime;

    /// Hands the connection to the runtime this is called inside (once,
    /// before the first message).
    fn attach(&mut self) -> Result<(), TransportError>;

    /// Sends one message, awaiting room in the socket.
    fn send_awaited(
        &mut self,
        message: &[u8],
    ) -> impl std::future::Future<Output = Result<(), TransportError>> + Send;

    /// Awaits the next message. The slice stays valid until the next call.
    fn recv_awaited(
        &mut self,
    ) -> impl std::future::Future<Output = Result<&[u8], TransportError>> + Send;
}

/// Why transport `id` with `config` (opaque form) refuses `codec`'s
/// messages or `traffic`, if it does (see [`Transport::refuses`]).
pub fn refusal(
    id: TransportId,
    config: &serde_json::Value,
    codec: &str,
    traffic: TrafficKind,
) -> Option<String> {
    struct Refusal<'a>(&'a serde_json::Value, &'a str, TrafficKind);
    impl TransportVisitor for Refusal<'_> {
        type Output = Option<String>;
        fn visit<T: Transport>(self) -> Option<String> {
            let config = decode_config::<T::Config>(self.0).ok()?;
            T::refuses(&config, self.1, self.2)
        }
    }
    dispatch(id, Refusal(config, codec, traffic))
}

/// A transport's config from its opaque form (a matrix case, the handshake).
pub fn decode_config<C: Config>(value: &serde_json::Value) -> Result<C, TransportError> {
    C::deserialize(value).map_err(|e| TransportError::Setup(format!("transport config: {e}")))
}

/// A transport's config in its opaque form.
pub fn encode_config<C: Config>(config: &C) -> serde_json::Value {
    // Configs are plain structs and enums of numbers and strings, which JSON
    // always represents (only maps with non-string keys could fail).
    serde_json::to_value(config).expect("a transport config serializes")
}

/// Runs generic code with a transport chosen at run time.
pub trait TransportVisitor {
    type Output;
    fn visit<T: Transport>(self) -> Self::Output;

    /// For a transport whose messages are awaited ([`Awaited`]); unless a
    /// visitor runs messages, it sees it as any other.
    #[cfg(feature = "tokio")]
    fn visit_awaited<T: Awaited>(self) -> Self::Output
    where
        Self: Sized,
    {
        self.visit::<T>()
    }
}

/// Static facts about one registered transport.
#[derive(Debug, Clone, Copy)]
pub struct TransportInfo {
    pub id: TransportId,
    pub name: &'static str,
    pub child_bin_env: &'static str,
    /// Whether `ipc-bench matrix` runs it when no `--transports` are given.
    pub in_default_matrix: bool,
}

/// The registry. Each entry is `module::Type`, optionally `[feature =
/// "name"]` for a transport behind a Cargo feature: its module (and so its
/// flags) is compiled in every build, its transport only with the feature, so
/// every build parses the same flags and can say which feature a transport
/// needs; then `(awaited)` for one whose messages are awaited ([`Awaited`]).
/// `#[cfg(...)]` before an entry leaves it out entirely.
macro_rules! registry {
    (@visit $visitor:ident, $module:ident :: $ty:ident) => {
        $visitor.visit::<$module::$ty>()
    };
    (@visit $visitor:ident, $module:ident :: $ty:ident, awaited) => {
        $visitor.visit_awaited::<$module::$ty>()
    };
    ($( $(#[$attr:meta])* $module:ident :: $ty:ident $([feature = $feature:literal])? $(($awaited:ident))? ),* $(,)?) => {
        $( $(#[$attr])* pub mod $module; )*

        /// A transport compiled into this build. Built only from the
        /// registry (parsing a name, or [`TRANSPORTS`]), so every lookup
        /// through it succeeds.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum TransportId {
            $( $(#[$attr])* $(#[cfg(feature = $feature)])? $ty, )*
        }

        /// Every transport compiled into this build, in display order.
        pub const TRANSPORTS: &[TransportInfo] = &[
            $( $(#[$attr])* $(#[cfg(feature = $feature)])? TransportId::$ty.info(), )*
        ];

        /// Transports behind a Cargo feature, with the feature, so that
        /// asking a build without it gets told how to get one (a gated
        /// transport's module bears its name).
        const FEATURE_GATED: &[(&str, &str)] = &[
            $( $( (stringify!($module), $feature), )? )*
        ];

        impl TransportId {
            /// The facts the registry holds about this transport.
            pub const fn info(self) -> TransportInfo {
                match self {
                    $( $(#[$attr])* $(#[cfg(feature = $feature)])? TransportId::$ty => TransportInfo {
                        id: self,
                        name: <$module::$ty as Transport>::NAME,
                        child_bin_env: <$module::$ty as Transport>::CHILD_BIN_ENV,
                        in_default_matrix: <$module::$ty as Transport>::IN_DEFAULT_MATRIX,
                    }, )*
                }
            }
        }

        /// Calls `visitor` with the transport `id` names.
        pub fn dispatch<V: TransportVisitor>(id: TransportId, visitor: V) -> V::Output {
            match id {
                $( $(#[$attr])* $(#[cfg(feature = $feature)])? TransportId::$ty => registry!(@visit visitor, $module::$ty $(, $awaited)?), )*
            }
        }

        /// The `run` flags of every transport, flattened into `run`'s own.
        #[derive(clap::Args, Debug, Clone)]
        pub struct AllRunFlags {
            $( $(#[$attr])* #[command(flatten)] pub $module: $module::Flags, )*
        }

        /// The `matrix` flags of every transport, flattened into `matrix`'s own.
        #[derive(clap::Args, Debug, Clone)]
        pub struct AllMatrixFlags {
            $( $(#[$attr])* #[command(flatten)] pub $module: $module::MatrixFlags, )*
        }

        impl AllRunFlags {
            /// The config the flags give transport `id`, in its opaque form.
            pub fn config_of(&self, id: TransportId) -> serde_json::Value {
                match id {
                    $( $(#[$attr])* $(#[cfg(feature = $feature)])? TransportId::$ty => {
                        encode_config::<<$module::$ty as Transport>::Config>(&RunFlags::config(&self.$module))
                    } )*
                }
            }
        }

        impl AllMatrixFlags {
            /// The configs (variants) the flags select for transport `id`.
            pub fn configs_of(&self, id: TransportId) -> Vec<serde_json::Value> {
                match id {
                    $( $(#[$attr])* $(#[cfg(feature = $feature)])? TransportId::$ty => {
                        MatrixFlags::configs(&self.$module)
                            .iter()
                            .map(encode_config::<<$module::$ty as Transport>::Config>)
                            .collect()
                    } )*
                }
            }
        }
    };
}

#[cfg(unix)]
pub mod fds;
mod label;
pub mod liveness;
mod shm_region;
mod slot_ring;
pub mod stale;
mod stream;
pub use label::{
    feature_for, label, label_text, labels, lookup, names, unknown_transport_message, Label,
};
pub use shm_region::remove_all_regions;
pub use stale::{sweep_stale, LeftAlone, StaleResource, SweepReport};

registry! {
    ipcc::Ipcc,
    raw_sync::RawSync,
    shared_mem_queue::SharedMemQueue,
    spin::Spin,
    #[cfg(target_os = "linux")]
    futex::Futex,
    #[cfg(unix)]
    pipe::Pipe,
    #[cfg(unix)]
    stdio::Stdio,
    #[cfg(unix)]
    unix_socket::UnixSocket,
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd", target_os = "netbsd", target_os = "openbsd"))]
    unix_datagram::UnixDatagram,
    tcp::Tcp,
    udp::Udp,
    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
    posix_mq::PosixMq,
    iceoryx2::Iceoryx2 [feature = "iceoryx2"],
    #[cfg(unix)]
    tokio::Tokio [feature = "tokio"] (awaited),
}

impl TransportId {
    /// The transport called `name`, or why there is none in this build.
    pub fn parse(name: &str) -> Result<Self, String> {
        lookup(name)
            .map(|info| info.id)
            .ok_or_else(|| unknown_transport_message(name))
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }
}

impl std::fmt::Display for TransportId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a process forced to exit removes first, since its destructors will
/// not run: the shared-memory regions it mapped, and what its dead peer
/// `peer_pid` left that only a transport can see
/// ([`Transport::remove_dead_peers`]). Each removal is said on stderr.
pub fn clean_up_before_forced_exit(peer_pid: u32) {
    remove_all_regions();
    struct Remove(u32);
    impl TransportVisitor for Remove {
        type Output = Vec<StaleResource>;
        fn visit<T: Transport>(self) -> Self::Output {
            T::remove_dead_peers(self.0)
        }
    }
    for info in TRANSPORTS {
        for removed in dispatch(info.id, Remove(peer_pid)) {
            eprintln!(
                "removed the {} {} of the dead process {}",
                removed.kind,
                removed.path.display(),
                removed.pid
            );
        }
    }
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
        found.extend(dispatch(info.id, Sweep(dry_run))?);
    }
    Ok(found)
}
