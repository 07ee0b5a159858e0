//! The lobe map: every feature as a point of a 2D layout, coloured by its lobe; zoom with the
//! wheel, pan by dragging, hover a point for its index, lobe and nearest features. Drawn with the
//! canvas API directly (one small square per point), interactive at tens of thousands of points.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, MouseEvent, WheelEvent};

use super::lobes::lobe_css;
use crate::app::state::{AppState, FeatureSelection};
use super::viewport::{nearest_within, Viewport};

fn to_screen(points: &[[f32; 2]], view: Viewport, w: f64, h: f64) -> Vec<(f64, f64)> {
    points.iter().map(|p| view.to_screen((p[0] as f64, p[1] as f64), w, h)).collect()
}

/// Unselected features, when some are selected: grey and faint.
const UNSELECTED: &str = "#c3c8d0";

#[allow(clippy::too_many_arguments)]
fn draw(
    canvas: &HtmlCanvasElement,
    screen: &[(f64, f64)],
    labels: &[u32],
    hover: Option<usize>,
    nearest: &[u32],
    selected: Option<&[bool]>,
    box_corners: Option<((f64, f64), (f64, f64))>,
) {
    let Ok(Some(ctx)) = canvas.get_context("2d") else { return };
    let Ok(ctx) = ctx.dyn_into::<CanvasRenderingContext2d>() else { return };
    let (w, h) = (canvas.width() as f64, canvas.height() as f64);
    ctx.set_fill_style_str("#ffffff");
    ctx.fill_rect(0.0, 0.0, w, h);
    let size = (w / 450.0).clamp(1.5, 4.0);
    let k = labels.iter().copied().max().map_or(1, |m| m as usize + 1);
    let colours: Vec<String> = (0..k).map(lobe_css).collect();
    let is_selected = |i: usize| selected.is_none_or(|m| m.get(i).copied().unwrap_or(false));
    if selected.is_some() {
        ctx.set_global_alpha(0.35);
        ctx.set_fill_style_str(UNSELECTED);
        for (i, &(x, y)) in screen.iter().enumerate() {
            if !is_selected(i) {
                ctx.fill_rect(x - size / 2.0, y - size / 2.0, size, size);
            }
        }
    }
    ctx.set_global_alpha(0.75);
    for (lobe, colour) in colours.iter().enumerate() {
        ctx.set_fill_style_str(colour);
        for (i, &(x, y)) in screen.iter().enumerate() {
            if labels.get(i).copied().unwrap_or(0) as usize == lobe && is_selected(i) {
                ctx.fill_rect(x - size / 2.0, y - size / 2.0, size, size);
            }
        }
    }
    if let Some(((x0, y0), (x1, y1))) = box_corners {
        ctx.set_global_alpha(1.0);
        ctx.set_stroke_style_str("#1f5aa6");
        ctx.set_line_width(1.5);
        ctx.stroke_rect(x0.min(x1), y0.min(y1), (x1 - x0).abs(), (y1 - y0).abs());
    }
    ctx.set_global_alpha(1.0);
    if let Some(i) = hover.filter(|&i| i < screen.len()) {
        ctx.set_stroke_style_str("#222222");
        ctx.set_line_width(1.5);
        for &j in nearest {
            if let Some(&(x, y)) = screen.get(j as usize) {
                ctx.stroke_rect(x - 3.5, y - 3.5, 7.0, 7.0);
            }
        }
        let (x, y) = screen[i];
        ctx.set_stroke_style_str("#d64520");
        ctx.set_line_width(2.5);
        ctx.stroke_rect(x - 5.0, y - 5.0, 10.0, 10.0);
    }
}

