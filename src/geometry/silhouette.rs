//! The silhouette coefficient of a labelled point cloud (Euclidean distances), as scikit-learn
//! 1.9.1's `silhouette_samples` and `silhouette_score` (with and without `sample_size`).
//!
//! For point `i` in cluster `C(i)` (Rousseeuw 1987):
//! `a(i) = sum_{j in C(i)} |x_i - x_j| / (|C(i)| - 1)` (mean distance to the other members),
//! `b(i) = min_{K != C(i)} sum_{j in K} |x_i - x_j| / |K|` (mean distance to the nearest other
//! cluster), `s(i) = (b(i) - a(i)) / max(a(i), b(i))`, and `s(i) = 0` where that is undefined
//! (members of singleton clusters; `a = b = 0`), like sklearn's `nan_to_num`. The score is the
//! mean of `s`. Labels are arbitrary integers (sklearn's `LabelEncoder`); the number of distinct
//! labels must be in `2..=n - 1`.
//!
//! Distances as sklearn's `euclidean_distances`: `(|x|^2 - 2 x.y) + |y|^2` with `x.y` from
//! `dgemm` in `f64`, clamped at 0, square root, 0 on the diagonal. The points are first put in
//! cluster order, so that the per-row per-cluster sums are sums of contiguous slices. They are
//! accumulated over tiles of points `I x J` with `I <= J` only (each tile's distances serve both
//! its row block and its column block, halving the work); the tiles run in phases of disjoint
//! block pairs (offset `k = J - I`, then `I / k` even or odd), so each block's sums are added in an
//! order fixed by `n` alone and the result does not depend on the thread count
//! ([`crate::compute::par`]). Memory is `O(TILE * (TILE + clusters))` per running tile plus the
//! `n x clusters` sums, never `n x n`. For `d <= 8` (LDA projections) the distances come straight
//! from the coordinates (no Gram trick): faster there, and exact to rounding. Measured natively
//! (2 cores, AMD EPYC, idle): 18,921 x 384 in 2.5 s, 18,921 x 11 in 0.2 s.
//!
//! References: P. J. Rousseeuw, "Silhouettes: a graphical aid to the interpretation and validation
//! of cluster analysis", J. Comput. Appl. Math. 20 (1987); scikit-learn 1.9.1
//! `sklearn/metrics/cluster/_unsupervised.py` (`silhouette_samples`, `_silhouette_reduce`,
//! `silhouette_score`), `sklearn/metrics/pairwise.py` (`_euclidean_distances`); numpy's legacy
//! `RandomState.permutation` / `shuffle` (`numpy/random/mtrand.pyx`, `_shuffle_raw`,
//! `random_interval` in `numpy/random/src/distributions/distributions.c`).

use super::numpy_rng::NumpyRandomState;
use super::GeometryError;
use crate::compute::par;

/// Rows (and columns) per tile.
const TILE: usize = 256;
/// Up to this dimension, distances are computed directly from the coordinates (measured: from
/// d = 12 on the `dgemm` route is faster).
const DIRECT_MAX_D: usize = 8;

/// The silhouette coefficient `s(i)` of every point (`x` is `n x d` row-major; `labels[i]` any
/// integer): sklearn's `silhouette_samples(X, labels)` with the Euclidean metric (see the module
/// documentation for the formula).
///
/// `progress(fraction)` rises to 1. Cost: [`silhouette_cost`].
///
/// Errors: `InvalidParameter` if `x` or `labels` have the wrong length, `d = 0`, or the number of
/// distinct labels is not in `2..=n - 1` (sklearn's `ValueError`); `NonFinite` for NaN or
/// infinity in `x`.
pub fn silhouette_samples(
    x: &[f64],
    n: usize,
    d: usize,
    labels: &[usize],
    progress: &mut dyn FnMut(f64),
) -> Result<Vec<f64>, GeometryError> {
    check_input(x, n, d, labels)?;
    let clusters = ClusterOrder::new(labels)?;
    let sorted = clusters.sorted_rows(x, d);
    let sums = cluster_distance_sums(&sorted, n, d, &clusters.codes, &clusters.freqs, progress);
    Ok(clusters.coefficients_from_sums(&sums))
}

