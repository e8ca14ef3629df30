//! One conformance suite, run against every registered transport, with both
//! ends in this process (two threads). A transport added to the registry is
//! picked up here without anyone remembering to list it.

use ipc_bench::liveness::{Liveness, Peer};
use ipc_bench::transport::{
    self, Transport, TransportError, TransportOptions, TransportVisitor, VariantChoice,
};
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

/// Ends the echo thread (echoed back like any other message). Not empty: the
/// empty message is one of the sizes under test.
const STOP: &[u8] = b"conformance: stop";

/// Starts the child end on a thread: it echoes every message until [`STOP`].
fn start_echo<T: Transport>(options: TransportOptions) -> (T, thread::JoinHandle<u64>) {
    let (listener, setup) = T::listen(&options).expect("listen");
    // As in the real handshake, the parent accepts only once the child has
    // connected and said so.
    let (ready, connected) = std::sync::mpsc::channel();
    let child = thread::spawn(move || {
        let mut live = Liveness::new(Peer::InProcess);
        let mut t = T::connect(&setup, &options, &mut live).expect("connect");
        ready.send(()).expect("the parent waits for ready");
        let mut echoed = 0;
        loop {
            let msg = t.recv(&mut live).expect("child recv").to_vec();
            t.send(&msg).expect("child send");
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

/// Options for the suite: messages up to MAX_MESSAGE, and a shared-memory
/// queue barely larger, so that thousands of messages wrap it many times.
fn options(max_message_bytes: usize, variant: VariantChoice) -> TransportOptions {
    TransportOptions {
        max_message_bytes,
        wait: variant.wait,
        iox_pattern: variant.iox_pattern,
        queue_region_bytes: 2 * (max_message_bytes + 64),
    }
}

fn conformance<T: Transport>(variant: VariantChoice) {
    let options = options(MAX_MESSAGE, variant);
    let capacity = T::capacity(&options);
    if let Some(capacity) = capacity {
        assert!(
            capacity >= MAX_MESSAGE,
            "{}: capacity below what was asked",
            T::NAME
        );
    }
    let (mut t, child) = start_echo::<T>(options);
    let mut live = Liveness::new(Peer::InProcess);

    let limit = capacity.unwrap_or(MAX_MESSAGE);
    let mut sizes = vec![0, 1, limit - 1, limit];
    if capacity.is_none() {
        // No fixed limit: large messages must survive the transport's own fragmentation.
        sizes.extend([limit + 1, 1 << 20]);
    }
    let mut sent = 0u64;
    for (i, &len) in sizes.iter().enumerate() {
        let msg = pattern(len, i as u64);
        t.send(&msg)
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
        let msg = pattern(len, n);
        t.send(&msg).unwrap();
        assert_eq!(
            t.recv(&mut live).unwrap(),
            &msg[..],
            "{}: message {n}",
            T::NAME
        );
        sent += 1;
    }

    if let Some(capacity) = capacity {
        match t.send(&pattern(capacity + 1, 0)) {
            Err(TransportError::TooLarge { len, .. }) => assert_eq!(len, capacity + 1),
            other => panic!("{}: oversize send gave {other:?}", T::NAME),
        }
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

fn peer_disconnect_is_an_error<T: Transport>(variant: VariantChoice) {
    let options = options(64, variant);
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
    fn new(test: &'static str, limit: Duration) -> Self {
        let (done, finished) = std::sync::mpsc::channel::<()>();
        thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(limit) {
                eprintln!("{test}: still running after {limit:?}; a transport is blocked");
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

/// Runs the suite on one variant of a transport.
struct Suite(VariantChoice);
impl TransportVisitor for Suite {
    type Output = ();
    fn visit<T: Transport>(self) {
        conformance::<T>(self.0);
    }
}

struct Disconnect(VariantChoice);
impl TransportVisitor for Disconnect {
    type Output = ();
    fn visit<T: Transport>(self) {
        peer_disconnect_is_an_error::<T>(self.0);
    }
}

#[test]
fn every_transport_conforms() {
    let _guard = HangGuard::new("every_transport_conforms", Duration::from_secs(60));
    // Every variant of every transport (raw-sync spin and block, iceoryx2's
    // two patterns, ...).
    for label in transport::labels() {
        transport::dispatch(label.transport, Suite(label.choice)).unwrap();
    }
}

#[test]
fn every_transport_reports_a_gone_peer() {
    let _guard = HangGuard::new(
        "every_transport_reports_a_gone_peer",
        Duration::from_secs(60),
    );
    for label in transport::labels() {
        transport::dispatch(label.transport, Disconnect(label.choice)).unwrap();
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
fn stress<T: Transport>(variant: VariantChoice) {
    let (mut t, child) = start_echo::<T>(options(512, variant));
    let mut live = Liveness::new(Peer::InProcess);
    for n in 0..STRESS_MESSAGES {
        let len = (n as usize * 37) % 500;
        let msg = pattern(len, n.wrapping_mul(0x9e37_79b9));
        t.send(&msg).unwrap();
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

struct Stress(VariantChoice);
impl TransportVisitor for Stress {
    type Output = ();
    fn visit<T: Transport>(self) {
        stress::<T>(self.0);
    }
}

#[test]
fn shared_memory_transports_survive_a_stress_loop() {
    let _guard = HangGuard::new(
        "shared_memory_transports_survive_a_stress_loop",
        Duration::from_secs(300),
    );
    let shared_memory = [
        "spin",
        "raw-sync-spin",
        "shared-mem-queue",
        "iceoryx2-pub-sub",
        "iceoryx2-req-res",
    ];
    for label in transport::labels() {
        if shared_memory.contains(&label.label.as_str()) {
            transport::dispatch(label.transport, Stress(label.choice)).unwrap();
        }
    }
}
