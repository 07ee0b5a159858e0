//! The one error type of the format layer: one variant per way a file can be malformed.

use thiserror::Error;

/// Everything that can go wrong while reading (or validating) a file.
///
/// Every message says what was found and what the user can do about it. [`FormatError::kind`]
/// gives a stable short name per variant for the UI and for tests.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// The file does not start with the bytes its format requires.
    #[error("{format}: the file does not start with the {format} magic bytes (found {found}); check that the file is really a {format} file and was not truncated or re-encoded")]
    BadMagic { format: &'static str, found: String },

    /// The file ends before something it declares.
    #[error("{what}: needs {needed} bytes but only {available} are present; the file is truncated or corrupt, download or export it again")]
    Truncated {
        what: String,
        needed: u64,
        available: u64,
    },

    /// A dtype this crate cannot decode (big-endian, structured, complex, ...).
    #[error("{format}: unsupported dtype '{dtype}'; supported are little-endian f16, bf16, f32, f64, i32, i64, u8, u16, u32 (in numpy: a = a.astype('<f4') before saving)")]
    UnsupportedDtype { format: &'static str, dtype: String },

    /// The declared shape and the number of values present disagree.
    #[error("{what}: the shape declares {expected} bytes of data but {actual} are present; the file is corrupt or was written by a buggy tool")]
    ShapeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },

    /// Reading or writing a file failed at the operating-system level.
    #[error("{path}: {message}")]
    Io { path: String, message: String },

    /// An `.npy` array stored in Fortran (column-major) order.
    #[error("npy: the array is stored in Fortran (column-major) order, which is not supported; save it with np.save(path, np.ascontiguousarray(a))")]
    FortranOrder,

    /// The requested array is not in the file. `available` lists what is, as `name (shape)`.
    #[error("no tensor named '{name}'; the file has: {}; pass --tensor NAME", list_or_none(.available))]
    MissingTensor { name: String, available: Vec<String> },

    /// A matrix was wanted but the array is not 2-D.
    #[error("'{name}' has shape {} ({} dimensions), but a 2-D matrix (features x dimensions) is needed; pick another tensor with --tensor NAME or reshape it to 2-D", shape_str(.shape), .shape.len())]
    NotAMatrix { name: String, shape: Vec<usize> },

    /// The header could not be parsed or is inconsistent.
    #[error("{format}: bad header: {reason}")]
    BadHeader { format: &'static str, reason: String },

    /// Neither the magic bytes nor the extension say what the file is.
    #[error("'{file_name}': unknown file format; expected a .npy, .npz or .safetensors file")]
    UnknownFormat { file_name: String },

    /// The `.npz` (zip) container is broken or uses an unsupported feature.
    #[error("npz: {0}; re-save it with np.savez or np.savez_compressed")]
    Zip(String),

    /// A matrix with no rows or no columns.
    #[error("'{name}' is empty (0 rows or 0 columns); there are no points to analyse")]
    Empty { name: String },

    /// A declared size that overflows or cannot fit in memory; refused before allocating.
    #[error("{what}: declares {bytes} bytes, which is more than this reader will allocate or more than the file can hold; the file is corrupt or too large for this tool")]
    TooLarge { what: String, bytes: u64 },

    /// The app's `manifest.json` is malformed or inconsistent.
    #[error("manifest: {0}")]
    Manifest(String),
}

impl FormatError {
    /// A stable short name per variant ("bad-magic", "truncated", ...), for the UI and for tests.
    pub fn kind(&self) -> &'static str {
        match self {
            FormatError::BadMagic { .. } => "bad-magic",
            FormatError::Truncated { .. } => "truncated",
            FormatError::UnsupportedDtype { .. } => "unsupported-dtype",
            FormatError::ShapeMismatch { .. } => "shape-mismatch",
            FormatError::FortranOrder => "fortran-order",
            FormatError::Io { .. } => "io",
            FormatError::MissingTensor { .. } => "missing-tensor",
            FormatError::NotAMatrix { .. } => "not-a-matrix",
            FormatError::BadHeader { .. } => "bad-header",
            FormatError::UnknownFormat { .. } => "unknown-format",
            FormatError::Zip(_) => "zip",
            FormatError::Empty { .. } => "empty",
            FormatError::TooLarge { .. } => "too-large",
            FormatError::Manifest(_) => "manifest",
        }
    }
}

/// `(3, 4)`-style shape text, as numpy prints it (`(5,)` for 1-D, `()` for scalars).
pub(crate) fn shape_str(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// `AxB`-style shape text used in tensor listings (`scalar` for rank 0).
pub(crate) fn shape_x(shape: &[usize]) -> String {
    if shape.is_empty() {
        "scalar".to_string()
    } else {
        shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x")
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "no tensors at all".to_string()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_distinct_and_messages_mention_the_fix() {
        let all = [
            FormatError::BadMagic {
                format: "npy",
                found: "\"PK\"".into(),
            },
            FormatError::Truncated {
                what: "npy data".into(),
                needed: 10,
                available: 4,
            },
            FormatError::UnsupportedDtype {
                format: "npy",
                dtype: ">f4".into(),
            },
            FormatError::ShapeMismatch {
                what: "npy data".into(),
                expected: 8,
                actual: 12,
            },
            FormatError::FortranOrder,
            FormatError::MissingTensor {
                name: "W_dec".into(),
                available: vec!["a (2x3)".into()],
            },
            FormatError::NotAMatrix {
                name: "x".into(),
                shape: vec![2, 3, 4],
            },
            FormatError::BadHeader {
                format: "npy",
                reason: "r".into(),
            },
            FormatError::UnknownFormat {
                file_name: "a.txt".into(),
            },
            FormatError::Zip("z".into()),
            FormatError::Empty { name: "e".into() },
            FormatError::TooLarge {
                what: "t".into(),
                bytes: 1,
            },
            FormatError::Manifest("m".into()),
        ];
        let mut kinds: Vec<_> = all.iter().map(|e| e.kind()).collect();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), all.len());
        let missing = all[5].to_string();
        assert!(
            missing.contains("a (2x3)") && missing.contains("--tensor"),
            "{missing}"
        );
        assert!(all[6].to_string().contains("(2, 3, 4)"));
        assert!(FormatError::MissingTensor {
            name: "x".into(),
            available: vec![]
        }
        .to_string()
        .contains("no tensors"));
    }

    #[test]
    fn shape_text() {
        assert_eq!(shape_str(&[]), "()");
        assert_eq!(shape_str(&[5]), "(5,)");
        assert_eq!(shape_str(&[3, 4]), "(3, 4)");
        assert_eq!(shape_x(&[384, 4096]), "384x4096");
        assert_eq!(shape_x(&[]), "scalar");
    }
}
