//! The worker's GPU: one [`GpuContext`] opened on first use and kept, the galaxy analysis on the
//! backend a request asks for (falling back to the CPU with the reason), and the kernel suite.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsValue;

use super::{load, post, ProgressPoster, LOAD_SHARE};
use crate::analysis::crystals::{crystal_analysis_from_fit, crystal_fit, CrystalData, CrystalParams, CrystalReport, CrystalView};
use crate::analysis::lobes::{counted_firings, lobes_from_bytes_with, lobes_from_embeddings, read_lobes_inputs, LobesRun};
use crate::geometry::affinity::Affinity;
use crate::geometry::lobes::LobeParams;
use crate::analysis::budget::{self, MemoryBudget};
use crate::analysis::{galaxy_report, AnalysisError, GalaxyReport, RowSample};
use crate::compute::backend::{BackendChoice, BackendUsed};
use crate::compute::gpu::{GpuContext, GpuError};
use crate::compute::offload::{crystal_silhouettes, galaxy_covariances, lobe_embeddings, OffloadError};
use crate::compute::suite::{now_ms, run_suite};
use crate::formats::{self, LoadedMatrix};
use crate::geometry::galaxy::GalaxyParams;
use crate::protocol::{ErrorReport, Response, ScaleInputs, ScaleTiming, Source, Timings};

/// The GPU as far as this worker knows it.
enum GpuState {
    /// Not asked for yet.
    Untried,
    /// The context and the adapter's name as the browser gives it.
    Ready(Rc<GpuContext>, Rc<str>),
    /// No adapter, or the device could not be opened: the reason, shown beside CPU results.
    Unavailable(String),
}

thread_local! {
    static GPU: RefCell<GpuState> = const { RefCell::new(GpuState::Untried) };
}

