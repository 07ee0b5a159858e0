//! [`train_topk`]: the training loop of the TopK SAE (see the module docs of [`crate::sae`]).

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::kernels::{
    avx2_dispatch, axpy, dot, effective_threads, pre_activations, run_parallel, top_k, top_k_dense,
    BLOCK_TOKENS,
};
use super::{SaeError, TopKConfig, TopKSae};
use crate::matrix::Matrix;

/// Fraction of the optimiser steps, at the end, over which the learning rate decays linearly to 0.
pub const LR_DECAY_FRACTION: f64 = 0.2;

const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const ADAM_EPS: f32 = 6.25e-10;

/// Latents per work item of the gradient/Adam phase.
const LATENT_BLOCK: usize = 64;

/// Rows sampled for the geometric median that initialises `b_dec`.
const MEDIAN_SAMPLE: usize = 4096;
const MEDIAN_ITERS: usize = 64;

/// Flag in [`Entry::token`] marking an AuxK entry.
const AUX_FLAG: u32 = 1 << 31;

/// Work item of the gradient/Adam phase: latent block index, its rows of the parameters and of
/// Adam's two moments, and its share of b_dec's gradient.
type LatentItem<'a> = (
    usize,
    (&'a mut [f32], (&'a mut [f32], &'a mut [f32])),
    &'a mut [f64],
);

/// One (token, latent) pair of the batch, filed under its latent.
#[derive(Clone, Copy, Default)]
struct Entry {
    /// Position in the batch, with [`AUX_FLAG`] for AuxK entries.
    token: u32,
    /// The activation (decoder gradient weight).
    z: f32,
    /// dLoss/dz (encoder gradient weight).
    g: f32,
}

/// Per-token buffers of one block of [`BLOCK_TOKENS`] batch tokens, and the block's partial sums.
struct Block {
    n: usize,
    /// Normalised tokens.
    x: Vec<f32>,
    /// `x - b_dec`.
    xc: Vec<f32>,
    main_idx: Vec<u32>,
    main_val: Vec<f32>,
    main_g: Vec<f32>,
    main_n: Vec<u32>,
    aux_idx: Vec<u32>,
    aux_val: Vec<f32>,
    aux_g: Vec<f32>,
    aux_n: Vec<u32>,
    /// Residual `x - x_hat`, then dL/dx_hat.
    delta: Vec<f32>,
    /// AuxK reconstruction, then dL_aux/de_hat.
    delta_aux: Vec<f32>,
    sum_x: Vec<f64>,
    sum_e: Vec<f64>,
    sq_x: f64,
    sq_e: f64,
    sq_aux: f64,
    grad_b_dec: Vec<f64>,
}

impl Block {
    fn new(d: usize, k: usize, ka: usize) -> Self {
        let t = BLOCK_TOKENS;
        Self {
            n: 0,
            x: vec![0.0; t * d],
            xc: vec![0.0; t * d],
            main_idx: vec![0; t * k],
            main_val: vec![0.0; t * k],
            main_g: vec![0.0; t * k],
            main_n: vec![0; t],
            aux_idx: vec![0; t * ka],
            aux_val: vec![0.0; t * ka],
            aux_g: vec![0.0; t * ka],
            aux_n: vec![0; t],
            delta: vec![0.0; t * d],
            delta_aux: vec![0.0; t * d],
            sum_x: vec![0.0; d],
            sum_e: vec![0.0; d],
            sq_x: 0.0,
            sq_e: 0.0,
            sq_aux: 0.0,
            grad_b_dec: vec![0.0; d],
        }
    }
}

/// Parameters in training layout: row `j` of `params` is `[W_dec[j] (d) | W_enc[j] (d) | b_enc[j]]`
/// (one row per latent, so that the gradient/Adam phase owns whole rows), in normalised units.
struct State {
    d: usize,
    f: usize,
    k: usize,
    ka: usize,
    params: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
    b_dec: Vec<f32>,
    m_b_dec: Vec<f32>,
    v_b_dec: Vec<f32>,
    /// Training tokens since each latent last fired.
    since_fired: Vec<u64>,
    adam_t: i32,
}

impl State {
    fn stride(&self) -> usize {
        2 * self.d + 1
    }
}

