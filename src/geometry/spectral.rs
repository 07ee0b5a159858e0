//! Spectral clustering of a precomputed affinity, as scikit-learn's `SpectralClustering(
//! affinity="precomputed", assign_labels="kmeans")`: the normalised-Laplacian embedding
//! (`spectral_embedding`, `drop_first=False`) followed by k-means with k-means++ and restarts.
//!
//! The embedding needs the `k` eigenvectors of `L = I - D^-1/2 A D^-1/2` with the smallest
//! eigenvalues, i.e. those of `M = D^-1/2 A D^-1/2` with the largest. They come from Lanczos with
//! full reorthogonalisation on `M` (only matrix-vector products, `O(N^2)` each, threaded), never
//! from a dense `O(N^3)` eigendecomposition, so N in the tens of thousands is fine; scikit-learn
//! uses ARPACK in shift-invert mode for the same subspace.

use rand::Rng;

use super::eigvec::tridiagonal_eigenvectors;
use super::kmeans::{kmeans, KMeansParams};
use super::numpy_rng::sklearn_spectral_rng;
use super::sterf::tridiagonal_eigenvalues;
use super::stats::seeded_rng;
use super::GeometryError;
use crate::compute::par;

/// Parameters of [`spectral_clustering`] (scikit-learn's defaults but `n_clusters`).
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralParams {
    /// Number of clusters (and of embedding dimensions).
    pub n_clusters: usize,
    /// k-means restarts (`n_init`, 10).
    pub n_init: usize,
    /// Seed of the Lanczos start vector and of k-means.
    pub seed: u64,
}

/// The normalised-Laplacian embedding of an affinity.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralEmbedding {
    /// n x k row-major: row i is feature i's coordinates (eigenvectors divided by sqrt(degree),
    /// each column's largest-magnitude entry positive).
    pub coordinates: Vec<f64>,
    /// Number of dimensions k.
    pub dims: usize,
    /// The k largest eigenvalues of `D^-1/2 A D^-1/2` (1 minus the Laplacian's smallest), descending.
    pub eigenvalues: Vec<f64>,
    /// Largest Lanczos residual `||M x - theta x||` of the k Ritz pairs.
    pub max_residual: f64,
    /// Lanczos steps taken.
    pub lanczos_steps: usize,
}

impl SpectralEmbedding {
    /// The first `k` dimensions (the embedding scikit-learn computes for `k` clusters), n x k.
    pub fn leading(&self, k: usize) -> Vec<f64> {
        let k = k.min(self.dims);
        self.coordinates.chunks(self.dims.max(1)).flat_map(|row| row[..k].iter().copied()).collect()
    }
}

/// Residual below which a Ritz pair counts as converged (`M` has spectral radius at most 1 for a
/// non-negative affinity, so this is relative to `||M||`).
const LANCZOS_TOL: f64 = 1e-9;

/// The spectral embedding of the symmetric non-negative `n x n` affinity `a` (row-major, f32; it
/// is consumed: normalised in place) into `dims` dimensions, as scikit-learn's
/// `spectral_embedding(a, n_components=dims, norm_laplacian=True, drop_first=False)`:
/// the diagonal of `a` is ignored (`scipy.sparse.csgraph.laplacian` zeroes it), degrees
/// `d_i = sum_{j != i} a_ij`, `M = D^-1/2 A D^-1/2` (an isolated node, degree 0, has a zero row:
/// scikit-learn sets every diagonal entry of the normalised Laplacian to 1 (`_set_diag`), that of
/// an isolated node too, so `L e_i = e_i` and the node's eigenvalue of `M` is 0, not 1: it does not
/// crowd out the eigenvectors of the connected features, and sits at 0 in their coordinates),
/// the eigenvectors `u_1..u_dims` of the largest eigenvalues of `M`,
/// and coordinates `u_k / sqrt(d)` (1 for an isolated node), each column's sign fixed so that its
/// largest-magnitude entry is positive (`_deterministic_vector_sign_flip`).
/// `progress(fraction)` ends at 1.
pub fn spectral_embedding(
    a: Vec<f32>,
    n: usize,
    dims: usize,
    seed: u64,
    progress: &mut dyn FnMut(f64),
) -> Result<SpectralEmbedding, GeometryError> {
    let problem = SpectralProblem::new(a, n, dims, seed)?;
    let mut lanczos = problem.lanczos();
    let mut w = vec![0f64; n];
    while let Some(q) = lanczos.wanted() {
        symmetric_matvec(&problem.matrix, n, q, &mut w);
        lanczos.supply(&w, progress);
    }
    Ok(problem.embedding(lanczos.finish(), progress))
}

