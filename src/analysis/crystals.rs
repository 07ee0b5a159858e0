//! The atom-scale analysis as the CLI and the worker run it (paper section 1): word vectors and
//! word-pair tasks in; silhouettes of the task clusters before and after LDA distractor removal,
//! the parallelogram quality of every task's quads, the word-length distractor, and the 2-D
//! crystal views out.
//!
//! Inputs are either a bundled crystal set (a safetensors file with `activations`, one row per
//! word, and the JSON word list with the tasks' pairs that its metadata names), or any matrix
//! (`.npy`, `.npz`, `.safetensors`) whose rows are the words of a vocabulary (one word a line, the
//! GloVe layout) together with task files (`{"input", "output"}` lists).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::AnalysisError;
use crate::formats::wordpairs::{self, CrystalSet, TaskPairs, WordPair};
use crate::formats::{self, FormatError};
use crate::geometry::crystal_search::{crystal_search, CrystalSearch, CrystalSearchParams};
use crate::geometry::crystals::{difference_vectors, token_length, word_length_distractor, WordLengthFit};
use crate::geometry::lda::{lda_fit, Lda, LdaParams, LdaShrinkage};
use crate::geometry::pca::pca;
use crate::geometry::quads::{quad_quality, Histogram, Quad, QuadParams, QuadQuality};
use crate::geometry::silhouette::{silhouette_score, silhouette_score_sampled};
use crate::geometry::GeometryError;
use crate::matrix::Matrix;

/// The 12 tasks of the paper (Li et al. 2024, section 1: 18,941 pairs in Gemma's tokenisation).
pub const PAPER_TASKS: [&str; 12] = [
    "country-capital",
    "country-currency",
    "english-french",
    "english-german",
    "english-spanish",
    "landmark-country",
    "person-instrument",
    "person-occupation",
    "person-sport",
    "present-past",
    "product-company",
    "singular-plural",
];

/// Word vectors with their words and tasks.
#[derive(Debug, Clone)]
pub struct CrystalData {
    /// Where the vectors come from.
    pub source: String,
    /// Layer of a bundled model set (from the file's metadata).
    pub layer: Option<u32>,
    /// One row per word.
    pub vectors: Matrix,
    pub words: Vec<String>,
    /// Per word, the string of the token whose vector was taken (for the word-length distractor).
    pub last_token: Vec<String>,
    /// The tasks, their pairs as row indices.
    pub tasks: Vec<TaskPairs>,
}

fn bad(format: &'static str, reason: String) -> AnalysisError {
    FormatError::BadHeader { format, reason }.into()
}

/// Reads a bundled crystal set: the vectors (`activations`, or the only 2-D tensor) and the JSON
/// word list with its tasks.
pub fn read_crystal_set(vectors: &[u8], vectors_name: &str, words_json: &str) -> Result<CrystalData, AnalysisError> {
    let loaded = formats::read_matrix(vectors, vectors_name, tensor_for(vectors, vectors_name))?;
    let set: CrystalSet = serde_json::from_str(words_json).map_err(|e| {
        bad("crystal word list", format!("expected the words JSON of a crystal set (words, tasks): {e}"))
    })?;
    let n = loaded.matrix.rows();
    if set.words.len() != n {
        return Err(bad(
            "crystal word list",
            format!("{} words for {} vector rows in '{vectors_name}'; the words file belongs to another set", set.words.len(), n),
        ));
    }
    if let Some(t) = set.tasks.iter().find(|t| t.pairs.iter().flatten().any(|&w| w as usize >= n)) {
        return Err(bad("crystal word list", format!("task '{}' refers to a word beyond the {n} rows", t.name)));
    }
    let last_token = if set.last_token.len() == n { set.last_token } else { set.words.clone() };
    let layer = loaded.metadata.get("layer").and_then(|l| l.parse().ok());
    Ok(CrystalData { source: set.source, layer, vectors: loaded.matrix, words: set.words, last_token, tasks: set.tasks })
}

/// `activations` if the file is a safetensors file that holds it, else the reader's default.
fn tensor_for(bytes: &[u8], name: &str) -> Option<&'static str> {
    let is_st = matches!(formats::detect_kind(bytes, name), Ok(formats::FileKind::Safetensors));
    (is_st && formats::safetensors::list(bytes).is_ok_and(|l| l.iter().any(|(n, _, _)| n == "activations")))
        .then_some("activations")
}

