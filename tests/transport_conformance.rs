//! One conformance suite, run against every registered transport, with both
//! ends in this process (two threads). A transport added to the registry is
//! picked up here without anyone remembering to list it: the tests are
//! generated from the registry at run time (libtest-mimic), one per check
//! and transport label, so one failure hides no other and one transport runs
//! by name: `cargo test --test transport_conformance -- raw-sync-block`.

use ipc_bench::measure::liveness::{Liveness, Peer};
use ipc_bench::transport::{self, Options, Transport, TransportError, TransportVisitor};
use serde::Deserialize;
use std::thread;
use std::time::Duration;

/// The message size a transport is sized for in these tests, when it has a
/// fixed capacity; unbounded transports are tested with it as well as larger.
const MAX_MESSAGE: usize = 4096;

fn pattern(len: usize, salt: u64) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64).wrapping_mul(31).wrapping_add(salt) as u8)
        .collect()
}

/// [`pattern`] for transport `T` with `config`: with no newline in it where
/// the transport carries text only (stdio's line framing).
fn pattern_of<T: Transport>(config: &serde_json::Value, len: usize, salt: u64) -> Vec<u8> {
    let config = transport::decode_config::<T::Config>(config).expect("a label's config");
    let mut bytes = pattern(len, salt);
    if T::refuses(&config, "bitcode", transport::TrafficKind::ClosedLoop).is_some() {
        bytes
            .iter_mut()
            .filter(|b| **b == b'\n')
            .for_each(|b| *b = b' ');
    }
    bytes
}

/// Ends the echo thread (echoed back like any other message). Not empty: the
/// empty message is one of the sizes under test.
const STOP: &[u8] = b"conformance: stop";

