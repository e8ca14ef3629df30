//! iceoryx2, the zero-copy shared-memory middleware, as one more transport
//! (feature `iceoryx2`). Messages travel as `[u8]` slices loaned from
//! iceoryx2's shared memory, so every codec's bytes go through it exactly as
//! through the other transports.
//!
//! Two patterns (`--iox-pattern`):
//! - `publish-subscribe`: a ping service (parent publishes, child subscribes)
//!   and a pong service (the reverse); the receiver busy-polls `receive()`.
//! - `request-response`: one service; the parent's client sends each ping as a
//!   request and polls its pending response, the child's server polls for
//!   requests and answers each with one response.
//!
//! iceoryx2 does not notice a dead peer while busy-polling; the waits go
//! through [`Liveness`] like every other transport's. A process that dies
//! leaves its node's files and segments behind; whoever notices (the peer,
//! when its transport is dropped, or the next run's stale sweep) removes them
//! with iceoryx2's own dead-node cleanup.

//!
//! The settings and flags below are compiled in every build, so that every
//! build parses `--iox-pattern` the same way; the transport itself only with
//! the feature.

use super::RunFlags;
use serde::{Deserialize, Serialize};

/// The iceoryx2 messaging pattern a run uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
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
    pub fn name(self) -> &'static str {
        match self {
            IoxPattern::PublishSubscribe => "publish-subscribe",
            IoxPattern::RequestResponse => "request-response",
        }
    }
}

/// What the user chooses: the pattern.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub iox_pattern: IoxPattern,
}

/// `run`'s flag for iceoryx2.
#[derive(clap::Args, Debug, Clone)]
// Several transports flatten flag structs of the same name: no clap group.
#[group(skip)]
pub struct Flags {
    /// Which iceoryx2 messaging pattern carries the messages: publish-subscribe (a ping and a pong
    /// service) or request-response (one service, the parent as client).
    #[arg(long, env = "IOX_PATTERN", default_value = "publish-subscribe",
          value_parser = crate::util::parse::enum_parser::<IoxPattern>("iceoryx2 pattern", "IOX_PATTERN"))]
    pub iox_pattern: IoxPattern,
}

impl RunFlags for Flags {
    type Config = Config;
    fn config(&self) -> Config {
        Config {
            iox_pattern: self.iox_pattern,
        }
    }
}

/// `matrix`'s flag for iceoryx2: the patterns to include.
#[derive(clap::Args, Debug, Clone)]
// Several transports flatten flag structs of the same name: no clap group.
#[group(skip)]
pub struct MatrixFlags {
    /// iceoryx2 messaging patterns to include, comma-separated: publish-subscribe, request-response.
    #[arg(long, value_delimiter = ',', default_value = "publish-subscribe",
          value_parser = crate::util::parse::enum_parser::<IoxPattern>("iceoryx2 pattern", "--iox-patterns"))]
    pub iox_patterns: Vec<IoxPattern>,
}

impl super::MatrixFlags for MatrixFlags {
    type Config = Config;
    fn configs(&self) -> Vec<Config> {
        self.iox_patterns
            .iter()
            .map(|&iox_pattern| Config { iox_pattern })
            .collect()
    }
}

#[cfg(feature = "iceoryx2")]
pub use imp::Iceoryx2;

/// The transport, with the feature.
#[cfg(feature = "iceoryx2")]
mod imp {
    use super::super::stale::StaleResource;
    use super::super::{Options, Transport, TransportError};
    use super::IoxPattern;
    use crate::transport::liveness::Liveness;
    use ::iceoryx2::active_request::ActiveRequest;
    use ::iceoryx2::node::NodeView;
    use ::iceoryx2::pending_response::PendingResponse;
    use ::iceoryx2::port::client::Client;
    use ::iceoryx2::port::publisher::Publisher;
    use ::iceoryx2::port::server::Server;
    use ::iceoryx2::port::subscriber::Subscriber;
    use ::iceoryx2::prelude::*;
    use ::iceoryx2::response::Response;
    use ::iceoryx2::sample::Sample;
    use ::iceoryx2::service::port_factory::publish_subscribe::PortFactory as PubSubService;
    use ::iceoryx2::service::port_factory::request_response::PortFactory as ReqResService;
    use serde::{Deserialize, Serialize};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{Duration, Instant};

