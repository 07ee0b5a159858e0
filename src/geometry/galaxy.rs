//! Galaxy scale (paper section 3): the shape of the whole point cloud.
//!
//! The covariance of the decoder rows (`np.cov(W, rowvar=False)`), its eigenvalue spectrum, a
//! power law fitted to the spectrum over a rank range, the effective volume (sum of log
//! eigenvalues over the same ranks), the same spectrum and fit for an isotropic Gaussian cloud
//! of the same size and total variance (the flat Marchenko-Pastur reference), and optionally the
//! clustering entropy ([`super::entropy`]).

use std::fmt;
use std::str::FromStr;

use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::entropy::{clustering_entropy, clustering_entropy_given, ClusteringEntropy, EntropyParams, SampleProjection};
use super::knn::NeighbourLists;
use super::linalg::symmetric_eigenvalues_desc_with_progress;
use super::stats::{linregress, seeded_rng, student_t_quantile};
use super::GeometryError;
use crate::compute::cpu;
use crate::matrix::Matrix;

/// A range of eigenvalue ranks: 1-based, inclusive on both ends (`first..=last`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankRange {
    pub first: usize,
    pub last: usize,
}

impl RankRange {
    /// Ranks 11..=150: what the authors' code fits (indices 10..149). The default.
    pub const AUTHORS_CODE: RankRange = RankRange { first: 11, last: 150 };
    /// Ranks 1..=100: "the 100 largest eigenvalues", as the paper's text says.
    pub const TOP_100: RankRange = RankRange { first: 1, last: 100 };

    /// `first..=last` (not validated; see [`RankRange::validate`]).
    pub const fn new(first: usize, last: usize) -> Self {
        RankRange { first, last }
    }

    /// Number of ranks in the range (0 if `last < first`).
    pub fn len(&self) -> usize {
        (self.last + 1).saturating_sub(self.first)
    }

    /// True if the range holds no rank.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks the range against a spectrum of `d` eigenvalues: `first >= 1`, at least three ranks
    /// (`last >= first + 2`, so that a line has a residual degree of freedom), `last <= d`.
    pub fn validate(&self, d: usize) -> Result<(), GeometryError> {
        let invalid = |reason: String| {
            Err(GeometryError::RankRangeInvalid {
                first: self.first,
                last: self.last,
                reason,
            })
        };
        if self.first < 1 {
            return invalid("ranks are 1-based: the first rank must be at least 1".into());
        }
        if self.last < self.first.saturating_add(2) {
            return invalid(format!(
                "a power law needs at least 3 ranks, so the last rank must be at least {}",
                self.first.saturating_add(2)
            ));
        }
        if self.last > d {
            return invalid(format!(
                "the matrix has only {d} eigenvalues; choose ranks within 1..{d}"
            ));
        }
        Ok(())
    }

    /// 0-based index range into a descending eigenvalue vector.
    fn indices(&self) -> std::ops::Range<usize> {
        (self.first - 1)..self.last
    }
}

impl Default for RankRange {
    fn default() -> Self {
        RankRange::AUTHORS_CODE
    }
}

impl fmt::Display for RankRange {
    /// `"11..150"`, which [`FromStr`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.first, self.last)
    }
}

/// A rank range string that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot read the rank range {input:?}: {reason}; expected FIRST..LAST (1-based, both ends \
     included, at least 3 ranks), e.g. 11..150 (also written 11-150 or 11..=150)"
)]
pub struct ParseRankRangeError {
    pub input: String,
    pub reason: String,
}

impl FromStr for RankRange {
    type Err = ParseRankRangeError;

    /// Reads `"11..150"`, `"11..=150"` or `"11-150"` (inclusive; surrounding spaces allowed),
    /// and checks what can be checked without the spectrum (`first >= 1`, at least 3 ranks).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| ParseRankRangeError {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let t = s.trim();
        let (a, b) = if let Some((a, b)) = t.split_once("..=") {
            (a, b)
        } else if let Some((a, b)) = t.split_once("..") {
            (a, b)
        } else if let Some((a, b)) = t.split_once('-') {
            (a, b)
        } else {
            return Err(err("no separator (.., ..= or -) between the two ranks"));
        };
        let (a, b) = (a.trim(), b.trim());
        if a.is_empty() || b.is_empty() {
            return Err(err("both the first and the last rank must be given"));
        }
        let first: usize = a
            .parse()
            .map_err(|_| err(&format!("{a:?} is not a whole number")))?;
        let last: usize = b
            .parse()
            .map_err(|_| err(&format!("{b:?} is not a whole number")))?;
        if first < 1 {
            return Err(err("ranks are 1-based, so the first rank must be at least 1"));
        }
        if last < first.saturating_add(2) {
            return Err(err("a power law needs at least 3 ranks (last >= first + 2)"));
        }
        Ok(RankRange { first, last })
    }
}

