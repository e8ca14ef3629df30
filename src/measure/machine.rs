//! Reading the machine and build a result came from.

use crate::record::machine::MachineInfo;

/// Reading it here, where measuring happens.
impl MachineInfo {
    pub fn current() -> Self {
        MachineInfo {
            cpu_model: cpu_model().unwrap_or_else(|| "unknown".into()),
            logical_cores: logical_cores(),
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
            kernel: kernel().unwrap_or_else(|| "unknown".into()),
            virtualized: virtualized(),
            rustc_version: env!("IPC_BENCH_RUSTC_VERSION").into(),
            build_profile: build_profile().into(),
            enabled_features: enabled_features(),
        }
    }
}

/// The machine's online logical cores. Not `available_parallelism`, which
/// counts only the cores this process may use: one, once it is pinned.
#[cfg(unix)]
fn logical_cores() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n > 0 {
        n as usize
    } else {
        std::thread::available_parallelism().map_or(0, |n| n.get())
    }
}

#[cfg(not(unix))]
fn logical_cores() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// `debug`, `release` (Cargo's release profile) or `fast` (fat LTO, one
/// codegen unit): how the binary was actually compiled. An optimized build
/// of any other profile is named by that profile.
pub fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        return "debug";
    }
    match env!("IPC_BENCH_BUILD_PROFILE") {
        "debug" | "unknown" | "" => "release",
        name => name,
    }
}

/// Every Cargo feature this executable was built with (codecs, optional
/// transports, and the groups such as `full`), as the build script saw them.
pub fn enabled_features() -> Vec<String> {
    env!("IPC_BENCH_FEATURES")
        .split(',')
        .filter(|f| !f.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(target_os = "linux")]
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| {
            l.starts_with("model name") || l.starts_with("Model") || l.starts_with("Hardware")
        })
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

#[cfg(target_os = "macos")]
fn cpu_model() -> Option<String> {
    let out = std::process::Command::new("sysctl")
        .args(["-n", "machdep.cpu.brand_string"])
        .output()
        .ok()?;
    Some(String::from_utf8(out.stdout).ok()?.trim().to_string()).filter(|s| !s.is_empty())
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn cpu_model() -> Option<String> {
    None
}

#[cfg(target_os = "linux")]
pub fn virtualized() -> Option<bool> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    Some(
        info.lines()
            .filter(|l| l.starts_with("flags"))
            .any(|l| l.split_whitespace().any(|f| f == "hypervisor")),
    )
}

#[cfg(not(target_os = "linux"))]
pub fn virtualized() -> Option<bool> {
    None
}

#[cfg(unix)]
fn kernel() -> Option<String> {
    // SAFETY: utsname is plain data; uname fills it with NUL-terminated strings.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable utsname.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return None;
    }
    let field = |f: &[libc::c_char]| {
        // SAFETY: uname NUL-terminates every field within its array.
        unsafe { std::ffi::CStr::from_ptr(f.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    Some(format!("{} {}", field(&uts.sysname), field(&uts.release)))
}

#[cfg(not(unix))]
fn kernel() -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    /// Each feature of the package is recorded exactly when it is on.
    #[test]
    fn every_enabled_feature_is_recorded() {
        let recorded = super::enabled_features();
        let expected = [
            ("postcard", cfg!(feature = "postcard")),
            ("msgpack", cfg!(feature = "msgpack")),
            ("bincode", cfg!(feature = "bincode")),
            ("bitcode", cfg!(feature = "bitcode")),
            ("cbor", cfg!(feature = "cbor")),
            ("rkyv", cfg!(feature = "rkyv")),
            ("protobuf", cfg!(feature = "protobuf")),
            ("all-codecs", cfg!(feature = "all-codecs")),
            ("iceoryx2", cfg!(feature = "iceoryx2")),
            ("full", cfg!(feature = "full")),
        ];
        for (feature, on) in expected {
            assert_eq!(
                recorded.iter().any(|f| f == feature),
                on,
                "{feature}: {recorded:?}"
            );
        }
    }
}
