//! A uniform random subset of a matrix's rows (features), kept from its values as they stream
//! past ([`super::stream::stream_rows_from`]): a browser tab reads a decoder too large for its
//! memory budget in pieces (`Blob.slice` of a local file, HTTP ranges of a remote one) and holds
//! only the sampled rows, `m x d` f32, never the file.
//!
//! The rows kept are `sorted(np.random.RandomState(seed).choice(N, m, replace=False))`
//! ([`crate::geometry::numpy_rng::NumpyRandomState::sample_without_replacement`]), so numpy can
//! analyse the same subset: `X[idx]`.

use std::io::{Read, Seek};

use super::error::FormatError;
use super::load::{detect_kind, LoadedMatrix, TORCH_DECODER};
use super::stream::{chosen_array, list_arrays_from, stream_rows_from};
use super::Dtype;
use crate::matrix::Matrix;

/// What [`sample_rows_from`] will stream, from the file's headers alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPlan {
    /// The chosen array.
    pub tensor: String,
    pub dtype: Dtype,
    /// Features (rows of the analysed matrix) and their dimension.
    pub features: usize,
    pub dims: usize,
    /// True when the array is stored (d, N) (`decoder.weight`).
    pub transposed: bool,
}

/// Reads the headers of the file behind `reader` (`len` bytes, named `name`) and says which array
/// [`super::read_matrix`] would take, with its size; nothing of its values is read.
pub fn plan_stream<R: Read + Seek>(reader: &mut R, len: u64, name: &str, tensor: Option<&str>) -> Result<StreamPlan, FormatError> {
    let listed = list_arrays_from(reader, len, name)?;
    let mut first = vec![0u8; 16.min(len as usize)];
    reader.seek(std::io::SeekFrom::Start(0)).and_then(|_| reader.read_exact(&mut first)).map_err(|e| FormatError::Io {
        path: name.to_string(),
        message: e.to_string(),
    })?;
    let kind = detect_kind(&first, name)?;
    let array = chosen_array(&listed, kind, tensor)?;
    let (_, shape, dtype) = listed.iter().find(|(n, _, _)| *n == array).cloned().ok_or_else(|| {
        FormatError::MissingTensor { name: array.clone(), available: Vec::new() }
    })?;
    let [rows, cols] = shape[..] else {
        return Err(FormatError::NotAMatrix { name: array, shape });
    };
    if rows == 0 || cols == 0 {
        return Err(FormatError::Empty { name: array });
    }
    let transposed = array == TORCH_DECODER;
    // A .npy file's array is reported under the file's name, as read_matrix does.
    let array = if kind == super::FileKind::Npy { name.to_string() } else { array };
    let (features, dims) = if transposed { (cols, rows) } else { (rows, cols) };
    Ok(StreamPlan { tensor: array, dtype, features, dims, transposed })
}

/// Streams the matrix of `plan` from `reader`, keeping rows `keep` (increasing, each
/// `< plan.features`); `progress(fraction)` as values arrive. Memory: the kept rows and one block.
pub fn sample_rows_from<R: Read + Seek>(
    reader: &mut R,
    len: u64,
    name: &str,
    plan: &StreamPlan,
    keep: &[usize],
    progress: &mut dyn FnMut(f64),
) -> Result<LoadedMatrix, FormatError> {
    let (n, d) = (plan.features, plan.dims);
    let mut slot = vec![u32::MAX; n];
    for (k, &w) in keep.iter().enumerate() {
        if w >= n || (k > 0 && keep[k - 1] >= w) {
            return Err(FormatError::BadHeader {
                format: "row sample",
                reason: format!("row {w} of {n} is out of range or out of order"),
            });
        }
        slot[w] = k as u32;
    }
    let mut out = vec![0f32; keep.len() * d];
    let stored_rows = if plan.transposed { d } else { n };
    stream_rows_from(reader, len, name, Some(&plan.tensor), 256, &mut |array, first, values| {
        let cols = array.cols;
        for (i, row) in values.chunks_exact(cols).enumerate() {
            let r = first + i;
            if !plan.transposed {
                let k = slot[r];
                if k != u32::MAX {
                    out[k as usize * d..][..d].copy_from_slice(row);
                }
            } else {
                // A stored row is coordinate `r` of every feature.
                for (f, &x) in row.iter().enumerate() {
                    let k = slot[f];
                    if k != u32::MAX {
                        out[k as usize * d + r] = x;
                    }
                }
            }
        }
        progress((first + values.len() / cols) as f64 / stored_rows as f64);
        Ok(())
    })?;
    let matrix = Matrix::new(keep.len(), d, out).map_err(|e| FormatError::ShapeMismatch {
        what: format!("the sample of '{}'", plan.tensor),
        expected: e.expected as u64,
        actual: e.actual as u64,
    })?;
    Ok(LoadedMatrix {
        matrix,
        tensor: plan.tensor.clone(),
        source_dtype: plan.dtype,
        transposed: plan.transposed,
        metadata: Default::default(),
    })
}

