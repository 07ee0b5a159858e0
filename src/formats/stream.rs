//! Reading one 2-D array from a file in row blocks, so that files larger than memory (a 65k-feature
//! Gemma Scope `params.npz` is 1.2 GB) are read in bounded memory: an `.npy` file, an `.npz`
//! member (stored or deflated), or a safetensors tensor; from a path (native) or any `Read + Seek`
//! (a browser `Blob`, a remote file read in HTTP ranges).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::array::{decode_le, Dtype};
use super::error::FormatError;
use super::load::{choose, detect_kind, FileKind};
use super::{npy, safetensors};

/// The array being streamed: its name, element type and stored shape (rows x cols as stored;
/// a `decoder.weight` is stored (d, N) and the caller transposes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamedArray {
    pub name: String,
    pub dtype: Dtype,
    pub rows: usize,
    pub cols: usize,
}

fn io_error(name: &str) -> impl Fn(std::io::Error) -> FormatError + '_ {
    move |e| FormatError::Io { path: name.to_string(), message: e.to_string() }
}

/// Lists `(name, shape, dtype)` of the arrays in the file at `path` without reading their data.
pub fn list_arrays(path: &Path) -> Result<Vec<(String, Vec<usize>, Dtype)>, FormatError> {
    let file = File::open(path).map_err(io_error(&path.display().to_string()))?;
    let len = file.metadata().map_err(io_error(&path.display().to_string()))?.len();
    let name = path.display().to_string();
    list_arrays_from(&mut BufReader::new(file), len, &name)
}

/// [`list_arrays`] of a file read through `reader` (`len` bytes; `name` for its kind and messages).
pub fn list_arrays_from<R: Read + Seek>(
    reader: &mut R,
    len: u64,
    name: &str,
) -> Result<Vec<(String, Vec<usize>, Dtype)>, FormatError> {
    let io = io_error(name);
    reader.seek(SeekFrom::Start(0)).map_err(&io)?;
    let mut first = vec![0u8; 16.min(len as usize)];
    reader.read_exact(&mut first).map_err(&io)?;
    reader.seek(SeekFrom::Start(0)).map_err(&io)?;
    match detect_kind(&first, name)? {
        FileKind::Npy => {
            let h = npy_header(reader, name)?;
            Ok(vec![(file_stem(name), h.shape, h.dtype)])
        }
        FileKind::Npz => {
            let mut zip = zip::ZipArchive::new(reader).map_err(zip_error)?;
            let mut out = Vec::new();
            for i in 0..zip.len() {
                let mut member = zip.by_index(i).map_err(zip_error)?;
                let full = member.name().map_err(zip_error)?.into_owned();
                let Some(array) = full.strip_suffix(".npy").map(str::to_string) else { continue };
                let h = npy_header(&mut member, name)?;
                out.push((array, h.shape, h.dtype));
            }
            Ok(out)
        }
        FileKind::Safetensors => {
            let (entries, _, _) = safetensors_header(reader, len, name)?;
            Ok(entries
                .into_iter()
                .filter_map(|e| safetensors::to_dtype(&e.dtype).map(|d| (e.name, e.shape, d)))
                .collect())
        }
    }
}

/// Streams the rows of one 2-D array of the file at `path`, `block_rows` rows at a time, as f32:
/// `on_block(array, first_row, values)` gets row-major values of `values.len() / cols` rows.
/// `tensor` chooses the array as [`super::read_matrix`] does (default `W_dec`, else
/// `decoder.weight`, else the only 2-D array). Memory: one block.
pub fn stream_rows(
    path: &Path,
    tensor: Option<&str>,
    block_rows: usize,
    on_block: &mut dyn FnMut(&StreamedArray, usize, &[f32]) -> Result<(), FormatError>,
) -> Result<StreamedArray, FormatError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(io_error(&name))?;
    let len = file.metadata().map_err(io_error(&name))?.len();
    stream_rows_from(&mut BufReader::with_capacity(1 << 20, file), len, &name, tensor, block_rows, on_block)
}

/// The array [`stream_rows_from`] would stream, chosen from `listed` as [`super::read_matrix`]
/// chooses (a `.npy` holds one array, named after the file).
pub fn chosen_array(
    listed: &[(String, Vec<usize>, Dtype)],
    kind: FileKind,
    tensor: Option<&str>,
) -> Result<String, FormatError> {
    let listed: Vec<(String, Vec<usize>, String)> =
        listed.iter().map(|(n, s, d)| (n.clone(), s.clone(), d.to_string())).collect();
    match kind {
        FileKind::Npy => Ok(listed[0].0.clone()),
        _ => choose(&listed, tensor),
    }
}

