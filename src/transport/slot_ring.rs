//! Rings of message slots in shared memory, the protocol `spin` and
//! `raw-sync` share: each direction holds `window` slots (one for a
//! ping-pong), each slot a sequence number, the writer's acknowledgement of
//! the other direction, a length and the message bytes.
//!
//! ```text
//! | direction 0: parent -> child                          | direction 1 ... |
//! | header (raw-sync's event) | slot 0 | slot 1 | ... | slot W-1 |         |
//! slot: | seq: AtomicU64 | len: u64 | taken: u64 | data (capacity) ... |
//! ```
//!
//! Message `n` (from 1) goes into slot `(n - 1) % W` and is published by
//! storing `n` into the slot's sequence number with Release; the reader
//! waits for exactly the number it expects, with Acquire, so it sees the
//! whole message. Before publishing, a writer records in the slot how many
//! of the peer's messages it has taken (`taken`): it is done with all of
//! them, since it can only send once the last one's slice is dropped. That
//! count, read with the message (after the Acquire), is how the peer knows
//! which of its own slots are free again, so the two sequence numbers order
//! both the data and its reuse. Nothing else is shared: no counter that
//! both sides poll, no extra cache line on the round trip.
//!
//! A writer never overwrites a slot the peer has not handed back: a send
//! with all `W` slots unacknowledged fails instead (the engine keeps its
//! window within the ring, so that is a bug, reported rather than raced).

use super::shm_region::Region;
use super::shm_region::{SlotData, MAX_SLOT_CAPACITY, SLOT_ALIGN};
use super::TransportError;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

/// Sequence number, length and the writer's count of taken messages.
const SLOT_HEADER: usize = 24;

/// The most slots a direction may have: far above any useful window, low
/// enough that a hostile count is refused before any arithmetic with it.
pub const MAX_SLOTS: usize = 1 << 20;

/// Where everything lies, from sizes that were checked: built only through
/// [`new`](Self::new), so a hostile capacity or window from the handshake is
/// refused instead of wrapping around to a small region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rings {
    capacity: usize,
    slots: usize,
    /// Bytes before a direction's first slot (raw-sync's event), aligned.
    head: usize,
    slot_stride: usize,
    direction_stride: usize,
}

