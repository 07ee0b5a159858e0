//! Crystal search among SAE features (Li et al. 2024, *The Geometry of Concepts*, section 1,
//! "Atom scale").
//!
//! A crystal is a quad of points `(a, b, c, d)` whose edges `b - a` and `d - c` are equal (a
//! parallelogram) or parallel (a trapezoid). To find crystals among the decoder rows `x_1..x_m` of
//! a chosen subset of features, the paper forms every pairwise difference
//! `u_ij = x_j - x_i` (`i < j`, `P = m (m - 1) / 2` of them), clusters them with k-means (the raw
//! differences for parallelograms, the unit differences `u / |u|` for trapezoids), and looks at
//! the clusters whose member pairs come closest to parallelograms.
//!
//! # Sign-invariant k-means
//!
//! `u_ij` and `u_ji = -u_ij` are the same edge, so the clustering ignores the sign: a pair goes to
//! the centroid `c` of least `min(|u - c|^2, |u + c|^2) = |u|^2 + |c|^2 - 2 |u . c|` (the distance
//! from `u` to the set `{c, -c}`), and enters that centroid's mean with the sign that won
//! (`sign(u . c)`, `+` on a tie). This is Lloyd's algorithm (Lloyd 1982) on the quotient of `R^d`
//! by `u ~ -u`, whose inertia `sum_p min_s |u_p - s c_(l(p))|^2` decreases at every step just as in
//! the plain algorithm. Normalised mode runs the same Euclidean k-means on the unit vectors (the
//! paper's `KMeans` on normalised differences; the centroids are means, not renormalised, so this
//! is not spherical k-means, and the pair goes to the centroid of least `1 + |c|^2 - 2 |cos| |c|`).
//!
//! - Initialisation: k-means++ (Arthur & Vassilvitskii 2007) with the sign-invariant distance: the
//!   first centre is a uniformly drawn pair, each next one a pair drawn with probability
//!   proportional to its squared distance to the nearest centre so far (one draw per centre, not
//!   scikit-learn's greedy `2 + ln k` trials), from [`seeded_rng`]`(seed)`. `n_init` runs draw one
//!   after the other from the same generator; the run of lowest inertia wins (the first on ties).
//! - Iterations: assign every pair (nearest centroid, the lowest index on ties), then move every
//!   centroid to the mean of its members' sign-corrected vectors, until an assignment step changes
//!   no pair (label or sign) or after `max_iter` centroid updates (the pairs are then assigned
//!   once more to the final centroids).
//! - Empty clusters (scikit-learn's `_relocate_empty_clusters_dense`): after an assignment step,
//!   each empty cluster, in index order, takes one of the pairs farthest from their own centroids
//!   (farthest first, ties by pair index; only pairs at a positive distance), which leaves its old
//!   cluster. The moved pair becomes the cluster's new centroid. A cluster still empty (more empty
//!   clusters than such pairs) keeps its centroid. (Distances that tie exactly, such as the two
//!   members of a two-member cluster, are ordered by their rounding.)
//!
//! # In the Gram space of the features
//!
//! The `P x d` differences are never formed. With the subset's rows `X` (`m x d`) and their Gram
//! matrix `G = X X^T` (`m x m`, `f64`, one `dgemm`), every difference is `u_ij = a_ij X^T (e_j -
//! e_i)` (`a_ij = 1`, or `1 / |x_j - x_i|` when normalised) and every centroid `c = X^T w` for a
//! weight vector `w` in `R^m` (the mean of the members' `+-a (e_j - e_i)`). Then, with
//! `g = G w`,
//!
//! ```text
//! |u_ij|^2    = a^2 (G_ii + G_jj - 2 G_ij)
//! u_ij . c    = a (g_j - g_i)
//! |c|^2       = w^T G w = w . g
//! |u_ij -+ c|^2 = |u_ij|^2 -+ 2 a (g_j - g_i) + |c|^2
//! ```
//!
//! so an assignment step is one `dgemm` `G W` (`m x m` times `m x k`) and then `O(k)` per pair.
//! `G W` is recomputed only for the centroids whose weights changed (`dgemm` gives a column the
//! same bits whichever other columns it is computed with), which in the late iterations is few.
//!
//! Cost, for `m` features of dimension `d`, `P = m (m - 1) / 2` pairs and `k` clusters:
//!
//! - `2 m^2 d` flops for `G`, once; nothing after it depends on `d`;
//! - per k-means run, `O(P k)` for k-means++ (one pass over the pairs per centre), then per
//!   iteration `2 m^2 k'` flops for `G W` (`k' <= k` the centroids that moved), about `4 P k` for
//!   the assignment (the kernel below) and `O(P + m k)` for the means;
//! - the scoring, `O(P + k Q^2)` with `Q = max_quad_members` (plus sorting each cluster's members).
//!
//! Memory: `G` (`8 m^2` bytes), `W` and `G W` (`8 m k` bytes each, old and new during an update),
//! and per pair 4 bytes for the assignment (label and sign; twice when `n_init > 1`, to keep the
//! best run), 8 for `a_ij` in normalised mode, 4 for the k-means++ distances (during the seeding)
//! and 4 for the member lists (during the scoring): never `P x d` nor `P x k`. At `m = 2000`,
//! `k = 500`, about 0.1 GB.
//!
//! Threads ([`crate::compute::par`]): the pairs are cut into blocks of whole rows `i` (a partition
//! fixed by `m` alone), the rows of `W` and `G W` into panels, and the scoring into clusters; every
//! pair's label, every weight, every panel is computed by the same code whichever thread runs it,
//! and the per-block partial counts and inertias are added in block order, so the result does not
//! depend on the thread count. The assignment kernel is compiled a second time with AVX2 (no FMA:
//! the same roundings) and chosen at run time on x86-64.
//!
//! # Scoring the clusters
//!
//! Each member pair is oriented by its sign (`[a, b]` with `b - a` along the centroid). Two members
//! with four distinct features form a quad, scored as [`super::quads`] scores the quads of a
//! word-pair task, from `G`: relative error `|u1 - u2| / ((|u1| + |u2|) / 2)` and cosine
//! `u1 . u2 / (|u1| |u2|)` of the raw oriented edges, with `u1 . u2 = G_bd - G_bc - G_ad + G_ac`.
//! A cluster of more than `max_quad_members` members is scored on the `max_quad_members` members
//! nearest its centroid (ties by pair index): at most `Q (Q - 1) / 2` quads per cluster. Its score
//! is the median relative error (parallelogram mode) or the median of `1 - cosine` (normalised,
//! trapezoid mode); medians of an even count are the mean of the two middle values (numpy's). A
//! cluster with at least one quad is reported; the `top` best are returned (ties by cluster
//! index). The reported quads' numbers are recomputed from the decoder rows (the Gram route loses
//! about `sqrt(eps) |x|` absolute in `|u1 - u2|`, which matters only near an exact parallelogram).
//!
//! Each reported cluster is drawn from its listed pairs: the best quad's two pairs first, then the
//! members nearest the centroid, up to 12; their distinct features are placed on the first two
//! principal axes of their decoder rows (PCA through the small centred Gram matrix of those rows,
//! each axis signed so that its largest-magnitude loading is positive, scikit-learn's
//! `svd_flip(u_based_decision=False)` convention).
//!
//! Pairs of features that are identical up to rounding (`|x_j - x_i|^2 <= 1e-11 (|x_i|^2 +
//! |x_j|^2)`) have no direction: they are left out of the clustering in both modes and counted in
//! [`CrystalSearch::skipped_pairs`].

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::eigvec::{largest_entry_sign, symmetric_top_eigenpairs};
use super::stats::seeded_rng;
use super::GeometryError;
use crate::compute::par;

/// Most features one search accepts: `P = m (m - 1) / 2` pairs at up to 20 bytes each (8192
/// features are 33.5 million pairs, about 0.7 GB).
pub const MAX_FEATURES: usize = 8192;

/// Most members scored per cluster: `Q (Q - 1) / 2` quads, 2 million at 2000 (32 MB of scores
/// per cluster being scored).
pub const MAX_QUAD_MEMBERS: usize = 2000;

/// A pair whose squared edge is at most this fraction of `|x_i|^2 + |x_j|^2` has zero length: the
/// two features agree to about 3e-6 relative, the level of `f32` rounding, well above the Gram
/// matrix's own rounding (about `d eps`, 3e-13 at `d = 2304`).
const ZERO_EDGE: f64 = 1e-11;

/// Pairs per work item of the pair loops (whole rows; the last row of a block may overrun).
const PAIRS_PER_BLOCK: usize = 8192;

/// Rows of `G` per `dgemm` panel, and rows of `W` per item of the mean step.
const PANEL_ROWS: usize = 64;

/// Member pairs listed per reported cluster.
const LISTED_PAIRS: usize = 12;

/// Best quads listed per reported cluster.
const LISTED_QUADS: usize = 5;

/// Assignment word of a pair left out (zero edge). Real labels stay below `2^31 - 1`.
const SKIPPED: u32 = u32::MAX;

/// Assignment bit set when the pair enters its centroid negated (`-u` is the nearer).
const NEGATIVE: u32 = 1 << 31;

/// k-means++ centres between progress reports (and cancellation checks).
const INIT_REPORT_EVERY: usize = 16;

/// Share of the progress bar before the k-means runs (the Gram matrix) and after (scoring).
const GRAM_SHARE: f64 = 0.02;
const SCORE_SHARE: f64 = 0.05;

/// Options of [`crystal_search`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrystalSearchParams {
    /// Number of k-means clusters of the pairwise differences (1 to the number of pairs).
    pub k: usize,
    /// Cluster the unit differences `u / |u|` (trapezoids) instead of the raw ones
    /// (parallelograms); also ranks the clusters by cosine instead of relative error.
    pub normalised: bool,
    /// k-means runs from fresh k-means++ seeds; the lowest inertia wins.
    pub n_init: usize,
    /// Centroid updates per run at most.
    pub max_iter: usize,
    /// Seed of the k-means++ draws ([`seeded_rng`]).
    pub seed: u64,
    /// Clusters reported.
    pub top: usize,
    /// Members per cluster whose quads are scored (the nearest to the centroid), 2 to
    /// [`MAX_QUAD_MEMBERS`].
    pub max_quad_members: usize,
}

impl Default for CrystalSearchParams {
    fn default() -> Self {
        CrystalSearchParams {
            k: 500,
            normalised: false,
            n_init: 3,
            max_iter: 50,
            seed: 0,
            top: 20,
            max_quad_members: 200,
        }
    }
}

/// One quad of a cluster: features `[a, b, c, d]` (indices into the whole decoder) with edges
/// `u1 = x_b - x_a` and `u2 = x_d - x_c`, both along the cluster's centroid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CrystalQuad {
    pub features: [u32; 4],
    /// `|u1 - u2| / ((|u1| + |u2|) / 2)`: 0 for a parallelogram.
    pub relative_error: f64,
    /// `u1 . u2 / (|u1| |u2|)`: 1 for a trapezoid.
    pub cosine: f64,
}

