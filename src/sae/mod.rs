//! TopK sparse autoencoders, trained here on residual-stream activations, whose decoder rows are
//! the feature point clouds the rest of the crate analyses.
//!
//! Li et al. (2024) study the decoder matrices of Gemma Scope SAEs; we cannot download those, so
//! we train our own on the residual stream of a small real transformer (MiniLM-L6, d = 384).
//!
//! # The model (Gao et al. 2024, "Scaling and evaluating sparse autoencoders")
//!
//! ```text
//! z     = TopK(W_enc (x - b_dec) + b_enc)      k largest pre-activations kept, then ReLU
//! x_hat = W_dec^T z + b_dec                    W_dec rows have unit norm
//! ```
//!
//! Why TopK rather than a ReLU SAE with an L1 penalty: the number of active latents per token (L0)
//! is fixed by construction, so there is no L1 coefficient to tune for every layer and no
//! shrinkage of the activations towards zero; and with the AuxK loss below it trains stably with
//! few dead latents.
//!
//! # Training ([`train_topk`])
//!
//! * **Input normalisation.** The activations are multiplied by one scale `s` so that
//!   `E||s x||^2 = d` (as Gao et al.); the trained model is converted back afterwards, so every
//!   field of [`TopKSae`] and every activation it returns is in the original units
//!   ([`TopKSae::input_scale`] records `s`). Because TopK is scale-equivariant this conversion is
//!   exact: `z(x) = z_s(s x) / s`.
//! * **Initialisation.** Decoder rows are random unit vectors (seeded), the encoder is tied to the
//!   decoder (`W_enc = W_dec^T`, i.e. the same rows), `b_dec` is the geometric median of a sample
//!   of the data (Weiszfeld), `b_enc = 0`.
//! * **Loss.** Normalised MSE, `sum ||x - x_hat||^2 / sum ||x - mean(x)||^2` over the batch (the
//!   batch FVU), plus `aux_coefficient` (1/32) times the AuxK loss: the `aux_k` largest
//!   pre-activations among the *dead* latents (ReLU'd) reconstruct the residual `e = x - x_hat`,
//!   with loss `sum ||e_hat - e||^2 / sum ||e - mean(e)||^2`. The AuxK gradient reaches only the
//!   dead latents' parameters (`W_dec`, `W_enc` rows and `b_enc`; the main reconstruction and
//!   `b_dec` are held fixed in it). A latent is dead when it has not fired in the last
//!   `dead_after_tokens` training tokens (Gao et al. use 10M tokens; our datasets have ~700k
//!   tokens per layer, so the default is 100k, about 1/7 of an epoch).
//! * **Optimiser.** Adam (beta = 0.9, 0.999, eps = 6.25e-10), a constant learning rate decayed
//!   linearly to zero over the last [`LR_DECAY_FRACTION`] of the steps. After each step the
//!   decoder rows are renormalised to unit norm; before it, the component of each decoder row's
//!   gradient parallel to the row is removed (as Gao et al.). The data are reshuffled (seeded)
//!   every epoch.
//! * **Compute.** The encoder is a dense matmul (`matrixmultiply::sgemm`); everything after the
//!   TopK touches only the active latents: the decoder forward and backward use the `k` (and aux)
//!   active rows per token, and the encoder's gradient is non-zero only in those rows. Natively the
//!   work runs on `threads` scoped threads (wasm: one). Work items have fixed boundaries and are
//!   reduced in a fixed order, so a given seed gives bit-identical weights for *any* thread
//!   count.

mod kernels;
mod train;

pub use train::{train_topk, LR_DECAY_FRACTION};

use thiserror::Error;

use crate::matrix::Matrix;
use kernels::{avx2_dispatch, effective_threads, pre_activations, run_parallel, top_k_dense, BLOCK_TOKENS};

