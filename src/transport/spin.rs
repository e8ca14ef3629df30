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
//! The sequence number, the length and the first 48 bytes of data share the
//! slot's first cache line, so a small message crosses between cores in the
//! line the peer polls, as in the bare atomic ping-pong.
//!
//! Messages of [`IN_PLACE_FROM`] bytes and more are encoded straight into
//! the slot ([`Transport::loan`]) and handed to the receiver where they lie;
//! shorter ones are copied in from the encoder's buffer and out into ours.
//! A codec writing a short message field by field into the line the peer is
//! polling pulls that line back and forth once per write (measured: 0.68× the
//! copied path at 32 B), where one `memcpy` moves it in one go.

use super::shm_region::{Region, SlotData, TwoSlots, IN_PLACE_FROM};
use super::{Options, Transport, TransportError};
use crate::liveness::Liveness;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The sequence number and the length, alone in their own 128 bytes (a
/// cache line and its prefetch neighbour): the peer polls that line, and a
/// codec encoding in place must not write into it byte by byte, each write
/// pulling the line back from the poller. The message starts at the next line.
const HEADER: usize = 16;

/// Both slots, sized from a capacity that was checked.
fn layout(slot_capacity: usize) -> Result<TwoSlots, TransportError> {
    TwoSlots::new(HEADER, slot_capacity)
}

/// No settings of its own.
pub type Flags = super::NoFlags;
/// No variants to choose in a matrix.
pub type MatrixFlags = super::NoFlags;

#[derive(Debug, Serialize, Deserialize)]
pub struct Setup {
    os_id: String,
    /// Checked again by the child before it maps anything.
    slot_capacity: usize,
}

struct Slot {
    seq: *const AtomicU64,
    message: SlotData,
}

impl Slot {
    /// # Safety
    /// `base` must point at `layout.region_len()` bytes, 8-aligned, that stay
    /// mapped while the slot is used, and that start zero-filled.
    unsafe fn at(base: *mut u8, layout: &TwoSlots, index: usize) -> Self {
        // SAFETY: within the memory by the caller's guarantee (TwoSlots puts
        // each slot's header and capacity inside region_len()); the offset is
        // a multiple of SLOT_ALIGN, so `seq` and `len` are 8-aligned.
        unsafe {
            let base = base.add(layout.slot_offset(index));
            Slot {
                seq: base as *const AtomicU64,
                message: SlotData {
                    len: base.add(8) as *mut u64,
                    data: base.add(HEADER),
                    capacity: layout.capacity(),
                },
            }
        }
    }

    fn seq(&self) -> &AtomicU64 {
        // SAFETY: `seq` points at 8 aligned bytes that stay mapped while the
        // slot is used (see `at`); zero-filled memory is a valid AtomicU64 of 0.
        unsafe { &*self.seq }
    }
}

/// The protocol itself, over two slots anywhere in memory: shared memory in
/// the transport, a heap buffer in the Miri test below.
struct Channel {
    outgoing: Slot,
    incoming: Slot,
    /// Messages sent and received so far; the peer's next message carries
    /// `received + 1`.
    sent: u64,
    received: u64,
    /// Where short messages are copied out to.
    buf: Vec<u8>,
}

impl Channel {
    /// # Safety
    /// As for [`Slot::at`]; the two sides must pass opposite `parent` values.
    unsafe fn new(base: *mut u8, layout: &TwoSlots, parent: bool) -> Self {
        let (out_index, in_index) = if parent { (0, 1) } else { (1, 0) };
        // SAFETY: forwarded from the caller.
        let (outgoing, incoming) = unsafe {
            (
                Slot::at(base, layout, out_index),
                Slot::at(base, layout, in_index),
            )
        };
        Channel {
            outgoing,
            incoming,
            sent: 0,
            received: 0,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        let capacity = self.outgoing.message.capacity;
        let slot = self
            .loan()
            .get_mut(..message.len())
            .ok_or(TransportError::TooLarge {
                len: message.len(),
                capacity,
            })?;
        slot.copy_from_slice(message);
        self.publish(message.len())
    }

    /// The outgoing slot, to write the next message into.
    fn loan(&mut self) -> &mut [u8] {
        // SAFETY: the slot lies in live memory (`new`); the peer reads it only
        // after `publish`'s Release store, and has finished reading our
        // previous message (it answered it) before we may write again; the
        // slice borrows `self`, so it is gone before the next `publish`.
        unsafe { self.outgoing.message.slot_mut() }
    }

    /// Publishes the first `len` bytes of the outgoing slot.
    fn publish(&mut self, len: usize) -> Result<(), TransportError> {
        let slot = &self.outgoing;
        // SAFETY: as in `loan`: the slot is ours until the store below.
        unsafe { slot.message.set_len(len)? };
        self.sent += 1;
        // Release: the bytes and length above become visible to a reader that
        // sees this sequence number with Acquire.
        slot.seq().store(self.sent, Ordering::Release);
        Ok(())
    }

    /// Whether the peer's next message has been published.
    #[inline]
    fn ready(&self) -> bool {
        self.incoming.seq().load(Ordering::Acquire) == self.received + 1
    }

    /// The message `ready` saw: where it lies in the slot, or copied out
    /// when short (see [`IN_PLACE_FROM`]).
    fn take(&mut self) -> Result<&[u8], TransportError> {
        debug_assert!(self.ready());
        self.received += 1;
        // SAFETY: the Acquire load in `ready` that saw this sequence number
        // makes the writer's length and bytes visible; it will not write this
        // slot again until we answer, and we cannot answer while the slice
        // (which borrows `self`) lives.
        unsafe { self.incoming.message.read_or_copy(&mut self.buf) }
    }
}

pub struct Spin {
    channel: Channel,
    /// Last field: dropped after the channel that points into it.
    region: Region,
}

pub struct Listener {
    region: Region,
    layout: TwoSlots,
}

impl Spin {
    fn build(region: Region, layout: TwoSlots, parent: bool) -> Self {
        // SAFETY: the region was created with, or checked to hold,
        // region_len() bytes; it is page-aligned, zero-filled at creation,
        // and owned by the returned value, after the channel in drop order.
        let channel = unsafe { Channel::new(region.as_ptr(), &layout, parent) };
        Spin { channel, region }
    }
}

impl Transport for Spin {
    const NAME: &'static str = "spin";
    const CHILD_BIN_ENV: &'static str = "SPIN_CHILD_BIN_PATH";

    type Config = ();
    type Setup = Setup;
    type Listener = Listener;

    fn capacity(options: &Options<()>) -> Option<usize> {
        Some(options.max_message_bytes)
    }

    fn listen(options: &Options<()>) -> Result<(Listener, Setup), TransportError> {
        let layout = layout(options.max_message_bytes)?;
        // Zero-filled by the OS: both sequence numbers start at 0.
        let region = Region::create("spin", layout.region_len())?;
        let setup = Setup {
            os_id: region.os_id().to_string(),
            slot_capacity: layout.capacity(),
        };
        Ok((Listener { region, layout }, setup))
    }

    fn accept(
        listener: Listener,
        _options: &Options<()>,
        _liveness: &mut Liveness,
        _timeout: Duration,
    ) -> Result<Self, TransportError> {
        Ok(Spin::build(listener.region, listener.layout, true))
    }

    fn connect(
        setup: &Setup,
        _options: &Options<()>,
        _liveness: &mut Liveness,
    ) -> Result<Self, TransportError> {
        let layout = layout(setup.slot_capacity)?;
        let region = Region::open(&setup.os_id, layout.region_len())?;
        Ok(Spin::build(region, layout, false))
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        self.channel.send(message)
    }

    const LEND_FROM: Option<usize> = Some(IN_PLACE_FROM);
    const RECEIVE_IN_PLACE_FROM: Option<usize> = Some(IN_PLACE_FROM);

    fn loan(&mut self) -> Option<&mut [u8]> {
        Some(self.channel.loan())
    }

    fn send_loaned(&mut self, len: usize) -> Result<(), TransportError> {
        self.channel.publish(len)
    }

    fn recv(&mut self, liveness: &mut Liveness) -> Result<&[u8], TransportError> {
        let channel = &mut self.channel;
        liveness.spin_until(|| channel.ready().then_some(()))?;
        channel.take()
    }

    fn orphaned(&mut self) {
        self.region.take_ownership();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The publication protocol between two threads over a heap buffer, with
    /// every byte checked. Run it under Miri to check for data races and
    /// undefined behaviour: `cargo +nightly miri test --lib spin`.
    #[test]
    fn two_threads_exchange_every_message_intact() {
        let rounds: u64 = if cfg!(miri) { 40 } else { 20_000 };
        // Room for messages that are read in place as well as copied ones.
        let capacity = IN_PLACE_FROM + 200;
        let layout = layout(capacity).unwrap();
        // u64s: 8-aligned and zero-filled, as a fresh mapping is.
        let mut memory = vec![0u64; layout.region_len() / 8];
        /// A pointer the child thread may take along (raw pointers are not Send).
        struct Shared(*mut u8);
        // SAFETY: both threads only use the pointer through Channel, whose
        // protocol is what this test checks; the memory outlives both.
        unsafe impl Send for Shared {}
        let base = memory.as_mut_ptr() as *mut u8;
        let shared = Shared(base);
        let message = |n: u64| -> Vec<u8> {
            (0..super::super::shm_region::mixed_message_len(n))
                .map(|i| (i as u64 ^ n) as u8)
                .collect()
        };
        let child = std::thread::spawn(move || {
            let shared = shared;
            // SAFETY: `memory` outlives the thread (joined below) and holds region_len() bytes.
            let mut channel = unsafe { Channel::new(shared.0, &layout, false) };
            for n in 0..rounds {
                while !channel.ready() {
                    std::thread::yield_now();
                }
                let request = channel.take().unwrap().to_vec();
                if n % 2 == 0 {
                    channel.send(&request).unwrap();
                } else {
                    // The loan path: write into the slot, then publish.
                    channel.loan()[..request.len()].copy_from_slice(&request);
                    channel.publish(request.len()).unwrap();
                }
            }
        });
        // SAFETY: as above, for the other side.
        let mut channel = unsafe { Channel::new(base, &layout, true) };
        for n in 0..rounds {
            let sent = message(n);
            channel.send(&sent).unwrap();
            while !channel.ready() {
                std::thread::yield_now();
            }
            assert_eq!(channel.take().unwrap(), &sent[..], "message {n}");
        }
        child.join().unwrap();
        assert!(
            channel.send(&vec![0; capacity + 1]).is_err(),
            "oversize accepted"
        );
        assert!(
            channel.publish(capacity + 1).is_err(),
            "oversize length accepted"
        );
        drop(memory);
    }
}