/// One reported cluster of difference vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrystalCluster {
    /// Its k-means label, `0..k`.
    pub cluster: usize,
    /// Member pairs.
    pub size: usize,
    /// `|c|` of its centroid in the clustering space (raw or unit differences): the typical edge
    /// length (raw), or how aligned the members are (normalised; 1 when all are parallel).
    pub centroid_norm: f64,
    /// Listed member pairs `[a, b]` (decoder indices, `x_b - x_a` along the centroid): the best
    /// quad's two pairs, then the members nearest the centroid, 12 at most.
    pub pairs: Vec<[u32; 2]>,
    /// Quads scored (two scored members with four distinct features).
    pub quads_scored: u64,
    pub median_relative_error: f64,
    pub median_cosine: f64,
    /// The best quads (lowest relative error, or highest cosine when normalised), 5 at most.
    pub quads: Vec<CrystalQuad>,
    /// The distinct features of `pairs` (decoder indices), in order of appearance.
    pub layout_features: Vec<u32>,
    /// Their coordinates on the first two principal axes of their decoder rows.
    pub layout: Vec<[f64; 2]>,
}

/// Result of [`crystal_search`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrystalSearch {
    /// Features searched.
    pub m: usize,
    /// Pairs formed, `m (m - 1) / 2`.
    pub pairs: usize,
    /// Pairs left out because their two features are identical (zero edge).
    pub skipped_pairs: usize,
    pub k: usize,
    pub normalised: bool,
    /// Sum over the clustered pairs of the squared sign-invariant distance to their centroid (the
    /// best run's).
    pub inertia: f64,
    /// Centroid updates of the best run.
    pub iterations: usize,
    /// Whether the best run ended because no assignment changed (rather than at `max_iter`).
    pub converged: bool,
    /// True when `cancelled()` stopped the search: the clusters are those of the best finished run
    /// (empty if none finished).
    pub stopped_early: bool,
    /// The best clusters, best first.
    pub clusters: Vec<CrystalCluster>,
}

/// Crystal search among the features `subset` of the decoder `rows` (`n x d` row-major, one row
/// per feature): sign-invariant k-means of all pairwise differences of those rows in the Gram
/// space of the features, then the clusters whose pairs come closest to parallelograms (or, when
/// `params.normalised`, trapezoids). See the module documentation for the method, the cost and
/// the conventions.
///
/// `progress(fraction)` rises to 1. `cancelled()` is polled between k-means iterations (and every
/// few k-means++ centres); when it answers `true` the search stops with `stopped_early = true`,
/// reporting the best finished run, if any. The result does not depend on the thread count.
///
/// Errors: `InvalidParameter` for a shape that is not `n x d`, a feature out of range or listed
/// twice, more than [`MAX_FEATURES`] features, `k` outside `1..=` the number of clustered pairs,
/// `n_init` or `max_iter` zero, `max_quad_members` outside `2..=`[`MAX_QUAD_MEMBERS`];
/// `TooFewPoints` for fewer than 4 features; `NonFinite` for a NaN or infinity in a chosen row
/// (its decoder row and column); `DegenerateCloud` when all the chosen features are identical.
pub fn crystal_search(
    rows: &[f32],
    d: usize,
    subset: &[u32],
    params: &CrystalSearchParams,
    progress: &mut dyn FnMut(f64),
    cancelled: &dyn Fn() -> bool,
) -> Result<CrystalSearch, GeometryError> {
    validate(rows, d, subset, params)?;
    let m = subset.len();
    let x = gather_rows(rows, d, subset)?;
    let gram = gram_matrix(&x, m, d);
    drop(x);
    progress(GRAM_SHARE);
    let pairs = Pairs::new(&gram, m, params.normalised);
    check_k(params.k, m, &pairs)?;

    let (best, stopped_early) = best_of_runs(&pairs, params, progress, cancelled);
    let mut result = CrystalSearch {
        m,
        pairs: pairs.total,
        skipped_pairs: pairs.zero,
        k: params.k,
        normalised: params.normalised,
        inertia: 0.0,
        iterations: 0,
        converged: false,
        stopped_early,
        clusters: Vec::new(),
    };
    if let Some(run) = best {
        result.inertia = run.inertia;
        result.iterations = run.iterations;
        result.converged = run.converged;
        result.clusters = report_clusters(rows, d, subset, &pairs, &run, params);
    }
    progress(1.0);
    Ok(result)
}

// ---------------------------------------------------------------------------------------------
// Input checks and the Gram matrix.

fn invalid(name: &str, reason: String) -> GeometryError {
    GeometryError::InvalidParameter {
        name: name.into(),
        reason,
    }
}

/// Every check that needs no arithmetic on the rows.
fn validate(
    rows: &[f32],
    d: usize,
    subset: &[u32],
    params: &CrystalSearchParams,
) -> Result<(), GeometryError> {
    if d == 0 || !rows.len().is_multiple_of(d) {
        return Err(invalid(
            "decoder",
            format!("{} values do not make whole rows of {d} columns", rows.len()),
        ));
    }
    let n = rows.len() / d;
    let m = subset.len();
    if m < 4 {
        return Err(GeometryError::TooFewPoints {
            n: m,
            needed: 4,
            purpose: "a crystal search (a quad is two pairs of four distinct features)".into(),
        });
    }
    if m > MAX_FEATURES {
        return Err(invalid(
            "features",
            format!(
                "{m} features make {} pairs; at most {MAX_FEATURES} features are supported (the memory \
                 grows with the number of pairs): choose a smaller subset",
                pair_count(m)
            ),
        ));
    }
    let mut seen: Vec<(u32, usize)> = subset.iter().copied().zip(0..).collect();
    seen.sort_unstable();
    if let Some(&(f, _)) = seen.iter().find(|&&(f, _)| f as usize >= n) {
        let has = match n {
            0 => "no features (rows)".to_string(),
            _ => format!("{n} features (rows 0 to {})", n - 1),
        };
        return Err(invalid(
            "features",
            format!("feature {f} is out of range: the decoder has {has}"),
        ));
    }
    if let Some(w) = seen.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(invalid(
            "features",
            format!(
                "feature {} is listed twice (positions {} and {}); list each feature once",
                w[0].0, w[0].1, w[1].1
            ),
        ));
    }
    if params.k == 0 {
        return Err(invalid("k", "the number of clusters must be at least 1".into()));
    }
    if params.n_init == 0 {
        return Err(invalid("n_init", "at least one k-means run is needed".into()));
    }
    if params.max_iter == 0 {
        return Err(invalid("max_iter", "must be at least 1".into()));
    }
    if !(2..=MAX_QUAD_MEMBERS).contains(&params.max_quad_members) {
        return Err(invalid(
            "max_quad_members",
            format!(
                "{} members per cluster: a quad needs two, and more than {MAX_QUAD_MEMBERS} would make \
                 millions of quads per cluster; choose 2 to {MAX_QUAD_MEMBERS}",
                params.max_quad_members
            ),
        ));
    }
    Ok(())
}

/// `k` against the pairs that can be clustered.
fn check_k(k: usize, m: usize, pairs: &Pairs) -> Result<(), GeometryError> {
    let active = pairs.total - pairs.zero;
    if active == 0 {
        return Err(GeometryError::DegenerateCloud {
            reason: format!("the {m} chosen features are all identical: their differences are zero"),
        });
    }
    if k > active {
        let why = if pairs.zero > 0 {
            format!(
                " ({} of the {} pairs join identical features and are left out)",
                pairs.zero, pairs.total
            )
        } else {
            String::new()
        };
        return Err(invalid(
            "k",
            format!("{k} clusters of {active} pairs{why}: choose k at most {active}, or more features"),
        ));
    }
    Ok(())
}

/// `m (m - 1) / 2`.
fn pair_count(m: usize) -> usize {
    m * m.saturating_sub(1) / 2
}

/// The chosen rows in `f64`, `m x d`; `NonFinite` names the decoder row and column.
fn gather_rows(rows: &[f32], d: usize, subset: &[u32]) -> Result<Vec<f64>, GeometryError> {
    let mut x = Vec::with_capacity(subset.len() * d);
    for &f in subset {
        let row = decoder_row(rows, d, f);
        if let Some(col) = row.iter().position(|v| !v.is_finite()) {
            return Err(GeometryError::NonFinite { row: f as usize, col });
        }
        x.extend(row.iter().map(|&v| v as f64));
    }
    Ok(x)
}

fn decoder_row(rows: &[f32], d: usize, f: u32) -> &[f32] {
    &rows[f as usize * d..(f as usize + 1) * d]
}

/// `G = X X^T` (`m x m`), in panels of rows shared among threads, then made exactly symmetric
/// (the upper triangle copied down).
fn gram_matrix(x: &[f64], m: usize, d: usize) -> Vec<f64> {
    let mut g = vec![0f64; m * m];
    let mut panels: Vec<(usize, &mut [f64])> = g
        .chunks_mut(PANEL_ROWS * m)
        .enumerate()
        .map(|(b, s)| (b * PANEL_ROWS, s))
        .collect();
    par::for_each_mut(&mut panels, |_, (r0, dst)| {
        let rows = dst.len() / m;
        // dst (rows x m) = x[r0..r0 + rows] (rows x d) * x^T (d x m).
        // SAFETY: A reads x[(r0 + r) * d + c] (r < rows, r0 + rows <= m, c < d), B(c, j) =
        // x[j * d + c] (j < m), C writes dst[r * m + j]: all in bounds; dst is not aliased.
        unsafe {
            crate::compute::gemm::dgemm(
                rows,
                d,
                m,
                1.0,
                x.as_ptr().add(*r0 * d),
                d as isize,
                1,
                x.as_ptr(),
                1,
                d as isize,
                0.0,
                dst.as_mut_ptr(),
                m as isize,
                1,
            );
        }
    });
    for i in 0..m {
        for j in 0..i {
            g[i * m + j] = g[j * m + i];
        }
    }
    g
}

/// `out = G W` (`m x k`), in panels of rows shared among threads (one `dgemm` each).
fn gram_times(gram: &[f64], m: usize, w: &[f64], k: usize) -> Vec<f64> {
    let mut out = vec![0f64; m * k];
    let mut panels: Vec<(usize, &mut [f64])> = out
        .chunks_mut(PANEL_ROWS * k)
        .enumerate()
        .map(|(b, s)| (b * PANEL_ROWS, s))
        .collect();
    par::for_each_mut(&mut panels, |_, (r0, dst)| {
        let rows = dst.len() / k;
        // SAFETY: A reads gram[(r0 + r) * m + c] (r < rows, r0 + rows <= m, c < m), B reads
        // w[c * k + j] (c < m, j < k), C writes dst[r * k + j]: all in bounds; no aliasing.
        unsafe {
            crate::compute::gemm::dgemm(
                rows,
                m,
                k,
                1.0,
                gram.as_ptr().add(*r0 * m),
                m as isize,
                1,
                w.as_ptr(),
                k as isize,
                1,
                0.0,
                dst.as_mut_ptr(),
                k as isize,
                1,
            );
        }
    });
    out
}

// ---------------------------------------------------------------------------------------------
// The pairs.

/// Index of pair `(i, i + 1)`: pairs are numbered row by row, `(0, 1), (0, 2), ..., (1, 2), ...`.
fn row_start(m: usize, i: usize) -> usize {
    i * (2 * m - i - 1) / 2
}

/// Index of pair `(i, j)`, `i < j`.
fn pair_index(m: usize, i: usize, j: usize) -> usize {
    row_start(m, i) + (j - i - 1)
}

/// Whole rows `r0..r1` of pairs, pair indices `start..start + len`.
#[derive(Debug, Clone, Copy)]
struct PairBlock {
    r0: usize,
    r1: usize,
    start: usize,
    len: usize,
}

