//! The rings of `spin`, with a wait that sleeps in the kernel: a reader that
//! finds its ring empty spins for a short budget (`--spin-us`), then sleeps
//! on a 32-bit doorbell word with one `futex` call, and a writer makes the
//! wake-up call only when the reader is asleep. What a low-latency system
//! that cannot burn a core builds; Linux only (elsewhere the transport is
//! not in the build).
//!
//! Each direction's ring is headed by its [`Doorbell`]: `bell`, a counter
//! the writer bumps before waking, and `sleeping`, the reader's "about to
//! sleep" flag. The reader reads `bell`, sets `sleeping`, and looks at the
//! ring once more before it calls `FUTEX_WAIT` with the value it read; the
//! writer publishes its message and then reads `sleeping`. A sequentially
//! consistent fence on each side between its store and its load means at
//! least one of them sees the other's: either the reader finds the message,
//! or the writer finds the reader going to sleep, bumps `bell` and wakes it
//! (and a `FUTEX_WAIT` on a `bell` that has moved returns at once). No
//! wake-up is lost; a spurious one only costs a look at the ring. Sleeps are
//! cut into slices, so a gone peer is noticed within one.
//!
//! The futex calls are the shared kind (no `FUTEX_PRIVATE_FLAG`): the word
//! lies in memory both processes map.
//!
//! The default budget, 20 µs, was measured (`--spins-us 0,2,5,20,100`):
//! across cores every budget of 5 µs or more kept the closed loop at
//! `spin`'s pace, 2 µs slept in some rounds and 0 in most; the budget also
//! covers a peer that takes a few microseconds over a large message. A side
//! that has just woken its peer spins longer for the answer
//! ([`AFTER_WAKING_SPIN`]). When
//! both processes are confined to one and the same CPU, spinning only keeps
//! the peer from answering, so neither spins (each side publishes the CPU
//! it is confined to, if any, in its doorbell).

use super::shm_region::{Region, IN_PLACE_FROM};
use super::slot_ring::{Ring, RingSetup, Rings, MAX_SLOTS};
use super::{Options, RunFlags, Transport, TransportError};
use crate::transport::liveness::Liveness;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{fence, AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a reader spins by default before it sleeps, in microseconds.
pub const DEFAULT_SPIN_US: u32 = 20;

/// The longest spin budget accepted: beyond a millisecond the wait is a
/// spinning one.
pub const MAX_SPIN_US: u32 = 1_000;

/// The longest one sleep lasts before the peer is checked.
const SLEEP_SLICE: Duration = Duration::from_millis(50);

/// How long a side that has just woken its peer spins for the answer
/// before it sleeps too. The answer comes only after the peer's wake-up
/// (20 to 40 µs between two vCPUs here), which is longer than the budget:
/// with the budget alone, one side's wake-up made the other sleep, whose
/// wake-up made the first sleep again, and a hiccup of the host turned into
/// a run of round trips at two wake-ups each (rounds 20 % to 50 % slow).
/// Spent only after a sleep, never in a loop that keeps pace.
const AFTER_WAKING_SPIN: Duration = Duration::from_micros(200);

/// Polls between two clock reads while spinning.
const POLLS_PER_CLOCK_READ: u32 = 64;

/// Bytes reserved at the head of each direction for its doorbell: a cache
/// line of its own, away from the slots the writer fills.
const DOORBELL_BYTES: usize = 64;

/// What the user chooses: how long a reader spins before it sleeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub spin_us: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            spin_us: DEFAULT_SPIN_US,
        }
    }
}

fn spin_us_parser(value: &str) -> Result<u32, String> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|us| *us <= MAX_SPIN_US)
        .ok_or_else(|| {
            format!("not a spin budget (SPIN_US); accepted: 0 to {MAX_SPIN_US} microseconds")
        })
}

/// `run`'s flag for futex.
#[derive(clap::Args, Debug, Clone)]
// Several transports flatten flag structs of the same name: no clap group.
#[group(skip)]
pub struct Flags {
    /// How long futex's reader spins on an empty ring before it sleeps, in microseconds (0: sleep at once).
    #[arg(long = "spin-us", env = "SPIN_US", default_value_t = DEFAULT_SPIN_US, value_parser = spin_us_parser)]
    pub spin_us: u32,
}

impl RunFlags for Flags {
    type Config = Config;
    fn config(&self) -> Config {
        Config {
            spin_us: self.spin_us,
        }
    }
}

/// `matrix`'s flag for futex: the spin budgets to include.
#[derive(clap::Args, Debug, Clone)]
// Several transports flatten flag structs of the same name: no clap group.
#[group(skip)]
pub struct MatrixFlags {
    /// futex spin budgets to include, in microseconds, comma-separated.
    #[arg(long = "spins-us", value_delimiter = ',', default_values_t = [DEFAULT_SPIN_US], value_parser = spin_us_parser)]
    pub spins_us: Vec<u32>,
}