/// The mean silhouette coefficient: sklearn's `silhouette_score(X, labels)` (Euclidean), i.e.
/// `mean(silhouette_samples(X, labels))`. Errors as [`silhouette_samples`].
pub fn silhouette_score(
    x: &[f64],
    n: usize,
    d: usize,
    labels: &[usize],
    progress: &mut dyn FnMut(f64),
) -> Result<f64, GeometryError> {
    let s = silhouette_samples(x, n, d, labels, progress)?;
    Ok(pairwise_sum(&s) / s.len() as f64)
}

/// sklearn's `silhouette_score(X, labels, sample_size=sample_size, random_state=seed)`: the score
/// of the rows `np.random.RandomState(seed).permutation(n)[:sample_size]` (all `n` rows, shuffled,
/// when `sample_size >= n`), with the same subset as sklearn's.
///
/// Errors as [`silhouette_samples`] (checked on the whole input first, the label count on the
/// subset, as sklearn does), and `InvalidParameter` for `sample_size = 0`.
pub fn silhouette_score_sampled(
    x: &[f64],
    n: usize,
    d: usize,
    labels: &[usize],
    sample_size: usize,
    seed: u32,
    progress: &mut dyn FnMut(f64),
) -> Result<f64, GeometryError> {
    let (sub_x, sub_labels) = silhouette_subset(x, n, d, labels, Some(sample_size), seed)?;
    silhouette_score(&sub_x, sub_labels.len(), d, &sub_labels, progress)
}

/// The points and labels a silhouette score uses: all of them (`sample_size` `None`), or the rows
/// `np.random.RandomState(seed).permutation(n)[:sample_size]` in that order, as
/// [`silhouette_score_sampled`] takes them. For a backend that computes the distance sums
/// elsewhere ([`ClusterOrder`]).
///
/// Errors: as [`silhouette_samples`] for the input, `InvalidParameter` for `sample_size = 0`.
pub fn silhouette_subset(
    x: &[f64],
    n: usize,
    d: usize,
    labels: &[usize],
    sample_size: Option<usize>,
    seed: u32,
) -> Result<(Vec<f64>, Vec<usize>), GeometryError> {
    check_input(x, n, d, labels)?;
    let Some(sample_size) = sample_size else {
        return Ok((x.to_vec(), labels.to_vec()));
    };
    if sample_size == 0 {
        return Err(GeometryError::InvalidParameter {
            name: "silhouette sample size".into(),
            reason: "must be at least 1 (leave it unset to use every point)".into(),
        });
    }
    let perm = legacy_permutation(n, seed);
    let take = &perm[..sample_size.min(n)];
    let sub_x: Vec<f64> = take
        .iter()
        .flat_map(|&i| x[i * d..(i + 1) * d].iter().copied())
        .collect();
    let sub_labels: Vec<usize> = take.iter().map(|&i| labels[i]).collect();
    Ok((sub_x, sub_labels))
}

/// The points of a silhouette put in cluster order (stable), so that each cluster is a run of
/// rows and the per-cluster distance sums are sums of contiguous slices: the interface between
/// the silhouette's formula and whatever computes those sums (this module's tiles, or a GPU:
/// [`crate::compute::gpu::GpuContext::cluster_distance_sums`]).
#[derive(Debug, Clone)]
pub struct ClusterOrder {
    /// `order[p]`: the point at position `p` of the cluster order.
    order: Vec<usize>,
    /// The cluster code (`0..k`, sklearn's `LabelEncoder`) at each position, non-decreasing.
    codes: Vec<usize>,
    /// Points per cluster.
    freqs: Vec<usize>,
}

