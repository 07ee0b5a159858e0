//! The analyses as the CLI and the worker run them: bytes in, a serde report out. One place joins
//! [`crate::formats`] and [`crate::geometry`] so that both entry points compute the same thing.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::formats::{self, Dtype, FormatError};
use crate::geometry::galaxy::{galaxy_spectrum, GalaxyParams, GalaxySpectrum};
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
    pub params: GalaxyParams,
    #[serde(flatten)]
    pub spectrum: GalaxySpectrum,
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
    let spectrum = galaxy_spectrum(&loaded.matrix, params, progress)?;
    Ok(GalaxyReport {
        input: InputInfo {
            input: input_name.to_string(),
            tensor: loaded.tensor,
            source_dtype: loaded.source_dtype,
            transposed: loaded.transposed,
            bytes: bytes.len() as u64,
        },
        params: params.clone(),
        spectrum,
    })
}
