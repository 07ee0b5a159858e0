//! The co-occurrence histogram of SAE features over chunks of text (paper section 2).
//!
//! For each chunk, `f` is the 0/1 vector of the features that fire in it, and `H += outer(f, f)`;
//! `H[i][i]` counts the chunks where `i` fires and `n_chunks` is kept beside `H`. This is the
//! authors' `histogram` (ejmichaud/feature-geometry), and the input of every affinity in
//! [`super::affinity`].

use super::GeometryError;
use crate::compute::par;

/// `H` (N x N, symmetric) and the number of chunks it counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Cooccurrence {
    /// Number of features N.
    pub n_features: usize,
    /// Number of chunks counted (`n` of the 2 x 2 tables).
    pub n_chunks: u64,
    /// `H`, N x N row-major: `H[i][j]` = chunks where both `i` and `j` fire.
    pub counts: Vec<u32>,
}

impl Cooccurrence {
    /// `H[i][j]`.
    pub fn count(&self, i: usize, j: usize) -> u32 {
        self.counts[i * self.n_features + j]
    }

    /// `H[i][i]`: the chunks where feature `i` fires.
    pub fn firing_count(&self, i: usize) -> u32 {
        self.count(i, i)
    }

    /// A histogram given as a dense matrix (the authors' `.npz`: `histogram` and `n_chunks`),
    /// checked: square, symmetric, no count above its diagonal entries, and no diagonal entry
    /// above `n_chunks`. Negative counts are refused too (an int32 histogram that overflowed).
    pub fn from_dense(n_features: usize, n_chunks: u64, counts: &[i64]) -> Result<Cooccurrence, GeometryError> {
        let invalid = |reason: String| GeometryError::InvalidParameter { name: "co-occurrence histogram".into(), reason };
        if counts.len() != n_features * n_features {
            return Err(invalid(format!(
                "{} counts do not make a square {n_features} x {n_features} matrix",
                counts.len()
            )));
        }
        let n = n_features;
        for i in 0..n {
            let hii = counts[i * n + i];
            if hii < 0 || hii as u64 > n_chunks {
                return Err(invalid(format!(
                    "H[{i}][{i}] = {hii} is outside 0..={n_chunks} (n_chunks); the file's histogram and \
                     n_chunks do not belong together, or the int32 counts overflowed"
                )));
            }
            for j in 0..i {
                let (hij, hji) = (counts[i * n + j], counts[j * n + i]);
                if hij != hji {
                    return Err(invalid(format!("H[{i}][{j}] = {hij} but H[{j}][{i}] = {hji}: not symmetric")));
                }
                if hij < 0 {
                    return Err(invalid(format!(
                        "H[{i}][{j}] = {hij} is negative, which no count of chunks can be (did the int32 counts overflow?)"
                    )));
                }
                if hij > hii.min(counts[j * n + j]) {
                    return Err(invalid(format!(
                        "H[{i}][{j}] = {hij} exceeds a diagonal count (H[{i}][{i}] = {hii}, H[{j}][{j}] = {})",
                        counts[j * n + j]
                    )));
                }
            }
        }
        Ok(Cooccurrence { n_features, n_chunks, counts: counts.iter().map(|&c| c as u32).collect() })
    }

    /// Refuses a histogram with nothing to cluster: one that counts no chunks (`n_chunks = 0`:
    /// every 2 x 2 table is empty, every affinity 0 / 0), or in whose chunks no feature fires
    /// (every affinity is the same: Phi + 1 and simple matching 1, Jaccard, Dice and overlap 0, so
    /// any split into lobes is as good as any other). Features that never fire beside others that
    /// do are fine: their affinities are 0 (PAPER.md section 2).
    pub fn check_clusterable(&self) -> Result<(), GeometryError> {
        let invalid = |reason: String| GeometryError::InvalidParameter { name: "co-occurrence histogram".into(), reason };
        if self.n_chunks == 0 {
            return Err(invalid(
                "n_chunks = 0: it counts no chunks, so no co-occurrence is defined (a bundle whose documents are all \
                 held out counts none either); give the histogram of at least one chunk"
                    .into(),
            ));
        }
        if (0..self.n_features).all(|i| self.firing_count(i) == 0) {
            return Err(invalid(format!(
                "no feature fires in any of its {} chunks (every count is 0), so every pair of features is alike \
                 and there are no lobes to find; check the firing threshold, or that the file holds the counts",
                self.n_chunks
            )));
        }
        Ok(())
    }
}

