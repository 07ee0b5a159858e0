//! The UI side of the compute worker: spawn it, send jobs, receive progress and results, cancel
//! by terminating it (and start a fresh one), recover from a crash. Results are cached by
//! (dataset, tensor, parameters) so that returning to an earlier choice does not recompute.

use std::cell::RefCell;
use std::collections::HashMap;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};

use super::state::{AppState, CloudState, CrystalsResult, InspectState, Job, KernelsResult, LobesState, RunState, SweepState, TsneState};
use crate::analysis::budget::MemoryBudget;
use crate::analysis::GalaxyReport;
use crate::compute::backend::SuiteMode;
use crate::geometry::galaxy::GalaxyParams;
use crate::protocol::{ErrorReport, Request, Response, Source, Timings};

/// Path of the worker script that trunk writes (data-type="worker" data-loader-shim).
const WORKER_SCRIPT: &str = "./worker_loader.js";

struct Bridge {
    worker: Worker,
    ready: bool,
    queued: Vec<JsValue>,
    current: Option<u32>,
    /// What the current job is (where its progress and result go).
    kind: JobKind,
    /// Cache key of the current job.
    current_key: String,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

type Cached = (GalaxyReport, Timings, String);

/// The kinds of job, each shown in its own place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobKind {
    /// The galaxy page's main result (`AppState::galaxy`).
    Galaxy,
    /// The kernel suite (`AppState::kernels`).
    Kernels,
    /// A bundle summary in the data panel (`AppState::inspect`).
    Inspect,
    /// A layer sweep (`AppState::sweep`).
    Sweep,
    /// The 3D view (`AppState::cloud`).
    Cloud,
    /// The lobes page's run (`AppState::lobes`).
    Lobes,
    /// The lobes page's comparison of affinities (`AppState::lobe_compare`).
    LobeCompare,
    /// The lobe map's t-SNE layout (`AppState::tsne`).
    Tsne,
    /// The crystals page's analysis (`AppState::crystals`).
    Crystals,
    /// The crystal view (`AppState::crystal_view`).
    CrystalView,
    /// The crystal search (`AppState::crystal_search`).
    CrystalSearch,
}

thread_local! {
    static BRIDGE: RefCell<Option<Bridge>> = const { RefCell::new(None) };
    static STATE: RefCell<Option<AppState>> = const { RefCell::new(None) };
    static NEXT_JOB: RefCell<u32> = const { RefCell::new(1) };
    static CACHE: RefCell<HashMap<String, Cached>> = RefCell::new(HashMap::new());
}

fn state() -> Option<AppState> {
    STATE.with(|s| *s.borrow())
}

/// Starts the worker; responses update `state`.
pub fn install(state: AppState) {
    STATE.with(|s| *s.borrow_mut() = Some(state));
    spawn_worker();
}

fn spawn_worker() {
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|ev: MessageEvent| {
        match ev.data().as_string().as_deref().map(Response::from_json) {
            Some(Ok(response)) => handle(response),
            other => {
                let detail = match other {
                    Some(Err(e)) => e.to_string(),
                    _ => "not text".to_string(),
                };
                web_sys::console::error_1(&format!("sae-geometry: unreadable message from the worker: {detail}").into());
                // The job's result is lost: say so instead of leaving it running forever.
                if let (Some(state), Some(_)) = (state(), current_job()) {
                    let kind = current_kind();
                    finish_job();
                    let error = ErrorReport {
                        kind: "bad-response".into(),
                        message: format!("the worker's result could not be read ({detail}); this is a bug, please report it"),
                    };
                    show_failure(state, kind, error);
                }
            }
        }
    });
    let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(|ev: ErrorEvent| {
        ev.prevent_default();
        crashed(ev.message());
    });
    let worker = match Worker::new(WORKER_SCRIPT) {
        Ok(w) => w,
        Err(e) => {
            if let Some(s) = state() {
                s.notice.set(Some(ErrorReport {
                    kind: "worker".into(),
                    message: format!(
                        "the compute worker could not start ({e:?}); analyses cannot run in this browser"
                    ),
                }));
            }
            return;
        }
    };
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    BRIDGE.with(|b| {
        *b.borrow_mut() = Some(Bridge {
            worker,
            ready: false,
            queued: Vec::new(),
            current: None,
            kind: JobKind::Galaxy,
            current_key: String::new(),
            _on_message: on_message,
            _on_error: on_error,
        })
    });
}