/// Reads a matrix whose rows are the words of `vocabulary` (one word a line; blank lines are
/// words too, so that line numbers stay row numbers; a trailing newline is not a word). No tasks:
/// add them with [`with_task_files`].
pub fn read_vectors_with_vocabulary(
    vectors: &[u8],
    vectors_name: &str,
    tensor: Option<&str>,
    vocabulary: &str,
) -> Result<CrystalData, AnalysisError> {
    let loaded = formats::read_matrix(vectors, vectors_name, tensor)?;
    let words: Vec<String> = vocabulary.strip_suffix('\n').unwrap_or(vocabulary).split('\n').map(|w| w.trim_end_matches('\r').to_string()).collect();
    if words.len() != loaded.matrix.rows() {
        return Err(bad(
            "vocabulary",
            format!(
                "{} words (lines) for {} rows of '{vectors_name}'; the vocabulary file must list one word per row, in row order",
                words.len(),
                loaded.matrix.rows()
            ),
        ));
    }
    Ok(CrystalData {
        source: vectors_name.to_string(),
        layer: None,
        vectors: loaded.matrix,
        last_token: words.clone(),
        words,
        tasks: Vec::new(),
    })
}

/// Replaces the tasks with the given task files (`(task name, JSON text)`; the name is the file
/// stem). Each word is looked up as written, then in lower case; a pair with a word not in the
/// vocabulary, or that repeats, is dropped and counted.
pub fn with_task_files(data: &mut CrystalData, files: &[(String, String)]) -> Result<(), AnalysisError> {
    let index: std::collections::HashMap<&str, u32> =
        data.words.iter().enumerate().rev().map(|(i, w)| (w.as_str(), i as u32)).collect();
    let lookup = |w: &str| index.get(w).or_else(|| index.get(w.to_lowercase().as_str())).copied();
    let mut tasks = Vec::new();
    for (name, text) in files {
        let pairs: Vec<WordPair> = wordpairs::parse(text, name)?;
        let mut seen = std::collections::HashSet::new();
        let kept: Vec<[u32; 2]> = pairs
            .iter()
            .filter_map(|p| Some([lookup(&p.input)?, lookup(&p.output)?]))
            .filter(|p| seen.insert(*p))
            .collect();
        tasks.push(TaskPairs { name: name.clone(), total: pairs.len(), dropped: pairs.len() - kept.len(), pairs: kept });
    }
    data.tasks = tasks;
    Ok(())
}

/// Parameters of [`crystal_analysis`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrystalParams {
    /// Tasks to use, by name; `None`: the paper's 12 where the data has them, else every task.
    pub tasks: Option<Vec<String>>,
    /// Largest LDA component count (silhouettes for 2..=M); `None`: classes - 1.
    pub max_components: Option<usize>,
    /// LDA shrinkage: `None` (solver 'svd', the paper's), else solver 'eigen' with "auto"
    /// (Ledoit-Wolf) or a fixed value in [0, 1].
    pub shrinkage: Option<Shrinkage>,
    /// Silhouettes on a random subset of this many pairs (scikit-learn's `sample_size`), `None`:
    /// all pairs.
    pub silhouette_sample: Option<usize>,
    /// Seed of that subset (scikit-learn's `random_state`).
    pub seed: u32,
    /// Best and worst quads listed per task.
    pub list: usize,
}

impl Default for CrystalParams {
    fn default() -> Self {
        CrystalParams { tasks: None, max_components: None, shrinkage: None, silhouette_sample: None, seed: 0, list: 5 }
    }
}

/// LDA shrinkage (scikit-learn's `shrinkage` with solver 'eigen').
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shrinkage {
    Auto,
    Fixed(f64),
}

/// Pairs of one task: used, and dropped when the task was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSummary {
    pub name: String,
    pub pairs_used: usize,
    pub pairs_dropped: usize,
}

/// A quad by its words: `(a, b)` and `(c, d)` are two pairs of the task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuadWords {
    pub words: [String; 4],
    /// Indices of the two pairs in the task's pair list.
    pub pairs: [u32; 2],
    pub relative_error: f64,
    pub cosine: f64,
}

/// The quad scores of one task in one space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuadSummary {
    pub median_relative_error: Option<f64>,
    pub median_cosine: Option<f64>,
    pub relative_error_histogram: Histogram,
    pub cosine_histogram: Histogram,
    pub best: Vec<QuadWords>,
    pub worst: Vec<QuadWords>,
}

/// Parallelogram quality of one task, before (raw difference vectors) and after LDA (the
/// difference vectors projected on the LDA axes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskParallelogram {
    pub quads: u64,
    pub zero_edges: usize,
    pub before: QuadSummary,
    pub after: QuadSummary,
}

/// The LDA fit, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LdaSummary {
    pub solver: String,
    pub shrinkage: Option<Shrinkage>,
    pub max_components: usize,
    pub rank: usize,
    pub explained_variance_ratio: Vec<f64>,
}

/// The word-length distractor (paper Figure 10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordLength {
    pub n: usize,
    pub r: f64,
    pub slope: f64,
    pub intercept: f64,
    pub p_value: f64,
    pub explained_variance_ratio: f64,
    /// Per pair `[len(output token) - len(input token), PC0]` (only with `points`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub points: Vec<[f64; 2]>,
}

