fn main() -> std::process::ExitCode {
    ipc_bench::cmd::main()
}
