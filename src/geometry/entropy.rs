//! Clustering entropy (paper section 3, "Clustering entropy"): how much more clustered the point
//! cloud is than a Gaussian of the same covariance, as the gap between the Gaussian entropy and a
//! k-nearest-neighbour entropy estimate.
//!
//! Exactly as PAPER.md describes the authors' procedure, per cloud:
//!
//! 1. sample `samples` (5000) rows without replacement (all rows if there are fewer);
//! 2. z-score every dimension ([`super::pca::StandardScaler`]) and project on the top `pcs` (100)
//!    principal axes ([`super::pca::pca_standardized`]), giving `n` points in `d = pcs` dimensions;
//! 3. draw `bootstrap` (30) resamples of the `n` points with replacement; for each:
//!    - `rho_i`: distance from point `i` to its `k`-th nearest *other* point of the resample
//!      (`k = 1`; a point drawn twice has its copy at distance 0),
//!    - `lambda_j`: the eigenvalues of the resample's covariance (`np.cov`, ddof = 1: the
//!      convention of the spectrum in the same section; the authors' choice is not stated),
//!    - `H_knn = d mean_i ln(rho_i + 0.01) + mean_j ln(lambda_j) + ln(n - 1) - psi`,
//!    - `H_G = d/2 (1 + ln 2 pi) + 1/2 sum_j ln(lambda_j)` (the entropy of a Gaussian with that
//!      covariance);
//! 4. report `H_G - mean(H_knn)` with a 95% interval.
//!
//! Choices where the description leaves room (each documented where it is made):
//! - `psi = -gamma + sum_{j=1..k} 1/j`, literally as PAPER.md writes it. That is the digamma
//!   function at `k + 1` (0.4228 for k = 1), whereas the Kozachenko-Leonenko estimator subtracts
//!   `digamma(k) = -gamma + sum_{j=1..k-1} 1/j` (-0.5772 for k = 1). If the authors' code used
//!   `digamma(k)`, its `H_knn` is higher by exactly `1/k` and its clustering value lower by `1/k`
//!   (1.0 for k = 1) than here: a constant shift that changes no comparison between layers.
//! - `H_G` is computed per resample from the same eigenvalues as `H_knn` ("Gaussian entropy with
//!   the same covariance"), so each resample gives one clustering value
//!   `c_b = H_G(b) - H_knn(b)`; `gaussian` and `knn_mean` are the means over resamples and
//!   `clustering = gaussian - knn_mean`.
//! - The 95% interval is that of the mean of the `c_b`: `clustering -+ t_{0.975, B-1} s / sqrt(B)`
//!   with `s` their standard deviation (ddof = 1), i.e. `scipy.stats.t.interval(0.95, B - 1,
//!   loc=mean, scale=scipy.stats.sem(c))`, the "t, 29 dof" of the paper.
//!
//! Nearest neighbours are exact ([`super::knn`]): the `L` nearest points of every sampled point
//! are found once (Gram trick, `dgemm`, partial selection); a resample only reweights them by
//! multiplicity, so the `k`-th nearest other point of a resample is found by walking that list
//! (falling back to a scan of the resample in the rare case, probability about `e^-L`, that
//! fewer than `k` of the `L` were drawn). That makes 30 resamples cost about one.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::knn::{distance, neighbour_lists, NeighbourLists};
use super::linalg::symmetric_eigenvalues_desc;
use super::pca::{pca_standardized, pca_standardized_given};
use super::stats::{seeded_rng, student_t_quantile};
use super::GeometryError;
use crate::compute::cpu;
use crate::matrix::Matrix;

/// Euler-Mascheroni constant.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// Settings of [`clustering_entropy`]. The defaults are the paper's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EntropyParams {
    /// Rows sampled without replacement (all rows if the matrix has fewer). Default 5000.
    pub samples: usize,
    /// Principal components kept (the `d` of the formulas). Default 100.
    pub pcs: usize,
    /// Bootstrap resamples (at least 2, for the interval). Default 30.
    pub bootstrap: usize,
    /// Which neighbour: the k-th nearest other point. Default 1.
    pub k: usize,
    /// Seed of the sample and the resamples (ChaCha8, [`seeded_rng`]). Default 0.
    pub seed: u64,
    /// Added to each distance before the logarithm (resampled duplicates are at distance 0).
    /// Default 0.01.
    pub offset: f64,
}

impl Default for EntropyParams {
    fn default() -> Self {
        EntropyParams {
            samples: 5000,
            pcs: 100,
            bootstrap: 30,
            k: 1,
            seed: 0,
            offset: 0.01,
        }
    }
}