/// The adapter's vendor, architecture and description from the browser's `GPUAdapterInfo`
/// (wgpu passes on only the description, which browsers often leave empty).
async fn browser_adapter_label() -> Option<String> {
    use js_sys::{Promise, Reflect};
    use wasm_bindgen::JsCast;
    let get = |v: &JsValue, k: &str| Reflect::get(v, &JsValue::from_str(k)).ok().filter(|v| !v.is_undefined() && !v.is_null());
    let gpu = get(&get(&js_sys::global(), "navigator")?, "gpu")?;
    let request = get(&gpu, "requestAdapter")?.dyn_into::<js_sys::Function>().ok()?;
    let promise = request.call0(&gpu).ok()?.dyn_into::<Promise>().ok()?;
    let adapter = wasm_bindgen_futures::JsFuture::from(promise).await.ok().filter(|a| !a.is_null())?;
    let info = get(&adapter, "info")?;
    let parts: Vec<String> = ["vendor", "architecture", "description"]
        .iter()
        .filter_map(|k| get(&info, k).and_then(|v| v.as_string()))
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The worker's GPU context and the adapter's name, opened on first use. A lost device is
/// dropped and reopened once.
pub(crate) async fn context() -> Result<(Rc<GpuContext>, Rc<str>), String> {
    let known = GPU.with(|g| match &*g.borrow() {
        GpuState::Ready(c, name) if !c.is_lost() => Some(Ok((c.clone(), name.clone()))),
        GpuState::Unavailable(why) => Some(Err(why.clone())),
        _ => None,
    });
    if let Some(known) = known {
        return known;
    }
    match GpuContext::new().await {
        Ok(c) => {
            let c = Rc::new(c);
            let fallback = if c.is_fallback() { ", a software adapter" } else { "" };
            let name: Rc<str> = match browser_adapter_label().await {
                Some(label) => format!("{label}{fallback}").into(),
                None => c.adapter_name().into(),
            };
            GPU.with(|g| *g.borrow_mut() = GpuState::Ready(c.clone(), name.clone()));
            Ok((c, name))
        }
        Err(e) => {
            let why = e.to_string();
            GPU.with(|g| *g.borrow_mut() = GpuState::Unavailable(why.clone()));
            Err(why)
        }
    }
}

/// The worker's GPU for a job on `choice`'s backend: `Auto` passes over a software adapter
/// (SwiftShader, lavapipe: the CPU emulating a GPU, slower than the CPU path); a forced WebGPU
/// takes whatever there is.
async fn context_for(choice: BackendChoice) -> Result<(Rc<GpuContext>, Rc<str>), String> {
    let (gpu, adapter) = context().await?;
    if choice == BackendChoice::Auto && gpu.is_fallback() {
        return Err(format!("{adapter} emulates a GPU on the CPU (slower than the CPU path); choose WebGPU to use it"));
    }
    Ok((gpu, adapter))
}

/// After a GPU failure: a lost device is forgotten (the next job opens a new one).
fn forget_if_lost(e: &GpuError) {
    if matches!(e, GpuError::DeviceLost(_)) {
        GPU.with(|g| *g.borrow_mut() = GpuState::Untried);
    }
}

fn report(e: AnalysisError) -> ErrorReport {
    ErrorReport { kind: e.kind().into(), message: e.to_string() }
}

/// The galaxy report of `loaded` with its covariance matrices on `choice`'s backend: WebGPU when
/// asked (or `Auto`) and available, else (or after a GPU failure) the CPU, with the reason.
pub(crate) async fn galaxy_on(
    choice: BackendChoice,
    loaded: &LoadedMatrix,
    bytes: u64,
    name: &str,
    params: &GalaxyParams,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<(GalaxyReport, BackendUsed), ErrorReport> {
    let mut fallback = None;
    if choice.wants_gpu() {
        match context_for(choice).await {
            Ok((gpu, adapter)) => {
                // The covariances are about 90% of the CPU path's work: give them the bar's first half.
                let given = galaxy_covariances(&gpu, &loaded.matrix, params, &mut |s, f| progress(s, 0.5 * f)).await;
                match given {
                    Ok(given) => {
                        let r = galaxy_report(loaded, bytes, name, params, Some(given), &mut |s, f| {
                            progress(s, 0.5 + 0.5 * f)
                        })
                        .map_err(report)?;
                        let used = BackendUsed { name: format!("WebGPU ({adapter})"), fallback: None };
                        return Ok((r, used));
                    }
                    Err(OffloadError::Geometry(e)) => return Err(report(AnalysisError::Geometry(e))),
                    Err(OffloadError::Analysis(e)) => return Err(report(e)),
                    Err(OffloadError::Gpu(e)) => {
                        forget_if_lost(&e);
                        fallback = Some(format!("{e}; computed on the CPU instead"));
                    }
                }
            }
            Err(why) => fallback = Some(why),
        }
    }
    let r = galaxy_report(loaded, bytes, name, params, None, progress).map_err(report)?;
    Ok((r, cpu_used(choice, fallback)))
}

/// The CPU as the backend that ran, with the reason the GPU did not: `Auto` without an adapter is
/// the expected CPU run and says nothing; a forced WebGPU, or a GPU that failed, says why.
fn cpu_used(choice: BackendChoice, fallback: Option<String>) -> BackendUsed {
    let quiet = choice == BackendChoice::Auto && fallback.as_deref().is_some_and(|f| !f.contains("instead"));
    BackendUsed::cpu(if quiet { None } else { fallback })
}

/// Runs `work` on the worker's GPU when `choice` asks for it: its result, and the backend line
/// ("WebGPU (adapter) for `what`, CPU (wasm) for the rest"). `None` (the caller computes it on
/// the CPU) with the CPU line and the reason when there is no GPU or it failed; an input the math
/// refuses is an error, as on the CPU.
async fn part_on_gpu<T, F, Fut>(choice: BackendChoice, what: &str, work: F) -> Result<(Option<T>, BackendUsed), ErrorReport>
where
    F: FnOnce(Rc<GpuContext>) -> Fut,
    Fut: std::future::Future<Output = Result<T, OffloadError>>,
{
    if !choice.wants_gpu() {
        return Ok((None, BackendUsed::cpu(None)));
    }
    match context_for(choice).await {
        Ok((gpu, adapter)) => match work(gpu).await {
            Ok(v) => {
                let name = format!("WebGPU ({adapter}) for {what}, CPU (wasm) for the rest");
                Ok((Some(v), BackendUsed { name, fallback: None }))
            }
            Err(OffloadError::Geometry(e)) => Err(report(AnalysisError::Geometry(e))),
            Err(OffloadError::Analysis(e)) => Err(report(e)),
            Err(OffloadError::Gpu(e)) => {
                forget_if_lost(&e);
                Ok((None, cpu_used(choice, Some(format!("{e}; computed on the CPU instead")))))
            }
        },
        Err(why) => Ok((None, cpu_used(choice, Some(why)))),
    }
}

/// A lobes run on `choice`'s backend: the co-occurrence histogram (of a bundle's firings) and
/// the spectral embeddings' Lanczos products on the GPU when it asks for one and there is one,
/// the rest on the CPU; all of it on the CPU otherwise, or after a GPU failure (the reason is in
/// the backend line).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn lobes_on(
    choice: BackendChoice,
    decoder: (&[u8], &str, Option<&str>),
    cooccurrence: (&[u8], &str),
    affinities: &[Affinity],
    ks: &[usize],
    params: &LobeParams,
    with_map: bool,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<(LobesRun, BackendUsed), ErrorReport> {
    let firings = counted_firings(cooccurrence.0, cooccurrence.1).ok().flatten();
    let what = if firings.is_some() {
        "the co-occurrence histogram and the spectral embeddings' products"
    } else {
        "the spectral embeddings' products"
    };
    let k_max = ks.iter().copied().max().unwrap_or(params.k);
    let on_gpu: &mut dyn FnMut(&str, f64) = &mut *progress;
    let (done, used) = part_on_gpu(choice, what, |gpu| async move {
        let histogram = match firings {
            Some((n, indptr, indices)) => Some(gpu.cooccurrence(&indptr, &indices, n).await?),
            None => None,
        };
        let inputs = read_lobes_inputs(decoder, cooccurrence, histogram, with_map, on_gpu)?;
        let embedded = lobe_embeddings(&gpu, &inputs, affinities, k_max, params.seed, on_gpu).await?;
        Ok((inputs, embedded))
    })
    .await?;
    let run = match done {
        Some((inputs, embedded)) => {
            lobes_from_embeddings(inputs, embedded, affinities, ks, params, (decoder.1, cooccurrence.1), progress)
        }
        None => lobes_from_bytes_with(decoder, cooccurrence, None, affinities, ks, params, with_map, progress),
    }
    .map_err(report)?;
    Ok((run, used))
}

/// A crystal analysis on `choice`'s backend: the LDA fit on the CPU, then its silhouettes (of
/// the raw differences, `O(N^2 d)`, and of each LDA prefix) on the GPU when it asks for one and
/// there is one, the rest on the CPU; all of it on the CPU otherwise, or after a GPU failure (the
/// reason is in the backend line).
pub(crate) async fn crystals_on(
    choice: BackendChoice,
    data: &CrystalData,
    input: &str,
    params: &CrystalParams,
    with_points: bool,
    view_tasks: Option<&[String]>,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<((CrystalReport, Option<CrystalView>), BackendUsed), ErrorReport> {
    let fit = crystal_fit(data, params, progress).map_err(report)?;
    let fit_ref = &fit;
    let on_gpu: &mut dyn FnMut(&str, f64) = &mut *progress;
    let (given, used) = part_on_gpu(choice, "the silhouettes", |gpu| async move {
        crystal_silhouettes(&gpu, fit_ref, params, &mut |f| on_gpu("silhouettes (WebGPU)", 0.1 + 0.5 * f)).await
    })
    .await?;
    let done = crystal_analysis_from_fit(data, fit, input, params, with_points, view_tasks, given, progress).map_err(report)?;
    Ok((done, used))
}

/// A URL's first answer ([`load::first_answer`]) and the file's size when its server reads ranges
/// (`None` for a local file): it says whether the file can be streamed, and when it is not, the
/// download goes on from it.
async fn first_answer_of(
    source: &Source,
    progress: &mut ProgressPoster,
) -> Result<(Option<web_sys::Response>, Option<u64>), ErrorReport> {
    let first = match source {
        Source::Url { url, .. } => Some(load::first_answer(url, progress).await?),
        Source::File { .. } => None,
    };
    let size = first.as_ref().and_then(load::ranged_size);
    Ok((first, size))
}

/// The rows of `source`'s matrix that the galaxy analysis (or the 3D view, whose peak is the
/// same) takes: the sample `params` asks for, else every row when they fit `budget`, else a
/// uniform random sample of as many as fit ([`sample_within`]); with the file's size and the
/// sample. A large file is streamed ([`galaxy_stream`]); a small one read whole, then sampled.
pub(crate) async fn rows_within(
    source: &Source,
    tensor: Option<&str>,
    params: &GalaxyParams,
    budget: MemoryBudget,
    data: &JsValue,
    progress: &mut ProgressPoster,
) -> Result<(LoadedMatrix, u64, Option<RowSample>), ErrorReport> {
    let (first, url_size) = first_answer_of(source, progress).await?;
    if let Some(streamed) = galaxy_stream(source, url_size, tensor, params, budget, data, progress)? {
        return Ok(streamed);
    }
    let bytes = load::matrix_bytes_after(source, tensor, data, first, progress).await?;
    progress.report("parsing", LOAD_SHARE);
    let loaded = formats::read_matrix(&bytes, source.name(), tensor).map_err(|e| report(e.into()))?;
    let size = bytes.len() as u64;
    drop(bytes);
    let (n, d) = (loaded.matrix.rows(), loaded.matrix.cols());
    let sample = sample_within(params, n, d, budget).map_err(|why| too_large(source, why))?;
    Ok(match sample {
        Some(s) => (formats::rows::select_rows(&loaded, &s.indices()), size, Some(s)),
        None => (loaded, size, None),
    })
}

/// Loads `source` and runs the galaxy analysis on `choice`'s backend, with timings.
pub(crate) async fn galaxy_job(
    choice: BackendChoice,
    source: &Source,
    tensor: Option<&str>,
    params: &GalaxyParams,
    budget: MemoryBudget,
    data: &JsValue,
    progress: &mut ProgressPoster,
) -> Result<(GalaxyReport, Timings, BackendUsed), ErrorReport> {
    let t0 = js_sys::Date::now();
    let (loaded, size, sample) = rows_within(source, tensor, params, budget, data, progress).await?;
    let t1 = js_sys::Date::now();
    // The report's parameters say which sample it is of, also when the budget chose it.
    let params = GalaxyParams { sample: sample.as_ref().map(|s| s.rows), ..params.clone() };
    let (mut r, used) = galaxy_on(choice, &loaded, size, source.name(), &params, &mut |s, f| {
        progress.report(s, LOAD_SHARE + (1.0 - LOAD_SHARE) * f)
    })
    .await?;
    r.sample = sample;
    Ok((r, Timings { load_ms: t1 - t0, compute_ms: js_sys::Date::now() - t1 }, used))
}

/// The whole matrix of `source` for an analysis of every row (t-SNE, the crystal search),
/// refused with what would fit when `refusal` (given the rows and columns) says it exceeds the
/// tab's budget. A large file (over [`load::STREAM_ABOVE`]) is refused from its header, before
/// anything is allocated, and else read in ranges, never held whole; a small one is read whole,
/// parsed and freed before the check.
pub(crate) async fn matrix_within(
    source: &Source,
    tensor: Option<&str>,
    refusal: &dyn Fn(usize, usize) -> Option<String>,
    data: &JsValue,
    progress: &mut ProgressPoster,
) -> Result<LoadedMatrix, ErrorReport> {
    let (first, url_size) = first_answer_of(source, progress).await?;
    if let Some(mut stream) = planned_stream(source, url_size, tensor, false, data, progress)? {
        if let Some(why) = refusal(stream.plan.features, stream.plan.dims) {
            return Err(too_large(source, why));
        }
        let every: Vec<usize> = (0..stream.plan.features).collect();
        let what = format!("streaming {}", stream.plan.tensor);
        return stream.read_rows(source, &every, &what, progress);
    }
    let bytes = load::matrix_bytes_after(source, tensor, data, first, progress).await?;
    progress.report("parsing", LOAD_SHARE);
    let loaded = formats::read_matrix(&bytes, source.name(), tensor).map_err(|e| report(e.into()))?;
    drop(bytes);
    match refusal(loaded.matrix.rows(), loaded.matrix.cols()) {
        Some(why) => Err(too_large(source, why)),
        None => Ok(loaded),
    }
}

fn too_large(source: &Source, why: String) -> ErrorReport {
    ErrorReport { kind: "too-large".into(), message: format!("{}: {why}", source.name()) }
}

/// The rows to analyse of an `n x d` matrix: the sample `params` asks for (refused, with what
/// would fit, when it exceeds `budget`), else all of them when they fit, else a random sample of
/// as many as fit.
fn sample_within(params: &GalaxyParams, n: usize, d: usize, budget: MemoryBudget) -> Result<Option<RowSample>, String> {
    match RowSample::requested(params, n).map_err(|e| e.to_string())? {
        Some(s) => match budget::galaxy_refusal(s.rows, d, budget) {
            Some(_) => Err(budget::galaxy_refusal(n, d, budget).unwrap_or_default()),
            None => Ok(Some(s)),
        },
        None => match budget::galaxy_refusal(n, d, budget) {
            None => Ok(None),
            Some(why) => {
                let rows = budget::galaxy_rows_within(budget, d);
                if rows < 2 {
                    return Err(why);
                }
                let seed = u32::try_from(params.seed).map_err(|_| format!("{why} (with a seed below 2^32)"))?;
                Ok(Some(RowSample { rows, of: n, seed }))
            }
        },
    }
}

/// Streams the matrix of a large `source` (over [`load::STREAM_ABOVE`], or when a sample is asked
/// for) in ranges, keeping every row when they fit `budget` and else a random sample of as many
/// as fit (disclosed in the report); `Ok(None)` when the source is small or cannot be read in
/// ranges (then it is read whole). A sample asked for that does not fit is refused, with what would.
#[allow(clippy::too_many_arguments)]
fn galaxy_stream(
    source: &Source,
    url_size: Option<u64>,
    tensor: Option<&str>,
    params: &GalaxyParams,
    budget: MemoryBudget,
    data: &JsValue,
    progress: &mut ProgressPoster,
) -> Result<Option<(LoadedMatrix, u64, Option<RowSample>)>, ErrorReport> {
    let Some(mut stream) = planned_stream(source, url_size, tensor, params.sample.is_some(), data, progress)? else {
        return Ok(None);
    };
    let (n, d) = (stream.plan.features, stream.plan.dims);
    let sample = sample_within(params, n, d, budget).map_err(|why| too_large(source, why))?;
    let keep: Vec<usize> = match &sample {
        Some(s) => s.indices(),
        None => (0..n).collect(),
    };
    let what = match &sample {
        Some(s) => format!("streaming {} ({} of {n} rows)", stream.plan.tensor, s.rows),
        None => format!("streaming {}", stream.plan.tensor),
    };
    let loaded = stream.read_rows(source, &keep, &what, progress)?;
    Ok(Some((loaded, stream.len, sample)))
}

/// A file read in ranges: its length, its reader and the plan of its matrix's rows.
struct PlannedStream {
    len: u64,
    reader: crate::formats::range_reader::RangeReader<'static>,
    plan: formats::rows::StreamPlan,
}

impl PlannedStream {
    /// The rows `keep` (increasing), read in ranges; `what` names the stage in `progress`.
    fn read_rows(&mut self, source: &Source, keep: &[usize], what: &str, progress: &mut ProgressPoster) -> Result<LoadedMatrix, ErrorReport> {
        formats::rows::sample_rows_from(&mut self.reader, self.len, source.name(), &self.plan, keep, &mut |f| {
            progress.report(what, LOAD_SHARE * f)
        })
        .map_err(|e| report(e.into()))
    }
}

/// The header of `source`'s matrix, read in ranges, when the file is large (over
/// [`load::STREAM_ABOVE`]) or `always`; `Ok(None)` when it is small or cannot be read in ranges
/// (then it is read whole).
fn planned_stream(
    source: &Source,
    url_size: Option<u64>,
    tensor: Option<&str>,
    always: bool,
    data: &JsValue,
    progress: &mut ProgressPoster,
) -> Result<Option<PlannedStream>, ErrorReport> {
    let Some((len, mut reader)) = load::range_reader(source, url_size, data)? else { return Ok(None) };
    if len <= load::STREAM_ABOVE && !always {
        return Ok(None);
    }
    progress.report("reading the header", 0.0);
    let plan = formats::rows::plan_stream(&mut reader, len, source.name(), tensor).map_err(|e| report(e.into()))?;
    Ok(Some(PlannedStream { len, reader, plan }))
}

/// Runs the kernel suite (and, with `scales`, the galaxy analysis of `real` on each backend) and
/// posts `KernelsDone`.
pub(crate) async fn kernels_job(
    job: u32,
    mode: crate::compute::backend::SuiteMode,
    real: Option<Source>,
    tensor: Option<String>,
    scales: bool,
    scale_inputs: ScaleInputs,
    data: &JsValue,
) {
    let mut progress = ProgressPoster::new(job);
    let loaded = match &real {
        Some(source) => {
            let bytes = match load::bytes(source, data, &mut progress).await {
                Ok(b) => b,
                Err(error) => return post(&Response::Failed { job, error }),
            };
            match formats::read_matrix(&bytes, source.name(), tensor.as_deref()) {
                Ok(l) => Some((l, bytes.len() as u64)),
                Err(e) => return post(&Response::Failed { job, error: report(e.into()) }),
            }
        }
        None => None,
    };
    let (gpu, adapter, gpu_unavailable) = match context().await {
        Ok((g, name)) => (Some(g), Some(name.to_string()), None),
        Err(why) => (None, None, Some(why)),
    };
    let name = real.as_ref().map(|s| s.name().to_string()).unwrap_or_default();
    let suite_share = if scales { 0.6 } else { 1.0 };
    let rows = run_suite(
        gpu.as_deref(),
        mode,
        loaded.as_ref().map(|(l, _)| (&l.matrix, name.as_str())),
        &mut |f| progress.report("kernels", LOAD_SHARE + (1.0 - LOAD_SHARE) * suite_share * f),
    )
    .await;
    let mut timings = Vec::new();
    if let (true, Some((loaded, size))) = (scales, &loaded) {
        let params = GalaxyParams::default();
        for choice in [BackendChoice::Cpu, BackendChoice::Webgpu] {
            if choice == BackendChoice::Webgpu && gpu.is_none() {
                continue;
            }
            let t0 = now_ms();
            let result = galaxy_on(choice, loaded, *size, &name, &params, &mut |_, _| {}).await;
            let ms = now_ms() - t0;
            match result {
                Ok((r, used)) => timings.push(ScaleTiming {
                    scale: "galaxy".into(),
                    backend: used.describe(),
                    ms,
                    quantity: "power-law slope".into(),
                    value: r.spectrum.power_law.slope,
                }),
                Err(error) => return post(&Response::Failed { job, error }),
            }
            progress.report("scales", LOAD_SHARE + (1.0 - LOAD_SHARE) * (0.6 + 0.2 * timings.len() as f64));
        }
    }
    if scales {
        let with_gpu = gpu.is_some();
        match other_scales(&scale_inputs, with_gpu, data, &mut progress).await {
            Ok(more) => timings.extend(more),
            Err(error) => return post(&Response::Failed { job, error }),
        }
    }
    post(&Response::KernelsDone {
        job,
        adapter,
        gpu_unavailable,
        rows,
        scales: timings,
    });
}

/// The lobe and atom scales of `inputs` timed on the CPU and (`with_gpu`) on WebGPU, the bytes
/// loaded first: lobes with Phi, k = 3, no null trials; crystals of every pair.
async fn other_scales(
    inputs: &ScaleInputs,
    with_gpu: bool,
    data: &JsValue,
    progress: &mut ProgressPoster,
) -> Result<Vec<ScaleTiming>, ErrorReport> {
    let choices: &[BackendChoice] = if with_gpu { &[BackendChoice::Cpu, BackendChoice::Webgpu] } else { &[BackendChoice::Cpu] };
    let mut timings = Vec::new();
    if let Some((decoder, bundle)) = &inputs.lobes {
        let decoder_bytes = load::bytes(decoder, data, progress).await?;
        let bundle_bytes = load::bytes(bundle, data, progress).await?;
        let params = LobeParams { k: 3, null_trials: 0, ..LobeParams::default() };
        for &choice in choices {
            progress.report("lobes", 0.9);
            let t0 = now_ms();
            let (run, used) = lobes_on(
                choice,
                (&decoder_bytes, decoder.name(), None),
                (&bundle_bytes, bundle.name()),
                &[Affinity::Phi],
                &[3],
                &params,
                false,
                &mut |_, _| {},
            )
            .await?;
            let ami = run.reports.first().map_or(f64::NAN, |r| r.agreement.ami);
            timings.push(ScaleTiming { scale: "lobes".into(), backend: used.describe(), ms: now_ms() - t0, quantity: "AMI".into(), value: ami });
        }
    }
    if let Some((vectors, words)) = &inputs.crystals {
        let crystal = super::crystal_data(vectors, None, words, data, progress).await?;
        let params = CrystalParams::default();
        for &choice in choices {
            progress.report("crystals", 0.95);
            let t0 = now_ms();
            let ((r, _), used) = crystals_on(choice, &crystal, vectors.name(), &params, false, None, &mut |_, _| {}).await?;
            timings.push(ScaleTiming {
                scale: "crystals".into(),
                backend: used.describe(),
                ms: now_ms() - t0,
                quantity: "raw silhouette".into(),
                value: r.silhouette_raw,
            });
        }
    }
    Ok(timings)
}
