//! The layer sweep of the galaxy page: for a dataset that belongs to a group of layers (e.g. the
//! bundled MiniLM SAEs, or Gemma Scope files converted with `--group`), the galaxy analysis of
//! every layer, plotted and tabulated against the layer.

use leptos::prelude::*;

use super::bridge;
use super::export::{provenance, svg_of, ExportBar};
use super::chart_canvas::ChartCanvas;
use crate::chart_view::{ChartLayout, Zoom};
use super::plots::layers::{draw_layer_sweep, layer_sweep_chart, LAYERS_ASPECT};
use crate::analysis::export::{layer_rows_csv, result_json};
use crate::analysis::LayerRow;
use super::state::{AppState, Datasets, Selection, SweepState};
use super::status::{error_line, progress_line};
use crate::formats::manifest::{grouped_points, DatasetEntry};
use crate::geometry::entropy::ClusteringEntropy;
use crate::protocol::{ErrorReport, Source};

/// The point sets of the selection's group, sorted by layer, when there are at least two.
fn group_of_selection(state: AppState) -> Option<(String, Vec<DatasetEntry>)> {
    let Some(Selection::Bundled(entry)) = state.selection.get() else { return None };
    let group = entry.group?;
    let Datasets::Loaded(all) = state.datasets.get() else { return None };
    let mut layers = grouped_points(all, Some(&group));
    layers.retain(|e| e.layer.is_some());
    (layers.len() >= 2).then_some((group, layers))
}

/// `f` of the sweep's rows shown, or why there are none.
fn with_rows(state: AppState, f: impl FnOnce(&[LayerRow]) -> Result<String, String>) -> Result<String, String> {
    match state.sweep.get_untracked() {
        SweepState::Done { rows, .. } => f(&rows),
        _ => Err("there is no layer sweep to export yet".into()),
    }
}

fn fmt(v: f64, digits: usize) -> String {
    format!("{v:.digits$}")
}

/// "352.6 [350.7, 354.5]", or a dash when the entropy was not computed.
fn entropy_cell(e: Option<&ClusteringEntropy>) -> String {
    e.map(|e| format!("{} [{}, {}]", fmt(e.clustering, 1), fmt(e.ci95[0], 1), fmt(e.ci95[1], 1)))
        .unwrap_or_else(|| "—".into())
}

#[component]
pub fn LayerSweep() -> impl IntoView {
    let state = expect_context::<AppState>();
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let (layout, zoom) = (RwSignal::new(ChartLayout::default()), RwSignal::new(Zoom::default()));
    let group = Memo::new(move |_| group_of_selection(state));

    let run = move || {
        let Some((group, layers)) = group.get_untracked() else { return };
        let layers = layers
            .into_iter()
            .map(|e| (e.layer.unwrap_or(0), Source::Url { url: format!("data/{}", e.file), name: e.file.clone() }))
            .collect();
        let tensor = Some(state.tensor.get_untracked()).filter(|t| !t.trim().is_empty());
        bridge::run_sweep(group, layers, tensor, state.galaxy_params.get_untracked());
    };

    Effect::new(move |_| {
        if let (SweepState::Done { rows, .. }, Some(canvas)) = (state.sweep.get(), canvas.get()) {
            match draw_layer_sweep(&canvas, &rows, &zoom.get()) {
                Ok(drawn) => layout.set(drawn),
                Err(e) => state.notice.set(Some(ErrorReport { kind: "plot".into(), message: format!("could not draw the layer sweep: {e}") })),
            }
        }
    });

    let done = move || matches!(state.sweep.get(), SweepState::Done { .. });
    view! {
        <Show when=move || group.get().is_some()>
            <section class="layer-sweep" data-testid="layer-sweep">
                <h3>"Across layers"</h3>
                <p class="explain">
                    "The same analysis on every layer of this group, with the fit ranks and seed above: how the "
                    "slope and the effective volume change with depth (paper, Figures 7 right and 8). Blue: the "
                    "SAE decoders, with the slope's 95% interval; dashed grey: an isotropic Gaussian cloud of the same N and d (even it scores far above 0 on the clustering entropy, because bootstrap duplicates sit at distance 0: compare the layers with this line, not with 0)."
                </p>
                <div class="controls">
                    <button class="run" data-testid="sweep-run" on:click=move |_| run()>
                        {move || format!("Run all {} layers", group.get().map_or(0, |(_, l)| l.len()))}
                    </button>
                    <button class="cancel" data-testid="sweep-cancel"
                        disabled=move || !matches!(state.sweep.get(), SweepState::Running { .. })
                        on:click=move |_| bridge::cancel()>"Cancel"</button>
                </div>
                {move || match state.sweep.get() {
                    SweepState::Running { stage, fraction, .. } => progress_line(&stage, fraction, "sweep-progress", "sweep-status"),
                    SweepState::Failed(error) => error_line(error, "", "sweep-error"),
                    SweepState::Cancelled => view! { <p class="muted">"Layer sweep cancelled."</p> }.into_any(),
                    _ => ().into_any(),
                }}
                <div class:hidden=move || !done()>
                    <ChartCanvas canvas=canvas layout=layout zoom=zoom testid="sweep-canvas"
                        label="Power-law slope, log-volume and clustering entropy against the layer" />
                    <ExportBar testid="sweep-export" stem=Signal::derive(move || match state.sweep.get() {
                            SweepState::Done { group, .. } => format!("{group}-layers"),
                            _ => "layers".into(),
                        })
                        canvas=canvas
                        svg=move |_| with_rows(state, |rows| svg_of(LAYERS_ASPECT, |root| layer_sweep_chart(root, rows, 1.0, &zoom.get_untracked()).map(|_| ())))
                        csv=move |_| with_rows(state, |rows| Ok(layer_rows_csv(rows, &provenance(state))))
                        json=move |_| with_rows(state, |rows| Ok(result_json(&rows, &provenance(state)))) />
                    {move || match state.sweep.get() {
                        SweepState::Done { rows, timings, backend, group } => view! {
                            <table class="sweep" data-testid="sweep-table" data-group=group>
                                <thead><tr>
                                    <th>"layer"</th><th>"points × dims"</th><th>"slope"</th><th>"95% interval"</th>
                                    <th>"log-volume"</th><th>"isotropic slope"</th><th>"clustering entropy"</th><th>"isotropic entropy"</th>
                                </tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|r| view! {
                                        <tr data-layer=r.layer data-slope=r.power_law.slope.to_string() data-log-volume=r.log_volume.to_string()
                                            data-clustering=r.entropy.as_ref().map(|e| e.clustering.to_string())
                                            data-isotropic-clustering=r.isotropic_entropy.as_ref().map(|e| e.clustering.to_string())>
                                            <td>{r.layer}</td>
                                            <td>{format!("{} × {}", r.n, r.d)}</td>
                                            <td>{fmt(r.power_law.slope, 4)}</td>
                                            <td>{format!("[{}, {}]", fmt(r.power_law.ci95[0], 4), fmt(r.power_law.ci95[1], 4))}</td>
                                            <td>{fmt(r.log_volume, 1)}</td>
                                            <td>{r.isotropic_slope.map(|v| fmt(v, 4)).unwrap_or_else(|| "—".into())}</td>
                                            <td>{entropy_cell(r.entropy.as_ref())}</td>
                                            <td>{entropy_cell(r.isotropic_entropy.as_ref())}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <p class="muted">{format!("{backend}: load {:.0} ms, analysis {:.0} ms", timings.load_ms, timings.compute_ms)}</p>
                        }.into_any(),
                        _ => ().into_any(),
                    }}
                </div>
            </section>
        </Show>
    }
}
