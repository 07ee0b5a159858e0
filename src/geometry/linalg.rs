//! Dense symmetric eigenvalues, pure Rust (natively threaded, wasm-friendly).
//!
//! Eigenvalues only, the way LAPACK computes them when no eigenvectors are asked for (what
//! `np.linalg.eigvalsh` calls: `dsyevd` with `JOBZ = 'N'`): Householder tridiagonalisation
//! ([`super::sytrd`]: natively the two-stage reduction of LAPACK's `dsytrd_2stage`,
//! [`super::twostage`]; in the browser the one-stage blocked `dsytrd`), then the eigenvalues of the
//! tridiagonal matrix by the square-root-free implicit QL/QR iteration ([`super::sterf`], LAPACK
//! `dsterf`). Golub & Van Loan, *Matrix Computations* (4th ed.), sections 8.3.1 and 8.3.

use super::sterf::tridiagonal_eigenvalues;
use super::sytrd::tridiagonalize;

/// All eigenvalues of the symmetric `n x n` matrix `a` (row-major, `n * n` values), in descending
/// order (like `np.linalg.eigvalsh(a)[::-1]`).
///
/// Only the lower triangle is read (the matrix is assumed symmetric). Blocked Householder
/// tridiagonalisation (`4/3 n^3` flops: natively LAPACK's two-stage `dsytrd_sy2sb` +
/// `dsytrd_sb2st`, all but `O(n^2)` of it in `dgemm`; on wasm32 the one-stage `dsytrd`) and the
/// Pal-Walker-Kahan implicit QL/QR iteration on the tridiagonal matrix (LAPACK `dsterf`, `O(n^2)`);
/// eigenvalues are accurate to a small multiple of `f64::EPSILON * max |a_ij| * n` in absolute
/// terms, as LAPACK's. Natively the `O(n^3)` part runs on up to [`crate::compute::par::threads`]
/// threads; the result is bit-identical whatever the thread count.
///
/// If `a` holds a NaN or an infinity the result is `n` NaNs.
///
/// # Panics
/// If `a.len() != n * n`.
pub fn symmetric_eigenvalues_desc(a: Vec<f64>, n: usize) -> Vec<f64> {
    symmetric_eigenvalues_desc_with_progress(a, n, &mut |_| {})
}

/// [`symmetric_eigenvalues_desc`], calling `progress(fraction)` as the work advances: after each
/// panel of the tridiagonalisation with the share of its `O(n^3)` work done, and `1.0` exactly once
/// at the end (also for the trivial and non-finite cases). Fractions are in `0..=1` and increase.
///
/// # Panics
/// If `a.len() != n * n`.
pub fn symmetric_eigenvalues_desc_with_progress(
    a: Vec<f64>,
    n: usize,
    progress: &mut dyn FnMut(f64),
) -> Vec<f64> {
    assert_eq!(
        a.len(),
        n * n,
        "symmetric_eigenvalues_desc: a has {} values, n * n = {}",
        a.len(),
        n * n
    );
    if n == 0 {
        progress(1.0);
        return Vec::new();
    }
    if a.iter().any(|v| !v.is_finite()) {
        progress(1.0);
        return vec![f64::NAN; n];
    }
    // The solver works on a column-major lower triangle, i.e. the row-major upper triangle of the
    // same buffer: mirror the lower triangle of `a` (row-major) into it, in tiles (a transpose).
    let mut a = a;
    mirror_lower_to_upper(&mut a, n);
    // The tridiagonalisation is all but a vanishing share of the work.
    let (d, e) = tridiagonalize(&mut a, n, &mut |f| progress(0.995 * f));
    drop(a);
    let mut vals = tridiagonal_eigenvalues(&d, &e);
    vals.reverse();
    progress(1.0);
    vals
}

/// `a[i][j] = a[j][i]` for `j > i` (row-major `n x n`), by 32 x 32 tiles to stay in cache.
pub(crate) fn mirror_lower_to_upper<T: Copy>(a: &mut [T], n: usize) {
    mirror_tiles(a, n, true)
}

