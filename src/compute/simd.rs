//! Level-1 and level-2 `f64` kernels for the symmetric eigenvalue solver: dot, axpy, scal, and the
//! column-oriented lower-triangular symmetric matrix-vector product (`dsymv`, four columns at a time).
//!
//! Each kernel is written once, generically, over fixed-size lane arrays that LLVM vectorises
//! (SSE2 by default natively, scalar or `simd128` on wasm32). On x86-64 a second copy is compiled
//! with AVX2 + FMA enabled and chosen at run time when the CPU has both, so one binary runs
//! everywhere and uses the wide units where they exist. The FMA copy rounds differently from the
//! plain one (a fused multiply-add rounds once), so results are bit-identical run to run on one
//! machine, not across CPUs with and without FMA.

/// `a * b + c`, fused when `FMA` (compiled only into the AVX2 + FMA copies).
#[inline(always)]
fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
#[inline]
fn has_avx2_fma() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// Defines `pub fn $name(args) -> ret` that calls `$generic::<true>` compiled with AVX2 + FMA when
/// the CPU has them, else `$generic::<false>`.
macro_rules! dispatch {
    ($(#[$doc:meta])* $name:ident => $generic:ident ($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)?) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
            {
                if has_avx2_fma() {
                    #[target_feature(enable = "avx2,fma")]
                    unsafe fn wide($($arg: $ty),*) $(-> $ret)? {
                        $generic::<true>($($arg),*)
                    }
                    // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                    return unsafe { wide($($arg),*) };
                }
            }
            $generic::<false>($($arg),*)
        }
    };
}

const LANES: usize = 4;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// The AVX2 + FMA body of the four-column `dsymv` step over rows `0 .. 4 * (len / 4)`:
    /// `y[r] += (a0[r] x0 + a1[r] x1) + (a2[r] x2 + a3[r] x3)`, `acc[k][lane] += a_k[r] v[r]`.
    /// Returns the number of rows done.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA; all slices must have the same length.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn symv4_rows(
        a0: &[f64],
        a1: &[f64],
        a2: &[f64],
        a3: &[f64],
        x: [f64; 4],
        v: &[f64],
        y: &mut [f64],
        acc: &mut [[f64; 4]; 4],
    ) -> usize {
        let len = y.len();
        assert!(a0.len() == len && a1.len() == len && a2.len() == len && a3.len() == len && v.len() == len);
        let body = len / 4 * 4;
        let (x0, x1, x2, x3) = (
            _mm256_set1_pd(x[0]),
            _mm256_set1_pd(x[1]),
            _mm256_set1_pd(x[2]),
            _mm256_set1_pd(x[3]),
        );
        let (mut t0, mut t1, mut t2, mut t3) = (
            _mm256_setzero_pd(),
            _mm256_setzero_pd(),
            _mm256_setzero_pd(),
            _mm256_setzero_pd(),
        );
        let (p0, p1, p2, p3, pv, py) = (
            a0.as_ptr(),
            a1.as_ptr(),
            a2.as_ptr(),
            a3.as_ptr(),
            v.as_ptr(),
            y.as_mut_ptr(),
        );
        let mut r = 0;
        while r < body {
            // SAFETY: r + 4 <= body <= len for every slice.
            unsafe {
                let q0 = _mm256_loadu_pd(p0.add(r));
                let q1 = _mm256_loadu_pd(p1.add(r));
                let q2 = _mm256_loadu_pd(p2.add(r));
                let q3 = _mm256_loadu_pd(p3.add(r));
                let vr = _mm256_loadu_pd(pv.add(r));
                let yr = _mm256_loadu_pd(py.add(r));
                let s01 = _mm256_fmadd_pd(q1, x1, _mm256_mul_pd(q0, x0));
                let s23 = _mm256_fmadd_pd(q3, x3, _mm256_mul_pd(q2, x2));
                _mm256_storeu_pd(py.add(r), _mm256_add_pd(yr, _mm256_add_pd(s01, s23)));
                t0 = _mm256_fmadd_pd(q0, vr, t0);
                t1 = _mm256_fmadd_pd(q1, vr, t1);
                t2 = _mm256_fmadd_pd(q2, vr, t2);
                t3 = _mm256_fmadd_pd(q3, vr, t3);
            }
            r += 4;
        }
        // SAFETY: acc[k] is 4 f64s.
        unsafe {
            _mm256_storeu_pd(acc[0].as_mut_ptr(), t0);
            _mm256_storeu_pd(acc[1].as_mut_ptr(), t1);
            _mm256_storeu_pd(acc[2].as_mut_ptr(), t2);
            _mm256_storeu_pd(acc[3].as_mut_ptr(), t3);
        }
        body
    }
}