impl Rings {
    /// Two directions of `slots` slots of `capacity` bytes each, every
    /// direction starting with `head` bytes of the transport's own.
    pub fn new(head: usize, capacity: usize, slots: usize) -> Result<Self, TransportError> {
        let refuse = |what: String| Err(TransportError::Setup(what));
        if capacity > MAX_SLOT_CAPACITY {
            return refuse(format!(
                "slot capacity {capacity} is larger than the {MAX_SLOT_CAPACITY} bytes accepted"
            ));
        }
        if !(1..=MAX_SLOTS).contains(&slots) {
            return refuse(format!(
                "{slots} slots per direction: accepted 1 to {MAX_SLOTS}"
            ));
        }
        let too_large = || {
            TransportError::Setup(format!(
                "{slots} slots of {capacity} bytes each way are more than the {} bytes a region may have",
                super::shm_region::MAX_REGION_BYTES
            ))
        };
        let aligned = |n: usize| n.checked_next_multiple_of(SLOT_ALIGN);
        let slot_stride = SLOT_HEADER
            .checked_add(capacity)
            .and_then(aligned)
            .ok_or_else(too_large)?;
        let head = aligned(head).ok_or_else(too_large)?;
        let direction_stride = slot_stride
            .checked_mul(slots)
            .and_then(|n| n.checked_add(head))
            .filter(|n| {
                n.checked_mul(2)
                    .is_some_and(|len| len <= super::shm_region::MAX_REGION_BYTES)
            })
            .ok_or_else(too_large)?;
        Ok(Rings {
            capacity,
            slots,
            head,
            slot_stride,
            direction_stride,
        })
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The bytes both directions take.
    pub fn region_len(&self) -> usize {
        // Checked in `new`.
        2 * self.direction_stride
    }

    /// Where direction `direction`'s header starts, relative to the region.
    pub fn head_offset(&self, direction: usize) -> usize {
        debug_assert!(direction < 2);
        direction * self.direction_stride
    }

    fn slot_offset(&self, direction: usize, index: usize) -> usize {
        debug_assert!(direction < 2 && index < self.slots);
        self.head_offset(direction) + self.head + index * self.slot_stride
    }
}

struct RingSlot {
    seq: *const AtomicU64,
    taken: *mut u64,
    message: SlotData,
}

impl RingSlot {
    fn seq(&self) -> &AtomicU64 {
        // SAFETY: `seq` points at 8 aligned bytes inside the live mapping
        // (see `Ring::new`); zero-filled memory is a valid AtomicU64 of 0.
        unsafe { &*self.seq }
    }
}

/// One side's view of both rings: it writes one direction, reads the other.
pub struct Ring {
    outgoing: Vec<RingSlot>,
    incoming: Vec<RingSlot>,
    /// Messages sent and received so far.
    sent: u64,
    received: u64,
    /// How many of our messages the peer had taken when it last wrote: every
    /// slot of ours up to there is free again.
    peer_taken: u64,
    /// Where short messages are copied out to.
    buf: Vec<u8>,
}

impl Ring {
    /// The rings at `base`; the parent writes direction 0, the child 1.
    ///
    /// # Safety
    /// `base` must point at `rings.region_len()` bytes, aligned to
    /// [`SLOT_ALIGN`], zero-filled before either side first used them, that
    /// stay mapped while the ring is used; the two sides pass opposite
    /// `parent` values, and no one else writes the slots.
    pub unsafe fn new(base: *mut u8, rings: &Rings, parent: bool) -> Self {
        let (out_dir, in_dir) = if parent { (0, 1) } else { (1, 0) };
        let slots = |direction: usize| -> Vec<RingSlot> {
            (0..rings.slots)
                .map(|index| {
                    // SAFETY: `Rings` keeps every slot's header and capacity
                    // inside region_len(); offsets are multiples of
                    // SLOT_ALIGN, so every header field is 8-aligned.
                    unsafe {
                        let slot = base.add(rings.slot_offset(direction, index));
                        RingSlot {
                            seq: slot as *const AtomicU64,
                            taken: slot.add(16) as *mut u64,
                            message: SlotData {
                                len: slot.add(8) as *mut u64,
                                data: slot.add(SLOT_HEADER),
                                capacity: rings.capacity,
                            },
                        }
                    }
                })
                .collect()
        };
        Ring {
            outgoing: slots(out_dir),
            incoming: slots(in_dir),
            sent: 0,
            received: 0,
            peer_taken: 0,
            buf: Vec::new(),
        }
    }

    fn slot_of(ring: &[RingSlot], count: u64) -> &RingSlot {
        &ring[(count % ring.len() as u64) as usize]
    }

    /// The slot the next message goes into, if the peer has handed it back.
    fn next_free(&self) -> Result<&RingSlot, TransportError> {
        if self.sent - self.peer_taken >= self.outgoing.len() as u64 {
            return Err(TransportError::Other(format!(
                "all {} slots hold messages the peer has not taken: a send beyond the window",
                self.outgoing.len()
            )));
        }
        Ok(Self::slot_of(&self.outgoing, self.sent))
    }

    /// Copies `message` into the next slot and publishes it.
    pub fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        let capacity = self.outgoing[0].message.capacity;
        let slot = self
            .loan()?
            .get_mut(..message.len())
            .ok_or(TransportError::TooLarge {
                len: message.len(),
                capacity,
            })?;
        slot.copy_from_slice(message);
        self.publish(message.len())
    }

    /// The next slot, writable, to encode a message into; publish it with
    /// [`publish`](Self::publish).
    pub fn loan(&mut self) -> Result<&mut [u8], TransportError> {
        let slot = self.next_free()?;
        // SAFETY: the slot lies in live memory (`new`). The peer handed it
        // back (`next_free`: its count of taken messages covers the message
        // that was here, and it read that count after its Acquire), and it
        // reads it again only after `publish`'s Release store; the slice
        // borrows `self`, so it is gone before that.
        Ok(unsafe { slot.message.slot_mut() })
    }

    /// Publishes the first `len` bytes of the next slot as message `sent + 1`.
    pub fn publish(&mut self, len: usize) -> Result<(), TransportError> {
        let received = self.received;
        let slot = self.next_free()?;
        // SAFETY: as in `loan`: the slot is ours until the store below.
        unsafe {
            slot.message.set_len(len)?;
            slot.taken.write_volatile(received);
        }
        // Release: the bytes, length and count above become visible to a
        // reader that sees this number with Acquire; and every read we made
        // of the peer's slots up to `received` happens before it reuses them.
        slot.seq().store(self.sent + 1, Ordering::Release);
        self.sent += 1;
        Ok(())
    }

