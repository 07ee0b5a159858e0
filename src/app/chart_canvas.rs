//! The canvas of a plotters chart, made interactive: hovering a point shows its values in a
//! tooltip; the wheel (with the chart focused, or a pinch / ctrl-wheel) and `+` / `-` zoom about
//! the pointer; dragging and the arrow keys pan; a double-click, `0` or "reset zoom" go back to
//! the chart's own ranges. The page's draw effect reads `zoom` and writes `layout`
//! ([`crate::chart_view`]).

use leptos::prelude::*;
use web_sys::{KeyboardEvent, MouseEvent, WheelEvent};

use super::state::AppState;
use crate::chart_view::{ChartLayout, Zoom};

/// How near (CSS pixels) the pointer must come to a point for its tooltip.
const HOVER_RADIUS: f64 = 14.0;

/// A press on the chart: where (client pixels), on which panel, and the zoom then.
#[derive(Clone)]
struct Press {
    client: (f64, f64),
    panel: usize,
    zoom: Zoom,
    shift: bool,
}

/// `show` of the chart's first panel (its plotting area, CSS pixels, or its window), for the
/// canvas's `data-frame` / `data-window` (what scripts and tests read to find points).
fn first_panel(layout: RwSignal<ChartLayout>, show: impl Fn(&crate::chart_view::Panel) -> String) -> Option<String> {
    layout.with(|l| l.panels.first().map(show))
}

/// Ties the chart `name`'s `zoom` to the address: a zoom the opened link asked for is taken once,
/// by the first chart of that name shown; from then on the chart's zoom is in
/// [`AppState::chart_zooms`] (which the address follows) while it is shown and zoomed. When the
/// chart goes, its zoom leaves the address; a page's own zoom that outlives the chart comes back
/// with the next chart shown (its effect runs after this cleanup).
fn follow_the_address(state: AppState, zoom: RwSignal<Zoom>, name: String) {
    if let Some(linked) = state.linked_zooms.try_update_value(|m| m.remove(&name)).flatten() {
        zoom.set(linked);
    }
    let gone = name.clone();
    on_cleanup(move || {
        state.chart_zooms.try_update(|m| m.remove(&gone));
    });
    Effect::new(move |_| {
        let now = zoom.get();
        let known = state.chart_zooms.with_untracked(|m| m.get(&name).cloned());
        match (now.is_zoomed(), known) {
            (true, Some(k)) if k == now => {}
            (true, _) => state.chart_zooms.update(|m| {
                m.insert(name.clone(), now);
            }),
            (false, Some(_)) => state.chart_zooms.update(|m| {
                m.remove(&name);
            }),
            (false, None) => {}
        }
    });
}