/// The job currently running, if any.
fn current_job() -> Option<u32> {
    BRIDGE.with(|b| b.borrow().as_ref().and_then(|b| b.current))
}

/// The kind of the current job.
fn current_kind() -> JobKind {
    BRIDGE.with(|b| b.borrow().as_ref().map_or(JobKind::Galaxy, |b| b.kind))
}

/// Marks the current job finished and returns its cache key.
fn finish_job() -> String {
    BRIDGE.with(|b| match b.borrow_mut().as_mut() {
        Some(b) => {
            b.current = None;
            std::mem::take(&mut b.current_key)
        }
        None => String::new(),
    })
}

fn handle(response: Response) {
    let Some(state) = state() else { return };
    match response {
        Response::Ready => {
            let queued = BRIDGE.with(|b| {
                let mut b = b.borrow_mut();
                let Some(b) = b.as_mut() else { return Vec::new() };
                b.ready = true;
                std::mem::take(&mut b.queued)
                    .into_iter()
                    .map(|m| (b.worker.clone(), m))
                    .collect::<Vec<_>>()
            });
            for (worker, message) in queued {
                let _ = worker.post_message(&message);
            }
        }
        Response::Progress { job, stage, fraction } => {
            if current_job() == Some(job) {
                match current_kind() {
                    JobKind::Galaxy => {
                        let started_ms = match state.galaxy.get_untracked() {
                            RunState::Running { started_ms, .. } => started_ms,
                            _ => js_sys::Date::now(),
                        };
                        state.galaxy.set(RunState::Running { job, stage, fraction, started_ms });
                    }
                    JobKind::Sweep => state.sweep.update(|s| {
                        if let SweepState::Running { stage: st, fraction: f, .. } = s {
                            *st = stage;
                            *f = fraction;
                        }
                    }),
                    JobKind::Cloud => state.cloud.set(CloudState::Running { job, stage, fraction }),
                    JobKind::Lobes => state.lobes.set(LobesState::Running { job, stage, fraction }),
                    JobKind::LobeCompare => state.lobe_compare.set(LobesState::Running { job, stage, fraction }),
                    JobKind::Tsne => state.tsne.set(TsneState::Running { job, stage, fraction }),
                    JobKind::Crystals => state.crystals.set(Job::Running { job, stage, fraction }),
                    JobKind::Kernels => state.kernels.set(Job::Running { job, stage, fraction }),
                    JobKind::CrystalView => state.crystal_view.set(Job::Running { job, stage, fraction }),
                    JobKind::CrystalSearch => state.crystal_search.set(Job::Running { job, stage, fraction }),
                    JobKind::Inspect => {}
                }
            }
        }
        Response::GalaxyDone {
            job,
            report,
            timings,
            backend,
        } => {
            if current_job() == Some(job) {
                let key = finish_job();
                CACHE.with(|c| {
                    c.borrow_mut()
                        .insert(key, ((*report).clone(), timings, backend.clone()))
                });
                state.galaxy.set(RunState::Done {
                    report,
                    timings,
                    backend,
                    cached: false,
                });
            }
        }
        Response::LayersDone { job, rows, timings, backend } => {
            if current_job() == Some(job) {
                finish_job();
                let group = match state.sweep.get_untracked() {
                    SweepState::Running { group, .. } => group,
                    _ => String::new(),
                };
                state.sweep.set(SweepState::Done { group, rows, timings, backend });
            }
        }
        Response::CloudDone { job, cloud, timings } => {
            if current_job() == Some(job) {
                finish_job();
                state.cloud.set(CloudState::Done { cloud, timings });
            }
        }
        Response::LobesDone { job, run, timings, backend } => {
            if current_job() == Some(job) {
                let kind = current_kind();
                finish_job();
                let done = LobesState::Done { run, timings, backend };
                match kind {
                    JobKind::LobeCompare => state.lobe_compare.set(done),
                    _ => state.lobes.set(done),
                }
            }
        }
        Response::TsneDone { job, layout, timings } => {
            if current_job() == Some(job) {
                finish_job();
                state.tsne.set(TsneState::Done { layout, timings });
            }
        }
        Response::CrystalsDone { job, report, view, timings, backend } => {
            if current_job() == Some(job) {
                finish_job();
                if let Some(v) = &view {
                    state.crystal_view.set(Job::Done { result: v.clone(), timings, backend: backend.clone() });
                }
                let result = Box::new(CrystalsResult { report: *report, view: view.map(|v| *v) });
                state.crystals.set(Job::Done { result, timings, backend });
            }
        }
        Response::CrystalViewDone { job, view, timings } => {
            if current_job() == Some(job) {
                finish_job();
                state.crystal_view.set(Job::Done { result: view, timings, backend: "CPU (wasm)".into() });
            }
        }
        Response::CrystalSearchDone { job, result, timings, backend } => {
            if current_job() == Some(job) {
                finish_job();
                state.crystal_search.set(Job::Done { result, timings, backend });
            }
        }
        Response::KernelsDone { job, adapter, gpu_unavailable, rows, scales } => {
            if current_job() == Some(job) {
                finish_job();
                let result = Box::new(KernelsResult { adapter, gpu_unavailable, rows, scales });
                state.kernels.set(Job::Done { result, timings: Timings::default(), backend: String::new() });
            }
        }
        Response::InspectDone { job, summary } => {
            if current_job() == Some(job) {
                finish_job();
                state.inspect.set(InspectState::Done(summary));
            }
        }
        Response::Failed { job, error } => {
            if current_job() == Some(job) || job == 0 {
                let kind = current_kind();
                finish_job();
                show_failure(state, kind, error);
            }
        }
    }
}

