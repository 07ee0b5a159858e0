//! The five co-occurrence affinities of paper section 2, and the angular similarity of decoder
//! rows that the geometric clustering uses.
//!
//! From the 2 x 2 table of features `i` and `j` over `n` chunks: `n11 = H[i][j]`, `n1. = H[i][i]`,
//! `n.1 = H[j][j]`, `n10 = n1. - n11`, `n01 = n.1 - n11`, `n00 = n - n1. - n.1 + n11`,
//! `n0. = n - n1.`, `n.0 = n - n.1`. NaN and infinities (features that never or always fire)
//! become 0, as in the authors' code (ejmichaud/feature-geometry), which then clusters `Phi + 1`.

use serde::{Deserialize, Serialize};

use super::cooccurrence::Cooccurrence;
use super::GeometryError;
use crate::compute::par;

/// Which affinity of the 2 x 2 co-occurrence table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Affinity {
    /// Simple matching coefficient `(n11 + n00) / n`.
    Smc,
    /// Jaccard `n11 / (n1. + n.1 - n11)`.
    Jaccard,
    /// Dice `2 n11 / (n1. + n.1)`.
    Dice,
    /// Overlap `n11 / min(n1., n.1)`.
    Overlap,
    /// Phi coefficient `(n11 n00 - n10 n01) / sqrt(n1. n0. n.1 n.0)`; clustered as `Phi + 1`.
    Phi,
}

impl Affinity {
    /// All five, in the paper's order of Figure 3.
    pub const ALL: [Affinity; 5] = [Affinity::Smc, Affinity::Jaccard, Affinity::Dice, Affinity::Overlap, Affinity::Phi];

    /// The short name used on the command line and in JSON (`smc`, `jaccard`, `dice`, `overlap`,
    /// `phi`).
    pub fn name(self) -> &'static str {
        match self {
            Affinity::Smc => "smc",
            Affinity::Jaccard => "jaccard",
            Affinity::Dice => "dice",
            Affinity::Overlap => "overlap",
            Affinity::Phi => "phi",
        }
    }

    /// A readable name for plots ("simple matching", "Jaccard", ...).
    pub fn title(self) -> &'static str {
        match self {
            Affinity::Smc => "simple matching",
            Affinity::Jaccard => "Jaccard",
            Affinity::Dice => "Dice",
            Affinity::Overlap => "overlap",
            Affinity::Phi => "Phi",
        }
    }

    /// Parses [`Affinity::name`] (also `simple-matching`, case-insensitive).
    pub fn parse(s: &str) -> Result<Affinity, GeometryError> {
        let lower = s.trim().to_ascii_lowercase();
        Affinity::ALL
            .into_iter()
            .find(|a| a.name() == lower)
            .or((lower == "simple-matching" || lower == "simple_matching").then_some(Affinity::Smc))
            .ok_or_else(|| GeometryError::InvalidParameter {
                name: "affinity".into(),
                reason: format!("'{s}' is not one of phi, jaccard, dice, overlap, smc"),
            })
    }

    /// The affinity of one pair from its 2 x 2 table (`n11`, `n1.`, `n.1`, `n`), in f64 as numpy
    /// computes it, with NaN and infinities replaced by 0 (raw Phi, without the + 1).
    pub fn of_table(self, n11: f64, n1_: f64, n_1: f64, n: f64) -> f64 {
        let v = match self {
            Affinity::Smc => (n11 + (n - n1_ - n_1 + n11)) / n,
            Affinity::Jaccard => n11 / (n1_ + n_1 - n11),
            Affinity::Dice => 2.0 * n11 / (n1_ + n_1),
            Affinity::Overlap => n11 / n1_.min(n_1),
            Affinity::Phi => {
                let (n10, n01, n00) = (n1_ - n11, n_1 - n11, n - n1_ - n_1 + n11);
                (n11 * n00 - n10 * n01) / (n1_ * (n - n1_) * n_1 * (n - n_1)).sqrt()
            }
        };
        if v.is_finite() {
            v
        } else {
            0.0
        }
    }

    /// What spectral clustering is given: the affinity itself, or `Phi + 1` (in [0, 2]) for Phi.
    pub fn clustering_offset(self) -> f64 {
        if self == Affinity::Phi {
            1.0
        } else {
            0.0
        }
    }
}