#[inline(always)]
fn dot_generic<const FMA: bool>(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len(), "dot: lengths differ");
    let mut acc = [[0f64; LANES]; 2];
    let xc = x.chunks_exact(2 * LANES);
    let yc = y.chunks_exact(2 * LANES);
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for l in 0..LANES {
            acc[0][l] = madd::<FMA>(a[l], b[l], acc[0][l]);
            acc[1][l] = madd::<FMA>(a[LANES + l], b[LANES + l], acc[1][l]);
        }
    }
    let mut s = 0.0;
    for (a, b) in xr.iter().zip(yr) {
        s = madd::<FMA>(*a, *b, s);
    }
    let l0 = (acc[0][0] + acc[1][0]) + (acc[0][2] + acc[1][2]);
    let l1 = (acc[0][1] + acc[1][1]) + (acc[0][3] + acc[1][3]);
    (l0 + l1) + s
}

#[inline(always)]
fn axpy_generic<const FMA: bool>(alpha: f64, x: &[f64], y: &mut [f64]) {
    assert_eq!(x.len(), y.len(), "axpy: lengths differ");
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi = madd::<FMA>(alpha, *xi, *yi);
    }
}

#[inline(always)]
fn scal_generic<const FMA: bool>(alpha: f64, x: &mut [f64]) {
    for v in x.iter_mut() {
        *v *= alpha;
    }
}

/// See [`symv_lower_cols`].
#[inline(always)]
fn symv_lower_cols_generic<const FMA: bool>(
    a: &[f64],
    ld: usize,
    m: usize,
    cols: (usize, usize),
    v: &[f64],
    y: &mut [f64],
) {
    let (c_begin, c_end) = cols;
    assert!(c_begin <= c_end && c_end <= m && v.len() >= m && y.len() >= m && ld >= m);
    if c_end > c_begin {
        assert!(a.len() >= (c_end - 1) * ld + m, "symv: matrix slice too short");
    }
    let col = |c: usize| &a[c * ld..c * ld + m];
    let mut c = c_begin;
    while c + 4 <= c_end {
        let (a0, a1, a2, a3) = (col(c), col(c + 1), col(c + 2), col(c + 3));
        let x = [v[c], v[c + 1], v[c + 2], v[c + 3]];
        // The 4 x 4 diagonal block (lower part), scalar.
        let mut t = [0f64; 4];
        let blk = [a0, a1, a2, a3];
        for k in 0..4 {
            t[k] = madd::<FMA>(blk[k][c + k], v[c + k], t[k]);
            for r in c + k + 1..c + 4 {
                let aij = blk[k][r];
                y[r] = madd::<FMA>(aij, x[k], y[r]);
                t[k] = madd::<FMA>(aij, v[r], t[k]);
            }
        }
        // Rows c + 4 .. m: y[r] += sum_k a_k[r] x_k, t_k += a_k[r] v[r].
        let r0 = c + 4;
        let len = m - r0;
        let (s0, s1, s2, s3) = (&a0[r0..m], &a1[r0..m], &a2[r0..m], &a3[r0..m]);
        let (vv, yy) = (&v[r0..m], &mut y[r0..m]);
        #[allow(unused_mut)] // only the x86-64 path writes it
        let mut acc = [[0f64; LANES]; 4];
        let mut i = 0;
        #[cfg(target_arch = "x86_64")]
        if FMA {
            // SAFETY: FMA is true only in the copy compiled with AVX2 + FMA enabled, which is
            // called only when the CPU has both; all slices have length `len`.
            i = unsafe { x86::symv4_rows(s0, s1, s2, s3, x, vv, yy, &mut acc) };
        }
        while i < len {
            let (q0, q1, q2, q3, vr) = (s0[i], s1[i], s2[i], s3[i], vv[i]);
            let p01 = madd::<FMA>(q1, x[1], q0 * x[0]);
            let p23 = madd::<FMA>(q3, x[3], q2 * x[2]);
            yy[i] += p01 + p23;
            t[0] = madd::<FMA>(q0, vr, t[0]);
            t[1] = madd::<FMA>(q1, vr, t[1]);
            t[2] = madd::<FMA>(q2, vr, t[2]);
            t[3] = madd::<FMA>(q3, vr, t[3]);
            i += 1;
        }
        for k in 0..4 {
            let lanes = (acc[k][0] + acc[k][2]) + (acc[k][1] + acc[k][3]);
            y[c + k] += t[k] + lanes;
        }
        c += 4;
    }
    // Remaining columns one at a time.
    while c < c_end {
        let ac = col(c);
        let xc = v[c];
        let mut t = ac[c] * v[c];
        if c + 1 < m {
            let (s, vv) = (&ac[c + 1..m], &v[c + 1..m]);
            axpy_generic::<FMA>(xc, s, &mut y[c + 1..m]);
            t += dot_generic::<FMA>(s, vv);
        }
        y[c] += t;
        c += 1;
    }
}

