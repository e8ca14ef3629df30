//! The closed loop and the child's answering loop for a transport whose
//! messages are awaited ([`Awaited`]): each side's loop runs as a task of
//! a tokio runtime of the connection's flavour, and every send and receive
//! is awaited, so an empty socket parks the task until the runtime's
//! reactor wakes it. That is what an async service pays per message, and
//! the only difference from the blocking loops: the messages, their checks,
//! the clock reads, the settling warm-up, the intervals, the latency
//! histogram and the stop message are theirs (shared helpers, or the same
//! steps in the same order).
//!
//! The task owns the links and the format while it runs (a spawned task
//! borrows nothing) and hands them back with its result.

use super::closed_loop::{MeasuredPhase, WarmUp};
use super::counters::cpu_since;
use super::*;
use crate::transport::tokio::Runtime;
use crate::transport::Awaited;

/// Everything a spawned loop owns, handed back when it ends.
pub struct Owned<T, F> {
    pub links: Vec<Link<T>>,
    pub format: F,
}

/// A fresh runtime of `flavour`, its I/O driver on.
fn runtime(flavour: Runtime) -> Result<tokio::runtime::Runtime, EngineError> {
    let mut builder = match flavour {
        Runtime::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        Runtime::MultiThread => tokio::runtime::Builder::new_multi_thread(),
    };
    builder
        .enable_io()
        .build()
        .map_err(|error| EngineError::Transport {
            seq: 1,
            error: TransportError::io("starting a tokio runtime")(error),
        })
}

/// Runs `task` to completion as a task of `runtime` (a spawned task, as a
/// service runs each connection). A task that panicked panics here, as the
/// blocking loop would have.
fn spawned<R: Send + 'static>(
    runtime: tokio::runtime::Runtime,
    task: impl std::future::Future<Output = R> + Send + 'static,
) -> R {
    let joined = runtime.block_on(async move { tokio::spawn(task).await });
    joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// Parent side: warms up, measures and stops every child over `links`, as
/// [`PingPong::run`] does in a closed loop.
pub fn run_awaited<T: Awaited, F: MessageFormat + Send + 'static>(
    owned: Owned<T, F>,
    config: EngineConfig,
    on_phase: impl FnMut(Phase) + Send + 'static,
) -> (Owned<T, F>, Result<Measurement, EngineError>) {
    let runtime = match runtime(owned.links[0].transport.runtime()) {
        Ok(runtime) => runtime,
        Err(e) => return (owned, Err(e)),
    };
    spawned(runtime, async move {
        let mut run = AwaitedRun {
            owned,
            buf: Vec::new(),
            seq: 0,
            run_start: Instant::now(),
            wire_bytes: WireBytes::default(),
        };
        let result = run.closed_loop(&config, on_phase).await;
        (run.owned, result)
    })
}

/// Child side: answers pings until the stop message, as [`serve`] does.
pub fn serve_awaited<T: Awaited, F: MessageFormat + Send + 'static>(
    mut transport: T,
    mut format: F,
) -> (T, Result<Served, EngineError>) {
    let runtime = match runtime(transport.runtime()) {
        Ok(runtime) => runtime,
        Err(e) => return (transport, Err(e)),
    };
    spawned(runtime, async move {
        let served = answer(&mut transport, &mut format).await;
        (transport, served)
    })
}

async fn answer<T: Awaited, F: MessageFormat>(
    transport: &mut T,
    format: &mut F,
) -> Result<Served, EngineError> {
    transport
        .attach()
        .map_err(|error| EngineError::Transport { seq: 1, error })?;
    let mut buf = Vec::new();
    let mut served = 0u64;
    let mut cpu_start = None;
    loop {
        let seq = served + 1;
        let transport_error = |error| EngineError::Transport { seq, error };
        let request = transport.recv_awaited().await.map_err(transport_error)?;
        if request.is_empty() {
            transport.send_awaited(&[]).await.map_err(transport_error)?;
            break;
        }
        if served == 0 {
            cpu_start = process_cpu_time();
        }
        format
            .read_ping(request)
            .map_err(|error| EngineError::Verify { seq, error })?;
        format
            .write_pong_to(Out::Buffer(&mut buf))
            .map_err(|error| EngineError::Encode { seq, error })?;
        transport
            .send_awaited(&buf)
            .await
            .map_err(transport_error)?;
        served += 1;
    }
    Ok(Served {
        round_trips: served,
        cpu: cpu_since(cpu_start),
        one_way: None,
    })
}

