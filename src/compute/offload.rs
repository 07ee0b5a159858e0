//! The steps of the scales that run on the GPU backend ([`super::gpu`]) when there is one: the
//! galaxy scale's covariance matrices and its entropy samples' covariances and neighbours, the
//! atom scale's silhouette sums, the lobe scale's angular affinity and Lanczos products. Each is
//! the CPU function's formula with the heavy product (`O(N d^2)`, `O(N^2 d)`, `O(N^2)` per
//! Lanczos step) on the GPU and the cheap parts (means, centring, scaling, the eigenproblems) in
//! `f64` on the CPU.

use super::gpu::{GpuContext, GpuError};
use crate::analysis::crystals::{CrystalFit, CrystalParams, Silhouettes};
use crate::analysis::lobes::{LobesEmbedded, LobesInputs, NEAREST};
use crate::geometry::affinity::{angular_similarity, cooccurrence_affinity, unit_rows, Affinity};
use crate::geometry::lobes::most_similar;
use crate::geometry::spectral::{SpectralEmbedding, SpectralProblem};
use crate::geometry::entropy::{entropy_sample, neighbours_listed, project_rows, EntropyParams};
use crate::geometry::galaxy::{isotropic_entropy_cloud, GalaxyParams, GivenNeighbours, IsotropicRows, Precomputed};
use crate::geometry::knn::lists_from_candidates;
use crate::geometry::silhouette::{silhouette_subset, ClusterOrder};
use crate::geometry::GeometryError;
use crate::matrix::Matrix;

/// Rows per GPU tile of the covariance: as many as one binding holds, at most this many (the
/// centred `f32` copy of a tile is the extra memory this path needs).
const MAX_TILE_ROWS: usize = 8192;

/// Sample covariance of the rows of `m` (`np.cov(W, rowvar=False)`, ddof = 1) with `X^T X` on the
/// GPU: column means in `f64`; then, a tile of rows at a time, the rows centred in `f64` and
/// rounded to `f32`, `G_t = X_t^T X_t` on the GPU (`f32` accumulation), `C = sum_t G_t / (N - 1)`
/// accumulated in `f64`. Exactly symmetric. `progress(fraction)` after each tile.
///
/// Error against [`super::cpu::covariance`]: the `f32` rounding of the centred values (relative
/// `6e-8`) and the `f32` sums inside a tile (about `6e-8 sqrt(rows)` relative to the largest entry
/// for random signs); the tests ask `1e-4` of the largest entry.
pub async fn covariance(gpu: &GpuContext, m: &Matrix, progress: &mut dyn FnMut(f64)) -> Result<Vec<f64>, GpuError> {
    let (n, d) = (m.rows(), m.cols());
    if n < 2 || d == 0 {
        return Ok(super::cpu::covariance(m, &mut *progress));
    }
    let data = m.as_slice();
    let mut mean = vec![0f64; d];
    for row in data.chunks_exact(d) {
        for (s, &v) in mean.iter_mut().zip(row) {
            *s += v as f64;
        }
    }
    mean.iter_mut().for_each(|s| *s /= n as f64);
    let mut next = 0;
    let mut acc = gram_by_tiles(gpu, n, d, &mut |tile: &mut [f32]| {
        for (dst, src) in tile.chunks_exact_mut(d).zip(data[next * d..].chunks_exact(d)) {
            for ((o, &v), mu) in dst.iter_mut().zip(src).zip(&mean) {
                *o = (v as f64 - mu) as f32;
            }
            next += 1;
        }
    }, progress)
    .await?;
    finish_covariance(&mut acc, d, n, None);
    Ok(acc)
}

