//! The Compute page: which backend runs the heavy kernels (auto, CPU, WebGPU), and the kernel
//! suite: every kernel checked against the CPU oracle, timed on both backends, and the galaxy
//! scale end to end on each.

use leptos::prelude::*;

use super::bridge;
use super::galaxy_page::selection_source;
use super::state::{AppState, Datasets, Job, KernelsResult, Selection};
use super::status::{error_line, progress_line};
use crate::compute::backend::{BackendChoice, KernelRow, SuiteMode};
use crate::formats::manifest::DatasetEntry;
use crate::protocol::{CrystalWords, ScaleInputs, Source};

/// The backend selector (also shown in the header).
#[component]
pub fn BackendSelect() -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <label class="backend-select">"Backend "
            <select data-testid="backend-select" title="Where the heavy kernels run: WebGPU when the browser has an adapter (Auto), or forced"
                on:change=move |ev| {
                    if let Some(c) = BackendChoice::parse(&event_target_value(&ev)) {
                        state.backend.set(c);
                    }
                }>
                {BackendChoice::ALL.into_iter().map(|c| view! {
                    <option value=c.name() selected=move || state.backend.get() == c>{match c {
                        BackendChoice::Auto => "Auto (WebGPU if present)",
                        BackendChoice::Cpu => "CPU",
                        BackendChoice::Webgpu => "WebGPU",
                    }}</option>
                }).collect_view()}
            </select>
        </label>
    }
}

/// The current selection when it is a bundled dataset (the suite's real input), else `None`.
fn real_source(state: AppState) -> Option<Source> {
    match selection_source(state) {
        Some((s @ Source::Url { .. }, None)) => Some(s),
        _ => None,
    }
}

fn bundled(file: &str) -> Source {
    Source::Url { url: format!("data/{file}"), name: file.to_string() }
}

/// The bundled inputs of the lobe and atom scales for the benchmark: the co-occurrence bundle of
/// the selected decoder (else the first bundle) and the smallest crystal set.
fn scale_inputs(state: AppState) -> ScaleInputs {
    let Datasets::Loaded(all) = state.datasets.get_untracked() else { return ScaleInputs::default() };
    let selected = match state.selection.get_untracked() {
        Some(Selection::Bundled(e)) => Some(e.id),
        _ => None,
    };
    let bundles: Vec<&DatasetEntry> = all.iter().filter(|e| e.kind == "cooccurrence").collect();
    let bundle = bundles
        .iter()
        .find(|b| b.metadata.get("sae") == selected.as_ref())
        .or_else(|| bundles.first())
        .copied();
    let lobes = bundle.and_then(|b| {
        let decoder = all.iter().find(|e| Some(&e.id) == b.metadata.get("sae"))?;
        Some((bundled(&decoder.file), bundled(&b.file)))
    });
    let crystals = all
        .iter()
        .filter(|e| e.kind == "crystals")
        .min_by_key(|e| e.bytes)
        .and_then(|e| Some((bundled(&e.file), CrystalWords::Set { source: bundled(e.metadata.get("words_file")?) })));
    ScaleInputs { lobes, crystals }
}

fn rate(row: &KernelRow, ms: Option<f64>) -> String {
    match ms {
        Some(ms) if ms > 0.0 => format!("{:.2}", row.work / (ms * 1e-3) / 1e9),
        _ => "–".into(),
    }
}

fn ms_text(ms: Option<f64>) -> String {
    ms.map_or("–".into(), |m| format!("{m:.1}"))
}

