//! Exact principal component analysis (scikit-learn's `PCA(svd_solver='full')`), optionally of the
//! z-scored matrix (`StandardScaler` first), and the z-score helper itself.
//!
//! The principal axes are the top eigenvectors of the sample covariance
//! `C = (X - mean)^T (X - mean) / (N - 1)` ([`crate::compute::cpu::covariance`], exactly
//! `np.cov(X, rowvar=False)` in `f64`), computed by [`super::eigvec::symmetric_top_eigenpairs`]
//! (Householder tridiagonalisation + inverse iteration + back-transformation). scikit-learn takes
//! the SVD of the centred data instead, `X_c = U S V^T`; the two agree, since
//! `C = V (S^2 / (N - 1)) V^T`: `explained_variance = S^2 / (N - 1)` are `C`'s eigenvalues and the
//! components (rows of `V^T`) its eigenvectors. Forming `C` squares the condition number, which
//! costs relative accuracy only for eigenvalues below about `1e-8` of the largest (irrelevant for
//! the top components of a decoder matrix, and the price of an `O(N d^2)` method that never holds
//! an `N x d` `f64` copy).
//!
//! Z-scoring is folded into the covariance: with `D = diag(scale)`, the z-scored rows
//! `Z = (X - mean) D^-1` have covariance `D^-1 C D^-1`, so no scaled copy of the data is made.

use super::eigvec::symmetric_top_eigenpairs;
use super::GeometryError;
use crate::compute::cpu;
use crate::matrix::Matrix;

/// Per-column standardisation as scikit-learn's `StandardScaler()`: `z = (x - mean) / scale`,
/// `scale = sqrt(var)` with the population variance (ddof = 0); a column that is constant up to
/// rounding gets `scale = 1` (sklearn's `_is_constant_feature`: `var <= n eps var + (n mean eps)^2`).
#[derive(Debug, Clone, PartialEq)]
pub struct StandardScaler {
    /// Column means.
    pub mean: Vec<f64>,
    /// Column standard deviations (ddof = 0), 1 for constant columns.
    pub scale: Vec<f64>,
}

/// Column means in `f64`, summed per block of rows (as [`cpu::covariance`] does).
fn column_means(m: &Matrix) -> Vec<f64> {
    let (n, d) = (m.rows(), m.cols());
    let mut total = vec![0f64; d];
    if d == 0 {
        return total;
    }
    let mut partial = vec![0f64; d];
    for chunk in m.as_slice().chunks(cpu::BLOCK_ROWS * d) {
        partial.iter_mut().for_each(|v| *v = 0.0);
        for row in chunk.chunks_exact(d) {
            for (s, &v) in partial.iter_mut().zip(row) {
                *s += v as f64;
            }
        }
        for (t, s) in total.iter_mut().zip(&partial) {
            *t += s;
        }
    }
    total.iter().map(|s| s / n.max(1) as f64).collect()
}

fn check_finite(m: &Matrix) -> Result<(), GeometryError> {
    match m.first_non_finite() {
        Some((row, col)) => Err(GeometryError::NonFinite { row, col }),
        None => Ok(()),
    }
}

/// sklearn's `_handle_zeros_in_scale` with `_is_constant_feature`: the scale of a column of
/// population variance `var` and mean `mean` over `n` rows.
fn scale_of(var: f64, mean: f64, n: usize) -> f64 {
    let nf = n as f64;
    let eps = f64::EPSILON;
    let bound = nf * eps * var + (nf * mean * eps).powi(2);
    if var <= bound {
        1.0
    } else {
        var.sqrt()
    }
}

impl StandardScaler {
    /// Fits the scaler: column means, then the population variances by a second pass
    /// (`sum (x - mean)^2 / N`, in `f64`).
    ///
    /// `StandardScaler().fit(X)` (its `mean_` and `scale_`). Errors: `NonFinite`, `TooFewRows`
    /// (no rows).
    pub fn fit(m: &Matrix) -> Result<StandardScaler, GeometryError> {
        check_finite(m)?;
        let (n, d) = (m.rows(), m.cols());
        if n == 0 {
            return Err(GeometryError::TooFewRows { n, needed: 1 });
        }
        let mean = column_means(m);
        let mut ss = vec![0f64; d];
        for row in m.as_slice().chunks_exact(d.max(1)).take(n) {
            for ((s, &v), mu) in ss.iter_mut().zip(row).zip(&mean) {
                let c = v as f64 - mu;
                *s += c * c;
            }
        }
        let scale = ss
            .iter()
            .zip(&mean)
            .map(|(s, &mu)| scale_of(s / n as f64, mu, n))
            .collect();
        Ok(StandardScaler { mean, scale })
    }

