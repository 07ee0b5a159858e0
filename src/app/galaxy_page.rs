//! The galaxy page: the eigenvalue spectrum of the chosen point cloud, its power-law fit and
//! log-volume, against an isotropic Gaussian cloud of the same N and d.

use leptos::prelude::*;

use super::bridge;
use super::export::{provenance, stem_for, svg_of, ExportBar};
use super::chart_canvas::ChartCanvas;
use super::plots::spectrum::{draw_spectrum, spectrum_chart, SPECTRUM_ASPECT};
use crate::chart_view::{ChartLayout, Zoom};
use crate::analysis::export::{galaxy_spectrum_csv, result_json};
use crate::analysis::GalaxyReport;
use super::state::{AppState, RunState, Selection};
use super::status::{error_line_with_retry, progress_line};
use crate::geometry::entropy::EntropyParams;
use crate::geometry::galaxy::{GalaxyParams, RankRange};
use crate::protocol::{ErrorReport, Source};

/// Where the current selection's bytes are: a bundled file's URL, or the local `File`.
pub fn selection_source(state: AppState) -> Option<(Source, Option<web_sys::File>)> {
    match state.selection.get_untracked()? {
        Selection::Bundled(entry) => Some((
            Source::Url {
                url: format!("data/{}", entry.file),
                name: entry.file.clone(),
            },
            None,
        )),
        Selection::Local { name, .. } => Some((Source::File { name }, state.local_file.get_untracked())),
        Selection::Remote { url, name } => Some((Source::Url { url, name }, None)),
    }
}

/// Runs the galaxy analysis of the current selection with the current parameters.
pub fn start_galaxy(state: AppState) {
    let Some((source, file)) = selection_source(state) else {
        state.notice.set(Some(ErrorReport {
            kind: "no-data".into(),
            message: "choose a dataset or drop a file first".into(),
        }));
        return;
    };
    let tensor = Some(state.tensor.get_untracked()).filter(|t| !t.trim().is_empty());
    bridge::run_galaxy(source, file, tensor, state.galaxy_params.get_untracked());
}

/// `f` of the galaxy result shown, or why there is none.
fn with_report(state: AppState, f: impl FnOnce(&GalaxyReport) -> Result<String, String>) -> Result<String, String> {
    match state.galaxy.get_untracked() {
        RunState::Done { report, .. } => f(&report),
        _ => Err("there is no result to export yet".into()),
    }
}

/// The exported files' name: the data's file name without its extension, then "-spectrum".
fn export_stem(state: AppState) -> String {
    match state.galaxy.get() {
        RunState::Done { report, .. } => stem_for(&report.input.input, "spectrum"),
        _ => "galaxy-spectrum".into(),
    }
}

fn fmt(v: f64, digits: usize) -> String {
    format!("{v:.digits$}")
}