/// `a[j][i] = a[i][j]` for `j > i` (row-major `n x n`), by 32 x 32 tiles to stay in cache.
pub(crate) fn mirror_upper_to_lower<T: Copy>(a: &mut [T], n: usize) {
    mirror_tiles(a, n, false)
}

fn mirror_tiles<T: Copy>(a: &mut [T], n: usize, lower_to_upper: bool) {
    const TILE: usize = 32;
    for bi in (0..n).step_by(TILE) {
        for bj in (bi..n).step_by(TILE) {
            for i in bi..(bi + TILE).min(n) {
                for j in bj.max(i + 1)..(bj + TILE).min(n) {
                    if lower_to_upper {
                        a[i * n + j] = a[j * n + i];
                    } else {
                        a[j * n + i] = a[i * n + j];
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::par;
    use crate::geometry::sytrd::{NB, NX};
    use nalgebra::DMatrix;

    /// The oracle: nalgebra's (unblocked Householder + implicit symmetric QR) eigenvalues,
    /// descending. `a` is row-major and symmetric.
    fn oracle(a: &[f64], n: usize) -> Vec<f64> {
        let m = DMatrix::from_row_slice(n, n, a);
        let mut v: Vec<f64> = m.symmetric_eigenvalues().iter().copied().collect();
        v.sort_by(|x, y| y.total_cmp(x));
        v
    }

    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        }
    }

    fn random_symmetric(n: usize, seed: u64) -> Vec<f64> {
        let mut g = Lcg(seed);
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let v = g.next();
                a[i * n + j] = v;
                a[j * n + i] = v;
            }
        }
        a
    }

    /// `Q diag(lambda) Q^T` with `Q` a product of three random Householder reflections (orthogonal to
    /// rounding), row-major, exactly symmetric.
    fn with_spectrum(lambda: &[f64], seed: u64) -> Vec<f64> {
        let n = lambda.len();
        let mut g = Lcg(seed);
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            a[i * n + i] = lambda[i];
        }
        for _ in 0..3 {
            let v: Vec<f64> = (0..n).map(|_| g.next()).collect();
            let vv: f64 = v.iter().map(|x| x * x).sum();
            // A <- H A H, H = I - 2 v v^T / (v^T v).
            let av: Vec<f64> = (0..n).map(|i| (0..n).map(|j| a[i * n + j] * v[j]).sum()).collect();
            let vav: f64 = v.iter().zip(&av).map(|(x, y)| x * y).sum();
            let beta = 2.0 / vv;
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] += -beta * (v[i] * av[j] + av[i] * v[j]) + beta * beta * vav * v[i] * v[j];
                }
            }
            for i in 0..n {
                for j in 0..i {
                    let m = 0.5 * (a[i * n + j] + a[j * n + i]);
                    a[i * n + j] = m;
                    a[j * n + i] = m;
                }
            }
        }
        a
    }

    /// max |got - want| <= tol * max |want|, and the descending order.
    fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        assert!(got.windows(2).all(|w| w[0] >= w[1]), "{what}: not descending");
        let scale = want.iter().fold(0f64, |a, v| a.max(v.abs())).max(f64::MIN_POSITIVE);
        let worst = got
            .iter()
            .zip(want)
            .map(|(g, w)| (g - w).abs())
            .fold(0f64, f64::max);
        assert!(
            worst <= tol * scale,
            "{what}: worst absolute error {worst:e} > {tol:e} * {scale:e}"
        );
    }

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
        // Also on the blocked path: NaN above the diagonal must never be read.
        let n = NX + NB + 5;
        let a = random_symmetric(n, 11);
        let want = oracle(&a, n);
        let mut b = a.clone();
        for i in 0..n {
            for j in i + 1..n {
                b[i * n + j] = f64::NAN;
            }
        }
        // (The NaN check looks at the whole matrix, so hide them from it by mirroring ourselves.)
        mirror_lower_to_upper(&mut b, n);
        assert_close(&symmetric_eigenvalues_desc(b, n), &want, 1e-13, "lower only");
    }

    #[test]
    fn empty_one_and_non_finite() {
        assert!(symmetric_eigenvalues_desc(vec![], 0).is_empty());
        assert_eq!(symmetric_eigenvalues_desc(vec![-4.0], 1), vec![-4.0]);
        assert!(symmetric_eigenvalues_desc(vec![1.0, f64::NAN, f64::NAN, 1.0], 2)
            .iter()
            .all(|v| v.is_nan()));
        assert!(symmetric_eigenvalues_desc(vec![1.0, 0.0, f64::INFINITY, 1.0], 2)
            .iter()
            .all(|v| v.is_nan()));
        assert_eq!(symmetric_eigenvalues_desc(vec![0.0; 9], 3), vec![0.0; 3]);
    }

    #[test]
    fn random_matrices_match_nalgebra_across_block_edges() {
        // Small (unblocked only), around the crossover and the panel width, ragged last panels, and
        // past the size where the symmetric matrix-vector product is split in parts.
        for &n in &[1, 2, 3, 4, 5, 31, 32, 33, NX, NX + 1, NX + NB, NX + NB + 1, 200, 397, 450] {
            let a = random_symmetric(n, n as u64);
            let want = oracle(&a, n);
            let got = symmetric_eigenvalues_desc(a, n);
            assert_close(&got, &want, 1e-13, &format!("random n = {n}"));
        }
    }

    type Tridiagonalizer = fn(&mut [f64], usize, &mut dyn FnMut(f64)) -> (Vec<f64>, Vec<f64>);

    /// The eigenvalues (descending) through a given tridiagonalisation.
    fn eig_with(f: Tridiagonalizer, a: &[f64], n: usize) -> Vec<f64> {
        let mut b = a.to_vec();
        mirror_lower_to_upper(&mut b, n);
        let (d, e) = f(&mut b, n, &mut |_| {});
        let mut v = tridiagonal_eigenvalues(&d, &e);
        v.reverse();
        v
    }

    #[test]
    fn both_blocked_forms_match_nalgebra_on_any_size() {
        // The one-stage form is the browser's, the two-stage form the native one; each is tested
        // here on sizes the default choice would not give it (the two-stage one below the
        // crossover, down to matrices narrower than its band).
        use crate::geometry::sytrd::{tridiagonalize_one_stage, tridiagonalize_two_stage};
        use crate::geometry::twostage::KD;
        for &n in &[1, 2, 3, KD - 1, KD, KD + 1, KD + 2, 2 * KD + 3, NX + 1, NX + NB + 1, 301] {
            let a = random_symmetric(n, 1000 + n as u64);
            let want = oracle(&a, n);
            assert_close(&eig_with(tridiagonalize_one_stage, &a, n), &want, 1e-13, &format!("one-stage n = {n}"));
            assert_close(&eig_with(tridiagonalize_two_stage, &a, n), &want, 1e-13, &format!("two-stage n = {n}"));
        }
        // Power-law spectrum, relative accuracy, both forms.
        let n = 2 * NX + 7;
        let lambda: Vec<f64> = (1..=n).map(|r| (r as f64).powf(-1.2)).collect();
        let a = with_spectrum(&lambda, 21);
        for (name, f) in [
            ("one-stage", tridiagonalize_one_stage as Tridiagonalizer),
            ("two-stage", tridiagonalize_two_stage as Tridiagonalizer),
        ] {
            for (g, w) in eig_with(f, &a, n).iter().zip(&lambda) {
                assert!((g - w).abs() / w < 1e-10, "{name}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn clustered_zero_and_negative_eigenvalues() {
        let n = 300;
        // Clusters of ten eigenvalues 1e-13 apart, zeros, and negatives, interleaved.
        let lambda: Vec<f64> = (0..n)
            .map(|i| match i % 3 {
                0 => 1.0 + (i / 3 % 10) as f64 * 1e-13,
                1 => 0.0,
                _ => -2.0 - (i % 7) as f64,
            })
            .collect();
        let a = with_spectrum(&lambda, 5);
        let mut want = lambda.clone();
        want.sort_by(|x, y| y.total_cmp(x));
        let got = symmetric_eigenvalues_desc(a.clone(), n);
        assert_close(&got, &want, 1e-13, "clustered vs exact");
        assert_close(&got, &oracle(&a, n), 1e-13, "clustered vs nalgebra");
        // All equal: a multiple of the identity, rotated.
        let a = with_spectrum(&vec![-3.5; 150], 6);
        assert_close(&symmetric_eigenvalues_desc(a, 150), &vec![-3.5; 150], 1e-14, "scalar");
    }

    #[test]
    fn diagonal_matrix_is_exact() {
        let n = NX + 2 * NB + 3;
        let lambda: Vec<f64> = (0..n).map(|i| ((i * 37) % n) as f64 - 50.0).collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            a[i * n + i] = lambda[i];
        }
        let mut want = lambda;
        want.sort_by(|x, y| y.total_cmp(x));
        assert_eq!(symmetric_eigenvalues_desc(a, n), want);
    }

    #[test]
    fn graded_spectrum_relative_accuracy() {
        // A power-law spectrum like the SAE covariances: 1 .. 1e-4 (the golden tests ask 1e-9
        // relative down to 1e-3 of the largest).
        let n = 260;
        let lambda: Vec<f64> = (1..=n).map(|r| (r as f64).powf(-1.66)).collect();
        let a = with_spectrum(&lambda, 9);
        let got = symmetric_eigenvalues_desc(a, n);
        for (g, w) in got.iter().zip(&lambda) {
            assert!((g - w).abs() / w < 1e-9, "{g} vs {w}");
        }
    }

    #[test]
    fn rank_deficient_covariance() {
        // N = 40 points in d = 200: rank 39, the other 161 eigenvalues zero to rounding.
        let (rows, d) = (40, 200);
        let mut g = Lcg(3);
        let data: Vec<f32> = (0..rows * d).map(|k| (g.next() * (1 + k % 5) as f64) as f32).collect();
        let m = crate::Matrix::new(rows, d, data).unwrap();
        let c = crate::compute::cpu::covariance(&m, &mut |_| {});
        let want = oracle(&c, d);
        let got = symmetric_eigenvalues_desc(c, d);
        assert_close(&got, &want, 1e-13, "rank-deficient");
        let top = want[0];
        assert!(got[rows - 2] > 1e-3 * top);
        assert!(got[rows - 1..].iter().all(|v| v.abs() < 1e-13 * top));
    }

    #[test]
    fn progress_and_thread_count_independence() {
        let n = 420;
        let a = random_symmetric(n, 77);
        let mut seen = Vec::new();
        let one = par::with_threads(1, || {
            symmetric_eigenvalues_desc_with_progress(a.clone(), n, &mut |f| seen.push(f))
        });
        assert!(seen.len() > 2);
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert!(seen.iter().all(|f| (0.0..=1.0).contains(f)));
        assert_eq!(seen.iter().filter(|&&f| f == 1.0).count(), 1);
        assert_eq!(*seen.last().unwrap(), 1.0);
        for t in [2, 3, 8] {
            let other = par::with_threads(t, || symmetric_eigenvalues_desc(a.clone(), n));
            assert!(
                one.iter().zip(&other).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{t} threads differ from 1"
            );
        }
        let mut calls = 0;
        symmetric_eigenvalues_desc_with_progress(vec![], 0, &mut |f| {
            assert_eq!(f, 1.0);
            calls += 1
        });
        assert_eq!(calls, 1);
    }
}
