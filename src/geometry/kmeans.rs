//! k-means as scikit-learn's `KMeans(init="k-means++", algorithm="lloyd")` computes it (the
//! `assign_labels="kmeans"` step of spectral clustering), step for step and draw for draw, with
//! numpy's legacy `RandomState` ([`NumpyRandomState`]) as the source of randomness.
//!
//! Followed source: scikit-learn 1.9.1 `sklearn/cluster/_kmeans.py` (`KMeans.fit`,
//! `_kmeans_plusplus`, `_kmeans_single_lloyd`, `_tolerance`), `_k_means_lloyd.pyx`
//! (`lloyd_iter_chunked_dense`, `_update_chunk_dense`) and `_k_means_common.pyx`
//! (`_relocate_empty_clusters_dense`, `_average_centers`, `_center_shift`, `_inertia_dense`,
//! `_euclidean_dense_dense`, `_is_same_clustering`), with unit sample weights. The floating-point
//! operations follow numpy's and scikit-learn's order where that is known and cheap (column sums,
//! `einsum` row norms, the `||c||^2 - 2 x.c` distance form), so that near-ties go the same way in
//! practice; BLAS dot products are taken left to right (OpenBLAS's order depends on the CPU) and
//! sums over points follow scikit-learn run on one thread (with several OpenMP threads its
//! centre sums and inertia are added in per-thread blocks, a difference in the last bits).

use super::numpy_rng::NumpyRandomState;
use super::GeometryError;

/// Parameters of [`kmeans`] (scikit-learn's defaults for spectral clustering).
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams {
    /// Number of clusters.
    pub k: usize,
    /// Restarts from fresh k-means++ seeds; the run of lowest inertia wins (`n_init`, 10).
    pub n_init: usize,
    /// Lloyd iterations per run at most (`max_iter`, 300).
    pub max_iter: usize,
    /// Stop when the squared centre shift is below `tol * mean column variance` (`tol`, 1e-4).
    pub tol: f64,
}

impl KMeansParams {
    /// scikit-learn's defaults with `k` clusters.
    pub fn with_k(k: usize) -> KMeansParams {
        KMeansParams { k, n_init: 10, max_iter: 300, tol: 1e-4 }
    }
}

/// The best of the restarts.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansResult {
    /// Cluster of each row, 0..k (scikit-learn's `labels_`).
    pub labels: Vec<u32>,
    /// k x d row-major (`cluster_centers_`).
    pub centres: Vec<f64>,
    /// Sum of squared distances of rows to their centres (`inertia_`, computed on the centred
    /// rows as scikit-learn does).
    pub inertia: f64,
}

