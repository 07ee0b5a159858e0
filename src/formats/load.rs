//! Format detection and [`read_matrix`]: from file bytes to a point matrix.

use std::collections::BTreeMap;

use super::array::Dtype;
use super::error::{shape_x, FormatError};
use super::{npy, npz, safetensors};
use crate::matrix::Matrix;

/// The container formats this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Npy,
    Npz,
    Safetensors,
}

/// Detects the kind by magic bytes (`\x93NUMPY`; `PK\x03\x04` or `PK\x05\x06`; safetensors = an
/// 8-byte little-endian header length followed by `{`), falling back to the extension of
/// `file_name` (`.npy`, `.npz`, `.safetensors`, any case). Otherwise [`FormatError::UnknownFormat`].
pub fn detect_kind(bytes: &[u8], file_name: &str) -> Result<FileKind, FormatError> {
    if bytes.starts_with(npy::MAGIC) {
        return Ok(FileKind::Npy);
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Ok(FileKind::Npz);
    }
    if bytes.get(8) == Some(&b'{') {
        return Ok(FileKind::Safetensors);
    }
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let ext = base.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("npy") => Ok(FileKind::Npy),
        Some("npz") => Ok(FileKind::Npz),
        Some("safetensors") => Ok(FileKind::Safetensors),
        _ => Err(FormatError::UnknownFormat {
            file_name: file_name.to_string(),
        }),
    }
}

/// A 2-D point matrix read from a file, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedMatrix {
    /// Rows are points (features), columns are dimensions.
    pub matrix: Matrix,
    /// The array it came from (for `.npy`, the file name).
    pub tensor: String,
    /// How the values were stored.
    pub source_dtype: Dtype,
    /// True when the stored array was (d, N) and was transposed to (N, d).
    pub transposed: bool,
    /// The safetensors `__metadata__` (empty for npy/npz).
    pub metadata: BTreeMap<String, String>,
}

/// The default tensor names, in order of preference.
pub const DEFAULT_TENSOR: &str = "W_dec";
/// A PyTorch-style decoder weight, stored (d, N); it is transposed on reading.
pub const TORCH_DECODER: &str = "decoder.weight";

/// Reads a 2-D matrix of points (rows = features) from an npy, npz or safetensors file held in
/// memory.
///
/// `tensor` names the array inside an npz/safetensors file. `None` chooses: `"W_dec"`; else
/// `"decoder.weight"` (stored (d, N): it is transposed, `transposed = true`, as it also is when
/// named explicitly); else the only 2-D array; else [`FormatError::MissingTensor`] listing what
/// there is. For `.npy` there is one array: `tensor` must be None or the file's name (with or without `.npy`), and the file name is reported.
/// Integer arrays are converted to `f32`. A non-2-D array is [`FormatError::NotAMatrix`]; one
/// with 0 rows or 0 columns is [`FormatError::Empty`].
pub fn read_matrix(bytes: &[u8], file_name: &str, tensor: Option<&str>) -> Result<LoadedMatrix, FormatError> {
    let (array, name, metadata) = match detect_kind(bytes, file_name)? {
        FileKind::Npy => {
            let array = npy::read(bytes)?;
            // A .npy file holds one array: a tensor name other than the file's own is a mistake.
            let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
            let stem = base.strip_suffix(".npy").unwrap_or(base);
            if let Some(t) = tensor.filter(|t| *t != base && *t != stem) {
                return Err(FormatError::MissingTensor {
                    name: t.to_string(),
                    available: vec![format!("{base} (a .npy file holds one array; drop --tensor)")],
                });
            }
            (array, file_name.to_string(), BTreeMap::new())
        }
        FileKind::Npz => {
            let entries = npz::entries(bytes)?;
            let listed: Vec<(String, Vec<usize>, String)> = entries
                .into_iter()
                .map(|e| (e.name, e.shape, e.dtype.to_string()))
                .collect();
            // "W_dec.npy" names the same array as "W_dec".
            let tensor = tensor.map(|t| match t.strip_suffix(".npy") {
                Some(s) if listed.iter().any(|(n, _, _)| n == s) => s,
                _ => t,
            });
            let name = choose(&listed, tensor)?;
            (npz::read(bytes, &name)?, name, BTreeMap::new())
        }
        FileKind::Safetensors => {
            let listed: Vec<(String, Vec<usize>, String)> = safetensors::list_all(bytes)?
                .into_iter()
                .map(|e| (e.name, e.shape, e.dtype))
                .collect();
            let name = choose(&listed, tensor)?;
            (
                safetensors::read(bytes, &name)?,
                name,
                safetensors::metadata(bytes)?,
            )
        }
    };
    let [rows, cols] = array.shape[..] else {
        return Err(FormatError::NotAMatrix {
            name,
            shape: array.shape,
        });
    };
    if rows == 0 || cols == 0 {
        return Err(FormatError::Empty { name });
    }
    let source_dtype = array.dtype;
    let matrix = Matrix::new(rows, cols, array.into_f32_vec()).map_err(|e| FormatError::ShapeMismatch {
        what: format!("'{name}'"),
        expected: e.expected as u64,
        actual: e.actual as u64,
    })?;
    let transposed = name == TORCH_DECODER;
    Ok(LoadedMatrix {
        matrix: if transposed { matrix.transpose() } else { matrix },
        tensor: name,
        source_dtype,
        transposed,
        metadata,
    })
}