/// Settings of [`galaxy_spectrum`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GalaxyParams {
    /// Ranks of the power-law fit and the effective volume. Default 11..=150.
    pub ranks: RankRange,
    /// Seed of the isotropic reference cloud. Default 0.
    pub seed: u64,
    /// Whether to compute the isotropic Gaussian reference (doubles the work). Default true.
    pub isotropic: bool,
    /// The clustering entropy's settings, or `None` to skip it. Default `None` (the CLI turns it
    /// on with the paper's settings, [`EntropyParams::default`]); its `seed` is its own (the CLI
    /// passes `--seed` to both).
    #[serde(default)]
    pub entropy: Option<EntropyParams>,
    /// Analyse a uniform random sample of this many features (rows) instead of all of them:
    /// `sorted(np.random.RandomState(seed).choice(N, sample, replace=False))`. `None` (the
    /// default) analyses every row; a browser tab sets it when the matrix exceeds its memory
    /// budget ([`crate::analysis::budget`]), and the report discloses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<usize>,
}

impl Default for GalaxyParams {
    fn default() -> Self {
        GalaxyParams {
            ranks: RankRange::default(),
            seed: 0,
            isotropic: true,
            entropy: None,
            sample: None,
        }
    }
}

/// A power law `lambda_r ~ 10^intercept * r^slope` fitted to ranks `first_rank..=last_rank`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PowerLawFit {
    /// Slope of log10(eigenvalue) on log10(rank).
    pub slope: f64,
    /// Intercept of the same line (log10 of the eigenvalue at rank 1 on the line).
    pub intercept: f64,
    /// Pearson r of the log-log points (0 for an exactly flat spectrum, where scipy gives NaN).
    pub r_value: f64,
    /// Standard error of the slope (scipy.stats.linregress).
    pub stderr: f64,
    /// 95% interval of the slope: `slope -+ t_{0.975, n-2} * stderr`, n = number of ranks.
    pub ci95: [f64; 2],
    pub first_rank: usize,
    pub last_rank: usize,
}

/// Everything the galaxy scale reports for one matrix.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GalaxySpectrum {
    /// Rows (points) of the matrix.
    pub n: usize,
    /// Columns (dimensions) of the matrix; also the number of eigenvalues.
    pub d: usize,
    /// All d covariance eigenvalues, descending.
    pub eigenvalues: Vec<f64>,
    pub power_law: PowerLawFit,
    /// Effective volume: sum of ln(eigenvalue) over the fit's ranks.
    pub log_volume: f64,
    /// Eigenvalues of the isotropic reference, descending (empty if it was not requested).
    pub isotropic_eigenvalues: Vec<f64>,
    /// Slope of the isotropic reference over the same ranks (None if not requested or not
    /// fittable, e.g. n <= last rank so its trailing eigenvalues are zero).
    pub isotropic_slope: Option<f64>,
    pub isotropic_power_law: Option<PowerLawFit>,
    /// Seed the isotropic reference was drawn with.
    pub isotropic_seed: u64,
    /// The clustering entropy (None if it was not requested).
    #[serde(default)]
    pub entropy: Option<ClusteringEntropy>,
    /// The same clustering entropy of the isotropic reference cloud (None unless both the
    /// reference and the entropy were requested): what a cloud with no structure scores, for
    /// comparison (far above 0: bootstrap duplicates sit at distance 0, see PAPER.md).
    #[serde(default)]
    pub isotropic_entropy: Option<ClusteringEntropy>,
}

/// The threshold at or below which an eigenvalue counts as zero: `lambda_max * d * f64::EPSILON`
/// (numpy's `matrix_rank` convention). Eigenvalues of a rank-deficient covariance (N <= d) come out
/// of floating point as tiny numbers of either sign; treating them all as zero makes the outcome
/// independent of the rounding noise (numpy's log10 of the negative ones gives NaN fits).
fn zero_tolerance(eigenvalues_desc: &[f64]) -> f64 {
    let max = eigenvalues_desc
        .iter()
        .fold(0f64, |a, &v| if v.is_finite() { a.max(v.abs()) } else { a });
    max * eigenvalues_desc.len() as f64 * f64::EPSILON
}

/// Checks the range and that every eigenvalue in it is positive (above the rounding noise).
fn checked_slice(eigenvalues_desc: &[f64], ranks: RankRange) -> Result<&[f64], GeometryError> {
    ranks.validate(eigenvalues_desc.len())?;
    let tol = zero_tolerance(eigenvalues_desc);
    let slice = &eigenvalues_desc[ranks.indices()];
    if let Some(i) = slice.iter().position(|&v| v.is_nan() || v <= tol) {
        return Err(GeometryError::NonPositiveEigenvalue {
            rank: ranks.first + i,
            value: slice[i],
        });
    }
    Ok(slice)
}