/// The whole atom-scale report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrystalReport {
    pub input: String,
    pub source: String,
    pub layer: Option<u32>,
    pub d: usize,
    pub words: usize,
    pub pairs: usize,
    pub tasks: Vec<TaskSummary>,
    pub params: CrystalParams,
    /// Silhouette of the raw difference vectors with the tasks as labels.
    pub silhouette_raw: f64,
    /// Silhouette of the LDA projection, by component count (2..=M; just 1 with two tasks).
    #[serde(with = "count_keys")]
    pub silhouette_lda: BTreeMap<usize, f64>,
    pub lda: LdaSummary,
    /// LDA components of the "after" quad scores (the largest count).
    pub parallelogram_components: usize,
    pub parallelogram: BTreeMap<String, TaskParallelogram>,
    pub word_length: Option<WordLength>,
    /// Why the word-length fit is missing, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub word_length_error: Option<String>,
}

/// A map keyed by component count, as a JSON object with the counts as string keys ("2", "3",
/// ...). Spelled out because serde cannot read integer keys back inside an internally tagged enum
/// (the worker's responses).
mod count_keys {
    use std::collections::BTreeMap;

    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(map: &BTreeMap<usize, f64>, s: S) -> Result<S::Ok, S::Error> {
        // Keys as strings, in numeric order (a BTreeMap<String, _> would put "10" before "2").
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(map.len()))?;
        for (k, v) in map {
            m.serialize_entry(&k.to_string(), v)?;
        }
        m.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<usize, f64>, D::Error> {
        BTreeMap::<String, f64>::deserialize(d)?
            .into_iter()
            .map(|(k, v)| k.parse().map(|k| (k, v)).map_err(|_| D::Error::custom(format!("'{k}' is not a component count"))))
            .collect()
    }
}

/// The tasks the parameters select, in the data's order.
pub fn selected_tasks<'a>(data: &'a CrystalData, params: &CrystalParams) -> Result<Vec<&'a TaskPairs>, AnalysisError> {
    let names: Vec<&str> = data.tasks.iter().map(|t| t.name.as_str()).collect();
    let chosen: Vec<&TaskPairs> = match &params.tasks {
        Some(list) => {
            if let Some(missing) = list.iter().find(|n| !names.contains(&n.as_str())) {
                return Err(GeometryError::InvalidParameter {
                    name: "task".into(),
                    reason: format!("'{missing}' is not among the tasks of the data ({})", names.join(", ")),
                }
                .into());
            }
            data.tasks.iter().filter(|t| list.contains(&t.name)).collect()
        }
        None => {
            let paper: Vec<&TaskPairs> = data.tasks.iter().filter(|t| PAPER_TASKS.contains(&t.name.as_str())).collect();
            if paper.len() >= 2 { paper } else { data.tasks.iter().collect() }
        }
    };
    let usable: Vec<&TaskPairs> = chosen.into_iter().filter(|t| !t.pairs.is_empty()).collect();
    if usable.len() < 2 {
        return Err(GeometryError::InvalidParameter {
            name: "tasks".into(),
            reason: format!(
                "LDA and the silhouette need at least two tasks with pairs in the vocabulary; {} have any",
                usable.len()
            ),
        }
        .into());
    }
    Ok(usable)
}

/// The pairs and labels (task index) of the selected tasks, and their difference vectors.
struct Differences {
    pairs: Vec<[u32; 2]>,
    labels: Vec<usize>,
    /// Start of each task in `pairs`.
    offsets: Vec<usize>,
    values: Vec<f64>,
    d: usize,
}

fn differences(data: &CrystalData, tasks: &[&TaskPairs]) -> Result<Differences, AnalysisError> {
    let mut pairs = Vec::new();
    let mut labels = Vec::new();
    let mut offsets = Vec::new();
    for (c, t) in tasks.iter().enumerate() {
        offsets.push(pairs.len());
        pairs.extend_from_slice(&t.pairs);
        labels.extend(std::iter::repeat_n(c, t.pairs.len()));
    }
    offsets.push(pairs.len());
    let values = difference_vectors(&data.vectors, &pairs)?;
    Ok(Differences { pairs, labels, offsets, values, d: data.vectors.cols() })
}

/// LDA's within-task covariance needs more pairs than tasks: with one pair per task it has no
/// degrees of freedom (scikit-learn's solver 'svd' divides by `pairs - tasks` and raises
/// ZeroDivisionError). A task of one pair beside larger ones is fine.
fn check_spread(pairs: usize, tasks: usize) -> Result<(), GeometryError> {
    if pairs > tasks {
        return Ok(());
    }
    Err(GeometryError::InvalidParameter {
        name: "tasks".into(),
        reason: format!(
            "{pairs} pairs in {tasks} tasks: every task has a single pair, so there is no spread of pairs within a \
             task for LDA to measure (it needs more pairs than tasks); give tasks with more pairs in the vocabulary"
        ),
    })
}

