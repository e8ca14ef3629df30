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

use super::shm_region::{Region, SlotData, TwoSlots, IN_PLACE_FROM};
use super::{Options, RunFlags, Transport, TransportError};
use crate::liveness::Liveness;
use raw_sync::events::{BusyEvent, Event, EventImpl, EventInit, EventState};
use raw_sync::Timeout;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{fence, AtomicU8, Ordering};
use std::time::Duration;

/// Bytes reserved for either kind of event at the start of a slot; both
/// need far less (a pthread mutex and condition variable with padding).
const EVENT_BYTES: usize = 256;
/// How long one spinning wait inside raw_sync lasts before we yield the CPU
/// and check the peer. Only reached when the peer is slow.
const SPIN_SLICE: Duration = Duration::from_micros(20);

/// Busy-poll or sleep until signalled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum WaitStrategy {
    /// Spin on shared memory (raw_sync's BusyEvent): lowest latency, a core each.
    #[default]
    Spin,
    /// Sleep on a process-shared mutex and condition variable (raw_sync's Event).
    Block,
}

impl WaitStrategy {
    pub fn name(self) -> &'static str {
        match self {
            WaitStrategy::Spin => "spin",
            WaitStrategy::Block => "block",
        }
    }
}

/// What the user chooses: how to wait.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub wait: WaitStrategy,
}

/// `run`'s flag for raw-sync.
#[derive(clap::Args, Debug, Clone)]
// Several transports flatten flag structs of the same name: no clap group.
#[group(skip)]
pub struct Flags {
    /// How raw-sync waits: spin (busy-poll, the seed's choice) or block (mutex and condition variable).
    #[arg(long, env = "WAIT_STRATEGY", default_value = "spin",
          value_parser = crate::parse::enum_parser::<WaitStrategy>("wait strategy", "WAIT_STRATEGY"))]
    pub wait: WaitStrategy,
}

impl RunFlags for Flags {
    type Config = Config;
    fn config(&self) -> Config {
        Config { wait: self.wait }
    }
}

/// `matrix`'s flag for raw-sync: the wait strategies to include.
#[derive(clap::Args, Debug, Clone)]
// Several transports flatten flag structs of the same name: no clap group.
#[group(skip)]
pub struct MatrixFlags {
    /// raw-sync wait strategies to include, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "spin",
          value_parser = crate::parse::enum_parser::<WaitStrategy>("wait strategy", "--waits"))]
    pub waits: Vec<WaitStrategy>,
}

impl super::MatrixFlags for MatrixFlags {
    type Config = Config;
    fn configs(&self) -> Vec<Config> {
        self.waits.iter().map(|&wait| Config { wait }).collect()
    }
}