/// `H = sum over chunks c of outer(f_c, f_c)`, where `f_c` is the 0/1 firing vector of chunk `c`,
/// given as the ascending list of the features that fire in it (paper section 2; the authors'
/// `histogram`). Errors if a chunk lists a feature `>= n_features` or is not strictly ascending.
///
/// Two exact algorithms, whichever does fewer operations: per chunk, add 1 for every pair of its
/// firing features (`sum_c |f_c|^2 / 2` increments), or, per pair of features, the popcount of the
/// AND of their chunk bitsets (`N^2 / 2 * ceil(chunks / 64)` word operations, threaded), which
/// wins when chunks are dense (hundreds of firings each). `progress(fraction)` ends at 1.
pub fn cooccurrence_histogram<'a>(
    n_features: usize,
    chunks: &[&'a [u32]],
    progress: &mut dyn FnMut(f64),
) -> Result<Cooccurrence, GeometryError> {
    for (c, chunk) in chunks.iter().enumerate() {
        if chunk.windows(2).any(|w| w[0] >= w[1]) {
            return Err(GeometryError::InvalidParameter {
                name: "firings".into(),
                reason: format!("the features of chunk {c} are not strictly ascending"),
            });
        }
        if let Some(&f) = chunk.last().filter(|&&f| f as usize >= n_features) {
            return Err(GeometryError::InvalidParameter {
                name: "firings".into(),
                reason: format!("chunk {c} names feature {f}, but there are only {n_features} features"),
            });
        }
    }
    let pair_ops: f64 = chunks.iter().map(|c| (c.len() as f64).powi(2) / 2.0).sum();
    let words = chunks.len().div_ceil(64);
    let bitset_ops = (n_features as f64).powi(2) / 2.0 * words as f64 / par::threads() as f64;
    let mut counts = if bitset_ops < pair_ops {
        lower_by_bitsets(n_features, chunks, words, progress)
    } else {
        lower_by_pairs(n_features, chunks, progress)
    };
    super::linalg::mirror_lower_to_upper(&mut counts, n_features);
    progress(1.0);
    Ok(Cooccurrence { n_features, n_chunks: chunks.len() as u64, counts })
}

/// Lower triangle (diagonal included) of `H`, chunk by chunk, a block of rows at a time: each
/// block (owned by one thread, so the output is the same on any number of threads) scans every
/// chunk for its firing features (two binary searches) and adds 1 for each pair whose larger
/// feature is in the block. A block's rows (64 x n counts: 4 MiB at n = 16,384) stay in cache,
/// where one pass over the chunks would scatter its increments over the whole n x n table.
fn lower_by_pairs(n: usize, chunks: &[&[u32]], progress: &mut dyn FnMut(f64)) -> Vec<u32> {
    const ROWS: usize = 64;
    let mut counts = vec![0u32; n * n];
    let mut blocks: Vec<&mut [u32]> = counts.chunks_mut(ROWS * n.max(1)).collect();
    let total = blocks.len().max(1);
    let batch = total.div_ceil(20);
    let mut done = 0;
    while done < total {
        let end = (done + batch).min(total);
        par::for_each_mut(&mut blocks[done..end], |b, rows| {
            let first = ((done + b) * ROWS) as u32;
            let last = first + (rows.len() / n.max(1)) as u32;
            for chunk in chunks {
                let lo = chunk.partition_point(|&f| f < first);
                let hi = chunk.partition_point(|&f| f < last);
                for (a, &i) in chunk.iter().enumerate().take(hi).skip(lo) {
                    let row = &mut rows[(i - first) as usize * n..(i - first + 1) as usize * n];
                    for &j in &chunk[..=a] {
                        row[j as usize] += 1;
                    }
                }
            }
        });
        done = end;
        progress(done as f64 / total as f64);
    }
    counts
}