fn lda_params(params: &CrystalParams, n_components: Option<usize>) -> LdaParams {
    LdaParams {
        n_components,
        shrinkage: match params.shrinkage {
            None => LdaShrinkage::None,
            Some(Shrinkage::Auto) => LdaShrinkage::Auto,
            Some(Shrinkage::Fixed(v)) => LdaShrinkage::Fixed(v),
        },
        ..LdaParams::default()
    }
}

/// The analysis of paper section 1 on the selected tasks: difference vectors
/// (`act(input) - act(output)`), scikit-learn's `LinearDiscriminantAnalysis` with the tasks as
/// classes, `silhouette_score` of the raw differences and of the first `n = 2..=M` LDA components,
/// each task's quad scores before and after LDA ([`quad_quality`]), and the word-length distractor
/// ([`word_length_distractor`]). `with_points` keeps the per-pair word-length points.
/// `progress(stage, fraction)`.
pub fn crystal_analysis(
    data: &CrystalData,
    input: &str,
    params: &CrystalParams,
    with_points: bool,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<CrystalReport, AnalysisError> {
    analysis_and_lda(data, input, params, with_points, progress).map(|(report, _)| report)
}

/// The first half of [`crystal_analysis`]: the selected tasks' difference vectors, the LDA fitted
/// to them and their projection, i.e. every point set whose silhouette the report gives, for a
/// backend that computes those silhouettes elsewhere ([`crate::compute::offload::silhouette_score`]
/// with the parameters' `silhouette_sample` and `seed`) and hands them to
/// [`crystal_analysis_from_fit`].
pub struct CrystalFit<'a> {
    tasks: Vec<&'a TaskPairs>,
    diff: Differences,
    lda: Lda,
    /// `n x max_components`, row-major.
    projected: Vec<f64>,
    max_components: usize,
}

impl CrystalFit<'_> {
    /// Points (difference vectors).
    pub fn points(&self) -> usize {
        self.diff.pairs.len()
    }

    /// Each point's task index (its silhouette label).
    pub fn labels(&self) -> &[usize] {
        &self.diff.labels
    }

    /// The raw difference vectors, `n x d` row-major, and `d`.
    pub fn raw(&self) -> (&[f64], usize) {
        (&self.diff.values, self.diff.d)
    }

    /// The LDA dimensions whose silhouettes the report gives: `2..=M` (just 1 when M = 1).
    pub fn lda_dims(&self) -> std::ops::RangeInclusive<usize> {
        self.max_components.min(2)..=self.max_components
    }

    /// The first `m` LDA coordinates of every point, `n x m` row-major.
    pub fn lda_prefix(&self, m: usize) -> Vec<f64> {
        leading_columns(&self.projected, self.max_components, m)
    }
}

/// The first `m` of the `cols` columns of a row-major matrix.
fn leading_columns(x: &[f64], cols: usize, m: usize) -> Vec<f64> {
    let m = m.min(cols);
    x.chunks_exact(cols.max(1)).flat_map(|r| r[..m].iter().copied()).collect()
}

/// The silhouettes of a [`CrystalFit`], computed elsewhere: of the raw differences and of each
/// LDA prefix of [`CrystalFit::lda_dims`].
#[derive(Debug, Clone, PartialEq)]
pub struct Silhouettes {
    pub raw: f64,
    pub lda: BTreeMap<usize, f64>,
}

/// Selects the tasks, makes the differences, fits the LDA and projects (the first half of
/// [`crystal_analysis`]; `progress` covers it with fractions 0 to 0.1).
pub fn crystal_fit<'a>(
    data: &'a CrystalData,
    params: &CrystalParams,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<CrystalFit<'a>, AnalysisError> {
    let tasks = selected_tasks(data, params)?;
    let diff = differences(data, &tasks)?;
    let (n, d) = (diff.pairs.len(), diff.d);
    let classes = tasks.len();
    check_spread(n, classes)?;
    let most = classes - 1;
    let max_components = params.max_components.unwrap_or(most);
    if max_components < 1 || max_components > most.min(d) {
        return Err(GeometryError::InvalidParameter {
            name: "maximum LDA components".into(),
            reason: format!(
                "{max_components} asked; with {classes} tasks and d = {d} it must be between 1 and {}",
                most.min(d)
            ),
        }
        .into());
    }

    progress("LDA", 0.0);
    let lda = lda_fit(&diff.values, n, d, &diff.labels, &lda_params(params, Some(max_components)), &mut |f| {
        progress("LDA", 0.1 * f)
    })?;
    // Rank-deficient data may give fewer discriminant axes than asked.
    let max_components = max_components.min(lda.n_output());
    let projected = lda.transform(&diff.values, n, max_components)?;
    Ok(CrystalFit { tasks, diff, lda, projected, max_components })
}

