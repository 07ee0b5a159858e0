//! sae-geometry: the three scales of *The Geometry of Concepts: Sparse Autoencoder Feature
//! Structure* (Li et al. 2024), computed from SAE decoder matrices.
//!
//! Data flows one way: bytes -> [`formats`] -> [`matrix::Matrix`] -> [`geometry`] (through
//! [`compute`]) -> serde result structs -> the app ([`app`], wasm only) or the CLI ([`cli`], native
//! only). [`model`] (native only) runs all-MiniLM-L6-v2 to get real residual streams.

pub mod analysis;
pub mod chart_view;
pub mod compute;
pub mod formats;
pub mod geometry;
pub mod link;
pub mod matrix;
pub mod neuronpedia;
pub mod protocol;
pub mod sae;

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
pub mod worker;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
#[cfg(not(target_arch = "wasm32"))]
pub mod model;
#[cfg(not(target_arch = "wasm32"))]
pub mod pipeline;

pub use matrix::Matrix;
