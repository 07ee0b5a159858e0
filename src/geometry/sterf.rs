//! Eigenvalues of a symmetric tridiagonal matrix, O(n^2): LAPACK's `dsterf` (the Pal-Walker-Kahan
//! square-root-free variant of the implicit QL / QR algorithm, chosen per block by which end is
//! larger), with bisection on Sturm counts as a fallback should it not converge.
//!
//! References: LAPACK 3.12 `dsterf`, `dlae2`, `dlascl`, `dlanst`; Golub & Van Loan, *Matrix
//! Computations* (4th ed.) section 8.3 (symmetric QR) and 8.4.1 (Sturm sequences, bisection);
//! B. N. Parlett, *The Symmetric Eigenvalue Problem*, section 8.15 (the PWK variant).

/// LAPACK's `dlamch('E')`: the relative machine precision (half of `f64::EPSILON`).
const EPS: f64 = f64::EPSILON * 0.5;
/// LAPACK's `dlamch('S')`: the smallest number whose reciprocal does not overflow.
const SAFMIN: f64 = f64::MIN_POSITIVE;
/// Iterations allowed per eigenvalue (LAPACK's `MAXIT`).
const MAXIT: usize = 30;

/// All eigenvalues, ascending, of the symmetric tridiagonal matrix with diagonal `d` (length n) and
/// off-diagonal `e` (length n - 1; only its first n - 1 values are read).
///
/// The implicit QL/QR iteration of `dsterf` (relative accuracy of each eigenvalue about `eps *
/// max |eigenvalue|`, like LAPACK's `eigvalsh`); if it fails to converge within 30 n sweeps (it
/// does not happen on the matrices of this crate, but it is possible in principle), the eigenvalues
/// are computed by bisection instead (slower, always converges). Non-finite input gives NaNs.
pub fn tridiagonal_eigenvalues(d: &[f64], e: &[f64]) -> Vec<f64> {
    let n = d.len();
    assert!(
        e.len() + 1 >= n,
        "tridiagonal_eigenvalues: e has {} values, need {}",
        e.len(),
        n.saturating_sub(1)
    );
    if n == 0 {
        return Vec::new();
    }
    let e = &e[..n - 1];
    if d.iter().chain(e).any(|v| !v.is_finite()) {
        return vec![f64::NAN; n];
    }
    let mut dd = d.to_vec();
    let mut ee = e.to_vec();
    if sterf(&mut dd, &mut ee) {
        dd.sort_by(f64::total_cmp);
        dd
    } else {
        bisection_eigenvalues(d, e)
    }
}

/// `dlae2`: eigenvalues `(rt1, rt2)` of `[[a, b], [b, c]]`, `|rt1| >= |rt2|`.
fn dlae2(a: f64, b: f64, c: f64) -> (f64, f64) {
    let sm = a + c;
    let df = a - c;
    let adf = df.abs();
    let tb = b + b;
    let ab = tb.abs();
    let (acmx, acmn) = if a.abs() > c.abs() { (a, c) } else { (c, a) };
    let rt = if adf > ab {
        adf * (1.0 + (ab / adf).powi(2)).sqrt()
    } else if adf < ab {
        ab * (1.0 + (adf / ab).powi(2)).sqrt()
    } else {
        ab * std::f64::consts::SQRT_2
    };
    if sm < 0.0 {
        let rt1 = 0.5 * (sm - rt);
        (rt1, (acmx / rt1) * acmn - (b / rt1) * b)
    } else if sm > 0.0 {
        let rt1 = 0.5 * (sm + rt);
        (rt1, (acmx / rt1) * acmn - (b / rt1) * b)
    } else {
        (0.5 * rt, -0.5 * rt)
    }
}

/// `dlascl('G')` restricted to what `dsterf` needs: multiplies `x` by `cto / cfrom` without
/// overflow or underflow in the intermediate factor.
fn scale(x: &mut [f64], cfrom: f64, cto: f64) {
    let smlnum = SAFMIN;
    let bignum = 1.0 / smlnum;
    let (mut cfromc, mut ctoc) = (cfrom, cto);
    loop {
        let cfrom1 = cfromc * smlnum;
        let (mul, done) = if cfrom1 == cfromc {
            // cfromc is an infinity: the multiplier is a correctly signed zero, infinity or NaN.
            (ctoc / cfromc, true)
        } else {
            let cto1 = ctoc / bignum;
            if cto1 == ctoc {
                (ctoc, true)
            } else if cfrom1.abs() > ctoc.abs() && ctoc != 0.0 {
                cfromc = cfrom1;
                (smlnum, false)
            } else if cto1.abs() > cfromc.abs() {
                ctoc = cto1;
                (bignum, false)
            } else {
                (ctoc / cfromc, true)
            }
        };
        x.iter_mut().for_each(|v| *v *= mul);
        if done {
            break;
        }
    }
}

