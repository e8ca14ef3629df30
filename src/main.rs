//! The `ipc-bench` executable; everything it does is in the library (`cli::cmd::main`).
fn main() -> std::process::ExitCode {
    ipc_bench::cli::cmd::main()
}
