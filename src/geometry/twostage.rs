//! Two-stage tridiagonalisation of a dense symmetric matrix (eigenvalues only):
//!
//! 1. **Dense to band** (LAPACK `dsytrd_sy2sb`, lower): for each panel of `KD` columns, a
//!    Householder QR of the part below the band, `Q = I - V T V^T` (`dgeqr2` + `dlarft`), and the
//!    two-sided update of the trailing matrix `A22 <- Q^T A22 Q` as
//!    `X = A22 V T`, `Y = X - 1/2 V (T^T V^T X)`, `A22 <- A22 - V Y^T - Y V^T`:
//!    a symmetric matrix times a thin matrix and a symmetric rank-2k update, both done by
//!    `matrixmultiply::dgemm` on blocks. All `4/3 n^3` flops are matrix-matrix products, and the
//!    trailing matrix is read three times per panel, not once per column as in the one-stage
//!    `dsytrd`, whose matrix-vector products are bound by memory bandwidth.
//! 2. **Band to tridiagonal** (LAPACK `dsytrd_sb2st` / the `dsb2st_kernels`, after B. Lang,
//!    "A parallel algorithm for reducing symmetric banded matrices to tridiagonal form", SIAM J.
//!    Sci. Comput. 14 (1993)): for each column, one Householder reflector reduces it, and the
//!    bulge that it creates below the band is chased down to the end of the matrix by one
//!    reflector per block of `KD` rows, each annihilating only the first column of its bulge (the
//!    rest is left to the following sweeps). About `6 KD n^2` flops, on `KD x KD` blocks that stay
//!    in the L1 cache (compact band storage).
//!
//! Golub & Van Loan, *Matrix Computations* (4th ed.), sections 5.2.2-5.2.3 (block Householder
//! `I - V T V^T`), 8.3.1 (tridiagonalisation); C. Bischof, B. Lang, X. Sun, "A framework for
//! symmetric band reduction", ACM TOMS 26 (2000); A. Haidar, H. Ltaief, J. Dongarra,
//! "Parallel reduction to condensed forms for symmetric eigenvalue problems using aggregated
//! fine-grained and memory-aware kernels", SC'11 (the scheme of LAPACK 3.7's 2-stage routines).
//!
//! Threads (natively): the symmetric matrix times `V T` by row blocks of `X`, and the rank-2k
//! update by column panels; both have disjoint outputs computed by the same calls whatever the
//! thread count, so the result does not depend on it. Stage 2 is sequential.

use super::sytrd::larfg;
use crate::compute::par;

/// Band width (the panel width of stage 1). LAPACK's `ilaenv2stage` default for `dsytrd_2stage`
/// is 64 on large matrices; 32 keeps stage 2 (`~6 KD n^2` flops on small blocks) cheap here.
pub const KD: usize = 32;
/// Rows of `X = A22 (V T)` per task of the symmetric product.
const SYMM_ROWS: usize = 128;
/// Columns of the trailing matrix per `dgemm` call of the rank-2k update.
const SYR2K_PANEL: usize = 64;

/// `C (m x k, strides rsc, csc) = alpha * A (m x kk) * B (kk x k) + beta * C` with explicit strides;
/// a thin safe-looking wrapper that checks nothing: callers state the bounds.
///
/// # Safety
/// Every element addressed through the pointers and strides for the given dimensions must be in
/// bounds of its allocation, and C must not overlap A or B.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f64,
    a: *const f64,
    rsa: usize,
    csa: usize,
    b: *const f64,
    rsb: usize,
    csb: usize,
    beta: f64,
    c: *mut f64,
    rsc: usize,
    csc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // C = beta C (matrixmultiply is not asked to handle an empty inner dimension).
        for i in 0..m {
            for j in 0..n {
                // SAFETY: forwarded to the caller.
                unsafe {
                    let p = c.add(i * rsc + j * csc);
                    *p = if beta == 0.0 { 0.0 } else { beta * *p };
                }
            }
        }
        return;
    }
    // SAFETY: forwarded to the caller.
    unsafe {
        crate::compute::gemm::dgemm(
            m,
            k,
            n,
            alpha,
            a,
            rsa as isize,
            csa as isize,
            b,
            rsb as isize,
            csb as isize,
            beta,
            c,
            rsc as isize,
            csc as isize,
        );
    }
}