/// k-means of the rows of `x` (n x d, row-major), drawing from `rng` exactly as
/// `sklearn.cluster.KMeans(n_clusters=k, n_init=n_init, max_iter=max_iter, tol=tol,
/// init='k-means++', algorithm='lloyd', random_state=rng).fit(x)` draws from its `RandomState`.
///
/// 1. The tolerance is `tol * mean_j var(x[:, j])` (population variances of the raw columns,
///    `_tolerance`); the rows are then centred on the column means (`X -= X.mean(axis=0)`) and
///    their squared norms taken (`row_norms`).
/// 2. Each of the `n_init` runs, one after the other on the same `rng`:
///    - greedy k-means++ (`_kmeans_plusplus`; Arthur & Vassilvitskii 2007): the first centre is
///      `rng.choice(n, p=1/n)`; for each next centre, `2 + floor(ln k)` values
///      `rng.uniform(size=trials) * potential` are looked up in the running sum of the squared
///      distances to the nearest centre so far (`searchsorted`, left, clipped to `n - 1`), and the
///      candidate that gives the lowest potential (the first on ties) is kept. Squared distances
///      are `max(||c||^2 - 2 c.x + ||x||^2, 0)` as `_euclidean_distances` computes them;
///    - Lloyd (`_kmeans_single_lloyd`): assign each row to the centre of least
///      `||c||^2 - 2 x.c` (the first on ties), move the centres to the means (an empty cluster takes
///      the point farthest from its old centre, which leaves its own cluster:
///      `_relocate_empty_clusters_dense`), stop when the labels equal the previous iteration's
///      (strict convergence) or when the summed squared centre shift is `<= tol`, or after
///      `max_iter` iterations; unless converged strictly, assign the rows once more to the final
///      centres. The run's inertia is `sum_i ||x_i - c_{l(i)}||^2`.
/// 3. A later run replaces the best so far only if its inertia is strictly lower *and* its labels
///    are not the same clustering up to renaming (`_is_same_clustering`). The centres are returned
///    in the original coordinates (the column means added back).
///
/// For spectral clustering, pass the generator in the state scikit-learn's spectral embedding
/// leaves it: [`super::numpy_rng::sklearn_spectral_rng`].
///
/// Known departures, all at the level of rounding: dot products are summed left to right
/// (OpenBLAS's kernel order varies with the CPU), sums over points are taken in order (as
/// scikit-learn with one OpenMP thread), and when two or more clusters are empty at once the
/// farthest points are handed out in decreasing distance (scikit-learn's `argpartition` leaves
/// their order unspecified).
pub fn kmeans(x: &[f64], n: usize, d: usize, params: &KMeansParams, rng: &mut NumpyRandomState) -> Result<KMeansResult, GeometryError> {
    let k = params.k;
    if k == 0 || k > n {
        return Err(GeometryError::InvalidParameter {
            name: "k".into(),
            reason: format!("{k} clusters of {n} points: k must be between 1 and the number of points"),
        });
    }
    if params.n_init == 0 {
        return Err(GeometryError::InvalidParameter { name: "n_init".into(), reason: "must be at least 1".into() });
    }
    if params.max_iter == 0 {
        return Err(GeometryError::InvalidParameter { name: "max_iter".into(), reason: "must be at least 1".into() });
    }
    if d == 0 || x.len() != n * d {
        return Err(GeometryError::InvalidParameter {
            name: "points".into(),
            reason: format!("{} values for {n} x {d} (need at least one dimension)", x.len()),
        });
    }
    // `_tolerance` on the raw rows (before centring).
    let means = column_means(x, n, d);
    let tol = if params.tol == 0.0 { 0.0 } else { mean_column_variance(x, n, d, &means) * params.tol };
    // `X -= X.mean(axis=0)`, then `row_norms(X, squared=True)`.
    let xc: Vec<f64> = x.chunks_exact(d).flat_map(|row| row.iter().zip(&means).map(|(v, m)| v - m)).collect();
    let norms: Vec<f64> = xc.chunks_exact(d).map(|row| einsum_dot(row, row)).collect();
    let data = Data { x: &xc, norms: &norms, n, d };

    let mut best: Option<Run> = None;
    for _ in 0..params.n_init {
        let centres = kmeans_plus_plus(&data, k, rng);
        let run = lloyd(&data, k, centres, params.max_iter, tol);
        let replace = match &best {
            None => true,
            Some(b) => run.inertia < b.inertia && !same_clustering(&run.labels, &b.labels, k),
        };
        if replace {
            best = Some(run);
        }
    }
    let best = best.expect("n_init >= 1");
    let mut centres = best.centres;
    for row in centres.chunks_exact_mut(d) {
        row.iter_mut().zip(&means).for_each(|(c, m)| *c += m);
    }
    Ok(KMeansResult { labels: best.labels, centres, inertia: best.inertia })
}

/// The centred rows and their squared norms.
struct Data<'a> {
    x: &'a [f64],
    norms: &'a [f64],
    n: usize,
    d: usize,
}

impl Data<'_> {
    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }
}

/// One k-means run: labels, centres (centred coordinates), inertia.
struct Run {
    labels: Vec<u32>,
    centres: Vec<f64>,
    inertia: f64,
}

