//! Child side of the ipc-channel benchmark; started by `ipcc-parent` when
//! `IPCC_CHILD_BIN_PATH` names it.
fn main() -> std::process::ExitCode {
    ipc_bench::cli::cmd::transport_child_main()
}
