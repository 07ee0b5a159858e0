//! `sae-geometry analyze crystals` and `analyze crystal-search`: the atom scale.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::analyze::print_json;
use super::args::{CrystalSearchArgs, CrystalsArgs};
use super::{file_name, read_file, CliError};
use crate::analysis::crystals::{
    crystal_analysis, crystal_analysis_with_view, read_crystal_set, read_vectors_with_vocabulary, with_task_files, CrystalData,
    CrystalParams, CrystalReport, CrystalView, FeatureSubset, Shrinkage,
};
use crate::formats;

#[derive(Serialize)]
struct CrystalsJson {
    #[serde(flatten)]
    report: CrystalReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    view: Option<CrystalView>,
}

/// `sae-geometry analyze crystals VECTORS [PAIRS.json...]`: prints the atom-scale report as JSON.
pub fn crystals(args: &CrystalsArgs) -> Result<(), CliError> {
    let vectors_path = resolve_vectors(&args.vectors, args.layer)?;
    let analysis_err = |source| CliError::Analysis { path: vectors_path.display().to_string(), source };
    let bytes = read_file(&vectors_path)?;
    let name = file_name(&vectors_path);
    let mut data: CrystalData = match &args.vocab {
        Some(vocab) => {
            let text = read_text(vocab)?;
            read_vectors_with_vocabulary(&bytes, &name, args.tensor.as_deref(), &text).map_err(analysis_err)?
        }
        None => {
            let words = match &args.words {
                Some(w) => w.clone(),
                None => words_file_of(&bytes, &vectors_path)?,
            };
            read_crystal_set(&bytes, &name, &read_text(&words)?).map_err(analysis_err)?
        }
    };
    drop(bytes);
    if !args.pairs.is_empty() {
        let files = args
            .pairs
            .iter()
            .map(|p| Ok((stem(p), read_text(p)?)))
            .collect::<Result<Vec<_>, CliError>>()?;
        with_task_files(&mut data, &files).map_err(analysis_err)?;
    } else if args.vocab.is_some() {
        return Err(CliError::Other(
            "with --vocab, give the task files too (PAIRS.json..., e.g. ../shared/data/word-pairs/*.json)".into(),
        ));
    }
    let params = CrystalParams {
        tasks: if args.all_tasks { Some(data.tasks.iter().map(|t| t.name.clone()).collect()) } else { args.tasks.clone() },
        max_components: args.max_components,
        shrinkage: args.shrinkage.as_deref().map(parse_shrinkage).transpose()?,
        silhouette_sample: args.silhouette_sample,
        seed: args.seed,
        list: args.list,
    };
    let input = vectors_path.display().to_string();
    let (report, view) = match &args.view {
        Some(tasks) => crystal_analysis_with_view(&data, &input, &params, args.points, tasks, &mut |_, _| {})
            .map(|(r, v)| (r, Some(v))),
        None => crystal_analysis(&data, &input, &params, args.points, &mut |_, _| {}).map(|r| (r, None)),
    }
    .map_err(analysis_err)?;
    print_json(&CrystalsJson { report, view }, args.pretty)
}

fn parse_shrinkage(text: &str) -> Result<Shrinkage, CliError> {
    if text.eq_ignore_ascii_case("auto") {
        return Ok(Shrinkage::Auto);
    }
    match text.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(Shrinkage::Fixed(v)),
        _ => Err(CliError::Other(format!("--shrinkage {text}: give \"auto\" (Ledoit-Wolf) or a number between 0 and 1"))),
    }
}