/// Adds to `y` the contributions of columns `cols.0 .. cols.1` of the symmetric `m x m` matrix `A`
/// to the product `A v`, where `A` is stored column-major with leading dimension `ld` in `a` and
/// only its lower triangle is read: column `c` is `a[c * ld + c .. c * ld + m]` (entries above the
/// diagonal are never touched). That is, for every such column `c`: `y[c] += sum_{r >= c} A[r][c]
/// v[r]` and `y[r] += A[r][c] v[c]` for `r > c` (the reference BLAS `dsymv`, lower, column by
/// column; Golub & Van Loan section 1.2.7), with four columns per pass so that `y` and `v` are read
/// once per four columns of `A`. Summing the `y`s of a partition of the columns gives `A v`.
///
/// # Panics
/// If a slice is too short for `m`, `ld` and `cols`.
pub fn symv_lower_cols(a: &[f64], ld: usize, m: usize, cols: (usize, usize), v: &[f64], y: &mut [f64]) {
    symv_lower_cols_dispatch(a, ld, m, cols, v, y)
}

/// Two-sided application of `H = I - tau u u^T` to the symmetric block at rows/columns
/// `b0 .. b0 + len` of the compact band `s` (lower triangle): `w = tau A u`, `w -= 1/2 tau (w.u) u`,
/// `A -= u w^T + w u^T`. (A function, not a closure: it must be inlined into the AVX2 + FMA copy,
/// or `mul_add` would be a library call.)
#[inline(always)]
fn two_sided<const FMA: bool>(s: &mut [f64], ld: usize, b0: usize, len: usize, u: &[f64], tau: f64, w: &mut [f64]) {
    let at = |r: usize, c: usize| c * ld + r;
    let w = &mut w[..len];
    w.iter_mut().for_each(|x| *x = 0.0);
    for c in 0..len {
        let col = &s[at(b0 + c, b0 + c)..at(b0 + len, b0 + c)];
        // w[c] += col . u[c..]; w[c+1..] += col[1..] u[c]
        let mut t = col[0] * u[c];
        if len > c + 1 {
            axpy_generic::<FMA>(u[c], &col[1..], &mut w[c + 1..]);
            t += dot_generic::<FMA>(&col[1..], &u[c + 1..len]);
        }
        w[c] += t;
    }
    scal_generic::<FMA>(tau, w);
    let alpha = -0.5 * tau * dot_generic::<FMA>(w, &u[..len]);
    axpy_generic::<FMA>(alpha, &u[..len], w);
    for c in 0..len {
        let col = &mut s[at(b0 + c, b0 + c)..at(b0 + len, b0 + c)];
        axpy_generic::<FMA>(-u[c], &w[c..], col);
        axpy_generic::<FMA>(-w[c], &u[c..len], col);
    }
}

