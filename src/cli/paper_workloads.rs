//! The seeded workloads of `sae-geometry bench paper`, at the paper's sizes, written once into the
//! benchmark's folder and reused: a decoder-like cloud (unit rows, power-law covariance, planted
//! lobes), co-occurrence firings of the same features with the same lobes planted, and a crystal set
//! of the paper's 12 word-pair tasks at d = 2304.
//!
//! They are synthetic on purpose: the paper's Gemma Scope files (16k and 65k features at d = 2304)
//! are gigabytes behind a network this project cannot reach, and a benchmark must run anywhere with
//! one command. What the analyses do with them is the same work as with the real files (the same
//! shapes, the same dense and sparse structure), and the answers are compared across the three
//! runners, not against the paper.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::CliError;
use crate::formats::Array;
use crate::formats::bundle::Firings;
use crate::formats::safetensors;
use crate::formats::wordpairs::build_set;

/// Lobes planted in the decoder and in the firings.
pub const PLANTED_LOBES: usize = 4;
/// Model width of Gemma-2-2B, the paper's main model.
pub const PAPER_D: usize = 2304;

/// Lobe of feature `f`.
fn lobe_of(f: usize) -> usize {
    f % PLANTED_LOBES
}

/// One RNG per block of work, so that blocks can be drawn on several threads and the result does
/// not depend on how many.
fn block_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A decoder-like matrix, `n x d` row-major: row f is `z ⊙ s + m_lobe(f)` scaled to unit norm, with
/// `z` standard normal, `s_j = (j + 1)^(-1/2)` (a power-law covariance spectrum, as SAE decoders
/// show) and one mean direction `m_l = 0.6 (w ⊙ s)` per planted lobe (so the angular affinity has
/// lobes to find). Deterministic in `seed` whatever the number of threads.
pub fn decoder_cloud(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let scale: Vec<f32> = (0..d).map(|j| ((j + 1) as f32).powf(-0.5)).collect();
    let mut means_rng = block_rng(seed, u64::MAX);
    let means: Vec<Vec<f32>> = (0..PLANTED_LOBES)
        .map(|_| scale.iter().map(|s| 0.6 * s * means_rng.sample::<f32, _>(StandardNormal)).collect())
        .collect();
    const ROWS: usize = 256;
    let mut blocks: Vec<Vec<f32>> = (0..n.div_ceil(ROWS)).map(|b| vec![0f32; ROWS.min(n - b * ROWS) * d]).collect();
    crate::compute::par::for_each_mut(&mut blocks, |b, block| {
        let mut rng = block_rng(seed, b as u64);
        for (r, row) in block.chunks_exact_mut(d).enumerate() {
            let mean = &means[lobe_of(b * ROWS + r)];
            for ((x, s), m) in row.iter_mut().zip(&scale).zip(mean) {
                *x = rng.sample::<f32, _>(StandardNormal) * s + m;
            }
            let norm = row.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>().sqrt() as f32;
            row.iter_mut().for_each(|x| *x /= norm);
        }
    });
    blocks.concat()
}

