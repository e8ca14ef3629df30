//! The floor: shared memory, one slot per direction, a sequence number
//! published with Release and read with Acquire, `spin_loop` hints while
//! waiting, and no system call in the loop. Nothing between two processes
//! can be much cheaper, so every other figure can be divided by this one.
//!
//! ```text
//! | slot 0: parent -> child          | slot 1: child -> parent |
//! | seq: AtomicU64 | len: u64 | data | ...                     |
//! ```
//!
//! The sequence number, the length and the first 112 bytes of data share the
//! slot's first cache line, so a small message crosses between cores as one
//! line, as in the bare atomic ping-pong.

use super::shm_region::{Region, SlotData};
use super::{Transport, TransportError, TransportOptions};
use crate::liveness::Liveness;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Slots start on this boundary (two cache lines: adjacent-line prefetch
/// pairs them), so the two directions never share a line.
const ALIGN: usize = 128;
/// Sequence number and length.
const HEADER: usize = 16;

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Layout {
    slot_capacity: usize,
}

impl Layout {
    fn stride(&self) -> usize {
        (HEADER + self.slot_capacity).div_ceil(ALIGN) * ALIGN
    }

    fn region_len(&self) -> usize {
        2 * self.stride()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Setup {
    os_id: String,
    layout: Layout,
}

struct Slot {
    seq: *const AtomicU64,
    message: SlotData,
}

impl Slot {
    /// # Safety
    /// `region` must be at least `layout.region_len()` bytes and page-aligned.
    unsafe fn at(region: &Region, layout: &Layout, index: usize) -> Self {
        // SAFETY: within the region by the caller's guarantee; the offset is a
        // multiple of ALIGN, so `seq` and `len` are 8-aligned.
        unsafe {
            let base = region.as_ptr().add(index * layout.stride());
            Slot {
                seq: base as *const AtomicU64,
                message: SlotData {
                    len: base.add(8) as *mut u64,
                    data: base.add(HEADER),
                    capacity: layout.slot_capacity,
                },
            }
        }
    }

    fn seq(&self) -> &AtomicU64 {
        // SAFETY: `seq` points at 8 aligned bytes of the mapping, which lives
        // as long as the transport (it owns the region); the region is
        // zero-filled at creation, a valid AtomicU64 of 0.
        unsafe { &*self.seq }
    }
}

pub struct Spin {
    outgoing: Slot,
    incoming: Slot,
    /// Messages sent and received so far; the peer's next message carries
    /// `received + 1`.
    sent: u64,
    received: u64,
    buf: Vec<u8>,
    /// Last field: dropped after the slots that point into it.
    region: Region,
}

pub struct Listener {
    region: Region,
    layout: Layout,
}

impl Spin {
    fn build(region: Region, layout: Layout, parent: bool) -> Self {
        let (out_index, in_index) = if parent { (0, 1) } else { (1, 0) };
        // SAFETY: the region was created with, or checked to hold, region_len() bytes.
        let (outgoing, incoming) = unsafe { (Slot::at(&region, &layout, out_index), Slot::at(&region, &layout, in_index)) };
        Spin {
            outgoing,
            incoming,
            sent: 0,
            received: 0,
            buf: Vec::with_capacity(layout.slot_capacity),
            region,
        }
    }
}

impl Transport for Spin {
    const NAME: &'static str = "spin";
    const CHILD_BIN_ENV: &'static str = "SPIN_CHILD_BIN_PATH";

    type Listener = Listener;

    fn capacity(options: &TransportOptions) -> Option<usize> {
        Some(options.max_message_bytes)
    }

    fn listen(options: &TransportOptions) -> Result<(Listener, serde_json::Value), TransportError> {
        let layout = Layout {
            slot_capacity: options.max_message_bytes,
        };
        // Zero-filled by the OS: both sequence numbers start at 0.
        let region = Region::create("spin", layout.region_len())?;
        let setup = Setup {
            os_id: region.os_id().to_string(),
            layout,
        };
        let setup = serde_json::to_value(setup).map_err(|e| TransportError::Other(e.to_string()))?;
        Ok((Listener { region, layout }, setup))
    }

    fn accept(listener: Listener, _options: &TransportOptions, _liveness: &mut Liveness, _timeout: Duration) -> Result<Self, TransportError> {
        Ok(Spin::build(listener.region, listener.layout, true))
    }

    fn connect(setup: &serde_json::Value, _options: &TransportOptions, _liveness: &mut Liveness) -> Result<Self, TransportError> {
        let setup: Setup = serde_json::from_value(setup.clone()).map_err(|e| TransportError::Setup(e.to_string()))?;
        let region = Region::open(&setup.os_id, setup.layout.region_len())?;
        Ok(Spin::build(region, setup.layout, false))
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        let slot = &self.outgoing;
        // SAFETY: the slot lies in our live region; the peer reads it only
        // after the Release store below, and has finished reading our previous
        // message (it answered it) before we write again.
        unsafe { slot.message.write(message)? };
        self.sent += 1;
        // Release: the bytes and length above become visible to a reader that
        // sees this sequence number with Acquire.
        slot.seq().store(self.sent, Ordering::Release);
        Ok(())
    }

    fn recv(&mut self, liveness: &mut Liveness) -> Result<&[u8], TransportError> {
        let expected = self.received + 1;
        let seq = self.incoming.seq();
        liveness.spin_until(|| (seq.load(Ordering::Acquire) == expected).then_some(()))?;
        self.received = expected;
        // SAFETY: the Acquire load that saw `expected` makes the writer's
        // length and bytes visible; it will not write this slot again until we answer.
        unsafe { self.incoming.message.read_into(&mut self.buf) }
    }

    fn orphaned(&mut self) {
        self.region.take_ownership();
    }
}
