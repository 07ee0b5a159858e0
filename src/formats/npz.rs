//! NumPy `.npz` archives (zip files of `.npy` members), as written by `np.savez` (stored) and
//! `np.savez_compressed` (deflate), including the zip64 extra fields numpy always writes.
//!
//! Members are decompressed one at a time, into buffers that grow with the data actually produced:
//! a member's declared size is checked against what its compressed bytes could possibly hold
//! before anything is read.

use std::io::{Cursor, Read, Write};

use zip::result::ZipError;
use zip::{CompressionMethod, ZipArchive};

use super::array::{show_bytes, Array, Dtype};
use super::error::{shape_x, FormatError};
use super::npy;

/// An archive read from memory.
type Archive<'a> = ZipArchive<Cursor<&'a [u8]>>;
/// One member of an [`Archive`], open for reading.
type Member<'a, 'b> = zip::read::ZipFile<'a, Cursor<&'b [u8]>>;

/// Deflate cannot expand data by more than about 1032:1; a member declaring more is lying.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// One array in an archive, from its `.npy` header alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Name without the `.npy` suffix, as `np.load(...).files` shows it.
    pub name: String,
    /// Element type.
    pub dtype: Dtype,
    /// Shape.
    pub shape: Vec<usize>,
}

/// Names of the arrays in the archive, in archive order, without the `.npy` suffix
/// (as `np.load(path).files` lists them). Directories are skipped.
pub fn list(bytes: &[u8]) -> Result<Vec<String>, FormatError> {
    let archive = open(bytes)?;
    Ok(member_names(&archive).into_iter().map(|(_, name)| name).collect())
}

/// Name, dtype and shape of every array, read from the member headers without decompressing the
/// data. Fails if any member is not a readable `.npy`.
pub fn entries(bytes: &[u8]) -> Result<Vec<Entry>, FormatError> {
    let mut archive = open(bytes)?;
    let mut out = Vec::new();
    for (index, name) in member_names(&archive) {
        let header = read_member_header(&mut archive, index, &name, bytes.len())?;
        out.push(Entry {
            name,
            dtype: header.dtype,
            shape: header.shape,
        });
    }
    Ok(out)
}

/// Reads the array `name` (with or without the `.npy` suffix).
pub fn read(bytes: &[u8], name: &str) -> Result<Array, FormatError> {
    let mut archive = open(bytes)?;
    let index = member_names(&archive)
        .into_iter()
        .find(|(_, n)| n == name || format!("{n}.npy") == name)
        .map(|(i, _)| i);
    let Some(index) = index else {
        return Err(FormatError::MissingTensor {
            name: name.to_string(),
            available: describe(&mut archive, bytes.len()),
        });
    };
    let member = read_member(&mut archive, index, name, bytes.len())?;
    npy::read(&member).map_err(|e| in_member(e, name))
}

/// `name (AxB)` for each array, for error messages; names alone where a header is unreadable.
fn describe(archive: &mut Archive<'_>, total: usize) -> Vec<String> {
    member_names(archive)
        .into_iter()
        .map(|(i, name)| match read_member_header(archive, i, &name, total) {
            Ok(h) => format!("{name} ({} {})", shape_x(&h.shape), h.dtype),
            Err(_) => name,
        })
        .collect()
}

/// Writes an `.npz` archive (`compressed`: deflate, like `np.savez_compressed`; else stored,
/// like `np.savez`). Member names get a `.npy` suffix.
///
/// # Panics
/// If two arrays share a name (use [`try_write`] to get an error instead).
pub fn write(arrays: &[(&str, &Array)], compressed: bool) -> Vec<u8> {
    try_write(arrays, compressed).unwrap_or_else(|e| panic!("npz::write: {e}"))
}

/// Like [`write()`], but returns an error for duplicate names instead of panicking.
pub fn try_write(arrays: &[(&str, &Array)], compressed: bool) -> Result<Vec<u8>, FormatError> {
    let method = if compressed {
        CompressionMethod::Deflated
    } else {
        CompressionMethod::Stored
    };
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, array) in arrays {
        zip.start_file(format!("{name}.npy"), options)
            .map_err(zip_error)?;
        zip.write_all(&npy::write(array))
            .map_err(|e| FormatError::Zip(e.to_string()))?;
    }
    Ok(zip.finish().map_err(zip_error)?.into_inner())
}

