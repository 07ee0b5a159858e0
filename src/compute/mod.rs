//! The heavy kernels behind one interface, on two backends: the CPU ([`cpu`], [`kernels`]: pure
//! Rust, blocked, threaded natively) and the GPU ([`gpu`]: WGSL through wgpu, WebGPU in the
//! browser, Vulkan/Metal natively with the `gpu` feature). [`backend`] names the choice,
//! [`offload`] runs the scales' steps on the GPU, [`suite`] checks and times every kernel on both.

pub mod backend;
pub mod cpu;
pub mod gemm;
pub mod kernels;
pub mod par;
pub mod simd;

#[cfg(any(target_arch = "wasm32", feature = "gpu"))]
pub mod gpu;
#[cfg(any(target_arch = "wasm32", feature = "gpu"))]
pub mod offload;
#[cfg(any(target_arch = "wasm32", feature = "gpu"))]
pub mod suite;
