//! The app's shared reactive state.

use std::collections::BTreeMap;

use leptos::prelude::*;

use crate::analysis::crystals::{CrystalReport, CrystalView};
use crate::analysis::lobes::{LobesRun, TsneLayout};
use crate::geometry::crystal_search::CrystalSearch;
use crate::analysis::{BundleSummary, Cloud, GalaxyReport, LayerRow};
use crate::formats::manifest::DatasetEntry;
use crate::geometry::galaxy::GalaxyParams;
use crate::compute::backend::{BackendChoice, KernelRow};
use crate::neuronpedia::NeuronpediaSae;
use crate::protocol::{ErrorReport, ScaleTiming, Timings};

/// What the data panel offers and what the user picked.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// A dataset of `data/manifest.json`.
    Bundled(DatasetEntry),
    /// A file the user dropped or chose; the `File` handle is in [`AppState::local_file`].
    Local { name: String, bytes: u64 },
    /// A file on the web (`?data=URL` or the URL box), read with range requests where allowed.
    Remote { url: String, name: String },
}

impl Selection {
    pub fn name(&self) -> String {
        match self {
            Selection::Bundled(d) => d.title.clone(),
            Selection::Local { name, .. } | Selection::Remote { name, .. } => name.clone(),
        }
    }
}

/// Features the user selected (a lobe, a box on the lobe map, a link's list): shown in colour on
/// every plot of the features, the others grey.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSelection {
    /// Rows of the decoder, ascending and distinct.
    pub features: Vec<u32>,
    /// What was selected, for the selection bar ("lobe 2 of layer3.safetensors").
    pub what: String,
}

impl FeatureSelection {
    /// One flag per feature of a set of `n`, or `None` when nothing is selected.
    pub fn mask(selection: &Option<FeatureSelection>, n: usize) -> Option<Vec<bool>> {
        selection.as_ref().map(|s| {
            let mut mask = vec![false; n];
            for &f in &s.features {
                if let Some(m) = mask.get_mut(f as usize) {
                    *m = true;
                }
            }
            mask
        })
    }
}

/// The bundled datasets, as loaded from the manifest.
#[derive(Debug, Clone, PartialEq)]
pub enum Datasets {
    Loading,
    Loaded(Vec<DatasetEntry>),
    Failed(String),
}

/// One analysis run as the UI sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    Idle,
    Running {
        job: u32,
        stage: String,
        fraction: f64,
        started_ms: f64,
    },
    Done {
        report: Box<GalaxyReport>,
        timings: Timings,
        backend: String,
        cached: bool,
    },
    Failed(ErrorReport),
    Cancelled,
}

/// Reading a bundle for its summary in the data panel.
#[derive(Debug, Clone, PartialEq)]
pub enum InspectState {
    Idle,
    Running { job: u32, name: String },
    Done(BundleSummary),
    Failed(ErrorReport),
}

/// A layer sweep (the galaxy analysis of every layer of a group) as the UI sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum SweepState {
    Idle,
    Running { job: u32, group: String, stage: String, fraction: f64 },
    Done { group: String, rows: Vec<LayerRow>, timings: Timings, backend: String },
    Failed(ErrorReport),
    Cancelled,
}

/// The 3D view of the cloud as the UI sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum CloudState {
    Idle,
    Running { job: u32, stage: String, fraction: f64 },
    Done { cloud: Box<Cloud>, timings: Timings },
    Failed(ErrorReport),
    Cancelled,
}

/// Which scale's page is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Galaxy,
    Lobes,
    Crystals,
    /// The compute backends: which one runs, the kernel checks and benchmark.
    Compute,
}

/// A job of the crystals page as the UI sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Job<T> {
    Idle,
    Running { job: u32, stage: String, fraction: f64 },
    Done { result: T, timings: Timings, backend: String },
    Failed(ErrorReport),
    Cancelled,
}

impl<T> Job<T> {
    pub fn is_running(&self) -> bool {
        matches!(self, Job::Running { .. })
    }
}

/// The atom-scale analysis with the crystal view it came with.
#[derive(Debug, Clone, PartialEq)]
pub struct CrystalsResult {
    pub report: CrystalReport,
    pub view: Option<CrystalView>,
}

/// A lobes run (one affinity and k with its nulls, or the comparison of all affinities across k)
/// as the UI sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum LobesState {
    Idle,
    Running { job: u32, stage: String, fraction: f64 },
    Done { run: Box<LobesRun>, timings: Timings, backend: String },
    Failed(ErrorReport),
    Cancelled,
}

/// The t-SNE layout of the lobe map as the UI sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum TsneState {
    Idle,
    Running { job: u32, stage: String, fraction: f64 },
    Done { layout: Box<TsneLayout>, timings: Timings },
    Failed(ErrorReport),
    Cancelled,
}