    /// Whether the peer's next message has been published.
    #[inline]
    pub fn ready(&self) -> bool {
        Self::slot_of(&self.incoming, self.received)
            .seq()
            .load(Ordering::Acquire)
            == self.received + 1
    }

    /// The message `ready` saw: where it lies in its slot, or copied out when
    /// short (see `IN_PLACE_FROM`). Valid until the next call on `self`.
    pub fn take(&mut self) -> Result<&[u8], TransportError> {
        debug_assert!(self.ready());
        let slot = Self::slot_of(&self.incoming, self.received);
        // SAFETY: the Acquire load in `ready` that saw this message's number
        // makes the writer's count, length and bytes visible; the writer
        // leaves the slot alone until our count covers it, which we publish
        // only with a later message, after the slice (borrowing `self`) is gone.
        let taken = unsafe { slot.taken.read_volatile() };
        if taken > self.sent {
            return Err(TransportError::Corrupt(format!(
                "the peer says it took {taken} messages, {} were sent",
                self.sent
            )));
        }
        self.peer_taken = self.peer_taken.max(taken);
        self.received += 1;
        // SAFETY: as above.
        unsafe { slot.message.read_or_copy(&mut self.buf) }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn geometry_refuses_what_would_wrap_or_exceed_the_caps() {
        let one = Rings::new(0, 200, 1).unwrap();
        assert_eq!(one.region_len(), 2 * 256);
        assert_eq!(one.slot_offset(1, 0), 256);
        let ring = Rings::new(256, 100, 4).unwrap();
        assert_eq!(ring.slot_offset(0, 0), 256);
        assert_eq!(ring.slot_offset(0, 3), 256 + 3 * 128);
        assert_eq!(ring.head_offset(1), 256 + 4 * 128);
        assert_eq!(ring.region_len(), 2 * (256 + 4 * 128));
        for hostile in [usize::MAX, usize::MAX / 2, MAX_SLOT_CAPACITY + 1] {
            assert!(Rings::new(0, hostile, 1).is_err(), "{hostile}");
        }
        for slots in [0, MAX_SLOTS + 1, usize::MAX] {
            assert!(Rings::new(0, 8, slots).is_err(), "{slots} slots");
        }
        assert!(Rings::new(usize::MAX, 1, 1).is_err());
        assert!(
            Rings::new(0, MAX_SLOT_CAPACITY, 64).is_err(),
            "above the region cap"
        );
        assert!(Rings::new(264, MAX_SLOT_CAPACITY, 1).is_ok());
    }

    /// Memory laid out as a fresh region is: zero-filled, SLOT_ALIGN-aligned.
    pub(crate) struct TestMemory {
        memory: Vec<u64>,
        offset: usize,
    }

    impl TestMemory {
        pub(crate) fn new(len: usize) -> Self {
            let memory = vec![0u64; (len + SLOT_ALIGN).div_ceil(8)];
            let offset = (memory.as_ptr() as *const u8).align_offset(SLOT_ALIGN);
            TestMemory { memory, offset }
        }

        pub(crate) fn base(&mut self) -> *mut u8 {
            (self.memory.as_mut_ptr() as *mut u8).wrapping_add(self.offset)
        }
    }

    /// A pointer a thread may take along (raw pointers are not Send).
    pub(crate) struct Shared(pub(crate) *mut u8);
    // SAFETY: the threads of these tests use the memory only through the
    // ring, whose protocol is what they check; it outlives them.
    unsafe impl Send for Shared {}

    fn message(n: u64) -> Vec<u8> {
        (0..super::super::shm_region::mixed_message_len(n))
            .map(|i| (i as u64 ^ n) as u8)
            .collect()
    }

    /// A stream of `total` messages through a ring of `window` slots, the
    /// reader acknowledging every `window / 2` (at least every one) with a
    /// message of its own, the writer sending whenever it holds fewer than
    /// `window` unacknowledged: every slot is reused many times while the
    /// peer reads others, and every byte is checked. Under Miri (`cargo
    /// +nightly miri test --lib slot_ring`) this checks the Release/Acquire
    /// pairs for data races both ways: the data forward, the reuse back.
    fn stream(window: usize, total: u64) {
        let capacity = super::super::shm_region::IN_PLACE_FROM + 200;
        let rings = Rings::new(0, capacity, window).unwrap();
        let mut memory = TestMemory::new(rings.region_len());
        let shared = Shared(memory.base());
        let ack_every = (window as u64 / 2).max(1);
        let reader = std::thread::spawn(move || {
            let shared = shared;
            // SAFETY: the memory outlives the thread (joined below).
            let mut ring = unsafe { Ring::new(shared.0, &rings, false) };
            for n in 1..=total {
                while !ring.ready() {
                    std::thread::yield_now();
                }
                assert_eq!(ring.take().unwrap(), &message(n)[..], "message {n}");
                if n % ack_every == 0 {
                    ring.send(&n.to_le_bytes()).unwrap();
                }
            }
        });
        // SAFETY: as above, for the other side.
        let mut ring = unsafe { Ring::new(memory.base(), &rings, true) };
        let mut acked = 0;
        for n in 1..=total {
            while n - acked > window as u64 {
                while !ring.ready() {
                    std::thread::yield_now();
                }
                acked = u64::from_le_bytes(ring.take().unwrap().try_into().unwrap());
            }
            if n % 2 == 0 {
                ring.send(&message(n)).unwrap();
            } else {
                // The loan path: write into the slot, then publish.
                let sent = message(n);
                ring.loan().unwrap()[..sent.len()].copy_from_slice(&sent);
                ring.publish(sent.len()).unwrap();
            }
        }
        reader.join().unwrap();
        drop(memory);
    }

    #[test]
    fn a_ring_of_one_alternates() {
        stream(1, if cfg!(miri) { 30 } else { 20_000 });
    }

    #[test]
    fn a_ring_of_many_streams_every_message_intact() {
        for window in [2, 3, 16] {
            stream(window, if cfg!(miri) { 60 } else { 50_000 });
        }
    }

    #[test]
    fn a_send_beyond_the_window_is_refused_not_raced() {
        let rings = Rings::new(0, 64, 2).unwrap();
        let mut memory = TestMemory::new(rings.region_len());
        // SAFETY: the memory outlives both ends; one thread.
        let mut parent = unsafe { Ring::new(memory.base(), &rings, true) };
        let mut child = unsafe { Ring::new(memory.base(), &rings, false) };
        parent.send(b"one").unwrap();
        parent.send(b"two").unwrap();
        assert!(
            parent.send(b"three").is_err(),
            "a third message in two slots"
        );
        assert!(parent.loan().is_err());
        assert!(child.ready());
        assert_eq!(child.take().unwrap(), b"one");
        // Taken, but not yet handed back: still no room.
        assert!(parent.send(b"three").is_err());
        child.send(b"ack").unwrap();
        assert_eq!(parent.take().unwrap(), b"ack");
        parent.send(b"three").unwrap();
        assert_eq!(child.take().unwrap(), b"two");
        assert_eq!(child.take().unwrap(), b"three");
        assert!(parent.send(&[0; 65]).is_err(), "oversize accepted");
        drop(memory);
    }
}

/// What the parent of a transport that is a region of two rings and
/// nothing more (`spin`, `futex`) hands the child: the region's name and
/// the geometry, which the child checks again before it maps anything.
#[derive(Debug, Serialize, Deserialize)]
pub struct RingSetup {
    os_id: String,
    slot_capacity: usize,
    slots: usize,
}

impl RingSetup {
    /// Parent: creates a region named with `tag` for two rings of
    /// `head_bytes`-headed slots sized for these options; zero-filled by the
    /// OS, so every sequence number (and head) starts at 0.
    pub fn create(
        tag: &str,
        head_bytes: usize,
        max_message_bytes: usize,
        window: usize,
    ) -> Result<(Region, Rings, RingSetup), TransportError> {
        let layout = Rings::new(head_bytes, max_message_bytes, window)?;
        let region = Region::create(tag, layout.region_len())?;
        let setup = RingSetup {
            os_id: region.os_id().to_string(),
            slot_capacity: layout.capacity(),
            slots: layout.slots(),
        };
        Ok((region, layout, setup))
    }

    /// Child: checks the geometry and opens the region, checking its length.
    pub fn open(&self, head_bytes: usize) -> Result<(Region, Rings), TransportError> {
        let layout = Rings::new(head_bytes, self.slot_capacity, self.slots)?;
        let region = Region::open(&self.os_id, layout.region_len())?;
        Ok((region, layout))
    }
}