fn validate(data: &Matrix, c: &TopKConfig) -> Result<(), SaeError> {
    let bad = |reason: String| Err(SaeError::InvalidConfig { reason });
    if data.rows() == 0 || data.cols() == 0 {
        return Err(SaeError::EmptyData {
            rows: data.rows(),
            cols: data.cols(),
        });
    }
    if let Some((row, col)) = data.first_non_finite() {
        return Err(SaeError::NonFinite { row, col });
    }
    if c.n_features == 0 {
        return bad("n_features is 0; an SAE needs at least one latent".into());
    }
    if c.n_features >= AUX_FLAG as usize {
        return bad(format!("n_features = {} is too large", c.n_features));
    }
    if c.k == 0 || c.k > c.n_features {
        return bad(format!(
            "k = {} must be between 1 and n_features = {}",
            c.k, c.n_features
        ));
    }
    if c.epochs == 0 {
        return bad("epochs is 0; train for at least one epoch".into());
    }
    if c.batch_size == 0 || c.batch_size >= AUX_FLAG as usize {
        return bad(format!(
            "batch_size = {} must be at least 1 (and below 2^31)",
            c.batch_size
        ));
    }
    if !(c.learning_rate.is_finite() && c.learning_rate > 0.0) {
        return bad(format!(
            "learning_rate = {} must be positive and finite",
            c.learning_rate
        ));
    }
    if !(c.aux_coefficient.is_finite() && c.aux_coefficient >= 0.0) {
        return bad(format!(
            "aux_coefficient = {} must be non-negative and finite",
            c.aux_coefficient
        ));
    }
    Ok(())
}

/// Geometric median (Weiszfeld iterations from the mean) of the rows of `x` (`rows x d`).
fn geometric_median(x: &[f32], d: usize) -> Vec<f32> {
    let rows = x.len() / d;
    let mut med = vec![0f64; d];
    for row in x.chunks_exact(d) {
        for (m, &v) in med.iter_mut().zip(row) {
            *m += v as f64 / rows as f64;
        }
    }
    let mut next = vec![0f64; d];
    for _ in 0..MEDIAN_ITERS {
        next.iter_mut().for_each(|v| *v = 0.0);
        let mut wsum = 0f64;
        for row in x.chunks_exact(d) {
            let dist = row
                .iter()
                .zip(&med)
                .map(|(&v, m)| (v as f64 - m).powi(2))
                .sum::<f64>()
                .sqrt();
            let w = 1.0 / dist.max(1e-8);
            wsum += w;
            for (o, &v) in next.iter_mut().zip(row) {
                *o += w * v as f64;
            }
        }
        let mut shift = 0f64;
        for (m, o) in med.iter_mut().zip(&next) {
            let v = o / wsum;
            shift += (v - *m).powi(2);
            *m = v;
        }
        if shift.sqrt() < 1e-7 {
            break;
        }
    }
    med.into_iter().map(|v| v as f32).collect()
}