/// `sum_t X_t^T X_t` (`d x d`, `f64`, not yet symmetrised) of `n` rows produced a tile at a time
/// by `fill` (called with each tile's `rows x d` buffer, in row order), each tile's Gram matrix on
/// the GPU. Tiles hold as many rows as one binding allows, at most [`MAX_TILE_ROWS`].
async fn gram_by_tiles(
    gpu: &GpuContext,
    n: usize,
    d: usize,
    fill: &mut dyn FnMut(&mut [f32]),
    progress: &mut dyn FnMut(f64),
) -> Result<Vec<f64>, GpuError> {
    let per_row = (d * 4) as u64;
    let tile_rows = ((gpu.max_binding_bytes() / per_row) as usize).clamp(1, MAX_TILE_ROWS).min(n);
    let mut acc = vec![0f64; d * d];
    let mut tile = vec![0f32; tile_rows * d];
    let tiles = n.div_ceil(tile_rows);
    for t in 0..tiles {
        let rows = tile_rows.min(n - t * tile_rows);
        fill(&mut tile[..rows * d]);
        let g = gpu.gram_columns(&tile[..rows * d], rows, d).await?;
        for (a, &v) in acc.iter_mut().zip(&g) {
            *a += v as f64;
        }
        progress((t + 1) as f64 / tiles as f64);
    }
    Ok(acc)
}

/// The sample covariance (ddof = 1) from `acc = sum x x^T` of `n` rows: of rows already centred
/// (`sums` `None`), or, with their column sums `s`, `(acc - s s^T / n) / (n - 1)`; symmetrised.
fn finish_covariance(acc: &mut [f64], d: usize, n: usize, sums: Option<&[f64]>) {
    let scale = 1.0 / (n as f64 - 1.0);
    for i in 0..d {
        for j in i..d {
            let correction = sums.map_or(0.0, |s| s[i] * s[j] / n as f64);
            let v = (0.5 * (acc[i * d + j] + acc[j * d + i]) - correction) * scale;
            acc[i * d + j] = v;
            acc[j * d + i] = v;
        }
    }
}

/// The covariance of [`isotropic_cloud`]`(n, d, variance, seed)` with the cloud drawn a tile at a
/// time (the same values, from the one seeded stream: [`IsotropicRows`]), each tile's Gram matrix
/// on the GPU, and the mean removed at the end as the CPU path does (`(sum x x^T - s s^T / n) /
/// (n - 1)`: the true mean is 0, so nothing cancels). Memory: one tile, never the `n x d` cloud
/// (151 MB at 16384 x 2304).
pub async fn isotropic_covariance(
    gpu: &GpuContext,
    n: usize,
    d: usize,
    variance: f64,
    seed: u64,
    progress: &mut dyn FnMut(f64),
) -> Result<Vec<f64>, OffloadError> {
    if n < 2 {
        return Err(GeometryError::TooFewRows { n, needed: 2 }.into());
    }
    let mut draw = IsotropicRows::new(variance, seed)?;
    let mut sums = vec![0f64; d];
    let mut acc = gram_by_tiles(gpu, n, d, &mut |tile: &mut [f32]| {
        draw.fill(tile);
        for row in tile.chunks_exact(d) {
            for (s, &v) in sums.iter_mut().zip(row) {
                *s += v as f64;
            }
        }
    }, progress)
    .await?;
    finish_covariance(&mut acc, d, n, Some(&sums));
    Ok(acc)
}

