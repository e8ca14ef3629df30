//! POSIX message queues: two queues, one per direction, each message one
//! queue message (the kernel keeps its length), the classic mechanism
//! between pipes and shared memory.
//!
//! A queue's message size and depth are bounded by the system
//! (`fs.mqueue.msgsize_max` and `fs.mqueue.msg_max` on Linux, read from
//! `/proc/sys/fs/mqueue/`): a larger message is refused before the child is
//! spawned, naming the setting to raise, and a window deeper than a queue is
//! refused too (a sender that finds a queue full waits, and two full queues
//! would leave both sides waiting).
//!
//! The parent creates both queues (names with its pid and a random part,
//! `/ipc-bench-mq-<pid>-<random>-<direction>`, created exclusively, mode
//! 0600); the child opens them and removes their names at once, so nothing
//! is left by name once the child has connected, whoever dies later; the
//! parent removes them itself if the child never connects. Waits use a timed
//! receive, so a gone peer is noticed within one slice.

use super::{Options, Transport, TransportError};
use crate::transport::liveness::Liveness;
use nix::errno::Errno;
use nix::mqueue::{
    mq_attr_member_t, mq_close, mq_getattr, mq_open, mq_send, mq_timedreceive, mq_unlink, MQ_OFlag,
    MqAttr, MqdT,
};
use nix::sys::stat::Mode;
use nix::sys::time::TimeSpec;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};

/// How long one receive waits before the peer is checked again.
const READ_SLICE: Duration = Duration::from_millis(50);

/// What every queue name of ours starts with.
pub const NAME_PREFIX: &str = "/ipc-bench-mq-";

/// No settings of its own.
pub type Flags = super::NoFlags;
/// No variants to choose in a matrix.
pub type MatrixFlags = super::NoFlags;

/// The system's bounds on a queue an unprivileged process creates.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// `fs.mqueue.msgsize_max`: the largest message.
    msgsize_max: usize,
    /// `fs.mqueue.msg_max`: the most messages a queue holds.
    msg_max: usize,
}

