//! Hugging Face `.safetensors` files, read and written here.
//!
//! The header is parsed and checked here so each malformed case gets a precise [`FormatError`]
//! (offsets beyond the file, sizes that disagree with shapes, overflow, ...), and tensors are read
//! straight from the checked offsets. Not through the `safetensors` crate: its validation counts a
//! tensor's size in *bits* in a `usize`, which overflows on wasm32 for any tensor of 512 MiB or
//! more (a 65536 x 2304 f32 decoder is 604 MB). The crate stays a dev-dependency: the tests check
//! that it and this module read each other's files alike.

use std::collections::BTreeMap;

use super::array::{byte_count, decode_le, encode_le, show_bytes, Array, Dtype};
use super::error::{shape_x, FormatError};

/// Where the data section starts: 8 + the header length declared by the first 8 bytes.
pub fn header_end(first8: &[u8]) -> Result<u64, FormatError> {
    let len: [u8; 8] = first8.get(..8).and_then(|b| b.try_into().ok()).ok_or(FormatError::Truncated {
        what: "safetensors header length".into(),
        needed: 8,
        available: first8.len() as u64,
    })?;
    let n = u64::from_le_bytes(len);
    if n > MAX_HEADER {
        return Err(FormatError::TooLarge { what: "safetensors header".into(), bytes: n });
    }
    Ok(8 + n)
}

/// The safetensors crate refuses headers over 100 MB; so do we, before reading them.
const MAX_HEADER: u64 = 100_000_000;

/// One tensor as the header describes it; `dtype` is the file's own name ("F16", "I8", ...), so
/// tensors of dtypes this crate cannot decode can still be listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    /// Byte range within the data section (after the header).
    pub data_offsets: (usize, usize),
}

/// The tensors whose dtype this crate decodes, in file (offset) order: name, dtype, shape.
/// Others (I8, BOOL, F8_*, ...) are left out; [`list_all`] shows them too.
pub fn list(bytes: &[u8]) -> Result<Vec<(String, Dtype, Vec<usize>)>, FormatError> {
    Ok(parse_header(bytes)?
        .0
        .into_iter()
        .filter_map(|e| Some((e.name, to_dtype(&e.dtype)?, e.shape)))
        .collect())
}

/// Every tensor the header declares, in file (offset) order, whatever its dtype.
pub fn list_all(bytes: &[u8]) -> Result<Vec<RawEntry>, FormatError> {
    Ok(parse_header(bytes)?.0)
}

/// The free-form `__metadata__` string map (empty when the file has none).
pub fn metadata(bytes: &[u8]) -> Result<BTreeMap<String, String>, FormatError> {
    Ok(parse_header(bytes)?.1)
}

/// Reads tensor `name`: F16, BF16, F32, F64, I32, I64, U8, U16 or U32 (f16/bf16 decode to f32).
pub fn read(bytes: &[u8], name: &str) -> Result<Array, FormatError> {
    let (entries, _) = parse_header(bytes)?;
    let Some(entry) = entries.iter().find(|e| e.name == name) else {
        return Err(FormatError::MissingTensor {
            name: name.to_string(),
            available: describe(&entries),
        });
    };
    let dtype = to_dtype(&entry.dtype).ok_or_else(|| FormatError::UnsupportedDtype {
        format: "safetensors",
        dtype: entry.dtype.clone(),
    })?;
    // parse_header checked the offsets against the file's length and the shape, so this slice
    // exists and holds exactly the tensor's bytes.
    let data_start = header_end(bytes)? as usize;
    let (start, end) = entry.data_offsets;
    let data = bytes.get(data_start + start..data_start + end).ok_or_else(|| FormatError::Truncated {
        what: format!("safetensors tensor '{name}'"),
        needed: (data_start + end) as u64,
        available: bytes.len() as u64,
    })?;
    Ok(Array {
        dtype,
        shape: entry.shape.clone(),
        data: decode_le(dtype, data),
    })
}