/// numpy's pairwise summation of a contiguous run of doubles (`pairwise_sum_DOUBLE`, used by
/// `np.sum` along a contiguous axis): below 8 values left to right, up to 128 in eight interleaved
/// partial sums, above that split in two halves (rounded down to a multiple of 8).
fn numpy_pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &v in a {
            res += v;
        }
        res
    } else if n <= 128 {
        let mut r = [0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &a[i..] {
            res += v;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        numpy_pairwise_sum(&a[..n2]) + numpy_pairwise_sum(&a[n2..])
    }
}

/// Sum of column `j` as `X.sum(axis=0)` takes it: row by row for a C-ordered matrix of several
/// columns, numpy's pairwise summation for a single (contiguous) column.
fn column_sum(x: &[f64], n: usize, d: usize, j: usize, f: impl Fn(f64) -> f64) -> f64 {
    if d == 1 {
        let v: Vec<f64> = x.iter().map(|&v| f(v)).collect();
        numpy_pairwise_sum(&v)
    } else {
        let mut s = 0.0;
        for i in 0..n {
            s += f(x[i * d + j]);
        }
        s
    }
}

/// `X.mean(axis=0)`.
fn column_means(x: &[f64], n: usize, d: usize) -> Vec<f64> {
    (0..d).map(|j| column_sum(x, n, d, j, |v| v) / n as f64).collect()
}

/// `np.mean(np.var(X, axis=0))`.
fn mean_column_variance(x: &[f64], n: usize, d: usize, means: &[f64]) -> f64 {
    let variances: Vec<f64> = (0..d)
        .map(|j| {
            let m = means[j];
            column_sum(x, n, d, j, |v| (v - m) * (v - m)) / n as f64
        })
        .collect();
    numpy_pairwise_sum(&variances) / d as f64
}

/// `np.einsum('ij,ij->i')` for one row pair as numpy 2's baseline (SSE, two lanes, no FMA)
/// kernel `sum_of_products_contig_contig_outstride0_two` sums it: two lane accumulators, blocks of
/// eight values added last pair first, then the remaining pairs (zero-padded), then the lanes.
fn einsum_dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len();
    let mut acc = [0f64; 2];
    let mut i = 0;
    while n - i >= 8 {
        for (l, slot) in acc.iter_mut().enumerate() {
            let mut s = *slot;
            for blk in (0..4).rev() {
                let t = i + blk * 2 + l;
                s += a[t] * b[t];
            }
            *slot = s;
        }
        i += 8;
    }
    while i < n {
        for (l, slot) in acc.iter_mut().enumerate() {
            let t = i + l;
            let p = if t < n { a[t] * b[t] } else { 0.0 };
            *slot += p;
        }
        i += 2;
    }
    0.0 + (acc[0] + acc[1])
}

/// scikit-learn's `_euclidean_dense_dense(a, b, squared=True)`: blocks of four squared
/// differences summed, then the rest one by one.
fn euclidean_sq(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len();
    let blocks = n / 4;
    let mut result = 0.0;
    for q in 0..blocks {
        let (a, b) = (&a[q * 4..q * 4 + 4], &b[q * 4..q * 4 + 4]);
        result += (a[0] - b[0]) * (a[0] - b[0])
            + (a[1] - b[1]) * (a[1] - b[1])
            + (a[2] - b[2]) * (a[2] - b[2])
            + (a[3] - b[3]) * (a[3] - b[3]);
    }
    for i in blocks * 4..n {
        result += (a[i] - b[i]) * (a[i] - b[i]);
    }
    result
}