impl ClusterOrder {
    /// Encodes `labels` and orders the points by cluster. Errors: `InvalidParameter` when the
    /// number of distinct labels is not in `2..=n - 1` (sklearn's `check_number_of_labels`).
    pub fn new(labels: &[usize]) -> Result<ClusterOrder, GeometryError> {
        let (codes, freqs) = encode_labels(labels);
        check_number_of_labels(freqs.len(), labels.len())?;
        let mut order: Vec<usize> = (0..labels.len()).collect();
        order.sort_by_key(|&i| codes[i]);
        let codes = order.iter().map(|&i| codes[i]).collect();
        Ok(ClusterOrder { order, codes, freqs })
    }

    /// Number of clusters `k`.
    pub fn clusters(&self) -> usize {
        self.freqs.len()
    }

    /// Cluster `c` is positions `starts[c]..starts[c + 1]` (`k + 1` offsets, 0 to `n`).
    pub fn starts(&self) -> Vec<usize> {
        let mut starts = vec![0usize; self.freqs.len() + 1];
        for (c, f) in self.freqs.iter().enumerate() {
            starts[c + 1] = starts[c] + f;
        }
        starts
    }

    /// The rows of `x` (`n x d`) in cluster order.
    pub fn sorted_rows<T: Copy>(&self, x: &[T], d: usize) -> Vec<T> {
        self.order.iter().flat_map(|&i| x[i * d..(i + 1) * d].iter().copied()).collect()
    }

    /// `s(i)` of every point, in the original order, from the per-cluster distance sums of the
    /// points in cluster order (`n x k`: `sums[p * k + c]` = the sum of `|x_p - x_q|` over the
    /// points `q` of cluster `c`, `q != p`): sklearn's `silhouette_samples` after
    /// `_silhouette_reduce`.
    pub fn coefficients_from_sums(&self, sums: &[f64]) -> Vec<f64> {
        let sorted = coefficients(sums, &self.codes, &self.freqs);
        let mut out = vec![0f64; self.order.len()];
        for (&i, s) in self.order.iter().zip(sorted) {
            out[i] = s;
        }
        out
    }

    /// The silhouette score `mean(s)` from the same sums ([`silhouette_score`]'s summation).
    pub fn score_from_sums(&self, sums: &[f64]) -> f64 {
        let s = self.coefficients_from_sums(sums);
        pairwise_sum(&s) / s.len() as f64
    }
}

/// The per-cluster distance sums of points already in cluster order (see [`ClusterOrder`]), by
/// this module's CPU tiles: the oracle of a GPU's sums.
pub fn cluster_distance_sums_in_order(x_sorted: &[f64], d: usize, clusters: &ClusterOrder, progress: &mut dyn FnMut(f64)) -> Vec<f64> {
    cluster_distance_sums(x_sorted, clusters.order.len(), d, &clusters.codes, &clusters.freqs, progress)
}

/// Approximate floating-point operations of [`silhouette_samples`] on `n` points in `d`
/// dimensions: `n^2 (d + 8)` (half of the `2 n^2 d` of all pairwise dot products, by symmetry,
/// plus about 16 per pair for the distance, its square root and the two sums). At roughly 30
/// GFLOP/s per core natively, `n = 18,941`, `d = 384` is `1.4e11` (a few seconds on 2 cores).
pub fn silhouette_cost(n: usize, d: usize) -> f64 {
    let n = n as f64;
    n * n * (d as f64 + 8.0)
}

/// numpy's legacy `np.random.RandomState(seed).permutation(n)`: `arange(n)` shuffled by
/// `RandomState.shuffle`, the Fisher-Yates loop `for i in n-1..1: j = random_interval(i);
/// swap(a[i], a[j])`, where `random_interval(max)` draws `next & mask` (mask = the smallest
/// `2^k - 1 >= max`) until it is at most `max`, from 32-bit outputs when `max <= 2^32 - 1`
/// (64-bit ones above).
pub fn legacy_permutation(n: usize, seed: u32) -> Vec<usize> {
    let mut rng = NumpyRandomState::new(seed);
    let mut a: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = random_interval(&mut rng, i as u64) as usize;
        a.swap(i, j);
    }
    a
}