impl EntropyParams {
    /// Checks the parameters against an `n x d` matrix: `pcs` in `1..=d`, `samples >= 2`,
    /// `bootstrap >= 2`, `k >= 1`, `offset` finite and positive, and enough rows:
    /// `min(samples, n) > pcs` (a resample's covariance must have full rank `pcs`) and
    /// `min(samples, n) > k`.
    ///
    /// Errors: `InvalidParameter`, `TooFewPoints`.
    pub fn validate(&self, n: usize, d: usize) -> Result<(), GeometryError> {
        let invalid = |name: &str, reason: String| {
            Err(GeometryError::InvalidParameter {
                name: format!("entropy {name}"),
                reason,
            })
        };
        if self.pcs == 0 || self.pcs > d {
            return invalid(
                "pcs",
                format!(
                    "{} principal components asked of a cloud in {d} dimensions; choose 1..={d} \
                     (--entropy-pcs), or skip the entropy (--no-entropy)",
                    self.pcs
                ),
            );
        }
        if self.samples < 2 {
            return invalid(
                "samples",
                format!("{} rows is too few; the paper samples 5000", self.samples),
            );
        }
        if self.bootstrap < 2 {
            return invalid(
                "bootstrap",
                format!(
                    "{} resample(s): at least 2 are needed for an interval; the paper uses 30",
                    self.bootstrap
                ),
            );
        }
        if self.k == 0 {
            return invalid(
                "k",
                "the neighbour rank k is 1-based (1 = the nearest other point)".into(),
            );
        }
        if !(self.offset.is_finite() && self.offset > 0.0) {
            return invalid(
                "offset",
                format!(
                    "{} must be finite and positive: resampled duplicates are at distance 0 and \
                     ln(0) is undefined; the paper uses 0.01",
                    self.offset
                ),
            );
        }
        let used = self.samples.min(n);
        let needed = (self.pcs + 1).max(self.k + 1);
        if used < needed {
            return Err(GeometryError::TooFewPoints {
                n: used,
                needed,
                purpose: format!(
                    "the clustering entropy with {} principal components and k = {} (sampling {} of \
                     {n} rows)",
                    self.pcs, self.k, used
                ),
            });
        }
        Ok(())
    }
}

/// The clustering entropy of a cloud, and what it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusteringEntropy {
    /// Mean over the resamples of the Gaussian entropy `H_G` (nats).
    pub gaussian: f64,
    /// Mean over the resamples of the kNN entropy estimate `H_knn` (nats).
    pub knn_mean: f64,
    /// `gaussian - knn_mean`: the higher, the more clustered than a Gaussian.
    pub clustering: f64,
    /// 95% interval of `clustering`: `-+ t_{0.975, bootstrap - 1} * sd(per_bootstrap) / sqrt(bootstrap)`.
    pub ci95: [f64; 2],
    /// Rows actually sampled (`min(requested, N)`).
    pub samples: usize,
    /// Principal components kept.
    pub pcs: usize,
    /// Number of resamples.
    pub bootstrap: usize,
    /// Neighbour rank.
    pub k: usize,
    /// `H_G - H_knn` of each resample.
    pub per_bootstrap: Vec<f64>,
}

/// The terms of one resample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapTerms {
    /// `H_G` of this resample.
    pub gaussian: f64,
    /// `H_knn` of this resample.
    pub knn: f64,
    /// `mean_i ln(rho_i + offset)`.
    pub mean_log_rho: f64,
    /// `sum_j ln(lambda_j)` over the resample's `pcs` covariance eigenvalues.
    pub sum_log_lambda: f64,
}

/// [`ClusteringEntropy`] with every intermediate: for tests against a reference implementation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntropyDetail {
    pub entropy: ClusteringEntropy,
    /// One per resample, in order.
    pub terms: Vec<BootstrapTerms>,
    /// Explained variance of the PCA of the z-scored sample (ddof = 1), descending.
    pub explained_variance: Vec<f64>,
}

/// `psi = -gamma + sum_{j=1..k} 1/j`, as PAPER.md writes it (= digamma(k + 1); see the module
/// documentation for the doubt: Kozachenko-Leonenko would use digamma(k)).
pub fn paper_psi(k: usize) -> f64 {
    -EULER_GAMMA + (1..=k).map(|j| 1.0 / j as f64).sum::<f64>()
}

/// The row sample and the resamples that [`clustering_entropy`] uses: from
/// [`seeded_rng`]`(params.seed)`, first `rand::seq::index::sample(rng, n, min(samples, n))`
/// (sorted ascending), or all rows `0..n` in order if `n <= samples`; then `bootstrap` lists of
/// `min(samples, n)` positions into that sample, each drawn as `rng.random_range(0..len)`.
pub fn draw_indices(n: usize, params: &EntropyParams) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut rng = seeded_rng(params.seed);
    let used = params.samples.min(n);
    let sample: Vec<usize> = if used == n {
        (0..n).collect()
    } else {
        let mut s = rand::seq::index::sample(&mut rng, n, used).into_vec();
        s.sort_unstable();
        s
    };
    let boots = (0..params.bootstrap)
        .map(|_| (0..used).map(|_| rng.random_range(0..used.max(1))).collect())
        .collect();
    (sample, boots)
}

