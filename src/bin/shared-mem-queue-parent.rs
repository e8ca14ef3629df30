//! Parent side of the shared-mem-queue benchmark.
fn main() -> std::process::ExitCode {
    ipc_bench::cli::cmd::transport_parent_main("shared-mem-queue")
}
