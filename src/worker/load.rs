//! Getting the bytes to analyse inside the worker: a URL fetched with byte progress, or a `File`.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, Headers, ReadableStreamDefaultReader, RequestInit};

use super::{scope, ProgressPoster, LOAD_SHARE};
use crate::formats::partial::{parse_content_range, plan_matrix_read, MatrixPlan, FIRST_BYTES, MAX_BROWSER_BYTES};
use crate::link::LinkSource;
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
            // A job with several local files has them under their names in `files`; one file
            // comes as `file`.
            let file = blob_of(name, message)?;
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

/// The bytes of the one matrix a job reads from `source` (`tensor`, or the default choice of
/// [`crate::formats::read_matrix`]), continuing from the URL's [`first_answer`] when it was
/// already asked for. A URL is read with HTTP range requests where its server allows them: its
/// first 64 kB, the rest of a safetensors header if longer, then only the chosen tensor, behind a
/// header of its own (so a SAELens file's encoder is never downloaded). A server that ignores
/// ranges sends the whole file, which is read as it comes. A `File` is read whole.
pub(crate) async fn matrix_bytes_after(
    source: &Source,
    tensor: Option<&str>,
    message: &JsValue,
    first: Option<web_sys::Response>,
    progress: &mut ProgressPoster,
) -> Result<Vec<u8>, ErrorReport> {
    match source {
        Source::Url { url, name } => {
            let first = match first {
                Some(f) => f,
                None => first_answer(url, progress).await?,
            };
            fetch_matrix(url, name, tensor, first, progress).await
        }
        Source::File { .. } => bytes(source, message, progress).await,
    }
}

/// The first request for `url`: its first 64 kB where the server answers ranges (status 206, with
/// the file's size: [`ranged_size`]), else the whole file (200), its body not yet read. Refusals
/// (CORS, 404, other statuses, the network) are named errors.
pub(crate) async fn first_answer(url: &str, progress: &mut ProgressPoster) -> Result<web_sys::Response, ErrorReport> {
    progress.report("downloading", 0.0);
    request(url, Some((0, FIRST_BYTES - 1))).await
}

/// The file's size from a [`first_answer`] that was a range (206); `None` when the server sent the
/// whole file or did not say its size.
pub(crate) fn ranged_size(first: &web_sys::Response) -> Option<u64> {
    if first.status() != 206 {
        return None;
    }
    header(first, "content-range").and_then(|v| parse_content_range(&v)).and_then(|(_, _, total)| total)
}

async fn fetch_matrix(
    url: &str,
    name: &str,
    tensor: Option<&str>,
    first: web_sys::Response,
    progress: &mut ProgressPoster,
) -> Result<Vec<u8>, ErrorReport> {
    if first.status() != 206 {
        // The server ignored the range and is sending the whole file.
        return read_body(url, first, progress, "downloading").await;
    }
    let total = header(&first, "content-range")
        .and_then(|v| parse_content_range(&v))
        .and_then(|(_, _, total)| total);
    let mut prefix = read_body(url, first, &mut ProgressPoster::silent(), "").await?;
    loop {
        let plan = plan_matrix_read(&prefix, total, name, tensor).map_err(|e| ErrorReport {
            kind: e.kind().into(),
            message: format!("{name}: {e}"),
        })?;
        match plan {
            MatrixPlan::MoreHeader { end } => {
                let rest = range(url, prefix.len() as u64, end, &mut ProgressPoster::silent(), "").await?;
                prefix.extend_from_slice(&rest);
            }
            MatrixPlan::Whole => {
                let have = prefix.len() as u64;
                // The first answer was the whole file when the server said so, or sent less than asked.
                if total.map_or(have < FIRST_BYTES, |t| have >= t) {
                    return Ok(prefix);
                }
                if let Some(t) = total.filter(|t| *t > MAX_BROWSER_BYTES) {
                    return Err(too_large(name, "the file", t));
                }
                let end = total.unwrap_or(u64::MAX);
                let rest = range(url, have, end, progress, "downloading").await?;
                prefix.extend_from_slice(&rest);
                return Ok(prefix);
            }
            MatrixPlan::Tensor { tensor, range: span, mut header } => {
                let len = span.end - span.start;
                if len > MAX_BROWSER_BYTES {
                    return Err(too_large(name, &format!("its tensor '{tensor}'"), len));
                }
                let data = if span.end <= prefix.len() as u64 {
                    prefix[span.start as usize..span.end as usize].to_vec()
                } else {
                    drop(prefix);
                    range(url, span.start, span.end, progress, &format!("downloading {tensor}")).await?
                };
                if data.len() as u64 != len {
                    return Err(fetch_error(url, format!("the server sent {} bytes of tensor '{tensor}', not {len}", data.len())));
                }
                header.extend_from_slice(&data);
                return Ok(header);
            }
        }
    }
}