fn open(bytes: &[u8]) -> Result<Archive<'_>, FormatError> {
    if !(bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")) {
        if bytes.len() < 4 && b"PK\x03\x04".starts_with(bytes) {
            return Err(FormatError::Truncated {
                what: "npz (zip) signature".into(),
                needed: 22,
                available: bytes.len() as u64,
            });
        }
        return Err(FormatError::BadMagic {
            format: "npz",
            found: show_bytes(bytes),
        });
    }
    ZipArchive::new(Cursor::new(bytes)).map_err(zip_error)
}

/// `(index, name without .npy)` of every file member.
fn member_names(archive: &Archive<'_>) -> Vec<(usize, String)> {
    (0..archive.len())
        .filter_map(|i| {
            let name = archive.name_for_index(i)?.ok()?;
            if name.ends_with('/') {
                return None;
            }
            Some((i, name.strip_suffix(".npy").unwrap_or(&name).to_string()))
        })
        .collect()
}

/// Opens member `index` after checking its declared sizes against the archive's size.
fn checked_member<'a, 'b>(
    archive: &'a mut Archive<'b>,
    index: usize,
    name: &str,
    total: usize,
) -> Result<(Member<'a, 'b>, u64), FormatError> {
    let file = archive.by_index(index).map_err(zip_error)?;
    let (size, compressed) = (file.size(), file.compressed_size());
    if compressed > total as u64 {
        return Err(FormatError::Truncated {
            what: format!("npz member '{name}' (compressed data)"),
            needed: compressed,
            available: total as u64,
        });
    }
    let limit = match file.compression() {
        CompressionMethod::Stored => compressed,
        CompressionMethod::Deflated => compressed.saturating_mul(MAX_DEFLATE_RATIO).saturating_add(1024),
        other => {
            return Err(FormatError::Zip(format!(
                "member '{name}' uses compression {other}, but only stored and deflate (what numpy writes) are supported"
            )))
        }
    };
    if size > limit || size > isize::MAX as u64 {
        return Err(FormatError::TooLarge {
            what: format!("npz member '{name}' (declared uncompressed size)"),
            bytes: size,
        });
    }
    Ok((file, size))
}

/// Decompresses member `index` fully.
fn read_member(
    archive: &mut Archive<'_>,
    index: usize,
    name: &str,
    total: usize,
) -> Result<Vec<u8>, FormatError> {
    let (file, size) = checked_member(archive, index, name, total)?;
    let mut out = Vec::new();
    file.take(size.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| io_error(e, name))?;
    if out.len() as u64 != size {
        return Err(FormatError::Zip(format!(
            "member '{name}' declares {size} bytes but holds {}{}",
            out.len(),
            if (out.len() as u64) > size { " or more" } else { "" }
        )));
    }
    Ok(out)
}

/// Decompresses only as much of member `index` as its `.npy` header needs.
fn read_member_header(
    archive: &mut Archive<'_>,
    index: usize,
    name: &str,
    total: usize,
) -> Result<npy::Header, FormatError> {
    let (file, size) = checked_member(archive, index, name, total)?;
    let mut reader = file.take(size);
    let mut prefix = Vec::new();
    (&mut reader)
        .take(12)
        .read_to_end(&mut prefix)
        .map_err(|e| io_error(e, name))?;
    let header_size = npy::header_size(&prefix).map_err(|e| in_member(e, name))?;
    let rest = header_size.saturating_sub(prefix.len()) as u64;
    (&mut reader)
        .take(rest)
        .read_to_end(&mut prefix)
        .map_err(|e| io_error(e, name))?;
    npy::read_header(&prefix).map_err(|e| in_member(e, name))
}

/// Names the member in errors that describe a part of a file.
fn in_member(e: FormatError, member: &str) -> FormatError {
    let prefix = |what: String| format!("npz member '{member}': {what}");
    match e {
        FormatError::Truncated {
            what,
            needed,
            available,
        } => FormatError::Truncated {
            what: prefix(what),
            needed,
            available,
        },
        FormatError::ShapeMismatch {
            what,
            expected,
            actual,
        } => FormatError::ShapeMismatch {
            what: prefix(what),
            expected,
            actual,
        },
        FormatError::TooLarge { what, bytes } => FormatError::TooLarge {
            what: prefix(what),
            bytes,
        },
        other => other,
    }
}

fn zip_error(e: ZipError) -> FormatError {
    match e {
        ZipError::Io(io) => FormatError::Zip(format!("the archive cannot be read ({io})")),
        other => FormatError::Zip(format!("the archive is damaged or unsupported ({other})")),
    }
}