/// Power law of the eigenvalue spectrum: least squares of log10(lambda_r) on log10(r) over ranks
/// first..=last, slope with 95% interval slope +- t_{0.975, n-2} * stderr.
///
/// `scipy.stats.linregress(np.log10(ranks), np.log10(eigs[first-1:last]))` and
/// `scipy.stats.t.ppf(0.975, n - 2)`.
///
/// Errors: `RankRangeInvalid` (first < 1, fewer than 3 ranks, last > number of eigenvalues),
/// `NonPositiveEigenvalue` (an eigenvalue in the range is <= `lambda_max * d * eps`, i.e. zero up to
/// rounding, or negative, or NaN), `DegenerateFit` (non-finite values).
pub fn power_law_fit(eigenvalues_desc: &[f64], ranks: RankRange) -> Result<PowerLawFit, GeometryError> {
    let slice = checked_slice(eigenvalues_desc, ranks)?;
    let x: Vec<f64> = (ranks.first..=ranks.last).map(|r| (r as f64).log10()).collect();
    let y: Vec<f64> = slice.iter().map(|v| v.log10()).collect();
    let fit = linregress(&x, &y)?;
    // An exactly flat spectrum: scipy's r and stderr are NaN (0/0); the line fits exactly, so
    // report r = 0 and stderr = 0 (keeps the result serialisable as JSON numbers).
    let (r_value, stderr) = if fit.r_value.is_nan() {
        (0.0, 0.0)
    } else {
        (fit.r_value, fit.stderr)
    };
    let t = student_t_quantile(0.975, (x.len() - 2) as f64);
    Ok(PowerLawFit {
        slope: fit.slope,
        intercept: fit.intercept,
        r_value,
        stderr,
        ci95: [fit.slope - t * stderr, fit.slope + t * stderr],
        first_rank: ranks.first,
        last_rank: ranks.last,
    })
}

/// Effective volume: sum of ln(lambda_r) over the ranks.
///
/// `np.sum(np.log(eigs[first-1:last]))`. Same errors as [`power_law_fit`] (minus `DegenerateFit`).
pub fn log_volume(eigenvalues_desc: &[f64], ranks: RankRange) -> Result<f64, GeometryError> {
    Ok(checked_slice(eigenvalues_desc, ranks)?
        .iter()
        .map(|v| v.ln())
        .sum())
}

fn check_input(m: &Matrix) -> Result<(), GeometryError> {
    if let Some((row, col)) = m.first_non_finite() {
        return Err(GeometryError::NonFinite { row, col });
    }
    if m.rows() < 2 {
        return Err(GeometryError::TooFewRows {
            n: m.rows(),
            needed: 2,
        });
    }
    Ok(())
}

/// Eigenvalues (descending) of the covariance of the rows of m.
///
/// `np.linalg.eigvalsh(np.cov(W, rowvar=False))[::-1]`. `progress(fraction)` follows the
/// covariance and then the eigenvalue step (shares by [`StageWeights`]).
/// Errors: `NonFinite` (checked first), `TooFewRows` (fewer than 2 rows).
pub fn covariance_spectrum(m: &Matrix, progress: &mut dyn FnMut(f64)) -> Result<Vec<f64>, GeometryError> {
    check_input(m)?;
    let w = StageWeights::new(m.rows(), m.cols(), false, None);
    let cov_share = w.covariance / (w.covariance + w.eigenvalues);
    let c = cpu::covariance(m, &mut |f| progress(cov_share * f));
    Ok(symmetric_eigenvalues_desc_with_progress(c, m.cols(), &mut |f| {
        progress(cov_share + (1.0 - cov_share) * f)
    }))
}

/// Rows per generated block of the isotropic cloud.
const ISO_BLOCK_ROWS: usize = cpu::BLOCK_ROWS;

/// The isotropic Gaussian cloud itself: `n x d` entries `sqrt(variance) * z`, z standard normal,
/// drawn row by row from `seeded_rng(seed)` in the same order as [`isotropic_spectrum`], so this
/// is the very cloud whose spectrum that function computes (f32 storage).
///
/// Errors: as [`isotropic_spectrum`].
pub fn isotropic_cloud(n: usize, d: usize, variance: f64, seed: u64) -> Result<Matrix, GeometryError> {
    if n < 2 {
        return Err(GeometryError::TooFewRows { n, needed: 2 });
    }
    let mut data = vec![0f32; n * d];
    IsotropicRows::new(variance, seed)?.fill(&mut data);
    Matrix::new(n, d, data).map_err(|e| GeometryError::DegenerateFit { reason: e.to_string() })
}

/// The isotropic reference's per-coordinate variance must be finite and non-negative.
fn check_variance(variance: f64) -> Result<(), GeometryError> {
    if variance.is_finite() && variance >= 0.0 {
        return Ok(());
    }
    Err(GeometryError::DegenerateFit {
        reason: format!("the isotropic reference needs a finite, non-negative variance, got {variance}"),
    })
}

/// The values of [`isotropic_cloud`] drawn a block at a time: `sqrt(variance) z` rounded to
/// `f32`, `z ~ StandardNormal` from [`seeded_rng`]`(seed)`, row-major, so that filling blocks in
/// order gives the cloud's rows in order whatever the block sizes.
pub struct IsotropicRows {
    rng: rand_chacha::ChaCha8Rng,
    sd: f64,
}

impl IsotropicRows {
    /// Errors: `DegenerateFit` for a negative or non-finite variance.
    pub fn new(variance: f64, seed: u64) -> Result<IsotropicRows, GeometryError> {
        check_variance(variance)?;
        Ok(IsotropicRows { rng: seeded_rng(seed), sd: variance.sqrt() })
    }

    /// The next `out.len()` values of the cloud.
    pub fn fill(&mut self, out: &mut [f32]) {
        for v in out {
            let z: f64 = StandardNormal.sample(&mut self.rng);
            *v = (self.sd * z) as f32;
        }
    }
}

