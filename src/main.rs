fn main() -> std::process::ExitCode {
    ipc_bench::cli::main()
}