/// Both slots (event, length, data), sized from a capacity that was checked.
fn layout(slot_capacity: usize) -> Result<TwoSlots, TransportError> {
    TwoSlots::new(EVENT_BYTES + 8, slot_capacity)
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Setup {
    os_id: String,
    /// Checked again by the child before it maps anything.
    slot_capacity: usize,
    wait: WaitStrategy,
}

/// One direction: the event that announces a message, and where it lies.
struct Slot {
    event: Box<dyn EventImpl>,
    /// The `BusyEvent`'s flag byte, to watch with plain loads while spinning
    /// (when this build's raw_sync lays it out first: see `busy_flag_first`).
    flag: Option<*const AtomicU8>,
    message: SlotData,
}

/// Whether a `BusyEvent`'s first byte is its signal flag (1 when signalled,
/// 0 when clear), as in raw_sync 0.1.5. raw_sync's timed wait reads the clock
/// on every poll, which delays noticing the signal; watching the flag
/// ourselves and then letting the event consume it avoids that. Checked once
/// per process on an event in local memory (both processes run the same
/// build), so a raw_sync that lays the event out otherwise falls back to its
/// own timed wait instead of misreading it.
fn busy_flag_first() -> bool {
    static FIRST: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FIRST.get_or_init(|| {
        let mut memory = [0u64; 4];
        let base = memory.as_mut_ptr() as *mut u8;
        // SAFETY: 32 aligned bytes of our own stack, more than a BusyEvent
        // needs; nobody else sees them.
        let Ok((event, _)) = (unsafe { BusyEvent::new(base, true) }) else {
            return false;
        };
        // SAFETY: `base` is valid for reads; the event only uses atomics.
        let first = || unsafe { (*(base as *const AtomicU8)).load(Ordering::Relaxed) };
        let clear = first() == 0;
        let signalled = event.set(EventState::Signaled).is_ok() && first() == 1;
        let consumed = event.wait(Timeout::Val(Duration::ZERO)).is_ok() && first() == 0;
        drop(event);
        clear && signalled && consumed
    })
}

impl Slot {
    /// Initializes (`create`) or attaches to (`!create`) slot `index`.
    ///
    /// # Safety
    /// `region` must be at least `layout.region_len()` bytes, and with
    /// `create` no other process may be using it yet.
    unsafe fn new(
        region: *mut u8,
        layout: &TwoSlots,
        index: usize,
        wait: WaitStrategy,
        create: bool,
    ) -> Result<Self, TransportError> {
        // SAFETY: the offset is within the region by the caller's length guarantee.
        let base = unsafe { region.add(layout.slot_offset(index)) };
        let event_error =
            |e: Box<dyn std::error::Error>| TransportError::Other(format!("raw_sync event: {e}"));
        // SAFETY: `base` points at EVENT_BYTES reserved, SLOT_ALIGN-aligned bytes of the
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
        if used > EVENT_BYTES {
            // Only a different raw_sync could need more; its event already
            // lies in this slot, but nothing has been written past it yet.
            return Err(TransportError::Other(format!(
                "raw_sync event needs {used} bytes, {EVENT_BYTES} reserved"
            )));
        }
        let flag =
            (wait == WaitStrategy::Spin && busy_flag_first()).then_some(base as *const AtomicU8);
        // SAFETY: EVENT_BYTES is a multiple of 8, so `len` is aligned; len and
        // data lie within this slot's stride.
        let (len, data) = unsafe { (base.add(EVENT_BYTES) as *mut u64, base.add(EVENT_BYTES + 8)) };
        if create {
            // SAFETY: as above, and no one else accesses the region yet.
            unsafe { len.write(0) };
        }
        Ok(Slot {
            event,
            flag,
            message: SlotData {
                len,
                data,
                capacity: layout.capacity(),
            },
        })
    }

    /// Writes `message` and signals it.
    fn publish(&self, message: &[u8]) -> Result<(), TransportError> {
        // SAFETY: the slot lies in live memory (`new`); the peer does not read
        // it until the event below is set, and has finished reading our
        // previous message (it answered it) before we send again.
        unsafe { self.message.write(message)? };
        self.signal()
    }

    /// The slot, to write the next message into; the caller then calls
    /// [`publish_loaned`](Self::publish_loaned).
    ///
    /// # Safety
    /// The slice must be gone before `publish_loaned`, and the caller must
    /// have received the answer to its previous message (strict alternation).
    #[allow(clippy::mut_from_ref)]
    unsafe fn loan(&self) -> &mut [u8] {
        // SAFETY: live memory (`new`) the peer does not touch until we signal,
        // per the caller.
        unsafe { self.message.slot_mut() }
    }

    /// Signals the first `len` bytes of the slot as the next message.
    fn publish_loaned(&self, len: usize) -> Result<(), TransportError> {
        // SAFETY: as in `publish`.
        unsafe { self.message.set_len(len)? };
        self.signal()
    }

    /// Signals the message written into the slot.
    fn signal(&self) -> Result<(), TransportError> {
        // Publish: BusyEvent signals with a Relaxed store, which does not order
        // the bytes above before it. This Release fence does; it pairs with
        // the Acquire fence in `receive`, so a reader that sees the signal also
        // sees the message (on ARM, without it, it might not). With the
        // blocking Event the mutex already orders them; the fence costs nothing.
        fence(Ordering::Release);
        self.event
            .set(EventState::Signaled)
            .map_err(|e| TransportError::Other(format!("raw_sync: signalling: {e}")))
    }

    /// Waits for the peer's signal, then returns its message: where it lies,
    /// or copied into `buf` when short (see [`IN_PLACE_FROM`]).
    ///
    /// # Safety
    /// The caller must stop using the slice before it answers the message:
    /// the peer writes the slot again only after the answer.
    unsafe fn receive<'b>(
        &self,
        wait: WaitStrategy,
        liveness: &mut Liveness,
        buf: &'b mut Vec<u8>,
    ) -> Result<&'b [u8], TransportError> {
        let event = &self.event;
        match self.flag {
            Some(flag) => {
                // SAFETY: the flag is the event's first byte, inside the live
                // region (`new`); raw_sync only ever accesses it atomically.
                let flag = unsafe { &*flag };
                liveness.spin_until(|| {
                    // Take the signal the way the event does once it is visible.
                    (flag.load(Ordering::Relaxed) == 1
                        && event.wait(Timeout::Val(Duration::ZERO)).is_ok())
                    .then_some(())
                })?;
            }
            // Spin inside raw_sync for a slice, then yield and check the peer;
            // or block on the condition variable for a check interval at a time.
            None => {
                let slice = match wait {
                    WaitStrategy::Spin => SPIN_SLICE,
                    WaitStrategy::Block => crate::liveness::CHECK_INTERVAL,
                };
                while event.wait(Timeout::Val(slice)).is_err() {
                    if wait == WaitStrategy::Spin {
                        std::thread::yield_now();
                    }
                    if let Err(gone) = liveness.check_if_due() {
                        // The peer may have signalled and exited since the wait
                        // gave up (the child does, after acknowledging the
                        // stop): one more look before calling the message lost.
                        if event.wait(Timeout::Val(Duration::ZERO)).is_err() {
                            return Err(gone.into());
                        }
                        break;
                    }
                }
            }
        }
        // Pairs with the Release fence in `publish`: everything the writer
        // stored before signalling is visible from here on.
        fence(Ordering::Acquire);
        // SAFETY: the slot lies in live memory; the Acquire fence above
        // completes the writer's publication, and it will not touch this slot
        // again until we answer, after the caller is done with the slice.
        unsafe { self.message.read_or_copy(buf) }
    }
}

