//! CPU kernels: blocked, cache-friendly; natively multi-threaded, single-threaded in the browser
//! (they also run in a wasm Web Worker).
//!
//! The covariance is the O(N d^2) kernel of the galaxy scale. Rows are converted, one block at a
//! time, to centred `f64`, and the block's Gram matrix `B^T B` is accumulated with
//! `matrixmultiply::dgemm`, upper triangle only (a row panel of C at a time, like `dsyrk`), so the
//! memory beyond the d x d result is two blocks of rows.
//!
//! Threads (natively, [`par::threads`]): the row panels of C are shared among the threads (each
//! panel is one `dgemm` call, whichever thread makes it, so the result is bit-identical to the
//! single-threaded one), and the preparation of the next block of rows (centring, or drawing the
//! isotropic cloud's next rows) runs as one more task beside them.

use crate::compute::par;
use crate::matrix::Matrix;

/// Rows per block. 256 rows of d = 2304 is 4.7 MB of `f64`; of d = 384, 0.8 MB.
pub const BLOCK_ROWS: usize = 256;

/// Rows of C per `dgemm` call when accumulating the upper triangle. Smaller panels skip more of
/// the lower triangle; larger ones make each call more efficient.
const PANEL: usize = 64;

/// Share of the progress bar given to the first (mean) pass.
const MEAN_PASS_SHARE: f64 = 0.02;

/// Sample covariance of the rows of `m`: the `d x d` matrix (row-major `f64`, `d = m.cols()`)
/// that `np.cov(W, rowvar=False)` returns. The `f32` values are promoted to `f64`, the column
/// means subtracted, and `X^T X / (N - 1)` formed.
///
/// Two passes over the rows: the means (summed per block, then across blocks), then the Gram
/// matrix of the centred rows, a block of [`BLOCK_ROWS`] at a time. `progress(fraction)` is called
/// after each block, with a fraction in `0..=1` that reaches exactly `1.0` at the end.
///
/// With fewer than two rows the result is all NaN (numpy divides by `N - 1 = 0` too, with a
/// warning); callers should check first (the geometry functions return `TooFewRows`).
/// The result is exactly symmetric.
pub fn covariance(m: &Matrix, progress: &mut dyn FnMut(f64)) -> Vec<f64> {
    let (n, d) = (m.rows(), m.cols());
    if d == 0 {
        progress(1.0);
        return Vec::new();
    }
    if n < 2 {
        progress(1.0);
        return vec![f64::NAN; d * d];
    }
    let data = m.as_slice();
    let blocks = n.div_ceil(BLOCK_ROWS);

    // Pass 1: column means (per-block partial sums keep the rounding error small).
    let mut total = vec![0f64; d];
    let mut partial = vec![0f64; d];
    for (b, chunk) in data.chunks(BLOCK_ROWS * d).enumerate() {
        partial.iter_mut().for_each(|v| *v = 0.0);
        for row in chunk.chunks_exact(d) {
            for (s, &v) in partial.iter_mut().zip(row) {
                *s += v as f64;
            }
        }
        for (t, s) in total.iter_mut().zip(&partial) {
            *t += s;
        }
        progress(MEAN_PASS_SHARE * (b + 1) as f64 / blocks as f64);
    }
    let mean: Vec<f64> = total.iter().map(|s| s / n as f64).collect();

    // Pass 2: Gram matrix of the centred rows, upper triangle. Block b + 1 is centred (into the
    // other buffer) while block b's Gram matrix is accumulated.
    let centre = |chunk: &[f32], out: &mut [f64]| {
        for (dst_row, src_row) in out.chunks_exact_mut(d).zip(chunk.chunks_exact(d)) {
            for ((o, &v), mu) in dst_row.iter_mut().zip(src_row).zip(&mean) {
                *o = v as f64 - mu;
            }
        }
    };
    let mut acc = vec![0f64; d * d];
    let mut cur = vec![0f64; BLOCK_ROWS.min(n) * d];
    let mut next = vec![0f64; BLOCK_ROWS.min(n) * d];
    let chunks: Vec<&[f32]> = data.chunks(BLOCK_ROWS * d).collect();
    centre(chunks[0], &mut cur[..chunks[0].len()]);
    for b in 0..blocks {
        let rows = chunks[b].len() / d;
        let mut prepare_next = || {
            if let Some(c) = chunks.get(b + 1) {
                centre(c, &mut next[..c.len()]);
            }
        };
        gram_upper_accumulate_with(&cur[..rows * d], rows, d, &mut acc, Some(&mut prepare_next));
        std::mem::swap(&mut cur, &mut next);
        let frac = MEAN_PASS_SHARE + (1.0 - MEAN_PASS_SHARE) * (b + 1) as f64 / blocks as f64;
        progress(if b + 1 == blocks { 1.0 } else { frac });
    }
    finish_symmetric(&mut acc, d, 1.0 / (n - 1) as f64);
    acc
}