/// [`crystal_analysis`] from a [`crystal_fit`] (with the crystal view of `view_tasks` when given,
/// as [`crystal_analysis_with_view`]), with the silhouettes computed elsewhere when `silhouettes`
/// is `Some` (used as they are; `None`: computed here). `progress` covers fractions 0.1 to 1.
#[allow(clippy::too_many_arguments)]
pub fn crystal_analysis_from_fit(
    data: &CrystalData,
    fit: CrystalFit,
    input: &str,
    params: &CrystalParams,
    with_points: bool,
    view_tasks: Option<&[String]>,
    silhouettes: Option<Silhouettes>,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<(CrystalReport, Option<CrystalView>), AnalysisError> {
    let (report, lda) = report_from_fit(data, fit, input, params, with_points, silhouettes, progress)?;
    let view = match view_tasks {
        Some(tasks) => Some(place_words(data, &lda, report.parallelogram_components, tasks)?),
        None => None,
    };
    Ok((report, view))
}

/// [`crystal_analysis`] and the crystal view of `view_tasks` from the same LDA fit (as
/// [`crystal_view`] would give it, without fitting again).
pub fn crystal_analysis_with_view(
    data: &CrystalData,
    input: &str,
    params: &CrystalParams,
    with_points: bool,
    view_tasks: &[String],
    progress: &mut dyn FnMut(&str, f64),
) -> Result<(CrystalReport, CrystalView), AnalysisError> {
    let (report, lda) = analysis_and_lda(data, input, params, with_points, progress)?;
    let view = place_words(data, &lda, report.parallelogram_components, view_tasks)?;
    Ok((report, view))
}

/// The analysis and the LDA it fitted.
fn analysis_and_lda(
    data: &CrystalData,
    input: &str,
    params: &CrystalParams,
    with_points: bool,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<(CrystalReport, Lda), AnalysisError> {
    let fit = crystal_fit(data, params, progress)?;
    report_from_fit(data, fit, input, params, with_points, None, progress)
}

/// The second half of the analysis: silhouettes (unless given), quads, word length, the report.
fn report_from_fit(
    data: &CrystalData,
    fit: CrystalFit,
    input: &str,
    params: &CrystalParams,
    with_points: bool,
    given: Option<Silhouettes>,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<(CrystalReport, Lda), AnalysisError> {
    let CrystalFit { tasks, diff, lda, projected, max_components } = fit;
    let (n, d) = (diff.pairs.len(), diff.d);
    let classes = tasks.len();
    let mut silhouette = |x: &[f64], dims: usize, stage: &str, lo: f64, hi: f64| -> Result<f64, GeometryError> {
        let mut p = |f: f64| progress(stage, lo + (hi - lo) * f);
        match params.silhouette_sample {
            Some(s) if s < n => silhouette_score_sampled(x, n, dims, &diff.labels, s, params.seed, &mut p),
            _ => silhouette_score(x, n, dims, &diff.labels, &mut p),
        }
    };
    let first = max_components.min(2);
    let (silhouette_raw, silhouette_lda) = match given {
        Some(g) => {
            if !g.lda.keys().copied().eq(first..=max_components) {
                return Err(GeometryError::InvalidParameter {
                    name: "silhouettes".into(),
                    reason: format!("given for LDA dimensions {:?}; the fit has {first}..={max_components}", g.lda.keys().collect::<Vec<_>>()),
                }
                .into());
            }
            (g.raw, g.lda)
        }
        None => {
            let raw = silhouette(&diff.values, d, "silhouette (raw differences)", 0.1, 0.45)?;
            let mut lda_scores = BTreeMap::new();
            let steps = (max_components - first + 1) as f64;
            for m in first..=max_components {
                let sub = leading_columns(&projected, max_components, m);
                let at = 0.45 + 0.15 * (m - first) as f64 / steps;
                lda_scores.insert(m, silhouette(&sub, m, "silhouette (LDA)", at, at + 0.15 / steps)?);
            }
            (raw, lda_scores)
        }
    };

    let mut parallelogram = BTreeMap::new();
    let mut edges_after = Vec::with_capacity(n * max_components);
    for u in diff.values.chunks_exact(d) {
        edges_after.extend(lda.project_direction(u, max_components)?);
    }
    for (c, task) in tasks.iter().enumerate() {
        let (a, b) = (diff.offsets[c], diff.offsets[c + 1]);
        let at = 0.6 + 0.3 * c as f64 / classes as f64;
        let qp = QuadParams { list: params.list, ..QuadParams::default() };
        let before = quad_quality(&diff.values[a * d..b * d], b - a, d, &task.pairs, &qp, &mut |f| {
            progress("parallelograms", at + 0.2 / classes as f64 * f)
        })?;
        let after = quad_quality(
            &edges_after[a * max_components..b * max_components],
            b - a,
            max_components,
            &task.pairs,
            &qp,
            &mut |f| progress("parallelograms", at + 0.3 / classes as f64 * (0.66 + 0.34 * f)),
        )?;
        parallelogram.insert(
            task.name.clone(),
            TaskParallelogram {
                quads: before.quads,
                zero_edges: before.zero_edges,
                before: summarise(before, task, &data.words),
                after: summarise(after, task, &data.words),
            },
        );
    }

    progress("word length", 0.9);
    let lengths: Vec<f64> = diff
        .pairs
        .iter()
        .map(|&[a, b]| token_length(&data.last_token[b as usize]) as f64 - token_length(&data.last_token[a as usize]) as f64)
        .collect();
    let diff_matrix = Matrix::new(n, d, diff.values.iter().map(|&v| v as f32).collect()).map_err(|e| {
        GeometryError::InvalidParameter { name: "difference vectors".into(), reason: e.to_string() }
    })?;
    let (word_length, word_length_error) =
        match word_length_distractor(&diff_matrix, &lengths, &mut |f| progress("word length", 0.9 + 0.1 * f)) {
            Ok(fit) => (Some(word_length_summary(fit, with_points)), None),
            Err(e) => (None, Some(e.to_string())),
        };
    progress("done", 1.0);

    let report = CrystalReport {
        input: input.to_string(),
        source: data.source.clone(),
        layer: data.layer,
        d,
        words: data.words.len(),
        pairs: n,
        tasks: tasks
            .iter()
            .map(|t| TaskSummary { name: t.name.clone(), pairs_used: t.pairs.len(), pairs_dropped: t.dropped })
            .collect(),
        params: params.clone(),
        silhouette_raw,
        silhouette_lda,
        lda: LdaSummary {
            solver: if params.shrinkage.is_some() { "eigen" } else { "svd" }.into(),
            shrinkage: params.shrinkage,
            max_components,
            rank: lda.rank,
            explained_variance_ratio: lda.explained_variance_ratio.clone(),
        },
        parallelogram_components: max_components,
        parallelogram,
        word_length,
        word_length_error,
    };
    Ok((report, lda))
}

fn word_length_summary(fit: WordLengthFit, with_points: bool) -> WordLength {
    let points = if with_points {
        fit.length_difference.iter().zip(&fit.pc0).map(|(&x, &y)| [x, y]).collect()
    } else {
        Vec::new()
    };
    WordLength {
        n: fit.n,
        r: fit.r,
        slope: fit.slope,
        intercept: fit.intercept,
        p_value: fit.p_value,
        explained_variance_ratio: fit.explained_variance_ratio,
        points,
    }
}

fn summarise(q: QuadQuality, task: &TaskPairs, words: &[String]) -> QuadSummary {
    let named = |quad: &Quad| {
        let [i, j] = quad.pairs;
        let ([a, b], [c, e]) = (task.pairs[i as usize], task.pairs[j as usize]);
        QuadWords {
            words: [a, b, c, e].map(|w| words[w as usize].clone()),
            pairs: quad.pairs,
            relative_error: quad.relative_error,
            cosine: quad.cosine,
        }
    };
    QuadSummary {
        median_relative_error: q.median_relative_error,
        median_cosine: q.median_cosine,
        relative_error_histogram: q.relative_error_histogram,
        cosine_histogram: q.cosine_histogram,
        best: q.best.iter().map(named).collect(),
        worst: q.worst.iter().map(named).collect(),
    }
}

/// The words of one or two tasks placed in 2-D three ways, for the crystal view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrystalView {
    pub tasks: Vec<String>,
    /// The distinct words shown.
    pub words: Vec<String>,
    /// Per pair: task (index into `tasks`), index of the pair in its task, and its two words
    /// (indices into `words`).
    pub pairs: Vec<ViewPair>,
    /// PCA of the raw word vectors ("before distractor removal").
    pub raw_pca: Vec<[f64; 2]>,
    /// PCA of the word vectors projected on the LDA axes ("after").
    pub lda_pca: Vec<[f64; 2]>,
    /// The first two LDA components of the word vectors.
    pub lda_axes: Vec<[f64; 2]>,
    pub lda_components: usize,
}

/// One arrow of the crystal view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewPair {
    pub task: usize,
    pub index: usize,
    pub words: [u32; 2],
}

/// The crystal view of `view_tasks` (one task, or two for a parallelogram of function vectors):
/// the LDA is fitted on all selected tasks as in [`crystal_analysis`]; the views' words are then
/// placed by a 2-component PCA of their raw vectors, by a PCA of their LDA projections (all
/// `max_components` axes), and on the first two LDA axes.
pub fn crystal_view(
    data: &CrystalData,
    params: &CrystalParams,
    view_tasks: &[String],
    progress: &mut dyn FnMut(&str, f64),
) -> Result<CrystalView, AnalysisError> {
    let tasks = selected_tasks(data, params)?;
    let diff = differences(data, &tasks)?;
    let (n, d) = (diff.pairs.len(), diff.d);
    check_spread(n, tasks.len())?;
    let m = params.max_components.unwrap_or(tasks.len() - 1).min((tasks.len() - 1).min(d)).max(1);
    progress("LDA", 0.0);
    let lda = lda_fit(&diff.values, n, d, &diff.labels, &lda_params(params, Some(m)), &mut |f| progress("LDA", 0.8 * f))?;
    let m = m.min(lda.n_output());
    progress("projections", 0.8);
    let view = place_words(data, &lda, m, view_tasks)?;
    progress("done", 1.0);
    Ok(view)
}

/// The crystal view's word positions, given the LDA fitted on the selected tasks and its `m` axes.
fn place_words(data: &CrystalData, lda: &Lda, m: usize, view_tasks: &[String]) -> Result<CrystalView, AnalysisError> {
    let d = data.vectors.cols();
    let mut words: Vec<u32> = Vec::new();
    let mut slot = std::collections::HashMap::new();
    let mut pairs = Vec::new();
    for (ti, name) in view_tasks.iter().enumerate() {
        let task = data.tasks.iter().find(|t| &t.name == name).ok_or_else(|| GeometryError::InvalidParameter {
            name: "view task".into(),
            reason: format!("'{name}' is not a task of the data"),
        })?;
        for (k, pair) in task.pairs.iter().enumerate() {
            let ids = pair.map(|w| {
                *slot.entry(w).or_insert_with(|| {
                    words.push(w);
                    (words.len() - 1) as u32
                })
            });
            pairs.push(ViewPair { task: ti, index: k, words: ids });
        }
    }
    if words.len() < 3 {
        return Err(GeometryError::TooFewPoints { n: words.len(), needed: 3, purpose: "a crystal view".into() }.into());
    }
    let rows: Vec<f32> = words.iter().flat_map(|&w| data.vectors.row(w as usize).iter().copied()).collect();
    let raw = Matrix::new(words.len(), d, rows).expect("rows x d values");
    let raw_pca = pca_2d(&raw)?;
    let mut projected = Vec::with_capacity(words.len() * m);
    for r in 0..raw.rows() {
        let v: Vec<f64> = raw.row(r).iter().map(|&x| x as f64).collect();
        projected.extend(lda.project_direction(&v, m)?.into_iter().map(|x| x as f32));
    }
    let projected = Matrix::new(words.len(), m, projected).expect("rows x m values");
    let lda_pca = pca_2d(&projected)?;
    let lda_axes = (0..projected.rows())
        .map(|r| {
            let row = projected.row(r);
            [row[0] as f64, row.get(1).map_or(0.0, |&v| v as f64)]
        })
        .collect();
    Ok(CrystalView {
        tasks: view_tasks.to_vec(),
        words: words.iter().map(|&w| data.words[w as usize].clone()).collect(),
        pairs,
        raw_pca,
        lda_pca,
        lda_axes,
        lda_components: m,
    })
}

/// The rows of `m` on their first two principal components (the second 0 when `m` has one column).
fn pca_2d(m: &Matrix) -> Result<Vec<[f64; 2]>, GeometryError> {
    let k = 2.min(m.cols());
    let fit = pca(m, k, &mut |_| {})?;
    Ok(fit.transform(m)?.chunks_exact(k).map(|p| [p[0], p.get(1).copied().unwrap_or(0.0)]).collect())
}

/// Which features a crystal search runs on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureSubset {
    /// These feature indices.
    Indices(Vec<u32>),
    /// The features whose decoder rows have the largest Euclidean norms (ties by index).
    LargestNorm(usize),
}