/// `name (AxB dtype)` per tensor, for error messages.
pub(crate) fn describe(entries: &[RawEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| format!("{} ({} {})", e.name, shape_x(&e.shape), e.dtype))
        .collect()
}

/// Writes a `.safetensors` file. Each tensor is stored as its `dtype` (so
/// [`Array::f16_from_f32`] gives an F16 tensor); `metadata` goes to `__metadata__` (omitted when
/// empty).
///
/// # Panics
/// If a name repeats or an array's data length disagrees with its shape (use [`try_write`]).
pub fn write(tensors: &[(&str, &Array)], metadata: &BTreeMap<String, String>) -> Vec<u8> {
    try_write(tensors, metadata).unwrap_or_else(|e| panic!("safetensors::write: {e}"))
}

/// Like [`write()`], but returns an error instead of panicking.
pub fn try_write(
    tensors: &[(&str, &Array)],
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, FormatError> {
    // Our own header writer, not the crate's: its metadata is a HashMap whose order changes from
    // run to run, and bundles must be reproducible bit for bit.
    let mut datas = Vec::with_capacity(tensors.len());
    for (name, array) in tensors {
        let data = encode_le(array.dtype, &array.data);
        let expected = byte_count(&array.shape, array.dtype, "tensor shape")?;
        if data.len() != expected {
            return Err(FormatError::ShapeMismatch {
                what: format!("tensor '{name}' of shape {}", shape_x(&array.shape)),
                expected: expected as u64,
                actual: data.len() as u64,
            });
        }
        datas.push(data);
    }
    let specs: Vec<(&str, Dtype, &[usize])> =
        tensors.iter().map(|(name, a)| (*name, a.dtype, a.shape.as_slice())).collect();
    let mut out = header_bytes(&specs, metadata)?;
    for data in datas {
        out.extend_from_slice(&data);
    }
    Ok(out)
}

/// Parses and validates the header: returns the entries in offset order and the metadata.
fn parse_header(bytes: &[u8]) -> Result<(Vec<RawEntry>, BTreeMap<String, String>), FormatError> {
    read_header(bytes, bytes.len() as u64)
}

/// Parses the header of a safetensors file of `file_len` bytes from its first bytes: `prefix` must
/// hold the 8-byte length and the whole JSON header (see [`header_end`]); the data need not be
/// there. Checks every tensor's offsets against `file_len`. For reading tensors from a file in
/// pieces (see [`super::stream`]).
pub fn read_header(
    prefix: &[u8],
    file_len: u64,
) -> Result<(Vec<RawEntry>, BTreeMap<String, String>), FormatError> {
    let bytes = prefix;
    let total = file_len;
    let Some(len_bytes) = bytes.get(..8) else {
        return Err(FormatError::Truncated {
            what: "safetensors header length".into(),
            needed: 8,
            available: total,
        });
    };
    let n = u64::from_le_bytes(len_bytes.try_into().unwrap_or([0; 8]));
    if bytes.get(8).is_some_and(|&b| b != b'{') {
        return Err(FormatError::BadMagic {
            format: "safetensors",
            found: show_bytes(bytes),
        });
    }
    if n > MAX_HEADER {
        return Err(FormatError::TooLarge {
            what: "safetensors header".into(),
            bytes: n,
        });
    }
    if n > total.saturating_sub(8) {
        return Err(FormatError::Truncated {
            what: "safetensors header".into(),
            needed: n,
            available: total - 8,
        });
    }
    let Some(header) = usize::try_from(n).ok().and_then(|n| bytes.get(8..8 + n)) else {
        return Err(FormatError::Truncated {
            what: "safetensors header".into(),
            needed: n,
            available: bytes.len().saturating_sub(8) as u64,
        });
    };
    let n = header.len();
    if header.first() != Some(&b'{') {
        return Err(FormatError::BadMagic {
            format: "safetensors",
            found: show_bytes(bytes),
        });
    }
    let (entries, metadata) = parse_json(header)?;
    let data_len = total - 8 - n as u64;
    check_extents(&entries, data_len)?;
    Ok((entries, metadata))
}

/// The length of the data section as the header in `prefix` declares it (the end of its last
/// tensor), for a file whose length the reader was not told. `prefix` holds the whole header.
pub fn declared_data_len(prefix: &[u8]) -> Result<u64, FormatError> {
    let end = header_end(prefix)?;
    let header = usize::try_from(end).ok().and_then(|end| prefix.get(8..end)).ok_or(FormatError::Truncated {
        what: "safetensors header".into(),
        needed: end.saturating_sub(8),
        available: prefix.len().saturating_sub(8) as u64,
    })?;
    let (entries, _) = parse_json(header)?;
    Ok(entries.iter().map(|e| e.data_offsets.1 as u64).max().unwrap_or(0))
}

/// The header's JSON: the tensors in offset order and the metadata.
fn parse_json(header: &[u8]) -> Result<(Vec<RawEntry>, BTreeMap<String, String>), FormatError> {
    let text =
        std::str::from_utf8(header).map_err(|e| bad(format!("the header is not valid UTF-8 ({e})")))?;
    let json: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| bad(format!("the header is not a JSON object ({e})")))?;
    let mut metadata = BTreeMap::new();
    let mut entries = Vec::new();
    for (name, value) in json {
        if name == "__metadata__" {
            let map = value
                .as_object()
                .ok_or_else(|| bad("__metadata__ is not an object".into()))?;
            for (k, v) in map {
                let v = v
                    .as_str()
                    .ok_or_else(|| bad(format!("__metadata__ value for '{k}' is not a string")))?;
                metadata.insert(k.clone(), v.to_string());
            }
            continue;
        }
        entries.push(parse_entry(name, &value)?);
    }
    entries.sort_by_key(|e| e.data_offsets);
    Ok((entries, metadata))
}