/// Held by each iceoryx2 check while it runs (see `main`).
static ICEORYX2_ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// What each windowed run last did, by transport: printed if the suite is
/// stopped for a hang, so the failure says where the messages stopped.
static WINDOW_STEPS: std::sync::Mutex<Vec<(&'static str, String)>> =
    std::sync::Mutex::new(Vec::new());

fn window_step<T: Transport>(step: String) {
    let mut steps = WINDOW_STEPS.lock().unwrap_or_else(|e| e.into_inner());
    match steps.iter_mut().find(|(name, _)| *name == T::NAME) {
        Some((_, last)) => *last = step,
        None => steps.push((T::NAME, step)),
    }
}

/// Sends `msg`, every other time (`n` odd) through the transport's loan
/// path when it has one: written into the lent slot, then published.
fn send_either<T: Transport>(t: &mut T, msg: &[u8], n: u64) -> Result<(), TransportError> {
    if T::LEND_FROM.is_some() && n % 2 == 1 {
        let slot = t.loan().expect("a transport with LEND_FROM lends its slot");
        let room = slot.len();
        let target = slot.get_mut(..msg.len()).ok_or(TransportError::TooLarge {
            len: msg.len(),
            capacity: room,
        })?;
        target.copy_from_slice(msg);
        return t.send_loaned(msg.len());
    }
    t.send(msg)
}

/// Starts the child end on a thread: it echoes every message until [`STOP`].
fn start_echo<T: Transport>(options: Options<T::Config>) -> (T, thread::JoinHandle<u64>) {
    let (listener, setup) = T::listen(&options).expect("listen");
    // The setup crosses to the child as it does in the handshake: as JSON.
    let setup = serde_json::to_value(&setup).expect("a setup serializes");
    let child_options = options.clone();
    // As in the real handshake, the parent accepts only once the child has
    // connected and said so.
    let (ready, connected) = std::sync::mpsc::channel();
    let child = thread::spawn(move || {
        let mut live = Liveness::new(Peer::InProcess);
        let setup = T::Setup::deserialize(&setup).expect("a setup reads back");
        let mut t = T::connect(&setup, &child_options, &mut live).expect("connect");
        ready.send(()).expect("the parent waits for ready");
        let mut echoed = 0;
        loop {
            let msg = t.recv(&mut live).expect("child recv").to_vec();
            send_either(&mut t, &msg, echoed).expect("child send");
            if msg == STOP {
                return echoed;
            }
            echoed += 1;
        }
    });
    connected
        .recv_timeout(Duration::from_secs(10))
        .expect("the child connects");
    let mut live = Liveness::new(Peer::InProcess);
    let parent = T::accept(listener, &options, &mut live, Duration::from_secs(10)).expect("accept");
    (parent, child)
}

/// Options for the suite: messages up to MAX_MESSAGE, the label's variant,
/// and a shared-memory queue barely larger than a message, so that thousands
/// of messages wrap it many times.
fn options<T: Transport>(
    max_message_bytes: usize,
    config: &serde_json::Value,
) -> Options<T::Config> {
    windowed::<T>(max_message_bytes, 1, config)
}

/// [`options`] for `window` messages in flight, the shared-memory queue
/// barely large enough for them.
fn windowed<T: Transport>(
    max_message_bytes: usize,
    window: usize,
    config: &serde_json::Value,
) -> Options<T::Config> {
    let mut config = config.clone();
    if let Some(region) = config.get_mut("queue_region_bytes") {
        *region = (2 * (window * (max_message_bytes + 4) + 64)).into();
    }
    Options {
        max_message_bytes,
        window,
        config: transport::decode_config(&config).expect("a label's config decodes"),
    }
}

/// Windows of messages in flight: `window` messages sent back to back
/// before the peer takes any, each echoed as it is taken and read back only
/// when the whole window is out, in rounds that wrap every ring and queue
/// many times; order and content kept. A transport that cannot carry a
/// window must say so before anything starts (`max_window`), which the
/// runner turns into a clear refusal; then only that is checked.
fn windows_in_flight<T: Transport>(config: &serde_json::Value) {
    const MESSAGE: usize = 100;
    for window in [2, 3, 64, 256] {
        let options = windowed::<T>(MESSAGE, window, config);
        if let Some(most) = T::max_window(&options) {
            if most < window {
                // Declared: the runner refuses the window with the transport's hint.
                assert!(
                    most >= 1,
                    "{}: carries not even one message in flight",
                    T::NAME
                );
                continue;
            }
        }
        let (mut t, child) = start_echo::<T>(options);
        let mut live = Liveness::new(Peer::InProcess);
        let rounds = 20_000 / window as u64 + 3;
        let mut n = 0u64;
        for _ in 0..rounds {
            window_step::<T>(format!(
                "window {window}: batch from message {n} of {} sent and awaited",
                rounds * window as u64
            ));
            let batch: Vec<Vec<u8>> = (0..window as u64)
                .map(|i| pattern_of::<T>(config, 1 + ((n + i) as usize * 13) % MESSAGE, n + i))
                .collect();
            for (i, msg) in batch.iter().enumerate() {
                send_either(&mut t, msg, n + i as u64).unwrap_or_else(|e| {
                    panic!("{}: window {window}: send {}: {e}", T::NAME, n + i as u64)
                });
            }
            for (i, msg) in batch.iter().enumerate() {
                let back = t
                    .recv(&mut live)
                    .unwrap_or_else(|e| panic!("{}: window {window}: recv: {e}", T::NAME));
                assert_eq!(
                    back,
                    &msg[..],
                    "{}: window {window}: message {} out of order or changed",
                    T::NAME,
                    n + i as u64
                );
            }
            n += window as u64;
        }
        t.send(STOP).unwrap();
        assert_eq!(t.recv(&mut live).unwrap(), STOP);
        assert_eq!(child.join().unwrap(), n, "{}: window {window}", T::NAME);
    }
}

fn conformance<T: Transport>(config: &serde_json::Value) {
    let options = options::<T>(MAX_MESSAGE, config);
    let capacity = T::capacity(&options);
    if let Some(capacity) = capacity {
        assert!(
            capacity >= MAX_MESSAGE,
            "{}: capacity below what was asked",
            T::NAME
        );
    }
    let (mut t, child) = start_echo::<T>(options.clone());
    let mut live = Liveness::new(Peer::InProcess);

    let limit = capacity.unwrap_or(MAX_MESSAGE);
    let mut sizes = vec![0, 1, limit - 1, limit];
    if capacity.is_none() {
        // No fixed limit: large messages must survive the transport's own fragmentation.
        sizes.extend([limit + 1, 1 << 20]);
    }
    let mut sent = 0u64;
    for (i, &len) in sizes.iter().enumerate() {
        let msg = pattern_of::<T>(config, len, i as u64);
        send_either(&mut t, &msg, i as u64)
            .unwrap_or_else(|e| panic!("{}: send {len} bytes: {e}", T::NAME));
        let back = t
            .recv(&mut live)
            .unwrap_or_else(|e| panic!("{}: recv {len} bytes: {e}", T::NAME));
        assert_eq!(back, &msg[..], "{}: a {len}-byte message changed", T::NAME);
        sent += 1;
    }

    // Thousands of small messages in strict alternation, varying sizes, so a
    // bounded transport wraps its buffers many times; order and content kept.
    for n in 0..5_000u64 {
        let len = 1 + (n as usize * 7) % limit.min(300);
        let msg = pattern_of::<T>(config, len, n);
        send_either(&mut t, &msg, n).unwrap();
        assert_eq!(
            t.recv(&mut live).unwrap(),
            &msg[..],
            "{}: message {n}",
            T::NAME
        );
        sent += 1;
    }

    if let Some(capacity) = capacity {
        match t.send(&pattern_of::<T>(config, capacity + 1, 0)) {
            Err(TransportError::TooLarge { len, .. }) => assert_eq!(len, capacity + 1),
            other => panic!("{}: oversize send gave {other:?}", T::NAME),
        }
    }

    // A lent slot is the whole capacity, and a length beyond it is refused
    // without publishing anything (the stop below still comes back intact).
    match t.loan().map(|slot| slot.len()) {
        Some(room) => {
            assert!(
                T::LEND_FROM.is_some(),
                "{}: lends without LEND_FROM",
                T::NAME
            );
            assert_eq!(Some(room), capacity, "{}: the loan's length", T::NAME);
            match t.send_loaned(room + 1) {
                Err(TransportError::TooLarge { len, .. }) => assert_eq!(len, room + 1),
                other => panic!("{}: oversize loaned length gave {other:?}", T::NAME),
            }
        }
        None => assert!(T::LEND_FROM.is_none(), "{}: LEND_FROM but no loan", T::NAME),
    }

    t.send(STOP).unwrap();
    assert_eq!(
        t.recv(&mut live).unwrap(),
        STOP,
        "{}: stop message",
        T::NAME
    );
    assert_eq!(
        child.join().unwrap(),
        sent,
        "{}: child echoed a different count",
        T::NAME
    );
}

/// A pid that belonged to a child process which has exited and been reaped,
/// so liveness checks report it gone, as they would a crashed peer.
fn dead_child_pid() -> u32 {
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    child.wait().expect("wait for true");
    child.id()
}

fn peer_disconnect_is_an_error<T: Transport>(config: &serde_json::Value) {
    let options = options::<T>(64, config);
    let (mut t, child) = start_echo::<T>(options);
    t.send(STOP).unwrap();
    let mut live = Liveness::new(Peer::InProcess);
    assert_eq!(t.recv(&mut live).unwrap(), STOP);
    child.join().unwrap();
    // The other end is gone now. A transport may notice by itself (a closed
    // socket) or through the liveness check (shared memory, which cannot tell
    // a slow peer from a dead one); either way the wait must end in an error
    // within about a second, not block.
    let mut live = Liveness::new(Peer::Child(dead_child_pid()));
    let _ = t.send(b"anyone?");
    let started = std::time::Instant::now();
    let outcome = t.recv(&mut live).map(|m| m.to_vec());
    assert!(
        outcome.is_err(),
        "{}: recv from a gone peer succeeded: {outcome:?}",
        T::NAME
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{}: noticed a gone peer only after {:?}",
        T::NAME,
        started.elapsed()
    );
}

/// Ends the test binary if a test is still running after `limit`: a
/// transport that blocks forever must fail the suite, not hang it.
struct HangGuard(Option<std::sync::mpsc::Sender<()>>);

impl HangGuard {
    fn new(test: String, limit: Duration) -> Self {
        let (done, finished) = std::sync::mpsc::channel::<()>();
        thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(limit) {
                eprintln!("{test}: still running after {limit:?}; a transport is blocked");
                let steps = WINDOW_STEPS.lock().unwrap_or_else(|e| e.into_inner());
                for (transport, step) in steps.iter() {
                    eprintln!("  {transport}: last windowed step: {step}");
                }
                std::process::exit(101);
            }
        });
        HangGuard(Some(done))
    }
}