fn result_view(r: KernelsResult) -> AnyView {
    let adapter = r.adapter.clone().unwrap_or_else(|| "none".into());
    let ran_on_gpu = r.rows.iter().any(|row| row.passed.is_some());
    let all_passed = ran_on_gpu && r.rows.iter().all(|row| row.passed != Some(false));
    view! {
        <p data-testid="kernels-adapter">{format!("WebGPU adapter: {adapter}")}</p>
        {r.gpu_unavailable.map(|why| view! { <p class="muted" data-testid="kernels-no-gpu">{format!("No GPU column: {why}")}</p> })}
        <p data-testid="kernels-verdict" data-passed=all_passed.to_string()>{if !ran_on_gpu {
            "Only the CPU backend ran: there is no GPU to compare."
        } else if all_passed {
            "Every GPU result agrees with the CPU oracle within its tolerance."
        } else {
            "Some GPU results disagree with the CPU oracle (see the table)."
        }}</p>
        <table class="kernels" data-testid="kernels-table">
            <thead><tr>
                <th>"kernel"</th><th>"shape"</th><th>"input"</th><th>"CPU ms"</th><th>"CPU rate"</th>
                <th>"GPU ms"</th><th>"GPU rate"</th><th>"unit"</th><th>"max error"</th><th>"tolerance"</th><th>"agrees"</th>
            </tr></thead>
            <tbody>
                {r.rows.into_iter().map(|row| {
                    let passed = match row.passed { Some(true) => "yes", Some(false) => "NO", None => "–" };
                    let error = match (&row.gpu_error, row.max_error) {
                        (Some(e), _) => e.clone(),
                        (None, Some(e)) => format!("{e:.2e}"),
                        _ => "–".into(),
                    };
                    view! {
                        <tr data-kernel=row.kernel.clone() data-passed=passed>
                            <td>{row.kernel.clone()}</td><td>{row.shape.clone()}</td><td>{row.input.clone()}</td>
                            <td>{ms_text(Some(row.cpu_ms))}</td><td>{rate(&row, Some(row.cpu_ms))}</td>
                            <td>{ms_text(row.gpu_ms)}</td><td>{rate(&row, row.gpu_ms)}</td><td>{row.unit.clone()}</td>
                            <td>{error}</td><td>{format!("{:.0e}", row.tolerance)}</td><td>{passed}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {(!r.scales.is_empty()).then(|| view! {
            <h3>"Each scale, end to end (bytes loaded)"</h3>
            <table class="kernels" data-testid="scales-table">
                <thead><tr><th>"scale"</th><th>"backend"</th><th>"ms"</th><th>"result"</th></tr></thead>
                <tbody>{r.scales.into_iter().map(|s| {
                    let (scale, value) = (s.scale.clone(), s.value.to_string());
                    view! {
                    <tr data-scale=scale data-value=value>
                        <td>{s.scale}</td><td>{s.backend}</td><td>{format!("{:.0}", s.ms)}</td><td>{format!("{} {:.6}", s.quantity, s.value)}</td>
                    </tr>
                    }
                }).collect_view()}</tbody>
            </table>
            <p class="muted">"On WebGPU: the galaxy's covariance matrices, the lobes' co-occurrence histogram and the crystals' raw silhouette; the rest of each scale (eigenvalues, spectral clustering, LDA, entropy) runs on the CPU."</p>
        })}
    }
    .into_any()
}

#[component]
pub fn ComputePage() -> impl IntoView {
    let state = expect_context::<AppState>();
    let run = move |mode: SuiteMode, scales: bool| {
        let inputs = if scales { scale_inputs(state) } else { ScaleInputs::default() };
        bridge::run_kernels(mode, real_source(state), scales, inputs)
    };
    view! {
        <section class="page compute">
            <h2>"Compute backends"</h2>
            <p>"The heavy kernels (Gram and covariance matrices, matrix products and the Lanczos mat-vecs, nearest neighbours with top-k, the co-occurrence histogram, distance sums per cluster) run on WebGPU when this browser offers a hardware adapter, and on the CPU otherwise. On the chosen backend: the galaxy's covariance matrices and its entropy's PCA and neighbours; the lobes' co-occurrence histogram, angular affinity and spectral embeddings; every silhouette of the crystals. Every GPU result can be checked against the CPU here."</p>
            <p class="muted">"Choose the backend with Backend at the top of the page."</p>
            <div class="controls">
                <button data-testid="kernels-check" on:click=move |_| run(SuiteMode::Check, false)>"Check kernels"</button>
                <button data-testid="kernels-bench" on:click=move |_| run(SuiteMode::Bench, true)>"Benchmark"</button>
                <button on:click=move |_| bridge::cancel() disabled=move || !state.kernels.get().is_running()>"Cancel"</button>
            </div>
            <p class="muted">"With a bundled dataset selected, the check and the benchmark add rows on its decoder; the benchmark also times each scale on each backend (its galaxy, the lobes of its co-occurrence bundle, the smallest crystal set)."</p>
            <div data-testid="kernels-result">
                {move || match state.kernels.get() {
                    Job::Idle => ().into_any(),
                    Job::Running { stage, fraction, .. } => progress_line(&stage, fraction, "kernels-progress", "kernels-status"),
                    Job::Done { result, .. } => result_view(*result),
                    Job::Failed(e) => error_line(e, "The kernel suite failed: ", "kernels-error"),
                    Job::Cancelled => view! { <p class="muted">"Cancelled."</p> }.into_any(),
                }}
            </div>
        </section>
    }
}
