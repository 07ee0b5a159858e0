//! The crystals page (atom scale, paper section 1): word-pair difference vectors, LDA distractor
//! removal judged by the silhouette of the tasks, the parallelogram quality of each task's quads
//! before and after, the word-length distractor, the crystal view, and the crystal search among
//! SAE features.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, HtmlInputElement};

use super::bridge::{self, CrystalJob};
use super::plots::crystal_view::{CrystalViewPlot, Projection, QuadMark};
use super::export::{provenance, stem_for, svg_of, ExportBar};
use super::chart_canvas::ChartCanvas;
use crate::chart_view::{ChartLayout, Zoom};
use super::plots::crystals::{draw_crystal_cluster, draw_quad_distributions, draw_silhouettes, draw_word_length, silhouette_chart, SILHOUETTE_ASPECT};
use crate::analysis::export::result_json;
use super::state::{AppState, CrystalsResult, Datasets, Job, LobesState, Selection};
use super::status::{error_line, error_line_with_retry, progress_line};
use crate::link::CrystalsLink;
use crate::analysis::crystals::{CrystalParams, CrystalReport, FeatureSubset, QuadSummary, Shrinkage, PAPER_TASKS};
use crate::formats::manifest::DatasetEntry;
use crate::formats::wordpairs::CrystalSet;
use crate::geometry::crystal_search::{CrystalCluster, CrystalSearchParams};
use crate::protocol::{CrystalWords, Request, Source};

/// The tasks of the bundled crystal sets: the paper's 12, then the two it left out.
fn bundled_tasks() -> Vec<String> {
    PAPER_TASKS.iter().chain(&["antonym", "synonym"]).map(|s| s.to_string()).collect()
}

/// The value of the vectors picker for the user's own files.
const LOCAL: &str = "local";

/// Vectors with their words the user chose: a vocabulary and task files, or a crystal set's
/// words JSON (`words`, `tasks`, as the bundled sets and `sae-geometry precompute` write it).
#[derive(Clone)]
struct LocalCrystals {
    vectors: File,
    words: CrystalWords,
    /// The task names, in order.
    tasks: Vec<String>,
}

fn url_source(file: &str) -> Source {
    Source::Url { url: format!("data/{file}"), name: file.to_string() }
}

/// Sorts the chosen files: `.txt` the vocabulary, `.json` the tasks (file stem = task name), the
/// one other file the vectors.
async fn read_local(files: Vec<File>) -> Result<LocalCrystals, String> {
    let mut vectors = None;
    let mut vocabulary = None;
    let mut tasks = Vec::new();
    let mut set = None;
    for f in files {
        let name = f.name();
        let lower = name.to_lowercase();
        let text = || async {
            let v = JsFuture::from(f.text()).await.map_err(|e| format!("could not read {name}: {e:?}"))?;
            v.as_string().ok_or_else(|| format!("{name} is not text"))
        };
        if lower.ends_with(".txt") {
            vocabulary = Some(text().await?);
        } else if lower.ends_with(".json") {
            let body = text().await?;
            // A crystal set's words JSON is an object with "words"; a task file is a list.
            if let Ok(parsed) = serde_json::from_str::<CrystalSet>(&body) {
                set = Some((parsed.tasks.iter().map(|t| t.name.clone()).collect::<Vec<_>>(), body));
                continue;
            }
            let stem = name.rsplit_once('.').map_or(name.clone(), |(s, _)| s.to_string());
            tasks.push((stem, body));
        } else if vectors.replace(f.clone()).is_some() {
            return Err("choose one vectors file (.npy, .npz or .safetensors), not several".into());
        }
    }
    let vectors = vectors.ok_or("choose the vectors file (.npy, .npz or .safetensors) too")?;
    if let Some((names, text)) = set {
        return Ok(LocalCrystals { vectors, words: CrystalWords::SetText { text }, tasks: names });
    }
    let vocabulary = vocabulary.ok_or(
        "choose the vocabulary too: a .txt file with one word a line, the rows in order (or a crystal set's words .json)",
    )?;
    if tasks.is_empty() {
        return Err("choose at least two task files (.json lists of {\"input\", \"output\"})".into());
    }
    tasks.sort();
    let names = tasks.iter().map(|t| t.0.clone()).collect();
    Ok(LocalCrystals { vectors, words: CrystalWords::Vocabulary { text: vocabulary, tasks }, tasks: names })
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".into(), |v| format!("{v:.digits$}"))
}

