//! The compute worker (wasm only): receives [`Request`]s, loads the bytes (fetch with progress, or
//! a `File` handle), runs the analysis off the UI thread and posts [`Response`]s back.
//!
//! Cancellation is the UI terminating this worker: a synchronous analysis cannot be interrupted
//! from inside, and terminating frees all of its memory at once.

mod gpu;
mod load;

use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::analysis::budget::{self, MemoryBudget};
use crate::analysis::lobes::{cooccurrence_features, tsne_layout_of_matrix};
use crate::analysis::{cloud_of_matrix, Cloud, inspect_bundle, AnalysisError, LayerRow};
use crate::analysis::crystals::{
    crystal_search_of_matrix, crystal_view, read_crystal_set, read_vectors_with_vocabulary,
    with_task_files, CrystalData,
};
use crate::geometry::galaxy::GalaxyParams;
use crate::matrix::Matrix;
use crate::protocol::{CrystalWords, ErrorReport, Request, Response, Source, Timings};

/// Share of the progress bar given to loading the bytes; the analysis gets the rest.
pub(crate) const LOAD_SHARE: f64 = 0.15;

/// Installs the message handler and tells the UI the worker is ready.
pub fn start() {
    console_error_panic_hook::set_once();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|ev: MessageEvent| {
        wasm_bindgen_futures::spawn_local(handle(ev.data()));
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(&Response::Ready);
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Posts one response to the UI thread as JSON text.
pub(crate) fn post(response: &Response) {
    // Posting a string to the parent cannot fail in a dedicated worker.
    let _ = scope().post_message(&JsValue::from_str(&response.to_json()));
}

/// Posts progress at most once per percent or on a change of stage. A scoped poster maps its
/// 0..=1 onto `base..=base + span` of the job's bar and prefixes its stage names (one layer of a
/// sweep).
pub(crate) struct ProgressPoster {
    job: u32,
    stage: String,
    last: f64,
    prefix: String,
    base: f64,
    span: f64,
    quiet: bool,
}

impl ProgressPoster {
    pub(crate) fn new(job: u32) -> Self {
        Self::scoped(job, "", 0.0, 1.0)
    }

    /// A poster that posts nothing (small reads of a file's header).
    pub(crate) fn silent() -> Self {
        Self { quiet: true, ..Self::new(0) }
    }

    pub(crate) fn scoped(job: u32, prefix: &str, base: f64, span: f64) -> Self {
        Self {
            job,
            stage: String::new(),
            last: -1.0,
            prefix: prefix.to_string(),
            base,
            span,
            quiet: false,
        }
    }

    pub(crate) fn report(&mut self, stage: &str, fraction: f64) {
        if !self.quiet && (stage != self.stage || fraction - self.last >= 0.01 || fraction >= 1.0) {
            self.stage = stage.to_string();
            self.last = fraction;
            post(&Response::Progress {
                job: self.job,
                stage: format!("{}{stage}", self.prefix),
                fraction: self.base + self.span * fraction,
            });
        }
    }
}

async fn handle(data: JsValue) {
    let text = Reflect::get(&data, &JsValue::from_str("request"))
        .ok()
        .and_then(|v| v.as_string());
    let request = match text.as_deref().map(Request::from_json) {
        Some(Ok(r)) => r,
        other => {
            let detail = match other {
                Some(Err(e)) => e.to_string(),
                _ => "no request text".to_string(),
            };
            post(&Response::Failed {
                job: 0,
                error: ErrorReport {
                    kind: "bad-request".into(),
                    message: format!("the worker got a malformed request: {detail}"),
                },
            });
            return;
        }
    };
    match request {
        Request::Galaxy { job, source, tensor, params, backend, budget } => {
            let mut progress = ProgressPoster::new(job);
            let budget = MemoryBudget::of_request(budget);
            let result = gpu::galaxy_job(backend, &source, tensor.as_deref(), &params, budget, &data, &mut progress).await;
            post(&match result {
                Ok((report, timings, used)) => Response::GalaxyDone {
                    job,
                    report: Box::new(report),
                    timings,
                    backend: used.describe(),
                },
                Err(error) => Response::Failed { job, error },
            });
        }
        Request::GalaxyLayers { job, layers, tensor, params, backend, budget } => {
            let budget = MemoryBudget::of_request(budget);
            let (mut load_ms, mut compute_ms) = (0.0, 0.0);
            let mut used_names = Vec::new();
            let mut rows = Vec::with_capacity(layers.len());
            let count = layers.len().max(1) as f64;
            for (i, (layer, source)) in layers.iter().enumerate() {
                let prefix = format!("layer {layer} ({} of {}): ", i + 1, layers.len());
                let mut progress = ProgressPoster::scoped(job, &prefix, i as f64 / count, 1.0 / count);
                let result = gpu::galaxy_job(backend, source, tensor.as_deref(), &params, budget, &data, &mut progress).await;
                match result {
                    Ok((report, timings, used)) => {
                        let used = used.describe();
                        if !used_names.contains(&used) {
                            used_names.push(used);
                        }
                        rows.push(LayerRow::from_report(*layer, &report));
                        load_ms += timings.load_ms;
                        compute_ms += timings.compute_ms;
                    }
                    Err(mut error) => {
                        error.message = format!("layer {layer} ({}): {}", source.name(), error.message);
                        return post(&Response::Failed { job, error });
                    }
                }
            }
            post(&Response::LayersDone {
                job,
                rows,
                timings: Timings { load_ms, compute_ms },
                backend: used_names.join("; "),
            });
        }
        Request::Cloud { job, source, tensor, seed, sample, budget } => {
            let mut progress = ProgressPoster::new(job);
            let budget = MemoryBudget::of_request(budget);
            // The rows the galaxy analysis takes of this file (its sample, when it has one).
            let params = GalaxyParams { seed, sample, ..GalaxyParams::default() };
            let t0 = js_sys::Date::now();
            let result = match gpu::rows_within(&source, tensor.as_deref(), &params, budget, &data, &mut progress).await {
                Ok((loaded, _, sample)) => {
                    let t1 = js_sys::Date::now();
                    cloud_of_matrix(loaded.matrix, source.name(), seed, &mut |stage, fraction| {
                        progress.report(stage, LOAD_SHARE + (1.0 - LOAD_SHARE) * fraction)
                    })
                    .map(|cloud| (Cloud { sample, ..cloud }, Timings { load_ms: t1 - t0, compute_ms: js_sys::Date::now() - t1 }))
                    .map_err(|e| ErrorReport { kind: e.kind().into(), message: e.to_string() })
                }
                Err(error) => Err(error),
            };
            post(&match result {
                Ok((cloud, timings)) => Response::CloudDone { job, cloud: Box::new(cloud), timings },
                Err(error) => Response::Failed { job, error },
            });
        }
        Request::Lobes { job, decoder, cooccurrence, tensor, affinities, ks, params, with_map, brief, backend, budget } => {
            let mut progress = ProgressPoster::new(job);
            let t0 = js_sys::Date::now();
            let decoder_bytes = match load::bytes(&decoder, &data, &mut progress).await {
                Ok(b) => b,
                Err(error) => return post(&Response::Failed { job, error }),
            };
            let cooccurrence_bytes = match load::bytes(&cooccurrence, &data, &mut progress).await {
                Ok(b) => b,
                Err(error) => return post(&Response::Failed { job, error }),
            };
            let budget = MemoryBudget::of_request(budget);
            if let Some(why) = cooccurrence_features(&cooccurrence_bytes, cooccurrence.name())
                .and_then(|n| budget::lobes_refusal(n, budget))
            {
                let message = format!("{}: {why}", cooccurrence.name());
                return post(&Response::Failed { job, error: ErrorReport { kind: "too-large".into(), message } });
            }
            let t1 = js_sys::Date::now();
            progress.report("co-occurrence histogram", LOAD_SHARE);
            let result = gpu::lobes_on(
                backend,
                (&decoder_bytes, decoder.name(), tensor.as_deref()),
                (&cooccurrence_bytes, cooccurrence.name()),
                &affinities,
                &ks,
                &params,
                with_map,
                &mut |stage, fraction| progress.report(stage, LOAD_SHARE + (1.0 - LOAD_SHARE) * fraction),
            )
            .await;
            let timings = Timings { load_ms: t1 - t0, compute_ms: js_sys::Date::now() - t1 };
            post(&match result {
                Ok((mut run, used)) => {
                    if brief {
                        for r in &mut run.reports {
                            r.agreement.labels_cooccurrence.clear();
                            r.agreement.labels_geometry.clear();
                        }
                    }
                    Response::LobesDone { job, run: Box::new(run), timings, backend: used.describe() }
                }
                Err(error) => Response::Failed { job, error },
            });
        }
        Request::Tsne { job, decoder, tensor, seed, pca_dims, budget } => {
            let mut progress = ProgressPoster::new(job);
            let budget = MemoryBudget::of_request(budget);
            let refusal = |n, d| budget::tsne_refusal(n, d, budget);
            let result = load_and_run(&decoder, tensor.as_deref(), &refusal, &data, &mut progress, |m, p| {
                tsne_layout_of_matrix(m, decoder.name(), seed, pca_dims, p)
            })
            .await;
            post(&match result {
                Ok((layout, timings)) => Response::TsneDone { job, layout: Box::new(layout), timings },
                Err(error) => Response::Failed { job, error },
            });
        }
        Request::Crystals { job, vectors, tensor, words, params, view, backend } => {
            let mut progress = ProgressPoster::new(job);
            let t0 = js_sys::Date::now();
            let crystal = match crystal_data(&vectors, tensor.as_deref(), &words, &data, &mut progress).await {
                Ok(c) => c,
                Err(error) => return post(&Response::Failed { job, error }),
            };
            let t1 = js_sys::Date::now();
            progress.report("LDA", LOAD_SHARE);
            let result = gpu::crystals_on(backend, &crystal, vectors.name(), &params, true, view.as_deref(), &mut |stage, f| {
                progress.report(stage, LOAD_SHARE + (1.0 - LOAD_SHARE) * f)
            })
            .await;
            let timings = Timings { load_ms: t1 - t0, compute_ms: js_sys::Date::now() - t1 };
            post(&match result {
                Ok(((report, view), used)) => Response::CrystalsDone {
                    job,
                    report: Box::new(report),
                    view: view.map(Box::new),
                    timings,
                    backend: used.describe(),
                },
                Err(error) => Response::Failed { job, error },
            });
        }
        Request::CrystalView { job, vectors, tensor, words, params, view } => {
            let result = crystal_job(job, &vectors, tensor.as_deref(), &words, &data, |crystal, report| {
                crystal_view(crystal, &params, &view, report)
            })
            .await;
            post(&match result {
                Ok((view, timings)) => Response::CrystalViewDone { job, view: Box::new(view), timings },
                Err(error) => Response::Failed { job, error },
            });
        }
        Request::CrystalSearch { job, decoder, tensor, features, params, budget } => {
            let mut progress = ProgressPoster::new(job);
            let budget = MemoryBudget::of_request(budget);
            let refusal = |n, d| budget::crystal_search_refusal(n, d, features.len_within(n), budget);
            let result = load_and_run(&decoder, tensor.as_deref(), &refusal, &data, &mut progress, |m, p| {
                crystal_search_of_matrix(&m, &features, &params, p, &|| false)
            })
            .await;
            post(&match result {
                Ok((result, timings)) => {
                    Response::CrystalSearchDone { job, result: Box::new(result), timings, backend: "CPU (wasm)".into() }
                }
                Err(error) => Response::Failed { job, error },
            });
        }
        Request::Kernels { job, mode, real, tensor, scales, scale_inputs } => {
            gpu::kernels_job(job, mode, real, tensor, scales, scale_inputs, &data).await;
        }
        Request::Inspect { job, source } => {
            let mut progress = ProgressPoster::new(job);
            let bytes = match load::bytes(&source, &data, &mut progress).await {
                Ok(b) => b,
                Err(error) => return post(&Response::Failed { job, error }),
            };
            post(&match inspect_bundle(&bytes, source.name()) {
                Ok(summary) => Response::InspectDone { job, summary },
                Err(e) => failed(job, &e),
            });
        }
    }
}

/// Reads `source`'s matrix `tensor` (the first [`LOAD_SHARE`] of `progress`; refused, naming what
/// fits, when `refusal` of its shape says so, see [`gpu::matrix_within`]), runs `analysis` on it
/// (the rest), and returns the result with its timings.
async fn load_and_run<T>(
    source: &Source,
    tensor: Option<&str>,
    refusal: &dyn Fn(usize, usize) -> Option<String>,
    data: &JsValue,
    progress: &mut ProgressPoster,
    analysis: impl FnOnce(Matrix, &mut dyn FnMut(&str, f64)) -> Result<T, AnalysisError>,
) -> Result<(T, Timings), ErrorReport> {
    let t0 = js_sys::Date::now();
    let loaded = gpu::matrix_within(source, tensor, refusal, data, progress).await?;
    let t1 = js_sys::Date::now();
    let result = analysis(loaded.matrix, &mut |stage, fraction| {
        progress.report(stage, LOAD_SHARE + (1.0 - LOAD_SHARE) * fraction)
    });
    let timings = Timings { load_ms: t1 - t0, compute_ms: js_sys::Date::now() - t1 };
    result.map(|r| (r, timings)).map_err(|e| ErrorReport { kind: e.kind().into(), message: e.to_string() })
}

/// Loads the vectors and words of a crystals job, then runs `analysis` on them (the rest of the
/// progress bar), with the timings.
async fn crystal_job<T>(
    job: u32,
    vectors: &Source,
    tensor: Option<&str>,
    words: &CrystalWords,
    data: &JsValue,
    analysis: impl FnOnce(&CrystalData, &mut dyn FnMut(&str, f64)) -> Result<T, AnalysisError>,
) -> Result<(T, Timings), ErrorReport> {
    let mut progress = ProgressPoster::new(job);
    let t0 = js_sys::Date::now();
    let crystal = crystal_data(vectors, tensor, words, data, &mut progress).await?;
    let t1 = js_sys::Date::now();
    let result = analysis(&crystal, &mut |stage, f| progress.report(stage, LOAD_SHARE + (1.0 - LOAD_SHARE) * f));
    let timings = Timings { load_ms: t1 - t0, compute_ms: js_sys::Date::now() - t1 };
    result.map(|r| (r, timings)).map_err(|e| ErrorReport { kind: e.kind().into(), message: e.to_string() })
}

/// Loads the vectors and words of a crystal analysis (the loading share of `progress`).
pub(crate) async fn crystal_data(
    vectors: &Source,
    tensor: Option<&str>,
    words: &CrystalWords,
    data: &JsValue,
    progress: &mut ProgressPoster,
) -> Result<CrystalData, ErrorReport> {
    let report = |e: AnalysisError| ErrorReport { kind: e.kind().into(), message: e.to_string() };
    let bytes = load::bytes(vectors, data, progress).await?;
    match words {
        CrystalWords::Set { source } => {
            let text = load::bytes(source, data, progress).await?;
            let text = String::from_utf8(text).map_err(|_| ErrorReport {
                kind: "bad-header".into(),
                message: format!("{}: the words file is not UTF-8 text", source.name()),
            })?;
            read_crystal_set(&bytes, vectors.name(), &text).map_err(report)
        }
        CrystalWords::SetText { text } => read_crystal_set(&bytes, vectors.name(), text).map_err(report),
        CrystalWords::Vocabulary { text, tasks } => {
            let mut crystal = read_vectors_with_vocabulary(&bytes, vectors.name(), tensor, text).map_err(report)?;
            with_task_files(&mut crystal, tasks).map_err(report)?;
            Ok(crystal)
        }
    }
}

fn failed(job: u32, e: &AnalysisError) -> Response {
    Response::Failed { job, error: ErrorReport { kind: e.kind().into(), message: e.to_string() } }
}