/// Blocks of at least [`PAIRS_PER_BLOCK`] pairs (the last may be smaller): fixed by `m` alone.
fn pair_blocks(m: usize) -> Vec<PairBlock> {
    let mut blocks = Vec::new();
    let (mut r0, mut start, mut len) = (0, 0, 0);
    for i in 0..m {
        len += m - 1 - i;
        if len >= PAIRS_PER_BLOCK || (i + 1 == m && len > 0) {
            blocks.push(PairBlock {
                r0,
                r1: i + 1,
                start,
                len,
            });
            start += len;
            len = 0;
            r0 = i + 1;
        }
    }
    blocks
}

/// Cuts `s` into one slice per block.
fn split_by_blocks<'s, T>(mut s: &'s mut [T], blocks: &[PairBlock]) -> Vec<&'s mut [T]> {
    let mut out = Vec::with_capacity(blocks.len());
    for b in blocks {
        let (head, tail) = std::mem::take(&mut s).split_at_mut(b.len);
        out.push(head);
        s = tail;
    }
    out
}

/// The pairs of the subset in the Gram space.
struct Pairs<'g> {
    m: usize,
    gram: &'g [f64],
    diag: Vec<f64>,
    normalised: bool,
    /// Normalised mode: `a_p = 1 / |x_j - x_i|` per pair (0 for a zero edge); else empty.
    inv_len: Vec<f64>,
    blocks: Vec<PairBlock>,
    total: usize,
    /// Zero edges (left out).
    zero: usize,
}

impl<'g> Pairs<'g> {
    fn new(gram: &'g [f64], m: usize, normalised: bool) -> Pairs<'g> {
        let diag: Vec<f64> = (0..m).map(|i| gram[i * m + i]).collect();
        let mut pairs = Pairs {
            m,
            gram,
            diag,
            normalised,
            inv_len: Vec::new(),
            blocks: pair_blocks(m),
            total: pair_count(m),
            zero: 0,
        };
        if normalised {
            pairs.inv_len = Vec::with_capacity(pairs.total);
        }
        let mut zero = 0;
        for i in 0..m {
            for j in i + 1..m {
                let sq = pairs.sq_len(i, j);
                let is_zero = pairs.is_zero(i, j, sq);
                zero += is_zero as usize;
                if normalised {
                    pairs.inv_len.push(if is_zero { 0.0 } else { 1.0 / sq.sqrt() });
                }
            }
        }
        pairs.zero = zero;
        pairs
    }

    /// `|x_j - x_i|^2 = G_ii + G_jj - 2 G_ij`.
    #[inline(always)]
    fn sq_len(&self, i: usize, j: usize) -> f64 {
        self.diag[i] + self.diag[j] - 2.0 * self.gram[i * self.m + j]
    }

    #[inline(always)]
    fn is_zero(&self, i: usize, j: usize, sq: f64) -> bool {
        sq <= ZERO_EDGE * (self.diag[i] + self.diag[j])
    }

    /// `a_p`: 1, or `1 / |x_j - x_i|` when normalised.
    #[inline(always)]
    fn scale(&self, p: usize) -> f64 {
        if self.normalised {
            self.inv_len[p]
        } else {
            1.0
        }
    }

    /// `|u_p|^2 = a_p^2 |x_j - x_i|^2` in the clustering space.
    #[inline(always)]
    fn norm2(&self, p: usize, i: usize, j: usize) -> f64 {
        let a = self.scale(p);
        a * a * self.sq_len(i, j)
    }

    /// Fresh assignment words: [`SKIPPED`] for zero edges, 0 otherwise.
    fn fill_initial(&self, assign: &mut [u32]) {
        let mut p = 0;
        for i in 0..self.m {
            for j in i + 1..self.m {
                assign[p] = if self.is_zero(i, j, self.sq_len(i, j)) {
                    SKIPPED
                } else {
                    0
                };
                p += 1;
            }
        }
    }

    /// The `r`-th pair (0-based) that is not a zero edge, as `(p, i, j)`.
    fn nth_active(&self, r: usize) -> (usize, usize, usize) {
        let mut seen = 0;
        let mut p = 0;
        for i in 0..self.m {
            for j in i + 1..self.m {
                if !self.is_zero(i, j, self.sq_len(i, j)) {
                    if seen == r {
                        return (p, i, j);
                    }
                    seen += 1;
                }
                p += 1;
            }
        }
        unreachable!("r < the number of active pairs")
    }

    /// `(i, j)` of pair `p`.
    fn pair_of(&self, p: usize) -> (usize, usize) {
        // The last row i with row_start(i) <= p.
        let (mut lo, mut hi) = (0, self.m - 1);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if row_start(self.m, mid) <= p {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (lo, lo + 1 + p - row_start(self.m, lo))
    }
}

// ---------------------------------------------------------------------------------------------
// Centroids as weight vectors.

/// `k` centroids `c = X^T w`: `W` and `G W` (`m x k` row-major) and `|c|^2 / 2`.
#[derive(Clone)]
struct Centroids {
    k: usize,
    w: Vec<f64>,
    gw: Vec<f64>,
    half_norm2: Vec<f64>,
}

impl Centroids {
    fn from_weights(pairs: &Pairs, w: Vec<f64>, k: usize) -> Centroids {
        let gw = gram_times(pairs.gram, pairs.m, &w, k);
        Centroids::with_products(w, gw, k)
    }

    /// New weights `w`, recomputing `G W` only for the columns that differ from `old`'s (late
    /// iterations change few clusters). `dgemm` gives each column the same bits whichever other
    /// columns it is computed with, so this equals [`Centroids::from_weights`].
    fn updated(pairs: &Pairs, w: Vec<f64>, old: &Centroids) -> Centroids {
        let (m, k) = (pairs.m, old.k);
        let changed: Vec<usize> = (0..k)
            .filter(|&c| (0..m).any(|f| w[f * k + c].to_bits() != old.w[f * k + c].to_bits()))
            .collect();
        if changed.len() == k {
            return Centroids::from_weights(pairs, w, k);
        }
        let mut gw = old.gw.clone();
        if !changed.is_empty() {
            let kc = changed.len();
            let wc: Vec<f64> = (0..m)
                .flat_map(|f| changed.iter().map(move |&c| (f, c)))
                .map(|(f, c)| w[f * k + c])
                .collect();
            let gwc = gram_times(pairs.gram, m, &wc, kc);
            for f in 0..m {
                for (q, &c) in changed.iter().enumerate() {
                    gw[f * k + c] = gwc[f * kc + q];
                }
            }
        }
        Centroids::with_products(w, gw, k)
    }

    /// `|c|^2 / 2 = w . (G w) / 2` per column (clamped at 0).
    fn with_products(w: Vec<f64>, gw: Vec<f64>, k: usize) -> Centroids {
        let mut norm2 = vec![0f64; k];
        for (wr, gr) in w.chunks_exact(k).zip(gw.chunks_exact(k)) {
            for ((s, a), b) in norm2.iter_mut().zip(wr).zip(gr) {
                *s += a * b;
            }
        }
        let half_norm2 = norm2.iter().map(|v| 0.5 * v.max(0.0)).collect();
        Centroids { k, w, gw, half_norm2 }
    }

    /// Centroid `c` = the difference of pair `centres[c]`.
    fn from_pairs(pairs: &Pairs, centres: &[usize], k: usize) -> Centroids {
        let mut w = vec![0f64; pairs.m * k];
        for (c, &p) in centres.iter().enumerate() {
            let (i, j) = pairs.pair_of(p);
            let a = pairs.scale(p);
            w[j * k + c] += a;
            w[i * k + c] -= a;
        }
        Centroids::from_weights(pairs, w, k)
    }

    /// `|u_p - s c|^2 = |u_p|^2 - 2 s a (g_j - g_i) + |c|^2`, `s = -1` when `negative`.
    fn distance(&self, pairs: &Pairs, p: usize, i: usize, j: usize, c: usize, negative: bool) -> f64 {
        let t = self.gw[j * self.k + c] - self.gw[i * self.k + c];
        let st = if negative { -t } else { t };
        (pairs.norm2(p, i, j) - 2.0 * pairs.scale(p) * st + 2.0 * self.half_norm2[c]).max(0.0)
    }
}

// ---------------------------------------------------------------------------------------------
// k-means++.

/// Sign-invariant k-means++ seeding: `k` pair indices (see the module documentation).
/// `report(fraction)` is called every few centres and returns whether to go on (`None` if not).
fn kmeans_pp(
    pairs: &Pairs,
    k: usize,
    rng: &mut ChaCha8Rng,
    report: &mut dyn FnMut(f64) -> bool,
) -> Option<Vec<usize>> {
    let active = pairs.total - pairs.zero;
    let mut d2 = vec![f32::INFINITY; pairs.total];
    let (first, _, _) = pairs.nth_active(rng.random_range(0..active));
    let mut centres = Vec::with_capacity(k);
    centres.push(first);
    let mut sums = update_nearest(pairs, &mut d2, first);
    for t in 1..k {
        let potential: f64 = sums.iter().sum();
        let next = if potential > 0.0 {
            let r = rng.random::<f64>() * potential;
            sample(&pairs.blocks, &d2, &sums, r)
        } else {
            // Every pair coincides with a centre already: any active pair will do.
            pairs.nth_active(rng.random_range(0..active)).0
        };
        centres.push(next);
        sums = update_nearest(pairs, &mut d2, next);
        if t % INIT_REPORT_EVERY == 0 && !report(t as f64 / k as f64) {
            return None;
        }
    }
    Some(centres)
}

/// `d2[p] = min(d2[p], |u_p -+ u_q|^2)` for the new centre pair `q` (0 for zero edges); returns
/// each block's sum of `d2`, in `f64`.
fn update_nearest(pairs: &Pairs, d2: &mut [f32], q: usize) -> Vec<f64> {
    let m = pairs.m;
    let (h, l) = pairs.pair_of(q);
    let a = pairs.scale(q);
    // g = G w_q with w_q = a (e_l - e_h); |u_q|^2.
    let g: Vec<f64> = (0..m)
        .map(|x| a * (pairs.gram[l * m + x] - pairs.gram[h * m + x]))
        .collect();
    let cq = pairs.norm2(q, h, l);
    let mut items: Vec<(PairBlock, &mut [f32], f64)> = pairs
        .blocks
        .iter()
        .zip(split_by_blocks(d2, &pairs.blocks))
        .map(|(&b, s)| (b, s, 0.0))
        .collect();
    par::for_each_mut(&mut items, |_, (block, d2, sum)| {
        *sum = nearest_block(pairs, &g, cq, block, d2);
    });
    items.iter().map(|it| it.2).collect()
}

/// [`update_nearest`] for the pairs of one block; returns their new sum.
fn nearest_block(pairs: &Pairs, g: &[f64], cq: f64, block: &PairBlock, d2: &mut [f32]) -> f64 {
    let m = pairs.m;
    let mut sums = [0f64; 4];
    let mut p = block.start;
    for i in block.r0..block.r1 {
        let len = m - 1 - i;
        let row = RowView {
            di: pairs.diag[i],
            gi: g[i],
            gram: &pairs.gram[i * m + i + 1..(i + 1) * m],
            dj: &pairs.diag[i + 1..],
            gj: &g[i + 1..],
        };
        let out = &mut d2[p - block.start..p - block.start + len];
        if pairs.normalised {
            let inv = &pairs.inv_len[p..p + len];
            row.nearest(out, cq, |o| inv[o], &mut sums);
        } else {
            row.nearest(out, cq, |_| 1.0, &mut sums);
        }
        p += len;
    }
    (sums[0] + sums[1]) + (sums[2] + sums[3])
}

/// Row `i` of the pairs `(i, j > i)`: `G_ii`, `g_i`, and from `j = i + 1` on, `G_ij`, `G_jj`, `g_j`.
struct RowView<'a> {
    di: f64,
    gi: f64,
    gram: &'a [f64],
    dj: &'a [f64],
    gj: &'a [f64],
}

impl RowView<'_> {
    /// `out[o] = min(out[o], |u -+ c|^2)` (0 for zero edges) for the centre with `g = G w` and
    /// `|c|^2 = cq`; adds the new values into four interleaved sums (four independent chains).
    #[inline(always)]
    fn nearest(&self, out: &mut [f32], cq: f64, scale: impl Fn(usize) -> f64, sums: &mut [f64; 4]) {
        let (dj, gram, gj) = (
            &self.dj[..out.len()],
            &self.gram[..out.len()],
            &self.gj[..out.len()],
        );
        for (o, slot) in out.iter_mut().enumerate() {
            // As `Pairs::sq_len`, `Pairs::is_zero` and `Pairs::norm2`.
            let sq = self.di + dj[o] - 2.0 * gram[o];
            let a = scale(o);
            let dist = (a * a * sq + cq - 2.0 * a * (gj[o] - self.gi).abs()).max(0.0) as f32;
            let zero = sq <= ZERO_EDGE * (self.di + dj[o]);
            let v = if zero { 0.0 } else { slot.min(dist) };
            *slot = v;
            sums[o % 4] += v as f64;
        }
    }
}