    /// `(x - mean) / scale` for every row of `m`, row-major `f64` (`StandardScaler.transform`).
    ///
    /// Errors: `InvalidParameter` if `m` does not have the fitted number of columns.
    pub fn transform(&self, m: &Matrix) -> Result<Vec<f64>, GeometryError> {
        check_columns(m, self.mean.len())?;
        let d = m.cols();
        let mut out = Vec::with_capacity(m.rows() * d);
        for row in m.as_slice().chunks_exact(d.max(1)).take(m.rows()) {
            out.extend(
                row.iter()
                    .zip(&self.mean)
                    .zip(&self.scale)
                    .map(|((&v, mu), s)| (v as f64 - mu) / s),
            );
        }
        Ok(out)
    }
}

/// Z-scores every column of `m` (mean 0, population standard deviation 1; constant columns are
/// only centred): `StandardScaler().fit_transform(X)`. Returns the row-major `f64` values and the
/// fitted scaler. Errors as [`StandardScaler::fit`].
pub fn zscore(m: &Matrix) -> Result<(Vec<f64>, StandardScaler), GeometryError> {
    let scaler = StandardScaler::fit(m)?;
    let z = scaler.transform(m)?;
    Ok((z, scaler))
}

fn check_columns(m: &Matrix, d: usize) -> Result<(), GeometryError> {
    if m.cols() != d {
        return Err(GeometryError::InvalidParameter {
            name: "matrix".into(),
            reason: format!("it has {} columns, but the model was fitted on {d}", m.cols()),
        });
    }
    Ok(())
}

/// A fitted PCA.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// Column means of the fitted matrix (before scaling).
    pub mean: Vec<f64>,
    /// Column scales if the matrix was z-scored first ([`pca_standardized`]), else `None`.
    pub scale: Option<Vec<f64>>,
    /// `n_components x d`: unit principal axes by descending variance, each with its entry of
    /// largest absolute value positive (sklearn's `svd_flip(u_based_decision=False)`, the
    /// convention of `PCA(svd_solver='full')` since scikit-learn 1.5).
    pub components: Vec<Vec<f64>>,
    /// Variance along each component (ddof = 1: the covariance eigenvalues, `S^2 / (N - 1)`);
    /// rounding noise below zero is clamped to 0.
    pub explained_variance: Vec<f64>,
}

impl Pca {
    /// Number of components.
    pub fn n_components(&self) -> usize {
        self.components.len()
    }

    /// Projects the rows of `m`: `((x - mean) / scale) . component_j`, returned row-major
    /// (`rows x n_components`), like sklearn's `PCA.transform` (after `StandardScaler.transform`
    /// when z-scored). Blocks of rows, one `dgemm` each.
    ///
    /// Errors: `InvalidParameter` if `m`'s column count differs from the fitted one.
    pub fn transform(&self, m: &Matrix) -> Result<Vec<f64>, GeometryError> {
        let d = self.mean.len();
        check_columns(m, d)?;
        let (n, k) = (m.rows(), self.components.len());
        let mut out = vec![0f64; n * k];
        if n == 0 || k == 0 || d == 0 {
            return Ok(out);
        }
        let flat: Vec<f64> = self.components.iter().flatten().copied().collect();
        let inv_scale: Vec<f64> = match &self.scale {
            Some(s) => s.iter().map(|v| 1.0 / v).collect(),
            None => vec![1.0; d],
        };
        let mut block = vec![0f64; cpu::BLOCK_ROWS.min(n) * d];
        for (b, chunk) in m.as_slice().chunks(cpu::BLOCK_ROWS * d).enumerate() {
            let rows = chunk.len() / d;
            for (dst, src) in block.chunks_exact_mut(d).zip(chunk.chunks_exact(d)) {
                for (((o, &v), mu), is) in dst.iter_mut().zip(src).zip(&self.mean).zip(&inv_scale) {
                    *o = (v as f64 - mu) * is;
                }
            }
            let dst = &mut out[b * cpu::BLOCK_ROWS * k..(b * cpu::BLOCK_ROWS + rows) * k];
            // out_block (rows x k) = block (rows x d) * flat^T (d x k).
            // SAFETY: A reads block[r * d + c] (r < rows, c < d), B(c, j) = flat[j * d + c] (j < k),
            // C writes dst[r * k + j]: all within their slices; no aliasing.
            unsafe {
                crate::compute::gemm::dgemm(
                    rows,
                    d,
                    k,
                    1.0,
                    block.as_ptr(),
                    d as isize,
                    1,
                    flat.as_ptr(),
                    1,
                    d as isize,
                    0.0,
                    dst.as_mut_ptr(),
                    k as isize,
                    1,
                );
            }
        }
        Ok(out)
    }
}

