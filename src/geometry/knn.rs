//! Exact nearest neighbours of a small point cloud (a few thousand points in ~100 dimensions), for
//! the clustering entropy ([`super::entropy`]).
//!
//! Squared distances by the Gram trick, `|x_i - x_j|^2 = |x_i|^2 + |x_j|^2 - 2 x_i . x_j`, a block
//! of rows at a time with `matrixmultiply::dgemm` in `f64`; for each row the `L` smallest (self
//! excluded) by partial selection (`select_nth_unstable`, no full sort); their exact distances
//! recomputed from the coordinates (so that a near-duplicate is not given the Gram trick's rounding
//! error, about `eps |x|^2`) and sorted. Natively the row blocks are shared among threads
//! ([`crate::compute::par`]); every row's list is computed by the same code whichever thread
//! runs it, so the result does not depend on the thread count.

use super::GeometryError;
use crate::compute::par;

/// Rows per `dgemm` block.
const ROW_BLOCK: usize = 64;

/// For each of `n` points, its `l` nearest other points, nearest first.
#[derive(Debug, Clone, PartialEq)]
pub struct NeighbourLists {
    /// Number of points.
    pub n: usize,
    /// Neighbours per point (`min(requested, n - 1)`).
    pub l: usize,
    /// `n x l`: indices of the neighbours of point `i` at `i * l..(i + 1) * l`.
    pub index: Vec<u32>,
    /// `n x l`: their Euclidean distances (exact, from the coordinates), ascending; ties by index.
    pub distance: Vec<f64>,
}

impl NeighbourLists {
    /// Neighbour indices of point `i`, nearest first.
    pub fn indices(&self, i: usize) -> &[u32] {
        &self.index[i * self.l..(i + 1) * self.l]
    }

    /// Distances to those neighbours.
    pub fn distances(&self, i: usize) -> &[f64] {
        &self.distance[i * self.l..(i + 1) * self.l]
    }
}

/// Euclidean distance between two points.
pub fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// The `l` nearest other points of every point of `points` (`n x d` row-major `f64`): Gram-trick
/// squared distances in `dgemm` blocks, per-row partial selection, exact distances of the selected
/// ones (see the module documentation). A candidate whose Gram-trick distance ties with the
/// selection boundary to within rounding may be swapped with its neighbour beyond it; the distances
/// returned are exact either way.
///
/// `progress(fraction)` is called after each group of row blocks (from the calling thread).
/// Indices fit in `u32` (callers keep `n` far below 2^32).
pub fn neighbour_lists(
    points: &[f64],
    n: usize,
    d: usize,
    l: usize,
    progress: &mut dyn FnMut(f64),
) -> NeighbourLists {
    debug_assert_eq!(points.len(), n * d);
    let l = l.min(n.saturating_sub(1));
    let mut index = vec![0u32; n * l];
    let mut distance = vec![0f64; n * l];
    if l == 0 {
        progress(1.0);
        return NeighbourLists {
            n,
            l,
            index,
            distance,
        };
    }
    let norms: Vec<f64> = points
        .chunks_exact(d.max(1))
        .take(n)
        .map(|r| r.iter().map(|v| v * v).sum())
        .collect();
    struct Item<'a> {
        start: usize,
        index: &'a mut [u32],
        distance: &'a mut [f64],
    }
    let mut items: Vec<Item> = index
        .chunks_mut(ROW_BLOCK * l)
        .zip(distance.chunks_mut(ROW_BLOCK * l))
        .enumerate()
        .map(|(b, (index, distance))| Item {
            start: b * ROW_BLOCK,
            index,
            distance,
        })
        .collect();
    let total = items.len();
    // Groups of blocks between progress reports: enough to keep every thread busy.
    let group = (4 * par::threads()).max(1);
    let mut done = 0;
    for chunk in items.chunks_mut(group) {
        par::for_each_mut(chunk, |_, item| {
            let rows = item.index.len() / l;
            block_lists(
                points,
                &norms,
                n,
                d,
                l,
                item.start,
                rows,
                item.index,
                item.distance,
            );
        });
        done += chunk.len();
        progress(done as f64 / total as f64);
    }
    NeighbourLists {
        n,
        l,
        index,
        distance,
    }
}

