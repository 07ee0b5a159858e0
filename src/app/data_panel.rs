//! The data panel: the bundled datasets of `data/manifest.json`, and a drop zone for local files.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DragEvent, File, HtmlInputElement};

use super::galaxy_page::start_galaxy;
use super::bridge;
use super::state::{AppState, Datasets, InspectState, Page, Selection};
use super::status::error_line;
use crate::formats::manifest::{self, DatasetEntry};
use crate::protocol::{ErrorReport, Source};

/// Where the app finds its bundled datasets (relative to the page, so sub-paths work).
pub const MANIFEST_URL: &str = "data/manifest.json";


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

/// Selects a bundled dataset and analyses its `tensor` (`None`: the one the manifest names).
pub(super) fn choose_bundled(state: AppState, entry: DatasetEntry, tensor: Option<String>) {
    state.notice.set(None);
    state.local_file.set(None);
    state.feature_selection.set(None);
    state.tensor.set(tensor.unwrap_or_else(|| entry.tensor.clone()));
    state.selection.set(Some(Selection::Bundled(entry)));
    start_galaxy(state);
}

/// Takes a dropped or chosen file: selects and analyses it. A file of any size is taken: the
/// worker streams a large one and keeps what fits the tab's memory budget (a disclosed sample).
fn choose_file(state: AppState, file: File) {
    let name = file.name();
    let size = file.size();
    state.notice.set(None);
    state.feature_selection.set(None);
    state.tensor.set(String::new());
    state.local_file.set(Some(file));
    state.selection.set(Some(Selection::Local {
        name,
        bytes: size as u64,
    }));
    start_galaxy(state);
}

/// Takes dropped or chosen files: word pairs (`.json`, with a vocabulary `.txt`) dropped together
/// with their vectors go to the crystals page; else the one decoder file is analysed.
fn take_files(state: AppState, files: Vec<File>) {
    let words = |f: &File| {
        let name = f.name().to_lowercase();
        name.ends_with(".json") || name.ends_with(".txt")
    };
    if files.len() >= 2 && files.iter().any(words) {
        state.notice.set(None);
        state.dropped_crystal_files.set(Some(files));
        state.page.set(Page::Crystals);
        return;
    }
    match &files[..] {
        [] => {}
        [file] if file.name().to_lowercase().ends_with(".json") => state.notice.set(Some(ErrorReport {
            kind: "word-pairs-alone".into(),
            message: format!(
                "{} looks like word pairs: they need their word vectors, so drop or choose both together \
                 (the vectors .npy/.npz/.safetensors and the .json); the crystals page analyses them",
                file.name()
            ),
        })),
        [file] => choose_file(state, file.clone()),
        _ => state.notice.set(Some(ErrorReport {
            kind: "several-files".into(),
            message: format!(
                "{} files came: drop one decoder (.npy, .npz or .safetensors), or the vectors with their word \
                 pairs (.json) for the crystals page",
                files.len()
            ),
        })),
    }
}