pub struct RawSync {
    outgoing: Slot,
    incoming: Slot,
    wait: WaitStrategy,
    /// Where short messages are copied out to.
    buf: Vec<u8>,
    /// Last field: dropped after the slots that point into it.
    region: Region,
}

/// Parent-side state between `listen` and `accept`.
pub struct Listener {
    region: Region,
    layout: TwoSlots,
    wait: WaitStrategy,
}

impl RawSync {
    fn build(
        region: Region,
        layout: TwoSlots,
        wait: WaitStrategy,
        parent: bool,
    ) -> Result<Self, TransportError> {
        let (out_index, in_index) = if parent { (0, 1) } else { (1, 0) };
        // SAFETY: the region was created or checked to be region_len() long;
        // slots are attached (not created) here, after listen initialized them.
        let (outgoing, incoming) = unsafe {
            (
                Slot::new(region.as_ptr(), &layout, out_index, wait, false)?,
                Slot::new(region.as_ptr(), &layout, in_index, wait, false)?,
            )
        };
        Ok(RawSync {
            outgoing,
            incoming,
            wait,
            buf: Vec::new(),
            region,
        })
    }
}

impl Transport for RawSync {
    const NAME: &'static str = "raw-sync";
    const CHILD_BIN_ENV: &'static str = "RAW_SYNC_CHILD_BIN_PATH";

    type Config = Config;
    type Setup = Setup;
    type Listener = Listener;

    fn variants() -> Vec<Config> {
        [WaitStrategy::Spin, WaitStrategy::Block]
            .map(|wait| Config { wait })
            .to_vec()
    }

    fn flags(config: &Config) -> Vec<String> {
        vec!["--wait".into(), config.wait.name().into()]
    }

    fn capacity(options: &Options<Config>) -> Option<usize> {
        // Slots are sized from the message size itself.
        Some(options.max_message_bytes)
    }

    fn variant(config: &Config) -> Option<&'static str> {
        Some(config.wait.name())
    }

    fn listen(options: &Options<Config>) -> Result<(Listener, Setup), TransportError> {
        let layout = layout(options.max_message_bytes)?;
        let region = Region::create("rs", layout.region_len())?;
        for index in 0..2 {
            // SAFETY: the region is region_len() long and the child has not
            // been told its name yet, so nobody else can touch it.
            drop(unsafe { Slot::new(region.as_ptr(), &layout, index, options.config.wait, true)? });
        }
        let setup = Setup {
            os_id: region.os_id().to_string(),
            slot_capacity: layout.capacity(),
            wait: options.config.wait,
        };
        Ok((
            Listener {
                region,
                layout,
                wait: options.config.wait,
            },
            setup,
        ))
    }

    fn accept(
        listener: Listener,
        _options: &Options<Config>,
        _liveness: &mut Liveness,
        _timeout: Duration,
    ) -> Result<Self, TransportError> {
        // The child attached before it reported ready; nothing to wait for.
        RawSync::build(listener.region, listener.layout, listener.wait, true)
    }

    fn connect(
        setup: &Setup,
        _options: &Options<Config>,
        _liveness: &mut Liveness,
    ) -> Result<Self, TransportError> {
        let layout = layout(setup.slot_capacity)?;
        let region = Region::open(&setup.os_id, layout.region_len())?;
        RawSync::build(region, layout, setup.wait, false)
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        self.outgoing.publish(message)
    }

    const LEND_FROM: Option<usize> = Some(IN_PLACE_FROM);
    const RECEIVE_IN_PLACE_FROM: Option<usize> = Some(IN_PLACE_FROM);

    fn loan(&mut self) -> Option<&mut [u8]> {
        // SAFETY: the slice borrows `self`, so it is gone before
        // `send_loaned`; the engine alternates sends and receives.
        Some(unsafe { self.outgoing.loan() })
    }

    fn send_loaned(&mut self, len: usize) -> Result<(), TransportError> {
        self.outgoing.publish_loaned(len)
    }

    fn recv(&mut self, liveness: &mut Liveness) -> Result<&[u8], TransportError> {
        // SAFETY: the slice borrows `self`, so it is gone before we can send
        // the answer.
        unsafe { self.incoming.receive(self.wait, liveness, &mut self.buf) }
    }

    fn orphaned(&mut self) {
        self.region.take_ownership();
    }
}

