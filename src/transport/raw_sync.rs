//! shared_memory + raw_sync: one region, a ring of slots per direction (one
//! slot for a ping-pong, the window for a stream), each direction headed by
//! a raw_sync event (its `BusyEvent` to spin, or its `Event`, a
//! process-shared mutex and condition variable, to block) that rings when
//! a message is published.
//!
//! Both sides compute the same layout from the slot capacity and the window
//! in the handshake. The slots and their protocol are `slot_ring`'s, shared
//! with `spin`: a message is there when its slot's sequence number says so
//! (Release/Acquire); the event only wakes a reader that found its ring
//! empty, so a signal left over from a message already taken costs a look
//! and nothing else.
//!
//! ```text
//! | direction 0: parent -> child                 | direction 1: child -> parent |
//! | event (EVENT_BYTES) | slot 0 | ... | slot W-1 | event | slot 0 | ...       |
//! ```

use super::shm_region::{Region, IN_PLACE_FROM};
use super::slot_ring::{Ring, Rings, MAX_SLOTS};
use super::{Options, RunFlags, Transport, TransportError};
use crate::transport::liveness::Liveness;
use raw_sync::events::{BusyEvent, Event, EventImpl, EventInit, EventState};
use raw_sync::Timeout;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// Bytes reserved for either kind of event at the head of a direction; both
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
          value_parser = crate::util::parse::enum_parser::<WaitStrategy>("wait strategy", "WAIT_STRATEGY"))]
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
          value_parser = crate::util::parse::enum_parser::<WaitStrategy>("wait strategy", "--waits"))]
    pub waits: Vec<WaitStrategy>,
}

impl super::MatrixFlags for MatrixFlags {
    type Config = Config;
    fn configs(&self) -> Vec<Config> {
        self.waits.iter().map(|&wait| Config { wait }).collect()
    }
}

