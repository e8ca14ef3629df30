//! The child role: read the config from STDIN, connect, answer pings, report.
//!
//! Any ipc-bench executable becomes a child when started with
//! [`CHILD_ROLE_ENV`] set, which is how a parent re-executes itself; the
//! `*-child` binaries are children unconditionally.

use crate::measure::dispatch::{dispatch_case, CaseVisitor};
use crate::measure::engine::{serve, serve_stream, EngineError, Served};
use crate::measure::handshake::{
    ChildConfig, ChildReport, CHILD_ROLE_ENV, CONTROL_FD_ENV, REPORT_FD_ENV,
};
use crate::measure::liveness::{self, Liveness, Peer, Watchdog};
use crate::measure::memory::{self, Holdings};
use crate::measure::message::MessageFormat;
use crate::measure::placement;
use crate::record::Complexity;
use crate::transport::{self, Options, Transport, TransportId};
use codecs::CodecId;
use serde::Deserialize;
use std::io::{BufRead, Write};
use std::process::ExitCode;

/// Whether this process was started as a child by an ipc-bench parent.
pub fn is_child_role() -> bool {
    std::env::var_os(CHILD_ROLE_ENV).is_some()
}

/// A descriptor the parent named in `env` for us to use (see
/// [`CONTROL_FD_ENV`]), as a private copy; `None` when it named none.
#[cfg(unix)]
fn inherited(env: &str) -> Option<Result<std::fs::File, String>> {
    let value = std::env::var(env).ok()?;
    Some(
        value
            .parse::<std::os::fd::RawFd>()
            .ok()
            .filter(|fd| *fd > 2)
            .ok_or_else(|| format!("{env}={value:?} is not a descriptor number above 2"))
            .and_then(|fd| crate::transport::fds::duplicate(fd).map_err(|e| e.to_string())),
    )
}

#[cfg(not(unix))]
fn inherited(_env: &str) -> Option<Result<std::fs::File, String>> {
    None
}

/// Where reports go: the report descriptor the parent named, or STDOUT.
fn report_sink() -> &'static std::sync::Mutex<Box<dyn Write + Send>> {
    static SINK: std::sync::OnceLock<std::sync::Mutex<Box<dyn Write + Send>>> =
        std::sync::OnceLock::new();
    SINK.get_or_init(|| {
        let sink: Box<dyn Write + Send> = match inherited(REPORT_FD_ENV) {
            Some(Ok(file)) => Box::new(file),
            // Nowhere else to say it: STDERR, and the parent sees no report.
            Some(Err(e)) => {
                eprintln!("ipc-bench child: {e}");
                Box::new(std::io::sink())
            }
            None => Box::new(std::io::stdout()),
        };
        std::sync::Mutex::new(sink)
    })
}

fn report(report: &ChildReport) {
    let mut out = report_sink().lock().unwrap_or_else(|e| e.into_inner());
    // If the parent is gone there is no one to tell; exiting is all that is left.
    let _ = writeln!(out, "{}", report.to_line()).and_then(|_| out.flush());
}

/// Reads the configuration line: from the control descriptor the parent
/// named, or from STDIN. The control channel is returned too, to stay open
/// while the child runs.
fn read_config_line() -> Result<(String, Option<std::fs::File>), String> {
    let mut line = String::new();
    let read = match inherited(CONTROL_FD_ENV) {
        Some(control) => {
            let control = control?;
            let mut reader = std::io::BufReader::new(&control);
            let read = reader.read_line(&mut line);
            return match read {
                Ok(0) => Err("the control channel closed before a configuration arrived".into()),
                Ok(_) => Ok((line, Some(control))),
                Err(e) => Err(format!("cannot read the configuration: {e}")),
            };
        }
        None => std::io::stdin().lock().read_line(&mut line),
    };
    match read {
        Ok(0) => Err("STDIN closed before a configuration arrived".into()),
        Ok(_) => Ok((line, None)),
        Err(e) => Err(format!("cannot read the configuration from STDIN: {e}")),
    }
}

fn refuse(error: String) -> ExitCode {
    eprintln!("ipc-bench child: refusing the configuration: {error}");
    report(&ChildReport::Refused { error });
    ExitCode::from(2)
}

/// Entry point of the child role.
pub fn main() -> ExitCode {
    liveness::die_with_parent();
    if let Err(e) = liveness::install_signal_handler() {
        eprintln!("ipc-bench child: {e}");
    }
    let (line, control) = match read_config_line() {
        Ok(read) => read,
        Err(e) => return refuse(e),
    };
    // What this process holds before its transport connects (the report
    // channel opened first, so it is not taken for the transport's); with the
    // configuration on a channel of its own, STDIN and STDOUT are the
    // transport's pipes, and count as its.
    report_sink();
    let held_before = Holdings::now().map(|h| match control {
        Some(_) => h.without(&[0, 1]),
        None => h,
    });
    let _control = control;
    let config = match ChildConfig::parse(line.trim_end()) {
        Ok(config) => config,
        Err(e) => return refuse(e.to_string()),
    };
    let _watchdog = Watchdog::start(
        Peer::Parent(config.parent_pid),
        crate::transport::clean_up_before_forced_exit,
    );
    if let Some(core) = config.child_core {
        if let Err(e) = placement::pin_to(core) {
            return refuse(e);
        }
    }
    if let Some(messages) = &config.messages {
        if let Err(e) = crate::measure::own::file::load_as_told(config.complexity, messages) {
            return refuse(e);
        }
    }
    let transport = match TransportId::parse(&config.transport) {
        Ok(id) => id,
        Err(e) => return refuse(e),
    };
    // Raw strings use no codec (the parent says "none"); json stands in.
    let codec = match config.complexity {
        Complexity::RawString => Ok(CodecId::Json),
        _ => CodecId::parse(&config.codec),
    };
    let codec = match codec {
        Ok(codec) => codec,
        Err(e) => return refuse(e.to_string()),
    };
    dispatch_case(
        transport,
        config.complexity,
        codec,
        config.payload_bytes,
        ChildRun {
            config: &config,
            held_before,
        },
    )
}

