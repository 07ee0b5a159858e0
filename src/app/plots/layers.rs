//! The layer sweep: power-law slope (with its 95% interval) and log-volume against the layer, each
//! with the isotropic Gaussian reference dashed (paper, Figures 7 right and 8). The page's text
//! says which line is which (a legend box would hide points).

use plotters::coord::Shift;
use plotters::prelude::*;
use web_sys::HtmlCanvasElement;

use super::{clipped_dashes, clipped_line, panel_of, DrawResult};
use crate::analysis::LayerRow;
use crate::chart_view::{tooltip_number, Axis, ChartLayout, HoverPoint, Panel, Window, Zoom};

const DATA: RGBColor = RGBColor(31, 90, 166);
const ISOTROPIC: RGBColor = RGBColor(120, 120, 120);

/// Draws the sweep of `rows` (sorted by layer) on `canvas`, sized to its CSS width.
/// Height over width of the layer sweep plot.
pub const LAYERS_ASPECT: f64 = 0.34;

pub fn draw_layer_sweep(canvas: &HtmlCanvasElement, rows: &[LayerRow], zoom: &Zoom) -> Result<ChartLayout, String> {
    let (root, ratio) = super::canvas_root(canvas, LAYERS_ASPECT)?;
    let layout = layer_sweep_chart(&root, rows, ratio, zoom).map_err(|e| e.to_string())?;
    Ok(super::in_css_pixels(canvas, layout))
}

/// (lo, hi) of `values` padded by 8% (or by 1 when they are all equal).
fn padded_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { 0.08 * (hi - lo) } else { 1.0 };
    (lo - pad, hi + pad)
}

/// One panel: `value(row)` against the layer, optional error bars, optional reference line.
#[allow(clippy::too_many_arguments)]
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    rows: &[LayerRow],
    title: &str,
    y_desc: &str,
    value: impl Fn(&LayerRow) -> f64,
    interval: Option<&dyn Fn(&LayerRow) -> [f64; 2]>,
    reference: impl Fn(&LayerRow) -> Option<f64>,
    scale: f64,
    window: Option<Window>,
) -> DrawResult<Panel, DB> {
    let s = |v: f64| (v * scale).round() as i32;
    let first = rows.first().map_or(0, |r| r.layer) as f64;
    let last = rows.last().map_or(1, |r| r.layer) as f64;
    let spread = rows.iter().flat_map(|r| {
        let [a, b] = interval.map_or([value(r); 2], |f| f(r));
        [value(r), a, b].into_iter().chain(reference(r))
    });
    let (lo, hi) = padded_range(spread);
    let window = window.unwrap_or(Window { x: Axis::linear(first - 0.5, last + 0.5), y: Axis::linear(lo, hi) });
    let mut chart = ChartBuilder::on(area)
        .margin(s(12.0))
        .caption(title, ("sans-serif", s(15.0)))
        .x_label_area_size(s(36.0))
        .y_label_area_size(s(64.0))
        .build_cartesian_2d(window.x.lo..window.x.hi, window.y.lo..window.y.hi)?;
    chart
        .configure_mesh()
        .x_desc("layer")
        .y_desc(y_desc)
        .x_labels(rows.len().max(2))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style(("sans-serif", s(12.0)))
        .axis_desc_style(("sans-serif", s(13.0)))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()?;
    let refs: Vec<(f64, f64)> = rows.iter().filter_map(|r| reference(r).map(|v| (r.layer as f64, v))).collect();
    if !refs.is_empty() {
        clipped_dashes(&mut chart, &window, &refs, (s(6.0) as u32, s(4.0) as u32), ISOTROPIC.stroke_width(s(2.0) as u32))?;
    }
    if let Some(interval) = interval {
        let cap = 0.12;
        let style = DATA.stroke_width(s(1.5) as u32);
        for r in rows {
            let ([a, b], x) = (interval(r), r.layer as f64);
            for bar in [[(x, a), (x, b)], [(x - cap, a), (x + cap, a)], [(x - cap, b), (x + cap, b)]] {
                clipped_line(&mut chart, &window, &bar, style)?;
            }
        }
    }
    let line: Vec<(f64, f64)> = rows.iter().map(|r| (r.layer as f64, value(r))).collect();
    clipped_line(&mut chart, &window, &line, DATA.stroke_width(s(2.0) as u32))?;
    chart.draw_series(line.iter().filter(|p| window.contains(**p)).map(|&p| Circle::new(p, s(4.0), DATA.filled())))?;
    let points = rows
        .iter()
        .map(|r| {
            let mut label = format!("layer {}: {y_desc} {}", r.layer, tooltip_number(value(r)));
            if let Some(f) = interval {
                let [a, b] = f(r);
                label += &format!(" [{}, {}]", tooltip_number(a), tooltip_number(b));
            }
            if let Some(v) = reference(r) {
                label += &format!("; isotropic {}", tooltip_number(v));
            }
            HoverPoint { x: r.layer as f64, y: value(r), label }
        })
        .collect();
    Ok(panel_of(&chart, window, points))
}

/// The sweep on any plotters backend: slope by layer (left), log-volume by layer (middle), and the
/// clustering entropy by layer (right, when every row has it).
pub fn layer_sweep_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rows: &[LayerRow],
    scale: f64,
    zoom: &Zoom,
) -> DrawResult<ChartLayout, DB> {
    root.fill(&WHITE)?;
    let window = |i: usize| zoom.0.get(i).copied().flatten();
    let mut layout = ChartLayout::default();
    let with_entropy = rows.iter().all(|r| r.entropy.is_some()) && !rows.is_empty();
    let panels = root.split_evenly((1, if with_entropy { 3 } else { 2 }));
    let ranks = rows.first().map(|r| (r.power_law.first_rank, r.power_law.last_rank)).unwrap_or((11, 150));
    let slope = panel(
        &panels[0],
        rows,
        &format!("slope, ranks {}–{} (95% CI)", ranks.0, ranks.1),
        "slope",
        |r| r.power_law.slope,
        Some(&|r: &LayerRow| r.power_law.ci95),
        |r| r.isotropic_slope,
        scale,
        window(0),
    )?;
    layout.panels.push(slope);
    let volume = panel(
        &panels[1],
        rows,
        &format!("log-volume Σ ln λ, ranks {}–{}", ranks.0, ranks.1),
        "log-volume",
        |r| r.log_volume,
        None,
        |r| r.isotropic_log_volume,
        scale,
        window(1),
    )?;
    layout.panels.push(volume);
    if with_entropy {
        let entropy = panel(
            &panels[2],
            rows,
            "entropy H_G − H_kNN (95% CI)",
            "nats",
            |r| r.entropy.as_ref().map_or(f64::NAN, |e| e.clustering),
            Some(&|r: &LayerRow| r.entropy.as_ref().map_or([f64::NAN; 2], |e| e.ci95)),
            |r| r.isotropic_entropy.as_ref().map(|e| e.clustering),
            scale,
            window(2),
        )?;
        layout.panels.push(entropy);
    }
    root.present()?;
    Ok(layout)
}