/// An isotropic Gaussian cloud with the same n, d and total variance (each coordinate
/// N(0, trace(C)/d)), seeded (ChaCha8 + StandardNormal), and its spectrum. Generate in row blocks
/// so memory stays O(block x d), not n x d.
///
/// The values are drawn row-major from [`seeded_rng`]`(seed)` as `sqrt(variance) * z`,
/// `z ~ StandardNormal` (f64), so the cloud does not depend on the block size. Its sample
/// covariance (ddof = 1) is accumulated in one pass as `(sum x x^T - s s^T / n) / (n - 1)`,
/// `s = sum x` (no cancellation to fear: the true mean is 0). The same seed gives bit-identical
/// eigenvalues on one platform, whatever the number of threads. Natively the next block of rows
/// is drawn (from the one sequential stream) while the current block's Gram matrix is
/// accumulated.
///
/// `progress(fraction)` follows the drawing and the Gram matrix, then the eigenvalue step (shares
/// by [`StageWeights`]), and ends at exactly 1.
///
/// Errors: `TooFewRows` (n < 2), `DegenerateFit` (variance negative or not finite).
pub fn isotropic_spectrum(
    n: usize,
    d: usize,
    variance: f64,
    seed: u64,
    progress: &mut dyn FnMut(f64),
) -> Result<Vec<f64>, GeometryError> {
    if n < 2 {
        return Err(GeometryError::TooFewRows { n, needed: 2 });
    }
    check_variance(variance)?;
    if d == 0 {
        progress(1.0);
        return Ok(Vec::new());
    }
    let weights = StageWeights::new(n, d, true, None);
    let gram_share = (weights.isotropic - weights.eigenvalues) / weights.isotropic;
    let sd = variance.sqrt();
    let mut rng = seeded_rng(seed);
    let mut acc = vec![0f64; d * d];
    let mut sum = vec![0f64; d];
    let blocks = n.div_ceil(ISO_BLOCK_ROWS);
    let block_rows = |b: usize| ISO_BLOCK_ROWS.min(n - b * ISO_BLOCK_ROWS);
    // Draws the next `rows` rows into `block` and their column sums into `partial`.
    let draw = |rng: &mut rand_chacha::ChaCha8Rng, block: &mut [f64], partial: &mut [f64]| {
        for v in block.iter_mut() {
            let z: f64 = StandardNormal.sample(rng);
            *v = sd * z;
        }
        partial.iter_mut().for_each(|p| *p = 0.0);
        for row in block.chunks_exact(d) {
            for (s, &v) in partial.iter_mut().zip(row) {
                *s += v;
            }
        }
    };
    // Double-buffered: block b + 1 is drawn (the RNG stream is sequential, so the cloud is the same)
    // while block b's Gram matrix is accumulated.
    let mut cur = vec![0f64; ISO_BLOCK_ROWS.min(n) * d];
    let mut next = cur.clone();
    let (mut cur_sum, mut next_sum) = (vec![0f64; d], vec![0f64; d]);
    draw(&mut rng, &mut cur[..block_rows(0) * d], &mut cur_sum);
    for b in 0..blocks {
        let rows = block_rows(b);
        for (s, p) in sum.iter_mut().zip(&cur_sum) {
            *s += p;
        }
        let mut prepare_next = || {
            if b + 1 < blocks {
                draw(&mut rng, &mut next[..block_rows(b + 1) * d], &mut next_sum);
            }
        };
        cpu::gram_upper_accumulate_with(&cur[..rows * d], rows, d, &mut acc, Some(&mut prepare_next));
        std::mem::swap(&mut cur, &mut next);
        std::mem::swap(&mut cur_sum, &mut next_sum);
        progress(gram_share * (b + 1) as f64 / blocks as f64);
    }
    let nf = n as f64;
    for i in 0..d {
        for j in i..d {
            acc[i * d + j] -= sum[i] * sum[j] / nf;
        }
    }
    cpu::finish_symmetric(&mut acc, d, 1.0 / (nf - 1.0));
    Ok(symmetric_eigenvalues_desc_with_progress(acc, d, &mut |f| {
        progress(gram_share + (1.0 - gram_share) * f)
    }))
}

/// Rough relative costs of the stages, for an overall progress fraction.
struct StageWeights {
    covariance: f64,
    eigenvalues: f64,
    /// The whole isotropic reference: drawing, Gram matrix and eigenvalues.
    isotropic: f64,
    /// The clustering entropy.
    entropy: f64,
}

impl StageWeights {
    fn new(n: usize, d: usize, isotropic: bool, entropy: Option<&EntropyParams>) -> Self {
        let (n, d) = (n as f64, d as f64);
        // Calibrated on the 2-core x86-64 development machine (release, 2 threads), in units of
        // about 0.1 ns: the upper-triangle blocked Gram ~0.25 n d^2 (2.0 s at 16384 x 2304), the
        // eigenvalues (two-stage tridiagonalisation + dsterf) ~0.5 d^3 (0.6 s at d = 2304), the
        // ChaCha8 Gaussian draws, overlapped with the Gram matrix, ~10 n d. In the browser
        // (one thread) the Gram and the eigenvalues both take about 4-5 times longer, so the
        // shares are about the same.
        let cov = 0.25 * n * d * d;
        let eig = 0.5 * d * d * d;
        let iso = if isotropic { cov + 10.0 * n * d + eig } else { 0.0 };
        // The entropy: the sample's covariance and the one-stage reduction with vectors (~d^3),
        // the neighbour lists (~0.5 s^2 p in dgemm plus the selection), the resamples.
        let one_entropy = entropy.map_or(0.0, |p| {
            let s = (p.samples as f64).min(n);
            let (pc, b) = (p.pcs as f64, p.bootstrap as f64);
            0.25 * s * d * d
                + d * d * d
                + 0.5 * s * s * pc
                + 4.0 * s * s
                + b * (0.25 * s * pc * pc + pc * pc * pc)
        });
        // The isotropic reference's entropy costs the same again.
        let ent = if isotropic { 2.0 * one_entropy } else { one_entropy };
        let total = cov + eig + iso + ent;
        // The fit and the log volume (O(ranks)) get the last 1%.
        let total = total * 1.01;
        StageWeights {
            covariance: cov / total,
            eigenvalues: eig / total,
            isotropic: iso / total,
            entropy: ent / total,
        }
    }
}

