//! Householder tridiagonalisation of a dense symmetric matrix, and the choice between its two
//! blocked forms.
//!
//! `Q^T A Q = T` with `Q = H_1 H_2 ... H_{n-1}`, `H_k = I - tau_k v_k v_k^T` (Golub & Van Loan,
//! *Matrix Computations*, 4th ed., section 8.3.1). For eigenvalues only `T`'s diagonal and
//! off-diagonal are kept; [`tridiagonalize_one_stage_reflectors`] also returns the reflectors'
//! scalars (the vectors stay in the matrix), for eigenvectors ([`super::eigvec`]).
//!
//! - [`tridiagonalize_one_stage`]: LAPACK's `dsytrd` with `UPLO = 'L'`: panels of [`NB`] columns
//!   reduced by `dlatrd`, the trailing matrix updated by a symmetric rank-2k update done with
//!   `matrixmultiply::dgemm`, the last columns by the unblocked `dsytd2`. `4/3 n^3` flops, half
//!   of them in one symmetric matrix-vector product per column (`dsymv`), which reads the whole
//!   trailing matrix each time: bound by memory bandwidth once the matrix leaves the caches.
//! - [`tridiagonalize_two_stage`]: dense to band, then band to tridiagonal
//!   ([`super::twostage`]): the same flops, all in matrix-matrix products, plus `~6 KD n^2`
//!   cache-resident ones.
//!
//! [`tridiagonalize`] uses the two-stage form natively (at n = 2304 on the 2-core x86-64
//! development machine: 0.77 s + 0.14 s single-threaded against 1.15 s for the one-stage form,
//! and it threads well), and the one-stage form in the browser (wasm32, one thread, no SIMD:
//! there the `dgemm` fallback kernel is slower than the `dsymv` loop, so the one-stage form is
//! about twice as fast up to n = 1024 and as fast at n = 2304). See docs/BENCHMARKS.md.
//!
//! References: LAPACK 3.12 `dsytrd`, `dlatrd`, `dsytd2`, `dlarfg`; J. J. Dongarra, S. J.
//! Hammarling, D. C. Sorensen, "Block reduction of matrices to condensed forms for eigenvalue
//! computations", J. Comput. Appl. Math. 27 (1989).

use crate::compute::par;
use crate::compute::simd::{axpy, dot, scal, symv_lower_cols};

/// Panel width of the one-stage form (LAPACK's `ilaenv` block size for `dsytrd` is 32).
pub const NB: usize = 32;
/// Below this order the matrix (or what is left of it in the one-stage form) is reduced
/// unblocked (LAPACK's crossover `NX` for `dsytrd`).
pub const NX: usize = 128;
/// Columns of the trailing matrix per `dgemm` call in the rank-2k update.
const SYR2K_PANEL: usize = 64;

/// `dlamch('S') / dlamch('E')`, `dlarfg`'s rescaling threshold.
const LARFG_SAFMIN: f64 = f64::MIN_POSITIVE / (f64::EPSILON * 0.5);

/// Reduces the symmetric `n x n` matrix held column-major in `a` (lower triangle read; the upper
/// triangle is used as scratch) to tridiagonal form, returning the diagonal (n values) and the
/// off-diagonal (n - 1 values; empty for n = 0 or 1). `a` is destroyed.
///
/// Unblocked (`dsytd2`) up to [`NX`]; above, [`tridiagonalize_two_stage`] natively and
/// [`tridiagonalize_one_stage`] on wasm32 (see the module documentation for why).
///
/// `progress(fraction)` is called after each panel with the share of the `O(n^3)` work done
/// (monotone, below 1; the caller reports the end).
///
/// # Panics
/// If `a.len() != n * n`.
pub fn tridiagonalize(a: &mut [f64], n: usize, progress: &mut dyn FnMut(f64)) -> (Vec<f64>, Vec<f64>) {
    if n <= NX || cfg!(target_arch = "wasm32") {
        tridiagonalize_one_stage(a, n, progress)
    } else {
        tridiagonalize_two_stage(a, n, progress)
    }
}

/// [`tridiagonalize`] by the two-stage reduction ([`super::twostage`]) whatever the target and
/// size. Natively threaded (rank-2k updates and symmetric products by disjoint blocks: the result
/// does not depend on the thread count).
///
/// # Panics
/// If `a.len() != n * n`.
pub fn tridiagonalize_two_stage(
    a: &mut [f64],
    n: usize,
    progress: &mut dyn FnMut(f64),
) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(a.len(), n * n, "tridiagonalize: a is not n x n");
    // Stage 2 is about 1/8 of stage 1's time at n = 2304.
    super::twostage::dense_to_band(a, n, &mut |f| progress(0.9 * f));
    let out = super::twostage::band_to_tridiagonal(a, n);
    progress(0.95);
    out
}

