//! CPU placement of parent and child (`--pin`).

use crate::record::placement::{PinMode, Placement};

/// Chooses cores for `mode` among those this process may use.
pub fn plan(mode: PinMode) -> Result<Placement, String> {
    if mode == PinMode::None {
        return Ok(Placement {
            mode,
            parent_core: None,
            child_core: None,
        });
    }
    let cores = usable_cores()
        .ok_or("cannot list the CPU cores this process may use, so --pin/PIN cannot be honoured")?;
    let (parent, child) = match (mode, cores) {
        (PinMode::Same, [first, ..]) => (*first, *first),
        (PinMode::Cross, [first, second, ..]) => (*first, *second),
        _ => {
            return Err(format!(
                "--pin/PIN {} needs {} usable core(s), this process may use {}",
                mode.name(),
                if mode == PinMode::Cross { 2 } else { 1 },
                cores.len()
            ))
        }
    };
    Ok(Placement {
        mode,
        parent_core: Some(parent),
        child_core: Some(child),
    })
}

/// The cores this process could use when it first asked, before any case
/// pinned it: a matrix pins and unpins the parent many times, and the cores
/// to choose from must not shrink to the last one it was pinned to.
fn usable_cores() -> Option<&'static [usize]> {
    static USABLE: std::sync::OnceLock<Option<Vec<usize>>> = std::sync::OnceLock::new();
    USABLE
        .get_or_init(|| {
            core_affinity::get_core_ids().map(|ids| ids.into_iter().map(|c| c.id).collect())
        })
        .as_deref()
}

/// Pins the calling thread to `core`.
pub fn pin_to(core: usize) -> Result<(), String> {
    if core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        Ok(())
    } else {
        Err(format!("could not pin to core {core}"))
    }
}

/// Pins the calling thread to `core` until the guard is dropped, when the
/// thread gets back the cores it had (Linux; elsewhere pinning is a hint
/// that the next case's pinning replaces).
pub fn pin_for_case(core: usize) -> Result<PinGuard, String> {
    let guard = PinGuard::save();
    pin_to(core)?;
    Ok(guard)
}

pub struct PinGuard {
    #[cfg(target_os = "linux")]
    saved: Option<libc::cpu_set_t>,
}

impl PinGuard {
    #[cfg(target_os = "linux")]
    fn save() -> Self {
        // SAFETY: cpu_set_t is plain data (all-zero is an empty set), and
        // sched_getaffinity writes at most size_of::<cpu_set_t>() bytes into it.
        let saved = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            (libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0)
                .then_some(set)
        };
        PinGuard { saved }
    }

    #[cfg(not(target_os = "linux"))]
    fn save() -> Self {
        PinGuard {}
    }
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some(set) = &self.saved {
            // SAFETY: `set` is a valid cpu_set_t obtained from sched_getaffinity.
            unsafe {
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set);
            }
        }
    }
}