/// `dsterf` on `d` (n) and `e` (n - 1), in place: on success (`true`) `d` holds the eigenvalues
/// (unsorted); `e` is destroyed. `false` if some eigenvalue did not converge in `30 n` iterations.
fn sterf(d: &mut [f64], e: &mut [f64]) -> bool {
    let n = d.len();
    if n <= 1 {
        return true;
    }
    let eps2 = EPS * EPS;
    let safmax = 1.0 / SAFMIN;
    let ssfmax = safmax.sqrt() / 3.0;
    let ssfmin = SAFMIN.sqrt() / eps2;
    let nmaxit = n * MAXIT;
    let mut jtot = 0usize;

    // 0-based throughout: LAPACK's index k is k - 1 here.
    let mut l1 = 0usize;
    loop {
        // Look for a small off-diagonal element to split the matrix.
        if l1 >= n {
            break;
        }
        if l1 > 0 {
            e[l1 - 1] = 0.0;
        }
        let mut m = l1;
        while m < n - 1 {
            if e[m].abs() <= d[m].abs().sqrt() * d[m + 1].abs().sqrt() * EPS {
                e[m] = 0.0;
                break;
            }
            m += 1;
        }
        // Now block l1..=m is unreduced (m = n - 1 if no split was found).
        let mut l = l1;
        let lsv = l;
        let mut lend = m;
        let lendsv = lend;
        l1 = m + 1;
        if lend == l {
            continue;
        }

        // Scale the block.
        let anorm = d[l..=lend]
            .iter()
            .chain(&e[l..lend])
            .fold(0f64, |a, v| a.max(v.abs()));
        if anorm == 0.0 {
            continue;
        }
        let iscale = if anorm > ssfmax {
            scale(&mut d[l..=lend], anorm, ssfmax);
            scale(&mut e[l..lend], anorm, ssfmax);
            1
        } else if anorm < ssfmin {
            scale(&mut d[l..=lend], anorm, ssfmin);
            scale(&mut e[l..lend], anorm, ssfmin);
            2
        } else {
            0
        };
        for v in &mut e[l..lend] {
            *v *= *v;
        }

        // QL if the bottom end is larger, QR otherwise.
        if d[lend].abs() < d[l].abs() {
            lend = lsv;
            l = lendsv;
        }

        if lend >= l {
            // QL iteration: look for a small subdiagonal element.
            'ql: loop {
                let mut m = l;
                while m < lend {
                    if e[m].abs() <= eps2 * (d[m] * d[m + 1]).abs() {
                        break;
                    }
                    m += 1;
                }
                if m < lend {
                    e[m] = 0.0;
                }
                let mut p = d[l];
                if m != l {
                    if m == l + 1 {
                        // A 2 x 2 block: its eigenvalues directly.
                        let rte = e[l].sqrt();
                        let (rt1, rt2) = dlae2(d[l], rte, d[l + 1]);
                        d[l] = rt1;
                        d[l + 1] = rt2;
                        e[l] = 0.0;
                        l += 2;
                        if l <= lend {
                            continue 'ql;
                        }
                        break 'ql;
                    }
                    if jtot == nmaxit {
                        break 'ql;
                    }
                    jtot += 1;
                    // Form the shift.
                    let rte = e[l].sqrt();
                    let mut sigma = (d[l + 1] - p) / (2.0 * rte);
                    let r = sigma.hypot(1.0);
                    sigma = p - (rte / (sigma + r.copysign(sigma)));
                    let (mut c, mut s) = (1.0f64, 0.0f64);
                    let mut gamma = d[m] - sigma;
                    p = gamma * gamma;
                    // Inner loop.
                    for i in (l..m).rev() {
                        let bb = e[i];
                        let r = p + bb;
                        if i != m - 1 {
                            e[i + 1] = s * r;
                        }
                        let oldc = c;
                        c = p / r;
                        s = bb / r;
                        let oldgam = gamma;
                        let alpha = d[i];
                        gamma = c * (alpha - sigma) - s * oldgam;
                        d[i + 1] = oldgam + (alpha - gamma);
                        p = if c != 0.0 { (gamma * gamma) / c } else { oldc * bb };
                    }
                    e[l] = s * p;
                    d[l] = sigma + gamma;
                    continue 'ql;
                }
                // Eigenvalue found.
                d[l] = p;
                l += 1;
                if l <= lend {
                    continue 'ql;
                }
                break 'ql;
            }
        } else {
            // QR iteration: look for a small superdiagonal element.
            'qr: loop {
                let mut m = l;
                while m > lend {
                    if e[m - 1].abs() <= eps2 * (d[m] * d[m - 1]).abs() {
                        break;
                    }
                    m -= 1;
                }
                if m > lend {
                    e[m - 1] = 0.0;
                }
                let mut p = d[l];
                if m != l {
                    if m + 1 == l {
                        let rte = e[l - 1].sqrt();
                        let (rt1, rt2) = dlae2(d[l], rte, d[l - 1]);
                        d[l] = rt1;
                        d[l - 1] = rt2;
                        e[l - 1] = 0.0;
                        if l >= lend + 2 {
                            l -= 2;
                            continue 'qr;
                        }
                        break 'qr;
                    }
                    if jtot == nmaxit {
                        break 'qr;
                    }
                    jtot += 1;
                    // Form the shift.
                    let rte = e[l - 1].sqrt();
                    let mut sigma = (d[l - 1] - p) / (2.0 * rte);
                    let r = sigma.hypot(1.0);
                    sigma = p - (rte / (sigma + r.copysign(sigma)));
                    let (mut c, mut s) = (1.0f64, 0.0f64);
                    let mut gamma = d[m] - sigma;
                    p = gamma * gamma;
                    // Inner loop.
                    for i in m..l {
                        let bb = e[i];
                        let r = p + bb;
                        if i != m {
                            e[i - 1] = s * r;
                        }
                        let oldc = c;
                        c = p / r;
                        s = bb / r;
                        let oldgam = gamma;
                        let alpha = d[i + 1];
                        gamma = c * (alpha - sigma) - s * oldgam;
                        d[i] = oldgam + (alpha - gamma);
                        p = if c != 0.0 { (gamma * gamma) / c } else { oldc * bb };
                    }
                    e[l - 1] = s * p;
                    d[l] = sigma + gamma;
                    continue 'qr;
                }
                // Eigenvalue found.
                d[l] = p;
                if l >= lend + 1 {
                    l -= 1;
                    continue 'qr;
                }
                break 'qr;
            }
        }

        // Undo the scaling.
        match iscale {
            1 => scale(&mut d[lsv..=lendsv], ssfmax, anorm),
            2 => scale(&mut d[lsv..=lendsv], ssfmin, anorm),
            _ => {}
        }
        // Out of iterations with part of the matrix unreduced?
        if jtot >= nmaxit && e.iter().any(|&v| v != 0.0) {
            return false;
        }
    }
    true
}