/// Hyper-parameters of [`train_topk`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TopKConfig {
    /// Number of latents (decoder rows). Default 4096.
    pub n_features: usize,
    /// Active latents per token. Default 32.
    pub k: usize,
    /// Passes over the data. Default 4.
    pub epochs: usize,
    /// Tokens per optimiser step. Default 2048.
    pub batch_size: usize,
    /// Adam learning rate (for the inputs normalised to `E||x||^2 = d`). Default 5e-4.
    pub learning_rate: f32,
    /// Latents used by the AuxK loss (Gao et al.: `d / 2`; the default 192 is that for d = 384).
    /// 0 switches the AuxK loss off. Values above `n_features` are clamped.
    pub aux_k: usize,
    /// Weight of the AuxK loss. Default 1/32.
    pub aux_coefficient: f32,
    /// A latent that has not fired in this many training tokens is dead (for AuxK). Default
    /// 100,000.
    pub dead_after_tokens: usize,
    /// Seed of the initialisation and of the shuffling.
    pub seed: u64,
    /// Worker threads; 0 = every available core. Does not change the result.
    pub threads: usize,
}

impl Default for TopKConfig {
    fn default() -> Self {
        Self {
            n_features: 4096,
            k: 32,
            epochs: 4,
            batch_size: 2048,
            learning_rate: 5e-4,
            aux_k: 192,
            aux_coefficient: 1.0 / 32.0,
            dead_after_tokens: 100_000,
            seed: 0,
            threads: 0,
        }
    }
}

/// A trained TopK SAE, in the units of the data it was trained on.
///
/// `z = TopK(W_enc (x - b_dec) + b_enc)` (ReLU on the kept values), `x_hat = W_dec^T z + b_dec`.
#[derive(Debug, Clone, PartialEq)]
pub struct TopKSae {
    /// Encoder, `n_features x d` (row `j` is latent `j`'s encoder direction).
    pub w_enc: Matrix,
    /// Encoder bias, `n_features`.
    pub b_enc: Vec<f32>,
    /// Decoder, `n_features x d`, rows of unit norm: the feature directions.
    pub w_dec: Matrix,
    /// Decoder bias (subtracted before encoding), `d`.
    pub b_dec: Vec<f32>,
    /// Active latents per token.
    pub k: usize,
    /// The factor training multiplied the data by (so that `E||x||^2 = d`); informational, the
    /// other fields are already in the original units.
    pub input_scale: f32,
}

/// Quality of an SAE on a dataset (see [`TopKSae::metrics`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SaeMetrics {
    /// Fraction of variance unexplained: `sum ||x - x_hat||^2 / sum ||x - mean||^2`.
    pub fvu: f64,
    /// Mean number of latents with a positive activation per token.
    pub mean_l0: f64,
    /// Latents that never fired (activation > 0) on the data.
    pub dead_features: usize,
    /// Rows (tokens) evaluated.
    pub tokens: usize,
}

/// Why training could not run (or did not converge). Never a panic.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SaeError {
    /// The data have no rows or no columns.
    #[error(
        "the activation matrix is {rows} x {cols}; training needs at least one token (row) and \
         one dimension (column)"
    )]
    EmptyData { rows: usize, cols: usize },

    /// The data hold a NaN or an infinite value.
    #[error(
        "the activations have a non-finite value (NaN or infinity) at row {row}, column {col} \
         (0-based); drop or fix that token before training"
    )]
    NonFinite { row: usize, col: usize },

    /// All rows are the same, so there is no variance to explain.
    #[error("all {rows} activation rows are identical (zero variance): there is nothing to learn")]
    ConstantData { rows: usize },

    /// A hyper-parameter is out of range.
    #[error("invalid SAE configuration: {reason}")]
    InvalidConfig { reason: String },

    /// The loss became NaN or infinite.
    #[error(
        "training diverged (the loss became non-finite) at epoch {epoch}, step {step}; lower the \
         learning rate"
    )]
    Diverged { epoch: usize, step: usize },
}

impl SaeError {
    /// A stable tag for the variant: `"empty-data"`, `"non-finite"`, `"constant-data"`,
    /// `"invalid-config"` or `"diverged"`.
    pub fn kind(&self) -> &'static str {
        match self {
            SaeError::EmptyData { .. } => "empty-data",
            SaeError::NonFinite { .. } => "non-finite",
            SaeError::ConstantData { .. } => "constant-data",
            SaeError::InvalidConfig { .. } => "invalid-config",
            SaeError::Diverged { .. } => "diverged",
        }
    }
}

/// Per-thread scratch of the batched encoder.
struct EncodeScratch {
    xc: Vec<f32>,
    pre: Vec<f32>,
    idx: Vec<u32>,
    val: Vec<f32>,
}

impl TopKSae {
    /// Dimension of the inputs (`d`).
    pub fn dim(&self) -> usize {
        self.w_dec.cols()
    }

