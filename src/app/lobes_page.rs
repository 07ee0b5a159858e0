//! The lobes page (brain scale, paper section 2): co-occurrence lobes of an SAE, their agreement
//! with the geometry of its decoder rows (AMI, balanced accuracy) against the nulls, the lobe map,
//! the comparison of the five affinities across k, and lobe specialisation per document category.

use leptos::prelude::*;

use super::bridge;
use super::plots::lobe_map::LobeMap;
use super::export::{provenance, stem_for, svg_of, ExportBar};
use super::chart_canvas::ChartCanvas;
use crate::chart_view::{tint, ChartLayout, Zoom};
use super::plots::lobes::{comparison_chart, draw_affinity_comparison, draw_null, lobe_colour, lobe_css, COMPARISON_ASPECT};
use plotters::style::RGBColor;
use crate::analysis::export::{lobe_labels_csv, result_json};
use super::state::{AppState, Datasets, FeatureSelection, LobesState, Selection, TsneState};
use super::status::{error_line, error_line_with_retry, progress_line};
use crate::analysis::lobes::{LobesReport, LobesRun, SpecialisationReport};
use crate::formats::manifest::DatasetEntry;
use crate::geometry::affinity::Affinity;
use crate::geometry::lobes::{LobeParams, NullTest};
use crate::link::{LinkSource, LobesChoice, LobesLink};
use super::galaxy_page::selection_source;
use crate::protocol::{ErrorReport, Request, Source};

/// A bundled SAE with its co-occurrence bundle (the bundle's metadata `sae` names the SAE's id).
#[derive(Debug, Clone, PartialEq)]
struct LobeInput {
    decoder: DatasetEntry,
    cooccurrence: DatasetEntry,
}

fn lobe_inputs(all: &[DatasetEntry]) -> Vec<LobeInput> {
    all.iter()
        .filter(|e| e.kind == "cooccurrence")
        .filter_map(|c| {
            let sae = c.metadata.get("sae")?;
            let decoder = all.iter().find(|e| &e.id == sae && e.kind == "points")?;
            Some(LobeInput { decoder: decoder.clone(), cooccurrence: c.clone() })
        })
        .collect()
}

/// The value of the SAE choice for "your own data".
const OWN: &str = "own";

/// What a lobes run reads, and how the address names it.
#[derive(Clone)]
struct RunInputs {
    decoder: (Source, Option<web_sys::File>),
    cooccurrence: (Source, Option<web_sys::File>),
    /// The bundled SAE's id.
    sae: Option<String>,
    /// The co-occurrence file's address (own data from the web).
    url: Option<String>,
}

fn source(e: &DatasetEntry) -> Source {
    Source::Url { url: format!("data/{}", e.file), name: e.file.clone() }
}

fn fmt(v: f64, digits: usize) -> String {
    format!("{v:.digits$}")
}

/// "12.3 σ" (or "∞ σ").
fn sigma(t: &NullTest) -> String {
    if t.sigma.is_finite() {
        format!("{:.1} σ", t.sigma)
    } else {
        "∞ σ".into()
    }
}