/// [`stream_rows`] of a file read through `reader` (`len` bytes; `name` for its kind and
/// messages), e.g. a browser `Blob` or a remote file read in ranges
/// ([`super::range_reader::RangeReader`]).
pub fn stream_rows_from<R: Read + Seek>(
    reader: &mut R,
    len: u64,
    name: &str,
    tensor: Option<&str>,
    block_rows: usize,
    on_block: &mut dyn FnMut(&StreamedArray, usize, &[f32]) -> Result<(), FormatError>,
) -> Result<StreamedArray, FormatError> {
    let io = io_error(name);
    let listed = list_arrays_from(reader, len, name)?;
    let kind = {
        let mut first = vec![0u8; 16.min(len as usize)];
        reader.seek(SeekFrom::Start(0)).map_err(&io)?;
        reader.read_exact(&mut first).map_err(&io)?;
        reader.seek(SeekFrom::Start(0)).map_err(&io)?;
        detect_kind(&first, name)?
    };
    let array = chosen_array(&listed, kind, tensor)?;
    match kind {
        FileKind::Npy => {
            let h = npy_header(reader, name)?;
            read_blocks(reader, array, h.dtype, &h.shape, block_rows, name, on_block)
        }
        FileKind::Npz => {
            let mut zip = zip::ZipArchive::new(reader).map_err(zip_error)?;
            let mut member = zip.by_name(&format!("{array}.npy")).map_err(zip_error)?;
            let h = npy_header(&mut member, name)?;
            read_blocks(&mut member, array, h.dtype, &h.shape, block_rows, name, on_block)
        }
        FileKind::Safetensors => {
            let (entries, _, data_start) = safetensors_header(reader, len, name)?;
            let entry = entries.into_iter().find(|e| e.name == array).ok_or_else(|| {
                FormatError::MissingTensor { name: array.clone(), available: Vec::new() }
            })?;
            let dtype = safetensors::to_dtype(&entry.dtype).ok_or_else(|| FormatError::UnsupportedDtype {
                format: "safetensors",
                dtype: entry.dtype.clone(),
            })?;
            reader.seek(SeekFrom::Start(data_start + entry.data_offsets.0 as u64)).map_err(&io)?;
            read_blocks(reader, array, dtype, &entry.shape, block_rows, name, on_block)
        }
    }
}

fn read_blocks(
    reader: &mut dyn Read,
    name: String,
    dtype: Dtype,
    shape: &[usize],
    block_rows: usize,
    path: &str,
    on_block: &mut dyn FnMut(&StreamedArray, usize, &[f32]) -> Result<(), FormatError>,
) -> Result<StreamedArray, FormatError> {
    let [rows, cols] = shape[..] else {
        return Err(FormatError::NotAMatrix { name, shape: shape.to_vec() });
    };
    if rows == 0 || cols == 0 {
        return Err(FormatError::Empty { name });
    }
    let array = StreamedArray { name, dtype, rows, cols };
    let row_bytes = cols.checked_mul(dtype.size()).ok_or_else(|| FormatError::TooLarge {
        what: format!("a row of '{}'", array.name),
        bytes: u64::MAX,
    })?;
    let block_rows = block_rows.clamp(1, (64 << 20) / row_bytes.max(1) + 1);
    let mut buf = vec![0u8; block_rows * row_bytes];
    let mut row = 0;
    while row < rows {
        let n = block_rows.min(rows - row);
        let bytes = &mut buf[..n * row_bytes];
        reader.read_exact(bytes).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => FormatError::Truncated {
                what: format!("'{}' ({} x {} {})", array.name, rows, cols, dtype),
                needed: (rows * row_bytes) as u64,
                available: (row * row_bytes) as u64,
            },
            _ => io_error(path)(e),
        })?;
        let values = to_f32(decode_le(dtype, bytes));
        on_block(&array, row, &values)?;
        row += n;
    }
    Ok(array)
}

fn to_f32(data: super::ArrayData) -> Vec<f32> {
    use super::ArrayData::*;
    match data {
        F32(v) => v,
        F64(v) => v.into_iter().map(|x| x as f32).collect(),
        I32(v) => v.into_iter().map(|x| x as f32).collect(),
        I64(v) => v.into_iter().map(|x| x as f32).collect(),
        U8(v) => v.into_iter().map(f32::from).collect(),
        U16(v) => v.into_iter().map(f32::from).collect(),
        U32(v) => v.into_iter().map(|x| x as f32).collect(),
    }
}

