//! The brain-scale analysis as the CLI and the worker run it: a decoder and co-occurrence data in,
//! lobes, their agreement with geometry, the nulls and the specialisation out.
//!
//! Co-occurrence comes either as the app's bundle (per-chunk firings with documents and
//! categories: the histogram counts the chunks of documents that are not held out, and the
//! specialisation is measured on the held-out ones) or as the authors' `.npz` (`histogram`,
//! `n_chunks`, or the bundle `sae-geometry convert histogram` makes of it; no specialisation, as
//! they have no chunks).

use serde::{Deserialize, Serialize};

use super::AnalysisError;
use crate::formats::bundle::{Firings, COOCCURRENCE_KIND};
use crate::formats::{self, ArrayData, FileKind, FormatError};
use crate::matrix::Matrix;
use crate::geometry::affinity::Affinity;
use crate::geometry::cooccurrence::{cooccurrence_histogram, Cooccurrence};
use crate::geometry::lobes::{
    cooccurrence_embedding, geometry_embedding, lobe_agreement, lobe_specialisation, LobeAgreement, LobeEmbeddings,
    LobeParams, Specialisation,
};
use crate::geometry::pca::pca;
use crate::geometry::spectral::SpectralEmbedding;
use crate::geometry::GeometryError;

/// The co-occurrence input, read.
pub struct CooccurrenceInput {
    /// The histogram the affinities are computed from.
    pub histogram: Cooccurrence,
    /// The per-chunk firings, when the input was a bundle (for the specialisation).
    pub firings: Option<Firings>,
    /// What the input was: "bundle" or "histogram".
    pub source: &'static str,
}

/// Reads co-occurrence data: the app's bundle (safetensors with `kind` = "cooccurrence"; the
/// histogram over the chunks of documents not held out) or the authors' `.npz` with `histogram`
/// (N x N integers) and `n_chunks`.
pub fn read_cooccurrence(bytes: &[u8], input_name: &str, progress: &mut dyn FnMut(f64)) -> Result<CooccurrenceInput, AnalysisError> {
    read_cooccurrence_with(bytes, input_name, None, progress)
}

/// The firings of a co-occurrence bundle that the histogram counts (the chunks of documents not
/// held out), as CSR (`indptr`, `indices`) with the number of features; `None` when `bytes` is not
/// such a bundle (a histogram file has nothing to count). For a GPU backend
/// ([`crate::compute::gpu::GpuContext::cooccurrence`]); its result goes back in through
/// [`read_cooccurrence_with`].
pub fn counted_firings(bytes: &[u8], input_name: &str) -> Result<Option<(usize, Vec<u32>, Vec<u32>)>, AnalysisError> {
    if formats::detect_kind(bytes, input_name)? != FileKind::Safetensors
        || formats::safetensors::metadata(bytes)?.get("kind").map(String::as_str) != Some(COOCCURRENCE_KIND)
    {
        return Ok(None);
    }
    let firings = Firings::from_safetensors(bytes)?;
    check_histogram_features(firings.n_features, input_name)?;
    let mut indptr = vec![0u32];
    let mut indices = Vec::new();
    for c in (0..firings.n_chunks()).filter(|&c| !is_heldout(&firings, c)) {
        indices.extend_from_slice(firings.chunk(c));
        indptr.push(indices.len() as u32);
    }
    Ok(Some((firings.n_features, indptr, indices)))
}

