//! An interactive 3D scatter on a 2D canvas: the points' first three principal components,
//! rotated by dragging, zoomed with the wheel; hovering a point shows its index. Drawn with the
//! canvas API directly (one small square per point, far points first), which stays interactive at
//! tens of thousands of points.

use leptos::prelude::*;

use crate::app::state::{AppState, FeatureSelection};
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, MouseEvent, WheelEvent};

/// A view of the cloud (the camera a link carries).
pub use crate::link::Camera3d as Camera;

/// Screen positions of the points: (x, y, depth) for each, in canvas pixels, for a canvas of
/// `width` x `height`; the cloud is scaled so that its farthest point from the centre fills
/// `0.45 * min(width, height)` at zoom 1 (orthographic projection).
pub fn project(points: &[[f32; 3]], radius: f64, camera: Camera, width: f64, height: f64) -> Vec<(f64, f64, f64)> {
    let (sy, cy) = camera.yaw.sin_cos();
    let (sp, cp) = camera.pitch.sin_cos();
    let scale = camera.zoom * 0.45 * width.min(height) / radius.max(1e-30);
    points
        .iter()
        .map(|p| {
            let (x, y, z) = (p[0] as f64, p[1] as f64, p[2] as f64);
            // Yaw about the screen's vertical axis, then pitch about its horizontal axis.
            let (x1, z1) = (cy * x + sy * z, -sy * x + cy * z);
            let (y2, z2) = (cp * y - sp * z1, sp * y + cp * z1);
            (width / 2.0 + scale * x1, height / 2.0 - scale * y2, z2)
        })
        .collect()
}

/// The largest distance of a point from the origin.
pub fn radius(points: &[[f32; 3]]) -> f64 {
    points.iter().map(|p| p.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>().sqrt()).fold(0.0, f64::max)
}

#[allow(clippy::too_many_arguments)]
fn draw(
    canvas: &HtmlCanvasElement,
    points: &[[f32; 3]],
    radius: f64,
    camera: Camera,
    hover: Option<usize>,
    colour: &str,
    labels: Option<&[u32]>,
    selected: Option<&[bool]>,
) {
    let Ok(Some(ctx)) = canvas.get_context("2d") else { return };
    let Ok(ctx) = ctx.dyn_into::<CanvasRenderingContext2d>() else { return };
    let (w, h) = (canvas.width() as f64, canvas.height() as f64);
    ctx.set_fill_style_str("#ffffff");
    ctx.fill_rect(0.0, 0.0, w, h);
    let projected = project(points, radius, camera, w, h);
    let mut order: Vec<usize> = (0..projected.len()).collect();
    order.sort_unstable_by(|&a, &b| projected[a].2.total_cmp(&projected[b].2));
    let size = (w / 500.0).clamp(1.5, 4.0);
    let (zlo, zhi) = projected.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.2), hi.max(p.2)));
    let lobe_colours: Vec<String> = labels
        .map(|l| (0..=l.iter().copied().max().unwrap_or(0) as usize).map(super::lobes::lobe_css).collect())
        .unwrap_or_default();
    // The fill of each point: grey when some are selected and it is not, else its lobe's colour
    // (with labels) or `colour`. Set only when it changes.
    let mut current: Option<&str> = None;
    for &i in &order {
        let unselected = selected.is_some_and(|m| !m.get(i).copied().unwrap_or(false));
        let fill: &str = if unselected {
            "#c3c8d0"
        } else {
            labels.and_then(|l| l.get(i)).and_then(|&l| lobe_colours.get(l as usize)).map_or(colour, String::as_str)
        };
        if current != Some(fill) {
            ctx.set_fill_style_str(fill);
            current = Some(fill);
        }
        let (x, y, z) = projected[i];
        // Far points fainter: a depth cue without colour.
        let depth = if zhi > zlo { (z - zlo) / (zhi - zlo) } else { 1.0 };
        ctx.set_global_alpha(if unselected { 0.2 } else { 0.25 + 0.6 * depth });
        ctx.fill_rect(x - size / 2.0, y - size / 2.0, size, size);
    }
    ctx.set_global_alpha(1.0);
    if let Some(i) = hover.filter(|&i| i < projected.len()) {
        let (x, y, _) = projected[i];
        ctx.set_stroke_style_str("#d64520");
        ctx.set_line_width(2.0);
        ctx.stroke_rect(x - 5.0, y - 5.0, 10.0, 10.0);
    }
}

