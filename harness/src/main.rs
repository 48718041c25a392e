//! The `harness` binary: all work is in the library; see `harness --help`.

fn main() {
    std::process::exit(harness::cli::main());
}