/// See [`band_chase`].
#[inline(always)]
fn band_chase_generic<const FMA: bool>(
    s: &mut [f64],
    n: usize,
    kd: usize,
    ld: usize,
    larfg: fn(f64, &mut [f64]) -> (f64, f64),
) {
    if n < 3 {
        return;
    }
    assert!(kd >= 1 && ld >= 2 * kd - 1 && s.len() >= (n - 1) * ld + n);
    let at = |r: usize, c: usize| c * ld + r;
    let mut v = vec![0f64; kd];
    let mut u = vec![0f64; kd];
    let mut w = vec![0f64; kd];
    let mut y = vec![0f64; kd];

    for j in 0..n - 2 {
        // Step 0: reduce column j (rows j+1 ..= min(j+kd, n-1)).
        let r0 = j + 1;
        let len = kd.min(n - 1 - j);
        let tau = {
            let col = &mut s[at(r0, j)..at(r0 + len, j)];
            let (alpha, x) = col.split_first_mut().expect("len >= 1");
            let (beta, tau) = larfg(*alpha, x);
            *alpha = beta;
            v[0] = 1.0;
            v[1..len].copy_from_slice(x);
            x.iter_mut().for_each(|q| *q = 0.0);
            tau
        };
        if tau != 0.0 {
            two_sided::<FMA>(s, ld, r0, len, &v, tau, &mut w);
        }
        // Chase the bulge: block rows b0..b0+blen below the previous block c0..c0+clen.
        let (mut c0, mut clen, mut tau_prev) = (r0, len, tau);
        loop {
            let b0 = c0 + clen;
            if b0 >= n {
                break;
            }
            let blen = kd.min(n - b0);
            // Right-apply the previous reflector: B <- B (I - tau v v^T), B = A[b0.., c0..c0+clen].
            if tau_prev != 0.0 {
                let yb = &mut y[..blen];
                yb.iter_mut().for_each(|q| *q = 0.0);
                for cc in 0..clen {
                    axpy_generic::<FMA>(v[cc], &s[at(b0, c0 + cc)..at(b0 + blen, c0 + cc)], yb);
                }
                for cc in 0..clen {
                    axpy_generic::<FMA>(-tau_prev * v[cc], yb, &mut s[at(b0, c0 + cc)..at(b0 + blen, c0 + cc)]);
                }
            }
            // New reflector from B's first column, applied from the left to the rest of B.
            let tau2 = {
                let col = &mut s[at(b0, c0)..at(b0 + blen, c0)];
                let (alpha, x) = col.split_first_mut().expect("blen >= 1");
                let (beta, tau2) = larfg(*alpha, x);
                *alpha = beta;
                u[0] = 1.0;
                u[1..blen].copy_from_slice(x);
                x.iter_mut().for_each(|q| *q = 0.0);
                tau2
            };
            if tau2 != 0.0 {
                for cc in 1..clen {
                    let col = &mut s[at(b0, c0 + cc)..at(b0 + blen, c0 + cc)];
                    let z = dot_generic::<FMA>(&u[..blen], col);
                    axpy_generic::<FMA>(-tau2 * z, &u[..blen], col);
                }
                two_sided::<FMA>(s, ld, b0, blen, &u, tau2, &mut w);
            }
            std::mem::swap(&mut u, &mut v);
            (c0, clen, tau_prev) = (b0, blen, tau2);
        }
    }
}