fn crashed(message: String) {
    let job = current_job();
    let kind = current_kind();
    terminate();
    spawn_worker();
    if let (Some(state), Some(_)) = (state(), job) {
        let error = ErrorReport {
            kind: "worker-crashed".into(),
            message: format!("the compute worker stopped ({message}); a fresh one has started: run again"),
        };
        show_failure(state, kind, error);
    }
}

fn show_failure(state: AppState, kind: JobKind, error: ErrorReport) {
    match kind {
        JobKind::Galaxy => state.galaxy.set(RunState::Failed(error)),
        JobKind::Inspect => state.inspect.set(InspectState::Failed(error)),
        JobKind::Sweep => state.sweep.set(SweepState::Failed(error)),
        JobKind::Cloud => state.cloud.set(CloudState::Failed(error)),
        JobKind::Lobes => state.lobes.set(LobesState::Failed(error)),
        JobKind::LobeCompare => state.lobe_compare.set(LobesState::Failed(error)),
        JobKind::Tsne => state.tsne.set(TsneState::Failed(error)),
        JobKind::Crystals => state.crystals.set(Job::Failed(error)),
        JobKind::Kernels => state.kernels.set(Job::Failed(error)),
        JobKind::CrystalView => state.crystal_view.set(Job::Failed(error)),
        JobKind::CrystalSearch => state.crystal_search.set(Job::Failed(error)),
    }
}

fn terminate() {
    BRIDGE.with(|b| {
        if let Some(b) = b.borrow_mut().take() {
            b.worker.terminate();
        }
    });
}

/// What identifies a result: the source, the tensor and the parameters.
fn cache_key(identity: &str, tensor: Option<&str>, params: &GalaxyParams) -> String {
    format!(
        "{identity}\u{0}{}\u{0}{}",
        tensor.unwrap_or(""),
        serde_json::to_string(params).unwrap_or_default()
    )
}

/// This tab's memory budget: the link's `budget=`, else half the device's memory
/// (`navigator.deviceMemory`), at most wasm32's.
pub fn tab_budget(state: AppState) -> MemoryBudget {
    let device = web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w.navigator(), &wasm_bindgen::JsValue::from_str("deviceMemory")).ok())
        .and_then(|v| v.as_f64());
    MemoryBudget::for_tab(device, state.budget_mib.get_untracked())
}