/// The pair where the running sum of `d2` first exceeds `r`: the block from the block sums, then
/// pair by pair within it (whose sum may differ from the block's in the last bits: then its last
/// pair of positive weight).
fn sample(blocks: &[PairBlock], d2: &[f32], sums: &[f64], r: f64) -> usize {
    let mut acc = 0.0;
    for (b, block) in blocks.iter().enumerate() {
        if sums[b] > 0.0 && acc + sums[b] > r {
            let mut inner = acc;
            let mut last = None;
            for (o, &v) in d2[block.start..block.start + block.len].iter().enumerate() {
                if v > 0.0 {
                    inner += v as f64;
                    last = Some(o);
                    if inner > r {
                        return block.start + o;
                    }
                }
            }
            // Rounding: the block's sum said r falls inside it.
            if let Some(o) = last {
                return block.start + o;
            }
        }
        acc += sums[b];
    }
    // r at the very end (rounding): the last pair of positive weight.
    d2.iter().rposition(|&v| v > 0.0).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Lloyd iterations.

/// One finished k-means run.
struct Run {
    assign: Vec<u32>,
    centroids: Centroids,
    inertia: f64,
    iterations: usize,
    converged: bool,
}

/// The `n_init` runs; the best one (lowest inertia), and whether `cancelled()` stopped them.
fn best_of_runs(
    pairs: &Pairs,
    params: &CrystalSearchParams,
    progress: &mut dyn FnMut(f64),
    cancelled: &dyn Fn() -> bool,
) -> (Option<Run>, bool) {
    let mut rng = seeded_rng(params.seed);
    let mut best: Option<Run> = None;
    let mut spare: Option<Vec<u32>> = None;
    let span = 1.0 - GRAM_SHARE - SCORE_SHARE;
    let steps = (params.max_iter + 1) as f64;
    for run in 0..params.n_init {
        let at = |within: f64| GRAM_SHARE + span * (run as f64 + within / steps) / params.n_init as f64;
        let Some(centres) = kmeans_pp(pairs, params.k, &mut rng, &mut |f| {
            progress(at(f));
            !cancelled()
        }) else {
            return (best, true);
        };
        let buffer = spare.take().unwrap_or_else(|| vec![0u32; pairs.total]);
        let Some(r) = lloyd(pairs, params.k, &centres, params.max_iter, buffer, &mut |it| {
            progress(at(1.0 + it as f64));
            !cancelled()
        }) else {
            return (best, true);
        };
        match &best {
            Some(b) if r.inertia >= b.inertia => spare = Some(r.assign),
            _ => {
                spare = best.take().map(|b| b.assign);
                best = Some(r);
            }
        }
    }
    (best, false)
}

/// Lloyd's iterations from the centres `centres` (pair indices), in the buffer `assign`.
/// `report(iterations done)` returns whether to go on (`None` if not).
fn lloyd(
    pairs: &Pairs,
    k: usize,
    centres: &[usize],
    max_iter: usize,
    mut assign: Vec<u32>,
    report: &mut dyn FnMut(usize) -> bool,
) -> Option<Run> {
    pairs.fill_initial(&mut assign);
    let mut centroids = Centroids::from_pairs(pairs, centres, k);
    for it in 0..max_iter {
        let mut step = assign_step(pairs, &centroids, &mut assign);
        if it > 0 && step.changed == 0 {
            return Some(Run {
                assign,
                centroids,
                inertia: step.inertia,
                iterations: it,
                converged: true,
            });
        }
        relocate_empty(pairs, &centroids, &mut assign, &mut step.counts);
        centroids = mean_step(pairs, &assign, &step.counts, &centroids);
        if !report(it + 1) {
            return None;
        }
    }
    let step = assign_step(pairs, &centroids, &mut assign);
    Some(Run {
        assign,
        centroids,
        inertia: step.inertia,
        iterations: max_iter,
        converged: step.changed == 0,
    })
}

/// What an assignment step found.
struct Assigned {
    counts: Vec<u64>,
    inertia: f64,
    changed: usize,
}

/// One block of pairs of an assignment step, with its partial results.
struct AssignItem<'s> {
    block: PairBlock,
    assign: &'s mut [u32],
    counts: Vec<u64>,
    inertia: f64,
    changed: usize,
}

/// Assigns every pair to its nearest centroid (sign-invariant), blocks of pairs in parallel; the
/// blocks' counts, inertias and changes are added in block order.
fn assign_step(pairs: &Pairs, centroids: &Centroids, assign: &mut [u32]) -> Assigned {
    let k = centroids.k;
    let mut items: Vec<AssignItem> = pairs
        .blocks
        .iter()
        .zip(split_by_blocks(assign, &pairs.blocks))
        .map(|(&block, assign)| AssignItem {
            block,
            assign,
            counts: vec![0; k],
            inertia: 0.0,
            changed: 0,
        })
        .collect();
    par::for_each_mut(&mut items, |_, item| assign_block(pairs, centroids, item));
    let mut total = Assigned {
        counts: vec![0; k],
        inertia: 0.0,
        changed: 0,
    };
    for item in &items {
        total
            .counts
            .iter_mut()
            .zip(&item.counts)
            .for_each(|(a, b)| *a += b);
        total.inertia += item.inertia;
        total.changed += item.changed;
    }
    total
}

/// [`assign_block_body`] with the AVX2 kernel [`x86::nearest`] where the CPU has AVX2 (no FMA: the
/// same roundings, so the same labels), else with the portable [`nearest`].
fn assign_block(pairs: &Pairs, centroids: &Centroids, item: &mut AssignItem) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            #[target_feature(enable = "avx2")]
            unsafe fn wide(pairs: &Pairs, centroids: &Centroids, item: &mut AssignItem) {
                assign_block_body::<true>(pairs, centroids, item)
            }
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { wide(pairs, centroids, item) };
        }
    }
    assign_block_body::<false>(pairs, centroids, item)
}

/// The pairs of one block: new labels and signs, member counts, inertia, changes. `AVX2` only in
/// a copy compiled for AVX2.
#[inline(always)]
fn assign_block_body<const AVX2: bool>(pairs: &Pairs, centroids: &Centroids, item: &mut AssignItem) {
    let (m, k, block) = (pairs.m, centroids.k, item.block);
    let (gw, half) = (&centroids.gw, &centroids.half_norm2[..]);
    let mut p = block.start;
    for i in block.r0..block.r1 {
        let gi = &gw[i * k..(i + 1) * k];
        for j in i + 1..m {
            let slot = &mut item.assign[p - block.start];
            if *slot != SKIPPED {
                let a = pairs.scale(p);
                let gj = &gw[j * k..(j + 1) * k];
                let (c, best) = nearest_with::<AVX2>(gi, gj, half, a);
                let word = c as u32 | if gj[c] - gi[c] < 0.0 { NEGATIVE } else { 0 };
                item.changed += (word != *slot) as usize;
                *slot = word;
                item.counts[c] += 1;
                item.inertia += (pairs.norm2(p, i, j) - 2.0 * best).max(0.0);
            }
            p += 1;
        }
    }
}

#[inline(always)]
fn nearest_with<const AVX2: bool>(gi: &[f64], gj: &[f64], half: &[f64], a: f64) -> (usize, f64) {
    #[cfg(target_arch = "x86_64")]
    {
        if AVX2 {
            // SAFETY: `AVX2` is true only in the copy of the caller compiled with AVX2 enabled,
            // which runs only after the CPU was found to have it.
            return unsafe { x86::nearest(gi, gj, half, a) };
        }
    }
    nearest(gi, gj, half, a)
}

/// The centroid `c` of greatest `v_c = a |g_j[c] - g_i[c]| - |c|^2 / 2` (the first on ties), and
/// that value: the nearest centroid, since `min_s |u - s c|^2 = |u|^2 - 2 v_c`.
#[inline(always)]
fn nearest(gi: &[f64], gj: &[f64], half: &[f64], a: f64) -> (usize, f64) {
    const LANES: usize = 8;
    let k = half.len();
    let (gi, gj) = (&gi[..k], &gj[..k]);
    let mut best = [f64::NEG_INFINITY; LANES];
    let mut arg = [0usize; LANES];
    let body = k / LANES * LANES;
    let mut base = 0;
    while base < body {
        for l in 0..LANES {
            let c = base + l;
            let v = a * (gj[c] - gi[c]).abs() - half[c];
            if v > best[l] {
                best[l] = v;
                arg[l] = c;
            }
        }
        base += LANES;
    }
    let lanes = (0..LANES).map(|l| (arg[l], best[l]));
    let tail = (body..k).map(|c| (c, a * (gj[c] - gi[c]).abs() - half[c]));
    first_greatest(lanes.chain(tail))
}