/// numpy's `random_interval(bitgen, max)`: uniform on `0..=max` by masked rejection.
fn random_interval(rng: &mut NumpyRandomState, max: u64) -> u64 {
    if max == 0 {
        return 0;
    }
    let mut mask = max;
    for s in [1, 2, 4, 8, 16, 32] {
        mask |= mask >> s;
    }
    if max <= 0xffff_ffff {
        loop {
            let v = (rng.next_u32() as u64) & mask;
            if v <= max {
                return v;
            }
        }
    }
    loop {
        let v = rng.next_u64() & mask;
        if v <= max {
            return v;
        }
    }
}

fn check_input(x: &[f64], n: usize, d: usize, labels: &[usize]) -> Result<(), GeometryError> {
    if d == 0 {
        return Err(GeometryError::InvalidParameter {
            name: "matrix".into(),
            reason: "has no columns; the silhouette needs at least one feature".into(),
        });
    }
    if x.len() != n * d {
        return Err(GeometryError::InvalidParameter {
            name: "matrix".into(),
            reason: format!("has {} values, but {n} x {d} = {}", x.len(), n * d),
        });
    }
    if labels.len() != n {
        return Err(GeometryError::InvalidParameter {
            name: "labels".into(),
            reason: format!("{} labels for {n} points; give one label per point", labels.len()),
        });
    }
    if let Some(k) = x.iter().position(|v| !v.is_finite()) {
        return Err(GeometryError::NonFinite {
            row: k / d,
            col: k % d,
        });
    }
    Ok(())
}

/// sklearn's `check_number_of_labels`: `2 <= k <= n - 1`.
fn check_number_of_labels(k: usize, n: usize) -> Result<(), GeometryError> {
    if k < 2 || k + 1 > n {
        return Err(GeometryError::InvalidParameter {
            name: "number of labels".into(),
            reason: format!(
                "{k} distinct labels among {n} points; the silhouette needs 2 to n - 1 = {} \
                 (at least two clusters, and not every point alone){}",
                n.saturating_sub(1),
                if k < 2 {
                    ""
                } else {
                    "; use fewer clusters or more points"
                }
            ),
        });
    }
    Ok(())
}

/// sklearn's `LabelEncoder`: codes `0..k` in the order of the sorted distinct labels, and the
/// count of each (`np.bincount`).
fn encode_labels(labels: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut distinct = labels.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let codes: Vec<usize> = labels
        .iter()
        .map(|l| distinct.binary_search(l).unwrap_or(0))
        .collect();
    let mut freqs = vec![0usize; distinct.len()];
    for &c in &codes {
        freqs[c] += 1;
    }
    (codes, freqs)
}

/// `s(i)` from the per-cluster distance sums (`n x k`): sklearn's `silhouette_samples` after
/// `_silhouette_reduce`, with `nan_to_num` (0 for singletons and for `a = b = 0`).
fn coefficients(sums: &[f64], codes: &[usize], freqs: &[usize]) -> Vec<f64> {
    let k = freqs.len();
    sums.chunks_exact(k)
        .zip(codes)
        .map(|(row, &own)| {
            if freqs[own] < 2 {
                return 0.0;
            }
            let a = row[own] / (freqs[own] - 1) as f64;
            let b = row
                .iter()
                .zip(freqs)
                .enumerate()
                .filter(|&(c, _)| c != own)
                .map(|(_, (s, &f))| s / f as f64)
                .fold(f64::INFINITY, f64::min);
            let m = a.max(b);
            let s = (b - a) / m;
            if s.is_nan() {
                0.0
            } else {
                s.clamp(-f64::MAX, f64::MAX)
            }
        })
        .collect()
}

