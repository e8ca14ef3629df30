//! shared_memory + raw_sync: one region, one slot per direction, each slot
//! an event (raw_sync's `BusyEvent` to spin, or its `Event`, a process-shared
//! mutex and condition variable, to block), a length and the message bytes.
//!
//! Both sides compute the same layout from the slot capacity in the handshake.
//!
//! ```text
//! | slot 0: parent -> child                     | slot 1: child -> parent |
//! | event (EVENT_BYTES) | len: u64 | data ...   | event | len | data ...   |
//! ```

use super::shm_region::{Region, SlotData};
use super::{Transport, TransportError, TransportOptions, WaitStrategy};
use crate::liveness::Liveness;
use raw_sync::events::{BusyEvent, Event, EventImpl, EventInit, EventState};
use raw_sync::Timeout;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{fence, Ordering};
use std::time::Duration;

/// Bytes reserved for either kind of event at the start of a slot; both
/// need far less (a pthread mutex and condition variable with padding).
const EVENT_BYTES: usize = 256;
/// Slots start on cache-line boundaries so the two directions never share one.
const ALIGN: usize = 128;
/// How long one spinning wait inside raw_sync lasts before we yield the CPU
/// and check the peer. Only reached when the peer is slow.
const SPIN_SLICE: Duration = Duration::from_micros(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Layout {
    slot_capacity: usize,
}

impl Layout {
    fn slot_stride(&self) -> usize {
        (EVENT_BYTES + 8 + self.slot_capacity).div_ceil(ALIGN) * ALIGN
    }

    fn region_len(&self) -> usize {
        2 * self.slot_stride()
    }

    fn slot_offset(&self, index: usize) -> usize {
        index * self.slot_stride()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Setup {
    os_id: String,
    layout: Layout,
    wait: WaitStrategy,
}

/// One direction: the event that announces a message, and where it lies.
struct Slot {
    event: Box<dyn EventImpl>,
    message: SlotData,
}

impl Slot {
    /// Initializes (`create`) or attaches to (`!create`) slot `index`.
    ///
    /// # Safety
    /// `region` must be at least `layout.region_len()` bytes, and with
    /// `create` no other process may be using it yet.
    unsafe fn new(region: &Region, layout: &Layout, index: usize, wait: WaitStrategy, create: bool) -> Result<Self, TransportError> {
        // SAFETY: the offset is within the region by the caller's length guarantee.
        let base = unsafe { region.as_ptr().add(layout.slot_offset(index)) };
        let event_error = |e: Box<dyn std::error::Error>| TransportError::Other(format!("raw_sync event: {e}"));
        // SAFETY: `base` points at EVENT_BYTES reserved, ALIGN-aligned bytes of the
        // shared region, more than either event needs; with `create` nobody else
        // uses them yet, otherwise the creator initialized them before the child
        // was told the region's name.
        let (event, used) = unsafe {
            match (wait, create) {
                (WaitStrategy::Spin, true) => BusyEvent::new(base, true),
                (WaitStrategy::Spin, false) => BusyEvent::from_existing(base),
                (WaitStrategy::Block, true) => Event::new(base, true),
                (WaitStrategy::Block, false) => Event::from_existing(base),
            }
        }
        .map_err(event_error)?;
        assert!(used <= EVENT_BYTES, "raw_sync event needs {used} bytes, {EVENT_BYTES} reserved");
        // SAFETY: EVENT_BYTES is a multiple of 8, so `len` is aligned; len and
        // data lie within this slot's stride.
        let (len, data) = unsafe { (base.add(EVENT_BYTES) as *mut u64, base.add(EVENT_BYTES + 8)) };
        if create {
            // SAFETY: as above, and no one else accesses the region yet.
            unsafe { len.write(0) };
        }
        Ok(Slot {
            event,
            message: SlotData {
                len,
                data,
                capacity: layout.slot_capacity,
            },
        })
    }
}

pub struct RawSync {
    outgoing: Slot,
    incoming: Slot,
    wait: WaitStrategy,
    buf: Vec<u8>,
    /// Last field: dropped after the slots that point into it.
    region: Region,
}

/// Parent-side state between `listen` and `accept`.
pub struct Listener {
    region: Region,
    layout: Layout,
    wait: WaitStrategy,
}

impl RawSync {
    fn build(region: Region, layout: Layout, wait: WaitStrategy, parent: bool) -> Result<Self, TransportError> {
        let (out_index, in_index) = if parent { (0, 1) } else { (1, 0) };
        // SAFETY: the region was created or checked to be region_len() long;
        // slots are attached (not created) here, after listen initialized them.
        let (outgoing, incoming) = unsafe {
            (
                Slot::new(&region, &layout, out_index, wait, false)?,
                Slot::new(&region, &layout, in_index, wait, false)?,
            )
        };
        Ok(RawSync {
            outgoing,
            incoming,
            wait,
            buf: Vec::with_capacity(layout.slot_capacity),
            region,
        })
    }
}

impl Transport for RawSync {
    const NAME: &'static str = "raw-sync";
    const CHILD_BIN_ENV: &'static str = "RAW_SYNC_CHILD_BIN_PATH";

    type Listener = Listener;

    fn capacity(options: &TransportOptions) -> Option<usize> {
        // Slots are sized from the message size itself.
        Some(options.max_message_bytes)
    }

    fn variant(options: &TransportOptions) -> Option<&'static str> {
        Some(options.wait.name())
    }

    fn listen(options: &TransportOptions) -> Result<(Listener, serde_json::Value), TransportError> {
        let layout = Layout {
            slot_capacity: options.max_message_bytes,
        };
        let region = Region::create("rs", layout.region_len())?;
        for index in 0..2 {
            // SAFETY: the region is region_len() long and the child has not
            // been told its name yet, so nobody else can touch it.
            drop(unsafe { Slot::new(&region, &layout, index, options.wait, true)? });
        }
        let setup = Setup {
            os_id: region.os_id().to_string(),
            layout,
            wait: options.wait,
        };
        let setup = serde_json::to_value(setup).map_err(|e| TransportError::Other(e.to_string()))?;
        Ok((
            Listener {
                region,
                layout,
                wait: options.wait,
            },
            setup,
        ))
    }

    fn accept(
        listener: Listener,
        _options: &TransportOptions,
        _liveness: &mut Liveness,
        _timeout: Duration,
    ) -> Result<Self, TransportError> {
        // The child attached before it reported ready; nothing to wait for.
        RawSync::build(listener.region, listener.layout, listener.wait, true)
    }

    fn connect(setup: &serde_json::Value, _options: &TransportOptions, _liveness: &mut Liveness) -> Result<Self, TransportError> {
        let setup: Setup = serde_json::from_value(setup.clone()).map_err(|e| TransportError::Setup(e.to_string()))?;
        let region = Region::open(&setup.os_id, setup.layout.region_len())?;
        RawSync::build(region, setup.layout, setup.wait, false)
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        let slot = &self.outgoing;
        // SAFETY: the slot lies in our live region; the peer does not read it
        // until the event below is set, and has finished reading our previous
        // message (it answered it) before we send again.
        unsafe { slot.message.write(message)? };
        // Publish: BusyEvent signals with a Relaxed store, which does not order
        // the bytes above before it. This Release fence does; it pairs with
        // the Acquire fence in `recv`, so a reader that sees the signal also
        // sees the message (on ARM, without it, it might not). With the
        // blocking Event the mutex already orders them; the fence costs nothing.
        fence(Ordering::Release);
        slot.event
            .set(EventState::Signaled)
            .map_err(|e| TransportError::Other(format!("raw_sync: signalling: {e}")))
    }

    fn recv(&mut self, liveness: &mut Liveness) -> Result<&[u8], TransportError> {
        let event = &self.incoming.event;
        // Spin inside raw_sync for a slice, then yield and check the peer; or
        // block on the condition variable for a check interval at a time.
        let slice = match self.wait {
            WaitStrategy::Spin => SPIN_SLICE,
            WaitStrategy::Block => crate::liveness::CHECK_INTERVAL,
        };
        while event.wait(Timeout::Val(slice)).is_err() {
            if self.wait == WaitStrategy::Spin {
                std::thread::yield_now();
            }
            if let Err(gone) = liveness.check_if_due() {
                // The peer may have signalled and exited since the wait gave
                // up (the child does, after acknowledging the stop): one more
                // look before calling the message lost.
                if event.wait(Timeout::Val(Duration::ZERO)).is_err() {
                    return Err(gone.into());
                }
                break;
            }
        }
        // Pairs with the Release fence in `send`: everything the writer stored
        // before signalling is visible from here on.
        fence(Ordering::Acquire);
        // SAFETY: the slot lies in our live region; the Acquire fence above
        // completes the writer's publication, and it will not touch this slot
        // again until we answer.
        unsafe { self.incoming.message.read_into(&mut self.buf) }
    }

    fn orphaned(&mut self) {
        self.region.take_ownership();
    }
}