impl Drop for HangGuard {
    fn drop(&mut self) {
        if let Some(done) = self.0.take() {
            let _ = done.send(());
        }
    }
}

/// Messages for the stress test: a release build (`cargo test --release`)
/// sends a million per transport, a debug build fewer.
const STRESS_MESSAGES: u64 = if cfg!(debug_assertions) {
    20_000
} else {
    1_000_000
};

/// The shared-memory protocols under load: many messages of changing size
/// and content, every byte checked on the way back, so a publication that
/// let a reader see a stale or half-written message would show up.
fn stress<T: Transport>(config: &serde_json::Value) {
    // Every fifth message is long enough (4 KiB and more) for the slot
    // transports to hand it out in place rather than copy it.
    let (mut t, child) = start_echo::<T>(options::<T>(4096 + 512, config));
    let mut live = Liveness::new(Peer::InProcess);
    for n in 0..STRESS_MESSAGES {
        let len = if n % 5 == 4 {
            4096 + (n as usize * 37) % 500
        } else {
            (n as usize * 37) % 500
        };
        let msg = pattern_of::<T>(config, len, n.wrapping_mul(0x9e37_79b9));
        send_either(&mut t, &msg, n).unwrap();
        let back = t.recv(&mut live).unwrap();
        assert!(
            back == &msg[..],
            "{}: message {n} ({len} bytes) came back changed",
            T::NAME
        );
    }
    t.send(STOP).unwrap();
    assert_eq!(t.recv(&mut live).unwrap(), STOP);
    assert_eq!(child.join().unwrap(), STRESS_MESSAGES);
}

