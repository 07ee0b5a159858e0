//! [`Dtype`], [`Array`] and the little-endian codecs every format shares.

use super::error::{shape_str, FormatError};
use half::{bf16, f16};

/// Element types the readers understand. `F16` and `BF16` decode to `f32` values.
///
/// Serialized (serde) and displayed in lowercase: `"f16"`, `"bf16"`, `"f32"`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    F16,
    BF16,
    F32,
    F64,
    I32,
    I64,
    U8,
    U16,
    U32,
}

impl Dtype {
    /// All dtypes, in declaration order.
    pub const ALL: [Dtype; 9] = [
        Dtype::F16,
        Dtype::BF16,
        Dtype::F32,
        Dtype::F64,
        Dtype::I32,
        Dtype::I64,
        Dtype::U8,
        Dtype::U16,
        Dtype::U32,
    ];

    /// Bytes per element as stored in a file.
    pub fn size(self) -> usize {
        match self {
            Dtype::U8 => 1,
            Dtype::F16 | Dtype::BF16 | Dtype::U16 => 2,
            Dtype::F32 | Dtype::I32 | Dtype::U32 => 4,
            Dtype::F64 | Dtype::I64 => 8,
        }
    }

    /// Lowercase name: "f16", "bf16", "f32", ...
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F16 => "f16",
            Dtype::BF16 => "bf16",
            Dtype::F32 => "f32",
            Dtype::F64 => "f64",
            Dtype::I32 => "i32",
            Dtype::I64 => "i64",
            Dtype::U8 => "u8",
            Dtype::U16 => "u16",
            Dtype::U32 => "u32",
        }
    }

    /// Parses a name as [`Dtype::name`] prints it (case-insensitive: "F16" and "f16" both work).
    pub fn parse(name: &str) -> Option<Dtype> {
        Dtype::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(name))
    }

    /// True for the floating-point dtypes.
    pub fn is_float(self) -> bool {
        matches!(self, Dtype::F16 | Dtype::BF16 | Dtype::F32 | Dtype::F64)
    }
}

impl std::fmt::Display for Dtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The decoded values of an [`Array`]. `f16` and `bf16` arrays hold `F32` values.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl ArrayData {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            ArrayData::F32(v) => v.len(),
            ArrayData::F64(v) => v.len(),
            ArrayData::I32(v) => v.len(),
            ArrayData::I64(v) => v.len(),
            ArrayData::U8(v) => v.len(),
            ArrayData::U16(v) => v.len(),
            ArrayData::U32(v) => v.len(),
        }
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The data variant that holds values of `dtype` (f16/bf16 -> F32).
    fn matches(&self, dtype: Dtype) -> bool {
        matches!(
            (dtype, self),
            (Dtype::F16 | Dtype::BF16 | Dtype::F32, ArrayData::F32(_))
                | (Dtype::F64, ArrayData::F64(_))
                | (Dtype::I32, ArrayData::I32(_))
                | (Dtype::I64, ArrayData::I64(_))
                | (Dtype::U8, ArrayData::U8(_))
                | (Dtype::U16, ArrayData::U16(_))
                | (Dtype::U32, ArrayData::U32(_))
        )
    }
}

/// A decoded array: any dtype, any rank, C (row-major) order.
///
/// `dtype` is how the array is (or will be) stored in a file; writers encode by `dtype`, converting
/// from whatever `data` holds. So an `Array` with `dtype: F16` and `F32` data is written as f16.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub data: ArrayData,
}

impl Array {
    /// A checked constructor: the shape's product must equal the number of values, and `data`
    /// must be the variant that holds `dtype` (f16/bf16/f32 -> `F32`).
    pub fn new(dtype: Dtype, shape: Vec<usize>, data: ArrayData) -> Result<Array, FormatError> {
        let expected = element_count(&shape, "array shape")?;
        if expected != data.len() {
            return Err(FormatError::ShapeMismatch {
                what: format!(
                    "array of shape {} ({} values expected)",
                    shape_str(&shape),
                    expected
                ),
                expected: expected as u64,
                actual: data.len() as u64,
            });
        }
        if !data.matches(dtype) {
            return Err(FormatError::UnsupportedDtype {
                format: "array",
                dtype: format!("{dtype} declared for data of another type"),
            });
        }
        Ok(Array { dtype, shape, data })
    }

    /// An f32 array.
    pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> Array {
        Array {
            dtype: Dtype::F32,
            shape,
            data: ArrayData::F32(data),
        }
    }

    /// An f64 array.
    pub fn f64(shape: Vec<usize>, data: Vec<f64>) -> Array {
        Array {
            dtype: Dtype::F64,
            shape,
            data: ArrayData::F64(data),
        }
    }

    /// An i32 array.
    pub fn i32(shape: Vec<usize>, data: Vec<i32>) -> Array {
        Array {
            dtype: Dtype::I32,
            shape,
            data: ArrayData::I32(data),
        }
    }

    /// An array stored as f16: values are rounded to f16 now, so what is written is what is held.
    pub fn f16_from_f32(shape: Vec<usize>, values: &[f32]) -> Array {
        let data = values.iter().map(|&v| f16::from_f32(v).to_f32()).collect();
        Array {
            dtype: Dtype::F16,
            shape,
            data: ArrayData::F32(data),
        }
    }

