//! The floor: shared memory, a ring of slots per direction (one slot for a
//! ping-pong, the window for a stream), each message published by a
//! sequence number stored with Release and read with Acquire, `spin_loop`
//! hints while waiting, and no system call in the loop. Nothing between two
//! processes can be much cheaper, so every other figure can be divided by
//! this one. The ring protocol, shared with raw-sync, is in `slot_ring`.
//!
//! A slot's sequence number, length, acknowledgement and first 40 bytes of
//! data share its first cache line, so a small message crosses between
//! cores in the line the peer polls, as in the bare atomic ping-pong.
//!
//! Messages of [`IN_PLACE_FROM`] bytes and more are encoded straight into
//! the slot ([`Transport::loan`]) and handed to the receiver where they lie;
//! shorter ones are copied in from the encoder's buffer and out into ours.
//! A codec writing a short message field by field into the line the peer is
//! polling pulls that line back and forth once per write (measured: 0.68× the
//! copied path at 32 B), where one `memcpy` moves it in one go.

use super::shm_region::{Region, IN_PLACE_FROM};
use super::slot_ring::{Ring, RingSetup, Rings, MAX_SLOTS};
use super::{Options, Transport, TransportError};
use crate::transport::liveness::Liveness;
use std::time::Duration;

/// No settings of its own.
pub type Flags = super::NoFlags;
/// No variants to choose in a matrix.
pub type MatrixFlags = super::NoFlags;

/// The region's name and the rings' geometry.
pub type Setup = RingSetup;

pub struct Spin {
    channel: Ring,
    /// Last field: dropped after the channel that points into it.
    region: Region,
}

pub struct Listener {
    region: Region,
    layout: Rings,
}

impl Spin {
    fn build(region: Region, layout: Rings, parent: bool) -> Self {
        // SAFETY: the region was created with, or checked to hold,
        // region_len() bytes; it is page-aligned, zero-filled at creation,
        // and owned by the returned value, after the channel in drop order.
        let channel = unsafe { Ring::new(region.as_ptr(), &layout, parent) };
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

    fn max_window(_options: &Options<()>) -> Option<usize> {
        Some(MAX_SLOTS)
    }

    fn listen(options: &Options<()>) -> Result<(Listener, Setup), TransportError> {
        let (region, layout, setup) =
            RingSetup::create("spin", 0, options.max_message_bytes, options.window)?;
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
        let (region, layout) = setup.open(0)?;
        Ok(Spin::build(region, layout, false))
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        self.channel.send(message)
    }

    const LEND_FROM: Option<usize> = Some(IN_PLACE_FROM);
    const RECEIVE_IN_PLACE_FROM: Option<usize> = Some(IN_PLACE_FROM);

    fn loan(&mut self) -> Option<&mut [u8]> {
        // With no slot free there is nothing to lend; `send` then says why.
        self.channel.loan().ok()
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
