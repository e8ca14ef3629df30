//! shared_memory + shared-mem-queue: one region split in two halves, one
//! single-producer/single-consumer `ByteQueue` per direction, each message
//! framed as a little-endian `u32` length and the bytes.
//!
//! The seed ran out of space because its two sides disagreed on the queue
//! geometry (the parent attached with the whole region's length at the
//! half-way offset). Here both sides derive it from the one region length in
//! the handshake, so the queues wrap at the same point and run indefinitely.
//!
//! shared-mem-queue is licensed OLFL-1.3 (Open Logistics Foundation License),
//! which is not an OSI-approved licence.

use super::shm_region::Region;
use super::{Options, RunFlags, Transport, TransportError};
use crate::transport::liveness::Liveness;
use serde::{Deserialize, Serialize};
use shared_mem_queue::byte_queue::ByteQueue;
use std::time::Duration;

/// The length prefix of every frame.
const HEADER: usize = 4;
/// ByteQueue keeps its read and write positions in the first 8 bytes of its
/// memory, and holds at most its capacity minus one byte.
const QUEUE_OVERHEAD: usize = 8 + 1;

/// The smallest region accepted: each half holds ByteQueue's positions and a
/// frame of a few bytes.
pub const MIN_REGION_BYTES: usize = 64;
/// The largest region accepted: ByteQueue keeps u32 positions, so each half
/// must stay below 4 GiB.
pub const MAX_REGION_BYTES: usize = 4 * 1024 * 1024 * 1024 - 16;

/// The seed's default region (4 MiB).
pub const DEFAULT_REGION_BYTES: usize = 4 * 1024 * 1024;

/// What the user chooses: the size of the whole region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Bytes of the whole shared region; each direction gets half.
    pub queue_region_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            queue_region_bytes: DEFAULT_REGION_BYTES,
        }
    }
}

/// The region size flag, the same for `run` and `matrix`.
#[derive(clap::Args, Debug, Clone)]
// Several transports flatten flag structs of the same name: no clap group.
#[group(skip)]
pub struct Flags {
    /// Bytes of shared memory for shared-mem-queue; each direction gets half.
    #[arg(long, env = "SHARED_MEM_QUEUE_SHARED_REGION_LEN_BYTES", default_value_t = DEFAULT_REGION_BYTES,
          value_name = "BYTES", value_parser = parse_region)]
    pub queue_region_bytes: usize,
}

/// The matrix takes the same flag: one region size for every case.
pub type MatrixFlags = Flags;

impl RunFlags for Flags {
    type Config = Config;
    fn config(&self) -> Config {
        Config {
            queue_region_bytes: self.queue_region_bytes,
        }
    }
}

impl super::MatrixFlags for Flags {
    type Config = Config;
    fn configs(&self) -> Vec<Config> {
        vec![RunFlags::config(self)]
    }
}

fn parse_region(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if (MIN_REGION_BYTES..=MAX_REGION_BYTES).contains(&n) => Ok(n),
        _ => Err(format!(
            "accepted: a whole number of bytes from {MIN_REGION_BYTES} to {MAX_REGION_BYTES} (SHARED_MEM_QUEUE_SHARED_REGION_LEN_BYTES)"
        )),
    }
}

/// The geometry both sides derive from the region length. Built only through
/// [`new`](Self::new), which keeps the length within what ByteQueue handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "usize", into = "usize")]
struct Geometry {
    region_len: usize,
}

impl TryFrom<usize> for Geometry {
    type Error = String;
    fn try_from(region_len: usize) -> Result<Self, String> {
        Geometry::new(region_len)
    }
}

impl From<Geometry> for usize {
    fn from(geometry: Geometry) -> usize {
        geometry.region_len
    }
}

impl Geometry {
    fn new(region_len: usize) -> Result<Self, String> {
        if (MIN_REGION_BYTES..=MAX_REGION_BYTES).contains(&region_len) {
            Ok(Geometry { region_len })
        } else {
            Err(format!(
                "region length {region_len} outside {MIN_REGION_BYTES}..={MAX_REGION_BYTES}"
            ))
        }
    }