#[cfg(test)]
mod tests {
    use super::super::shm_region::SLOT_ALIGN;
    use super::*;
    use crate::liveness::Peer;

    /// The slot protocol (raw_sync's BusyEvent plus our fences) between two
    /// threads over a heap buffer, every byte checked. Under Miri:
    /// `MIRIFLAGS=-Zmiri-disable-stacked-borrows cargo +nightly miri test --lib raw_sync`.
    /// (raw_sync itself makes `&mut` references to the shared event from both
    /// sides, which Stacked Borrows reports as undefined behaviour inside the
    /// crate; with that model off, Miri checks our publication for data races.)
    /// The fast spinning path depends on the event's layout in this build
    /// of raw_sync; when it changes, this says so (the transport then falls
    /// back to raw_sync's own timed wait, correct but slower).
    #[test]
    fn the_busy_event_flag_is_where_the_spinning_wait_reads_it() {
        assert!(busy_flag_first());
    }

    #[test]
    fn two_threads_exchange_every_message_intact() {
        let rounds: u64 = if cfg!(miri) { 30 } else { 20_000 };
        // Room for messages that are read in place as well as copied ones.
        let capacity = IN_PLACE_FROM + 200;
        let layout = layout(capacity).unwrap();
        let mut memory = vec![0u64; layout.region_len().div_ceil(8)];
        // SLOT_ALIGN-aligned start, as a region's is; the buffer has that to spare.
        memory.extend(std::iter::repeat_n(0, SLOT_ALIGN / 8));
        let offset = (memory.as_ptr() as *const u8).align_offset(SLOT_ALIGN);
        let base = (memory.as_mut_ptr() as *mut u8).wrapping_add(offset);
        /// A pointer the child thread may take along (raw pointers are not Send).
        struct Shared(*mut u8);
        // SAFETY: both threads use the memory only through Slot, whose
        // protocol is what this test checks; the memory outlives both.
        unsafe impl Send for Shared {}
        for index in 0..2 {
            // SAFETY: region_len() bytes at `base`, no other thread yet.
            drop(unsafe { Slot::new(base, &layout, index, WaitStrategy::Spin, true).unwrap() });
        }
        let shared = Shared(base);
        // As in the real handshake: the child attaches, says so, and only then
        // does the parent attach and send.
        let (ready, attached) = std::sync::mpsc::channel();
        let child = std::thread::spawn(move || {
            let shared = shared;
            // SAFETY: the memory outlives the thread (joined below); events initialized above.
            let (from_parent, to_parent) = unsafe {
                (
                    Slot::new(shared.0, &layout, 0, WaitStrategy::Spin, false).unwrap(),
                    Slot::new(shared.0, &layout, 1, WaitStrategy::Spin, false).unwrap(),
                )
            };
            ready.send(()).unwrap();
            let mut live = Liveness::new(Peer::InProcess);
            let mut buf = Vec::new();
            for n in 0..rounds {
                // SAFETY: the request is copied before we answer.
                let request =
                    unsafe { from_parent.receive(WaitStrategy::Spin, &mut live, &mut buf) }
                        .unwrap()
                        .to_vec();
                if n % 2 == 0 {
                    to_parent.publish(&request).unwrap();
                } else {
                    // The loan path: write into the slot, then signal.
                    // SAFETY: the slice is gone before publish_loaned.
                    unsafe { to_parent.loan()[..request.len()].copy_from_slice(&request) };
                    to_parent.publish_loaned(request.len()).unwrap();
                }
            }
        });
        attached.recv().unwrap();
        // SAFETY: as above, for the other side.
        let (to_child, from_child) = unsafe {
            (
                Slot::new(base, &layout, 0, WaitStrategy::Spin, false).unwrap(),
                Slot::new(base, &layout, 1, WaitStrategy::Spin, false).unwrap(),
            )
        };
        let mut live = Liveness::new(Peer::InProcess);
        let mut buf = Vec::new();
        for n in 0..rounds {
            let sent: Vec<u8> = (0..super::super::shm_region::mixed_message_len(n))
                .map(|i| (i as u64 ^ n) as u8)
                .collect();
            to_child.publish(&sent).unwrap();
            // SAFETY: the reply is checked before the next ping.
            let back =
                unsafe { from_child.receive(WaitStrategy::Spin, &mut live, &mut buf) }.unwrap();
            assert_eq!(back, &sent[..], "message {n}");
        }
        child.join().unwrap();
        drop(memory);
    }
}