/// Trains a TopK SAE on the rows of `data` (tokens x d). `progress(message, fraction)` is called
/// as training goes, with `fraction` in `0..=1` reaching `1.0` at the end. Deterministic: the same
/// data, config and seed give bit-identical weights, whatever `config.threads`.
///
/// Errors (never panics): empty data, non-finite values, all rows identical, and out-of-range
/// hyper-parameters ([`SaeError::InvalidConfig`]: `n_features = 0`, `k = 0`, `k > n_features`,
/// `epochs = 0`, `batch_size = 0`, a non-positive learning rate, a negative aux coefficient);
/// [`SaeError::Diverged`] if the loss becomes non-finite.
pub fn train_topk(
    data: &Matrix,
    config: &TopKConfig,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<TopKSae, SaeError> {
    validate(data, config)?;
    let (n, d) = (data.rows(), data.cols());
    let (f, k) = (config.n_features, config.k);
    let ka = if config.aux_coefficient > 0.0 {
        config.aux_k.min(f)
    } else {
        0
    };
    let threads = effective_threads(config.threads);
    progress("scanning the data", 0.0);

    // Input scale: E||x||^2 = d after scaling. Also: is there any variance at all?
    let (sq, constant) = {
        let first = data.row(0);
        let mut sq = 0f64;
        let mut constant = true;
        for i in 0..n {
            let row = data.row(i);
            sq += row.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>();
            constant &= row == first;
        }
        (sq, constant)
    };
    if constant {
        return Err(SaeError::ConstantData { rows: n });
    }
    let scale = ((d as f64) / (sq / n as f64)).sqrt() as f32;
    if !(scale.is_finite() && scale > 0.0) {
        return Err(SaeError::InvalidConfig {
            reason: format!(
                "the data's scale is out of f32 range (mean squared norm {})",
                sq / n as f64
            ),
        });
    }

    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);

    // b_dec: geometric median of a sample.
    progress("initialising", 0.0);
    let b_dec = {
        let mut rows: Vec<usize> = (0..n).collect();
        rows.shuffle(&mut rng);
        rows.truncate(MEDIAN_SAMPLE);
        rows.sort_unstable();
        let mut sample = Vec::with_capacity(rows.len() * d);
        for &i in &rows {
            sample.extend(data.row(i).iter().map(|&v| v * scale));
        }
        geometric_median(&sample, d)
    };

    // Decoder rows: random unit vectors; encoder rows: the same (tied init); b_enc = 0.
    let stride = 2 * d + 1;
    let mut params = vec![0f32; f * stride];
    for row in params.chunks_exact_mut(stride) {
        let mut norm = 0f64;
        for v in row[..d].iter_mut() {
            *v = StandardNormal.sample(&mut rng);
            norm += (*v as f64).powi(2);
        }
        let inv = 1.0 / norm.sqrt().max(1e-12);
        for v in row[..d].iter_mut() {
            *v = (*v as f64 * inv) as f32;
        }
        let (dec, rest) = row.split_at_mut(d);
        rest[..d].copy_from_slice(dec);
    }

    let mut st = State {
        d,
        f,
        k,
        ka,
        m: vec![0.0; params.len()],
        v: vec![0.0; params.len()],
        params,
        b_dec,
        m_b_dec: vec![0.0; d],
        v_b_dec: vec![0.0; d],
        since_fired: vec![0; f],
        adam_t: 0,
    };

    let batch = config.batch_size.min(n);
    let steps_per_epoch = n.div_ceil(batch);
    let total_steps = config.epochs * steps_per_epoch;
    let decay_steps = ((total_steps as f64) * LR_DECAY_FRACTION).round() as usize;
    let mut blocks: Vec<Block> = (0..batch.div_ceil(BLOCK_TOKENS))
        .map(|_| Block::new(d, k, ka))
        .collect();
    let mut entries: Vec<Entry> = Vec::new();
    let mut offsets = vec![0usize; f + 1];
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut step_no = 0usize;
    for epoch in 0..config.epochs {
        order.shuffle(&mut rng);
        let (mut sum_loss, mut sum_aux, mut count) = (0f64, 0f64, 0usize);
        for s in 0..steps_per_epoch {
            let tokens = &order[s * batch..((s + 1) * batch).min(n)];
            let remaining = total_steps - step_no;
            let lr = if remaining <= decay_steps {
                config.learning_rate * (remaining as f32 / (decay_steps as f32 + 1.0))
            } else {
                config.learning_rate
            };
            let (loss, aux) = step(
                &mut st,
                data,
                scale,
                tokens,
                &mut blocks,
                &mut entries,
                &mut offsets,
                lr,
                config,
                threads,
            );
            if !(loss.is_finite() && aux.is_finite()) {
                return Err(SaeError::Diverged {
                    epoch: epoch + 1,
                    step: s + 1,
                });
            }
            step_no += 1;
            sum_loss += loss;
            sum_aux += aux;
            count += 1;
            let dead = st
                .since_fired
                .iter()
                .filter(|&&t| t >= config.dead_after_tokens as u64)
                .count();
            let msg = format!(
                "epoch {}/{} step {}/{}: batch FVU {:.4} (epoch mean {:.4}), AuxK {:.3}, dead {}",
                epoch + 1,
                config.epochs,
                s + 1,
                steps_per_epoch,
                loss,
                sum_loss / count as f64,
                sum_aux / count as f64,
                dead
            );
            let frac = step_no as f64 / total_steps as f64;
            progress(&msg, if step_no == total_steps { 1.0 } else { frac });
        }
    }

    // Back to the original units: x = x_n / s, so b_dec / s, b_enc / s; the weights are unchanged.
    let inv = 1.0 / scale;
    let mut w_dec = Vec::with_capacity(f * d);
    let mut w_enc = Vec::with_capacity(f * d);
    let mut b_enc = Vec::with_capacity(f);
    for row in st.params.chunks_exact(stride) {
        w_dec.extend_from_slice(&row[..d]);
        w_enc.extend_from_slice(&row[d..2 * d]);
        b_enc.push(row[2 * d] * inv);
    }
    Ok(TopKSae {
        w_enc: Matrix::new(f, d, w_enc).expect("shape"),
        b_enc,
        w_dec: Matrix::new(f, d, w_dec).expect("shape"),
        b_dec: st.b_dec.iter().map(|&v| v * inv).collect(),
        k,
        input_scale: scale,
    })
}