/// The clustering entropy of the rows of `m` (see the module documentation for the procedure and
/// its formulas: PAPER.md section 3, "Clustering entropy", Li et al. 2024).
///
/// `clustering = mean_b [H_G(b) - H_knn(b)]` with `H_knn = d mean_i ln(rho_i + offset) +
/// mean_j ln(lambda_j) + ln(n - 1) - psi`, `H_G = d/2 (1 + ln 2 pi) + 1/2 sum_j ln lambda_j`.
/// Deterministic for a given seed, whatever the thread count.
///
/// `progress(fraction)` follows the PCA, the neighbour search and the resamples, ending at 1.
///
/// Errors: `NonFinite` (checked first), `InvalidParameter` / `TooFewPoints` (see
/// [`EntropyParams::validate`]), `DegenerateCloud` (a resample's covariance is singular: the
/// sample spans fewer than `pcs` dimensions).
pub fn clustering_entropy(
    m: &Matrix,
    params: &EntropyParams,
    progress: &mut dyn FnMut(f64),
) -> Result<ClusteringEntropy, GeometryError> {
    if let Some((row, col)) = m.first_non_finite() {
        return Err(GeometryError::NonFinite { row, col });
    }
    params.validate(m.rows(), m.cols())?;
    let (sample, boots) = draw_indices(m.rows(), params);
    Ok(clustering_entropy_with_indices(m, &sample, &boots, params, progress)?.entropy)
}

/// Neighbours kept per point: enough that a resample almost never lacks `k` of them.
fn candidates_for(k: usize) -> usize {
    32 + 4 * k
}

/// [`clustering_entropy`] on a given sample and given resamples, returning every term.
///
/// `sample`: distinct row indices of `m` (its length is the `samples` reported). `bootstraps`:
/// each a list of positions into `sample` (0-based, repeats allowed; usually `sample.len()` of
/// them; `n` in `ln(n - 1)` is each list's length). Of `params` only `pcs`, `k` and `offset` are
/// used. This is what the golden test drives with numpy's indices.
///
/// Errors: `NonFinite`; `InvalidParameter` (an index out of range, a repeated sample row, fewer
/// than 2 resamples, a resample with `k` or fewer points, or a bad `pcs` / `k` / `offset`);
/// `TooFewPoints` (the sample has `pcs` or fewer rows); `DegenerateCloud` (a resample's
/// covariance has a zero eigenvalue).
pub fn clustering_entropy_with_indices(
    m: &Matrix,
    sample: &[usize],
    bootstraps: &[Vec<usize>],
    params: &EntropyParams,
    progress: &mut dyn FnMut(f64),
) -> Result<EntropyDetail, GeometryError> {
    if let Some((row, col)) = m.first_non_finite() {
        return Err(GeometryError::NonFinite { row, col });
    }
    let (n_rows, d_in) = (m.rows(), m.cols());
    let s = sample.len();
    let (pcs, k) = (params.pcs, params.k);
    EntropyParams {
        samples: s.max(2),
        bootstrap: bootstraps.len(),
        ..params.clone()
    }
    .validate(s, d_in)?;
    let invalid = |name: &str, reason: String| GeometryError::InvalidParameter {
        name: name.into(),
        reason,
    };
    let mut seen = vec![false; n_rows];
    for &r in sample {
        if r >= n_rows {
            return Err(invalid(
                "sample",
                format!("row {r} is outside the matrix ({n_rows} rows)"),
            ));
        }
        if std::mem::replace(&mut seen[r], true) {
            return Err(invalid(
                "sample",
                format!("row {r} is drawn twice (the sample is without replacement)"),
            ));
        }
    }
    for (b, list) in bootstraps.iter().enumerate() {
        if let Some(&p) = list.iter().find(|&&p| p >= s) {
            return Err(invalid(
                "bootstrap",
                format!("resample {b} holds position {p}, but the sample has {s} rows"),
            ));
        }
        if list.len() <= k {
            return Err(invalid(
                "bootstrap",
                format!(
                    "resample {b} has {} point(s); the k = {k} nearest neighbour needs at least {}",
                    list.len(),
                    k + 1
                ),
            ));
        }
    }

    // Stage weights (rough costs): PCA ~ 0.25 s d^2 + d^3, neighbours ~ 0.5 s^2 pcs, resamples
    // ~ B (0.25 s pcs^2 + pcs^3).
    let (sf, df, pf, bf) = (s as f64, d_in as f64, pcs as f64, bootstraps.len() as f64);
    let w_pca = 0.25 * sf * df * df + df * df * df;
    let w_knn = 0.5 * sf * sf * pf + 4.0 * sf * sf;
    let w_boot = bf * (0.25 * sf * pf * pf + pf * pf * pf + 10.0 * sf);
    let total = w_pca + w_knn + w_boot;
    let (p_pca, p_knn) = (w_pca / total, w_knn / total);

    // 1-2. The sample, z-scored and projected.
    let projected = project_sample(m, sample, pcs, &mut |f| progress(p_pca * f))?;

    // Neighbour lists of the whole sample.
    let lists = neighbour_lists(&projected.y, s, pcs, candidates_for(k), &mut |f| {
        progress(p_pca + p_knn * f)
    });
    resamples(&projected, &lists, bootstraps, params, &mut |f| progress(p_pca + p_knn + (1.0 - p_pca - p_knn) * f))
}