    type Svc = ipc::Service;
    // Every port carries byte slices and no user header.
    type Bytes = [u8];
    type BytesPublisher = Publisher<Svc, Bytes, ()>;
    type BytesSubscriber = Subscriber<Svc, Bytes, ()>;
    type BytesSample = Sample<Svc, Bytes, ()>;
    type PubSub = PubSubService<Svc, Bytes, ()>;
    type ReqRes = ReqResService<Svc, Bytes, (), Bytes, ()>;
    type BytesClient = Client<Svc, Bytes, (), Bytes, ()>;
    type BytesServer = Server<Svc, Bytes, (), Bytes, ()>;
    type Pending = PendingResponse<Svc, Bytes, (), Bytes, ()>;
    type BytesResponse = Response<Svc, Bytes, ()>;
    type Active = ActiveRequest<Svc, Bytes, (), Bytes, ()>;

    /// What the child needs: the names of the services the parent created.
    #[derive(Debug, Serialize, Deserialize)]
    pub struct Setup {
        /// Prefix of this run's service names; unique per parent process and run.
        service: String,
    }

    impl Setup {
        fn name(&self, suffix: &str) -> Result<ServiceName, TransportError> {
            let name = format!("{}/{suffix}", self.service);
            ServiceName::new(&name)
                .map_err(|e| TransportError::Setup(format!("service name {name:?}: {e:?}")))
        }
    }

    static NEXT_SERVICE: AtomicU32 = AtomicU32::new(0);

    /// A configuration built in code, so iceoryx2 does not look for (and warn
    /// about the absence of) a config file on every run.
    fn config() -> Config {
        Config::default()
    }

    fn node() -> Result<Node<Svc>, TransportError> {
        // Quiet unless asked otherwise (IOX2_LOG_LEVEL): its warnings about a dead
        // peer's leftovers are expected here and reported our own way.
        set_log_level_from_env_or(LogLevel::Error);
        NodeBuilder::new()
            .config(&config())
            // Ctrl-C and SIGTERM are ours to handle (see liveness).
            .signal_handling_mode(SignalHandlingMode::Disabled)
            .create::<Svc>()
            .map_err(|e| iox_error("creating the iceoryx2 node", e))
    }

    fn iox_error(context: &str, error: impl std::fmt::Debug) -> TransportError {
        TransportError::Other(format!("{context}: {error:?}"))
    }

    /// The largest subscriber buffer, so the largest stream window, asked
    /// of iceoryx2: each slot is a sample of the publisher's data segment.
    const MAX_SUBSCRIBER_BUFFER: usize = 4096;

    /// The slice length services are created with: iceoryx2 needs at least one.
    fn slice_len(options: &Options<super::Config>) -> usize {
        options.max_message_bytes.max(1)
    }

    /// The two ends of the pattern in use.
    enum Ends {
        PubSub {
            publisher: BytesPublisher,
            subscriber: BytesSubscriber,
            /// The last message received, kept until the next `recv` so the
            /// returned slice stays valid (the sample is a loan from the sender).
            received: Option<BytesSample>,
            // Kept for the connection checks, and so the services live as long as
            // the ports.
            ping: PubSub,
            pong: PubSub,
        },
        Client {
            client: BytesClient,
            pending: Option<Pending>,
            received: Option<BytesResponse>,
            service: ReqRes,
        },
        Server {
            server: BytesServer,
            /// The request being answered: its payload is what `recv` returned,
            /// and the response must go to it.
            active: Option<Active>,
            service: ReqRes,
        },
    }

    pub struct Iceoryx2 {
        ends: Ends,
        capacity: usize,
        // Declared last: dropped after the ports, as iceoryx2 requires.
        node: Node<Svc>,
    }

    pub struct Listener {
        transport: Iceoryx2,
    }

