//! The child's own STDIN and STDOUT, the way a language server or an MCP
//! server talks to the editor or agent that started it: the parent writes
//! to the child's STDIN and reads its STDOUT; the child reads and writes them
//! through Rust's standard handles (`std::io::stdin().lock()`, buffered, and
//! `stdout().lock()`, flushed after every message).
//!
//! Since STDIN and STDOUT carry the messages, the child gets its
//! configuration and sends its reports on two pipes of their own, whose
//! descriptors it inherits and finds in `IPC_BENCH_CONTROL_FD` and
//! `IPC_BENCH_REPORT_FD` (see `measure::handshake`): nothing but messages
//! ever goes through STDOUT, and the child's errors still go to STDERR.
//!
//! Framing: `--framing length` (the default), a little-endian `u32` length
//! before each message as the other stream transports; or `--framing lines`,
//! one message per line as MCP frames JSON-RPC, for the text formats only
//! (JSON, whose encoder never writes a raw newline, and raw strings); a
//! binary codec is refused before anything is spawned.

use super::fds::{duplicate, pipe, set_cloexec};
use super::stream::Framed;
use super::{ChildStdio, Options, RunFlags, TrafficKind, Transport, TransportError};
use crate::transport::liveness::Liveness;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// How messages are delimited on the two streams.
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
pub enum Framing {
    /// A `u32` length before each message.
    #[default]
    Length,
    /// One message per line (text formats only).
    Lines,
}

impl Framing {
    pub fn name(self) -> &'static str {
        match self {
            Framing::Length => "length",
            Framing::Lines => "lines",
        }
    }
}

/// What the user chooses: the framing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub framing: Framing,
}

/// `run`'s flag for stdio.
#[derive(clap::Args, Debug, Clone)]
// Several transports flatten flag structs of the same name: no clap group.
#[group(skip)]
pub struct Flags {
    /// How stdio delimits messages: length (a u32 prefix) or lines (one per line, JSON and raw strings only).
    #[arg(long, env = "FRAMING", default_value = "length",
          value_parser = crate::util::parse::enum_parser::<Framing>("framing", "FRAMING"))]
    pub framing: Framing,
}

impl RunFlags for Flags {
    type Config = Config;
    fn config(&self) -> Config {
        Config {
            framing: self.framing,
        }
    }
}

/// `matrix`'s flag for stdio: the framings to include.
#[derive(clap::Args, Debug, Clone)]
// Several transports flatten flag structs of the same name: no clap group.
#[group(skip)]
pub struct MatrixFlags {
    /// stdio framings to include, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "length",
          value_parser = crate::util::parse::enum_parser::<Framing>("framing", "--framings"))]
    pub framings: Vec<Framing>,
}

impl super::MatrixFlags for MatrixFlags {
    type Config = Config;
    fn configs(&self) -> Vec<Config> {
        self.framings
            .iter()
            .map(|&framing| Config { framing })
            .collect()
    }
}

/// The codecs whose messages are text without a raw newline.
fn is_text(codec: &str) -> bool {
    matches!(codec, "json" | "none")
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Setup {
    /// Where the child reads and writes: 0 and 1 in a real child; the pipe
    /// ends themselves when both sides share a process (the tests).
    fds: [RawFd; 2],
}

/// Messages one per line: each written with its newline and flushed, read
/// up to the next newline.
struct Lines<R, W> {
    reader: R,
    writer: W,
    received: Vec<u8>,
    max_message: usize,
}

impl<R: BufRead, W: Write> Lines<R, W> {
    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        if message.len() > self.max_message {
            return Err(TransportError::TooLarge {
                len: message.len(),
                capacity: self.max_message,
            });
        }
        if message.contains(&b'\n') {
            return Err(TransportError::Other(
                "a message with a newline in it cannot be framed by lines".into(),
            ));
        }
        self.writer
            .write_all(message)
            .and_then(|_| self.writer.write_all(b"\n"))
            .and_then(|_| self.writer.flush())
            .map_err(stream_error("sending a line"))
    }

    fn recv(&mut self) -> Result<&[u8], TransportError> {
        self.received.clear();
        // A line longer than the agreed size is refused rather than read on
        // without end.
        let limit = self.max_message as u64 + 1;
        let n = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.received)
            .map_err(stream_error("receiving a line"))?;
        match self.received.pop() {
            Some(b'\n') => Ok(&self.received),
            _ if n == 0 => Err(TransportError::Disconnected),
            _ if n as u64 >= limit => Err(TransportError::Corrupt(format!(
                "a line longer than the {} bytes agreed",
                self.max_message
            ))),
            // The peer closed the stream in the middle of a line.
            _ => Err(TransportError::Disconnected),
        }
    }
}

fn stream_error(context: &'static str) -> impl Fn(std::io::Error) -> TransportError {
    move |error| match error.kind() {
        ErrorKind::UnexpectedEof | ErrorKind::BrokenPipe => TransportError::Disconnected,
        _ => TransportError::Io { context, error },
    }
}

