//! Parallelogram quality of the quads of one word-pair task (paper section 1, "Atom scale").
//!
//! Two pairs `(a, b)` and `(c, d)` of one task form a quad; with edges `u = b - a` and `v = d - c`
//! (here the difference vectors of the pairs) the quad is a parallelogram when `u = v` and a
//! trapezoid when `u` is parallel to `v`. Two numbers say how close it comes:
//!
//! - relative error `|u - v| / ((|u| + |v|) / 2)`, in `[0, 2]` (0 for a parallelogram);
//! - cosine `u . v / (|u| |v|)`, in `[-1, 1]` (1 for a trapezoid with parallel edges).
//!
//! Every quad of four distinct words is scored (pairs that share a word are a triangle, not a
//! quad, and pairs with a zero edge have no direction: both are skipped and counted). The scores
//! come from the Gram matrix of the edges (`|u - v|^2 = u.u + v.v - 2 u.v`), a block of rows at a
//! time with `matrixmultiply::dgemm` in `f64`, so the cost is `p^2 d` flops for `p` pairs and the
//! memory `O(block x p)` plus one `f32` per quad and score (for the exact medians).

use serde::{Deserialize, Serialize};

use super::GeometryError;
use crate::compute::par;

/// Rows of the Gram matrix per block.
const ROW_BLOCK: usize = 64;

/// Options of [`quad_quality`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuadParams {
    /// How many of the best and of the worst quads to list.
    pub list: usize,
    /// Bins of each histogram.
    pub bins: usize,
}

impl Default for QuadParams {
    fn default() -> Self {
        QuadParams { list: 5, bins: 40 }
    }
}

/// One scored quad: two pairs of the task (indices into the task's pair list).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quad {
    pub pairs: [u32; 2],
    pub relative_error: f64,
    pub cosine: f64,
}

/// Counts of values in equal bins of `[lo, hi]` (the last bin closed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub lo: f64,
    pub hi: f64,
    pub counts: Vec<u64>,
}

impl Histogram {
    fn new(lo: f64, hi: f64, bins: usize) -> Histogram {
        Histogram { lo, hi, counts: vec![0; bins.max(1)] }
    }

    /// Bins per unit of value.
    fn scale(&self) -> f64 {
        self.counts.len() as f64 / (self.hi - self.lo)
    }

    /// Counts `v`, given [`Histogram::scale`]: values below `lo` (and NaN) go to the first bin,
    /// values at or above `hi` to the last (the float-to-int cast truncates toward zero, which is
    /// the floor for the non-negative offsets, and saturates).
    #[inline]
    fn add_scaled(&mut self, v: f64, scale: f64) {
        let b = (((v - self.lo) * scale).max(0.0) as usize).min(self.counts.len() - 1);
        self.counts[b] += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }
}

/// The parallelogram quality of all quads of one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuadQuality {
    /// Quads scored (pairs of pairs with four distinct words and non-zero edges).
    pub quads: u64,
    /// Pairs left out because their edge is zero (input and output map to the same vector).
    pub zero_edges: usize,
    /// Median relative error `|u - v| / mean(|u|, |v|)` (`None` without quads).
    pub median_relative_error: Option<f64>,
    /// Median cosine of `u` and `v` (`None` without quads).
    pub median_cosine: Option<f64>,
    /// Relative errors in `[0, 2]`.
    pub relative_error_histogram: Histogram,
    /// Cosines in `[-1, 1]`.
    pub cosine_histogram: Histogram,
    /// The quads of smallest relative error, best first (ties by pair indices).
    pub best: Vec<Quad>,
    /// The quads of largest relative error, worst first.
    pub worst: Vec<Quad>,
}