/// The sample of an entropy z-scored and projected on its top principal axes (steps 1-2 of the
/// module documentation), for a backend that finds the neighbour lists elsewhere
/// ([`sample_projection`], [`clustering_entropy_given`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SampleProjection {
    /// `rows x pcs`, row-major.
    pub y: Vec<f64>,
    pub rows: usize,
    pub pcs: usize,
    /// Explained variance of the PCA (ddof = 1), descending.
    pub explained_variance: Vec<f64>,
}

fn project_sample(m: &Matrix, sample: &[usize], pcs: usize, progress: &mut dyn FnMut(f64)) -> Result<SampleProjection, GeometryError> {
    project_rows(&gather_rows(m, sample)?, pcs, None, progress)
}

fn gather_rows(m: &Matrix, sample: &[usize]) -> Result<Matrix, GeometryError> {
    let d_in = m.cols();
    let mut rows = Vec::with_capacity(sample.len() * d_in);
    for &r in sample {
        rows.extend_from_slice(m.row(r));
    }
    Matrix::new(sample.len(), d_in, rows).map_err(|e| GeometryError::InvalidParameter {
        name: "sample".into(),
        reason: e.to_string(),
    })
}

/// The sampled rows of `m` z-scored and projected on their top `pcs` principal axes, with their
/// covariance computed elsewhere when `covariance` is `Some` ([`pca_standardized_given`]).
pub fn project_rows(
    sub: &Matrix,
    pcs: usize,
    covariance: Option<Vec<f64>>,
    progress: &mut dyn FnMut(f64),
) -> Result<SampleProjection, GeometryError> {
    let pca = match covariance {
        Some(c) => pca_standardized_given(sub, pcs, c, progress)?,
        None => pca_standardized(sub, pcs, progress)?,
    };
    let y = pca.transform(sub)?;
    Ok(SampleProjection { y, rows: sub.rows(), pcs, explained_variance: pca.explained_variance })
}

/// The rows of `m` an entropy samples (same checks and seeded draw as [`clustering_entropy`]),
/// for a backend that computes their covariance elsewhere ([`project_rows`]).
pub fn entropy_sample(m: &Matrix, params: &EntropyParams) -> Result<Matrix, GeometryError> {
    if let Some((row, col)) = m.first_non_finite() {
        return Err(GeometryError::NonFinite { row, col });
    }
    params.validate(m.rows(), m.cols())?;
    let (sample, _) = draw_indices(m.rows(), params);
    gather_rows(m, &sample)
}

/// Neighbours each point of the projected sample needs listed (nearest first) for
/// [`clustering_entropy_given`]: `32 + 4 k`, so that a resample almost never lacks `k` of them.
pub fn neighbours_listed(params: &EntropyParams) -> usize {
    candidates_for(params.k)
}

/// Steps 1-2 of [`clustering_entropy`] (same checks, same seeded sample): the projected sample
/// whose neighbour lists ([`neighbours_listed`] per point) a GPU can find.
pub fn sample_projection(m: &Matrix, params: &EntropyParams, progress: &mut dyn FnMut(f64)) -> Result<SampleProjection, GeometryError> {
    project_rows(&entropy_sample(m, params)?, params.pcs, None, progress)
}