/// Checks the input of a PCA: finite, at least 2 rows, `1 <= n_components <= min(N, d)`
/// (sklearn's bound for the full solver).
fn check_pca_input(m: &Matrix, n_components: usize) -> Result<(), GeometryError> {
    check_finite(m)?;
    let (n, d) = (m.rows(), m.cols());
    if n < 2 {
        return Err(GeometryError::TooFewRows { n, needed: 2 });
    }
    if n_components == 0 || n_components > n.min(d) {
        return Err(GeometryError::InvalidParameter {
            name: "number of principal components".into(),
            reason: format!(
                "{n_components} asked, but it must be between 1 and min(rows, columns) = {}",
                n.min(d)
            ),
        });
    }
    Ok(())
}

/// Exact PCA of the rows of `m` to `n_components` dimensions: the top eigenpairs of
/// `C = np.cov(X, rowvar=False)`.
///
/// Same as scikit-learn's `PCA(n_components, svd_solver='full').fit(X)`: `mean_`, `components_`
/// (up to the sign convention, which is sklearn's: see [`Pca::components`]) and
/// `explained_variance_`. Cost `O(N d^2)` for the covariance plus `4/3 d^3` for the reduction.
///
/// `progress(fraction)` follows the covariance then the eigenvectors and ends at 1.
///
/// Errors: `NonFinite`, `TooFewRows` (fewer than 2 rows), `InvalidParameter` (`n_components`
/// zero or above `min(N, d)`).
pub fn pca(m: &Matrix, n_components: usize, progress: &mut dyn FnMut(f64)) -> Result<Pca, GeometryError> {
    fit(m, n_components, None, None, progress)
}

/// PCA of the z-scored rows: `PCA(n_components, svd_solver='full').fit(StandardScaler()
/// .fit_transform(X))`, the z-scoring folded into the covariance (`D^-1 C D^-1`,
/// `D = diag(scale)`; see [`StandardScaler`]). [`Pca::transform`] then z-scores before projecting.
///
/// Errors as [`pca`].
pub fn pca_standardized(
    m: &Matrix,
    n_components: usize,
    progress: &mut dyn FnMut(f64),
) -> Result<Pca, GeometryError> {
    check_pca_input(m, n_components)?;
    let scaler = StandardScaler::fit(m)?;
    fit(m, n_components, Some(scaler), None, progress)
}

/// [`pca_standardized`] with the sample covariance of `m` (`np.cov(m, rowvar=False)`, d x d,
/// unscaled) computed elsewhere (a GPU): the scaling, eigenvectors and everything after are the
/// same.
pub fn pca_standardized_given(
    m: &Matrix,
    n_components: usize,
    covariance: Vec<f64>,
    progress: &mut dyn FnMut(f64),
) -> Result<Pca, GeometryError> {
    check_pca_input(m, n_components)?;
    let d = m.cols();
    if covariance.len() != d * d {
        return Err(GeometryError::InvalidParameter {
            name: "covariance".into(),
            reason: format!("{} values given for a {d} x {d} covariance", covariance.len()),
        });
    }
    let scaler = StandardScaler::fit(m)?;
    fit(m, n_components, Some(scaler), Some(covariance), progress)
}

