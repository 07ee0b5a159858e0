//! The selected features (a lobe, a box on the lobe map, a link's list), shown above every page:
//! how many, what they are, their indices as a file, and a way to clear them. Every plot of the
//! features draws them in colour and the rest grey.

use leptos::prelude::*;

use super::export::{download_text, provenance};
use super::state::AppState;
use crate::analysis::export::feature_list_csv;
use crate::neuronpedia::NeuronpediaSae;

/// How many selected features get a Neuronpedia link in the bar.
const NEURONPEDIA_LINKS: usize = 12;

/// Links to the first selected features' pages on Neuronpedia, when the SAE is known there.
fn neuronpedia_links(sae: Option<NeuronpediaSae>, features: &[u32]) -> Option<impl IntoView> {
    let sae = sae?;
    let more = features.len().saturating_sub(NEURONPEDIA_LINKS);
    let links = features
        .iter()
        .take(NEURONPEDIA_LINKS)
        .map(|&f| view! { " " <a href=sae.feature_url(f) target="_blank" rel="noopener" data-testid="neuronpedia-link">{f.to_string()}</a> })
        .collect_view();
    Some(view! {
        <span class="neuronpedia" title=format!("Each feature's top activations and explanations on Neuronpedia ({})", sae.id())>
            "On Neuronpedia:" {links} {(more > 0).then(|| format!(" and {more} more"))}
        </span>
    })
}

#[component]
pub fn SelectionBar() -> impl IntoView {
    let state = expect_context::<AppState>();
    let error = RwSignal::new(None::<String>);
    let download = move |_| {
        let Some(selection) = state.feature_selection.get_untracked() else { return };
        let text = feature_list_csv(&selection.features, &selection.what, &provenance(state));
        error.set(download_text("selected-features.csv", "text/csv", &text).err());
    };
    move || {
        state.feature_selection.get().map(|s| {
            let count = s.features.len();
            view! {
                <div class="selection-bar" data-testid="selection-bar" data-count=count.to_string() role="status">
                    <strong>{format!("Selected: {} ({count} feature{})", s.what, if count == 1 { "" } else { "s" })}</strong>
                    <span class="muted">" in colour on the lobe map and the 3D view; the rest grey. "</span>
                    <button class="export" data-testid="selection-csv" on:click=download title="Download the selected features' indices (rows of the decoder, from 0)">"Indices (CSV)"</button>
                    <button class="export" data-testid="selection-clear" on:click=move |_| state.feature_selection.set(None)>"Clear"</button>
                    {move || error.get().map(|e| view! { <span class="error" role="alert">{format!("could not export: {e}")}</span> })}
                    {neuronpedia_links(state.neuronpedia(), &s.features)}
                </div>
            }
        })
    }
}