impl FeatureSubset {
    /// How many features this subset has in a decoder of `n` rows (before its indices are checked).
    pub fn len_within(&self, n: usize) -> usize {
        match self {
            FeatureSubset::Indices(v) => v.len(),
            FeatureSubset::LargestNorm(count) => (*count).min(n),
        }
    }

    /// The feature indices, ascending for [`FeatureSubset::LargestNorm`].
    pub fn resolve(&self, decoder: &Matrix) -> Vec<u32> {
        match self {
            FeatureSubset::Indices(v) => v.clone(),
            FeatureSubset::LargestNorm(count) => {
                let norms: Vec<f64> =
                    (0..decoder.rows()).map(|r| decoder.row(r).iter().map(|&v| v as f64 * v as f64).sum()).collect();
                let mut order: Vec<u32> = (0..decoder.rows() as u32).collect();
                order.sort_by(|&a, &b| norms[b as usize].total_cmp(&norms[a as usize]).then(a.cmp(&b)));
                order.truncate(*count);
                order.sort_unstable();
                order
            }
        }
    }
}

/// Crystal search among SAE features ([`crystal_search`]) on the decoder in `bytes`.
pub fn crystal_search_from_bytes(
    bytes: &[u8],
    input_name: &str,
    tensor: Option<&str>,
    features: &FeatureSubset,
    params: &CrystalSearchParams,
    progress: &mut dyn FnMut(&str, f64),
    cancelled: &dyn Fn() -> bool,
) -> Result<CrystalSearch, AnalysisError> {
    progress("parsing", 0.0);
    let m = formats::read_matrix(bytes, input_name, tensor)?.matrix;
    crystal_search_of_matrix(&m, features, params, progress, cancelled)
}

