//! Messages between the UI thread and the compute worker, as JSON text.
//!
//! A request travels as a JS object `{ request: "<json Request>", file?: File }`: a local file
//! goes as its `File` handle (structured clone copies the handle, not the bytes), so the worker
//! reads the bytes and the UI thread never holds them.

use serde::{Deserialize, Serialize};

use crate::analysis::crystals::{CrystalParams, CrystalReport, CrystalView, FeatureSubset};
use crate::analysis::lobes::{LobesRun, TsneLayout};
use crate::geometry::crystal_search::{CrystalSearch, CrystalSearchParams};
use crate::analysis::{BundleSummary, Cloud, GalaxyReport, LayerRow};
use crate::compute::backend::{BackendChoice, KernelRow, SuiteMode};
use crate::geometry::affinity::Affinity;
use crate::geometry::lobes::LobeParams;
use crate::geometry::galaxy::GalaxyParams;

/// Where the worker gets the bytes to analyse.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Source {
    /// Fetch this URL (relative to the page, e.g. a bundled dataset).
    Url { url: String, name: String },
    /// The `File` sent in the same message under `file`.
    File { name: String },
}

impl Source {
    /// The name shown to the user and written into reports.
    pub fn name(&self) -> &str {
        match self {
            Source::Url { name, .. } | Source::File { name } => name,
        }
    }
}

/// UI -> worker.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Compute the galaxy spectrum of one matrix.
    Galaxy {
        job: u32,
        source: Source,
        tensor: Option<String>,
        params: GalaxyParams,
        /// Where the covariance matrices are computed (the rest runs on the CPU).
        #[serde(default)]
        backend: BackendChoice,
        /// The tab's memory budget in bytes (`None`: wasm32's,
        /// [`crate::analysis::budget::MemoryBudget::WASM32`]).
        #[serde(default)]
        budget: Option<u64>,
    },
    /// Read a bundle and summarise it (co-occurrence, crystals, any safetensors).
    Inspect { job: u32, source: Source },
    /// The first three principal components of a matrix and of its isotropic reference.
    Cloud {
        job: u32,
        source: Source,
        tensor: Option<String>,
        seed: u64,
        /// A uniform random sample of this many rows (the galaxy page's `sample`; `None`: every
        /// row when they fit the budget, else as many as fit, as the galaxy analysis samples).
        #[serde(default)]
        sample: Option<usize>,
        /// The tab's memory budget in bytes (`None`: wasm32's).
        #[serde(default)]
        budget: Option<u64>,
    },
    /// The galaxy analysis of every layer of a group, one after the other.
    GalaxyLayers {
        job: u32,
        /// (layer, where its decoder is), in the order to run them.
        layers: Vec<(usize, Source)>,
        tensor: Option<String>,
        params: GalaxyParams,
        #[serde(default)]
        backend: BackendChoice,
        #[serde(default)]
        budget: Option<u64>,
    },
    /// The brain scale: lobes of a decoder and its co-occurrence data, for every affinity and k
    /// asked (see [`crate::analysis::lobes::lobes_from_bytes`]).
    Lobes {
        job: u32,
        decoder: Source,
        cooccurrence: Source,
        tensor: Option<String>,
        affinities: Vec<Affinity>,
        ks: Vec<usize>,
        params: LobeParams,
        /// Also compute the lobe map (PCA layout, nearest features).
        with_map: bool,
        /// Leave the per-feature labels out of the reports (a comparison across affinities).
        brief: bool,
        /// Where the co-occurrence histogram is counted (the rest runs on the CPU).
        #[serde(default)]
        backend: BackendChoice,
        /// The tab's memory budget in bytes (`None`: wasm32's).
        #[serde(default)]
        budget: Option<u64>,
    },
    /// A t-SNE layout of a decoder's rows for the lobe map.
    Tsne {
        job: u32,
        decoder: Source,
        tensor: Option<String>,
        seed: u64,
        pca_dims: Option<usize>,
        /// The tab's memory budget in bytes (`None`: wasm32's).
        #[serde(default)]
        budget: Option<u64>,
    },
    /// The atom scale: silhouettes, quads and the word-length distractor of word-pair tasks
    /// ([`crate::analysis::crystals::crystal_analysis`]), and the crystal view of `view` tasks.
    Crystals {
        job: u32,
        vectors: Source,
        tensor: Option<String>,
        words: CrystalWords,
        params: CrystalParams,
        view: Option<Vec<String>>,
        /// Where the silhouette of the raw differences runs (the rest runs on the CPU).
        #[serde(default)]
        backend: BackendChoice,
    },
    /// Only the crystal view of `view` tasks (LDA refitted, no silhouettes).
    CrystalView {
        job: u32,
        vectors: Source,
        tensor: Option<String>,
        words: CrystalWords,
        params: CrystalParams,
        view: Vec<String>,
    },
    /// Crystal search among the features `features` of a decoder.
    CrystalSearch {
        job: u32,
        decoder: Source,
        tensor: Option<String>,
        features: FeatureSubset,
        params: CrystalSearchParams,
        /// The tab's memory budget in bytes (`None`: wasm32's).
        #[serde(default)]
        budget: Option<u64>,
    },
    /// The kernel suite ([`crate::compute::suite`]): every kernel on the CPU and on WebGPU
    /// (when there is an adapter), with `real` (a decoder) for the rows on real data; with
    /// `scales`, also the galaxy analysis of `real` end to end on each backend.
    Kernels {
        job: u32,
        mode: SuiteMode,
        real: Option<Source>,
        tensor: Option<String>,
        #[serde(default)]
        scales: bool,
        /// With `scales`: the lobe and atom scales' inputs too (their analyses timed on each
        /// backend beside the galaxy's).
        #[serde(default)]
        scale_inputs: ScaleInputs,
    },
}

