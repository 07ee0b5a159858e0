//! The app's co-occurrence bundle: which SAE features fire in which chunk of text.
//!
//! Stored as safetensors, in whichever of two encodings is smaller (metadata `encoding`):
//! `csr`: `indptr` (U32, chunks + 1) and `indices` (U16 when the SAE has at most 65,536
//! features, else U32) list, ascending, the features that fire anywhere in chunk c; `bitset`:
//! `bits` (U8, chunks x ceil(features / 8)), feature f of chunk c at bit f % 8 of byte f / 8
//! (dense chunks, where a bit a feature beats two bytes a firing). Either way, `chunk_doc` (U32) gives each chunk's document, `doc_category` (U16)
//! each document's category and `doc_heldout` (U8, 1 = held out) whether it belongs to the
//! held-out documents of the lobe specialisation analysis. Metadata: `kind` = "cooccurrence",
//! `n_features`, `chunk_tokens`, `threshold`, `categories` (a JSON list of names), and provenance.

use std::collections::BTreeMap;

use super::array::{Array, ArrayData, Dtype};
use super::error::FormatError;
use super::safetensors;

/// The `kind` metadata value of a co-occurrence bundle.
pub const COOCCURRENCE_KIND: &str = "cooccurrence";

/// Features firing per chunk, with each chunk's document and category.
#[derive(Debug, Clone, PartialEq)]
pub struct Firings {
    /// Number of SAE features (columns).
    pub n_features: usize,
    /// CSR row pointers, one per chunk plus one.
    pub indptr: Vec<u32>,
    /// Feature ids, ascending within each chunk.
    pub indices: Vec<u32>,
    /// Document of each chunk.
    pub chunk_doc: Vec<u32>,
    /// Category (index into `categories`) of each document.
    pub doc_category: Vec<u16>,
    /// Whether each document is held out (lobe specialisation is measured on these).
    pub doc_heldout: Vec<bool>,
    /// Category names.
    pub categories: Vec<String>,
    /// Tokens per chunk.
    pub chunk_tokens: usize,
    /// A feature fires in a chunk if its activation exceeds this at any token.
    pub threshold: f32,
    /// Provenance and anything else worth keeping.
    pub metadata: BTreeMap<String, String>,
}

fn bad(reason: String) -> FormatError {
    FormatError::BadHeader { format: "co-occurrence bundle", reason }
}