    /// An array stored as bf16: values are rounded to bf16 now, so what is written is what is held.
    pub fn bf16_from_f32(shape: Vec<usize>, values: &[f32]) -> Array {
        let data = values.iter().map(|&v| bf16::from_f32(v).to_f32()).collect();
        Array {
            dtype: Dtype::BF16,
            shape,
            data: ArrayData::F32(data),
        }
    }

    /// All values converted to `f32` (integers and f64 by `as`), row-major.
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match &self.data {
            ArrayData::F32(v) => v.clone(),
            ArrayData::F64(v) => v.iter().map(|&x| x as f32).collect(),
            ArrayData::I32(v) => v.iter().map(|&x| x as f32).collect(),
            ArrayData::I64(v) => v.iter().map(|&x| x as f32).collect(),
            ArrayData::U8(v) => v.iter().map(|&x| x as f32).collect(),
            ArrayData::U16(v) => v.iter().map(|&x| x as f32).collect(),
            ArrayData::U32(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// Consumes the array, returning its values as `f32` (no copy when it already holds `f32`).
    pub fn into_f32_vec(self) -> Vec<f32> {
        match self.data {
            ArrayData::F32(v) => v,
            _ => self.to_f32_vec(),
        }
    }

    /// All values converted to `f64`, row-major.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match &self.data {
            ArrayData::F32(v) => v.iter().map(|&x| x as f64).collect(),
            ArrayData::F64(v) => v.clone(),
            ArrayData::I32(v) => v.iter().map(|&x| x as f64).collect(),
            ArrayData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            ArrayData::U8(v) => v.iter().map(|&x| x as f64).collect(),
            ArrayData::U16(v) => v.iter().map(|&x| x as f64).collect(),
            ArrayData::U32(v) => v.iter().map(|&x| x as f64).collect(),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Product of `shape`, refusing overflow (as [`FormatError::TooLarge`]).
pub(crate) fn element_count(shape: &[usize], what: &str) -> Result<usize, FormatError> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| too_large(shape, 1, what))
}

/// Bytes needed for `shape` elements of `dtype`, refusing overflow (as [`FormatError::TooLarge`]).
pub(crate) fn byte_count(shape: &[usize], dtype: Dtype, what: &str) -> Result<usize, FormatError> {
    element_count(shape, what)?
        .checked_mul(dtype.size())
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(|| too_large(shape, dtype.size(), what))
}

fn too_large(shape: &[usize], item: usize, what: &str) -> FormatError {
    let bytes = shape
        .iter()
        .fold(item as u128, |acc, &d| acc.saturating_mul(d as u128));
    FormatError::TooLarge {
        what: format!("{what} {}", shape_str(shape)),
        bytes: u64::try_from(bytes).unwrap_or(u64::MAX),
    }
}

/// Decodes little-endian bytes of `dtype`. `bytes.len()` must be a multiple of `dtype.size()`
/// (callers check the length against the shape first); a ragged tail is ignored.
pub(crate) fn decode_le(dtype: Dtype, bytes: &[u8]) -> ArrayData {
    fn map<const N: usize, T>(bytes: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
        bytes
            .chunks_exact(N)
            .map(|c| f(c.try_into().unwrap_or([0; N])))
            .collect()
    }
    match dtype {
        Dtype::F16 => ArrayData::F32(map(bytes, |b| f16::from_le_bytes(b).to_f32())),
        Dtype::BF16 => ArrayData::F32(map(bytes, |b| bf16::from_le_bytes(b).to_f32())),
        Dtype::F32 => ArrayData::F32(map(bytes, f32::from_le_bytes)),
        Dtype::F64 => ArrayData::F64(map(bytes, f64::from_le_bytes)),
        Dtype::I32 => ArrayData::I32(map(bytes, i32::from_le_bytes)),
        Dtype::I64 => ArrayData::I64(map(bytes, i64::from_le_bytes)),
        Dtype::U8 => ArrayData::U8(bytes.to_vec()),
        Dtype::U16 => ArrayData::U16(map(bytes, u16::from_le_bytes)),
        Dtype::U32 => ArrayData::U32(map(bytes, u32::from_le_bytes)),
    }
}

/// Encodes `data` as little-endian bytes of `dtype`, converting values with `as` casts (and
/// `half` rounding for f16/bf16) when `data` holds another type.
pub(crate) fn encode_le(dtype: Dtype, data: &ArrayData) -> Vec<u8> {
    let f = || {
        Array {
            dtype,
            shape: Vec::new(),
            data: data.clone(),
        }
        .to_f64_vec()
    };
    let mut out = Vec::with_capacity(data.len().saturating_mul(dtype.size()));
    match (dtype, data) {
        (Dtype::F16, ArrayData::F32(v)) => v.iter().for_each(|&x| out.extend(f16::from_f32(x).to_le_bytes())),
        (Dtype::BF16, ArrayData::F32(v)) => v
            .iter()
            .for_each(|&x| out.extend(bf16::from_f32(x).to_le_bytes())),
        (Dtype::F32, ArrayData::F32(v)) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        (Dtype::F64, ArrayData::F64(v)) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        (Dtype::I32, ArrayData::I32(v)) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        (Dtype::I64, ArrayData::I64(v)) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        (Dtype::U8, ArrayData::U8(v)) => out.extend_from_slice(v),
        (Dtype::U16, ArrayData::U16(v)) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        (Dtype::U32, ArrayData::U32(v)) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        (Dtype::F16, _) => f()
            .iter()
            .for_each(|&x| out.extend(f16::from_f64(x).to_le_bytes())),
        (Dtype::BF16, _) => f()
            .iter()
            .for_each(|&x| out.extend(bf16::from_f64(x).to_le_bytes())),
        (Dtype::F32, _) => f().iter().for_each(|&x| out.extend((x as f32).to_le_bytes())),
        (Dtype::F64, _) => f().iter().for_each(|&x| out.extend(x.to_le_bytes())),
        (Dtype::I32, _) => f().iter().for_each(|&x| out.extend((x as i32).to_le_bytes())),
        (Dtype::I64, _) => f().iter().for_each(|&x| out.extend((x as i64).to_le_bytes())),
        (Dtype::U8, _) => f().iter().for_each(|&x| out.push(x as u8)),
        (Dtype::U16, _) => f().iter().for_each(|&x| out.extend((x as u16).to_le_bytes())),
        (Dtype::U32, _) => f().iter().for_each(|&x| out.extend((x as u32).to_le_bytes())),
    }
    out
}

/// Up to 8 leading bytes, escaped, for error messages: `"PK\x03\x04..."`.
pub(crate) fn show_bytes(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "an empty file".to_string();
    }
    let head: String = bytes
        .iter()
        .take(8)
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    format!("\"{head}{}\"", if bytes.len() > 8 { "..." } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_names_round_trip() {
        for d in Dtype::ALL {
            assert_eq!(Dtype::parse(d.name()), Some(d));
            assert_eq!(d.to_string(), d.name());
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{}\"", d.name()));
        }
        assert_eq!(Dtype::parse("BF16"), Some(Dtype::BF16));
        assert_eq!(Dtype::parse("f128"), None);
    }

    #[test]
    fn codec_round_trips_every_dtype() {
        let vals = [0.0f32, 1.5, -2.0, 3.0];
        for d in Dtype::ALL {
            let a = Array {
                dtype: d,
                shape: vec![2, 2],
                data: ArrayData::F32(vals.to_vec()),
            };
            let bytes = encode_le(a.dtype, &a.data);
            assert_eq!(bytes.len(), 4 * d.size());
            let back = decode_le(d, &bytes);
            let back = Array {
                dtype: d,
                shape: vec![2, 2],
                data: back,
            };
            let expect: Vec<f32> = match d {
                Dtype::U8 | Dtype::U16 | Dtype::U32 => vec![0.0, 1.0, 0.0, 3.0],
                Dtype::I32 | Dtype::I64 => vec![0.0, 1.0, -2.0, 3.0],
                _ => vals.to_vec(),
            };
            assert_eq!(back.to_f32_vec(), expect, "{d}");
        }
    }

    #[test]
    fn half_constructors_round() {
        let a = Array::f16_from_f32(vec![2], &[0.1, 65504.0]);
        assert_eq!(a.dtype, Dtype::F16);
        assert_eq!(a.to_f32_vec(), vec![f16::from_f32(0.1).to_f32(), 65504.0]);
        let b = Array::bf16_from_f32(vec![1], &[0.1]);
        assert_eq!(b.to_f32_vec(), vec![bf16::from_f32(0.1).to_f32()]);
        assert_eq!(b.len(), 1);
        assert!(!b.is_empty());
    }

    #[test]
    fn checked_new_and_sizes() {
        assert!(Array::new(Dtype::F32, vec![2, 3], ArrayData::F32(vec![0.0; 6])).is_ok());
        let e = Array::new(Dtype::F32, vec![2, 3], ArrayData::F32(vec![0.0; 5])).unwrap_err();
        assert_eq!(e.kind(), "shape-mismatch");
        let e = Array::new(Dtype::I32, vec![1], ArrayData::F32(vec![0.0])).unwrap_err();
        assert_eq!(e.kind(), "unsupported-dtype");
        let e = byte_count(&[usize::MAX, 2], Dtype::F32, "x").unwrap_err();
        assert_eq!(e.kind(), "too-large");
        let e = byte_count(&[usize::MAX / 2], Dtype::F64, "x").unwrap_err();
        assert_eq!(e.kind(), "too-large");
        assert_eq!(byte_count(&[], Dtype::F64, "x").unwrap(), 8);
        assert_eq!(byte_count(&[3, 0], Dtype::F64, "x").unwrap(), 0);
    }

    #[test]
    fn show_bytes_escapes() {
        assert_eq!(show_bytes(b"PK\x03\x04"), "\"PK\\x03\\x04\"");
        assert_eq!(show_bytes(b""), "an empty file");
        assert!(show_bytes(b"0123456789").ends_with("...\""));
    }
}