/// The bundled inputs of the lobe and atom scales for the benchmark panel.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ScaleInputs {
    /// A decoder and its co-occurrence bundle: the lobes (Phi, k = 3, no null trials).
    pub lobes: Option<(Source, Source)>,
    /// A crystal set's vectors and words: the crystal analysis (every pair).
    pub crystals: Option<(Source, CrystalWords)>,
}

/// The end-to-end time of one scale's analysis on one backend (the benchmark panel).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScaleTiming {
    /// "galaxy", "lobes" or "crystals".
    pub scale: String,
    /// What ran it ([`crate::compute::backend::BackendUsed::describe`]).
    pub backend: String,
    /// Analysis time, ms (the bytes already loaded).
    pub ms: f64,
    /// The headline number, to show that both backends agree: its name ("power-law slope",
    /// "AMI", "raw silhouette") and value.
    pub quantity: String,
    pub value: f64,
}

/// The words of a crystal analysis's vectors.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "words", rename_all = "snake_case")]
pub enum CrystalWords {
    /// A bundled crystal set's words JSON (words, last tokens, tasks).
    Set { source: Source },
    /// A crystal set's words JSON, as text (the user's own file).
    SetText { text: String },
    /// A vocabulary (one word a line, the rows in order) and task files `(name, JSON text)`.
    Vocabulary { text: String, tasks: Vec<(String, String)> },
}

/// A failure, as the UI shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorReport {
    /// Stable short name, e.g. "truncated", "fetch", "worker-crashed".
    pub kind: String,
    /// What went wrong and what to do, in words.
    pub message: String,
}

/// Timings of one job, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct Timings {
    pub load_ms: f64,
    pub compute_ms: f64,
}

/// Worker -> UI.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// The worker has started and takes requests.
    Ready,
    /// Work in progress: `fraction` of the whole job in 0..=1, `stage` names the step.
    Progress { job: u32, stage: String, fraction: f64 },
    /// A galaxy job finished.
    GalaxyDone {
        job: u32,
        report: Box<GalaxyReport>,
        timings: Timings,
        backend: String,
    },
    /// An inspect job finished.
    InspectDone { job: u32, summary: BundleSummary },
    /// A cloud job finished.
    CloudDone {
        job: u32,
        cloud: Box<Cloud>,
        timings: Timings,
    },
    /// A layer sweep finished: one row per layer, in the order asked.
    LayersDone {
        job: u32,
        rows: Vec<LayerRow>,
        timings: Timings,
        backend: String,
    },
    /// A lobes job finished.
    LobesDone {
        job: u32,
        run: Box<LobesRun>,
        timings: Timings,
        backend: String,
    },
    /// A t-SNE job finished.
    TsneDone { job: u32, layout: Box<TsneLayout>, timings: Timings },
    /// A crystals job finished (with the view when one was asked).
    CrystalsDone {
        job: u32,
        report: Box<CrystalReport>,
        view: Option<Box<CrystalView>>,
        timings: Timings,
        backend: String,
    },
    /// A crystal view finished.
    CrystalViewDone { job: u32, view: Box<CrystalView>, timings: Timings },
    /// A crystal search finished.
    CrystalSearchDone { job: u32, result: Box<CrystalSearch>, timings: Timings, backend: String },
    /// The kernel suite finished.
    KernelsDone {
        job: u32,
        /// The WebGPU adapter, when one was found.
        adapter: Option<String>,
        /// Why there is no GPU column, when there is none.
        gpu_unavailable: Option<String>,
        rows: Vec<KernelRow>,
        scales: Vec<ScaleTiming>,
    },
    /// A job failed.
    Failed { job: u32, error: ErrorReport },
}

impl Request {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("requests always serialise")
    }
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl Response {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("responses always serialise")
    }
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips_through_json() {
        let r = Request::Galaxy {
            job: 7,
            source: Source::Url {
                url: "data/x.safetensors".into(),
                name: "x".into(),
            },
            tensor: None,
            params: GalaxyParams::default(),
            backend: BackendChoice::Webgpu,
            budget: Some(1 << 30),
        };
        let text = r.to_json();
        assert!(text.contains("\"type\":\"galaxy\""));
        assert_eq!(Request::from_json(&text).unwrap(), r);
    }

    #[test]
    fn failure_round_trips_through_json() {
        let r = Response::Failed {
            job: 1,
            error: ErrorReport {
                kind: "truncated".into(),
                message: "short".into(),
            },
        };
        assert_eq!(Response::from_json(&r.to_json()).unwrap(), r);
    }
}
