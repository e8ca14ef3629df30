//! The `ipc-bench` executable; everything it does is in the library (`cmd::main`).
fn main() -> std::process::ExitCode {
    ipc_bench::cmd::main()
}