/// Read-only inputs shared by the work items of one step.
struct Ctx<'a> {
    d: usize,
    f: usize,
    k: usize,
    ka: usize,
    stride: usize,
    data: &'a Matrix,
    scale: f32,
    tokens: &'a [u32],
    params: &'a [f32],
    b_dec: &'a [f32],
    b_enc: &'a [f32],
    dead: &'a [u32],
}

/// Per-thread scratch of phase 1: pre-activations of a block, and the top-k heap.
type Phase1Scratch = (Vec<f32>, Vec<u32>, Vec<f32>);

/// One optimiser step on the batch `tokens`. Returns (main loss = batch FVU, AuxK loss).
#[allow(clippy::too_many_arguments)]
fn step(
    st: &mut State,
    data: &Matrix,
    scale: f32,
    tokens: &[u32],
    blocks: &mut [Block],
    entries: &mut Vec<Entry>,
    offsets: &mut [usize],
    lr: f32,
    config: &TopKConfig,
    threads: usize,
) -> (f64, f64) {
    let (d, f, k, ka, stride) = (st.d, st.f, st.k, st.ka, st.stride());
    let bn = tokens.len();
    let nblocks = bn.div_ceil(BLOCK_TOKENS);
    let blocks = &mut blocks[..nblocks];
    let dead: Vec<u32> = if ka > 0 {
        (0..f as u32)
            .filter(|&j| st.since_fired[j as usize] >= config.dead_after_tokens as u64)
            .collect()
    } else {
        Vec::new()
    };
    let b_enc: Vec<f32> = st.params.chunks_exact(stride).map(|r| r[2 * d]).collect();
    let ctx = Ctx {
        d,
        f,
        k,
        ka,
        stride,
        data,
        scale,
        tokens,
        params: &st.params,
        b_dec: &st.b_dec,
        b_enc: &b_enc,
        dead: &dead,
    };

    // Phase 1 (per token block): normalise, encode, TopK, AuxK selection, decode, residuals.
    run_parallel(
        blocks.iter_mut().enumerate().collect(),
        threads,
        || (vec![0f32; BLOCK_TOKENS * f], Vec::new(), Vec::new()),
        |scratch: &mut Phase1Scratch, (b, blk)| phase1_dispatch(&ctx, b, blk, scratch),
    );

    // Batch reductions, in block order.
    let mut sum_x = vec![0f64; d];
    let mut sum_e = vec![0f64; d];
    let (mut sq_x, mut sq_e, mut sq_aux) = (0f64, 0f64, 0f64);
    for blk in blocks.iter() {
        for p in 0..d {
            sum_x[p] += blk.sum_x[p];
            sum_e[p] += blk.sum_e[p];
        }
        sq_x += blk.sq_x;
        sq_e += blk.sq_e;
        sq_aux += blk.sq_aux;
    }
    let nb = bn as f64;
    // Floors keep a degenerate batch (all tokens equal, or a perfect reconstruction) finite.
    let floor = 1e-6 * nb * d as f64;
    let var_x = (sq_x - sum_x.iter().map(|s| s * s).sum::<f64>() / nb).max(floor);
    let var_e = (sq_e - sum_e.iter().map(|s| s * s).sum::<f64>() / nb).max(floor);
    let loss = sq_e / var_x;
    let any_aux = blocks.iter().any(|b| b.aux_n[..b.n].iter().any(|&c| c > 0));
    let aux_loss = if any_aux { sq_aux / var_e } else { 0.0 };

    // Phase 2 (per token block): dL/dx_hat, dL/dz of the active latents, dL/db_dec via x_hat.
    let cm = (2.0 / var_x) as f32;
    let ca = (config.aux_coefficient as f64 * 2.0 / var_e) as f32;
    run_parallel(
        blocks.iter_mut().collect(),
        threads,
        || (),
        |_, blk: &mut Block| phase2_dispatch(&ctx, blk, cm, ca),
    );

    // File the (token, latent) pairs under their latent, in token order (a counting sort).
    offsets.iter_mut().for_each(|v| *v = 0);
    // Fired in this batch = has a main entry.
    let mut main_count = vec![0u32; f];
    for blk in blocks.iter() {
        for i in 0..blk.n {
            for &j in &blk.main_idx[i * k..i * k + blk.main_n[i] as usize] {
                offsets[j as usize + 1] += 1;
                main_count[j as usize] += 1;
            }
            for &j in &blk.aux_idx[i * ka..i * ka + blk.aux_n[i] as usize] {
                offsets[j as usize + 1] += 1;
            }
        }
    }
    for j in 0..f {
        offsets[j + 1] += offsets[j];
    }
    entries.resize(offsets[f], Entry::default());
    {
        let mut cursor: Vec<usize> = offsets[..f].to_vec();
        for (b, blk) in blocks.iter().enumerate() {
            for i in 0..blk.n {
                let t = (b * BLOCK_TOKENS + i) as u32;
                for c in 0..blk.main_n[i] as usize {
                    let j = blk.main_idx[i * k + c] as usize;
                    entries[cursor[j]] = Entry {
                        token: t,
                        z: blk.main_val[i * k + c],
                        g: blk.main_g[i * k + c],
                    };
                    cursor[j] += 1;
                }
                for c in 0..blk.aux_n[i] as usize {
                    let j = blk.aux_idx[i * ka + c] as usize;
                    entries[cursor[j]] = Entry {
                        token: t | AUX_FLAG,
                        z: blk.aux_val[i * ka + c],
                        g: blk.aux_g[i * ka + c],
                    };
                    cursor[j] += 1;
                }
            }
        }
    }

    // Phase 3 (per latent block): gradients of W_dec, W_enc, b_enc rows; projection; Adam;
    // renormalisation of the decoder rows.
    st.adam_t += 1;
    let bc1 = 1.0 - BETA1.powi(st.adam_t);
    let bc2 = 1.0 - BETA2.powi(st.adam_t);
    let adam = Adam {
        step_size: lr * bc2.sqrt() / bc1,
        eps: ADAM_EPS * bc2.sqrt(),
    };
    let mut b_dec_partials = vec![0f64; f.div_ceil(LATENT_BLOCK) * d];
    {
        let blocks_ro: &[Block] = blocks;
        let (entries, offsets) = (&entries[..], &offsets[..]);
        let items: Vec<LatentItem> = st
            .params
            .chunks_mut(LATENT_BLOCK * stride)
            .zip(
                st.m.chunks_mut(LATENT_BLOCK * stride)
                    .zip(st.v.chunks_mut(LATENT_BLOCK * stride)),
            )
            .zip(b_dec_partials.chunks_mut(d))
            .enumerate()
            .map(|(lb, (pmv, part))| (lb, pmv, part))
            .collect();
        run_parallel(
            items,
            threads,
            || vec![0f32; stride],
            |grad: &mut Vec<f32>, item| phase3_dispatch(d, blocks_ro, entries, offsets, &adam, grad, item),
        );
    }

    // b_dec.
    let mut g_b_dec = vec![0f64; d];
    let parts = blocks
        .iter()
        .map(|b| &b.grad_b_dec[..])
        .chain(b_dec_partials.chunks_exact(d));
    for part in parts {
        for (o, &v) in g_b_dec.iter_mut().zip(part) {
            *o += v;
        }
    }
    for (p, &g) in g_b_dec.iter().enumerate() {
        let g = g as f32;
        st.m_b_dec[p] = BETA1 * st.m_b_dec[p] + (1.0 - BETA1) * g;
        st.v_b_dec[p] = BETA2 * st.v_b_dec[p] + (1.0 - BETA2) * g * g;
        st.b_dec[p] -= adam.step_size * st.m_b_dec[p] / (st.v_b_dec[p].sqrt() + adam.eps);
    }

    // Dead-latent bookkeeping.
    for (s, &c) in st.since_fired.iter_mut().zip(&main_count) {
        *s = if c > 0 { 0 } else { *s + bn as u64 };
    }
    (loss, aux_loss)
}

