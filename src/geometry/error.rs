//! The one error type of the geometry module.

use thiserror::Error;

/// What went wrong in a geometry computation, phrased so that the user can act on it.
///
/// [`GeometryError::kind`] gives a stable, machine-readable tag for each variant.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum GeometryError {
    /// The input matrix holds a NaN or an infinite value (checked before anything is computed).
    #[error(
        "the matrix has a non-finite value (NaN or infinity) at row {row}, column {col} \
         (0-based); the file is damaged or was saved from a diverged run: fix or drop that row"
    )]
    NonFinite { row: usize, col: usize },

    /// Too few rows (points) for a sample covariance (ddof = 1 needs at least two).
    #[error(
        "the matrix has {n} row(s), but at least {needed} are needed for a sample covariance; \
         load a decoder matrix with one row per feature (if the file stores it as (d, N), it may \
         need transposing)"
    )]
    TooFewRows { n: usize, needed: usize },

    /// The rank range is impossible for this spectrum.
    #[error("rank range {first}..{last} is not usable: {reason}")]
    RankRangeInvalid {
        first: usize,
        last: usize,
        reason: String,
    },

    /// An eigenvalue inside the rank range is zero (up to rounding) or negative, so its logarithm
    /// is undefined. `rank` is 1-based.
    #[error(
        "eigenvalue {rank} is {value:e}, which is not positive (zero up to rounding: the cloud \
         spans fewer dimensions than the rank range reaches), so its logarithm is undefined; \
         choose a last rank below {rank}"
    )]
    NonPositiveEigenvalue { rank: usize, value: f64 },

    /// A least-squares line cannot be fitted (all x equal, lengths differ, non-finite values, ...).
    #[error("cannot fit a line: {reason}")]
    DegenerateFit { reason: String },

    /// A parameter is out of its range (e.g. zero principal components, fewer than two bootstrap
    /// resamples, an index outside the matrix), or does not fit the matrix's shape.
    #[error("invalid {name}: {reason}")]
    InvalidParameter { name: String, reason: String },

    /// Too few points (rows) for what was asked, e.g. a PCA to 100 dimensions of 80 points.
    #[error("the cloud has {n} point(s), but {purpose} needs at least {needed}")]
    TooFewPoints {
        n: usize,
        needed: usize,
        purpose: String,
    },

    /// The point cloud is degenerate for the computation: it spans fewer dimensions than asked
    /// (a covariance eigenvalue is zero up to rounding), or similar.
    #[error("degenerate point cloud: {reason}")]
    DegenerateCloud { reason: String },
}

impl GeometryError {
    /// A stable tag for the variant: `"non-finite"`, `"too-few-rows"`, `"rank-range"`,
    /// `"non-positive-eigenvalue"`, `"degenerate-fit"`, `"invalid-parameter"`, `"too-few-points"`
    /// or `"degenerate-cloud"`.
    pub fn kind(&self) -> &'static str {
        match self {
            GeometryError::NonFinite { .. } => "non-finite",
            GeometryError::TooFewRows { .. } => "too-few-rows",
            GeometryError::RankRangeInvalid { .. } => "rank-range",
            GeometryError::NonPositiveEigenvalue { .. } => "non-positive-eigenvalue",
            GeometryError::DegenerateFit { .. } => "degenerate-fit",
            GeometryError::InvalidParameter { .. } => "invalid-parameter",
            GeometryError::TooFewPoints { .. } => "too-few-points",
            GeometryError::DegenerateCloud { .. } => "degenerate-cloud",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_distinct_and_messages_actionable() {
        let all = [
            GeometryError::NonFinite { row: 3, col: 7 },
            GeometryError::TooFewRows { n: 1, needed: 2 },
            GeometryError::RankRangeInvalid {
                first: 0,
                last: 5,
                reason: "x".into(),
            },
            GeometryError::NonPositiveEigenvalue {
                rank: 100,
                value: -1e-17,
            },
            GeometryError::DegenerateFit {
                reason: "all x values are identical".into(),
            },
            GeometryError::InvalidParameter {
                name: "pcs".into(),
                reason: "must be at least 1".into(),
            },
            GeometryError::TooFewPoints {
                n: 80,
                needed: 101,
                purpose: "a PCA to 100 dimensions".into(),
            },
            GeometryError::DegenerateCloud { reason: "x".into() },
        ];
        let kinds: Vec<_> = all.iter().map(|e| e.kind()).collect();
        let mut dedup = kinds.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), kinds.len());
        assert!(all[0].to_string().contains("row 3, column 7"));
        assert!(all[1].to_string().contains("at least 2"));
        assert!(all[3].to_string().contains("choose a last rank below 100"));
        assert!(all[6]
            .to_string()
            .contains("80 point(s), but a PCA to 100 dimensions needs at least 101"));
    }
}