/// Starts the galaxy analysis of `source` in the worker, or shows the cached result. A job
/// already running is cancelled first.
pub fn run_galaxy(source: Source, file: Option<web_sys::File>, tensor: Option<String>, params: GalaxyParams) {
    let Some(state) = state() else { return };
    let backend = state.backend.get_untracked();
    let identity = match (&source, &file) {
        (_, Some(f)) => format!("file:{}:{}:{}", f.name(), f.size(), f.last_modified()),
        (Source::Url { url, .. }, None) => format!("url:{url}"),
        (Source::File { name }, None) => format!("file:{name}"),
    };
    let key = format!("{}\u{0}{}", backend.name(), cache_key(&identity, tensor.as_deref(), &params));
    if let Some((report, timings, backend)) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        cancel_silently();
        state.galaxy.set(RunState::Done {
            report: Box::new(report),
            timings,
            backend,
            cached: true,
        });
        return;
    }
    let budget = Some(tab_budget(state).bytes);
    let job = submit(|job| Request::Galaxy { job, source, tensor, params, backend, budget }, file, key, JobKind::Galaxy);
    state.galaxy.set(RunState::Running {
        job,
        stage: "starting".into(),
        fraction: 0.0,
        started_ms: js_sys::Date::now(),
    });
}

/// Cancels any running job, then posts the request made by `make(job)` (queued until the
/// worker is ready) and returns its job number.
fn submit(make: impl FnOnce(u32) -> Request, file: Option<web_sys::File>, key: String, kind: JobKind) -> u32 {
    submit_with_files(make, file, Vec::new(), key, kind)
}

/// [`submit`] with more local files: `named` go in the message's `files`, each under the name of
/// its [`Source::File`] (a job that reads two files, such as the lobes of a decoder and a
/// co-occurrence file both chosen on this machine).
fn submit_with_files(
    make: impl FnOnce(u32) -> Request,
    file: Option<web_sys::File>,
    named: Vec<(String, web_sys::File)>,
    key: String,
    kind: JobKind,
) -> u32 {
    // One job at a time: the one running (of any kind) is cancelled and shown as such.
    cancel();
    let job = NEXT_JOB.with(|n| {
        let mut n = n.borrow_mut();
        *n += 1;
        *n
    });
    let message = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&message, &"request".into(), &JsValue::from_str(&make(job).to_json()));
    if let Some(file) = file {
        let _ = js_sys::Reflect::set(&message, &"file".into(), &file);
    }
    if !named.is_empty() {
        let files = js_sys::Object::new();
        for (name, file) in named {
            let _ = js_sys::Reflect::set(&files, &name.into(), &file);
        }
        let _ = js_sys::Reflect::set(&message, &"files".into(), &files);
    }
    let message: JsValue = message.into();
    let worker = BRIDGE.with(|b| {
        let mut b = b.borrow_mut();
        let b = b.as_mut()?;
        b.current = Some(job);
        b.current_key = key;
        b.kind = kind;
        if b.ready {
            Some(b.worker.clone())
        } else {
            b.queued.push(message.clone());
            None
        }
    });
    if let Some(worker) = worker {
        let _ = worker.post_message(&message);
    }
    job
}

/// Reads a bundle in the worker and shows its summary (see [`crate::analysis::inspect_bundle`]).
pub fn run_inspect(source: Source) {
    let Some(state) = state() else { return };
    let name = source.name().to_string();
    let job = submit(|job| Request::Inspect { job, source }, None, String::new(), JobKind::Inspect);
    state.inspect.set(InspectState::Running { job, name });
}

/// Runs the galaxy analysis of every layer of `group` (`layers`: (layer, source), in order).
pub fn run_sweep(group: String, layers: Vec<(usize, Source)>, tensor: Option<String>, params: GalaxyParams) {
    let Some(state) = state() else { return };
    let backend = state.backend.get_untracked();
    let budget = Some(tab_budget(state).bytes);
    let job = submit(|job| Request::GalaxyLayers { job, layers, tensor, params, backend, budget }, None, String::new(), JobKind::Sweep);
    state.sweep.set(SweepState::Running { job, group, stage: "starting".into(), fraction: 0.0 });
}

/// Projects `source` and its isotropic reference onto their first three principal components.
pub fn run_cloud(source: Source, file: Option<web_sys::File>, tensor: Option<String>, seed: u64, sample: Option<usize>) {
    let Some(state) = state() else { return };
    let budget = Some(tab_budget(state).bytes);
    let job = submit(|job| Request::Cloud { job, source, tensor, seed, sample, budget }, file, String::new(), JobKind::Cloud);
    state.cloud.set(CloudState::Running { job, stage: "starting".into(), fraction: 0.0 });
}