fn read_text(path: &Path) -> Result<String, CliError> {
    let bytes = read_file(path)?;
    String::from_utf8(bytes).map_err(|_| CliError::Other(format!("{}: not UTF-8 text", path.display())))
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// VECTORS as given, or (for a manifest.json) the crystal set of `--layer`.
fn resolve_vectors(path: &Path, layer: Option<u32>) -> Result<PathBuf, CliError> {
    if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        if layer.is_some() {
            return Err(CliError::Other("--layer picks a crystal set of a manifest.json; VECTORS is a file".into()));
        }
        return Ok(path.to_path_buf());
    }
    let manifest = formats::manifest::parse(&read_text(path)?)
        .map_err(|source| CliError::Format { path: path.display().to_string(), source })?;
    let sets: Vec<_> = manifest.datasets.iter().filter(|d| d.kind == "crystals").collect();
    let listing = || {
        sets.iter()
            .map(|d| match d.layer {
                Some(l) => format!("{} (layer {l})", d.id),
                None => d.id.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(layer) = layer else {
        return Err(CliError::Other(format!(
            "{}: pick a crystal set with --layer L, or give its file; the manifest has {}",
            path.display(),
            listing()
        )));
    };
    let entry = sets.iter().find(|d| d.layer == Some(layer as usize)).ok_or_else(|| {
        CliError::Other(format!("{}: no crystal set of layer {layer}; there are {}", path.display(), listing()))
    })?;
    Ok(path.parent().unwrap_or(Path::new(".")).join(&entry.file))
}

/// The words file a crystal set's metadata names (`words_file`), next to it.
fn words_file_of(bytes: &[u8], path: &Path) -> Result<PathBuf, CliError> {
    let hint = "give the words with --words WORDS.json, or a plain matrix with --vocab WORDS.txt and task files";
    let metadata = match formats::detect_kind(bytes, &file_name(path)) {
        Ok(formats::FileKind::Safetensors) => formats::safetensors::metadata(bytes)
            .map_err(|source| CliError::Format { path: path.display().to_string(), source })?,
        _ => return Err(CliError::Other(format!("{}: not a crystal set; {hint}", path.display()))),
    };
    let words = metadata
        .get("words_file")
        .ok_or_else(|| CliError::Other(format!("{}: its metadata names no words_file; {hint}", path.display())))?;
    Ok(path.parent().unwrap_or(Path::new(".")).join(words))
}

/// Parses `--features`: `0..500` (end exclusive), `3,17,42`, `@FILE` (one index a line), or
/// `norm:500` (the 500 rows of largest norm).
pub(crate) fn parse_features(text: &str) -> Result<FeatureSubset, CliError> {
    let bad = || CliError::Other(format!("--features {text}: give a range (0..500), a list (3,17,42), @FILE or norm:500"));
    if let Some(count) = text.strip_prefix("norm:") {
        return count.trim().parse().map(FeatureSubset::LargestNorm).map_err(|_| bad());
    }
    if let Some(file) = text.strip_prefix('@') {
        let body = read_text(Path::new(file))?;
        return body
            .split_whitespace()
            .map(|s| s.parse().map_err(|_| CliError::Other(format!("{file}: '{s}' is not a feature index"))))
            .collect::<Result<_, _>>()
            .map(FeatureSubset::Indices);
    }
    if let Some((a, b)) = text.split_once("..") {
        let (a, b): (u32, u32) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
        return if a < b { Ok(FeatureSubset::Indices((a..b).collect())) } else { Err(bad()) };
    }
    text.split(',').map(|s| s.trim().parse().map_err(|_| bad())).collect::<Result<_, _>>().map(FeatureSubset::Indices)
}

/// `sae-geometry analyze crystal-search DECODER`: prints the best crystal clusters as JSON.
pub fn crystal_search(args: &CrystalSearchArgs) -> Result<(), CliError> {
    use crate::analysis::crystals::crystal_search_from_bytes;
    use crate::geometry::crystal_search::CrystalSearchParams;
    let features = parse_features(&args.features)?;
    let bytes = read_file(&args.decoder)?;
    let params = CrystalSearchParams {
        k: args.k,
        normalised: args.normalised,
        n_init: args.n_init,
        seed: args.seed,
        top: args.top,
        ..CrystalSearchParams::default()
    };
    let result = crystal_search_from_bytes(&bytes, &file_name(&args.decoder), args.tensor.as_deref(), &features, &params, &mut |_, _| {}, &|| false)
        .map_err(|source| CliError::Analysis { path: args.decoder.display().to_string(), source })?;
    print_json(&result, args.pretty)
}
