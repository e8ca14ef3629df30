//! Shared-memory regions for the shared-memory transports, and the slot
//! geometry two of them share. Every region is named and marked so that a
//! later run can prove a dead process's leftover is ours before removing it
//! (see `stale`), and every size that arrives from the other process is
//! checked before anything is mapped or written.
//!
//! ```text
//! | header (HEADER_BYTES): REGION_MAGIC, zeros | the transport's bytes ... |
//! ```

use super::TransportError;
use shared_memory::{Shmem, ShmemConf, ShmemError};
use std::sync::Mutex;

use super::stale::{random_suffix, NAME_PREFIX, REGION_MAGIC};

/// Bytes in front of the transport's part of every region: the magic, and
/// padding that keeps the transport's part aligned for its slots.
const HEADER_BYTES: usize = 128;

/// The largest region a transport may ask for: 8 GiB, far above any
/// accepted payload (256 MiB), so a hostile size is refused before mapping.
pub const MAX_REGION_BYTES: usize = 8 << 30;

/// Names of the regions this process has mapped, for [`remove_all_regions`].
static MAPPED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn mapped() -> std::sync::MutexGuard<'static, Vec<String>> {
    // A panic elsewhere cannot leave the list inconsistent: use it anyway.
    MAPPED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Removes every region this process has mapped from the system, for a forced
/// exit in which destructors do not run. Mappings stay valid until exit; a
/// peer that still uses one is unaffected, and a later removal of the same
/// name is a harmless no-op.
pub fn remove_all_regions() {
    for name in mapped().iter() {
        #[cfg(unix)]
        if let Ok(name) = std::ffi::CString::new(name.as_str()) {
            // SAFETY: `name` is a valid NUL-terminated string; shm_unlink only
            // removes the name and touches no memory of ours.
            unsafe {
                libc::shm_unlink(name.as_ptr());
            }
        }
    }
}

/// A mapped shared-memory region. The creator owns it and removes it from the
/// system when dropped; an opener only unmaps it, unless it takes ownership
/// because the creator is gone.
pub struct Region {
    shmem: Shmem,
}

// SAFETY: a Shmem is a mapping of process-wide memory plus its name; nothing in
// it is tied to the thread that created it, so moving it to another thread is
// sound. Concurrent access to the mapped bytes is governed by each transport's
// own protocol, not by this handle.
unsafe impl Send for Region {}

fn shm_error(context: &'static str) -> impl FnOnce(ShmemError) -> TransportError {
    move |e| TransportError::Other(format!("{context}: {e}"))
}

impl Region {
    /// Creates a new region whose transport part is `len` zero-filled bytes,
    /// for transport `tag` (1 to 4 lowercase letters: names stay within
    /// macOS's 31 bytes).
    pub fn create(tag: &str, len: usize) -> Result<Self, TransportError> {
        debug_assert!((1..=4).contains(&tag.len()) && tag.bytes().all(|b| b.is_ascii_lowercase()));
        let total = checked_total(len)?;
        let os_id = format!(
            "/{NAME_PREFIX}{}-{tag}-{}",
            std::process::id(),
            random_suffix()
        );
        let shmem = ShmemConf::new()
            .os_id(&os_id)
            .size(total)
            .create()
            .map_err(shm_error("creating the shared-memory region"))?;
        mapped().push(shmem.get_os_id().to_string());
        // SAFETY: the mapping is `total >= HEADER_BYTES` bytes long and nobody
        // else knows its name yet, so writing its first bytes is race-free.
        unsafe {
            std::ptr::copy_nonoverlapping(
                REGION_MAGIC.as_ptr(),
                shmem.as_ptr(),
                REGION_MAGIC.len(),
            );
        }
        Ok(Region { shmem })
    }

