//! NumPy `.npy` files: format versions 1.0, 2.0 and 3.0, C order, little-endian.
//!
//! Readable dtypes: `<f2 <f4 <f8 <i4 <i8 <u2 <u4 |u1 |b1` (bool reads as `U8`). The byte-order
//! mark may also be `=` (native, taken as little-endian, which is what every machine numpy runs on
//! today uses) or absent; `|` and `>` are accepted only for one-byte types, where order does not
//! matter. Big-endian multi-byte data is [`FormatError::UnsupportedDtype`]; Fortran order is
//! [`FormatError::FortranOrder`].

use super::array::{byte_count, decode_le, encode_le, show_bytes, Array, ArrayData, Dtype};
use super::error::{shape_str, FormatError};
use super::pyliteral::{self, Lit};

/// The six magic bytes every `.npy` file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// What an `.npy` header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Format version `(major, minor)`: (1, 0), (2, 0) or (3, 0).
    pub version: (u8, u8),
    /// Element type.
    pub dtype: Dtype,
    /// Shape; empty for a 0-d (scalar) array.
    pub shape: Vec<usize>,
    /// Offset of the first data byte from the start of the file.
    pub data_offset: usize,
}

/// Bytes needed before the header dict can be located: magic, version and header length.
/// Given at least 12 bytes (or the whole file), returns the total header size in bytes
/// (= the data offset). Used by [`super::npz`] to read only headers.
pub fn header_size(prefix: &[u8]) -> Result<usize, FormatError> {
    let n = prefix.len();
    if n < MAGIC.len() {
        if MAGIC.starts_with(prefix) {
            return Err(truncated("npy magic and version", 10, n));
        }
        return Err(FormatError::BadMagic {
            format: "npy",
            found: show_bytes(prefix),
        });
    }
    if &prefix[..6] != MAGIC {
        return Err(FormatError::BadMagic {
            format: "npy",
            found: show_bytes(prefix),
        });
    }
    if n < 8 {
        return Err(truncated("npy version", 8, n));
    }
    let (major, minor) = (prefix[6], prefix[7]);
    let (len_bytes, start) = match (major, minor) {
        (1, 0) => (2, 10usize),
        (2, 0) | (3, 0) => (4, 12usize),
        _ => {
            return Err(FormatError::BadHeader {
                format: "npy",
                reason: format!("format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are); re-save it with np.save"),
            })
        }
    };
    if n < start {
        return Err(truncated("npy header length", start as u64, n));
    }
    let header_len = if len_bytes == 2 {
        u16::from_le_bytes([prefix[8], prefix[9]]) as u64
    } else {
        u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]) as u64
    };
    usize::try_from(header_len)
        .ok()
        .and_then(|h| h.checked_add(start))
        .ok_or(FormatError::TooLarge {
            what: "npy header".into(),
            bytes: header_len,
        })
}

/// Parses the header of an `.npy` file (`bytes` may hold just the header, without the data).
/// A Fortran-order array with two or more non-trivial axes is [`FormatError::FortranOrder`].
pub fn read_header(bytes: &[u8]) -> Result<Header, FormatError> {
    let (header, fortran) = read_header_any_order(bytes)?;
    if fortran {
        return Err(FormatError::FortranOrder);
    }
    Ok(header)
}

