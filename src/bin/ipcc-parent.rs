//! Parent side of the ipc-channel benchmark (the seed's `ipcc` recipe).
fn main() -> std::process::ExitCode {
    ipc_bench::cli::cmd::transport_parent_main("ipcc")
}