fn too_large(name: &str, what: &str, bytes: u64) -> ErrorReport {
    ErrorReport {
        kind: "too-large".into(),
        message: format!(
            "{name}: {what} is {:.1} MB and this tab analyses at most {:.1} MB: save a subset of the \
             rows (e.g. 16k features) or the decoder alone in f16, and load that",
            bytes as f64 / 1e6,
            MAX_BROWSER_BYTES as f64 / 1e6
        ),
    }
}

fn header(response: &web_sys::Response, name: &str) -> Option<String> {
    response.headers().get(name).ok().flatten()
}

/// GETs `url`, asking for bytes `first..=last` when given; fails on anything but 200 and 206.
async fn request(url: &str, bytes: Option<(u64, u64)>) -> Result<web_sys::Response, ErrorReport> {
    let init = RequestInit::new();
    if let Some((first, last)) = bytes {
        let headers = Headers::new().map_err(|e| fetch_error(url, js_text(&e)))?;
        let value = if last == u64::MAX { format!("bytes={first}-") } else { format!("bytes={first}-{last}") };
        headers.set("Range", &value).map_err(|e| fetch_error(url, js_text(&e)))?;
        init.set_headers(&headers);
    }
    let response = JsFuture::from(scope().fetch_with_str_and_init(url, &init)).await.map_err(|e| {
        fetch_error(
            url,
            format!(
                "{} (the network is down, or the server refused the request; a file on another site \
                 must allow cross-origin requests: Access-Control-Allow-Origin)",
                js_text(&e)
            ),
        )
    })?;
    let response: web_sys::Response = response.unchecked_into();
    match response.status() {
        200 | 206 => Ok(response),
        404 => Err(fetch_error(url, "HTTP 404 Not Found: there is no file at this address".into())),
        status => Err(fetch_error(url, format!("HTTP {status} {}", response.status_text()))),
    }
}

/// Bytes `start..end` of `url` (`end` = u64::MAX: to the end of the file). A server that answers
/// with the whole file instead is read whole and cut.
async fn range(
    url: &str,
    start: u64,
    end: u64,
    progress: &mut ProgressPoster,
    stage: &str,
) -> Result<Vec<u8>, ErrorReport> {
    let last = if end == u64::MAX { u64::MAX } else { end - 1 };
    let response = request(url, Some((start, last))).await?;
    let whole = response.status() == 200;
    let mut bytes = read_body(url, response, progress, stage).await?;
    if whole {
        let end = (end.min(bytes.len() as u64)) as usize;
        bytes = bytes.get(start as usize..end).map(<[u8]>::to_vec).unwrap_or_default();
    }
    Ok(bytes)
}

async fn fetch(url: &str, progress: &mut ProgressPoster) -> Result<Vec<u8>, ErrorReport> {
    progress.report("downloading", 0.0);
    let response = request(url, None).await?;
    read_body(url, response, progress, "downloading").await
}

/// Reads `response`'s body, reporting `stage` with the megabytes read (and of how many, when the
/// server said) on the loading share of `progress`. Refuses a body the server declares larger
/// than a tab can analyse before reading it.
async fn read_body(
    url: &str,
    response: web_sys::Response,
    progress: &mut ProgressPoster,
    stage: &str,
) -> Result<Vec<u8>, ErrorReport> {
    let total: Option<f64> = header(&response, "content-length")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v > 0.0);
    if let Some(t) = total.filter(|t| *t > MAX_BROWSER_BYTES as f64) {
        return Err(too_large(&LinkSource::remote_name(url), "the file", t as u64));
    }
    let Some(body) = response.body() else {
        return Ok(Vec::new());
    };
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut out: Vec<u8> = Vec::with_capacity(total.unwrap_or(0.0).min(1.0e9) as usize);
    let mut shown = 0.0;
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
            if start as u64 + bytes.length() as u64 > MAX_BROWSER_BYTES {
                return Err(too_large(&LinkSource::remote_name(url), "the file", start as u64 + bytes.length() as u64));
            }
            out.resize(start + bytes.length() as usize, 0);
            bytes.copy_to(&mut out[start..]);
        }
        // Once per 0.5% of the download (or 4 MB when its size is unknown): the text changes with
        // every chunk, and each report is a message to the UI.
        let mb = out.len() as f64 / 1e6;
        let fraction = total.map(|t| (out.len() as f64 / t).min(1.0));
        let step = fraction.map_or(mb - shown >= 4.0, |f| f - shown >= 0.005);
        if step && !stage.is_empty() {
            shown = fraction.unwrap_or(mb);
            let text = match total {
                Some(t) => format!("{stage} ({mb:.1} of {:.1} MB)", t / 1e6),
                None => format!("{stage} ({mb:.1} MB)"),
            };
            progress.report(&text, LOAD_SHARE * fraction.unwrap_or(0.0));
        }
    }
    Ok(out)
}

