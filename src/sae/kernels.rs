//! The inner kernels of the SAE: the dense encoder matmul, top-k selection and a small
//! work-queue for `std::thread::scope`.
//!
//! Determinism: work is cut into items whose boundaries do not depend on the thread count, every
//! item writes only its own outputs, and every reduction across items is done afterwards, in item
//! order, on the calling thread. So the results are bit-identical for any thread count (threads
//! only change which core computes an item).

use std::sync::Mutex;

/// Tokens per work item of the encoder (and of every per-token phase). 256 tokens x 4096
/// features of pre-activations is 4 MiB of scratch per thread.
pub(crate) const BLOCK_TOKENS: usize = 256;

/// The number of threads to use for a requested count: 0 means every available core. On wasm
/// there are no threads, so it is always 1.
pub(crate) fn effective_threads(requested: usize) -> usize {
    if cfg!(target_arch = "wasm32") {
        return 1;
    }
    if requested > 0 {
        return requested;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Calls `work(&mut scratch, item)` for every item, on up to `threads` scoped threads that take
/// items from a shared queue (so a slow, contended core does less of the work). Each thread makes
/// its scratch once with `init`. With one thread (always on wasm) no thread is spawned.
pub(crate) fn run_parallel<I, S, Init, Work>(items: Vec<I>, threads: usize, init: Init, work: Work)
where
    I: Send,
    Init: Fn() -> S + Sync,
    Work: Fn(&mut S, I) + Sync,
{
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 || cfg!(target_arch = "wasm32") {
        let mut scratch = init();
        for item in items {
            work(&mut scratch, item);
        }
        return;
    }
    let queue = Mutex::new(items.into_iter());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut scratch = init();
                loop {
                    // A poisoned lock means another worker panicked; the scope re-raises that panic.
                    let next = match queue.lock() {
                        Ok(mut q) => q.next(),
                        Err(_) => return,
                    };
                    match next {
                        Some(item) => work(&mut scratch, item),
                        None => return,
                    }
                }
            });
        }
    });
}

/// `avx2_dispatch!(fn name = body; (a: A, b: B))` defines `fn name(a: A, b: B)`, which runs
/// `body(a, b)` compiled with AVX2 enabled where the CPU has it (x86_64), and as it is otherwise
/// (and on wasm). `body` must be `#[inline(always)]` (as must the helpers it calls: [`axpy`],
/// [`dot`], [`top_k_dense`]) so that it is compiled inside the AVX2 function: the per-token loops
/// then get 8-wide vectors natively without a `target-cpu` flag. The loops are written lane-wise
/// (fixed 8-lane dot products, element-wise updates, no fused multiply-add), so both paths give
/// bit-identical results.
macro_rules! avx2_dispatch {
    (fn $name:ident = $body:path; ($($arg:ident : $ty:ty),* $(,)?)) => {
        fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2 (checked just above).
                    unsafe { avx2($($arg),*) };
                    return;
                }
            }
            $body($($arg),*)
        }
    };
}
pub(crate) use avx2_dispatch;

/// Encoder pre-activations of a block of (centred) tokens:
/// `out[r * F + j] = sum_p xc[r * d + p] * w_enc[j * w_stride + p] + b_enc[j]`, with
/// `F = b_enc.len()`. `w_enc` holds row `j` of the encoder at `j * w_stride .. j * w_stride + d`
/// (`w_stride >= d`; the trainer interleaves other parameters between the rows).
pub(crate) fn pre_activations(
    xc: &[f32],
    rows: usize,
    d: usize,
    w_enc: &[f32],
    w_stride: usize,
    b_enc: &[f32],
    out: &mut [f32],
) {
    let f = b_enc.len();
    assert!(xc.len() >= rows * d, "pre_activations: xc too short");
    assert!(out.len() >= rows * f, "pre_activations: out too short");
    assert!(w_stride >= d, "pre_activations: stride below d");
    if rows == 0 || f == 0 {
        return;
    }
    assert!(
        w_enc.len() >= (f - 1) * w_stride + d,
        "pre_activations: w_enc too short"
    );
    for r in 0..rows {
        out[r * f..(r + 1) * f].copy_from_slice(b_enc);
    }
    if d == 0 {
        return;
    }
    // SAFETY: C = A B + C with A = xc (rows x d, row stride d), B = W_enc^T (d x F: element
    // (p, j) at w_enc[j * w_stride + p]) and C = out (rows x F, row stride F). Every index read or
    // written is in bounds by the asserts above, and `out` does not alias the inputs.
    unsafe {
        matrixmultiply::sgemm(
            rows,
            d,
            f,
            1.0,
            xc.as_ptr(),
            d as isize,
            1,
            w_enc.as_ptr(),
            1,
            w_stride as isize,
            1.0,
            out.as_mut_ptr(),
            f as isize,
            1,
        );
    }
}

/// `a` ranks below `b`: smaller value, or equal value and larger index.
#[inline]
fn ranks_below(va: f32, ia: u32, vb: f32, ib: u32) -> bool {
    va < vb || (va == vb && ia > ib)
}

#[inline(always)]
fn sift_down(idx: &mut [u32], val: &mut [f32], mut pos: usize) {
    let n = val.len();
    loop {
        let l = 2 * pos + 1;
        if l >= n {
            return;
        }
        let r = l + 1;
        let m = if r < n && ranks_below(val[r], idx[r], val[l], idx[l]) {
            r
        } else {
            l
        };
        if ranks_below(val[m], idx[m], val[pos], idx[pos]) {
            val.swap(m, pos);
            idx.swap(m, pos);
            pos = m;
        } else {
            return;
        }
    }
}

