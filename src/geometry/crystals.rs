//! Atom scale (paper section 1): function-vector difference vectors of word pairs, and the
//! word-length distractor.
//!
//! The distractor removal itself is [`super::lda`], its quality [`super::silhouette`], the
//! parallelogram quality of quads [`super::quads`], and the search among SAE features
//! [`super::crystal_search`].

use serde::{Deserialize, Serialize};

use super::pca::pca_standardized;
use super::stats::linregress;
use super::GeometryError;
use crate::matrix::Matrix;

/// The difference vector of each pair, `act(input) - act(output)` (Li et al. 2024, section 1: not
/// normalised), in `f64`: `pairs.len() x d` row-major.
///
/// Errors: `InvalidParameter` if a pair names a row outside `vectors`; `NonFinite` if a vector
/// used holds NaN or infinity.
pub fn difference_vectors(vectors: &Matrix, pairs: &[[u32; 2]]) -> Result<Vec<f64>, GeometryError> {
    let (n, d) = (vectors.rows(), vectors.cols());
    let mut out = Vec::with_capacity(pairs.len() * d);
    for (k, &[a, b]) in pairs.iter().enumerate() {
        let (a, b) = (a as usize, b as usize);
        if a >= n || b >= n {
            return Err(GeometryError::InvalidParameter {
                name: "word pair".into(),
                reason: format!("pair #{k} refers to row {} but the vectors have {n} rows", a.max(b)),
            });
        }
        let (x, y) = (vectors.row(a), vectors.row(b));
        for (c, (&p, &q)) in x.iter().zip(y).enumerate() {
            let v = p as f64 - q as f64;
            if !v.is_finite() {
                return Err(GeometryError::NonFinite { row: if p.is_finite() { b } else { a }, col: c });
            }
            out.push(v);
        }
    }
    Ok(out)
}

/// Characters of a token's string without the tokenizer's word-piece markers: WordPiece's `##`
/// continuation prefix, SentencePiece's `▁` and byte-level BPE's `Ġ` word-start prefixes.
pub fn token_length(token: &str) -> usize {
    let t = token.strip_prefix("##").unwrap_or(token);
    let t = t.strip_prefix('\u{2581}').or_else(|| t.strip_prefix('\u{120}')).unwrap_or(t);
    t.chars().count()
}

/// The word-length distractor fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordLengthFit {
    /// Pairs in the fit.
    pub n: usize,
    /// Pearson r of PC0 against the length difference.
    pub r: f64,
    /// Least-squares slope (PC0 units per character) and intercept.
    pub slope: f64,
    pub intercept: f64,
    /// Two-sided p-value of slope = 0.
    pub p_value: f64,
    /// Share of the z-scored variance along PC0.
    pub explained_variance_ratio: f64,
    /// `len(output token) - len(input token)` per pair.
    pub length_difference: Vec<f64>,
    /// PC0 score per pair.
    pub pc0: Vec<f64>,
}

/// The word-length distractor (paper section 1, Figure 10): z-score the difference vectors per
/// dimension (`StandardScaler`), take the first principal component (`PCA(1)`, scikit-learn's sign
/// convention), and fit `pc0 = slope * dlen + intercept` by least squares (`scipy.stats.linregress`)
/// where `dlen = len(output token) - len(input token)` in characters ([`token_length`]).
///
/// Errors: as [`pca_standardized`] (fewer than 2 pairs, non-finite values), and `DegenerateFit`
/// when every pair has the same length difference.
pub fn word_length_distractor(
    differences: &Matrix,
    length_difference: &[f64],
    progress: &mut dyn FnMut(f64),
) -> Result<WordLengthFit, GeometryError> {
    if differences.rows() != length_difference.len() {
        return Err(GeometryError::InvalidParameter {
            name: "length differences".into(),
            reason: format!("{} for {} difference vectors", length_difference.len(), differences.rows()),
        });
    }
    let fit = pca_standardized(differences, 1, progress)?;
    let pc0 = fit.transform(differences)?;
    let line = linregress(length_difference, &pc0)?;
    Ok(WordLengthFit {
        n: pc0.len(),
        r: line.r_value,
        slope: line.slope,
        intercept: line.intercept,
        p_value: line.p_value,
        // z-scored columns have variance N / (N - 1) each (ddof 0 scaling, ddof 1 variance);
        // constant columns contribute 0.
        explained_variance_ratio: fit.explained_variance[0] / standardized_total_variance(differences),
        length_difference: length_difference.to_vec(),
        pc0,
    })
}

/// Total variance (ddof = 1) of the z-scored columns: `N / (N - 1)` per non-constant column.
fn standardized_total_variance(m: &Matrix) -> f64 {
    let (n, d) = (m.rows(), m.cols());
    let mut non_constant = 0usize;
    for c in 0..d {
        let first = m.row(0)[c];
        if (1..n).any(|r| m.row(r)[c] != first) {
            non_constant += 1;
        }
    }
    non_constant as f64 * n as f64 / (n as f64 - 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_lengths_drop_markers() {
        assert_eq!(token_length("##na"), 2);
        assert_eq!(token_length("\u{2581}Vienna"), 6);
        assert_eq!(token_length("café"), 4);
    }

    #[test]
    fn differences_and_errors() {
        let m = Matrix::new(3, 2, vec![1.0, 2.0, 0.5, 0.0, f32::NAN, 1.0]).unwrap();
        assert_eq!(difference_vectors(&m, &[[0, 1]]).unwrap(), vec![0.5, 2.0]);
        assert!(matches!(difference_vectors(&m, &[[0, 2]]), Err(GeometryError::NonFinite { row: 2, col: 0 })));
        assert!(difference_vectors(&m, &[[0, 3]]).is_err());
    }

    #[test]
    fn length_signal_is_found() {
        // Dimensions 0..3 carry the length difference (plus noise); 3 and 4 are noise.
        let n = 200;
        let mut data = Vec::new();
        let mut dlen = Vec::new();
        let mut s = 7u64;
        for i in 0..n {
            let l = (i % 7) as f64 - 3.0;
            dlen.push(l);
            for c in 0..5 {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                let noise = (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                data.push(if c < 3 { l as f32 + 0.1 * noise } else { noise });
            }
        }
        let m = Matrix::new(n, 5, data).unwrap();
        let fit = word_length_distractor(&m, &dlen, &mut |_| {}).unwrap();
        assert!(fit.r.abs() > 0.99, "r = {}", fit.r);
        assert!(fit.explained_variance_ratio > 0.55 && fit.explained_variance_ratio <= 1.0);
    }
}
