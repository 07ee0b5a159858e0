//! File formats: `.npy`, `.npz`, `.safetensors` (readers and writers), and the app's manifest.
//!
//! Every reader takes the whole file as `&[u8]` (no filesystem access, so it all runs in the
//! browser), never panics on malformed input, and checks every declared size against the bytes
//! present before allocating. Errors are [`FormatError`]s whose messages say what was found and
//! what to do; [`FormatError::kind`] gives a stable short name.
//!
//! Most callers want [`read_matrix`]: bytes + file name -> a [`crate::matrix::Matrix`] of points.

mod array;
pub mod bundle;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod load;
pub mod manifest;
pub mod npy;
pub mod npz;
pub mod partial;
pub mod rows;
mod pyliteral;
pub mod safetensors;
pub mod wordpairs;
pub mod range_reader;
pub mod stream;

pub use array::{Array, ArrayData, Dtype};
pub use error::FormatError;
pub use load::{detect_kind, read_matrix, FileKind, LoadedMatrix, DEFAULT_TENSOR, TORCH_DECODER};
