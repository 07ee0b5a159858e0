//! Linear discriminant analysis as a supervised dimensionality reduction: scikit-learn 1.9.1's
//! `LinearDiscriminantAnalysis(solver='svd')` (no shrinkage) and
//! `LinearDiscriminantAnalysis(solver='eigen', shrinkage='auto' | float)`, `fit` and `transform`.
//!
//! Fisher's criterion (R. A. Fisher 1936; Hastie, Tibshirani & Friedman, *The Elements of
//! Statistical Learning*, 2nd ed., section 4.3.3): find the directions `v` that maximise the
//! between-class variance `v^T S_b v` relative to the within-class variance `v^T S_w v`, i.e. the
//! generalized eigenvectors `S_b v = lambda S_w v`, at most `c - 1` of them for `c` classes.
//! Here, with class priors `p_k = n_k / n`, class means `m_k` and `xbar = sum_k p_k m_k`:
//! `S_w = sum_k p_k cov_k` (biased class covariances) and `S_b = sum_k p_k (m_k - xbar)(m_k - xbar)^T`
//! (for the eigen solver `S_b = S_t - S_w` with `S_t` the covariance of all rows, each estimate
//! possibly shrunk).
//!
//! **SVD solver** (sklearn's `_solve_svd`, the default): with `Xc` the rows minus their class means,
//! `std` the column standard deviations of `Xc` (zeros replaced by 1),
//! 1. `X1 = sqrt(1/n) Xc / std = U1 S1 V1^T`, rank `r1 = #{S1 > tol}`, whitening
//!    `M = diag(1/std) V1[:, :r1] diag(1/S1[:r1])`;
//! 2. `X2 = diag(sqrt(n p_k / (c - 1))) (means - xbar) M = U2 S2 V2^T` (`c x r1`), rank
//!    `r2 = #{S2 > tol S2[0]}`; `scalings = M V2[:, :r2]`,
//!    `explained_variance_ratio = S2^2 / sum(S2^2)`;
//! 3. `transform(X) = (X - xbar) scalings[:, :max_components]`.
//!
//! The SVDs are not computed as such (they would need `X1`'s `n x d` left factor). With
//! `G = X1^T X1` (`d x d`, formed blockwise with `dgemm`) and its pseudo-inverse on the `r1`
//! retained directions `G+ = V1 S1^-2 V1^T`, `M M^T = diag(1/std) G+ diag(1/std)`, so with
//! `W = diag(1/std) (means - xbar)^T diag(sqrt(n p_k / (c - 1)))` (`d x c`), `Y = G+ W`:
//! `X2 X2^T = W^T Y = U2 S2^2 U2^T` (a `c x c` eigenproblem) and
//! `scalings = M V2 = diag(1/std) Y U2 diag(1/S2)`. The rank test needs `G`'s eigenvalues
//! (`S1^2`); `G+ W` is a Cholesky solve when `r1 = d` (the usual case), otherwise the null space
//! (or the retained space, whichever is smaller) is taken from `G`'s eigenvectors. The result is
//! sklearn's up to the sign of each column (SVD signs are arbitrary), to rounding amplified by
//! `cond(G) = cond(X1)^2`.
//!
//! **Eigen solver with shrinkage** (sklearn's `_solve_eigen`): `S_w = sum_k p_k Sigma_k`,
//! `S_t = Sigma`, each `Sigma` the class's (all rows') covariance with shrinkage: Ledoit-Wolf
//! (`'auto'`, on the standardised rows as sklearn's `_cov` does) or a fixed `alpha`,
//! `(1 - alpha) S + alpha tr(S)/d I`. `S_b = S_t - S_w`; `scalings` are the generalized
//! eigenvectors of `S_b v = lambda S_w v` for the largest `lambda`, normalised to `v^T S_w v = 1`
//! (`scipy.linalg.eigh(Sb, Sw)`): with `S_w = L L^T` (Cholesky), the eigenvectors `w` of
//! `L^-1 S_b L^-T` and `v = L^-T w`. `explained_variance_ratio = sort(lambda / sum(all lambda))`
//! descending, the sum being `trace(L^-1 S_b L^-T)`; shrinkage makes `S_b` indefinite, and when
//! that sum is negative sklearn's ratios are those of the most negative eigenvalues, not of the
//! components kept (reproduced as is). `transform(X) = X scalings[:, :max_components]` (no
//! centring).
//!
//! References: scikit-learn 1.9.1 `sklearn/discriminant_analysis.py` (`_solve_svd`,
//! `_solve_eigen`, `_cov`, `_class_means`, `_class_cov`), `sklearn/covariance/_shrunk_covariance.py`
//! (`ledoit_wolf_shrinkage`, `shrunk_covariance`); O. Ledoit & M. Wolf, "A well-conditioned
//! estimator for large-dimensional covariance matrices", J. Multivariate Anal. 88 (2004);
//! Golub & Van Loan, *Matrix Computations* (4th ed.), sections 4.2 (Cholesky), 8.7.1
//! (symmetric-definite generalized eigenproblem).

use serde::{Deserialize, Serialize};

use super::eigvec::symmetric_top_eigenpairs;
use super::linalg::symmetric_eigenvalues_desc_with_progress;
use super::GeometryError;
use crate::compute::cpu::{finish_symmetric, gram_upper_accumulate};

/// Rows per block when forming Gram matrices.
const GRAM_BLOCK: usize = 256;
/// Block size of the Cholesky factorisation and the triangular solves.
const TRI_BLOCK: usize = 64;

/// Covariance shrinkage; anything but `None` selects sklearn's `solver='eigen'` (sklearn's `'svd'`
/// solver does not support shrinkage).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum LdaShrinkage {
    /// No shrinkage: `solver='svd'`, `shrinkage=None`.
    None,
    /// `solver='eigen'`, `shrinkage='auto'`: each covariance by the Ledoit-Wolf lemma on the
    /// standardised rows (`sklearn.covariance.ledoit_wolf` of `StandardScaler().fit_transform(X)`,
    /// rescaled by the standard deviations).
    Auto,
    /// `solver='eigen'`, `shrinkage=alpha` with `alpha` in `[0, 1]`: each covariance is
    /// `(1 - alpha) S + alpha (tr(S) / d) I` (`sklearn.covariance.shrunk_covariance`).
    Fixed(f64),
}

/// Parameters of [`lda_fit`]; `Default` is sklearn's defaults (`n_components=None`, no
/// shrinkage, `tol=1e-4`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LdaParams {
    /// sklearn's `n_components`: `None` = `min(c - 1, d)`; otherwise `1..=min(c - 1, d)`.
    pub n_components: Option<usize>,
    /// Shrinkage (and so the solver): see [`LdaShrinkage`].
    pub shrinkage: LdaShrinkage,
    /// sklearn's `tol` (SVD solver only): singular values of the scaled within-class rows at or
    /// below `tol` (and between-class singular values at or below `tol * S2[0]`) are dropped.
    pub tol: f64,
}

impl Default for LdaParams {
    fn default() -> Self {
        LdaParams {
            n_components: None,
            shrinkage: LdaShrinkage::None,
            tol: 1e-4,
        }
    }
}

