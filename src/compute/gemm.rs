//! `dgemm` for every caller in the crate: `C = alpha A B + beta C` on `f64`, with the signature of
//! `matrixmultiply::dgemm` (sizes, then pointers with row and column strides in elements).
//!
//! Natively it is `matrixmultiply::dgemm` (AVX2/FMA kernels chosen at run time). On wasm32 it is
//! [`packed_dgemm`]: matrixmultiply has a SIMD128 kernel for `f32` only, and its `f64` kernel there
//! is scalar; ours packs A into panels of [`MR`] rows and B into panels of [`NR`] columns (blocks of
//! [`KC`] along k) and runs a 4 x 4 register-blocked kernel on `f64x2` lanes (WebAssembly SIMD),
//! about twice the scalar kernel's rate in Chromium. The kernel multiplies and then adds (no fused
//! multiply-add: WebAssembly has none), each entry's products summed in order of k; the portable
//! copy of the kernel (plain arrays) does the same operations in the same order, so it is the
//! SIMD kernel's oracle in the native tests.

/// Rows of A per register block.
pub const MR: usize = 4;
/// Columns of B per register block.
pub const NR: usize = 4;
/// Depth of a packed block (k).
pub const KC: usize = 256;
/// Rows of A per packed block.
const MC: usize = 64;
/// Columns of B per packed block.
const NC: usize = 1024;

/// `C = alpha A B + beta C`, A `m x k`, B `k x n`, C `m x n`, each given by a pointer and its row
/// and column strides (in elements). With `beta == 0`, C is written without being read.
///
/// # Safety
/// As `matrixmultiply::dgemm`: every pointer must be valid for every index its sizes and strides
/// reach, and C must not overlap A or B.
#[allow(clippy::too_many_arguments)]
#[inline]
pub unsafe fn dgemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f64,
    a: *const f64,
    rsa: isize,
    csa: isize,
    b: *const f64,
    rsb: isize,
    csb: isize,
    beta: f64,
    c: *mut f64,
    rsc: isize,
    csc: isize,
) {
    #[cfg(target_arch = "wasm32")]
    {
        packed_dgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        matrixmultiply::dgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
    }
}

