//! Barnes-Hut t-SNE to two dimensions, with scikit-learn's `TSNE(method='barnes_hut')` semantics.
//!
//! References: L. van der Maaten and G. Hinton, "Visualizing Data using t-SNE", JMLR 9 (2008);
//! L. van der Maaten, "Accelerating t-SNE using Tree-Based Algorithms", JMLR 15 (2014)
//! (Barnes-Hut-SNE); scikit-learn 1.9 `sklearn/manifold/_t_sne.py`, `_utils.pyx`
//! (`_binary_search_perplexity`), `_barnes_hut_tsne.pyx` and `sklearn/neighbors/_quad_tree.pyx`.
//!
//! The pipeline ([`tsne`]):
//!
//! 1. optionally ([`TsneParams::pca_dims`]) a PCA of the input to fewer dimensions
//!    ([`pca_reduce`]);
//! 2. the `k = min(N - 1, floor(3 perplexity + 1))` exact nearest neighbours of every point
//!    ([`crate::geometry::knn::neighbour_lists`]), their squared Euclidean distances rounded as
//!    scikit-learn rounds them for `f32` input (see [`sklearn_squared_distance`]);
//! 3. the conditional probabilities `p_{j|i} = exp(-beta_i d_ij^2) / sum_l exp(-beta_i d_il^2)` over
//!    those neighbours, `beta_i` by bisection so that the entropy `H_i = -sum_j p_{j|i} ln p_{j|i}`
//!    equals `ln(perplexity)` ([`binary_search_perplexity`]), and the sparse symmetric joint
//!    `P = (P_cond + P_cond^T) / sum(P_cond + P_cond^T)` (= `/(2N)`; [`joint_probabilities_nn`]);
//! 4. the initial layout: the first two principal components, scaled so that the (population)
//!    standard deviation of the first is `1e-4` ([`pca_init`]);
//! 5. gradient descent on `KL(P || Q)`, `q_ij = (1 + |y_i - y_j|^2)^-1 / Z`, with the gradient
//!    `dC/dy_i = 4 sum_j (p_ij - q_ij) (1 + |y_i - y_j|^2)^-1 (y_i - y_j)` split into the sparse
//!    attractive part and the repulsive part summed over a quadtree (Barnes-Hut, `angle` = theta;
//!    [`kl_gradient_bh`]); `P` exaggerated by `early_exaggeration` with momentum 0.5 for the first
//!    250 iterations, then momentum 0.8; per-coordinate gains (delta-bar-delta, +0.2 / x0.8,
//!    at least 0.01); scikit-learn's stopping rules (no progress in the error checked every 50
//!    iterations, gradient norm below `1e-7`) ([`optimize`]).
//!
//! Pure Rust, single-threaded apart from the neighbour search (which uses
//! [`crate::compute::par`] natively and one thread on wasm32), no clock. Cost: the exact
//! neighbour search is `O(N^2 d)`; each iteration `O(N log N)` (the quadtree walks: several points
//! adjacent in the tree are walked together, which gives exactly the sums of one walk per point).
//!
//! Differences from scikit-learn that remain (none changes the method): the layout, the quadtree
//! and `P` in the gradient are kept in `f64` (scikit-learn: `f32`), and sums run in another order;
//! the PCA initialisation is a seeded randomized subspace iteration run until the components
//! settle (scikit-learn: a randomized SVD with 7 power iterations); so the layouts are not
//! bit-identical, only equivalent (tests/golden_tsne.rs compares the KL divergence and the
//! trustworthiness). `P` itself is scikit-learn's to rounding.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::knn::{neighbour_lists, NeighbourLists};
use super::GeometryError;

/// scikit-learn's `_N_ITER_CHECK`: the error is evaluated (and the stopping rules applied) every
/// this many iterations.
pub const N_ITER_CHECK: usize = 50;

/// The progress callback is called at least every this many iterations.
pub const PROGRESS_EVERY: usize = 10;

/// scikit-learn's `_quad_tree.pyx` `EPSILON`: two points closer than this in every coordinate are
/// duplicates in the quadtree (and a leaf that close to the query point is the point itself).
const QT_EPSILON: f64 = 1e-6f32 as f64;

/// `np.finfo(np.float32).tiny`, the floor of `p` and `q` in the Barnes-Hut error.
const FLOAT32_TINY: f64 = f32::MIN_POSITIVE as f64;

/// The parameters of [`tsne`] (defaults: scikit-learn's `TSNE()` defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct TsneParams {
    /// Perplexity (effective number of neighbours), `0 < perplexity < N`. Default 30.
    pub perplexity: f64,
    /// Factor on `P` during the first [`Self::exaggeration_iter`] iterations, `>= 1`. Default 12.
    pub early_exaggeration: f64,
    /// Iterations with early exaggeration and momentum 0.5 (scikit-learn's
    /// `_EXPLORATION_MAX_ITER`). Default 250.
    pub exaggeration_iter: usize,
    /// Step size; `None` = scikit-learn's `'auto'`: `max(N / early_exaggeration / 4, 50)`.
    pub learning_rate: Option<f64>,
    /// Total iterations (both phases), `>= exaggeration_iter`. Default 1000.
    pub max_iter: usize,
    /// Barnes-Hut angle theta in `[0, 1]`: a quadtree cell of width `w` at distance `r` from the
    /// point is summarised by its centre of mass when `w^2 / r^2 < theta^2`. 0 = exact. Default 0.5.
    pub angle: f64,
    /// Stop after this many iterations without a lower error (second phase; checked every 50
    /// iterations). Default 300.
    pub n_iter_without_progress: usize,
    /// Stop when the norm of the (gain-scaled) gradient falls to this. Default `1e-7`.
    pub min_grad_norm: f64,
    /// Reduce the input to this many principal components first (commonly 50); `None` (default)
    /// uses the input as given. Must be in `2..=min(N, d)`.
    pub pca_dims: Option<usize>,
    /// Seed of the randomized PCA start blocks (the only randomness). Default 0.
    pub seed: u64,
}

impl Default for TsneParams {
    fn default() -> Self {
        TsneParams {
            perplexity: 30.0,
            early_exaggeration: 12.0,
            exaggeration_iter: 250,
            learning_rate: None,
            max_iter: 1000,
            angle: 0.5,
            n_iter_without_progress: 300,
            min_grad_norm: 1e-7,
            pca_dims: None,
            seed: 0,
        }
    }
}

/// A sparse symmetric joint probability matrix in CSR form (`n x n`), column indices ascending in
/// every row.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseP {
    /// Number of points.
    pub n: usize,
    /// Row `i` is `indptr[i]..indptr[i + 1]` of `indices` / `values`.
    pub indptr: Vec<usize>,
    /// Column indices.
    pub indices: Vec<u32>,
    /// The probabilities `p_ij`.
    pub values: Vec<f64>,
}

impl SparseP {
    /// Row `i`: its column indices (ascending) and values.
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let r = self.indptr[i]..self.indptr[i + 1];
        (&self.indices[r.clone()], &self.values[r])
    }

    /// `sum_ij p_ij` (1 up to rounding).
    pub fn sum(&self) -> f64 {
        self.values.iter().sum()
    }

    /// Checks the structure (`indptr` of `n + 1` non-decreasing offsets ending at the entry count,
    /// columns below `n`, finite non-negative values) and that `points` points go with it.
    fn check(&self, points: usize) -> Result<(), GeometryError> {
        let bad = |reason: String| {
            Err(GeometryError::InvalidParameter {
                name: "P".into(),
                reason,
            })
        };
        if points != self.n {
            return bad(format!("is {0} x {0} but the layout has {points} points", self.n));
        }
        if self.indptr.len() != self.n + 1
            || self.indptr.first() != Some(&0)
            || self.indptr.windows(2).any(|w| w[0] > w[1])
            || self.indptr.last() != Some(&self.indices.len())
            || self.indices.len() != self.values.len()
        {
            return bad("the sparse row offsets do not match its entries".into());
        }
        if self.indices.iter().any(|&j| j as usize >= self.n) {
            return bad("a column index is out of range".into());
        }
        if self.values.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
            return bad("a probability is negative or not finite".into());
        }
        Ok(())
    }
}

/// The outcome of [`tsne`] / [`optimize`].
#[derive(Debug, Clone, PartialEq)]
pub struct TsneResult {
    /// The layout, one `[x, y]` per input row.
    pub embedding: Vec<[f64; 2]>,
    /// The final KL divergence `sum_ij p_ij ln(p_ij / q_ij)` over the stored `p_ij`, with the
    /// Barnes-Hut normalisation `Z` (scikit-learn's `kl_divergence_`: evaluated at the last
    /// gradient step, before its update). When that step was not one of the final phase (run
    /// stopped, or no second phase) it is evaluated at the returned layout with the plain `P`;
    /// NaN when the run was stopped before the optimisation began.
    pub kl_divergence: f64,
    /// Gradient steps performed (scikit-learn's `n_iter_` is this minus one).
    pub iterations: usize,
    /// True when the progress callback asked to stop: `embedding` is the layout so far (the
    /// PCA initialisation if stopped before the first step).
    pub stopped_early: bool,
    /// The learning rate used.
    pub learning_rate: f64,
}

/// Number of nearest neighbours scikit-learn uses: `min(N - 1, floor(3 perplexity + 1))`.
pub fn neighbour_count(n: usize, perplexity: f64) -> usize {
    let k = (3.0 * perplexity + 1.0).floor();
    let k = if k.is_finite() && k > 0.0 { k as usize } else { 1 };
    k.min(n.saturating_sub(1))
}

/// The squared distance scikit-learn's Barnes-Hut TSNE gives its binary search for `f32` input:
/// `NearestNeighbors` returns `sqrt` in `f32` of the `f32`-rounded squared distance, TSNE squares
/// it in `f64`, and `_joint_probabilities_nn` rounds that to `f32`.
pub fn sklearn_squared_distance(distance: f64) -> f32 {
    let s = (distance * distance) as f32;
    let r = s.sqrt() as f64;
    (r * r) as f32
}