/// Stage 1: reduces the symmetric `n x n` matrix (column-major, lower triangle; the upper triangle
/// is not read) to a band of half-width [`KD`]: on return `a[c * n + r]` for `c <= r <= c + KD` is
/// the band (entries further below hold nothing useful). `progress(f)` after each panel with the
/// share of the work done (below 1).
pub fn dense_to_band(a: &mut [f64], n: usize, progress: &mut dyn FnMut(f64)) {
    assert_eq!(a.len(), n * n, "dense_to_band: a is not n x n");
    let kd = KD;
    let total = (n as f64).powi(3);
    let mut z = Vec::new();
    let mut vt = Vec::new();
    let mut taus = vec![0f64; kd];
    let mut i = 0;
    while i + kd + 1 < n {
        let p0 = i + kd;
        let p = n - p0;
        let pk = kd.min(p);

        // 1. Householder QR of the panel P = A[p0.., i..i+kd] (dgeqr2): R stays in the band.
        for c in 0..pk {
            let base = (i + c) * n + p0;
            let (beta, tau) = {
                let col = &mut a[base + c..base + p];
                let (alpha, x) = col.split_first_mut().expect("c < pk <= p");
                let r = larfg(*alpha, x);
                *alpha = 1.0;
                r
            };
            taus[c] = tau;
            if tau != 0.0 {
                // Apply H_c = I - tau v v^T to the panel columns c + 1 .. kd, rows c ..
                let (left, right) = a.split_at_mut((i + c + 1) * n);
                let v = &left[base + c..base + p];
                for c2 in 0..kd - c - 1 {
                    let col = &mut right[c2 * n + p0 + c..c2 * n + p0 + p];
                    let w = dot(v, col);
                    axpy(-tau * w, v, col);
                }
            }
            a[base + c] = beta;
        }

        // 2. Z = [V | X | V] row-major (p x 3 pk), V explicit (unit diagonal, zeros above).
        let zw = 3 * pk;
        z.clear();
        z.resize(p * zw, 0.0);
        for c in 0..pk {
            let col = &a[(i + c) * n + p0..(i + c) * n + p0 + p];
            z[c * zw + c] = 1.0;
            z[c * zw + 2 * pk + c] = 1.0;
            for r in c + 1..p {
                z[r * zw + c] = col[r];
                z[r * zw + 2 * pk + c] = col[r];
            }
        }

        // 3. T (pk x pk, upper triangular, row-major) with Q = I - V T V^T (dlarft, forward,
        // columnwise).
        let mut t = vec![0f64; pk * pk];
        for c in 0..pk {
            t[c * pk + c] = taus[c];
            if c == 0 || taus[c] == 0.0 {
                continue;
            }
            // s[c'] = -tau_c V[:, c']^T v_c, for c' < c (v_c is zero above row c).
            let mut s = vec![0f64; c];
            for r in c..p {
                let vc = z[r * zw + c];
                for (c2, sv) in s.iter_mut().enumerate() {
                    *sv += z[r * zw + c2] * vc;
                }
            }
            for c2 in 0..c {
                let mut acc = 0.0;
                for c3 in c2..c {
                    acc += t[c2 * pk + c3] * s[c3];
                }
                t[c2 * pk + c] = -taus[c] * acc;
            }
        }

        // 4. VT = V T (p x pk, row-major).
        vt.clear();
        vt.resize(p * pk, 0.0);
        // SAFETY: V = z[r * zw + c] (r < p, c < pk), T = t (pk x pk), VT = vt (p x pk); disjoint.
        unsafe {
            gemm(p, pk, pk, 1.0, z.as_ptr(), zw, 1, t.as_ptr(), pk, 1, 0.0, vt.as_mut_ptr(), pk, 1);
        }

        // 5. X = A22 VT into Z[:, pk..2pk], by row blocks in parallel.
        symm_lower_thin(a, n, p0, &vt, pk, &mut z, zw, pk);

        // 6. M = T^T (V^T X) (pk x pk), then 7. Y = X - 1/2 V M, in place.
        let mut vx = vec![0f64; pk * pk];
        let mut mm = vec![0f64; pk * pk];
        // SAFETY: V^T: (c, r) -> z[r * zw + c]; X: (r, j) -> z[r * zw + pk + j]; r < p, c, j < pk.
        unsafe {
            gemm(pk, p, pk, 1.0, z.as_ptr(), 1, zw, z.as_ptr().add(pk), zw, 1, 0.0, vx.as_mut_ptr(), pk, 1);
            // T^T: (c, c2) -> t[c2 * pk + c].
            gemm(pk, pk, pk, 1.0, t.as_ptr(), 1, pk, vx.as_ptr(), pk, 1, 0.0, mm.as_mut_ptr(), pk, 1);
        }
        {
            let (zp, mp) = (z.as_mut_ptr(), mm.as_ptr());
            // SAFETY: reads V = z[.., 0..pk], writes Y = z[.., pk..2pk]: the column ranges are
            // disjoint, so A and C do not overlap element-wise (matrixmultiply reads A through
            // packing before it writes C, and only writes C).
            unsafe {
                gemm(p, pk, pk, -0.5, zp, zw, 1, mp, pk, 1, 1.0, zp.add(pk), zw, 1);
            }
        }

        // 8. A22 -= V Y^T + Y V^T (lower), column panels in parallel.
        syr2k_lower(a, n, p0, &z, zw, pk);

        i += kd;
        let left = (n - i) as f64;
        progress(1.0 - left * left * left / total);
    }
}

