//! `sae-geometry precompute`: the app's bundled real data, built from real inputs (native only).
//!
//! MiniLM-L6 runs over the multi-domain corpus; a TopK SAE is trained on each of its 7 residual
//! points; the SAEs' firings per 256-token chunk give co-occurrence; single words of the word-pair
//! tasks give crystal activations; GloVe gives a second crystal set. Seeded and deterministic: the
//! same inputs and seed rebuild the same bytes.

pub mod corpus;
pub mod crystals;
pub mod glove;
pub mod minilm;

use std::path::Path;

use sha2::{Digest, Sha256};
use thiserror::Error;

/// What stops the pipeline.
#[derive(Debug, Error)]
pub enum PipelineError {
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Model(String),
    #[error("{0}")]
    Training(String),
    #[error(transparent)]
    Format(#[from] crate::formats::FormatError),
}

impl PipelineError {
    pub(crate) fn io(path: &Path, e: std::io::Error) -> Self {
        PipelineError::Io { path: path.display().to_string(), message: e.to_string() }
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Refuses a download whose hash is not the pinned one.
pub(crate) fn check_sha256(path: &Path, bytes: &[u8], expected: Option<&str>) -> Result<(), PipelineError> {
    if let Some(expected) = expected {
        let got = sha256_hex(bytes);
        if !got.eq_ignore_ascii_case(expected) {
            return Err(PipelineError::Input(format!(
                "{}: SHA-256 is {got}, expected {expected}; the download is corrupt or a different version: fetch it again",
                path.display()
            )));
        }
    }
    Ok(())
}
