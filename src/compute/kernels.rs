//! The CPU backend of the kernels that the GPU backend ([`super::gpu`]) also offers, with the same
//! inputs (`f32`, row-major) so that each GPU kernel has an exact oracle. Every product is
//! accumulated in `f64` (`matrixmultiply::dgemm`, threaded natively where the callee is), so these
//! are both the reference and the CPU path of the kernel benchmark ([`super::suite`]).

use crate::compute::cpu::{finish_symmetric, gram_upper_accumulate, BLOCK_ROWS};
use crate::geometry::cooccurrence::cooccurrence_histogram;
use crate::geometry::knn::neighbour_lists;
use crate::geometry::silhouette::{cluster_distance_sums_in_order, ClusterOrder};
use crate::geometry::GeometryError;

fn to_f64(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

/// `C = X^T X` (`d x d`, row-major) of the `n x d` row-major `x`, in `f64`:
/// `C[i][j] = sum_r x[r][i] x[r][j]`, a block of [`BLOCK_ROWS`] rows at a time (`dsyrk`-like).
pub fn gram_columns(x: &[f32], n: usize, d: usize) -> Vec<f64> {
    assert_eq!(x.len(), n * d, "gram_columns: x is not n x d");
    let mut acc = vec![0f64; d * d];
    for chunk in x.chunks(BLOCK_ROWS * d.max(1)) {
        let rows = chunk.len() / d.max(1);
        gram_upper_accumulate(&to_f64(chunk), rows, d, &mut acc);
    }
    finish_symmetric(&mut acc, d, 1.0);
    acc
}

/// `C = A B` (`m x n`) of the row-major `a` (`m x k`) and `b` (`k x n`), in `f64`.
pub fn matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
    assert_eq!(a.len(), m * k, "matmul: a is not m x k");
    assert_eq!(b.len(), k * n, "matmul: b is not k x n");
    let (a, b) = (to_f64(a), to_f64(b));
    let mut c = vec![0f64; m * n];
    if m > 0 && n > 0 && k > 0 {
        // SAFETY: a is m x k, b is k x n, c is m x n, all row-major with the strides given;
        // c is a fresh buffer.
        unsafe {
            crate::compute::gemm::dgemm(
                m, k, n, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), n as isize, 1, 0.0, c.as_mut_ptr(), n as isize, 1,
            );
        }
    }
    c
}

/// `G = X X^T` (`n x n`, row-major) of the `n x d` row-major `x`, in `f64`.
pub fn gram_rows(x: &[f32], n: usize, d: usize) -> Vec<f64> {
    assert_eq!(x.len(), n * d, "gram_rows: x is not n x d");
    let mut xt = vec![0f32; d * n];
    for (r, row) in x.chunks_exact(d.max(1)).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            xt[c * n + r] = v;
        }
    }
    matmul(x, &xt, n, d, n)
}

/// For each of the `n` rows of `points` (`n x d`), its `k` nearest other rows, ascending by
/// Euclidean distance (ties by index): `(indices n x k, distances n x k)`, exact distances in `f64`
/// ([`crate::geometry::knn::neighbour_lists`]: Gram-trick selection, exact recomputation).
pub fn nearest_neighbours(points: &[f32], n: usize, d: usize, k: usize) -> (Vec<u32>, Vec<f64>) {
    assert_eq!(points.len(), n * d, "nearest_neighbours: points is not n x d");
    let lists = neighbour_lists(&to_f64(points), n, d, k, &mut |_| {});
    let mut index = Vec::with_capacity(n * k);
    let mut distance = Vec::with_capacity(n * k);
    for i in 0..n {
        index.extend_from_slice(lists.indices(i));
        distance.extend_from_slice(lists.distances(i));
    }
    (index, distance)
}

/// Per-cluster sums of Euclidean distances of `n` points (`n x d`, row-major) already in cluster
/// order, cluster `c` being rows `starts[c]..starts[c + 1]`: `sums[i * k + c] = sum_{j in c, j != i}
/// |x_i - x_j|` (the silhouette's inner sums, [`crate::geometry::silhouette`]; `f64`, Gram trick
/// with exact `f64` products). Errors: fewer than 2 clusters, or a cluster per point.
pub fn cluster_distance_sums(x: &[f32], n: usize, d: usize, starts: &[u32]) -> Result<Vec<f64>, GeometryError> {
    assert_eq!(x.len(), n * d, "cluster_distance_sums: x is not n x d");
    let labels: Vec<usize> =
        starts.windows(2).enumerate().flat_map(|(c, w)| std::iter::repeat_n(c, (w[1] - w[0]) as usize)).collect();
    let clusters = ClusterOrder::new(&labels)?;
    Ok(cluster_distance_sums_in_order(&to_f64(x), d, &clusters, &mut |_| {}))
}

/// The co-occurrence histogram `H` (`n_features x n_features`, row-major) of chunks given in CSR
/// form (`indptr`, `indices`): `H[i][j]` counts the chunks where both `i` and `j` fire
/// ([`crate::geometry::cooccurrence::cooccurrence_histogram`], paper section 2).
pub fn cooccurrence(indptr: &[u32], indices: &[u32], n_features: usize) -> Result<Vec<u32>, GeometryError> {
    let chunks = csr_chunks(indptr, indices)?;
    Ok(cooccurrence_histogram(n_features, &chunks, &mut |_| {})?.counts)
}

/// The chunks of a CSR firing list, checked: `indptr` starts at 0, never decreases and ends at
/// `indices.len()`.
pub fn csr_chunks<'a>(indptr: &[u32], indices: &'a [u32]) -> Result<Vec<&'a [u32]>, GeometryError> {
    let bad = |reason: String| GeometryError::InvalidParameter { name: "firings".into(), reason };
    if indptr.first() != Some(&0) || *indptr.last().unwrap_or(&0) as usize != indices.len() {
        return Err(bad(format!(
            "indptr must start at 0 and end at the number of firings ({})",
            indices.len()
        )));
    }
    indptr
        .windows(2)
        .enumerate()
        .map(|(c, w)| {
            if w[1] < w[0] {
                Err(bad(format!("indptr decreases at chunk {c}")))
            } else if w[1] as usize > indices.len() {
                Err(bad(format!("indptr points past the {} firings at chunk {c}", indices.len())))
            } else {
                Ok(&indices[w[0] as usize..w[1] as usize])
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_match_direct_sums() {
        let (n, d) = (37, 5);
        let x: Vec<f32> = (0..n * d).map(|i| ((i * 7919) % 23) as f32 / 7.0 - 1.5).collect();
        let g = gram_columns(&x, n, d);
        let r = gram_rows(&x, n, d);
        for i in 0..d {
            for j in 0..d {
                let s: f64 = (0..n).map(|k| x[k * d + i] as f64 * x[k * d + j] as f64).sum();
                assert!((g[i * d + j] - s).abs() < 1e-9);
            }
        }
        for i in 0..n {
            for j in 0..n {
                let s: f64 = (0..d).map(|k| x[i * d + k] as f64 * x[j * d + k] as f64).sum();
                assert!((r[i * n + j] - s).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn csr_is_checked() {
        assert!(csr_chunks(&[0, 2, 1], &[0]).is_err());
        assert!(csr_chunks(&[1, 2], &[0, 1]).is_err());
        let h = cooccurrence(&[0, 2, 3], &[0, 2, 2], 3).unwrap();
        assert_eq!(h, vec![1, 0, 1, 0, 0, 0, 1, 0, 2]);
    }
}