/// The child's `connect` with a setup whose sizes were tampered with: every
/// number in the parent's real setup document replaced by hostile values in
/// turn, against the parent's real (small) region. A size at least twice
/// what the parent created cannot fit its region and must be refused (one a
/// little larger may still fit the slot's alignment padding); whatever is
/// accepted, no message may reach past what was mapped.
fn hostile_setups_are_refused<T: Transport>(config: &serde_json::Value) {
    let options = options::<T>(256, config);
    let (listener, setup) = T::listen(&options).expect("listen");
    let setup = serde_json::to_value(&setup).expect("a setup serializes");
    let numbers = numbers_in(&setup, String::new());
    assert!(!numbers.is_empty(), "{}: no sizes in {setup}", T::NAME);
    let mut live = Liveness::new(Peer::InProcess);
    for (pointer, original) in numbers {
        let hostile = [
            0,
            1,
            original + 1,
            original * 2,
            1 << 32,
            1 << 40,
            u64::MAX / 2 - 64,
            u64::MAX / 2,
            u64::MAX / 2 + 1,
            u64::MAX - 127,
            u64::MAX,
        ];
        for value in hostile {
            let mut bad = setup.clone();
            *bad.pointer_mut(&pointer).unwrap() = value.into();
            // A setup that does not even read back is refused too.
            let Ok(bad) = T::Setup::deserialize(&bad) else {
                continue;
            };
            match T::connect(&bad, &options, &mut live) {
                Err(_) => {}
                Ok(mut t) => {
                    assert!(
                        value < original * 2,
                        "{}: accepted {pointer} = {value}, far beyond the parent's {original}",
                        T::NAME
                    );
                    // Whatever it accepted, a message as large as the parent
                    // sized the region for is refused or fits in it.
                    let _ = t.send(&pattern_of::<T>(
                        config,
                        options.max_message_bytes + 1,
                        value,
                    ));
                }
            }
        }
    }
    drop(listener);
}

/// Every unsigned number in a JSON document, with its JSON pointer.
fn numbers_in(value: &serde_json::Value, at: String) -> Vec<(String, u64)> {
    match value {
        serde_json::Value::Number(n) => n.as_u64().map(|n| (at, n)).into_iter().collect(),
        serde_json::Value::Object(fields) => fields
            .iter()
            .flat_map(|(k, v)| numbers_in(v, format!("{at}/{k}")))
            .collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .flat_map(|(i, v)| numbers_in(v, format!("{at}/{i}")))
            .collect(),
        _ => Vec::new(),
    }
}