/// Pairwise (cascade) summation, accurate to `O(log n) eps` (like numpy's `np.sum`).
fn pairwise_sum(v: &[f64]) -> f64 {
    if v.len() <= 128 {
        return v.iter().sum();
    }
    let (a, b) = v.split_at(v.len() / 2);
    pairwise_sum(a) + pairwise_sum(b)
}

/// One unit of work: the tile of row block `i` by column block `j` (`i <= j`), with the sums of
/// both blocks (moved in for the phase and back out after).
struct TileTask {
    i: usize,
    j: usize,
    sums_i: Vec<f64>,
    sums_j: Vec<f64>,
}

/// `sums[r * k + c] = sum over points q with code c of |x_r - x_q|` (`n x k`, `k = freqs.len()`),
/// for points sorted by code (`codes` non-decreasing).
fn cluster_distance_sums(
    x: &[f64],
    n: usize,
    d: usize,
    codes: &[usize],
    freqs: &[usize],
    progress: &mut dyn FnMut(f64),
) -> Vec<f64> {
    let k = freqs.len();
    let norms: Vec<f64> = x.chunks_exact(d).map(|r| r.iter().map(|v| v * v).sum()).collect();
    let mut starts = vec![0usize; k + 1];
    for (c, f) in freqs.iter().enumerate() {
        starts[c + 1] = starts[c] + f;
    }
    let data = Data {
        x,
        n,
        d,
        codes,
        starts: &starts,
        norms: &norms,
    };
    let nb = n.div_ceil(TILE);
    let mut blocks: Vec<Vec<f64>> = (0..nb).map(|b| vec![0f64; data.block_len(b) * k]).collect();
    let total_tiles = nb * (nb + 1) / 2;
    let mut done = 0usize;
    for offset in 0..nb {
        // Offset 0: the diagonal tiles; offset k > 0: pairs (I, I + k) with I / k even, then odd.
        let parities: &[usize] = if offset == 0 { &[0] } else { &[0, 1] };
        for &parity in parities {
            let firsts: Vec<usize> = (0..nb - offset)
                .filter(|&i| offset == 0 || (i / offset) % 2 == parity)
                .collect();
            if firsts.is_empty() {
                continue;
            }
            let mut tasks: Vec<TileTask> = firsts
                .iter()
                .map(|&i| TileTask {
                    i,
                    j: i + offset,
                    sums_i: std::mem::take(&mut blocks[i]),
                    sums_j: if offset == 0 {
                        Vec::new()
                    } else {
                        std::mem::take(&mut blocks[i + offset])
                    },
                })
                .collect();
            par::for_each_mut(&mut tasks, |_, t| data.tile(t));
            for t in tasks {
                blocks[t.i] = t.sums_i;
                if offset > 0 {
                    blocks[t.j] = t.sums_j;
                }
            }
            done += firsts.len();
            progress(done as f64 / total_tiles as f64);
        }
    }
    progress(1.0);
    blocks.concat()
}

/// The input of [`cluster_distance_sums`], shared by the tiles.
struct Data<'a> {
    x: &'a [f64],
    n: usize,
    d: usize,
    /// Cluster codes, non-decreasing.
    codes: &'a [usize],
    /// Cluster `c` is the points `starts[c]..starts[c + 1]`.
    starts: &'a [usize],
    norms: &'a [f64],
}