fn dot(x: &[f64], y: &[f64]) -> f64 {
    crate::compute::simd::dot(x, y)
}

fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    crate::compute::simd::axpy(alpha, x, y)
}

/// `X = A22 * B` where `A22 = a[off.., off..]` is symmetric of order `p = n - off` (column-major,
/// leading dimension n, lower triangle read) and `B` is `p x k` row-major; `X` goes to columns
/// `xcol .. xcol + k` of the row-major `z` (row length `zw`). Row blocks of [`SYMM_ROWS`] rows of
/// X are independent tasks: rows `r0..r1` of X are `A22[r0..r1, ..r0] B[..r0] + D B[r0..r1] +
/// A22[r1.., r0..r1]^T B[r1..]` with `D` the symmetric diagonal block.
#[allow(clippy::too_many_arguments)]
fn symm_lower_thin(a: &[f64], n: usize, off: usize, b: &[f64], k: usize, z: &mut [f64], zw: usize, xcol: usize) {
    let p = n - off;
    debug_assert!(b.len() == p * k && z.len() == p * zw && xcol + k <= zw);
    let mut blocks: Vec<&mut [f64]> = z.chunks_mut(SYMM_ROWS * zw).collect();
    par::for_each_mut(&mut blocks, |q, zrows| {
        let r0 = q * SYMM_ROWS;
        let rb = zrows.len() / zw;
        let r1 = r0 + rb;
        let a22 = |r: usize, c: usize| (off + c) * n + off + r;
        // Diagonal block, mirrored into a dense rb x rb column-major buffer.
        let mut dblk = vec![0f64; rb * rb];
        for c in 0..rb {
            for r in c..rb {
                let v = a[a22(r0 + r, r0 + c)];
                dblk[c * rb + r] = v;
                dblk[r * rb + c] = v;
            }
        }
        let x = zrows.as_mut_ptr();
        // SAFETY (all three): X rows r0..r1 are zrows[(r - r0) * zw + xcol + j], j < k, within this
        // task's own rows; A22 reads stay in rows/columns off.. of a (n x n); B reads rows < p of
        // b (p x k). Only zrows is written.
        unsafe {
            // Left of the diagonal block: A22[r0..r1, 0..r0] (stored: lower part).
            gemm(rb, r0, k, 1.0, a.as_ptr().add(a22(r0, 0)), 1, n, b.as_ptr(), k, 1, 0.0, x.add(xcol), zw, 1);
            gemm(rb, rb, k, 1.0, dblk.as_ptr(), 1, rb, b.as_ptr().add(r0 * k), k, 1, 1.0, x.add(xcol), zw, 1);
            // Below: A22[r1..p, r0..r1]^T.
            gemm(
                rb,
                p - r1,
                k,
                1.0,
                a.as_ptr().add(a22(r1.min(p), r0)),
                n,
                1,
                b.as_ptr().add(r1 * k),
                k,
                1,
                1.0,
                x.add(xcol),
                zw,
                1,
            );
        }
    });
}