/// Greedy k-means++ (`_kmeans_plusplus` with unit weights): returns the k x d initial centres.
fn kmeans_plus_plus(data: &Data, k: usize, rng: &mut NumpyRandomState) -> Vec<f64> {
    let (n, d) = (data.n, data.d);
    // `2 + int(np.log(n_clusters))`
    let trials = 2 + (k as f64).ln() as usize;
    let mut centres = Vec::with_capacity(k * d);
    // `random_state.choice(n_samples, p=sample_weight / sample_weight.sum())`
    let p = vec![1.0 / n as f64; n];
    let first = rng.choice_weighted(&p);
    drop(p);
    centres.extend_from_slice(data.row(first));
    let mut closest = vec![0f64; n];
    squared_distances_to(data, &[first], &mut closest);
    let mut potential = sum_in_order(&closest);
    let mut cumulative = vec![0f64; n];
    let mut candidates = vec![0f64; trials * n];
    for _ in 1..k {
        // `random_state.uniform(size=n_local_trials) * current_pot`
        let targets: Vec<f64> = (0..trials).map(|_| rng.uniform(0.0, 1.0) * potential).collect();
        let mut acc = 0.0;
        for (c, &v) in cumulative.iter_mut().zip(&closest) {
            acc += v;
            *c = acc;
        }
        // `np.searchsorted(np.cumsum(...), rand_vals)` (side='left'), clipped to n - 1.
        let ids: Vec<usize> = targets.iter().map(|&t| cumulative.partition_point(|&c| c < t).min(n - 1)).collect();
        squared_distances_to(data, &ids, &mut candidates);
        // `np.minimum(closest_dist_sq, distance_to_candidates)`, the potentials, and
        // `np.argmin(candidates_pot)`: the first candidate of least potential.
        let mut best: Option<(usize, f64)> = None;
        for (t, row) in candidates.chunks_exact_mut(n).enumerate() {
            for (c, &old) in row.iter_mut().zip(&closest) {
                *c = old.min(*c);
            }
            let pot = sum_in_order(row);
            if best.is_none_or(|(_, p)| pot < p) {
                best = Some((t, pot));
            }
        }
        let (t, pot) = best.expect("at least two trials");
        centres.extend_from_slice(data.row(ids[t]));
        closest.copy_from_slice(&candidates[t * n..(t + 1) * n]);
        potential = pot;
    }
    centres
}

/// `_euclidean_distances(X[ids], X, Y_norm_squared=x_squared_norms, squared=True)`: for each
/// `ids[t]` and row `i`, `max((-2 x_t.x_i + ||x_t||^2) + ||x_i||^2, 0)` into `out[t * n + i]`.
fn squared_distances_to(data: &Data, ids: &[usize], out: &mut [f64]) {
    let (n, d, m) = (data.n, data.d, ids.len());
    // The chosen rows transposed (d x m), so that the m dot products of a row run side by side.
    let mut transposed = vec![0f64; d * m];
    for (t, &id) in ids.iter().enumerate() {
        for (s, &v) in data.row(id).iter().enumerate() {
            transposed[s * m + t] = v;
        }
    }
    let mut acc = vec![0f64; m];
    for i in 0..n {
        dots(data.row(i), &transposed, &mut acc);
        for (t, &id) in ids.iter().enumerate() {
            out[t * n + i] = ((-2.0 * acc[t] + data.norms[id]) + data.norms[i]).max(0.0);
        }
    }
}

/// The dot products of `row` with the m columns of `transposed` (d x m), each summed left to
/// right over the d coordinates (the BLAS products of scikit-learn, up to their CPU-dependent
/// order); eight sums at a time run side by side in registers so that they vectorise.
fn dots(row: &[f64], transposed: &[f64], acc: &mut [f64]) {
    const LANES: usize = 8;
    let m = acc.len();
    let mut j = 0;
    while j + LANES <= m {
        let mut a = [0f64; LANES];
        for (s, &v) in row.iter().enumerate() {
            let c = &transposed[s * m + j..s * m + j + LANES];
            for l in 0..LANES {
                a[l] += v * c[l];
            }
        }
        acc[j..j + LANES].copy_from_slice(&a);
        j += LANES;
    }
    for (jj, slot) in acc.iter_mut().enumerate().skip(j) {
        let mut a = 0.0;
        for (s, &v) in row.iter().enumerate() {
            a += v * transposed[s * m + jj];
        }
        *slot = a;
    }
}

fn sum_in_order(v: &[f64]) -> f64 {
    let mut s = 0.0;
    for &x in v {
        s += x;
    }
    s
}

