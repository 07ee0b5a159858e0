//! The page's address follows the app's state ([`crate::link::Link`]): on opening, the query
//! chooses the data, page and parameters (and runs the analysis); afterwards every change is
//! written back with `history.replaceState`, so the address is always a link to what is shown.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::data_panel::choose_bundled;
use super::galaxy_page::start_galaxy;
use super::state::{AppState, CloudState, Datasets, FeatureSelection, Page, RunState, Selection};
use crate::link::{Link, LinkSource};
use crate::protocol::ErrorReport;

fn page_name(page: Page) -> &'static str {
    match page {
        Page::Galaxy => "galaxy",
        Page::Lobes => "lobes",
        Page::Crystals => "crystals",
        Page::Compute => "compute",
    }
}

fn page_from_name(name: &str) -> Page {
    match name {
        "lobes" => Page::Lobes,
        "crystals" => Page::Crystals,
        "compute" => Page::Compute,
        _ => Page::Galaxy,
    }
}

/// The link to what `state` shows now (a local file cannot be linked: no source then).
pub fn current_link(state: AppState) -> Link {
    let source = match state.selection.get() {
        Some(Selection::Bundled(entry)) => Some(LinkSource::Bundled(entry.id)),
        Some(Selection::Remote { url, .. }) => Some(LinkSource::Remote(url)),
        Some(Selection::Local { .. }) | None => None,
    };
    Link {
        source,
        tensor: Some(state.tensor.get()).filter(|t| !t.trim().is_empty()),
        page: page_name(state.page.get()).to_string(),
        galaxy: linked_galaxy_params(state),
        lobes: state.lobe_link.get(),
        features: state.feature_selection.get().map(|s| s.features),
        crystals: state.crystals_link.get(),
        camera: matches!(state.cloud.get(), CloudState::Done { .. }).then(|| state.camera.get()),
        neuronpedia: state.neuronpedia_link.get(),
        embed: state.embed.get(),
        budget_mib: state.budget_mib.get(),
        zooms: state.chart_zooms.get(),
    }
}

/// The galaxy parameters a link carries: the page's, with the sample a memory budget chose (so
/// that the link gives the same numbers on a device with more memory).
fn linked_galaxy_params(state: AppState) -> crate::geometry::galaxy::GalaxyParams {
    let mut params = state.galaxy_params.get();
    if params.sample.is_none() {
        if let RunState::Done { report, .. } = state.galaxy.get() {
            params.sample = report.sample.map(|s| s.rows);
        }
    }
    params
}

fn location() -> Option<web_sys::Location> {
    web_sys::window().map(|w| w.location())
}

/// The address of `link`: this page's own address with `link`'s query.
pub fn link_address(link: &Link) -> String {
    let base = location()
        .and_then(|l| Some(format!("{}{}", l.origin().ok()?, l.pathname().ok()?)))
        .unwrap_or_default();
    format!("{base}{}", link.to_query())
}

/// Reads the address's query into `state` (before the pages are built, so that their inputs start
/// from it) and returns the link, whose data is to be chosen once the dataset list is in, with
/// what in the query could not be read (both for [`choose_linked`]).
pub fn read_address(state: AppState) -> (Link, Vec<String>) {
    let query = location().and_then(|l| l.search().ok()).unwrap_or_default();
    let (link, problems) = Link::parse(&query, &current_link_untracked(state));
    state.page.set(page_from_name(&link.page));
    state.tensor.set(link.tensor.clone().unwrap_or_default());
    state.galaxy_params.set(link.galaxy.clone());
    state.embed.set(link.embed);
    state.neuronpedia_link.set(link.neuronpedia.clone());
    state.budget_mib.set(link.budget_mib);
    state.linked_zooms.set_value(link.zooms.clone());
    if let Some(camera) = link.camera {
        state.camera.set(camera);
        state.cloud_from_link.set(true);
    }
    state.lobe_link.set(link.lobes.clone());
    state.crystals_link.set(link.crystals.clone());
    show_problems(state, &problems);
    (link, problems)
}

/// The link's selected features (choosing data clears a selection).
fn select_linked(state: AppState, features: &Option<Vec<u32>>) {
    if let Some(f) = features {
        state.feature_selection.set(Some(FeatureSelection { features: f.clone(), what: format!("{} features from the link", f.len()) }));
    }
}

