//! The browser app's entry point (built by trunk, see index.html).

#[cfg(target_arch = "wasm32")]
fn main() {
    sae_geometry::app::mount();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the app runs in the browser: `trunk serve` (see README.md)");
}
