//! Records the compiler version and build profile for result files.

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=IPC_BENCH_RUSTC_VERSION={version}");
    println!("cargo:rustc-env=IPC_BENCH_BUILD_PROFILE={}", profile_name());
    // Every Cargo feature of this package that the build enabled, for result
    // files: Cargo tells a build script as CARGO_FEATURE_<NAME> variables
    // (upper case, '-' as '_'; no feature name here has an '_' of its own).
    let mut features: Vec<String> = std::env::vars()
        .filter_map(|(key, _)| key.strip_prefix("CARGO_FEATURE_").map(str::to_string))
        .map(|name| name.to_lowercase().replace('_', "-"))
        .filter(|name| name != "default")
        .collect();
    features.sort();
    println!("cargo:rustc-env=IPC_BENCH_FEATURES={}", features.join(","));
    println!("cargo:rerun-if-changed=build.rs");
}

/// The Cargo profile's name as its output directory says it (`debug` for
/// dev, `release`, or a custom one such as `fast`): Cargo's own PROFILE
/// variable says only `debug` or `release`, whatever profile inherits them.
fn profile_name() -> String {
    // OUT_DIR is <target>/[<triple>/]<profile>/build/<package>-<hash>/out.
    let from_out_dir = std::env::var("OUT_DIR").ok().and_then(|dir| {
        let path = std::path::PathBuf::from(dir);
        let name = path.parent()?.parent()?.parent()?.file_name()?;
        Some(name.to_string_lossy().into_owned())
    });
    from_out_dir
        .or_else(|| std::env::var("PROFILE").ok())
        .unwrap_or_else(|| "unknown".into())
}