/// A fitted LDA (the fields of sklearn's `LinearDiscriminantAnalysis` that `transform` uses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lda {
    /// Number of classes `c`.
    pub n_classes: usize,
    /// Number of features `d`.
    pub d: usize,
    /// `priors_`: class frequencies `n_k / n`.
    pub priors: Vec<f64>,
    /// `means_`: `c x d` row-major class means.
    pub means: Vec<f64>,
    /// `xbar_ = priors @ means` (`d` values).
    pub xbar: Vec<f64>,
    /// `scalings_[:, :rank]`: `d x rank` row-major (column `j` is the `j`-th discriminant
    /// direction, up to sign). SVD solver: all `r2` columns sklearn keeps; eigen solver: the
    /// `max_components` leading generalized eigenvectors (sklearn keeps all `d`, `transform` uses
    /// only these).
    pub scalings: Vec<f64>,
    /// Number of columns of `scalings`.
    pub rank: usize,
    /// sklearn's `_max_components`: `n_components`, or `min(c - 1, d)` when it is `None`.
    /// `transform` gives `min(rank, max_components)` columns ([`Lda::n_output`]).
    pub max_components: usize,
    /// `explained_variance_ratio_` (at most `max_components` values, descending). Eigen solver:
    /// sklearn's `sort(evals / sum(evals))[::-1]`, which for a negative eigenvalue sum (possible
    /// with shrinkage) describes the most negative eigenvalues rather than the components kept.
    pub explained_variance_ratio: Vec<f64>,
    /// Whether `transform` subtracts `xbar` first (SVD solver) or not (eigen solver).
    pub centred: bool,
}

impl Lda {
    /// Number of columns sklearn's `transform` returns: `min(rank, max_components)`.
    pub fn n_output(&self) -> usize {
        self.rank.min(self.max_components)
    }

    /// sklearn's `transform(X)[:, :n_components]`: `(X - xbar) scalings[:, :k]` for the SVD solver,
    /// `X scalings[:, :k]` for the eigen solver; `x` is `n x d` row-major, the result `n x k`
    /// row-major.
    ///
    /// Errors: `InvalidParameter` if `x` is not `n x d` or `n_components` is not in
    /// `1..=n_output()`.
    pub fn transform(&self, x: &[f64], n: usize, n_components: usize) -> Result<Vec<f64>, GeometryError> {
        self.check_components(n_components)?;
        let d = self.d;
        if x.len() != n * d {
            return Err(invalid(
                "matrix",
                format!(
                    "has {} values, but {n} rows of the fitted {d} features need {}",
                    x.len(),
                    n * d
                ),
            ));
        }
        let k = n_components;
        let mut out = Vec::with_capacity(n * k);
        let mut row = vec![0f64; d];
        for xi in x.chunks_exact(d.max(1)).take(n) {
            row.copy_from_slice(xi);
            if self.centred {
                row.iter_mut().zip(&self.xbar).for_each(|(v, m)| *v -= m);
            }
            out.extend(self.project(&row, k));
        }
        Ok(out)
    }

    /// `v @ scalings[:, :n_components]` without centring: the image of a difference vector (an
    /// edge between two points), so that `transform(a) - transform(b) = project_direction(a - b)`.
    ///
    /// Errors: `InvalidParameter` if `v.len() != d` or `n_components` is not in `1..=n_output()`.
    pub fn project_direction(&self, v: &[f64], n_components: usize) -> Result<Vec<f64>, GeometryError> {
        self.check_components(n_components)?;
        if v.len() != self.d {
            return Err(invalid(
                "direction",
                format!(
                    "has {} values, but the LDA was fitted on {} features",
                    v.len(),
                    self.d
                ),
            ));
        }
        Ok(self.project(v, n_components))
    }

    /// `v @ scalings[:, :k]`.
    fn project(&self, v: &[f64], k: usize) -> Vec<f64> {
        let r = self.rank;
        let mut out = vec![0f64; k];
        for (vj, srow) in v.iter().zip(self.scalings.chunks_exact(r.max(1))) {
            out.iter_mut().zip(srow).for_each(|(o, s)| *o += vj * s);
        }
        out
    }

    fn check_components(&self, k: usize) -> Result<(), GeometryError> {
        let max = self.n_output();
        if k == 0 || k > max {
            return Err(invalid(
                "number of LDA components",
                format!("{k} was asked for, but this fit gives 1 to {max} (min(rank, max_components))"),
            ));
        }
        Ok(())
    }
}

/// Fits sklearn's `LinearDiscriminantAnalysis(n_components, shrinkage, tol)` (solver `'svd'`
/// without shrinkage, `'eigen'` with) to the `n x d` row-major `x` with class `labels[i]` in
/// `0..c`. See the module documentation for the formulas.
///
/// `progress(fraction)` rises to 1.
///
/// Errors (sklearn's `ValueError`s, plus non-finite input):
/// - `InvalidParameter`: `x` or `labels` of the wrong length, no features, a class in `0..c`
///   without rows, fewer than 2 classes, as many rows as classes, `n_components` of 0 or above
///   `min(c - 1, d)`, `tol` negative or not finite, a fixed shrinkage outside `[0, 1]`;
/// - `TooFewPoints`: fewer than 2 rows;
/// - `NonFinite`: a NaN or infinity in `x`;
/// - `DegenerateCloud`: no within-class variation above `tol`, coinciding class means, or (eigen
///   solver) a within-class covariance that is not positive definite (where `scipy.linalg.eigh`
///   raises `LinAlgError`).
pub fn lda_fit(
    x: &[f64],
    n: usize,
    d: usize,
    labels: &[usize],
    params: &LdaParams,
    progress: &mut dyn FnMut(f64),
) -> Result<Lda, GeometryError> {
    let c = check_input(x, n, d, labels, params)?;
    let max_allowed = (c - 1).min(d);
    let max_components = params.n_components.unwrap_or(max_allowed);
    let counts = class_counts(labels, c);
    let priors: Vec<f64> = counts.iter().map(|&k| k as f64 / n as f64).collect();
    let means = class_means(x, d, labels, &counts);
    let xbar: Vec<f64> = (0..d)
        .map(|j| (0..c).map(|k| priors[k] * means[k * d + j]).sum())
        .collect();
    let classes = Classes {
        x,
        n,
        d,
        labels,
        c,
        priors: &priors,
        means: &means,
        xbar: &xbar,
    };
    let solution = match params.shrinkage {
        LdaShrinkage::None => solve_svd(&classes, params.tol, max_components, progress)?,
        shrinkage => solve_eigen(&classes, shrinkage, max_components, progress)?,
    };
    progress(1.0);
    Ok(Lda {
        n_classes: c,
        d,
        priors,
        means,
        xbar,
        scalings: solution.scalings,
        rank: solution.rank,
        max_components,
        explained_variance_ratio: solution.explained_variance_ratio,
        centred: matches!(params.shrinkage, LdaShrinkage::None),
    })
}

fn invalid(name: &str, reason: String) -> GeometryError {
    GeometryError::InvalidParameter {
        name: name.into(),
        reason,
    }
}

