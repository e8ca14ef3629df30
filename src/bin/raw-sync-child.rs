//! Child side of the raw-sync benchmark; started by `raw-sync-parent` when
//! `RAW_SYNC_CHILD_BIN_PATH` names it.
fn main() -> std::process::ExitCode {
    ipc_bench::cli::cmd::transport_child_main()
}