    fn pub_sub(
        node: &Node<Svc>,
        setup: &Setup,
        options: &Options<super::Config>,
        parent: bool,
    ) -> Result<Ends, TransportError> {
        let open = |suffix: &str| {
            // As iceoryx2's own benchmarks set their services up: one port
            // of each kind, no history, a buffer of one (a ping-pong never has
            // more in flight), and safe overflow. A stream's buffer holds its
            // window: the engine never has more unacknowledged, so nothing
            // is ever overwritten (and the child's order check would see it).
            let builder = node
                .service_builder(&setup.name(suffix)?)
                .publish_subscribe::<Bytes>()
                .max_publishers(1)
                .max_subscribers(1)
                .history_size(0)
                .subscriber_max_buffer_size(options.window.max(1))
                .enable_safe_overflow(true);
            if parent {
                builder
                    .create()
                    .map_err(|e| iox_error("creating an iceoryx2 service", e))
            } else {
                builder
                    .open()
                    .map_err(|e| iox_error("opening the parent's iceoryx2 service", e))
            }
        };
        let (ping, pong) = (open("ping")?, open("pong")?);
        let (outgoing, incoming) = if parent {
            (&ping, &pong)
        } else {
            (&pong, &ping)
        };
        let publisher = outgoing
            .publisher_builder()
            .initial_max_slice_len(slice_len(options))
            .create()
            .map_err(|e| iox_error("creating the iceoryx2 publisher", e))?;
        let subscriber = incoming
            .subscriber_builder()
            .create()
            .map_err(|e| iox_error("creating the iceoryx2 subscriber", e))?;
        Ok(Ends::PubSub {
            publisher,
            subscriber,
            received: None,
            ping,
            pong,
        })
    }

    fn req_res(
        node: &Node<Svc>,
        setup: &Setup,
        options: &Options<super::Config>,
        parent: bool,
    ) -> Result<Ends, TransportError> {
        // One client, one server, one request in flight, a response buffer
        // of one: as iceoryx2's request-response benchmark.
        let builder = node
            .service_builder(&setup.name("rpc")?)
            .request_response::<Bytes, Bytes>()
            .max_clients(1)
            .max_servers(1)
            .max_active_requests_per_client(1)
            .max_response_buffer_size(1);
        if parent {
            let service = builder
                .create()
                .map_err(|e| iox_error("creating an iceoryx2 service", e))?;
            let client = service
                .client_builder()
                .initial_max_slice_len(slice_len(options))
                .create()
                .map_err(|e| iox_error("creating the iceoryx2 client", e))?;
            Ok(Ends::Client {
                client,
                pending: None,
                received: None,
                service,
            })
        } else {
            let service = builder
                .open()
                .map_err(|e| iox_error("opening the parent's iceoryx2 service", e))?;
            let server = service
                .server_builder()
                .initial_max_slice_len(slice_len(options))
                .create()
                .map_err(|e| iox_error("creating the iceoryx2 server", e))?;
            Ok(Ends::Server {
                server,
                active: None,
                service,
            })
        }
    }

    impl Iceoryx2 {
        fn build(
            setup: &Setup,
            options: &Options<super::Config>,
            parent: bool,
        ) -> Result<Self, TransportError> {
            let node = node()?;
            let ends = match options.config.iox_pattern {
                IoxPattern::PublishSubscribe => pub_sub(&node, setup, options, parent)?,
                IoxPattern::RequestResponse => req_res(&node, setup, options, parent)?,
            };
            Ok(Iceoryx2 {
                ends,
                capacity: slice_len(options),
                node,
            })
        }

        /// Whether the peer's ports exist: iceoryx2 delivers only to ports
        /// connected when a message is sent, and `send` succeeds with nobody
        /// listening, so the first ping must not go out before this holds.
        fn peer_connected(&self) -> bool {
            match &self.ends {
                Ends::PubSub { ping, pong, .. } => {
                    ping.dynamic_config().number_of_subscribers() >= 1
                        && pong.dynamic_config().number_of_publishers() >= 1
                }
                Ends::Client { service, .. } => service.dynamic_config().number_of_servers() >= 1,
                Ends::Server { service, .. } => service.dynamic_config().number_of_clients() >= 1,
            }
        }
    }