/// The N x N affinity matrix of a co-occurrence histogram (row-major, f32), every entry
/// [`Affinity::of_table`] computed in f64, plus [`Affinity::clustering_offset`] when `for_clustering`
/// (so `Phi + 1` for Phi). Entries are symmetric; the diagonal is computed like the rest (spectral
/// clustering ignores it).
pub fn cooccurrence_affinity(h: &Cooccurrence, kind: Affinity, for_clustering: bool) -> Vec<f32> {
    let n = h.n_features;
    let total = h.n_chunks as f64;
    let offset = if for_clustering { kind.clustering_offset() } else { 0.0 };
    let diag: Vec<f64> = (0..n).map(|i| h.firing_count(i) as f64).collect();
    let mut out = vec![0f32; n * n];
    let mut rows: Vec<&mut [f32]> = out.chunks_mut(n.max(1)).collect();
    par::for_each_mut(&mut rows, |i, row| {
        let counts = &h.counts[i * n..(i + 1) * n];
        for (j, (value, &n11)) in row.iter_mut().zip(counts).enumerate() {
            *value = (kind.of_table(n11 as f64, diag[i], diag[j], total) + offset) as f32;
        }
    });
    out
}

/// Angular similarity of the rows of `x` (n x d, row-major): `1 - arccos(clip(cos, -1, 1)) / pi`
/// with `cos` the cosine of rows `i` and `j` (paper section 2, geometric clustering). A zero row
/// has cosine 0 with everything (similarity 1/2). Returns n x n, row-major, f32.
///
/// Only the blocks on and above the diagonal are multiplied (one dgemm per block of rows, against
/// the rows from the block's first on: half the `n^2 d` flops of the full product), and the rest is
/// their mirror, so the result is exactly symmetric.
pub fn angular_affinity(x: &[f64], n: usize, d: usize) -> Vec<f32> {
    let unit = unit_rows(x, d);
    let mut out = vec![0f32; n * n];
    const ROWS: usize = 64;
    let mut blocks: Vec<&mut [f32]> = out.chunks_mut(ROWS * n.max(1)).collect();
    par::for_each_mut(&mut blocks, |b, block| {
        let first = b * ROWS;
        let rows = block.len() / n.max(1);
        let width = n - first;
        let mut cos = vec![0f64; rows * width];
        // cos = U[first..first+rows] U[first..]^T, one dgemm per block.
        unsafe {
            crate::compute::gemm::dgemm(
                rows,
                d,
                width,
                1.0,
                unit[first * d..].as_ptr(),
                d as isize,
                1,
                unit[first * d..].as_ptr(),
                1,
                d as isize,
                0.0,
                cos.as_mut_ptr(),
                width as isize,
                1,
            );
        }
        for (r, cos_row) in cos.chunks_exact(width.max(1)).enumerate().take(rows) {
            let row = &mut block[r * n + first..(r + 1) * n];
            for (value, c) in row.iter_mut().zip(cos_row) {
                *value = angular_similarity(*c);
            }
        }
    });
    super::linalg::mirror_upper_to_lower(&mut out, n);
    out
}