    /// Opens the region the parent created, checking that it is one of ours
    /// (name and header) and that its transport part really is at least
    /// `min_len` bytes long, so that a layout from the handshake can never
    /// reach beyond the mapping.
    pub fn open(os_id: &str, min_len: usize) -> Result<Self, TransportError> {
        if super::stale::region_creator(os_id).is_none() {
            return Err(TransportError::Setup(format!(
                "'{os_id}' is not the name of an ipc-bench region"
            )));
        }
        let total = checked_total(min_len)?;
        let shmem = ShmemConf::new()
            .os_id(os_id)
            .open()
            .map_err(shm_error("opening the parent's shared-memory region"))?;
        mapped().push(shmem.get_os_id().to_string());
        let region = Region { shmem };
        if region.shmem.len() < total {
            return Err(TransportError::Setup(format!(
                "region {os_id} has {} bytes for the transport, the layout needs {min_len}",
                region.shmem.len().saturating_sub(HEADER_BYTES)
            )));
        }
        // SAFETY: the mapping is at least HEADER_BYTES long (checked above);
        // the creator wrote the magic before it gave the name out, and nobody
        // writes the header afterwards.
        let head = unsafe { std::slice::from_raw_parts(region.shmem.as_ptr(), REGION_MAGIC.len()) };
        if head != REGION_MAGIC {
            return Err(TransportError::Setup(format!(
                "region {os_id} does not start with ipc-bench's header"
            )));
        }
        Ok(region)
    }

    pub fn os_id(&self) -> &str {
        self.shmem.get_os_id()
    }

    /// The start of the transport's part of the mapping (after the header,
    /// so aligned to 128 bytes); valid for the length it was created or
    /// checked with, while `self` lives.
    pub fn as_ptr(&self) -> *mut u8 {
        // SAFETY: every mapping of ours is at least HEADER_BYTES long (create
        // and open check it), so the offset stays inside it.
        unsafe { self.shmem.as_ptr().add(HEADER_BYTES) }
    }

    /// Makes this handle remove the region when dropped: the child calls it
    /// when a run fails, since the parent, the region's creator, may have
    /// died without removing it (if it did not, its removal finds nothing).
    pub fn take_ownership(&mut self) {
        self.shmem.set_owner(true);
    }
}

/// The mapping's whole length for a transport part of `len` bytes, refusing
/// lengths beyond [`MAX_REGION_BYTES`].
fn checked_total(len: usize) -> Result<usize, TransportError> {
    match len.checked_add(HEADER_BYTES) {
        Some(total) if len <= MAX_REGION_BYTES => Ok(total),
        _ => Err(TransportError::Setup(format!(
            "a {len}-byte region is larger than the {MAX_REGION_BYTES} bytes accepted"
        ))),
    }
}

/// The largest slot capacity the slot transports accept: 1 GiB, above any
/// accepted message (a 256 MiB payload and its envelope).
pub const MAX_SLOT_CAPACITY: usize = 1 << 30;
/// Slots start on this boundary (two cache lines: adjacent-line prefetch
/// pairs them), so no two slots, and no two directions, share a line.
pub const SLOT_ALIGN: usize = 128;

impl Drop for Region {
    fn drop(&mut self) {
        let mut names = mapped();
        if let Some(i) = names.iter().position(|n| n == self.shmem.get_os_id()) {
            names.swap_remove(i);
        }
    }
}

/// The message length from which the slot transports (spin, raw-sync) lend
/// their slot to the codec and hand received messages out in place. Measured
/// on a 2-vCPU VM, spin, postcard, alternated runs, in place against copied:
/// 0.9× at 32 B, 0.88× at 1 KiB, 1.0× at 4 KiB, 1.09× at 16 KiB, 1.03× at
/// 64 KiB, 1.3× at 1 MiB (bitcode). Small messages are cheaper copied: one
/// `memcpy` moves them in wide strided stores and loads the prefetcher
/// follows, where a codec writes and reads them field by field on cache lines
/// that sit in the other core's cache.
pub const IN_PLACE_FROM: usize = 4096;

/// The message part of a slot in a region: a length and `capacity` bytes
/// of data, written and read through the ring protocol of `slot_ring`.
pub struct SlotData {
    pub len: *mut u64,
    pub data: *mut u8,
    pub capacity: usize,
}