/// [`read_cooccurrence`], with the histogram of a bundle's firings computed elsewhere when `given`
/// is `Some` (the counts of [`counted_firings`]; checked against the bundle's shape).
pub fn read_cooccurrence_with(
    bytes: &[u8],
    input_name: &str,
    given: Option<Vec<u32>>,
    progress: &mut dyn FnMut(f64),
) -> Result<CooccurrenceInput, AnalysisError> {
    let bad = |reason: String| FormatError::BadHeader { format: "co-occurrence", reason };
    match formats::detect_kind(bytes, input_name)? {
        FileKind::Safetensors => {
            let metadata = formats::safetensors::metadata(bytes)?;
            let kind = metadata.get("kind").cloned().unwrap_or_default();
            if kind == HISTOGRAM_KIND {
                let histogram = histogram_bundle(bytes, input_name, &metadata)?;
                progress(1.0);
                return Ok(CooccurrenceInput { histogram, firings: None, source: "histogram" });
            }
            if kind != COOCCURRENCE_KIND {
                return Err(bad(format!(
                    "'{input_name}' is a safetensors file of kind '{kind}', not a co-occurrence bundle; \
                     give the '-cooccurrence.safetensors' file of the layer, or the authors' histogram .npz"
                ))
                .into());
            }
            let firings = Firings::from_safetensors(bytes)?;
            check_histogram_features(firings.n_features, input_name)?;
            let chunks: Vec<&[u32]> =
                (0..firings.n_chunks()).filter(|&c| !is_heldout(&firings, c)).map(|c| firings.chunk(c)).collect();
            let histogram = match given {
                Some(counts) if counts.len() == firings.n_features * firings.n_features => {
                    progress(1.0);
                    Cooccurrence { n_features: firings.n_features, n_chunks: chunks.len() as u64, counts }
                }
                _ => cooccurrence_histogram(firings.n_features, &chunks, progress)?,
            };
            Ok(CooccurrenceInput { histogram, firings: Some(firings), source: "bundle" })
        }
        FileKind::Npz => {
            let names = formats::npz::list(bytes)?;
            if !names.iter().any(|n| n == "histogram") {
                return Err(bad(format!(
                    "'{input_name}' has no 'histogram' array (it has {}); the authors' co-occurrence file holds \
                     'histogram' (N x N) and 'n_chunks'",
                    names.join(", ")
                ))
                .into());
            }
            // Refused from its header, before it is decompressed, when it is too large.
            if let Some(n) = formats::npz::entries(bytes)
                .ok()
                .and_then(|es| es.into_iter().find(|e| e.name == "histogram"))
                .and_then(|e| e.shape.first().copied())
            {
                check_histogram_features(n, input_name)?;
            }
            let h = formats::npz::read(bytes, "histogram")?;
            let n_chunks = formats::npz::read(bytes, "n_chunks")?;
            let n_chunks = match integers(&n_chunks.data, "n_chunks", &n_chunks.shape)?.as_slice() {
                [v] => *v,
                v => return Err(bad(format!("'n_chunks' holds {} values; it must be one integer", v.len())).into()),
            };
            let n_chunks = u64::try_from(n_chunks)
                .map_err(|_| bad(format!("n_chunks = {n_chunks} is negative; it counts the chunks of the histogram")))?;
            if h.shape.len() != 2 || h.shape[0] != h.shape[1] {
                return Err(bad(format!("'histogram' has shape {}; it must be square (N x N)", shape_text(&h.shape))).into());
            }
            let counts = integers(&h.data, "histogram", &h.shape)?;
            progress(0.5);
            let histogram = Cooccurrence::from_dense(h.shape[0], n_chunks, &counts)?;
            progress(1.0);
            Ok(CooccurrenceInput { histogram, firings: None, source: "histogram" })
        }
        FileKind::Npy => Err(bad(format!(
            "'{input_name}' is a single .npy array; co-occurrence needs the bundle (.safetensors) or an .npz with \
             'histogram' and 'n_chunks'"
        ))
        .into()),
    }
}

/// The `kind` of the bundle `sae-geometry convert histogram` writes.
pub const HISTOGRAM_KIND: &str = "cooccurrence-histogram";

/// The most features a co-occurrence histogram may have: its N x N counts (u32) take 1 GiB at
/// N = 16,384, the largest SAE the lobe scale is benchmarked on (docs/BENCHMARKS.md), and the
/// affinity and the spectral embedding need as much again. A bundle's `n_features` is a metadata
/// string that no data backs, so it is checked against this before anything N x N is allocated.
pub const MAX_HISTOGRAM_FEATURES: usize = 16_384;

/// Refuses, before allocating, a histogram of more than [`MAX_HISTOGRAM_FEATURES`] features.
fn check_histogram_features(n: usize, input_name: &str) -> Result<(), FormatError> {
    if n <= MAX_HISTOGRAM_FEATURES {
        return Ok(());
    }
    let bytes = (n as u64).checked_mul(n as u64).and_then(|c| c.checked_mul(4)).unwrap_or(u64::MAX);
    let need = crate::analysis::budget::lobes_bytes(n.min(1 << 30));
    Err(FormatError::TooLarge {
        what: format!(
            "'{input_name}': a co-occurrence histogram of {n} features ({n} x {n} counts; the lobes \
             of {n} features need about {} with their affinities, and at most \
             {MAX_HISTOGRAM_FEATURES} features fit, as in the paper's 16k SAE; use an SAE with fewer \
             features, or a subset of its features)",
            crate::analysis::budget::show_bytes(need)
        ),
        bytes,
    })
}

