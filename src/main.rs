//! The `ocean-export` binary: everything lives in the library; this only hands over the process.

fn main() -> std::process::ExitCode {
    ocean_export::cli::main()
}