struct ChildRun<'a> {
    config: &'a ChildConfig,
    held_before: Option<Holdings>,
}

impl CaseVisitor for ChildRun<'_> {
    type Output = ExitCode;

    fn visit<T: Transport, F: MessageFormat>(self, mut format: F) -> ExitCode {
        let (mut transport, mut liveness) = match self.connect::<T, F>(&mut format) {
            Ok(connected) => connected,
            Err(code) => return code,
        };
        let served = match self.config.stream {
            Some(role) => serve_stream(
                &mut transport,
                &mut format,
                &mut liveness,
                role.window,
                role.record_latency,
            ),
            None => serve(&mut transport, &mut format, &mut liveness),
        };
        self.finish(&mut transport, served)
    }

    #[cfg(feature = "tokio")]
    fn visit_awaited<T: crate::transport::Awaited, F: MessageFormat + Send + 'static>(
        self,
        mut format: F,
    ) -> ExitCode {
        let (transport, _liveness) = match self.connect::<T, F>(&mut format) {
            Ok(connected) => connected,
            Err(code) => return code,
        };
        let (mut transport, served) = crate::measure::engine::serve_awaited(transport, format);
        self.finish(&mut transport, served)
    }
}

impl ChildRun<'_> {
    /// Checks the parent's configuration against this build and `format`,
    /// connects the transport and says so; or refuses, saying why.
    fn connect<T: Transport, F: MessageFormat>(
        &self,
        format: &mut F,
    ) -> Result<(T, Liveness), ExitCode> {
        let mut liveness = Liveness::new(Peer::Parent(self.config.parent_pid));
        if let Err(e) = liveness.check_now() {
            return Err(refuse(e.to_string()));
        }
        // The transport is sized for the longest message; it must be the one
        // this format produces, whatever the parent claims.
        let max_message_bytes = self.config.max_message_bytes;
        match format.max_message_bytes() {
            Ok(needed) if needed == max_message_bytes => {}
            Ok(needed) => {
                return Err(refuse(format!(
                    "max_message_bytes is {max_message_bytes}, but these messages need {needed}"
                )))
            }
            Err(e) => return Err(refuse(e.to_string())),
        }
        let config = transport::decode_config::<T::Config>(&self.config.transport_config)
            .map_err(|e| refuse(e.to_string()))?;
        let setup = T::Setup::deserialize(&self.config.transport_setup)
            .map_err(|e| refuse(format!("bad transport setup from the parent: {e}")))?;
        let options = Options {
            max_message_bytes,
            window: self.config.stream.map_or(1, |s| s.window as usize),
            config,
        };
        let transport = T::connect(&setup, &options, &mut liveness)
            .map_err(|e| refuse(format!("cannot connect the {} transport: {e}", T::NAME)))?;
        report(&ChildReport::Ready);
        Ok((transport, liveness))
    }

    /// Reports how serving went, and cleans up after a failure.
    fn finish<T: Transport>(
        &self,
        transport: &mut T,
        served: Result<Served, EngineError>,
    ) -> ExitCode {
        match served {
            Ok(served) => {
                report(&ChildReport::Done {
                    round_trips: served.round_trips,
                    cpu_secs: served.cpu.map(|d| d.as_secs_f64()),
                    one_way_ns: served.one_way.map(|h| h.buckets()),
                    peak_bytes: memory::peak_bytes(),
                    // Read now, with the transport still open: a socket's
                    // buffers as the kernel has grown them.
                    buffers: self
                        .held_before
                        .as_ref()
                        .and_then(|before| Some(Holdings::now()?.buffers_since(before))),
                });
                ExitCode::SUCCESS
            }
            Err(e) => {
                // The run is over either way. Remove the names the parent
                // created now rather than trust it to: a SIGKILLed parent
                // dies thread by thread, and while its last threads live,
                // `getppid` still names it although it will never clean up
                // (its death signal has already reached us). A parent that
                // does survive finds the names gone, which is harmless.
                transport.orphaned();
                if !liveness::parent_alive(self.config.parent_pid) {
                    eprintln!("ipc-bench child: the parent is gone; cleaned up and stopping ({e})");
                    return ExitCode::FAILURE;
                }
                eprintln!("ipc-bench child: {e}");
                report(&ChildReport::Failed {
                    error: e.to_string(),
                });
                ExitCode::FAILURE
            }
        }
    }
}