impl Limits {
    /// The bounds in force (Linux's defaults where they cannot be read).
    fn read() -> Limits {
        let read = |name: &str, default: usize| {
            std::fs::read_to_string(format!("/proc/sys/fs/mqueue/{name}"))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(default)
        };
        Limits {
            msgsize_max: read("msgsize_max", 8192),
            msg_max: read("msg_max", 10),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Setup {
    /// Parent to child, then child to parent.
    names: [String; 2],
    /// Each queue's message size and depth, as created.
    msgsize: usize,
    depth: usize,
}

/// An open queue descriptor, closed when dropped.
struct Queue(Option<MqdT>);

impl Queue {
    fn mqd(&self) -> &MqdT {
        self.0.as_ref().expect("a queue stays open until dropped")
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        if let Some(mqd) = self.0.take() {
            let _ = mq_close(mqd);
        }
    }
}

pub struct PosixMq {
    outgoing: Queue,
    incoming: Queue,
    /// The queues' message size: a receive buffer must be this long.
    buf: Vec<u8>,
    len: usize,
    msgsize: usize,
}

pub struct Listener {
    queues: Option<(Queue, Queue)>,
    names: [String; 2],
    msgsize: usize,
}

/// Whether `name` is one this transport creates.
fn is_ours(name: &str) -> bool {
    name.strip_prefix(NAME_PREFIX).is_some_and(|rest| {
        let mut parts = rest.split('-');
        let pid = parts.next().and_then(super::stale::parse_pid).is_some();
        let random = parts.next().is_some_and(super::stale::is_random_part);
        let direction = parts.next().is_some_and(|d| d == "p2c" || d == "c2p");
        pid && random && direction && parts.next().is_none()
    })
}

/// Whether a queue named like ours has the owner and mode `open` gives
/// ours: this user's, readable and writable by it alone. A look-alike name
/// of another user's, or of a queue opened to others, is left alone.
fn made_by_us(path: &std::path::Path) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::symlink_metadata(path) {
        Ok(meta) => Ok(meta.file_type().is_file()
            && meta.uid() == super::stale::effective_uid()
            && meta.mode() & 0o777 == 0o600),
        // Gone already (its owner removed it meanwhile): nothing to sweep.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

fn mq_error(context: &'static str) -> impl FnOnce(Errno) -> TransportError {
    move |errno| TransportError::Io {
        context,
        error: std::io::Error::from(errno),
    }
}

fn open(name: &str, create: Option<&MqAttr>) -> Result<Queue, TransportError> {
    let flags = MQ_OFlag::O_RDWR | MQ_OFlag::O_CLOEXEC;
    match create {
        Some(attr) => mq_open(
            name,
            flags | MQ_OFlag::O_CREAT | MQ_OFlag::O_EXCL,
            Mode::S_IRUSR | Mode::S_IWUSR,
            Some(attr),
        )
        .map(|mqd| Queue(Some(mqd)))
        .map_err(|errno| TransportError::Io {
            context: "creating a POSIX message queue",
            error: std::io::Error::other(format!(
                "{errno}; the queues count against RLIMIT_MSGQUEUE and fs.mqueue.queues_max"
            )),
        }),
        None => mq_open(name, flags, Mode::empty(), None)
            .map(|mqd| Queue(Some(mqd)))
            .map_err(mq_error("opening the parent's POSIX message queue")),
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // The child never connected (or did, and removed them: then these
        // fail harmlessly).
        for name in &self.names {
            let _ = mq_unlink(name.as_str());
        }
    }
}

impl Transport for PosixMq {
    const NAME: &'static str = "posix-mq";
    const CHILD_BIN_ENV: &'static str = "POSIX_MQ_CHILD_BIN_PATH";
    // Measured on request (`--transports posix-mq`): the default matrix stays short.
    const IN_DEFAULT_MATRIX: bool = false;

    type Config = ();
    type Setup = Setup;
    type Listener = Listener;

    fn capacity(options: &Options<()>) -> Option<usize> {
        // Queues are created for the run's longest message, up to the limit.
        Some(
            options
                .max_message_bytes
                .max(1)
                .min(Limits::read().msgsize_max),
        )
    }

    fn facts(options: &Options<()>) -> serde_json::Map<String, serde_json::Value> {
        let limits = Limits::read();
        let mut facts = serde_json::Map::new();
        facts.insert("msgsize_max".into(), limits.msgsize_max.into());
        facts.insert("msg_max".into(), limits.msg_max.into());
        facts.insert("queue_message_bytes".into(), Self::capacity(options).into());
        facts
    }

    fn too_large_hint(max_message_bytes: usize) -> Option<String> {
        Some(format!(
            "a POSIX message queue's messages are at most fs.mqueue.msgsize_max bytes ({}); raise it (sysctl -w fs.mqueue.msgsize_max={max_message_bytes}, as root) or lower --payload-bytes",
            Limits::read().msgsize_max
        ))
    }

    fn max_window(_options: &Options<()>) -> Option<usize> {
        Some(Limits::read().msg_max.max(1))
    }

    fn window_hint(_options: &Options<()>) -> Option<String> {
        Some(format!(
            "a queue holds at most fs.mqueue.msg_max messages ({}); raise it (sysctl -w fs.mqueue.msg_max=N, as root) or lower --window",
            Limits::read().msg_max
        ))
    }

    fn listen(options: &Options<()>) -> Result<(Listener, Setup), TransportError> {
        let msgsize = options.max_message_bytes.max(1);
        let depth = options.window.max(1);
        let attr = MqAttr::new(0, depth as mq_attr_member_t, msgsize as mq_attr_member_t, 0);
        let stem = format!(
            "{NAME_PREFIX}{}-{}",
            std::process::id(),
            super::stale::random_suffix()
        );
        let names = [format!("{stem}-p2c"), format!("{stem}-c2p")];
        let mut listener = Listener {
            queues: None,
            names: names.clone(),
            msgsize,
        };
        // A failure from here on unlinks both names (the listener's drop).
        let outgoing = open(&names[0], Some(&attr))?;
        let incoming = open(&names[1], Some(&attr))?;
        listener.queues = Some((outgoing, incoming));
        Ok((
            listener,
            Setup {
                names,
                msgsize,
                depth,
            },
        ))
    }

    fn accept(
        mut listener: Listener,
        _options: &Options<()>,
        _liveness: &mut Liveness,
        _timeout: Duration,
    ) -> Result<Self, TransportError> {
        let (outgoing, incoming) = listener
            .queues
            .take()
            .ok_or_else(|| TransportError::Other("the queues were already taken".into()))?;
        let msgsize = listener.msgsize;
        Ok(PosixMq {
            outgoing,
            incoming,
            buf: vec![0; msgsize],
            len: 0,
            msgsize,
        })
    }

    fn connect(
        setup: &Setup,
        options: &Options<()>,
        _liveness: &mut Liveness,
    ) -> Result<Self, TransportError> {
        // Everything in the setup is checked before anything is opened.
        if let Some(name) = setup.names.iter().find(|n| !is_ours(n)) {
            return Err(TransportError::Setup(format!(
                "{name:?} is not a queue name of ours"
            )));
        }
        let limits = Limits::read();
        if setup.msgsize == 0
            || setup.msgsize > limits.msgsize_max
            || setup.msgsize < options.max_message_bytes
            || setup.depth == 0
            || setup.depth > limits.msg_max
        {
            return Err(TransportError::Setup(format!(
                "queues of {} messages of {} bytes (this side needs {} bytes; the system allows {} of {})",
                setup.depth, setup.msgsize, options.max_message_bytes, limits.msg_max, limits.msgsize_max
            )));
        }
        // The parent's outgoing queue is ours to read, and the other way round.
        let incoming = open(&setup.names[0], None)?;
        let outgoing = open(&setup.names[1], None)?;
        // What the queues really are, not what the setup says they are: a
        // receive needs a buffer of the queue's message size.
        let msgsize = [&incoming, &outgoing]
            .into_iter()
            .map(|q| mq_getattr(q.mqd()).map(|a| a.msgsize().max(0) as usize))
            .collect::<Result<Vec<_>, _>>()
            .map_err(mq_error("reading a POSIX message queue's attributes"))?;
        if msgsize.iter().any(|&m| m != setup.msgsize) {
            return Err(TransportError::Setup(format!(
                "queues of {msgsize:?}-byte messages, not the {} the setup says",
                setup.msgsize
            )));
        }
        let transport = PosixMq {
            outgoing,
            incoming,
            buf: vec![0; setup.msgsize],
            len: 0,
            msgsize: setup.msgsize,
        };
        // Both are open on both sides now: the names can go.
        for name in &setup.names {
            let _ = mq_unlink(name.as_str());
        }
        Ok(transport)
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        if message.len() > self.msgsize {
            return Err(TransportError::TooLarge {
                len: message.len(),
                capacity: self.msgsize,
            });
        }
        mq_send(self.outgoing.mqd(), message, 0)
            .map_err(mq_error("sending to a POSIX message queue"))
    }

    fn recv(&mut self, liveness: &mut Liveness) -> Result<&[u8], TransportError> {
        loop {
            let deadline = SystemTime::now() + READ_SLICE;
            let since_epoch = deadline
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            let abstime = TimeSpec::from_duration(since_epoch);
            let mut priority = 0;
            match mq_timedreceive(self.incoming.mqd(), &mut self.buf, &mut priority, &abstime) {
                Ok(n) => {
                    self.len = n;
                    return Ok(&self.buf[..self.len]);
                }
                Err(Errno::ETIMEDOUT) | Err(Errno::EINTR) => liveness.check_now()?,
                Err(errno) => return Err(mq_error("receiving from a POSIX message queue")(errno)),
            }
        }
    }

    fn sweep_stale(dry_run: bool) -> std::io::Result<Vec<super::StaleResource>> {
        // The queues' names are visible only where their file system is
        // mounted; elsewhere only a kill during the handshake can leave one.
        let dir = std::path::Path::new("/dev/mqueue");
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(Vec::new());
        };
        let mut stale = Vec::new();
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let name = format!("/{file}");
            if !is_ours(&name) {
                continue;
            }
            let Some(pid) = name[NAME_PREFIX.len()..]
                .split('-')
                .next()
                .and_then(super::stale::parse_pid)
            else {
                continue;
            };
            if super::stale::process_exists(pid) || !made_by_us(&entry.path())? {
                continue;
            }
            if !dry_run {
                mq_unlink(name.as_str()).map_err(std::io::Error::from)?;
            }
            stale.push(super::StaleResource {
                kind: "POSIX message queue",
                path: dir.join(file),
                pid,
            });
        }
        Ok(stale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sweep takes a dead process's queue of ours and leaves one named
    /// the same way that others may open (where the queues' file system is
    /// mounted, as it is on most Linux machines; elsewhere it says so).
    #[test]
    fn the_sweep_removes_only_queues_it_can_prove_are_ours() {
        if std::fs::read_dir("/dev/mqueue").is_err() {
            eprintln!("skipped: /dev/mqueue is not mounted");
            return;
        }
        // No process has this pid: pids stop at 2^22 on Linux.
        let dead = 4_194_304 + 7;
        let stem = format!(
            "{NAME_PREFIX}{dead}-{}",
            super::super::stale::random_suffix()
        );
        let (ours, open_to_others) = (format!("{stem}-p2c"), format!("{stem}-c2p"));
        let attr = MqAttr::new(0, 1, 8, 0);
        let flags = MQ_OFlag::O_RDWR | MQ_OFlag::O_CREAT | MQ_OFlag::O_EXCL;
        let user_only = Mode::S_IRUSR | Mode::S_IWUSR;
        let shared = user_only | Mode::S_IRGRP | Mode::S_IROTH;
        // The process umask may only take bits away, never add them.
        let ours_q = mq_open(ours.as_str(), flags, user_only, Some(&attr)).unwrap();
        let other_q = mq_open(open_to_others.as_str(), flags, shared, Some(&attr)).unwrap();
        let other_path = std::path::Path::new("/dev/mqueue").join(&open_to_others[1..]);
        std::fs::set_permissions(
            &other_path,
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )
        .unwrap();
        mq_close(ours_q).unwrap();
        mq_close(other_q).unwrap();

        let swept = PosixMq::sweep_stale(false).unwrap();
        let left = std::path::Path::new("/dev/mqueue")
            .join(&ours[1..])
            .exists();
        let kept = other_path.exists();
        let _ = mq_unlink(ours.as_str());
        let _ = mq_unlink(open_to_others.as_str());
        assert!(!left, "our dead process's queue was swept: {swept:?}");
        assert!(
            swept.iter().all(|s| s.path != other_path),
            "a queue open to others is not ours: {swept:?}"
        );
        assert!(kept, "and it survives");
    }
}