/// `A22 -= V Y^T + Y V^T` (lower triangle of `a[off.., off..]`; above the diagonal inside each
/// `dgemm` panel's diagonal block garbage may be written, which is never read), with `z = [V | Y |
/// V]` row-major (`p x 3 k`, row length `zw`): one `dgemm` per column panel with inner dimension
/// `2 k`, `C -= Z[:, 0..2k] Z[:, k..3k]^T`.
fn syr2k_lower(a: &mut [f64], n: usize, off: usize, z: &[f64], zw: usize, k: usize) {
    let p = n - off;
    if p == 0 {
        return;
    }
    let mut panels: Vec<&mut [f64]> = a[off * n..].chunks_mut(SYR2K_PANEL * n).collect();
    par::for_each_mut(&mut panels, |q, cols| {
        let c0 = q * SYR2K_PANEL;
        let pb = cols.len() / n;
        // SAFETY: A operand rows c0..p of Z, columns 0..2k; B operand Z[c0 + jj, k + kk], jj < pb,
        // kk < 2k; C = cols[jj * n + off + c0 + r], r < p - c0, jj < pb: this task's own columns.
        unsafe {
            gemm(
                p - c0,
                2 * k,
                pb,
                -1.0,
                z.as_ptr().add(c0 * zw),
                zw,
                1,
                z.as_ptr().add(c0 * zw + k),
                1,
                zw,
                1.0,
                cols.as_mut_ptr().add(off + c0),
                1,
                n,
            );
        }
    });
}

/// Stage 2: the band of half-width [`KD`] left by [`dense_to_band`] in `a` (column-major n x n)
/// to tridiagonal form; returns `(diagonal, off-diagonal)`.
pub fn band_to_tridiagonal(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let kd = KD.min(n.saturating_sub(1)).max(1);
    // Compact band storage with room for the bulges: element (r, c), 0 <= r - c <= 2 KD, at
    // s[c * ld + r], ld = 2 KD (LAPACK band storage seen as a column-major matrix).
    let ld = 2 * kd;
    let mut s = vec![0f64; n * (ld + 1) + ld + 1];
    for c in 0..n {
        for r in c..(c + kd + 1).min(n) {
            s[c * ld + r] = a[c * n + r];
        }
    }
    chase(&mut s, n, kd, ld);
    let d = (0..n).map(|i| s[i * ld + i]).collect();
    let e = (0..n.saturating_sub(1)).map(|i| s[i * ld + i + 1]).collect();
    (d, e)
}

/// The bulge chasing itself, on the compact band `s` (see [`band_to_tridiagonal`]).
fn chase(s: &mut [f64], n: usize, kd: usize, ld: usize) {
    crate::compute::simd::band_chase(s, n, kd, ld, larfg);
}