/// The number of features of co-occurrence data, from its header alone (a bundle's or histogram
/// bundle's `n_features` metadata, the `.npz`'s `histogram` shape): `None` when the header does not
/// say. For refusing, before anything `N x N` is allocated, what a memory budget cannot hold
/// ([`crate::analysis::budget::lobes_refusal`]).
pub fn cooccurrence_features(bytes: &[u8], input_name: &str) -> Option<usize> {
    match formats::detect_kind(bytes, input_name).ok()? {
        FileKind::Safetensors => formats::safetensors::metadata(bytes).ok()?.get("n_features")?.trim().parse().ok(),
        FileKind::Npz => formats::npz::entries(bytes)
            .ok()?
            .into_iter()
            .find(|e| e.name == "histogram")
            .and_then(|e| e.shape.first().copied()),
        _ => None,
    }
}

/// The dense histogram of a `convert histogram` bundle: the upper triangle as CSR (`indptr`,
/// `indices`, `counts`), `n_features` and `n_chunks` in the metadata.
fn histogram_bundle(
    bytes: &[u8],
    input_name: &str,
    metadata: &std::collections::BTreeMap<String, String>,
) -> Result<Cooccurrence, AnalysisError> {
    let bad = |reason: String| FormatError::BadHeader { format: "co-occurrence histogram bundle", reason };
    let number = |key: &str| {
        metadata.get(key).and_then(|v| v.trim().parse::<u64>().ok()).ok_or_else(|| bad(format!("metadata '{key}' is missing or not a number")))
    };
    let (n, n_chunks) = (number("n_features")?, number("n_chunks")?);
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    check_histogram_features(n, input_name)?;
    let read = |name: &str| -> Result<Vec<i64>, AnalysisError> {
        let a = formats::safetensors::read(bytes, name)?;
        Ok(integers(&a.data, name, &a.shape)?)
    };
    let (indptr, indices, counts) = (read("indptr")?, read("indices")?, read("counts")?);
    if indptr.len() != n + 1 || indices.len() != counts.len() || indptr.last().copied() != Some(indices.len() as i64) {
        return Err(bad(format!(
            "indptr has {} entries for {n} features, and ends at {:?} for {} indices",
            indptr.len(),
            indptr.last(),
            indices.len()
        ))
        .into());
    }
    if indptr.first() != Some(&0) {
        return Err(bad(format!("indptr starts at {:?}; it must start at 0", indptr.first())).into());
    }
    // The counts go straight into the u32 histogram (an i64 matrix would take twice its 1 GiB at
    // 16,384 features), with the checks of `Cooccurrence::from_dense` made on the entries.
    let mut dense = vec![0u32; n * n];
    for i in 0..n {
        let (a, b) = (indptr[i], indptr[i + 1]);
        if a > b || b as usize > indices.len() {
            return Err(bad(format!("indptr decreases at row {i}")).into());
        }
        for p in a as usize..b as usize {
            let j = indices[p];
            if j < i as i64 || j as usize >= n {
                return Err(bad(format!("row {i} names column {j}, outside the upper triangle")).into());
            }
            let count = u32::try_from(counts[p]).map_err(|_| {
                bad(format!("H[{i}][{j}] = {} is not a count (0 to 4294967295)", counts[p]))
            })?;
            dense[i * n + j as usize] = count;
            dense[j as usize * n + i] = count;
        }
    }
    for i in 0..n {
        let hii = dense[i * n + i];
        if hii as u64 > n_chunks {
            return Err(bad(format!(
                "H[{i}][{i}] = {hii} is more than n_chunks = {n_chunks}; the bundle's counts and n_chunks do not belong together"
            ))
            .into());
        }
        for &j in &indices[indptr[i] as usize..indptr[i + 1] as usize] {
            let j = j as usize;
            let (hij, hjj) = (dense[i * n + j], dense[j * n + j]);
            if hij > hii.min(hjj) {
                return Err(bad(format!("H[{i}][{j}] = {hij} exceeds a diagonal count (H[{i}][{i}] = {hii}, H[{j}][{j}] = {hjj})")).into());
            }
        }
    }
    Ok(Cooccurrence { n_features: n, n_chunks, counts: dense })
}