/// [`clustering_entropy`] of an `rows x cols` matrix from the projected sample of
/// [`sample_projection`] and its neighbour lists found elsewhere (each point's [`neighbours_listed`] nearest other points, nearest first,
/// with exact distances: [`crate::geometry::knn::lists_from_candidates`]). The resamples are
/// drawn from the seed as [`clustering_entropy`] draws them, so with the same lists the result is
/// identical.
///
/// Errors: as [`clustering_entropy`], and `InvalidParameter` when the projection or the lists do
/// not belong to that matrix and `params`.
pub fn clustering_entropy_given(
    (rows, cols): (usize, usize),
    params: &EntropyParams,
    projected: &SampleProjection,
    lists: &NeighbourLists,
    progress: &mut dyn FnMut(f64),
) -> Result<ClusteringEntropy, GeometryError> {
    params.validate(rows, cols)?;
    let (sample, boots) = draw_indices(rows, params);
    let s = sample.len();
    if projected.rows != s || projected.pcs != params.pcs || projected.y.len() != s * params.pcs || lists.n != s
        || lists.l != neighbours_listed(params).min(s.saturating_sub(1))
    {
        return Err(GeometryError::InvalidParameter {
            name: "neighbour lists".into(),
            reason: format!(
                "given for {} points ({} listed each) in {} dimensions; the entropy samples {s} points in {}",
                lists.n, lists.l, projected.pcs, params.pcs
            ),
        });
    }
    Ok(resamples(projected, lists, &boots, params, progress)?.entropy)
}

/// Step 3-4 of the module documentation: every resample's terms from the projected sample and
/// its neighbour lists, and the summary.
fn resamples(
    projected: &SampleProjection,
    lists: &NeighbourLists,
    bootstraps: &[Vec<usize>],
    params: &EntropyParams,
    progress: &mut dyn FnMut(f64),
) -> Result<EntropyDetail, GeometryError> {
    let (y, s, pcs, k) = (&projected.y, projected.rows, projected.pcs, params.k);
    let bf = bootstraps.len() as f64;
    let psi = paper_psi(k);
    let d = pcs as f64;
    let gauss_const = 0.5 * d * (1.0 + (2.0 * std::f64::consts::PI).ln());
    let mut counts = vec![0u32; s];
    let mut terms = Vec::with_capacity(bootstraps.len());
    for (b, list) in bootstraps.iter().enumerate() {
        counts.iter_mut().for_each(|c| *c = 0);
        for &p in list {
            counts[p] += 1;
        }
        let nb = list.len();
        let mut sum_log_rho = 0.0;
        for u in 0..s {
            if counts[u] > 0 {
                let rho = kth_in_resample(y, pcs, lists, &counts, u, k);
                sum_log_rho += counts[u] as f64 * (rho + params.offset).ln();
            }
        }
        let mean_log_rho = sum_log_rho / nb as f64;
        let lambda = resample_covariance_eigenvalues(y, pcs, &counts, nb);
        let tol = lambda[0].abs() * d * f64::EPSILON;
        if let Some(j) = lambda.iter().position(|&v| v.is_nan() || v <= tol) {
            return Err(GeometryError::DegenerateCloud {
                reason: format!(
                    "the covariance of resample {b} has eigenvalue {} = {:e}, zero up to rounding: \
                     the sample spans fewer than {pcs} dimensions; lower the number of principal \
                     components (--entropy-pcs)",
                    j + 1,
                    lambda[j]
                ),
            });
        }
        let sum_log_lambda: f64 = lambda.iter().map(|v| v.ln()).sum();
        let knn = d * mean_log_rho + sum_log_lambda / d + ((nb - 1) as f64).ln() - psi;
        let gaussian = gauss_const + 0.5 * sum_log_lambda;
        terms.push(BootstrapTerms {
            gaussian,
            knn,
            mean_log_rho,
            sum_log_lambda,
        });
        progress((b + 1) as f64 / bf);
    }

    // 4. Summary.
    let per_bootstrap: Vec<f64> = terms.iter().map(|t| t.gaussian - t.knn).collect();
    let gaussian = terms.iter().map(|t| t.gaussian).sum::<f64>() / bf;
    let knn_mean = terms.iter().map(|t| t.knn).sum::<f64>() / bf;
    let clustering = gaussian - knn_mean;
    let mean_c = per_bootstrap.iter().sum::<f64>() / bf;
    let sd = (per_bootstrap.iter().map(|c| (c - mean_c).powi(2)).sum::<f64>() / (bf - 1.0)).sqrt();
    let half = student_t_quantile(0.975, bf - 1.0) * sd / bf.sqrt();
    progress(1.0);
    Ok(EntropyDetail {
        entropy: ClusteringEntropy {
            gaussian,
            knn_mean,
            clustering,
            ci95: [clustering - half, clustering + half],
            samples: s,
            pcs,
            bootstrap: bootstraps.len(),
            k,
            per_bootstrap,
        },
        terms,
        explained_variance: projected.explained_variance.clone(),
    })
}