impl SlotData {
    /// The whole slot, writable, for a message to be encoded in place;
    /// publish it with [`set_len`](Self::set_len) and then the transport's signal.
    ///
    /// # Safety
    /// `len` must be 8-aligned and `data` valid for `capacity` bytes, inside
    /// a live mapping, and the peer must not be reading the slot (it reads only
    /// after the caller publishes, and has handed the slot back), for as long
    /// as the slice is used. The
    /// bytes are initialized: the mapping was zero-filled and only ever
    /// holds bytes written since.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slot_mut(&self) -> &mut [u8] {
        // SAFETY: `data` is valid for `capacity` bytes and nobody else
        // accesses them meanwhile, per the caller.
        unsafe { std::slice::from_raw_parts_mut(self.data, self.capacity) }
    }

    /// Records that the first `len` bytes of the slot are the message.
    ///
    /// # Safety
    /// As for [`slot_mut`](Self::slot_mut).
    pub unsafe fn set_len(&self, len: usize) -> Result<(), TransportError> {
        if len > self.capacity {
            return Err(TransportError::TooLarge {
                len,
                capacity: self.capacity,
            });
        }
        // SAFETY: `len` is 8-aligned and ours to write, per the caller.
        unsafe { self.len.write_volatile(len as u64) };
        Ok(())
    }

    /// The slot's message: where it lies when it is [`IN_PLACE_FROM`] bytes
    /// or longer, else copied into `buf`.
    ///
    /// # Safety
    /// As for [`read`](Self::read).
    pub unsafe fn read_or_copy<'b>(
        &self,
        buf: &'b mut Vec<u8>,
    ) -> Result<&'b [u8], TransportError> {
        // SAFETY: forwarded from the caller.
        let message = unsafe { self.read()? };
        if message.len() >= IN_PLACE_FROM {
            return Ok(message);
        }
        buf.clear();
        buf.extend_from_slice(message);
        Ok(buf)
    }

    /// The slot's message where it lies, not copied.
    ///
    /// # Safety
    /// The caller must have observed the writer's publication with Acquire
    /// ordering, so the length and bytes are complete, and must stop using
    /// the slice before it hands the slot back: the writer writes the slot
    /// again only after that.
    pub unsafe fn read<'b>(&self) -> Result<&'b [u8], TransportError> {
        // SAFETY: published and stable, per the caller.
        let len = unsafe { self.len.read_volatile() } as usize;
        if len > self.capacity {
            return Err(TransportError::Corrupt(format!(
                "length {len} > slot capacity {}",
                self.capacity
            )));
        }
        // SAFETY: `len <= capacity` initialized bytes at `data`, not written
        // while the slice is in use (per the caller).
        Ok(unsafe { std::slice::from_raw_parts(self.data, len) })
    }
}

/// Message lengths for the two-thread protocol tests of the slot
/// transports: short ones (copied out) and, every third, long ones (read in
/// place).
#[cfg(test)]
pub(crate) fn mixed_message_len(n: u64) -> usize {
    if n % 3 == 2 {
        IN_PLACE_FROM + (n as usize * 7) % 200
    } else {
        (n as usize * 7) % 200
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_is_checked_against_its_real_length_and_header() {
        let created = Region::create("test", 4096).unwrap();
        let id = created.os_id().to_string();
        assert!(Region::open(&id, 4096).is_ok());
        for too_long in [4097, 1 << 30, MAX_REGION_BYTES + 1, usize::MAX] {
            assert!(Region::open(&id, too_long).is_err(), "{too_long}");
        }
        assert!(Region::open("/etc-passwd", 0).is_err());
        assert!(
            Region::open("/ipc-bench-1-rs-0", 0).is_err(),
            "old-style name"
        );
        #[cfg(target_os = "linux")]
        {
            // Our name shape, but not our header: refused, not trusted.
            let fake = format!("/ipc-bench-{}-test-{}", std::process::id(), random_suffix());
            std::fs::write(format!("/dev/shm{fake}"), vec![0u8; 8192]).unwrap();
            let opened = Region::open(&fake, 64);
            std::fs::remove_file(format!("/dev/shm{fake}")).unwrap();
            assert!(opened.is_err());
        }
    }

    #[test]
    fn regions_are_removed_by_their_owner_only() {
        let created = Region::create("test", 4096).unwrap();
        let id = created.os_id().to_string();
        assert_eq!(
            crate::transport::stale::region_creator(&id),
            Some(std::process::id()),
            "{id}"
        );
        let opened = Region::open(&id, 4096).unwrap();
        drop(opened);
        // The opener did not remove it: it can be opened again.
        let mut again = Region::open(&id, 4096).unwrap();
        assert!(
            Region::open(&id, 1 << 30).is_err(),
            "a too-small region is refused"
        );
        again.take_ownership();
        drop(again);
        assert!(Region::open(&id, 1).is_err(), "the new owner removed it");
        drop(created); // removing an already-removed region is harmless
    }
}