/// The `k` largest of `items` (pairs `(index, value)` in increasing index order) into `idx` and
/// `val` (cleared first), in no particular order. Ties go to the lower index. With fewer than `k`
/// items, all of them.
///
/// A min-heap of the current best `k`: most items are rejected by one comparison with its root.
#[inline(always)]
pub(crate) fn top_k<I: Iterator<Item = (u32, f32)>>(
    mut items: I,
    k: usize,
    idx: &mut Vec<u32>,
    val: &mut Vec<f32>,
) {
    idx.clear();
    val.clear();
    if k == 0 {
        return;
    }
    for (i, v) in items.by_ref() {
        idx.push(i);
        val.push(v);
        if idx.len() == k {
            break;
        }
    }
    for start in (0..idx.len() / 2).rev() {
        sift_down(idx, val, start);
    }
    if idx.len() < k {
        return;
    }
    let mut floor = val[0];
    for (i, v) in items {
        if v > floor {
            val[0] = v;
            idx[0] = i;
            sift_down(idx, val, 0);
            floor = val[0];
        }
    }
}

/// [`top_k`] over a dense row: the `k` largest entries of `row`.
#[inline(always)]
pub(crate) fn top_k_dense(row: &[f32], k: usize, idx: &mut Vec<u32>, val: &mut Vec<f32>) {
    if k == 0 || row.is_empty() {
        idx.clear();
        val.clear();
        return;
    }
    if k >= row.len() {
        top_k(row.iter().enumerate().map(|(i, &v)| (i as u32, v)), k, idx, val);
        return;
    }
    // Fill the heap from the first k entries, then scan the rest in chunks of 8: a chunk whose
    // maximum does not beat the heap's root (the common case once the heap holds large values)
    // is skipped with one (vectorisable) max and one comparison.
    top_k(
        row[..k].iter().enumerate().map(|(i, &v)| (i as u32, v)),
        k,
        idx,
        val,
    );
    let mut floor = val[0];
    let mut base = k;
    let rest = &row[k..];
    let mut chunks = rest.chunks_exact(8);
    for chunk in chunks.by_ref() {
        let mut m = chunk[0];
        for &v in &chunk[1..] {
            m = if v > m { v } else { m };
        }
        if m > floor {
            for (o, &v) in chunk.iter().enumerate() {
                if v > floor {
                    val[0] = v;
                    idx[0] = (base + o) as u32;
                    sift_down(idx, val, 0);
                    floor = val[0];
                }
            }
        }
        base += 8;
    }
    for (o, &v) in chunks.remainder().iter().enumerate() {
        if v > floor {
            val[0] = v;
            idx[0] = (base + o) as u32;
            sift_down(idx, val, 0);
            floor = val[0];
        }
    }
}

/// `acc += a * x`.
#[inline(always)]
pub(crate) fn axpy(acc: &mut [f32], a: f32, x: &[f32]) {
    for (o, &v) in acc.iter_mut().zip(x) {
        *o += a * v;
    }
}

/// Dot product, accumulated in 8 independent lanes (fixed order, so deterministic).
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in ca.by_ref().zip(cb.by_ref()) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
    let mut s = 0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s += x * y;
    }
    let t = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    t + s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(row: &[f32], k: usize) -> Vec<(u32, f32)> {
        let mut all: Vec<(u32, f32)> = row.iter().enumerate().map(|(i, &v)| (i as u32, v)).collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(k);
        all.sort_by_key(|p| p.0);
        all
    }

    #[test]
    fn top_k_matches_sorting() {
        let mut idx = Vec::new();
        let mut val = Vec::new();
        let mut state = 12345u64;
        for n in [1usize, 5, 8, 9, 33, 100, 4096] {
            let row: Vec<f32> = (0..n)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    // Few distinct values, so that ties occur.
                    ((state >> 33) % 50) as f32 - 25.0
                })
                .collect();
            for k in [0usize, 1, 3, 8, 32, n, n + 3] {
                top_k_dense(&row, k, &mut idx, &mut val);
                let mut got: Vec<(u32, f32)> = idx.iter().copied().zip(val.iter().copied()).collect();
                got.sort_by_key(|p| p.0);
                assert_eq!(got, brute(&row, k), "n = {n}, k = {k}");
            }
        }
    }

    #[test]
    fn pre_activations_match_naive() {
        let (rows, d, f, stride) = (3, 5, 7, 9);
        let xc: Vec<f32> = (0..rows * d).map(|i| (i as f32 * 0.37).sin()).collect();
        let w: Vec<f32> = (0..f * stride).map(|i| (i as f32 * 0.11).cos()).collect();
        let b: Vec<f32> = (0..f).map(|j| j as f32 * 0.1).collect();
        let mut out = vec![f32::NAN; rows * f];
        pre_activations(&xc, rows, d, &w, stride, &b, &mut out);
        for r in 0..rows {
            for j in 0..f {
                let want: f32 = (0..d).map(|p| xc[r * d + p] * w[j * stride + p]).sum::<f32>() + b[j];
                assert!((out[r * f + j] - want).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn run_parallel_visits_every_item_once() {
        let mut out = vec![0u32; 100];
        let items: Vec<(usize, &mut [u32])> = out.chunks_mut(7).enumerate().collect();
        run_parallel(
            items,
            3,
            || (),
            |_, (b, chunk)| {
                for (i, o) in chunk.iter_mut().enumerate() {
                    *o += (b * 7 + i) as u32;
                }
            },
        );
        assert!(out.iter().enumerate().all(|(i, &v)| v == i as u32));
    }
}