/// The greatest value of candidates `(index, value)`, the lowest index on ties (0 if every value
/// is -inf or NaN, which finite input never gives).
#[inline(always)]
fn first_greatest(candidates: impl Iterator<Item = (usize, f64)>) -> (usize, f64) {
    let (mut bc, mut bv) = (usize::MAX, f64::NEG_INFINITY);
    for (c, v) in candidates {
        if v > bv || (v == bv && c < bc) {
            (bc, bv) = (c, v);
        }
    }
    (if bc == usize::MAX { 0 } else { bc }, bv)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// [`super::nearest`] in AVX2: the same values `a |g_j - g_i| - half` (multiply, then
    /// subtract: no FMA), two sets of four lanes each keeping its first maximum and its index, then
    /// [`super::first_greatest`]: the same answer to the last bit.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn nearest(gi: &[f64], gj: &[f64], half: &[f64], a: f64) -> (usize, f64) {
        let k = half.len();
        assert!(gi.len() >= k && gj.len() >= k);
        let body = k / 8 * 8;
        let (av, sign) = (_mm256_set1_pd(a), _mm256_set1_pd(-0.0));
        let mut best = [_mm256_set1_pd(f64::NEG_INFINITY); 2];
        let mut arg = [_mm256_setzero_pd(); 2];
        let mut idx = [
            _mm256_setr_pd(0.0, 1.0, 2.0, 3.0),
            _mm256_setr_pd(4.0, 5.0, 6.0, 7.0),
        ];
        let step = _mm256_set1_pd(8.0);
        let mut c = 0;
        while c < body {
            for h in 0..2 {
                let at = c + 4 * h;
                // SAFETY: at + 4 <= body <= k <= the slices' lengths.
                let (xj, xi, hv) = unsafe {
                    (
                        _mm256_loadu_pd(gj.as_ptr().add(at)),
                        _mm256_loadu_pd(gi.as_ptr().add(at)),
                        _mm256_loadu_pd(half.as_ptr().add(at)),
                    )
                };
                let v = _mm256_sub_pd(
                    _mm256_mul_pd(av, _mm256_andnot_pd(sign, _mm256_sub_pd(xj, xi))),
                    hv,
                );
                let greater = _mm256_cmp_pd::<_CMP_GT_OQ>(v, best[h]);
                best[h] = _mm256_blendv_pd(best[h], v, greater);
                arg[h] = _mm256_blendv_pd(arg[h], idx[h], greater);
                idx[h] = _mm256_add_pd(idx[h], step);
            }
            c += 8;
        }
        let (mut values, mut indices) = ([0f64; 8], [0f64; 8]);
        for h in 0..2 {
            // SAFETY: each store writes 4 values into an 8-value array at offset 0 or 4.
            unsafe {
                _mm256_storeu_pd(values.as_mut_ptr().add(4 * h), best[h]);
                _mm256_storeu_pd(indices.as_mut_ptr().add(4 * h), arg[h]);
            }
        }
        let lanes = (0..8).map(|l| (indices[l] as usize, values[l]));
        let tail = (body..k).map(|c| (c, a * (gj[c] - gi[c]).abs() - half[c]));
        super::first_greatest(lanes.chain(tail))
    }
}

/// A pair with its distance to its centroid, ordered by distance, then by *lower* pair index
/// (so that the greatest is the farthest, the first on ties).
#[derive(Clone, Copy)]
struct Far {
    dist: f64,
    p: usize,
}

impl PartialEq for Far {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Far {}
impl PartialOrd for Far {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Far {
    fn cmp(&self, other: &Self) -> Ordering {
        self.dist.total_cmp(&other.dist).then(other.p.cmp(&self.p))
    }
}

/// Gives each empty cluster one of the pairs farthest from their centroids (see the module
/// documentation); updates `assign` and `counts`.
fn relocate_empty(pairs: &Pairs, centroids: &Centroids, assign: &mut [u32], counts: &mut [u64]) {
    let empty: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] == 0).collect();
    if empty.is_empty() {
        return;
    }
    // The `empty.len()` farthest pairs at a positive distance (a min-heap of the best so far).
    let mut heap: BinaryHeap<Reverse<Far>> = BinaryHeap::with_capacity(empty.len() + 1);
    let mut p = 0;
    for i in 0..pairs.m {
        for j in i + 1..pairs.m {
            let word = assign[p];
            if word != SKIPPED {
                let dist =
                    centroids.distance(pairs, p, i, j, (word & !NEGATIVE) as usize, word & NEGATIVE != 0);
                if dist > 0.0 {
                    heap.push(Reverse(Far { dist, p }));
                    if heap.len() > empty.len() {
                        heap.pop();
                    }
                }
            }
            p += 1;
        }
    }
    let mut far: Vec<Far> = heap.into_iter().map(|r| r.0).collect();
    far.sort_unstable_by(|a, b| b.cmp(a));
    for (&c, f) in empty.iter().zip(&far) {
        let old = (assign[f.p] & !NEGATIVE) as usize;
        counts[old] -= 1;
        counts[c] += 1;
        assign[f.p] = c as u32;
    }
}

/// New centroids: each the mean of its members' sign-corrected `a (e_j - e_i)` (an empty cluster
/// keeps its old weights). Rows of `W` in parallel panels; each row sums its pairs in a fixed
/// order (pairs `(h, f)`, `h` ascending, then `(f, j)`, `j` ascending).
fn mean_step(pairs: &Pairs, assign: &[u32], counts: &[u64], old: &Centroids) -> Centroids {
    let (m, k) = (pairs.m, old.k);
    let mut w = vec![0f64; m * k];
    let mut panels: Vec<(usize, &mut [f64])> = w
        .chunks_mut(PANEL_ROWS * k)
        .enumerate()
        .map(|(b, s)| (b * PANEL_ROWS, s))
        .collect();
    par::for_each_mut(&mut panels, |_, (r0, rows)| {
        for (o, row) in rows.chunks_exact_mut(k).enumerate() {
            mean_row(pairs, assign, counts, &old.w, *r0 + o, row);
        }
    });
    Centroids::updated(pairs, w, old)
}

/// Row `f` of the new `W`.
fn mean_row(pairs: &Pairs, assign: &[u32], counts: &[u64], old_w: &[f64], f: usize, row: &mut [f64]) {
    let (m, k) = (pairs.m, row.len());
    let mut add = |p: usize, towards_f: bool| {
        let word = assign[p];
        if word == SKIPPED {
            return;
        }
        let a = pairs.scale(p);
        // u_p = a (e_j - e_i): +a on its larger index j, -a on i; negated members flip both.
        let positive = towards_f != (word & NEGATIVE != 0);
        row[(word & !NEGATIVE) as usize] += if positive { a } else { -a };
    };
    for h in 0..f {
        add(pair_index(m, h, f), true);
    }
    let start = row_start(m, f);
    for j in f + 1..m {
        add(start + (j - f - 1), false);
    }
    for (c, v) in row.iter_mut().enumerate() {
        *v = if counts[c] > 0 {
            *v / counts[c] as f64
        } else {
            old_w[f * k + c]
        };
    }
}

// ---------------------------------------------------------------------------------------------
// Scoring and reporting.

/// A member pair oriented along its centroid: `u = x_to - x_from` (subset-local indices).
#[derive(Debug, Clone, Copy)]
struct Edge {
    from: usize,
    to: usize,
    /// Squared sign-invariant distance to the centroid (clustering space).
    dist: f64,
    p: usize,
}

/// One scored quad: two positions in the cluster's sorted member list.
#[derive(Debug, Clone, Copy)]
struct ScoredQuad {
    score: f64,
    first: usize,
    second: usize,
}

/// What the scoring found in one cluster.
#[derive(Debug, Clone, Default)]
struct ClusterScore {
    size: usize,
    quads: u64,
    median_relative_error: f64,
    median_cosine: f64,
    /// Members nearest the centroid first (at most `max(max_quad_members, 12)`).
    edges: Vec<Edge>,
    best: Vec<ScoredQuad>,
}

impl ClusterScore {
    /// Lower is better: the median relative error, or `1 - median cosine` when normalised.
    fn rank_score(&self, normalised: bool) -> f64 {
        if normalised {
            1.0 - self.median_cosine
        } else {
            self.median_relative_error
        }
    }
}

/// Scores every cluster of the best run and describes the `top` best.
fn report_clusters(
    rows: &[f32],
    d: usize,
    subset: &[u32],
    pairs: &Pairs,
    run: &Run,
    params: &CrystalSearchParams,
) -> Vec<CrystalCluster> {
    let k = params.k;
    let (offsets, members) = cluster_members(pairs, &run.assign, k);
    let mut scores: Vec<ClusterScore> = vec![ClusterScore::default(); k];
    par::for_each_mut(&mut scores, |c, score| {
        let list = &members[offsets[c]..offsets[c + 1]];
        *score = score_cluster(pairs, &run.centroids, c, list, &run.assign, params);
    });
    drop(members);
    let mut order: Vec<usize> = (0..k).filter(|&c| scores[c].quads > 0).collect();
    let normalised = params.normalised;
    order.sort_by(|&a, &b| {
        scores[a]
            .rank_score(normalised)
            .total_cmp(&scores[b].rank_score(normalised))
            .then(a.cmp(&b))
    });
    order
        .into_iter()
        .take(params.top)
        .map(|c| describe_cluster(rows, d, subset, &run.centroids, c, &scores[c], normalised))
        .collect()
}

/// Offsets (`k + 1`) and the members of every cluster, in pair order, each as `i * m + j`.
fn cluster_members(pairs: &Pairs, assign: &[u32], k: usize) -> (Vec<usize>, Vec<u32>) {
    let mut offsets = vec![0usize; k + 1];
    for &word in assign {
        if word != SKIPPED {
            offsets[(word & !NEGATIVE) as usize + 1] += 1;
        }
    }
    for c in 0..k {
        offsets[c + 1] += offsets[c];
    }
    let mut next = offsets.clone();
    let mut members = vec![0u32; offsets[k]];
    let mut p = 0;
    for i in 0..pairs.m {
        for j in i + 1..pairs.m {
            let word = assign[p];
            if word != SKIPPED {
                let c = (word & !NEGATIVE) as usize;
                // m <= 8192, so i * m + j < 2^26.
                members[next[c]] = (i * pairs.m + j) as u32;
                next[c] += 1;
            }
            p += 1;
        }
    }
    (offsets, members)
}

/// Orients, sorts and scores one cluster's members (`list`: `i * m + j`).
fn score_cluster(
    pairs: &Pairs,
    centroids: &Centroids,
    c: usize,
    list: &[u32],
    assign: &[u32],
    params: &CrystalSearchParams,
) -> ClusterScore {
    let m = pairs.m;
    let mut edges: Vec<Edge> = list
        .iter()
        .map(|&packed| {
            let (i, j) = (packed as usize / m, packed as usize % m);
            let p = pair_index(m, i, j);
            let negative = assign[p] & NEGATIVE != 0;
            let dist = centroids.distance(pairs, p, i, j, c, negative);
            let (from, to) = if negative { (j, i) } else { (i, j) };
            Edge { from, to, dist, p }
        })
        .collect();
    let by_distance = |a: &Edge, b: &Edge| a.dist.total_cmp(&b.dist).then(a.p.cmp(&b.p));
    let keep = params.max_quad_members.max(LISTED_PAIRS).min(edges.len());
    if keep > 0 && keep < edges.len() {
        edges.select_nth_unstable_by(keep - 1, by_distance);
        edges.truncate(keep);
    }
    edges.sort_unstable_by(by_distance);
    let scored = &edges[..params.max_quad_members.min(edges.len())];
    let stats = quad_stats(pairs, scored, params.normalised);
    ClusterScore {
        size: list.len(),
        quads: stats.count,
        median_relative_error: stats.median_relative_error,
        median_cosine: stats.median_cosine,
        best: stats.best,
        edges,
    }
}

struct QuadStats {
    count: u64,
    median_relative_error: f64,
    median_cosine: f64,
    best: Vec<ScoredQuad>,
}