    /// Number of latents.
    pub fn n_features(&self) -> usize {
        self.w_dec.rows()
    }

    fn scratch(&self, rows: usize) -> EncodeScratch {
        EncodeScratch {
            xc: vec![0.0; rows * self.dim()],
            pre: vec![0.0; rows * self.n_features()],
            idx: Vec::with_capacity(self.k),
            val: Vec::with_capacity(self.k),
        }
    }

    /// Encodes `rows` consecutive tokens of `x` (row-major) and calls `sink(row, active)` with each
    /// token's active latents, sorted by decreasing activation (ties: lower index first).
    #[inline(always)]
    fn encode_rows(
        &self,
        x: &[f32],
        rows: usize,
        s: &mut EncodeScratch,
        mut sink: impl FnMut(usize, &[(u32, f32)]),
    ) {
        let (d, f) = (self.dim(), self.n_features());
        for (dst, src) in s.xc.chunks_exact_mut(d).zip(x.chunks_exact(d)).take(rows) {
            for ((o, &v), b) in dst.iter_mut().zip(src).zip(&self.b_dec) {
                *o = v - b;
            }
        }
        pre_activations(&s.xc, rows, d, self.w_enc.as_slice(), d, &self.b_enc, &mut s.pre);
        let mut active: Vec<(u32, f32)> = Vec::with_capacity(self.k);
        for r in 0..rows {
            top_k_dense(&s.pre[r * f..(r + 1) * f], self.k, &mut s.idx, &mut s.val);
            active.clear();
            active.extend(
                s.idx
                    .iter()
                    .zip(&s.val)
                    .filter(|p| *p.1 > 0.0)
                    .map(|(&i, &v)| (i, v)),
            );
            active.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            sink(r, &active);
        }
    }

    /// The active latents of one token: `(feature, activation)` for every kept latent with a
    /// positive activation (at most `k`), by decreasing activation. Activations are in the units of
    /// the data (the coefficient of the unit-norm decoder row).
    ///
    /// # Panics
    /// If `x.len() != self.dim()`.
    pub fn encode_sparse(&self, x: &[f32]) -> Vec<(u32, f32)> {
        assert_eq!(
            x.len(),
            self.dim(),
            "encode_sparse: input has the wrong dimension"
        );
        let mut s = self.scratch(1);
        let mut out = Vec::new();
        self.encode_rows(x, 1, &mut s, |_, a| out = a.to_vec());
        out
    }

    /// [`TopKSae::encode_sparse`] for every row of `data` (multithreaded natively).
    ///
    /// # Panics
    /// If `data.cols() != self.dim()`.
    pub fn encode_batch(&self, data: &Matrix) -> Vec<Vec<(u32, f32)>> {
        let d = self.dim();
        assert_eq!(data.cols(), d, "encode_batch: data have the wrong dimension");
        let mut out: Vec<Vec<(u32, f32)>> = vec![Vec::new(); data.rows()];
        if d == 0 {
            return out;
        }
        type Item<'a> = (&'a [f32], &'a mut [Vec<(u32, f32)>]);
        let items: Vec<Item> = data
            .as_slice()
            .chunks(BLOCK_TOKENS * d)
            .zip(out.chunks_mut(BLOCK_TOKENS))
            .collect();
        run_parallel(
            items,
            effective_threads(0),
            || self.scratch(BLOCK_TOKENS),
            |s, (x, dst)| encode_block(self, x, s, dst),
        );
        out
    }

    /// `b_dec + sum_j a_j W_dec[j]` for sparse activations `(j, a_j)`.
    ///
    /// # Panics
    /// If a feature index is out of range.
    pub fn decode_sparse(&self, active: &[(u32, f32)]) -> Vec<f32> {
        let mut out = self.b_dec.clone();
        for &(j, a) in active {
            kernels::axpy(&mut out, a, self.w_dec.row(j as usize));
        }
        out
    }

    /// `x_hat`: the reconstruction of one token.
    ///
    /// # Panics
    /// If `x.len() != self.dim()`.
    pub fn reconstruct(&self, x: &[f32]) -> Vec<f32> {
        self.decode_sparse(&self.encode_sparse(x))
    }