/// Checks that the tensors tile a data section of `data_len` bytes exactly, each as long as its
/// shape and dtype say.
fn check_extents(entries: &[RawEntry], data_len: u64) -> Result<(), FormatError> {
    let mut expected_start = 0usize;
    for e in entries {
        let (start, end) = e.data_offsets;
        if start > end {
            return Err(bad(format!(
                "tensor '{}' has data_offsets [{start}, {end}] that run backwards",
                e.name
            )));
        }
        if end as u64 > data_len {
            return Err(FormatError::Truncated {
                what: format!("safetensors tensor '{}' (data_offsets [{start}, {end}])", e.name),
                needed: end as u64,
                available: data_len,
            });
        }
        if start != expected_start {
            return Err(bad(format!(
                "tensor '{}' starts at byte {start} but the previous data ends at {expected_start}; tensors must be contiguous",
                e.name
            )));
        }
        expected_start = end;
        if let Some(dtype) = to_dtype(&e.dtype) {
            let needed = byte_count(&e.shape, dtype, &format!("safetensors tensor '{}' shape", e.name))?;
            if needed != end - start {
                return Err(FormatError::ShapeMismatch {
                    what: format!(
                        "safetensors tensor '{}' ({} {})",
                        e.name,
                        shape_x(&e.shape),
                        e.dtype
                    ),
                    expected: needed as u64,
                    actual: (end - start) as u64,
                });
            }
        }
    }
    if expected_start as u64 != data_len {
        return Err(FormatError::ShapeMismatch {
            what: "safetensors data section (the tensors must cover it exactly)".into(),
            expected: expected_start as u64,
            actual: data_len,
        });
    }
    Ok(())
}