/// Like [`read_header`], but accepts Fortran order and says whether the data is in it.
fn read_header_any_order(bytes: &[u8]) -> Result<(Header, bool), FormatError> {
    let end = header_size(bytes)?;
    let start = if bytes[6] == 1 { 10 } else { 12 };
    if end > bytes.len() {
        return Err(truncated("npy header", (end - start) as u64, bytes.len() - start));
    }
    let raw = &bytes[start..end];
    let text: String = if bytes[6] == 3 {
        std::str::from_utf8(raw)
            .map_err(|e| bad(format!("the header is not valid UTF-8 ({e})")))?
            .to_string()
    } else {
        raw.iter().map(|&b| b as char).collect() // latin-1
    };
    let dict = match pyliteral::parse(&text).map_err(bad)? {
        Lit::Dict(d) => d,
        _ => return Err(bad("the header is not a Python dict".into())),
    };
    let get = |key: &str| {
        dict.iter()
            .find(|(k, _)| *k == Lit::Str(key.into()))
            .map(|(_, v)| v)
    };
    let descr = get("descr").ok_or_else(|| bad("the header has no 'descr' key".into()))?;
    let fortran = get("fortran_order").ok_or_else(|| bad("the header has no 'fortran_order' key".into()))?;
    let shape = get("shape").ok_or_else(|| bad("the header has no 'shape' key".into()))?;

    let dtype = match descr {
        Lit::Str(s) => parse_descr(s)?,
        Lit::List(_) => {
            return Err(FormatError::UnsupportedDtype {
                format: "npy",
                dtype: "a structured dtype (record fields)".into(),
            })
        }
        other => return Err(bad(format!("'descr' should be a string, found {other:?}"))),
    };
    let shape: Vec<usize> = match shape {
        Lit::Tuple(items) | Lit::List(items) => items
            .iter()
            .map(|d| match d {
                Lit::Int(v) => usize::try_from(*v).map_err(|_| {
                    if *v < 0 {
                        bad(format!("the shape has a negative dimension {v}"))
                    } else {
                        FormatError::TooLarge {
                            what: "npy shape dimension".into(),
                            bytes: u64::try_from(*v).unwrap_or(u64::MAX),
                        }
                    }
                }),
                other => Err(bad(format!("the shape holds {other:?}, not an integer"))),
            })
            .collect::<Result<_, _>>()?,
        other => return Err(bad(format!("'shape' should be a tuple, found {other:?}"))),
    };
    let mut fortran_data = false;
    match fortran {
        Lit::Bool(false) => {}
        Lit::Bool(true) if shape.iter().filter(|&&d| d > 1).count() > 1 => fortran_data = true,
        Lit::Bool(true) => {} // 0-d, 1-d or a single non-trivial axis: Fortran and C order coincide
        other => {
            return Err(bad(format!(
                "'fortran_order' should be True or False, found {other:?}"
            )))
        }
    }
    Ok((
        Header {
            version: (bytes[6], bytes[7]),
            dtype,
            shape,
            data_offset: end,
        },
        fortran_data,
    ))
}

/// Reads a whole `.npy` file held in memory.
pub fn read(bytes: &[u8]) -> Result<Array, FormatError> {
    read_with(bytes, read_header(bytes)?, false)
}

/// Like [`read`], but also accepts a 2-D array stored in Fortran (column-major) order, as
/// `np.save` writes a transposed view, and returns it in C order. Arrays of more than two
/// non-trivial axes in Fortran order remain [`FormatError::FortranOrder`].
pub fn read_any_order(bytes: &[u8]) -> Result<Array, FormatError> {
    let (h, fortran) = read_header_any_order(bytes)?;
    if fortran && h.shape.len() != 2 {
        return Err(FormatError::FortranOrder);
    }
    read_with(bytes, h, fortran)
}

fn read_with(bytes: &[u8], h: Header, fortran: bool) -> Result<Array, FormatError> {
    let what = format!("npy data for shape {} {}", shape_str(&h.shape), h.dtype);
    let needed = byte_count(&h.shape, h.dtype, "npy shape")?;
    let available = bytes.len() - h.data_offset;
    if needed > available {
        return Err(truncated(&what, needed as u64, available));
    }
    if needed < available {
        return Err(FormatError::ShapeMismatch {
            what,
            expected: needed as u64,
            actual: available as u64,
        });
    }
    let raw = &bytes[h.data_offset..];
    let data = if fortran {
        // Column-major (rows x cols): element (i, j) is at j * rows + i.
        let (rows, cols, size) = (h.shape[0], h.shape[1], h.dtype.size());
        let mut c_order = vec![0u8; raw.len()];
        for j in 0..cols {
            for i in 0..rows {
                let from = (j * rows + i) * size;
                let to = (i * cols + j) * size;
                c_order[to..to + size].copy_from_slice(&raw[from..from + size]);
            }
        }
        decode_le(h.dtype, &c_order)
    } else {
        decode_le(h.dtype, raw)
    };
    Ok(Array {
        dtype: h.dtype,
        shape: h.shape,
        data,
    })
}

/// Maps a numpy `descr` string to a [`Dtype`].
fn parse_descr(descr: &str) -> Result<Dtype, FormatError> {
    let unsupported = || FormatError::UnsupportedDtype {
        format: "npy",
        dtype: descr.to_string(),
    };
    let (order, code) = match descr.as_bytes().first() {
        Some(&c @ (b'<' | b'>' | b'=' | b'|')) => (c, &descr[1..]),
        _ => (b'=', descr),
    };
    let dtype = match code {
        "f2" | "e" => Dtype::F16,
        "f4" | "f" => Dtype::F32,
        "f8" | "d" => Dtype::F64,
        "i4" => Dtype::I32,
        "i8" => Dtype::I64,
        "u1" | "b1" | "B" | "?" => Dtype::U8,
        "u2" => Dtype::U16,
        "u4" => Dtype::U32,
        _ => return Err(unsupported()),
    };
    match order {
        b'<' | b'=' => Ok(dtype),
        _ if dtype.size() == 1 => Ok(dtype),
        _ => Err(unsupported()), // '>' big-endian, or '|' on a multi-byte type (ambiguous)
    }
}