/// The map of `points` coloured by `labels` (lobe of each feature); `nearest[i]` lists feature
/// i's most similar features (outlined on hover). Shift-drag selects the features in a box (the
/// app's feature selection, linked across pages); the unselected ones are drawn grey.
#[component]
pub fn LobeMap(points: Vec<[f32; 2]>, labels: Vec<u32>, nearest: Vec<Vec<u32>>, title: String) -> impl IntoView {
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let hover = RwSignal::new(None::<usize>);
    let view_state = RwSignal::new(Viewport::fit(points.iter().map(|p| (p[0] as f64, p[1] as f64))));
    let drag = StoredValue::new(None::<(f64, f64, Viewport)>);
    let state = expect_context::<AppState>();
    let n = points.len();
    // Shift-drag: the box being drawn, from and to (canvas pixels).
    let boxing = RwSignal::new(None::<((f64, f64), (f64, f64))>);
    let data = StoredValue::new((points, labels, nearest));
    let ratio = || web_sys::window().map(|w| w.device_pixel_ratio()).unwrap_or(1.0).max(1.0);
    let screen = move |c: &HtmlCanvasElement, v: Viewport| {
        data.with_value(|(p, _, _)| to_screen(p, v, c.width() as f64, c.height() as f64))
    };

    Effect::new(move |_| {
        let (v, hover, corners) = (view_state.get(), hover.get(), boxing.get());
        let mask = FeatureSelection::mask(&state.feature_selection.get(), n);
        if let Some(c) = canvas.get() {
            let css = c.client_width().max(240) as f64;
            c.set_width((css * ratio()) as u32);
            c.set_height((css * 0.75 * ratio()) as u32);
            let s = screen(&c, v);
            data.with_value(|(_, labels, nearest)| {
                let empty = Vec::new();
                let near = hover.and_then(|i| nearest.get(i)).unwrap_or(&empty);
                draw(&c, &s, labels, hover, near, mask.as_deref(), corners)
            });
        }
    });

    let at = move |c: &HtmlCanvasElement, ev: &MouseEvent| {
        let rect = c.get_bounding_client_rect();
        let k = ratio();
        ((ev.client_x() as f64 - rect.left()) * k, (ev.client_y() as f64 - rect.top()) * k)
    };
    let on_down = move |ev: MouseEvent| {
        if ev.shift_key() {
            if let Some(c) = canvas.get_untracked() {
                let p = at(&c, &ev);
                boxing.set(Some((p, p)));
            }
            return;
        }
        drag.set_value(Some((ev.client_x() as f64, ev.client_y() as f64, view_state.get_untracked())))
    };
    // Releasing the button, or leaving the canvas while drawing a box, selects the box's features.
    let on_up = move |ev: MouseEvent| {
        // A click (a press and release in place) on a feature selects it alone.
        if let Some((x0, y0, _)) = drag.get_value() {
            let still = (ev.client_x() as f64 - x0).abs() + (ev.client_y() as f64 - y0).abs() < 3.0;
            if let (true, Some(i), "mouseup") = (still, hover.get_untracked(), ev.type_().as_str()) {
                state.feature_selection.set(Some(FeatureSelection { features: vec![i as u32], what: format!("feature {i}, clicked on the lobe map") }));
            }
        }
        drag.set_value(None);
        let Some(((x0, y0), (x1, y1))) = boxing.get_untracked() else { return };
        boxing.set(None);
        let Some(c) = canvas.get_untracked() else { return };
        let s = screen(&c, view_state.get_untracked());
        let (xa, xb, ya, yb) = (x0.min(x1), x0.max(x1), y0.min(y1), y0.max(y1));
        let features: Vec<u32> = s.iter().enumerate().filter(|(_, &(x, y))| x >= xa && x <= xb && y >= ya && y <= yb).map(|(i, _)| i as u32).collect();
        if !features.is_empty() {
            let what = format!("a box of {} features on the lobe map", features.len());
            state.feature_selection.set(Some(FeatureSelection { features, what }));
        }
    };
    let on_move = move |ev: MouseEvent| {
        let Some(c) = canvas.get_untracked() else { return };
        let k = ratio();
        if let Some((from, _)) = boxing.get_untracked() {
            boxing.set(Some((from, at(&c, &ev))));
            return;
        }
        if let Some((x0, y0, start)) = drag.get_value() {
            let (dx, dy) = ((ev.client_x() as f64 - x0) * k, (ev.client_y() as f64 - y0) * k);
            view_state.set(start.dragged(dx, dy, c.width() as f64, c.height() as f64));
            return;
        }
        let rect = c.get_bounding_client_rect();
        let (x, y) = ((ev.client_x() as f64 - rect.left()) * k, (ev.client_y() as f64 - rect.top()) * k);
        let s = screen(&c, view_state.get_untracked());
        let found = nearest_within(&s, (x, y), 8.0 * k);
        if found != hover.get_untracked() {
            hover.set(found);
        }
    };
    let on_wheel = move |ev: WheelEvent| {
        ev.prevent_default();
        view_state.update(|v| *v = v.wheeled(ev.delta_y()));
    };
    let hovered = move || {
        hover.get().map(|i| {
            data.with_value(|(_, labels, nearest)| {
                let near: Vec<String> = nearest.get(i).map(|v| v.iter().map(|j| j.to_string()).collect()).unwrap_or_default();
                format!(
                    "feature {i}: lobe {}; nearest features (angular similarity) {}",
                    labels.get(i).map_or("?".into(), |l| l.to_string()),
                    near.join(", ")
                )
            })
        })
    };

    view! {
        <figure class="lobe-map">
            <figcaption>{title}</figcaption>
            <canvas node_ref=canvas class="cloud" data-testid="lobe-map"
                on:mousedown=on_down on:mouseup=on_up
                on:mouseleave=move |ev| { on_up(ev); hover.set(None); }
                on:mousemove=on_move on:wheel=on_wheel></canvas>
            <p class="hover" data-testid="lobe-hover">{move || hovered().unwrap_or_else(|| "Scroll to zoom, drag to pan, hover a feature, click it to select it, shift-drag to select a box of features.".into())}</p>
        </figure>
    }
}