#[component]
pub fn LobesPage() -> impl IntoView {
    let state = expect_context::<AppState>();
    let inputs = Memo::new(move |_| match state.datasets.get() {
        Datasets::Loaded(all) => lobe_inputs(&all),
        _ => Vec::new(),
    });
    // The page starts from the address's choices (url_sync); a link that names them runs them.
    let linked = state.lobe_link.get_untracked();
    // The chosen SAE: the link's, else the selected dataset when it has co-occurrence data, else
    // the first.
    let chosen = RwSignal::new(linked.sae.clone().unwrap_or_default());
    Effect::new(move |_| {
        let list = inputs.get();
        let selected = match state.selection.get() {
            Some(Selection::Bundled(e)) => list.iter().find(|i| i.decoder.id == e.id || i.cooccurrence.id == e.id).cloned(),
            _ => None,
        };
        if let Some(i) = selected.or_else(|| list.first().cloned()) {
            let current = chosen.get_untracked();
            if current != OWN && (current.is_empty() || list.iter().all(|x| x.decoder.id != current)) {
                chosen.set(i.decoder.id);
            }
        }
    });
    // "Your own": the decoder chosen in the data panel with a co-occurrence file from this machine
    // or the web (the authors' histogram .npz, a `convert histogram` bundle, a co-occurrence bundle).
    let own_url = RwSignal::new(linked.cooccurrence.clone().unwrap_or_default());
    let own_file = RwSignal::new_local(None::<web_sys::File>);
    if linked.cooccurrence.is_some() {
        chosen.set(OWN.to_string());
    }
    let own = move || chosen.get() == OWN;
    // The decoder of the run shown (for its t-SNE map).
    let shown_decoder = StoredValue::new_local(None::<(Source, Option<web_sys::File>)>);
    let affinity = RwSignal::new(linked.choice.affinity);
    let k = RwSignal::new(linked.choice.k.to_string());
    let trials = RwSignal::new(linked.choice.trials.to_string());
    let seed = RwSignal::new(linked.choice.seed.to_string());
    let input_error = RwSignal::new(None::<String>);

    let current = move || inputs.get_untracked().into_iter().find(|i| i.decoder.id == chosen.get_untracked());
    let parsed = move || -> Result<(usize, usize, u64), String> {
        let k: usize = k.get_untracked().trim().parse().map_err(|_| "k must be a whole number".to_string())?;
        if k < 2 {
            return Err("k must be at least 2".into());
        }
        let t: usize = trials.get_untracked().trim().parse().map_err(|_| "null trials must be a whole number".to_string())?;
        let s: u64 = seed.get_untracked().trim().parse().map_err(|_| "the seed must be a whole number".to_string())?;
        Ok((k, t, s))
    };
    // The run's inputs: (decoder, its local file, co-occurrence, its local file, the link's lobes).
    let run_inputs = move || -> Result<RunInputs, String> {
        if chosen.get_untracked() != OWN {
            let input = current().ok_or("no SAE with co-occurrence data is bundled")?;
            return Ok(RunInputs {
                decoder: (source(&input.decoder), None),
                cooccurrence: (source(&input.cooccurrence), None),
                sae: Some(input.decoder.id.clone()),
                url: None,
            });
        }
        let decoder = selection_source(state).ok_or("choose the decoder in the data panel on the left first")?;
        let url = own_url.get_untracked().trim().to_string();
        let cooccurrence = match own_file.get_untracked() {
            Some(file) => {
                // Both files local: the worker tells them apart by name.
                let mut name = file.name();
                if matches!(&decoder.0, Source::File { name: d } if *d == name) {
                    name = format!("co-occurrence {name}");
                }
                (Source::File { name }, Some(file))
            }
            None if !url.is_empty() => (Source::Url { name: LinkSource::remote_name(&url), url: url.clone() }, None),
            None => return Err("choose a co-occurrence file, or give its address".into()),
        };
        let url = own_file.get_untracked().is_none().then_some(url);
        Ok(RunInputs { decoder, cooccurrence, sae: None, url })
    };
    let run = move |compare: bool| {
        let inputs = match run_inputs() {
            Ok(inputs) => inputs,
            Err(e) => return input_error.set(Some(e)),
        };
        let (k, null_trials, seed) = match parsed() {
            Ok(v) => v,
            Err(e) => return input_error.set(Some(e)),
        };
        input_error.set(None);
        if !compare {
            let choice = LobesChoice { affinity: affinity.get_untracked(), k, trials: null_trials, seed };
            // A local co-occurrence file cannot be linked to: the address then names no lobes.
            let shown = inputs.sae.is_some() || inputs.url.is_some();
            state.lobe_link.set(LobesLink { sae: inputs.sae.clone(), cooccurrence: inputs.url.clone(), choice, shown });
            shown_decoder.set_value(Some(inputs.decoder.clone()));
        }
        let params = LobeParams { k, affinity: affinity.get_untracked(), null_trials, seed, ..LobeParams::default() };
        let mut files = Vec::new();
        for (source, file) in [&inputs.decoder, &inputs.cooccurrence] {
            if let (Source::File { name }, Some(file)) = (source, file) {
                files.push((name.clone(), file.clone()));
            }
        }
        let (decoder, cooccurrence) = (inputs.decoder.0, inputs.cooccurrence.0);
        // The comparison: all five affinities at k = 2..8, no nulls, no labels; else the one run.
        let (affinities, ks, params) = if compare {
            (Affinity::ALL.to_vec(), (2..=8).collect(), LobeParams { null_trials: 0, ..params })
        } else {
            (vec![params.affinity], vec![k], params)
        };
        bridge::run_lobes(
            move |job| Request::Lobes {
                job,
                decoder,
                cooccurrence,
                tensor: None,
                affinities,
                ks,
                params,
                with_map: !compare,
                brief: compare,
                backend: state.backend.get_untracked(),
                budget: Some(bridge::tab_budget(state).bytes),
            },
            files,
            compare,
        );
    };
    // A link with lobes: run them once the bundled inputs are known (own data: once the data
    // panel has its decoder).
    let pending = StoredValue::new(linked.shown);
    Effect::new(move |_| {
        let ready = if own() { state.selection.get().is_some() } else { !inputs.get().is_empty() };
        if pending.get_value() && ready {
            pending.set_value(false);
            run(false);
        }
    });
    let running = move || {
        matches!(state.lobes.get(), LobesState::Running { .. })
            || matches!(state.lobe_compare.get(), LobesState::Running { .. })
            || matches!(state.tsne.get(), TsneState::Running { .. })
    };

    let compare_canvas = NodeRef::<leptos::html::Canvas>::new();
    let (compare_layout, compare_zoom) = (RwSignal::new(ChartLayout::default()), RwSignal::new(Zoom::default()));
    Effect::new(move |_| {
        if let (LobesState::Done { run, .. }, Some(c)) = (state.lobe_compare.get(), compare_canvas.get()) {
            match draw_affinity_comparison(&c, &run.reports, &compare_zoom.get()) {
                Ok(drawn) => compare_layout.set(drawn),
                Err(e) => state.notice.set(Some(ErrorReport { kind: "plot".into(), message: format!("could not draw the comparison: {e}") })),
            }
        }
    });

    view! {
        <section class="page lobes">
            <h2>"Brain scale: lobes of features that fire together"</h2>
            <p class="explain">
                "Features that fire in the same 256-token chunks are grouped into lobes by spectral clustering of a "
                "co-occurrence affinity; the decoder rows are clustered the same way by angular similarity. Agreement: "
                "the adjusted mutual information of the two labelings, and the balanced accuracy of a logistic "
                "regression that predicts a feature's lobe from its decoder row (first 80% of features train, last 20% "
                "test), each against a null (paper, section 2)."
            </p>
            <div class="controls">
                <label>"SAE "
                    <select data-testid="lobes-input" on:change=move |ev| chosen.set(event_target_value(&ev))>
                        {move || inputs.get().into_iter().map(|i| {
                            let id = i.decoder.id.clone();
                            view! { <option value=id.clone() selected=move || chosen.get() == id>{i.decoder.title.clone()}</option> }
                        }).collect_view()}
                        <option value=OWN selected=own>"Your own: the data on the left + a co-occurrence file"</option>
                    </select>
                </label>
                <label>"Affinity "
                    <select data-testid="lobes-affinity" on:change=move |ev| {
                        if let Ok(a) = Affinity::parse(&event_target_value(&ev)) { affinity.set(a) }
                    }>
                        {Affinity::ALL.into_iter().map(|a| view! {
                            <option value=a.name() selected=move || affinity.get() == a>{a.title()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"k "
                    <input type="number" min="2" class="small" data-testid="lobes-k" prop:value=k on:input=move |ev| k.set(event_target_value(&ev)) />
                </label>
                <label>"null trials "
                    <input type="number" min="0" class="small" data-testid="lobes-trials" prop:value=trials on:input=move |ev| trials.set(event_target_value(&ev)) />
                </label>
                <label>"seed "
                    <input type="number" min="0" class="small" data-testid="lobes-seed" prop:value=seed on:input=move |ev| seed.set(event_target_value(&ev)) />
                </label>
                <button class="run" data-testid="lobes-run" on:click=move |_| run(false)>"Find lobes"</button>
                <button data-testid="lobes-compare" on:click=move |_| run(true)
                    title="All five affinities at k = 2..8, without nulls (the paper's Figures 3 and 5)">"Compare affinities, k = 2–8"</button>
                <button class="cancel" data-testid="lobes-cancel" disabled=move || !running() on:click=move |_| bridge::cancel()>"Cancel"</button>
            </div>
            <Show when=own>
                <div class="controls own-cooccurrence">
                    <span class="muted">{move || format!("Decoder: {}. Co-occurrence: ",
                        state.selection.get().map_or("choose one in the data panel".to_string(), |s| s.name()))}</span>
                    <label>"a file "
                        <input type="file" accept=".npz,.safetensors" data-testid="lobes-cooccurrence-file"
                            title="The authors' histogram .npz (histogram, n_chunks), a `sae-geometry convert histogram` bundle, or a co-occurrence bundle (.safetensors)"
                            on:change=move |ev| {
                                let input: web_sys::HtmlInputElement = event_target(&ev);
                                own_file.set(input.files().and_then(|f| f.get(0)));
                            } />
                    </label>
                    <label>" or its address "
                        <input type="url" placeholder="https://…/histogram.npz" data-testid="lobes-cooccurrence-url"
                            prop:value=own_url on:input=move |ev| { own_url.set(event_target_value(&ev)); own_file.set(None); } />
                    </label>
                </div>
            </Show>
            {move || input_error.get().map(|e| view! { <p class="error" role="alert" data-testid="lobes-input-error">{e}</p> })}
            {move || match state.lobes.get() {
                LobesState::Idle => view! { <p class="muted" data-testid="lobes-status">"Choose an SAE and press Find lobes."</p> }.into_any(),
                LobesState::Running { stage, fraction, .. } => progress_line(&stage, fraction, "lobes-progress", "lobes-status"),
                LobesState::Failed(error) => error_line_with_retry(error, "Could not find lobes: ", "lobes-error", move || run(false)),
                LobesState::Cancelled => view! { <p class="muted" data-testid="lobes-status">"Cancelled."</p> }.into_any(),
                LobesState::Done { run, timings, backend } => result_view(state, *run, shown_decoder.get_value(), format!(
                    "{backend}: load {:.0} ms, analysis {:.0} ms", timings.load_ms, timings.compute_ms)),
            }}
            <h3>"Five affinities across k"</h3>
            {move || match state.lobe_compare.get() {
                LobesState::Idle => view! { <p class="muted" data-testid="compare-status">"Press Compare affinities to see AMI and balanced accuracy for k = 2..8."</p> }.into_any(),
                LobesState::Running { stage, fraction, .. } => progress_line(&stage, fraction, "compare-progress", "compare-status"),
                LobesState::Failed(error) => error_line_with_retry(error, "Could not compare: ", "compare-error", move || run(true)),
                LobesState::Cancelled => view! { <p class="muted" data-testid="compare-status">"Cancelled."</p> }.into_any(),
                LobesState::Done { run, .. } => compare_table(&run.reports),
            }}
            <ChartCanvas canvas=compare_canvas layout=compare_layout zoom=compare_zoom testid="compare-canvas"
                label="AMI and balanced accuracy against k, one line per affinity"
                hidden=Signal::derive(move || !matches!(state.lobe_compare.get(), LobesState::Done { .. })) />
            <Show when=move || matches!(state.lobe_compare.get(), LobesState::Done { .. })>
                <ExportBar testid="compare-export"
                    stem=Signal::derive(move || match state.lobe_compare.get() {
                        LobesState::Done { run, .. } => stem_for(&run.reports.first().map(|r| r.decoder.clone()).unwrap_or_default(), "affinities"),
                        _ => "affinities".into(),
                    })
                    canvas=compare_canvas
                    svg=move |_| with_run(state.lobe_compare, |run| svg_of(COMPARISON_ASPECT, |root| comparison_chart(root, &run.reports, 1.0, &compare_zoom.get_untracked()).map(|_| ())))
                    json=move |_| with_run(state.lobe_compare, |run| Ok(result_json(&run.reports, &provenance(state)))) />
            </Show>
        </section>
    }
}

/// `f` of the run shown in `job`, or why there is none.
fn with_run(job: RwSignal<LobesState>, f: impl FnOnce(&LobesRun) -> Result<String, String>) -> Result<String, String> {
    match job.get_untracked() {
        LobesState::Done { run, .. } => f(&run),
        _ => Err("there is no result to export yet".into()),
    }
}

/// The result of one run: summary, lobe map, nulls, specialisation.
fn result_view(state: AppState, run: LobesRun, decoder: Option<(Source, Option<web_sys::File>)>, timing: String) -> AnyView {
    let Some(report) = run.reports.into_iter().next() else { return ().into_any() };
    let stem = stem_for(&report.decoder, &format!("lobes-k{}-{}", report.agreement.k, report.agreement.affinity.name()));
    let (for_csv, for_json) = (report.clone(), report.clone());
    let a = report.agreement.clone();
    // The t-SNE map reads the run's decoder again (a bundled file when the run came from a link).
    let (decoder, decoder_file) =
        decoder.unwrap_or_else(|| (Source::Url { url: format!("data/{}", report.decoder), name: report.decoder.clone() }, None));
    let seed = report.params.seed;
    let map = run.map.map(|m| {
        let (n, name, labels) = (report.n_features, report.decoder.clone(), a.labels_cooccurrence.clone());
        let (pca, nearest) = (m.pca, m.nearest);
        move || {
            // The t-SNE layout of this decoder once computed, else the instant PCA layout.
            let (points, title) = match state.tsne.get() {
                TsneState::Done { layout, .. } if layout.input == name && layout.points.len() == n => (
                    layout.points.clone(),
                    format!(
                        "Lobe map: t-SNE of the {n} decoder rows{} (perplexity {}, KL {:.3} after {} iterations), coloured by co-occurrence lobe",
                        layout.pca_dims.map_or(String::new(), |k| format!(" reduced to {k} PCs")), layout.perplexity, layout.kl_divergence, layout.iterations
                    ),
                ),
                _ => (pca.clone(), format!("Lobe map: the {n} decoder rows on their first two principal components, coloured by co-occurrence lobe")),
            };
            view! { <LobeMap points=points labels=labels.clone() nearest=nearest.clone() title=title /> }
        }
    });
    let tsne_status = move || match state.tsne.get() {
        TsneState::Running { stage, fraction, .. } => progress_line(&stage, fraction, "tsne-progress", "tsne-status"),
        TsneState::Failed(error) => error_line(error, "t-SNE failed: ", "tsne-error"),
        TsneState::Done { timings, .. } => view! { <p class="muted" data-testid="tsne-status">{format!("t-SNE: {:.1} s in the worker", timings.compute_ms / 1000.0)}</p> }.into_any(),
        _ => ().into_any(),
    };
    let join = |v: &[u32]| v.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(",");
    let (labels_text, geometry_text) = (join(&a.labels_cooccurrence), join(&a.labels_geometry));
    // Each lobe's size selects its features (in colour on the lobe map and the 3D view).
    let labels_for_pick = StoredValue::new(a.labels_cooccurrence.clone());
    let pick_name = format!("of {} (k = {}, {})", report.decoder, a.k, a.affinity.name());
    let lobe_picks = a.lobe_sizes.iter().enumerate().map(|(l, size)| {
        let what = format!("lobe {l} {pick_name}");
        let label = format!("lobe {l}: {size}");
        let is_picked = {
            let what = what.clone();
            move || state.feature_selection.get().is_some_and(|s| s.what == what)
        };
        let picked_view = is_picked.clone();
        let pick = move |_| {
            if is_picked() {
                return state.feature_selection.set(None);
            }
            let features = labels_for_pick.with_value(|labels| {
                labels.iter().enumerate().filter(|(_, &x)| x as usize == l).map(|(i, _)| i as u32).collect()
            });
            state.feature_selection.set(Some(FeatureSelection { features, what: what.clone() }));
        };
        view! {
            {(l > 0).then_some(", ")}
            <button class="lobe-pick" class:picked=picked_view data-testid=format!("select-lobe-{l}")
                title="Select this lobe's features (again to clear)" on:click=pick>{label}</button>
        }
    }).collect_view();
    view! {
        <div class="result">
            <dl class="summary" data-testid="lobes-summary" data-input=report.decoder.clone()
                data-k=a.k.to_string() data-affinity=a.affinity.name()
                data-labels=labels_text data-labels-geometry=geometry_text>
                <dt>"Data"</dt>
                <dd>{format!("{} with {} ({} features × {} dimensions; {} chunks counted)",
                    report.decoder, report.cooccurrence, report.n_features, report.d, report.n_chunks)}</dd>
                <dt>{format!("Lobes (k = {}, {} affinity{})", a.k, a.affinity.title(), if a.affinity == Affinity::Phi { ", clustered as Phi + 1" } else { "" })}</dt>
                <dd data-testid="lobe-sizes">{lobe_picks}</dd>
                <dt>"AMI, co-occurrence vs geometric lobes"</dt>
                <dd class="big" data-testid="lobes-ami" data-value=a.ami.to_string()>{fmt(a.ami, 4)}
                    {a.ami_null.as_ref().map(|t| format!("  ({} above the permuted-label null: mean {}, std {})", sigma(t), fmt(t.mean, 5), fmt(t.std, 5)))}</dd>
                <dt>"Balanced accuracy, decoder row → lobe (held-out 20%)"</dt>
                <dd class="big" data-testid="lobes-bacc" data-value=a.balanced_accuracy.to_string()>{fmt(a.balanced_accuracy, 4)}
                    {a.bacc_null.as_ref().map(|t| format!("  ({} above random unit vectors: mean {}, std {})", sigma(t), fmt(t.mean, 4), fmt(t.std, 4)))}</dd>
                <dt>"Ran on"</dt>
                <dd data-testid="lobes-backend">{timing}</dd>
            </dl>
            <ExportBar testid="lobes-export" stem=stem
                csv=move |_| Ok(lobe_labels_csv(&for_csv, &provenance(state)))
                json=move |_| Ok(result_json(&for_json, &provenance(state))) />
            <div class="controls">
                <button data-testid="tsne-run" on:click=move |_| bridge::run_tsne(decoder.clone(), decoder_file.clone(), seed, None)
                    title="Barnes-Hut t-SNE of the decoder rows as scikit-learn's TSNE (perplexity 30, 1000 iterations, PCA init), as the paper's lobe map">
                    "t-SNE layout"</button>
                {tsne_status}
            </div>
            {map}
            <div class="nulls">
                {a.ami_null.clone().map(|t| view! { <NullPlot test=t title="AMI: permuted geometric labels (red: true)".to_string() testid="null-ami" /> })}
                {a.bacc_null.clone().map(|t| view! { <NullPlot test=t title="balanced accuracy: Gaussian unit vectors (red: true)".to_string() testid="null-bacc" /> })}
            </div>
            {report.specialisation.clone().map(specialisation_table)}
        </div>
    }
    .into_any()
}

#[component]
fn NullPlot(test: NullTest, title: String, testid: &'static str) -> impl IntoView {
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let (layout, zoom) = (RwSignal::new(ChartLayout::default()), RwSignal::new(Zoom::default()));
    let t = test.clone();
    let label = title.clone();
    Effect::new(move |_| {
        if let Some(c) = canvas.get() {
            if let Ok(drawn) = draw_null(&c, &t, &title, &zoom.get()) {
                layout.set(drawn);
            }
        }
    });
    view! {
        <ChartCanvas canvas=canvas layout=layout zoom=zoom testid=testid label=label class="null"
            value=test.sigma.to_string() hint="Hover a bar or the red line; drag, scroll and +/− as on the other plots." />
    }
}

/// The heat map: categories (rows) x lobes (columns), each cell the share of the category's
/// held-out chunks the lobe wins, shaded by that share in the lobe's colour.
fn specialisation_table(s: SpecialisationReport) -> AnyView {
    let k = s.table.k;
    view! {
        <h3>"Lobe specialisation: share of held-out chunks each lobe wins, per category"</h3>
        <table class="heatmap" data-testid="specialisation">
            <thead><tr><th>"category"</th><th>"chunks"</th>
                {(0..k).map(|l| view! { <th style=format!("border-bottom:3px solid {}", lobe_css(l))>{format!("lobe {l}")}</th> }).collect_view()}
            </tr></thead>
            <tbody>
                {s.categories.iter().enumerate().map(|(c, name)| {
                    let shares = s.table.shares[c].clone();
                    view! { <tr data-category=name.clone()>
                        <th>{name.clone()}</th><td>{s.table.chunks[c]}</td>
                        {shares.into_iter().enumerate().map(|(l, v)| view! {
                            <td data-value=v.to_string() style={
                                let RGBColor(r, g, b) = lobe_colour(l);
                                let [r, g, b] = tint([r, g, b], v);
                                format!("background:rgb({r},{g},{b})")
                            }>
                                {format!("{:.0}%", v * 100.0)}</td>
                        }).collect_view()}
                    </tr> }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// AMI / balanced accuracy per affinity (rows) and k (columns).
fn compare_table(reports: &[LobesReport]) -> AnyView {
    let mut ks: Vec<usize> = reports.iter().map(|r| r.params.k).collect();
    ks.sort_unstable();
    ks.dedup();
    let cell = |a: Affinity, k: usize| {
        reports.iter().find(|r| r.params.affinity == a && r.params.k == k).map(|r| {
            (format!("{} / {}", fmt(r.agreement.ami, 3), fmt(r.agreement.balanced_accuracy, 2)), r.agreement.ami, r.agreement.balanced_accuracy)
        })
    };
    view! {
        <table class="sweep" data-testid="compare-table">
            <thead><tr><th>"affinity: AMI / balanced accuracy"</th>{ks.iter().map(|k| view! { <th>{format!("k = {k}")}</th> }).collect_view()}</tr></thead>
            <tbody>
                {Affinity::ALL.into_iter().map(|a| view! {
                    <tr data-affinity=a.name()><th>{a.title()}</th>
                        {ks.iter().map(|&k| match cell(a, k) {
                            Some((text, ami, bacc)) => view! { <td data-k=k.to_string() data-ami=ami.to_string() data-bacc=bacc.to_string()>{text}</td> }.into_any(),
                            None => view! { <td>"—"</td> }.into_any(),
                        }).collect_view()}
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
