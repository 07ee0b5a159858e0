//! The f32 kernels of the forward pass: matrix products through `matrixmultiply::sgemm`, LayerNorm,
//! row softmax and the erf GELU. The elementwise ones are written branch-free over slices so the
//! compiler vectorises them (the softmax's exponentials are most of the non-matmul time at 512
//! tokens: 12 x 512 x 512 per layer).

/// `c (m x n) = alpha * a (m x k) * b (k x n) + beta * c`, every operand described by its pointer
/// offset into a slice and its row/column strides.
///
/// The strides and extents are checked against the slices (in debug builds by the asserts, always by
/// the index arithmetic of [`span`]) before `sgemm` is called.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: (&[f32], usize, usize),
    b: (&[f32], usize, usize),
    beta: f32,
    c: (&mut [f32], usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    let (a, rsa, csa) = a;
    let (b, rsb, csb) = b;
    let (c, rsc, csc) = c;
    assert!(span(m, k, rsa, csa) <= a.len(), "gemm: a is too short");
    assert!(span(k, n, rsb, csb) <= b.len(), "gemm: b is too short");
    assert!(span(m, n, rsc, csc) <= c.len(), "gemm: c is too short");
    // SAFETY: the asserts above keep every element sgemm reads or writes inside its slice
    // (the largest index is (rows-1)*rs + (cols-1)*cs), and `c` is borrowed mutably, so it aliases
    // neither `a` nor `b`.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.as_ptr(),
            rsa as isize,
            csa as isize,
            b.as_ptr(),
            rsb as isize,
            csb as isize,
            beta,
            c.as_mut_ptr(),
            rsc as isize,
            csc as isize,
        );
    }
}

/// One past the largest index of a `rows x cols` strided matrix (0 when empty).
fn span(rows: usize, cols: usize, rs: usize, cs: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * rs + (cols - 1) * cs + 1
    }
}

/// `out (t x n) = x (t x k) * w (k x n) + bias`, all row-major and contiguous; when `accumulate`,
/// `out` already holds a residual to add to (the bias is added on top).
pub(crate) fn linear(x: &[f32], t: usize, w: &[f32], bias: &[f32], out: &mut [f32], accumulate: bool) {
    let n = bias.len();
    let k = w.len() / n;
    debug_assert_eq!(w.len(), k * n);
    debug_assert_eq!(x.len(), t * k);
    for row in out[..t * n].chunks_exact_mut(n) {
        if accumulate {
            for (o, b) in row.iter_mut().zip(bias) {
                *o += b;
            }
        } else {
            row.copy_from_slice(bias);
        }
    }
    gemm(t, k, n, 1.0, (x, k, 1), (w, n, 1), 1.0, (&mut out[..t * n], n, 1));
}

/// Row-wise LayerNorm of `x` (rows of `gamma.len()`) into `out`, eps 1e-12 (BERT's). Mean and
/// variance are accumulated in f64.
pub(crate) fn layer_norm(x: &[f32], gamma: &[f32], beta: &[f32], out: &mut [f32]) {
    let d = gamma.len();
    for (xr, or) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        let mean = xr.iter().map(|&v| v as f64).sum::<f64>() / d as f64;
        let var = xr.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / d as f64;
        let inv = 1.0 / (var + 1e-12).sqrt();
        let (mean, inv) = (mean as f32, inv as f32);
        for (((o, &v), &g), &b) in or.iter_mut().zip(xr).zip(gamma).zip(beta) {
            *o = (v - mean) * inv * g + b;
        }
    }
}

/// Softmax of each row (of length `n`) of `x`, in place.
pub(crate) fn softmax_rows(x: &mut [f32], n: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { softmax_rows_avx2(x, n) };
    }
    softmax_rows_body(x, n)
}

/// The same code compiled for AVX2 (8 lanes instead of SSE2's 4; no FMA, so identical results).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn softmax_rows_avx2(x: &mut [f32], n: usize) {
    softmax_rows_body(x, n)
}