/// The transports whose processes share memory and poll it: stressed at
/// length (raw-sync-block would only measure its condition variable).
const STRESSED: [&str; 6] = [
    "spin",
    "raw-sync-spin",
    "shared-mem-queue",
    "iceoryx2-pub-sub",
    "iceoryx2-req-res",
    "futex",
];

/// The transports whose setup document carries region sizes (the others'
/// carry names, ports and descriptors).
const SIZED_SETUP: [&str; 6] = [
    "spin",
    "raw-sync-spin",
    "raw-sync-block",
    "shared-mem-queue",
    "posix-mq",
    "futex",
];

/// The checks, each run on every transport label it applies to.
#[derive(Clone, Copy)]
enum Check {
    Conformance,
    GonePeer,
    Stress,
    HostileSetup,
    Windows,
}

impl Check {
    fn name(self) -> &'static str {
        match self {
            Check::Conformance => "conforms",
            Check::GonePeer => "reports_a_gone_peer",
            Check::Stress => "survives_a_stress_loop",
            Check::HostileSetup => "refuses_hostile_setup_sizes",
            Check::Windows => "carries_windows_in_flight",
        }
    }

    fn applies_to(self, label: &str) -> bool {
        match self {
            Check::Conformance | Check::GonePeer | Check::Windows => true,
            Check::Stress => STRESSED.contains(&label),
            Check::HostileSetup => SIZED_SETUP.contains(&label),
        }
    }

    /// How long it may run before the suite calls the transport blocked.
    fn limit(self) -> Duration {
        Duration::from_secs(match self {
            Check::Stress => 300,
            _ => 60,
        })
    }
}

/// Runs a check with the transport type a label names.
struct Visit(Check, serde_json::Value);
impl TransportVisitor for Visit {
    type Output = ();
    fn visit<T: Transport>(self) {
        match self.0 {
            Check::Conformance => conformance::<T>(&self.1),
            Check::GonePeer => peer_disconnect_is_an_error::<T>(&self.1),
            Check::Stress => stress::<T>(&self.1),
            Check::HostileSetup => hostile_setups_are_refused::<T>(&self.1),
            Check::Windows => windows_in_flight::<T>(&self.1),
        }
    }
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut trials = Vec::new();
    let checks = [
        Check::Conformance,
        Check::GonePeer,
        Check::Stress,
        Check::HostileSetup,
        Check::Windows,
    ];
    for label in transport::labels() {
        for check in checks.into_iter().filter(|c| c.applies_to(&label.label)) {
            let name = format!("{}::{}", check.name(), label.label);
            let (transport, config) = (label.transport, label.config.clone());
            let guard_name = name.clone();
            let alone = label.label.starts_with("iceoryx2");
            trials.push(libtest_mimic::Trial::test(name, move || {
                // iceoryx2's checks run one at a time: with several of its
                // nodes created and dropped at once in one process (which no
                // run does: a parent and a child are processes of their own),
                // about one suite in a hundred on a loaded machine left a
                // call into iceoryx2 that never returned.
                let _alone =
                    alone.then(|| ICEORYX2_ALONE.lock().unwrap_or_else(|e| e.into_inner()));
                let _guard = HangGuard::new(guard_name, check.limit());
                transport::dispatch(transport, Visit(check, config));
                Ok(())
            }));
        }
    }
    // The lists above name labels; one that matches nothing is a typo or a
    // renamed transport, and would silently drop its tests.
    let labels: Vec<String> = transport::labels().into_iter().map(|l| l.label).collect();
    for named in STRESSED.iter().chain(&SIZED_SETUP) {
        let optional = (named.starts_with("iceoryx2") && !cfg!(feature = "iceoryx2"))
            || (*named == "posix-mq" && !cfg!(any(target_os = "linux", target_os = "freebsd")));
        assert!(
            optional || labels.iter().any(|l| l == named),
            "no transport label {named}"
        );
    }
    libtest_mimic::run(&args, trials).exit();
}