    /// FVU, mean L0 and never-firing latents of the SAE on `data` (multithreaded natively;
    /// deterministic). An empty matrix gives zero tokens and `fvu = NaN`; so does one with zero
    /// variance.
    ///
    /// # Panics
    /// If `data.cols() != self.dim()`.
    pub fn metrics(&self, data: &Matrix) -> SaeMetrics {
        let (n, d, f) = (data.rows(), self.dim(), self.n_features());
        assert_eq!(data.cols(), d, "metrics: data have the wrong dimension");
        if n == 0 || d == 0 {
            return SaeMetrics {
                fvu: f64::NAN,
                mean_l0: if n == 0 { f64::NAN } else { 0.0 },
                dead_features: f,
                tokens: n,
            };
        }
        // Pass 1: the mean, per block then in block order.
        let blocks: Vec<&[f32]> = data.as_slice().chunks(BLOCK_TOKENS * d).collect();
        let mut sums = vec![vec![0f64; d]; blocks.len()];
        run_parallel(
            blocks.iter().zip(sums.iter_mut()).collect(),
            effective_threads(0),
            || (),
            |_, (x, s)| {
                for row in x.chunks_exact(d) {
                    for (a, &v) in s.iter_mut().zip(row) {
                        *a += v as f64;
                    }
                }
            },
        );
        let mut mean = vec![0f64; d];
        for s in &sums {
            for (m, v) in mean.iter_mut().zip(s) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);

        // Pass 2: encode, decode, accumulate per block.
        let mut accs: Vec<MetricsAcc> = (0..blocks.len())
            .map(|_| MetricsAcc {
                sse: 0.0,
                sst: 0.0,
                l0: 0,
                fired: vec![false; f],
            })
            .collect();
        run_parallel(
            blocks.iter().zip(accs.iter_mut()).collect(),
            effective_threads(0),
            || self.scratch(BLOCK_TOKENS),
            |s, (x, acc)| metrics_block(self, x, s, &mean, acc),
        );
        let (mut sse, mut sst, mut l0) = (0f64, 0f64, 0u64);
        let mut fired = vec![false; f];
        for a in &accs {
            sse += a.sse;
            sst += a.sst;
            l0 += a.l0;
            for (o, &b) in fired.iter_mut().zip(&a.fired) {
                *o |= b;
            }
        }
        SaeMetrics {
            fvu: if sst > 0.0 { sse / sst } else { f64::NAN },
            mean_l0: l0 as f64 / n as f64,
            dead_features: fired.iter().filter(|&&b| !b).count(),
            tokens: n,
        }
    }
}

/// Partial sums of [`TopKSae::metrics`] over one block of tokens.
struct MetricsAcc {
    sse: f64,
    sst: f64,
    l0: u64,
    fired: Vec<bool>,
}

avx2_dispatch!(fn encode_block = encode_block_body; (
    sae: &TopKSae,
    x: &[f32],
    s: &mut EncodeScratch,
    dst: &mut [Vec<(u32, f32)>],
));

#[inline(always)]
fn encode_block_body(sae: &TopKSae, x: &[f32], s: &mut EncodeScratch, dst: &mut [Vec<(u32, f32)>]) {
    sae.encode_rows(x, dst.len(), s, |r, a| dst[r] = a.to_vec());
}

avx2_dispatch!(fn metrics_block = metrics_block_body; (
    sae: &TopKSae,
    x: &[f32],
    s: &mut EncodeScratch,
    mean: &[f64],
    acc: &mut MetricsAcc,
));

#[inline(always)]
fn metrics_block_body(sae: &TopKSae, x: &[f32], s: &mut EncodeScratch, mean: &[f64], acc: &mut MetricsAcc) {
    let d = sae.dim();
    let mut x_hat = vec![0f32; d];
    sae.encode_rows(x, x.len() / d, s, |r, active| {
        let row = &x[r * d..(r + 1) * d];
        x_hat.copy_from_slice(&sae.b_dec);
        for &(j, a) in active {
            kernels::axpy(&mut x_hat, a, sae.w_dec.row(j as usize));
        }
        for ((&v, &h), &m) in row.iter().zip(&x_hat).zip(mean) {
            let e = (v - h) as f64;
            acc.sse += e * e;
            let c = v as f64 - m;
            acc.sst += c * c;
        }
        acc.l0 += active.len() as u64;
        for &(j, _) in active {
            acc.fired[j as usize] = true;
        }
    });
}

#[cfg(test)]
mod tests;