#[inline(always)]
fn softmax_rows_body(x: &mut [f32], n: usize) {
    for row in x.chunks_exact_mut(n) {
        // Max and sum in 8 lanes, so they vectorise.
        let mut lanes = [f32::NEG_INFINITY; 8];
        let mut chunks = row.chunks_exact(8);
        for c in &mut chunks {
            for (l, &v) in lanes.iter_mut().zip(c) {
                *l = if v > *l { v } else { *l };
            }
        }
        let max = chunks
            .remainder()
            .iter()
            .chain(&lanes)
            .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        for v in row.iter_mut() {
            *v = exp_nonpositive(*v - max);
        }
        let mut lanes = [0f32; 8];
        let mut chunks = row.chunks_exact(8);
        for c in &mut chunks {
            for (l, v) in lanes.iter_mut().zip(c) {
                *l += v;
            }
        }
        let sum: f32 = lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>();
        let inv = 1.0 / sum;
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
}

/// The exact (erf) GELU, `0.5 x (1 + erf(x / sqrt 2))`, in place.
pub(crate) fn gelu_in_place(x: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { gelu_in_place_avx2(x) };
    }
    gelu_in_place_body(x)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gelu_in_place_avx2(x: &mut [f32]) {
    gelu_in_place_body(x)
}

#[inline(always)]
fn gelu_in_place_body(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = gelu(*v);
    }
}

/// `0.5 x (1 + erf(x / sqrt 2))` in f32 with absolute error below 1e-6 for |x| < 20 (unit-tested
/// against statrs' f64 erf). erf is Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7, about one f32 ulp
/// of 1.0), applied as erfc on |x| so the negative side has no cancellation:
/// `1 + erf(-u) = erfc(u) = poly(t) exp(-u^2)`, `t = 1 / (1 + p u)`.
#[inline(always)]
pub(crate) fn gelu(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [0.254_829_6, -0.284_496_74, 1.421_413_8, -1.453_152, 1.061_405_4];
    let u = x.abs() * std::f32::consts::FRAC_1_SQRT_2;
    let t = 1.0 / (1.0 + P * u);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    let erfc = poly * exp_nonpositive(-u * u);
    let one_plus_erf = if x >= 0.0 { 2.0 - erfc } else { erfc };
    0.5 * x * one_plus_erf
}

/// `exp(x)` for `x <= 0` (anything below -87 gives ~1e-38 instead of a subnormal or zero),
/// branch-free so loops over it vectorise: Cephes' expf (range reduction by ln 2 in two parts, a
/// degree-6 polynomial), relative error about 2e-7.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const C1: f32 = 0.693_359_4;
    const C2: f32 = -2.121_944_4e-4;
    // 1.5 * 2^23: adding and subtracting it rounds to the nearest integer without a libm call.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 0.0);
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    // The integer n, read from the low mantissa bits of `shifted` (integer lanes, no float->int
    // conversion, which Rust saturates and the compiler then does one lane at a time).
    let n_int = shifted.to_bits() as i32 - ROUND.to_bits() as i32;
    let r = x - n * C1 - n * C2;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5; // Cephes: 5.0000001201e-1, which is 0.5 in f32
    let er = p * r * r + r + 1.0;
    let scale = f32::from_bits(((n_int + 127) as u32) << 23);
    er * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_f64_exp() {
        let mut worst = 0f64;
        for i in 0..=200_000 {
            let x = -87.0 * i as f32 / 200_000.0;
            let want = (x as f64).exp();
            let rel = ((exp_nonpositive(x) as f64 - want) / want).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 5e-7, "worst relative error {worst}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert!(exp_nonpositive(-1000.0) < 1e-37);
    }

    #[test]
    fn gelu_matches_f64_erf_gelu() {
        let mut worst = 0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 / 10_000.0;
            let xd = x as f64;
            let want = 0.5 * xd * (1.0 + statrs::function::erf::erf(xd / 2f64.sqrt()));
            worst = worst.max((gelu(x) as f64 - want).abs());
        }
        assert!(worst < 1e-6, "worst absolute error {worst}");
        assert_eq!(gelu(0.0), 0.0);
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let mut x: Vec<f32> = (0..30).map(|i| (i as f32 * 0.7).sin() * 5.0).collect();
        softmax_rows(&mut x, 10);
        for row in x.chunks(10) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn linear_is_x_w_plus_b() {
        // x 2x3, w 3x2 (already transposed to in x out), b 2.
        let x = [1.0, 2.0, 3.0, -1.0, 0.5, 2.0];
        let w = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let b = [0.5, -0.5];
        let mut out = [0f32; 4];
        linear(&x, 2, &w, &b, &mut out, false);
        assert_eq!(out, [4.5, 4.5, 1.5, 2.0]);
        linear(&x, 2, &w, &b, &mut out, true);
        assert_eq!(out, [9.0, 9.0, 3.0, 4.0]);
    }

    #[test]
    fn layer_norm_normalises() {
        let x = [1.0f32, 2.0, 3.0, 4.0];
        let mut out = [0f32; 4];
        layer_norm(&x, &[1.0; 4], &[0.0; 4], &mut out);
        let mean: f32 = out.iter().sum::<f32>() / 4.0;
        let var: f32 = out.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5);
    }
}
