//! Reading one matrix out of a file fetched in pieces (HTTP range requests): from the file's first
//! bytes, which byte range holds the tensor [`super::read_matrix`] would choose, and the header
//! that makes those bytes a safetensors file of their own.
//!
//! A SAELens `.safetensors` holds `W_enc`, `W_dec`, `b_enc` and `b_dec`; the galaxy scale needs
//! `W_dec` alone, so a remote 65536 x 2304 SAE (1.2 GB in f32) costs its 604 MB decoder, not the
//! whole file. npy and npz files are read whole.

use std::ops::Range;

use super::error::FormatError;
use super::load::{choose, detect_kind, FileKind};
use super::safetensors;

/// How much of the file to fetch first: safetensors headers are a few kB (Gemma Scope and SAELens
/// files: well under 1 kB), so one request usually has the whole header.
pub const FIRST_BYTES: u64 = 64 * 1024;

/// The most a browser tab analyses at once: a wasm32 tab holds at most 4 GiB, and the analysis
/// needs the bytes, the f32 matrix and its workspace together.
pub const MAX_BROWSER_BYTES: u64 = 1536 * 1024 * 1024;

/// What to fetch next, given the file's first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatrixPlan {
    /// The safetensors header runs past the bytes in hand: fetch `0..end` and plan again.
    MoreHeader { end: u64 },
    /// Fetch `range` of the file and put `header` in front of it: the result is a safetensors file
    /// holding just `tensor` (with the original `__metadata__`), read exactly as the whole file.
    Tensor { tensor: String, range: Range<u64>, header: Vec<u8> },
    /// Fetch the whole file (npy, npz, or a tensor this crate does not decode, so that the usual
    /// reader gives its usual message).
    Whole,
}

/// Plans the read of one matrix (`tensor`, or the default choice of [`super::read_matrix`]) from
/// a file whose first bytes are `prefix`. `file_len` is the file's size when the server said it
/// (`Content-Range: bytes 0-N/TOTAL`); without it a safetensors header is trusted for its own
/// extent, and a short read of the tensor is caught by its length.
///
/// Errors: the header's own (bad JSON, offsets past `file_len`, ...) and, before anything large is
/// fetched, a missing `tensor` with the list of what the file holds.
pub fn plan_matrix_read(
    prefix: &[u8],
    file_len: Option<u64>,
    file_name: &str,
    tensor: Option<&str>,
) -> Result<MatrixPlan, FormatError> {
    if detect_kind(prefix, file_name)? != FileKind::Safetensors {
        return Ok(MatrixPlan::Whole);
    }
    let data_start = safetensors::header_end(prefix)?;
    if (prefix.len() as u64) < data_start {
        return Ok(MatrixPlan::MoreHeader { end: data_start });
    }
    let file_len = match file_len {
        Some(n) => n,
        None => data_start + safetensors::declared_data_len(prefix)?,
    };
    let (entries, metadata) = safetensors::read_header(prefix, file_len)?;
    let listed: Vec<(String, Vec<usize>, String)> =
        entries.iter().map(|e| (e.name.clone(), e.shape.clone(), e.dtype.clone())).collect();
    let name = choose(&listed, tensor)?;
    let Some(entry) = entries.iter().find(|e| e.name == name) else {
        return Ok(MatrixPlan::Whole);
    };
    let Some(dtype) = safetensors::to_dtype(&entry.dtype) else {
        return Ok(MatrixPlan::Whole);
    };
    let header = safetensors::header_bytes(&[(name.as_str(), dtype, &entry.shape)], &metadata)?;
    let (start, end) = entry.data_offsets;
    Ok(MatrixPlan::Tensor {
        tensor: name,
        range: data_start + start as u64..data_start + end as u64,
        header,
    })
}