/// The point nearest to canvas position (x, y) within `within` pixels.
pub fn nearest(projected: &[(f64, f64, f64)], x: f64, y: f64, within: f64) -> Option<usize> {
    let mut best = None;
    let mut best_d = within * within;
    for (i, &(px, py, _)) in projected.iter().enumerate() {
        let d = (px - x).powi(2) + (py - y).powi(2);
        if d <= best_d {
            best_d = d;
            best = Some(i);
        }
    }
    best
}

/// The 3D scatter of `points`, turned by `camera` (shared with other views); hovering names the
/// point (`point_name` and its index) and its coordinates. With `labels` (one lobe per point) the
/// points take their lobe's colour instead of `colour`.
#[component]
pub fn Cloud3dView(
    points: Vec<[f32; 3]>,
    title: String,
    colour: &'static str,
    /// What a point is called on hover ("feature", "point").
    point_name: &'static str,
    #[prop(into)] testid: String,
    camera: RwSignal<Camera>,
    #[prop(optional)] labels: Option<Vec<u32>>,
    /// Whether the app's feature selection applies to these points (the data's features, not a
    /// reference cloud).
    #[prop(optional)]
    selectable: bool,
    /// The feature (row) each point is, increasing, when the points are a sample of the rows;
    /// `None`: point i is feature i. `labels` and the selection are by feature.
    #[prop(default = None)]
    features: Option<Vec<u32>>,
) -> impl IntoView {
    let state = expect_context::<AppState>();
    // Each point's lobe, when every point's feature has one.
    let labels = match (labels, &features) {
        (Some(l), Some(f)) => f.iter().map(|&x| l.get(x as usize).copied()).collect::<Option<Vec<u32>>>(),
        (labels, None) => labels,
        (None, Some(_)) => None,
    };
    let features = StoredValue::new(features);
    let feature_of = move |i: usize| features.with_value(|f| f.as_ref().map_or(i as u32, |f| f[i]));
    // The rows the selection's mask covers: every row up to the last point's.
    let rows = features.with_value(|f| f.as_ref().map(|f| f.last().map_or(0, |&x| x as usize + 1)));
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let hover = RwSignal::new(None::<usize>);
    let drag = StoredValue::new(None::<(f64, f64, Camera)>);
    let r = radius(&points);
    let points = StoredValue::new(points);
    let labels = StoredValue::new(labels);
    let ratio = || web_sys::window().map(|w| w.device_pixel_ratio()).unwrap_or(1.0).max(1.0);

    // Shift-drag draws a box (canvas pixels) that selects the features inside it.
    let boxing = RwSignal::new(None::<((f64, f64), (f64, f64))>);
    Effect::new(move |_| {
        let (camera, hover, corners) = (camera.get(), hover.get(), boxing.get());
        let n = points.with_value(|p| p.len());
        let mask = if selectable { FeatureSelection::mask(&state.feature_selection.get(), rows.unwrap_or(n)) } else { None };
        // By point: the mask of each point's feature.
        let mask = mask.map(|m| if rows.is_some() { (0..n).map(|i| m[feature_of(i) as usize]).collect() } else { m });
        if let Some(canvas) = canvas.get() {
            let css = canvas.client_width().max(200) as f64;
            canvas.set_width((css * ratio()) as u32);
            canvas.set_height((css * ratio()) as u32);
            labels.with_value(|l| points.with_value(|p| draw(&canvas, p, r, camera, hover, colour, l.as_deref(), mask.as_deref())));
            if let (Some(((x0, y0), (x1, y1))), Ok(Some(ctx))) = (corners, canvas.get_context("2d")) {
                if let Ok(ctx) = ctx.dyn_into::<CanvasRenderingContext2d>() {
                    ctx.set_stroke_style_str("#1f5aa6");
                    ctx.set_line_width(1.5 * ratio());
                    ctx.stroke_rect(x0.min(x1), y0.min(y1), (x1 - x0).abs(), (y1 - y0).abs());
                }
            }
        }
    });
    let at = move |ev: &MouseEvent| {
        canvas.get_untracked().map(|c| {
            let rect = c.get_bounding_client_rect();
            ((ev.client_x() as f64 - rect.left()) * ratio(), (ev.client_y() as f64 - rect.top()) * ratio())
        })
    };

    let on_down = move |ev: MouseEvent| {
        if selectable && ev.shift_key() {
            if let Some(p) = at(&ev) {
                boxing.set(Some((p, p)));
            }
            return;
        }
        drag.set_value(Some((ev.client_x() as f64, ev.client_y() as f64, camera.get_untracked())))
    };
    // Releasing a box selects the features inside it; a click in place on a feature selects it.
    let on_up = move |ev: MouseEvent| {
        if let Some(((x0, y0), (x1, y1))) = boxing.get_untracked() {
            boxing.set(None);
            let Some(c) = canvas.get_untracked() else { return };
            let (w, h) = (c.width() as f64, c.height() as f64);
            let (xa, xb, ya, yb) = (x0.min(x1), x0.max(x1), y0.min(y1), y0.max(y1));
            let features: Vec<u32> = points.with_value(|p| {
                project(p, r, camera.get_untracked(), w, h)
                    .iter()
                    .enumerate()
                    .filter(|(_, &(x, y, _))| x >= xa && x <= xb && y >= ya && y <= yb)
                    .map(|(i, _)| feature_of(i))
                    .collect()
            });
            if !features.is_empty() {
                let what = format!("a box of {} features in the 3D view", features.len());
                state.feature_selection.set(Some(FeatureSelection { features, what }));
            }
            return;
        }
        if let Some((x0, y0, _)) = drag.get_value() {
            let still = (ev.client_x() as f64 - x0).abs() + (ev.client_y() as f64 - y0).abs() < 3.0;
            if let (true, true, Some(i), "mouseup") = (selectable, still, hover.get_untracked(), ev.type_().as_str()) {
                let f = feature_of(i);
                state.feature_selection.set(Some(FeatureSelection { features: vec![f], what: format!("feature {f}, clicked in the 3D view") }));
            }
        }
        drag.set_value(None)
    };
    let on_move = move |ev: MouseEvent| {
        if let Some((from, _)) = boxing.get_untracked() {
            if let Some(p) = at(&ev) {
                boxing.set(Some((from, p)));
            }
            return;
        }
        if let Some((x0, y0, start)) = drag.get_value() {
            let (dx, dy) = (ev.client_x() as f64 - x0, ev.client_y() as f64 - y0);
            camera.set(Camera { yaw: start.yaw + dx * 0.01, pitch: (start.pitch + dy * 0.01).clamp(-1.55, 1.55), ..start });
            return;
        }
        let Some(canvas) = canvas.get_untracked() else { return };
        let rect = canvas.get_bounding_client_rect();
        let k = ratio();
        let (x, y) = ((ev.client_x() as f64 - rect.left()) * k, (ev.client_y() as f64 - rect.top()) * k);
        let (w, h) = (canvas.width() as f64, canvas.height() as f64);
        let found = points.with_value(|p| nearest(&project(p, r, camera.get_untracked(), w, h), x, y, 8.0 * k));
        if found != hover.get_untracked() {
            hover.set(found);
        }
    };
    let on_wheel = move |ev: WheelEvent| {
        ev.prevent_default();
        let factor = (-ev.delta_y() * 0.0015).exp();
        camera.update(|c| c.zoom = (c.zoom * factor).clamp(0.2, 40.0));
    };
    let hovered = move || {
        hover.get().map(|i| {
            let p = points.with_value(|p| p[i]);
            let lobe = labels.with_value(|l| l.as_ref().and_then(|l| l.get(i)).map(|l| format!(", lobe {l}")).unwrap_or_default());
            format!("{point_name} {}: PC1 {:.3}, PC2 {:.3}, PC3 {:.3}{lobe}", feature_of(i), p[0], p[1], p[2])
        })
    };

    view! {
        <figure class="cloud3d">
            <figcaption>{title}</figcaption>
            <canvas node_ref=canvas class="cloud" data-testid=testid
                on:mousedown=on_down on:mouseup=on_up on:mouseleave=move |ev| { on_up(ev); hover.set(None); }
                on:mousemove=on_move on:wheel=on_wheel></canvas>
            <p class="hover" data-testid="cloud-hover">{move || hovered().unwrap_or_else(|| if selectable { "Drag to rotate, scroll to zoom, hover a feature, click it to select it, shift-drag to select a box." } else { "Drag to rotate, scroll to zoom, hover a point." }.into())}</p>
        </figure>
    }
}
