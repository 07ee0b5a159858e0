//! The data panel: the bundled datasets of `data/manifest.json`, and a drop zone for local files.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DragEvent, File, HtmlInputElement};

use super::galaxy_page::start_galaxy;
use super::state::{AppState, Datasets, Selection};
use crate::formats::manifest::{self, DatasetEntry};
use crate::protocol::ErrorReport;

/// Where the app finds its bundled datasets (relative to the page, so sub-paths work).
pub const MANIFEST_URL: &str = "data/manifest.json";

/// Files larger than this are refused before reading: a wasm32 tab holds at most 4 GiB, and the
/// analysis needs the file, the f32 matrix and its workspace at once.
pub const MAX_FILE_BYTES: f64 = 1.5 * 1024.0 * 1024.0 * 1024.0;

/// Fetches and parses the manifest into `state.datasets`.
pub fn load_manifest(state: AppState) {
    leptos::task::spawn_local(async move {
        let result = fetch_text(MANIFEST_URL).await.and_then(|text| {
            manifest::parse(&text).map_err(|e| format!("{MANIFEST_URL} is not a valid manifest: {e}"))
        });
        state.datasets.set(match result {
            Ok(m) => Datasets::Loaded(m.datasets),
            Err(e) => Datasets::Failed(e),
        });
    });
}

async fn fetch_text(url: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| format!("could not fetch {url}: {e:?}"))?;
    let response: web_sys::Response = response.unchecked_into();
    if !response.ok() {
        return Err(format!(
            "could not fetch {url}: HTTP {} {}",
            response.status(),
            response.status_text()
        ));
    }
    let text = JsFuture::from(response.text().map_err(|e| format!("{e:?}"))?)
        .await
        .map_err(|e| format!("could not read {url}: {e:?}"))?;
    text.as_string().ok_or_else(|| format!("{url} is not text"))
}

fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1.0e6)
}

/// Selects a bundled dataset and analyses it.
fn choose_bundled(state: AppState, entry: DatasetEntry) {
    state.notice.set(None);
    state.local_file.set(None);
    state.tensor.set(entry.tensor.clone());
    state.selection.set(Some(Selection::Bundled(entry)));
    start_galaxy(state);
}

/// Takes a dropped or chosen file: refuses what cannot fit, else selects and analyses it.
fn choose_file(state: AppState, file: File) {
    let name = file.name();
    let size = file.size();
    if size > MAX_FILE_BYTES {
        state.notice.set(Some(ErrorReport {
            kind: "too-large".into(),
            message: format!(
                "{name} is {} and this tab can analyse files up to {}: save a subset of the rows \
                 (e.g. 16k features) or the decoder alone in f16, and drop that",
                megabytes(size),
                megabytes(MAX_FILE_BYTES)
            ),
        }));
        return;
    }
    state.notice.set(None);
    state.tensor.set(String::new());
    state.local_file.set(Some(file));
    state.selection.set(Some(Selection::Local {
        name,
        bytes: size as u64,
    }));
    start_galaxy(state);
}

#[component]
pub fn DataPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let dragging = RwSignal::new(false);

    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if let Some(file) = ev.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0)) {
            choose_file(state, file);
        }
    };
    let on_choose = move |ev: leptos::ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        if let Some(file) = input.files().and_then(|f| f.get(0)) {
            choose_file(state, file);
        }
        input.set_value("");
    };

    view! {
        <aside class="data-panel">
            <h2>"Data"</h2>
            {move || match state.datasets.get() {
                Datasets::Loading => view! { <p class="muted">"Loading the dataset list…"</p> }.into_any(),
                Datasets::Failed(message) => {
                    view! { <p class="error" role="alert" data-testid="manifest-error">{message}</p> }.into_any()
                }
                Datasets::Loaded(list) => {
                    view! {
                        <ul class="datasets">
                            {list.into_iter().map(|entry| view! { <DatasetItem entry /> }).collect_view()}
                        </ul>
                    }
                        .into_any()
                }
            }}
            <label
                class="drop-zone"
                class:dragging=move || dragging.get()
                data-testid="drop-zone"
                on:dragover=move |ev: DragEvent| {
                    ev.prevent_default();
                    dragging.set(true);
                }
                on:dragleave=move |_| dragging.set(false)
                on:drop=on_drop
            >
                <strong>"Your own file"</strong>
                <span>"Drop a .npy, .npz (Gemma Scope params.npz) or .safetensors (SAELens) decoder here, or click to choose one. It stays on your machine."</span>
                <input type="file" accept=".npy,.npz,.safetensors" data-testid="file-input" on:change=on_choose />
            </label>
            {move || match state.selection.get() {
                Some(Selection::Local { name, bytes }) => {
                    view! { <p class="local-file">"Local file: " <code>{name}</code> " (" {megabytes(bytes as f64)} ")"</p> }.into_any()
                }
                _ => ().into_any(),
            }}
        </aside>
    }
}

#[component]
fn DatasetItem(entry: DatasetEntry) -> impl IntoView {
    let state = expect_context::<AppState>();
    let id = entry.id.clone();
    let selected = move || matches!(state.selection.get(), Some(Selection::Bundled(ref d)) if d.id == id);
    let shape = format!(
        "{} × {}, {}, {}",
        entry.n,
        entry.d,
        entry.dtype,
        megabytes(entry.bytes as f64)
    );
    let testid = format!("dataset-{}", entry.id);
    let title = entry.title.clone();
    let description = entry.description.clone();
    let source = entry.source.clone();
    view! {
        <li class="dataset" class:selected=selected>
            <button data-testid=testid on:click=move |_| choose_bundled(state, entry.clone())>
                <span class="title">{title}</span>
                <span class="shape">{shape}</span>
            </button>
            <p class="description">{description}</p>
            <p class="source">"Source: " {source}</p>
        </li>
    }
}
