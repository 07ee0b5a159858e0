//! The analyses as the CLI and the worker run them: bytes in, a serde report out. One place joins
//! [`crate::formats`] and [`crate::geometry`] so that both entry points compute the same thing.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::formats::{self, Dtype, FormatError};
use crate::geometry::galaxy::{galaxy_spectrum_with_covariances, GalaxyParams, GalaxySpectrum, Precomputed};
use crate::geometry::numpy_rng::NumpyRandomState;
use crate::geometry::GeometryError;

/// Anything that can stop an analysis: a file that cannot be read, or data the math refuses.
#[derive(Debug, Error)]
pub enum AnalysisError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error(transparent)]
    Geometry(#[from] GeometryError),
}

impl AnalysisError {
    /// A stable short name of the error, for the UI and tests (e.g. "truncated", "non-finite").
    pub fn kind(&self) -> &'static str {
        match self {
            AnalysisError::Format(e) => e.kind(),
            AnalysisError::Geometry(e) => e.kind(),
        }
    }
}

/// Where the analysed matrix came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InputInfo {
    /// File name (or URL) the bytes were read from.
    pub input: String,
    /// Tensor (array) used inside the file.
    pub tensor: String,
    /// Element type stored in the file; the analysis always runs in f64.
    pub source_dtype: Dtype,
    /// True when the file stored the matrix as (d, N) (e.g. `decoder.weight`) and it was transposed.
    pub transposed: bool,
    /// File size in bytes.
    pub bytes: u64,
}

/// The galaxy-scale spectrum of one matrix, with its provenance and parameters.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GalaxyReport {
    #[serde(flatten)]
    pub input: InputInfo,
    /// Set when the spectrum is of a random sample of the rows, not all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<RowSample>,
    pub params: GalaxyParams,
    #[serde(flatten)]
    pub spectrum: GalaxySpectrum,
}

/// A uniform random sample of a matrix's rows: `rows` of its `of` rows,
/// `sorted(np.random.RandomState(seed).choice(of, rows, replace=False))`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RowSample {
    pub rows: usize,
    pub of: usize,
    pub seed: u32,
}

impl RowSample {
    /// The rows kept, increasing.
    pub fn indices(&self) -> Vec<usize> {
        NumpyRandomState::new(self.seed).sample_without_replacement(self.of, self.rows)
    }

    /// The sample `params` asks for of a matrix of `of` rows: `None` when it asks for none, or for
    /// all of them. The seed is `params.seed`, which numpy needs below 2^32.
    pub fn requested(params: &GalaxyParams, of: usize) -> Result<Option<RowSample>, GeometryError> {
        let Some(rows) = params.sample.filter(|&m| m < of) else { return Ok(None) };
        if rows == 0 {
            return Err(GeometryError::InvalidParameter { name: "sample".into(), reason: "a sample needs at least one row".into() });
        }
        let seed = u32::try_from(params.seed).map_err(|_| GeometryError::InvalidParameter {
            name: "seed".into(),
            reason: format!("{} is too large for numpy's RandomState, which takes seeds below 2^32", params.seed),
        })?;
        Ok(Some(RowSample { rows, of, seed }))
    }
}