struct AwaitedRun<T, F> {
    owned: Owned<T, F>,
    buf: Vec<u8>,
    seq: u64,
    run_start: Instant,
    wire_bytes: WireBytes,
}

impl<T: Awaited, F: MessageFormat> AwaitedRun<T, F> {
    /// One verified round trip to every child, stamped `sent_at`: the ping
    /// encoded once and sent to each in turn, then each pong awaited and
    /// checked.
    async fn round_trip(&mut self, sent_at: Instant) -> Result<(), EngineError> {
        self.seq += 1;
        let seq = self.seq;
        let sent_at_ns = sent_at.saturating_duration_since(self.run_start).as_nanos() as u64;
        let Owned { links, format } = &mut self.owned;
        let ping = format
            .encode_ping_to(seq, sent_at_ns, Out::Buffer(&mut self.buf))
            .map_err(|error| EngineError::Encode { seq, error })?;
        for link in links.iter_mut() {
            link.transport
                .send_awaited(&self.buf)
                .await
                .map_err(|error| EngineError::Transport { seq, error })?;
        }
        for link in links.iter_mut() {
            let reply = link
                .transport
                .recv_awaited()
                .await
                .map_err(|error| EngineError::Transport { seq, error })?;
            self.wire_bytes = WireBytes {
                ping,
                pong: reply.len(),
            };
            format
                .check_pong(reply, seq, sent_at_ns)
                .map_err(|error| EngineError::Verify { seq, error })?;
            link.moved_on();
        }
        Ok(())
    }

    /// The blocking closed loop's phases, awaited: warm-up (until settled
    /// when asked), the measured phase with one clock read per round trip
    /// (or per [`ROUND_TRIPS_PER_CLOCK_READ`] without latency), the stop.
    async fn closed_loop(
        &mut self,
        config: &EngineConfig,
        mut on_phase: impl FnMut(Phase),
    ) -> Result<Measurement, EngineError> {
        for link in self.owned.links.iter_mut() {
            let error = |error| EngineError::Transport { seq: 1, error };
            link.transport.attach().map_err(error)?;
        }
        on_phase(Phase::WarmingUp);
        self.run_start = Instant::now();
        let cpu_start = process_cpu_time();
        let mut warm_up = WarmUp::begin(config, self.run_start);
        while warm_up.going() {
            self.round_trip(warm_up.now).await?;
            if warm_up.lap(self.seq)? {
                break;
            }
        }
        let warmup_round_trips = self.seq;

        on_phase(Phase::Measuring);
        let mut phase = MeasuredPhase::begin(config, warmup_round_trips);
        let batch = phase.batch();
        loop {
            let sent_at = phase.last;
            for _ in 0..batch {
                self.round_trip(sent_at).await?;
            }
            if phase.lap(self.seq)? {
                break;
            }
        }
        self.stop().await?;
        let parent_cpu = cpu_since(cpu_start);
        let mut path = MessagePath::of::<T>(&self.owned.format, self.wire_bytes);
        if self.owned.links.len() > 1 {
            // One encoding, copied to every child.
            path.send = PathKind::Copied;
        }
        let finished = (self.wire_bytes, path, parent_cpu);
        Ok(phase.measurement(warmup_round_trips, self.seq, finished))
    }

    /// Sends every child the stop message and awaits each acknowledgement.
    async fn stop(&mut self) -> Result<(), EngineError> {
        let seq = self.seq + 1;
        let transport_error = |error| EngineError::Transport { seq, error };
        for link in self.owned.links.iter_mut() {
            link.transport
                .send_awaited(&[])
                .await
                .map_err(transport_error)?;
        }
        for link in self.owned.links.iter_mut() {
            let ack = link
                .transport
                .recv_awaited()
                .await
                .map_err(transport_error)?;
            if !ack.is_empty() {
                return Err(EngineError::BadStopAck(ack.len()));
            }
        }
        Ok(())
    }
}