/// Checks shapes, values and parameters as sklearn's `fit` does; returns the number of classes.
fn check_input(
    x: &[f64],
    n: usize,
    d: usize,
    labels: &[usize],
    params: &LdaParams,
) -> Result<usize, GeometryError> {
    if d == 0 {
        return Err(invalid(
            "matrix",
            "has no columns; LDA needs at least one feature".into(),
        ));
    }
    if x.len() != n * d {
        return Err(invalid(
            "matrix",
            format!("has {} values, but {n} x {d} = {}", x.len(), n * d),
        ));
    }
    if labels.len() != n {
        return Err(invalid(
            "labels",
            format!("{} labels for {n} rows; give one class per row", labels.len()),
        ));
    }
    if n < 2 {
        return Err(GeometryError::TooFewPoints {
            n,
            needed: 2,
            purpose: "an LDA fit".into(),
        });
    }
    if let Some(k) = x.iter().position(|v| !v.is_finite()) {
        return Err(GeometryError::NonFinite {
            row: k / d,
            col: k % d,
        });
    }
    let c = labels.iter().max().map_or(0, |m| m + 1);
    let counts = class_counts(labels, c);
    if let Some(k) = counts.iter().position(|&m| m == 0) {
        return Err(invalid(
            "labels",
            format!(
                "class {k} has no rows; number the classes 0..{} without gaps",
                c - 1
            ),
        ));
    }
    if c < 2 {
        return Err(invalid(
            "labels",
            "all rows are in one class; LDA needs at least 2 classes".into(),
        ));
    }
    if n == c {
        return Err(invalid(
            "labels",
            format!("{n} rows in {c} classes: the number of rows must be more than the number of classes"),
        ));
    }
    let max_allowed = (c - 1).min(d);
    if let Some(k) = params.n_components {
        if k == 0 || k > max_allowed {
            return Err(invalid(
                "number of LDA components",
                format!(
                    "{k} is not in 1..={max_allowed} = min(classes - 1, features) = min({}, {d}); \
                     ask for at most {max_allowed} or leave it unset",
                    c - 1
                ),
            ));
        }
    }
    if !(params.tol.is_finite() && params.tol >= 0.0) {
        return Err(invalid(
            "LDA tol",
            format!("{} must be a finite number >= 0 (default 1e-4)", params.tol),
        ));
    }
    if let LdaShrinkage::Fixed(a) = params.shrinkage {
        if !(0.0..=1.0).contains(&a) {
            return Err(invalid(
                "LDA shrinkage",
                format!("{a} must be in [0, 1] (or use 'auto')"),
            ));
        }
    }
    Ok(c)
}

fn class_counts(labels: &[usize], c: usize) -> Vec<usize> {
    let mut counts = vec![0usize; c];
    for &l in labels {
        counts[l] += 1;
    }
    counts
}

/// sklearn's `_class_means`: per class, the rows summed in order, divided by the count.
fn class_means(x: &[f64], d: usize, labels: &[usize], counts: &[usize]) -> Vec<f64> {
    let mut means = vec![0f64; counts.len() * d];
    for (row, &l) in x.chunks_exact(d).zip(labels) {
        means[l * d..(l + 1) * d]
            .iter_mut()
            .zip(row)
            .for_each(|(m, v)| *m += v);
    }
    for (m, &k) in means.chunks_exact_mut(d).zip(counts) {
        m.iter_mut().for_each(|v| *v /= k as f64);
    }
    means
}

/// The data and per-class statistics both solvers share.
struct Classes<'a> {
    x: &'a [f64],
    n: usize,
    d: usize,
    labels: &'a [usize],
    c: usize,
    priors: &'a [f64],
    means: &'a [f64],
    xbar: &'a [f64],
}

/// What a solver produces.
struct Solution {
    scalings: Vec<f64>,
    rank: usize,
    explained_variance_ratio: Vec<f64>,
}

// ---------------------------------------------------------------------------------------------
// SVD solver
// ---------------------------------------------------------------------------------------------

/// sklearn's `_solve_svd` through Gram matrices (module documentation).
fn solve_svd(
    cl: &Classes,
    tol: f64,
    max_components: usize,
    progress: &mut dyn FnMut(f64),
) -> Result<Solution, GeometryError> {
    let (d, c) = (cl.d, cl.c);
    let std = within_std(cl);
    let g = within_gram(cl, &std, &mut |f| progress(0.4 * f));
    // Stage 1: the rank of X1 = sqrt(1/n) Xc / std from G's eigenvalues S1^2.
    let lambda = symmetric_eigenvalues_desc_with_progress(g.clone(), d, &mut |f| progress(0.4 + 0.3 * f));
    let r1 = lambda.iter().filter(|&&l| l.max(0.0).sqrt() > tol).count();
    if r1 == 0 {
        return Err(GeometryError::DegenerateCloud {
            reason: format!(
                "no within-class variation: every singular value of the scaled within-class rows is \
                 at most tol = {tol:e} (each class is a single point?)"
            ),
        });
    }
    // Stage 2: Y = G+ W, K = W^T Y = U2 S2^2 U2^T.
    let w = between_matrix(cl, &std);
    let y = pseudo_inverse_apply(g, d, &lambda, r1, &w, c, &mut |f| progress(0.7 + 0.25 * f))?;
    let mut k = vec![0f64; c * c];
    for (wr, yr) in w.chunks_exact(c).zip(y.chunks_exact(c)) {
        for a in 0..c {
            for b in 0..c {
                k[a * c + b] += wr[a] * yr[b];
            }
        }
    }
    symmetrize(&mut k, c);
    let m2 = c.min(r1);
    let top = symmetric_top_eigenpairs(k, c, m2, &mut |_| {});
    let s2: Vec<f64> = top.values.iter().map(|l| l.max(0.0).sqrt()).collect();
    if s2[0].is_nan() || s2[0] <= 0.0 {
        return Err(GeometryError::DegenerateCloud {
            reason: "the class means coincide (no between-class variation), so there is no \
                     discriminant direction"
                .into(),
        });
    }
    let total: f64 = s2.iter().map(|s| s * s).sum();
    let explained_variance_ratio = s2.iter().take(max_components).map(|s| s * s / total).collect();
    let r2 = s2.iter().filter(|&&s| s > tol * s2[0]).count();
    // scalings[:, j] = diag(1/std) Y u_j / S2_j.
    let mut scalings = vec![0f64; d * r2];
    for ((out, yr), sd) in scalings.chunks_exact_mut(r2).zip(y.chunks_exact(c)).zip(&std) {
        for (j, o) in out.iter_mut().enumerate() {
            let u = &top.vectors[j * c..(j + 1) * c];
            *o = yr.iter().zip(u).map(|(a, b)| a * b).sum::<f64>() / s2[j] / sd;
        }
    }
    Ok(Solution {
        scalings,
        rank: r2,
        explained_variance_ratio,
    })
}

/// Row `i` of `Xc`: `x_i - means[labels[i]]`, written into `out`.
fn centred_row(cl: &Classes, i: usize, out: &mut [f64]) {
    let d = cl.d;
    let m = &cl.means[cl.labels[i] * d..(cl.labels[i] + 1) * d];
    for ((o, v), mu) in out.iter_mut().zip(&cl.x[i * d..(i + 1) * d]).zip(m) {
        *o = v - mu;
    }
}

