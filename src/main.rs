//! The `devloop` binary: parse, run, turn the outcome into an exit code.

fn main() -> std::process::ExitCode {
    devloop::main()
}