fn fit(
    m: &Matrix,
    n_components: usize,
    scaler: Option<StandardScaler>,
    given: Option<Vec<f64>>,
    progress: &mut dyn FnMut(f64),
) -> Result<Pca, GeometryError> {
    check_pca_input(m, n_components)?;
    let (n, d) = (m.rows(), m.cols());
    // Calibrated like galaxy::StageWeights (covariance 0.25 n d^2, one-stage reduction ~1.0 d^3).
    let (cw, ew) = (if given.is_some() { 0.0 } else { 0.25 * n as f64 * (d * d) as f64 }, (d * d * d) as f64);
    let share = cw / (cw + ew);
    let mut c = match given {
        Some(c) => c,
        None => cpu::covariance(m, &mut |f| progress(share * f)),
    };
    let (mean, scale) = match scaler {
        Some(s) => {
            for i in 0..d {
                for j in 0..d {
                    c[i * d + j] /= s.scale[i] * s.scale[j];
                }
            }
            (s.mean, Some(s.scale))
        }
        None => (column_means(m), None),
    };
    let top = symmetric_top_eigenpairs(c, d, n_components, &mut |f| progress(share + (1.0 - share) * f));
    Ok(Pca {
        mean,
        scale,
        components: top.vectors.chunks_exact(d).map(|r| r.to_vec()).collect(),
        explained_variance: top.values.iter().map(|v| v.max(0.0)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::stats::seeded_rng;
    use nalgebra::DMatrix;
    use rand_distr::{Distribution, StandardNormal};

    /// Rows = correlated Gaussian with column-dependent scales and offsets.
    fn cloud(n: usize, d: usize, seed: u64) -> Matrix {
        let mut rng = seeded_rng(seed);
        let mix: Vec<f64> = (0..d * d)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                z
            })
            .collect();
        let mut data = Vec::with_capacity(n * d);
        for _ in 0..n {
            let z: Vec<f64> = (0..d)
                .map(|j| {
                    let g: f64 = StandardNormal.sample(&mut rng);
                    g * (j as f64 + 1.0).powf(-0.7)
                })
                .collect();
            for i in 0..d {
                let v: f64 =
                    (0..d).map(|j| mix[i * d + j] * z[j]).sum::<f64>() * (1.0 + i as f64 * 0.3) + i as f64;
                data.push(v as f32);
            }
        }
        Matrix::new(n, d, data).unwrap()
    }

    /// The oracle: nalgebra's SVD of the centred (and optionally scaled) data.
    fn oracle(m: &Matrix, k: usize, standardize: bool) -> (Vec<f64>, Vec<Vec<f64>>) {
        let (n, d) = (m.rows(), m.cols());
        let mut x: Vec<f64> = m.as_slice().iter().map(|&v| v as f64).collect();
        for j in 0..d {
            let mean = (0..n).map(|i| x[i * d + j]).sum::<f64>() / n as f64;
            let var = (0..n).map(|i| (x[i * d + j] - mean).powi(2)).sum::<f64>() / n as f64;
            let s = if standardize { var.sqrt() } else { 1.0 };
            for i in 0..n {
                x[i * d + j] = (x[i * d + j] - mean) / s;
            }
        }
        let svd = DMatrix::from_row_slice(n, d, &x).svd(false, true);
        let vt = svd.v_t.unwrap();
        let mut order: Vec<usize> = (0..svd.singular_values.len()).collect();
        order.sort_by(|&a, &b| svd.singular_values[b].total_cmp(&svd.singular_values[a]));
        let ev = order[..k]
            .iter()
            .map(|&i| svd.singular_values[i].powi(2) / (n - 1) as f64)
            .collect();
        let comps = order[..k]
            .iter()
            .map(|&i| (0..d).map(|j| vt[(i, j)]).collect())
            .collect();
        (ev, comps)
    }

    #[test]
    fn matches_the_svd_of_the_data() {
        let m = cloud(500, 30, 1);
        for standardize in [false, true] {
            let p = if standardize {
                pca_standardized(&m, 12, &mut |_| {}).unwrap()
            } else {
                pca(&m, 12, &mut |_| {}).unwrap()
            };
            let (ev, comps) = oracle(&m, 12, standardize);
            for k in 0..12 {
                assert!(
                    (p.explained_variance[k] - ev[k]).abs() / ev[k] < 1e-11,
                    "{standardize} {k}"
                );
                let dot: f64 = p.components[k].iter().zip(&comps[k]).map(|(a, b)| a * b).sum();
                assert!(1.0 - dot.abs() < 1e-12, "{standardize} {k}: {dot}");
                let c = &p.components[k];
                let big = c.iter().fold(0f64, |a, &v| if v.abs() > a.abs() { v } else { a });
                assert!(big > 0.0, "svd_flip sign");
            }
            // transform: the scores have the explained variances and are uncorrelated.
            let y = p.transform(&m).unwrap();
            assert_eq!(y.len(), 500 * 12);
            for a in 0..12 {
                let mean: f64 = (0..500).map(|i| y[i * 12 + a]).sum::<f64>() / 500.0;
                assert!(mean.abs() < 1e-9 * p.explained_variance[0].sqrt());
                for b in 0..=a {
                    let cov: f64 = (0..500).map(|i| y[i * 12 + a] * y[i * 12 + b]).sum::<f64>() / 499.0;
                    let want = if a == b { p.explained_variance[a] } else { 0.0 };
                    assert!((cov - want).abs() < 1e-9 * p.explained_variance[0], "{a} {b}");
                }
            }
        }
    }

    #[test]
    fn scaler_matches_sklearn_semantics() {
        let data = vec![1.0, 5.0, 2.0, 5.0, 3.0, 5.0, 6.0, 5.0];
        let m = Matrix::new(4, 2, data).unwrap();
        let (z, s) = zscore(&m).unwrap();
        assert_eq!(s.mean, vec![3.0, 5.0]);
        assert!((s.scale[0] - (14.0f64 / 4.0).sqrt()).abs() < 1e-15);
        assert_eq!(s.scale[1], 1.0, "constant column: scale 1");
        assert_eq!(z[1], 0.0);
        let col0: Vec<f64> = (0..4).map(|i| z[i * 2]).collect();
        let var = col0.iter().map(|v| v * v).sum::<f64>() / 4.0;
        assert!((var - 1.0).abs() < 1e-15);
        // A constant column in a PCA: it gets no variance, the others are unaffected.
        let p = pca_standardized(&m, 2, &mut |_| {}).unwrap();
        assert!(
            (p.explained_variance[0] - 4.0 / 3.0).abs() < 1e-12,
            "{:?}",
            p.explained_variance
        );
        assert!(p.explained_variance[1].abs() < 1e-15);
    }

    #[test]
    fn errors_are_typed() {
        let m = cloud(20, 5, 2);
        assert_eq!(pca(&m, 0, &mut |_| {}).unwrap_err().kind(), "invalid-parameter");
        assert_eq!(pca(&m, 6, &mut |_| {}).unwrap_err().kind(), "invalid-parameter");
        let few = Matrix::new(3, 5, vec![1.0; 15]).unwrap();
        assert_eq!(pca(&few, 4, &mut |_| {}).unwrap_err().kind(), "invalid-parameter");
        let one = Matrix::new(1, 5, vec![1.0; 5]).unwrap();
        assert_eq!(pca(&one, 1, &mut |_| {}).unwrap_err().kind(), "too-few-rows");
        let mut bad = m.clone().into_vec();
        bad[7] = f32::NAN;
        let bad = Matrix::new(20, 5, bad).unwrap();
        assert_eq!(
            pca_standardized(&bad, 2, &mut |_| {}).unwrap_err(),
            GeometryError::NonFinite { row: 1, col: 2 }
        );
        let p = pca(&m, 2, &mut |_| {}).unwrap();
        let other = Matrix::new(2, 4, vec![0.0; 8]).unwrap();
        assert_eq!(p.transform(&other).unwrap_err().kind(), "invalid-parameter");
        let empty = Matrix::new(0, 5, vec![]).unwrap();
        assert_eq!(StandardScaler::fit(&empty).unwrap_err().kind(), "too-few-rows");
        let mut seen = Vec::new();
        pca(&m, 2, &mut |f| seen.push(f)).unwrap();
        assert!(
            seen.windows(2).all(|w| w[0] <= w[1]) && seen.last() == Some(&1.0),
            "{seen:?}"
        );
    }
}