    impl Drop for Iceoryx2 {
        fn drop(&mut self) {
            // If the peer died, its node's files and segments are still there and
            // nobody else will remove them; normally there is nothing to do.
            let _ = self.node.try_cleanup_dead_nodes();
        }
    }

    impl Transport for Iceoryx2 {
        const NAME: &'static str = "iceoryx2";
        const CHILD_BIN_ENV: &'static str = "ICEORYX2_CHILD_BIN_PATH";

        type Config = super::Config;
        type Setup = Setup;
        type Listener = Listener;

        fn capacity(options: &Options<super::Config>) -> Option<usize> {
            Some(slice_len(options))
        }

        fn max_window(options: &Options<super::Config>) -> Option<usize> {
            match options.config.iox_pattern {
                // The subscriber's buffer is sized to the window.
                IoxPattern::PublishSubscribe => Some(MAX_SUBSCRIBER_BUFFER),
                // Every request expects its own response; a stream's child
                // answers only every half window.
                IoxPattern::RequestResponse => Some(1),
            }
        }

        fn window_hint(options: &Options<super::Config>) -> Option<String> {
            (options.config.iox_pattern == IoxPattern::RequestResponse).then(|| {
                "request-response answers every request; stream with --iox-pattern publish-subscribe"
                    .to_string()
            })
        }

        fn variants() -> Vec<super::Config> {
            [IoxPattern::PublishSubscribe, IoxPattern::RequestResponse]
                .map(|iox_pattern| super::Config { iox_pattern })
                .to_vec()
        }

        fn variant(config: &super::Config) -> Option<String> {
            let variant = match config.iox_pattern {
                IoxPattern::PublishSubscribe => "pub-sub",
                IoxPattern::RequestResponse => "req-res",
            };
            Some(variant.to_string())
        }

        fn flags(config: &super::Config) -> Vec<String> {
            vec!["--iox-pattern".into(), config.iox_pattern.name().into()]
        }

        fn listen(options: &Options<super::Config>) -> Result<(Listener, Setup), TransportError> {
            let setup = Setup {
                service: format!(
                    "ipc-bench/{}/{}",
                    std::process::id(),
                    NEXT_SERVICE.fetch_add(1, Ordering::Relaxed)
                ),
            };
            let transport = Iceoryx2::build(&setup, options, true)?;
            Ok((Listener { transport }, setup))
        }