/// Both rings, each headed by its event, sized from a capacity and a window
/// that were checked.
fn layout(slot_capacity: usize, slots: usize) -> Result<Rings, TransportError> {
    Rings::new(EVENT_BYTES, slot_capacity, slots)
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Setup {
    os_id: String,
    /// Both checked again by the child before it maps anything.
    slot_capacity: usize,
    slots: usize,
    wait: WaitStrategy,
}

/// One direction's event: rung after each message is published.
struct Doorbell {
    event: Box<dyn EventImpl>,
    /// The `BusyEvent`'s flag byte, to watch with plain loads while spinning
    /// (when this build's raw_sync lays it out first: see `busy_flag_first`).
    flag: Option<*const AtomicU8>,
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

impl Doorbell {
    /// Initializes (`create`) or attaches to (`!create`) the event at the
    /// head of direction `direction`.
    ///
    /// # Safety
    /// `region` must be at least `layout.region_len()` bytes, aligned to
    /// `SLOT_ALIGN`, and with `create` no other process may be using it yet.
    unsafe fn new(
        region: *mut u8,
        layout: &Rings,
        direction: usize,
        wait: WaitStrategy,
        create: bool,
    ) -> Result<Self, TransportError> {
        // SAFETY: the offset is within the region by the caller's length guarantee.
        let base = unsafe { region.add(layout.head_offset(direction)) };
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
            // lies in this head, but nothing has been written past it yet.
            return Err(TransportError::Other(format!(
                "raw_sync event needs {used} bytes, {EVENT_BYTES} reserved"
            )));
        }
        let flag =
            (wait == WaitStrategy::Spin && busy_flag_first()).then_some(base as *const AtomicU8);
        Ok(Doorbell { event, flag })
    }

    /// Tells a reader waiting on an empty ring that a message is there.
    fn ring(&self) -> Result<(), TransportError> {
        self.event
            .set(EventState::Signaled)
            .map_err(|e| TransportError::Other(format!("raw_sync: signalling: {e}")))
    }

    /// Waits until `ready` (the next message's sequence number is there),
    /// sleeping or spinning on the event while it is not.
    fn wait_until(
        &self,
        wait: WaitStrategy,
        liveness: &mut Liveness,
        ready: impl Fn() -> bool,
    ) -> Result<(), TransportError> {
        let event = &self.event;
        while !ready() {
            match self.flag {
                Some(flag) => {
                    // SAFETY: the flag is the event's first byte, inside the
                    // live region (`new`); raw_sync only ever accesses it atomically.
                    let flag = unsafe { &*flag };
                    liveness.spin_until(|| {
                        // Take the signal the way the event does once it is visible.
                        (ready()
                            || flag.load(Ordering::Relaxed) == 1
                                && event.wait(Timeout::Val(Duration::ZERO)).is_ok())
                        .then_some(())
                    })?;
                }
                // Spin inside raw_sync for a slice, then yield and check the
                // peer; or block on the condition variable for a check
                // interval at a time.
                None => {
                    let slice = match wait {
                        WaitStrategy::Spin => SPIN_SLICE,
                        WaitStrategy::Block => crate::transport::liveness::CHECK_INTERVAL,
                    };
                    if event.wait(Timeout::Val(slice)).is_err() {
                        if wait == WaitStrategy::Spin {
                            std::thread::yield_now();
                        }
                        if let Err(gone) = liveness.check_if_due() {
                            // The peer may have published and exited since we
                            // last looked (the child does, after acknowledging
                            // the stop): one more look before calling it lost.
                            if !ready() {
                                return Err(gone.into());
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

pub struct RawSync {
    ring: Ring,
    outgoing: Doorbell,
    incoming: Doorbell,
    wait: WaitStrategy,
    /// Last field: dropped after the ring and events that point into it.
    region: Region,
}

/// Parent-side state between `listen` and `accept`.
pub struct Listener {
    region: Region,
    layout: Rings,
    wait: WaitStrategy,
}

impl RawSync {
    fn build(
        region: Region,
        layout: Rings,
        wait: WaitStrategy,
        parent: bool,
    ) -> Result<Self, TransportError> {
        let (out_dir, in_dir) = if parent { (0, 1) } else { (1, 0) };
        // SAFETY: the region was created or checked to be region_len() long,
        // page-aligned and zero-filled at creation; events are attached (not
        // created) here, after listen initialized them; the region outlives
        // the ring and events (last field).
        let (ring, outgoing, incoming) = unsafe {
            (
                Ring::new(region.as_ptr(), &layout, parent),
                Doorbell::new(region.as_ptr(), &layout, out_dir, wait, false)?,
                Doorbell::new(region.as_ptr(), &layout, in_dir, wait, false)?,
            )
        };
        Ok(RawSync {
            ring,
            outgoing,
            incoming,
            wait,
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

    fn variant(config: &Config) -> Option<String> {
        Some(config.wait.name().to_string())
    }

    fn max_window(_options: &Options<Config>) -> Option<usize> {
        Some(MAX_SLOTS)
    }

    fn listen(options: &Options<Config>) -> Result<(Listener, Setup), TransportError> {
        let layout = layout(options.max_message_bytes, options.window)?;
        let region = Region::create("rs", layout.region_len())?;
        for direction in 0..2 {
            // SAFETY: the region is region_len() long and the child has not
            // been told its name yet, so nobody else can touch it.
            drop(unsafe {
                Doorbell::new(
                    region.as_ptr(),
                    &layout,
                    direction,
                    options.config.wait,
                    true,
                )?
            });
        }
        let setup = Setup {
            os_id: region.os_id().to_string(),
            slot_capacity: layout.capacity(),
            slots: layout.slots(),
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
        let layout = layout(setup.slot_capacity, setup.slots)?;
        let region = Region::open(&setup.os_id, layout.region_len())?;
        RawSync::build(region, layout, setup.wait, false)
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        self.ring.send(message)?;
        self.outgoing.ring()
    }

    const LEND_FROM: Option<usize> = Some(IN_PLACE_FROM);
    const RECEIVE_IN_PLACE_FROM: Option<usize> = Some(IN_PLACE_FROM);

    fn loan(&mut self) -> Option<&mut [u8]> {
        // With no slot free there is nothing to lend; `send` then says why.
        self.ring.loan().ok()
    }

    fn send_loaned(&mut self, len: usize) -> Result<(), TransportError> {
        self.ring.publish(len)?;
        self.outgoing.ring()
    }

    fn recv(&mut self, liveness: &mut Liveness) -> Result<&[u8], TransportError> {
        let ring = &self.ring;
        self.incoming
            .wait_until(self.wait, liveness, || ring.ready())?;
        self.ring.take()
    }

    fn orphaned(&mut self) {
        self.region.take_ownership();
    }
}

#[cfg(test)]
mod tests {
    use super::super::slot_ring::tests::{Shared, TestMemory};
    use super::*;
    use crate::transport::liveness::Peer;

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

    /// A stream through rings of four slots between two threads, both
    /// events and rings in a heap buffer laid out as the region is, with
    /// every message checked: the reader waits on the event whenever its
    /// ring is empty, so lost or stale signals would show as a hang or a
    /// wrong message. Under Miri:
    /// `MIRIFLAGS=-Zmiri-disable-stacked-borrows cargo +nightly miri test --lib raw_sync`.
    /// (raw_sync itself makes `&mut` references to the shared event from both
    /// sides, which Stacked Borrows reports as undefined behaviour inside the
    /// crate; with that model off, Miri checks our publication for data races.)
    #[test]
    fn a_window_of_messages_crosses_intact_with_the_events() {
        // Miri does not model raw_sync's process-shared mutex and condition
        // variable; it checks the spinning event, the protocol is the same.
        let waits: &[WaitStrategy] = if cfg!(miri) {
            &[WaitStrategy::Spin]
        } else {
            &[WaitStrategy::Spin, WaitStrategy::Block]
        };
        for &wait in waits {
            let total: u64 = if cfg!(miri) { 30 } else { 20_000 };
            let window = 4u64;
            let layout = layout(IN_PLACE_FROM + 200, window as usize).unwrap();
            let mut memory = TestMemory::new(layout.region_len());
            for direction in 0..2 {
                // SAFETY: region_len() bytes at `base`, no other thread yet.
                drop(
                    unsafe { Doorbell::new(memory.base(), &layout, direction, wait, true) }
                        .unwrap(),
                );
            }
            let end = move |base: *mut u8, parent: bool| {
                let (out_dir, in_dir) = if parent { (0, 1) } else { (1, 0) };
                // SAFETY: the memory outlives both threads (joined below); events initialized above.
                unsafe {
                    (
                        Ring::new(base, &layout, parent),
                        Doorbell::new(base, &layout, out_dir, wait, false).unwrap(),
                        Doorbell::new(base, &layout, in_dir, wait, false).unwrap(),
                    )
                }
            };
            let message = |n: u64| -> Vec<u8> {
                (0..super::super::shm_region::mixed_message_len(n))
                    .map(|i| (i as u64 ^ n) as u8)
                    .collect()
            };
            let shared = Shared(memory.base());
            let child = std::thread::spawn(move || {
                let shared = shared;
                let (mut ring, outgoing, incoming) = end(shared.0, false);
                let mut live = Liveness::new(Peer::InProcess);
                for n in 1..=total {
                    incoming
                        .wait_until(wait, &mut live, || ring.ready())
                        .unwrap();
                    assert_eq!(ring.take().unwrap(), &message(n)[..], "message {n}");
                    if n % (window / 2) == 0 {
                        ring.send(&n.to_le_bytes()).unwrap();
                        outgoing.ring().unwrap();
                    }
                }
            });
            let (mut ring, outgoing, incoming) = end(memory.base(), true);
            let mut live = Liveness::new(Peer::InProcess);
            let mut acked = 0;
            for n in 1..=total {
                while n - acked > window {
                    incoming
                        .wait_until(wait, &mut live, || ring.ready())
                        .unwrap();
                    acked = u64::from_le_bytes(ring.take().unwrap().try_into().unwrap());
                }
                ring.send(&message(n)).unwrap();
                outgoing.ring().unwrap();
            }
            child.join().unwrap();
            drop(memory);
        }
    }
}