/// The numpy `descr` used when writing `dtype` (bf16 has none and is written as `<f4`).
fn descr_for(dtype: Dtype) -> &'static str {
    match dtype {
        Dtype::F16 => "<f2",
        Dtype::BF16 | Dtype::F32 => "<f4",
        Dtype::F64 => "<f8",
        Dtype::I32 => "<i4",
        Dtype::I64 => "<i8",
        Dtype::U8 => "|u1",
        Dtype::U16 => "<u2",
        Dtype::U32 => "<u4",
    }
}

/// Writes `array` as an `.npy` file (version 1.0, or 2.0 when the header needs it), encoding the
/// values as `array.dtype` (bf16 has no numpy dtype and is written as f32). The header is padded
/// so the data starts at a multiple of 64 bytes, as numpy does. The shape is written as given:
/// keep its product equal to the number of values ([`Array::new`] checks this).
pub fn write(array: &Array) -> Vec<u8> {
    let dtype = if array.dtype == Dtype::BF16 {
        Dtype::F32
    } else {
        array.dtype
    };
    let shape = match array.shape.as_slice() {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        s => format!(
            "({})",
            s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        ),
    };
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
        descr_for(dtype)
    );
    let padded = |prefix: usize| (prefix + dict.len() + 1).div_ceil(64) * 64;
    let (version, prefix) = if padded(10) - 10 <= u16::MAX as usize {
        (1u8, 10)
    } else {
        (2u8, 12)
    };
    let total = padded(prefix);
    let header_len = total - prefix;
    let mut out = Vec::with_capacity(total.saturating_add(array.len().saturating_mul(dtype.size())));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header_len as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    out.extend(encode_le(dtype, &array.data));
    out
}

/// Writes f32 values as an `.npy` file with the given shape.
pub fn write_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    write(&Array {
        dtype: Dtype::F32,
        shape: shape.to_vec(),
        data: ArrayData::F32(data.to_vec()),
    })
}

/// Writes f64 values as an `.npy` file with the given shape.
pub fn write_f64(shape: &[usize], data: &[f64]) -> Vec<u8> {
    write(&Array {
        dtype: Dtype::F64,
        shape: shape.to_vec(),
        data: ArrayData::F64(data.to_vec()),
    })
}

/// Writes f32 values rounded to f16 (`<f2`) as an `.npy` file with the given shape.
pub fn write_f16(shape: &[usize], data: &[f32]) -> Vec<u8> {
    write(&Array::f16_from_f32(shape.to_vec(), data))
}

/// Writes i32 values as an `.npy` file with the given shape.
pub fn write_i32(shape: &[usize], data: &[i32]) -> Vec<u8> {
    write(&Array {
        dtype: Dtype::I32,
        shape: shape.to_vec(),
        data: ArrayData::I32(data.to_vec()),
    })
}

fn bad(reason: String) -> FormatError {
    FormatError::BadHeader {
        format: "npy",
        reason,
    }
}