/// Runs the brain-scale analysis of a decoder and its co-occurrence data (`compare`: all five
/// affinities across k, shown in the comparison; else the page's main run).
pub fn run_lobes(request: impl FnOnce(u32) -> Request, files: Vec<(String, web_sys::File)>, compare: bool) {
    let Some(state) = state() else { return };
    let kind = if compare { JobKind::LobeCompare } else { JobKind::Lobes };
    let job = submit_with_files(request, None, files, String::new(), kind);
    let running = LobesState::Running { job, stage: "starting".into(), fraction: 0.0 };
    if compare {
        state.lobe_compare.set(running);
    } else {
        state.lobes.set(running);
    }
}

/// Computes the t-SNE layout of a decoder's rows for the lobe map.
pub fn run_tsne(decoder: Source, file: Option<web_sys::File>, seed: u64, pca_dims: Option<usize>) {
    let Some(state) = state() else { return };
    let budget = Some(tab_budget(state).bytes);
    let job = submit(|job| Request::Tsne { job, decoder, tensor: None, seed, pca_dims, budget }, file, String::new(), JobKind::Tsne);
    state.tsne.set(TsneState::Running { job, stage: "starting".into(), fraction: 0.0 });
}

/// The crystals page's jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrystalJob {
    /// `Request::Crystals`, shown in `AppState::crystals`.
    Analysis,
    /// `Request::CrystalView`, shown in `AppState::crystal_view`.
    View,
    /// `Request::CrystalSearch`, shown in `AppState::crystal_search`.
    Search,
}

/// Runs one of the crystals page's jobs (`file`: a local vectors file).
pub fn run_crystal_job(which: CrystalJob, request: impl FnOnce(u32) -> Request, file: Option<web_sys::File>) {
    let Some(state) = state() else { return };
    let kind = match which {
        CrystalJob::Analysis => JobKind::Crystals,
        CrystalJob::View => JobKind::CrystalView,
        CrystalJob::Search => JobKind::CrystalSearch,
    };
    let job = submit(request, file, String::new(), kind);
    let stage = || "starting".to_string();
    match which {
        CrystalJob::Analysis => state.crystals.set(Job::Running { job, stage: stage(), fraction: 0.0 }),
        CrystalJob::View => state.crystal_view.set(Job::Running { job, stage: stage(), fraction: 0.0 }),
        CrystalJob::Search => state.crystal_search.set(Job::Running { job, stage: stage(), fraction: 0.0 }),
    }
}

/// Runs the kernel suite in the worker (`real`: a decoder for the rows on real data; `scales`:
/// also the galaxy analysis of it on each backend).
pub fn run_kernels(mode: SuiteMode, real: Option<Source>, scales: bool, scale_inputs: crate::protocol::ScaleInputs) {
    let Some(state) = state() else { return };
    let job = submit(
        |job| Request::Kernels { job, mode, real, tensor: None, scales, scale_inputs },
        None,
        String::new(),
        JobKind::Kernels,
    );
    state.kernels.set(Job::Running { job, stage: "starting".into(), fraction: 0.0 });
}

/// Stops the running job (if any) and frees its memory by terminating the worker; a fresh
/// worker takes its place at once.
pub fn cancel() {
    if current_job().is_some() {
        let kind = current_kind();
        cancel_silently();
        if let Some(state) = state() {
            match kind {
                JobKind::Galaxy => state.galaxy.set(RunState::Cancelled),
                JobKind::Inspect => state.inspect.set(InspectState::Idle),
                JobKind::Sweep => state.sweep.set(SweepState::Cancelled),
                JobKind::Cloud => state.cloud.set(CloudState::Cancelled),
                JobKind::Lobes => state.lobes.set(LobesState::Cancelled),
                JobKind::LobeCompare => state.lobe_compare.set(LobesState::Cancelled),
                JobKind::Tsne => state.tsne.set(TsneState::Cancelled),
                JobKind::Crystals => state.crystals.set(Job::Cancelled),
                JobKind::Kernels => state.kernels.set(Job::Cancelled),
                JobKind::CrystalView => state.crystal_view.set(Job::Cancelled),
                JobKind::CrystalSearch => state.crystal_search.set(Job::Cancelled),
            }
        }
    }
}

fn cancel_silently() {
    if current_job().is_some() {
        terminate();
        spawn_worker();
    }
}