avx2_dispatch!(fn phase1_dispatch = phase1; (ctx: &Ctx, b: usize, blk: &mut Block, scratch: &mut Phase1Scratch));
avx2_dispatch!(fn phase2_dispatch = phase2; (ctx: &Ctx, blk: &mut Block, cm: f32, ca: f32));
avx2_dispatch!(fn phase3_dispatch = phase3; (
    d: usize,
    blocks: &[Block],
    entries: &[Entry],
    offsets: &[usize],
    adam: &Adam,
    grad: &mut [f32],
    item: LatentItem,
));

/// Bias-corrected Adam step size and epsilon of the current step.
struct Adam {
    step_size: f32,
    eps: f32,
}

/// Phase 1 on token block `b`: gather and normalise the tokens, encode (dense matmul), select the
/// TopK and AuxK latents, decode, and keep the residual and the AuxK reconstruction.
#[inline(always)]
fn phase1(ctx: &Ctx, b: usize, blk: &mut Block, scratch: &mut Phase1Scratch) {
    let (pre, idx, val) = scratch;
    let (d, f, k, ka, stride) = (ctx.d, ctx.f, ctx.k, ctx.ka, ctx.stride);
    let (params, b_dec) = (ctx.params, ctx.b_dec);
    let first = b * BLOCK_TOKENS;
    let toks = &ctx.tokens[first..(first + BLOCK_TOKENS).min(ctx.tokens.len())];
    blk.n = toks.len();
    for (i, &t) in toks.iter().enumerate() {
        let src = ctx.data.row(t as usize);
        let x = &mut blk.x[i * d..(i + 1) * d];
        let xc = &mut blk.xc[i * d..(i + 1) * d];
        for p in 0..d {
            x[p] = src[p] * ctx.scale;
            xc[p] = x[p] - b_dec[p];
        }
    }
    pre_activations(&blk.xc, blk.n, d, &params[d..], stride, ctx.b_enc, pre);
    blk.sum_x.iter_mut().for_each(|v| *v = 0.0);
    blk.sum_e.iter_mut().for_each(|v| *v = 0.0);
    blk.sq_x = 0.0;
    blk.sq_e = 0.0;
    blk.sq_aux = 0.0;
    for i in 0..blk.n {
        let row = &pre[i * f..(i + 1) * f];
        // Main TopK (positive values only).
        top_k_dense(row, k, idx, val);
        let mut c = 0;
        for (&j, &z) in idx.iter().zip(val.iter()) {
            if z > 0.0 {
                blk.main_idx[i * k + c] = j;
                blk.main_val[i * k + c] = z;
                c += 1;
            }
        }
        blk.main_n[i] = c as u32;
        // AuxK among the dead latents.
        let mut ca = 0;
        if ka > 0 && !ctx.dead.is_empty() {
            top_k(ctx.dead.iter().map(|&j| (j, row[j as usize])), ka, idx, val);
            for (&j, &z) in idx.iter().zip(val.iter()) {
                if z > 0.0 {
                    blk.aux_idx[i * ka + ca] = j;
                    blk.aux_val[i * ka + ca] = z;
                    ca += 1;
                }
            }
        }
        blk.aux_n[i] = ca as u32;
        // Residual e = x - x_hat (kept in delta) and AuxK reconstruction.
        let e = &mut blk.delta[i * d..(i + 1) * d];
        let x = &blk.x[i * d..(i + 1) * d];
        for p in 0..d {
            e[p] = x[p] - b_dec[p];
        }
        for c in 0..blk.main_n[i] as usize {
            let j = blk.main_idx[i * k + c] as usize;
            axpy(e, -blk.main_val[i * k + c], &params[j * stride..j * stride + d]);
        }
        let ar = &mut blk.delta_aux[i * d..(i + 1) * d];
        ar.iter_mut().for_each(|v| *v = 0.0);
        for c in 0..ca {
            let j = blk.aux_idx[i * ka + c] as usize;
            axpy(ar, blk.aux_val[i * ka + c], &params[j * stride..j * stride + d]);
        }
        blk.sq_x += dot(x, x) as f64;
        blk.sq_e += dot(e, e) as f64;
        for p in 0..d {
            blk.sum_x[p] += x[p] as f64;
            blk.sum_e[p] += e[p] as f64;
        }
        if ca > 0 {
            let mut s = 0f32;
            for (a, v) in ar.iter().zip(e.iter()) {
                s += (a - v) * (a - v);
            }
            blk.sq_aux += s as f64;
        }
    }
}

