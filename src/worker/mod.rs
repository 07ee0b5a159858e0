//! The compute worker (wasm only): receives [`Request`]s, loads the bytes (fetch with progress, or
//! a `File` handle), runs the analysis off the UI thread and posts [`Response`]s back.
//!
//! Cancellation is the UI terminating this worker: a synchronous analysis cannot be interrupted
//! from inside, and terminating frees all of its memory at once.

mod load;

use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::analysis::{galaxy_from_bytes, inspect_bundle, AnalysisError};
use crate::protocol::{ErrorReport, Request, Response, Timings};

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

/// Posts progress at most once per percent or on a change of stage.
pub(crate) struct ProgressPoster {
    job: u32,
    stage: String,
    last: f64,
}

impl ProgressPoster {
    pub(crate) fn new(job: u32) -> Self {
        Self {
            job,
            stage: String::new(),
            last: -1.0,
        }
    }

    pub(crate) fn report(&mut self, stage: &str, fraction: f64) {
        if stage != self.stage || fraction - self.last >= 0.01 || fraction >= 1.0 {
            self.stage = stage.to_string();
            self.last = fraction;
            post(&Response::Progress {
                job: self.job,
                stage: stage.to_string(),
                fraction,
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
        Request::Galaxy {
            job,
            source,
            tensor,
            params,
        } => {
            let mut progress = ProgressPoster::new(job);
            let t0 = js_sys::Date::now();
            let bytes = match load::bytes(&source, &data, &mut progress).await {
                Ok(b) => b,
                Err(error) => return post(&Response::Failed { job, error }),
            };
            let t1 = js_sys::Date::now();
            let mut report_progress = |stage: &str, fraction: f64| {
                progress.report(stage, LOAD_SHARE + (1.0 - LOAD_SHARE) * fraction)
            };
            let result = galaxy_from_bytes(
                &bytes,
                source.name(),
                tensor.as_deref(),
                &params,
                &mut report_progress,
            );
            drop(bytes);
            let timings = Timings {
                load_ms: t1 - t0,
                compute_ms: js_sys::Date::now() - t1,
            };
            post(&match result {
                Ok(report) => Response::GalaxyDone {
                    job,
                    report: Box::new(report),
                    timings,
                    backend: "CPU (wasm)".into(),
                },
                Err(e) => failed(job, &e),
            });
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

fn failed(job: u32, e: &AnalysisError) -> Response {
    Response::Failed { job, error: ErrorReport { kind: e.kind().into(), message: e.to_string() } }
}