/// The packed, register-blocked `dgemm` (the wasm32 one; natively only tested).
///
/// # Safety
/// As [`dgemm`].
#[allow(clippy::too_many_arguments)]
pub unsafe fn packed_dgemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f64,
    a: *const f64,
    rsa: isize,
    csa: isize,
    b: *const f64,
    rsb: isize,
    csb: isize,
    beta: f64,
    c: *mut f64,
    rsc: isize,
    csc: isize,
) {
    if m == 0 || n == 0 {
        return;
    }
    let at = |p: *const f64, i: usize, j: usize, rs: isize, cs: isize| *p.offset(i as isize * rs + j as isize * cs);
    let c_at = |i: usize, j: usize| c.offset(i as isize * rsc + j as isize * csc);
    for i in 0..m {
        for j in 0..n {
            let p = c_at(i, j);
            *p = if beta == 0.0 { 0.0 } else { beta * *p };
        }
    }
    if k == 0 || alpha == 0.0 {
        return;
    }
    let mut apack = vec![0f64; MC * KC];
    let mut bpack = vec![0f64; NC * KC];
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            // B[pc.., jc..] as panels of NR columns, each kc x NR row-major, zero-padded.
            for (panel, j0) in (0..nc).step_by(NR).enumerate() {
                let out = &mut bpack[panel * kc * NR..(panel + 1) * kc * NR];
                for p in 0..kc {
                    for jj in 0..NR {
                        out[p * NR + jj] = if j0 + jj < nc { at(b, pc + p, jc + j0 + jj, rsb, csb) } else { 0.0 };
                    }
                }
            }
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                // A[ic.., pc..] as panels of MR rows, each kc x MR, zero-padded.
                for (panel, i0) in (0..mc).step_by(MR).enumerate() {
                    let out = &mut apack[panel * kc * MR..(panel + 1) * kc * MR];
                    for p in 0..kc {
                        for ii in 0..MR {
                            out[p * MR + ii] = if i0 + ii < mc { at(a, ic + i0 + ii, pc + p, rsa, csa) } else { 0.0 };
                        }
                    }
                }
                for (bp, j0) in (0..nc).step_by(NR).enumerate() {
                    let bpanel = &bpack[bp * kc * NR..(bp + 1) * kc * NR];
                    for (ap, i0) in (0..mc).step_by(MR).enumerate() {
                        let apanel = &apack[ap * kc * MR..(ap + 1) * kc * MR];
                        let block = kernel(kc, apanel, bpanel);
                        for (ii, row) in block.iter().enumerate().take(mc - i0) {
                            for (jj, v) in row.iter().enumerate().take(nc - j0) {
                                let p = c_at(ic + i0 + ii, jc + j0 + jj);
                                *p += alpha * v;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `sum_p a[p][i] b[p][j]` for the `MR x NR` block of two packed panels (`kc x MR` and `kc x NR`,
/// row-major), each entry summed in order of p.
#[inline]
fn kernel(kc: usize, a: &[f64], b: &[f64]) -> [[f64; NR]; MR] {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        kernel_simd128(kc, a, b)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        kernel_portable(kc, a, b)
    }
}

/// The kernel on plain arrays: a multiply, then an add, per product, in order of p.
#[cfg_attr(all(target_arch = "wasm32", target_feature = "simd128"), allow(dead_code))]
fn kernel_portable(kc: usize, a: &[f64], b: &[f64]) -> [[f64; NR]; MR] {
    let mut acc = [[0f64; NR]; MR];
    for (ap, bp) in a[..kc * MR].chunks_exact(MR).zip(b[..kc * NR].chunks_exact(NR)) {
        for (row, &ai) in acc.iter_mut().zip(ap) {
            for (c, &bj) in row.iter_mut().zip(bp) {
                *c += ai * bj;
            }
        }
    }
    acc
}

/// The kernel on `f64x2` lanes: eight accumulators (4 rows x 2 lane pairs), the same operations
/// in the same order as [`kernel_portable`].
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn kernel_simd128(kc: usize, a: &[f64], b: &[f64]) -> [[f64; NR]; MR] {
    use core::arch::wasm32::*;
    assert!(a.len() >= kc * MR && b.len() >= kc * NR);
    let z = f64x2_splat(0.0);
    let (mut c00, mut c01, mut c10, mut c11, mut c20, mut c21, mut c30, mut c31) = (z, z, z, z, z, z, z, z);
    let (ap, bp) = (a.as_ptr(), b.as_ptr());
    for p in 0..kc {
        // SAFETY: p < kc, and both panels hold kc rows (checked above); v128_load may be unaligned.
        unsafe {
            let b0 = v128_load(bp.add(p * NR) as *const v128);
            let b1 = v128_load(bp.add(p * NR + 2) as *const v128);
            let a0 = f64x2_splat(*ap.add(p * MR));
            let a1 = f64x2_splat(*ap.add(p * MR + 1));
            let a2 = f64x2_splat(*ap.add(p * MR + 2));
            let a3 = f64x2_splat(*ap.add(p * MR + 3));
            c00 = f64x2_add(c00, f64x2_mul(a0, b0));
            c01 = f64x2_add(c01, f64x2_mul(a0, b1));
            c10 = f64x2_add(c10, f64x2_mul(a1, b0));
            c11 = f64x2_add(c11, f64x2_mul(a1, b1));
            c20 = f64x2_add(c20, f64x2_mul(a2, b0));
            c21 = f64x2_add(c21, f64x2_mul(a2, b1));
            c30 = f64x2_add(c30, f64x2_mul(a3, b0));
            c31 = f64x2_add(c31, f64x2_mul(a3, b1));
        }
    }
    let row = |x: v128, y: v128| [f64x2_extract_lane::<0>(x), f64x2_extract_lane::<1>(x), f64x2_extract_lane::<0>(y), f64x2_extract_lane::<1>(y)];
    [row(c00, c01), row(c10, c11), row(c20, c21), row(c30, c31)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, k: usize, n: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut c = vec![0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    fn values(len: usize, seed: usize) -> Vec<f64> {
        (0..len).map(|i| (((i * 7919 + seed * 104_729) % 1009) as f64 - 504.0) / 97.0).collect()
    }

    #[test]
    fn packed_dgemm_equals_the_product_over_edges_strides_alpha_and_beta() {
        // Sizes that cut every block (MR, NR, KC, MC, NC) short, and the degenerate ones.
        for &(m, k, n) in &[(1, 1, 1), (5, 3, 7), (67, 300, 9), (130, 513, 1030), (4, 0, 4), (0, 3, 2)] {
            let a = values(m * k, 1);
            let b = values(k * n, 2);
            let want = naive(m, k, n, &a, &b);
            let c0 = values(m * n, 3);
            // Row-major C, beta = 0 (C is not read: start from NaN) and beta = 0.5 with alpha = 2.
            let mut c = vec![f64::NAN; m * n];
            unsafe { packed_dgemm(m, k, n, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), n as isize, 1, 0.0, c.as_mut_ptr(), n as isize, 1) };
            for (x, y) in c.iter().zip(&want) {
                assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{m} {k} {n}: {x} vs {y}");
            }
            let mut c = c0.clone();
            unsafe { packed_dgemm(m, k, n, 2.0, a.as_ptr(), k as isize, 1, b.as_ptr(), n as isize, 1, 0.5, c.as_mut_ptr(), n as isize, 1) };
            for ((x, y), z) in c.iter().zip(&want).zip(&c0) {
                assert!((x - (2.0 * y + 0.5 * z)).abs() <= 1e-12 * (1.0 + y.abs() + z.abs()));
            }
            // A given transposed (column-major storage of A^T's data) and C column-major.
            let at: Vec<f64> = (0..k * m).map(|idx| a[(idx % m) * k + idx / m]).collect();
            let mut c = vec![0f64; m * n];
            unsafe { packed_dgemm(m, k, n, 1.0, at.as_ptr(), 1, m as isize, b.as_ptr(), n as isize, 1, 0.0, c.as_mut_ptr(), 1, m.max(1) as isize) };
            for i in 0..m {
                for j in 0..n {
                    let y = want[i * n + j];
                    assert!((c[j * m + i] - y).abs() <= 1e-12 * (1.0 + y.abs()));
                }
            }
        }
    }

    #[test]
    fn packed_dgemm_sums_each_entry_in_order_of_k() {
        // One row times one column is a plain left-to-right sum of products: bit for bit.
        let k = 700;
        let a = values(k, 4);
        let b = values(k, 5);
        let mut c = [0f64];
        unsafe { packed_dgemm(1, k, 1, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), 1, 1, 0.0, c.as_mut_ptr(), 1, 1) };
        let mut want = 0.0;
        let mut block = 0.0;
        for p in 0..k {
            block += a[p] * b[p];
            if p % KC == KC - 1 || p == k - 1 {
                want += block;
                block = 0.0;
            }
        }
        assert_eq!(c[0], want);
    }
}