/// Relative error and cosine of every quad of two of `edges` with four distinct features, from a
/// local copy of the Gram matrix of the features involved; their medians and the best quads.
fn quad_stats(pairs: &Pairs, edges: &[Edge], normalised: bool) -> QuadStats {
    let mut features: Vec<usize> = edges.iter().flat_map(|e| [e.from, e.to]).collect();
    features.sort_unstable();
    features.dedup();
    let local = |f: usize| features.binary_search(&f).unwrap_or(0);
    let n = features.len();
    let mut g = vec![0f64; n * n];
    for (a, &fa) in features.iter().enumerate() {
        for (b, &fb) in features.iter().enumerate() {
            g[a * n + b] = pairs.gram[fa * pairs.m + fb];
        }
    }
    let ends: Vec<(usize, usize)> = edges.iter().map(|e| (local(e.from), local(e.to))).collect();
    let lengths: Vec<f64> = ends
        .iter()
        .map(|&(a, b)| (g[a * n + a] + g[b * n + b] - 2.0 * g[a * n + b]).max(0.0).sqrt())
        .collect();
    let mut rel = Vec::new();
    let mut cos = Vec::new();
    let mut best: Vec<ScoredQuad> = Vec::with_capacity(LISTED_QUADS + 1);
    for x in 0..ends.len() {
        let (a, b) = ends[x];
        for y in x + 1..ends.len() {
            let (c, e) = ends[y];
            if a == c || a == e || b == c || b == e {
                continue;
            }
            // u1 = x_b - x_a, u2 = x_e - x_c.
            let dot = g[b * n + e] - g[b * n + c] - g[a * n + e] + g[a * n + c];
            let (n1, n2) = (lengths[x], lengths[y]);
            let r = (n1 * n1 + n2 * n2 - 2.0 * dot).max(0.0).sqrt() / ((n1 + n2) / 2.0);
            let cs = (dot / (n1 * n2)).clamp(-1.0, 1.0);
            rel.push(r);
            cos.push(cs);
            let score = if normalised { 1.0 - cs } else { r };
            if best.len() < LISTED_QUADS || score < best[best.len() - 1].score {
                let at = best.partition_point(|q| q.score <= score);
                best.insert(
                    at,
                    ScoredQuad {
                        score,
                        first: x,
                        second: y,
                    },
                );
                best.truncate(LISTED_QUADS);
            }
        }
    }
    QuadStats {
        count: rel.len() as u64,
        median_relative_error: median(&mut rel),
        median_cosine: median(&mut cos),
        best,
    }
}

/// numpy's median (the mean of the two middle values for an even count); NaN when empty.
fn median(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let (_, &mut upper, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        return upper;
    }
    let lower = v[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lower + upper) / 2.0
}

/// The reported form of cluster `c`.
fn describe_cluster(
    rows: &[f32],
    d: usize,
    subset: &[u32],
    centroids: &Centroids,
    c: usize,
    score: &ClusterScore,
    normalised: bool,
) -> CrystalCluster {
    let decoder = |local: usize| subset[local];
    let edge = |e: &Edge| [decoder(e.from), decoder(e.to)];
    let mut quads: Vec<CrystalQuad> = score
        .best
        .iter()
        .map(|q| {
            let ([a, b], [c, e]) = (edge(&score.edges[q.first]), edge(&score.edges[q.second]));
            let (relative_error, cosine) = exact_quad(rows, d, [a, b, c, e]);
            CrystalQuad {
                features: [a, b, c, e],
                relative_error,
                cosine,
            }
        })
        .collect();
    let exact_score = |q: &CrystalQuad| {
        if normalised {
            1.0 - q.cosine
        } else {
            q.relative_error
        }
    };
    quads.sort_by(|x, y| exact_score(x).total_cmp(&exact_score(y)));

    let mut listed: Vec<[u32; 2]> = Vec::with_capacity(LISTED_PAIRS);
    if let Some(q) = quads.first() {
        listed.push([q.features[0], q.features[1]]);
        listed.push([q.features[2], q.features[3]]);
    }
    for e in &score.edges {
        if listed.len() >= LISTED_PAIRS {
            break;
        }
        let pair = edge(e);
        if !listed.contains(&pair) {
            listed.push(pair);
        }
    }
    let mut layout_features: Vec<u32> = Vec::new();
    for &f in listed.iter().flatten() {
        if !layout_features.contains(&f) {
            layout_features.push(f);
        }
    }
    let layout = pca_layout(rows, d, &layout_features);
    CrystalCluster {
        cluster: c,
        size: score.size,
        centroid_norm: (2.0 * centroids.half_norm2[c]).sqrt(),
        pairs: listed,
        quads_scored: score.quads,
        median_relative_error: score.median_relative_error,
        median_cosine: score.median_cosine,
        quads,
        layout_features,
        layout,
    }
}

/// Relative error and cosine of the quad `[a, b, c, e]` (decoder indices) from the rows:
/// `u1 = x_b - x_a`, `u2 = x_e - x_c`, in `f64`.
fn exact_quad(rows: &[f32], d: usize, [a, b, c, e]: [u32; 4]) -> (f64, f64) {
    let (xa, xb, xc, xe) = (
        decoder_row(rows, d, a),
        decoder_row(rows, d, b),
        decoder_row(rows, d, c),
        decoder_row(rows, d, e),
    );
    let (mut n1, mut n2, mut dot, mut diff) = (0.0, 0.0, 0.0, 0.0);
    for t in 0..d {
        let u1 = xb[t] as f64 - xa[t] as f64;
        let u2 = xe[t] as f64 - xc[t] as f64;
        n1 += u1 * u1;
        n2 += u2 * u2;
        dot += u1 * u2;
        diff += (u1 - u2) * (u1 - u2);
    }
    let (n1, n2) = (n1.sqrt(), n2.sqrt());
    (
        diff.sqrt() / ((n1 + n2) / 2.0),
        (dot / (n1 * n2)).clamp(-1.0, 1.0),
    )
}