/// All shared signals; `Copy`, provided as context.
#[derive(Clone, Copy)]
pub struct AppState {
    pub datasets: RwSignal<Datasets>,
    pub selection: RwSignal<Option<Selection>>,
    pub local_file: RwSignal<Option<web_sys::File>, LocalStorage>,
    pub galaxy: RwSignal<RunState>,
    /// The bundle summary shown in the data panel.
    pub inspect: RwSignal<InspectState>,
    /// The layer sweep of the galaxy page.
    pub sweep: RwSignal<SweepState>,
    /// The 3D view of the galaxy page.
    pub cloud: RwSignal<CloudState>,
    /// The page shown.
    pub page: RwSignal<Page>,
    /// The lobes page's main run.
    pub lobes: RwSignal<LobesState>,
    /// The lobes page's comparison of the five affinities across k.
    pub lobe_compare: RwSignal<LobesState>,
    /// The lobe map's t-SNE layout.
    pub tsne: RwSignal<TsneState>,
    /// The crystals page's analysis.
    pub crystals: RwSignal<Job<Box<CrystalsResult>>>,
    /// The crystal view (recomputed when the tasks shown change).
    pub crystal_view: RwSignal<Job<Box<CrystalView>>>,
    /// The crystal search among SAE features.
    pub crystal_search: RwSignal<Job<Box<CrystalSearch>>>,
    /// Parameters of the galaxy analysis.
    pub galaxy_params: RwSignal<GalaxyParams>,
    /// Tensor to read from npz/safetensors files; empty = the default choice.
    pub tensor: RwSignal<String>,
    /// A message about the page as a whole (e.g. a refused file), shown above the results.
    pub notice: RwSignal<Option<ErrorReport>>,
    /// Where the heavy kernels run (auto, CPU, WebGPU).
    pub backend: RwSignal<BackendChoice>,
    /// The kernel suite's last run (the Compute page).
    pub kernels: RwSignal<Job<Box<KernelsResult>>>,
    /// Embedded in another page (`?embed=1`): one plot, minimal chrome.
    pub embed: RwSignal<bool>,
    /// The lobes page's choices as the address holds them (set by the page on each run).
    pub lobe_link: RwSignal<crate::link::LobesLink>,
    /// The selected features, linked across the pages.
    pub feature_selection: RwSignal<Option<FeatureSelection>>,
    /// Word-pair files (with their vectors) dropped on the data panel, for the crystals page to take.
    pub dropped_crystal_files: RwSignal<Option<Vec<web_sys::File>>, LocalStorage>,
    /// The crystals page's choices as the address holds them (set by the page on each run).
    pub crystals_link: RwSignal<crate::link::CrystalsLink>,
    /// The 3D view's camera (both clouds turn with it).
    pub camera: RwSignal<crate::link::Camera3d>,
    /// A link asked for the 3D view: shown once the galaxy analysis is done.
    pub cloud_from_link: RwSignal<bool>,
    /// The SAE's Neuronpedia id as the address gives it (`neuronpedia=`); see [`AppState::neuronpedia`].
    pub neuronpedia_link: RwSignal<Option<NeuronpediaSae>>,
    /// The address's memory budget in MiB (`budget=`; `None`: the device's).
    pub budget_mib: RwSignal<Option<u64>>,
    /// The zoom of every zoomed chart, by the chart's name (its canvas's `data-testid`), as the
    /// address holds it (`zoom.NAME=`).
    pub chart_zooms: RwSignal<BTreeMap<String, crate::chart_view::Zoom>>,
    /// Zooms an opened link asked for, by chart name, each taken by its chart when it is first
    /// shown.
    pub linked_zooms: StoredValue<BTreeMap<String, crate::chart_view::Zoom>>,
}

/// The kernel suite's result as the Compute page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelsResult {
    pub adapter: Option<String>,
    pub gpu_unavailable: Option<String>,
    pub rows: Vec<KernelRow>,
    pub scales: Vec<ScaleTiming>,
}

impl AppState {
    /// The Neuronpedia SAE of the chosen data: the address's `neuronpedia=`, else read from a
    /// Gemma Scope path (the URL of a file on the web, a bundled dataset's source or file, a
    /// local file's name).
    pub fn neuronpedia(&self) -> Option<NeuronpediaSae> {
        if let Some(sae) = self.neuronpedia_link.get() {
            return Some(sae);
        }
        match self.selection.get()? {
            Selection::Remote { url, .. } => NeuronpediaSae::from_gemma_scope_path(&url),
            Selection::Bundled(e) => {
                NeuronpediaSae::from_gemma_scope_path(&e.source).or_else(|| NeuronpediaSae::from_gemma_scope_path(&e.file))
            }
            Selection::Local { name, .. } => NeuronpediaSae::from_gemma_scope_path(&name),
        }
    }

    pub fn new() -> Self {
        Self {
            datasets: RwSignal::new(Datasets::Loading),
            selection: RwSignal::new(None),
            local_file: RwSignal::new_local(None),
            galaxy: RwSignal::new(RunState::Idle),
            inspect: RwSignal::new(InspectState::Idle),
            sweep: RwSignal::new(SweepState::Idle),
            cloud: RwSignal::new(CloudState::Idle),
            page: RwSignal::new(Page::Galaxy),
            lobes: RwSignal::new(LobesState::Idle),
            lobe_compare: RwSignal::new(LobesState::Idle),
            tsne: RwSignal::new(TsneState::Idle),
            crystals: RwSignal::new(Job::Idle),
            crystal_view: RwSignal::new(Job::Idle),
            crystal_search: RwSignal::new(Job::Idle),
            // The page computes the clustering entropy by default (the CLI does too).
            galaxy_params: RwSignal::new(GalaxyParams {
                entropy: Some(crate::geometry::entropy::EntropyParams::default()),
                ..GalaxyParams::default()
            }),
            tensor: RwSignal::new(String::new()),
            notice: RwSignal::new(None),
            backend: RwSignal::new(BackendChoice::Auto),
            kernels: RwSignal::new(Job::Idle),
            embed: RwSignal::new(false),
            lobe_link: RwSignal::new(crate::link::LobesLink::default()),
            feature_selection: RwSignal::new(None),
            neuronpedia_link: RwSignal::new(None),
            camera: RwSignal::new(Default::default()),
            crystals_link: RwSignal::new(Default::default()),
            dropped_crystal_files: RwSignal::new_local(None),
            cloud_from_link: RwSignal::new(false),
            budget_mib: RwSignal::new(None),
            chart_zooms: RwSignal::new(BTreeMap::new()),
            linked_zooms: StoredValue::new(BTreeMap::new()),
        }
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}