/// The values of the array `name` (of shape `shape`) as integers: integer arrays as they are,
/// float arrays when every value is a whole number (numpy's `np.float64(300)` counts), else an
/// error naming the first value that is not (NaN, an infinity, a fraction) and where it is.
fn integers(data: &ArrayData, name: &str, shape: &[usize]) -> Result<Vec<i64>, FormatError> {
    fn whole(v: impl Iterator<Item = f64>, name: &str, shape: &[usize]) -> Result<Vec<i64>, FormatError> {
        v.enumerate()
            .map(|(p, x)| {
                if x.fract() == 0.0 {
                    return Ok(x as i64);
                }
                let what = if x.is_nan() { "NaN".to_string() } else if x.is_infinite() { format!("{x}").replace("inf", "infinity") } else { format!("{x}") };
                Err(FormatError::BadHeader {
                    format: "co-occurrence",
                    reason: format!("'{name}' holds {what}{}; it must hold counts (whole numbers)", index_text(p, shape)),
                })
            })
            .collect()
    }
    match data {
        ArrayData::I32(v) => Ok(v.iter().map(|&x| x as i64).collect()),
        ArrayData::I64(v) => Ok(v.clone()),
        ArrayData::U8(v) => Ok(v.iter().map(|&x| x as i64).collect()),
        ArrayData::U16(v) => Ok(v.iter().map(|&x| x as i64).collect()),
        ArrayData::U32(v) => Ok(v.iter().map(|&x| x as i64).collect()),
        ArrayData::F64(v) => whole(v.iter().copied(), name, shape),
        ArrayData::F32(v) => whole(v.iter().map(|&x| x as f64), name, shape),
    }
}

/// `(20, 19)`, as numpy prints a shape (`(5,)` for 1-D, `()` for a scalar).
fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

/// ` at [i, j]`, the numpy index of flat (row-major) position `p` in an array of `shape` (nothing
/// for a scalar).
fn index_text(mut p: usize, shape: &[usize]) -> String {
    if shape.is_empty() {
        return String::new();
    }
    let mut index = vec![0; shape.len()];
    for (slot, &dim) in index.iter_mut().zip(shape).rev() {
        *slot = p % dim.max(1);
        p /= dim.max(1);
    }
    format!(" at [{}]", index.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "))
}

fn is_heldout(f: &Firings, chunk: usize) -> bool {
    f.doc_heldout[f.chunk_doc[chunk] as usize]
}

/// The specialisation with the category names.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SpecialisationReport {
    /// Document categories (rows of the heat map).
    pub categories: Vec<String>,
    #[serde(flatten)]
    pub table: Specialisation,
}

/// The whole brain-scale report for one k and affinity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LobesReport {
    pub decoder: String,
    pub cooccurrence: String,
    /// "bundle" (per-chunk firings) or "histogram" (the authors' npz).
    pub cooccurrence_source: String,
    pub n_features: usize,
    pub d: usize,
    /// Chunks the histogram counts.
    pub n_chunks: u64,
    pub params: LobeParams,
    #[serde(flatten)]
    pub agreement: LobeAgreement,
    /// Largest eigenvalues of the normalised affinities (1 minus the Laplacian's smallest).
    pub eigenvalues_cooccurrence: Vec<f64>,
    pub eigenvalues_geometry: Vec<f64>,
    /// Per document category, the share of held-out chunks each lobe wins (bundles only).
    pub specialisation: Option<SpecialisationReport>,
}

/// The 2D lobe map's instant layout and each feature's nearest features.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LobeMap {
    /// Each decoder row on its first two principal components.
    pub pca: Vec<[f32; 2]>,
    /// Variance along PC1 and PC2 (ddof = 1).
    pub explained_variance: Vec<f64>,
    /// The [`NEAREST`] features of largest angular similarity to each feature, most similar first.
    pub nearest: Vec<Vec<u32>>,
}

/// Nearest features listed per feature in a [`LobeMap`].
pub const NEAREST: usize = 5;

/// Everything one run computes: a report per (affinity, k), and the map when asked for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LobesRun {
    pub reports: Vec<LobesReport>,
    pub map: Option<LobeMap>,
}