#[component]
pub fn ChartCanvas(
    canvas: NodeRef<leptos::html::Canvas>,
    layout: RwSignal<ChartLayout>,
    zoom: RwSignal<Zoom>,
    #[prop(into)] testid: String,
    /// What the chart shows, for screen readers.
    #[prop(into)]
    label: String,
    /// Hides the chart (and its hint) while true.
    #[prop(optional, into)]
    hidden: Signal<bool>,
    /// Extra classes of the canvas.
    #[prop(optional, into)]
    class: String,
    /// When given, a plain drag reports its two ends' canvas x (CSS pixels) instead of panning
    /// (the spectrum's choice of ranks); shift-drag pans.
    #[prop(optional)]
    on_drag_x: Option<Callback<(f64, f64)>>,
    /// The chart's headline number, as the canvas's `data-value` (for tests and scripts).
    #[prop(optional, into)]
    value: Option<String>,
    /// The hint under the chart; a default one names the gestures.
    #[prop(optional, into)]
    hint: Option<String>,
) -> impl IntoView {
    if let Some(state) = use_context::<AppState>() {
        follow_the_address(state, zoom, testid.clone());
    }
    let press = StoredValue::new(None::<Press>);
    let moved = StoredValue::new(false);
    let keyboard_panel = StoredValue::new(0usize);
    let tip = RwSignal::new(None::<(String, f64, f64)>);
    let at = move |ev: &MouseEvent| {
        canvas.get_untracked().map(|c| {
            let r = c.get_bounding_client_rect();
            (ev.client_x() as f64 - r.left(), ev.client_y() as f64 - r.top())
        })
    };
    let panel_at = move |p: (f64, f64)| layout.with_untracked(|l| l.panel_at(p));
    let window_of = move |i: usize| layout.with_untracked(|l| l.panels.get(i).map(|p| (p.window, p.right - p.left, p.bottom - p.top)));

    let on_down = move |ev: MouseEvent| {
        let Some(p) = at(&ev) else { return };
        let Some(panel) = panel_at(p) else { return };
        keyboard_panel.set_value(panel);
        moved.set_value(false);
        press.set_value(Some(Press {
            client: (ev.client_x() as f64, ev.client_y() as f64),
            panel,
            zoom: zoom.get_untracked(),
            shift: ev.shift_key(),
        }));
    };
    let on_move = move |ev: MouseEvent| {
        let Some(p) = at(&ev) else { return };
        if let Some(start) = press.get_value() {
            let pans = on_drag_x.is_none() || start.shift;
            let (dx, dy) = (ev.client_x() as f64 - start.client.0, ev.client_y() as f64 - start.client.1);
            if dx.abs() + dy.abs() > 2.0 {
                moved.set_value(true);
            }
            if pans {
                // The window at the press, moved by the drag (the start's window, not the shown one).
                if let Some((_, w, h)) = window_of(start.panel) {
                    let shown = layout.with_untracked(|l| l.panels[start.panel].window);
                    let base = start.zoom.window(start.panel, shown);
                    zoom.set(start.zoom.with(start.panel, base.panned((-dx / w.max(1.0), dy / h.max(1.0)))));
                }
                tip.set(None);
                return;
            }
        }
        let found = layout.with_untracked(|l| l.hover(p, HOVER_RADIUS).map(|(_, h, at)| (h.label.clone(), at.0, at.1)));
        if found != tip.get_untracked() {
            tip.set(found);
        }
    };
    let on_up = move |ev: MouseEvent| {
        let Some(start) = press.get_value() else { return };
        press.set_value(None);
        if let (Some(report), false, true) = (on_drag_x, start.shift, moved.get_value()) {
            if let (Some(canvas_box), Some(p)) = (canvas.get_untracked().map(|c| c.get_bounding_client_rect()), at(&ev)) {
                report.run((start.client.0 - canvas_box.left(), p.0));
            }
        }
    };
    let on_wheel = move |ev: WheelEvent| {
        let focused = canvas.get_untracked().is_some_and(|c| {
            web_sys::window().and_then(|w| w.document()).and_then(|d| d.active_element()).is_some_and(|a| {
                let element: &web_sys::Element = &c;
                &a == element
            })
        });
        // A pinch arrives as a wheel with ctrl; a plain wheel scrolls the page unless the chart has
        // the focus (a click on it gives it).
        if !(focused || ev.ctrl_key() || ev.meta_key()) {
            return;
        }
        let Some(p) = at(&ev) else { return };
        let Some(i) = panel_at(p) else { return };
        ev.prevent_default();
        let fractions = layout.with_untracked(|l| l.panels[i].fractions(p));
        let factor = (ev.delta_y() * 0.0015).exp().clamp(0.5, 2.0);
        if let Some((window, _, _)) = window_of(i) {
            zoom.update(|z| *z = z.with(i, window.zoomed(fractions, factor)));
        }
    };
    let on_key = move |ev: KeyboardEvent| {
        let i = keyboard_panel.get_value();
        let Some((window, _, _)) = window_of(i) else { return };
        let next = match ev.key().as_str() {
            "+" | "=" => Some(window.zoomed((0.5, 0.5), 0.8)),
            "-" | "_" => Some(window.zoomed((0.5, 0.5), 1.25)),
            "ArrowLeft" => Some(window.panned((-0.1, 0.0))),
            "ArrowRight" => Some(window.panned((0.1, 0.0))),
            "ArrowUp" => Some(window.panned((0.0, 0.1))),
            "ArrowDown" => Some(window.panned((0.0, -0.1))),
            "0" | "Escape" => {
                zoom.set(Zoom::default());
                ev.prevent_default();
                return;
            }
            "Tab" => {
                // Tab moves on to the next panel of a chart with several, then out of the chart.
                let panels = layout.with_untracked(|l| l.panels.len());
                if !ev.shift_key() && i + 1 < panels {
                    keyboard_panel.set_value(i + 1);
                    ev.prevent_default();
                } else {
                    keyboard_panel.set_value(0);
                }
                None
            }
            _ => None,
        };
        if let Some(window) = next {
            ev.prevent_default();
            zoom.update(|z| *z = z.with(i, window));
        }
    };
    let default_hint = if on_drag_x.is_some() {
        "Hover a point for its values. Drag across the plot to fit over those ranks; shift-drag pans. \
         Click the plot, then scroll (or pinch) to zoom; +, −, the arrow keys, and 0 or a double-click to reset."
    } else {
        "Hover a point for its values. Drag to pan; click the plot, then scroll (or pinch) to zoom; \
         +, −, the arrow keys, and 0 or a double-click to reset."
    };
    let hint = hint.unwrap_or_else(|| default_hint.to_string());
    let tip_testid = format!("{testid}-tip");

    view! {
        <div class="chart" class:hidden=move || hidden.get()>
            <canvas node_ref=canvas class=format!("plot {class}") data-testid=testid tabindex="0" role="img"
                aria-label=label data-value=value
                data-zoomed=move || zoom.with(|z| z.is_zoomed()).to_string()
                data-frame=move || first_panel(layout, |p| format!("{},{},{},{}", p.left, p.top, p.right, p.bottom))
                data-window=move || first_panel(layout, |p| format!("{},{},{},{}", p.window.x.lo, p.window.x.hi, p.window.y.lo, p.window.y.hi))
                on:mousedown=on_down on:mousemove=on_move on:mouseup=on_up
                on:mouseleave=move |ev| { on_up(ev); tip.set(None); }
                on:wheel=on_wheel on:keydown=on_key
                on:dblclick=move |_| zoom.set(Zoom::default())></canvas>
            {move || tip.get().map(|(text, x, y)| {
                let width = canvas.get_untracked().map_or(640.0, |c| c.client_width() as f64);
                // The tooltip sits right of the point, or left of it on the right half.
                let side = if x > width * 0.6 { format!("right: {:.0}px", width - x + 10.0) } else { format!("left: {:.0}px", x + 10.0) };
                view! { <div class="chart-tip" role="status" data-testid=tip_testid.clone() style=format!("{side}; top: {:.0}px", (y - 28.0).max(0.0))>{text}</div> }
            })}
            <p class="muted chart-hint">{hint}
                {move || zoom.with(|z| z.is_zoomed()).then(|| view! {
                    " " <button class="link" data-testid="reset-zoom" on:click=move |_| zoom.set(Zoom::default())>"reset zoom"</button>
                })}
            </p>
        </div>
    }
}