    /// Bytes per direction, a multiple of 8 so both halves stay aligned for
    /// ByteQueue's u32 positions.
    fn half(&self) -> usize {
        self.region_len / 2 / 8 * 8
    }

    /// The largest message one direction's queue can hold.
    fn max_message(&self) -> usize {
        self.half().saturating_sub(QUEUE_OVERHEAD + HEADER)
    }

    /// How many frames of `max_message_bytes` one direction holds at once.
    fn frames(&self, max_message_bytes: usize) -> usize {
        self.half().saturating_sub(QUEUE_OVERHEAD) / (HEADER + max_message_bytes)
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Setup {
    os_id: String,
    geometry: Geometry,
}

pub struct SharedMemQueue {
    outgoing: ByteQueue,
    incoming: ByteQueue,
    /// The frame being sent: header and message in one buffer, so the queue
    /// publishes it with a single write-position update.
    frame: Vec<u8>,
    /// Frames taken from the queue, handed out from `unread` on.
    received: Vec<u8>,
    unread: usize,
    max_message: usize,
    /// Last field: dropped after the queues that point into it.
    region: Region,
}

pub struct Listener {
    region: Region,
    geometry: Geometry,
}

impl SharedMemQueue {
    fn build(region: Region, geometry: Geometry, parent: bool) -> Self {
        let half = geometry.half();
        let base = region.as_ptr();
        // SAFETY: the region is at least 2 * half bytes (created so, or checked
        // on open), 8-aligned (page-aligned mapping, half a multiple of 8), and
        // both queues were initialized by `listen` before the child learned
        // the region's name. Each side only writes to its outgoing queue and
        // only reads from its incoming one, the crate's SPSC contract.
        let (to_child, to_parent) = unsafe {
            (
                ByteQueue::attach(base, half),
                ByteQueue::attach(base.add(half), half),
            )
        };
        let (outgoing, incoming) = if parent {
            (to_child, to_parent)
        } else {
            (to_parent, to_child)
        };
        SharedMemQueue {
            outgoing,
            incoming,
            frame: Vec::with_capacity(HEADER + geometry.max_message()),
            // Room for a whole direction's queue: in a stream several frames
            // are taken at once.
            received: Vec::with_capacity(half),
            unread: 0,
            max_message: geometry.max_message(),
            region,
        }
    }
}

impl Transport for SharedMemQueue {
    const NAME: &'static str = "shared-mem-queue";
    const CHILD_BIN_ENV: &'static str = "SHARED_MEM_QUEUE_CHILD_BIN_PATH";

    type Config = Config;
    type Setup = Setup;
    type Listener = Listener;

    fn capacity(options: &Options<Config>) -> Option<usize> {
        Some(Geometry::new(options.config.queue_region_bytes).map_or(0, |g| g.max_message()))
    }

    fn too_large_hint(max_message_bytes: usize) -> Option<String> {
        let needed = 2 * (max_message_bytes + HEADER + QUEUE_OVERHEAD).div_ceil(8) * 8;
        Some(format!(
            "raise SHARED_MEM_QUEUE_SHARED_REGION_LEN_BYTES (--queue-region-bytes) to at least {needed}"
        ))
    }

    fn max_window(options: &Options<Config>) -> Option<usize> {
        // Within the window the queue never fills, so a send never waits on it.
        Some(
            Geometry::new(options.config.queue_region_bytes)
                .map_or(0, |g| g.frames(options.max_message_bytes)),
        )
    }

    fn window_hint(options: &Options<Config>) -> Option<String> {
        let per_direction = options.window * (HEADER + options.max_message_bytes) + QUEUE_OVERHEAD;
        let needed = (2 * per_direction.div_ceil(8) * 8).min(MAX_REGION_BYTES);
        Some(format!(
            "raise SHARED_MEM_QUEUE_SHARED_REGION_LEN_BYTES (--queue-region-bytes) to at least {needed}"
        ))
    }

    fn listen(options: &Options<Config>) -> Result<(Listener, Setup), TransportError> {
        let geometry =
            Geometry::new(options.config.queue_region_bytes).map_err(TransportError::Setup)?;
        if geometry.max_message() < options.max_message_bytes {
            return Err(TransportError::TooLarge {
                len: options.max_message_bytes,
                capacity: geometry.max_message(),
            });
        }
        let region = Region::create("smq", 2 * geometry.half())?;
        let half = geometry.half();
        // SAFETY: the region is 2 * half bytes, page-aligned, and nobody else
        // knows its name yet, so initializing both queues' positions is race-free.
        unsafe {
            ByteQueue::create(region.as_ptr(), half);
            ByteQueue::create(region.as_ptr().add(half), half);
        }
        let setup = Setup {
            os_id: region.os_id().to_string(),
            geometry,
        };
        Ok((Listener { region, geometry }, setup))
    }

    fn accept(
        listener: Listener,
        _options: &Options<Config>,
        _liveness: &mut Liveness,
        _timeout: Duration,
    ) -> Result<Self, TransportError> {
        Ok(SharedMemQueue::build(
            listener.region,
            listener.geometry,
            true,
        ))
    }

    fn connect(
        setup: &Setup,
        _options: &Options<Config>,
        _liveness: &mut Liveness,
    ) -> Result<Self, TransportError> {
        let region = Region::open(&setup.os_id, 2 * setup.geometry.half())?;
        Ok(SharedMemQueue::build(region, setup.geometry, false))
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        if message.len() > self.max_message {
            // ByteQueue::write_blocking would spin forever on a frame larger than the queue.
            return Err(TransportError::TooLarge {
                len: message.len(),
                capacity: self.max_message,
            });
        }
        self.frame.clear();
        self.frame
            .extend_from_slice(&(message.len() as u32).to_le_bytes());
        self.frame.extend_from_slice(message);
        // Within the window (see `max_window`) the queue has room: the peer
        // took the frames before the last `window` before it answered them.
        // Anything else is a protocol error, reported rather than waited out.
        self.outgoing.write_or_fail(&self.frame).map_err(|_| {
            TransportError::Other(format!(
                "shared-mem-queue: no room for a {}-byte frame ({} free): more messages in flight than the window",
                self.frame.len(),
                self.outgoing.space()
            ))
        })
    }

    fn recv(&mut self, liveness: &mut Liveness) -> Result<&[u8], TransportError> {
        if self.unread == self.received.len() {
            let incoming = &mut self.incoming;
            // The writer publishes a whole frame with one position update, so
            // whatever is visible is whole frames: one pass through the
            // crate's byte-by-byte copy takes them all (in a ping-pong, the
            // one there is), and the next calls hand them out one by one.
            let available =
                liveness.spin_until(|| Some(incoming.size()).filter(|&n| n >= HEADER))?;
            if available > self.received.capacity() {
                return Err(TransportError::Corrupt(format!(
                    "{available} bytes queued, more than the {}-byte queue holds",
                    self.received.capacity()
                )));
            }
            self.received.resize(available, 0);
            let read = incoming.consume_at_most(&mut self.received);
            if read != available {
                return Err(TransportError::Corrupt(format!(
                    "{available} bytes were queued, {read} could be read"
                )));
            }
            self.unread = 0;
        }
        let rest = &self.received[self.unread..];
        let header: [u8; HEADER] = rest
            .get(..HEADER)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| {
                TransportError::Corrupt(format!("{} bytes left, no frame header", rest.len()))
            })?;
        let len = u32::from_le_bytes(header) as usize;
        if len > self.max_message || HEADER + len > rest.len() {
            return Err(TransportError::Corrupt(format!(
                "frame header says {len} bytes, {} arrived",
                rest.len() - HEADER
            )));
        }
        let start = self.unread + HEADER;
        self.unread = start + len;
        Ok(&self.received[start..start + len])
    }

    fn orphaned(&mut self) {
        self.region.take_ownership();
    }
}