/// Files at most this large (with no sample asked for) are read whole, as before; larger ones are
/// streamed when they can be ([`range_reader`]).
pub(crate) const STREAM_ABOVE: u64 = 64 << 20;

/// The size of `source` and a reader of its byte ranges: a `File` through `FileReaderSync` on
/// `Blob.slice`, a URL through synchronous `Range` requests (this is a worker: blocking it blocks
/// nothing else). A URL's size comes from its [`first_answer`] (`url_size`, [`ranged_size`]):
/// `Ok(None)` when its server did not answer with a range.
pub(crate) fn range_reader(
    source: &Source,
    url_size: Option<u64>,
    message: &JsValue,
) -> Result<Option<(u64, crate::formats::range_reader::RangeReader<'static>)>, ErrorReport> {
    use crate::formats::range_reader::RangeReader;
    use std::io;
    let io_error = |what: String| io::Error::other(what);
    match source {
        Source::File { name } => {
            let blob = blob_of(name, message)?;
            let len = blob.size() as u64;
            let reader = web_sys::FileReaderSync::new().map_err(|e| ErrorReport {
                kind: "read".into(),
                message: format!("could not read {name}: {}", js_text(&e)),
            })?;
            let name = name.clone();
            Ok(Some((
                len,
                RangeReader::new(len, move |start, count| {
                    let part = blob
                        .slice_with_f64_and_f64(start as f64, (start + count as u64) as f64)
                        .map_err(|e| io_error(js_text(&e)))?;
                    let buffer = reader
                        .read_as_array_buffer(&part)
                        .map_err(|e| io_error(format!("could not read {name}: {}", js_text(&e))))?;
                    Ok(Uint8Array::new(&buffer).to_vec())
                }),
            )))
        }
        Source::Url { url, .. } => {
            let Some(total) = url_size else { return Ok(None) };
            let url = url.clone();
            Ok(Some((
                total,
                RangeReader::new(total, move |start, count| match sync_range(&url, start, count) {
                    Ok(Some((206, _, bytes))) => Ok(bytes),
                    Ok(Some((status, _, _))) => Err(io_error(format!("the server answered {status} to a range request"))),
                    Ok(None) => Err(io_error("no answer".into())),
                    Err(e) => Err(io_error(e)),
                }),
            )))
        }
    }
}

/// One synchronous `GET` of bytes `start..start + count` of `url`: the status, the file's total
/// size from `Content-Range`, and the body.
fn sync_range(url: &str, start: u64, count: usize) -> Result<Option<(u16, Option<u64>, Vec<u8>)>, String> {
    let xhr = web_sys::XmlHttpRequest::new().map_err(|e| js_text(&e))?;
    xhr.open_with_async("GET", url, false).map_err(|e| js_text(&e))?;
    xhr.set_request_header("Range", &format!("bytes={start}-{}", start + count as u64 - 1)).map_err(|e| js_text(&e))?;
    xhr.set_response_type(web_sys::XmlHttpRequestResponseType::Arraybuffer);
    xhr.send().map_err(|e| format!("{} (a network error, or the server does not allow this page to read it: CORS)", js_text(&e)))?;
    let status = xhr.status().map_err(|e| js_text(&e))?;
    if status == 0 {
        return Err("no answer (a network error, or the server does not allow this page to read it: CORS)".into());
    }
    let total = xhr
        .get_response_header("content-range")
        .ok()
        .flatten()
        .and_then(|v| parse_content_range(&v))
        .and_then(|(_, _, total)| total);
    let body = xhr.response().map_err(|e| js_text(&e))?;
    let bytes = body.dyn_ref::<js_sys::ArrayBuffer>().map(|b| Uint8Array::new(b).to_vec()).unwrap_or_default();
    Ok(Some((status, total, bytes)))
}

/// The `Blob` a job's message carries for the local file `name`.
fn blob_of(name: &str, message: &JsValue) -> Result<Blob, ErrorReport> {
    let named = Reflect::get(message, &JsValue::from_str("files"))
        .ok()
        .filter(|f| f.is_object())
        .and_then(|files| Reflect::get(&files, &JsValue::from_str(name)).ok())
        .and_then(|f| f.dyn_into::<Blob>().ok());
    named
        .or_else(|| Reflect::get(message, &JsValue::from_str("file")).ok().and_then(|f| f.dyn_into::<Blob>().ok()))
        .ok_or_else(|| ErrorReport { kind: "bad-request".into(), message: format!("no file came with {name}") })
}