/// Distance from sample point `u` (drawn `counts[u] >= 1` times) to its `k`-th nearest other
/// point of the resample given by `counts` (multiplicities): its own extra copies first (distance
/// 0), then its neighbour list weighted by multiplicity; a scan of the resample if the list runs
/// out.
fn kth_in_resample(y: &[f64], d: usize, lists: &NeighbourLists, counts: &[u32], u: usize, k: usize) -> f64 {
    let copies = counts[u] as usize - 1;
    if copies >= k {
        return 0.0;
    }
    let mut need = k - copies;
    for (&j, &dist) in lists.indices(u).iter().zip(lists.distances(u)) {
        let c = counts[j as usize] as usize;
        if c >= need {
            return dist;
        }
        need -= c;
    }
    // Fewer than `need` of the listed neighbours were drawn: scan the whole resample.
    let yu = &y[u * d..(u + 1) * d];
    let mut all: Vec<(f64, u32)> = counts
        .iter()
        .enumerate()
        .filter(|&(j, &c)| j != u && c > 0)
        .map(|(j, &c)| (distance(yu, &y[j * d..(j + 1) * d]), c))
        .collect();
    all.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut need = k - copies;
    for (dist, c) in all {
        if c as usize >= need {
            return dist;
        }
        need -= c as usize;
    }
    // Unreachable when the resample has more than k points (checked by the caller).
    f64::NAN
}