fn io_error(e: std::io::Error, member: &str) -> FormatError {
    FormatError::Zip(format!("member '{member}' cannot be decompressed ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::ArrayData;

    fn sample() -> (Array, Array, Array) {
        let w = Array::f32(vec![3, 2], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let b = Array::f16_from_f32(vec![2], &[0.5, -0.25]);
        let n = Array::i32(vec![], vec![7]);
        (w, b, n)
    }

    #[test]
    fn round_trip_stored_and_deflated() {
        let (w, b, n) = sample();
        for compressed in [false, true] {
            let bytes = write(&[("W_dec", &w), ("b_dec", &b), ("n", &n)], compressed);
            assert_eq!(list(&bytes).unwrap(), vec!["W_dec", "b_dec", "n"]);
            assert_eq!(read(&bytes, "W_dec").unwrap(), w);
            assert_eq!(read(&bytes, "W_dec.npy").unwrap(), w);
            assert_eq!(read(&bytes, "b_dec").unwrap(), b);
            assert_eq!(read(&bytes, "n").unwrap().data, ArrayData::I32(vec![7]));
            let e = entries(&bytes).unwrap();
            assert_eq!(
                e[0],
                Entry {
                    name: "W_dec".into(),
                    dtype: Dtype::F32,
                    shape: vec![3, 2]
                }
            );
            assert_eq!(e[1].dtype, Dtype::F16);
        }
    }

    #[test]
    fn error_missing_tensor_lists_what_is_there() {
        let (w, b, _) = sample();
        let bytes = write(&[("W_enc", &w), ("b_dec", &b)], true);
        let e = read(&bytes, "W_dec").unwrap_err();
        match &e {
            FormatError::MissingTensor { name, available } => {
                assert_eq!(name, "W_dec");
                assert_eq!(
                    available,
                    &vec!["W_enc (3x2 f32)".to_string(), "b_dec (2 f16)".to_string()]
                );
            }
            other => panic!("{other}"),
        }
        assert!(e.to_string().contains("W_enc (3x2 f32)"));
    }

    #[test]
    fn error_bad_magic_and_truncation() {
        assert_eq!(list(b"\x93NUMPY\x01\x00").unwrap_err().kind(), "bad-magic");
        assert_eq!(list(b"").unwrap_err().kind(), "truncated");
        assert_eq!(list(b"PK").unwrap_err().kind(), "truncated");
        let (w, _, _) = sample();
        let bytes = write(&[("W_dec", &w)], false);
        // Cutting the end loses the central directory: the zip layer reports it.
        for cut in [4, 30, bytes.len() / 2, bytes.len() - 1] {
            let e = read(&bytes[..cut], "W_dec").unwrap_err();
            assert!(matches!(e.kind(), "zip" | "truncated"), "cut {cut}: {e}");
        }
    }

    #[test]
    fn error_member_not_npy_or_corrupt() {
        // A member that is not an npy file.
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("notes.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"hello").unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        assert_eq!(list(&bytes).unwrap(), vec!["notes.txt"]);
        assert_eq!(read(&bytes, "notes.txt").unwrap_err().kind(), "bad-magic");
        assert_eq!(entries(&bytes).unwrap_err().kind(), "bad-magic");

        // A stored member whose npy data is short: the error names the member.
        let mut short = npy::write_f32(&[4], &[1.0, 2.0, 3.0, 4.0]);
        short.truncate(short.len() - 4);
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("x.npy", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(&short).unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        let e = read(&bytes, "x").unwrap_err();
        assert_eq!(e.kind(), "truncated");
        assert!(e.to_string().contains("npz member 'x'"), "{e}");

        // Flip a data byte of a deflated member: CRC / inflate error, not a panic.
        let (w, _, _) = sample();
        let mut bytes = write(&[("W_dec", &w)], true);
        bytes[45] ^= 0xff;
        bytes[50] ^= 0xff;
        assert!(read(&bytes, "W_dec").is_err());
    }

    #[test]
    fn error_duplicate_names_on_write() {
        let (w, _, _) = sample();
        assert_eq!(
            try_write(&[("a", &w), ("a", &w)], false).unwrap_err().kind(),
            "zip"
        );
    }

    #[test]
    fn error_declared_size_beyond_what_deflate_can_hold() {
        let (w, _, _) = sample();
        let mut bytes = write(&[("W_dec", &w)], true);
        // Patch the uncompressed size in both the local header (offset 22) and the central
        // directory entry (after the data) to 4 GB - 1.
        let huge = u32::MAX - 1;
        bytes[22..26].copy_from_slice(&huge.to_le_bytes());
        let cd = bytes.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap();
        bytes[cd + 24..cd + 28].copy_from_slice(&huge.to_le_bytes());
        let e = read(&bytes, "W_dec").unwrap_err();
        assert_eq!(e.kind(), "too-large", "{e}");
    }
}