/// [`tridiagonalize`] by LAPACK's one-stage blocked `dsytrd` (`dlatrd` panels of [`NB`] columns,
/// rank-2k updates by `dgemm`, `dsytd2` for the last [`NX`] or fewer columns) whatever the target.
/// Natively the rank-2k updates are threaded by column panel (disjoint outputs: the result does
/// not depend on the thread count); the `dsymv` of each column is not (too fine-grained).
///
/// # Panics
/// If `a.len() != n * n`.
pub fn tridiagonalize_one_stage(
    a: &mut [f64],
    n: usize,
    progress: &mut dyn FnMut(f64),
) -> (Vec<f64>, Vec<f64>) {
    let (d, e, _) = tridiagonalize_one_stage_reflectors(a, n, progress);
    (d, e)
}

/// [`tridiagonalize_one_stage`], also returning the Householder scalars `tau` (n - 1 values;
/// empty for n = 0 or 1), so that `Q` can be applied afterwards (LAPACK `dsytrd` + `dormtr`):
/// on return the strictly lower part of column `j` of `a` (column-major), rows `j + 2..n`, holds
/// the reflector `v_j` whose implicit leading 1 sits at row `j + 1`, and
/// `H_j = I - tau[j] v_j v_j^T`, `Q = H_0 H_1 ... H_{n-2}`, `Q^T A Q = T`. The rest of `a` is
/// scratch. The eigenvector back-transformation is [`super::eigvec`].
///
/// # Panics
/// If `a.len() != n * n`.
pub fn tridiagonalize_one_stage_reflectors(
    a: &mut [f64],
    n: usize,
    progress: &mut dyn FnMut(f64),
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    assert_eq!(a.len(), n * n, "tridiagonalize: a is not n x n");
    let mut d = vec![0f64; n];
    let mut e = vec![0f64; n.saturating_sub(1)];
    let mut taus = vec![0f64; n.saturating_sub(1)];
    if n == 0 {
        return (d, e, taus);
    }
    let total = (n as f64).powi(3);
    let mut i = 0;
    if n > NX {
        // Z = [V | W | V], each (n - i) x NB, column-major with leading dimension n - i: the rank-2k
        // update is then one dgemm with k = 2 NB, C -= Z[:, 0..2NB] * Z[:, NB..3NB]^T.
        let mut z = vec![0f64; 3 * NB * n];
        let mut t = vec![0f64; NB];
        while i + NX < n {
            let m = n - i;
            let z = &mut z[..3 * NB * m];
            {
                let w = &mut z[NB * m..2 * NB * m];
                latrd(a, n, i, NB, &mut e[i..i + NB], &mut taus[i..i + NB], w, &mut t);
            }
            // Copy the panel's reflectors (unit diagonal stored, zeros above it) into Z.
            for k in 0..NB {
                let src = &a[(i + k) * n + i..(i + k) * n + n];
                z[k * m..(k + 1) * m].copy_from_slice(src);
                for r in 0..=k {
                    z[k * m + r] = 0.0;
                }
                z.copy_within(k * m..(k + 1) * m, (2 * NB + k) * m);
            }
            syr2k_lower(a, n, i + NB, z, m);
            for j in i..i + NB {
                a[j * n + j + 1] = e[j];
                d[j] = a[j * n + j];
            }
            i += NB;
            let left = (n - i) as f64;
            progress(1.0 - left * left * left / total);
        }
    }
    sytd2(a, n, i, &mut d[i..], &mut e[i..], &mut taus[i..]);
    (d, e, taus)
}

/// `y = A v` for the symmetric trailing matrix `A = a[off.., off..]` (order `m = n - off`,
/// column-major, leading dimension `n`, lower triangle read), `v` and `y` of length m.
fn symv_trailing(a: &[f64], n: usize, off: usize, v: &[f64], y: &mut [f64]) {
    let m = n - off;
    debug_assert!(v.len() == m && y.len() == m);
    y.iter_mut().for_each(|x| *x = 0.0);
    symv_lower_cols(&a[off * n + off..], n, m, (0, m), v, y);
}