impl super::MatrixFlags for MatrixFlags {
    type Config = Config;
    fn configs(&self) -> Vec<Config> {
        self.spins_us
            .iter()
            .map(|&spin_us| Config { spin_us })
            .collect()
    }
}

/// One direction's doorbell, at the head of its ring.
#[repr(C)]
struct Doorbell {
    /// Bumped by the writer before it wakes a sleeping reader.
    bell: AtomicU32,
    /// Set by the reader just before it sleeps, cleared when it wakes.
    sleeping: AtomicU32,
    /// The one CPU the ring's writer may run on, plus one; 0 when it may run
    /// on several. Written once as the writer attaches.
    writer_sole_cpu: AtomicU32,
}

/// The one CPU this process may run on, plus one, or 0 when it may run on
/// several (or its affinity cannot be read).
fn sole_cpu() -> u32 {
    // SAFETY: `set` is a plain bit set the kernel fills for this process;
    // it is only read after the call succeeded.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0
            || libc::CPU_COUNT(&set) != 1
        {
            return 0;
        }
        (0..libc::CPU_SETSIZE as usize)
            .find(|&cpu| libc::CPU_ISSET(cpu, &set))
            .map_or(0, |cpu| cpu as u32 + 1)
    }
}

const _: () = assert!(std::mem::size_of::<Doorbell>() <= DOORBELL_BYTES);

/// The region's name and the rings' geometry.
pub type Setup = RingSetup;

pub struct Futex {
    channel: Ring,
    /// The doorbell of the ring we write, and of the ring we read.
    outgoing: *const Doorbell,
    incoming: *const Doorbell,
    spin: Duration,
    /// See [`Doorbell::writer_sole_cpu`]: ours.
    sole_cpu: u32,
    /// We woke the peer since our last receive: its answer comes only after
    /// its wake-up, so wait for it longer before sleeping (see
    /// [`AFTER_WAKING_SPIN`]).
    woke_peer: bool,
    /// Last field: dropped after everything that points into it.
    region: Region,
}

pub struct Listener {
    region: Region,
    layout: Rings,
}

/// Sleeps while `word` holds `expected`, at most `timeout` (or until woken).
fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `word` is an aligned 32-bit word in memory mapped for as long
    // as the borrow lasts; FUTEX_WAIT reads it and sleeps only while it
    // equals `expected`; the kernel reads `ts` and writes nothing. Every
    // outcome (woken, timed out, EAGAIN, EINTR) sends us back to look at the
    // ring, so the result is not needed.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wakes whoever sleeps on `word`.