/// Phase 2 on one token block: turn the residuals into dL/dx_hat (`cm` = 2 / batch variance) and
/// dL_aux/de_hat (`ca` = aux coefficient x 2 / residual variance), the gradients dL/dz of the
/// active latents, and this block's part of dL/db_dec through x_hat.
#[inline(always)]
fn phase2(ctx: &Ctx, blk: &mut Block, cm: f32, ca: f32) {
    let (d, k, ka, stride, params) = (ctx.d, ctx.k, ctx.ka, ctx.stride, ctx.params);
    blk.grad_b_dec.iter_mut().for_each(|v| *v = 0.0);
    for i in 0..blk.n {
        let delta = &mut blk.delta[i * d..(i + 1) * d];
        let delta_aux = &mut blk.delta_aux[i * d..(i + 1) * d];
        for (dl, da) in delta.iter_mut().zip(delta_aux.iter_mut()) {
            let e = *dl;
            *da = ca * (*da - e);
            *dl = -cm * e;
        }
        for c in 0..blk.main_n[i] as usize {
            let j = blk.main_idx[i * k + c] as usize;
            blk.main_g[i * k + c] = dot(&params[j * stride..j * stride + d], delta);
        }
        for c in 0..blk.aux_n[i] as usize {
            let j = blk.aux_idx[i * ka + c] as usize;
            blk.aux_g[i * ka + c] = dot(&params[j * stride..j * stride + d], delta_aux);
        }
        // b_dec, directly in x_hat (the path through the encoder input is added per latent in
        // phase 3).
        for (o, &v) in blk.grad_b_dec.iter_mut().zip(delta.iter()) {
            *o += v as f64;
        }
    }
}

