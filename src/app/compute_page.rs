//! The Compute page: which backend runs the heavy kernels (auto, CPU, WebGPU), and the kernel
//! suite: every kernel checked against the CPU oracle, timed on both backends, and the galaxy
//! scale end to end on each.

use leptos::prelude::*;

use super::bridge;
use super::galaxy_page::selection_source;
use super::state::{AppState, Job, KernelsResult};
use super::status::{error_line, progress_line};
use crate::compute::backend::{BackendChoice, KernelRow, SuiteMode};
use crate::protocol::Source;

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
            <h3>"Galaxy scale, end to end (bytes loaded)"</h3>
            <table class="kernels" data-testid="scales-table">
                <thead><tr><th>"scale"</th><th>"backend"</th><th>"ms"</th><th>"power-law slope"</th></tr></thead>
                <tbody>{r.scales.into_iter().map(|s| view! {
                    <tr><td>{s.scale}</td><td>{s.backend}</td><td>{format!("{:.0}", s.ms)}</td><td>{format!("{:.6}", s.slope)}</td></tr>
                }).collect_view()}</tbody>
            </table>
            <p class="muted">"The lobe and atom scales run on the CPU backend for now."</p>
        })}
    }
    .into_any()
}

#[component]
pub fn ComputePage() -> impl IntoView {
    let state = expect_context::<AppState>();
    let run = move |mode: SuiteMode, scales: bool| bridge::run_kernels(mode, real_source(state), scales);
    view! {
        <section class="compute">
            <h2>"Compute backends"</h2>
            <p>"The heavy kernels (Gram and covariance matrices, matrix products, nearest neighbours with top-k, the co-occurrence histogram) run on WebGPU when this browser offers an adapter, and on the CPU otherwise. The galaxy scale's covariance matrices use the chosen backend; every GPU result can be checked against the CPU here."</p>
            <p class="muted">"Choose the backend with Backend at the top of the page."</p>
            <div class="controls">
                <button data-testid="kernels-check" on:click=move |_| run(SuiteMode::Check, false)>"Check kernels"</button>
                <button data-testid="kernels-bench" on:click=move |_| run(SuiteMode::Bench, true)>"Benchmark"</button>
                <button on:click=move |_| bridge::cancel() disabled=move || !state.kernels.get().is_running()>"Cancel"</button>
            </div>
            <p class="muted">"With a bundled dataset selected, the check and the benchmark add rows on its decoder (and the benchmark times its galaxy analysis on each backend)."</p>
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
