//! k-means with greedy k-means++ seeding and restarts, as scikit-learn's `KMeans(init="k-means++",
//! algorithm="lloyd")` computes it (the `assign_labels="kmeans"` step of spectral clustering).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

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
    /// Cluster of each row, 0..k.
    pub labels: Vec<u32>,
    /// k x d row-major.
    pub centres: Vec<f64>,
    /// Sum of squared distances of rows to their centres.
    pub inertia: f64,
}

/// k-means of the rows of `x` (n x d, row-major): `n_init` runs of greedy k-means++ seeding
/// (`2 + floor(ln k)` candidates per centre, the one that lowers the potential most is kept;
/// Arthur & Vassilvitskii 2007, scikit-learn's `_kmeans_plusplus`) followed by Lloyd iterations
/// until the labels stop changing or the total squared centre shift falls below
/// `tol * mean_j var(x[:, j])`, then a last assignment; the run of lowest inertia
/// `sum_i ||x_i - c_{l(i)}||^2` wins (the first on ties). Empty clusters take the point farthest
/// from its centre, as scikit-learn relocates them.
pub fn kmeans(x: &[f64], n: usize, d: usize, params: &KMeansParams, rng: &mut ChaCha8Rng) -> Result<KMeansResult, GeometryError> {
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
    if x.len() != n * d {
        return Err(GeometryError::InvalidParameter {
            name: "points".into(),
            reason: format!("{} values for {n} x {d}", x.len()),
        });
    }
    let tol = params.tol * mean_column_variance(x, n, d);
    let mut best: Option<KMeansResult> = None;
    for _ in 0..params.n_init {
        let centres = kmeans_plus_plus(x, n, d, k, rng);
        let run = lloyd(x, n, d, k, centres, params.max_iter, tol);
        if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
            best = Some(run);
        }
    }
    Ok(best.expect("n_init >= 1"))
}