/// The lists of rows `start..start + rows`.
#[allow(clippy::too_many_arguments)]
fn block_lists(
    points: &[f64],
    norms: &[f64],
    n: usize,
    d: usize,
    l: usize,
    start: usize,
    rows: usize,
    index: &mut [u32],
    distance: &mut [f64],
) {
    let mut gram = vec![0f64; rows * n];
    if d > 0 {
        // gram (rows x n) = points[start..start + rows] (rows x d) * points^T (d x n).
        // SAFETY: A reads points[(start + r) * d + c] (r < rows, start + rows <= n, c < d),
        // B(c, j) = points[j * d + c] (j < n), C writes gram[r * n + j]: all in bounds; gram is
        // a fresh buffer.
        unsafe {
            crate::compute::gemm::dgemm(
                rows,
                d,
                n,
                1.0,
                points.as_ptr().add(start * d),
                d as isize,
                1,
                points.as_ptr(),
                1,
                d as isize,
                0.0,
                gram.as_mut_ptr(),
                n as isize,
                1,
            );
        }
    }
    let mut cand: Vec<(f64, u32)> = Vec::with_capacity(n);
    let mut exact: Vec<(f64, u32)> = Vec::with_capacity(l);
    for r in 0..rows {
        let i = start + r;
        let g = &gram[r * n..(r + 1) * n];
        cand.clear();
        cand.extend(
            (0..n)
                .filter(|&j| j != i)
                .map(|j| ((norms[i] + norms[j] - 2.0 * g[j]).max(0.0), j as u32)),
        );
        let by_value = |a: &(f64, u32), b: &(f64, u32)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
        if cand.len() > l {
            cand.select_nth_unstable_by(l - 1, by_value);
        }
        exact_in_order(points, d, i, cand[..l].iter().map(|&(_, j)| j), &mut exact);
        for (t, &(dist, j)) in exact.iter().enumerate() {
            index[r * l + t] = j;
            distance[r * l + t] = dist;
        }
    }
}

/// The exact distances from point `i` to `candidates`, recomputed from the coordinates, sorted
/// ascending (ties by index), into `exact`.
fn exact_in_order(points: &[f64], d: usize, i: usize, candidates: impl Iterator<Item = u32>, exact: &mut Vec<(f64, u32)>) {
    let xi = &points[i * d..(i + 1) * d];
    exact.clear();
    exact.extend(candidates.map(|j| (self::distance(xi, &points[j as usize * d..(j as usize + 1) * d]), j)));
    exact.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
}

/// Neighbour lists from candidates selected elsewhere (a GPU's top-k in `f32`): `candidates` is
/// `n x l`, each row the `l` nearest other points of that point in any order; their distances are
/// recomputed exactly from the `f64` coordinates and sorted (ties by index), as
/// [`neighbour_lists`] finishes its own selection. When the candidate sets are the same, so are
/// the lists; an `f32` selection can differ only at a near-tie with the `l`-th distance.
///
/// Errors: `InvalidParameter` when `candidates` is not `n x l`, names a point outside `0..n`,
/// the point itself, or one point twice.
pub fn lists_from_candidates(points: &[f64], n: usize, d: usize, l: usize, candidates: &[u32]) -> Result<NeighbourLists, GeometryError> {
    let bad = |reason: String| GeometryError::InvalidParameter { name: "neighbour candidates".into(), reason };
    if candidates.len() != n * l || points.len() != n * d {
        return Err(bad(format!("{} candidates for {n} points x {l}, {} coordinates for {n} x {d}", candidates.len(), points.len())));
    }
    let mut index = Vec::with_capacity(n * l);
    let mut distance = Vec::with_capacity(n * l);
    let mut exact = Vec::with_capacity(l);
    let mut seen = vec![u32::MAX; n];
    for i in 0..n {
        let row = &candidates[i * l..(i + 1) * l];
        for &j in row {
            if j as usize >= n || j as usize == i || seen[j as usize] == i as u32 {
                return Err(bad(format!("point {i} lists {j}: each must be another of the {n} points, once")));
            }
            seen[j as usize] = i as u32;
        }
        exact_in_order(points, d, i, row.iter().copied(), &mut exact);
        index.extend(exact.iter().map(|e| e.1));
        distance.extend(exact.iter().map(|e| e.0));
    }
    Ok(NeighbourLists { n, l, index, distance })
}