/// Conditional probabilities `p_{j|i}` over each point's neighbours: scikit-learn's
/// `_binary_search_perplexity` (at most 100 bisection steps on the precision `beta_i`, starting at
/// 1, doubling / halving until bracketed; stop when `|H_i - ln(perplexity)| <= 1e-5` with
/// `H_i = ln(sum_j e^{-beta d_j}) + beta sum_j d_j p_j`, all in `f64` over `f32` distances).
///
/// `sq_distances`: `n x k` row-major squared distances. Returns `n x k` row-major probabilities
/// (each row sums to 1). The perplexity is rounded to `f32` first, as scikit-learn does. Errors:
/// a length other than `n k`, a non-positive or non-finite perplexity (`InvalidParameter`), a
/// negative or non-finite distance (`NonFinite`, `InvalidParameter`).
pub fn binary_search_perplexity(
    sq_distances: &[f32],
    n: usize,
    k: usize,
    perplexity: f64,
) -> Result<Vec<f64>, GeometryError> {
    if n.checked_mul(k) != Some(sq_distances.len()) {
        return Err(GeometryError::InvalidParameter {
            name: "squared distances".into(),
            reason: format!("{} values do not form {n} rows of {k}", sq_distances.len()),
        });
    }
    if !(perplexity.is_finite() && perplexity > 0.0) {
        return Err(GeometryError::InvalidParameter {
            name: "perplexity".into(),
            reason: format!("must be a positive number, got {perplexity}"),
        });
    }
    if let Some(pos) = sq_distances.iter().position(|v| !v.is_finite()) {
        return Err(GeometryError::NonFinite {
            row: pos / k,
            col: pos % k,
        });
    }
    if sq_distances.iter().any(|&v| v < 0.0) {
        return Err(GeometryError::InvalidParameter {
            name: "squared distances".into(),
            reason: "must not be negative".into(),
        });
    }
    Ok(binary_search(sq_distances, n, k, perplexity))
}

/// [`binary_search_perplexity`] without the checks.
fn binary_search(sq_distances: &[f32], n: usize, k: usize, perplexity: f64) -> Vec<f64> {
    const N_STEPS: usize = 100;
    let tolerance = 1e-5f32 as f64;
    let epsilon_dbl = 1e-8f32 as f64;
    let desired_entropy = (perplexity as f32 as f64).ln();
    let mut p = vec![0f64; n * k];
    if k == 0 {
        return p;
    }
    for i in 0..n {
        let d = &sq_distances[i * k..(i + 1) * k];
        let row = &mut p[i * k..(i + 1) * k];
        let (mut beta_min, mut beta_max, mut beta) = (f64::NEG_INFINITY, f64::INFINITY, 1.0f64);
        for _ in 0..N_STEPS {
            let mut sum_p = 0.0;
            for (pj, &dj) in row.iter_mut().zip(d) {
                *pj = (-(dj as f64) * beta).exp();
                sum_p += *pj;
            }
            if sum_p == 0.0 {
                sum_p = epsilon_dbl;
            }
            let mut sum_dp = 0.0;
            for (pj, &dj) in row.iter_mut().zip(d) {
                *pj /= sum_p;
                sum_dp += dj as f64 * *pj;
            }
            let entropy = sum_p.ln() + beta * sum_dp;
            let diff = entropy - desired_entropy;
            if diff.abs() <= tolerance {
                break;
            }
            if diff > 0.0 {
                beta_min = beta;
                beta = if beta_max == f64::INFINITY {
                    beta * 2.0
                } else {
                    (beta + beta_max) / 2.0
                };
            } else {
                beta_max = beta;
                beta = if beta_min == f64::NEG_INFINITY {
                    beta / 2.0
                } else {
                    (beta + beta_min) / 2.0
                };
            }
        }
    }
    p
}

/// The sparse joint probabilities from neighbour lists: scikit-learn's `_joint_probabilities_nn`.
/// Each row's neighbours are put in index order (as scikit-learn's sorted CSR rows), their
/// distances turned into [`sklearn_squared_distance`], the conditional `P` found by
/// [`binary_search_perplexity`], then `P = (P + P^T) / max(sum(P + P^T), eps)`.
pub fn joint_probabilities_nn(lists: &NeighbourLists, perplexity: f64) -> SparseP {
    let (n, k) = (lists.n, lists.l);
    let mut cols = vec![0u32; n * k];
    let mut sq = vec![0f32; n * k];
    let mut pairs: Vec<(u32, f32)> = Vec::with_capacity(k);
    for i in 0..n {
        pairs.clear();
        pairs.extend(
            lists
                .indices(i)
                .iter()
                .zip(lists.distances(i))
                .map(|(&j, &dist)| (j, sklearn_squared_distance(dist))),
        );
        pairs.sort_unstable_by_key(|&(j, _)| j);
        for (t, &(j, s)) in pairs.iter().enumerate() {
            cols[i * k + t] = j;
            sq[i * k + t] = s;
        }
    }
    let cond = binary_search(&sq, n, k, perplexity);
    symmetrize(n, k, &cols, &cond)
}

/// `(P + P^T) / sum`, for `P` given as `n` rows of `k` (column, value) pairs; entries that add up
/// to zero are not stored.
fn symmetrize(n: usize, k: usize, cols: &[u32], vals: &[f64]) -> SparseP {
    let mut counts = vec![k; n];
    for &j in cols {
        counts[j as usize] += 1;
    }
    let mut start = vec![0usize; n + 1];
    for i in 0..n {
        start[i + 1] = start[i] + counts[i];
    }
    let mut fill = start.clone();
    let mut entries = vec![(0u32, 0f64); start[n]];
    for i in 0..n {
        for t in 0..k {
            let (j, v) = (cols[i * k + t], vals[i * k + t]);
            entries[fill[i]] = (j, v);
            fill[i] += 1;
            let ju = j as usize;
            entries[fill[ju]] = (i as u32, v);
            fill[ju] += 1;
        }
    }
    let mut indptr = Vec::with_capacity(n + 1);
    let mut indices = Vec::with_capacity(entries.len());
    let mut values = Vec::with_capacity(entries.len());
    indptr.push(0);
    for i in 0..n {
        let row = &mut entries[start[i]..start[i + 1]];
        row.sort_unstable_by_key(|&(j, _)| j);
        let mut t = 0;
        while t < row.len() {
            let (j, mut v) = row[t];
            t += 1;
            while t < row.len() && row[t].0 == j {
                v += row[t].1;
                t += 1;
            }
            // scipy's sparse addition does not store zeros (rows whose far neighbours underflow).
            if v != 0.0 {
                indices.push(j);
                values.push(v);
            }
        }
        indptr.push(indices.len());
    }
    let total = values.iter().sum::<f64>().max(f64::EPSILON);
    for v in &mut values {
        *v /= total;
    }
    SparseP {
        n,
        indptr,
        indices,
        values,
    }
}

/// The input similarities of [`tsne`] for `x` (`n x d` row-major): exact neighbours
/// ([`neighbour_count`] of them) and [`joint_probabilities_nn`]. `progress` receives the
/// neighbour search's fraction done.
pub fn input_similarities(
    x: &[f64],
    n: usize,
    d: usize,
    perplexity: f64,
    progress: &mut dyn FnMut(f64),
) -> Result<SparseP, GeometryError> {
    check_matrix(x, n, d)?;
    check_perplexity(perplexity, n)?;
    let lists = neighbour_lists(x, n, d, neighbour_count(n, perplexity), progress);
    Ok(joint_probabilities_nn(&lists, perplexity))
}

// ---------------------------------------------------------------------------------------------
// PCA (randomized subspace iteration)
// ---------------------------------------------------------------------------------------------

