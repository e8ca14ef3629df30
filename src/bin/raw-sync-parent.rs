//! Parent side of the raw-sync benchmark.
fn main() -> std::process::ExitCode {
    ipc_bench::cli::cmd::transport_parent_main("raw-sync")
}
