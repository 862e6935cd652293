fn main() -> std::process::ExitCode {
    qfleet::cli::main()
}