/// Eigenvalues (descending) of `np.cov(Y[idx], rowvar=False)` for the resample with
/// multiplicities `counts` (`nb` points in all): mean `sum c_u y_u / nb`, then
/// `sum_u c_u (y_u - mean)(y_u - mean)^T / (nb - 1)` as the Gram matrix of the drawn rows scaled
/// by `sqrt(c_u)` (one `dgemm`-based pass, [`cpu::gram_upper_accumulate`]).
fn resample_covariance_eigenvalues(y: &[f64], d: usize, counts: &[u32], nb: usize) -> Vec<f64> {
    let mut mean = vec![0f64; d];
    for (u, &c) in counts.iter().enumerate() {
        if c > 0 {
            for (m, v) in mean.iter_mut().zip(&y[u * d..(u + 1) * d]) {
                *m += c as f64 * v;
            }
        }
    }
    mean.iter_mut().for_each(|m| *m /= nb as f64);
    let drawn = counts.iter().filter(|&&c| c > 0).count();
    let mut block = Vec::with_capacity(drawn * d);
    for (u, &c) in counts.iter().enumerate() {
        if c > 0 {
            let w = (c as f64).sqrt();
            block.extend(y[u * d..(u + 1) * d].iter().zip(&mean).map(|(v, m)| w * (v - m)));
        }
    }
    let mut acc = vec![0f64; d * d];
    cpu::gram_upper_accumulate(&block, drawn, d, &mut acc);
    cpu::finish_symmetric(&mut acc, d, 1.0 / (nb - 1) as f64);
    symmetric_eigenvalues_desc(acc, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, StandardNormal};

    fn gaussian_cloud(n: usize, d: usize, seed: u64) -> Matrix {
        let mut rng = seeded_rng(seed);
        let data = (0..n * d)
            .map(|k| {
                let z: f64 = StandardNormal.sample(&mut rng);
                (z * (1.0 + (k % d) as f64 * 0.1)) as f32
            })
            .collect();
        Matrix::new(n, d, data).unwrap()
    }

    /// Tight clusters around random centres.
    fn clustered_cloud(n: usize, d: usize, clusters: usize, seed: u64) -> Matrix {
        let mut rng = seeded_rng(seed);
        let centres: Vec<f64> = (0..clusters * d)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                z * 3.0
            })
            .collect();
        let mut data = Vec::with_capacity(n * d);
        for i in 0..n {
            let c = i % clusters;
            for j in 0..d {
                let z: f64 = StandardNormal.sample(&mut rng);
                data.push((centres[c * d + j] + 0.05 * z) as f32);
            }
        }
        Matrix::new(n, d, data).unwrap()
    }

    fn small_params() -> EntropyParams {
        EntropyParams {
            samples: 400,
            pcs: 10,
            bootstrap: 6,
            ..Default::default()
        }
    }

    /// The entropy from a projection and lists found elsewhere (here: the CPU's own lists, and
    /// lists rebuilt from their candidate indices in shuffled order) equals the entropy.
    #[test]
    fn entropy_from_given_neighbours_is_the_same() {
        let m = clustered_cloud(900, 12, 5, 3);
        let params = EntropyParams { samples: 700, pcs: 6, bootstrap: 5, k: 2, ..EntropyParams::default() };
        let direct = clustering_entropy(&m, &params, &mut |_| {}).unwrap();
        let projected = sample_projection(&m, &params, &mut |_| {}).unwrap();
        let l = neighbours_listed(&params);
        let lists = neighbour_lists(&projected.y, projected.rows, projected.pcs, l, &mut |_| {});
        let mut shuffled = lists.index.clone();
        for row in shuffled.chunks_mut(l) {
            row.reverse();
        }
        let rebuilt = crate::geometry::knn::lists_from_candidates(&projected.y, projected.rows, projected.pcs, l, &shuffled).unwrap();
        assert_eq!(rebuilt, lists);
        let given = clustering_entropy_given((m.rows(), m.cols()), &params, &projected, &rebuilt, &mut |_| {}).unwrap();
        assert_eq!(given, direct);
        // Lists of another sample size are refused.
        let short = neighbour_lists(&projected.y[..600 * 6], 600, 6, l, &mut |_| {});
        assert!(clustering_entropy_given((m.rows(), m.cols()), &params, &projected, &short, &mut |_| {}).is_err());
        // Candidates naming the point itself or a point twice are refused.
        let mut bad = lists.index.clone();
        bad[0] = 0;
        assert!(crate::geometry::knn::lists_from_candidates(&projected.y, projected.rows, projected.pcs, l, &bad).is_err());
        let mut bad = lists.index.clone();
        bad[1] = bad[0];
        assert!(crate::geometry::knn::lists_from_candidates(&projected.y, projected.rows, projected.pcs, l, &bad).is_err());
    }

    #[test]
    fn psi_is_the_paper_formula() {
        assert!((paper_psi(1) - (1.0 - EULER_GAMMA)).abs() < 1e-15);
        assert!((paper_psi(3) - (-EULER_GAMMA + 1.0 + 0.5 + 1.0 / 3.0)).abs() < 1e-15);
    }

    #[test]
    fn clustered_far_above_gaussian_and_deterministic() {
        let p = small_params();
        let g = clustering_entropy(&gaussian_cloud(600, 16, 1), &p, &mut |_| {}).unwrap();
        let c = clustering_entropy(&clustered_cloud(600, 16, 12, 2), &p, &mut |_| {}).unwrap();
        assert!(
            c.clustering > g.clustering + 10.0,
            "{} vs {}",
            c.clustering,
            g.clustering
        );
        assert!(g.ci95[0] <= g.clustering && g.clustering <= g.ci95[1]);
        assert_eq!(
            (g.samples, g.pcs, g.bootstrap, g.k, g.per_bootstrap.len()),
            (400, 10, 6, 1, 6)
        );
        let again = crate::compute::par::with_threads(1, || {
            clustering_entropy(&gaussian_cloud(600, 16, 1), &p, &mut |_| {}).unwrap()
        });
        assert_eq!(again, g, "same seed, any thread count: the same result");
        let other = clustering_entropy(
            &gaussian_cloud(600, 16, 1),
            &EntropyParams { seed: 1, ..p },
            &mut |_| {},
        )
        .unwrap();
        assert_ne!(other.per_bootstrap, g.per_bootstrap);
    }

    #[test]
    fn fewer_rows_than_samples_uses_all_and_progress_ends_at_one() {
        let m = gaussian_cloud(150, 12, 3);
        let mut seen = Vec::new();
        let e = clustering_entropy(
            &m,
            &EntropyParams {
                pcs: 8,
                bootstrap: 3,
                ..Default::default()
            },
            &mut |f| seen.push(f),
        )
        .unwrap();
        assert_eq!(e.samples, 150);
        assert!(seen.windows(2).all(|w| w[0] <= w[1] + 1e-12), "{seen:?}");
        assert_eq!(seen.last(), Some(&1.0));
        let (sample, boots) = draw_indices(
            150,
            &EntropyParams {
                bootstrap: 3,
                ..Default::default()
            },
        );
        assert_eq!(sample, (0..150).collect::<Vec<_>>());
        assert!(boots.iter().all(|b| b.len() == 150 && b.iter().all(|&p| p < 150)));
        let (sample, _) = draw_indices(
            1000,
            &EntropyParams {
                samples: 100,
                ..Default::default()
            },
        );
        assert!(sample.len() == 100 && sample.windows(2).all(|w| w[0] < w[1]) && sample[99] < 1000);
    }

    #[test]
    fn k_greater_than_one_and_the_resample_walk() {
        // The walk against a brute-force k-th neighbour of the resample as a multiset.
        let m = clustered_cloud(300, 6, 5, 4);
        let p = EntropyParams {
            samples: 300,
            pcs: 6,
            bootstrap: 2,
            k: 3,
            ..Default::default()
        };
        let (sample, boots) = draw_indices(300, &p);
        let detail = clustering_entropy_with_indices(&m, &sample, &boots, &p, &mut |_| {}).unwrap();
        let sub = Matrix::new(300, 6, sample.iter().flat_map(|&r| m.row(r).to_vec()).collect()).unwrap();
        let y = pca_standardized(&sub, 6, &mut |_| {})
            .unwrap()
            .transform(&sub)
            .unwrap();
        for (b, list) in boots.iter().enumerate() {
            let mut sum = 0.0;
            for (i, &pi) in list.iter().enumerate() {
                let mut dists: Vec<f64> = list
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, &pj)| distance(&y[pi * 6..pi * 6 + 6], &y[pj * 6..pj * 6 + 6]))
                    .collect();
                dists.sort_by(|a, b| a.total_cmp(b));
                sum += (dists[2] + 0.01).ln();
            }
            let want = sum / list.len() as f64;
            assert!((detail.terms[b].mean_log_rho - want).abs() < 1e-12, "{b}");
        }
        // The fallback scan: with 2 candidates only, most walks run out.
        let lists = neighbour_lists(&y, 300, 6, 2, &mut |_| {});
        let mut counts = vec![0u32; 300];
        for &q in &boots[0] {
            counts[q] += 1;
        }
        let full = neighbour_lists(&y, 300, 6, 299, &mut |_| {});
        for u in (0..300).filter(|&u| counts[u] > 0) {
            assert_eq!(
                kth_in_resample(&y, 6, &lists, &counts, u, 3),
                kth_in_resample(&y, 6, &full, &counts, u, 3)
            );
        }
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let m = gaussian_cloud(50, 8, 5);
        let kind = |p: EntropyParams| clustering_entropy(&m, &p, &mut |_| {}).unwrap_err().kind();
        let base = EntropyParams {
            pcs: 4,
            bootstrap: 3,
            ..Default::default()
        };
        assert_eq!(
            kind(EntropyParams {
                pcs: 0,
                ..base.clone()
            }),
            "invalid-parameter"
        );
        assert_eq!(
            kind(EntropyParams {
                pcs: 9,
                ..base.clone()
            }),
            "invalid-parameter"
        );
        assert_eq!(
            kind(EntropyParams {
                bootstrap: 1,
                ..base.clone()
            }),
            "invalid-parameter"
        );
        assert_eq!(kind(EntropyParams { k: 0, ..base.clone() }), "invalid-parameter");
        assert_eq!(
            kind(EntropyParams {
                offset: 0.0,
                ..base.clone()
            }),
            "invalid-parameter"
        );
        assert_eq!(
            kind(EntropyParams {
                offset: f64::NAN,
                ..base.clone()
            }),
            "invalid-parameter"
        );
        assert_eq!(
            kind(EntropyParams {
                samples: 4,
                ..base.clone()
            }),
            "too-few-points"
        );
        let e = clustering_entropy(&gaussian_cloud(4, 8, 1), &base, &mut |_| {}).unwrap_err();
        assert_eq!(e.kind(), "too-few-points", "{e}");
        assert!(e.to_string().contains("needs at least 5"), "{e}");
        // A cloud on a line: the resample covariance is singular.
        let line: Vec<f32> = (0..60 * 4)
            .map(|k| ((k / 4) as f32) * [1.0, 2.0, -1.0, 0.5][k % 4])
            .collect();
        let line = Matrix::new(60, 4, line).unwrap();
        let e = clustering_entropy(
            &line,
            &EntropyParams {
                pcs: 3,
                ..base.clone()
            },
            &mut |_| {},
        )
        .unwrap_err();
        assert_eq!(e.kind(), "degenerate-cloud", "{e}");
        let mut bad = m.clone().into_vec();
        bad[17] = f32::INFINITY;
        let bad = Matrix::new(50, 8, bad).unwrap();
        assert_eq!(
            clustering_entropy(&bad, &base, &mut |_| {}).unwrap_err(),
            GeometryError::NonFinite { row: 2, col: 1 }
        );
        // Index lists.
        let ok_boot = vec![vec![0, 1, 2, 3, 4, 5]; 2];
        let with = |s: &[usize], b: &[Vec<usize>]| {
            clustering_entropy_with_indices(
                &m,
                s,
                b,
                &EntropyParams {
                    pcs: 2,
                    ..base.clone()
                },
                &mut |_| {},
            )
            .unwrap_err()
            .kind()
        };
        assert_eq!(with(&[0, 1, 2, 3, 4, 50], &ok_boot), "invalid-parameter");
        assert_eq!(with(&[0, 1, 2, 3, 4, 4], &ok_boot), "invalid-parameter");
        assert_eq!(
            with(&[0, 1, 2, 3, 4, 5], &[vec![0, 1, 6], vec![0, 1, 2]]),
            "invalid-parameter"
        );
        assert_eq!(
            with(&[0, 1, 2, 3, 4, 5], &[vec![0], vec![0, 1, 2]]),
            "invalid-parameter"
        );
        assert_eq!(with(&[0, 1, 2, 3, 4, 5], &ok_boot[..1]), "invalid-parameter");
    }
}