fn show_problems(state: AppState, problems: &[String]) {
    if !problems.is_empty() {
        state.notice.set(Some(ErrorReport { kind: "link".into(), message: problems.join("; ") }));
    }
}

fn current_link_untracked(state: AppState) -> Link {
    untrack(|| current_link(state))
}

/// Chooses the data the address named: a remote file at once, a bundled dataset when the list
/// has loaded (or says why it cannot); then shows the link's `problems` again (choosing data
/// clears the page's notice).
pub fn choose_linked(state: AppState, link: Link, problems: Vec<String>) {
    let features = link.features;
    let Some(source) = link.source else {
        select_linked(state, &features);
        return;
    };
    match source {
        LinkSource::Remote(url) => {
            choose_remote(state, url);
            show_problems(state, &problems);
            select_linked(state, &features);
        }
        LinkSource::Bundled(id) => {
            let tensor = state.tensor.get_untracked();
            Effect::new(move |done: Option<bool>| {
                if done == Some(true) {
                    return true;
                }
                match state.datasets.get() {
                    Datasets::Loading => false,
                    Datasets::Failed(_) => true,
                    Datasets::Loaded(list) => {
                        match list.into_iter().find(|e| e.id == id) {
                            // The link's tensor, else the manifest's.
                            Some(entry) if entry.kind == "points" => {
                                choose_bundled(state, entry, Some(tensor.clone()).filter(|t| !t.is_empty()));
                                show_problems(state, &problems);
                                select_linked(state, &features);
                            }
                            Some(entry) => state.selection.set(Some(Selection::Bundled(entry))),
                            None => state.notice.set(Some(ErrorReport {
                                kind: "link".into(),
                                message: format!("the link names the dataset '{id}', which this app does not bundle; choose one on the left"),
                            })),
                        }
                        true
                    }
                }
            });
        }
    }
}

/// Selects the file at `url` (read with range requests where its server allows) and analyses it.
pub fn choose_remote(state: AppState, url: String) {
    let name = LinkSource::remote_name(&url);
    state.notice.set(None);
    state.feature_selection.set(None);
    state.local_file.set(None);
    state.selection.set(Some(Selection::Remote { url, name }));
    start_galaxy(state);
}

/// Keeps the address equal to [`current_link`] (replacing, not pushing: one history entry).
pub fn follow_state(state: AppState) {
    // Written at most every 250 ms: dragging the 3D view changes the camera on every mouse move,
    // and browsers ignore a page that rewrites its address hundreds of times a second.
    let pending = StoredValue::new(None::<String>);
    Effect::new(move |_| {
        let query = current_link(state).to_query();
        let scheduled = pending.get_value().is_some();
        pending.set_value(Some(query));
        if scheduled {
            return;
        }
        let write = wasm_bindgen::closure::Closure::once_into_js(move || {
            let Some(query) = pending.try_get_value().flatten() else { return };
            pending.set_value(None);
            let Some(window) = web_sys::window() else { return };
            if window.location().search().ok().as_deref() == Some(query.as_str()) {
                return;
            }
            if let Ok(history) = window.history() {
                let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&query));
            }
        });
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(write.unchecked_ref(), 250);
        }
    });
}

/// A "Copy link" button: copies the address of what is shown, and shows it for copying by hand
/// (a browser may refuse the clipboard).
#[component]
pub fn CopyLink() -> impl IntoView {
    let state = expect_context::<AppState>();
    let shown = RwSignal::new(None::<String>);
    let copy = move |_| {
        let address = link_address(&untrack(|| current_link(state)));
        if let Some(window) = web_sys::window() {
            let clipboard = window.navigator().clipboard();
            let _ = clipboard.write_text(&address);
        }
        shown.set(Some(address));
    };
    let local = move || matches!(state.selection.get(), Some(Selection::Local { .. }));
    view! {
        <div class="copy-link">
            <button data-testid="copy-link" on:click=copy title="Copy a link to this view: the data, page and parameters">"Copy link"</button>
            {move || shown.get().map(|address| view! {
                <input type="text" readonly class="link-text" data-testid="link-text" prop:value=address.clone()
                    on:focus=|ev| { if let Some(i) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) { i.select(); } } />
                {local().then(|| view! { <span class="muted">" A dropped file stays on your machine: the link names no data."</span> })}
            })}
        </div>
    }
}