#[component]
pub fn GalaxyPage() -> impl IntoView {
    let state = expect_context::<AppState>();
    let canvas = NodeRef::<leptos::html::Canvas>::new();

    // Parameter inputs, kept as text so that a half-typed number is not rejected mid-edit.
    let first = RwSignal::new(state.galaxy_params.get_untracked().ranks.first.to_string());
    let last = RwSignal::new(state.galaxy_params.get_untracked().ranks.last.to_string());
    let seed = RwSignal::new(state.galaxy_params.get_untracked().seed.to_string());
    // Features analysed: empty for all of them, else a random sample of that many.
    let sample = RwSignal::new(state.galaxy_params.get_untracked().sample.map(|m| m.to_string()).unwrap_or_default());
    let input_error = RwSignal::new(None::<String>);
    // The clustering entropy with the paper's settings (5000 rows, 100 PCs, 30 resamples, k = 1).
    let with_entropy = RwSignal::new(state.galaxy_params.get_untracked().entropy.is_some());
    let entropy_now = state.galaxy_params.get_untracked().entropy.unwrap_or_default();
    let knn_k = RwSignal::new(entropy_now.k.to_string());
    let samples = RwSignal::new(entropy_now.samples.to_string());
    let pcs = RwSignal::new(entropy_now.pcs.to_string());
    let bootstrap = RwSignal::new(entropy_now.bootstrap.to_string());

    let whole = |text: RwSignal<String>| text.get_untracked().trim().parse::<usize>().ok();
    let apply_and_run = move || {
        let parsed = (
            whole(first),
            whole(last),
            seed.get_untracked().trim().parse::<u64>().ok(),
            whole(samples),
            whole(pcs),
            whole(bootstrap),
            whole(knn_k),
        );
        let sample_text = sample.get_untracked().trim().to_string();
        let rows = if sample_text.is_empty() || sample_text == "all" { Some(None) } else { sample_text.parse::<usize>().ok().filter(|&m| m >= 2).map(Some) };
        let Some(rows) = rows else {
            input_error.set(Some("features: leave empty for all of them, or give how many to sample (at least 2)".into()));
            return;
        };
        match parsed {
            (Some(f), Some(l), Some(s), Some(samples), Some(pcs), Some(bootstrap), Some(k)) => {
                input_error.set(None);
                // The entropy's own settings are checked against the data's shape by the worker,
                // which says what to change (e.g. "choose 1..=384" for the PCs).
                let entropy = EntropyParams { samples, pcs, bootstrap, k, seed: s, ..EntropyParams::default() };
                state.galaxy_params.set(GalaxyParams {
                    ranks: RankRange { first: f, last: l },
                    seed: s,
                    isotropic: true,
                    entropy: with_entropy.get_untracked().then_some(entropy),
                    sample: rows,
                });
                start_galaxy(state);
            }
            _ => input_error.set(Some("ranks, seed and the entropy settings must be whole numbers".into())),
        }
    };
    // Dragging across the spectrum plot picks the fit's ranks.
    let layout = RwSignal::new(ChartLayout::default());
    let zoom = RwSignal::new(Zoom::default());
    let on_rank_drag = Callback::new(move |(x0, x1): (f64, f64)| {
        let Some(panel) = layout.with_untracked(|l| l.panels.first().cloned()) else { return };
        let rank = |x: f64| panel.to_data((x.clamp(panel.left, panel.right), panel.top)).0.round().max(1.0) as usize;
        let (a, b) = (rank(x0.min(x1)), rank(x0.max(x1)));
        if b >= a + 2 {
            first.set(a.to_string());
            last.set(b.to_string());
            apply_and_run();
        }
    });
    let preset = move |r: RankRange| {
        first.set(r.first.to_string());
        last.set(r.last.to_string());
        apply_and_run();
    };

    Effect::new(move |_| {
        if let (RunState::Done { report, .. }, Some(canvas)) = (state.galaxy.get(), canvas.get()) {
            match draw_spectrum(&canvas, &report, &zoom.get()) {
                Ok(drawn) => layout.set(drawn),
                Err(e) => state.notice.set(Some(ErrorReport {
                    kind: "plot".into(),
                    message: format!("could not draw the spectrum: {e}"),
                })),
            }
        }
    });

    let running = move || matches!(state.galaxy.get(), RunState::Running { .. });
    let has_result = move || matches!(state.galaxy.get(), RunState::Done { .. });

    view! {
        <section class="page galaxy">
            <h2>"Galaxy scale: the shape of the whole cloud"</h2>
            <p class="explain">
                "Eigenvalues of the covariance of the points (np.cov: centred, ddof = 1), by rank on log-log axes. "
                "A power law over the shaded ranks measures how far the cloud is from round; the isotropic "
                "Gaussian cloud of the same N and d is nearly flat (paper, section 3)."
            </p>
            <div class="controls">
                <label>"Fit ranks "
                    <input type="number" min="1" data-testid="rank-first" prop:value=first on:input=move |ev| first.set(event_target_value(&ev)) />
                    " to "
                    <input type="number" min="3" data-testid="rank-last" prop:value=last on:input=move |ev| last.set(event_target_value(&ev)) />
                </label>
                <button class="preset" on:click=move |_| preset(RankRange::default()) title="The authors' code fits ranks 11..150">"11–150 (code)"</button>
                <button class="preset" on:click=move |_| preset(RankRange::TOP_100) title="The paper's text speaks of the 100 largest eigenvalues">"top 100 (text)"</button>
                <label>"Seed "
                    <input type="number" min="0" data-testid="seed" prop:value=seed on:input=move |ev| seed.set(event_target_value(&ev)) />
                </label>
                <label title="Analyse a uniform random sample of this many features (rows); empty: all of them. A file larger than this tab's memory budget is sampled to fit, and the result says so.">"Features "
                    <input type="text" inputmode="numeric" class="small" placeholder="all" data-testid="sample" prop:value=sample on:input=move |ev| sample.set(event_target_value(&ev)) />
                </label>
                <label>"Tensor "
                    <input type="text" placeholder="W_dec" data-testid="tensor" prop:value=move || state.tensor.get() on:input=move |ev| state.tensor.set(event_target_value(&ev)) />
                </label>
                <fieldset class="entropy-settings" title="H_G − H_kNN on z-scored sampled rows in their top principal components, with bootstrap resamples (paper, section 3; its settings are the defaults)">
                    <label>
                        <input type="checkbox" data-testid="entropy-toggle" prop:checked=with_entropy
                            on:change=move |ev| with_entropy.set(event_target_checked(&ev)) />
                        " clustering entropy"
                    </label>
                    {[("rows", "entropy-samples", samples, "2"), ("PCs", "entropy-pcs", pcs, "1"),
                      ("resamples", "entropy-bootstrap", bootstrap, "2"), ("k", "entropy-k", knn_k, "1")]
                        .into_iter()
                        .map(|(label, id, text, min)| view! {
                            <label>{format!("{label} ")}
                                <input type="number" min=min class="small" data-testid=id
                                    disabled=move || !with_entropy.get()
                                    prop:value=text on:input=move |ev| text.set(event_target_value(&ev)) />
                            </label>
                        })
                        .collect_view()}
                </fieldset>
                <button class="run" data-testid="run" on:click=move |_| apply_and_run()>"Run"</button>
                <button class="cancel" data-testid="cancel" disabled=move || !running() on:click=move |_| bridge::cancel()>"Cancel"</button>
            </div>
            {move || input_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || state.notice.get().map(|e| view! {
                <p class="error" role="alert" data-testid="notice" data-kind=e.kind.clone()>{e.message}</p>
            })}
            {move || match state.galaxy.get() {
                RunState::Idle => view! { <p class="muted" data-testid="status">"Choose a dataset on the left, or drop a file."</p> }.into_any(),
                RunState::Running { stage, fraction, .. } => progress_line(&stage, fraction, "progress", "status"),
                RunState::Failed(error) => error_line_with_retry(error, "Could not analyse this data: ", "error", move || start_galaxy(state)),
                RunState::Cancelled => view! { <p class="muted" data-testid="status">"Cancelled. Nothing was kept; run again when ready."</p> }.into_any(),
                RunState::Done { .. } => ().into_any(),
            }}
            <div class="result" class:hidden=move || !has_result()>
                <ChartCanvas canvas=canvas layout=layout zoom=zoom testid="spectrum-canvas"
                    label="The eigenvalue spectrum on log-log axes with the power-law fit" on_drag_x=on_rank_drag />
                <ExportBar testid="spectrum-export" stem=Signal::derive(move || export_stem(state))
                    canvas=canvas
                    svg=move |_| with_report(state, |r| svg_of(SPECTRUM_ASPECT, |root| spectrum_chart(root, r, 1.0, &zoom.get_untracked()).map(|_| ())))
                    csv=move |_| with_report(state, |r| Ok(galaxy_spectrum_csv(r, &provenance(state))))
                    json=move |_| with_report(state, |r| Ok(result_json(r, &provenance(state)))) />
                {move || match state.galaxy.get() {
                    RunState::Done { report, timings, backend, cached } => {
                        let fit = report.spectrum.power_law.clone();
                        view! {
                            <dl class="summary" data-testid="summary" data-input=report.input.input.clone()>
                                <dt>"Data"</dt>
                                <dd>{format!("{} — tensor {}{} ({}), {} points × {} dimensions", report.input.input, report.input.tensor,
                                    if report.input.transposed { " (transposed)" } else { "" }, report.input.source_dtype, report.spectrum.n, report.spectrum.d)}</dd>
                                {report.sample.clone().map(|s| view! {
                                    <dt>"Sample"</dt>
                                    <dd class="sample-note" data-testid="sample-note" data-rows=s.rows.to_string() data-of=s.of.to_string() data-seed=s.seed.to_string()>
                                        {format!("a uniform random sample of {} of the {} features (numpy: sorted(RandomState({}).choice({}, {}, replace=False))){}; every number below is of the sample",
                                            s.rows, s.of, s.seed, s.of, s.rows,
                                            if report.params.sample == Some(s.rows) && state.galaxy_params.get_untracked().sample != Some(s.rows) { ", chosen to fit this tab's memory budget" } else { "" })}
                                    </dd>
                                })}
                                <dt>{format!("Power-law slope, ranks {}–{}", fit.first_rank, fit.last_rank)}</dt>
                                <dd class="big" data-testid="slope" data-value=fit.slope.to_string()>{fmt(fit.slope, 4)}</dd>
                                <dt>"95% interval"</dt>
                                <dd data-testid="ci95" data-low=fit.ci95[0].to_string() data-high=fit.ci95[1].to_string()>
                                    {format!("[{}, {}]  (r = {})", fmt(fit.ci95[0], 4), fmt(fit.ci95[1], 4), fmt(fit.r_value, 4))}
                                </dd>
                                <dt>"Log-volume (Σ ln λ over the same ranks)"</dt>
                                <dd data-testid="log-volume" data-value=report.spectrum.log_volume.to_string()>{fmt(report.spectrum.log_volume, 3)}</dd>
                                {report.spectrum.entropy.clone().map(|e| view! {
                                    <dt>{format!("Clustering entropy H_G − H_kNN ({} rows, {} PCs, {} resamples, k = {})", e.samples, e.pcs, e.bootstrap, e.k)}</dt>
                                    <dd data-testid="clustering" data-value=e.clustering.to_string() data-low=e.ci95[0].to_string() data-high=e.ci95[1].to_string()>
                                        {format!("{}  [{}, {}]  (H_G {}, mean H_kNN {})", fmt(e.clustering, 2), fmt(e.ci95[0], 2), fmt(e.ci95[1], 2), fmt(e.gaussian, 2), fmt(e.knn_mean, 2))}
                                    </dd>
                                })}
                                {report.spectrum.isotropic_entropy.clone().map(|e| view! {
                                    <dt>"Clustering entropy of the isotropic Gaussian cloud (same settings)"</dt>
                                    <dd data-testid="isotropic-clustering" data-value=e.clustering.to_string()>
                                        {format!("{}  [{}, {}]", fmt(e.clustering, 2), fmt(e.ci95[0], 2), fmt(e.ci95[1], 2))}
                                    </dd>
                                })}
                                <dt>"Isotropic Gaussian slope"</dt>
                                <dd data-testid="isotropic-slope">{report.spectrum.isotropic_slope.map(|s| fmt(s, 4)).unwrap_or_else(|| "not computed".into())}</dd>
                                <dt>"Ran on"</dt>
                                <dd data-testid="backend">{if cached { format!("{backend} (cached result)") } else {
                                    format!("{backend}: load {:.0} ms, analysis {:.0} ms", timings.load_ms, timings.compute_ms) }}</dd>
                            </dl>
                        }.into_any()
                    }
                    _ => ().into_any(),
                }}
            </div>
            <super::cloud_view::CloudSection />
            <super::layer_sweep::LayerSweep />
        </section>
    }
}