fn truncated(what: &str, needed: u64, available: usize) -> FormatError {
    FormatError::Truncated {
        what: what.to_string(),
        needed,
        available: available as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An npy v1 file with a hand-written header dict and raw data.
    fn with_header(dict: &str, data: &[u8]) -> Vec<u8> {
        with_header_v(1, dict.as_bytes(), data)
    }

    /// An npy file of format `version`.0 with a hand-written header and raw data.
    fn with_header_v(version: u8, dict: &[u8], data: &[u8]) -> Vec<u8> {
        let mut h = dict.to_vec();
        h.push(b'\n');
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[version, 0]);
        if version == 1 {
            out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(h.len() as u32).to_le_bytes());
        }
        out.extend(h);
        out.extend_from_slice(data);
        out
    }

    fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn round_trip_f32_and_layout() {
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5 - 1.0).collect();
        let bytes = write_f32(&[3, 4], &data);
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let h = read_header(&bytes).unwrap();
        assert_eq!(h.data_offset % 64, 0);
        assert_eq!(bytes[h.data_offset - 1], b'\n');
        let a = read(&bytes).unwrap();
        assert_eq!((a.dtype, a.shape.clone()), (Dtype::F32, vec![3, 4]));
        assert_eq!(a.data, ArrayData::F32(data));
    }

    #[test]
    fn round_trip_other_dtypes_and_ranks() {
        let a = read(&write_f64(&[2], &[1.25, -3.0])).unwrap();
        assert_eq!(a.data, ArrayData::F64(vec![1.25, -3.0]));
        let a = read(&write_i32(&[1, 3], &[-1, 0, 7])).unwrap();
        assert_eq!(a.data, ArrayData::I32(vec![-1, 0, 7]));
        let a = read(&write_f16(&[2, 1], &[0.1, 2.0])).unwrap();
        assert_eq!(a.dtype, Dtype::F16);
        assert_eq!(a.to_f32_vec(), vec![half::f16::from_f32(0.1).to_f32(), 2.0]);
        let a = read(&write_f32(&[], &[4.0])).unwrap();
        assert_eq!((a.shape.len(), a.to_f32_vec()), (0, vec![4.0]));
        let a = read(&write_f32(&[0, 5], &[])).unwrap();
        assert_eq!((a.shape.clone(), a.len()), (vec![0, 5], 0));
        for (dtype, data) in [
            (Dtype::I64, ArrayData::I64(vec![-5, 1 << 40])),
            (Dtype::U8, ArrayData::U8(vec![0, 255])),
            (Dtype::U16, ArrayData::U16(vec![1, 65535])),
            (Dtype::U32, ArrayData::U32(vec![1, u32::MAX])),
        ] {
            let arr = Array {
                dtype,
                shape: vec![2],
                data,
            };
            assert_eq!(read(&write(&arr)).unwrap(), arr);
        }
        // bf16 has no numpy dtype: written as f32, values preserved.
        let b = Array::bf16_from_f32(vec![2], &[1.0, 0.1]);
        let back = read(&write(&b)).unwrap();
        assert_eq!((back.dtype, back.to_f32_vec()), (Dtype::F32, b.to_f32_vec()));
    }

    #[test]
    fn long_headers_switch_to_version_2() {
        let shape = vec![1usize; 30_000];
        let bytes = write_f32(&shape, &[1.0]);
        assert_eq!(bytes[6], 2);
        let a = read(&bytes).unwrap();
        assert_eq!((a.shape.len(), a.to_f32_vec()), (30_000, vec![1.0]));
    }

    #[test]
    fn header_variants_parse() {
        let d = f32_bytes(&[1.0, 2.0]);
        for dict in [
            "{'shape': (2,), 'descr': '<f4', 'fortran_order': False}",
            "{ 'descr' : '=f4' ,'fortran_order':False,'shape':(2,),   }   ",
            "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2L,)}",
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2)}",
        ] {
            let a = read(&with_header(dict, &d)).unwrap_or_else(|e| panic!("{dict}: {e}"));
            assert_eq!(a.to_f32_vec(), vec![1.0, 2.0]);
        }
        let a = read(&with_header(
            "{'descr': '|b1', 'fortran_order': False, 'shape': (3,)}",
            &[1, 0, 1],
        ))
        .unwrap();
        assert_eq!(a.data, ArrayData::U8(vec![1, 0, 1]));
        let a = read(&with_header(
            "{'descr': '>u1', 'fortran_order': False, 'shape': (1,)}",
            &[9],
        ))
        .unwrap();
        assert_eq!(a.data, ArrayData::U8(vec![9]));
        // versions 2.0 and 3.0 (utf-8 header, here with a non-ASCII extra key)
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'note': 'µ'}";
        for v in [2, 3] {
            let a = read(&with_header_v(v, dict.as_bytes(), &d)).unwrap();
            assert_eq!(a.to_f32_vec(), vec![1.0, 2.0]);
            assert_eq!(
                read_header(&with_header_v(v, dict.as_bytes(), &d))
                    .unwrap()
                    .version,
                (v, 0)
            );
        }
    }

    #[test]
    fn error_bad_magic() {
        let e = read(b"PK\x03\x04 definitely not npy").unwrap_err();
        assert_eq!(e.kind(), "bad-magic");
        assert!(e.to_string().contains("PK"), "{e}");
        assert_eq!(read(b"\x93NUMPX\x01\x00").unwrap_err().kind(), "bad-magic");
        assert_eq!(read(b"ab").unwrap_err().kind(), "bad-magic");
    }

    #[test]
    fn error_truncated_everywhere() {
        let bytes = write_f32(&[3, 4], &[0.0; 12]);
        for cut in [0, 3, 7, 9, 11, 40, bytes.len() - 1] {
            let e = read(&bytes[..cut]).unwrap_err();
            assert_eq!(e.kind(), "truncated", "cut at {cut}: {e}");
        }
        let e = read(&bytes[..bytes.len() - 4]).unwrap_err();
        assert!(
            matches!(
                e,
                FormatError::Truncated {
                    needed: 48,
                    available: 44,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn error_header_length_beyond_file() {
        let mut bytes = write_f32(&[2], &[1.0, 2.0]);
        bytes[8..10].copy_from_slice(&60000u16.to_le_bytes());
        assert_eq!(read(&bytes).unwrap_err().kind(), "truncated");
        let mut v2 = bytes.clone();
        v2[6] = 2;
        v2.splice(8..10, [0xff, 0xff, 0xff, 0xff]);
        assert_eq!(read(&v2).unwrap_err().kind(), "truncated");
    }

    #[test]
    fn error_unsupported_dtypes() {
        for descr in [">f4", ">i8", "<c8", "<f16", "|f4", "<i2", "<U10", "|O", "<M8[ns]"] {
            let e = read(&with_header(
                &format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,)}}"),
                &[0; 16],
            ))
            .unwrap_err();
            assert_eq!(e.kind(), "unsupported-dtype", "{descr}: {e}");
            assert!(e.to_string().contains(descr));
        }
        let e = read(&with_header(
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",
            &[0; 4],
        ))
        .unwrap_err();
        assert_eq!(e.kind(), "unsupported-dtype");
    }

    #[test]
    fn error_fortran_order() {
        let e = read(&with_header(
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3)}",
            &[0; 24],
        ))
        .unwrap_err();
        assert_eq!(e, FormatError::FortranOrder);
        assert!(e.to_string().contains("ascontiguousarray"));
    }

    #[test]
    fn error_shape_product_differs_from_data() {
        let e = read(&with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
            &[0; 12],
        ))
        .unwrap_err();
        assert!(
            matches!(
                e,
                FormatError::ShapeMismatch {
                    expected: 8,
                    actual: 12,
                    ..
                }
            ),
            "{e}"
        );
        let e = read(&with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4,)}",
            &[0; 12],
        ))
        .unwrap_err();
        assert_eq!(e.kind(), "truncated");
    }

    #[test]
    fn error_too_large_shapes_refused_before_allocating() {
        for shape in [
            "(18446744073709551615, 2)",
            "(4294967296, 4294967296)",
            "(99999999999999999999999,)",
        ] {
            let e = read(&with_header(
                &format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}}}"),
                &[0; 8],
            ))
            .unwrap_err();
            assert_eq!(e.kind(), "too-large", "{shape}: {e}");
        }
        // Plausible-size but absent data is a truncation, not an allocation.
        let e = read(&with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000)}",
            &[],
        ))
        .unwrap_err();
        assert!(
            matches!(
                e,
                FormatError::Truncated {
                    needed: 40_000_000_000,
                    available: 0,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn error_bad_headers() {
        for dict in [
            "{'descr': '<f4', 'shape': (2,)}",
            "{'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': False}",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': 2}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': ('a',)}",
            "{'descr': 4, 'fortran_order': False, 'shape': (2,)}",
            "['descr']",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
            "not python",
        ] {
            let e = read(&with_header(dict, &[0; 8])).unwrap_err();
            assert_eq!(e.kind(), "bad-header", "{dict}: {e}");
        }
        let mut v = write_f32(&[1], &[1.0]);
        v[6] = 4;
        assert_eq!(read(&v).unwrap_err().kind(), "bad-header");
        let v3 = with_header_v(
            3,
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': '\xff'}",
            &[0; 4],
        );
        assert_eq!(read(&v3).unwrap_err().kind(), "bad-header"); // invalid UTF-8 in a v3 header
    }

    #[test]
    fn fortran_order_matrices_read_in_c_order_when_asked() {
        // 2 x 3 matrix [[1, 2, 3], [4, 5, 6]] stored column-major: 1 4 2 5 3 6.
        let c = write_f32(&[2, 3], &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let (from, to) = (b"'fortran_order': False", b"'fortran_order': True ");
        let at = c.windows(from.len()).position(|w| w == from).unwrap();
        let mut f = c.clone();
        f[at..at + to.len()].copy_from_slice(to);
        assert_eq!(f.len(), c.len());
        assert_eq!(read(&f).unwrap_err().kind(), "fortran-order");
        let a = read_any_order(&f).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.to_f32_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }
}
