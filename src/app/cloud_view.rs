//! The cloud itself (paper, Figure 6): the points on their first three principal components in an
//! interactive 3D view, beside the isotropic Gaussian cloud of the same N, d and total variance.
//! Both views share one camera, so they turn together.

use leptos::prelude::*;

use super::bridge;
use super::galaxy_page::selection_source;
use super::plots::cloud3d::Cloud3dView;
use super::state::{AppState, CloudState, LobesState, RunState};
use super::status::{error_line, progress_line};

fn share(v: f64, total: f64) -> String {
    if total > 0.0 {
        format!("{:.1}%", 100.0 * v / total)
    } else {
        "—".into()
    }
}

#[component]
pub fn CloudSection() -> impl IntoView {
    let state = expect_context::<AppState>();
    let camera = state.camera;

    // A new selection makes a shown cloud stale.
    Effect::new(move |_| {
        state.selection.track();
        if matches!(state.cloud.get_untracked(), CloudState::Done { .. } | CloudState::Failed(_)) {
            state.cloud.set(CloudState::Idle);
        }
    });

    let run = move || {
        if let Some((source, file)) = selection_source(state) {
            let tensor = Some(state.tensor.get_untracked()).filter(|t| !t.trim().is_empty());
            let params = state.galaxy_params.get_untracked();
            bridge::run_cloud(source, file, tensor, params.seed, params.sample);
        }
    };

    // A link with a camera shows the 3D view once the galaxy analysis is done (one job at a time).
    Effect::new(move |_| {
        let galaxy_done = matches!(state.galaxy.get(), RunState::Done { .. });
        if state.cloud_from_link.get() && galaxy_done && matches!(state.cloud.get_untracked(), CloudState::Idle) {
            state.cloud_from_link.set(false);
            run();
        }
    });

    view! {
        <Show when=move || state.selection.get().is_some()>
            <section class="cloud-section" data-testid="cloud-section">
                <h3>"The cloud in 3D"</h3>
                <p class="explain">
                    "Every point on its first three principal components, beside an isotropic Gaussian cloud of the "
                    "same N, d and total variance (the seed above): the decoder's cloud is elongated and lumpy, the "
                    "Gaussian one round (paper, Figure 6)."
                </p>
                <div class="controls">
                    <button class="run" data-testid="cloud-run" on:click=move |_| run()>"Show in 3D"</button>
                    <button class="cancel" disabled=move || !matches!(state.cloud.get(), CloudState::Running { .. })
                        on:click=move |_| bridge::cancel()>"Cancel"</button>
                </div>
                {move || match state.cloud.get() {
                    CloudState::Idle => ().into_any(),
                    CloudState::Running { stage, fraction, .. } => progress_line(&stage, fraction, "cloud-progress", "cloud-status"),
                    CloudState::Failed(error) => error_line(error, "", "cloud-error"),
                    CloudState::Cancelled => view! { <p class="muted">"Cancelled."</p> }.into_any(),
                    CloudState::Done { cloud, timings } => {
                        let total = cloud.total_variance;
                        let ev = cloud.explained_variance.clone();
                        let iso_ev = cloud.isotropic_explained_variance.clone();
                        let fmt_ev = |ev: &[f64]| ev.iter().map(|v| share(*v, total)).collect::<Vec<_>>().join(", ");
                        // A sample of the rows: which feature each point is.
                        let features = cloud.sample.as_ref().map(|s| s.indices().into_iter().map(|i| i as u32).collect::<Vec<u32>>());
                        let rows = cloud.sample.as_ref().map_or(cloud.n, |s| s.of);
                        // Colour by lobe when the lobes page has lobes of this very decoder.
                        let labels = match state.lobes.get() {
                            LobesState::Done { run, .. } => run.reports.first()
                                .filter(|r| r.decoder == cloud.input && r.agreement.labels_cooccurrence.len() == rows)
                                .map(|r| r.agreement.labels_cooccurrence.clone()),
                            _ => None,
                        };
                        let coloured = labels.is_some();
                        view! {
                            <div class="clouds" data-testid="clouds" data-input=cloud.input.clone()
                                data-explained=serde_json::to_string(&ev).unwrap_or_default()>
                                <Cloud3dView points=cloud.points.clone() camera=camera colour="#1f5aa6" point_name="feature"
                                    title=format!("{}: {} points; PC1–3 carry {} of the variance{}", cloud.input, cloud.n, fmt_ev(&ev),
                                        if coloured { "; coloured by co-occurrence lobe (Lobes tab)" } else { "" })
                                    testid="cloud-data" labels=labels.unwrap_or_default() selectable=true features=features />
                                <Cloud3dView points=cloud.isotropic_points.clone() camera=camera colour="#787878" point_name="point"
                                    title=format!("isotropic Gaussian, same N and d: PC1–3 carry {}", fmt_ev(&iso_ev))
                                    testid="cloud-isotropic" />
                            </div>
                            {cloud.sample.as_ref().map(|s| view! {
                                <p class="sample-note" data-testid="cloud-sample-note" data-rows=s.rows.to_string() data-of=s.of.to_string()>
                                    {format!("A uniform random sample of {} of the {} features (numpy's RandomState({}).choice, the galaxy analysis's rows): \
                                        the rows do not all fit this tab's memory budget, or the Features box asks for a sample. \
                                        Hover, selection and lobe colours name each point's own feature.", s.rows, s.of, s.seed)}
                                </p>
                            })}
                            <p class="muted">{format!("CPU (wasm): load {:.0} ms, PCA of both clouds {:.0} ms", timings.load_ms, timings.compute_ms)}</p>
                        }.into_any()
                    }
                }}
            </section>
        </Show>
    }
}