impl Data<'_> {
    fn block_len(&self, b: usize) -> usize {
        TILE.min(self.n - b * TILE)
    }

    /// The clusters met in points `p0..p0 + len`, each with its range relative to `p0`.
    fn runs(&self, p0: usize, len: usize) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> + '_ {
        let (first, last) = (self.codes[p0], self.codes[p0 + len - 1]);
        (first..=last).filter_map(move |c| {
            let a = self.starts[c].max(p0);
            let b = self.starts[c + 1].min(p0 + len);
            (a < b).then(|| (c, a - p0..b - p0))
        })
    }

    /// Adds the tile's distance sums to `t.sums_i` (rows of block `i` over the columns of block
    /// `j`) and, off the diagonal, to `t.sums_j` (rows of block `j` over the columns of block `i`).
    ///
    /// On x86-64 CPUs with AVX2 the same code is compiled for 4-wide vectors and chosen at run
    /// time; without fused multiply-adds (Rust never contracts `a * b + c`) both copies round
    /// identically, so the result does not depend on the CPU either.
    fn tile(&self, t: &mut TileTask) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                #[target_feature(enable = "avx2")]
                unsafe fn wide(data: &Data, t: &mut TileTask) {
                    data.tile_body(t)
                }
                // SAFETY: the CPU supports AVX2 (checked just above).
                return unsafe { wide(self, t) };
            }
        }
        self.tile_body(t)
    }

    #[inline(always)]
    fn tile_body(&self, t: &mut TileTask) {
        let k = self.starts.len() - 1;
        let (bi, bj) = (self.block_len(t.i), self.block_len(t.j));
        let (i0, j0) = (t.i * TILE, t.j * TILE);
        let dist = self.distances(i0, bi, j0, bj);
        for (drow, srow) in dist.chunks_exact(bj).zip(t.sums_i.chunks_exact_mut(k)) {
            for (c, range) in self.runs(j0, bj) {
                srow[c] += lane_sum(&drow[range]);
            }
        }
        if t.i == t.j {
            return;
        }
        let mut col = vec![0f64; bj];
        for (c, range) in self.runs(i0, bi) {
            col.iter_mut().for_each(|v| *v = 0.0);
            for drow in dist[range.start * bj..range.end * bj].chunks_exact(bj) {
                col.iter_mut().zip(drow).for_each(|(s, v)| *s += v);
            }
            for (srow, v) in t.sums_j.chunks_exact_mut(k).zip(&col) {
                srow[c] += v;
            }
        }
    }

    /// The `bi x bj` distances between points `i0..i0 + bi` and `j0..j0 + bj` (0 where they are
    /// the same point).
    #[inline(always)]
    fn distances(&self, i0: usize, bi: usize, j0: usize, bj: usize) -> Vec<f64> {
        let d = self.d;
        let mut out = vec![0f64; bi * bj];
        if d <= DIRECT_MAX_D {
            // Column block transposed (d x bj), so that each row's distances vectorise over q.
            let mut xt = vec![0f64; d * bj];
            for q in 0..bj {
                for c in 0..d {
                    xt[c * bj + q] = self.x[(j0 + q) * d + c];
                }
            }
            for (r, orow) in out.chunks_exact_mut(bj).enumerate() {
                for (xc, xtc) in self.x[(i0 + r) * d..(i0 + r + 1) * d]
                    .iter()
                    .zip(xt.chunks_exact(bj))
                {
                    orow.iter_mut()
                        .zip(xtc)
                        .for_each(|(o, v)| *o += (xc - v) * (xc - v));
                }
                orow.iter_mut().for_each(|o| *o = o.sqrt());
            }
        } else {
            // SAFETY: A = x[i0..i0 + bi] (bi x d, rows of x), B(c, q) = x[(j0 + q) * d + c]
            // (q < bj, j0 + bj <= n), C = out (bi x bj, a fresh buffer): all in bounds.
            unsafe {
                crate::compute::gemm::dgemm(
                    bi,
                    d,
                    bj,
                    1.0,
                    self.x.as_ptr().add(i0 * d),
                    d as isize,
                    1,
                    self.x.as_ptr().add(j0 * d),
                    1,
                    d as isize,
                    0.0,
                    out.as_mut_ptr(),
                    bj as isize,
                    1,
                );
            }
            // sklearn's order: (-2 x.y + |x|^2) + |y|^2, clamped at 0.
            for (orow, xx) in out.chunks_exact_mut(bj).zip(&self.norms[i0..i0 + bi]) {
                for (o, yy) in orow.iter_mut().zip(&self.norms[j0..j0 + bj]) {
                    let v = (-2.0 * *o + xx) + yy;
                    *o = if v > 0.0 { v.sqrt() } else { 0.0 };
                }
            }
        }
        if i0 == j0 {
            for r in 0..bi {
                out[r * bj + r] = 0.0;
            }
        }
        out
    }
}