/// Co-occurrence firings of `n_features` features over `chunks` chunks of text: each document (8
/// chunks) has a topic, one of the planted lobes; in each of its chunks every feature of that lobe
/// fires with probability 0.04 and every other feature with 0.01 (about 290 features a chunk for
/// 16,384 features, the order of a 256-token chunk under a 16k SAE of L0 ~ 40-70). Every fifth
/// document is held out (the lobe specialisation's test set). Deterministic in `seed`.
pub fn planted_firings(n_features: usize, chunks: usize, seed: u64) -> Firings {
    const CHUNKS_PER_DOC: usize = 8;
    const P_IN: f64 = 0.04;
    const P_OUT: f64 = 0.01;
    let n_docs = chunks.div_ceil(CHUNKS_PER_DOC);
    let topic = |doc: usize| ((doc * 2_654_435_761usize) >> 7) % PLANTED_LOBES;
    const BLOCK: usize = 512;
    let mut blocks: Vec<Vec<Vec<u32>>> = (0..chunks.div_ceil(BLOCK)).map(|b| vec![Vec::new(); BLOCK.min(chunks - b * BLOCK)]).collect();
    crate::compute::par::for_each_mut(&mut blocks, |b, block| {
        let mut rng = block_rng(seed ^ 0x5eed_f1e5, b as u64);
        for (i, fired) in block.iter_mut().enumerate() {
            let t = topic((b * BLOCK + i) / CHUNKS_PER_DOC);
            for lobe in 0..PLANTED_LOBES {
                // Members of `lobe` are lobe, lobe + L, lobe + 2L, ...: geometric skips among them.
                let p = if lobe == t { P_IN } else { P_OUT };
                let log_q = (1.0 - p).ln();
                let members = (n_features + PLANTED_LOBES - 1 - lobe) / PLANTED_LOBES;
                let mut j = 0usize;
                loop {
                    let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
                    j += (u.ln() / log_q).floor() as usize;
                    if j >= members {
                        break;
                    }
                    fired.push((j * PLANTED_LOBES + lobe) as u32);
                    j += 1;
                }
            }
            fired.sort_unstable();
        }
    });
    let mut indptr = vec![0u32];
    let mut indices = Vec::new();
    for fired in blocks.into_iter().flatten() {
        indices.extend_from_slice(&fired);
        indptr.push(indices.len() as u32);
    }
    Firings {
        n_features,
        indptr,
        indices,
        chunk_doc: (0..chunks).map(|c| (c / CHUNKS_PER_DOC) as u32).collect(),
        doc_category: (0..n_docs).map(|d| topic(d) as u16).collect(),
        doc_heldout: (0..n_docs).map(|d| d % 5 == 4).collect(),
        categories: (0..PLANTED_LOBES).map(|l| format!("topic-{l}")).collect(),
        chunk_tokens: 256,
        threshold: 0.0,
        metadata: BTreeMap::from([
            ("source".into(), format!("sae-geometry bench paper: planted lobes, seed {seed}")),
            ("sae".into(), format!("decoder-{n_features}x{PAPER_D}")),
        ]),
    }
}

/// Word vectors, `words x d`, for a crystal set: each word a standard normal vector scaled by
/// `1/sqrt(d)`, plus, for each task in which it is an output word, that task's offset (norm about
/// 0.7), so that each task's difference vectors share a direction (a crystal) under noise.
pub fn crystal_vectors(set: &crate::formats::wordpairs::CrystalSet, d: usize, seed: u64) -> Vec<f32> {
    let mut rng = block_rng(seed ^ 0xc415_7a15, 0);
    let offsets: Vec<Vec<f32>> = (0..set.tasks.len())
        .map(|_| (0..d).map(|_| 0.7 * rng.sample::<f32, _>(StandardNormal) / (d as f32).sqrt()).collect())
        .collect();
    let mut x: Vec<f32> = (0..set.words.len() * d)
        .map(|_| rng.sample::<f32, _>(StandardNormal) / (d as f32).sqrt())
        .collect();
    for (t, task) in set.tasks.iter().enumerate() {
        let mut done = std::collections::HashSet::new();
        for &[_, out] in &task.pairs {
            if done.insert(out) {
                let row = &mut x[out as usize * d..(out as usize + 1) * d];
                row.iter_mut().zip(&offsets[t]).for_each(|(v, o)| *v += o);
            }
        }
    }
    x
}

/// The files of the benchmark, in its folder.
pub struct WorkloadFiles {
    pub dir: PathBuf,
}

impl WorkloadFiles {
    /// A decoder of `n` features at d = 2304.
    pub fn decoder(&self, n: usize) -> PathBuf {
        self.dir.join(format!("decoder-{n}x{PAPER_D}.safetensors"))
    }
    /// Firings of 16,384 features over `chunks` chunks.
    pub fn firings(&self, n: usize, chunks: usize) -> PathBuf {
        self.dir.join(format!("cooccurrence-{n}-{}k.safetensors", chunks / 1000))
    }
    /// The crystal set's vectors (its words file is named in its metadata).
    pub fn crystals(&self) -> PathBuf {
        self.dir.join(format!("crystals-d{PAPER_D}.safetensors"))
    }
    /// The crystal set's words file (named in the vectors' metadata, beside them).
    pub fn crystal_words(&self) -> PathBuf {
        self.dir.join(format!("crystals-d{PAPER_D}-words.json"))
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|source| CliError::Write { path: path.display().to_string(), source })
}

