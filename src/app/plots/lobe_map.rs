//! The lobe map: every feature as a point of a 2D layout, coloured by its lobe; zoom with the
//! wheel, pan by dragging, hover a point for its index, lobe and nearest features. Drawn with the
//! canvas API directly (one small square per point), interactive at tens of thousands of points.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, MouseEvent, WheelEvent};

use super::lobes::lobe_css;

/// Pan (in layout units) and zoom of the map.
#[derive(Debug, Clone, Copy, PartialEq)]
struct View {
    centre: (f64, f64),
    zoom: f64,
}

/// Layout bounds: centre and half-extent of the larger side.
fn bounds(points: &[[f32; 2]]) -> ((f64, f64), f64) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for p in points {
        x0 = x0.min(p[0] as f64);
        x1 = x1.max(p[0] as f64);
        y0 = y0.min(p[1] as f64);
        y1 = y1.max(p[1] as f64);
    }
    if !x0.is_finite() {
        return ((0.0, 0.0), 1.0);
    }
    (((x0 + x1) / 2.0, (y0 + y1) / 2.0), ((x1 - x0).max(y1 - y0) / 2.0).max(1e-30))
}

fn to_screen(points: &[[f32; 2]], half: f64, view: View, w: f64, h: f64) -> Vec<(f64, f64)> {
    let scale = view.zoom * 0.47 * w.min(h) / half;
    points
        .iter()
        .map(|p| (w / 2.0 + scale * (p[0] as f64 - view.centre.0), h / 2.0 - scale * (p[1] as f64 - view.centre.1)))
        .collect()
}

fn draw(canvas: &HtmlCanvasElement, screen: &[(f64, f64)], labels: &[u32], hover: Option<usize>, nearest: &[u32]) {
    let Ok(Some(ctx)) = canvas.get_context("2d") else { return };
    let Ok(ctx) = ctx.dyn_into::<CanvasRenderingContext2d>() else { return };
    let (w, h) = (canvas.width() as f64, canvas.height() as f64);
    ctx.set_fill_style_str("#ffffff");
    ctx.fill_rect(0.0, 0.0, w, h);
    let size = (w / 450.0).clamp(1.5, 4.0);
    let k = labels.iter().copied().max().map_or(1, |m| m as usize + 1);
    let colours: Vec<String> = (0..k).map(lobe_css).collect();
    ctx.set_global_alpha(0.75);
    for lobe in 0..k {
        ctx.set_fill_style_str(&colours[lobe]);
        for (i, &(x, y)) in screen.iter().enumerate() {
            if labels.get(i).copied().unwrap_or(0) as usize == lobe {
                ctx.fill_rect(x - size / 2.0, y - size / 2.0, size, size);
            }
        }
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
/// i's most similar features (outlined on hover).
#[component]
pub fn LobeMap(points: Vec<[f32; 2]>, labels: Vec<u32>, nearest: Vec<Vec<u32>>, title: String) -> impl IntoView {
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let hover = RwSignal::new(None::<usize>);
    let (centre, half) = bounds(&points);
    let view_state = RwSignal::new(View { centre, zoom: 1.0 });
    let drag = StoredValue::new(None::<(f64, f64, View)>);
    let data = StoredValue::new((points, labels, nearest));
    let ratio = || web_sys::window().map(|w| w.device_pixel_ratio()).unwrap_or(1.0).max(1.0);
    let screen = move |c: &HtmlCanvasElement, v: View| {
        data.with_value(|(p, _, _)| to_screen(p, half, v, c.width() as f64, c.height() as f64))
    };

    Effect::new(move |_| {
        let (v, hover) = (view_state.get(), hover.get());
        if let Some(c) = canvas.get() {
            let css = c.client_width().max(240) as f64;
            c.set_width((css * ratio()) as u32);
            c.set_height((css * 0.75 * ratio()) as u32);
            let s = screen(&c, v);
            data.with_value(|(_, labels, nearest)| {
                let empty = Vec::new();
                let near = hover.and_then(|i| nearest.get(i)).unwrap_or(&empty);
                draw(&c, &s, labels, hover, near)
            });
        }
    });

    let on_down = move |ev: MouseEvent| drag.set_value(Some((ev.client_x() as f64, ev.client_y() as f64, view_state.get_untracked())));
    let on_move = move |ev: MouseEvent| {
        let Some(c) = canvas.get_untracked() else { return };
        let k = ratio();
        if let Some((x0, y0, start)) = drag.get_value() {
            let scale = start.zoom * 0.47 * (c.width() as f64).min(c.height() as f64) / half;
            let (dx, dy) = ((ev.client_x() as f64 - x0) * k / scale, (ev.client_y() as f64 - y0) * k / scale);
            view_state.set(View { centre: (start.centre.0 - dx, start.centre.1 + dy), ..start });
            return;
        }
        let rect = c.get_bounding_client_rect();
        let (x, y) = ((ev.client_x() as f64 - rect.left()) * k, (ev.client_y() as f64 - rect.top()) * k);
        let s = screen(&c, view_state.get_untracked());
        let within = (8.0 * k).powi(2);
        let found = s
            .iter()
            .enumerate()
            .map(|(i, &(px, py))| (i, (px - x).powi(2) + (py - y).powi(2)))
            .filter(|&(_, d)| d <= within)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i);
        if found != hover.get_untracked() {
            hover.set(found);
        }
    };
    let on_wheel = move |ev: WheelEvent| {
        ev.prevent_default();
        let factor = (-ev.delta_y() * 0.0015).exp();
        view_state.update(|v| v.zoom = (v.zoom * factor).clamp(0.5, 200.0));
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
                on:mousedown=on_down on:mouseup=move |_| drag.set_value(None)
                on:mouseleave=move |_| { drag.set_value(None); hover.set(None); }
                on:mousemove=on_move on:wheel=on_wheel></canvas>
            <p class="hover" data-testid="lobe-hover">{move || hovered().unwrap_or_else(|| "Scroll to zoom, drag to pan, hover a feature.".into())}</p>
        </figure>
    }
}