/// Sum with four interleaved accumulators (vectorisable; a fixed order, so deterministic).
#[inline(always)]
fn lane_sum(v: &[f64]) -> f64 {
    let mut acc = [0f64; 4];
    let chunks = v.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    let tail: f64 = rest.iter().sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(seed: u64, len: usize) -> Vec<f64> {
        crate::geometry::test_data::Lcg::scrambled(seed).take(len)
    }

    /// Straightforward O(n^2 d) reference with exact distances.
    fn naive(x: &[f64], n: usize, d: usize, labels: &[usize]) -> Vec<f64> {
        let dist = |i: usize, j: usize| {
            (0..d)
                .map(|c| (x[i * d + c] - x[j * d + c]).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        (0..n)
            .map(|i| {
                let own = labels[i];
                let mut per: std::collections::BTreeMap<usize, (f64, usize)> = Default::default();
                for (j, &l) in labels.iter().enumerate() {
                    let e = per.entry(l).or_default();
                    e.0 += if i == j { 0.0 } else { dist(i, j) };
                    e.1 += 1;
                }
                let (sa, na) = per[&own];
                if na == 1 {
                    return 0.0;
                }
                let a = sa / (na - 1) as f64;
                let b = per
                    .iter()
                    .filter(|(l, _)| **l != own)
                    .map(|(_, (s, m))| s / *m as f64)
                    .fold(f64::INFINITY, f64::min);
                if a.max(b) == 0.0 {
                    0.0
                } else {
                    (b - a) / a.max(b)
                }
            })
            .collect()
    }

    #[test]
    fn hand_computed_line() {
        // Points 0, 1 | 5, 6 | 20 (a singleton). s(0): a = 1, b = (5 + 6) / 2 = 5.5.
        let x = [0.0, 1.0, 5.0, 6.0, 20.0];
        let labels = [3, 3, 7, 7, 1];
        let s = silhouette_samples(&x, 5, 1, &labels, &mut |_| {}).unwrap();
        let want = [4.5 / 5.5, 3.5 / 4.5, 3.5 / 4.5, 4.5 / 5.5, 0.0];
        for (g, w) in s.iter().zip(&want) {
            assert!((g - w).abs() < 1e-15, "{g} vs {w}");
        }
        let mean = silhouette_score(&x, 5, 1, &labels, &mut |_| {}).unwrap();
        assert!((mean - want.iter().sum::<f64>() / 5.0).abs() < 1e-15);
    }

    #[test]
    fn duplicates_across_clusters_give_zero() {
        // a = b = 0 for two identical points in different clusters (sklearn's nan_to_num).
        let x = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let s = silhouette_samples(&x, 3, 2, &[0, 0, 1], &mut |_| {}).unwrap();
        assert_eq!(s, vec![0.0; 3]);
    }

    #[test]
    fn matches_naive_across_tile_edges_both_paths() {
        // n spans several tiles with a ragged last one; d on both sides of DIRECT_MAX_D.
        for &(n, d, k) in &[(2 * TILE + 37, 3, 4), (TILE + 1, 40, 3), (70, 17, 5), (5, 2, 2)] {
            let x: Vec<f64> = noise(n as u64 + d as u64, n * d)
                .iter()
                .enumerate()
                .map(|(p, v)| v + ((p / d) % k) as f64 * 0.3)
                .collect();
            let labels: Vec<usize> = (0..n).map(|i| 10 * (i % k) + 1).collect();
            let got = silhouette_samples(&x, n, d, &labels, &mut |_| {}).unwrap();
            let want = naive(&x, n, d, &labels);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-12, "n {n} d {d}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn bit_identical_across_thread_counts() {
        let (n, d) = (3 * TILE + 11, 20);
        let x = noise(5, n * d);
        let labels: Vec<usize> = (0..n).map(|i| (i * 7) % 6).collect();
        let one = par::with_threads(1, || silhouette_samples(&x, n, d, &labels, &mut |_| {}).unwrap());
        for t in [2, 3, 8] {
            let other = par::with_threads(t, || silhouette_samples(&x, n, d, &labels, &mut |_| {}).unwrap());
            assert!(
                one.iter().zip(&other).all(|(a, b)| a.to_bits() == b.to_bits()),
                "{t} threads"
            );
        }
    }

    #[test]
    fn progress_rises_to_one() {
        let (n, d) = (2 * TILE + 3, 4);
        let x = noise(9, n * d);
        let labels: Vec<usize> = (0..n).map(|i| i % 3).collect();
        let mut seen = Vec::new();
        silhouette_samples(&x, n, d, &labels, &mut |f| seen.push(f)).unwrap();
        assert!(seen.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(seen.last(), Some(&1.0));
    }

    #[test]
    fn label_count_and_input_errors() {
        let x = [0.0, 1.0, 2.0];
        let e = silhouette_samples(&x, 3, 1, &[4, 4, 4], &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("1 distinct labels among 3 points"), "{e}");
        let e = silhouette_samples(&x, 3, 1, &[0, 1, 2], &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("2 to n - 1 = 2"), "{e}");
        assert_eq!(
            silhouette_samples(&x, 3, 1, &[0, 1], &mut |_| {})
                .unwrap_err()
                .kind(),
            "invalid-parameter"
        );
        assert_eq!(
            silhouette_samples(&x, 2, 1, &[0, 1], &mut |_| {})
                .unwrap_err()
                .kind(),
            "invalid-parameter"
        );
        assert_eq!(
            silhouette_samples(&[0.0, f64::INFINITY, 1.0], 3, 1, &[0, 0, 1], &mut |_| {}).unwrap_err(),
            GeometryError::NonFinite { row: 1, col: 0 }
        );
        assert!(silhouette_score_sampled(&x, 3, 1, &[0, 0, 1], 0, 1, &mut |_| {}).is_err());
    }

    #[test]
    fn permutation_matches_numpy() {
        // np.random.RandomState(seed).permutation(n)
        assert_eq!(legacy_permutation(10, 0), [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
        assert_eq!(legacy_permutation(10, 42), [8, 1, 5, 0, 7, 2, 9, 4, 3, 6]);
        assert_eq!(legacy_permutation(1, 3), [0]);
        assert!(legacy_permutation(0, 3).is_empty());
    }

    #[test]
    fn sampled_uses_the_permuted_subset() {
        let (n, d) = (60, 3);
        let x = noise(2, n * d);
        let labels: Vec<usize> = (0..n).map(|i| i % 4).collect();
        // sample_size >= n: all points (the mean does not depend on the order, up to rounding).
        let all = silhouette_score(&x, n, d, &labels, &mut |_| {}).unwrap();
        let s = silhouette_score_sampled(&x, n, d, &labels, 1000, 7, &mut |_| {}).unwrap();
        assert!((all - s).abs() < 1e-14);
        let perm = legacy_permutation(n, 7);
        let take = &perm[..25];
        let sx: Vec<f64> = take
            .iter()
            .flat_map(|&i| x[i * d..(i + 1) * d].to_vec())
            .collect();
        let sl: Vec<usize> = take.iter().map(|&i| labels[i]).collect();
        let want = silhouette_score(&sx, 25, d, &sl, &mut |_| {}).unwrap();
        assert_eq!(
            silhouette_score_sampled(&x, n, d, &labels, 25, 7, &mut |_| {}).unwrap(),
            want
        );
    }
}