fn parse_entry(name: String, value: &serde_json::Value) -> Result<RawEntry, FormatError> {
    let field = |key: &str| {
        value
            .get(key)
            .ok_or_else(|| bad(format!("tensor '{name}' has no '{key}'")))
    };
    let dtype = field("dtype")?
        .as_str()
        .ok_or_else(|| bad(format!("tensor '{name}': 'dtype' is not a string")))?;
    let as_usize = |v: &serde_json::Value, what: &str| -> Result<usize, FormatError> {
        let n = v.as_u64().ok_or_else(|| {
            bad(format!(
                "tensor '{name}': {what} holds {v}, not a non-negative integer"
            ))
        })?;
        usize::try_from(n).map_err(|_| FormatError::TooLarge {
            what: format!("safetensors tensor '{name}' {what}"),
            bytes: n,
        })
    };
    let shape = field("shape")?
        .as_array()
        .ok_or_else(|| bad(format!("tensor '{name}': 'shape' is not a list")))?
        .iter()
        .map(|d| as_usize(d, "shape"))
        .collect::<Result<Vec<_>, _>>()?;
    let offsets = field("data_offsets")?
        .as_array()
        .filter(|a| a.len() == 2)
        .ok_or_else(|| {
            bad(format!(
                "tensor '{name}': 'data_offsets' is not a [start, end] pair"
            ))
        })?;
    let data_offsets = (
        as_usize(&offsets[0], "data_offsets")?,
        as_usize(&offsets[1], "data_offsets")?,
    );
    Ok(RawEntry {
        dtype: dtype.to_string(),
        shape,
        data_offsets,
        name,
    })
}

/// The file's name for `dtype` ("F16", "F32", ...), the inverse of [`to_dtype`].
pub(crate) fn dtype_name(dtype: Dtype) -> &'static str {
    match dtype {
        Dtype::F16 => "F16",
        Dtype::BF16 => "BF16",
        Dtype::F32 => "F32",
        Dtype::F64 => "F64",
        Dtype::I32 => "I32",
        Dtype::I64 => "I64",
        Dtype::U8 => "U8",
        Dtype::U16 => "U16",
        Dtype::U32 => "U32",
    }
}

/// The bytes that precede the data of a safetensors file holding `tensors` (name, dtype, shape)
/// stored one after another in the given order: the 8-byte header length and the JSON header,
/// padded with spaces to a multiple of 8. Write this, then each tensor's little-endian data in
/// order, to produce a file without holding the tensors in memory.
pub fn header_bytes(
    tensors: &[(&str, Dtype, &[usize])],
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, FormatError> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), serde_json::to_value(metadata).unwrap_or_default());
    }
    let mut offset = 0usize;
    for (name, dtype, shape) in tensors {
        if header.contains_key(*name) {
            return Err(bad(format!("the tensor name '{name}' is used twice")));
        }
        let bytes = byte_count(shape, *dtype, "tensor shape")?;
        let end = offset.checked_add(bytes).ok_or(FormatError::TooLarge { what: "safetensors data".into(), bytes: u64::MAX })?;
        header.insert(
            name.to_string(),
            serde_json::json!({ "dtype": dtype_name(*dtype), "shape": shape, "data_offsets": [offset, end] }),
        );
        offset = end;
    }
    let mut json = serde_json::to_vec(&header).unwrap_or_default();
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&json);
    Ok(out)
}

pub(crate) fn to_dtype(name: &str) -> Option<Dtype> {
    Some(match name {
        "F16" => Dtype::F16,
        "BF16" => Dtype::BF16,
        "F32" => Dtype::F32,
        "F64" => Dtype::F64,
        "I32" => Dtype::I32,
        "I64" => Dtype::I64,
        "U8" => Dtype::U8,
        "U16" => Dtype::U16,
        "U32" => Dtype::U32,
        _ => return None,
    })
}