/// Parses `Content-Range: bytes START-END/TOTAL` (RFC 9110 14.4): `(start, end inclusive, total)`,
/// the total `None` when the server wrote `*`.
pub fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (span, total) = rest.split_once('/')?;
    let (start, end) = span.trim().split_once('-')?;
    let (start, end) = (start.trim().parse().ok()?, end.trim().parse().ok()?);
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    (start <= end && total.is_none_or(|t| end < t)).then_some((start, end, total))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::formats::{npy, read_matrix, Array};

    /// A SAELens-style file: W_enc (d, N), W_dec (N, d), b_enc, b_dec, with metadata.
    fn saelens(n: usize, d: usize) -> Vec<u8> {
        let w_enc = Array::f32(vec![d, n], (0..n * d).map(|i| (i % 13) as f32 - 6.0).collect());
        let w_dec = Array::f32(vec![n, d], (0..n * d).map(|i| ((i * 7) % 11) as f32 * 0.25).collect());
        let b_enc = Array::f32(vec![n], vec![0.5; n]);
        let b_dec = Array::f32(vec![d], vec![-0.5; d]);
        let meta = BTreeMap::from([("hook_name".to_string(), "blocks.12.hook_resid_post".to_string())]);
        safetensors::write(&[("W_enc", &w_enc), ("W_dec", &w_dec), ("b_enc", &b_enc), ("b_dec", &b_dec)], &meta)
    }

    fn assemble(file: &[u8], plan: &MatrixPlan) -> Vec<u8> {
        let MatrixPlan::Tensor { range, header, .. } = plan else { panic!("expected a tensor plan, got {plan:?}") };
        let mut out = header.clone();
        out.extend_from_slice(&file[range.start as usize..range.end as usize]);
        out
    }

    #[test]
    fn the_decoder_alone_reads_as_the_whole_file() {
        let file = saelens(40, 24);
        for (tensor, len) in [(None, Some(file.len() as u64)), (Some("W_dec"), None), (Some("W_enc"), Some(file.len() as u64))] {
            let plan = plan_matrix_read(&file, len, "sae.safetensors", tensor).unwrap();
            let part = assemble(&file, &plan);
            assert!(part.len() < file.len() / 2 + 200, "{} of {}", part.len(), file.len());
            let whole = read_matrix(&file, "sae.safetensors", tensor).unwrap();
            let piece = read_matrix(&part, "sae.safetensors", tensor).unwrap();
            assert_eq!(piece, whole, "{tensor:?}");
            assert_eq!(piece.metadata["hook_name"], "blocks.12.hook_resid_post");
        }
    }

    #[test]
    fn a_short_prefix_asks_for_the_rest_of_the_header() {
        let file = saelens(4, 3);
        let end = safetensors::header_end(&file).unwrap();
        assert_eq!(plan_matrix_read(&file[..20], None, "x.safetensors", None).unwrap(), MatrixPlan::MoreHeader { end });
        assert!(matches!(plan_matrix_read(&file[..end as usize], None, "x", None).unwrap(), MatrixPlan::Tensor { .. }));
    }

    #[test]
    fn npy_and_npz_are_read_whole() {
        let bytes = npy::write_f32(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(plan_matrix_read(&bytes, None, "a.npy", None).unwrap(), MatrixPlan::Whole);
        assert_eq!(plan_matrix_read(b"PK\x03\x04....", None, "p.npz", None).unwrap(), MatrixPlan::Whole);
    }

    #[test]
    fn errors_come_before_the_large_fetch() {
        let file = saelens(4, 3);
        let e = plan_matrix_read(&file, Some(file.len() as u64), "x.safetensors", Some("decoder")).unwrap_err();
        assert_eq!(e.kind(), "missing-tensor");
        assert!(e.to_string().contains("W_dec"), "{e}");
        // The server says the file is shorter than the header declares.
        let e = plan_matrix_read(&file, Some(file.len() as u64 - 1), "x.safetensors", None).unwrap_err();
        assert_eq!(e.kind(), "truncated", "{e}");
        assert_eq!(plan_matrix_read(b"hello", None, "notes.txt", None).unwrap_err().kind(), "unknown-format");
    }

    #[test]
    fn content_range_headers() {
        assert_eq!(parse_content_range("bytes 0-65535/604000000"), Some((0, 65535, Some(604_000_000))));
        assert_eq!(parse_content_range("bytes 10-19/*"), Some((10, 19, None)));
        assert_eq!(parse_content_range(" bytes  0-0/1 "), Some((0, 0, Some(1))));
        for bad in ["bytes */100", "bytes 5-4/10", "bytes 0-10/10", "items 0-1/2", "", "bytes 0-x/3"] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }
}
