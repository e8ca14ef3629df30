//! The send path every pattern shares: encoding into the transport's slot or
//! a buffer, one verified round trip (to one child or several), and the wait
//! for a pong.

use super::*;

/// From what length `format`'s messages are encoded into `T`'s lent slot.
pub(super) fn lends_for<T: Transport>(format: &dyn MessageFormat) -> Option<usize> {
    let (transport, codec) = T::LEND_FROM.zip(format.slot_from())?;
    Some(transport.max(codec))
}

/// Decides per message whether to encode into the transport's slot: from
/// the lending threshold and the previous message's length (a run's messages
/// are all about one size, and the length is known only after encoding).
pub(super) struct SendPath {
    pub(super) lend_from: Option<usize>,
    pub(super) last_len: usize,
}

impl SendPath {
    pub(super) fn new<T: Transport>(format: &dyn MessageFormat) -> Self {
        SendPath {
            lend_from: lends_for::<T>(format),
            last_len: 0,
        }
    }

    #[inline]
    pub(super) fn in_slot(&self) -> bool {
        self.lend_from.is_some_and(|min| self.last_len >= min)
    }
}

/// Why sending one message failed.
pub(super) enum SendFailure {
    Encode(CodecError),
    Transport(TransportError),
}

impl SendFailure {
    pub(super) fn at(self, seq: u64) -> EngineError {
        match self {
            SendFailure::Encode(error) => EngineError::Encode { seq, error },
            SendFailure::Transport(error) => EngineError::Transport { seq, error },
        }
    }
}

/// Encodes one message with `encode` and sends it: straight into the slot
/// the transport lends when `in_slot` (the format and transport both can),
/// else into `buf`, which the transport copies. Returns the message length.
#[inline]
pub(super) fn send_encoded<T: Transport>(
    transport: &mut T,
    in_slot: bool,
    buf: &mut Vec<u8>,
    encode: impl FnOnce(Out<'_>) -> Result<usize, CodecError>,
) -> Result<usize, SendFailure> {
    if in_slot {
        if let Some(slot) = transport.loan() {
            let len = encode(Out::Slot(slot)).map_err(SendFailure::Encode)?;
            transport.send_loaned(len).map_err(SendFailure::Transport)?;
            return Ok(len);
        }
    }
    let len = encode(Out::Buffer(buf)).map_err(SendFailure::Encode)?;
    transport.send(buf).map_err(SendFailure::Transport)?;
    Ok(len)
}

/// Waits for `link`'s answer to ping `seq` (`ping` bytes, stamped
/// `sent_at_ns`) and checks it; returns both messages' sizes.
#[inline]
pub(super) fn await_pong<T: Transport, F: MessageFormat>(
    link: &mut Link<T>,
    format: &mut F,
    seq: u64,
    sent_at_ns: u64,
    ping: usize,
) -> Result<WireBytes, EngineError> {
    let reply = link
        .transport
        .recv(&mut link.liveness)
        .map_err(|error| EngineError::Transport { seq, error })?;
    let wire = WireBytes {
        ping,
        pong: reply.len(),
    };
    format
        .check_pong(reply, seq, sent_at_ns)
        .map_err(|error| EngineError::Verify { seq, error })?;
    link.moved_on();
    Ok(wire)
}

impl<'a, T: Transport, F: MessageFormat> PingPong<'a, T, F> {
    /// One verified round trip, stamped `sent_at`.
    #[inline]
    pub(super) fn round_trip(&mut self, sent_at: Instant) -> Result<(), EngineError> {
        self.seq += 1;
        let seq = self.seq;
        let sent_at_ns = sent_at.saturating_duration_since(self.run_start).as_nanos() as u64;
        let [link] = &mut *self.links else {
            return self.fan_out(seq, sent_at_ns);
        };
        let format = &mut *self.format;
        let ping = send_encoded(
            &mut link.transport,
            self.send_path.in_slot(),
            &mut self.buf,
            |out| format.encode_ping_to(seq, sent_at_ns, out),
        )
        .map_err(|failure| failure.at(seq))?;
        self.send_path.last_len = ping;
        self.wire_bytes = await_pong(link, self.format, seq, sent_at_ns, ping)?;
        Ok(())
    }

    /// A round trip to several children: the ping is encoded once and
    /// copied to each (in child order), then every pong is awaited and
    /// checked, so the round trip lasts until the slowest has answered.
    pub(super) fn fan_out(&mut self, seq: u64, sent_at_ns: u64) -> Result<(), EngineError> {
        let ping = self
            .format
            .encode_ping_to(seq, sent_at_ns, Out::Buffer(&mut self.buf))
            .map_err(|error| EngineError::Encode { seq, error })?;
        for link in self.links.iter_mut() {
            link.transport
                .send(&self.buf)
                .map_err(|error| EngineError::Transport { seq, error })?;
        }
        for link in self.links.iter_mut() {
            self.wire_bytes = await_pong(link, self.format, seq, sent_at_ns, ping)?;
        }
        Ok(())
    }
}

impl MessagePath {
    /// What the path means, in words, for the run summary.
    pub fn describe(&self) -> &'static str {
        match (self.send, self.receive) {
            (PathKind::InSlot, PathKind::InSlot) => {
                "encoded into shared memory and decoded from it: no copy of the message"
            }
            (PathKind::Copied, PathKind::InSlot) => {
                "encoded into a buffer and copied in; decoded where it arrived"
            }
            (PathKind::InSlot, PathKind::Copied) => "encoded in place; decoded from a copy",
            (PathKind::Copied, PathKind::Copied) => {
                "encoded into a buffer, copied into the transport and out of it"
            }
        }
    }

    /// The path messages of these lengths take with `format` over `T`.
    pub fn of<T: Transport>(format: &dyn MessageFormat, wire: WireBytes) -> Self {
        MessagePath {
            send: PathKind::from_in_slot(
                lends_for::<T>(format).is_some_and(|min| wire.ping >= min),
            ),
            receive: PathKind::from_in_slot(
                T::RECEIVE_IN_PLACE_FROM.is_some_and(|min| wire.pong >= min),
            ),
        }
    }
}