/// Reads the matrix in `bytes` (npy, npz or safetensors; `tensor` as in
/// [`formats::read_matrix`]) and computes its galaxy spectrum
/// ([`crate::geometry::galaxy::galaxy_spectrum`]). `progress(stage, fraction)` is called as work
/// proceeds.
pub fn galaxy_from_bytes(
    bytes: &[u8],
    input_name: &str,
    tensor: Option<&str>,
    params: &GalaxyParams,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<GalaxyReport, AnalysisError> {
    progress("parsing", 0.0);
    let loaded = formats::read_matrix(bytes, input_name, tensor)?;
    match RowSample::requested(params, loaded.matrix.rows())? {
        None => galaxy_report(&loaded, bytes.len() as u64, input_name, params, None, progress),
        Some(sample) => {
            let kept = formats::rows::select_rows(&loaded, &sample.indices());
            drop(loaded);
            let mut report = galaxy_report(&kept, bytes.len() as u64, input_name, params, None, progress)?;
            report.sample = Some(sample);
            Ok(report)
        }
    }
}

/// The galaxy report of an already read matrix (`bytes`: the size of the file it came from), with
/// covariance matrices computed elsewhere when `given` is `Some`
/// ([`crate::geometry::galaxy::galaxy_spectrum_with_covariances`]).
pub fn galaxy_report(
    loaded: &formats::LoadedMatrix,
    bytes: u64,
    input_name: &str,
    params: &GalaxyParams,
    given: Option<Precomputed>,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<GalaxyReport, AnalysisError> {
    let spectrum = galaxy_spectrum_with_covariances(&loaded.matrix, params, given, progress)?;
    Ok(GalaxyReport {
        input: InputInfo {
            input: input_name.to_string(),
            tensor: loaded.tensor.clone(),
            source_dtype: loaded.source_dtype,
            transposed: loaded.transposed,
            bytes,
        },
        sample: None,
        params: params.clone(),
        spectrum,
    })
}

/// What a bundle holds, for the data panel: its kind, shape and the numbers that describe it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BundleSummary {
    pub input: String,
    /// "cooccurrence", "crystals", "sae", "points", ...
    pub kind: String,
    /// (label, value) lines, in display order.
    pub facts: Vec<(String, String)>,
}

/// Reads a bundle (any safetensors, npz or npy file) and summarises it without analysing it:
/// a co-occurrence bundle is read and validated in full (chunks, firings, categories).
pub fn inspect_bundle(bytes: &[u8], input_name: &str) -> Result<BundleSummary, AnalysisError> {
    use crate::formats::bundle::{Firings, COOCCURRENCE_KIND};
    let kind = formats::detect_kind(bytes, input_name)?;
    let metadata = match kind {
        formats::FileKind::Safetensors => formats::safetensors::metadata(bytes)?,
        _ => Default::default(),
    };
    let bundle_kind = metadata.get("kind").cloned().unwrap_or_else(|| "points".to_string());
    let mut facts = Vec::new();
    if bundle_kind == COOCCURRENCE_KIND {
        let f = Firings::from_safetensors(bytes)?;
        let firings = f.indices.len();
        facts.push(("chunks".into(), format!("{} of {} tokens", f.n_chunks(), f.chunk_tokens)));
        facts.push(("features".into(), f.n_features.to_string()));
        facts.push((
            "features firing per chunk".into(),
            format!("{:.1} on average (activation > {})", firings as f64 / f.n_chunks().max(1) as f64, f.threshold),
        ));
        let heldout = f.doc_heldout.iter().filter(|h| **h).count();
        facts.push(("documents".into(), format!("{} ({} held out)", f.n_docs(), heldout)));
        let mut per_category = vec![0usize; f.categories.len()];
        for &d in &f.chunk_doc {
            per_category[f.doc_category[d as usize] as usize] += 1;
        }
        let list: Vec<String> =
            f.categories.iter().zip(&per_category).map(|(c, n)| format!("{c} {n}")).collect();
        facts.push(("chunks per category".into(), list.join(", ")));
    } else if kind == formats::FileKind::Safetensors {
        for (name, dtype, shape) in formats::safetensors::list(bytes)? {
            let shape: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            facts.push((format!("tensor {name}"), format!("{} {dtype}", shape.join(" x "))));
        }
    }
    for (k, v) in &metadata {
        if !matches!(k.as_str(), "kind" | "categories" | "training") {
            facts.push((k.clone(), v.clone()));
        }
    }
    Ok(BundleSummary { input: input_name.to_string(), kind: bundle_kind, facts })
}

/// One layer of a layer sweep: the galaxy numbers of that layer's decoder, without the full
/// report (the spectrum is kept for the overlay of all layers' spectra).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LayerRow {
    pub layer: usize,
    pub input: String,
    pub n: usize,
    pub d: usize,
    pub power_law: crate::geometry::galaxy::PowerLawFit,
    pub log_volume: f64,
    pub isotropic_slope: Option<f64>,
    /// Sum of ln(eigenvalue) of the isotropic reference over the same ranks.
    pub isotropic_log_volume: Option<f64>,
    /// All d eigenvalues, descending.
    pub eigenvalues: Vec<f64>,
    /// The clustering entropy, if it was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entropy: Option<crate::geometry::entropy::ClusteringEntropy>,
    /// The clustering entropy of the isotropic reference, if both were asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isotropic_entropy: Option<crate::geometry::entropy::ClusteringEntropy>,
}

impl LayerRow {
    /// The row of `report`, the galaxy analysis of `layer`'s decoder.
    pub fn from_report(layer: usize, report: &GalaxyReport) -> LayerRow {
        let s = &report.spectrum;
        let isotropic_log_volume = (!s.isotropic_eigenvalues.is_empty())
            .then(|| crate::geometry::galaxy::log_volume(&s.isotropic_eigenvalues, report.params.ranks).ok())
            .flatten();
        LayerRow {
            layer,
            input: report.input.input.clone(),
            n: s.n,
            d: s.d,
            power_law: s.power_law.clone(),
            log_volume: s.log_volume,
            isotropic_slope: s.isotropic_slope,
            isotropic_log_volume,
            eigenvalues: s.eigenvalues.clone(),
            entropy: s.entropy.clone(),
            isotropic_entropy: s.isotropic_entropy.clone(),
        }
    }
}

