//! Child side of the shared-mem-queue benchmark; started by `shared-mem-queue-parent` when
//! `SHARED_MEM_QUEUE_CHILD_BIN_PATH` names it.
fn main() -> std::process::ExitCode {
    ipc_bench::cli::cmd::transport_child_main()
}