/// Everything above. progress(stage, fraction_overall) with stage one of "covariance",
/// "eigenvalues", "isotropic reference", "entropy", "fit".
///
/// Checks the input first (`NonFinite`, `TooFewRows`, then `RankRangeInvalid` against d, then the
/// entropy's parameters against the shape: `InvalidParameter`, `TooFewPoints`) so that nothing
/// heavy runs on input that will fail. The isotropic reference uses the variance
/// `trace(C) / d`; its fit is `None` when it cannot be made (e.g. n smaller than the last rank).
/// The clustering entropy ([`clustering_entropy`]) runs last, when `params.entropy` is set; its
/// errors (e.g. `DegenerateCloud`) fail the whole analysis.
pub fn galaxy_spectrum(
    m: &Matrix,
    params: &GalaxyParams,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<GalaxySpectrum, GeometryError> {
    galaxy_spectrum_with_covariances(m, params, None, progress)
}

/// Covariance matrices computed elsewhere (a GPU backend, [`crate::compute::backend`]) for
/// [`galaxy_spectrum_with_covariances`]: `d x d` row-major `f64`, `np.cov(., rowvar=False)`.
#[derive(Debug, Clone)]
pub struct Precomputed {
    /// The covariance of the analysed rows.
    pub data: Vec<f64>,
    /// The covariance of [`isotropic_cloud`]`(n, d, trace(data) / d, seed)`, when
    /// `params.isotropic`; `None` draws and accumulates it here on the CPU.
    pub isotropic: Option<Vec<f64>>,
    /// The clustering entropy's projected sample and neighbour lists of the analysed rows
    /// ([`crate::geometry::entropy::clustering_entropy_given`]); `None`: found here.
    pub entropy: Option<GivenNeighbours>,
    /// The same for the isotropic reference's entropy.
    pub isotropic_entropy: Option<GivenNeighbours>,
}

/// An entropy's projected sample and its neighbour lists, found elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct GivenNeighbours {
    pub projected: SampleProjection,
    pub lists: NeighbourLists,
}