/// Reads both inputs and runs [`lobes_for_k`] for every affinity of `affinities` and every k of
/// `ks` (one co-occurrence embedding per affinity and one geometric embedding, each for the
/// largest k), with the [`LobeMap`] when `with_map`. `progress(stage, fraction)` is called as work
/// proceeds.
pub fn lobes_from_bytes(
    decoder: (&[u8], &str, Option<&str>),
    cooccurrence: (&[u8], &str),
    affinities: &[Affinity],
    ks: &[usize],
    params: &LobeParams,
    with_map: bool,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<LobesRun, AnalysisError> {
    lobes_from_bytes_with(decoder, cooccurrence, None, affinities, ks, params, with_map, progress)
}

/// [`lobes_from_bytes`] with the co-occurrence histogram's counts computed elsewhere when
/// `histogram` is `Some` ([`read_cooccurrence_with`]).
#[allow(clippy::too_many_arguments)]
pub fn lobes_from_bytes_with(
    decoder: (&[u8], &str, Option<&str>),
    cooccurrence: (&[u8], &str),
    histogram: Option<Vec<u32>>,
    affinities: &[Affinity],
    ks: &[usize],
    params: &LobeParams,
    with_map: bool,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<LobesRun, AnalysisError> {
    let inputs = read_lobes_inputs(decoder, cooccurrence, histogram, with_map, progress)?;
    let k_max = ks.iter().copied().max().unwrap_or(params.k);
    let (n, d) = (inputs.n, inputs.d);
    let (geometry, nearest) =
        geometry_embedding(&inputs.x, n, d, k_max, params.seed, NEAREST, &mut |f| progress("geometric lobes", f))?;
    let mut cooccurrence_embeddings = Vec::with_capacity(affinities.len());
    for (a, &affinity) in affinities.iter().enumerate() {
        let stage = format!("co-occurrence lobes ({})", affinity.title());
        cooccurrence_embeddings.push(cooccurrence_embedding(&inputs.input.histogram, affinity, k_max, params.seed, &mut |f| {
            progress(&stage, (a as f64 + f) / affinities.len() as f64)
        })?);
    }
    let embedded = LobesEmbedded { geometry, nearest, cooccurrence: cooccurrence_embeddings };
    lobes_from_embeddings(inputs, embedded, affinities, ks, params, (decoder.1, cooccurrence.1), progress)
}

/// A lobes run's inputs, read and checked, before any spectral embedding.
pub struct LobesInputs {
    /// The decoder, n x d row-major, in f64.
    pub x: Vec<f64>,
    pub n: usize,
    pub d: usize,
    pub input: CooccurrenceInput,
    /// The lobe map without its nearest features (they come with the geometric embedding).
    map: Option<LobeMap>,
}

/// The spectral embeddings of a lobes run (each into the largest k's dimensions), however they
/// were computed: the geometric one with each feature's [`NEAREST`] most similar features, and one
/// of the co-occurrence affinity per affinity asked for, in that order.
pub struct LobesEmbedded {
    pub geometry: SpectralEmbedding,
    pub nearest: Vec<Vec<u32>>,
    pub cooccurrence: Vec<SpectralEmbedding>,
}

/// Reads and checks a lobes run's decoder and co-occurrence data (the histogram counted
/// elsewhere when `histogram` is `Some`), with the lobe map's PCA when `with_map`.
pub fn read_lobes_inputs(
    decoder: (&[u8], &str, Option<&str>),
    cooccurrence: (&[u8], &str),
    histogram: Option<Vec<u32>>,
    with_map: bool,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<LobesInputs, AnalysisError> {
    progress("parsing", 0.0);
    let loaded = formats::read_matrix(decoder.0, decoder.1, decoder.2)?;
    let (n, d) = (loaded.matrix.rows(), loaded.matrix.cols());
    if let Some((row, col)) = loaded.matrix.first_non_finite() {
        return Err(GeometryError::NonFinite { row, col }.into());
    }
    let map = if with_map {
        progress("lobe map", 0.0);
        let fit = pca(&loaded.matrix, 2.min(d), &mut |_| {})?;
        let projected = fit.transform(&loaded.matrix)?;
        let pca = projected.chunks(2.min(d).max(1)).map(|r| [r[0] as f32, r.get(1).copied().unwrap_or(0.0) as f32]).collect();
        Some(LobeMap { pca, explained_variance: fit.explained_variance, nearest: Vec::new() })
    } else {
        None
    };
    let x: Vec<f64> = loaded.matrix.as_slice().iter().map(|&v| v as f64).collect();
    drop(loaded);
    let input = read_cooccurrence_with(cooccurrence.0, cooccurrence.1, histogram, &mut |f| {
        progress("co-occurrence histogram", f)
    })?;
    input.histogram.check_clusterable()?;
    if input.histogram.n_features != n {
        return Err(GeometryError::InvalidParameter {
            name: "inputs".into(),
            reason: format!(
                "the decoder has {n} features (rows) but the co-occurrence data has {}; give the decoder and the \
                 co-occurrence file of the same SAE",
                input.histogram.n_features
            ),
        }
        .into());
    }
    Ok(LobesInputs { x, n, d, input, map })
}

/// The reports of a lobes run from its inputs and embeddings: [`lobes_for_k`] for every affinity
/// (`embedded.cooccurrence[a]` is `affinities[a]`'s) and every k of `ks`, and the map.
pub fn lobes_from_embeddings(
    inputs: LobesInputs,
    embedded: LobesEmbedded,
    affinities: &[Affinity],
    ks: &[usize],
    params: &LobeParams,
    names: (&str, &str),
    progress: &mut dyn FnMut(&str, f64),
) -> Result<LobesRun, AnalysisError> {
    if embedded.cooccurrence.len() != affinities.len() {
        return Err(GeometryError::InvalidParameter {
            name: "embeddings".into(),
            reason: format!("{} co-occurrence embeddings for {} affinities", embedded.cooccurrence.len(), affinities.len()),
        }
        .into());
    }
    let LobesInputs { x, n, d, input, map } = inputs;
    let map = map.map(|m| LobeMap { nearest: embedded.nearest, ..m });
    let mut geometry = embedded.geometry;
    let mut reports = Vec::with_capacity(ks.len() * affinities.len());
    for (&affinity, cooccurrence) in affinities.iter().zip(embedded.cooccurrence) {
        let embeddings = LobeEmbeddings { cooccurrence, geometry };
        for &k in ks {
            let params = LobeParams { k, affinity, ..params.clone() };
            reports.push(lobes_for_k(&x, n, d, &input, &embeddings, &params, names, progress)?);
        }
        geometry = embeddings.geometry;
    }
    Ok(LobesRun { reports, map })
}

/// The report for one k from precomputed embeddings.
#[allow(clippy::too_many_arguments)]
pub fn lobes_for_k(
    x: &[f64],
    n: usize,
    d: usize,
    input: &CooccurrenceInput,
    embeddings: &LobeEmbeddings,
    params: &LobeParams,
    names: (&str, &str),
    progress: &mut dyn FnMut(&str, f64),
) -> Result<LobesReport, AnalysisError> {
    let agreement = lobe_agreement(x, n, d, embeddings, params, progress)?;
    let specialisation = match &input.firings {
        Some(f) => {
            let chunks: Vec<(&[u32], usize)> = (0..f.n_chunks())
                .filter(|&c| is_heldout(f, c))
                .map(|c| (f.chunk(c), f.doc_category[f.chunk_doc[c] as usize] as usize))
                .collect();
            let table = lobe_specialisation(&chunks, f.categories.len(), &agreement.labels_cooccurrence, params.k)?;
            Some(SpecialisationReport { categories: f.categories.clone(), table })
        }
        None => None,
    };
    Ok(LobesReport {
        decoder: names.0.to_string(),
        cooccurrence: names.1.to_string(),
        cooccurrence_source: input.source.to_string(),
        n_features: n,
        d,
        n_chunks: input.histogram.n_chunks,
        params: params.clone(),
        agreement,
        eigenvalues_cooccurrence: embeddings.cooccurrence.eigenvalues[..params.k].to_vec(),
        eigenvalues_geometry: embeddings.geometry.eigenvalues[..params.k].to_vec(),
        specialisation,
    })
}

/// Affinity names for error messages and help.
pub fn affinity_names() -> String {
    Affinity::ALL.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
}

/// A t-SNE layout of the decoder rows for the lobe map.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TsneLayout {
    /// The decoder file it was computed from.
    pub input: String,
    pub points: Vec<[f32; 2]>,
    pub kl_divergence: f64,
    pub iterations: usize,
    /// Principal components the rows were reduced to first (None: all dimensions).
    pub pca_dims: Option<usize>,
    pub perplexity: f64,
    pub seed: u64,
}

/// The t-SNE layout ([`crate::geometry::tsne::tsne`], scikit-learn's Barnes-Hut `TSNE` with
/// `init='pca'`, perplexity 30, 1000 iterations) of the decoder rows in `bytes`, after a PCA to
/// `pca_dims` when the rows have more dimensions than that.
pub fn tsne_layout_from_bytes(
    bytes: &[u8],
    input_name: &str,
    tensor: Option<&str>,
    seed: u64,
    pca_dims: Option<usize>,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<TsneLayout, AnalysisError> {
    progress("parsing", 0.0);
    let m = formats::read_matrix(bytes, input_name, tensor)?.matrix;
    tsne_layout_of_matrix(m, input_name, seed, pca_dims, progress)
}

/// [`tsne_layout_from_bytes`] of a matrix already read (freed as soon as its `f64` copy is made).
pub fn tsne_layout_of_matrix(
    m: Matrix,
    input_name: &str,
    seed: u64,
    pca_dims: Option<usize>,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<TsneLayout, AnalysisError> {
    use crate::geometry::tsne::{tsne, TsneParams};
    let (n, d) = (m.rows(), m.cols());
    if let Some((row, col)) = m.first_non_finite() {
        return Err(GeometryError::NonFinite { row, col }.into());
    }
    let x: Vec<f64> = m.as_slice().iter().map(|&v| v as f64).collect();
    drop(m);
    let pca_dims = pca_dims.filter(|&k| k < d && k < n);
    let params = TsneParams { seed, pca_dims, ..TsneParams::default() };
    let result = tsne(&x, n, d, &params, &mut |f| {
        progress("t-SNE", f);
        true
    })?;
    Ok(TsneLayout {
        input: input_name.to_string(),
        points: result.embedding.iter().map(|p| [p[0] as f32, p[1] as f32]).collect(),
        kl_divergence: result.kl_divergence,
        iterations: result.iterations,
        pca_dims,
        perplexity: params.perplexity,
        seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{npz, Array};

    fn histogram_npz(h: Array, n_chunks: Array) -> Vec<u8> {
        npz::write(&[("histogram", &h), ("n_chunks", &n_chunks)], false)
    }

    #[test]
    fn float_counts_are_read_and_nan_infinity_and_fractions_are_named() {
        let ok = histogram_npz(Array::f64(vec![2, 2], vec![3.0, 1.0, 1.0, 2.0]), Array::f64(vec![], vec![5.0]));
        let h = read_cooccurrence(&ok, "h.npz", &mut |_| {}).unwrap().histogram;
        assert_eq!((h.counts, h.n_chunks), (vec![3, 1, 1, 2], 5));
        for (value, named) in [(f64::NAN, "NaN at [1, 0]"), (f64::INFINITY, "infinity at [1, 0]"), (0.5, "0.5 at [1, 0]")] {
            let bad = histogram_npz(Array::f64(vec![2, 2], vec![3.0, 1.0, value, 2.0]), Array::f64(vec![], vec![5.0]));
            let err = read_cooccurrence(&bad, "h.npz", &mut |_| {}).err().unwrap();
            assert_eq!(err.kind(), "bad-header");
            assert!(err.to_string().contains(&format!("'histogram' holds {named}")), "{err}");
        }
        let bad = histogram_npz(Array::f64(vec![2, 2], vec![3.0, 1.0, 1.0, 2.0]), Array::f64(vec![], vec![f64::NAN]));
        assert!(read_cooccurrence(&bad, "h.npz", &mut |_| {}).err().unwrap().to_string().contains("'n_chunks' holds NaN;"));
    }

    #[test]
    fn negative_n_chunks_and_a_non_square_histogram_are_named() {
        let negative = histogram_npz(Array::i32(vec![2, 2], vec![0; 4]), Array::i32(vec![], vec![-5]));
        let err = read_cooccurrence(&negative, "h.npz", &mut |_| {}).err().unwrap();
        assert!(err.to_string().contains("n_chunks = -5 is negative"), "{err}");
        let wide = histogram_npz(Array::i32(vec![2, 3], vec![0; 6]), Array::i32(vec![], vec![5]));
        let err = read_cooccurrence(&wide, "h.npz", &mut |_| {}).err().unwrap();
        assert!(err.to_string().contains("shape (2, 3); it must be square"), "{err}");
        assert_eq!(shape_text(&[7]), "(7,)");
        assert_eq!(index_text(5, &[2, 3]), " at [1, 2]");
    }
}
