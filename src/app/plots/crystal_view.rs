//! The crystal view: the words of one or two word-pair tasks in 2-D, each pair an edge from its
//! input word (hollow dot) to its output word (filled dot), coloured by task; chosen quads drawn
//! with their closing edges and their words written; zoom with the wheel, pan by dragging, hover a
//! word for its pairs. The projection switches between the raw vectors (before distractor
//! removal) and the LDA projection (after), so that the user sees the quads straighten.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, MouseEvent, WheelEvent};

use super::lobes::lobe_css;
use super::viewport::{nearest_within, Viewport};
use crate::analysis::crystals::CrystalView;

/// Which 2-D placement of the words is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    /// PCA of the raw word vectors (before distractor removal).
    Before,
    /// PCA of the word vectors projected on the LDA axes (after).
    After,
    /// The first two LDA axes.
    LdaAxes,
}

impl Projection {
    pub const ALL: [Projection; 3] = [Projection::Before, Projection::After, Projection::LdaAxes];

    pub fn name(self) -> &'static str {
        match self {
            Projection::Before => "before",
            Projection::After => "after",
            Projection::LdaAxes => "lda-axes",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Projection::Before => "Before: PCA of the raw vectors",
            Projection::After => "After: PCA of the LDA projection",
            Projection::LdaAxes => "LDA axes 1 and 2",
        }
    }

    fn points(self, view: &CrystalView) -> &[[f64; 2]] {
        match self {
            Projection::Before => &view.raw_pca,
            Projection::After => &view.lda_pca,
            Projection::LdaAxes => &view.lda_axes,
        }
    }
}

/// A quad to draw: two pairs of one task (indices into the task's pair list).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuadMark {
    pub task: usize,
    pub pairs: [u32; 2],
}

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten()?.dyn_into().ok()
}

/// The words `[a, b, c, d]` (indices into `view.words`) of a quad, if both pairs are shown.
fn quad_words(view: &CrystalView, q: &QuadMark) -> Option<[u32; 4]> {
    let find = |i: u32| view.pairs.iter().find(|p| p.task == q.task && p.index == i as usize).map(|p| p.words);
    let ([a, b], [c, d]) = (find(q.pairs[0])?, find(q.pairs[1])?);
    Some([a, b, c, d])
}

fn draw(canvas: &HtmlCanvasElement, view: &CrystalView, screen: &[(f64, f64)], quads: &[QuadMark], hover: Option<usize>, ratio: f64) {
    let Some(ctx) = context(canvas) else { return };
    let (w, h) = (canvas.width() as f64, canvas.height() as f64);
    ctx.set_fill_style_str("#ffffff");
    ctx.fill_rect(0.0, 0.0, w, h);
    let dot = 2.2 * ratio;
    let many = view.pairs.len() > 400;
    ctx.set_global_alpha(if many { 0.35 } else { 0.7 });
    ctx.set_line_width(ratio);
    for p in &view.pairs {
        let colour = lobe_css(p.task);
        let (a, b) = (screen[p.words[0] as usize], screen[p.words[1] as usize]);
        ctx.set_stroke_style_str(&colour);
        ctx.set_fill_style_str(&colour);
        ctx.begin_path();
        ctx.move_to(a.0, a.1);
        ctx.line_to(b.0, b.1);
        ctx.stroke();
        ctx.fill_rect(b.0 - dot, b.1 - dot, 2.0 * dot, 2.0 * dot);
        ctx.stroke_rect(a.0 - dot, a.1 - dot, 2.0 * dot, 2.0 * dot);
    }
    ctx.set_global_alpha(1.0);
    ctx.set_font(&format!("{}px sans-serif", (12.0 * ratio).round()));
    for q in quads {
        let Some([a, b, c, d]) = quad_words(view, q) else { continue };
        let at = |i: u32| screen[i as usize];
        ctx.set_stroke_style_str("#d62728");
        ctx.set_line_width(2.5 * ratio);
        for (u, v) in [(a, b), (c, d)] {
            ctx.begin_path();
            ctx.move_to(at(u).0, at(u).1);
            ctx.line_to(at(v).0, at(v).1);
            ctx.stroke();
        }
        ctx.set_stroke_style_str("#555555");
        ctx.set_line_width(1.2 * ratio);
        let _ = ctx.set_line_dash(&js_sys::Array::of2(&(5.0 * ratio).into(), &(4.0 * ratio).into()));
        for (u, v) in [(a, c), (b, d)] {
            ctx.begin_path();
            ctx.move_to(at(u).0, at(u).1);
            ctx.line_to(at(v).0, at(v).1);
            ctx.stroke();
        }
        let _ = ctx.set_line_dash(&js_sys::Array::new());
        ctx.set_fill_style_str("#222222");
        for i in [a, b, c, d] {
            let _ = ctx.fill_text(&view.words[i as usize], at(i).0 + 4.0 * ratio, at(i).1 - 4.0 * ratio);
        }
    }
    if let Some(i) = hover.filter(|&i| i < screen.len()) {
        let (x, y) = screen[i];
        ctx.set_stroke_style_str("#d64520");
        ctx.set_line_width(2.0 * ratio);
        ctx.stroke_rect(x - 5.0 * ratio, y - 5.0 * ratio, 10.0 * ratio, 10.0 * ratio);
        ctx.set_fill_style_str("#000000");
        let _ = ctx.fill_text(&view.words[i], x + 7.0 * ratio, y + 4.0 * ratio);
    }
}

