//! Downloads: a plot as PNG (the canvas as drawn) or SVG (the same chart drawn again on plotters'
//! SVG backend), a result as CSV or JSON ([`crate::analysis::export`]).

use leptos::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, IntoDrawingArea, SVGBackend};
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;

use super::state::{AppState, Selection};
use super::url_sync::{current_link, link_address};
use crate::analysis::export::Provenance;

/// The width of exported SVG plots, in pixels (the height keeps the canvas's aspect).
pub const SVG_WIDTH: u32 = 960;

/// Saves `href` as `file_name` through a temporary `<a download>`.
fn save(href: &str, file_name: &str) -> Result<(), String> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document.create_element("a").map_err(|e| format!("{e:?}"))?.unchecked_into();
    a.set_href(href);
    a.set_download(file_name);
    a.click();
    Ok(())
}

/// Saves `text` as `file_name` with MIME type `mime`.
pub fn download_text(file_name: &str, mime: &str, text: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(|e| format!("{e:?}"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))?;
    let result = save(&url, file_name);
    // The click has started the download; the object URL may go once this task ends.
    let _ = web_sys::Url::revoke_object_url(&url);
    result
}

/// Saves the canvas as a PNG.
pub fn download_png(canvas: &HtmlCanvasElement, file_name: &str) -> Result<(), String> {
    let url = canvas.to_data_url_with_type("image/png").map_err(|e| format!("{e:?}"))?;
    save(&url, file_name)
}

/// Draws a chart on an SVG string [`SVG_WIDTH`] wide and `aspect` times as high.
pub fn svg_of<E: std::fmt::Debug>(aspect: f64, draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), E>) -> Result<String, String> {
    let mut text = String::new();
    {
        let size = (SVG_WIDTH, (SVG_WIDTH as f64 * aspect).round() as u32);
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        draw(&root).map_err(|e| format!("{e:?}"))?;
        root.present().map_err(|e| format!("{e:?}"))?;
    }
    Ok(text)
}

/// The file name stem for exports of `input` (a file name or URL): its base name without the
/// extension, then `-what`.
pub fn stem_for(input: &str, what: &str) -> String {
    let base = input.rsplit(['/', '\\']).next().unwrap_or(input);
    format!("{}-{what}", base.split('.').next().unwrap_or(base))
}

/// Where the shown result came from, for the files exported.
pub fn provenance(state: AppState) -> Provenance {
    let data = match state.selection.get_untracked() {
        Some(Selection::Bundled(e)) => format!("bundled dataset '{}' ({}): {}", e.id, e.file, e.source),
        Some(Selection::Remote { url, .. }) => format!("file on the web: {url}"),
        Some(Selection::Local { name, bytes }) => format!("local file {name} ({bytes} bytes)"),
        None => "no data chosen".into(),
    };
    let link = untrack(|| current_link(state));
    Provenance::new(data, link.source.is_some().then(|| link_address(&link)))
}

/// A row of download buttons for one plot or table: PNG of `canvas`, and SVG, CSV and JSON where
/// given. `stem` names the files. A failure is shown beside the buttons.
#[component]
pub fn ExportBar(
    #[prop(into)] stem: Signal<String>,
    #[prop(optional)] canvas: Option<NodeRef<leptos::html::Canvas>>,
    #[prop(optional, into)] svg: Option<Callback<(), Result<String, String>>>,
    #[prop(optional, into)] csv: Option<Callback<(), Result<String, String>>>,
    #[prop(optional, into)] json: Option<Callback<(), Result<String, String>>>,
    #[prop(into)] testid: String,
) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let for_text = testid.clone();
    let text_button = move |label: &'static str, ext: &'static str, mime: &'static str, make: Callback<(), Result<String, String>>| {
        let id = format!("{for_text}-{ext}");
        view! {
            <button class="export" data-testid=id title=format!("Download as {label}") on:click=move |_| {
                let result = make.run(()).and_then(|text| download_text(&format!("{}.{ext}", stem.get_untracked()), mime, &text));
                error.set(result.err());
            }>{label}</button>
        }
    };
    let png = canvas.map(|canvas| {
        let id = format!("{testid}-png");
        view! {
            <button class="export" data-testid=id title="Download the plot as PNG" on:click=move |_| {
                let result = canvas.get_untracked().ok_or_else(|| "the plot is not drawn".to_string())
                    .and_then(|c| download_png(&c, &format!("{}.png", stem.get_untracked())));
                error.set(result.err());
            }>"PNG"</button>
        }
    });
    view! {
        <div class="export-bar">
            <span class="muted">"Download: "</span>
            {png}
            {svg.map(|f| text_button("SVG", "svg", "image/svg+xml", f))}
            {csv.map(|f| text_button("CSV", "csv", "text/csv", f))}
            {json.map(|f| text_button("JSON", "json", "application/json", f))}
            {move || error.get().map(|e| view! { <span class="error" role="alert">{format!("could not export: {e}")}</span> })}
        </div>
    }
}