/// The rows `keep` of an already read matrix (what [`RowSampler`] gives for the same file).
pub fn select_rows(loaded: &LoadedMatrix, keep: &[usize]) -> LoadedMatrix {
    let d = loaded.matrix.cols();
    let mut data = Vec::with_capacity(keep.len() * d);
    for &r in keep {
        data.extend_from_slice(loaded.matrix.row(r));
    }
    LoadedMatrix {
        matrix: Matrix::new(keep.len(), d, data).expect("rows of d values"),
        tensor: loaded.tensor.clone(),
        source_dtype: loaded.source_dtype,
        transposed: loaded.transposed,
        metadata: loaded.metadata.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::range_reader::RangeReader;
    use crate::formats::{npy, npz, read_matrix, safetensors, Array};
    use crate::geometry::numpy_rng::NumpyRandomState;

    fn values(n: usize) -> Vec<f32> {
        (0..n).map(|i| ((i * 7919) % 1013) as f32 / 17.0 - 29.0).collect()
    }

    fn sampled(file: &[u8], name: &str, keep: &[usize]) -> Result<LoadedMatrix, FormatError> {
        let mut r = RangeReader::new(file.len() as u64, |s, len| {
            let s = s as usize;
            Ok(file[s..(s + len).min(file.len())].to_vec())
        });
        let plan = plan_stream(&mut r, file.len() as u64, name, None)?;
        sample_rows_from(&mut r, file.len() as u64, name, &plan, keep, &mut |_| {})
    }

    #[test]
    fn streamed_rows_equal_the_rows_of_the_whole_matrix() {
        let (n, d) = (203, 13);
        let keep = NumpyRandomState::new(0).sample_without_replacement(n, 37);
        let f16 = Array::f16_from_f32(vec![n, d], &values(n * d));
        let f64s = Array::f64(vec![n, d], values(n * d).iter().map(|&x| x as f64).collect());
        let files: Vec<(&str, Vec<u8>)> = vec![
            ("w.npy", npy::write(&f16)),
            ("w.npy", npy::write(&f64s)),
            ("p.npz", npz::write(&[("W_dec", &f16), ("b_dec", &Array::f32(vec![d], vec![0.0; d]))], false)),
            ("p.npz", npz::write(&[("W_dec", &f64s)], true)),
            ("s.safetensors", safetensors::write(&[("W_dec", &f16)], &Default::default())),
        ];
        for (name, file) in files {
            let whole = read_matrix(&file, name, None).unwrap();
            let got = sampled(&file, name, &keep).unwrap();
            assert_eq!(got.matrix, select_rows(&whole, &keep).matrix, "{name}");
            assert_eq!((got.tensor, got.source_dtype), (whole.tensor, whole.source_dtype));
        }
    }

    #[test]
    fn a_stored_decoder_weight_is_sampled_by_columns() {
        let (n, d) = (61, 9);
        let array = Array::f32(vec![d, n], values(n * d));
        let file = safetensors::write(&[(TORCH_DECODER, &array)], &Default::default());
        let whole = read_matrix(&file, "m.safetensors", None).unwrap();
        assert!(whole.transposed);
        let keep = [0, 5, 6, 60];
        let got = sampled(&file, "m.safetensors", &keep).unwrap();
        assert!(got.transposed);
        assert_eq!(got.matrix, select_rows(&whole, &keep).matrix);
    }

    #[test]
    fn short_data_and_bad_rows_are_errors() {
        let file = npy::write(&Array::f32(vec![40, 3], values(120)));
        assert_eq!(sampled(&file[..file.len() - 2], "a.npy", &[1, 2]).unwrap_err().kind(), "truncated");
        assert!(sampled(&file, "a.npy", &[2, 1]).is_err());
        assert!(sampled(&file, "a.npy", &[40]).is_err());
        let vector = npy::write(&Array::f32(vec![5], values(5)));
        assert_eq!(sampled(&vector, "v.npy", &[0]).unwrap_err().kind(), "not-a-matrix");
    }
}