        fn accept(
            listener: Listener,
            _options: &Options<super::Config>,
            liveness: &mut Liveness,
            timeout: Duration,
        ) -> Result<Self, TransportError> {
            let transport = listener.transport;
            let deadline = Instant::now() + timeout;
            while !transport.peer_connected() {
                liveness.check_now()?;
                if Instant::now() > deadline {
                    return Err(TransportError::Timeout(timeout));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(transport)
        }

        fn connect(
            setup: &Setup,
            options: &Options<super::Config>,
            _liveness: &mut Liveness,
        ) -> Result<Self, TransportError> {
            let transport = Iceoryx2::build(setup, options, false)?;
            // The parent created its ports before starting us; if they are gone,
            // so is the parent's side of the run.
            if !transport.peer_connected() {
                return Err(TransportError::Setup(format!(
                    "the parent's ports on {} are gone",
                    setup.service
                )));
            }
            Ok(transport)
        }

        // Received samples are read where they lie in iceoryx2's shared
        // memory. Sending copies: a slice sample has the length it was loaned
        // with, and a message's length is known only once it is encoded.
        const RECEIVE_IN_PLACE_FROM: Option<usize> = Some(0);

        fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
            if message.len() > self.capacity {
                return Err(TransportError::TooLarge {
                    len: message.len(),
                    capacity: self.capacity,
                });
            }
            match &mut self.ends {
                Ends::PubSub {
                    publisher,
                    received,
                    ..
                } => {
                    // The message we answer is no longer needed: hand its sample
                    // back before ours goes out.
                    *received = None;
                    let sample = publisher
                        .loan_slice_uninit(message.len())
                        .map_err(|e| iox_error("loaning a sample", e))?;
                    sample
                        .write_from_slice(message)
                        .send()
                        .map_err(|e| iox_error("sending a sample", e))?;
                }
                Ends::Client {
                    client,
                    pending,
                    received,
                    ..
                } => {
                    // The previous exchange is over: release its response and request.
                    *received = None;
                    *pending = None;
                    let request = client
                        .loan_slice_uninit(message.len())
                        .map_err(|e| iox_error("loaning a request", e))?;
                    *pending = Some(
                        request
                            .write_from_slice(message)
                            .send()
                            .map_err(|e| iox_error("sending a request", e))?,
                    );
                }
                Ends::Server { active, .. } => {
                    let request = active
                        .take()
                        .ok_or_else(|| TransportError::Other("no request to answer".into()))?;
                    let response = request
                        .loan_slice_uninit(message.len())
                        .map_err(|e| iox_error("loaning a response", e))?;
                    response
                        .write_from_slice(message)
                        .send()
                        .map_err(|e| iox_error("sending a response", e))?;
                }
            }
            Ok(())
        }

        fn recv(&mut self, liveness: &mut Liveness) -> Result<&[u8], TransportError> {
            // Each poll returns `Some` on a message or an error, `None` while
            // there is nothing yet.
            fn ready<T, E: std::fmt::Debug>(
                polled: Result<Option<T>, E>,
            ) -> Option<Result<T, TransportError>> {
                match polled {
                    Ok(None) => None,
                    Ok(Some(value)) => Some(Ok(value)),
                    Err(e) => Some(Err(iox_error("receiving", e))),
                }
            }
            match &mut self.ends {
                Ends::PubSub {
                    subscriber,
                    received,
                    ..
                } => {
                    // Release the previous sample before waiting for the next.
                    *received = None;
                    let sample = liveness.spin_until(|| ready(subscriber.receive()))??;
                    Ok(received.insert(sample).payload())
                }
                Ends::Client {
                    pending, received, ..
                } => {
                    let waiting = pending.as_ref().ok_or_else(|| {
                        TransportError::Other("no request awaiting a response".into())
                    })?;
                    let response = liveness.spin_until(|| ready(waiting.receive()))??;
                    Ok(received.insert(response).payload())
                }
                Ends::Server { server, active, .. } => {
                    *active = None;
                    let request = liveness.spin_until(|| ready(server.receive()))??;
                    Ok(active.insert(request).payload())
                }
            }
        }

        fn remove_dead_peers(pid: u32) -> Vec<StaleResource> {
            let mut removed = Vec::new();
            let _ = Node::<Svc>::list(&config(), |state| {
                if let NodeState::Dead(view) = state {
                    let owner = view.details().as_ref().map(|d| d.process_id().value());
                    if owner.is_some_and(|owner| owner as u32 == pid) {
                        let node = view.id().value().to_string();
                        if view.try_remove_stale_resources().is_ok() {
                            removed.push(StaleResource {
                                kind: "iceoryx2 node",
                                path: node.into(),
                                pid,
                            });
                        }
                    }
                }
                CallbackProgression::Continue
            });
            removed
        }

        fn sweep_stale(dry_run: bool) -> std::io::Result<Vec<StaleResource>> {
            let mut dead = Vec::new();
            let listed = Node::<Svc>::list(&config(), |state| {
                if let NodeState::Dead(view) = state {
                    let pid = view
                        .details()
                        .as_ref()
                        .map_or(0, |d| d.process_id().value() as u32);
                    dead.push(StaleResource {
                        kind: "iceoryx2 node",
                        path: view.id().value().to_string().into(),
                        pid,
                    });
                }
                CallbackProgression::Continue
            });
            listed.map_err(|e| std::io::Error::other(format!("listing iceoryx2 nodes: {e:?}")))?;
            if !dry_run && !dead.is_empty() {
                let node = node().map_err(|e| std::io::Error::other(e.to_string()))?;
                let state = node.try_cleanup_dead_nodes();
                if state.failed_cleanups > 0 {
                    return Err(std::io::Error::other(format!(
                    "iceoryx2 could not remove {} of {} dead nodes (another user's, or being removed by another process)",
                    state.failed_cleanups,
                    dead.len()
                )));
                }
            }
            Ok(dead)
        }
    }
}