/// Scores every quad of one task: for pairs `i < j` with edges `edges[i]`, `edges[j]` (`p x d`
/// row-major) and words `words[i]`, `words[j]` all distinct, the relative error
/// `|u_i - u_j| / ((|u_i| + |u_j|) / 2)` and the cosine `u_i . u_j / (|u_i| |u_j|)` (Li et al. 2024,
/// section 1; the paper's parallelogram test `b - a ~ d - c`). Medians as `numpy.median` (mean of
/// the two middle values for an even count), computed exactly on the `f32`-rounded scores (relative
/// deviation below 1e-7).
///
/// Natively the row blocks run on [`par::threads`] threads; the result does not depend on the
/// thread count. `progress(fraction)` after each group of blocks.
///
/// Errors: `NonFinite` if an edge holds NaN or infinity; `InvalidParameter` if the lengths disagree.
pub fn quad_quality(
    edges: &[f64],
    p: usize,
    d: usize,
    words: &[[u32; 2]],
    params: &QuadParams,
    progress: &mut dyn FnMut(f64),
) -> Result<QuadQuality, GeometryError> {
    if edges.len() != p * d || words.len() != p {
        return Err(GeometryError::InvalidParameter {
            name: "quad edges".into(),
            reason: format!("{} values and {} word pairs for {p} pairs of dimension {d}", edges.len(), words.len()),
        });
    }
    if let Some(i) = edges.iter().position(|v| !v.is_finite()) {
        return Err(GeometryError::NonFinite { row: i / d.max(1), col: i % d.max(1) });
    }
    let norms: Vec<f64> = edges.chunks_exact(d.max(1)).take(p).map(|r| r.iter().map(|v| v * v).sum()).collect();
    // Pairs with a direction, renumbered densely.
    let keep: Vec<usize> = (0..p).filter(|&i| norms[i] > 0.0).collect();
    let zero_edges = p - keep.len();
    let q = keep.len();
    let mut e = Vec::with_capacity(q * d);
    for &i in &keep {
        e.extend_from_slice(&edges[i * d..(i + 1) * d]);
    }
    let sq: Vec<f64> = keep.iter().map(|&i| norms[i]).collect();
    let w: Vec<[u32; 2]> = keep.iter().map(|&i| words[i]).collect();

    let mut blocks: Vec<Block> = (0..q.div_ceil(ROW_BLOCK)).map(|b| Block::new(b * ROW_BLOCK, params)).collect();
    let total = blocks.len().max(1);
    let group = (4 * par::threads()).max(1);
    let mut done = 0;
    for chunk in blocks.chunks_mut(group) {
        par::for_each_mut(chunk, |_, block| block.score(&e, &sq, &w, q, d, params));
        done += chunk.len();
        progress(done as f64 / total as f64);
    }
    progress(1.0);

    // Merge in block order: deterministic whatever thread ran which block.
    let mut rel: Vec<f32> = Vec::new();
    let mut cos: Vec<f32> = Vec::new();
    let mut best = Vec::new();
    let mut worst = Vec::new();
    let mut rel_hist = Histogram::new(0.0, 2.0, params.bins);
    let mut cos_hist = Histogram::new(-1.0, 1.0, params.bins);
    for b in blocks {
        rel.extend_from_slice(&b.relative);
        cos.extend_from_slice(&b.cosine);
        rel_hist.merge(&b.relative_hist);
        cos_hist.merge(&b.cosine_hist);
        best.extend(b.best);
        worst.extend(b.worst);
    }
    let renumber = |mut quad: Quad| {
        quad.pairs = [keep[quad.pairs[0] as usize] as u32, keep[quad.pairs[1] as usize] as u32];
        quad
    };
    best.sort_by(|a, b| better(a, b));
    best.truncate(params.list);
    worst.sort_by(|a, b| worse(a, b));
    worst.truncate(params.list);
    Ok(QuadQuality {
        quads: rel.len() as u64,
        zero_edges,
        median_relative_error: median(&mut rel),
        median_cosine: median(&mut cos),
        relative_error_histogram: rel_hist,
        cosine_histogram: cos_hist,
        best: best.into_iter().map(renumber).collect(),
        worst: worst.into_iter().map(renumber).collect(),
    })
}

/// Order of "better" quads: smaller relative error, then pair indices.
fn better(a: &Quad, b: &Quad) -> std::cmp::Ordering {
    a.relative_error.total_cmp(&b.relative_error).then(a.pairs.cmp(&b.pairs))
}

/// Order of "worse" quads: larger relative error, then pair indices.
fn worse(a: &Quad, b: &Quad) -> std::cmp::Ordering {
    b.relative_error.total_cmp(&a.relative_error).then(a.pairs.cmp(&b.pairs))
}