/// The cloud in 3D: every row projected on its first three principal components, and the same for
/// the isotropic Gaussian cloud of the galaxy spectrum's reference (same N, d, total variance and
/// seed), for the side-by-side view of the paper's Figure 6.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cloud {
    pub input: String,
    /// The points shown (the rows of the sample, when there is one).
    pub n: usize,
    pub d: usize,
    /// Row i's coordinates on PC1..PC3.
    pub points: Vec<[f32; 3]>,
    /// Variance along PC1..PC3 (ddof = 1: the top covariance eigenvalues).
    pub explained_variance: Vec<f64>,
    /// Total variance (trace of the covariance).
    pub total_variance: f64,
    pub isotropic_points: Vec<[f32; 3]>,
    pub isotropic_explained_variance: Vec<f64>,
    pub seed: u64,
    /// The rows shown, when a sample of them ([`RowSample::indices`]: point i is row
    /// `indices()[i]`); `None`: every row, point i is row i.
    #[serde(default)]
    pub sample: Option<RowSample>,
}

/// Reads the matrix in `bytes` and projects it, and its isotropic Gaussian reference, onto their
/// first three principal components ([`crate::geometry::pca::pca`]). `progress(stage, fraction)`.
pub fn cloud_from_bytes(
    bytes: &[u8],
    input_name: &str,
    tensor: Option<&str>,
    seed: u64,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<Cloud, AnalysisError> {
    progress("parsing", 0.0);
    let m = formats::read_matrix(bytes, input_name, tensor)?.matrix;
    cloud_of_matrix(m, input_name, seed, progress)
}

/// [`cloud_from_bytes`] of a matrix already read (e.g. streamed): its rows are dropped before the
/// isotropic reference is drawn, so the peak is one `n x d` f32 matrix and the `d x d` work.
pub fn cloud_of_matrix(
    m: crate::matrix::Matrix,
    input_name: &str,
    seed: u64,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<Cloud, AnalysisError> {
    use crate::geometry::galaxy::isotropic_cloud;
    use crate::geometry::pca::pca;
    let (n, d) = (m.rows(), m.cols());
    let components = 3.min(d).min(n.saturating_sub(1)).max(1);
    let fit = pca(&m, components, &mut |f| progress("principal components", 0.5 * f))?;
    let total_variance = column_variance_sum(&m);
    let points = to_points(&fit.transform(&m)?, components);
    drop(m);
    progress("isotropic cloud", 0.5);
    let iso = isotropic_cloud(n, d, total_variance / d.max(1) as f64, seed)?;
    let iso_fit = pca(&iso, components, &mut |f| progress("isotropic cloud", 0.5 + 0.5 * f))?;
    let isotropic_points = to_points(&iso_fit.transform(&iso)?, components);
    progress("done", 1.0);
    Ok(Cloud {
        input: input_name.to_string(),
        n,
        d,
        points,
        explained_variance: fit.explained_variance,
        total_variance,
        isotropic_points,
        isotropic_explained_variance: iso_fit.explained_variance,
        seed,
        sample: None,
    })
}

/// Sum over columns of the sample variance (ddof = 1), in f64.
fn column_variance_sum(m: &crate::matrix::Matrix) -> f64 {
    let (n, d) = (m.rows(), m.cols());
    if n < 2 {
        return 0.0;
    }
    let mut mean = vec![0f64; d];
    for r in 0..n {
        for (s, &v) in mean.iter_mut().zip(m.row(r)) {
            *s += v as f64;
        }
    }
    mean.iter_mut().for_each(|s| *s /= n as f64);
    let mut ss = 0f64;
    for r in 0..n {
        for (&mu, &v) in mean.iter().zip(m.row(r)) {
            ss += (v as f64 - mu).powi(2);
        }
    }
    ss / (n - 1) as f64
}

/// Row-major `rows x k` (k <= 3) into 3D points (missing coordinates 0).
fn to_points(projected: &[f64], k: usize) -> Vec<[f32; 3]> {
    projected
        .chunks_exact(k.max(1))
        .map(|r| {
            let mut p = [0f32; 3];
            for (dst, &v) in p.iter_mut().zip(r) {
                *dst = v as f32;
            }
            p
        })
        .collect()
}
pub mod budget;
pub mod export;
pub mod crystals;
pub mod lobes;