/// [`galaxy_spectrum`], with the covariance matrices given instead of computed on the CPU when
/// `given` is `Some` (everything after them, eigenvalues, fits and entropy, is the same code).
/// Errors as [`galaxy_spectrum`], and `InvalidParameter` when a given matrix is not `d x d`.
pub fn galaxy_spectrum_with_covariances(
    m: &Matrix,
    params: &GalaxyParams,
    given: Option<Precomputed>,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<GalaxySpectrum, GeometryError> {
    check_input(m)?;
    let d = m.cols();
    if let Some(g) = &given {
        let wrong = |v: &Vec<f64>| v.len() != d * d;
        if wrong(&g.data) || g.isotropic.as_ref().is_some_and(wrong) {
            return Err(GeometryError::InvalidParameter {
                name: "covariance".into(),
                reason: format!("a given covariance is not {d} x {d}"),
            });
        }
    }
    let (given_data, given_isotropic, given_entropy, given_isotropic_entropy) = match given {
        Some(g) => (Some(g.data), g.isotropic, g.entropy, g.isotropic_entropy),
        None => (None, None, None, None),
    };
    let n = m.rows();
    params.ranks.validate(d)?;
    if let Some(e) = &params.entropy {
        e.validate(n, d)?;
    }
    let w = StageWeights::new(n, d, params.isotropic, params.entropy.as_ref());

    let mut done = 0.0;
    progress("covariance", 0.0);
    let c = match given_data {
        Some(c) => c,
        None => cpu::covariance(m, &mut |f| progress("covariance", done + w.covariance * f)),
    };
    done += w.covariance;
    let trace: f64 = (0..d).map(|i| c[i * d + i]).sum();

    progress("eigenvalues", done);
    let start = done;
    let eigenvalues = symmetric_eigenvalues_desc_with_progress(c, d, &mut |f| {
        progress("eigenvalues", start + w.eigenvalues * f)
    });
    done += w.eigenvalues;
    progress("eigenvalues", done);
    // Fit now (cheap), so that a spectrum that cannot be fitted fails before the reference is drawn.
    let power_law = power_law_fit(&eigenvalues, params.ranks)?;
    let log_volume = log_volume(&eigenvalues, params.ranks)?;

    let mut isotropic_eigenvalues = Vec::new();
    if params.isotropic {
        progress("isotropic reference", done);
        let start = done;
        isotropic_eigenvalues = match given_isotropic {
            Some(c) => symmetric_eigenvalues_desc_with_progress(c, d, &mut |f| {
                progress("isotropic reference", start + w.isotropic * f)
            }),
            None => isotropic_spectrum(n, d, trace / d as f64, params.seed, &mut |f| {
                progress("isotropic reference", start + w.isotropic * f)
            })?,
        };
        done += w.isotropic;
        progress("isotropic reference", done);
    }

    let (mut entropy, mut isotropic_entropy) = (None, None);
    if let Some(ep) = &params.entropy {
        progress("entropy", done);
        let start = done;
        let share = if params.isotropic { 0.5 * w.entropy } else { w.entropy };
        let mut p = |f| progress("entropy", start + share * f);
        entropy = Some(match &given_entropy {
            Some(g) => clustering_entropy_given((n, d), ep, &g.projected, &g.lists, &mut p)?,
            None => clustering_entropy(m, ep, &mut p)?,
        });
        done += share;
        progress("entropy", done);
        if params.isotropic {
            let start = done;
            let mut p = |f| progress("isotropic entropy", start + share * f);
            isotropic_entropy = Some(match &given_isotropic_entropy {
                Some(g) => clustering_entropy_given((ep.samples.min(n), d), ep, &g.projected, &g.lists, &mut p)?,
                None => isotropic_clustering_entropy(n, d, trace / d as f64, params.seed, ep, &mut p)?,
            });
            done += share;
            progress("isotropic entropy", done);
        }
    }

    progress("fit", done);
    let isotropic_power_law = if params.isotropic {
        power_law_fit(&isotropic_eigenvalues, params.ranks).ok()
    } else {
        None
    };
    progress("fit", 1.0);

    Ok(GalaxySpectrum {
        n,
        d,
        eigenvalues,
        power_law,
        log_volume,
        isotropic_eigenvalues,
        isotropic_slope: isotropic_power_law.as_ref().map(|f| f.slope),
        isotropic_power_law,
        isotropic_seed: params.seed,
        entropy,
        isotropic_entropy,
    })
}

/// The clustering entropy ([`clustering_entropy`] with `params`) of the isotropic Gaussian cloud
/// of [`isotropic_cloud`]`(n, d, variance, seed)`: the reference line of the entropy panel.
///
/// Only the `min(params.samples, n)` rows that the entropy samples are drawn: the first rows of
/// that very cloud (it is drawn row by row from one stream). Its rows are independent and
/// identically distributed, so they are distributed exactly as a random sample of the whole
/// cloud; `variance` does not matter after the z-scoring, but is kept so that the cloud is the
/// same as the spectrum's reference.
///
/// Errors: as [`isotropic_cloud`] and [`clustering_entropy`].
pub fn isotropic_clustering_entropy(
    n: usize,
    d: usize,
    variance: f64,
    seed: u64,
    params: &EntropyParams,
    progress: &mut dyn FnMut(f64),
) -> Result<ClusteringEntropy, GeometryError> {
    let cloud = isotropic_entropy_cloud(n, d, variance, seed, params)?;
    clustering_entropy(&cloud, params, progress)
}

/// The rows of the isotropic reference that its clustering entropy samples: the first
/// `min(params.samples, n)` rows of [`isotropic_cloud`]`(n, d, variance, seed)`.
pub fn isotropic_entropy_cloud(n: usize, d: usize, variance: f64, seed: u64, params: &EntropyParams) -> Result<Matrix, GeometryError> {
    isotropic_cloud(params.samples.min(n), d, variance, seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::linalg::symmetric_eigenvalues_desc;

    fn planted(n: usize, d: usize, seed: u64) -> Matrix {
        // Independent coordinates with variance r^-0.8: spectrum ~ r^-0.8.
        let mut rng = seeded_rng(seed);
        let data = (0..n * d)
            .map(|k| {
                let z: f64 = StandardNormal.sample(&mut rng);
                (z * ((k % d + 1) as f64).powf(-0.4) + 0.5) as f32
            })
            .collect();
        Matrix::new(n, d, data).unwrap()
    }

    #[test]
    fn rank_range_parsing() {
        for s in ["11..150", "11..=150", "11-150", " 11 .. 150 "] {
            assert_eq!(s.parse::<RankRange>().unwrap(), RankRange::new(11, 150), "{s}");
        }
        assert_eq!(RankRange::default(), RankRange::new(11, 150));
        assert_eq!(
            RankRange::TOP_100.to_string().parse::<RankRange>().unwrap(),
            RankRange::TOP_100
        );
        for s in ["", "11", "11..", "a..b", "0..10", "5..6", "-3..5", "11...150"] {
            let e = s.parse::<RankRange>().unwrap_err();
            assert!(e.to_string().contains("expected FIRST..LAST"), "{s}: {e}");
        }
        assert_eq!(RankRange::new(11, 150).len(), 140);
    }

    #[test]
    fn rank_range_invalid_variants() {
        let eig: Vec<f64> = (1..=20).map(|r| (r as f64).powf(-0.5)).collect();
        for (r, needle) in [
            (RankRange::new(0, 10), "1-based"),
            (RankRange::new(5, 6), "at least 3 ranks"),
            (
                RankRange::new(11, 150),
                "the matrix has only 20 eigenvalues; choose ranks within 1..20",
            ),
        ] {
            let e = power_law_fit(&eig, r).unwrap_err();
            assert_eq!(e.kind(), "rank-range");
            assert!(e.to_string().contains(needle), "{e}");
            assert_eq!(log_volume(&eig, r).unwrap_err().kind(), "rank-range");
        }
        assert!(power_law_fit(&eig, RankRange::new(18, 20)).is_ok());
    }

    #[test]
    fn non_positive_eigenvalue_names_the_rank() {
        let mut eig: Vec<f64> = (1..=20).map(|r| (r as f64).powf(-0.5)).collect();
        eig[14] = 1e-18; // rank 15: zero up to rounding
        eig[15] = -1e-17;
        let e = power_law_fit(&eig, RankRange::new(2, 20)).unwrap_err();
        assert_eq!(
            e,
            GeometryError::NonPositiveEigenvalue {
                rank: 15,
                value: 1e-18
            }
        );
        assert!(e.to_string().contains("choose a last rank below 15"));
        assert_eq!(
            log_volume(&eig, RankRange::new(2, 20)).unwrap_err().kind(),
            "non-positive-eigenvalue"
        );
        assert!(power_law_fit(&eig, RankRange::new(2, 14)).is_ok());
        eig[3] = f64::NAN;
        assert_eq!(
            power_law_fit(&eig, RankRange::new(2, 14)).unwrap_err().kind(),
            "non-positive-eigenvalue"
        );
    }

    #[test]
    fn exact_power_law_and_flat_spectrum() {
        let eig: Vec<f64> = (1..=200).map(|r| 3.0 * (r as f64).powf(-0.7)).collect();
        let f = power_law_fit(&eig, RankRange::default()).unwrap();
        assert!((f.slope + 0.7).abs() < 1e-12);
        assert!((f.intercept - 3f64.log10()).abs() < 1e-12);
        assert!(f.ci95[0] <= f.slope && f.slope <= f.ci95[1]);
        let lv = log_volume(&eig, RankRange::new(1, 3)).unwrap();
        assert!((lv - (3.0f64.ln() * 3.0 - 0.7 * (2f64.ln() + 3f64.ln()))).abs() < 1e-12);
        let flat = power_law_fit(&[2.0; 10], RankRange::new(1, 10)).unwrap();
        assert_eq!(
            (flat.slope, flat.r_value, flat.stderr, flat.ci95),
            (0.0, 0.0, 0.0, [0.0, 0.0])
        );
    }

    #[test]
    fn input_errors_come_first() {
        let mut data = vec![1.0f32; 3 * 4];
        data[6] = f32::INFINITY;
        let m = Matrix::new(3, 4, data).unwrap();
        let p = GalaxyParams {
            ranks: RankRange::new(50, 10),
            ..Default::default()
        };
        assert_eq!(
            galaxy_spectrum(&m, &p, &mut |_, _| {}).unwrap_err(),
            GeometryError::NonFinite { row: 1, col: 2 }
        );
        assert_eq!(
            covariance_spectrum(&m, &mut |_| {}).unwrap_err().kind(),
            "non-finite"
        );
        let one = Matrix::new(1, 4, vec![1.0; 4]).unwrap();
        assert_eq!(
            galaxy_spectrum(&one, &p, &mut |_, _| {}).unwrap_err(),
            GeometryError::TooFewRows { n: 1, needed: 2 }
        );
        assert_eq!(
            isotropic_spectrum(1, 4, 1.0, 0, &mut |_| {}).unwrap_err().kind(),
            "too-few-rows"
        );
        assert_eq!(
            isotropic_spectrum(5, 4, f64::NAN, 0, &mut |_| {})
                .unwrap_err()
                .kind(),
            "degenerate-fit"
        );
        let ok = planted(10, 4, 1);
        assert_eq!(
            galaxy_spectrum(&ok, &GalaxyParams::default(), &mut |_, _| {})
                .unwrap_err()
                .kind(),
            "rank-range"
        );
    }

    #[test]
    fn isotropic_reference_is_the_same_on_any_thread_count() {
        use crate::compute::par::with_threads;
        // Several row blocks (the next block is drawn while the current one is accumulated).
        let n = 3 * ISO_BLOCK_ROWS + 11;
        let mut seen = Vec::new();
        let one = with_threads(1, || isotropic_spectrum(n, 150, 2.0, 4, &mut |f| seen.push(f)).unwrap());
        assert!(seen.len() > 4 && seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert_eq!(seen.last(), Some(&1.0));
        for t in [2, 5] {
            let other = with_threads(t, || isotropic_spectrum(n, 150, 2.0, 4, &mut |_| {}).unwrap());
            assert!(one.iter().zip(&other).all(|(a, b)| a.to_bits() == b.to_bits()), "{t} threads");
        }
        // The cloud itself: its covariance is the sample covariance of the rows drawn in order.
        let mut rng = seeded_rng(4);
        let sd = 2f64.sqrt();
        let rows: Vec<f64> = (0..n * 150)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                sd * z
            })
            .collect();
        let mut cov = vec![0f64; 150 * 150];
        let mut mean = vec![0f64; 150];
        for r in rows.chunks_exact(150) {
            for (m, v) in mean.iter_mut().zip(r) {
                *m += v / n as f64;
            }
        }
        for r in rows.chunks_exact(150) {
            for i in 0..150 {
                for j in 0..150 {
                    cov[i * 150 + j] += (r[i] - mean[i]) * (r[j] - mean[j]) / (n - 1) as f64;
                }
            }
        }
        let want = symmetric_eigenvalues_desc(cov, 150);
        for (a, b) in one.iter().zip(&want) {
            assert!((a - b).abs() < 1e-12 * want[0], "{a} vs {b}");
        }
    }

    #[test]
    fn galaxy_end_to_end_and_progress() {
        let m = planted(600, 40, 3);
        let params = GalaxyParams {
            ranks: RankRange::new(3, 30),
            seed: 9,
            isotropic: true,
            entropy: Some(EntropyParams {
                samples: 500,
                pcs: 20,
                bootstrap: 4,
                seed: 9,
                ..Default::default()
            }),
            sample: None,
        };
        let mut calls: Vec<(String, f64)> = Vec::new();
        let g = galaxy_spectrum(&m, &params, &mut |s, f| calls.push((s.to_string(), f))).unwrap();
        assert_eq!(
            (g.n, g.d, g.eigenvalues.len(), g.isotropic_eigenvalues.len()),
            (600, 40, 40, 40)
        );
        assert!((g.power_law.slope + 0.8).abs() < 0.15, "{:?}", g.power_law);
        let iso = g.isotropic_slope.unwrap();
        assert!(iso.abs() < 0.35 && iso > g.power_law.slope + 0.3, "{iso}");
        assert_eq!(g.isotropic_seed, 9);
        // Total variance preserved (in expectation): traces agree to a few percent.
        let (t1, t2): (f64, f64) = (g.eigenvalues.iter().sum(), g.isotropic_eigenvalues.iter().sum());
        assert!((t1 - t2).abs() / t1 < 0.05);
        let stages: Vec<&str> = calls.iter().map(|(s, _)| s.as_str()).collect();
        for s in [
            "covariance",
            "eigenvalues",
            "isotropic reference",
            "entropy",
            "isotropic entropy",
            "fit",
        ] {
            assert!(stages.contains(&s), "{s}");
        }
        // The reference's entropy is that of the first 500 rows of the very isotropic cloud whose
        // spectrum is reported, with the same settings.
        let ep = params.entropy.as_ref().unwrap();
        let c = cpu::covariance(&m, &mut |_| {});
        let variance = (0..40).map(|i| c[i * 40 + i]).sum::<f64>() / 40.0;
        let head = isotropic_cloud(600, 40, variance, 9).unwrap();
        let head = Matrix::new(500, 40, head.as_slice()[..500 * 40].to_vec()).unwrap();
        let direct = clustering_entropy(&head, ep, &mut |_| {}).unwrap();
        let iso_entropy = g.isotropic_entropy.as_ref().unwrap();
        assert_eq!(iso_entropy.clustering, direct.clustering);
        assert!(calls.windows(2).all(|w| w[0].1 <= w[1].1 + 1e-12), "{calls:?}");
        assert_eq!(calls.last().unwrap().1, 1.0);
        // Round trip through JSON (serde_json without its `float_roundtrip` feature may change
        // the last bit of a float, so compare to 1 ulp-ish).
        let back: GalaxySpectrum = serde_json::from_str(&serde_json::to_string(&g).unwrap()).unwrap();
        assert_eq!(
            (back.n, back.d, back.isotropic_seed),
            (g.n, g.d, g.isotropic_seed)
        );
        for (a, b) in back
            .eigenvalues
            .iter()
            .chain(&back.isotropic_eigenvalues)
            .zip(g.eigenvalues.iter().chain(&g.isotropic_eigenvalues))
        {
            assert!((a - b).abs() <= 4.0 * f64::EPSILON * b.abs());
        }
        assert!(
            (back.power_law.slope - g.power_law.slope).abs() <= 4.0 * f64::EPSILON * g.power_law.slope.abs()
        );

        let e = g.entropy.as_ref().unwrap();
        assert_eq!((e.samples, e.pcs, e.bootstrap), (500, 20, 4));
        assert_eq!(back.entropy, g.entropy);

        let no_iso = galaxy_spectrum(
            &m,
            &GalaxyParams {
                isotropic: false,
                entropy: None,
                ..params.clone()
            },
            &mut |_, _| {},
        )
        .unwrap();
        assert!(no_iso.isotropic_eigenvalues.is_empty() && no_iso.isotropic_slope.is_none());
        assert!(no_iso.entropy.is_none());
        assert_eq!(no_iso.eigenvalues, g.eigenvalues);
        // Entropy parameters that cannot work fail before anything heavy runs.
        let mut stages = Vec::new();
        let err = galaxy_spectrum(
            &m,
            &GalaxyParams {
                entropy: Some(EntropyParams {
                    pcs: 41,
                    ..Default::default()
                }),
                ..params
            },
            &mut |s, _| stages.push(s.to_string()),
        )
        .unwrap_err();
        assert_eq!(err.kind(), "invalid-parameter");
        assert!(err.to_string().contains("--entropy-pcs"), "{err}");
        assert!(stages.is_empty(), "{stages:?}");
    }
}