/// The rows of `x` (`d` columns) scaled to unit Euclidean norm (a zero row stays zero).
pub fn unit_rows(x: &[f64], d: usize) -> Vec<f64> {
    let mut unit = x.to_vec();
    for row in unit.chunks_mut(d.max(1)) {
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
    unit
}

/// Angular similarity from a cosine: `1 - arccos(clip(cos, -1, 1)) / pi`.
pub fn angular_similarity(cos: f64) -> f32 {
    (1.0 - cos.clamp(-1.0, 1.0).acos() / std::f64::consts::PI) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_by_hand(a: &[bool], b: &[bool]) -> (f64, f64, f64, f64) {
        let n11 = a.iter().zip(b).filter(|(x, y)| **x && **y).count() as f64;
        let n1_ = a.iter().filter(|x| **x).count() as f64;
        let n_1 = b.iter().filter(|x| **x).count() as f64;
        (n11, n1_, n_1, a.len() as f64)
    }

    #[test]
    fn phi_is_the_pearson_correlation_of_the_indicators() {
        let a = [true, true, false, true, false, false, true, false];
        let b = [true, false, false, true, true, false, true, false];
        let (n11, n1_, n_1, n) = table_by_hand(&a, &b);
        let fa: Vec<f64> = a.iter().map(|&v| v as u8 as f64).collect();
        let fb: Vec<f64> = b.iter().map(|&v| v as u8 as f64).collect();
        let (ma, mb) = (fa.iter().sum::<f64>() / n, fb.iter().sum::<f64>() / n);
        let cov: f64 = fa.iter().zip(&fb).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = fa.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = fb.iter().map(|y| (y - mb).powi(2)).sum();
        let pearson = cov / (va * vb).sqrt();
        assert!((Affinity::Phi.of_table(n11, n1_, n_1, n) - pearson).abs() < 1e-12);
        // n11 = 3, n1. = n.1 = 4, 6 of 8 agree: smc 6/8, jaccard 3/5, dice 6/8, overlap 3/4.
        assert_eq!(Affinity::Smc.of_table(n11, n1_, n_1, n), 6.0 / 8.0);
        assert_eq!(Affinity::Jaccard.of_table(n11, n1_, n_1, n), 3.0 / 5.0);
        assert_eq!(Affinity::Dice.of_table(n11, n1_, n_1, n), 6.0 / 8.0);
        assert_eq!(Affinity::Overlap.of_table(n11, n1_, n_1, n), 3.0 / 4.0);
    }

    #[test]
    fn never_and_always_firing_features_give_zero_not_nan() {
        for kind in [Affinity::Jaccard, Affinity::Dice, Affinity::Overlap, Affinity::Phi] {
            assert_eq!(kind.of_table(0.0, 0.0, 0.0, 10.0), 0.0, "{kind:?} never fires");
        }
        // Always fires: Phi's denominator is 0.
        assert_eq!(Affinity::Phi.of_table(4.0, 10.0, 4.0, 10.0), 0.0);
        let h = Cooccurrence { n_features: 2, n_chunks: 10, counts: vec![0, 0, 0, 3] };
        let a = cooccurrence_affinity(&h, Affinity::Phi, true);
        assert_eq!(a, vec![1.0, 1.0, 1.0, 2.0]);
    }

    #[test]
    fn names_round_trip_and_bad_names_are_refused() {
        for kind in Affinity::ALL {
            assert_eq!(Affinity::parse(kind.name()).unwrap(), kind);
        }
        assert_eq!(Affinity::parse("Simple-Matching").unwrap(), Affinity::Smc);
        let err = Affinity::parse("cosine").unwrap_err();
        assert!(err.to_string().contains("phi, jaccard, dice, overlap, smc"));
    }

    #[test]
    fn angular_similarity_of_orthogonal_opposite_and_equal_rows() {
        let x = [1.0, 0.0, 0.0, 2.0, -3.0, 0.0];
        let a = angular_affinity(&x, 3, 2);
        assert!((a[0] - 1.0).abs() < 1e-6);
        assert!((a[1] - 0.5).abs() < 1e-6);
        assert!(a[2].abs() < 1e-6);
        assert_eq!(a[1], a[3]);
    }

    #[test]
    fn angular_affinity_is_every_pair_and_symmetric_across_blocks() {
        // 150 rows: three blocks of the upper-triangle product, the last one short.
        let (n, d) = (150, 7);
        let x: Vec<f64> = (0..n * d).map(|i| ((i * 37 % 101) as f64 - 50.0) / 17.0).collect();
        let a = angular_affinity(&x, n, d);
        let unit = unit_rows(&x, d);
        for i in 0..n {
            for j in 0..n {
                let cos: f64 = (0..d).map(|k| unit[i * d + k] * unit[j * d + k]).sum();
                assert!((a[i * n + j] - angular_similarity(cos)).abs() < 1e-6, "{i} {j}");
                assert_eq!(a[i * n + j], a[j * n + i]);
            }
        }
    }
}