fn bad(reason: String) -> FormatError {
    FormatError::BadHeader {
        format: "safetensors",
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::ArrayData;

    /// A file with a hand-written JSON header and raw data.
    fn by_hand(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn sample() -> Vec<u8> {
        let dec = Array::f16_from_f32(vec![2, 3], &[0.1, 0.2, 0.3, -1.0, 2.0, 65504.0]);
        let enc = Array::bf16_from_f32(vec![3, 2], &[1.0, 0.5, 0.25, -0.1, 3.0, 4.0]);
        let b = Array::f32(vec![2], vec![1.5, -2.5]);
        let meta = BTreeMap::from([("model".to_string(), "tiny".to_string())]);
        write(
            &[("decoder.weight", &dec), ("encoder.weight", &enc), ("b_dec", &b)],
            &meta,
        )
    }

    #[test]
    fn round_trip_all_dtypes_and_metadata() {
        let bytes = sample();
        let l = list(&bytes).unwrap();
        let names: Vec<_> = l.iter().map(|(n, d, s)| (n.as_str(), *d, s.clone())).collect();
        assert!(names.contains(&("decoder.weight", Dtype::F16, vec![2, 3])));
        assert!(names.contains(&("encoder.weight", Dtype::BF16, vec![3, 2])));
        assert_eq!(
            metadata(&bytes).unwrap().get("model").map(String::as_str),
            Some("tiny")
        );
        let dec = read(&bytes, "decoder.weight").unwrap();
        assert_eq!(
            dec,
            Array::f16_from_f32(vec![2, 3], &[0.1, 0.2, 0.3, -1.0, 2.0, 65504.0])
        );
        let enc = read(&bytes, "encoder.weight").unwrap();
        assert_eq!(
            enc.to_f32_vec(),
            Array::bf16_from_f32(vec![3, 2], &[1.0, 0.5, 0.25, -0.1, 3.0, 4.0]).to_f32_vec()
        );
        assert_eq!(
            read(&bytes, "b_dec").unwrap().data,
            ArrayData::F32(vec![1.5, -2.5])
        );

        let all = [
            ("f64", Array::f64(vec![2], vec![1.0, -2.0])),
            ("i32", Array::i32(vec![1], vec![-9])),
            (
                "i64",
                Array {
                    dtype: Dtype::I64,
                    shape: vec![1],
                    data: ArrayData::I64(vec![1 << 40]),
                },
            ),
            (
                "u8",
                Array {
                    dtype: Dtype::U8,
                    shape: vec![3],
                    data: ArrayData::U8(vec![0, 1, 255]),
                },
            ),
            (
                "u16",
                Array {
                    dtype: Dtype::U16,
                    shape: vec![1],
                    data: ArrayData::U16(vec![65535]),
                },
            ),
            (
                "u32",
                Array {
                    dtype: Dtype::U32,
                    shape: vec![],
                    data: ArrayData::U32(vec![7]),
                },
            ),
        ];
        let refs: Vec<(&str, &Array)> = all.iter().map(|(n, a)| (*n, a)).collect();
        let bytes = write(&refs, &BTreeMap::new());
        assert!(metadata(&bytes).unwrap().is_empty());
        for (n, a) in &all {
            assert_eq!(&read(&bytes, n).unwrap(), a, "{n}");
        }
        let empty = write(&[], &BTreeMap::new());
        assert!(list(&empty).unwrap().is_empty());
    }

    #[test]
    fn unknown_dtypes_are_listed_but_not_read() {
        let bytes = by_hand(
            r#"{"q":{"dtype":"I8","shape":[2],"data_offsets":[0,2]},"w":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#,
            &[1, 2, 0, 0, 128, 63],
        );
        assert_eq!(
            list(&bytes).unwrap(),
            vec![("w".to_string(), Dtype::F32, vec![1])]
        );
        assert_eq!(list_all(&bytes).unwrap().len(), 2);
        assert_eq!(read(&bytes, "w").unwrap().to_f32_vec(), vec![1.0]);
        let e = read(&bytes, "q").unwrap_err();
        assert_eq!(e.kind(), "unsupported-dtype");
        assert!(e.to_string().contains("I8"));
    }

    #[test]
    fn error_missing_tensor() {
        let e = read(&sample(), "W_dec").unwrap_err();
        assert_eq!(e.kind(), "missing-tensor");
        let msg = e.to_string();
        assert!(
            msg.contains("'W_dec'") && msg.contains("decoder.weight (2x3 F16)") && msg.contains("--tensor"),
            "{msg}"
        );
    }

    #[test]
    fn error_truncated() {
        let bytes = sample();
        for cut in [0, 5, 8, 20, bytes.len() - 1] {
            let e = read(&bytes[..cut], "b_dec").unwrap_err();
            assert_eq!(e.kind(), "truncated", "cut {cut}: {e}");
        }
    }

    #[test]
    fn error_offsets_out_of_range() {
        let e = read(
            &by_hand(
                r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                &[0; 4],
            ),
            "w",
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                FormatError::Truncated {
                    needed: 8,
                    available: 4,
                    ..
                }
            ),
            "{e}"
        );
        let e = list(&by_hand(
            r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551615,4]}}"#,
            &[0; 4],
        ))
        .unwrap_err();
        assert_eq!(e.kind(), "bad-header", "{e}");
        let e = list(&by_hand(
            r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            &[0; 8],
        ))
        .unwrap_err();
        assert_eq!(e.kind(), "bad-header", "{e}"); // gap before the first tensor
    }

    #[test]
    fn error_shape_mismatch() {
        let e = read(
            &by_hand(
                r#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
                &[0; 8],
            ),
            "w",
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                FormatError::ShapeMismatch {
                    expected: 12,
                    actual: 8,
                    ..
                }
            ),
            "{e}"
        );
        let e = read(
            &by_hand(
                r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                &[0; 12],
            ),
            "w",
        )
        .unwrap_err();
        assert_eq!(e.kind(), "shape-mismatch", "{e}"); // trailing bytes
        let bad_array = Array::f32(vec![2, 2], vec![1.0]);
        assert_eq!(
            try_write(&[("x", &bad_array)], &BTreeMap::new())
                .unwrap_err()
                .kind(),
            "shape-mismatch"
        );
    }

    #[test]
    fn error_too_large() {
        let e = list(&by_hand(
            r#"{"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#,
            &[0; 8],
        ))
        .unwrap_err();
        assert_eq!(e.kind(), "too-large", "{e}");
        let mut huge = u64::MAX.to_le_bytes().to_vec();
        huge.extend_from_slice(b"{}");
        assert_eq!(list(&huge).unwrap_err().kind(), "too-large");
    }

    #[test]
    fn error_bad_magic_and_bad_header() {
        let e = list(&by_hand("[1, 2, 3]", &[])).unwrap_err();
        assert_eq!(e.kind(), "bad-magic");
        let e = list(b"\x93NUMPY\x01\x00v\x00{'descr': '<f4'}").unwrap_err();
        assert_eq!(e.kind(), "bad-magic", "{e}");
        assert!(e.to_string().contains("NUMPY"), "{e}");
        for header in [
            "{not json}",
            r#"{"w":{"shape":[1],"data_offsets":[0,4]}}"#,
            r#"{"w":{"dtype":"F32","data_offsets":[0,4]}}"#,
            r#"{"w":{"dtype":"F32","shape":[1]}}"#,
            r#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
            r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#,
            r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
            r#"{"w":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}"#,
            r#"{"__metadata__":{"a":1}}"#,
            r#"{"__metadata__":[]}"#,
        ] {
            let e = list(&by_hand(header, &[0; 4])).unwrap_err();
            assert!(matches!(e.kind(), "bad-header"), "{header}: {e}");
        }
        let header: &[u8] = b"{\"\xff\":1}"; // not UTF-8
        let mut raw = (header.len() as u64).to_le_bytes().to_vec();
        raw.extend_from_slice(header);
        assert_eq!(list(&raw).unwrap_err().kind(), "bad-header");
        let b = Array::f32(vec![1], vec![1.0]);
        assert_eq!(
            try_write(&[("x", &b), ("x", &b)], &BTreeMap::new())
                .unwrap_err()
                .kind(),
            "bad-header"
        );
    }

    #[test]
    fn header_bytes_then_data_is_a_valid_file() {
        let a: Vec<f32> = (0..6).map(|i| i as f32).collect();
        let b: Vec<i32> = vec![7, 8, 9];
        let mut meta = BTreeMap::new();
        meta.insert("model".to_string(), "test".to_string());
        let mut file = header_bytes(&[("a", Dtype::F32, &[2, 3]), ("b", Dtype::I32, &[3])], &meta).unwrap();
        assert_eq!(file.len() % 8, 0);
        file.extend(a.iter().flat_map(|v| v.to_le_bytes()));
        file.extend(b.iter().flat_map(|v| v.to_le_bytes()));
        assert_eq!(read(&file, "a").unwrap().to_f32_vec(), a);
        assert_eq!(read(&file, "b").unwrap().data, ArrayData::I32(b));
        assert_eq!(metadata(&file).unwrap(), meta);
        assert!(header_bytes(&[("a", Dtype::F32, &[1]), ("a", Dtype::F32, &[1])], &meta).is_err());
    }

    /// The Hugging Face crate and this module read each other's files alike: every dtype, shapes
    /// of rank 0 to 3, metadata.
    #[test]
    fn interop_with_the_safetensors_crate() {
        use ::safetensors::tensor::{serialize, Dtype as StDtype, TensorView};
        let f32s: Vec<u8> = (0..24).flat_map(|i| (i as f32 * 0.5 - 3.0).to_le_bytes()).collect();
        let i64s: Vec<u8> = (0..3).flat_map(|i| (i as i64 - 7).to_le_bytes()).collect();
        let f16s: Vec<u8> = [1.0f32, -2.5, 0.125].iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect();
        let one: Vec<u8> = 9.75f64.to_le_bytes().to_vec();
        let views = vec![
            ("cube", TensorView::new(StDtype::F32, vec![2, 3, 4], &f32s).unwrap()),
            ("ints", TensorView::new(StDtype::I64, vec![3], &i64s).unwrap()),
            ("halves", TensorView::new(StDtype::F16, vec![1, 3], &f16s).unwrap()),
            ("scalar", TensorView::new(StDtype::F64, vec![], &one).unwrap()),
        ];
        let meta = std::collections::HashMap::from([("format".to_string(), "pt".to_string())]);
        let theirs = serialize(views, Some(meta)).unwrap();
        let cube = read(&theirs, "cube").unwrap();
        assert_eq!(cube.shape, vec![2, 3, 4]);
        assert_eq!(cube.to_f32_vec(), (0..24).map(|i| i as f32 * 0.5 - 3.0).collect::<Vec<_>>());
        assert_eq!(read(&theirs, "ints").unwrap().data, ArrayData::I64(vec![-7, -6, -5]));
        assert_eq!(read(&theirs, "halves").unwrap().to_f32_vec(), vec![1.0, -2.5, 0.125]);
        let scalar = read(&theirs, "scalar").unwrap();
        assert!(scalar.shape.is_empty());
        assert_eq!(scalar.data, ArrayData::F64(vec![9.75]));
        assert_eq!(metadata(&theirs).unwrap()["format"], "pt");

        let ours = sample();
        let parsed = ::safetensors::SafeTensors::deserialize(&ours).unwrap();
        for (name, _, shape) in list(&ours).unwrap() {
            let view = parsed.tensor(&name).unwrap();
            assert_eq!(view.shape(), shape.as_slice(), "{name}");
            let start = header_end(&ours).unwrap() as usize;
            let entry = list_all(&ours).unwrap().into_iter().find(|e| e.name == name).unwrap();
            assert_eq!(view.data(), &ours[start + entry.data_offsets.0..start + entry.data_offsets.1]);
        }
        let (_, their_meta) = ::safetensors::SafeTensors::read_metadata(&ours).unwrap();
        assert_eq!(their_meta.metadata().as_ref().unwrap()["model"], "tiny");
    }
}
