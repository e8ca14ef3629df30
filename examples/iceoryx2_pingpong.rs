//! The bare iceoryx2 ping-pong the `iceoryx2` transport is measured against:
//! two processes, the same structured ping and pong through the same codec,
//! and nothing else: no liveness checks, no handshake, no per-poll hints.
//! Services are set up the way iceoryx2's own publish-subscribe and
//! request-response benchmarks set theirs up (one port of each kind, no
//! history, a buffer of one, safe overflow), and the receiver polls flat out.
//!
//! `cargo run --release --features iceoryx2,postcard --example iceoryx2_pingpong -- \
//!     [SECONDS] [publish-subscribe|request-response] [CODEC] [PAYLOAD_BYTES]`
//!
//! Compare with `ipc-bench run --transport iceoryx2 --iox-pattern P --codec C
//! --payload-bytes N --pin cross`, alternating the two (never while compiling).

use codecs::{Codec, CodecId, CodecVisitor};
use iceoryx2::prelude::*;
use ipc_bench::measure::message::{make_payload, PingMessage, PongMessage};
use std::time::{Duration, Instant};

type Svc = ipc::Service;

fn pin(core: usize) {
    core_affinity::set_for_current(core_affinity::CoreId { id: core });
}

/// The benchmark's publish-subscribe settings: one publisher, one
/// subscriber, no history, a buffer of one, safe overflow.
fn pub_sub(
    node: &Node<Svc>,
    name: &str,
) -> iceoryx2::service::port_factory::publish_subscribe::PortFactory<Svc, [u8], ()> {
    node.service_builder(&ServiceName::new(name).unwrap())
        .publish_subscribe::<[u8]>()
        .max_publishers(1)
        .max_subscribers(1)
        .history_size(0)
        .subscriber_max_buffer_size(1)
        .enable_safe_overflow(true)
        .open_or_create()
        .unwrap()
}

/// The benchmark's request-response settings: one client, one server, a
/// response buffer of one, and one request in flight.
fn req_res(
    node: &Node<Svc>,
    name: &str,
) -> iceoryx2::service::port_factory::request_response::PortFactory<Svc, [u8], (), [u8], ()> {
    node.service_builder(&ServiceName::new(name).unwrap())
        .request_response::<[u8], [u8]>()
        .max_clients(1)
        .max_servers(1)
        .max_response_buffer_size(1)
        .max_active_requests_per_client(1)
        .open_or_create()
        .unwrap()
}

struct Args {
    seconds: f64,
    request_response: bool,
    codec: String,
    payload_bytes: usize,
}

fn main() {
    set_log_level(LogLevel::Error);
    let args: Vec<String> = std::env::args().collect();
    let child = args.get(1).map(String::as_str) == Some("--child");
    let rest = if child { &args[3..] } else { &args[1..] };
    let parsed = Args {
        seconds: rest.first().map_or(5.0, |s| s.parse().expect("SECONDS")),
        request_response: rest.get(1).map(String::as_str) == Some("request-response"),
        codec: rest.get(2).cloned().unwrap_or_else(|| "json".into()),
        payload_bytes: rest
            .get(3)
            .map_or(32, |s| s.parse().expect("PAYLOAD_BYTES")),
    };
    let codec = CodecId::parse(&parsed.codec).unwrap_or_else(|e| panic!("{e}"));
    codec.dispatch(Run {
        args: parsed,
        child: child.then(|| args[2].clone()),
    });
}

struct Run {
    args: Args,
    /// The service prefix, in the child.
    child: Option<String>,
}

impl CodecVisitor for Run {
    type Output = ();
    fn visit<C: Codec>(self, codec: C) {
        let Run { args, child } = self;
        match child {
            Some(prefix) => serve(codec, &args, &prefix),
            None => measure(codec, &args),
        }
    }
}