/// Picks the tensor name from `(name, shape, dtype)` entries (see [`read_matrix`]).
/// The default choice of tensor among `(name, shape, dtype)` entries (see [`read_matrix`]).
pub(crate) fn choose(entries: &[(String, Vec<usize>, String)], tensor: Option<&str>) -> Result<String, FormatError> {
    let has = |n: &str| entries.iter().any(|(name, _, _)| name == n);
    let missing = |name: &str| FormatError::MissingTensor {
        name: name.to_string(),
        available: entries
            .iter()
            .map(|(n, s, d)| format!("{n} ({} {d})", shape_x(s)))
            .collect(),
    };
    match tensor {
        Some(t) if has(t) => Ok(t.to_string()),
        Some(t) => Err(missing(t)),
        None if has(DEFAULT_TENSOR) => Ok(DEFAULT_TENSOR.to_string()),
        None if has(TORCH_DECODER) => Ok(TORCH_DECODER.to_string()),
        None => {
            let mut matrices = entries.iter().filter(|(_, s, _)| s.len() == 2);
            match (matrices.next(), matrices.next()) {
                (Some((n, _, _)), None) => Ok(n.clone()),
                _ => Err(missing(DEFAULT_TENSOR)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::Array;

    #[test]
    fn detect_by_magic_then_extension() {
        let npy_bytes = npy::write_f32(&[1], &[1.0]);
        assert_eq!(detect_kind(&npy_bytes, "x.bin").unwrap(), FileKind::Npy);
        assert_eq!(detect_kind(b"PK\x03\x04rest", "x").unwrap(), FileKind::Npz);
        assert_eq!(detect_kind(b"PK\x05\x06rest", "x").unwrap(), FileKind::Npz);
        assert_eq!(
            detect_kind(b"\x02\0\0\0\0\0\0\0{}", "x").unwrap(),
            FileKind::Safetensors
        );
        assert_eq!(detect_kind(b"", "dir.v2/A.NPY").unwrap(), FileKind::Npy);
        assert_eq!(detect_kind(b"junk", "a.npz").unwrap(), FileKind::Npz);
        assert_eq!(
            detect_kind(b"junk", "model.SafeTensors").unwrap(),
            FileKind::Safetensors
        );
        let e = detect_kind(b"hello world", "notes.txt").unwrap_err();
        assert_eq!(e.kind(), "unknown-format");
        assert!(e.to_string().contains("notes.txt"));
        assert_eq!(detect_kind(b"", "npy").unwrap_err().kind(), "unknown-format");
    }

    #[test]
    fn npy_matrix() {
        let bytes = npy::write_f32(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let m = read_matrix(&bytes, "points.npy", Some("points")).unwrap();
        assert_eq!(
            read_matrix(&bytes, "points.npy", Some("W_dec"))
                .unwrap_err()
                .kind(),
            "missing-tensor"
        );
        assert_eq!(
            (m.matrix.rows(), m.matrix.cols(), m.tensor.as_str()),
            (2, 3, "points.npy")
        );
        assert_eq!((m.source_dtype, m.transposed), (Dtype::F32, false));
        assert_eq!(m.matrix.row(1), &[4.0, 5.0, 6.0]);
    }

    #[test]
    fn default_choice_order() {
        let w = Array::f32(vec![3, 2], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let wt = Array::f32(vec![2, 3], vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
        let v = Array::f32(vec![2], vec![0.0, 0.0]);
        let meta = BTreeMap::from([("k".to_string(), "v".to_string())]);

        // W_dec wins over decoder.weight.
        let st = safetensors::write(&[("decoder.weight", &wt), ("W_dec", &w)], &meta);
        let m = read_matrix(&st, "x.safetensors", None).unwrap();
        assert_eq!((m.tensor.as_str(), m.transposed), ("W_dec", false));
        assert_eq!(m.metadata, meta);

        // decoder.weight is transposed to (N, d).
        let st = safetensors::write(
            &[("decoder.weight", &wt), ("encoder.weight", &w), ("b", &v)],
            &meta,
        );
        let m = read_matrix(&st, "x.safetensors", None).unwrap();
        assert_eq!((m.tensor.as_str(), m.transposed), ("decoder.weight", true));
        assert_eq!((m.matrix.rows(), m.matrix.cols()), (3, 2));
        assert_eq!(m.matrix.as_slice(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);

        // Only one 2-D array.
        let z = npz::write(&[("b", &v), ("vectors", &w)], true);
        let m = read_matrix(&z, "x.npz", None).unwrap();
        assert_eq!(m.tensor, "vectors");
        let m = read_matrix(&z, "x.npz", Some("vectors.npy")).unwrap();
        assert_eq!(m.tensor, "vectors");

        // Explicit choice.
        let st = safetensors::write(&[("encoder.weight", &wt), ("other", &w)], &BTreeMap::new());
        let m = read_matrix(&st, "x.safetensors", Some("encoder.weight")).unwrap();
        assert_eq!((m.matrix.rows(), m.transposed), (2, false));
    }

    #[test]
    fn error_missing_tensor_when_ambiguous_or_absent() {
        let w = Array::f32(vec![3, 2], vec![0.0; 6]);
        let st = safetensors::write(&[("a", &w), ("b", &w)], &BTreeMap::new());
        let e = read_matrix(&st, "x.safetensors", None).unwrap_err();
        match &e {
            FormatError::MissingTensor { name, available } => {
                assert_eq!(name, "W_dec");
                assert_eq!(
                    available,
                    &vec!["a (3x2 F32)".to_string(), "b (3x2 F32)".to_string()]
                );
            }
            other => panic!("{other}"),
        }
        let z = npz::write(&[("a", &w)], false);
        let e = read_matrix(&z, "x.npz", Some("W_enc")).unwrap_err();
        assert_eq!(e.kind(), "missing-tensor");
        assert!(e.to_string().contains("a (3x2 f32)"), "{e}");
    }

    #[test]
    fn error_not_a_matrix_and_empty() {
        let cube = Array::f32(vec![2, 2, 2], vec![0.0; 8]);
        let z = npz::write(&[("W_dec", &cube)], false);
        let e = read_matrix(&z, "x.npz", None).unwrap_err();
        assert_eq!(
            e,
            FormatError::NotAMatrix {
                name: "W_dec".into(),
                shape: vec![2, 2, 2]
            }
        );
        let e = read_matrix(&npy::write_f32(&[4], &[0.0; 4]), "v.npy", None).unwrap_err();
        assert_eq!(e.kind(), "not-a-matrix");
        let e = read_matrix(&npy::write_f32(&[], &[0.0]), "s.npy", None).unwrap_err();
        assert_eq!(e.kind(), "not-a-matrix");
        for shape in [[0usize, 5], [5, 0]] {
            let e = read_matrix(&npy::write_f32(&shape, &[]), "e.npy", None).unwrap_err();
            assert_eq!(e, FormatError::Empty { name: "e.npy".into() });
        }
    }

    #[test]
    fn errors_pass_through_from_each_format() {
        assert_eq!(
            read_matrix(b"junk", "a.npy", None).unwrap_err().kind(),
            "bad-magic"
        );
        assert_eq!(
            read_matrix(b"junk", "a.npz", None).unwrap_err().kind(),
            "bad-magic"
        );
        assert_eq!(
            read_matrix(b"junk", "a.safetensors", None).unwrap_err().kind(),
            "truncated"
        );
        assert_eq!(
            read_matrix(b"junk", "a.csv", None).unwrap_err().kind(),
            "unknown-format"
        );
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let prefixes: [&[u8]; 5] = [
            b"\x93NUMPY\x01\x00",
            b"\x93NUMPY\x02\x00",
            b"PK\x03\x04",
            b"\x40\0\0\0\0\0\0\0{\"a\":{\"dtype\":\"F32\",\"shape\":[",
            b"",
        ];
        for round in 0..3000 {
            let mut bytes = prefixes[round % prefixes.len()].to_vec();
            let extra = (next() % 120) as usize;
            bytes.extend((0..extra).map(|_| next() as u8));
            for name in ["a.npy", "a.npz", "a.safetensors", "a"] {
                let _ = read_matrix(&bytes, name, None);
            }
        }
    }
}