/// Band to tridiagonal by Householder bulge chasing (eigenvalues only; see
/// [`crate::geometry::twostage`]): `s` is a symmetric band matrix of half-width `kd` in compact
/// storage, element `(r, c)` (`0 <= r - c <= ld`) at `s[c * ld + r]` with `ld >= 2 kd - 1`, the
/// entries below the band zero. On return the diagonal is at `s[i * ld + i]` and the
/// off-diagonal at `s[i * ld + i + 1]`; the rest is scratch. `larfg` generates the reflectors.
pub fn band_chase(s: &mut [f64], n: usize, kd: usize, ld: usize, larfg: fn(f64, &mut [f64]) -> (f64, f64)) {
    band_chase_dispatch(s, n, kd, ld, larfg)
}

dispatch!(
    band_chase_dispatch => band_chase_generic(
        s: &mut [f64],
        n: usize,
        kd: usize,
        ld: usize,
        larfg: fn(f64, &mut [f64]) -> (f64, f64),
    )
);

dispatch!(
    /// `sum_i x[i] * y[i]` (eight partial sums combined in a fixed order).
    ///
    /// # Panics
    /// If the lengths differ.
    dot => dot_generic(x: &[f64], y: &[f64]) -> f64
);
dispatch!(
    /// `y += alpha * x`.
    ///
    /// # Panics
    /// If the lengths differ.
    axpy => axpy_generic(alpha: f64, x: &[f64], y: &mut [f64])
);
dispatch!(
    /// `x *= alpha`.
    scal => scal_generic(alpha: f64, x: &mut [f64])
);
dispatch!(
    symv_lower_cols_dispatch => symv_lower_cols_generic(
        a: &[f64],
        ld: usize,
        m: usize,
        cols: (usize, usize),
        v: &[f64],
        y: &mut [f64],
    )
);

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u64) -> Vec<f64> {
        crate::geometry::test_data::Lcg::new(seed).take(n)
    }

    #[test]
    fn dot_axpy_scal() {
        for n in [0, 1, 3, 7, 8, 9, 17, 100] {
            let (x, y) = (data(n, 1), data(n, 2));
            let want: f64 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
            assert!((dot(&x, &y) - want).abs() < 1e-14 * (n as f64 + 1.0));
            let mut z = y.clone();
            axpy(0.5, &x, &mut z);
            for i in 0..n {
                assert!((z[i] - (y[i] + 0.5 * x[i])).abs() < 1e-15);
            }
            scal(2.0, &mut z);
            for i in 0..n {
                assert!((z[i] - 2.0 * (y[i] + 0.5 * x[i])).abs() < 1e-15);
            }
        }
    }

    #[test]
    fn symv_matches_dense_product() {
        for &(m, ld) in &[(1, 1), (3, 5), (4, 4), (9, 9), (13, 20), (37, 37)] {
            // Lower triangle random, upper triangle garbage that must not be read.
            let mut a = data(ld * m, 7);
            for c in 0..m {
                for r in 0..c {
                    a[c * ld + r] = f64::NAN;
                }
            }
            let v = data(m, 3);
            let sym = |r: usize, c: usize| if r >= c { a[c * ld + r] } else { a[r * ld + c] };
            let want: Vec<f64> = (0..m).map(|r| (0..m).map(|c| sym(r, c) * v[c]).sum()).collect();
            for split in [0, 1, m / 2, m.saturating_sub(3), m] {
                let mut y0 = vec![0.0; m];
                let mut y1 = vec![0.0; m];
                symv_lower_cols(&a, ld, m, (0, split), &v, &mut y0);
                symv_lower_cols(&a, ld, m, (split, m), &v, &mut y1);
                for r in 0..m {
                    let got = y0[r] + y1[r];
                    assert!((got - want[r]).abs() < 1e-13, "m {m} split {split} r {r}: {got} vs {}", want[r]);
                }
            }
        }
    }
}