/// A spectral embedding's eigenproblem, ready for Lanczos with products computed anywhere (the
/// CPU in [`spectral_embedding`], a GPU in `compute::offload::spectral_embedding`):
/// `M = D^-1/2 A D^-1/2` of a checked affinity, the seeded start vector, and what turns the Ritz
/// vectors into coordinates.
pub struct SpectralProblem {
    /// `M`, n x n row-major (f32; products accumulate in f64).
    pub matrix: Vec<f32>,
    pub n: usize,
    pub dims: usize,
    sqrt_degree: Vec<f64>,
    start: Vec<f64>,
}

impl SpectralProblem {
    /// Checks the affinity `a` (n x n, finite, non-negative; `1 <= dims < n` and at least `dims`
    /// distinct rows: [`check_clusters`]), normalises it in place to `M` and draws the start vector
    /// from `seed` (as [`spectral_embedding`]).
    pub fn new(mut a: Vec<f32>, n: usize, dims: usize, seed: u64) -> Result<SpectralProblem, GeometryError> {
        if a.len() != n * n {
            return Err(GeometryError::InvalidParameter {
                name: "affinity".into(),
                reason: format!("{} values do not make a square {n} x {n} matrix", a.len()),
            });
        }
        check_clusters(dims, n)?;
        if let Some(p) = a.iter().position(|v| !v.is_finite() || *v < 0.0) {
            return Err(GeometryError::InvalidParameter {
                name: "affinity".into(),
                reason: format!(
                    "entry ({}, {}) is {}: an affinity must be finite and non-negative",
                    p / n,
                    p % n,
                    a[p]
                ),
            });
        }
        let distinct = distinct_rows(&a, n, dims);
        if distinct < dims {
            return Err(GeometryError::InvalidParameter {
                name: "k".into(),
                reason: format!(
                    "k = {dims} is more than the {distinct} distinct features of the {n} (features whose affinity \
                     rows are identical are one point to the clustering: features that fire in exactly the same \
                     chunks, or decoder rows that point the same way), so some clusters would split identical \
                     features at random; choose k between 1 and {distinct}"
                ),
            });
        }
        let sqrt_degree = normalise_in_place(&mut a, n);
        let mut rng = seeded_rng(seed);
        let start: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        Ok(SpectralProblem { matrix: a, n, dims, sqrt_degree, start })
    }

    /// A Lanczos run for the `dims` largest eigenpairs of `M` from the seeded start.
    pub fn lanczos(&self) -> Lanczos {
        Lanczos::new(self.n, self.dims, self.start.clone())
    }

    /// The coordinates from converged Ritz pairs: `u_k / sqrt(d)`, signs fixed.
    pub fn embedding(&self, ritz: Ritz, progress: &mut dyn FnMut(f64)) -> SpectralEmbedding {
        let (n, dims) = (self.n, self.dims);
        let mut coordinates = vec![0f64; n * dims];
        for (k, vector) in ritz.vectors.chunks(n).enumerate() {
            let mut column: Vec<f64> = vector.iter().zip(&self.sqrt_degree).map(|(u, s)| u / s).collect();
            flip_sign_to_largest_positive(&mut column);
            for (i, v) in column.into_iter().enumerate() {
                coordinates[i * dims + k] = v;
            }
        }
        progress(1.0);
        SpectralEmbedding {
            coordinates,
            dims,
            eigenvalues: ritz.values,
            max_residual: ritz.max_residual,
            lanczos_steps: ritz.steps,
        }
    }
}

/// Spectral clustering of the affinity `a` (n x n, consumed) into `params.n_clusters` clusters:
/// [`spectral_embedding`] into `n_clusters` dimensions, then [`kmeans`] with `n_init` restarts
/// (scikit-learn's `SpectralClustering(affinity="precomputed", assign_labels="kmeans")`).
/// Returns the labels (0..k) and the embedding.
pub fn spectral_clustering(
    a: Vec<f32>,
    n: usize,
    params: &SpectralParams,
    progress: &mut dyn FnMut(f64),
) -> Result<(Vec<u32>, SpectralEmbedding), GeometryError> {
    let embedding = spectral_embedding(a, n, params.n_clusters, params.seed, progress)?;
    let labels = cluster_embedding(&embedding, params.n_clusters, params.n_init, params.seed)?;
    Ok((labels, embedding))
}