fn mean_column_variance(x: &[f64], n: usize, d: usize) -> f64 {
    if n == 0 || d == 0 {
        return 0.0;
    }
    let mut total = 0.0;
    for j in 0..d {
        let mean = (0..n).map(|i| x[i * d + j]).sum::<f64>() / n as f64;
        total += (0..n).map(|i| (x[i * d + j] - mean).powi(2)).sum::<f64>() / n as f64;
    }
    total / d as f64
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Greedy k-means++: the first centre uniformly, then for each next centre `2 + floor(ln k)`
/// candidates drawn with probability proportional to the squared distance to the nearest centre
/// so far, keeping the one that gives the lowest potential.
fn kmeans_plus_plus(x: &[f64], n: usize, d: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let trials = 2 + (k as f64).ln().floor() as usize;
    let row = |i: usize| &x[i * d..(i + 1) * d];
    let mut centres = Vec::with_capacity(k * d);
    let first = rng.random_range(0..n);
    centres.extend_from_slice(row(first));
    let mut closest: Vec<f64> = (0..n).map(|i| squared_distance(row(i), row(first))).collect();
    let mut potential: f64 = closest.iter().sum();
    let mut candidate_closest = vec![0f64; n];
    let mut best_closest = vec![0f64; n];
    for _ in 1..k {
        let mut cumulative = Vec::with_capacity(n);
        let mut acc = 0.0;
        for &c in &closest {
            acc += c;
            cumulative.push(acc);
        }
        let mut best: Option<(usize, f64)> = None;
        for _ in 0..trials {
            let target = rng.random::<f64>() * potential;
            // searchsorted(cumulative, target) (side = left), clipped to n - 1.
            let candidate = cumulative.partition_point(|&c| c < target).min(n - 1);
            let mut pot = 0.0;
            for i in 0..n {
                candidate_closest[i] = closest[i].min(squared_distance(row(i), row(candidate)));
                pot += candidate_closest[i];
            }
            if best.is_none_or(|(_, p)| pot < p) {
                best = Some((candidate, pot));
                best_closest.copy_from_slice(&candidate_closest);
            }
        }
        let (chosen, pot) = best.expect("at least two trials");
        centres.extend_from_slice(row(chosen));
        closest.copy_from_slice(&best_closest);
        potential = pot;
    }
    centres
}

/// Nearest centre of each row (the first on ties) and the inertia.
fn assign(x: &[f64], n: usize, d: usize, centres: &[f64], labels: &mut [u32], distances: &mut [f64]) -> f64 {
    let k = centres.len() / d.max(1);
    let mut inertia = 0.0;
    for i in 0..n {
        let point = &x[i * d..(i + 1) * d];
        let (mut best, mut best_d) = (0, f64::INFINITY);
        for c in 0..k {
            let dist = squared_distance(point, &centres[c * d..(c + 1) * d]);
            if dist < best_d {
                best = c;
                best_d = dist;
            }
        }
        labels[i] = best as u32;
        distances[i] = best_d;
        inertia += best_d;
    }
    inertia
}

fn lloyd(x: &[f64], n: usize, d: usize, k: usize, mut centres: Vec<f64>, max_iter: usize, tol: f64) -> KMeansResult {
    let mut labels = vec![0u32; n];
    let mut previous = vec![u32::MAX; n];
    let mut distances = vec![0f64; n];
    for _ in 0..max_iter {
        assign(x, n, d, &centres, &mut labels, &mut distances);
        let updated = centres_of(x, n, d, k, &labels, &distances, &centres);
        let shift: f64 = squared_distance(&updated, &centres);
        centres = updated;
        if labels == previous || shift <= tol {
            break;
        }
        previous.copy_from_slice(&labels);
    }
    let inertia = assign(x, n, d, &centres, &mut labels, &mut distances);
    KMeansResult { labels, centres, inertia }
}

/// Means of the clusters; an empty cluster takes the point farthest from its own centre (that is
/// not already taken).
fn centres_of(x: &[f64], n: usize, d: usize, k: usize, labels: &[u32], distances: &[f64], old: &[f64]) -> Vec<f64> {
    let mut sums = vec![0f64; k * d];
    let mut counts = vec![0usize; k];
    for i in 0..n {
        let c = labels[i] as usize;
        counts[c] += 1;
        for (s, v) in sums[c * d..(c + 1) * d].iter_mut().zip(&x[i * d..(i + 1) * d]) {
            *s += v;
        }
    }
    let mut far: Vec<usize> = (0..n).collect();
    far.sort_by(|&a, &b| distances[b].total_cmp(&distances[a]));
    let mut far = far.into_iter();
    for c in 0..k {
        if counts[c] == 0 {
            match far.next() {
                Some(i) => sums[c * d..(c + 1) * d].copy_from_slice(&x[i * d..(i + 1) * d]),
                None => sums[c * d..(c + 1) * d].copy_from_slice(&old[c * d..(c + 1) * d]),
            }
        } else {
            sums[c * d..(c + 1) * d].iter_mut().for_each(|s| *s /= counts[c] as f64);
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::stats::seeded_rng;
    use rand_distr::{Distribution, Normal};

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
        let r = kmeans(&x, 300, 2, &KMeansParams::with_k(3), &mut seeded_rng(7)).unwrap();
        // Same partition up to the names of the clusters.
        for i in 0..300 {
            for j in 0..300 {
                assert_eq!(truth[i] == truth[j], r.labels[i] == r.labels[j]);
            }
        }
        let direct: f64 = (0..300)
            .map(|i| squared_distance(&x[i * 2..i * 2 + 2], &r.centres[r.labels[i] as usize * 2..][..2]))
            .sum();
        assert!((direct - r.inertia).abs() < 1e-9);
    }

    #[test]
    fn bad_k_is_refused() {
        let x = [0.0, 1.0, 2.0];
        assert!(kmeans(&x, 3, 1, &KMeansParams::with_k(4), &mut seeded_rng(0)).is_err());
        assert!(kmeans(&x, 3, 1, &KMeansParams::with_k(0), &mut seeded_rng(0)).is_err());
        let r = kmeans(&x, 3, 1, &KMeansParams::with_k(3), &mut seeded_rng(0)).unwrap();
        assert_eq!(r.inertia, 0.0);
    }
}
