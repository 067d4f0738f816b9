//! The `milogin` binary: parse the command line and run it (see `cli`).

fn main() -> std::process::ExitCode {
    milogin_server::cli::main()
}