/// Top-`k` principal components of `x` (`n x d`): returns the scores (`n x k` row-major,
/// `X_centred V`), largest variance first, each component's largest-magnitude loading positive
/// (scikit-learn's `svd_flip` with `u_based_decision=False`).
///
/// Randomized subspace iteration (Halko, Martinsson and Tropp 2011, as scikit-learn's
/// `randomized_svd`): a Gaussian start block of `min(k + 10, n, d)` columns (ChaCha8 from
/// `seed`), passes `V <- orth(X_c^T X_c V)` (centring implicit, modified Gram-Schmidt twice), each
/// followed by Rayleigh-Ritz on `V^T X_c^T X_c V` (cyclic Jacobi). At least `min_iter` passes;
/// then until no top-`k` unit component moves by more than `tol` (Euclidean, up to sign) from one
/// pass to the next, or `max_iter` passes.
#[allow(clippy::too_many_arguments)]
fn principal_components(
    x: &[f64],
    n: usize,
    d: usize,
    k: usize,
    seed: u64,
    min_iter: usize,
    max_iter: usize,
    tol: f64,
) -> Vec<f64> {
    let b = (k + 10).min(n).min(d);
    let mut mean = vec![0f64; d];
    for r in 0..n {
        for (m, v) in mean.iter_mut().zip(&x[r * d..(r + 1) * d]) {
            *m += v;
        }
    }
    for m in &mut mean {
        *m /= n as f64;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // vt: b x d, the rows are the basis vectors.
    let mut vt: Vec<f64> = (0..b * d).map(|_| StandardNormal.sample(&mut rng)).collect();
    orthonormalize_rows(&mut vt, b, d);
    let mut y = vec![0f64; n * b];
    let mut m = vec![0f64; b * b];
    let mut comps = vec![0f64; k * d];
    let mut prev: Vec<f64> = Vec::new();
    let mut iter = 0;
    let evecs = loop {
        // y = X_c V (n x b); m = y^T y = V^T X_c^T X_c V.
        project(x, n, d, &mean, &vt, b, &mut y);
        gram_columns(&y, n, b, &mut m);
        iter += 1;
        let (_, evecs) = jacobi_eigen(&m, b);
        // The top-k Ritz vectors (rows of U^T V^T).
        comps.iter_mut().for_each(|v| *v = 0.0);
        for c in 0..k {
            let row = &mut comps[c * d..(c + 1) * d];
            for j in 0..b {
                let u = evecs[j * b + c];
                for (r, v) in row.iter_mut().zip(&vt[j * d..(j + 1) * d]) {
                    *r += u * v;
                }
            }
        }
        let settled = !prev.is_empty()
            && (0..k).all(|c| {
                let (a, p) = (&comps[c * d..(c + 1) * d], &prev[c * d..(c + 1) * d]);
                let minus: f64 = a.iter().zip(p).map(|(u, v)| (u - v) * (u - v)).sum();
                let plus: f64 = a.iter().zip(p).map(|(u, v)| (u + v) * (u + v)).sum();
                minus.min(plus).sqrt() <= tol
            });
        if iter >= max_iter || (iter >= min_iter && settled) {
            break evecs;
        }
        prev.clone_from(&comps);
        // vt = orth((X_c^T y)^T) = orth(y^T X - (y^T 1) mean^T).
        back_project(x, n, d, &mean, &y, b, &mut vt);
        orthonormalize_rows(&mut vt, b, d);
    };
    // Scores: y U (top k).
    let mut scores = vec![0f64; n * k];
    for r in 0..n {
        for c in 0..k {
            scores[r * k + c] = (0..b).map(|j| y[r * b + j] * evecs[j * b + c]).sum();
        }
    }
    for c in 0..k {
        let row = &comps[c * d..(c + 1) * d];
        let mut best = 0;
        for (t, v) in row.iter().enumerate() {
            if v.abs() > row[best].abs() {
                best = t;
            }
        }
        if row[best] < 0.0 {
            for r in 0..n {
                scores[r * k + c] = -scores[r * k + c];
            }
        }
    }
    scores
}

/// `y (n x b) = (x - 1 mean^T) V` with `V = vt^T`.
fn project(x: &[f64], n: usize, d: usize, mean: &[f64], vt: &[f64], b: usize, y: &mut [f64]) {
    // SAFETY: A = x (n x d, rsa = d, csa = 1), B(c, j) = vt[j * d + c] (d x b, rsb = 1, csb = d),
    // C = y (n x b, rsc = b, csc = 1): all indices in bounds of the slices (lengths n d, b d, n b).
    unsafe {
        crate::compute::gemm::dgemm(
            n,
            d,
            b,
            1.0,
            x.as_ptr(),
            d as isize,
            1,
            vt.as_ptr(),
            1,
            d as isize,
            0.0,
            y.as_mut_ptr(),
            b as isize,
            1,
        );
    }
    let shift: Vec<f64> = (0..b)
        .map(|j| mean.iter().zip(&vt[j * d..(j + 1) * d]).map(|(m, v)| m * v).sum())
        .collect();
    for r in 0..n {
        for (v, s) in y[r * b..(r + 1) * b].iter_mut().zip(&shift) {
            *v -= s;
        }
    }
}

/// `vt (b x d) = y^T (x - 1 mean^T)`.
fn back_project(x: &[f64], n: usize, d: usize, mean: &[f64], y: &[f64], b: usize, vt: &mut [f64]) {
    // SAFETY: A(j, r) = y[r * b + j] (b x n, rsa = 1, csa = b), B = x (n x d, rsb = d, csb = 1),
    // C = vt (b x d, rsc = d, csc = 1): in bounds (lengths n b, n d, b d).
    unsafe {
        crate::compute::gemm::dgemm(
            b,
            n,
            d,
            1.0,
            y.as_ptr(),
            1,
            b as isize,
            x.as_ptr(),
            d as isize,
            1,
            0.0,
            vt.as_mut_ptr(),
            d as isize,
            1,
        );
    }
    for j in 0..b {
        let col_sum: f64 = (0..n).map(|r| y[r * b + j]).sum();
        for (v, m) in vt[j * d..(j + 1) * d].iter_mut().zip(mean) {
            *v -= col_sum * m;
        }
    }
}

/// `m (b x b) = y^T y` for `y` `n x b` row-major.
fn gram_columns(y: &[f64], n: usize, b: usize, m: &mut [f64]) {
    m.iter_mut().for_each(|v| *v = 0.0);
    for r in 0..n {
        let row = &y[r * b..(r + 1) * b];
        for i in 0..b {
            let yi = row[i];
            for j in i..b {
                m[i * b + j] += yi * row[j];
            }
        }
    }
    for i in 0..b {
        for j in 0..i {
            m[i * b + j] = m[j * b + i];
        }
    }
}

/// Modified Gram-Schmidt, twice, on the `b` rows of `vt` (`b x d`). A row that vanishes (rank
/// deficiency) is replaced by a unit vector orthogonal to the previous ones.
fn orthonormalize_rows(vt: &mut [f64], b: usize, d: usize) {
    for _pass in 0..2 {
        for j in 0..b {
            let (done, rest) = vt.split_at_mut(j * d);
            let row = &mut rest[..d];
            let norm0 = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            for i in 0..j {
                let q = &done[i * d..(i + 1) * d];
                let dot: f64 = q.iter().zip(row.iter()).map(|(a, b)| a * b).sum();
                for (r, a) in row.iter_mut().zip(q) {
                    *r -= dot * a;
                }
            }
            let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 1e-12 * norm0.max(f64::MIN_POSITIVE) && norm > 0.0 {
                row.iter_mut().for_each(|v| *v /= norm);
            } else {
                // Replace by the first coordinate vector that is not in the span so far.
                for e in 0..d {
                    row.iter_mut().for_each(|v| *v = 0.0);
                    row[e] = 1.0;
                    for i in 0..j {
                        let q = &done[i * d..(i + 1) * d];
                        let dot = q[e];
                        for (r, a) in row.iter_mut().zip(q) {
                            *r -= dot * a;
                        }
                    }
                    let nn = row.iter().map(|v| v * v).sum::<f64>().sqrt();
                    if nn > 1e-6 {
                        row.iter_mut().for_each(|v| *v /= nn);
                        break;
                    }
                }
            }
        }
    }
}

/// Eigen-decomposition of the symmetric `b x b` matrix `a` by cyclic Jacobi rotations: returns the
/// eigenvalues in descending order and the eigenvectors as the columns of a `b x b` row-major
/// matrix (column `c` belongs to eigenvalue `c`).
fn jacobi_eigen(a: &[f64], b: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0f64; b * b];
    for i in 0..b {
        v[i * b + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..b)
            .flat_map(|i| (0..b).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * b + j] * a[i * b + j])
            .sum();
        let diag: f64 = (0..b).map(|i| a[i * b + i] * a[i * b + i]).sum();
        if off <= 1e-30 * diag || off == 0.0 {
            break;
        }
        for p in 0..b {
            for q in p + 1..b {
                let apq = a[p * b + q];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (a[p * b + p], a[q * b + q]);
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..b {
                    let (arp, arq) = (a[r * b + p], a[r * b + q]);
                    a[r * b + p] = c * arp - s * arq;
                    a[r * b + q] = s * arp + c * arq;
                }
                for r in 0..b {
                    let (apr, aqr) = (a[p * b + r], a[q * b + r]);
                    a[p * b + r] = c * apr - s * aqr;
                    a[q * b + r] = s * apr + c * aqr;
                }
                for r in 0..b {
                    let (vrp, vrq) = (v[r * b + p], v[r * b + q]);
                    v[r * b + p] = c * vrp - s * vrq;
                    v[r * b + q] = s * vrp + c * vrq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..b).collect();
    order.sort_by(|&i, &j| a[j * b + j].total_cmp(&a[i * b + i]).then(i.cmp(&j)));
    let evals = order.iter().map(|&i| a[i * b + i]).collect();
    let mut evecs = vec![0f64; b * b];
    for (c, &i) in order.iter().enumerate() {
        for r in 0..b {
            evecs[r * b + c] = v[r * b + i];
        }
    }
    (evals, evecs)
}

/// PCA of `x` (`n x d` row-major) to `k` dimensions: the scores `X_c V_k` (`n x k` row-major) of
/// the top-`k` principal components (sign: each component's largest loading positive).
/// Randomized subspace iteration as scikit-learn's `PCA(svd_solver='randomized')`: oversampling
/// 10, start block from `seed`, 8 passes of `X_c^T X_c` (scikit-learn's 7 power iterations plus
/// its range pass), not iterated to convergence (a preprocessing step, as in common t-SNE
/// practice). Requires `2 <= k <= min(n, d)`.
pub fn pca_reduce(x: &[f64], n: usize, d: usize, k: usize, seed: u64) -> Result<Vec<f64>, GeometryError> {
    check_matrix(x, n, d)?;
    if k < 2 || k > d.min(n) {
        return Err(GeometryError::InvalidParameter {
            name: "pca_dims".into(),
            reason: format!(
                "must be between 2 and min(points, dimensions) = {}, got {k}",
                d.min(n)
            ),
        });
    }
    Ok(principal_components(x, n, d, k, seed, 8, 8, 0.0))
}

/// scikit-learn's `init='pca'`: the first two principal-component scores of `x` (`n x d`),
/// divided by the population standard deviation of the first and multiplied by `1e-4` (so the
/// first coordinate has standard deviation `1e-4`, the second its PCA proportion of it). The
/// components come from a seeded randomized subspace iteration (block of 12) run until the two
/// unit components move by at most `1e-10` per pass, at least 8 and at most 30 passes: at least
/// as accurate as scikit-learn's randomized SVD (7 power iterations), exact up to rounding when
/// the spectrum has a gap.
/// Error if the cloud has no spread (`DegenerateCloud`).
pub fn pca_init(x: &[f64], n: usize, d: usize, seed: u64) -> Result<Vec<[f64; 2]>, GeometryError> {
    check_matrix(x, n, d)?;
    if n < 2 {
        return Err(GeometryError::TooFewPoints {
            n,
            needed: 2,
            purpose: "a PCA initialisation".into(),
        });
    }
    if d == 1 {
        // A single dimension: the one component is the centred coordinate, the second zero.
        let mean = x.iter().sum::<f64>() / n as f64;
        let cols: Vec<[f64; 2]> = x.iter().map(|v| [v - mean, 0.0]).collect();
        return scale_init(cols);
    }
    let scores = principal_components(x, n, d, 2, seed, 8, 30, 1e-10);
    scale_init(scores.chunks_exact(2).map(|s| [s[0], s[1]]).collect())
}

fn scale_init(mut y: Vec<[f64; 2]>) -> Result<Vec<[f64; 2]>, GeometryError> {
    let n = y.len() as f64;
    let mean = y.iter().map(|p| p[0]).sum::<f64>() / n;
    let std = (y.iter().map(|p| (p[0] - mean) * (p[0] - mean)).sum::<f64>() / n).sqrt();
    if !(std.is_finite() && std > 0.0) {
        return Err(GeometryError::DegenerateCloud {
            reason: "all points are identical, so the PCA initialisation of t-SNE has no spread".into(),
        });
    }
    let f = 1e-4 / std;
    for p in &mut y {
        p[0] *= f;
        p[1] *= f;
    }
    Ok(y)
}

// ---------------------------------------------------------------------------------------------
// Quadtree (scikit-learn's _QuadTree) and the gradient
// ---------------------------------------------------------------------------------------------

const NONE: u32 = u32::MAX;

/// A cell while the tree is built (scikit-learn's `Cell`, 2-D).
#[derive(Clone, Copy)]
struct BuildCell {
    min: [f64; 2],
    max: [f64; 2],
    center: [f64; 2],
    squared_max_width: f64,
    /// A leaf's point (the first inserted, if it holds duplicates).
    barycenter: [f64; 2],
    /// An inner cell's coordinate sums (its centre of mass is `sum / size`).
    sum: [f64; 2],
    size: u32,
    children: [u32; 4],
    is_leaf: bool,
    /// A leaf's (first) point.
    point: u32,
}

/// A cell of the flattened tree, in depth-first pre-order: the first child of a cell is the next
/// entry, `skip` is the entry after its subtree. Leaves have `w2 < 0`.
#[derive(Clone, Copy)]
struct Node {
    x: f64,
    y: f64,
    w2: f64,
    size: f64,
    skip: u32,
}

/// Reusable buffers for the Barnes-Hut gradient.
#[derive(Default)]
struct Workspace {
    cells: Vec<BuildCell>,
    nodes: Vec<Node>,
    stack: Vec<u32>,
    order: Vec<u32>,
    subtree: Vec<u32>,
    duplicates: Vec<u32>,
    point_order: Vec<u32>,
    group_stack: Vec<(u32, u32)>,
    neg: Vec<[f64; 2]>,
    sums: Vec<f64>,
}

impl Workspace {
    /// Builds the quadtree of `y` exactly as scikit-learn's `_QuadTree.build_tree` (bounding box
    /// `[min, max']` with `max' = max(M (1 + 1e-3 sign M), M + 1e-3)`, points inserted in order,
    /// cells split at their centres, duplicates within 1e-6 share a leaf), then flattens it.
    fn build(&mut self, y: &[[f64; 2]]) {
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for p in y {
            for a in 0..2 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        let mut root = BuildCell {
            min: lo,
            max: [0.0; 2],
            center: [0.0; 2],
            squared_max_width: 0.0,
            barycenter: [0.0; 2],
            sum: [0.0; 2],
            size: 0,
            children: [NONE; 4],
            is_leaf: true,
            point: NONE,
        };
        for (a, &m) in hi.iter().enumerate() {
            root.max[a] = (m * (1.0 + 1e-3 * sign(m))).max(m + 1e-3);
            root.center[a] = (root.max[a] + root.min[a]) / 2.0;
            let w = root.max[a] - root.min[a];
            root.squared_max_width = root.squared_max_width.max(w * w);
        }
        self.cells.clear();
        self.cells.push(root);
        self.duplicates.clear();
        for (i, p) in y.iter().enumerate() {
            self.insert(*p, i as u32);
        }
        // Flatten: pre-order, children in index order (scikit-learn's summarize order).
        let cells = &self.cells;
        let order = &mut self.order;
        order.clear();
        self.stack.clear();
        self.stack.push(0);
        while let Some(c) = self.stack.pop() {
            order.push(c);
            let cell = &cells[c as usize];
            if !cell.is_leaf {
                for &ch in cell.children.iter().rev() {
                    if ch != NONE {
                        self.stack.push(ch);
                    }
                }
            }
        }
        // Subtree sizes bottom-up (reverse pre-order visits children before parents).
        let subtree = &mut self.subtree;
        subtree.clear();
        subtree.resize(cells.len(), 1);
        for &c in order.iter().rev() {
            let cell = &cells[c as usize];
            if !cell.is_leaf {
                let s: u32 = cell
                    .children
                    .iter()
                    .filter(|&&ch| ch != NONE)
                    .map(|&ch| subtree[ch as usize])
                    .sum();
                subtree[c as usize] = 1 + s;
            }
        }
        // The points in tree order (leaves in pre-order, then the duplicates): nearby points are
        // walked together in `repulsion`.
        self.point_order.clear();
        self.point_order.extend(
            order
                .iter()
                .map(|&c| &cells[c as usize])
                .filter(|c| c.is_leaf)
                .map(|c| c.point),
        );
        self.point_order.extend_from_slice(&self.duplicates);
        self.nodes.clear();
        self.nodes.extend(order.iter().enumerate().map(|(t, &c)| {
            let cell = &cells[c as usize];
            let [x, y] = if cell.is_leaf {
                cell.barycenter
            } else {
                let size = cell.size as f64;
                [cell.sum[0] / size, cell.sum[1] / size]
            };
            Node {
                x,
                y,
                w2: if cell.is_leaf {
                    -1.0
                } else {
                    cell.squared_max_width
                },
                size: cell.size as f64,
                skip: t as u32 + subtree[c as usize],
            }
        }));
    }

    /// scikit-learn's `_QuadTree.insert_point`, iteratively.
    fn insert(&mut self, p: [f64; 2], index: u32) {
        let mut c = 0usize;
        loop {
            let cell = &mut self.cells[c];
            if cell.size == 0 {
                cell.size = 1;
                cell.barycenter = p;
                cell.point = index;
                return;
            }
            if !cell.is_leaf {
                // scikit-learn updates the mean, (n b + p) / (n + 1); the sums give the same.
                cell.sum[0] += p[0];
                cell.sum[1] += p[1];
                cell.size += 1;
                let q = quadrant(&p, &cell.center);
                let ch = cell.children[q];
                if ch == NONE {
                    self.new_child(c, p, index, 1);
                    return;
                }
                c = ch as usize;
                continue;
            }
            if (p[0] - cell.barycenter[0]).abs() <= QT_EPSILON
                && (p[1] - cell.barycenter[1]).abs() <= QT_EPSILON
            {
                cell.size += 1;
                self.duplicates.push(index);
                return;
            }
            // Split: move the leaf's point(s) into a child (as `size` copies of the first), then
            // insert again here.
            let (b, i, s) = (cell.barycenter, cell.point, cell.size);
            cell.sum = [b[0] * s as f64, b[1] * s as f64];
            self.new_child(c, b, i, s);
        }
    }

    /// scikit-learn's `_insert_point_in_new_child`.
    fn new_child(&mut self, parent: usize, p: [f64; 2], index: u32, size: u32) {
        let id = self.cells.len() as u32;
        let par = &mut self.cells[parent];
        par.is_leaf = false;
        let q = quadrant(&p, &par.center);
        par.children[q] = id;
        let mut child = BuildCell {
            min: [0.0; 2],
            max: [0.0; 2],
            center: [0.0; 2],
            squared_max_width: 0.0,
            barycenter: p,
            sum: [0.0; 2],
            size,
            children: [NONE; 4],
            is_leaf: true,
            point: index,
        };
        for (a, &pa) in p.iter().enumerate() {
            if pa >= par.center[a] {
                child.min[a] = par.center[a];
                child.max[a] = par.max[a];
            } else {
                child.min[a] = par.min[a];
                child.max[a] = par.center[a];
            }
            child.center[a] = (child.min[a] + child.max[a]) / 2.0;
            let w = child.max[a] - child.min[a];
            child.squared_max_width = child.squared_max_width.max(w * w);
        }
        self.cells.push(child);
    }

    /// For every point `y[i]`: `sums[i] = sum_j w_ij` and `neg[i] = sum_j w_ij^2 (y_i - y_j)` over
    /// the tree, summarising a cell of squared width `w^2` whose centre of mass is at squared
    /// distance `r^2` when `w^2 < theta^2 r^2`, and skipping leaves within 1e-6 of the point in
    /// both coordinates (the point itself and its duplicates): scikit-learn's `summarize` +
    /// `compute_gradient_negative` (`dof = 1`), each point's cells visited in its order.
    ///
    /// [`GROUP`] points adjacent in the tree are walked together: a cell is entered when it is
    /// not a summary for some point still walking there, and each point accumulates only the cells
    /// that its own walk would use, in the same order, so the sums are exactly those of one walk
    /// per point; the group only shares the loads and the branches.
    fn repulsion(&mut self, y: &[[f64; 2]], theta2: f64, sums: &mut [f64], neg: &mut [[f64; 2]]) {
        let nodes = &self.nodes[..];
        let len = nodes.len();
        let stack = &mut self.group_stack;
        for group in self.point_order.chunks(GROUP) {
            let g = group.len();
            let mut px = [0f64; GROUP];
            let mut py = [0f64; GROUP];
            for (l, &i) in group.iter().enumerate() {
                [px[l], py[l]] = y[i as usize];
            }
            let mut sq = [0f64; GROUP];
            let mut fx = [0f64; GROUP];
            let mut fy = [0f64; GROUP];
            // Lanes still walking (one bit per lane), as 0.0 / 1.0 factors and as a bit mask.
            let all: u32 = (1 << g) - 1;
            let mut active = all;
            stack.clear();
            let mut j = 0usize;
            while j < len {
                // Leaving subtrees: restore the lanes that were walking before entering them.
                while let Some(&(end, mask)) = stack.last() {
                    if end as usize != j {
                        break;
                    }
                    active = mask;
                    stack.pop();
                }
                let nd = nodes[j];
                let leaf = nd.w2 < 0.0;
                let mut descend = 0u32;
                for l in 0..GROUP {
                    let dx = px[l] - nd.x;
                    let dy = py[l] - nd.y;
                    let d2 = dx * dx + dy * dy;
                    let on = (active >> l) & 1 == 1;
                    let accept = nd.w2 < theta2 * d2;
                    let is_self = leaf & (dx.abs() <= QT_EPSILON) & (dy.abs() <= QT_EPSILON);
                    let keep = if on & accept & !is_self { nd.size } else { 0.0 };
                    let q = 1.0 / (1.0 + d2);
                    let kq = keep * q;
                    sq[l] += kq;
                    let m = kq * q;
                    fx[l] += m * dx;
                    fy[l] += m * dy;
                    descend |= ((on & !accept) as u32) << l;
                }
                if descend != 0 {
                    stack.push((nd.skip, active));
                    active = descend;
                    j += 1;
                } else {
                    j = nd.skip as usize;
                }
            }
            for (l, &i) in group.iter().enumerate() {
                sums[i as usize] = sq[l];
                neg[i as usize] = [fx[l], fy[l]];
            }
        }
    }

    /// The Barnes-Hut KL gradient into `grad`; returns the error (NaN unless `compute_error`).
    fn gradient(
        &mut self,
        y: &[[f64; 2]],
        p: &SparseP,
        p_scale: f64,
        angle: f64,
        compute_error: bool,
        grad: &mut [[f64; 2]],
    ) -> f64 {
        let n = y.len();
        self.build(y);
        let theta2 = angle * angle;
        let mut neg = std::mem::take(&mut self.neg);
        let mut sums = std::mem::take(&mut self.sums);
        neg.resize(n, [0.0; 2]);
        sums.resize(n, 0.0);
        self.repulsion(y, theta2, &mut sums, &mut neg);
        let sum_q = sums.iter().sum::<f64>().max(f64::EPSILON);
        let mut error = 0.0;
        for i in 0..n {
            let yi = y[i];
            let range = p.indptr[i]..p.indptr[i + 1];
            let (cols, vals) = (&p.indices[range.clone()], &p.values[range]);
            let (mut fx, mut fy) = (0.0, 0.0);
            if compute_error {
                for (&j, &v) in cols.iter().zip(vals) {
                    let yj = y[j as usize];
                    let (dx, dy) = (yi[0] - yj[0], yi[1] - yj[1]);
                    let q = 1.0 / (1.0 + dx * dx + dy * dy);
                    let pij = v * p_scale;
                    let qn = q / sum_q;
                    error += pij * (pij.max(FLOAT32_TINY) / qn.max(FLOAT32_TINY)).ln();
                    let m = pij * q;
                    fx += m * dx;
                    fy += m * dy;
                }
            } else {
                for (&j, &v) in cols.iter().zip(vals) {
                    let yj = y[j as usize];
                    let (dx, dy) = (yi[0] - yj[0], yi[1] - yj[1]);
                    let m = v * p_scale / (1.0 + dx * dx + dy * dy);
                    fx += m * dx;
                    fy += m * dy;
                }
            }
            grad[i] = [4.0 * (fx - neg[i][0] / sum_q), 4.0 * (fy - neg[i][1] / sum_q)];
        }
        self.neg = neg;
        self.sums = sums;
        if compute_error {
            error
        } else {
            f64::NAN
        }
    }
}

/// Points walked through the quadtree together (see `Workspace::repulsion`).
const GROUP: usize = 8;

fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

#[inline]
fn quadrant(p: &[f64; 2], center: &[f64; 2]) -> usize {
    ((p[0] >= center[0]) as usize) * 2 + (p[1] >= center[1]) as usize
}

/// The Barnes-Hut gradient of `KL(P' || Q)` with `P' = p_scale P` (van der Maaten 2014, eq. 4-5;
/// scikit-learn's `_kl_divergence_bh`, `dof = 1`):
/// `dC/dy_i = 4 (sum_j p'_ij w_ij (y_i - y_j) - (1/Z) sum_j w_ij^2 (y_i - y_j))`,
/// `w_ij = (1 + |y_i - y_j|^2)^-1`, the attractive sum over the stored `p_ij`, the repulsive sum and
/// `Z = sum_{i != j} w_ij` over the quadtree with angle `theta` (0 = exact). The error is
/// `sum_ij p'_ij ln(max(p'_ij, tiny) / max(w_ij / Z, tiny))` over the stored entries (`tiny` the
/// smallest normal `f32`). Returns `(error, gradient)`; errors: `P` not for `y.len()` points or
/// malformed, an angle outside `[0, 1]` or a non-finite `p_scale` (`InvalidParameter`), a
/// non-finite coordinate (`NonFinite`).
pub fn kl_gradient_bh(
    y: &[[f64; 2]],
    p: &SparseP,
    p_scale: f64,
    angle: f64,
) -> Result<(f64, Vec<[f64; 2]>), GeometryError> {
    check_gradient_input(y, p, p_scale)?;
    if !(0.0..=1.0).contains(&angle) {
        return Err(GeometryError::InvalidParameter {
            name: "angle".into(),
            reason: format!("must be between 0 and 1, got {angle}"),
        });
    }
    let mut ws = Workspace::default();
    let mut grad = vec![[0.0; 2]; y.len()];
    let e = ws.gradient(y, p, p_scale, angle, true, &mut grad);
    Ok((e, grad))
}

fn check_gradient_input(y: &[[f64; 2]], p: &SparseP, p_scale: f64) -> Result<(), GeometryError> {
    p.check(y.len())?;
    if !p_scale.is_finite() {
        return Err(GeometryError::InvalidParameter {
            name: "P scale".into(),
            reason: format!("must be finite, got {p_scale}"),
        });
    }
    check_layout(y)
}

fn check_layout(y: &[[f64; 2]]) -> Result<(), GeometryError> {
    match y
        .iter()
        .enumerate()
        .find_map(|(r, v)| v.iter().position(|c| !c.is_finite()).map(|c| (r, c)))
    {
        Some((row, col)) => Err(GeometryError::NonFinite { row, col }),
        None => Ok(()),
    }
}

/// The exact `O(N^2)` gradient and KL divergence (scikit-learn's `_kl_divergence`, for a sparse
/// `P' = p_scale P`): `q_ij = w_ij / Z`, `Z = sum_{i != j} w_ij`,
/// `dC/dy_i = 4 sum_j (p'_ij - q_ij) w_ij (y_i - y_j)`, `C = sum_ij p'_ij ln(p'_ij / q_ij)` over the
/// stored entries. For tests and small `N`. Errors as [`kl_gradient_bh`].
pub fn kl_gradient_exact(
    y: &[[f64; 2]],
    p: &SparseP,
    p_scale: f64,
) -> Result<(f64, Vec<[f64; 2]>), GeometryError> {
    check_gradient_input(y, p, p_scale)?;
    let n = y.len();
    let w = |i: usize, j: usize| {
        let dx = y[i][0] - y[j][0];
        let dy = y[i][1] - y[j][1];
        1.0 / (1.0 + dx * dx + dy * dy)
    };
    let mut z = 0.0;
    for i in 0..n {
        for j in 0..n {
            if i != j {
                z += w(i, j);
            }
        }
    }
    let mut grad = vec![[0.0; 2]; n];
    let mut error = 0.0;
    for i in 0..n {
        let (mut gx, mut gy) = (0.0, 0.0);
        for j in 0..n {
            if i == j {
                continue;
            }
            let wij = w(i, j);
            let m = -(wij / z) * wij;
            gx += m * (y[i][0] - y[j][0]);
            gy += m * (y[i][1] - y[j][1]);
        }
        for t in p.indptr[i]..p.indptr[i + 1] {
            let j = p.indices[t] as usize;
            let pij = p.values[t] * p_scale;
            let wij = w(i, j);
            gx += pij * wij * (y[i][0] - y[j][0]);
            gy += pij * wij * (y[i][1] - y[j][1]);
            if pij > 0.0 {
                error += pij * (pij / (wij / z)).ln();
            }
        }
        grad[i] = [4.0 * gx, 4.0 * gy];
    }
    Ok((error, grad))
}

// ---------------------------------------------------------------------------------------------
// Optimisation
// ---------------------------------------------------------------------------------------------

/// The learning rate of `params` for `n` points: the explicit one, or scikit-learn's `'auto'`
/// `max(n / early_exaggeration / 4, 50)`.
pub fn learning_rate(params: &TsneParams, n: usize) -> f64 {
    params
        .learning_rate
        .unwrap_or_else(|| (n as f64 / params.early_exaggeration / 4.0).max(50.0))
}

/// Gradient descent from `init` on `KL(P || Q)`: scikit-learn's `TSNE._tsne` schedule with
/// `_gradient_descent` (van der Maaten 2014, section 5): phase 1 (`exaggeration_iter` iterations,
/// `P` times `early_exaggeration`, momentum 0.5), phase 2 (up to `max_iter` in all, momentum 0.8);
/// each phase starts with zero update and unit gains. Per iteration, per coordinate:
/// `gain <- gain + 0.2` if `update * grad < 0` else `gain * 0.8`, at least 0.01;
/// `update <- momentum update - learning_rate gain grad`; `y <- y + update`. Every 50th iteration
/// the error is evaluated: the phase ends when it has not improved for `n_iter_without_progress`
/// iterations (phase 1: `exaggeration_iter`) or the gain-scaled gradient norm is at most
/// `min_grad_norm`.
///
/// `progress(fraction of max_iter done)` is called at least every [`PROGRESS_EVERY`] iterations
/// and returns whether to go on: `false` stops the run, which then returns `Ok` with the layout
/// so far and `stopped_early = true`. A final `progress(1.0)` is made (its answer ignored) when
/// the run ends by itself.
pub fn optimize(
    p: &SparseP,
    init: Vec<[f64; 2]>,
    params: &TsneParams,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<TsneResult, GeometryError> {
    let n = p.n;
    check_params(params, n)?;
    p.check(init.len())?;
    check_layout(&init)?;
    let lr = learning_rate(params, n);
    let mut y = init;
    let mut ws = Workspace::default();
    let mut grad = vec![[0.0f64; 2]; n];
    let mut update = vec![[0.0f64; 2]; n];
    let mut gains = vec![[1.0f64; 2]; n];
    let total = params.max_iter.max(1) as f64;
    let mut steps = 0usize;
    let mut stopped = false;
    // The error of the last step, and whether that step was of the final phase with the error on.
    let mut last_error = f64::NAN;
    let mut last_error_final = false;

    let phases = [
        (
            params.early_exaggeration,
            0.5,
            params.exaggeration_iter,
            params.exaggeration_iter,
        ),
        (1.0, 0.8, params.max_iter, params.n_iter_without_progress),
    ];
    let mut it = 0usize;
    'phases: for (phase, &(scale, momentum, max_iter, without_progress)) in phases.iter().enumerate() {
        update.iter_mut().for_each(|u| *u = [0.0; 2]);
        gains.iter_mut().for_each(|g| *g = [1.0; 2]);
        let mut best_error = f64::MAX;
        let mut best_iter = it;
        let mut i = it;
        while i < max_iter {
            let check = (i + 1).is_multiple_of(N_ITER_CHECK);
            let compute_error = check || i + 1 == max_iter;
            let error = ws.gradient(&y, p, scale, params.angle, compute_error, &mut grad);
            last_error = error;
            last_error_final = phase == 1 && compute_error;
            let mut norm2 = 0.0;
            let mut finite = true;
            for t in 0..n {
                for a in 0..2 {
                    let g = grad[t][a];
                    let gain = &mut gains[t][a];
                    if update[t][a] * g < 0.0 {
                        *gain += 0.2;
                    } else {
                        *gain *= 0.8;
                    }
                    if *gain < 0.01 {
                        *gain = 0.01;
                    }
                    let g = g * *gain;
                    norm2 += g * g;
                    update[t][a] = momentum * update[t][a] - lr * g;
                    y[t][a] += update[t][a];
                    finite &= y[t][a].is_finite();
                }
            }
            steps += 1;
            if !finite {
                return Err(GeometryError::InvalidParameter {
                    name: "learning rate".into(),
                    reason: format!(
                        "the optimisation diverged at iteration {steps} (a coordinate became \
                         infinite or NaN); lower the learning rate ({lr})"
                    ),
                });
            }
            let mut stop_phase = false;
            if check {
                if error < best_error {
                    best_error = error;
                    best_iter = i;
                } else if i - best_iter > without_progress {
                    stop_phase = true;
                }
                if norm2.sqrt() <= params.min_grad_norm {
                    stop_phase = true;
                }
            }
            let last = phase == 1 && i + 1 == max_iter;
            if steps.is_multiple_of(PROGRESS_EVERY) && !last && !progress(steps as f64 / total) {
                stopped = true;
                break 'phases;
            }
            if stop_phase {
                break;
            }
            i += 1;
        }
        // scikit-learn: the next phase starts after the last iteration run.
        it = if i >= max_iter { max_iter } else { i + 1 };
    }
    let kl_divergence = if last_error_final && !stopped {
        last_error
    } else {
        ws.gradient(&y, p, 1.0, params.angle, true, &mut grad)
    };
    if !stopped {
        progress(1.0);
    }
    Ok(TsneResult {
        embedding: y,
        kl_divergence,
        iterations: steps,
        stopped_early: stopped,
        learning_rate: lr,
    })
}

// ---------------------------------------------------------------------------------------------
// The whole pipeline
// ---------------------------------------------------------------------------------------------

fn check_matrix(x: &[f64], n: usize, d: usize) -> Result<(), GeometryError> {
    if d == 0 {
        return Err(GeometryError::InvalidParameter {
            name: "dimensions".into(),
            reason: "the points have no coordinates (d = 0)".into(),
        });
    }
    if n.checked_mul(d) != Some(x.len()) {
        return Err(GeometryError::InvalidParameter {
            name: "matrix shape".into(),
            reason: format!("{} values do not form {n} rows of {d}", x.len()),
        });
    }
    if n > u32::MAX as usize {
        return Err(GeometryError::InvalidParameter {
            name: "points".into(),
            reason: format!("{n} points are more than t-SNE supports (2^32 - 1)"),
        });
    }
    if let Some(pos) = x.iter().position(|v| !v.is_finite()) {
        return Err(GeometryError::NonFinite {
            row: pos / d,
            col: pos % d,
        });
    }
    Ok(())
}

fn check_perplexity(perplexity: f64, n: usize) -> Result<(), GeometryError> {
    if !(perplexity.is_finite() && perplexity > 0.0) {
        return Err(GeometryError::InvalidParameter {
            name: "perplexity".into(),
            reason: format!("must be a positive number, got {perplexity}"),
        });
    }
    if perplexity >= n as f64 {
        return Err(GeometryError::InvalidParameter {
            name: "perplexity".into(),
            reason: format!(
                "must be less than the number of points ({n}), got {perplexity}; \
                 lower it or use more points"
            ),
        });
    }
    Ok(())
}

fn check_params(params: &TsneParams, n: usize) -> Result<(), GeometryError> {
    const MIN_POINTS: usize = 4;
    if n < MIN_POINTS {
        return Err(GeometryError::TooFewPoints {
            n,
            needed: MIN_POINTS,
            purpose: "t-SNE".into(),
        });
    }
    check_perplexity(params.perplexity, n)?;
    let bad = |name: &str, reason: String| {
        Err(GeometryError::InvalidParameter {
            name: name.into(),
            reason,
        })
    };
    if !(params.early_exaggeration.is_finite() && params.early_exaggeration >= 1.0) {
        return bad(
            "early exaggeration",
            format!("must be at least 1, got {}", params.early_exaggeration),
        );
    }
    if let Some(lr) = params.learning_rate {
        if !(lr.is_finite() && lr > 0.0) {
            return bad("learning rate", format!("must be a positive number, got {lr}"));
        }
    }
    if !(params.angle >= 0.0 && params.angle <= 1.0) {
        return bad("angle", format!("must be between 0 and 1, got {}", params.angle));
    }
    if params.max_iter == 0 || params.max_iter < params.exaggeration_iter {
        return bad(
            "iterations",
            format!(
                "must be at least the {} early-exaggeration iterations (and at least 1), got {}",
                params.exaggeration_iter, params.max_iter
            ),
        );
    }
    if params.min_grad_norm.is_nan() || params.min_grad_norm < 0.0 {
        return bad(
            "minimum gradient norm",
            format!("must be non-negative, got {}", params.min_grad_norm),
        );
    }
    Ok(())
}

/// t-SNE of `x` (`n x d` row-major) to 2-D with scikit-learn's
/// `TSNE(n_components=2, method='barnes_hut', init='pca', metric='euclidean')` semantics (van der
/// Maaten and Hinton 2008; van der Maaten 2014; see the module documentation for the steps and
/// [`TsneParams`] for the parameters).
///
/// `progress(fraction)` (0 to 1) is called during the neighbour search and at least every
/// [`PROGRESS_EVERY`] iterations; it returns whether to go on. Returning `false` stops the run:
/// the result is `Ok` with `stopped_early = true` and the layout so far (the neighbour search
/// itself finishes first).
///
/// Errors: fewer than 4 points (`TooFewPoints`), a non-finite value (`NonFinite`), a parameter out
/// of range, e.g. `perplexity >= n` (`InvalidParameter`), all points identical
/// (`DegenerateCloud`).
pub fn tsne(
    x: &[f64],
    n: usize,
    d: usize,
    params: &TsneParams,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<TsneResult, GeometryError> {
    check_matrix(x, n, d)?;
    check_params(params, n)?;
    if let Some(k) = params.pca_dims {
        if k < 2 || k > d.min(n) {
            return Err(GeometryError::InvalidParameter {
                name: "pca_dims".into(),
                reason: format!(
                    "must be between 2 and min(points, dimensions) = {}, got {k}",
                    d.min(n)
                ),
            });
        }
    }
    // Progress budget: PCA reduction, neighbour search, P, then the iterations.
    let (w_pca, w_knn, w_p) = (if params.pca_dims.is_some() { 0.05 } else { 0.0 }, 0.12, 0.02);
    let w_opt = 1.0 - w_pca - w_knn - w_p;
    let lr = learning_rate(params, n);
    let stopped_result = |embedding: Vec<[f64; 2]>| TsneResult {
        embedding,
        kl_divergence: f64::NAN,
        iterations: 0,
        stopped_early: true,
        learning_rate: lr,
    };

    let reduced;
    let (data, dim) = match params.pca_dims {
        Some(k) => {
            reduced = pca_reduce(x, n, d, k, params.seed)?;
            (&reduced[..], k)
        }
        None => (x, d),
    };
    let init = pca_init(data, n, dim, params.seed)?;
    if !progress(w_pca) {
        return Ok(stopped_result(init));
    }
    let mut stop = false;
    let lists = neighbour_lists(data, n, dim, neighbour_count(n, params.perplexity), &mut |f| {
        if !stop && !progress(w_pca + w_knn * f) {
            stop = true;
        }
    });
    if stop {
        return Ok(stopped_result(init));
    }
    let p = joint_probabilities_nn(&lists, params.perplexity);
    drop(lists);
    if !progress(w_pca + w_knn + w_p) {
        return Ok(stopped_result(init));
    }
    let base = w_pca + w_knn + w_p;
    optimize(&p, init, params, &mut |f| progress(base + w_opt * f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn gaussian(n: usize, d: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n * d).map(|_| StandardNormal.sample(&mut rng)).collect()
    }

    /// `centres` blobs of `per` points in `d` dimensions, centres `sep` apart on the axes.
    fn blobs(centres: usize, per: usize, d: usize, sep: f64, seed: u64) -> (Vec<f64>, Vec<usize>) {
        let mut x = gaussian(centres * per, d, seed);
        let mut labels = Vec::new();
        for c in 0..centres {
            for r in 0..per {
                let row = c * per + r;
                x[row * d + c] += sep;
                labels.push(c);
            }
        }
        (x, labels)
    }

    fn entropy(row: &[f64]) -> f64 {
        -row.iter().filter(|&&p| p > 0.0).map(|p| p * p.ln()).sum::<f64>()
    }

    #[test]
    fn conditional_rows_sum_to_one_with_the_perplexity() {
        let (n, d) = (300, 10);
        let x = gaussian(n, d, 1);
        for perplexity in [5.0, 30.0, 50.0] {
            let k = neighbour_count(n, perplexity);
            assert_eq!(k, (3.0 * perplexity + 1.0) as usize);
            let lists = neighbour_lists(&x, n, d, k, &mut |_| {});
            let sq: Vec<f32> = lists
                .distance
                .iter()
                .map(|&v| sklearn_squared_distance(v))
                .collect();
            let p = binary_search_perplexity(&sq, n, k, perplexity).unwrap();
            for i in 0..n {
                let row = &p[i * k..(i + 1) * k];
                assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12, "row {i}");
                let h = entropy(row);
                // The bisection stops at |H - ln(perplexity)| <= 1e-5 (rounding on top).
                assert!((h - perplexity.ln()).abs() <= 1e-5 + 1e-12, "row {i}: H = {h}");
            }
        }
        // Tiny k = n - 1.
        assert_eq!(neighbour_count(10, 30.0), 9);
    }

    #[test]
    fn joint_p_is_symmetric_and_sums_to_one() {
        let (n, d) = (200, 5);
        let x = gaussian(n, d, 2);
        let p = input_similarities(&x, n, d, 20.0, &mut |_| {}).unwrap();
        assert!((p.sum() - 1.0).abs() < 1e-12);
        let k = neighbour_count(n, 20.0);
        for i in 0..n {
            let (cols, vals) = p.row(i);
            assert!(cols.len() >= k);
            assert!(cols.windows(2).all(|w| w[0] < w[1]));
            for (&j, &v) in cols.iter().zip(vals) {
                assert!(v > 0.0 && j as usize != i);
                let (cj, vj) = p.row(j as usize);
                let t = cj.binary_search(&(i as u32)).expect("symmetric pattern");
                assert_eq!(vj[t], v);
            }
        }
        // P_ij = (p_{j|i} + p_{i|j}) / 2n: rows of the conditional sum to 1.
        let lists = neighbour_lists(&x, n, d, k, &mut |_| {});
        let sq: Vec<f32> = lists
            .distance
            .iter()
            .map(|&v| sklearn_squared_distance(v))
            .collect();
        let cond = binary_search_perplexity(&sq, n, k, 20.0).unwrap();
        let (i, t) = (7, 3);
        let j = lists.indices(i)[t] as usize;
        let mut want = cond[i * k + t];
        if let Some(s) = lists.indices(j).iter().position(|&v| v as usize == i) {
            want += cond[j * k + s];
        }
        want /= 2.0 * n as f64;
        let (cols, vals) = p.row(i);
        let got = vals[cols.binary_search(&(j as u32)).unwrap()];
        assert!((got - want).abs() <= 1e-12 * want);
    }

    #[test]
    fn barnes_hut_with_angle_zero_is_exact() {
        let (n, d) = (120, 6);
        let x = gaussian(n, d, 3);
        let p = input_similarities(&x, n, d, 10.0, &mut |_| {}).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let y: Vec<[f64; 2]> = (0..n)
            .map(|_| [rng.random_range(-5.0..5.0), rng.random_range(-5.0..5.0)])
            .collect();
        for scale in [1.0, 12.0] {
            let (e_exact, g_exact) = kl_gradient_exact(&y, &p, scale).unwrap();
            let (e_bh, g_bh) = kl_gradient_bh(&y, &p, scale, 0.0).unwrap();
            let norm = g_exact
                .iter()
                .map(|g| g[0].abs().max(g[1].abs()))
                .fold(0.0, f64::max);
            for (a, b) in g_exact.iter().zip(&g_bh) {
                for c in 0..2 {
                    assert!((a[c] - b[c]).abs() <= 1e-10 * norm, "{a:?} vs {b:?}");
                }
            }
            assert!((e_exact - e_bh).abs() <= 1e-10 * e_exact.abs());
            // With angle 0.5 the approximation is close but not exact.
            let (e_half, g_half) = kl_gradient_bh(&y, &p, scale, 0.5).unwrap();
            let err: f64 = g_exact
                .iter()
                .zip(&g_half)
                .map(|(a, b)| (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2))
                .sum::<f64>()
                .sqrt();
            let tot: f64 = g_exact
                .iter()
                .map(|a| a[0] * a[0] + a[1] * a[1])
                .sum::<f64>()
                .sqrt();
            assert!(err < 0.05 * tot, "relative BH error {}", err / tot);
            assert!((e_half - e_exact).abs() < 0.05 * e_exact.abs());
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let (n, d) = (40, 4);
        let x = gaussian(n, d, 5);
        let p = input_similarities(&x, n, d, 8.0, &mut |_| {}).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let y: Vec<[f64; 2]> = (0..n)
            .map(|_| [rng.random_range(-2.0..2.0), rng.random_range(-2.0..2.0)])
            .collect();
        let (_, g) = kl_gradient_exact(&y, &p, 1.0).unwrap();
        let h = 1e-6;
        for (i, c) in [(0, 0), (5, 1), (17, 0), (39, 1)] {
            let mut yp = y.clone();
            yp[i][c] += h;
            let mut ym = y.clone();
            ym[i][c] -= h;
            let fd = (kl_gradient_exact(&yp, &p, 1.0).unwrap().0
                - kl_gradient_exact(&ym, &p, 1.0).unwrap().0)
                / (2.0 * h);
            assert!(
                (fd - g[i][c]).abs() < 1e-6 * g[i][c].abs().max(1e-3),
                "{fd} vs {}",
                g[i][c]
            );
        }
    }

    /// scikit-learn's recursive `summarize` for one point over the build cells.
    fn summarize(ws: &Workspace, c: usize, p: [f64; 2], theta2: f64, acc: &mut (f64, f64, f64)) {
        let cell = &ws.cells[c];
        let b = if cell.is_leaf {
            cell.barycenter
        } else {
            [cell.sum[0] / cell.size as f64, cell.sum[1] / cell.size as f64]
        };
        let (dx, dy) = (p[0] - b[0], p[1] - b[1]);
        let d2 = dx * dx + dy * dy;
        if cell.is_leaf && dx.abs() <= QT_EPSILON && dy.abs() <= QT_EPSILON {
            return;
        }
        if cell.is_leaf || cell.squared_max_width < theta2 * d2 {
            let q = 1.0 / (1.0 + d2);
            let size = cell.size as f64;
            acc.0 += size * q;
            let m = size * q * q;
            acc.1 += m * dx;
            acc.2 += m * dy;
            return;
        }
        for &ch in &cell.children {
            if ch != NONE {
                summarize(ws, ch as usize, p, theta2, acc);
            }
        }
    }

    #[test]
    fn grouped_walk_equals_one_walk_per_point() {
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        let mut y: Vec<[f64; 2]> = (0..700)
            .map(|i| {
                let c = (i % 3) as f64 * 10.0;
                [c + rng.random_range(-3.0..3.0), rng.random_range(-3.0..3.0) - c]
            })
            .collect();
        y[10] = y[20];
        y[30] = [y[40][0] + 1e-7, y[40][1]];
        let mut ws = Workspace::default();
        ws.build(&y);
        assert_eq!(ws.point_order.len(), y.len());
        let mut sorted = ws.point_order.clone();
        sorted.sort_unstable();
        assert!(sorted.iter().enumerate().all(|(i, &p)| p as usize == i));
        for angle in [0.0, 0.3, 0.5, 1.0] {
            let mut sums = vec![0.0; y.len()];
            let mut neg = vec![[0.0; 2]; y.len()];
            ws.repulsion(&y, angle * angle, &mut sums, &mut neg);
            for (i, &p) in y.iter().enumerate() {
                let mut acc = (0.0, 0.0, 0.0);
                summarize(&ws, 0, p, angle * angle, &mut acc);
                assert_eq!(
                    (sums[i], neg[i]),
                    (acc.0, [acc.1, acc.2]),
                    "point {i}, angle {angle}"
                );
            }
        }
    }

    #[test]
    fn quadtree_handles_duplicates() {
        // Duplicates share a leaf and do not repel each other (scikit-learn's behaviour); the
        // gradient stays finite.
        let n = 30;
        let x = gaussian(n, 3, 7);
        let p = input_similarities(&x, n, 3, 5.0, &mut |_| {}).unwrap();
        let mut y: Vec<[f64; 2]> = (0..n).map(|i| [i as f64 * 0.1, (i % 3) as f64]).collect();
        y[4] = y[3];
        y[5] = y[3];
        let (e, g) = kl_gradient_bh(&y, &p, 1.0, 0.5).unwrap();
        assert!(e.is_finite() && g.iter().all(|v| v[0].is_finite() && v[1].is_finite()));
        let mut ws = Workspace::default();
        ws.build(&y);
        assert_eq!(ws.nodes[0].size as usize, n);
        let leaves: f64 = ws.nodes.iter().filter(|nd| nd.w2 < 0.0).map(|nd| nd.size).sum();
        assert_eq!(leaves as usize, n);
        assert!(ws.nodes.iter().any(|nd| nd.w2 < 0.0 && nd.size == 3.0));
    }

    #[test]
    fn pca_init_is_the_scaled_top_components() {
        // Anisotropic Gaussian in 30-D: variances 25, 9, 1, 1, ..., two axes rotated, shifted.
        let (n, d) = (400, 30);
        let mut x = gaussian(n, d, 8);
        let (c, s) = (30f64.to_radians().cos(), 30f64.to_radians().sin());
        for r in 0..n {
            x[r * d] *= 5.0;
            x[r * d + 1] *= 3.0;
            let (a, b) = (x[r * d], x[r * d + 2]);
            x[r * d] = c * a - s * b + 10.0;
            x[r * d + 2] = s * a + c * b - 3.0;
        }
        let y = pca_init(&x, n, d, 0).unwrap();
        assert!((scores_std(&y.iter().map(|p| p[0]).collect::<Vec<_>>()) - 1e-4).abs() < 1e-15);
        // The exact eigenvectors of the covariance (Jacobi on d x d), sklearn's sign.
        let mut mean = vec![0.0; d];
        for r in 0..n {
            for c in 0..d {
                mean[c] += x[r * d + c] / n as f64;
            }
        }
        let mut cov = vec![0.0; d * d];
        for r in 0..n {
            for i in 0..d {
                for j in 0..d {
                    cov[i * d + j] += (x[r * d + i] - mean[i]) * (x[r * d + j] - mean[j]);
                }
            }
        }
        let (_, v) = jacobi_eigen(&cov, d);
        let exact: Vec<Vec<f64>> = (0..2)
            .map(|c| {
                let col: Vec<f64> = (0..d).map(|i| v[i * d + c]).collect();
                let big = col
                    .iter()
                    .fold(0.0f64, |m, &a| if a.abs() > m.abs() { a } else { m });
                (0..n)
                    .map(|r| big.signum() * (0..d).map(|i| (x[r * d + i] - mean[i]) * col[i]).sum::<f64>())
                    .collect()
            })
            .collect();
        let s0 = scores_std(&exact[0]);
        for c in 0..2 {
            for r in 0..n {
                let want = exact[c][r] / s0 * 1e-4;
                assert!(
                    (y[r][c] - want).abs() < 1e-9 * 1e-4,
                    "row {r} comp {c}: {} vs {want}",
                    y[r][c]
                );
            }
        }
        // Deterministic; another seed gives the same init up to rounding.
        assert_eq!(pca_init(&x, n, d, 0).unwrap(), y);
        let other = pca_init(&x, n, d, 99).unwrap();
        for (a, b) in y.iter().zip(&other) {
            assert!((a[0] - b[0]).abs() < 1e-9 * 1e-4 && (a[1] - b[1]).abs() < 1e-9 * 1e-4);
        }
        // The reduction's leading scores are the same components, unscaled.
        let red = pca_reduce(&x, n, d, 3, 0).unwrap();
        for r in 0..n {
            assert!((red[r * 3] - exact[0][r]).abs() < 1e-6 * s0, "row {r}");
            assert!((red[r * 3 + 1] - exact[1][r]).abs() < 1e-6 * s0, "row {r}");
        }
    }

    fn scores_std(s: &[f64]) -> f64 {
        let m = s.iter().sum::<f64>() / s.len() as f64;
        (s.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / s.len() as f64).sqrt()
    }

    /// Leave-one-out k-NN classification accuracy in the layout.
    fn knn_accuracy(y: &[[f64; 2]], labels: &[usize], k: usize) -> f64 {
        let n = y.len();
        let mut correct = 0;
        for i in 0..n {
            let mut d: Vec<(f64, usize)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| {
                    (
                        (y[i][0] - y[j][0]).powi(2) + (y[i][1] - y[j][1]).powi(2),
                        labels[j],
                    )
                })
                .collect();
            d.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut votes = [0usize; 8];
            for &(_, l) in d.iter().take(k) {
                votes[l] += 1;
            }
            let best = (0..8).max_by_key(|&l| (votes[l], std::cmp::Reverse(l))).unwrap();
            if best == labels[i] {
                correct += 1;
            }
        }
        correct as f64 / n as f64
    }

    #[test]
    fn separated_blobs_stay_separated() {
        let (x, labels) = blobs(3, 80, 20, 12.0, 9);
        let n = labels.len();
        let mut fractions = Vec::new();
        let params = TsneParams {
            max_iter: 500,
            ..TsneParams::default()
        };
        let r = tsne(&x, n, 20, &params, &mut |f| {
            fractions.push(f);
            true
        })
        .unwrap();
        assert!(!r.stopped_early);
        assert_eq!(r.embedding.len(), n);
        assert!(r.kl_divergence.is_finite() && r.kl_divergence > 0.0);
        assert!(r.iterations <= 500 && r.iterations >= 250);
        let acc = knn_accuracy(&r.embedding, &labels, 5);
        assert!(acc > 0.95, "accuracy {acc}");
        // Progress: monotone, ends at 1, at least every 10 iterations.
        assert!(fractions.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(fractions.last(), Some(&1.0));
        assert!(fractions.len() >= r.iterations / PROGRESS_EVERY);
        // Between-cluster distances dwarf within-cluster spread.
        let centroid = |c: usize| {
            let pts: Vec<_> = (0..n)
                .filter(|&i| labels[i] == c)
                .map(|i| r.embedding[i])
                .collect();
            let m = pts.len() as f64;
            [
                pts.iter().map(|p| p[0]).sum::<f64>() / m,
                pts.iter().map(|p| p[1]).sum::<f64>() / m,
            ]
        };
        let (c0, c1) = (centroid(0), centroid(1));
        let between = ((c0[0] - c1[0]).powi(2) + (c0[1] - c1[1]).powi(2)).sqrt();
        let within = (0..n)
            .filter(|&i| labels[i] == 0)
            .map(|i| ((r.embedding[i][0] - c0[0]).powi(2) + (r.embedding[i][1] - c0[1]).powi(2)).sqrt())
            .sum::<f64>()
            / 80.0;
        assert!(between > 2.0 * within, "between {between} within {within}");
        // Same input, same seed: same layout.
        let again = tsne(&x, n, 20, &params, &mut |_| true).unwrap();
        assert_eq!(again, r);
    }

    #[test]
    fn pca_dims_and_exact_angle_work() {
        let (x, labels) = blobs(3, 40, 30, 12.0, 10);
        let n = labels.len();
        let params = TsneParams {
            perplexity: 10.0,
            max_iter: 400,
            pca_dims: Some(5),
            angle: 0.0,
            ..TsneParams::default()
        };
        let r = tsne(&x, n, 30, &params, &mut |_| true).unwrap();
        assert!(knn_accuracy(&r.embedding, &labels, 5) > 0.95);
        // The reported KL equals the exact KL at... the layout before the last step; close to the
        // exact KL of the final layout.
        let p = input_similarities(&pca_reduce(&x, n, 30, 5, 0).unwrap(), n, 5, 10.0, &mut |_| {}).unwrap();
        let (exact, _) = kl_gradient_exact(&r.embedding, &p, 1.0).unwrap();
        assert!(
            (exact - r.kl_divergence).abs() < 0.01 * exact,
            "{exact} vs {}",
            r.kl_divergence
        );
    }

    #[test]
    fn optimizer_follows_sklearn_gradient_descent() {
        // scikit-learn's _gradient_descent written out: two phases, each from zero update and
        // unit gains; gains +0.2 when the update and the gradient disagree in sign, else x0.8.
        let (n, d) = (60, 5);
        let x = gaussian(n, d, 13);
        let p = input_similarities(&x, n, d, 10.0, &mut |_| {}).unwrap();
        let init = pca_init(&x, n, d, 0).unwrap();
        let params = TsneParams {
            perplexity: 10.0,
            exaggeration_iter: 3,
            max_iter: 7,
            learning_rate: Some(100.0),
            ..TsneParams::default()
        };
        let r = optimize(&p, init.clone(), &params, &mut |_| true).unwrap();
        let mut y = init;
        let mut kl = f64::NAN;
        for (scale, momentum, steps) in [(12.0, 0.5, 3), (1.0, 0.8, 4)] {
            let mut update = vec![[0.0f64; 2]; n];
            let mut gains = vec![[1.0f64; 2]; n];
            for _ in 0..steps {
                let (e, g) = kl_gradient_bh(&y, &p, scale, 0.5).unwrap();
                kl = e;
                for i in 0..n {
                    for a in 0..2 {
                        gains[i][a] = if update[i][a] * g[i][a] < 0.0 {
                            gains[i][a] + 0.2
                        } else {
                            (gains[i][a] * 0.8).max(0.01)
                        };
                        update[i][a] = momentum * update[i][a] - 100.0 * gains[i][a] * g[i][a];
                        y[i][a] += update[i][a];
                    }
                }
            }
        }
        // Equal up to rounding (the gradient without the error is computed in another order).
        assert_eq!(r.iterations, 7);
        for (a, b) in r.embedding.iter().zip(&y) {
            assert!((a[0] - b[0]).abs() < 1e-12 * 10.0 && (a[1] - b[1]).abs() < 1e-12 * 10.0);
        }
        assert!((r.kl_divergence - kl).abs() < 1e-12 * kl);
    }

    #[test]
    fn cancellation_returns_the_layout_so_far() {
        let (x, _) = blobs(2, 50, 10, 8.0, 11);
        let n = 100;
        let mut calls = 0;
        let params = TsneParams::default();
        // Stop at the first progress call inside the optimisation (which starts at 0.14).
        let r = tsne(&x, n, 10, &params, &mut |f| {
            calls += 1;
            f < 0.145
        })
        .unwrap();
        assert!(r.stopped_early);
        assert_eq!(r.iterations, PROGRESS_EVERY);
        assert!(r.kl_divergence.is_finite());
        assert_eq!(r.embedding.len(), n);
        // Stop right away: the PCA initialisation comes back.
        let r0 = tsne(&x, n, 10, &params, &mut |_| false).unwrap();
        assert!(r0.stopped_early && r0.iterations == 0 && r0.kl_divergence.is_nan());
        assert_eq!(r0.embedding, pca_init(&x, n, 10, 0).unwrap());
        assert!(calls > 1);
    }

    #[test]
    fn bad_input_gives_errors() {
        let x = gaussian(50, 3, 12);
        let ok = TsneParams {
            perplexity: 5.0,
            max_iter: 250,
            ..TsneParams::default()
        };
        let run = |x: &[f64], n: usize, d: usize, p: &TsneParams| tsne(x, n, d, p, &mut |_| true);
        let kind = |r: Result<TsneResult, GeometryError>| r.unwrap_err().kind();
        assert!(run(&x, 50, 3, &ok).is_ok());
        // Too few points.
        assert!(matches!(
            run(&x[..9], 3, 3, &ok),
            Err(GeometryError::TooFewPoints { n: 3, needed: 4, .. })
        ));
        // Perplexity >= n, <= 0, NaN.
        for perplexity in [50.0, 60.0, 0.0, -1.0, f64::NAN] {
            let p = TsneParams {
                perplexity,
                ..ok.clone()
            };
            assert_eq!(kind(run(&x, 50, 3, &p)), "invalid-parameter", "{perplexity}");
        }
        // Non-finite input.
        let mut bad = x.clone();
        bad[3 * 3 + 2] = f64::NAN;
        assert_eq!(
            run(&bad, 50, 3, &ok).unwrap_err(),
            GeometryError::NonFinite { row: 3, col: 2 }
        );
        // Shape, angle, iterations, learning rate, exaggeration, pca_dims.
        assert_eq!(kind(run(&x, 49, 3, &ok)), "invalid-parameter");
        assert_eq!(kind(run(&[], 10, 0, &ok)), "invalid-parameter");
        for p in [
            TsneParams {
                angle: 1.5,
                ..ok.clone()
            },
            TsneParams {
                angle: -0.1,
                ..ok.clone()
            },
            TsneParams {
                max_iter: 100,
                ..ok.clone()
            },
            TsneParams {
                max_iter: 0,
                exaggeration_iter: 0,
                ..ok.clone()
            },
            TsneParams {
                learning_rate: Some(0.0),
                ..ok.clone()
            },
            TsneParams {
                learning_rate: Some(f64::INFINITY),
                ..ok.clone()
            },
            TsneParams {
                early_exaggeration: 0.5,
                ..ok.clone()
            },
            TsneParams {
                pca_dims: Some(1),
                ..ok.clone()
            },
            TsneParams {
                pca_dims: Some(4),
                ..ok.clone()
            },
        ] {
            assert_eq!(kind(run(&x, 50, 3, &p)), "invalid-parameter", "{p:?}");
        }
        // All points identical.
        let same = vec![1.5; 40 * 3];
        assert_eq!(kind(run(&same, 40, 3, &ok)), "degenerate-cloud");
        // Four points work (k = 3).
        let four = TsneParams {
            perplexity: 2.0,
            ..ok.clone()
        };
        let r = run(&x[..12], 4, 3, &four).unwrap();
        assert!(r.embedding.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
        // The lower-level functions check their input too.
        assert!(binary_search_perplexity(&[1.0; 5], 2, 3, 5.0).is_err());
        assert!(binary_search_perplexity(&[1.0; 6], 2, 3, 0.0).is_err());
        assert!(binary_search_perplexity(&[1.0, f32::NAN, 1.0], 1, 3, 2.0).is_err());
        assert!(binary_search_perplexity(&[1.0, -1.0, 1.0], 1, 3, 2.0).is_err());
        let p = input_similarities(&x, 50, 3, 5.0, &mut |_| {}).unwrap();
        let y = vec![[0.5, 0.25]; 50];
        assert!(kl_gradient_bh(&y[..49], &p, 1.0, 0.5).is_err());
        assert!(kl_gradient_bh(&y, &p, 1.0, 2.0).is_err());
        assert!(kl_gradient_exact(&y, &p, f64::NAN).is_err());
        let mut broken = p.clone();
        broken.indices[0] = 50;
        assert!(kl_gradient_exact(&y, &broken, 1.0).is_err());
        let mut y_nan = y.clone();
        y_nan[7][1] = f64::INFINITY;
        assert_eq!(
            kl_gradient_bh(&y_nan, &p, 1.0, 0.5).unwrap_err(),
            GeometryError::NonFinite { row: 7, col: 1 }
        );
        // optimize checks its init.
        assert_eq!(
            optimize(&p, vec![[0.0; 2]; 49], &ok, &mut |_| true)
                .unwrap_err()
                .kind(),
            "invalid-parameter"
        );
    }
}