#[component]
pub fn DataPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let dragging = RwSignal::new(false);

    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if let Some(list) = ev.data_transfer().and_then(|d| d.files()) {
            take_files(state, (0..list.length()).filter_map(|i| list.get(i)).collect());
        }
    };
    let on_choose = move |ev: leptos::ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        if let Some(list) = input.files() {
            take_files(state, (0..list.length()).filter_map(|i| list.get(i)).collect());
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
                    let (points, others): (Vec<_>, Vec<_>) = list.into_iter().partition(|e| e.kind == "points");
                    let mut groups: Vec<(String, Vec<DatasetEntry>)> = Vec::new();
                    let mut single = Vec::new();
                    for entry in points {
                        match entry.group.clone() {
                            Some(g) => match groups.iter_mut().find(|(name, _)| *name == g) {
                                Some((_, members)) => members.push(entry),
                                None => groups.push((g, vec![entry])),
                            },
                            None => single.push(entry),
                        }
                    }
                    for (_, members) in &mut groups {
                        members.sort_by_key(|e| e.layer);
                    }
                    view! {
                        <ul class="datasets">
                            {groups.into_iter().map(|(name, members)| view! { <DatasetGroup name members /> }).collect_view()}
                            {single.into_iter().map(|entry| view! { <DatasetItem entry /> }).collect_view()}
                        </ul>
                        {(!others.is_empty()).then(|| view! { <OtherBundles entries=others /> })}
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
                <span>"Drop a .npy, .npz (Gemma Scope params.npz) or .safetensors (SAELens) decoder here, or click to choose one; "
                    "or word vectors with their word pairs (.json, and a vocabulary .txt) for the crystals page. They stay on your machine."</span>
                <input type="file" multiple accept=".npy,.npz,.safetensors,.json,.txt" data-testid="file-input" on:change=on_choose />
            </label>
            <RemoteForm />
            {move || match state.selection.get() {
                Some(Selection::Local { name, bytes }) => {
                    view! { <p class="local-file">"Local file: " <code>{name}</code> " (" {megabytes(bytes as f64)} ")"</p> }.into_any()
                }
                Some(Selection::Remote { url, .. }) => {
                    view! { <p class="local-file" data-testid="remote-file">"From the web: " <code>{url}</code></p> }.into_any()
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
            <button data-testid=testid on:click=move |_| choose_bundled(state, entry.clone(), None)>
                <span class="title">{title}</span>
                <span class="shape">{shape}</span>
            </button>
            <p class="description">{description}</p>
            <p class="source">"Source: " {source}</p>
        </li>
    }
}

/// One model's datasets, one per layer: a row of layer buttons and the chosen one's description.
#[component]
fn DatasetGroup(name: String, members: Vec<DatasetEntry>) -> impl IntoView {
    let state = expect_context::<AppState>();
    let ids: Vec<String> = members.iter().map(|e| e.id.clone()).collect();
    let ids = StoredValue::new(ids);
    let selected = move || match state.selection.get() {
        Some(Selection::Bundled(d)) if ids.with_value(|ids| ids.contains(&d.id)) => Some(d),
        _ => None,
    };
    let first = members.first().cloned();
    let heading = first.as_ref().map(|e| e.title.split(':').nth(1).unwrap_or(&e.title).trim().to_string()).unwrap_or_default();
    let shape = first.as_ref().map(|e| format!("{} × {}, {}, {} each", e.n, e.d, e.dtype, megabytes(e.bytes as f64))).unwrap_or_default();
    view! {
        <li class="dataset group" class:selected=move || selected().is_some() data-group=name>
            <span class="title">{heading}</span>
            <span class="shape">{shape}</span>
            <div class="layers">
                "Layer "
                {members.into_iter().map(|entry| {
                    let id = entry.id.clone();
                    let label = entry.layer.map(|l| l.to_string()).unwrap_or_else(|| entry.id.clone());
                    let is_selected = move || matches!(state.selection.get(), Some(Selection::Bundled(ref d)) if d.id == id);
                    view! {
                        <button class="layer" class:selected=is_selected data-testid=format!("dataset-{}", entry.id)
                            on:click=move |_| choose_bundled(state, entry.clone(), None)>{label}</button>
                    }
                }).collect_view()}
            </div>
            {move || selected().map(|d| view! { <p class="description">{d.description}</p><p class="source">"Source: " {d.source}</p> })}
        </li>
    }
}

/// Bundles the galaxy page does not analyse (co-occurrence, crystals): listed, and readable for
/// a summary.
#[component]
fn OtherBundles(entries: Vec<DatasetEntry>) -> impl IntoView {
    let state = expect_context::<AppState>();
    let count = entries.len();
    view! {
        <details class="other-bundles">
            <summary>{format!("Co-occurrence and crystal bundles ({count})")}</summary>
            <p class="muted">"Inputs of the lobe and crystal analyses. Click one to read and check it."</p>
            <ul>
                {entries.into_iter().map(|entry| {
                    let source = Source::Url { url: format!("data/{}", entry.file), name: entry.file.clone() };
                    view! {
                        <li>
                            <button class="link" data-testid=format!("inspect-{}", entry.id) title=entry.description.clone()
                                on:click=move |_| bridge::run_inspect(source.clone())>{entry.title.clone()}</button>
                            <span class="shape">{format!(" {}", megabytes(entry.bytes as f64))}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
            {move || match state.inspect.get() {
                InspectState::Idle => ().into_any(),
                InspectState::Running { name, .. } => view! { <p class="muted">{format!("Reading {name}…")}</p> }.into_any(),
                InspectState::Failed(e) => error_line(e, "", "inspect-error"),
                InspectState::Done(summary) => view! {
                    <dl class="bundle-summary" data-testid="bundle-summary" data-kind=summary.kind.clone() data-input=summary.input.clone()>
                        {summary.facts.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                    </dl>
                }.into_any(),
            }}
        </details>
    }
}

/// A box for the address of a file on the web: read with range requests where its server allows
/// (only the decoder tensor of a safetensors file is downloaded); the server must allow
/// cross-origin requests.
#[component]
fn RemoteForm() -> impl IntoView {
    let state = expect_context::<AppState>();
    let url = RwSignal::new(String::new());
    let load = move || {
        let text = url.get_untracked().trim().to_string();
        if !text.is_empty() {
            super::url_sync::choose_remote(state, text);
        }
    };
    view! {
        <form class="remote" on:submit=move |ev| { ev.prevent_default(); load(); }>
            <label for="remote-url"><strong>"A file on the web"</strong></label>
            <input id="remote-url" type="url" placeholder="https://…/params.safetensors" data-testid="remote-url"
                prop:value=url on:input=move |ev| url.set(event_target_value(&ev)) />
            <button type="submit" data-testid="remote-load">"Load"</button>
        </form>
    }
}
