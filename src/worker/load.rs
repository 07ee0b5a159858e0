//! Getting the bytes to analyse inside the worker: a URL fetched with byte progress, or a `File`.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ReadableStreamDefaultReader};

use super::{scope, ProgressPoster, LOAD_SHARE};
use crate::protocol::{ErrorReport, Source};

fn fetch_error(url: &str, detail: String) -> ErrorReport {
    ErrorReport {
        kind: "fetch".into(),
        message: format!("could not fetch {url}: {detail}"),
    }
}

fn js_text(v: &JsValue) -> String {
    v.as_string()
        .or_else(|| v.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())))
        .unwrap_or_else(|| format!("{v:?}"))
}

/// The bytes of `source`; `message` is the request object (it carries the `File`).
pub(crate) async fn bytes(
    source: &Source,
    message: &JsValue,
    progress: &mut ProgressPoster,
) -> Result<Vec<u8>, ErrorReport> {
    match source {
        Source::Url { url, .. } => fetch(url, progress).await,
        Source::File { name } => {
            progress.report("reading file", 0.0);
            let file: Blob = Reflect::get(message, &JsValue::from_str("file"))
                .ok()
                .and_then(|f| f.dyn_into::<Blob>().ok())
                .ok_or_else(|| ErrorReport {
                    kind: "bad-request".into(),
                    message: format!("no file came with {name}"),
                })?;
            let buffer = JsFuture::from(file.array_buffer())
                .await
                .map_err(|e| ErrorReport {
                    kind: "read".into(),
                    message: format!(
                        "could not read {name}: {} (the file may be too large for this tab)",
                        js_text(&e)
                    ),
                })?;
            progress.report("reading file", LOAD_SHARE);
            Ok(Uint8Array::new(&buffer).to_vec())
        }
    }
}

async fn fetch(url: &str, progress: &mut ProgressPoster) -> Result<Vec<u8>, ErrorReport> {
    progress.report("downloading", 0.0);
    let response = JsFuture::from(scope().fetch_with_str(url)).await.map_err(|e| {
        fetch_error(
            url,
            format!(
                "{} (the network is down, or the server refused the request; a file on another site \
                 must allow cross-origin requests)",
                js_text(&e)
            ),
        )
    })?;
    let response: web_sys::Response = response.unchecked_into();
    if !response.ok() {
        return Err(fetch_error(
            url,
            format!("HTTP {} {}", response.status(), response.status_text()),
        ));
    }
    let total: Option<f64> = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v > 0.0);
    let Some(body) = response.body() else {
        return Ok(Vec::new());
    };
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut out: Vec<u8> = Vec::with_capacity(total.unwrap_or(0.0).min(1.0e9) as usize);
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| fetch_error(url, js_text(&e)))?;
        let done = Reflect::get(&chunk, &JsValue::from_str("done"))
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
        if done {
            break;
        }
        if let Ok(value) = Reflect::get(&chunk, &JsValue::from_str("value")) {
            let bytes: Uint8Array = value.unchecked_into();
            let start = out.len();
            out.resize(start + bytes.length() as usize, 0);
            bytes.copy_to(&mut out[start..]);
        }
        if let Some(total) = total {
            progress.report("downloading", LOAD_SHARE * (out.len() as f64 / total).min(1.0));
        }
    }
    Ok(out)
}
