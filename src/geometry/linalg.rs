//! Dense symmetric linear algebra (nalgebra, pure Rust, wasm-friendly).

use nalgebra::DMatrix;

/// All eigenvalues of the symmetric `n x n` matrix `a` (row-major, `n * n` values), in descending
/// order (like `np.linalg.eigvalsh(a)[::-1]`).
///
/// Only the lower triangle is read (the matrix is assumed symmetric). Householder
/// tridiagonalisation and implicit symmetric QR (nalgebra's `symmetric_eigenvalues`); eigenvalues
/// are accurate to a small multiple of `f64::EPSILON * max |a_ij| * n` in absolute terms.
///
/// If `a` holds a NaN or an infinity the result is `n` NaNs (rather than an endless QR sweep).
///
/// # Panics
/// If `a.len() != n * n`.
pub fn symmetric_eigenvalues_desc(a: Vec<f64>, n: usize) -> Vec<f64> {
    assert_eq!(
        a.len(),
        n * n,
        "symmetric_eigenvalues_desc: a has {} values, n * n = {}",
        a.len(),
        n * n
    );
    if n == 0 {
        return Vec::new();
    }
    if a.iter().any(|v| !v.is_finite()) {
        return vec![f64::NAN; n];
    }
    // Row-major and column-major coincide for a symmetric matrix; nalgebra reads the lower triangle
    // of its column-major storage, which is the upper triangle of our row-major one: mirror the
    // lower triangle of `a` (row-major) so that it is the one used, as documented.
    let mut a = a;
    for i in 0..n {
        for j in (i + 1)..n {
            a[i * n + j] = a[j * n + i];
        }
    }
    let m = DMatrix::from_vec(n, n, a);
    let mut vals: Vec<f64> = m.symmetric_eigenvalues().iter().copied().collect();
    vals.sort_by(|x, y| y.total_cmp(x));
    vals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagonal_and_2x2() {
        let v = symmetric_eigenvalues_desc(vec![1.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 2.0], 3);
        assert_eq!(v, vec![3.0, 2.0, 1.0]);
        // [[2, 1], [1, 2]] -> 3, 1
        let v = symmetric_eigenvalues_desc(vec![2.0, 1.0, 1.0, 2.0], 2);
        assert!((v[0] - 3.0).abs() < 1e-14 && (v[1] - 1.0).abs() < 1e-14);
    }

    #[test]
    fn lower_triangle_is_used() {
        // Upper triangle garbage, lower triangle [[2, ., .], [1, 2, .], ...].
        let v = symmetric_eigenvalues_desc(vec![2.0, 99.0, 1.0, 2.0], 2);
        assert!((v[0] - 3.0).abs() < 1e-14 && (v[1] - 1.0).abs() < 1e-14);
    }

    #[test]
    fn empty_one_and_non_finite() {
        assert!(symmetric_eigenvalues_desc(vec![], 0).is_empty());
        assert_eq!(symmetric_eigenvalues_desc(vec![-4.0], 1), vec![-4.0]);
        assert!(symmetric_eigenvalues_desc(vec![1.0, f64::NAN, f64::NAN, 1.0], 2)
            .iter()
            .all(|v| v.is_nan()));
        assert_eq!(symmetric_eigenvalues_desc(vec![0.0; 9], 3), vec![0.0; 3]);
    }
}