/// Phase 3 on one block of latents: accumulate each latent's gradients from its entries (in
/// token order), remove the decoder gradient's component along the row, take the Adam step,
/// renormalise the decoder row, and add this block's part of dL/db_dec through the encoder input.
#[inline(always)]
fn phase3(
    d: usize,
    blocks: &[Block],
    entries: &[Entry],
    offsets: &[usize],
    adam: &Adam,
    grad: &mut [f32],
    (lb, (prm, (m, v)), part): LatentItem,
) {
    let stride = 2 * d + 1;
    part.iter_mut().for_each(|p| *p = 0.0);
    for (r, row) in prm.chunks_exact_mut(stride).enumerate() {
        let j = lb * LATENT_BLOCK + r;
        grad.iter_mut().for_each(|g| *g = 0.0);
        {
            let (gd, rest) = grad.split_at_mut(d);
            let (ge, gb) = rest.split_at_mut(d);
            let mut gb_main = 0f32;
            for e in &entries[offsets[j]..offsets[j + 1]] {
                let t = (e.token & !AUX_FLAG) as usize;
                let blk = &blocks[t / BLOCK_TOKENS];
                let i = t % BLOCK_TOKENS;
                let delta = if e.token & AUX_FLAG != 0 {
                    &blk.delta_aux[i * d..(i + 1) * d]
                } else {
                    gb_main += e.g;
                    &blk.delta[i * d..(i + 1) * d]
                };
                axpy(gd, e.z, delta);
                axpy(ge, e.g, &blk.xc[i * d..(i + 1) * d]);
                gb[0] += e.g;
            }
            // Remove the gradient component parallel to the (unit) decoder row.
            let w = &row[..d];
            let par = dot(gd, w);
            axpy(gd, -par, w);
            // b_dec through the encoder input: dL/db_dec -= sum_j dL/db_enc[j] W_enc[j] (main
            // loss only).
            for (o, &we) in part.iter_mut().zip(&row[d..2 * d]) {
                *o -= gb_main as f64 * we as f64;
            }
        }
        let mr = &mut m[r * stride..(r + 1) * stride];
        let vr = &mut v[r * stride..(r + 1) * stride];
        for q in 0..stride {
            let g = grad[q];
            mr[q] = BETA1 * mr[q] + (1.0 - BETA1) * g;
            vr[q] = BETA2 * vr[q] + (1.0 - BETA2) * g * g;
            row[q] -= adam.step_size * mr[q] / (vr[q].sqrt() + adam.eps);
        }
        let norm = dot(&row[..d], &row[..d]).sqrt();
        if norm > 0.0 {
            let inv = 1.0 / norm;
            row[..d].iter_mut().for_each(|w| *w *= inv);
        }
    }
}