/// `numpy.median` of `values` (reordered in place); `None` if empty.
pub fn median(values: &mut [f32]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let (_, &mut hi, _) = values.select_nth_unstable_by(n / 2, |a, b| a.total_cmp(b));
    if n % 2 == 1 {
        return Some(hi as f64);
    }
    let lo = values[..n / 2].iter().copied().fold(f32::NEG_INFINITY, f32::max);
    Some((lo as f64 + hi as f64) / 2.0)
}

/// The scores of rows `start..start + ROW_BLOCK` against every later row.
struct Block {
    start: usize,
    relative: Vec<f32>,
    cosine: Vec<f32>,
    relative_hist: Histogram,
    cosine_hist: Histogram,
    best: Vec<Quad>,
    worst: Vec<Quad>,
}

impl Block {
    fn new(start: usize, params: &QuadParams) -> Block {
        Block {
            start,
            relative: Vec::new(),
            cosine: Vec::new(),
            relative_hist: Histogram::new(0.0, 2.0, params.bins),
            cosine_hist: Histogram::new(-1.0, 1.0, params.bins),
            best: Vec::new(),
            worst: Vec::new(),
        }
    }

    fn score(&mut self, e: &[f64], sq: &[f64], words: &[[u32; 2]], q: usize, d: usize, params: &QuadParams) {
        let rows = ROW_BLOCK.min(q - self.start);
        let cols = q - self.start;
        // gram (rows x cols) = E[start..start + rows] * E[start..]^T.
        let mut gram = vec![0f64; rows * cols];
        if d > 0 {
            let a = &e[self.start * d..];
            // SAFETY: A reads a[r * d + c] (r < rows, c < d) and B(c, j) = a[j * d + c]
            // (j < cols = q - start), both inside `a` (q - start rows of d); C writes
            // gram[r * cols + j] inside `gram`; no aliasing.
            unsafe {
                crate::compute::gemm::dgemm(
                    rows,
                    d,
                    cols,
                    1.0,
                    a.as_ptr(),
                    d as isize,
                    1,
                    a.as_ptr(),
                    1,
                    d as isize,
                    0.0,
                    gram.as_mut_ptr(),
                    cols as isize,
                    1,
                );
            }
        }
        let norm: Vec<f64> = sq.iter().map(|v| v.sqrt()).collect();
        let capacity = rows * cols;
        self.relative.reserve(capacity);
        self.cosine.reserve(capacity);
        let (rel_bins, cos_bins) = (self.relative_hist.scale(), self.cosine_hist.scale());
        for r in 0..rows {
            let i = self.start + r;
            let [a, b] = words[i];
            let (si, ni) = (sq[i], norm[i]);
            let g = &gram[r * cols..(r + 1) * cols];
            for j in i + 1..q {
                let [c, dd] = words[j];
                if a == c || a == dd || b == c || b == dd {
                    continue;
                }
                let dot = g[j - self.start];
                let nj = norm[j];
                let dist = (si + sq[j] - 2.0 * dot).max(0.0).sqrt();
                let relative = 2.0 * dist / (ni + nj);
                let cosine = (dot / (ni * nj)).clamp(-1.0, 1.0);
                self.relative.push(relative as f32);
                self.cosine.push(cosine as f32);
                self.relative_hist.add_scaled(relative, rel_bins);
                self.cosine_hist.add_scaled(cosine, cos_bins);
                let quad = Quad { pairs: [i as u32, j as u32], relative_error: relative, cosine };
                if might_enter(&self.best, params.list, |last| relative <= last.relative_error) {
                    keep_top(&mut self.best, quad, params.list, better);
                }
                if might_enter(&self.worst, params.list, |last| relative >= last.relative_error) {
                    keep_top(&mut self.worst, quad, params.list, worse);
                }
            }
        }
    }
}

/// Whether a quad can enter `list` (of at most `len`): the list has room, or `beats(last)`.
#[inline]
fn might_enter(list: &[Quad], len: usize, beats: impl Fn(&Quad) -> bool) -> bool {
    len > 0 && (list.len() < len || beats(&list[len - 1]))
}