/// Parent: spawns the child, then times round trips.
fn measure<C: Codec>(mut codec: C, args: &Args) {
    pin(0);
    let prefix = format!("iox-example/{}", std::process::id());
    let node = NodeBuilder::new().create::<Svc>().unwrap();
    let payload = make_payload(args.payload_bytes);
    let mut buf = Vec::new();
    let ping = |seq: u64| PingMessage {
        sender_id: "parent".into(),
        receiver_id: "child".into(),
        seq,
        sent_at_ns: seq,
        payload: payload.clone(),
    };
    let check = |pong: PongMessage, seq: u64| {
        assert!(pong.seq == seq && pong.payload == payload, "wrong pong");
    };
    let spawn = || {
        std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--child")
            .arg(&prefix)
            .args(std::env::args().skip(1))
            .spawn()
            .unwrap()
    };
    // Runs `round_trip` for a one-second warm-up and then `seconds`.
    let time = |round_trip: &mut dyn FnMut(u64)| {
        let mut seq = 0;
        let warm = Instant::now();
        while warm.elapsed() < Duration::from_secs(1) {
            seq += 1;
            round_trip(seq);
        }
        let start = Instant::now();
        let first = seq;
        while start.elapsed() < Duration::from_secs_f64(args.seconds) {
            for _ in 0..64 {
                seq += 1;
                round_trip(seq);
            }
        }
        (seq - first, start.elapsed().as_secs_f64())
    };
    let (round_trips, secs) = if args.request_response {
        let service = req_res(&node, &format!("{prefix}/rpc"));
        let client = service
            .client_builder()
            .initial_max_slice_len(64 + args.payload_bytes * 2)
            .create()
            .unwrap();
        let mut child = spawn();
        while service.dynamic_config().number_of_servers() == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let (n, secs) = time(&mut |seq| {
            codec.encode(&ping(seq), &mut buf).unwrap();
            let request = client.loan_slice_uninit(buf.len()).unwrap();
            let pending = request.write_from_slice(&buf).send().unwrap();
            let response = loop {
                if let Some(response) = pending.receive().unwrap() {
                    break response;
                }
            };
            check(codec.decode(response.payload()).unwrap(), seq);
        });
        // An empty request stops the child.
        let stop = client.loan_slice_uninit(0).unwrap();
        drop(stop.write_from_slice(&[]).send().unwrap());
        child.wait().unwrap();
        (n, secs)
    } else {
        let ping_service = pub_sub(&node, &format!("{prefix}/ping"));
        let pong_service = pub_sub(&node, &format!("{prefix}/pong"));
        let publisher = ping_service
            .publisher_builder()
            .initial_max_slice_len(64 + args.payload_bytes * 2)
            .create()
            .unwrap();
        let subscriber = pong_service.subscriber_builder().create().unwrap();
        let mut child = spawn();
        while ping_service.dynamic_config().number_of_subscribers() == 0
            || pong_service.dynamic_config().number_of_publishers() == 0
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        let (n, secs) = time(&mut |seq| {
            codec.encode(&ping(seq), &mut buf).unwrap();
            let sample = publisher.loan_slice_uninit(buf.len()).unwrap();
            sample.write_from_slice(&buf).send().unwrap();
            let reply = loop {
                if let Some(sample) = subscriber.receive().unwrap() {
                    break sample;
                }
            };
            check(codec.decode(reply.payload()).unwrap(), seq);
        });
        let stop = publisher.loan_slice_uninit(0).unwrap();
        stop.write_from_slice(&[]).send().unwrap();
        child.wait().unwrap();
        (n, secs)
    };
    println!(
        "iceoryx2_pingpong {} {} {} B: {round_trips} round trips in {secs:.2} s = {:.0} round trips/s, {:.0} ns per round trip",
        if args.request_response { "request-response" } else { "publish-subscribe" },
        C::NAME,
        args.payload_bytes,
        round_trips as f64 / secs,
        secs * 1e9 / round_trips as f64
    );
}

/// Child: answers every ping with its pong until an empty message.
fn serve<C: Codec>(mut codec: C, args: &Args, prefix: &str) {
    pin(1);
    let node = NodeBuilder::new().create::<Svc>().unwrap();
    let mut buf = Vec::new();
    let answer = |codec: &mut C, request: &[u8], buf: &mut Vec<u8>| {
        let ping: PingMessage = codec.decode(request).unwrap();
        let pong = PongMessage {
            sender_id: ping.receiver_id,
            receiver_id: ping.sender_id,
            seq: ping.seq,
            ping_sent_at_ns: ping.sent_at_ns,
            payload: ping.payload,
        };
        codec.encode(&pong, buf).unwrap();
    };
    if args.request_response {
        let service = req_res(&node, &format!("{prefix}/rpc"));
        let server = service
            .server_builder()
            .initial_max_slice_len(64 + args.payload_bytes * 2)
            .create()
            .unwrap();
        loop {
            let Some(request) = server.receive().unwrap() else {
                continue;
            };
            if request.payload().is_empty() {
                return;
            }
            answer(&mut codec, request.payload(), &mut buf);
            let response = request.loan_slice_uninit(buf.len()).unwrap();
            response.write_from_slice(&buf).send().unwrap();
        }
    } else {
        let ping_service = pub_sub(&node, &format!("{prefix}/ping"));
        let pong_service = pub_sub(&node, &format!("{prefix}/pong"));
        let publisher = pong_service
            .publisher_builder()
            .initial_max_slice_len(64 + args.payload_bytes * 2)
            .create()
            .unwrap();
        let subscriber = ping_service.subscriber_builder().create().unwrap();
        loop {
            let Some(sample) = subscriber.receive().unwrap() else {
                continue;
            };
            if sample.payload().is_empty() {
                return;
            }
            answer(&mut codec, sample.payload(), &mut buf);
            drop(sample);
            let reply = publisher.loan_slice_uninit(buf.len()).unwrap();
            reply.write_from_slice(&buf).send().unwrap();
        }
    }
}
