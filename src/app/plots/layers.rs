//! The layer sweep: power-law slope (with its 95% interval) and log-volume against the layer, each
//! with the isotropic Gaussian reference dashed (paper, Figures 7 right and 8). The page's text
//! says which line is which (a legend box would hide points).

use plotters::coord::Shift;
use plotters::prelude::*;
use web_sys::HtmlCanvasElement;

use crate::analysis::LayerRow;

const DATA: RGBColor = RGBColor(31, 90, 166);
const ISOTROPIC: RGBColor = RGBColor(120, 120, 120);

/// Draws the sweep of `rows` (sorted by layer) on `canvas`, sized to its CSS width.
/// Height over width of the layer sweep plot.
pub const LAYERS_ASPECT: f64 = 0.34;

pub fn draw_layer_sweep(canvas: &HtmlCanvasElement, rows: &[LayerRow]) -> Result<(), String> {
    let (root, ratio) = super::canvas_root(canvas, LAYERS_ASPECT)?;
    layer_sweep_chart(&root, rows, ratio).map_err(|e| e.to_string())
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
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let s = |v: f64| (v * scale).round() as i32;
    let first = rows.first().map_or(0, |r| r.layer) as f64;
    let last = rows.last().map_or(1, |r| r.layer) as f64;
    let spread = rows.iter().flat_map(|r| {
        let [a, b] = interval.map_or([value(r); 2], |f| f(r));
        [value(r), a, b].into_iter().chain(reference(r))
    });
    let (lo, hi) = padded_range(spread);
    let mut chart = ChartBuilder::on(area)
        .margin(s(12.0))
        .caption(title, ("sans-serif", s(15.0)))
        .x_label_area_size(s(36.0))
        .y_label_area_size(s(64.0))
        .build_cartesian_2d((first - 0.5)..(last + 0.5), lo..hi)?;
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
        chart
            .draw_series(DashedLineSeries::new(refs, s(6.0) as u32, s(4.0) as u32, ISOTROPIC.stroke_width(s(2.0) as u32)))?;
    }
    if let Some(interval) = interval {
        let cap = 0.12;
        let style = DATA.stroke_width(s(1.5) as u32);
        for r in rows {
            let ([a, b], x) = (interval(r), r.layer as f64);
            chart.draw_series([
                PathElement::new([(x, a), (x, b)], style),
                PathElement::new([(x - cap, a), (x + cap, a)], style),
                PathElement::new([(x - cap, b), (x + cap, b)], style),
            ])?;
        }
    }
    chart
        .draw_series(LineSeries::new(rows.iter().map(|r| (r.layer as f64, value(r))), DATA.stroke_width(s(2.0) as u32)))?;
    chart.draw_series(rows.iter().map(|r| Circle::new((r.layer as f64, value(r)), s(4.0), DATA.filled())))?;
    Ok(())
}

/// The sweep on any plotters backend: slope by layer (left), log-volume by layer (middle), and the
/// clustering entropy by layer (right, when every row has it).
pub fn layer_sweep_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rows: &[LayerRow],
    scale: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let with_entropy = rows.iter().all(|r| r.entropy.is_some()) && !rows.is_empty();
    let panels = root.split_evenly((1, if with_entropy { 3 } else { 2 }));
    let ranks = rows.first().map(|r| (r.power_law.first_rank, r.power_law.last_rank)).unwrap_or((11, 150));
    panel(
        &panels[0],
        rows,
        &format!("power-law slope, ranks {}–{} (95% interval)", ranks.0, ranks.1),
        "slope",
        |r| r.power_law.slope,
        Some(&|r: &LayerRow| r.power_law.ci95),
        |r| r.isotropic_slope,
        scale,
    )?;
    panel(
        &panels[1],
        rows,
        &format!("log-volume: Σ ln λ over ranks {}–{}", ranks.0, ranks.1),
        "log-volume",
        |r| r.log_volume,
        None,
        |r| r.isotropic_log_volume,
        scale,
    )?;
    if with_entropy {
        panel(
            &panels[2],
            rows,
            "clustering entropy H_G − H_kNN (95% interval)",
            "nats",
            |r| r.entropy.as_ref().map_or(f64::NAN, |e| e.clustering),
            Some(&|r: &LayerRow| r.entropy.as_ref().map_or([f64::NAN; 2], |e| e.ci95)),
            |r| r.isotropic_entropy.as_ref().map(|e| e.clustering),
            scale,
        )?;
    }
    root.present()
}