/// The crystal view of `view` in `projection`, with `quads` drawn.
#[component]
pub fn CrystalViewPlot(view: CrystalView, projection: Signal<Projection>, quads: Signal<Vec<QuadMark>>) -> impl IntoView {
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let hover = RwSignal::new(None::<usize>);
    let data = StoredValue::new(view);
    let fit = move |p: Projection| data.with_value(|v| Viewport::fit(p.points(v).iter().map(|q| (q[0], q[1]))));
    let viewport = RwSignal::new(fit(projection.get_untracked()));
    // A new projection is fitted afresh.
    Effect::new(move |_| viewport.set(fit(projection.get())));
    let drag = StoredValue::new(None::<(f64, f64, Viewport)>);
    let ratio = || web_sys::window().map(|w| w.device_pixel_ratio()).unwrap_or(1.0).max(1.0);
    let screen = move |c: &HtmlCanvasElement, vp: Viewport| {
        let (w, h) = (c.width() as f64, c.height() as f64);
        data.with_value(|v| projection.get_untracked().points(v).iter().map(|p| vp.to_screen((p[0], p[1]), w, h)).collect::<Vec<_>>())
    };

    Effect::new(move |_| {
        let (vp, hover, quads, _) = (viewport.get(), hover.get(), quads.get(), projection.get());
        if let Some(c) = canvas.get() {
            let css = c.client_width().max(240) as f64;
            c.set_width((css * ratio()) as u32);
            c.set_height((css * 0.7 * ratio()) as u32);
            let s = screen(&c, vp);
            data.with_value(|v| draw(&c, v, &s, &quads, hover, ratio()));
        }
    });

    let on_down = move |ev: MouseEvent| drag.set_value(Some((ev.client_x() as f64, ev.client_y() as f64, viewport.get_untracked())));
    let on_move = move |ev: MouseEvent| {
        let Some(c) = canvas.get_untracked() else { return };
        let k = ratio();
        if let Some((x0, y0, start)) = drag.get_value() {
            let (dx, dy) = ((ev.client_x() as f64 - x0) * k, (ev.client_y() as f64 - y0) * k);
            viewport.set(start.dragged(dx, dy, c.width() as f64, c.height() as f64));
            return;
        }
        let rect = c.get_bounding_client_rect();
        let at = ((ev.client_x() as f64 - rect.left()) * k, (ev.client_y() as f64 - rect.top()) * k);
        let found = nearest_within(&screen(&c, viewport.get_untracked()), at, 8.0 * k);
        if found != hover.get_untracked() {
            hover.set(found);
        }
    };
    let on_wheel = move |ev: WheelEvent| {
        ev.prevent_default();
        viewport.update(|v| *v = v.wheeled(ev.delta_y()));
    };
    let hovered = move || {
        hover.get().map(|i| {
            data.with_value(|v| {
                let pairs: Vec<String> = v
                    .pairs
                    .iter()
                    .filter(|p| p.words.contains(&(i as u32)))
                    .take(4)
                    .map(|p| format!("{}: {} → {}", v.tasks[p.task], v.words[p.words[0] as usize], v.words[p.words[1] as usize]))
                    .collect();
                format!("{}: {}", v.words[i], pairs.join("; "))
            })
        })
    };
    let legend = data.with_value(|v| {
        v.tasks
            .iter()
            .enumerate()
            .map(|(t, name)| view! { <span class="legend-item"><span aria-hidden="true" style=format!("color:{}", lobe_css(t))>"■"</span>{format!(" {name}")}</span> })
            .collect_view()
    });

    view! {
        <figure class="crystal-view">
            <figcaption>{legend}" — each pair an edge from input (hollow) to output (filled); red: the quads listed, dashed: their closing edges"</figcaption>
            <canvas node_ref=canvas class="cloud" data-testid="crystal-view"
                data-projection=move || projection.get().name()
                on:mousedown=on_down on:mouseup=move |_| drag.set_value(None)
                on:mouseleave=move |_| { drag.set_value(None); hover.set(None); }
                on:mousemove=on_move on:wheel=on_wheel></canvas>
            <p class="hover" data-testid="crystal-hover">{move || hovered().unwrap_or_else(|| "Scroll to zoom, drag to pan, hover a word.".into())}</p>
        </figure>
    }
}