/// k-means (k-means++, `n_init` restarts) on the first `k` dimensions of an embedding, with
/// numpy's `RandomState(seed)` in the state scikit-learn's `SpectralClustering` hands to k-means
/// (so that the labels are scikit-learn's, not merely as good). `seed` must fit in 32 bits, as
/// numpy requires.
pub fn cluster_embedding(embedding: &SpectralEmbedding, k: usize, n_init: usize, seed: u64) -> Result<Vec<u32>, GeometryError> {
    let seed = u32::try_from(seed).map_err(|_| GeometryError::InvalidParameter {
        name: "seed".into(),
        reason: format!("{seed} does not fit in 32 bits (numpy's RandomState takes 0..=4294967295)"),
    })?;
    let x = embedding.leading(k);
    let n = x.len() / k.max(1);
    let params = KMeansParams { n_init, ..KMeansParams::with_k(k) };
    Ok(kmeans(&x, n, k, &params, &mut sklearn_spectral_rng(seed, n))?.labels)
}

/// Refuses `k` clusters (embedding dimensions) of `n` features unless `1 <= k < n`: with `k = n`
/// every feature would be a cluster of its own (nothing to cluster, and the lobe scale's AMI is
/// 0 / 0 there: scikit-learn returns rounding divided by machine epsilon).
pub fn check_clusters(k: usize, n: usize) -> Result<(), GeometryError> {
    let choose = || if n >= 2 { format!("choose k between 1 and {}", n - 1) } else { "clustering needs at least 2 features".into() };
    let reason = if k == 0 {
        format!("k = 0 clusters; {}", choose())
    } else if k > n {
        format!("k = {k} is more than the {n} features; {}", choose())
    } else if k == n {
        format!("k = {k} equals the number of features ({n} features): every feature would be a cluster of its own; {}", choose())
    } else {
        return Ok(());
    };
    Err(GeometryError::InvalidParameter { name: "k".into(), reason })
}

