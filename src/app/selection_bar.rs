//! The selected features (a lobe, a box on the lobe map, a link's list), shown above every page:
//! how many, what they are, their indices as a file, and a way to clear them. Every plot of the
//! features draws them in colour and the rest grey.

use leptos::prelude::*;

use super::export::{download_text, provenance};
use super::state::AppState;
use crate::analysis::export::feature_list_csv;

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
                </div>
            }
        })
    }
}