/// `dlarfg`: the elementary reflector `H = I - tau [1; v] [1; v]^T` with `H [alpha; x] = [beta; 0]`.
/// Overwrites `x` with `v` and returns `(beta, tau)`; `tau = 0` (H = I) when `x` is zero.
pub(crate) fn larfg(alpha: f64, x: &mut [f64]) -> (f64, f64) {
    if x.is_empty() {
        return (alpha, 0.0);
    }
    let mut xnorm = nrm2(x);
    if xnorm == 0.0 {
        return (alpha, 0.0);
    }
    let mut alpha = alpha;
    let mut beta = -alpha.hypot(xnorm).copysign(alpha);
    let mut knt = 0;
    if beta.abs() < LARFG_SAFMIN {
        // x and beta are tiny: rescale (at most 20 times) to keep accuracy.
        let rsafmn = 1.0 / LARFG_SAFMIN;
        loop {
            knt += 1;
            scal(rsafmn, x);
            beta *= rsafmn;
            alpha *= rsafmn;
            if beta.abs() >= LARFG_SAFMIN || knt >= 20 {
                break;
            }
        }
        xnorm = nrm2(x);
        beta = -alpha.hypot(xnorm).copysign(alpha);
    }
    let tau = (beta - alpha) / beta;
    scal(1.0 / (alpha - beta), x);
    for _ in 0..knt {
        beta *= LARFG_SAFMIN;
    }
    (beta, tau)
}

/// Euclidean norm without overflow or harmful underflow: the plain sum of squares when it is
/// safely in range, else the scaled form (`dnrm2`'s purpose, simpler).
fn nrm2(x: &[f64]) -> f64 {
    let ssq = dot(x, x);
    if ssq.is_finite() && ssq > 1e-250 {
        return ssq.sqrt();
    }
    let scale = x.iter().fold(0f64, |a, v| a.max(v.abs()));
    if scale == 0.0 || !scale.is_finite() {
        return scale;
    }
    let inv = 1.0 / scale;
    let s: f64 = x.iter().map(|v| (v * inv) * (v * inv)).sum();
    scale * s.sqrt()
}

/// `dlatrd` (`UPLO = 'L'`): reduces the first `nb` columns of the trailing matrix `A = a[i.., i..]`
/// (order `m = n - i > nb`) and returns in `w` (m x nb, leading dimension m) the matrix `W` such that
/// the trailing `A[nb.., nb..] - V W^T - W V^T` is the rest of the reduction. On return column `j`
/// of the panel holds the reflector `v_j` below its diagonal with `A[j+1, j] = 1`, and `e[j]` the
/// off-diagonal. Rows `0..=j` of column `j` of `w` are not meaningful.
#[allow(clippy::too_many_arguments)]
fn latrd(
    a: &mut [f64],
    n: usize,
    i: usize,
    nb: usize,
    e: &mut [f64],
    taus: &mut [f64],
    w: &mut [f64],
    t: &mut [f64],
) {
    let m = n - i;
    debug_assert!(m > nb && w.len() == m * nb && e.len() == nb);
    // Panel-relative column k of A starts at a[(i + k) * n + i] (row 0 of the trailing matrix).
    let col = |k: usize| (i + k) * n + i;
    for j in 0..nb {
        // Update A[j.., j] with the previous columns: -= A[j.., 0..j] W[j, 0..j]^T + W[j.., 0..j] A[j, 0..j]^T.
        if j > 0 {
            let (left, right) = a.split_at_mut(col(j));
            let aj = &mut right[j..m];
            for k in 0..j {
                let ak = &left[col(k) + j..col(k) + m];
                axpy(-w[k * m + j], ak, aj);
            }
            for k in 0..j {
                let akj = left[col(k) + j];
                axpy(-akj, &w[k * m + j..k * m + m], aj);
            }
        }
        // Reflector annihilating A[j+2.., j].
        let (beta, tau) = {
            let c = &mut a[col(j) + j + 1..col(j) + m];
            let (alpha, x) = c.split_first_mut().expect("m > nb > j");
            let (beta, tau) = larfg(*alpha, x);
            *alpha = 1.0;
            (beta, tau)
        };
        e[j] = beta;
        taus[j] = tau;
        // W[j+1.., j] = tau (A[j+1.., j+1..] v - W V^T v - V W^T v), then the dlatrd correction.
        let (w_left, w_right) = w.split_at_mut(j * m);
        let wj = &mut w_right[j + 1..m];
        let a_ro: &[f64] = a;
        let v = &a_ro[col(j) + j + 1..col(j) + m];
        symv_trailing(a_ro, n, i + j + 1, v, wj);
        if j > 0 {
            let t = &mut t[..j];
            for (k, tk) in t.iter_mut().enumerate() {
                *tk = dot(&w_left[k * m + j + 1..k * m + m], v);
            }
            for (k, tk) in t.iter().enumerate() {
                axpy(-tk, &a_ro[col(k) + j + 1..col(k) + m], wj);
            }
            for (k, tk) in t.iter_mut().enumerate() {
                *tk = dot(&a_ro[col(k) + j + 1..col(k) + m], v);
            }
            for (k, tk) in t.iter().enumerate() {
                axpy(-tk, &w_left[k * m + j + 1..k * m + m], wj);
            }
        }
        scal(tau, wj);
        let alpha = -0.5 * tau * dot(wj, v);
        axpy(alpha, v, wj);
    }
}

