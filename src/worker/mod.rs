//! The compute worker (wasm only).
