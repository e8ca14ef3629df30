//! Shared-memory regions for the shared-memory transports: named so that a
//! later run can recognise, report and remove the ones a dead process left.

use super::TransportError;
use shared_memory::{Shmem, ShmemConf, ShmemError};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use super::stale::NAME_PREFIX;

static NEXT_REGION: AtomicU32 = AtomicU32::new(0);

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
    /// Creates a new, zero-filled region of `len` bytes for transport `tag`.
    pub fn create(tag: &str, len: usize) -> Result<Self, TransportError> {
        let n = NEXT_REGION.fetch_add(1, Ordering::Relaxed);
        let os_id = format!("/{NAME_PREFIX}{}-{tag}-{n}", std::process::id());
        let shmem = ShmemConf::new()
            .os_id(&os_id)
            .size(len)
            .create()
            .map_err(shm_error("creating the shared-memory region"))?;
        mapped().push(shmem.get_os_id().to_string());
        Ok(Region { shmem })
    }

    /// Opens the region the parent created, checking it is at least `min_len` long.
    pub fn open(os_id: &str, min_len: usize) -> Result<Self, TransportError> {
        if !os_id.trim_start_matches('/').starts_with(NAME_PREFIX) {
            return Err(TransportError::Setup(format!(
                "'{os_id}' is not an ipc-bench region"
            )));
        }
        let shmem = ShmemConf::new()
            .os_id(os_id)
            .open()
            .map_err(shm_error("opening the parent's shared-memory region"))?;
        mapped().push(shmem.get_os_id().to_string());
        if shmem.len() < min_len {
            return Err(TransportError::Setup(format!(
                "region {os_id} is {} bytes, the layout needs {min_len}",
                shmem.len()
            )));
        }
        Ok(Region { shmem })
    }

    pub fn os_id(&self) -> &str {
        self.shmem.get_os_id()
    }

    /// The start of the mapping; valid for the length it was created or
    /// checked with, while `self` lives.
    pub fn as_ptr(&self) -> *mut u8 {
        self.shmem.as_ptr()
    }

    /// Makes this handle remove the region when dropped: the child calls it
    /// when the parent, the region's creator, died without removing it.
    pub fn take_ownership(&mut self) {
        self.shmem.set_owner(true);
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        let mut names = mapped();
        if let Some(i) = names.iter().position(|n| n == self.shmem.get_os_id()) {
            names.swap_remove(i);
        }
    }
}

/// The message part of a one-message slot in a region: a length and
/// `capacity` bytes of data. Shared by the slot-based transports; each
/// publishes and observes messages its own way (an event, a sequence number)
/// and calls these between.
pub struct SlotData {
    pub len: *mut u64,
    pub data: *mut u8,
    pub capacity: usize,
}

impl SlotData {
    /// Copies `message` into the slot.
    ///
    /// # Safety
    /// `len` must be 8-aligned and `data` valid for `capacity` bytes, inside a
    /// live mapping, and the peer must not be reading the slot (it reads only
    /// after the caller publishes, and has answered the previous message).
    pub unsafe fn write(&self, message: &[u8]) -> Result<(), TransportError> {
        if message.len() > self.capacity {
            return Err(TransportError::TooLarge {
                len: message.len(),
                capacity: self.capacity,
            });
        }
        // SAFETY: message.len() <= capacity; exclusive access per the caller.
        unsafe {
            std::ptr::copy_nonoverlapping(message.as_ptr(), self.data, message.len());
            self.len.write_volatile(message.len() as u64);
        }
        Ok(())
    }

    /// Copies the slot's message into `buf` (replacing its contents).
    ///
    /// # Safety
    /// As for [`write`](Self::write), and the caller must have observed the
    /// writer's publication with Acquire ordering, so the length and bytes
    /// are complete; the writer does not touch the slot until we answer.
    pub unsafe fn read_into<'b>(&self, buf: &'b mut Vec<u8>) -> Result<&'b [u8], TransportError> {
        // SAFETY: published and stable, per the caller.
        let len = unsafe { self.len.read_volatile() } as usize;
        if len > self.capacity {
            return Err(TransportError::Corrupt(format!(
                "length {len} > slot capacity {}",
                self.capacity
            )));
        }
        buf.clear();
        // SAFETY: `len <= capacity` initialized bytes at `data`; `buf` has
        // room for them after `reserve`, and they are initialized before set_len.
        unsafe {
            buf.reserve(len);
            std::ptr::copy_nonoverlapping(self.data, buf.as_mut_ptr(), len);
            buf.set_len(len);
        }
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_removed_by_their_owner_only() {
        let created = Region::create("test", 4096).unwrap();
        let id = created.os_id().to_string();
        assert!(crate::transport::stale::creator_pid(&id).is_some(), "{id}");
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