/// The rank-2k update of `dsytrd`: `A[off.., off..] -= V W^T + W V^T` (lower triangle; garbage may
/// be written above the diagonal, which this module uses as scratch), with `V`, `W` read from
/// `z = [V | W | V]` (leading dimension `ldz = n - off + NB`, the panel's rows; rows `NB..` are the
/// trailing ones). Column panels of [`SYR2K_PANEL`] columns, one `dgemm` each (k = 2 NB), the
/// panels shared among the threads.
fn syr2k_lower(a: &mut [f64], n: usize, off: usize, z: &[f64], ldz: usize) {
    let m2 = n - off;
    debug_assert_eq!(ldz, m2 + NB);
    if m2 == 0 {
        return;
    }
    let mut panels: Vec<&mut [f64]> = a[off * n..].chunks_mut(SYR2K_PANEL * n).collect();
    par::for_each_mut(&mut panels, |p, cols| {
        let c0 = p * SYR2K_PANEL;
        let pb = cols.len() / n;
        let rows = m2 - c0;
        // SAFETY: dgemm reads A = Z[NB + c0 + r, kk] for r < rows, kk < 2 NB: index kk * ldz + NB + c0 + r
        // < (2 NB - 1) ldz + ldz = 2 NB ldz <= z.len(); B(kk, jj) = Z[NB + c0 + jj, NB + kk] for jj < pb,
        // kk < 2 NB: index (NB + kk) ldz + NB + c0 + jj < 3 NB ldz = z.len() (c0 + jj < m2).
        // C(r, jj) = cols[jj * n + off + c0 + r] with off + c0 + r < n, jj < pb: within this panel.
        // `cols` is this item's own &mut (no aliasing with other panels or with z).
        unsafe {
            crate::compute::gemm::dgemm(
                rows,
                2 * NB,
                pb,
                -1.0,
                z.as_ptr().add(NB + c0),
                1,
                ldz as isize,
                z.as_ptr().add(NB * ldz + NB + c0),
                ldz as isize,
                1,
                1.0,
                cols.as_mut_ptr().add(off + c0),
                1,
                n as isize,
            );
        }
    });
}

/// `dsytd2` (`UPLO = 'L'`): unblocked reduction of the trailing matrix `a[i0.., i0..]`, writing its
/// diagonal into `d` and off-diagonal into `e` (n - i0 and n - i0 - 1 values).
fn sytd2(a: &mut [f64], n: usize, i0: usize, d: &mut [f64], e: &mut [f64], taus: &mut [f64]) {
    let m = n - i0;
    let mut w = vec![0f64; m];
    let idx = |r: usize, c: usize| (i0 + c) * n + i0 + r;
    for k in 0..m.saturating_sub(1) {
        let (beta, tau) = {
            let c = &mut a[idx(k + 1, k)..idx(m, k)];
            let (alpha, x) = c.split_first_mut().expect("k + 1 < m");
            larfg(*alpha, x)
        };
        e[k] = beta;
        taus[k] = tau;
        if tau != 0.0 {
            a[idx(k + 1, k)] = 1.0;
            let mt = m - k - 1;
            let wk = &mut w[..mt];
            {
                let a_ro: &[f64] = a;
                let v = &a_ro[idx(k + 1, k)..idx(m, k)];
                symv_trailing(a_ro, n, i0 + k + 1, v, wk);
                scal(tau, wk);
                let alpha = -0.5 * tau * dot(wk, v);
                axpy(alpha, v, wk);
            }
            // A[k+1.., k+1..] -= v w^T + w v^T (lower), column by column.
            let (left, right) = a.split_at_mut(idx(0, k + 1));
            let v = &left[idx(k + 1, k)..idx(m, k)];
            for c in 0..mt {
                let col = &mut right[c * n + k + 1 + c..c * n + m];
                axpy(-v[c], &wk[c..], col);
                axpy(-wk[c], &v[c..], col);
            }
            a[idx(k + 1, k)] = beta;
        }
        d[k] = a[idx(k, k)];
    }
    d[m - 1] = a[idx(m - 1, m - 1)];
}