fn futex_wake(word: &AtomicU32) {
    // SAFETY: as in `futex_wait`; FUTEX_WAKE only reads the address to find
    // the sleepers to wake.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            i32::MAX,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

impl Futex {
    fn build(region: Region, layout: Rings, parent: bool, config: &Config) -> Self {
        let base = region.as_ptr();
        // SAFETY: the region was created with, or checked to hold,
        // region_len() bytes; it is page-aligned, zero-filled at creation
        // (every sequence number, bell and flag starts at 0), and owned by
        // the returned value, after the channel in drop order.
        let channel = unsafe { Ring::new(base, &layout, parent) };
        // The parent writes direction 0, the child direction 1 (`Ring::new`).
        let (out_dir, in_dir) = if parent { (0, 1) } else { (1, 0) };
        // SAFETY: each direction's head is DOORBELL_BYTES (rounded up to the
        // slot alignment, 64) reserved by `Rings::new`, inside the region.
        let bell =
            |direction| unsafe { base.add(layout.head_offset(direction)) as *const Doorbell };
        let futex = Futex {
            channel,
            outgoing: bell(out_dir),
            incoming: bell(in_dir),
            spin: Duration::from_micros(config.spin_us.into()),
            sole_cpu: sole_cpu(),
            woke_peer: false,
            region,
        };
        futex
            .outgoing()
            .writer_sole_cpu
            .store(futex.sole_cpu, Ordering::Relaxed);
        futex
    }

    /// How long to spin before sleeping: the budget, or nothing when both
    /// processes are confined to the same single CPU, where the peer cannot
    /// answer while we spin (a one-core run with 20 µs of spinning took
    /// 51 µs per round trip, with none 8.9 µs).
    #[inline]
    fn spin_budget(&self) -> Duration {
        let peer = self.incoming().writer_sole_cpu.load(Ordering::Relaxed);
        match (self.sole_cpu != 0 && peer == self.sole_cpu, self.woke_peer) {
            (true, _) => Duration::ZERO,
            (false, true) => self.spin.max(AFTER_WAKING_SPIN),
            (false, false) => self.spin,
        }
    }

    fn outgoing(&self) -> &Doorbell {
        // SAFETY: points into the region, mapped while `self` lives; a
        // zero-filled Doorbell is two atomics of 0, valid at any time.
        unsafe { &*self.outgoing }
    }

    fn incoming(&self) -> &Doorbell {
        // SAFETY: as in `outgoing`.
        unsafe { &*self.incoming }
    }

    /// After a message is published: wakes the peer if it sleeps.
    #[inline]
    fn ring(&mut self) {
        // Pairs with the reader's fence: either it sees our message, or we
        // see it going to sleep (see the module's description).
        fence(Ordering::SeqCst);
        let bell = self.outgoing();
        if bell.sleeping.load(Ordering::Relaxed) != 0 {
            bell.bell.fetch_add(1, Ordering::Release);
            futex_wake(&bell.bell);
            self.woke_peer = true;
        }
    }

    /// Sleeps until the ring may hold a message, at most one slice.
    fn sleep(&self) {
        let bell = self.incoming();
        let rung = bell.bell.load(Ordering::Acquire);
        bell.sleeping.store(1, Ordering::SeqCst);
        // Pairs with the writer's fence in `ring`.
        fence(Ordering::SeqCst);
        if !self.channel.ready() {
            futex_wait(&bell.bell, rung, SLEEP_SLICE);
        }
        bell.sleeping.store(0, Ordering::Relaxed);
    }
}

impl Transport for Futex {
    const NAME: &'static str = "futex";
    const CHILD_BIN_ENV: &'static str = "FUTEX_CHILD_BIN_PATH";
    // Measured on request (`--transports futex`): the default matrix stays short.
    const IN_DEFAULT_MATRIX: bool = false;

    type Config = Config;
    type Setup = Setup;
    type Listener = Listener;

    fn variant(config: &Config) -> Option<String> {
        // The default budget keeps the plain name.
        (config.spin_us != DEFAULT_SPIN_US).then(|| format!("spin-{}us", config.spin_us))
    }

    fn flags(config: &Config) -> Vec<String> {
        vec!["--spin-us".into(), config.spin_us.to_string()]
    }

    fn capacity(options: &Options<Config>) -> Option<usize> {
        Some(options.max_message_bytes)
    }

    fn max_window(_options: &Options<Config>) -> Option<usize> {
        Some(MAX_SLOTS)
    }

    fn listen(options: &Options<Config>) -> Result<(Listener, Setup), TransportError> {
        // Zero-filled: every sequence number, bell and flag starts at 0.
        let (region, layout, setup) = RingSetup::create(
            "ftx",
            DOORBELL_BYTES,
            options.max_message_bytes,
            options.window,
        )?;
        Ok((Listener { region, layout }, setup))
    }

    fn accept(
        listener: Listener,
        options: &Options<Config>,
        _liveness: &mut Liveness,
        _timeout: Duration,
    ) -> Result<Self, TransportError> {
        Ok(Futex::build(
            listener.region,
            listener.layout,
            true,
            &options.config,
        ))
    }

    fn connect(
        setup: &Setup,
        options: &Options<Config>,
        _liveness: &mut Liveness,
    ) -> Result<Self, TransportError> {
        if options.config.spin_us > MAX_SPIN_US {
            return Err(TransportError::Setup(format!(
                "a spin budget of {} µs (at most {MAX_SPIN_US})",
                options.config.spin_us
            )));
        }
        let (region, layout) = setup.open(DOORBELL_BYTES)?;
        Ok(Futex::build(region, layout, false, &options.config))
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        self.channel.send(message)?;
        self.ring();
        Ok(())
    }

    const LEND_FROM: Option<usize> = Some(IN_PLACE_FROM);
    const RECEIVE_IN_PLACE_FROM: Option<usize> = Some(IN_PLACE_FROM);

    fn loan(&mut self) -> Option<&mut [u8]> {
        // With no slot free there is nothing to lend; `send` then says why.
        self.channel.loan().ok()
    }

    fn send_loaned(&mut self, len: usize) -> Result<(), TransportError> {
        self.channel.publish(len)?;
        self.ring();
        Ok(())
    }

    fn recv(&mut self, liveness: &mut Liveness) -> Result<&[u8], TransportError> {
        let mut polls = 0u32;
        let mut spinning_since: Option<Instant> = None;
        loop {
            if self.channel.ready() {
                self.woke_peer = false;
                return self.channel.take();
            }
            polls = polls.wrapping_add(1);
            if !polls.is_multiple_of(POLLS_PER_CLOCK_READ) {
                std::hint::spin_loop();
                continue;
            }
            let now = Instant::now();
            let since = *spinning_since.get_or_insert(now);
            if now.duration_since(since) < self.spin_budget() {
                liveness.check_if_due()?;
                continue;
            }
            self.sleep();
            if let Err(gone) = liveness.check_if_due() {
                // The peer may have sent its last message and exited.
                return match self.channel.ready() {
                    true => self.channel.take(),
                    false => Err(gone.into()),
                };
            }
        }
    }

    fn orphaned(&mut self) {
        self.region.take_ownership();
    }
}
