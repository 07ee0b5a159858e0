//! The leptos app (wasm only): a data panel, one page per scale, plots on canvas, and the bridge
//! to the compute worker. The UI thread never runs an analysis.

mod bridge;
mod chart_canvas;
mod cloud_view;
mod compute_page;
mod crystals_page;
mod data_panel;
mod export;
mod galaxy_page;
mod layer_sweep;
mod lobes_page;
pub mod plots;
mod state;
mod selection_bar;
mod status;
mod url_sync;

use leptos::prelude::*;

pub use state::{AppState, Page, RunState, Selection};

/// Mounts the app on `<body>`.
pub fn mount() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

/// The whole page: header, data panel, and the galaxy page.
#[component]
pub fn App() -> impl IntoView {
    let state = AppState::new();
    provide_context(state);
    let (link, problems) = url_sync::read_address(state);
    bridge::install(state);
    data_panel::load_manifest(state);
    url_sync::choose_linked(state, link, problems);
    url_sync::follow_state(state);

    view! {
        <div class="app" class:embed=move || state.embed.get()>
        <header class="top">
            <h1>"sae-geometry"</h1>
            <p class="tagline">
                "The Geometry of Concepts: Sparse Autoencoder Feature Structure (Li et al. 2024), computed in your browser"
            </p>
            <nav class="scales">
                {[(Page::Galaxy, "Galaxy", "tab-galaxy"), (Page::Lobes, "Lobes", "tab-lobes"), (Page::Crystals, "Crystals", "tab-crystals"), (Page::Compute, "Compute", "tab-compute")].into_iter().map(|(page, label, id)| view! {
                    <button class="tab" class:active=move || state.page.get() == page data-testid=id
                        attr:aria-current=move || (state.page.get() == page).then_some("page")
                        on:click=move |_| state.page.set(page)>{label}</button>
                }).collect_view()}
            </nav>
            <compute_page::BackendSelect />
            <url_sync::CopyLink />
        </header>
        <main class="layout">
            <data_panel::DataPanel />
            <div class="pages">
                <selection_bar::SelectionBar />
                <div class:hidden=move || state.page.get() != Page::Galaxy><galaxy_page::GalaxyPage /></div>
                <div class:hidden=move || state.page.get() != Page::Lobes><lobes_page::LobesPage /></div>
                <div class:hidden=move || state.page.get() != Page::Crystals><crystals_page::CrystalsPage /></div>
                <div class:hidden=move || state.page.get() != Page::Compute><compute_page::ComputePage /></div>
            </div>
        </main>
        {move || state.embed.get().then(|| {
            let full = url_sync::link_address(&crate::link::Link { embed: false, ..url_sync::current_link(state) });
            view! { <a class="embed-credit" data-testid="embed-credit" href=full target="_blank" rel="noopener">"open in sae-geometry ↗"</a> }
        })}
        </div>
    }
}