/// For each point, the distance to its `k`-th nearest other point (`k >= 1`; duplicates of a
/// point are at distance 0): `NearestNeighbors(n_neighbors=k + 1).kneighbors(X)[0][:, k]` when
/// the points are distinct (with duplicates sklearn may list the point itself anywhere among its
/// zero-distance copies; here self is excluded by index). `k` is clamped to `n - 1`.
pub fn kth_neighbour_distances(points: &[f64], n: usize, d: usize, k: usize) -> Vec<f64> {
    let k = k.max(1);
    let lists = neighbour_lists(points, n, d, k, &mut |_| {});
    if lists.l == 0 {
        return vec![f64::NAN; n];
    }
    (0..n).map(|i| lists.distances(i)[lists.l - 1]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud(n: usize, d: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n * d)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 11) as f64 / (1u64 << 53) as f64 * 10.0 - 5.0
            })
            .collect()
    }

    fn brute(points: &[f64], n: usize, d: usize, i: usize) -> Vec<(f64, u32)> {
        let mut v: Vec<(f64, u32)> = (0..n)
            .filter(|&j| j != i)
            .map(|j| {
                (
                    distance(&points[i * d..(i + 1) * d], &points[j * d..(j + 1) * d]),
                    j as u32,
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        v
    }

    #[test]
    fn lists_match_brute_force_across_blocks_and_threads() {
        let (n, d) = (3 * ROW_BLOCK + 17, 7);
        let mut pts = cloud(n, d, 5);
        // Exact duplicates: point 10 = point 3 = point 150.
        let p3 = pts[3 * d..4 * d].to_vec();
        pts[10 * d..11 * d].copy_from_slice(&p3);
        pts[150 * d..151 * d].copy_from_slice(&p3);
        let mut seen = Vec::new();
        let lists = neighbour_lists(&pts, n, d, 9, &mut |f| seen.push(f));
        assert_eq!(seen.last(), Some(&1.0));
        for i in 0..n {
            let want = brute(&pts, n, d, i);
            for (t, &(dist, j)) in want.iter().take(9).enumerate() {
                assert_eq!(lists.indices(i)[t], j, "point {i} rank {t}");
                assert!((lists.distances(i)[t] - dist).abs() <= 1e-15 * dist.max(1.0));
            }
        }
        assert_eq!(lists.distances(3)[..2], [0.0, 0.0]);
        assert_eq!(lists.indices(3)[..2], [10, 150]);
        for t in [1, 3] {
            let other = par::with_threads(t, || neighbour_lists(&pts, n, d, 9, &mut |_| {}));
            assert_eq!(other, lists, "{t} threads");
        }
        let kth = kth_neighbour_distances(&pts, n, d, 2);
        assert_eq!(kth[3], 0.0);
        assert_eq!(kth[0], brute(&pts, n, d, 0)[1].0);
    }

    #[test]
    fn tiny_clouds() {
        assert_eq!(neighbour_lists(&[1.0], 1, 1, 3, &mut |_| {}).l, 0);
        assert!(kth_neighbour_distances(&[1.0], 1, 1, 1)[0].is_nan());
        let lists = neighbour_lists(&[0.0, 0.0, 3.0, 4.0], 2, 2, 5, &mut |_| {});
        assert_eq!(
            (lists.l, lists.index.clone(), lists.distance.clone()),
            (1, vec![1, 0], vec![5.0, 5.0])
        );
    }
}
