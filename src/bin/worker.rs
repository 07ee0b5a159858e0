//! The compute worker's entry point (trunk data-type="worker", see index.html).

#[cfg(target_arch = "wasm32")]
fn main() {
    sae_geometry::worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the compute worker runs in the browser, started by the app");
}
