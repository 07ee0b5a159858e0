//! The native command-line tool (see `sae-geometry --help`).

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    sae_geometry::cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