/// Why a galaxy analysis's GPU covariances could not be made.
#[derive(Debug, thiserror::Error)]
pub enum OffloadError {
    /// The GPU failed; the caller redoes the work on the CPU.
    #[error(transparent)]
    Gpu(#[from] GpuError),
    /// The input is refused by the math (the CPU path would refuse it too).
    #[error(transparent)]
    Geometry(#[from] GeometryError),
    /// The input is refused while it is read or prepared (the CPU path would refuse it too).
    #[error(transparent)]
    Analysis(#[from] crate::analysis::AnalysisError),
}

/// The covariance matrices of [`crate::geometry::galaxy::galaxy_spectrum`] on the GPU: that of
/// `m`, and, when `params.isotropic`, that of its isotropic reference cloud
/// ([`isotropic_cloud`]`(n, d, trace / d, seed)`, the very cloud the CPU path draws, stored as
/// `f32`). `progress(stage, fraction)` covers both.
pub async fn galaxy_covariances(
    gpu: &GpuContext,
    m: &Matrix,
    params: &GalaxyParams,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<Precomputed, OffloadError> {
    let (n, d) = (m.rows(), m.cols());
    // Refuse what the CPU path would refuse before any GPU work (it checks again, first).
    if let Some((row, col)) = m.first_non_finite() {
        return Err(GeometryError::NonFinite { row, col }.into());
    }
    params.ranks.validate(d)?;
    if let Some(ep) = &params.entropy {
        ep.validate(n, d)?;
    }
    // Shares of the bar: the data's covariance, the reference's, the entropies' neighbours.
    let iso = if params.isotropic { 1.0 } else { 0.0 };
    let ent = if params.entropy.is_some() { 0.5 * (1.0 + iso) } else { 0.0 };
    let total = 1.0 + iso + ent;
    let (c1, c2) = (1.0 / total, (1.0 + iso) / total);
    let data = covariance(gpu, m, &mut |f| progress("covariance (WebGPU)", c1 * f)).await?;
    let trace: f64 = (0..d).map(|i| data[i * d + i]).sum();
    let isotropic = if params.isotropic && n >= 2 {
        let mut p = |f| progress("isotropic reference (WebGPU)", c1 + (c2 - c1) * f);
        Some(isotropic_covariance(gpu, n, d, trace / d as f64, params.seed, &mut p).await?)
    } else {
        None
    };
    let (mut entropy, mut isotropic_entropy) = (None, None);
    if let Some(ep) = &params.entropy {
        let half = if params.isotropic { 0.5 } else { 1.0 };
        let mut p = |f: f64| progress("entropy neighbours (WebGPU)", c2 + (1.0 - c2) * half * f);
        entropy = entropy_neighbours(gpu, m, ep, &mut p).await?;
        if params.isotropic {
            let cloud = isotropic_entropy_cloud(n, d, trace / d as f64, params.seed, ep)?;
            let mut p = |f: f64| progress("entropy neighbours (WebGPU)", c2 + (1.0 - c2) * (0.5 + 0.5 * f));
            isotropic_entropy = entropy_neighbours(gpu, &cloud, ep, &mut p).await?;
        }
    }
    Ok(Precomputed { data, isotropic, entropy, isotropic_entropy })
}

/// The clustering entropy's projected sample of `m` (the sample's covariance on the GPU,
/// [`covariance`]; z-scoring, eigenvectors and projection on the CPU, [`project_rows`]) and its
/// neighbour lists with the `k`-NN on the GPU
/// ([`GpuContext::nearest`] selects each point's nearest others in `f32`; their distances are then
/// recomputed in `f64` and sorted, [`lists_from_candidates`]). `None` when the lists are longer
/// than the GPU's top-k allows (the CPU finds them).
///
/// Against the CPU: the f32 covariance (relative error about `1e-6`) moves the principal axes by
/// about `1e-6` over the eigenvalue gaps, hence the projected points and their distances; the
/// lists are the same unless two distances tie to within that, so the entropy agrees to about
/// `1e-7` relative (the tests ask `1e-6`).
pub async fn entropy_neighbours(
    gpu: &GpuContext,
    m: &Matrix,
    params: &EntropyParams,
    progress: &mut dyn FnMut(f64),
) -> Result<Option<GivenNeighbours>, OffloadError> {
    let sample = entropy_sample(m, params)?;
    let c = covariance(gpu, &sample, &mut |f| progress(0.3 * f)).await?;
    let projected = project_rows(&sample, params.pcs, Some(c), &mut |f| progress(0.3 + 0.4 * f))?;
    drop(sample);
    let (s, pcs) = (projected.rows, projected.pcs);
    let l = neighbours_listed(params).min(s.saturating_sub(1));
    if l > super::gpu::MAX_TOP_K {
        return Ok(None);
    }
    let y: Vec<f32> = projected.y.iter().map(|&v| v as f32).collect();
    let (candidates, _) = gpu.nearest(&y, s, &y, s, pcs, l, true).await?;
    let lists = lists_from_candidates(&projected.y, s, pcs, l, &candidates)?;
    progress(1.0);
    Ok(Some(GivenNeighbours { projected, lists }))
}

/// sklearn's `silhouette_score(X, labels[, sample_size, random_state = seed])` with the
/// per-cluster distance sums on the GPU ([`GpuContext::cluster_distance_sums`]): the same subset
/// and cluster order as [`crate::geometry::silhouette::silhouette_score_sampled`], the points
/// rounded to `f32`, distances from their differences, sums in `f32`; `a`, `b`, `s` and the mean
/// in `f64` on the CPU. `x` is `n x d` row-major.
///
/// Error against the CPU (`f64`) score: the `f32` rounding of the points (relative `6e-8`, times
/// the ratio of a point's norm to its distances) and of the sums (`6e-8` x the log of a cluster's
/// size); the tests ask `1e-5` absolute of the score (which lies in `[-1, 1]`).
pub async fn silhouette_score(
    gpu: &GpuContext,
    x: &[f64],
    n: usize,
    d: usize,
    labels: &[usize],
    sample_size: Option<usize>,
    seed: u32,
) -> Result<f64, OffloadError> {
    let (sub_x, sub_labels) = silhouette_subset(x, n, d, labels, sample_size, seed)?;
    let clusters = ClusterOrder::new(&sub_labels)?;
    let sorted: Vec<f32> = clusters.sorted_rows(&sub_x, d).into_iter().map(|v| v as f32).collect();
    let starts: Vec<u32> = clusters.starts().into_iter().map(|s| s as u32).collect();
    let sums = gpu.cluster_distance_sums(&sorted, sub_labels.len(), d, &starts).await?;
    let sums: Vec<f64> = sums.into_iter().map(f64::from).collect();
    Ok(clusters.score_from_sums(&sums))
}

/// [`crate::geometry::spectral::spectral_embedding`] with Lanczos's products `M q` on the GPU:
/// `M = D^-1/2 A D^-1/2` is normalised on the CPU, uploaded once (f32, as the CPU keeps it) and
/// multiplied by each Lanczos vector with [`GpuContext::matvec`] (f32 sums); the
/// reorthogonalisation, the tridiagonal eigenproblem and the stopping rule stay on the CPU in f64,
/// from the same seeded start. Each product errs by about `1e-8` of `sum |m_ij q_j|` (f32), which
/// the Krylov recurrence absorbs: the residual estimate still falls below `1e-9`, usually in the
/// same number of steps; eigenvalues agree with the CPU's to about `1e-9` and the coordinates to
/// about `1e-7` of the largest (`tests/gpu_kernels.rs` asks `1e-8` and `1e-5`, and the same
/// k-means labels on the bundled data).
pub async fn spectral_embedding(
    gpu: &GpuContext,
    a: Vec<f32>,
    n: usize,
    dims: usize,
    seed: u64,
    progress: &mut dyn FnMut(f64),
) -> Result<SpectralEmbedding, OffloadError> {
    let mut problem = SpectralProblem::new(a, n, dims, seed)?;
    // The tab keeps no second copy of M: it lives on the GPU from here on.
    let matrix = std::mem::take(&mut problem.matrix);
    let resident = gpu.upload_matrix(&matrix, n, n)?;
    drop(matrix);
    let mut lanczos = problem.lanczos();
    while let Some(q) = lanczos.wanted() {
        let w = gpu.matvec(&resident, q).await?;
        lanczos.supply(&w, progress);
    }
    Ok(problem.embedding(lanczos.finish(), progress))
}

/// [`crate::geometry::affinity::angular_affinity`] with the cosines of the unit rows,
/// `U U^T` (`O(n^2 d)`, the lobe scale's largest product), on the GPU ([`GpuContext::gram_rows`],
/// f32) and the arccos on the CPU. Error: the f32 rounding of the unit rows and of the sums, about
/// `1e-7` in a cosine, so about `3e-8 / sqrt(1 - cos^2)` in a similarity (larger only for nearly
/// parallel rows, cos > 0.9999, where the arccos is steep).
pub async fn angular_affinity(gpu: &GpuContext, x: &[f64], n: usize, d: usize) -> Result<Vec<f32>, GpuError> {
    let unit: Vec<f32> = unit_rows(x, d).into_iter().map(|v| v as f32).collect();
    let mut a = gpu.gram_rows(&unit, n, d).await?;
    for v in &mut a {
        *v = angular_similarity(*v as f64);
    }
    Ok(a)
}

/// The spectral embeddings of a lobes run with the angular affinity's product
/// ([`angular_affinity`]) and the Lanczos products ([`spectral_embedding`]) on the GPU: the
/// geometric one (each feature's nearest features from the same affinity) and one per affinity
/// of `affinities`, each into `dims` dimensions.
/// `progress(stage, fraction)` as the CPU path reports it.
pub async fn lobe_embeddings(
    gpu: &GpuContext,
    inputs: &LobesInputs,
    affinities: &[Affinity],
    dims: usize,
    seed: u64,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<LobesEmbedded, OffloadError> {
    let (n, d) = (inputs.n, inputs.d);
    let a = angular_affinity(gpu, &inputs.x, n, d).await?;
    let nearest = most_similar(&a, n, NEAREST);
    let geometry = spectral_embedding(gpu, a, n, dims, seed, &mut |f| progress("geometric lobes (WebGPU)", f)).await?;
    let mut cooccurrence = Vec::with_capacity(affinities.len());
    for (i, &affinity) in affinities.iter().enumerate() {
        let stage = format!("co-occurrence lobes ({}, WebGPU)", affinity.title());
        let a = cooccurrence_affinity(&inputs.input.histogram, affinity, true);
        let share = affinities.len() as f64;
        cooccurrence.push(spectral_embedding(gpu, a, n, dims, seed, &mut |f| progress(&stage, (i as f64 + f) / share)).await?);
    }
    Ok(LobesEmbedded { geometry, nearest, cooccurrence })
}

/// The silhouettes a crystal analysis reports, on the GPU ([`silhouette_score`] each, with the
/// analysis's `silhouette_sample` and `seed`): of the raw differences (`O(N^2 d)`) and of every
/// LDA prefix of [`CrystalFit::lda_dims`] (`O(N^2 m)` each). Error as [`silhouette_score`]'s:
/// about `1e-9`, `1e-5` is tested. `progress(fraction)` after each.
pub async fn crystal_silhouettes(
    gpu: &GpuContext,
    fit: &CrystalFit<'_>,
    params: &CrystalParams,
    progress: &mut dyn FnMut(f64),
) -> Result<Silhouettes, OffloadError> {
    let n = fit.points();
    let sample = params.silhouette_sample.filter(|&s| s < n);
    let (raw, d) = fit.raw();
    // Work shares: the raw points have d coordinates, each prefix m.
    let dims: Vec<usize> = fit.lda_dims().collect();
    let total = (d + dims.iter().sum::<usize>()) as f64;
    let raw_score = silhouette_score(gpu, raw, n, d, fit.labels(), sample, params.seed).await?;
    let mut done = d as f64;
    progress(done / total);
    let mut lda = std::collections::BTreeMap::new();
    for m in dims {
        lda.insert(m, silhouette_score(gpu, &fit.lda_prefix(m), n, m, fit.labels(), sample, params.seed).await?);
        done += m as f64;
        progress(done / total);
    }
    Ok(Silhouettes { raw: raw_score, lda })
}
