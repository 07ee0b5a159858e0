//! The leptos app (wasm only).