/// The E-step of `_update_chunk_dense`: each row's label is the centre of least
/// `||c||^2 - 2 x.c` (the first on ties). With `update`, also accumulates the M-step sums and
/// weights.
fn assign(data: &Data, centres: &[f64], labels: &mut [i32], mut update: Option<(&mut [f64], &mut [f64])>) {
    let d = data.d;
    let k = centres.len() / d;
    let norms: Vec<f64> = centres.chunks_exact(d).map(|c| einsum_dot(c, c)).collect();
    let mut transposed = vec![0f64; d * k];
    for (j, c) in centres.chunks_exact(d).enumerate() {
        for (s, &v) in c.iter().enumerate() {
            transposed[s * k + j] = v;
        }
    }
    let mut acc = vec![0f64; k];
    for (i, out) in labels.iter_mut().enumerate() {
        let row = data.row(i);
        dots(row, &transposed, &mut acc);
        let mut label = 0;
        let mut min = norms[0] + -2.0 * acc[0];
        for j in 1..k {
            let dist = norms[j] + -2.0 * acc[j];
            if dist < min {
                min = dist;
                label = j;
            }
        }
        *out = label as i32;
        if let Some((sums, weights)) = update.as_mut() {
            weights[label] += 1.0;
            sums[label * d..(label + 1) * d].iter_mut().zip(row).for_each(|(s, v)| *s += v);
        }
    }
}

/// `_relocate_empty_clusters_dense` with unit weights: each empty cluster takes one of the points
/// farthest from their (old) centres, which leaves its own cluster's sums.
fn relocate_empty(data: &Data, old: &[f64], sums: &mut [f64], weights: &mut [f64], labels: &[i32]) {
    let d = data.d;
    let empty: Vec<usize> = (0..weights.len()).filter(|&j| weights[j] == 0.0).collect();
    if empty.is_empty() {
        return;
    }
    // `((X - centers_old[labels]) ** 2).sum(axis=1)`
    let mut diff = vec![0f64; d];
    let distances: Vec<f64> = (0..data.n)
        .map(|i| {
            let c = &old[labels[i] as usize * d..][..d];
            diff.iter_mut().zip(data.row(i)).zip(c).for_each(|((o, x), c)| *o = (x - c) * (x - c));
            numpy_pairwise_sum(&diff)
        })
        .collect();
    if distances.iter().all(|&v| v == 0.0) {
        // `np.max(distances) == 0`: more clusters than distinct points; nothing to move.
        return;
    }
    // `np.argpartition(distances, -n_empty)[:-n_empty-1:-1]`: the n_empty farthest points
    // (here by decreasing distance, then index).
    let mut order: Vec<usize> = (0..data.n).collect();
    order.sort_by(|&a, &b| distances[b].total_cmp(&distances[a]).then(a.cmp(&b)));
    for (&new, &far) in empty.iter().zip(&order) {
        let old_id = labels[far] as usize;
        let point = data.row(far);
        for t in 0..d {
            sums[old_id * d + t] -= point[t];
            sums[new * d + t] = point[t];
        }
        weights[new] = 1.0;
        weights[old_id] -= 1.0;
    }
}

/// `_kmeans_single_lloyd` (dense, unit weights).
fn lloyd(data: &Data, k: usize, mut centres: Vec<f64>, max_iter: usize, tol: f64) -> Run {
    let d = data.d;
    let mut labels = vec![-1i32; data.n];
    let mut labels_old = vec![-1i32; data.n];
    let mut new = vec![0f64; k * d];
    let mut weights = vec![0f64; k];
    let mut shift = vec![0f64; k];
    let mut strict = false;
    for _ in 0..max_iter {
        // lloyd_iter_chunked_dense
        new.iter_mut().for_each(|v| *v = 0.0);
        weights.iter_mut().for_each(|v| *v = 0.0);
        assign(data, &centres, &mut labels, Some((&mut new, &mut weights)));
        relocate_empty(data, &centres, &mut new, &mut weights, &labels);
        // _average_centers
        let argmax = argmax_first(&weights);
        for j in 0..k {
            if weights[j] > 0.0 {
                let alpha = 1.0 / weights[j];
                new[j * d..(j + 1) * d].iter_mut().for_each(|v| *v *= alpha);
            } else {
                let source: Vec<f64> = new[argmax * d..(argmax + 1) * d].to_vec();
                new[j * d..(j + 1) * d].copy_from_slice(&source);
            }
        }
        // _center_shift
        for j in 0..k {
            shift[j] = euclidean_sq(&new[j * d..(j + 1) * d], &centres[j * d..(j + 1) * d]).sqrt();
        }
        std::mem::swap(&mut centres, &mut new);
        if labels == labels_old {
            strict = true;
            break;
        }
        let squared: Vec<f64> = shift.iter().map(|s| s * s).collect();
        if numpy_pairwise_sum(&squared) <= tol {
            break;
        }
        labels_old.copy_from_slice(&labels);
    }
    if !strict {
        // Rerun the E-step so that the labels match the centres.
        assign(data, &centres, &mut labels, None);
    }
    // _inertia_dense
    let mut inertia = 0.0;
    for (i, &j) in labels.iter().enumerate() {
        let j = j as usize;
        inertia += euclidean_sq(data.row(i), &centres[j * d..(j + 1) * d]);
    }
    Run { labels: labels.into_iter().map(|l| l as u32).collect(), centres, inertia }
}