/// `acc[i][j] += sum_k block[k][i] * block[k][j]` for `j >= i` (the upper triangle of
/// `block^T block`), where `block` is `rows x d` row-major and `acc` is `d x d` row-major.
/// The strict lower triangle of `acc` is left untouched; see [`finish_symmetric`].
///
/// Natively the row panels of `acc` are shared among [`par::threads`] threads; each panel is one
/// `dgemm` call whichever thread runs it, so the result does not depend on the thread count.
pub fn gram_upper_accumulate(block: &[f64], rows: usize, d: usize, acc: &mut [f64]) {
    gram_upper_accumulate_with(block, rows, d, acc, None);
}

/// One task of [`gram_upper_accumulate_with`].
enum GramTask<'a, 'f> {
    /// The caller's side task (run once, by whichever thread takes it first).
    Side(&'a mut (dyn FnMut() + Send + 'f)),
    /// Row panel starting at row `i0` of `acc`: the rows `i0..i0 + PANEL` (fewer at the end).
    Panel(usize, &'a mut [f64]),
}

/// [`gram_upper_accumulate`], running `side` (if any) as one more task beside the panels: on
/// another thread while the panels are computed, when there are threads to spare. `side` must not
/// touch `block` or `acc` (the borrow checker sees to it).
pub fn gram_upper_accumulate_with(
    block: &[f64],
    rows: usize,
    d: usize,
    acc: &mut [f64],
    side: Option<&mut (dyn FnMut() + Send + '_)>,
) {
    assert_eq!(
        block.len(),
        rows * d,
        "gram_upper_accumulate: block is not rows x d"
    );
    assert_eq!(acc.len(), d * d, "gram_upper_accumulate: acc is not d x d");
    let mut tasks: Vec<GramTask> = Vec::with_capacity(d.div_ceil(PANEL.max(1)) + 1);
    if let Some(f) = side {
        tasks.push(GramTask::Side(f));
    }
    if rows > 0 && d > 0 {
        for (p, panel) in acc.chunks_mut(PANEL * d).enumerate() {
            tasks.push(GramTask::Panel(p * PANEL, panel));
        }
    }
    par::for_each_mut(&mut tasks, |_, task| match task {
        GramTask::Side(f) => f(),
        GramTask::Panel(i0, panel) => gram_panel(block, rows, d, *i0, panel),
    });
}

/// Row panel `i0..i0 + m` of the upper triangle: `panel[i][j] += sum_k block[k][i0 + i] *
/// block[k][j]` for `j >= i0` (`panel` is those `m` rows of `acc`, `m * d` values).
fn gram_panel(block: &[f64], rows: usize, d: usize, i0: usize, panel: &mut [f64]) {
    {
        let m = panel.len() / d;
        debug_assert!(m >= 1 && m <= PANEL && i0 + m <= d && panel.len() == m * d);
        let ncols = d - i0;
        // C[i0..i0+m, i0..d] += A * B with A = block[:, i0..i0+m]^T (m x rows) and
        // B = block[:, i0..d] (rows x ncols).
        // SAFETY: every index dgemm touches is in bounds: A reads block[k * d + i0 + i] with
        // k < rows, i < m <= d - i0; B reads block[k * d + i0 + j] with j < ncols = d - i0;
        // C writes panel[i * d + i0 + j] with i < m, j < ncols. `panel` does not alias `block`.
        unsafe {
            crate::compute::gemm::dgemm(
                m,
                rows,
                ncols,
                1.0,
                block.as_ptr().add(i0),
                1,
                d as isize,
                block.as_ptr().add(i0),
                d as isize,
                1,
                1.0,
                panel.as_mut_ptr().add(i0),
                d as isize,
                1,
            );
        }
    }
}

/// Scales the upper triangle of the `d x d` row-major `acc` by `scale` and mirrors it into the
/// lower triangle.
pub fn finish_symmetric(acc: &mut [f64], d: usize, scale: f64) {
    for i in 0..d {
        for j in i..d {
            let v = acc[i * d + j] * scale;
            acc[i * d + j] = v;
            acc[j * d + i] = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Straightforward two-pass reference.
    #[allow(clippy::needless_range_loop)]
    fn naive_cov(m: &Matrix) -> Vec<f64> {
        let (n, d) = (m.rows(), m.cols());
        let mut mean = vec![0f64; d];
        for i in 0..n {
            for j in 0..d {
                mean[j] += m.row(i)[j] as f64 / n as f64;
            }
        }
        let mut c = vec![0f64; d * d];
        for i in 0..n {
            let r = m.row(i);
            for a in 0..d {
                for b in 0..d {
                    c[a * d + b] += (r[a] as f64 - mean[a]) * (r[b] as f64 - mean[b]);
                }
            }
        }
        c.iter().map(|v| v / (n - 1) as f64).collect()
    }

    fn pseudo_random(n: usize, d: usize) -> Matrix {
        let mut s = 12345u64;
        let data = (0..n * d)
            .map(|k| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * (1.0 + (k % d) as f32) + 3.0
            })
            .collect();
        Matrix::new(n, d, data).unwrap()
    }

    #[test]
    fn matches_naive_across_block_and_panel_edges() {
        // n spans several blocks with a ragged last one; d spans several panels, ragged too.
        for &(n, d) in &[
            (2, 1),
            (3, 5),
            (BLOCK_ROWS + 7, 3),
            (2 * BLOCK_ROWS + 1, PANEL + 9),
            (10, 2 * PANEL + 1),
        ] {
            let m = pseudo_random(n, d);
            let got = covariance(&m, &mut |_| {});
            let want = naive_cov(&m);
            let scale = want.iter().fold(0f64, |a, v| a.max(v.abs()));
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-12 * scale, "n {n} d {d}: {g} vs {w}");
            }
            for i in 0..d {
                for j in 0..d {
                    assert_eq!(got[i * d + j], got[j * d + i]);
                }
            }
        }
    }

    #[test]
    fn bit_identical_across_thread_counts() {
        let m = pseudo_random(3 * BLOCK_ROWS + 17, 2 * PANEL + 5);
        let one = par::with_threads(1, || covariance(&m, &mut |_| {}));
        for t in [2, 3, 8] {
            let other = par::with_threads(t, || covariance(&m, &mut |_| {}));
            assert!(one.iter().zip(&other).all(|(a, b)| a.to_bits() == b.to_bits()), "{t} threads");
        }
    }

    #[test]
    fn progress_is_monotone_and_ends_at_one() {
        let m = pseudo_random(3 * BLOCK_ROWS + 5, 4);
        let mut seen = Vec::new();
        covariance(&m, &mut |f| seen.push(f));
        assert_eq!(seen.len(), 2 * 4);
        assert!(seen.windows(2).all(|w| w[0] <= w[1]));
        assert!(seen.iter().all(|f| (0.0..=1.0).contains(f)));
        assert_eq!(*seen.last().unwrap(), 1.0);
    }

    #[test]
    fn degenerate_shapes() {
        let one = Matrix::new(1, 3, vec![1.0, 2.0, 3.0]).unwrap();
        assert!(covariance(&one, &mut |_| {}).iter().all(|v| v.is_nan()));
        let empty = Matrix::new(5, 0, vec![]).unwrap();
        assert!(covariance(&empty, &mut |_| {}).is_empty());
        // Constant rows: zero covariance exactly.
        let c = Matrix::new(3, 2, vec![1.5; 6]).unwrap();
        assert_eq!(covariance(&c, &mut |_| {}), vec![0.0; 4]);
    }
}