#[component]
pub fn CrystalsPage() -> impl IntoView {
    let state = expect_context::<AppState>();
    let sets = Memo::new(move |_| match state.datasets.get() {
        Datasets::Loaded(all) => all.into_iter().filter(|e| e.kind == "crystals").collect::<Vec<_>>(),
        _ => Vec::new(),
    });
    // The page starts from the address's choices (url_sync); a link that names them runs them.
    let linked = state.crystals_link.get_untracked();
    let chosen = RwSignal::new(linked.set.clone().unwrap_or_default());
    Effect::new(move |_| {
        let list = sets.get();
        let selected = match state.selection.get() {
            Some(Selection::Bundled(e)) if e.kind == "crystals" => Some(e.id),
            _ => None,
        };
        if let Some(id) = selected {
            chosen.set(id);
        } else if chosen.get_untracked().is_empty() {
            if let Some(first) = list.first() {
                chosen.set(first.id.clone());
            }
        }
    });
    let local = RwSignal::new_local(None::<LocalCrystals>);
    let local_error = RwSignal::new(None::<String>);
    let tasks_on = RwSignal::new(linked.tasks.clone().unwrap_or_else(|| PAPER_TASKS.iter().map(|s| s.to_string()).collect()));
    let components = RwSignal::new(linked.components.map_or(String::new(), |m| m.to_string()));
    let shrinkage = RwSignal::new(if linked.shrinkage { "auto" } else { "none" }.to_string());
    let sample = RwSignal::new(linked.sample.map_or("all".to_string(), |n| n.to_string()));
    let input_error = RwSignal::new(None::<String>);
    let view_a = RwSignal::new("country-capital".to_string());
    let view_b = RwSignal::new(String::new());
    let projection = RwSignal::new(Projection::Before);

    let task_names = move || -> Vec<String> {
        if chosen.get() == LOCAL {
            local.with(|l| l.as_ref().map(|l| l.tasks.clone()).unwrap_or_default())
        } else {
            bundled_tasks()
        }
    };
    let take = move |files: Vec<File>| {
        leptos::task::spawn_local(async move {
            match read_local(files).await {
                Ok(l) => {
                    let paper: Vec<String> = l.tasks.iter().filter(|t| PAPER_TASKS.contains(&t.as_str())).cloned().collect();
                    tasks_on.set(if paper.len() >= 2 { paper } else { l.tasks.clone() });
                    view_a.set(l.tasks.first().cloned().unwrap_or_default());
                    view_b.set(String::new());
                    local.set(Some(l));
                    local_error.set(None);
                    chosen.set(LOCAL.into());
                }
                Err(e) => local_error.set(Some(e)),
            }
        });
    };
    let on_files = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) else { return };
        let Some(list) = input.files() else { return };
        take((0..list.length()).filter_map(|i| list.get(i)).collect());
    };
    // Files dropped on the data panel with word pairs among them come here.
    Effect::new(move |_| {
        if let Some(files) = state.dropped_crystal_files.get() {
            state.dropped_crystal_files.set(None);
            take(files);
        }
    });

    // The inputs of a request: vectors, words, file, and a title.
    let inputs = move || -> Option<(Source, CrystalWords, Option<File>)> {
        if chosen.get_untracked() == LOCAL {
            return local.with_untracked(|l| {
                l.as_ref().map(|l| {
                    (Source::File { name: l.vectors.name() }, l.words.clone(), Some(l.vectors.clone()))
                })
            });
        }
        let entry: DatasetEntry = sets.get_untracked().into_iter().find(|e| e.id == chosen.get_untracked())?;
        let words = entry.metadata.get("words_file")?.clone();
        Some((url_source(&entry.file), CrystalWords::Set { source: url_source(&words) }, None))
    };
    let params = move || -> Result<CrystalParams, String> {
        let max_components = match components.get_untracked().trim() {
            "" => None,
            t => Some(t.parse::<usize>().map_err(|_| "LDA components must be a whole number (or empty: tasks - 1)".to_string())?),
        };
        let tasks = tasks_on.get_untracked();
        if tasks.len() < 2 {
            return Err("choose at least two tasks".into());
        }
        Ok(CrystalParams {
            tasks: Some(tasks),
            max_components,
            shrinkage: (shrinkage.get_untracked() == "auto").then_some(Shrinkage::Auto),
            silhouette_sample: (sample.get_untracked() != "all").then(|| sample.get_untracked().parse().unwrap_or(5000)),
            seed: 0,
            list: 5,
        })
    };
    let view_tasks = move || {
        let mut v = vec![view_a.get_untracked()];
        let b = view_b.get_untracked();
        if !b.is_empty() && b != v[0] {
            v.push(b);
        }
        v
    };
    let run = move |_: ()| {
        let (Some((vectors, words, file)), Ok(params)) = (inputs(), params()) else {
            input_error.set(Some(params().err().unwrap_or_else(|| "choose a crystal set, or your own files".into())));
            return;
        };
        input_error.set(None);
        // Own files cannot be linked to: the address then names no crystals run.
        let set = chosen.get_untracked();
        state.crystals_link.set(CrystalsLink {
            shown: set != LOCAL,
            set: Some(set),
            tasks: params.tasks.clone().filter(|t| *t != PAPER_TASKS.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            components: params.max_components,
            shrinkage: params.shrinkage.is_some(),
            sample: params.silhouette_sample,
        });
        let view = Some(view_tasks());
        let backend = state.backend.get_untracked();
        bridge::run_crystal_job(
            CrystalJob::Analysis,
            move |job| Request::Crystals { job, vectors, tensor: None, words, params, view, backend },
            file,
        );
    };
    let show_view = move |_| {
        let (Some((vectors, words, file)), Ok(params)) = (inputs(), params()) else { return };
        let view = view_tasks();
        bridge::run_crystal_job(
            CrystalJob::View,
            move |job| Request::CrystalView { job, vectors, tensor: None, words, params, view },
            file,
        );
    };
    let running = move || state.crystals.get().is_running() || state.crystal_view.get().is_running() || state.crystal_search.get().is_running();
    // A link with a crystals run: run it once the bundled sets are known.
    let pending = StoredValue::new(linked.shown);
    Effect::new(move |_| {
        if pending.get_value() && !sets.get().is_empty() {
            pending.set_value(false);
            run(());
        }
    });

    view! {
        <section class="page crystals">
            <h2>"Atom scale: crystals of word pairs"</h2>
            <p class="explain">
                "Each word pair (Austria → Vienna) gives a difference vector act(input) − act(output). Pairs of one task "
                "should share a direction, so that two pairs form a parallelogram or trapezoid; distractor dimensions such "
                "as word length hide this. Linear discriminant analysis with the tasks as classes projects the distractors "
                "out: the tasks' silhouette rises and the quads straighten (paper, section 1)."
            </p>
            <div class="controls">
                <label>"Vectors "
                    <select data-testid="crystals-input" on:change=move |ev| chosen.set(event_target_value(&ev))>
                        {move || sets.get().into_iter().map(|e| {
                            let id = e.id.clone();
                            view! { <option value=id.clone() selected=move || chosen.get() == id>{e.title.clone()}</option> }
                        }).collect_view()}
                        {move || local.with(|l| l.as_ref().map(|l| {
                            let title = format!("Your files: {} + {} tasks", l.vectors.name(), l.tasks.len());
                            view! { <option value=LOCAL selected=move || chosen.get() == LOCAL>{title}</option> }
                        }))}
                    </select>
                </label>
                <label title="A vectors file (.npy/.npz/.safetensors, one row per word), the vocabulary (.txt, one word a line, in row order) and task files (.json lists of {input, output}; the file name is the task), or instead of the last two a crystal set's words .json">
                    "Your files "
                    <input type="file" multiple data-testid="crystals-files" accept=".npy,.npz,.safetensors,.txt,.json" on:change=on_files />
                </label>
                <label>"LDA components "
                    <input type="number" min="1" class="small" placeholder="tasks − 1" data-testid="crystals-components"
                        prop:value=components on:input=move |ev| components.set(event_target_value(&ev)) />
                </label>
                <label>"Shrinkage "
                    <select data-testid="crystals-shrinkage" on:change=move |ev| shrinkage.set(event_target_value(&ev))>
                        <option value="none" selected=move || shrinkage.get() == "none">"none (solver svd, the paper's)"</option>
                        <option value="auto" selected=move || shrinkage.get() == "auto">"Ledoit-Wolf (solver eigen)"</option>
                    </select>
                </label>
                <label>"Silhouette over "
                    <select data-testid="crystals-sample" on:change=move |ev| sample.set(event_target_value(&ev))>
                        <option value="all" selected=move || sample.get() == "all">"all pairs (exact)"</option>
                        <option value="5000" selected=move || sample.get() == "5000">"5,000 sampled pairs (faster)"</option>
                    </select>
                </label>
                <button class="run" data-testid="crystals-run" on:click=move |_| run(())>"Analyse crystals"</button>
                <button class="cancel" data-testid="crystals-cancel" disabled=move || !running() on:click=move |_| bridge::cancel()>"Cancel"</button>
            </div>
            {move || local_error.get().map(|e| view! { <p class="error" role="alert" data-testid="crystals-files-error">{e}</p> })}
            <details class="tasks">
                <summary>{move || format!("Tasks ({} chosen)", tasks_on.get().len())}</summary>
                <div class="task-list">
                    {move || task_names().into_iter().map(|name| {
                        let n = name.clone();
                        let checked = move || tasks_on.get().contains(&n);
                        let n2 = name.clone();
                        view! { <label class="task"><input type="checkbox" data-testid="crystals-task" value=name.clone() prop:checked=checked
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                tasks_on.update(|t| { t.retain(|x| x != &n2); if on { t.push(n2.clone()); } });
                            } />{name}</label> }
                    }).collect_view()}
                </div>
            </details>
            {move || input_error.get().map(|e| view! { <p class="error" role="alert" data-testid="crystals-input-error">{e}</p> })}
            {move || match state.crystals.get() {
                Job::Idle => view! { <p class="muted" data-testid="crystals-status">"Choose vectors and tasks, then press Analyse crystals."</p> }.into_any(),
                Job::Running { stage, fraction, .. } => progress_line(&stage, fraction, "crystals-progress", "crystals-status"),
                Job::Failed(error) => error_line_with_retry(error, "Could not analyse the crystals: ", "crystals-error", move || run(())),
                Job::Cancelled => view! { <p class="muted" data-testid="crystals-status">"Cancelled."</p> }.into_any(),
                Job::Done { result, timings, backend } => result_view(*result, format!(
                    "{backend}: load {:.0} ms, analysis {:.0} ms", timings.load_ms, timings.compute_ms)),
            }}
            <h3>"Crystal view"</h3>
            <div class="controls">
                <label>"Task "
                    <select data-testid="view-task-a" on:change=move |ev| view_a.set(event_target_value(&ev))>
                        {move || task_names().into_iter().map(|t| {
                            let t2 = t.clone();
                            view! { <option value=t.clone() selected=move || view_a.get() == t2>{t.clone()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"with "
                    <select data-testid="view-task-b" on:change=move |ev| view_b.set(event_target_value(&ev))>
                        <option value="" selected=move || view_b.get().is_empty()>"(one task)"</option>
                        {move || task_names().into_iter().map(|t| {
                            let t2 = t.clone();
                            view! { <option value=t.clone() selected=move || view_b.get() == t2>{t.clone()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <button data-testid="view-show" on:click=show_view>"Show"</button>
                <span class="toggle" role="radiogroup" aria-label="projection">
                    {Projection::ALL.into_iter().map(|p| view! {
                        <label><input type="radio" name="crystal-projection" data-testid=format!("projection-{}", p.name())
                            prop:checked=move || projection.get() == p on:change=move |_| projection.set(p) />{p.title()}</label>
                    }).collect_view()}
                </span>
            </div>
            {move || match state.crystal_view.get() {
                Job::Idle => view! { <p class="muted" data-testid="view-status">"The view comes with the analysis; pick other tasks and press Show."</p> }.into_any(),
                Job::Running { stage, fraction, .. } => progress_line(&stage, fraction, "view-progress", "view-status"),
                Job::Failed(error) => error_line(error, "Could not draw the crystal view: ", "view-error"),
                Job::Cancelled => view! { <p class="muted" data-testid="view-status">"Cancelled."</p> }.into_any(),
                Job::Done { result, .. } => {
                    let view = *result;
                    // The best quads of each task shown, from the analysis: before or after LDA.
                    let quads = Signal::derive(move || {
                        let Job::Done { result: r, .. } = state.crystals.get() else { return Vec::new() };
                        let after = projection.get() != Projection::Before;
                        marks(&r, &view_names(&state), after)
                    });
                    view! { <CrystalViewPlot view=view projection=projection.into() quads=quads /> }.into_any()
                }
            }}
            <SearchPanel />
        </section>
    }
}

/// The tasks of the crystal view currently shown.
fn view_names(state: &AppState) -> Vec<String> {
    match state.crystal_view.get_untracked() {
        Job::Done { result, .. } => result.tasks.clone(),
        _ => Vec::new(),
    }
}

/// The two best quads of each shown task (before or after LDA).
fn marks(result: &CrystalsResult, tasks: &[String], after: bool) -> Vec<QuadMark> {
    tasks
        .iter()
        .enumerate()
        .filter_map(|(t, name)| result.report.parallelogram.get(name).map(|p| (t, if after { &p.after } else { &p.before })))
        .flat_map(|(task, side)| side.best.iter().take(2).map(move |q| QuadMark { task, pairs: q.pairs }))
        .collect()
}

fn result_view(result: CrystalsResult, timing: String) -> AnyView {
    let r = result.report;
    let silhouette_canvas = NodeRef::<leptos::html::Canvas>::new();
    let length_canvas = NodeRef::<leptos::html::Canvas>::new();
    let distribution_canvas = NodeRef::<leptos::html::Canvas>::new();
    let chart = || (RwSignal::new(ChartLayout::default()), RwSignal::new(Zoom::default()));
    let ((silhouette_layout, silhouette_zoom), (length_layout, length_zoom), (distribution_layout, distribution_zoom)) = (chart(), chart(), chart());
    let (r1, r2, r3, r4, r5) = (r.clone(), r.clone(), r.clone(), r.clone(), r.clone());
    let state = expect_context::<AppState>();
    Effect::new(move |_| {
        if let Some(Ok(drawn)) = distribution_canvas.get().map(|c| draw_quad_distributions(&c, &r3, &distribution_zoom.get())) {
            distribution_layout.set(drawn);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(drawn)) = silhouette_canvas.get().map(|c| draw_silhouettes(&c, &r1, &silhouette_zoom.get())) {
            silhouette_layout.set(drawn);
        }
    });
    Effect::new(move |_| {
        if let (Some(c), Some(wl)) = (length_canvas.get(), r2.word_length.as_ref()) {
            if let Ok(drawn) = draw_word_length(&c, wl, r2.layer, &length_zoom.get()) {
                length_layout.set(drawn);
            }
        }
    });
    let best_lda = r.silhouette_lda.iter().max_by(|a, b| a.1.total_cmp(b.1)).map(|(m, v)| (*m, *v));
    let tasks_text: Vec<String> =
        r.tasks.iter().map(|t| if t.pairs_dropped > 0 { format!("{} ({}, {} dropped)", t.name, t.pairs_used, t.pairs_dropped) } else { format!("{} ({})", t.name, t.pairs_used) }).collect();
    let word_length = r.word_length.clone();
    view! {
        <div class="result">
            <dl class="summary" data-testid="crystals-summary" data-input=r.input.clone() data-pairs=r.pairs.to_string()
                data-silhouette-raw=r.silhouette_raw.to_string()>
                <dt>"Data"</dt>
                <dd>{format!("{} — {}{} ({} words, d = {}); {} pairs", r.input, r.source, r.layer.map_or(String::new(), |l| format!(", layer {l}")), r.words, r.d, r.pairs)}</dd>
                <dt>"Tasks (pairs used)"</dt>
                <dd>{tasks_text.join(", ")}</dd>
                <dt>"Silhouette of the tasks"</dt>
                <dd class="big">{format!("raw differences {:.4}", r.silhouette_raw)}
                    {best_lda.map(|(m, v)| format!(" → {v:.4} after LDA ({m} components)"))}
                    {r.params.silhouette_sample.map(|s| format!(" (on {s} sampled pairs)"))}</dd>
                <dt>{format!("LDA (solver {}{})", r.lda.solver, r.lda.shrinkage.map_or("", |_| ", Ledoit-Wolf shrinkage"))}</dt>
                <dd>{if r.lda.shrinkage.is_none() {
                    format!("{} components, rank {}; explained variance ratio {}", r.lda.max_components, r.lda.rank,
                        r.lda.explained_variance_ratio.iter().take(5).map(|v| format!("{v:.3}")).collect::<Vec<_>>().join(", "))
                } else {
                    // scikit-learn's ratios for solver 'eigen' divide by a sum of eigenvalues of the
                    // indefinite Sb = St - Sw, which can be negative: not shown as shares.
                    format!("{} components", r.lda.max_components)
                }}</dd>
                <dt>"Ran on"</dt>
                <dd data-testid="crystals-backend">{timing}</dd>
            </dl>
            <table class="sweep" data-testid="silhouette-table">
                <thead><tr><th>"components"</th><th>"raw"</th>{r.silhouette_lda.keys().map(|m| view! { <th>{m.to_string()}</th> }).collect_view()}</tr></thead>
                <tbody><tr><th>"silhouette"</th><td data-testid="silhouette-raw" data-value=r.silhouette_raw.to_string()>{format!("{:.4}", r.silhouette_raw)}</td>
                    {r.silhouette_lda.iter().map(|(m, v)| view! { <td data-components=m.to_string() data-value=v.to_string()>{format!("{v:.4}")}</td> }).collect_view()}
                </tr></tbody>
            </table>
            <ChartCanvas canvas=silhouette_canvas layout=silhouette_layout zoom=silhouette_zoom testid="silhouette-canvas"
                label="Silhouette of the task clusters against the number of LDA components, with the raw baseline" />
            <ExportBar testid="crystals-export" stem=stem_for(&r.input, "crystals")
                canvas=silhouette_canvas
                svg=move |_| svg_of(SILHOUETTE_ASPECT, |root| silhouette_chart(root, &r4, 1.0, &silhouette_zoom.get_untracked()).map(|_| ()))
                json=move |_| Ok(result_json(&r5, &provenance(state))) />
            <h3>{format!("Parallelograms: quads of two pairs of one task, before and after LDA ({} components)", r.parallelogram_components)}</h3>
            {parallelogram_table(&r)}
            <p class="muted">"Distribution of each task's relative errors: grey before LDA, blue after (share of the task's quads per bin, 0 to 2)."</p>
            <ChartCanvas canvas=distribution_canvas layout=distribution_layout zoom=distribution_zoom testid="quad-distributions"
                label="Per task, the distribution of its quads' relative errors before and after LDA" />
            <h3>"The word-length distractor"</h3>
            {match word_length {
                Some(wl) => view! {
                    <p data-testid="word-length" data-r=wl.r.to_string() data-slope=wl.slope.to_string()>
                        {format!("PC0 of the z-scored differences against len(output token) − len(input token): r = {:.4}, slope {:.4} per character, {} pairs, PC0 holds {:.1}% of the variance.{}",
                            wl.r, wl.slope, wl.n, 100.0 * wl.explained_variance_ratio,
                            if r.layer.is_some_and(|l| l > 0) { " The paper measures it at layer 0." } else { "" })}
                    </p>
                    <ChartCanvas canvas=length_canvas layout=length_layout zoom=length_zoom testid="word-length-canvas"
                        label="PC0 of the z-scored differences against the length difference of the words" />
                }.into_any(),
                None => view! { <p class="muted" data-testid="word-length">{format!("No word-length fit: {}", r.word_length_error.clone().unwrap_or_default())}</p> }.into_any(),
            }}
        </div>
    }
    .into_any()
}

fn quad_list(side: &QuadSummary, best: bool) -> String {
    let list = if best { &side.best } else { &side.worst };
    list.iter()
        .map(|q| format!("({}, {}) & ({}, {}): {:.3} / cos {:.3}", q.words[0], q.words[1], q.words[2], q.words[3], q.relative_error, q.cosine))
        .collect::<Vec<_>>()
        .join("; ")
}

fn parallelogram_table(r: &CrystalReport) -> AnyView {
    let rows: Vec<_> = r.tasks.iter().filter_map(|t| r.parallelogram.get(&t.name).map(|p| (t.name.clone(), p.clone()))).collect();
    view! {
        <table class="sweep" data-testid="parallelogram-table">
            <thead><tr><th>"task"</th><th>"quads"</th>
                <th title="median of |(b − a) − (d − c)| / mean(|b − a|, |d − c|); 0 is a parallelogram">"median relative error: before → after"</th>
                <th title="median cosine of b − a and d − c; 1 is a trapezoid">"median cosine: before → after"</th>
                <th>"best and worst quads (after LDA)"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|(name, p)| view! {
                    <tr data-task=name.clone()
                        data-before-rel=p.before.median_relative_error.map(|v| v.to_string()).unwrap_or_default()
                        data-after-rel=p.after.median_relative_error.map(|v| v.to_string()).unwrap_or_default()
                        data-before-cos=p.before.median_cosine.map(|v| v.to_string()).unwrap_or_default()
                        data-after-cos=p.after.median_cosine.map(|v| v.to_string()).unwrap_or_default()>
                        <th>{name.clone()}</th><td>{p.quads.to_string()}</td>
                        <td>{format!("{} → {}", fmt_opt(p.before.median_relative_error, 3), fmt_opt(p.after.median_relative_error, 3))}</td>
                        <td>{format!("{} → {}", fmt_opt(p.before.median_cosine, 3), fmt_opt(p.after.median_cosine, 3))}</td>
                        <td><details><summary>"quads"</summary>
                            <p><strong>"best: "</strong>{quad_list(&p.after, true)}</p>
                            <p><strong>"worst: "</strong>{quad_list(&p.after, false)}</p>
                        </details></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Crystal search among SAE features: a decoder, a subset of its features, k-means of all their
/// pairwise differences, and the clusters closest to parallelograms, each drawn small.
#[component]
fn SearchPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let decoders = Memo::new(move |_| match state.datasets.get() {
        Datasets::Loaded(all) => all.into_iter().filter(|e| e.kind == "points" && e.metadata.get("kind").is_some_and(|k| k == "sae")).collect::<Vec<_>>(),
        _ => Vec::new(),
    });
    let decoder = RwSignal::new(String::new());
    Effect::new(move |_| {
        if decoder.get_untracked().is_empty() {
            if let Some(d) = decoders.get().first() {
                decoder.set(d.id.clone());
            }
        }
    });
    let subset = RwSignal::new("first".to_string());
    let count = RwSignal::new("300".to_string());
    let k = RwSignal::new("300".to_string());
    let normalised = RwSignal::new(false);
    let seed = RwSignal::new("0".to_string());
    let error = RwSignal::new(None::<String>);
    // Lobes of the chosen decoder from the Lobes tab, if any.
    let lobes = move || match state.lobes.get() {
        LobesState::Done { run, .. } => run.reports.first().and_then(|r| {
            let entry = decoders.get().into_iter().find(|d| d.id == decoder.get())?;
            (r.decoder == entry.file).then(|| r.agreement.labels_cooccurrence.clone())
        }),
        _ => None,
    };
    let run = move |_| {
        let Some(entry) = decoders.get_untracked().into_iter().find(|d| d.id == decoder.get_untracked()) else { return };
        let parse = |s: String, what: &str| s.trim().parse::<usize>().map_err(|_| format!("{what} must be a whole number"));
        let result = (|| -> Result<(FeatureSubset, CrystalSearchParams), String> {
            let n = parse(count.get_untracked(), "the feature count")?;
            let choice = subset.get_untracked();
            let features = match choice.strip_prefix("lobe-") {
                Some(l) => {
                    let l: u32 = l.parse().map_err(|_| "unknown lobe".to_string())?;
                    let labels = lobes().ok_or("run the Lobes tab on this SAE first")?;
                    FeatureSubset::Indices(labels.iter().enumerate().filter(|(_, &x)| x == l).map(|(i, _)| i as u32).take(n).collect())
                }
                None if choice == "selected" => {
                    let selected = state.feature_selection.get_untracked().ok_or("select features first (a lobe, or a box on the lobe map)")?;
                    FeatureSubset::Indices(selected.features.into_iter().filter(|&f| (f as usize) < entry.n).take(n).collect())
                }
                None if choice == "norm" => FeatureSubset::LargestNorm(n),
                None => FeatureSubset::Indices((0..n.min(entry.n) as u32).collect()),
            };
            let params = CrystalSearchParams {
                k: parse(k.get_untracked(), "k")?,
                normalised: normalised.get_untracked(),
                seed: parse(seed.get_untracked(), "the seed")? as u64,
                ..CrystalSearchParams::default()
            };
            Ok((features, params))
        })();
        match result {
            Ok((features, params)) => {
                error.set(None);
                let source = url_source(&entry.file);
                let budget = Some(bridge::tab_budget(state).bytes);
                bridge::run_crystal_job(
                    CrystalJob::Search,
                    move |job| Request::CrystalSearch { job, decoder: source, tensor: None, features, params, budget },
                    None,
                );
            }
            Err(e) => error.set(Some(e)),
        }
    };
    view! {
        <h3>"Crystal search among SAE features"</h3>
        <p class="explain">
            "All pairwise differences of a subset of decoder rows, clustered by k-means (u and −u count as one edge); "
            "the clusters whose pairs come closest to parallelograms (or, normalised, to trapezoids) are listed, each drawn "
            "on its features' first two principal axes."
        </p>
        <div class="controls">
            <label>"SAE "
                <select data-testid="search-input" on:change=move |ev| decoder.set(event_target_value(&ev))>
                    {move || decoders.get().into_iter().map(|e| {
                        let id = e.id.clone();
                        view! { <option value=id.clone() selected=move || decoder.get() == id>{e.title.clone()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>"features "
                <select data-testid="search-subset" on:change=move |ev| subset.set(event_target_value(&ev))>
                    <option value="first">"the first N"</option>
                    <option value="norm">"the N of largest decoder norm"</option>
                    {move || state.feature_selection.get().map(|sel| view! {
                        <option value="selected" data-testid="search-subset-selected">{format!("the selected features ({}), first N", sel.features.len())}</option>
                    })}
                    {move || lobes().map(|labels| {
                        let k = labels.iter().copied().max().map_or(0, |m| m + 1);
                        (0..k).map(|l| view! { <option value=format!("lobe-{l}")>{format!("lobe {l} (Lobes tab), first N")}</option> }).collect_view()
                    })}
                </select>
            </label>
            <label>"N " <input type="number" min="4" class="small" data-testid="search-count" prop:value=count on:input=move |ev| count.set(event_target_value(&ev)) /></label>
            <label>"k " <input type="number" min="1" class="small" data-testid="search-k" prop:value=k on:input=move |ev| k.set(event_target_value(&ev)) /></label>
            <label><input type="checkbox" data-testid="search-normalised" prop:checked=normalised on:change=move |ev| normalised.set(event_target_checked(&ev)) />"normalised (trapezoids)"</label>
            <label>"seed " <input type="number" min="0" class="small" data-testid="search-seed" prop:value=seed on:input=move |ev| seed.set(event_target_value(&ev)) /></label>
            <button class="run" data-testid="search-run" on:click=run>"Search"</button>
        </div>
        {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="search-input-error">{e}</p> })}
        {move || match state.crystal_search.get() {
            Job::Idle => view! { <p class="muted" data-testid="search-status">"Pick an SAE and a subset, then press Search."</p> }.into_any(),
            Job::Running { stage, fraction, .. } => progress_line(&stage, fraction, "search-progress", "search-status"),
            Job::Failed(e) => error_line(e, "Crystal search failed: ", "search-error"),
            Job::Cancelled => view! { <p class="muted" data-testid="search-status">"Cancelled."</p> }.into_any(),
            Job::Done { result, timings, backend } => view! {
                <p data-testid="search-summary" data-clusters=result.clusters.len().to_string()>
                    {format!("{} features, {} pairs, k = {}{}: {} iterations, inertia {:.4}; {backend}, {:.1} s",
                        result.m, result.pairs, result.k, if result.normalised { " (normalised)" } else { "" },
                        result.iterations, result.inertia, timings.compute_ms / 1000.0)}
                </p>
                <div class="crystal-grid">
                    {result.clusters.iter().map(|c| view! { <ClusterCard cluster=c.clone() /> }).collect_view()}
                </div>
            }.into_any(),
        }}
    }
}

#[component]
fn ClusterCard(cluster: CrystalCluster) -> impl IntoView {
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let (layout, zoom) = (RwSignal::new(ChartLayout::default()), RwSignal::new(Zoom::default()));
    let c = cluster.clone();
    Effect::new(move |_| {
        if let Some(Ok(drawn)) = canvas.get().map(|el| draw_crystal_cluster(&el, &c, &zoom.get())) {
            layout.set(drawn);
        }
    });
    let best = cluster.quads.first().map(|q| {
        format!("best quad: features {} {} {} {} (relative error {:.3}, cos {:.3})", q.features[0], q.features[1], q.features[2], q.features[3], q.relative_error, q.cosine)
    });
    view! {
        <figure class="crystal-card" data-testid="crystal-cluster" data-median=cluster.median_relative_error.to_string()>
            <ChartCanvas canvas=canvas layout=layout zoom=zoom testid=format!("crystal-cluster-{}", cluster.cluster) class="small"
                label=format!("Crystal cluster {}: its features on their first two principal axes", cluster.cluster)
                hint="Hover a feature; drag, scroll, +/−." />
            <figcaption>
                {format!("cluster {}: {} pairs; median relative error {:.3}, median cos {:.3}", cluster.cluster, cluster.size, cluster.median_relative_error, cluster.median_cosine)}
                <br />{best}
            </figcaption>
        </figure>
    }
}