/// `np.argmax`: the first index of the largest value.
fn argmax_first(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// `_is_same_clustering(labels1, labels2, k)`: whether `a` maps into `b` by a function of the
/// labels (scikit-learn's one-way check).
fn same_clustering(a: &[u32], b: &[u32], k: usize) -> bool {
    let mut mapping = vec![u32::MAX; k];
    for (&x, &y) in a.iter().zip(b) {
        let m = &mut mapping[x as usize];
        if *m == u32::MAX {
            *m = y;
        } else if *m != y {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::stats::seeded_rng;
    use rand_distr::{Distribution, Normal};

    /// `np.random.RandomState(seed).random_sample((n, d))`, row-major.
    fn numpy_uniform_matrix(seed: u32, n: usize, d: usize) -> Vec<f64> {
        let mut rs = NumpyRandomState::new(seed);
        (0..n * d).map(|_| rs.random_sample()).collect()
    }

    #[test]
    fn matches_scikit_learn_draw_for_draw() {
        // X = np.random.RandomState(1).random_sample((60, 2)); rs = np.random.RandomState(42)
        // km = KMeans(n_clusters=4, n_init=10, random_state=rs).fit(X)   (scikit-learn 1.9.1)
        let x = numpy_uniform_matrix(1, 60, 2);
        let mut rs = NumpyRandomState::new(42);
        let r = kmeans(&x, 60, 2, &KMeansParams::with_k(4), &mut rs).unwrap();
        let labels: [u32; 60] = [
            0, 2, 2, 2, 0, 0, 0, 0, 0, 2, 1, 0, 1, 2, 0, 2, 1, 3, 1, 0, 1, 0, 2, 3, 2, 0, 2, 2, 3, 1, 2, 3, 0, 3, 1, 3, 0,
            2, 3, 1, 1, 3, 0, 0, 1, 0, 0, 2, 1, 0, 0, 3, 1, 0, 1, 2, 1, 0, 1, 3,
        ];
        assert_eq!(r.labels, labels);
        assert!((r.inertia - 2.3102382739810676).abs() < 1e-12);
        let centres = [
            0.21651076677496056, 0.733397901599081, 0.8220752328841368, 0.7367139542375689, 0.20225711844103916,
            0.2320642863827425, 0.7712104813133618, 0.3000606363715015,
        ];
        for (a, b) in r.centres.iter().zip(centres) {
            assert!((a - b).abs() < 1e-12);
        }
        // The generator is left where scikit-learn leaves it: rs.random_sample() afterwards.
        assert_eq!(rs.random_sample(), 0.03142918568673425);

        // X = RandomState(3).random_sample((40, 3)); rs = RandomState(7)
        // KMeans(n_clusters=3, n_init=3, random_state=rs).fit(X)
        let x = numpy_uniform_matrix(3, 40, 3);
        let mut rs = NumpyRandomState::new(7);
        let r = kmeans(&x, 40, 3, &KMeansParams { n_init: 3, ..KMeansParams::with_k(3) }, &mut rs).unwrap();
        let labels: [u32; 40] = [
            0, 1, 2, 2, 1, 2, 2, 0, 0, 1, 1, 0, 0, 2, 2, 0, 2, 2, 1, 1, 0, 0, 1, 1, 0, 2, 2, 1, 1, 1, 1, 1, 0, 2, 1, 2, 0,
            2, 1, 2,
        ];
        assert_eq!(r.labels, labels);
        assert!((r.inertia - 4.3816332359337355).abs() < 1e-12);
        assert_eq!(rs.random_sample(), 0.9501295004136456);
    }

    #[test]
    fn separated_blobs_are_found_exactly() {
        let mut rng = seeded_rng(1);
        let normal = Normal::new(0.0, 0.1).unwrap();
        let centres = [[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]];
        let mut x = Vec::new();
        let mut truth = Vec::new();
        for i in 0..300 {
            let c = i % 3;
            truth.push(c as u32);
            x.push(centres[c][0] + normal.sample(&mut rng));
            x.push(centres[c][1] + normal.sample(&mut rng));
        }
        let r = kmeans(&x, 300, 2, &KMeansParams::with_k(3), &mut NumpyRandomState::new(7)).unwrap();
        // Same partition up to the names of the clusters.
        for i in 0..300 {
            for j in 0..300 {
                assert_eq!(truth[i] == truth[j], r.labels[i] == r.labels[j]);
            }
        }
        let direct: f64 = (0..300)
            .map(|i| euclidean_sq(&x[i * 2..i * 2 + 2], &r.centres[r.labels[i] as usize * 2..][..2]))
            .sum();
        assert!((direct - r.inertia).abs() < 1e-9);
    }

    #[test]
    fn bad_parameters_are_refused() {
        let x = [0.0, 1.0, 2.0];
        let mut rs = NumpyRandomState::new(0);
        assert!(kmeans(&x, 3, 1, &KMeansParams::with_k(4), &mut rs).is_err());
        assert!(kmeans(&x, 3, 1, &KMeansParams::with_k(0), &mut rs).is_err());
        assert!(kmeans(&x, 3, 1, &KMeansParams { n_init: 0, ..KMeansParams::with_k(2) }, &mut rs).is_err());
        assert!(kmeans(&x, 3, 1, &KMeansParams { max_iter: 0, ..KMeansParams::with_k(2) }, &mut rs).is_err());
        assert!(kmeans(&x, 2, 1, &KMeansParams::with_k(2), &mut rs).is_err());
        let r = kmeans(&x, 3, 1, &KMeansParams::with_k(3), &mut rs).unwrap();
        assert_eq!(r.inertia, 0.0);
    }

    #[test]
    fn same_clustering_is_scikit_learns_one_way_check() {
        assert!(same_clustering(&[0, 0, 1, 1], &[1, 1, 0, 0], 2));
        assert!(!same_clustering(&[0, 0, 1, 1], &[0, 1, 1, 1], 2));
        // One way only: labels1 -> labels2 must be a function, not a bijection.
        assert!(same_clustering(&[0, 0, 1, 1], &[0, 0, 0, 0], 2));
    }

    #[test]
    fn numpy_sums_follow_numpys_order() {
        let v: Vec<f64> = (0..300).map(|i| 1.0 / (i as f64 + 1.0)).collect();
        // Below 8 values, left to right.
        assert_eq!(numpy_pairwise_sum(&v[..5]), (((v[0] + v[1]) + v[2]) + v[3]) + v[4]);
        // 8 interleaved partial sums.
        let r: Vec<f64> = (0..8).map(|j| v[j] + v[j + 8]).collect();
        let want = (((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))) + v[16];
        assert_eq!(numpy_pairwise_sum(&v[..17]), want);
        // einsum with fewer than 8 values: two lanes.
        let a = [1.5, 2.25, -3.0];
        assert_eq!(einsum_dot(&a, &a), (1.5 * 1.5 + -3.0 * -3.0) + 2.25 * 2.25);
    }
}