fn format_err(path: &Path) -> impl FnOnce(crate::formats::FormatError) -> CliError + '_ {
    move |source| CliError::Format { path: path.display().to_string(), source }
}

/// Writes the decoder of `n` features unless it exists.
pub fn ensure_decoder(files: &WorkloadFiles, n: usize, seed: u64, log: &mut dyn FnMut(&str)) -> Result<PathBuf, CliError> {
    let path = files.decoder(n);
    if !path.exists() {
        log(&format!("writing {} (seeded decoder-like cloud)", path.display()));
        let values = decoder_cloud(n, PAPER_D, seed);
        let meta = BTreeMap::from([("source".to_string(), format!("sae-geometry bench paper: decoder_cloud seed {seed}"))]);
        let bytes = safetensors::try_write(&[("W_dec", &Array::f32(vec![n, PAPER_D], values))], &meta).map_err(format_err(&path))?;
        write(&path, &bytes)?;
    }
    Ok(path)
}

/// Writes the firings of `n` features over `chunks` chunks unless they exist.
pub fn ensure_firings(files: &WorkloadFiles, n: usize, chunks: usize, seed: u64, log: &mut dyn FnMut(&str)) -> Result<PathBuf, CliError> {
    let path = files.firings(n, chunks);
    if !path.exists() {
        log(&format!("writing {} (seeded firings, planted lobes)", path.display()));
        let bytes = planted_firings(n, chunks, seed).to_safetensors().map_err(format_err(&path))?;
        write(&path, &bytes)?;
    }
    Ok(path)
}

/// Writes the crystal set (vectors and words file) of the task files in `word_pairs` unless it
/// exists: every word of every task, the pairs as `build_set` keeps them.
pub fn ensure_crystals(files: &WorkloadFiles, word_pairs: &Path, seed: u64, log: &mut dyn FnMut(&str)) -> Result<PathBuf, CliError> {
    let path = files.crystals();
    if !path.exists() {
        log(&format!("writing {} (seeded word vectors with planted task offsets)", path.display()));
        let tasks = crate::pipeline::crystals::read_tasks(word_pairs).map_err(|e| CliError::Other(e.to_string()))?;
        let mut set = build_set(&format!("sae-geometry bench paper: crystal_vectors seed {seed}"), &tasks, &|w| w.to_string(), &|_| true);
        set.last_token = set.words.clone();
        let words_path = files.crystal_words();
        let words_file = super::file_name(&words_path);
        write(&words_path, (serde_json::to_string(&set).unwrap_or_default() + "\n").as_bytes())?;
        let values = crystal_vectors(&set, PAPER_D, seed);
        let meta = BTreeMap::from([
            ("kind".to_string(), "crystals".to_string()),
            ("words_file".to_string(), words_file),
        ]);
        let bytes = safetensors::try_write(&[("activations", &Array::f32(vec![set.words.len(), PAPER_D], values))], &meta)
            .map_err(format_err(&path))?;
        write(&path, &bytes)?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_rows_are_unit_and_seeded() {
        let a = decoder_cloud(300, 40, 7);
        let b = crate::compute::par::with_threads(1, || decoder_cloud(300, 40, 7));
        assert_eq!(a, b, "independent of the thread count");
        for row in a.chunks_exact(40) {
            let n: f32 = row.iter().map(|x| x * x).sum();
            assert!((n - 1.0).abs() < 1e-5);
        }
        assert_ne!(a, decoder_cloud(300, 40, 8));
    }

    #[test]
    fn firings_have_the_planted_rates() {
        let f = planted_firings(4000, 1000, 3);
        f.validate().unwrap();
        let mean = f.indices.len() as f64 / 1000.0;
        // 1000 x 0.04 + 3000 x 0.01 = 70 per chunk
        assert!((mean - 70.0).abs() < 3.0, "{mean}");
        let doc0_topic = f.doc_category[0] as usize;
        let in_lobe = f.chunk(0).iter().filter(|&&x| lobe_of(x as usize) == doc0_topic).count();
        assert!(in_lobe > f.chunk(0).len() / 3);
    }
}