enum Channel {
    Length(Framed<Box<dyn Read>, Box<dyn Write>>),
    Lines(Lines<Box<dyn BufRead>, Box<dyn Write>>),
}

pub struct Stdio {
    channel: Channel,
}

impl Stdio {
    fn new(reader: Box<dyn BufRead>, writer: Box<dyn Write>, options: &Options<Config>) -> Self {
        let max_message = options.max_message_bytes;
        let channel = match options.config.framing {
            Framing::Length => Channel::Length(Framed::new(
                Box::new(reader) as Box<dyn Read>,
                writer,
                max_message,
            )),
            Framing::Lines => Channel::Lines(Lines {
                reader,
                writer,
                received: Vec::new(),
                max_message,
            }),
        };
        Stdio { channel }
    }
}

/// The parent's two ends, and the child's until it is spawned.
pub struct Listener {
    parent_read: OwnedFd,
    parent_write: OwnedFd,
    child: Option<ChildStdio>,
}

impl Transport for Stdio {
    const NAME: &'static str = "stdio";
    const CHILD_BIN_ENV: &'static str = "STDIO_CHILD_BIN_PATH";

    type Config = Config;
    type Setup = Setup;
    type Listener = Listener;

    fn variant(config: &Config) -> Option<String> {
        // The default framing keeps the plain name.
        (config.framing != Framing::Length).then(|| config.framing.name().to_string())
    }

    fn variants() -> Vec<Config> {
        [Framing::Length, Framing::Lines]
            .map(|framing| Config { framing })
            .to_vec()
    }

    fn flags(config: &Config) -> Vec<String> {
        vec!["--framing".into(), config.framing.name().into()]
    }

    fn capacity(options: &Options<Config>) -> Option<usize> {
        super::stream::capacity(options)
    }

    fn max_window(_options: &Options<Config>) -> Option<usize> {
        // A full pipe makes the writer wait.
        None
    }

    fn refuses(config: &Config, codec: &str, traffic: TrafficKind) -> Option<String> {
        if config.framing != Framing::Lines {
            return None;
        }
        if !is_text(codec) {
            return Some(format!(
                "invalid value '{codec}' for --codec/CODEC: --framing lines carries text, one message per line (json or raw-string messages), and {codec} writes binary; use --framing length"
            ));
        }
        (traffic == TrafficKind::Stream).then(|| {
            "invalid value 'stream' for --pattern/PATTERN: --framing lines carries text, and a stream's acknowledgements are binary counts; use --framing length".to_string()
        })
    }

    fn listen(_options: &Options<Config>) -> Result<(Listener, Setup), TransportError> {
        let (child_read, parent_write) = pipe()?;
        let (parent_read, child_write) = pipe()?;
        for end in [&parent_read, &parent_write, &child_read, &child_write] {
            // Nothing crosses exec by itself: the child's ends become its
            // STDIN and STDOUT when it is spawned.
            set_cloexec(end, true)?;
        }
        let setup = Setup {
            fds: [child_read.as_raw_fd(), child_write.as_raw_fd()],
        };
        let listener = Listener {
            parent_read,
            parent_write,
            child: Some(ChildStdio {
                stdin: child_read,
                stdout: child_write,
            }),
        };
        Ok((listener, setup))
    }

    fn child_stdio(listener: &mut Listener, setup: &mut Setup) -> Option<ChildStdio> {
        setup.fds = [0, 1];
        listener.child.take()
    }

    fn accept(
        listener: Listener,
        options: &Options<Config>,
        _liveness: &mut Liveness,
        _timeout: Duration,
    ) -> Result<Self, TransportError> {
        // The child's ends close here (they are its STDIN and STDOUT now), so
        // its exit shows as the end of our input.
        let Listener {
            parent_read,
            parent_write,
            child: _,
        } = listener;
        let reader = Box::new(BufReader::new(File::from(parent_read)));
        Ok(Stdio::new(
            reader,
            Box::new(File::from(parent_write)),
            options,
        ))
    }

    fn connect(
        setup: &Setup,
        options: &Options<Config>,
        _liveness: &mut Liveness,
    ) -> Result<Self, TransportError> {
        if setup.fds == [0, 1] {
            // As a language server reads and writes: the standard handles.
            let reader = Box::new(std::io::stdin().lock());
            let writer = Box::new(std::io::stdout().lock());
            return Ok(Stdio::new(reader, writer, options));
        }
        // Both sides in one process (the tests): private copies of the ends.
        let reader = Box::new(BufReader::new(duplicate(setup.fds[0])?));
        let writer = Box::new(duplicate(setup.fds[1])?);
        Ok(Stdio::new(reader, writer, options))
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        match &mut self.channel {
            Channel::Length(framed) => framed.send(message),
            Channel::Lines(lines) => lines.send(message),
        }
    }

    fn recv(&mut self, _liveness: &mut Liveness) -> Result<&[u8], TransportError> {
        match &mut self.channel {
            Channel::Length(framed) => framed.recv(),
            Channel::Lines(lines) => lines.recv(),
        }
    }
}