/// Reads an npy header from the start of `reader`, leaving it at the first data byte.
fn npy_header(reader: &mut dyn Read, path: &str) -> Result<npy::Header, FormatError> {
    let mut prefix = vec![0u8; 12];
    let got = read_up_to(reader, &mut prefix, path)?;
    prefix.truncate(got);
    let size = npy::header_size(&prefix)?;
    if size > 1 << 20 {
        return Err(FormatError::TooLarge { what: "npy header".into(), bytes: size as u64 });
    }
    let mut header = prefix;
    let have = header.len();
    header.resize(size, 0);
    if size > have {
        let got = read_up_to(reader, &mut header[have..], path)?;
        header.truncate(have + got);
    } else {
        // The 12 bytes read went past a version-1 header (10 + dict); impossible for real files
        // (the dict is at least a few dozen bytes) but handled: nothing to undo for a stream.
        return Err(FormatError::BadHeader { format: "npy", reason: "the header is too short".into() });
    }
    npy::read_header(&header)
}

fn read_up_to(reader: &mut dyn Read, buf: &mut [u8], path: &str) -> Result<usize, FormatError> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(path)(e)),
        }
    }
    Ok(got)
}

type Header = (Vec<safetensors::RawEntry>, std::collections::BTreeMap<String, String>, u64);

/// Reads a safetensors header; returns the entries, the metadata and where the data starts.
fn safetensors_header(reader: &mut (impl Read + Seek), len: u64, path: &str) -> Result<Header, FormatError> {
    let mut first8 = [0u8; 8];
    let got = read_up_to(reader, &mut first8, path)?;
    let end = safetensors::header_end(&first8[..got])?;
    if end > len {
        return Err(FormatError::Truncated { what: "safetensors header".into(), needed: end - 8, available: len.saturating_sub(8) });
    }
    let mut prefix = vec![0u8; end as usize];
    reader.seek(SeekFrom::Start(0)).map_err(io_error(path))?;
    reader.read_exact(&mut prefix).map_err(io_error(path))?;
    let (entries, metadata) = safetensors::read_header(&prefix, len)?;
    Ok((entries, metadata, end))
}

fn zip_error(e: zip::result::ZipError) -> FormatError {
    FormatError::Zip(format!("{e}"))
}

/// The name of a file without its folders and its `.npy` (or other) extension.
fn file_stem(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    match base.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{npz, Array};

    fn temp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sae-geometry-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn collect(path: &Path, tensor: Option<&str>, block: usize) -> (StreamedArray, Vec<f32>) {
        let mut all = Vec::new();
        let a = stream_rows(path, tensor, block, &mut |a, first, v| {
            assert_eq!(first * a.cols, all.len(), "blocks arrive in order");
            all.extend_from_slice(v);
            Ok(())
        })
        .unwrap();
        (a, all)
    }

    #[test]
    fn streams_npy_npz_and_safetensors_in_blocks() {
        let values: Vec<f32> = (0..7 * 5).map(|i| i as f32 * 0.5 - 3.0).collect();
        let npy_path = temp("m.npy", &npy::write_f32(&[7, 5], &values));
        let (a, got) = collect(&npy_path, None, 3);
        assert_eq!((a.rows, a.cols, a.name.as_str()), (7, 5, "m"));
        assert_eq!(got, values);

        let w = Array::f32(vec![7, 5], values.clone());
        let enc = Array::f32(vec![5, 7], vec![0.0; 35]);
        for compressed in [false, true] {
            let p = temp(&format!("p{compressed}.npz"), &npz::write(&[("W_enc", &enc), ("W_dec", &w)], compressed));
            let (a, got) = collect(&p, None, 2);
            assert_eq!((a.name.as_str(), a.rows), ("W_dec", 7));
            assert_eq!(got, values);
        }

        let f16 = Array::f16_from_f32(vec![7, 5], &values);
        let p = temp("s.safetensors", &safetensors::write(&[("decoder.weight", &f16)], &Default::default()));
        let (a, got) = collect(&p, None, 4);
        assert_eq!((a.name.as_str(), a.dtype, a.rows), ("decoder.weight", Dtype::F16, 7));
        assert_eq!(got, f16.to_f32_vec());
    }

    #[test]
    fn truncated_and_missing_are_errors() {
        let bytes = npy::write_f32(&[10, 4], &[1.0; 40]);
        let p = temp("t.npy", &bytes[..bytes.len() - 20]);
        let e = stream_rows(&p, None, 3, &mut |_, _, _| Ok(())).unwrap_err();
        assert_eq!(e.kind(), "truncated");
        let p = temp("two.npz", &npz::write(&[("a", &Array::f32(vec![2, 2], vec![0.0; 4])), ("b", &Array::f32(vec![2, 2], vec![0.0; 4]))], false));
        assert_eq!(stream_rows(&p, None, 3, &mut |_, _, _| Ok(())).unwrap_err().kind(), "missing-tensor");
        let e = stream_rows(Path::new("/no/such/file.npy"), None, 3, &mut |_, _, _| Ok(())).unwrap_err();
        assert_eq!(e.kind(), "io");
    }
}