/// Lower triangle (diagonal included) of `H`, feature pair by feature pair: popcounts of ANDed
/// chunk bitsets. Rows are handed to threads in interleaved blocks (row `i` costs `i + 1` pairs).
fn lower_by_bitsets(n: usize, chunks: &[&[u32]], words: usize, progress: &mut dyn FnMut(f64)) -> Vec<u32> {
    let mut bits = vec![0u64; n * words];
    for (c, chunk) in chunks.iter().enumerate() {
        for &f in chunk.iter() {
            bits[f as usize * words + c / 64] |= 1u64 << (c % 64);
        }
    }
    const ROWS: usize = 32;
    let mut blocks: Vec<Vec<u32>> = (0..n.div_ceil(ROWS)).map(|_| Vec::new()).collect();
    let total_blocks = blocks.len().max(1);
    // Blocks are large and few; report progress in steps of batches of blocks.
    let batch = total_blocks.div_ceil(20);
    let mut done = 0;
    let mut out = vec![0u32; n * n];
    while done < total_blocks {
        let end = (done + batch).min(total_blocks);
        par::for_each_mut(&mut blocks[done..end], |b, rows| {
            let first = (done + b) * ROWS;
            let last = (first + ROWS).min(n);
            rows.clear();
            rows.reserve((first..last).map(|i| i + 1).sum());
            for i in first..last {
                let bi = &bits[i * words..(i + 1) * words];
                for j in 0..=i {
                    let bj = &bits[j * words..(j + 1) * words];
                    rows.push(bi.iter().zip(bj).map(|(x, y)| (x & y).count_ones()).sum());
                }
            }
        });
        for (b, rows) in blocks[done..end].iter_mut().enumerate() {
            let first = (done + b) * ROWS;
            let mut it = std::mem::take(rows).into_iter();
            for i in first..(first + ROWS).min(n) {
                for j in 0..=i {
                    out[i * n + j] = it.next().unwrap_or(0);
                }
            }
        }
        done = end;
        progress(done as f64 / total_blocks as f64);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_counts_no_chunks_and_no_firings_are_named() {
        let err = Cooccurrence::from_dense(2, 10, &[3, -4, -4, 5]).unwrap_err().to_string();
        assert!(err.contains("H[1][0] = -4 is negative"), "{err}");
        let err = Cooccurrence::from_dense(2, 10, &[-1, 0, 0, 5]).unwrap_err().to_string();
        assert!(err.contains("H[0][0] = -1"), "{err}");
        let none = Cooccurrence::from_dense(2, 0, &[0, 0, 0, 0]).unwrap();
        assert!(none.check_clusterable().unwrap_err().to_string().contains("n_chunks = 0"));
        let silent = Cooccurrence::from_dense(2, 7, &[0, 0, 0, 0]).unwrap();
        assert!(silent.check_clusterable().unwrap_err().to_string().contains("no feature fires in any of its 7 chunks"));
        let one = Cooccurrence::from_dense(2, 7, &[0, 0, 0, 7]).unwrap();
        assert!(one.check_clusterable().is_ok(), "a feature that never fires beside one that always does");
    }

    #[test]
    fn pairs_and_bitsets_count_every_pair_on_any_thread_count() {
        // 150 features: three row blocks, the last one short; chunks of 0 to 40 firings.
        let n = 150;
        let chunks: Vec<Vec<u32>> = (0..300u32)
            .map(|c| (0..n as u32).filter(|f| (f * 7 + c * 13 + f * c) % 11 < (c % 5)).collect())
            .collect();
        let refs: Vec<&[u32]> = chunks.iter().map(|c| c.as_slice()).collect();
        let mut direct = vec![0u32; n * n];
        for c in &chunks {
            for &i in c {
                for &j in c {
                    direct[i as usize * n + j as usize] += 1;
                }
            }
        }
        for threads in [1, 2, 3] {
            par::with_threads(threads, || {
                let mut pairs = lower_by_pairs(n, &refs, &mut |_| {});
                super::super::linalg::mirror_lower_to_upper(&mut pairs, n);
                assert_eq!(pairs, direct, "by pairs, {threads} threads");
                let mut bits = lower_by_bitsets(n, &refs, refs.len().div_ceil(64), &mut |_| {});
                super::super::linalg::mirror_lower_to_upper(&mut bits, n);
                assert_eq!(bits, direct, "by bitsets, {threads} threads");
            });
        }
    }
}