/// `np.std(Xc, axis=0)` (population standard deviation about the column mean of `Xc`), zeros
/// replaced by 1.
fn within_std(cl: &Classes) -> Vec<f64> {
    let (n, d) = (cl.n, cl.d);
    let mut row = vec![0f64; d];
    let mut mean = vec![0f64; d];
    for i in 0..n {
        centred_row(cl, i, &mut row);
        mean.iter_mut().zip(&row).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut var = vec![0f64; d];
    for i in 0..n {
        centred_row(cl, i, &mut row);
        for ((s, v), m) in var.iter_mut().zip(&row).zip(&mean) {
            *s += (v - m) * (v - m);
        }
    }
    var.iter()
        .map(|s| {
            let sd = (s / n as f64).sqrt();
            if sd == 0.0 {
                1.0
            } else {
                sd
            }
        })
        .collect()
}

/// `G = X1^T X1` with `X1 = sqrt(1/n) Xc / std`, blocks of [`GRAM_BLOCK`] rows through
/// [`gram_upper_accumulate`] (threaded `dgemm`).
fn within_gram(cl: &Classes, std: &[f64], progress: &mut dyn FnMut(f64)) -> Vec<f64> {
    let (n, d) = (cl.n, cl.d);
    let fac = (1.0 / n as f64).sqrt();
    let mut g = vec![0f64; d * d];
    let mut block = vec![0f64; GRAM_BLOCK.min(n) * d];
    let mut start = 0;
    while start < n {
        let rows = GRAM_BLOCK.min(n - start);
        for (r, out) in block.chunks_exact_mut(d).take(rows).enumerate() {
            centred_row(cl, start + r, out);
            out.iter_mut().zip(std).for_each(|(v, s)| *v = fac * (*v / s));
        }
        gram_upper_accumulate(&block[..rows * d], rows, d, &mut g);
        start += rows;
        progress(start as f64 / n as f64);
    }
    finish_symmetric(&mut g, d, 1.0);
    g
}

/// `W` (`d x c` row-major): column `k` is `sqrt(n p_k / (c - 1)) (m_k - xbar) / std`.
fn between_matrix(cl: &Classes, std: &[f64]) -> Vec<f64> {
    let (d, c) = (cl.d, cl.c);
    let fac = 1.0 / (c - 1) as f64;
    let weight: Vec<f64> = cl.priors.iter().map(|p| (cl.n as f64 * p * fac).sqrt()).collect();
    let mut w = vec![0f64; d * c];
    for j in 0..d {
        for k in 0..c {
            w[j * c + k] = weight[k] * (cl.means[k * d + j] - cl.xbar[j]) / std[j];
        }
    }
    w
}

/// `Y = G+ B` for the symmetric positive semi-definite `d x d` matrix `g` with eigenvalues
/// `lambda` (descending), keeping its `r` leading eigen-directions (`G+ = V_r diag(1/lambda_r)
/// V_r^T`); `b` is `d x m`.
///
/// - `r = d`: Cholesky solve.
/// - `d - r <= r / 4`: with `N` the `d - r` trailing unit eigenvectors (eigenvalues `mu_j`) and
///   `sigma = lambda_1`, `H = G + sigma N^T N` has the same eigenvectors, eigenvalues `lambda_r` and
///   `mu_j + sigma`, so `G+ B = H^-1 B - N^T diag(1/(mu_j + sigma)) N B` (one Cholesky solve).
/// - otherwise: the `r` leading eigenvectors directly.
///
/// The null eigenvalues are all near 0, one cluster for inverse iteration, whose Gram-Schmidt
/// costs `O(d (d - r)^2)`; hence the null-space route only for a small null space (at d = 2304,
/// 1116 null vectors took about 20 s, the 1188 leading vectors about 5 s).
fn pseudo_inverse_apply(
    mut g: Vec<f64>,
    d: usize,
    lambda: &[f64],
    r: usize,
    b: &[f64],
    m: usize,
    progress: &mut dyn FnMut(f64),
) -> Result<Vec<f64>, GeometryError> {
    let null = d - r;
    if 4 * null > r {
        let top = symmetric_top_eigenpairs(g, d, r, progress);
        let weights: Vec<f64> = top.values.iter().map(|l| 1.0 / l).collect();
        return Ok(low_rank_apply(&top.vectors, &weights, d, b, m, 1.0));
    }
    // N and its eigenvalues (from the top of -G).
    let (vectors, mu) = if null > 0 {
        let neg: Vec<f64> = g.iter().map(|v| -v).collect();
        let top = symmetric_top_eigenpairs(neg, d, null, &mut |f| progress(0.8 * f));
        (top.vectors, top.values.iter().map(|v| -v).collect::<Vec<f64>>())
    } else {
        (Vec::new(), Vec::new())
    };
    let sigma = lambda[0];
    for (vrow, _) in vectors.chunks_exact(d).zip(&mu) {
        for (i, vi) in vrow.iter().enumerate() {
            for (j, vj) in vrow.iter().enumerate() {
                g[i * d + j] += sigma * vi * vj;
            }
        }
    }
    cholesky_lower(&mut g, d).map_err(|_| GeometryError::DegenerateCloud {
        reason: "the within-class scatter is numerically singular beyond the rank tolerance; \
                 raise tol or remove (near-)duplicate features"
            .into(),
    })?;
    let mut y = b.to_vec();
    solve_lower(&g, d, &mut y, m);
    solve_lower_transpose(&g, d, &mut y, m);
    if null > 0 {
        let weights: Vec<f64> = mu.iter().map(|u| 1.0 / (u + sigma)).collect();
        let correction = low_rank_apply(&vectors, &weights, d, b, m, -1.0);
        y.iter_mut().zip(&correction).for_each(|(a, c)| *a += c);
    }
    progress(1.0);
    Ok(y)
}

/// `scale * V^T diag(weights) V B` for the `k x d` row-major `v` (`k = weights.len()`) and the
/// `d x m` row-major `b`.
fn low_rank_apply(v: &[f64], weights: &[f64], d: usize, b: &[f64], m: usize, scale: f64) -> Vec<f64> {
    let mut out = vec![0f64; d * m];
    let mut t = vec![0f64; m];
    for (vrow, w) in v.chunks_exact(d).zip(weights) {
        t.iter_mut().for_each(|x| *x = 0.0);
        for (vi, brow) in vrow.iter().zip(b.chunks_exact(m)) {
            t.iter_mut().zip(brow).for_each(|(x, bv)| *x += vi * bv);
        }
        let f = scale * w;
        for (vi, orow) in vrow.iter().zip(out.chunks_exact_mut(m)) {
            orow.iter_mut().zip(&t).for_each(|(o, x)| *o += f * vi * x);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Eigen solver with shrinkage
// ---------------------------------------------------------------------------------------------

/// sklearn's `_solve_eigen` with a shrinkage (module documentation).
fn solve_eigen(
    cl: &Classes,
    shrinkage: LdaShrinkage,
    max_components: usize,
    progress: &mut dyn FnMut(f64),
) -> Result<Solution, GeometryError> {
    let d = cl.d;
    let rows = class_rows(cl.labels, cl.c);
    let all: Vec<usize> = (0..cl.n).collect();
    // S_w = sum_k p_k Sigma_k, S_t = Sigma(all rows).
    let mut sw = vec![0f64; d * d];
    for (k, members) in rows.iter().enumerate() {
        let s = shrunk_covariance(cl.x, d, members, shrinkage);
        sw.iter_mut().zip(&s).for_each(|(a, v)| *a += cl.priors[k] * v);
        progress(0.5 * (k + 1) as f64 / (cl.c + 1) as f64);
    }
    let mut sb = shrunk_covariance(cl.x, d, &all, shrinkage);
    sb.iter_mut().zip(&sw).for_each(|(b, w)| *b -= w);
    progress(0.5);
    let mut l = sw;
    cholesky_lower(&mut l, d).map_err(|j| GeometryError::DegenerateCloud {
        reason: format!(
            "the within-class covariance is not positive definite (leading minor {} of {d}); \
             use shrinkage 'auto' or a larger fixed shrinkage",
            j + 1
        ),
    })?;
    // C = L^-1 S_b L^-T.
    solve_lower(&l, d, &mut sb, d);
    transpose_in_place(&mut sb, d);
    solve_lower(&l, d, &mut sb, d);
    symmetrize(&mut sb, d);
    progress(0.7);
    let top = symmetric_top_eigenpairs(sb.clone(), d, max_components, &mut |f| progress(0.7 + 0.28 * f));
    let explained_variance_ratio = eigen_explained_variance_ratio(&sb, d, &top.values);
    // v = L^-T w, as columns of a d x m matrix.
    let m = top.values.len();
    let mut scalings = vec![0f64; d * m];
    for (j, w) in top.vectors.chunks_exact(d).enumerate() {
        for (i, wi) in w.iter().enumerate() {
            scalings[i * m + j] = *wi;
        }
    }
    solve_lower_transpose(&l, d, &mut scalings, m);
    Ok(Solution {
        scalings,
        rank: m,
        explained_variance_ratio,
    })
}

/// sklearn's `np.sort(evals / np.sum(evals))[::-1][:m]` for the eigenvalues `evals` of the
/// symmetric `d x d` matrix `c`, whose sum is `trace(c)`, given its `m` largest eigenvalues.
///
/// When the sum is positive these are the `m` largest eigenvalues over the sum. With shrinkage
/// `S_b = S_t - S_w` is indefinite and the sum can be negative (it is for the GloVe and MiniLM
/// word-pair differences with `'auto'`); sklearn then reports the `m` most negative eigenvalues
/// over the (negative) sum, which is what this reproduces (all eigenvalues are computed only in
/// that case).
fn eigen_explained_variance_ratio(c: &[f64], d: usize, top_values: &[f64]) -> Vec<f64> {
    let trace: f64 = (0..d).map(|i| c[i * d + i]).sum();
    if trace >= 0.0 {
        return top_values.iter().map(|v| v / trace).collect();
    }
    let all = symmetric_eigenvalues_desc_with_progress(c.to_vec(), d, &mut |_| {});
    // evals / trace, descending: the most negative eigenvalues first.
    all.iter()
        .rev()
        .take(top_values.len())
        .map(|v| v / trace)
        .collect()
}

fn class_rows(labels: &[usize], c: usize) -> Vec<Vec<usize>> {
    let mut rows = vec![Vec::new(); c];
    for (i, &l) in labels.iter().enumerate() {
        rows[l].push(i);
    }
    rows
}

/// Mean and biased covariance (`np.cov(X.T, bias=1)`) of the rows `rows` of `x`.
struct Moments {
    mean: Vec<f64>,
    cov: Vec<f64>,
}

fn moments(x: &[f64], d: usize, rows: &[usize]) -> Moments {
    let n = rows.len();
    let mut mean = vec![0f64; d];
    for &i in rows {
        mean.iter_mut()
            .zip(&x[i * d..(i + 1) * d])
            .for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut cov = vec![0f64; d * d];
    let mut block = vec![0f64; GRAM_BLOCK.min(n) * d];
    for chunk in rows.chunks(GRAM_BLOCK) {
        for (&i, out) in chunk.iter().zip(block.chunks_exact_mut(d)) {
            for ((o, v), m) in out.iter_mut().zip(&x[i * d..(i + 1) * d]).zip(&mean) {
                *o = v - m;
            }
        }
        gram_upper_accumulate(&block[..chunk.len() * d], chunk.len(), d, &mut cov);
    }
    finish_symmetric(&mut cov, d, 1.0 / n as f64);
    Moments { mean, cov }
}

/// sklearn's `_cov(X[rows], shrinkage)` for `'auto'` or a fixed shrinkage.
fn shrunk_covariance(x: &[f64], d: usize, rows: &[usize], shrinkage: LdaShrinkage) -> Vec<f64> {
    let m = moments(x, d, rows);
    match shrinkage {
        LdaShrinkage::Fixed(alpha) => shrink(m.cov, d, alpha, None),
        _ => ledoit_wolf_standardized(x, d, rows, m),
    }
}

/// `(1 - alpha) S + alpha mu D` with `mu = tr(S) / d` and `D = diag(scale^2)` (identity when
/// `scale` is `None`): `sklearn.covariance.shrunk_covariance`.
fn shrink(mut s: Vec<f64>, d: usize, alpha: f64, scale: Option<&[f64]>) -> Vec<f64> {
    let mu = (0..d).map(|i| s[i * d + i]).sum::<f64>() / d as f64;
    s.iter_mut().for_each(|v| *v *= 1.0 - alpha);
    for i in 0..d {
        let sc = scale.map_or(1.0, |s| s[i] * s[i]);
        s[i * d + i] += alpha * mu * sc;
    }
    s
}

/// sklearn's `_cov(X, 'auto')`: `StandardScaler` (scale = population std, near-constant features
/// kept at scale 1 by sklearn's `_is_constant_feature` test `var <= n eps var + (n mean eps)^2`),
/// `ledoit_wolf` of the standardised rows `Z`, rescaled by `scale_i scale_j`.
///
/// Ledoit-Wolf (`ledoit_wolf_shrinkage`, `p` features): with `S = Z^T Z / n`, `mu = tr(S) / p`,
/// `beta_ = sum_k |z_k|^4`, `delta_ = ||S||_F^2`:
/// `beta = (beta_ / n - delta_) / (p n)`, `delta = (delta_ - 2 mu tr(S) + p mu^2) / p`,
/// `shrinkage = min(beta, delta) / delta` (0 when `beta` is 0; also when `delta` is 0, where
/// sklearn would divide by zero), and the estimate `(1 - shrinkage) S + shrinkage mu I`.
fn ledoit_wolf_standardized(x: &[f64], d: usize, rows: &[usize], m: Moments) -> Vec<f64> {
    let n = rows.len() as f64;
    let eps = f64::EPSILON;
    let scale: Vec<f64> = (0..d)
        .map(|j| {
            let var = m.cov[j * d + j];
            let bound = n * eps * var + (n * m.mean[j] * eps).powi(2);
            if var <= bound {
                1.0
            } else {
                var.sqrt()
            }
        })
        .collect();
    let mut s = m.cov;
    for i in 0..d {
        for j in 0..d {
            s[i * d + j] /= scale[i] * scale[j];
        }
    }
    let mut beta_ = 0.0;
    for &i in rows {
        let r: f64 = x[i * d..(i + 1) * d]
            .iter()
            .zip(&m.mean)
            .zip(&scale)
            .map(|((v, mu), sc)| {
                let z = (v - mu) / sc;
                z * z
            })
            .sum();
        beta_ += r * r;
    }
    let p = d as f64;
    let trace: f64 = (0..d).map(|i| s[i * d + i]).sum();
    let mu = trace / p;
    let delta_: f64 = s.iter().map(|v| v * v).sum();
    let beta = (beta_ / n - delta_) / (p * n);
    let delta = (delta_ - 2.0 * mu * trace + p * mu * mu) / p;
    let beta = beta.min(delta);
    let shrinkage = if beta == 0.0 || delta == 0.0 || d == 1 {
        0.0
    } else {
        beta / delta
    };
    let mut out = shrink(s, d, shrinkage, None);
    for i in 0..d {
        for j in 0..d {
            out[i * d + j] *= scale[i] * scale[j];
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Dense helpers: Cholesky, triangular solves (blocked, dgemm for the bulk)
// ---------------------------------------------------------------------------------------------

/// `(A + A^T) / 2` in place (`n x n`).
fn symmetrize(a: &mut [f64], n: usize) {
    for i in 0..n {
        for j in i + 1..n {
            let v = 0.5 * (a[i * n + j] + a[j * n + i]);
            a[i * n + j] = v;
            a[j * n + i] = v;
        }
    }
}

fn transpose_in_place(a: &mut [f64], n: usize) {
    for i in 0..n {
        for j in i + 1..n {
            a.swap(i * n + j, j * n + i);
        }
    }
}

/// `C -= A B` for row-major blocks given by raw pointers and row strides (`m x k` times `k x n`).
///
/// # Safety
/// The pointers with these shapes and strides must address valid memory, `c` must not overlap
/// `a` or `b`.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_sub(
    m: usize,
    k: usize,
    n: usize,
    a: *const f64,
    rsa: isize,
    csa: isize,
    b: *const f64,
    rsb: isize,
    csb: isize,
    c: *mut f64,
    rsc: isize,
) {
    if m == 0 || k == 0 || n == 0 {
        return;
    }
    crate::compute::gemm::dgemm(m, k, n, -1.0, a, rsa, csa, b, rsb, csb, 1.0, c, rsc, 1);
}

/// Cholesky factorisation `A = L L^T` in place (row-major `n x n`; the lower triangle of `a` is
/// read and becomes `L`, the strict upper triangle is zeroed). Blocked left-looking (LAPACK
/// `dpotrf`'s `dpotrf2`-free variant): each block column is updated by one `dgemm` with the
/// columns to its left, then factored by the unblocked algorithm.
///
/// Returns `Err(j)` if the leading minor of order `j + 1` is not positive (or is NaN).
fn cholesky_lower(a: &mut [f64], n: usize) -> Result<(), usize> {
    let nn = n as isize;
    for j0 in (0..n).step_by(TRI_BLOCK) {
        let jb = TRI_BLOCK.min(n - j0);
        let ptr = a.as_mut_ptr();
        // A[j0.., j0..j0+jb] -= L[j0.., ..j0] L[j0..j0+jb, ..j0]^T.
        // SAFETY: reads columns 0..j0 and writes columns j0..j0+jb of rows j0..n: disjoint,
        // all inside the n x n buffer.
        unsafe {
            gemm_sub(
                n - j0,
                j0,
                jb,
                ptr.add(j0 * n),
                nn,
                1,
                ptr.add(j0 * n),
                1,
                nn,
                ptr.add(j0 * n + j0),
                nn,
            );
        }
        for j in j0..j0 + jb {
            let (head, tail) = a.split_at_mut(j * n + n);
            let rowj = &mut head[j * n..];
            let s = rowj[j] - rowj[j0..j].iter().map(|v| v * v).sum::<f64>();
            if s.is_nan() || s <= 0.0 {
                return Err(j);
            }
            let ljj = s.sqrt();
            rowj[j] = ljj;
            for rowi in tail.chunks_exact_mut(n) {
                let dot: f64 = rowi[j0..j].iter().zip(&rowj[j0..j]).map(|(p, q)| p * q).sum();
                rowi[j] = (rowi[j] - dot) / ljj;
            }
        }
    }
    for i in 0..n {
        a[i * n + i + 1..(i + 1) * n].iter_mut().for_each(|v| *v = 0.0);
    }
    Ok(())
}

/// Solves `L X = B` in place (`B` is `n x m` row-major, `L` the lower factor of
/// [`cholesky_lower`]): blocks of rows, the update from the rows above by `dgemm`.
fn solve_lower(l: &[f64], n: usize, b: &mut [f64], m: usize) {
    for i0 in (0..n).step_by(TRI_BLOCK) {
        let ib = TRI_BLOCK.min(n - i0);
        let bp = b.as_mut_ptr();
        // B[i0..i0+ib] -= L[i0..i0+ib, ..i0] X[..i0].
        // SAFETY: reads rows 0..i0 of b and writes rows i0..i0+ib: disjoint, in bounds.
        unsafe {
            gemm_sub(
                ib,
                i0,
                m,
                l.as_ptr().add(i0 * n),
                n as isize,
                1,
                bp,
                m as isize,
                1,
                bp.add(i0 * m),
                m as isize,
            );
        }
        for i in i0..i0 + ib {
            let (done, rest) = b.split_at_mut(i * m);
            let bi = &mut rest[..m];
            for k in i0..i {
                let f = l[i * n + k];
                bi.iter_mut()
                    .zip(&done[k * m..(k + 1) * m])
                    .for_each(|(v, x)| *v -= f * x);
            }
            let inv = 1.0 / l[i * n + i];
            bi.iter_mut().for_each(|v| *v *= inv);
        }
    }
}

/// Solves `L^T X = B` in place (`B` is `n x m` row-major): blocks of rows from the bottom.
fn solve_lower_transpose(l: &[f64], n: usize, b: &mut [f64], m: usize) {
    let blocks: Vec<usize> = (0..n).step_by(TRI_BLOCK).collect();
    for &i0 in blocks.iter().rev() {
        let ib = TRI_BLOCK.min(n - i0);
        let bp = b.as_mut_ptr();
        let e = i0 + ib;
        // B[i0..e] -= (L[e.., i0..e])^T X[e..].
        // SAFETY: reads rows e..n of b and writes rows i0..e: disjoint, in bounds.
        unsafe {
            gemm_sub(
                ib,
                n - e,
                m,
                l.as_ptr().add(e * n + i0),
                1,
                n as isize,
                bp.add(e * m),
                m as isize,
                1,
                bp.add(i0 * m),
                m as isize,
            );
        }
        for i in (i0..e).rev() {
            let (head, done) = b.split_at_mut((i + 1) * m);
            let bi = &mut head[i * m..];
            for k in i + 1..e {
                let f = l[k * n + i];
                bi.iter_mut()
                    .zip(&done[(k - i - 1) * m..(k - i) * m])
                    .for_each(|(v, x)| *v -= f * x);
            }
            let inv = 1.0 / l[i * n + i];
            bi.iter_mut().for_each(|v| *v *= inv);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-normal numbers (sum of uniforms from an LCG).
    fn noise(seed: u64, len: usize) -> Vec<f64> {
        let mut lcg = crate::geometry::test_data::Lcg::scrambled(seed);
        (0..len).map(|_| (0..4).map(|_| lcg.uniform()).sum::<f64>()).collect()
    }

    /// `c` Gaussian-ish clusters in `d` dimensions with `per` rows each (class of row i: i % c).
    fn clusters(c: usize, d: usize, per: usize, seed: u64) -> (Vec<f64>, Vec<usize>) {
        let centres = noise(seed, c * d);
        let eps = noise(seed + 1, c * per * d);
        let labels: Vec<usize> = (0..c * per).map(|i| i % c).collect();
        let x = (0..c * per * d)
            .map(|k| {
                let (i, j) = (k / d, k % d);
                3.0 * centres[labels[i] * d + j] + eps[k] * (1.0 + j as f64 / d as f64)
            })
            .collect();
        (x, labels)
    }

    fn fit(x: &[f64], n: usize, d: usize, labels: &[usize], params: LdaParams) -> Lda {
        lda_fit(x, n, d, labels, &params, &mut |_| {}).unwrap()
    }

    /// max over columns of | |cos(a_j, b_j)| - 1 | for n x k matrices.
    fn column_cosine_error(a: &[f64], b: &[f64], k: usize) -> f64 {
        (0..k)
            .map(|j| {
                let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
                for (ra, rb) in a.chunks_exact(k).zip(b.chunks_exact(k)) {
                    ab += ra[j] * rb[j];
                    aa += ra[j] * ra[j];
                    bb += rb[j] * rb[j];
                }
                ((ab / (aa * bb).sqrt()).abs() - 1.0).abs()
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn one_feature_two_classes_by_hand() {
        // Classes {0, 2} and {10, 14}: within-class deviations -1, 1, -2, 2, pooled std
        // sqrt(10 / 4); xbar = 6.5. The discriminant is (x - xbar) / std up to sign.
        let x = [0.0, 2.0, 10.0, 14.0];
        let labels = [0, 0, 1, 1];
        let lda = fit(&x, 4, 1, &labels, LdaParams::default());
        assert_eq!((lda.rank, lda.max_components, lda.n_output()), (1, 1, 1));
        assert_eq!(lda.priors, vec![0.5, 0.5]);
        assert_eq!(lda.xbar, vec![6.5]);
        assert!((lda.explained_variance_ratio[0] - 1.0).abs() < 1e-12);
        let t = lda.transform(&x, 4, 1).unwrap();
        let sd = (10.0f64 / 4.0).sqrt();
        for (ti, xi) in t.iter().zip(&x) {
            assert!((ti.abs() - ((xi - 6.5) / sd).abs()).abs() < 1e-12, "{ti} vs {xi}");
        }
    }

    #[test]
    fn invariant_under_affine_maps_of_the_features() {
        // Fisher LDA is affine invariant: X A + t gives the same projections up to sign.
        let (c, d, per) = (5, 6, 40);
        let (x, labels) = clusters(c, d, per, 7);
        let n = c * per;
        let a: Vec<f64> = noise(99, d * d)
            .iter()
            .enumerate()
            .map(|(k, v)| v + if k % (d + 1) == 0 { 2.0 } else { 0.0 })
            .collect();
        let mut y = vec![0f64; n * d];
        for i in 0..n {
            for j in 0..d {
                y[i * d + j] = 5.0 + (0..d).map(|k| x[i * d + k] * a[k * d + j]).sum::<f64>();
            }
        }
        let l1 = fit(&x, n, d, &labels, LdaParams::default());
        let l2 = fit(&y, n, d, &labels, LdaParams::default());
        let k = l1.n_output();
        assert_eq!(k, c - 1);
        let (t1, t2) = (l1.transform(&x, n, k).unwrap(), l2.transform(&y, n, k).unwrap());
        assert!(column_cosine_error(&t1, &t2, k) < 1e-10);
        for (a, b) in t1.iter().zip(&t2) {
            assert!((a.abs() - b.abs()).abs() < 1e-9 * (1.0 + a.abs()));
        }
        for (e1, e2) in l1
            .explained_variance_ratio
            .iter()
            .zip(&l2.explained_variance_ratio)
        {
            assert!((e1 - e2).abs() < 1e-10);
        }
    }

    #[test]
    fn projections_are_whitened_and_centred() {
        // SVD solver: the projected class means average to 0 (weighted), and the projected
        // within-class covariance (biased, pooled) is the identity.
        let (c, d, per) = (4, 5, 30);
        let (x, labels) = clusters(c, d, per, 3);
        let n = c * per;
        let lda = fit(&x, n, d, &labels, LdaParams::default());
        let k = lda.n_output();
        let t = lda.transform(&x, n, k).unwrap();
        let mut means = vec![0f64; c * k];
        for (row, &l) in t.chunks_exact(k).zip(&labels) {
            means[l * k..(l + 1) * k]
                .iter_mut()
                .zip(row)
                .for_each(|(m, v)| *m += v / per as f64);
        }
        for j in 0..k {
            let s: f64 = (0..c).map(|l| lda.priors[l] * means[l * k + j]).sum();
            assert!(s.abs() < 1e-10);
        }
        for a in 0..k {
            for b in 0..k {
                let w: f64 = t
                    .chunks_exact(k)
                    .zip(&labels)
                    .map(|(r, &l)| (r[a] - means[l * k + a]) * (r[b] - means[l * k + b]))
                    .sum::<f64>()
                    / n as f64;
                assert!((w - if a == b { 1.0 } else { 0.0 }).abs() < 1e-10, "{a} {b} {w}");
            }
        }
    }

    #[test]
    fn eigen_without_shrinkage_matches_svd() {
        // Both normalise v^T S_w v = 1; eigen does not centre, so it differs by xbar @ v.
        let (c, d, per) = (6, 8, 25);
        let (x, labels) = clusters(c, d, per, 11);
        let n = c * per;
        let svd = fit(&x, n, d, &labels, LdaParams::default());
        let eig = fit(
            &x,
            n,
            d,
            &labels,
            LdaParams {
                shrinkage: LdaShrinkage::Fixed(0.0),
                ..Default::default()
            },
        );
        let k = svd.n_output();
        assert_eq!(eig.n_output(), k);
        let ts = svd.transform(&x, n, k).unwrap();
        let te = eig.transform(&x, n, k).unwrap();
        let shift = eig.project_direction(&eig.xbar, k).unwrap();
        for (rs, re) in ts.chunks_exact(k).zip(te.chunks_exact(k)) {
            for j in 0..k {
                assert!(((re[j] - shift[j]).abs() - rs[j].abs()).abs() < 1e-9, "{j}");
            }
        }
        for (a, b) in svd
            .explained_variance_ratio
            .iter()
            .zip(&eig.explained_variance_ratio)
        {
            assert!((a - b).abs() < 1e-10);
        }
    }

    #[test]
    fn rank_deficient_features_and_shrinkage() {
        // The last column = column 0 + column 1 (within-class scatter singular): the SVD solver
        // drops the null direction (d0 = 3: through the leading eigenvectors; d0 = 8: through the
        // null-space correction); shrinkage makes the eigen solver well-posed; without, an error.
        for d0 in [3, 8] {
            let (c, per) = (4, 30);
            let (x0, labels) = clusters(c, d0, per, 5);
            let n = c * per;
            let d = d0 + 1;
            let x: Vec<f64> = x0
                .chunks_exact(d0)
                .flat_map(|r| r.iter().copied().chain([r[0] + r[1]]))
                .collect();
            let svd = fit(&x, n, d, &labels, LdaParams::default());
            let base = fit(&x0, n, d0, &labels, LdaParams::default());
            let k = base.n_output();
            assert_eq!(svd.n_output(), k);
            let (t, tb) = (
                svd.transform(&x, n, k).unwrap(),
                base.transform(&x0, n, k).unwrap(),
            );
            assert!(column_cosine_error(&t, &tb, k) < 1e-8, "d0 {d0}");
            for shrinkage in [LdaShrinkage::Auto, LdaShrinkage::Fixed(0.3)] {
                let e = fit(
                    &x,
                    n,
                    d,
                    &labels,
                    LdaParams {
                        shrinkage,
                        ..Default::default()
                    },
                );
                assert_eq!(e.n_output(), k);
                assert!(e.scalings.iter().all(|v| v.is_finite()));
                // With shrinkage S_b = S_t - S_w is indefinite: the ratios are positive here, but
                // their sum may exceed 1 (the trailing eigenvalues are negative), as in sklearn.
                assert!(e
                    .explained_variance_ratio
                    .iter()
                    .all(|r| r.is_finite() && *r > 0.0));
            }
            let p = LdaParams {
                shrinkage: LdaShrinkage::Fixed(0.0),
                ..Default::default()
            };
            let err = lda_fit(&x, n, d, &labels, &p, &mut |_| {});
            assert_eq!(err.unwrap_err().kind(), "degenerate-cloud");
        }
    }

    #[test]
    fn ledoit_wolf_of_isotropic_rows_shrinks_towards_identity() {
        // For rows with identical unit-variance independent features the estimate keeps the
        // diagonal (the standardised trace is d) and shrinks the off-diagonal noise.
        let (n, d) = (400, 5);
        let x = noise(21, n * d);
        let rows: Vec<usize> = (0..n).collect();
        let m = moments(&x, d, &rows);
        let raw = m.cov.clone();
        let s = ledoit_wolf_standardized(&x, d, &rows, m);
        for i in 0..d {
            assert!((s[i * d + i] - raw[i * d + i]).abs() < 1e-12 * raw[i * d + i].abs().max(1.0) + 1e-3);
            for j in 0..d {
                if i != j {
                    assert!(s[i * d + j].abs() <= raw[i * d + j].abs() + 1e-15);
                }
            }
        }
    }

    #[test]
    fn cholesky_and_solves_across_block_edges() {
        for &n in &[1usize, 5, TRI_BLOCK, TRI_BLOCK + 3, 2 * TRI_BLOCK + 7] {
            let r = noise(n as u64, n * n);
            // A = R R^T + n I.
            let mut a = vec![0f64; n * n];
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] = (0..n).map(|k| r[i * n + k] * r[j * n + k]).sum::<f64>()
                        + if i == j { n as f64 } else { 0.0 };
                }
            }
            let m = 3;
            let b = noise(7, n * m);
            let mut l = a.clone();
            cholesky_lower(&mut l, n).unwrap();
            let mut y = b.clone();
            solve_lower(&l, n, &mut y, m);
            solve_lower_transpose(&l, n, &mut y, m);
            for i in 0..n {
                for q in 0..m {
                    let ay: f64 = (0..n).map(|k| a[i * n + k] * y[k * m + q]).sum();
                    assert!((ay - b[i * m + q]).abs() < 1e-10, "n {n}");
                }
            }
        }
        let mut bad = vec![1.0, 2.0, 2.0, 1.0];
        assert_eq!(cholesky_lower(&mut bad, 2), Err(1));
    }

    #[test]
    fn errors_are_reported() {
        let (x, labels) = clusters(3, 2, 4, 1);
        let n = 12;
        let run = |x: &[f64], n: usize, d: usize, l: &[usize], p: LdaParams| {
            lda_fit(x, n, d, l, &p, &mut |_| {}).map(|_| ()).unwrap_err()
        };
        let p = LdaParams::default();
        assert_eq!(run(&x, n, 2, &[0; 12], p).kind(), "invalid-parameter");
        assert!(run(&x, n, 2, &[0; 12], p)
            .to_string()
            .contains("at least 2 classes"));
        let mut gap = labels.clone();
        gap[0] = 5;
        assert!(run(&x, n, 2, &gap, p).to_string().contains("class 3 has no rows"));
        assert!(run(&x[..6], 3, 2, &[0, 1, 2], p)
            .to_string()
            .contains("more than the number of classes"));
        assert_eq!(run(&x[..2], 1, 2, &[0], p).kind(), "too-few-points");
        let mut nan = x.clone();
        nan[5] = f64::NAN;
        assert_eq!(
            run(&nan, n, 2, &labels, p),
            GeometryError::NonFinite { row: 2, col: 1 }
        );
        let e = run(
            &x,
            n,
            2,
            &labels,
            LdaParams {
                n_components: Some(3),
                ..p
            },
        );
        assert!(e.to_string().contains("ask for at most 2"), "{e}");
        assert_eq!(
            run(
                &x,
                n,
                2,
                &labels,
                LdaParams {
                    n_components: Some(0),
                    ..p
                }
            )
            .kind(),
            "invalid-parameter"
        );
        assert_eq!(
            run(
                &x,
                n,
                2,
                &labels,
                LdaParams {
                    shrinkage: LdaShrinkage::Fixed(1.5),
                    ..p
                }
            )
            .kind(),
            "invalid-parameter"
        );
        assert_eq!(
            run(&x, n, 2, &labels, LdaParams { tol: -1.0, ..p }).kind(),
            "invalid-parameter"
        );
        assert_eq!(run(&x, n, 2, &labels[..11], p).kind(), "invalid-parameter");
        // Coinciding class means: every class is the same set of points.
        let same: Vec<f64> = (0..12).map(|i| (i / 3) as f64).collect();
        let lab: Vec<usize> = (0..12).map(|i| i % 3).collect();
        assert_eq!(run(&same, 12, 1, &lab, p).kind(), "degenerate-cloud");
        // transform / project_direction argument checks.
        let lda = fit(&x, n, 2, &labels, p);
        assert!(lda.transform(&x, n, 3).is_err());
        assert!(lda.transform(&x, n, 0).is_err());
        assert!(lda.transform(&x[..5], n, 1).is_err());
        assert!(lda.project_direction(&[1.0], 1).is_err());
    }

    #[test]
    fn thread_count_and_progress() {
        use crate::compute::par;
        let (c, d, per) = (4, 70, 80);
        let (x, labels) = clusters(c, d, per, 8);
        let n = c * per;
        for shrinkage in [LdaShrinkage::None, LdaShrinkage::Auto] {
            let p = LdaParams {
                shrinkage,
                ..Default::default()
            };
            let mut seen = Vec::new();
            let one = par::with_threads(1, || {
                lda_fit(&x, n, d, &labels, &p, &mut |f| seen.push(f)).unwrap()
            });
            assert!(seen.windows(2).all(|w| w[0] <= w[1]) && seen.last() == Some(&1.0));
            let two = par::with_threads(3, || fit(&x, n, d, &labels, p));
            assert_eq!(one, two);
        }
    }

    #[test]
    fn n_components_limits_output_and_ratio() {
        let (c, d, per) = (5, 4, 20);
        let (x, labels) = clusters(c, d, per, 2);
        let n = c * per;
        let full = fit(&x, n, d, &labels, LdaParams::default());
        let two = fit(
            &x,
            n,
            d,
            &labels,
            LdaParams {
                n_components: Some(2),
                ..Default::default()
            },
        );
        assert_eq!((two.max_components, two.n_output()), (2, 2));
        assert_eq!(two.explained_variance_ratio.len(), 2);
        assert!(two.transform(&x, n, 3).is_err());
        let (a, b) = (
            full.transform(&x, n, 2).unwrap(),
            two.transform(&x, n, 2).unwrap(),
        );
        assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-12));
        // project_direction is the linear part of transform.
        let diff: Vec<f64> = (0..d).map(|j| x[j] - x[d + j]).collect();
        let pd = full.project_direction(&diff, 2).unwrap();
        let t = full.transform(&x[..2 * d], 2, 2).unwrap();
        assert!((pd[0] - (t[0] - t[2])).abs() < 1e-12 && (pd[1] - (t[1] - t[3])).abs() < 1e-12);
    }
}