/// The features' decoder rows on their first two principal axes: the centred rows' small Gram
/// matrix `K = X_c X_c^T = U L U^T` gives the coordinates `sqrt(l_t) U[:, t]`; each axis
/// `v_t = X_c^T U[:, t] / sqrt(l_t)` is signed so that its largest-magnitude entry is positive.
/// An axis of zero variance gives zero coordinates.
fn pca_layout(rows: &[f32], d: usize, features: &[u32]) -> Vec<[f64; 2]> {
    let n = features.len();
    let mut out = vec![[0.0; 2]; n];
    if n < 2 {
        return out;
    }
    let mut mean = vec![0f64; d];
    for &f in features {
        mean.iter_mut()
            .zip(decoder_row(rows, d, f))
            .for_each(|(s, &v)| *s += v as f64);
    }
    mean.iter_mut().for_each(|s| *s /= n as f64);
    let xc: Vec<f64> = features
        .iter()
        .flat_map(|&f| {
            decoder_row(rows, d, f)
                .iter()
                .zip(&mean)
                .map(|(&v, mu)| v as f64 - mu)
        })
        .collect();
    let mut kmat = vec![0f64; n * n];
    for a in 0..n {
        for b in 0..=a {
            let s: f64 = xc[a * d..(a + 1) * d]
                .iter()
                .zip(&xc[b * d..(b + 1) * d])
                .map(|(x, y)| x * y)
                .sum();
            kmat[a * n + b] = s;
            kmat[b * n + a] = s;
        }
    }
    let trace: f64 = (0..n).map(|a| kmat[a * n + a]).sum();
    let eig = symmetric_top_eigenpairs(kmat, n, 2, &mut |_| {});
    for (t, &value) in eig.values.iter().enumerate() {
        if value.is_nan() || value <= 1e-12 * trace {
            continue;
        }
        let u = &eig.vectors[t * n..(t + 1) * n];
        // The axis (unnormalised), for its sign.
        let axis: Vec<f64> = (0..d)
            .map(|s| (0..n).map(|a| u[a] * xc[a * d + s]).sum())
            .collect();
        let sign = largest_entry_sign(&axis);
        for (a, point) in out.iter_mut().enumerate() {
            point[t] = sign * value.sqrt() * u[a];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` random unit vectors of dimension `d` (Box-Muller normals, normalised), row-major.
    fn unit_vectors(n: usize, d: usize, seed: u64) -> Vec<f64> {
        let mut rng = seeded_rng(seed);
        let mut out = Vec::with_capacity(n * d);
        for _ in 0..n {
            let v: Vec<f64> = (0..d)
                .map(|_| {
                    let (a, b): (f64, f64) = (rng.random(), rng.random());
                    (-2.0 * (1.0 - a).ln()).sqrt() * (std::f64::consts::TAU * b).cos()
                })
                .collect();
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            out.extend(v.iter().map(|x| x / norm));
        }
        out
    }

    fn to_f32(v: &[f64]) -> Vec<f32> {
        v.iter().map(|&x| x as f32).collect()
    }

    /// `n` random unit vectors in d = 64, then three base points `x_t` and `x_t + v` (`|v| = 1`;
    /// rows n to n + 5: x_1, x_1 + v, x_2, x_2 + v, x_3, x_3 + v). Returns the rows, d, and the
    /// three planted parallelograms' feature sets.
    fn planted_among(n: usize) -> (Vec<f32>, usize, [[u32; 4]; 3]) {
        let d = 64;
        let mut rows = unit_vectors(n + 3, d, 11);
        let v = unit_vectors(1, d, 12);
        let bases: Vec<Vec<f64>> = (n..n + 3).map(|t| rows[t * d..(t + 1) * d].to_vec()).collect();
        rows.truncate(n * d);
        for b in &bases {
            rows.extend_from_slice(b);
            rows.extend(b.iter().zip(&v).map(|(x, y)| x + y));
        }
        let f = n as u32;
        let sets = [
            [f, f + 1, f + 2, f + 3],
            [f, f + 1, f + 4, f + 5],
            [f + 2, f + 3, f + 4, f + 5],
        ];
        (to_f32(&rows), d, sets)
    }

    fn planted() -> (Vec<f32>, usize, [[u32; 4]; 3]) {
        planted_among(200)
    }

    fn sorted(mut f: [u32; 4]) -> [u32; 4] {
        f.sort_unstable();
        f
    }

    fn search(rows: &[f32], d: usize, subset: &[u32], params: &CrystalSearchParams) -> CrystalSearch {
        crystal_search(rows, d, subset, params, &mut |_| {}, &|| false).unwrap()
    }

    #[test]
    fn planted_parallelograms_are_found_in_both_modes() {
        // 206 features, 21115 pairs, 60 clusters of some 350 pairs: every member scored.
        let (rows, d, sets) = planted();
        let subset: Vec<u32> = (0..206).collect();
        for normalised in [false, true] {
            let params = CrystalSearchParams {
                k: 60,
                normalised,
                top: 60,
                seed: 3,
                max_quad_members: 2000,
                ..Default::default()
            };
            let r = search(&rows, d, &subset, &params);
            assert_eq!((r.m, r.pairs, r.skipped_pairs), (206, 206 * 205 / 2, 0));
            // The cluster holding the three edges v: its three best quads are the planted ones.
            let found = r.clusters.iter().find(|c| {
                c.quads.len() >= 3 && {
                    let mut best: Vec<[u32; 4]> = c.quads[..3].iter().map(|q| sorted(q.features)).collect();
                    best.sort_unstable();
                    best == sets
                }
            });
            let c = found
                .unwrap_or_else(|| panic!("normalised = {normalised}: no cluster with the planted quads"));
            for q in &c.quads[..3] {
                assert!(q.relative_error < 1e-6 && q.cosine > 1.0 - 1e-12, "{q:?}");
                // Both edges along the centroid: x_b - x_a = x_d - x_c = +-v.
                assert_eq!(q.features[0] % 2, q.features[2] % 2);
            }
            assert!(c.pairs.len() >= 2 && c.layout_features.len() == c.layout.len());
            assert!(c.layout.iter().flatten().all(|v| v.is_finite()));
            // Ranked best first.
            let key = |c: &CrystalCluster| {
                if normalised {
                    1.0 - c.median_cosine
                } else {
                    c.median_relative_error
                }
            };
            assert!(r.clusters.windows(2).all(|w| key(&w[0]) <= key(&w[1])));
        }
        // 46 features, 1035 pairs in 500 clusters (defaults otherwise): the exact parallelograms
        // (the edges v, or the edges x_t - x_s twice) form clusters of their own, ranked first.
        let (rows, d, sets) = planted_among(40);
        let subset: Vec<u32> = (0..46).collect();
        for normalised in [false, true] {
            let r = search(
                &rows,
                d,
                &subset,
                &CrystalSearchParams {
                    k: 500,
                    normalised,
                    ..Default::default()
                },
            );
            let top = &r.clusters[0];
            assert!(sets.contains(&sorted(top.quads[0].features)), "{top:?}");
            assert!(
                top.median_relative_error < 1e-6 && top.median_cosine > 1.0 - 1e-12,
                "{top:?}"
            );
            assert_eq!(r.clusters.len(), 20);
        }
    }

    #[test]
    fn gram_space_distances_equal_d_space_ones() {
        let (m, d, k) = (9, 5, 4);
        let x = unit_vectors(m, d, 1);
        let x: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(t, v)| v * (1.0 + (t % 3) as f64))
            .collect();
        let gram = gram_matrix(&x, m, d);
        let mut rng = seeded_rng(2);
        let w: Vec<f64> = (0..m * k).map(|_| rng.random::<f64>() - 0.5).collect();
        for normalised in [false, true] {
            let pairs = Pairs::new(&gram, m, normalised);
            let cent = Centroids::from_weights(&pairs, w.clone(), k);
            // c = X^T w in d space.
            let c: Vec<Vec<f64>> = (0..k)
                .map(|c| {
                    (0..d)
                        .map(|s| (0..m).map(|f| w[f * k + c] * x[f * d + s]).sum())
                        .collect()
                })
                .collect();
            for (cv, half) in c.iter().zip(&cent.half_norm2) {
                let direct: f64 = cv.iter().map(|v| v * v).sum();
                assert!((2.0 * half - direct).abs() < 1e-9);
            }
            for i in 0..m {
                for j in i + 1..m {
                    let p = pair_index(m, i, j);
                    assert_eq!(pairs.pair_of(p), (i, j));
                    let mut u: Vec<f64> = (0..d).map(|s| x[j * d + s] - x[i * d + s]).collect();
                    let len = u.iter().map(|v| v * v).sum::<f64>().sqrt();
                    if normalised {
                        u.iter_mut().for_each(|v| *v /= len);
                    }
                    let norm2: f64 = u.iter().map(|v| v * v).sum();
                    assert!((pairs.norm2(p, i, j) - norm2).abs() < 1e-9);
                    for (cc, cv) in c.iter().enumerate() {
                        for negative in [false, true] {
                            let s = if negative { -1.0 } else { 1.0 };
                            let want: f64 = u.iter().zip(cv).map(|(a, b)| (a - s * b) * (a - s * b)).sum();
                            let got = cent.distance(&pairs, p, i, j, cc, negative);
                            assert!(
                                (got - want).abs() < 1e-9,
                                "pair ({i}, {j}) centroid {cc}: {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// The same algorithm on the materialised differences in d space.
    struct Brute {
        m: usize,
        d: usize,
        /// P x d, scaled (unit when normalised); `None` for zero edges.
        u: Vec<Option<Vec<f64>>>,
    }

    impl Brute {
        fn new(x: &[f64], m: usize, d: usize, normalised: bool) -> Brute {
            let mut u = Vec::new();
            for i in 0..m {
                for j in i + 1..m {
                    let diff: Vec<f64> = (0..d).map(|s| x[j * d + s] - x[i * d + s]).collect();
                    let sq: f64 = diff.iter().map(|v| v * v).sum();
                    let ni: f64 = x[i * d..(i + 1) * d].iter().map(|v| v * v).sum();
                    let nj: f64 = x[j * d..(j + 1) * d].iter().map(|v| v * v).sum();
                    if sq <= ZERO_EDGE * (ni + nj) {
                        u.push(None);
                    } else {
                        let a = if normalised { 1.0 / sq.sqrt() } else { 1.0 };
                        u.push(Some(diff.iter().map(|v| a * v).collect()));
                    }
                }
            }
            Brute { m, d, u }
        }

        /// `(min_s |u - s c|^2, s == -1)`.
        fn dist(u: &[f64], c: &[f64]) -> (f64, bool) {
            let dp: f64 = u.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum();
            let dm: f64 = u.iter().zip(c).map(|(a, b)| (a + b) * (a + b)).sum();
            if dm < dp {
                (dm, true)
            } else {
                (dp, false)
            }
        }

        fn kmeans_pp(&self, k: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
            let active: Vec<usize> = (0..self.u.len()).filter(|&p| self.u[p].is_some()).collect();
            let mut d2 = vec![f32::INFINITY; self.u.len()];
            let mut centres = vec![active[rng.random_range(0..active.len())]];
            let update = |d2: &mut [f32], q: usize| {
                let c = self.u[q].as_ref().unwrap();
                for (p, u) in self.u.iter().enumerate() {
                    d2[p] = match u {
                        Some(u) => d2[p].min(Self::dist(u, c).0 as f32),
                        None => 0.0,
                    };
                }
            };
            update(&mut d2, centres[0]);
            for _ in 1..k {
                let potential: f64 = d2.iter().map(|&v| v as f64).sum();
                let r = rng.random::<f64>() * potential;
                let mut acc = 0.0;
                let next = (0..d2.len())
                    .find(|&p| {
                        acc += d2[p] as f64;
                        d2[p] > 0.0 && acc > r
                    })
                    .unwrap();
                centres.push(next);
                update(&mut d2, next);
            }
            centres
        }

        /// Returns the assignment words, the inertia, the iterations and the pairs relocated.
        fn lloyd(&self, k: usize, centres: &[usize], max_iter: usize) -> (Vec<u32>, f64, usize, usize) {
            let d = self.d;
            let mut c: Vec<Vec<f64>> = centres.iter().map(|&q| self.u[q].clone().unwrap()).collect();
            let mut words: Vec<u32> = self
                .u
                .iter()
                .map(|u| if u.is_some() { 0 } else { SKIPPED })
                .collect();
            let mut relocated = 0;
            let assign = |c: &[Vec<f64>], words: &mut [u32]| {
                let (mut counts, mut inertia, mut changed) = (vec![0u64; k], 0.0, 0);
                for (p, u) in self.u.iter().enumerate() {
                    let Some(u) = u else { continue };
                    let mut best = (f64::INFINITY, 0, false);
                    for (cc, cv) in c.iter().enumerate() {
                        let (dist, neg) = Self::dist(u, cv);
                        if dist < best.0 {
                            best = (dist, cc, neg);
                        }
                    }
                    let word = best.1 as u32 | if best.2 { NEGATIVE } else { 0 };
                    changed += (word != words[p]) as usize;
                    words[p] = word;
                    counts[best.1] += 1;
                    inertia += best.0;
                }
                (counts, inertia, changed)
            };
            for it in 0..max_iter {
                let (mut counts, inertia, changed) = assign(&c, &mut words);
                if it > 0 && changed == 0 {
                    return (words, inertia, it, relocated);
                }
                // Empty clusters take the farthest pairs.
                let empty: Vec<usize> = (0..k).filter(|&cc| counts[cc] == 0).collect();
                let mut far: Vec<(f64, usize)> = (0..self.u.len())
                    .filter_map(|p| {
                        let u = self.u[p].as_ref()?;
                        let cc = (words[p] & !NEGATIVE) as usize;
                        let s = if words[p] & NEGATIVE != 0 { -1.0 } else { 1.0 };
                        let dist: f64 = u.iter().zip(&c[cc]).map(|(a, b)| (a - s * b) * (a - s * b)).sum();
                        (dist > 0.0).then_some((dist, p))
                    })
                    .collect();
                far.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                for (&cc, &(_, p)) in empty.iter().zip(&far) {
                    counts[(words[p] & !NEGATIVE) as usize] -= 1;
                    counts[cc] += 1;
                    words[p] = cc as u32;
                    relocated += 1;
                }
                // Means of the sign-corrected members.
                let mut sums = vec![vec![0f64; d]; k];
                for (p, u) in self.u.iter().enumerate() {
                    let Some(u) = u else { continue };
                    let cc = (words[p] & !NEGATIVE) as usize;
                    let s = if words[p] & NEGATIVE != 0 { -1.0 } else { 1.0 };
                    sums[cc].iter_mut().zip(u).for_each(|(a, b)| *a += s * b);
                }
                for cc in 0..k {
                    if counts[cc] > 0 {
                        c[cc] = sums[cc].iter().map(|v| v / counts[cc] as f64).collect();
                    }
                }
            }
            let (_, inertia, _) = assign(&c, &mut words);
            (words, inertia, max_iter, relocated)
        }
    }

    #[test]
    fn gram_space_kmeans_equals_brute_force_in_d_space() {
        let mut relocated = 0;
        for (m, d, cases) in [(30, 8, [(12, 1), (150, 2)]), (70, 16, [(40, 3), (400, 4)])] {
            relocated += brute_force_case(m, d, &cases);
        }
        // The empty-cluster rule was exercised (and agreed).
        assert!(relocated > 0);
    }

    /// Whether two assignments are the same partition with the same signs, up to the names of the
    /// clusters. (Relocation can hand the farthest pairs to the empty clusters in another order
    /// when their distances tie exactly, e.g. the two members of a two-member cluster, and
    /// rounding then decides.)
    fn same_up_to_relabelling(a: &[u32], b: &[u32]) -> bool {
        let mut forward = std::collections::HashMap::new();
        let mut backward = std::collections::HashMap::new();
        a.iter().zip(b).all(|(&x, &y)| {
            if x == SKIPPED || y == SKIPPED {
                return x == y;
            }
            let (lx, ly) = (x & !NEGATIVE, y & !NEGATIVE);
            x & NEGATIVE == y & NEGATIVE
                && *forward.entry(lx).or_insert(ly) == ly
                && *backward.entry(ly).or_insert(lx) == lx
        })
    }

    /// Returns the number of pairs relocated to empty clusters.
    fn brute_force_case(m: usize, d: usize, cases: &[(usize, u64)]) -> usize {
        let mut relocated = 0;
        // Unequal norms, so that raw and normalised differ.
        let x: Vec<f64> = unit_vectors(m, d, 5)
            .iter()
            .enumerate()
            .map(|(t, v)| v * (1.0 + (t / d % 3) as f64 * 0.5))
            .collect();
        let gram = gram_matrix(&x, m, d);
        for normalised in [false, true] {
            for &(k, seed) in cases {
                let pairs = Pairs::new(&gram, m, normalised);
                let brute = Brute::new(&x, m, d, normalised);
                assert_eq!(brute.m, m);
                let centres = kmeans_pp(&pairs, k, &mut seeded_rng(seed), &mut |_| true).unwrap();
                assert_eq!(
                    centres,
                    brute.kmeans_pp(k, &mut seeded_rng(seed)),
                    "k-means++ k = {k}"
                );
                // Also from a start where every third centre repeats the first: those clusters
                // are empty after the first assignment, which exercises the relocation.
                let repeated: Vec<usize> = centres
                    .iter()
                    .enumerate()
                    .map(|(c, &p)| if c % 3 == 2 { centres[0] } else { p })
                    .collect();
                for start in [&centres, &repeated] {
                    let run = lloyd(&pairs, k, start, 100, vec![0; pairs.total], &mut |_| true).unwrap();
                    let (words, inertia, iterations, moved) = brute.lloyd(k, start, 100);
                    relocated += moved;
                    assert!(
                        same_up_to_relabelling(&run.assign, &words),
                        "normalised = {normalised}, k = {k}"
                    );
                    if moved == 0 {
                        assert_eq!(run.assign, words);
                    }
                    assert_eq!(run.iterations, iterations);
                    assert!(run.converged);
                    assert!(
                        (run.inertia - inertia).abs() <= 1e-9 * inertia.max(1.0),
                        "{} vs {inertia}",
                        run.inertia
                    );
                }
            }
        }
        relocated
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let (rows, d, _) = planted();
        // Enough features for several pair blocks and W panels.
        let subset: Vec<u32> = (0..206).rev().collect();
        for normalised in [false, true] {
            let params = CrystalSearchParams {
                k: 40,
                n_init: 2,
                normalised,
                seed: 9,
                ..Default::default()
            };
            let one = par::with_threads(1, || search(&rows, d, &subset, &params));
            for t in [2, 3] {
                let other = par::with_threads(t, || search(&rows, d, &subset, &params));
                assert_eq!(one, other, "{t} threads");
            }
            // Indices are the decoder's: the subset order does not matter up to relabelling,
            // but every reported feature is in the subset.
            assert!(one
                .clusters
                .iter()
                .flat_map(|c| c.layout_features.iter())
                .all(|f| *f < 206));
        }
    }

    #[test]
    fn identical_features_are_skipped_and_counted() {
        let d = 6;
        let mut x = unit_vectors(8, d, 4);
        let first = x[..d].to_vec();
        x.extend_from_slice(&first); // row 8 = row 0
        let rows = to_f32(&x);
        let subset: Vec<u32> = (0..9).collect();
        for normalised in [false, true] {
            let params = CrystalSearchParams {
                k: 5,
                normalised,
                ..Default::default()
            };
            let r = search(&rows, d, &subset, &params);
            assert_eq!((r.pairs, r.skipped_pairs), (36, 1));
            assert!(r.clusters.iter().all(|c| c.median_relative_error.is_finite()));
            let params = CrystalSearchParams {
                k: 36,
                normalised,
                ..Default::default()
            };
            let e = crystal_search(&rows, d, &subset, &params, &mut |_| {}, &|| false).unwrap_err();
            assert!(e.to_string().contains("choose k at most 35"), "{e}");
        }
        let same = to_f32(&[1.0, 2.0].repeat(5));
        let e = crystal_search(
            &same,
            2,
            &[0, 1, 2, 3],
            &CrystalSearchParams {
                k: 1,
                ..Default::default()
            },
            &mut |_| {},
            &|| false,
        )
        .unwrap_err();
        assert_eq!(e.kind(), "degenerate-cloud");
    }

    #[test]
    fn bad_input_is_refused_with_actionable_messages() {
        let rows = to_f32(&unit_vectors(10, 3, 1));
        let base = CrystalSearchParams {
            k: 3,
            ..Default::default()
        };
        let error = |rows: &[f32], d: usize, subset: &[u32], params: &CrystalSearchParams| {
            crystal_search(rows, d, subset, params, &mut |_| {}, &|| false)
                .unwrap_err()
                .to_string()
        };
        let with = |change: fn(&mut CrystalSearchParams)| {
            let mut p = base.clone();
            change(&mut p);
            error(&rows, 3, &[0, 1, 2, 3], &p)
        };
        let cases = [
            (error(&rows, 4, &[0, 1, 2, 3], &base), "whole rows of 4 columns"),
            (
                error(&rows, 3, &[0, 1, 2], &base),
                "3 point(s), but a crystal search",
            ),
            (
                error(&rows, 3, &[0, 1, 2, 10], &base),
                "feature 10 is out of range: the decoder has 10 features (rows 0 to 9)",
            ),
            (error(&[], 3, &[0, 1, 2, 3], &base), "the decoder has no features"),
            (
                error(&rows, 3, &[0, 1, 2, 1], &base),
                "feature 1 is listed twice (positions 1 and 3)",
            ),
            (with(|p| p.k = 0), "at least 1"),
            (with(|p| p.k = 7), "choose k at most 6"),
            (with(|p| p.n_init = 0), "n_init"),
            (with(|p| p.max_iter = 0), "max_iter"),
            (with(|p| p.max_quad_members = 1), "choose 2 to 2000"),
            (
                with(|p| p.max_quad_members = MAX_QUAD_MEMBERS + 1),
                "choose 2 to 2000",
            ),
        ];
        for (message, want) in &cases {
            assert!(message.contains(want), "{message:?} lacks {want:?}");
        }
        let big: Vec<u32> = (0..MAX_FEATURES as u32 + 1).collect();
        let wide = vec![0f32; MAX_FEATURES + 1];
        assert!(error(&wide, 1, &big, &base).contains("choose a smaller subset"));
        let mut bad = rows.clone();
        bad[7] = f32::NAN;
        let e = crystal_search(&bad, 3, &[4, 2, 1, 0], &base, &mut |_| {}, &|| false).unwrap_err();
        assert_eq!(e, GeometryError::NonFinite { row: 2, col: 1 });
        // A non-finite row outside the subset does not matter.
        assert!(crystal_search(&bad, 3, &[4, 5, 6, 0], &base, &mut |_| {}, &|| false).is_ok());
    }

    #[test]
    fn progress_rises_to_one_and_cancel_stops() {
        let (rows, d, _) = planted();
        let subset: Vec<u32> = (100..206).collect();
        let params = CrystalSearchParams {
            k: 30,
            n_init: 2,
            ..Default::default()
        };
        let mut seen = Vec::new();
        let full = crystal_search(&rows, d, &subset, &params, &mut |f| seen.push(f), &|| false).unwrap();
        assert!(!full.stopped_early && !full.clusters.is_empty());
        assert!(seen.windows(2).all(|w| w[0] <= w[1]) && seen.last() == Some(&1.0));
        let r = crystal_search(&rows, d, &subset, &params, &mut |_| {}, &|| true).unwrap();
        assert!(r.stopped_early && r.clusters.is_empty());
        // Cancelled during the second run: the first run's clusters.
        let polls = std::cell::Cell::new(0);
        let first_only = CrystalSearchParams {
            n_init: 1,
            ..params.clone()
        };
        let one = search(&rows, d, &subset, &first_only);
        let polls_one = {
            let c = std::cell::Cell::new(0);
            crystal_search(&rows, d, &subset, &first_only, &mut |_| {}, &|| {
                c.set(c.get() + 1);
                false
            })
            .unwrap();
            c.get()
        };
        let r = crystal_search(&rows, d, &subset, &params, &mut |_| {}, &|| {
            polls.set(polls.get() + 1);
            polls.get() > polls_one
        })
        .unwrap();
        assert!(r.stopped_early);
        assert_eq!(r.clusters, one.clusters);
    }

    #[test]
    fn avx2_kernel_matches_the_portable_one() {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            let mut rng = seeded_rng(3);
            for k in [1, 7, 8, 9, 17, 33, 500] {
                for trial in 0..300 {
                    // Coarse values (many exact ties) half of the time.
                    let mut draw = || {
                        let v = rng.random::<f64>() - 0.5;
                        if trial % 2 == 0 {
                            (v * 8.0).round() / 4.0
                        } else {
                            v
                        }
                    };
                    let gi: Vec<f64> = (0..k).map(|_| draw()).collect();
                    let gj: Vec<f64> = (0..k).map(|_| draw()).collect();
                    let half: Vec<f64> = (0..k).map(|_| draw().abs()).collect();
                    let a = if trial % 3 == 0 { 1.0 } else { 0.7 };
                    // SAFETY: the CPU has AVX2 (checked above).
                    let wide = unsafe { x86::nearest(&gi, &gj, &half, a) };
                    assert_eq!(wide, nearest(&gi, &gj, &half, a), "k = {k}, trial {trial}");
                }
            }
        }
    }

    #[test]
    fn partial_gram_products_equal_full_ones() {
        let (m, d, k) = (70, 9, 11);
        let x = unit_vectors(m, d, 8);
        let gram = gram_matrix(&x, m, d);
        let pairs = Pairs::new(&gram, m, false);
        let mut rng = seeded_rng(4);
        let w: Vec<f64> = (0..m * k).map(|_| rng.random::<f64>() - 0.5).collect();
        let old = Centroids::from_weights(&pairs, w.clone(), k);
        let mut w2 = w.clone();
        for f in 0..m {
            w2[f * k + 3] *= 2.0;
            w2[f * k + 7] += 1.0;
        }
        for new in [w.clone(), w2] {
            let partial = Centroids::updated(&pairs, new.clone(), &old);
            let full = Centroids::from_weights(&pairs, new, k);
            assert_eq!((partial.gw, partial.half_norm2), (full.gw, full.half_norm2));
        }
    }

    #[test]
    fn helpers() {
        for m in [2, 5, 300] {
            let blocks = pair_blocks(m);
            assert_eq!(blocks.iter().map(|b| b.len).sum::<usize>(), pair_count(m));
            for w in blocks.windows(2) {
                assert_eq!(w[0].r1, w[1].r0);
                assert_eq!(w[0].start + w[0].len, w[1].start);
                assert_eq!(row_start(m, w[1].r0), w[1].start);
            }
        }
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&mut []).is_nan());
        let (gi, gj) = (
            [0.0; 11],
            [1.0, -3.0, 2.0, 3.0, 0.5, -3.0, 0.0, 0.0, 0.0, 3.0, -3.0],
        );
        // a |t| - half: ties at 3 for c = 1, 3, 5, 9, 10: the first wins.
        assert_eq!(nearest(&gi, &gj, &[0.0; 11], 1.0), (1, 3.0));
        let mut half = [0.0; 11];
        for c in [1, 5, 9] {
            half[c] = 0.5;
        }
        assert_eq!(nearest(&gi, &gj, &half, 1.0), (3, 3.0));
        half[3] = 0.5;
        assert_eq!(nearest(&gi, &gj, &half, 1.0), (10, 3.0));
        assert_eq!(nearest(&gi[..1], &gj[..1], &half[..1], 2.0), (0, 2.0));
    }

    #[test]
    fn layout_is_the_pca_of_the_features() {
        // Four points of a rectangle 4 x 1 in the plane z = 5 of R^3: the first axis is the long side.
        let rows: Vec<f32> = vec![0.0, 0.0, 5.0, 4.0, 0.0, 5.0, 0.0, 1.0, 5.0, 4.0, 1.0, 5.0];
        let layout = pca_layout(&rows, 3, &[0, 1, 2, 3]);
        let want = [[-2.0, -0.5], [2.0, -0.5], [-2.0, 0.5], [2.0, 0.5]];
        for (p, q) in layout.iter().zip(&want) {
            assert!(
                (p[0] - q[0]).abs() < 1e-12 && (p[1] - q[1]).abs() < 1e-12,
                "{layout:?}"
            );
        }
        let (rel, cos) = exact_quad(&rows, 3, [0, 1, 2, 3]);
        assert_eq!((rel, cos), (0.0, 1.0));
    }

    #[test]
    fn results_round_trip_through_json() {
        let (rows, d, _) = planted();
        let subset: Vec<u32> = (150..206).collect();
        let r = search(
            &rows,
            d,
            &subset,
            &CrystalSearchParams {
                k: 20,
                top: 3,
                ..Default::default()
            },
        );
        let s = serde_json::to_string(&r).unwrap();
        let back: CrystalSearch = serde_json::from_str(&s).unwrap();
        assert_eq!(back, r);
    }
}