/// Inserts `quad` into `list` (sorted by `order`, at most `len` entries) if it belongs there.
fn keep_top(list: &mut Vec<Quad>, quad: Quad, len: usize, order: fn(&Quad, &Quad) -> std::cmp::Ordering) {
    if len == 0 {
        return;
    }
    if list.len() == len && order(&quad, &list[len - 1]).is_ge() {
        return;
    }
    let at = list.partition_point(|x| order(x, &quad).is_lt());
    list.insert(at, quad);
    list.truncate(len);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(edges: &[f64], p: usize, d: usize, words: &[[u32; 2]]) -> Vec<(usize, usize, f64, f64)> {
        let mut out = Vec::new();
        for i in 0..p {
            for j in i + 1..p {
                let [a, b] = words[i];
                let [c, e] = words[j];
                if a == c || a == e || b == c || b == e {
                    continue;
                }
                let (u, v) = (&edges[i * d..(i + 1) * d], &edges[j * d..(j + 1) * d]);
                let nu = u.iter().map(|x| x * x).sum::<f64>().sqrt();
                let nv = v.iter().map(|x| x * x).sum::<f64>().sqrt();
                let diff = u.iter().zip(v).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt();
                let dot: f64 = u.iter().zip(v).map(|(x, y)| x * y).sum();
                out.push((i, j, diff / ((nu + nv) / 2.0), dot / (nu * nv)));
            }
        }
        out
    }

    fn lcg_edges(p: usize, d: usize) -> Vec<f64> {
        crate::geometry::test_data::Lcg::new(12345).take(p * d)
    }

    #[test]
    fn matches_brute_force_and_skips_shared_words() {
        let (p, d) = (150, 7);
        let edges = lcg_edges(p, d);
        // Pair i uses words (2i, 2i + 1), except that every 10th pair reuses word 0.
        let words: Vec<[u32; 2]> =
            (0..p as u32).map(|i| if i % 10 == 5 { [0, 2 * i + 1] } else { [2 * i, 2 * i + 1] }).collect();
        let q = quad_quality(&edges, p, d, &words, &QuadParams::default(), &mut |_| {}).unwrap();
        let brute = brute(&edges, p, d, &words);
        assert_eq!(q.quads as usize, brute.len());
        let mut rel: Vec<f64> = brute.iter().map(|t| t.2).collect();
        rel.sort_by(f64::total_cmp);
        let n = rel.len();
        let med = if n % 2 == 1 { rel[n / 2] } else { (rel[n / 2 - 1] + rel[n / 2]) / 2.0 };
        assert!((q.median_relative_error.unwrap() - med).abs() < 1e-6);
        let best = brute.iter().min_by(|a, b| a.2.total_cmp(&b.2)).unwrap();
        assert_eq!(q.best[0].pairs, [best.0 as u32, best.1 as u32]);
        assert!((q.best[0].cosine - best.3).abs() < 1e-12);
        let worst = brute.iter().max_by(|a, b| a.2.total_cmp(&b.2)).unwrap();
        assert_eq!(q.worst[0].pairs, [worst.0 as u32, worst.1 as u32]);
        assert_eq!(q.relative_error_histogram.counts.iter().sum::<u64>(), q.quads);
        let one = par::with_threads(1, || quad_quality(&edges, p, d, &words, &QuadParams::default(), &mut |_| {}));
        assert_eq!(one.unwrap(), q);
    }

    #[test]
    fn exact_parallelogram_scores_zero_and_zero_edges_are_skipped() {
        let edges = vec![1.0, 2.0, 1.0, 2.0, 0.0, 0.0, -1.0, -2.0];
        let words = [[0, 1], [2, 3], [4, 5], [6, 7]];
        let q = quad_quality(&edges, 4, 2, &words, &QuadParams::default(), &mut |_| {}).unwrap();
        assert_eq!(q.zero_edges, 1);
        assert_eq!(q.quads, 3);
        assert_eq!(q.best[0].pairs, [0, 1]);
        assert!(q.best[0].relative_error.abs() < 1e-15);
        assert!((q.best[0].cosine - 1.0).abs() < 1e-15);
        assert!((q.worst[0].relative_error - 2.0).abs() < 1e-15);
        assert_eq!(q.worst[0].pairs, [0, 3]);
    }

    #[test]
    fn no_quads_gives_no_median() {
        let q = quad_quality(&[1.0, 0.0], 1, 2, &[[0, 1]], &QuadParams::default(), &mut |_| {}).unwrap();
        assert_eq!(q.quads, 0);
        assert_eq!(q.median_relative_error, None);
        assert!(quad_quality(&[f64::NAN, 0.0], 1, 2, &[[0, 1]], &QuadParams::default(), &mut |_| {}).is_err());
    }
}
