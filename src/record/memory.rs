//! The memory a case held, as results record it: each process's peak
//! resident memory, and the kernel buffers and shared memory its transport
//! held. Reading them is [`crate::measure::memory`]'s.

use serde::{Deserialize, Serialize};

/// What kind of memory a transport holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BufferKind {
    /// A socket's send buffer, as the kernel grants it (Linux reports
    /// twice what was asked for: the other half is its bookkeeping).
    SocketSend,
    /// A socket's receive buffer, likewise.
    SocketReceive,
    /// A pipe's buffer (`F_GETPIPE_SZ`).
    Pipe,
    /// A POSIX message queue: its most messages times their largest size.
    MessageQueue,
    /// A shared mapping: a region, a segment, a file in `/dev/shm`.
    SharedMemory,
}

impl BufferKind {
    pub fn name(self) -> &'static str {
        match self {
            BufferKind::SocketSend => "socket send buffer",
            BufferKind::SocketReceive => "socket receive buffer",
            BufferKind::Pipe => "pipe buffer",
            BufferKind::MessageQueue => "message queue",
            BufferKind::SharedMemory => "shared memory",
        }
    }
}

/// One buffer or mapping the transport held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransportBuffer {
    pub kind: BufferKind,
    /// What holds it: `socket:[1234]`, `pipe:[88]`, a shared file's path,
    /// a queue's name.
    pub of: String,
    pub bytes: u64,
}

/// The memory one case held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryUse {
    /// The parent's peak resident memory while the case's rounds ran (its
    /// peak is reset as each round starts; Linux only, null elsewhere).
    pub parent_peak_bytes: Option<u64>,
    /// The child's peak resident memory over its life: a round's child is
    /// a process of its own (the largest child's, in a fan-out).
    pub child_peak_bytes: Option<u64>,
    /// The kernel buffers and shared memory the transport held at the
    /// child's end (one child's, in a fan-out), read as the round ended;
    /// null where they cannot be read (no `/proc`).
    pub transport_buffers: Option<Vec<TransportBuffer>>,
}

impl MemoryUse {
    /// Everything the transport held at the child's end, in bytes.
    pub fn transport_bytes(&self) -> Option<u64> {
        self.transport_buffers
            .as_ref()
            .map(|buffers| buffers.iter().map(|b| b.bytes).sum())
    }

    /// Two rounds' memory as one case's: the higher peaks, and the
    /// buffers of the one that read them (the later, when both did).
    pub fn merge(self, later: MemoryUse) -> MemoryUse {
        let higher = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        MemoryUse {
            parent_peak_bytes: higher(self.parent_peak_bytes, later.parent_peak_bytes),
            child_peak_bytes: higher(self.child_peak_bytes, later.child_peak_bytes),
            transport_buffers: later.transport_buffers.or(self.transport_buffers),
        }
    }

    /// `2 × 208 KiB socket send and receive buffers`-like lines: each kind
    /// of buffer with how many and their total, largest first.
    pub fn describe_buffers(&self) -> Option<String> {
        let buffers = self.transport_buffers.as_ref()?;
        if buffers.is_empty() {
            return Some("none found".to_string());
        }
        let mut kinds: Vec<(BufferKind, usize, u64)> = Vec::new();
        for b in buffers {
            match kinds.iter_mut().find(|(k, _, _)| *k == b.kind) {
                Some((_, n, bytes)) => {
                    *n += 1;
                    *bytes += b.bytes;
                }
                None => kinds.push((b.kind, 1, b.bytes)),
            }
        }
        kinds.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        Some(
            kinds
                .iter()
                .map(|(kind, n, bytes)| match n {
                    1 => format!("{} {}", crate::util::format::bytes(*bytes), kind.name()),
                    n => format!(
                        "{n} × {} {}s",
                        crate::util::format::bytes(bytes / *n as u64),
                        kind.name()
                    ),
                })
                .collect::<Vec<_>>()
                .join(", "),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(kind: BufferKind, bytes: u64) -> TransportBuffer {
        TransportBuffer {
            kind,
            of: "x".into(),
            bytes,
        }
    }

    #[test]
    fn rounds_merge_to_the_higher_peaks_and_the_later_buffers() {
        let a = MemoryUse {
            parent_peak_bytes: Some(10),
            child_peak_bytes: None,
            transport_buffers: Some(vec![buffer(BufferKind::Pipe, 1)]),
        };
        let b = MemoryUse {
            parent_peak_bytes: Some(8),
            child_peak_bytes: Some(5),
            transport_buffers: None,
        };
        let merged = a.clone().merge(b);
        assert_eq!(merged.parent_peak_bytes, Some(10));
        assert_eq!(merged.child_peak_bytes, Some(5));
        assert_eq!(merged.transport_buffers, a.transport_buffers);
    }

    #[test]
    fn buffers_are_described_by_kind_largest_first() {
        let memory = MemoryUse {
            transport_buffers: Some(vec![
                buffer(BufferKind::SocketSend, 212_992),
                buffer(BufferKind::SocketReceive, 212_992),
                buffer(BufferKind::SocketSend, 212_992),
                buffer(BufferKind::SharedMemory, 4_096),
            ]),
            ..MemoryUse::default()
        };
        assert_eq!(memory.transport_bytes(), Some(643_072));
        assert_eq!(
            memory.describe_buffers().unwrap(),
            "2 × 208 KiB socket send buffers, 208 KiB socket receive buffer, 4 KiB shared memory"
        );
        let none = MemoryUse {
            transport_buffers: Some(Vec::new()),
            ..MemoryUse::default()
        };
        assert_eq!(none.describe_buffers().unwrap(), "none found");
        assert_eq!(MemoryUse::default().describe_buffers(), None);
    }
}