/// The number of distinct rows of the n x n matrix `a` (values compared with `==`), counted up to
/// `limit`: the scan stops there, so that the usual case (the first rows differ) reads `limit`
/// rows.
pub fn distinct_rows(a: &[f32], n: usize, limit: usize) -> usize {
    use std::collections::HashMap;
    use std::hash::{Hash, Hasher};
    let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut count = 0;
    for (i, row) in a.chunks_exact(n.max(1)).enumerate().take(n) {
        if count >= limit {
            break;
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        // + 0.0 makes -0.0 hash as 0.0, which it equals.
        row.iter().for_each(|v| (v + 0.0).to_bits().hash(&mut hasher));
        let bucket = buckets.entry(hasher.finish()).or_default();
        if !bucket.iter().any(|&j| a[j * n..(j + 1) * n] == *row) {
            bucket.push(i);
            count += 1;
        }
    }
    count
}

/// Zeroes the diagonal, scales `a` to `D^-1/2 A D^-1/2` (an isolated node's row stays 0, its
/// diagonal too: scikit-learn's Laplacian diagonal of 1) and returns `sqrt(degree)` (1 for an
/// isolated node).
fn normalise_in_place(a: &mut [f32], n: usize) -> Vec<f64> {
    for i in 0..n {
        a[i * n + i] = 0.0;
    }
    let mut degree = vec![0f64; n];
    {
        let mut rows: Vec<(&[f32], &mut f64)> = a.chunks(n).zip(degree.iter_mut()).collect();
        par::for_each_mut(&mut rows, |_, (row, d)| **d = row.iter().map(|&v| v as f64).sum());
    }
    let sqrt_degree: Vec<f64> = degree.iter().map(|&d| if d == 0.0 { 1.0 } else { d.sqrt() }).collect();
    let mut rows: Vec<&mut [f32]> = a.chunks_mut(n).collect();
    par::for_each_mut(&mut rows, |i, row| {
        let si = sqrt_degree[i];
        for (v, sj) in row.iter_mut().zip(&sqrt_degree) {
            *v = (*v as f64 / (si * sj)) as f32;
        }
    });
    sqrt_degree
}

/// `out = a v` for the dense (symmetric) `n x n` f32 matrix `a`, accumulated in f64, rows in
/// parallel: the CPU's Lanczos product.
pub fn symmetric_matvec(a: &[f32], n: usize, v: &[f64], out: &mut [f64]) {
    const ROWS: usize = 128;
    let mut blocks: Vec<&mut [f64]> = out.chunks_mut(ROWS).collect();
    par::for_each_mut(&mut blocks, |b, block| {
        for (r, o) in block.iter_mut().enumerate() {
            let row = &a[(b * ROWS + r) * n..(b * ROWS + r + 1) * n];
            *o = dot_f32_f64(row, v);
        }
    });
}

fn dot_f32_f64(a: &[f32], b: &[f64]) -> f64 {
    let mut acc = [0f64; 4];
    let chunks = a.len() / 4;
    for c in 0..chunks {
        for l in 0..4 {
            acc[l] += a[c * 4 + l] as f64 * b[c * 4 + l];
        }
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for i in chunks * 4..a.len() {
        sum += a[i] as f64 * b[i];
    }
    sum
}

/// Ritz pairs from [`Lanczos`].
pub struct Ritz {
    values: Vec<f64>,
    /// `count x n` row-major.
    vectors: Vec<f64>,
    max_residual: f64,
    steps: usize,
}

/// The `count` largest eigenpairs of a symmetric n x n operator by Lanczos with full
/// reorthogonalisation (classical Gram-Schmidt, twice) from a start vector (Golub & Van Loan
/// 10.1), driven from outside: [`Lanczos::wanted`] gives the vector whose product `M q` is needed
/// next, [`Lanczos::supply`] takes it (reverse communication, so that the products may come from
/// a GPU, asynchronously). The Krylov basis grows until the residual `|beta_m s_mi|` of each
/// wanted Ritz pair is below [`LANCZOS_TOL`], or the basis spans the space (then the pairs are
/// exact). An invariant subspace found early is continued from a fresh vector orthogonal to the
/// basis.
pub struct Lanczos {
    n: usize,
    count: usize,
    basis: Vec<Vec<f64>>,
    alpha: Vec<f64>,
    beta: Vec<f64>,
    q: Vec<f64>,
    fresh: u64,
    done: Option<(Vec<f64>, Vec<f64>, f64)>,
}

impl Lanczos {
    /// Steps between convergence checks.
    const CHECK_EVERY: usize = 5;

    pub fn new(n: usize, count: usize, start: Vec<f64>) -> Lanczos {
        let mut q = start;
        normalise(&mut q);
        Lanczos { n, count, basis: Vec::new(), alpha: Vec::new(), beta: Vec::new(), q, fresh: 1, done: None }
    }

    /// The vector `q` whose product `M q` is wanted next (unit norm), or `None` once converged.
    pub fn wanted(&self) -> Option<&[f64]> {
        if self.done.is_some() {
            None
        } else {
            Some(&self.q)
        }
    }

    /// Steps taken (products supplied).
    pub fn steps(&self) -> usize {
        self.basis.len()
    }

    /// Takes `w = M q` for the vector [`Lanczos::wanted`] gave, and extends the basis.
    pub fn supply(&mut self, product: &[f64], progress: &mut dyn FnMut(f64)) {
        if self.done.is_some() {
            return;
        }
        let (n, count) = (self.n, self.count);
        let max_steps = n;
        let mut w = product.to_vec();
        let q = std::mem::take(&mut self.q);
        let a = dot(&q, &w);
        self.basis.push(q);
        self.alpha.push(a);
        for _ in 0..2 {
            reorthogonalise(&mut w, &self.basis);
        }
        let b = norm(&w);
        let m = self.basis.len();
        let converged_check = m >= count + 1 && (m % Self::CHECK_EVERY == 0 || m == max_steps);
        if converged_check || m == max_steps {
            let ritz = ritz_pairs(&self.alpha, &self.beta, b, count);
            let done = ritz.2 <= LANCZOS_TOL || m == max_steps;
            progress((LANCZOS_TOL.ln() / ritz.2.max(LANCZOS_TOL).ln()).clamp(0.0, 0.99));
            if done {
                self.done = Some(ritz);
                return;
            }
        }
        if b <= 1e-12 * self.alpha.iter().map(|v| v.abs()).fold(1e-300, f64::max) {
            // Invariant subspace: restart the recurrence from a vector orthogonal to the basis.
            let mut rng = seeded_rng(0x5eed ^ self.fresh);
            self.fresh += 1;
            let mut v: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
            for _ in 0..2 {
                reorthogonalise(&mut v, &self.basis);
            }
            normalise(&mut v);
            self.beta.push(0.0);
            self.q = v;
        } else {
            self.beta.push(b);
            self.q = w.iter().map(|v| v / b).collect();
        }
    }

    /// The Ritz pairs (call once [`Lanczos::wanted`] is `None`; before that, the pairs of the
    /// basis so far).
    pub fn finish(self) -> Ritz {
        let n = self.n;
        let count = self.count;
        let (values, small_vectors, max_residual) = match self.done {
            Some(r) => r,
            None if self.alpha.is_empty() => (Vec::new(), Vec::new(), f64::INFINITY),
            None => ritz_pairs(&self.alpha, &self.beta, 0.0, count),
        };
        let m = self.basis.len();
        let count = values.len();
        let mut vectors = vec![0f64; count * n];
        for (k, s) in small_vectors.chunks(m.max(1)).enumerate() {
            let x = &mut vectors[k * n..(k + 1) * n];
            for (coefficient, b) in s.iter().zip(&self.basis) {
                for (xi, bi) in x.iter_mut().zip(b) {
                    *xi += coefficient * bi;
                }
            }
            normalise(x);
        }
        Ritz { values, vectors, max_residual, steps: m }
    }
}

/// The `count` largest eigenvalues of the Lanczos tridiagonal (descending), their eigenvectors
/// (`count x m`), and the largest residual `|b s_last|`.
fn ritz_pairs(alpha: &[f64], beta: &[f64], b: f64, count: usize) -> (Vec<f64>, Vec<f64>, f64) {
    let m = alpha.len();
    let all = tridiagonal_eigenvalues(alpha, beta);
    let count = count.min(m);
    let wanted_ascending = &all[m - count..];
    let vectors_ascending = tridiagonal_eigenvectors(alpha, beta, wanted_ascending);
    let mut values = Vec::with_capacity(count);
    let mut vectors = Vec::with_capacity(count * m);
    let mut max_residual: f64 = 0.0;
    for k in (0..count).rev() {
        values.push(wanted_ascending[k]);
        let s = &vectors_ascending[k * m..(k + 1) * m];
        max_residual = max_residual.max((b * s[m - 1]).abs());
        vectors.extend_from_slice(s);
    }
    (values, vectors, max_residual)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

fn normalise(v: &mut [f64]) {
    let s = norm(v);
    if s > 0.0 {
        v.iter_mut().for_each(|x| *x /= s);
    }
}

/// `w -= Q (Q^T w)` (classical Gram-Schmidt against the basis).
fn reorthogonalise(w: &mut [f64], basis: &[Vec<f64>]) {
    let coefficients: Vec<f64> = basis.iter().map(|q| dot(q, w)).collect();
    for (c, q) in coefficients.iter().zip(basis) {
        for (wi, qi) in w.iter_mut().zip(q) {
            *wi -= c * qi;
        }
    }
}

/// Multiplies `v` by the sign of its entry of largest magnitude (the first on ties).
fn flip_sign_to_largest_positive(v: &mut [f64]) {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if x.abs() > v[best].abs() {
            best = i;
        }
    }
    if v.get(best).is_some_and(|&x| x < 0.0) {
        v.iter_mut().for_each(|x| *x = -*x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two dense blocks joined by weak links: the second eigenvector separates them.
    fn two_blocks(n: usize, weak: f32) -> Vec<f32> {
        let mut a = vec![weak; n * n];
        for i in 0..n {
            for j in 0..n {
                if (i < n / 2) == (j < n / 2) {
                    a[i * n + j] = 1.0 + ((i * 7 + j * 7) % 5) as f32 * 0.01;
                }
            }
        }
        // Symmetrise the little perturbation.
        for i in 0..n {
            for j in 0..i {
                a[j * n + i] = a[i * n + j];
            }
        }
        a
    }

    #[test]
    fn lanczos_matches_a_dense_eigendecomposition() {
        let n = 60;
        let a = two_blocks(n, 0.05);
        let mut m = a.clone();
        normalise_in_place(&mut m, n);
        let dense: Vec<f64> = m.iter().map(|&v| v as f64).collect();
        let exact = super::super::eigvec::symmetric_top_eigenpairs(dense, n, 4, &mut |_| {});
        let e = spectral_embedding(a, n, 4, 3, &mut |_| {}).unwrap();
        for (x, y) in e.eigenvalues.iter().zip(&exact.values) {
            assert!((x - y).abs() < 1e-8, "{x} vs {y}");
        }
        assert!((e.eigenvalues[0] - 1.0).abs() < 1e-8);
        assert!(e.max_residual <= LANCZOS_TOL || e.lanczos_steps == n);
    }

    #[test]
    fn two_blocks_are_two_clusters() {
        let n = 80;
        let (labels, _) =
            spectral_clustering(two_blocks(n, 0.02), n, &SpectralParams { n_clusters: 2, n_init: 10, seed: 42 }, &mut |_| {})
                .unwrap();
        for i in 0..n {
            assert_eq!(labels[i] == labels[0], i < n / 2, "feature {i}");
        }
    }

    #[test]
    fn an_isolated_node_has_eigenvalue_zero_as_in_scikit_learn() {
        // Node 4 has affinity 0 with every other node. scikit-learn's Laplacian has 1 on its
        // diagonal, so M's eigenvalue for it is 0 and the top eigenvectors (of the connected
        // nodes) are 0 there: it neither takes a dimension nor moves the other nodes. (With 1 on
        // M's diagonal it took the second dimension, eigenvalue 1, and k = 2 split it off alone.)
        let n = 5;
        let mut a = two_blocks(4, 0.02);
        a = (0..n * n).map(|p| if p / n == 4 || p % n == 4 { 0.0 } else { a[(p / n) * 4 + p % n] }).collect();
        let e = spectral_embedding(a.clone(), n, 2, 1, &mut |_| {}).unwrap();
        let mut m = a;
        normalise_in_place(&mut m, n);
        let dense: Vec<f64> = m.iter().map(|&v| v as f64).collect();
        let exact = super::super::eigvec::symmetric_top_eigenpairs(dense, n, n, &mut |_| {});
        assert!(exact.values.iter().any(|v| v.abs() < 1e-12), "the isolated node's 0: {:?}", exact.values);
        assert!((e.eigenvalues[0] - 1.0).abs() < 1e-8 && e.eigenvalues[1] < 0.99, "{:?}", e.eigenvalues);
        assert!((e.eigenvalues[1] - exact.values[1]).abs() < 1e-8, "{:?} vs {:?}", e.eigenvalues, exact.values);
        for k in 0..2 {
            assert!(e.coordinates[4 * 2 + k].abs() < 1e-8, "the isolated node sits at 0");
        }
        assert!(m[4 * n + 4] == 0.0);
    }

    #[test]
    fn k_must_be_below_the_features_and_the_distinct_features() {
        let err = spectral_embedding(vec![1.0; 25], 5, 8, 0, &mut |_| {}).unwrap_err().to_string();
        assert!(err.contains("k = 8 is more than the 5 features") && err.contains("between 1 and 4"), "{err}");
        let err = spectral_embedding(vec![1.0; 25], 5, 5, 0, &mut |_| {}).unwrap_err().to_string();
        assert!(err.contains("k = 5 equals the number of features"), "{err}");
        // Six features, three distinct rows (0 = 1, 2 = 3 = 4).
        let pattern = [0, 0, 1, 1, 1, 2];
        let a: Vec<f32> = (0..36).map(|p| 0.1 + (pattern[p / 6] * 3 + pattern[p % 6]) as f32).collect();
        assert_eq!(distinct_rows(&a, 6, 6), 3);
        assert_eq!(distinct_rows(&a, 6, 2), 2, "the count stops at the limit");
        let sym: Vec<f32> = (0..36).map(|p| a[p].min(a[(p % 6) * 6 + p / 6])).collect();
        assert!(spectral_embedding(sym.clone(), 6, 3, 0, &mut |_| {}).is_ok());
        let err = spectral_embedding(sym, 6, 4, 0, &mut |_| {}).unwrap_err();
        assert_eq!(err.kind(), "invalid-parameter");
        assert!(err.to_string().contains("k = 4 is more than the 3 distinct features of the 6"), "{err}");
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(spectral_embedding(vec![1.0; 12], 4, 2, 0, &mut |_| {}).is_err());
        assert!(spectral_embedding(vec![1.0; 16], 4, 4, 0, &mut |_| {}).is_err());
        let mut a = vec![1.0; 16];
        a[5] = f32::NAN;
        assert!(spectral_embedding(a, 4, 2, 0, &mut |_| {}).unwrap_err().to_string().contains("(1, 1)"));
    }
}