impl Firings {
    /// Number of chunks.
    pub fn n_chunks(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// Number of documents.
    pub fn n_docs(&self) -> usize {
        self.doc_category.len()
    }

    /// The features firing in chunk `c`.
    pub fn chunk(&self, c: usize) -> &[u32] {
        &self.indices[self.indptr[c] as usize..self.indptr[c + 1] as usize]
    }

    /// Checks every invariant; readers call it so that later code may index freely.
    pub fn validate(&self) -> Result<(), FormatError> {
        if self.indptr.first() != Some(&0) {
            return Err(bad("indptr must start at 0".into()));
        }
        if self.indptr.windows(2).any(|w| w[0] > w[1]) {
            return Err(bad("indptr must not decrease".into()));
        }
        if *self.indptr.last().unwrap_or(&0) as usize != self.indices.len() {
            return Err(bad(format!(
                "indptr ends at {} but there are {} indices",
                self.indptr.last().unwrap_or(&0),
                self.indices.len()
            )));
        }
        for c in 0..self.n_chunks() {
            let row = self.chunk(c);
            if row.windows(2).any(|w| w[0] >= w[1]) {
                return Err(bad(format!("the features of chunk {c} are not strictly ascending")));
            }
            if row.last().is_some_and(|&f| f as usize >= self.n_features) {
                return Err(bad(format!("chunk {c} names a feature beyond n_features = {}", self.n_features)));
            }
        }
        if self.chunk_doc.len() != self.n_chunks() {
            return Err(bad(format!("{} chunk documents for {} chunks", self.chunk_doc.len(), self.n_chunks())));
        }
        if let Some(c) = self.chunk_doc.iter().position(|&d| d as usize >= self.n_docs()) {
            return Err(bad(format!("chunk {c} belongs to document {} of {}", self.chunk_doc[c], self.n_docs())));
        }
        if self.doc_heldout.len() != self.n_docs() {
            return Err(bad("doc_heldout and doc_category differ in length".into()));
        }
        if let Some(d) = self.doc_category.iter().position(|&c| c as usize >= self.categories.len()) {
            return Err(bad(format!("document {d} has category {} of {}", self.doc_category[d], self.categories.len())));
        }
        Ok(())
    }

    /// The bundle's bytes (safetensors).
    pub fn to_safetensors(&self) -> Result<Vec<u8>, FormatError> {
        self.validate()?;
        let mut metadata = self.metadata.clone();
        metadata.insert("kind".into(), COOCCURRENCE_KIND.into());
        metadata.insert("n_features".into(), self.n_features.to_string());
        metadata.insert("chunk_tokens".into(), self.chunk_tokens.to_string());
        metadata.insert("threshold".into(), self.threshold.to_string());
        metadata.insert("categories".into(), serde_json::to_string(&self.categories).unwrap_or_default());
        let chunk_doc = Array::new(Dtype::U32, vec![self.chunk_doc.len()], ArrayData::U32(self.chunk_doc.clone()))?;
        let doc_category =
            Array::new(Dtype::U16, vec![self.doc_category.len()], ArrayData::U16(self.doc_category.clone()))?;
        let heldout = self.doc_heldout.iter().map(|&h| h as u8).collect();
        let doc_heldout = Array::new(Dtype::U8, vec![self.doc_heldout.len()], ArrayData::U8(heldout))?;
        let wide = self.n_features > 1 << 16;
        let csr_bytes = self.indices.len() * if wide { 4 } else { 2 } + self.indptr.len() * 4;
        let row_bytes = self.n_features.div_ceil(8);
        let firings = if self.n_chunks() * row_bytes < csr_bytes {
            metadata.insert("encoding".into(), "bitset".into());
            let mut bits = vec![0u8; self.n_chunks() * row_bytes];
            for c in 0..self.n_chunks() {
                for &f in self.chunk(c) {
                    bits[c * row_bytes + f as usize / 8] |= 1 << (f % 8);
                }
            }
            vec![("bits", Array::new(Dtype::U8, vec![self.n_chunks(), row_bytes], ArrayData::U8(bits))?)]
        } else {
            metadata.insert("encoding".into(), "csr".into());
            let indptr = Array::new(Dtype::U32, vec![self.indptr.len()], ArrayData::U32(self.indptr.clone()))?;
            let indices = if wide {
                Array::new(Dtype::U32, vec![self.indices.len()], ArrayData::U32(self.indices.clone()))?
            } else {
                let v = self.indices.iter().map(|&f| f as u16).collect();
                Array::new(Dtype::U16, vec![self.indices.len()], ArrayData::U16(v))?
            };
            vec![("indptr", indptr), ("indices", indices)]
        };
        let mut tensors: Vec<(&str, &Array)> = firings.iter().map(|(n, a)| (*n, a)).collect();
        tensors.extend([("chunk_doc", &chunk_doc), ("doc_category", &doc_category), ("doc_heldout", &doc_heldout)]);
        safetensors::try_write(&tensors, &metadata)
    }

    /// Reads and validates a bundle.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Firings, FormatError> {
        let mut metadata = safetensors::metadata(bytes)?;
        if metadata.get("kind").map(String::as_str) != Some(COOCCURRENCE_KIND) {
            return Err(bad(format!(
                "this safetensors file is not a co-occurrence bundle (kind = {:?})",
                metadata.get("kind")
            )));
        }
        let number = |key: &str| -> Result<String, FormatError> {
            metadata.get(key).cloned().ok_or_else(|| bad(format!("the metadata has no '{key}'")))
        };
        let n_features: usize = number("n_features")?.parse().map_err(|_| bad("n_features is not a number".into()))?;
        let chunk_tokens = number("chunk_tokens")?.parse().map_err(|_| bad("chunk_tokens is not a number".into()))?;
        let threshold = number("threshold")?.parse().map_err(|_| bad("threshold is not a number".into()))?;
        let categories: Vec<String> = serde_json::from_str(&number("categories")?)
            .map_err(|e| bad(format!("categories is not a JSON list of names ({e})")))?;
        let u32s = |name: &str| -> Result<Vec<u32>, FormatError> {
            match safetensors::read(bytes, name)?.data {
                ArrayData::U32(v) => Ok(v),
                ArrayData::U16(v) => Ok(v.into_iter().map(u32::from).collect()),
                _ => Err(bad(format!("'{name}' must be U16 or U32"))),
            }
        };
        let doc_category = match safetensors::read(bytes, "doc_category")?.data {
            ArrayData::U16(v) => v,
            _ => return Err(bad("'doc_category' must be U16".into())),
        };
        let doc_heldout = match safetensors::read(bytes, "doc_heldout")?.data {
            ArrayData::U8(v) => v.into_iter().map(|b| b != 0).collect(),
            _ => return Err(bad("'doc_heldout' must be U8".into())),
        };
        let (indptr, indices) = match metadata.get("encoding").map(String::as_str) {
            Some("bitset") => {
                let bits = safetensors::read(bytes, "bits")?;
                let row_bytes = n_features.div_ceil(8);
                let (ArrayData::U8(bits), &[_, width]) = (bits.data, bits.shape.as_slice()) else {
                    return Err(bad("'bits' must be a U8 matrix".into()));
                };
                if width != row_bytes {
                    return Err(bad(format!("'bits' rows hold {width} bytes, {n_features} features need {row_bytes}")));
                }
                let mut indptr = vec![0u32];
                let mut indices = Vec::new();
                for row in bits.chunks(row_bytes.max(1)) {
                    for (b, &byte) in row.iter().enumerate() {
                        for bit in 0..8 {
                            if byte & (1 << bit) != 0 {
                                indices.push((b * 8 + bit) as u32);
                            }
                        }
                    }
                    indptr.push(indices.len() as u32);
                }
                (indptr, indices)
            }
            _ => (u32s("indptr")?, u32s("indices")?),
        };
        for key in ["kind", "n_features", "chunk_tokens", "threshold", "categories", "encoding"] {
            metadata.remove(key);
        }
        let firings = Firings {
            n_features,
            indptr,
            indices,
            chunk_doc: u32s("chunk_doc")?,
            doc_category,
            doc_heldout,
            categories,
            chunk_tokens,
            threshold,
            metadata,
        };
        firings.validate()?;
        Ok(firings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Firings {
        Firings {
            n_features: 10,
            indptr: vec![0, 3, 3, 5],
            indices: vec![1, 4, 9, 0, 2],
            chunk_doc: vec![0, 0, 1],
            doc_category: vec![1, 0],
            doc_heldout: vec![false, true],
            categories: vec!["code".into(), "news".into()],
            chunk_tokens: 256,
            threshold: 0.0,
            metadata: BTreeMap::from([("layer".to_string(), "3".to_string())]),
        }
    }

    #[test]
    fn round_trips() {
        let f = sample();
        let bytes = f.to_safetensors().unwrap();
        assert_eq!(Firings::from_safetensors(&bytes).unwrap(), f);
        assert_eq!(f.chunk(2), &[0, 2]);
        assert_eq!(f.chunk(1), &[] as &[u32]);
    }

    #[test]
    fn dense_chunks_are_stored_as_a_bitset_and_read_back_the_same() {
        let mut f = sample();
        f.n_features = 12;
        f.indptr = vec![0, 9, 9, 20];
        f.indices = (0..9).chain(0..11).collect();
        let bytes = f.to_safetensors().unwrap();
        assert_eq!(safetensors::metadata(&bytes).unwrap()["encoding"], "bitset");
        assert_eq!(Firings::from_safetensors(&bytes).unwrap(), f);
        let mut sparse = sample();
        sparse.n_features = 10_000;
        let bytes = sparse.to_safetensors().unwrap();
        assert_eq!(safetensors::metadata(&bytes).unwrap()["encoding"], "csr");
    }

    #[test]
    fn broken_invariants_are_errors() {
        let mut f = sample();
        f.indices[1] = 1;
        assert!(f.to_safetensors().is_err(), "not ascending");
        let mut f = sample();
        f.indices[2] = 10;
        assert!(f.validate().is_err(), "feature out of range");
        let mut f = sample();
        f.chunk_doc[2] = 2;
        assert!(f.validate().is_err(), "document out of range");
        let mut f = sample();
        f.doc_category[0] = 2;
        assert!(f.validate().is_err(), "category out of range");
        let other = safetensors::write(&[], &BTreeMap::new());
        assert!(Firings::from_safetensors(&other).is_err(), "not a bundle");
    }
}