/// [`crystal_search_from_bytes`] of a decoder already read.
pub fn crystal_search_of_matrix(
    decoder: &Matrix,
    features: &FeatureSubset,
    params: &CrystalSearchParams,
    progress: &mut dyn FnMut(&str, f64),
    cancelled: &dyn Fn() -> bool,
) -> Result<CrystalSearch, AnalysisError> {
    let subset = features.resolve(decoder);
    Ok(crystal_search(decoder.as_slice(), decoder.cols(), &subset, params, &mut |f| progress("crystal search", f), cancelled)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> CrystalData {
        // Two tasks in 3-D: task A shifts by (1, 0, 0), task B by (0, 1, 0), with small noise.
        let mut rows = Vec::new();
        let mut words = Vec::new();
        let mut tasks = vec![
            TaskPairs { name: "a".into(), pairs: vec![], total: 0, dropped: 0 },
            TaskPairs { name: "b".into(), pairs: vec![], total: 0, dropped: 0 },
        ];
        for i in 0..20u32 {
            let base = [i as f32 * 0.37 % 1.0, (i as f32 * 0.61) % 1.0, (i as f32 * 0.23) % 1.0];
            let t = (i % 2) as usize;
            let mut out = base;
            out[t] += 1.0 + 0.01 * i as f32;
            rows.extend_from_slice(&base);
            rows.extend_from_slice(&out);
            words.push(format!("w{i}"));
            words.push(format!("w{i}x"));
            tasks[t].pairs.push([2 * i, 2 * i + 1]);
        }
        CrystalData {
            source: "test".into(),
            layer: None,
            vectors: Matrix::new(40, 3, rows).unwrap(),
            last_token: words.clone(),
            words,
            tasks,
        }
    }

    #[test]
    fn vocabulary_and_task_files() {
        let npy = formats::npy::write_f32(&[3, 2], &[1.0, 0.0, 0.0, 1.0, 2.0, 2.0]);
        let mut d = read_vectors_with_vocabulary(&npy, "v.npy", None, "austria\nvienna\nfrance\n").unwrap();
        with_task_files(&mut d, &[("capital".into(), r#"[{"input":"Austria","output":"Vienna"},{"input":"France","output":"Paris"}]"#.into())])
            .unwrap();
        assert_eq!(d.tasks[0].pairs, vec![[0, 1]]);
        assert_eq!(d.tasks[0].dropped, 1);
        let err = read_vectors_with_vocabulary(&npy, "v.npy", None, "a\nb\n").unwrap_err();
        assert!(err.to_string().contains("2 words (lines) for 3 rows"), "{err}");
    }

    #[test]
    fn two_clean_tasks_separate() {
        let r = crystal_analysis(&data(), "t", &CrystalParams::default(), true, &mut |_, _| {}).unwrap();
        assert_eq!(r.pairs, 20);
        assert!(r.silhouette_lda[&1] > 0.9, "{:?}", r.silhouette_lda);
        assert!(r.silhouette_raw > 0.5);
        assert_eq!(r.parallelogram["a"].quads, 45);
        let v = crystal_view(&data(), &CrystalParams::default(), &["a".into()], &mut |_, _| {}).unwrap();
        assert_eq!(v.words.len(), 20);
        assert_eq!(v.pairs.len(), 10);
    }

    #[test]
    fn one_pair_per_task_is_named_and_one_single_pair_task_is_fine() {
        let mut d = data();
        d.tasks[0].pairs.truncate(1);
        d.tasks[1].pairs.truncate(1);
        let err = crystal_analysis(&d, "t", &CrystalParams::default(), false, &mut |_, _| {}).unwrap_err();
        assert_eq!(err.kind(), "invalid-parameter");
        assert!(err.to_string().contains("2 pairs in 2 tasks"), "{err}");
        assert!(crystal_view(&d, &CrystalParams::default(), &["a".into()], &mut |_, _| {}).is_err());
        let mut d = data();
        d.tasks[0].pairs.truncate(1);
        let r = crystal_analysis(&d, "t", &CrystalParams::default(), false, &mut |_, _| {}).unwrap();
        assert!(r.silhouette_raw.is_finite() && r.silhouette_lda[&1].is_finite());
        assert_eq!(r.parallelogram["a"].quads, 0);
        assert_eq!(r.parallelogram["a"].before.median_cosine, None);
    }

    #[test]
    fn two_tasks_need_two_with_pairs() {
        let mut d = data();
        d.tasks[1].pairs.clear();
        assert!(crystal_analysis(&d, "t", &CrystalParams::default(), false, &mut |_, _| {}).is_err());
    }
}