/// Number of eigenvalues of the tridiagonal `(d, e)` smaller than `x` (Sturm sequence count,
/// Golub & Van Loan section 8.4.1, in the pivot form of LAPACK's `dlaneg`/`dstebz` that stays
/// finite: a zero pivot is replaced by `-pivmin`).
fn sturm_count(d: &[f64], e2: &[f64], x: f64, pivmin: f64) -> usize {
    let mut count = 0;
    let mut q = d[0] - x;
    if q.abs() < pivmin {
        q = -pivmin;
    }
    if q < 0.0 {
        count += 1;
    }
    for i in 1..d.len() {
        q = d[i] - x - e2[i - 1] / q;
        if q.abs() < pivmin {
            q = -pivmin;
        }
        if q < 0.0 {
            count += 1;
        }
    }
    count
}

/// All eigenvalues, ascending, by bisection on Sturm counts (Golub & Van Loan section 8.4.1;
/// LAPACK `dstebz` without its refinements): each eigenvalue is bracketed in the Gershgorin
/// interval and halved until the bracket no longer shrinks (to machine precision), after an exact
/// power-of-two scaling. O(n^2 log(1/eps)).
/// Used as `dsterf`'s fallback and as an independent oracle in the tests.
pub fn bisection_eigenvalues(d: &[f64], e: &[f64]) -> Vec<f64> {
    let n = d.len();
    if n == 0 {
        return Vec::new();
    }
    let e = &e[..n - 1];
    if d.iter().chain(e).any(|v| !v.is_finite()) {
        return vec![f64::NAN; n];
    }
    // Scale by a power of two (exact) so that the largest entry is about 1 and e^2 neither
    // overflows nor underflows.
    let amax = d.iter().chain(e).fold(0f64, |a, v| a.max(v.abs()));
    if amax == 0.0 {
        return vec![0.0; n];
    }
    let pow2 = |k: i32| f64::from_bits(((1023 + k) as u64) << 52);
    let k = amax.log2().round().clamp(-1000.0, 1000.0) as i32;
    let (down, up) = (pow2(-k), pow2(k));
    let d: Vec<f64> = d.iter().map(|v| v * down).collect();
    let e: Vec<f64> = e.iter().map(|v| v * down).collect();
    let e2: Vec<f64> = e.iter().map(|v| v * v).collect();
    // Gershgorin bounds.
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for i in 0..n {
        let r = if i > 0 { e[i - 1].abs() } else { 0.0 } + if i + 1 < n { e[i].abs() } else { 0.0 };
        lo = lo.min(d[i] - r);
        hi = hi.max(d[i] + r);
    }
    let tnorm = lo.abs().max(hi.abs());
    let pivmin = SAFMIN * e2.iter().fold(1f64, |a, &v| a.max(v));
    lo -= 2.0 * EPS * tnorm + 2.0 * pivmin;
    hi += 2.0 * EPS * tnorm + 2.0 * pivmin;
    (0..n)
        .map(|k| {
            // The (k+1)-th smallest: count(lo) <= k < count(hi).
            let (mut a, mut b) = (lo, hi);
            loop {
                let mid = 0.5 * (a + b);
                if mid <= a || mid >= b || (b - a) <= 2.0 * EPS * (a.abs().max(b.abs())) + pivmin {
                    break mid;
                }
                if sturm_count(&d, &e2, mid, pivmin) > k {
                    b = mid;
                } else {
                    a = mid;
                }
            }
        })
        .map(|v| v * up)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: &[f64], want: &[f64], tol: f64) {
        assert_eq!(got.len(), want.len());
        let scale = want.iter().fold(0f64, |a, v| a.max(v.abs())).max(f64::MIN_POSITIVE);
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= tol * scale, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn small_cases() {
        assert!(tridiagonal_eigenvalues(&[], &[]).is_empty());
        assert_eq!(tridiagonal_eigenvalues(&[-2.5], &[]), vec![-2.5]);
        // [[2, 1], [1, 2]]
        close(&tridiagonal_eigenvalues(&[2.0, 2.0], &[1.0]), &[1.0, 3.0], 1e-15);
        // Diagonal (all splits).
        assert_eq!(
            tridiagonal_eigenvalues(&[3.0, -1.0, 0.0, 2.0], &[0.0, 0.0, 0.0]),
            vec![-1.0, 0.0, 2.0, 3.0]
        );
        // The (1, -2, 1) Laplacian: 2 - 2 cos(k pi / (n + 1)).
        let n = 50;
        let want: Vec<f64> = (1..=n)
            .map(|k| 2.0 - 2.0 * (k as f64 * std::f64::consts::PI / (n + 1) as f64).cos())
            .collect();
        close(&tridiagonal_eigenvalues(&vec![2.0; n], &vec![-1.0; n - 1]), &want, 1e-14);
        close(&bisection_eigenvalues(&vec![2.0; n], &vec![-1.0; n - 1]), &want, 1e-14);
        assert!(tridiagonal_eigenvalues(&[1.0, f64::NAN], &[0.0]).iter().all(|v| v.is_nan()));
    }

    #[test]
    fn wilkinson_and_graded_match_bisection() {
        // W21+: nearly equal pairs of eigenvalues.
        let d: Vec<f64> = (0..21).map(|i| (10i32 - i).abs() as f64).collect();
        let e = vec![1.0; 20];
        close(&tridiagonal_eigenvalues(&d, &e), &bisection_eigenvalues(&d, &e), 1e-14);
        // Strongly graded, both directions (exercises QL and QR and the scaling).
        for scale in [1e-280, 1.0, 1e280] {
            let d: Vec<f64> = (0..30).map(|i| scale * 10f64.powf(-(i as f64) / 3.0)).collect();
            let e: Vec<f64> = (0..29).map(|i| scale * 10f64.powf(-(i as f64) / 3.0 - 0.5)).collect();
            let r: Vec<f64> = d.iter().rev().copied().collect();
            let re: Vec<f64> = e.iter().rev().copied().collect();
            let a = tridiagonal_eigenvalues(&d, &e);
            let b = tridiagonal_eigenvalues(&r, &re);
            close(&a, &bisection_eigenvalues(&d, &e), 1e-13);
            close(&a, &b, 1e-13);
        }
    }
}
